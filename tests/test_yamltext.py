"""The YAML writer must round-trip any plain data exactly, or generated configs would silently differ."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from obsgen.yamltext import dump

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False), st.text(max_size=40),
    st.sampled_from(["yes", "no", "on", "null", "~", "1e3", "0x10", "- a", "a: b", "a #b", "#x", "'q'", '"dq"', "x\n", "a\n\nb\n\n", " lead", "{", "[x]", "*a", "&a", "!t", "%", "@", "`", "|", ">", "?", "a\tb", "é", "line1\nline2"]),
)
data = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=12), c, max_size=4)), max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=12), data, max_size=5))
def test_dump_round_trips(doc: dict) -> None:
    assert yaml.safe_load(dump(doc)) == (doc or {})


def test_dump_reads_like_hand_written_yaml() -> None:
    text = dump({"groups": [{"name": "a", "rules": [{"record": "x:y:z", "expr": "sum(rate(a[5m]))\n/\nb", "labels": {"q": "0.95"}}]}]})
    assert text == (
        "groups:\n- name: a\n  rules:\n  - record: x:y:z\n    expr: |-\n      sum(rate(a[5m]))\n      /\n      b\n"
        '    labels:\n      q: "0.95"\n'
    )

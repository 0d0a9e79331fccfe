"""The YAML writer must round-trip any plain data exactly, or generated configs would silently differ."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from obsgen import yamltext as Y
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


# -- the writer before it was tuned for speed: the tuned one must write the very same bytes ------------------


def _ref_key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"YAML keys must be strings here, got {key!r}")
    return Y._string(key, inline=True)


def _ref_emit(value: Any, indent: int, out: list[str], prefix: str) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            out.append(f"{prefix} {{}}" if prefix else "{}")
            return
        first = True
        for k, v in value.items():
            head = f"{_ref_key(k)}:"
            if first and prefix.endswith("- "):
                line_prefix = prefix + head
                child_indent = len(prefix)
            else:
                if first and prefix:
                    out.append(prefix)
                line_prefix = pad + head
                child_indent = indent
            first = False
            _ref_emit_value(v, child_indent, out, line_prefix)
        return
    raise TypeError("top-level YAML value must be a mapping")


def _ref_emit_value(v: Any, indent: int, out: list[str], line_prefix: str) -> None:
    if isinstance(v, dict):
        if not v:
            out.append(f"{line_prefix} {{}}")
            return
        out.append(line_prefix)
        _ref_emit(v, indent + 2, out, "")
    elif isinstance(v, list):
        if not v:
            out.append(f"{line_prefix} []")
            return
        out.append(line_prefix)
        pad = " " * indent
        for item in v:
            if isinstance(item, dict) and item:
                _ref_emit(item, indent + 2, out, pad + "- ")
            else:
                _ref_emit_value(item, indent + 2, out, pad + "-")
    elif isinstance(v, str) and "\n" in v:
        block = Y._block(v, indent + 2)
        out.append(f"{line_prefix} {block}" if block is not None else f"{line_prefix} {Y._quote(v)}")
    else:
        out.append(f"{line_prefix} {Y._scalar(v)}")


def reference_dump(data: dict[str, Any], header: str = "") -> str:
    lines: list[str] = []
    _ref_emit(data, 0, lines, "")
    return header + "\n".join(lines) + "\n"


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(st.text(max_size=12), data, max_size=5), st.sampled_from(["", "# head\n"]))
def test_dump_writes_the_bytes_of_the_reference_writer(doc: dict, header: str) -> None:
    assert dump(doc, header) == reference_dump(doc, header)


@pytest.mark.parametrize("bad", [{1: "a"}, {"a": {2: "b"}}, {"a": (1, 2)}, {"a": {1, 2}}, ["a"]])
def test_dump_refuses_what_it_cannot_write(bad: Any) -> None:
    with pytest.raises(TypeError):
        dump(bad)

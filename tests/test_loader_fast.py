"""The loader's fast walk builds the same data as the locating builder, and leaves every problem to it.

Clean catalogs are built without a line map (catalog/yamldata.py); their lines are found again from the text
when a later stage must locate a problem. These tests hold the two builders to the same data, check that
anything unusual takes the locating path, and that lines found later are the lines the locating builder records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsgen.catalog.load import load_yaml_text
from obsgen.catalog.yamldata import _compose, _located, build_data
from obsgen.errors import CatalogError

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = sorted((ROOT / "catalogs").glob("*.yaml")) + [ROOT / "tests/fixtures/catalogs/shop.yaml"]


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.name)
def test_clean_catalogs_take_the_fast_walk_and_find_the_same_lines(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    raw = load_yaml_text(text, path.name)
    data, lines = _located(_compose(text, path.name), path.name)
    assert raw.data == data
    assert raw.text == text and raw.lines == {}  # no line map built up front...
    assert raw.line_of(("service", "name")) == lines[("service", "name")]
    assert raw.lines == lines  # ...and the one found later is the locating builder's


UNUSUAL = {
    "merge key": ("base: &b {a: 1}\nx:\n  <<: *b\n  c: 2\n", None),
    "duplicate key": ("a: 1\na: 2\n", "a: duplicate key"),
    "integer key": ("1: a\n", "mapping key 1 must be a string"),
    "huge integer": ("a: 12345678901234567890\n", "out of range"),
    "infinite float": ("a: .inf\n", "not a finite number"),
    "alias loop": ("a: &x [*x]\n", None),
}


@pytest.mark.parametrize("text,message", UNUSUAL.values(), ids=UNUSUAL.keys())
def test_anything_unusual_takes_the_locating_builder(text: str, message: str | None) -> None:
    try:
        data, lines = build_data(text, "c.yaml")
    except CatalogError as exc:
        assert message is None or any(message in p.message or message in str(p) for p in exc.problems), exc.problems
        return
    assert message is None
    assert lines, "a catalog with a merge key is built by the locating builder, lines and all"
    assert data == yaml.safe_load(text)


SCALARS = st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats() | st.text(max_size=10)
TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=12)


def _outcome(build: Any, text: str) -> Any:
    try:
        return ("data", build(text))
    except CatalogError as exc:
        return ("problems", [str(p) for p in exc.problems])


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(tree=st.dictionaries(st.text(max_size=5), TREES, min_size=1, max_size=4), flow=st.booleans())
def test_fast_and_locating_builders_agree(tree: dict[str, Any], flow: bool) -> None:
    text = yaml.safe_dump(tree, default_flow_style=flow, allow_unicode=True)
    fast = _outcome(lambda t: build_data(t, "c.yaml")[0], text)
    located = _outcome(lambda t: _located(_compose(t, "c.yaml"), "c.yaml")[0], text)
    assert fast == located

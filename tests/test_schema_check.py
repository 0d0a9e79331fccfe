"""The fast schema check (catalog/schema_check.py) answers exactly as jsonschema does, or defers to it.

Loading trusts its "valid" and skips jsonschema, so a catalog it passes must have no jsonschema error; a catalog
it refuses goes through jsonschema, which reports the problems. These tests compare the two on the example
catalogs, random valid catalogs, random mutations, the bad-catalog corpus and hand-made edge cases.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from catalog_strategies import catalog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_loader_hypothesis import EVERY_TEMPLATE, GOOD, _mutate

from obsgen.catalog import schema
from obsgen.catalog.schema_check import Unsure, compile_schema, plainly_valid
from obsgen.catalog.yamldata import build_data

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def _jsonschema_valid(data: Any) -> bool:
    return not list(schema.schema_validator().iter_errors(data))


def _agrees(data: Any) -> None:
    """The fast answer equals jsonschema's whenever the fast check gives one (Unsure defers, which is always safe)."""
    check = compile_schema(schema.schema())
    try:
        fast = check(data)
    except Unsure:
        assert not plainly_valid(data)
        return
    assert fast == _jsonschema_valid(data), data
    assert plainly_valid(data) == fast


def test_catalog_schema_compiles() -> None:
    """Every keyword schema.json uses is one the fast check knows (else compiling raises)."""
    compile_schema(schema.schema())


def test_an_unknown_keyword_is_refused() -> None:
    with pytest.raises(ValueError, match="not supported"):
        compile_schema({"type": "string", "format": "uri"})
    with pytest.raises(ValueError, match="local"):
        compile_schema({"$ref": "https://example.com/other.json"})(1)


@pytest.mark.parametrize("path", sorted((ROOT / "catalogs").glob("*.yaml")) + [ROOT / "tests/fixtures/catalogs/shop.yaml"],
                         ids=lambda p: p.name)
def test_example_catalogs_take_the_fast_path(path: Path) -> None:
    data, _ = build_data(path.read_text(encoding="utf-8"), str(path))
    assert plainly_valid(data)
    assert _jsonschema_valid(data)


def test_bad_catalog_corpus_agrees() -> None:
    checked = refused = 0
    for path in sorted((ROOT / "tests" / "bad_catalogs").glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_bytes())
        except (yaml.YAMLError, ValueError):
            continue
        checked += 1
        refused += not _jsonschema_valid(data)
        _agrees(data)
    assert checked > 20 and refused > 10, (checked, refused)


@SETTINGS
@given(data=catalog(0))
def test_random_valid_catalogs_take_the_fast_path(data: dict[str, Any]) -> None:
    assert _jsonschema_valid(data)
    assert plainly_valid(data)


@SETTINGS
@given(data=st.data(), rounds=st.integers(min_value=1, max_value=3), start=st.sampled_from(["divan", "shop"]))
def test_mutated_catalogs_agree(data: st.DataObject, rounds: int, start: str) -> None:
    tree = copy.deepcopy(GOOD if start == "divan" else EVERY_TEMPLATE)
    for _ in range(rounds):
        tree = _mutate(tree, data)
    _agrees(tree)


EDGES = {
    "name with a final newline (ECMA $)": lambda c: c["service"].__setitem__("name", c["service"]["name"] + "\n"),
    "float where an integer is due, but whole": lambda c: c["metrics"][0].setdefault("labels", {}).__setitem__(
        "route", {"bound": 20.0}),
    "fractional float where an integer is due": lambda c: c["metrics"][0].setdefault("labels", {}).__setitem__(
        "route", {"bound": 20.5}),
    "true where an integer is due": lambda c: c["metrics"][0].setdefault("labels", {}).__setitem__("route", {"bound": True}),
    "true where a number is due": lambda c: c["slos"][0].__setitem__("objective", True),
    "objective at the exclusive bound": lambda c: c["slos"][0].__setitem__("objective", 100),
    "enum value of another type": lambda c: c["metrics"][0].__setitem__("type", 1),
    "unknown top-level field": lambda c: c.__setitem__("extra", 1),
    "repeated receiver (uniqueItems)": lambda c: c["service"].__setitem__("routing", [
        {"severity": "critical", "receivers": ["slack", "slack"]}]),
    "mixed receivers (uniqueItems on non-strings)": lambda c: c["service"].__setitem__("routing", [
        {"severity": "critical", "receivers": ["slack", 1]}]),
    "selector list and object both": lambda c: c["slos"][0].__setitem__("errors", []),
}


@pytest.mark.parametrize("edit", EDGES.values(), ids=EDGES.keys())
def test_edge_cases_agree(edit: Any) -> None:
    tree = copy.deepcopy(GOOD)
    edit(tree)
    _agrees(tree)


def test_the_check_can_refuse() -> None:
    """A catalog jsonschema refuses is never passed: the fast path cannot wave errors through."""
    tree = copy.deepcopy(GOOD)
    tree["service"]["name"] = "Not A Name"
    assert not _jsonschema_valid(tree)
    assert not plainly_valid(tree)

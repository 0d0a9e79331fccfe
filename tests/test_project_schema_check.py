"""obsgen.yaml takes the catalog's fast schema check too: a file it passes must have no jsonschema error.

A valid project file then never loads jsonschema (a tenth of a small run's time); a file the check refuses, or
cannot judge, goes through jsonschema, which reports the problems as before.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_loader_hypothesis import _mutate

from obsgen.catalog.schema_check import Unsure, compile_schema
from obsgen.project import load as project_load

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "obsgen.yaml", ROOT / "generator/obsgen/scaffold/templates/obsgen.yaml"]
FULL = yaml.safe_load(FILES[0].read_text(encoding="utf-8"))


def _jsonschema_valid(data: Any) -> bool:
    return not list(project_load._validator().iter_errors(data))


def _agrees(data: Any) -> None:
    """The fast answer equals jsonschema's whenever it gives one; Unsure defers to jsonschema, which is always safe."""
    try:
        fast = compile_schema(project_load.schema())(data)
    except Unsure:
        assert not project_load._plainly_valid(data)
        return
    assert fast == _jsonschema_valid(data), data
    assert project_load._plainly_valid(data) == fast


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_project_files_take_the_fast_path(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert _jsonschema_valid(data)
    assert project_load._plainly_valid(data)


@pytest.mark.parametrize("version", [1, 1.0, 2, True, "1", None, [1]])
def test_const_agrees(version: Any) -> None:
    tree = copy.deepcopy(FULL)
    tree["version"] = version
    _agrees(tree)


def test_the_check_can_refuse() -> None:
    tree = copy.deepcopy(FULL)
    tree["version"] = 2
    assert not _jsonschema_valid(tree)
    assert not project_load._plainly_valid(tree)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), rounds=st.integers(min_value=1, max_value=3))
def test_mutated_project_files_agree(data: st.DataObject, rounds: int) -> None:
    tree = copy.deepcopy(FULL)
    for _ in range(rounds):
        tree = _mutate(tree, data)
    _agrees(tree)

"""Test-only helpers for the checks: a copy of the generated tree to plant a fault in, and the planting itself."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import ROOT

OUTPUTS = ("catalogs", "rules", "dashboards", "compose", "k6", "deploy")


def tree_copy(tmp_path: Path, name: str = "tree") -> Path:
    """The generated tree (and its catalogs) copied under tmp_path: what `obsgen check --root` reads."""
    tree = tmp_path / name
    for part in OUTPUTS:
        shutil.copytree(ROOT / part, tree / part)
    return tree


def only_service(tree: Path, service: str) -> None:
    """Drop every other service's rules and rule tests from a tree copy: a planted fault in one service needs no
    other service's rule tests run beside it (they are the slowest check)."""
    services = [p.stem for p in (tree / "catalogs").glob("*.yaml")]
    assert service in services, f"{service} is not one of {services}"
    for other in services:
        if other != service:
            (tree / "rules" / f"{other}.yaml").unlink()
            (tree / "rules" / "tests" / f"{other}.test.yaml").unlink()


def plant(path: Path, old: str, new: str) -> int:
    """Replace the first `old` in a file (asserting it is there, so the fault is real); the 1-based line it was on."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}: update the planted fault"
    line = text.count("\n", 0, text.index(old)) + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def edit_json(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change a JSON file's document, written back the way obsgen writes dashboards (sorted keys, indent 2)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first occurrence of a string in a file."""
    text = path.read_text(encoding="utf-8")
    assert needle in text, f"{needle!r} not in {path}"
    return text.count("\n", 0, text.index(needle)) + 1

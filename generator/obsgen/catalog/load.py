"""Read catalog files (YAML or Jsonnet) into plain data, keeping line numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsgen.catalog import jsonnet
from obsgen.catalog.jsonnet import Sandbox
from obsgen.catalog.yamldata import (
    MAX_DEPTH,
    MAX_INTEGER,
    MAX_VALUES,
    PathKey,
    build_data,
    build_documents,
    format_path,
    line_map,
    number_problem,
)
from obsgen.errors import CatalogError, Problem

__all__ = ["MAX_DEPTH", "MAX_VALUES", "PathKey", "RawCatalog", "find_catalog_files", "format_path", "load_file", "load_yaml_documents",
           "load_yaml_text"]

CATALOG_SUFFIXES = (".yaml", ".yml", ".jsonnet")


@dataclass(frozen=True)
class RawCatalog:
    """A catalog file's data, plus the source line of every field where known.

    A YAML catalog that loads cleanly keeps its text instead of a line map: lines are only needed to locate a
    problem, so they are found again from the text the first time one is asked for.
    """

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    text: str | None = field(default=None, repr=False, compare=False)

    def line_of(self, path: PathKey) -> int | None:
        """The line of the nearest enclosing field that has one."""
        if not self.lines and self.text is not None:
            self.lines.update(line_map(self.text, self.file))
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]


def find_catalog_files(directory: Path) -> list[Path]:
    """Catalog files in a directory, sorted so output order never depends on the filesystem."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in CATALOG_SUFFIXES)


def _decode(path: Path, display: str) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CatalogError(
            [Problem(display, line, "", f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})")]
        ) from None


def _check_json(data: Any, display: str) -> list[Problem]:
    """The limits YAML gets, for Jsonnet's output: depth, value count, finite numbers, integer range."""
    problems: list[Problem] = []
    count = 0
    stack: list[tuple[Any, PathKey]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        count += 1
        if count > MAX_VALUES:
            return [Problem(display, None, "", f"more than {MAX_VALUES} values")]
        if len(path) > MAX_DEPTH:
            return [Problem(display, None, format_path(path[:MAX_DEPTH]), f"nested more than {MAX_DEPTH} levels deep")]
        if isinstance(value, dict):
            stack.extend(((v, (*path, k)) for k, v in value.items()))
        elif isinstance(value, list):
            stack.extend(((v, (*path, i)) for i, v in enumerate(value)))
        elif isinstance(value, float) and (not math.isfinite(value) or abs(value) >= MAX_INTEGER):
            problems.append(Problem(display, None, format_path(path), number_problem(repr(value), value)))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INTEGER:
            problems.append(Problem(display, None, format_path(path), f"integer {str(value)[:24]}... is out of range (18 digits at most)"))
    return problems


def load_yaml_text(text: str, display: str) -> RawCatalog:
    """Parse YAML text; syntax errors become one Problem with the line."""
    data, lines = build_data(text, display)
    return RawCatalog(display, data, lines, text=None if lines else text)


def load_yaml_documents(text: str, display: str) -> list[RawCatalog]:
    """Every document of a multi-document YAML stream (a Sloth or OpenSLO file with `---`), each with its lines.

    Empty documents are skipped; the same limits and errors as one catalog apply to each.
    """
    return [RawCatalog(display, data, lines) for data, lines in build_documents(text, display)]


def load_jsonnet(path: Path, display: str, ext_vars: dict[str, str], sandbox: Sandbox | None = None) -> RawCatalog:
    """Evaluate a Jsonnet catalog in the sandbox (see catalog/jsonnet.py); Jsonnet keeps no line numbers for fields."""
    text = _decode(path, display)
    out = jsonnet.evaluate(path, display, text, ext_vars, sandbox or Sandbox.for_catalogs(path.parent))
    try:
        data = jsonnet.parse(out)
    except (ValueError, RecursionError) as exc:
        raise CatalogError([Problem(display, None, "", f"jsonnet: output is not usable JSON: {exc}")]) from None
    problems = _check_json(data, display)
    if problems:
        raise CatalogError(problems)
    return RawCatalog(display, data, {})


def load_file(path: Path, ext_vars: dict[str, str], display: str | None = None, sandbox: Sandbox | None = None) -> RawCatalog:
    """Load one catalog file of either format; Jsonnet imports stay inside the sandbox (default: the file's folder)."""
    shown = display or str(path)
    if path.suffix == ".jsonnet":
        return load_jsonnet(path, shown, ext_vars, sandbox)
    return load_yaml_text(_decode(path, shown), shown)


def load_or_report(path: Path, ext_vars: dict[str, str], problems: list[Problem],
                   sandbox: Sandbox | None = None) -> RawCatalog | None:
    """load_file, with its problems (or an unreadable file) added to `problems` instead of raised: every file of a
    folder is read and all their problems reported together."""
    try:
        return load_file(path, ext_vars, sandbox=sandbox)
    except CatalogError as exc:
        problems.extend(exc.problems)
    except OSError as exc:
        problems.append(Problem(str(path), None, "", f"cannot read: {exc.strerror}"))
    return None

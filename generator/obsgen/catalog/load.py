"""Read catalog files (YAML or Jsonnet) into plain data, keeping line numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from obsgen.catalog import jsonnet
from obsgen.catalog.jsonnet import Sandbox
from obsgen.errors import CatalogError, Problem

CATALOG_SUFFIXES = (".yaml", ".yml", ".jsonnet")

PathKey = tuple[str | int, ...]
# Limits that keep hostile or broken YAML (deep nesting, self-referring or exponentially expanding aliases,
# integers no float can hold) from crashing or hanging the loader; real catalogs are far below them.
MAX_DEPTH = 64
MAX_VALUES = 200_000
MAX_INTEGER = 10**18
# libyaml's C parser keeps line marks and is several times faster than the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class RawCatalog:
    """A catalog file's data, plus the source line of every field where known."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """The line of the nearest enclosing field that has one."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]


def format_path(path: PathKey) -> str:
    """Render ('alerts', 3, 'for') as alerts[3].for."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


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


def _number_problem(text: str, value: float) -> str:
    if math.isfinite(value):
        return f"number {text} is out of range (below 1e18 in size)"
    return f"{text} is not a finite number"


class _Builder:
    """Turns a composed YAML node tree into Python data, recording each node's line."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.lines: dict[PathKey, int] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")
        self._values = 0
        self._open: set[int] = set()
        self._sizes: dict[int, int] = {}

    def _stop(self, node: yaml.Node, message: str) -> CatalogError:
        return CatalogError([*self.problems, Problem(self.display, node.start_mark.line + 1, "", message)])

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.lines[path] = node.start_mark.line + 1
        self._values += 1
        if self._values > MAX_VALUES:
            raise self._stop(node, f"more than {MAX_VALUES} values; do aliases expand without bound?")
        if len(path) > MAX_DEPTH:
            raise self._stop(node, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in self._open:
            raise self._stop(node, "an alias refers to a node that contains it")
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self._open.add(id(node))
            try:
                return self._collection(node, path)
            finally:
                self._open.discard(id(node))
        value = self._constructor.construct_object(node, deep=True)
        # YAML timestamps and binary have no place in a catalog; keep them as text for the schema to judge.
        if not isinstance(value, (str, int, float, bool, type(None))):
            return node.value
        if isinstance(value, float) and (not math.isfinite(value) or abs(value) >= MAX_INTEGER):
            # .nan and .inf are YAML floats, but no catalog number may be one: `> nan` never fires, and 1e308 doubled
            # in a generated test is infinite.
            self.problems.append(Problem(self.display, node.start_mark.line + 1, format_path(path), _number_problem(node.value, value)))
            return 0
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INTEGER:
            shown = node.value if len(node.value) <= 24 else node.value[:24] + "..."
            self.problems.append(
                Problem(self.display, node.start_mark.line + 1, format_path(path), f"integer {shown} is out of range (18 digits at most)")
            )
            return 0
        return value

    def _merged_size(self, node: yaml.MappingNode) -> int:
        """Entries a mapping holds once its merge keys are expanded as YAML defines them, counted without
        expanding (which can explode) and without asking PyYAML, whose own flattening changed in 6.0.4."""
        sizes = self._sizes
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 0  # a mapping merging itself: _merge_pairs reports it
        total = 0
        for key_node, value_node in node.value:
            if key_node.tag != MERGE_TAG:
                total += 1
                continue
            subs = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            total += sum(self._merged_size(sub) for sub in subs if isinstance(sub, yaml.MappingNode))
        sizes[id(node)] = total
        return total

    def _merge_pairs(self, node: yaml.MappingNode, stack: tuple[int, ...] = ()) -> list[tuple[yaml.Node, yaml.Node, bool]]:
        """(key, value, written here) for every entry of a mapping, merged entries first in precedence order.

        The YAML merge key (<<) brings in one mapping or a list of them; of the merged ones the first wins,
        and keys written in the mapping itself override them all. The node tree is never modified.
        """
        if id(node) in stack:
            raise self._stop(node, "invalid YAML: a merge key refers to its own mapping")
        merged: list[tuple[yaml.Node, yaml.Node, bool]] = []
        own: list[tuple[yaml.Node, yaml.Node, bool]] = []
        for key_node, value_node in node.value:
            if key_node.tag != MERGE_TAG:
                own.append((key_node, value_node, True))
                continue
            subs = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for sub in subs:
                if not isinstance(sub, yaml.MappingNode):
                    found = sub.id if isinstance(value_node, yaml.SequenceNode) else value_node.id
                    what = "a mapping for merging" if isinstance(value_node, yaml.SequenceNode) else "a mapping or list of mappings for merging"
                    raise self._stop(sub, f"invalid YAML: expected {what}, but found {found}")
                merged.extend((k, v, False) for k, v, _ in self._merge_pairs(sub, (*stack, id(node))))
        return merged + own

    def _collection(self, node: yaml.Node, path: PathKey) -> Any:
        if isinstance(node, yaml.MappingNode):
            if self._merged_size(node) > MAX_VALUES:
                raise self._stop(node, f"merge keys (<<) expand to more than {MAX_VALUES} values")
            out: dict[str, Any] = {}
            written: set[str] = set()
            for key_node, value_node, is_own in self._merge_pairs(node):
                key = self._constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    self.problems.append(
                        Problem(self.display, key_node.start_mark.line + 1, format_path(path), f"mapping key {key!r} must be a string")
                    )
                    continue
                # Merged entries come first: the first merged value wins among them, a key written in the
                # mapping itself overrides them, and only a key written twice is an error.
                if key in written or (key in out and not is_own):
                    if is_own:
                        self.problems.append(
                            Problem(self.display, key_node.start_mark.line + 1, format_path((*path, key)), "duplicate key")
                        )
                    continue
                if is_own:
                    written.add(key)
                out[key] = self.build(value_node, (*path, key))
                self.lines[(*path, key)] = key_node.start_mark.line + 1
            return out
        return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]


def _yaml_problem(exc: yaml.YAMLError, display: str) -> Problem:
    """One line for a YAML error: its reason and the line it was found on (str(exc) spans several lines)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        return Problem(display, mark.line + 1 if mark else None, "", f"invalid YAML: {reason}")
    lines = str(exc).strip().splitlines()
    return Problem(display, None, "", f"invalid YAML: {lines[0] if lines else type(exc).__name__}")


def load_yaml_text(text: str, display: str) -> RawCatalog:
    """Parse YAML text; syntax errors become one Problem with the line."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise CatalogError([_yaml_problem(exc, display)]) from None
    except RecursionError:
        raise CatalogError([Problem(display, None, "", f"invalid YAML: nested more than {MAX_DEPTH} levels deep")]) from None
    if node is None:
        raise CatalogError([Problem(display, 1, "", "catalog is empty")])
    builder = _Builder(display)
    try:
        data = builder.build(node, ())
    except yaml.YAMLError as exc:
        raise CatalogError([_yaml_problem(exc, display)]) from None
    except RecursionError:
        raise CatalogError([Problem(display, None, "", f"invalid YAML: nested more than {MAX_DEPTH} levels deep")]) from None
    if builder.problems:
        raise CatalogError(builder.problems)
    return RawCatalog(display, data, builder.lines)


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
            problems.append(Problem(display, None, format_path(path), _number_problem(repr(value), value)))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INTEGER:
            problems.append(Problem(display, None, format_path(path), f"integer {str(value)[:24]}... is out of range (18 digits at most)"))
    return problems


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

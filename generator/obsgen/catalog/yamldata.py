"""YAML node trees to plain data: a fast builder for clean catalogs, and a locating one that reports problems.

The locating builder records the line of every field and reports each problem where it is written; it also
holds the guards against hostile YAML (depth, value count, self-referring aliases, merge-key explosions). Most
catalogs have no problem, so a leaner walk builds their data first and hands anything unusual to it.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from obsgen.errors import CatalogError, Problem

PathKey = tuple[str | int, ...]
# Limits that keep hostile or broken YAML (deep nesting, self-referring or exponentially expanding aliases,
# integers no float can hold) from crashing or hanging the loader; real catalogs are far below them.
MAX_DEPTH = 64
MAX_VALUES = 200_000
MAX_INTEGER = 10**18
# libyaml's C parser keeps line marks and is several times faster than the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MERGE_TAG = "tag:yaml.org,2002:merge"
STR_TAG = "tag:yaml.org,2002:str"


def format_path(path: PathKey) -> str:
    """Render ('alerts', 3, 'for') as alerts[3].for."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def number_problem(text: str, value: float) -> str:
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

    def close(self) -> None:
        """Break the constructor's reference cycles (a parser's state is a bound method), so the node tree it
        remembers is freed at once rather than by the cyclic collector, which generation turns off."""
        self._constructor.dispose()

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
            self.problems.append(Problem(self.display, node.start_mark.line + 1, format_path(path), number_problem(node.value, value)))
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


class _Unusual(Exception):
    """The fast walk met something only the locating builder handles: it reports problems with their lines."""


class _FastBuilder:
    """Builds the data of a clean catalog without recording lines: the common case, several times cheaper.

    It accepts only what the locating `_Builder` turns into the same data with no problem (no merge key, string
    keys written once, numbers in range, within the depth and size limits); anything else raises _Unusual and
    the locating builder runs instead, so every problem and every guard stays exactly as it reports them.
    """

    def __init__(self, constructor: yaml.constructor.BaseConstructor) -> None:
        self._construct = constructor.construct_object
        self._values = 0
        self._open: set[int] = set()

    def build(self, node: yaml.Node, depth: int) -> Any:
        self._values += 1
        if self._values > MAX_VALUES or depth > MAX_DEPTH:
            raise _Unusual
        kind = type(node)
        if kind is yaml.ScalarNode:
            if node.tag == STR_TAG:
                return node.value
            return self._scalar(node)
        if id(node) in self._open:
            raise _Unusual
        self._open.add(id(node))
        out: Any
        if kind is yaml.MappingNode:
            out = {}
            for key_node, value_node in node.value:
                if type(key_node) is not yaml.ScalarNode or key_node.tag != STR_TAG or key_node.value in out:
                    raise _Unusual  # a merge key, a key that is not a string, or a duplicate
                out[key_node.value] = self.build(value_node, depth + 1)
        elif kind is yaml.SequenceNode:
            out = [self.build(item, depth + 1) for item in node.value]
        else:
            raise _Unusual
        self._open.discard(id(node))
        return out

    def _scalar(self, node: yaml.Node) -> Any:
        value = self._construct(node, deep=True)
        if not isinstance(value, (str, int, float, bool, type(None))):
            return node.value
        if isinstance(value, float) and (not math.isfinite(value) or abs(value) >= MAX_INTEGER):
            raise _Unusual
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INTEGER:
            raise _Unusual
        return value


def _compose(text: str, display: str) -> yaml.Node:
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise CatalogError([_yaml_problem(exc, display)]) from None
    except RecursionError:
        raise CatalogError([Problem(display, None, "", f"invalid YAML: nested more than {MAX_DEPTH} levels deep")]) from None
    if node is None:
        raise CatalogError([Problem(display, 1, "", "catalog is empty")])
    return node


def _located(node: yaml.Node, display: str) -> tuple[Any, dict[PathKey, int]]:
    """The locating builder: every problem with its line, and the line of every field."""
    builder = _Builder(display)
    try:
        data = builder.build(node, ())
    except yaml.YAMLError as exc:
        raise CatalogError([_yaml_problem(exc, display)]) from None
    except RecursionError:
        raise CatalogError([Problem(display, None, "", f"invalid YAML: nested more than {MAX_DEPTH} levels deep")]) from None
    finally:
        builder.close()
    if builder.problems:
        raise CatalogError(builder.problems)
    return data, builder.lines


def line_map(text: str, display: str) -> dict[PathKey, int]:
    """The line of every field of a catalog that loads cleanly from this text."""
    return _located(_compose(text, display), display)[1]


def build_data(text: str, display: str) -> tuple[Any, dict[PathKey, int]]:
    """A catalog's data from YAML text, or CatalogError; the line map is empty when the fast walk built it."""
    node = _compose(text, display)
    constructor = yaml.SafeLoader("")
    try:
        return _FastBuilder(constructor).build(node, 0), {}
    except (_Unusual, yaml.YAMLError, RecursionError):
        pass  # the locating builder says what is wrong, and where
    finally:
        constructor.dispose()
    return _located(node, display)


def build_documents(text: str, display: str) -> list[tuple[Any, dict[PathKey, int]]]:
    """The data and line map of every non-empty document of a YAML stream (`---` between them), or CatalogError.

    Converted files are few and small, and a lazy line map would have to find its document again, so each
    document goes through the locating builder: the same limits and errors as one catalog apply to each.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.YAMLError as exc:
        raise CatalogError([_yaml_problem(exc, display)]) from None
    except RecursionError:
        raise CatalogError([Problem(display, None, "", f"invalid YAML: nested more than {MAX_DEPTH} levels deep")]) from None
    return [_located(node, display) for node in nodes if node is not None]

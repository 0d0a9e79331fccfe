"""A fast yes/no check of a catalog against schema.json, so a valid catalog never waits for jsonschema.

jsonschema reports every error with its path, which the build turns into located problems; for a valid catalog it
is also most of the cost of loading. This compiles the schema once into closures that only answer "valid?", with
jsonschema's Draft 2020-12 semantics for exactly the keywords schema.json uses, and the whole-string patterns of
schema.py. A catalog it rejects, or cannot judge (`Unsure`), goes through jsonschema as before, so the reported
problems never change. A schema keyword it does not know is a compile error: schema.json cannot outgrow it unseen.
"""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

Check = Callable[[Any], bool]
# Keywords that describe without constraining, and $defs, which holds schemas only $ref reaches.
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"})


class Unsure(Exception):
    """The check cannot answer exactly (jsonschema's equality on nested values); jsonschema decides instead."""


@lru_cache(maxsize=256)
def compiled(pattern: str) -> re.Pattern[str]:
    """A schema pattern as a Python regex with ECMA's `$`: an unescaped `$` outside a class becomes `\\Z`."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        i += 1
    return re.compile("".join(out))


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """schema.json, read once."""
    text = resources.files("obsgen.catalog").joinpath("schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def short(value: Any) -> str:
    """repr() cut to a length that keeps a problem line readable (a wrong-typed section can be huge)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, numbers.Number)


def _is_integer(x: Any) -> bool:
    return not isinstance(x, bool) and (isinstance(x, int) or (isinstance(x, float) and x.is_integer()))


_TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": _is_number,
    "integer": _is_integer,
}


def _scalar_equal(one: Any, two: Any) -> bool:
    """jsonschema's `equal` for scalars: True is not 1 and False is not 0; nested values are left to jsonschema."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, (list, dict)) or isinstance(two, (list, dict)):
        raise Unsure
    if isinstance(one, bool) or isinstance(two, bool):
        return False  # equal booleans are the same object, caught above
    return bool(one == two)


class _Compiler:
    """Turns (sub)schemas into checks; $ref targets are compiled once, on first use, so recursion is fine."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, ref: str) -> Check:
        if not ref.startswith("#/"):
            raise ValueError(f"schema_check: only local $ref is supported, got {ref!r}")
        if ref not in self.refs:
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            self.refs[ref] = lambda x: True  # a reference to itself while compiling: replaced just below
            check = self.compile(target)
            self.refs[ref] = check
        return lambda x: self.refs[ref](x)

    def compile(self, sub: Any) -> Check:
        if sub is True or sub == {}:
            return lambda x: True
        if sub is False:
            return lambda x: False
        checks = [self._keyword(key, value, sub) for key, value in sub.items() if key not in _ANNOTATIONS]
        checks = [c for c in checks if c is not None]
        if len(checks) == 1:
            return checks[0]
        return lambda x: all(c(x) for c in checks)

    def _keyword(self, key: str, value: Any, sub: dict[str, Any]) -> Check | None:
        method = getattr(self, "_kw_" + key.lstrip("$"), None)
        if method is None:
            raise ValueError(f"schema_check: keyword {key!r} is not supported; teach catalog/schema_check.py its meaning")
        check: Check | None = method(value, sub)
        return check

    # -- objects -------------------------------------------------------------------------------------------
    def _kw_properties(self, value: dict[str, Any], sub: dict[str, Any]) -> Check:
        props = [(name, self.compile(s)) for name, s in value.items()]
        return lambda x: not isinstance(x, dict) or all(c(x[n]) for n, c in props if n in x)

    def _kw_patternProperties(self, value: dict[str, Any], sub: dict[str, Any]) -> Check:
        pats = [(compiled(p), self.compile(s)) for p, s in value.items()]
        return lambda x: not isinstance(x, dict) or all(c(v) for p, c in pats for k, v in x.items() if p.search(k))

    def _kw_additionalProperties(self, value: Any, sub: dict[str, Any]) -> Check | None:
        known = frozenset(sub.get("properties", {}))
        # jsonschema finds the additional keys with re.search over the joined patterns, not the ECMA `$` of schema.py.
        joined = "|".join(sub.get("patternProperties", {}))
        pattern = re.compile(joined) if joined else None

        def extras(x: dict[str, Any]) -> list[str]:
            return [k for k in x if k not in known and not (pattern is not None and pattern.search(k))]

        if isinstance(value, dict):
            check = self.compile(value)
            return lambda x: not isinstance(x, dict) or all(check(x[k]) for k in extras(x))
        if value:
            return None
        return lambda x: not isinstance(x, dict) or not extras(x)

    def _kw_propertyNames(self, value: Any, sub: dict[str, Any]) -> Check:
        check = self.compile(value)
        return lambda x: not isinstance(x, dict) or all(check(k) for k in x)

    def _kw_required(self, value: list[str], sub: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, dict) or all(r in x for r in value)

    def _kw_minProperties(self, value: int, sub: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, dict) or len(x) >= value

    def _kw_maxProperties(self, value: int, sub: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, dict) or len(x) <= value

    # -- arrays --------------------------------------------------------------------------------------------
    def _kw_items(self, value: Any, sub: dict[str, Any]) -> Check:
        if "prefixItems" in sub:
            raise ValueError("schema_check: prefixItems is not supported")
        check = self.compile(value)
        return lambda x: not isinstance(x, list) or all(check(item) for item in x)

    def _kw_minItems(self, value: int, sub: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, list) or len(x) >= value

    def _kw_maxItems(self, value: int, sub: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, list) or len(x) <= value

    def _kw_uniqueItems(self, value: bool, sub: dict[str, Any]) -> Check | None:
        if not value:
            return None

        def unique(x: Any) -> bool:
            if not isinstance(x, list):
                return True
            if not all(isinstance(item, str) for item in x):
                raise Unsure  # jsonschema's equality of mixed values (1 vs True vs 1.0) is its to judge
            return len(set(x)) == len(x)

        return unique

    # -- strings -------------------------------------------------------------------------------------------
    def _kw_pattern(self, value: str, sub: dict[str, Any]) -> Check:
        search = compiled(value).search
        return lambda x: not isinstance(x, str) or search(x) is not None

    def _kw_minLength(self, value: int, sub: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, str) or len(x) >= value

    def _kw_maxLength(self, value: int, sub: dict[str, Any]) -> Check:
        return lambda x: not isinstance(x, str) or len(x) <= value

    # -- numbers -------------------------------------------------------------------------------------------
    def _kw_minimum(self, value: float, sub: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or x >= value

    def _kw_maximum(self, value: float, sub: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or x <= value

    def _kw_exclusiveMinimum(self, value: float, sub: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or x > value

    def _kw_exclusiveMaximum(self, value: float, sub: dict[str, Any]) -> Check:
        return lambda x: not _is_number(x) or x < value

    # -- any type ------------------------------------------------------------------------------------------
    def _kw_type(self, value: str | list[str], sub: dict[str, Any]) -> Check:
        names = [value] if isinstance(value, str) else list(value)
        preds = [_TYPES[n] for n in names]
        if len(preds) == 1:
            return preds[0]
        return lambda x: any(p(x) for p in preds)

    def _kw_enum(self, value: list[Any], sub: dict[str, Any]) -> Check:
        if all(isinstance(v, str) for v in value):
            strings = frozenset(value)
            return lambda x: isinstance(x, str) and x in strings  # a string equals only a string
        return lambda x: any(_scalar_equal(v, x) for v in value)

    def _kw_const(self, value: Any, sub: dict[str, Any]) -> Check:
        return lambda x: _scalar_equal(value, x)

    def _kw_oneOf(self, value: list[Any], sub: dict[str, Any]) -> Check:
        checks = [self.compile(s) for s in value]
        return lambda x: sum(1 for c in checks if c(x)) == 1

    def _kw_ref(self, value: str, sub: dict[str, Any]) -> Check:
        return self.ref(value)


def compile_schema(root: dict[str, Any]) -> Check:
    """The yes/no check of a whole schema; raises Unsure where jsonschema must judge, ValueError on a keyword it lacks."""
    return _Compiler(root).compile(root)


@lru_cache(maxsize=1)
def _catalog_check() -> Check:
    return compile_schema(schema())


def plainly_valid(data: Any) -> bool:
    """True when the catalog data is valid under schema.json; False means "ask jsonschema" (invalid, or unsure)."""
    try:
        return _catalog_check()(data)
    except Unsure:
        return False

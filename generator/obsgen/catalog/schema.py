"""The catalog JSON Schema, checked with the regular-expression semantics the schema is written for.

JSON Schema's `pattern` is an ECMA-262 search, where `$` matches only at the end of the string. The
`jsonschema` library runs Python's `re.search`, where `$` also matches before a final newline, so
`name: "shop\\n"` would pass `^[a-z][a-z0-9-]*$` and become the file `rules/shop\\n.yaml`. This module gives
`pattern` and `patternProperties` the ECMA meaning (every pattern in schema.json is anchored with ^...$,
which tests/test_catalog_names.py checks), so a name must match as a whole string.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema import validators

from obsgen.catalog.schema_check import compiled, schema, short

__all__ = ["compiled", "message", "schema", "schema_validator", "short", "unknown_fields"]


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not compiled(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if compiled(pattern).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


_Validator = validators.extend(
    jsonschema.Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties}
)


@lru_cache(maxsize=1)
def schema_validator() -> Any:
    """The catalog schema's validator, with whole-string patterns."""
    return _Validator(schema())


def validator_for(other: dict[str, Any]) -> Any:
    """A validator with the same whole-string patterns for another schema (obsgen.yaml's)."""
    return _Validator(other)


def unknown_fields(error: jsonschema.ValidationError) -> list[str]:
    """The keys an additionalProperties error is about, so each is reported on its own line."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
    patterns = error.schema.get("patternProperties", {})
    return [k for k in extra if not any(compiled(p).search(k) for p in patterns)]


def message(error: jsonschema.ValidationError) -> str:
    """One readable sentence for a schema error."""
    if error.validator == "required":
        missing = [r for r in error.validator_value if r not in error.instance]
        return f"missing required field '{missing[0]}'"
    if error.validator == "enum":
        return f"{short(error.instance)} is not one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "type":
        return f"expected {error.validator_value}, got {type(error.instance).__name__} {short(error.instance)}"
    if error.validator == "pattern":
        desc = error.schema.get("description")
        return f"{short(error.instance)} does not match {error.validator_value}" + (f" ({desc})" if desc else "")
    if error.validator == "maxLength":
        return f"{short(error.instance)} is {len(error.instance)} characters long; at most {error.validator_value} are allowed"
    if error.validator == "oneOf":
        return "expected one selector {metric, matchers} or a list of them"
    return str(error.message)

"""Which characters catalog text may hold.

Names, label values, matchers, URLs and durations end up inside PromQL strings, promtool test series,
YAML keys, file names and HTTP headers. A line break or a control character there either breaks the
output (an unterminated PromQL string) or cannot be represented at all, so it is refused where it is
written, with its field path. Prose (descriptions, help, runbook text, raw PromQL) may span lines.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from obsgen.catalog.load import PathKey

# Fields whose text may hold line breaks and tabs: prose and raw PromQL.
MULTILINE = frozenset({"description", "help", "impact", "diagnosis", "recovery", "escalation", "expr", "error_query",
                       "total_query", "error_ratio_query"})
# Subtrees that are opaque data sent as they are (a load-test request body is JSON-encoded by the k6 emitter).
OPAQUE = frozenset({"body"})
_PROSE_OK = frozenset("\n\t")
# Exactly the characters bad_character refuses (Cc, Zl, Zp and the line breaks; tests/test_prefilters.py compares
# them over every code point): one regex search clears the common clean string without a loop in Python.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_REFUSED_IN_PROSE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def bad_character(text: str, multiline: bool = False) -> str | None:
    """A description of the first character the text may not hold, or None."""
    if not (_REFUSED_IN_PROSE if multiline else _REFUSED).search(text):
        return None
    for char in text:
        if multiline and char in _PROSE_OK:
            continue
        category = unicodedata.category(char)
        if char in "\n\r\u2028\u2029\x85" or category in ("Zl", "Zp"):
            return f"a line break ({_code(char)})"
        if category == "Cc":
            return f"a control character ({_code(char)})"
    return None


def _code(char: str) -> str:
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"U+{ord(char):04X}")


def text_problems(data: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, str]]:
    """(path, message) for every key or string value holding a character its field cannot represent."""
    if isinstance(data, dict):
        for key, value in data.items():
            where = (*path, key)
            found = bad_character(str(key))
            if found:
                yield where, f"key {str(key)!r} contains {found}"
                continue
            if key in OPAQUE:
                continue
            yield from text_problems(value, where)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from text_problems(value, (*path, i))
    elif isinstance(data, str):
        prose = _is_prose(path)
        found = bad_character(data, multiline=prose)
        if found:
            yield path, f"contains {found}" + ("" if prose else "; this field must be one line of printable text")


def _is_prose(path: PathKey) -> bool:
    """A prose field (or an item of a list of them); a label that happens to be called `description` is not one."""
    if path and isinstance(path[-1], int):
        path = path[:-1]
    return bool(path) and path[-1] in MULTILINE and (len(path) < 2 or path[-2] != "labels")

"""Deterministic YAML text for every emitter: block style, literal multi-line strings, no aliases.

Emitters produce plain data (dicts, lists, str, int, float, bool, None). Serialising that with
PyYAML's representer was most of generation time, so this module writes block YAML directly.
A property test checks that `yaml.safe_load(dump(x)) == x` for arbitrary such data.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_/$][A-Za-z0-9_ ./$()=@,+:'-]*$")
_RESERVED = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$"
)
_NUMBERISH = re.compile(r"^[-+.]?[0-9]|^\.(inf|nan|Inf|NaN|INF|NAN)$")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


_UNPRINTABLE = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TO_ESCAPE = re.compile('["\\\\]|' + _UNPRINTABLE.pattern)


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    o = ord(ch)
    return f"\\x{o:02x}" if o <= 0xFF else (f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")


def _quote(text: str) -> str:
    """A double-quoted YAML scalar; escapes what YAML readers reject or would fold."""
    return '"' + _TO_ESCAPE.sub(_escape, text) + '"'


@lru_cache(maxsize=1 << 16)  # label values, keys and names repeat across every file of a run
def _string(text: str, inline: bool) -> str:
    if (
        text
        and _PLAIN.fullmatch(text)
        and not _RESERVED.match(text)
        and not _NUMBERISH.match(text)
        and not text.endswith(" ")
        and " #" not in text
        and ": " not in text
        and not text.endswith(":")
    ):
        return text
    return _quote(text)


def _scalar(value: Any) -> str:
    if type(value) is str:
        return _string(value, False)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value).lower()
        if "." not in text and "e" in text:  # YAML 1.1 floats need a dot: 1e-05 would read back as a string
            text = text.replace("e", ".0e", 1)
        return text if "." in text else text + ".0"
    if isinstance(value, str):
        return _string(value, False)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _block(text: str, indent: int) -> str | None:
    """A literal block scalar, or None when the text cannot be one faithfully."""
    if (
        _UNPRINTABLE.search(text.replace("\n", " "))
        or "\r" in text
        or "\t" in text
        or text.startswith((" ", "\n"))
        or text != text.rstrip(" \n") + text[len(text.rstrip(" \n")) :]
    ):
        return None
    stripped = text.rstrip("\n")
    trailing = len(text) - len(stripped)
    if any(line != line.rstrip(" ") for line in stripped.split("\n")):
        return None
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else None)
    if chomp is None:
        return None
    pad = " " * indent
    body = "\n".join(pad + line if line else "" for line in stripped.split("\n"))
    return f"|{chomp}\n{body}"


_KEYS: dict[str, str] = {}  # "key:" per key: a run writes a few hundred distinct keys millions of times


def _head(key: Any) -> str:
    head = _KEYS.get(key) if type(key) is str else None
    if head is None:
        if not isinstance(key, str):
            raise TypeError(f"YAML keys must be strings here, got {key!r}")
        if len(_KEYS) >= 1 << 16:
            _KEYS.clear()
        head = _KEYS[key] = _string(key, inline=True) + ":"
    return head


def _mapping(value: dict[str, Any], indent: int, out: list[str], first: str) -> None:
    """Lines for a non-empty mapping whose keys start at `indent`; the first key follows `first` ('' or '- ')."""
    pad = " " * indent
    keys = _KEYS
    for k, v in value.items():
        head = (first or pad) + (keys.get(k) or _head(k))
        if type(v) is str and "\n" not in v:  # most values: one line, written here without a call
            out.append(f"{head} {_string(v, False)}")
        else:
            _value(v, indent, out, head)
        first = ""


def _value(v: Any, indent: int, out: list[str], line_prefix: str) -> None:
    """Lines for one value after `line_prefix` ('key:' or '-'), its children indented from `indent`."""
    kind = type(v)
    if kind is str:
        if "\n" not in v:
            out.append(f"{line_prefix} {_string(v, False)}")
            return
    elif kind is dict or (kind not in _SCALAR_TYPES and isinstance(v, dict)):
        if not v:
            out.append(f"{line_prefix} {{}}")
            return
        out.append(line_prefix)
        _mapping(v, indent + 2, out, "")
        return
    elif kind is list or (kind not in _SCALAR_TYPES and isinstance(v, list)):
        if not v:
            out.append(f"{line_prefix} []")
            return
        out.append(line_prefix)
        pad = " " * indent
        item_pad = pad + "- "
        for item in v:
            if (type(item) is dict or isinstance(item, dict)) and item:
                _mapping(item, indent + 2, out, item_pad)
            else:
                _value(item, indent + 2, out, pad + "-")
        return
    if isinstance(v, str) and "\n" in v:
        block = _block(v, indent + 2)
        out.append(f"{line_prefix} {block}" if block is not None else f"{line_prefix} {_quote(v)}")
    else:
        out.append(f"{line_prefix} {_scalar(v)}")


_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))


def dump(data: dict[str, Any], header: str = "") -> str:
    """YAML text with keys in the order given (emitters sort where order carries no meaning)."""
    if not isinstance(data, dict):
        raise TypeError("top-level YAML value must be a mapping")
    lines: list[str] = []
    if data:
        _mapping(data, 0, lines, "")
    else:
        lines.append("{}")
    return header + "\n".join(lines) + "\n"


def generated_header(source: str, command: str, comment: str = "#") -> str:
    """The first lines of a generated file: where it came from, and the command (obsgen.yaml's) that remakes it."""
    return (
        f"{comment} Generated by obsgen from {source}. Do not edit by hand:\n"
        f"{comment} change the catalog and run `{command}`.\n"
    )

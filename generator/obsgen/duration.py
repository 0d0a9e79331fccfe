"""Prometheus durations: parse to seconds and print back in the shortest form."""

from __future__ import annotations

import re

_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
_PART = re.compile(r"([0-9]+)(ms|y|w|d|h|m|s)")
_FULL = re.compile(r"^([0-9]+(ms|y|w|d|h|m|s))+$")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as 1h30m; raises ValueError on bad input."""
    if not _FULL.fullmatch(text):
        raise ValueError(f"bad duration '{text}' (use e.g. 30s, 5m, 1h30m)")
    return float(sum(int(n) * _UNITS[u] for n, u in _PART.findall(text)))


def format_duration(seconds: float) -> str:
    """The shortest Prometheus form of a whole number of seconds: 5400 -> 1h30m."""
    total = int(round(seconds))
    if total == 0:
        return "0s"
    out = ""
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        if total >= size:
            count, total = divmod(total, int(size))
            out += f"{count}{unit}"
    return out

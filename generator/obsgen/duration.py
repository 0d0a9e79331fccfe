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


def prometheus_duration(seconds: float) -> str:
    """A duration as Prometheus prints it (Go's model.Duration.String): years and weeks only when exact.

    Sloth names its window records this way (28 days is ratio_rate4w, 7 days ratio_rate1w, 90 days ratio_rate90d),
    so record names and sloth_window labels agree with Sloth's and with what Prometheus shows.
    """
    ms = int(round(seconds * 1000))
    if ms == 0:
        return "0s"
    out = ""
    for unit, size, exact in (("y", 365 * 86400_000, True), ("w", 7 * 86400_000, True), ("d", 86400_000, False),
                              ("h", 3600_000, False), ("m", 60_000, False), ("s", 1000, False), ("ms", 1, False)):
        if exact and ms % size:
            continue
        count, ms = divmod(ms, size)
        if count:
            out += f"{count}{unit}"
    return out


def go_hours(seconds: float) -> float:
    """Go's time.Duration.Hours(): whole hours plus the remainder as a fraction, so factors computed from it are
    bit-for-bit the ones Sloth computes."""
    ns = int(round(seconds * 1e9))
    hour = 3600 * 10**9
    return float(ns // hour) + float(ns % hour) / (60 * 60 * 1e9)

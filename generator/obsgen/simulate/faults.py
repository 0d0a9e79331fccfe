"""Faults the demo service can be told to inject, parsed and checked from the control endpoint's JSON.

POST /-/fault merges keys into the active faults; DELETE /-/fault clears them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


class FaultError(ValueError):
    """A fault request the demo cannot apply (unknown key, metric or bad value)."""


@dataclass(frozen=True)
class Faults:
    """The active faults. Metric names refer to catalog metrics."""

    error_ratio: float | None = None  # share of error series / HTTP responses that fail
    latency_s: float | None = None  # added to every HTTP response and histogram observation
    down: frozenset[str] = field(default_factory=frozenset)  # 0/1 gauges forced to 0
    backlog: tuple[tuple[str, float | None], ...] = ()  # gauges raised (None: past the alert threshold)
    drop: frozenset[str] = field(default_factory=frozenset)  # gauges cut to a tenth
    absent: frozenset[str] = field(default_factory=frozenset)  # metrics removed from /metrics
    increase: frozenset[str] = field(default_factory=frozenset)  # counters whose quiet series start growing
    go_down: frozenset[str] = field(default_factory=frozenset)  # services ("*" = all) answering 503

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.error_ratio is not None:
            out["error_ratio"] = self.error_ratio
        if self.latency_s is not None:
            out["latency_s"] = self.latency_s
        for key in ("down", "drop", "absent", "increase", "go_down"):
            if getattr(self, key):
                out[key] = sorted(getattr(self, key))
        if self.backlog:
            out["backlog"] = {k: v for k, v in self.backlog}
        return out


def _names(value: Any, key: str, known: set[str]) -> frozenset[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise FaultError(f"'{key}' takes a metric name or a list of them")
    unknown = sorted(set(names) - known)
    if unknown:
        raise FaultError(f"'{key}': unknown metric {', '.join(unknown)}")
    return frozenset(names)


def merge(current: Faults, request: Any, metrics: set[str], services: set[str]) -> Faults:
    """The faults after applying one POST body; raises FaultError on anything it cannot apply."""
    if not isinstance(request, dict) or not request:
        raise FaultError("send a JSON object such as {\"error_ratio\": 0.5}")
    out = current
    for key, value in request.items():
        if key == "error_ratio":
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
                raise FaultError("'error_ratio' must be a number from 0 to 1")
            out = replace(out, error_ratio=float(value))
        elif key == "latency_s":
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 3600:
                raise FaultError("'latency_s' must be a number of seconds from 0 to 3600")
            out = replace(out, latency_s=float(value))
        elif key in ("down", "drop", "absent", "increase"):
            out = replace(out, **{key: getattr(out, key) | _names(value, key, metrics)})
        elif key == "backlog":
            pairs: dict[str, float | None] = dict(out.backlog)
            if isinstance(value, dict):
                for name, v in value.items():
                    if not isinstance(v, int | float) or isinstance(v, bool):
                        raise FaultError("'backlog' values must be numbers")
                    pairs.update(dict.fromkeys(_names(name, key, metrics), float(v)))
            else:
                pairs.update(dict.fromkeys(_names(value, key, metrics)))
            out = replace(out, backlog=tuple(sorted(pairs.items())))
        elif key == "go_down":
            if value is True:
                out = replace(out, go_down=out.go_down | {"*"})
            elif value is False:
                out = replace(out, go_down=frozenset())
            elif isinstance(value, str) and value in services:
                out = replace(out, go_down=out.go_down | {value})
            else:
                raise FaultError(f"'go_down' takes true, false or a service name ({', '.join(sorted(services))})")
        else:
            raise FaultError(f"unknown fault '{key}' (error_ratio, latency_s, down, backlog, drop, absent, increase, go_down)")
    return out

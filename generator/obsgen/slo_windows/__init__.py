"""Multiwindow, multi-burn-rate alert windows as data, in Sloth's AlertWindows format (sloth.slok.dev/v1).

Three sources, one shape (model.WindowSet):
- built in: Google's SRE workbook sets for 30 and 28 days (google-30d.yaml, google-28d.yaml beside this file);
- custom: files in Sloth's `examples/windows/` format that a project keeps in a folder (the catalog stage reads them);
- computed: any other period gets the workbook's windows and budget shares, with each burn factor derived for that
  period exactly as Sloth derives it (internal/alert/window.go, getBurnRateFactor):
      factor = errorBudgetPercent * period_hours / 100 / long_window_hours
  This is also how Sloth's own 28-day set gets 13.44, 5.6, 2.8 and 0.9333... from the 30-day percentages.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from obsgen.duration import go_hours, parse_duration, prometheus_duration
from obsgen.model import BurnWindow, WindowSet, WindowTier

API_VERSION = "sloth.slok.dev/v1"
KIND = "AlertWindows"
GOOGLE = "google-30d"  # the workbook's table: its windows and budget shares are the base of computed sets
TIERS = ("page", "ticket")
SPEEDS = ("quick", "slow")

Located = list[tuple[tuple[str | int, ...], str]]  # (field path, message)


def burn_factor(period_seconds: float, budget_percent: float, long_seconds: float) -> float:
    """Sloth's getBurnRateFactor, operation for operation (Go float64, Duration.Hours()), so factors match bit for bit."""
    hours_required = budget_percent * go_hours(period_seconds) / 100
    return hours_required / go_hours(long_seconds)


def _duration(value: Any, path: tuple[str | int, ...], problems: Located) -> float | None:
    if not isinstance(value, str):
        problems.append((path, "must be a Prometheus duration such as 5m, 1h or 30d"))
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        problems.append((path, str(exc)))
        return None
    if seconds <= 0:
        problems.append((path, "must be longer than 0"))
        return None
    return seconds


def _window(data: Any, path: tuple[str | int, ...], period: float | None, problems: Located) -> BurnWindow | None:
    if not isinstance(data, dict):
        problems.append((path, "must be a mapping with errorBudgetPercent, shortWindow and longWindow"))
        return None
    for key in sorted(set(data) - {"errorBudgetPercent", "shortWindow", "longWindow"}):
        problems.append(((*path, key), f"unknown field '{key}'"))
    before = len(problems)
    percent = data.get("errorBudgetPercent")
    if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent <= 100:
        problems.append(((*path, "errorBudgetPercent"), "must be a number above 0 and at most 100 (a percentage)"))
    short = _duration(data.get("shortWindow"), (*path, "shortWindow"), problems)
    long = _duration(data.get("longWindow"), (*path, "longWindow"), problems)
    if short is not None and long is not None and short >= long:
        problems.append(((*path, "shortWindow"), "must be shorter than longWindow (it resets the alert once the burn stops)"))
    if long is not None and period is not None and long > period:
        problems.append(((*path, "longWindow"), "must not be longer than the SLO period"))
    if len(problems) > before or period is None or short is None or long is None:
        return None
    value = float(percent)  # type: ignore[arg-type]
    return BurnWindow(prometheus_duration(long), prometheus_duration(short), value, burn_factor(period, value, long))


def from_spec(data: Any, name: str, source: str) -> tuple[WindowSet | None, Located]:
    """A window set from Sloth's AlertWindows document, or the located problems that stop it."""
    problems: Located = []
    if not isinstance(data, dict):
        return None, [((), f"an alert window set must be a mapping ({API_VERSION} {KIND})")]
    for key in sorted(set(data) - {"apiVersion", "kind", "spec"}):
        problems.append(((key,), f"unknown field '{key}'"))
    if data.get("apiVersion") != API_VERSION or data.get("kind") != KIND:
        problems.append((("kind",), f"must be apiVersion {API_VERSION}, kind {KIND} (Sloth's alert windows format)"))
    spec = data.get("spec")
    if not isinstance(spec, dict):
        problems.append((("spec",), "must be a mapping with sloPeriod, page and ticket"))
        return None, problems
    for key in sorted(set(spec) - {"sloPeriod", *TIERS}):
        problems.append((("spec", key), f"unknown field '{key}'"))
    period = _duration(spec.get("sloPeriod"), ("spec", "sloPeriod"), problems)
    tiers: dict[str, WindowTier] = {}
    for tier in TIERS:
        block = spec.get(tier)
        if not isinstance(block, dict):
            problems.append((("spec", tier), "must be a mapping with quick and slow windows"))
            continue
        for key in sorted(set(block) - set(SPEEDS)):
            problems.append((("spec", tier, key), f"unknown field '{key}'"))
        quick, slow = (_window(block.get(s), ("spec", tier, s), period, problems) for s in SPEEDS)
        if quick is not None and slow is not None:
            tiers[tier] = WindowTier(tier, quick, slow)
    if problems or period is None:
        return None, problems
    return WindowSet(name, prometheus_duration(period), tiers["page"], tiers["ticket"], source), []


@lru_cache(maxsize=1)
def builtin() -> Mapping[str, WindowSet]:
    """The sets that ship with obsgen, by name (google-30d, google-28d)."""
    out: dict[str, WindowSet] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            name = entry.name[: -len(".yaml")]
            found, problems = from_spec(yaml.safe_load(entry.read_text(encoding="utf-8")), name, "built in")
            if found is None:  # a broken file in the package is a bug, not a user's mistake
                raise RuntimeError(f"slo_windows/{entry.name}: {problems}")
            out[name] = found
    return out


def computed(period: str) -> WindowSet:
    """The workbook's windows and budget shares for any period, each factor scaled to it as Sloth scales them."""
    base = builtin()[GOOGLE]
    seconds = parse_duration(period)

    def scaled(w: BurnWindow) -> BurnWindow:
        return BurnWindow(w.long, w.short, w.budget_percent, burn_factor(seconds, w.budget_percent, parse_duration(w.long)))

    name = f"google-{prometheus_duration(seconds)}"
    tiers = [WindowTier(t.tier, scaled(t.quick), scaled(t.slow)) for t in base.tiers]
    return WindowSet(name, prometheus_duration(seconds), tiers[0], tiers[1], f"computed from {GOOGLE}'s budget shares")


def default_for(period: str) -> WindowSet:
    """The set an SLO gets when it names none: a built-in one for its period, else one computed for it."""
    canonical = prometheus_duration(parse_duration(period))
    return next((s for s in builtin().values() if s.period == canonical), None) or computed(period)


def windows_of(ws: WindowSet) -> tuple[str, ...]:
    """Every short and long window of a set, shortest first, each once."""
    return tuple(sorted({w for t in ws.tiers for p in t.pairs for w in (p.short, p.long)}, key=parse_duration))


def fastest(ws: WindowSet) -> BurnWindow:
    """The pair with the highest burn factor (the page's quick one in every sensible set)."""
    return max((p for t in ws.tiers for p in t.pairs), key=lambda p: p.factor)

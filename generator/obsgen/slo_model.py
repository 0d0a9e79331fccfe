"""The model's SLO parts: alert window sets (Sloth's AlertWindows as data), burn-alert settings and raw-query SLIs.

Frozen dataclasses like the rest of the model (obsgen.model re-exports them); kept apart so model.py stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class BurnWindow:
    """One long/short window pair of a multiwindow alert and the share of the period's budget it stands for."""

    long: str  # as Prometheus prints it: 1h, 1d, 1d12h
    short: str
    budget_percent: float  # of the whole period's error budget, spent over the long window
    factor: float  # burn rate that spends budget_percent in the long window (Sloth's "speed")


@dataclass(frozen=True)
class WindowTier:
    """The page or ticket alert of a window set: a quick and a slow window pair."""

    tier: str  # page | ticket
    quick: BurnWindow
    slow: BurnWindow

    @property
    def pairs(self) -> tuple[BurnWindow, BurnWindow]:
        return (self.quick, self.slow)


@dataclass(frozen=True)
class WindowSet:
    """Multiwindow, multi-burn-rate alert windows for one SLO period (Sloth's AlertWindows, as data)."""

    name: str
    period: str  # as Prometheus prints it: 30d, 4w (28 days), 1w, 90d
    page: WindowTier
    ticket: WindowTier
    source: str = ""  # where the set comes from, for documentation and errors

    @property
    def tiers(self) -> tuple[WindowTier, WindowTier]:
        return (self.page, self.ticket)


@dataclass(frozen=True)
class SloTier:
    """What one tier (page or ticket) of an SLO's burn alert carries beyond obsgen's defaults."""

    disable: bool = False
    severity: str = ""  # "" = critical for page, warning for ticket
    labels: Labels = ()
    annotations: Labels = ()


@dataclass(frozen=True)
class SloAlerting:
    """Name, labels and annotations of an SLO's burn alerts (Sloth's `alerting` block)."""

    name: str = ""  # "" = {Service}{Slo}ErrorBudgetBurn
    labels: Labels = ()
    annotations: Labels = ()
    page: SloTier = SloTier()
    ticket: SloTier = SloTier()


@dataclass(frozen=True)
class SliQueries:
    """A raw-query SLI: PromQL with {{.window}} where each alert window goes, as Sloth's `events` and `raw` SLIs."""

    errors: str = ""  # bad events
    total: str = ""  # all events
    error_ratio: str = ""  # or the ratio itself

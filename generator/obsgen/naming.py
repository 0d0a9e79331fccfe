"""Every generated name in one place: recording rules (level:metric:operations), SLO series and generated alerts.

Rules, rule tests, dashboards and the checks that look for recording rules in hand-written PromQL all take
names from here, so a name is spelled once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

RATE_WINDOW = "5m"  # the window of every recorded rate and ratio
PROBE_JOB = "blackbox"  # the scrape job of the blackbox exporter in the generated stack

SLO_OBJECTIVE = "slo:objective:ratio"
SLO_BUDGET = "slo:error_budget:ratio"
SLO_BUDGET_REMAINING = "slo:error_budget_remaining:ratio"
SLO_LABELS = ("service", "slo")  # every SLO series carries these

# Sloth's meta records and labels (pkg/common/conventions in Sloth v0.16.0), written when the project asks for
# Sloth-compatible output so Sloth's Grafana dashboards (grafana.com 14348 and 14643) read obsgen's rules.
SLO_TIME_PERIOD_DAYS = "slo:time_period:days"
SLO_CURRENT_BURN_RATE = "slo:current_burn_rate:ratio"
SLO_PERIOD_BURN_RATE = "slo:period_burn_rate:ratio"
SLO_PERIOD_BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
SLOTH_INFO = "sloth_slo_info"
SLOTH_ID, SLOTH_SERVICE, SLOTH_SLO = "sloth_id", "sloth_service", "sloth_slo"
SLOTH_WINDOW, SLOTH_SEVERITY = "sloth_window", "sloth_severity"
SLOTH_IDS = (SLOTH_ID, SLOTH_SLO, SLOTH_SERVICE)  # Sloth's burn-rate records match on these, in this order

# What a recording rule name looks like inside hand-written PromQL (it has a colon; metrics do not).
RECORD_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+")


def level(labels: Iterable[str]) -> str:
    """The level part of a recording rule name: the labels kept, joined by underscores."""
    items = tuple(labels)
    return "_".join(items) if items else "all"


def record_name(labels: Iterable[str], metric: str, operation: str) -> str:
    """level:metric:operations, the Prometheus recording rule convention."""
    return f"{level(labels)}:{metric}:{operation}"


def numbered(name: str, n: int) -> str:
    """The n-th distinct rule that would share a name: level:metric_n:operations."""
    lvl, metric, op = name.split(":")
    return f"{lvl}:{metric}_{n}:{op}"


def counter_base(series: str) -> str:
    """A counter's name without _total, as recording rule names use it."""
    return series[: -len("_total")] if series.endswith("_total") else series


def rate_record(labels: Iterable[str], series: str) -> str:
    """level:metric:rate5m of a counter series."""
    return record_name(labels, counter_base(series), f"rate{RATE_WINDOW}")


def ratio_record(labels: Iterable[str], stem: str) -> str:
    """level:stem:ratio_rate5m of an error ratio."""
    return record_name(labels, stem, f"ratio_rate{RATE_WINDOW}")


def quantile_record(labels: Iterable[str], metric: str) -> str:
    """level:metric:histogram_quantile_rate5m of a histogram."""
    return record_name(labels, metric, f"histogram_quantile_rate{RATE_WINDOW}")


def sli_error(window: str) -> str:
    """The SLO error ratio over one window (an alert window or the SLO period)."""
    return f"slo:sli_error:ratio_rate{window}"


def camel(text: str) -> str:
    """divan-api -> DivanApi."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def target_down_alert(job: str) -> str:
    """The down-or-missing alert of a scrape job."""
    return f"{camel(job)}TargetDown"


def health_alert(service: str) -> str:
    """The failing-health-check alert of a service."""
    return f"{camel(service)}HealthCheckFailing"


def burn_alert(service: str, slo: str, override: str = "") -> str:
    """The error-budget burn alert of an SLO (both tiers share it): the catalog's name for it, else a derived one."""
    return override or f"{camel(service)}{camel(slo)}ErrorBudgetBurn"


def sloth_id(service: str, slo: str) -> str:
    """Sloth's SLO id: service-slo."""
    return f"{service}-{slo}"


WATCHDOG = "Watchdog"


# Rule files and groups: the rules emitter writes them, the rule-tests emitter names them.
RULES_DIR = "rules"
META_RULES = "obsgen-meta"  # the stack's own rule file (Watchdog)


def rule_groups(service: str) -> tuple[str, str, str]:
    """The recording, SLO and alert groups of a service's rule file, in evaluation order."""
    return (f"{service}.recording", f"{service}.slo", f"{service}.alerts")

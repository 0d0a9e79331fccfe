"""Sloth-compatible output (off unless the project asks): Sloth's labels on every SLO series and alert, and its meta
records, so the Grafana dashboards Sloth publishes (grafana.com 14348 "SLO / Detail" and 14643 "High level Sloth
SLOs") and anything else written against Sloth's rules read obsgen's. Names and shapes follow Sloth v0.16.0's
metadata_rules and alert_rules plugins; docs/slo-interop.md lists the dashboard queries a test checks.
"""

from __future__ import annotations

from obsgen import naming
from obsgen.duration import parse_duration
from obsgen.model import Labels, Matcher
from obsgen.plan.draft import Draft
from obsgen.plan.types import RecordingRule, SloPlan
from obsgen.promql import Agg, Binary, Expr, Number, Vector, eq, fmt_number, scalar_vector

MODE = "obsgen"  # sloth_mode/sloth_version/sloth_spec of sloth_slo_info: who wrote the rules
SPEC = "obsgen/v1"


def ids(service: str, slo: str) -> Labels:
    """sloth_id, sloth_service and sloth_slo of an SLO."""
    return ((naming.SLOTH_ID, naming.sloth_id(service, slo)), (naming.SLOTH_SERVICE, service), (naming.SLOTH_SLO, slo))


def _matchers(sp: SloPlan) -> tuple[Matcher, ...]:
    labels = dict(sp.static)
    return tuple(eq(k, labels[k]) for k in (naming.SLOTH_ID, naming.SLOTH_SERVICE, naming.SLOTH_SLO))


def without_window(comparison: Expr) -> Agg:
    """max(x > limit) without (sloth_window): the windows' records differ only by that label, so `and` can match them."""
    return Agg("max", comparison, (naming.SLOTH_WINDOW,), without=True)


def _burn(d: Draft, sp: SloPlan, window: str) -> str:
    """SLI over a window divided by the error budget, matched on Sloth's ids as Sloth writes it."""
    mine = _matchers(sp)
    return d.text(Binary("/", Vector(naming.sli_error(window), mine), Vector(naming.SLO_BUDGET, mine),
                         on=naming.SLOTH_IDS, group="left", layout="lines"))


def meta_records(d: Draft, sp: SloPlan) -> list[RecordingRule]:
    """slo:time_period:days, the current and period burn rates, the period budget left and sloth_slo_info."""
    assert sp.window_set is not None
    static = sp.static
    days = parse_duration(sp.period) / 86400
    current = sp.window_set.page.quick.short
    remaining = Binary("-", Number(1), Vector(naming.SLO_PERIOD_BURN_RATE, _matchers(sp)))
    info = (*static, ("sloth_mode", MODE), ("sloth_objective", fmt_number(sp.slo.objective)),
            ("sloth_spec", SPEC), ("sloth_version", MODE))
    return [
        RecordingRule(naming.SLO_TIME_PERIOD_DAYS, d.text(scalar_vector(days)), static),
        RecordingRule(naming.SLO_CURRENT_BURN_RATE, _burn(d, sp, current), static),
        RecordingRule(naming.SLO_PERIOD_BURN_RATE, _burn(d, sp, sp.period), static),
        RecordingRule(naming.SLO_PERIOD_BUDGET_REMAINING, d.text(remaining), static),
        RecordingRule(naming.SLOTH_INFO, d.text(scalar_vector(1)), tuple(sorted(info))),
    ]


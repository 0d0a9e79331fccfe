"""SLOs: error-ratio records per alert window, budget records, multiwindow burn-rate alerts (their tests: slo_cases.py).

The windows and burn-rate factors are data (slo_windows/, a project's windows/ folder); this module only turns
them into rules. Sloth-compatible labels and records come from plan/sloth.py when the project asks for them.
"""

from __future__ import annotations

from obsgen import gotemplate, naming, slo_windows
from obsgen import model as m
from obsgen.plan import sloth
from obsgen.plan.draft import Draft
from obsgen.plan.query_inputs import sli_expr
from obsgen.plan.slo_cases import record_labels, slo_cases
from obsgen.plan.types import AlertRule, PlanError, RecordingRule, SloPlan
from obsgen.promql import (
    Binary,
    Call,
    Expr,
    Number,
    Paren,
    Vector,
    agg,
    binop,
    both,
    compare,
    either,
    eq,
    fmt_number,
    le_matcher,
    rate,
    ratio,
    scalar_vector,
    sel,
)
from obsgen.slo_options import DEFAULT as DEFAULT_SLO
from obsgen.slo_options import SloOptions

SEVERITY = {"page": "critical", "ticket": "warning"}
WHAT = {"availability": "availability", "latency": "latency"}


def _sli_expr(slo: m.SLO, window: str, grouped: bool = False) -> Expr:
    """Share of the SLO's events that failed over the window.

    grouped: the project keeps grouping labels (cluster...), which vector(0) lacks, so the zero comes from the total.
    """
    if slo.kind == "query":
        return sli_expr(slo, window)
    if slo.kind == "availability":
        assert slo.errors is not None and slo.total is not None
        # "or vector(0)": before the first failure there is no error series, and the SLI must read 0, not nothing.
        total = agg("sum", rate(sel(slo.total), window))
        zero = binop("*", total, 0) if grouped else scalar_vector(0)
        errors = Paren(either(agg("sum", rate(sel(slo.errors), window)), zero), block=True)
        return ratio(errors, total)
    assert slo.metric is not None and slo.threshold is not None
    count = agg("sum", rate(sel(slo.metric, suffix="_count"), window))
    fast = agg("sum", rate(sel(slo.metric, (le_matcher(slo.threshold),), suffix="_bucket"), window))
    return ratio(Paren(Binary("-", count, fast, layout="lines"), block=True), count)


def slo_plan(service: m.Service, slo: m.SLO, options: SloOptions = DEFAULT_SLO) -> SloPlan:
    """Windows, burn factors, matchers and labels of one SLO, from its window set."""
    ws = slo.windows or slo_windows.default_for(slo.window)
    factors = sorted({p.factor for t in ws.tiers for p in t.pairs})
    matchers = (eq("service", service.name), eq("slo", slo.name))
    static = {"service": service.name, "slo": slo.name, **dict(slo.labels)}
    if options.sloth_compatible:
        static.update(sloth.ids(service.name, slo.name))
    return SloPlan(slo, matchers, slo_windows.windows_of(ws), tuple(factors), ws.period, slo_windows.fastest(ws).long,
                   ws, tuple(sorted(static.items())))


def slo_rules(d: Draft, sp: SloPlan) -> list[RecordingRule]:
    """The SLO's recording rules: SLI per window and over the period, objective, budget and budget left."""
    slo = sp.slo
    grouped = bool(d.scope.keep)
    rules = [RecordingRule(naming.sli_error(w), d.text(_sli_expr(slo, w, grouped)), record_labels(d, sp, w)) for w in sp.windows]
    period = Vector(naming.sli_error(sp.windows[0]), sp.matchers, range=sp.period)
    rules.append(RecordingRule(naming.sli_error(sp.period), d.text(Call("avg_over_time", (period,))),
                               record_labels(d, sp, sp.period)))
    rules.append(RecordingRule(naming.SLO_OBJECTIVE, d.text(scalar_vector(slo.objective / 100)), sp.static))
    rules.append(RecordingRule(naming.SLO_BUDGET, d.text(scalar_vector(slo.budget)), sp.static))
    spent = Paren(Binary("/", Vector(naming.sli_error(sp.period), sp.matchers), Number(slo.budget)))
    rules.append(RecordingRule(naming.SLO_BUDGET_REMAINING, d.text(Binary("-", Number(1), spent)), sp.static))
    if d.slo_options.sloth_compatible:
        rules.extend(sloth.meta_records(d, sp))
    return rules


def _description(slo: m.SLO, tier: m.WindowTier, windows_text: str) -> str:
    text = ("The {{ $labels.slo }} SLO of {{ $labels.service }} burns its error budget at over "
            + f"{fmt_number(tier.slow.factor)}x the sustainable rate ({windows_text})")
    if slo.kind == "query":  # a raw query's value in a user's own test input cannot be predicted
        return text + f"; the objective is {fmt_number(slo.objective)}%."
    return text + "; {{ $value | humanizePercentage }} of events fail the objective" + f" of {fmt_number(slo.objective)}%."


def _runbook(slo: m.SLO, tier: m.WindowTier) -> m.Runbook:
    if slo.runbook != m.Runbook():
        return slo.runbook
    what = WHAT.get(slo.kind, f"the {slo.name} service level")
    spent = " and ".join(f"{fmt_number(p.budget_percent)}%" for p in tier.pairs) if tier.quick.budget_percent != \
        tier.slow.budget_percent else f"{fmt_number(tier.quick.budget_percent)}%"
    return m.Runbook(
        impact=f"Users see {what} below the {fmt_number(slo.objective)}% objective; at this rate the "
               f"{slo.window} error budget ({spent} spent per window) runs out early.",
        diagnosis=("Find which routes or jobs contribute the failing events on the SLO dashboard.",
                   "Correlate with recent deploys, dependency alerts and saturation."),
        recovery=("Roll back the last change if it correlates.", "Shed or reroute load; scale out if saturated."),
    )


def _comparison(d: Draft, sp: SloPlan, window: str, limit: Expr) -> Expr:
    watched = compare(Vector(sp.sli(window), sp.matchers), ">", limit)
    return sloth.without_window(watched) if d.slo_options.sloth_compatible else watched


def burn_alerts(d: Draft, sp: SloPlan, path: tuple[str | int, ...] = ()) -> list[AlertRule]:
    """One alert per tier of the window set (page, ticket) not disabled, each over its long/short window pairs."""
    slo = sp.slo
    assert sp.window_set is not None
    name = naming.burn_alert(d.svc.name, slo.name, slo.alerting.name)
    out_labels = tuple(k for k, _ in sp.static)
    made: list[AlertRule] = []
    for tier in sp.window_set.tiers:
        cfg = slo.alerting.page if tier.tier == "page" else slo.alerting.ticket
        if cfg.disable:
            continue
        clauses = []
        # Sloth's thresholds carry the float error of 100 - objective (0.0009999999999999432 for 99.9); with its labels
        # on, obsgen writes the same numbers, so an error ratio exactly at a threshold alerts in both or in neither.
        budget = (100 - slo.objective) / 100 if d.slo_options.sloth_compatible else slo.budget
        for pair in tier.pairs:
            limit = Paren(Binary("*", Number(pair.factor), Number(budget)))
            clauses.append(Paren(both(_comparison(d, sp, pair.long, limit), _comparison(d, sp, pair.short, limit)), block=True))
        windows_text = ", ".join(f"{p.long}/{p.short} at {fmt_number(p.factor)}x" for p in tier.pairs)
        annotations = {**dict(slo.alerting.annotations), **dict(cfg.annotations)}
        description = annotations.get("description", _description(slo, tier, windows_text))
        missing = sorted(lb for lb in gotemplate.labels_used(description) if lb not in out_labels) if slo.kind != "query" else []
        if missing:
            raise PlanError((*path, "alerting"), f"description uses $labels.{missing[0]}, but the burn alert only carries "
                                                 f"{', '.join(out_labels)}")
        labels = {**dict(slo.alerting.labels), **dict(cfg.labels), "slo": slo.name}
        if d.slo_options.sloth_compatible:
            labels[naming.SLOTH_SEVERITY] = tier.tier
        rule = d.make_alert(
            name, either(*clauses), d.slo_options.for_tier(tier.tier), cfg.severity or SEVERITY[tier.tier],
            f"The {slo.name} SLO of {d.svc.name} is burning its error budget too fast.", description,
            _runbook(slo, tier), "slo_burn", out_labels, tuple(sorted(labels.items())),
            queries=(Vector(sp.sli(tier.quick.long), sp.matchers), Vector(naming.SLO_BUDGET_REMAINING, sp.matchers)),
            extra_annotations=tuple(sorted(annotations.items())),
        )
        made.append(rule)
        d.alerts.append(rule)
    return made


def plan_slo(d: Draft, slo: m.SLO, index: int) -> tuple[SloPlan, list[RecordingRule]]:
    """Rules, alerts and rule tests of one SLO."""
    sp = slo_plan(d.svc, slo, d.slo_options)
    rules = slo_rules(d, sp)
    made = burn_alerts(d, sp, ("slos", index))
    slo_cases(d, sp, tuple(made), index)
    return sp, rules

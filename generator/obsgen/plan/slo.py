"""SLOs: error-ratio records per alert window, budget records, multiwindow burn-rate alerts and their tests.

The windows and burn-rate factors are data (slo_windows/*.yaml); this module only turns them into rules.
"""

from __future__ import annotations

from obsgen import model as m
from obsgen import naming
from obsgen.duration import parse_duration
from obsgen.plan.cases import bucket_series
from obsgen.plan.draft import Draft
from obsgen.plan.synth import counter_series, matches
from obsgen.plan.types import AlertRule, ExprCheck, RecordingRule, SloPlan, TestSeries
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
from obsgen.slo_windows import load_windows


def _sli_expr(slo: m.SLO, window: str, grouped: bool = False) -> Expr:
    """Share of the SLO's events that failed over the window.

    grouped: the project keeps grouping labels (cluster...), which vector(0) lacks, so the zero comes from the total.
    """
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


def slo_plan(service: m.Service, slo: m.SLO) -> SloPlan:
    """Windows, burn factors and matchers of one SLO, from its window set."""
    windows = load_windows()[slo.window]
    every = sorted({w for a in windows["alerts"] for pair in a["windows"] for w in (pair["long"], pair["short"])},
                   key=parse_duration)
    factors = sorted({float(p["factor"]) for a in windows["alerts"] for p in a["windows"]})
    matchers = (eq("service", service.name), eq("slo", slo.name))
    fastest = max((p for a in windows["alerts"] for p in a["windows"]), key=lambda p: float(p["factor"]))
    return SloPlan(slo, matchers, tuple(every), tuple(factors), slo.window, fastest["long"])


def slo_rules(d: Draft, sp: SloPlan) -> list[RecordingRule]:
    """The SLO's recording rules: SLI per window and over the period, objective, budget and budget left."""
    slo = sp.slo
    static = (("service", d.svc.name), ("slo", slo.name))
    rules = [RecordingRule(naming.sli_error(w), d.text(_sli_expr(slo, w, bool(d.scope.keep))), static) for w in sp.windows]
    period = Vector(naming.sli_error(sp.windows[0]), sp.matchers, range=sp.period)
    rules.append(RecordingRule(naming.sli_error(sp.period), d.text(Call("avg_over_time", (period,))), static))
    rules.append(RecordingRule(naming.SLO_OBJECTIVE, d.text(scalar_vector(slo.objective / 100)), static))
    rules.append(RecordingRule(naming.SLO_BUDGET, d.text(scalar_vector(slo.budget)), static))
    spent = Paren(Binary("/", Vector(naming.sli_error(sp.period), sp.matchers), Number(slo.budget)))
    rules.append(RecordingRule(naming.SLO_BUDGET_REMAINING, d.text(Binary("-", Number(1), spent)), static))
    return rules


def burn_alerts(d: Draft, sp: SloPlan) -> list[AlertRule]:
    """One alert per tier of the window set (page, ticket), each over its long/short window pairs."""
    slo = sp.slo
    windows = load_windows()[slo.window]
    name = naming.burn_alert(d.svc.name, slo.name)
    what = "latency" if slo.kind == "latency" else "availability"
    made: list[AlertRule] = []
    for tier in windows["alerts"]:
        clauses = []
        for pair in tier["windows"]:
            limit = Paren(Binary("*", Number(float(pair["factor"])), Number(slo.budget)))
            long, short = Vector(sp.sli(pair["long"]), sp.matchers), Vector(sp.sli(pair["short"]), sp.matchers)
            clauses.append(Paren(both(compare(long, ">", limit), compare(short, ">", limit)), block=True))
        windows_text = ", ".join(f"{p['long']}/{p['short']} at {fmt_number(p['factor'])}x" for p in tier["windows"])
        rule = d.make_alert(
            name, either(*clauses), tier["for"], tier["severity"],
            f"The {slo.name} SLO of {d.svc.name} is burning its error budget too fast.",
            "The {{ $labels.slo }} SLO of {{ $labels.service }} burns its error budget at over "
            + f"{fmt_number(tier['windows'][-1]['factor'])}x the sustainable rate ({windows_text}); "
            + "{{ $value | humanizePercentage }} of events fail the objective"
            + f" of {fmt_number(slo.objective)}%.",
            slo.runbook if slo.runbook != m.Runbook() else m.Runbook(
                impact=f"Users see {what} below the {fmt_number(slo.objective)}% objective; at this rate the "
                       f"{slo.window} error budget ({tier['budget_spent']} spent per window) runs out early.",
                diagnosis=("Find which routes or jobs contribute the failing events on the SLO dashboard.",
                           "Correlate with recent deploys, dependency alerts and saturation."),
                recovery=("Roll back the last change if it correlates.", "Shed or reroute load; scale out if saturated."),
            ),
            "slo_burn", ("service", "slo"), (("slo", slo.name),),
            queries=(Vector(sp.sli(tier["windows"][0]["long"]), sp.matchers), Vector(naming.SLO_BUDGET_REMAINING, sp.matchers)),
        )
        made.append(rule)
        d.alerts.append(rule)
    return made


def plan_slo(d: Draft, slo: m.SLO, index: int) -> tuple[SloPlan, list[RecordingRule]]:
    """Rules, alerts and tests of one SLO: every event fails, so both tiers fire; then none fail."""
    sp = slo_plan(d.svc, slo)
    rules = slo_rules(d, sp)
    made = burn_alerts(d, sp)
    if not d.with_cases:
        return sp, rules
    windows = load_windows()[slo.window]
    minutes = int(max(parse_duration(t["for"]) for t in windows["alerts"]) // 60) + 10
    path = ("slos", index)
    fire: list[TestSeries]
    if slo.kind == "availability":
        assert slo.errors is not None and slo.total is not None
        err_labels = d.synth.labels_for(slo.errors, (), path)
        fire = [counter_series(slo.errors.metric, err_labels, 60, minutes + 5)]
        if not matches(fire[0], slo.total):
            fire.append(counter_series(slo.total.metric, d.synth.labels_for(slo.total, (), path), 60, minutes + 5))
        # A good event matches the total but not the errors: violate a matcher only the errors have.
        negate = tuple(mt for mt in slo.errors.matchers if mt not in slo.total.matchers) if slo.total.metric == slo.errors.metric else ()
        good_labels = d.synth.labels_for(slo.total, (), path, negate=negate)
        calm = [counter_series(slo.total.metric, good_labels, 60, minutes + 5)]
        if slo.errors.metric != slo.total.metric:
            calm.append(counter_series(slo.errors.metric, err_labels, 0, minutes + 5))
    else:
        assert slo.metric is not None and slo.threshold is not None
        metric = d.svc.metric(slo.metric.metric)
        assert metric is not None
        slow = list(metric.buckets).index(slo.threshold) + 1
        fire = bucket_series(d, slo.metric, (), slow, minutes + 5, path)
        calm = bucket_series(d, slo.metric, (), 0, minutes + 5, path)
    static = (("service", d.svc.name), ("slo", slo.name))
    checks = tuple(ExprCheck(sp.sli(w), static, 1.0) for w in sp.windows)
    checks += (ExprCheck(naming.SLO_BUDGET_REMAINING, static, 1 - 1 / slo.budget),)
    name = made[0].name
    d.add_case(f"{name} fires when every event fails", fire, minutes, made[0], [(dict(static), 1.0)], checks, tuple(made))
    calm_checks = (ExprCheck(naming.SLO_BUDGET_REMAINING, static, 1.0),)
    d.add_case(f"{name} stays silent when no event fails", calm, minutes, made[0], [], calm_checks)
    return sp, rules

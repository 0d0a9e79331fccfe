"""Rule tests of an SLO: every event fails, so every tier fires and each window's SLI reads 1; then none fails.

Selector SLOs get their series from the catalog's metrics; raw-query SLOs from plan/query_inputs.py, or from the
catalog's own `test` when obsgen cannot prove what the queries read.
"""

from __future__ import annotations

from obsgen import naming
from obsgen.duration import parse_duration
from obsgen.plan.cases import bucket_series
from obsgen.plan.draft import Draft
from obsgen.plan.query_inputs import query_inputs
from obsgen.plan.steady import Steady
from obsgen.plan.synth import counter_series, gauge_series, matches
from obsgen.plan.types import AlertRule, ExprCheck, Labels, PlanError, SloPlan, TestSeries
from obsgen.promql import fmt_number

EVENTS_PER_MINUTE = 60


def record_labels(d: Draft, sp: SloPlan, window: str | None = None) -> Labels:
    """Labels of the SLO's records; an SLI record over a window also carries sloth_window when Sloth's labels are on."""
    if window is None or not d.slo_options.sloth_compatible:
        return sp.static
    return tuple(sorted({**dict(sp.static), naming.SLOTH_WINDOW: window}.items()))


def steady_series(series: list[Steady], minutes: int) -> list[TestSeries]:
    """Steady series as promtool input over `minutes`: counters growing at their rate, gauges holding their value."""
    out = []
    for s in sorted(series, key=lambda s: s.labels):
        labels = dict(s.labels)
        name = labels.pop("__name__")
        out.append(counter_series(name, labels, s.value * 60, minutes) if s.counter else gauge_series(name, labels, s.value, minutes))
    return out


def _selector_series(d: Draft, sp: SloPlan, minutes: int, index: int) -> tuple[list[TestSeries], list[TestSeries]]:
    """Series where every event fails, and where none does, from an availability or latency SLO's selectors."""
    slo = sp.slo
    path = ("slos", index)
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
        return fire, calm
    assert slo.metric is not None and slo.threshold is not None
    metric = d.svc.metric(slo.metric.metric)
    assert metric is not None
    slow = list(metric.buckets).index(slo.threshold) + 1
    return (bucket_series(d, slo.metric, (), slow, minutes + 5, path), bucket_series(d, slo.metric, (), 0, minutes + 5, path))


def _checks(d: Draft, sp: SloPlan, kept: Labels, value: float) -> tuple[ExprCheck, ...]:
    """Each window's SLI reads `value`, and the budget left follows from it."""
    def labels(window: str | None) -> Labels:
        return tuple(sorted({**dict(kept), **dict(record_labels(d, sp, window))}.items()))

    checks = tuple(ExprCheck(sp.sli(w), labels(w), value) for w in sp.windows)
    # The budget left is computed from the period's record, so it keeps that record's sloth_window when Sloth's labels are on.
    return checks + (ExprCheck(naming.SLO_BUDGET_REMAINING, labels(sp.period), 1 - value / sp.slo.budget),)


def slo_cases(d: Draft, sp: SloPlan, made: tuple[AlertRule, ...], index: int) -> None:
    """A case where every tier fires and one where none does (an SLO without alerts still gets its SLI checked)."""
    if not d.with_cases:
        return
    slo = sp.slo
    fors = [parse_duration(d.slo_options.for_tier(t)) for t in ("page", "ticket")] if made else [0.0]
    minutes = int(max(fors) // 60) + 10
    rule = made[0] if made else AlertRule("", "", "0m", "", (), (), slo.runbook, "slo_burn")
    name = made[0].name if made else f"{d.svc.name}/{slo.name} SLI"
    kept: Labels = ()
    if slo.kind == "query" and slo.firing_test is not None and slo.silent_test is not None:
        for test, fire in ((slo.firing_test, True), (slo.silent_test, False)):
            series = [TestSeries((("__raw__", s),), v) for s, v in test.series]
            try:
                d.add_case(f"{name} {'fires' if fire else 'stays silent'}", series, int(parse_duration(test.eval_time) // 60),
                           rule, [({**dict(test.labels), **dict(sp.static)}, None)] if fire and made else [], (),
                           made if fire else ())
            except ValueError as exc:  # $value in an annotation: unknown for series the catalog wrote
                raise PlanError(("slos", index, "alerting"), f"{exc}; an SLO with its own test input cannot use $value") from None
        return
    value = 1.0
    if slo.kind == "query":
        inputs = query_inputs(d.svc, slo, d.synth, ("slos", index))
        bad, value = inputs.failing(max(sp.factors) * slo.budget)
        fire = steady_series(inputs.steady(bad, 0 if inputs.alone else 1), minutes + 5)
        calm = steady_series(inputs.steady(0, 1), minutes + 5)
        kept = inputs.fired[0] if len(inputs.fired) == 1 else ()
        if len(inputs.fired) != 1:  # one SLI series per SLO: the burn alert fires once per group otherwise
            raise PlanError(("slos", index), "the queries yield one SLI series per group; obsgen plans one per SLO "
                                             "(aggregate the groups away, e.g. sum(...) without by)")
    else:
        fire, calm = _selector_series(d, sp, minutes, index)
    fired_labels = {**dict(kept), **dict(sp.static)}
    what = "every event fails" if value == 1.0 else f"{fmt_number(value * 100)}% of events fail"
    d.add_case(f"{name} fires when {what}", fire, minutes, rule,
               [(fired_labels, value)] if made else [], _checks(d, sp, kept, value), made)
    calm_checks = _checks(d, sp, kept, 0.0)[-1:] if slo.kind != "query" else ()
    d.add_case(f"{name} stays silent when no event fails", calm, minutes, rule, [], calm_checks)

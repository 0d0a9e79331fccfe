"""The catalog's alert templates: each builds its rule and a test case where it fires and one where it stays silent."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

from obsgen import model as m
from obsgen.duration import parse_duration
from obsgen.naming import RATE_WINDOW
from obsgen.plan.cases import bucket_series, rate_checks, ratio_series, ratio_value
from obsgen.plan.draft import Draft
from obsgen.plan.synth import counter_series, gauge_series, quantile, step_series
from obsgen.plan.types import ExprCheck, Path, TestSeries, label_set
from obsgen.promql import Binary, Paren, absent, agg, both, compare, fmt_number, increase, offset, sel, vector


def _group(by: tuple[str, ...]) -> tuple[str, ...]:
    return ("job", *sorted(set(by) - {"job"}))


def _threshold(d: Draft, alert: m.Alert, path: Path) -> None:
    assert alert.metric is not None and alert.threshold is not None
    group = _group(alert.by)
    watched = agg("max" if alert.op in (">", ">=") else "min", sel(alert.metric), group)
    rule = d.catalog_rule(alert, compare(watched, alert.op, alert.threshold), group, path, (watched,))
    if not d.with_cases:
        return
    t = alert.threshold
    high = t * 2 if t > 0 else t + 1
    low = t / 2 if t > 0 else t - 1
    bad, good = (high, low) if alert.op in (">", ">=") else (low, high)
    minutes = d.eval_minutes(alert)
    labels = d.synth.labels_for(alert.metric, alert.by, path)
    out = {k: labels[k] for k in group}
    name = alert.metric.metric
    d.add_case(f"{alert.name} fires", [gauge_series(name, labels, bad, minutes + 5)], minutes, rule, [(out, bad)])
    d.add_case(f"{alert.name} stays silent", [gauge_series(name, labels, good, minutes + 5)], minutes, rule, [])


def _error_ratio(d: Draft, alert: m.Alert, path: Path) -> None:
    assert alert.errors is not None and alert.threshold is not None
    rec, group = d.records.ratio(alert.errors, alert.total, alert.by)
    rule = d.catalog_rule(alert, compare(vector(rec), ">", alert.threshold), group, path, (rec, d.records.expr_of(rec)))
    if not d.with_cases:
        return
    minutes = d.eval_minutes(alert, RATE_WINDOW)
    for fire in (True, False):
        series = ratio_series(d, alert.errors, alert.total, alert.by, alert.threshold, fire, minutes + 5, path)
        value, out = ratio_value(series, alert.errors, alert.total, group)
        checks = rate_checks(d, series) + ((ExprCheck(rec, out, value),) if fire else ())
        name = f"{alert.name} {'fires' if fire else 'stays silent'}"
        d.add_case(name, series, minutes, rule, [(dict(out), value)] if fire else [], checks)


def _latency(d: Draft, alert: m.Alert, path: Path) -> None:
    assert alert.metric is not None and alert.threshold is not None
    metric = d.svc.metric(alert.metric.metric)
    assert metric is not None
    # Recorded quantiles share one name and differ by their quantile label.
    watched, group, record = d.records.quantile(alert.metric, alert.quantile, alert.by)
    out_labels = (*group, "quantile") if record else group
    rule = d.catalog_rule(alert, compare(watched, ">", alert.threshold), out_labels, path, (watched,))
    if not d.with_cases:
        return
    minutes = d.eval_minutes(alert, RATE_WINDOW)
    bounds = [*metric.buckets, math.inf]  # above the last finite bucket, only +Inf lies past the threshold
    bad_index = next(i for i, b in enumerate(bounds) if i > 0 and bounds[i - 1] >= alert.threshold)
    for fire, index in ((True, bad_index), (False, 0)):
        series = bucket_series(d, alert.metric, alert.by, index, minutes + 5, path)
        buckets = {(math.inf if dict(s.labels)["le"] == "+Inf" else float(dict(s.labels)["le"])): s.inc / 60
                   for s in series if s.name.endswith("_bucket")}
        value = quantile(alert.quantile, buckets)
        labels = dict(series[0].labels)
        out = {k: labels[k] for k in group}
        if record:
            out["quantile"] = fmt_number(alert.quantile)
        checks = rate_checks(d, series)
        if record and fire:
            checks += (ExprCheck(record, label_set(out), value),)
        name = f"{alert.name} {'fires' if fire else 'stays silent'}"
        d.add_case(name, series, minutes, rule, [(out, value)] if fire else [], checks)


def _down(d: Draft, alert: m.Alert, path: Path) -> None:
    assert alert.metric is not None
    labels = d.synth.labels_for(alert.metric, (), path)
    watched = sel(alert.metric)
    rule = d.catalog_rule(alert, compare(watched, "==", 0), tuple(sorted(labels)), path, (watched,))
    if not d.with_cases:
        return
    minutes = d.eval_minutes(alert)
    name = alert.metric.metric
    d.add_case(f"{alert.name} fires", [gauge_series(name, labels, 0, minutes + 5)], minutes, rule, [(labels, 0.0)], carries="all")
    d.add_case(f"{alert.name} stays silent", [gauge_series(name, labels, 1, minutes + 5)], minutes, rule, [], carries="all")


def _absent(d: Draft, alert: m.Alert, path: Path) -> None:
    assert alert.metric is not None
    metric = d.svc.metric(alert.metric.metric)
    assert metric is not None
    out = {mt.label: mt.value for mt in alert.metric.matchers if mt.op == "="}
    rule = d.catalog_rule(alert, absent(sel(alert.metric)), tuple(sorted(out)), path, (sel(alert.metric),))
    # A histogram or summary has no series of its own name: watch its _count.
    suffix = "_count" if metric.type in ("histogram", "summary") else ""
    if suffix:
        rule = replace(rule, expr=d.text(absent(sel(alert.metric, suffix=suffix))))
        d.alerts[-1] = rule
    if not d.with_cases:
        return
    minutes = d.eval_minutes(alert)
    labels = d.synth.labels_for(alert.metric, (), path)
    other = gauge_series("obsgen_unrelated_series", {"job": "other"}, 1, minutes + 5)
    present = gauge_series(alert.metric.metric + suffix, labels, 1, minutes + 5)
    d.add_case(f"{alert.name} fires", [other], minutes, rule, [(out, 1.0)], carries="absent")
    d.add_case(f"{alert.name} stays silent", [present], minutes, rule, [], carries="absent")


def _drop(d: Draft, alert: m.Alert, path: Path) -> None:
    assert alert.metric is not None and alert.threshold is not None
    group = _group(alert.by)
    now = agg("sum", sel(alert.metric), group)
    before = agg("sum", offset(sel(alert.metric), alert.window), group)
    share = Binary("/", Paren(Binary("-", before, now, layout="lines"), block=True), before, layout="lines")
    expr: Binary = compare(share, ">", alert.threshold, layout="break")
    if alert.min_value is not None:
        expr = both(expr, compare(before, ">=", alert.min_value))
    rule = d.catalog_rule(alert, expr, group, path, (now, before))
    if not d.with_cases:
        return
    drop_at = int(parse_duration(alert.window) // 60) + 2
    minutes = drop_at + int(parse_duration(alert.for_) // 60)
    high = max(100.0, (alert.min_value or 0) * 2)
    low = high * (1 - (1 + alert.threshold) / 2)
    labels = d.synth.labels_for(alert.metric, alert.by, path)
    out = {k: labels[k] for k in group}
    name = alert.metric.metric
    dropping = step_series(name, labels, ((high, drop_at - 1), (low, minutes + 5 - drop_at)))
    d.add_case(f"{alert.name} fires", [dropping], minutes, rule, [(out, (high - low) / high)])
    d.add_case(f"{alert.name} stays silent", [gauge_series(name, labels, high, minutes + 5)], minutes, rule, [])


def _increase(d: Draft, alert: m.Alert, path: Path) -> None:
    assert alert.metric is not None and alert.threshold is not None
    group = _group(alert.by)
    inner = agg("sum", increase(sel(alert.metric), alert.window), group)
    rule = d.catalog_rule(alert, compare(inner, ">", alert.threshold), group, path, (inner,))
    if not d.with_cases:
        return
    window_min = parse_duration(alert.window) / 60
    per_min = math.floor(alert.threshold / window_min) + 1
    minutes = d.eval_minutes(alert, alert.window)
    labels = d.synth.labels_for(alert.metric, alert.by, path)
    out = {k: labels[k] for k in group}
    name = alert.metric.metric
    d.add_case(f"{alert.name} fires", [counter_series(name, labels, per_min, minutes + 5)], minutes,
               rule, [(out, per_min * window_min)])
    d.add_case(f"{alert.name} stays silent", [counter_series(name, labels, 0, minutes + 5)], minutes, rule, [])


def _expr(d: Draft, alert: m.Alert, path: Path) -> None:
    """PromQL the catalog author wrote: kept as written (the catalog stage parsed it), tested with their series."""
    assert alert.expr is not None and alert.firing_test is not None and alert.silent_test is not None
    out = tuple(k for k, _ in alert.firing_test.labels)
    rule = d.catalog_rule(alert, alert.expr.strip(), out, path)
    if not d.with_cases:
        return
    for test, fire in ((alert.firing_test, True), (alert.silent_test, False)):
        series = [TestSeries(((("__raw__", s),)), v) for s, v in test.series]
        minutes = int(parse_duration(test.eval_time) // 60)
        d.add_case(f"{alert.name} {'fires' if fire else 'stays silent'}", series, minutes, rule,
                   [(dict(test.labels), None)] if fire else [], carries="none")


TEMPLATES: dict[str, Callable[[Draft, m.Alert, Path], None]] = {
    "threshold": _threshold, "lag": _threshold, "backlog": _threshold, "error_ratio": _error_ratio,
    "latency_quantile": _latency, "down": _down, "absent": _absent, "drop_percentage": _drop,
    "increase": _increase, "expr": _expr,
}


def catalog_alert(d: Draft, alert: m.Alert, path: Path) -> None:
    """Plan one catalog alert with its template."""
    TEMPLATES[alert.template](d, alert, path)

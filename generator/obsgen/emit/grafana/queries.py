"""What dashboard panels ask Prometheus, built with the PromQL builder from the plan's recording rules.

Queries read the plan's recording rules where it made them; otherwise they rate raw counters over
`$__rate_interval`. Latency panels rate raw histogram buckets instead, because only raw series carry
the exemplars that link a slow request to its trace.
"""

from __future__ import annotations

import re
from dataclasses import replace

from obsgen import model as m
from obsgen.plan import ServicePlan
from obsgen.promql import (
    RATE_INTERVAL,
    Agg,
    Binary,
    Call,
    Expr,
    Neg,
    Paren,
    Subquery,
    Vector,
    agg,
    histogram_quantile,
    ratio,
    vector,
)
from obsgen.promql import rate as rate_call
from obsgen.promql_parse import PromQLSyntaxError, to_expr

JOB = m.Matcher("job", "=~", "$job")
INSTANCE = m.Matcher("instance", "=~", "$instance")
ROUTE_LABELS = ("route", "handler", "endpoint", "path", "operation", "task", "name")

# Catalog metric units -> Grafana unit ids, for values and for per-second rates of them.
VALUE_UNITS = {
    "seconds": "s", "bytes": "bytes", "ratio": "percentunit", "percent": "percent", "bool": "bool_yes_no",
    "requests": "short", "events": "short", "messages": "short", "tasks": "short", "clients": "short",
    "connections": "short", "items": "short", "errors": "short", "none": "short",
}
RATE_UNITS = {
    "requests": "reqps", "events": "eps", "messages": "mps", "tasks": "ops", "errors": "eps", "bytes": "Bps",
    "seconds": "s", "items": "ops", "connections": "ops", "clients": "ops", "none": "ops",
}


def legend(by: tuple[str, ...], fallback: str) -> str:
    """A legend naming the grouping labels, or the fallback when there are none."""
    return " ".join("{{" + b + "}}" for b in by) if by else fallback


def rate_of(sp: ServicePlan, series: str, matchers: tuple[m.Matcher, ...], by: tuple[str, ...],
            scope: tuple[m.Matcher, ...] = (JOB,), op: str = "sum") -> Agg:
    """Per-second rate of a counter series: the plan's 5m record when there is one, else rate() over $__rate_interval."""
    record = sp.rate_record(series)
    if record is not None:
        return agg(op, vector(record, (*matchers, *scope)), by)
    return agg(op, rate_call(vector(series, (*matchers, *scope, INSTANCE)), RATE_INTERVAL), by)


def raw_quantile(series: str, matchers: tuple[m.Matcher, ...], q: float, by: tuple[str, ...],
                 scope: tuple[m.Matcher, ...] = (JOB,)) -> Call:
    """histogram_quantile over raw buckets, so exemplars come back with the curve."""
    inner = rate_call(vector(series + "_bucket", (*matchers, *scope, INSTANCE)), RATE_INTERVAL)
    return histogram_quantile(q, agg("sum", inner, ("le", *by)))


def _scoped(node: Expr) -> Expr:
    """Add $instance beside a raw series' $job filter and let Grafana pick every rate() range."""
    if isinstance(node, Vector):
        # Raw series only: recording rules have aggregated the instance label away.
        if ":" in node.metric or JOB not in node.matchers or any(mt.label == "instance" for mt in node.matchers):
            return node
        at = node.matchers.index(JOB) + 1
        return replace(node, matchers=(*node.matchers[:at], INSTANCE, *node.matchers[at:]))
    if isinstance(node, Call):
        args = tuple(_scoped(a) for a in node.args)
        if node.func in ("rate", "irate") and args and isinstance(args[0], Vector) and args[0].range is not None:
            # A fixed [5m] hides short spikes when zoomed in and leaves gaps when zoomed out.
            args = (replace(args[0], range=RATE_INTERVAL), *args[1:])
        return Call(node.func, args)
    if isinstance(node, Agg):
        return replace(node, expr=_scoped(node.expr), param=_scoped(node.param) if node.param is not None else None)
    if isinstance(node, Binary):
        return replace(node, lhs=_scoped(node.lhs), rhs=_scoped(node.rhs))
    if isinstance(node, (Paren, Neg, Subquery)):
        return replace(node, expr=_scoped(node.expr))
    return node


def dashboard_expr(text: str) -> Expr | str:
    """A catalog expr panel as a dashboard wants it: $instance beside its $job filter, rates over $__rate_interval.

    Text the builder cannot model (Grafana variables outside strings, @) stays as the catalog wrote it.
    """
    try:
        return _scoped(to_expr(text))
    except PromQLSyntaxError:
        return text


class Signals:
    """Requests, errors and latency of a service, taken from its SLOs, then its alerts, then its metrics."""

    def __init__(self, svc: m.Service) -> None:
        self.total: m.Selector | None = None
        self.errors: m.Selector | None = None
        self.latency: m.Selector | None = None
        for slo in svc.slos:
            if slo.kind == "availability" and self.total is None:
                self.total, self.errors = slo.total, slo.errors
            if slo.kind == "latency" and self.latency is None:
                self.latency = slo.metric
        for alert in svc.alerts:
            if alert.template == "error_ratio" and self.total is None and alert.total:
                self.total, self.errors = alert.total[0], alert.errors
            if alert.template == "latency_quantile" and self.latency is None:
                self.latency = alert.metric
        if self.total is None:
            counter = next((x for x in svc.metrics if x.type == "counter" and x.unit == "requests"), None)
            if counter is not None:
                self.total = m.Selector(counter.name)
                status = next((lb for lb in ("status", "code", "status_code") if counter.label(lb)), None)
                if status:
                    self.errors = m.Selector(counter.name, (m.Matcher(status, "=~", "5.."),))
        if self.latency is None:
            hist = next((x for x in svc.metrics if x.type == "histogram" and x.unit == "seconds"), None)
            self.latency = m.Selector(hist.name) if hist else None
        self.svc = svc

    def route(self, metric: str | None) -> tuple[str, ...]:
        """The route-like label of a metric (route, handler, task...), if it has one."""
        decl = self.svc.metric(metric) if metric else None
        label = next((lb for lb in ROUTE_LABELS if decl is not None and decl.label(lb)), None)
        return (label,) if label else ()

    def common_route(self) -> tuple[str, ...]:
        """A route label both the error and total counters carry, so their ratio can split by it."""
        if self.total is None or self.errors is None:
            return ()
        a, b = self.route(self.total.metric), self.route(self.errors.metric)
        return a if a == b else ()


def error_ratio(sp: ServicePlan, sig: Signals, by: tuple[str, ...], scope: tuple[m.Matcher, ...] = (JOB,)) -> Binary:
    """Failed share of requests: rate of the error selector over rate of the total, grouped by `by`."""
    assert sig.errors is not None and sig.total is not None
    num = rate_of(sp, sig.errors.metric, sig.errors.matchers, by, scope)
    return ratio(num, rate_of(sp, sig.total.metric, sig.total.matchers, by, scope))


def rate_unit(svc: m.Service, metric: str) -> str:
    """Grafana unit of a per-second rate of the metric (reqps, eps...)."""
    decl = svc.metric(metric)
    return RATE_UNITS.get(decl.unit if decl else "none", "ops")


def value_unit(svc: m.Service, metric: str) -> str:
    """Grafana unit of the metric's own values (s, bytes, short...)."""
    decl = svc.metric(metric)
    return VALUE_UNITS.get(decl.unit if decl else "none", "short")


def jobs_regex(jobs: tuple[str, ...]) -> str:
    """Job names as an RE2 alternation with metacharacters escaped (the builder quotes it for PromQL)."""
    return "|".join(re.sub(r"([.+*?()\[\]{}|^$\\])", r"\\\1", j) for j in jobs)

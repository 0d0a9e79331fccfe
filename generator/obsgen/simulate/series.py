"""Which series the demo service exposes for a catalog, and how each behaves normally and under a fault.

Pure: model in, plain data out. Label values come from the catalog's declared values, plus one value
for every matcher an alert, SLO or panel uses (so every query finds data), plus generated bounded values.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from obsgen import model as m
from obsgen.plan import pick_value

DEFAULT_RATE = 10.0  # events per second per counter metric (or observations per histogram)
DEFAULT_ERROR_RATIO = 0.005
MAX_SERIES = 120  # per metric; the product of label value sets is cut here, error series first
ERROR_WORDS = re.compile(r"(fail|error|reject|miss|timeout|dropped|exceeded|slow|dlq|dead)")
TARGET_LABELS = ("job", "instance")
ROUTE_LABELS = ("route", "path", "handler", "endpoint")
GENERATED_VALUES = 2  # values made up for a label declared only with a cardinality bound


@dataclass(frozen=True)
class SimSeries:
    """One labelled series of a metric and its role."""

    labels: tuple[tuple[str, str], ...]
    error: bool = False  # matches an error selector: grows at the error ratio
    quiet: bool = False  # matches an `increase` alert's selector: stays flat unless that fault is set
    value: float | None = None  # gauges: a healthy value a raw alert's silent test declares for this series


@dataclass(frozen=True)
class SimMetric:
    """A catalog metric as the demo exposes it."""

    metric: m.Metric
    series: tuple[SimSeries, ...]
    normal: float = 0.0  # gauges: the healthy value
    bad: float = 0.0  # gauges: a value on the alerting side of a threshold alert (backlog fault)
    latency: float = 0.05  # histograms/summaries: typical observation (seconds or unit)
    error_ratio: float = DEFAULT_ERROR_RATIO
    roles: tuple[str, ...] = ()  # alert templates that read this metric


@dataclass(frozen=True)
class Route:
    """An HTTP endpoint some load test calls."""

    service: str
    method: str
    path: str
    status: int = 200


@dataclass(frozen=True)
class SimService:
    service: m.Service
    metrics: tuple[SimMetric, ...]
    routes: tuple[Route, ...] = field(default=())
    health_paths: tuple[str, ...] = field(default=())


def _selectors(svc: m.Service) -> list[m.Selector]:
    out: list[m.Selector] = []
    for a in svc.alerts:
        out += [s for s in (a.metric, a.errors, *a.total) if s is not None]
    for slo in svc.slos:
        out += [s for s in (slo.errors, slo.total, slo.metric) if s is not None]
    for d in svc.dashboards:
        for row in d.rows:
            for p in row.panels:
                out += [s for s in (p.metric, p.errors, *p.total) if s is not None]
    return out


def satisfies(value: str, mt: m.Matcher) -> bool:
    """Whether a label value satisfies a PromQL matcher (regexes are anchored, as in PromQL)."""
    if mt.op in ("=", "!="):
        return (value == mt.value) == (mt.op == "=")
    try:
        hit = re.fullmatch(mt.value, value) is not None
    except re.error:
        return False
    return hit == (mt.op == "=~")


def _matches(labels: dict[str, str], s: m.Selector) -> bool:
    # job and instance are target labels Prometheus adds at scrape time; every job of the service scrapes these series.
    return all(satisfies(labels.get(mt.label, ""), mt) for mt in s.matchers if mt.label not in TARGET_LABELS)


_SERIES = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$")
_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')
_FIRST = re.compile(r"^\s*(-?[0-9.e+-]+?)(?:[+-][0-9.e]+)?(?:x[0-9]+)?(?:\s|$)")


def quiet_samples(svc: m.Service) -> list[tuple[str, dict[str, str], float]]:
    """(metric, labels, first value) of every series in the silent tests of raw-PromQL alerts: a state the
    catalog author declared healthy, so the demo's gauges start there."""
    out = []
    for a in svc.alerts:
        for text, values in (a.silent_test.series if a.silent_test else ()):
            sm, first = _SERIES.match(text), _FIRST.match(values)
            if not sm or not first:
                continue
            labels = {k: v for k, v in _PAIR.findall(sm.group(2) or "") if k not in ("job", "instance")}
            try:
                out.append((sm.group(1), labels, float(first.group(1))))
            except ValueError:
                continue
    return out


def _label_values(label: m.Label, selectors: list[m.Selector], paths: list[str], extra: list[str]) -> list[str]:
    values: list[str] = []
    if label.values:
        values.append(label.values[0])
    elif label.name in ROUTE_LABELS and paths:
        values += paths[: label.bound or len(paths)]  # the load tests' endpoints, as a route template would read
    else:
        values += [f"{label.name}-{i}" for i in range(1, min(label.bound or 1, GENERATED_VALUES) + 1)]
    for s in selectors:
        for mt in s.matchers:
            if mt.label != label.name:
                continue
            for want in (True, False):
                v = pick_value(label if label.values else None, [mt], want)
                if v is not None:
                    values.append(v)
    values += [v for v in extra if not label.values or v in label.values]
    return list(dict.fromkeys(values))


def _latency(svc: m.Service, metric: m.Metric) -> float:
    limits = [a.threshold for a in svc.alerts if a.template == "latency_quantile" and a.metric
              and a.metric.metric == metric.name and a.threshold]
    limits += [s.threshold for s in svc.slos if s.kind == "latency" and s.metric and s.metric.metric == metric.name and s.threshold]
    if limits:
        return min(limits) / 8  # p99 well under every latency objective
    if metric.buckets:
        return metric.buckets[len(metric.buckets) // 2] / 2
    return 0.005 if metric.unit == "seconds" else 1.0


def sim_metric(svc: m.Service, metric: m.Metric) -> SimMetric:
    """The series of one metric, with error/quiet roles and normal gauge values."""
    selectors = [s for s in _selectors(svc) if s.metric == metric.name]
    errors = [a.errors for a in svc.alerts if a.template == "error_ratio" and a.errors and a.errors.metric == metric.name]
    errors += [s.errors for s in svc.slos if s.kind == "availability" and s.errors and s.errors.metric == metric.name]
    quiet = [a.metric for a in svc.alerts if a.template == "increase" and a.metric and a.metric.metric == metric.name]
    paths = list(dict.fromkeys(r.path.split("?", 1)[0] for t in svc.load_tests for r in t.requests))
    if not errors and ERROR_WORDS.search(metric.name) and metric.type == "counter":
        errors = [m.Selector(metric.name)]  # failures_total and the like: never more than the normal error ratio
    templated = any(a.metric and a.metric.metric == metric.name for a in svc.alerts if a.template != "expr")
    # A templated alert's own fault needs the generic normal value; raw alerts only get the catalog's healthy state.
    samples = [] if templated else [(labels, value) for name, labels, value in quiet_samples(svc) if name == metric.name]
    value_sets = [_label_values(lb, selectors, paths, [ls[lb.name] for ls, _ in samples if lb.name in ls]) for lb in metric.labels]
    series = []
    for combo in itertools.product(*value_sets):
        labels = dict(zip(metric.label_names, combo, strict=True))
        value = next((v for ls, v in samples if all(labels.get(k) == x for k, x in ls.items())), None)
        series.append(SimSeries(tuple(sorted(labels.items())), error=any(_matches(labels, e) for e in errors),
                                quiet=any(_matches(labels, q) for q in quiet), value=value))
    series.sort(key=lambda s: (not (s.error or s.quiet), s.labels))  # keep the error series if the cut applies
    series = series[:MAX_SERIES]
    series.sort(key=lambda s: s.labels)
    roles = tuple(sorted({a.template for a in svc.alerts if a.metric and a.metric.metric == metric.name}
                         | {a.template for a in svc.alerts if a.errors and a.errors.metric == metric.name}))
    normal, bad = 1.0, 0.0
    if metric.type == "gauge":
        normal, bad = _gauge_values(svc, metric)
    budgets = [s.budget for s in svc.slos if s.kind == "availability" and s.errors and s.errors.metric == metric.name]
    # A service exactly at its error budget burns at 1x, which the slowest burn-rate tier alerts on: stay below it.
    ratio = min([DEFAULT_ERROR_RATIO, *(b / 4 for b in budgets)])
    return SimMetric(metric, tuple(series), normal, bad, _latency(svc, metric), ratio, roles)


def _gauge_values(svc: m.Service, metric: m.Metric) -> tuple[float, float]:
    normal, bad = 50.0, 0.0
    if metric.unit == "bool" or metric.name.endswith("_up"):
        normal, bad = 1.0, 0.0
    for a in svc.alerts:
        if not a.metric or a.metric.metric != metric.name:
            continue
        if a.template in ("threshold", "lag", "backlog") and a.threshold is not None:
            t = a.threshold
            if a.op in (">", ">="):
                normal, bad = (t / 10 if t > 0 else t - 10), (t * 3 if t > 0 else t + 10)
            else:
                normal, bad = (t * 10 if t > 0 else t + 10), (t / 10 if t > 0 else t - 10)
        elif a.template == "drop_percentage":
            normal = max(100.0, (a.min_value or 0) * 4)
            bad = normal * 0.1
        elif a.template == "down":
            normal, bad = 1.0, 0.0
    return normal, bad


def sim_service(svc: m.Service) -> SimService:
    """Everything the demo serves for one catalog."""
    routes = []
    for t in svc.load_tests:
        for r in t.requests:
            path = r.path.split("?", 1)[0]
            routes.append(Route(svc.name, r.method, path, r.expect_status[0] if r.expect_status else 200))
    health = []
    for h in svc.health:
        rest = h.url.split("://", 1)[-1]
        health.append("/" + rest.split("/", 1)[1] if "/" in rest else "/")
    return SimService(svc, tuple(sim_metric(svc, mt) for mt in svc.metrics), tuple(dict.fromkeys(routes)),
                      tuple(dict.fromkeys(health)))

"""From the model to rules: recording rules, alert rules and the test cases that prove them.

The plan is a pure function of the model. The rules, rule-test, runbook and dashboard emitters
all read it, so a PromQL expression is built once and every output agrees on its name.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from obsgen import gotemplate
from obsgen import model as m
from obsgen.catalog.load import RawCatalog
from obsgen.duration import parse_duration
from obsgen.errors import Problem
from obsgen.promql import aggregate, fmt_number, le_matcher, le_value, record_name, sel, selector
from obsgen.slo_windows import load_windows

RATE_WINDOW = "5m"
PROBE_JOB = "blackbox"  # the scrape job of the blackbox exporter in the generated stack
TEST_INTERVAL = 60  # seconds between samples and rule evaluations in generated tests
Labels = tuple[tuple[str, str], ...]


def camel(text: str) -> str:
    """divan-api -> DivanApi."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


# -- rules ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Labels = ()


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_: str
    severity: str
    labels: Labels  # rule labels: severity, service, team, custom
    annotations: Labels  # summary, description, runbook_url
    runbook: m.Runbook
    origin: str  # template or generator that made it
    queries: tuple[str, ...] = ()  # PromQL an operator should look at
    output_labels: tuple[str, ...] = ()  # labels the expression's result carries


@dataclass(frozen=True)
class TestSeries:
    labels: Labels  # includes __name__
    values: str  # promtool expanding notation
    inc: float = 0.0  # per-sample increase, for counters

    @property
    def name(self) -> str:
        return dict(self.labels).get("__name__", "")

    def promtool(self) -> str:
        d = dict(self.labels)
        if "__raw__" in d:
            return d["__raw__"]
        rest = ", ".join(f'{k}="{v}"' for k, v in self.labels if k != "__name__")
        return d["__name__"] + "{" + rest + "}"


@dataclass(frozen=True)
class ExpectedAlert:
    labels: Labels
    annotations: Labels


@dataclass(frozen=True)
class ExprCheck:
    """A recording rule's value at eval time, within 1%: (rec > bool lo) + (rec < bool hi) == 2."""

    record: str
    labels: Labels  # the recorded series' labels (without __name__)
    value: float


@dataclass(frozen=True)
class TestCase:
    name: str
    series: tuple[TestSeries, ...]
    eval_minutes: int
    alertname: str
    expected: tuple[ExpectedAlert, ...]
    checks: tuple[ExprCheck, ...] = ()


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class ServicePlan:
    service: m.Service
    recording: tuple[RecordingRule, ...]
    slo_recording: tuple[RecordingRule, ...]
    alerts: tuple[AlertRule, ...]
    cases: tuple[TestCase, ...]
    panels: tuple[tuple[tuple[str, int, int], tuple[Query, ...]], ...] = ()
    rate_records: tuple[tuple[str, str], ...] = ()  # metric (with suffix) -> its 5m rate record

    def panel_queries(self, slug: str, row: int, panel: int) -> tuple[Query, ...]:
        return dict(self.panels)[(slug, row, panel)]

    def rate_record(self, metric: str) -> str | None:
        return dict(self.rate_records).get(metric)


@dataclass(frozen=True)
class BundlePlan:
    services: tuple[ServicePlan, ...]
    meta_alerts: tuple[AlertRule, ...]
    meta_cases: tuple[TestCase, ...]

    def service(self, name: str) -> ServicePlan:
        return next(p for p in self.services if p.service.name == name)

    @property
    def all_alerts(self) -> tuple[AlertRule, ...]:
        return tuple(a for p in self.services for a in p.alerts) + self.meta_alerts

    @property
    def record_names(self) -> set[str]:
        return {r.record for p in self.services for r in (*p.recording, *p.slo_recording)}


class PlanError(Exception):
    """A catalog passes the schema but cannot be turned into testable rules."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


# -- test input synthesis --------------------------------------------------------------------------

_FALLBACK_VALUES = ("example", "200", "500", "ok", "error", "success", "failure", "GET", "default", "other", "0", "1")


def _satisfies(value: str, matcher: m.Matcher) -> bool:
    if matcher.op == "=":
        return value == matcher.value
    if matcher.op == "!=":
        return value != matcher.value
    try:
        hit = re.fullmatch(matcher.value, value) is not None
    except re.error:
        return False
    return hit if matcher.op == "=~" else not hit


def _candidates(label: m.Label | None, matchers: list[m.Matcher]) -> list[str]:
    out = list(label.values) if label and label.values else []
    for mt in matchers:
        if mt.op == "=":
            out.append(mt.value)
        elif mt.op == "=~":
            out.extend(alt for alt in mt.value.split("|") if re.fullmatch(r"[A-Za-z0-9_./-]*", alt))
            out.append(re.sub(r"\.", "0", mt.value.split("|")[0]).replace("\\", ""))
    if not (label and label.values):
        out.extend(_FALLBACK_VALUES)
    return list(dict.fromkeys(out))


def pick_value(label: m.Label | None, matchers: list[m.Matcher], match: bool = True) -> str | None:
    """A value of the label that satisfies all matchers (or violates at least one when match=False)."""
    for value in _candidates(label, matchers):
        ok = all(_satisfies(value, mt) for mt in matchers)
        if ok == match:
            return value
    return None


class _Synth:
    """Builds test series for one service."""

    def __init__(self, service: m.Service) -> None:
        self.service = service
        self.instance = service.targets[0].addresses[0] if service.targets else f"{service.name}:9090"

    def labels_for(
        self, s: m.Selector, by: tuple[str, ...], path: tuple[str | int, ...], negate: tuple[m.Matcher, ...] = ()
    ) -> dict[str, str]:
        """Labels of a series that the selector matches (and, if negate is set, one of those matchers does not)."""
        metric = self.service.metric(s.metric)
        out = {"job": self.service.job, "instance": self.instance}
        names = sorted({*by, *s.labels, *(mt.label for mt in negate)} - {"job", "instance"})
        for name in names:
            mine = [mt for mt in s.matchers if mt.label == name]
            label = metric.label(name) if metric else None
            if negate and any(mt.label == name for mt in negate):
                bad = [mt for mt in negate if mt.label == name]
                value = next((v for v in _candidates(label, mine + bad) if all(_satisfies(v, x) for x in mine)
                              and not all(_satisfies(v, x) for x in bad)), None)
            else:
                value = pick_value(label, mine)
            if value is None:
                raise PlanError(path, f"cannot find a value of label '{name}' for a test series of '{s.metric}'"
                                      f"{' outside ' + ', '.join(x.promql() for x in negate) if negate else ''}; declare its values")
            out[name] = value
        for mt in s.matchers:
            if mt.label in ("job", "instance"):
                value = pick_value(None, [mt]) if not _satisfies(out[mt.label], mt) else out[mt.label]
                if value is None:
                    raise PlanError(path, f"cannot satisfy matcher {mt.promql()} in a test series")
                out[mt.label] = value
        return out


def counter_series(name: str, labels: dict[str, str], per_min: float, minutes: int) -> TestSeries:
    inc = per_min * TEST_INTERVAL / 60
    values = f"0+{fmt_number(inc)}x{minutes}"
    return TestSeries(tuple(sorted({**labels, "__name__": name}.items())), values, inc)


def gauge_series(name: str, labels: dict[str, str], value: float, minutes: int) -> TestSeries:
    return TestSeries(tuple(sorted({**labels, "__name__": name}.items())), f"{fmt_number(value)}x{minutes}")


def _matches(series: TestSeries, s: m.Selector, suffix: str = "") -> bool:
    d = dict(series.labels)
    return d["__name__"] == s.metric + suffix and all(_satisfies(d.get(mt.label, ""), mt) for mt in s.matchers)


def _group(series: TestSeries, labels: tuple[str, ...]) -> Labels:
    d = dict(series.labels)
    return tuple((k, d[k]) for k in sorted(labels) if d.get(k))


def _rates(series: list[TestSeries], s: m.Selector, labels: tuple[str, ...], suffix: str = "") -> dict[Labels, float]:
    out: dict[Labels, float] = {}
    for ts in series:
        if _matches(ts, s, suffix):
            key = _group(ts, labels)
            out[key] = out.get(key, 0.0) + ts.inc / TEST_INTERVAL
    return out


def _quantile(q: float, buckets: dict[float, float]) -> float:
    """histogram_quantile over cumulative bucket rates."""
    bounds = sorted(buckets)
    count = buckets[bounds[-1]]
    if count == 0:
        return math.nan
    rank = q * count
    prev_bound, prev_count = 0.0, 0.0
    for b in bounds:
        if buckets[b] >= rank:
            if math.isinf(b):
                return bounds[-2]
            return prev_bound + (b - prev_bound) * ((rank - prev_count) / (buckets[b] - prev_count))
        prev_bound, prev_count = b, buckets[b]
    return bounds[-2]


# -- the planner -------------------------------------------------------------------------------------


class _Planner:
    def __init__(self, service: m.Service) -> None:
        self.svc = service
        self.synth = _Synth(service)
        # Keyed by (name, static labels): one name may hold several series told apart by labels (quantile="0.95").
        self.rules: dict[tuple[str, Labels], RecordingRule] = {}
        self.keys: dict[tuple[object, ...], str] = {}
        self.rate_records: dict[str, str] = {}
        self.alerts: list[AlertRule] = []
        self.cases: list[TestCase] = []
        self.panels: list[tuple[tuple[str, int, int], tuple[Query, ...]]] = []
        self.rule_labels = (("service", service.name), ("team", service.team))

    # recording rules ---------------------------------------------------------------------------

    def _register(self, key: tuple[object, ...], name: str, expr: str, labels: Labels = ()) -> str:
        if key in self.keys:
            return self.keys[key]
        final, n = name, 2
        while (final, labels) in self.rules:
            level, metric, op = name.split(":")
            final = f"{level}:{metric}_{n}:{op}"
            n += 1
        self.rules[(final, labels)] = RecordingRule(final, expr, labels)
        self.keys[key] = final
        return final

    def rate_labels(self, metric: m.Metric, suffix: str) -> tuple[str, ...]:
        extra = ("le",) if suffix == "_bucket" else ()
        return ("job", *sorted(metric.label_names), *extra)

    def rate(self, metric_name: str, suffix: str = "") -> tuple[str, tuple[str, ...]]:
        """The 5m rate record of a counter (or a histogram's _bucket/_count), keeping every declared label."""
        metric = self.svc.metric(metric_name)
        assert metric is not None
        labels = self.rate_labels(metric, suffix)
        series = metric_name + suffix
        base = series[: -len("_total")] if series.endswith("_total") else series
        expr = aggregate("sum", labels, f"rate({series}[{RATE_WINDOW}])")
        name = self._register(("rate", series), record_name(labels, base, f"rate{RATE_WINDOW}"), expr)
        self.rate_records[series] = name
        return name, labels

    def ratio(self, errors: m.Selector, totals: tuple[m.Selector, ...], by: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        group = ("job", *sorted(set(by) - {"job"}))
        err_rec, _ = self.rate(errors.metric)
        num = aggregate("sum", group, selector(err_rec, errors.matchers))
        parts = []
        for t in totals:
            rec, _ = self.rate(t.metric)
            parts.append(aggregate("sum", group, selector(rec, t.matchers)))
        den = parts[0] if len(parts) == 1 else "(" + " + ".join(parts) + ")"
        # Before the first error there is no error series: "or ... * 0" makes the ratio read 0, not "no data".
        num = f"(\n  {num}\n  or\n  {den} * 0\n)"
        err_metric = self.svc.metric(errors.metric)
        assert err_metric is not None
        stem = err_metric.base + ("_errors" if any(t.metric == errors.metric for t in totals) else "")
        key = ("ratio", errors, totals, group)
        return self._register(key, record_name(group, stem, f"ratio_rate{RATE_WINDOW}"), f"{num}\n/\n{den}"), group

    def quantile(self, s: m.Selector, q: float, by: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        """A quantile of a histogram: recorded (with a quantile label) when there are no matchers, else inline."""
        group = ("job", *sorted(set(by) - {"job"}))
        bucket_rec, _ = self.rate(s.metric, "_bucket")
        inner = f"histogram_quantile({fmt_number(q)}, {aggregate('sum', (*group, 'le'), selector(bucket_rec, s.matchers))})"
        if s.matchers:
            return inner, group
        metric = self.svc.metric(s.metric)
        assert metric is not None
        name = record_name(group, metric.name, f"histogram_quantile_rate{RATE_WINDOW}")
        return self._register(("quantile", s, q, group), name, inner, (("quantile", fmt_number(q)),)), group

    # alert construction ------------------------------------------------------------------------

    def runbook_url(self, alertname: str) -> str:
        base = self.svc.runbook_base or "https://runbooks.example.invalid"
        return f"{base}/{self.svc.name}/{alertname}.md"

    def make_alert(
        self, name: str, expr: str, for_: str, severity: str, summary: str, description: str, runbook: m.Runbook,
        origin: str, output_labels: tuple[str, ...], extra_labels: Labels = (), queries: tuple[str, ...] = (),
    ) -> AlertRule:
        labels = tuple(sorted({**dict(extra_labels), **dict(self.rule_labels), "severity": severity}.items()))
        annotations = (("description", description), ("runbook_url", self.runbook_url(name)), ("summary", summary))
        return AlertRule(name, expr, for_, severity, labels, annotations, runbook, origin, queries or (expr,), output_labels)

    def expected(self, rule: AlertRule, out_labels: dict[str, str], value: float | None) -> ExpectedAlert:
        labels = {**out_labels, **dict(rule.labels)}
        render_labels = dict(out_labels)  # $labels holds the expression's labels, not the rule's
        ann = tuple(
            (k, gotemplate.render(v, render_labels, value) if k == "description" else v) for k, v in rule.annotations
        )
        return ExpectedAlert(tuple(sorted(labels.items())), ann)

    def add_case(self, name: str, series: list[TestSeries], minutes: int, rule: AlertRule,
                 fired: list[tuple[dict[str, str], float | None]], checks: tuple[ExprCheck, ...] = (),
                 rules: tuple[AlertRule, ...] = ()) -> None:
        expected: list[ExpectedAlert] = []
        for r in rules or (rule,):
            expected.extend(self.expected(r, labels, value) for labels, value in fired)
        self.cases.append(TestCase(name, tuple(series), minutes, rule.name, tuple(expected), checks))

    def check_labels(self, alert: m.Alert, path: tuple[str | int, ...], out_labels: tuple[str, ...]) -> None:
        available = set(out_labels)
        for label in sorted(gotemplate.labels_used(alert.description)):
            if label not in available:
                raise PlanError((*path, "description"),
                                f"description uses $labels.{label}, but the alert expression only yields "
                                f"{', '.join(sorted(available)) or 'no labels'} (rule labels are not visible to templates)")

    def catalog_alert(self, alert: m.Alert, path: tuple[str | int, ...]) -> None:
        handler = {
            "threshold": self._threshold, "lag": self._threshold, "backlog": self._threshold,
            "error_ratio": self._error_ratio, "latency_quantile": self._latency, "down": self._down,
            "absent": self._absent, "drop_percentage": self._drop, "increase": self._increase, "expr": self._expr,
        }[alert.template]
        handler(alert, path)

    def _base(self, alert: m.Alert, expr: str, out: tuple[str, ...], path: tuple[str | int, ...],
              queries: tuple[str, ...] = ()) -> AlertRule:
        self.check_labels(alert, path, out)
        rule = self.make_alert(alert.name, expr, alert.for_, alert.severity, alert.summary, alert.description,
                               alert.runbook, alert.template, out, alert.labels, queries)
        self.alerts.append(rule)
        return rule

    def _eval_minutes(self, alert: m.Alert, window: str | None = None) -> int:
        extra = parse_duration(window) if window else 0
        return int((parse_duration(alert.for_) + extra) // 60) + 3

    def _threshold(self, alert: m.Alert, path: tuple[str | int, ...]) -> None:
        assert alert.metric is not None and alert.threshold is not None
        group = ("job", *sorted(set(alert.by) - {"job"}))
        agg = "max" if alert.op in (">", ">=") else "min"
        expr = f"{aggregate(agg, group, sel(alert.metric))} {alert.op} {fmt_number(alert.threshold)}"
        rule = self._base(alert, expr, group, path, (aggregate(agg, group, sel(alert.metric)),))
        t = alert.threshold
        above_bad = alert.op in (">", ">=")
        high = t * 2 if t > 0 else t + 1
        low = t / 2 if t > 0 else t - 1
        bad, good = (high, low) if above_bad else (low, high)
        minutes = self._eval_minutes(alert)
        labels = self.synth.labels_for(alert.metric, alert.by, path)
        out = {k: labels[k] for k in group}
        self.add_case(f"{alert.name} fires", [gauge_series(alert.metric.metric, labels, bad, minutes + 5)], minutes, rule, [(out, bad)])
        self.add_case(f"{alert.name} stays silent", [gauge_series(alert.metric.metric, labels, good, minutes + 5)], minutes, rule, [])

    def _error_ratio(self, alert: m.Alert, path: tuple[str | int, ...]) -> None:
        assert alert.errors is not None and alert.threshold is not None
        rec, group = self.ratio(alert.errors, alert.total, alert.by)
        expr = f"{rec} > {fmt_number(alert.threshold)}"
        rule = self._base(alert, expr, group, path, (rec, self.rules[(rec, ())].expr))
        minutes = self._eval_minutes(alert, RATE_WINDOW)
        for fire in (True, False):
            series = self._ratio_series(alert.errors, alert.total, alert.by, alert.threshold, fire, minutes + 5, path)
            value, out = self._ratio_value(series, alert.errors, alert.total, group)
            checks = self._rate_checks(series) + ((ExprCheck(rec, out, value),) if fire else ())
            name = f"{alert.name} {'fires' if fire else 'stays silent'}"
            self.add_case(name, series, minutes, rule, [(dict(out), value)] if fire else [], checks)

    def _ratio_series(self, errors: m.Selector, totals: tuple[m.Selector, ...], by: tuple[str, ...], threshold: float,
                      fire: bool, minutes: int, path: tuple[str | int, ...]) -> list[TestSeries]:
        """Error series plus good series, in a ratio that crosses (or stays under) the threshold."""
        good_per_err = 1 if threshold < 0.5 else 0
        if not fire:
            good_per_err = max(3, math.ceil(2 / threshold))
        err_labels = self.synth.labels_for(errors, by, path)
        series = [counter_series(errors.metric, err_labels, 60, minutes)]
        good = 0
        for t in totals:
            if t.metric == errors.metric:
                # The error series already counts here; a good series needs a label value the errors exclude.
                if good_per_err and errors.matchers:
                    labels = self.synth.labels_for(t, by, path, negate=errors.matchers)
                    series.append(counter_series(t.metric, labels, 60 * good_per_err, minutes))
                    good += 1
            elif not any(_matches(s, t) for s in series):
                labels = self.synth.labels_for(t, by, path)
                series.append(counter_series(t.metric, labels, 60 * good_per_err, minutes))
                good += 1
        if not good and not fire:
            raise PlanError(path, "the total only counts the error events, so the ratio is always 1; "
                                  "add the good events to 'total' or a matcher to 'errors'")
        keys = [s.labels for s in series]
        if len(keys) != len(set(keys)):
            raise PlanError(path, "errors and total select the same series; give 'errors' a matcher that 'total' lacks")
        return series

    def _ratio_value(self, series: list[TestSeries], errors: m.Selector, totals: tuple[m.Selector, ...],
                     group: tuple[str, ...]) -> tuple[float, Labels]:
        err = _rates(series, errors, group)
        tot: dict[Labels, float] = {}
        for t in totals:
            for k, v in _rates(series, t, group).items():
                tot[k] = tot.get(k, 0.0) + v
        key = next(iter(err))
        return err[key] / tot[key], key

    def _rate_checks(self, series: list[TestSeries]) -> tuple[ExprCheck, ...]:
        checks = []
        for name in sorted({s.name for s in series}):
            rec = self.rate_records.get(name)
            if rec is None:
                continue
            metric = self.svc.metric(name[: -len("_bucket")] if name.endswith("_bucket") else name)
            assert metric is not None
            labels = self.rate_labels(metric, "_bucket" if name.endswith("_bucket") else "")
            for key, value in sorted(_rates(series, m.Selector(name), labels).items()):
                checks.append(ExprCheck(rec, key, value))
        return tuple(checks)

    def _bucket_series(self, s: m.Selector, by: tuple[str, ...], bucket_index: int, minutes: int,
                       path: tuple[str | int, ...]) -> list[TestSeries]:
        """A histogram's bucket, count and sum series with every observation in one bucket."""
        metric = self.svc.metric(s.metric)
        assert metric is not None
        labels = self.synth.labels_for(s, by, path)
        bounds = [*metric.buckets, math.inf]
        upper = bounds[bucket_index]
        out = []
        for b in bounds:
            rate = 60 if b >= upper else 0
            out.append(counter_series(s.metric + "_bucket", {**labels, "le": "+Inf" if math.isinf(b) else le_value(b)}, rate, minutes))
        out.append(counter_series(s.metric + "_count", labels, 60, minutes))
        mid = upper if not math.isinf(upper) else bounds[-2] * 2
        out.append(counter_series(s.metric + "_sum", labels, 60 * mid, minutes))
        return out

    def _latency(self, alert: m.Alert, path: tuple[str | int, ...]) -> None:
        assert alert.metric is not None and alert.threshold is not None
        metric = self.svc.metric(alert.metric.metric)
        assert metric is not None
        q_expr, group = self.quantile(alert.metric, alert.quantile, alert.by)
        recorded = ":" in q_expr and not q_expr.startswith("histogram_quantile")
        out_labels = (*group, "quantile") if recorded else group
        # Recorded quantiles share one name and differ by their quantile label.
        series = f'{q_expr}{{quantile="{fmt_number(alert.quantile)}"}}' if recorded else q_expr
        expr = f"{series} > {fmt_number(alert.threshold)}"
        rule = self._base(alert, expr, out_labels, path, (series,))
        minutes = self._eval_minutes(alert, RATE_WINDOW)
        bounds = list(metric.buckets)
        bad_index = next(i for i, b in enumerate(bounds) if i > 0 and bounds[i - 1] >= alert.threshold)
        for fire, index in ((True, bad_index), (False, 0)):
            series = self._bucket_series(alert.metric, alert.by, index, minutes + 5, path)
            buckets = {(math.inf if dict(s.labels)["le"] == "+Inf" else float(dict(s.labels)["le"])): s.inc / 60
                       for s in series if s.name.endswith("_bucket")}
            value = _quantile(alert.quantile, buckets)
            labels = dict(series[0].labels)
            out = {k: labels[k] for k in group}
            if recorded:
                out["quantile"] = fmt_number(alert.quantile)
            checks = self._rate_checks(series)
            if recorded and fire:
                checks += (ExprCheck(q_expr, tuple(sorted(out.items())), value),)
            name = f"{alert.name} {'fires' if fire else 'stays silent'}"
            self.add_case(name, series, minutes, rule, [(out, value)] if fire else [], checks)

    def _down(self, alert: m.Alert, path: tuple[str | int, ...]) -> None:
        assert alert.metric is not None
        expr = f"{sel(alert.metric)} == 0"
        labels = self.synth.labels_for(alert.metric, (), path)
        rule = self._base(alert, expr, tuple(sorted(labels)), path, (sel(alert.metric),))
        minutes = self._eval_minutes(alert)
        self.add_case(f"{alert.name} fires", [gauge_series(alert.metric.metric, labels, 0, minutes + 5)], minutes, rule, [(labels, 0.0)])
        self.add_case(f"{alert.name} stays silent", [gauge_series(alert.metric.metric, labels, 1, minutes + 5)], minutes, rule, [])

    def _absent(self, alert: m.Alert, path: tuple[str | int, ...]) -> None:
        assert alert.metric is not None
        expr = f"absent({sel(alert.metric)})"
        out = {mt.label: mt.value for mt in alert.metric.matchers if mt.op == "="}
        rule = self._base(alert, expr, tuple(sorted(out)), path, (sel(alert.metric),))
        minutes = self._eval_minutes(alert)
        labels = self.synth.labels_for(alert.metric, (), path)
        metric = self.svc.metric(alert.metric.metric)
        assert metric is not None
        suffix = "_count" if metric.type in ("histogram", "summary") else ""
        other = gauge_series("obsgen_unrelated_series", {"job": "other"}, 1, minutes + 5)
        present = gauge_series(alert.metric.metric + suffix, labels, 1, minutes + 5)
        if suffix:
            rule = AlertRule(**{**rule.__dict__, "expr": f"absent({sel(alert.metric, suffix=suffix)})"})
            self.alerts[-1] = rule
        self.add_case(f"{alert.name} fires", [other], minutes, rule, [(out, 1.0)])
        self.add_case(f"{alert.name} stays silent", [present], minutes, rule, [])

    def _drop(self, alert: m.Alert, path: tuple[str | int, ...]) -> None:
        assert alert.metric is not None and alert.threshold is not None
        group = ("job", *sorted(set(alert.by) - {"job"}))
        now = aggregate("sum", group, sel(alert.metric))
        before = aggregate("sum", group, f"{sel(alert.metric)} offset {alert.window}")
        expr = f"(\n  {before}\n  -\n  {now}\n)\n/\n{before}\n> {fmt_number(alert.threshold)}"
        if alert.min_value is not None:
            expr += f"\nand\n{before} >= {fmt_number(alert.min_value)}"
        rule = self._base(alert, expr, group, path, (now, before))
        window_min = int(parse_duration(alert.window) // 60)
        drop_at = window_min + 2
        minutes = drop_at + int(parse_duration(alert.for_) // 60)
        high = max(100.0, (alert.min_value or 0) * 2)
        low = high * (1 - (1 + alert.threshold) / 2)
        labels = self.synth.labels_for(alert.metric, alert.by, path)
        out = {k: labels[k] for k in group}
        name = alert.metric.metric
        dropping = TestSeries(tuple(sorted({**labels, "__name__": name}.items())),
                              f"{fmt_number(high)}x{drop_at - 1} {fmt_number(low)}x{minutes + 5 - drop_at}")
        self.add_case(f"{alert.name} fires", [dropping], minutes, rule, [(out, (high - low) / high)])
        self.add_case(f"{alert.name} stays silent", [gauge_series(name, labels, high, minutes + 5)], minutes, rule, [])

    def _increase(self, alert: m.Alert, path: tuple[str | int, ...]) -> None:
        assert alert.metric is not None and alert.threshold is not None
        group = ("job", *sorted(set(alert.by) - {"job"}))
        inner = aggregate("sum", group, f"increase({sel(alert.metric)}[{alert.window}])")
        expr = f"{inner} > {fmt_number(alert.threshold)}"
        rule = self._base(alert, expr, group, path, (inner,))
        window_min = parse_duration(alert.window) / 60
        per_min = math.floor(alert.threshold / window_min) + 1
        minutes = self._eval_minutes(alert, alert.window)
        labels = self.synth.labels_for(alert.metric, alert.by, path)
        out = {k: labels[k] for k in group}
        self.add_case(f"{alert.name} fires", [counter_series(alert.metric.metric, labels, per_min, minutes + 5)], minutes,
                      rule, [(out, per_min * window_min)])
        self.add_case(f"{alert.name} stays silent", [counter_series(alert.metric.metric, labels, 0, minutes + 5)], minutes, rule, [])

    def _expr(self, alert: m.Alert, path: tuple[str | int, ...]) -> None:
        assert alert.expr is not None and alert.firing_test is not None and alert.silent_test is not None
        out = tuple(k for k, _ in alert.firing_test.labels)
        rule = self._base(alert, alert.expr.strip(), out, path)
        for test, fire in ((alert.firing_test, True), (alert.silent_test, False)):
            series = [TestSeries(((("__raw__", s),)), v) for s, v in test.series]
            minutes = int(parse_duration(test.eval_time) // 60)
            self.add_case(f"{alert.name} {'fires' if fire else 'stays silent'}", series, minutes, rule,
                          [(dict(test.labels), None)] if fire else [])

    # generated alerts --------------------------------------------------------------------------

    def target_down(self, target: m.Target) -> None:
        name = f"{camel(target.job)}TargetDown"
        up = f'up{{job="{target.job}"}}'
        expr = f"{up} == 0\nor\nabsent({up})"
        rule = self.make_alert(
            name, expr, "2m", "critical", f"A {target.job} scrape target is down or missing.",
            "Prometheus cannot scrape {{ $labels.job }} {{ $labels.instance }}, or finds no such target.",
            m.Runbook(
                impact=f"No metrics from {target.job}: its other alerts cannot fire and dashboards go blank.",
                diagnosis=(f"Open Prometheus' Targets page and read the scrape error of job {target.job}.",
                           f"Check that the process listens on {', '.join(target.addresses)} and serves {target.metrics_path}.",
                           "Check the scrape credentials if the endpoint needs a token."),
                recovery=("Restart the service or fix its network path.", "Fix the scrape configuration if the target moved."),
            ),
            "target_down", ("instance", "job"), queries=(up,),
        )
        self.alerts.append(rule)
        labels = {"job": target.job, "instance": target.addresses[0]}
        down = gauge_series("up", labels, 0, 10)
        self.add_case(f"{name} fires when the target is down", [down], 5, rule, [(labels, 0.0)])
        other = gauge_series("up", {"job": "some-other-job", "instance": "elsewhere:1"}, 1, 10)
        self.add_case(f"{name} fires when the target is missing", [other], 5, rule, [({"job": target.job}, 1.0)])
        self.add_case(f"{name} stays silent", [gauge_series("up", labels, 1, 10)], 5, rule, [])

    def health_probes(self) -> None:
        if not self.svc.health:
            return
        name = f"{camel(self.svc.name)}HealthCheckFailing"
        probe = f'probe_success{{job="{PROBE_JOB}", service="{self.svc.name}"}}'
        rule = self.make_alert(
            name, f"{probe} == 0", "2m", "critical", f"A health check of {self.svc.name} is failing.",
            "The {{ $labels.check }} check of {{ $labels.service }} at {{ $labels.instance }} fails.",
            m.Runbook(
                impact=f"{self.svc.name} reports itself unhealthy or does not answer; users may see errors.",
                diagnosis=tuple(f"curl -fsS {h.url} and read which dependency fails." for h in self.svc.health),
                recovery=("Restore the failing dependency (database, cache, broker) named in the health response.",
                          "Restart the service if its liveness check fails."),
            ),
            "probe", ("check", "instance", "job", "service"), queries=(probe, f'probe_http_status_code{{service="{self.svc.name}"}}'),
        )
        self.alerts.append(rule)
        h = self.svc.health[0]
        labels = {"job": PROBE_JOB, "instance": h.url, "service": self.svc.name, "check": h.name}
        self.add_case(f"{name} fires", [gauge_series("probe_success", labels, 0, 10)], 5, rule, [(labels, 0.0)])
        self.add_case(f"{name} stays silent", [gauge_series("probe_success", labels, 1, 10)], 5, rule, [])

    def slo(self, slo: m.SLO, index: int) -> list[RecordingRule]:
        windows = load_windows()[slo.window]
        static = (("service", self.svc.name), ("slo", slo.name))
        match = f'{{service="{self.svc.name}", slo="{slo.name}"}}'
        all_windows = sorted({w for a in windows["alerts"] for pair in a["windows"] for w in (pair["long"], pair["short"])},
                             key=parse_duration)
        rules = []
        for w in all_windows:
            if slo.kind == "availability":
                assert slo.errors is not None and slo.total is not None
                # "or vector(0)": before the first failure there is no error series, and the SLI must read 0, not nothing.
                expr = f"(\n  sum(rate({sel(slo.errors)}[{w}]))\n  or\n  vector(0)\n)\n/\nsum(rate({sel(slo.total)}[{w}]))"
            else:
                assert slo.metric is not None and slo.threshold is not None
                count = f"sum(rate({sel(slo.metric, suffix='_count')}[{w}]))"
                fast = f"sum(rate({sel(slo.metric, (le_matcher(slo.threshold),), suffix='_bucket')}[{w}]))"
                expr = f"(\n  {count}\n  -\n  {fast}\n)\n/\n{count}"
            rules.append(RecordingRule(f"slo:sli_error:ratio_rate{w}", expr, static))
        period = slo.window
        rules.append(RecordingRule(f"slo:sli_error:ratio_rate{period}",
                                   f"avg_over_time(slo:sli_error:ratio_rate{all_windows[0]}{match}[{period}])", static))
        rules.append(RecordingRule("slo:objective:ratio", f"vector({fmt_number(slo.objective / 100)})", static))
        rules.append(RecordingRule("slo:error_budget:ratio", f"vector({fmt_number(slo.budget)})", static))
        rules.append(RecordingRule(
            "slo:error_budget_remaining:ratio", f"1 - (slo:sli_error:ratio_rate{period}{match} / {fmt_number(slo.budget)})", static))

        name = f"{camel(self.svc.name)}{camel(slo.name)}ErrorBudgetBurn"
        made: list[AlertRule] = []
        for tier in windows["alerts"]:
            clauses = []
            for pair in tier["windows"]:
                limit = f"({fmt_number(pair['factor'])} * {fmt_number(slo.budget)})"
                clauses.append(f"(\n  slo:sli_error:ratio_rate{pair['long']}{match} > {limit}\n  and\n"
                               f"  slo:sli_error:ratio_rate{pair['short']}{match} > {limit}\n)")
            windows_text = ", ".join(f"{p['long']}/{p['short']} at {fmt_number(p['factor'])}x" for p in tier["windows"])
            what = "latency" if slo.kind == "latency" else "availability"
            rule = self.make_alert(
                name, "\nor\n".join(clauses), tier["for"], tier["severity"],
                f"The {slo.name} SLO of {self.svc.name} is burning its error budget too fast.",
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
                queries=(f"slo:sli_error:ratio_rate{tier['windows'][0]['long']}{match}", f"slo:error_budget_remaining:ratio{match}"),
            )
            made.append(rule)
            self.alerts.append(rule)

        # Test: every event fails, so both tiers fire; then none fail.
        longest_for = max(parse_duration(t["for"]) for t in windows["alerts"])
        minutes = int(longest_for // 60) + 10
        path = ("slos", index)
        if slo.kind == "availability":
            assert slo.errors is not None and slo.total is not None
            err_labels = self.synth.labels_for(slo.errors, (), path)
            fire = [counter_series(slo.errors.metric, err_labels, 60, minutes + 5)]
            if not _matches(fire[0], slo.total):
                fire.append(counter_series(slo.total.metric, self.synth.labels_for(slo.total, (), path), 60, minutes + 5))
            if slo.total.metric == slo.errors.metric:
                good_labels = self.synth.labels_for(slo.total, (), path, negate=slo.errors.matchers)
            else:
                good_labels = self.synth.labels_for(slo.total, (), path)
            calm = [counter_series(slo.total.metric, good_labels, 60, minutes + 5)]
            if slo.errors.metric != slo.total.metric:
                calm.append(counter_series(slo.errors.metric, err_labels, 0, minutes + 5))
        else:
            assert slo.metric is not None and slo.threshold is not None
            metric = self.svc.metric(slo.metric.metric)
            assert metric is not None
            slow = list(metric.buckets).index(slo.threshold) + 1
            fire = self._bucket_series(slo.metric, (), slow, minutes + 5, path)
            calm = self._bucket_series(slo.metric, (), 0, minutes + 5, path)
        out = dict(static)
        checks = tuple(ExprCheck(f"slo:sli_error:ratio_rate{w}", static, 1.0) for w in all_windows)
        checks += (ExprCheck("slo:error_budget_remaining:ratio", static, 1 - 1 / slo.budget),)
        self.add_case(f"{name} fires when every event fails", fire, minutes, made[0], [(out, 1.0)], checks, tuple(made))
        calm_checks = (ExprCheck("slo:error_budget_remaining:ratio", static, 1.0),)
        self.add_case(f"{name} stays silent when no event fails", calm, minutes, made[0], [], calm_checks)
        return rules

    # dashboards -----------------------------------------------------------------------------------

    def panel(self, panel: m.Panel) -> tuple[Query, ...]:
        job = 'job=~"$job"'
        if panel.kind == "rate":
            assert panel.metric is not None
            rec, _ = self.rate(panel.metric.metric)
            group = tuple(panel.by)
            inner = selector(rec, (*panel.metric.matchers, m.Matcher("job", "=~", "$job")))
            legend = panel.legend or (" ".join("{{" + b + "}}" for b in group) if group else panel.title)
            return (Query(aggregate(panel.aggregate, group, inner), legend),)
        if panel.kind == "ratio":
            assert panel.errors is not None
            rec, group = self.ratio(panel.errors, panel.total, panel.by)
            legend = panel.legend or " ".join("{{" + b + "}}" for b in group)
            return (Query(f"{rec}{{{job}}}", legend),)
        if panel.kind == "quantile":
            assert panel.metric is not None
            out = []
            for q in panel.quantiles:
                expr, group = self.quantile(panel.metric, q, panel.by)
                label = f"p{fmt_number(q * 100)}"
                legend = panel.legend or (label + (" " + " ".join("{{" + b + "}}" for b in panel.by) if panel.by else ""))
                if ":" in expr and not expr.startswith("histogram_quantile"):
                    # The record keeps job; a panel over several jobs shows the worst one.
                    expr = aggregate("max", ("quantile", *panel.by), f'{expr}{{{job}, quantile="{fmt_number(q)}"}}')
                else:
                    bucket_rec = self.rate_records[panel.metric.metric + "_bucket"]
                    inner = selector(bucket_rec, (*panel.metric.matchers, m.Matcher("job", "=~", "$job")))
                    expr = f"histogram_quantile({fmt_number(q)}, {aggregate('sum', (*panel.by, 'le'), inner)})"
                out.append(Query(expr, legend))
            return tuple(out)
        if panel.kind in ("value", "stat"):
            assert panel.metric is not None
            inner = selector(panel.metric.metric, (*panel.metric.matchers, m.Matcher("job", "=~", "$job")))
            legend = panel.legend or (" ".join("{{" + b + "}}" for b in panel.by) if panel.by else panel.title)
            return (Query(aggregate(panel.aggregate, panel.by, inner), legend),)
        assert panel.expr is not None
        return (Query(panel.expr.strip(), panel.legend or panel.title),)


def plan_service(service: m.Service) -> ServicePlan:
    """Every rule and test case for one service."""
    planner = _Planner(service)
    # Order: dashboards' needs do not change alert rule names, so alerts register first.
    for i, alert in enumerate(service.alerts):
        planner.catalog_alert(alert, ("alerts", i))
    for target in service.targets:
        planner.target_down(target)
    planner.health_probes()
    slo_rules: list[RecordingRule] = []
    for i, slo in enumerate(service.slos):
        slo_rules.extend(planner.slo(slo, i))
    for dash in service.dashboards:
        for r, row in enumerate(dash.rows):
            for p, panel in enumerate(row.panels):
                planner.panels.append(((dash.slug, r, p), planner.panel(panel)))
    return ServicePlan(
        service=service,
        recording=tuple(planner.rules.values()),
        slo_recording=tuple(slo_rules),
        alerts=tuple(planner.alerts),
        cases=tuple(planner.cases),
        panels=tuple(planner.panels),
        rate_records=tuple(sorted(planner.rate_records.items())),
    )


def log_alert_rule(service: m.Service, alert: m.LogAlert) -> AlertRule:
    """A catalog log alert as a LogQL alert rule; the Loki ruler file and the runbook both read this expression."""
    planner = _Planner(service)
    # Per service, as `by (job)` is for metrics: OTLP logs carry no job label in Loki, service_name is its twin.
    query = f"sum by (service_name) (count_over_time({alert.selector} |~ `{alert.pattern}` [{alert.window}]))"
    return planner.make_alert(alert.name, f"{query} > {alert.threshold:g}", alert.for_, alert.severity, alert.summary,
                              alert.description, alert.runbook, "log", ("service_name",), queries=(query,))


def watchdog() -> tuple[AlertRule, TestCase]:
    rule = AlertRule(
        "Watchdog", "vector(1)", "0m", "info", (("service", "obsgen"), ("severity", "info"), ("team", "platform")),
        (("description", "Always firing, so the alerting pipeline is proven alive; its absence at the dead-man's-switch receiver is the alarm."),
         ("runbook_url", "https://runbooks.example.invalid/obsgen/Watchdog.md"),
         ("summary", "The alerting pipeline is alive.")),
        m.Runbook(
            impact="None while it fires. If the dead-man's switch stops receiving it, alerts are not being delivered.",
            diagnosis=("Check Prometheus' /api/v1/alertmanagers and Alertmanager's status page.",),
            recovery=("Restore the Prometheus to Alertmanager path, then the Alertmanager to receiver path.",),
        ),
        "watchdog", (),
    )
    expected = ExpectedAlert(rule.labels, tuple((k, gotemplate.render(v, {}, 1.0)) for k, v in rule.annotations))
    case = TestCase("Watchdog always fires", (gauge_series("obsgen_unrelated_series", {"job": "x"}, 1, 5),), 2,
                    "Watchdog", (expected,))
    return rule, case


# Plans by bundle identity: hashing a whole frozen bundle per emitter call cost more than planning it.
_PLANS: dict[int, tuple[m.Bundle, BundlePlan]] = {}
_SERVICE_PLANS: dict[int, tuple[m.Service, ServicePlan]] = {}


def _plan_service_cached(service: m.Service) -> ServicePlan:
    hit = _SERVICE_PLANS.get(id(service))
    if hit is not None and hit[0] is service:
        return hit[1]
    plan = plan_service(service)
    _SERVICE_PLANS[id(service)] = (service, plan)
    return plan


def plan_bundle(bundle: m.Bundle) -> BundlePlan:
    """The plan for every service, plus the stack's own alerts (computed once per bundle object)."""
    hit = _PLANS.get(id(bundle))
    if hit is not None and hit[0] is bundle:
        return hit[1]
    rule, case = watchdog()
    plan = BundlePlan(tuple(_plan_service_cached(s) for s in bundle.services), (rule,), (case,))
    _PLANS.clear()
    _PLANS[id(bundle)] = (bundle, plan)
    _SERVICE_PLANS.clear()
    return plan


def check_references(bundle: m.Bundle, raws: dict[str, RawCatalog]) -> list[Problem]:
    """Problems only the plan can see: untestable alerts, unknown recording rules, labels a description lacks."""
    problems: list[Problem] = []

    def report(raw: RawCatalog, path: tuple[str | int, ...], message: str) -> None:
        from obsgen.catalog.load import format_path

        problems.append(Problem(raw.file, raw.line_of(path), format_path(path), message))

    plans: list[ServicePlan] = []
    for svc in bundle.services:
        raw = raws[svc.name]
        try:
            plans.append(_plan_service_cached(svc))
        except PlanError as exc:
            report(raw, exc.path, exc.message)
    if problems:
        return problems
    known = {r.record for p in plans for r in (*p.recording, *p.slo_recording)}
    for plan in plans:
        raw = raws[plan.service.name]
        for i, alert in enumerate(plan.service.alerts):
            if alert.expr:
                for name in sorted(set(re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+", alert.expr))):
                    if name not in known:
                        report(raw, ("alerts", i, "expr"), f"recording rule '{name}' is not generated by any catalog")
        alert_names = [a.name for a in plan.alerts]
        for i, alert in enumerate(plan.service.alerts):
            if alert_names.count(alert.name) > 1:
                report(raw, ("alerts", i, "name"), f"alert name '{alert.name}' clashes with a generated alert")
    return problems


__all__ = ["BundlePlan", "ServicePlan", "plan_bundle", "plan_service"]

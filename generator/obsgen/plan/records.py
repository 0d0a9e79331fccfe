"""Recording rules of one service: 5m rates of counters, error ratios and histogram quantiles, each named once.

Every alert and panel that needs a rate asks the Recorder, so one counter is recorded once, under the
name naming.py gives it, and every reader agrees on that name.
"""

from __future__ import annotations

from obsgen import model as m
from obsgen import naming
from obsgen.naming import RATE_WINDOW
from obsgen.plan.types import Labels, RecordingRule
from obsgen.promql import Expr, Paren, Scope, agg, binop, either, eq, fmt_number, histogram_quantile, rate, ratio, render, vector
from obsgen.promql import total as sum_of


class Recorder:
    """The recording rules of one service, deduplicated by what they compute."""

    def __init__(self, service: m.Service, scope: Scope) -> None:
        self.svc = service
        self.scope = scope
        # Keyed by (name, static labels): one name may hold several series told apart by labels (quantile="0.95").
        self.rules: dict[tuple[str, Labels], RecordingRule] = {}
        self.keys: dict[tuple[object, ...], str] = {}
        self.rate_records: dict[str, str] = {}

    def register(self, key: tuple[object, ...], name: str, expr: Expr, labels: Labels = ()) -> str:
        if key in self.keys:
            return self.keys[key]
        final, n = name, 2
        while (final, labels) in self.rules:
            final = naming.numbered(name, n)
            n += 1
        self.rules[(final, labels)] = RecordingRule(final, render(expr, self.scope), labels)
        self.keys[key] = final
        return final

    def expr_of(self, name: str) -> str:
        return self.rules[(name, ())].expr

    @staticmethod
    def rate_labels(metric: m.Metric, suffix: str) -> tuple[str, ...]:
        extra = ("le",) if suffix == "_bucket" else ()
        return ("job", *sorted(metric.label_names), *extra)

    def rate(self, metric_name: str, suffix: str = "") -> tuple[str, tuple[str, ...]]:
        """The 5m rate record of a counter (or a histogram's _bucket/_count), keeping every declared label."""
        metric = self.svc.metric(metric_name)
        assert metric is not None
        labels = self.rate_labels(metric, suffix)
        series = metric_name + suffix
        expr = agg("sum", rate(vector(series), RATE_WINDOW), labels)
        name = self.register(("rate", series), naming.rate_record(labels, series), expr)
        self.rate_records[series] = name
        return name, labels

    def ratio(self, errors: m.Selector, totals: tuple[m.Selector, ...], by: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        """errors / total per group, from the rate records; reads 0 (not "no data") before the first error."""
        group = ("job", *sorted(set(by) - {"job"}))
        err_rec, _ = self.rate(errors.metric)
        num = agg("sum", vector(err_rec, errors.matchers), group)
        den = sum_of(agg("sum", vector(self.rate(t.metric)[0], t.matchers), group) for t in totals)
        # Before the first error there is no error series: "or ... * 0" makes the ratio read 0, not "no data".
        guarded = Paren(either(num, binop("*", den, 0)), block=True)
        err_metric = self.svc.metric(errors.metric)
        assert err_metric is not None
        stem = err_metric.base + ("_errors" if any(t.metric == errors.metric for t in totals) else "")
        key = ("ratio", errors, totals, group)
        return self.register(key, naming.ratio_record(group, stem), ratio(guarded, den)), group

    def quantile(self, s: m.Selector, q: float, by: tuple[str, ...]) -> tuple[Expr, tuple[str, ...], str | None]:
        """A quantile of a histogram: recorded (with a quantile label) when there are no matchers, else inline.

        Returns the expression to read, its grouping and the record name (None when inline).
        """
        group = ("job", *sorted(set(by) - {"job"}))
        bucket_rec, _ = self.rate(s.metric, "_bucket")
        inner = histogram_quantile(q, agg("sum", vector(bucket_rec, s.matchers), (*group, "le")))
        if s.matchers:
            return inner, group, None
        metric = self.svc.metric(s.metric)
        assert metric is not None
        quantile = fmt_number(q)
        name = self.register(("quantile", s, q, group), naming.quantile_record(group, metric.name), inner,
                             (("quantile", quantile),))
        return vector(name, (eq("quantile", quantile),)), group, name

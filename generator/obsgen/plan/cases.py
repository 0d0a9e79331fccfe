"""Test inputs that take some thought: error/total series in a chosen ratio, histograms with every observation
in one bucket, and the recorded values promtool should read back from them."""

from __future__ import annotations

import math

from obsgen import model as m
from obsgen.plan.draft import Draft
from obsgen.plan.synth import counter_series, matches, rates
from obsgen.plan.types import ExprCheck, Labels, Path, PlanError, TestSeries
from obsgen.promql import le_value


def ratio_series(d: Draft, errors: m.Selector, totals: tuple[m.Selector, ...], by: tuple[str, ...], threshold: float,
                 fire: bool, minutes: int, path: Path) -> list[TestSeries]:
    """Error series plus good series, in a ratio that crosses (or stays under) the threshold."""
    good_per_err = 1 if threshold < 0.5 else 0
    if not fire:
        good_per_err = max(3, math.ceil(2 / threshold))
    err_labels = d.synth.labels_for(errors, by, path)
    series = [counter_series(errors.metric, err_labels, 60, minutes)]
    good = 0
    holds_errors = any(t.metric == errors.metric for t in totals)
    for t in totals:
        if t.metric == errors.metric:
            # The error series already counts here; a good series needs a label value the errors exclude.
            if good_per_err and errors.matchers:
                own = tuple(mt for mt in errors.matchers if mt not in t.matchers)  # what makes an event an error
                labels = d.synth.labels_for(t, by, path, negate=own)
                series.append(counter_series(t.metric, labels, 60 * good_per_err, minutes))
                good += 1
        elif not any(matches(s, t) for s in series):
            # The error series' by() group, so the test has a ratio to read; errors count a subset of total, so a
            # total of another metric counts at least the error events.
            labels = {**d.synth.labels_for(t, by, path), **{k: err_labels[k] for k in by if k in err_labels}}
            per = good_per_err if holds_errors else max(good_per_err, 1)
            holds_errors = True
            series.append(counter_series(t.metric, labels, 60 * per, minutes))
            good += 1
    if not good and not fire:
        raise PlanError(path, "the total only counts the error events, so the ratio is always 1; "
                              "add the good events to 'total' or a matcher to 'errors'")
    keys = [s.labels for s in series]
    if len(keys) != len(set(keys)):
        raise PlanError(path, "errors and total select the same series; give 'errors' a matcher that 'total' lacks")
    return series


def ratio_value(series: list[TestSeries], errors: m.Selector, totals: tuple[m.Selector, ...],
                group: tuple[str, ...]) -> tuple[float, Labels]:
    """The error ratio the recorded rule will read from the series, and the group it reads it for."""
    err = rates(series, errors, group)
    tot: dict[Labels, float] = {}
    for t in totals:
        for k, v in rates(series, t, group).items():
            tot[k] = tot.get(k, 0.0) + v
    key = next(iter(err))
    return err[key] / tot[key], key


def rate_checks(d: Draft, series: list[TestSeries]) -> tuple[ExprCheck, ...]:
    """The value every rate record over these series should hold."""
    checks = []
    for name in sorted({s.name for s in series}):
        rec = d.records.rate_records.get(name)
        if rec is None:
            continue
        bucket = name.endswith("_bucket")
        metric = d.svc.metric(name[: -len("_bucket")] if bucket else name)
        assert metric is not None
        labels = d.records.rate_labels(metric, "_bucket" if bucket else "")
        for key, value in sorted(rates(series, m.Selector(name), labels).items()):
            checks.append(ExprCheck(rec, key, value))
    return tuple(checks)


def bucket_series(d: Draft, s: m.Selector, by: tuple[str, ...], bucket_index: int, minutes: int,
                  path: Path) -> list[TestSeries]:
    """A histogram's bucket, count and sum series with every observation in one bucket."""
    metric = d.svc.metric(s.metric)
    assert metric is not None
    labels = d.synth.labels_for(s, by, path)
    bounds = [*metric.buckets, math.inf]
    upper = bounds[bucket_index]
    out = []
    for b in bounds:
        per_min = 60 if b >= upper else 0
        le = "+Inf" if math.isinf(b) else le_value(b)
        out.append(counter_series(s.metric + "_bucket", {**labels, "le": le}, per_min, minutes))
    out.append(counter_series(s.metric + "_count", labels, 60, minutes))
    mid = upper if not math.isinf(upper) else bounds[-2] * 2
    out.append(counter_series(s.metric + "_sum", labels, 60 * mid, minutes))
    return out

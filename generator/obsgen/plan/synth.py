"""Test input synthesis and the small evaluator that predicts what promtool will compute from it.

Generated rule tests state every alert's labels, annotations and recorded values exactly, so the plan
needs series that a selector matches (or misses) and the rates and quantiles Prometheus will read.
"""

from __future__ import annotations

import math
import re
import sys

from obsgen import model as m
from obsgen.plan.types import Labels, Path, PlanError, TestSeries, label_set
from obsgen.promql import Scope, fmt_number, matcher

TEST_INTERVAL = 60  # seconds between samples and rule evaluations in generated tests
_FALLBACK_VALUES = ("example", "200", "500", "ok", "error", "success", "failure", "GET", "default", "other", "0", "1")


def satisfies(value: str, mt: m.Matcher) -> bool:
    """Whether a label value satisfies a matcher, as Prometheus decides it."""
    if mt.op == "=":
        return value == mt.value
    if mt.op == "!=":
        return value != mt.value
    try:
        hit = re.fullmatch(mt.value, value) is not None
    except re.error:
        return False
    return hit if mt.op == "=~" else not hit


def candidates(label: m.Label | None, matchers: list[m.Matcher]) -> list[str]:
    """Values worth trying for a label: declared ones, the matchers' own, then common fallbacks."""
    out = list(label.values) if label and label.values else []
    for mt in matchers:
        if mt.op == "=":
            out.append(mt.value)
        elif mt.op == "=~":
            out.extend(alt for alt in mt.value.split("|") if re.fullmatch(r"[A-Za-z0-9_./-]*", alt))
            out.extend(re.sub(r"\\(.)", r"\1", alt) for alt in mt.value.split("|"))  # escaped literals; all are checked
            out.append(re.sub(r"\.", "0", mt.value.split("|")[0]).replace("\\", ""))
    if not (label and label.values):
        out.extend(_FALLBACK_VALUES)
    return list(dict.fromkeys(out))


def pick_value(label: m.Label | None, matchers: list[m.Matcher], match: bool = True) -> str | None:
    """A value of the label that satisfies all matchers (or violates at least one when match=False)."""
    for value in candidates(label, matchers):
        ok = all(satisfies(value, mt) for mt in matchers)
        if ok == match:
            return value
    return None


def scope_values(scope: Scope) -> dict[str, str]:
    """A value for each label the scope adds (its selector's and its grouping labels): what every test series carries.

    Raises ValueError when no value satisfies the selector's matchers of a label (the project file checks this first).
    """
    out: dict[str, str] = {}
    for label in dict.fromkeys((*(mt.label for mt in scope.selector), *scope.keep)):
        mine = [mt for mt in scope.selector if mt.label == label]
        value = pick_value(None, mine)
        if value is None:
            raise ValueError(f"no value of label '{label}' satisfies {', '.join(matcher(mt) for mt in mine)}")
        out[label] = value
    return out


class Synth:
    """Builds test series for one service."""

    def __init__(self, service: m.Service) -> None:
        self.service = service
        self.instance = service.targets[0].addresses[0] if service.targets else f"{service.name}:9090"

    def labels_for(self, s: m.Selector, by: tuple[str, ...], path: Path, negate: tuple[m.Matcher, ...] = ()) -> dict[str, str]:
        """Labels of a series that the selector matches (and, if negate is set, one of those matchers does not)."""
        metric = self.service.metric(s.metric)
        out = {"job": self.service.job, "instance": self.instance}
        names = sorted({*by, *s.labels, *(mt.label for mt in negate)} - {"job", "instance"})
        for name in names:
            mine = [mt for mt in s.matchers if mt.label == name]
            label = metric.label(name) if metric else None
            if negate and any(mt.label == name for mt in negate):
                bad = [mt for mt in negate if mt.label == name]
                value = next((v for v in candidates(label, mine + bad) if all(satisfies(v, x) for x in mine)
                              and not all(satisfies(v, x) for x in bad)), None)
            else:
                value = pick_value(label, mine)
            if value is None:
                outside = f" outside {', '.join(matcher(x) for x in negate)}" if negate else ""
                raise PlanError(path, f"cannot find a value of label '{name}' for a test series of '{s.metric}'"
                                      f"{outside}; declare its values")
            out[name] = value
        for mt in s.matchers:
            if mt.label in ("job", "instance"):
                value = pick_value(None, [mt]) if not satisfies(out[mt.label], mt) else out[mt.label]
                if value is None:
                    raise PlanError(path, f"cannot satisfy matcher {matcher(mt)} in a test series")
                out[mt.label] = value
        return out


def counter_series(name: str, labels: dict[str, str], per_min: float, minutes: int) -> TestSeries:
    """A counter growing by per_min every minute, in promtool's expanding notation."""
    inc = per_min * TEST_INTERVAL / 60
    return TestSeries(label_set({**labels, "__name__": name}), sys.intern(f"0+{fmt_number(inc)}x{minutes}"), inc)


def gauge_series(name: str, labels: dict[str, str], value: float, minutes: int) -> TestSeries:
    """A gauge holding one value."""
    return TestSeries(label_set({**labels, "__name__": name}), sys.intern(f"{fmt_number(value)}x{minutes}"))


def step_series(name: str, labels: dict[str, str], steps: tuple[tuple[float, int], ...]) -> TestSeries:
    """A gauge holding each value for a number of samples: ((100, 6), (40, 9)) -> '100x6 40x9'."""
    return TestSeries(label_set({**labels, "__name__": name}),
                      sys.intern(" ".join(f"{fmt_number(v)}x{n}" for v, n in steps)))


def matches(series: TestSeries, s: m.Selector, suffix: str = "") -> bool:
    """Whether a synthetic series is selected by a catalog selector."""
    d = dict(series.labels)
    return d["__name__"] == s.metric + suffix and all(satisfies(d.get(mt.label, ""), mt) for mt in s.matchers)


def group_key(series: TestSeries, labels: tuple[str, ...]) -> Labels:
    """The series' values of the grouping labels (what `sum by` keeps)."""
    d = dict(series.labels)
    return tuple((k, d[k]) for k in sorted(labels) if d.get(k))


def rates(series: list[TestSeries], s: m.Selector, labels: tuple[str, ...], suffix: str = "") -> dict[Labels, float]:
    """sum by (labels) (rate(selector[w])) over the synthetic series, per second."""
    out: dict[Labels, float] = {}
    for ts in series:
        if matches(ts, s, suffix):
            key = group_key(ts, labels)
            out[key] = out.get(key, 0.0) + ts.inc / TEST_INTERVAL
    return out


def quantile(q: float, buckets: dict[float, float]) -> float:
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

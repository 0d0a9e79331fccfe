"""Test inputs for a raw-query SLI: the series one bad event and one good event touch, found by trying candidate
series against the steady evaluator (plan/steady.py) until the SLI reads exactly 1 for bad events only, nothing or 0
for good events only, and exactly one half for one of each. What is proven here is what the generated rule tests
assert; an SLI whose shape the evaluator does not model gets no guess but a located request for test inputs.

The same inputs drive the equivalence test against Sloth, mixed in any proportion over time.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from obsgen import model as m
from obsgen.plan.exprwalk import children, matcher_values, numbers, selectors
from obsgen.plan.steady import Evaluator, Labels, Steady, Unsupported
from obsgen.plan.synth import Synth
from obsgen.plan.types import Path, PlanError
from obsgen.promql import Call, Expr, Paren, Vector, le_value, ratio, render, windowed
from obsgen.promql_parse import PromQLSyntaxError, to_expr

WINDOW = "5m"
MAX_TRIES = 400  # candidate combinations tried per class before giving up
MAX_BAD = 10000  # bad events per good one at most, when an SLI needs a good event to read anything
_SUFFIXES = ("_bucket", "_count", "_sum")


@dataclass(frozen=True)
class Family:
    """Series of one metric (a histogram's _bucket, _count and _sum are one family)."""

    base: str
    kind: str  # counter | gauge | histogram
    selectors: tuple[Vector, ...]


@dataclass(frozen=True)
class Event:
    """What one event of a class touches: counter series and their increments, or gauge series and their values."""

    counters: tuple[tuple[Labels, float], ...] = ()
    gauges: tuple[tuple[Labels, float], ...] = ()

    def steady(self, rate: float, client: str = "") -> list[Steady]:
        """The event's series at `rate` events per second (gauges hold their value); `client` tells gauge series apart."""
        tag = (("client", client),) if client else ()
        out = [Steady(labels, True, inc * rate) for labels, inc in self.counters]
        out += [Steady(tuple(sorted((*labels, *tag))), False, value) for labels, value in self.gauges]
        return out


@dataclass(frozen=True)
class QueryInputs:
    """A bad event and a good event of a raw-query SLI: one of each reads exactly 1/2, good ones alone 0 or nothing.

    `alone` says whether bad events alone read 1; some SLIs read nothing without a good event (1 - good/total, as
    OpenSLO ratios are written), and their firing input needs a few good events among the bad.
    """

    bad: Event
    good: Event
    fired: tuple[Labels, ...]  # the label sets of the SLI's samples
    alone: bool

    def failing(self, limit: float) -> tuple[int, float]:
        """Bad events per good one for an input whose SLI reads above `limit` (the fastest tier's threshold), and
        what it reads: every event bad when bad events alone read 1, else just enough good ones to give a reading."""
        if self.alone:
            return 1, 1.0
        k = 1
        while k / (k + 1) <= limit and k < MAX_BAD:
            k += 1
        return k, k / (k + 1)

    def steady(self, bad: int, good: int) -> list[Steady]:
        """`bad` bad and `good` good events per second; gauge SLIs get one client per event, told apart by label."""
        series = [s for i in range(bad) for s in self.bad.steady(1.0, f"b{i}" if self.bad.gauges else "")]
        series += [s for i in range(good) for s in self.good.steady(1.0, f"g{i}" if self.good.gauges else "")]
        return _merge(series)


def sli_expr(slo: m.SLO, window: str) -> Expr:
    """The SLI of a raw-query SLO over one window, as the rules record it: (errors) / (total), or the ratio as written."""
    assert slo.queries is not None
    q = slo.queries
    if q.error_ratio:
        return Paren(windowed(q.error_ratio, window))
    return ratio(Paren(windowed(q.errors, window)), Paren(windowed(q.total, window)))


def _merge(steady: list[Steady]) -> list[Steady]:
    """Series with the same labels add up (a histogram's _count touched by both classes, say)."""
    out: dict[tuple[Labels, bool], float] = {}
    for s in steady:
        out[(s.labels, s.counter)] = out.get((s.labels, s.counter), 0.0) + s.value
    return [Steady(labels, counter, value) for (labels, counter), value in out.items()]


def _families(expr: Expr, svc: m.Service) -> list[Family]:
    by_base: dict[str, list[Vector]] = {}
    for v in selectors(expr):
        if ":" in v.metric or not v.metric:
            raise Unsupported(f"recording rule or nameless selector {v.metric!r}")
        base = next((v.metric[: -len(s)] for s in _SUFFIXES if v.metric.endswith(s)
                     and (svc.metric(v.metric[: -len(s)]) or s == "_bucket")), v.metric)
        by_base.setdefault(base, []).append(v)
    out = []
    for base, vs in by_base.items():
        declared = svc.metric(base)
        if any(v.metric.endswith("_bucket") for v in vs) or (declared and declared.type == "histogram"):
            kind = "histogram"
        elif declared:
            kind = "gauge" if declared.type == "gauge" else "counter"
        else:
            kind = "counter" if base.endswith(("_total", "_count", "_sum")) or _rated(expr, base) else "gauge"
        out.append(Family(base, kind, tuple(vs)))
    return out


def _rated(expr: Expr, metric: str) -> bool:
    """Whether a selector of the metric sits inside rate(), irate() or increase(): a counter, not a gauge."""

    def walk(node: object, inside: bool) -> bool:
        if isinstance(node, Vector):
            return inside and node.metric == metric
        inside = inside or (isinstance(node, Call) and node.func in ("rate", "irate", "increase"))
        return any(walk(child, inside) for child in children(node))

    return walk(expr, False)


def _label_sets(family: Family, synth: Synth, path: Path) -> list[dict[str, str]]:
    """Series labels to try: each selector satisfied, and each satisfied while another's matcher fails."""
    out: list[dict[str, str]] = []
    matchers = [mt for v in family.selectors for mt in v.matchers if mt.label != "le"]
    for v in family.selectors:
        sel = m.Selector(family.base, tuple(mt for mt in v.matchers if mt.label != "le"))
        tries: list[tuple[m.Matcher, ...]] = [(), *((mt,) for mt in matchers if mt not in sel.matchers)]
        for negate in tries:
            try:
                labels = synth.labels_for(sel, (), path, negate=negate)
            except PlanError:
                continue
            if labels not in out:
                out.append(labels)
    return out


def _candidates(family: Family, expr: Expr, synth: Synth, path: Path) -> list[Event]:
    """Every event of a family worth trying."""
    events: list[Event] = []
    for labels in _label_sets(family, synth, path):
        if family.kind == "counter":
            name = family.selectors[0].metric if len({v.metric for v in family.selectors}) == 1 else family.base
            events.append(Event(counters=((_with_name(labels, name), 1.0),)))
        elif family.kind == "gauge":
            for value in _gauge_values(expr):
                events.append(Event(gauges=((_with_name(labels, family.base), value),)))
        else:
            events += [_observation(family.base, labels, v, _bounds(expr)) for v in _observed(_bounds(expr))]
    return events


def _with_name(labels: dict[str, str], name: str) -> Labels:
    return tuple(sorted({**labels, "__name__": name}.items()))


def _gauge_values(expr: Expr) -> list[float]:
    values = [0.0, 1.0]
    for c in numbers(expr):
        values += [c / 2, c + 1, c * 2 + 1, c - 1]
    return list(dict.fromkeys(v for v in values if math.isfinite(v)))


def _bounds(expr: Expr) -> list[float]:
    out = []
    for text in matcher_values(expr, "le"):
        try:
            out.append(float(text))
        except ValueError:
            continue
    return sorted(set(b for b in out if math.isfinite(b)))


def _observed(bounds: list[float]) -> list[float]:
    """Observation values on every side of every bound: below the first, between each pair, above the last."""
    if not bounds:
        return [1.0]
    points = [bounds[0] / 2, *((a + b) / 2 for a, b in itertools.pairwise(bounds)), bounds[-1] * 2 + 1]
    return points


def _observation(base: str, labels: dict[str, str], value: float, bounds: list[float]) -> Event:
    counters = [(_with_name({**labels, "le": le_value(b)}, base + "_bucket"), 1.0 if value <= b else 0.0) for b in bounds]
    counters.append((_with_name({**labels, "le": "+Inf"}, base + "_bucket"), 1.0))
    counters += [(_with_name(labels, base + "_count"), 1.0), (_with_name(labels, base + "_sum"), value)]
    return Event(counters=tuple(counters))


def _combine(events: tuple[Event, ...]) -> Event:
    return Event(tuple(c for e in events for c in e.counters), tuple(g for e in events for g in e.gauges))


def _reads(ev: Evaluator, expr: Expr) -> list[tuple[Labels, float]]:
    return [(lb, v) for lb, v in ev.instant(expr) if not math.isnan(v)]


def query_inputs(svc: m.Service, slo: m.SLO, synth: Synth, path: Path) -> QueryInputs:
    """A bad and a good event for the SLO's queries; raises PlanError when none can be proven."""
    why = "cannot synthesise rule-test inputs from these queries"
    hint = "; add a 'test' with firing and silent input series"
    try:
        expr = to_expr(_text(slo))
        families = _families(expr, svc)
        options = [_candidates(f, expr, synth, path) for f in families]
        events = [_combine(c) for c in itertools.islice(itertools.product(*options), MAX_TRIES)]
        ev = Reader(expr)
        goods = [e for e in events if all(v == 0.0 for _, v in ev.read(e))]
        for needs_alone in (True, False):  # prefer a bad event that reads 1 on its own
            for good in goods:
                for bad in (e for e in events if e != good):
                    alone = ev.read(bad)
                    mixed = ev.read(bad, good)
                    if (bool(alone) == needs_alone and all(v == 1.0 for _, v in alone) and mixed
                            and all(abs(v - 0.5) < 1e-12 for _, v in mixed) and len(mixed) == len({lb for lb, _ in mixed})):
                        return QueryInputs(bad, good, tuple(lb for lb, _ in mixed), needs_alone)
    except (Unsupported, PromQLSyntaxError) as exc:
        raise PlanError(path, f"{why} ({exc}){hint}") from None
    raise PlanError(path, f"{why}: found no series where one failing and one good event read 1/2 and good events alone "
                          f"read 0{hint}")


class Reader:
    """What the SLI reads from events of each class (gauge clients told apart), NaN dropped."""

    def __init__(self, expr: Expr) -> None:
        self.expr = expr

    def read(self, event: Event, other: Event | None = None, count: int = 1) -> list[tuple[Labels, float]]:
        steady = [s for i in range(count) for s in event.steady(1.0, f"b{i}")]
        steady += other.steady(1.0, "g0") if other is not None else []
        return _reads(Evaluator(_merge(steady)), self.expr)


def _text(slo: m.SLO) -> str:
    return render(sli_expr(slo, WINDOW))

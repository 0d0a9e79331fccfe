"""A small PromQL evaluator for steady test inputs: every counter grows at one constant rate and every gauge holds
one value, so each range function has a closed form and a ratio of two windows of the same length is the same for
any window. The plan uses it to find, and to state exactly, what a raw-query SLI reads from synthetic series.

Semantics follow Prometheus' engine (promql/engine.go): vector matching on all labels but the name (or on/ignoring),
one-to-one results keep the matching labels only with on(), comparisons filter unless `bool`, and arithmetic
drops the metric name. Anything else raises Unsupported, so a caller never trusts a guess.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass

from obsgen.duration import parse_duration
from obsgen.plan.synth import TEST_INTERVAL, satisfies
from obsgen.promql import Agg, Binary, Call, Expr, Neg, Number, Paren, Subquery, Vector

Labels = tuple[tuple[str, str], ...]
NAME = "__name__"


class Unsupported(Exception):
    """The expression uses what this evaluator does not model; the caller must not predict its value."""


@dataclass(frozen=True)
class Steady:
    """One input series: a counter growing `value` per second, or a gauge holding `value`."""

    labels: Labels  # sorted, with __name__
    counter: bool
    value: float


@dataclass(frozen=True)
class _Range:
    samples: tuple[tuple[Labels, bool, float], ...]
    seconds: float  # the window
    step: float  # seconds between samples


Sample = tuple[Labels, float]
Value = float | list[Sample] | _Range

_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "%": math.fmod, "^": math.pow,
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
}


def _div(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
    return a / b


def _arith(op: str, a: float, b: float) -> float:
    return _div(a, b) if op == "/" else _ARITH[op](a, b)


def _drop_name(labels: Labels) -> Labels:
    return tuple(kv for kv in labels if kv[0] != NAME)


def _matches(labels: Labels, node: Vector) -> bool:
    d = dict(labels)
    if d.get(NAME) != node.metric:
        return False
    return all(satisfies(d.get(mt.label, ""), mt) for mt in node.matchers if mt.label != NAME)


class Evaluator:
    """Evaluate builder expressions over steady series."""

    def __init__(self, series: list[Steady]) -> None:
        self.series = series

    def instant(self, expr: Expr) -> list[Sample]:
        """The instant vector an expression yields (a scalar becomes one unlabelled sample)."""
        out = self._eval(expr)
        if isinstance(out, _Range):
            raise Unsupported("a range vector is not an instant result")
        return [((), out)] if isinstance(out, float) else out

    def _eval(self, node: Expr) -> Value:  # noqa: PLR0911 - one branch per node type
        if isinstance(node, Number):
            return float(node.value)
        if isinstance(node, Paren):
            return self._eval(node.expr)
        if isinstance(node, Neg):
            inner = self._eval(node.expr)
            if isinstance(inner, float):
                return -inner
            return [(_drop_name(lb), -v) for lb, v in self._vector(inner)]
        if isinstance(node, Vector):
            return self._select(node)
        if isinstance(node, Subquery):
            inner = self.instant(node.expr)
            step = parse_duration(node.step) if node.step else TEST_INTERVAL
            return _Range(tuple((lb, False, v) for lb, v in inner), parse_duration(node.range), step)
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, Agg):
            return self._agg(node)
        if isinstance(node, Binary):
            return self._binary(node)
        raise Unsupported(type(node).__name__)

    @staticmethod
    def _vector(value: Value) -> list[Sample]:
        if not isinstance(value, list):
            raise Unsupported("expected an instant vector")
        return value

    def _select(self, node: Vector) -> Value:
        if node.offset is not None:
            raise Unsupported("offset")
        chosen = [s for s in self.series if _matches(s.labels, node)]
        if node.range is None:
            if any(s.counter for s in chosen):
                raise Unsupported(f"the raw value of counter {node.metric} depends on time")
            return [(s.labels, s.value) for s in chosen]
        return _Range(tuple((s.labels, s.counter, s.value) for s in chosen), parse_duration(node.range), TEST_INTERVAL)

    def _call(self, node: Call) -> Value:
        f = node.func
        if f == "vector":
            arg = self._eval(node.args[0])
            if not isinstance(arg, float):
                raise Unsupported("vector() of a vector")
            return [((), arg)]
        if f in ("rate", "irate", "increase"):
            rng = self._eval(node.args[0])
            if not isinstance(rng, _Range) or any(not counter for _, counter, _ in rng.samples):
                raise Unsupported(f"{f}() needs counters")
            scale = rng.seconds if f == "increase" else 1.0
            return [(_drop_name(lb), v * scale) for lb, _, v in rng.samples]
        if f.endswith("_over_time"):
            rng = self._eval(node.args[0])
            if not isinstance(rng, _Range) or any(counter for _, counter, _ in rng.samples):
                raise Unsupported(f"{f}() of a counter depends on time")
            n = rng.seconds / rng.step
            forms = {"sum_over_time": lambda v: v * n, "count_over_time": lambda v: n, "avg_over_time": lambda v: v,
                     "min_over_time": lambda v: v, "max_over_time": lambda v: v, "last_over_time": lambda v: v,
                     "present_over_time": lambda v: 1.0}
            if f not in forms:
                raise Unsupported(f)
            return [(_drop_name(lb), forms[f](v)) for lb, _, v in rng.samples]
        if f in ("abs", "ceil", "floor") and len(node.args) == 1:
            fn = {"abs": abs, "ceil": math.ceil, "floor": math.floor}[f]
            return [(_drop_name(lb), float(fn(v))) for lb, v in self._vector(self._eval(node.args[0]))]
        raise Unsupported(f"{f}()")

    def _agg(self, node: Agg) -> Value:
        if node.param is not None or node.op not in ("sum", "count", "avg", "min", "max", "group"):
            raise Unsupported(node.op)
        groups: dict[Labels, list[float]] = {}
        for labels, value in self._vector(self._eval(node.expr)):
            d = dict(_drop_name(labels))
            keep = set(node.by or ())
            key = tuple(sorted((k, v) for k, v in d.items() if (k not in keep) == node.without))
            groups.setdefault(key, []).append(value)
        reduce: dict[str, Callable[[list[float]], float]] = {
            "sum": lambda vs: float(sum(vs)), "count": lambda vs: float(len(vs)), "avg": lambda vs: sum(vs) / len(vs),
            "min": min, "max": max, "group": lambda vs: 1.0,
        }
        return [(key, reduce[node.op](vs)) for key, vs in sorted(groups.items())]

    def _binary(self, node: Binary) -> Value:
        lhs, rhs = self._eval(node.lhs), self._eval(node.rhs)
        if isinstance(lhs, _Range) or isinstance(rhs, _Range):
            raise Unsupported("binary operation on a range vector")
        op = node.op
        if op in ("and", "or", "unless"):
            return self._set_op(node, self._vector(lhs), self._vector(rhs))
        if isinstance(lhs, float) and isinstance(rhs, float):
            if op in _COMPARE:
                if not node.bool_:
                    raise Unsupported("a scalar comparison needs bool")
                return float(_COMPARE[op](lhs, rhs))
            return _arith(op, lhs, rhs)
        if isinstance(lhs, float) or isinstance(rhs, float):
            return self._with_scalar(node, lhs, rhs)
        return self._match(node, self._vector(lhs), self._vector(rhs))

    @staticmethod
    def _with_scalar(node: Binary, lhs: Value, rhs: Value) -> list[Sample]:
        out: list[Sample] = []
        vector, scalar_left = (rhs, True) if isinstance(lhs, float) else (lhs, False)
        assert isinstance(vector, list)
        for labels, v in vector:
            a, b = (lhs, v) if scalar_left else (v, rhs)
            assert isinstance(a, float) and isinstance(b, float)
            if node.op in _COMPARE:
                hit = _COMPARE[node.op](a, b)
                if node.bool_:
                    out.append((_drop_name(labels), float(hit)))
                elif hit:
                    out.append((labels, v))
            else:
                out.append((_drop_name(labels), _arith(node.op, a, b)))
        return out

    @staticmethod
    def _signature(node: Binary, labels: Labels) -> Labels:
        d = dict(_drop_name(labels))
        if node.on is not None:
            return tuple(sorted((k, v) for k, v in d.items() if k in node.on))
        ignored = set(node.ignoring or ())
        return tuple(sorted((k, v) for k, v in d.items() if k not in ignored))

    def _set_op(self, node: Binary, lhs: list[Sample], rhs: list[Sample]) -> list[Sample]:
        right = {self._signature(node, lb) for lb, _ in rhs}
        if node.op == "and":
            return [s for s in lhs if self._signature(node, s[0]) in right]
        if node.op == "unless":
            return [s for s in lhs if self._signature(node, s[0]) not in right]
        left = {self._signature(node, lb) for lb, _ in lhs}
        return lhs + [s for s in rhs if self._signature(node, s[0]) not in left]

    def _match(self, node: Binary, lhs: list[Sample], rhs: list[Sample]) -> list[Sample]:
        many, one = (rhs, lhs) if node.group == "right" else (lhs, rhs)
        index: dict[Labels, Sample] = {}
        for sample in one:
            key = self._signature(node, sample[0])
            if key in index:
                raise Unsupported("many-to-many matching")
            index[key] = sample
        out: list[Sample] = []
        seen: set[Labels] = set()
        for labels, v in many:
            key = self._signature(node, labels)
            other = index.get(key)
            if other is None:
                continue
            if node.group is None and key in seen:
                raise Unsupported("many-to-one matching without group_left")
            seen.add(key)
            a, b = (other[1], v) if node.group == "right" else (v, other[1])
            result = _result_labels(node, labels, other[0])
            if node.op in _COMPARE:
                hit = _COMPARE[node.op](a, b)
                if node.bool_:
                    out.append((_drop_name(result), float(hit)))
                elif hit:
                    out.append((result, a))
            else:
                out.append((_drop_name(result), _arith(node.op, a, b)))
        return out


def _result_labels(node: Binary, many: Labels, one: Labels) -> Labels:
    d = dict(many)
    if node.group is None:
        if node.on is not None:
            d = {k: v for k, v in d.items() if k in node.on}
        else:
            d = {k: v for k, v in d.items() if k not in (node.ignoring or ())}
    else:
        other = dict(one)
        for name in node.group_labels:
            if name in other:
                d[name] = other[name]
            else:
                d.pop(name, None)
    return tuple(sorted(d.items()))

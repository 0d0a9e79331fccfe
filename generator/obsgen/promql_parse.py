"""Parse PromQL: report which metrics, functions and labels an expression uses, or turn it into builder nodes.

This is the only module that imports promql_parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import promql_parser

from obsgen.model import Matcher
from obsgen.promql.ast import Agg, Binary, Call, Expr, Neg, Number, Paren, String, Subquery, Vector

_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
GRAFANA_MACROS = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "${__rate_interval}": "5m",
    "${__interval}": "1m",
    "${__range}": "1h",
}


class PromQLSyntaxError(ValueError):
    """The expression does not parse."""


@dataclass(frozen=True)
class SelectorUse:
    """A vector selector and the functions and aggregations wrapped around it, innermost first."""

    name: str
    labels: tuple[str, ...]
    functions: tuple[str, ...]
    has_range: bool


@dataclass
class Analysis:
    selectors: list[SelectorUse] = field(default_factory=list)
    grouping: list[tuple[str, ...]] = field(default_factory=list)


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    """Parse 'status=~"5..", method="GET"' into matchers; raises PromQLSyntaxError."""
    try:
        expr = promql_parser.parse("x{" + text + "}")
    except ValueError as exc:
        raise PromQLSyntaxError(_first_line(exc)) from None
    if not isinstance(expr, promql_parser.VectorSelector):
        raise PromQLSyntaxError(f"not a label matcher: {text}")
    return tuple(Matcher(m.name, _OPS[str(m.op)], m.value) for m in expr.matchers.matchers)


def substitute_macros(expr: str) -> str:
    """Replace Grafana's macros and template variables so the text parses as PromQL."""
    for macro, value in GRAFANA_MACROS.items():
        expr = expr.replace(macro, value)
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}?", "placeholder", expr)


def check_syntax(expr: str) -> None:
    try:
        promql_parser.parse(expr)
    except ValueError as exc:
        raise PromQLSyntaxError(_first_line(exc)) from None


def analyse(expr: str) -> Analysis:
    """Walk the expression; raises PromQLSyntaxError when it does not parse."""
    try:
        tree = promql_parser.parse(expr)
    except ValueError as exc:
        raise PromQLSyntaxError(_first_line(exc)) from None
    out = Analysis()
    _walk(tree, (), out)
    return out


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "invalid PromQL"


def _walk(node: object, funcs: tuple[str, ...], out: Analysis) -> None:
    p = promql_parser
    if isinstance(node, p.VectorSelector):
        labels = tuple(m.name for m in node.matchers.matchers if m.name != "__name__")
        name = node.name or next((m.value for m in node.matchers.matchers if m.name == "__name__"), "")
        out.selectors.append(SelectorUse(name, labels, funcs, False))
    elif isinstance(node, p.MatrixSelector):
        vs = node.vector_selector
        labels = tuple(m.name for m in vs.matchers.matchers if m.name != "__name__")
        out.selectors.append(SelectorUse(vs.name or "", labels, funcs, True))
    elif isinstance(node, p.Call):
        for arg in node.args:
            _walk(arg, (node.func.name, *funcs), out)
    elif isinstance(node, p.AggregateExpr):
        if node.modifier is not None and str(node.modifier.type).endswith("By"):
            out.grouping.append(tuple(node.modifier.labels))
        _walk(node.expr, (str(node.op), *funcs), out)
    elif isinstance(node, p.BinaryExpr):
        _walk(node.lhs, funcs, out)
        _walk(node.rhs, funcs, out)
    elif isinstance(node, (p.ParenExpr, p.UnaryExpr)):
        _walk(node.expr, funcs, out)
    elif isinstance(node, p.SubqueryExpr):
        _walk(node.expr, funcs, out)


# -- from text to the builder's nodes ----------------------------------------------------------------

_CARD = {"VectorMatchCardinality.ManyToOne": "left", "VectorMatchCardinality.OneToMany": "right"}


def _duration(delta: object) -> str:
    from obsgen.duration import format_duration

    seconds = delta.total_seconds()  # type: ignore[attr-defined]
    return ("-" + format_duration(-seconds)) if seconds < 0 else format_duration(seconds)


def to_expr(text: str) -> Expr:
    """Parse PromQL into the builder's nodes (obsgen.promql), so hand-written expressions can be transformed as data.

    Raises PromQLSyntaxError when the text does not parse, or uses what the builder does not model (@, or-matchers).
    """
    try:
        tree = promql_parser.parse(text)
    except ValueError as exc:
        raise PromQLSyntaxError(_first_line(exc)) from None
    return _node(tree)


def _vector(node: object, rng: object = None) -> Vector:
    if node.at is not None or node.matchers.or_matchers:  # type: ignore[attr-defined]
        raise PromQLSyntaxError("the @ modifier and 'or' matchers are not modelled")
    matchers = tuple(Matcher(mt.name, _OPS[str(mt.op)], mt.value) for mt in node.matchers.matchers  # type: ignore[attr-defined]
                     if not (node.name and mt.name == "__name__"))  # type: ignore[attr-defined]
    offset = _duration(node.offset) if node.offset is not None else None  # type: ignore[attr-defined]
    return Vector(node.name or "", matchers, _duration(rng) if rng is not None else None, offset)  # type: ignore[attr-defined]


def _node(node: object) -> Expr:
    p = promql_parser
    if isinstance(node, p.VectorSelector):
        return _vector(node)
    if isinstance(node, p.MatrixSelector):
        return _vector(node.vector_selector, node.range)
    if isinstance(node, p.NumberLiteral):
        return Number(node.val)
    if isinstance(node, p.StringLiteral):
        return String(node.val)
    if isinstance(node, p.Call):
        return Call(node.func.name, tuple(_node(a) for a in node.args))
    if isinstance(node, p.ParenExpr):
        return Paren(_node(node.expr))
    if isinstance(node, p.UnaryExpr):
        return Neg(_node(node.expr))
    if isinstance(node, p.SubqueryExpr):
        if node.at is not None:
            raise PromQLSyntaxError("the @ modifier is not modelled")
        return Subquery(_node(node.expr), _duration(node.range), _duration(node.step) if node.step is not None else None,
                        _duration(node.offset) if node.offset is not None else None)
    if isinstance(node, p.AggregateExpr):
        mod = node.modifier
        without = mod is not None and str(mod.type).endswith("Without")
        by = tuple(mod.labels) if mod is not None else None
        return Agg(str(node.op), _node(node.expr), by, without, _node(node.param) if node.param is not None else None)
    if isinstance(node, p.BinaryExpr):
        mod = node.modifier
        kwargs: dict[str, object] = {}
        if mod is not None:
            kwargs["bool_"] = bool(mod.return_bool)
            if mod.matching is not None:
                key = "on" if str(mod.matching.type).endswith("Include") else "ignoring"
                kwargs[key] = tuple(mod.matching.labels)
            group = _CARD.get(str(mod.card))
            if group:
                kwargs["group"] = group
                kwargs["group_labels"] = tuple(mod.group_labels)
        return Binary(str(node.op), _node(node.lhs), _node(node.rhs), **kwargs)  # type: ignore[arg-type]
    raise PromQLSyntaxError(f"unsupported PromQL node {type(node).__name__}")

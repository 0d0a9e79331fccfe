"""Parse PromQL and report which metrics, functions and labels an expression uses.

This is the only module that imports promql_parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import promql_parser

from obsgen.model import Matcher

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

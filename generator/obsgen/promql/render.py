"""Turn expression nodes into PromQL text: the one place obsgen writes PromQL.

A `Scope` carries what a project adds to every expression: a global selector (matchers added to every
selector) and grouping labels kept through every aggregation and vector match. The default scope adds
nothing, so today's catalogs give today's bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from obsgen.model import Matcher
from obsgen.promql.ast import Agg, Binary, Call, Expr, Neg, Number, Paren, Raw, String, Subquery, Vector

# Binary operator precedence, lowest first (Prometheus' promql/parser/lex.go); ^ is right-associative.
PRECEDENCE = {
    "or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
    "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6,
}
COMPARISONS = ("==", "!=", "<=", "<", ">=", ">")


@dataclass(frozen=True)
class Scope:
    """Project-wide additions to every expression rendered in it."""

    selector: tuple[Matcher, ...] = ()  # added to every scoped vector selector, e.g. cluster="eu-1"
    keep: tuple[str, ...] = ()  # kept by every aggregation and `on (...)` match, e.g. ("cluster", "namespace")


PLAIN = Scope()


def quote(value: str) -> str:
    """A PromQL double-quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def matcher(mt: Matcher) -> str:
    """One label matcher: label op "value"."""
    return _matcher(mt.label, mt.op, mt.value)


@lru_cache(maxsize=16384)  # keyed by plain strings: hashing them is cheap, hashing the dataclass is not
def _matcher(label: str, op: str, value: str) -> str:
    return f"{label}{op}{quote(value)}"


@lru_cache(maxsize=8192)
def number(value: float) -> str:
    """A float as PromQL and YAML print it most simply: 0.05, 400, 1e-05."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(labels: tuple[str, ...]) -> str:
    return ", ".join(labels)


def _kept(scope: Scope, labels: tuple[str, ...]) -> tuple[str, ...]:
    if not scope.keep:
        return labels
    return (*scope.keep, *(label for label in labels if label not in scope.keep))


def _vector(node: Vector, scope: Scope) -> str:
    matchers = node.matchers
    if scope.selector and node.scoped:
        own = {mt.label for mt in matchers}
        matchers = (*matchers, *(mt for mt in scope.selector if mt.label not in own))
    text = node.metric + ("{" + ", ".join([_matcher(mt.label, mt.op, mt.value) for mt in matchers]) + "}" if matchers else "")
    if node.range is not None:
        text += f"[{node.range}]"
    if node.offset is not None:
        text += f" offset {node.offset}"
    return text


def _needs_paren(child: Expr, parent_op: str, side: str) -> bool:
    """Whether a binary operand needs parentheses to keep its meaning (lower precedence, or the other associativity)."""
    if type(child) is Neg:
        return parent_op == "^" and side == "left"  # unary minus binds looser than ^: -a ^ b is -(a ^ b)
    if type(child) is not Binary:
        return False
    mine, theirs = PRECEDENCE[child.op], PRECEDENCE[parent_op]
    if mine != theirs:
        return mine < theirs
    return side == ("left" if parent_op == "^" else "right")


def _binary(node: Binary, scope: Scope) -> str:
    op = node.op
    if node.bool_:
        op += " bool"
    if node.on is not None:
        op += f" on ({_labels(_kept(scope, node.on))})"
    elif node.ignoring is not None:
        op += f" ignoring ({_labels(node.ignoring)})"
    if node.group:
        op += f" group_{node.group}" + (f" ({_labels(node.group_labels)})" if node.group_labels else "")
    lhs = _RENDERERS[type(node.lhs)](node.lhs, scope)
    if _needs_paren(node.lhs, node.op, "left"):
        lhs = f"({lhs})"
    rhs = _RENDERERS[type(node.rhs)](node.rhs, scope)
    if _needs_paren(node.rhs, node.op, "right"):
        rhs = f"({rhs})"
    if node.layout == "lines":
        return f"{lhs}\n{op}\n{rhs}"
    if node.layout == "break":
        return f"{lhs}\n{op} {rhs}"
    return f"{lhs} {op} {rhs}"


def _agg(node: Agg, scope: Scope) -> str:
    inner = render(node.expr, scope)
    if node.param is not None:
        inner = f"{render(node.param, scope)}, {inner}"
    if node.without:
        return f"{node.op} without ({_labels(node.by or ())}) ({inner})"
    by = _kept(scope, node.by or ())
    return f"{node.op} by ({_labels(by)}) ({inner})" if by else f"{node.op}({inner})"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.split("\n"))


def _call(node: Call, scope: Scope) -> str:
    return f"{node.func}({', '.join(render(a, scope) for a in node.args)})"


def _paren(node: Paren, scope: Scope) -> str:
    inner = render(node.expr, scope)
    return f"(\n{_indent(inner)}\n)" if node.block else f"({inner})"


def _subquery(node: Subquery, scope: Scope) -> str:
    inner = render(node.expr, scope)
    if isinstance(node.expr, (Binary, Neg)):
        inner = f"({inner})"
    text = f"{inner}[{node.range}:{node.step or ''}]"
    return text + (f" offset {node.offset}" if node.offset is not None else "")


def _neg(node: Neg, scope: Scope) -> str:
    inner = render(node.expr, scope)
    return f"-({inner})" if isinstance(node.expr, Binary) else f"-{inner}"


_RENDERERS: dict[type, Callable[[Any, Scope], str]] = {
    Vector: _vector, Binary: _binary, Agg: _agg, Call: _call, Paren: _paren, Subquery: _subquery, Neg: _neg,
    Number: lambda node, scope: number(node.value), String: lambda node, scope: quote(node.value),
    Raw: lambda node, scope: node.text,
}


def render(node: Expr, scope: Scope = PLAIN) -> str:
    """The PromQL text of an expression."""
    draw = _RENDERERS.get(type(node))
    if draw is None:
        raise TypeError(f"not a PromQL node: {node!r}")
    return draw(node, scope)

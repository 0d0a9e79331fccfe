"""Walking builder expressions: their operands, vector selectors, number literals and the values a label is matched
against (the plan reads raw-query SLIs with these to find what to synthesise)."""

from __future__ import annotations

from obsgen.model import Matcher
from obsgen.promql import Agg, Binary, Call, Expr, Neg, Number, Paren, Subquery, Vector


def matcher_values(expr: Expr, label: str) -> list[str]:
    """Every value a selector of the expression compares `label` with (le bounds, say), in order of appearance."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, Vector):
            for mt in node.matchers:
                if mt.label == label:
                    found.extend(_alternatives(mt))
        for child in children(node):
            walk(child)

    walk(expr)
    return list(dict.fromkeys(found))


def _alternatives(mt: Matcher) -> list[str]:
    if mt.op == "=":
        return [mt.value]
    if mt.op == "=~":
        return [alt.replace("\\.", ".") for alt in mt.value.split("|")]
    return []


def children(node: object) -> tuple[Expr, ...]:
    """The operands of a node."""
    if isinstance(node, (Paren, Neg, Subquery)):
        return (node.expr,)
    if isinstance(node, Agg):
        return (node.expr,) + ((node.param,) if node.param is not None else ())
    if isinstance(node, Binary):
        return (node.lhs, node.rhs)
    if isinstance(node, Call):
        return node.args
    return ()


def selectors(expr: Expr) -> list[Vector]:
    """Every vector selector of an expression, in order."""
    out: list[Vector] = []

    def walk(node: object) -> None:
        if isinstance(node, Vector):
            out.append(node)
        for child in children(node):
            walk(child)

    walk(expr)
    return out


def numbers(expr: Expr) -> list[float]:
    """Every number literal of an expression (the thresholds a gauge is compared with)."""
    out: list[float] = []

    def walk(node: object) -> None:
        if isinstance(node, Number):
            out.append(float(node.value))
        for child in children(node):
            walk(child)

    walk(expr)
    return list(dict.fromkeys(out))

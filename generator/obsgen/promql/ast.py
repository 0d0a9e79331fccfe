"""PromQL expressions as data: small frozen nodes that `render` turns into text at the very end.

The nodes mirror Prometheus' own promql/parser AST. Layout hints (`Binary.layout`, `Paren.block`) only
decide where line breaks go, so the generated rule files keep the shape people read them in.
"""

from __future__ import annotations

from dataclasses import dataclass

from obsgen.model import Matcher


class Expr:
    """Base of every node; the arithmetic helpers keep call sites readable."""

    __slots__ = ()

    def __truediv__(self, other: Expr | float) -> Binary:
        return Binary("/", self, lit(other))

    def __mul__(self, other: Expr | float) -> Binary:
        return Binary("*", self, lit(other))

    def __sub__(self, other: Expr | float) -> Binary:
        return Binary("-", self, lit(other))

    def __add__(self, other: Expr | float) -> Binary:
        return Binary("+", self, lit(other))


@dataclass(frozen=True, slots=True)
class Vector(Expr):
    """An instant or range vector selector: metric{matchers}[range] offset d."""

    metric: str
    matchers: tuple[Matcher, ...] = ()
    range: str | None = None  # a duration, or a Grafana macro such as $__rate_interval
    offset: str | None = None
    scoped: bool = True  # False: the project's global selector is not added (series that carry no such label)


@dataclass(frozen=True, slots=True)
class Subquery(Expr):
    """expr[range:step] offset d."""

    expr: Expr
    range: str
    step: str | None = None
    offset: str | None = None


@dataclass(frozen=True, slots=True)
class Number(Expr):
    """A number literal."""

    value: float


@dataclass(frozen=True, slots=True)
class String(Expr):
    """A string literal (count_values' label, label_replace's arguments)."""

    value: str


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """A function call: rate(x[5m]), histogram_quantile(0.95, ...), absent(x), vector(0)."""

    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Agg(Expr):
    """An aggregation: op by (labels) (expr); `by=None` aggregates everything away."""

    op: str
    expr: Expr
    by: tuple[str, ...] | None = None
    without: bool = False
    param: Expr | None = None  # topk's k, quantile's phi, count_values' label


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    """lhs op rhs, with Prometheus' vector matching modifiers.

    layout: "inline" (a > b), "lines" (a, op and b on their own lines), "break" (a, then "op b" on the next line).
    """

    op: str
    lhs: Expr
    rhs: Expr
    bool_: bool = False  # the comparison returns 0/1 instead of filtering
    on: tuple[str, ...] | None = None
    ignoring: tuple[str, ...] | None = None
    group: str | None = None  # "left" | "right"
    group_labels: tuple[str, ...] = ()
    layout: str = "inline"


@dataclass(frozen=True, slots=True)
class Paren(Expr):
    """(expr); `block` puts the inner expression on its own, indented lines."""

    expr: Expr
    block: bool = False


@dataclass(frozen=True, slots=True)
class Neg(Expr):
    """Unary minus."""

    expr: Expr


@dataclass(frozen=True, slots=True)
class Raw(Expr):
    """An expression a catalog author wrote (template: expr); the catalog stage has parsed it, so it renders as written."""

    text: str


def lit(value: Expr | float) -> Expr:
    """A number as a node; nodes pass through."""
    return value if isinstance(value, Expr) else Number(float(value))

"""Constructors for the expressions obsgen writes: selectors, rates, ratios, quantiles, aggregations, comparisons.

They return nodes, never text; `render` writes the text. Keeping these small means a reader sees the
shape of a rule (`compare(ratio(errors, total), ">", 0.05)`) rather than string plumbing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from obsgen import model as m
from obsgen.promql.ast import Agg, Binary, Call, Expr, Number, Paren, Raw, String, Vector, lit
from obsgen.promql.render import PLAIN, Scope, number, render

RATE_INTERVAL = "$__rate_interval"  # Grafana picks the range from the panel's resolution
# Where a raw-query SLI takes each alert window: Sloth's template variable, spaces allowed as Sloth allows them.
WINDOW_TEMPLATE = re.compile(r"\{\{ *\.window *\}\}")


def fmt_number(value: float) -> str:
    """A float as PromQL and YAML print it most simply: 0.05, 400, 1e-05."""
    return number(value)


def le_value(bound: float) -> str:
    """Bucket label text as Go's client writes it (1, 0.25); Python's client writes 1.0 for whole numbers."""
    return number(bound)


def le_matcher(bound: float) -> m.Matcher:
    """Match a bucket bound whichever client library wrote it."""
    text = le_value(bound)
    if float(bound).is_integer():
        return m.Matcher("le", "=~", f"{text}|{text}\\.0")
    return m.Matcher("le", "=", text)


def eq(label: str, value: str) -> m.Matcher:
    """label="value"."""
    return m.Matcher(label, "=", value)


def vector(metric: str, matchers: Iterable[m.Matcher] = (), scoped: bool = True) -> Vector:
    """A selector of a metric or recording rule."""
    return Vector(metric, tuple(matchers), scoped=scoped)


def sel(s: m.Selector, extra: Iterable[m.Matcher] = (), suffix: str = "") -> Vector:
    """A catalog selector (metric plus matchers) as a vector, optionally of a histogram's _bucket/_count/_sum."""
    return Vector(s.metric + suffix, (*s.matchers, *extra))


def ranged(v: Vector, window: str) -> Vector:
    """The selector over a range: x[5m]."""
    return Vector(v.metric, v.matchers, window, v.offset, v.scoped)


def offset(v: Vector, by: str) -> Vector:
    """The selector shifted back in time: x offset 1h."""
    return Vector(v.metric, v.matchers, v.range, by, v.scoped)


def rate(v: Vector, window: str) -> Call:
    """rate(x[window])."""
    return Call("rate", (ranged(v, window),))


def increase(v: Vector, window: str) -> Call:
    """increase(x[window])."""
    return Call("increase", (ranged(v, window),))


def call(func: str, *args: Expr | float) -> Call:
    """Any function call; numbers become literals."""
    return Call(func, tuple(lit(a) for a in args))


def absent(v: Expr) -> Call:
    """absent(x): one series when x has none."""
    return Call("absent", (v,))


def scalar_vector(value: float) -> Call:
    """vector(1): a constant series without labels."""
    return Call("vector", (Number(float(value)),))


def histogram_quantile(q: float, buckets: Expr) -> Call:
    """histogram_quantile(q, buckets)."""
    return Call("histogram_quantile", (Number(float(q)), buckets))


def agg(op: str, expr: Expr, by: Iterable[str] = ()) -> Agg:
    """op by (labels) (expr); no labels aggregates everything: op(expr)."""
    labels = tuple(by)
    return Agg(op, expr, labels or None)


def topk(k: int, expr: Expr, by: Iterable[str] = ()) -> Agg:
    """topk(k, expr), optionally per group."""
    labels = tuple(by)
    return Agg("topk", expr, labels or None, param=Number(float(k)))


def binop(op: str, lhs: Expr | float, rhs: Expr | float, layout: str = "inline", **match: object) -> Binary:
    """Any binary operation; `match` takes Binary's modifiers (bool_, on, ignoring, group, group_labels)."""
    return Binary(op, lit(lhs), lit(rhs), layout=layout, **match)  # type: ignore[arg-type]


def compare(lhs: Expr, op: str, rhs: Expr | float, layout: str = "inline", bool_: bool = False) -> Binary:
    """lhs op rhs for a comparison; bool_ keeps every series as 0/1."""
    return Binary(op, lhs, lit(rhs), bool_=bool_, layout=layout)


def ratio(num: Expr, den: Expr, layout: str = "lines", on: tuple[str, ...] | None = None) -> Binary:
    """num / den, one operand per line as rule files show them."""
    return Binary("/", num, den, on=on, layout=layout)


def either(*exprs: Expr, layout: str = "lines") -> Expr:
    """a or b or ...: left-associative, like Prometheus parses it."""
    out = exprs[0]
    for e in exprs[1:]:
        out = Binary("or", out, e, layout=layout)
    return out


def both(lhs: Expr, rhs: Expr, layout: str = "lines", on: tuple[str, ...] | None = None) -> Binary:
    """lhs and rhs, one operand per line."""
    return Binary("and", lhs, rhs, on=on, layout=layout)


def total(exprs: Iterable[Expr]) -> Expr:
    """a + b + ...; one term stays as it is, several are parenthesised so they read as one operand."""
    items = list(exprs)
    out = items[0]
    for e in items[1:]:
        out = Binary("+", out, e)
    return Paren(out) if len(items) > 1 else out


def paren(expr: Expr, block: bool = False) -> Paren:
    """Explicit parentheses (render adds those precedence needs by itself)."""
    return Paren(expr, block)


def string(value: str) -> String:
    """A string literal."""
    return String(value)


def windowed(template: str, window: str) -> Raw:
    """A raw-query SLI (Sloth's `{{.window}}` template) over one window, as the catalog author wrote it otherwise."""
    return Raw(WINDOW_TEMPLATE.sub(window, template).strip())


def label_values(v: Vector, label: str, scope: Scope = PLAIN) -> str:
    """Grafana's variable query around a PromQL selector: label_values(up{job=~"a|b"}, job)."""
    return f"label_values({render(v, scope)}, {label})"

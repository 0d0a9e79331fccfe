"""The PromQL builder: expressions as data (ast), a few constructors (build) and one renderer (render).

Every expression obsgen writes into rules, rule tests, dashboards and load-test panels is built here.
"""

from __future__ import annotations

from obsgen.promql.ast import Agg, Binary, Call, Expr, Neg, Number, Paren, Raw, String, Subquery, Vector
from obsgen.promql.build import (
    RATE_INTERVAL,
    WINDOW_TEMPLATE,
    absent,
    agg,
    binop,
    both,
    call,
    compare,
    either,
    eq,
    fmt_number,
    histogram_quantile,
    increase,
    label_values,
    le_matcher,
    le_value,
    offset,
    paren,
    rate,
    ratio,
    scalar_vector,
    sel,
    string,
    topk,
    total,
    vector,
    windowed,
)
from obsgen.promql.render import PLAIN, Scope, matcher, quote, render

__all__ = [
    "PLAIN", "RATE_INTERVAL", "WINDOW_TEMPLATE", "Agg", "Binary", "Call", "Expr", "Neg", "Number", "Paren", "Raw", "Scope", "String",
    "Subquery", "Vector", "absent", "agg", "binop", "both", "call", "compare", "either", "eq", "fmt_number",
    "histogram_quantile", "increase", "label_values", "le_matcher", "le_value", "matcher", "offset", "paren", "quote",
    "rate", "ratio", "render", "scalar_vector", "sel", "string", "topk", "total", "vector", "windowed",
]

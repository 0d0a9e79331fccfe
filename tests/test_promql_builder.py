"""The PromQL builder: whatever it builds parses with promql-parser and means what the nodes say.

The property test builds random expression trees, renders them, parses the text back into nodes and
compares the two trees without their parentheses: so a missing parenthesis (precedence), a bad quote
or a misplaced modifier is a failure, not just text that happens to parse.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace

import promql_parser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsgen.model import Matcher
from obsgen.plan import build_plan
from obsgen.promql import (
    Agg,
    Binary,
    Call,
    Expr,
    Neg,
    Number,
    Paren,
    Scope,
    Subquery,
    Vector,
    agg,
    compare,
    either,
    eq,
    rate,
    render,
    vector,
)
from obsgen.promql_parse import PromQLSyntaxError, to_expr

from conftest import ROOT

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
            "inf", "nan", "atan2", "start", "end", "step", "limitk", "limit_ratio"}
names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda s: s not in KEYWORDS)
metrics = st.builds(lambda a, b: f"{a}:{b}" if b else a, names.map(lambda s: "m_" + s), st.sampled_from(["", "rate5m"]))
durations = st.sampled_from(["1s", "30s", "5m", "1h", "6h", "1d", "30d", "1h30m"])
values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
regexes = st.sampled_from(["5..", "a|b", ".*", "GET|POST", "[0-9]+", "x\\.y", 'q"uote'])
matchers = st.one_of(
    st.builds(Matcher, names, st.sampled_from(["=", "!="]), values),
    st.builds(Matcher, names, st.sampled_from(["=~", "!~"]), regexes),
)
numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False).map(Number)


def instant_vectors() -> st.SearchStrategy[Vector]:
    return st.builds(Vector, metrics, st.lists(matchers, max_size=3).map(tuple), st.none(),
                     st.one_of(st.none(), durations))


def range_calls() -> st.SearchStrategy[Call]:
    ranged = st.builds(lambda v, d: replace(v, range=d), instant_vectors(), durations)
    return st.builds(Call, st.sampled_from(["rate", "increase", "avg_over_time", "max_over_time"]), ranged.map(lambda v: (v,)))


def vectors(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    """Expressions of vector type built from vector children."""
    labels = st.lists(names, max_size=3, unique=True).map(tuple)
    modifiers = st.one_of(
        st.just({}),
        st.builds(lambda ls: {"on": ls}, labels),
        st.builds(lambda ls: {"ignoring": ls}, labels),
    )
    arithmetic = st.builds(lambda op, a, b, mod: Binary(op, a, b, **mod),
                           st.sampled_from(["+", "-", "*", "/", "%", "^", ">", "<", "==", "!=", ">=", "<="]),
                           children, children, modifiers)
    with_bool = st.builds(lambda op, a, b: Binary(op, a, b, bool_=True), st.sampled_from([">", "<", "=="]), children, children)
    set_ops = st.builds(lambda op, a, b, mod: Binary(op, a, b, **mod), st.sampled_from(["and", "or", "unless"]), children,
                        children, modifiers)
    with_scalar = st.builds(lambda op, a, n: Binary(op, a, n), st.sampled_from(["+", "*", "/", ">", "<="]), children, numbers)
    return st.one_of(
        st.builds(lambda op, e, by: Agg(op, e, by or None), st.sampled_from(["sum", "min", "max", "avg", "count"]),
                  children, labels),
        st.builds(lambda e, by: Agg("sum", e, by, without=True), children, labels),
        st.builds(lambda k, e: Agg("topk", e, param=Number(float(k))), st.integers(1, 20), children),
        st.builds(lambda q, e: Call("histogram_quantile", (Number(q), e)), st.sampled_from([0.5, 0.95, 0.99]), children),
        st.builds(lambda e: Call("absent", (e,)), children),
        st.builds(lambda e, block: Paren(e, block), children, st.booleans()),
        st.builds(Neg, children),
        st.builds(lambda e, r, s: Call("max_over_time", (Subquery(e, r, s),)), children, durations,
                  st.one_of(st.none(), st.just("1m"))),
        arithmetic, with_bool, set_ops, with_scalar,
    )


expressions = st.recursive(st.one_of(instant_vectors(), range_calls()), vectors, max_leaves=12)


def strip(node: object) -> object:
    """The tree without parentheses and layout: what the expression means."""
    if isinstance(node, Paren):
        return strip(node.expr)
    if is_dataclass(node):
        kept = {f.name: strip(getattr(node, f.name)) for f in fields(node) if f.name not in ("layout", "block", "scoped")}
        return (type(node).__name__, tuple(sorted(kept.items(), key=lambda kv: kv[0])))
    if isinstance(node, tuple):
        return tuple(strip(x) for x in node)
    if isinstance(node, float):
        return float(node)
    return node


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_every_built_expression_parses_and_means_what_it_was_built_as(expr: Expr) -> None:
    text = render(expr)
    promql_parser.parse(text)  # raises ValueError on anything Prometheus would refuse
    assert strip(to_expr(text)) == strip(expr), text


@settings(max_examples=100, deadline=None)
@given(expressions, st.lists(matchers, min_size=1, max_size=2), st.lists(names, min_size=1, max_size=2, unique=True))
def test_a_scope_keeps_expressions_valid(expr: Expr, selector: list[Matcher], keep: list[str]) -> None:
    promql_parser.parse(render(expr, Scope(tuple(selector), tuple(keep))))


def test_a_bad_tree_is_caught() -> None:
    """The property can fail: a node Prometheus refuses, and a tree whose text means something else."""
    with pytest.raises(ValueError):
        promql_parser.parse(render(Agg("sum", Number(1.0))))  # aggregating a scalar
    # Without its parentheses, a - (b - c) reads (a - b) - c: strip() must tell them apart.
    nested = Binary("-", vector("a"), Binary("-", vector("b"), vector("c")))
    assert strip(to_expr("a - b - c")) != strip(nested)
    assert strip(to_expr(render(nested))) == strip(nested)


def test_unary_minus_under_power_keeps_its_meaning() -> None:
    """-a ^ b parses as -(a ^ b) in PromQL; the builder's (-a) ^ b must be written with its parentheses (hypothesis found it)."""
    expr = Binary("^", Neg(vector("a")), vector("b"))
    assert render(expr) == "(-a) ^ b"
    assert strip(to_expr(render(expr))) == strip(expr)
    assert strip(to_expr("-a ^ b")) != strip(expr)


def test_layouts_numbers_and_quotes() -> None:
    ratio = Binary("/", Paren(either(agg("sum", vector("e")), Call("vector", (Number(0.0),))), block=True), vector("t"),
                   layout="lines")
    assert render(ratio) == "(\n  sum(e)\n  or\n  vector(0)\n)\n/\nt"
    assert render(compare(vector("x"), ">", 0.05, layout="break")) == "x\n> 0.05"
    assert render(Number(1e-05)) == "1e-05" and render(Number(400.0)) == "400" and render(Number(float("inf"))) == "+Inf"
    assert render(vector("x", (eq("a", 'say "hi"\\'),))) == 'x{a="say \\"hi\\"\\\\"}'
    assert render(agg("sum", rate(vector("x_total"), "5m"), ("job", "le"))) == "sum by (job, le) (rate(x_total[5m]))"


def test_scope_adds_the_global_selector_and_keeps_grouping_labels() -> None:
    scope = Scope((eq("cluster", "eu-1"),), ("cluster", "namespace"))
    expr = Binary("/", agg("sum", vector("a", (eq("job", "x"),)), ("job",)), agg("sum", vector("b")), on=("job",))
    assert render(expr, scope) == ('sum by (cluster, namespace, job) (a{job="x", cluster="eu-1"}) / on (cluster, namespace, job) '
                                   'sum by (cluster, namespace) (b{cluster="eu-1"})')
    assert render(vector("k6_vus", scoped=False), scope) == "k6_vus"
    assert render(expr) == 'sum by (job) (a{job="x"}) / on (job) sum(b)'  # the default scope adds nothing


def test_every_planned_expression_parses() -> None:
    """Rules, SLO rules, alerts and panel queries of the repository's catalogs (LogQL log alerts excepted)."""
    from obsgen.catalog import load_bundle

    plan = build_plan(load_bundle(ROOT / "catalogs"))
    texts = [r.expr for sp in plan.services for r in (*sp.recording, *sp.slo_recording)]
    texts += [t for a in plan.all_alerts for t in (a.expr, *a.queries)]
    texts += [q.expr for sp in plan.services for _, qs in sp.panels for q in qs if "$" not in q.expr]
    assert len(texts) > 300
    for text in texts:
        promql_parser.parse(text)


def test_to_expr_refuses_what_it_does_not_model() -> None:
    with pytest.raises(PromQLSyntaxError):
        to_expr("x @ 100")
    with pytest.raises(PromQLSyntaxError):
        to_expr("sum(")

"""Panel queries the plan owns: a catalog dashboard's panels (which may need recording rules) and the load-test panels.

Planning catalog panels here, before the rules are written, lets a panel's rate or ratio become a recording
rule that the rules emitter writes and the dashboard reads by name.
"""

from __future__ import annotations

from obsgen import model as m
from obsgen.plan.draft import Draft
from obsgen.plan.types import LoadPanel, Query
from obsgen.promql import RATE_INTERVAL, Scope, agg, eq, fmt_number, histogram_quantile, rate, render, vector

JOB_VAR = m.Matcher("job", "=~", "$job")
LOAD_TEST_VAR = m.Matcher("load_test", "=~", "$load_test")


def _legend(by: tuple[str, ...]) -> str:
    return " ".join("{{" + b + "}}" for b in by)


def catalog_panel(d: Draft, panel: m.Panel) -> tuple[Query, ...]:
    """The queries of one catalog panel, reading the service's recording rules where there are some."""
    if panel.kind == "rate":
        assert panel.metric is not None
        rec, _ = d.records.rate(panel.metric.metric)
        group = tuple(panel.by)
        inner = vector(rec, (*panel.metric.matchers, JOB_VAR))
        return (Query(d.text(agg(panel.aggregate, inner, group)), panel.legend or _legend(group) or panel.title),)
    if panel.kind == "ratio":
        assert panel.errors is not None
        rec, group = d.records.ratio(panel.errors, panel.total, panel.by)
        return (Query(d.text(vector(rec, (JOB_VAR,))), panel.legend or _legend(group)),)
    if panel.kind == "quantile":
        assert panel.metric is not None
        out = []
        for q in panel.quantiles:
            _, _, record = d.records.quantile(panel.metric, q, panel.by)
            label = f"p{fmt_number(q * 100)}"
            legend = panel.legend or (label + (" " + _legend(panel.by) if panel.by else ""))
            if record is not None:
                # The record keeps job; a panel over several jobs shows the worst one.
                expr = agg("max", vector(record, (JOB_VAR, eq("quantile", fmt_number(q)))), ("quantile", *panel.by))
            else:
                bucket_rec = d.records.rate_records[panel.metric.metric + "_bucket"]
                inner = vector(bucket_rec, (*panel.metric.matchers, JOB_VAR))
                expr = histogram_quantile(q, agg("sum", inner, (*panel.by, "le")))
            out.append(Query(d.text(expr), legend))
        return tuple(out)
    if panel.kind in ("value", "stat"):
        assert panel.metric is not None
        inner = vector(panel.metric.metric, (*panel.metric.matchers, JOB_VAR))
        return (Query(d.text(agg(panel.aggregate, inner, panel.by)), panel.legend or _legend(panel.by) or panel.title),)
    assert panel.expr is not None
    return (Query(panel.expr.strip(), panel.legend or panel.title),)


def load_panels(scope: Scope) -> tuple[LoadPanel, ...]:
    """What the load-tests dashboard shows of k6's remote-write output (k6_<metric>[_<stat>] series).

    Trend stats come from K6_PROMETHEUS_RW_TREND_STATS=p(95),p(99); every series carries the script's tags
    (load_test, service, name) and none of Prometheus' own scrape labels.
    """

    def k6(metric: str) -> m.Selector:
        return m.Selector(metric, (LOAD_TEST_VAR,))

    def panel(title: str, expr_of: str, unit: str, legend: str, op: str, by: tuple[str, ...], counter: bool = False) -> LoadPanel:
        series = vector(expr_of, k6(expr_of).matchers, scoped=False)
        inner = rate(series, RATE_INTERVAL) if counter else series
        return LoadPanel(title, render(agg(op, inner, by), scope), unit, legend, (expr_of,))

    return (
        panel("Requests per second", "k6_http_reqs_total", "reqps", "{{load_test}} {{name}}", "sum", ("load_test", "name"), True),
        panel("p95 request duration", "k6_http_req_duration_p95", "s", "p95 {{load_test}} {{name}}", "max", ("load_test", "name")),
        panel("p99 request duration", "k6_http_req_duration_p99", "s", "p99 {{load_test}} {{name}}", "max", ("load_test", "name")),
        panel("Failed request ratio", "k6_http_req_failed_rate", "percentunit", "{{load_test}}", "avg", ("load_test",)),
        panel("Check pass ratio", "k6_checks_rate", "percentunit", "{{load_test}}", "avg", ("load_test",)),
        panel("Virtual users", "k6_vus", "short", "{{load_test}}", "sum", ("load_test",)),
    )

"""Sloth's published Grafana dashboards read obsgen's rules when the Sloth-compatible option is on.

The queries below are those of grafana.com dashboard 14643 ("High level Sloth SLOs", revision 2) and 14348
("SLO / Detail", revisions 3 and 5), read from their JSON (docs/slo-interop.md names where). For each, promtool
evaluates it over obsgen's generated rules with the dashboard's variables filled in, on inputs where one SLO burns,
and asserts the series it draws exist with the labels its legends, tables and variables use. With the option off,
the same check fails: the series are obsgen's own, not Sloth's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from obsgen import pipeline
from obsgen.settings import PlanSettings
from obsgen.slo_options import SloOptions

from conftest import require_tool, run

SERVICE, SLO, OTHER = "shop", "availability", "checkout"
CATALOG = """
service: {name: shop, team: web}
metrics:
  - name: shop_requests_total
    type: counter
    help: Requests by status code.
    unit: requests
    labels: {code: {values: ["200", "500"]}}
slos:
  - name: availability
    kind: availability
    objective: 99.9
    errors: {metric: shop_requests_total, matchers: ['code="500"']}
    total: {metric: shop_requests_total}
  - name: checkout
    kind: query
    objective: 99
    error_query: sum(rate(shop_requests_total{code="500"}[{{.window}}]))
    total_query: sum(rate(shop_requests_total[{{.window}}]))
"""
EVAL = "60m"
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")  # the detail dashboard's sli_window choices
VARIABLES = {"${service}": SERVICE, "${slo}": SLO, "${min_burning_rate}": "1", "${__to:date:M}": "1"}


@dataclass(frozen=True)
class DashboardQuery:
    """A query of a Sloth dashboard, the labels it shows (legend, table columns, variable) and how many series."""

    dashboard: str
    panel: str
    expr: str
    by: tuple[str, ...]  # labels the panel reads from the result
    expected: tuple[dict[str, str], ...]  # the values of `by` the panel shows
    each: int = 1  # series per entry (a variable lists a value once however many series carry it)


IDS = {"sloth_id": f"{SERVICE}-{SLO}", "sloth_service": SERVICE, "sloth_slo": SLO}
BOTH = ({"sloth_id": f"{SERVICE}-{SLO}"}, {"sloth_id": f"{SERVICE}-{OTHER}"})
HIGH, DETAIL = "14643 High level Sloth SLOs", "14348 SLO / Detail"
QUERIES = (
    DashboardQuery(HIGH, "SLOs", "count(sloth_slo_info)", (), ({},)),
    DashboardQuery(HIGH, "Services", "count(max(sloth_slo_info) by (sloth_service))", (), ({},)),
    DashboardQuery(HIGH, "Avg burn rate", "avg(slo:current_burn_rate:ratio)", (), ({},)),
    DashboardQuery(HIGH, "Warning alerts", 'max(ALERTS{sloth_id!="",sloth_severity="ticket"}) OR on() vector(0)', (), ({},)),
    DashboardQuery(HIGH, "Critical alerts", 'max(ALERTS{sloth_id!="",sloth_severity="page"}) OR on() vector(0)', (), ({},)),
    DashboardQuery(HIGH, "All burning rate", "slo:current_burn_rate:ratio > ${min_burning_rate}", ("sloth_id",), BOTH),
    DashboardQuery(HIGH, "Current exceeded burning rate SLOs", "slo:current_burn_rate:ratio > ${min_burning_rate}",
                   ("sloth_service", "sloth_slo"), ({"sloth_service": SERVICE, "sloth_slo": SLO},
                                                    {"sloth_service": SERVICE, "sloth_slo": OTHER})),
    DashboardQuery(HIGH, "SLOs burn rate state timeline", "slo:current_burn_rate:ratio", ("sloth_service", "sloth_slo"),
                   ({"sloth_service": SERVICE, "sloth_slo": SLO}, {"sloth_service": SERVICE, "sloth_slo": OTHER})),
    DashboardQuery(HIGH, "Budget remaining 30 day window", "slo:period_error_budget_remaining:ratio", ("sloth_id",), BOTH),
    DashboardQuery(DETAIL, "variable service", "slo:objective:ratio", ("sloth_service",), ({"sloth_service": SERVICE},), 2),
    DashboardQuery(DETAIL, "variable slo", 'slo:objective:ratio{sloth_service="${service}"}', ("sloth_slo",),
                   ({"sloth_slo": SLO}, {"sloth_slo": OTHER})),
    DashboardQuery(DETAIL, "Exceeded burning rate SLOs", "slo:current_burn_rate:ratio > ${min_burning_rate}",
                   ("sloth_service", "sloth_slo"), ({"sloth_service": SERVICE, "sloth_slo": SLO},
                                                    {"sloth_service": SERVICE, "sloth_slo": OTHER})),
    DashboardQuery(DETAIL, "Objective (name)", 'slo:objective:ratio{sloth_service="${service}", sloth_slo="${slo}"}',
                   ("sloth_id",), ({"sloth_id": IDS["sloth_id"]},)),
    *(DashboardQuery(DETAIL, f"SLI ({w})", f'1 - (max(slo:sli_error:ratio_rate{w}{{sloth_service="${{service}}", '
                                          f'sloth_slo="${{slo}}"}}) OR on() vector(0))', (), ({},)) for w in WINDOWS),
    DashboardQuery(DETAIL, "Objective (value)", 'sloth_slo_info{sloth_service="${service}", sloth_slo="${slo}"}',
                   ("sloth_objective",), ({"sloth_objective": "99.9"},)),
    DashboardQuery(DETAIL, "Current burning budget", 'slo:current_burn_rate:ratio{sloth_service="${service}", '
                   'sloth_slo="${slo}"} or on() vector(0)', ("sloth_id",), ({"sloth_id": IDS["sloth_id"]},)),
    DashboardQuery(DETAIL, "Remaining error budget (month)", """1-(
  sum_over_time(
    (
       slo:sli_error:ratio_rate1h{sloth_service="${service}",sloth_slo="${slo}"}
       * on() group_left() (
         month() == bool vector(${__to:date:M})
       )
    )[32d:1h]
  )
  / on(sloth_id)
  (
    slo:error_budget:ratio{sloth_service="${service}",sloth_slo="${slo}"} *on() group_left() (24 * days_in_month())
  )
)""", ("sloth_id",), ({"sloth_id": IDS["sloth_id"]},)),
    DashboardQuery(DETAIL, "Remaining error budget (period)", 'slo:period_error_budget_remaining:ratio{sloth_service='
                   '"${service}", sloth_slo="${slo}"} or on() vector(1)', ("sloth_id",), ({"sloth_id": IDS["sloth_id"]},)),
    DashboardQuery(DETAIL, "Burn rate (speed) magnitude", 'slo:current_burn_rate:ratio{sloth_service="${service}", '
                   'sloth_slo="${slo}"} > 0', ("sloth_id",), ({"sloth_id": IDS["sloth_id"]},)),
    DashboardQuery(DETAIL, "Warning alert", 'max(ALERTS{sloth_service="${service}", sloth_slo="${slo}", '
                   'sloth_severity="ticket"}) OR on() vector(0)', (), ({},)),
    DashboardQuery(DETAIL, "Critical alert", 'max(ALERTS{sloth_service="${service}", sloth_slo="${slo}", '
                   'sloth_severity="page"}) or on() vector(0)', (), ({},)),
)
# Where a panel's number is known from the inputs: every request fails for an hour, so every tier fires.
VALUES = {"SLOs": 2, "Services": 1, "Warning alerts": 1, "Critical alerts": 1, "Warning alert": 1, "Critical alert": 1}


def _filled(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def _check(q: DashboardQuery) -> dict:
    """count by the panel's labels: each series the panel draws, with the label values it shows."""
    expr = f"count by ({', '.join(q.by)}) ({_filled(q.expr)})" if q.by else f"count({_filled(q.expr)})"
    samples = [{"labels": "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(e.items())) + "}", "value": q.each} for e in q.expected]
    checks = [{"expr": expr, "eval_time": EVAL, "exp_samples": samples}]
    if q.panel in VALUES:
        checks.append({"expr": _filled(q.expr), "eval_time": EVAL, "exp_samples": [{"labels": "{}", "value": VALUES[q.panel]}]})
    return checks


def _promtool(tmp: Path, options: SloOptions) -> tuple[int, str]:
    catalogs = tmp / "catalogs"
    catalogs.mkdir(parents=True)
    (catalogs / "shop.yaml").write_text(CATALOG)
    files = pipeline.generate(catalogs, only=["rules"], plan_settings=PlanSettings(slo=options))
    (tmp / "shop.yaml").write_text(files["rules/shop.yaml"])
    groups = [g["name"] for g in yaml.safe_load(files["rules/shop.yaml"])["groups"]]
    failing = {"series": 'shop_requests_total{code="500", job="shop"}', "values": "0+60x70"}
    test = {"rule_files": ["shop.yaml"], "evaluation_interval": "1m", "group_eval_order": groups, "tests": [
        {"name": "every request fails for an hour", "interval": "1m", "input_series": [failing],
         "promql_expr_test": [c for q in QUERIES for c in _check(q)]}]}
    (tmp / "dashboards.test.yaml").write_text(yaml.safe_dump(test, sort_keys=False, width=10**6))
    result = run([require_tool("promtool"), "test", "rules", "dashboards.test.yaml"], cwd=tmp)
    return result.returncode, result.stdout + result.stderr


def test_sloth_dashboards_find_their_series_in_obsgens_rules(tmp_path: Path) -> None:
    code, output = _promtool(tmp_path, SloOptions(sloth_compatible=True))
    assert code == 0, output
    assert len(QUERIES) == 28  # the list documented in docs/slo-interop.md


def test_without_the_option_the_dashboards_find_nothing(tmp_path: Path) -> None:
    code, output = _promtool(tmp_path, SloOptions())
    assert code != 0 and "sloth_slo_info" in output


def test_sloth_compatible_series_are_off_by_default() -> None:
    assert not SloOptions().sloth_compatible and not PlanSettings().slo.sloth_compatible
    root = Path(__file__).resolve().parent.parent
    assert not any("sloth_" in p.read_text() for p in (root / "rules").glob("*.yaml"))


def test_dashboard_queries_are_listed_in_the_docs() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "slo-interop.md").read_text()
    for q in QUERIES:
        assert f"| {q.dashboard} | {q.panel} |" in doc, q.panel


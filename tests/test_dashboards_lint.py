"""Dashboard lint (what grafana/dashboard-linter checks, plus PromQL parsing and known series) over every
generated dashboard, and one deliberately broken dashboard per rule proving the rule can fail."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from obsgen.catalog import load_bundle
from obsgen.check.grafana_lint import Known, lint_dashboard, rate_ranges
from obsgen.emit.grafana import emit
from obsgen.plan import build_plan
from obsgen.settings import Settings

from conftest import ROOT

Dash = dict[str, Any]


@pytest.fixture(scope="session")
def generated() -> tuple[dict[str, Dash], Known]:
    plan = build_plan(load_bundle(ROOT / "catalogs"))
    files = emit(plan, Settings())
    dashboards = {path: json.loads(text) for path, text in files.items() if path.endswith(".json")}
    return dashboards, Known.from_plan(plan)


def test_every_generated_dashboard_is_clean(generated: tuple[dict[str, Dash], Known]) -> None:
    dashboards, known = generated
    assert len(dashboards) >= 6
    findings = [str(f) for path, d in sorted(dashboards.items()) for f in lint_dashboard(path, d, known)]
    assert findings == []


def test_fixture_catalog_dashboards_are_clean() -> None:
    plan = build_plan(load_bundle(ROOT / "tests" / "fixtures" / "catalogs"))
    known = Known.from_plan(plan)
    dashboards = {p: json.loads(t) for p, t in emit(plan, Settings()).items() if p.endswith(".json")}
    assert [str(f) for p, d in sorted(dashboards.items()) for f in lint_dashboard(p, d, known)] == []


def test_committed_dashboards_are_clean(generated: tuple[dict[str, Dash], Known]) -> None:
    """What ships in dashboards/ passes too (the drift check keeps it equal to the generated set)."""
    _, known = generated
    paths = sorted((ROOT / "dashboards").rglob("*.json"))
    assert paths, "dashboards/ is empty: run `make generate`"
    findings = [str(f) for p in paths for f in lint_dashboard(str(p), json.loads(p.read_text(encoding="utf-8")), known)]
    assert findings == []


def _panel(d: Dash, kind: str, needle: str = "") -> Dash:
    return next(p for p in d["panels"] if p["type"] == kind and needle in json.dumps(p.get("targets", [])))


def _set_expr(kind: str, expr: str, needle: str = "") -> Callable[[Dash], None]:
    def mutate(d: Dash) -> None:
        _panel(d, kind, needle)["targets"][0]["expr"] = expr

    return mutate


def _drop_variable(name: str) -> Callable[[Dash], None]:
    def mutate(d: Dash) -> None:
        d["templating"]["list"] = [v for v in d["templating"]["list"] if v["name"] != name]

    return mutate


def _set_panel(key: str, value: Any, kind: str = "timeseries") -> Callable[[Dash], None]:
    def mutate(d: Dash) -> None:
        _panel(d, kind)[key] = value

    return mutate


def _set_unit(unit: Any) -> Callable[[Dash], None]:
    def mutate(d: Dash) -> None:
        _panel(d, "stat")["fieldConfig"]["defaults"]["unit"] = unit

    return mutate


def _no_exemplar(d: Dash) -> None:
    _panel(d, "timeseries", "histogram_quantile")["targets"][0]["exemplar"] = False


def _no_alert_annotation(d: Dash) -> None:
    d["annotations"]["list"] = [a for a in d["annotations"]["list"] if "expr" not in a]


BROKEN: dict[str, tuple[str, Callable[[Dash], None]]] = {
    "no datasource variable": ("template-datasource", _drop_variable("datasource")),
    "hard-coded datasource uid": ("template-datasource", _set_panel("datasource", {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"})),
    "string datasource": ("template-datasource", _set_panel("datasource", "Prometheus")),
    "no job variable": ("template-job-instance", _drop_variable("job")),
    "no instance variable": ("template-job-instance", _drop_variable("instance")),
    "missing unit": ("panel-units", _set_unit(None)),
    "unknown unit": ("panel-units", _set_unit("furlongs")),
    "fixed rate range": ("target-rate-interval", _set_expr(
        "timeseries", 'histogram_quantile(0.5, sum by (le) (rate(divan_http_request_duration_seconds_bucket{job=~"$job", '
                      'instance=~"$instance"}[5m])))', "histogram_quantile")),
    "no job matcher": ("target-job-instance", _set_expr(
        "timeseries", 'sum by (route) (job_method_route_status:divan_http_requests:rate5m{status="500"})', "rate5m")),
    "no instance matcher": ("target-job-instance", _set_expr(
        "stat", 'avg by (job) (up{job=~"$job"})', "up{")),
    "bare counter": ("target-counter-agg", _set_expr(
        "stat", 'sum(divan_http_requests_total{job=~"$job", instance=~"$instance"})', "rate5m")),
    "raw rate where the plan records one": ("target-recording-rule", _set_expr(
        "stat", 'sum(rate(divan_http_requests_total{job=~"$job", instance=~"$instance"}[$__rate_interval]))', "rate5m")),
    "unparsable PromQL": ("target-promql", _set_expr("stat", 'sum(rate(divan_http_requests_total{job=~"$job"}[$__rate_interval])', "rate5m")),
    "unknown metric": ("target-known-series", _set_expr(
        "stat", 'sum(divan_made_up_metric{job=~"$job", instance=~"$instance"})', "rate5m")),
    "unknown recording rule": ("target-known-series", _set_expr("stat", 'sum(job:divan_nothing:rate5m{job=~"$job"})', "rate5m")),
    "angular graph panel": ("panel-type", _set_panel("type", "graph")),
    "no description": ("panel-title-description", _set_panel("description", "")),
    "no title": ("panel-title-description", _set_panel("title", "")),
    "no targets": ("panel-targets", _set_panel("targets", [])),
    "latency without exemplars": ("target-exemplar", _no_exemplar),
    "no alert annotation": ("dashboard-alert-annotation", _no_alert_annotation),
    "random uid": ("dashboard-uid", lambda d: d.update(uid="a uid with spaces that is also far too long for grafana")),
    "old schema": ("dashboard-schema", lambda d: d.update(schemaVersion=12)),
    "log selector matching every stream": ("target-job-instance", _set_expr("logs", '{service_name=~"$job"} |~ "$search"')),
    "unscoped SLO series": ("target-job-instance", _set_expr("stat", "slo:objective:ratio", "slo:")),
    "k6 series without a load_test matcher": ("target-job-instance", _set_expr("timeseries", "sum(k6_vus)", "k6_vus")),
    "bare k6 counter": ("target-counter-agg", _set_expr(
        "timeseries", 'sum(k6_http_reqs_total{load_test=~"$load_test"})', "k6_http_reqs_total")),
    "k6 trend stat remote write does not send": ("target-known-series", _set_expr(
        "timeseries", 'max(k6_http_req_duration_p50{load_test=~"$load_test"})', "k6_http_req_duration_p95")),
}
LOAD_TESTS = "dashboards/fleet/load-tests.json"


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_rule_fails_on_a_broken_dashboard(case: str, generated: tuple[dict[str, Dash], Known]) -> None:
    dashboards, known = generated
    rule, mutate = BROKEN[case]
    path = LOAD_TESTS if "k6" in case else "dashboards/divan-api/slo.json" if "SLO" in case else "dashboards/divan-api/overview.json"
    broken = copy.deepcopy(dashboards[path])
    assert lint_dashboard(path, broken, known) == []
    mutate(broken)
    rules = {f.rule for f in lint_dashboard(path, broken, known)}
    assert rule in rules, f"{case}: expected a {rule} finding, got {sorted(rules)}"


def test_rate_ranges_reads_nested_calls() -> None:
    assert rate_ranges("sum(rate(a[5m])) / sum(irate(b{x=\"y\"}[$__rate_interval]))") == ["5m", "$__rate_interval"]
    assert rate_ranges("increase(a[1h])") == []

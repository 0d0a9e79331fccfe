"""Raw-query SLOs: validation (declared metrics type-checked, {{.window}} required), the steady evaluator that proves
their rule-test inputs, the generated rules and tests through promtool, and the SLO options (for:, Sloth labels)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from obsgen.errors import CatalogError
from obsgen.pipeline import load, plan
from obsgen.plan.steady import Evaluator, Steady, Unsupported
from obsgen.promql_parse import to_expr
from obsgen.slo_options import SloOptions

from conftest import obsgen, require_tool, run

HEAD = """service: {name: shop, team: web}
metrics:
  - {name: shop_requests_total, type: counter, help: Requests., unit: requests, labels: {code: {values: ["200", "500"]}}}
  - {name: shop_queue_depth, type: gauge, help: Queue depth., unit: items}
  - {name: shop_latency_seconds, type: histogram, help: Latency., unit: seconds, buckets: [0.1, 0.4, 1]}
  - {name: wifi_client_satisfaction_ratio, type: gauge, help: Satisfaction., unit: ratio}
slos:
"""
SHAPES = """
  - name: events
    kind: query
    objective: 99.9
    error_query: sum(rate(shop_requests_total{code="500"}[{{.window}}]))
    total_query: sum(rate(shop_requests_total[{{.window}}]))
  - name: latency
    kind: query
    objective: 99
    error_query: |
      sum(rate(shop_latency_seconds_count[{{.window}}]))
      -
      sum(rate(shop_latency_seconds_bucket{le="0.4"}[{{.window}}]))
    total_query: sum(rate(shop_latency_seconds_count[{{.window}}]))
  - name: good-over-total
    kind: query
    objective: 99.9
    error_ratio_query: 1 - (sum(rate(shop_requests_total{code!="500"}[{{.window}}])) / sum(rate(shop_requests_total[{{.window}}])))
  - name: satisfied
    kind: query
    objective: 95
    error_query: sum_over_time((count(wifi_client_satisfaction_ratio < 0.75))[{{.window}}:]) OR on() vector(0)
    total_query: sum_over_time((count(wifi_client_satisfaction_ratio))[{{.window}}:])
  - name: average
    kind: query
    objective: 95
    error_ratio_query: 1 - (sum(sum_over_time(wifi_client_satisfaction_ratio[{{.window}}])) / sum(count_over_time(wifi_client_satisfaction_ratio[{{.window}}])))
  - name: other-exporter
    kind: query
    objective: 99.5
    error_query: sum(rate(nginx_http_requests_total{status=~"5.."}[{{.window}}]))
    total_query: sum(rate(nginx_http_requests_total[{{.window}}]))
    alerting: {name: NginxErrors, labels: {team_channel: web}, page: {severity: warning}, ticket: {disable: true}}
"""


def _folder(tmp: Path, slos: str) -> Path:
    folder = tmp / "catalogs"
    folder.mkdir(exist_ok=True)
    (folder / "shop.yaml").write_text(HEAD + slos)
    return folder


def _problems(tmp: Path, slos: str) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        plan(load(_folder(tmp, slos)))
    return [str(p) for p in caught.value.problems]


def test_every_shape_generates_rules_whose_tests_pass_promtool(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = obsgen("generate", "--catalogs", str(_folder(tmp_path, SHAPES)), "--out", str(out), "--only", "rules,rule-tests")
    assert result.returncode == 0, result.stderr
    rules = yaml.safe_load((out / "rules" / "shop.yaml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    nginx = [a for a in alerts if a["alert"] == "NginxErrors"]
    assert len(nginx) == 1 and nginx[0]["labels"]["severity"] == "warning" and nginx[0]["labels"]["team_channel"] == "web"
    tests = run([require_tool("promtool"), "test", "rules", str(out / "rules" / "tests" / "shop.test.yaml")])
    assert tests.returncode == 0, tests.stdout + tests.stderr
    text = (out / "rules" / "tests" / "shop.test.yaml").read_text()
    assert "fires when 50% of events fail" in text  # good/total reads nothing without a good event: one of each


@pytest.mark.parametrize(("slo", "message"), [
    ("error_query: sum(rate(shop_queue_depth[{{.window}}]))\n    total_query: sum(rate(shop_requests_total[{{.window}}]))",
     "slos[0].error_query: rate() on 'shop_queue_depth', which is a gauge; rate functions need a counter"),
    ("error_query: sum(shop_requests_total{code=\"500\"}) > 0 * vector(time()) + 0 * sum(rate(x[{{.window}}]))\n"
     "    total_query: sum(rate(shop_requests_total[{{.window}}]))",
     "slos[0].error_query: counter 'shop_requests_total' must be wrapped in rate() or increase()"),
    ("error_query: sum(rate(shop_requests_total{code=\"500\"}[5m]))\n    total_query: sum(rate(shop_requests_total[{{.window}}]))",
     "slos[0].error_query: must use {{.window}} where the range goes"),
    ("error_query: sum(rate(shop_requests_total{route=\"/\"}[{{.window}}]))\n    total_query: sum(rate(shop_requests_total[{{.window}}]))",
     "slos[0].error_query: label 'route' is not declared on metric 'shop_requests_total'"),
    ("error_ratio_query: sum(rate(shop_requests_total[{{.window}}])\n", "slos[0].error_ratio_query: PromQL does not parse"),
    ("error_query: sum(rate(shop_requests_total[{{.window}}]))", "slos[0]: a query SLO with error_query needs total_query too"),
    ("error_query: x\n    error_ratio_query: y", "give either error_query and total_query, or error_ratio_query, not both"),
    ("errors: {metric: shop_requests_total}\n    error_ratio_query: x[{{.window}}]",
     "slos[0].errors: 'errors' is for availability SLOs; query SLOs use error_query, total_query"),
    ("error_ratio_query: x[{{.window}}]\n    labels: {slo: x, sloth_id: y}", "slos[0].labels.slo: label 'slo' is set by obsgen"),
    ("error_ratio_query: x[{{.window}}]\n    alerting: {annotations: {summary: \"{{ $labels.x }}\"}}",
     "slos[0].alerting.annotations.summary: summary must be a plain sentence"),
])
def test_query_slo_mistakes_are_located(tmp_path: Path, slo: str, message: str) -> None:
    problems = _problems(tmp_path, f"  - name: one\n    kind: query\n    objective: 99.9\n    {slo}\n")
    assert any(message in p and "shop.yaml:" in p for p in problems), problems


def test_an_sli_obsgen_cannot_prove_asks_for_test_input(tmp_path: Path) -> None:
    slos = "  - name: one\n    kind: query\n    objective: 99.9\n    error_ratio_query: histogram_quantile(0.9, sum by (le) " \
           "(rate(shop_latency_seconds_bucket[{{.window}}])))\n"
    problems = _problems(tmp_path, slos)
    assert any("shop.yaml:8: slos[0]: cannot synthesise rule-test inputs from these queries (histogram_quantile())"
               "; add a 'test' with firing and silent input series" in p for p in problems), problems


def test_an_slos_own_test_input_is_used(tmp_path: Path) -> None:
    slos = """  - name: one
    kind: query
    objective: 99
    error_ratio_query: max_over_time(shop_queue_depth[{{.window}}]) / 100
    test:
      firing: {series: [{series: 'shop_queue_depth{job="shop"}', values: "90x40"}], eval_time: 30m, labels: {job: shop}}
      silent: {series: [{series: 'shop_queue_depth{job="shop"}', values: "0x40"}], eval_time: 30m}
"""
    out = tmp_path / "out"
    result = obsgen("generate", "--catalogs", str(_folder(tmp_path, slos)), "--out", str(out), "--only", "rules,rule-tests")
    assert result.returncode == 0, result.stderr
    tests = run([require_tool("promtool"), "test", "rules", str(out / "rules" / "tests" / "shop.test.yaml")])
    assert tests.returncode == 0, tests.stdout + tests.stderr
    broken = (out / "rules" / "tests" / "shop.test.yaml").read_text().replace('"90x40"', '"1x40"')
    (out / "rules" / "tests" / "shop.test.yaml").write_text(broken)
    assert run([require_tool("promtool"), "test", "rules", str(out / "rules" / "tests" / "shop.test.yaml")]).returncode == 1


def _steady(*series: tuple[dict[str, str], bool, float]) -> Evaluator:
    return Evaluator([Steady(tuple(sorted(labels.items())), counter, value) for labels, counter, value in series])


def test_the_steady_evaluator_reads_what_prometheus_would() -> None:
    ev = _steady(({"__name__": "x", "code": "500"}, True, 1.0), ({"__name__": "x", "code": "200"}, True, 3.0),
                 ({"__name__": "g", "c": "1"}, False, 0.0), ({"__name__": "g", "c": "2"}, False, 1.0))
    assert ev.instant(to_expr('sum(rate(x{code=~"5.."}[5m])) / sum(rate(x[5m]))')) == [((), 0.25)]
    assert ev.instant(to_expr("sum(increase(x[1h]))")) == [((), 4.0 * 3600)]
    assert ev.instant(to_expr("sum_over_time((count(g < 0.5))[10m:]) / sum_over_time((count(g))[10m:])")) == [((), 0.5)]
    assert ev.instant(to_expr("sum by (code) (rate(x[5m])) > 2")) == [((("code", "200"),), 3.0)]
    assert ev.instant(to_expr('rate(x{code="404"}[5m]) or on() vector(0)')) == [((), 0.0)]
    assert ev.instant(to_expr("sum(rate(x[5m])) / on() group_left sum(rate(x[5m]))")) == [((), 1.0)]
    assert math.isnan(ev.instant(to_expr("sum(rate(x{code=\"404\"}[5m])) or vector(0) / 0"))[0][1])
    for unsupported in ("x", "sum_over_time(x[5m])", "histogram_quantile(0.9, rate(x[5m]))", "rate(g[5m])",
                        "topk(1, rate(x[5m]))", "x offset 5m"):
        with pytest.raises(Unsupported):
            ev.instant(to_expr(unsupported))


def _project(tmp: Path, slos: str) -> Path:
    path = tmp / "obsgen.yaml"
    path.write_text("version: 1\nslos:\n" + slos)
    return path


def test_slo_options_come_from_the_project_file(tmp_path: Path) -> None:
    from obsgen.project import load_project

    assert load_project(_project(tmp_path, "  burn_alert_for: {page: none, ticket: 0m}\n")).plan.slo == SloOptions()
    assert load_project(_project(tmp_path, "  sloth_compatible: true\n  burn_alert_for: {page: 1m, ticket: 5m}\n")).plan.slo == \
        SloOptions(True, "1m", "5m")
    assert load_project(_project(tmp_path, "  {}\n")).plan.slo == SloOptions() and not SloOptions().sloth_compatible


@pytest.mark.parametrize(("slos", "expected"), [
    ("  burn_alert_for: {page: 2h}\n",
     "obsgen.yaml:3: slos.burn_alert_for.page: 2h is longer than 1h; a burn alert that waits that long has missed its window"),
    ("  burn_alert_for:\n    ticket: soon\n", "obsgen.yaml:4: slos.burn_alert_for.ticket: "),
    ("  sloth_compatible: maybe\n", "obsgen.yaml:3: slos.sloth_compatible: "),
    ("  burn_alert: {page: 2m}\n", "obsgen.yaml:3: slos.burn_alert: unknown field 'burn_alert'"),
])
def test_a_bad_slo_option_is_one_located_line(tmp_path: Path, slos: str, expected: str) -> None:
    config = _project(tmp_path, slos)
    (tmp_path / "catalogs").mkdir()
    result = obsgen("validate", "--config", str(config), cwd=tmp_path)
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 2 and lines[0].startswith(f"{tmp_path}/{expected}"), result.stderr


def test_for_on_burn_alerts_follows_the_option(tmp_path: Path) -> None:
    folder = _folder(tmp_path, SHAPES)
    for value, page, ticket in (("", None, None), ("{page: 2m, ticket: 15m}", "2m", "15m"), ("{page: 5m, ticket: 5m}", "5m", "5m")):
        out = tmp_path / f"out-{value or 'default'}"
        config = _project(tmp_path, f"  burn_alert_for: {value}\n" if value else "  {}\n")
        result = obsgen("generate", "--config", str(config), "--catalogs", str(folder), "--out", str(out),
                        "--only", "rules,rule-tests")
        assert result.returncode == 0, result.stderr
        rules = yaml.safe_load((out / "rules" / "shop.yaml").read_text())
        alerts = {(r["alert"], r["labels"]["severity"]): r.get("for") for g in rules["groups"] for r in g["rules"] if "alert" in r}
        assert alerts[("ShopEventsErrorBudgetBurn", "critical")] == page
        assert alerts[("ShopEventsErrorBudgetBurn", "warning")] == ticket
        tests = run([require_tool("promtool"), "test", "rules", str(out / "rules" / "tests" / "shop.test.yaml")])
        assert tests.returncode == 0, tests.stdout + tests.stderr

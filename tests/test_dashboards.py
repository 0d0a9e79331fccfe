"""The Grafana emitter: which dashboards exist, what every one of them carries, provisioning, determinism."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
import yaml

from obsgen.catalog import load_bundle
from obsgen.emit import EMITTERS, emit_all
from obsgen.emit.grafana import ROOTS, emit, emit_dashboards, emit_provisioning
from obsgen.emit.grafana.queries import dashboard_expr, jobs_regex
from obsgen.emit.grafana.spec import UID_MAX, stable_uid
from obsgen.model import Bundle, Matcher
from obsgen.plan import Plan, build_plan
from obsgen.promql import render, vector
from obsgen.promql_parse import check_syntax, substitute_macros
from obsgen.settings import Settings

from conftest import ROOT

Dash = dict[str, Any]


@pytest.fixture(scope="session")
def bundle() -> Bundle:
    return load_bundle(ROOT / "catalogs")


@pytest.fixture(scope="session")
def plan(bundle: Bundle) -> Plan:
    return build_plan(bundle)


@pytest.fixture(scope="session")
def files(plan: Plan) -> dict[str, str]:
    return emit(plan, Settings())


@pytest.fixture(scope="session")
def dashboards(files: dict[str, str]) -> dict[str, Dash]:
    return {p: json.loads(t) for p, t in files.items() if p.endswith(".json")}


def _panels(d: Dash) -> list[Dash]:
    return [p for p in d["panels"] if p["type"] != "row"]


def _exprs(d: Dash) -> list[str]:
    return [t["expr"] for p in _panels(d) for t in p["targets"]]


def test_registered_with_its_roots() -> None:
    dashboards, provisioning = EMITTERS["dashboards"], EMITTERS["provisioning"]
    assert dashboards.emitter() is emit_dashboards and provisioning.emitter() is emit_provisioning
    assert (dashboards.root, provisioning.root) == ROOTS == ("dashboards", "compose/grafana")


def test_every_service_gets_its_dashboards(bundle: Bundle, dashboards: dict[str, Dash]) -> None:
    expected = {"dashboards/fleet/overview.json", "dashboards/fleet/alerts.json"}
    for svc in bundle.services:
        expected.add(f"dashboards/{svc.name}/overview.json")
        if svc.slos:
            expected.add(f"dashboards/{svc.name}/slo.json")
        expected |= {f"dashboards/{svc.name}/{d.slug}.json" for d in svc.dashboards}
    if any(svc.load_tests for svc in bundle.services):
        expected.add("dashboards/fleet/load-tests.json")
    assert set(dashboards) == expected
    # The seed systems' own dashboards, as their catalogs declare them.
    titles = {d["title"] for d in dashboards.values()}
    for svc in bundle.services:
        for dash in svc.dashboards:
            assert f"{svc.display_name} / {dash.title}" in titles
            generated = dashboards[f"dashboards/{svc.name}/{dash.slug}.json"]
            assert [p["title"] for p in generated["panels"] if p["type"] == "row"] == [r.title for r in dash.rows]
            assert [p["title"] for p in _panels(generated)] == [p.title for r in dash.rows for p in r.panels]


def test_output_is_deterministic_and_sorted(files: dict[str, str]) -> None:
    again = emit(build_plan(load_bundle(ROOT / "catalogs")), Settings())
    assert again == files
    for path, text in files.items():
        if path.endswith(".json"):
            assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_uids_are_stable_unique_and_valid(bundle: Bundle, dashboards: dict[str, Dash]) -> None:
    uids = [d["uid"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids)
    for path, d in dashboards.items():
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", d["uid"]), path
        folder, slug = path.split("/")[1], path.split("/")[2][:-5]
        assert d["uid"] == (stable_uid("obsgen", folder, slug) if folder == "fleet" else stable_uid(folder, slug))
    long = stable_uid("a-very-long-service-name-for-testing", "an-even-longer-dashboard-slug")
    assert len(long) == UID_MAX and long == stable_uid("a-very-long-service-name-for-testing", "an-even-longer-dashboard-slug")
    assert long != stable_uid("a-very-long-service-name-for-testing", "an-even-longer-dashboard-slug-2")


def _nulls(value: Any, path: str = "") -> list[str]:
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in _nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in _nulls(v, f"{path}[{i}]")]
    return []


def test_current_model_not_grafanalibs(dashboards: dict[str, Dash]) -> None:
    for path, d in dashboards.items():
        assert d["schemaVersion"] >= 39, path
        assert not {"rows", "hideControls", "sharedCrosshair", "style", "__inputs", "gnetId"} & set(d), path
        # The only null Grafana's schema wants: the base step of a threshold list.
        assert all(re.search(r"thresholds\.steps\[0\]\.value$", n) for n in _nulls(d)), (path, _nulls(d))
        assert {p["type"] for p in d["panels"]} <= {"row", "timeseries", "stat", "gauge", "table", "logs", "bargauge"}
        for p in _panels(d):
            assert isinstance(p["datasource"], dict) and p["datasource"]["uid"] in ("${datasource}", "${loki}"), path
            assert p["fieldConfig"]["defaults"]["unit"], (path, p["title"])
            assert p["description"], (path, p["title"])
        assert d["annotations"]["list"][1]["expr"].startswith("ALERTS{")
        assert "Generated by obsgen" in d["description"]


def test_every_promql_parses_and_rates_use_rate_interval(dashboards: dict[str, Dash]) -> None:
    for path, d in dashboards.items():
        for p in _panels(d):
            if p["type"] == "logs":
                continue
            for t in p["targets"]:
                check_syntax(substitute_macros(t["expr"]))
                for rng in re.findall(r"\brate\([^\[]*\[([^\]]+)\]", t["expr"]):
                    assert rng == "$__rate_interval", (path, t["expr"])


def test_service_overview_is_red_with_logs_exemplars_and_runbooks(plan: Plan, dashboards: dict[str, Dash]) -> None:
    divan = dashboards["dashboards/divan-api/overview.json"]
    titles = [p["title"] for p in _panels(divan)]
    for wanted in ("Request rate", "Error ratio", "Request rate by route", "Error ratio by route", "Latency p50 / p95 / p99",
                   "p95 latency by route", "p99 latency by route", "Scrape targets up", "Firing alerts", "Logs"):
        assert wanted in titles
    latency = [p for p in _panels(divan) if p["title"].startswith("Latency") or "latency by" in p["title"]]
    assert len(latency) == 4 and all(t["exemplar"] for p in latency for t in p["targets"])
    assert all(p["fieldConfig"]["defaults"]["unit"] == "s" for p in latency)
    logs = next(p for p in _panels(divan) if p["type"] == "logs")
    assert logs["datasource"] == {"type": "loki", "uid": "${loki}"}
    assert logs["targets"][0]["expr"] == '{service_name=~"divan-api"} |~ "$search"'
    assert {v["name"] for v in divan["templating"]["list"]} >= {"datasource", "loki", "job", "instance", "search"}
    # Request rate reads the plan's recording rule.
    rate = next(p for p in _panels(divan) if p["title"] == "Request rate")
    record = plan.service("divan-api").rate_record("divan_http_requests_total")
    assert record and record in rate["targets"][0]["expr"]
    # A runbook link per alert, and the firing table links each row to its runbook.
    links = {link["url"] for link in divan["links"] if link["type"] == "link"}
    for rule in plan.service("divan-api").alerts:
        assert dict(rule.annotations)["runbook_url"] in links
    # The firing table links each row to its service's runbook page (Grafana cannot lowercase a cell into an anchor).
    table = next(p for p in _panels(divan) if p["title"] == "Firing alerts")
    page = table["fieldConfig"]["defaults"]["links"][0]["url"]
    assert page.endswith("/runbooks/divan-api.md") and all(url.startswith(page + "#") for url in links)


def test_slo_dashboard_reads_the_slo_rules(bundle: Bundle, plan: Plan, dashboards: dict[str, Dash]) -> None:
    records = plan.record_names
    for svc in bundle.services:
        if not svc.slos:
            continue
        d = dashboards[f"dashboards/{svc.name}/slo.json"]
        text = "\n".join(_exprs(d))
        for name in ("slo:error_budget_remaining:ratio", "slo:objective:ratio", "slo:error_budget:ratio"):
            assert name in text
        for slo in svc.slos:
            assert f'{{service="{svc.name}", slo="{slo.name}"}}' in text
        used = set(re.findall(r"slo:[a-z_]+:[a-z_0-9]+", text))
        assert used <= records, used - records
        burn = next(p for p in _panels(d) if p["title"] == "Burn rate per window")
        assert [t["legendFormat"] for t in burn["targets"]] == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]


def test_fleet_overview_lists_services_in_a_fixed_number_of_panels(bundle: Bundle, dashboards: dict[str, Dash]) -> None:
    fleet = dashboards["dashboards/fleet/overview.json"]
    titles = [p["title"] for p in _panels(fleet)]
    assert {"Services with firing alerts", "Least error budget left", "Every SLO", "Firing alerts by service"} <= set(titles)
    assert len(fleet["panels"]) <= 20
    service_var = next(v for v in fleet["templating"]["list"] if v["name"] == "service")
    assert service_var["query"].split(",") == [s.name for s in bundle.services] + ["obsgen"]
    # Tables list one row per service (or SLO) and open that service's dashboards.
    every = next(p for p in _panels(fleet) if p["title"] == "Every SLO")
    assert every["fieldConfig"]["defaults"]["links"][0]["url"] == "/dashboards?tag=${__data.fields.service}"
    assert all('service=~"$service"' in e or "$job" in e for e in _exprs(fleet))
    alerts = dashboards["dashboards/fleet/alerts.json"]
    text = "\n".join(_exprs(alerts))
    assert 'ALERTS{alertstate="firing"' in text and "ALERTS_FOR_STATE" in text
    service_var = next(v for v in alerts["templating"]["list"] if v["name"] == "service")
    assert service_var["query"].split(",") == [s.name for s in bundle.services] + ["obsgen"]


def test_load_tests_dashboard_shows_the_k6_panels(bundle: Bundle, plan: Plan, dashboards: dict[str, Dash]) -> None:
    assert any(svc.load_tests for svc in bundle.services), "the catalogs declare no load test"
    d = dashboards["dashboards/fleet/load-tests.json"]
    assert d["title"] == "Fleet / Load tests" and d["uid"] == stable_uid("obsgen", "fleet", "load-tests")
    panels = [(p["type"], p["title"], p["fieldConfig"]["defaults"]["unit"], t["expr"], t["legendFormat"])
              for p in _panels(d) for t in p["targets"]]
    assert panels == [("timeseries", p.title, p.unit, p.expr, p.legend) for p in plan.load_panels]
    var = next(v for v in d["templating"]["list"] if v["name"] == "load_test")
    assert var["type"] == "query" and var["multi"] is True and var["includeAll"] is True
    assert var["query"]["query"] == "label_values(k6_http_reqs_total, load_test)"
    assert var["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert all('load_test=~"$load_test"' in t["expr"] for p in _panels(d) for t in p["targets"])


def test_no_load_tests_dashboard_without_load_tests(bundle: Bundle) -> None:
    plain = dataclasses.replace(bundle, services=tuple(dataclasses.replace(s, load_tests=()) for s in bundle.services))
    paths = set(emit(build_plan(plain), Settings()))
    assert "dashboards/fleet/overview.json" in paths and "dashboards/fleet/load-tests.json" not in paths


def _panel_text(expr: str) -> str:
    out = dashboard_expr(expr)
    return out if isinstance(out, str) else render(out)


def test_catalog_expr_panels_get_instance_and_rate_interval() -> None:
    assert _panel_text('sum(rate(x_total{job=~"$job"}[5m]))') == \
        'sum(rate(x_total{job=~"$job", instance=~"$instance"}[$__rate_interval]))'
    assert _panel_text('sum(a:b:rate5m{job=~"$job"})') == 'sum(a:b:rate5m{job=~"$job"})'
    assert _panel_text('increase(x_total{job=~"$job"}[1h])') == 'increase(x_total{job=~"$job", instance=~"$instance"}[1h])'
    assert _panel_text('sum by (x) (y{job=~"$job", instance="a"}) / 2') == 'sum by (x) (y{job=~"$job", instance="a"}) / 2'
    # What the builder cannot model stays as the catalog wrote it.
    assert _panel_text('topk($k, x{job=~"$job"})') == 'topk($k, x{job=~"$job"})'
    assert jobs_regex(("a.b", "c")) == "a\\.b|c"
    assert render(vector("up", (Matcher("job", "=~", jobs_regex(("a.b", "c"))),))) == 'up{job=~"a\\\\.b|c"}'


def test_provisioning(files: dict[str, str]) -> None:
    ds_text = files["compose/grafana/provisioning/datasources/obsgen.yaml"]
    assert ds_text.startswith("# Generated by obsgen")
    ds = {d["uid"]: d for d in yaml.safe_load(ds_text)["datasources"]}
    assert {uid: (d["type"], d["url"]) for uid, d in ds.items()} == {
        "prometheus": ("prometheus", "http://prometheus:9090"),
        "loki": ("loki", "http://loki:3100"),
        "jaeger": ("jaeger", "http://jaeger:16686"),
        "alertmanager": ("alertmanager", "http://alertmanager:9093"),
        "cortex": ("prometheus", "http://cortex-querier:9009/prometheus"),  # the scale profile's querier
    }
    assert ds["prometheus"]["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"] == "jaeger"
    derived = ds["loki"]["jsonData"]["derivedFields"][1]
    assert ds["loki"]["jsonData"]["derivedFields"][0]["matcherType"] == "label"
    assert derived["datasourceUid"] == "jaeger" and derived["url"] == "$${__value.raw}"
    assert re.search(derived["matcherRegex"], '{"level":"info","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}').group(1) == \
        "4bf92f3577b34da6a3ce929d0e0e4736"
    assert ds["jaeger"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"
    assert ds["alertmanager"]["jsonData"]["implementation"] == "prometheus"
    assert sum(d.get("isDefault", False) for d in ds.values()) == 1
    assert not re.search(r"(?i)password|secret|token", ds_text)
    provider = yaml.safe_load(files["compose/grafana/provisioning/dashboards/obsgen.yaml"])["providers"][0]
    assert provider["options"] == {"path": "/var/lib/grafana/dashboards", "foldersFromFilesStructure": True}
    assert provider["type"] == "file" and provider["allowUiUpdates"] is False


def test_dashboard_datasource_variables_default_to_provisioned_uids(files: dict[str, str], dashboards: dict[str, Dash]) -> None:
    provisioned = {d["type"] for d in yaml.safe_load(files["compose/grafana/provisioning/datasources/obsgen.yaml"])["datasources"]}
    for d in dashboards.values():
        for v in d["templating"]["list"]:
            if v["type"] == "datasource":
                assert v["query"] in provisioned


def test_whole_pipeline_includes_dashboards(plan: Plan) -> None:
    everything = emit_all(plan, Settings())
    assert "dashboards/fleet/overview.json" in everything
    assert "compose/grafana/provisioning/datasources/obsgen.yaml" in everything


def test_every_service_dashboard_links_each_alerts_runbook(plan: Plan, dashboards: dict[str, Dash]) -> None:
    for sp in plan.services:
        urls = {dict(rule.annotations)["runbook_url"] for rule in sp.alerts}
        mine = [d for p, d in dashboards.items() if p.startswith(f"dashboards/{sp.service.name}/")]
        assert mine
        for d in mine:
            assert urls <= {link.get("url") for link in d["links"]}, d["title"]

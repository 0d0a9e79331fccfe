"""End to end, without Docker: the generated rules in a real Prometheus scraping `obsgen simulate`, alerts through
the generated Alertmanager routes to a webhook recorder, dashboards' queries, and k6 against the demo service.

Rules run as a TEST-ONLY time-compressed copy (tests/support/localstack.py: every `for:`, range and offset divided
by 60), so 2m..15m `for:` and 5m..3d windows play out in seconds; the unshortened rules are proven by
`promtool test rules` (test_promtool.py). Every wait is bounded; the stack is stopped even on failure.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from obsgen.catalog import load_bundle
from obsgen.emit import emit_all
from obsgen.model import Bundle
from obsgen.plan import AlertRule, build_plan, plan_bundle
from obsgen.settings import Settings
from obsgen.simulate.triggers import combine, fault_for
from obsgen.writer import write

from conftest import BIN, ROOT, require_tool, run
from support import localstack as ls

# Compressed time: `make test` runs the `timing` tests at normal CPU priority beside the rest (scripts/run-tests.sh).
pytestmark = pytest.mark.timing

FIRE_TIMEOUT = 90  # longest `for:` is 15 s, but a 95% SLO's page tier needs ~45 s of total failure in its 60 s window
RESOLVE_TIMEOUT = 90  # the 30m short window of the page-tier burn alert becomes 30 s


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Bundle, Path]:
    """The catalogs' bundle and a freshly generated tree (rules, alertmanager.yml, dashboards, k6)."""
    bundle = load_bundle(ROOT / "catalogs", "prod")
    out = tmp_path_factory.mktemp("generated")
    write(emit_all(build_plan(bundle), Settings()), out)
    return bundle, out


@pytest.fixture(scope="module")
def stack(generated: tuple[Bundle, Path], tmp_path_factory: pytest.TempPathFactory):
    for tool in ("prometheus", "prometheus-alertmanager", "amtool", "promtool", "prometheus-blackbox-exporter"):
        require_tool(tool)
    bundle, out = generated
    work = tmp_path_factory.mktemp("stack")
    with ls.running(bundle, ROOT / "catalogs", out / "rules", work, out / "compose/alertmanager/alertmanager.yml",
                    obsgen=str(BIN / "obsgen")) as st:
        ls.wait_for("every target up", st.targets_up, timeout=30)
        yield st


def _receivers_for(st: ls.LocalStack, labels: dict[str, str]) -> list[str]:
    return ls.routes_test(st.am_config_file, labels)


def _firing_names(st: ls.LocalStack) -> set[str]:
    return {a["labels"]["alertname"] for a in st.firing()}


def _expect_alert(st: ls.LocalStack, rule: AlertRule, since: float) -> dict[str, Any]:
    """Wait for a firing notification of this rule (name and severity); check labels and receivers."""
    want = {"severity": rule.severity}

    def delivered() -> list[tuple[str, dict[str, Any]]]:
        got = st.webhook.matching(rule.name, "firing", want, since)
        if not got:
            return []
        labels = got[0][1]["labels"]
        expected = _receivers_for(st, labels)
        return got if {r for r, _ in got} >= set(expected) else []

    got = ls.wait_for(f"{rule.name} ({rule.severity}) at the webhook", delivered, timeout=FIRE_TIMEOUT)
    labels = got[0][1]["labels"]
    for key, value in rule.labels:
        assert labels.get(key) == value, f"{rule.name}: label {key}={labels.get(key)!r}, rule says {value!r}"
    for key in rule.output_labels:
        assert labels.get(key), f"{rule.name}: the expression's label {key} is missing from {labels}"
    expected = _receivers_for(st, labels)
    assert expected, f"{rule.name}: amtool routes it nowhere"
    receivers = {r for r, _ in got}
    assert receivers == set(expected), f"{rule.name} reached {sorted(receivers)}, the routes say {expected}"
    return labels


def test_rules_load_and_evaluate_healthy(stack: ls.LocalStack) -> None:
    def evaluated() -> list[dict[str, Any]]:
        groups = ls.http_json(f"{stack.prom_url}/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return rules if rules and all(r["health"] != "unknown" for r in rules) else []

    rules = ls.wait_for("every rule evaluated", evaluated, timeout=30)
    bad = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    assert not bad, f"rules failing evaluation: {bad}"


def test_without_faults_only_watchdog_fires(stack: ls.LocalStack, generated: tuple[Bundle, Path]) -> None:
    bundle, _ = generated
    plan = plan_bundle(bundle)
    # Start-up transients (absent(up) before the first scrape) must clear first.
    ls.wait_for("only Watchdog firing", lambda: _firing_names(stack) == {"Watchdog"}, timeout=30)
    start = time.monotonic()
    longest_for = max(ls.compressed_seconds(a.for_) for a in plan.all_alerts)
    window = int(longest_for) + 10
    time.sleep(window)
    pending_or_firing = stack.query(f'max_over_time(ALERTS{{alertname!="Watchdog"}}[{window}s])')
    assert pending_or_firing == [], f"alerts without any fault: {[r['metric'] for r in pending_or_firing]}"
    noise = [n for n in stack.webhook.notifications if n.at >= start and n.status == "firing"
             and any(a["labels"]["alertname"] != "Watchdog" for a in n.alerts)]
    assert not noise, f"notifications without any fault: {noise}"
    assert _firing_names(stack) == {"Watchdog"}, "Watchdog must keep firing through the whole window"
    watchdog = next(a for a in plan.meta_alerts if a.name == "Watchdog")
    _expect_alert(stack, watchdog, 0.0)


def _dashboard_targets(out: Path) -> list[tuple[str, str]]:
    """(file, expr) of every Prometheus target in the generated dashboards (Loki targets are LogQL: skipped)."""
    targets: list[tuple[str, str]] = []

    def walk(node: Any, where: str, ds: str | None) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("datasource"), dict) and node["datasource"].get("type"):
                ds = node["datasource"]["type"]
            if isinstance(node.get("expr"), str) and node["expr"] and ds == "prometheus":
                targets.append((where, node["expr"]))
            for v in node.values():
                walk(v, where, ds)
        elif isinstance(node, list):
            for v in node:
                walk(v, where, ds)

    for f in sorted((out / "dashboards").rglob("*.json")) if (out / "dashboards").exists() else []:
        walk(json.loads(f.read_text()), str(f.relative_to(out)), None)
    return targets


def grafana_to_promql(expr: str) -> str:
    """Substitute Grafana's macros and template variables so Prometheus can run the query."""
    for macro, value in (("$__rate_interval", "1m"), ("$__interval", "15s"), ("$__range", "1h"), ("${__range}", "1h")):
        expr = expr.replace(macro, value)
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?", ".*", expr)


def test_every_dashboard_query_returns_data(stack: ls.LocalStack, generated: tuple[Bundle, Path]) -> None:
    bundle, out = generated
    plan = plan_bundle(bundle)
    queries = [(f"plan {sp.service.name} {key}", q.expr) for sp in plan.services for key, qs in sp.panels for q in qs]
    # k6_* series exist only after a k6 run remote-writes them; test_k6_thresholds_pass_then_fail_under_latency
    # runs k6 and proves every load panel query (the load-tests dashboard's) returns data.
    queries += [(w, q) for w, q in _dashboard_targets(out) if not re.search(r"\bk6_", q)]
    assert queries, "no dashboard queries found"
    # Recording rules need a rule evaluation with a few scrapes behind them.
    def has_data(expr: str) -> bool:
        try:
            return bool(stack.query(grafana_to_promql(expr)))
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"Prometheus rejects {grafana_to_promql(expr)!r}: {exc.read().decode()[:300]}") from exc

    # ALERTS panels have data only while an alert fires: check them with every target down (TargetDown fires).
    alert_panels = [(w, q) for w, q in queries if "ALERTS" in q]
    _wait_for_data(has_data, [(w, q) for w, q in queries if "ALERTS" not in q])
    if alert_panels:
        stack.fault({"go_down": True})
        try:
            _wait_for_data(has_data, alert_panels)
        finally:
            stack.clear()
        ls.wait_for("every target up again", stack.targets_up, timeout=30)


def _wait_for_data(has_data: Any, queries: list[tuple[str, str]]) -> None:
    """Recording rules need an evaluation with a few scrapes behind them: retry the empty ones, bounded."""
    empty: list[tuple[str, str]] = []
    deadline = time.monotonic() + 45
    pending = queries
    while pending:
        empty = [(w, q) for w, q in pending if not has_data(q)]
        if not empty or time.monotonic() > deadline:
            break
        pending = empty
        time.sleep(2)
    assert not empty, "dashboard queries without data:\n" + "\n".join(f"{w}: {q}" for w, q in empty)


def _phase(stack: ls.LocalStack, bundle: Bundle, rules: list[tuple[Any, AlertRule]], body: dict[str, Any]) -> None:
    """Inject one combined fault, check each rule's alert fires, routes and (critical beside warning) inhibits; then clear it."""
    stack.wait_for_history()
    since = time.monotonic()
    stack.fault(body)
    try:
        critical = {(r.name, dict(r.labels)["service"]) for _, r in rules if r.severity == "critical"}
        fired: dict[str, dict[str, str]] = {}
        for _, rule in rules:
            if rule.severity != "critical" and (rule.name, dict(rule.labels)["service"]) in critical:
                continue  # inhibited: checked below
            fired[f"{rule.name}/{rule.severity}"] = _expect_alert(stack, rule, since)
        for _, rule in rules:
            if rule.severity == "critical" or (rule.name, dict(rule.labels)["service"]) not in critical:
                continue

            def suppressed(rule: AlertRule = rule) -> bool:
                mine = [a for a in stack.am_alerts() if a["labels"].get("alertname") == rule.name
                        and a["labels"].get("severity") == rule.severity]
                return bool(mine) and all(a["status"]["state"] == "suppressed" for a in mine)

            ls.wait_for(f"{rule.name} ({rule.severity}) suppressed by the critical one", suppressed, timeout=FIRE_TIMEOUT)
            # With long windows a warning tier may legitimately fire before the page tier; once the critical one
            # is firing, though, no notification of the warning may go out.
            critical_at = min(n.at for n in stack.webhook.notifications if n.status == "firing" and any(
                a["labels"].get("alertname") == rule.name and a["labels"].get("severity") == "critical" for a in n.alerts))
            leaked = [(r, a) for r, a in stack.webhook.matching(rule.name, "firing", {"severity": rule.severity}, critical_at + 2)]
            assert not leaked, f"{rule.name} ({rule.severity}) was delivered while a critical one inhibits it"
    finally:
        stack.clear()
    cleared = time.monotonic()
    for _, rule in rules:
        key = f"{rule.name}/{rule.severity}"
        if key not in fired:
            continue
        ls.wait_for(f"{rule.name} ({rule.severity}) resolved after the fault was removed",
                    lambda rule=rule: stack.webhook.matching(rule.name, "resolved", {"severity": rule.severity}, since),
                    timeout=RESOLVE_TIMEOUT)
    assert time.monotonic() - cleared < RESOLVE_TIMEOUT * len(rules)


def _triggerable(bundle: Bundle) -> list[tuple[Any, AlertRule, dict[str, Any]]]:
    plan = plan_bundle(bundle)
    out = []
    for sp in plan.services:
        for rule in sp.alerts:
            fault = fault_for(sp.service, rule)
            if fault is not None:
                out.append((sp.service, rule, fault))
    return out


def test_every_alert_template_fires_routes_inhibits_and_resolves(stack: ls.LocalStack, generated: tuple[Bundle, Path]) -> None:
    bundle, _ = generated
    items = _triggerable(bundle)
    origins = {r.origin for _, r, _ in items}
    # Every template the catalogs use must be triggerable (expr alerts are raw PromQL the demo cannot reason about).
    used = {r.origin for sp in plan_bundle(bundle).services for r in sp.alerts} - {"expr"}
    assert used <= origins, f"templates the demo cannot trigger: {sorted(used - origins)}"
    # Phase 1: every metric fault at once (they touch different series); absent and target-down need their own.
    metric = [(s, r, f) for s, r, f in items if not ({"absent", "go_down"} & set(f))]
    absent = [(s, r, f) for s, r, f in items if "absent" in f]
    _phase(stack, bundle, [(s, r) for s, r, _ in metric], combine([f for *_, f in metric]))
    if absent:
        _phase(stack, bundle, [(s, r) for s, r, _ in absent], combine([f for *_, f in absent]))


def test_target_down_and_health_checks_fire_and_resolve(stack: ls.LocalStack, generated: tuple[Bundle, Path]) -> None:
    bundle, _ = generated
    items = [(s, r) for s, r, f in _triggerable(bundle) if "go_down" in f]
    assert any(r.origin == "target_down" for _, r in items), "no TargetDown alerts generated"
    _phase(stack, bundle, items, {"go_down": True})


def test_fault_endpoint_rejects_what_it_cannot_apply(stack: ls.LocalStack) -> None:
    for body in ({"error_ratio": 2}, {"down": "no_such_metric"}, {"explode": True}):
        with pytest.raises(urllib.error.HTTPError) as err:
            stack.fault(body)
        assert err.value.code == 400


def test_k6_thresholds_pass_then_fail_under_latency(stack: ls.LocalStack, generated: tuple[Bundle, Path]) -> None:
    k6 = require_tool("k6")
    bundle, out = generated
    scripts = sorted((out / "k6").rglob("*.js"))
    assert scripts, "no k6 scripts generated (no catalog declares load_tests)"
    script = next((s for s in scripts if s.stem == "chat_send_load"), scripts[0])
    env = {"BASE_URL": stack.demo_url, "K6_PROMETHEUS_RW_SERVER_URL": f"{stack.prom_url}/api/v1/write",
           "K6_PROMETHEUS_RW_TREND_STATS": "p(95),p(99)", "K6_NO_USAGE_REPORT": "true"}
    # --vus/--duration replace the script's scenario with a short one; its thresholds still apply.
    cmd = [k6, "run", "--quiet", "--no-color", "--vus", "3", "--duration", "4s", "-o", "experimental-prometheus-rw", str(script)]
    ok = run(cmd, env=env, timeout=120)
    assert ok.returncode == 0, f"k6 failed against a healthy demo:\n{ok.stdout[-3000:]}\n{ok.stderr[-3000:]}"
    stack.fault({"latency_s": 0.3})
    try:
        slow = run([*cmd[:-1], "--duration", "3s", str(script)], env=env, timeout=120)
    finally:
        stack.clear()
    assert slow.returncode == 99, f"k6 should cross its p95 threshold (exit 99), got {slow.returncode}:\n{slow.stdout[-2000:]}"
    for panel in plan_bundle(bundle).load_panels:
        expr = grafana_to_promql(panel.expr)
        ls.wait_for(f"load-test panel '{panel.title}' has data", lambda e=expr: stack.query(e), timeout=20)


def _obsgen(*args: str, timeout: float = 180) -> Any:
    return run([str(BIN / "obsgen"), *args], timeout=timeout)


def test_verify_reports_present_ok_absent_absent_and_failures(stack: ls.LocalStack) -> None:
    ls.wait_for("every target up", stack.targets_up, timeout=30)
    nowhere = {c: f"http://127.0.0.1:{ls.free_port()}" for c in ("grafana", "loki", "collector", "jaeger")}
    urls = ["--prometheus", stack.prom_url, "--alertmanager", stack.am_url, *(x for c, u in nowhere.items() for x in (f"--{c}", u))]
    present = _obsgen("verify", *urls, "--only", "prometheus,alertmanager")
    assert present.returncode == 0, present.stdout + present.stderr
    assert re.search(r"^ok +prometheus +every target up", present.stdout, re.M)
    assert re.search(r"^ok +prometheus +Alertmanager discovered", present.stdout, re.M)
    everything = _obsgen("verify", *urls, "--wait", "1")
    assert everything.returncode == 3, everything.stdout + everything.stderr
    for comp in nowhere:
        assert re.search(rf"^absent +{comp} ", everything.stdout, re.M), everything.stdout
    assert not re.search(r"^ok +(grafana|loki|collector|jaeger)", everything.stdout, re.M)
    stack.fault({"go_down": True})
    try:
        ls.wait_for("a target down", lambda: not stack.targets_up(), timeout=15)
        broken = _obsgen("verify", *urls, "--only", "prometheus")
    finally:
        stack.clear()
    assert broken.returncode == 1 and re.search(r"^FAIL +prometheus +every target up", broken.stdout, re.M), broken.stdout
    ls.wait_for("every target up again", stack.targets_up, timeout=30)


def test_drill_routes_and_resolves_a_synthetic_alert(stack: ls.LocalStack, generated: tuple[Bundle, Path]) -> None:
    bundle, _ = generated
    rule = next(r for r in plan_bundle(bundle).all_alerts if r.origin == "error_ratio")
    labels = {"alertname": rule.name, **dict(rule.labels)}
    service = next(s for s in bundle.services if s.name == labels["service"])
    labels["job"] = service.job
    expected = _receivers_for(stack, labels)
    common = [rule.name, "--catalogs", str(ROOT / "catalogs"), "--alertmanager", stack.am_url, "--severity", rule.severity,
              "--timeout", "30"]
    ok = _obsgen("drill", *common, *(f"--expect-receiver={r}" for r in expected))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"routed    to {', '.join(expected)}" in ok.stdout and "resolved" in ok.stdout
    wrong = _obsgen("drill", *common, "--expect-receiver=nobody")
    assert wrong.returncode == 1 and "expected nobody" in wrong.stderr and "Traceback" not in wrong.stderr
    unknown = _obsgen("drill", "NoSuchAlert", "--catalogs", str(ROOT / "catalogs"), "--alertmanager", stack.am_url)
    assert unknown.returncode == 1 and "no generated alert named NoSuchAlert" in unknown.stderr


def test_drill_with_fault_fires_the_real_alert(stack: ls.LocalStack, generated: tuple[Bundle, Path]) -> None:
    bundle, _ = generated
    rule = next(r for r in plan_bundle(bundle).all_alerts if r.origin == "down")
    result = _obsgen("drill", rule.name, "--fault", "--catalogs", str(ROOT / "catalogs"), "--alertmanager", stack.am_url,
                     "--prometheus", stack.prom_url, "--demo", stack.demo_url, "--timeout", "40")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "firing    in Prometheus" in result.stdout and "cleared" in result.stdout
    assert ls.http_json(f"{stack.demo_url}/-/fault") == {"faults": {}}

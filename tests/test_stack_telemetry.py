"""Collector, Loki and Jaeger configs: structure and component names here; the collector and Jaeger validate theirs
through `obsgen check`'s otelcol and jaeger checks (their images, else the binaries Go-built at the pinned versions).
Loki is never built or run here (AGPL): its LogQL, rule files and config keys are checked in test_loki_logql.py
and test_loki_static.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from test_stack_helpers import REPO, load_yaml, render_tree, routed_bundle

from obsgen.emit.stack.otel import SAMPLING_ENV
from obsgen.plan import log_alert_rule

from conftest import require_built

COMPOSE = REPO / "compose"


# -- OpenTelemetry Collector -------------------------------------------------------------------------


def test_collector_uses_current_components_only() -> None:
    cfg = load_yaml(COMPOSE / "otel-collector" / "config.yaml")
    assert isinstance(cfg, dict)
    exporters = set(cfg["exporters"])
    assert {"debug", "otlp/jaeger", "otlphttp/loki", "prometheusremotewrite"} == exporters
    assert not {"logging", "jaeger", "loki"} & {e.split("/")[0] for e in exporters}
    assert cfg["exporters"]["otlp/jaeger"] == {"endpoint": "jaeger:4317", "tls": {"insecure": True}}
    assert cfg["exporters"]["otlphttp/loki"]["endpoint"] == "http://loki:3100/otlp"
    assert cfg["exporters"]["prometheusremotewrite"]["endpoint"] == "http://prometheus:9090/api/v1/write"
    assert cfg["extensions"]["health_check"]["endpoint"].endswith(":13133")
    pipelines = cfg["service"]["pipelines"]
    for name, pipe in pipelines.items():
        assert pipe["processors"][0] == "memory_limiter", name
        assert pipe["processors"][-1] == "batch", name
        assert "attributes/pii" in pipe["processors"], name
        for part in ("receivers", "processors", "exporters"):
            for component in pipe[part]:
                assert component in cfg[part], (name, component)
    assert "probabilistic_sampler" in pipelines["traces"]["processors"]
    assert "probabilistic_sampler" not in pipelines["logs"]["processors"]  # errors are never sampled


def test_sampling_rate_comes_from_the_environment_as_a_number() -> None:
    text = (COMPOSE / "otel-collector" / "config.yaml").read_text(encoding="utf-8")
    # Unquoted, so the collector substitutes a number (a quoted reference would stay a string).
    assert f"sampling_percentage: ${{env:{SAMPLING_ENV}:-10}}\n" in text
    compose = load_yaml(COMPOSE / "compose.yaml")
    assert isinstance(compose, dict)
    assert SAMPLING_ENV in compose["services"]["otel-collector"]["environment"]


def test_pii_policy_is_applied() -> None:
    cfg = load_yaml(COMPOSE / "otel-collector" / "config.yaml")
    assert isinstance(cfg, dict)
    actions = cfg["processors"]["attributes/pii"]["actions"]
    deleted = {a["key"] for a in actions if a.get("action") == "delete" and "key" in a}
    assert {"user.email", "http.request.header.authorization", "url.query"} <= deleted
    assert {"key": "db.statement", "action": "hash"} in actions
    import re

    pattern = next(a["pattern"] for a in actions if "pattern" in a and "token" in a["pattern"])
    regex = re.compile(pattern.replace("(?i)", ""), re.I)
    for key in ("email", "user.email", "enduser.token", "message_body", "file_key", "password", "http.request.body"):
        assert regex.match(key) or key in deleted, key
    for key in ("http.route", "http.status_code", "db.system", "user.id", "socketio.event"):
        assert not regex.match(key) and key not in deleted, key
    statements = " ".join(s for group in cfg["processors"]["transform/pii"]["log_statements"] for s in group["statements"])
    assert "replace_pattern(body" in statements


def test_collector_validates(run_check, tmp_path: Path) -> None:
    assert run_check("otelcol", REPO).passed
    shutil.copytree(COMPOSE, tmp_path / "compose")
    cfg = load_yaml(COMPOSE / "otel-collector" / "config.yaml")
    assert isinstance(cfg, dict)
    cfg["exporters"]["logging"] = {}  # renamed to debug: the collector no longer knows it
    (tmp_path / "compose" / "otel-collector" / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    result = run_check("otelcol", tmp_path)
    assert result.failed and any("logging" in f.message for f in result.findings), result


# -- Loki ---------------------------------------------------------------------------------------------


def test_loki_config_profile() -> None:
    cfg = load_yaml(COMPOSE / "loki" / "config.yaml")
    assert isinstance(cfg, dict)
    schema = cfg["schema_config"]["configs"][0]
    assert (schema["store"], schema["schema"], schema["object_store"]) == ("tsdb", "v13", "filesystem")
    assert cfg["limits_config"]["allow_structured_metadata"] is True
    assert cfg["ruler"]["alertmanager_url"] == "http://alertmanager:9093"
    assert cfg["ruler"]["storage"] == {"type": "local", "local": {"directory": "/etc/loki/rules"}}
    assert cfg["auth_enabled"] is False  # single tenant: "fake", the rules' directory name


def test_log_alert_rules_match_their_runbooks(tmp_path: Path) -> None:
    bundle = routed_bundle(tmp_path)
    compose = render_tree(bundle, tmp_path / "tree")
    svc = next(s for s in bundle.services if s.log_alerts)
    data = load_yaml(compose / "loki" / "rules" / "fake" / f"{svc.name}.yaml")
    assert isinstance(data, dict)
    rules = data["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == [la.name for la in svc.log_alerts]
    for rule, la in zip(rules, svc.log_alerts, strict=True):
        shared = log_alert_rule(svc, la)
        assert rule["expr"] == shared.expr
        assert la.selector in rule["expr"] and f"`{la.pattern}`" in rule["expr"] and f"[{la.window}]" in rule["expr"]
        assert rule["labels"] == {"service": svc.name, "severity": la.severity, "team": svc.team}
        assert rule["annotations"]["runbook_url"].endswith(f"/{svc.name}.md#{la.name.lower()}")
        assert rule["for"] == la.for_


def test_committed_log_rules_have_runbooks() -> None:
    for path in sorted((COMPOSE / "loki" / "rules" / "fake").glob("*.yaml")):
        data = load_yaml(path)
        assert isinstance(data, dict)
        for group in data["groups"]:
            for rule in group["rules"]:
                page = REPO / "runbooks" / f"{rule['labels']['service']}.md"
                assert page.is_file(), page
                section = page.read_text(encoding="utf-8").split(f"\n## {rule['alert']}\n", 1)[1].split("\n## ", 1)[0]
                assert rule["expr"].split(" > ")[0] in section


# -- Jaeger -------------------------------------------------------------------------------------------


def test_jaeger_config_shape() -> None:
    cfg = load_yaml(COMPOSE / "jaeger" / "config.yaml")
    assert isinstance(cfg, dict)
    store = cfg["extensions"]["jaeger_query"]["storage"]["traces"]
    assert store in cfg["extensions"]["jaeger_storage"]["backends"]
    assert cfg["exporters"]["jaeger_storage_exporter"]["trace_storage"] == store
    assert cfg["extensions"]["jaeger_query"]["http"]["endpoint"].endswith(":16686")
    assert cfg["extensions"]["healthcheckv2"]["http"]["endpoint"].endswith(":13133")
    assert set(cfg["service"]["extensions"]) <= set(cfg["extensions"])


def test_jaeger_validates(run_check, tmp_path: Path) -> None:
    assert run_check("jaeger", REPO).passed
    shutil.copytree(COMPOSE, tmp_path / "compose")
    cfg = load_yaml(COMPOSE / "jaeger" / "config.yaml")
    assert isinstance(cfg, dict)
    next(iter(cfg["extensions"]["jaeger_storage"]["backends"].values()))["memory"]["bogus_field"] = 1
    (tmp_path / "compose" / "jaeger" / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    result = run_check("jaeger", tmp_path)
    assert result.failed and any("bogus_field" in f.message for f in result.findings), result


def test_collector_redacts_pii_at_runtime(tmp_path: Path) -> None:
    """Run the collector with the generated processors (OTLP/HTTP on 127.0.0.1 in, debug out) and send a PII log."""
    import json
    import socket
    import subprocess
    import time
    import urllib.request

    binary = require_built("otelcol")
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    text = (COMPOSE / "otel-collector" / "config.yaml").read_text(encoding="utf-8")
    cfg = yaml.safe_load(text.replace(f"${{env:{SAMPLING_ENV}:-10}}", "100"))
    cfg["receivers"]["otlp"]["protocols"] = {"http": {"endpoint": f"127.0.0.1:{ports[0]}"}}
    cfg["extensions"]["health_check"]["endpoint"] = f"127.0.0.1:{ports[1]}"
    cfg["exporters"] = {"debug": {"verbosity": "detailed"}}
    cfg["service"]["telemetry"]["metrics"] = {"level": "none"}
    for pipe in cfg["service"]["pipelines"].values():
        pipe["exporters"] = ["debug"]
    config = tmp_path / "collector.yaml"
    config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    record = {
        "body": {"stringValue": "login by alice@example.com with Bearer abc.def-ghi"},
        "attributes": [
            {"key": "user.email", "value": {"stringValue": "a@b.co"}},
            {"key": "enduser.token", "value": {"stringValue": "t0k3n"}},
            {"key": "note", "value": {"stringValue": "mail bob@example.org now"}},
            {"key": "http.route", "value": {"stringValue": "/chat/{room}"}},
        ],
    }
    payload = {"resourceLogs": [{"resource": {"attributes": []}, "scopeLogs": [{"logRecords": [record]}]}]}
    proc = subprocess.Popen([binary, f"--config={config}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ports[1]}/", timeout=2):  # noqa: S310 - local
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("collector did not become healthy")
                time.sleep(0.2)
        req = urllib.request.Request(f"http://127.0.0.1:{ports[0]}/v1/logs", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - local
            assert resp.status == 200
        time.sleep(2)  # the batch processor flushes within its 5s timeout; debug prints synchronously after
    finally:
        proc.terminate()
        try:
            out = proc.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate(timeout=5)[0]
    assert "Body: Str(login by [redacted-email] with Bearer [redacted])" in out, out[-3000:]
    assert "note: Str(mail [redacted-email] now)" in out
    assert "http.route: Str(/chat/{room})" in out  # non-PII attributes survive
    for leaked in ("alice@example.com", "bob@example.org", "a@b.co", "t0k3n", "abc.def-ghi"):
        assert leaked not in out, leaked

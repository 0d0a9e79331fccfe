"""The demo service: every catalog metric exposed, faults applied and rejected, health, JSON logs, traces."""

from __future__ import annotations

import io
import json
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from obsgen import model as m
from obsgen.catalog import load_bundle
from obsgen.simulate import DemoServer, FaultError, Faults, Simulator
from obsgen.simulate.faults import merge
from obsgen.simulate.series import sim_service
from obsgen.simulate.telemetry import JsonLog, parse_traceparent

from conftest import ROOT
from support.localstack import compress_expr, compress_rules


@pytest.fixture(scope="module")
def bundle() -> m.Bundle:
    return load_bundle(ROOT / "catalogs", "prod")


@pytest.fixture()
def demo(bundle: m.Bundle):
    server = DemoServer(Simulator(bundle, tick=0.05), "127.0.0.1", 0).start()
    try:
        yield server
    finally:
        server.stop()


def get(url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers


def samples(text: str) -> dict[str, float]:
    """series text -> value, from Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            out[series] = float(value)
    return out


def names(text: str) -> set[str]:
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def exposed(metric: m.Metric, present: set[str]) -> bool:
    suffixes = {"histogram": ("_bucket", "_count", "_sum"), "summary": ("_count", "_sum")}.get(metric.type, ("",))
    return all(metric.name + s in present for s in suffixes)


def test_every_catalog_metric_is_exposed_on_its_service_path(demo: DemoServer, bundle: m.Bundle) -> None:
    for svc in bundle.services:
        status, body, _ = get(f"{demo.url}/metrics/{svc.name}")
        assert status == 200
        present = names(body.decode())
        missing = [mt.name for mt in svc.metrics if not exposed(mt, present)]
        assert not missing, f"{svc.name}: not exposed: {missing}"
    status, body, _ = get(f"{demo.url}/metrics")
    assert status == 200 and all(exposed(mt, names(body.decode())) for s in bundle.services for mt in s.metrics)


def test_label_values_are_declared_or_bounded(bundle: m.Bundle) -> None:
    for svc in bundle.services:
        for sm in sim_service(svc).metrics:
            for label in sm.metric.labels:
                values = {dict(s.labels)[label.name] for s in sm.series}
                if label.values:
                    assert values <= set(label.values), f"{sm.metric.name}: {label.name} outside its declared values"
                assert len(values) <= max(label.cardinality, 1), f"{sm.metric.name}: {label.name} above its bound"


def test_error_series_stay_near_the_normal_ratio_and_follow_the_fault(demo: DemoServer) -> None:
    def ratio() -> float:
        s = samples(get(f"{demo.url}/metrics/divan-api")[1].decode())
        total = sum(v for k, v in s.items() if k.startswith("divan_http_requests_total{"))
        errors = sum(v for k, v in s.items() if k.startswith("divan_http_requests_total{") and 'status="5' in k)
        return errors / total if total else 0.0

    time.sleep(1)
    assert ratio() < 0.01
    get(f"{demo.url}/-/fault", "POST", {"error_ratio": 0.5})
    base = samples(get(f"{demo.url}/metrics/divan-api")[1].decode())
    time.sleep(1.5)
    now = samples(get(f"{demo.url}/metrics/divan-api")[1].decode())
    delta = {k: now[k] - base.get(k, 0) for k in now if k.startswith("divan_http_requests_total{")}
    errors = sum(v for k, v in delta.items() if 'status="5' in k)
    assert 0.4 < errors / sum(delta.values()) < 0.6


@pytest.mark.parametrize(("fault", "check"), [
    ({"down": "divan_redis_up"}, lambda s: s["divan_redis_up"] == 0),
    ({"backlog": "divan_redis_stream_lag"}, lambda s: min(v for k, v in s.items() if k.startswith("divan_redis_stream_lag")) > 1000),
    ({"backlog": {"divan_redis_stream_lag": 7}}, lambda s: max(v for k, v in s.items() if k.startswith("divan_redis_stream_lag")) == 7),
    ({"drop": "divan_socketio_clients"}, lambda s: max(v for k, v in s.items() if k.startswith("divan_socketio_clients")) < 50),
    ({"absent": "divan_redis_up"}, lambda s: "divan_redis_up" not in s),
])
def test_gauge_faults_apply_and_clear(demo: DemoServer, fault: dict, check: Any) -> None:
    url = f"{demo.url}/metrics/divan-api"
    before = samples(get(url)[1].decode())
    assert not check(before)
    assert get(f"{demo.url}/-/fault", "POST", fault)[0] == 200
    assert check(samples(get(url)[1].decode()))
    assert get(f"{demo.url}/-/fault", "DELETE")[0] == 200
    assert not check(samples(get(url)[1].decode()))


def test_increase_fault_moves_only_quiet_series(demo: DemoServer) -> None:
    url = f"{demo.url}/metrics/divan-api"
    failures = 'divan_jobs_runs_total{name="name-1",result="failure"}'
    time.sleep(0.5)
    assert samples(get(url)[1].decode())[failures] == 0  # an `increase` alert watches it: flat when healthy
    get(f"{demo.url}/-/fault", "POST", {"increase": "divan_jobs_runs_total"})
    time.sleep(0.5)
    assert samples(get(url)[1].decode())[failures] > 0


def test_go_down_fails_metrics_and_health(demo: DemoServer) -> None:
    get(f"{demo.url}/-/fault", "POST", {"go_down": "divan-api"})
    assert get(f"{demo.url}/metrics/divan-api")[0] == 503
    assert get(f"{demo.url}/services/divan-api/health/live")[0] == 503
    others = [s for s in demo.sim.metrics if s != "divan-api"]
    if others:
        assert get(f"{demo.url}/metrics/{others[0]}")[0] == 200
    get(f"{demo.url}/-/fault", "DELETE")
    assert get(f"{demo.url}/metrics/divan-api")[0] == 200


def test_load_test_endpoints_answer_and_obey_faults(demo: DemoServer, bundle: m.Bundle) -> None:
    routes = [(r.method, r.path.split("?")[0], r.expect_status) for s in bundle.services for t in s.load_tests for r in t.requests]
    assert routes
    for method, path, expect in routes:
        status, _, headers = get(f"{demo.url}{path}", method, {"x": 1} if method != "GET" else None)
        assert status in (expect or range(200, 300)) and headers["X-Request-Id"]
    method, path, _ = routes[0]
    get(f"{demo.url}/-/fault", "POST", {"error_ratio": 1, "latency_s": 0.3})
    start = time.monotonic()
    status, _, _ = get(f"{demo.url}{path}", method, {"x": 1} if method != "GET" else None)
    assert status == 500 and time.monotonic() - start >= 0.3


def test_ready_fails_while_a_dependency_is_down(demo: DemoServer) -> None:
    assert get(f"{demo.url}/health/ready")[0] == 200
    get(f"{demo.url}/-/fault", "POST", {"down": "divan_postgres_up"})
    status, body, _ = get(f"{demo.url}/health/ready")
    assert status == 503 and json.loads(body)["checks"]["divan_postgres_up"] == {"ok": False}


def test_traceparent_is_continued(demo: DemoServer) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    _, _, headers = get(f"{demo.url}/health/live", headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
    assert headers["traceparent"].split("-")[1] == trace
    assert parse_traceparent("00-" + "0" * 32 + "-00f067aa0ba902b7-01") is None
    assert parse_traceparent("garbage") is None


@pytest.mark.parametrize("body", [
    {"error_ratio": 1.5}, {"error_ratio": True}, {"latency_s": -1}, {"down": "no_such_metric"}, {"down": 3},
    {"backlog": {"divan_redis_stream_lag": "high"}}, {"go_down": "no-such-service"}, {"unknown": 1}, [], {},
])
def test_faults_reject_what_they_cannot_apply(bundle: m.Bundle, body: Any) -> None:
    metrics = {mt.name for s in bundle.services for mt in s.metrics}
    with pytest.raises(FaultError):
        merge(Faults(), body, metrics, {s.name for s in bundle.services})


def test_fault_endpoint_answers_400_on_bad_input(demo: DemoServer) -> None:
    assert get(f"{demo.url}/-/fault", "POST", {"down": "nope"})[0] == 400
    assert get(f"{demo.url}/-/fault")[0] == 200


def test_json_logs_carry_the_spec_fields_and_nothing_personal() -> None:
    stream = io.StringIO()
    log = JsonLog("divan-api", "dev", stream)
    log.write("info", "request", request_id="r1", trace_id="t" * 32, span_id="s" * 16, route="/chat/send", status=200,
              latency_ms=1.5, user_id="u1", ip="10.0.0.1", email="a@b.c", body="secret")
    record = json.loads(stream.getvalue())
    assert {"ts", "level", "msg", "service", "env", "commit", "request_id", "trace_id", "span_id", "route", "status",
            "latency_ms"} <= set(record)
    assert not {"user_id", "ip", "email", "body"} & set(record)


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        self.received.append((self.path, self.rfile.read(int(self.headers.get("Content-Length") or 0))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


def test_spans_go_to_the_otlp_endpoint(bundle: m.Bundle, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("opentelemetry.sdk", reason="opentelemetry-sdk is the optional `demo` extra")
    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.server_address[1]}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    server = DemoServer(Simulator(bundle, ["divan-api"]), "127.0.0.1", 0).start()
    try:
        _, _, headers = get(f"{server.url}/health/live")
        trace_id = headers["traceparent"].split("-")[1]
    finally:
        server.stop()  # flushes the batch processor
        collector.shutdown()
        collector.server_close()
    assert any(path == "/v1/traces" and bytes.fromhex(trace_id) in body for path, body in _Collector.received)


def _demo_against_fake_collector(bundle: m.Bundle, monkeypatch: pytest.MonkeyPatch, logs_exporter: str | None,
                                 request_id: str) -> list[tuple[str, bytes]]:
    """One request to a demo that exports OTLP to an in-process HTTP sink; returns what the sink received."""
    pytest.importorskip("opentelemetry.sdk", reason="opentelemetry-sdk is the optional `demo` extra")
    _Collector.received = []
    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.server_address[1]}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    if logs_exporter is None:
        monkeypatch.delenv("OTEL_LOGS_EXPORTER", raising=False)
    else:
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", logs_exporter)
    server = DemoServer(Simulator(bundle, ["divan-api"]), "127.0.0.1", 0).start()
    try:
        get(f"{server.url}/health/live", headers={"X-Request-Id": request_id})
    finally:
        server.stop()  # flushes the batch processors
        collector.shutdown()
        collector.server_close()
    return list(_Collector.received)


def test_log_lines_go_to_the_otlp_endpoint(bundle: m.Bundle, monkeypatch: pytest.MonkeyPatch) -> None:
    """The JSON line is the OTLP log body, under the line's service as resource service.name (Loki's service_name)."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    received = _demo_against_fake_collector(bundle, monkeypatch, None, "req-otlp-log-1")
    bodies = [b for path, b in received if path == "/v1/logs"]
    assert bodies, [path for path, _ in received]
    records = []
    for body in bodies:
        request = ExportLogsServiceRequest.FromString(body)
        for rl in request.resource_logs:
            resource = {a.key: a.value.string_value for a in rl.resource.attributes}
            records += [(resource, r) for sl in rl.scope_logs for r in sl.log_records]
    line = next((resource, r) for resource, r in records if "req-otlp-log-1" in r.body.string_value)
    resource, record = line
    assert resource["service.name"] == "divan-api"
    assert json.loads(record.body.string_value)["request_id"] == "req-otlp-log-1"
    assert record.severity_text == "INFO" and len(record.trace_id) == 16 and len(record.span_id) == 8


def test_otlp_logs_can_be_turned_off(bundle: m.Bundle, monkeypatch: pytest.MonkeyPatch) -> None:
    received = _demo_against_fake_collector(bundle, monkeypatch, "none", "req-otlp-log-2")
    assert any(path == "/v1/traces" for path, _ in received)  # the endpoint was in use ...
    assert not any(path == "/v1/logs" for path, _ in received)  # ... but not for logs


def test_rule_compression_is_test_only_and_proportional() -> None:
    assert compress_expr("rate(x[5m] offset 1h)") == "rate(x[5s] offset 1m)"
    assert compress_expr("x offset 5m") == "x offset 15s"  # a drop stays visible long enough to be notified
    assert compress_expr("avg_over_time(x[30d:1m])") == "avg_over_time(x[12h:1s])"
    assert compress_expr("increase(x[1m])") == "increase(x[5s])"  # never below a few scrapes
    text = (ROOT / "rules" / "divan-api.yaml").read_text()
    compressed = compress_rules(text)
    assert "for: 2s" in compressed and "for: 2m" not in compressed
    assert "[5m]" in text and "[5m]" not in compressed


def test_cli_refuses_an_unknown_service(tmp_path: Path) -> None:
    from conftest import obsgen

    result = obsgen("simulate", "--catalogs", str(ROOT / "catalogs"), "--service", "nope", "--listen", "127.0.0.1:0")
    assert result.returncode != 0 and "nope" in result.stderr and "Traceback" not in result.stderr

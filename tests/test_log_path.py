"""The log path, end to end up to the collector: a line from the demo service (`obsgen simulate`, OTLP logs)
reaches the Go-built collector running the generated processors, and leaves it redacted.

The collector config is the generated one with its Loki exporter replaced by a detailed debug exporter (a
test-only file in tmp_path); Loki itself is never run here (its Go module is AGPL). What Loki would index is
compared with what the static label check (test_loki_static.py) derives from the same config. Every port is on
127.0.0.1 and both processes are stopped even when the test fails.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from collector_support import (
    DEMO_RESOURCE,
    LOKI_INDEX_RESOURCE_ATTRIBUTES,
    CannotDerive,
    DebugLogRecord,
    attached_stream_labels,
    collector_test_config,
    debug_log_records,
    loki_label,
)

from conftest import BIN, ROOT, require_built, stop_process

COMPOSE = ROOT / "compose"
WAIT = 30.0  # seconds for a process to come up or a batch to arrive (the collector's batch timeout is 5s)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(what: str, check: Callable[[], object], proc: subprocess.Popen, log: Path) -> object:
    """Poll check() until it is truthy; fail with the process's output when it exits or time runs out."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {WAIT:.0f}s (exit {proc.poll()}); output:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - 127.0.0.1 only
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_test_only_config_replaces_only_the_loki_exporter() -> None:
    """The derivation keeps every generated processor and refuses a config without a Loki exporter."""
    text = (COMPOSE / "otel-collector" / "config.yaml").read_text(encoding="utf-8")
    generated = yaml.safe_load(text)
    cfg = collector_test_config(text)
    logs, original = cfg["service"]["pipelines"]["logs"], generated["service"]["pipelines"]["logs"]
    assert logs["processors"] == original["processors"]
    assert "debug/logs" in logs["exporters"] and "otlphttp/loki" not in cfg["exporters"]
    assert cfg["service"]["pipelines"]["traces"]["exporters"] == generated["service"]["pipelines"]["traces"]["exporters"]
    with pytest.raises(CannotDerive, match="no exporter to Loki"):
        collector_test_config(text.replace("http://loki:3100/otlp", "http://loki:3100/loki/api/v1/push"))


@dataclass
class LogPathRun:
    """What one demo -> collector run produced."""

    records: list[DebugLogRecord]  # the debug exporter's records carrying this run's request id
    collector_out: str
    demo_out: str
    request_id: str
    trace_id: str


def _run_log_path(tmp_path: Path, generated: str | dict, marker: str, request_id: str) -> LogPathRun:
    """Start the collector (test-only config from the generated one) and the demo, send one request, collect."""
    binary = require_built("otelcol")
    otlp, health, demo_port = _free_port(), _free_port(), _free_port()
    config = tmp_path / "collector.yaml"
    config.write_text(yaml.safe_dump(collector_test_config(generated, otlp_http=f"127.0.0.1:{otlp}", health=f"127.0.0.1:{health}",
                                                           keep_backends=False)), encoding="utf-8")
    collector_log, demo_log = tmp_path / "collector.log", tmp_path / "demo.log"
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{otlp}",
           "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_BLRP_SCHEDULE_DELAY": "200"}
    env.pop("OTEL_LOGS_EXPORTER", None)
    with collector_log.open("w") as csink, demo_log.open("w") as dsink:
        collector = subprocess.Popen([binary, f"--config={config}"], stdout=csink, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        demo: subprocess.Popen | None = None
        try:
            _until("collector health check", lambda: _get(f"http://127.0.0.1:{health}/")[0] == 200, collector, collector_log)
            demo = subprocess.Popen([str(BIN / "obsgen"), "simulate", "--catalogs", str(ROOT / "catalogs"),
                                     "--service", "divan-api", "--listen", f"127.0.0.1:{demo_port}"],
                                    stdout=dsink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            url = f"http://127.0.0.1:{demo_port}/health/live"
            _until("demo service", lambda: _get(url)[0] == 200, demo, demo_log)
            status, headers = _get(url, {"X-Request-Id": request_id})
            assert status == 200, headers
            stop_process(demo)  # SIGTERM: the demo flushes its OTLP batch on the way out

            def arrived() -> list[DebugLogRecord]:
                return [r for r in debug_log_records(collector_log.read_text(encoding="utf-8")) if marker in r.body]

            records = _until("the demo's log line at the collector's debug exporter", arrived, collector, collector_log)
        finally:
            if demo is not None:
                stop_process(demo)
            stop_process(collector, timeout=15)
    assert isinstance(records, list)
    return LogPathRun(records, collector_log.read_text(encoding="utf-8"), demo_log.read_text(encoding="utf-8"),
                      request_id, headers["traceparent"].split("-")[1])


def _pii(marker: str) -> tuple[str, str, str]:
    """(e-mail, token, X-Request-Id): the demo echoes X-Request-Id into its log line, a client-chosen value
    being the usual way PII reaches logs."""
    email, token = f"jane.doe.{marker}@example.com", f"s3cr3t.{marker}-tok"
    return email, token, f"req-{marker} for {email} Bearer {token}"


def test_demo_log_line_reaches_the_collector_and_leaves_redacted(tmp_path: Path) -> None:
    text = (COMPOSE / "otel-collector" / "config.yaml").read_text(encoding="utf-8")
    marker = secrets.token_hex(6)
    email, token, request_id = _pii(marker)
    run = _run_log_path(tmp_path, text, f"req-{marker}", request_id)
    assert len(run.records) == 1, run.records
    record = run.records[0]
    # The line left the demo with the PII in it (its own stderr) ...
    assert request_id in run.demo_out, run.demo_out[-2000:]
    # ... and left the collector redacted, still one JSON object, with its trace context and service.
    line = json.loads(record.body)
    assert line["request_id"] == f"req-{marker} for [redacted-email] Bearer [redacted]", line
    assert line["trace_id"] == run.trace_id == record.trace_id
    assert email not in run.collector_out and token not in run.collector_out
    assert record.resource.get("service.name") == "divan-api", record.resource
    # The resource the demo sent is the one the static label check models, and Loki would index from it
    # exactly the labels that check derives from the config.
    assert set(record.resource) == set(DEMO_RESOURCE), record.resource
    indexed = {loki_label(k) for k in record.resource if k in LOKI_INDEX_RESOURCE_ATTRIBUTES}
    assert indexed == attached_stream_labels(yaml.safe_load(text)) == {"service_name", "service_instance_id"}


def test_without_the_redaction_processor_the_pii_gets_through(tmp_path: Path) -> None:
    """The failing case: the same run with transform/pii taken out of the logs pipeline shows the PII."""
    text = (COMPOSE / "otel-collector" / "config.yaml").read_text(encoding="utf-8")
    cfg = yaml.safe_load(text)
    cfg["service"]["pipelines"]["logs"]["processors"].remove("transform/pii")
    marker = secrets.token_hex(6)
    email, token, request_id = _pii(marker)
    run = _run_log_path(tmp_path, cfg, f"req-{marker}", request_id)
    assert [json.loads(r.body)["request_id"] for r in run.records] == [request_id]
    assert email in run.collector_out and token in run.collector_out

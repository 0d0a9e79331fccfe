"""prometheus.yml and blackbox.yml: promtool and the exporter accept them, and the probe job yields the labels
the health alert expects (proved on a real Prometheus and blackbox exporter on 127.0.0.1)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from test_stack_helpers import REPO, load_yaml, need, render_tree, repo_bundle, routed_bundle

from obsgen.catalog import load_bundle
from obsgen.emit.stack import prometheus as prom
from obsgen.errors import CatalogError
from obsgen.plan import PROBE_JOB

from conftest import stop_process

COMPOSE = REPO / "compose"
CONFIG = COMPOSE / "prometheus" / "prometheus.yml"


@pytest.mark.parametrize("which", ["pinned", "floor"])
def test_committed_config_and_rules_pass_promtool(run_check, request: pytest.FixtureRequest, which: str) -> None:
    chosen = request.getfixturevalue("runner" if which == "pinned" else "floor_runner")
    result = run_check("prometheus-config", REPO, chosen)
    assert result.passed, [str(f) for f in result.findings]
    assert result.summary.endswith("rules loaded")


def test_promtool_fails_on_a_broken_config(run_check, tmp_path: Path) -> None:
    shutil.copytree(COMPOSE, tmp_path / "compose")
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    data = load_yaml(tmp_path / "compose" / "prometheus" / "prometheus.yml")
    assert isinstance(data, dict)
    data["scrape_configs"][0]["scrape_interval"] = "every minute"
    (tmp_path / "compose" / "prometheus" / "prometheus.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run_check("prometheus-config", tmp_path)
    assert result.failed and "every minute" in result.findings[0].message, result


def test_promtool_fails_when_a_rule_file_is_broken(run_check, tmp_path: Path) -> None:
    shutil.copytree(COMPOSE, tmp_path / "compose")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bad.yaml").write_text("groups:\n- name: x\n  rules:\n  - alert: X\n    expr: rate(x[5m]\n",
                                                 encoding="utf-8")
    result = run_check("prometheus-config", tmp_path)
    assert [(f.file, f.line) for f in result.findings] == [("rules/bad.yaml", 5)], result


def test_every_catalog_target_and_stack_component_is_scraped() -> None:
    bundle = repo_bundle()
    data = load_yaml(CONFIG)
    assert isinstance(data, dict)
    jobs = {j["job_name"]: j for j in data["scrape_configs"]}
    for svc in bundle.services:
        for t in svc.targets:
            job = jobs[t.job]
            assert job["static_configs"] == [{"targets": list(t.addresses)}]
            assert job["metrics_path"] == t.metrics_path and job["scheme"] == t.scheme
            if t.bearer_token_file:
                assert job["authorization"] == {"type": "Bearer", "credentials_file": t.bearer_token_file}
    assert set(prom.STACK_JOBS) <= set(jobs)
    assert data["rule_files"] == ["/etc/prometheus/rules/*.yaml"]
    assert data["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    probes = [(s["labels"]["service"], s["labels"]["check"], s["targets"][0]) for s in jobs[PROBE_JOB]["static_configs"]]
    assert probes == [(svc.name, h.name, h.url) for svc in bundle.services for h in svc.health]


def test_a_catalog_job_cannot_take_a_stack_job_name(tmp_path: Path) -> None:
    catalogs = tmp_path / "c"
    catalogs.mkdir()
    text = (REPO / "catalogs" / "divan-api.yaml").read_text(encoding="utf-8").replace("- job: divan-api", "- job: loki")
    (catalogs / "divan-api.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        prom.config(load_bundle(catalogs, "prod"))
    assert "job name 'loki' is used by the stack itself" in str(err.value.problems[0])


def test_blackbox_config_passes_the_exporter_check(run_check, tmp_path: Path) -> None:
    assert run_check("blackbox-config", REPO).passed
    shutil.copytree(COMPOSE, tmp_path / "compose")
    (tmp_path / "compose" / "blackbox" / "blackbox.yml").write_text(
        "modules:\n  http_2xx:\n    prober: http\n    http:\n      no_such_field: 1\n", encoding="utf-8")
    result = run_check("blackbox-config", tmp_path)
    assert result.failed and any(f.line == 5 and "no_such_field" in f.message for f in result.findings), result


# -- live: Prometheus scrapes the blackbox exporter with the generated probe job -------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200 if self.path.endswith("/live") else 503)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
        return


def _wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - 127.0.0.1 only
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} not ready after {seconds}s")


def test_probe_series_carry_service_check_and_url(tmp_path: Path) -> None:
    prometheus_bin = need("prometheus")
    blackbox_bin = need("prometheus-blackbox-exporter")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app = f"127.0.0.1:{server.server_address[1]}"
    bb_port, prom_port = _free_port(), _free_port()
    bundle = routed_bundle(tmp_path)
    compose = render_tree(bundle, tmp_path / "tree")
    data = load_yaml(compose / "prometheus" / "prometheus.yml")
    assert isinstance(data, dict)
    probe = next(j for j in data["scrape_configs"] if j["job_name"] == PROBE_JOB)
    # Point the generated job at local stand-ins: the app's health URLs and the exporter's address.
    for static in probe["static_configs"]:
        url = urllib.parse.urlsplit(static["targets"][0])
        static["targets"] = [f"http://{app}{url.path}"]
    probe["relabel_configs"][-1]["replacement"] = f"127.0.0.1:{bb_port}"
    probe["scrape_interval"] = "1s"
    local = {"global": {"scrape_interval": "1s"}, "scrape_configs": [probe]}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(local), encoding="utf-8")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen(
            [blackbox_bin, f"--config.file={compose / 'blackbox' / 'blackbox.yml'}", f"--web.listen-address=127.0.0.1:{bb_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen(
            [prometheus_bin, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_ready(f"http://127.0.0.1:{bb_port}/-/healthy", procs[0])
        _wait_ready(f"http://127.0.0.1:{prom_port}/-/ready", procs[1])
        query = urllib.parse.quote(f'probe_success{{job="{PROBE_JOB}"}}')
        expected = {(svc.name, h.name) for svc in bundle.services for h in svc.health}
        results: list[dict[str, object]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}", timeout=5) as resp:  # noqa: S310
                results = json.loads(resp.read())["data"]["result"]
            if len(results) == len(expected):
                break
            time.sleep(0.5)
        seen = {}
        for r in results:
            labels = r["metric"]
            assert isinstance(labels, dict)
            seen[(labels["service"], labels["check"])] = (labels["instance"], r["value"][1])
            assert labels["instance"].startswith(f"http://{app}/")
        assert set(seen) == expected, results
        for (_, check), (instance, value) in seen.items():
            assert value == ("1" if instance.endswith("/live") else "0"), (check, instance, value)
    finally:
        for proc in procs:
            stop_process(proc)
        server.shutdown()
        server.server_close()

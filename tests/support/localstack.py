"""A local, Docker-free alerting stack around the demo service, for the end-to-end test, benches and drills.

Prometheus and Alertmanager run as plain processes on 127.0.0.1 ephemeral ports, scraping `obsgen simulate`
and notifying a webhook recorder. Rule files are a TEST-ONLY time-compressed copy of the generated rules:
every `for:`, range selector and `offset` is divided by TIME_FACTOR (a minute becomes a second), so alerts
with 2m..15m `for:` and 5m..3d windows fire and resolve within seconds while keeping their ratios. The
unshortened rules are proven by `promtool test rules rules/tests/*.yaml`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self, TypeVar

import yaml

from obsgen import model as m
from obsgen.duration import format_duration, parse_duration
from obsgen.naming import PROBE_JOB
from obsgen.promql import Agg, Binary, Call, Expr, Neg, Paren, Subquery, Vector, render
from obsgen.promql_parse import to_expr

from conftest import stop_process

TIME_FACTOR = 60
MIN_RANGE_S = 5  # a range must hold several 1 s scrapes for rate() to work
MIN_OFFSET_S = 15  # a drop compared with `offset` stays visible long enough for Alertmanager to notify it
T = TypeVar("T")

def _shrink(text: str, floor: float) -> str:
    seconds = parse_duration(text) / TIME_FACTOR
    return format_duration(max(floor, round(seconds))) if seconds > 0 else "0s"


def compressed_seconds(duration: str) -> float:
    """How long a rule duration lasts in the compressed test copy."""
    return parse_duration(_shrink(duration, 0))


def _compressed(node: Expr) -> Expr:
    """The expression with every range, subquery step and offset divided by TIME_FACTOR."""
    if isinstance(node, Vector):
        return replace(node, range=_shrink(node.range, MIN_RANGE_S) if node.range else None,
                       offset=_shrink(node.offset, MIN_OFFSET_S) if node.offset else None)
    if isinstance(node, Subquery):
        return Subquery(_compressed(node.expr), _shrink(node.range, MIN_RANGE_S), _shrink(node.step, 1) if node.step else None,
                        _shrink(node.offset, MIN_OFFSET_S) if node.offset else None)
    if isinstance(node, Call):
        return Call(node.func, tuple(_compressed(a) for a in node.args))
    if isinstance(node, Agg):
        return replace(node, expr=_compressed(node.expr))
    if isinstance(node, Binary):
        return replace(node, lhs=_compressed(node.lhs), rhs=_compressed(node.rhs))
    if isinstance(node, (Paren, Neg)):
        return replace(node, expr=_compressed(node.expr))
    return node


def compress_expr(expr: str) -> str:
    """An expression with every range and offset divided by TIME_FACTOR (test-only), parsed and rebuilt as data."""
    return render(_compressed(to_expr(expr)))


def compress_rules(text: str) -> str:
    """A TEST-ONLY copy of a Prometheus rule file with `for:`, ranges and offsets divided by TIME_FACTOR."""
    data = yaml.safe_load(text)
    for group in data.get("groups", []):
        group["interval"] = "1s"
        for rule in group.get("rules", []):
            rule["expr"] = compress_expr(rule["expr"])
            if "for" in rule:
                rule["for"] = _shrink(rule["for"], 0)
            if "keep_firing_for" in rule:
                rule["keep_firing_for"] = _shrink(rule["keep_firing_for"], 0)
    return yaml.safe_dump(data, sort_keys=False)


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], T | None], timeout: float, interval: float = 0.25) -> T:
    """Poll check() until it returns something truthy; raise TimeoutError naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except (OSError, ValueError, KeyError) as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(interval)


def http_json(url: str, method: str = "GET", body: Any = None, timeout: float = 5) -> Any:
    """JSON from a local HTTP endpoint (raises urllib.error.HTTPError on 4xx/5xx)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URLs are ours, on 127.0.0.1
        raw = resp.read()
    return json.loads(raw) if raw else None


# -- Alertmanager config -----------------------------------------------------------------------------


def _short_timing(route: dict[str, Any]) -> None:
    for key, value in (("group_wait", "1s"), ("group_interval", "1s"), ("repeat_interval", "1h")):
        if key in route:
            route[key] = value
    for child in route.get("routes", []):
        _short_timing(child)


def minimal_alertmanager_config(bundle: m.Bundle) -> dict[str, Any]:
    """A stand-in for compose/alertmanager/alertmanager.yml: a webhook per team, Watchdog apart, same inhibition."""
    teams = sorted({s.team for s in bundle.services})
    return {
        "route": {
            "receiver": "default", "group_by": ["alertname", "service"],
            "routes": [{"receiver": "deadmans-switch", "matchers": ['alertname="Watchdog"']}]
            + [{"receiver": f"{t}-webhook", "matchers": [f'team="{t}"']} for t in teams],
        },
        "inhibit_rules": [
            {"source_matchers": ['severity="critical"'], "target_matchers": ['severity=~"warning|info"'],
             "equal": ["alertname", "service"]},
            {"source_matchers": ['severity="warning"'], "target_matchers": ['severity="info"'], "equal": ["alertname", "service"]},
        ],
        "receivers": [{"name": n} for n in ["default", "deadmans-switch", *(f"{t}-webhook" for t in teams)]],
    }


def local_alertmanager_config(config: dict[str, Any], webhook_url: str) -> dict[str, Any]:
    """The generated config with routes and inhibition kept, every receiver a webhook to <webhook_url>/<receiver>,
    secrets and templates dropped, and timings shortened."""
    out = json.loads(json.dumps(config))
    out["global"] = {"resolve_timeout": "5m"}
    out.pop("templates", None)
    out["receivers"] = [
        {"name": r["name"], "webhook_configs": [{"url": f"{webhook_url}/{urllib.parse.quote(r['name'])}", "send_resolved": True}]}
        for r in out.get("receivers", [])
    ]
    _short_timing(out["route"])
    for key, value in (("group_wait", "1s"), ("group_interval", "1s"), ("repeat_interval", "1h")):
        out["route"][key] = value
    return out


def routes_test(config_file: Path, labels: dict[str, str]) -> list[str]:
    """The receivers Alertmanager's router picks for these labels, as `amtool config routes test` reports them."""
    args = ["amtool", "config", "routes", "test", f"--config.file={config_file}", *(f"{k}={v}" for k, v in sorted(labels.items()))]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    return sorted(x.strip() for x in out.split(",") if x.strip())


# -- webhook recorder ----------------------------------------------------------------------------------


@dataclass
class Notification:
    receiver: str
    status: str
    alerts: list[dict[str, Any]]
    at: float


@dataclass
class Webhook:
    """Records Alertmanager webhook notifications; the URL path names the receiver."""

    notifications: list[Notification] = field(default_factory=list)

    def __post_init__(self) -> None:
        record = self.notifications
        lock = threading.Lock()
        self.lock = lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with lock:
                    record.append(Notification(urllib.parse.unquote(self.path.strip("/")), body.get("status", ""),
                                               body.get("alerts", []), time.monotonic()))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> Webhook:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def matching(self, alertname: str, status: str = "firing", labels: dict[str, str] | None = None,
                 since: float = 0.0) -> list[tuple[str, dict[str, Any]]]:
        """(receiver, alert) for every recorded alert with this name and status, newer than `since`."""
        with self.lock:
            items = list(self.notifications)
        out = []
        for n in items:
            if n.at < since:
                continue
            for a in n.alerts:
                al = a.get("labels", {})
                if al.get("alertname") == alertname and a.get("status") == status and \
                        all(al.get(k) == v for k, v in (labels or {}).items()):
                    out.append((n.receiver, a))
        return out


# -- processes ---------------------------------------------------------------------------------------------


@dataclass
class Proc:
    """A child process whose output goes to a log file; stop() always reaps it."""

    name: str
    args: list[str]
    log: Path
    env: dict[str, str] | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with open(self.log, "wb") as out:
            self.popen = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, env=self.env)
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            stop_process(self.popen)

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


class DemoAndAlertmanager:
    """What every local stack gives the end-to-end tests: a start that stops whatever it started if it fails, the
    demo's fault switch and Alertmanager's alerts. A stack defines `_start` and `stop`."""

    am_url: str
    demo_url: str

    def _start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def am_alerts(self) -> list[dict[str, Any]]:
        return http_json(f"{self.am_url}/api/v2/alerts")

    def fault(self, body: dict[str, Any]) -> Any:
        return http_json(f"{self.demo_url}/-/fault", "POST", body)

    def clear(self) -> Any:
        return http_json(f"{self.demo_url}/-/fault", "DELETE")


class LocalStack(DemoAndAlertmanager):
    """Demo service + Prometheus + Alertmanager + webhook recorder, all on 127.0.0.1."""

    def __init__(self, bundle: m.Bundle, catalogs: Path, rules_dir: Path, workdir: Path,
                 alertmanager_yml: Path | None = None, obsgen: str = "obsgen") -> None:
        self.bundle = bundle
        self.catalogs = catalogs
        self.rules_dir = rules_dir
        self.work = workdir
        self.alertmanager_yml = alertmanager_yml
        self.obsgen = obsgen
        self.procs: list[Proc] = []
        self.webhook = Webhook()
        self.demo_url = self.prom_url = self.am_url = ""
        self.am_config_file = workdir / "alertmanager.yml"
        self.using_generated_am = False
        self.target_count = 0
        self.started_at = 0.0

    # lifecycle -------------------------------------------------------------------------------------------

    def _start(self) -> None:
        for tool in ("prometheus", "prometheus-alertmanager", "amtool", "prometheus-blackbox-exporter"):
            if shutil.which(tool) is None:
                raise FileNotFoundError(f"{tool} is not installed (apt-get install prometheus prometheus-alertmanager)")
        self.webhook.start()
        demo_port = free_port()
        demo = Proc("demo", [self.obsgen, "simulate", "--catalogs", str(self.catalogs), "--env", self.bundle.env,
                             "--listen", f"127.0.0.1:{demo_port}"], self.work / "demo.log").start()
        self.procs.append(demo)
        self.demo_url = f"http://127.0.0.1:{demo_port}"

        am_port, prom_port = free_port(), free_port()
        if self.alertmanager_yml and self.alertmanager_yml.exists():
            source = yaml.safe_load(self.alertmanager_yml.read_text())
            self.using_generated_am = True
        else:
            source = minimal_alertmanager_config(self.bundle)
        self.am_config_file.write_text(yaml.safe_dump(local_alertmanager_config(source, self.webhook.url), sort_keys=True))
        subprocess.run(["amtool", "check-config", str(self.am_config_file)], capture_output=True, timeout=30, check=True)
        self.procs.append(Proc("alertmanager", [
            "prometheus-alertmanager", f"--config.file={self.am_config_file}", f"--storage.path={self.work / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
        ], self.work / "alertmanager.log").start())
        self.am_url = f"http://127.0.0.1:{am_port}"

        bb_port = free_port()
        bb_config = self.work / "blackbox.yml"
        bb_config.write_text(yaml.safe_dump({"modules": {"http_2xx": {"prober": "http", "timeout": "2s",
                                                                      "http": {"preferred_ip_protocol": "ip4"}}}}))
        self.procs.append(Proc("blackbox", [
            "prometheus-blackbox-exporter", f"--config.file={bb_config}", f"--web.listen-address=127.0.0.1:{bb_port}",
        ], self.work / "blackbox.log").start())

        rules = self.work / "rules"
        rules.mkdir(exist_ok=True)
        for f in sorted(self.rules_dir.glob("*.yaml")):
            (rules / f.name).write_text(compress_rules(f.read_text()))
        demo_host = f"127.0.0.1:{demo_port}"
        scrape = [
            {"job_name": t.job, "metrics_path": f"/metrics/{svc.name}", "static_configs": [{"targets": [demo_host]}]}
            for svc in self.bundle.services for t in svc.targets
        ]
        probes = [
            {"targets": [f"{self.demo_url}/services/{svc.name}/{h.url.split('://', 1)[-1].split('/', 1)[-1]}"],
             "labels": {"check": h.name, "service": svc.name}}
            for svc in self.bundle.services for h in svc.health
        ]
        if probes:  # the same job shape as the generated prometheus.yml, probing the demo's health endpoints
            scrape.append({
                "job_name": PROBE_JOB, "metrics_path": "/probe", "params": {"module": ["http_2xx"]}, "static_configs": probes,
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": f"127.0.0.1:{bb_port}"},
                ],
            })
        self.target_count = len(scrape) - (1 if probes else 0) + len(probes)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
            "rule_files": [str(rules / "*.yaml")],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            "scrape_configs": scrape,
        }
        prom_config = self.work / "prometheus.yml"
        prom_config.write_text(yaml.safe_dump(config, sort_keys=False))
        subprocess.run(["promtool", "check", "config", str(prom_config)], capture_output=True, timeout=60, check=True)
        self.procs.append(Proc("prometheus", [
            "prometheus", f"--config.file={prom_config}", f"--storage.tsdb.path={self.work / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}", "--web.enable-remote-write-receiver",
            "--rules.alert.resend-delay=1s", "--log.level=warn",
        ], self.work / "prometheus.log").start())
        self.prom_url = f"http://127.0.0.1:{prom_port}"

        for proc, url in ((demo, f"{self.demo_url}/health/live"), (self.procs[1], f"{self.am_url}/-/ready"),
                          (self.procs[2], f"http://127.0.0.1:{bb_port}/-/healthy"), (self.procs[3], f"{self.prom_url}/-/ready")):
            wait_for(f"{proc.name} at {url}", lambda p=proc, u=url: self._ready(p, u), timeout=30)
        self.started_at = time.monotonic()

    def wait_for_history(self, seconds: float = MIN_OFFSET_S + 5) -> None:
        """Sleep until Prometheus holds `seconds` of scrapes, so `offset` comparisons (drops) have a past to compare."""
        time.sleep(max(0.0, self.started_at + seconds - time.monotonic()))

    def _ready(self, proc: Proc, url: str) -> bool:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        with contextlib.suppress(OSError):
            self.webhook.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # queries -------------------------------------------------------------------------------------------------

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = http_json(f"{self.prom_url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
        return data["data"]["result"]

    def targets_up(self) -> bool:
        """Every scrape target (catalog jobs and health probes) is up."""
        up = self.query("up")
        return len(up) == self.target_count and all(r["value"][1] == "1" for r in up)

    def firing(self) -> list[dict[str, Any]]:
        """Alerts Prometheus holds in state firing."""
        data = http_json(f"{self.prom_url}/api/v1/alerts")
        return [a for a in data["data"]["alerts"] if a["state"] == "firing"]



StackT = TypeVar("StackT", bound=DemoAndAlertmanager)


@contextlib.contextmanager
def started(stack: StackT) -> Iterator[StackT]:
    """The stack started, and stopped on exit even on failure."""
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@contextlib.contextmanager
def running(bundle: m.Bundle, catalogs: Path, rules_dir: Path, workdir: Path, alertmanager_yml: Path | None = None,
            obsgen: str = "obsgen") -> Iterator[LocalStack]:
    """A started LocalStack, stopped on exit even on failure."""
    with started(LocalStack(bundle, catalogs, rules_dir, workdir, alertmanager_yml, obsgen)) as stack:
        yield stack


@contextlib.contextmanager
def running_generated(bundle: m.Bundle, catalogs: Path, workdir: Path, obsgen: str = "obsgen") -> Iterator[LocalStack]:
    """Generate the bundle's outputs under workdir/gen, then run the local stack on its rules and Alertmanager config."""
    from obsgen.emit import emit_all  # the harness runs what `obsgen generate` writes
    from obsgen.plan import build_plan
    from obsgen.settings import Settings
    from obsgen.writer import write

    out = workdir / "gen"
    write(emit_all(build_plan(bundle), Settings()), out)
    stack_dir = workdir / "stack"
    stack_dir.mkdir(parents=True, exist_ok=True)
    with running(bundle, catalogs, out / "rules", stack_dir, out / "compose/alertmanager/alertmanager.yml", obsgen) as stack:
        yield stack


def env_with(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}

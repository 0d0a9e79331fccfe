"""`obsgen verify`: is a running stack healthy? One line per check; absent components are reported, never passed.

Prometheus (ready, targets up, rule groups healthy, Alertmanager discovered), Alertmanager (ready), Grafana
(every datasource healthy), Loki (ready, a pushed test line comes back), the OpenTelemetry Collector (accepts
a test span) and Jaeger (that span arrives). Only the standard library is used: it talks plain HTTP.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OK, FAIL, ABSENT = "ok", "FAIL", "absent"
COMPONENTS = ("prometheus", "alertmanager", "grafana", "loki", "collector", "jaeger")
DEFAULT_URLS = {
    "prometheus": "http://127.0.0.1:9090", "alertmanager": "http://127.0.0.1:9093", "grafana": "http://127.0.0.1:3000",
    "loki": "http://127.0.0.1:3100", "collector": "http://127.0.0.1:4318", "jaeger": "http://127.0.0.1:16686",
}
EXIT_FAILED, EXIT_ABSENT = 1, 3


@dataclass(frozen=True)
class Result:
    status: str  # ok | FAIL | absent
    component: str
    check: str
    detail: str = ""

    def line(self) -> str:
        return f"{self.status:<6} {self.component:<12} {self.check}" + (f": {self.detail}" if self.detail else "")


class Absent(Exception):
    """Nothing listens at the component's address."""


class Http:
    """Small JSON-over-HTTP client; connection refused means the component is absent."""

    def __init__(self, timeout: float = 5) -> None:
        self.timeout = timeout

    def call(self, url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - operator-given URLs
                text = resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            text, status = exc.read(), exc.code
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError | FileNotFoundError) or "refused" in str(exc.reason).lower():
                raise Absent(str(exc.reason)) from exc
            raise
        try:
            return status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return status, text.decode(errors="replace")


def _poll(check: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class Verifier:
    """Runs the checks of each requested component against its URL."""

    def __init__(self, urls: dict[str, str], http: Http | None = None, wait: float = 10) -> None:
        self.urls = {k: v.rstrip("/") for k, v in urls.items()}
        self.http = http or Http()
        self.wait = wait
        self.trace_id = ""

    def run(self, components: tuple[str, ...] = COMPONENTS) -> list[Result]:
        out: list[Result] = []
        for comp in components:
            check = getattr(self, f"_{comp}")
            try:
                out.extend(check(self.urls[comp]))
            except Absent as exc:
                out.append(Result(ABSENT, comp, "reachable", f"nothing answers at {self.urls[comp]} ({exc})"))
            except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
                out.append(Result(FAIL, comp, "reachable", f"{type(exc).__name__}: {exc}"))
        return out

    def _ready(self, comp: str, url: str) -> Result:
        status, body = self.http.call(url)
        return Result(OK if status == 200 else FAIL, comp, "ready", "" if status == 200 else f"HTTP {status} {str(body)[:120]}")

    def _prometheus(self, base: str) -> list[Result]:
        out = [self._ready("prometheus", f"{base}/-/ready")]
        _, targets = self.http.call(f"{base}/api/v1/targets?state=active")
        active = targets["data"]["activeTargets"]
        down = [f"{t['labels'].get('job')} {t['labels'].get('instance')} ({t.get('lastError') or t['health']})"
                for t in active if t["health"] != "up"]
        out.append(Result(FAIL if down or not active else OK, "prometheus", "every target up",
                          "; ".join(down) if down else ("no targets" if not active else f"{len(active)} targets")))
        _, rules = self.http.call(f"{base}/api/v1/rules")
        groups = rules["data"]["groups"]
        bad = [f"{g['name']}/{r['name']} ({r['health']}{': ' + r['lastError'] if r.get('lastError') else ''})"
               for g in groups for r in g["rules"] if r["health"] != "ok"]
        out.append(Result(FAIL if bad or not groups else OK, "prometheus", "every rule group healthy",
                          "; ".join(bad[:5]) if bad else ("no rule groups loaded" if not groups else f"{len(groups)} groups")))
        _, ams = self.http.call(f"{base}/api/v1/alertmanagers")
        found = [a["url"] for a in ams["data"]["activeAlertmanagers"]]
        out.append(Result(OK if found else FAIL, "prometheus", "Alertmanager discovered", ", ".join(found) or "none"))
        return out

    def _alertmanager(self, base: str) -> list[Result]:
        out = [self._ready("alertmanager", f"{base}/-/ready")]
        status, body = self.http.call(f"{base}/api/v2/status")
        ok = status == 200 and isinstance(body, dict) and body.get("config", {}).get("original")
        out.append(Result(OK if ok else FAIL, "alertmanager", "config loaded", "" if ok else f"HTTP {status}"))
        return out

    def _grafana(self, base: str) -> list[Result]:
        token = os.environ.get("GRAFANA_TOKEN", "")
        if not token:
            # Without a token datasources cannot be listed; that is a failure to verify, not a pass.
            self.http.call(f"{base}/api/health")
            return [Result(FAIL, "grafana", "datasources healthy", "set GRAFANA_TOKEN (a service-account token)")]
        auth = {"Authorization": f"Bearer {token}"}
        status, sources = self.http.call(f"{base}/api/datasources", headers=auth)
        if status != 200 or not isinstance(sources, list):
            return [Result(FAIL, "grafana", "datasources listed", f"HTTP {status}")]
        if not sources:
            return [Result(FAIL, "grafana", "datasources listed", "no datasources provisioned")]
        out = []
        for ds in sorted(sources, key=lambda d: d["uid"]):
            status, body = self.http.call(f"{base}/api/datasources/uid/{ds['uid']}/health", headers=auth)
            ok = status == 200 and isinstance(body, dict) and str(body.get("status", "")).upper() == "OK"
            detail = "" if ok else f"HTTP {status} {body.get('message', '') if isinstance(body, dict) else ''}".strip()
            out.append(Result(OK if ok else FAIL, "grafana", f"datasource {ds['name']} ({ds['type']}) healthy", detail))
        return out

    def _loki(self, base: str) -> list[Result]:
        out = [self._ready("loki", f"{base}/ready")]
        marker = f"obsgen-verify-{secrets.token_hex(8)}"
        now_ns = time.time_ns()
        push = {"streams": [{"stream": {"job": "obsgen-verify"}, "values": [[str(now_ns), f"{marker} test line"]]}]}
        status, body = self.http.call(f"{base}/loki/api/v1/push", "POST", push)
        if status not in (200, 204):
            return [*out, Result(FAIL, "loki", "test line pushed", f"HTTP {status} {str(body)[:120]}")]
        query = urllib.parse.urlencode({"query": f'{{job="obsgen-verify"}} |= "{marker}"', "start": str(now_ns - 60 * 10**9),
                                        "end": str(now_ns + 60 * 10**9), "limit": "10"})

        def found() -> bool:
            status, body = self.http.call(f"{base}/loki/api/v1/query_range?{query}")
            return status == 200 and bool(body["data"]["result"])

        ok = _poll(found, self.wait)
        out.append(Result(OK if ok else FAIL, "loki", "test line queryable", "" if ok else f"not found within {self.wait:g}s"))
        return out

    def _collector(self, base: str) -> list[Result]:
        self.trace_id = secrets.token_hex(16)
        now = time.time_ns()
        span = {"traceId": self.trace_id, "spanId": secrets.token_hex(8), "name": "obsgen verify", "kind": 1,
                "startTimeUnixNano": str(now - 10**6), "endTimeUnixNano": str(now)}
        body = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "obsgen-verify"}}]},
                                   "scopeSpans": [{"scope": {"name": "obsgen.verify"}, "spans": [span]}]}]}
        status, answer = self.http.call(f"{base}/v1/traces", "POST", body)
        ok = status == 200
        return [Result(OK if ok else FAIL, "collector", "test span accepted (OTLP/HTTP)",
                       f"trace {self.trace_id}" if ok else f"HTTP {status} {str(answer)[:120]}")]

    def _jaeger(self, base: str) -> list[Result]:
        self.http.call(f"{base}/")  # absent before anything else
        if not self.trace_id:
            return [Result(FAIL, "jaeger", "test span arrived", "no test span was sent (the collector is absent or failed)")]

        def found() -> bool:
            status, body = self.http.call(f"{base}/api/traces/{self.trace_id}")
            return status == 200 and bool(body and body.get("data"))

        ok = _poll(found, self.wait)
        return [Result(OK if ok else FAIL, "jaeger", "test span arrived",
                       f"trace {self.trace_id}" + ("" if ok else f" not found within {self.wait:g}s"))]


def exit_code(results: list[Result]) -> int:
    """0 when every check passed, 1 when any failed, 3 when none failed but a component was absent."""
    if any(r.status == FAIL for r in results):
        return EXIT_FAILED
    if any(r.status == ABSENT for r in results):
        return EXIT_ABSENT
    return 0

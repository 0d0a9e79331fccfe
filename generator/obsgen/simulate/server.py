"""The demo HTTP service: /metrics, the load tests' endpoints, health checks and the fault control endpoint.

GET  /metrics                 every catalog's metrics (503 while go_down is set)
GET  /metrics/<service>       one catalog's metrics, so each scrape job can have its own path
GET  /health/live|ready|...   health checks (ready fails while a 0/1 gauge is forced down)
*    <load test paths>        2xx (or the load test's expected status), slowed or failed by faults
GET|POST|DELETE /-/fault      read, add to, or clear the active faults
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from obsgen import model as m
from obsgen.simulate.exporter import CONTENT_TYPE, ServiceMetrics, Ticker
from obsgen.simulate.faults import FaultError, Faults, merge
from obsgen.simulate.series import Route, sim_service
from obsgen.simulate.telemetry import JsonLog, Tracer, elapsed_ms

MAX_SLEEP_S = 30.0  # a latency fault slows HTTP answers this much at most; histograms record the full value


class Simulator:
    """State shared by every request: the services' metrics and the active faults."""

    def __init__(self, bundle: m.Bundle, services: list[str] | None = None, tick: float = 0.2) -> None:
        chosen = [s for s in bundle.services if not services or s.name in services]
        missing = sorted(set(services or ()) - {s.name for s in chosen})
        if missing:
            raise ValueError(f"no catalog defines service {', '.join(missing)}")
        if not chosen:
            raise ValueError("no catalogs to simulate")
        self.env = bundle.env
        self.lock = threading.Lock()
        self.faults = Faults()
        self.metrics = {s.name: ServiceMetrics(sim_service(s), seed=i + 1) for i, s in enumerate(chosen)}
        self.routes: dict[tuple[str, str], Route] = {}
        self.health: dict[str, str] = {}
        for sm in self.metrics.values():
            for r in sm.sim.routes:
                self.routes.setdefault((r.method, r.path), r)
            for path in sm.sim.health_paths:
                self.health.setdefault(path, sm.sim.service.name)
        for path in ("/health/live", "/health/ready", "/health/startup"):
            self.health.setdefault(path, chosen[0].name)
        self.name = chosen[0].name if len(chosen) == 1 else "obsgen-demo"
        self.log = JsonLog(self.name, self.env)
        self.tracer = Tracer(self.name)
        self.ticker = Ticker(list(self.metrics.values()), lambda: self.faults, self.lock, tick)
        self.counter = 0  # deterministic error injection: every k-th response fails

    @property
    def metric_names(self) -> set[str]:
        return {sm.metric.name for s in self.metrics.values() for sm in s.sim.metrics}

    def set_faults(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            for sm in self.metrics.values():
                sm.set_gauges(faults)
                sm.set_absent(faults.absent)

    def apply(self, request: Any) -> Faults:
        """Merge a POST body into the active faults."""
        faults = merge(self.faults, request, self.metric_names, set(self.metrics))
        self.set_faults(faults)
        return faults

    def down(self, service: str | None) -> bool:
        return "*" in self.faults.go_down or (service is not None and service in self.faults.go_down)

    def should_fail(self) -> bool:
        ratio = self.faults.error_ratio
        if not ratio:
            return False
        with self.lock:
            self.counter += 1
            return (self.counter * ratio) % 1 < ratio  # exactly ratio of responses, evenly spread

    def exposition(self, service: str | None) -> bytes:
        with self.lock:
            if service:
                return self.metrics[service].exposition()
            return b"".join(s.exposition() for s in self.metrics.values())


def handler_for(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one simulator."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so k6 does not open a connection per request
        server_version = "obsgen-simulate"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus delayed ACK adds ~40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return  # our own JSON log replaces the default access log

        def _send(self, status: int, body: bytes, ctype: str = "application/json", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(obj, sort_keys=True).encode(), headers=headers)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(min(length, 1 << 20)) if length else b""
            return json.loads(raw) if raw else None

        def _route(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/-/fault":
                return self._control()
            if path == "/metrics" or path.startswith("/metrics/"):
                service = path[len("/metrics/"):] or None
                if service is not None and service not in sim.metrics:
                    return self._json(404, {"error": f"no service {service}"})
                if self.command not in ("GET", "HEAD"):
                    return self._json(405, {"error": "GET only"})
                if sim.down(service) or (service is None and any(sim.down(s) for s in sim.metrics)):
                    return self._json(503, {"error": "go_down fault is set"})
                return self._send(200, sim.exposition(service), CONTENT_TYPE)
            self._app(path)

        def _control(self) -> None:
            if self.command == "DELETE":
                sim.set_faults(Faults())
                sim.log.write("warn", "faults cleared", route="/-/fault", status=200)
                return self._json(200, {"faults": {}})
            if self.command == "POST":
                try:
                    faults = sim.apply(self._body())
                except (FaultError, json.JSONDecodeError) as exc:
                    return self._json(400, {"error": str(exc)})
                sim.log.write("warn", f"faults set: {json.dumps(faults.as_json(), sort_keys=True)}", route="/-/fault", status=200)
                return self._json(200, {"faults": faults.as_json()})
            return self._json(200, {"faults": sim.faults.as_json()})

        def _app(self, path: str) -> None:
            start = time.monotonic()
            scoped = None
            if path.startswith("/services/"):  # /services/<name>/<path>: the same endpoint, as one service's
                name, _, rest = path[len("/services/"):].partition("/")
                if name in sim.metrics:
                    scoped, path = name, "/" + rest
            route = sim.routes.get((self.command, path))
            service = scoped or (route.service if route else sim.health.get(path))
            request_id = self.headers.get("X-Request-Id") or str(uuid.uuid4())
            template = path if (route or path in sim.health) else "unmatched"
            attrs = {"http.route": template, "http.request.method": self.command}
            with sim.tracer.span(f"{self.command} {template}", self.headers.get("traceparent"), attrs) as (ids, span):
                if self.command in ("POST", "PUT", "PATCH"):
                    self._body_discard()
                status, body = self._answer(path, route, service)
                if sim.faults.latency_s and route is not None:
                    time.sleep(min(sim.faults.latency_s, MAX_SLEEP_S))
                if span is not None:
                    span.set_attribute("http.response.status_code", status)
                headers = {"X-Request-Id": request_id, "traceparent": ids.traceparent}
                self._json(status, body, headers)
            level = "error" if status >= 500 else ("warn" if status >= 400 else "info")
            sim.log.write(level, "request", service=service or sim.name, request_id=request_id, trace_id=ids.trace_id,
                          span_id=ids.span_id, route=template, status=status, latency_ms=elapsed_ms(start))

        def _body_discard(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(min(length, 1 << 20))  # bodies are never logged or kept

        def _answer(self, path: str, route: Route | None, service: str | None) -> tuple[int, Any]:
            if sim.down(service):
                return 503, {"status": "down"}
            if path in sim.health:
                if path.endswith("ready"):
                    down = sorted(sim.faults.down)
                    checks = {name: {"ok": name not in down} for name in
                              sorted(n for n in sim.metric_names if n.endswith("_up"))}
                    return (503 if down else 200), {"status": "fail" if down else "ok", "checks": checks}
                return 200, {"status": "ok"}
            if route is None:
                return 404, {"error": "not found"}
            if sim.should_fail():
                return 500, {"error": "injected fault"}
            return route.status, {"ok": True}

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._route()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET  # noqa: N815

    return Handler


class DemoServer:
    """The simulator plus its HTTP server and ticker; start() and stop() bracket its life."""

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.sim = sim
        self.httpd = ThreadingHTTPServer((host, port), handler_for(sim))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="obsgen-simulate-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> DemoServer:
        self.sim.ticker.start()
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.sim.ticker.stop()
        self.sim.tracer.shutdown()
        self.sim.log.shutdown()

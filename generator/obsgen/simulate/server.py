"""The demo HTTP service: /metrics, the load tests' endpoints, health checks and the fault control endpoint.

GET  /metrics                 every catalog's metrics (503 while go_down is set)
GET  /metrics/<service>       one catalog's metrics, so each scrape job can have its own path
GET  /health/live|ready|...   health checks (ready fails while a 0/1 gauge is forced down)
*    <load test paths>        2xx (or the load test's expected status), slowed or failed by faults
GET|POST|DELETE /-/fault      read, add to, or clear the active faults

Requests are bounded (bounded.py): malformed or oversized ones get a 4xx and one log line, never a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from obsgen import model as m
from obsgen.simulate.bounded import REQUEST_TIMEOUT_S, BadRequest, DeadlineReader, body_length, parse_json, read_body
from obsgen.simulate.exporter import CONTENT_TYPE, ServiceMetrics, Ticker
from obsgen.simulate.faults import FaultError, Faults, merge
from obsgen.simulate.series import Route, sim_service
from obsgen.simulate.telemetry import JsonLog, Tracer, elapsed_ms

MAX_SLEEP_S = 30.0  # a latency fault slows HTTP answers this much at most; histograms record the full value
MAX_CONNECTIONS = 512  # open at once; k6's scenarios use far fewer virtual users


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


def handler_for(sim: Simulator, request_timeout: float = REQUEST_TIMEOUT_S) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one simulator."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so k6 does not open a connection per request
        server_version = "obsgen-simulate"
        timeout = request_timeout  # StreamRequestHandler puts it on the socket: it bounds every write

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus delayed ACK adds ~40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.reader = DeadlineReader(self.connection, request_timeout)
            self.rfile = io.BufferedReader(self.reader)

        def handle_one_request(self) -> None:
            self.reader.start()  # request line, headers and body share one deadline
            super().handle_one_request()

        def handle_expect_100(self) -> bool:
            try:  # refuse an oversized or malformed body before inviting the client to send it
                body_length(self.headers)
            except BadRequest as exc:
                self._refuse(exc)
                return False
            return super().handle_expect_100()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return  # our own JSON log replaces the default access log

        def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            if args and isinstance(args[0], TimeoutError) and not self.reader.received:
                return  # an idle keep-alive connection closed on time: nothing went wrong
            status = args[0] if args and isinstance(args[0], int) else None  # send_error logs "code %d, ..."
            sim.log.write("warn", f"bad request: {format % args}"[:200], status=status)

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

        def _refuse(self, exc: BadRequest) -> None:
            """Answer a request we will not read further, log one line, and close: its framing is not trusted."""
            self.close_connection = True
            sim.log.write("warn", f"bad request: {exc.reason}", route=self.path.split("?", 1)[0][:100], status=exc.status)
            with contextlib.suppress(OSError):  # the client may be gone already; that needs no second line
                self._json(exc.status, {"error": exc.reason}, {"Connection": "close"})

        def _route(self) -> None:
            try:
                body = read_body(self.headers, self.rfile)  # read (bounded) even when unused, to keep keep-alive framing
                self._dispatch(body)
            except BadRequest as exc:
                self._refuse(exc)

        def _dispatch(self, body: bytes) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/-/fault":
                return self._control(body)
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

        def _control(self, body: bytes) -> None:
            if self.command == "DELETE":
                sim.set_faults(Faults())
                sim.log.write("warn", "faults cleared", route="/-/fault", status=200)
                return self._json(200, {"faults": {}})
            if self.command == "POST":
                try:
                    faults = sim.apply(parse_json(body))
                except (BadRequest, FaultError) as exc:  # the framing was fine: the connection stays open
                    sim.log.write("warn", f"fault refused: {exc}"[:200], route="/-/fault", status=400)
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


class _Server(ThreadingHTTPServer):
    """A thread per connection, bounded in number; a connection that fails is one log line, never a traceback."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], log: JsonLog,
                 max_connections: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.log = log
        self.max_connections = max_connections
        self.slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def drain(self, timeout: float) -> None:
        """Wait, at most `timeout` seconds, for open connections to finish: a handler ends its request's span after
        the response is sent, and a span ended after the exporter shut down is lost."""
        deadline = time.monotonic() + timeout
        taken = 0
        while taken < self.max_connections and self.slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            taken += 1
        for _ in range(taken):
            self.slots.release()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):  # stalled clients cannot pile up threads without end
            self.log.write("warn", f"connection refused: {self.max_connections} connections already open", status=503)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        level = "warn" if isinstance(exc, OSError) else "error"  # a reset or a broken pipe is the client's doing
        self.log.write(level, f"connection ended: {type(exc).__name__}: {exc}"[:200])


class DemoServer:
    """The simulator plus its HTTP server and ticker; start() and stop() bracket its life."""

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 8000,
                 request_timeout: float = REQUEST_TIMEOUT_S, max_connections: int = MAX_CONNECTIONS) -> None:
        self.sim = sim
        self.httpd = _Server((host, port), handler_for(sim, request_timeout), sim.log, max_connections)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="obsgen-simulate-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> DemoServer:
        self.sim.ticker.start()
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.httpd.drain(timeout=5.0)
        self.sim.ticker.stop()
        self.sim.tracer.shutdown()
        self.sim.log.shutdown()

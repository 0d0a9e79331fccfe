"""JSON request logs with trace correlation, and OTLP spans when OTEL_EXPORTER_OTLP_ENDPOINT is set.

OpenTelemetry is optional (the `demo` extra) and imported only here. Logs carry the fields of the
Divan spec, section 2, and never user ids, addresses, e-mails or bodies.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

LOG_FIELDS = ("ts", "level", "msg", "service", "env", "commit", "request_id", "trace_id", "span_id", "route", "status",
              "latency_ms")


@dataclass
class SpanIds:
    """The ids a log line and the traceparent response header carry."""

    trace_id: str
    span_id: str

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-01"


def parse_traceparent(header: str | None) -> tuple[str, str] | None:
    """(trace id, parent span id) from a W3C traceparent header, or None when absent or malformed."""
    if not header:
        return None
    parts = header.strip().split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    try:
        int(parts[1], 16), int(parts[2], 16)
    except ValueError:
        return None
    if set(parts[1]) == {"0"} or set(parts[2]) == {"0"}:
        return None
    return parts[1], parts[2]


class JsonLog:
    """One JSON object per line, only the spec's fields."""

    def __init__(self, service: str, env: str, stream: IO[str] | None = None) -> None:
        self.service = service
        self.env = env
        self.commit = os.environ.get("OBSGEN_COMMIT", "dev")
        self.stream = stream or sys.stderr

    def write(self, level: str, msg: str, **fields: Any) -> None:
        record: dict[str, Any] = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                                  "level": level, "msg": msg, "service": fields.pop("service", self.service),
                                  "env": self.env, "commit": self.commit}
        record.update({k: v for k, v in fields.items() if k in LOG_FIELDS and v is not None})
        self.stream.write(json.dumps(record, sort_keys=False) + "\n")
        self.stream.flush()


class Tracer:
    """Spans through the OpenTelemetry SDK when an OTLP endpoint is configured, else plain random ids."""

    def __init__(self, service: str) -> None:
        self.otel: Any = None
        self.provider: Any = None
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            self._setup(service)

    def _setup(self, service: str) -> None:
        try:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            sys.stderr.write("obsgen simulate: OTEL_EXPORTER_OTLP_ENDPOINT is set but opentelemetry-sdk is not installed "
                             "(pip install 'obsgen[demo]'); tracing is off\n")
            return
        if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf").startswith("grpc"):
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # type: ignore[assignment]
        self.provider = TracerProvider(resource=Resource.create({"service.name": service}))
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        self.otel = self.provider.get_tracer("obsgen.simulate")

    @contextmanager
    def span(self, name: str, traceparent: str | None, attributes: dict[str, Any]) -> Iterator[tuple[SpanIds, Any]]:
        """A server span continuing the caller's trace; yields its ids and a setter for the status code."""
        parent = parse_traceparent(traceparent)
        if self.otel is None:
            ids = SpanIds(parent[0] if parent else secrets.token_hex(16), secrets.token_hex(8))
            yield ids, None
            return
        from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags, set_span_in_context

        ctx = None
        if parent:
            ctx = set_span_in_context(NonRecordingSpan(SpanContext(int(parent[0], 16), int(parent[1], 16), True,
                                                                   TraceFlags(TraceFlags.SAMPLED))))
        with self.otel.start_as_current_span(name, context=ctx, kind=SpanKind.SERVER, attributes=attributes) as span:
            sc = span.get_span_context()
            yield SpanIds(f"{sc.trace_id:032x}", f"{sc.span_id:016x}"), span

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


def elapsed_ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 2)

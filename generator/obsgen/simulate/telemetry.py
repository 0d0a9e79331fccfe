"""JSON request logs with trace correlation, and OTLP spans and logs when OTEL_EXPORTER_OTLP_ENDPOINT is set.

OpenTelemetry is optional (the `demo` extra) and imported only here. Logs carry the fields of the
Divan spec, section 2, and never user ids, addresses, e-mails or bodies. Each JSON line also goes to the
collector as an OTLP log record (body = the line, resource service.name = the line's service), which is
how the stack's Loki gets the demo's logs; OTEL_LOGS_EXPORTER=none turns that off.
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


SEVERITY = {"debug": 5, "info": 9, "warn": 13, "error": 17}  # OpenTelemetry SeverityNumber per level


def _otlp_protocol() -> str:
    return os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")


class OtlpLogs:
    """OTLP log export through the OpenTelemetry SDK: one LoggerProvider per service, so that each line's
    service becomes its resource's service.name (Loki's service_name stream label)."""

    def __init__(self) -> None:
        self.providers: dict[str, Any] = {}

    @staticmethod
    def wanted() -> bool:
        return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")) and os.environ.get("OTEL_LOGS_EXPORTER") != "none"

    def _logger(self, service: str) -> Any:
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
        from opentelemetry.sdk.resources import Resource

        if _otlp_protocol().startswith("grpc"):
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        else:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter  # type: ignore[assignment]
        provider = self.providers.get(service)
        if provider is None:
            provider = LoggerProvider(resource=Resource.create({"service.name": service}))
            provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
            self.providers[service] = provider
        return provider.get_logger("obsgen.simulate")

    def emit(self, service: str, level: str, line: str, trace_id: str | None, span_id: str | None) -> None:
        """Send one line; the trace context makes Loki store trace_id/span_id beside it."""
        from opentelemetry._logs import SeverityNumber
        from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

        context = None
        if trace_id and span_id:
            span = NonRecordingSpan(SpanContext(int(trace_id, 16), int(span_id, 16), False, TraceFlags(TraceFlags.SAMPLED)))
            context = set_span_in_context(span)
        self._logger(service).emit(timestamp=time.time_ns(), context=context, body=line, severity_text=level.upper(),
                                   severity_number=SeverityNumber(SEVERITY.get(level, 9)))

    def shutdown(self) -> None:
        """Flush and stop every provider (the batch processors send what they still hold)."""
        for provider in self.providers.values():
            provider.shutdown()
        self.providers.clear()


class JsonLog:
    """One JSON object per line, only the spec's fields; also sent as OTLP logs when an endpoint is set."""

    def __init__(self, service: str, env: str, stream: IO[str] | None = None) -> None:
        self.service = service
        self.env = env
        self.commit = os.environ.get("OBSGEN_COMMIT", "dev")
        self.stream = stream or sys.stderr
        self.otlp: OtlpLogs | None = None
        if OtlpLogs.wanted():
            try:
                import opentelemetry.sdk._logs  # noqa: F401
            except ImportError:
                sys.stderr.write("obsgen simulate: OTEL_EXPORTER_OTLP_ENDPOINT is set but opentelemetry-sdk is not "
                                 "installed (pip install 'obsgen[demo]'); OTLP logs are off\n")
            else:
                self.otlp = OtlpLogs()

    def write(self, level: str, msg: str, **fields: Any) -> None:
        record: dict[str, Any] = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                                  "level": level, "msg": msg, "service": fields.pop("service", self.service),
                                  "env": self.env, "commit": self.commit}
        record.update({k: v for k, v in fields.items() if k in LOG_FIELDS and v is not None})
        line = json.dumps(record, sort_keys=False)
        self.stream.write(line + "\n")
        self.stream.flush()
        if self.otlp is not None:
            self.otlp.emit(record["service"], level, line, record.get("trace_id"), record.get("span_id"))

    def shutdown(self) -> None:
        """Flush the OTLP log export, if any."""
        if self.otlp is not None:
            self.otlp.shutdown()


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
        if _otlp_protocol().startswith("grpc"):
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

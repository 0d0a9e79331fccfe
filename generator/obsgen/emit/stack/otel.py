"""OpenTelemetry Collector: OTLP in; PII redaction, sampling and batching; traces to Jaeger, metrics to
Prometheus (remote write), logs to Loki (OTLP). Current component names only (debug, otlp, otlphttp)."""

from __future__ import annotations

from typing import Any

# Resolved by the collector at start from the container environment (compose passes it from .env).
SAMPLING_ENV = "OTEL_SAMPLING_PERCENTAGE"
DEFAULT_SAMPLING_PERCENT = 10
SAMPLING_PLACEHOLDER = "__OBSGEN_SAMPLING__"  # swapped for an unquoted ${env:...} so it resolves to a number
SAMPLING_REFERENCE = "${env:" + SAMPLING_ENV + ":-" + str(DEFAULT_SAMPLING_PERCENT) + "}"

# Divan PII policy: never keep message bodies, file keys, tokens, e-mails or exact geo; db.statement is hashed
# so identical statements still group. Keys are matched whole, with any namespace prefix (user.email, ...).
PII_DELETE_KEYS = (
    "authorization", "http.request.header.authorization", "http.request.header.cookie",
    "http.response.header.set-cookie", "url.query", "http.request.body", "message.body", "user.email",
)
PII_DELETE_PATTERN = (
    r"(?i)^(.*\.)?(e-?mail|email_address|password|passwd|token|access_token|refresh_token|id_token|api_key|apikey"
    r"|secret|client_secret|authorization|cookie|set-cookie|file_key|message_body|body|content)$"
)
GEO_DELETE_PATTERN = r"(?i)^(.*\.)?(geo|location)\.(lat|lon|latitude|longitude|coordinates)$"
EMAIL_REGEX = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
BEARER_REGEX = r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"


def _ottl(regex: str) -> str:
    """A regex as an OTTL string literal's content: OTTL unquotes backslashes, so double them."""
    return regex.replace("\\", "\\\\")


def config() -> dict[str, Any]:
    """otel-collector config.yaml as data (the sampling value is a placeholder; see render())."""
    actions: list[dict[str, Any]] = [{"key": key, "action": "delete"} for key in PII_DELETE_KEYS]
    actions += [
        {"pattern": PII_DELETE_PATTERN, "action": "delete"},
        {"pattern": GEO_DELETE_PATTERN, "action": "delete"},
        {"key": "db.statement", "action": "hash"},
    ]
    scrub_values = [
        f'replace_all_patterns(attributes, "value", "{_ottl(EMAIL_REGEX)}", "[redacted-email]")',
        f'replace_all_patterns(attributes, "value", "{_ottl(BEARER_REGEX)}", "Bearer [redacted]")',
    ]
    return {
        "extensions": {"health_check": {"endpoint": "0.0.0.0:13133"}},
        "receivers": {
            "otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}},
        },
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20},
            "attributes/pii": {"actions": actions},
            "transform/pii": {
                "error_mode": "ignore",
                "trace_statements": [{"context": "span", "statements": list(scrub_values)}],
                "log_statements": [{"context": "log", "statements": [
                    *scrub_values,
                    f'replace_pattern(body, "{_ottl(EMAIL_REGEX)}", "[redacted-email]")',
                    f'replace_pattern(body, "{_ottl(BEARER_REGEX)}", "Bearer [redacted]")',
                ]}],
            },
            # Head sampling of traces only: logs and metrics are never sampled, so errors are never lost.
            "probabilistic_sampler": {"sampling_percentage": SAMPLING_PLACEHOLDER},
            "batch": {"timeout": "5s"},
        },
        "exporters": {
            "otlp/jaeger": {"endpoint": "jaeger:4317", "tls": {"insecure": True}},
            "prometheusremotewrite": {
                "endpoint": "http://prometheus:9090/api/v1/write",
                "resource_to_telemetry_conversion": {"enabled": True},
            },
            "otlphttp/loki": {"endpoint": "http://loki:3100/otlp"},
            "debug": {"verbosity": "basic"},
        },
        "service": {
            "extensions": ["health_check"],
            "telemetry": {
                "logs": {"level": "info"},
                "metrics": {
                    "level": "basic",
                    "readers": [{"pull": {"exporter": {"prometheus": {"host": "0.0.0.0", "port": 8888}}}}],
                },
            },
            "pipelines": {
                "traces": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "attributes/pii", "transform/pii", "probabilistic_sampler", "batch"],
                    "exporters": ["otlp/jaeger", "debug"],
                },
                "metrics": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "attributes/pii", "batch"],
                    "exporters": ["prometheusremotewrite", "debug"],
                },
                "logs": {
                    "receivers": ["otlp"],
                    "processors": ["memory_limiter", "attributes/pii", "transform/pii", "batch"],
                    "exporters": ["otlphttp/loki", "debug"],
                },
            },
        },
    }


def finish(text: str) -> str:
    """Put the unquoted env reference in place of the placeholder, so the collector reads a number."""
    assert text.count(SAMPLING_PLACEHOLDER) == 1
    return text.replace(SAMPLING_PLACEHOLDER, SAMPLING_REFERENCE)

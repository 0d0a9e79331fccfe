"""Jaeger v2: a collector-style config with OTLP in, in-memory trace storage, the query UI and a health check."""

from __future__ import annotations

from typing import Any

STORE = "memstore"
MAX_TRACES = 100000


def config() -> dict[str, Any]:
    """jaeger config.yaml."""
    return {
        "service": {
            "extensions": ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            "pipelines": {
                "traces": {"receivers": ["otlp"], "processors": ["batch"], "exporters": ["jaeger_storage_exporter"]},
            },
            "telemetry": {
                "resource": {"service.name": "jaeger"},
                "metrics": {
                    "level": "basic",
                    "readers": [{"pull": {"exporter": {"prometheus": {"host": "0.0.0.0", "port": 8888}}}}],
                },
                "logs": {"level": "info"},
            },
        },
        "extensions": {
            "healthcheckv2": {"use_v2": True, "http": {"endpoint": "0.0.0.0:13133"}},
            "jaeger_query": {
                "storage": {"traces": STORE},
                "http": {"endpoint": "0.0.0.0:16686"},
                "grpc": {"endpoint": "0.0.0.0:16685"},
            },
            # Memory storage: traces vanish on restart, which suits a local stack; switch to badger to keep them.
            "jaeger_storage": {"backends": {STORE: {"memory": {"max_traces": MAX_TRACES}}}},
        },
        "receivers": {
            "otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}},
        },
        "processors": {"batch": {}},
        "exporters": {"jaeger_storage_exporter": {"trace_storage": STORE}},
    }

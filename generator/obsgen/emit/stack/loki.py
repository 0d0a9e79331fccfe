"""Loki: a single-binary filesystem config with the ruler, and LogQL alert rules from the catalogs' log_alerts."""

from __future__ import annotations

from typing import Any

from obsgen.plan import ServicePlan

# The ruler's local storage holds one directory per tenant; with auth disabled the only tenant is "fake".
TENANT = "fake"
RULES_DIR = "/etc/loki/rules"


def config() -> dict[str, Any]:
    """loki config.yaml: single process, TSDB schema v13 on the local filesystem, OTLP ingestion, ruler."""
    return {
        "auth_enabled": False,
        "server": {"http_listen_port": 3100, "grpc_listen_port": 9096, "log_level": "info"},
        "common": {
            "instance_addr": "127.0.0.1",
            "path_prefix": "/loki",
            "storage": {"filesystem": {"chunks_directory": "/loki/chunks", "rules_directory": "/loki/rules-store"}},
            "replication_factor": 1,
            "ring": {"kvstore": {"store": "inmemory"}},
        },
        "schema_config": {
            "configs": [
                {
                    "from": "2024-04-01",
                    "store": "tsdb",
                    "object_store": "filesystem",
                    "schema": "v13",
                    "index": {"prefix": "index_", "period": "24h"},
                }
            ]
        },
        "limits_config": {
            # OTLP attributes land as structured metadata; Loki 3 needs this on for /otlp ingestion.
            "allow_structured_metadata": True,
            "volume_enabled": True,
        },
        "ruler": {
            "alertmanager_url": "http://alertmanager:9093",
            "enable_api": True,
            "rule_path": "/loki/rules-temp",
            "storage": {"type": "local", "local": {"directory": RULES_DIR}},
            "ring": {"kvstore": {"store": "inmemory"}},
        },
        "analytics": {"reporting_enabled": False},
    }


def rule_groups(sp: ServicePlan) -> dict[str, Any]:
    """One rule group per service; labels and annotations equal the runbook's (both read the plan's rule)."""
    rules = []
    for rule in sp.log_alerts:
        rules.append({
            "alert": rule.name,
            "expr": rule.expr,
            "for": rule.for_,
            "labels": dict(rule.labels),
            "annotations": dict(rule.annotations),
        })
    return {"groups": [{"name": f"{sp.service.name}.logs", "rules": rules}]}

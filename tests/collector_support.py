"""Test-only helpers for the log path: which labels Loki would index from what the collector forwards, a
test-only collector config whose Loki exporter is a debug exporter, and a reader for the debug exporter's output.

Loki itself is never run here (AGPL); its OTLP label mapping is taken from Loki's documentation (send-data/otel,
"Loki 3.x default resource attributes as index labels") and written down once, below.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from obsgen.emit.stack.otel import SAMPLING_ENV, SAMPLING_REFERENCE

# Loki 3.x, limits_config.otlp_config defaults: these resource attributes become index (stream) labels, with
# dots turned into underscores; every other attribute is stored as structured metadata.
LOKI_INDEX_RESOURCE_ATTRIBUTES = (
    "cloud.availability_zone", "cloud.region", "container.name", "deployment.environment", "k8s.cluster.name",
    "k8s.container.name", "k8s.cronjob.name", "k8s.daemonset.name", "k8s.deployment.name", "k8s.job.name",
    "k8s.namespace.name", "k8s.pod.name", "k8s.replicaset.name", "k8s.statefulset.name", "service.instance.id",
    "service.name", "service.namespace",
)
# Fields of an OTLP record that Loki always keeps as structured metadata (usable in `by (...)` without a parser).
LOKI_RECORD_METADATA = ("trace_id", "span_id", "severity_text", "severity_number", "observed_timestamp", "flags",
                        "scope_name", "scope_version")
# What the demo service (obsgen simulate, OpenTelemetry Python SDK 1.45) puts on its resource: service.name,
# and what Resource.create adds: telemetry.sdk.* and a random service.instance.id per process (which Loki
# indexes by default). test_log_path.py checks this list against a real export.
DEMO_RESOURCE = ("service.instance.id", "service.name", "telemetry.sdk.language", "telemetry.sdk.name",
                 "telemetry.sdk.version")
# Processors that only touch log record attributes or bodies, never the resource.
RECORD_ONLY_PROCESSORS = ("memory_limiter", "batch", "attributes", "probabilistic_sampler", "filter", "redaction")


class CannotDerive(ValueError):
    """The collector config does something to resources this helper does not model."""


def loki_label(attribute: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", attribute)


def forwarded_resource_attributes(cfg: dict[str, Any], sent: tuple[str, ...] = DEMO_RESOURCE) -> set[str]:
    """The resource attributes that leave the collector's logs pipeline, from what the senders set.

    `resource` processors insert/upsert/delete keys; `transform` statements in a resource context would be
    unmodelled, so they (and unknown processors) raise CannotDerive rather than guess.
    """
    pipeline = cfg["service"]["pipelines"]["logs"]
    if [r.split("/")[0] for r in pipeline["receivers"]] != ["otlp"]:
        raise CannotDerive(f"logs receivers {pipeline['receivers']}: only otlp is modelled")
    attrs = set(sent)
    for name in pipeline["processors"]:
        kind, body = name.split("/")[0], cfg["processors"].get(name) or {}
        if kind == "resource":
            for action in body.get("attributes", []):
                if action.get("action") in ("insert", "upsert"):
                    attrs.add(action["key"])
                elif action.get("action") == "delete":
                    attrs.discard(action["key"])
        elif kind == "transform":
            for group in body.get("log_statements", []):
                if group.get("context") not in ("log", None) or any("resource." in s for s in group.get("statements", [])):
                    raise CannotDerive(f"{name}: statements that change the resource are not modelled")
        elif kind not in RECORD_ONLY_PROCESSORS:
            raise CannotDerive(f"{name}: processor kind {kind!r} is not modelled")
    return attrs


def attached_stream_labels(cfg: dict[str, Any], sent: tuple[str, ...] = DEMO_RESOURCE) -> set[str]:
    """Loki's stream labels for the logs this collector config forwards."""
    return {loki_label(a) for a in forwarded_resource_attributes(cfg, sent) if a in LOKI_INDEX_RESOURCE_ATTRIBUTES}


def structured_metadata(cfg: dict[str, Any], sent: tuple[str, ...] = DEMO_RESOURCE) -> set[str]:
    """Names Loki stores beside each line: the non-index resource attributes and the OTLP record fields."""
    forwarded = forwarded_resource_attributes(cfg, sent)
    return {loki_label(a) for a in forwarded if a not in LOKI_INDEX_RESOURCE_ATTRIBUTES} | set(LOKI_RECORD_METADATA)


def loki_exporters(cfg: dict[str, Any]) -> list[str]:
    """Exporters of the logs pipeline that send to Loki's OTLP endpoint (otlphttp to .../otlp)."""
    return [e for e in cfg["service"]["pipelines"]["logs"]["exporters"]
            if e.split("/")[0] == "otlphttp" and str((cfg["exporters"].get(e) or {}).get("endpoint", "")).rstrip("/").endswith("/otlp")]


def collector_test_config(generated: str | dict[str, Any], *, otlp_http: str | None = None, health: str | None = None,
                          keep_backends: bool = True) -> dict[str, Any]:
    """The generated collector config (text or data) with its Loki exporter replaced by a detailed debug exporter.

    Every processor stays as generated (that is what is under test). otlp_http/health move the listeners
    (e.g. to 127.0.0.1:PORT); keep_backends=False also turns the Jaeger and Prometheus exporters into debug,
    for a collector that runs without those backends.
    """
    cfg = copy.deepcopy(generated) if isinstance(generated, dict) else _load(generated)
    sampler = (cfg.get("processors") or {}).get("probabilistic_sampler")
    if sampler is not None and sampler.get("sampling_percentage") == SAMPLING_REFERENCE:
        sampler["sampling_percentage"] = 100  # keep every trace; the ${env:...} reference is for compose
    targets = loki_exporters(cfg)
    if not targets:
        raise CannotDerive("the logs pipeline has no exporter to Loki's /otlp endpoint")
    cfg["exporters"]["debug/logs"] = {"verbosity": "detailed"}
    for pipe_name, pipe in cfg["service"]["pipelines"].items():
        exporters = [("debug/logs" if e in targets else e) for e in pipe["exporters"]]
        if not keep_backends:
            exporters = ["debug/logs" if pipe_name == "logs" else "debug"]
        pipe["exporters"] = list(dict.fromkeys(exporters))
    used = {e for pipe in cfg["service"]["pipelines"].values() for e in pipe["exporters"]}
    cfg["exporters"] = {k: v for k, v in cfg["exporters"].items() if k in used}
    if otlp_http is not None:
        cfg["receivers"]["otlp"]["protocols"] = {"http": {"endpoint": otlp_http}}
    if health is not None:
        cfg["extensions"]["health_check"]["endpoint"] = health
    if otlp_http is not None or health is not None:
        cfg["service"]["telemetry"]["metrics"] = {"level": "none"}  # its own listener would bind 0.0.0.0:8888
    assert SAMPLING_ENV not in str(cfg)
    return cfg


def _load(text: str) -> dict[str, Any]:
    import yaml

    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


@dataclass
class DebugLogRecord:
    """One log record as the debug exporter (verbosity: detailed) printed it."""

    resource: dict[str, str] = field(default_factory=dict)
    body: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    trace_id: str = ""


_ATTR = re.compile(r"^-> ([^:]+): \w+\((.*)\)$")


def debug_log_records(output: str) -> list[DebugLogRecord]:
    """Parse the debug exporter's detailed text (ResourceLog / LogRecord blocks) into records, in order."""
    records: list[DebugLogRecord] = []
    resource: dict[str, str] = {}
    section = ""
    current: DebugLogRecord | None = None
    for raw in output.splitlines():
        line = raw.strip()
        # The first block of a batch shares its line with the zap log prefix ("<time>\tinfo\tResourceLog #0").
        if re.search(r"(^|\t)ResourceLog #\d+$", line):
            resource, section, current = {}, "resource", None
        elif line.startswith("ScopeLogs #"):
            section, current = "scope", None
        elif line.startswith("LogRecord #"):
            current = DebugLogRecord(resource=dict(resource))
            records.append(current)
            section = "record"
        elif current is not None and line.startswith("Body: "):
            current.body = re.sub(r"^Body: \w+\((.*)\)$", r"\1", line)
        elif current is not None and line.startswith("Attributes:"):
            section = "attributes"
        elif current is not None and line.startswith("Trace ID: "):
            current.trace_id, section = line.removeprefix("Trace ID: ").strip(), "record"
        elif (m := _ATTR.match(line)) is not None:
            if section == "resource":
                resource[m.group(1)] = m.group(2)
            elif section == "attributes" and current is not None:
                current.attributes[m.group(1)] = m.group(2)
    return records

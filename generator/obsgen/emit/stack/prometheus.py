"""prometheus.yml (catalog targets, the stack itself, blackbox health probes) and the blackbox module file."""

from __future__ import annotations

from typing import Any

from obsgen import model as m
from obsgen.errors import CatalogError, Problem
from obsgen.naming import PROBE_JOB

SCRAPE_INTERVAL = "15s"
EVALUATION_INTERVAL = "15s"
BLACKBOX_ADDRESS = "blackbox-exporter:9115"
BLACKBOX_MODULE = "http_2xx"
RULES_GLOB = "/etc/prometheus/rules/*.yaml"

# The stack's own components: job -> (address, metrics path). Container-network names, as compose defines them.
STACK_JOBS: dict[str, tuple[str, str]] = {
    "prometheus": ("localhost:9090", "/metrics"),
    "alertmanager": ("alertmanager:9093", "/metrics"),
    "grafana": ("grafana:3000", "/metrics"),
    "loki": ("loki:3100", "/metrics"),
    "otel-collector": ("otel-collector:8888", "/metrics"),
    "jaeger": ("jaeger:8888", "/metrics"),
    "blackbox-exporter": (BLACKBOX_ADDRESS, "/metrics"),
}


def _target_job(target: m.Target) -> dict[str, Any]:
    job: dict[str, Any] = {"job_name": target.job}
    if target.interval:
        job["scrape_interval"] = target.interval
    job["metrics_path"] = target.metrics_path
    job["scheme"] = target.scheme
    if target.bearer_token_file:
        # Only the path: Prometheus reads the token from the mounted file at scrape time.
        job["authorization"] = {"type": "Bearer", "credentials_file": target.bearer_token_file}
    job["static_configs"] = [{"targets": list(target.addresses)}]
    return job


def _blackbox_job(bundle: m.Bundle) -> dict[str, Any] | None:
    statics = [
        {"targets": [h.url], "labels": {"check": h.name, "service": svc.name}}
        for svc in bundle.services
        for h in svc.health
    ]
    if not statics:
        return None
    return {
        "job_name": PROBE_JOB,
        "metrics_path": "/probe",
        "params": {"module": [BLACKBOX_MODULE]},
        "static_configs": statics,
        # The URL becomes the probe's target parameter and the instance label; the scrape goes to the exporter.
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": BLACKBOX_ADDRESS},
        ],
    }


def _check_job_names(bundle: m.Bundle) -> None:
    reserved = {*STACK_JOBS, PROBE_JOB}
    problems = [
        Problem(svc.source, None, f"service.targets[{i}].job",
                f"job name '{t.job}' is used by the stack itself ({', '.join(sorted(reserved))}); choose another")
        for svc in bundle.services
        for i, t in enumerate(svc.targets)
        if t.job in reserved
    ]
    if problems:
        raise CatalogError(problems)


def config(bundle: m.Bundle) -> dict[str, Any]:
    """prometheus.yml as data; refuses catalog jobs that collide with the stack's own jobs."""
    _check_job_names(bundle)
    jobs = [_target_job(t) for svc in bundle.services for t in svc.targets]
    probe = _blackbox_job(bundle)
    if probe:
        jobs.append(probe)
    jobs += [
        {"job_name": job, "metrics_path": path, "static_configs": [{"targets": [address]}]}
        for job, (address, path) in STACK_JOBS.items()
    ]
    return {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL,
            "evaluation_interval": EVALUATION_INTERVAL,
            "external_labels": {"environment": bundle.env},
        },
        "rule_files": [RULES_GLOB],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]},
        "scrape_configs": jobs,
    }


def blackbox_config() -> dict[str, Any]:
    """blackbox.yml: one HTTP module; any 2xx within 5s is healthy."""
    return {
        "modules": {
            BLACKBOX_MODULE: {
                "prober": "http",
                "timeout": "5s",
                "http": {"preferred_ip_protocol": "ip4", "follow_redirects": True, "fail_if_not_ssl": False},
            }
        }
    }

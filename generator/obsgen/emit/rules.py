"""Prometheus rule files: one per service (recording, SLO and alert groups), plus the stack's own."""

from __future__ import annotations

from typing import Any

from obsgen.model import Bundle
from obsgen.plan import AlertRule, RecordingRule, plan_bundle
from obsgen.yamltext import dump, generated_header

META_FILE = "rules/obsgen-meta.yaml"


def group_names(service: str) -> tuple[str, str, str]:
    return (f"{service}.recording", f"{service}.slo", f"{service}.alerts")


def _record(rule: RecordingRule) -> dict[str, Any]:
    out: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        out["labels"] = dict(rule.labels)
    return out


def alert_dict(rule: AlertRule) -> dict[str, Any]:
    out: dict[str, Any] = {"alert": rule.name, "expr": rule.expr}
    if rule.for_ not in ("0m", "0s"):
        out["for"] = rule.for_
    out["labels"] = dict(rule.labels)
    out["annotations"] = dict(rule.annotations)
    return out


def emit(bundle: Bundle) -> dict[str, str]:
    plan = plan_bundle(bundle)
    files: dict[str, str] = {}
    for sp in plan.services:
        recording, slo, alerts = group_names(sp.service.name)
        groups = []
        if sp.recording:
            groups.append({"name": recording, "rules": [_record(r) for r in sp.recording]})
        if sp.slo_recording:
            groups.append({"name": slo, "rules": [_record(r) for r in sp.slo_recording]})
        if sp.alerts:
            groups.append({"name": alerts, "rules": [alert_dict(a) for a in sp.alerts]})
        files[f"rules/{sp.service.name}.yaml"] = dump({"groups": groups}, generated_header(sp.service.source))
    meta = {"groups": [{"name": "obsgen.meta", "rules": [alert_dict(a) for a in plan.meta_alerts]}]}
    files[META_FILE] = dump(meta, generated_header("obsgen itself (the stack's dead-man's switch)"))
    return files

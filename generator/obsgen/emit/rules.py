"""Prometheus rule files: one per service (recording, SLO and alert groups), plus the stack's own."""

from __future__ import annotations

from typing import Any

from obsgen.naming import META_RULES, RULES_DIR, rule_groups
from obsgen.plan import AlertRule, Plan, RecordingRule
from obsgen.settings import Settings
from obsgen.yamltext import dump, generated_header

META_FILE = f"{RULES_DIR}/{META_RULES}.yaml"


def _record(rule: RecordingRule) -> dict[str, Any]:
    out: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        out["labels"] = dict(rule.labels)
    return out


def alert_dict(rule: AlertRule) -> dict[str, Any]:
    """An alert rule as the rule file writes it (no `for` when it is zero)."""
    out: dict[str, Any] = {"alert": rule.name, "expr": rule.expr}
    if rule.for_ not in ("0m", "0s"):
        out["for"] = rule.for_
    out["labels"] = dict(rule.labels)
    out["annotations"] = dict(rule.annotations)
    return out


def emit(plan: Plan, settings: Settings) -> dict[str, str]:
    """rules/<service>.yaml for every service and rules/obsgen-meta.yaml for the Watchdog."""
    files: dict[str, str] = {}
    for sp in plan.services:
        recording, slo, alerts = rule_groups(sp.service.name)
        groups = []
        if sp.recording:
            groups.append({"name": recording, "rules": [_record(r) for r in sp.recording]})
        if sp.slo_recording:
            groups.append({"name": slo, "rules": [_record(r) for r in sp.slo_recording]})
        if sp.alerts:
            groups.append({"name": alerts, "rules": [alert_dict(a) for a in sp.alerts]})
        files[f"{RULES_DIR}/{sp.service.name}.yaml"] = dump({"groups": groups}, generated_header(sp.service.source, settings.command))
    meta = {"groups": [{"name": "obsgen.meta", "rules": [alert_dict(a) for a in plan.meta_alerts]}]}
    files[META_FILE] = dump(meta, generated_header("obsgen itself (the stack's dead-man's switch)", settings.command))
    return files

"""Prometheus' rule-group shape for planned rules: the dicts every rule target serialises (rulefmt's field order).

Plain rule files, PrometheusRule objects, ruler namespaces and Thanos files all hold the same groups; each
emitter wraps these dicts its own way, so a rule reads the same in every target.
"""

from __future__ import annotations

from typing import Any

from obsgen.plan import AlertRule, RecordingRule, RuleGroup


def record_dict(rule: RecordingRule) -> dict[str, Any]:
    """A recording rule as rule files write it."""
    out: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        out["labels"] = dict(rule.labels)
    return out


def alert_dict(rule: AlertRule) -> dict[str, Any]:
    """An alert rule as rule files write it (no `for` when it is zero)."""
    out: dict[str, Any] = {"alert": rule.name, "expr": rule.expr}
    if rule.for_ not in ("0m", "0s"):
        out["for"] = rule.for_
    out["labels"] = dict(rule.labels)
    out["annotations"] = dict(rule.annotations)
    return out


def group_dict(group: RuleGroup, **extra: Any) -> dict[str, Any]:
    """A rule group: name, then any extra group fields (a target's own, e.g. Thanos' partial_response_strategy), then rules."""
    rules = [record_dict(r) if isinstance(r, RecordingRule) else alert_dict(r) for r in group.rules]
    return {"name": group.name, **extra, "rules": rules}

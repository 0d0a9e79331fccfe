"""PrometheusRule objects (monitoring.coreos.com/v1) for the Prometheus Operator: one per service.

The namespace and labels come from the settings, so the objects land where the operator's Prometheus
`ruleSelector` (and `ruleNamespaceSelector`) finds them. tools/promrule-check decodes them strictly into the
operator's own Go types and runs each group through Prometheus' rulefmt, as the admission webhook does.
"""

from __future__ import annotations

from typing import Any

from obsgen.emit.targets import folder
from obsgen.plan import Plan, RuleFile
from obsgen.rulefile import group_dict
from obsgen.settings import Settings, TargetSettings
from obsgen.yamltext import dump, generated_header

TARGET = "prometheus-operator"
API_VERSION = "monitoring.coreos.com/v1"
MANAGED_BY = ("app.kubernetes.io/managed-by", "obsgen")


def prometheus_rule(rf: RuleFile, targets: TargetSettings) -> dict[str, Any]:
    """One service's groups as a PrometheusRule object."""
    strategy = targets.strategy(rf.name)
    extra = {"partial_response_strategy": strategy} if strategy else {}
    labels = dict(sorted({**dict([MANAGED_BY]), **dict(targets.operator_labels)}.items()))
    return {
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": {"name": rf.name, "namespace": targets.operator_namespace, "labels": labels},
        "spec": {"groups": [group_dict(g, **extra) for g in rf.groups]},
    }


def emit(plan: Plan, settings: Settings) -> dict[str, str]:
    """deploy/prometheus-operator/<service>.yaml, and obsgen-meta.yaml for the Watchdog."""
    return {f"{folder(TARGET)}/{rf.name}.yaml": dump(prometheus_rule(rf, settings.targets), generated_header(rf.source, settings.command))
            for rf in plan.rule_files}

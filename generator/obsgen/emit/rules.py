"""Prometheus rule files: one per service (recording, SLO and alert groups), plus the stack's own.

This is the `prometheus` target, and the form the rule tests prove; the other targets (emit/targets/) package
the same groups for the Prometheus Operator, Cortex/Mimir rulers and Thanos.
"""

from __future__ import annotations

from obsgen.naming import META_RULES, RULES_DIR
from obsgen.plan import Plan
from obsgen.rulefile import group_dict
from obsgen.settings import Settings
from obsgen.yamltext import dump, generated_header

META_FILE = f"{RULES_DIR}/{META_RULES}.yaml"


def emit(plan: Plan, settings: Settings) -> dict[str, str]:
    """rules/<service>.yaml for every service and rules/obsgen-meta.yaml for the Watchdog."""
    return {f"{RULES_DIR}/{rf.name}.yaml": dump({"groups": [group_dict(g) for g in rf.groups]},
                                                generated_header(rf.source, settings.command))
            for rf in plan.rule_files}

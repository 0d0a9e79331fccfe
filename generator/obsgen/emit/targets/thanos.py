"""Rule files for the Thanos ruler: Prometheus rule groups plus partial_response_strategy where the project sets one.

Thanos evaluates through its querier, which may answer with part of the stores down; `abort` (Thanos' default)
fails the evaluation then, `warn` evaluates what answered. promtool refuses the extra field, so these files live
apart from rules/; tools/promrule-check -format thanos reads them as Thanos does.
"""

from __future__ import annotations

from obsgen.emit.targets import folder
from obsgen.plan import Plan
from obsgen.rulefile import group_dict
from obsgen.settings import Settings
from obsgen.yamltext import dump, generated_header

TARGET = "thanos"


def emit(plan: Plan, settings: Settings) -> dict[str, str]:
    """deploy/thanos/<service>.yaml."""
    files = {}
    for rf in plan.rule_files:
        strategy = settings.targets.strategy(rf.name)
        extra = {"partial_response_strategy": strategy} if strategy else {}
        files[f"{folder(TARGET)}/{rf.name}.yaml"] = dump({"groups": [group_dict(g, **extra) for g in rf.groups]},
                                                         generated_header(rf.source, settings.command))
    return files

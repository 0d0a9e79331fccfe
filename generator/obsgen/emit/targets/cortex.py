"""Ruler namespaces for Cortex: one file per service, in the layout `cortextool rules sync --rule-dirs` reads.

Each file is `namespace: <service>` plus the service's groups (cortex-tools' RuleNamespace, decoded with known
fields only). The namespace is the service, so a sync replaces exactly that service's groups. A running Cortex
ruler's API is the validator (obsgen check: cortex-ruler); tools/promrule-check -format cortex checks the layout.
"""

from __future__ import annotations

from obsgen.emit.targets import folder
from obsgen.plan import Plan
from obsgen.rulefile import group_dict
from obsgen.settings import Settings
from obsgen.yamltext import dump, generated_header

TARGET = "cortex"


def namespaces(plan: Plan, settings: Settings, target: str) -> dict[str, str]:
    """deploy/<target>/<service>.yaml: one ruler namespace per service (Mimir's mimirtool reads the same layout)."""
    return {f"{folder(target)}/{rf.name}.yaml": dump({"namespace": rf.name, "groups": [group_dict(g) for g in rf.groups]},
                                                     generated_header(rf.source, settings.command))
            for rf in plan.rule_files}


def emit(plan: Plan, settings: Settings) -> dict[str, str]:
    """The Cortex ruler's namespaces."""
    return namespaces(plan, settings, TARGET)

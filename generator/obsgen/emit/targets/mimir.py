"""Ruler namespaces for Mimir, for `mimirtool rules sync --rule-dirs`: the Cortex layout, which Mimir kept.

Mimir itself is AGPL and never run here; its ruler API is Cortex's, so the Cortex ruler validates these files.
"""

from __future__ import annotations

from obsgen.emit.targets.cortex import namespaces
from obsgen.plan import Plan
from obsgen.settings import Settings

TARGET = "mimir"


def emit(plan: Plan, settings: Settings) -> dict[str, str]:
    """deploy/mimir/<service>.yaml."""
    return namespaces(plan, settings, TARGET)

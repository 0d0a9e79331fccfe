"""The project's values: a Project with every default filled in (read by obsgen.project.load)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from obsgen.settings import PlanSettings, Settings

PROJECT_FILE = "obsgen.yaml"
ALL_OUTPUTS = ("rules", "rule-tests", "runbooks", "dashboards", "provisioning", "alertmanager", "loki", "k6", "compose")
ENVIRONMENTS = ("dev", "staging", "prod")


@dataclass(frozen=True)
class Project:
    """A project file's content, with every default filled in."""

    file: Path | None = None  # the obsgen.yaml read; None when the defaults apply
    base: Path = Path(".")  # the folder its relative paths are relative to
    catalogs: str = "catalogs"  # as written: generated headers name the catalogs by it, wherever obsgen runs
    out: str = "."
    outputs: tuple[str, ...] = ALL_OUTPUTS
    environments: tuple[str, ...] = ENVIRONMENTS
    default_env: str = "prod"
    plan: PlanSettings = field(default_factory=PlanSettings)
    settings: Settings = field(default_factory=Settings)

    @property
    def catalogs_path(self) -> Path:
        return self.base / self.catalogs

    @property
    def out_path(self) -> Path:
        return self.base / self.out

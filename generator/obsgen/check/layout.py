"""Where the generated outputs live under a root: the one value `obsgen check` needs to find them.

The default is obsgen's usual layout; `Layout.from_project` follows a project file (obsgen.yaml): its output paths,
and None for an output it does not produce. Paths are relative to the root, POSIX style.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from obsgen.project import Project

# Outputs that live inside the stack's folder by default, by their path under it.
STACK_PARTS = (("alertmanager", "alertmanager"), ("loki/rules", "loki"), ("grafana", "provisioning"))


@dataclass(frozen=True)
class Layout:
    """The root and each output's path under it; None means the project does not produce that output."""

    root: Path
    catalogs: str | None = "catalogs"
    rules: str | None = "rules"
    rule_tests: str | None = "rules/tests"
    dashboards: str | None = "dashboards"
    compose: str | None = "compose"
    k6: str | None = "k6"
    # Folders of the stack the project moved out of compose/ (or switched off: None), by their path under it.
    moved: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def from_project(cls, project: Project, root: Path | None = None) -> Layout:
        """The layout a project file describes, under its output root (or the given one)."""
        base = root if root is not None else project.out_path
        on = set(project.outputs)

        def where(output: str, default: str) -> str | None:
            return project.settings.root(output, default) if output in on else None

        compose = where("compose", "compose")
        moved = []
        for sub, output in STACK_PARTS:
            folder = where(output, f"compose/{sub}")
            if compose is None or folder != f"{compose}/{sub}":
                moved.append((sub, folder))
        catalogs = Path(os.path.relpath(project.catalogs_path, base)).as_posix()
        return cls(base, catalogs=catalogs, rules=where("rules", "rules"), rule_tests=where("rule-tests", "rules/tests"),
                   dashboards=where("dashboards", "dashboards"), compose=compose, k6=where("k6", "k6"), moved=tuple(moved))

    def path(self, rel: str) -> Path:
        """An absolute path under the root."""
        return self.root / rel

    def rel(self, path: Path) -> str:
        """A path as the root-relative POSIX string findings and annotations use (unchanged if outside the root)."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def compose_file(self, name: str) -> str | None:
        """A file of the generated stack (compose.yaml, prometheus/prometheus.yml, ...), relative to the root."""
        for sub, folder in self.moved:
            if name == sub or name.startswith(sub + "/"):
                return None if folder is None else folder + name[len(sub):]
        return None if self.compose is None else f"{self.compose}/{name}"

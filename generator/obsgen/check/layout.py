"""Where the generated outputs live under a root: the one value `obsgen check` needs to find them.

Today's layout is the default; a project file (obsgen.yaml) can later build a Layout with other paths or with an
output switched off (None), and every check then follows it. Paths are relative to the root, POSIX style.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TARGET_FOLDERS = ("prometheus-operator", "cortex", "mimir", "thanos")  # under deploy/, as `obsgen generate --target` writes


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
    # Rule targets besides rules/ (generate --target ...): None unless generated.
    prometheus_operator: str | None = None
    cortex: str | None = None
    mimir: str | None = None
    thanos: str | None = None

    @classmethod
    def found(cls, root: Path) -> Layout:
        """The default layout, plus each rule target whose folder (deploy/<target>) is under the root."""
        targets = {name.replace("-", "_"): f"deploy/{name}" for name in TARGET_FOLDERS if (root / "deploy" / name).is_dir()}
        return cls(root, **targets)

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
        return None if self.compose is None else f"{self.compose}/{name}"

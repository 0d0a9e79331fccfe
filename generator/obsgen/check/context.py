"""What every check gets: the layout, the runner, Node.js on demand, and the mounts that map tool paths back to files.

Outputs under the root are mounted at /work/<path> (rules at /work/rules, ...); the stack's own files where
compose mounts them (/etc/prometheus/prometheus.yml, ...). A tool's message names those container paths; Mounts
turns them back into paths relative to the root, which is what findings and annotations carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from obsgen.check.layout import Layout
from obsgen.check.node import NodeEnv, NodeUnavailable, ensure
from obsgen.check.result import NotRun
from obsgen.check.runner import Runner

WORK = "/work"


class MissingOutput(Exception):
    """An output the layout names is not under the root (not generated yet, or generated elsewhere)."""

    def __init__(self, rel: str, what: str) -> None:
        super().__init__(f"{what} is missing: run `obsgen generate` (or point --root at the generated tree)")
        self.rel = rel


class Mounts(dict[str, Path]):
    """{container path: host path}, and the way back from a path in a tool's message to a root-relative file."""

    def __init__(self, layout: Layout, mounts: dict[str, Path]) -> None:
        super().__init__(mounts)
        self.layout = layout

    def rel(self, cpath: str) -> str | None:
        """The root-relative file behind a container path, or None when it is not under a mount."""
        for mount in sorted(self, key=len, reverse=True):
            if cpath == mount or cpath.startswith(mount + "/"):
                host = self[mount] / cpath[len(mount):].lstrip("/") if cpath != mount else self[mount]
                return self.layout.rel(host)
        return None


@dataclass
class Context:
    """Shared by the checks of one run."""

    layout: Layout
    runner: Runner
    install_node: bool = True
    _node: NodeEnv | None = field(default=None, repr=False)

    def node(self) -> NodeEnv:
        """Node.js with the locked packages (installed on first use); NotRun when it cannot be had."""
        if self._node is None:
            try:
                self._node = ensure(install=self.install_node)
            except NodeUnavailable as exc:
                raise NotRun(str(exc)) from exc
        return self._node

    def need(self, rel: str | None, what: str, directory: bool = True) -> Path:
        """An output's absolute path; MissingOutput when the layout names it but it is not there."""
        if rel is None:
            raise NotRun(f"the layout has no {what}")
        path = self.layout.path(rel)
        if not (path.is_dir() if directory else path.is_file()):
            raise MissingOutput(rel, f"{rel}{'/' if directory else ''} ({what})")
        return path

    def stack_file(self, name: str, what: str) -> tuple[str, Path]:
        """A file of the generated stack: (root-relative path, absolute path)."""
        rel = self.layout.compose_file(name)
        return rel or name, self.need(rel, what, directory=False)

    def work_mounts(self, *rels: str) -> Mounts:
        """Outputs mounted at /work/<rel>; a path inside another mounted one is covered by it."""
        chosen = [r for r in rels if not any(r != o and r.startswith(o + "/") for o in rels)]
        return Mounts(self.layout, {f"{WORK}/{r}": self.layout.path(r) for r in dict.fromkeys(chosen)})

    def service_mounts(self, service: str) -> Mounts:
        """The bind mounts of a compose service, so a tool sees its files where the running service will."""
        _, compose_file = self.stack_file("compose.yaml", "the compose file")
        return Mounts(self.layout, compose_mounts(compose_file, service))


def compose_mounts(compose_file: Path, service: str) -> dict[str, Path]:
    """The bind mounts of a compose service as {container path: host path}; named volumes are skipped."""
    doc = yaml.safe_load(compose_file.read_text(encoding="utf-8")) or {}
    mounts: dict[str, Path] = {}
    for volume in (doc.get("services", {}).get(service, {}) or {}).get("volumes", []) or []:
        if isinstance(volume, dict):
            source, target = volume.get("source", ""), volume.get("target", "")
            if volume.get("type") != "bind":
                continue
        else:
            source, _, rest = str(volume).partition(":")
            target = rest.split(":", 1)[0]
            if not source.startswith((".", "/")):
                continue  # a named volume
        mounts[target] = (compose_file.parent / source).resolve()
    return mounts

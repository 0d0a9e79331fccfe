"""The emit stage: one pure emitter per output, each `(plan, settings) -> {relative path: file text}`.

Emitters never import each other; what two of them share belongs in the plan. Each is imported only when
its output is selected, so `obsgen generate --only rules` never loads grafanalib. An emitter writes under
its output's usual folder; the project file may move that folder, and `emit_all` moves the files there.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from obsgen.plan import Plan
from obsgen.settings import Settings

Emitter = Callable[[Plan, Settings], dict[str, str]]


@dataclass(frozen=True)
class Output:
    """One output: the function that writes it and the folder it owns (relative to the output root)."""

    name: str
    module: str
    root: str
    function: str = "emit"
    needs_cases: bool = False  # reads the plan's rule-test inputs
    description: str = ""

    def emitter(self) -> Emitter:
        emit: Emitter = getattr(importlib.import_module(self.module), self.function)
        return emit


# Each output owns one folder; a file belongs to the output with the longest matching folder.
OUTPUTS: tuple[Output, ...] = (
    Output("rules", "obsgen.emit.rules", "rules", description="Prometheus recording and alerting rules"),
    Output("rule-tests", "obsgen.emit.rule_tests", "rules/tests", needs_cases=True,
           description="promtool unit tests: every alert fires and stays silent"),
    Output("runbooks", "obsgen.emit.runbooks", "runbooks", description="one Markdown page per service, a section per alert"),
    Output("dashboards", "obsgen.emit.grafana", "dashboards", "emit_dashboards", description="Grafana dashboards (JSON)"),
    Output("provisioning", "obsgen.emit.grafana", "compose/grafana", "emit_provisioning",
           description="Grafana datasources and dashboard provider for the local stack"),
    Output("alertmanager", "obsgen.emit.stack", "compose/alertmanager", "emit_alertmanager",
           description="Alertmanager routes, receivers and routing tests"),
    Output("loki", "obsgen.emit.stack", "compose/loki/rules", "emit_loki", description="Loki ruler files for log alerts"),
    Output("k6", "obsgen.emit.k6", "k6", description="k6 load scenarios with thresholds from the SLOs"),
    # compose/ holds the stack: its own files, and the folders above that the stack mounts.
    Output("compose", "obsgen.emit.stack", "compose", "emit_compose",
           description="the local stack: compose.yaml, Prometheus, blackbox, collector, Jaeger, Loki config"),
)
EMITTERS: dict[str, Output] = {o.name: o for o in OUTPUTS}
# Names earlier versions used for a group of outputs; --only still accepts them.
GROUPS: dict[str, tuple[str, ...]] = {"grafana": ("dashboards", "provisioning"), "stack": ("compose", "alertmanager", "loki")}
# What an output reads from another one's folder: the stack mounts these, rule tests load the rule files.
REQUIRES: dict[str, tuple[str, ...]] = {"compose": ("alertmanager", "loki", "provisioning"), "rule-tests": ("rules",)}
DEFAULT_ROOTS: dict[str, str] = {o.name: o.root for o in OUTPUTS}


class UnknownOutput(ValueError):
    """--only named an output that does not exist."""


class OutputClash(ValueError):
    """The project's output paths put two outputs' files in the same place (a project file mistake, not a bug)."""


def expand(names: Iterable[str]) -> tuple[str, ...]:
    """Output names with the group names (grafana, stack) replaced by their members; raises UnknownOutput."""
    out: list[str] = []
    for name in names:
        members = GROUPS.get(name, (name,))
        for member in members:
            if member not in EMITTERS:
                raise UnknownOutput(f"unknown output {name!r}; choose from {', '.join((*EMITTERS, *GROUPS))}")
            out.append(member)
    return tuple(dict.fromkeys(out))


def selected(only: Iterable[str] = ()) -> tuple[Output, ...]:
    """The outputs to generate: every one, or those named (in their usual order)."""
    names = expand(only)
    return tuple(o for o in OUTPUTS if not names or o.name in names)


def roots(settings: Settings | None = None) -> dict[str, str]:
    """The folder of every output under the given settings."""
    s = settings or Settings()
    return {o.name: s.root(o.name, o.root) for o in OUTPUTS}


def owner(path: str, where: Mapping[str, str] | None = None) -> str | None:
    """The output that writes a path, by its longest owned folder (None: no generated output lives there)."""
    best, length = None, -1
    for name, root in (where or DEFAULT_ROOTS).items():
        if (path == root or path.startswith(root + "/")) and len(root) > length:
            best, length = name, len(root)
    return best


def _moved(path: str, output: Output, settings: Settings) -> str:
    """The path in the output's configured folder (the emitter wrote it under the usual one)."""
    target = settings.root(output.name, output.root)
    if target == output.root:
        return path
    return target + path[len(output.root):]


def emit_all(plan: Plan, settings: Settings, only: Iterable[str] = ()) -> dict[str, str]:
    """Every generated file of the selected outputs, keyed by path relative to the output directory."""
    files: dict[str, str] = {}
    where = roots(settings)
    for output in selected(only):
        if output.needs_cases and not plan.with_cases:
            raise RuntimeError(f"output {output.name} needs the rule-test inputs, which this plan was built without")
        for path, text in output.emitter()(plan, settings).items():
            if owner(path) != output.name:
                raise RuntimeError(f"emitter {output.name} writes {path}, outside the folder it owns")
            path = _moved(path, output, settings)
            if path in files or owner(path, where) != output.name:
                other = owner(path, where) if path not in files else "another output"
                raise OutputClash(f"{output.name} writes {path}, inside the folder of {other}; give them separate folders")
            files[path] = text
    return files


def needs_cases(only: Iterable[str] = ()) -> bool:
    """Whether the selected outputs read the plan's rule-test inputs (only then are they planned)."""
    return any(o.needs_cases for o in selected(only))


def owned_roots(settings: Settings | None = None) -> tuple[str, ...]:
    """Every folder some output owns."""
    return tuple(sorted(set(roots(settings).values())))

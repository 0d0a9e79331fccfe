"""The emit stage: one pure emitter per output, each `(plan, settings) -> {relative path: file text}`.

Emitters never import each other; what two of them share belongs in the plan. Each is imported only when
its output is selected, so `obsgen generate --only rules` never loads grafanalib.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from obsgen.plan import Plan
from obsgen.settings import Settings

Emitter = Callable[[Plan, Settings], dict[str, str]]


@dataclass(frozen=True)
class Output:
    """One output: the emitter module that writes it and the folders it owns."""

    name: str
    module: str
    roots: tuple[str, ...]
    needs_cases: bool = False  # reads the plan's rule-test inputs
    target: bool = False  # a rule target: written only when the settings choose it

    def emitter(self) -> Emitter:
        emit: Emitter = importlib.import_module(self.module).emit
        return emit


# Each output owns the folders it writes; a file belongs to the output with the longest matching folder.
OUTPUTS: tuple[Output, ...] = (
    Output("rules", "obsgen.emit.rules", ("rules",)),
    Output("rule-tests", "obsgen.emit.rule_tests", ("rules/tests",), needs_cases=True),
    Output("runbooks", "obsgen.emit.runbooks", ("runbooks",)),
    # compose/ is shared: compose/grafana/ is the dashboards emitter's.
    Output("stack", "obsgen.emit.stack", ("compose",)),
    Output("grafana", "obsgen.emit.grafana", ("dashboards", "compose/grafana")),
    Output("k6", "obsgen.emit.k6", ("k6",)),
    # Rule targets besides rules/: written only when the settings choose them (TargetSettings).
    Output("prometheus-operator", "obsgen.emit.targets.operator", ("deploy/prometheus-operator",), target=True),
    Output("cortex", "obsgen.emit.targets.cortex", ("deploy/cortex",), target=True),
    Output("mimir", "obsgen.emit.targets.mimir", ("deploy/mimir",), target=True),
    Output("thanos", "obsgen.emit.targets.thanos", ("deploy/thanos",), target=True),
)
EMITTERS: dict[str, Output] = {o.name: o for o in OUTPUTS}


class UnknownOutput(ValueError):
    """--only named an output that does not exist."""


def selected(only: Iterable[str] = ()) -> tuple[Output, ...]:
    """The outputs to generate: every one, or those named (in their usual order)."""
    names = tuple(only)
    unknown = sorted(set(names) - set(EMITTERS))
    if unknown:
        raise UnknownOutput(f"unknown output {unknown[0]!r}; choose from {', '.join(EMITTERS)}")
    return tuple(o for o in OUTPUTS if not names or o.name in names)


def owner(path: str) -> str | None:
    """The output that writes a path, by its longest owned folder (None: no generated output lives there)."""
    best, length = None, -1
    for o in OUTPUTS:
        for root in o.roots:
            if (path == root or path.startswith(root + "/")) and len(root) > length:
                best, length = o.name, len(root)
    return best


def emit_all(plan: Plan, settings: Settings, only: Iterable[str] = ()) -> dict[str, str]:
    """Every generated file of the selected outputs, keyed by path relative to the output directory."""
    files: dict[str, str] = {}
    for output in selected(only):
        if output.target and not settings.targets.chosen(output.name):
            continue
        if output.needs_cases and not plan.with_cases:
            raise RuntimeError(f"output {output.name} needs the rule-test inputs, which this plan was built without")
        for path, text in output.emitter()(plan, settings).items():
            if path in files:
                raise RuntimeError(f"emitter {output.name} writes {path}, which another emitter already wrote")
            if owner(path) != output.name:
                raise RuntimeError(f"emitter {output.name} writes {path}, outside the folders it owns")
            files[path] = text
    return files


def needs_cases(only: Iterable[str] = ()) -> bool:
    """Whether the selected outputs read the plan's rule-test inputs (only then are they planned)."""
    return any(o.needs_cases for o in selected(only))


def owned_roots() -> tuple[str, ...]:
    """Every folder some output owns."""
    return tuple(sorted({root for o in OUTPUTS for root in o.roots}))

"""Emitters: pure functions from the model to {relative path: file text}."""

from __future__ import annotations

from collections.abc import Callable

from obsgen.emit import grafana, k6, rule_tests, rules, runbooks, stack
from obsgen.model import Bundle

Emitter = Callable[[Bundle], dict[str, str]]

# Each emitter owns the top-level folders it writes; the writer replaces exactly those.
EMITTERS: dict[str, tuple[Emitter, tuple[str, ...]]] = {
    "rules": (rules.emit, ("rules",)),
    "rule-tests": (rule_tests.emit, ("rules",)),
    "runbooks": (runbooks.emit, ("runbooks",)),
    # compose/ is shared: compose/grafana/ is the dashboards emitter's; the manifest tracks each file.
    "stack": (stack.emit, ("compose",)),
    "grafana": (grafana.emit, grafana.ROOTS),
    "k6": (k6.emit, ("k6",)),
}


def emit_all(bundle: Bundle) -> dict[str, str]:
    """Every generated file, keyed by path relative to the output directory."""
    files: dict[str, str] = {}
    for name, (emitter, _) in EMITTERS.items():
        for path, text in emitter(bundle).items():
            if path in files:
                raise RuntimeError(f"emitter {name} writes {path}, which another emitter already wrote")
            files[path] = text
    return files


def owned_roots() -> tuple[str, ...]:
    return tuple(sorted({root for _, roots in EMITTERS.values() for root in roots}))

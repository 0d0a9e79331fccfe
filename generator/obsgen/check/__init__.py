"""`obsgen check`: the generated tree validated by the tools that will consume it, each run one way.

Per tool, in order: its pinned image through the Docker SDK when an engine answers (the `check` extra), a local
binary (the Go-built one at the pinned version first, then PATH), or the check is reported "not run" with why.
The test suite calls these same functions, so what CI proves here is what a user's CI runs.

    from obsgen.check import Context, Layout, Runner, run_checks
    results = run_checks(Context(Layout(Path(".")), Runner()))

The names below load their modules on first use, so `python -m obsgen.check.node` (and the other module
entry points) do not import the whole package first.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "CHECKS": "registry", "NAMES": "registry", "TOOL_NAMES": "registry", "run_checks": "registry", "select": "registry",
    "CheckResult": "result", "Finding": "result", "Context": "context", "Layout": "layout", "Runner": "runner",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'obsgen.check' has no attribute {name!r}")
    return getattr(import_module(f"obsgen.check.{_EXPORTS[name]}"), name)

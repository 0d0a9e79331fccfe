"""Shared fixtures: repository paths and the policy for missing tools (fail in CI, skip with a reason on a laptop)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

# Container engine for the session + "which validator path ran" summary (tests/container_fixtures.py).
pytest_plugins = ["container_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing_tool(message: str) -> NoReturn:
    """The one policy for a tool that is not there: in CI the test fails, elsewhere it skips with the reason."""
    if in_ci():
        pytest.fail(f"{message}; CI must run every real validator")
    pytest.skip(message)


def require_tool(name: str) -> str:
    """Path of a tool; in CI a missing tool fails the test, elsewhere it skips with the reason."""
    found = shutil.which(name) or (str(BIN / name) if (BIN / name).exists() else None)
    if found:
        return found
    missing_tool(f"{name} is not installed (run `make test-deps`, which installs it)")


def require_built(tool: str) -> str:
    """A Go-built tool (otelcol, jaeger): OBSGEN_<TOOL>_BIN, else the binary scripts/build-go-tools.sh cached."""
    from obsgen.check.tools import cached_binary

    env = f"OBSGEN_{tool.upper()}_BIN"
    cached = cached_binary(tool, ROOT / "compose" / "otel-collector" / "config.yaml")
    path = os.environ.get(env) or (str(cached) if cached is not None and os.access(cached, os.X_OK) else None)
    if not path:
        missing_tool(f"{env} is not set and no cached build of {tool} was found (run scripts/build-go-tools.sh)")
    return path


SLOTH_VERSION = "0.16.0"  # scripts/build-go-tools.sh builds and caches the same version


def sloth_module() -> Path:
    """Sloth's Go module (examples/, examples/_gen/, examples/windows/) from the local Go module cache.

    Tests only read it: scripts/build-go-tools.sh puts it there (never a download from a test). Missing Go or a
    missing module follows the one policy: fail in CI, skip with the reason elsewhere.
    """
    go = shutil.which("go")
    if go is None:
        missing_tool("go is not installed, so Sloth's examples cannot be found in its module cache")
    cache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, timeout=60).stdout.strip()
    path = Path(cache) / "github.com" / "slok" / f"sloth@v{SLOTH_VERSION}"
    if not (path / "examples" / "_gen").is_dir():
        missing_tool(f"Sloth v{SLOTH_VERSION} is not in the Go module cache at {path} (run scripts/build-go-tools.sh sloth)")
    return path


def require_sloth() -> str:
    """The Sloth binary scripts/build-go-tools.sh cached (OBSGEN_SLOTH_BIN overrides it)."""
    from obsgen.check.tools import bin_cache

    path = os.environ.get("OBSGEN_SLOTH_BIN") or str(bin_cache() / f"sloth-{SLOTH_VERSION}")
    if not os.access(path, os.X_OK):
        missing_tool(f"no Sloth binary at {path} (run scripts/build-go-tools.sh sloth)")
    return path


def run(cmd: list[str], cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing text output; never inherits a hanging stdin."""
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Stop a server a test started: terminate, then kill if it does not exit in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def obsgen(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed obsgen CLI as a user would."""
    return run([str(BIN / "obsgen"), *args], cwd=cwd)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT

"""Pytest plugin (loaded from conftest.py): a container engine for the session, the runners the checks use, Node.js
with the locked packages, and a report of which path each check ran (printed in the terminal summary).

Engine: DOCKER_HOST or /var/run/docker.sock if present; else, where podman is installed, a
`podman system service` on a temporary socket for this session only (stopped at teardown). Images
built locally by scripts/build-images.sh are used through $OBSGEN_IMAGES_ENV
(default /var/cache/obsgen/images.env), loaded only for the podman engine we start ourselves.

The CI policy lives here, not in obsgen: with CI=true the pinned runner must reach an engine, and every check
whose tool has an image must run in it (a user's `obsgen check` falls back to local binaries instead).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from obsgen.check.containers import connect
from obsgen.check.context import Context
from obsgen.check.layout import Layout
from obsgen.check.node import NodeEnv, NodeUnavailable, ensure
from obsgen.check.registry import CHECKS, run_one
from obsgen.check.result import CheckResult
from obsgen.check.runner import Result, Runner, RunnerError
from obsgen.check.tools import TOOLS

from conftest import in_ci, missing_tool, require_tool, stop_process

IMAGES_ENV = Path(os.environ.get("OBSGEN_IMAGES_ENV", "/var/cache/obsgen/images.env"))
SOCKET_WAIT = 30.0  # seconds for podman's API socket to answer


@dataclass
class Engine:
    """The engine the session uses: DOCKER_HOST value (empty when none) and how it was found."""

    docker_host: str
    how: str
    podman: bool


@dataclass(frozen=True)
class Run:
    test: str
    tool: str
    path: str
    runner: str
    failed: bool
    reason: str


RUNS_KEY = pytest.StashKey[list[Run]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RUNS_KEY] = []


def _load_images_env() -> dict[str, str]:
    """KEY=VALUE lines of the images.env written by scripts/build-images.sh (only keys not already set)."""
    if not IMAGES_ENV.is_file():
        return {}
    out = {}
    for line in IMAGES_ENV.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and key.strip() not in os.environ:
            out[key.strip()] = value.strip()
    return out


@pytest.fixture(scope="session")
def container_engine() -> Iterator[Engine]:
    """Find or start a Docker-API engine for this session; restores the environment at the end."""
    if os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists():
        yield Engine(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"), "existing engine", podman=False)
        return
    podman = shutil.which("podman")
    if podman is None or os.environ.get("OBSGEN_RUNNER") == "local":
        yield Engine("", "no engine: no DOCKER_HOST, no /var/run/docker.sock, no podman (scripts/ci-setup.sh installs podman)", podman=False)
        return
    tmp = Path(tempfile.mkdtemp(prefix="obsgen-podman-"))
    sock = tmp / "podman.sock"
    host = f"unix://{sock}"
    log = (tmp / "service.log").open("w")
    proc = subprocess.Popen([podman, "system", "service", "--time=0", host], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    saved = {k: os.environ.get(k) for k in ("DOCKER_HOST",)}
    try:
        deadline = time.monotonic() + SOCKET_WAIT
        os.environ["DOCKER_HOST"] = host
        while True:
            engine, why = connect()
            if engine is not None:
                engine.close()
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"podman system service did not answer on {sock}: {why}; "
                                   f"log: {(tmp / 'service.log').read_text()[-2000:]}")
            time.sleep(0.2)
        overrides = _load_images_env()
        saved.update({k: None for k in overrides})
        os.environ.update(overrides)
        yield Engine(host, f"podman system service started for this session ({len(overrides)} image overrides "
                           f"from {IMAGES_ENV})", podman=True)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        stop_process(proc, timeout=15)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def require_container_path(runner: Runner) -> None:
    """No engine: the one policy (a failure in CI, a skip with the reason elsewhere)."""
    if not runner.uses_containers:
        missing_tool(f"no container engine ({runner.reason}; scripts/ci-setup.sh installs podman and the images)")


@pytest.fixture(scope="session")
def runner(container_engine: Engine) -> Iterator[Runner]:
    """The pinned runner, as `obsgen check` resolves it: the image, else the Go-built binary, else PATH."""
    r = Runner(mode="auto")
    if in_ci() and not r.uses_containers:
        pytest.fail(f"no container engine ({r.reason}); CI must run the container path")
    try:
        yield r
    finally:
        r.close()


@pytest.fixture(scope="session")
def floor_runner() -> Runner:
    """Debian's promtool 2.42 and amtool 0.25 from PATH: the compatibility floor the generated files must also pass."""
    binaries = {tool: [require_tool(tool)] for tool in ("promtool", "amtool")}
    return Runner(mode="local", binaries=binaries, reason="the Debian compatibility floor")


@pytest.fixture(scope="session")
def node_env() -> NodeEnv:
    """Node.js with the locked packages, installed by the same code `obsgen check` uses."""
    try:
        return ensure()
    except NodeUnavailable as exc:
        missing_tool(f"the Node.js checks cannot run: {exc} (run `make test-deps`)")


def record(request: pytest.FixtureRequest, tool: str, path: str, runner: str, failed: bool, reason: str) -> None:
    request.config.stash[RUNS_KEY].append(Run(request.node.nodeid, tool, path, runner, failed, reason))


Validate = Callable[..., Result]


@pytest.fixture
def validate(runner: Runner, request: pytest.FixtureRequest) -> Validate:
    """Run a tool through the pinned runner and record which path ran, for the terminal summary."""

    def run(tool: str, args: Sequence[str], files: Mapping[str, Path] | None = None,
            env: Mapping[str, str] | None = None) -> Result:
        try:
            result = runner.run(tool, args, files, env)
        except RunnerError as e:
            missing_tool(f"{tool}: {e}")
        record(request, tool, result.path, result.runner, not result.ok, result.reason)
        return result

    return run


RunCheck = Callable[..., CheckResult]


@pytest.fixture
def run_check(runner: Runner, request: pytest.FixtureRequest) -> RunCheck:
    """Run one check (obsgen.check's own code) on a tree; a check that cannot run follows the missing-tool policy.

    With the pinned runner in CI, a check whose tool has an image must have run in it.
    """

    def run(name: str, root: Path, with_runner: Runner | None = None, layout: Layout | None = None) -> CheckResult:
        chosen = with_runner or runner
        check = next(c for c in CHECKS if c.name == name)
        result = run_one(check, Context(layout or Layout(root), chosen))
        if result.not_run:
            missing_tool(f"check {name} did not run: {result.reason}")
        how = chosen.resolve(check.tool) if check.tool in TOOLS else None
        if how is not None:
            record(request, check.tool, how.path, how.runner, result.failed, how.reason)
            if in_ci() and chosen is runner and TOOLS[check.tool].service and how.path != "container":
                pytest.fail(f"{name} ran {how.path} ({how.reason}); CI must run {check.tool} in its image")
        return result

    return run


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    runs = config.stash.get(RUNS_KEY, [])
    if not runs:
        return
    terminalreporter.section("validator runs: which path ran")
    groups: dict[tuple[str, str, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.tool, r.path, r.runner), []).append(r)
    for (tool, path, where), items in sorted(groups.items()):
        failed = sum(1 for r in items if r.failed)
        why = f" ({items[0].reason})" if items[0].reason else ""
        terminalreporter.write_line(f"{tool:9} {path:9} {where}  runs={len(items)} failed={failed}{why}")

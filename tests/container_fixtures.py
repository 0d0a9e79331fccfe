"""Pytest plugin (loaded from conftest.py): a container engine for the session and a report of which
validator path ran (container or local), printed in the terminal summary.

Engine: DOCKER_HOST or /var/run/docker.sock if present; else, where podman is installed, a
`podman system service` on a temporary socket for this session only (stopped at teardown). Images
built locally by scripts/build-images.sh are used through $OBSGEN_IMAGES_ENV
(default /var/cache/obsgen/images.env), loaded only for the podman engine we start ourselves.
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

from obsgen.containers import Result, Runner, RunnerError, connect, in_ci

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
    returncode: int
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
        yield Engine("", "no engine: no DOCKER_HOST, no /var/run/docker.sock, no podman", podman=False)
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
            client, why = connect()
            if client is not None:
                client.close()
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
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def runner(container_engine: Engine) -> Iterator[Runner]:
    """The validator runner; in CI a missing engine fails (the container path is mandatory there)."""
    try:
        r = Runner()
    except RunnerError as e:
        if in_ci():
            pytest.fail(str(e))
        pytest.skip(str(e))
    try:
        yield r
    finally:
        r.close()


Validate = Callable[..., Result]


@pytest.fixture
def validate(runner: Runner, request: pytest.FixtureRequest) -> Validate:
    """Run a tool through the runner and record which path ran, for the terminal summary."""

    def run(tool: str, args: Sequence[str], files: Mapping[str, Path] | None = None,
            env: Mapping[str, str] | None = None) -> Result:
        try:
            result = runner.run(tool, args, files, env)
        except RunnerError as e:
            if in_ci():
                pytest.fail(f"{tool}: {e}")
            pytest.skip(f"{tool}: {e}")
        request.config.stash[RUNS_KEY].append(
            Run(request.node.nodeid, tool, result.path, result.runner, result.returncode, result.reason))
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
        failed = sum(1 for r in items if r.returncode != 0)
        why = f" ({items[0].reason})" if items[0].reason else ""
        terminalreporter.write_line(
            f"{tool:9} {path:9} {where}  runs={len(items)} nonzero-exit={failed}{why}")

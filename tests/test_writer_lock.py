"""Runs on one --out take turns: a held lock makes a run wait, then fail with one line; two racing runs leave one tree."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from pathlib import Path

import pytest
from writer_support import catalogs, generate, generated_copy, one_error_line, scenario, snapshot

from conftest import BIN


def _hold(out: Path, mode: int) -> int:
    fd = os.open(out / ".obsgen.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, mode | fcntl.LOCK_NB)
    return fd


@pytest.mark.parametrize("args", [(), ("--check",)])
def test_a_run_gives_up_on_a_held_lock_with_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    _, new, out = scenario(tmp_path)
    before = snapshot(out)
    fd = _hold(out, fcntl.LOCK_EX)
    try:
        line = one_error_line(generate(new, out, "--lock-timeout", "0.3", *args))
    finally:
        os.close(fd)
    assert line == (f"{out / '.obsgen.lock'}: another obsgen run is using this folder; gave up after waiting 0.3 s "
                    "(see --lock-timeout); nothing was written")
    assert snapshot(out) == before


def test_checks_share_the_lock_but_a_write_waits_for_them(tmp_path: Path) -> None:
    old, new, out = scenario(tmp_path)
    fd = _hold(out, fcntl.LOCK_SH)  # what a running --check holds
    try:
        assert generate(old, out, "--check", "--lock-timeout", "0").returncode == 0
        assert "another obsgen run is using this folder" in one_error_line(generate(new, out, "--lock-timeout", "0.2"))
    finally:
        os.close(fd)


def _opened(pid: int, path: Path) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) == str(path) for fd in fds.iterdir())
    except OSError:
        return False


def test_a_waiting_run_writes_nothing_until_the_lock_is_free_then_finishes(tmp_path: Path) -> None:
    _, new, out = scenario(tmp_path)
    before = snapshot(out)
    reference = snapshot(generated_copy(new, out, tmp_path / "reference"))
    fd = _hold(out, fcntl.LOCK_EX)
    try:
        proc = _start(new, out)
        _wait_until_opened([proc], out / ".obsgen.lock")  # it has reached the lock, which this test holds
        assert snapshot(out) == before
    finally:
        os.close(fd)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert snapshot(out) == reference


def _start(cats: Path, out: Path) -> subprocess.Popen:
    # Beside the catalogs, as writer_support.generate runs: no obsgen.yaml there, so both use the default project.
    return subprocess.Popen([str(BIN / "obsgen"), "generate", "--catalogs", str(cats), "--out", str(out)], cwd=cats.parent,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_opened(procs: list[subprocess.Popen], path: Path) -> None:
    deadline = time.monotonic() + 120
    while not all(_opened(proc.pid, path) for proc in procs):
        assert all(proc.poll() is None for proc in procs), [proc.communicate() for proc in procs]
        assert time.monotonic() < deadline, "a run never reached the lock"
        time.sleep(0.02)


def test_two_racing_runs_leave_exactly_one_runs_tree(tmp_path: Path) -> None:
    """Both runs are held at the lock and released together, so their writes start at the same instant."""
    a = catalogs(tmp_path / "a", {"api": 100, "web": 100, "shared": 100})
    b = catalogs(tmp_path / "b", {"api": 200, "db": 100, "shared": 100})
    start = catalogs(tmp_path / "start", {"web": 300, "cache": 100})
    trees = {"a": snapshot(generated_copy(a, None, tmp_path / "ref-a")), "b": snapshot(generated_copy(b, None, tmp_path / "ref-b"))}
    for attempt, held in enumerate((True, True, False)):
        out = generated_copy(start, None, tmp_path / f"out{attempt}") if attempt else tmp_path / "out0"
        out.mkdir(exist_ok=True)
        fd = _hold(out, fcntl.LOCK_EX) if held else None
        try:
            procs = [_start(cats, out) for cats in (a, b)]
            if fd is not None:
                _wait_until_opened(procs, out / ".obsgen.lock")
        finally:
            if fd is not None:
                os.close(fd)
        for proc in procs:
            _, stderr = proc.communicate(timeout=300)
            assert proc.returncode == 0, stderr
        final = snapshot(out)
        winner = next((name for name, tree in trees.items() if tree == final), None)
        assert winner is not None, f"attempt {attempt}: the tree matches neither run (orphans or a mix)"
        loser = "b" if winner == "a" else "a"
        assert generate(tmp_path / winner, out, "--check").returncode == 0
        assert generate(tmp_path / loser, out, "--check").returncode == 1

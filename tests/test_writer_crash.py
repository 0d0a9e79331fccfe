"""Kill `obsgen generate` at every step of its write, through the writer's fault hook (no timing involved).

After each kill: --check must not call the tree up to date, the recovery every run starts with must leave
exactly the old tree (killed before the commit) or exactly the new one (after it), and `--check` and a fresh
`obsgen generate` must then agree on what is left to do.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

from writer_support import catalogs, emitted, generate, generated_copy, scenario, snapshot

from obsgen.writer import diff, recover, write

from conftest import ROOT


def _steps(out: Path, files: dict[str, str]) -> list[str]:
    """The labels of the writer's steps from this tree to these files, counted on a copy of the tree."""
    probe = out.parent / f"{out.name}-probe"
    shutil.copytree(out, probe, symlinks=True)
    labels: list[str] = []
    write(files, probe, fault=lambda index, label: labels.append(label))
    shutil.rmtree(probe)
    return labels


def _kill_and_verify(cats: Path, files: dict[str, str], out: Path, step: int, label: str,
                     old: dict[str, str], new: dict[str, str], committed: bool, cli: bool) -> None:
    """Kill the CLI before `step`, then check the tree; `cli` runs --check and the fresh generate as processes too."""
    why = f"killed before step {step} ({label})"
    killed = generate(cats, out, env={"OBSGEN_WRITER_FAULT": str(step)})
    assert killed.returncode == -signal.SIGKILL, (why, killed.stdout, killed.stderr)
    left = snapshot(out)
    if not committed:
        assert {k: v for k, v in left.items() if not k.startswith(".obsgen-staging")} == old, f"{why}: live tree touched before the commit"

    trace = any(k.startswith((".obsgen-staging", ".obsgen-journal")) for k in left)
    assert trace or step == 0, f"{why}: no staging folder or journal left behind"
    pending = diff(files, out)
    assert not pending.clean and bool(pending.interrupted) == trace, (why, pending)
    if cli:
        check = generate(cats, out, "--check")
        assert check.returncode == 1, (why, check.stdout, check.stderr)
        assert ("interrupted: " in check.stdout) == trace, (why, check.stdout)
    assert snapshot(out) == left, f"{why}: --check wrote"

    recover(out)  # the first thing every run does
    assert snapshot(out) == (new if committed else old), f"{why}: recovery left a mix of the old and new trees"

    drift = diff(files, out)
    assert drift.clean == committed, (why, drift)
    if cli:
        check = generate(cats, out, "--check")
        assert (check.returncode == 0) == committed, (why, check.stdout)
        fresh = generate(cats, out)
        assert fresh.returncode == 0, (why, fresh.stderr)
        done = f"({len(drift.changed)} changed, {len(drift.added)} new, {len(drift.stale)} removed)"
        assert done in fresh.stdout, (why, fresh.stdout)
    else:
        assert write(files, out) == drift, why
    assert snapshot(out) == new, why


def _spread(labels: list[str], count: int) -> set[int]:
    """About `count` steps spread over the run, always with both sides of the commit and the last step."""
    commit = labels.index("commit")
    return {0, commit - 1, commit, commit + 1, len(labels) - 1} | set(range(0, len(labels), max(1, len(labels) // count)))


def test_a_kill_at_every_step_leaves_the_old_or_the_new_tree(tmp_path: Path) -> None:
    _, new_cats, out = scenario(tmp_path)
    files = emitted(new_cats)
    pristine = tmp_path / "pristine"
    shutil.copytree(out, pristine, symlinks=True)
    old = snapshot(out)
    new = snapshot(generated_copy(new_cats, pristine, tmp_path / "reference"))
    labels = _steps(out, files)
    kinds = {label.split()[0] for label in labels}
    assert {"stage", "commit", "move", "mkdir", "delete", "rmdir", "discard"} <= kinds, labels
    commit = labels.index("commit")
    with_cli = _spread(labels, 6)
    for step, label in enumerate(labels):
        shutil.rmtree(out)
        shutil.copytree(pristine, out, symlinks=True)
        _kill_and_verify(new_cats, files, out, step, label, old, new, committed=step > commit, cli=step in with_cli)


def test_kills_spread_over_a_larger_tree(tmp_path: Path) -> None:
    """The example catalogs, from a tree generated without one service and with another one changed."""
    new_cats = tmp_path / "new"
    shutil.copytree(ROOT / "catalogs", new_cats)
    old_cats = tmp_path / "old"
    shutil.copytree(new_cats, old_cats)
    dropped = sorted(old_cats.glob("*.yaml"))
    dropped[0].unlink()
    catalogs(tmp_path / "extra", {"legacy": 100})
    shutil.copy(tmp_path / "extra" / "legacy.yaml", old_cats)
    out = generated_copy(old_cats, None, tmp_path / "out")
    pristine = tmp_path / "pristine"
    shutil.copytree(out, pristine, symlinks=True)
    files = emitted(new_cats)
    old = snapshot(out)
    new = snapshot(generated_copy(new_cats, pristine, tmp_path / "reference"))
    labels = _steps(out, files)
    commit = labels.index("commit")
    assert len(labels) > 60, labels
    with_cli = {1, commit, commit + 1, len(labels) - 1}
    for step in sorted(_spread(labels, 6)):
        shutil.rmtree(out)
        shutil.copytree(pristine, out, symlinks=True)
        _kill_and_verify(new_cats, files, out, step, labels[step], old, new, committed=step > commit, cli=step in with_cli)


def test_a_kill_during_recovery_is_recovered_by_the_next_run(tmp_path: Path) -> None:
    _, new_cats, out = scenario(tmp_path)
    files = emitted(new_cats)
    pristine = tmp_path / "pristine"
    shutil.copytree(out, pristine, symlinks=True)
    new = snapshot(generated_copy(new_cats, pristine, tmp_path / "reference"))
    labels = _steps(out, files)
    first_delete = next(i for i, label in enumerate(labels) if label.startswith("delete"))
    assert generate(new_cats, out, env={"OBSGEN_WRITER_FAULT": str(first_delete)}).returncode == -signal.SIGKILL
    interrupted = tmp_path / "interrupted"
    shutil.copytree(out, interrupted, symlinks=True)
    recovery: list[str] = []
    recover(out, fault=lambda index, label: recovery.append(label))
    assert snapshot(out) == new
    assert recovery[-3:] == ["sync moved files", "remove journal", "discard .obsgen-staging"], recovery
    with_cli = {0, len(recovery) // 2, len(recovery) - 1}
    for step, label in enumerate(recovery):
        shutil.rmtree(out)
        shutil.copytree(interrupted, out, symlinks=True)
        killed = generate(new_cats, out, env={"OBSGEN_WRITER_FAULT": str(step)})
        assert killed.returncode == -signal.SIGKILL, label
        assert diff(files, out).interrupted, label
        if step in with_cli:
            assert "interrupted: " in generate(new_cats, out, "--check").stdout, label
            again = generate(new_cats, out)
            assert again.returncode == 0 and "(0 changed, 0 new, 0 removed; " in again.stdout, (label, again.stdout)
        else:
            assert recover(out), label
            assert write(files, out).clean, label
        assert snapshot(out) == new, f"killed in recovery before {label}"

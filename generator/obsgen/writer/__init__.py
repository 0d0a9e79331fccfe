"""Write the generated tree into --out: confined, locked, crash-safe, and skipping files already right.

- Confined (paths.py): every path is a checked relative path opened beneath --out one folder at a time with
  O_NOFOLLOW, and every operation takes a folder descriptor and one name. No link is followed, whatever the
  manifest says; a malformed manifest (manifest.py) is a located error, never data.
- Locked (lock.py): `flock` on --out/.obsgen.lock, exclusive to write, shared for --check, with a bounded wait.
- Crash-safe (journal.py): changed files are staged in --out/.obsgen-staging, flushed, and listed with their
  hashes (and every stale file to delete) in a journal, which is committed by renaming it to
  --out/.obsgen-journal.json. Only then is the live tree touched, by steps that can each be redone.
  The next start rolls a committed journal forward and deletes an uncommitted staging folder.

Why a journal rather than swapping whole folders: --out is usually a repository root whose generated
folders also hold user files (a hand-written rules file beside generated ones), so no single rename can
swap the tree; and roll-forward, not roll-back, because after the commit the new bytes are already on
disk, so finishing needs no copy of the old files. --check never writes: it reports an interrupted run
as drift, so it cannot call a half-applied tree up to date.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from obsgen.writer.changes import checked_paths, compute, read_listed
from obsgen.writer.journal import pending, swap
from obsgen.writer.journal import recover as _recover
from obsgen.writer.lock import DEFAULT_TIMEOUT, locked
from obsgen.writer.manifest import read_manifest
from obsgen.writer.paths import JOURNAL, LOCK, MANIFEST, STAGING, Steps, Tree, WriterError

__all__ = [
    "DEFAULT_TIMEOUT", "Drift", "Fault", "JOURNAL", "LOCK", "MANIFEST", "STAGING", "WriterError",
    "diff", "kill_at_step", "read_kept", "recover", "write",
]

Fault = Callable[[int, str], None]
"""Called with (step number, label) just before each change the writer makes to disk; tests kill the process there."""


@dataclass(frozen=True)
class Drift:
    """What a run changed (or, for --check, would change); `interrupted` names an unfinished earlier run."""

    changed: tuple[str, ...]
    added: tuple[str, ...]
    stale: tuple[str, ...]
    interrupted: str = ""

    @property
    def clean(self) -> bool:
        return not (self.changed or self.added or self.stale or self.interrupted)

    def lines(self) -> list[str]:
        return (
            ([f"interrupted: {self.interrupted}"] if self.interrupted else [])
            + [f"changed: {p}" for p in self.changed]
            + [f"missing: {p}" for p in self.added]
            + [f"stale:   {p}" for p in self.stale]
        )


def write(files: dict[str, str], out: Path, *, lock_timeout: float = DEFAULT_TIMEOUT, fault: Fault | None = None) -> Drift:
    """Make --out hold exactly `files` (plus anything obsgen did not write), removing files it wrote before."""
    root = _open_out(out, create=True)
    assert root is not None
    try:
        with Tree(root, str(out)) as tree, locked(tree, exclusive=True, timeout=lock_timeout):
            paths = checked_paths(files, tree.name_max)
            steps = Steps(fault)
            recovered = _recover(tree, steps)
            changes = compute(tree, files, paths, read_manifest(tree), for_write=True)
            if changes.puts or changes.deletes:
                swap(tree, changes.puts, changes.deletes, steps)
            return Drift(changes.changed, changes.added, changes.stale, recovered)
    finally:
        os.close(root)


def diff(files: dict[str, str], out: Path, *, lock_timeout: float = DEFAULT_TIMEOUT) -> Drift:
    """What `write` would change, writing nothing; an interrupted earlier run counts as drift."""
    root = _open_out(out, create=False)
    if root is None:
        return Drift((), (*checked_paths(files), MANIFEST), ())
    try:
        with Tree(root, str(out)) as tree, locked(tree, exclusive=False, timeout=lock_timeout):
            changes = compute(tree, files, checked_paths(files, tree.name_max), read_manifest(tree), for_write=False)
            return Drift(changes.changed, changes.added, changes.stale, pending(tree))
    finally:
        os.close(root)


def recover(out: Path, *, lock_timeout: float = DEFAULT_TIMEOUT, fault: Fault | None = None) -> str:
    """Only the first step of every write: finish or discard an interrupted run; says what it did."""
    root = _open_out(out, create=False)
    if root is None:
        return ""
    try:
        with Tree(root, str(out)) as tree, locked(tree, exclusive=True, timeout=lock_timeout):
            return _recover(tree, Steps(fault))
    finally:
        os.close(root)


def read_kept(out: Path, keep: Callable[[str], bool], *, lock_timeout: float = DEFAULT_TIMEOUT) -> dict[str, str]:
    """The files the previous run wrote that `keep` selects, as they are now, so a partial run can carry them over.

    They are found and read like everything else here: through the checked manifest, never through a link,
    regular files only; so no file outside --out can be copied into it this way.
    """
    root = _open_out(out, create=False)
    if root is None:
        return {}
    try:
        with Tree(root, str(out)) as tree, locked(tree, exclusive=False, timeout=lock_timeout):
            return read_listed(tree, read_manifest(tree), keep)
    finally:
        os.close(root)


def kill_at_step(value: str | None) -> Fault | None:
    """The test-only hook OBSGEN_WRITER_FAULT=<n> asks for: SIGKILL this process just before step n."""
    if not value:
        return None
    try:
        target = int(value)
    except ValueError:
        raise WriterError(f"OBSGEN_WRITER_FAULT={value!r}: must be a step number (a setting for tests only)") from None

    def fault(index: int, label: str) -> None:
        if index == target:
            os.kill(os.getpid(), signal.SIGKILL)

    return fault


def _open_out(out: Path, create: bool) -> int | None:
    """A descriptor of --out itself (a link there is the user's own choice and is followed, once)."""
    try:
        if create:
            os.makedirs(out, exist_ok=True)
        return os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        if create:
            raise WriterError(f"{out}: cannot be created; nothing was written") from None
        return None
    except (FileExistsError, NotADirectoryError):
        raise WriterError(f"{out}: is not a folder; nothing was written") from None
    except OSError as exc:
        raise WriterError(f"{out}: {exc.strerror}; nothing was written") from None

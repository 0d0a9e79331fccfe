"""The crash-safe swap: stage, journal, commit with one rename, apply idempotently, and recover on the next start.

Nothing in the live tree changes before the commit, the rename of a complete, synced journal into
--out/.obsgen-journal.json. So a run killed before it leaves the old tree plus a staging folder, which the
next start deletes (roll back); a run killed after it leaves a journal whose every step can be redone,
which the next start finishes (roll forward). Either way the next run sees the complete old or new tree.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import json
import os
import re
import shutil
import stat
from dataclasses import dataclass

from obsgen.writer.paths import (
    DIR_FLAGS,
    JOURNAL,
    LEGACY_STAGING_PREFIX,
    MANIFEST,
    STAGING,
    PathProblem,
    Step,
    Tree,
    WriterError,
    check_relative,
    lstat_mode,
    regular_bytes,
    write_new,
)

_STAGED = re.compile(r"[0-9]{6,9}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_JOURNAL_TMP = "journal.json"  # written inside the staging folder, then renamed into --out to commit


@dataclass(frozen=True)
class Put:
    """A file to create or replace with `text` (kept as text: encoded only when staged)."""

    rel: str
    parts: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Delete:
    """A stale file to delete if it still holds the bytes hashed when the run was planned."""

    rel: str
    parts: tuple[str, ...]
    sha256: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def swap(tree: Tree, puts: list[Put], deletes: list[Delete], step: Step) -> None:
    """Replace the old tree by the new one so that a kill at any step leaves a recoverable state."""
    ops = _stage(tree, puts, deletes, step)
    finish(tree, ops, step)


def _stage(tree: Tree, puts: list[Put], deletes: list[Delete], step: Step) -> list[list[str]]:
    """Everything before and including the commit; a failure here leaves the live tree as it was."""
    ops: list[list[str]] = []
    doing = "creating the staging folder"
    try:
        step("mkdir staging")
        os.mkdir(STAGING, 0o700, dir_fd=tree.root)
        staging = os.open(STAGING, DIR_FLAGS, dir_fd=tree.root)
        try:
            for index, put in enumerate(puts):
                name, doing = f"{index:06d}", f"staging {put.rel}"
                step(f"stage {put.rel}")
                data = put.text.encode("utf-8", "surrogateescape")
                write_new(staging, name, data)
                ops.append(["put", put.rel, name, sha256(data)])
            ops += [["delete", d.rel, d.sha256] for d in deletes]
            ops.sort(key=lambda op: op[1])
            doing = "flushing the staged files"
            step("sync staged files")
            _syncfs(staging)  # one flush for every staged file: the journal must never name bytes not yet on disk
            doing = "writing the journal"
            step("write journal")
            write_new(staging, _JOURNAL_TMP, json.dumps({"obsgen_journal": 1, "ops": ops}, indent=0).encode(), sync=True)
            step("commit")
            os.rename(_JOURNAL_TMP, JOURNAL, src_dir_fd=staging, dst_dir_fd=tree.root)
        finally:
            os.close(staging)
    except OSError as exc:
        if lstat_mode(tree.root, JOURNAL) is None:  # not committed: nothing live changed, so drop the staging now
            with contextlib.suppress(OSError):
                shutil.rmtree(STAGING, dir_fd=tree.root)
        raise WriterError(f"{tree.where((STAGING,))}: {exc.strerror or exc} while {doing}; nothing was written") from None
    os.fsync(tree.root)
    return ops


def finish(tree: Tree, ops: list[list[str]], step: Step) -> None:
    """Apply a committed journal (each step can be redone), then drop the journal and the staging folder."""
    where = tree.where((JOURNAL,))
    try:
        staging: int | None = os.open(STAGING, DIR_FLAGS, dir_fd=tree.root)
    except FileNotFoundError:
        staging = None  # every staged file was moved already, or someone removed the folder
    emptied = {_parts(op[1])[:-1] for op in ops if op[0] == "delete"}
    parts: tuple[str, ...] = ()
    try:
        for op in ops:
            parts = _parts(op[1])
            _apply(tree, staging, op, parts, step)
        tree.prune(emptied, step)
    except (OSError, PathProblem) as exc:
        reason = str(exc) if isinstance(exc, PathProblem) else f"{tree.where(parts)}: {exc.strerror}"
        raise WriterError(
            f"{reason}; the new tree is recorded in {where} and the next `obsgen generate` finishes it once this is fixed"
        ) from None
    finally:
        if staging is not None:
            os.close(staging)
    step("sync moved files")
    _syncfs(tree.root)  # the journal may go only once every move it lists is on disk
    step("remove journal")
    os.unlink(JOURNAL, dir_fd=tree.root)
    os.fsync(tree.root)
    discard_staging(tree, step)


def _apply(tree: Tree, staging: int | None, op: list[str], parts: tuple[str, ...], step: Step) -> None:
    if op[0] == "put":
        if staging is None or lstat_mode(staging, op[2]) is None:
            return  # moved into place before the kill
        folder = tree.folder(parts[:-1], create=step)
        assert folder is not None
        step(f"move {op[1]}")
        os.rename(op[2], parts[-1], src_dir_fd=staging, dst_dir_fd=folder)
        return
    folder = tree.folder(parts[:-1])
    if folder is not None:
        data = regular_bytes(folder, parts[-1])
        if data is not None and sha256(data) == op[2]:  # a file changed since the plan is the user's now: kept
            step(f"delete {op[1]}")
            os.unlink(parts[-1], dir_fd=folder)


def recover(tree: Tree, step: Step) -> str:
    """Finish a committed journal or discard an uncommitted run's staging; says what it did ('' for nothing)."""
    ops = read_journal(tree)
    if ops is not None:
        finish(tree, ops, step)
        return "finished an interrupted run"
    return "discarded an interrupted run's staged files" if discard_staging(tree, step) else ""


def pending(tree: Tree) -> str:
    """What an interrupted run left behind ('' for nothing): --check must not call such a tree up to date."""
    if lstat_mode(tree.root, JOURNAL) is not None:
        return f"{tree.where((JOURNAL,))}: a run was interrupted after committing; `obsgen generate` finishes it"
    names = _staging_names(tree)
    if names:
        return f"{tree.where((names[0],))}: a run was interrupted before committing; `obsgen generate` discards it"
    return ""


def discard_staging(tree: Tree, step: Step) -> bool:
    """Delete the staging folder (and older writers' temporary folders) without following any link in them."""
    found = False
    for name in _staging_names(tree):
        found = True
        step(f"discard {name}")
        if stat.S_ISDIR(lstat_mode(tree.root, name) or 0):
            shutil.rmtree(name, dir_fd=tree.root)  # fd-based on Linux: it never follows a link out of the folder
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=tree.root)
    return found


def _staging_names(tree: Tree) -> list[str]:
    names = [STAGING] if lstat_mode(tree.root, STAGING) is not None else []
    return names + sorted(n for n in os.listdir(tree.root) if n.startswith(LEGACY_STAGING_PREFIX))


def read_journal(tree: Tree) -> list[list[str]] | None:
    """The committed journal's operations, checked like any input; None when there is none."""
    mode = lstat_mode(tree.root, JOURNAL)
    if mode is None:
        return None
    data = regular_bytes(tree.root, JOURNAL) if stat.S_ISREG(mode) else None
    try:
        doc = json.loads(data or b"")
        ops = doc["ops"]
        if doc.get("obsgen_journal") != 1 or not isinstance(ops, list):
            raise ValueError("not an obsgen journal")
        for op in ops:
            _check_op(op)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise WriterError(
            f"{tree.where((JOURNAL,))}: damaged journal ({exc}); obsgen renames it into place only when complete, "
            f"so something else changed it: remove it and {STAGING}/, then run `obsgen generate` again"
        ) from None
    return ops


def _check_op(op: object) -> None:
    if not isinstance(op, list) or not op or op[0] not in ("put", "delete"):
        raise ValueError(f"unknown operation {str(op)[:60]}")
    if op[0] == "put" and not (len(op) == 4 and isinstance(op[2], str) and _STAGED.fullmatch(op[2])):
        raise ValueError(f"bad put {str(op)[:60]}")
    if not (isinstance(op[-1], str) and _SHA256.fullmatch(op[-1])) or (op[0] == "delete" and len(op) != 3):
        raise ValueError(f"bad operation {str(op)[:60]}")
    _parts(op[1])


def _parts(rel: object) -> tuple[str, ...]:
    return (MANIFEST,) if rel == MANIFEST else check_relative(rel)


@functools.lru_cache(maxsize=1)
def _libc_syncfs() -> object:
    return getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)


def _syncfs(fd: int) -> None:
    """Flush the filesystem holding `fd` once, instead of one fsync per file (thousands of journal commits)."""
    syncfs = _libc_syncfs()
    if syncfs is None:
        os.sync()
    elif syncfs(fd) != 0:  # type: ignore[operator]
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))

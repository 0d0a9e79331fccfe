"""What a run would change under --out: files to put, stale files to delete, and whether it can do so safely.

The same function answers `--check` and plans a write, so the two cannot disagree. A file whose bytes are
already right is neither staged nor touched. Before a write, every folder that would receive or lose an entry
is checked (writable, on the same filesystem as --out), so a user's read-only or misplaced folder stops the
run before the commit instead of halfway through it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from obsgen.writer.journal import Delete, Put, sha256
from obsgen.writer.manifest import Manifest, manifest_text
from obsgen.writer.paths import (
    DIFFERENT,
    FOLDER,
    MANIFEST,
    MISSING,
    PathProblem,
    Tree,
    WriterError,
    check_relative,
    compare,
    regular_bytes,
)


@dataclass(frozen=True)
class Changes:
    """A planned run: what to put and delete, and the drift it reports."""

    puts: list[Put]
    deletes: list[Delete]
    changed: tuple[str, ...]
    added: tuple[str, ...]
    stale: tuple[str, ...]


def checked_paths(files: dict[str, str], name_max: int = 255) -> dict[str, tuple[str, ...]]:
    """Each generated file's checked path parts; a path the writer may not use is a WriterError."""
    paths: dict[str, tuple[str, ...]] = {}
    folders: set[str] = set()
    for rel in sorted(files):
        try:
            parts = check_relative(rel, name_max)
        except ValueError as exc:
            raise WriterError(f"generated file {exc}; nothing was written") from None
        paths[rel] = parts
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    clash = sorted(folders & paths.keys())
    if clash:
        raise WriterError(f"generated file {clash[0]!r} is also a folder of other generated files; nothing was written")
    return paths


def compute(tree: Tree, files: dict[str, str], paths: dict[str, tuple[str, ...]], manifest: Manifest, for_write: bool) -> Changes:
    """Compare the generated files with the tree and the previous manifest; `for_write` also proves the run can finish.

    Texts are encoded one at a time and dropped after the comparison: at 1,000 services they are 200 MB.
    """
    checked: set[tuple[str, ...]] = set()
    root_dev = os.fstat(tree.root).st_dev
    puts: list[Put] = []
    changed: list[str] = []
    added: list[str] = []
    wanted = [*((rel, parts, files[rel]) for rel, parts in paths.items()), (MANIFEST, (MANIFEST,), manifest_text(list(paths)))]
    for rel, parts, text in wanted:
        folder = tree.folder(parts[:-1])
        state = MISSING if folder is None else _compare(tree, folder, parts, encoded(rel, text))
        if state == MISSING:
            added.append(rel)
        elif state == DIFFERENT:
            changed.append(rel)
        else:
            continue
        puts.append(Put(rel, parts, text))
        if for_write:
            _writable(tree, parts[: tree.reached], checked, root_dev)
    deletes = _stale(tree, paths, manifest)
    if for_write:
        for delete in deletes:
            tree.folder(delete.parts[:-1])
            _writable(tree, delete.parts[:-1], checked, root_dev)
        _writable(tree, (), checked, root_dev)  # the staging folder and the journal live at the top
    return Changes(puts, deletes, tuple(changed), tuple(added), tuple(d.rel for d in deletes))


def encoded(rel: str, text: str) -> bytes:
    """The bytes of a generated file; text that UTF-8 cannot hold (a lone surrogate) is a WriterError."""
    try:
        return text.encode("utf-8", "surrogateescape")  # the bytes of a carried-over file, exactly as read
    except UnicodeEncodeError as exc:
        raise WriterError(f"{rel}: generated text cannot be written as UTF-8 ({exc.reason}); nothing was written") from None


def _compare(tree: Tree, folder: int, parts: tuple[str, ...], data: bytes) -> str:
    try:
        state = compare(folder, parts[-1], data)
    except OSError as exc:
        raise PathProblem(tree.where(parts), "os", f"{exc.strerror}; nothing was written") from None
    if state == FOLDER:
        raise PathProblem(tree.where(parts), "folder", "is a folder where obsgen writes a file; move it away, nothing was written")
    return state


def _stale(tree: Tree, files: dict[str, object], manifest: Manifest) -> list[Delete]:
    """Files the previous run wrote and this one does not, still as it left them (regular files only)."""
    listed = _listed(tree, manifest, lambda rel: rel not in files)
    return [Delete(rel, parts, sha256(data)) for rel, (parts, data) in sorted(listed.items())]


def read_listed(tree: Tree, manifest: Manifest, keep: Callable[[str], bool]) -> dict[str, str]:
    """The texts of the manifest's files that `keep` selects (surrogateescape keeps any bytes as they are)."""
    return {rel: data.decode("utf-8", "surrogateescape") for rel, (_, data) in _listed(tree, manifest, keep).items()}


def _listed(tree: Tree, manifest: Manifest, keep: Callable[[str], bool]) -> dict[str, tuple[tuple[str, ...], bytes]]:
    """The manifest's files that `keep` selects and that are regular files now, read without following a link."""
    found: dict[str, tuple[tuple[str, ...], bytes]] = {}
    for index, rel, parts in manifest.entries:
        if rel in found or not keep(rel):
            continue
        try:
            folder = tree.folder(parts[:-1])
        except PathProblem as exc:
            if exc.kind == "not-dir":
                continue  # a file stands where its folder was: the listed file cannot exist
            if exc.kind == "symlink":
                raise manifest.blame(index, rel, f"{exc.where} is a symbolic link; obsgen never reads, writes or deletes through one") from None
            raise manifest.blame(index, rel, str(exc)) from None
        data = None if folder is None else regular_bytes(folder, parts[-1])
        if data is not None:
            found[rel] = (parts, data)
    return found


def _writable(tree: Tree, anchor: tuple[str, ...], checked: set[tuple[str, ...]], root_dev: int) -> None:
    """The existing folder `anchor` can take new entries and renames from the staging folder, or a PathProblem."""
    if anchor in checked:
        return
    checked.add(anchor)
    folder = tree.folder(anchor)
    assert folder is not None  # anchors are folders found to exist a moment ago, under the lock
    where = tree.where(anchor)
    if os.fstat(folder).st_dev != root_dev:
        raise PathProblem(where, "device", f"is on another filesystem than {tree.label}; obsgen cannot swap files "
                          "into it atomically, so nothing was written")
    if not os.access(".", os.W_OK | os.X_OK, dir_fd=folder):
        if os.fstatvfs(folder).f_flag & os.ST_RDONLY:
            why = "is on a read-only filesystem"
        else:
            why = "is not writable by this user (permissions or an immutable flag)"
        raise PathProblem(where, "read-only", f"{why}; nothing was written")

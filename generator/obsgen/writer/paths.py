"""Confinement: the writer names paths only as checked relative parts, opened beneath --out one folder at a time.

Every folder is opened with O_NOFOLLOW relative to its parent's descriptor, and every file operation takes
the parent's descriptor and a single name. So no symbolic link is ever followed, whatever a manifest, a
journal or a hostile tree says, and nothing can be reached outside the folder the run opened as --out.
A symbolic link on the way to a path is refused even when it points inside --out: following it could make
two generated paths one file, and checking where it points and then using it would be a race.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

MANIFEST = ".obsgen-files.json"
LOCK = ".obsgen.lock"
JOURNAL = ".obsgen-journal.json"
STAGING = ".obsgen-staging"
LEGACY_STAGING_PREFIX = ".obsgen-staging-"  # the temporary folders of writers before the journal

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC  # NONBLOCK: a FIFO must not hang a run


class WriterError(Exception):
    """A problem with the output folder, its manifest or its journal, printable as one located line."""


class PathProblem(WriterError):
    """A path that cannot be used; `kind` says why, so callers can word it for their context."""

    def __init__(self, where: str, kind: str, message: str) -> None:
        self.where = where
        self.kind = kind
        super().__init__(f"{where}: {message}")


def short(name: str, limit: int = 80) -> str:
    """A name cut to fit one readable line (file names can be hundreds of bytes long)."""
    return name if len(name) <= limit else f"{name[: limit - 20]}...{name[-16:]}"


def check_relative(rel: object, name_max: int = 255) -> tuple[str, ...]:
    """The parts of a path relative to --out, or ValueError saying why it may not be used."""
    if not isinstance(rel, str):
        raise ValueError(f"must be a path string, found {type(rel).__name__} {short(repr(rel))}")
    if not rel:
        raise ValueError("is an empty path")
    if "\x00" in rel:
        raise ValueError(f"{short(repr(rel))} contains a NUL character")
    if rel.startswith("/"):
        raise ValueError(f"{short(repr(rel))} is an absolute path, outside the output folder")
    parts = tuple(rel.split("/"))
    if ".." in parts:
        raise ValueError(f"{short(repr(rel))} leaves the output folder through '..'")
    if "" in parts or "." in parts:
        raise ValueError(f"{short(repr(rel))} is not a plain relative path (empty or '.' part)")
    if parts[0].startswith(".obsgen") or parts[0] == ".git":
        raise ValueError(f"{short(repr(rel))} names a file obsgen keeps for itself or a .git folder")
    for part in parts:
        size = len(part.encode("utf-8", "surrogateescape"))
        if size > name_max:
            raise ValueError(f"{short(repr(rel))}: a name of {size} bytes is longer than the filesystem allows ({name_max})")
    return parts


Step = Callable[[str], None]


class Steps:
    """Counts the writer's mutation points and calls the fault hook before each one (tests kill the process there)."""

    def __init__(self, fault: Callable[[int, str], None] | None) -> None:
        self.fault = fault
        self.count = 0

    def __call__(self, label: str) -> None:
        if self.fault is not None:
            self.fault(self.count, label)
        self.count += 1


class Tree:
    """Folders beneath an opened --out, walked without following links; sorted paths open each folder once."""

    def __init__(self, root_fd: int, label: str) -> None:
        self.root = root_fd
        self.label = label
        self.name_max = _name_max(root_fd)
        self._chain: list[tuple[str, int]] = []  # the open folders from root down to the last one used
        self.reached = 0  # how many folders of the last `folder` call exist

    def where(self, parts: tuple[str, ...]) -> str:
        """How messages name a path: the user's --out joined with the relative parts."""
        return os.path.join(self.label, *map(short, parts)) if parts else self.label

    def close(self) -> None:
        for _, fd in self._chain:
            os.close(fd)
        self._chain.clear()

    def __enter__(self) -> Tree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def folder(self, dirs: tuple[str, ...], create: Step | None = None) -> int | None:
        """Descriptor of the folder `dirs` below --out; None when missing and `create` is None (else made, once)."""
        common = 0
        while common < len(self._chain) and common < len(dirs) and self._chain[common][0] == dirs[common]:
            common += 1
        for _, fd in self._chain[common:]:
            os.close(fd)
        del self._chain[common:]
        for depth in range(common, len(dirs)):
            at = self._chain[-1][1] if self._chain else self.root
            name = dirs[depth]
            try:
                fd = os.open(name, DIR_FLAGS, dir_fd=at)
            except FileNotFoundError:
                if create is None:
                    self.reached = depth
                    return None
                create(f"mkdir {'/'.join(dirs[: depth + 1])}")
                try:
                    os.mkdir(name, 0o777, dir_fd=at)
                except FileExistsError:
                    pass  # made by a crashed run's recovery or by the user meanwhile; opened and checked below
                except OSError as exc:
                    raise self.problem(dirs[: depth + 1], exc) from None
                try:
                    fd = os.open(name, DIR_FLAGS, dir_fd=at)
                except OSError as exc:
                    raise self.problem(dirs[: depth + 1], exc, at) from None
            except OSError as exc:
                raise self.problem(dirs[: depth + 1], exc, at) from None
            self._chain.append((name, fd))
        self.reached = len(dirs)
        return self._chain[-1][1] if self._chain else self.root

    def problem(self, parts: tuple[str, ...], exc: OSError, at: int | None = None) -> PathProblem:
        """Why a folder on the way could not be opened, in words a user can act on."""
        where = self.where(parts)
        if exc.errno in (errno.ENOTDIR, errno.ELOOP) and at is not None:
            try:
                mode = os.stat(parts[-1], dir_fd=at, follow_symlinks=False).st_mode
            except OSError:
                mode = 0
            if stat.S_ISLNK(mode):
                return PathProblem(where, "symlink", "is a symbolic link; obsgen never writes or deletes through one")
            return PathProblem(where, "not-dir", "is a file where obsgen needs a folder; move it away")
        if exc.errno == errno.ENAMETOOLONG:
            return PathProblem(where, "too-long", "file name is longer than this filesystem allows")
        return PathProblem(where, "os", exc.strerror or str(exc))

    def prune(self, folders: set[tuple[str, ...]], step: Step) -> None:
        """Remove these folders and their parents below --out while empty (after deletes), deepest first, each once."""
        candidates = {dirs[:depth] for dirs in folders for depth in range(1, len(dirs) + 1)}
        kept: set[tuple[str, ...]] = set()
        for dirs in sorted(candidates, key=lambda d: (-len(d), d)):
            if dirs in kept:
                kept.add(dirs[:-1])  # a folder holding a kept folder is not empty either
                continue
            parent = self.folder(dirs[:-1])  # also drops `dirs` itself from the open chain
            if parent is None:
                continue
            step(f"rmdir {'/'.join(dirs)}")
            try:
                os.rmdir(dirs[-1], dir_fd=parent)
            except FileNotFoundError:
                continue
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                    raise self.problem(dirs, exc) from None
                kept.add(dirs[:-1])


def _name_max(fd: int) -> int:
    try:
        return os.fpathconf(fd, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


MISSING, SAME, DIFFERENT, FOLDER = "missing", "same", "different", "folder"


def compare(folder: int, name: str, data: bytes) -> str:
    """Whether the file `name` holds exactly `data`; a link or special file counts as different (it is replaced)."""
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=folder)
    except FileNotFoundError:
        return MISSING
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EACCES):
            # A link (ELOOP with O_NOFOLLOW), a socket, or an unreadable file: replaced by a rename, never read.
            return DIFFERENT
        raise
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            return FOLDER
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return DIFFERENT
        return SAME if _read(fd, info.st_size) == data else DIFFERENT
    finally:
        os.close(fd)


def regular_bytes(folder: int, name: str) -> bytes | None:
    """The bytes of a regular file, or None for anything else (missing, a link, a folder, a device)."""
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=folder)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        return _read(fd, info.st_size) if stat.S_ISREG(info.st_mode) else None
    finally:
        os.close(fd)


def _read(fd: int, size: int) -> bytes:
    chunks, total = [], 0
    while True:
        chunk = os.read(fd, max(size + 1 - total, 65536))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)


def write_new(folder: int, name: str, data: bytes, sync: bool = False) -> None:
    """Create `name` (it must not exist) holding `data`; `sync` flushes it to disk before returning."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=folder)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def lstat_mode(folder: int, name: str) -> int | None:
    """The file type bits of `name` without following a link, or None when it does not exist."""
    try:
        return os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None

"""Writing converted catalogs: each file replaced atomically in the output folder, no symbolic link followed, nothing
else touched (so conversions can run file by file into one folder), and a hand-written catalog never replaced."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from obsgen.errors import Problem

MARK = "# Converted by `obsgen convert`"  # a catalog starting so may be rewritten by the next conversion
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
NEW_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _read(folder: int, name: str) -> bytes | None:
    """A file's bytes, None when there is none; OSError for anything that is not a plain file (a link, a folder)."""
    try:
        fd = os.open(name, READ_FLAGS, dir_fd=folder)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def write(files: dict[str, str], out: Path, force: bool = False) -> tuple[list[str], list[str], list[Problem]]:
    """Write the catalogs, unchanged ones untouched: (written, unchanged, refusals). With a refusal nothing is written.

    A file that exists and was not written by a conversion (it lacks the header) is a hand-written catalog: it is not
    replaced unless `force`. A symbolic link where a catalog goes, or as the folder itself, is refused.
    """
    out.mkdir(parents=True, exist_ok=True)
    try:
        folder = os.open(out, DIR_FLAGS)
    except OSError as exc:
        return [], [], [Problem(str(out), None, "", f"cannot open the output folder: {exc.strerror}")]
    try:
        current: dict[str, bytes | None] = {}
        refusals = []
        for name in sorted(files):
            try:
                current[name] = _read(folder, name)
            except OSError as exc:
                refusals.append(Problem(str(out / name), None, "", f"is not a plain file ({exc.strerror}); not replaced"))
                continue
            existing = current[name]
            if existing is not None and not force and not existing.startswith(MARK.encode()):
                refusals.append(Problem(str(out / name), 1, "", "exists and was not written by obsgen convert; not replaced "
                                                              "(move it, or pass --force)"))
        if refusals:
            return [], [], refusals
        written, unchanged = [], []
        for name in sorted(files):
            data = files[name].encode("utf-8")
            if current[name] == data:
                unchanged.append(name)
                continue
            staged = f".{name}.{secrets.token_hex(4)}.tmp"
            fd = os.open(staged, NEW_FLAGS, 0o644, dir_fd=folder)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(staged, name, src_dir_fd=folder, dst_dir_fd=folder)
            written.append(name)
        if written:
            os.fsync(folder)
        return written, unchanged, []
    finally:
        os.close(folder)

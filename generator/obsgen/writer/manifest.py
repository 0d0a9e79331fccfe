"""The manifest lists the files obsgen wrote under --out, so the next run deletes the ones it no longer makes.

It is input from disk, so it is checked like a catalog: anything but a JSON object whose `files` is a list of
plain relative paths is a located error naming the manifest, and the run stops before touching anything.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass

from obsgen.writer.paths import MANIFEST, READ_FLAGS, Tree, WriterError, check_relative, regular_bytes

MAX_BYTES = 64 << 20  # about 200 times the manifest of a 1,000-service tree
ADVICE = "the manifest is damaged, so nothing was written or deleted; restore it from version control or delete it"


def manifest_text(files: list[str]) -> str:
    """The manifest for a run that generated `files`."""
    return json.dumps({"generated_by": "obsgen", "files": sorted(files)}, indent=2) + "\n"


@dataclass(frozen=True)
class Manifest:
    """The previous run's files, checked; `blame` words a problem with one entry as a line naming the manifest."""

    where: str
    text: str
    entries: tuple[tuple[int, str, tuple[str, ...]], ...]

    def blame(self, index: int, rel: object, message: str) -> WriterError:
        return WriterError(f"{self.where}{_line_of(self.text, rel)}: files[{index}]: {message}; {ADVICE}")


def read_manifest(tree: Tree) -> Manifest:
    """The manifest under --out (empty when there is none); a malformed one raises WriterError, never becomes data."""
    where = tree.where((MANIFEST,))
    try:
        fd = os.open(MANIFEST, READ_FLAGS, dir_fd=tree.root)
    except FileNotFoundError:
        return Manifest(where, "", ())
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link
            raise WriterError(f"{where}: is a symbolic link, not obsgen's manifest; {ADVICE}") from None
        raise WriterError(f"{where}: {exc.strerror}; nothing was written") from None
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(info.st_mode):
        raise WriterError(f"{where}: is not a plain file; {ADVICE}")
    if info.st_size > MAX_BYTES:
        raise WriterError(f"{where}: is {info.st_size} bytes, larger than any obsgen manifest ({MAX_BYTES}); {ADVICE}")
    data = regular_bytes(tree.root, MANIFEST) or b""
    try:
        text = data.decode("utf-8")
        doc = json.loads(text)
    except UnicodeDecodeError:
        raise WriterError(f"{where}: is not UTF-8 text; {ADVICE}") from None
    except json.JSONDecodeError as exc:
        raise WriterError(f"{where}:{exc.lineno}: is not valid JSON ({exc.msg}); {ADVICE}") from None
    if not isinstance(doc, dict) or doc.get("generated_by") != "obsgen":
        raise WriterError(f"{where}: is not an object with \"generated_by\": \"obsgen\"; {ADVICE}")
    files = doc.get("files")
    if not isinstance(files, list):
        raise WriterError(f"{where}: files: must be a list of paths, found {_kind(files)}; {ADVICE}")
    manifest = Manifest(where, text, ())
    entries = []
    for index, rel in enumerate(files):
        try:
            entries.append((index, rel, check_relative(rel, tree.name_max)))
        except ValueError as exc:
            raise manifest.blame(index, rel, str(exc)) from None
    return Manifest(where, text, tuple(entries))


def _kind(value: object) -> str:
    return {type(None): "nothing", str: "a string", dict: "an object"}.get(type(value), type(value).__name__)


def _line_of(text: str, value: object) -> str:
    """':N' for the line holding `value` in the manifest text (one entry per line, as obsgen writes it)."""
    needle = json.dumps(value)
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().rstrip(",") == needle:
            return f":{number}"
    return ""

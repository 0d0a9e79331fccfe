"""One lock per output folder: runs that write take it exclusively, `--check` shares it, so neither sees half a run."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator

from obsgen.writer.paths import LOCK, Tree, WriterError

DEFAULT_TIMEOUT = 60.0
_POLL = 0.05


@contextlib.contextmanager
def locked(tree: Tree, exclusive: bool, timeout: float) -> Iterator[None]:
    """Hold the lock on --out/.obsgen.lock, waiting at most `timeout` seconds, then fail with one line.

    The lock file stays, empty. The kernel drops the lock when its holder exits, however it exits, so a killed
    run never leaves the folder locked. --check creates the file too, unless it may not write there.
    """
    where = tree.where((LOCK,))
    fd = _open(tree, where, create=exclusive)
    if fd is None:
        # --check in a folder it may not write, where no writer ever ran (the file would exist): nothing to wait for.
        yield
        return
    try:
        deadline = time.monotonic() + max(timeout, 0.0)
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WriterError(
                        f"{where}: another obsgen run is using this folder; gave up after "
                        f"waiting {timeout:g} s (see --lock-timeout); nothing was written"
                    ) from None
                time.sleep(min(_POLL, remaining))
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _open(tree: Tree, where: str, create: bool) -> int | None:
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        return os.open(LOCK, flags | os.O_CREAT, 0o666, dir_fd=tree.root)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise WriterError(f"{where}: is a symbolic link; obsgen only locks a plain file it creates; nothing was written") from None
        if not create and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            try:
                return os.open(LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=tree.root)
            except FileNotFoundError:
                return None
            except OSError:
                pass
        raise WriterError(f"{where}: cannot open the lock file: {exc.strerror}; nothing was written") from None


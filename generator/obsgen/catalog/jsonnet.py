"""Evaluate a Jsonnet catalog in a sandbox: confined imports, bounded time and memory.

Catalogs come from other teams' repositories, and Jsonnet can read files (`importstr '/etc/passwd'` would be
copied into dashboards that `obsgen import` uploads) and can allocate without limit. So:

- every `import`, `importstr` and `importbin` goes through one callback that resolves the path (symlinks
  included) and refuses anything outside the catalogs folder and its library folder `vendor/` (where
  jsonnet-bundler installs, run `jb install` inside the catalogs folder); imports are looked up beside the
  importing file first, then in `vendor/`, as `jsonnet -J vendor` would;
- evaluation runs in a forked child with an address-space limit and a CPU-time limit (CPU time, not wall
  time, so a loaded machine gives the same verdict), plus a generous wall-clock backstop; a child that runs
  out of either is stopped and the catalog gets one located problem line.
"""

from __future__ import annotations

import json
import os
import re
import resource
import select
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from obsgen.errors import CatalogError, Problem

LIBRARY_DIR = "vendor"
TIME_LIMIT = 10  # seconds of CPU time per catalog file
WALL_FACTOR, WALL_EXTRA = 6, 30  # the wall-clock backstop: 6 x the CPU limit + 30 s
MEMORY_LIMIT = 512 * 2**20  # bytes the evaluation may add to the address space
MAX_OUTPUT = 32 * 2**20  # bytes of JSON a catalog may evaluate to
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Sandbox:
    """Where imports may come from, and how much time and memory one evaluation may use."""

    root: Path  # the catalogs folder, resolved
    libraries: tuple[Path, ...] = ()  # searched after the importing file's folder, resolved
    seconds: int = TIME_LIMIT
    memory: int = MEMORY_LIMIT
    shown: str = "the catalogs folder"  # how problems name the allowed folders

    @classmethod
    def for_catalogs(cls, directory: Path, seconds: int = TIME_LIMIT, memory: int = MEMORY_LIMIT) -> Sandbox:
        """The catalogs folder plus its vendor/ folder (jsonnet-bundler's), if there is one."""
        root = Path(os.path.realpath(directory))
        vendor = directory / LIBRARY_DIR
        libraries = (Path(os.path.realpath(vendor)),) if vendor.is_dir() else ()
        shown = f"the catalogs folder {directory}" + (f" and its library folder {vendor}" if libraries else "")
        return cls(root, libraries, seconds, memory, shown)

    def allows(self, resolved: Path) -> bool:
        return any(resolved == top or top in resolved.parents for top in (self.root, *self.libraries))

    def resolve(self, base: str, rel: str) -> tuple[str, bytes]:
        """The import callback: (resolved path, content) of an allowed file; raises with the path named otherwise."""
        if os.path.isabs(rel):
            raise RuntimeError(f"absolute imports are refused; import relative to {self.shown}")
        for folder in (base, *map(str, self.libraries)):
            candidate = os.path.join(folder, rel)
            if not os.path.lexists(candidate):
                continue
            resolved = Path(os.path.realpath(candidate))
            if not self.allows(resolved):
                raise RuntimeError(f"it resolves to {resolved}, outside {self.shown}")
            if not resolved.is_file():
                raise RuntimeError(f"{resolved} is not a file")
            # Nested imports then resolve against the real location, which is inside the sandbox.
            return str(resolved), resolved.read_bytes()
        raise RuntimeError(f"not found beside the importing file{' or in ' + LIBRARY_DIR + '/' if self.libraries else ''}")


def _address_space() -> int | None:
    """Bytes of address space this process maps now (Linux); None where /proc is not available."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _child(write_fd: int, path: Path, text: str, ext_vars: dict[str, str], sandbox: Sandbox) -> None:
    """Runs in the forked child: bound itself, evaluate, send b'O'+json or b'E'+error, and exit without cleanup."""
    code = 0
    try:
        import faulthandler

        import _jsonnet  # the jsonnet library lives only here

        faulthandler.disable()  # an allocation failure aborts the child; that is reported, not a crash to trace
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # jsonnet prints "FATAL ERROR" itself when an allocation fails
        used = _address_space()
        if used is not None:
            limit = used + sandbox.memory
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        # SIGXCPU at the soft limit ends the child (fork started its CPU clock at zero); SIGKILL at the hard one.
        resource.setrlimit(resource.RLIMIT_CPU, (sandbox.seconds, sandbox.seconds + 1))
        try:
            payload = b"O" + _jsonnet.evaluate_snippet(str(path), text, ext_vars=ext_vars, import_callback=sandbox.resolve).encode()
        except RuntimeError as exc:
            payload = b"E" + str(exc).encode()
        except MemoryError:
            payload = b"M"
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view[:_CHUNK]):]
    except BaseException:  # noqa: BLE001 - whatever happens, the child must never return into the parent's code
        code = 3
    finally:
        os._exit(code)


def _collect(read_fd: int, seconds: float) -> tuple[bytes, str | None]:
    """Read the child's answer before the deadline; (data, why it was stopped or None)."""
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"", "time"
        ready, _, _ = select.select([read_fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(read_fd, _CHUNK)
        if not chunk:
            return b"".join(chunks), None
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_OUTPUT + 1:
            return b"", "size"


def evaluate(path: Path, display: str, text: str, ext_vars: dict[str, str], sandbox: Sandbox) -> str:
    """The JSON a Jsonnet catalog evaluates to; raises CatalogError with one located line on any failure."""
    if not hasattr(os, "fork"):
        raise CatalogError([Problem(display, None, "", "jsonnet: catalogs are evaluated in a sandboxed child process, which needs os.fork (Linux, macOS)")])
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(write_fd, path, text, ext_vars, sandbox)
    os.close(write_fd)
    data, stopped, status = b"", "interrupted", 0
    try:
        data, stopped = _collect(read_fd, sandbox.seconds * WALL_FACTOR + WALL_EXTRA)
    finally:
        os.close(read_fd)
        if stopped is not None:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        raise _problem(display, f"jsonnet: evaluation used more than {sandbox.seconds} s of CPU time and was stopped; "
                                "is a loop or a list unbounded?")
    if stopped == "time":
        raise _problem(display, f"jsonnet: evaluation did not finish within {sandbox.seconds * WALL_FACTOR + WALL_EXTRA} s "
                                "and was stopped")
    if stopped == "size":
        raise _problem(display, f"jsonnet: the catalog evaluates to more than {MAX_OUTPUT} bytes of JSON")
    if data == b"M" or (not data and os.WIFSIGNALED(status)):
        raise _problem(display, f"jsonnet: evaluation needed more than {sandbox.memory // 2**20} MiB of memory and was stopped; "
                                "is a list or an object unbounded?")
    if data[:1] == b"E":
        raise _runtime_problem(path, display, data[1:].decode("utf-8", "replace"))
    if data[:1] != b"O":
        raise _problem(display, f"jsonnet: evaluation failed (child exit status {status})")
    return data[1:].decode("utf-8")


def _problem(display: str, message: str, line: int | None = None) -> CatalogError:
    return CatalogError([Problem(display, line, "", message)])


def _runtime_problem(path: Path, display: str, report: str) -> CatalogError:
    """Jsonnet's error report as one line, with the first location in this file as the problem's line."""
    report = report.strip()
    first = report.splitlines()[0] if report else "evaluation failed"
    where = re.search(re.escape(str(path)) + r":(\d+)(?::[0-9-]+)?:?", report)
    line = int(where.group(1)) if where else None
    first = first.replace(where.group(0) + " ", "") if where else first
    return _problem(display, f"jsonnet: {first}", line)


def parse(text: str) -> object:
    """json.loads without the NaN/Infinity extensions (Jsonnet never writes them; a catalog must not hold them)."""

    def refuse(name: str) -> object:
        raise ValueError(f"{name} is not a finite number")

    return json.loads(text, parse_constant=refuse)

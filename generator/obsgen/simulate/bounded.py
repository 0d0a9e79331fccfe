"""Bounded request reading for the demo server: body size, framing, JSON shape and time.

The demo listens on a port anyone on the host can reach, so a request may be hostile: a negative or absurd
Content-Length, an endless chunked body, 100k nested brackets, or a client that sends one byte at a time.
Every such request gets a 4xx with a short reason before the server spends memory or unbounded time on it.
"""

from __future__ import annotations

import io
import json
import re
import socket
import time
from email.message import Message
from typing import IO, Any

MAX_BODY = 1 << 20  # bytes; fault requests are a few hundred bytes and load test bodies are small
REQUEST_TIMEOUT_S = 30.0  # from waiting for a request line to the last byte of its body; also bounds each write
MAX_LINE = 1024  # a chunk-size line or a trailer line
MAX_TRAILERS = 32
_DIGITS = re.compile(r"[0-9]{1,18}")  # ASCII only: str.isdigit would accept '²'
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


class BadRequest(Exception):
    """A request the server answers with `status` and closes the connection after: its framing cannot be trusted."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class DeadlineReader(io.RawIOBase):
    """Socket reads sharing one deadline per request, so a client sending a byte every second is still dropped.

    A plain socket timeout restarts at every byte received; this one does not. Writes keep the socket's own
    timeout, which each read restores.
    """

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        super().__init__()
        self.sock = sock
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.received = 0  # bytes of the current request so far; 0 means the connection was merely idle

    def start(self) -> None:
        """Begin a new request: the next request line, headers and body must all arrive within the timeout."""
        self.deadline = time.monotonic() + self.timeout
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"request not complete within {self.timeout:g}s")
        self.sock.settimeout(left)
        try:
            n = self.sock.recv_into(buffer)
        finally:
            self.sock.settimeout(self.timeout)
        self.received += n
        return n


def body_length(headers: Message, limit: int = MAX_BODY) -> int | None:
    """The announced body length (0 when none), or None for a chunked body; raises BadRequest for framing we refuse."""
    encodings = headers.get_all("Transfer-Encoding") or []
    lengths = headers.get_all("Content-Length") or []
    if encodings:
        codings = [c.strip().lower() for v in encodings for c in str(v).split(",") if c.strip()]
        if lengths:
            raise BadRequest(400, "Content-Length and Transfer-Encoding together")
        if codings != ["chunked"]:
            raise BadRequest(501, f"unsupported Transfer-Encoding {', '.join(codings)[:40]!r} (only chunked)")
        return None
    values = {v.strip() for value in lengths for v in str(value).split(",")}  # "5, 5" repeats one length: allowed
    if not values:
        return 0
    if len(values) > 1:
        raise BadRequest(400, "conflicting Content-Length values")
    (value,) = values
    if not _DIGITS.fullmatch(value):
        raise BadRequest(400, f"Content-Length must be a non-negative integer, not {value[:20]!r}")
    if int(value) > limit:
        raise BadRequest(413, f"body of {int(value)} bytes is over the {limit}-byte limit")
    return int(value)


def read_body(headers: Message, rfile: IO[bytes], limit: int = MAX_BODY) -> bytes:
    """The request body, never more than `limit` bytes read into memory."""
    length = body_length(headers, limit)
    if length is None:
        return _read_chunked(rfile, limit)
    data = rfile.read(length) if length else b""
    if len(data) < length:
        raise BadRequest(400, f"body cut short: {len(data)} of {length} bytes")
    return data


def _line(rfile: IO[bytes], what: str) -> bytes:
    line = rfile.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise BadRequest(400, f"{what} line longer than {MAX_LINE} bytes")
    if not line.endswith(b"\n"):
        raise BadRequest(400, "body cut short")
    return line


def _read_chunked(rfile: IO[bytes], limit: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_text = _line(rfile, "chunk size").split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size_text):
            raise BadRequest(400, f"bad chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > limit:
            raise BadRequest(413, f"chunked body over the {limit}-byte limit")
        data = rfile.read(size)
        if len(data) < size:
            raise BadRequest(400, "body cut short")
        parts.append(data)
        if _line(rfile, "chunk end").strip():
            raise BadRequest(400, "chunk data longer than its size")
    for _ in range(MAX_TRAILERS):
        if not _line(rfile, "trailer").strip():
            return b"".join(parts)
    raise BadRequest(400, f"more than {MAX_TRAILERS} trailer lines")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """The body as JSON (None when empty); raises BadRequest(400) with a short reason for anything else."""
    if not raw:
        return None
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        raise BadRequest(400, "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and NaN/Infinity are all ValueErrors
        raise BadRequest(400, f"invalid JSON: {str(exc)[:120]}") from None

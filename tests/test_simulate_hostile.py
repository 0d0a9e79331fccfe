"""The demo server against hostile and broken clients: bounded bodies, 4xx with a reason, timeouts, no tracebacks.

Requests are written byte for byte on raw sockets (no HTTP library would send most of them) to 127.0.0.1 only.
"""

from __future__ import annotations

import io
import json
import re
import select
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from obsgen import model as m
from obsgen.catalog import load_bundle
from obsgen.simulate import DemoServer, Simulator
from obsgen.simulate.bounded import MAX_BODY, BadRequest, read_body

from conftest import BIN, ROOT, obsgen, stop_process

HUGE = 500 * 1024 * 1024  # an advertised body far over the limit


@pytest.fixture(scope="module")
def bundle() -> m.Bundle:
    return load_bundle(ROOT / "catalogs", "prod")


@pytest.fixture()
def demo(bundle: m.Bundle) -> Iterator[DemoServer]:
    server = DemoServer(Simulator(bundle, tick=0.05), "127.0.0.1", 0, request_timeout=1.0).start()
    try:
        yield server
    finally:
        server.stop()


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"closed before a full response: {data!r}")
        data += chunk
    return data


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP response: status, lower-cased headers, body. Reads nothing past it, so pipelined answers stay queued."""
    head = b""
    while (end := head.find(b"\r\n\r\n")) < 0:
        peek = sock.recv(65536, socket.MSG_PEEK)
        if not peek:
            raise ConnectionError(f"closed before a full response: {head!r}")
        found = (head + peek).find(b"\r\n\r\n")
        head += recv_exact(sock, len(peek) if found < 0 else found + 4 - len(head))
    status_line, *header_lines = head[:end].decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    body = recv_exact(sock, int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


def closed_by_server(sock: socket.socket, within: float = 2.0) -> bool:
    """True when the server closes the connection (EOF or reset) within the time."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def exchange(url: str, raw: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    """Send raw bytes, read one response, and report whether the server then closed the connection."""
    with socket.create_connection(address(url), timeout=10) as sock:
        sock.sendall(raw)
        status, headers, body = read_response(sock)
        return status, headers, body, closed_by_server(sock)


def post(path: str, body: bytes, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(body: bytes, size: int = 7) -> bytes:
    parts = [f"{len(body[i:i + size]):x}\r\n".encode() + body[i:i + size] + b"\r\n" for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


# Each case: raw request, expected status, a phrase of the reason, whether the server must close the connection.
BAD_FRAMING = {
    "non-numeric length": (post("/-/fault", b"{}", "Content-Length: abc"), 400, "non-negative integer, not 'abc'"),
    "negative length": (post("/-/fault", b"{}" * 1000, "Content-Length: -1"), 400, "non-negative integer, not '-1'"),
    "huge length": (post("/-/fault", b"", f"Content-Length: {HUGE}"), 413, f"body of {HUGE} bytes is over the"),
    "conflicting lengths": (post("/-/fault", b"{}", "Content-Length: 2", "Content-Length: 3"), 400, "conflicting"),
    "unicode digits": (post("/-/fault", b"{}", "Content-Length: ²"), 400, "non-negative integer"),
    "length and chunked": (post("/-/fault", chunked(b"{}"), "Content-Length: 2", "Transfer-Encoding: chunked"), 400,
                           "Content-Length and Transfer-Encoding together"),
    "unknown coding": (post("/-/fault", b"{}", "Transfer-Encoding: gzip"), 501, "unsupported Transfer-Encoding"),
    "huge chunk": (post("/-/fault", b"1DCD6500\r\n", "Transfer-Encoding: chunked"), 413, "chunked body over the"),
    "chunks over the limit": (post("/-/fault", chunked(b"x" * (MAX_BODY + 1), 65536), "Transfer-Encoding: chunked"), 413,
                              "chunked body over the"),
    "bad chunk size": (post("/-/fault", b"zz\r\n{}\r\n0\r\n\r\n", "Transfer-Encoding: chunked"), 400, "bad chunk size"),
    "chunk longer than its size": (post("/-/fault", b"1\r\n{}\r\n0\r\n\r\n", "Transfer-Encoding: chunked"), 400,
                                   "chunk data longer than its size"),
    "huge length on a load test path": (post("/chat/send", b"", f"Content-Length: {HUGE}"), 413, "over the"),
    "expect 100-continue": (post("/-/fault", b"", f"Content-Length: {HUGE}", "Expect: 100-continue"), 413, "over the"),
}


@pytest.mark.parametrize("case", sorted(BAD_FRAMING))
def test_bad_framing_gets_a_4xx_with_a_reason_and_the_connection_closed(demo: DemoServer, case: str) -> None:
    raw, expected, reason = BAD_FRAMING[case]
    status, headers, body, closed = exchange(demo.url, raw)
    assert status == expected and reason in json.loads(body)["error"], body
    assert headers["connection"] == "close" and closed  # the rest of the stream cannot be trusted as a request


BAD_JSON = {
    "malformed": (b'{"error_ratio":', "invalid JSON: Expecting value: line 1 column 16"),
    "100k brackets": (b"[" * 100_000, "invalid JSON: nested too deeply"),
    "NaN": (b'{"error_ratio": NaN}', "invalid JSON: NaN is not JSON"),
    "not UTF-8": (b'{"down": "\xff"}', "invalid JSON: "),
    "empty": (b"", "send a JSON object"),
}


@pytest.mark.parametrize("case", sorted(BAD_JSON))
def test_bad_json_gets_a_400_with_a_short_reason_and_keeps_the_connection(demo: DemoServer, case: str) -> None:
    body, reason = BAD_JSON[case]
    with socket.create_connection(address(demo.url), timeout=10) as sock:
        sock.sendall(post("/-/fault", body, f"Content-Length: {len(body)}"))
        status, _, answer = read_response(sock)
        assert status == 400 and json.loads(answer)["error"].startswith(reason), answer
        assert len(json.loads(answer)["error"]) < 200
        sock.sendall(b"GET /-/fault HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # the framing was fine: keep-alive goes on
        assert read_response(sock)[0] == 200


def test_chunked_bodies_within_the_limit_work_and_bodies_never_break_keep_alive(demo: DemoServer) -> None:
    fault = json.dumps({"error_ratio": 0.5}).encode()
    with socket.create_connection(address(demo.url), timeout=10) as sock:
        sock.sendall(post("/-/fault", chunked(fault), "Transfer-Encoding: chunked"))
        status, _, answer = read_response(sock)
        assert status == 200 and json.loads(answer)["faults"] == {"error_ratio": 0.5}
        # A GET with a body: the body is read and dropped, so the next request on the connection parses cleanly.
        sock.sendall(b"GET /-/fault HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello"
                     b"DELETE /-/fault HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(sock)[0] == 200
        assert read_response(sock)[0] == 200
    assert demo.sim.faults.error_ratio is None


def test_a_client_sending_a_byte_at_a_time_is_dropped_at_the_deadline(demo: DemoServer) -> None:
    request = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
    with socket.create_connection(address(demo.url), timeout=10) as sock:
        started = time.monotonic()
        for byte in request:  # each byte arrives well within the 1 s timeout; only a deadline ends this
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                break
        assert closed_by_server(sock, within=3)
        assert time.monotonic() - started < 3  # the 1 s deadline plus scheduling slack, not 100 bytes x 0.2 s


def test_stalled_bodies_and_idle_connections_are_dropped(demo: DemoServer) -> None:
    with socket.create_connection(address(demo.url), timeout=10) as stalled, \
            socket.create_connection(address(demo.url), timeout=10) as idle:
        stalled.sendall(post("/-/fault", b'{"err', "Content-Length: 20"))  # promises 20 bytes, sends 6
        started = time.monotonic()
        assert closed_by_server(stalled, within=3) and closed_by_server(idle, within=3)
        assert time.monotonic() - started < 3


class Counting(io.BytesIO):
    """A request stream that remembers how far the reader went."""

    def consumed(self) -> int:
        return self.tell()


def headers_of(**fields: str) -> Message:
    msg = Message()
    for k, v in fields.items():
        msg[k.replace("_", "-")] = v
    return msg


def test_the_reader_never_reads_past_the_limit() -> None:
    stream = Counting(b"x" * (4 * MAX_BODY))
    with pytest.raises(BadRequest) as over:
        read_body(headers_of(Content_Length=str(HUGE)), stream)
    assert over.value.status == 413 and stream.consumed() == 0
    stream = Counting(chunked(b"x" * (4 * MAX_BODY), 65536))
    with pytest.raises(BadRequest) as chunks:
        read_body(headers_of(Transfer_Encoding="chunked"), stream)
    assert chunks.value.status == 413 and stream.consumed() <= MAX_BODY + 64 * 1024  # stops at the chunk that crosses
    stream = Counting(b"abcdefgh")
    assert read_body(headers_of(Content_Length="5"), stream) == b"abcde" and stream.consumed() == 5


@pytest.fixture(scope="module")
def simulate_cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    """`obsgen simulate` as a user runs it, its stderr (the request log) in a file."""
    stderr = tmp_path_factory.mktemp("simulate") / "stderr.log"
    with stderr.open("wb") as err:
        proc = subprocess.Popen([str(BIN / "obsgen"), "simulate", "--catalogs", str(ROOT / "catalogs"), "--listen",
                                 "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline().decode() if ready else ""
        assert " at http://127.0.0.1:" in line, line or stderr.read_text()
        yield proc, line.split(" at ")[1].split()[0], stderr
    finally:
        stop_process(proc)


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def push(sock: socket.socket, total: int) -> int:
    """Send up to `total` bytes of body; returns how many the kernel took before the server shut the door."""
    chunk, sent = b"x" * (1 << 20), 0
    sock.settimeout(5)
    try:
        while sent < total:
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:  # reset, broken pipe, or a full window nobody reads: the server is not taking it
        pass
    return sent


@pytest.mark.parametrize(("framing", "expected"), [
    (f"Content-Length: {HUGE}", 413),
    ("Content-Length: -1", 400),  # read(-1) once slurped everything up to EOF: 40 MB -> 729 MB
    ("Transfer-Encoding: chunked", 413),
])
def test_peak_memory_does_not_grow_with_a_hostile_body(simulate_cli: tuple[subprocess.Popen, str, Path],
                                                       framing: str, expected: int) -> None:
    proc, url, _ = simulate_cli
    for _ in range(3):  # warm up: lazy imports and buffers of a normal request are not what we measure
        exchange(url, post("/-/fault", b"{}", "Content-Length: 2", "Connection: close"))
    before = peak_rss_kib(proc.pid)
    with socket.create_connection(address(url), timeout=10) as sock:
        sock.sendall(post("/chat/send", b"1DCD6500\r\n" if "chunked" in framing else b"", framing))
        status, _, body = read_response(sock)  # answered before a byte of the body was sent
        assert status == expected, body
        pushed = push(sock, 256 << 20)
    assert pushed < 256 << 20  # the server closed instead of reading on
    grown = peak_rss_kib(proc.pid) - before
    assert grown < 16 * 1024, f"peak RSS grew by {grown} KiB"


def test_no_traceback_reaches_stderr_and_each_bad_request_logs_one_line(
        simulate_cli: tuple[subprocess.Popen, str, Path]) -> None:
    proc, url, stderr = simulate_cli
    start = len(stderr.read_bytes().splitlines())
    bad = [raw for raw, _, _ in BAD_FRAMING.values()]
    bad += [post("/-/fault", body, f"Content-Length: {len(body)}", "Connection: close") for body, _ in BAD_JSON.values()]
    bad += [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n"]
    for raw in bad:
        with socket.create_connection(address(url), timeout=10) as sock:
            sock.sendall(raw)
            answer = b""
            while chunk := sock.recv(65536):  # some answers are HTTP/0.9-style error pages; the server then closes
                answer += chunk
            found = re.match(rb"HTTP/1\.[01] ([0-9]{3}) ", answer) or re.search(rb"Error code: ([0-9]{3})", answer)
            assert found and found.group(1).startswith((b"4", b"5")), answer[:200]
    resets = 0
    for raw in (post("/-/fault", b"{", "Content-Length: 100"), post("/-/fault", b"1", "Transfer-Encoding: chunked"),
                b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"):
        sock = socket.create_connection(address(url), timeout=10)
        sock.sendall(raw)
        time.sleep(0.1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        sock.close()
        resets += 1
    time.sleep(0.5)
    assert proc.poll() is None, "the server died"
    lines = stderr.read_bytes().decode().splitlines()[start:]
    assert "Traceback" not in "\n".join(lines)
    records: list[dict[str, Any]] = [json.loads(line) for line in lines]  # every line is one JSON log record
    assert len(records) <= len(bad) + resets, lines
    assert sum("bad request" in r["msg"] or "fault refused" in r["msg"] for r in records) >= len(bad)


@pytest.mark.parametrize(("listen", "message"), [
    ("foo", "'foo' is not HOST:PORT (for example 127.0.0.1:8000)"),
    ("127.0.0.1:99999", "the port must be a number from 0 to 65535, not '99999'"),
    (":abc", "the port must be a number from 0 to 65535, not 'abc'"),
    ("::1:8000", "write an IPv6 address in brackets"),
    ("bad host!:8000", "'bad host!' is not an IP address or host name"),
])
def test_bad_listen_addresses_are_usage_errors(listen: str, message: str) -> None:
    result = obsgen("simulate", "--catalogs", str(ROOT / "catalogs"), "--listen", listen)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_port_in_use_is_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = obsgen("simulate", "--catalogs", str(ROOT / "catalogs"), "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"]


def test_ipv6_loopback_is_served(bundle: m.Bundle) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")
    try:
        server = DemoServer(Simulator(bundle, ["divan-api"]), "::1", 0).start()
    except OSError as exc:
        pytest.skip(f"::1 cannot be bound here: {exc}")
    try:
        assert server.url.startswith("http://[::1]:")
        with socket.create_connection(("::1", server.httpd.server_address[1]), timeout=10) as sock:
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(sock)[0] == 200
    finally:
        server.stop()


def test_connections_beyond_the_cap_are_refused_not_queued(bundle: m.Bundle) -> None:
    server = DemoServer(Simulator(bundle, ["divan-api"]), "127.0.0.1", 0, request_timeout=5, max_connections=2).start()
    try:
        holders = [socket.create_connection(address(server.url), timeout=10) for _ in range(2)]
        time.sleep(0.2)  # both accepted and waiting for a request line
        with socket.create_connection(address(server.url), timeout=10) as third:
            assert closed_by_server(third, within=3)
        for sock in holders:
            sock.close()
        time.sleep(0.2)
        assert exchange(server.url, b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200
    finally:
        server.stop()


"""`obsgen import` against a fake Grafana API server on 127.0.0.1 (no Grafana server can run on these machines).

The fake implements the endpoints the importer uses, with the request and response shapes of Grafana's
HTTP API docs: GET /api/health, GET/POST /api/folders, GET /api/dashboards/uid/<uid>, POST /api/dashboards/db.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from obsgen.catalog import load_bundle
from obsgen.emit.grafana import emit
from obsgen.plan import build_plan
from obsgen.settings import Settings

from conftest import BIN, ROOT, run

TOKEN = "glsa_test_token_not_a_secret"


class FakeGrafana:
    """Grafana's legacy dashboard and folder API, in memory, with injectable failures."""

    def __init__(self) -> None:
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.failures: list[tuple[str, str, int, str, int]] = []  # method, path regex, status, message, times
        self.dribbles: list[tuple[str, str, float, int]] = []  # method, path regex, seconds per byte, times
        self.stopping = threading.Event()
        self.delay = 0.0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                with fake.lock:
                    fake.requests.append((method, self.path))
                    status, body = fake.answer(method, self.path, self.headers.get("Authorization", ""), raw)
                    interval = fake.dribble_interval(method, self.path)
                if fake.delay:
                    time.sleep(fake.delay)
                if interval:
                    return self._dribble(status, body, interval)
                self._send(status, body)

            def _dribble(self, status: int, body: Any, interval: float) -> None:
                """The whole answer, status line and headers included, one byte per interval (a slow-loris server)."""
                data = json.dumps(body).encode()
                raw = (f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                       "Connection: close\r\n\r\n").encode() + data
                for i in range(len(raw)):
                    if fake.stopping.wait(interval):
                        return
                    try:
                        self.wfile.write(raw[i:i + 1])
                    except OSError:  # the client gave up, as it should
                        return

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def fail(self, method: str, path: str, status: int, message: str, times: int = 1) -> None:
        self.failures.append((method, path, status, message, times))

    def dribble(self, method: str, path: str, interval: float, times: int = 1) -> None:
        self.dribbles.append((method, path, interval, times))

    def dribble_interval(self, method: str, path: str) -> float:
        for i, (m, pattern, interval, times) in enumerate(self.dribbles):
            if m == method and re.fullmatch(pattern, path) and times > 0:
                self.dribbles[i] = (m, pattern, interval, times - 1)
                return interval
        return 0.0

    def answer(self, method: str, path: str, auth: str, raw: bytes) -> tuple[int, Any]:
        for i, (m, pattern, status, message, times) in enumerate(self.failures):
            if m == method and re.fullmatch(pattern, path) and times > 0:
                self.failures[i] = (m, pattern, status, message, times - 1)
                return status, {"message": message}
        if auth != f"Bearer {TOKEN}":
            return 401, {"message": "Unauthorized"}
        if method == "GET" and path == "/api/health":
            return 200, {"commit": "0123abc", "database": "ok", "version": "11.3.0"}
        if method == "GET" and path.split("?")[0] == "/api/folders":
            return 200, [{"id": f["id"], "uid": uid, "title": f["title"]} for uid, f in self.folders.items()]
        if method == "POST" and path == "/api/folders":
            body = json.loads(raw)
            if body["uid"] in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            folder = {"id": len(self.folders) + 1, "uid": body["uid"], "title": body["title"]}
            self.folders[body["uid"]] = folder
            return 200, {**folder, "url": f"/dashboards/f/{body['uid']}/", "hasAcl": False, "canSave": True,
                         "canEdit": True, "canAdmin": True, "version": 1}
        match = re.fullmatch(r"/api/dashboards/uid/([A-Za-z0-9_-]+)", path)
        if method == "GET" and match:
            stored = self.dashboards.get(match.group(1))
            if stored is None:
                return 404, {"message": "Dashboard not found"}
            return 200, {"dashboard": stored["dashboard"], "meta": {
                "folderUid": stored["folderUid"], "version": stored["dashboard"]["version"], "slug": stored["slug"],
                "url": f"/d/{match.group(1)}/{stored['slug']}", "type": "db", "canSave": True}}
        if method == "POST" and path == "/api/dashboards/db":
            body = json.loads(raw)
            dash = body.get("dashboard")
            if not isinstance(dash, dict) or not dash.get("title") or not dash.get("uid"):
                return 400, {"message": "Dashboard title cannot be empty"}
            if body.get("folderUid") not in self.folders:
                return 400, {"message": "folder not found"}
            old = self.dashboards.get(dash["uid"])
            if old is not None and not body.get("overwrite"):
                return 412, {"message": "A dashboard with the same uid already exists", "status": "name-exists"}
            version = old["dashboard"]["version"] + 1 if old else 1
            ident = old["dashboard"]["id"] if old else len(self.dashboards) + 1
            slug = re.sub(r"[^a-z0-9]+", "-", dash["title"].lower()).strip("-")
            self.dashboards[dash["uid"]] = {"dashboard": {**dash, "id": ident, "version": version},
                                            "folderUid": body["folderUid"], "slug": slug}
            return 200, {"id": ident, "uid": dash["uid"], "url": f"/d/{dash['uid']}/{slug}", "status": "success",
                         "version": version, "slug": slug}
        return 404, {"message": "Not found"}

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for m, p in self.requests if m == method and re.fullmatch(pattern, p))


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    fake = FakeGrafana()
    fake.thread.start()
    try:
        yield fake
    finally:
        fake.stopping.set()
        fake.server.shutdown()
        fake.server.server_close()
        fake.thread.join(timeout=5)


@pytest.fixture(scope="session")
def dashboards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    for rel, text in emit(build_plan(load_bundle(ROOT / "catalogs")), Settings()).items():
        if rel.startswith("dashboards/"):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_text(text, encoding="utf-8")
    return out / "dashboards"


def obsgen_import(url: str, root: Path, *args: str, token: str | None = TOKEN) -> Any:
    env = {"GRAFANA_TOKEN": token} if token is not None else {"GRAFANA_TOKEN": ""}
    return run([str(BIN / "obsgen"), "import", "--grafana-url", url, "--dashboards", str(root), *args], env=env, timeout=120)


def test_first_import_creates_then_reimport_is_unchanged(grafana: FakeGrafana, dashboards: Path) -> None:
    files = sorted(dashboards.glob("*/*.json"))
    first = obsgen_import(grafana.url, dashboards)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("created       ") == len(files)
    assert f"{len(files)} dashboards: {len(files)} created" in first.stdout
    folders = {p.parent.name for p in files}
    assert {f["title"] for f in grafana.folders.values()} == folders
    for path in files:
        local = json.loads(path.read_text(encoding="utf-8"))
        stored = grafana.dashboards[local["uid"]]
        assert stored["folderUid"] == f"obsgen-{path.parent.name}"
        assert {k: v for k, v in stored["dashboard"].items() if k not in ("id", "version")} == {
            k: v for k, v in local.items() if k not in ("id", "version")}
    assert TOKEN not in first.stdout + first.stderr

    second = obsgen_import(grafana.url, dashboards)
    assert second.returncode == 0, second.stderr
    assert f"{len(files)} dashboards: {len(files)} unchanged" in second.stdout
    assert grafana.count("POST", "/api/dashboards/db") == len(files)  # nothing re-posted
    assert grafana.count("POST", "/api/folders") == len(folders)


def test_changed_dashboard_is_updated_by_uid(grafana: FakeGrafana, dashboards: Path, tmp_path: Path) -> None:
    assert obsgen_import(grafana.url, dashboards).returncode == 0
    copy = tmp_path / "dashboards"
    for path in dashboards.glob("*/*.json"):
        (copy / path.parent.name).mkdir(parents=True, exist_ok=True)
        (copy / path.parent.name / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    target = copy / "fleet" / "overview.json"
    data = json.loads(target.read_text(encoding="utf-8"))
    data["title"] = "Fleet / Overview (edited)"
    target.write_text(json.dumps(data), encoding="utf-8")
    result = obsgen_import(grafana.url, copy)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^updated\s+fleet/overview\.json\s+\(uid obsgen-fleet-overview, folder fleet\)\s+version 2$",
                     result.stdout, re.M), result.stdout
    assert grafana.dashboards["obsgen-fleet-overview"]["dashboard"]["title"] == "Fleet / Overview (edited)"
    assert "1 updated" in result.stdout and "unchanged" in result.stdout


def test_dry_run_changes_nothing(grafana: FakeGrafana, dashboards: Path) -> None:
    result = obsgen_import(grafana.url, dashboards, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would create folder fleet (uid obsgen-fleet)" in result.stdout
    assert "would create  fleet/alerts.json" in result.stdout
    assert "(dry run)" in result.stdout
    assert grafana.dashboards == {} and grafana.folders == {}
    assert grafana.count("POST", ".*") == 0


def test_server_error_fails_with_grafanas_message(grafana: FakeGrafana, dashboards: Path) -> None:
    grafana.fail("POST", "/api/dashboards/db", 500, "database is locked")
    result = obsgen_import(grafana.url, dashboards)
    assert result.returncode == 1
    assert "HTTP 500: database is locked" in result.stderr
    assert "1 failed" in result.stdout
    assert grafana.count("POST", "/api/dashboards/db") == len(list(dashboards.glob("*/*.json")))  # 500 is not retried
    assert len(grafana.dashboards) == len(list(dashboards.glob("*/*.json"))) - 1


def test_transient_503_is_retried(grafana: FakeGrafana, dashboards: Path) -> None:
    grafana.fail("GET", "/api/health", 503, "Service Unavailable", times=2)
    grafana.fail("GET", r"/api/dashboards/uid/.*", 503, "Service Unavailable", times=1)
    result = obsgen_import(grafana.url, dashboards)
    assert result.returncode == 0, result.stderr
    assert grafana.count("GET", "/api/health") == 3


def test_persistent_503_gives_up_after_the_retries(grafana: FakeGrafana, dashboards: Path) -> None:
    grafana.fail("GET", "/api/health", 503, "Grafana is restarting", times=100)
    result = obsgen_import(grafana.url, dashboards, "--retries", "2")
    assert result.returncode == 1
    assert "GET /api/health: HTTP 503: Grafana is restarting" in result.stderr
    assert grafana.count("GET", "/api/health") == 3


def test_timeout_is_reported(grafana: FakeGrafana, dashboards: Path) -> None:
    grafana.delay = 2.0
    started = time.monotonic()
    result = obsgen_import(grafana.url, dashboards, "--timeout", "0.3", "--retries", "1")
    assert result.returncode == 1
    assert "GET /api/health" in result.stderr and "imed out" in result.stderr.replace("Timed", "timed"), result.stderr
    assert time.monotonic() - started < 30


def test_bad_token_and_missing_token(grafana: FakeGrafana, dashboards: Path, tmp_path: Path) -> None:
    wrong = obsgen_import(grafana.url, dashboards, token="not-the-token")
    assert wrong.returncode == 1
    assert "Unauthorized" in wrong.stderr
    missing = obsgen_import(grafana.url, dashboards, token=None)
    assert missing.returncode == 2
    assert "GRAFANA_TOKEN" in missing.stderr
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    from_file = obsgen_import(grafana.url, dashboards, "--token-file", str(token_file), token=None)
    assert from_file.returncode == 0, from_file.stderr
    in_url = obsgen_import(grafana.url.replace("http://", "http://admin:admin@"), dashboards)
    assert in_url.returncode == 2 and "not in the URL" in in_url.stderr  # a bad flag value: a usage error


def test_unreachable_grafana_is_one_clear_line(dashboards: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = obsgen_import(f"http://127.0.0.1:{port}", dashboards, "--retries", "1", "--timeout", "2")
    assert result.returncode == 1
    assert "GET /api/health" in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_timeout_is_a_total_deadline_against_a_server_sending_a_byte_every_2s(grafana: FakeGrafana, dashboards: Path) -> None:
    # Each byte arrives well within a 5 s read timeout, so only a deadline over the whole request can end it.
    grafana.dribble("GET", "/api/health", 2.0, times=100)
    started = time.monotonic()
    result = obsgen_import(grafana.url, dashboards, "--timeout", "5", "--retries", "0")
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert "GET /api/health: timed out: no complete answer within 5s" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert grafana.count("GET", "/api/health") == 1
    assert 5 <= elapsed < 12, elapsed  # the deadline, plus the CLI's own start-up


def test_a_request_past_its_deadline_is_retried(grafana: FakeGrafana, dashboards: Path) -> None:
    grafana.dribble("GET", "/api/health", 0.5, times=1)  # only the first attempt dribbles; the retry gets a normal answer
    result = obsgen_import(grafana.url, dashboards, "--timeout", "1.5", "--retries", "2")
    assert result.returncode == 0, result.stderr
    assert grafana.count("GET", "/api/health") == 2
    assert "created" in result.stdout


def _copy(dashboards: Path, dest: Path) -> Path:
    for path in dashboards.glob("*/*.json"):
        (dest / path.parent.name).mkdir(parents=True, exist_ok=True)
        (dest / path.parent.name / path.name).write_bytes(path.read_bytes())
    return dest


def test_bad_dashboard_files_are_named_with_their_location_and_nothing_is_sent(
        grafana: FakeGrafana, dashboards: Path, tmp_path: Path) -> None:
    copy = _copy(dashboards, tmp_path / "dashboards")
    overview = copy / "fleet" / "overview.json"
    overview.write_text('{\n  "uid": "obsgen-fleet-overview",\n  "title": "x"\n  "panels": []\n}\n', encoding="utf-8")
    (copy / "fleet" / "binary.json").write_bytes(b'{"uid": "\xff"}')
    (copy / "fleet" / "deep.json").write_text("[" * 100_000, encoding="utf-8")
    (copy / "fleet" / "list.json").write_text("[]", encoding="utf-8")
    (copy / "fleet" / "escape.json").write_text('{"uid": "../../admin/users", "title": "t"}', encoding="utf-8")
    (copy / "fleet" / "nan.json").write_text('{"uid": "nan-dash", "title": "t", "x": NaN}', encoding="utf-8")
    twin = json.loads((copy / "fleet" / "alerts.json").read_text(encoding="utf-8"))
    (copy / "fleet" / "twin.json").write_text(json.dumps(twin), encoding="utf-8")
    result = obsgen_import(grafana.url, copy)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert f"{overview}:4:3: invalid JSON: Expecting ',' delimiter" in lines, result.stderr
    assert f"{copy / 'fleet' / 'binary.json'}: not UTF-8 text (byte 9)" in lines
    assert f"{copy / 'fleet' / 'deep.json'}: invalid JSON: nested too deeply" in lines
    assert f"{copy / 'fleet' / 'list.json'}: not a dashboard: the top level must be a JSON object" in lines
    assert (f"{copy / 'fleet' / 'escape.json'}: uid: must be 1 to 40 letters, digits, '-' or '_' (Grafana's rule), "
            "not '../../admin/users'") in lines
    assert f"{copy / 'fleet' / 'nan.json'}: invalid JSON: NaN is not JSON" in lines
    assert f"{copy / 'fleet' / 'twin.json'}: uid: 'obsgen-fleet-alerts' is also the uid of fleet/alerts.json; one would overwrite the other" in lines
    assert lines[-1] == f"obsgen import: 7 problems in {copy}; nothing was uploaded"
    assert len(lines) == 8 and "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert grafana.requests == []  # checked before Grafana is contacted


@pytest.mark.parametrize(("args", "message"), [
    (["--grafana-url", "ftp://127.0.0.1:3000"], "must be http(s)://host[:port][/path], not 'ftp://127.0.0.1:3000'"),
    (["--grafana-url", "127.0.0.1:3000"], "must be http(s)://host[:port][/path]"),
    (["--grafana-url", "http://127.0.0.1:99999"], "the port must be a number from 1 to 65535"),
    (["--grafana-url", "http://127.0.0.1:abc"], "the port must be a number from 1 to 65535"),
    (["--grafana-url", "http://grafana\n.example"], "characters a URL cannot carry"),
    (["--grafana-url", "http://127.0.0.1:3000/?orgId=2"], "a base URL has no query or fragment"),
    (["--timeout", "nan"], "must be more than 0 and at most 3600 seconds"),
    (["--timeout", "0"], "must be more than 0 and at most 3600 seconds"),
    (["--timeout", "soon"], "is not a number of seconds"),
    (["--token-file", "/nonexistent/token"], "does not exist"),
])
def test_bad_flag_values_are_usage_errors(args: list[str], message: str, tmp_path: Path) -> None:
    base = ["--grafana-url", "http://127.0.0.1:9"] if args[0] != "--grafana-url" else []
    result = run([str(BIN / "obsgen"), "import", *base, "--dashboards", str(tmp_path), *args],
                 env={"GRAFANA_TOKEN": TOKEN}, timeout=60)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe token", "the token is not UTF-8 text"),
    (b"glsa_abc def", "the token has spaces or characters an HTTP header cannot carry"),
    (b"glsa_abc\r\nX-Injected: 1", "the token has spaces or characters an HTTP header cannot carry"),
])
def test_a_token_an_http_header_cannot_carry_is_a_usage_error(content: bytes, message: str, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_bytes(content)
    result = run([str(BIN / "obsgen"), "import", "--grafana-url", "http://127.0.0.1:9", "--dashboards", str(tmp_path),
                  "--token-file", str(token_file)], timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"{token_file}: {message}" in result.stderr and "Traceback" not in result.stderr, result.stderr

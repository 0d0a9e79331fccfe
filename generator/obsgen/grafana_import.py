"""Upload the generated dashboards to a running Grafana through its HTTP API (`obsgen import`).

This is the only module that imports grafana_client. Folders follow the dashboards/ tree (as the
file provider's foldersFromFilesStructure does); dashboards are saved by their stable UID with
overwrite, so a re-import updates them in place. Transient failures (timeouts, 502/503/504) are
retried a bounded number of times; any other failure is reported with Grafana's own message. Each request
has a total deadline (connect and every read), and bad local files are reported together before anything is sent.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaTimeoutError

T = TypeVar("T")
TRANSIENT_STATUS = {502, 503, 504}
IGNORED_KEYS = ("id", "version")  # Grafana assigns these; they do not make a dashboard different
UID = re.compile(r"[A-Za-z0-9_-]{1,40}")


class GrafanaImportError(Exception):
    """Grafana could not be reached or refused a request; the message is Grafana's."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class DashboardFileError(GrafanaImportError):
    """Local dashboard files that cannot be imported, one located line each; nothing is sent."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _DeadlinePassed(Exception):
    """A request did not complete within its total timeout; retried like any other timeout."""


@dataclass(frozen=True)
class LocalDashboard:
    path: str  # relative to the dashboards directory
    folder: str  # the directory it sits in, which becomes its Grafana folder
    dashboard: dict[str, Any]

    @property
    def uid(self) -> str:
        return str(self.dashboard["uid"])


@dataclass(frozen=True)
class Outcome:
    path: str
    uid: str
    folder: str
    action: str  # created | updated | unchanged | failed (or "would create"/"would update" on a dry run)
    message: str = ""


def folder_uid(folder: str) -> str:
    """A stable folder UID for a dashboards/ subdirectory."""
    return f"obsgen-{folder}"[:40]


def load_dashboards(root: Path) -> list[LocalDashboard]:
    """Every dashboards/<folder>/<name>.json, in path order; raises DashboardFileError naming every bad file."""
    out, problems = [], []
    seen: dict[str, str] = {}
    for path in sorted(root.glob("*/*.json")):
        rel = str(path.relative_to(root))
        data, problem = _read_json(path)
        if problem is None:
            uid = data.get("uid") if isinstance(data, dict) else None
            if not isinstance(data, dict):
                problem = f"{path}: not a dashboard: the top level must be a JSON object"
            elif not isinstance(uid, str) or not UID.fullmatch(uid):
                # The uid goes into request paths (/api/dashboards/uid/<uid>): "../" in it would reach other endpoints.
                problem = f"{path}: uid: must be 1 to 40 letters, digits, '-' or '_' (Grafana's rule), not {uid!r}"[:300]
            elif uid in seen:
                problem = f"{path}: uid: {uid!r} is also the uid of {seen[uid]}; one would overwrite the other"
            else:
                seen[uid] = rel
                out.append(LocalDashboard(rel, path.parent.name, data))
        if problem is not None:
            problems.append(problem)
    if problems:
        raise DashboardFileError(problems)
    if not out:
        raise GrafanaImportError(f"{root}: no dashboards found (expected <folder>/<name>.json)")
    return out


def _read_json(path: Path) -> tuple[Any, str | None]:
    """The file's JSON value, or a problem line with its location: a hand-edited file is a user's slip, not a crash."""
    try:
        return json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant), None
    except UnicodeDecodeError as exc:
        return None, f"{path}: not UTF-8 text (byte {exc.start})"
    except json.JSONDecodeError as exc:
        return None, f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
    except RecursionError:
        return None, f"{path}: invalid JSON: nested too deeply"
    except ValueError as exc:  # NaN or Infinity, which Grafana's JSON parser refuses
        return None, f"{path}: invalid JSON: {exc}"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def grafana_message(exc: GrafanaException) -> str:
    """Grafana's own error text: the `message` of its JSON error body when there is one."""
    body = exc.response
    if isinstance(body, dict) and body.get("message"):
        return f"HTTP {exc.status_code}: {body['message']}"
    return exc.message or str(exc)


class Importer:
    """One Grafana, one run: health check, folders, then dashboards."""

    def __init__(self, url: str, token: str, timeout: float = 10.0, retries: int = 3,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise GrafanaImportError(f"--grafana-url must be http(s)://host[:port][/path], not {url!r}")
        if parsed.username or parsed.password:
            raise GrafanaImportError("put credentials in GRAFANA_TOKEN or --token-file, not in the URL")
        # grafana_client joins the path prefix and "api" without a slash, so the prefix must end with one.
        self.base = url.rstrip("/") + ("/" if parsed.path.strip("/") else "")
        self.token = token
        self.timeout = timeout
        self.api = self._connect()
        self.retries = max(0, retries)
        self.sleep = sleep
        self.attempts = 0  # requests sent, retries included (tests read it)

    def _connect(self) -> GrafanaApi:
        # niquests gets the timeout too: it bounds the connect and each read; _bounded bounds the whole request.
        return GrafanaApi.from_url(self.base, credential=self.token, timeout=self.timeout)

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one API call; retry transient failures with exponential backoff, bounded in count."""
        for attempt in range(self.retries + 1):
            self.attempts += 1
            try:
                return self._bounded(fn)
            except GrafanaException as exc:
                # status 0: the connection itself failed (refused, reset), which a restart of Grafana also causes.
                transient = isinstance(exc, GrafanaTimeoutError) or exc.status_code in TRANSIENT_STATUS or exc.status_code == 0
                if isinstance(exc, GrafanaClientError) or not transient or attempt == self.retries:
                    raise GrafanaImportError(f"{what}: {grafana_message(exc)}", exc.status_code or 0) from None
            except _DeadlinePassed:
                if attempt == self.retries:
                    raise GrafanaImportError(f"{what}: timed out: no complete answer within {self.timeout:g}s") from None
            except OSError as exc:  # the HTTP library's connection errors (refused, reset, DNS) are OSErrors
                if attempt == self.retries:
                    raise GrafanaImportError(f"{what}: cannot connect to Grafana: {exc}") from None
            self.sleep(min(0.5 * 2**attempt, 4.0))
        raise AssertionError("unreachable")

    def _bounded(self, fn: Callable[[], T]) -> T:
        """fn() within the timeout in total, as --help promises.

        niquests' read timeout restarts at every byte, so a server sending one byte per second would hold a request
        forever. The request runs in a worker thread; at the deadline its session is closed, which aborts the
        connection in flight, and replaced, so the abandoned worker shares nothing with the next request.
        """
        outcome: list[tuple[bool, Any]] = []
        done = threading.Event()

        def work() -> None:
            try:
                outcome.append((True, fn()))
            except BaseException as exc:  # noqa: B036 - handed to the caller's thread, which re-raises it
                outcome.append((False, exc))
            finally:
                done.set()

        threading.Thread(target=work, name="obsgen-import-request", daemon=True).start()
        if not done.wait(self.timeout):
            stale, self.api = self.api, self._connect()
            stale.client.s.close()
            raise _DeadlinePassed
        ok, value = outcome[0]
        if not ok:
            raise value
        return value

    def health(self) -> dict[str, Any]:
        """GET /api/health: fails early, with Grafana's message, when Grafana is not usable."""
        result = self.call("GET /api/health", lambda: self.api.client.GET("/health"))
        return result if isinstance(result, dict) else {}

    def existing(self, uid: str) -> dict[str, Any] | None:
        """The stored dashboard and its meta, or None when Grafana has no dashboard with this UID."""
        try:
            return self.call(f"GET /api/dashboards/uid/{uid}", lambda: self.api.dashboard.get_dashboard(uid))
        except GrafanaImportError as exc:
            if exc.status == 404:
                return None
            raise

    def run(self, dashboards: list[LocalDashboard], dry_run: bool = False) -> tuple[list[str], list[Outcome]]:
        """Folder actions and one outcome per dashboard; never raises for a single dashboard's failure."""
        self.health()
        folders = {f["uid"]: f for f in self.call("GET /api/folders", lambda: self.api.folder.get_all_folders())}
        folder_lines = []
        for name in sorted({d.folder for d in dashboards}):
            uid = folder_uid(name)
            if uid in folders:
                continue
            if dry_run:
                folder_lines.append(f"would create folder {name} (uid {uid})")
            else:
                self.call(f"POST /api/folders {name}", lambda n=name, u=uid: self.api.folder.create_folder(n, uid=u))
                folder_lines.append(f"created folder {name} (uid {uid})")
        outcomes = []
        for d in dashboards:
            try:
                outcomes.append(self._one(d, dry_run))
            except GrafanaImportError as exc:
                outcomes.append(Outcome(d.path, d.uid, d.folder, "failed", str(exc)))
        return folder_lines, outcomes

    def _one(self, d: LocalDashboard, dry_run: bool) -> Outcome:
        fuid = folder_uid(d.folder)
        current = self.existing(d.uid)
        if current is not None:
            same = _comparable(current.get("dashboard", {})) == _comparable(d.dashboard)
            if same and current.get("meta", {}).get("folderUid") == fuid:
                return Outcome(d.path, d.uid, d.folder, "unchanged")
        action = "created" if current is None else "updated"
        if dry_run:
            return Outcome(d.path, d.uid, d.folder, f"would {action[:-1]}")
        body = {"dashboard": {**d.dashboard, "id": None}, "folderUid": fuid, "overwrite": True,
                "message": f"obsgen import of {d.path}"}
        result = self.call(f"POST /api/dashboards/db {d.uid}", lambda: self.api.dashboard.update_dashboard(body))
        if not isinstance(result, dict) or result.get("status") != "success":
            raise GrafanaImportError(f"POST /api/dashboards/db {d.uid}: unexpected answer {result!r}")
        return Outcome(d.path, d.uid, d.folder, action, f"version {result.get('version')}")


def _comparable(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dashboard.items() if k not in IGNORED_KEYS}


def import_dashboards(url: str, token: str, root: Path, dry_run: bool = False, timeout: float = 10.0,
                      retries: int = 3) -> tuple[list[str], list[Outcome]]:
    """Import every dashboard under root; see Importer.run."""
    return Importer(url, token, timeout=timeout, retries=retries).run(load_dashboards(root), dry_run=dry_run)

"""Upload the generated dashboards to a running Grafana through its HTTP API (`obsgen import`).

This is the only module that imports grafana_client. Folders follow the dashboards/ tree (as the
file provider's foldersFromFilesStructure does); dashboards are saved by their stable UID with
overwrite, so a re-import updates them in place. Transient failures (timeouts, 502/503/504) are
retried a bounded number of times; any other failure is reported with Grafana's own message.
"""

from __future__ import annotations

import json
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


class GrafanaImportError(Exception):
    """Grafana could not be reached or refused a request; the message is Grafana's."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


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
    """Every dashboards/<folder>/<name>.json, in path order."""
    out = []
    for path in sorted(root.glob("*/*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not data.get("uid"):
            raise GrafanaImportError(f"{path}: not a dashboard with a uid")
        out.append(LocalDashboard(str(path.relative_to(root)), path.parent.name, data))
    if not out:
        raise GrafanaImportError(f"{root}: no dashboards found (expected <folder>/<name>.json)")
    return out


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
        base = url.rstrip("/") + ("/" if parsed.path.strip("/") else "")
        self.api = GrafanaApi.from_url(base, credential=token, timeout=timeout)
        self.retries = max(0, retries)
        self.sleep = sleep
        self.attempts = 0  # requests sent, retries included (tests read it)

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one API call; retry transient failures with exponential backoff, bounded in count."""
        for attempt in range(self.retries + 1):
            self.attempts += 1
            try:
                return fn()
            except GrafanaException as exc:
                # status 0: the connection itself failed (refused, reset), which a restart of Grafana also causes.
                transient = isinstance(exc, GrafanaTimeoutError) or exc.status_code in TRANSIENT_STATUS or exc.status_code == 0
                if isinstance(exc, GrafanaClientError) or not transient or attempt == self.retries:
                    raise GrafanaImportError(f"{what}: {grafana_message(exc)}", exc.status_code or 0) from None
            except OSError as exc:  # the HTTP library's connection errors (refused, reset, DNS) are OSErrors
                if attempt == self.retries:
                    raise GrafanaImportError(f"{what}: cannot connect to Grafana: {exc}") from None
            self.sleep(min(0.5 * 2**attempt, 4.0))
        raise AssertionError("unreachable")

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
        folders = {f["uid"]: f for f in self.call("GET /api/folders", self.api.folder.get_all_folders)}
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

"""Cortex's ruler API as the validator of ruler namespaces, and the client and process helpers around it.

`obsgen check` (cortex-ruler) starts Cortex from its local binary as one process on 127.0.0.1 with a filesystem
ruler store, posts every group of deploy/cortex/ and deploy/mimir/ to `POST /api/v1/rules/{namespace}` (one
tenant per target), reads them back, and stops it: the ruler refuses a bad expression, duration or template with
400 and its parse error. The end-to-end test drives a distributed Cortex through the same RulerClient.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

READY_TIMEOUT = 60.0
HTTP_TIMEOUT = 10.0


class CortexError(RuntimeError):
    """Cortex did not start, or its API answered something unexpected."""


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of the API: status and body text."""

    status: int
    body: str


@dataclass(frozen=True)
class RulerClient:
    """The ruler's configuration API for one tenant (X-Scope-OrgID; Cortex ignores it when auth is off)."""

    url: str
    tenant: str = "fake"

    def _call(self, method: str, path: str, body: bytes | None = None) -> Answer:
        headers = {"X-Scope-OrgID": self.tenant, "Content-Type": "application/yaml"}
        req = urllib.request.Request(self.url.rstrip("/") + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:  # noqa: S310 - a local Cortex we started
                return Answer(resp.status, resp.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.read().decode("utf-8", "replace"))

    def set_group(self, namespace: str, group: dict[str, Any]) -> Answer:
        """POST /api/v1/rules/{namespace}: create or replace one rule group (202 when accepted)."""
        text = yaml.safe_dump(group, sort_keys=False, allow_unicode=True)
        return self._call("POST", f"/api/v1/rules/{urllib.parse.quote(namespace, safe='')}", text.encode("utf-8"))

    def groups(self) -> dict[str, list[dict[str, Any]]]:
        """GET /api/v1/rules: every namespace's groups as the ruler stored them (404 means none)."""
        answer = self._call("GET", "/api/v1/rules")
        if answer.status == 404:
            return {}
        if answer.status != 200:
            raise CortexError(f"GET /api/v1/rules answered {answer.status}: {answer.body[:300]}")
        return yaml.safe_load(answer.body) or {}

    def delete_namespace(self, namespace: str) -> Answer:
        """DELETE /api/v1/rules/{namespace}."""
        return self._call("DELETE", f"/api/v1/rules/{urllib.parse.quote(namespace, safe='')}")


def ready(url: str) -> bool:
    """Whether a Cortex component answers `ready` on /ready."""
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=2) as resp:  # noqa: S310 - local
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def single_process_config(work: Path, http_port: int, grpc_port: int) -> dict[str, Any]:
    """Cortex as one process (-target=all) on 127.0.0.1: in-memory rings, filesystem blocks and ruler store.

    The ruler store is `filesystem`, not `local`: the local backend refuses the API's writes.
    """
    ring = {"kvstore": {"store": "inmemory"}, "instance_addr": "127.0.0.1"}
    return {
        "target": "all",
        "auth_enabled": True,  # a tenant per target, so cortex and mimir namespaces of the same name stay apart
        "server": {"http_listen_address": "127.0.0.1", "http_listen_port": http_port, "grpc_listen_address": "127.0.0.1",
                   "grpc_listen_port": grpc_port, "log_level": "warn"},
        "distributor": {"ring": ring},
        "ingester": {"lifecycler": {"address": "127.0.0.1", "min_ready_duration": "0s", "final_sleep": "0s", "num_tokens": 8,
                                    "ring": {"kvstore": {"store": "inmemory"}, "replication_factor": 1}}},
        "blocks_storage": {"backend": "filesystem", "filesystem": {"dir": str(work / "blocks")},
                           "tsdb": {"dir": str(work / "tsdb")}, "bucket_store": {"sync_dir": str(work / "tsdb-sync")}},
        "compactor": {"data_dir": str(work / "compactor"), "sharding_ring": ring},
        "store_gateway": {"sharding_ring": ring},
        "ruler": {"enable_api": True, "rule_path": str(work / "rule-path"), "ring": ring},
        "ruler_storage": {"backend": "filesystem", "filesystem": {"dir": str(work / "rules")}},
        # No gossip: its default listener is 0.0.0.0:9094, one fixed port for every Cortex on the machine.
        "alertmanager": {"external_url": "http://127.0.0.1/alertmanager", "data_dir": str(work / "alertmanager"),
                         "cluster": {"listen_address": ""}},
        "alertmanager_storage": {"backend": "filesystem", "filesystem": {"dir": str(work / "alertmanager-configs")}},
    }


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process we started and reap it; kill it if it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float = READY_TIMEOUT) -> None:
    """Wait until the process answers ready; CortexError with its log's tail if it exits or never does."""
    deadline = time.monotonic() + timeout
    while not ready(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-8:]) if log.exists() else ""
            what = f"exited with {proc.returncode}" if proc.poll() is not None else f"not ready after {timeout:.0f}s"
            raise CortexError(f"Cortex at {url} {what}: {tail}")
        time.sleep(0.2)


@contextlib.contextmanager
def single_process(command: Sequence[str], work: Path) -> Iterator[str]:
    """A one-process Cortex on 127.0.0.1 for the duration of the block; yields its URL. Always stopped."""
    work.mkdir(parents=True, exist_ok=True)
    http_port, grpc_port = free_port(), free_port()
    config = work / "cortex.yaml"
    config.write_text(yaml.safe_dump(single_process_config(work, http_port, grpc_port), sort_keys=False), encoding="utf-8")
    log = work / "cortex.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([*command, f"-config.file={config}"], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=work)
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_ready(proc, url, log)
        yield url
    finally:
        stop(proc)

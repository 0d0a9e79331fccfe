"""Shared by the writer tests: tiny catalogs, a snapshot of a whole tree, and generate runs into a folder."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from obsgen import pipeline
from obsgen.settings import Settings

from conftest import BIN, run

SERVICE = """\
service: {name: NAME, team: core, namespace: NAME, targets: [{job: NAME, addresses: ["NAME:80"]}]}
metrics:
  - {name: NAME_queue_depth, type: gauge, help: Queue depth., unit: items}
alerts:
  - {name: TITLEQueueDeep, template: backlog, metric: NAME_queue_depth, severity: warning, threshold: LIMIT, for: 5m,
     summary: The queue is deep., description: "{{ $value | humanize }} items wait."}
"""


def catalogs(folder: Path, services: dict[str, int]) -> Path:
    """A catalogs folder with one small service per name (a gauge and a backlog alert at the given threshold)."""
    folder.mkdir(parents=True)
    for name, limit in services.items():
        text = SERVICE.replace("NAME", name).replace("TITLE", name.title()).replace("LIMIT", str(limit))
        (folder / f"{name}.yaml").write_text(text)
    return folder


def emitted(cats: Path) -> dict[str, str]:
    """What `obsgen generate` would write for these catalogs, computed in this process as the CLI does.

    `generate` runs beside the catalogs, where there is no obsgen.yaml, so the CLI uses the default project too.
    """
    return pipeline.generate(cats, "prod", Settings())


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under root, links not followed: files by hash, folders and links by kind (the lock file left out)."""
    seen: dict[str, str] = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(top, name)
            rel = str(path.relative_to(root))
            if rel == ".obsgen.lock":
                continue
            if path.is_symlink():
                seen[rel] = f"link -> {os.readlink(path)}"
            elif path.is_dir():
                seen[rel] = "folder"
            else:
                seen[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


def generate(cats: Path, out: Path, *extra: str, env: dict[str, str] | None = None):
    """Run the installed `obsgen generate` as a user would."""
    return run([str(BIN / "obsgen"), "generate", "--catalogs", str(cats), "--out", str(out), *extra], cwd=cats.parent, env=env)


def generated_copy(cats: Path, base: Path | None, into: Path) -> Path:
    """`into` holding `base` (or nothing) after an uninterrupted `obsgen generate` of `cats`: a reference tree."""
    if base is not None:
        shutil.copytree(base, into, symlinks=True)
    result = generate(cats, into)
    assert result.returncode == 0, result.stderr
    return into


def one_error_line(result) -> str:
    """The single line a failed run printed: non-zero exit, no traceback, no internal error."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return lines[0]


def scenario(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Old catalogs (api, web), new catalogs (api changed, web gone, db added), and `out` generated from the old."""
    old = catalogs(tmp_path / "old", {"api": 100, "web": 100})
    new = catalogs(tmp_path / "new", {"api": 200, "db": 100})
    out = generated_copy(old, None, tmp_path / "out")
    return old, new, out

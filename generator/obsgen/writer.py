"""Write generated files deterministically and safely.

Everything is rendered in memory first, then staged in a temporary directory beside the
output, then moved into place file by file with os.replace. A run that fails before the
move leaves the previous output untouched. A manifest of generated files lets the next run
delete files of removed services without touching anything a user put beside them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

MANIFEST = ".obsgen-files.json"


@dataclass(frozen=True)
class Drift:
    changed: tuple[str, ...]
    added: tuple[str, ...]
    stale: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.changed or self.added or self.stale)

    def lines(self) -> list[str]:
        return (
            [f"changed: {p}" for p in self.changed]
            + [f"missing: {p}" for p in self.added]
            + [f"stale:   {p}" for p in self.stale]
        )


def _previous(out: Path) -> list[str]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return [p for p in data.get("files", []) if isinstance(p, str)]
    except (OSError, ValueError):
        return []


def _safe(rel: str) -> str:
    path = Path(rel)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"refusing to write outside the output directory: {rel}")
    return rel


def _manifest_text(files: dict[str, str]) -> str:
    return json.dumps({"generated_by": "obsgen", "files": sorted(files)}, indent=2) + "\n"


def diff(files: dict[str, str], out: Path) -> Drift:
    """What writing would change, without writing."""
    changed, added = [], []
    for rel in sorted(files):
        target = out / _safe(rel)
        if not target.exists():
            added.append(rel)
        elif target.read_bytes() != files[rel].encode("utf-8"):
            changed.append(rel)
    stale = sorted(p for p in _previous(out) if p not in files and (out / p).exists())
    manifest = out / MANIFEST
    if not manifest.exists():
        added.append(MANIFEST)
    elif manifest.read_text(encoding="utf-8") != _manifest_text(files):
        changed.append(MANIFEST)
    return Drift(tuple(changed), tuple(added), tuple(stale))


def write(files: dict[str, str], out: Path) -> Drift:
    """Stage, then move every file into place; delete files this tool wrote before and no longer makes."""
    drift = diff(files, out)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".obsgen-staging-", dir=out))
    try:
        all_files = {**files, MANIFEST: _manifest_text(files)}
        for rel, text in all_files.items():
            dest = staging / _safe(rel)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(text.encode("utf-8"))
        for rel in sorted(files) + [MANIFEST]:
            target = out / rel
            if target.exists() and target.read_bytes() == all_files[rel].encode("utf-8"):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
        for rel in drift.stale:
            (out / rel).unlink(missing_ok=True)
            parent = (out / rel).parent
            while parent != out and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return drift

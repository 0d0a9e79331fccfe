"""Where tools/promrule-check's binary is: built by scripts/build-go-tools.sh, cached by a hash of its sources.

The program is its sources, so the cache key is a hash of them (`python -m obsgen.check.promrule --key` is what
the build script names the binary by). Installed from a wheel, without the sources, the newest cached build is
taken, else `promrule-check` on PATH.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

TOOL = "promrule-check"
SOURCES = Path(__file__).resolve().parents[3] / "tools" / TOOL  # present in a checkout of the repository
SUFFIXES = (".go", ".mod", ".sum")


def source_files(root: Path = SOURCES) -> list[Path]:
    """The files the binary is built from (Go sources, go.mod, go.sum), in a stable order."""
    if not root.is_dir():
        return []
    return sorted((p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES), key=lambda p: p.relative_to(root).as_posix())


def key(root: Path = SOURCES) -> str | None:
    """A short hash of the sources' paths and contents; None without the sources."""
    files = source_files(root)
    if not files:
        return None
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:10]


def cached(cache: Path) -> Path | None:
    """The cached build of these sources, or (without sources) the newest cached build; None when there is none."""
    k = key()
    if k is not None:
        return cache / f"{TOOL}-{k}"
    builds = [p for p in cache.glob(f"{TOOL}-*") if p.is_file() and not p.name.endswith((".error", ".log"))]
    return max(builds, key=lambda p: p.stat().st_mtime) if builds else None


def main() -> None:
    """Print the cache key (for scripts/build-go-tools.sh)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--key", action="store_true", help="print the hash of tools/promrule-check's sources")
    parser.parse_args()
    k = key()
    if k is None:
        raise SystemExit(f"{SOURCES} not found: build promrule-check from a checkout of obsgen's repository")
    print(k)


if __name__ == "__main__":
    main()

"""The Node.js checks (Grafana's schema types with tsc, the LogQL grammar): installed on demand, pinned by a lock.

The package ships node/ (package.json, package-lock.json and the scripts). `npm ci --ignore-scripts` installs the
locked packages once into $XDG_CACHE_HOME/obsgen/node-<hash of the lock> (default ~/.cache/obsgen); a changed
lock gets a new directory, an interrupted install never becomes one (it is built aside and renamed into place).
The scripts are refreshed there on every use, since ESM resolves packages from the script's own directory.
`python -m obsgen.check.node` installs and prints the directory (scripts/install-test-deps.sh runs it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from obsgen.check.tools import parse_version

PACKAGE = Path(__file__).resolve().parent / "node"
MANIFESTS = ("package.json", "package-lock.json")
SCRIPTS = ("check.mjs", "logql.mjs", "grafana-types.ts")
COMPLETE = ".obsgen-complete"
INSTALL_TIMEOUT = 900  # seconds for `npm ci` (typescript and @grafana/schema: about 40 MB)


class NodeUnavailable(Exception):
    """Node.js, npm or the locked packages are not available; the message says which and why."""


@dataclass(frozen=True)
class NodeEnv:
    """An installed copy of the checks: its directory, the node binary and the versions it pins."""

    dir: Path
    node: str
    node_version: str
    packages: dict[str, str]

    def script(self, name: str) -> Path:
        """A shipped script's path beside the installed packages."""
        return self.dir / name

    def describe(self, *packages: str) -> str:
        """'@grafana/schema 13.2.3, typescript 5.9.3' for the table's tool column."""
        return ", ".join(f"{p} {self.packages.get(p, '?')}" for p in packages)


def lock_hash() -> str:
    """A short hash of the manifests: the cache directory's name, so a changed lock installs afresh."""
    digest = hashlib.sha256()
    for name in MANIFESTS:
        digest.update((PACKAGE / name).read_bytes())
    return digest.hexdigest()[:16]


def cache_root() -> Path:
    """$XDG_CACHE_HOME/obsgen, else ~/.cache/obsgen."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "obsgen"


def install_dir() -> Path:
    """Where the packages of this lock are (or will be) installed."""
    return cache_root() / f"node-{lock_hash()}"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise NodeUnavailable("node is not on PATH (Node.js runs Grafana's schema type check and the LogQL grammar)")
    return node


def _install(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise NodeUnavailable(f"npm is not on PATH, so the locked packages cannot be installed into {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        for name in MANIFESTS:
            shutil.copyfile(PACKAGE / name, work / name)
        try:
            proc = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                                  cwd=work, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired as exc:
            raise NodeUnavailable(f"npm ci timed out after {INSTALL_TIMEOUT}s") from exc
        if proc.returncode != 0:
            tail = " ".join((proc.stderr or proc.stdout).split())[-400:]
            raise NodeUnavailable(f"npm ci failed (exit {proc.returncode}): {tail}")
        (work / "node_modules" / COMPLETE).write_text(lock_hash() + "\n", encoding="utf-8")
        if target.exists() and not (target / "node_modules" / COMPLETE).is_file():
            shutil.rmtree(target, ignore_errors=True)  # a half-made directory from an older obsgen
        try:
            work.rename(target)
        except OSError:
            if not (target / "node_modules" / COMPLETE).is_file():
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _sync_scripts(target: Path) -> None:
    for name in SCRIPTS:
        data = (PACKAGE / name).read_bytes()
        dest = target / name
        if not dest.is_file() or dest.read_bytes() != data:
            tmp = target / f".{name}.{os.getpid()}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, dest)


def ensure(install: bool = True) -> NodeEnv:
    """The installed checks, installing the locked packages first when needed (and allowed)."""
    node = _node()
    target = install_dir()
    if not (target / "node_modules" / COMPLETE).is_file():
        if not install:
            raise NodeUnavailable(f"the locked packages are not installed in {target} (python -m obsgen.check.node)")
        _install(target)
    _sync_scripts(target)
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NodeUnavailable(f"{node} --version failed: {exc}") from exc
    packages = json.loads((PACKAGE / "package.json").read_text(encoding="utf-8")).get("devDependencies", {})
    return NodeEnv(target, node, parse_version(version), dict(packages))


def run_script(env: NodeEnv, name: str, args: list[str], stdin: str | None = None,
               timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Run one of the shipped scripts with the installed packages beside it."""
    try:
        return subprocess.run([env.node, str(env.script(name)), *args], input=stdin, capture_output=True, text=True,
                              cwd=env.dir, timeout=timeout, check=False,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise NodeUnavailable(f"{name} timed out after {timeout}s") from exc


def main() -> int:
    """Install the locked packages (if needed) and print where: what scripts/install-test-deps.sh runs."""
    try:
        env = ensure()
    except NodeUnavailable as exc:
        print(f"obsgen.check.node: {exc}", file=sys.stderr)
        return 1
    print(env.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run a validator one way: in its pinned image when an engine answers, else its local binary, else not at all.

Files are given as {container path: host path} and mounted read-only. Locally, the same layout is mirrored under
a temporary root (container paths rewritten in the arguments and inside the copied text files), so a config that
names /etc/prometheus/rules/*.yaml finds its rules on both paths, and messages name the container paths.
Which path: mode auto (default; OBSGEN_RUNNER may set it), container or local.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from obsgen.check.containers import Engine, EngineError, connect
from obsgen.check.tools import TOOLS, image_env_var, image_for, local_command, parse_version

TIMEOUT = 300  # seconds for one local run; each is an offline parse of a few files
MODES = ("auto", "container", "local")
MARK = "@@obsgen-run-end@@"
# What a local run inherits: enough to start a binary, nothing that could change a verdict.
BASE_ENV = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "SYSTEMROOT")


@dataclass(frozen=True)
class Result:
    """One run: exit code, stdout and stderr apart, and which path ran it ("container" or "local")."""

    returncode: int
    stdout: str
    stderr: str
    path: str
    runner: str  # the image reference, or the local command
    reason: str = ""  # why this path (e.g. "no engine: ...")

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()


@dataclass(frozen=True)
class Resolution:
    """How a tool runs in this session: path "container", "local" or "absent", what runs it, and why."""

    tool: str
    path: str
    runner: str
    reason: str
    command: tuple[str, ...] = ()

    def describe(self) -> str:
        """The PATH cell: 'container <image>', 'local <binary>', or '-'."""
        return f"{self.path} {self.runner}" if self.path != "absent" else "-"


class RunnerError(RuntimeError):
    """A run could not happen as asked (unknown tool, bad mount, the engine failing mid-run)."""


class ToolUnavailable(RunnerError):
    """Neither an image nor a local binary of the tool is available; the message says what was tried."""


class Runner:
    """Resolves each tool once (container, local or absent) and runs it; holds one engine connection."""

    def __init__(self, mode: str | None = None, engine: Engine | None = None, reason: str = "",
                 binaries: Mapping[str, Sequence[str]] | None = None, collector_config: Path | None = None) -> None:
        self.mode = mode or os.environ.get("OBSGEN_RUNNER") or "auto"
        if self.mode not in MODES:
            raise RunnerError(f"the runner mode must be auto, container or local, not {self.mode!r}")
        self.engine, self.reason = engine, reason
        if self.mode != "local" and engine is None:
            self.engine, self.reason = connect()
        elif self.mode == "local":
            self.reason = reason or "local mode"
        self.binaries = {tool: tuple(cmd) for tool, cmd in (binaries or {}).items()}
        self.collector_config = collector_config
        self._resolved: dict[str, Resolution] = {}
        self._versions: dict[str, str] = {}

    @property
    def uses_containers(self) -> bool:
        return self.engine is not None and self.mode != "local"

    def close(self) -> None:
        """Close the engine connection."""
        if self.engine is not None:
            self.engine.close()

    def resolve(self, tool: str) -> Resolution:
        """How the tool runs here: its image if the engine has it, else the local binary, else absent (with why)."""
        if tool not in TOOLS:
            raise RunnerError(f"unknown tool {tool!r}; known: {', '.join(sorted(TOOLS))}")
        if tool not in self._resolved:
            self._resolved[tool] = self._resolve(tool)
        return self._resolved[tool]

    def _resolve(self, tool: str) -> Resolution:
        spec = TOOLS[tool]
        if tool in self.binaries:
            cmd = self.binaries[tool]
            return Resolution(tool, "local", " ".join(cmd), "binary given explicitly", cmd)
        why = spec.local_only
        if spec.service is not None:
            if self.mode == "local":
                why = self.reason
            elif self.engine is None:
                why = self.reason
            else:
                ref = image_for(tool)
                why = self.engine.image(ref)
                if not why:
                    return Resolution(tool, "container", ref, self.reason)
                why += f" (set {image_env_var(spec.service)} to use another image)"
            if self.mode == "container":
                return Resolution(tool, "absent", "", why)
        cmd, looked = local_command(tool, self.collector_config)
        if cmd:
            return Resolution(tool, "local", " ".join(cmd), why, tuple(cmd))
        return Resolution(tool, "absent", "", f"{why}; no local binary ({', '.join(looked)})" if why else
                          f"no local binary ({', '.join(looked)})")

    def version(self, tool: str) -> str:
        """The tool's own version (asked once per session), or '?' when it does not say."""
        if tool not in self._versions:
            result = self.run(tool, TOOLS[tool].version_args)
            self._versions[tool] = parse_version(result.output) if result.ok else "?"
        return self._versions[tool]

    def run(self, tool: str, args: Sequence[str], files: Mapping[str, Path] | None = None,
            env: Mapping[str, str] | None = None) -> Result:
        """Run `tool args` with host files/directories mounted read-only at the given container paths."""
        return self.run_many(tool, [args], files, env)[0]

    def run_many(self, tool: str, runs: Sequence[Sequence[str]], files: Mapping[str, Path] | None = None,
                 env: Mapping[str, str] | None = None) -> list[Result]:
        """Several runs of one tool over the same files: one container for all where the image has a shell."""
        how = self.resolve(tool)
        if how.path == "absent":
            raise ToolUnavailable(f"{tool}: {how.reason}")
        mounts = self._mounts(files or {})
        if how.path == "local":
            return self._run_local(how, runs, mounts, env)
        if TOOLS[tool].shell and len(runs) > 1:
            return self._run_batch(how, runs, mounts, env)
        return [self._run_container(how, TOOLS[tool].entrypoint, args, mounts, env) for args in runs]

    @staticmethod
    def _mounts(files: Mapping[str, Path]) -> dict[str, Path]:
        mounts = {c: Path(h).resolve() for c, h in files.items()}
        for cpath, host in mounts.items():
            if not cpath.startswith("/"):
                raise RunnerError(f"container path must be absolute: {cpath}")
            if not host.exists():
                raise RunnerError(f"{host} (for {cpath}) does not exist")
        return mounts

    def _run_container(self, how: Resolution, entrypoint: Sequence[str], args: Sequence[str],
                       mounts: Mapping[str, Path], env: Mapping[str, str] | None) -> Result:
        assert self.engine is not None
        try:
            code, out, err = self.engine.run(how.runner, entrypoint, args, {c: str(h) for c, h in mounts.items()}, env)
        except EngineError as exc:
            raise RunnerError(str(exc)) from exc
        return Result(code, out, err, "container", how.runner, how.reason)

    def _run_batch(self, how: Resolution, runs: Sequence[Sequence[str]], mounts: Mapping[str, Path],
                   env: Mapping[str, str] | None) -> list[Result]:
        # Each command's exit code and the end of its output are marked on both streams, so one container
        # (about a second each under podman) serves every run of a check.
        entry = TOOLS[how.tool].entrypoint
        script = "\n".join(f'{shlex.join([*entry, *args])}; rc=$?; printf "\\n{MARK} %s\\n" "$rc"; printf "\\n{MARK}\\n" >&2'
                           for args in runs)
        whole = self._run_container(how, ["/bin/sh"], ["-c", script], mounts, env)
        outs = whole.stdout.split(f"\n{MARK} ")
        errs = whole.stderr.split(f"\n{MARK}\n")
        if len(outs) != len(runs) + 1 or len(errs) != len(runs) + 1:
            raise RunnerError(f"{how.tool} in {how.runner}: the batched runs ended early (exit {whole.returncode}): "
                              f"{whole.output[-500:]}")
        results = []
        for i in range(len(runs)):
            stdout = outs[0] if i == 0 else outs[i].partition("\n")[2]
            code = outs[i + 1].partition("\n")[0]
            results.append(Result(int(code), stdout, errs[i], "container", how.runner, how.reason))
        return results

    def _run_local(self, how: Resolution, runs: Sequence[Sequence[str]], mounts: Mapping[str, Path],
                   env: Mapping[str, str] | None) -> list[Result]:
        with tempfile.TemporaryDirectory(prefix=f"obsgen-{how.tool}-") as tmp:
            root = Path(tmp)
            ordered = sorted(mounts, key=len, reverse=True)  # longest first: /a/b before /a

            def rewrite(text: str) -> str:
                for cpath in ordered:
                    text = text.replace(cpath, str(root) + cpath)
                return text

            for cpath, host in mounts.items():
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
            full_env = {k: v for k, v in os.environ.items() if k in BASE_ENV} | dict(env or {})
            results = []
            for args in runs:
                try:
                    proc = subprocess.run([*how.command, *(rewrite(a) for a in args)], capture_output=True, text=True,
                                          env=full_env, cwd=root, timeout=TIMEOUT, check=False, stdin=subprocess.DEVNULL)
                except subprocess.TimeoutExpired as exc:
                    raise RunnerError(f"{how.tool}: timed out after {TIMEOUT}s") from exc
                except OSError as exc:
                    raise RunnerError(f"{how.tool}: cannot run {how.runner}: {exc.strerror or exc}") from exc
                strip = str(root)
                results.append(Result(proc.returncode, proc.stdout.replace(strip, ""), proc.stderr.replace(strip, ""),
                                      "local", how.runner, how.reason))
            return results

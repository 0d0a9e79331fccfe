"""promtool: `check rules` on the rule files, `test rules` on the rule tests, `check config` on the stack's config.

promtool names the file and line:column of a bad expression, and the YAML line of a bad field; a failed unit
test is named by its test's `name`, which is located in the test file. Prometheus 3.x stopped printing which
test file it is testing, so each test file gets its own run (all in one container where the image has a shell).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from obsgen.check.context import Context, Mounts
from obsgen.check.locate import first_token_line, yaml_error_line, yaml_path_line
from obsgen.check.result import Outcome
from obsgen.check.runner import Result

AT = re.compile(r"^(?P<file>/\S+?): (?:(?P<line>\d+):\d+: )?(?P<msg>.*)$")
YAML_LINE = re.compile(r"\byaml: line (\d+):")
FIELD_LINE = re.compile(r"^\s+line (\d+): (.*)$")
FAILED_PREFIX = re.compile(r"^FAILED:\s*(?:parsing YAML file )?")
TEST_NAME = re.compile(r"^\s*name: (.*),\s*$")


def rule_files(directory: Path) -> list[Path]:
    """The rule files of a directory (not its tests/ or other subdirectories)."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def _yaml_line(mounts: Mounts, rel: str | None, line: int) -> int:
    """promtool's yaml.v3 line can be relative to a group; PyYAML's own line wins when it finds the error."""
    if rel is None:
        return line
    path = mounts.layout.path(rel)
    return (yaml_error_line(path.read_text(encoding="utf-8")) if path.is_file() else None) or line


def _token_line(mounts: Mounts, rel: str, message: str) -> int | None:
    """The line of the first value the message quotes (a bad duration, a name), found in the file itself."""
    path = mounts.layout.path(rel)
    return first_token_line(path.read_text(encoding="utf-8"), message) if path.is_file() else None


def located(result: Result, mounts: Mounts, out: Outcome, default: str | None = None) -> None:
    """Findings from promtool's `FILE: LINE:COL: message`, `FILE: yaml: line N: ...` and unmarshal-error lines."""
    current: str | None = default
    for raw in result.stderr.splitlines() + [x for x in result.stdout.splitlines() if "FAILED" in x or ": " in x]:
        match = AT.match(FAILED_PREFIX.sub("", raw.strip()))
        if match and mounts.rel(match["file"]) is not None:
            current = mounts.rel(match["file"])
            msg = match["msg"]
            if match["line"]:
                out.add(current, int(match["line"]), msg)
            elif (y := YAML_LINE.search(msg)) is not None:
                out.add(current, _yaml_line(mounts, current, int(y.group(1))), msg)
            elif not msg.endswith("unmarshal errors:") and msg.strip():
                out.add(current, _token_line(mounts, current, msg), msg)
            continue
        field = FIELD_LINE.match(raw)
        if field and current is not None:
            out.add(current, int(field.group(1)), field.group(2))


def rules(ctx: Context) -> Outcome:
    """promtool check rules --lint=all --lint-fatal on every rule file."""
    rel = ctx.layout.rules or ""
    directory = ctx.need(ctx.layout.rules, "rule files")
    files = rule_files(directory)
    out = Outcome(summary=f"{len(files)} rule files")
    if not files:
        out.add(rel, None, "no rule files (*.yaml) here")
        return out
    mounts = ctx.work_mounts(rel)
    result = ctx.runner.run("promtool", ["check", "rules", "--lint=all", "--lint-fatal",
                                         *(f"/work/{rel}/{f.name}" for f in files)], mounts)
    if not result.ok:
        located(result, mounts, out)
        duplicates(result.output, files, ctx.layout.rel, out)
        if not out.findings:
            out.add(rel, None, result.output[-800:])
    return out


def duplicates(output: str, files: list[Path], rel: Callable[[Path], str], out: Outcome) -> None:
    """promtool's lint names a duplicated recording rule but not its file: find the second `record:` of that name."""
    for metric in re.findall(r"duplicate rule\(s\) found\.\s*Metric: (\S+)", output):
        pattern = re.compile(rf"^\s*-?\s*record: [\"']?{re.escape(metric)}[\"']?\s*$", re.M)
        for path in files:
            text = path.read_text(encoding="utf-8")
            hits = list(pattern.finditer(text))
            if len(hits) > 1:
                out.add(rel(path), text.count("\n", 0, hits[1].start()) + 1,
                        f"lint: recording rule {metric} is defined more than once (duplicate-rules)")


def _test_line(text: str, name: str) -> int | None:
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return None
    tests = doc.get("tests") if isinstance(doc, dict) else None
    for i, test in enumerate(tests if isinstance(tests, list) else []):
        if isinstance(test, dict) and str(test.get("name")) == name:
            return yaml_path_line(text, ["tests", i])
    return None


def failed_tests(stderr: str) -> list[tuple[str | None, str]]:
    """(test name or None, its failure text) for each failure block of `promtool test rules`."""
    blocks: list[tuple[str | None, list[str]]] = []
    for line in stderr.splitlines():
        name = TEST_NAME.match(line)
        if name:
            blocks.append((name.group(1), []))
        elif line.strip() and line.strip() != "FAILED:":
            if not blocks:
                blocks.append((None, []))
            blocks[-1][1].append(line.strip())
    return [(name, " ".join(lines)) for name, lines in blocks]


def difference(failure: str) -> str:
    """`alertname: X, time: 13m, exp:[...] got:[...]` as what differs: the labels only one side has, else as is."""
    head, sep, rest = failure.partition("exp:[")
    expected, sep2, got = rest.partition("got:[")
    if not sep or not sep2:
        return failure
    pairs = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

    def labels(part: str) -> set[str]:
        return {f'{k}="{v}"' for block in re.findall(r"Labels:\{([^}]*)\}", part) for k, v in pairs.findall(block)}

    missing, extra = sorted(labels(expected) - labels(got)), sorted(labels(got) - labels(expected))
    if not missing and not extra:
        return failure
    return f"{head.strip().rstrip(',')}: expected {', '.join(missing) or 'nothing more'}, got {', '.join(extra) or 'nothing more'}"


def rule_tests(ctx: Context) -> Outcome:
    """promtool test rules, one run per test file: every alert fires and stays silent as its tests expect."""
    rel = ctx.layout.rule_tests or ""
    directory = ctx.need(ctx.layout.rule_tests, "rule tests")
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))
    out = Outcome(summary=f"{len(files)} test files")
    if not files:
        out.add(rel, None, "no rule test files (*.yaml) here")
        return out
    mounts = ctx.work_mounts(*(r for r in (ctx.layout.rules, rel) if r))
    results = ctx.runner.run_many("promtool", [["test", "rules", f"/work/{rel}/{f.name}"] for f in files], mounts)
    for path, result in zip(files, results, strict=True):
        if result.ok:
            continue
        file_rel = ctx.layout.rel(path)
        text = path.read_text(encoding="utf-8")
        before = len(out.findings)
        if any(AT.match(x.strip()) for x in result.stderr.splitlines()) or YAML_LINE.search(result.stderr):
            located(result, mounts, out, default=file_rel)
        if len(out.findings) == before:
            for name, failure in failed_tests(result.stderr) or [(None, result.output[-800:])]:
                line = _test_line(text, name) if name else first_token_line(text, failure)
                label = f"test {name!r} failed: " if name else ""
                out.add(file_rel, line, label + difference(failure)[:700])
    return out


def _staged_secrets(config_text: str, mounts: Mounts, tmp: Path) -> None:
    """Real tokens are never in the tree: give each credentials_file an empty placeholder in a copy of its dir."""
    for path in re.findall(r"credentials_file:\s*['\"]?(\S+?)['\"]?\s*$", config_text, flags=re.M):
        mount = next((m for m in sorted(mounts, key=len, reverse=True) if path.startswith(m + "/")), None)
        if mount is None:
            continue
        staged = tmp / mount.strip("/").replace("/", "_")
        if not staged.exists():
            shutil.copytree(mounts[mount], staged) if mounts[mount].is_dir() else staged.mkdir(parents=True)
            staged.chmod(0o755)
            mounts[mount] = staged
        placeholder = staged / path[len(mount) + 1:]
        placeholder.parent.mkdir(parents=True, exist_ok=True)
        placeholder.touch()
        placeholder.chmod(0o644)


def config(ctx: Context) -> Outcome:
    """promtool check config of the stack's prometheus.yml, with the rule files it loads, where compose mounts them."""
    rel, path = ctx.stack_file("prometheus/prometheus.yml", "the stack's Prometheus config")
    mounts = ctx.service_mounts("prometheus")
    target = next((c for c, h in mounts.items() if h == path.resolve()), "/etc/prometheus/prometheus.yml")
    out = Outcome()
    with tempfile.TemporaryDirectory(prefix="obsgen-check-secrets-") as tmp:
        Path(tmp).chmod(0o755)  # the image runs as nobody
        _staged_secrets(path.read_text(encoding="utf-8"), mounts, Path(tmp))
        result = ctx.runner.run("promtool", ["check", "config", target], mounts)
    found = re.search(r"SUCCESS: (\d+) rules? found", result.output)
    out.summary = f"{found.group(1)} rules loaded" if found else ""
    if not result.ok:
        located(result, mounts, out, default=rel)
        if not out.findings:
            out.add(rel, None, result.output[-800:])
    return out

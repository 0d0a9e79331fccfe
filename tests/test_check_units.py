"""Unit tests of obsgen.check's parts that need no tool: locating lines, reading tool messages, the reports, the
selection of checks, and the on-demand Node.js install (its cache key and what a failed install leaves)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from obsgen.check import node, report
from obsgen.check.context import Mounts
from obsgen.check.layout import Layout
from obsgen.check.locate import json_path_line, quoted, token_line, yaml_error_line, yaml_path_line
from obsgen.check.prometheus import difference, failed_tests
from obsgen.check.registry import NAMES, select
from obsgen.check.result import FAILED, NOT_RUN, PASSED, CheckResult, Finding, Outcome
from obsgen.check.stack import compose_field

from conftest import missing_tool

YAML = "a:\n  b:\n  - x: 1\n  - y: 2\n    z: [3]\nc: 'd'\n"


def test_yaml_field_paths_become_lines() -> None:
    assert yaml_path_line(YAML, ["a"]) == 1
    assert yaml_path_line(YAML, ["a", "b", 1]) == 4
    assert yaml_path_line(YAML, ["a", "b", 1, "z"]) == 5
    assert yaml_path_line(YAML, ["a", "b", 7]) == 2  # the deepest part that exists
    assert yaml_path_line(YAML, ["nope"]) is None
    assert yaml_path_line("a: [", ["a"]) is None


def test_yaml_syntax_errors_are_located_by_pyyaml() -> None:
    assert yaml_error_line("a: 1\n b: 2\n") == 2
    assert yaml_error_line(YAML) is None


def test_json_paths_become_lines() -> None:
    text = json.dumps({"a": 1, "panels": [{"t": "x", "in": {"k": [1, 2]}}, {"t": "y\"}{", "u": None}]}, indent=2)
    lines = text.splitlines()
    assert lines[json_path_line(text, ["panels", 1]) - 1].strip() == "{"
    assert '"y\\"}{"' in lines[json_path_line(text, ["panels", 1, "t"]) - 1]
    assert '"u": null' in lines[json_path_line(text, ["panels", 1, "u"]) - 1]
    assert lines[json_path_line(text, ["panels", 0, "in", "k", 1]) - 1].strip() == "2"
    assert json_path_line(text, ["panels", 5]) == json_path_line(text, ["panels"])
    assert json_path_line("{", ["a"]) is None


def test_quoted_names_are_found_outside_comments() -> None:
    text = '# receiver: "x"\nroute:\n  receiver: x-y\n  other: "x"\n'
    assert quoted('undefined receiver "x" used in route') == ["x"]
    assert quoted("additional properties 'restrat' not allowed") == ["restrat"]
    assert token_line(text, "x") == 4  # the quoted form first, never the comment
    assert token_line(text, "x-y") == 3
    assert token_line(text, "nope") is None and token_line(text, " ") is None


@pytest.mark.parametrize(("message", "path"), [
    ("validating /work/compose/compose.yaml: services.bad additional properties 'no_such_key' not allowed",
     ["services", "bad", "no_such_key"]),
    ("'services[alertmanager].healthcheck.interval' time: invalid duration \"ten s\"",
     ["services", "alertmanager", "healthcheck", "interval"]),
    ('service "alertmanager" depends on undefined service "nope": invalid compose project',
     ["services", "alertmanager", "depends_on", "nope"]),
    ('service "alertmanager" refers to undefined volume undeclared-volume: invalid compose project',
     ["services", "alertmanager", "volumes", "undeclared-volume"]),
    ("yaml: line 4: did not find expected key", []),
])
def test_compose_messages_name_their_field(message: str, path: list[str]) -> None:
    assert compose_field(message) == path


PROMTOOL_FAILURE = """  FAILED:
    name: DivanHighErrorRate fires,
    alertname: DivanHighErrorRate, time: 18m,
        exp:[
            0:
              Labels:{alertname="DivanHighErrorRate", job="divan-api", severity="info"}
            ],
        got:[
            0:
              Labels:{alertname="DivanHighErrorRate", job="divan-api", severity="critical"}
            ]
    name: Other fires,
    alertname: Other, time: 5m,
        exp:[
            0:
              Labels:{alertname="Other"}
            ],
        got:[]
"""


def test_promtool_test_failures_are_split_by_test_and_reduced_to_the_difference() -> None:
    failures = failed_tests(PROMTOOL_FAILURE)
    assert [name for name, _ in failures] == ["DivanHighErrorRate fires", "Other fires"]
    assert difference(failures[0][1]) == 'alertname: DivanHighErrorRate, time: 18m: expected severity="info", got severity="critical"'
    assert difference(failures[1][1]) == 'alertname: Other, time: 5m: expected alertname="Other", got nothing more'
    assert difference("no blocks here") == "no blocks here"
    assert failed_tests("  FAILED:\n  some error\n") == [(None, "some error")]


def _results() -> list[CheckResult]:
    return [
        CheckResult("rules", "promtool 3.5.0", "container img", PASSED, summary="6 rule files", seconds=1.25),
        CheckResult("k6", "k6 1.1.0", "local /bin/k6", FAILED,
                    (Finding("k6/a,b.js", 40, "50% bad: x\nnext"), Finding(None, None, "no file")), seconds=0.5),
        CheckResult("jaeger", "jaeger", "-", NOT_RUN, reason="no engine; no local binary"),
    ]


def test_the_table_and_the_finding_lines() -> None:
    text = report.table(_results())
    lines = text.splitlines()
    assert lines[0].split() == ["CHECK", "TOOL", "PATH", "RESULT", "TIME"]
    assert lines[1].split()[0] == "rules" and "ok (6 rule files)" in lines[1] and lines[1].endswith("1.2s")
    assert "FAILED (2 findings)" in lines[2] and "not run: no engine; no local binary" in lines[3]
    assert lines[1].index("promtool") == lines[2].index("k6 1.1.0")  # columns line up
    assert report.findings(_results()) == ["k6/a,b.js:40: k6: 50% bad: x\nnext", "k6: no file"]
    assert report.summary(_results(), strict=True) == "obsgen check: 1 passed, 1 failed, 1 not run (--strict: a check not run fails)"


def test_github_annotations_escape_what_the_runner_would_misread() -> None:
    lines = report.github(_results(), strict=False)
    assert lines[0] == "::error file=k6/a%2Cb.js,line=40,title=obsgen check k6::50%25 bad: x%0Anext"
    assert lines[1] == "::error title=obsgen check k6::no file"
    assert lines[2] == "::warning title=obsgen check jaeger::not run: no engine; no local binary"
    assert report.github(_results(), strict=True)[2].startswith("::error title=obsgen check jaeger::")


def test_junit_reports_each_check_and_strict_turns_not_run_into_failure() -> None:
    for strict, failures, skipped in ((False, 1, 1), (True, 2, 0)):
        root = ET.fromstring(report.junit(_results(), strict).split("\n", 1)[1])
        suite = root.find("testsuite")
        assert suite is not None and suite.get("tests") == "3"
        assert (suite.get("failures"), suite.get("skipped")) == (str(failures), str(skipped))
        cases = {c.get("name"): c for c in suite.iter("testcase")}
        assert cases["rules"].find("failure") is None and cases["rules"].find("skipped") is None
        assert cases["k6"].find("failure").text.startswith("k6/a,b.js:40: k6: ")  # type: ignore[union-attr]
        props = {p.get("name"): p.get("value") for p in cases["rules"].iter("property")}
        assert props == {"tool": "promtool 3.5.0", "path": "container img", "summary": "6 rule files"}


def test_exit_codes() -> None:
    passed, failed, not_run = _results()
    assert report.exit_code([passed], strict=True) == 0
    assert report.exit_code([passed, not_run], strict=False) == 0
    assert report.exit_code([passed, not_run], strict=True) == 1
    assert report.exit_code([passed, failed], strict=False) == 1


def test_selection_by_check_or_tool_name() -> None:
    assert [c.name for c in select([])] == list(NAMES)
    assert [c.name for c in select(["amtool", "k6"])] == ["alertmanager-config", "alertmanager-routes", "k6"]
    with pytest.raises(ValueError, match="unknown check promtol"):
        select(["promtol"])


def test_outcome_keeps_one_line_per_distinct_finding() -> None:
    out = Outcome()
    out.add("f", 1, "a\n   b")
    out.add("f", 1, "a b")
    out.add("f", 2, "a b")
    assert out.findings == [Finding("f", 1, "a b"), Finding("f", 2, "a b")]


def test_mounts_map_container_paths_back_to_the_tree(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    layout = Layout(tmp_path)
    mounts = Mounts(layout, {"/work/rules": tmp_path / "rules", "/etc/x.yml": tmp_path / "compose" / "x.yml"})
    assert mounts.rel("/work/rules/a.yaml") == "rules/a.yaml"
    assert mounts.rel("/etc/x.yml") == "compose/x.yml"
    assert mounts.rel("/work/rulesx/a.yaml") is None and mounts.rel("/other") is None
    assert layout.rel(Path("/elsewhere/f")) == "/elsewhere/f"


# -- the Node.js install ---------------------------------------------------------------------------------


def test_the_install_directory_is_keyed_by_the_lock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = node.install_dir()
    assert first.parent == tmp_path / "cache" / "obsgen" and first.name == f"node-{node.lock_hash()}"
    copy = tmp_path / "package"
    copy.mkdir()
    for name in node.MANIFESTS:
        (copy / name).write_bytes((node.PACKAGE / name).read_bytes())
    lock = json.loads((copy / "package-lock.json").read_text(encoding="utf-8"))
    lock["packages"][""]["devDependencies"]["typescript"] = "0.0.0"
    (copy / "package-lock.json").write_text(json.dumps(lock), encoding="utf-8")
    monkeypatch.setattr(node, "PACKAGE", copy)
    assert node.install_dir() != first  # a changed lock installs afresh


def test_a_failed_install_leaves_no_directory_and_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """npm failing (offline, a registry error) is "not available", and nothing half-installed becomes the cache."""
    if node.shutil.which("node") is None:
        missing_tool("node is not installed (run `make test-deps`): ensure() stops before npm")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").symlink_to(node.shutil.which("node"))
    fake_npm = bin_dir / "npm"
    fake_npm.write_text("#!/bin/sh\nmkdir -p node_modules/typescript\necho 'npm ERR! network unreachable' >&2\nexit 1\n")
    fake_npm.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(node.NodeUnavailable, match="npm ci failed .*network unreachable"):
        node.ensure()
    assert not (tmp_path / "cache" / "obsgen").exists() or os.listdir(tmp_path / "cache" / "obsgen") == []
    with pytest.raises(node.NodeUnavailable, match="not installed in"):
        node.ensure(install=False)
    os.unlink(bin_dir / "npm")
    with pytest.raises(node.NodeUnavailable, match="npm is not on PATH"):
        node.ensure()


def test_a_docker_cli_without_its_compose_plugin_is_no_compose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`docker compose` on a CLI that lacks the plugin is 'not run: why', not a failed config check."""
    from obsgen.check import tools

    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\n[ \"$1\" = compose ] && { echo 'docker: unknown command: docker compose' >&2; exit 1; }\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setattr(tools, "compose_binary", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    command, looked = tools.local_command("compose")
    assert command == [] and "docker-compose on PATH, or docker with its compose plugin" in looked
    fake.write_text("#!/bin/sh\nexit 0\n")  # the plugin answers: docker compose is used
    assert tools.local_command("compose")[0] == [str(fake), "compose"]

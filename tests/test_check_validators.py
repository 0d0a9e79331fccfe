"""Every check of `obsgen check`, in-process (obsgen.check's own functions) through the pinned runner: the image in CI,
else the Go-built binary at the pinned version, else PATH. Each fails on a copy of the tree with one planted fault,
with the finding at the planted line; the planted faults of the issue (rule, rule test, route, dashboard, k6,
compose, LogQL) also run through the CLI in test_check_cli.py. The Debian floor (promtool 2.42, amtool 0.25)
must accept the generated tree too."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from check_support import edit_json, line_of, only_service, plant, tree_copy

from obsgen.check.layout import Layout
from obsgen.check.result import Finding

from conftest import ROOT, in_ci

FLOOR_CHECKS = ("rules", "rule-tests", "prometheus-config", "alertmanager-config", "alertmanager-routes")


def at(findings: tuple[Finding, ...], file: str, line: int | None) -> list[str]:
    """The messages found at exactly that file and line."""
    return [f.message for f in findings if f.file == file and f.line == line]


@pytest.mark.parametrize("name", FLOOR_CHECKS)
def test_the_debian_floor_accepts_the_generated_tree(name: str, run_check, floor_runner) -> None:
    result = run_check(name, ROOT, floor_runner)
    assert result.passed, [str(f) for f in result.findings]
    if in_ci():
        assert result.tool in ("promtool 2.42.0+ds", "amtool 0.25.0"), result.tool


@pytest.mark.parametrize("name", FLOOR_CHECKS)
def test_the_debian_floor_finds_the_same_broken_rule(name: str, run_check, floor_runner, tmp_path: Path) -> None:
    """The floor is a real check too: a broken rule fails every promtool check (and leaves amtool's alone)."""
    tree = tree_copy(tmp_path)
    only_service(tree, "divan-api")
    line = plant(tree / "rules" / "divan-api.yaml", "expr: ", "expr: rate(")
    result = run_check(name, tree, floor_runner)
    if name.startswith("alertmanager"):
        assert result.passed
    else:
        assert at(result.findings, "rules/divan-api.yaml", line), [str(f) for f in result.findings]


# -- promtool ---------------------------------------------------------------------------------------------


def test_rules_lint_is_fatal(run_check, tmp_path: Path) -> None:
    """--lint-fatal: the same recording rule twice in a group fails, though each parses."""
    tree = tree_copy(tmp_path)
    path = tree / "rules" / "divan-api.yaml"
    text = path.read_text(encoding="utf-8")
    first = text.index("  - record: ")
    second = text.index("  - record: ", first + 1)
    path.write_text(text[:second] + text[first:second] + text[second:], encoding="utf-8")
    result = run_check("rules", tree)
    assert result.failed and any(f.file == "rules/divan-api.yaml" and "duplicate" in f.message for f in result.findings)


def test_prometheus_config_fails_on_a_bad_duration(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "compose" / "prometheus" / "prometheus.yml", 'scrape_interval: "15s"', 'scrape_interval: "15 parsecs"')
    result = run_check("prometheus-config", tree)
    assert result.failed, result
    assert [(f.file, f.line) for f in result.findings] == [("compose/prometheus/prometheus.yml", line)], result
    assert "parsecs" in result.findings[0].message


def test_prometheus_config_loads_the_rule_files(run_check, tmp_path: Path) -> None:
    """check config follows rule_files: a broken rule fails it at the rule file's line, placeholders stand in for tokens."""
    assert "rules loaded" in run_check("prometheus-config", ROOT).summary
    tree = tree_copy(tmp_path)
    line = plant(tree / "rules" / "watch-party.yaml", "expr: ", "expr: sum(")
    result = run_check("prometheus-config", tree)
    assert at(result.findings, "rules/watch-party.yaml", line), [str(f) for f in result.findings]


def test_rule_tests_report_a_broken_test_file_at_its_line(run_check, tmp_path: Path) -> None:
    """promtool names no line for a bad duration; the quoted value is found in the test file."""
    tree = tree_copy(tmp_path)
    for other in (tree / "rules" / "tests").glob("*.yaml"):
        if other.name != "divan-api.test.yaml":
            other.unlink()  # the other test files pass (the CLI tests run them all): keep this case short
    line = plant(tree / "rules" / "tests" / "divan-api.test.yaml", 'evaluation_interval: "1m"', 'evaluation_interval: "1 minute"')
    result = run_check("rule-tests", tree)
    assert result.failed and [(f.file, f.line) for f in result.findings] == [("rules/tests/divan-api.test.yaml", line)], result


def test_a_missing_output_fails_and_says_so(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    shutil.rmtree(tree / "rules")
    result = run_check("rules", tree)
    assert result.failed and result.findings[0].file == "rules" and "obsgen generate" in result.findings[0].message


def test_an_output_the_layout_switches_off_is_not_checked(run_check, tmp_path: Path) -> None:
    from obsgen.check.context import Context
    from obsgen.check.registry import CHECKS, applicable

    layout = Layout(ROOT, k6=None, rules=None)
    assert not applicable(next(c for c in CHECKS if c.name == "k6"), Context(layout, None))  # type: ignore[arg-type]
    assert applicable(next(c for c in CHECKS if c.name == "logql"), Context(Layout(ROOT, compose=None), None))  # type: ignore[arg-type]


# -- amtool -----------------------------------------------------------------------------------------------


def test_alertmanager_config_yaml_error_is_located(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "compose" / "alertmanager" / "alertmanager.yml", "  group_by:\n", "   group_by:\n")
    result = run_check("alertmanager-config", tree)
    assert at(result.findings, "compose/alertmanager/alertmanager.yml", line), [str(f) for f in result.findings]


def test_routes_with_an_unreadable_cases_file_fail(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    (tree / "compose" / "alertmanager" / "routes-tests.yaml").write_text("cases:\n- name: x\n  labels: [\n", encoding="utf-8")
    result = run_check("alertmanager-routes", tree)
    assert result.failed and "not a readable YAML file" in result.findings[0].message


# -- the stack's configs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "field"), [
    ("    restart: unless-stopped", "    restrat: unless-stopped", "restrat"),
    ('      interval: "10s"', '      interval: "ten seconds"', "interval"),
    ("    networks:\n    - obsgen\n", "    networks:\n    - obsgen\n    depends_on:\n      nope:\n        condition: service_healthy\n",
     "nope"),
    ("    volumes:\n    - \"./alertmanager", "    volumes:\n    - undeclared-volume:/x\n    - \"./alertmanager", "undeclared-volume"),
])
def test_compose_faults_are_located(run_check, tmp_path: Path, old: str, new: str, field: str) -> None:
    tree = tree_copy(tmp_path)
    path = tree / "compose" / "compose.yaml"
    plant(path, old, new)
    result = run_check("compose", tree)
    assert result.failed and field in result.findings[0].message, result
    expected = line_of(path, field if field != "nope" else "      nope:")
    assert result.findings[0].line == expected, (result.findings, expected)


def test_otelcol_fails_on_an_undefined_exporter(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "compose" / "otel-collector" / "config.yaml", "      - otlp/jaeger\n", "      - otlp/undefined\n")
    result = run_check("otelcol", tree)
    assert at(result.findings, "compose/otel-collector/config.yaml", line), [str(f) for f in result.findings]


def test_jaeger_fails_on_an_undefined_extension(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "compose" / "jaeger" / "config.yaml", "  - jaeger_query\n", "  - no_such_extension\n")
    result = run_check("jaeger", tree)
    assert at(result.findings, "compose/jaeger/config.yaml", line), [str(f) for f in result.findings]


def test_blackbox_fails_on_an_unknown_field(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "compose" / "blackbox" / "blackbox.yml", "      follow_redirects: true\n",
                 "      follow_redirects: true\n      no_such_field: 1\n") + 1
    result = run_check("blackbox-config", tree)
    assert result.failed and any("no_such_field" in f.message for f in result.findings), result
    assert any(f.line == line for f in result.findings), [str(f) for f in result.findings]


def test_loki_config_and_rule_files_are_located(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    config_line = plant(tree / "compose" / "loki" / "config.yaml", "auth_enabled: false", "auth_enabled: \"false\"")
    rules = tree / "compose" / "loki" / "rules" / "fake" / "event-relay.yaml"
    rule_line = plant(rules, "    for: \"0m\"", "    for: \"0 minutes\"")
    result = run_check("loki", tree)
    assert at(result.findings, "compose/loki/config.yaml", config_line), [str(f) for f in result.findings]
    assert at(result.findings, "compose/loki/rules/fake/event-relay.yaml", rule_line), [str(f) for f in result.findings]


# -- k6 and dashboards -------------------------------------------------------------------------------------------


def test_k6_script_errors_carry_the_script_line(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    script = tree / "k6" / "proximity_nearby_load.js"
    text = script.read_text(encoding="utf-8")
    script.write_text(text + "export function broken( {\n", encoding="utf-8")
    result = run_check("k6", tree)
    (finding,) = result.findings
    assert finding.file == "k6/proximity_nearby_load.js" and finding.line == text.count("\n") + 2, finding
    assert "exit 107" in finding.message


def test_a_bad_enum_in_a_dashboard_is_reported_at_its_own_line(run_check, tmp_path: Path) -> None:
    """check.mjs's line map: a tsc error inside a panel lands on the dashboard's line of that field."""
    tree = tree_copy(tmp_path)
    path = tree / "dashboards" / "divan-api" / "overview.json"
    edit_json(path, lambda d: next(p for p in d["panels"] if p["type"] == "timeseries")["options"]["legend"].update(
        placement="middle"))
    result = run_check("dashboard-types", tree)
    assert at(result.findings, "dashboards/divan-api/overview.json", line_of(path, '"placement": "middle"')), result
    assert result.tool.startswith("@grafana/schema ") and "typescript" in result.tool


def test_the_dashboard_lint_reports_catalog_problems(run_check, tmp_path: Path) -> None:
    """The lint needs the catalogs: a broken catalog is reported as the catalog's own located problem."""
    tree = tree_copy(tmp_path)
    line = plant(tree / "catalogs" / "divan-api.yaml", "  type: counter", "  type: countr")
    result = run_check("dashboard-lint", tree)
    assert any(f.file and f.file.endswith("divan-api.yaml") and f.line == line for f in result.findings), result

"""Every LogQL expression obsgen writes parses with Grafana's own LogQL grammar (@grafana/lezer-logql 0.4.2).

The expressions are the Loki ruler files (compose/loki/rules/**.yaml) and the Loki targets of the dashboards,
committed and freshly generated from the fixture catalogs. obsgen/check/node/logql.mjs runs the grammar (the same
script `obsgen check` runs); the failing cases prove it flags broken LogQL, and the limits it has are written down
as tests too, not papered over.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from obsgen.check.logql import LogQLCheckError, LogQLExpr, check, dashboard_targets, parse, rule_expressions
from obsgen.check.node import NodeEnv

from conftest import ROOT, obsgen


@pytest.fixture(scope="session")
def script(node_env: NodeEnv) -> NodeEnv:
    return node_env


@pytest.fixture(scope="session")
def fixture_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fixture-tree")
    result = obsgen("generate", "--catalogs", str(ROOT / "tests" / "fixtures" / "catalogs"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def _collect(tree: Path) -> list[LogQLExpr]:
    rules, bad_rules = rule_expressions(tree / "compose" / "loki" / "rules", tree)
    targets, bad_targets = dashboard_targets(tree / "dashboards", tree)
    assert not bad_rules and not bad_targets, [str(p) for p in bad_rules + bad_targets]
    return rules + targets


def _one(script: NodeEnv, expr: str) -> list[str]:
    return [str(p) for p in check([LogQLExpr("case", 1, "expr", expr)], script)]


def test_every_committed_logql_expression_parses(script: NodeEnv) -> None:
    exprs = _collect(ROOT)
    files = {e.file for e in exprs}
    assert any(f.startswith("compose/loki/rules/") for f in files), files
    assert any(f.startswith("dashboards/") for f in files), files
    problems = check(exprs, script)
    assert not problems, "\n".join(map(str, problems))


def test_every_logql_expression_generated_from_the_fixture_catalogs_parses(script: NodeEnv, fixture_tree: Path) -> None:
    exprs = _collect(fixture_tree)
    assert exprs, "the fixture catalogs produced no LogQL: the test would prove nothing"
    problems = check(exprs, script)
    assert not problems, "\n".join(map(str, problems))


def test_only_loki_targets_are_collected() -> None:
    """One Loki target per logs panel, and no PromQL among them (Prometheus targets are promql_parser's job)."""
    exprs, _ = dashboard_targets(ROOT / "dashboards", ROOT)
    logs_panels = 0
    for path in sorted((ROOT / "dashboards").rglob("*.json")):
        logs_panels += sum(1 for p in json.loads(path.read_text(encoding="utf-8")).get("panels", []) if p.get("type") == "logs")
    assert logs_panels and len(exprs) == logs_panels
    assert all(e.expr.startswith("{") for e in exprs), [e.expr for e in exprs]


@pytest.mark.parametrize(("name", "expr"), [
    ("unclosed selector", 'sum(count_over_time({service_name="relay" |~ `x` [5m]))'),
    ("unclosed selector at the end", '{service_name="relay"'),
    ("line filter without a string", '{service_name="relay"} |= '),
    ("unknown line filter operator", '{service_name="relay"} |~~ "DLQ"'),
    ("range aggregation without a range", 'count_over_time({service_name="relay"})'),
    ("range aggregation without a range, in a rule", 'sum by (service_name) (count_over_time({service_name="relay"} |~ `x`)) > 0'),
    ("misspelt function", 'count_overtime({service_name="relay"}[5m])'),
    ("bad duration unit", 'count_over_time({service_name="relay"}[5x])'),
    ("grouping without parentheses", 'sum by service_name (count_over_time({service_name="relay"}[5m]))'),
    ("unbalanced parentheses", 'sum(count_over_time({service_name="relay"}[5m])'),
    ("comparison without a right side", 'count_over_time({service_name="relay"}[5m]) >'),
    ("empty selector", "{}"),
    ("unquoted matcher value", "{service_name=relay}"),
    ("unknown pipeline stage", '{service_name="relay"} | no_such_stage'),
    ("log range outside an aggregation", '{service_name="relay"} |= "a" [5m]'),
])
def test_the_grammar_flags_broken_logql(script: NodeEnv, name: str, expr: str) -> None:
    problems = _one(script, expr)
    assert problems, f"{name}: lezer-logql accepted {expr!r}"
    assert all(p.startswith("case:1: expr: LogQL syntax error at column ") for p in problems), problems


@pytest.mark.parametrize(("name", "expr"), [
    ("an invalid regular expression", '{service_name="relay"} |~ "(unclosed"'),
    ("a selector with only negative matchers", '{service_name!~"relay"}'),
    ("quantile_over_time without unwrap", 'quantile_over_time(0.9, {service_name="relay"}[5m])'),
    ("grouping on a range aggregation that refuses it", 'count_over_time({service_name="relay"}[5m]) by (level)'),
])
def test_what_the_grammar_does_not_check(script: NodeEnv, name: str, expr: str) -> None:
    """Written down so nobody relies on it: Loki refuses these at query time, lezer-logql 0.4.2 accepts them.
    The label matchers are checked in test_loki_static.py; regex bodies and Loki's semantic rules are not."""
    assert _one(script, expr) == [], f"lezer-logql now flags {name}: move it to the failing cases"


def test_grafana_macros_are_replaced_before_parsing(script: NodeEnv) -> None:
    assert _one(script, 'sum(count_over_time({service_name="relay"} |~ "$search" [$__auto]))') == []
    assert _one(script, 'rate({service_name="relay"}[${__interval}])') == []


def test_a_broken_rule_file_is_reported_with_file_line_and_field(script: NodeEnv, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "compose" / "loki" / "rules", rules)
    target = sorted(rules.glob("*/*.yaml"))[0]
    text = target.read_text(encoding="utf-8")
    exprs, _ = rule_expressions(rules, tmp_path)
    first = next(e for e in exprs if target.name in e.file)
    window = first.expr[first.expr.rindex("[") - 1:first.expr.rindex("]") + 1]
    assert window in text, window
    target.write_text(text.replace(window, "", 1), encoding="utf-8")
    problems = [str(p) for p in check(rule_expressions(rules, tmp_path)[0], script)]
    rel = str(target.relative_to(tmp_path))
    assert len(problems) == 1 and problems[0].startswith(f"{rel}:{first.line}: groups[0].rules[0].expr: LogQL syntax error"), problems


def test_a_broken_dashboard_target_is_reported_with_file_line_and_field(script: NodeEnv, tmp_path: Path) -> None:
    source = next(p for p in sorted((ROOT / "dashboards").rglob("*.json")) if '"type": "loki"' in p.read_text(encoding="utf-8"))
    exprs, _ = dashboard_targets(source.parent, source.parent)
    good = next(e for e in exprs if e.file == source.name)
    broken = tmp_path / source.name
    text = source.read_text(encoding="utf-8")
    old = json.dumps(good.expr, ensure_ascii=False)
    assert old in text
    broken.write_text(text.replace(old, json.dumps(good.expr.replace("}", "", 1)), 1), encoding="utf-8")
    problems = [str(p) for p in check(dashboard_targets(tmp_path, tmp_path)[0], script)]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{source.name}:{good.line}: {good.path}: LogQL syntax error"), problems


def test_unreadable_files_are_located_problems_not_tracebacks(tmp_path: Path) -> None:
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "bad.yaml").write_text("groups:\n- name: x\n  rules: [\n", encoding="utf-8")
    (tmp_path / "fake" / "noexpr.yaml").write_text("groups:\n- name: x\n  rules:\n  - alert: A\n", encoding="utf-8")
    (tmp_path / "bad.json").write_text("{\n  \"panels\": [\n", encoding="utf-8")
    _, rule_problems = rule_expressions(tmp_path, tmp_path)
    _, dash_problems = dashboard_targets(tmp_path, tmp_path)
    lines = sorted(str(p) for p in rule_problems + dash_problems)
    assert lines[0].startswith("bad.json:3: not a readable JSON file"), lines
    assert lines[1].startswith("fake/bad.yaml:4: not a readable YAML file"), lines
    assert lines[2] == "fake/noexpr.yaml:4: groups[0].rules[0].expr: missing or not a string", lines


def test_a_checker_that_cannot_run_is_an_error_not_a_verdict(script: NodeEnv, tmp_path: Path) -> None:
    """Exit 1 from node without the grammar (or a crash) must not read as "this LogQL is broken"."""
    exprs = [LogQLExpr("case", 1, "expr", '{service_name="relay"}')]
    with pytest.raises(LogQLCheckError, match="does not exist"):
        parse(exprs, replace(script, dir=tmp_path))
    lonely = tmp_path / "lonely"  # the script without node_modules beside it
    lonely.mkdir()
    shutil.copy(script.script("logql.mjs"), lonely / "logql.mjs")
    with pytest.raises(LogQLCheckError, match="python -m obsgen.check.node"):
        parse(exprs, replace(script, dir=lonely))
    with pytest.raises(LogQLCheckError, match="not installed"):
        parse(exprs, replace(script, node="no-such-node-binary"))


def test_parse_reports_stream_matchers_and_grouping(script: NodeEnv) -> None:
    (parsed,) = parse([LogQLExpr("case", 1, "expr",
                                 'sum by (service_name, level) (count_over_time({service_name=~"a|b", env!="dev"} '
                                 '| json | level="error" [5m]))')], script)
    assert parsed.errors == ()
    assert parsed.stream_labels == {"service_name", "env"}
    assert [(m.label, m.op, m.in_selector) for m in parsed.matchers] == [
        ("service_name", "=~", True), ("env", "!=", True), ("level", "=", False)]
    assert parsed.grouping == (("by", ("service_name", "level")),)
    assert parsed.extracts is True

"""The generated rules and rule tests, checked by the real promtool; plus proof that promtool can fail here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, obsgen, require_tool, run

RULE_FILES = sorted((ROOT / "rules").glob("*.yaml"))
TEST_FILES = sorted((ROOT / "rules" / "tests").glob("*.test.yaml"))


def test_generated_rule_files_exist() -> None:
    assert len(RULE_FILES) >= 2, "run `make generate`: rules/ is empty"
    assert len(TEST_FILES) == len(RULE_FILES)


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules(path: Path) -> None:
    promtool = require_tool("promtool")
    result = run([promtool, "check", "rules", "--lint=all", "--lint-fatal", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_promtool_test_rules(path: Path) -> None:
    promtool = require_tool("promtool")
    result = run([promtool, "test", "rules", str(path)], cwd=path.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    """An alert without a firing test is a bug: check each (alertname, severity) is expected to fire somewhere."""
    for rule_file in RULE_FILES:
        rules = yaml.safe_load(rule_file.read_text())
        wanted = {
            (r["alert"], r["labels"]["severity"]) for g in rules["groups"] for r in g["rules"] if "alert" in r
        }
        tests = yaml.safe_load((ROOT / "rules" / "tests" / f"{rule_file.stem}.test.yaml").read_text())
        fired, silent = set(), set()
        for case in tests["tests"]:
            for check in case.get("alert_rule_test", []):
                if check["exp_alerts"]:
                    fired |= {(check["alertname"], a["exp_labels"]["severity"]) for a in check["exp_alerts"]}
                else:
                    silent.add(check["alertname"])
        assert wanted <= fired, f"{rule_file.name}: alerts without a firing test: {sorted(wanted - fired)}"
        if rule_file.stem != "obsgen-meta":  # Watchdog always fires by design
            assert {name for name, _ in wanted} <= silent, f"{rule_file.name}: alerts without a silent test"


def test_promtool_rejects_a_broken_rule_file(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    bad = tmp_path / "bad.yaml"
    bad.write_text("groups:\n- name: x\n  rules:\n  - alert: Broken\n    expr: rate(foo[5m] > 1\n")
    result = run([promtool, "check", "rules", str(bad)])
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def test_promtool_test_fails_when_an_expectation_is_wrong(tmp_path: Path) -> None:
    """Flip one generated expectation: the same test file must then fail, so our passing tests mean something."""
    promtool = require_tool("promtool")
    src = ROOT / "rules" / "tests" / "divan-api.test.yaml"
    shutil.copy(ROOT / "rules" / "divan-api.yaml", tmp_path / "divan-api.yaml")
    (tmp_path / "tests").mkdir()
    doc = yaml.safe_load(src.read_text())
    firing = next(c for c in doc["tests"] if c["alert_rule_test"][0]["exp_alerts"])
    firing["alert_rule_test"][0]["exp_alerts"][0]["exp_labels"]["severity"] = "info"
    (tmp_path / "tests" / "t.yaml").write_text(yaml.safe_dump(doc))
    result = run([promtool, "test", "rules", "t.yaml"], cwd=tmp_path / "tests")
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def test_fixture_catalog_with_every_template_passes_promtool(tmp_path: Path) -> None:
    """The shop fixture uses every alert template, including a raw expr with its own test series."""
    promtool = require_tool("promtool")
    out = tmp_path / "out"
    result = obsgen("generate", "--catalogs", str(ROOT / "tests" / "fixtures" / "catalogs"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    check = run([promtool, "check", "rules", "--lint-fatal", *map(str, sorted((out / "rules").glob("*.yaml")))])
    assert check.returncode == 0, check.stdout + check.stderr
    for test in sorted((out / "rules" / "tests").glob("*.yaml")):
        res = run([promtool, "test", "rules", test.name], cwd=test.parent)
        assert res.returncode == 0, res.stdout + res.stderr

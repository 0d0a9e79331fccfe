"""The generated rules and rule tests, checked by promtool through `obsgen check`'s own functions, at the pinned
version (the image in CI) and at the Debian floor (2.42), for this repository and for the fixture catalogs that use
every alert template. The failing cases (a broken rule, a wrong expectation) are planted faults in test_check_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import ROOT, obsgen

RULE_FILES = sorted((ROOT / "rules").glob("*.yaml"))
TEST_FILES = sorted((ROOT / "rules" / "tests").glob("*.test.yaml"))


def test_generated_rule_files_exist() -> None:
    assert len(RULE_FILES) >= 2, "run `make generate`: rules/ is empty"
    assert len(TEST_FILES) == len(RULE_FILES)


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


@pytest.fixture(scope="session")
def fixture_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop fixture uses every alert template, including a raw expr with its own test series."""
    out = tmp_path_factory.mktemp("fixture-tree")
    result = obsgen("generate", "--catalogs", str(ROOT / "tests" / "fixtures" / "catalogs"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("which", ["pinned", "floor"])
@pytest.mark.parametrize("name", ["rules", "rule-tests"])
def test_fixture_catalog_with_every_template_passes_promtool(fixture_tree: Path, run_check, request: pytest.FixtureRequest,
                                                             name: str, which: str) -> None:
    chosen = request.getfixturevalue("runner" if which == "pinned" else "floor_runner")
    result = run_check(name, fixture_tree, chosen)
    assert result.passed, [str(f) for f in result.findings]
    assert result.summary == f"{len(list((fixture_tree / 'rules').glob('*.yaml')))} {'rule' if name == 'rules' else 'test'} files"


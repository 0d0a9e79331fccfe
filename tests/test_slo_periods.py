"""A 7-day and a 90-day SLO get burn alerts scaled to their period, proven by promtool.

The factors come from the workbook's budget shares and Sloth's formula (test_slo_windows.py checks them against
Sloth itself). Here each error ratio is chosen on the side of a threshold where scaled and unscaled (30-day) factors
disagree, so an alert set that forgot the period would fail: at 15% errors a 90-day 99% SLO tickets but must not page
(30-day factors would page), at 0.1% a 7-day 99.9% SLO tickets (30-day factors would stay silent).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import obsgen, require_tool, run

CATALOG = """
service: {name: shop, team: web}
metrics:
  - {name: shop_requests_total, type: counter, help: Requests., unit: requests, labels: {code: {values: ["200", "500"]}}}
slos:
  - name: quarter
    kind: availability
    objective: 99
    window: 90d
    errors: {metric: shop_requests_total, matchers: ['code="500"']}
    total: {metric: shop_requests_total}
  - name: week
    kind: availability
    objective: 99.9
    window: 7d
    errors: {metric: shop_requests_total, matchers: ['code="500"']}
    total: {metric: shop_requests_total}
"""
# (error ratio, tiers of the 90-day SLO, tiers of the 7-day SLO) after 40 minutes at that ratio.
CASES = [
    (0.20, {"critical", "warning"}, {"critical", "warning"}),  # 90d page slow pair: 18x 1% = 18%
    (0.15, {"warning"}, {"critical", "warning"}),  # 90d: under 18%, over the 9x ticket; 30-day factors would page
    (0.002, set(), {"critical", "warning"}),  # 7d page slow pair: 1.4x 0.1% = 0.14%; 30-day factors would not page
    (0.001, set(), {"warning"}),  # 7d ticket: 0.7x 0.1%; 30-day factors would stay silent
    (0.0, set(), set()),
]


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("periods")
    (root / "catalogs").mkdir()
    (root / "catalogs" / "shop.yaml").write_text(CATALOG)
    result = obsgen("generate", "--catalogs", str(root / "catalogs"), "--out", str(root / "out"), "--only", "rules,rule-tests")
    assert result.returncode == 0, result.stderr
    return root / "out" / "rules"


def test_scaled_windows_and_records(generated: Path) -> None:
    rules = (generated / "shop.yaml").read_text()
    for record in ("slo:sli_error:ratio_rate90d", "slo:sli_error:ratio_rate1w"):  # the period records, named as Sloth names them
        assert f"record: {record}" in rules
    for threshold in ("(43.2 * 0.01)", "(18 * 0.01)", "(9 * 0.01)", "(3 * 0.01)",
                      "(3.36 * 0.001)", "(1.4000000000000001 * 0.001)", "(0.7000000000000001 * 0.001)",
                      "(0.23333333333333334 * 0.001)"):
        assert threshold in rules


def test_generated_rule_tests_pass(generated: Path) -> None:
    result = run([require_tool("promtool"), "test", "rules", str(generated / "tests" / "shop.test.yaml")])
    assert result.returncode == 0, result.stdout + result.stderr


def _case(ratio: float, quarter: set[str], week: set[str]) -> dict:
    errors, good = ratio * 1000, (1 - ratio) * 1000
    expected = [{"labels": f'{{severity="{sev}", slo="{slo}"}}', "value": 1}
                for slo, tiers in (("quarter", quarter), ("week", week)) for sev in sorted(tiers)]
    return {
        "name": f"{ratio:.2%} of requests fail", "interval": "1m",
        "input_series": [{"series": 'shop_requests_total{code="500", job="shop"}', "values": f"0+{errors:g}x60"},
                         {"series": 'shop_requests_total{code="200", job="shop"}', "values": f"0+{good:g}x60"}],
        "promql_expr_test": [{"expr": 'count by (severity, slo) (ALERTS{alertstate="firing", service="shop"})',
                              "eval_time": "40m", "exp_samples": expected}],
    }


def test_burn_alerts_fire_at_the_scaled_rates(generated: Path) -> None:
    groups = [g["name"] for g in yaml.safe_load((generated / "shop.yaml").read_text())["groups"]]
    doc = {"rule_files": ["../shop.yaml"], "evaluation_interval": "1m", "group_eval_order": groups,
           "tests": [_case(*c) for c in CASES]}
    path = generated / "tests" / "periods.test.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run([require_tool("promtool"), "test", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_period_check_fails_with_unscaled_factors(generated: Path, tmp_path: Path) -> None:
    """The same cases against the 90-day SLO's rules with 30-day factors: promtool must refuse them."""
    text = (generated / "shop.yaml").read_text()
    for scaled, unscaled in (("(43.2 * 0.01)", "(14.4 * 0.01)"), ("(18 * 0.01)", "(6 * 0.01)"),
                             ("(9 * 0.01)", "(3 * 0.01)"), ("(3 * 0.01)", "(1 * 0.01)")):
        text = text.replace(scaled, unscaled)
    (tmp_path / "shop.yaml").write_text(text)
    groups = [g["name"] for g in yaml.safe_load(text)["groups"]]
    doc = {"rule_files": ["shop.yaml"], "evaluation_interval": "1m", "group_eval_order": groups, "tests": [_case(*CASES[1])]}
    (tmp_path / "t.test.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run([require_tool("promtool"), "test", "rules", "t.test.yaml"], cwd=tmp_path)
    assert result.returncode != 0 and 'severity="critical", slo="quarter"' in result.stdout + result.stderr

"""Valid in, valid out, as a property: any valid catalog generates, and the result passes its real consumers.

Random valid bundles (tests/catalog_strategies.py) go through `obsgen generate --catalogs DIR --out DIR` (the CLI,
in-process), then `promtool check rules --lint=all --lint-fatal`, `promtool test rules` on every generated test
file, and the project's dashboard lint on every dashboard. `make test` runs a few examples; `make fuzz` sets
OBSGEN_FUZZ=1 for many more. A failing example is printed as the catalog YAML that caused it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from catalog_strategies import bundle, catalog
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from obsgen.catalog import load_bundle
from obsgen.check.grafana_lint import Known, lint_dashboard
from obsgen.cli import main

from conftest import require_tool, run

FUZZ = os.environ.get("OBSGEN_FUZZ", "") not in ("", "0")
SETTINGS = settings(
    max_examples=400 if FUZZ else 10, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True,
)


def _write(catalogs: list[dict[str, Any]], directory: Path) -> None:
    directory.mkdir(parents=True)
    for data in catalogs:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=200)
        (directory / f"{data['service']['name']}.yaml").write_text(text, encoding="utf-8")


def _shown(catalogs: list[dict[str, Any]]) -> str:
    return "\n---\n".join(yaml.safe_dump(c, allow_unicode=True, sort_keys=False, width=200) for c in catalogs)


def generate(catalogs: list[dict[str, Any]], work: Path) -> Path:
    """Write the catalogs, run `obsgen generate` and return the output folder; fails on anything but exit 0."""
    _write(catalogs, work / "catalogs")
    out = work / "out"
    result = CliRunner().invoke(main, ["generate", "--catalogs", str(work / "catalogs"), "--out", str(out)])
    assert result.exit_code == 0, f"obsgen generate exited {result.exit_code}:\n{result.output}\n{_shown(catalogs)}"
    return out


def check_outputs(catalogs: list[dict[str, Any]], work: Path, out: Path) -> None:
    """promtool check rules, promtool test rules and the dashboard lint, each with the failing catalog shown."""
    promtool = require_tool("promtool")
    rule_files = sorted(str(p) for p in (out / "rules").glob("*.yaml"))
    assert rule_files, "no rule files were generated"
    checked = run([promtool, "check", "rules", "--lint=all", "--lint-fatal", *rule_files])
    assert checked.returncode == 0, f"promtool check rules:\n{checked.stdout}{checked.stderr}\n{_shown(catalogs)}"
    for test in sorted((out / "rules" / "tests").glob("*.test.yaml")):
        tested = run([promtool, "test", "rules", test.name], cwd=test.parent)
        assert tested.returncode == 0, f"promtool test rules {test.name}:\n{tested.stdout}{tested.stderr}\n{_shown(catalogs)}"
    known = Known.from_bundle(load_bundle(work / "catalogs"))
    findings = [str(f) for path in sorted((out / "dashboards").rglob("*.json"))
                for f in lint_dashboard(str(path.relative_to(out)), json.loads(path.read_text(encoding="utf-8")), known)]
    assert findings == [], "\n".join(findings) + "\n" + _shown(catalogs)


@SETTINGS
@given(catalogs=bundle())
def test_valid_catalogs_generate_output_that_passes_promtool_and_the_lint(catalogs: list[dict[str, Any]]) -> None:
    require_tool("promtool")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        check_outputs(catalogs, work, generate(catalogs, work))


@settings(max_examples=60 if FUZZ else 15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=catalog(0))
def test_strategy_builds_catalogs_the_validator_accepts(data: dict[str, Any]) -> None:
    """The strategy itself stays honest: what it builds must validate (cheap, so more examples)."""
    with tempfile.TemporaryDirectory() as tmp:
        _write([data], Path(tmp) / "catalogs")
        result = CliRunner().invoke(main, ["validate", "--catalogs", str(Path(tmp) / "catalogs")])
        assert result.exit_code == 0, result.output + "\n" + _shown([data])


def _break_rules(out: Path) -> None:
    rules = out / "rules" / "svc0.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("expr: ", "expr: sum(", 1), encoding="utf-8")


def _break_test(out: Path) -> None:
    test = out / "rules" / "tests" / "svc0.test.yaml"
    test.write_text(test.read_text(encoding="utf-8").replace("severity: info", "severity: critical", 1), encoding="utf-8")


def _break_dashboard(out: Path) -> None:
    overview = out / "dashboards" / "svc0" / "overview.json"
    overview.write_text(overview.read_text(encoding="utf-8").replace('"exemplar": true', '"exemplar": false'), encoding="utf-8")


@pytest.mark.parametrize(("breaker", "consumer"), [
    (_break_rules, "promtool check rules"), (_break_test, "promtool test rules"), (_break_dashboard, "[target-exemplar]"),
])
def test_the_property_can_fail(tmp_path: Path, breaker: Callable[[Path], None], consumer: str) -> None:
    """Each consumer the property relies on rejects a broken output, so a passing property means something."""
    require_tool("promtool")
    catalogs = [_tiny()]
    out = generate(catalogs, tmp_path)
    check_outputs(catalogs, tmp_path, out)  # the untouched output passes
    breaker(out)
    with pytest.raises(AssertionError, match=re.escape(consumer)):
        check_outputs(catalogs, tmp_path, out)


def test_a_histogram_without_a_latency_alert_or_panel_passes_the_lint(tmp_path: Path) -> None:
    """Issue 9, item 8: the fleet overview read such a histogram's raw buckets without exemplars, which the lint rejects.

    The fleet overview now reads only recorded series; the service overview reads the raw buckets, with exemplars."""
    require_tool("promtool")
    catalogs = [_tiny()]
    out = generate(catalogs, tmp_path)
    assert "_bucket" not in (out / "dashboards" / "fleet" / "overview.json").read_text(encoding="utf-8")
    assert '"exemplar": true' in (out / "dashboards" / "svc0" / "overview.json").read_text(encoding="utf-8")
    check_outputs(catalogs, tmp_path, out)


def _tiny() -> dict[str, Any]:
    """A gauge with a threshold alert, and a histogram nothing else refers to (issue 9, item 8)."""
    return {
        "service": {"name": "svc0", "namespace": "s0", "team": "web"},
        "metrics": [{"name": "s0_g0", "type": "gauge", "help": "A gauge.", "unit": "items"},
                    {"name": "s0_h0_seconds", "type": "histogram", "help": "Latency.", "unit": "seconds", "buckets": [0.1, 1]}],
        "alerts": [{"name": "S0High", "template": "threshold", "metric": "s0_g0", "threshold": 1, "severity": "info",
                    "summary": "High.", "description": "{{ $labels.job }} reads {{ $value | humanize }}."}],
    }

"""Names and values: whole-string patterns, bounded lengths, and label values that survive every output.

The bad-catalog corpus (tests/bad_catalogs/114-148) holds one located message per rejection; this file checks
the rules themselves: every schema pattern, every name that becomes a file name, and the escaping of quotes
and backslashes through the real promtool.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsgen.catalog import load_bundle, schema
from obsgen.catalog.text import bad_character
from obsgen.errors import CatalogError

from conftest import obsgen, require_tool, run

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "tests" / "bad_catalogs" / "_valid_base.yaml").read_text(encoding="utf-8"))


def _patterns(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(where, pattern) for every `pattern` and patternProperties key in the schema."""
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str) and node.get("type", "string") == "string":
            yield path, node["pattern"]
        for key in node.get("patternProperties", {}):
            yield f"{path}.patternProperties", key
        for key, value in node.items():
            yield from _patterns(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _patterns(value, f"{path}[{i}]")


PATTERNS = sorted(set(_patterns(schema.schema())))


def test_every_schema_pattern_is_anchored_to_the_whole_string() -> None:
    """JSON Schema's pattern is a search: a pattern without ^ and $ accepts anything that contains a match."""
    assert len(PATTERNS) >= 20
    loose = [f"{where}: {p}" for where, p in PATTERNS if not (p.startswith("^") and p.endswith("$"))]
    assert loose == []


@pytest.mark.parametrize(("where", "pattern"), PATTERNS)
def test_no_schema_pattern_accepts_a_final_newline(where: str, pattern: str) -> None:
    """Python's $ matches before a final newline; the validator gives $ the ECMA meaning (end of string)."""

    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(text=st.from_regex(pattern, fullmatch=True).filter(lambda s: "\n" not in s))
    def check(text: str) -> None:
        assert schema.compiled(pattern).search(text), (where, text)
        assert not schema.compiled(pattern).search(text + "\n"), (where, text)

    check()


def test_the_ecma_dollar_is_not_rewritten_inside_a_class_or_after_a_backslash() -> None:
    assert schema.compiled(r"^[$a]\$x$").pattern == r"^[$a]\$x\Z"


def _load(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    folder = tmp_path / "catalogs"
    folder.mkdir(exist_ok=True)
    (folder / "shop.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        load_bundle(folder)
    except CatalogError as exc:
        return [f"{p.path}: {p.message}" for p in exc.problems]
    return []


# Every name that becomes part of a file name: service (rules/NAME.yaml), alert (runbooks/SERVICE/NAME.md),
# dashboard slug (dashboards/SERVICE/SLUG.json), load test (k6/NAME.js), and those the generated names combine.
FILE_NAMES = {
    "service.name": (lambda d, v: d["service"].__setitem__("name", v), "s" * 64, "service.name"),
    "alert name": (lambda d, v: d["alerts"][0].__setitem__("name", v), "A" * 101, "alerts[0].name"),
    "SLO name": (lambda d, v: d["slos"][0].__setitem__("name", v), "s" * 64, "slos[0].name"),
    "job": (lambda d, v: d["service"].__setitem__("targets", [{"job": v, "addresses": ["a:1"]}]), "j" * 64,
            "service.targets[0].job"),
    "dashboard slug": (lambda d, v: d.__setitem__("dashboards", [{"title": "T", "slug": v, "rows": [
        {"title": "R", "panels": [{"title": "P", "kind": "value", "metric": "shop_queue_depth"}]}]}]), "d" * 64,
        "dashboards[0].slug"),
}


@pytest.mark.parametrize("name", sorted(FILE_NAMES))
def test_names_that_become_file_names_are_bounded(tmp_path: Path, name: str) -> None:
    setter, value, where = FILE_NAMES[name]
    data = json.loads(json.dumps(BASE))
    setter(data, value)
    problems = _load(tmp_path, data)
    assert problems == [f"{where}: {schema.short(value)} is {len(value)} characters long; at most {len(value) - 1} are allowed"]
    setter(data, value[:-1])
    assert _load(tmp_path, data) == []


def test_control_characters_are_refused_in_every_single_line_field_and_allowed_as_line_breaks_in_prose() -> None:
    assert bad_character("shop\n") == "a line break (\\n)"
    assert bad_character("a\u2028b") == "a line break (U+2028)"
    assert bad_character("a\x00b") == "a control character (U+0000)"
    assert bad_character("tab\there") == "a control character (\\t)"
    assert bad_character("two\nlines\tand a tab", multiline=True) is None
    assert bad_character("bell\a", multiline=True) == "a control character (U+0007)"
    assert bad_character('quote " backslash \\ and ünïcödé') is None


def test_quotes_and_backslashes_in_label_values_round_trip_through_promtool(tmp_path: Path) -> None:
    """A value with a quote and a backslash, declared, matched by an SLO and an alert, and written into the
    generated rules and test series: promtool parses both and the tests pass (the value was unescaped before)."""
    promtool = require_tool("promtool")
    value = 'say "hi" \\ bye'
    data = json.loads(json.dumps(BASE))
    data["metrics"][0]["labels"]["status"]["values"] = ["200", value]
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')  # as a PromQL string
    regex = value.replace("\\", "\\\\")  # the regex matching exactly the value
    data["slos"][0]["errors"]["matchers"] = [f'status="{escaped}"']
    data["alerts"].append({
        "name": "ShopOddErrors", "template": "error_ratio", "threshold": 0.1, "severity": "warning",
        "errors": {"metric": "shop_requests_total", "matchers": ['status=~"' + regex.replace("\\", "\\\\").replace('"', '\\"') + '"']},
        "total": {"metric": "shop_requests_total"}, "labels": {"note": value},
        "summary": "Odd errors.", "description": "{{ $value | humanizePercentage }} of {{ $labels.job }} fail.",
    })
    (tmp_path / "catalogs").mkdir()
    (tmp_path / "catalogs" / "shop.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = obsgen("generate", "--catalogs", "catalogs", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rules = tmp_path / "out" / "rules"
    assert f'status="{escaped}"' in (rules / "shop.yaml").read_text(encoding="utf-8")
    test_text = (rules / "tests" / "shop.test.yaml").read_text(encoding="utf-8")
    assert re.search(r'status=\\"say \\\\\\"hi\\\\\\" \\\\\\\\ bye\\"', test_text), "the test series does not carry the escaped value"
    checked = run([promtool, "check", "rules", "--lint=all", "--lint-fatal", str(rules / "shop.yaml")])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run([promtool, "test", "rules", "shop.test.yaml"], cwd=rules / "tests")
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize("value", ["5\n00", "5\r00", "5\x0000", "5\u202800"])
def test_line_breaks_and_controls_in_label_values_are_refused(tmp_path: Path, value: str) -> None:
    data = json.loads(json.dumps(BASE))
    data["metrics"][0]["labels"]["status"]["values"] = ["200", value]
    problems = _load(tmp_path, data)
    assert len(problems) == 1 and problems[0].startswith("metrics[0].labels.status.values[1]: contains a "), problems


def test_panel_units_are_the_ones_the_dashboard_lint_accepts() -> None:
    """Validation refuses a panel unit the lint would reject; the two vocabularies must stay the same."""
    from obsgen.catalog.build import CUSTOM_UNITS, GRAFANA_UNITS
    from obsgen.check.grafana_lint import KNOWN_UNITS, _units_ok

    assert set(GRAFANA_UNITS) == KNOWN_UNITS
    assert all(_units_ok(prefix + "x") for prefix in CUSTOM_UNITS)

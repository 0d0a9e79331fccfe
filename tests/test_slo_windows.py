"""Alert window sets as data: the built-in workbook sets, Sloth's AlertWindows files, and sets computed for any period,
each checked against what Sloth v0.16.0 itself generates for the same windows and period."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from obsgen import slo_windows
from obsgen.duration import parse_duration
from obsgen.errors import CatalogError
from obsgen.pipeline import load
from obsgen.plan.slo import slo_plan

from conftest import obsgen, require_sloth, require_tool, run, sloth_module

THRESHOLD = re.compile(r"\(([0-9.e+-]+) \* 0\.0009999999999999432\)")
RECORD = re.compile(r"record: (slo:sli_error:ratio_rate\S+)")
WORKBOOK = {"page": {"quick": (2, "5m", "1h"), "slow": (5, "30m", "6h")},
            "ticket": {"quick": (10, "2h", "1d"), "slow": (10, "6h", "3d")}}


def _spec(period: str, shares: dict = WORKBOOK) -> dict:
    return {"apiVersion": "sloth.slok.dev/v1", "kind": "AlertWindows", "spec": {"sloPeriod": period, **{
        tier: {speed: {"errorBudgetPercent": p, "shortWindow": s, "longWindow": long} for speed, (p, s, long) in pair.items()}
        for tier, pair in shares.items()}}}


def _sloth(tmp: Path, period: str, windows: Path | None) -> tuple[set[str], set[str]]:
    """Sloth's burn factors (as it prints them) and SLI record names for getting-started.yml at a period."""
    out = tmp / f"sloth-{period}.yaml"
    cmd = [require_sloth(), "generate", "-i", str(sloth_module() / "examples" / "getting-started.yml"), "-o", str(out),
           "--default-slo-period", period]
    if windows is not None:
        cmd += ["--slo-period-windows-path", str(windows)]
    result = run(cmd, timeout=120)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    return set(THRESHOLD.findall(text)), set(RECORD.findall(text))


def _ours(ws) -> tuple[set[str], set[str]]:
    factors = {repr(p.factor).removesuffix(".0") for t in ws.tiers for p in t.pairs}
    records = {f"slo:sli_error:ratio_rate{w}" for w in (*slo_windows.windows_of(ws), ws.period)}
    return factors, records


def test_built_in_sets_are_the_workbooks() -> None:
    google = slo_windows.builtin()["google-30d"]
    assert [(p.long, p.short, p.factor) for t in google.tiers for p in t.pairs] == [
        ("1h", "5m", 14.4), ("6h", "30m", 6.0), ("1d", "2h", 3.0), ("3d", "6h", 1.0)]
    assert slo_windows.builtin()["google-28d"].period == "4w"  # 28 days as Prometheus (and Sloth) print it


@pytest.mark.parametrize("period", ["30d", "28d"])
def test_built_in_sets_give_sloths_factors_and_records(tmp_path: Path, period: str) -> None:
    assert _ours(slo_windows.default_for(period)) == _sloth(tmp_path, period, None)


@pytest.mark.parametrize("name", ["7d", "custom-30d"])
def test_sloths_example_window_files_give_sloths_factors(tmp_path: Path, name: str) -> None:
    folder = sloth_module() / "examples" / "windows"
    data = yaml.safe_load((folder / f"{name}.yaml").read_text())
    ws, problems = slo_windows.from_spec(data, name, name)
    assert problems == [] and ws is not None
    assert _ours(ws) == _sloth(tmp_path, data["spec"]["sloPeriod"], folder)


@pytest.mark.parametrize("period", ["7d", "90d", "14d"])
def test_other_periods_are_scaled_as_sloth_scales_them(tmp_path: Path, period: str) -> None:
    """A computed set is the workbook's windows and budget shares with Sloth's factor formula: Sloth given the same
    shares for that period prints the same factors and records."""
    folder = tmp_path / "windows"
    folder.mkdir()
    (folder / f"{period}.yaml").write_text(yaml.safe_dump(_spec(period)))
    computed = slo_windows.computed(period)
    assert _ours(computed) == _sloth(tmp_path, period, folder)
    assert computed.page.quick.factor == pytest.approx(14.4 * parse_duration(period) / parse_duration("30d"))


def _catalog(tmp: Path, slo: str) -> Path:
    folder = tmp / "catalogs"
    folder.mkdir(exist_ok=True)
    (folder / "shop.yaml").write_text(f"""
service: {{name: shop, team: web}}
metrics:
  - {{name: shop_requests_total, type: counter, help: Requests., unit: requests, labels: {{code: {{values: ["200", "500"]}}}}}}
slos:
  - name: availability
    kind: availability
    objective: 99.9
    errors: {{metric: shop_requests_total, matchers: ['code="500"']}}
    total: {{metric: shop_requests_total}}
{slo}
""")
    return folder


def test_a_catalog_names_a_custom_set_from_its_windows_folder(tmp_path: Path) -> None:
    folder = _catalog(tmp_path, "    alert_windows: custom-30d")
    (folder / "windows").mkdir()
    shutil.copy(sloth_module() / "examples" / "windows" / "custom-30d.yaml", folder / "windows")
    bundle = load(folder).bundle
    sp = slo_plan(bundle.services[0], bundle.services[0].slos[0])
    assert sp.window_set is not None and sp.window_set.name == "custom-30d"
    assert sp.windows == ("2m", "15m", "30m", "1h", "3h", "12h", "1d12h")
    result = obsgen("generate", "--catalogs", str(folder), "--out", str(tmp_path / "out"), "--only", "rules,rule-tests")
    assert result.returncode == 0, result.stderr
    rules = (tmp_path / "out" / "rules" / "shop.yaml").read_text()
    assert "slo:sli_error:ratio_rate1d12h" in rules and "(4.8 * 0.001)" in rules  # 2% of 30 days in 3h: 4.8x
    test = run([require_tool("promtool"), "test", "rules", str(tmp_path / "out" / "rules" / "tests" / "shop.test.yaml")])
    assert test.returncode == 0, test.stdout + test.stderr


@pytest.mark.parametrize(("spec", "where", "message"), [
    ({"kind": "Other"}, ":1: kind:", "must be apiVersion sloth.slok.dev/v1, kind AlertWindows"),
    (_spec("30d", {**WORKBOOK, "page": {"quick": (2, "1h", "5m"), "slow": (5, "30m", "6h")}}),
     "spec.page.quick.shortWindow", "must be shorter than longWindow"),
    (_spec("1d"), "spec.ticket.slow.longWindow", "must not be longer than the SLO period"),
    (_spec("30d", {**WORKBOOK, "ticket": {"quick": (0, "2h", "1d"), "slow": (10, "6h", "3d")}}),
     "spec.ticket.quick.errorBudgetPercent", "must be a number above 0 and at most 100"),
    (_spec("30x"), "spec.sloPeriod", "bad duration '30x'"),
])
def test_a_bad_window_file_is_one_located_line_each(tmp_path: Path, spec: dict, where: str, message: str) -> None:
    folder = _catalog(tmp_path, "")
    (folder / "windows").mkdir()
    (folder / "windows" / "mine.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    with pytest.raises(CatalogError) as caught:
        load(folder)
    lines = [str(p) for p in caught.value.problems]
    assert any(where in line and message in line and re.match(r".*/windows/mine\.yaml:\d+:", line) for line in lines), lines


@pytest.mark.parametrize(("slo", "message"), [
    ("    alert_windows: nope", "slos[0].alert_windows: no alert window set 'nope'; known: google-28d, google-30d"),
    ("    alert_windows: google-28d\n    window: 30d", "slos[0].window: the window set 'google-28d' is for a 4w period, not 30d"),
    ("    window: 2d", "slos[0].window: SLO period 2d is shorter than the 3d window of the google-2d alert windows"),
])
def test_a_catalog_naming_a_window_set_wrongly_is_located(tmp_path: Path, slo: str, message: str) -> None:
    with pytest.raises(CatalogError) as caught:
        load(_catalog(tmp_path, slo))
    assert any(message in str(p) for p in caught.value.problems), [str(p) for p in caught.value.problems]

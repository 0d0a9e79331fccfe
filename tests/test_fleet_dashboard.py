"""The fleet overview stays usable whatever the fleet size: a fixed panel count, lint-clean, at 5 and at 1,000."""

from __future__ import annotations

import json

import pytest
from fleet_fixture import fleet_plan

from obsgen.check.grafana_lint import Known, lint_dashboard
from obsgen.emit.grafana import emit
from obsgen.settings import Settings

MAX_PANELS = 60  # issue 10's bound at 1,000 services


@pytest.fixture(scope="session")
def overviews() -> dict[int, dict]:
    out = {}
    for size in (5, 1000):
        plan = fleet_plan(size)
        files = emit(plan, Settings())
        out[size] = json.loads(files["dashboards/fleet/overview.json"])
        out[size]["_known"] = Known.from_plan(plan)
    return out


def test_panel_count_does_not_grow_with_the_fleet(overviews: dict[int, dict]) -> None:
    small, large = (len(overviews[n]["panels"]) for n in (5, 1000))
    assert small == large <= MAX_PANELS
    # Services are listed inside panels (one variable option each), not one row of panels per service.
    service = next(v for v in overviews[1000]["templating"]["list"] if v["name"] == "service")
    assert len(service["query"].split(",")) == 1001


def test_both_sizes_are_lint_clean(overviews: dict[int, dict]) -> None:
    for size, dash in overviews.items():
        known = dash.pop("_known")
        assert [str(f) for f in lint_dashboard(f"fleet-{size}", dash, known)] == []


def test_the_bound_can_fail() -> None:
    """The old layout (a row of five stats per service) breaks the bound at 1,000 services."""
    old_layout = 1000 * (1 + 5)
    assert old_layout > MAX_PANELS

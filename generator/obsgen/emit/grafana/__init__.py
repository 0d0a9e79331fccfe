"""Grafana: one JSON file per dashboard under dashboards/, and provisioning under compose/grafana/."""

from __future__ import annotations

from obsgen.emit.grafana import provisioning
from obsgen.emit.grafana.dashboards import bundle_dashboards
from obsgen.emit.grafana.render import render
from obsgen.plan import Plan
from obsgen.settings import Settings

ROOTS = ("dashboards", "compose/grafana")


def emit(plan: Plan, settings: Settings) -> dict[str, str]:
    """Every dashboard of the plan plus Grafana's provisioning files."""
    files = {spec.path: render(spec) for spec in bundle_dashboards(plan)}
    files.update(provisioning.emit())
    return files

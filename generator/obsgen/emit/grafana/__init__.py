"""Grafana: one JSON file per dashboard under dashboards/, and provisioning under compose/grafana/.

Two outputs live here: `dashboards` (grafanalib, imported only when dashboards are drawn) and `provisioning`.
"""

from __future__ import annotations

from obsgen.emit.grafana import provisioning
from obsgen.plan import Plan
from obsgen.settings import Settings

ROOTS = ("dashboards", "compose/grafana")


def emit_dashboards(plan: Plan, settings: Settings) -> dict[str, str]:
    """Every dashboard of the plan, in the folder layout the project chose (per service or per team)."""
    from obsgen.emit.grafana.dashboards import iter_dashboards
    from obsgen.emit.grafana.render import render

    return {spec.path: render(spec) for spec in iter_dashboards(plan, settings.dashboard_folders)}


def emit_provisioning(plan: Plan, settings: Settings) -> dict[str, str]:
    """Grafana's datasources and dashboard provider for the local stack."""
    return provisioning.emit(settings.command)


def emit(plan: Plan, settings: Settings) -> dict[str, str]:
    """Every dashboard of the plan plus Grafana's provisioning files."""
    return {**emit_dashboards(plan, settings), **emit_provisioning(plan, settings)}

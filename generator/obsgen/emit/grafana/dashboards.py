"""Which dashboards a plan gets: per service an overview, an SLO dashboard and the catalog's own; then the fleet's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from obsgen.emit.grafana.catalog import catalog_dashboard
from obsgen.emit.grafana.fleet import alerts_overview, fleet_overview, load_tests_overview
from obsgen.emit.grafana.parts import dashboard_path
from obsgen.emit.grafana.service import service_overview
from obsgen.emit.grafana.slo import slo_dashboard
from obsgen.emit.grafana.spec import DashboardSpec
from obsgen.plan import Plan


def bundle_dashboards(plan: Plan, folders: str = "service") -> list[DashboardSpec]:
    """Every dashboard of the plan, in a stable order.

    folders="service" files a service's dashboards under dashboards/<service>/<slug>.json; "team" under
    dashboards/<team>/<uid>.json, named by the UID because two services of a team both have an overview.
    """
    return list(iter_dashboards(plan, folders))


def iter_dashboards(plan: Plan, folders: str = "service") -> Iterator[DashboardSpec]:
    """bundle_dashboards one at a time, so a renderer holds one service's specs, not the fleet's (peak memory)."""
    for sp in plan.services:
        mine: list[DashboardSpec] = [service_overview(sp, plan.scope)]
        slo = slo_dashboard(sp, plan.scope)
        if slo is not None:
            mine.append(slo)
        mine.extend(catalog_dashboard(sp, dash, plan.scope) for dash in sp.service.dashboards)
        if folders == "team":
            mine = [replace(spec, path=dashboard_path(sp.service.team, spec.uid)) for spec in mine]
        yield from mine
    if plan.services:
        yield fleet_overview(plan)
        yield alerts_overview(plan)
    if any(sp.service.load_tests for sp in plan.services):
        yield load_tests_overview(plan)

"""Which dashboards a plan gets: per service an overview, an SLO dashboard and the catalog's own; then the fleet's."""

from __future__ import annotations

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
    out: list[DashboardSpec] = []
    for sp in plan.services:
        mine: list[DashboardSpec] = [service_overview(sp, plan.scope)]
        slo = slo_dashboard(sp, plan.scope)
        if slo is not None:
            mine.append(slo)
        mine.extend(catalog_dashboard(sp, dash, plan.scope) for dash in sp.service.dashboards)
        if folders == "team":
            mine = [replace(spec, path=dashboard_path(sp.service.team, spec.uid)) for spec in mine]
        out.extend(mine)
    if plan.services:
        out.append(fleet_overview(plan))
        out.append(alerts_overview(plan))
    if any(sp.service.load_tests for sp in plan.services):
        out.append(load_tests_overview(plan))
    return out

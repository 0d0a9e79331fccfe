"""Which dashboards a plan gets: per service an overview, an SLO dashboard and the catalog's own; then the fleet's."""

from __future__ import annotations

from obsgen.emit.grafana.catalog import catalog_dashboard
from obsgen.emit.grafana.fleet import alerts_overview, fleet_overview, load_tests_overview
from obsgen.emit.grafana.service import service_overview
from obsgen.emit.grafana.slo import slo_dashboard
from obsgen.emit.grafana.spec import DashboardSpec
from obsgen.plan import Plan


def bundle_dashboards(plan: Plan) -> list[DashboardSpec]:
    """Every dashboard of the plan, in a stable order."""
    out: list[DashboardSpec] = []
    for sp in plan.services:
        out.append(service_overview(sp, plan.scope))
        slo = slo_dashboard(sp, plan.scope)
        if slo is not None:
            out.append(slo)
        out.extend(catalog_dashboard(sp, dash, plan.scope) for dash in sp.service.dashboards)
    if plan.services:
        out.append(fleet_overview(plan))
        out.append(alerts_overview(plan))
    if any(sp.service.load_tests for sp in plan.services):
        out.append(load_tests_overview(plan))
    return out

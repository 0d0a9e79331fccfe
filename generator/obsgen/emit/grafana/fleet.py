"""Dashboards across services: the fleet overview, every firing alert, and the k6 load tests.

The fleet overview lists services in tables and bar gauges over series every service shares (SLO records,
ALERTS, up), so its panel count is fixed whatever the fleet size; a service's own traffic and latency stay
on its overview dashboard, one click away.
"""

from __future__ import annotations

from obsgen import model as m
from obsgen import naming
from obsgen.emit.grafana.parts import (
    FIRING,
    alert_annotation,
    dashboard_path,
    firing_table,
    runbook_page,
    service_matcher,
    variables,
)
from obsgen.emit.grafana.queries import INSTANCE, JOB
from obsgen.emit.grafana.spec import DashboardSpec, Link, PanelSpec, Query, RowSpec, Variable, stable_uid
from obsgen.plan import Plan
from obsgen.promql import Agg, Binary, Call, Expr, Number, agg, compare, either, eq, label_values, scalar_vector, vector

FLEET = "fleet"
LISTED = 15  # rows a bar gauge shows: the worst services, not all of them
SERVICE_VAR = m.Matcher("service", "=~", "$service")
SERVICE_LINK = Link("Open the dashboards of ${__data.fields.service}", "/dashboards?tag=${__data.fields.service}")


def _count_or_zero(expr: Expr) -> Expr:
    return either(agg("count", expr), scalar_vector(0), layout="inline")


def _worst(op: str, expr: Expr) -> Agg:
    return Agg(op, expr, param=Number(LISTED))


def _service_variable(plan: Plan) -> Variable:
    services = tuple(sp.service.name for sp in plan.services) + ("obsgen",)
    return Variable("service", "Service", ",".join(services), kind="custom")


def _slo_rows(plan: Plan) -> list[RowSpec]:
    slos = [s for sp in plan.services for s in sp.slos]
    if not slos:
        return []
    remaining = vector(naming.SLO_BUDGET_REMAINING, (SERVICE_VAR,))
    panels = [
        PanelSpec("Least error budget left", f"The {LISTED} SLOs with the least of their error budget left; below 0 the "
                  "SLO is missed.", "bargauge", "percentunit", (Query(_worst("bottomk", remaining), "{{service}} {{slo}}",
                                                                      instant=True),),
                  min=0, max=1, thresholds=((None, "red"), (0.25, "orange"), (0.5, "green"))),
    ]
    for window in sorted({s.fast for s in slos}):
        burn = Binary("/", vector(naming.sli_error(window), (SERVICE_VAR,)), vector(naming.SLO_BUDGET, (SERVICE_VAR,)),
                      on=naming.SLO_LABELS)
        panels.append(PanelSpec(
            f"Fastest burn ({window})", f"The {LISTED} SLOs spending their error budget fastest over {window}: the error "
            "ratio divided by the budget (1x spends it exactly over the SLO period).", "bargauge", "suffix:x",
            (Query(_worst("topk", burn), "{{service}} {{slo}}", instant=True),), thresholds=((1, "orange"), (6, "red"))))
    panels.append(PanelSpec(
        "Every SLO", "Error budget left of every SLO, worst first; click a row to open the service's dashboards.", "table",
        "percentunit", (Query(Call("sort", (remaining,)), instant=True, table=True),), width=24, height=10,
        links=(SERVICE_LINK,), hide_fields=("Time", "__name__")))
    return [RowSpec("Error budgets", tuple(panels))]


def fleet_overview(plan: Plan) -> DashboardSpec:
    """Every service at a glance, in a fixed number of panels: what fires, which SLOs burn, which targets are down."""
    up = vector("up", (JOB, INSTANCE))
    firing = vector("ALERTS", (FIRING, SERVICE_VAR))
    has_slos = any(sp.slos for sp in plan.services)
    now = [PanelSpec("Services with firing alerts", "Services that have at least one alert firing now.", "stat", "short",
                     (Query(_count_or_zero(agg("count", firing, ("service",))), "services"),), width=6, height=5,
                     thresholds=((1, "red"),))]
    if has_slos:
        out_of_budget = compare(vector(naming.SLO_BUDGET_REMAINING, (SERVICE_VAR,)), "<", 0)
        now.append(PanelSpec("SLOs out of error budget", "SLOs whose error budget for the period is spent.", "stat", "short",
                             (Query(_count_or_zero(out_of_budget), "SLOs"),), width=6, height=5, thresholds=((1, "red"),)))
    now += [
        PanelSpec("Scrape targets down", "Scrape targets Prometheus cannot reach now.", "stat", "short",
                  (Query(_count_or_zero(compare(up, "==", 0)), "targets"),), width=6, height=5, thresholds=((1, "red"),)),
        PanelSpec("Scrape targets up", "Share of every scrape target that answers.", "stat", "percentunit",
                  (Query(agg("avg", up), "up"),), width=6, height=5, min=0, max=1,
                  thresholds=((None, "red"), (0.999, "green"))),
    ]
    rows = [RowSpec("Now", tuple(now)), *_slo_rows(plan), RowSpec("Alerts and targets", (
        PanelSpec("Firing alerts by service", f"The {LISTED} services with the most alerts firing now.", "bargauge", "short",
                  (Query(_worst("topk", agg("count", firing, ("service",))), "{{service}}", instant=True),),
                  thresholds=((1, "orange"), (3, "red"))),
        # Every target, the ones that do not answer (0) first: a table of only the down ones would read "no data" when all is well.
        PanelSpec("Scrape targets, down first", "Every scrape target by job and instance, 0 (not answering) first.", "table",
                  "short", (Query(Call("sort", (up,)), instant=True, table=True),), hide_fields=("Time", "__name__"),
                  thresholds=((None, "red"), (1, "green"))),
    ))]
    return DashboardSpec(
        uid=stable_uid("obsgen", FLEET, "overview"), title="Fleet / Overview", path=dashboard_path(FLEET, "overview"),
        description="Every service at a glance: firing alerts, error budgets and scrape targets; each service's traffic and "
                    "latency are on its own overview. Generated by obsgen from "
                    + ", ".join(sp.service.source for sp in plan.services) + ".",
        tags=("obsgen", FLEET), rows=tuple(rows),
        variables=variables((), plan.scope, (_service_variable(plan),)),
        annotations=(alert_annotation(SERVICE_VAR),), tag_links=("obsgen",), scope=plan.scope,
    )


def alerts_overview(plan: Plan) -> DashboardSpec:
    """Firing and pending alerts of every service from Prometheus' ALERTS series, with runbook links."""
    services = tuple(sp.service.name for sp in plan.services) + ("obsgen",)
    counts = []
    for state, severity, colour in (("firing", "critical", "red"), ("firing", "warning", "orange"), ("firing", "info", "blue"),
                                    ("pending", "", "yellow")):
        match = (eq("alertstate", state), *((eq("severity", severity),) if severity else ()), SERVICE_VAR)
        counts.append(PanelSpec(
            f"{state.capitalize()} {severity}".strip(), f"Alerts {'of severity ' + severity + ' ' if severity else ''}{state} now.",
            "stat", "short", (Query(_count_or_zero(vector("ALERTS", match)), "alerts"),),
            width=6, height=5, thresholds=((1, colour),)))
    by_page: dict[str, list[str]] = {}
    for sp in plan.services:
        page = runbook_page(sp)
        if page:
            by_page.setdefault(page.replace(f"/{sp.service.name}.md", "/${__data.fields.service}.md"), []).append(sp.service.name)
    tables = []
    for pattern, names in sorted(by_page.items()):
        match = (m.Matcher("service", "=~", "|".join(names)),) if len(by_page) > 1 else ()
        tables.append(firing_table(
            "Firing alerts" + (f" ({', '.join(names)})" if len(by_page) > 1 else ""), (*match, SERVICE_VAR), pattern,
            "Every firing alert with its labels; click an alert to open its service's runbook page.",
        ))
    firing = vector("ALERTS", (FIRING, SERVICE_VAR))
    active = Binary("-", Call("time", ()), vector("ALERTS_FOR_STATE", (SERVICE_VAR,)))
    rows = (
        RowSpec("Now", tuple(counts)),
        RowSpec("Firing", (
            *tables,
            PanelSpec("Active for", "How long each pending or firing alert has been active (from ALERTS_FOR_STATE).", "table", "s",
                      (Query(active, instant=True, table=True),), width=24, height=7, hide_fields=("Time", "__name__")),
        )),
        RowSpec("History", (
            PanelSpec("Firing alerts by severity", "Number of firing alerts over time, by severity.", "timeseries", "short",
                      (Query(agg("count", firing, ("severity",)), "{{severity}}"),), stack=True),
            PanelSpec("Firing alerts by service", "Number of firing alerts over time, by service.", "timeseries", "short",
                      (Query(agg("count", firing, ("service",)), "{{service}}"),), stack=True),
        )),
    )
    return DashboardSpec(
        uid=stable_uid("obsgen", FLEET, "alerts"), title="Fleet / Alerts", path=dashboard_path(FLEET, "alerts"),
        description="Firing and pending alerts across services from Prometheus' ALERTS, with runbook links; Alertmanager "
                    "groups and silences are one click away in Grafana's alerting view. Generated by obsgen.",
        tags=("obsgen", FLEET, "alerts"), rows=rows,
        variables=variables((), plan.scope, (_service_variable(plan),)),
        annotations=(alert_annotation(service_matcher(services)),),
        links=(Link("Alertmanager: alert groups", "/alerting/groups?alertmanager=Alertmanager"),
               Link("Alertmanager: silences", "/alerting/silences?alertmanager=Alertmanager")),
        tag_links=("obsgen",), scope=plan.scope,
    )


def load_tests_overview(plan: Plan) -> DashboardSpec:
    """The k6 load tests' results (the plan's load panels over k6's remote-write metrics), filtered by load_test."""
    panels = tuple(
        PanelSpec(p.title, f"{p.title} per load test from k6's Prometheus remote-write output "
                           f"({', '.join(p.series)}); empty until a k6 run pushes results.",
                  "timeseries", p.unit, (Query(p.expr, p.legend),))
        for p in plan.load_panels)
    services = tuple(sp.service.name for sp in plan.services)
    return DashboardSpec(
        uid=stable_uid("obsgen", FLEET, "load-tests"), title="Fleet / Load tests", path=dashboard_path(FLEET, "load-tests"),
        description="Results of the k6 load tests (requests/s, p95/p99 duration, failures, checks, VUs) as k6 pushes them "
                    "through Prometheus remote write. Generated by obsgen from "
                    + ", ".join(sp.service.source for sp in plan.services if sp.service.load_tests) + ".",
        tags=("obsgen", FLEET, "load-tests"), rows=(RowSpec("Load tests", panels),),
        # k6 series carry the script's tags, not job/instance: load_test is the filter that matters here.
        variables=variables((), plan.scope, (Variable("load_test", "Load test", label_values(vector("k6_http_reqs_total", scoped=False), "load_test", plan.scope)),)),
        annotations=(alert_annotation(service_matcher((*services, "obsgen"))),), tag_links=("obsgen",), scope=plan.scope,
    )

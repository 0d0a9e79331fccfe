"""A service's RED overview: traffic, errors, latency by route, saturation, firing alerts and logs."""

from __future__ import annotations

from obsgen import logql
from obsgen import model as m
from obsgen.emit.grafana.parts import alert_annotation, dashboard_path, firing_table, runbook_links, runbook_page, variables
from obsgen.emit.grafana.queries import (
    INSTANCE,
    JOB,
    Signals,
    error_ratio,
    jobs_regex,
    legend,
    rate_of,
    rate_unit,
    raw_quantile,
    value_unit,
)
from obsgen.emit.grafana.spec import LOKI_VAR, DashboardSpec, PanelSpec, Query, RowSpec, Variable, stable_uid
from obsgen.plan import ServicePlan
from obsgen.promql import Scope, agg, eq, fmt_number, ratio, vector

QUANTILES = (0.5, 0.95, 0.99)


def title_of(metric: m.Metric, namespace: str) -> str:
    """divan_socketio_clients -> Socketio clients: the metric name without its namespace and _total."""
    name = metric.base
    if namespace and name.startswith(namespace + "_"):
        name = name[len(namespace) + 1:]
    return name.replace("_", " ").capitalize()


def _traffic_row(sp: ServicePlan, sig: Signals) -> RowSpec:
    assert sig.total is not None
    svc, name = sp.service, sp.service.display_name
    route = sig.route(sig.total.metric)
    unit = rate_unit(svc, sig.total.metric)
    decl = svc.metric(sig.total.metric)
    noun = "Request" if decl is None or decl.unit == "requests" else title_of(decl, svc.namespace)
    split = route[0] if route else "job"
    panels = [
        PanelSpec(f"{noun} rate", f"{noun} per second ({sig.total.metric}) of {name}, all routes.", "stat", unit,
                  (Query(rate_of(sp, sig.total.metric, sig.total.matchers, ()), "requests/s"),), width=6, height=5),
    ]
    if sig.errors is not None:
        panels.append(PanelSpec(
            "Error ratio", "Share of requests that failed, over the last rate window.", "stat", "percentunit",
            (Query(error_ratio(sp, sig, ()), "errors"),), width=6, height=5, thresholds=((0.01, "orange"), (0.05, "red")),
        ))
    panels.append(PanelSpec(
        f"{noun} rate by {split}", f"{noun} per second of {name}, split by {split}.", "timeseries", unit,
        (Query(rate_of(sp, sig.total.metric, sig.total.matchers, route or ("job",)), legend(route or ("job",), "")),),
        stack=True,
    ))
    if sig.errors is not None:
        by = sig.common_route() or ("job",)
        panels.append(PanelSpec(
            f"Error ratio by {by[0]}", f"Failed share of requests, by {by[0]}; the error-ratio alerts watch this.",
            "timeseries", "percentunit", (Query(error_ratio(sp, sig, by), legend(by, "")),),
            thresholds=((0.05, "red"),), threshold_lines=True,
        ))
    return RowSpec("Traffic and errors", tuple(panels))


def _latency_row(sp: ServicePlan, lat: m.Selector, sig: Signals) -> RowSpec:
    svc, name = sp.service, sp.service.display_name
    route = sig.route(lat.metric)
    unit = value_unit(svc, lat.metric)
    overall = tuple(Query(raw_quantile(lat.metric, lat.matchers, q, ()), f"p{fmt_number(q * 100)}", exemplar=True)
                    for q in QUANTILES)
    panels = [PanelSpec("Latency p50 / p95 / p99", f"Latency quantiles of {name} over all routes; dots are exemplars "
                                                   "that open the request's trace in Jaeger.", "timeseries", unit, overall)]
    for q in QUANTILES if route else ():
        panels.append(PanelSpec(
            f"p{fmt_number(q * 100)} latency by {route[0]}", f"{fmt_number(q * 100)}th percentile latency per {route[0]}; "
            "exemplars link to traces.", "timeseries", unit,
            (Query(raw_quantile(lat.metric, lat.matchers, q, route), legend(route, ""), exemplar=True),),
        ))
    return RowSpec("Latency", tuple(panels))


def saturation_row(sp: ServicePlan) -> RowSpec:
    """Targets up, dependency checks (0/1 gauges), every other gauge and the summaries of the service."""
    svc = sp.service
    up = agg("avg", vector("up", (JOB, INSTANCE)), ("job",))
    panels = [PanelSpec("Scrape targets up", "Share of the service's scrape targets that answer; below 100% some are down.",
                        "stat", "percentunit", (Query(up, "{{job}}"),),
                        width=6, height=5, min=0, max=1, thresholds=((None, "red"), (0.999, "green")))]
    for metric in svc.metrics:
        own = vector(metric.name, (JOB, INSTANCE))
        first = metric.label_names[:1]
        title = title_of(metric, svc.namespace)
        if metric.type == "gauge" and metric.unit == "bool":
            panels.append(PanelSpec(title, metric.help, "stat", "bool_yes_no", (Query(agg("min", own, ("job",)), "{{job}}"),),
                                    width=6, height=5, thresholds=((None, "red"), (1, "green"))))
        elif metric.type == "gauge":
            panels.append(PanelSpec(title, metric.help, "timeseries", value_unit(svc, metric.name),
                                    (Query(agg("sum", own, first or ("job",)), legend(first or ("job",), "")),)))
        elif metric.type == "summary" and metric.quantiles:
            panels.append(PanelSpec(title, metric.help + " (client-side quantiles).", "timeseries", value_unit(svc, metric.name),
                                    (Query(agg("max", own, ("quantile", *first)), "q{{quantile}} " + legend(first, "")),)))
        elif metric.type == "summary":
            # A summary without quantiles (Python's client) has only _sum and _count: show the mean.
            by = first or ("job",)
            mean = ratio(rate_of(sp, metric.name + "_sum", (), by), rate_of(sp, metric.name + "_count", (), by))
            panels.append(PanelSpec(f"{title} (mean)", metric.help + " Mean over the rate window.", "timeseries",
                                    value_unit(svc, metric.name), (Query(mean, legend(by, "")),)))
    return RowSpec("Saturation and dependencies", tuple(panels))


def log_query(svc: m.Service) -> str:
    """The service's log streams: the OTLP pipeline labels them service_name (the OTel service.name)."""
    # Named literally: with $job at "All" (.*) the selector would match every stream, which Loki refuses.
    names = jobs_regex(tuple(dict.fromkeys((svc.name, *svc.jobs))))
    return logql.line_filter(logql.streams("service_name", names), "$search")


def service_overview(sp: ServicePlan, scope: Scope) -> DashboardSpec:
    """RED overview: traffic, errors, latency by route, saturation, firing alerts and logs."""
    svc = sp.service
    sig = Signals(svc)
    name = svc.display_name
    rows: list[RowSpec] = []
    if sig.total is not None:
        rows.append(_traffic_row(sp, sig))
    if sig.latency is not None:
        rows.append(_latency_row(sp, sig.latency, sig))
    rows.append(saturation_row(sp))
    rows.append(RowSpec("Alerts", (firing_table(
        "Firing alerts", (eq("service", svc.name),), runbook_page(sp),
        f"Alerts of {name} firing now, from Prometheus' ALERTS series; click an alert for its service's runbook page."),)))
    rows.append(RowSpec("Logs", (PanelSpec(
        "Logs", f"Log lines of {name} from Loki, filtered by the search box (a regular expression); trace ids link to Jaeger.",
        "logs", "short", (Query(log_query(svc)),), width=24, height=10, datasource=LOKI_VAR),)))
    search = Variable("search", "Log search (regex)", "", kind="textbox", multi=False, include_all=False)
    return DashboardSpec(
        uid=stable_uid(svc.name, "overview"), title=f"{name} / Overview", path=dashboard_path(svc.name, "overview"),
        description=f"{svc.description or name}: RED overview. Generated by obsgen from {svc.source}.",
        tags=("obsgen", svc.name, "red"), rows=tuple(rows), variables=variables(svc.jobs, scope, (search,)),
        annotations=(alert_annotation(eq("service", svc.name)),), links=runbook_links(sp), tag_links=(svc.name,), loki=True,
        scope=scope,
    )

"""Which dashboards a bundle gets and what their panels ask Prometheus, built from the model and its plan.

Queries read the plan's recording rules where it made them; otherwise they rate raw counters over
`$__rate_interval`. Latency panels rate raw histogram buckets instead, because only raw series carry
the exemplars that link a slow request to its trace.
"""

from __future__ import annotations

import re

from obsgen import model as m
from obsgen.duration import parse_duration
from obsgen.emit.grafana.spec import (
    LOKI_VAR,
    AlertAnnotation,
    DashboardSpec,
    Link,
    PanelSpec,
    Query,
    RowSpec,
    Variable,
    stable_uid,
)
from obsgen.emit.k6 import LOAD_TEST_PANELS
from obsgen.plan import BundlePlan, ServicePlan
from obsgen.promql import aggregate, fmt_number, selector
from obsgen.slo_windows import load_windows

JOB = m.Matcher("job", "=~", "$job")
INSTANCE = m.Matcher("instance", "=~", "$instance")
RATE = "$__rate_interval"
ROUTE_LABELS = ("route", "handler", "endpoint", "path", "operation", "task", "name")
FLEET = "fleet"
RESERVED_SLUGS = ("overview", "slo")  # the generated per-service dashboards

# Catalog metric units -> Grafana unit ids, for values and for per-second rates of them.
VALUE_UNITS = {
    "seconds": "s", "bytes": "bytes", "ratio": "percentunit", "percent": "percent", "bool": "bool_yes_no",
    "requests": "short", "events": "short", "messages": "short", "tasks": "short", "clients": "short",
    "connections": "short", "items": "short", "errors": "short", "none": "short",
}
RATE_UNITS = {
    "requests": "reqps", "events": "eps", "messages": "mps", "tasks": "ops", "errors": "eps", "bytes": "Bps",
    "seconds": "s", "items": "ops", "connections": "ops", "clients": "ops", "none": "ops",
}


# -- query helpers -------------------------------------------------------------------------------


def _legend(by: tuple[str, ...], fallback: str) -> str:
    return " ".join("{{" + b + "}}" for b in by) if by else fallback


def rate_of(sp: ServicePlan, series: str, matchers: tuple[m.Matcher, ...], by: tuple[str, ...],
            scope: tuple[m.Matcher, ...] = (JOB,), agg: str = "sum") -> str:
    """Per-second rate of a counter series: the plan's 5m record when there is one, else rate() over $__rate_interval."""
    record = sp.rate_record(series)
    if record is not None:
        return aggregate(agg, by, selector(record, (*matchers, *scope)))
    return aggregate(agg, by, f"rate({selector(series, (*matchers, *scope, INSTANCE))}[{RATE}])")


def raw_quantile(series: str, matchers: tuple[m.Matcher, ...], q: float, by: tuple[str, ...],
                 scope: tuple[m.Matcher, ...] = (JOB,)) -> str:
    """histogram_quantile over raw buckets, so exemplars come back with the curve."""
    inner = f"rate({selector(series + '_bucket', (*matchers, *scope, INSTANCE))}[{RATE}])"
    return f"histogram_quantile({fmt_number(q)}, {aggregate('sum', ('le', *by), inner)})"


def dashboard_expr(expr: str) -> str:
    """A catalog expr panel as a dashboard wants it: $instance beside its $job filter, rates over $__rate_interval."""
    # Raw series only: recording rules have aggregated the instance label away.
    expr = re.sub(r'([a-zA-Z_][a-zA-Z0-9_:]*)\{([^{}]*?)job=~"\$job"',
                  lambda mt: mt.group(0) if ":" in mt.group(1) or "instance=" in mt.group(2)
                  else f'{mt.group(1)}{{{mt.group(2)}job=~"$job", instance=~"$instance"', expr)
    # A fixed [5m] hides short spikes when zoomed in and leaves gaps when zoomed out; Grafana picks the range instead.
    return re.sub(r"(\bi?rate\s*\([^\[\]()]*)\[[^\]:]+\]", r"\1[$__rate_interval]", expr)


# -- the RED signals of a service ----------------------------------------------------------------


class Signals:
    """Requests, errors and latency of a service, taken from its SLOs, then its alerts, then its metrics."""

    def __init__(self, svc: m.Service) -> None:
        self.total: m.Selector | None = None
        self.errors: m.Selector | None = None
        self.latency: m.Selector | None = None
        for slo in svc.slos:
            if slo.kind == "availability" and self.total is None:
                self.total, self.errors = slo.total, slo.errors
            if slo.kind == "latency" and self.latency is None:
                self.latency = slo.metric
        for alert in svc.alerts:
            if alert.template == "error_ratio" and self.total is None and alert.total:
                self.total, self.errors = alert.total[0], alert.errors
            if alert.template == "latency_quantile" and self.latency is None:
                self.latency = alert.metric
        if self.total is None:
            counter = next((x for x in svc.metrics if x.type == "counter" and x.unit == "requests"), None)
            if counter is not None:
                self.total = m.Selector(counter.name)
                status = next((lb for lb in ("status", "code", "status_code") if counter.label(lb)), None)
                if status:
                    self.errors = m.Selector(counter.name, (m.Matcher(status, "=~", "5.."),))
        if self.latency is None:
            hist = next((x for x in svc.metrics if x.type == "histogram" and x.unit == "seconds"), None)
            self.latency = m.Selector(hist.name) if hist else None
        self.svc = svc

    def route(self, metric: str | None) -> tuple[str, ...]:
        """The route-like label of a metric (route, handler, task...), if it has one."""
        decl = self.svc.metric(metric) if metric else None
        label = next((lb for lb in ROUTE_LABELS if decl is not None and decl.label(lb)), None)
        return (label,) if label else ()

    def common_route(self) -> tuple[str, ...]:
        """A route label both the error and total counters carry, so their ratio can split by it."""
        if self.total is None or self.errors is None:
            return ()
        a, b = self.route(self.total.metric), self.route(self.errors.metric)
        return a if a == b else ()


def error_ratio(sp: ServicePlan, sig: Signals, by: tuple[str, ...], scope: tuple[m.Matcher, ...] = (JOB,)) -> str:
    """Failed share of requests: rate of the error selector over rate of the total, grouped by `by`."""
    assert sig.errors is not None and sig.total is not None
    num = rate_of(sp, sig.errors.metric, sig.errors.matchers, by, scope)
    den = rate_of(sp, sig.total.metric, sig.total.matchers, by, scope)
    return f"{num}\n/\n{den}"


def rate_unit(svc: m.Service, metric: str) -> str:
    """Grafana unit of a per-second rate of the metric (reqps, eps...)."""
    decl = svc.metric(metric)
    return RATE_UNITS.get(decl.unit if decl else "none", "ops")


def value_unit(svc: m.Service, metric: str) -> str:
    """Grafana unit of the metric's own values (s, bytes, short...)."""
    decl = svc.metric(metric)
    return VALUE_UNITS.get(decl.unit if decl else "none", "short")


# -- shared dashboard parts ------------------------------------------------------------------------


def jobs_regex(jobs: tuple[str, ...], quoted: bool = True) -> str:
    """Job names as an alternation; regex metacharacters escaped for RE2 (and for a PromQL string when quoted)."""
    slash = "\\\\" if quoted else "\\"
    return "|".join(re.sub(r"([.+*?()\[\]{}|^$\\])", lambda mt: slash + mt.group(1), j) for j in jobs)


def variables(jobs: tuple[str, ...], extra: tuple[Variable, ...] = ()) -> tuple[Variable, ...]:
    """job (limited to the given jobs) and instance variables, then any extra ones."""
    job_query = f'label_values(up{{job=~"{jobs_regex(jobs)}"}}, job)' if jobs else "label_values(up, job)"
    return (
        Variable("job", "Job", job_query),
        Variable("instance", "Instance", 'label_values(up{job=~"$job"}, instance)'),
        *extra,
    )


def alert_annotation(services: tuple[str, ...]) -> AlertAnnotation:
    """An annotation marking when the services' alerts fire."""
    match = f'service="{services[0]}"' if len(services) == 1 else f'service=~"{"|".join(services)}"'
    return AlertAnnotation("Firing alerts", f'ALERTS{{alertstate="firing", {match}}}')


def runbook_pattern(sp: ServicePlan) -> str | None:
    """The runbook URL of the service's alerts, with the alert name replaced by the table cell's value."""
    for rule in sp.alerts:
        url = dict(rule.annotations).get("runbook_url", "")
        if url and rule.name in url:
            return url.replace(rule.name, "${__data.fields.alertname}")
    return None


def runbook_links(sp: ServicePlan) -> tuple[Link, ...]:
    """One dashboard link per alert name of the service, to its runbook."""
    seen: dict[str, str] = {}
    for rule in sp.alerts:
        url = dict(rule.annotations).get("runbook_url")
        if url and rule.name not in seen:
            seen[rule.name] = url
    return tuple(Link(f"Runbook: {name}", url) for name, url in sorted(seen.items()))


def firing_table(title: str, expr: str, link: str | None, description: str) -> PanelSpec:
    """A table of firing alerts whose alert names link to their runbooks."""
    links = (Link("Open the runbook of ${__data.fields.alertname}", link),) if link else ()
    return PanelSpec(title, description, "table", "short", (Query(expr, instant=True, table=True),),
                     width=24, height=7, links=links, hide_fields=("Time", "Value", "__name__", "alertstate"))


def _path(folder: str, slug: str) -> str:
    return f"dashboards/{folder}/{slug}.json"


# -- per service -----------------------------------------------------------------------------------


def service_overview(sp: ServicePlan) -> DashboardSpec:
    """RED overview: traffic, errors, latency by route, saturation, firing alerts and logs."""
    svc = sp.service
    sig = Signals(svc)
    name = svc.display_name
    rows: list[RowSpec] = []
    if sig.total is not None:
        route = sig.route(sig.total.metric)
        unit = rate_unit(svc, sig.total.metric)
        decl = svc.metric(sig.total.metric)
        noun = "Request" if decl is None or decl.unit == "requests" else _title(decl, svc.namespace)
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
            f"{noun} rate by {route[0] if route else 'job'}", f"{noun} per second of {name}, split by {route[0] if route else 'job'}.",
            "timeseries", unit, (Query(rate_of(sp, sig.total.metric, sig.total.matchers, route or ("job",)), _legend(route or ("job",), "")),),
            stack=True,
        ))
        if sig.errors is not None:
            by = sig.common_route() or ("job",)
            panels.append(PanelSpec(
                f"Error ratio by {by[0]}", f"Failed share of requests, by {by[0]}; the error-ratio alerts watch this.",
                "timeseries", "percentunit", (Query(error_ratio(sp, sig, by), _legend(by, "")),),
                thresholds=((0.05, "red"),), threshold_lines=True,
            ))
        rows.append(RowSpec("Traffic and errors", tuple(panels)))
    if sig.latency is not None:
        lat = sig.latency
        route = sig.route(lat.metric)
        unit = value_unit(svc, lat.metric)
        overall = tuple(Query(raw_quantile(lat.metric, lat.matchers, q, ()), f"p{fmt_number(q * 100)}", exemplar=True)
                        for q in (0.5, 0.95, 0.99))
        panels = [PanelSpec("Latency p50 / p95 / p99", f"Latency quantiles of {name} over all routes; dots are exemplars "
                                                       "that open the request's trace in Jaeger.", "timeseries", unit, overall)]
        for q in (0.5, 0.95, 0.99) if route else ():
            panels.append(PanelSpec(
                f"p{fmt_number(q * 100)} latency by {route[0]}", f"{fmt_number(q * 100)}th percentile latency per {route[0]}; "
                "exemplars link to traces.", "timeseries", unit,
                (Query(raw_quantile(lat.metric, lat.matchers, q, route), _legend(route, ""), exemplar=True),),
            ))
        rows.append(RowSpec("Latency", tuple(panels)))
    rows.append(saturation_row(sp))
    link = runbook_pattern(sp)
    rows.append(RowSpec("Alerts", (firing_table(
        "Firing alerts", f'ALERTS{{alertstate="firing", service="{svc.name}"}}', link,
        f"Alerts of {name} firing now, from Prometheus' ALERTS series; click an alert name for its runbook."),)))
    rows.append(RowSpec("Logs", (PanelSpec(
        "Logs", f"Log lines of {name} from Loki, filtered by the search box (a regular expression); trace ids link to Jaeger.",
        "logs", "short", (Query(log_query(svc)),), width=24, height=10, datasource=LOKI_VAR),)))
    return DashboardSpec(
        uid=stable_uid(svc.name, "overview"), title=f"{name} / Overview", path=_path(svc.name, "overview"),
        description=f"{svc.description or name}: RED overview. Generated by obsgen from {svc.source}.",
        tags=("obsgen", svc.name, "red"), rows=tuple(rows),
        variables=variables(svc.jobs, (Variable("search", "Log search (regex)", "", kind="textbox", multi=False, include_all=False),)),
        annotations=(alert_annotation((svc.name,)),), links=runbook_links(sp), tag_links=(svc.name,), loki=True,
    )


def log_query(svc: m.Service) -> str:
    """The service's log streams: the OTLP pipeline labels them service_name (the OTel service.name)."""
    # Named literally: with $job at "All" (.*) the selector would match every stream, which Loki refuses.
    names = jobs_regex(tuple(dict.fromkeys((svc.name, *svc.jobs))))
    return f'{{service_name=~"{names}"}} |~ "$search"'


def saturation_row(sp: ServicePlan) -> RowSpec:
    """Targets up, dependency checks (0/1 gauges), every other gauge and the summaries of the service."""
    svc = sp.service
    panels = [PanelSpec("Scrape targets up", "Share of the service's scrape targets that answer; below 100% some are down.",
                        "stat", "percentunit", (Query('avg by (job) (up{job=~"$job", instance=~"$instance"})', "{{job}}"),),
                        width=6, height=5, min=0, max=1, thresholds=((None, "red"), (0.999, "green")))]
    for metric in svc.metrics:
        sel = selector(metric.name, (JOB, INSTANCE))
        first = metric.label_names[:1]
        if metric.type == "gauge" and metric.unit == "bool":
            panels.append(PanelSpec(_title(metric, svc.namespace), metric.help, "stat", "bool_yes_no", (Query(aggregate("min", ("job",), sel), "{{job}}"),),
                                    width=6, height=5, thresholds=((None, "red"), (1, "green"))))
        elif metric.type == "gauge":
            panels.append(PanelSpec(_title(metric, svc.namespace), metric.help, "timeseries", value_unit(svc, metric.name),
                                    (Query(aggregate("sum", first or ("job",), sel), _legend(first or ("job",), "")),)))
        elif metric.type == "summary" and metric.quantiles:
            panels.append(PanelSpec(_title(metric, svc.namespace), metric.help + " (client-side quantiles).", "timeseries",
                                    value_unit(svc, metric.name),
                                    (Query(aggregate("max", ("quantile", *first), sel), "q{{quantile}} " + _legend(first, "")),)))
        elif metric.type == "summary":
            # A summary without quantiles (Python's client) has only _sum and _count: show the mean.
            by = first or ("job",)
            mean = (f"{rate_of(sp, metric.name + '_sum', (), by)}\n/\n{rate_of(sp, metric.name + '_count', (), by)}")
            panels.append(PanelSpec(f"{_title(metric, svc.namespace)} (mean)", metric.help + " Mean over the rate window.",
                                    "timeseries", value_unit(svc, metric.name), (Query(mean, _legend(by, "")),)))
    return RowSpec("Saturation and dependencies", tuple(panels))


def _title(metric: m.Metric, namespace: str) -> str:
    """divan_socketio_clients -> Socketio clients: the metric name without its namespace and _total."""
    name = metric.base
    if namespace and name.startswith(namespace + "_"):
        name = name[len(namespace) + 1:]
    return name.replace("_", " ").capitalize()


def slo_dashboard(sp: ServicePlan) -> DashboardSpec | None:
    """Per SLO: SLI, objective, error budget remaining and burn rate per alert window."""
    svc = sp.service
    if not svc.slos:
        return None
    rows = []
    for slo in svc.slos:
        windows = load_windows()[slo.window]
        match = f'{{service="{svc.name}", slo="{slo.name}"}}'
        all_windows = sorted({w for a in windows["alerts"] for p in a["windows"] for w in (p["long"], p["short"])},
                             key=parse_duration)
        factors = sorted({float(p["factor"]) for a in windows["alerts"] for p in a["windows"]})
        objective = slo.objective / 100
        what = "requests served without error" if slo.kind == "availability" else "requests faster than the threshold"
        burn = tuple(Query(f"slo:sli_error:ratio_rate{w}{match}\n/ on (service, slo)\nslo:error_budget:ratio{match}", w)
                     for w in all_windows)
        rows.append(RowSpec(f"SLO {slo.name}: {fmt_number(slo.objective)}% over {slo.window}", (
            PanelSpec(f"SLI over {slo.window}", f"Share of {what} over the SLO period ({slo.description or slo.kind}).",
                      "stat", "percentunit", (Query(f"1 - slo:sli_error:ratio_rate{slo.window}{match}", "SLI"),),
                      width=6, height=6, thresholds=((None, "red"), (objective, "green"))),
            PanelSpec("Objective", f"The objective of the {slo.name} SLO.", "stat", "percentunit",
                      (Query(f"slo:objective:ratio{match}", "objective"),), width=6, height=6),
            PanelSpec("Error budget remaining", f"Share of the {slo.window} error budget not yet spent; below 0 the SLO is missed.",
                      "gauge", "percentunit", (Query(f"slo:error_budget_remaining:ratio{match}", "remaining"),), width=6, height=6,
                      min=0, max=1, thresholds=((None, "red"), (0.25, "orange"), (0.5, "green"))),
            PanelSpec("Error budget", f"Allowed error ratio: 1 - objective ({fmt_number(slo.budget)}).", "stat", "percentunit",
                      (Query(f"slo:error_budget:ratio{match}", "budget"),), width=6, height=6),
            PanelSpec("Burn rate per window", "Error ratio divided by the budget, per alert window; 1x spends the budget "
                      "exactly over the period. Lines mark the multiwindow alert factors.", "timeseries", "suffix:x", burn,
                      thresholds=tuple((f, c) for f, c in zip(factors, ("yellow", "orange", "red", "dark-red"), strict=False)),
                      threshold_lines=True),
            PanelSpec("SLI over time", "SLI per short and long window against the objective.", "timeseries", "percentunit",
                      (Query(f"1 - slo:sli_error:ratio_rate{all_windows[0]}{match}", f"SLI {all_windows[0]}"),
                       Query(f"1 - slo:sli_error:ratio_rate{all_windows[-1]}{match}", f"SLI {all_windows[-1]}"),
                       Query(f"slo:objective:ratio{match}", "objective"))),
        )))
    link = runbook_pattern(sp)
    rows.append(RowSpec("Alerts", (firing_table(
        "Firing alerts", f'ALERTS{{alertstate="firing", service="{svc.name}"}}', link,
        "Alerts of this service firing now: burn-rate alerts carry an slo label, the others show what spends the "
        "budget; click an alert name for its runbook."),)))
    return DashboardSpec(
        uid=stable_uid(svc.name, "slo"), title=f"{svc.display_name} / SLOs", path=_path(svc.name, "slo"),
        description=f"SLIs, objectives, error budgets and burn rates of {svc.display_name}. Generated by obsgen from {svc.source}.",
        tags=("obsgen", svc.name, "slo"), rows=tuple(rows), variables=variables(svc.jobs),
        annotations=(alert_annotation((svc.name,)),),
        links=runbook_links(sp),
        tag_links=(svc.name,),
    )


def catalog_dashboard(sp: ServicePlan, dash: m.Dashboard) -> DashboardSpec:
    """A dashboard the catalog declares, row by row, with the plan's queries."""
    svc = sp.service
    slug = f"{dash.slug}-catalog" if dash.slug in RESERVED_SLUGS else dash.slug
    rows = []
    for r, row in enumerate(dash.rows):
        count = len(row.panels)
        panels = []
        for p, panel in enumerate(row.panels):
            small = panel.visual in ("stat", "gauge")
            width = (6 if count >= 4 else 24 // count) if small else (12 if count >= 2 else 24)
            panels.append(PanelSpec(
                panel.title, panel.description or panel.title, panel.visual, panel.unit or _panel_unit(svc, panel),
                _panel_queries(sp, dash, r, p, panel), width=width, height=5 if small else 8,
            ))
        rows.append(RowSpec(row.title, tuple(panels)))
    return DashboardSpec(
        uid=stable_uid(svc.name, slug), title=f"{svc.display_name} / {dash.title}", path=_path(svc.name, slug),
        description=f"{dash.description or dash.title} Generated by obsgen from {svc.source}.",
        tags=tuple(dict.fromkeys(("obsgen", svc.name, *dash.tags))), rows=tuple(rows), variables=variables(svc.jobs),
        annotations=(alert_annotation((svc.name,)),), links=runbook_links(sp), tag_links=(svc.name,),
    )


def _panel_unit(svc: m.Service, panel: m.Panel) -> str:
    if panel.kind == "ratio":
        return "percentunit"
    if panel.kind == "rate" and panel.metric is not None:
        return rate_unit(svc, panel.metric.metric)
    if panel.metric is not None:
        return value_unit(svc, panel.metric.metric)
    return "short"


def _panel_queries(sp: ServicePlan, dash: m.Dashboard, r: int, p: int, panel: m.Panel) -> tuple[Query, ...]:
    if panel.kind == "quantile" and panel.metric is not None:
        # Raw buckets rather than the recorded quantile: only raw series carry exemplars.
        return tuple(
            Query(raw_quantile(panel.metric.metric, panel.metric.matchers, q, panel.by),
                  panel.legend or (f"p{fmt_number(q * 100)}" + (" " + _legend(panel.by, "") if panel.by else "")), exemplar=True)
            for q in panel.quantiles)
    if panel.kind in ("value", "stat") and panel.metric is not None:
        inner = selector(panel.metric.metric, (*panel.metric.matchers, JOB, INSTANCE))
        return (Query(aggregate(panel.aggregate, panel.by, inner), panel.legend or _legend(panel.by, panel.title),
                      instant=panel.visual in ("stat", "gauge", "bargauge", "table"), table=panel.visual == "table"),)
    planned = sp.panel_queries(dash.slug, r, p)
    if panel.kind == "expr":
        # Raw histogram buckets carry exemplars (the lint asks for them); recorded series do not.
        return tuple(Query(dashboard_expr(q.expr), q.legend, exemplar="_bucket" in q.expr) for q in planned)
    return tuple(Query(q.expr, q.legend) for q in planned)


# -- across services -------------------------------------------------------------------------------


def fleet_overview(plan: BundlePlan) -> DashboardSpec:
    """One row per service: traffic, errors, p95 latency, error budget and targets up."""
    rows = []
    for sp in plan.services:
        svc = sp.service
        sig = Signals(svc)
        scope = (JOB, m.Matcher("job", "=~", jobs_regex(svc.jobs, quoted=False)))
        panels = []
        if sig.total is not None:
            panels.append(PanelSpec("Requests/s", f"Requests per second to {svc.display_name}.", "stat",
                                    rate_unit(svc, sig.total.metric),
                                    (Query(rate_of(sp, sig.total.metric, sig.total.matchers, (), scope), "requests/s"),),
                                    width=5, height=5))
            if sig.errors is not None:
                panels.append(PanelSpec("Error ratio", f"Failed share of {svc.display_name}'s requests.", "stat", "percentunit",
                                        (Query(error_ratio(sp, sig, (), scope), "errors"),), width=5, height=5,
                                        thresholds=((0.01, "orange"), (0.05, "red"))))
        if sig.latency is not None:
            bucket = sig.latency.metric + "_bucket"
            record = sp.rate_record(bucket)
            inner = (selector(record, (*sig.latency.matchers, *scope)) if record
                     else f"rate({selector(bucket, (*sig.latency.matchers, *scope, INSTANCE))}[{RATE}])")
            panels.append(PanelSpec("p95 latency", f"95th percentile latency of {svc.display_name}.", "stat",
                                    value_unit(svc, sig.latency.metric),
                                    (Query(f"histogram_quantile(0.95, {aggregate('sum', ('le',), inner)})", "p95",
                                           exemplar=record is None),),  # raw buckets carry exemplars; a record does not
                                    width=5, height=5))
        if svc.slos:
            panels.append(PanelSpec("Error budget left", "The lowest remaining error budget among the service's SLOs.",
                                    "stat", "percentunit",
                                    (Query(f'min(slo:error_budget_remaining:ratio{{service="{svc.name}"}})', "budget"),),
                                    width=5, height=5, thresholds=((None, "red"), (0.25, "orange"), (0.5, "green"))))
        panels.append(PanelSpec("Targets up", "Share of the service's scrape targets that answer.", "stat", "percentunit",
                                (Query(f"avg({selector('up', (*scope, INSTANCE))})", "up"),), width=4, height=5,
                                min=0, max=1, thresholds=((None, "red"), (0.999, "green"))))
        rows.append(RowSpec(svc.display_name, tuple(panels)))
    services = tuple(sp.service.name for sp in plan.services)
    return DashboardSpec(
        uid=stable_uid("obsgen", FLEET, "overview"), title="Fleet / Overview", path=_path(FLEET, "overview"),
        description="Every service at a glance: traffic, errors, latency, error budget and targets. Generated by obsgen from "
                    + ", ".join(sp.service.source for sp in plan.services) + ".",
        tags=("obsgen", FLEET), rows=tuple(rows), variables=variables(tuple(j for sp in plan.services for j in sp.service.jobs)),
        annotations=(alert_annotation((*services, "obsgen")),), tag_links=("obsgen",),
    )


def alerts_overview(plan: BundlePlan) -> DashboardSpec:
    """Firing and pending alerts of every service from Prometheus' ALERTS series, with runbook links."""
    services = tuple(sp.service.name for sp in plan.services) + ("obsgen",)
    scope = 'service=~"$service"'
    counts = []
    for state, severity, colour in (("firing", "critical", "red"), ("firing", "warning", "orange"), ("firing", "info", "blue"),
                                    ("pending", "", "yellow")):
        sev = f'severity="{severity}", ' if severity else ""
        counts.append(PanelSpec(
            f"{state.capitalize()} {severity}".strip(), f"Alerts {'of severity ' + severity + ' ' if severity else ''}{state} now.",
            "stat", "short", (Query(f'count(ALERTS{{alertstate="{state}", {sev}{scope}}}) or vector(0)', "alerts"),),
            width=6, height=5, thresholds=((1, colour),)))
    by_base: dict[str, list[str]] = {}
    for sp in plan.services:
        pattern = runbook_pattern(sp)
        if pattern:
            by_base.setdefault(pattern.replace(f"/{sp.service.name}/", "/${__data.fields.service}/"), []).append(sp.service.name)
    tables = []
    for pattern, names in sorted(by_base.items()):
        match = f'service=~"{"|".join(names)}", ' if len(by_base) > 1 else ""
        tables.append(firing_table(
            "Firing alerts" + (f" ({', '.join(names)})" if len(by_base) > 1 else ""),
            f'ALERTS{{alertstate="firing", {match}{scope}}}', pattern,
            "Every firing alert with its labels; click an alert name to open its runbook.",
        ))
    rows = (
        RowSpec("Now", tuple(counts)),
        RowSpec("Firing", (
            *tables,
            PanelSpec("Active for", "How long each pending or firing alert has been active (from ALERTS_FOR_STATE).", "table", "s",
                      (Query(f"time() - ALERTS_FOR_STATE{{{scope}}}", instant=True, table=True),), width=24, height=7,
                      hide_fields=("Time", "__name__")),
        )),
        RowSpec("History", (
            PanelSpec("Firing alerts by severity", "Number of firing alerts over time, by severity.", "timeseries", "short",
                      (Query(f'count by (severity) (ALERTS{{alertstate="firing", {scope}}})', "{{severity}}"),), stack=True),
            PanelSpec("Firing alerts by service", "Number of firing alerts over time, by service.", "timeseries", "short",
                      (Query(f'count by (service) (ALERTS{{alertstate="firing", {scope}}})', "{{service}}"),), stack=True),
        )),
    )
    return DashboardSpec(
        uid=stable_uid("obsgen", FLEET, "alerts"), title="Fleet / Alerts", path=_path(FLEET, "alerts"),
        description="Firing and pending alerts across services from Prometheus' ALERTS, with runbook links; Alertmanager "
                    "groups and silences are one click away in Grafana's alerting view. Generated by obsgen.",
        tags=("obsgen", FLEET, "alerts"), rows=rows,
        variables=variables((), (Variable("service", "Service", ",".join(services), kind="custom"),)),
        annotations=(alert_annotation(services),),
        links=(Link("Alertmanager: alert groups", "/alerting/groups?alertmanager=Alertmanager"),
               Link("Alertmanager: silences", "/alerting/silences?alertmanager=Alertmanager")),
        tag_links=("obsgen",),
    )


def load_tests_overview(plan: BundlePlan) -> DashboardSpec:
    """The k6 load tests' results (LOAD_TEST_PANELS over k6's remote-write metrics), filtered by a load_test variable."""
    panels = tuple(
        PanelSpec(p.title, f"{p.title} per load test from k6's Prometheus remote-write output "
                           f"({', '.join(dict.fromkeys(re.findall(r'k6_[a-z0-9_]+', p.expr)))}); empty until a k6 run pushes results.",
                  "timeseries", p.unit, (Query(p.expr, p.legend),))
        for p in LOAD_TEST_PANELS)
    services = tuple(sp.service.name for sp in plan.services)
    return DashboardSpec(
        uid=stable_uid("obsgen", FLEET, "load-tests"), title="Fleet / Load tests", path=_path(FLEET, "load-tests"),
        description="Results of the k6 load tests (requests/s, p95/p99 duration, failures, checks, VUs) as k6 pushes them "
                    "through Prometheus remote write. Generated by obsgen from "
                    + ", ".join(sp.service.source for sp in plan.services if sp.service.load_tests) + ".",
        tags=("obsgen", FLEET, "load-tests"), rows=(RowSpec("Load tests", panels),),
        # k6 series carry the script's tags, not job/instance: load_test is the filter that matters here.
        variables=variables((), (Variable("load_test", "Load test", "label_values(k6_http_reqs_total, load_test)"),)),
        annotations=(alert_annotation((*services, "obsgen")),), tag_links=("obsgen",),
    )


def bundle_dashboards(plan: BundlePlan) -> list[DashboardSpec]:
    """Every dashboard of the bundle, in a stable order."""
    out: list[DashboardSpec] = []
    for sp in plan.services:
        out.append(service_overview(sp))
        slo = slo_dashboard(sp)
        if slo is not None:
            out.append(slo)
        out.extend(catalog_dashboard(sp, dash) for dash in sp.service.dashboards)
    if plan.services:
        out.append(fleet_overview(plan))
        out.append(alerts_overview(plan))
    if any(sp.service.load_tests for sp in plan.services):
        out.append(load_tests_overview(plan))
    return out

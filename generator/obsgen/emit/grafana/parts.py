"""Pieces every dashboard shares: template variables, the firing-alerts annotation and table, runbook links."""

from __future__ import annotations

from obsgen import model as m
from obsgen.emit.grafana.queries import JOB, jobs_regex
from obsgen.emit.grafana.spec import AlertAnnotation, Link, PanelSpec, Query, Variable, dashboard_scope
from obsgen.plan import ServicePlan
from obsgen.promql import Scope, eq, label_values, vector

FIRING = eq("alertstate", "firing")


def variables(jobs: tuple[str, ...], scope: Scope, extra: tuple[Variable, ...] = ()) -> tuple[Variable, ...]:
    """A variable per grouping label (cluster, namespace: when the project keeps any), job (limited to the given
    jobs) and instance, then any extra ones. Each list is narrowed by the variables before it."""
    up = vector("up", (m.Matcher("job", "=~", jobs_regex(jobs)),) if jobs else ())
    chosen = dashboard_scope(scope)
    grouping = tuple(
        Variable(label, label.replace("_", " ").capitalize(),
                 label_values(vector("up", tuple(m.Matcher(b, "=~", f"${b}") for b in scope.keep[:i])), label, Scope(scope.selector)))
        for i, label in enumerate(scope.keep)
    )
    return (
        *grouping,
        Variable("job", "Job", label_values(up, "job", chosen)),
        Variable("instance", "Instance", label_values(vector("up", (JOB,)), "instance", chosen)),
        *extra,
    )


def service_matcher(services: tuple[str, ...]) -> m.Matcher:
    """service="x" for one service, an alternation for several."""
    return eq("service", services[0]) if len(services) == 1 else m.Matcher("service", "=~", "|".join(services))


def alert_annotation(match: m.Matcher) -> AlertAnnotation:
    """An annotation marking when the matched services' alerts fire."""
    return AlertAnnotation("Firing alerts", vector("ALERTS", (FIRING, match)))


def runbook_page(sp: ServicePlan) -> str | None:
    """The URL of the service's runbook page (each alert's runbook_url without its #anchor)."""
    for rule in sp.alerts:
        url = dict(rule.annotations).get("runbook_url", "")
        if url:
            return url.split("#", 1)[0]
    return None


def runbook_links(sp: ServicePlan) -> tuple[Link, ...]:
    """One dashboard link per alert name of the service, to its section of the runbook page."""
    seen: dict[str, str] = {}
    for rule in sp.alerts:
        url = dict(rule.annotations).get("runbook_url")
        if url and rule.name not in seen:
            seen[rule.name] = url
    return tuple(Link(f"Runbook: {name}", url) for name, url in sorted(seen.items()))


def firing_table(title: str, match: tuple[m.Matcher, ...], link: str | None, description: str) -> PanelSpec:
    """A table of firing alerts; a click on a row opens the runbook page of the alert's service."""
    links = (Link("Open the runbook of ${__data.fields.service}", link),) if link else ()
    return PanelSpec(title, description, "table", "short", (Query(vector("ALERTS", (FIRING, *match)), instant=True, table=True),),
                     width=24, height=7, links=links, hide_fields=("Time", "Value", "__name__", "alertstate"))


def dashboard_path(folder: str, slug: str) -> str:
    """Where a dashboard is written: dashboards/<folder>/<slug>.json."""
    return f"dashboards/{folder}/{slug}.json"

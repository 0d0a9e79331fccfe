"""What a dashboard shows, independent of any Grafana library: the builders fill these, the renderer draws them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from obsgen.model import Matcher
from obsgen.promql import PLAIN, Expr, Scope

# Datasource template variables: panels name these, never a datasource UID.
PROM_VAR = "datasource"
LOKI_VAR = "loki"


@dataclass(frozen=True)
class Query:
    """One PromQL target (a builder expression, rendered with the dashboard's scope), or LogQL text."""

    expr: Expr | str
    legend: str = ""
    instant: bool = False  # tables and stats of "now" ask for one sample, not a range
    exemplar: bool = False  # latency panels: fetch exemplars so a point links to its trace in Jaeger
    table: bool = False  # format=table, one row per series


@dataclass(frozen=True)
class Link:
    """A link with a title."""

    title: str
    url: str


@dataclass(frozen=True)
class PanelSpec:
    """A panel: one of the modern types, with a unit, a description and its queries."""

    title: str
    description: str
    visual: str  # timeseries | stat | gauge | table | bargauge | logs
    unit: str
    queries: tuple[Query, ...]
    width: int = 12
    height: int = 8
    min: float | None = None
    max: float | None = None
    thresholds: tuple[tuple[float | None, str], ...] = ()  # (from value, colour); a None first step replaces the green base
    links: tuple[Link, ...] = ()  # data links on values, e.g. a runbook per alert
    datasource: str = PROM_VAR  # the datasource variable the panel reads
    stack: bool = False
    threshold_lines: bool = False  # draw the thresholds as lines on a timeseries
    hide_fields: tuple[str, ...] = ()  # table columns not worth showing


@dataclass(frozen=True)
class RowSpec:
    """A row of panels."""

    title: str
    panels: tuple[PanelSpec, ...]


@dataclass(frozen=True)
class Variable:
    """A query variable over Prometheus label values (job, instance, service) or a free-text box."""

    name: str
    label: str
    query: str  # label_values(...) for query variables, the default text for a textbox
    kind: str = "query"  # query | textbox | custom
    multi: bool = True
    include_all: bool = True


@dataclass(frozen=True)
class AlertAnnotation:
    """Firing alerts drawn on every time series panel."""

    name: str
    expr: Expr


@dataclass(frozen=True)
class DashboardSpec:
    """Everything a dashboard shows, before any Grafana library draws it."""

    uid: str
    title: str
    path: str  # relative to the output root: dashboards/<folder>/<slug>.json
    description: str
    tags: tuple[str, ...]
    rows: tuple[RowSpec, ...]
    variables: tuple[Variable, ...]
    annotations: tuple[AlertAnnotation, ...] = ()
    links: tuple[Link, ...] = ()
    tag_links: tuple[str, ...] = ()  # "other dashboards with this tag" dropdowns
    loki: bool = False  # the dashboard has a logs panel and needs a Loki datasource variable
    scope: Scope = PLAIN  # the project's global selector and grouping labels, added when queries are rendered


UID_MAX = 40  # Grafana's limit on dashboard UIDs


def stable_uid(*parts: str) -> str:
    """A UID derived from catalog names, so re-importing a dashboard updates it rather than copying it."""
    text = re.sub(r"[^a-zA-Z0-9_-]+", "-", "-".join(parts)).strip("-")
    if len(text) <= UID_MAX:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{text[: UID_MAX - 9]}-{digest}"


def dashboard_scope(scope: Scope) -> Scope:
    """The project scope plus a `label=~"$label"` matcher per grouping label: each becomes a dashboard variable.

    Recorded series keep the grouping labels and raw series carry them (external labels, remote write), so one
    dashboard serves every cluster; its All value (.*) also matches series without the label.
    """
    if not scope.keep:
        return scope
    chosen = tuple(Matcher(label, "=~", f"${label}") for label in scope.keep)
    return Scope((*scope.selector, *chosen), scope.keep)

"""Draw a DashboardSpec with grafanalib, the one home of grafanalib in obsgen, then normalise it (normalise.py).

Queries are rendered here, at the last moment, with the dashboard's scope (global selector, grouping labels).
"""

from __future__ import annotations

from typing import Any

import grafanalib.core as G
import orjson

from obsgen.emit.grafana.normalise import DS_LABELS, DS_TYPES, GRID_WIDTH, SCHEMA_VERSION, clean, normalise, ref
from obsgen.emit.grafana.spec import LOKI_VAR, PROM_VAR, DashboardSpec, PanelSpec, dashboard_scope
from obsgen.promql import Expr, Scope
from obsgen.promql import render as render_promql

# -- grafanalib ------------------------------------------------------------------------------------


def _datasource(var: str) -> dict[str, str]:
    return {"type": DS_TYPES[var], "uid": "${" + var + "}"}


def _text(expr: Expr | str, scope: Scope) -> str:
    return expr if isinstance(expr, str) else render_promql(expr, scope)


def _gl_panel(p: PanelSpec, grid: G.GridPos, scope: Scope, panel_id: int) -> Any:
    targets = [
        G.Target(expr=_text(q.expr, scope), legendFormat=q.legend, refId=ref(i), instant=q.instant, format="table" if q.table else "time_series",
                 datasource=_datasource(p.datasource))
        for i, q in enumerate(p.queries)
    ]
    common: dict[str, Any] = {
        "title": p.title, "description": p.description, "dataSource": _datasource(p.datasource), "targets": targets,
        "gridPos": grid, "id": panel_id,
    }
    if p.visual == "timeseries":
        return G.TimeSeries(**common, unit=p.unit, valueMin=p.min, valueMax=p.max,
                            stacking={"mode": "normal", "group": "A"} if p.stack else {"mode": "none", "group": "A"},
                            legendDisplayMode="list", legendPlacement="bottom", tooltipMode="multi", tooltipSort="desc",
                            thresholdsStyleMode="line" if p.threshold_lines else "off")
    if p.visual == "stat":
        return G.Stat(**common, format=p.unit, reduceCalc="lastNotNull")
    if p.visual == "gauge":
        return G.GaugePanel(**common, format=p.unit, min=p.min if p.min is not None else 0,
                            max=p.max if p.max is not None else 100, calc="lastNotNull")
    if p.visual == "bargauge":
        return G.BarGauge(**common, format=p.unit, calc="lastNotNull", orientation="horizontal")
    if p.visual == "table":
        return G.Table(**common, unit=p.unit, filterable=True)
    return G.Logs(**common, showTime=True, wrapLogMessages=True, enableLogDetails=True)


def _gl_dashboard(spec: DashboardSpec) -> Any:
    scope = dashboard_scope(spec.scope)  # queries follow the grouping-label variables ($cluster...)
    panels: list[Any] = []
    y = 0
    for row in spec.rows:
        panels.append(G.RowPanel(title=row.title, gridPos=G.GridPos(h=1, w=GRID_WIDTH, x=0, y=y), id=len(panels) + 1))
        y += 1
        x, line = 0, 0
        for p in row.panels:
            if x + p.width > GRID_WIDTH:
                x, y, line = 0, y + line, 0
            panels.append(_gl_panel(p, G.GridPos(h=p.height, w=p.width, x=x, y=y), scope, len(panels) + 1))
            x, line = x + p.width, max(line, p.height)
        y += line
    templates = [G.Template(name=PROM_VAR, label=DS_LABELS[PROM_VAR], query="prometheus", type="datasource")]
    if spec.loki:
        templates.append(G.Template(name=LOKI_VAR, label=DS_LABELS[LOKI_VAR], query="loki", type="datasource"))
    for v in spec.variables:
        templates.append(G.Template(name=v.name, label=v.label, query=v.query, type=v.kind, includeAll=v.include_all,
                                    multi=v.multi, allValue=".*" if v.include_all else None,
                                    dataSource=_datasource(PROM_VAR) if v.kind == "query" else None, refresh=2, sort=1))
    links = [G.DashboardLink(title=f"{tag} dashboards", tags=[tag], type="dashboards", asDropdown=True, includeVars=False,
                             keepTime=True, uri="") for tag in spec.tag_links]
    links += [G.DashboardLink(title=link.title, uri=link.url, type="link", icon="doc", targetBlank=True, keepTime=False,
                              includeVars=False) for link in spec.links]
    annotations = [{
        "datasource": _datasource(PROM_VAR), "enable": True, "iconColor": "red", "name": a.name, "expr": _text(a.expr, scope),
        "step": "60s", "titleFormat": "{{alertname}}", "textFormat": "{{severity}}: {{instance}}", "tagKeys": "severity,service",
        "useValueForTime": False,
    } for a in spec.annotations]
    return G.Dashboard(
        title=spec.title, uid=spec.uid, description=spec.description, tags=list(spec.tags), panels=panels,
        templating=G.Templating(templates), links=links, annotations=G.Annotations(annotations),
        schemaVersion=SCHEMA_VERSION, timezone="browser", refresh="1m", graphTooltip=1, editable=True,
        time=G.Time("now-6h", "now"),
    )  # panel ids are given in order, 1, 2, ...: what auto_panel_ids() numbers, without its copy of every panel


def grafanalib_json(spec: DashboardSpec) -> dict[str, Any]:
    """grafanalib's own JSON for a spec, before normalisation (tests show it fails the type check)."""
    data: dict[str, Any] = clean(_gl_dashboard(spec), drop_nulls=False)
    return data


def render(spec: DashboardSpec) -> str:
    """Dashboard JSON text: sorted keys, two-space indent, trailing newline, byte-identical across runs.

    normalise reads grafanalib's objects directly: no json.dumps/json.loads round trip, and only the parts it
    keeps are converted to data.
    """
    # orjson: json.dumps with indent falls back to the pure-Python encoder, which was a third of generation time.
    return orjson.dumps(normalise(_gl_dashboard(spec), spec), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"

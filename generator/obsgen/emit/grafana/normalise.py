"""Rewrite grafanalib's old-style dashboard JSON into the model Grafana 11-13 saves (no grafanalib needed here).

grafanalib 0.7 writes schemaVersion 12, nulls, string datasources, `rows` and `hideControls`; `normalise`
keeps what it built (layout, panel ids, titles, targets, units, links, variables) and rewrites the rest, which
obsgen check (generator/obsgen/check/node) type-checks against @grafana/schema.
"""

from __future__ import annotations

from typing import Any

from obsgen.emit.grafana.spec import LOKI_VAR, PROM_VAR, DashboardSpec, PanelSpec

SCHEMA_VERSION = 41  # Grafana 12.x/13.x classic dashboard JSON
GRID_WIDTH = 24
BUILTIN_ANNOTATION = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}
DS_TYPES = {PROM_VAR: "prometheus", LOKI_VAR: "loki"}
DS_LABELS = {PROM_VAR: "Prometheus", LOKI_VAR: "Loki"}

# What current Grafana stores for each panel type, so a normalised panel is complete (the TS types
# make most of these fields required) and grafanalib's stale option names do not leak through.
_LEGEND = {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True}
_REDUCE = {"calcs": ["lastNotNull"], "fields": "", "values": False}
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "timeseries": {"legend": _LEGEND, "tooltip": {"hideZeros": False, "mode": "multi", "sort": "desc"}},
    "stat": {
        "colorMode": "value", "graphMode": "area", "justifyMode": "auto", "orientation": "auto",
        "percentChangeColorMode": "standard", "reduceOptions": _REDUCE, "showPercentChange": False,
        "textMode": "auto", "wideLayout": True,
    },
    "gauge": {
        "barShape": "flat", "barWidthFactor": 0.5, "effects": {}, "segmentCount": 1, "segmentSpacing": 0.3, "shape": "gauge",
        "minVizHeight": 75, "minVizWidth": 75, "orientation": "auto", "reduceOptions": _REDUCE,
        "showThresholdLabels": False, "showThresholdMarkers": True, "sizing": "auto",
    },
    "bargauge": {
        "displayMode": "gradient", "legend": {**_LEGEND, "showLegend": False}, "maxVizHeight": 300, "minVizHeight": 16,
        "minVizWidth": 8, "namePlacement": "auto", "orientation": "horizontal", "reduceOptions": _REDUCE,
        "showUnfilled": True, "sizing": "auto", "valueMode": "color",
    },
    "table": {"cellHeight": "sm", "frameIndex": 0, "showHeader": True, "sortBy": []},
    "logs": {
        "dedupStrategy": "none", "enableLogDetails": True, "prettifyLogMessage": False, "showCommonLabels": False,
        "showLabels": False, "showLogContextToggle": True, "showTime": True, "sortOrder": "Descending", "wrapLogMessage": True,
    },
}
DEFAULT_CUSTOM: dict[str, dict[str, Any]] = {
    "timeseries": {
        "axisBorderShow": False, "axisCenteredZero": False, "axisColorMode": "text", "axisLabel": "", "axisPlacement": "auto",
        "barAlignment": 0, "drawStyle": "line", "fillOpacity": 10, "gradientMode": "none",
        "hideFrom": {"legend": False, "tooltip": False, "viz": False}, "insertNulls": False, "lineInterpolation": "linear",
        "lineWidth": 1, "pointSize": 5, "scaleDistribution": {"type": "linear"}, "showPoints": "never", "spanNulls": False,
        "stacking": {"group": "A", "mode": "none"}, "thresholdsStyle": {"mode": "off"},
    },
    "table": {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False, "filterable": True},
}

def ref(i: int) -> str:
    """The refId of a panel's i-th query: A, B, ... Z, then Q26..."""
    return chr(ord("A") + i) if i < 26 else f"Q{i}"


_SCALARS = frozenset((str, int, float, bool, type(None)))  # exact types: no grafanalib object among them


def shallow(value: Any) -> Any:
    """One level of a grafanalib object as data (its fields may still be objects)."""
    while type(value) not in _SCALARS and hasattr(value, "to_json_data"):
        value = value.to_json_data()
    return value


def clean(value: Any, drop_nulls: bool = True) -> Any:
    """A grafanalib object (or data) as plain dicts and lists, what its JSON encoder would write, without nulls.

    Only the parts normalise keeps are converted: most of what grafanalib builds is replaced anyway. Scalar
    leaves, most of what is converted, are taken as they are without a call.
    """
    if type(value) in _SCALARS:
        return value
    value = shallow(value)
    if isinstance(value, dict):
        return {k: v if type(v) in _SCALARS else clean(v, drop_nulls) for k, v in value.items() if v is not None or not drop_nulls}
    if isinstance(value, (list, tuple)):
        return [v if type(v) in _SCALARS else clean(v, drop_nulls) for v in value]
    return value


_TARGET_KEYS = frozenset(("datasource", "expr", "refId", "format", "instant", "legendFormat"))


def _picked(value: Any, keys: Any) -> dict[str, Any]:
    """The named entries of a grafanalib mapping, as clean data (missing and null ones left out)."""
    mapping = shallow(value) or {}
    return {k: v if type(v) in _SCALARS else clean(v) for k, v in mapping.items() if k in keys and v is not None}


def _thresholds(p: PanelSpec) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    rest = list(p.thresholds)
    if rest and rest[0][0] is None:
        steps.append({"color": rest.pop(0)[1], "value": None})  # the base step's null value is part of Grafana's schema
    else:
        steps.append({"color": "green", "value": None})
    steps += [{"color": colour, "value": value} for value, colour in rest]
    return {"mode": "absolute", "steps": steps}


def _target(raw: dict[str, Any], p: PanelSpec) -> dict[str, Any]:
    ds = raw.get("datasource")
    assert isinstance(ds, dict), "grafanalib lost a target datasource"
    if p.visual == "logs":
        return {"datasource": ds, "editorMode": "code", "expr": raw["expr"], "queryType": "range", "refId": raw["refId"]}
    query = next(q for i, q in enumerate(p.queries) if ref(i) == raw["refId"])
    out = {
        "datasource": ds, "editorMode": "code", "expr": raw["expr"], "exemplar": query.exemplar,
        "format": raw.get("format", "time_series"), "instant": bool(raw.get("instant")), "legendFormat": raw.get("legendFormat", ""),
        "range": not raw.get("instant"), "refId": raw["refId"],
    }
    return out


def _panel(raw: dict[str, Any], p: PanelSpec) -> dict[str, Any]:
    """One panel from grafanalib's (shallow) panel data: only what the current model keeps is converted."""
    kind = raw["type"]
    assert kind == p.visual, f"grafanalib drew {kind} for {p.visual}"
    fc = shallow(shallow(raw.get("fieldConfig") or {}).get("defaults") or {})
    custom = {**DEFAULT_CUSTOM.get(kind, {}), **_picked(fc.get("custom"), DEFAULT_CUSTOM.get(kind, {}))}
    if kind == "timeseries":
        custom["stacking"] = {"group": "A", "mode": "normal" if p.stack else "none"}
        custom["fillOpacity"] = 30 if p.stack else 10
        custom["thresholdsStyle"] = {"mode": "line" if p.threshold_lines else "off"}
    unit = fc.get("unit") or p.unit
    defaults: dict[str, Any] = {
        "color": {"mode": "thresholds" if kind in ("stat", "gauge", "bargauge") else "palette-classic"},
        "mappings": [], "thresholds": _thresholds(p), "unit": unit,
    }
    if custom:
        defaults["custom"] = custom
    if p.min is not None:
        defaults["min"] = p.min
    if p.max is not None:
        defaults["max"] = p.max
    if p.links:
        defaults["links"] = [{"targetBlank": True, "title": link.title, "url": link.url} for link in p.links]
    options = {**DEFAULT_OPTIONS[kind], **_picked(raw.get("options"), DEFAULT_OPTIONS[kind])}
    if kind in ("stat", "gauge", "bargauge"):
        options["reduceOptions"] = _REDUCE
    if kind == "stat":
        options["graphMode"] = "area"
        options["colorMode"] = "value"
    if kind == "logs":
        options = dict(DEFAULT_OPTIONS["logs"])
    if kind == "timeseries":
        options["tooltip"] = DEFAULT_OPTIONS["timeseries"]["tooltip"]
        options["legend"] = _LEGEND
    source = clean(raw.get("dataSource"))
    out: dict[str, Any] = {
        "datasource": source if isinstance(source, dict) else clean(raw["datasource"]),
        "description": raw["description"], "fieldConfig": {"defaults": defaults, "overrides": []},
        "gridPos": clean(raw["gridPos"]), "id": raw["id"], "options": options,
        "targets": [_target(_picked(t, _TARGET_KEYS), p) for t in raw["targets"]], "title": raw["title"], "type": kind,
    }
    if p.hide_fields:
        out["transformations"] = [{"id": "organize", "options": {
            "excludeByName": {name: True for name in p.hide_fields}, "indexByName": {}, "renameByName": {}}}]
    if kind == "logs":
        del out["fieldConfig"]["defaults"]["color"]
    return out


def _variable(raw: dict[str, Any]) -> dict[str, Any]:
    kind = raw["type"]
    out: dict[str, Any] = {"hide": 0, "label": raw["label"], "name": raw["name"], "skipUrlSync": False, "type": kind}
    if kind == "datasource":
        out.update({"includeAll": False, "multi": False, "options": [], "query": raw["query"], "refresh": 1,
                    "regex": ""})
    elif kind == "textbox":
        out.update({"current": {"text": raw["query"], "value": raw["query"]}, "options": [], "query": raw["query"]})
    elif kind == "custom":
        values = raw["query"].split(",")
        out.update({
            "allValue": raw.get("allValue") or ".*", "current": {"text": ["All"], "value": ["$__all"]},
            "includeAll": True, "multi": True, "query": raw["query"],
            "options": [{"selected": False, "text": v, "value": v} for v in values],
        })
    else:
        out.update({
            "allValue": raw.get("allValue") or ".*", "current": {"text": ["All"], "value": ["$__all"]},
            "datasource": raw["datasource"], "includeAll": raw["includeAll"], "multi": raw["multi"],
            "options": [], "query": {"qryType": 1, "query": raw["query"], "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "refresh": 2, "regex": "", "sort": 1,
        })
    return out


def _link(raw: dict[str, Any]) -> dict[str, Any]:
    out = {
        "asDropdown": raw["asDropdown"], "icon": raw["icon"] if raw["type"] == "link" else "external link",
        "includeVars": raw["includeVars"], "keepTime": raw["keepTime"], "tags": raw["tags"],
        "targetBlank": raw["targetBlank"], "title": raw["title"], "tooltip": raw.get("tooltip") or "", "type": raw["type"],
    }
    if raw["type"] == "link":
        out["url"] = raw["url"]
    return out


def normalise(dashboard: Any, spec: DashboardSpec) -> dict[str, Any]:
    """grafanalib's old-style dashboard (object or JSON data) -> the current model: datasource objects, no forbidden
    nulls, no removed keys."""
    raw = shallow(dashboard)
    panel_specs = iter(p for row in spec.rows for p in row.panels)
    panels = []
    for obj in raw["panels"]:
        item = shallow(obj)
        if item["type"] == "row":
            panels.append({"collapsed": False, "gridPos": clean(item["gridPos"]), "id": item["id"], "panels": [],
                           "title": item["title"], "type": "row"})
        else:
            panels.append(_panel(item, next(panel_specs)))
    annotations = [BUILTIN_ANNOTATION, *clean(raw["annotations"])["list"]]
    variables = [clean(v) for v in shallow(raw["templating"])["list"]]
    templating = [_variable(v | {"label": v.get("label") or v["name"], "allValue": v.get("allValue")}) for v in variables]
    time, picker = clean(raw["time"]), clean(raw["timepicker"])
    return {
        "annotations": {"list": annotations},
        "description": raw["description"],
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": raw["graphTooltip"],
        "links": [_link(clean(link, drop_nulls=False)) for link in raw["links"]],
        "panels": panels,
        "refresh": raw["refresh"],
        "schemaVersion": SCHEMA_VERSION,
        "tags": raw["tags"],
        "templating": {"list": templating},
        "time": {"from": time["from"], "to": time["to"]},
        "timepicker": {"refresh_intervals": picker["refresh_intervals"]},
        "timezone": raw["timezone"],
        "title": raw["title"],
        "uid": raw["uid"],
        "version": 1,
    }

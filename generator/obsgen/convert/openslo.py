"""OpenSLO v1alpha SLO documents into obsgen SLOs, as Sloth reads them (internal/storage/io/openslo.go).

Each ratioMetrics objective becomes a raw-query SLO named <metadata.name>-<index> whose error ratio is
1 - (good / total); the period comes from timeWindows (days). OpenSLO v1alpha declares no alert policy inline,
and Sloth generates no alerts for it, so the converted SLOs have both burn alerts disabled (noted).
"""

from __future__ import annotations

from typing import Any

from obsgen.catalog.load import PathKey, RawCatalog
from obsgen.convert.report import Report, name_for
from obsgen.convert.sloth import ServiceDraft
from obsgen.promql import Binary, Number, Paren, Raw, ratio, render

FORMAT = "OpenSLO v1alpha"
SOURCES = ("prometheus", "sloth")


def _query(report: Report, raw: RawCatalog, path: PathKey, data: Any) -> str | None:
    if not isinstance(data, dict):
        report.error(raw, path, "must be a mapping with source, queryType and query")
        return None
    report.unknown(raw, data, path, ("source", "queryType", "query", "metricSource"))
    if data.get("source") not in SOURCES:
        report.error(raw, (*path, "source"), f"source {data.get('source')!r} is not prometheus: only Prometheus queries convert")
        return None
    if data.get("queryType") != "promql":
        report.error(raw, (*path, "queryType"), f"queryType {data.get('queryType')!r} is not promql")
        return None
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        report.error(raw, (*path, "query"), "query is required")
        return None
    return query.strip()


def _error_ratio(good: str, total: str) -> str:
    """1 - ((good) / (total)), Sloth's error ratio for an OpenSLO ratio, written by the PromQL builder."""
    good_ratio = ratio(Paren(Raw(good), block=True), Paren(Raw(total), block=True))
    return render(Binary("-", Number(1), Paren(good_ratio, block=True))) + "\n"


def _period(report: Report, raw: RawCatalog, path: PathKey, windows: Any, default: str) -> str | None:
    if not windows:
        return default
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
        report.error(raw, path, "exactly one time window is supported (as in Sloth)")
        return None
    window = windows[0]
    report.unknown(raw, window, (*path, 0), ("count", "unit", "isRolling", "calendar"))
    if str(window.get("unit", "")).lower() != "day" or not isinstance(window.get("count"), int) or window["count"] <= 0:
        report.error(raw, (*path, 0), "only a whole number of days is supported as the time window (unit: Day)")
        return None
    if window.get("calendar") or window.get("isRolling") is False:
        report.note(raw, (*path, 0), "a calendar-aligned window is evaluated as a rolling one (as Sloth does)")
    return f"{window['count']}d"


def service_draft(report: Report, raw: RawCatalog, doc: dict[str, Any], default_period: str) -> ServiceDraft | None:
    """The SLOs of one OpenSLO SLO document."""
    report.unknown(raw, doc, (), ("apiVersion", "kind", "metadata", "spec"))
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else None
    if spec is None:
        report.error(raw, ("spec",), "spec is required")
        return None
    report.unknown(raw, meta, ("metadata",), ("name", "displayName", "labels", "annotations"))
    report.unknown(raw, spec, ("spec",), ("service", "description", "budgetingMethod", "objectives", "timeWindows",
                                          "indicator", "alertPolicies"))
    service = name_for(report, raw, ("spec", "service"), spec.get("service"), "service")
    base = name_for(report, raw, ("metadata", "name"), meta.get("name"), "SLO")
    period = _period(report, raw, ("spec", "timeWindows"), spec.get("timeWindows"), default_period)
    if spec.get("budgetingMethod") not in (None, "Occurrences"):
        report.note(raw, ("spec", "budgetingMethod"), f"budgetingMethod {spec['budgetingMethod']} is evaluated as "
                                                      "Occurrences (the share of good events), as Sloth does")
    if spec.get("alertPolicies"):
        report.error(raw, ("spec", "alertPolicies"), "alert policies cannot be converted; obsgen's burn alerts follow "
                                                     "its window sets")
    if spec.get("indicator"):
        report.error(raw, ("spec", "indicator"), "a separate indicator is not supported; give ratioMetrics per objective")
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        report.error(raw, ("spec", "objectives"), "at least one objective is required")
        return None
    if service is None or base is None or period is None:
        return None
    if meta.get("displayName"):
        report.note(raw, ("metadata", "displayName"), "displayName is not carried: obsgen shows SLOs by name and description")
    draft = ServiceDraft(service, service, [raw.file], [FORMAT])
    report.note(raw, ("spec", "service"), f"OpenSLO names no team; the catalog's team is '{service}'")
    for i, objective in enumerate(objectives):
        path: PathKey = ("spec", "objectives", i)
        if not isinstance(objective, dict):
            report.error(raw, path, "an objective must be a mapping")
            continue
        report.unknown(raw, objective, path, ("ratioMetrics", "target", "displayName", "op", "value", "timeSliceTarget"))
        metrics = objective.get("ratioMetrics")
        target = objective.get("target")
        if not isinstance(metrics, dict):
            report.error(raw, path, "only ratioMetrics objectives convert (a good and a total query)")
            continue
        report.unknown(raw, metrics, (*path, "ratioMetrics"), ("good", "total", "counter", "incremental"))
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target < 1:
            report.error(raw, (*path, "target"), "target must be a ratio above 0 and below 1 (0.999 = 99.9%)")
            continue
        good = _query(report, raw, (*path, "ratioMetrics", "good"), metrics.get("good"))
        total = _query(report, raw, (*path, "ratioMetrics", "total"), metrics.get("total"))
        if good is None or total is None:
            continue
        slo: dict[str, Any] = {"name": f"{base}-{i}", "kind": "query", "objective": target * 100}
        if spec.get("description"):
            slo["description"] = str(spec["description"])
        slo["window"] = period
        slo["error_ratio_query"] = _error_ratio(good, total)
        slo["alerting"] = {"page": {"disable": True}, "ticket": {"disable": True}}
        report.note(raw, path, "OpenSLO v1alpha declares no alerts, and Sloth makes none: both burn alerts are disabled "
                               "(delete alerting to get obsgen's page and ticket alerts)")
        draft.slos.append(slo)
        draft.origins.append((raw, path))
    return draft

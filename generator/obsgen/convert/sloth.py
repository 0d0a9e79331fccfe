"""Sloth specs into obsgen SLOs: the prometheus/v1 file format and the Kubernetes PrometheusServiceLevel CRD.

Both say the same thing with different spellings (error_query / errorQuery, page_alert / pageAlert); one mapping
reads both through a table of keys. Each Sloth SLO becomes a raw-query SLO with Sloth's own queries, so the
rules compute exactly what Sloth's compute (docs/slo-interop.md shows the equivalence test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from obsgen.catalog.load import PathKey, RawCatalog
from obsgen.convert.report import Report, alert_name, labels_for, name_for

OBSGEN_SEVERITIES = ("critical", "warning", "info")
DEFAULT_SEVERITY = {"page": "critical", "ticket": "warning"}


@dataclass(frozen=True)
class Keys:
    """The spelling of each field in one of Sloth's two formats."""

    format: str
    error_query: str
    total_query: str
    error_ratio_query: str
    page: str
    ticket: str
    slo_plugins: str


FILE = Keys("Sloth prometheus/v1", "error_query", "total_query", "error_ratio_query", "page_alert", "ticket_alert", "slo_plugins")
K8S = Keys("Sloth Kubernetes PrometheusServiceLevel", "errorQuery", "totalQuery", "errorRatioQuery", "pageAlert", "ticketAlert",
           "sloPlugins")


@dataclass
class ServiceDraft:
    """One service's SLOs as obsgen catalog data, and where they came from."""

    name: str
    team: str
    sources: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    slos: list[dict[str, Any]] = field(default_factory=list)
    origins: list[tuple[RawCatalog, PathKey]] = field(default_factory=list)  # where each SLO is written


def team_of(report: Report, raw: RawCatalog, path: PathKey, labels: dict[str, str], service: str) -> str:
    """The owning team: a team or owner label when it is a kebab-case name, else the service itself (noted)."""
    for key in ("team", "owner"):
        value = labels.get(key, "")
        if value and name_for(Report(), raw, path, value, "team") == value:
            return value
    report.note(raw, path, f"no team or owner label names a kebab-case team; the catalog's team is '{service}'")
    return service


def _plugins(report: Report, raw: RawCatalog, path: PathKey, block: Any) -> None:
    """SLO plugins change the generated rules in ways only Sloth's plugin engine knows: one error per chain."""
    if not block:
        return
    chain = block.get("chain", []) if isinstance(block, dict) else []
    ids = sorted({str(p.get("id", "?")) for p in chain if isinstance(p, dict)}) or ["(empty chain)"]
    report.error(raw, path, f"Sloth SLO plugins cannot be converted ({', '.join(ids)}); obsgen cannot know what they "
                            "change in the rules: remove them, or write what they do into the catalog by hand")


def _sli(report: Report, raw: RawCatalog, path: PathKey, sli: Any, keys: Keys) -> dict[str, str]:
    if not isinstance(sli, dict):
        report.error(raw, path, "sli must be a mapping with events, raw or plugin")
        return {}
    report.unknown(raw, sli, path, ("events", "raw", "plugin"))
    if "plugin" in sli:
        plugin = sli["plugin"].get("id", "?") if isinstance(sli["plugin"], dict) else "?"
        report.error(raw, (*path, "plugin"), f"Sloth SLI plugin '{plugin}' cannot be converted: its query is Go code run by "
                                             "Sloth; write the query it yields as raw.error_ratio_query")
        return {}
    kinds = [k for k in ("events", "raw") if k in sli]
    if len(kinds) != 1:
        report.error(raw, path, "sli needs exactly one of events or raw")
        return {}
    block = sli[kinds[0]]
    wanted = (keys.error_query, keys.total_query) if kinds[0] == "events" else (keys.error_ratio_query,)
    if not isinstance(block, dict):
        report.error(raw, (*path, kinds[0]), f"{kinds[0]} must be a mapping with {', '.join(wanted)}")
        return {}
    report.unknown(raw, block, (*path, kinds[0]), wanted)
    out: dict[str, str] = {}
    for key, target in zip(wanted, ("error_query", "total_query") if kinds[0] == "events" else ("error_ratio_query",),
                           strict=True):
        value = block.get(key)
        if not isinstance(value, str) or not value.strip():
            report.error(raw, (*path, kinds[0], key), f"{key} is required")
            continue
        out[target] = value.strip() + ("\n" if "\n" in value.strip() else "")
    return out


def _tier(report: Report, raw: RawCatalog, path: PathKey, data: Any, tier: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        report.error(raw, path, "must be a mapping with disable, labels and annotations")
        return {}
    report.unknown(raw, data, path, ("disable", "labels", "annotations"))
    out: dict[str, Any] = {}
    if data.get("disable"):
        out["disable"] = True
    given = dict(data["labels"]) if isinstance(data.get("labels"), dict) else data.get("labels")
    severity = given.pop("severity", None) if isinstance(given, dict) else None
    labels = labels_for(report, raw, (*path, "labels"), given)
    if severity is not None:
        if severity in OBSGEN_SEVERITIES:
            if severity != DEFAULT_SEVERITY[tier]:
                out["severity"] = severity
        else:
            report.note(raw, (*path, "labels", "severity"), f"severity {severity!r} becomes obsgen's {tier} severity "
                                                            f"'{DEFAULT_SEVERITY[tier]}' (obsgen routes critical, warning and "
                                                            "info; the tier is also in sloth_severity when Sloth labels are on)")
    if labels:
        out["labels"] = labels
    annotations = _annotations(report, raw, (*path, "annotations"), data.get("annotations"))
    if annotations:
        out["annotations"] = annotations
    return out


def _annotations(report: Report, raw: RawCatalog, path: PathKey, data: Any) -> dict[str, str]:
    annotations = labels_for(report, raw, path, data, "annotation")
    summary = annotations.get("summary")
    if summary is not None and "{{" in summary:
        if "description" in annotations:
            report.error(raw, (*path, "summary"), "a templated summary cannot be converted: obsgen's summary is a plain sentence")
        else:
            report.note(raw, (*path, "summary"), "a templated summary is written as the description (obsgen's summary is a plain "
                                                 "sentence)")
            annotations["description"] = annotations.pop("summary")
    return annotations


def _alerting(report: Report, raw: RawCatalog, path: PathKey, data: Any, keys: Keys) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        report.error(raw, path, "alerting must be a mapping")
        return {}
    report.unknown(raw, data, path, ("name", "labels", "annotations", keys.page, keys.ticket))
    out: dict[str, Any] = {}
    name = alert_name(report, raw, (*path, "name"), data.get("name"))
    if name:
        out["name"] = name
    given = dict(data["labels"]) if isinstance(data.get("labels"), dict) else data.get("labels")
    if isinstance(given, dict) and "severity" in given:
        report.note(raw, (*path, "labels", "severity"), f"severity {given.pop('severity')!r} is not carried: obsgen sets it "
                                                        "per tier (critical for page, warning for ticket)")
    labels = labels_for(report, raw, (*path, "labels"), given)
    if labels:
        out["labels"] = labels
    annotations = _annotations(report, raw, (*path, "annotations"), data.get("annotations"))
    if annotations:
        out["annotations"] = annotations
    for key, tier in ((keys.page, "page"), (keys.ticket, "ticket")):
        block = _tier(report, raw, (*path, key), data.get(key), tier)
        if block:
            out[tier] = block
    if not name and not all(out.get(t, {}).get("disable") for t in ("page", "ticket")):
        report.error(raw, (*path, "name"), "alerting.name is required unless both alerts are disabled (as Sloth requires)")
    return out


def service_draft(report: Report, raw: RawCatalog, spec: dict[str, Any], base: PathKey, keys: Keys,
                  period: str) -> ServiceDraft | None:
    """The SLOs of one Sloth spec (its `spec` for the Kubernetes form, the document itself for the file form)."""
    known = ("version", "service", "labels", keys.slo_plugins, "slos") if keys is FILE else ("service", "labels",
                                                                                             keys.slo_plugins, "slos")
    report.unknown(raw, spec, base, known)
    service = name_for(report, raw, (*base, "service"), spec.get("service"), "service")
    _plugins(report, raw, (*base, keys.slo_plugins), spec.get(keys.slo_plugins))
    common = labels_for(report, raw, (*base, "labels"), spec.get("labels"))
    slos = spec.get("slos")
    if not isinstance(slos, list) or not slos:
        report.error(raw, (*base, "slos"), "at least one SLO is required")
        return None
    if service is None:
        return None
    team = team_of(report, raw, (*base, "labels"), common, service)
    common.pop("team", None)
    draft = ServiceDraft(service, team, [raw.file], [keys.format])
    for i, slo in enumerate(slos):
        path = (*base, "slos", i)
        if not isinstance(slo, dict):
            report.error(raw, path, "an SLO must be a mapping")
            continue
        report.unknown(raw, slo, path, ("name", "description", "objective", "plugins", "labels", "sli", "alerting"))
        _plugins(report, raw, (*path, "plugins"), slo.get("plugins"))
        name = name_for(report, raw, (*path, "name"), slo.get("name"), "SLO")
        objective = slo.get("objective")
        if isinstance(objective, bool) or not isinstance(objective, (int, float)) or not 0 < objective < 100:
            report.error(raw, (*path, "objective"), "objective must be a percentage above 0 and below 100")
            continue
        out: dict[str, Any] = {"name": name, "kind": "query", "objective": objective}
        if slo.get("description"):
            out["description"] = str(slo["description"])
        out["window"] = period
        labels = {**common, **labels_for(report, raw, (*path, "labels"), slo.get("labels"))}
        if labels:
            out["labels"] = dict(sorted(labels.items()))
        out.update(_sli(report, raw, (*path, "sli"), slo.get("sli"), keys))
        alerting = _alerting(report, raw, (*path, "alerting"), slo.get("alerting"), keys)
        if alerting:
            out["alerting"] = alerting
        if name is not None:
            draft.slos.append(out)
            draft.origins.append((raw, path))
    return draft

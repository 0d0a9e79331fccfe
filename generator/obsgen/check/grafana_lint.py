"""Dashboard lint: the checks of grafana/dashboard-linter, plus PromQL that parses and names only known series.

Works on dashboard JSON (a dict), so it checks what is written, not what the builder meant.
Each finding names its rule; tests/test_dashboards_lint.py has a failing case for every rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from obsgen.model import Bundle
from obsgen.plan import Plan, build_plan
from obsgen.promql_parse import PromQLSyntaxError, analyse, substitute_macros

MODERN_PANELS = {"timeseries", "stat", "gauge", "table", "logs", "bargauge", "row"}
RATE_FUNCS = {"rate", "irate"}
COUNTER_FUNCS = {"rate", "irate", "increase", "resets"}
# Series that exist without a catalog: Prometheus' own and the blackbox exporter's.
BUILTIN_SERIES = {
    "up": "gauge", "ALERTS": "gauge", "ALERTS_FOR_STATE": "gauge", "scrape_duration_seconds": "gauge",
    "scrape_samples_scraped": "gauge", "probe_success": "gauge", "probe_duration_seconds": "gauge",
    "probe_http_status_code": "gauge",
}
# k6's remote-write output (the plan's load panels, the "Load tests" dashboard): no catalog declares these and
# Prometheus never scrapes them, so they have no job/instance; every series carries the script's load_test tag instead.
K6_SERIES = {
    "k6_http_reqs_total": "counter", "k6_http_req_duration_p95": "gauge", "k6_http_req_duration_p99": "gauge",
    "k6_http_req_failed_rate": "gauge", "k6_checks_rate": "gauge", "k6_vus": "gauge",
}
# Alerts carry their rule's service label; blackbox probes carry the probed service's (job is the prober's).
SERVICE_SCOPED = ("ALERTS", "ALERTS_FOR_STATE", "probe_success", "probe_duration_seconds", "probe_http_status_code")
MIN_SCHEMA_VERSION = 39
UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# Grafana unit ids obsgen or catalogs may use (Grafana's valueFormats registry), plus custom prefix:/suffix: units.
KNOWN_UNITS = {
    "none", "short", "percent", "percentunit", "bool", "bool_yes_no", "bool_on_off", "s", "ms", "us", "ns", "m", "h", "d",
    "dtdurations", "dtdhms", "bytes", "decbytes", "bits", "Bps", "bps", "KBs", "MBs", "reqps", "rps", "wps", "iops",
    "ops", "opm", "cps", "cpm", "eps", "epm", "mps", "mpm", "recps", "rowsps", "reqpm", "hertz", "dateTimeAsIso",
    "dateTimeFromNow", "locale", "sishort", "currencyUSD", "currencyEUR", "celsius", "watt", "kwatt", "volt",
}


@dataclass(frozen=True)
class Finding:
    dashboard: str
    where: str  # panel title, variable name or "dashboard"
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.dashboard}: {self.where}: [{self.rule}] {self.message}"


@dataclass
class Known:
    """Series a dashboard may name: catalog metrics (with their types), generated recording rules, built-ins."""

    types: dict[str, str] = field(default_factory=dict)  # series name -> counter | gauge
    records: set[str] = field(default_factory=set)
    rate_records: dict[str, str] = field(default_factory=dict)  # raw counter series -> the plan's 5m rate record

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> Known:
        """What the bundle's catalogs declare and its plan records."""
        return cls.from_plan(build_plan(bundle))

    @classmethod
    def from_plan(cls, plan: Plan) -> Known:
        """What the plan's catalogs declare and its recording rules."""
        known = cls(types=dict(BUILTIN_SERIES) | K6_SERIES, records=set(plan.record_names))
        for sp in plan.services:
            known.rate_records.update(dict(sp.rate_records))
            for metric in sp.service.metrics:
                if metric.type in ("histogram", "summary"):
                    known.types[metric.name] = "gauge"  # summary quantiles read as gauges
                    for suffix in ("_count", "_sum") + (("_bucket",) if metric.type == "histogram" else ()):
                        known.types[metric.name + suffix] = "counter"
                else:
                    known.types[metric.name] = metric.type
        return known


def _units_ok(unit: object) -> bool:
    if not isinstance(unit, str) or not unit:
        return False
    return unit in KNOWN_UNITS or unit.startswith(("suffix:", "prefix:", "si:", "count:", "currency:"))


def rate_ranges(expr: str) -> list[str]:
    """The range of every rate()/irate() call, as written: rate(x[5m]) -> ['5m']."""
    out = []
    for call in re.finditer(r"\b(i?rate)\s*\(", expr):
        depth, i = 1, call.end()
        while i < len(expr) and depth:
            depth += {"(": 1, ")": -1}.get(expr[i], 0)
            i += 1
        inner = expr[call.end(): i - 1]
        out.extend(re.findall(r"\[([^\]]*)\]", inner) or [""])
    return out


class _Linter:
    def __init__(self, name: str, dash: dict[str, Any], known: Known) -> None:
        self.name, self.dash, self.known = name, dash, known
        self.findings: list[Finding] = []

    def report(self, where: str, rule: str, message: str) -> None:
        self.findings.append(Finding(self.name, where, rule, message))

    def run(self) -> list[Finding]:
        d = self.dash
        if not UID.match(str(d.get("uid", ""))):
            self.report("dashboard", "dashboard-uid", f"uid {d.get('uid')!r} is missing or not a stable Grafana uid (<= 40 of [A-Za-z0-9_-])")
        if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < MIN_SCHEMA_VERSION:
            self.report("dashboard", "dashboard-schema", f"schemaVersion {d.get('schemaVersion')!r} is older than {MIN_SCHEMA_VERSION}")
        self.variables()
        self.annotations()
        for panel in self._panels():
            self.panel(panel)
        return self.findings

    def _panels(self) -> list[dict[str, Any]]:
        out = []
        for p in self.dash.get("panels", []):
            out.append(p)
            out.extend(p.get("panels", []))
        return out

    def variables(self) -> None:
        variables = {v.get("name"): v for v in self.dash.get("templating", {}).get("list", [])}
        ds = variables.get("datasource")
        if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            self.report("templating", "template-datasource", "no Prometheus datasource variable named 'datasource'")
        for name in ("job", "instance"):
            v = variables.get(name)
            if not v or v.get("type") != "query":
                self.report("templating", "template-job-instance", f"no '{name}' query variable")
        for name, v in variables.items():
            if v.get("type") == "query":
                if v.get("datasource", {}).get("uid") != "${datasource}":
                    self.report(f"variable {name}", "template-datasource", "query variable does not read the ${datasource} variable")
                query = v.get("query", {})
                text = query.get("query", "") if isinstance(query, dict) else str(query)
                inner = re.fullmatch(r"label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)", text)
                self.promql(f"variable {name}", inner.group(1) if inner else text, exemplar=False, variable=True,
                            labels_only=inner is not None)

    def annotations(self) -> None:
        alerts = [a for a in self.dash.get("annotations", {}).get("list", []) if "ALERTS" in str(a.get("expr", ""))]
        if not alerts:
            self.report("annotations", "dashboard-alert-annotation", "no annotation showing firing alerts (ALERTS)")
        for a in alerts:
            self.datasource(f"annotation {a.get('name')}", a.get("datasource"))
            self.promql(f"annotation {a.get('name')}", a["expr"], exemplar=False, variable=True)

    def datasource(self, where: str, ds: object) -> None:
        if not isinstance(ds, dict) or not re.fullmatch(r"\$\{[a-z_]+\}", str(ds.get("uid", ""))):
            self.report(where, "template-datasource", f"datasource {ds!r} is not a {{type, uid: ${{variable}}}} reference")

    def panel(self, p: dict[str, Any]) -> None:
        kind = p.get("type")
        title = p.get("title") or f"panel {p.get('id')}"
        if kind not in MODERN_PANELS:
            self.report(title, "panel-type", f"panel type {kind!r} is not one of {', '.join(sorted(MODERN_PANELS - {'row'}))}")
        if kind == "row":
            if not p.get("title"):
                self.report(title, "panel-title-description", "row has no title")
            return
        if not p.get("title") or not p.get("description"):
            self.report(title, "panel-title-description", "panel needs a title and a description")
        self.datasource(title, p.get("datasource"))
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if kind != "logs" and not _units_ok(unit):
            self.report(title, "panel-units", f"unit {unit!r} is missing or not a Grafana unit")
        targets = p.get("targets") or []
        if not targets:
            self.report(title, "panel-targets", "panel has no targets")
        for t in targets:
            expr = t.get("expr", "")
            if not expr.strip():
                self.report(title, "panel-targets", f"target {t.get('refId')} has no expression")
                continue
            self.datasource(title, t.get("datasource"))
            if kind == "logs":
                # Loki refuses a selector whose every matcher matches the empty string ({x=~".*"}), which
                # a template variable at "All" produces: the service's streams must be named literally.
                if not re.match(r'\s*\{\s*service_name=~?"[^"$.*][^"$]*"', expr):
                    self.report(title, "target-job-instance", 'log query must select the service\'s streams: {service_name=~"..."}')
                continue
            self.promql(title, expr, exemplar=bool(t.get("exemplar")))

    def promql(self, where: str, expr: str, exemplar: bool, variable: bool = False, labels_only: bool = False) -> None:
        for rng in rate_ranges(expr):
            if rng != "$__rate_interval":
                self.report(where, "target-rate-interval", f"rate range [{rng}] should be [$__rate_interval]")
        try:
            analysis = analyse(substitute_macros(expr))
        except PromQLSyntaxError as exc:
            self.report(where, "target-promql", f"PromQL does not parse: {exc}: {expr}")
            return
        for use in analysis.selectors:
            name = use.name
            is_record = name in self.known.records
            if not is_record and name not in self.known.types:
                self.report(where, "target-known-series", f"'{name}' is neither a catalog metric nor a generated recording rule")
                continue
            if name in SERVICE_SCOPED or name.startswith("slo:"):
                if "service" not in use.labels:
                    self.report(where, "target-job-instance", f"'{name}' needs a service matcher")
            elif name in K6_SERIES:
                if "load_test" not in use.labels and not variable:
                    self.report(where, "target-job-instance", f"'{name}' needs a load_test matcher")
            elif not variable or name != "up":
                if "job" not in use.labels:
                    self.report(where, "target-job-instance", f"'{name}' has no job matcher")
                if not is_record and name not in SERVICE_SCOPED and "instance" not in use.labels and not variable:
                    self.report(where, "target-job-instance", f"'{name}' has no instance matcher")
            # label_values(counter, label) reads only label values: the counter's value is never shown.
            if self.known.types.get(name) == "counter" and not labels_only:
                if not use.functions or use.functions[0] not in COUNTER_FUNCS:
                    self.report(where, "target-counter-agg", f"counter '{name}' must be inside rate() or increase()")
                elif name in self.known.rate_records and use.functions[0] in RATE_FUNCS and not exemplar:
                    self.report(where, "target-recording-rule",
                                f"rate of '{name}' should read the recording rule {self.known.rate_records[name]}")
                if name.endswith("_bucket") and "histogram_quantile" in use.functions and not exemplar and not variable:
                    self.report(where, "target-exemplar", f"latency from raw '{name}' should fetch exemplars (exemplar: true)")
        if not variable and "$job" not in expr and "$service" not in expr and all(
                not (u.name in SERVICE_SCOPED or u.name.startswith("slo:") or u.name in K6_SERIES) for u in analysis.selectors):
            self.report(where, "target-job-instance", "query is not filtered by the $job variable")


def lint_dashboard(name: str, dashboard: dict[str, Any], known: Known) -> list[Finding]:
    """Every finding for one dashboard JSON document."""
    return _Linter(name, dashboard, known).run()

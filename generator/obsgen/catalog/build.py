"""Turn loaded catalog data into the model, checking everything a schema cannot.

Each check reports a Problem with file, line and field path; all problems are collected
and raised together so a user fixes a catalog in one pass. The sections are split over
catalog/checks.py (shared checks) and catalog/alerts.py (SLOs and alerts).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from obsgen import model as m
from obsgen.catalog.alerts import Alerts
from obsgen.catalog.jsonnet import Sandbox
from obsgen.catalog.lint import label_problems, naming_problems
from obsgen.catalog.load import PathKey, RawCatalog, find_catalog_files, format_path, load_or_report
from obsgen.catalog.schema_check import plainly_valid, short
from obsgen.catalog.text import text_problems
from obsgen.catalog.windows import window_sets
from obsgen.errors import CatalogError, Problem
from obsgen.secrets import data_findings

NAME_LENGTH = 63  # names that become file names (service, slug...): schema.json's maxLength
# Grafana unit ids a panel may name (its valueFormats registry; grafana_lint.KNOWN_UNITS, which a test keeps equal),
# and the prefixes of custom units.
GRAFANA_UNITS = frozenset({
    "none", "short", "percent", "percentunit", "bool", "bool_yes_no", "bool_on_off", "s", "ms", "us", "ns", "m", "h", "d",
    "dtdurations", "dtdhms", "bytes", "decbytes", "bits", "Bps", "bps", "KBs", "MBs", "reqps", "rps", "wps", "iops",
    "ops", "opm", "cps", "cpm", "eps", "epm", "mps", "mpm", "recps", "rowsps", "reqpm", "hertz", "dateTimeAsIso",
    "dateTimeFromNow", "locale", "sishort", "currencyUSD", "currencyEUR", "celsius", "watt", "kwatt", "volt",
})
CUSTOM_UNITS = ("suffix:", "prefix:", "si:", "count:", "currency:")
EXAMPLE_UNITS = ("short", "s", "bytes", "reqps", "percentunit")
PANEL_TYPES = {"rate": ("counter",), "ratio": ("counter",), "quantile": ("histogram",), "value": ("gauge",), "stat": ("gauge",)}


class _Builder(Alerts):
    """Builds one Service from one RawCatalog, collecting problems."""

    def build(self) -> m.Service | None:
        data = self.raw.data
        if not isinstance(data, dict):
            self.problem((), f"a catalog must be a mapping, got {type(data).__name__}")
            return None
        if not plainly_valid(data) and self._schema_problems(data):
            return None
        # A line break or control character in a name or label value cannot be written out; stop at the first report.
        text = list(text_problems(data))
        for path, message in text:
            self.problem(path, message)
        if text:
            return None
        # Secrets are only ever referenced (a *_file path, an env variable); headers_env maps headers to env names.
        for path, message in data_findings(data, skip=frozenset({"headers_env"})):
            self.problem(path, message)
        if "environments" in data:  # overrides are applied to a copy: the loaded data stays as written
            data = self._apply_environment(copy.deepcopy(data))
        svc = data["service"]
        namespace = svc.get("namespace", "")
        # A catalog whose SLOs all read raw queries may declare no metric (it measures another exporter's series).
        queries_only = bool(data.get("slos")) and all(s["kind"] == "query" for s in data["slos"])
        if "metrics" not in data and not queries_only:
            self.problem((), "missing required field 'metrics'")
        elif not data.get("metrics", [None]) and not queries_only:
            self.problem(("metrics",), "[] should be non-empty")
        metrics = tuple(self._metric(md, ("metrics", i), namespace) for i, md in enumerate(data.get("metrics", [])))
        self._duplicates([md["name"] for md in data.get("metrics", [])], "metrics", "metric")
        self.metrics = {mt.name: mt for mt in metrics}
        slos = tuple(self._slo(sd, ("slos", i)) for i, sd in enumerate(data.get("slos", [])))
        self._duplicates([sd["name"] for sd in data.get("slos", [])], "slos", "SLO")
        alerts = tuple(self._alert(ad, ("alerts", i)) for i, ad in enumerate(data.get("alerts", [])))
        log_alerts = tuple(self._log_alert(ld, ("log_alerts", i)) for i, ld in enumerate(data.get("log_alerts", [])))
        names = [ad["name"] for ad in data.get("alerts", [])] + [ld["name"] for ld in data.get("log_alerts", [])]
        self._duplicates(names, "alerts", "alert")
        dashboards = tuple(self._dashboard(dd, ("dashboards", i), svc["name"]) for i, dd in enumerate(data.get("dashboards", [])))
        self._duplicates([d.slug for d in dashboards], "dashboards", "dashboard")
        slo_names = {s.name for s in slos}
        load_tests = tuple(self._load_test(ld, ("load_tests", i), slo_names) for i, ld in enumerate(data.get("load_tests", [])))
        self._duplicates([lt.name for lt in load_tests], "load_tests", "load test")
        targets = tuple(
            m.Target(
                job=t["job"],
                addresses=tuple(t["addresses"]),
                metrics_path=t.get("metrics_path", "/metrics"),
                scheme=t.get("scheme", "http"),
                interval=self._duration(t.get("interval"), ("service", "targets", i, "interval")),
                bearer_token_file=t.get("bearer_token_file"),
            )
            for i, t in enumerate(svc.get("targets", []))
        )
        self._duplicates([t.job for t in targets], ("service", "targets"), "target job")
        health = tuple(m.HealthCheck(h["name"], h["url"], h.get("kind", "liveness")) for h in svc.get("health", []))
        self._duplicates([h.name for h in health], ("service", "health"), "health check")
        routing = self._routing(svc.get("routing", []))
        return m.Service(
            name=svc["name"],
            team=svc["team"],
            source=self.raw.file,
            title=svc.get("title", ""),
            description=svc.get("description", ""),
            namespace=namespace,
            runbook_base=svc.get("runbook_base", "").rstrip("/"),
            escalation=svc.get("escalation", ""),
            targets=targets,
            health=health,
            metrics=metrics,
            slos=slos,
            alerts=alerts,
            log_alerts=log_alerts,
            dashboards=dashboards,
            load_tests=load_tests,
            routing=routing,
        )

    def _routing(self, tiers: list[dict[str, Any]]) -> tuple[m.RoutingTier, ...]:
        out = []
        for i, tier in enumerate(tiers):
            path = ("service", "routing", i)
            timing = {k: self._duration(tier.get(k), (*path, k)) for k in ("group_wait", "group_interval", "repeat_interval")}
            out.append(m.RoutingTier(tier["severity"], tuple(tier["receivers"]), **timing))
        self._duplicates([t.severity for t in out], ("service", "routing"), "routing severity")
        return tuple(out)

    def _schema_problems(self, data: dict[str, Any]) -> bool:
        """Report every schema error, located; jsonschema is loaded only for a catalog the fast check did not pass."""
        from obsgen.catalog import schema

        errors = sorted(schema.schema_validator().iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
        for error in errors:
            unknown = schema.unknown_fields(error)
            # Point at the misspelt key itself, not at the mapping that holds it.
            for key in unknown:
                self.problem((*error.absolute_path, key), f"unknown field '{key}'")
            if not unknown:
                self.problem(tuple(error.absolute_path), schema.message(error))
        return bool(errors)

    def _apply_environment(self, data: dict[str, Any]) -> dict[str, Any]:
        alert_names = {a["name"] for a in data.get("alerts", [])}
        slo_names = {s["name"] for s in data.get("slos", [])}
        for env, overrides in data.get("environments", {}).items():
            for name in overrides.get("alerts", {}):
                if name not in alert_names:
                    self.problem(("environments", env, "alerts", name), f"override for undeclared alert '{name}'")
            for name in overrides.get("slos", {}):
                if name not in slo_names:
                    self.problem(("environments", env, "slos", name), f"override for undeclared SLO '{name}'")
        chosen = data.get("environments", {}).get(self.env, {})
        for section in ("alerts", "slos"):
            for i, item in enumerate(data.get(section, [])):
                override = chosen.get(section, {}).get(item["name"], {})
                item.update(override)
                for key in override:
                    self.overridden[(section, i, key)] = ("environments", self.env, section, item["name"], key)
        return data

    def _metric(self, data: dict[str, Any], path: PathKey, namespace: str) -> m.Metric:
        labels = tuple(
            m.Label(name, tuple(spec.get("values", ())), spec.get("bound"))
            for name, spec in sorted(data.get("labels", {}).items())
        )
        metric = m.Metric(
            name=data["name"],
            type=data["type"],
            help=data["help"],
            unit=data.get("unit", "none"),
            labels=labels,
            buckets=tuple(float(b) for b in data.get("buckets", ())),
            quantiles=tuple(data.get("quantiles", ())),
            lint_allow=tuple(data.get("lint", {}).get("allow", ())),
        )
        for field, message in naming_problems(metric, namespace) + label_problems(metric):
            self.problem((*path, *field.split(".")), message)
        if metric.type == "histogram":
            if not metric.buckets:
                self.problem(path, f"histogram '{metric.name}' needs buckets")
            elif list(metric.buckets) != sorted(set(metric.buckets)):
                self.problem((*path, "buckets"), "buckets must be strictly increasing")
        elif metric.buckets:
            self.problem((*path, "buckets"), f"only histograms have buckets; '{metric.name}' is a {metric.type}")
        if metric.quantiles and metric.type != "summary":
            self.problem((*path, "quantiles"), f"only summaries have quantiles; '{metric.name}' is a {metric.type}")
        return metric

    def _dashboard(self, data: dict[str, Any], path: PathKey, service: str) -> m.Dashboard:
        rows = []
        for r, row in enumerate(data["rows"]):
            panels = tuple(self._panel(p, (*path, "rows", r, "panels", i)) for i, p in enumerate(row["panels"]))
            rows.append(m.Row(row["title"], panels))
        slug = data.get("slug") or re.sub(r"[^a-z0-9]+", "-", data["title"].lower()).strip("-")
        if not 0 < len(slug) <= NAME_LENGTH:
            # The slug names the dashboard's file: "" would write ".json", 300 characters would not fit.
            self.problem((*path, "title"), f"title {short(data['title'])} gives the file name {short(slug)}; set a 'slug' "
                                           f"(kebab-case, at most {NAME_LENGTH} characters)")
        return m.Dashboard(
            title=data["title"], slug=slug, rows=tuple(rows), description=data.get("description", ""),
            tags=tuple(data.get("tags", ())),
        )

    def _panel(self, data: dict[str, Any], path: PathKey) -> m.Panel:
        kind = data["kind"]
        by = tuple(data.get("by", ()))
        panel = m.Panel(
            title=data["title"], kind=kind, description=data.get("description", ""),
            visual=data.get("visual", "stat" if kind == "stat" else "timeseries"), by=by,
            quantiles=tuple(data.get("quantiles", (0.5, 0.95, 0.99))), aggregate=data.get("aggregate", "sum"),
            unit=data.get("unit"), legend=data.get("legend"),
        )
        unit = data.get("unit")
        if unit is not None and unit not in GRAFANA_UNITS and not unit.startswith(CUSTOM_UNITS):
            self.problem((*path, "unit"), f"unit {short(unit)} is not a Grafana unit id (such as {', '.join(EXAMPLE_UNITS)}) "
                                          f"nor a custom {', '.join(CUSTOM_UNITS)}... unit")
        if kind == "expr":
            if "expr" not in data:
                self.problem(path, "an expr panel needs 'expr'")
                return panel
            self.check_expr(data["expr"], (*path, "expr"), dashboard=True)
            return m.Panel(**{**panel.__dict__, "expr": data["expr"]})
        if kind == "ratio":
            if "errors" not in data or "total" not in data:
                self.problem(path, "a ratio panel needs 'errors' and 'total'")
                return panel
            before = len(self.problems)
            errors = self._selector(data["errors"], (*path, "errors"), ("counter",), by, (*path, "by"))
            totals_data = data["total"] if isinstance(data["total"], list) else [data["total"]]
            totals = tuple(self._selector(t, (*path, "total"), ("counter",), by, (*path, "by")) for t in totals_data)
            self._check_ratio(errors, totals, path, before, by)
            return m.Panel(**{**panel.__dict__, "errors": errors, "total": totals})
        if "metric" not in data:
            self.problem(path, f"a {kind} panel needs 'metric'")
            return panel
        sel = self._selector({"metric": data["metric"], "matchers": data.get("matchers")}, path, PANEL_TYPES[kind], by)
        return m.Panel(**{**panel.__dict__, "metric": sel})

    def _load_test(self, data: dict[str, Any], path: PathKey, slos: set[str]) -> m.LoadTest:
        executor = data["executor"]
        needs = {
            "ramping-vus": ("stages",),
            "constant-vus": ("vus", "duration"),
            "constant-arrival-rate": ("rate", "duration", "vus"),
            "ramping-arrival-rate": ("stages", "vus"),
            "per-vu-iterations": ("vus", "iterations"),
            "shared-iterations": ("vus", "iterations"),
        }[executor]
        for key in needs:
            if key not in data:
                self.problem(path, f"the {executor} executor needs '{key}'")
        for key in ("duration", "time_unit"):
            self._duration(data.get(key), (*path, key))
        for i, stage in enumerate(data.get("stages", [])):
            self._duration(stage["duration"], (*path, "stages", i, "duration"))
        if data.get("slo") and data["slo"] not in slos:
            self.problem((*path, "slo"), f"SLO '{data['slo']}' is not declared in this catalog")
        thresholds = data.get("thresholds", {})
        return m.LoadTest(
            name=data["name"], executor=executor, description=data.get("description", ""),
            requests=tuple(
                m.LoadRequest(
                    name=r["name"], method=r["method"], path=r["path"],
                    body=None if r.get("body") is None else json.dumps(r["body"], sort_keys=True),
                    headers_env=tuple(sorted(r.get("headers_env", {}).items())),
                    expect_status=tuple(r.get("expect_status", ())),
                )
                for r in data["requests"]
            ),
            vus=data.get("vus"), max_vus=data.get("max_vus"), rate=data.get("rate"), time_unit=data.get("time_unit"),
            duration=data.get("duration"), iterations=data.get("iterations"),
            stages=tuple(m.Stage(s["duration"], s["target"]) for s in data.get("stages", [])), slo=data.get("slo"),
            p95_ms=thresholds.get("p95_ms"), p99_ms=thresholds.get("p99_ms"), error_rate=thresholds.get("error_rate"),
        )


def _check_across(services: list[tuple[m.Service, RawCatalog]]) -> list[Problem]:
    """Names that must be unique across every catalog."""
    problems: list[Problem] = []
    seen: dict[tuple[str, str], str] = {}

    def claim(kind: str, name: str, raw: RawCatalog, path: PathKey) -> None:
        key = (kind, name)
        if key in seen and seen[key] != raw.file:
            problems.append(
                Problem(raw.file, raw.line_of(path), format_path(path), f"{kind} '{name}' is already declared in {seen[key]}")
            )
        seen.setdefault(key, raw.file)

    for svc, raw in services:
        claim("service", svc.name, raw, ("service", "name"))
        for i, metric in enumerate(svc.metrics):
            claim("metric", metric.name, raw, ("metrics", i, "name"))
        for i, target in enumerate(svc.targets):
            claim("target job", target.job, raw, ("service", "targets", i, "job"))
        for i, alert in enumerate(svc.alerts):
            claim("alert", alert.name, raw, ("alerts", i, "name"))
        for i, alert in enumerate(svc.log_alerts):
            claim("alert", alert.name, raw, ("log_alerts", i, "name"))
    return problems


def load_bundle(directory: Path, env: str = "prod", files: list[Path] | None = None,
                sources: dict[str, RawCatalog] | None = None) -> m.Bundle:
    """Load, validate and build every catalog in a directory; raises CatalogError listing all problems.

    `sources`, when given, receives each service's raw catalog, so the plan stage can locate its own problems.
    """
    if files is None:
        if not directory.is_dir():
            raise CatalogError([Problem(str(directory), None, "", "catalog directory does not exist")])
        files = find_catalog_files(directory)
        if not files:
            raise CatalogError([Problem(str(directory), None, "", "no catalogs (*.yaml, *.yml, *.jsonnet) found")])
    windows, problems = window_sets(directory)
    sandbox = Sandbox.for_catalogs(directory)
    built: list[tuple[m.Service, RawCatalog]] = []
    for path in files:
        raw = load_or_report(path, {"env": env}, problems, sandbox=sandbox)
        if raw is None:
            continue
        builder = _Builder(raw, env, windows)
        service = builder.build()
        problems.extend(builder.problems)
        if service is not None and not builder.problems:
            built.append((service, raw))
    problems.extend(_check_across(built))
    if problems:
        raise CatalogError(problems)
    bundle = m.Bundle(env=env, services=tuple(sorted((s for s, _ in built), key=lambda s: s.name)))
    if sources is not None:
        sources.update({s.name: raw for s, raw in built})  # the plan stage locates its problems with these
    return bundle

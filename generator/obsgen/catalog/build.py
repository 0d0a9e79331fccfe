"""Turn loaded catalog data into the model, checking everything a schema cannot.

Each check reports a Problem with file, line and field path; all problems are collected
and raised together so a user fixes a catalog in one pass.
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from obsgen import model as m
from obsgen.catalog.lint import label_problems, naming_problems
from obsgen.catalog.load import PathKey, RawCatalog, find_catalog_files, format_path, load_file
from obsgen.duration import parse_duration
from obsgen.errors import CatalogError, Problem
from obsgen.promql_parse import PromQLSyntaxError, analyse, parse_matchers, substitute_macros
from obsgen.secrets import data_findings
from obsgen.slo_windows import load_windows

IMPLICIT_LABELS = {"job", "instance"}
BUILTIN_SERIES = {
    "up": "gauge",
    "ALERTS": "gauge",
    "ALERTS_FOR_STATE": "gauge",
    "scrape_duration_seconds": "gauge",
    "scrape_samples_scraped": "gauge",
    "probe_success": "gauge",
    "probe_duration_seconds": "gauge",
    "probe_http_status_code": "gauge",
}
RATE_FUNCTIONS = {"rate", "irate", "increase", "resets"}
COUNTER_SAFE = RATE_FUNCTIONS | {"absent", "absent_over_time", "present_over_time", "count", "timestamp", "changes", "group"}
TEMPLATE_PARAMS = {
    "expr": {"expr", "test"},
    "threshold": {"metric", "matchers", "by", "op", "threshold"},
    "lag": {"metric", "matchers", "by", "op", "threshold"},
    "backlog": {"metric", "matchers", "by", "op", "threshold"},
    "error_ratio": {"errors", "total", "by", "window", "threshold"},
    "latency_quantile": {"metric", "matchers", "by", "window", "quantile", "threshold"},
    "down": {"metric", "matchers"},
    "absent": {"metric", "matchers"},
    "drop_percentage": {"metric", "matchers", "by", "window", "threshold", "min_value"},
    "increase": {"metric", "matchers", "by", "window", "threshold"},
}
ALL_PARAMS = set().union(*TEMPLATE_PARAMS.values())
TEMPLATE_TYPES = {
    "threshold": ("gauge",),
    "lag": ("gauge",),
    "backlog": ("gauge",),
    "latency_quantile": ("histogram",),
    "down": ("gauge",),
    "drop_percentage": ("gauge",),
    "increase": ("counter",),
}
SUPPORTED_ACTION = re.compile(
    r"^\{\{-?\s*(\$labels\.[a-zA-Z_][a-zA-Z0-9_]*"
    r"|\$value\s*\|\s*(humanize|humanizePercentage|humanizeDuration)"
    r'|printf\s+"%\.[0-9]f"\s+\$value)\s*-?\}\}$'
)
ACTION = re.compile(r"\{\{.*?\}\}")
PANEL_TYPES = {"rate": ("counter",), "ratio": ("counter",), "quantile": ("histogram",), "value": ("gauge",), "stat": ("gauge",)}


@lru_cache(maxsize=1)
def schema_validator() -> jsonschema.Draft202012Validator:
    text = resources.files("obsgen.catalog").joinpath("schema.json").read_text(encoding="utf-8")
    return jsonschema.Draft202012Validator(json.loads(text))


def _unknown_fields(error: jsonschema.ValidationError) -> list[str]:
    """The keys an additionalProperties error is about, so each is reported on its own line."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
    patterns = error.schema.get("patternProperties", {})
    return [k for k in extra if not any(re.match(p, k) for p in patterns)]


def _short(value: Any) -> str:
    """repr() cut to a length that keeps a problem line readable (a wrong-typed section can be huge)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "required":
        missing = [r for r in error.validator_value if r not in error.instance]
        return f"missing required field '{missing[0]}'"
    if error.validator == "enum":
        return f"{_short(error.instance)} is not one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "type":
        return f"expected {error.validator_value}, got {type(error.instance).__name__} {_short(error.instance)}"
    if error.validator == "pattern":
        desc = error.schema.get("description")
        return f"{_short(error.instance)} does not match {error.validator_value}" + (f" ({desc})" if desc else "")
    if error.validator == "oneOf":
        return "expected one selector {metric, matchers} or a list of them"
    return error.message


class _Builder:
    """Builds one Service from one RawCatalog, collecting problems."""

    def __init__(self, raw: RawCatalog, env: str, windows: dict[str, Any]) -> None:
        self.raw = raw
        self.env = env
        self.windows = windows
        self.problems: list[Problem] = []
        self.metrics: dict[str, m.Metric] = {}
        # Fields replaced by an environment override -> where the override is written, so problems point there.
        self.overridden: dict[PathKey, PathKey] = {}

    def problem(self, path: PathKey, message: str) -> None:
        path = self.overridden.get(path, path)
        self.problems.append(Problem(self.raw.file, self.raw.line_of(path), format_path(path), message))

    # -- entry point -------------------------------------------------------------------------

    def build(self) -> m.Service | None:
        data = self.raw.data
        if not isinstance(data, dict):
            self.problem((), f"a catalog must be a mapping, got {type(data).__name__}")
            return None
        errors = sorted(schema_validator().iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))
        for error in errors:
            unknown = _unknown_fields(error)
            # Point at the misspelt key itself, not at the mapping that holds it.
            for key in unknown:
                self.problem((*error.absolute_path, key), f"unknown field '{key}'")
            if not unknown:
                self.problem(tuple(error.absolute_path), _schema_message(error))
        if errors:
            return None
        # Secrets are only ever referenced (a *_file path, an env variable); headers_env maps headers to env names.
        for path, message in data_findings(data, skip=frozenset({"headers_env"})):
            self.problem(path, message)
        data = self._apply_environment(copy.deepcopy(data))
        svc = data["service"]
        namespace = svc.get("namespace", "")
        metrics = tuple(self._metric(md, ("metrics", i), namespace) for i, md in enumerate(data["metrics"]))
        self._duplicates([md["name"] for md in data["metrics"]], "metrics", "metric")
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

    # -- environments --------------------------------------------------------------------------

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

    # -- helpers -------------------------------------------------------------------------------

    def _duplicates(self, names: list[str], where: str | PathKey, what: str) -> None:
        base = (where,) if isinstance(where, str) else where
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.problem((*base, i, "name"), f"duplicate {what} name '{name}'")
            seen.add(name)

    def _duration(self, text: str | None, path: PathKey) -> str | None:
        if text is None:
            return None
        try:
            parse_duration(text)
        except ValueError as exc:
            self.problem(path, str(exc))
        return text

    def _matchers(self, items: list[str] | None, path: PathKey) -> tuple[m.Matcher, ...]:
        out: list[m.Matcher] = []
        for i, text in enumerate(items or []):
            try:
                out.extend(parse_matchers(text))
            except PromQLSyntaxError as exc:
                self.problem((*path, i), f"bad label matcher {text!r}: {exc}")
        return tuple(out)

    def _selector(
        self, data: dict[str, Any], path: PathKey, types: tuple[str, ...], by: tuple[str, ...] = (),
        by_path: PathKey | None = None,
    ) -> m.Selector:
        matchers = self._matchers(data.get("matchers"), (*path, "matchers"))
        sel = m.Selector(data["metric"], matchers)
        metric = self._check_metric(sel.metric, (*path, "metric"), types, list(sel.labels), (*path, "matchers"))
        # A by() label is reported where `by` is written, which is not always beside the selector.
        for label in by if metric is not None else ():
            if label not in metric.label_names and label not in IMPLICIT_LABELS:
                self.problem(by_path or (*path, "by"), f"label '{label}' is not declared on metric '{sel.metric}'")
        return sel

    def _check_metric(
        self, name: str, path: PathKey, types: tuple[str, ...], labels: list[str], label_path: PathKey
    ) -> m.Metric | None:
        metric = self.metrics.get(name)
        if metric is None:
            hint = ""
            for suffix in ("_bucket", "_count", "_sum", "_total"):
                if name.endswith(suffix) and name[: -len(suffix)] in self.metrics:
                    hint = f" (declare the base metric '{name[: -len(suffix)]}' and refer to it by that name)"
            self.problem(path, f"metric '{name}' is not declared in this catalog{hint}")
            return None
        if types and metric.type not in types:
            self.problem(path, f"metric '{name}' is a {metric.type}; this needs a {' or '.join(types)}")
        for label in labels:
            if label not in metric.label_names and label not in IMPLICIT_LABELS:
                self.problem(label_path, f"label '{label}' is not declared on metric '{name}'")
        return metric

    # -- metrics -------------------------------------------------------------------------------

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

    # -- SLOs ----------------------------------------------------------------------------------

    def _slo(self, data: dict[str, Any], path: PathKey) -> m.SLO:
        objective = float(data["objective"])
        window = data.get("window", "30d")
        if not 0 < objective < 100:
            self.problem((*path, "objective"), f"objective {data['objective']} must be above 0 and below 100 (a percentage)")
        else:
            fastest = max(w["factor"] for a in self.windows[window]["alerts"] for w in a["windows"])
            budget = 1 - objective / 100
            if fastest * budget >= 1:
                self.problem(
                    (*path, "objective"),
                    f"objective {data['objective']} leaves an error budget of {budget:.2%}; the {fastest}x burn-rate "
                    f"alert of the {window} windows can never fire (needs an objective above {100 - 100 / fastest:.2f})",
                )
        kind = data["kind"]
        slo = m.SLO(
            name=data["name"], kind=kind, objective=objective, window=window,
            description=data.get("description", ""), runbook=self._runbook(data.get("runbook")),
        )
        if kind == "availability":
            for key in ("errors", "total"):
                if key not in data:
                    self.problem(path, f"availability SLO needs '{key}'")
            for key in ("metric", "threshold", "matchers"):
                if key in data:
                    self.problem((*path, key), f"'{key}' is for latency SLOs; availability uses errors/total")
            if "errors" in data and "total" in data:
                errors = self._selector(data["errors"], (*path, "errors"), ("counter",))
                total = self._selector(data["total"], (*path, "total"), ("counter",))
                return m.SLO(**{**slo.__dict__, "errors": errors, "total": total})
            return slo
        for key in ("metric", "threshold"):
            if key not in data:
                self.problem(path, f"latency SLO needs '{key}'")
        for key in ("errors", "total"):
            if key in data:
                self.problem((*path, key), f"'{key}' is for availability SLOs; latency uses metric/threshold")
        if "metric" not in data or "threshold" not in data:
            return slo
        sel = self._selector({"metric": data["metric"], "matchers": data.get("matchers")}, path, ("histogram",))
        metric = self.metrics.get(sel.metric)
        threshold = float(data["threshold"])
        if metric is not None and metric.type == "histogram" and threshold not in metric.buckets:
            self.problem(
                (*path, "threshold"),
                f"latency threshold {threshold:g}s is not a bucket boundary of '{metric.name}' "
                f"(buckets: {', '.join(f'{b:g}' for b in metric.buckets)})",
            )
        return m.SLO(**{**slo.__dict__, "metric": sel, "threshold": threshold})

    # -- alerts --------------------------------------------------------------------------------

    def _runbook(self, data: dict[str, Any] | None) -> m.Runbook:
        data = data or {}
        return m.Runbook(
            impact=data.get("impact", ""),
            diagnosis=tuple(data.get("diagnosis", ())),
            recovery=tuple(data.get("recovery", ())),
            escalation=data.get("escalation", ""),
        )

    def _annotations(self, data: dict[str, Any], path: PathKey) -> None:
        if "{{" in data["summary"]:
            self.problem((*path, "summary"), "summary must be a plain sentence without template actions")
        description = data["description"]
        actions = ACTION.findall(description)
        if not actions:
            self.problem((*path, "description"), "description must be templated, e.g. with {{ $labels.job }} or {{ $value | humanize }}")
        for action in actions:
            if not SUPPORTED_ACTION.match(action):
                self.problem(
                    (*path, "description"),
                    f"unsupported template action {action}; use $labels.NAME, $value piped to humanize, "
                    'humanizePercentage or humanizeDuration, or printf "%.Nf" $value',
                )

    def _alert(self, data: dict[str, Any], path: PathKey) -> m.Alert:
        template = data["template"]
        allowed = TEMPLATE_PARAMS[template]
        for key in sorted(ALL_PARAMS & set(data)):
            if key not in allowed:
                self.problem((*path, key), f"'{key}' is not a parameter of the {template} template")
        self._annotations(data, path)
        for_ = self._duration(data.get("for", "0m"), (*path, "for")) or "0m"
        window = self._duration(data.get("window", "5m"), (*path, "window")) or "5m"
        by = tuple(data.get("by", ()))
        alert = m.Alert(
            name=data["name"], template=template, severity=data["severity"], summary=data["summary"],
            description=data["description"], for_=for_, runbook=self._runbook(data.get("runbook")),
            labels=tuple(sorted(data.get("labels", {}).items())), by=by, op=data.get("op", ">"),
            threshold=data.get("threshold"), window=window, quantile=data.get("quantile", 0.95),
            min_value=data.get("min_value"),
        )
        for key in ("severity", "service", "team", "alertname"):
            if key in data.get("labels", {}):
                self.problem((*path, "labels", key), f"label '{key}' is set by obsgen; remove it")
        if template == "expr":
            return self._expr_alert(data, path, alert)
        if template not in ("down", "absent") and alert.threshold is None:
            self.problem(path, f"the {template} template needs 'threshold'")
        if template == "error_ratio":
            for key in ("errors", "total"):
                if key not in data:
                    self.problem(path, f"the error_ratio template needs '{key}'")
            if "errors" not in data or "total" not in data:
                return alert
            if alert.threshold is not None and not 0 < alert.threshold < 1:
                self.problem((*path, "threshold"), f"error ratio threshold {alert.threshold} must be between 0 and 1 (0.05 = 5%)")
            errors = self._selector(data["errors"], (*path, "errors"), ("counter",), by, (*path, "by"))
            totals_data = data["total"] if isinstance(data["total"], list) else [data["total"]]
            total_path = (*path, "total")
            totals = tuple(
                self._selector(
                    t, (*total_path, i) if isinstance(data["total"], list) else total_path, ("counter",), by, (*path, "by")
                )
                for i, t in enumerate(totals_data)
            )
            return m.Alert(**{**alert.__dict__, "errors": errors, "total": totals})
        if "metric" not in data:
            self.problem(path, f"the {template} template needs 'metric'")
            return alert
        types = TEMPLATE_TYPES.get(template, ())
        sel = self._selector({"metric": data["metric"], "matchers": data.get("matchers")}, path, types, by)
        metric = self.metrics.get(sel.metric)
        alert = m.Alert(**{**alert.__dict__, "metric": sel})
        if template == "latency_quantile" and metric is not None and metric.type == "histogram" and alert.threshold is not None:
            finite = metric.buckets
            # A histogram without buckets is already reported on the metric.
            if finite and not finite[0] <= alert.threshold < finite[-1]:
                self.problem(
                    (*path, "threshold"),
                    f"latency threshold {alert.threshold:g}s must lie between the smallest and the largest finite bucket "
                    f"of '{metric.name}' ({finite[0]:g}..{finite[-1]:g}), or the quantile can never cross it",
                )
        if template == "drop_percentage" and alert.threshold is not None:
            if not 0 < alert.threshold < 1:
                self.problem((*path, "threshold"), f"drop threshold {alert.threshold} must be between 0 and 1 (0.5 = 50%)")
            if parse_duration(alert.for_) + 60 > parse_duration(alert.window):
                self.problem(
                    (*path, "for"),
                    f"'for' ({alert.for_}) must be at least 1m shorter than the window ({alert.window}); "
                    "a drop stops being visible once the window has passed",
                )
        if template == "increase" and alert.threshold is not None and alert.threshold < 0:
            self.problem((*path, "threshold"), "increase threshold must be 0 or more")
        return alert

    def _expr_alert(self, data: dict[str, Any], path: PathKey, alert: m.Alert) -> m.Alert:
        if "expr" not in data:
            self.problem(path, "the expr template needs 'expr'")
            return alert
        self.check_expr(data["expr"], (*path, "expr"))
        test = data.get("test")
        if test is None:
            self.problem(path, "an expr alert needs a 'test' with 'firing' and 'silent' input series, so that it is proven to fire")
            return m.Alert(**{**alert.__dict__, "expr": data["expr"]})
        if "$value" in data["description"]:
            self.problem((*path, "description"), "an expr alert's description cannot use $value (obsgen cannot predict it for its rule test)")

        def raw_test(t: dict[str, Any], key: str) -> m.RawTest:
            self._duration(t["eval_time"], (*path, "test", key, "eval_time"))
            return m.RawTest(
                series=tuple((s["series"], s["values"]) for s in t["series"]),
                eval_time=t["eval_time"],
                labels=tuple(sorted(t.get("labels", {}).items())),
            )

        return m.Alert(
            **{**alert.__dict__, "expr": data["expr"], "firing_test": raw_test(test["firing"], "firing"),
               "silent_test": raw_test(test["silent"], "silent")}
        )

    def check_expr(self, expr: str, path: PathKey, dashboard: bool = False) -> None:
        """Type and label checks for a raw PromQL expression; dashboard ones may use Grafana's macros."""
        if dashboard:
            expr = substitute_macros(expr)
        try:
            analysis = analyse(expr)
        except PromQLSyntaxError as exc:
            self.problem(path, f"PromQL does not parse: {exc}")
            return
        for use in analysis.selectors:
            name, kind, metric = self._resolve(use.name)
            if kind is None:
                if ":" in name:
                    continue  # recording rules are checked once the plan exists
                self.problem(path, f"metric '{name}' is not declared in this catalog")
                continue
            inside_rate = bool(use.functions) and use.functions[0] in RATE_FUNCTIONS
            if inside_rate and kind != "counter":
                self.problem(path, f"{use.functions[0]}() on '{name}', which is a {kind}; rate functions need a counter")
            if kind == "counter" and not any(f in COUNTER_SAFE for f in use.functions):
                self.problem(path, f"counter '{name}' must be wrapped in rate() or increase()")
            if "histogram_quantile" in use.functions and not name.endswith("_bucket"):
                self.problem(path, f"histogram_quantile() over '{name}', which is not a histogram's _bucket series")
            known = set(metric.label_names) if metric else set()
            known |= IMPLICIT_LABELS | ({"le"} if name.endswith("_bucket") else set()) | {"quantile"}
            for label in use.labels:
                if metric is not None and label not in known:
                    self.problem(path, f"label '{label}' is not declared on metric '{metric.name}'")
        labels_in_expr: set[str] = set()
        all_declared = bool(analysis.selectors)
        for use in analysis.selectors:
            _, _, metric = self._resolve(use.name)
            if metric is not None:
                labels_in_expr |= set(metric.label_names)
            all_declared = all_declared and metric is not None
        # Metrics without labels still pin down what by() may name, as long as every series is declared here.
        if labels_in_expr or all_declared:
            allowed = labels_in_expr | IMPLICIT_LABELS | {"le", "quantile"}
            for group in analysis.grouping:
                for label in group:
                    if label not in allowed:
                        self.problem(path, f"label '{label}' in by() is not declared on the metrics of this expression")

    def _resolve(self, name: str) -> tuple[str, str | None, m.Metric | None]:
        """(name, effective type, declared metric) for a series name in an expression."""
        if name in BUILTIN_SERIES:
            return name, BUILTIN_SERIES[name], None
        metric = self.metrics.get(name)
        if metric is not None:
            kind = "gauge" if metric.type in ("summary", "histogram") else metric.type
            return name, kind, metric
        for suffix, kinds in (("_bucket", ("histogram",)), ("_count", ("histogram", "summary")), ("_sum", ("histogram", "summary"))):
            base = self.metrics.get(name[: -len(suffix)]) if name.endswith(suffix) else None
            if base is not None and base.type in kinds:
                return name, "counter", base
        return name, None, None

    # -- log alerts ------------------------------------------------------------------------------

    def _log_alert(self, data: dict[str, Any], path: PathKey) -> m.LogAlert:
        self._annotations(data, path)
        selector = data["selector"].strip()
        if not (selector.startswith("{") and selector.endswith("}")):
            self.problem((*path, "selector"), f"log selector {selector!r} must be a LogQL stream selector like {{job=\"relay\"}}")
        try:
            re.compile(data["pattern"])
        except re.error as exc:
            self.problem((*path, "pattern"), f"bad regular expression: {exc}")
        if "`" in data["pattern"]:
            self.problem((*path, "pattern"), "pattern must not contain a backtick")
        return m.LogAlert(
            name=data["name"], selector=selector, pattern=data["pattern"], severity=data["severity"],
            summary=data["summary"], description=data["description"],
            window=self._duration(data.get("window", "5m"), (*path, "window")) or "5m",
            threshold=float(data.get("threshold", 0)), for_=self._duration(data.get("for", "0m"), (*path, "for")) or "0m",
            runbook=self._runbook(data.get("runbook")),
        )

    # -- dashboards ------------------------------------------------------------------------------

    def _dashboard(self, data: dict[str, Any], path: PathKey, service: str) -> m.Dashboard:
        rows = []
        for r, row in enumerate(data["rows"]):
            panels = tuple(self._panel(p, (*path, "rows", r, "panels", i)) for i, p in enumerate(row["panels"]))
            rows.append(m.Row(row["title"], panels))
        slug = data.get("slug") or re.sub(r"[^a-z0-9]+", "-", data["title"].lower()).strip("-")
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
            errors = self._selector(data["errors"], (*path, "errors"), ("counter",), by, (*path, "by"))
            totals_data = data["total"] if isinstance(data["total"], list) else [data["total"]]
            totals = tuple(self._selector(t, (*path, "total"), ("counter",), by, (*path, "by")) for t in totals_data)
            return m.Panel(**{**panel.__dict__, "errors": errors, "total": totals})
        if "metric" not in data:
            self.problem(path, f"a {kind} panel needs 'metric'")
            return panel
        sel = self._selector({"metric": data["metric"], "matchers": data.get("matchers")}, path, PANEL_TYPES[kind], by)
        return m.Panel(**{**panel.__dict__, "metric": sel})

    # -- load tests ------------------------------------------------------------------------------

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
    windows = load_windows()
    problems: list[Problem] = []
    built: list[tuple[m.Service, RawCatalog]] = []
    for path in files:
        try:
            raw = load_file(path, {"env": env})
        except CatalogError as exc:
            problems.extend(exc.problems)
            continue
        except OSError as exc:
            problems.append(Problem(str(path), None, "", f"cannot read: {exc.strerror}"))
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

"""Alerts and log alerts of a catalog: each template's parameters, metric types and test-ability (SLOs: catalog/slos.py)."""

from __future__ import annotations

import re
from typing import Any

from obsgen import model as m
from obsgen.catalog.checks import LONGEST_TESTED
from obsgen.catalog.load import PathKey
from obsgen.catalog.slos import Slos
from obsgen.duration import parse_duration

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


class Alerts(Slos):
    """Builds the SLOs (catalog/slos.py), alerts and log alerts of one catalog."""

    def _alert(self, data: dict[str, Any], path: PathKey) -> m.Alert:
        template = data["template"]
        allowed = TEMPLATE_PARAMS[template]
        for key in sorted(ALL_PARAMS & set(data)):
            if key not in allowed:
                self.problem((*path, key), f"'{key}' is not a parameter of the {template} template")
        self._annotations(data, path)
        for_ = self._duration(data.get("for", "0m"), (*path, "for"), LONGEST_TESTED) or "0m"
        window = self._duration(data.get("window", "5m"), (*path, "window"), LONGEST_TESTED) or "5m"
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
            before = len(self.problems)
            errors = self._selector(data["errors"], (*path, "errors"), ("counter",), by, (*path, "by"))
            totals_data = data["total"] if isinstance(data["total"], list) else [data["total"]]
            total_path = (*path, "total")
            totals = tuple(
                self._selector(
                    t, (*total_path, i) if isinstance(data["total"], list) else total_path, ("counter",), by, (*path, "by")
                )
                for i, t in enumerate(totals_data)
            )
            self._check_ratio(errors, totals, path, before, by)
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
            self._duration(t["eval_time"], (*path, "test", key, "eval_time"), LONGEST_TESTED)
            return m.RawTest(
                series=tuple((s["series"], s["values"]) for s in t["series"]),
                eval_time=t["eval_time"],
                labels=tuple(sorted(t.get("labels", {}).items())),
            )

        return m.Alert(
            **{**alert.__dict__, "expr": data["expr"], "firing_test": raw_test(test["firing"], "firing"),
               "silent_test": raw_test(test["silent"], "silent")}
        )

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
            window=self._duration(data.get("window", "5m"), (*path, "window"), LONGEST_TESTED) or "5m",
            threshold=float(data.get("threshold", 0)),
            for_=self._duration(data.get("for", "0m"), (*path, "for"), LONGEST_TESTED) or "0m",
            runbook=self._runbook(data.get("runbook")),
        )

"""SLOs of a catalog: the SLI (selectors, a histogram threshold, or raw queries), the period and its alert window
set, and the burn alerts' name, labels, annotations and tiers."""

from __future__ import annotations

from typing import Any

from obsgen import model as m
from obsgen import slo_windows
from obsgen.catalog.checks import ACTION, LONGEST_TESTED, SUPPORTED_ACTION, Checks
from obsgen.catalog.load import PathKey
from obsgen.duration import parse_duration, prometheus_duration
from obsgen.promql import WINDOW_TEMPLATE, render, windowed

KIND_FIELDS = {
    "availability": ("errors", "total"),
    "latency": ("metric", "threshold", "matchers"),
    "query": ("error_query", "total_query", "error_ratio_query", "test"),
}
LONGEST_PERIOD = "365d"
# Labels obsgen sets on SLO series and burn alerts itself; sloth_* are the Sloth-compatible output's.
RESERVED_LABELS = ("service", "slo", "team", "severity", "alertname")
SAMPLE_WINDOW = "5m"  # the window a raw query is checked with


def reserved_label(name: str) -> bool:
    """A label an SLO or its alerts may not set: obsgen's own, Prometheus' internal ones and the Sloth-compatible ones."""
    return name in RESERVED_LABELS or name.startswith(("__", "sloth_"))


class Slos(Checks):
    """Builds the SLOs of one catalog."""

    def _window_set(self, data: dict[str, Any], path: PathKey) -> m.WindowSet | None:
        """The SLO's window set: the one it names, else the built-in or computed one for its period."""
        name, window = data.get("alert_windows"), data.get("window")
        if window is not None:
            seconds = parse_duration(window)  # the schema's pattern guarantees it parses
            if not 0 < seconds <= parse_duration(LONGEST_PERIOD):
                self.problem((*path, "window"), f"SLO period {window} must be longer than 0 and at most {LONGEST_PERIOD}")
                return None
        if name is not None:
            found = self.windows.get(name)
            if found is None:
                self.problem((*path, "alert_windows"), f"no alert window set '{name}'; known: {', '.join(sorted(self.windows))} "
                                                       "(custom sets are windows/NAME.yaml beside the catalogs)")
                return None
            if window is not None and prometheus_duration(parse_duration(window)) != found.period:
                self.problem((*path, "window"), f"the window set '{name}' is for a {found.period} period, not {window}")
                return None
            return found
        chosen = slo_windows.default_for(window or "30d")
        longest = max((p.long for t in chosen.tiers for p in t.pairs), key=parse_duration)
        if parse_duration(longest) > parse_duration(window or "30d"):
            self.problem((*path, "window"), f"SLO period {window} is shorter than the {longest} window of the {chosen.name} alert "
                                            "windows; name a window set made for it in 'alert_windows'")
            return None
        return chosen

    def _slo(self, data: dict[str, Any], path: PathKey) -> m.SLO:
        objective = float(data["objective"])
        ws = self._window_set(data, path)
        window = data.get("window") or (ws.period if ws is not None and "alert_windows" in data else "30d")
        if not 0 < objective < 100:
            self.problem((*path, "objective"), f"objective {data['objective']} must be above 0 and below 100 (a percentage)")
        elif ws is not None:
            fastest = slo_windows.fastest(ws).factor
            budget = 1 - objective / 100
            if fastest * budget >= 1:
                self.problem(
                    (*path, "objective"),
                    f"objective {data['objective']} leaves an error budget of {budget:.2%}; the {fastest:g}x burn-rate "
                    f"alert of the {ws.name} windows can never fire (needs an objective above {100 - 100 / fastest:.2f})",
                )
        kind = data["kind"]
        for other, fields in KIND_FIELDS.items():
            for key in fields if other != kind else ():
                if key in data and key not in KIND_FIELDS[kind]:
                    self.problem((*path, key), f"'{key}' is for {other} SLOs; {kind} SLOs use {', '.join(KIND_FIELDS[kind][:2])}")
        slo = m.SLO(
            name=data["name"], kind=kind, objective=objective, window=window,
            description=data.get("description", ""), runbook=self._runbook(data.get("runbook")), windows=ws,
            labels=self._slo_labels(data.get("labels", {}), (*path, "labels")),
            alerting=self._alerting(data.get("alerting", {}), (*path, "alerting")),
        )
        if kind == "availability":
            return self._availability(data, path, slo)
        if kind == "query":
            return self._query(data, path, slo)
        return self._latency(data, path, slo)

    def _availability(self, data: dict[str, Any], path: PathKey, slo: m.SLO) -> m.SLO:
        for key in ("errors", "total"):
            if key not in data:
                self.problem(path, f"availability SLO needs '{key}'")
        if "errors" not in data or "total" not in data:
            return slo
        before = len(self.problems)
        errors = self._selector(data["errors"], (*path, "errors"), ("counter",))
        total = self._selector(data["total"], (*path, "total"), ("counter",))
        self._check_ratio(errors, (total,), path, before)
        return m.SLO(**{**slo.__dict__, "errors": errors, "total": total})

    def _latency(self, data: dict[str, Any], path: PathKey, slo: m.SLO) -> m.SLO:
        for key in ("metric", "threshold"):
            if key not in data:
                self.problem(path, f"latency SLO needs '{key}'")
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

    def _query(self, data: dict[str, Any], path: PathKey, slo: m.SLO) -> m.SLO:
        events = [k for k in ("error_query", "total_query") if k in data]
        if events and "error_ratio_query" in data:
            self.problem((*path, "error_ratio_query"), "give either error_query and total_query, or error_ratio_query, not both")
        elif not events and "error_ratio_query" not in data:
            self.problem(path, "a query SLO needs error_query and total_query, or error_ratio_query")
        elif events and len(events) == 1:
            missing = "total_query" if events == ["error_query"] else "error_query"
            self.problem(path, f"a query SLO with {events[0]} needs {missing} too")
        elif events and data["error_query"].strip() == data["total_query"].strip():
            self.problem((*path, "error_query"), "error_query and total_query are the same, so the error ratio is always 1")
        for key in ("error_query", "total_query", "error_ratio_query"):
            if key not in data:
                continue
            if not WINDOW_TEMPLATE.search(data[key]):
                self.problem((*path, key), "must use {{.window}} where the range goes, e.g. rate(x[{{.window}}]), "
                                           "so each alert window gets its own")
                continue
            self.check_expr(render(windowed(data[key], SAMPLE_WINDOW)), (*path, key), undeclared_ok=True)
        queries = m.SliQueries(data.get("error_query", ""), data.get("total_query", ""), data.get("error_ratio_query", ""))
        firing = silent = None
        if "test" in data:
            firing = self._slo_test(data["test"]["firing"], (*path, "test", "firing"))
            silent = self._slo_test(data["test"]["silent"], (*path, "test", "silent"))
        return m.SLO(**{**slo.__dict__, "queries": queries, "firing_test": firing, "silent_test": silent})

    def _slo_test(self, data: dict[str, Any], path: PathKey) -> m.RawTest:
        self._duration(data["eval_time"], (*path, "eval_time"), LONGEST_TESTED)
        for key in data.get("labels", {}):  # the labels the queries keep, beside the SLO's own (job, say)
            if reserved_label(key):
                self.problem((*path, "labels", key), f"label '{key}' is the SLO's own; list only the labels the queries keep")
        return m.RawTest(tuple((s["series"], s["values"]) for s in data["series"]), data["eval_time"],
                         tuple(sorted(data.get("labels", {}).items())))

    def _slo_labels(self, labels: dict[str, str], path: PathKey) -> m.Labels:
        for key in sorted(labels):
            if reserved_label(key):
                self.problem((*path, key), f"label '{key}' is set by obsgen; choose another name")
        return tuple(sorted(labels.items()))

    def _annotation_texts(self, annotations: dict[str, str], path: PathKey) -> m.Labels:
        summary = annotations.get("summary")
        if summary is not None and "{{" in summary:
            self.problem((*path, "summary"), "summary must be a plain sentence without template actions")
        for key, text in sorted(annotations.items()):
            for action in ACTION.findall(text) if key != "summary" else ():
                if not SUPPORTED_ACTION.fullmatch(action):
                    self.problem((*path, key), f"unsupported template action {action}; use $labels.NAME or $value "
                                               "piped to humanize, humanizePercentage or humanizeDuration")
        return tuple(sorted(annotations.items()))

    def _alerting(self, data: dict[str, Any], path: PathKey) -> m.SloAlerting:
        tiers = {}
        for tier in ("page", "ticket"):
            block = data.get(tier, {})
            tiers[tier] = m.SloTier(
                disable=bool(block.get("disable", False)), severity=block.get("severity", ""),
                labels=self._alert_labels(block.get("labels", {}), (*path, tier, "labels")),
                annotations=self._annotation_texts(block.get("annotations", {}), (*path, tier, "annotations")),
            )
        return m.SloAlerting(
            name=data.get("name", ""), labels=self._alert_labels(data.get("labels", {}), (*path, "labels")),
            annotations=self._annotation_texts(data.get("annotations", {}), (*path, "annotations")),
            page=tiers["page"], ticket=tiers["ticket"],
        )

    def _alert_labels(self, labels: dict[str, str], path: PathKey) -> m.Labels:
        for key in sorted(labels):
            if reserved_label(key):
                hint = "; set the tier's 'severity' instead" if key == "severity" else ""
                self.problem((*path, key), f"label '{key}' is set by obsgen{hint}")
        return tuple(sorted(labels.items()))

"""Checks shared by every section of a catalog: located problems, durations, selectors and raw PromQL.

catalog/build.py builds a Service section by section (catalog/alerts.py holds SLOs and alerts); each step
reports what is wrong through `problem`, with the field path and line, and all problems are raised together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from obsgen import model as m
from obsgen.catalog.load import PathKey, RawCatalog, format_path
from obsgen.catalog.selectors import grouping_problem, matcher_problems, same_events, subset_problem
from obsgen.catalog.text import bad_character
from obsgen.duration import parse_duration
from obsgen.errors import Problem
from obsgen.promql_parse import PromQLSyntaxError, SelectorUse, analyse, parse_matchers, substitute_macros

IMPLICIT_LABELS = {"job", "instance"}
# Alert durations: every alert gets a promtool test that steps through `for` and the window minute by minute.
LONGEST_TESTED = "7d"
TESTED_WHY = "its generated rule test steps through it minute by minute"
LONGEST = "1y"  # any other duration (scrape interval, routing timers, load-test stages)
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
SUPPORTED_ACTION = re.compile(
    r"^\{\{-?\s*(\$labels\.[a-zA-Z_][a-zA-Z0-9_]*"
    r"|\$value\s*\|\s*(humanize|humanizePercentage|humanizeDuration)"
    r'|printf\s+"%\.[0-9]f"\s+\$value)\s*-?\}\}$'
)
ACTION = re.compile(r"\{\{.*?\}\}")
# Dashboard queries: series scoped by a service label rather than a job, the job filter, and a selector as written.
SERVICE_SCOPED = ("ALERTS", "ALERTS_FOR_STATE", "probe_success", "probe_duration_seconds", "probe_http_status_code")
JOB_FILTER = 'job=~"$job"'
SELECTOR_TEXT = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^{}]*)\}")


class Checks:
    """One catalog's problems, and the checks every section uses."""

    def __init__(self, raw: RawCatalog, env: str, windows: Mapping[str, m.WindowSet]) -> None:
        self.raw = raw
        self.env = env
        self.windows = windows  # alert window sets by name: the built-in ones and the project's own
        self.problems: list[Problem] = []
        self.metrics: dict[str, m.Metric] = {}
        # Fields replaced by an environment override -> where the override is written, so problems point there.
        self.overridden: dict[PathKey, PathKey] = {}

    def problem(self, path: PathKey, message: str) -> None:
        path = self.overridden.get(path, path)
        self.problems.append(Problem(self.raw.file, self.raw.line_of(path), format_path(path), message))

    def _duplicates(self, names: list[str], where: str | PathKey, what: str) -> None:
        base = (where,) if isinstance(where, str) else where
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.problem((*base, i, "name"), f"duplicate {what} name '{name}'")
            seen.add(name)

    def _duration(self, text: str | None, path: PathKey, longest: str = LONGEST) -> str | None:
        if text is None:
            return None
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            self.problem(path, str(exc))
            return text
        if seconds > parse_duration(longest):
            why = TESTED_WHY if longest == LONGEST_TESTED else "a longer one is a slip"
            self.problem(path, f"duration {text} is longer than {longest}; {why}")
        return text

    def _matchers(self, items: list[str] | None, path: PathKey) -> tuple[m.Matcher, ...]:
        out: list[m.Matcher] = []
        for i, text in enumerate(items or []):
            try:
                parsed = parse_matchers(text)
            except PromQLSyntaxError as exc:
                self.problem((*path, i), f"bad label matcher {text!r}: {exc}")
                continue
            for mt in parsed:
                # An escape such as \n in the matcher text gives a value no label can carry through every output;
                # such a matcher is reported once and left out of the checks that follow.
                found = bad_character(mt.value)
                if found:
                    self.problem((*path, i), f"matcher value of '{mt.label}' contains {found}; label values must be one line of printable text")
                else:
                    out.append(mt)
        return tuple(out)

    def _selector(
        self, data: dict[str, Any], path: PathKey, types: tuple[str, ...], by: tuple[str, ...] = (),
        by_path: PathKey | None = None,
    ) -> m.Selector:
        matchers = self._matchers(data.get("matchers"), (*path, "matchers"))
        sel = m.Selector(data["metric"], matchers)
        metric = self._check_metric(sel.metric, (*path, "metric"), types, list(sel.labels), (*path, "matchers"))
        for message in matcher_problems(sel, metric) if metric is not None else ():
            self.problem((*path, "matchers"), message)
        # A by() label is reported where `by` is written, which is not always beside the selector.
        for label in by if metric is not None else ():
            if label not in metric.label_names and label not in IMPLICIT_LABELS:
                self.problem(by_path or (*path, "by"), f"label '{label}' is not declared on metric '{sel.metric}'")
        return sel

    def _check_ratio(self, errors: m.Selector, totals: tuple[m.Selector, ...], path: PathKey, before: int,
                     by: tuple[str, ...] = ()) -> None:
        """An error ratio's errors must count a subset of its total (see catalog/selectors.py); judged only on
        selectors that are sound themselves, so one slip gives one line."""
        if len(self.problems) > before:
            return
        reason = subset_problem(errors, totals, self.metrics, by) or grouping_problem(errors, totals, by)
        if reason is not None:
            self.problem((*path, "errors"), reason)
        elif same_events(errors, totals, self.metrics):
            self.problem((*path, "errors"), "errors selects exactly the events total counts, so the ratio is always 1; "
                                            "give errors a matcher that total lacks")

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

    def check_expr(self, expr: str, path: PathKey, dashboard: bool = False, undeclared_ok: bool = False) -> None:
        """Type and label checks for a raw PromQL expression; dashboard ones may use Grafana's macros.

        undeclared_ok: series the catalog does not declare are taken as written (a raw-query SLO over another
        exporter's metrics); the declared ones are still type-checked.
        """
        text = expr
        if dashboard:
            expr = substitute_macros(expr)
        try:
            analysis = analyse(expr)
        except PromQLSyntaxError as exc:
            self.problem(path, f"PromQL does not parse: {exc}")
            return
        if dashboard:
            self._dashboard_filters(text, analysis.selectors, path)
        for use in analysis.selectors:
            name, kind, metric = self._resolve(use.name)
            if kind is None:
                if ":" in name or undeclared_ok:
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

    def _dashboard_filters(self, text: str, uses: list[SelectorUse], path: PathKey) -> None:
        """A panel query follows the dashboard's filters, as the dashboard lint requires: every series carries
        job=~"$job" written so (the emitter adds $instance beside it), and alerts and probes a service matcher."""
        braces: dict[str, list[str]] = {}
        for match in SELECTOR_TEXT.finditer(text):
            braces.setdefault(match.group(1), []).append(match.group(2))
        reported: set[str] = set()
        for use in uses:
            if use.name in reported:
                continue
            if use.name in SERVICE_SCOPED or use.name.startswith("slo:"):
                if "service" not in use.labels:
                    self.problem(path, f"'{use.name}' needs a service matcher, so the panel shows this service only")
                    reported.add(use.name)
            elif "job" not in use.labels or any(JOB_FILTER not in inner for inner in braces.get(use.name, [""])):
                self.problem(path, f"'{use.name}' needs the matcher {JOB_FILTER}, so the dashboard's job and instance "
                                   "filters apply to it")
                reported.add(use.name)

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
            if not SUPPORTED_ACTION.fullmatch(action):
                self.problem(
                    (*path, "description"),
                    f"unsupported template action {action}; use $labels.NAME, $value piped to humanize, "
                    'humanizePercentage or humanizeDuration, or printf "%.Nf" $value',
                )

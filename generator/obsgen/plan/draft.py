"""The working state while one service is planned: its recorder, alerts and test cases so far.

A Draft lives only inside `plan_service`; what leaves it is the frozen ServicePlan.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from obsgen import gotemplate
from obsgen import model as m
from obsgen.duration import parse_duration
from obsgen.plan.records import Recorder
from obsgen.plan.synth import Synth, scope_values
from obsgen.plan.types import AlertRule, ExpectedAlert, ExprCheck, Labels, Path, PlanError, TestCase, TestSeries, label_set
from obsgen.promql import Expr, Scope, render
from obsgen.slo_options import DEFAULT as DEFAULT_SLO
from obsgen.slo_options import SloOptions

Carries = Literal["kept", "all", "absent", "none"]


class Draft:
    """Rules and cases of one service while they are being planned."""

    def __init__(self, service: m.Service, scope: Scope, runbook_urls: dict[str, str], with_cases: bool = True,
                 slo_options: SloOptions = DEFAULT_SLO) -> None:
        self.svc = service
        self.slo_options = slo_options  # Sloth-compatible series, `for:` of burn alerts
        self.scope = scope
        self.with_cases = with_cases  # False: rules only, no test inputs (a run that writes no rule tests)
        self.synth = Synth(service)
        self.records = Recorder(service, scope)
        self.runbook_urls = runbook_urls
        self.alerts: list[AlertRule] = []
        self.cases: list[TestCase] = []
        self.rule_labels = (("service", service.name), ("team", service.team))
        # Under a project scope every test series carries the scope's labels; what an alert keeps of them depends
        # on its expression: aggregations keep the grouping labels, a plain comparison keeps the series' labels,
        # absent() keeps the selector's equality matchers.
        self.scope_series = scope_values(scope)
        self.scope_carried: dict[str, dict[str, str]] = {
            "kept": {k: v for k, v in self.scope_series.items() if k in scope.keep},
            "all": self.scope_series,
            "absent": {mt.label: mt.value for mt in scope.selector if mt.op == "="},
            "none": {},
        }

    def text(self, expr: Expr) -> str:
        return render(expr, self.scope)

    def make_alert(
        self, name: str, expr: Expr | str, for_: str, severity: str, summary: str, description: str, runbook: m.Runbook,
        origin: str, output_labels: tuple[str, ...], extra_labels: Labels = (), queries: tuple[Expr | str, ...] = (),
        extra_annotations: Labels = (),
    ) -> AlertRule:
        labels = label_set({**dict(extra_labels), **dict(self.rule_labels), "severity": severity})
        # obsgen's three annotations, already in sorted order; a catalog's own (an SLO's alerting block) add to
        # them and may replace them.
        annotations: Labels = (("description", description), ("runbook_url", self.runbook_urls[name]), ("summary", summary))
        if extra_annotations:
            annotations = tuple(sorted({**dict(annotations), **dict(extra_annotations)}.items()))
        text = expr if isinstance(expr, str) else self.text(expr)
        shown = tuple(q if isinstance(q, str) else self.text(q) for q in queries) or (text,)
        return AlertRule(name, text, for_, severity, labels, annotations, runbook, origin, shown, output_labels)

    def expected(self, rule: AlertRule, out_labels: dict[str, str], value: float | None) -> ExpectedAlert:
        labels = {**out_labels, **dict(rule.labels)}
        render_labels = dict(out_labels)  # $labels holds the expression's labels, not the rule's
        ann = tuple((k, gotemplate.render(v, render_labels, value) if "{{" in v else v) for k, v in rule.annotations)
        return ExpectedAlert(label_set(labels), ann)

    def add_case(self, name: str, series: list[TestSeries], minutes: int, rule: AlertRule,
                 fired: list[tuple[dict[str, str], float | None]], checks: tuple[ExprCheck, ...] = (),
                 rules: tuple[AlertRule, ...] = (), carries: Carries = "kept") -> None:
        """A promtool case; `carries` says which scope labels the alert's expression passes on (see __init__)."""
        if self.scope_series:
            series, checks, fired = self._scoped(series, checks, fired, carries)
        expected: list[ExpectedAlert] = []
        for r in rules or (rule,):
            expected.extend(self.expected(r, labels, value) for labels, value in fired)
        self.cases.append(TestCase(name, tuple(series), minutes, rule.name, tuple(expected), checks))

    def _scoped(self, series: list[TestSeries], checks: tuple[ExprCheck, ...], fired: list[tuple[dict[str, str], float | None]],
                carries: Carries) -> tuple[list[TestSeries], tuple[ExprCheck, ...], list[tuple[dict[str, str], float | None]]]:
        """The case under the project scope: a series' own labels and an expected label set's own values win."""
        extra, kept = self.scope_series, self.scope_carried["kept"]
        scoped = [s if "__raw__" in dict(s.labels) else replace(s, labels=label_set({**extra, **dict(s.labels)}))
                  for s in series]
        # Every recording rule obsgen writes aggregates, so a recorded series keeps exactly the grouping labels.
        recorded = tuple(replace(c, labels=label_set({**kept, **dict(c.labels)})) for c in checks)
        carried = self.scope_carried[carries]
        return scoped, recorded, [({**carried, **labels}, value) for labels, value in fired]

    def check_labels(self, alert: m.Alert, path: Path, out_labels: tuple[str, ...]) -> None:
        available = set(out_labels)
        for label in sorted(gotemplate.labels_used(alert.description)):
            if label not in available:
                raise PlanError((*path, "description"),
                                f"description uses $labels.{label}, but the alert expression only yields "
                                f"{', '.join(sorted(available)) or 'no labels'} (rule labels are not visible to templates)")

    def catalog_rule(self, alert: m.Alert, expr: Expr | str, out: tuple[str, ...], path: Path,
                     queries: tuple[Expr | str, ...] = ()) -> AlertRule:
        """An alert the catalog declares, after checking its description only uses labels the expression yields."""
        self.check_labels(alert, path, out)
        rule = self.make_alert(alert.name, expr, alert.for_, alert.severity, alert.summary, alert.description,
                               alert.runbook, alert.template, out, alert.labels, queries)
        self.alerts.append(rule)
        return rule

    @staticmethod
    def eval_minutes(alert: m.Alert, window: str | None = None) -> int:
        extra = parse_duration(window) if window else 0
        return int((parse_duration(alert.for_) + extra) // 60) + 3

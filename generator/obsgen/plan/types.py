"""The plan's values: frozen records of every rule, test case, query and runbook anchor obsgen will write."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from obsgen import model as m
from obsgen import naming
from obsgen.promql import Scope

Labels = tuple[tuple[str, str], ...]
Path = tuple[str | int, ...]

# A 1,000-service plan holds about half a million label pairs, nearly all repeats ("job", "svc-1"), ("le", "+Inf"):
# equal pairs and equal label sets share one tuple (tens of MB of peak memory; equal values, so equal output).
_SHARED: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def label_set(mapping: Mapping[str, str]) -> Labels:
    """The mapping's items sorted by label, as a Labels tuple shared with every equal one made before."""
    shared = _SHARED
    if len(shared) >= 1 << 20:  # a long-lived process (tests) planning many bundles starts over
        shared.clear()
    pairs = []
    text_only = True  # only text is shared: 1 == 1.0 == True would let an equal value of another type stand in
    for pair in sorted(mapping.items()):
        if type(pair[0]) is str and type(pair[1]) is str:
            pair = shared.setdefault(pair, pair)
        else:
            text_only = False
        pairs.append(pair)
    labels = tuple(pairs)
    return shared.setdefault(labels, labels) if text_only else labels  # type: ignore[return-value]


@dataclass(frozen=True)
class RecordingRule:
    """One recording rule: its name, rendered expression and static labels."""

    record: str
    expr: str
    labels: Labels = ()


@dataclass(frozen=True)
class AlertRule:
    """One alerting rule with everything its runbook section and rule tests need."""

    name: str
    expr: str
    for_: str
    severity: str
    labels: Labels  # rule labels: severity, service, team, custom
    annotations: Labels  # summary, description, runbook_url
    runbook: m.Runbook
    origin: str  # template or generator that made it
    queries: tuple[str, ...] = ()  # PromQL an operator should look at
    output_labels: tuple[str, ...] = ()  # labels the expression's result carries


@dataclass(frozen=True)
class TestSeries:
    """One input series of a promtool test."""

    labels: Labels  # includes __name__, or only __raw__ for a series a catalog wrote
    values: str  # promtool expanding notation
    inc: float = 0.0  # per-sample increase, for counters

    @property
    def name(self) -> str:
        return dict(self.labels).get("__name__", "")


@dataclass(frozen=True)
class ExpectedAlert:
    """An alert a promtool test expects, labels and annotations exactly."""

    labels: Labels
    annotations: Labels


@dataclass(frozen=True)
class ExprCheck:
    """A recording rule's value at eval time, within 1%: (rec > bool lo) + (rec < bool hi) == 2."""

    record: str
    labels: Labels  # the recorded series' labels (without __name__)
    value: float


@dataclass(frozen=True)
class TestCase:
    """One promtool test: input series, when to evaluate, which alerts must fire."""

    name: str
    series: tuple[TestSeries, ...]
    eval_minutes: int
    alertname: str
    expected: tuple[ExpectedAlert, ...]
    checks: tuple[ExprCheck, ...] = ()


@dataclass(frozen=True)
class Query:
    """A panel query and its legend."""

    expr: str
    legend: str


@dataclass(frozen=True)
class LoadPanel:
    """One panel over k6's remote-write metrics: the load-tests dashboard draws it, the k6 README lists it."""

    title: str
    expr: str
    unit: str
    legend: str
    series: tuple[str, ...]  # the k6 series it reads


@dataclass(frozen=True)
class SloPlan:
    """The recorded series of one SLO, so dashboards read names from here rather than spelling them."""

    slo: m.SLO
    matchers: tuple[m.Matcher, ...]  # service="...", slo="..."
    windows: tuple[str, ...]  # every alert window, shortest first
    factors: tuple[float, ...]  # burn-rate factors of the alert tiers, ascending
    period: str  # as Prometheus prints it, as the period's record is named: 30d, 4w (28 days)
    fast: str  # the long window of the fastest-burning pair (1h for 30 days): what "burning now" means
    window_set: m.WindowSet | None = None
    static: Labels = ()  # labels on every series of the SLO: service, slo, the SLO's own, Sloth's ids when asked

    def sli(self, window: str) -> str:
        return naming.sli_error(window)


@dataclass(frozen=True)
class RunbookSection:
    """One alert's part of a service's runbook page."""

    alert: str
    anchor: str  # what GitHub's renderer makes of the heading, so runbook_url#anchor lands on it
    rules: tuple[AlertRule, ...]  # every tier sharing the name (and log alerts)


@dataclass(frozen=True)
class RunbookPage:
    """A service's runbook page: its path, title and one section per alert."""

    path: str  # relative to the output root
    title: str
    sections: tuple[RunbookSection, ...]


@dataclass(frozen=True)
class ServicePlan:
    """Everything planned for one service."""

    service: m.Service
    recording: tuple[RecordingRule, ...]
    slo_recording: tuple[RecordingRule, ...]
    alerts: tuple[AlertRule, ...]
    cases: tuple[TestCase, ...]
    panels: tuple[tuple[tuple[str, int, int], tuple[Query, ...]], ...] = ()
    rate_records: tuple[tuple[str, str], ...] = ()  # metric (with suffix) -> its 5m rate record
    log_alerts: tuple[AlertRule, ...] = ()  # LogQL rules for Loki; the runbook page documents them too
    slos: tuple[SloPlan, ...] = ()
    runbook: RunbookPage | None = None

    def panel_queries(self, slug: str, row: int, panel: int) -> tuple[Query, ...]:
        return dict(self.panels)[(slug, row, panel)]

    def rate_record(self, metric: str) -> str | None:
        return dict(self.rate_records).get(metric)


@dataclass(frozen=True)
class RuleGroup:
    """One rule group as every rule target writes it: evaluated in this order, by this name."""

    name: str
    rules: tuple[RecordingRule | AlertRule, ...]


@dataclass(frozen=True)
class RuleFile:
    """The rule groups of one service (or of the stack's own alerts): a rule file, a PrometheusRule, a ruler namespace."""

    name: str  # the service's name, or naming.META_RULES
    source: str  # what generated headers name as its origin
    groups: tuple[RuleGroup, ...]


@dataclass(frozen=True)
class Plan:
    """Everything the emitters write, decided once: built by `build_plan`, read by every emitter."""

    bundle: m.Bundle
    services: tuple[ServicePlan, ...]
    meta_alerts: tuple[AlertRule, ...]
    meta_cases: tuple[TestCase, ...]
    meta_runbook: RunbookPage
    load_panels: tuple[LoadPanel, ...]
    scope: Scope = Scope()
    with_cases: bool = True  # False: planned for outputs that need no rule-test inputs

    def service(self, name: str) -> ServicePlan:
        return next(p for p in self.services if p.service.name == name)

    @property
    def all_alerts(self) -> tuple[AlertRule, ...]:
        return tuple(a for p in self.services for a in p.alerts) + self.meta_alerts

    @property
    def rule_files(self) -> tuple[RuleFile, ...]:
        """Every service's rule groups (recording, SLO, alerts; empty ones left out), then the stack's own."""
        files = []
        for p in self.services:
            names = naming.rule_groups(p.service.name)
            groups = tuple(RuleGroup(n, rules) for n, rules in zip(names, (p.recording, p.slo_recording, p.alerts), strict=True)
                           if rules)
            files.append(RuleFile(p.service.name, p.service.source, groups))
        meta = RuleFile(naming.META_RULES, "obsgen itself (the stack's dead-man's switch)",
                        (RuleGroup(naming.META_GROUP, self.meta_alerts),))
        return (*files, meta)

    @property
    def record_names(self) -> set[str]:
        return {r.record for p in self.services for r in (*p.recording, *p.slo_recording)}


BundlePlan = Plan  # the name emitters and tools used before the plan became a stage


class PlanError(Exception):
    """A catalog passes the schema but cannot be turned into testable rules."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class PlanProblem:
    """A problem the plan stage found, located by service and field path; the pipeline adds file and line."""

    service: str
    path: Path
    message: str


class PlanProblems(Exception):
    """Every problem the plan stage found; raised only after all services were planned."""

    def __init__(self, problems: list[PlanProblem]) -> None:
        super().__init__("; ".join(f"{p.service}: {'.'.join(map(str, p.path))}: {p.message}" for p in problems))
        self.problems = problems

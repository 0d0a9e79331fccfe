"""The plan stage: from the model to one immutable Plan of every rule, test case, query and runbook anchor.

`build_plan(bundle, scope)` runs once per generation; every emitter then reads the same Plan, so an
expression is built once and every output agrees on its name.
"""

from __future__ import annotations

from obsgen import model as m
from obsgen.naming import PROBE_JOB, RATE_WINDOW, camel
from obsgen.plan import runbooks
from obsgen.plan.alerts import catalog_alert
from obsgen.plan.checks import reference_problems
from obsgen.plan.draft import Draft
from obsgen.plan.generated import health_probes, log_alert_rule, target_down, watchdog
from obsgen.plan.panels import catalog_panel, load_panels
from obsgen.plan.slo import plan_slo
from obsgen.plan.synth import TEST_INTERVAL, pick_value
from obsgen.plan.types import (
    AlertRule,
    BundlePlan,
    ExpectedAlert,
    ExprCheck,
    LoadPanel,
    Plan,
    PlanError,
    PlanProblem,
    PlanProblems,
    Query,
    RecordingRule,
    RunbookPage,
    RunbookSection,
    ServicePlan,
    SloPlan,
    TestCase,
    TestSeries,
)
from obsgen.promql import PLAIN, Scope
from obsgen.slo_options import DEFAULT as DEFAULT_SLO
from obsgen.slo_options import SloOptions


def _runbook_page(service: m.Service, alerts: tuple[AlertRule, ...], logs: tuple[AlertRule, ...],
                  anchors: dict[str, str]) -> RunbookPage:
    by_name: dict[str, list[AlertRule]] = {}
    for rule in (*alerts, *logs):
        by_name.setdefault(rule.name, []).append(rule)
    sections = tuple(RunbookSection(name, anchors[name], tuple(by_name[name])) for name in sorted(by_name))
    return RunbookPage(runbooks.page_path(service.name), runbooks.page_title(service.name), sections)


def plan_service(service: m.Service, scope: Scope = PLAIN, with_cases: bool = True, runbook_base: str = "", *,
                 slo: SloOptions = DEFAULT_SLO) -> ServicePlan:
    """Every rule, test case, panel query and runbook section of one service; raises PlanError.

    with_cases=False plans no rule-test inputs: for runs that write no rule tests (`--only rules`).
    runbook_base is the project's base URL, for a service whose catalog names none.
    slo: the project's SLO options (Sloth-compatible series, `for:` of burn alerts).
    """
    anchors = runbooks.service_anchors(service)
    urls = runbooks.urls(service.name, service.runbook_base or runbook_base, anchors)
    d = Draft(service, scope, urls, with_cases, slo)
    # Order: dashboards' needs do not change alert rule names, so alerts register first.
    for i, alert in enumerate(service.alerts):
        catalog_alert(d, alert, ("alerts", i))
    for target in service.targets:
        target_down(d, target)
    health_probes(d)
    slo_rules: list[RecordingRule] = []
    slos: list[SloPlan] = []
    for i, slo in enumerate(service.slos):
        sp, rules = plan_slo(d, slo, i)
        slos.append(sp)
        slo_rules.extend(rules)
    panels = [((dash.slug, r, p), catalog_panel(d, panel))
              for dash in service.dashboards for r, row in enumerate(dash.rows) for p, panel in enumerate(row.panels)]
    logs = tuple(log_alert_rule(service, la, urls) for la in service.log_alerts)
    alerts = tuple(d.alerts)
    return ServicePlan(
        service=service,
        recording=tuple(d.records.rules.values()),
        slo_recording=tuple(slo_rules),
        alerts=alerts,
        cases=tuple(d.cases),
        panels=tuple(panels),
        rate_records=tuple(sorted(d.records.rate_records.items())),
        log_alerts=logs,
        slos=tuple(slos),
        runbook=_runbook_page(service, alerts, logs, anchors),
    )


def build_plan(bundle: m.Bundle, scope: Scope = PLAIN, with_cases: bool = True, runbook_base: str = "", *,
               slo: SloOptions = DEFAULT_SLO) -> Plan:
    """The plan of every service plus the stack's own alerts; raises PlanProblems listing every problem found."""
    problems: list[PlanProblem] = []
    services: list[ServicePlan] = []
    for svc in bundle.services:
        try:
            services.append(plan_service(svc, scope, with_cases, runbook_base, slo=slo))
        except PlanError as exc:
            problems.append(PlanProblem(svc.name, exc.path, exc.message))
    if not problems:
        problems = reference_problems(services)
    if problems:
        raise PlanProblems(problems)
    rule, case, page = watchdog(runbook_base)
    return Plan(bundle, tuple(services), (rule,), (case,) if with_cases else (), page, load_panels(scope), scope, with_cases)


plan_bundle = build_plan  # the name tools and tests used before the plan became a stage

__all__ = [
    "PROBE_JOB", "RATE_WINDOW", "TEST_INTERVAL", "AlertRule", "BundlePlan", "ExpectedAlert", "ExprCheck", "LoadPanel", "Plan",
    "PlanError", "PlanProblem", "PlanProblems", "Query", "RecordingRule", "RunbookPage", "RunbookSection", "ServicePlan",
    "SloPlan", "TestCase", "TestSeries", "build_plan", "camel", "log_alert_rule", "pick_value", "plan_bundle", "plan_service",
]

"""Alerts obsgen adds without being asked: target down, failing health checks, log alerts and the Watchdog."""

from __future__ import annotations

from obsgen import gotemplate, logql, naming
from obsgen import model as m
from obsgen.naming import PROBE_JOB
from obsgen.plan import runbooks
from obsgen.plan.draft import Draft
from obsgen.plan.synth import gauge_series
from obsgen.plan.types import AlertRule, ExpectedAlert, RunbookPage, RunbookSection, TestCase
from obsgen.promql import PLAIN, absent, compare, either, eq, render, scalar_vector, vector


def target_down(d: Draft, target: m.Target) -> None:
    """Down (up == 0) or missing (absent): either way the target's other alerts cannot fire."""
    name = naming.target_down_alert(target.job)
    up = vector("up", (eq("job", target.job),))
    rule = d.make_alert(
        name, either(compare(up, "==", 0), absent(up)), "2m", "critical", f"A {target.job} scrape target is down or missing.",
        "Prometheus cannot scrape {{ $labels.job }} {{ $labels.instance }}, or finds no such target.",
        m.Runbook(
            impact=f"No metrics from {target.job}: its other alerts cannot fire and dashboards go blank.",
            diagnosis=(f"Open Prometheus' Targets page and read the scrape error of job {target.job}.",
                       f"Check that the process listens on {', '.join(target.addresses)} and serves {target.metrics_path}.",
                       "Check the scrape credentials if the endpoint needs a token."),
            recovery=("Restart the service or fix its network path.", "Fix the scrape configuration if the target moved."),
        ),
        "target_down", ("instance", "job"), queries=(up,),
    )
    d.alerts.append(rule)
    if not d.with_cases:
        return
    labels = {"job": target.job, "instance": target.addresses[0]}
    down = gauge_series("up", labels, 0, 10)
    d.add_case(f"{name} fires when the target is down", [down], 5, rule, [(labels, 0.0)], carries="all")
    other = gauge_series("up", {"job": "some-other-job", "instance": "elsewhere:1"}, 1, 10)
    d.add_case(f"{name} fires when the target is missing", [other], 5, rule, [({"job": target.job}, 1.0)], carries="absent")
    d.add_case(f"{name} stays silent", [gauge_series("up", labels, 1, 10)], 5, rule, [], carries="all")


def health_probes(d: Draft) -> None:
    """One alert over every blackbox probe of the service's health endpoints."""
    svc = d.svc
    if not svc.health:
        return
    name = naming.health_alert(svc.name)
    probe = vector("probe_success", (eq("job", PROBE_JOB), eq("service", svc.name)))
    rule = d.make_alert(
        name, compare(probe, "==", 0), "2m", "critical", f"A health check of {svc.name} is failing.",
        "The {{ $labels.check }} check of {{ $labels.service }} at {{ $labels.instance }} fails.",
        m.Runbook(
            impact=f"{svc.name} reports itself unhealthy or does not answer; users may see errors.",
            diagnosis=tuple(f"curl -fsS {h.url} and read which dependency fails." for h in svc.health),
            recovery=("Restore the failing dependency (database, cache, broker) named in the health response.",
                      "Restart the service if its liveness check fails."),
        ),
        "probe", ("check", "instance", "job", "service"),
        queries=(probe, vector("probe_http_status_code", (eq("service", svc.name),))),
    )
    d.alerts.append(rule)
    if not d.with_cases:
        return
    h = svc.health[0]
    labels = {"job": PROBE_JOB, "instance": h.url, "service": svc.name, "check": h.name}
    d.add_case(f"{name} fires", [gauge_series("probe_success", labels, 0, 10)], 5, rule, [(labels, 0.0)], carries="all")
    d.add_case(f"{name} stays silent", [gauge_series("probe_success", labels, 1, 10)], 5, rule, [], carries="all")


def log_alert_rule(service: m.Service, alert: m.LogAlert, runbook_urls: dict[str, str] | None = None) -> AlertRule:
    """A catalog log alert as a LogQL alert rule; the Loki ruler file and the runbook both read this rule."""
    d = Draft(service, PLAIN, runbook_urls if runbook_urls is not None else runbooks.service_urls(service))
    # Per service, as `by (job)` is for metrics: OTLP logs carry no job label in Loki, service_name is its twin.
    query = logql.count_matching(alert.selector, alert.pattern, alert.window, by=("service_name",))
    return d.make_alert(alert.name, logql.above(query, alert.threshold), alert.for_, alert.severity, alert.summary,
                        alert.description, alert.runbook, "log", ("service_name",), queries=(query,))


def watchdog(runbook_base: str = "") -> tuple[AlertRule, TestCase, RunbookPage]:
    """The always-firing alert whose absence at the dead-man's switch is the alarm."""
    anchor = runbooks.anchors(runbooks.META_PAGE, (naming.WATCHDOG,))[naming.WATCHDOG]
    url = runbooks.urls(runbooks.META_PAGE, runbook_base, {naming.WATCHDOG: anchor})[naming.WATCHDOG]
    rule = AlertRule(
        naming.WATCHDOG, render(scalar_vector(1)), "0m", "info",
        (("service", "obsgen"), ("severity", "info"), ("team", "platform")),
        (("description", "Always firing, so the alerting pipeline is proven alive; its absence at the dead-man's-switch "
                         "receiver is the alarm."),
         ("runbook_url", url),
         ("summary", "The alerting pipeline is alive.")),
        m.Runbook(
            impact="None while it fires. If the dead-man's switch stops receiving it, alerts are not being delivered.",
            diagnosis=("Check Prometheus' /api/v1/alertmanagers and Alertmanager's status page.",),
            recovery=("Restore the Prometheus to Alertmanager path, then the Alertmanager to receiver path.",),
        ),
        "watchdog", (),
    )
    expected = ExpectedAlert(rule.labels, tuple((k, gotemplate.render(v, {}, 1.0)) for k, v in rule.annotations))
    case = TestCase("Watchdog always fires", (gauge_series("obsgen_unrelated_series", {"job": "x"}, 1, 5),), 2,
                    naming.WATCHDOG, (expected,))
    page = RunbookPage(runbooks.page_path(runbooks.META_PAGE), runbooks.page_title(runbooks.META_PAGE),
                       (RunbookSection(naming.WATCHDOG, anchor, (rule,)),))
    return rule, case, page

"""`obsgen drill ALERT`: prove an alert's delivery path on a running stack.

Synthetic (default): post the alert with the catalog's labels to Alertmanager, read which receivers its group
went to, then resolve it. With a fault: make the demo service (`obsgen simulate`) produce the real condition,
wait (bounded) for Prometheus and Alertmanager to show the alert firing, then clear the fault.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from obsgen import model as m
from obsgen.plan import AlertRule, plan_bundle
from obsgen.simulate.triggers import fault_for
from obsgen.verify import Http


class DrillError(Exception):
    """The drill could not run or its expectation failed; the message is one line for the operator."""


@dataclass(frozen=True)
class Target:
    service: m.Service
    rule: AlertRule


def find(bundle: m.Bundle, name: str, severity: str | None = None) -> Target:
    """The generated alert rule named `name` (the most severe one when several tiers share the name)."""
    plan = plan_bundle(bundle)
    order = {"critical": 0, "warning": 1, "info": 2}
    found = [(sp.service, r) for sp in plan.services for r in sp.alerts if r.name == name]
    if severity:
        found = [(s, r) for s, r in found if r.severity == severity]
    if not found:
        known = sorted({r.name for r in plan.all_alerts})
        raise DrillError(f"no generated alert named {name}{' with severity ' + severity if severity else ''} "
                         f"(known: {', '.join(known[:8])}{', ...' if len(known) > 8 else ''})")
    svc, rule = sorted(found, key=lambda x: order.get(x[1].severity, 9))[0]
    return Target(svc, rule)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def synthetic_labels(target: Target, drill_id: str) -> dict[str, str]:
    """The alert's rule labels plus plausible expression labels, tagged so the drill finds its own alert."""
    labels = {"alertname": target.rule.name, **dict(target.rule.labels), "obsgen_drill": drill_id}
    if "job" in target.rule.output_labels:
        labels.setdefault("job", target.service.job)
    if "instance" in target.rule.output_labels and target.service.targets:
        labels.setdefault("instance", target.service.targets[0].addresses[0])
    return labels


def _wait(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise DrillError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def receivers_of(http: Http, am: str, match: dict[str, str]) -> list[str]:
    """Receivers of every Alertmanager group that holds an alert carrying these labels."""
    _, groups = http.call(f"{am}/api/v2/alerts/groups")
    out = set()
    for g in groups or []:
        if any(all(a["labels"].get(k) == v for k, v in match.items()) for a in g.get("alerts", [])):
            out.add(g["receiver"]["name"])
    return sorted(out)


def synthetic(bundle: m.Bundle, name: str, am: str, severity: str | None, timeout: float,
              log: Callable[[str], None], http: Http | None = None) -> list[str]:
    """Send, route, resolve. Returns the receivers the alert reached."""
    http = http or Http()
    target = find(bundle, name, severity)
    drill_id = secrets.token_hex(6)
    labels = synthetic_labels(target, drill_id)
    now = datetime.now(UTC)
    alert = {"labels": labels, "annotations": {**dict(target.rule.annotations), "summary": f"[drill] {dict(target.rule.annotations).get('summary', '')}"},
             "startsAt": _iso(now), "endsAt": _iso(now + timedelta(minutes=5)), "generatorURL": "obsgen://drill"}
    status, body = http.call(f"{am}/api/v2/alerts", "POST", [alert])
    if status != 200:
        raise DrillError(f"Alertmanager refused the alert: HTTP {status} {body}")
    log(f"sent      {name} severity={target.rule.severity} service={target.service.name} (drill {drill_id})")
    try:
        receivers = _wait("Alertmanager to route the alert", lambda: receivers_of(http, am, {"obsgen_drill": drill_id}), timeout)
        log(f"routed    to {', '.join(receivers)}")
    finally:
        alert["endsAt"] = _iso(datetime.now(UTC))
        http.call(f"{am}/api/v2/alerts", "POST", [alert])

    def gone() -> bool:
        _, active = http.call(f"{am}/api/v2/alerts?active=true&silenced=false&inhibited=false")
        return not any(a["labels"].get("obsgen_drill") == drill_id for a in active or [])

    _wait("the alert to resolve", gone, timeout)
    log("resolved  (endsAt now)")
    return receivers


def with_fault(bundle: m.Bundle, name: str, am: str, prometheus: str, demo: str, severity: str | None, timeout: float,
               log: Callable[[str], None], http: Http | None = None) -> list[str]:
    """Inject the fault that makes the alert fire, wait for it at Prometheus and Alertmanager, then clear the fault."""
    http = http or Http()
    target = find(bundle, name, severity)
    fault = fault_for(target.service, target.rule)
    if fault is None:
        raise DrillError(f"the demo service cannot trigger {name} ({target.rule.origin} alert); run the drill without --fault")
    status, body = http.call(f"{demo}/-/fault", "POST", fault)
    if status != 200:
        raise DrillError(f"the demo service refused the fault {fault}: HTTP {status} {body}")
    log(f"fault     {fault} at {demo}")
    start = time.monotonic()
    want = {"alertname": name, "severity": target.rule.severity}
    try:
        def firing() -> bool:
            _, alerts = http.call(f"{prometheus}/api/v1/alerts")
            return any(a["state"] == "firing" and all(a["labels"].get(k) == v for k, v in want.items())
                       for a in alerts["data"]["alerts"])

        _wait(f"{name} to fire in Prometheus", firing, timeout)
        log(f"firing    in Prometheus after {time.monotonic() - start:.1f}s")
        receivers = _wait(f"{name} at Alertmanager", lambda: receivers_of(http, am, want), timeout)
        log(f"routed    to {', '.join(receivers)} after {time.monotonic() - start:.1f}s")
    finally:
        http.call(f"{demo}/-/fault", "DELETE")
        log("cleared   the fault")
    return receivers

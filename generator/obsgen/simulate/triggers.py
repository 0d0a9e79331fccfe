"""Which demo-service fault makes each generated alert fire: used by the e2e test, `obsgen drill --fault` and benches."""

from __future__ import annotations

from typing import Any

from obsgen import model as m
from obsgen.plan import AlertRule

FAULT_ERROR_RATIO = 0.9  # above every error-ratio threshold and burn-rate limit a catalog can sensibly set
UNTRIGGERABLE = ("watchdog", "expr", "log")  # always on, raw PromQL, or log-based


def _alert(service: m.Service, rule: AlertRule) -> m.Alert | None:
    return next((a for a in service.alerts if a.name == rule.name), None)


def latency_fault(service: m.Service, rule: AlertRule) -> float | None:
    """Seconds every observation must take for this latency alert or latency-SLO burn to fire."""
    alert = _alert(service, rule)
    if rule.origin == "latency_quantile" and alert and alert.threshold is not None:
        return alert.threshold * 2
    if rule.origin == "slo_burn":
        slo = next((s for s in service.slos if s.name == dict(rule.labels).get("slo")), None)
        if slo and slo.kind == "latency" and slo.threshold is not None:
            return slo.threshold * 2
    return None


def fault_for(service: m.Service, rule: AlertRule) -> dict[str, Any] | None:
    """The POST /-/fault body that makes `rule` fire, or None when the demo cannot trigger it."""
    if rule.origin in UNTRIGGERABLE:
        return None
    if rule.origin in ("target_down", "probe"):  # a service that is down fails its scrape and its health checks
        return {"go_down": service.name}
    latency = latency_fault(service, rule)
    if latency is not None:
        return {"latency_s": latency}
    if rule.origin == "slo_burn":
        slo = next((s for s in service.slos if s.name == dict(rule.labels).get("slo")), None)
        # A raw-query SLO reads whatever its queries say; the demo cannot know which of its series fail.
        return None if slo is not None and slo.kind == "query" else {"error_ratio": FAULT_ERROR_RATIO}
    if rule.origin == "error_ratio":
        return {"error_ratio": FAULT_ERROR_RATIO}
    alert = _alert(service, rule)
    if alert is None or alert.metric is None:
        return None
    key = {"threshold": "backlog", "lag": "backlog", "backlog": "backlog", "down": "down", "absent": "absent",
           "drop_percentage": "drop", "increase": "increase"}.get(rule.origin)
    return {key: alert.metric.metric} if key else None


def combine(faults: list[dict[str, Any]]) -> dict[str, Any]:
    """One fault body doing everything the given ones do (largest error ratio and latency)."""
    out: dict[str, Any] = {}
    for f in faults:
        for key, value in f.items():
            if key in ("error_ratio", "latency_s"):
                out[key] = max(out.get(key, 0), value)
            elif key == "go_down":
                out[key] = True  # the fault endpoint takes one service or all of them
            else:
                out[key] = sorted({*out.get(key, []), value})
    return out

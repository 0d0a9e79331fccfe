"""A synthetic fleet for tests that need many services: each with a request counter, a latency histogram,
an availability SLO and a target, built straight into the model (no YAML), so 1,000 services plan in seconds."""

from __future__ import annotations

from obsgen import model as m
from obsgen.plan import Plan, build_plan


def service(i: int) -> m.Service:
    ns = f"svc{i}"
    requests = m.Metric(f"{ns}_http_requests_total", "counter", "Requests.", "requests",
                        (m.Label("code", ("2xx", "4xx", "5xx")),))
    latency = m.Metric(f"{ns}_http_request_duration_seconds", "histogram", "Latency.", "seconds", (), (0.1, 0.5, 1.0))
    total = m.Selector(requests.name)
    errors = m.Selector(requests.name, (m.Matcher("code", "=", "5xx"),))
    slo = m.SLO("availability", "availability", 99.9, errors=errors, total=total)
    return m.Service(f"svc-{i:04d}", f"team-{i % 7}", f"catalogs/svc-{i:04d}.yaml", namespace=ns,
                     targets=(m.Target(f"svc-{i:04d}", (f"svc-{i:04d}:8080",)),), metrics=(requests, latency), slos=(slo,))


def fleet_plan(size: int) -> Plan:
    return build_plan(m.Bundle("prod", tuple(service(i) for i in range(size))))

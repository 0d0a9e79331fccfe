"""k6 load-test scripts: one JavaScript file per catalog load test, thresholds taken from the SLOs.

Each script reads BASE_URL from the environment, checks every response's status, tags every
request with its catalog name, and carries thresholds that k6 enforces (exit 99 when crossed).
Results go to Prometheus through k6's remote-write output; the plan's load panels are the PromQL
the "Load tests" dashboard shows for them, listed in k6/README.md too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from obsgen import model as m
from obsgen.duration import parse_duration
from obsgen.plan import LoadPanel, Plan
from obsgen.promql import fmt_number
from obsgen.settings import Settings

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
ROOT = "k6"
RUN_HINT = (
    "K6_PROMETHEUS_RW_SERVER_URL=http://127.0.0.1:9090/api/v1/write K6_PROMETHEUS_RW_TREND_STATS='p(95),p(99)' "
    "k6 run -o experimental-prometheus-rw"
)


@dataclass(frozen=True)
class Thresholds:
    """The pass/fail limits of one load test, in k6's units (ms, ratio)."""

    p95_ms: float | None
    p99_ms: float | None
    error_rate: float | None
    source: str  # where the numbers come from, for the script's comment

    def k6(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        latency = []
        if self.p95_ms is not None:
            latency.append(f"p(95)<{fmt_number(self.p95_ms)}")
        if self.p99_ms is not None:
            latency.append(f"p(99)<{fmt_number(self.p99_ms)}")
        if latency:
            out["http_req_duration"] = latency
        if self.error_rate is not None:
            out["http_req_failed"] = [f"rate<{fmt_number(self.error_rate)}"]
        return out


def thresholds(service: m.Service, test: m.LoadTest) -> Thresholds:
    """The load test's own limits, else the named SLO's, else the tightest of every SLO of the service."""
    slos = [s for s in service.slos if s.name == test.slo] if test.slo else list(service.slos)
    latency = [s.threshold * 1000 for s in slos if s.kind == "latency" and s.threshold is not None]
    budgets = [s.budget for s in slos if s.kind == "availability"]
    p95 = test.p95_ms if test.p95_ms is not None else (round(min(latency), 6) if latency else None)
    err = test.error_rate if test.error_rate is not None else (min(budgets) if budgets else None)
    own = [k for k, v in (("p95_ms", test.p95_ms), ("p99_ms", test.p99_ms), ("error_rate", test.error_rate)) if v is not None]
    names = ", ".join(s.name for s in slos) or "none"
    source = f"load test thresholds ({', '.join(own)}) and SLOs ({names})" if own else f"SLOs ({names})"
    return Thresholds(p95, test.p99_ms, err, source)


def k6_duration(text: str) -> str:
    """A Prometheus duration (which may use d/w/y) as a Go duration k6 accepts: 1d -> 24h."""
    total = int(parse_duration(text))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    out = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{seconds}s" if seconds else "")
    return out or "0s"


def scenario(test: m.LoadTest) -> dict[str, object]:
    """The k6 scenario object for the test's executor (the catalog checked the required fields)."""
    out: dict[str, object] = {"executor": test.executor}
    stages = [{"duration": k6_duration(s.duration), "target": s.target} for s in test.stages]
    time_unit = k6_duration(test.time_unit or "1s")
    if test.executor == "ramping-vus":
        out.update(startVUs=0, stages=stages, gracefulRampDown="10s")
    elif test.executor == "constant-vus":
        out.update(vus=test.vus, duration=k6_duration(test.duration or "1m"))
    elif test.executor == "constant-arrival-rate":
        out.update(rate=test.rate, timeUnit=time_unit, duration=k6_duration(test.duration or "1m"),
                   preAllocatedVUs=test.vus, maxVUs=test.max_vus or max(test.vus or 1, (test.rate or 1)))
    elif test.executor == "ramping-arrival-rate":
        out.update(startRate=0, timeUnit=time_unit, preAllocatedVUs=test.vus,
                   maxVUs=test.max_vus or max([test.vus or 1, *(s.target for s in test.stages)]), stages=stages)
    else:  # per-vu-iterations, shared-iterations
        out.update(vus=test.vus, iterations=test.iterations)
        if test.duration:
            out["maxDuration"] = k6_duration(test.duration)
    return out


def _js(value: object) -> str:
    return json.dumps(value, sort_keys=False)


def _request(req: m.LoadRequest, service: m.Service) -> list[str]:
    statuses = list(req.expect_status) or None
    expected = (f"http.expectedStatuses({', '.join(str(s) for s in statuses)})" if statuses
                else "http.expectedStatuses({ min: 200, max: 299 })")
    status_test = (f"[{', '.join(str(s) for s in statuses)}].includes(r.status)" if statuses
                   else "r.status >= 200 && r.status < 300")
    check_name = f"{req.name}: status is {'/'.join(str(s) for s in statuses) if statuses else '2xx'}"
    lines = [f"  // {req.method} {req.path}", "  {", "    const headers = { 'Content-Type': 'application/json' };"]
    for header, env in req.headers_env:
        lines.append(f"    if (__ENV.{env}) headers[{_js(header)}] = __ENV.{env};")
    body = "null" if req.body is None else _js(req.body)  # the catalog's JSON text, sent as is
    lines += [
        f"    const res = http.request({_js(req.method)}, BASE_URL + {_js(req.path)}, {body}, {{",
        "      headers,",
        f"      tags: {{ name: {_js(req.name)}, service: {_js(service.name)} }},",
        f"      responseCallback: {expected},",
        "    });",
        f"    check(res, {{ {_js(check_name)}: (r) => {status_test} }});",
        "  }",
    ]
    return lines


def script(service: m.Service, test: m.LoadTest, path: str, command: str) -> str:
    """The k6 script text for one load test."""
    limits = thresholds(service, test)
    options = {
        "scenarios": {test.name: scenario(test)},
        "thresholds": limits.k6(),
        "tags": {"load_test": test.name, "service": service.name},
    }
    lines = [
        f"// Generated by obsgen from {service.source}. Do not edit by hand:",
        f"// change the catalog and run `{command}`.",
        f"// {test.name}: {test.description or test.executor}",
        f"// Thresholds from {limits.source}; k6 exits 99 when one is crossed.",
        "// Run against the demo service or a real deployment (BASE_URL), pushing results to Prometheus:",
        f"//   BASE_URL=http://127.0.0.1:8000 {RUN_HINT} {path}",
        "import http from 'k6/http';",
        "import { check } from 'k6';",
        "",
        f"const BASE_URL = (__ENV.BASE_URL || {_js(DEFAULT_BASE_URL)}).replace(/\\/+$/, '');",
        "",
        "export const options = " + json.dumps(options, indent=2) + ";",
        "",
        "export default function () {",
    ]
    for req in test.requests:
        lines += _request(req, service)
    lines += ["}", ""]
    return "\n".join(lines)


def _readme(entries: list[tuple[str, m.Service, m.LoadTest]], panels: tuple[LoadPanel, ...], command: str, root: str) -> str:
    out = [
        f"<!-- Generated by obsgen from the catalogs' load_tests. Do not edit by hand: change the catalog and run `{command}`. -->",
        "# Load tests",
        "",
        "One k6 script per catalog load test. Each reads `BASE_URL` (default `http://127.0.0.1:8000`), checks every",
        "response status and fails the run (exit 99) when a threshold from the service's SLOs is crossed.",
        "",
        "```sh",
        f"BASE_URL=http://127.0.0.1:8000 {RUN_HINT} {root}/<script>.js",
        "```",
        "",
        "| Script | Service | Executor | Thresholds |",
        "|---|---|---|---|",
    ]
    for path, svc, test in entries:
        limits = ", ".join(f"`{k}: {v}`" for k, vs in thresholds(svc, test).k6().items() for v in vs)
        out.append(f"| `{root}{path[len(ROOT):]}` | {svc.name} | {test.executor} | {limits} |")
    out += ["", "## Load tests dashboard (PromQL over k6's remote-write metrics)", "", "| Panel | Unit | Query |", "|---|---|---|"]
    for p in panels:
        out.append(f"| {p.title} | {p.unit} | `{p.expr}` |")
    return "\n".join(out) + "\n"


def emit(plan: Plan, settings: Settings) -> dict[str, str]:
    """k6/<load test>.js for every load test (k6/<service>/<name>.js where names clash), plus k6/README.md."""
    bundle = plan.bundle
    names = [t.name for s in bundle.services for t in s.load_tests]
    entries: list[tuple[str, m.Service, m.LoadTest]] = []
    for svc in sorted(bundle.services, key=lambda s: s.name):
        for test in sorted(svc.load_tests, key=lambda t: t.name):
            path = f"k6/{test.name}.js" if names.count(test.name) == 1 else f"k6/{svc.name}/{test.name}.js"
            entries.append((path, svc, test))
    if not entries:
        return {}
    root = settings.root("k6", ROOT)  # where the project puts the scripts: the run hints name that path
    files = {path: script(svc, test, root + path[len(ROOT):], settings.command) for path, svc, test in entries}
    files[f"{ROOT}/README.md"] = _readme(entries, plan.load_panels, settings.command, root)
    return files

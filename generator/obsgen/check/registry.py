"""The checks `obsgen check` runs, in order, and the loop that runs them into one result per check.

Each check reads one or more outputs of the layout (a check whose outputs the layout switches off is not listed)
and uses one tool. A check whose tool is absent is "not run" with the reason; one whose output is missing fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import yaml

from obsgen.check import alertmanager, dashboards, k6, loki, prometheus, stack, targets
from obsgen.check.context import Context, MissingOutput
from obsgen.check.logql import logql
from obsgen.check.result import FAILED, NOT_RUN, PASSED, CheckResult, Finding, NotRun, Outcome
from obsgen.check.runner import RunnerError, ToolUnavailable
from obsgen.check.tools import TOOLS


@dataclass(frozen=True)
class Check:
    """One check: its name, the tool it runs ("node", "python" and "cortex-ruler" are not Runner tools) and the outputs
    it reads."""

    name: str
    tool: str
    outputs: tuple[str, ...]
    description: str
    run: Callable[[Context], Outcome]


CHECKS: tuple[Check, ...] = (
    Check("rules", "promtool", ("rules",), "promtool check rules --lint=all --lint-fatal", prometheus.rules),
    Check("rule-tests", "promtool", ("rule_tests",), "promtool test rules, per test file", prometheus.rule_tests),
    Check("prometheus-config", "promtool", ("compose",), "promtool check config, rule files included", prometheus.config),
    Check("alertmanager-config", "amtool", ("compose",), "amtool check-config", alertmanager.config),
    Check("alertmanager-routes", "amtool", ("compose",), "amtool config routes test, per case of routes-tests.yaml",
          alertmanager.routes),
    Check("dashboard-lint", "python", ("dashboards",), "dashboard-linter's rules, PromQL and known series", dashboards.lint),
    Check("dashboard-types", "node", ("dashboards",), "tsc against Grafana's @grafana/schema types", dashboards.types),
    Check("logql", "node", ("compose", "dashboards"), "every LogQL expression through @grafana/lezer-logql", logql),
    Check("loki", "python", ("compose",), "Loki config keys and ruler files against their schemas", loki.loki),
    Check("k6", "k6", ("k6",), "k6 inspect --execution-requirements, per script", k6.k6),
    Check("compose", "compose", ("compose",), "docker compose config --quiet", stack.compose),
    Check("blackbox-config", "blackbox", ("compose",), "blackbox_exporter --config.check", stack.blackbox),
    Check("otelcol", "otelcol", ("compose",), "otelcol validate", stack.otelcol),
    Check("jaeger", "jaeger", ("compose",), "jaeger validate", stack.jaeger),
    Check("prometheus-agent-config", "promtool", ("compose",), "promtool check config --agent (scale profile)",
          targets.agent_config),
    Check("cortex-config", "cortex", ("compose",), "cortex -modules: the scale profile's config loaded and validated",
          targets.cortex_config),
    Check("prometheus-rules", "promrule-check", ("prometheus_operator",),
          "PrometheusRule objects: the operator's Go types, strictly, then Prometheus' rulefmt", targets.prometheus_rules),
    Check("thanos-rules", "promrule-check", ("thanos",), "Thanos ruler files: Thanos' group type, then rulefmt",
          targets.thanos_rules),
    Check("ruler-namespaces", "promrule-check", ("cortex", "mimir"), "cortextool/mimirtool sync files, known fields only",
          targets.ruler_namespaces),
    # Not a Runner tool: Cortex runs as a local server (the Go-built binary); the check names what ran in its row.
    Check("cortex-ruler", "cortex-ruler", ("cortex", "mimir"), "every group through a running Cortex ruler's API",
          targets.cortex_ruler),
)
NAMES = tuple(c.name for c in CHECKS)
TOOL_NAMES = tuple(dict.fromkeys(c.tool for c in CHECKS))


def select(only: Sequence[str]) -> list[Check]:
    """The checks named (by check or by tool), in their order; ValueError naming what is unknown."""
    if not only:
        return list(CHECKS)
    unknown = [n for n in only if n not in NAMES and n not in TOOL_NAMES]
    if unknown:
        raise ValueError(f"unknown check {', '.join(unknown)} (checks: {', '.join(NAMES)}; tools: {', '.join(TOOL_NAMES)})")
    return [c for c in CHECKS if c.name in only or c.tool in only]


def applicable(check: Check, ctx: Context) -> bool:
    """False when the layout switches off every output the check reads."""
    return any(getattr(ctx.layout, o) is not None for o in check.outputs)


def _label(check: Check, ctx: Context, outcome: Outcome | None) -> tuple[str, str]:
    if outcome is not None and outcome.tool:
        return outcome.tool, outcome.path
    if check.tool not in TOOLS:
        return check.tool, "-"
    how = ctx.runner.resolve(check.tool)
    if how.path == "absent":
        return check.tool, "-"
    try:
        version = ctx.runner.version(check.tool)
    except RunnerError:
        version = "?"
    return f"{check.tool} {version}", how.describe()


def run_one(check: Check, ctx: Context) -> CheckResult:
    """Run one check; every way it can end becomes a result, never an exception."""
    start = time.monotonic()
    outcome: Outcome | None = None
    status, reason, findings = PASSED, "", ()
    try:
        outcome = check.run(ctx)
        findings = tuple(outcome.findings)
        status = FAILED if findings else PASSED
    except (NotRun, ToolUnavailable) as exc:
        status, reason = NOT_RUN, str(exc).removeprefix(f"{check.tool}: ")
    except MissingOutput as exc:
        status, findings = FAILED, (Finding(exc.rel, None, str(exc)),)
    except (RunnerError, OSError, yaml.YAMLError) as exc:
        status, findings = FAILED, (Finding(None, None, f"could not run: {' '.join(str(exc).split())}"),)
    seconds = time.monotonic() - start
    tool, path = _label(check, ctx, outcome) if status != NOT_RUN else (check.tool, "-")
    return CheckResult(check.name, tool, path, status, findings, outcome.summary if outcome else "", reason, seconds)


def run_checks(ctx: Context, only: Sequence[str] = (),
               progress: Callable[[int, int, Check], None] | None = None) -> list[CheckResult]:
    """Every selected, applicable check in order; progress(i, n, check) is called before each."""
    chosen = [c for c in select(only) if applicable(c, ctx)]
    results = []
    for i, check in enumerate(chosen, start=1):
        if progress is not None:
            progress(i, len(chosen), check)
        results.append(run_one(check, ctx))
    return results

"""What the plan and emit stages take besides the catalogs, as values built from the project file (obsgen.yaml).

`PlanSettings` shapes the rules (grouping labels, global selector, runbook base URL); `Settings` is what the
emitters read (where each output goes, the stack's receivers, the Grafana folder layout, the command the
generated-file headers name). Both are plain frozen values: no stage reads the environment, so the same
catalogs and project file give the same bytes on any machine, in any shell.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from obsgen.model import Matcher
from obsgen.promql import Scope
from obsgen.slo_options import DEFAULT as DEFAULT_SLO
from obsgen.slo_options import SloOptions
from obsgen.target_names import ALL_SERVICES, PARTIAL_RESPONSE_STRATEGIES, TARGETS  # noqa: F401 - re-exported

RECEIVER_KINDS = ("webhook", "slack", "pagerduty", "email", "msteams")
OPTIONAL_RECEIVERS = ("slack", "pagerduty", "email", "msteams")
SEVERITIES = ("critical", "warning", "info")
FOLDER_LAYOUTS = ("service", "team")
DEFAULT_COMMAND = "obsgen generate"
DEFAULT_RUNBOOK_BASE = "https://runbooks.example.invalid"  # a placeholder that resolves nowhere, until a project sets one


@dataclass(frozen=True)
class StackSettings:
    """Everything the stack emitters need beyond the catalogs: receivers switched on and non-secret endpoints."""

    receivers: frozenset[str] = frozenset()  # enabled optional receivers; webhook is always on
    webhook_url: str = "http://127.0.0.1:5001/alerts"
    deadmans_url: str = "http://127.0.0.1:5001/deadmans-switch"
    smtp_smarthost: str = "smtp.example.invalid:587"
    smtp_from: str = "alertmanager@example.invalid"
    smtp_username: str = "alertmanager"
    email_to: str = "{team}-oncall@example.invalid"  # {team} is replaced per team
    slack_channel: str = "#{team}-alerts"

    def enabled(self, kind: str) -> bool:
        return kind == "webhook" or kind in self.receivers


# Where the rules are deployed besides rules/ (plain Prometheus rule files): each is an output the project file
# selects (output.outputs), packaging the same planned groups for its own loader (emit/targets/).


@dataclass(frozen=True)
class TargetSettings:
    """What the rule targets need: the operator's namespace and ruleSelector labels, Thanos' strategy (obsgen.yaml targets:)."""

    operator_namespace: str = "monitoring"
    operator_labels: tuple[tuple[str, str], ...] = ()  # what the Prometheus' ruleSelector matches, e.g. release=kube-prometheus
    # (service or "*", warn|abort): partial_response_strategy on that service's groups; none set, none written.
    partial_response: tuple[tuple[str, str], ...] = ()

    def strategy(self, service: str) -> str | None:
        """The partial_response_strategy of a service's groups: its own, else the "*" default, else none."""
        given = dict(self.partial_response)
        return given.get(service, given.get(ALL_SERVICES))


@dataclass(frozen=True)
class PlanSettings:
    """What the project adds to every planned rule: grouping labels, a global selector, the runbook base URL, SLO options."""

    group_by: tuple[str, ...] = ()  # kept by every aggregation, e.g. ("cluster", "namespace")
    global_selector: tuple[Matcher, ...] = ()  # added to every series selector, e.g. cluster="eu-1"
    runbook_base: str = DEFAULT_RUNBOOK_BASE  # for services whose catalog sets none, and the Watchdog
    slo: SloOptions = DEFAULT_SLO  # Sloth-compatible series, `for:` of burn alerts (obsgen.yaml `slos:`)

    @property
    def scope(self) -> Scope:
        return Scope(self.global_selector, self.group_by)


@dataclass(frozen=True)
class Settings:
    """Everything the emit stage takes besides the plan."""

    stack: StackSettings = StackSettings()
    targets: TargetSettings = TargetSettings()
    # Where each output goes, relative to the output root; outputs not listed keep their usual folder.
    paths: tuple[tuple[str, str], ...] = field(default=())
    dashboard_folders: str = "service"  # Grafana folder per service, or per team
    command: str = DEFAULT_COMMAND  # what the generated-file headers tell a reader to run

    def root(self, output: str, default: str) -> str:
        """The folder of an output: the project's path for it, else its usual one."""
        return dict(self.paths).get(output, default)

    def relative(self, target: str, start: str) -> str:
        """A path from one generated folder to another, as a bind mount or rule_files entry writes it."""
        return posixpath.relpath(target, start)

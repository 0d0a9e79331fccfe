"""Settings the emitters take beyond the plan: which paid receivers are switched on, and local endpoints.

The CLI reads them once from OBSGEN_* environment variables (defaults: only the local webhook) and passes
them to the emit stage as a value; no emitter reads the environment. The committed output is the default,
so `make check` stays reproducible. A project file will replace the variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from obsgen.errors import CatalogError, Problem
from obsgen.secrets import value_findings

RECEIVER_KINDS = ("webhook", "slack", "pagerduty", "email", "msteams")
OPTIONAL_RECEIVERS = ("slack", "pagerduty", "email", "msteams")
SEVERITIES = ("critical", "warning", "info")


class SettingsError(CatalogError):
    """An OBSGEN_* variable holds a value obsgen cannot use; the CLI prints it like a catalog problem."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__([Problem("environment", None, variable, message)])


@dataclass(frozen=True)
class StackSettings:
    """Everything the stack emitters need beyond the catalogs."""

    receivers: frozenset[str] = frozenset()  # enabled optional receivers; webhook is always on
    webhook_url: str = "http://127.0.0.1:5001/alerts"
    deadmans_url: str = "http://127.0.0.1:5001/deadmans-switch"
    smtp_smarthost: str = "smtp.example.invalid:587"
    smtp_from: str = "alertmanager@example.invalid"
    smtp_username: str = "alertmanager"
    email_to: str = "{team}-oncall@example.invalid"  # {team} is replaced per team
    slack_channel: str = "#{team}-alerts"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StackSettings:
        """Settings from OBSGEN_* variables; unknown receiver names are an error, not silently ignored."""
        wanted = {r.strip() for r in env.get("OBSGEN_RECEIVERS", "").split(",") if r.strip()}
        unknown = sorted(wanted - set(OPTIONAL_RECEIVERS) - {"webhook"})
        if unknown:
            raise SettingsError("OBSGEN_RECEIVERS", f"unknown receiver {unknown[0]!r}; choose from {', '.join(OPTIONAL_RECEIVERS)}")
        d = cls()
        for var in ("OBSGEN_WEBHOOK_URL", "OBSGEN_DEADMANS_URL"):
            found = value_findings(env.get(var, ""))
            if found:
                # Webhook URLs are written into alertmanager.yml (0.25 has no url_file): they must hold no secret.
                raise SettingsError(var, f"looks like {found[0]}; use a URL without credentials")
        return cls(
            receivers=frozenset(wanted - {"webhook"}),
            webhook_url=env.get("OBSGEN_WEBHOOK_URL", d.webhook_url),
            deadmans_url=env.get("OBSGEN_DEADMANS_URL", d.deadmans_url),
            smtp_smarthost=env.get("OBSGEN_SMTP_SMARTHOST", d.smtp_smarthost),
            smtp_from=env.get("OBSGEN_SMTP_FROM", d.smtp_from),
            smtp_username=env.get("OBSGEN_SMTP_USERNAME", d.smtp_username),
            email_to=env.get("OBSGEN_EMAIL_TO", d.email_to),
            slack_channel=env.get("OBSGEN_SLACK_CHANNEL", d.slack_channel),
        )

    def enabled(self, kind: str) -> bool:
        return kind == "webhook" or kind in self.receivers


# Where the rules are deployed. `prometheus` (rules/, plain rule files) is always written: the rule tests prove
# that form, and every other target packages the same groups for its own loader (emit/targets/).
TARGETS = ("prometheus", "prometheus-operator", "cortex", "mimir", "thanos")
PARTIAL_RESPONSE_STRATEGIES = ("warn", "abort")  # Thanos' values (it reads them case-insensitively)
ALL_SERVICES = "*"


@dataclass(frozen=True)
class TargetSettings:
    """The rule targets chosen and what each needs: the operator's namespace and ruleSelector labels, Thanos' strategy."""

    targets: tuple[str, ...] = ("prometheus",)
    operator_namespace: str = "monitoring"
    operator_labels: tuple[tuple[str, str], ...] = ()  # what the Prometheus' ruleSelector matches, e.g. release=kube-prometheus
    # (service or "*", warn|abort): partial_response_strategy on that service's groups; none set, none written.
    partial_response: tuple[tuple[str, str], ...] = ()

    def chosen(self, target: str) -> bool:
        return target == "prometheus" or target in self.targets

    def strategy(self, service: str) -> str | None:
        """The partial_response_strategy of a service's groups: its own, else the "*" default, else none."""
        given = dict(self.partial_response)
        return given.get(service, given.get(ALL_SERVICES))


@dataclass(frozen=True)
class Settings:
    """Everything the emit stage takes besides the plan."""

    stack: StackSettings = StackSettings()
    targets: TargetSettings = TargetSettings()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(stack=StackSettings.from_env(env))

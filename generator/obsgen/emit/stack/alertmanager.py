"""Alertmanager: a route tree per team and severity, per-service escalation, inhibition, and route test cases.

Receivers are named `<team>-<kind>`. Optional integrations (Slack, PagerDuty, e-mail, Teams) are only
wired when switched on in the settings; a tier whose receivers are all off falls back to the team's
local webhook, so no alert is ever dropped and the config stays valid without any secret present.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obsgen import model as m
from obsgen.emit.stack.settings import SEVERITIES, StackSettings

SECRETS_DIR = "/etc/alertmanager/secrets"
DEADMANS_RECEIVER = "deadmans-switch"
DEFAULT_RECEIVER = "default"
GROUP_BY = ["alertname", "service"]


@dataclass(frozen=True)
class Timing:
    group_wait: str
    group_interval: str
    repeat_interval: str


# Pages must arrive fast and nag; tickets and info can wait and batch.
TIMING = {
    "critical": Timing("10s", "5m", "1h"),
    "warning": Timing("30s", "5m", "4h"),
    "info": Timing("1m", "10m", "24h"),
}
DEFAULT_TIERS: dict[str, tuple[str, ...]] = {
    "critical": ("pagerduty", "slack"),
    "warning": ("slack",),
    "info": ("email",),
}


@dataclass(frozen=True)
class RouteCase:
    """One `amtool config routes test` case: alert labels and the receivers they must reach, in order."""

    name: str
    labels: tuple[tuple[str, str], ...]
    receivers: tuple[str, ...]

    def amtool_args(self) -> list[str]:
        return [f"--verify.receivers={','.join(self.receivers)}", *(f"{k}={v}" for k, v in self.labels)]


def _receivers(team: str, kinds: tuple[str, ...], settings: StackSettings) -> tuple[str, ...]:
    enabled = tuple(k for k in kinds if settings.enabled(k))
    return tuple(f"{team}-{k}" for k in (enabled or ("webhook",)))


def _tier_routes(matchers: list[str], receivers: tuple[str, ...], timing: Timing) -> list[dict[str, Any]]:
    """One route per receiver; all but the last continue, so every receiver of the tier is notified."""
    routes = []
    for i, receiver in enumerate(receivers):
        route: dict[str, Any] = {
            "receiver": receiver,
            "matchers": list(matchers),
            "group_wait": timing.group_wait,
            "group_interval": timing.group_interval,
            "repeat_interval": timing.repeat_interval,
        }
        if i < len(receivers) - 1:
            route["continue"] = True
        routes.append(route)
    return routes


def _service_tiers(svc: m.Service) -> dict[str, tuple[tuple[str, ...], Timing]]:
    out = {}
    for tier in svc.routing:
        base = TIMING[tier.severity]
        timing = Timing(tier.group_wait or base.group_wait, tier.group_interval or base.group_interval,
                        tier.repeat_interval or base.repeat_interval)
        out[tier.severity] = (tier.receivers, timing)
    return out


def _receiver_config(name: str, settings: StackSettings) -> dict[str, Any]:
    if name == DEADMANS_RECEIVER:
        return {"name": name, "webhook_configs": [{"url": settings.deadmans_url, "send_resolved": False}]}
    if name == DEFAULT_RECEIVER:
        return {"name": name, "webhook_configs": [{"url": settings.webhook_url, "send_resolved": True}]}
    team, kind = name.rsplit("-", 1)
    if kind == "webhook":
        return {"name": name, "webhook_configs": [{"url": settings.webhook_url, "send_resolved": True}]}
    if kind == "slack":
        return {"name": name, "slack_configs": [{
            "api_url_file": f"{SECRETS_DIR}/slack-api-url",
            "channel": settings.slack_channel.replace("{team}", team),
            "send_resolved": True,
            "title": '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }}, {{ .CommonLabels.service }})',
            "text": "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.runbook_url }}\n{{ end }}",
        }]}
    if kind == "pagerduty":
        return {"name": name, "pagerduty_configs": [{
            "routing_key_file": f"{SECRETS_DIR}/pagerduty-{team}-routing-key",
            "severity": "{{ .CommonLabels.severity }}",
            "send_resolved": True,
        }]}
    if kind == "email":
        return {"name": name, "email_configs": [{
            "to": settings.email_to.replace("{team}", team),
            "from": settings.smtp_from,
            "smarthost": settings.smtp_smarthost,
            "auth_username": settings.smtp_username,
            "auth_password_file": f"{SECRETS_DIR}/smtp-password",
            "require_tls": True,
            "send_resolved": True,
        }]}
    if kind == "msteams":
        # msteams_configs needs Alertmanager >= 0.26 (the compose image); Debian's amtool 0.25 rejects it.
        return {"name": name, "msteams_configs": [{
            "webhook_url_file": f"{SECRETS_DIR}/msteams-{team}-webhook-url",
            "send_resolved": True,
        }]}
    raise ValueError(f"unknown receiver kind {kind!r} in {name!r}")


def route_tree(bundle: m.Bundle, settings: StackSettings) -> tuple[dict[str, Any], list[RouteCase]]:
    """The root route and the test cases proving where each team/severity/service lands."""
    cases: list[RouteCase] = [
        RouteCase("Watchdog reaches the dead-man's switch only",
                  (("alertname", "Watchdog"), ("service", "obsgen"), ("severity", "info"), ("team", "platform")),
                  (DEADMANS_RECEIVER,)),
        RouteCase("an unknown team falls back to the default receiver",
                  (("alertname", "SomethingElse"), ("service", "unknown"), ("severity", "critical"), ("team", "no-such-team")),
                  (DEFAULT_RECEIVER,)),
    ]
    team_routes = []
    for team in bundle.teams:
        services = [s for s in bundle.services if s.team == team]
        children: list[dict[str, Any]] = []
        for svc in services:
            for severity, (kinds, timing) in sorted(_service_tiers(svc).items(), key=lambda kv: SEVERITIES.index(kv[0])):
                receivers = _receivers(team, kinds, settings)
                children += _tier_routes([f'service="{svc.name}"', f'severity="{severity}"'], receivers, timing)
                cases.append(RouteCase(f"{svc.name} {severity} follows its own escalation",
                                       (("alertname", "Example"), ("service", svc.name), ("severity", severity), ("team", team)),
                                       receivers))
        for severity in SEVERITIES:
            receivers = _receivers(team, DEFAULT_TIERS[severity], settings)
            children += _tier_routes([f'severity="{severity}"'], receivers, TIMING[severity])
            # A service of the team without its own tier for this severity uses the team default.
            plain = next((s.name for s in services if severity not in _service_tiers(s)), f"{team}-other-service")
            cases.append(RouteCase(f"team {team} {severity} uses the team default",
                                   (("alertname", "Example"), ("service", plain), ("severity", severity), ("team", team)),
                                   receivers))
        cases.append(RouteCase(f"team {team} alert without a known severity reaches the team webhook",
                               (("alertname", "Example"), ("service", services[0].name), ("severity", "none"), ("team", team)),
                               (f"{team}-webhook",)))
        team_routes.append({"receiver": f"{team}-webhook", "matchers": [f'team="{team}"'], "routes": children})
    watchdog = {
        "receiver": DEADMANS_RECEIVER,
        "matchers": ['alertname="Watchdog"'],
        # The switch expects a heartbeat: send at once and repeat often; its silence is the alarm.
        "group_wait": "0s",
        "group_interval": "1m",
        "repeat_interval": "1m",
    }
    root = {
        "receiver": DEFAULT_RECEIVER,
        "group_by": list(GROUP_BY),
        "group_wait": TIMING["warning"].group_wait,
        "group_interval": TIMING["warning"].group_interval,
        "repeat_interval": TIMING["warning"].repeat_interval,
        "routes": [watchdog, *team_routes],
    }
    return root, cases


def _used_receivers(route: dict[str, Any]) -> list[str]:
    out = [route["receiver"]]
    for child in route.get("routes", []):
        out += _used_receivers(child)
    return out


INHIBIT_RULES = [
    # A firing critical makes the same alert's lower severities noise.
    {"source_matchers": ['severity="critical"'], "target_matchers": ['severity=~"warning|info"'], "equal": list(GROUP_BY)},
    {"source_matchers": ['severity="warning"'], "target_matchers": ['severity="info"'], "equal": list(GROUP_BY)},
]


def config(bundle: m.Bundle, settings: StackSettings) -> dict[str, Any]:
    """The whole alertmanager.yml as data."""
    root, _ = route_tree(bundle, settings)
    names = sorted(set(_used_receivers(root)))
    return {
        "global": {"resolve_timeout": "5m"},
        "route": root,
        "inhibit_rules": [dict(r) for r in INHIBIT_RULES],
        "receivers": [_receiver_config(n, settings) for n in names],
    }


def route_cases(bundle: m.Bundle, settings: StackSettings) -> list[RouteCase]:
    """Label sets and the receivers they must reach, for `amtool config routes test`."""
    return route_tree(bundle, settings)[1]


def cases_data(cases: list[RouteCase]) -> dict[str, Any]:
    return {"cases": [{"name": c.name, "labels": dict(c.labels), "receivers": list(c.receivers)} for c in cases]}


def secrets_readme(bundle: m.Bundle, settings: StackSettings) -> str:
    """What to put in compose/alertmanager/secrets/ for each receiver that is switched on."""
    lines = [
        "<!-- Generated by obsgen. Do not edit by hand. -->",
        "# Alertmanager secrets",
        "",
        "Files here are mounted read-only at `/etc/alertmanager/secrets` and never committed (see `.gitignore`).",
        "Each holds one secret and nothing else. Switch receivers on in obsgen.yaml (`stack.receivers`; obsgen's docs/stack.md).",
        "",
        "| File | Needed when | Holds |",
        "|---|---|---|",
        "| `slack-api-url` | `slack` is on | the Slack incoming-webhook URL |",
        f"| `smtp-password` | `email` is on | the SMTP password of `{settings.smtp_username}` (`stack.smtp.username`) |",
    ]
    for team in bundle.teams:
        lines.append(f"| `pagerduty-{team}-routing-key` | `pagerduty` is on | team {team}'s PagerDuty Events v2 routing key |")
        lines.append(f"| `msteams-{team}-webhook-url` | `msteams` is on | team {team}'s Teams incoming-webhook URL |")
    on = ", ".join(sorted(settings.receivers)) or "none (local webhook only)"
    lines += ["", f"Switched on in this generation: {on}.", ""]
    return "\n".join(lines)

"""Alertmanager config: amtool accepts it, every generated route case reaches its receivers, inhibition works."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_stack_helpers import REPO, load_yaml, need, render_tree, repo_bundle, routed_bundle

from obsgen.check.runner import Runner
from obsgen.emit.stack import alertmanager as am
from obsgen.emit.stack.settings import StackSettings
from obsgen.stack_images import IMAGES

from conftest import missing_tool, stop_process

COMMITTED = REPO / "compose" / "alertmanager"
# Debian's amtool 0.25 (the floor) does not know msteams_configs (Alertmanager >= 0.26); the pinned 0.28.1 does.
FLOOR = StackSettings(receivers=frozenset({"slack", "pagerduty", "email"}))
PAID = StackSettings(receivers=frozenset({"slack", "pagerduty", "email", "msteams"}))


def _cases(path: Path) -> list[dict[str, object]]:
    data = load_yaml(path)
    assert isinstance(data, dict)
    return data["cases"]


def pinned(runner: Runner) -> Runner:
    """The runner, if its amtool is the stack's pinned version (the image in CI, else the Go-built binary)."""
    version = runner.version("amtool") if runner.resolve("amtool").path != "absent" else "absent"
    if version != IMAGES["alertmanager"].version:
        missing_tool(f"amtool {IMAGES['alertmanager'].version} (the image, or scripts/build-go-tools.sh) is not available: "
                     f"found {version}")
    return runner


def _checked(run_check, root: Path, with_runner: Runner) -> None:
    for name in ("alertmanager-config", "alertmanager-routes"):
        result = run_check(name, root, with_runner)
        assert result.passed, [str(f) for f in result.findings]


def test_committed_config_and_route_cases_pass(run_check, runner: Runner) -> None:
    cases = _cases(COMMITTED / "routes-tests.yaml")
    teams = {c["labels"]["team"] for c in cases}
    assert set(repo_bundle().teams) <= teams
    _checked(run_check, REPO, runner)
    assert run_check("alertmanager-routes", REPO).summary == f"{len(cases)} cases"


def test_a_wrong_expectation_fails(run_check, runner: Runner, tmp_path: Path) -> None:
    compose = render_tree(routed_bundle(tmp_path), tmp_path, FLOOR)
    labels = {"alertname": "X", "service": "ap-intake-test", "severity": "critical", "team": "finance"}
    cases = [{"name": "right", "labels": labels, "receivers": ["finance-pagerduty", "finance-slack"]},
             {"name": "missing one", "labels": labels, "receivers": ["finance-slack"]},
             {"name": "order matters", "labels": labels, "receivers": ["finance-slack", "finance-pagerduty"]}]
    (compose / "alertmanager" / "routes-tests.yaml").write_text(json.dumps({"cases": cases}, indent=1), encoding="utf-8")
    result = run_check("alertmanager-routes", tmp_path, runner)
    assert [f.message.split(":")[0] for f in result.findings] == ["case 'missing one'", "case 'order matters'"], result
    assert all(f.file == "compose/alertmanager/routes-tests.yaml" and f.line for f in result.findings)


@pytest.mark.parametrize("which", ["pinned", "floor"])
def test_paid_receivers_and_service_tiers_route_as_declared(run_check, runner: Runner, request: pytest.FixtureRequest,
                                                            tmp_path: Path, which: str) -> None:
    chosen = pinned(runner) if which == "pinned" else request.getfixturevalue("floor_runner")
    compose = render_tree(routed_bundle(tmp_path), tmp_path, PAID if which == "pinned" else FLOOR)
    cases = _cases(compose / "alertmanager" / "routes-tests.yaml")
    expected = {c["name"]: c["receivers"] for c in cases}
    assert expected["ap-intake-test critical follows its own escalation"] == ["finance-pagerduty", "finance-slack"]
    assert expected["ap-intake-test info follows its own escalation"] == ["finance-email"]
    assert expected["team backend critical uses the team default"] == ["backend-pagerduty", "backend-slack"]
    assert expected["Watchdog reaches the dead-man's switch only"] == ["deadmans-switch"]
    if which == "pinned":
        assert expected["ap-intake-test warning follows its own escalation"] == ["finance-slack", "finance-msteams"]
    _checked(run_check, tmp_path, chosen)


def test_disabled_receivers_fall_back_to_the_team_webhook(tmp_path: Path) -> None:
    bundle = routed_bundle(tmp_path)
    cfg = am.config(bundle, StackSettings())
    names = {r["name"] for r in cfg["receivers"]}
    assert names == {"default", "deadmans-switch", "backend-webhook", "finance-webhook"}
    text = json.dumps(cfg)
    for key in ("slack_configs", "pagerduty_configs", "email_configs", "msteams_configs"):
        assert key not in text


def test_secrets_are_file_references_only(tmp_path: Path) -> None:
    cfg = am.config(routed_bundle(tmp_path), StackSettings(receivers=frozenset({"slack", "pagerduty", "email", "msteams"})))
    by_name = {r["name"]: r for r in cfg["receivers"]}
    assert by_name["finance-slack"]["slack_configs"][0]["api_url_file"].startswith(am.SECRETS_DIR)
    assert by_name["finance-pagerduty"]["pagerduty_configs"][0]["routing_key_file"] == f"{am.SECRETS_DIR}/pagerduty-finance-routing-key"
    assert "auth_password" not in by_name["finance-email"]["email_configs"][0]
    assert by_name["finance-email"]["email_configs"][0]["auth_password_file"].startswith(am.SECRETS_DIR)
    for receiver in cfg["receivers"]:
        for configs in (v for k, v in receiver.items() if k.endswith("_configs")):
            for c in configs:
                assert not {"api_url", "routing_key", "service_key", "auth_password", "webhook_url"} & set(c)


def test_msteams_is_checked_at_the_pinned_version(run_check, runner: Runner, floor_runner: Runner, tmp_path: Path) -> None:
    """Teams is generated only when switched on. The pinned amtool (0.28.1) accepts msteams_configs and routes to it;
    Debian's 0.25, the floor, refuses the key, which is why the floor runs without msteams."""
    compose = render_tree(routed_bundle(tmp_path), tmp_path, StackSettings(receivers=frozenset({"msteams"})))
    cfg = load_yaml(compose / "alertmanager" / "alertmanager.yml")
    teams = [r for r in cfg["receivers"] if "msteams_configs" in r]
    assert {r["name"] for r in teams} == {"finance-msteams"}  # only the catalog tier that asks for Teams
    assert all(r["msteams_configs"][0]["webhook_url_file"].startswith(am.SECRETS_DIR) for r in teams)
    _checked(run_check, tmp_path, pinned(runner))
    floor = run_check("alertmanager-config", tmp_path, floor_runner)
    if floor_runner.version("amtool").startswith("0.25."):
        assert floor.failed and "msteams_configs" in floor.findings[0].message, floor
        assert floor.findings[0].line is not None


def test_inhibit_rules_are_configured() -> None:
    cfg = load_yaml(COMMITTED / "alertmanager.yml")
    assert isinstance(cfg, dict)
    rules = cfg["inhibit_rules"]
    critical = next(r for r in rules if r["source_matchers"] == ['severity="critical"'])
    assert critical["target_matchers"] == ['severity=~"warning|info"']
    assert critical["equal"] == ["alertname", "service"]
    assert cfg["route"]["group_by"] == ["alertname", "service"]


# -- a real Alertmanager proves the inhibition ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, data: object | None = None) -> object:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST" if body else "GET")
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - 127.0.0.1 only
        text = resp.read().decode()
    return json.loads(text) if text.strip().startswith(("[", "{")) else text


def _live_states(config: Path, tmp_path: Path) -> dict[tuple[str, str], str]:
    """Start Debian's Alertmanager on 127.0.0.1 with the config, post a critical and warnings, read their states."""
    binary = need("prometheus-alertmanager")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _request(f"{base}/-/ready")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("alertmanager did not become ready")
                time.sleep(0.2)
        now = datetime.now(UTC)
        labels = {"alertname": "DivanHighErrorRate", "service": "divan-api", "team": "backend"}
        window = {"startsAt": now.isoformat(), "endsAt": (now + timedelta(minutes=10)).isoformat()}
        _request(f"{base}/api/v2/alerts", [
            {"labels": {**labels, "severity": "critical"}, **window},
            {"labels": {**labels, "severity": "warning"}, **window},
            {"labels": {**labels, "alertname": "Other", "severity": "warning"}, **window},
        ])
        states: dict[tuple[str, str], str] = {}
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:  # inhibition is computed on read; allow for ingestion
            alerts = _request(f"{base}/api/v2/alerts")
            assert isinstance(alerts, list)
            states = {(a["labels"]["alertname"], a["labels"]["severity"]): a["status"]["state"] for a in alerts}
            if len(states) == 3 and states.get(("DivanHighErrorRate", "warning")) == "suppressed":
                break
            time.sleep(0.3)
        return states
    finally:
        stop_process(proc)


def test_live_alertmanager_suppresses_the_warning(tmp_path: Path) -> None:
    states = _live_states(COMMITTED / "alertmanager.yml", tmp_path)
    assert states.get(("DivanHighErrorRate", "warning")) == "suppressed", states
    assert states.get(("DivanHighErrorRate", "critical")) == "active", states
    assert states.get(("Other", "warning")) == "active", states  # another alertname is not inhibited


def test_live_alertmanager_without_the_rule_does_not_suppress(tmp_path: Path) -> None:
    """The failing case: the same alerts against the config minus its inhibit rules stay active."""
    cfg = load_yaml(COMMITTED / "alertmanager.yml")
    assert isinstance(cfg, dict)
    cfg.pop("inhibit_rules")
    config = tmp_path / "no-inhibit.yml"
    config.write_text(json.dumps(cfg), encoding="utf-8")  # JSON is YAML
    states = _live_states(config, tmp_path)
    assert states.get(("DivanHighErrorRate", "warning")) == "active", states


def test_repository_catalogs_with_paid_receivers(run_check, runner: Runner, tmp_path: Path) -> None:
    """The real catalogs (AP Intake has its own tiers) with Slack, PagerDuty, e-mail and Teams on."""
    compose = render_tree(repo_bundle(), tmp_path, PAID)
    cases = _cases(compose / "alertmanager" / "routes-tests.yaml")
    own = [c for c in cases if "follows its own escalation" in str(c["name"])]
    assert own, "no catalog declares service.routing any more?"
    _checked(run_check, tmp_path, pinned(runner))

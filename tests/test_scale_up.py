"""The `scale` profile brought up for real (compose v2 against Docker or podman's socket), checked, torn down.

Cortex's seven services from the generated compose file (the Go-built Cortex in a local image in CI) form their
rings over memberlist on the compose network, the ruler loads rules/ from its mount and sends the Watchdog to the
stack's Alertmanager, and the Prometheus agent's remote write reaches the querier. Test-only settings live in an
override: no dependency on services not started (podman runs no healthchecks), the store gateway's one-minute ring
wait off, and, for a Debian-built Prometheus 2.x image, agent mode by its 2.x flag.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from typing import Any

import yaml
from test_stack_up import COMPOSE, _get, _poll, _require_images, _rule_groups, stack_factory  # noqa: F401 - a fixture

from obsgen.emit.stack.cortex import INGESTERS, SERVICES

AGENT_2X = "--enable-feature=agent"  # Prometheus 2.x spells --agent this way


def _services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


def _agent_command(image: str) -> list[str]:
    command = list(_services()["prometheus-agent"]["command"])
    if "debian" in image:  # CI's image: Debian's Prometheus 2.42 with promtool 3.5 beside it
        command = [AGENT_2X if c == "--agent" else c for c in command]
    return command


def _ring(port: int) -> list[str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/ingester/ring", headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - 127.0.0.1 only
        return [s["state"] for s in json.loads(resp.read()).get("shards") or []]


def test_the_scale_profile_comes_up_and_cortex_alerts_through_the_stack(stack_factory, container_engine) -> None:  # noqa: F811
    _require_images(container_engine, ["cortex", "prometheus", "alertmanager"])
    services = [*SERVICES, "prometheus-agent", "alertmanager"]
    override: dict[str, Any] = {s: {"depends_on": "!reset"} for s in services}
    override["cortex-store-gateway"]["command"] = [*_services()["cortex-store-gateway"]["command"],
                                                   "-store-gateway.sharding-ring.wait-stability-min-duration=0s"]
    override["prometheus-agent"]["command"] = _agent_command(os.environ.get("PROMETHEUS_IMAGE", ""))
    # Services of a profile start when named on the command line, as here; the network is the project's own (Stack).
    stack = stack_factory(services, {"services": override})
    try:
        ruler, query = stack.ports["CORTEX_RULER_PORT"], stack.ports["CORTEX_QUERY_PORT"]
        for name, port in (("querier", query), ("ruler", ruler)):
            _poll(f"cortex {name} /ready", lambda port=port: _get(f"http://127.0.0.1:{port}/ready") == "ready")
        _poll("three ACTIVE ingesters in the ring", lambda: _ring(query).count("ACTIVE") == len(INGESTERS))

        expected = _rule_groups()
        listed = _poll("the ruler loading rules/ from its mount",
                       lambda: {g["name"] for g in _get(f"http://127.0.0.1:{ruler}/prometheus/api/v1/rules")["data"]["groups"]}
                       == expected)
        assert listed
        alerts = _poll("the Watchdog from Cortex's ruler at Alertmanager",
                       lambda: [a for a in _get(stack.url("ALERTMANAGER_PORT", "/api/v2/alerts"))
                                if a["labels"].get("alertname") == "Watchdog"])
        assert alerts[0]["labels"].get("environment") == "prod", alerts  # the ruler's external labels
        assert [r["name"] for r in alerts[0]["receivers"]] == ["deadmans-switch"], alerts
        q = urllib.parse.urlencode({"query": 'up{job="alertmanager"}'})
        samples = _poll("the agent's remote write, read back through the querier",
                        lambda: _get(f"http://127.0.0.1:{query}/prometheus/api/v1/query?{q}")["data"]["result"])
        assert samples[0]["value"][1] == "1", samples
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- compose logs ---\n{stack.logs()}") from None

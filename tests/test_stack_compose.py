"""compose.yaml: docker compose accepts it, and it keeps the secure defaults (local ports, ro configs, no default password)."""

from __future__ import annotations

import re

from test_stack_helpers import REPO, load_yaml

from obsgen.check.runner import Runner
from obsgen.emit.stack.compose import PORTS, VARIABLES
from obsgen.emit.stack.cortex import SERVICES as CORTEX_SERVICES
from obsgen.stack_images import IMAGES

from conftest import missing_tool

COMPOSE = REPO / "compose" / "compose.yaml"


def _services() -> dict[str, dict[str, object]]:
    data = load_yaml(COMPOSE)
    assert isinstance(data, dict)
    return data["services"]


def test_compose_config_is_valid(run_check) -> None:
    result = run_check("compose", REPO)
    assert result.passed, [str(f) for f in result.findings]
    assert result.summary == f"{len(_services())} services"


def _compose_config(runner: Runner, env: dict[str, str]) -> tuple[bool, str]:
    """compose config with exactly these variables (the check itself gives every required one a placeholder)."""
    try:
        result = runner.run("compose", ["--env-file", "/dev/null", "-f", "/work/compose/compose.yaml", "config", "--quiet"],
                            {"/work/compose": COMPOSE.parent}, env)
    except RuntimeError as exc:
        missing_tool(str(exc))
    return result.ok, result.output


def test_missing_admin_password_is_refused(runner: Runner) -> None:
    ok, out = _compose_config(runner, {})
    assert not ok and "GRAFANA_ADMIN_PASSWORD" in out
    ok, out = _compose_config(runner, {"GRAFANA_ADMIN_PASSWORD": "only-for-this-test"})
    assert ok, out


def test_every_port_is_local_only() -> None:
    for name, svc in _services().items():
        for mapping in svc.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), (name, mapping)


def test_config_mounts_are_read_only_and_data_uses_named_volumes() -> None:
    data = load_yaml(COMPOSE)
    assert isinstance(data, dict)
    named = set(data["volumes"])
    for name, svc in data["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert volume.endswith(":ro"), (name, volume)
            else:
                assert source in named, (name, volume)


def test_every_service_is_healthchecked_restarted_and_non_root() -> None:
    for name, svc in _services().items():
        assert svc["restart"] == "unless-stopped"
        user = str(svc["user"])
        assert not user.startswith("0") and user.split(":")[0] != "root", name
        check = svc["healthcheck"]
        if name == "otel-collector":
            # FROM scratch: nothing to run inside; the health_check extension port is published instead.
            assert check == {"disable": True}
            assert any(":13133" in p for p in svc["ports"])
            continue
        test = check["test"]
        assert test[0] == "CMD" and all(" " not in arg for arg in test), (name, test)
        assert "curl" not in test
        for dep, cond in svc.get("depends_on", {}).items():
            assert cond == {"condition": "service_healthy"}, (name, dep)
            assert dep != "otel-collector"


def test_grafana_has_no_default_credentials() -> None:
    env = _services()["grafana"]["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_images_come_from_the_pins_and_can_be_overridden() -> None:
    services = _services()
    for service, img in IMAGES.items():
        names = list(CORTEX_SERVICES) if service == "cortex" else [service]  # one pin for every Cortex component
        for name in names:
            assert services[name]["image"] == f"${{{img.env}:-{img.ref}}}", name


def test_env_example_documents_every_variable() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    example = (REPO / "compose" / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?([A-Z_][A-Z0-9_]*)=", example, re.M))
    assert used, "compose.yaml reads no variables?"
    assert used <= documented, used - documented
    assert documented <= used | set(VARIABLES), documented - used
    assert re.search(r"^GRAFANA_ADMIN_PASSWORD=$", example, re.M)  # required, and empty: no default
    assert {p.env for p in PORTS} <= documented


def test_prometheus_mounts_the_rules_and_grafana_the_dashboards() -> None:
    services = _services()
    assert "../rules:/etc/prometheus/rules:ro" in services["prometheus"]["volumes"]
    grafana = services["grafana"]["volumes"]
    assert any(v.startswith("../dashboards:") and v.endswith(":ro") for v in grafana)
    assert any(v.startswith("./grafana/provisioning:") and v.endswith(":ro") for v in grafana)
    flags = services["prometheus"]["command"]
    assert "--web.enable-remote-write-receiver" in flags
    assert "--enable-feature=exemplar-storage" in flags


def _unmounted_provider_paths(providers: list[dict], volumes: list[str]) -> list[str]:
    """Dashboard provider paths that no ../dashboards bind mount of the grafana service serves."""
    mounted = {v.split(":")[1] for v in volumes if v.split(":")[0] == "../dashboards"}
    return sorted(p["options"]["path"] for p in providers if p["options"]["path"] not in mounted)


def test_grafana_mounts_dashboards_where_the_provisioning_reads_them() -> None:
    # No skip: the provisioning files are generated and committed (compose/grafana/), so a missing one is a failure.
    files = sorted((REPO / "compose" / "grafana" / "provisioning" / "dashboards").glob("*.yaml"))
    assert files, "compose/grafana/provisioning/dashboards/*.yaml is missing: run `make generate`"
    providers = [p for f in files for p in load_yaml(f)["providers"]]
    volumes = _services()["grafana"]["volumes"]
    assert providers and _unmounted_provider_paths(providers, volumes) == []
    assert any((REPO / "dashboards").rglob("*.json")), "the mounted ../dashboards holds no dashboards"
    # The failing case: a provider reading a directory nothing is mounted at.
    moved = [{**providers[0], "options": {**providers[0]["options"], "path": "/var/lib/grafana/elsewhere"}}]
    assert _unmounted_provider_paths(moved, volumes) == ["/var/lib/grafana/elsewhere"]

"""Rule targets and the scale profile: each output accepted by what loads it, each validator failing on a planted fault.

The committed tree holds every target (this repository's obsgen.yaml selects each): PrometheusRule objects through
tools/promrule-check (the operator's types, then rulefmt), Thanos and cortextool/mimirtool files through its other
formats, the namespaces through a running Cortex ruler's API, the scale profile's Cortex config through
`cortex -modules` and its Prometheus agent through `promtool check config --agent`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from check_support import plant, tree_copy

from obsgen import pipeline
from obsgen.check.layout import Layout
from obsgen.check.result import CheckResult
from obsgen.emit.stack.cortex import INGESTERS, REPLICATION_FACTOR, SERVICES
from obsgen.project import DEFAULT_OUTPUTS, load_project
from obsgen.settings import TARGETS, Settings, TargetSettings

from conftest import ROOT, obsgen, require_tool, run

TARGET_CHECKS = ("prometheus-rules", "thanos-rules", "ruler-namespaces", "cortex-ruler", "cortex-config",
                 "prometheus-agent-config")
FIXTURES = ROOT / "tests" / "fixtures" / "catalogs"


def layout(tree: Path) -> Layout:
    """The layout this repository's obsgen.yaml gives a copy of its tree (every rule target under deploy/)."""
    return Layout.from_project(load_project(ROOT / "obsgen.yaml"), tree)


def located(result: CheckResult, file: str, line: int | None, text: str) -> bool:
    return any(f.file == file and f.line == line and text in f.message for f in result.findings)


def findings(result: CheckResult) -> list[str]:
    return [str(f) for f in result.findings]


@pytest.mark.parametrize("name", TARGET_CHECKS)
def test_every_target_and_the_scale_profile_pass_their_validators(name: str, run_check) -> None:
    result = run_check(name, ROOT, layout=layout(ROOT))
    assert result.passed, findings(result)
    assert result.summary, "each check says what it looked at"


# -- PrometheusRule: the operator's types, strictly, then rulefmt ------------------------------------------------

OPERATOR = "deploy/prometheus-operator/divan-api.yaml"


@pytest.mark.parametrize(("old", "new", "message"), [
    ("    - record: ", "    - recrod: ", 'unknown field "recrod"'),
    ("      expr: ", "      expr: sum(rate(", "could not parse expression"),
    ("  - name: divan-api.slo\n", "  - name: divan-api.recording\n", 'groupname: "divan-api.recording" is repeated'),
    ("  namespace: monitoring\n", "  namespace: Monitoring_NS\n", "metadata.namespace"),
    ("kind: PrometheusRule\n", "kind: PrometheusRules\n", "apiVersion/kind"),
])
def test_prometheus_rule_faults_are_found_at_their_line(run_check, tmp_path: Path, old: str, new: str, message: str) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / OPERATOR, old, new)
    result = run_check("prometheus-rules", tree, layout=layout(tree))
    assert result.failed and located(result, OPERATOR, line, message), findings(result)


def test_thanos_files_refuse_an_unknown_partial_response_strategy(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    path = tree / "deploy" / "thanos" / "event-relay.yaml"
    line = plant(path, "- name: event-relay.recording\n", "- name: event-relay.recording\n  partial_response_strategy: maybe\n") + 1
    bad_expr = plant(path, "    expr: ", "    expr: max(")
    result = run_check("thanos-rules", tree, layout=layout(tree))
    assert located(result, "deploy/thanos/event-relay.yaml", line, "'partial_response_strategy'"), findings(result)
    assert located(result, "deploy/thanos/event-relay.yaml", bad_expr, "could not parse expression"), findings(result)


def test_ruler_namespace_files_allow_only_namespace_and_groups(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "deploy" / "mimir" / "watch-party.yaml", "namespace: watch-party\n",
                 "namespace: watch-party\ntenant: team-a\n") + 1
    result = run_check("ruler-namespaces", tree, layout=layout(tree))
    assert located(result, "deploy/mimir/watch-party.yaml", line, 'unknown field "tenant"'), findings(result)


def test_the_cortex_ruler_refuses_a_bad_group_at_its_line(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    path = tree / "deploy" / "cortex" / "ap-intake.yaml"
    plant(path, "  - alert: ", "  - alert: ")  # the alerts group is the last one; break its first expression
    text = path.read_text()
    start = text.index("- name: ap-intake.alerts")
    expr = text.index("    expr: ", start)
    path.write_text(text[:expr] + "    expr: rate(nope[5m]) >\n" + text[text.index("\n", expr) + 1:])
    result = run_check("cortex-ruler", tree, layout=layout(tree))
    group_line = text.count("\n", 0, start) + 1
    assert result.failed and located(result, "deploy/cortex/ap-intake.yaml", group_line, "Cortex ruler refused group"), \
        findings(result)
    assert any("parse" in f.message for f in result.findings), findings(result)


def test_cortex_config_faults_are_refused_by_cortex_itself(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    line = plant(tree / "compose" / "cortex" / "cortex.yaml", "  shard_by_all_labels: true\n", "  shard_by_all_labelz: true\n")
    result = run_check("cortex-config", tree)
    assert located(result, "compose/cortex/cortex.yaml", line, "shard_by_all_labelz"), findings(result)


def test_the_prometheus_agent_refuses_rules(run_check, tmp_path: Path) -> None:
    tree = tree_copy(tmp_path)
    path = tree / "compose" / "prometheus" / "agent.yml"
    path.write_text(path.read_text() + "rule_files:\n- /etc/prometheus/rules/*.yaml\n")
    result = run_check("prometheus-agent-config", tree)
    assert result.failed and any("agent mode" in f.message for f in result.findings), findings(result)


# -- what each target writes ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def targeted() -> dict[str, str]:
    settings = Settings(targets=TargetSettings("observability", (("release", "kube-prom"),), (("*", "abort"), ("shop", "warn"))))
    return pipeline.generate(FIXTURES, settings=settings)


def test_each_target_holds_every_service_and_the_stack_alerts(targeted: dict[str, str]) -> None:
    for target in TARGETS:
        assert {p.rsplit("/", 1)[1] for p in targeted if p.startswith(f"deploy/{target}/")} == {"shop.yaml", "obsgen-meta.yaml"}
    rules = yaml.safe_load(targeted["rules/shop.yaml"])["groups"]
    for target in TARGETS:
        doc = yaml.safe_load(targeted[f"deploy/{target}/shop.yaml"])
        groups = doc["spec"]["groups"] if target == "prometheus-operator" else doc["groups"]
        # The same groups and rules in every target; only the target's own fields differ.
        assert [{k: v for k, v in g.items() if k != "partial_response_strategy"} for g in groups] == rules, target


def test_operator_objects_carry_the_namespace_labels_and_strategy(targeted: dict[str, str]) -> None:
    obj = yaml.safe_load(targeted["deploy/prometheus-operator/shop.yaml"])
    assert (obj["apiVersion"], obj["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert obj["metadata"] == {"name": "shop", "namespace": "observability",
                               "labels": {"app.kubernetes.io/managed-by": "obsgen", "release": "kube-prom"}}
    assert {g["partial_response_strategy"] for g in obj["spec"]["groups"]} == {"warn"}
    meta = yaml.safe_load(targeted["deploy/thanos/obsgen-meta.yaml"])
    assert {g["partial_response_strategy"] for g in meta["groups"]} == {"abort"}  # the "*" default
    assert yaml.safe_load(targeted["deploy/cortex/shop.yaml"])["namespace"] == "shop"


def test_no_strategy_set_writes_none_and_no_target_is_a_default(tmp_path: Path) -> None:
    files = pipeline.generate(FIXTURES, settings=Settings(), only=("rules", "thanos"))
    assert "partial_response_strategy" not in files["deploy/thanos/shop.yaml"]
    assert not set(TARGETS) & set(DEFAULT_OUTPUTS)
    result = obsgen("generate", "--catalogs", str(FIXTURES), "--out", str(tmp_path / "out"), cwd=tmp_path)  # no obsgen.yaml
    assert result.returncode == 0 and (tmp_path / "out" / "rules").is_dir(), result.stderr
    assert not (tmp_path / "out" / "deploy").exists()  # no target chosen: none written


@pytest.mark.parametrize(("args", "message"), [
    (("--operator-label", "bad key=x"), "Kubernetes label key"),
    (("--operator-label", "release=" + "x" * 64), "Kubernetes label value"),
    (("--operator-namespace", "Bad_NS"), "Kubernetes namespace name"),
    (("--partial-response", "maybe"), "not a partial_response_strategy"),
    (("--partial-response", "nosuch=warn"), "no catalog defines a service 'nosuch'"),
    (("--group-by", "job"), "already use"),
    (("--global-selector", "cluster="), "not a label matcher"),
    (("--only", "thanos"), "'thanos' is not among the outputs"),
    (("--target", "consul"), "Invalid value for '--target'"),
])
def test_bad_target_flags_are_usage_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = obsgen("generate", "--catalogs", str(FIXTURES), "--out", str(tmp_path / "out"), *args, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


# -- the scale profile --------------------------------------------------------------------------------------------


def _compose(*args: str) -> list[str]:
    from obsgen.check.tools import compose_binary

    binary = compose_binary() or require_tool("docker-compose")
    env = {"GRAFANA_ADMIN_PASSWORD": "x"}
    result = run([binary, "-f", str(ROOT / "compose" / "compose.yaml"), *args, "config", "--services"], env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_scale_profile_adds_cortex_and_the_default_up_is_unchanged() -> None:
    default, scale = set(_compose()), set(_compose("--profile", "scale"))
    assert not any(s.startswith("cortex-") or s == "prometheus-agent" for s in default)
    assert scale - default == {*SERVICES, "prometheus-agent"}
    assert len(INGESTERS) == REPLICATION_FACTOR == 3
    doc = yaml.safe_load((ROOT / "compose" / "compose.yaml").read_text())
    for name, target in SERVICES.items():
        service = doc["services"][name]
        assert service["profiles"] == ["scale"] and f"-target={target}" in service["command"]
        assert all(p.startswith("127.0.0.1:") for p in service.get("ports", []))
    config = yaml.safe_load((ROOT / "compose" / "cortex" / "cortex.yaml").read_text())
    assert config["ingester"]["lifecycler"]["ring"]["replication_factor"] == 3
    assert config["blocks_storage"]["backend"] == "filesystem"
    assert config["ruler"]["alertmanager_url"] == "http://alertmanager:9093"
    agent = yaml.safe_load((ROOT / "compose" / "prometheus" / "agent.yml").read_text())
    assert agent["remote_write"][0]["url"] == "http://cortex-distributor:9009/api/v1/push"
    datasources = yaml.safe_load((ROOT / "compose" / "grafana" / "provisioning" / "datasources" / "obsgen.yaml").read_text())
    cortex = next(d for d in datasources["datasources"] if d["uid"] == "cortex")
    assert cortex["url"] == "http://cortex-querier:9009/prometheus" and not cortex.get("isDefault")


def test_the_compose_check_follows_references_in_the_scale_profile(run_check, tmp_path: Path) -> None:
    """Without --profile "*", compose checks a profile's services' schema but not what they refer to."""
    tree = tree_copy(tmp_path)
    path = tree / "compose" / "compose.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["services"]["cortex-ruler"]["depends_on"] = {"nowhere": {"condition": "service_started"}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run_check("compose", tree)
    assert result.failed and any("nowhere" in f.message for f in result.findings), findings(result)

"""What the LogQL grammar cannot know, checked without running Loki (its Go module is AGPL and never runs here):
the ruler files' shape, that LogQL selects on labels the collector really attaches, and the config's keys.

- Rule files: obsgen/check/schemas/loki-rules.schema.json (Prometheus rule groups as Loki's ruler reads them; the
  schema `obsgen check` uses), unique group names, alerts only, in the single tenant's directory.
- Labels: the stream labels Loki indexes from what the generated collector config forwards (collector_support;
  test_log_path.py proves that model against a real collector run), against every stream matcher and grouping
  label in the generated rules and dashboards, as parsed by lezer-logql.
- Config: obsgen/check/schemas/loki-config.schema.json, modelled on Loki 3.5's configuration reference, and the
  paths it names against the compose mounts (read-only config and rules, writable data volume).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from collector_support import CannotDerive, attached_stream_labels, structured_metadata

from obsgen.check import loki
from obsgen.check.logql import LogQLExpr, Parsed, dashboard_targets, parse, rule_expressions
from obsgen.check.node import NodeEnv
from obsgen.emit.stack.loki import TENANT

from conftest import ROOT

COMPOSE = ROOT / "compose"


def _validator(name: str) -> jsonschema.Draft202012Validator:
    return loki.validator(name)


def _errors(validator: jsonschema.Draft202012Validator, doc: Any) -> list[str]:
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(doc))


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _rule_files() -> list[Path]:
    files = sorted((COMPOSE / "loki" / "rules").rglob("*.yaml"))
    assert files, "no Loki rule files: run `make generate`"
    return files


# -- rule files -------------------------------------------------------------------------------------------


def rule_file_problems(docs: dict[str, Any]) -> list[str]:
    """Schema errors plus what a schema cannot say (group names unique across the tenant): obsgen check's own rules."""
    validator = _validator("loki-rules.schema.json")
    problems = [f"{name}: {e}" for name, doc in docs.items() for e in _errors(validator, doc)]
    return problems + [f"{name}: {message}" for name, _, message in loki.duplicate_groups(docs)]


def test_generated_rule_files_have_the_ruler_shape() -> None:
    docs = {str(p.relative_to(COMPOSE)): _load(p) for p in _rule_files()}
    assert rule_file_problems(docs) == []
    rules = [r for doc in docs.values() for g in doc["groups"] for r in g["rules"]]
    assert rules and all("alert" in r and r["labels"]["severity"] in ("critical", "warning", "info") for r in rules)


def test_rule_files_sit_in_the_single_tenant_directory() -> None:
    """auth_enabled: false makes Loki's only tenant "fake"; the ruler reads <directory>/<tenant>/*.yaml."""
    assert _load(COMPOSE / "loki" / "config.yaml")["auth_enabled"] is False and TENANT == "fake"
    assert {p.parent.name for p in _rule_files()} == {TENANT}
    assert {p.parent.parent for p in _rule_files()} == {COMPOSE / "loki" / "rules"}


def _group(**rule: Any) -> dict[str, Any]:
    return {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": 'count_over_time({a="b"}[5m]) > 0', **rule}]}]}


@pytest.mark.parametrize(("name", "doc", "expected"), [
    ("no groups", {"rules": []}, "'groups' is a required property"),
    ("a rule without expr", {"groups": [{"name": "g", "rules": [{"alert": "A"}]}]}, "'expr' is a required property"),
    ("neither alert nor record", {"groups": [{"name": "g", "rules": [{"expr": "x"}]}]}, "is not valid under any of the given schemas"),
    ("a group without a name", {"groups": [{"rules": [{"alert": "A", "expr": "x"}]}]}, "'name' is a required property"),
    ("for in words", _group(**{"for": "5 minutes"}), "does not match"),
    ("for as a number", _group(**{"for": 5}), "is not of type 'string'"),
    ("a label value that is a number", _group(labels={"severity": "warning", "threshold": 5}), "5 is not of type 'string'"),
    ("annotations as a list", _group(annotations=["summary"]), "is not of type 'object'"),
    ("a bad label name", _group(labels={"team-name": "x"}), "does not match"),
    ("a misspelt rule key", _group(expresion="x"), "Additional properties are not allowed ('expresion'"),
])
def test_rule_shape_failing_cases(name: str, doc: dict[str, Any], expected: str) -> None:
    problems = rule_file_problems({"fake/x.yaml": doc})
    assert any(expected in p for p in problems), f"{name}: {problems}"


def test_duplicate_group_names_are_refused() -> None:
    doc = _group()
    assert rule_file_problems({"fake/a.yaml": doc}) == []
    problems = rule_file_problems({"fake/a.yaml": doc, "fake/b.yaml": copy.deepcopy(doc)})
    assert problems == ["fake/b.yaml: group name 'g' is also used in fake/a.yaml"]


# -- label matchers against what the collector attaches ----------------------------------------------------


@pytest.fixture(scope="session")
def script(node_env: NodeEnv) -> NodeEnv:
    return node_env


@pytest.fixture(scope="session")
def parsed(script: NodeEnv) -> list[Parsed]:
    rules, p1 = rule_expressions(COMPOSE / "loki" / "rules", ROOT)
    targets, p2 = dashboard_targets(ROOT / "dashboards", ROOT)
    assert not p1 and not p2 and rules and targets
    return parse(rules + targets, script)


def label_problems(items: list[Parsed], collector: dict[str, Any]) -> list[str]:
    """Stream matchers must name labels Loki indexes from the collector's logs; a grouping (without a parser
    stage that extracts labels from the line) may also name structured metadata."""
    stream = attached_stream_labels(collector)
    metadata = structured_metadata(collector)
    problems = []
    for p in items:
        where = f"{p.source.file}:{p.source.line}: {p.source.path}"
        for label in sorted(p.stream_labels - stream):
            problems.append(f"{where}: stream selector names {label!r}, which the collector's logs never carry "
                            f"(Loki indexes {', '.join(sorted(stream))})")
        if not p.extracts:
            for kind, labels in p.grouping:
                for label in labels:
                    if label not in stream | metadata:
                        problems.append(f"{where}: `{kind} ({label})` groups by a label the collector's logs never carry")
    return problems


def _collector() -> dict[str, Any]:
    return _load(COMPOSE / "otel-collector" / "config.yaml")


def test_generated_logql_names_only_labels_the_collector_attaches(parsed: list[Parsed]) -> None:
    assert attached_stream_labels(_collector()) == {"service_name", "service_instance_id"}
    assert label_problems(parsed, _collector()) == []


def test_a_label_the_collector_does_not_attach_is_refused(parsed: list[Parsed], script: NodeEnv) -> None:
    broken = parse([LogQLExpr("case", 1, "expr", 'sum by (job) (count_over_time({job="relay"} |~ `x` [5m]))')], script)
    problems = label_problems(broken, _collector())
    assert problems == [
        "case:1: expr: stream selector names 'job', which the collector's logs never carry "
        "(Loki indexes service_instance_id, service_name)",
        "case:1: expr: `by (job)` groups by a label the collector's logs never carry",
    ]
    # A parser stage may extract `level` from the line: grouping by it is then fine.
    extracted = parse([LogQLExpr("case", 1, "expr", 'sum by (level) (count_over_time({service_name="a"} | json [5m]))')], script)
    assert label_problems(extracted, _collector()) == []


def test_a_collector_that_drops_service_name_breaks_the_generated_selectors(parsed: list[Parsed]) -> None:
    cfg = _collector()
    cfg["processors"]["resource/strip"] = {"attributes": [{"key": "service.name", "action": "delete"}]}
    cfg["service"]["pipelines"]["logs"]["processors"].insert(1, "resource/strip")
    assert "service_name" not in attached_stream_labels(cfg)
    assert any("stream selector names 'service_name'" in p for p in label_problems(parsed, cfg))
    cfg["processors"]["resource/strip"]["attributes"].append({"key": "deployment.environment", "action": "upsert", "value": "x"})
    assert "deployment_environment" in attached_stream_labels(cfg)


def test_an_unmodelled_processor_is_refused_rather_than_guessed() -> None:
    cfg = _collector()
    cfg["service"]["pipelines"]["logs"]["processors"].insert(1, "resourcedetection")
    with pytest.raises(CannotDerive, match="resourcedetection"):
        attached_stream_labels(cfg)


# -- Loki config keys ----------------------------------------------------------------------------------------


def test_generated_loki_config_matches_the_documented_keys() -> None:
    assert _errors(_validator("loki-config.schema.json"), _load(COMPOSE / "loki" / "config.yaml")) == []


def _edit(path: str, value: Any) -> dict[str, Any]:
    cfg = _load(COMPOSE / "loki" / "config.yaml")
    *parents, last = path.split(".")
    node = cfg
    for key in parents:
        node = node[key]
    node[last] = value
    return cfg


@pytest.mark.parametrize(("path", "value", "expected"), [
    ("ruler.enable_alertmanager_v3", True, "Additional properties are not allowed ('enable_alertmanager_v3'"),
    ("common.storage.filesystem.chunk_directory", "/loki/chunks", "('chunk_directory' was unexpected)"),
    ("limits_config.allow_structured_metdata", True, "('allow_structured_metdata' was unexpected)"),
    ("no_such_block", {}, "('no_such_block' was unexpected)"),
    ("server.log_level", "verbose", "'verbose' is not one of"),
    ("server.http_listen_port", "3100", "'3100' is not of type 'integer'"),
    ("common.ring.kvstore.store", "in-memory", "'in-memory' is not one of"),
    ("ruler.storage.type", "local-disk", "'local-disk' is not one of"),
    ("auth_enabled", "false", "'false' is not of type 'boolean'"),
])
def test_loki_config_failing_cases(path: str, value: Any, expected: str) -> None:
    errors = _errors(_validator("loki-config.schema.json"), _edit(path, value))
    assert any(expected in e for e in errors), errors


def test_tsdb_needs_a_daily_index_period() -> None:
    cfg = _load(COMPOSE / "loki" / "config.yaml")
    cfg["schema_config"]["configs"][0]["index"]["period"] = "168h"
    assert any("'24h' was expected" in e for e in _errors(_validator("loki-config.schema.json"), cfg))


def test_loki_paths_match_the_compose_mounts() -> None:
    """The config and rules are mounted read-only, so everything Loki writes must be under its data volume."""
    cfg = _load(COMPOSE / "loki" / "config.yaml")
    volumes = _load(COMPOSE / "compose.yaml")["services"]["loki"]["volumes"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in volumes}
    data = next(target for target, source in mounts.items() if not source.startswith("."))
    assert mounts[cfg["ruler"]["storage"]["local"]["directory"]] == "./loki/rules"
    writable = [cfg["common"]["path_prefix"], cfg["ruler"]["rule_path"],
                *cfg["common"]["storage"]["filesystem"].values()]
    assert all(p == data or p.startswith(data + "/") for p in writable), (writable, data)

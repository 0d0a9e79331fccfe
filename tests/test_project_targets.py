"""The rule targets through obsgen.yaml: output.outputs chooses them, targets: shapes them, and the flags override both.

obsgen.yaml is the source of truth; `obsgen generate --target/--operator-*/--partial-response` change one run.
A mistake in the file's targets: section is a located problem (file:line: field: message), never a traceback.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from conftest import ROOT, obsgen

FIXTURES = ROOT / "tests" / "fixtures" / "catalogs"
PROJECT = """\
output:
  outputs: [rules, prometheus-operator, thanos]
targets:
  prometheus-operator:
    namespace: observability
    labels: {release: kube-prom}
  thanos:
    partial_response_strategy:
      "*": abort
      shop: warn
"""


def project(tmp_path: Path, text: str) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "catalogs")
    (tmp_path / "obsgen.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_project_file_chooses_and_shapes_the_targets(tmp_path: Path) -> None:
    where = project(tmp_path, PROJECT)
    result = obsgen("generate", cwd=where)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (where / "deploy").iterdir()) == ["prometheus-operator", "thanos"]
    obj = load(where / "deploy" / "prometheus-operator" / "shop.yaml")
    assert obj["metadata"]["namespace"] == "observability"
    assert obj["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "obsgen", "release": "kube-prom"}
    assert {g["partial_response_strategy"] for g in load(where / "deploy" / "thanos" / "shop.yaml")["groups"]} == {"warn"}
    assert {g["partial_response_strategy"] for g in load(where / "deploy" / "thanos" / "obsgen-meta.yaml")["groups"]} == {"abort"}
    assert not (where / "dashboards").exists()  # only what output.outputs names


def test_flags_override_the_project_file_for_one_run(tmp_path: Path) -> None:
    where = project(tmp_path, PROJECT)
    result = obsgen("generate", "--target", "cortex", "--operator-namespace", "ops", "--operator-label", "team=sre",
                    "--partial-response", "abort", cwd=where)
    assert result.returncode == 0, result.stderr
    assert (where / "deploy" / "cortex" / "shop.yaml").is_file()  # added to the project's outputs
    meta = load(where / "deploy" / "prometheus-operator" / "shop.yaml")["metadata"]
    assert meta["namespace"] == "ops" and meta["labels"] == {"app.kubernetes.io/managed-by": "obsgen", "team": "sre"}
    assert {g["partial_response_strategy"] for g in load(where / "deploy" / "thanos" / "shop.yaml")["groups"]} == {"abort"}
    # The next run without flags goes back to the file's values, and the flag-only target is stale.
    check = obsgen("generate", "--check", cwd=where)
    assert check.returncode == 1 and "stale:   deploy/cortex/shop.yaml" in check.stdout, check.stdout


def test_a_strategy_for_an_unknown_service_is_located_in_the_project_file(tmp_path: Path) -> None:
    where = project(tmp_path, PROJECT.replace("      shop: warn\n", "      shop: warn\n      shopp: warn\n"))
    result = obsgen("generate", cwd=where)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "obsgen.yaml:11: targets.thanos.partial_response_strategy.shopp: no catalog defines a service 'shopp'" \
        in result.stderr, result.stderr
    assert not (where / "deploy").exists()


def test_bad_target_settings_are_schema_problems_at_their_line(tmp_path: Path) -> None:
    bad = (PROJECT.replace("namespace: observability", "namespace: Bad_NS")
           .replace("shop: warn", "shop: maybe")
           .replace("{release: kube-prom}", "{release: kube prom}")
           .replace("  outputs: [rules,", "  outputs: [rules, consul,"))
    result = obsgen("generate", cwd=project(tmp_path, bad))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for line, field in ((2, "output.outputs[1]"), (5, "targets.prometheus-operator.namespace"),
                        (6, "targets.prometheus-operator.labels.release"), (10, "targets.thanos.partial_response_strategy.shop")):
        assert any(x.startswith(f"obsgen.yaml:{line}: {field}:") for x in result.stderr.splitlines()), result.stderr

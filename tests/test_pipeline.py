"""The generate pipeline as a user runs it: determinism, drift check, atomic writes, stale files, env and Jsonnet."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, obsgen

FIXTURES = ROOT / "tests" / "fixtures" / "catalogs"


def tree_digest(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_generation_is_byte_identical_across_runs(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        result = obsgen("generate", "--catalogs", str(ROOT / "catalogs"), "--out", str(out))
        assert result.returncode == 0, result.stderr
    assert tree_digest(a) == tree_digest(b)
    assert len(tree_digest(a)) > 20


def test_committed_outputs_have_no_drift() -> None:
    """The CI drift guard: `obsgen generate --check` on the repository itself (its obsgen.yaml selects every rule target)."""
    result = obsgen("generate", "--catalogs", "catalogs", "--out", ".", "--check", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def _generated_shop_and_divan(tmp_path: Path) -> tuple[Path, Path]:
    """A catalogs folder with the shop fixture and the Divan catalog, generated once into tmp_path/out."""
    cats = tmp_path / "catalogs"
    shutil.copytree(FIXTURES, cats)
    shutil.copy(ROOT / "catalogs" / "divan-api.yaml", cats)
    out = tmp_path / "out"
    assert obsgen("generate", "--catalogs", str(cats), "--out", str(out)).returncode == 0
    return cats, out


def test_check_reports_changed_missing_and_stale_files(tmp_path: Path) -> None:
    cats, out = _generated_shop_and_divan(tmp_path)
    assert obsgen("generate", "--catalogs", str(cats), "--out", str(out), "--check").returncode == 0
    (out / "rules" / "shop.yaml").write_text("edited by hand\n")
    (out / "runbooks" / "shop.md").unlink()
    (cats / "divan-api.yaml").unlink()
    before = tree_digest(out)
    result = obsgen("generate", "--catalogs", str(cats), "--out", str(out), "--check")
    assert result.returncode == 1
    assert "changed: rules/shop.yaml" in result.stdout
    assert "missing: runbooks/shop.md" in result.stdout
    assert "stale:   rules/divan-api.yaml" in result.stdout
    assert tree_digest(out) == before, "--check must write nothing"


def test_removed_service_files_are_deleted_but_user_files_kept(tmp_path: Path) -> None:
    cats, out = _generated_shop_and_divan(tmp_path)
    (out / "rules" / "my-own-rules.yaml").write_text("groups: []\n")
    (cats / "divan-api.yaml").unlink()
    result = obsgen("generate", "--catalogs", str(cats), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert not (out / "rules" / "divan-api.yaml").exists()
    assert not (out / "runbooks" / "divan-api.md").exists()
    assert (out / "rules" / "my-own-rules.yaml").exists(), "files obsgen did not write must survive"
    manifest = json.loads((out / ".obsgen-files.json").read_text())
    assert "rules/divan-api.yaml" not in manifest["files"]


def test_a_failed_run_leaves_previous_output_untouched(tmp_path: Path) -> None:
    cats = tmp_path / "catalogs"
    shutil.copytree(FIXTURES, cats)
    out = tmp_path / "out"
    assert obsgen("generate", "--catalogs", str(cats), "--out", str(out)).returncode == 0
    before = tree_digest(out)
    text = (cats / "shop.yaml").read_text().replace("threshold: 0.05, for: 5m", "threshold: 0.05, for: 5 minutes")
    (cats / "shop.yaml").write_text(text)
    result = obsgen("generate", "--catalogs", str(cats), "--out", str(out))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "alerts[0].for" in result.stderr
    assert tree_digest(out) == before
    assert not list(out.glob(".obsgen-staging-*"))


def test_environment_overrides_apply(tmp_path: Path) -> None:
    prod, dev = tmp_path / "prod", tmp_path / "dev"
    assert obsgen("generate", "--catalogs", str(FIXTURES), "--out", str(prod)).returncode == 0
    assert obsgen("generate", "--catalogs", str(FIXTURES), "--out", str(dev), "--env", "dev").returncode == 0
    prod_rules = (prod / "rules" / "shop.yaml").read_text()
    dev_rules = (dev / "rules" / "shop.yaml").read_text()
    assert "shop_http_requests_errors:ratio_rate5m > 0.05" in prod_rules
    assert "shop_http_requests_errors:ratio_rate5m > 0.2" in dev_rules


def test_jsonnet_catalog_with_env_ext_var(tmp_path: Path) -> None:
    cats = tmp_path / "catalogs"
    cats.mkdir()
    (cats / "api.jsonnet").write_text(
        """
local env = std.extVar('env');
{
  service: { name: 'api', team: 'core', namespace: 'api', targets: [{ job: 'api', addresses: ['api:80'] }] },
  metrics: [{ name: 'api_queue_depth', type: 'gauge', help: 'Queue depth.', unit: 'items' }],
  alerts: [{
    name: 'ApiQueueDeep', template: 'backlog', metric: 'api_queue_depth', severity: 'warning',
    threshold: if env == 'prod' then 100 else 1000, 'for': '5m',
    summary: 'The queue is deep.', description: '{{ $value | humanize }} items wait.',
  }],
}
"""
    )
    for env, threshold in (("prod", "100"), ("dev", "1000")):
        out = tmp_path / env
        result = obsgen("generate", "--catalogs", str(cats), "--out", str(out), "--env", env)
        assert result.returncode == 0, result.stderr
        rules = yaml.safe_load((out / "rules" / "api.yaml").read_text())
        exprs = [r["expr"] for g in rules["groups"] for r in g["rules"] if r.get("alert") == "ApiQueueDeep"]
        assert exprs == [f"max by (job) (api_queue_depth) > {threshold}"]


def test_generated_files_name_their_source() -> None:
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        assert path.read_text().startswith("# Generated by obsgen from "), path


@pytest.mark.parametrize("command", ["generate", "validate", "list"])
def test_every_command_has_help(command: str) -> None:
    result = obsgen(command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout and "--catalogs" in result.stdout


def test_version() -> None:
    result = obsgen("--version")
    assert result.returncode == 0 and result.stdout.startswith("obsgen, version ")


def test_list_prints_services_metrics_slos_and_alerts() -> None:
    result = obsgen("list", "--catalogs", str(FIXTURES))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("shop  (team storefront")
    assert "metric  counter   shop_http_requests_total{code,route}" in out
    assert "slo     availability availability  99.9% over 30d" in out
    assert "alert   critical  ShopErrors  (error_ratio)" in out
    assert "alert   warning   ShopAvailabilityErrorBudgetBurn  (slo_burn)" in out


def test_missing_catalog_directory_is_one_clear_line(tmp_path: Path) -> None:
    result = obsgen("validate", "--catalogs", str(tmp_path / "nope"))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == f"{tmp_path / 'nope'}: catalog directory does not exist"

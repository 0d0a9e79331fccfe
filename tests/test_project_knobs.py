"""Each obsgen.yaml setting changes the output as the schema describes it, and the real consumers still accept the result."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, obsgen, require_tool, run

# One worker runs this file's tests: its fixtures are costly, and each worker would build its own. They are
# session-scoped: xdist may hand a worker another file's test in between, which would tear a module fixture down.
pytestmark = pytest.mark.xdist_group("project_knobs")

FIXTURES = ROOT / "tests" / "fixtures" / "catalogs"


def generated(tmp_path: Path, text: str, *catalogs: Path, args: tuple[str, ...] = ()) -> Path:
    """A project folder with obsgen.yaml and the given catalog files, generated once."""
    (tmp_path / "catalogs").mkdir(parents=True)
    for path in catalogs or (FIXTURES / "shop.yaml",):
        shutil.copy(path, tmp_path / "catalogs")
    (tmp_path / "obsgen.yaml").write_text(text, encoding="utf-8")
    result = obsgen("generate", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} - {"obsgen.yaml", ".obsgen-files.json", ".obsgen.lock"}


def promtool_passes(rules: Path, tests: Path) -> None:
    promtool = require_tool("promtool")
    check = run([promtool, "check", "rules", "--lint-fatal", *map(str, sorted(rules.glob("*.yaml")))])
    assert check.returncode == 0, check.stdout + check.stderr
    result = run([promtool, "test", "rules", *(p.name for p in sorted(tests.glob("*.test.yaml")))], cwd=tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_outputs_selects_what_is_generated(tmp_path: Path) -> None:
    where = generated(tmp_path, "output: {outputs: [rules, runbooks]}\n")
    assert {f.split("/")[0] for f in files(where) - {"catalogs/shop.yaml"}} == {"rules", "runbooks"}
    assert not (where / "rules" / "tests").exists()
    result = obsgen("generate", "--only", "k6", cwd=where)
    assert result.returncode == 2 and "'k6' is not among the outputs" in result.stderr


def test_paths_move_outputs_and_their_references_follow(tmp_path: Path) -> None:
    """promtool finds the rules from the moved tests, and every folder compose.yaml mounts is where it says."""
    where = generated(tmp_path, """\
output:
  root: out
  paths: {rules: monitoring/rules, rule-tests: monitoring/tests, dashboards: grafana/dashboards, compose: deploy/stack,
          provisioning: grafana/provisioning, alertmanager: deploy/am, loki: deploy/loki-rules, k6: load}
""")
    out = where / "out"
    tops = {f.split("/")[0] for f in files(out)}
    assert tops == {"monitoring", "grafana", "deploy", "load", "runbooks"}, tops
    tests = yaml.safe_load((out / "monitoring" / "tests" / "shop.test.yaml").read_text())
    assert tests["rule_files"] == ["../rules/shop.yaml"]
    promtool_passes(out / "monitoring" / "rules", out / "monitoring" / "tests")
    compose = yaml.safe_load((out / "deploy" / "stack" / "compose.yaml").read_text())
    sources = [v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", []) if v.startswith(".")]
    assert sources.count("../../monitoring/rules") == 2  # Prometheus' rules and the scale profile's Cortex ruler
    assert "../../monitoring/rules" in sources and "../../grafana/dashboards" in sources and "../am/alertmanager.yml" in sources
    for source in sources:
        assert (out / "deploy" / "stack" / source).exists(), source
    assert "load/browse.js" in (out / "load" / "README.md").read_text()


def test_runbook_base_url_fills_runbook_urls_a_catalog_leaves_open(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    text = (FIXTURES / "shop.yaml").read_text()
    (tmp_path / "src" / "shop.yaml").write_text(re.sub(r"\n  runbook_base: .*", "", text))
    where = generated(tmp_path / "p", "runbooks: {base_url: 'https://wiki.example.com/ops/'}\noutput: {outputs: [rules]}\n",
                      tmp_path / "src" / "shop.yaml")
    urls = re.findall(r"runbook_url: \"?([^\s\"]+)", (where / "rules" / "shop.yaml").read_text())
    assert urls and all(u.startswith("https://wiki.example.com/ops/shop.md#") for u in urls)
    assert "https://wiki.example.com/ops/obsgen.md#watchdog" in (where / "rules" / "obsgen-meta.yaml").read_text()
    kept = generated(tmp_path / "q", "runbooks: {base_url: 'https://wiki.example.com/ops'}\noutput: {outputs: [rules]}\n")
    assert "https://runbooks.example.com/shop.md#" in (kept / "rules" / "shop.yaml").read_text()  # the catalog's own wins


def test_stack_settings_configure_the_receivers(tmp_path: Path) -> None:
    where = generated(tmp_path, """\
output: {outputs: [alertmanager]}
stack:
  receivers: [slack, email]
  webhook_url: http://hooks.internal.example:8080/alerts
  smtp: {smarthost: 'mail.example.com:25', from: am@example.com, username: am-bot}
  email_to: '{team}@example.com'
  slack_channel: '#alerts-{team}'
""")
    path = where / "compose" / "alertmanager" / "alertmanager.yml"
    config = yaml.safe_load(path.read_text())
    by_name = {r["name"]: r for r in config["receivers"]}
    assert by_name["storefront-slack"]["slack_configs"][0]["channel"] == "#alerts-storefront"
    assert by_name["storefront-email"]["email_configs"][0]["to"] == "storefront@example.com"
    assert by_name["storefront-webhook"]["webhook_configs"][0]["url"] == "http://hooks.internal.example:8080/alerts"
    email = by_name["storefront-email"]["email_configs"][0]
    assert (email["smarthost"], email["from"], email["auth_username"]) == ("mail.example.com:25", "am@example.com", "am-bot")
    assert not any(r.endswith("-pagerduty") for r in by_name)
    amtool = require_tool("amtool")
    result = run([amtool, "check-config", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_team_folders_file_dashboards_per_team(tmp_path: Path) -> None:
    where = generated(tmp_path, "grafana: {folders: team}\noutput: {outputs: [dashboards]}\n",
                      FIXTURES / "shop.yaml", ROOT / "catalogs" / "divan-api.yaml")
    paths = sorted(f for f in files(where) if f.startswith("dashboards/"))
    assert {p.split("/")[1] for p in paths} == {"storefront", "backend", "fleet"}
    assert "dashboards/storefront/shop-overview.json" in paths and "dashboards/backend/divan-api-slo.json" in paths
    for p in paths:
        if not p.startswith("dashboards/fleet/"):
            assert json.loads((where / p).read_text())["uid"] == Path(p).stem


def test_regenerate_command_is_named_in_headers_and_drift(tmp_path: Path) -> None:
    where = generated(tmp_path, "output: {regenerate_command: task obs:generate}\n")
    for rel in ("rules/shop.yaml", "compose/compose.yaml", "k6/browse.js", "runbooks/shop.md"):
        assert "change the catalog and run `task obs:generate`" in (where / rel).read_text(), rel
    (where / "rules" / "shop.yaml").write_text("edited\n")
    drift = obsgen("generate", "--check", cwd=where)
    assert drift.returncode == 1 and "run `task obs:generate` and commit the result" in drift.stderr


SCOPED = """\
rules:
  group_by: [cluster, namespace]
  global_selector: ['cluster="eu-1"', 'namespace=~"shop|backend-.*"', 'env!="dev"']
output: {outputs: [rules, rule-tests, dashboards]}
"""


@pytest.fixture(scope="session")
def scoped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated(tmp_path_factory.mktemp("scoped"), SCOPED, FIXTURES / "shop.yaml", ROOT / "catalogs" / "divan-api.yaml")


def test_group_by_and_global_selector_reach_every_expression(scoped: Path) -> None:
    rules = yaml.safe_load((scoped / "rules" / "shop.yaml").read_text())
    # ShopRawNoTraffic is raw PromQL a catalog wrote (template: expr): used as written, with its own test series.
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"] if r.get("alert") != "ShopRawNoTraffic"]
    aggregations = [e for e in exprs if re.search(r"\b(sum|max|min) by \(", e)]
    assert aggregations and all(re.search(r"\b(sum|max|min) by \(cluster, namespace", e) for e in aggregations)
    selectors = re.findall(r"[a-z_:]+\{[^}]*\}", "\n".join(exprs))
    assert selectors and all('cluster="eu-1"' in s or "service=" in s for s in selectors), selectors
    dash = (scoped / "dashboards" / "shop" / "overview.json").read_text()
    assert 'cluster=\\"eu-1\\"' in dash and "by (cluster, namespace" in dash


def test_scoped_rules_pass_promtool_check_and_test(scoped: Path) -> None:
    """The rule tests give every series the scope's labels and expect them on every alert that keeps them."""
    tests = yaml.safe_load((scoped / "rules" / "tests" / "shop.test.yaml").read_text())
    assert all('cluster="eu-1"' in s["series"] for t in tests["tests"] for s in t["input_series"] if "ShopRawNoTraffic" not in t["name"])
    promtool_passes(scoped / "rules", scoped / "rules" / "tests")


def test_scoped_slo_guard_is_proven_by_the_rule_tests(scoped: Path, tmp_path: Path) -> None:
    """The failing case: vector(0) has no cluster label, so an SLI guarded by it reads nothing under group_by."""
    promtool = require_tool("promtool")
    shutil.copytree(scoped / "rules", tmp_path / "rules")
    path = tmp_path / "rules" / "shop.yaml"
    text = path.read_text()
    guard = re.compile(r"\n( +)sum by \(cluster, namespace\) \(rate\(shop_http_requests_total\{[^}]*\}\[\w+\]\)\) \* 0\n")
    broken, count = guard.subn(r"\n\1vector(0)\n", text)
    assert count >= 4
    path.write_text(broken)
    result = run([promtool, "test", "rules", "shop.test.yaml"], cwd=tmp_path / "rules" / "tests")
    assert result.returncode != 0 and "slo:error_budget_remaining:ratio" in result.stdout + result.stderr


def test_check_follows_the_project_layout(tmp_path: Path) -> None:
    """`obsgen check` finds every output where obsgen.yaml put it, and names the moved path in a finding."""
    where = generated(tmp_path, """\
output:
  paths: {rules: mon/rules, rule-tests: mon/tests, dashboards: graf, alertmanager: am, loki: loki-rules, k6: load}
""")
    only = "rules,rule-tests,alertmanager-config,alertmanager-routes,dashboard-lint,loki,k6,compose"
    result = obsgen("check", "--only", only, cwd=where)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed, 0 failed, 0 not run" in result.stdout, result.stdout
    (where / "mon" / "rules" / "shop.yaml").write_text("groups:\n- name: x\n  rules:\n  - alert: Broken\n    expr: rate(foo[5m] > 1\n")
    broken = obsgen("check", "--only", "rules", cwd=where)
    assert broken.returncode == 1 and "mon/rules/shop.yaml" in broken.stdout, broken.stdout

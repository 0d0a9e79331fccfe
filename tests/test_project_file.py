"""obsgen.yaml as a file: found and read, its problems located (file:line: field: message), its defaults the tree we commit."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from obsgen.emit import EMITTERS
from obsgen.project import ALL_OUTPUTS, Project, find_project, load_project, schema

from conftest import BIN, ROOT, obsgen, run

FIXTURES = ROOT / "tests" / "fixtures" / "catalogs"


def project_dir(tmp_path: Path, text: str, catalogs: Path = FIXTURES) -> Path:
    """A folder with obsgen.yaml and a copy of the catalogs beside it, as a user's repository has them."""
    shutil.copytree(catalogs, tmp_path / "catalogs")
    (tmp_path / "obsgen.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_the_schema_lists_every_output_and_its_folder() -> None:
    spec = schema()["properties"]["output"]["properties"]
    assert tuple(schema()["$defs"]["output"]["enum"]) == ALL_OUTPUTS == tuple(EMITTERS)
    assert {k: v["default"] for k, v in spec["paths"]["properties"].items()} == {o.name: o.root for o in EMITTERS.values()}
    jsonschema.Draft202012Validator.check_schema(schema())


def test_this_repository_uses_the_defaults_but_its_regenerate_command() -> None:
    """The committed obsgen.yaml is the defaults (so test_committed_outputs_have_no_drift proves they give today's tree)."""
    mine = load_project(ROOT / "obsgen.yaml")
    assert mine.settings.command == "make generate"
    defaults = Project(file=mine.file, base=mine.base)
    assert dataclasses.replace(mine, settings=dataclasses.replace(mine.settings, command=defaults.settings.command)) == defaults


def test_default_project_reproduces_the_committed_tree_byte_for_byte(tmp_path: Path) -> None:
    """A project file that sets nothing but the header command generates exactly what this repository commits."""
    where = project_dir(tmp_path, "output: {regenerate_command: make generate}\n", ROOT / "catalogs")
    result = obsgen("generate", cwd=where)
    assert result.returncode == 0, result.stderr
    listed = json.loads((ROOT / ".obsgen-files.json").read_text())["files"]
    assert len(listed) > 50
    differ = [rel for rel in listed if (where / rel).read_bytes() != (ROOT / rel).read_bytes()]
    assert differ == []


def test_an_empty_or_missing_project_file_means_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "obsgen.yaml").write_text("# nothing set yet\n")
    assert find_project(cwd=tmp_path) == Project(file=tmp_path / "obsgen.yaml", base=tmp_path)
    (tmp_path / "obsgen.yaml").unlink()
    assert find_project(cwd=tmp_path) == Project(base=tmp_path)
    assert Project().settings.command == "obsgen generate"


BAD = """\
version: 1
catalogs: catalogs
outptu: {root: out}
output:
  outputs: [rules, compose]
  paths:
    rules: ../elsewhere
    k6: elsewhere
environments:
  names: [dev, prod]
  default: staging
rules:
  group_by: [cluster, job]
  global_selector: ['cluster=', 'a="1", b="2"', '__name__="x"']
grafana: {folders: site}
stack:
  receivers: [slack, sms]
  webhook_url: https://user:hunter2@hooks.example.invalid/x
"""


def test_every_problem_is_one_located_line(tmp_path: Path) -> None:
    where = project_dir(tmp_path, BAD)
    result = obsgen("validate", cwd=where)
    assert result.returncode == 1, result.stdout
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert lines[-1] == f"obsgen: {len(lines) - 1} problems found; nothing was written"
    expected = [
        "obsgen.yaml:3: outptu: unknown field 'outptu'",
        "obsgen.yaml:7: output.paths.rules: '../elsewhere' does not match",
        "obsgen.yaml:15: grafana.folders: 'site' is not one of service, team",
        "obsgen.yaml:17: stack.receivers[1]: 'sms' is not one of webhook, slack, pagerduty, email, msteams",
    ]
    for want in expected:
        assert any(line.startswith(want) for line in lines), (want, lines)
    # The schema's problems come first; fixing them shows the rest, still located.
    fixed = BAD.replace("outptu: {root: out}\n", "\n").replace("../elsewhere", "elsewhere").replace("site", "team")
    (where / "obsgen.yaml").write_text(fixed.replace("[slack, sms]", "[slack]"))
    second = obsgen("validate", cwd=where).stderr.splitlines()
    assert second[:-1] == [
        "obsgen.yaml:5: output.outputs: compose needs alertmanager, loki, provisioning (it reads their files); add them or drop compose",
        "obsgen.yaml:8: output.paths.k6: 'elsewhere' is already the folder of rules; give each output its own",
        "obsgen.yaml:11: environments.default: 'staging' is not one of the environments: dev, prod",
        "obsgen.yaml:13: rules.group_by[1]: 'job' is a label obsgen's rules already use as they need it; "
        "group_by is for topology labels such as cluster or namespace",
        "obsgen.yaml:14: rules.global_selector[0]: not a label matcher: invalid promql query",
        "obsgen.yaml:14: rules.global_selector[1]: one matcher per item, found 2",
        "obsgen.yaml:14: rules.global_selector[2]: labels starting with __ are reserved; select on a label the series carry",
        "obsgen.yaml:18: stack.webhook_url: looks like a URL with a password in it; use a URL without credentials",
    ], second


def test_yaml_and_type_errors_are_located(tmp_path: Path) -> None:
    for text, want in (
        ("output:\n  root: [a\n", "obsgen.yaml:3: invalid YAML"),
        ("- a list\n", "obsgen.yaml:1: the project file must be a mapping, got list"),
        ("version: 2\n", "obsgen.yaml:1: version: 1 was expected"),
        ("output:\n  regenerate_command: \"make\\ngenerate\"\n", "obsgen.yaml:2: output.regenerate_command:"),
        ("rules:\n  group_by: cluster\n", "obsgen.yaml:2: rules.group_by: expected array, got str 'cluster'"),
        ("stack:\n  smtp: {password: hunter2}\n", "obsgen.yaml:2: stack.smtp.password: unknown field 'password'"),
        ("rules:\n  global_selector: ['cluster=~\"[\"']\n", "obsgen.yaml:2: rules.global_selector"),
    ):
        (tmp_path / "obsgen.yaml").write_text(text)
        result = obsgen("validate", "--catalogs", str(FIXTURES), cwd=tmp_path)
        assert result.returncode == 1 and any(line.startswith(want) for line in result.stderr.splitlines()), (text, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_selector_no_test_value_satisfies_is_refused(tmp_path: Path) -> None:
    (tmp_path / "obsgen.yaml").write_text("rules:\n  global_selector: ['cluster=\"a\"', 'cluster!=\"a\"']\n")
    result = obsgen("validate", "--catalogs", str(FIXTURES), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("obsgen.yaml:2: rules.global_selector: no value of label 'cluster' satisfies"), result.stderr


def test_config_flag_and_relative_paths(tmp_path: Path) -> None:
    """--config reads a file elsewhere; its catalogs and output root are relative to it, not to the current folder."""
    where = project_dir(tmp_path / "repo", "catalogs: catalogs\noutput: {root: generated}\n")
    result = obsgen("generate", "-c", str(where / "obsgen.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rules = (where / "generated" / "rules" / "shop.yaml").read_text()
    assert rules.startswith("# Generated by obsgen from catalogs/shop.yaml. Do not edit by hand:\n# change the catalog and run `obsgen generate`.")
    missing = obsgen("generate", "-c", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr and "does not exist" in missing.stderr


def test_output_does_not_depend_on_the_shell(tmp_path: Path) -> None:
    """The variables that used to switch receivers on change nothing now; only obsgen.yaml does."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert obsgen("generate", "--catalogs", str(FIXTURES), "--out", str(a), cwd=tmp_path).returncode == 0
    shell = {"OBSGEN_RECEIVERS": "slack,pagerduty", "OBSGEN_WEBHOOK_URL": "http://elsewhere.invalid/x",
             "OBSGEN_SMTP_SMARTHOST": "mail.invalid:25"}
    result = run([str(BIN / "obsgen"), "generate", "--catalogs", str(FIXTURES), "--out", str(b)],
                 cwd=tmp_path, env=shell)
    assert result.returncode == 0, result.stderr
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


@pytest.mark.parametrize("env, threshold", [(None, "0.2"), ("prod", "0.05")])
def test_the_default_environment_comes_from_the_project(tmp_path: Path, env: str | None, threshold: str) -> None:
    where = project_dir(tmp_path, "environments: {names: [dev, prod], default: dev}\noutput: {outputs: [rules]}\n")
    assert obsgen("generate", *(("--env", env) if env else ()), cwd=where).returncode == 0
    assert f"shop_http_requests_errors:ratio_rate5m > {threshold}" in (where / "rules" / "shop.yaml").read_text()


def test_an_undeclared_environment_is_a_usage_error(tmp_path: Path) -> None:
    where = project_dir(tmp_path, "environments: {names: [dev, prod], default: prod}\n")
    result = obsgen("generate", "--env", "staging", cwd=where)
    assert result.returncode == 2 and "unknown environment 'staging'" in result.stderr
    assert not (where / "rules").exists()


def test_a_catalog_override_for_an_undeclared_environment_is_located(tmp_path: Path) -> None:
    """A typo in an environment name would never apply; the catalog line that holds it is named."""
    where = project_dir(tmp_path, "environments: {names: [qa, prod]}\n")
    result = obsgen("validate", cwd=where)
    line = next(i for i, text in enumerate((where / "catalogs" / "shop.yaml").read_text().splitlines(), 1) if text == "  dev:")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (f"catalogs/shop.yaml:{line}: environments.dev: obsgen.yaml declares no environment "
                                             "'dev' (environments.names: qa, prod)")
    (where / "obsgen.yaml").write_text("environments: {names: [dev, prod]}\n")
    assert obsgen("validate", cwd=where).returncode == 0

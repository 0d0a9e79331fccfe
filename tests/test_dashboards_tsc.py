"""Every generated dashboard type-checks against Grafana's own TypeScript types (@grafana/schema) with tsc.

obsgen/check/node/check.mjs (the script `obsgen check` runs, installed with its locked packages by obsgen.check.node)
types each panel with its plugin's Options/FieldConfig and the whole with Dashboard.
Broken dashboards, and grafanalib's raw old-style output, must fail the same check.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fleet_fixture import fleet_plan

from obsgen.catalog import load_bundle
from obsgen.check.node import NodeEnv, run_script
from obsgen.emit.grafana import emit
from obsgen.emit.grafana.dashboards import bundle_dashboards
from obsgen.emit.grafana.render import grafanalib_json
from obsgen.plan import build_plan
from obsgen.settings import Settings

from conftest import ROOT


@pytest.fixture(scope="session")
def checker(node_env: NodeEnv) -> NodeEnv:
    return node_env


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dashboards")
    paths = {}
    for name, catalogs in (("repo", ROOT / "catalogs"), ("fixture", ROOT / "tests" / "fixtures" / "catalogs")):
        for rel, text in emit(build_plan(load_bundle(catalogs)), Settings()).items():
            if rel.endswith(".json"):
                (out / name / rel).parent.mkdir(parents=True, exist_ok=True)
                (out / name / rel).write_text(text, encoding="utf-8")
                paths[rel if name == "repo" else f"{name}/{rel}"] = out / name / rel
    # The fleet dashboards at 1,000 services: the same panels, far more services listed in them.
    for rel, text in emit(fleet_plan(1000), Settings()).items():
        if rel.startswith("dashboards/fleet/"):
            (out / "fleet-1000" / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / "fleet-1000" / rel).write_text(text, encoding="utf-8")
            paths[f"fleet-1000/{rel}"] = out / "fleet-1000" / rel
    return paths


def _check(checker: NodeEnv, *files: Path) -> tuple[int, str]:
    proc = run_script(checker, "check.mjs", [str(f) for f in files])
    return proc.returncode, proc.stdout + proc.stderr


def test_generated_and_committed_dashboards_type_check(checker: NodeEnv, generated: dict[str, Path]) -> None:
    committed = sorted((ROOT / "dashboards").rglob("*.json"))
    assert committed, "dashboards/ is empty: run `make generate`"
    code, out = _check(checker, *generated.values(), *committed)
    assert code == 0, out
    assert f"{len(generated) + len(committed)} dashboards type-check" in out


def _write(tmp: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _first(d: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(p for p in d["panels"] if p["type"] == kind)


def test_broken_dashboards_fail_tsc(checker: NodeEnv, generated: dict[str, Path], tmp_path: Path) -> None:
    good = json.loads(generated["dashboards/divan-api/overview.json"].read_text(encoding="utf-8"))
    cases = {
        "graph-panel.json": lambda d: _first(d, "timeseries").update(type="graph"),
        "string-datasource.json": lambda d: _first(d, "stat").update(datasource="Prometheus"),
        "null-unit.json": lambda d: _first(d, "stat")["fieldConfig"]["defaults"].update(unit=None),
        "bad-enum.json": lambda d: _first(d, "timeseries")["options"]["legend"].update(placement="middle"),
        "unknown-key.json": lambda d: d.update(hideControls=False),
        "missing-schema-version.json": lambda d: d.pop("schemaVersion"),
        "stat-without-options.json": lambda d: _first(d, "stat")["options"].pop("reduceOptions"),
    }
    expected = {
        "graph-panel.json": "not assignable to type 'never'",
        "string-datasource.json": "datasource",
        "null-unit.json": "unit",
        "bad-enum.json": "LegendPlacement",
        "unknown-key.json": "hideControls",
        "missing-schema-version.json": "schemaVersion",
        "stat-without-options.json": "reduceOptions",
    }
    paths = []
    for name, mutate in cases.items():
        broken = copy.deepcopy(good)
        mutate(broken)
        paths.append(_write(tmp_path, name, broken))
    code, out = _check(checker, *paths)
    assert code != 0
    for name, needle in expected.items():
        lines = [line for line in out.splitlines() if name in line and "error TS" in line]
        assert lines, f"{name}: tsc reported no error:\n{out}"
        assert any(needle in line for line in lines), f"{name}: {lines}"


def test_grafanalib_raw_output_fails_tsc(checker: NodeEnv, tmp_path: Path) -> None:
    """Why the normaliser exists: grafanalib's own JSON is the old model and fails Grafana's types."""
    spec = bundle_dashboards(build_plan(load_bundle(ROOT / "catalogs")))[0]
    path = _write(tmp_path, "raw-grafanalib.json", grafanalib_json(spec))
    code, out = _check(checker, path)
    assert code != 0
    assert out.count("error TS") >= 5, out

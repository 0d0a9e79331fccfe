"""The runner itself: image choice, which path a tool takes (image, Go-built binary, PATH, absent), exit codes through
the engine, batched runs, cleanup, the local mirror, and the collector builder's manifest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from container_fixtures import require_container_path

from obsgen.check.containers import SDK_MISSING
from obsgen.check.context import compose_mounts
from obsgen.check.otelcol_components import MODULES, UnknownComponent, components, key, manifest
from obsgen.check.runner import Runner, RunnerError, ToolUnavailable
from obsgen.check.tools import cached_binary, image_env_var, image_for, local_command, parse_version
from obsgen.stack_images import IMAGES

from conftest import ROOT, require_tool

BAD_RULES = "groups:\n- name: broken\n  rules:\n  - record: job:x:rate5m\n    expr: rate(x[5m]\n"
GOOD_RULES = sorted((ROOT / "rules").glob("*.yaml"))[0]


def _no_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/absent.sock")
    monkeypatch.delenv("OBSGEN_RUNNER", raising=False)


def test_image_defaults_to_the_compose_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBSGEN_IMAGE_PROMETHEUS", raising=False)
    monkeypatch.delenv("OBSGEN_IMAGE_OTEL_COLLECTOR", raising=False)
    assert image_for("promtool") == IMAGES["prometheus"].ref
    assert image_for("otelcol") == IMAGES["otel-collector"].ref
    with pytest.raises(KeyError, match="no image"):
        image_for("compose")


def test_image_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    assert image_env_var("otel-collector") == "OBSGEN_IMAGE_OTEL_COLLECTOR"
    monkeypatch.setenv("OBSGEN_IMAGE_ALERTMANAGER", "localhost/custom/am:1")
    assert image_for("amtool") == "localhost/custom/am:1"


def test_the_go_built_pinned_binary_comes_before_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fake PATH promtool and a fake cached promtool-<pin>: the cached one wins; without it, PATH's."""
    for d in ("path", "cache"):
        (tmp_path / d).mkdir()
    on_path = tmp_path / "path" / "promtool"
    cached = tmp_path / "cache" / f"promtool-{IMAGES['prometheus'].version}"
    for f in (on_path, cached):
        f.write_text("#!/bin/sh\necho promtool, version 0.0.0\n")
        f.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    monkeypatch.setenv("OBSGEN_BIN_CACHE", str(tmp_path / "cache"))
    assert local_command("promtool")[0] == [str(cached)]
    cached.unlink()
    command, looked = local_command("promtool")
    assert command == [str(on_path)] and looked == [str(cached)]
    on_path.unlink()
    command, looked = local_command("promtool")
    assert command == [] and looked == [str(cached), "promtool on PATH"]


def test_no_engine_falls_back_to_the_local_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    require_tool("promtool")
    _no_engine(monkeypatch, tmp_path)
    runner = Runner()
    assert not runner.uses_containers
    good = runner.run("promtool", ["check", "rules", "/r/ok.yaml"], {"/r/ok.yaml": GOOD_RULES})
    assert (good.path, good.returncode) == ("local", 0), good.output
    assert "does not answer" in good.reason
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(BAD_RULES)
    bad = runner.run("promtool", ["check", "rules", "/r/bad.yaml"], {"/r/bad.yaml": bad_file})
    assert bad.path == "local" and bad.returncode != 0
    # Messages name the container path, not the temporary mirror.
    assert "/r/bad.yaml" in bad.stderr and str(tmp_path) not in bad.stderr


def test_container_mode_without_an_engine_leaves_imaged_tools_absent(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    _no_engine(monkeypatch, tmp_path)
    runner = Runner(mode="container")
    how = runner.resolve("promtool")
    assert how.path == "absent" and "does not answer" in how.reason
    with pytest.raises(ToolUnavailable, match="promtool: no engine"):
        runner.run("promtool", ["--version"])


def test_an_absent_tool_says_where_it_was_looked_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _no_engine(monkeypatch, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("OBSGEN_BIN_CACHE", str(tmp_path))
    how = Runner().resolve("jaeger")
    assert how.path == "absent"
    assert f"{tmp_path}/jaeger-{IMAGES['jaeger'].version}" in how.reason and "jaeger on PATH" in how.reason


def test_without_the_docker_sdk_the_reason_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from obsgen.check import containers

    monkeypatch.setattr(containers, "docker", None)
    engine, why = containers.connect()
    assert engine is None and why == SDK_MISSING and "obsgen[check]" in why


def test_local_mirror_resolves_paths_inside_configs(tmp_path: Path) -> None:
    """prometheus.yml names /etc/prometheus/rules/*.yaml: the local mirror must make check config see them."""
    require_tool("promtool")
    m = compose_mounts(ROOT / "compose" / "compose.yaml", "prometheus")
    config = tmp_path / "prometheus.yml"
    # Keep rule_files only: the credential placeholders are tested with the prometheus-config check.
    doc = yaml.safe_load(m["/etc/prometheus/prometheus.yml"].read_text(encoding="utf-8"))
    config.write_text(yaml.safe_dump({"rule_files": doc["rule_files"]}))
    r = Runner(mode="local").run("promtool", ["check", "config", "/etc/prometheus/prometheus.yml"],
                                 {"/etc/prometheus/prometheus.yml": config, "/etc/prometheus/rules": m["/etc/prometheus/rules"]})
    assert r.returncode == 0, r.output
    rule_files = sorted(m["/etc/prometheus/rules"].glob("*.yaml"))
    assert f"SUCCESS: {len(rule_files)} rule files found" in r.output, r.output
    for f in rule_files:
        assert f"Checking /etc/prometheus/rules/{f.name}" in r.output, r.output


def test_unknown_tool_relative_paths_and_broken_binaries_are_errors(tmp_path: Path) -> None:
    runner = Runner(mode="local", binaries={"otelcol": [str(tmp_path / "no-such-binary")]})
    with pytest.raises(RunnerError, match="unknown tool"):
        runner.run("nope", [])
    with pytest.raises(RunnerError, match="absolute"):
        runner.run("otelcol", [], {"relative/x": tmp_path})
    with pytest.raises(RunnerError, match="does not exist"):
        runner.run("otelcol", [], {"/x": tmp_path / "missing"})
    with pytest.raises(RunnerError, match="cannot run"):
        runner.run("otelcol", ["--version"])


def test_versions_are_read_from_the_tools_own_output() -> None:
    assert parse_version("promtool, version 3.5.0 (branch: , revision: unknown)") == "3.5.0"
    assert parse_version("amtool, version 0.25.0 (branch: debian/sid)") == "0.25.0"
    assert parse_version("k6 v1.1.0 (commit/0e3fb953be, go1.24.4, linux/amd64)") == "1.1.0"
    assert parse_version("Docker Compose version v2.40.3") == "2.40.3"
    assert parse_version("no version here") == "?"


# -- the container path ------------------------------------------------------------------------------


def test_container_exit_codes_and_separate_streams(runner: Runner, validate, tmp_path: Path) -> None:
    """Podman's `run --rm` reports 0 for failures; through the runner a failure must stay non-zero."""
    require_container_path(runner)
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(BAD_RULES)
    bad = validate("promtool", ["check", "rules", "/r/bad.yaml"], {"/r/bad.yaml": bad_file})
    assert bad.path == "container" and bad.returncode == 1, bad
    assert "Checking /r/bad.yaml" in bad.stdout and "unclosed left parenthesis" in bad.stderr, bad
    ok = validate("promtool", ["--version"], None)
    assert ok.path == "container" and ok.returncode == 0 and "promtool" in ok.output, ok


def test_batched_runs_keep_each_exit_code_and_output(runner: Runner, tmp_path: Path) -> None:
    """Several runs in one container (through /bin/sh) come back exactly as separate runs would."""
    require_container_path(runner)
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(BAD_RULES)
    files = {"/r/bad.yaml": bad_file, "/r/ok.yaml": GOOD_RULES}
    runs = [["check", "rules", "/r/ok.yaml"], ["check", "rules", "/r/bad.yaml"], ["--version"], ["no-such-command"]]
    batch = runner.run_many("promtool", runs, files)
    single = [runner.run("promtool", args, files) for args in runs]
    assert [r.returncode for r in batch] == [r.returncode for r in single] and batch[0].returncode == 0
    assert [r.returncode != 0 for r in batch] == [False, True, False, True]
    for b, s in zip(batch, single, strict=True):
        assert (b.stdout.strip(), b.stderr.strip()) == (s.stdout.strip(), s.stderr.strip())


@pytest.mark.alone  # counts every container on the engine: no other test may create one meanwhile
def test_container_runs_leave_no_container_or_volume(runner: Runner, validate, tmp_path: Path) -> None:
    """The Prometheus image declares VOLUME: without remove(v=True) every run would leak one."""
    require_container_path(runner)
    assert runner.engine is not None
    client = runner.engine.client
    before_c = {c.id for c in client.containers.list(all=True)}
    before_v = {v.name for v in client.volumes.list()}
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(BAD_RULES)
    for _ in range(2):
        assert validate("promtool", ["check", "rules", "/r/bad.yaml"], {"/r/bad.yaml": bad_file}).returncode != 0
    runner.run_many("promtool", [["--version"], ["--version"]])
    assert {c.id for c in client.containers.list(all=True)} - before_c == set()
    assert {v.name for v in client.volumes.list()} - before_v == set()


def test_a_missing_image_falls_back_to_the_local_binary_and_says_why(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    require_container_path(runner)
    monkeypatch.setenv("OBSGEN_IMAGE_PROMETHEUS", "localhost/obsgen/does-not-exist:0")
    fresh = Runner(engine=runner.engine, reason=runner.reason)
    how = fresh.resolve("promtool")
    assert "localhost/obsgen/does-not-exist:0" in how.reason and "OBSGEN_IMAGE_PROMETHEUS" in how.reason
    assert how.path == ("local" if local_command("promtool")[0] else "absent")
    strict = Runner(mode="container", engine=runner.engine, reason=runner.reason)
    assert strict.resolve("promtool").path == "absent"


def test_the_images_carry_the_pinned_tool_versions(runner: Runner) -> None:
    """The locally built images copy the Go-built promtool and amtool over Debian's: the container path validates at
    the stack's versions (Debian's 2.42/0.25 run separately as the compatibility floor)."""
    require_container_path(runner)
    for tool, service in (("promtool", "prometheus"), ("amtool", "alertmanager")):
        assert runner.resolve(tool).path == "container"
        assert runner.version(tool) == IMAGES[service].version, (tool, runner.resolve(tool).runner)


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
    config = ROOT / "compose" / "otel-collector" / "config.yaml"
    assert cached_binary("jaeger").name == f"jaeger-{IMAGES['jaeger'].version}"
    assert cached_binary("promtool").name == f"promtool-{IMAGES['prometheus'].version}"
    assert cached_binary("amtool").name == f"amtool-{IMAGES['alertmanager'].version}"
    assert cached_binary("otelcol", config).name.startswith(f"otelcol-{IMAGES['otel-collector'].version}-")
    assert cached_binary("k6") is None and os.sep not in key(components({}))

"""`obsgen convert` on Sloth's own examples (from the Go module cache) and on planted mistakes.

Every plugin-free example and both OpenSLO examples convert cleanly into catalogs obsgen accepts, deterministically
(converting again rewrites nothing); the plugin examples fail with one located line per plugin, writing nothing;
anything else the converter cannot map is one located line too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sloth_support import plugin_free, with_plugins

from conftest import obsgen, sloth_module

KNOWN = ("getting-started", "home-wifi", "k8s-getting-started", "k8s-home-wifi", "k8s-multifile", "kubernetes-apiserver",
         "multifile", "no-alerts", "raw-home-wifi", "openslo-getting-started", "openslo-kubernetes-apiserver")
LOCATED = re.compile(r"^\S+:\d+: \S+: ")
PLUGIN_KEY = re.compile(r"^\s*(plugin|plugins|slo_plugins|sloPlugins):", re.M)


def _example(name: str) -> Path:
    return sloth_module() / "examples" / (name if name.endswith((".yml", ".yaml")) else f"{name}.yml")


def _yaml_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


@pytest.mark.parametrize("name", KNOWN)
def test_an_example_without_plugins_converts_cleanly_and_again_to_the_same_bytes(tmp_path: Path, name: str) -> None:
    out = tmp_path / "catalogs"
    first = obsgen("convert", str(_example(name)), "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert all(LOCATED.match(line) and ": note: " in line for line in first.stderr.splitlines()), first.stderr
    written = _yaml_files(out)
    assert written and re.search(rf"{len(written)} catalogs in .* \({len(written)} written, 0 unchanged", first.stdout)
    assert obsgen("validate", "--catalogs", str(out)).returncode == 0
    again = obsgen("convert", str(_example(name)), "--out", str(out))
    assert again.returncode == 0 and f"(0 written, {len(written)} unchanged" in again.stdout
    assert _yaml_files(out) == written
    elsewhere = tmp_path / "elsewhere"
    assert obsgen("convert", str(_example(name)), "--out", str(elsewhere)).returncode == 0
    assert _yaml_files(elsewhere) == written  # deterministic: nothing depends on where or when it ran


def test_the_examples_without_plugins_are_the_known_ones() -> None:
    found = {p.stem for p in plugin_free(sloth_module())}
    assert found == set(KNOWN)


def test_a_plugin_example_fails_with_one_located_line_per_plugin(tmp_path: Path) -> None:
    examples = with_plugins(sloth_module())
    assert len(examples) == 7
    for example in examples:
        out = tmp_path / example.stem
        result = obsgen("convert", str(example), "--out", str(out))
        assert result.returncode == 1, example.name
        errors = [line for line in result.stderr.splitlines() if ": note: " not in line]
        assert errors[-1].startswith("obsgen convert: ") and errors[-1].endswith("problems found; nothing was written") or \
            errors[-1].endswith("problem found; nothing was written"), errors[-1]
        plugin_lines = [line for line in errors[:-1] if re.search(r": Sloth (SLI plugin|SLO plugins) ", line)]
        assert len(plugin_lines) == len(PLUGIN_KEY.findall(example.read_text())), (example.name, errors)
        assert all(LOCATED.match(line) for line in errors[:-1]), errors
        assert _yaml_files(out) == {}


def test_the_crd_and_the_file_form_give_the_same_slos(tmp_path: Path) -> None:
    for name in ("getting-started", "k8s-getting-started"):
        assert obsgen("convert", str(_example(name)), "--out", str(tmp_path / name)).returncode == 0
    a, b = (yaml.safe_load((tmp_path / n / "myservice.yaml").read_text()) for n in ("getting-started", "k8s-getting-started"))
    assert a["slos"] == b["slos"]
    assert [{k: v for k, v in m.items() if k != "help"} for m in a["metrics"]] == \
        [{k: v for k, v in m.items() if k != "help"} for m in b["metrics"]]  # help names the source file


def test_sloths_queries_and_alerting_are_kept(tmp_path: Path) -> None:
    assert obsgen("convert", str(_example("getting-started")), "--out", str(tmp_path)).returncode == 0
    slo = yaml.safe_load((tmp_path / "myservice.yaml").read_text())["slos"][0]
    source = yaml.safe_load(_example("getting-started").read_text())["slos"][0]
    assert slo["error_query"] == source["sli"]["events"]["error_query"]
    assert slo["total_query"] == source["sli"]["events"]["total_query"]
    assert slo["alerting"]["name"] == "MyServiceHighErrorRate"
    assert slo["alerting"]["page"]["labels"] == {"routing": "myteam"}  # routing_key reads as a secret to obsgen: noted
    assert slo["labels"] == {"owner": "myteam", "repo": "myorg/myservice", "tier": "2"}


def test_openslo_objectives_are_one_slo_each(tmp_path: Path) -> None:
    assert obsgen("convert", str(_example("openslo-kubernetes-apiserver")), "--out", str(tmp_path)).returncode == 0
    catalog = yaml.safe_load((tmp_path / "k8s-apiserver.yaml").read_text())
    assert [s["name"] for s in catalog["slos"]] == ["requests-availability-openslo-0", "requests-latency-openslo-0",
                                                    "requests-latency-openslo-1"]
    assert [s["objective"] for s in catalog["slos"]] == [pytest.approx(99.9), pytest.approx(99), pytest.approx(99.9)]
    assert {m["name"]: m["type"] for m in catalog["metrics"]} == {"apiserver_request_duration_seconds": "histogram",
                                                                  "apiserver_request_total": "counter"}


def test_period_option(tmp_path: Path) -> None:
    assert obsgen("convert", str(_example("getting-started")), "--out", str(tmp_path), "--period", "28d").returncode == 0
    assert yaml.safe_load((tmp_path / "myservice.yaml").read_text())["slos"][0]["window"] == "28d"
    bad = obsgen("convert", str(_example("getting-started")), "--out", str(tmp_path), "--period", "1h")
    assert bad.returncode == 2 and "--period" in bad.stderr


def _write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path


SPEC = """version: prometheus/v1
service: shop
labels: {owner: web}
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(shop_requests_total{code="500"}[{{.window}}]))
        total_query: sum(rate(shop_requests_total[{{.window}}]))
    alerting: {name: ShopErrors}
"""


@pytest.mark.parametrize(("text", "args", "message"), [
    (SPEC, ("--from", "openslo"), "spec.yaml:1: this is a sloth document, not openslo (--from)"),
    ("kind: Something\n", (), "spec.yaml:1: not a Sloth (version: prometheus/v1)"),
    ("apiVersion: openslo/v1\nkind: SLO\n", (), "(apiVersion openslo/v1 is not supported)"),
    (SPEC.replace("    objective: 99.9", "    objective: 99.9\n    window: 7d"), (), "spec.yaml:7: slos[0].window: unknown field 'window'"),
    (SPEC.replace("sli:\n", "sli:\n      raw: {error_ratio_query: x}\n"), (), "spec.yaml:7: slos[0].sli: sli needs exactly one of events or raw"),
    (SPEC.replace("    alerting: {name: ShopErrors}", "    alerting: {}"), (), "slos[0].alerting.name: alerting.name is required"),
    (SPEC.replace("service: shop", "service: shop\n  bad: [indent"), (), "spec.yaml:3: invalid YAML"),
    (SPEC.replace("[{{.window}}]))\n        total", "[5m]))\n        total"), (),
     "slos[0].error_query: must use {{.window}} where the range goes"),
])
def test_what_cannot_be_converted_is_one_located_line(tmp_path: Path, text: str, args: tuple[str, ...], message: str) -> None:
    out = tmp_path / "out"
    result = obsgen("convert", str(_write(tmp_path, "spec.yaml", text)), "--out", str(out), *args)
    assert result.returncode == 1, result.stdout
    assert any(message in line for line in result.stderr.splitlines()), result.stderr
    assert _yaml_files(out) == {}


def test_a_hand_written_catalog_is_not_replaced_without_force(tmp_path: Path) -> None:
    out = tmp_path / "catalogs"
    out.mkdir()
    (out / "shop.yaml").write_text("# my own catalog\n")
    spec = _write(tmp_path, "spec.yaml", SPEC)
    refused = obsgen("convert", str(spec), "--out", str(out))
    assert refused.returncode == 1 and "shop.yaml:1: exists and was not written by obsgen convert" in refused.stderr
    assert (out / "shop.yaml").read_text() == "# my own catalog\n"
    forced = obsgen("convert", str(spec), "--out", str(out), "--force")
    assert forced.returncode == 0 and (out / "shop.yaml").read_text().startswith("# Converted by `obsgen convert`")


def test_two_documents_declaring_one_slo_are_refused(tmp_path: Path) -> None:
    result = obsgen("convert", str(_example("getting-started")), str(_example("k8s-getting-started")), "--out", str(tmp_path))
    assert result.returncode == 1
    assert "k8s-getting-started.yml:18: spec.slos[0].name: SLO 'requests-availability' of service 'myservice' is already " \
           "declared by another document" in result.stderr


def test_a_folder_converts_every_spec_in_it(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    _write(folder, "shop.yml", SPEC)
    _write(folder, "cart.yaml", SPEC.replace("service: shop", "service: cart").replace("shop_requests", "cart_requests"))
    result = obsgen("convert", str(folder), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert sorted(_yaml_files(tmp_path / "out")) == ["cart.yaml", "shop.yaml"]


def test_a_link_where_a_catalog_goes_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "catalogs"
    out.mkdir()
    (tmp_path / "elsewhere.yaml").write_text("# Converted by `obsgen convert` from a.yml\n")
    (out / "shop.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    result = obsgen("convert", str(_write(tmp_path, "spec.yaml", SPEC)), "--out", str(out))
    assert result.returncode == 1 and "shop.yaml: is not a plain file" in result.stderr
    assert (tmp_path / "elsewhere.yaml").read_text().startswith("# Converted")  # the link's target is untouched

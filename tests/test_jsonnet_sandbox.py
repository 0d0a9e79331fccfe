"""The Jsonnet sandbox: imports stay inside the catalogs folder and its vendor/ folder, evaluation is bounded.

Each refusal here also has a case in tests/bad_catalogs/ (149-153) with its exact message; these tests add
what the corpus cannot: layouts with several files, symlinks, and small limits.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest

from obsgen.catalog import jsonnet, load
from obsgen.catalog.build import load_bundle
from obsgen.catalog.jsonnet import Sandbox
from obsgen.errors import CatalogError

CATALOG = """{imports}
{{
  service: {{ name: 'shop', team: 'web', description: {description} }},
  metrics: [{{ name: 'shop_requests_total', type: 'counter', help: 'Requests.' }}],
}}
"""


def _catalogs(tmp_path: Path, description: str, imports: str = "") -> Path:
    folder = tmp_path / "catalogs"
    folder.mkdir(exist_ok=True)
    (folder / "shop.jsonnet").write_text(CATALOG.format(imports=imports, description=description), encoding="utf-8")
    return folder


def _problems(folder: Path, sandbox: Sandbox | None = None) -> list[str]:
    try:
        if sandbox is None:
            load_bundle(folder)
        else:
            load.load_file(folder / "shop.jsonnet", {"env": "prod"}, "shop.jsonnet", sandbox)
    except CatalogError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_imports_beside_the_catalog_and_from_vendor_resolve(tmp_path: Path) -> None:
    """jsonnet-bundler's layout (catalogs/vendor/github.com/...) and a helper beside the catalog both work."""
    folder = _catalogs(tmp_path, "lib.text + ' ' + common.word",
                       "local lib = import 'github.com/acme/obs/main.libsonnet'; local common = import 'parts/../common.libsonnet';")
    vendored = folder / "vendor" / "github.com" / "acme" / "obs"
    vendored.mkdir(parents=True)
    (vendored / "main.libsonnet").write_text("{ text: importstr 'words.txt' }")  # nested, relative to itself
    (vendored / "words.txt").write_text("from vendor")
    (folder / "parts").mkdir()
    (folder / "common.libsonnet").write_text("{ word: 'and beside' }")
    bundle = load_bundle(folder)
    assert bundle.services[0].description == "from vendor and beside"


@pytest.mark.parametrize("statement", ["importstr", "importbin", "import"])
def test_absolute_imports_are_refused_with_the_path_named(tmp_path: Path, statement: str) -> None:
    target = tmp_path / "secret.libsonnet"
    target.write_text("'the secret'")
    folder = _catalogs(tmp_path, f"std.toString({statement} '{target}')")
    problems = _problems(folder)
    assert len(problems) == 1, problems
    assert f'couldn\'t open import "{target}": absolute imports are refused' in problems[0]
    assert "the secret" not in problems[0]


def test_parent_directory_imports_are_refused_with_the_resolved_path(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("the secret")
    folder = _catalogs(tmp_path, "importstr '../secret.txt'")
    problems = _problems(folder)
    assert problems == [f"{folder}/shop.jsonnet:3: jsonnet: RUNTIME ERROR: couldn't open import \"../secret.txt\": "
                        f"it resolves to {tmp_path / 'secret.txt'}, outside the catalogs folder {folder}"]


def test_a_symlink_out_of_the_catalogs_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("the secret")
    folder = _catalogs(tmp_path, "importstr 'innocent.txt'")
    os.symlink(tmp_path / "secret.txt", folder / "innocent.txt")
    problems = _problems(folder)
    assert len(problems) == 1 and f"it resolves to {tmp_path / 'secret.txt'}, outside the catalogs folder" in problems[0]


def test_a_vendored_library_cannot_climb_out_either(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("the secret")
    folder = _catalogs(tmp_path, "lib.text", "local lib = import 'evil/main.libsonnet';")
    (folder / "vendor" / "evil").mkdir(parents=True)
    (folder / "vendor" / "evil" / "main.libsonnet").write_text("{ text: importstr '../../../secret.txt' }")
    problems = _problems(folder)
    assert len(problems) == 1 and "outside the catalogs folder" in problems[0] and "the secret" not in problems[0]


def test_evaluation_is_stopped_at_the_cpu_time_limit(tmp_path: Path) -> None:
    folder = _catalogs(tmp_path, "std.toString(f(1))", "local f(x) = if x > 1e12 then x else f(x + 1) tailstrict;")
    problems = _problems(folder, Sandbox.for_catalogs(folder, seconds=1))
    assert problems == ["shop.jsonnet: jsonnet: evaluation used more than 1 s of CPU time and was stopped; "
                        "is a loop or a list unbounded?"]


def test_a_million_element_array_is_stopped_at_the_memory_limit(tmp_path: Path) -> None:
    """The array that once reached 20 GB: the child's address space is capped, so its peak memory is too."""
    folder = _catalogs(tmp_path, "std.toString(std.length([{ n: i } for i in std.range(1, 1000000)]))")
    problems = _problems(folder)
    assert problems == [f"{folder}/shop.jsonnet: jsonnet: evaluation needed more than {jsonnet.MEMORY_LIMIT // 2**20} MiB "
                        "of memory and was stopped; is a list or an object unbounded?"]
    used = jsonnet._address_space()
    assert used is not None
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # kilobytes on Linux
    assert peak < used + jsonnet.MEMORY_LIMIT + 256 * 2**20


def test_output_size_and_value_limits_apply_to_jsonnet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _catalogs(tmp_path, "std.join(' ', ['word' for i in std.range(1, 50)])")
    monkeypatch.setattr(jsonnet, "MAX_OUTPUT", 100)
    assert _problems(folder) == [f"{folder}/shop.jsonnet: jsonnet: the catalog evaluates to more than 100 bytes of JSON"]
    monkeypatch.undo()
    monkeypatch.setattr(load, "MAX_VALUES", 5)
    assert _problems(folder) == [f"{folder}/shop.jsonnet: more than 5 values"]


def test_huge_numbers_from_jsonnet_are_refused(tmp_path: Path) -> None:
    folder = _catalogs(tmp_path, "'x'")
    text = (folder / "shop.jsonnet").read_text().replace("help: 'Requests.'", "help: 'Requests.', buckets: [1e300]")
    (folder / "shop.jsonnet").write_text(text)
    # Jsonnet writes 1e300 out in full, so it arrives as a 301-digit integer.
    assert _problems(folder) == [f"{folder}/shop.jsonnet: metrics[0].buckets[0]: integer 100000000000000005250476... "
                                 "is out of range (18 digits at most)"]

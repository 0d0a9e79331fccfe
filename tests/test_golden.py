"""Golden files: each emitter's output for the fixture catalog, compared byte for byte.

Update them on purpose with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py`,
then review the diff like any other change.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from obsgen.catalog import load_bundle
from obsgen.emit import EMITTERS
from obsgen.plan import build_plan
from obsgen.settings import TARGETS, Settings, TargetSettings

from conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
FIXTURES = Path("tests") / "fixtures" / "catalogs"  # relative, so headers read the same in any clone
# The rule targets' goldens show their settings at work: ruleSelector labels, a namespace, Thanos' strategy.
TARGETED = Settings(targets=TargetSettings("observability", (("release", "kube-prometheus"),), (("shop", "warn"),)))


@pytest.mark.parametrize("name", sorted(EMITTERS))
def test_emitter_matches_golden_files(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    settings = TARGETED if name in TARGETS else Settings()
    files = EMITTERS[name].emitter()(build_plan(load_bundle(FIXTURES)), settings)
    assert files, f"emitter {name} produced nothing for the fixture"
    folder = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(folder, ignore_errors=True)
        for rel, text in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text, encoding="utf-8")
    assert folder.is_dir(), f"no golden files for {name}: run UPDATE_GOLDEN=1 pytest tests/test_golden.py"
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert on_disk == set(files), f"{name}: golden file set differs: {sorted(on_disk ^ set(files))}"
    for rel, text in sorted(files.items()):
        assert (folder / rel).read_text(encoding="utf-8") == text, f"{name}: {rel} differs from its golden file"

"""The bad-catalog corpus: every broken catalog gives exact one-line problems with file:line, exit 1, no traceback.

Each file in tests/bad_catalogs/ (except _valid_base.yaml, the minimal good catalog the cases start from) is
copied alone into a temporary `catalogs/` directory and checked with the real `obsgen validate` command.
tests/bad_catalogs/expected.yaml holds every stderr line each case must print. After changing a message on
purpose, regenerate it with `OBSGEN_UPDATE_BAD_CATALOGS=1 pytest tests/test_bad_catalogs.py` and review the diff.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "bad_catalogs"
EXPECTED = CORPUS / "expected.yaml"
VALID_BASE = CORPUS / "_valid_base.yaml"
OBSGEN = Path(sys.executable).with_name("obsgen")
UPDATE = bool(os.environ.get("OBSGEN_UPDATE_BAD_CATALOGS"))
TIMEOUT = 60
SUMMARY = re.compile(r"^obsgen: \d+ problems? found; nothing was written$")


def _cases() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".yaml", ".yml", ".jsonnet")
                  and not p.name.startswith("_") and p.name != EXPECTED.name)


CASES = _cases()


@dataclass(frozen=True)
class Run:
    """What one obsgen invocation did."""

    code: int
    stdout: str
    stderr: str


def _obsgen(args: list[str], cwd: Path) -> Run:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("OBSGEN_DEBUG", None)  # the debug switch prints tracebacks on purpose
    proc = subprocess.run(
        [str(OBSGEN), *args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _validate_alone(name: str, base: Path) -> Run:
    work = base / name
    (work / "catalogs").mkdir(parents=True)
    shutil.copyfile(CORPUS / name, work / "catalogs" / name)
    return _obsgen(["validate", "--catalogs", "catalogs"], work)


class _Lazy(dict):
    """Runs a case the first time it is looked up."""

    def __init__(self, base: Path) -> None:
        super().__init__()
        self.base = base

    def __missing__(self, name: str) -> Run:
        self[name] = _validate_alone(name, self.base)
        return self[name]


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every case run once, a few at a time: each is a separate process start.

    Under pytest-xdist the cases are spread over workers, and each worker would run this fixture whole:
    there, each case runs when its test asks for it.
    """
    base = tmp_path_factory.mktemp("bad")
    if os.environ.get("PYTEST_XDIST_WORKER") and not UPDATE:
        return _Lazy(base)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(CASES, pool.map(lambda n: _validate_alone(n, base), CASES), strict=True))
    if UPDATE:
        expected = {name: run.stderr.splitlines() for name, run in results.items()}
        header = "# Exact stderr of `obsgen validate --catalogs catalogs` for each bad catalog, run alone.\n"
        header += "# Regenerate with OBSGEN_UPDATE_BAD_CATALOGS=1 pytest tests/test_bad_catalogs.py, then review.\n"
        EXPECTED.write_text(header + yaml.safe_dump(expected, width=1000, allow_unicode=True, sort_keys=True), encoding="utf-8")
    return results


@pytest.fixture(scope="session")
def expected() -> dict[str, list[str]]:
    return yaml.safe_load(EXPECTED.read_text(encoding="utf-8"))


def test_corpus_is_large_and_fully_described(expected: dict[str, list[str]]) -> None:
    assert len(CASES) >= 45, f"only {len(CASES)} bad catalogs"
    assert sorted(expected) == CASES, "expected.yaml and the files in tests/bad_catalogs/ differ"
    assert any(n.endswith(".jsonnet") for n in CASES)
    not_utf8 = [n for n in CASES if not _is_utf8(CORPUS / n)]
    assert not_utf8, "the corpus needs at least one file that is not UTF-8"


def _is_utf8(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_valid_base_is_valid(tmp_path: Path) -> None:
    """The cases are the base with one thing broken; the base itself must pass, or the cases prove nothing."""
    (tmp_path / "catalogs").mkdir()
    shutil.copyfile(VALID_BASE, tmp_path / "catalogs" / "shop.yaml")
    run = _obsgen(["validate", "--catalogs", "catalogs"], tmp_path)
    assert run.code == 0, run.stderr
    assert run.stdout == "obsgen: 1 catalogs are valid\n"
    assert run.stderr == ""


@pytest.mark.parametrize("name", CASES)
def test_bad_catalog(name: str, runs: dict[str, Run], expected: dict[str, list[str]]) -> None:
    run = runs[name]
    assert "Traceback" not in run.stderr + run.stdout
    assert "internal error" not in run.stderr, run.stderr
    assert run.code == 1, f"exit {run.code}\n{run.stderr}"
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) >= 2 and SUMMARY.match(lines[-1]), run.stderr
    # file:line for YAML (every YAML problem has a line); Jsonnet keeps no field lines, so the line is optional there.
    line_part = r":\d+" if name.endswith((".yaml", ".yml")) else r"(:\d+)?"
    shape = re.compile(rf"^catalogs/{re.escape(name)}{line_part}: \S")
    for line in lines[:-1]:
        assert shape.match(line), f"not a file:line problem line: {line!r}"
    assert lines[-1] == f"obsgen: {len(lines) - 1} problem{'s' if len(lines) != 2 else ''} found; nothing was written"
    assert lines == expected[name]


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_bad_catalog_writes_nothing(tmp_path: Path) -> None:
    """A good run writes the tree; adding one bad catalog then fails and leaves every byte as it was."""
    catalogs, out = tmp_path / "catalogs", tmp_path / "out"
    catalogs.mkdir()
    shutil.copyfile(ROOT / "catalogs" / "divan-api.yaml", catalogs / "divan-api.yaml")
    first = _obsgen(["generate", "--catalogs", str(catalogs), "--out", str(out)], tmp_path)
    assert first.code == 0, first.stderr
    before = _tree_digest(out)
    assert len(before) > 3, "the good catalog produced almost nothing; this test would prove nothing"

    bad = "15-unknown-key-alert.yaml"
    shutil.copyfile(CORPUS / bad, catalogs / bad)
    second = _obsgen(["generate", "--catalogs", "catalogs", "--out", str(out)], tmp_path)
    assert second.code == 1
    assert "Traceback" not in second.stderr + second.stdout
    assert second.stdout == ""
    assert second.stderr.splitlines() == yaml.safe_load(EXPECTED.read_text(encoding="utf-8"))[bad]
    assert _tree_digest(out) == before
    assert sorted(p.name for p in out.iterdir()) == sorted({Path(k).parts[0] for k in before})


def test_bad_catalog_creates_no_output_directory(tmp_path: Path) -> None:
    (tmp_path / "catalogs").mkdir()
    shutil.copyfile(CORPUS / "75-objective-100.yaml", tmp_path / "catalogs" / "75-objective-100.yaml")
    run = _obsgen(["generate", "--catalogs", "catalogs", "--out", "out"], tmp_path)
    assert run.code == 1
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


def test_missing_catalog_directory_is_one_line(tmp_path: Path) -> None:
    run = _obsgen(["validate", "--catalogs", "nowhere"], tmp_path)
    assert run.code == 1
    assert run.stderr.splitlines() == [
        "nowhere: catalog directory does not exist",
        "obsgen: 1 problem found; nothing was written",
    ]


def test_merge_key_override_is_not_a_duplicate(tmp_path: Path) -> None:
    """A key written beside `<<: *anchor` overrides the merged one (YAML merge semantics); only a key written twice is an error."""
    base = VALID_BASE.read_text(encoding="utf-8")
    alert = base[base.index("  - name: ShopQueueHigh\n"):]
    derived = alert.replace("  - name: ShopQueueHigh\n", "  - <<: *queue\n    name: ShopQueueVeryHigh\n")
    derived = derived.replace("    threshold: 100\n", "    threshold: 500\n")
    text = base.replace("  - name: ShopQueueHigh\n", "  - &queue\n    name: ShopQueueHigh\n") + derived
    (tmp_path / "catalogs").mkdir()
    (tmp_path / "catalogs" / "shop.yaml").write_text(text, encoding="utf-8")
    run = _obsgen(["list", "--catalogs", "catalogs"], tmp_path)
    assert run.code == 0, run.stderr
    assert "ShopQueueVeryHigh" in run.stdout

    (tmp_path / "catalogs" / "shop.yaml").write_text(text.replace("    threshold: 500\n", "    threshold: 500\n    threshold: 600\n"))
    run = _obsgen(["validate", "--catalogs", "catalogs"], tmp_path)
    assert run.code == 1
    assert re.search(r"^catalogs/shop\.yaml:\d+: alerts\[1\]\.threshold: duplicate key$", run.stderr, re.M), run.stderr

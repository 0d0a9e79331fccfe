"""No run of `obsgen generate` writes or deletes outside --out, or through a symbolic link, whatever the tree says.

Each hostile case ends with one clear line and exit 1, leaves --out exactly as it was, and leaves a victim file
outside --out untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from writer_support import catalogs, generate, one_error_line, scenario, snapshot

from conftest import missing_tool, require_tool

VICTIM = "precious data\n"


def _outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.txt").write_text(VICTIM)
    (folder / "r").write_text(VICTIM)
    return folder


def _set_manifest_files(out: Path, files: object) -> None:
    manifest = json.loads((out / ".obsgen-files.json").read_text())
    manifest["files"] = files
    (out / ".obsgen-files.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _hostile_manifest(case: str, out: Path, outside: Path) -> str:
    """Damage the manifest as `case` says; returns the words the error line must carry."""
    listed = json.loads((out / ".obsgen-files.json").read_text())["files"]
    if case == "dotdot":
        _set_manifest_files(out, [*listed, "../outside/victim.txt"])
        return f"files[{len(listed)}]: '../outside/victim.txt' leaves the output folder through '..'"
    if case == "absolute":
        _set_manifest_files(out, [*listed, str(outside / "victim.txt")])
        return "is an absolute path, outside the output folder"
    if case == "string":
        (out / "r").write_text(VICTIM)  # the old writer deleted a file named after a character of the string
        _set_manifest_files(out, "rules/web.yaml")
        return "files: must be a list of paths, found a string"
    if case == "number":
        _set_manifest_files(out, [*listed, 7])
        return "must be a path string, found int 7"
    if case == "not-json":
        (out / ".obsgen-files.json").write_text('{"generated_by": "obsgen", "files": [\n  "rules/web.yaml",\n')
        return "is not valid JSON"
    if case == "through-symlink":
        (out / "escape").symlink_to(outside)
        _set_manifest_files(out, [*listed, "escape/victim.txt"])
        return f"{out / 'escape'} is a symbolic link; obsgen never reads, writes or deletes through one"
    if case == "manifest-symlink":
        (outside / "manifest.json").write_text(json.dumps({"generated_by": "obsgen", "files": ["victim.txt"]}))
        (out / ".obsgen-files.json").unlink()
        (out / ".obsgen-files.json").symlink_to(outside / "manifest.json")
        return "is a symbolic link, not obsgen's manifest"
    if case == "control-file":
        _set_manifest_files(out, [*listed, ".obsgen.lock"])
        return "names a file obsgen keeps for itself"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["dotdot", "absolute", "string", "number", "not-json", "through-symlink", "manifest-symlink", "control-file"])
def test_a_hostile_manifest_is_one_error_and_touches_nothing(tmp_path: Path, case: str) -> None:
    _, new, out = scenario(tmp_path)
    outside = _outside(tmp_path)
    expected = _hostile_manifest(case, out, outside)
    before, outside_before = snapshot(out), snapshot(outside)
    for args in (("--check",), (), ("--only", "rules")):
        line = one_error_line(generate(new, out, *args))
        assert line.startswith(str(out / ".obsgen-files.json")), line
        assert expected in line and "nothing was written or deleted" in line, line
        assert snapshot(out) == before and snapshot(outside) == outside_before


def test_a_symlinked_subfolder_is_neither_written_nor_emptied(tmp_path: Path) -> None:
    _, new, out = scenario(tmp_path)
    outside = _outside(tmp_path)
    shutil.move(out / "rules", outside / "rules")
    (out / "rules").symlink_to(outside / "rules")
    before, outside_before = snapshot(out), snapshot(outside)
    line = one_error_line(generate(new, out))
    assert line == f"{out / 'rules'}: is a symbolic link; obsgen never writes or deletes through one"
    assert snapshot(out) == before and snapshot(outside) == outside_before


def test_a_symlinked_subfolder_pointing_inside_is_refused_too(tmp_path: Path) -> None:
    _, new, out = scenario(tmp_path)
    shutil.move(out / "runbooks", out / "elsewhere")
    (out / "runbooks").symlink_to("elsewhere")
    before = snapshot(out)
    assert "runbooks: is a symbolic link" in one_error_line(generate(new, out))
    assert snapshot(out) == before


def test_a_generated_file_that_is_a_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    _, new, out = scenario(tmp_path)
    outside = _outside(tmp_path)
    (out / "rules" / "api.yaml").unlink()
    (out / "rules" / "api.yaml").symlink_to(outside / "victim.txt")
    (out / "rules" / "web.yaml").unlink()  # stale in the new run: a link there is the user's, not deleted through
    (out / "rules" / "web.yaml").symlink_to(outside / "r")
    result = generate(new, out)
    assert result.returncode == 0, result.stderr
    assert (outside / "victim.txt").read_text() == VICTIM and (outside / "r").read_text() == VICTIM
    assert not (out / "rules" / "api.yaml").is_symlink()
    assert (out / "rules" / "api.yaml").read_text().startswith("# Generated by obsgen")
    assert (out / "rules" / "web.yaml").is_symlink()


def test_a_partial_run_copies_nothing_from_outside_through_a_link(tmp_path: Path) -> None:
    """--only carries the other outputs' files over as they are: read without following a link."""
    _, new, out = scenario(tmp_path)
    outside = _outside(tmp_path)
    (out / "dashboards" / "api" / "overview.json").unlink()
    (out / "dashboards" / "api" / "overview.json").symlink_to(outside / "victim.txt")
    result = generate(new, out, "--only", "rules")
    assert result.returncode == 0, result.stderr
    copied = [p for p in out.rglob("*") if p.is_file() and not p.is_symlink() and p.read_text() == VICTIM]
    assert copied == [] and (out / "dashboards" / "api" / "overview.json").is_symlink()
    assert (outside / "victim.txt").read_text() == VICTIM


def test_a_file_where_a_generated_folder_should_be(tmp_path: Path) -> None:
    _, new, out = scenario(tmp_path)
    shutil.rmtree(out / "rules")
    (out / "rules").write_text("not a folder\n")
    before = snapshot(out)
    line = one_error_line(generate(new, out))
    assert line == f"{out / 'rules'}: is a file where obsgen needs a folder; move it away"
    assert snapshot(out) == before, "no other folder may be updated before the run fails"


def test_a_generated_file_where_a_folder_stands(tmp_path: Path) -> None:
    _, new, out = scenario(tmp_path)
    (out / "rules" / "api.yaml").unlink()
    (out / "rules" / "api.yaml").mkdir()
    before = snapshot(out)
    assert "rules/api.yaml: is a folder where obsgen writes a file" in one_error_line(generate(new, out))
    assert snapshot(out) == before


@pytest.fixture
def read_only(tmp_path: Path):
    """Make a folder unwritable: chmod for a user, the immutable flag for root (who ignores permissions)."""
    made: list[Path] = []

    def make(folder: Path) -> None:
        if os.geteuid() != 0:
            folder.chmod(0o555)
        else:
            flagged = subprocess.run([require_tool("chattr"), "+i", str(folder)], capture_output=True, text=True)
            if flagged.returncode != 0:
                missing_tool(f"chattr +i failed ({flagged.stderr.strip()}): as root, no folder here can be made read-only")
        made.append(folder)

    yield make
    for folder in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def test_a_read_only_subfolder_stops_the_run_before_anything_changes(tmp_path: Path, read_only) -> None:
    _, new, out = scenario(tmp_path)
    read_only(out / "rules")
    before = snapshot(out)
    line = one_error_line(generate(new, out))
    assert line.startswith(f"{out / 'rules'}: is not writable") and line.endswith("nothing was written"), line
    assert snapshot(out) == before, "compose/ and dashboards/ must not be new while rules/ is old"
    assert generate(new, out, "--check").returncode == 1


def test_a_hostile_journal_is_refused(tmp_path: Path) -> None:
    _, new, out = scenario(tmp_path)
    outside = _outside(tmp_path)
    sha = hashlib.sha256(VICTIM.encode()).hexdigest()
    (out / ".obsgen-journal.json").write_text(json.dumps({"obsgen_journal": 1, "ops": [["delete", "../outside/victim.txt", sha]]}))
    before, outside_before = snapshot(out), snapshot(outside)
    line = one_error_line(generate(new, out))
    assert line.startswith(f"{out / '.obsgen-journal.json'}: damaged journal") and "'..'" in line, line
    assert snapshot(out) == before and snapshot(outside) == outside_before


def test_a_staging_symlink_is_removed_without_following_it(tmp_path: Path) -> None:
    _, new, out = scenario(tmp_path)
    outside = _outside(tmp_path)
    (out / ".obsgen-staging").symlink_to(outside)
    outside_before = snapshot(outside)
    assert "interrupted: " in generate(new, out, "--check").stdout
    result = generate(new, out)
    assert result.returncode == 0 and "discarded an interrupted run's staged files" in result.stdout, result.stdout
    assert snapshot(outside) == outside_before
    assert not (out / ".obsgen-staging").exists() and not (out / ".obsgen-staging").is_symlink()


def test_an_old_writers_leftover_staging_is_cleaned(tmp_path: Path) -> None:
    cats = catalogs(tmp_path / "cats", {"api": 100})
    out = tmp_path / "out"
    assert generate(cats, out).returncode == 0
    leftover = out / ".obsgen-staging-x1y2" / "rules"
    leftover.mkdir(parents=True)
    (leftover / "api.yaml").write_text("half written")
    check = generate(cats, out, "--check")
    assert check.returncode == 1 and f"interrupted: {out / '.obsgen-staging-x1y2'}: a run was interrupted" in check.stdout
    assert generate(cats, out).returncode == 0
    assert not (out / ".obsgen-staging-x1y2").exists()
    assert generate(cats, out, "--check").returncode == 0


def test_a_name_too_long_for_the_filesystem_is_a_clear_error(tmp_path: Path) -> None:
    cats = catalogs(tmp_path / "cats", {"api": 100})
    (cats / "api.yaml").write_text((cats / "api.yaml").read_text().replace("name: api,", f"name: {'a' * 300},"))
    result = generate(cats, tmp_path / "out")
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    assert "long" in result.stderr.splitlines()[0], result.stderr

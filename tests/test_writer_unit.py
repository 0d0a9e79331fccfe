"""The writer in-process: what it skips, what it creates once, what it refuses, and what --check reports."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from obsgen.writer import Drift, WriterError, diff, kill_at_step, recover, write

FILES = {
    "rules/a.yaml": "a\n",
    "rules/tests/a.test.yaml": "t\n",
    "runbooks/a/One.md": "1\n",
    "runbooks/a/Two.md": "2\n",
    "runbooks/b/One.md": "1\n",
    "dashboards/a/overview.json": "{}\n",
}


def _steps(files: dict[str, str], out: Path) -> list[str]:
    labels: list[str] = []
    write(files, out, fault=lambda index, label: labels.append(label))
    return labels


def test_an_unchanged_tree_is_only_read(tmp_path: Path) -> None:
    write(FILES, tmp_path)
    assert _steps(FILES, tmp_path) == []
    assert diff(FILES, tmp_path).clean
    assert not (tmp_path / ".obsgen-staging").exists() and not (tmp_path / ".obsgen-journal.json").exists()


def test_only_changed_files_are_staged(tmp_path: Path) -> None:
    write(FILES, tmp_path)
    steps = _steps({**FILES, "runbooks/a/Two.md": "two\n"}, tmp_path)
    assert [s for s in steps if s.startswith(("stage", "move"))] == ["stage runbooks/a/Two.md", "move runbooks/a/Two.md"]
    assert (tmp_path / "runbooks/a/Two.md").read_text() == "two\n"


def test_each_folder_is_created_once(tmp_path: Path) -> None:
    mkdirs = [s.removeprefix("mkdir ") for s in _steps(FILES, tmp_path) if s.startswith("mkdir ") and s != "mkdir staging"]
    assert mkdirs == sorted(set(mkdirs))
    assert set(mkdirs) == {"dashboards", "dashboards/a", "rules", "rules/tests", "runbooks", "runbooks/a", "runbooks/b"}


def test_stale_files_go_with_their_empty_folders_and_user_files_stay(tmp_path: Path) -> None:
    write(FILES, tmp_path)
    (tmp_path / "rules" / "mine.yaml").write_text("user\n")
    drift = write({"rules/a.yaml": "a\n"}, tmp_path)
    assert drift.stale == ("dashboards/a/overview.json", "rules/tests/a.test.yaml", "runbooks/a/One.md", "runbooks/a/Two.md", "runbooks/b/One.md")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".obsgen-files.json", ".obsgen.lock", "rules"]
    assert sorted(p.name for p in (tmp_path / "rules").iterdir()) == ["a.yaml", "mine.yaml"]


def test_a_failure_after_the_commit_is_finished_later_and_spares_a_file_edited_meanwhile(tmp_path: Path) -> None:
    write(FILES, tmp_path)

    def fail_at_first_delete(index: int, label: str) -> None:
        if label.startswith("delete "):
            raise OSError(5, "Input/output error")

    with pytest.raises(WriterError, match=r"dashboards/a/overview.json: Input/output error; the new tree is recorded in "
                       r".*\.obsgen-journal\.json and the next `obsgen generate` finishes it"):
        write({"rules/a.yaml": "a\n"}, tmp_path, fault=fail_at_first_delete)
    (tmp_path / "runbooks/b/One.md").write_text("edited by hand since\n")
    assert diff({"rules/a.yaml": "a\n"}, tmp_path).interrupted
    assert recover(tmp_path) == "finished an interrupted run"
    assert (tmp_path / "runbooks/b/One.md").read_text() == "edited by hand since\n"
    assert not (tmp_path / "runbooks/a").exists() and not (tmp_path / "dashboards").exists()
    assert diff({"rules/a.yaml": "a\n"}, tmp_path).clean


@pytest.mark.parametrize(("rel", "message"), [
    ("../x.yaml", "leaves the output folder through '..'"),
    ("/etc/x.yaml", "is an absolute path"),
    ("rules//x.yaml", "not a plain relative path"),
    (".obsgen-files.json", "names a file obsgen keeps for itself"),
    (".git/config", "a .git folder"),
    ("rules/" + "x" * 256 + ".yaml", "a name of 261 bytes is longer than the filesystem allows (255)"),
])
def test_a_generated_path_the_writer_may_not_use(tmp_path: Path, rel: str, message: str) -> None:
    with pytest.raises(WriterError, match="generated file .*" + message.replace("(", r"\(").replace(")", r"\)")):
        write({rel: "x\n"}, tmp_path / "out")
    assert not (tmp_path / "x.yaml").exists()


def test_a_file_and_a_folder_of_the_same_name(tmp_path: Path) -> None:
    with pytest.raises(WriterError, match="'rules' is also a folder of other generated files"):
        write({"rules": "x\n", "rules/a.yaml": "a\n"}, tmp_path)


def test_out_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    with pytest.raises(WriterError, match="out: is not a folder"):
        write(FILES, tmp_path / "out")


def test_check_on_a_missing_folder_lists_everything_and_creates_nothing(tmp_path: Path) -> None:
    drift = diff(FILES, tmp_path / "out")
    assert drift.added == (*sorted(FILES), ".obsgen-files.json") and not (tmp_path / "out").exists()


def test_check_reports_an_interrupted_run_without_writing(tmp_path: Path) -> None:
    write(FILES, tmp_path)
    (tmp_path / ".obsgen-staging").mkdir()
    drift = diff(FILES, tmp_path)
    assert not drift.clean and drift.lines() == [
        f"interrupted: {tmp_path / '.obsgen-staging'}: a run was interrupted before committing; `obsgen generate` discards it"
    ]
    assert (tmp_path / ".obsgen-staging").is_dir()
    assert recover(tmp_path) == "discarded an interrupted run's staged files"
    assert diff(FILES, tmp_path) == Drift((), (), ())


def test_the_lock_timeout_in_process(tmp_path: Path) -> None:
    write(FILES, tmp_path)
    fd = os.open(tmp_path / ".obsgen.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(WriterError, match="gave up after waiting 0.1 s"):
            write(FILES, tmp_path, lock_timeout=0.1)
    finally:
        os.close(fd)


def test_the_fault_setting_is_checked() -> None:
    assert kill_at_step(None) is None and kill_at_step("") is None
    assert callable(kill_at_step("3"))
    with pytest.raises(WriterError, match="OBSGEN_WRITER_FAULT='x': must be a step number"):
        kill_at_step("x")


def test_a_failure_before_the_commit_changes_nothing_and_leaves_no_staging(tmp_path: Path) -> None:
    write(FILES, tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    def disk_full_at_second_file(index: int, label: str) -> None:
        if label == "stage runbooks/b/One.md":
            raise OSError(28, "No space left on device")

    changed = {**FILES, "rules/a.yaml": "changed\n", "runbooks/b/One.md": "changed\n"}
    with pytest.raises(WriterError, match=r"\.obsgen-staging: No space left on device while staging runbooks/b/One.md; nothing was written"):
        write(changed, tmp_path, fault=disk_full_at_second_file)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "rules/a.yaml").read_text() == "a\n"
    assert diff(changed, tmp_path).changed == ("rules/a.yaml", "runbooks/b/One.md") and not diff(changed, tmp_path).interrupted

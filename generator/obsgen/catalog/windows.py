"""The alert window sets a catalog may name: the built-in ones and a project's own, read from windows/*.yaml
beside the catalogs in Sloth's AlertWindows format (the folder Sloth's --slo-period-windows-path points at)."""

from __future__ import annotations

from pathlib import Path

from obsgen import model as m
from obsgen import slo_windows
from obsgen.catalog.load import format_path, load_or_report
from obsgen.errors import Problem

WINDOWS_DIR = "windows"
SUFFIXES = (".yaml", ".yml")


def window_sets(catalogs: Path) -> tuple[dict[str, m.WindowSet], list[Problem]]:
    """Every set by name, and the located problems of the custom files that could not be read."""
    sets: dict[str, m.WindowSet] = dict(slo_windows.builtin())
    folder = catalogs / WINDOWS_DIR
    if not folder.is_dir():
        return sets, []
    problems: list[Problem] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES):
        raw = load_or_report(path, {}, problems)
        if raw is None:
            continue
        name = path.stem
        if name in slo_windows.builtin():
            problems.append(Problem(raw.file, 1, "", f"'{name}' is a built-in window set; give the file another name"))
            continue
        found, located = slo_windows.from_spec(raw.data, name, raw.file)
        problems.extend(Problem(raw.file, raw.line_of(where), format_path(where), message) for where, message in located)
        if found is not None:
            sets[name] = found
    return sets, problems

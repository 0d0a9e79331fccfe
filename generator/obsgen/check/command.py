"""The body of `obsgen check`: select, run, report, exit code (cli.py only parses the options)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from obsgen.check import report
from obsgen.check.context import Context
from obsgen.check.layout import Layout
from obsgen.check.registry import Check, run_checks
from obsgen.check.runner import Runner


class Progress:
    """One progress line on stderr: rewritten in place on a terminal, one line per check in a CI log."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()

    def __call__(self, i: int, n: int, check: Check) -> None:
        line = f"obsgen check: [{i}/{n}] {check.name} ({check.description})"
        if self.tty:
            self.stream.write("\r\033[K" + line[:200])
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        """Clear the in-place line, so the table starts on a clean line."""
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def run(layout: Layout, strict: bool, fmt: str, junit: Path | None, only: list[str], mode: str,
        echo: Callable[[str], None]) -> int:
    """Run the selected checks on the layout and report them; the exit code (0 passed, 1 failed)."""
    runner = Runner(mode=mode, collector_config=layout.path(layout.compose_file("otel-collector/config.yaml") or ""))
    progress = Progress(sys.stderr)
    if mode != "local":  # say once whether containers are used, and if not why (e.g. which extra enables them)
        state = f"containers: {runner.reason}" if runner.uses_containers else f"containers off: {runner.reason}"
        sys.stderr.write(f"obsgen check: {state}\n")
    try:
        results = run_checks(Context(layout, runner), only, progress)
    finally:
        progress.done()
        runner.close()
    if fmt == "github":
        for line in report.github(results, strict):
            echo(line)
    echo(report.table(results))
    lines = report.findings(results)
    if lines:
        echo("")
        for line in lines:
            echo(line)
    if junit is not None:
        junit.write_text(report.junit(results, strict), encoding="utf-8")
    echo(report.summary(results, strict))
    return report.exit_code(results, strict)

"""What a check produces: located findings, and one result per check (passed, failed or not run, and why)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PASSED, FAILED, NOT_RUN = "passed", "failed", "not run"


def one_line(text: str) -> str:
    """Collapse a tool's multi-line message to one readable line."""
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True, order=True)
class Finding:
    """One problem a tool reported: the file (relative to the root) and line when the tool gives them."""

    file: str | None
    line: int | None
    message: str

    def __str__(self) -> str:
        where = "" if self.file is None else self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}" if where else self.message


class NotRun(Exception):
    """A check could not run: its tool is absent, or its input is not there. The message says why."""


@dataclass
class Outcome:
    """What a check function returns: the findings (none means it passed) and a short summary of what it did."""

    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    tool: str = ""  # set by checks that do not run through the Runner (Node.js, in-process Python)
    path: str = ""

    def add(self, file: str | None, line: int | None, message: str) -> None:
        """Record one finding, its message folded onto one line (a repeat of the same finding is dropped)."""
        finding = Finding(file, line, one_line(message))
        if finding not in self.findings:
            self.findings.append(finding)


@dataclass(frozen=True)
class CheckResult:
    """One row of the report: which check, which tool at which version, which path ran it, the result, the time."""

    name: str
    tool: str
    path: str
    status: str
    findings: tuple[Finding, ...] = ()
    summary: str = ""
    reason: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def not_run(self) -> bool:
        return self.status == NOT_RUN

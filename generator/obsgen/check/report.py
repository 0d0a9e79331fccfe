"""How `obsgen check` reports: a table for people, workflow annotations for GitHub, JUnit XML for any CI.

The table has one row per check (check, tool and version, path used, result, time); each finding follows as one
line, `file:line: check: message`. A check that did not run is a warning, or an error with --strict.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from obsgen.check.result import CheckResult, one_line

HEADERS = ("CHECK", "TOOL", "PATH", "RESULT", "TIME")


def exit_code(results: Sequence[CheckResult], strict: bool) -> int:
    """0 when every check that ran passed (and, with strict, every check ran), else 1."""
    bad = any(r.failed for r in results) or (strict and any(r.not_run for r in results))
    return 1 if bad else 0


def result_text(r: CheckResult) -> str:
    """The RESULT cell: ok with what was checked, FAILED with how many findings, or not run with why."""
    if r.not_run:
        return f"not run: {one_line(r.reason)}"
    if r.failed:
        return f"FAILED ({len(r.findings)} finding{'s' if len(r.findings) != 1 else ''})"
    return f"ok{f' ({r.summary})' if r.summary else ''}"


def table(results: Sequence[CheckResult]) -> str:
    """The readable table, columns sized to their content."""
    rows = [HEADERS] + [(r.name, r.tool, r.path, result_text(r), f"{r.seconds:.1f}s") for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1] for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def findings(results: Sequence[CheckResult]) -> list[str]:
    """One line per finding: `file:line: check: message`."""
    out = []
    for r in results:
        for f in r.findings:
            where = "" if f.file is None else f"{f.file}:{f.line}: " if f.line else f"{f.file}: "
            out.append(f"{where}{r.name}: {f.message}")
    return out


def summary(results: Sequence[CheckResult], strict: bool) -> str:
    """The last line: how many passed, failed and did not run."""
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    not_run = sum(r.not_run for r in results)
    tail = " (--strict: a check not run fails)" if strict and not_run else ""
    return f"obsgen check: {passed} passed, {failed} failed, {not_run} not run{tail}"


def _escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def github(results: Sequence[CheckResult], strict: bool) -> list[str]:
    """GitHub Actions workflow commands: an ::error per finding (with file and line when known), not-run notes."""
    out = []
    for r in results:
        for f in r.findings:
            props = [f"title={_escape(f'obsgen check {r.name}', True)}"]
            if f.file:
                props.insert(0, f"file={_escape(f.file, True)}")
                if f.line:
                    props.insert(1, f"line={f.line}")
            out.append(f"::error {','.join(props)}::{_escape(f.message)}")
        if r.not_run:
            level = "error" if strict else "warning"
            out.append(f"::{level} title={_escape(f'obsgen check {r.name}', True)}::{_escape(f'not run: {r.reason}')}")
    return out


def junit(results: Sequence[CheckResult], strict: bool) -> str:
    """JUnit XML: one testcase per check, a failure per finding list, skipped (or failed, with strict) when not run."""
    suite = ET.Element("testsuite", {
        "name": "obsgen check", "tests": str(len(results)),
        "failures": str(sum(r.failed or (strict and r.not_run) for r in results)),
        "skipped": str(sum(r.not_run and not strict for r in results)), "errors": "0",
        "time": f"{sum(r.seconds for r in results):.3f}",
    })
    for r in results:
        case = ET.SubElement(suite, "testcase", {"classname": "obsgen.check", "name": r.name, "time": f"{r.seconds:.3f}"})
        props = ET.SubElement(case, "properties")
        for key, value in (("tool", r.tool), ("path", r.path), ("summary", r.summary)):
            ET.SubElement(props, "property", {"name": key, "value": value})
        if r.failed:
            lines = findings([r])
            failure = ET.SubElement(case, "failure", {"message": lines[0] if lines else "failed", "type": "finding"})
            failure.text = "\n".join(lines)
        elif r.not_run:
            tag = "failure" if strict else "skipped"
            ET.SubElement(case, tag, {"message": f"not run: {r.reason}"})
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

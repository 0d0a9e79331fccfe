"""Dashboards: the lint (dashboard-linter's rules, PromQL that parses and names known series) and Grafana's types.

The lint needs the catalogs to know which series exist. The type check runs tsc against @grafana/schema through
node/check.mjs, which says which lines of its generated TypeScript hold which panel, so an error is reported at
the panel's line in the dashboard file (at the exact line when the JSON is laid out as JSON.stringify would).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from obsgen import __version__
from obsgen.catalog import load_bundle
from obsgen.check.context import Context
from obsgen.check.grafana_lint import Finding as LintFinding
from obsgen.check.grafana_lint import Known, lint_dashboard
from obsgen.check.locate import json_path_line, quoted, token_line
from obsgen.check.node import run_script
from obsgen.check.result import NotRun, Outcome
from obsgen.errors import CatalogError

# The field of a panel each lint rule is about, so a finding points at the line to change.
PANEL_FIELDS: dict[str, list[str | int]] = {
    "panel-type": ["type"], "panel-title-description": ["title"], "panel-units": ["fieldConfig", "defaults", "unit"],
    "panel-targets": ["targets"], "template-datasource": ["datasource"],
}
TSC_ERROR = re.compile(r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): (?P<msg>error TS\d+: .*)$")


def shorten(message: str) -> str:
    """tsc spells out whole object types; keep the start of each long one, so the line says what is wrong."""
    return re.sub(r"'([^']{80,})'", lambda m: "'" + m.group(1)[:60] + "…'", message)[:600]


def dashboard_files(directory: Path) -> list[Path]:
    """Every dashboard JSON under the directory (folders are Grafana folders)."""
    return sorted(directory.rglob("*.json"))


def _read(path: Path, rel: str, out: Outcome) -> tuple[str, Any] | None:
    text = path.read_text(encoding="utf-8")
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        out.add(rel, exc.lineno, f"not valid JSON: {exc.msg} (column {exc.colno})")
        return None


def _lint_line(text: str, doc: dict[str, Any], finding: LintFinding) -> int | None:
    """The line a lint finding is about: its panel (by title), variable, annotation, or the dashboard's key."""
    where = finding.where
    if where == "dashboard":
        key = {"dashboard-uid": "uid", "dashboard-schema": "schemaVersion"}.get(finding.rule)
        return json_path_line(text, [key]) if key else 1
    if where in ("templating", "annotations"):
        return json_path_line(text, [where])
    if where.startswith(("variable ", "annotation ")):
        return token_line(text, where.split(" ", 1)[1])
    field = PANEL_FIELDS.get(finding.rule) or (["targets"] if finding.rule.startswith("target-") else [])
    for i, panel in enumerate(doc.get("panels") or []):
        if isinstance(panel, dict) and (panel.get("title") or f"panel {panel.get('id')}") == where:
            return json_path_line(text, ["panels", i, *field])
        for j, inner in enumerate(panel.get("panels") or [] if isinstance(panel, dict) else []):
            if isinstance(inner, dict) and inner.get("title") == where:
                return json_path_line(text, ["panels", i, "panels", j, *field])
    return None


def lint(ctx: Context) -> Outcome:
    """Every dashboard through the lint, against the series the catalogs declare and the plan records."""
    directory = ctx.need(ctx.layout.dashboards, "dashboards")
    if ctx.layout.catalogs is None or not ctx.layout.path(ctx.layout.catalogs).is_dir():
        raise NotRun(f"no catalogs folder at {ctx.layout.catalogs}: the lint needs the catalogs to know the series")
    files = dashboard_files(directory)
    out = Outcome(summary=f"{len(files)} dashboards", tool=f"obsgen {__version__} dashboard lint", path="in-process")
    try:
        known = Known.from_bundle(load_bundle(ctx.layout.path(ctx.layout.catalogs)))
    except CatalogError as exc:
        for p in exc.problems:
            out.add(p.file, p.line, f"{p.path}: {p.message}" if p.path else p.message)
        return out
    for path in files:
        rel = ctx.layout.rel(path)
        loaded = _read(path, rel, out)
        if loaded is None:
            continue
        text, doc = loaded
        if not isinstance(doc, dict):
            out.add(rel, 1, "a dashboard must be a JSON object")
            continue
        for finding in lint_dashboard(rel, doc, known):
            out.add(rel, _lint_line(text, doc, finding), f"{finding.where}: [{finding.rule}] {finding.message}")
    return out


def _source_line(path: Path, entry: dict[str, Any], ts_line: int, message: str) -> int | None:
    """Map a line of check.mjs's TypeScript back to the dashboard: the part's start, plus the offset when laid out alike."""
    text = path.read_text(encoding="utf-8")
    pointer = [int(p) if p.isdigit() else p for p in entry["pointer"].split("/")[1:]]
    if not pointer:  # the dashboard's own fields: the property tsc names, else the top
        for name in quoted(message):
            line = token_line(text, name)
            if line:
                return line
        return 1
    start = json_path_line(text, pointer)
    value: Any = json.loads(text)
    for part in pointer:
        value = value[part]
    same_layout = json.dumps(value, indent=2, ensure_ascii=False).count("\n") == entry["to"] - entry["from"]
    return start + (ts_line - entry["from"]) if start and same_layout else start


def types(ctx: Context) -> Outcome:
    """tsc --noEmit: each panel against its plugin's types, each target against its query model, the whole as Dashboard."""
    directory = ctx.need(ctx.layout.dashboards, "dashboards")
    env = ctx.node()
    files = dashboard_files(directory)
    out = Outcome(summary=f"{len(files)} dashboards", tool=env.describe("@grafana/schema", "typescript"),
                  path=f"local node {env.node_version}")
    readable = [p for p in files if _read(p, ctx.layout.rel(p), out) is not None]
    if not readable:
        return out
    with tempfile.TemporaryDirectory(prefix="obsgen-check-tsc-") as tmp:
        map_file = Path(tmp) / "map.json"
        proc = run_script(env, "check.mjs", ["--map", str(map_file), *(str(p.resolve()) for p in readable)])
        maps = json.loads(map_file.read_text(encoding="utf-8")) if map_file.is_file() else {}
    if proc.returncode == 0:
        return out
    for raw in (proc.stdout + proc.stderr).splitlines():
        match = TSC_ERROR.match(raw.strip())
        if match is None or match["file"] not in maps:
            continue
        path = Path(match["file"])
        ts_line = int(match["line"])
        entry = next((e for e in maps[match["file"]] if e["from"] <= ts_line <= e["to"]), None)
        line = _source_line(path, entry, ts_line, match["msg"]) if entry else None
        where = f"{entry['pointer'] or '/'}: " if entry else ""
        out.add(ctx.layout.rel(path), line, f"{where}{shorten(match['msg'])}")
    if not out.findings:
        out.add(ctx.layout.rel(directory), None, f"check.mjs exited {proc.returncode}: {(proc.stdout + proc.stderr)[-800:]}")
    return out

"""LogQL checked by Grafana's own grammar (@grafana/lezer-logql), run once per check by node/logql.mjs.

Collects every LogQL expression obsgen writes (Loki ruler files, Loki targets of dashboards) with its
location, parses them all in one node run and reports each error node as one located line. The grammar
knows syntax only: which labels exist, regex bodies and Loki's semantic limits are checked elsewhere, so
the parse result also carries the stream matchers and grouping labels for those checks.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsgen.check.context import Context
from obsgen.check.node import NodeEnv, NodeUnavailable, run_script
from obsgen.check.result import Outcome
from obsgen.errors import Problem

TIMEOUT = 120  # seconds for one node run; parsing a few hundred expressions takes well under one
# Grafana's macros in a range or step position, replaced by a duration so the text is LogQL.
GRAFANA_MACROS = {"$__auto": "5m", "$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h",
                  "${__auto}": "5m", "${__rate_interval}": "5m", "${__interval}": "1m", "${__range}": "1h"}


class LogQLCheckError(RuntimeError):
    """The checker itself could not run (no node, no grammar installed, unreadable output)."""


@dataclass(frozen=True)
class LogQLExpr:
    """One expression as written, and where: file, 1-based line (None when unknown), field path."""

    file: str
    line: int | None
    path: str
    expr: str


@dataclass(frozen=True)
class Matcher:
    """A label matcher; in_selector is False for a label filter stage (`| level="error"`)."""

    label: str
    op: str
    value: str
    in_selector: bool


@dataclass(frozen=True)
class Parsed:
    """What the grammar made of one expression."""

    source: LogQLExpr
    errors: tuple[tuple[int, str], ...]  # (offset, text around it) of each error node
    matchers: tuple[Matcher, ...]
    grouping: tuple[tuple[str, tuple[str, ...]], ...]  # ("by" | "without", labels)
    extracts: bool  # a parser stage (json, logfmt, regexp, pattern, label_format) adds labels

    @property
    def stream_labels(self) -> set[str]:
        return {m.label for m in self.matchers if m.in_selector}

    def problems(self) -> list[Problem]:
        s = self.source
        return [Problem(s.file, s.line, s.path, f"LogQL syntax error at column {offset + 1} near {near!r} in {s.expr!r}")
                for offset, near in self.errors]


def substitute_macros(expr: str) -> str:
    """Replace Grafana's interval macros so a dashboard target parses as plain LogQL."""
    for macro, value in GRAFANA_MACROS.items():
        expr = expr.replace(macro, value)
    return expr


# -- collecting expressions -----------------------------------------------------------------------------


def _mapping_get(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def rule_expressions(rules_dir: Path, root: Path | None = None) -> tuple[list[LogQLExpr], list[Problem]]:
    """Every `expr` of the Loki ruler files under rules_dir (**/*.yaml), with its line; unreadable files are problems."""
    exprs: list[LogQLExpr] = []
    problems: list[Problem] = []
    for path in sorted(rules_dir.rglob("*.yaml")):
        name = _display(path, root)
        try:
            doc = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            mark = getattr(exc, "problem_mark", None)
            problems.append(Problem(name, mark.line + 1 if mark else None, "", f"not a readable YAML file: {exc}"))
            continue
        groups = _mapping_get(doc, "groups") if doc is not None else None
        for gi, group in enumerate(groups.value if isinstance(groups, yaml.SequenceNode) else []):
            rules = _mapping_get(group, "rules")
            for ri, rule in enumerate(rules.value if isinstance(rules, yaml.SequenceNode) else []):
                expr = _mapping_get(rule, "expr")
                field = f"groups[{gi}].rules[{ri}].expr"
                if isinstance(expr, yaml.ScalarNode):
                    exprs.append(LogQLExpr(name, expr.start_mark.line + 1, field, expr.value))
                else:
                    problems.append(Problem(name, rule.start_mark.line + 1, field, "missing or not a string"))
    return exprs, problems


def _is_loki(datasource: Any, loki_vars: set[str]) -> bool:
    if isinstance(datasource, dict):
        return datasource.get("type") == "loki" or str(datasource.get("uid", "")) in loki_vars
    return isinstance(datasource, str) and datasource in loki_vars


def _panels(panels: list[Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, panel in enumerate(panels):
        if isinstance(panel, dict):
            yield f"{path}[{i}]", panel
            yield from _panels(panel.get("panels") or [], f"{path}[{i}].panels")


def dashboard_targets(dashboards_dir: Path, root: Path | None = None) -> tuple[list[LogQLExpr], list[Problem]]:
    """Every LogQL target (datasource of type loki, or a Loki datasource variable) of the dashboards/**.json."""
    exprs: list[LogQLExpr] = []
    problems: list[Problem] = []
    for path in sorted(dashboards_dir.rglob("*.json")):
        name = _display(path, root)
        try:
            text = path.read_text(encoding="utf-8")
            doc = json.loads(text)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(Problem(name, getattr(exc, "lineno", None), "", f"not a readable JSON file: {exc}"))
            continue
        if not isinstance(doc, dict):
            continue
        variables = (doc.get("templating") or {}).get("list") or []
        loki_vars = {f"${{{v['name']}}}" for v in variables if isinstance(v, dict) and v.get("type") == "datasource"
                     and v.get("query") == "loki" and "name" in v}
        loki_vars |= {"$" + v.removeprefix("${").removesuffix("}") for v in loki_vars}
        found: list[tuple[str, str]] = []
        for where, panel in _panels(doc.get("panels") or [], "panels"):
            for ti, target in enumerate(panel.get("targets") or []):
                ds = target.get("datasource") or panel.get("datasource")
                if isinstance(target, dict) and isinstance(target.get("expr"), str) and _is_loki(ds, loki_vars):
                    found.append((f"{where}.targets[{ti}].expr", target["expr"]))
        for ai, ann in enumerate((doc.get("annotations") or {}).get("list") or []):
            if isinstance(ann, dict) and isinstance(ann.get("expr"), str) and _is_loki(ann.get("datasource"), loki_vars):
                found.append((f"annotations.list[{ai}].expr", ann["expr"]))
        at = 0
        for field, expr in found:
            # The line of the first `"expr": "<this text>"` after the previous one (the JSON is pretty-printed).
            pos = text.find(json.dumps(expr, ensure_ascii=False), at)
            line = text.count("\n", 0, pos) + 1 if pos >= 0 else None
            at = pos + 1 if pos >= 0 else at
            exprs.append(LogQLExpr(name, line, field, expr))
    return exprs, problems


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


# -- parsing --------------------------------------------------------------------------------------------


def parse(exprs: Sequence[LogQLExpr], env: NodeEnv) -> list[Parsed]:
    """Parse every expression in one run of the grammar script (node/logql.mjs); order is kept."""
    if not exprs:
        return []
    if shutil.which(env.node) is None:
        raise LogQLCheckError(f"{env.node} is not installed; the LogQL grammar runs on Node.js")
    if not env.script("logql.mjs").is_file():
        raise LogQLCheckError(f"{env.script('logql.mjs')} does not exist")
    payload = json.dumps([{"id": str(i), "expr": substitute_macros(e.expr)} for i, e in enumerate(exprs)])
    try:
        proc = run_script(env, "logql.mjs", [], stdin=payload, timeout=TIMEOUT)
    except NodeUnavailable as exc:
        raise LogQLCheckError(str(exc)) from exc
    # Exit 1 means "an expression has an error node" only when the output is the full answer; anything
    # else (a missing grammar package, a crash) is the checker failing, never a verdict on the LogQL.
    try:
        results = json.loads(proc.stdout) if proc.returncode in (0, 1) else None
    except json.JSONDecodeError:
        results = None
    if not isinstance(results, list) or len(results) != len(exprs):
        hint = " (the locked packages are missing: python -m obsgen.check.node)" if "Cannot find package" in proc.stderr else ""
        raise LogQLCheckError(f"logql.mjs exited {proc.returncode}{hint}: {proc.stderr.strip()[-600:]}")
    return [
        Parsed(
            source=e,
            errors=tuple((int(x["offset"]), str(x["near"])) for x in r["errors"]),
            matchers=tuple(Matcher(m["label"], m["op"], m["value"], m["in"] == "selector") for m in r["matchers"]),
            grouping=tuple((g["kind"], tuple(g["labels"])) for g in r["grouping"]),
            extracts=bool(r["extracts"]),
        )
        for e, r in zip(exprs, results, strict=True)
    ]


def check(exprs: Sequence[LogQLExpr], env: NodeEnv) -> list[Problem]:
    """One located problem per error node; an empty list means every expression parsed cleanly."""
    return [p for parsed in parse(exprs, env) for p in parsed.problems()]


def logql(ctx: Context) -> Outcome:
    """Every LogQL expression of the Loki ruler files and the dashboards' Loki targets, through the grammar."""
    env = ctx.node()
    layout = ctx.layout
    exprs: list[LogQLExpr] = []
    problems: list[Problem] = []
    rules_rel = layout.compose_file("loki/rules")
    if rules_rel and layout.path(rules_rel).is_dir():
        found, bad = rule_expressions(layout.path(rules_rel), layout.root)
        exprs, problems = exprs + found, problems + bad
    if layout.dashboards and layout.path(layout.dashboards).is_dir():
        found, bad = dashboard_targets(layout.path(layout.dashboards), layout.root)
        exprs, problems = exprs + found, problems + bad
    out = Outcome(summary=f"{len(exprs)} expressions", tool=env.describe("@grafana/lezer-logql"),
                  path=f"local node {env.node_version}")
    try:
        problems += check(exprs, env)
    except LogQLCheckError as exc:
        out.add(None, None, f"the grammar could not run: {exc}")
    for p in problems:
        out.add(p.file, p.line, f"{p.path}: {p.message}" if p.path else p.message)
    return out

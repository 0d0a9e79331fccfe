"""amtool: `check-config` on the stack's alertmanager.yml, and `config routes test` for every generated routing case.

amtool gives a YAML line for a syntax error and names the value for a semantic one (`undefined receiver "x"`),
which is located in the file. A routing case that reaches other receivers is reported at the case's own line
in routes-tests.yaml, with what it expected and what it got.
"""

from __future__ import annotations

import re

import yaml

from obsgen.check.context import Context
from obsgen.check.locate import first_token_line, yaml_error_line, yaml_path_line
from obsgen.check.result import Outcome

FAILED = re.compile(r"FAILED: (.*)$", re.M)
YAML_LINE = re.compile(r"\byaml: line (\d+):")
FIELD_LINE = re.compile(r"^\s+line (\d+): (.*)$", re.M)


def _config_target(ctx: Context) -> tuple[str, str, dict]:
    rel, path = ctx.stack_file("alertmanager/alertmanager.yml", "the stack's Alertmanager config")
    mounts = ctx.service_mounts("alertmanager")
    target = next((c for c, h in mounts.items() if h == path.resolve()), "/etc/alertmanager/alertmanager.yml")
    return rel, target, mounts


def config(ctx: Context) -> Outcome:
    """amtool check-config: receivers, routes, inhibit rules and templates of the generated config."""
    rel, target, mounts = _config_target(ctx)
    result = ctx.runner.run("amtool", ["check-config", target], mounts)
    found = re.search(r"(\d+) receivers", result.stdout)
    out = Outcome(summary=f"{found.group(1)} receivers" if found else "")
    if result.ok:
        return out
    text = ctx.layout.path(rel).read_text(encoding="utf-8")
    for message in FAILED.findall(result.stdout):
        if message.rstrip().endswith("unmarshal errors:"):
            continue  # one `line N: ...` follows per error
        y = YAML_LINE.search(message)
        line = (yaml_error_line(text) or int(y.group(1))) if y else first_token_line(text, message)
        out.add(rel, line, message)
    for number, message in FIELD_LINE.findall(result.stdout):
        out.add(rel, int(number), message)
    if not out.findings:
        out.add(rel, None, result.output[-800:])
    return out


def _cases(ctx: Context, out: Outcome) -> tuple[str, list[tuple[int | None, str, dict, list]]]:
    rel, path = ctx.stack_file("alertmanager/routes-tests.yaml", "the generated routing tests")
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        out.add(rel, mark.line + 1 if mark else None, f"not a readable YAML file: {exc}")
        return rel, []
    cases = []
    raw = doc.get("cases") if isinstance(doc, dict) else None
    if not isinstance(raw, list) or not raw:
        out.add(rel, yaml_path_line(text, ["cases"]), "no routing cases (a top-level `cases:` list is expected)")
        return rel, []
    for i, case in enumerate(raw):
        line = yaml_path_line(text, ["cases", i])
        ok = isinstance(case, dict) and isinstance(case.get("labels"), dict) and isinstance(case.get("receivers"), list)
        if not ok:
            out.add(rel, line, "a case needs `name`, a `labels` map and a `receivers` list")
            continue
        cases.append((line, str(case.get("name", f"case {i}")), case["labels"], case["receivers"]))
    return rel, cases


def routes(ctx: Context) -> Outcome:
    """amtool config routes test --verify.receivers for every case: exactly these receivers, in this order."""
    out = Outcome()
    _, target, mounts = _config_target(ctx)
    rel, cases = _cases(ctx, out)
    out.summary = f"{len(cases)} cases"
    runs = [["config", "routes", "test", f"--config.file={target}", f"--verify.receivers={','.join(map(str, receivers))}",
             *(f"{k}={v}" for k, v in sorted(labels.items()))] for _, _, labels, receivers in cases]
    results = ctx.runner.run_many("amtool", runs, mounts) if runs else []
    for (line, name, labels, receivers), result in zip(cases, results, strict=True):
        if result.ok:
            continue
        got = result.stdout.strip().splitlines()[0] if result.stdout.strip() else result.output[-300:]
        shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
        out.add(rel, line, f"case {name!r}: {{{shown}}} reached {got or 'nothing'}; expected {', '.join(map(str, receivers))}")
    return out

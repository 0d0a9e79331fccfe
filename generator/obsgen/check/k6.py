"""k6: `inspect --execution-requirements` on every script, which (unlike a plain inspect) parses the thresholds.

k6 exits 104 on a bad option or threshold and 107 on a script error. A syntax error carries its line; a bad
threshold or metric name is quoted, and located in the script.
"""

from __future__ import annotations

import re

from obsgen.check.context import Context
from obsgen.check.locate import first_token_line
from obsgen.check.result import Outcome

MSG = re.compile(r'level=error msg="((?:[^"\\]|\\.)*)"')
SCRIPT_LINE = re.compile(r"file://\S+?: Line (\d+):\d+ (.*)")


def k6(ctx: Context) -> Outcome:
    """Every k6/**.js through `k6 inspect --execution-requirements`."""
    rel = ctx.layout.k6 or ""
    directory = ctx.need(ctx.layout.k6, "k6 scripts")
    scripts = sorted(directory.rglob("*.js"))
    out = Outcome(summary=f"{len(scripts)} scripts")
    if not scripts:
        return out
    mounts = ctx.work_mounts(rel)
    runs = [["inspect", "--execution-requirements", f"/work/{rel}/{s.relative_to(directory).as_posix()}"] for s in scripts]
    for script, result in zip(scripts, ctx.runner.run_many("k6", runs, mounts), strict=True):
        if result.ok:
            continue
        script_rel = ctx.layout.rel(script)
        text = script.read_text(encoding="utf-8")
        messages = [m.replace('\\"', '"').replace("\\n", " ") for m in MSG.findall(result.stderr)] or [result.output[-600:]]
        for message in messages:
            at = SCRIPT_LINE.search(message)
            line = int(at.group(1)) if at else first_token_line(text, message)
            out.add(script_rel, line, f"k6 exit {result.returncode}: {at.group(2) if at else message}")
    return out

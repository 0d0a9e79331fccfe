"""The shape of the package, read from its source: the import graph and where PromQL text is written.

- No import cycle between modules, counting imports inside functions (the catalog->plan cycle was one).
- Stages import only earlier stages: the catalog never imports the plan or the emitters, the plan never
  imports an emitter, and no emitter imports another (what two emitters share belongs in the plan).
- No emitter reads the environment, nor does the plan stage or what it takes (settings, SLO options, windows).
- PromQL text is written only by the builder (obsgen/promql/); the names of generated series only by
  obsgen/naming.py. Every check has a failing case below, so a checker that cannot fail is caught.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "generator" / "obsgen"
Graph = dict[str, set[str]]


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(source: str, name: str, known: set[str], is_package: bool) -> set[str]:
    """obsgen modules a module imports anywhere in its body (top level or inside functions)."""
    out: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "obsgen")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "obsgen":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else base)
    return {m for m in out if m in known and m != name}


def package_graph() -> Graph:
    modules = _modules()
    known = set(modules)
    return {name: imports_of(path.read_text(encoding="utf-8"), name, known, path.name == "__init__.py")
            for name, path in modules.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), each a cycle to break."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def emitter_of(module: str) -> str | None:
    """obsgen.emit.grafana.fleet -> grafana; the emit package itself (the registry) is no emitter."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[1] == "emit" else None


def layer_violations(graph: Graph) -> list[str]:
    """Imports against the direction of the pipeline, and emitter-to-emitter imports."""
    out = []
    for src, targets in sorted(graph.items()):
        for dst in sorted(targets):
            if src.startswith("obsgen.catalog") and dst.startswith(("obsgen.plan", "obsgen.emit", "obsgen.pipeline")):
                out.append(f"{src} -> {dst}: the catalog stage comes before the plan and the emitters")
            if src.startswith("obsgen.plan") and dst.startswith(("obsgen.emit", "obsgen.pipeline", "obsgen.cli")):
                out.append(f"{src} -> {dst}: the plan comes before the emitters")
            a, b = emitter_of(src), emitter_of(dst)
            if a and b and a != b:
                out.append(f"{src} -> {dst}: emitters do not import each other; share through the plan")
    return out


def test_no_import_cycle() -> None:
    assert cycles(package_graph()) == []


def test_stages_import_only_earlier_stages_and_emitters_are_independent() -> None:
    graph = package_graph()
    assert "obsgen.plan" in graph["obsgen.pipeline"] and "obsgen.emit" in graph["obsgen.pipeline"]  # the graph is read
    assert layer_violations(graph) == []


def test_the_import_checks_can_fail() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    bad = {"obsgen.emit.grafana.dashboards": {"obsgen.emit.k6"}, "obsgen.catalog.build": {"obsgen.plan"},
           "obsgen.plan.slo": {"obsgen.emit.rules"}, "obsgen.emit.grafana": {"obsgen.emit.grafana.render"}}
    assert len(layer_violations(bad)) == 3
    # A lazy import inside a function counts: that is how the catalog->plan cycle hid.
    source = "def f():\n    from obsgen.plan import check\n"
    assert imports_of(source, "obsgen.catalog.build", {"obsgen.plan", "obsgen.catalog.build"}, False) == {"obsgen.plan"}
    relative = "from .records import Recorder\nfrom . import synth\n"
    known = {"obsgen.plan", "obsgen.plan.records", "obsgen.plan.synth", "obsgen.plan.alerts"}
    assert imports_of(relative, "obsgen.plan.alerts", known, False) == {"obsgen.plan.records", "obsgen.plan.synth"}


# -- environment -------------------------------------------------------------------------------------

ENV_READ = re.compile(r"\bos\.environ\b|\bgetenv\(|\benviron\.get\(")


def test_no_emitter_reads_the_environment() -> None:
    readers = [str(p.relative_to(ROOT)) for p in sorted((PACKAGE / "emit").rglob("*.py"))
               if ENV_READ.search(p.read_text(encoding="utf-8"))]
    assert readers == []
    assert ENV_READ.search("value = os.environ['X']") and ENV_READ.search("os.getenv('X')")


def test_the_plan_stage_reads_no_environment() -> None:
    """Project options (obsgen.yaml's slos:, rules:) reach the plan as values; a variable would make output differ per shell."""
    stage = [*(PACKAGE / "plan").rglob("*.py"), *(PACKAGE / "slo_windows").rglob("*.py"), *(PACKAGE / "promql").rglob("*.py"),
             PACKAGE / "slo_options.py", PACKAGE / "settings.py", PACKAGE / "naming.py", PACKAGE / "pipeline.py"]
    assert len(stage) > 10 and all(p.is_file() for p in stage)
    readers = [str(p.relative_to(ROOT)) for p in sorted(stage) if ENV_READ.search(p.read_text(encoding="utf-8"))]
    assert readers == []


# -- where PromQL text is written ----------------------------------------------------------------------

# What PromQL looks like inside a string that is being assembled. \0 stands for each interpolated value.
PROMQL_HINTS = (
    re.compile(r"\b(sum|min|max|avg|count|topk|bottomk|quantile|stddev|group)\s+(by|without)\s*\("),
    re.compile(r"\b(rate|irate|increase|delta|histogram_quantile|absent|absent_over_time|[a-z]+_over_time|label_replace|"
               r"label_join|vector|scalar|sort|sort_desc|clamp_min|clamp_max)\((?!\))"),
    re.compile(r"[a-zA-Z_:\0]\{\s*[a-zA-Z_]+\s*(=~|!~|!=|=)\s*[\"'\0]"),  # a selector with a matcher
    # A range: after a selector's braces anything, after a name a duration or a Grafana macro, or {series}[{window}].
    re.compile(r"\}\[(\0|\x01|\$__[a-z_]+|[0-9]+(ms|s|m|h|d|w|y))(:(\0|\x01|[0-9]+[a-z]+)?)?\]"
               r"|[a-zA-Z_\0]\[(\x01|\$__[a-z_]+|[0-9]+(ms|s|m|h|d|w|y))(:[0-9a-z\x01]*)?\]"),
    re.compile(r"[}\]\0\x01]\s+offset\s+[0-9\0\x01]"),
    re.compile(r"\b[a-z_]+:[a-z_0-9]+:[a-z_0-9]+"),  # a recording rule name, level:metric:operations
    re.compile(r"(\s(and|or|unless)|[-+*/%^<>=])\s*(on|ignoring)\s*\(|\s(bool|group_left|group_right)\b"),
)
# The builder writes PromQL, naming.py writes names, logql.py writes LogQL (not PromQL).
ALLOWED = ("promql/", "naming.py", "logql.py")


DURATION_NAMES = re.compile(r"(window|range|rng|interval|period|step|duration|^w)$")


def _hole(value: ast.AST) -> str:
    """\1 for an interpolated value whose name says it is a duration (a range in the making), else \0."""
    inner = value.value if isinstance(value, ast.FormattedValue) else value
    name = inner.id if isinstance(inner, ast.Name) else inner.attr if isinstance(inner, ast.Attribute) else ""
    return "\1" if DURATION_NAMES.search(name) else "\0"


def _assembled(node: ast.AST) -> str | None:
    """The literal text of a string being assembled (f-string, concatenation, % or .format), \0 for each hole."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else _hole(v) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        left, right = _assembled(node.left), _assembled(node.right)
        if left is None and right is None:
            return None
        if isinstance(node.op, ast.Mod):
            return None if left is None else left.replace("%s", "\0").replace("%d", "\0") + "\0"
        return (left if left is not None else "\0") + (right if right is not None else "\0")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        text = _assembled(node.func.value)
        return None if text is None else re.sub(r"\{[^{}]*\}", "\0", text)
    return None


def stray_promql(source: str) -> list[tuple[int, str]]:
    """Strings assembled from pieces that look like PromQL: (line, text)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.JoinedStr, ast.BinOp, ast.Call)):
            text = _assembled(node)
            if text is not None and ("\0" in text or "\1" in text) and any(h.search(text) for h in PROMQL_HINTS):
                found.append((node.lineno, text.replace("\0", "{}").replace("\1", "{}")))
    return found


def test_promql_is_written_only_by_the_builder() -> None:
    stray = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if not rel.startswith(ALLOWED):
            stray += [f"{rel}:{line}: {text}" for line, text in stray_promql(path.read_text(encoding="utf-8"))]
    assert stray == []


def test_the_promql_grep_can_fail() -> None:
    bad = [
        'expr = f"sum by ({labels}) (rate({metric}[5m]))"',
        'expr = f"{rec}{{job=~\\"$job\\"}} > {threshold}"',
        "expr = f'up{{job=\"{job}\"}} == 0'",
        'expr = f"{series}[{window}]"',
        'expr = f"{sel}[{self.rate_window}:{step}]"',
        'expr = "histogram_quantile(" + q + ", x)"',
        'expr = f"{before} offset {window}"',
        'name = f"slo:sli_error:ratio_rate{window}"',
        'expr = "%s / on (service) %s" % (a, b)',
        'expr = "increase({}[{}])".format(m, w)',
        'expr = f"{a}\\nand on (job)\\n{b}"',
    ]
    for line in bad:
        assert stray_promql(line), line
    good = [
        'msg = f"rate range [{rng}] should be [$__rate_interval]"',
        "msg = f\"counter '{name}' must be inside rate() or increase()\"",
        'path = f"service.targets[{i}].job"',
        'where = f"{path}[{i}].panels"',
        'text = f"file is not valid UTF-8 (byte 0x{b:02x} at offset {n})"',
        'url = f"{base}/{page}.md#{anchor}"',
        'expr = "rate(x[5m])"',  # a constant: nothing is assembled
    ]
    for line in good:
        assert not stray_promql(line), line

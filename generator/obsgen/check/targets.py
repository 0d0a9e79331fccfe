"""The rule targets and the scale profile, each checked by what loads it.

- prometheus-rules: PrometheusRule objects through tools/promrule-check (the operator's Go types, strictly, then
  Prometheus' rulefmt, as the operator's admission webhook validates them);
- thanos-rules: Thanos ruler files through promrule-check -format thanos (Thanos' group type, then rulefmt);
- ruler-namespaces: cortextool/mimirtool sync files through promrule-check -format cortex (known fields only);
- cortex-ruler: the same namespaces posted to a running Cortex ruler's API, which parses and stores them;
- cortex-config: the scale profile's cortex.yaml loaded and validated by `cortex -modules`;
- prometheus-agent-config: the scale profile's agent.yml through `promtool check config --agent`.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from obsgen.check import cortex
from obsgen.check.context import Context
from obsgen.check.locate import yaml_path_line
from obsgen.check.result import NotRun, Outcome
from obsgen.check.runner import Result
from obsgen.check.tools import local_command

AT = re.compile(r"^(?P<file>/\S+?):(?:(?P<line>\d+):)? (?P<msg>.*)$")
SUMMARY = re.compile(r"SUCCESS: (.*) \(")
CORTEX_CONFIG = "/etc/cortex/cortex.yaml"


def _files(ctx: Context, *rels: str | None) -> list[tuple[str, Path]]:
    found = []
    for rel in rels:
        if rel is None:
            continue
        directory = ctx.need(rel, f"{rel.rsplit('/', 1)[-1]} rule files")
        found += [(rel, p) for p in sorted(directory.iterdir()) if p.is_file() and p.suffix in (".yaml", ".yml")]
    return found


def _promrule(ctx: Context, fmt: str, *rels: str | None) -> Outcome:
    """promrule-check -format FMT on every YAML file of the given folders; findings at the lines it names."""
    files = _files(ctx, *rels)
    out = Outcome()
    if not files:
        out.add(next(r for r in rels if r), None, "no rule files (*.yaml) here")
        return out
    mounts = ctx.work_mounts(*(r for r in rels if r))
    result = ctx.runner.run("promrule-check", ["-format", fmt, *(f"/work/{rel}/{p.name}" for rel, p in files)], mounts)
    if (found := SUMMARY.search(result.stdout)) is not None:
        out.summary = found.group(1)
    if not result.ok:
        _located(result, mounts.rel, out)
        if not out.findings:
            out.add(None, None, result.output[-800:])
    return out


def _located(result: Result, rel_of: Callable[[str], str | None], out: Outcome) -> None:
    for raw in result.stderr.splitlines():
        match = AT.match(raw.strip())
        rel = rel_of(match["file"]) if match else None
        if match is None or rel is None:
            continue
        out.add(rel, int(match["line"]) if match["line"] else None, match["msg"])


def prometheus_rules(ctx: Context) -> Outcome:
    """The PrometheusRule objects, as the Prometheus Operator's webhook would admit them."""
    return _promrule(ctx, "prometheusrule", ctx.layout.prometheus_operator)


def thanos_rules(ctx: Context) -> Outcome:
    """The Thanos ruler files, as Thanos reads them."""
    return _promrule(ctx, "thanos", ctx.layout.thanos)


def ruler_namespaces(ctx: Context) -> Outcome:
    """The Cortex and Mimir namespace files, as `cortextool`/`mimirtool rules sync` parse them."""
    return _promrule(ctx, "cortex", ctx.layout.cortex, ctx.layout.mimir)


def cortex_ruler(ctx: Context) -> Outcome:
    """Every group posted to a running Cortex ruler (local binary), one tenant per target; then read back."""
    files = _files(ctx, ctx.layout.cortex, ctx.layout.mimir)
    command, looked = local_command("cortex")
    if not command:
        raise NotRun(f"the ruler API check runs Cortex as a local server on 127.0.0.1; no local binary ({', '.join(looked)}; "
                     "scripts/build-go-tools.sh cortex builds it)")
    out = Outcome(tool="cortex ruler API", path=f"local {' '.join(command)}")
    posted: dict[str, dict[str, int]] = {}  # tenant -> namespace -> groups
    with tempfile.TemporaryDirectory(prefix="obsgen-check-cortex-") as tmp, cortex.single_process(command, Path(tmp)) as url:
        for rel, path in files:
            tenant = rel.rstrip("/").rsplit("/", 1)[-1]
            client = cortex.RulerClient(url, tenant)
            text = path.read_text(encoding="utf-8")
            doc = yaml.safe_load(text) or {}
            namespace = str(doc.get("namespace") or path.stem)
            for i, group in enumerate(doc.get("groups") or []):
                answer = client.set_group(namespace, group)
                if answer.status != 202:
                    line = yaml_path_line(text, ["groups", i])
                    out.add(ctx.layout.rel(path), line, f"Cortex ruler refused group {group.get('name')!r} "
                                                       f"({answer.status}): {answer.body.strip()[:500]}")
                    continue
                posted.setdefault(tenant, {}).setdefault(namespace, 0)
                posted[tenant][namespace] += 1
        for tenant, namespaces in posted.items():
            stored = cortex.RulerClient(url, tenant).groups()
            for namespace, count in namespaces.items():
                if len(stored.get(namespace, [])) != count:
                    out.add(None, None, f"{tenant}: namespace {namespace} holds {len(stored.get(namespace, []))} groups "
                                        f"after {count} were accepted")
    groups = sum(n for ns in posted.values() for n in ns.values())
    out.summary = f"{groups} groups in {sum(len(ns) for ns in posted.values())} namespaces loaded"
    return out


def cortex_config(ctx: Context) -> Outcome:
    """cortex -modules with the scale profile's config: Cortex parses it strictly and validates it, then exits."""
    rel, _ = ctx.stack_file("cortex/cortex.yaml", "the scale profile's Cortex config")
    mounts = ctx.work_mounts(rel.rsplit("/", 1)[0])
    config = f"/work/{rel}"
    out = Outcome()
    result = ctx.runner.run("cortex", [f"-config.file={config}", "-modules"], mounts)
    if result.ok:
        out.summary = f"{sum(1 for x in result.stdout.splitlines() if x.strip().endswith('*'))} modules in target all"
        return out
    for message in [x.strip() for x in result.output.splitlines() if x.strip()]:
        line = re.search(r"\bline (\d+):", message)
        out.add(rel, int(line.group(1)) if line else None, message.replace(config, rel))
    if not out.findings:
        out.add(rel, None, f"cortex exited with {result.returncode} and said nothing")
    return out


def agent_config(ctx: Context) -> Outcome:
    """promtool check config --agent of the scale profile's Prometheus agent."""
    from obsgen.check.prometheus import located

    rel, _ = ctx.stack_file("prometheus/agent.yml", "the scale profile's Prometheus agent config")
    mounts = ctx.service_mounts("prometheus-agent")
    target = "/etc/prometheus/agent.yml"
    result = ctx.runner.run("promtool", ["check", "config", "--agent", "--syntax-only", target], mounts)
    doc = yaml.safe_load(ctx.layout.path(rel).read_text(encoding="utf-8")) or {}
    out = Outcome(summary=f"{len(doc.get('scrape_configs') or [])} scrape jobs, {len(doc.get('remote_write') or [])} remote write")
    if not result.ok:
        located(result, mounts, out, default=rel)
        if not out.findings:
            out.add(rel, None, result.output[-800:])
    return out

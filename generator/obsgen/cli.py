"""The obsgen command line: a thin layer over the pipeline's stages (obsgen.pipeline).

This module holds the group and the commands that work on a project (init, schema, generate, validate, list,
check); obsgen.cli_ops the ones that work on a running stack, obsgen.cli_convert `convert`. Imports are lazy:
`obsgen --version` and `--help` load click and nothing else of weight.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from obsgen import __version__
from obsgen.cli_common import (
    GC_MODE,
    GC_MODES,
    catalogs_option,
    config_option,
    env_option,
    friendly,
    load_catalogs,
    one_line,
    only_outputs,
    planned,
    project_of,
    tune_gc,
)
from obsgen.cli_targets import check_strategies, overridden, target_options
from obsgen.errors import CatalogError, Problem

__all__ = ["main", "one_line"]


class _Main(click.Group):
    """The obsgen group; the stack commands (obsgen.cli_ops) and `convert` (obsgen.cli_convert) load only when one
    is named or the commands are listed, so `obsgen --version` does not pay for building their options."""

    _ops_loaded = False

    def _load_ops(self) -> None:
        if not self._ops_loaded:
            from obsgen.cli_convert import convert_
            from obsgen.cli_ops import COMMANDS

            for command in (convert_, *COMMANDS):
                self.add_command(command)
            self._ops_loaded = True

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_ops()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._load_ops()
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="obsgen")
def main() -> None:
    """Generate Prometheus rules, rule tests, runbooks, Grafana dashboards, Alertmanager routes,
    Loki rules, k6 scenarios and a compose stack from service metric catalogs."""


@main.command()
@config_option
@catalogs_option
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Directory to write the generated tree into; overrides the project file's output.root (default: .).")
@env_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing files that would change (drift check).")
@click.option("--only", "only", multiple=True, metavar="OUTPUT[,OUTPUT]",
              help="Generate only these outputs (rules, rule-tests, runbooks, dashboards, provisioning, alertmanager, loki, "
                   "k6, compose, a rule target; grafana and stack name groups of them); others stay as they are.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds to wait for another obsgen run on the same output folder before failing.")
@target_options
@click.option("--gc", "gc_mode", type=click.Choice(GC_MODES), default=None, hidden=True,
              help="Garbage collector mode for the run (benchmarks compare them).")
@friendly
def generate(config: Path | None, catalogs: Path | None, out: Path | None, env: str | None, check: bool,
             only: tuple[str, ...], lock_timeout: float, gc_mode: str | None, targets: tuple[str, ...],
             operator_namespace: str | None, operator_labels: tuple[tuple[str, str], ...],
             partial_response: tuple[tuple[str, str], ...], group_by: tuple[str, ...], global_selector: tuple[Any, ...]) -> None:
    """Regenerate the outputs the project file selects from the catalogs.

    Writing is confined to the output folder (no path outside it, and no symbolic link inside it, is ever written or
    deleted) and crash-safe: an interrupted run is finished or undone by the next one, and --check reports it.
    Runs on one folder take turns through its lock file .obsgen.lock; a run that waits longer than --lock-timeout
    fails without writing.
    """
    from obsgen import pipeline
    from obsgen.emit import OutputClash, needs_cases
    from obsgen.writer import WriterError, diff, kill_at_step, write

    project = overridden(project_of(config), targets, operator_namespace, operator_labels, partial_response, group_by,
                         global_selector)
    outputs = only_outputs(only, project)
    chosen = outputs or project.outputs
    settings = project.settings  # the emitters get values; nothing reads the environment
    target = out if out is not None else project.out_path
    loaded = load_catalogs(project, catalogs, env)
    check_strategies(project, loaded, bool(partial_response))
    tune_gc(gc_mode or GC_MODE)
    try:
        files = pipeline.emit(pipeline.planned(loaded, project.plan, needs_cases(chosen)), settings, chosen)
    except OutputClash as exc:
        raise CatalogError([Problem(str(project.file or "obsgen.yaml"), None, "output.paths", str(exc))]) from None
    try:
        if outputs:
            files = {**pipeline.kept_files(target, outputs, settings), **files}
        if check:
            drift = diff(files, target, lock_timeout=lock_timeout)
        else:
            drift = write(files, target, lock_timeout=lock_timeout, fault=kill_at_step(os.environ.get("OBSGEN_WRITER_FAULT")))
    except WriterError as exc:
        click.echo(one_line(str(exc)), err=True)
        sys.exit(1)
    if check:
        if drift.clean:
            click.echo(f"obsgen: {len(files)} generated files are up to date")
            return
        for line in drift.lines():
            click.echo(one_line(line))
        click.echo(f"obsgen: generated files are out of date; run `{settings.command}` and commit the result", err=True)
        sys.exit(1)
    recovered = f"; {drift.interrupted}" if drift.interrupted else ""
    click.echo(
        f"obsgen: {len(loaded.bundle.services)} catalogs -> {len(files)} files in {target} "
        f"({len(drift.changed)} changed, {len(drift.added)} new, {len(drift.stale)} removed{recovered})"
    )


@main.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=Path("."), required=False)
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@friendly
def init(directory: Path, force: bool) -> None:
    """Scaffold a project in DIRECTORY (default: here): obsgen.yaml, an example catalog, CI jobs, pre-commit, schemas."""
    from obsgen import scaffold

    there = scaffold.existing(directory)
    if there and not force:
        for path in there:
            click.echo(f"obsgen init: {directory / path} exists; not overwritten (use --force to replace it)", err=True)
        sys.exit(1)
    for path in scaffold.write(directory):
        click.echo(f"wrote {directory / path}")
    click.echo("obsgen init: next, run `obsgen generate` and `obsgen check` here, then commit the result")


@main.command()
@click.argument("which", type=click.Choice(["catalog", "project"]))
@click.option("--format", "fmt", type=click.Choice(["json", "markdown"]), default="json", show_default=True,
              help="markdown prints the reference page docs/ keeps (one table per object).")
@friendly
def schema(which: str, fmt: str) -> None:
    """Print the JSON Schema of a catalog or of obsgen.yaml, for editors and CI that validate offline."""
    import json

    from obsgen.scaffold import schema_text

    text = schema_text(which)
    if fmt == "markdown":
        from obsgen.schema_doc import page

        text = page(which, json.loads(text))
    click.echo(text, nl=False)


@main.command()
@config_option
@catalogs_option
@env_option
@friendly
def validate(config: Path | None, catalogs: Path | None, env: str | None) -> None:
    """Check catalogs against the schema and every cross-reference, naming and cardinality rule."""
    plan = planned(config, catalogs, env)
    click.echo(f"obsgen: {len(plan.services)} catalogs are valid")


@main.command("list")
@config_option
@catalogs_option
@env_option
@friendly
def list_(config: Path | None, catalogs: Path | None, env: str | None) -> None:
    """Print what the catalogs define: services, metrics, SLOs and alerts."""
    plan = planned(config, catalogs, env)
    for sp in plan.services:
        svc = sp.service
        click.echo(f"{svc.name}  (team {svc.team}, {svc.source})")
        for metric in svc.metrics:
            labels = ",".join(metric.label_names)
            click.echo(f"  metric  {metric.type:<9} {metric.name}{'{' + labels + '}' if labels else ''}")
        for slo in svc.slos:
            click.echo(f"  slo     {slo.kind:<12} {slo.name}  {slo.objective:g}% over {slo.window}")
        seen = set()
        for alert in sp.alerts:
            key = (alert.name, alert.severity)
            if key not in seen:
                seen.add(key)
                click.echo(f"  alert   {alert.severity:<9} {alert.name}  ({alert.origin})")
        for la in svc.log_alerts:
            click.echo(f"  alert   {la.severity:<9} {la.name}  (log)")


@main.command("check")
@config_option
@click.option("--root", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="The generated tree to check; default: the project file's output root (.), laid out as it says.")
@click.option("--strict", is_flag=True, help="A check that cannot run (its tool is absent) fails the run.")
@click.option("--format", "fmt", type=click.Choice(["text", "github"]), default="text", show_default=True,
              help="github adds workflow annotations (::error file=F,line=L::message).")
@click.option("--junit", type=click.Path(path_type=Path, dir_okay=False), help="Also write JUnit XML to this file.")
@click.option("--only", default="", help="Comma-separated checks or tools to run (default: all; see the table's names).")
@click.option("--runner", "mode", type=click.Choice(["auto", "container", "local"]), envvar="OBSGEN_RUNNER", default="auto",
              show_default=True, help="auto: the pinned image when an engine answers, else a local binary.")
@friendly
def check_(config: Path | None, root: Path | None, strict: bool, fmt: str, junit: Path | None, only: str, mode: str) -> None:
    """Validate the generated tree with the real tools: promtool, amtool, tsc, LogQL, k6, compose, otelcol, Jaeger.

    Exit 0 when every check that ran passed, 1 otherwise (with --strict also when a check could not run), 2 for usage.
    """
    from obsgen.check.command import run as run_check
    from obsgen.check.layout import Layout
    from obsgen.check.registry import select

    names = [n.strip() for n in only.split(",") if n.strip()]
    try:
        select(names)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    layout = Layout.from_project(project_of(config), root)
    sys.exit(run_check(layout, strict, fmt, junit, names, mode, click.echo))


if __name__ == "__main__":
    main()

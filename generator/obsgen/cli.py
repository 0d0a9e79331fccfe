"""The obsgen command line: a thin layer over the pipeline's stages (obsgen.pipeline).

Imports are lazy: `obsgen --version` and `--help` load click and nothing else of weight.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from obsgen import __version__
from obsgen.cli_types import HttpUrl, ListenAddress, Seconds, http_token
from obsgen.errors import CatalogError, Problem

if TYPE_CHECKING:
    from obsgen.pipeline import Loaded
    from obsgen.plan import Plan
    from obsgen.project import Project

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config", "-c", "config", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
    help="Project file (default: ./obsgen.yaml when there is one, else obsgen's defaults).",
)
catalogs_option = click.option(
    "--catalogs", "catalogs", type=click.Path(path_type=Path), default=None,
    help="Directory of catalog files (*.yaml, *.yml, *.jsonnet); overrides the project file's (default: catalogs).",
)
env_option = click.option(
    "--env", "env", default=None, help="Environment whose overrides apply; one the project file declares (default: its default, prod).",
)


# Control characters a catalog value may carry (a newline in a quoted name) must not split a problem line.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(32), 127, 0x85) if c != 9} | {10: "\\n", 13: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def one_line(text: str) -> str:
    """The text with newlines and other control characters escaped, so it prints as one line."""
    return text.translate(_ESCAPES)


def friendly(func: F) -> F:
    """Turn catalog problems into one line each and any other failure into one line, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CatalogError as exc:
            for problem in exc.problems:
                click.echo(one_line(str(problem)), err=True)
            count = len(exc.problems)
            click.echo(f"obsgen: {count} problem{'s' if count != 1 else ''} found; nothing was written", err=True)
            sys.exit(1)
        except OSError as exc:
            click.echo(one_line(f"obsgen: {exc.filename or ''}: {exc.strerror or exc}"), err=True)
            sys.exit(1)
        except (click.ClickException, click.exceptions.Exit, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
            if os.environ.get("OBSGEN_DEBUG"):
                import traceback

                traceback.print_exc()
            click.echo(one_line(f"obsgen: internal error: {type(exc).__name__}: {exc} (set OBSGEN_DEBUG=1 for details)"), err=True)
            sys.exit(70)

    return wrapper  # type: ignore[return-value]


def _project(config: Path | None) -> Project:
    """The project file of --config, else ./obsgen.yaml, else the defaults (problems in it stop the run, located)."""
    from obsgen.project import find_project

    return find_project(config)


def _env(env: str | None, project: Project) -> str:
    if env is None:
        return project.default_env
    if env not in project.environments:
        where = project.file or "obsgen's defaults"
        raise click.BadParameter(f"unknown environment {env!r}; {where} declares {', '.join(project.environments)} "
                                 "(environments.names)", param_hint="--env")
    return env


def _load(project: Project, catalogs: Path | None, env: str | None) -> Loaded:
    """The catalog stage: --catalogs (named as given), else the project's folder (named as the project file writes it)."""
    from obsgen import pipeline

    chosen = _env(env, project)
    if catalogs is not None:
        loaded = pipeline.load(catalogs, chosen)
    else:
        loaded = pipeline.load(project.catalogs_path, chosen, display=project.catalogs)
    problems = pipeline.environment_problems(loaded, project.environments, str(project.file or "obsgen's defaults"))
    if problems:
        raise CatalogError(problems)
    return loaded


def _planned(config: Path | None, catalogs: Path | None, env: str | None) -> Plan:
    """Load, validate and plan: every problem either stage finds is reported, located, before anything else runs."""
    from obsgen import pipeline

    project = _project(config)
    return pipeline.planned(_load(project, catalogs, env), project.plan)


# Generation is one short process that builds many small objects and frees almost none before it exits:
# the cyclic collector only burns time on them. bench/generate_bench.py --gc-modes measured, at 1,000 services,
# CPU 26.8 s with the collector on, 25.4 s frozen after loading, 21.9 s off, and the same peak memory: off it is.
GC_MODES = ("off", "freeze", "default")
GC_MODE = "off"


def _tune_gc(mode: str) -> None:
    """After loading: 'freeze' moves everything so far out of the collector's sight, 'off' stops it."""
    if mode == "freeze":
        gc.freeze()
    elif mode == "off":
        gc.disable()


def _only(values: tuple[str, ...], project: Project) -> tuple[str, ...]:
    """The outputs --only names (grafana and stack name their parts), each one the project generates."""
    from obsgen.emit import UnknownOutput, expand

    try:
        names = expand(n.strip() for v in values for n in v.split(",") if n.strip())
    except UnknownOutput as exc:
        raise click.BadParameter(str(exc), param_hint="--only") from None
    other = [n for n in names if n not in project.outputs]
    if other:
        raise click.BadParameter(f"{other[0]!r} is not among the outputs of {project.file or 'this project'} "
                                 f"({', '.join(project.outputs)})", param_hint="--only")
    return names


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
                   "k6, compose; grafana and stack name groups of them); others stay as they are.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds to wait for another obsgen run on the same output folder before failing.")
@click.option("--gc", "gc_mode", type=click.Choice(GC_MODES), default=None, hidden=True,
              help="Garbage collector mode for the run (benchmarks compare them).")
@friendly
def generate(config: Path | None, catalogs: Path | None, out: Path | None, env: str | None, check: bool,
             only: tuple[str, ...], lock_timeout: float, gc_mode: str | None) -> None:
    """Regenerate the outputs the project file selects from the catalogs.

    Writing is confined to the output folder (no path outside it, and no symbolic link inside it, is ever written or
    deleted) and crash-safe: an interrupted run is finished or undone by the next one, and --check reports it.
    Runs on one folder take turns through its lock file .obsgen.lock; a run that waits longer than --lock-timeout
    fails without writing.
    """
    from obsgen import pipeline
    from obsgen.emit import OutputClash, needs_cases
    from obsgen.writer import WriterError, diff, kill_at_step, write

    project = _project(config)
    outputs = _only(only, project)
    chosen = outputs or project.outputs
    settings = project.settings  # the emitters get values; nothing reads the environment
    target = out if out is not None else project.out_path
    loaded = _load(project, catalogs, env)
    _tune_gc(gc_mode or GC_MODE)
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
    plan = _planned(config, catalogs, env)
    click.echo(f"obsgen: {len(plan.services)} catalogs are valid")


@main.command("list")
@config_option
@catalogs_option
@env_option
@friendly
def list_(config: Path | None, catalogs: Path | None, env: str | None) -> None:
    """Print what the catalogs define: services, metrics, SLOs and alerts."""
    plan = _planned(config, catalogs, env)
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


@main.command()
@config_option
@catalogs_option
@env_option
@click.option("--service", "services", multiple=True, help="Simulate only this service (repeatable); default: every catalog.")
@click.option("--listen", type=ListenAddress(), default="127.0.0.1:8000", show_default=True,
              help="HOST:PORT to serve on (port 0 picks a free one; [::1]:PORT for IPv6).")
@friendly
def simulate(config: Path | None, catalogs: Path | None, env: str | None, services: tuple[str, ...], listen: tuple[str, int]) -> None:
    """Run a demo service exposing the catalogs' metrics, the load tests' endpoints and a fault endpoint."""
    import signal
    import threading

    try:
        from obsgen.simulate import DemoServer, Simulator
    except ImportError as exc:
        raise click.ClickException(f"the demo service needs prometheus-client: pip install 'obsgen[demo]' ({exc})") from exc

    bundle = _planned(config, catalogs, env).bundle
    host, port = listen
    try:
        sim = Simulator(bundle, list(services) or None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        server = DemoServer(sim, host, port).start()
    except OSError as exc:  # in use, not an address of this host, or a name that does not resolve
        sim.tracer.shutdown()
        sim.log.shutdown()
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    paths = ", ".join(f"/metrics/{name}" for name in sim.metrics)
    click.echo(f"obsgen simulate: serving {', '.join(sim.metrics)} at {server.url} (metrics /metrics, {paths}; faults POST/DELETE /-/fault)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@main.command("import")
@click.option("--grafana-url", "url", type=HttpUrl(), required=True, help="Grafana base URL, e.g. http://127.0.0.1:3000.")
@click.option("--token-file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="File holding a Grafana service account token (default: the GRAFANA_TOKEN environment variable).")
@config_option
@click.option("--dashboards", "root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Generated dashboards directory (<folder>/<name>.json); default: the project's (dashboards).")
@click.option("--dry-run", is_flag=True, help="Show what would be created or updated; change nothing.")
@click.option("--timeout", type=Seconds(), default=10.0, show_default=True,
              help="Seconds per HTTP request in total (connect and every read); each retry gets its own.")
@click.option("--retries", type=click.IntRange(0, 10), default=3, show_default=True,
              help="Retries for timeouts and 502/503/504 answers.")
@friendly
def import_(url: str, token_file: Path | None, config: Path | None, root: Path | None, dry_run: bool, timeout: float,
            retries: int) -> None:
    """Create folders and upload every generated dashboard to Grafana (overwrite by UID)."""
    from obsgen.grafana_import import DashboardFileError, GrafanaImportError, import_dashboards

    if root is None:
        project = _project(config)
        root = project.out_path / project.settings.root("dashboards", "dashboards")

    if token_file:
        token = http_token(token_file.read_bytes(), str(token_file))
    else:
        token = http_token(os.environ.get("GRAFANA_TOKEN", "").encode("utf-8", "surrogateescape"), "GRAFANA_TOKEN")
    if not token:
        raise click.UsageError("no Grafana token: set GRAFANA_TOKEN or pass --token-file (tokens are never taken as flag values)")
    try:
        folders, outcomes = import_dashboards(url, token, root, dry_run=dry_run, timeout=timeout, retries=retries)
    except DashboardFileError as exc:
        for problem in exc.problems:
            click.echo(one_line(problem), err=True)
        count = len(exc.problems)
        click.echo(f"obsgen import: {count} problem{'s' if count != 1 else ''} in {root}; nothing was uploaded", err=True)
        sys.exit(1)
    except GrafanaImportError as exc:
        click.echo(one_line(f"obsgen import: {exc}"), err=True)
        sys.exit(1)
    for line in folders:
        click.echo(line)
    for o in outcomes:
        click.echo(f"{o.action:<13} {o.path}  (uid {o.uid}, folder {o.folder}){'  ' + o.message if o.message else ''}",
                   err=o.action == "failed")
    counts = {a: sum(o.action == a for o in outcomes) for a in dict.fromkeys(o.action for o in outcomes)}
    summary = ", ".join(f"{n} {a}" for a, n in counts.items())
    click.echo(f"obsgen import: {len(outcomes)} dashboards{' (dry run)' if dry_run else ''}: {summary}")
    if counts.get("failed"):
        sys.exit(1)


@main.command()
@click.option("--prometheus", default="http://127.0.0.1:9090", show_default=True, help="Prometheus base URL.")
@click.option("--alertmanager", default="http://127.0.0.1:9093", show_default=True, help="Alertmanager base URL.")
@click.option("--grafana", default="http://127.0.0.1:3000", show_default=True, help="Grafana base URL (token from GRAFANA_TOKEN).")
@click.option("--loki", default="http://127.0.0.1:3100", show_default=True, help="Loki base URL.")
@click.option("--collector", default="http://127.0.0.1:4318", show_default=True, help="OpenTelemetry Collector OTLP/HTTP base URL.")
@click.option("--jaeger", default="http://127.0.0.1:16686", show_default=True, help="Jaeger query base URL.")
@click.option("--only", default="", help="Comma-separated components to check (default: all).")
@click.option("--wait", default=10.0, show_default=True, help="Seconds to wait for a test log line or span to arrive.")
@friendly
def verify(prometheus: str, alertmanager: str, grafana: str, loki: str, collector: str, jaeger: str, only: str, wait: float) -> None:
    """Check a running stack, one line per check. Exit 0 all ok, 1 a check failed, 3 a component is absent."""
    from obsgen.verify import COMPONENTS, Verifier, exit_code

    chosen = tuple(c.strip() for c in only.split(",") if c.strip()) or COMPONENTS
    unknown = sorted(set(chosen) - set(COMPONENTS))
    if unknown:
        raise click.ClickException(f"unknown component {', '.join(unknown)} (choose from {', '.join(COMPONENTS)})")
    urls = {"prometheus": prometheus, "alertmanager": alertmanager, "grafana": grafana, "loki": loki,
            "collector": collector, "jaeger": jaeger}
    results = Verifier(urls, wait=wait).run(chosen)
    for r in results:
        click.echo(r.line())
    sys.exit(exit_code(results))


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
    layout = Layout.from_project(_project(config), root)
    sys.exit(run_check(layout, strict, fmt, junit, names, mode, click.echo))


@main.command()
@click.argument("alert")
@config_option
@catalogs_option
@env_option
@click.option("--alertmanager", default="http://127.0.0.1:9093", show_default=True, help="Alertmanager base URL.")
@click.option("--severity", default=None, help="Which tier, when several share the alert name (default: the most severe).")
@click.option("--expect-receiver", "expect", multiple=True, help="Fail unless the alert reaches exactly these receivers.")
@click.option("--fault", is_flag=True, help="Trigger the real condition through the demo service instead of a synthetic alert.")
@click.option("--demo", default="http://127.0.0.1:8000", show_default=True, help="Demo service (obsgen simulate) URL, for --fault.")
@click.option("--prometheus", default="http://127.0.0.1:9090", show_default=True, help="Prometheus base URL, for --fault.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for each step.")
@friendly
def drill(alert: str, config: Path | None, catalogs: Path | None, env: str | None, alertmanager: str, severity: str | None, expect: tuple[str, ...],
          fault: bool, demo: str, prometheus: str, timeout: float) -> None:
    """Send ALERT through Alertmanager (or trigger it for real with --fault), report its receivers, resolve it."""
    from obsgen import drill as d

    bundle = _planned(config, catalogs, env).bundle
    try:
        if fault:
            receivers = d.with_fault(bundle, alert, alertmanager.rstrip("/"), prometheus.rstrip("/"), demo.rstrip("/"),
                                     severity, timeout, click.echo)
        else:
            receivers = d.synthetic(bundle, alert, alertmanager.rstrip("/"), severity, timeout, click.echo)
    except d.DrillError as exc:
        raise click.ClickException(str(exc)) from exc
    if expect and sorted(expect) != receivers:
        raise click.ClickException(f"{alert} reached {', '.join(receivers)}; expected {', '.join(sorted(expect))}")


if __name__ == "__main__":
    main()

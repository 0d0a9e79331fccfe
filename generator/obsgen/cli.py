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
from obsgen.cli_targets import scope, target_options, target_settings
from obsgen.cli_types import HttpUrl, ListenAddress, Seconds, http_token
from obsgen.errors import CatalogError

if TYPE_CHECKING:
    from obsgen.plan import Plan

F = TypeVar("F", bound=Callable[..., Any])
TARGET_OUTPUTS = ("prometheus-operator", "cortex", "mimir", "thanos")  # outputs written only for a chosen --target

catalogs_option = click.option(
    "--catalogs", "catalogs", type=click.Path(path_type=Path), default=Path("catalogs"), show_default=True,
    help="Directory of catalog files (*.yaml, *.yml, *.jsonnet).",
)
env_option = click.option(
    "--env", "env", default="prod", show_default=True, help="Environment whose overrides apply (dev, staging, prod...).",
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


def _planned(catalogs: Path, env: str) -> Plan:
    """Load, validate and plan: every problem either stage finds is reported, located, before anything else runs."""
    from obsgen import pipeline

    return pipeline.plan(pipeline.load(catalogs, env))


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


def _only(values: tuple[str, ...]) -> tuple[str, ...]:
    from obsgen.emit import EMITTERS

    names = tuple(n.strip() for v in values for n in v.split(",") if n.strip())
    unknown = sorted(set(names) - set(EMITTERS))
    if unknown:
        raise click.BadParameter(f"unknown output {unknown[0]!r}; choose from {', '.join(EMITTERS)}", param_hint="--only")
    return names


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="obsgen")
def main() -> None:
    """Generate Prometheus rules, rule tests, runbooks, Grafana dashboards, Alertmanager routes,
    Loki rules, k6 scenarios and a compose stack from service metric catalogs."""


@main.command()
@catalogs_option
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("."), show_default=True,
              help="Directory to write the generated tree into.")
@env_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing files that would change (drift check).")
@click.option("--only", "only", multiple=True, metavar="OUTPUT[,OUTPUT]",
              help="Generate only these outputs (rules, rule-tests, runbooks, stack, grafana, k6, or a chosen --target); "
                   "others stay as they are.")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds to wait for another obsgen run on the same --out before failing.")
@target_options
@click.option("--gc", "gc_mode", type=click.Choice(GC_MODES), default=None, hidden=True,
              help="Garbage collector mode for the run (benchmarks compare them).")
@friendly
def generate(catalogs: Path, out: Path, env: str, check: bool, only: tuple[str, ...], lock_timeout: float,
             gc_mode: str | None, targets: tuple[str, ...], operator_namespace: str,
             operator_labels: tuple[tuple[str, str], ...], partial_response: tuple[tuple[str, str], ...],
             group_by: tuple[str, ...], global_selector: tuple[Any, ...]) -> None:
    """Regenerate every output from the catalogs.

    Writing is confined to --out (no path outside it, and no symbolic link inside it, is ever written or
    deleted) and crash-safe: an interrupted run is finished or undone by the next one, and --check reports it.
    Runs on one --out take turns through the lock file --out/.obsgen.lock; a run that waits longer than
    --lock-timeout fails without writing.
    """
    from dataclasses import replace

    from obsgen import pipeline
    from obsgen.settings import Settings
    from obsgen.writer import WriterError, diff, kill_at_step, write

    outputs = _only(only)
    chosen = target_settings(targets, operator_namespace, operator_labels, partial_response)
    for name in outputs:
        if name in TARGET_OUTPUTS and not chosen.chosen(name):
            raise click.BadParameter(f"output {name!r} is a rule target: choose it with --target {name}", param_hint="--only")
    # The only place settings are read; the emitters get a value.
    settings = replace(Settings.from_env(os.environ), targets=chosen)
    loaded = pipeline.load(catalogs, env)
    unknown = sorted({s for s, _ in chosen.partial_response} - {"*"} - {s.name for s in loaded.bundle.services})
    if unknown:
        raise click.BadParameter(f"no catalog defines a service {unknown[0]!r}", param_hint="--partial-response")
    _tune_gc(gc_mode or GC_MODE)
    from obsgen.emit import needs_cases

    files = pipeline.emit(pipeline.plan(loaded, scope(group_by, global_selector), with_cases=needs_cases(outputs)),
                          settings, outputs)
    try:
        if outputs:
            files = {**pipeline.kept_files(out, outputs), **files}
        if check:
            drift = diff(files, out, lock_timeout=lock_timeout)
        else:
            drift = write(files, out, lock_timeout=lock_timeout, fault=kill_at_step(os.environ.get("OBSGEN_WRITER_FAULT")))
    except WriterError as exc:
        click.echo(one_line(str(exc)), err=True)
        sys.exit(1)
    if check:
        if drift.clean:
            click.echo(f"obsgen: {len(files)} generated files are up to date")
            return
        for line in drift.lines():
            click.echo(one_line(line))
        click.echo("obsgen: generated files are out of date; run `make generate` and commit the result", err=True)
        sys.exit(1)
    recovered = f"; {drift.interrupted}" if drift.interrupted else ""
    click.echo(
        f"obsgen: {len(loaded.bundle.services)} catalogs -> {len(files)} files in {out} "
        f"({len(drift.changed)} changed, {len(drift.added)} new, {len(drift.stale)} removed{recovered})"
    )


@main.command()
@catalogs_option
@env_option
@friendly
def validate(catalogs: Path, env: str) -> None:
    """Check catalogs against the schema and every cross-reference, naming and cardinality rule."""
    plan = _planned(catalogs, env)
    click.echo(f"obsgen: {len(plan.services)} catalogs are valid")


@main.command("list")
@catalogs_option
@env_option
@friendly
def list_(catalogs: Path, env: str) -> None:
    """Print what the catalogs define: services, metrics, SLOs and alerts."""
    plan = _planned(catalogs, env)
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
@catalogs_option
@env_option
@click.option("--service", "services", multiple=True, help="Simulate only this service (repeatable); default: every catalog.")
@click.option("--listen", type=ListenAddress(), default="127.0.0.1:8000", show_default=True,
              help="HOST:PORT to serve on (port 0 picks a free one; [::1]:PORT for IPv6).")
@friendly
def simulate(catalogs: Path, env: str, services: tuple[str, ...], listen: tuple[str, int]) -> None:
    """Run a demo service exposing the catalogs' metrics, the load tests' endpoints and a fault endpoint."""
    import signal
    import threading

    try:
        from obsgen.simulate import DemoServer, Simulator
    except ImportError as exc:
        raise click.ClickException(f"the demo service needs prometheus-client: pip install 'obsgen[demo]' ({exc})") from exc

    bundle = _planned(catalogs, env).bundle
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
@click.option("--dashboards", "root", type=click.Path(path_type=Path, file_okay=False), default=Path("dashboards"),
              show_default=True, help="Generated dashboards directory (<folder>/<name>.json).")
@click.option("--dry-run", is_flag=True, help="Show what would be created or updated; change nothing.")
@click.option("--timeout", type=Seconds(), default=10.0, show_default=True,
              help="Seconds per HTTP request in total (connect and every read); each retry gets its own.")
@click.option("--retries", type=click.IntRange(0, 10), default=3, show_default=True,
              help="Retries for timeouts and 502/503/504 answers.")
@friendly
def import_(url: str, token_file: Path | None, root: Path, dry_run: bool, timeout: float, retries: int) -> None:
    """Create folders and upload every generated dashboard to Grafana (overwrite by UID)."""
    from obsgen.grafana_import import DashboardFileError, GrafanaImportError, import_dashboards

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
@click.option("--root", type=click.Path(path_type=Path, file_okay=False, exists=True), default=Path("."), show_default=True,
              help="The generated tree to check (rules/, dashboards/, compose/, k6/, and deploy/<target>/ when generated).")
@click.option("--strict", is_flag=True, help="A check that cannot run (its tool is absent) fails the run.")
@click.option("--format", "fmt", type=click.Choice(["text", "github"]), default="text", show_default=True,
              help="github adds workflow annotations (::error file=F,line=L::message).")
@click.option("--junit", type=click.Path(path_type=Path, dir_okay=False), help="Also write JUnit XML to this file.")
@click.option("--only", default="", help="Comma-separated checks or tools to run (default: all; see the table's names).")
@click.option("--runner", "mode", type=click.Choice(["auto", "container", "local"]), envvar="OBSGEN_RUNNER", default="auto",
              show_default=True, help="auto: the pinned image when an engine answers, else a local binary.")
@friendly
def check_(root: Path, strict: bool, fmt: str, junit: Path | None, only: str, mode: str) -> None:
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
    sys.exit(run_check(Layout.found(root), strict, fmt, junit, names, mode, click.echo))


@main.command()
@click.argument("alert")
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
def drill(alert: str, catalogs: Path, env: str, alertmanager: str, severity: str | None, expect: tuple[str, ...],
          fault: bool, demo: str, prometheus: str, timeout: float) -> None:
    """Send ALERT through Alertmanager (or trigger it for real with --fault), report its receivers, resolve it."""
    from obsgen import drill as d

    bundle = _planned(catalogs, env).bundle
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

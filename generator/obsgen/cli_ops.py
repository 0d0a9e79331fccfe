"""Commands that serve or talk to a running stack: simulate, import, verify and drill.

Registered on the `obsgen` group by obsgen.cli; each imports what it needs when it runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from obsgen.cli_common import catalogs_option, config_option, env_option, friendly, one_line, planned, project_of
from obsgen.cli_types import HttpUrl, ListenAddress, Seconds, http_token


@click.command()
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

    bundle = planned(config, catalogs, env).bundle
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


@click.command("import")
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
        project = project_of(config)
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


@click.command()
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


@click.command()
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

    bundle = planned(config, catalogs, env).bundle
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


COMMANDS = (simulate, import_, verify, drill)

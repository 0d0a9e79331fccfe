"""The obsgen command line: a thin layer over load -> validate -> model -> emit -> write."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from obsgen import __version__
from obsgen.catalog import load_bundle
from obsgen.errors import CatalogError
from obsgen.model import Bundle

F = TypeVar("F", bound=Callable[..., Any])

catalogs_option = click.option(
    "--catalogs", "catalogs", type=click.Path(path_type=Path), default=Path("catalogs"), show_default=True,
    help="Directory of catalog files (*.yaml, *.yml, *.jsonnet).",
)
env_option = click.option(
    "--env", "env", default="prod", show_default=True, help="Environment whose overrides apply (dev, staging, prod...).",
)


def friendly(func: F) -> F:
    """Turn catalog problems into one line each and any other failure into one line, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CatalogError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            count = len(exc.problems)
            click.echo(f"obsgen: {count} problem{'s' if count != 1 else ''} found; nothing was written", err=True)
            sys.exit(1)
        except OSError as exc:
            click.echo(f"obsgen: {exc.filename or ''}: {exc.strerror or exc}", err=True)
            sys.exit(1)
        except (click.ClickException, click.exceptions.Exit, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
            if os.environ.get("OBSGEN_DEBUG"):
                traceback.print_exc()
            click.echo(f"obsgen: internal error: {type(exc).__name__}: {exc} (set OBSGEN_DEBUG=1 for details)", err=True)
            sys.exit(70)

    return wrapper  # type: ignore[return-value]


def _load(catalogs: Path, env: str) -> Bundle:
    return load_bundle(catalogs, env)


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
@friendly
def generate(catalogs: Path, out: Path, env: str, check: bool) -> None:
    """Regenerate every output from the catalogs."""
    from obsgen.emit import emit_all
    from obsgen.writer import diff, write

    bundle = _load(catalogs, env)
    files = emit_all(bundle)
    if check:
        drift = diff(files, out)
        if drift.clean:
            click.echo(f"obsgen: {len(files)} generated files are up to date")
            return
        for line in drift.lines():
            click.echo(line)
        click.echo("obsgen: generated files are out of date; run `make generate` and commit the result", err=True)
        sys.exit(1)
    drift = write(files, out)
    click.echo(
        f"obsgen: {len(bundle.services)} catalogs -> {len(files)} files in {out} "
        f"({len(drift.changed)} changed, {len(drift.added)} new, {len(drift.stale)} removed)"
    )


@main.command()
@catalogs_option
@env_option
@friendly
def validate(catalogs: Path, env: str) -> None:
    """Check catalogs against the schema and every cross-reference, naming and cardinality rule."""
    bundle = _load(catalogs, env)
    click.echo(f"obsgen: {len(bundle.services)} catalogs are valid")


@main.command("list")
@catalogs_option
@env_option
@friendly
def list_(catalogs: Path, env: str) -> None:
    """Print what the catalogs define: services, metrics, SLOs and alerts."""
    from obsgen.plan import plan_bundle

    bundle = _load(catalogs, env)
    plan = plan_bundle(bundle)
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


if __name__ == "__main__":
    main()

"""`obsgen convert`: Sloth and OpenSLO specs into catalogs (the conversion itself is obsgen.convert).

Registered on the `obsgen` group by obsgen.cli, like the commands of obsgen.cli_ops.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from obsgen.cli_common import config_option, friendly, one_line, project_of


@click.command("convert")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--from", "fmt", type=click.Choice(["sloth", "sloth-k8s", "openslo"]), default=None,
              help="The input format; detected per document when left out.")
@config_option
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder to write the catalogs into (one per service); default: the project's catalogs folder.")
@click.option("--period", default="30d", show_default=True,
              help="SLO period for specs that name none (Sloth's --default-slo-period), in days or weeks.")
@click.option("--force", is_flag=True, help="Replace catalogs of the same name that obsgen convert did not write.")
@friendly
def convert_(inputs: tuple[Path, ...], fmt: str | None, config: Path | None, out: Path | None, period: str, force: bool) -> None:
    """Convert Sloth specs (prometheus/v1 or the Kubernetes CRD) and OpenSLO v1alpha SLOs into obsgen catalogs.

    Notes (values written differently) and problems print as one located line each; with any problem nothing is
    written (exit 1). Converting the same input again rewrites nothing.
    """
    from obsgen.convert import convert, write

    if not re.fullmatch(r"[0-9]+[dw]", period) or int(period[:-1]) == 0:
        raise click.BadParameter(f"{period!r} is not a period in days or weeks (e.g. 30d, 28d, 4w)", param_hint="--period")
    target = out if out is not None else project_of(config).catalogs_path
    result = convert(list(inputs), fmt, period, str(target))
    for note in result.notes:
        click.echo(one_line(str(note)), err=True)
    if not result.errors:
        written, unchanged, refusals = write(result.files, target, force)
        result.errors = refusals
    if result.errors:
        for problem in result.errors:
            click.echo(one_line(str(problem)), err=True)
        count = len(result.errors)
        click.echo(f"obsgen convert: {count} problem{'s' if count != 1 else ''} found; nothing was written", err=True)
        sys.exit(1)
    click.echo(f"obsgen convert: {len(result.files)} catalogs in {target} ({len(written)} written, {len(unchanged)} unchanged"
               f"{f', {len(result.notes)} notes above' if result.notes else ''})")

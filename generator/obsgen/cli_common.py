"""What every obsgen command shares: the options, one-line errors, and reading the project file and the catalogs.

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

from obsgen.errors import CatalogError

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


def project_of(config: Path | None) -> Project:
    """The project file of --config, else ./obsgen.yaml, else the defaults (problems in it stop the run, located)."""
    from obsgen.project import find_project

    return find_project(config)


def env_of(env: str | None, project: Project) -> str:
    """--env, which must be one the project declares, else the project's default environment."""
    if env is None:
        return project.default_env
    if env not in project.environments:
        where = project.file or "obsgen's defaults"
        raise click.BadParameter(f"unknown environment {env!r}; {where} declares {', '.join(project.environments)} "
                                 "(environments.names)", param_hint="--env")
    return env


def load_catalogs(project: Project, catalogs: Path | None, env: str | None) -> Loaded:
    """The catalog stage: --catalogs (named as given), else the project's folder (named as the project file writes it)."""
    from obsgen import pipeline

    chosen = env_of(env, project)
    if catalogs is not None:
        loaded = pipeline.load(catalogs, chosen)
    else:
        loaded = pipeline.load(project.catalogs_path, chosen, display=project.catalogs)
    problems = pipeline.environment_problems(loaded, project.environments, str(project.file or "obsgen's defaults"))
    if problems:
        raise CatalogError(problems)
    return loaded


def planned(config: Path | None, catalogs: Path | None, env: str | None) -> Plan:
    """Load, validate and plan: every problem either stage finds is reported, located, before anything else runs."""
    from obsgen import pipeline

    project = project_of(config)
    return pipeline.planned(load_catalogs(project, catalogs, env), project.plan)


# Generation is one short process that builds many small objects and frees almost none before it exits:
# the cyclic collector only burns time on them. bench/generate_bench.py --gc-modes measured, at 1,000 services,
# CPU 26.8 s with the collector on, 25.4 s frozen after loading, 21.9 s off, and the same peak memory: off it is.
GC_MODES = ("off", "freeze", "default")
GC_MODE = "off"


def tune_gc(mode: str) -> None:
    """After loading: 'freeze' moves everything so far out of the collector's sight, 'off' stops it."""
    if mode == "freeze":
        gc.freeze()
    elif mode == "off":
        gc.disable()


def only_outputs(values: tuple[str, ...], project: Project) -> tuple[str, ...]:
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

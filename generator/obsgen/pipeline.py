"""The pipeline as stages, each a function of the previous stage's output:

    load + validate + model (catalog/)  ->  plan (plan/)  ->  emit (emit/)  ->  write (writer)

The CLI and the test harness run exactly these functions; nothing else strings the stages together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from obsgen import model as m
from obsgen.catalog.build import load_bundle
from obsgen.catalog.load import RawCatalog, format_path
from obsgen.emit import emit_all, needs_cases, owner
from obsgen.errors import CatalogError, Problem
from obsgen.plan import Plan, PlanProblem, PlanProblems, build_plan
from obsgen.promql import PLAIN, Scope
from obsgen.settings import Settings


@dataclass(frozen=True)
class Loaded:
    """The catalog stage's output: the model, and each service's source so later stages can locate problems."""

    bundle: m.Bundle
    sources: Mapping[str, RawCatalog] = field(default_factory=dict)


def load(catalogs: Path, env: str = "prod") -> Loaded:
    """Load, validate and build the model; raises CatalogError listing every problem."""
    sources: dict[str, RawCatalog] = {}
    bundle = load_bundle(catalogs, env, sources=sources)
    return Loaded(bundle, sources)


def _locate(problem: PlanProblem, sources: Mapping[str, RawCatalog]) -> Problem:
    raw = sources.get(problem.service)
    if raw is None:
        return Problem(problem.service, None, format_path(problem.path), problem.message)
    return Problem(raw.file, raw.line_of(problem.path), format_path(problem.path), problem.message)


def plan(loaded: Loaded, scope: Scope = PLAIN, with_cases: bool = True) -> Plan:
    """Build the plan once; its problems come back as located catalog problems (file:line: field: message)."""
    try:
        return build_plan(loaded.bundle, scope, with_cases)
    except PlanProblems as exc:
        raise CatalogError([_locate(p, loaded.sources) for p in exc.problems]) from None


def emit(planned: Plan, settings: Settings, only: Iterable[str] = ()) -> dict[str, str]:
    """Every file of the selected outputs, {relative path: text}."""
    return emit_all(planned, settings, only)


def kept_files(out: Path, only: Iterable[str]) -> dict[str, str]:
    """Files of the outputs not selected, as they are on disk, so a partial run (--only) neither rewrites nor removes them."""
    from obsgen.writer import read_kept  # read through the writer's checks: no link followed, nothing outside --out

    selected = set(only)
    return read_kept(out, lambda rel: owner(rel) not in selected)


def generate(catalogs: Path, env: str = "prod", settings: Settings | None = None, only: Iterable[str] = ()) -> dict[str, str]:
    """load -> plan -> emit in one call, for tools and tests that want the files without writing them."""
    return emit(plan(load(catalogs, env), with_cases=needs_cases(only)), settings or Settings(), only)

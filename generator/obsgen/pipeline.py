"""The pipeline as stages, each a function of the previous stage's output:

    load + validate + model (catalog/)  ->  plan (plan/)  ->  emit (emit/)  ->  write (writer)

The CLI and the test harness run exactly these functions; nothing else strings the stages together.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from obsgen import model as m
from obsgen.catalog.build import load_bundle
from obsgen.catalog.load import RawCatalog, format_path
from obsgen.emit import emit_all, needs_cases, owner, roots
from obsgen.errors import CatalogError, Problem
from obsgen.plan import Plan, PlanProblem, PlanProblems, build_plan
from obsgen.promql import PLAIN, Scope
from obsgen.settings import PlanSettings, Settings
from obsgen.slo_options import DEFAULT as DEFAULT_SLO
from obsgen.slo_options import SloOptions


@dataclass(frozen=True)
class Loaded:
    """The catalog stage's output: the model, and each service's source so later stages can locate problems."""

    bundle: m.Bundle
    sources: Mapping[str, RawCatalog] = field(default_factory=dict)


def load(catalogs: Path, env: str = "prod", display: str | None = None) -> Loaded:
    """Load, validate and build the model; raises CatalogError listing every problem.

    display names the catalogs folder in generated headers (the project file's own spelling, so the bytes do not
    depend on where obsgen runs); problems keep naming the files as they were opened.
    """
    sources: dict[str, RawCatalog] = {}
    bundle = load_bundle(catalogs, env, sources=sources)
    if display is not None:
        named = tuple(replace(s, source=posixpath.normpath(posixpath.join(display, Path(s.source).name))) for s in bundle.services)
        bundle = replace(bundle, services=named)
    return Loaded(bundle, sources)


def environment_problems(loaded: Loaded, declared: Iterable[str], where: str) -> list[Problem]:
    """Catalog overrides for an environment the project does not declare: a typo there would never apply."""
    names = tuple(declared)
    problems = []
    for raw in loaded.sources.values():
        overrides = raw.data.get("environments", {}) if isinstance(raw.data, dict) else {}
        for env in overrides if isinstance(overrides, dict) else ():
            if env not in names:
                problems.append(Problem(raw.file, raw.line_of(("environments", env)), f"environments.{env}",
                                        f"{where} declares no environment '{env}' (environments.names: {', '.join(names)})"))
    return problems


def _locate(problem: PlanProblem, sources: Mapping[str, RawCatalog]) -> Problem:
    raw = sources.get(problem.service)
    if raw is None:
        return Problem(problem.service, None, format_path(problem.path), problem.message)
    return Problem(raw.file, raw.line_of(problem.path), format_path(problem.path), problem.message)


def plan(loaded: Loaded, scope: Scope = PLAIN, with_cases: bool = True, runbook_base: str = "",
         slo: SloOptions = DEFAULT_SLO) -> Plan:
    """Build the plan once; its problems come back as located catalog problems (file:line: field: message)."""
    try:
        return build_plan(loaded.bundle, scope, with_cases, runbook_base, slo=slo)
    except PlanProblems as exc:
        raise CatalogError([_locate(p, loaded.sources) for p in exc.problems]) from None


def emit(planned: Plan, settings: Settings, only: Iterable[str] = ()) -> dict[str, str]:
    """Every file of the selected outputs, {relative path: text}."""
    return emit_all(planned, settings, only)


def planned(loaded: Loaded, settings: PlanSettings, with_cases: bool = True) -> Plan:
    """The plan under a project's plan settings (grouping labels, global selector, runbook base, SLO options)."""
    return plan(loaded, settings.scope, with_cases, settings.runbook_base, settings.slo)


def kept_files(out: Path, only: Iterable[str], settings: Settings | None = None) -> dict[str, str]:
    """Files of the outputs not selected, as they are on disk, so a partial run (--only) neither rewrites nor removes them."""
    from obsgen.writer import read_kept  # read through the writer's checks: no link followed, nothing outside --out

    selected = set(only)
    where = roots(settings)
    return read_kept(out, lambda rel: owner(rel, where) not in selected)


def generate(catalogs: Path, env: str = "prod", settings: Settings | None = None, only: Iterable[str] = (),
             plan_settings: PlanSettings | None = None) -> dict[str, str]:
    """load -> plan -> emit in one call, for tools and tests that want the files without writing them."""
    planned_ = planned(load(catalogs, env), plan_settings or PlanSettings(), needs_cases(only))
    return emit(planned_, settings or Settings(), only)

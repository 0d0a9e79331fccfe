"""Harness for the tests against Sloth: its examples and their own generated rules from the Go module cache, obsgen's
conversion and rules for the same files, and synthetic inputs that drive an SLO's error ratio through a scenario.

Inputs come from the plan's own query inputs (obsgen.plan.query_inputs): a bad and a good event of each SLO,
mixed minute by minute in the scenario's proportion, so both tools read exactly the same series.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsgen import model as m
from obsgen import pipeline
from obsgen.convert import convert
from obsgen.plan import SloPlan
from obsgen.plan.query_inputs import QueryInputs, query_inputs
from obsgen.plan.synth import Synth
from obsgen.settings import Settings
from obsgen.slo_options import SloOptions

PLUGIN_KEYS = re.compile(r"^\s*(plugin|plugins|slo_plugins|sloPlugins):", re.M)
EVENTS_PER_MINUTE = 1000.0  # counter SLIs: this many events a minute, a share of them bad
CLIENTS = 20  # gauge SLIs: this many series, a share of them showing the bad value
SLOTH_LIKE = SloOptions(sloth_compatible=True, page_for="0m", ticket_for="0m")  # Sloth's labels, and no `for:`
THEIRS = "sloth_gen:"  # Sloth's records renamed (slo:... -> sloth_gen:...) so both tools' rules load side by side


def plugin_free(module: Path) -> list[Path]:
    """Sloth's examples that use no plugin (at SLI, SLO or spec level), sorted."""
    examples = sorted((module / "examples").glob("*.y*ml"))
    return [p for p in examples if not PLUGIN_KEYS.search(p.read_text(encoding="utf-8"))]


def with_plugins(module: Path) -> list[Path]:
    return sorted(p for p in (module / "examples").glob("*.y*ml") if p not in plugin_free(module))


def sloth_groups(module: Path, example: Path) -> list[dict[str, Any]]:
    """Sloth's own generated rule groups for an example (the groups of a PrometheusRule's spec for the CRD form).

    Its record names are renamed to sloth_gen:... (records and the expressions that read them, nothing else), so they
    do not meet obsgen's Sloth-compatible records of the same names when both rule sets run in one promtool test.
    """
    text = (module / "examples" / "_gen" / example.name).read_text(encoding="utf-8")
    text = re.sub(r"(?<![\w:])(slo:|sloth_slo_info\b)", lambda mt: THEIRS if mt.group(1) == "slo:" else THEIRS + "slo_info",
                  text)
    groups: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        groups += doc["spec"]["groups"] if doc.get("kind") == "PrometheusRule" else doc["groups"]
    return groups


@dataclass(frozen=True)
class Converted:
    """One example converted and planned: the catalogs' folder, obsgen's rule files and each SLO's plan and inputs."""

    catalogs: Path
    rules: dict[str, str]  # rules/<service>.yaml -> text
    slos: list[tuple[m.Service, SloPlan, QueryInputs]]


def converted(example: Path, work: Path, options: SloOptions = SLOTH_LIKE) -> Converted:
    """Convert an example as `obsgen convert` does, then plan and emit its rules with the given SLO options."""
    result = convert([example], out=str(work / "catalogs"))
    assert not result.errors, [str(p) for p in result.errors]
    folder = work / "catalogs"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in result.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    planned = pipeline.plan(pipeline.load(folder), with_cases=False, slo=options)
    files = pipeline.emit(planned, Settings(), ["rules"])
    rules = {k: v for k, v in files.items() if k.startswith("rules/") and "obsgen-meta" not in k}
    slos = []
    for sp_service in planned.services:
        svc = sp_service.service
        for i, sp in enumerate(sp_service.slos):
            slos.append((svc, sp, query_inputs(svc, sp.slo, Synth(svc), ("slos", i))))
    return Converted(folder, rules, slos)


# -- scenarios ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    """An error ratio per minute, and what the SLO it is aimed at must do (besides both tools agreeing)."""

    name: str
    shares: tuple[float, ...]  # bad share of events, minute by minute
    fires: frozenset[str] | None  # exactly these tiers fire for the aimed SLO at some time; None: page at least


def scenarios(budget: float) -> list[Scenario]:
    """A clean run, a fast burn, a slow burn and a burst shorter than the 5m short window, scaled to the budget.

    Kept short: Sloth's subquery SLIs cost each evaluation a step per minute of the window, so promtool's time grows
    with the square of the run. The burst is strong enough that the 5m window alone would page (27x the budget for
    3 minutes reads 16x over 5 minutes), yet after 80 quiet minutes no long window reaches its factor.
    """
    fast = (0.0,) * 15 + (0.95,) * 15 + (0.0,) * 15
    slow = (0.0,) * 20 + (2.3 * budget,) * 40  # 2.3x: over the 1x ticket factor once 6h holds 15 minutes of it
    burst = (0.0,) * 80 + (min(1.0, 27 * budget),) * 3 + (0.0,) * 5
    return [
        Scenario("clean run", (0.0,) * 20, frozenset()),
        Scenario("fast burn", fast, None),
        Scenario("slow burn", slow, frozenset({"ticket"})),
        Scenario("burst shorter than the short window", burst, frozenset()),
    ]


def _dithered(shares: tuple[float, ...], slots: int) -> list[int]:
    """Bad clients each minute so that the running total follows the shares without ever running ahead of them
    (error diffusion, rounding down): a burst never reads more than it was meant to."""
    out, carried = [], 0.0
    for share in shares:
        carried += share * slots
        whole = min(slots, int(math.floor(carried + 1e-9)))
        out.append(whole)
        carried -= whole
    return out


def input_series(inputs: QueryInputs, shares: tuple[float, ...]) -> list[dict[str, str]]:
    """promtool input series following the shares: counters as cumulative values, gauge clients as their values."""
    counters: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for event, side in ((inputs.bad, True), (inputs.good, False)):
        for labels, inc in event.counters:
            per_minute = [inc * EVENTS_PER_MINUTE * (s if side else 1 - s) for s in shares]
            row = counters.setdefault(labels, [0.0] * len(shares))
            for t, value in enumerate(per_minute):
                row[t] += value
    out = []
    for labels, increments in sorted(counters.items()):
        total, values = 0.0, ["0"]
        for inc in increments:
            total += inc
            values.append(_num(total))
        out.append({"series": _series(labels), "values": " ".join(values)})
    if inputs.bad.gauges or inputs.good.gauges:
        bad_now = _dithered(shares, CLIENTS)
        for client in range(CLIENTS):
            tag = ("client", f"c{client:02d}")
            rows: dict[tuple[tuple[str, str], ...], list[str]] = {}
            for t in range(len(shares)):
                event = inputs.bad if client < bad_now[t] else inputs.good
                for labels, value in event.gauges:  # a client shows one value a minute; a series it leaves goes stale
                    rows.setdefault(tuple(sorted((*labels, tag))), ["stale"] * len(shares))[t] = _num(value)
            for labels, values in sorted(rows.items()):
                out.append({"series": _series(labels), "values": " ".join([values[0], *values])})
    return out


def _num(value: float) -> str:
    return repr(round(value, 6)).removesuffix(".0")


def _series(labels: tuple[tuple[str, str], ...]) -> str:
    d = dict(labels)
    name = d.pop("__name__")
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(d.items())) + "}"


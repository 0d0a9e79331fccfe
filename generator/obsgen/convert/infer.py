"""Metrics a converted catalog declares, inferred from the SLI queries, so obsgen type-checks the queries against them.

What a query shows is taken at its word: `x_bucket{le="0.4"}` is a histogram with a 0.4 bucket, `x_count` alone a
summary, a `_total` name or anything under rate()/increase() a counter, the rest a gauge. Labels are the ones the
queries match on, with a placeholder bound; names that break obsgen's naming rules because an exporter chose them
get a lint allowance saying so. Recording rules and Prometheus' own series are not declared.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from obsgen.catalog.checks import BUILTIN_SERIES
from obsgen.catalog.lint import NON_BASE_UNITS
from obsgen.promql import WINDOW_TEMPLATE, Agg, Binary, Call, Neg, Paren, Subquery, Vector
from obsgen.promql_parse import PromQLSyntaxError, to_expr

IMPLICIT = ("job", "instance", "le", "quantile", "__name__")
RATE = ("rate", "irate", "increase")
SERIES_LIMIT = 10000  # catalog/lint.py's MAX_SERIES_PER_METRIC: bounds are chosen to stay under it
UNITS = (("_seconds", "seconds"), ("_bytes", "bytes"), ("_ratio", "ratio"), ("_percent", "percent"))


@dataclass
class _Seen:
    names: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    buckets: set[float] = field(default_factory=set)
    rated: bool = False


def _walk(node: object, rated: bool, out: list[tuple[Vector, bool]]) -> None:
    if isinstance(node, Vector):
        out.append((node, rated))
        return
    if isinstance(node, Call):
        for arg in node.args:
            _walk(arg, rated or node.func in RATE, out)
    elif isinstance(node, Binary):
        _walk(node.lhs, rated, out)
        _walk(node.rhs, rated, out)
    elif isinstance(node, (Paren, Neg, Subquery, Agg)):
        _walk(node.expr, rated, out)


def _base(name: str) -> tuple[str, str]:
    for suffix in ("_bucket", "_count", "_sum"):
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, ""


def _bound_values(vector: Vector) -> Iterable[float]:
    for mt in vector.matchers:
        if mt.label == "le" and mt.op in ("=", "=~"):
            for alt in mt.value.split("|"):
                try:
                    value = float(alt.replace("\\.", "."))
                except ValueError:
                    continue
                if math.isfinite(value) and value > 0:
                    yield value


def infer_metrics(queries: Iterable[str], source: str) -> list[dict[str, Any]]:
    """Catalog metric entries for every series the queries select, sorted by name. Unparsable queries are skipped
    here: the catalog stage reports them, located, when the converted catalog is checked."""
    uses: list[tuple[Vector, bool]] = []
    for text in queries:
        try:
            _walk(to_expr(WINDOW_TEMPLATE.sub("5m", text)), False, uses)
        except PromQLSyntaxError:
            continue
    seen: dict[str, _Seen] = {}
    for vector, rated in uses:
        if not vector.metric or ":" in vector.metric or vector.metric in BUILTIN_SERIES:
            continue
        base, suffix = _base(vector.metric)
        entry = seen.setdefault(base if suffix else vector.metric, _Seen())
        entry.names.add(suffix or "")
        entry.labels |= {mt.label for mt in vector.matchers if mt.label not in IMPLICIT}
        entry.buckets |= set(_bound_values(vector)) if suffix == "_bucket" else set()
        entry.rated = entry.rated or rated
    return [m for name in sorted(seen) if (m := _metric(name, seen[name], source)) is not None]


def _metric(name: str, seen: _Seen, source: str) -> dict[str, Any] | None:
    if "_bucket" in seen.names:
        if not seen.buckets:
            return None  # a histogram without a known bound cannot be declared; its queries stay unchecked
        kind, how = "histogram", "its _bucket series with le bounds"
    elif seen.names & {"_count", "_sum"}:
        kind, how = "summary", "its _count/_sum series"
    elif name.endswith("_total") or seen.rated:
        kind, how = "counter", "rate() or a _total name"
    else:
        kind, how = "gauge", "read as a value"
    out: dict[str, Any] = {"name": name, "type": kind, "help": f"Inferred by obsgen convert from {source} ({how})."}
    unit = next((u for suffix, u in UNITS if name.endswith(suffix) or name.endswith(suffix + "_total")), None)
    if unit:
        out["unit"] = unit
    if seen.labels:
        per_label = max(2, int(SERIES_LIMIT ** (1 / len(seen.labels)) / (len(seen.buckets) + 1 if kind == "histogram" else 1)))
        out["labels"] = {label: {"bound": min(per_label, 20)} for label in sorted(seen.labels)}
    if kind == "histogram":
        out["buckets"] = sorted(seen.buckets)
    allow = []
    if kind == "counter" and not name.endswith("_total"):
        allow.append("counter-suffix")
    stem = name[: -len("_total")] if name.endswith("_total") else name
    if any(word in NON_BASE_UNITS for word in stem.split("_")[1:]):
        allow.append("base-unit")
    if allow:
        out["lint"] = {"allow": allow, "reason": "named by its exporter; converted as the SLI queries use it"}
    return out

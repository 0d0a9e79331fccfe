"""Build PromQL text once, for every emitter: selectors, rates and recording rule names."""

from __future__ import annotations

from obsgen.model import Matcher, Selector


def fmt_number(value: float) -> str:
    """A float as PromQL and YAML print it most simply: 0.05, 400, 1e-05."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def le_value(bound: float) -> str:
    """Bucket label text as Go's client writes it (1, 0.25); Python's client writes 1.0 for whole numbers."""
    return fmt_number(bound)


def le_matcher(bound: float) -> Matcher:
    """Match a bucket bound whichever client library wrote it."""
    text = le_value(bound)
    if float(bound).is_integer():
        return Matcher("le", "=~", f"{text}|{text}\\.0")
    return Matcher("le", "=", text)


def selector(metric: str, matchers: tuple[Matcher, ...] = ()) -> str:
    if not matchers:
        return metric
    return metric + "{" + ", ".join(m.promql() for m in matchers) + "}"


def sel(s: Selector, extra: tuple[Matcher, ...] = (), suffix: str = "") -> str:
    return selector(s.metric + suffix, (*s.matchers, *extra))


def by_clause(labels: tuple[str, ...] | list[str]) -> str:
    return f"by ({', '.join(labels)})" if labels else ""


def aggregate(op: str, labels: tuple[str, ...] | list[str], inner: str) -> str:
    clause = by_clause(labels)
    return f"{op} {clause} ({inner})" if clause else f"{op}({inner})"


def level(labels: tuple[str, ...] | list[str]) -> str:
    """The level part of a recording rule name: the labels kept, joined by underscores."""
    return "_".join(labels) if labels else "all"


def record_name(labels: tuple[str, ...] | list[str], metric: str, operation: str) -> str:
    """level:metric:operations, the Prometheus recording rule convention."""
    return f"{level(labels)}:{metric}:{operation}"

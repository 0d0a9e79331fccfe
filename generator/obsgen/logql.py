"""The LogQL of log alerts: a small builder of its own, because LogQL is not PromQL (stream selectors, line filters)."""

from __future__ import annotations

from obsgen.promql import fmt_number


def count_matching(selector: str, pattern: str, window: str, by: tuple[str, ...]) -> str:
    """Lines of the streams matching a regular expression over a window, summed by labels."""
    return f"sum by ({', '.join(by)}) (count_over_time({selector} |~ `{pattern}` [{window}]))"


def above(query: str, threshold: float) -> str:
    """The query compared with a threshold: an alert condition."""
    return f"{query} > {fmt_number(threshold)}"


def streams(label: str, regex: str) -> str:
    """A stream selector matching a label against a regular expression: {service_name=~"a|b"}."""
    escaped = regex.replace("\\", "\\\\").replace('"', '\\"')
    return f'{{{label}=~"{escaped}"}}'


def line_filter(selector: str, pattern: str) -> str:
    """Lines of the streams that match a regular expression (Grafana variables such as $search allowed)."""
    return f'{selector} |~ "{pattern}"'

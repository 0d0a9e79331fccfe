"""What selectors select, judged against the label values a catalog declares.

Two slips pass every syntax check and give alerts that can never fire or ratios above 1:
a matcher value that no series can carry (`code="5xx"` on a label declared as 200...503), and an error
ratio whose `errors` counts events its `total` does not. Both are decided here, on declared values where
the label has them and on the matchers as written where it only has a bound.

Error ratios: `errors` must count a subset of `total`'s events. With the same metric, that is the usual
design (`errors` adds a matcher such as code=~"5..", `total` has none or wider ones). With a different
metric (a separate failures counter) obsgen cannot see the events themselves, so it asks for the same
population: every label `total` filters on must be filtered by `errors` to the same or fewer values.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache

from obsgen import model as m


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str] | None:
    r"""A PromQL (RE2, fully anchored) regex as Python's; None when Python cannot read it alike (then it is not
    judged): RE2's POSIX classes such as [[:digit:]] are a plain set to Python, and \p, \Q or \z do not compile."""
    if "[:" in pattern:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and the like: still a valid Python regex
            return re.compile(pattern)
    except re.error:
        return None


def satisfies(value: str, matcher: m.Matcher) -> bool | None:
    """Whether a label value passes a matcher; None when the regex cannot be judged here."""
    if matcher.op in ("=", "!="):
        return (value == matcher.value) == (matcher.op == "=")
    regex = _regex(matcher.value)
    if regex is None:
        return None
    return (regex.fullmatch(value) is not None) == (matcher.op == "=~")


def selected(values: tuple[str, ...], matchers: list[m.Matcher]) -> set[str] | None:
    """The declared values every matcher lets through; None when a regex cannot be judged."""
    out = set()
    for value in values:
        verdicts = [satisfies(value, mt) for mt in matchers]
        if None in verdicts:
            return None
        if all(verdicts):
            out.add(value)
    return out


def _listed(values: tuple[str, ...] | set[str]) -> str:
    return ", ".join(sorted(values)) if values else "none"


def matcher_problems(selector: m.Selector, metric: m.Metric) -> list[str]:
    """Matchers that let no declared value of their label through (a negative matcher that excludes none, such as
    the `label!=""` idiom for "the label is set", is harmless and allowed)."""
    problems: list[str] = []
    for name in selector.labels:
        label = metric.label(name)
        if label is None or not label.values:
            continue  # a bounded label without a value list, or job/instance: nothing to judge against
        mine = [mt for mt in selector.matchers if mt.label == name]
        declared = f"the declared values of '{name}' on '{metric.name}' ({_listed(label.values)})"
        alone = False
        for mt in mine:
            kept = selected(label.values, [mt])
            if kept is None:
                continue
            if mt.op in ("=", "=~") and not kept:
                problems.append(f"matcher {mt.promql()} matches none of {declared}, so it selects nothing")
                alone = True
            elif mt.op in ("!=", "!~") and not kept:
                problems.append(f"matcher {mt.promql()} excludes all of {declared}, so it selects nothing")
                alone = True
        if not alone and len(mine) > 1 and selected(label.values, mine) == set():
            shown = ", ".join(mt.promql() for mt in mine)
            problems.append(f"matchers {shown} together match none of {declared}, so they select nothing")
    return problems


def _narrower(label: str, errors: m.Selector, err_metric: m.Metric, total: m.Selector, total_metric: m.Metric) -> str | None:
    """Why `errors` may count `label` values that `total` leaves out, or None."""
    t_matchers = [mt for mt in total.matchers if mt.label == label]
    e_matchers = [mt for mt in errors.matchers if mt.label == label]
    shown = ", ".join(mt.promql() for mt in t_matchers)
    t_decl, e_decl = total_metric.label(label), err_metric.label(label)
    if t_matchers and errors.metric != total.metric and e_decl is None and label not in ("job", "instance"):
        return f"total counts only {shown}, but errors' metric '{errors.metric}' has no '{label}' label to match it"
    if t_decl is not None and t_decl.values and e_decl is not None and e_decl.values:
        t_kept = selected(t_decl.values, t_matchers)
        e_kept = selected(e_decl.values, e_matchers)
        if t_kept is not None and e_kept is not None:
            extra = e_kept - t_kept
            if extra:
                return f"errors counts {label} {_listed(extra)}, which total never counts" + (f" ({shown})" if shown else "")
            return None
    if not set(t_matchers) <= set(e_matchers):
        return f"total counts only {shown}, and errors does not repeat that matcher"
    return None


def subset_problem(errors: m.Selector, totals: tuple[m.Selector, ...], metrics: dict[str, m.Metric],
                   by: tuple[str, ...] = (), hint: bool = True) -> str | None:
    """Why `errors` may count events none of the totals counts (over the labels total filters on and the by()
    labels), or None; also None when a metric is unknown, which is reported where it is named."""
    err_metric = metrics.get(errors.metric)
    if err_metric is None or any(t.metric not in metrics for t in totals):
        return None
    reasons = []
    for total in totals:
        labels = sorted(set(total.labels) | set(by))
        reason = next(
            (r for label in labels if (r := _narrower(label, errors, err_metric, total, metrics[total.metric]))), None,
        )
        if reason is None:
            return None
        reasons.append(reason)
    # Name the total with the errors' own metric first: that is the one meant to contain it.
    same = [r for t, r in zip(totals, reasons, strict=True) if t.metric == errors.metric]
    reason = (same or reasons)[0]
    swapped = (hint and len(totals) == 1 and totals[0].metric == errors.metric
               and subset_problem(totals[0], (errors,), metrics, by, hint=False) is None)
    return f"errors must count a subset of total's events, or the ratio can exceed 1: {reason}" + (
        "; are errors and total swapped?" if swapped else "")


def grouping_problem(errors: m.Selector, totals: tuple[m.Selector, ...], by: tuple[str, ...]) -> str | None:
    """A by() label that errors filters on and total does not: each group's ratio would read only 0 or 1."""
    for label in by:
        e_matchers = {mt for mt in errors.matchers if mt.label == label}
        if e_matchers and not any({mt for mt in t.matchers if mt.label == label} == e_matchers for t in totals):
            return (f"the ratio is grouped by '{label}', which errors filters on ({', '.join(sorted(mt.promql() for mt in e_matchers))}): "
                    f"each group would read only 0 or 1; drop '{label}' from by, or filter errors on another label")
    return None


def same_events(errors: m.Selector, totals: tuple[m.Selector, ...], metrics: dict[str, m.Metric]) -> bool:
    """Whether `errors` selects exactly what its one total does, which makes the ratio always 1."""
    if len(totals) != 1 or totals[0].metric != errors.metric or errors.metric not in metrics:
        return False
    total, metric = totals[0], metrics[errors.metric]
    for name in sorted(set(errors.labels) | set(total.labels)):
        e_matchers = [mt for mt in errors.matchers if mt.label == name]
        t_matchers = [mt for mt in total.matchers if mt.label == name]
        label = metric.label(name)
        if label is not None and label.values:
            if selected(label.values, e_matchers) != selected(label.values, t_matchers):
                return False
        elif set(e_matchers) != set(t_matchers):
            return False
    return True

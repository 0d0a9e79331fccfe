"""catalog/selectors.py: what matchers select among declared values, and when errors count a subset of total.

The refusals have corpus cases (tests/bad_catalogs/130-139) with their exact lines; this file pins down the
designs that must stay accepted, so the checks never reject a sound catalog.
"""

from __future__ import annotations

import pytest

from obsgen import model as m
from obsgen.catalog.selectors import grouping_problem, matcher_problems, same_events, selected, subset_problem

REQUESTS = m.Metric("requests_total", "counter", "Requests.", labels=(
    m.Label("code", ("200", "404", "500", "503")), m.Label("method", ("GET", "POST")), m.Label("route", bound=10)))
FAILURES = m.Metric("failures_total", "counter", "Failures.", labels=(m.Label("method", ("GET",)),))
SUCCESSES = m.Metric("successes_total", "counter", "Successes.")
METRICS = {x.name: x for x in (REQUESTS, FAILURES, SUCCESSES)}


def sel(metric: str, *matchers: tuple[str, str, str]) -> m.Selector:
    return m.Selector(metric, tuple(m.Matcher(*x) for x in matchers))


@pytest.mark.parametrize(("matchers", "kept"), [
    ([("code", "=", "500")], {"500"}),
    ([("code", "=~", "5..")], {"500", "503"}),
    ([("code", "!~", "5..")], {"200", "404"}),
    ([("code", "=~", "5.."), ("code", "!=", "503")], {"500"}),
    ([("code", "=~", "[[:digit:]]+")], None),  # RE2's POSIX class: Python would misread it, so it is not judged
])
def test_selected_values(matchers: list[tuple[str, str, str]], kept: set[str] | None) -> None:
    assert selected(("200", "404", "500", "503"), [m.Matcher(*x) for x in matchers]) == kept


@pytest.mark.parametrize("matchers", [
    [("code", "=~", "5..")], [("code", "!=", "")], [("code", "!~", "1..")], [("route", "=", "/anything")],
    [("job", "=", "api")], [("code", "=~", "[[:digit:]]{3}")],
])
def test_sound_matchers_pass(matchers: list[tuple[str, str, str]]) -> None:
    """Including `label!=""` (the label is set), matchers on bounded labels, and regexes Python cannot judge."""
    assert matcher_problems(sel("requests_total", *matchers), REQUESTS) == []


@pytest.mark.parametrize(("matchers", "start"), [
    ([("code", "=", "5xx")], 'matcher code="5xx" matches none of'),
    ([("code", "=~", "6..")], 'matcher code=~"6.." matches none of'),
    ([("code", "!~", ".*")], 'matcher code!~".*" excludes all of'),
    ([("code", "=", "500"), ("code", "!~", "5.*")], 'matchers code="500", code!~"5.*" together match none of'),
])
def test_matchers_that_select_nothing_are_named(matchers: list[tuple[str, str, str]], start: str) -> None:
    problems = matcher_problems(sel("requests_total", *matchers), REQUESTS)
    assert len(problems) == 1 and problems[0].startswith(start), problems
    assert "(200, 404, 500, 503)" in problems[0]


@pytest.mark.parametrize(("errors", "totals", "by"), [
    (sel("requests_total", ("code", "=~", "5..")), (sel("requests_total"),), ()),
    (sel("requests_total", ("code", "=", "500"), ("method", "=", "GET")), (sel("requests_total", ("method", "=", "GET")),), ()),
    (sel("requests_total", ("code", "=", "500")), (sel("requests_total", ("code", "=~", "5..")),), ()),
    (sel("requests_total", ("code", "=~", "5..")), (sel("requests_total"),), ("method",)),
    (sel("failures_total"), (sel("requests_total"),), ()),  # failures over attempts
    (sel("failures_total"), (sel("requests_total"),), ("method",)),  # failures declare a subset of methods
    (sel("failures_total", ("method", "=", "GET")), (sel("requests_total", ("method", "=", "GET")),), ()),
    (sel("failures_total"), (sel("successes_total"), sel("failures_total")), ()),  # failures over (successes + failures)
])
def test_sound_error_ratios_pass(errors: m.Selector, totals: tuple[m.Selector, ...], by: tuple[str, ...]) -> None:
    assert subset_problem(errors, totals, METRICS, by) is None
    assert grouping_problem(errors, totals, by) is None
    assert not same_events(errors, totals, METRICS)


@pytest.mark.parametrize(("errors", "totals", "by", "reason"), [
    (sel("requests_total"), (sel("requests_total", ("code", "=~", "5..")),), (),
     "errors counts code 200, 404, which total never counts (code=~\"5..\"); are errors and total swapped?"),
    (sel("requests_total", ("code", "=~", "5..")), (sel("requests_total", ("method", "=", "GET")),), (),
     "errors counts method POST, which total never counts (method=\"GET\")"),
    (sel("requests_total", ("route", "=", "/a")), (sel("requests_total", ("route", "=", "/b")),), (),
     "total counts only route=\"/b\", and errors does not repeat that matcher"),
    (sel("failures_total"), (sel("requests_total", ("route", "=", "/a")),), (),
     "total counts only route=\"/a\", but errors' metric 'failures_total' has no 'route' label to match it"),
    (sel("requests_total", ("method", "=~", "GET|POST")), (sel("failures_total"),), ("method",),
     "errors counts method POST, which total never counts"),
])
def test_errors_outside_total_are_explained(errors: m.Selector, totals: tuple[m.Selector, ...], by: tuple[str, ...],
                                            reason: str) -> None:
    problem = subset_problem(errors, totals, METRICS, by)
    assert problem == f"errors must count a subset of total's events, or the ratio can exceed 1: {reason}"


def test_identical_selections_and_grouping_by_the_filtered_label_are_refused() -> None:
    assert same_events(sel("requests_total", ("code", "=~", ".*")), (sel("requests_total"),), METRICS)
    assert same_events(sel("requests_total", ("route", "=", "/a")), (sel("requests_total", ("route", "=", "/a")),), METRICS)
    problem = grouping_problem(sel("requests_total", ("code", "=~", "5..")), (sel("requests_total"),), ("code",))
    assert problem is not None and problem.startswith("the ratio is grouped by 'code', which errors filters on")

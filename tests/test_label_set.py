"""label_set shares equal label tuples across a plan (peak memory) and must never change a value."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from obsgen.plan.types import label_set


@given(st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=5))
def test_label_set_is_the_sorted_items(mapping: dict[str, str]) -> None:
    assert label_set(mapping) == tuple(sorted(mapping.items()))


def test_equal_label_sets_are_one_object() -> None:
    a = label_set({"job": "svc-1", "le": "+Inf"})
    b = label_set(dict(reversed(list({"job": "svc-1", "le": "+Inf"}.items()))))
    assert a is b
    assert label_set({"le": "+Inf"})[0] is a[1]  # pairs are shared across sets too


def test_values_of_other_types_are_never_swapped_for_equal_ones() -> None:
    assert type(label_set({"x": 1})[0][1]) is int
    assert type(label_set({"x": True})[0][1]) is bool
    assert type(label_set({"x": 1.0})[0][1]) is float
    assert label_set({"x": 1}) is not label_set({"x": 1})  # only text is shared

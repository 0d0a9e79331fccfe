"""The annotation renderer must agree with Prometheus' template functions, or generated tests would lie."""

from __future__ import annotations

import pytest

from obsgen.gotemplate import humanize, humanize_duration, humanize_percentage, render


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (1, "1"), (1234.5, "1.234k"), (1_000_000, "1M"), (0.1, "100m"), (0.0012, "1.2m"), (12.3456, "12.35"), (-2500, "-2.5k")],
)
def test_humanize(value: float, text: str) -> None:
    assert humanize(value) == text


@pytest.mark.parametrize(("value", "text"), [(0.05, "5%"), (0.123456, "12.35%"), (1, "100%"), (0, "0%")])
def test_humanize_percentage(value: float, text: str) -> None:
    assert humanize_percentage(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0s"), (0.4, "400ms"), (1.5, "1.5s"), (61, "1m 1s"), (3600, "1h 0m 0s"), (90061, "1d 1h 1m 1s"), (0.975, "975ms")],
)
def test_humanize_duration(value: float, text: str) -> None:
    assert humanize_duration(value) == text


def test_render_labels_values_and_trim() -> None:
    tpl = 'Job {{ $labels.job }} at {{ $value | humanizePercentage }}; {{ printf "%.2f" $value }}{{- $labels.missing -}} !'
    assert render(tpl, {"job": "api"}, 0.5) == "Job api at 50%; 0.50!"

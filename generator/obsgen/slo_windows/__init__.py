"""Multiwindow, multi-burn-rate alert windows, kept as data (see the SRE workbook, chapter 5)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


@lru_cache(maxsize=1)
def load_windows() -> dict[str, Any]:
    """Window sets keyed by SLO period (30d, 28d)."""
    out: dict[str, Any] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            data = yaml.safe_load(entry.read_text(encoding="utf-8"))
            out[data["period"]] = data
    return out

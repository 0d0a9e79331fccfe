"""Catalog loading and validation: files in, a checked Bundle out, or every problem at once."""

from __future__ import annotations

from obsgen.catalog.build import load_bundle

__all__ = ["load_bundle"]

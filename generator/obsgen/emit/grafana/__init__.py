"""Grafana: one JSON file per dashboard under dashboards/, and provisioning under compose/grafana/."""

from __future__ import annotations

from obsgen.emit.grafana import provisioning
from obsgen.emit.grafana.dashboards import bundle_dashboards
from obsgen.emit.grafana.render import render
from obsgen.model import Bundle
from obsgen.plan import plan_bundle

ROOTS = ("dashboards", "compose/grafana")


def emit(bundle: Bundle) -> dict[str, str]:
    """Every dashboard of the bundle plus Grafana's provisioning files."""
    files = {spec.path: render(spec) for spec in bundle_dashboards(plan_bundle(bundle))}
    files.update(provisioning.emit())
    return files

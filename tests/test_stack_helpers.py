"""Shared helpers for the stack tests: catalogs with routing, rendering to a temp tree, tool lookup."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import yaml

from obsgen.catalog import load_bundle
from obsgen.emit.stack import render
from obsgen.emit.stack.settings import StackSettings
from obsgen.model import Bundle
from obsgen.plan import build_plan

from conftest import missing_tool

REPO = Path(__file__).resolve().parents[1]
CATALOGS = REPO / "catalogs"

# A small catalog with AP-Intake-style escalation tiers, next to a copy of the Divan catalog.
ROUTED_CATALOG = textwrap.dedent(
    """\
    service:
      name: ap-intake-test
      team: finance
      targets:
        - {job: ap-intake-test, addresses: ["ap-intake:8000"]}
      health:
        - {name: live, url: "http://ap-intake:8000/health"}
      routing:
        - {severity: critical, receivers: [pagerduty, slack], repeat_interval: 1h}
        - {severity: warning, receivers: [slack, msteams]}
        - {severity: info, receivers: [email], repeat_interval: 12h}
    metrics:
      - {name: ap_intake_documents_total, type: counter, help: Documents received., unit: events}
    log_alerts:
      - name: ApIntakeOcrFailures
        selector: '{service_name="ap-intake"}'
        pattern: 'OCR failed'
        window: 10m
        threshold: 3
        severity: warning
        summary: OCR keeps failing.
        description: "{{ $value | humanize }} OCR failures in 10 minutes."
    """
)


def need(tool: str) -> str:
    """The tool's path; a missing tool fails in CI and skips (saying why) on a laptop."""
    path = shutil.which(tool)
    if path is None:
        missing_tool(f"{tool} is not installed; run `make test-deps`")
    return path


def routed_bundle(tmp_path: Path) -> Bundle:
    """The Divan catalog plus a catalog with per-severity routing and a log alert."""
    catalogs = tmp_path / "catalogs"
    catalogs.mkdir(parents=True)
    shutil.copy(CATALOGS / "divan-api.yaml", catalogs / "divan-api.yaml")
    (catalogs / "ap-intake-test.yaml").write_text(ROUTED_CATALOG, encoding="utf-8")
    return load_bundle(catalogs, "prod")


def repo_bundle() -> Bundle:
    return load_bundle(CATALOGS, "prod")


def write_tree(files: dict[str, str], root: Path) -> Path:
    """Write rendered files under root; returns root/compose."""
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root / "compose"


def render_tree(bundle: Bundle, root: Path, settings: StackSettings | None = None) -> Path:
    return write_tree(render(build_plan(bundle), settings or StackSettings()), root)


def load_yaml(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))

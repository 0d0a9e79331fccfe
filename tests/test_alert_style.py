"""Alert style as mixtool lints it, and runbook links that resolve to generated pages."""

from __future__ import annotations

import re

import yaml

from conftest import ROOT

CAMEL = re.compile(r"^[A-Z][a-zA-Z0-9]+$")


def _alerts() -> list[dict]:
    out = []
    for path in sorted((ROOT / "rules").glob("*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            out += [r for r in group["rules"] if "alert" in r]
    return out


def test_alerts_follow_mixtool_style() -> None:
    alerts = _alerts()
    assert len(alerts) > 20
    for rule in alerts:
        name = rule["alert"]
        assert CAMEL.match(name), f"{name}: not CamelCase"
        labels, ann = rule["labels"], rule["annotations"]
        assert labels["severity"] in {"critical", "warning", "info"}, name
        assert {"service", "team"} <= set(labels), name
        assert {"summary", "description", "runbook_url"} <= set(ann), name
        assert "{{" not in ann["summary"], f"{name}: summary must be plain"
        if name != "Watchdog":
            assert "{{" in ann["description"], f"{name}: description must be templated"


def test_runbook_url_points_at_the_alerts_section_of_a_generated_page() -> None:
    """runbook_url is <base>/<service>.md#<anchor>: the page exists and the anchor is its heading for the alert."""
    from obsgen.plan.runbooks import Slugger

    for rule in _alerts():
        url = rule["annotations"]["runbook_url"]
        page, _, anchor = url.rpartition("/")[2].partition("#")
        path = ROOT / "runbooks" / page
        assert path.is_file(), f"{rule['alert']}: {url} has no page at {path}"
        slugger = Slugger()
        # Every heading of the page in order, slugged as GitHub does: the anchor must name the alert's own heading.
        anchors = {slugger.slug(line.lstrip("#").strip()): line for line in path.read_text().splitlines()
                   if line.startswith("#")}
        assert anchors.get(anchor) == f"## {rule['alert']}", f"{url}: #{anchor} is not the heading of {rule['alert']}"
        section = path.read_text().split(f"\n## {rule['alert']}\n", 1)[1].split("\n## ", 1)[0]
        for heading in ("### What fired", "### Impact", "### PromQL to look at", "### Diagnosis", "### Recovery", "### Escalation"):
            assert heading in section, f"{path}#{anchor}: missing {heading}"


def test_every_scrape_target_has_a_down_alert_and_every_slo_burn_alerts() -> None:
    from obsgen.catalog import load_bundle

    bundle = load_bundle(ROOT / "catalogs")
    names = {r["alert"] for r in _alerts()}
    sev = {(r["alert"], r["labels"]["severity"]) for r in _alerts()}
    for svc in bundle.services:
        for target in svc.targets:
            assert any(n.endswith("TargetDown") and target.job.replace("-", "").lower() in n.lower() for n in names), target.job
        for slo in svc.slos:
            burn = [n for n in names if n.endswith("ErrorBudgetBurn") and slo.name.replace("-", "").lower() in n.lower()]
            assert burn, f"{svc.name}/{slo.name}: no burn-rate alert"
            assert {(burn[0], "critical"), (burn[0], "warning")} <= sev or any(
                (b, "critical") in sev and (b, "warning") in sev for b in burn
            )


def test_burn_rate_windows_come_from_data() -> None:
    """The SRE workbook table lives in a data file; the generated expressions use exactly its factors."""
    from obsgen.slo_windows import builtin

    windows = builtin()["google-30d"]
    text = (ROOT / "rules" / "divan-api.yaml").read_text()
    for tier in windows.tiers:
        for pair in tier.pairs:
            assert f"slo:sli_error:ratio_rate{pair.long}" in text
            assert f"({pair.factor:g} * 0.005)" in text  # divan availability: 99.5% -> budget 0.005

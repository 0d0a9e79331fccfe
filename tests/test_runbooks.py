"""Runbook pages: one per service, one section per alert, and runbook_url anchors GitHub's renderer produces.

The slug cases follow github-slugger's documented behaviour (what GitHub does for heading ids): lowercase,
punctuation and symbols dropped, each space to '-', '-' and '_' kept, letters of any script kept, and a
repeated slug numbered -1, -2 with the counter shared by the slug it was derived from.
"""

from __future__ import annotations

import re

import pytest

from obsgen import model as m
from obsgen.emit.runbooks import emit
from obsgen.plan import build_plan
from obsgen.plan.runbooks import SECTIONS, Slugger, anchors, slug
from obsgen.settings import Settings


@pytest.mark.parametrize(("text", "expected"), [
    ("alpha", "alpha"),
    ("bravoCharlieDelta", "bravocharliedelta"),
    ("ApIntakeDBPoolExhausted", "apintakedbpoolexhausted"),
    ("heading with a - dash", "heading-with-a---dash"),
    ("heading with an _ underscore", "heading-with-an-_-underscore"),
    ("heading with a period.txt", "heading-with-a-periodtxt"),
    ("exchange.bind_headers(exchange, routing [, bindCallback])", "exchangebind_headersexchange-routing--bindcallback"),
    ("apostrophe’s should be trimmed", "apostrophes-should-be-trimmed"),
    ("I ♥ unicode", "i--unicode"),
    ("en–dash", "endash"),
    ("😄 unicode emoji", "-unicode-emoji"),
    (":ok_hand: Single", "ok_hand-single"),
    ("Привет non-latin 你好", "привет-non-latin-你好"),
    ("What fired", "what-fired"),
    ("PromQL to look at", "promql-to-look-at"),
])
def test_slug_follows_githubs_rules(text: str, expected: str) -> None:
    assert slug(text) == expected


def test_duplicates_are_numbered_like_github() -> None:
    slugger = Slugger()
    got = [slugger.slug(t) for t in ("echo", "echo", "echo 1", "echo-1", "echo", "foxtrot-1", "foxtrot", "foxtrot")]
    assert got == ["echo", "echo-1", "echo-1-1", "echo-1-2", "echo-2", "foxtrot-1", "foxtrot", "foxtrot-2"]


def test_an_alert_named_like_a_section_still_gets_its_own_anchor() -> None:
    # "Impact" sorts after "Alpha", whose "### Impact" section already took the slug "impact".
    got = anchors("svc", ["Impact", "Alpha"])
    assert got == {"Alpha": "alpha", "Impact": "impact-1"}


def _service(*alerts: str) -> m.Service:
    gauge = m.Metric("svc_up", "gauge", "Up.", "bool")
    rules = tuple(m.Alert(a, "down", "critical", "It is down.", "{{ $labels.job }} is down.", metric=m.Selector("svc_up"))
                  for a in alerts)
    return m.Service("svc", "team", "catalogs/svc.yaml", runbook_base="https://example.invalid/rb",
                     targets=(m.Target("svc", ("svc:1",)),), metrics=(gauge,), alerts=rules)


def test_every_runbook_url_lands_on_its_alerts_heading() -> None:
    plan = build_plan(m.Bundle("prod", (_service("Impact", "Alpha", "SvcDown"),)))
    files = emit(plan, Settings())
    page = files["runbooks/svc.md"]
    slugger = Slugger()
    ids = {slugger.slug(line.lstrip("#").strip()): line for line in page.splitlines() if line.startswith("#")}
    urls = {a.name: dict(a.annotations)["runbook_url"] for a in plan.all_alerts if a.name != "Watchdog"}
    assert set(urls) == {"Impact", "Alpha", "SvcDown", "SvcTargetDown"}
    for name, url in urls.items():
        base, _, anchor = url.partition("#")
        assert base == "https://example.invalid/rb/svc.md"
        assert ids[anchor] == f"## {name}"
    assert urls["Impact"].endswith("#impact-1")
    # Each section carries the six subsections, and the page lists its alerts with in-page links.
    for name in urls:
        section = page.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert [h[4:] for h in re.findall(r"^### .*$", section, re.M)] == list(SECTIONS)
        assert f"[{name}](#{urls[name].partition('#')[2]})" in page
    assert "runbooks/README.md" in files and "runbooks/obsgen.md" in files
    assert "[Watchdog](obsgen.md#watchdog)" in files["runbooks/README.md"]

"""Runbook pages: one Markdown page per service, one section per alert, and the anchor each runbook_url ends in.

The anchor is what GitHub's renderer (and github-slugger, which GitLab-style and most static renderers
follow) makes of the alert's heading, computed over every heading of the page in order, so duplicates get
the same -1, -2 suffixes the renderer gives them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

from obsgen import model as m
from obsgen import naming
from obsgen.settings import DEFAULT_RUNBOOK_BASE

DEFAULT_BASE = DEFAULT_RUNBOOK_BASE
ROOT = "runbooks"
META_PAGE = "obsgen"  # the page of the stack's own alerts (Watchdog)
# Every alert section has these subsections, in this order (the emitter writes exactly these headings).
SECTIONS = ("What fired", "Impact", "PromQL to look at", "Diagnosis", "Recovery", "Escalation")

# Unicode general categories github-slugger keeps: letters, marks, decimal and letter numbers, connector punctuation.
_KEEP = ("Nd", "Nl", "Pc")
# Symbols that are also Alphabetic (circled and squared Latin letters), which github-slugger keeps too.
_ALPHABETIC_SYMBOLS = ((0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169), (0x1F170, 0x1F189))


def _kept(ch: str) -> bool:
    if ch in " -":
        return True
    category = unicodedata.category(ch)
    if category[0] in "LM" or category in _KEEP:
        return True
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _ALPHABETIC_SYMBOLS)


_ASCII_DROPPED = re.compile(r"[^a-z0-9 _-]")


@lru_cache(maxsize=4096)
def slug(text: str) -> str:
    """One heading's anchor, ignoring earlier headings: lowercase, punctuation and symbols dropped, spaces to '-'."""
    lower = text.lower()
    if lower.isascii():  # the common case, and the same rule: ASCII letters, digits, space, '-' and '_' stay
        return _ASCII_DROPPED.sub("", lower).replace(" ", "-")
    return "".join(ch for ch in lower if _kept(ch)).replace(" ", "-")


class Slugger:
    """Anchors for the headings of one page, in order: a repeated slug gets -1, -2... like GitHub gives it."""

    def __init__(self) -> None:
        self.occurrences: dict[str, int] = {}

    def slug(self, text: str) -> str:
        original = result = slug(text)
        while result in self.occurrences:
            self.occurrences[original] += 1
            result = f"{original}-{self.occurrences[original]}"
        self.occurrences[result] = 0
        return result


def page_title(page: str) -> str:
    """The page's first heading."""
    return f"Runbooks: {page}"


def headings(page: str, alert_names: Iterable[str]) -> Iterator[tuple[int, str]]:
    """Every heading of a page, (level, text), in the order the runbooks emitter writes them."""
    yield 1, page_title(page)
    for name in alert_names:
        yield 2, name
        for section in SECTIONS:
            yield 3, section


def anchors(page: str, alert_names: Iterable[str]) -> dict[str, str]:
    """The anchor of each alert's heading on its page."""
    names = sorted(set(alert_names))
    slugger = Slugger()
    out: dict[str, str] = {}
    for level, text in headings(page, names):
        anchor = slugger.slug(text)
        if level == 2:
            out[text] = anchor
    return out


def page_path(page: str) -> str:
    """Where a page is written, relative to the output root."""
    return f"{ROOT}/{page}.md"


def alert_names(service: m.Service) -> list[str]:
    """Every alert the service's page documents: the catalog's, the generated ones and its log alerts."""
    names = [a.name for a in service.alerts]
    names += [naming.target_down_alert(t.job) for t in service.targets]
    if service.health:
        names.append(naming.health_alert(service.name))
    names += [naming.burn_alert(service.name, s.name, s.alerting.name) for s in service.slos
              if not (s.alerting.page.disable and s.alerting.ticket.disable)]
    names += [a.name for a in service.log_alerts]
    return sorted(set(names))


def urls(page: str, base: str, page_anchors: dict[str, str]) -> dict[str, str]:
    """runbook_url of each alert: {base}/{page}.md#{anchor}."""
    return {name: f"{base or DEFAULT_BASE}/{page}.md#{anchor}" for name, anchor in page_anchors.items()}


def service_anchors(service: m.Service) -> dict[str, str]:
    """The anchor of each alert on the service's page."""
    return anchors(service.name, alert_names(service))


def service_urls(service: m.Service) -> dict[str, str]:
    """The runbook_url of each alert of the service."""
    return urls(service.name, service.runbook_base, service_anchors(service))

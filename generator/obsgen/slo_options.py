"""How the plan shapes SLO rules beyond the catalogs: Sloth-compatible series on or off, and `for:` on burn alerts.

A project-wide value the plan stage takes explicitly (like the PromQL Scope), carried by PlanSettings and built
from the project file's `slos:` section (obsgen.project.load); nothing here reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from obsgen.duration import parse_duration

NO_FOR = "none"
LONGEST_FOR = "1h"


@dataclass(frozen=True)
class SloOptions:
    """Project options for SLO rules."""

    # Add Sloth's labels (sloth_id, sloth_service, sloth_slo, sloth_window, sloth_severity) and meta records
    # (sloth_slo_info, slo:current_burn_rate:ratio, ...) so Sloth's Grafana dashboards read obsgen's rules.
    sloth_compatible: bool = False
    # `for:` of the page and ticket burn alerts: none by default, as in the workbook and Sloth. bench/burn_for.py
    # measured it (docs/slo-interop.md): 2m/15m only delayed detection by 2 and 15 minutes and removed no flapping
    # episode; only a `for:` as long as the short window stopped flapping, and it also swallowed a page-worthy blip.
    page_for: str = "0m"
    ticket_for: str = "0m"

    def for_tier(self, tier: str) -> str:
        """The `for:` of a tier's burn alert."""
        return self.page_for if tier == "page" else self.ticket_for


def burn_for(text: str) -> str:
    """A tier's `for:` as the rules write it: 'none' (or a zero duration) -> '0m'; raises ValueError past 1h.

    A burn alert that waits longer than its shortest window has missed the burn it exists to catch.
    """
    if text == NO_FOR:
        return "0m"
    seconds = parse_duration(text)
    if seconds == 0:
        return "0m"
    if seconds > parse_duration(LONGEST_FOR):
        raise ValueError(f"{text} is longer than {LONGEST_FOR}; a burn alert that waits that long has missed its window")
    return text


DEFAULT = SloOptions()  # what a project gets without setting anything

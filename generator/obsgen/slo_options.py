"""How the plan shapes SLO rules beyond the catalogs: Sloth-compatible series on or off, and `for:` on burn alerts.

A project-wide value the plan stage takes explicitly (like the PromQL Scope). The CLI builds it once from
OBSGEN_SLOTH_COMPATIBLE and OBSGEN_BURN_ALERT_FOR (until the project file, obsgen.yaml, carries them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from obsgen.duration import parse_duration
from obsgen.errors import CatalogError, Problem

TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")
NO_FOR = ("none", "0", "0m", "0s")


class OptionError(CatalogError):
    """An SLO option holds a value obsgen cannot use; printed like a catalog problem."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__([Problem("environment", None, variable, message)])


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

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SloOptions:
        """From OBSGEN_SLOTH_COMPATIBLE (true/false) and OBSGEN_BURN_ALERT_FOR ("none", one duration, or "page,ticket")."""
        flag = env.get("OBSGEN_SLOTH_COMPATIBLE", "").strip().lower()
        if flag not in TRUE + FALSE:
            raise OptionError("OBSGEN_SLOTH_COMPATIBLE", f"{flag!r} is not true or false")
        page, ticket = cls.page_for, cls.ticket_for
        raw = env.get("OBSGEN_BURN_ALERT_FOR", "").strip()
        if raw:
            page, ticket = parse_for(raw, "OBSGEN_BURN_ALERT_FOR")
        return cls(sloth_compatible=flag in TRUE, page_for=page, ticket_for=ticket)


def parse_for(text: str, where: str) -> tuple[str, str]:
    """'none' -> no `for:`; '5m' -> both tiers; '2m,15m' -> page and ticket."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (1, 2):
        raise OptionError(where, f"{text!r}: give none, one duration, or page,ticket (e.g. 2m,15m)")
    out = []
    for part in parts:
        if part.lower() in NO_FOR:
            out.append("0m")
            continue
        try:
            seconds = parse_duration(part)
        except ValueError as exc:
            raise OptionError(where, str(exc)) from None
        if seconds > parse_duration("1h"):
            raise OptionError(where, f"{part} is longer than 1h; a burn alert that waits that long has missed its window")
        out.append(part)
    return (out[0], out[-1])


DEFAULT = SloOptions()  # what a project gets without setting anything

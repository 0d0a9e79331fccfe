"""Render the small subset of Prometheus alert templates that catalogs may use.

Generated promtool tests must state each alert's annotations exactly, so obsgen predicts
what Prometheus will render. The functions mirror Prometheus' template/template.go.
"""

from __future__ import annotations

import math
import re

_ACTION = re.compile(r"(\s*)\{\{(-?)\s*(.*?)\s*(-?)\}\}(\s*)", re.S)


def _g4(v: float) -> str:
    return f"{v:.4g}".replace("inf", "Inf").replace("nan", "NaN")


def humanize(v: float) -> str:
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix = p
            v /= 1000
        return _g4(v) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return _g4(v) + prefix


def humanize_percentage(v: float) -> str:
    return _g4(v * 100) + "%"


def humanize_duration(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        d = int(v)
        seconds, minutes, hours, days = d % 60, (d // 60) % 60, (d // 3600) % 24, d // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return f"{_g4(v)}{prefix}s"


def labels_used(template: str) -> set[str]:
    return set(re.findall(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)", template))


def render(template: str, labels: dict[str, str], value: float | None) -> str:
    """Render a template the way Prometheus would; value None means it must not be used."""

    def action(match: re.Match[str]) -> str:
        lead, ltrim, body, rtrim, trail = match.groups()
        out = _evaluate(body, labels, value)
        return ("" if ltrim else lead) + out + ("" if rtrim else trail)

    return _ACTION.sub(action, template)


def _evaluate(body: str, labels: dict[str, str], value: float | None) -> str:
    if body.startswith("$labels."):
        return labels.get(body[len("$labels.") :], "")  # a missing key renders empty
    if value is None:
        raise ValueError(f"template action {{{{ {body} }}}} needs $value, which is unknown here")
    printf = re.match(r'printf\s+"%\.([0-9])f"\s+\$value$', body)
    if printf:
        return f"{value:.{int(printf.group(1))}f}"
    func = body.split("|", 1)[1].strip()
    return {"humanize": humanize, "humanizePercentage": humanize_percentage, "humanizeDuration": humanize_duration}[func](value)

"""What a conversion says about its input: errors (nothing is written) and notes (written, but differently), each
one located line, and the small renames that keep a Sloth or OpenSLO value valid in an obsgen catalog."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from obsgen.catalog.load import PathKey, RawCatalog, format_path
from obsgen.errors import Problem
from obsgen.naming import camel
from obsgen.secrets import SECRET_KEY

KEBAB = re.compile(r"[a-z][a-z0-9-]*")
CAMEL = re.compile(r"[A-Za-z][A-Za-z0-9]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
RESERVED = ("service", "slo", "team", "severity", "alertname")
_SECRET_TAIL = re.compile(r"[_.-]?(key|token|secret|password|passwd|credentials|url)$", re.I)


@dataclass
class Report:
    """Errors stop the conversion; notes tell what was written differently from the input."""

    errors: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)

    def error(self, raw: RawCatalog, path: PathKey, message: str) -> None:
        self.errors.append(Problem(raw.file, raw.line_of(path), format_path(path), message))

    def note(self, raw: RawCatalog, path: PathKey, message: str) -> None:
        self.notes.append(Problem(raw.file, raw.line_of(path), format_path(path), "note: " + message))

    def unknown(self, raw: RawCatalog, data: dict[str, Any], path: PathKey, known: tuple[str, ...]) -> None:
        """Fields the format does not define: the source tools ignore them, obsgen never drops anything silently."""
        for key in sorted(set(data) - set(known)):
            self.error(raw, (*path, key), f"unknown field '{key}' (known: {', '.join(known)})")


def kebab(text: str) -> str:
    """A Sloth name (letters, digits, '.', '_', '-') as obsgen's kebab-case: MyAPI_v1.2 -> myapi-v1-2."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")


def name_for(report: Report, raw: RawCatalog, path: PathKey, text: Any, what: str) -> str | None:
    """A kebab-case name for an obsgen service or SLO, noting any change; None (an error) when nothing is left."""
    if not isinstance(text, str) or not text:
        report.error(raw, path, f"{what} name is required")
        return None
    if KEBAB.fullmatch(text) and len(text) <= 63:
        return text
    fixed = kebab(text)[:63].strip("-")
    if not fixed or not fixed[0].isalpha():
        report.error(raw, path, f"{what} name {text!r} gives no kebab-case name (a letter first, then a-z, 0-9 and '-')")
        return None
    report.note(raw, path, f"{what} name {text!r} is written as {fixed!r} (obsgen names are kebab-case: they name files)")
    return fixed


def alert_name(report: Report, raw: RawCatalog, path: PathKey, text: Any) -> str | None:
    """A CamelCase alert name, noting any change."""
    if not isinstance(text, str) or not text:
        return None
    if CAMEL.fullmatch(text):
        return text
    fixed = camel(text)
    if not fixed or not fixed[0].isalpha():
        report.error(raw, path, f"alert name {text!r} gives no CamelCase name")
        return None
    report.note(raw, path, f"alert name {text!r} is written as {fixed!r} (obsgen alert names are CamelCase)")
    return fixed


def labels_for(report: Report, raw: RawCatalog, path: PathKey, data: Any, what: str = "label") -> dict[str, str]:
    """Labels (or annotations) as obsgen takes them: string values, and names obsgen does not reserve for itself."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        report.error(raw, path, f"{what}s must be a mapping of names to values")
        return {}
    out: dict[str, str] = {}
    for key, value in data.items():
        where = (*path, key)
        if not LABEL.fullmatch(str(key)):
            report.error(raw, where, f"{what} name {key!r} is not a Prometheus label name")
            continue
        text = value if isinstance(value, str) else _scalar(value)
        if text is None:
            report.error(raw, where, f"{what} {key!r} must be a string, got {type(value).__name__}")
            continue
        name = _renamed(report, raw, where, str(key)) if what == "label" else str(key)
        out[name] = text
    return out


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return None


def _renamed(report: Report, raw: RawCatalog, where: PathKey, key: str) -> str:
    if key in RESERVED or key.startswith(("sloth_", "__")):
        report.note(raw, where, f"label {key!r} is one obsgen sets itself; written as '{key}_label'")
        return f"{key}_label"
    if SECRET_KEY.match(key):
        fixed = _SECRET_TAIL.sub("", key) or "label"
        if SECRET_KEY.match(fixed):
            fixed += "_label"
        report.note(raw, where, f"label {key!r} is named like a credential, which obsgen refuses to write; written as "
                                f"{fixed!r} (match it in your Alertmanager routes)")
        return fixed
    return key

"""Loki's config and ruler files, checked without Loki (its Go module is AGPL and never built or run here).

schemas/loki-config.schema.json is modelled on Loki 3.5's configuration reference and covers every block obsgen
writes, so a misspelt key fails; schemas/loki-rules.schema.json is a Prometheus rule group file as Loki's ruler
reads it. Group names must also be unique across the tenant's files, which a schema cannot say.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from obsgen.check.context import Context
from obsgen.check.locate import yaml_path_line
from obsgen.check.result import Outcome

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def jsonschema_version() -> str:
    """The installed jsonschema's version, for the report."""
    try:
        return metadata.version("jsonschema")
    except metadata.PackageNotFoundError:
        return "?"


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    """The shipped schema's validator (the schema itself checked first)."""
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(name: str, doc: Any) -> list[tuple[list[str | int], str]]:
    """(field path, message) for every schema error, sorted by path."""
    found = [(list(e.absolute_path), e.message) for e in validator(name).iter_errors(doc)]
    return sorted(found, key=lambda x: ("/".join(map(str, x[0])), x[1]))


def duplicate_groups(docs: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(file, group index, message) for each group name already used in an earlier file or group."""
    seen: dict[str, str] = {}
    out = []
    for name, doc in docs.items():
        groups = doc.get("groups", []) if isinstance(doc, dict) else []
        for i, group in enumerate(groups if isinstance(groups, list) else []):
            gname = str(group.get("name")) if isinstance(group, dict) else ""
            if gname in seen:
                out.append((name, i, f"group name {gname!r} is also used in {seen[gname]}"))
            seen.setdefault(gname, name)
    return out


def _load(path: Path, rel: str, out: Outcome) -> tuple[str, Any] | None:
    text = path.read_text(encoding="utf-8")
    try:
        return text, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        out.add(rel, mark.line + 1 if mark else None, f"not a readable YAML file: {exc}")
        return None


def loki(ctx: Context) -> Outcome:
    """The Loki config's keys and the ruler files' shape, each error at its field's line."""
    out = Outcome(tool=f"jsonschema {jsonschema_version()} (Loki 3.5 keys)", path="in-process")
    rel, path = ctx.stack_file("loki/config.yaml", "the Loki config")
    loaded = _load(path, rel, out)
    if loaded is not None:
        for field, message in errors("loki-config.schema.json", loaded[1]):
            out.add(rel, yaml_path_line(loaded[0], field) or 1, f"{'.'.join(map(str, field)) or '<root>'}: {message}")
    rules_dir = ctx.layout.path(ctx.layout.compose_file("loki/rules") or "loki/rules")
    files = sorted(rules_dir.rglob("*.yaml")) if rules_dir.is_dir() else []
    docs: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for file in files:
        file_rel = ctx.layout.rel(file)
        loaded = _load(file, file_rel, out)
        if loaded is None:
            continue
        texts[file_rel], docs[file_rel] = loaded
        for field, message in errors("loki-rules.schema.json", loaded[1]):
            out.add(file_rel, yaml_path_line(loaded[0], field) or 1, f"{'.'.join(map(str, field)) or '<root>'}: {message}")
    for file_rel, index, message in duplicate_groups(docs):
        out.add(file_rel, yaml_path_line(texts[file_rel], ["groups", index, "name"]), message)
    out.summary = f"config and {len(files)} rule files"
    return out

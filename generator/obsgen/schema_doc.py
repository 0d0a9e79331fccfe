"""A JSON Schema as a Markdown reference: one table per object, so the documentation cannot drift from the schema.

`obsgen schema catalog --format markdown` prints it; docs/catalog-reference.md and docs/project-file.md are its
output, and a test keeps them equal.
"""

from __future__ import annotations

import json
from typing import Any

Schema = dict[str, Any]

# The pages `obsgen schema WHICH --format markdown` writes: title and the paragraph before the tables.
PAGES = {
    "catalog": (
        "Catalog reference",
        "One catalog file per service, in YAML or Jsonnet, in the project's catalogs folder. This page is generated from "
        "the catalog's JSON Schema (`obsgen schema catalog --format markdown`), so it lists every field the schema allows; "
        "the checks a schema cannot express (cross-references, naming, cardinality, PromQL) are described in "
        "[writing a catalog](catalogs.md). Editors validate as you type with the schema `obsgen init` writes to "
        "`.obsgen/catalog.schema.json` (or `obsgen schema catalog`).",
    ),
    "project": (
        "The project file, obsgen.yaml",
        "`obsgen.yaml` sits at the root of a repository (or is given with `--config/-c`) and says where the catalogs are, "
        "what to generate and where, and what shapes the output; relative paths are relative to the file. Without one, "
        "every default below applies. This page is generated from its JSON Schema (`obsgen schema project --format "
        "markdown`). How each setting changes the output, with examples, is in [adopt obsgen](adopt.md).",
    ),
}


def _resolve(node: Schema, root: Schema) -> Schema:
    """The node with a local $ref followed (its own description kept)."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return node
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _code(value: Any) -> str:
    text = (value if isinstance(value, str) else json.dumps(value)).replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _type(node: Schema, root: Schema) -> str:
    node = _resolve(node, root)
    if "const" in node:
        return _code(node["const"])
    if "enum" in node:
        return " \\| ".join(_code(v) for v in node["enum"])
    if "oneOf" in node or "anyOf" in node:
        return " or ".join(_type(alt, root) for alt in node.get("oneOf", node.get("anyOf", [])))
    kind = node.get("type", "any")
    if kind == "array":
        return f"list of {_type(node.get('items', {}), root)}"
    if kind == "object" and not node.get("properties") and not node.get("patternProperties") \
            and isinstance(node.get("additionalProperties"), dict):
        return f"map of {_type(node['additionalProperties'], root)}"
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def _limits(node: Schema) -> list[str]:
    """Constraints a reader needs, in words."""
    out = []
    for key, word in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if key in node:
            out.append(f"{word} {node[key]}")
    if "pattern" in node:
        out.append(f"matches {_code(node['pattern'])}")
    if node.get("minLength") == 1 or node.get("minItems") == 1 or node.get("minProperties") == 1:
        out.append("not empty")
    for key, word in (("minLength", "at least {} characters"), ("maxLength", "at most {} characters"),
                      ("minItems", "at least {} items"), ("maxItems", "at most {} items"),
                      ("minProperties", "at least {} entries"), ("maxProperties", "at most {} entries")):
        if key == "maxProperties" and node.get(key) == 1:
            out.append("one entry")
            continue
        if node.get(key, 1) != 1 or (key.startswith("max") and key in node):
            out.append(word.format(node[key]))
    if node.get("uniqueItems"):
        out.append("no duplicates")
    return out


def _row(name: str, node: Schema, root: Schema, required: bool, link: str | None) -> str:
    resolved = _resolve(node, root)
    items = _resolve(resolved.get("items", {}), root) if resolved.get("type") == "array" else {}
    described = resolved.get("description", "").strip().replace("|", "\\|").replace("*", "\\*").replace("\n", " ")
    notes = _limits(resolved) + [f"each {x}" for x in _limits(items)]
    if "default" in resolved:
        notes.append(f"default {_code(resolved['default'])}")
    if link:
        notes.append(f"see [{link}](#{_anchor(link)})")
    rest = "; ".join(notes)
    if described and rest:
        text = f"{described} {rest[0].upper()}{rest[1:]}" if described.endswith(".") else f"{described}; {rest}"
    else:
        text = described or rest
    return f"| `{name}` | {_type(resolved, root)} | {'yes' if required else ''} | {text} |"


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading made of a path (lower case, punctuation dropped, spaces to dashes)."""
    keep = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return keep.replace(" ", "-")


def _objects(node: Schema, root: Schema) -> list[Schema]:
    """The object schemas a value may be (an object, a list's items, each alternative, a map's values)."""
    node = _resolve(node, root)
    if node.get("type") == "array" or "items" in node:
        return _objects(node.get("items", {}), root)
    if "oneOf" in node or "anyOf" in node:
        return [o for alt in node.get("oneOf", node.get("anyOf", [])) for o in _objects(alt, root)]
    extra = node.get("additionalProperties")
    if node.get("properties") or node.get("patternProperties") or (isinstance(extra, dict) and _objects(extra, root)):
        return [node]
    return []


def _path(parent: str, name: str, node: Schema, root: Schema) -> str:
    node = _resolve(node, root)
    step = f"{parent}.{name}" if parent else name
    return step + "[]" if node.get("type") == "array" or "items" in node else step


def markdown(schema: Schema, title: str, intro: str, header: str = "") -> str:
    """The reference page: the intro, then a section per object, parents before children."""
    out = [header, ""] if header else []
    out += [f"# {title}", "", intro.strip(), ""]
    queue: list[tuple[str, Schema]] = [("(top level)", schema)]
    seen: set[str] = set()
    while queue:
        path, node = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        out += [f"## {path}", ""]
        if node.get("description") and path != "(top level)":
            out += [node["description"].strip(), ""]
        out += ["| Field | Type | Required | Meaning and constraints |", "|---|---|---|---|"]
        required = set(node.get("required", ()))
        children: list[tuple[str, Schema]] = []
        props = dict(node.get("properties", {}))
        for pattern, sub in node.get("patternProperties", {}).items():
            own = sub.get("description", "")
            props["{name}"] = {**sub, "description": f"any key matching {_code(pattern)}" + (f". {own}" if own else "")}
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            props["{name}"] = extra
        for name, sub in props.items():
            base = path if path != "(top level)" else ""
            objects = [o for i, o in enumerate(_objects(sub, schema)) if o not in _objects(sub, schema)[:i]]
            child = _path(base, name, sub, schema)
            for i, obj in enumerate(objects):
                label = child if len(objects) == 1 else f"{child} (form {i + 1})"
                children.append((label, obj))
            out.append(_row(name, sub, schema, name in required, children[-1][0] if objects else None))
        out.append("")
        queue.extend(children)
    return "\n".join(out).rstrip("\n") + "\n"


def page(which: str, schema: Schema) -> str:
    """The reference page of the catalog or the project file."""
    title, intro = PAGES[which]
    header = f"<!-- Generated by `obsgen schema {which} --format markdown`. Do not edit by hand. -->"
    return markdown(schema, title, intro, header)

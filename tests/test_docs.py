"""The documentation cannot drift: reference pages equal what their generator prints, and every relative link resolves."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from obsgen.catalog.schema import schema as catalog_schema
from obsgen.plan.runbooks import Slugger
from obsgen.project import schema
from obsgen.schema_doc import markdown, page

from conftest import ROOT, obsgen

PAGES = {"catalog": ROOT / "docs" / "catalog-reference.md", "project": ROOT / "docs" / "project-file.md"}
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("which", sorted(PAGES))
def test_reference_page_equals_its_generator(which: str) -> None:
    result = obsgen("schema", which, "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert PAGES[which].read_text(encoding="utf-8") == result.stdout, (
        f"{PAGES[which].relative_to(ROOT)} is stale: run `obsgen schema {which} --format markdown > {PAGES[which].relative_to(ROOT)}`")


def _field_names(node: object) -> set[str]:
    """Every property name anywhere in a schema."""
    if isinstance(node, dict):
        return set(node.get("properties", {})).union(*(_field_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_field_names(v) for v in node))
    return set()


def test_every_field_of_the_schemas_is_on_its_page() -> None:
    """A field the schema allows but the page leaves out would be a reference that lies by omission."""
    for which, data in (("catalog", catalog_schema()), ("project", schema())):
        text = page(which, data)
        names = _field_names(data)
        missing = sorted(n for n in names if f"| `{n}` |" not in text)
        assert not missing, (which, missing)


def test_the_generator_can_fail() -> None:
    """A field added to a schema shows on the page, so a stale committed page differs from a fresh one."""
    data = {"type": "object", "properties": {"a": {"type": "string", "description": "First."}}}
    before = markdown(data, "T", "intro")
    data["properties"]["b"] = {"type": "integer", "minimum": 1}
    after = markdown(data, "T", "intro")
    assert "| `b` | integer |  | ≥ 1 |" in after and before != after


def _docs() -> list[Path]:
    return [ROOT / "README.md", ROOT / "README.pypi.md", *sorted((ROOT / "docs").rglob("*.md"))]


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a page's headings (their rendered text: no backticks, link targets or emphasis)."""
    slugger = Slugger()
    out = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not re.match(r"#{1,6} ", line):
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.lstrip("#").strip()).replace("`", "").replace("*", "")
        out.add(slugger.slug(text))
    return out


def broken_links(docs: list[Path], root: Path = ROOT) -> list[str]:
    """Relative links whose file, or whose #anchor on that file, does not exist (pages named relative to root)."""
    broken = []
    for doc in docs:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            name, _, anchor = target.partition("#")
            path = (doc.parent / name).resolve() if name else doc
            if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
                broken.append(f"{doc.relative_to(root)} -> {target}")
    return broken


def test_relative_links_in_the_docs_resolve() -> None:
    assert broken_links(_docs()) == []


def test_the_link_check_can_fail(tmp_path: Path) -> None:
    """A probe page beside a copy of docs/adopt.md (never in the repository's docs/, which other tests read)."""
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "adopt.md", tmp_path / "docs" / "adopt.md")
    page = tmp_path / "docs" / "_link_check_probe.md"
    page.write_text("# Probe\n\n[gone](nope.md) [here](#probe) [not here](#elsewhere) [ref](adopt.md#2-the-project-file)\n")
    assert broken_links([page], tmp_path) == ["docs/_link_check_probe.md -> nope.md", "docs/_link_check_probe.md -> #elsewhere"]


def test_no_page_sends_readers_to_what_is_gone() -> None:
    """docs/stack.md exists now; seeds/ never shipped; OBSGEN_RECEIVERS and friends became obsgen.yaml keys."""
    assert (ROOT / "docs" / "stack.md").is_file()
    gone = re.compile(r"\bseeds/|OBSGEN_(RECEIVERS|WEBHOOK_URL|DEADMANS_URL|SMTP_\w+|EMAIL_TO|SLACK_CHANNEL)\b")
    hits = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in _docs() for m in gone.finditer(p.read_text(encoding="utf-8"))]
    hits += [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in sorted((ROOT / "generator").rglob("*.py"))
             for m in gone.finditer(p.read_text(encoding="utf-8"))]
    assert not hits, hits

"""`obsgen init`: the files of a working project, and writing them without overwriting what is there.

The templates are package data (scaffold/templates/); the JSON Schemas are written beside them so the
editor modelines in obsgen.yaml and the example catalog work offline.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from obsgen import __version__

SCHEMA_DIR = ".obsgen"
# Where each template goes in the new project.
TEMPLATES = {
    "obsgen.yaml": "obsgen.yaml",
    "catalogs/example.yaml": "example.yaml",
    ".github/workflows/obsgen.yml": "github-workflow.yml",
    ".gitlab-ci.yml": "gitlab-ci.yml",
    ".pre-commit-config.yaml": "pre-commit-config.yaml",
}


def schema_text(which: str) -> str:
    """The JSON Schema of a catalog or of the project file, as `obsgen schema` prints it."""
    if which == "catalog":
        from obsgen.catalog.schema import schema as catalog_schema

        data = catalog_schema()
    else:
        from obsgen.project import schema

        data = schema()
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def files() -> dict[str, str]:
    """Every file `obsgen init` writes, keyed by its path in the project."""
    folder = resources.files("obsgen.scaffold").joinpath("templates")
    out = {path: folder.joinpath(name).read_text(encoding="utf-8").replace("@VERSION@", __version__)
           for path, name in TEMPLATES.items()}
    out[f"{SCHEMA_DIR}/catalog.schema.json"] = schema_text("catalog")
    out[f"{SCHEMA_DIR}/project.schema.json"] = schema_text("project")
    return out


def existing(root: Path) -> list[str]:
    """The scaffold's files that are already there (init refuses to overwrite them unless forced)."""
    return [path for path in files() if (root / path).exists() or (root / path).is_symlink()]


def write(root: Path) -> list[str]:
    """Write every scaffold file under root; returns the paths written."""
    written = []
    for path, text in files().items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()  # --force replaces a link itself, never the file it points to
        target.write_text(text, encoding="utf-8")
        written.append(path)
    return written

"""The project file, obsgen.yaml: where the catalogs are, what to generate and where, and what shapes the output.

It replaces the OBSGEN_* variables that used to change the output, so a tree is a function of the catalogs and
this file alone. `find_project` reads ./obsgen.yaml (or the file given with --config); without one the
defaults apply, which are what `obsgen init` writes.
"""

from __future__ import annotations

from obsgen.project.load import find_project, load_project, schema
from obsgen.project.types import ALL_OUTPUTS, ENVIRONMENTS, PROJECT_FILE, Project

__all__ = ["ALL_OUTPUTS", "ENVIRONMENTS", "PROJECT_FILE", "Project", "find_project", "load_project", "schema"]

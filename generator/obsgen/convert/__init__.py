"""`obsgen convert`: Sloth specs (prometheus/v1 and the Kubernetes CRD) and OpenSLO v1alpha documents into catalogs.

Beside the pipeline, never inside it: convert writes catalogs, which the pipeline then reads like any other. Every
document is detected (or must match --from), mapped, given the metrics its queries use, and finally checked by
the catalog and plan stages themselves, so a conversion that succeeds gives catalogs `obsgen generate` accepts.
The result is deterministic: the same inputs give the same bytes, so converting again changes nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsgen.catalog.load import RawCatalog, load_yaml_documents
from obsgen.convert import openslo, sloth
from obsgen.convert.infer import infer_metrics
from obsgen.convert.output import MARK, write
from obsgen.convert.report import Report
from obsgen.convert.sloth import ServiceDraft
from obsgen.errors import CatalogError, Problem
from obsgen.yamltext import dump

FORMATS = ("sloth", "sloth-k8s", "openslo")
__all__ = ["FORMATS", "MARK", "Conversion", "convert", "detect", "input_files", "write"]
SUFFIXES = (".yaml", ".yml")
DEFAULT_PERIOD = "30d"  # Sloth's --default-slo-period


@dataclass
class Conversion:
    """Catalog files by name, what could not be converted (errors) and what was written differently (notes)."""

    files: dict[str, str] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)


def detect(doc: Any) -> str | None:
    """Which format a document is, by the same markers Sloth's loaders look for."""
    if not isinstance(doc, dict):
        return None
    if doc.get("version") == "prometheus/v1":
        return "sloth"
    if doc.get("apiVersion") == "sloth.slok.dev/v1" and doc.get("kind") == "PrometheusServiceLevel":
        return "sloth-k8s"
    if doc.get("apiVersion") == "openslo/v1alpha" and doc.get("kind") == "SLO":
        return "openslo"
    return None


def input_files(paths: list[Path]) -> list[Path]:
    """The files to convert: each file given, and the *.yaml/*.yml files directly inside each folder, sorted."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
        else:
            out.append(path)
    return list(dict.fromkeys(out))


def _drafts(report: Report, raw: RawCatalog, fmt: str | None, period: str) -> list[ServiceDraft]:
    found = detect(raw.data)
    if found is None:
        what = f"a {fmt} document" if fmt else "a Sloth (version: prometheus/v1), Sloth Kubernetes (apiVersion: " \
                                               "sloth.slok.dev/v1, kind: PrometheusServiceLevel) or OpenSLO (apiVersion: " \
                                               "openslo/v1alpha, kind: SLO) document"
        api = raw.data.get("apiVersion") if isinstance(raw.data, dict) else None
        hint = f" (apiVersion {api} is not supported)" if api else ""
        report.error(raw, (), f"not {what}{hint}")
        return []
    if fmt is not None and found != fmt:
        report.error(raw, (), f"this is a {found} document, not {fmt} (--from); leave --from out to detect it")
        return []
    if found == "openslo":
        draft = openslo.service_draft(report, raw, raw.data, period)
    elif found == "sloth":
        draft = sloth.service_draft(report, raw, raw.data, (), sloth.FILE, period)
    else:
        report.unknown(raw, raw.data, (), ("apiVersion", "kind", "metadata", "spec"))
        if raw.data.get("metadata"):
            report.note(raw, ("metadata",), "metadata names Sloth's PrometheusRule object; obsgen writes plain rule files, "
                                            "so it is not carried")
        spec = raw.data.get("spec")
        if not isinstance(spec, dict):
            report.error(raw, ("spec",), "spec is required")
            return []
        draft = sloth.service_draft(report, raw, spec, ("spec",), sloth.K8S, period)
    return [draft] if draft is not None else []


def _merge(report: Report, drafts: list[ServiceDraft]) -> dict[str, ServiceDraft]:
    """One catalog per service: documents of the same service (OpenSLO has one per SLO) come together."""
    out: dict[str, ServiceDraft] = {}
    for draft in drafts:
        into = out.setdefault(draft.name, ServiceDraft(draft.name, draft.team))
        if into.team == into.name and draft.team != draft.name:
            into.team = draft.team
        into.sources += [s for s in draft.sources if s not in into.sources]
        into.formats += [f for f in draft.formats if f not in into.formats]
        names = {s["name"] for s in into.slos}
        for slo, (raw, path) in zip(draft.slos, draft.origins, strict=True):
            if slo["name"] in names:
                report.error(raw, (*path, "name"), f"SLO '{slo['name']}' of service '{draft.name}' is already declared "
                                                   "by another document")
                continue
            names.add(slo["name"])
            into.slos.append(slo)
            into.origins.append((raw, path))
    return out


def _queries(draft: ServiceDraft) -> list[str]:
    return [s[k] for s in draft.slos for k in ("error_query", "total_query", "error_ratio_query") if k in s]


def _catalog(draft: ServiceDraft, metrics: list[dict[str, Any]]) -> tuple[str, str]:
    sources = ", ".join(Path(s).name for s in draft.sources)  # file names only: the bytes do not depend on where it ran
    data: dict[str, Any] = {
        "service": {"name": draft.name, "team": draft.team,
                    "description": f"Converted by obsgen convert from {sources} ({', '.join(draft.formats)})."},
        "metrics": metrics,
        "slos": draft.slos,
    }
    if not metrics:
        del data["metrics"]
    header = (f"{MARK} from {sources}.\n"
              "# The metrics are inferred from the SLI queries (types, label bounds): check them against your exporters.\n"
              "# Edit this catalog from now on, or change the source and convert again (that rewrites this file).\n")
    return f"{draft.name}.yaml", dump(data, header)


def _metrics(report: Report, drafts: list[ServiceDraft]) -> dict[str, list[dict[str, Any]]]:
    """Each service's inferred metrics; a metric several services query is declared once (obsgen's rule), by the first."""
    owner: dict[str, str] = {}
    out: dict[str, list[dict[str, Any]]] = {}
    for draft in drafts:
        sources = ", ".join(Path(s).name for s in draft.sources)
        out[draft.name] = []
        for metric in infer_metrics(_queries(draft), sources):
            if metric["name"] in owner:
                raw, path = draft.origins[0]
                report.note(raw, path, f"metric '{metric['name']}' is declared in the catalog of '{owner[metric['name']]}'; "
                                       f"'{draft.name}' queries it undeclared")
                continue
            owner[metric["name"]] = draft.name
            out[draft.name].append(metric)
    return out


def _check(files: dict[str, str], shown: str) -> list[Problem]:
    """The converted catalogs through obsgen's own catalog and plan stages, beside the catalogs already in the output
    folder (names must stay unique across them); problems point at the catalogs' lines."""
    import shutil

    from obsgen import pipeline

    with tempfile.TemporaryDirectory(prefix="obsgen-convert-") as tmp:
        if Path(shown).is_dir():
            shutil.copytree(shown, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*"))
        for name, text in files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        try:
            pipeline.plan(pipeline.load(Path(tmp)), with_cases=True)
        except CatalogError as exc:
            return [Problem(p.file.replace(tmp, shown), p.line, p.path, p.message + " (in the converted catalog)")
                    for p in exc.problems]
    return []


def convert(paths: list[Path], fmt: str | None = None, period: str = DEFAULT_PERIOD, out: str = "catalogs") -> Conversion:
    """Convert files and folders; `out` names the output folder in located problems of the converted catalogs."""
    report = Report()
    drafts: list[ServiceDraft] = []
    files = input_files(paths)
    if not files:
        report.errors.append(Problem(", ".join(map(str, paths)), None, "", "no *.yaml or *.yml files to convert"))
    for path in files:
        try:
            docs = load_yaml_documents(path.read_text(encoding="utf-8"), str(path))
        except CatalogError as exc:
            report.errors.extend(exc.problems)
            continue
        except (OSError, UnicodeDecodeError) as exc:
            report.errors.append(Problem(str(path), None, "", f"cannot read: {getattr(exc, 'strerror', None) or exc}"))
            continue
        if not docs:
            report.errors.append(Problem(str(path), None, "", "the file holds no document"))
        for raw in docs:
            drafts += _drafts(report, raw, fmt, period)
    services = sorted(_merge(report, drafts).values(), key=lambda d: d.name)
    metrics = _metrics(report, services)
    result = Conversion(errors=sorted(report.errors), notes=sorted(report.notes))
    if report.errors:
        return result
    result.files = dict(_catalog(d, metrics[d.name]) for d in services)
    result.errors = _check(result.files, out)
    return result


"""Read obsgen.yaml into a Project: YAML with line numbers, its JSON Schema, then the checks a schema cannot make.

Every problem is a located value (file:line: field: message), reported all at once, like a catalog's.
"""

from __future__ import annotations

import json
import posixpath
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from obsgen.catalog.load import PathKey, RawCatalog, format_path, load_yaml_text
from obsgen.errors import CatalogError, Problem
from obsgen.model import Matcher
from obsgen.project.types import ALL_OUTPUTS, DEFAULT_OUTPUTS, PROJECT_FILE, Project
from obsgen.promql import Scope
from obsgen.promql_parse import PromQLSyntaxError, parse_matchers
from obsgen.secrets import data_findings, value_findings
from obsgen.settings import ALL_SERVICES, PlanSettings, Settings, StackSettings, TargetSettings
from obsgen.slo_options import SloOptions, burn_for

# Labels obsgen's own rules depend on: keeping them in every aggregation would change what a rule means.
RESERVED_GROUP_BY = frozenset({"job", "instance", "le", "quantile", "service", "slo", "team", "severity", "alertname"})
# What an output reads from another one's folder (emit.REQUIRES, kept here too so loading imports no emitter).
REQUIRES = {"compose": ("alertmanager", "loki", "provisioning"), "rule-tests": ("rules",)}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The project file's JSON Schema (package data, so editors and CI can use it offline: `obsgen schema project`)."""
    loaded: dict[str, Any] = json.loads(resources.files("obsgen.project").joinpath("schema.json").read_text(encoding="utf-8"))
    return loaded


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The project schema's validator, with the catalog's whole-string pattern semantics."""
    from obsgen.catalog import schema as catalog_schema

    return catalog_schema.validator_for(schema())


@lru_cache(maxsize=1)
def _fast_check() -> Any:
    """The catalog's yes/no schema check, compiled for the project schema: a valid file never loads jsonschema."""
    from obsgen.catalog.schema_check import compile_schema

    return compile_schema(schema())


def _plainly_valid(data: Any) -> bool:
    """True when the file is valid under the schema; False means "ask jsonschema" (invalid, or the check is unsure)."""
    from obsgen.catalog.schema_check import Unsure

    try:
        return bool(_fast_check()(data))
    except Unsure:
        return False


class _Reader:
    """Collects the problems of one project file while it is turned into a Project."""

    def __init__(self, raw: RawCatalog) -> None:
        self.raw = raw
        self.problems: list[Problem] = []

    def problem(self, path: PathKey, message: str) -> None:
        self.problems.append(Problem(self.raw.file, self.raw.line_of(path), format_path(path), message))

    def schema_problems(self) -> None:
        if _plainly_valid(self.raw.data):
            return
        from obsgen.catalog import schema as catalog_schema

        for error in sorted(_validator().iter_errors(self.raw.data), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
            unknown = catalog_schema.unknown_fields(error)
            for key in unknown:
                self.problem((*error.absolute_path, key), f"unknown field '{key}'")
            if not unknown:
                self.problem(tuple(error.absolute_path), catalog_schema.message(error))

    def text_problems(self, data: Any, path: PathKey = ()) -> None:
        """Line breaks and control characters in any value (they would split a generated line)."""
        if isinstance(data, dict):
            for key, value in data.items():
                self.text_problems(value, (*path, key))
        elif isinstance(data, list):
            for i, item in enumerate(data):
                self.text_problems(item, (*path, i))
        elif isinstance(data, str) and _CONTROL.search(data):
            self.problem(path, "line breaks and control characters are not allowed here")

    def secret_problems(self) -> None:
        """Literal credentials anywhere in the file: secrets stay in files the stack mounts."""
        # The webhook URLs are non-secret by design (alertmanager.yml carries them); _stack checks their values.
        for where, message in data_findings(self.raw.data, skip=frozenset({"webhook_url", "deadmans_url"})):
            self.problem(where, message.replace("in a catalog", "in obsgen.yaml"))

    def section(self, *keys: str) -> dict[str, Any]:
        node: Any = self.raw.data
        for key in keys:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}


def _matchers(reader: _Reader, items: list[str]) -> tuple[Matcher, ...]:
    out: list[Matcher] = []
    for i, text in enumerate(items):
        path = ("rules", "global_selector", i)
        if text.lstrip().startswith("__"):
            reader.problem(path, "labels starting with __ are reserved; select on a label the series carry")
            continue
        try:
            parsed = parse_matchers(text)
        except PromQLSyntaxError as exc:
            reader.problem(path, f"not a label matcher: {exc}")
            continue
        if len(parsed) != 1:
            reader.problem(path, f"one matcher per item, found {len(parsed)}")
            continue
        out.append(parsed[0])
    return tuple(out)


def _group_by(reader: _Reader, labels: list[str]) -> tuple[str, ...]:
    for i, label in enumerate(labels):
        if label in RESERVED_GROUP_BY or label.startswith("__"):
            reader.problem(("rules", "group_by", i), f"'{label}' is a label obsgen's rules already use as they need it; "
                                                     "group_by is for topology labels such as cluster or namespace")
    return tuple(labels)


def _scope_problems(reader: _Reader, scope: Scope) -> None:
    """Rule tests give every series a value of each scope label: one must satisfy the selector's matchers."""
    from obsgen.plan.synth import scope_values

    try:
        scope_values(scope)
    except ValueError as exc:
        reader.problem(("rules", "global_selector"), f"{exc}: the generated rule tests need one; use a matcher some value satisfies")


def _paths(reader: _Reader, given: dict[str, str]) -> tuple[tuple[str, str], ...]:
    defaults = {p: d["default"] for p, d in schema()["properties"]["output"]["properties"]["paths"]["properties"].items()}
    chosen = {**defaults, **given}
    seen: dict[str, str] = {}
    for name in ALL_OUTPUTS:
        folder = posixpath.normpath(chosen[name])
        if folder in seen:
            reader.problem(("output", "paths", name), f"'{folder}' is already the folder of {seen[folder]}; give each output its own")
        seen[folder] = name
    return tuple((name, posixpath.normpath(folder)) for name, folder in sorted(given.items()))


def _stack(reader: _Reader, data: dict[str, Any]) -> StackSettings:
    d = StackSettings()
    for key in ("webhook_url", "deadmans_url"):
        found = value_findings(data.get(key, ""))
        if found:
            # Webhook URLs are written into alertmanager.yml (0.25 has no url_file): they must hold no secret.
            reader.problem(("stack", key), f"looks like {found[0]}; use a URL without credentials")
    smtp = data.get("smtp", {})
    return StackSettings(
        receivers=frozenset(data.get("receivers", ())) - {"webhook"},
        webhook_url=data.get("webhook_url", d.webhook_url),
        deadmans_url=data.get("deadmans_url", d.deadmans_url),
        smtp_smarthost=smtp.get("smarthost", d.smtp_smarthost),
        smtp_from=smtp.get("from", d.smtp_from),
        smtp_username=smtp.get("username", d.smtp_username),
        email_to=data.get("email_to", d.email_to),
        slack_channel=data.get("slack_channel", d.slack_channel),
    )


def _slos(reader: _Reader, data: dict[str, Any]) -> SloOptions:
    """The `slos:` section: Sloth-compatible series, and the `for:` of each burn-alert tier (checked past the schema)."""
    tiers = data.get("burn_alert_for", {})
    fors = {}
    for tier in ("page", "ticket"):
        try:
            fors[tier] = burn_for(tiers.get(tier, "none"))
        except ValueError as exc:
            reader.problem(("slos", "burn_alert_for", tier), str(exc))
            fors[tier] = "0m"
    return SloOptions(sloth_compatible=data.get("sloth_compatible", False), page_for=fors["page"], ticket_for=fors["ticket"])


def _targets(reader: _Reader) -> TargetSettings:
    operator, thanos = reader.section("targets", "prometheus-operator"), reader.section("targets", "thanos")
    strategies = thanos.get("partial_response_strategy", {})
    return TargetSettings(operator.get("namespace", TargetSettings.operator_namespace),
                          tuple(sorted(operator.get("labels", {}).items())), tuple(sorted(strategies.items())))


def _strategy_lines(reader: _Reader, targets: TargetSettings) -> tuple[tuple[str, int | None], ...]:
    path = ("targets", "thanos", "partial_response_strategy")
    return tuple((s, reader.raw.line_of((*path, s))) for s, _ in targets.partial_response if s != ALL_SERVICES)


def project_from(raw: RawCatalog, base: Path, file: Path | None) -> Project:
    """A Project from parsed project-file data; raises CatalogError listing every problem."""
    reader = _Reader(raw)
    if not isinstance(raw.data, dict):
        reader.problem((), f"the project file must be a mapping, got {type(raw.data).__name__}")
        raise CatalogError(reader.problems)
    reader.schema_problems()
    reader.text_problems(raw.data)
    reader.secret_problems()
    if reader.problems:
        raise CatalogError(reader.problems)
    data = raw.data
    output, envs, rules = reader.section("output"), reader.section("environments"), reader.section("rules")
    outputs = tuple(o for o in ALL_OUTPUTS if o in output.get("outputs", DEFAULT_OUTPUTS))
    for name in outputs:
        missing = [r for r in REQUIRES.get(name, ()) if r not in outputs]
        if missing:
            reader.problem(("output", "outputs"), f"{name} needs {', '.join(missing)} (it reads their files); add them or drop {name}")
    names = tuple(envs.get("names", Project.environments))
    default_env = envs.get("default", "prod" if "prod" in names else names[0])
    if default_env not in names:
        reader.problem(("environments", "default"), f"'{default_env}' is not one of the environments: {', '.join(names)}")
    plan = PlanSettings(
        group_by=_group_by(reader, rules.get("group_by", [])),
        global_selector=_matchers(reader, rules.get("global_selector", [])),
        runbook_base=reader.section("runbooks").get("base_url", PlanSettings.runbook_base).rstrip("/"),
        slo=_slos(reader, reader.section("slos")),
    )
    _scope_problems(reader, plan.scope)
    settings = Settings(
        stack=_stack(reader, reader.section("stack")),
        paths=_paths(reader, output.get("paths", {})),
        dashboard_folders=reader.section("grafana").get("folders", "service"),
        command=output.get("regenerate_command", Settings.command),
        targets=_targets(reader),
    )
    if reader.problems:
        raise CatalogError(reader.problems)
    return Project(
        file=file, base=base, catalogs=posixpath.normpath(data.get("catalogs", Project.catalogs)),
        out=posixpath.normpath(output.get("root", Project.out)), outputs=outputs, environments=names,
        default_env=default_env, plan=plan, settings=settings,
        strategy_lines=_strategy_lines(reader, settings.targets),
    )


def load_project(path: Path) -> Project:
    """Read and check a project file; raises CatalogError with every problem, located."""
    display = str(path)
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise CatalogError([Problem(display, None, "", f"cannot read the project file: {exc.strerror or exc}")]) from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw_bytes[: exc.start].count(b"\n") + 1
        raise CatalogError([Problem(display, line, "", f"file is not valid UTF-8 (byte 0x{raw_bytes[exc.start]:02x})")]) from None
    if _empty(text):
        raw = RawCatalog(display, {}, {})
    else:
        raw = load_yaml_text(text, display)
    return project_from(raw, path.parent, path)


def _empty(text: str) -> bool:
    """A file with no YAML document (only comments or nothing): every default applies."""
    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) is None
    except yaml.YAMLError:
        return False  # load_yaml_text reports it with its line


def find_project(config: Path | None = None, cwd: Path | None = None) -> Project:
    """The project of --config, else ./obsgen.yaml, else the defaults; raises CatalogError with located problems."""
    if config is not None:
        return load_project(config)
    here = cwd or Path(".")
    candidate = here / PROJECT_FILE
    if candidate.is_file():
        return load_project(candidate)
    return Project(base=here)

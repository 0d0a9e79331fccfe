"""The stack's own configs: `docker compose config`, `otelcol validate`, `jaeger validate`, blackbox `--config.check`.

Compose names the field (`services.bad additional properties 'x'`, `'services[a].healthcheck.interval'`), which is
located in compose.yaml; the collector and Jaeger name the component, which is located in their config file.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import yaml

from obsgen.check.context import Context, Mounts
from obsgen.check.locate import first_token_line, token_line_after, yaml_error_line, yaml_path_line
from obsgen.check.result import Outcome
from obsgen.check.runner import Result

REQUIRED_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?")
COMPOSE_PATH = re.compile(r"'?(services(?:\.[\w-]+|\[[\w-]+\])(?:\.[\w-]+|\[[\w-]+\])*)'?")
YAML_LINE = re.compile(r"\byaml: line (\d+):|line (\d+): ")
PLACEHOLDER = "obsgen-check-placeholder"


def compose_field(message: str) -> list[str]:
    """The field path a compose message names, as keys: services[a].x -> [services, a, x] (plus a quoted property)."""
    if (dep := re.search(r'service "([\w-]+)" depends on undefined service "([\w-]+)"', message)):
        return ["services", dep.group(1), "depends_on", dep.group(2)]
    if (ref := re.search(r'service "([\w-]+)" refers to undefined (volume|network|secret|config) "?([\w.-]+)', message)):
        return ["services", ref.group(1), f"{ref.group(2)}s", ref.group(3)]
    match = COMPOSE_PATH.search(message)
    if match is None:
        return []
    parts = [p for p in re.split(r"[.\[\]]", match.group(1)) if p]
    extra = re.search(r"additional propert(?:y|ies) '([^']+)'", message)
    return parts + ([extra.group(1)] if extra else [])


def _services(text: str) -> str:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return ""
    services = doc.get("services") if isinstance(doc, dict) else None
    return f"{len(services)} services" if isinstance(services, dict) else ""


def compose(ctx: Context) -> Outcome:
    """docker compose config --quiet, every profile on: schema, references and interpolation, with placeholders for
    required variables.

    Only the generated files count: no .env is read, and each `${VAR:?...}` gets a placeholder value, since
    required secrets are the user's to set at run time.
    """
    rel, path = ctx.stack_file("compose.yaml", "the compose file")
    text = path.read_text(encoding="utf-8")
    compose_dir = ctx.layout.compose or "compose"
    mounts = ctx.work_mounts(compose_dir)
    env = {name: PLACEHOLDER for name in REQUIRED_VAR.findall(text)}
    with tempfile.TemporaryDirectory(prefix="obsgen-check-env-") as tmp:
        empty = Path(tmp) / "empty.env"
        empty.write_text("", encoding="utf-8")
        mounts = Mounts(ctx.layout, {**mounts, "/obsgen-check/empty.env": empty})
        # --profile "*": without it, services of a profile (scale) are schema-checked but their references are not.
        result = ctx.runner.run("compose", ["--env-file", "/obsgen-check/empty.env", "-f", f"/work/{rel}", "--profile", "*",
                                            "config", "--quiet"], mounts, env=env)
    out = Outcome(summary=_services(text))
    if result.ok:
        return out
    for message in [m for m in result.output.splitlines() if m.strip() and "decoding failed" not in m] or [result.output]:
        y = YAML_LINE.search(message)
        field = compose_field(message)
        if field:
            line = yaml_path_line(text, field)
            if field[-1] not in text.splitlines()[(line or 1) - 1]:  # a list entry, not a key: the line that names it
                line = token_line_after(text, field[-1], line or 1) or line
        elif y:
            line = yaml_error_line(text) or int(y.group(1) or y.group(2))
        else:
            line = first_token_line(text, message)
        out.add(rel, line, re.sub(r"validating \S+: ", "", message))
    return out


def _validate(ctx: Context, tool: str, service: str, name: str, what: str, args: list[str]) -> Outcome:
    rel, path = ctx.stack_file(name, what)
    mounts = ctx.service_mounts(service)
    target = next((c for c, h in mounts.items() if h == path.resolve()), None)
    if target is None:
        mounts = Mounts(ctx.layout, {**mounts, f"/work/{rel}": path})
        target = f"/work/{rel}"
    result = ctx.runner.run(tool, [a.replace("{config}", target) for a in args], mounts)
    out = Outcome()
    if not result.ok:
        _locate_go_errors(result, ctx.layout.path(rel).read_text(encoding="utf-8"), rel, out)
    return out


def _locate_go_errors(result: Result, text: str, rel: str, out: Outcome) -> None:
    lines = [ln for ln in result.output.splitlines() if re.search(r"\berror\b|invalid|Error", ln)] or [result.output[-800:]]
    for message in lines[:5]:
        message = re.sub(r"^\S+ \S+ ", "", message) if re.match(r"^\d{4}[/-]\d\d[/-]\d\d", message) else message
        y = YAML_LINE.search(message)
        line = (yaml_error_line(text) or int(y.group(1) or y.group(2))) if y else first_token_line(text, message)
        out.add(rel, line, message)


def otelcol(ctx: Context) -> Outcome:
    """otelcol validate: every component configured, and every pipeline naming only configured ones."""
    return _validate(ctx, "otelcol", "otel-collector", "otel-collector/config.yaml", "the collector config",
                     ["validate", "--config={config}"])


def jaeger(ctx: Context) -> Outcome:
    """jaeger validate (Jaeger v2 is a collector distribution): extensions, receivers and storage."""
    return _validate(ctx, "jaeger", "jaeger", "jaeger/config.yaml", "the Jaeger config", ["validate", "--config={config}"])


def blackbox(ctx: Context) -> Outcome:
    """blackbox_exporter --config.check: every probe module the stack's health checks use."""
    return _validate(ctx, "blackbox", "blackbox-exporter", "blackbox/blackbox.yml", "the blackbox exporter config",
                     ["--config.file={config}", "--config.check"])

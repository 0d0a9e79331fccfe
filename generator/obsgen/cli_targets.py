"""`obsgen generate`'s rule-target and rule-shaping flags: one run's overrides of the project file.

obsgen.yaml is the source of truth (output.outputs, targets:, rules.group_by, rules.global_selector); these flags
change one run: --target adds a rule target (prometheus-operator, cortex, mimir, thanos) to the outputs, the
operator's namespace and ruleSelector labels and Thanos' partial_response_strategy replace the project's, and
--group-by and --global-selector replace the Scope every expression is rendered in. A slip is a usage error
naming the flag.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import click

from obsgen.errors import CatalogError, Problem
from obsgen.target_names import ALL_SERVICES, PARTIAL_RESPONSE_STRATEGIES, TARGETS

if TYPE_CHECKING:
    from obsgen.pipeline import Loaded
    from obsgen.project import Project

F = TypeVar("F", bound=Callable[..., Any])

_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")  # a DNS-1123 label, as a Kubernetes namespace must be
_K8S_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_K8S_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class KeyValue(click.ParamType):
    """KEY=VALUE for a Kubernetes label (the operator's ruleSelector matches these)."""

    name = "KEY=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        key, sep, val = str(value).partition("=")
        if not sep or not _K8S_KEY.fullmatch(key) or len(key.rpartition("/")[2]) > 63:
            self.fail(f"{value!r} is not KEY=VALUE with a Kubernetes label key (e.g. release=kube-prometheus)", param, ctx)
        if len(val) > 63 or not _K8S_VALUE.fullmatch(val):
            self.fail(f"{val!r} is not a Kubernetes label value (63 characters at most: letters, digits, -_.)", param, ctx)
        return key, val


class Strategy(click.ParamType):
    """[SERVICE=]warn|abort: Thanos' partial_response_strategy for a service's groups, or for every service."""

    name = "[SERVICE=]STRATEGY"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, str]:
        if isinstance(value, tuple):
            return value
        service, sep, strategy = str(value).rpartition("=")
        if strategy.lower() not in PARTIAL_RESPONSE_STRATEGIES:
            self.fail(f"{strategy!r} is not a partial_response_strategy; choose {' or '.join(PARTIAL_RESPONSE_STRATEGIES)}",
                      param, ctx)
        return (service if sep else ALL_SERVICES), strategy.lower()


class GroupLabel(click.ParamType):
    """A label every aggregation keeps (cluster, namespace): a Prometheus label name obsgen's rules do not use."""

    name = "LABEL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from obsgen.project.load import RESERVED_GROUP_BY

        text = str(value)
        if not _LABEL.fullmatch(text) or text.startswith("__"):
            self.fail(f"{text!r} is not a Prometheus label name", param, ctx)
        if text in RESERVED_GROUP_BY:
            self.fail(f"'{text}' is a label obsgen's rules already use as they need it; group by topology labels such as "
                      "cluster or namespace", param, ctx)
        return text


class Matcher(click.ParamType):
    """One label matcher added to every selector: cluster="eu-1", env!~"dev|test"."""

    name = "MATCHER"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from obsgen.model import Matcher as M
        from obsgen.promql_parse import PromQLSyntaxError, parse_matchers

        if isinstance(value, M):
            return value
        text = str(value)
        try:
            found = parse_matchers(text)
        except PromQLSyntaxError as exc:
            self.fail(f"{text!r} is not a label matcher: {exc}", param, ctx)
        if len(found) != 1 or found[0].label.startswith("__"):
            self.fail(f"{text!r}: give one matcher on a label the series carry, e.g. cluster=\"eu-1\"", param, ctx)
        return found[0]


def target_options(func: F) -> F:
    """The rule-target and rule-shaping options of `obsgen generate` (each overrides obsgen.yaml for the run)."""
    options = (
        click.option("--target", "targets", multiple=True, type=click.Choice(TARGETS),
                     help="Also write this rule target (repeatable), besides the project's output.outputs."),
        click.option("--operator-namespace", default=None,
                     help="Kubernetes namespace of the PrometheusRule objects (targets.prometheus-operator.namespace)."),
        click.option("--operator-label", "operator_labels", multiple=True, type=KeyValue(),
                     help="Label on every PrometheusRule, for the operator's ruleSelector (repeatable; replaces "
                          "targets.prometheus-operator.labels)."),
        click.option("--partial-response", "partial_response", multiple=True, type=Strategy(),
                     help="Thanos partial_response_strategy (warn|abort), for every service or SERVICE=STRATEGY (repeatable; "
                          "replaces targets.thanos.partial_response_strategy)."),
        click.option("--group-by", "group_by", multiple=True, type=GroupLabel(),
                     help="A label every aggregation keeps, e.g. cluster (repeatable; replaces rules.group_by)."),
        click.option("--global-selector", "global_selector", multiple=True, type=Matcher(),
                     help='A matcher added to every selector, e.g. cluster="eu-1" (repeatable; replaces rules.global_selector).'),
    )
    for option in reversed(options):
        func = option(func)
    return func


def _namespace(value: str) -> str:
    if not _K8S_NAME.fullmatch(value) or len(value) > 63:
        raise click.BadParameter(f"{value!r} is not a Kubernetes namespace name (lower case letters, digits and -)",
                                 param_hint="--operator-namespace")
    return value


def overridden(project: Project, targets: tuple[str, ...], operator_namespace: str | None,
               operator_labels: tuple[tuple[str, str], ...], partial_response: tuple[tuple[str, str], ...],
               group_by: tuple[str, ...], global_selector: tuple[Any, ...]) -> Project:
    """The project as this run's flags change it (flags not given leave the project file's values)."""
    from obsgen.plan.synth import scope_values
    from obsgen.project import ALL_OUTPUTS

    chosen = set(project.outputs) | set(targets)
    t = project.settings.targets
    t = replace(t, operator_namespace=_namespace(operator_namespace) if operator_namespace is not None else t.operator_namespace,
                operator_labels=tuple(sorted(dict(operator_labels).items())) if operator_labels else t.operator_labels,
                partial_response=tuple(sorted(dict(partial_response).items())) if partial_response else t.partial_response)
    plan = project.plan
    if group_by:
        plan = replace(plan, group_by=tuple(dict.fromkeys(group_by)))
    if global_selector:
        plan = replace(plan, global_selector=tuple(global_selector))
    try:
        scope_values(plan.scope)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}: the generated rule tests need one", param_hint="--global-selector") from None
    return replace(project, outputs=tuple(o for o in ALL_OUTPUTS if o in chosen), plan=plan,
                   settings=replace(project.settings, targets=t),
                   strategy_lines=() if partial_response else project.strategy_lines)


def check_strategies(project: Project, loaded: Loaded, from_flags: bool) -> None:
    """Every service a partial_response_strategy names is one the catalogs define (a typo would never apply)."""
    known = {s.name for s in loaded.bundle.services}
    unknown = sorted({s for s, _ in project.settings.targets.partial_response} - {ALL_SERVICES} - known)
    if not unknown:
        return
    if from_flags:
        raise click.BadParameter(f"no catalog defines a service {unknown[0]!r}", param_hint="--partial-response")
    lines = dict(project.strategy_lines)
    raise CatalogError([Problem(str(project.file or "obsgen.yaml"), lines.get(s), f"targets.thanos.partial_response_strategy.{s}",
                                f"no catalog defines a service '{s}'") for s in unknown])

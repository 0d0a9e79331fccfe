"""`obsgen generate`'s rule-target and rule-shaping flags, turned into the values the plan and emit stages take.

--target chooses where rules are deployed besides rules/ (prometheus-operator, cortex, mimir, thanos), with the
operator's namespace and ruleSelector labels and Thanos' partial_response_strategy; --group-by and
--global-selector make the project Scope every expression is rendered in. A slip is a usage error naming the flag.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from obsgen.settings import ALL_SERVICES, PARTIAL_RESPONSE_STRATEGIES, TARGETS

F = TypeVar("F", bound=Callable[..., Any])

_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")  # a DNS-1123 label, as a Kubernetes namespace must be
_K8S_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_K8S_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# Labels obsgen's own rules group and match by: keeping them again would change what a rule means.
RESERVED_GROUP_BY = ("job", "instance", "service", "slo", "le", "quantile", "severity", "team", "alertname")


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
    """The rule-target and rule-shaping options of `obsgen generate`."""
    options = (
        click.option("--target", "targets", multiple=True, type=click.Choice(TARGETS[1:]),
                     help="Also write the rules for this target (repeatable); rules/ (prometheus) is always written."),
        click.option("--operator-namespace", default="monitoring", show_default=True,
                     help="Kubernetes namespace of the PrometheusRule objects (--target prometheus-operator)."),
        click.option("--operator-label", "operator_labels", multiple=True, type=KeyValue(),
                     help="Label on every PrometheusRule, for the operator's ruleSelector (repeatable)."),
        click.option("--partial-response", "partial_response", multiple=True, type=Strategy(),
                     help="Thanos partial_response_strategy (warn|abort), for every service or SERVICE=STRATEGY (repeatable)."),
        click.option("--group-by", "group_by", multiple=True, type=GroupLabel(),
                     help="A label every aggregation keeps, e.g. cluster (repeatable)."),
        click.option("--global-selector", "global_selector", multiple=True, type=Matcher(),
                     help='A matcher added to every selector, e.g. cluster="eu-1" (repeatable).'),
    )
    for option in reversed(options):
        func = option(func)
    return func


def _namespace(value: str) -> str:
    if not _K8S_NAME.fullmatch(value) or len(value) > 63:
        raise click.BadParameter(f"{value!r} is not a Kubernetes namespace name (lower case letters, digits and -)",
                                 param_hint="--operator-namespace")
    return value


def target_settings(targets: tuple[str, ...], operator_namespace: str, operator_labels: tuple[tuple[str, str], ...],
                    partial_response: tuple[tuple[str, str], ...]) -> Any:
    """The TargetSettings the flags describe."""
    from obsgen.settings import TargetSettings

    return TargetSettings(("prometheus", *dict.fromkeys(targets)), _namespace(operator_namespace),
                          tuple(sorted(dict(operator_labels).items())), tuple(sorted(dict(partial_response).items())))


def scope(group_by: tuple[str, ...], global_selector: tuple[Any, ...]) -> Any:
    """The project Scope the flags describe (PLAIN when none is given)."""
    from obsgen.promql import Scope

    return Scope(tuple(global_selector), tuple(dict.fromkeys(group_by)))

"""Prometheus naming rules and the cardinality guard, as pure functions over one metric."""

from __future__ import annotations

import re

from obsgen.model import Metric

SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")  # used with fullmatch: `$` would pass a final newline
LABEL_NAME = re.compile(r"[a-z][a-z0-9_]*")

# Suffixes that name a non-base unit, with the base unit Prometheus wants instead.
NON_BASE_UNITS = {
    "ms": "seconds",
    "millis": "seconds",
    "milliseconds": "seconds",
    "microseconds": "seconds",
    "us": "seconds",
    "ns": "seconds",
    "nanoseconds": "seconds",
    "minutes": "seconds",
    "hours": "seconds",
    "days": "seconds",
    "kb": "bytes",
    "kilobytes": "bytes",
    "mb": "bytes",
    "megabytes": "bytes",
    "gb": "bytes",
    "gigabytes": "bytes",
    "percent": "ratio",
    "percentage": "ratio",
}
UNIT_SUFFIX = {"seconds": "_seconds", "bytes": "_bytes"}
RESERVED_SUFFIXES = ("_bucket", "_count", "_sum", "_created")

# Label names that carry personal data or grow without bound. Matched on whole words of the name.
PII_LABELS = {
    "user": "user ids",
    "userid": "user ids",
    "user_id": "user ids",
    "username": "user names",
    "account_id": "account ids",
    "customer_id": "customer ids",
    "session": "session ids",
    "session_id": "session ids",
    "sessionid": "session ids",
    "request_id": "request ids",
    "trace_id": "trace ids",
    "span_id": "span ids",
    "email": "email addresses",
    "mail": "email addresses",
    "phone": "phone numbers",
    "token": "tokens",
    "api_key": "API keys",
    "apikey": "API keys",
    "password": "passwords",
    "secret": "secrets",
    "authorization": "credentials",
    "url": "raw URLs",
    "uri": "raw URLs",
    "path": "raw paths",
    "raw_path": "raw paths",
    "query": "raw queries",
    "ip": "IP addresses",
    "ip_address": "IP addresses",
    "client_ip": "IP addresses",
    "remote_addr": "IP addresses",
    "remote_ip": "IP addresses",
    "lat": "exact geo positions",
    "lon": "exact geo positions",
    "latitude": "exact geo positions",
    "longitude": "exact geo positions",
}
PII_WORDS = {"email", "token", "password", "ip", "uuid", "session", "user", "url", "uri"}

MAX_LABEL_BOUND = 1000
MAX_SERIES_PER_METRIC = 10000


def naming_problems(metric: Metric, namespace: str) -> list[tuple[str, str]]:
    """(field, message) pairs for every naming rule the metric breaks."""
    out: list[tuple[str, str]] = []
    name = metric.name
    allow = set(metric.lint_allow)
    if not SNAKE_CASE.fullmatch(name):
        return [("name", f"metric name '{name}' is not snake_case ([a-z0-9_], starting with a letter)")]
    if namespace and "namespace" not in allow and not name.startswith(namespace + "_"):
        out.append(("name", f"metric '{name}' must start with the service namespace '{namespace}_'"))
    if metric.type == "counter" and not name.endswith("_total") and "counter-suffix" not in allow:
        out.append(("name", f"counter '{name}' must end in '_total'"))
    if metric.type != "counter" and name.endswith("_total"):
        out.append(("name", f"{metric.type} '{name}' must not end in '_total' (only counters do)"))
    if metric.type in ("histogram", "summary") and name.endswith(RESERVED_SUFFIXES):
        out.append(("name", f"{metric.type} '{name}' must not end in a reserved suffix {RESERVED_SUFFIXES}"))
    if "base-unit" not in allow:
        stem = name[: -len("_total")] if name.endswith("_total") else name
        for word in stem.split("_")[1:]:
            if word in NON_BASE_UNITS:
                out.append(("name", f"metric '{name}' uses unit '{word}'; use base unit '{NON_BASE_UNITS[word]}'"))
                break
        suffix = UNIT_SUFFIX.get(metric.unit)
        if suffix and suffix not in name:
            out.append(("unit", f"metric '{name}' has unit {metric.unit} but its name lacks '{suffix}'"))
    return out


def label_problems(metric: Metric) -> list[tuple[str, str]]:
    """(field, message) pairs for unbounded, PII or badly named labels, and for series explosions."""
    out: list[tuple[str, str]] = []
    for label in metric.labels:
        where = f"labels.{label.name}"
        if not LABEL_NAME.fullmatch(label.name) or label.name.startswith("__"):
            out.append((where, f"label name '{label.name}' is not snake_case"))
            continue
        reason = PII_LABELS.get(label.name)
        if reason is None:
            words = set(label.name.split("_"))
            hit = sorted(words & PII_WORDS)
            if hit:
                reason = f"'{hit[0]}' values"
        if reason is not None:
            out.append(
                (
                    where,
                    f"label '{label.name}' on metric '{metric.name}' is unbounded or personal data ({reason}); "
                    "use a bounded label such as a route template or a class",
                )
            )
            continue
        if label.name in ("le", "quantile", "job", "instance"):
            out.append((where, f"label '{label.name}' is reserved (set by Prometheus or the client library)"))
        if label.bound is not None and label.bound > MAX_LABEL_BOUND:
            out.append(
                (where, f"label '{label.name}' bound {label.bound} exceeds the limit of {MAX_LABEL_BOUND} values")
            )
    series = 1
    for label in metric.labels:
        series *= label.cardinality
    if metric.type == "histogram":
        series *= len(metric.buckets) + 1
    if series > MAX_SERIES_PER_METRIC:
        out.append(
            (
                "labels",
                f"metric '{metric.name}' may produce {series} series per target (limit {MAX_SERIES_PER_METRIC}); "
                "tighten label bounds or drop a label",
            )
        )
    return out

"""Hypothesis strategies that build random VALID catalogs (as plain data, ready to dump as YAML).

Every service gets metrics of each type with label sets (declared values with characters that need escaping,
or bounds), SLOs of both kinds, alerts of every template and a dashboard with every generated panel kind.
Names carry the service's index, so the services of one bundle never clash. tests/test_valid_catalogs.py
asserts that whatever comes out of here generates, and passes promtool and the dashboard lint.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from obsgen.model import Matcher

LABEL_NAMES = ("route", "code", "status", "method", "kind", "region", "queue", "shard", "tier", "handler")
TEMPLATES = ("threshold", "lag", "backlog", "error_ratio", "latency_quantile", "down", "absent", "drop_percentage",
             "increase", "expr")
DURATIONS = ("0m", "1m", "2m", "5m", "90s", "10m")
WINDOWS = ("5m", "10m", "30m", "1h")
# Printable text of any script, with the characters PromQL strings, regexes, YAML and JSON must escape.
PRINTABLE = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"))
TRICKY = st.sampled_from(['"', "\\", "'", "{", "}", "$", "|", ".", "*", "#", ": ", "- ", "&", "!", "%", "@", "`", " "])
LABEL_VALUE = st.one_of(
    st.sampled_from(["200", "404", "500", "5xx", "GET", "/api/v1", "eu-west", "a.b", "x|y", "(a)"]),
    st.text(PRINTABLE, min_size=1, max_size=6),
    st.lists(st.one_of(TRICKY, st.text(PRINTABLE, min_size=1, max_size=2)), min_size=1, max_size=4).map("".join),
)
SIMPLE_VALUE = st.from_regex(r"[a-z0-9][a-z0-9_./-]{0,7}", fullmatch=True)
PROSE = st.text(PRINTABLE, min_size=1, max_size=30).filter(lambda s: s.strip() and "{{" not in s and "}}" not in s)
RE2_SPECIAL = set("\\.+*?()|[]{}^$")


def re2_literal(value: str) -> str:
    """A regex matching exactly the value, escaped so RE2 (Prometheus) and Python read it alike."""
    return "".join("\\" + c if c in RE2_SPECIAL else c for c in value)


@st.composite
def labels(draw: st.DrawFn, max_labels: int = 2) -> dict[str, dict[str, Any]]:
    """A metric's labels: declared value lists (most) or cardinality bounds."""
    names = draw(st.lists(st.sampled_from(LABEL_NAMES), max_size=max_labels, unique=True))
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        if draw(st.integers(0, 3)):
            out[name] = {"values": draw(st.lists(LABEL_VALUE, min_size=1, max_size=4, unique=True))}
        else:
            out[name] = {"bound": draw(st.integers(1, 20))}
    return out


@st.composite
def matcher(draw: st.DrawFn, name: str, spec: dict[str, Any], narrow: bool = False) -> str:
    """One matcher text on a label that selects at least one declared value (and, if narrow, not all of them)."""
    values = spec.get("values")
    if not values:
        value = draw(SIMPLE_VALUE)
        if draw(st.booleans()):
            return Matcher(name, "=", value).promql()
        return Matcher(name, "=~", f"{re2_literal(value)}|{re2_literal(draw(SIMPLE_VALUE))}").promql()
    ops = ["=", "=~"] + (["!=", "!~"] if len(values) > 1 else [])
    op = draw(st.sampled_from(ops))
    chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=max(1, len(values) - 1), unique=True))
    if op == "=":
        return Matcher(name, "=", chosen[0]).promql()
    if op == "!=":
        return Matcher(name, "!=", chosen[0]).promql()
    regex = "|".join(re2_literal(v) for v in chosen)
    return Matcher(name, op, regex).promql()


def _with_values(metric: dict[str, Any], min_values: int = 1) -> list[str]:
    return sorted(n for n, s in metric.get("labels", {}).items() if len(s.get("values", ())) >= min_values)


@st.composite
def selector(draw: st.DrawFn, metric: dict[str, Any]) -> dict[str, Any]:
    """{metric, matchers} with zero to two matchers that each select something declared."""
    out: dict[str, Any] = {"metric": metric["name"]}
    names = draw(st.lists(st.sampled_from(sorted(metric.get("labels", {})) or ["-"]), max_size=2, unique=True))
    texts = [draw(matcher(n, metric["labels"][n])) for n in names if n != "-"]
    if texts:
        out["matchers"] = texts
    return out


@st.composite
def ratio(draw: st.DrawFn, counters: list[dict[str, Any]]) -> tuple[dict[str, Any], Any, tuple[str, ...]]:
    """(errors, total, labels both carry): errors always counts a subset of total."""
    narrowable = [c for c in counters if _with_values(c, 2)]
    if narrowable and draw(st.integers(0, 3)):
        # One counter: errors picks some values of a label, total counts them all (or repeats a matcher).
        c = draw(st.sampled_from(narrowable))
        label = draw(st.sampled_from(_with_values(c, 2)))
        values = c["labels"][label]["values"]
        bad = draw(st.lists(st.sampled_from(values), min_size=1, max_size=len(values) - 1, unique=True))
        err_matcher = Matcher(label, "=~", "|".join(re2_literal(v) for v in bad)).promql()
        if len(bad) == 1 and draw(st.booleans()):
            err_matcher = Matcher(label, "=", bad[0]).promql()
        total: dict[str, Any] = {"metric": c["name"]}
        errors = {"metric": c["name"], "matchers": [err_matcher]}
        others = [n for n in sorted(c.get("labels", {})) if n != label]
        if others and draw(st.booleans()):
            shared = draw(matcher(others[0], c["labels"][others[0]]))
            total["matchers"] = [shared]
            errors["matchers"].append(shared)
        return errors, total, tuple(others)  # grouped by the narrowed label, each group would read 0 or 1
    # Two counters: failures over attempts, or rejected over (accepted + rejected).
    first, second = draw(st.lists(st.sampled_from(counters), min_size=2, max_size=2, unique_by=lambda c: c["name"]))
    mine, theirs = first.get("labels", {}), second.get("labels", {})
    # by() may name a label both carry, if every value errors may count is one total counts too.
    common = tuple(sorted(n for n in set(mine) & set(theirs)
                          if set(mine[n].get("values", ())) <= set(theirs[n].get("values", ()))
                          and bool(mine[n].get("values")) == bool(theirs[n].get("values"))))
    errors = {"metric": first["name"]}
    if draw(st.booleans()):
        return errors, [{"metric": second["name"]}, {"metric": first["name"]}], common
    return errors, {"metric": second["name"]}, common


def _description(template: str, by: list[str]) -> str:
    if template == "absent":
        return "The series is missing ({{ $value | humanize }})."
    if template == "expr":
        return "{{ $labels.job }} crossed the line."
    value = {"error_ratio": "{{ $value | humanizePercentage }}", "latency_quantile": "{{ $value | humanizeDuration }}",
             "drop_percentage": '{{ printf "%.2f" $value }}'}.get(template, "{{ $value | humanize }}")
    extra = "".join(f" {{{{ $labels.{b} }}}}" for b in by)
    return f"{{{{ $labels.job }}}}{extra} reads {value}."


@st.composite
def alert(draw: st.DrawFn, k: int, i: int, template: str, m: dict[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
    """One alert of a template over the service's metrics, or None when the service lacks the metric type."""
    out: dict[str, Any] = {"name": f"S{k}Alert{i}", "template": template,
                           "severity": draw(st.sampled_from(("critical", "warning", "info"))),
                           "summary": draw(PROSE) + "."}
    by: list[str] = []
    if template in ("threshold", "lag", "backlog", "down", "drop_percentage", "expr"):
        if not m["gauge"]:
            return None
        g = draw(st.sampled_from(m["gauge"]))
    if template in ("threshold", "lag", "backlog"):
        out.update(draw(selector(g)))
        by = draw(st.lists(st.sampled_from(sorted(g.get("labels", {})) or ["job"]), max_size=2, unique=True))
        out["op"] = draw(st.sampled_from((">", ">=", "<", "<=")))
        out["threshold"] = draw(st.one_of(st.integers(-1000, 10**6), st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 3))))
    elif template == "error_ratio":
        if len(m["counter"]) < 2:
            return None
        errors, total, common = draw(ratio(m["counter"]))
        out.update(errors=errors, total=total, threshold=draw(st.floats(0.001, 0.999).map(lambda x: round(x, 3))))
        by = draw(st.lists(st.sampled_from(common or ("job",)), max_size=2, unique=True))
        out["window"] = draw(st.sampled_from(WINDOWS))
    elif template == "latency_quantile":
        if not m["histogram"]:
            return None
        h = draw(st.sampled_from(m["histogram"]))
        out.update(draw(selector(h)))
        buckets = h["buckets"]
        out["threshold"] = draw(st.sampled_from(buckets[:-1])) if draw(st.booleans()) else round(
            draw(st.floats(buckets[0], buckets[-1], exclude_max=True)), 4)
        if not buckets[0] <= out["threshold"] < buckets[-1]:
            out["threshold"] = buckets[0]
        out["quantile"] = draw(st.sampled_from((0.5, 0.9, 0.95, 0.99, 0.999)))
        by = draw(st.lists(st.sampled_from(sorted(h.get("labels", {})) or ["job"]), max_size=2, unique=True))
    elif template == "down":
        out.update(draw(selector(g)))
    elif template == "absent":
        every = [x for kind in m.values() for x in kind]
        out.update(draw(selector(draw(st.sampled_from(every)))))
    elif template == "drop_percentage":
        out.update(draw(selector(g)))
        window = draw(st.sampled_from(("10m", "30m", "1h")))
        out.update(window=window, threshold=draw(st.floats(0.05, 0.95).map(lambda x: round(x, 2))))
        out["for"] = draw(st.sampled_from(("0m", "1m", "5m")))
        if draw(st.booleans()):
            out["min_value"] = draw(st.integers(0, 1000))
        by = draw(st.lists(st.sampled_from(sorted(g.get("labels", {})) or ["job"]), max_size=1, unique=True))
    elif template == "increase":
        out.update(draw(selector(draw(st.sampled_from(m["counter"])))))
        out.update(window=draw(st.sampled_from(WINDOWS)), threshold=draw(st.integers(0, 500)))
    elif template == "expr":
        limit = draw(st.integers(0, 100))
        out["expr"] = f"max by (job) ({g['name']}) > {limit}"
        series = f'{g["name"]}{{job="x", instance="a:1"}}'
        out["test"] = {
            "firing": {"series": [{"series": series, "values": f"{limit + 1}x30"}], "eval_time": "15m", "labels": {"job": "x"}},
            "silent": {"series": [{"series": series, "values": f"{limit - 1}x30"}], "eval_time": "15m"},
        }
    if by and by != ["job"]:
        out["by"] = by
    out["description"] = _description(template, [b for b in by if b != "job"])
    out.setdefault("for", draw(st.sampled_from(DURATIONS)))
    if draw(st.integers(0, 3)) == 0:
        out["labels"] = {"page": draw(LABEL_VALUE)}
    return out


@st.composite
def metrics(draw: st.DrawFn, k: int) -> dict[str, list[dict[str, Any]]]:
    """Counters, gauges, histograms and summaries of service k, named s<k>_..."""
    out: dict[str, list[dict[str, Any]]] = {"counter": [], "gauge": [], "histogram": [], "summary": []}
    for i in range(draw(st.integers(1, 3))):
        own = draw(labels())
        first = out["counter"][0].get("labels", {}) if out["counter"] else {}
        if first and draw(st.booleans()):
            # A label shared with the first counter, its values shuffled and maybe fewer: failures over attempts.
            name = draw(st.sampled_from(sorted(first)))
            spec = first[name]
            values = spec.get("values")
            own[name] = {"values": draw(st.permutations(values)).copy()[: draw(st.integers(1, len(values)))]} if values else dict(spec)
        out["counter"].append({"name": f"s{k}_c{i}_total", "type": "counter", "help": draw(PROSE),
                               "unit": draw(st.sampled_from(("requests", "events", "errors", "none"))), "labels": own})
    for i in range(draw(st.integers(1, 2))):
        unit = draw(st.sampled_from(("items", "bool", "connections", "seconds", "ratio")))
        name = f"s{k}_g{i}" + ("_seconds" if unit == "seconds" else "")
        out["gauge"].append({"name": name, "type": "gauge", "help": draw(PROSE), "unit": unit, "labels": draw(labels())})
    for i in range(draw(st.integers(0, 2))):
        buckets = draw(st.lists(st.sampled_from((0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)),
                                min_size=2, max_size=6, unique=True))
        out["histogram"].append({"name": f"s{k}_h{i}_seconds", "type": "histogram", "help": draw(PROSE), "unit": "seconds",
                                 "labels": draw(labels(1)), "buckets": sorted(buckets)})
    if draw(st.booleans()):
        summary: dict[str, Any] = {"name": f"s{k}_sm_seconds", "type": "summary", "help": draw(PROSE), "unit": "seconds"}
        if draw(st.booleans()):
            summary["quantiles"] = [0.5, 0.9, 0.99]
        out["summary"].append(summary)
    for kind in out.values():
        for metric in kind:
            if not metric.get("labels"):
                metric.pop("labels", None)
    return out


@st.composite
def slos(draw: st.DrawFn, m: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    objective = st.sampled_from((95, 99, 99.5, 99.9, 99.95)) | st.floats(93.5, 99.99).map(lambda x: round(x, 2))
    if len(m["counter"]) >= 2 and draw(st.booleans()):
        errors, total, _ = draw(ratio(m["counter"]))
        total = total[0] if isinstance(total, list) else total  # an SLO has one total
        if errors != total:
            out.append({"name": "availability", "kind": "availability", "objective": draw(objective),
                        "errors": errors, "total": total, "window": draw(st.sampled_from(("30d", "28d")))})
    if m["histogram"] and draw(st.booleans()):
        h = draw(st.sampled_from(m["histogram"]))
        slo = {"name": "latency", "kind": "latency", "objective": draw(objective), "metric": h["name"],
               "threshold": draw(st.sampled_from(h["buckets"]))}
        sel = draw(selector(h))
        if "matchers" in sel:
            slo["matchers"] = sel["matchers"]
        out.append(slo)
    return out


@st.composite
def panels(draw: st.DrawFn, k: int, m: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Panels of every generated kind the service's metrics allow."""
    out: list[dict[str, Any]] = []
    c = draw(st.sampled_from(m["counter"]))
    out.append({"title": "Rate", "kind": "rate", **draw(selector(c)),
                "by": draw(st.lists(st.sampled_from(sorted(c.get("labels", {})) or ["job"]), max_size=1))})
    if len(m["counter"]) >= 2:
        errors, total, common = draw(ratio(m["counter"]))
        out.append({"title": "Ratio", "kind": "ratio", "errors": errors, "total": total,
                    "by": draw(st.lists(st.sampled_from(common or ("job",)), max_size=1))})
    if m["histogram"]:
        h = draw(st.sampled_from(m["histogram"]))
        out.append({"title": "Latency", "kind": "quantile", **draw(selector(h)),
                    "quantiles": draw(st.lists(st.sampled_from((0.5, 0.9, 0.95, 0.99)), min_size=1, max_size=3, unique=True))})
    g = draw(st.sampled_from(m["gauge"]))
    out.append({"title": "Value", "kind": draw(st.sampled_from(("value", "stat"))), **draw(selector(g)),
                "aggregate": draw(st.sampled_from(("sum", "max", "min", "avg")))})
    # Raw PromQL the way the dashboard wants it: every series filtered by job=~"$job", alerts by service.
    exprs = [f'max by (job) ({g["name"]}{{job=~"$job"}})', f'sum(increase({c["name"]}{{job=~"$job"}}[1h]))',
             f'count(ALERTS{{service="svc{k}", alertstate="firing"}}) or vector(0)']
    if m["histogram"]:
        h = m["histogram"][0]["name"]
        exprs.append(f'histogram_quantile(0.9, sum by (le) (increase({h}_bucket{{job=~"$job"}}[1h])))')
    out.append({"title": "Raw", "kind": "expr", "expr": draw(st.sampled_from(exprs))})
    for panel in out:
        if draw(st.integers(0, 3)) == 0:
            panel["unit"] = draw(st.sampled_from(("short", "s", "reqps", "percentunit", "suffix: items", "bytes")))
    for panel in out:
        if panel.get("by") in ([], ["job"]):
            panel.pop("by")
    return out


@st.composite
def catalog(draw: st.DrawFn, k: int) -> dict[str, Any]:
    """One valid catalog for service number k."""
    m = draw(metrics(k))
    service: dict[str, Any] = {"name": f"svc{k}", "namespace": f"s{k}", "team": draw(st.sampled_from(("web", "data", "ops")))}
    if draw(st.booleans()):
        service["title"] = draw(PROSE)
    if draw(st.booleans()):
        service["targets"] = [{"job": f"svc{k}-j{i}", "addresses": [f"h{i}.example:{8000 + i}"]} for i in range(draw(st.integers(1, 2)))]
    if draw(st.booleans()):
        path = draw(st.text(st.characters(codec="ascii", categories=("L", "N", "P", "S")), max_size=8))
        service["health"] = [{"name": "ready", "url": f"http://svc{k}:8080/{path}"}]
    if draw(st.booleans()):
        service["runbook_base"] = "https://runbooks.example.com/obs"
    alerts = []
    for i, template in enumerate(draw(st.lists(st.sampled_from(TEMPLATES), min_size=1, max_size=5))):
        made = draw(alert(k, i, template, m))
        if made is not None:
            alerts.append(made)
    data: dict[str, Any] = {"service": service, "metrics": [x for kind in m.values() for x in kind]}
    data["slos"] = draw(slos(m))
    data["alerts"] = alerts
    if draw(st.booleans()):
        data["dashboards"] = [{"title": f"Board {k}", "rows": [{"title": "Row", "panels": draw(panels(k, m))}]}]
    return {key: value for key, value in data.items() if value}


@st.composite
def bundle(draw: st.DrawFn, max_services: int = 2) -> list[dict[str, Any]]:
    """One to max_services catalogs that fit together."""
    return [draw(catalog(k)) for k in range(draw(st.integers(1, max_services)))]

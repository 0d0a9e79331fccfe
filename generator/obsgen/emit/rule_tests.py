"""promtool unit tests: for every alert a case where it fires and one where it stays silent."""

from __future__ import annotations

from typing import Any

from obsgen.model import Matcher
from obsgen.naming import META_RULES, RULES_DIR, rule_groups
from obsgen.plan import ExprCheck, Plan, TestCase, TestSeries
from obsgen.promql import binop, compare, paren, quote, render, vector
from obsgen.settings import Settings
from obsgen.yamltext import dump, generated_header


def _labels_text(labels: tuple[tuple[str, str], ...]) -> str:
    """promtool's exp_samples label notation: {a="b", c="d"}."""
    return "{" + ", ".join(f"{k}={quote(v)}" for k, v in labels) + "}"


def _series(series: TestSeries) -> str:
    """A series in promtool's input notation: name{label="value", ...}, or the catalog's text as written."""
    d = dict(series.labels)
    if "__raw__" in d:
        return d["__raw__"]
    return d["__name__"] + _labels_text(tuple((k, v) for k, v in series.labels if k != "__name__"))


def _check(check: ExprCheck, eval_time: str) -> dict[str, Any]:
    """A recorded value within 1%: (rec > bool lo) + (rec < bool hi) must be 2."""
    series = vector(check.record, tuple(Matcher(k, "=", v) for k, v in check.labels))
    tolerance = max(abs(check.value) * 0.01, 1e-9)
    low = paren(compare(series, ">", check.value - tolerance, bool_=True))
    high = paren(compare(series, "<", check.value + tolerance, bool_=True))
    return {
        "expr": render(binop("+", low, high)),
        "eval_time": eval_time,
        "exp_samples": [{"labels": _labels_text(check.labels), "value": 2}],
    }


def _case(case: TestCase) -> dict[str, Any]:
    eval_time = f"{case.eval_minutes}m"
    out: dict[str, Any] = {
        "name": case.name,
        "interval": "1m",
        "input_series": [{"series": _series(s), "values": s.values} for s in case.series],
    }
    if case.alertname:  # an SLO whose tiers are all disabled has only its records checked
        out["alert_rule_test"] = [{
            "eval_time": eval_time,
            "alertname": case.alertname,
            "exp_alerts": [{"exp_labels": dict(a.labels), "exp_annotations": dict(a.annotations)} for a in case.expected],
        }]
    checks = [c for c in case.checks if c.value == c.value]  # NaN has no bracket
    if checks:
        out["promql_expr_test"] = [_check(c, eval_time) for c in checks]
    return out


def emit(plan: Plan, settings: Settings) -> dict[str, str]:
    """rules/tests/<service>.test.yaml for every service, and the Watchdog's."""
    files: dict[str, str] = {}
    # promtool reads rule_files relative to the test file: from this output's folder to the rules output's.
    to_rules = settings.relative(settings.root("rules", RULES_DIR), settings.root("rule-tests", f"{RULES_DIR}/tests"))
    for sp in plan.services:
        name = sp.service.name
        doc = {
            "rule_files": [f"{to_rules}/{name}.yaml"],
            "evaluation_interval": "1m",
            "group_eval_order": list(rule_groups(name)),
            "tests": [_case(c) for c in sp.cases],
        }
        files[f"{RULES_DIR}/tests/{name}.test.yaml"] = dump(doc, generated_header(sp.service.source, settings.command))
    meta = {
        "rule_files": [f"{to_rules}/{META_RULES}.yaml"],
        "evaluation_interval": "1m",
        "tests": [_case(c) for c in plan.meta_cases],
    }
    files[f"{RULES_DIR}/tests/{META_RULES}.test.yaml"] = dump(meta, generated_header("obsgen itself", settings.command))
    return files

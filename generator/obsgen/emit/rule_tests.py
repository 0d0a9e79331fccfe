"""promtool unit tests: for every alert a case where it fires and one where it stays silent."""

from __future__ import annotations

from typing import Any

from obsgen.emit.rules import META_FILE, group_names
from obsgen.model import Bundle, Matcher
from obsgen.plan import ExprCheck, TestCase, plan_bundle
from obsgen.promql import fmt_number, selector
from obsgen.yamltext import dump, generated_header


def _labels_text(labels: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(Matcher(k, "=", v).promql() for k, v in labels) + "}"


def _check(check: ExprCheck, eval_time: str) -> dict[str, Any]:
    series = selector(check.record, tuple(Matcher(k, "=", v) for k, v in check.labels))
    tolerance = max(abs(check.value) * 0.01, 1e-9)
    lo, hi = fmt_number(check.value - tolerance), fmt_number(check.value + tolerance)
    return {
        "expr": f"({series} > bool {lo}) + ({series} < bool {hi})",
        "eval_time": eval_time,
        "exp_samples": [{"labels": _labels_text(check.labels), "value": 2}],
    }


def _case(case: TestCase) -> dict[str, Any]:
    eval_time = f"{case.eval_minutes}m"
    out: dict[str, Any] = {
        "name": case.name,
        "interval": "1m",
        "input_series": [{"series": s.promtool(), "values": s.values} for s in case.series],
        "alert_rule_test": [
            {
                "eval_time": eval_time,
                "alertname": case.alertname,
                "exp_alerts": [
                    {"exp_labels": dict(a.labels), "exp_annotations": dict(a.annotations)} for a in case.expected
                ],
            }
        ],
    }
    checks = [c for c in case.checks if c.value == c.value]  # NaN has no bracket
    if checks:
        out["promql_expr_test"] = [_check(c, eval_time) for c in checks]
    return out


def emit(bundle: Bundle) -> dict[str, str]:
    plan = plan_bundle(bundle)
    files: dict[str, str] = {}
    for sp in plan.services:
        name = sp.service.name
        doc = {
            "rule_files": [f"../{name}.yaml"],
            "evaluation_interval": "1m",
            "group_eval_order": list(group_names(name)),
            "tests": [_case(c) for c in sp.cases],
        }
        files[f"rules/tests/{name}.test.yaml"] = dump(doc, generated_header(sp.service.source))
    meta = {
        "rule_files": [f"../{META_FILE.split('/', 1)[1]}"],
        "evaluation_interval": "1m",
        "tests": [_case(c) for c in plan.meta_cases],
    }
    files["rules/tests/obsgen-meta.test.yaml"] = dump(meta, generated_header("obsgen itself"))
    return files

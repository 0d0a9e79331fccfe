"""End to end on a distributed engine: obsgen's rules evaluated by Cortex's ruler, across three ingesters at RF 3.

Cortex runs from the Go-built binary (scripts/build-go-tools.sh cortex) as local processes in the scale profile's
layout (tests/cortex_cluster.py), configured by the generated compose/cortex/cortex.yaml. The demo service's
metrics reach it through Prometheus' remote write; every service's rule namespace (deploy/cortex/) is loaded through
the ruler API, as the TEST-ONLY time-compressed copy the Docker-free e2e uses (`for:`, ranges and offsets / 60).
For each alert template a fault makes the alert fire through Cortex's ruler and arrive at Alertmanager with the
rule's labels; then one ingester is killed, and no alert and no sample is lost. Every wait is bounded; every
process is stopped even on failure. CI=true: a missing Cortex binary fails (conftest.require_built).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from cortex_cluster import CortexCluster, wait_seconds

from obsgen.catalog import load_bundle
from obsgen.emit import emit_all
from obsgen.model import Bundle
from obsgen.plan import AlertRule, build_plan
from obsgen.project import DEFAULT_OUTPUTS
from obsgen.settings import Settings
from obsgen.simulate.triggers import combine, fault_for
from obsgen.writer import write

from conftest import BIN, ROOT, require_built, require_tool
from support import localstack as ls

# Compressed time: `make test` runs the `timing` tests at normal CPU priority beside the rest (scripts/run-tests.sh).
pytestmark = pytest.mark.timing

FIRE_TIMEOUT = 120  # the slowest: a 95% SLO's page tier needs ~45 s of failure in its 60 s window, plus write lag
LOST = "cortex-ingester-3"
HOLD = 15  # seconds the faults stay on with one ingester gone: every firing alert must stay firing


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Bundle, Path]:
    """The catalogs' bundle and a tree generated with the cortex target (deploy/cortex/) and the stack."""
    bundle = load_bundle(ROOT / "catalogs", "prod")
    out = tmp_path_factory.mktemp("generated")
    write(emit_all(build_plan(bundle), Settings(), (*DEFAULT_OUTPUTS, "cortex")), out)
    return bundle, out


@pytest.fixture(scope="module")
def cluster(generated: tuple[Bundle, Path], tmp_path_factory: pytest.TempPathFactory):
    cortex = require_built("cortex")
    for tool in ("prometheus", "prometheus-alertmanager", "amtool", "promtool", "prometheus-blackbox-exporter"):
        require_tool(tool)
    bundle, out = generated
    base = yaml.safe_load((out / "compose/cortex/cortex.yaml").read_text())
    external = yaml.safe_load((out / "compose/prometheus/agent.yml").read_text())["global"]["external_labels"]
    work = tmp_path_factory.mktemp("cortex")
    c = CortexCluster(cortex, base, bundle, ROOT / "catalogs", out / "compose/alertmanager/alertmanager.yml", work,
                      str(BIN / "obsgen"), external)
    with ls.started(c):
        yield c


def _namespaces(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Every namespace file of deploy/cortex/, as its compressed test copy: namespace -> groups."""
    loaded = {}
    for path in sorted((out / "deploy" / "cortex").glob("*.yaml")):
        doc = yaml.safe_load(ls.compress_rules(path.read_text()))
        loaded[doc["namespace"]] = doc["groups"]
    return loaded


@pytest.fixture(scope="module")
def loaded(cluster: CortexCluster, generated: tuple[Bundle, Path]) -> dict[str, list[dict[str, Any]]]:
    """The rule namespaces, posted group by group to the ruler API (every one accepted)."""
    _, out = generated
    namespaces = _namespaces(out)
    for namespace, groups in namespaces.items():
        for group in groups:
            answer = cluster.ruler.set_group(namespace, group)
            assert answer.status == 202, f"{namespace}/{group['name']}: {answer.status} {answer.body}"
    return namespaces


def test_rules_load_through_the_ruler_api_and_evaluate_healthy(cluster: CortexCluster,
                                                               loaded: dict[str, list[dict[str, Any]]]) -> None:
    services = [ns for ns in loaded if ns != "obsgen-meta"]
    assert len(services) >= 2
    stored = cluster.ruler.groups()
    assert {ns: sorted(g["name"] for g in gs) for ns, gs in stored.items()} == \
        {ns: sorted(g["name"] for g in gs) for ns, gs in loaded.items()}
    want = sum(len(g["rules"]) for gs in loaded.values() for g in gs)

    def evaluated() -> list[dict[str, Any]]:
        rules = cluster.rules()
        return rules if len(rules) == want and all(r["health"] != "unknown" for r in rules) else []

    ls.wait_for("every rule loaded and evaluated by the ruler", evaluated, timeout=60)
    ls.wait_for("every target up, through remote write", cluster.targets_up, timeout=60)
    # A few evaluations with data behind them: failing ones say so in health and lastError.
    wait_seconds(5)
    bad = [(r["name"], r.get("lastError")) for r in cluster.rules() if r["health"] != "ok"]
    assert not bad, f"rules failing evaluation in Cortex: {bad}"


def _triggerable(bundle: Bundle) -> list[tuple[AlertRule, dict[str, Any]]]:
    out = []
    for sp in build_plan(bundle).services:
        for rule in sp.alerts:
            fault = fault_for(sp.service, rule)
            if fault is not None:
                out.append((rule, fault))
    return out


def _matches(alert: dict[str, Any], rule: AlertRule) -> bool:
    labels = alert["labels"]
    return labels.get("alertname") == rule.name and all(labels.get(k) == v for k, v in rule.labels)


def _key(rule: AlertRule) -> str:
    return f"{rule.name}/{rule.severity}/{dict(rule.labels)['service']}"


def _phase(cluster: CortexCluster, items: list[tuple[AlertRule, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Inject the faults; every rule's alert must reach Alertmanager (active, or suppressed by a critical tier).

    Alertmanager is polled for all of them at once: a drop compared with `offset` fires only for a while.
    """
    since = time.monotonic()
    cluster.fault(combine([f for _, f in items]))
    seen: dict[str, dict[str, Any]] = {}
    deadline = since + FIRE_TIMEOUT
    while len(seen) < len(items) and time.monotonic() < deadline:
        alerts = cluster.am_alerts()
        for rule, _ in items:
            found = next((a for a in alerts if _matches(a, rule)), None)
            if found is not None:
                seen.setdefault(_key(rule), found)
        time.sleep(0.5)
    missing = sorted(_key(r) for r, _ in items if _key(r) not in seen)
    assert not missing, f"alerts that never reached Alertmanager from Cortex's ruler within {FIRE_TIMEOUT}s: {missing}"
    for rule, _ in items:
        alert = seen[_key(rule)]
        labels = alert["labels"]
        for key in rule.output_labels:
            assert labels.get(key), f"{rule.name}: the expression's label {key} is missing from {labels}"
        for key, value in cluster.base_labels().items():
            assert labels.get(key) == value, f"{rule.name}: the ruler's external label {key} is {labels.get(key)!r}"
        if alert["status"]["state"] == "active":  # delivered where the generated routes send it
            expected = set(ls.routes_test(cluster.am_config_file, labels))

            def delivered_or_inhibited(rule: AlertRule = rule, expected: set[str] = expected) -> bool:
                # Burn tiers without for: fire together: the ticket tier can be seen active a moment before the
                # page tier inhibits it, and an inhibited alert is rightly never delivered.
                if {r for r, _ in cluster.webhook.matching(rule.name, "firing", {"severity": rule.severity}, since)} >= expected:
                    return True
                now = next((a for a in cluster.am_alerts() if _matches(a, rule)), None)
                return now is not None and bool(now["status"].get("inhibitedBy"))

            ls.wait_for(f"{rule.name} ({rule.severity}) delivered to {sorted(expected)} (or inhibited)",
                        delivered_or_inhibited, timeout=30)
    return seen


def _series(result: list[dict[str, Any]]) -> dict[tuple[tuple[str, str], ...], list[tuple[float, str]]]:
    return {tuple(sorted(r["metric"].items())): [(float(t), v) for t, v in r["values"]] for r in result}


def _lost(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """Series whose raw samples (timestamp, value) are not all there, unchanged, in the second reading."""
    now = _series(after)
    return [f"{dict(labels)}: {len(set(samples) - set(now.get(labels, [])))} of {len(samples)} samples"
            for labels, samples in _series(before).items() if not set(samples) <= set(now.get(labels, []))]


def _gaps(counts: list[dict[str, Any]], minimum: float) -> list[tuple[dict[str, str], str]]:
    """Series with fewer samples in the window than a scrape a second gives, less jitter."""
    return [(r["metric"], r["value"][1]) for r in counts if float(r["value"][1]) < minimum]


def test_every_alert_template_fires_through_cortex_and_losing_an_ingester_loses_nothing(
        cluster: CortexCluster, loaded: dict[str, list[dict[str, Any]]], generated: tuple[Bundle, Path]) -> None:
    bundle, _ = generated
    items = _triggerable(bundle)
    used = {r.origin for sp in build_plan(bundle).services for r in sp.alerts} - {"expr"}
    assert used <= {r.origin for r, _ in items}, "every template the catalogs use is triggered"
    ls.wait_for("every target up", cluster.targets_up, timeout=60)
    wait_seconds(max(0.0, ls.MIN_OFFSET_S + 5 - (time.monotonic() - cluster.started)))  # `offset` drops need a past

    # 1. Every metric fault at once, on the healthy cluster.
    metric = [(r, f) for r, f in items if not ({"absent", "go_down"} & set(f))]
    firing = _phase(cluster, metric)

    # 2. Lose one of the three ingesters while those alerts fire. A drop compared with `offset` ends by itself once
    # the offset reaches past the fault's start, so those are left out of "still firing".
    steady = [r for r, _ in metric if r.origin != "drop_percentage"]
    before_kill = time.time()
    t1 = before_kill - 5  # older than the remote-write lag: complete in every ingester
    samples = '{job=~".+"}[30s]'  # a range selector: the raw samples of every scraped series, timestamps and values
    counted = cluster.query(samples, at=t1)
    assert len(counted) > 100 and all(r["values"] for r in counted)
    assert cluster.ingester_series(LOST) > 0, f"{LOST} held no series: its loss would prove nothing"
    cluster.kill(LOST)
    killed = time.monotonic()
    wait_seconds(HOLD)
    lost = _lost(counted, cluster.query(samples, at=t1))
    assert not lost, f"samples written before {LOST} was lost, missing or changed after it: {lost[:5]}"
    alerts = cluster.am_alerts()
    for rule in steady:
        assert any(_matches(a, rule) for a in alerts), f"{rule.name} ({rule.severity}) stopped firing when {LOST} was lost"
        resolved = cluster.webhook.matching(rule.name, "resolved", {"severity": rule.severity}, killed)
        assert not resolved, f"{rule.name} ({rule.severity}) resolved while its fault persisted, after {LOST} was lost"
    # Samples written after the loss: every target scraped each second, with no gap in the two live ingesters.
    at = time.time() - 3
    counts = cluster.query(f"count_over_time(up[{HOLD - 5}s])", at=at)
    assert len(counts) == cluster.target_count
    short = _gaps(counts, HOLD - 8)
    assert not short, f"scrapes missing after {LOST} was lost: {short}"
    cluster.clear()

    # 3. The alerts needing their own fault (a metric gone, a service down), on the degraded cluster.
    for key in ("absent", "go_down"):
        own = [(r, f) for r, f in items if key in f]
        if own:
            firing |= _phase(cluster, own)
            cluster.clear()
    assert len(firing) == len(items)


# -- the e2e's own checks can fail -------------------------------------------------------------------------------


class _Recorded:
    """Alertmanager as the e2e sees it, with canned alerts: for proving _phase refuses what it must."""

    def __init__(self, alerts: list[dict[str, Any]], external: dict[str, str]) -> None:
        self.alerts, self.external, self.faults = alerts, external, []
        self.am_config_file = Path("/nonexistent")

    def fault(self, body: dict[str, Any]) -> None:
        self.faults.append(body)

    def am_alerts(self) -> list[dict[str, Any]]:
        return self.alerts

    def base_labels(self) -> dict[str, str]:
        return self.external


@functools.cache
def _error_ratio_rule() -> AlertRule:
    bundle = load_bundle(ROOT / "catalogs", "prod")
    return next(r for r in build_plan(bundle).all_alerts if r.output_labels and r.origin == "error_ratio")


def _rule_and_alert() -> tuple[AlertRule, dict[str, Any]]:
    rule = _error_ratio_rule()
    labels = {"alertname": rule.name, **dict(rule.labels), **{k: "x" for k in rule.output_labels}, "environment": "prod"}
    return rule, {"labels": labels, "status": {"state": "suppressed"}}


@pytest.mark.parametrize("fault", ["output label", "external label", "never arrives"])
def test_the_alert_checks_fail_on_a_wrong_or_missing_alert(fault: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rule, alert = _rule_and_alert()
    monkeypatch.setattr(__import__(__name__), "FIRE_TIMEOUT", 1)
    good = _Recorded([alert], {"environment": "prod"})
    assert _key(rule) in _phase(good, [(rule, {"error_ratio": 0.9})])  # type: ignore[arg-type]
    if fault == "output label":
        alert["labels"].pop(rule.output_labels[0])
    elif fault == "external label":
        alert["labels"]["environment"] = "staging"
    else:
        alert["labels"]["alertname"] = "SomethingElse"
    with pytest.raises(AssertionError):
        _phase(_Recorded([alert], {"environment": "prod"}), [(rule, {"error_ratio": 0.9})])  # type: ignore[arg-type]


def test_the_loss_checks_see_a_missing_sample_and_a_scrape_gap() -> None:
    reading = [{"metric": {"job": "a"}, "values": [[1.0, "1"], [2.0, "2"], [3.0, "3"]]},
               {"metric": {"job": "b"}, "values": [[1.0, "5"]]}]
    assert _lost(reading, reading) == []
    dropped = [{"metric": {"job": "a"}, "values": [[1.0, "1"], [3.0, "3"]]}, reading[1]]
    assert _lost(reading, dropped) == ["{'job': 'a'}: 1 of 3 samples"]
    changed = [reading[0], {"metric": {"job": "b"}, "values": [[1.0, "6"]]}]
    assert _lost(reading, changed) == ["{'job': 'b'}: 1 of 1 samples"]
    assert _lost(reading, [reading[0]]) == ["{'job': 'b'}: 1 of 1 samples"]
    counts = [{"metric": {"job": "a"}, "value": [0, "10"]}, {"metric": {"job": "b"}, "value": [0, "4"]}]
    assert _gaps(counts, 7) == [({"job": "b"}, "4")]

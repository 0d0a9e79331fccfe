"""Alert latency on the local stack: time from injecting each alert's fault to its webhook notification.

Runs the Docker-free stack of the e2e test (Prometheus, Alertmanager, blackbox exporter, `obsgen simulate`) on the
TEST-ONLY time-compressed rules (a minute becomes a second), and compares each measured latency with its floor
(the compressed `for:`, which no alert can beat) and its bound: floor + rule evaluation interval (1 s) + scrape
interval (1 s) + Alertmanager group_wait (1 s). Latencies of windowed alerts (ratios, quantiles) also include the
time their rate window needs to cross the threshold.
Usage: .venv/bin/python bench/alert_latency.py [--catalogs catalogs] [--only ALERT ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from obsgen.catalog import load_bundle
from obsgen.plan import plan_bundle
from obsgen.simulate.triggers import fault_for

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the harness lives with the tests (tests/support/), not in the wheel
from support import localstack as ls  # noqa: E402

TIMEOUT = 120


def main() -> int:
    """Measure one alert per template (or the named ones) and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogs", type=Path, default=ROOT / "catalogs")
    parser.add_argument("--only", nargs="*", default=None, help="alert names (default: the first alert of each template)")
    args = parser.parse_args()
    bundle = load_bundle(args.catalogs, "prod")
    picks, seen = [], set()
    for sp in plan_bundle(bundle).services:
        for rule in sp.alerts:
            fault = fault_for(sp.service, rule)
            if fault is None or rule.severity == "warning" and rule.origin == "slo_burn":
                continue
            if (args.only and rule.name in args.only) or (not args.only and rule.origin not in seen):
                seen.add(rule.origin)
                picks.append((sp.service, rule, fault))
    obsgen = str(Path(sys.executable).parent / "obsgen")
    with tempfile.TemporaryDirectory() as tmp, ls.running_generated(bundle, args.catalogs, Path(tmp), obsgen) as st:
        ls.wait_for("targets up", st.targets_up, 30)
        st.wait_for_history()
        print(f"{'template':<17} {'alert':<45} {'floor s':>8} {'bound s':>8} {'measured s':>10} {'over floor':>10}")
        for _svc, rule, fault in picks:
            floor = ls.compressed_seconds(rule.for_)
            bound = floor + 1 + 1 + 1
            since = time.monotonic()
            st.fault(fault)
            try:
                got = ls.wait_for(rule.name, lambda r=rule, s=since: st.webhook.matching(r.name, "firing", {"severity": r.severity}, s),
                                  timeout=TIMEOUT)
                at = min(n.at for n in st.webhook.notifications if n.at >= since and any(
                    a["labels"].get("alertname") == rule.name for a in n.alerts))
                measured = at - since
                print(f"{rule.origin:<17} {rule.name:<45} {floor:>8.1f} {bound:>8.1f} {measured:>10.1f} {measured - floor:>10.1f}")
                del got
            except TimeoutError as exc:
                print(f"{rule.origin:<17} {rule.name:<45} {floor:>8.1f} {bound:>8.1f} {'timeout':>10} ({exc})")
            finally:
                st.clear()
            ls.wait_for("alert resolved", lambda r=rule: (r.name, r.severity) not in {
                (a["labels"]["alertname"], a["labels"].get("severity")) for a in st.firing()}, 120)
            ls.wait_for("targets up", st.targets_up, 30)
            st.wait_for_history()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Query cost of the dashboards: samples Prometheus touches per refresh, recording rules vs the raw expressions.

Runs the Docker-free local stack, lets it collect history, then for every recording rule a dashboard panel reads,
runs a 5-minute-wide range query (step 15 s, as a Grafana refresh would) of the record and of the raw expression it
replaces, and reports `totalQueryableSamples` from /api/v1/query_range?stats=all. The rules are the TEST-ONLY
time-compressed copy, so raw windows read 60x fewer samples than in production: the ratio is a lower bound.
Usage: .venv/bin/python bench/query_cost.py [--history 60]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from obsgen.catalog import load_bundle
from obsgen.plan import plan_bundle

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the harness lives with the tests (tests/support/), not in the wheel
from support import localstack as ls  # noqa: E402


def samples(st: ls.LocalStack, expr: str, start: float, end: float) -> int:
    """Samples a range query touches."""
    q = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": "15", "stats": "all"})
    data = ls.http_json(f"{st.prom_url}/api/v1/query_range?{q}")["data"]
    return int(data["stats"]["samples"]["totalQueryableSamples"])


def main() -> int:
    """Print per-record costs and the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogs", type=Path, default=ROOT / "catalogs")
    parser.add_argument("--history", type=float, default=60, help="seconds of history to collect first")
    args = parser.parse_args()
    bundle = load_bundle(args.catalogs, "prod")
    plan = plan_bundle(bundle)
    used: dict[str, str] = {}
    for sp in plan.services:
        rules = {r.record: r.expr for r in (*sp.recording, *sp.slo_recording)}
        for _, queries in sp.panels:
            for q in queries:
                for name in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+", q.expr):
                    if name in rules:
                        used[name] = rules[name]
    obsgen = str(Path(sys.executable).parent / "obsgen")
    with tempfile.TemporaryDirectory() as tmp, ls.running_generated(bundle, args.catalogs, Path(tmp), obsgen) as st:
        ls.wait_for("targets up", st.targets_up, 30)
        time.sleep(args.history)
        end = time.time()
        start = end - 300
        total_rec = total_raw = 0
        print(f"{'recording rule':<70} {'record':>8} {'raw':>8} {'ratio':>6}")
        for name, expr in sorted(used.items()):
            rec, raw = samples(st, name, start, end), samples(st, ls.compress_expr(expr), start, end)
            total_rec, total_raw = total_rec + rec, total_raw + raw
            print(f"{name:<70} {rec:>8} {raw:>8} {raw / max(rec, 1):>6.1f}")
        print(f"{'TOTAL (' + str(len(used)) + ' records read by dashboards)':<70} {total_rec:>8} {total_raw:>8} "
              f"{total_raw / max(total_rec, 1):>6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

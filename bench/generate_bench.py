"""Time `obsgen generate` as a whole process on synthetic catalogs of 10, 100 and 1,000 services.

Each service has about 20 metrics, 3 SLOs and 10 alerts. Reports the median of several runs,
the example catalogs' time, and the 1,000/100 growth ratio. Usage: python bench/generate_bench.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OBSGEN = str(Path(sys.executable).parent / "obsgen")


def service_catalog(i: int) -> dict:
    """One synthetic service: 20 metrics, 3 SLOs, 10 alerts, one dashboard."""
    ns = f"svc{i}"
    metrics = [
        {"name": f"{ns}_http_requests_total", "type": "counter", "help": "Requests.", "unit": "requests",
         "labels": {"route": {"bound": 20}, "code": {"values": ["2xx", "4xx", "5xx"]}}},
        {"name": f"{ns}_http_request_duration_seconds", "type": "histogram", "help": "Latency.", "unit": "seconds",
         "labels": {"route": {"bound": 20}}, "buckets": [0.05, 0.1, 0.25, 0.5, 1, 2.5]},
        {"name": f"{ns}_db_up", "type": "gauge", "help": "DB up.", "unit": "bool"},
        {"name": f"{ns}_queue_depth", "type": "gauge", "help": "Queue.", "unit": "items"},
        {"name": f"{ns}_jobs_failed_total", "type": "counter", "help": "Job failures.", "unit": "events"},
    ]
    metrics += [{"name": f"{ns}_extra_{k}_total", "type": "counter", "help": "Extra.", "unit": "events"} for k in range(15)]
    slos = [
        {"name": "availability", "kind": "availability", "objective": 99.9,
         "errors": {"metric": f"{ns}_http_requests_total", "matchers": ['code="5xx"']}, "total": {"metric": f"{ns}_http_requests_total"}},
        {"name": "latency", "kind": "latency", "objective": 99, "metric": f"{ns}_http_request_duration_seconds", "threshold": 0.5},
        {"name": "latency-fast", "kind": "latency", "objective": 95, "metric": f"{ns}_http_request_duration_seconds", "threshold": 0.1},
    ]
    base = {"severity": "warning", "summary": "Something is wrong.", "for": "5m"}
    alerts = [
        {**base, "name": f"S{i}Errors", "template": "error_ratio", "errors": slos[0]["errors"], "total": slos[0]["total"],
         "threshold": 0.05, "description": "{{ $value | humanizePercentage }} fail on {{ $labels.job }}."},
        {**base, "name": f"S{i}Slow", "template": "latency_quantile", "metric": f"{ns}_http_request_duration_seconds",
         "threshold": 0.5, "description": "p95 is {{ $value | humanizeDuration }}."},
        {**base, "name": f"S{i}DbDown", "template": "down", "metric": f"{ns}_db_up", "description": "{{ $labels.instance }} lost its DB."},
        {**base, "name": f"S{i}Queue", "template": "backlog", "metric": f"{ns}_queue_depth", "threshold": 100,
         "description": "{{ $value | humanize }} queued."},
        {**base, "name": f"S{i}JobFail", "template": "increase", "metric": f"{ns}_jobs_failed_total", "threshold": 3, "window": "30m",
         "description": "{{ $value | humanize }} failures."},
    ]
    alerts += [
        {**base, "name": f"S{i}Extra{k}", "template": "increase", "metric": f"{ns}_extra_{k}_total", "threshold": 10, "window": "1h",
         "description": "{{ $value | humanize }} events on {{ $labels.job }}."}
        for k in range(5)
    ]
    return {
        "service": {"name": f"svc-{i}", "namespace": ns, "team": f"team-{i % 7}",
                    "targets": [{"job": f"svc-{i}", "addresses": [f"svc-{i}:8080"]}]},
        "metrics": metrics, "slos": slos, "alerts": alerts,
        "dashboards": [{"title": "Traffic", "rows": [{"title": "RED", "panels": [
            {"title": "Rate", "kind": "rate", "metric": f"{ns}_http_requests_total", "by": ["route"], "unit": "reqps", "description": "r"},
            {"title": "Latency", "kind": "quantile", "metric": f"{ns}_http_request_duration_seconds", "unit": "s", "description": "l"},
        ]}]}],
    }


def time_generate(catalogs: Path, runs: int) -> float:
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            proc = subprocess.run([OBSGEN, "generate", "--catalogs", str(catalogs), "--out", out], capture_output=True, text=True)
            samples.append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(f"generate failed: {proc.stderr[:2000]}")
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="10,100,1000")
    args = parser.parse_args()
    results = {"examples": time_generate(ROOT / "catalogs", args.runs)}
    print(f"example catalogs: {results['examples']:.3f} s (median of {args.runs})", flush=True)
    for size in map(int, args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            cats = Path(tmp)
            for i in range(size):
                (cats / f"svc-{i:04d}.yaml").write_text(yaml.safe_dump(service_catalog(i), sort_keys=False))
            runs = args.runs if size < 1000 else max(3, args.runs // 2)
            results[str(size)] = time_generate(cats, runs)
            print(f"{size:>5} services: {results[str(size)]:.3f} s (median of {runs})", flush=True)
    if "100" in results and "1000" in results:
        print(f"growth 1000/100: {results['1000'] / results['100']:.2f}x (target <= 11x)")
    print(json.dumps({"cpu_count": os.cpu_count(), "seconds": results}))


if __name__ == "__main__":
    main()

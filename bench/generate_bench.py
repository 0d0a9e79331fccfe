"""Time `obsgen generate` as a whole process and print every target of issue 10 against its measured value.

Synthetic catalogs: each service has 20 metrics, 3 SLOs and 10 alerts. Runs are interleaved (100 and 1,000
services alternate; GC modes alternate), each into a fresh output directory, and every figure comes with the
machine's 1-minute load average: on a shared 2-core machine, wall time is only comparable at equal load, so
CPU time (user + system of the child) is reported beside it.

Usage: python bench/generate_bench.py [--runs N] [--no-sloth] [--gc-modes] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OBSGEN = str(Path(sys.executable).parent / "obsgen")
sys.path.insert(0, str(Path(__file__).resolve().parent))


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


def write_catalogs(root: Path, size: int) -> Path:
    cats = root / f"catalogs-{size}"
    cats.mkdir()
    for i in range(size):
        (cats / f"svc-{i:04d}.yaml").write_text(yaml.safe_dump(service_catalog(i), sort_keys=False), encoding="utf-8")
    return cats


@dataclass
class Runs:
    """Samples of one configuration: wall seconds, child CPU seconds, peak RSS in MB, load before each run."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)

    def add(self, args: list[str]) -> None:
        self.load.append(os.getloadavg()[0])
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        self.wall.append(time.perf_counter() - start)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        self.cpu.append(usage.ru_utime + usage.ru_stime)
        self.peak_mb.append(usage.ru_maxrss / 1024)

    def median(self, what: str) -> float:
        return statistics.median(getattr(self, what))

    def loads(self) -> str:
        return f"{min(self.load):.1f}-{max(self.load):.1f}"


def generate(runs: Runs, cats: Path, out: Path, *extra: str) -> None:
    """One run into an empty output directory, removed afterwards (1,000 services write about 100 MB)."""
    shutil.rmtree(out, ignore_errors=True)
    runs.add([OBSGEN, "generate", "--catalogs", str(cats), "--out", str(out), *extra])


def measure(root: Path, runs: int, gc_modes: bool) -> dict[str, Runs]:
    out = root / "out"
    cats = {size: write_catalogs(root, size) for size in (100, 1000)}
    results: dict[str, Runs] = {k: Runs() for k in ("version", "examples", "100", "1000")}
    for _ in range(max(runs, 10)):
        results["version"].add([OBSGEN, "--version"])
    for _ in range(runs):
        generate(results["examples"], ROOT / "catalogs", out)
        generate(results["100"], cats[100], out)
        generate(results["1000"], cats[1000], out)
    panels = len(json.loads((out / "dashboards" / "fleet" / "overview.json").read_text(encoding="utf-8"))["panels"])
    if gc_modes:
        for mode in ("default", "freeze", "off"):
            results[f"gc-{mode}"] = Runs()
        for _ in range(runs):
            for mode in ("default", "freeze", "off"):
                generate(results[f"gc-{mode}"], cats[1000], out, "--gc", mode)
    results["_panels"] = panels  # type: ignore[assignment]
    return results


def report(r: dict, sloth: dict | None, runs: int) -> list[tuple[str, str, str, str]]:
    """(target, measured, met, load) rows."""
    rows = []

    def row(target: str, measured: str, ok: bool, load: str) -> None:
        rows.append((target, measured, "yes" if ok else "NO", load))

    if sloth is not None:
        s = sloth["sizes"]["1000"]
        row("rules only, 1,000 services: obsgen <= 1.0x Sloth", f"{s['ratio']:.2f}x ({s['obsgen_s']:.2f} s vs {s['sloth_s']:.2f} s)",
            s["ratio"] <= 1.0, f"{min(s['load_1m'])}-{max(s['load_1m'])}")
        row("  ... both tools' alerts agree (promtool)", "ok" if not sloth["equal_work_problems"] else "FAILED",
            not sloth["equal_work_problems"], "-")
    big, small = r["1000"], r["100"]
    row("full bundle, 1,000 services < 8 s (quiet)", f"{big.median('wall'):.2f} s wall, {big.median('cpu'):.2f} s CPU",
        big.median("wall") < 8, big.loads())
    growth_wall = big.median("wall") / small.median("wall")
    growth_cpu = big.median("cpu") / small.median("cpu")
    row("growth 1,000/100 <= 10.5x", f"{growth_wall:.2f}x wall, {growth_cpu:.2f}x CPU", growth_wall <= 10.5,
        f"{small.loads()} / {big.loads()}")
    row("example catalogs < 0.3 s", f"{r['examples'].median('wall'):.3f} s wall, {r['examples'].median('cpu'):.3f} s CPU",
        r["examples"].median("wall") < 0.3, r["examples"].loads())
    row("obsgen --version < 60 ms", f"{r['version'].median('wall') * 1000:.0f} ms wall, {r['version'].median('cpu') * 1000:.0f} ms CPU",
        r["version"].median("wall") < 0.06, r["version"].loads())
    row("peak memory at 1,000 < 400 MB", f"{max(big.peak_mb):.0f} MB", max(big.peak_mb) < 400, big.loads())
    row("fleet overview at 1,000 <= 60 panels", str(r["_panels"]), r["_panels"] <= 60, "-")
    for mode in ("default", "freeze", "off"):
        g = r.get(f"gc-{mode}")
        if g is not None:
            row(f"  gc {mode} at 1,000 (for the record)", f"{g.median('wall'):.2f} s wall, {g.median('cpu'):.2f} s CPU, "
                f"{max(g.peak_mb):.0f} MB", True, g.loads())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-sloth", action="store_true", help="skip the side-by-side run against Sloth")
    parser.add_argument("--gc-modes", action="store_true", help="also compare gc modes (default, freeze, off) at 1,000")
    parser.add_argument("--json", type=Path, help="write every sample here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(Path(tmp), args.runs, args.gc_modes)
    sloth = None
    if not args.no_sloth:
        import vs_sloth

        sloth = vs_sloth.compare([1000], args.runs)
    rows = report(results, sloth, args.runs)
    width = max(len(r[0]) for r in rows)
    print(f"{'target':<{width}}  {'measured':<44} {'met':<4} load (1 min avg, {os.cpu_count()} CPUs)")
    for target, measured, ok, load in rows:
        print(f"{target:<{width}}  {measured:<44} {ok:<4} {load}")
    if args.json:
        data = {k: v.__dict__ for k, v in results.items() if isinstance(v, Runs)}
        args.json.write_text(json.dumps({"generate": data, "panels": results["_panels"], "sloth": sloth}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

"""obsgen against Sloth v0.16.0 on the same SLOs, side by side: rules only, 3 availability SLOs per service.

Sloth is built once with `go install github.com/slok/sloth/cmd/sloth@v0.16.0` into the tool cache
(/var/cache/obsgen/bin/sloth-0.16.0; GOBIN is a temporary directory, then the binary is moved). Both tools get
the same services and SLOs (objective, error and total selectors, page and ticket alerts on the 30-day windows),
run interleaved, and the medians and their ratio are reported with the machine's load. Before timing, promtool
checks on a few inputs that both tools' alerts fire and stay silent alike, so the comparison is of equal work.

Usage: python bench/vs_sloth.py [--sizes 100,1000] [--runs 5]
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
from pathlib import Path

import yaml

CACHE = Path("/var/cache/obsgen/bin")
SLOTH_VERSION = "0.16.0"
SLOTH = CACHE / f"sloth-{SLOTH_VERSION}"
OBSGEN = str(Path(sys.executable).parent / "obsgen")
ROUTES = ("/checkout", "/login", "/search")
# (name, objective, extra matchers on both selectors): three availability SLOs per service.
SLOS = (("availability", 99.9, ""), ("checkout", 99.5, 'route="/checkout"'), ("login", 99.0, 'route="/login"'))


def build_sloth() -> Path:
    """The cached Sloth binary, built with `go install` the first time."""
    if SLOTH.is_file() and os.access(SLOTH, os.X_OK):
        return SLOTH
    if shutil.which("go") is None:
        raise SystemExit("Go is not installed: cannot build Sloth (go install github.com/slok/sloth/cmd/sloth@v0.16.0)")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as gobin:
        print(f"building Sloth v{SLOTH_VERSION} with go install (minutes on a cold cache)...", file=sys.stderr, flush=True)
        env = {**os.environ, "GOBIN": gobin, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
        subprocess.run(["go", "install", f"github.com/slok/sloth/cmd/sloth@v{SLOTH_VERSION}"], env=env, check=True)
        staged = CACHE / f".sloth-{SLOTH_VERSION}.{os.getpid()}"
        shutil.copy2(Path(gobin) / "sloth", staged)
        os.replace(staged, SLOTH)
    return SLOTH


def _selectors(i: int, extra: str) -> tuple[str, str]:
    base = f'job="svc-{i:04d}"' + (f",{extra}" if extra else "")
    metric = f"svc{i}_http_requests_total"
    return f'{metric}{{{base},code="5xx"}}', f"{metric}{{{base}}}"


def sloth_spec(i: int) -> dict:
    slos = []
    for name, objective, extra in SLOS:
        errors, total = _selectors(i, extra)
        slos.append({
            "name": name, "objective": objective, "description": f"{name} of svc-{i:04d}.",
            "sli": {"events": {"error_query": f"sum(rate({errors}[{{{{.window}}}}]))",
                               "total_query": f"sum(rate({total}[{{{{.window}}}}]))"}},
            "alerting": {"name": f"Svc{i}{name.capitalize()}Burn", "labels": {"team": f"team-{i % 7}"},
                         "annotations": {"summary": f"The {name} SLO of svc-{i:04d} burns its budget."},
                         "page_alert": {"labels": {"severity": "critical"}},
                         "ticket_alert": {"labels": {"severity": "warning"}}},
        })
    return {"version": "prometheus/v1", "service": f"svc-{i:04d}", "labels": {"team": f"team-{i % 7}"}, "slos": slos}


def obsgen_catalog(i: int) -> dict:
    metric = f"svc{i}_http_requests_total"
    slos = []
    for name, objective, extra in SLOS:
        matchers = [extra] if extra else []
        slos.append({"name": name, "kind": "availability", "objective": objective,
                     "errors": {"metric": metric, "matchers": [*matchers, 'code="5xx"']},
                     "total": {"metric": metric, "matchers": matchers}})
    return {
        "service": {"name": f"svc-{i:04d}", "namespace": f"svc{i}", "team": f"team-{i % 7}"},
        "metrics": [{"name": metric, "type": "counter", "help": "Requests.", "unit": "requests",
                     "labels": {"route": {"values": list(ROUTES)}, "code": {"values": ["2xx", "4xx", "5xx"]}}}],
        "slos": slos,
    }


def write_inputs(root: Path, size: int) -> tuple[Path, Path]:
    sloth_dir, obsgen_dir = root / f"sloth-{size}", root / f"obsgen-{size}"
    sloth_dir.mkdir()
    obsgen_dir.mkdir()
    for i in range(size):
        (sloth_dir / f"svc-{i:04d}.yaml").write_text(yaml.safe_dump(sloth_spec(i), sort_keys=False), encoding="utf-8")
        (obsgen_dir / f"svc-{i:04d}.yaml").write_text(yaml.safe_dump(obsgen_catalog(i), sort_keys=False), encoding="utf-8")
    return sloth_dir, obsgen_dir


def sloth_cmd(sloth: Path, inputs: Path, out: Path) -> list[str]:
    return [str(sloth), "generate", "-i", str(inputs), "-o", str(out)]


def obsgen_cmd(inputs: Path, out: Path) -> list[str]:
    return [OBSGEN, "generate", "--catalogs", str(inputs), "--out", str(out), "--only", "rules"]


def timed(cmd: list[str], out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)  # sloth wants an existing directory
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {proc.stderr[-2000:]}")
    return elapsed


# -- equal work: both tools' alerts fire and stay silent on the same inputs ---------------------------------

# (case, errors per minute out of 1000 requests per minute, tiers that must fire after 3 hours)
CASES = (("every request fails", 1000, ("page", "ticket")), ("0.5% fail", 5, ("ticket",)), ("none fail", 0, ()))
TIER_LABEL = {"sloth": ("sloth_severity", {"page": "page", "ticket": "ticket"}),
              "obsgen": ("severity", {"page": "critical", "ticket": "warning"})}


def _promtool_test(tool: str, rule_file: Path, work: Path) -> list[str]:
    """promtool tests of the svc-0000 availability SLO; returns the cases that failed."""
    label, names = TIER_LABEL[tool]
    service = {"sloth": 'sloth_service="svc-0000", sloth_slo="availability"', "obsgen": 'service="svc-0000", slo="availability"'}[tool]
    failed = []
    for case, errors, tiers in CASES:
        test = {
            "rule_files": [str(rule_file)],
            "evaluation_interval": "1m",
            "tests": [{
                "interval": "1m",
                "input_series": [
                    {"series": 'svc0_http_requests_total{job="svc-0000", route="/search", code="5xx"}', "values": f"0+{errors}x200"},
                    {"series": 'svc0_http_requests_total{job="svc-0000", route="/search", code="2xx"}',
                     "values": f"0+{1000 - errors}x200"},
                ],
                "promql_expr_test": [{
                    "expr": f'count by ({label}) (ALERTS{{alertstate="firing", {service}}})',
                    "eval_time": "3h",
                    "exp_samples": [{"labels": f'{{{label}="{names[t]}"}}', "value": 1} for t in tiers],
                }],
            }],
        }
        path = work / f"{tool}-{case.replace(' ', '-').replace('%', 'pct')}.test.yaml"
        path.write_text(yaml.safe_dump(test, sort_keys=False), encoding="utf-8")
        proc = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True)
        if proc.returncode != 0:
            failed.append(f"{tool}: {case}: {(proc.stdout + proc.stderr)[-600:]}")
    return failed


def equal_work(sloth: Path, root: Path) -> list[str]:
    """Generate one service with each tool and check their alerts agree on every case (empty list: they do)."""
    if shutil.which("promtool") is None:
        return ["promtool is not installed: equal work not checked (apt-get install prometheus)"]
    (root / "equal").mkdir()
    sloth_in, obsgen_in = write_inputs(root / "equal", 1)
    sloth_out, obsgen_out = root / "equal" / "sloth-out", root / "equal" / "obsgen-out"
    timed(sloth_cmd(sloth, sloth_in, sloth_out), sloth_out)
    timed(obsgen_cmd(obsgen_in, obsgen_out), obsgen_out)
    problems = _promtool_test("sloth", next(sloth_out.rglob("*.y*ml")), root / "equal")
    problems += _promtool_test("obsgen", obsgen_out / "rules" / "svc-0000.yaml", root / "equal")
    return problems


def compare(sizes: list[int], runs: int) -> dict:
    """Interleaved runs of both tools per size: medians, the obsgen/Sloth ratio and the load around them."""
    sloth = build_sloth()
    results: dict = {"sloth": str(sloth), "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        results["equal_work_problems"] = equal_work(sloth, root)
        for size in sizes:
            sloth_in, obsgen_in = write_inputs(root, size)
            samples: dict[str, list[float]] = {"sloth": [], "obsgen": []}
            loads = [os.getloadavg()[0]]
            for _ in range(runs):
                samples["sloth"].append(timed(sloth_cmd(sloth, sloth_in, root / "out-sloth"), root / "out-sloth"))
                samples["obsgen"].append(timed(obsgen_cmd(obsgen_in, root / "out-obsgen"), root / "out-obsgen"))
                loads.append(os.getloadavg()[0])
            med = {tool: statistics.median(s) for tool, s in samples.items()}
            results["sizes"][str(size)] = {
                "sloth_s": med["sloth"], "obsgen_s": med["obsgen"], "ratio": med["obsgen"] / med["sloth"],
                "samples": samples, "load_1m": [round(x, 2) for x in loads],
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = compare([int(s) for s in args.sizes.split(",")], args.runs)
    problems = results["equal_work_problems"]
    print("equal work (promtool, svc-0000, 3 cases per tool):", "ok" if not problems else "FAILED")
    for line in problems:
        print("  " + line)
    for size, r in results["sizes"].items():
        print(f"{size:>5} services: Sloth {r['sloth_s']:.3f} s, obsgen {r['obsgen_s']:.3f} s, ratio {r['ratio']:.2f}x "
              f"(medians of {args.runs}, load {min(r['load_1m'])}-{max(r['load_1m'])})")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

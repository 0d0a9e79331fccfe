"""Does a process pool over services make generation faster on this machine? Measured, not assumed.

Loads the synthetic 1,000-service catalogs once, then times plan + emit (every output) serially and with a
pool of worker processes (fork: they share the loaded model), each planning and emitting a slice of the
services; the parent only joins the file maps. Runs alternate; medians of wall time are reported with the
load average. obsgen keeps the pool only if this shows a clear gain (it did not on the shared 2-core machine).

Usage: python bench/pool_bench.py [--size 1000] [--runs 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_bench import write_catalogs  # noqa: E402

from obsgen import pipeline  # noqa: E402
from obsgen.settings import Settings  # noqa: E402

LOADED: pipeline.Loaded | None = None  # set before the pool forks, read by the workers


def _slice(bounds: tuple[int, int]) -> dict[str, str]:
    assert LOADED is not None
    bundle = dataclasses.replace(LOADED.bundle, services=LOADED.bundle.services[bounds[0]:bounds[1]])
    plan = pipeline.plan(pipeline.Loaded(bundle, LOADED.sources))
    return pipeline.emit(plan, Settings())


def serial(loaded: pipeline.Loaded) -> int:
    return len(pipeline.emit(pipeline.plan(loaded), Settings()))


def pooled(loaded: pipeline.Loaded, workers: int) -> int:
    n = len(loaded.bundle.services)
    step = -(-n // workers)
    files: dict[str, str] = {}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for part in pool.map(_slice, [(i, min(i + step, n)) for i in range(0, n, step)]):
            files.update(part)  # per-service files are disjoint; each slice also writes (partial) fleet files
    return len(files)


def main() -> None:
    global LOADED
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cats = write_catalogs(Path(tmp), args.size)
        LOADED = pipeline.load(cats)
    gc.freeze()
    samples: dict[str, list[float]] = {"serial": [], "pool": []}
    loads = []
    for _ in range(args.runs):
        for name in ("serial", "pool"):
            loads.append(os.getloadavg()[0])
            start = time.perf_counter()
            serial(LOADED) if name == "serial" else pooled(LOADED, args.workers)
            samples[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"{args.size} services, plan + emit: serial {med['serial']:.2f} s, pool of {args.workers} {med['pool']:.2f} s, "
          f"speed-up {med['serial'] / med['pool']:.2f}x (medians of {args.runs}; load {min(loads):.1f}-{max(loads):.1f}, "
          f"{os.cpu_count()} CPUs)")
    print({k: [round(x, 2) for x in v] for k, v in samples.items()})


if __name__ == "__main__":
    main()

"""Time the write phase alone on the synthetic catalogs of generate_bench: into an empty folder, over an unchanged
tree, the --check of an unchanged tree, and one changed file. Rendering happens once, before any timing.

Usage: python bench/writer_bench.py [--services N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_bench import service_catalog  # noqa: E402

from obsgen import pipeline  # noqa: E402
from obsgen.writer import diff, write  # noqa: E402


def _timed(action, *args: object) -> float:
    start = time.perf_counter()
    action(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cats = Path(tmp, "catalogs")
        cats.mkdir()
        for i in range(args.services):
            (cats / f"svc-{i:04d}.yaml").write_text(yaml.safe_dump(service_catalog(i), sort_keys=False))
        files = pipeline.generate(cats)
        one_changed = dict(files)
        first = min(one_changed)
        samples: dict[str, list[float]] = {"fresh": [], "unchanged": [], "check unchanged": [], "one changed": []}
        for run in range(args.runs):
            out = Path(tmp, f"out{run}")
            samples["fresh"].append(_timed(write, files, out))
            samples["unchanged"].append(_timed(write, files, out))
            samples["check unchanged"].append(_timed(diff, files, out))
            one_changed[first] = files[first] + f"# run {run}\n"
            samples["one changed"].append(_timed(write, one_changed, out))
            shutil.rmtree(out)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{len(files)} files from {args.services} services, median of {args.runs}:")
    for name, value in medians.items():
        print(f"  write phase, {name:<16} {value:.3f} s")
    print(json.dumps({"files": len(files), "seconds": medians}))


if __name__ == "__main__":
    main()

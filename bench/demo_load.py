"""Demo service under load: k6 at a constant arrival rate against `obsgen simulate`; p95 latency and the demo's CPU.

Usage: .venv/bin/python bench/demo_load.py [--rate 500] [--duration 15s]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the harness lives with the tests (tests/support/), not in the wheel
from support import localstack as ls  # noqa: E402

SCRIPT = """
import http from 'k6/http';
import { check } from 'k6';
export const options = {
  scenarios: { load: { executor: 'constant-arrival-rate', rate: __RATE__, timeUnit: '1s', duration: '__DURATION__',
                       preAllocatedVUs: 50, maxVUs: 400 } },
  thresholds: { http_req_duration: ['p(95)<150'], http_req_failed: ['rate<0.01'] },
};
export default function () {
  const res = http.get(__ENV.BASE_URL + '/health/live', { tags: { name: 'live' } });
  check(res, { 'status is 2xx': (r) => r.status >= 200 && r.status < 300 });
}
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    """Run the load and print p95, error ratio, achieved rate and CPU."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--duration", default="15s")
    args = parser.parse_args()
    k6 = shutil.which("k6") or str(Path(sys.executable).parent / "k6")
    port = ls.free_port()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "load.js"
        script.write_text(SCRIPT.replace("__RATE__", str(args.rate)).replace("__DURATION__", args.duration))
        summary = Path(tmp) / "summary.json"
        demo = subprocess.Popen([str(Path(sys.executable).parent / "obsgen"), "simulate", "--catalogs", str(ROOT / "catalogs"),
                                 "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            ls.wait_for("demo", lambda: ls.http_json(f"{url}/health/live"), 20)
            cpu0, t0 = cpu_seconds(demo.pid), time.monotonic()
            result = subprocess.run([k6, "run", "--quiet", "--no-color", f"--summary-export={summary}", str(script)],
                                    env={**os.environ, "BASE_URL": url, "K6_NO_USAGE_REPORT": "true"},
                                    capture_output=True, text=True, timeout=600)
            cpu = (cpu_seconds(demo.pid) - cpu0) / (time.monotonic() - t0)
        finally:
            demo.terminate()
            demo.wait(timeout=10)
        metrics = json.loads(summary.read_text())["metrics"]
    print(f"target rate        {args.rate}/s for {args.duration}")
    print(f"achieved rate      {metrics['http_reqs']['rate']:.0f}/s")
    print(f"p95 latency        {metrics['http_req_duration']['p(95)']:.2f} ms")
    print(f"failed requests    {metrics['http_req_failed']['value'] * 100:.2f}%")
    print(f"demo CPU           {cpu * 100:.0f}% of one core (process: {os.cpu_count()} cores on this machine)")
    print(f"k6 exit code       {result.returncode} (99 = a threshold crossed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`for:` on burn-rate alerts, measured: detection delay and flapping with and without it, on the same bursts.

One availability SLO (99.9% over 30 days, the workbook windows) is generated with each `for:` setting
(obsgen.yaml's slos.burn_alert_for), and promtool runs every setting's rules on the same synthetic error ratios:

- fast burn: 5% of requests fail (50x the budget) for an hour;
- slow burn: 0.4% fail (4x) for six hours;
- noisy burn: after six clean hours, 4 minutes at 3% and 4 at 0%, eight times (the 5m window swings across the
  page threshold while the 1h window stays above it);
- hovering: after six clean hours, 50 minutes at 2%, then an hour where the 5m window swings across the page
  threshold every 3 minutes while the 1h window stays above it (the case `for:` is meant for);
- one blip: after six clean hours, 2 minutes at 50% (it spends 3% of the month's budget: a page by the workbook).

For each it reports, per tier, the minutes until the alert first fires (from the start of the burn), how many times it
started firing (episodes: more than one for the same incident is flapping) and the minutes spent firing.
promtool only passes or fails, so each measure is asked for with an expectation it cannot meet and read from the
"got:" of its report.

Usage: python bench/burn_for.py [--for none,2m/15m ...]  (one duration for both tiers, or page/ticket)
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

OBSGEN = str(Path(sys.executable).parent / "obsgen")
CATALOG = """
service: {name: shop, team: web}
metrics:
  - {name: shop_requests_total, type: counter, help: Requests., unit: requests, labels: {code: {values: ["200", "500"]}}}
slos:
  - name: availability
    kind: availability
    objective: 99.9
    errors: {metric: shop_requests_total, matchers: ['code="500"']}
    total: {metric: shop_requests_total}
"""
START = 60  # minutes of clean traffic before a sustained burn
QUIET = 360  # before noise and blips: six clean hours, so the slow page pair (6h) does not smooth them away
SETTINGS = ("none", "1m,5m", "2m,15m", "5m,30m")
PER_MINUTE = 1000


def _scenarios() -> dict[str, tuple[int, list[float]]]:
    """Each scenario's first bad minute and its error ratio per minute."""
    clean, quiet = [0.0] * START, [0.0] * QUIET
    noisy = ([0.03] * 4 + [0.0] * 4) * 8  # on and off around the page threshold of the 5m window
    hovering = ([0.024] * 3 + [0.006] * 3) * 10  # the 5m window swings 1.32%-1.68% across the 1.44% page threshold
    return {
        "fast burn (5% for 1h)": (START, clean + [0.05] * 60 + [0.0] * 60),
        "slow burn (0.4% for 6h)": (START, clean + [0.004] * 360 + [0.0] * 30),
        "noisy burn (4m at 3%, 4m at 0%, 64m)": (QUIET, quiet + noisy + [0.0] * 60),
        "hovering (2% for 50m, then 3m at 2.4%, 3m at 0.6%)": (QUIET, quiet + [0.02] * 50 + hovering + [0.0] * 30),
        "one blip (2m at 50%)": (QUIET, quiet + [0.5] * 2 + [0.0] * 60),
    }


def _series(shares: list[float]) -> list[dict[str, str]]:
    bad, good, values_bad, values_good = 0.0, 0.0, ["0"], ["0"]
    for share in shares:
        bad += share * PER_MINUTE
        good += (1 - share) * PER_MINUTE
        values_bad.append(f"{bad:g}")
        values_good.append(f"{good:g}")
    return [{"series": 'shop_requests_total{code="500", job="shop"}', "values": " ".join(values_bad)},
            {"series": 'shop_requests_total{code="200", job="shop"}', "values": " ".join(values_good)}]


FIRING = ('(count by (severity) (ALERTS{alertstate="firing", slo="availability"}) or '
          'label_replace(vector(0), "severity", "critical", "", "") or label_replace(vector(0), "severity", "warning", "", ""))')
MEASURES = {
    # minutes from the start of the burn to the first firing evaluation
    "first": '(min_over_time((timestamp(count by (severity) (ALERTS{alertstate="firing", slo="availability"})))[{end}:1m])'
             " - {start}) / 60",
    "changes": f"changes(({FIRING})[{{end}}:1m])",  # starts and stops of firing
    "minutes": f"sum_over_time(({FIRING})[{{end}}:1m])",  # minutes firing
}
GOT = re.compile(r'\{severity="(critical|warning)"\} ([0-9.eE+-]+)')


def _measure(work: Path, setting: str) -> dict[str, dict[str, dict[str, float]]]:
    out = work / setting.replace(",", "-")
    page, _, ticket = setting.partition(",")  # one duration for both tiers, or page,ticket
    ticket = ticket or page
    config = work / f"obsgen-{out.name}.yaml"
    config.write_text(f"version: 1\nslos:\n  burn_alert_for: {{page: {page}, ticket: {ticket}}}\n")
    subprocess.run([OBSGEN, "generate", "--config", str(config), "--catalogs", str(work / "catalogs"), "--out", str(out),
                    "--only", "rules"], check=True, capture_output=True)
    groups = [g["name"] for g in yaml.safe_load((out / "rules" / "shop.yaml").read_text())["groups"]]
    tests, keys = [], []
    for name, (start, shares) in _scenarios().items():
        end = f"{len(shares)}m"
        checks = [{"expr": expr.replace("{end}", end).replace("{start}", str(start * 60)), "eval_time": end, "exp_samples": [{"labels": "{impossible=\"1\"}", "value": -1}]}
                  for expr in MEASURES.values()]
        keys += [(name, measure) for measure in MEASURES]
        tests.append({"name": name, "interval": "1m", "input_series": _series(shares), "promql_expr_test": checks})
    doc = {"rule_files": ["rules/shop.yaml"], "evaluation_interval": "1m", "group_eval_order": groups, "tests": tests}
    (out / "measure.test.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, width=10**6))
    report = subprocess.run(["promtool", "test", "rules", "measure.test.yaml"], cwd=out, capture_output=True, text=True)
    blocks = re.split(r"\n\s*expr: ", report.stdout + report.stderr)[1:]
    if len(blocks) != len(keys):
        raise SystemExit(f"promtool reported {len(blocks)} measures, expected {len(keys)}:\n{report.stdout}{report.stderr}")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for (scenario, measure), block in zip(keys, blocks, strict=True):
        got = block.split("got:", 1)[1] if "got:" in block else ""
        for severity, value in GOT.findall(got):
            results.setdefault(scenario, {}).setdefault(severity, {})[measure] = float(value)
    return results


def _row(values: dict[str, float], changes_end_firing: bool = False) -> str:
    first = values.get("first")
    changes = values.get("changes", 0.0)
    episodes = int((changes + 1) // 2)
    delay = "-" if first is None else f"{first:g} min"
    return f"{delay:>8} {episodes:>9} {values.get('minutes', 0.0):>8g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--for", dest="settings", default=",".join(s.replace(",", "/") for s in SETTINGS),
                        help="comma-separated settings, page/ticket with a slash: none,2m/15m")
    args = parser.parse_args()
    settings = [s.replace("/", ",") for s in args.settings.split(",")]
    with tempfile.TemporaryDirectory(prefix="obsgen-burn-for-") as tmp:
        work = Path(tmp)
        (work / "catalogs").mkdir()
        (work / "catalogs" / "shop.yaml").write_text(CATALOG)
        measured = {s: _measure(work, s) for s in settings}
    print(f"{'scenario':<52} {'for (page,ticket)':<18} {'tier':<9} {'detected':>8} {'episodes':>9} {'minutes':>8}")
    for scenario in _scenarios():
        for setting in settings:
            for severity, tier in (("critical", "page"), ("warning", "ticket")):
                values = measured[setting].get(scenario, {}).get(severity, {})
                print(f"{scenario:<52} {setting:<18} {tier:<9} {_row(values)}")
    print(json.dumps(measured))


if __name__ == "__main__":
    main()

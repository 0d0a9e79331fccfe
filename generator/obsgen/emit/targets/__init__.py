"""Rule targets beyond plain Prometheus: the same planned groups packaged for where teams run their rules.

- prometheus-operator: one PrometheusRule object per service (deploy/prometheus-operator/<service>.yaml);
- cortex, mimir: one ruler namespace per service, the files `cortextool`/`mimirtool rules sync --rule-dirs` read
  (deploy/cortex/, deploy/mimir/);
- thanos: Thanos ruler files, with partial_response_strategy where the project sets one (deploy/thanos/).

Each is an output obsgen.yaml selects (output.outputs); `prometheus` is the rules output (emit/rules.py).
"""

from __future__ import annotations

DEPLOY = "deploy"


def folder(target: str) -> str:
    """Where a target's files go, relative to the output root."""
    return f"{DEPLOY}/{target}"

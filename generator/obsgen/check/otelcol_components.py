"""The OpenTelemetry Collector Builder manifest for exactly the components a collector config uses.

`python -m obsgen.check.otelcol_components --config compose/otel-collector/config.yaml --version 0.129.0`
prints the manifest; `--key` prints a short hash of the component set (part of the cached binary's name).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import yaml

CORE = "go.opentelemetry.io/collector"
CONTRIB = "github.com/open-telemetry/opentelemetry-collector-contrib"

# kind -> component type -> Go module (without version). Core components live in the core
# repository, the rest in contrib; both are released as v0.N.0 together.
MODULES: dict[str, dict[str, str]] = {
    "receivers": {
        "otlp": f"{CORE}/receiver/otlpreceiver",
        "prometheus": f"{CONTRIB}/receiver/prometheusreceiver",
        "hostmetrics": f"{CONTRIB}/receiver/hostmetricsreceiver",
        "filelog": f"{CONTRIB}/receiver/filelogreceiver",
    },
    "processors": {
        "batch": f"{CORE}/processor/batchprocessor",
        "memory_limiter": f"{CORE}/processor/memorylimiterprocessor",
        "attributes": f"{CONTRIB}/processor/attributesprocessor",
        "resource": f"{CONTRIB}/processor/resourceprocessor",
        "resourcedetection": f"{CONTRIB}/processor/resourcedetectionprocessor",
        "transform": f"{CONTRIB}/processor/transformprocessor",
        "filter": f"{CONTRIB}/processor/filterprocessor",
        "tail_sampling": f"{CONTRIB}/processor/tailsamplingprocessor",
        "probabilistic_sampler": f"{CONTRIB}/processor/probabilisticsamplerprocessor",
    },
    "exporters": {
        "debug": f"{CORE}/exporter/debugexporter",
        "nop": f"{CORE}/exporter/nopexporter",
        "otlp": f"{CORE}/exporter/otlpexporter",
        "otlphttp": f"{CORE}/exporter/otlphttpexporter",
        "prometheus": f"{CONTRIB}/exporter/prometheusexporter",
        "prometheusremotewrite": f"{CONTRIB}/exporter/prometheusremotewriteexporter",
    },
    "extensions": {
        "zpages": f"{CORE}/extension/zpagesextension",
        "health_check": f"{CONTRIB}/extension/healthcheckextension",
        "pprof": f"{CONTRIB}/extension/pprofextension",
    },
    "connectors": {
        "forward": f"{CORE}/connector/forwardconnector",
        "spanmetrics": f"{CONTRIB}/connector/spanmetricsconnector",
        "servicegraph": f"{CONTRIB}/connector/servicegraphconnector",
        "count": f"{CONTRIB}/connector/countconnector",
    },
}


class UnknownComponent(ValueError):
    """A component type the builder mapping does not know: add it to MODULES."""


def components(config: dict) -> dict[str, list[str]]:
    """kind -> sorted component types declared in a collector config (`otlp/2` counts as `otlp`)."""
    out: dict[str, list[str]] = {}
    for kind in MODULES:
        section = config.get(kind) or {}
        out[kind] = sorted({str(cid).split("/", 1)[0] for cid in section})
    return out


def key(used: dict[str, list[str]]) -> str:
    """A short, stable hash of the component set, so a config change yields a new cached binary."""
    text = "\n".join(f"{kind}:{t}" for kind in sorted(used) for t in used[kind])
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def manifest(used: dict[str, list[str]], version: str, output_path: str) -> dict:
    """The builder manifest (dist + one gomod entry per used component, all at v<version>)."""
    doc: dict = {
        "dist": {
            "name": "otelcol-obsgen",
            "description": "obsgen's collector: exactly the components of compose/otel-collector/config.yaml",
            "output_path": output_path,
            "version": version,
        }
    }
    for kind, types in used.items():
        entries = []
        for t in types:
            module = MODULES[kind].get(t)
            if module is None:
                raise UnknownComponent(f"{kind[:-1]} {t!r} has no Go module in obsgen.check.otelcol_components.MODULES")
            entries.append({"gomod": f"{module} v{version}"})
        if entries:
            doc[kind] = entries
    return doc


def main(argv: list[str] | None = None) -> int:
    """CLI used by scripts/build-go-tools.sh."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, type=Path)
    ap.add_argument("--version", default="")
    ap.add_argument("--output-path", default="./dist")
    ap.add_argument("--key", action="store_true", help="print the component-set hash only")
    args = ap.parse_args(argv)
    used = components(yaml.safe_load(args.config.read_text()) or {})
    if args.key:
        print(key(used))
        return 0
    if not args.version:
        ap.error("--version is required unless --key")
    try:
        sys.stdout.write(yaml.safe_dump(manifest(used, args.version, args.output_path), sort_keys=False, width=1000))
    except UnknownComponent as e:
        print(f"otelcol_components: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

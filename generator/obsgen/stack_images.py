"""Pinned container images of the local stack, in one place.

compose.yaml references each as `${VAR:-image}` so `compose/.env` (or CI) can override it;
the container runner and the Go builds (otelcol, jaeger) read the versions from here. grafana/loki stays
pinned for the users' stack; Loki itself is never built or run here (its Go module is AGPL).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Image:
    """One pinned image: the compose variable that overrides it, repository and tag."""

    env: str
    repository: str
    tag: str

    @property
    def ref(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def version(self) -> str:
        """The tag without a leading 'v' (the Go module / release version)."""
        return self.tag.removeprefix("v")


# Every tag was checked to exist upstream. The collector is 0.128.0 (not 0.129.1, whose artifacts
# were rebuilt from 0.129.0 sources) so the builder version equals the image tag.
IMAGES: dict[str, Image] = {
    "prometheus": Image("PROMETHEUS_IMAGE", "prom/prometheus", "v3.5.0"),
    "alertmanager": Image("ALERTMANAGER_IMAGE", "prom/alertmanager", "v0.28.1"),
    "grafana": Image("GRAFANA_IMAGE", "grafana/grafana", "12.0.2"),
    "loki": Image("LOKI_IMAGE", "grafana/loki", "3.5.1"),
    "otel-collector": Image("OTEL_COLLECTOR_IMAGE", "otel/opentelemetry-collector-contrib", "0.128.0"),
    "jaeger": Image("JAEGER_IMAGE", "jaegertracing/jaeger", "2.8.0"),
    "blackbox-exporter": Image("BLACKBOX_IMAGE", "prom/blackbox-exporter", "v0.27.0"),
    # The `scale` profile's distributed engine (Apache-2.0); the e2e runs the same version built from its Go module.
    "cortex": Image("CORTEX_IMAGE", "cortexproject/cortex", "v1.19.0"),
}


def image(service: str) -> Image:
    """The pinned image of a compose service."""
    return IMAGES[service]


def compose_ref(service: str) -> str:
    """`${VAR:-repo:tag}`, the form compose.yaml uses so .env can override the pin."""
    img = IMAGES[service]
    return "${" + img.env + ":-" + img.ref + "}"

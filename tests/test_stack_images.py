"""Image pins: one place, real version lines, used by compose.yaml and overridable through .env."""

from __future__ import annotations

import re

from obsgen.stack_images import IMAGES, compose_ref, image

EXPECTED_LINES = {
    "prometheus": ("prom/prometheus", r"v3\.\d+\.\d+"),
    "alertmanager": ("prom/alertmanager", r"v0\.28\.\d+"),
    "grafana": ("grafana/grafana", r"12\.\d+\.\d+"),
    "loki": ("grafana/loki", r"3\.5\.\d+"),
    "otel-collector": ("otel/opentelemetry-collector-contrib", r"0\.1\d\d\.\d+"),
    "jaeger": ("jaegertracing/jaeger", r"2\.\d+\.\d+"),
    "blackbox-exporter": ("prom/blackbox-exporter", r"v0\.\d+\.\d+"),
    "cortex": ("cortexproject/cortex", r"v1\.19\.\d+"),  # the version the Cortex e2e and the scale profile were proven on
}


def test_every_stack_image_is_pinned_to_its_version_line() -> None:
    assert set(IMAGES) == set(EXPECTED_LINES)
    for service, (repository, tag) in EXPECTED_LINES.items():
        img = image(service)
        assert img.repository == repository
        assert re.fullmatch(tag, img.tag), (service, img.tag)
        assert img.tag != "latest"


def test_override_variables_are_unique_and_referenced() -> None:
    envs = [img.env for img in IMAGES.values()]
    assert len(envs) == len(set(envs))
    assert compose_ref("loki") == "${LOKI_IMAGE:-grafana/loki:" + image("loki").tag + "}"
    assert image("prometheus").version == image("prometheus").tag.removeprefix("v")

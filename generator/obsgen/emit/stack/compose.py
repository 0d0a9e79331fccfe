"""compose.yaml and .env.example: the seven services of the local stack, secure by default.

Every port is published on 127.0.0.1 only, configs are mounted read-only, data lives in named volumes,
containers run as their images' non-root users, and Grafana refuses to start without an admin password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from obsgen.emit.stack.otel import DEFAULT_SAMPLING_PERCENT, SAMPLING_ENV
from obsgen.stack_images import IMAGES, compose_ref

NETWORK = "obsgen"
GRAFANA_DASHBOARDS_DIR = "/var/lib/grafana/dashboards"  # ../dashboards; compose/grafana provisioning reads it here
GRAFANA_PROVISIONING_DIR = "/etc/grafana/provisioning"

# In-network URLs of the stack's APIs, for Grafana datasources and anything else that needs them.
STACK_URLS = {
    "prometheus": "http://prometheus:9090",
    "alertmanager": "http://alertmanager:9093",
    "loki": "http://loki:3100",
    "jaeger": "http://jaeger:16686",
    "otel-collector-grpc": "http://otel-collector:4317",
    "otel-collector-http": "http://otel-collector:4318",
}


@dataclass(frozen=True)
class Port:
    env: str
    default: int
    container: int
    service: str
    what: str

    def mapping(self) -> str:
        return f"127.0.0.1:${{{self.env}:-{self.default}}}:{self.container}"


PORTS = (
    Port("PROMETHEUS_PORT", 9090, 9090, "prometheus", "Prometheus UI and API"),
    Port("ALERTMANAGER_PORT", 9093, 9093, "alertmanager", "Alertmanager UI and API"),
    Port("GRAFANA_PORT", 3000, 3000, "grafana", "Grafana"),
    Port("LOKI_PORT", 3100, 3100, "loki", "Loki API (push, query, /otlp)"),
    Port("OTLP_GRPC_PORT", 4317, 4317, "otel-collector", "OTLP gRPC into the collector"),
    Port("OTLP_HTTP_PORT", 4318, 4318, "otel-collector", "OTLP HTTP into the collector"),
    Port("OTEL_HEALTH_PORT", 13133, 13133, "otel-collector", "collector health check (GET /)"),
    Port("JAEGER_UI_PORT", 16686, 16686, "jaeger", "Jaeger UI and query API"),
    Port("BLACKBOX_PORT", 9115, 9115, "blackbox-exporter", "blackbox exporter (probe debugging)"),
)

# Other variables: name -> (default or None when required, description).
VARIABLES: dict[str, tuple[str | None, str]] = {
    "GRAFANA_ADMIN_USER": ("admin", "Grafana admin login name."),
    "GRAFANA_ADMIN_PASSWORD": (None, "Grafana admin password. Required: compose refuses to start without it; there is no default."),
    "PROMETHEUS_RETENTION": ("15d", "How long Prometheus keeps samples."),
    SAMPLING_ENV: (str(DEFAULT_SAMPLING_PERCENT), "Percentage of traces the collector keeps (probabilistic head sampling); logs and metrics are never sampled."),
}

# Non-root users the upstream images define; stated so a locally built image must honour them too.
USERS = {
    "prometheus": "65534:65534",
    "alertmanager": "65534:65534",
    "blackbox-exporter": "65534:65534",
    "grafana": "472:0",
    "loki": "10001:10001",
    "otel-collector": "10001:10001",
    "jaeger": "10001:10001",
}


def _healthcheck(*test: str, start: str = "20s") -> dict[str, Any]:
    # Arguments without spaces: podman's API splits them again; and no curl in these images.
    assert all(" " not in arg for arg in test)
    return {"test": ["CMD", *test], "interval": "10s", "timeout": "5s", "retries": 6, "start_period": start}


def _wget(url: str) -> dict[str, Any]:
    return _healthcheck("wget", "-q", "-O", "/dev/null", url)


def _ports(service: str) -> list[str]:
    return [p.mapping() for p in PORTS if p.service == service]


def _healthy(*services: str) -> dict[str, Any]:
    return {s: {"condition": "service_healthy"} for s in services}


def _base(service: str) -> dict[str, Any]:
    return {
        "image": compose_ref(service),
        "user": USERS[service],
        "restart": "unless-stopped",
        "security_opt": ["no-new-privileges:true"],
        "networks": [NETWORK],
    }


@dataclass(frozen=True)
class Mounts:
    """Where the folders compose.yaml mounts are, relative to compose.yaml (the project may move them)."""

    rules: str = "../rules"
    dashboards: str = "../dashboards"
    provisioning: str = "./grafana/provisioning"
    alertmanager: str = "./alertmanager"
    loki_rules: str = "./loki/rules"


def compose(mounts: Mounts = Mounts()) -> dict[str, Any]:
    """compose.yaml as data."""
    services: dict[str, Any] = {}
    services["alertmanager"] = {
        **_base("alertmanager"),
        "command": [
            "--config.file=/etc/alertmanager/alertmanager.yml",
            "--storage.path=/alertmanager",
            "--cluster.listen-address=",  # single instance: no gossip port on 0.0.0.0:9094
        ],
        "volumes": [
            f"{mounts.alertmanager}/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro",
            f"{mounts.alertmanager}/secrets:/etc/alertmanager/secrets:ro",
            "alertmanager-data:/alertmanager",
        ],
        "ports": _ports("alertmanager"),
        "healthcheck": _healthcheck("amtool", "config", "show", "--alertmanager.url=http://127.0.0.1:9093"),
    }
    services["blackbox-exporter"] = {
        **_base("blackbox-exporter"),
        "command": ["--config.file=/etc/blackbox_exporter/blackbox.yml"],
        "volumes": ["./blackbox/blackbox.yml:/etc/blackbox_exporter/blackbox.yml:ro"],
        "ports": _ports("blackbox-exporter"),
        "healthcheck": _wget("http://127.0.0.1:9115/-/healthy"),
    }
    services["prometheus"] = {
        **_base("prometheus"),
        "command": [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=${PROMETHEUS_RETENTION:-15d}",
            "--web.enable-remote-write-receiver",  # the collector writes OTLP metrics here
            "--enable-feature=exemplar-storage",
            "--web.enable-lifecycle",  # POST /-/reload after regenerating; the port is local only
        ],
        "volumes": [
            "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
            f"{mounts.rules}:/etc/prometheus/rules:ro",
            "./prometheus/secrets:/etc/prometheus/secrets:ro",
            "prometheus-data:/prometheus",
        ],
        "ports": _ports("prometheus"),
        # promtool is in both the upstream image and a Debian-built one; `check healthy` is not in 2.x.
        "healthcheck": _healthcheck("promtool", "query", "instant", "http://127.0.0.1:9090", "vector(1)"),
        "depends_on": _healthy("alertmanager", "blackbox-exporter"),
    }
    services["loki"] = {
        **_base("loki"),
        "command": ["-config.file=/etc/loki/config.yaml"],
        "volumes": [
            "./loki/config.yaml:/etc/loki/config.yaml:ro",
            f"{mounts.loki_rules}:/etc/loki/rules:ro",
            "loki-data:/loki",
        ],
        "ports": _ports("loki"),
        # Loki 3.5 images still carry busybox wget (3.6+ dropped it; revisit the check when bumping).
        "healthcheck": _wget("http://127.0.0.1:3100/ready"),
        "depends_on": _healthy("alertmanager"),
    }
    services["jaeger"] = {
        **_base("jaeger"),
        "command": ["--config=/etc/jaeger/config.yaml"],
        "volumes": ["./jaeger/config.yaml:/etc/jaeger/config.yaml:ro"],
        "ports": _ports("jaeger"),
        "healthcheck": _wget("http://127.0.0.1:13133/status"),
    }
    services["otel-collector"] = {
        **_base("otel-collector"),
        "command": ["--config=/etc/otelcol-contrib/config.yaml"],
        "environment": {SAMPLING_ENV: "${" + SAMPLING_ENV + ":-" + str(DEFAULT_SAMPLING_PERCENT) + "}"},
        "volumes": ["./otel-collector/config.yaml:/etc/otelcol-contrib/config.yaml:ro"],
        "ports": _ports("otel-collector"),
        # The contrib image is FROM scratch (no shell, wget or curl), so no in-container check can run;
        # its health_check extension answers on 13133, published above for `make up` and CI to poll.
        "healthcheck": {"disable": True},
        "depends_on": _healthy("jaeger", "loki", "prometheus"),
    }
    services["grafana"] = {
        **_base("grafana"),
        "environment": {
            "GF_SECURITY_ADMIN_USER": "${GRAFANA_ADMIN_USER:-admin}",
            "GF_SECURITY_ADMIN_PASSWORD": "${GRAFANA_ADMIN_PASSWORD:?set it in compose/.env}",
            "GF_AUTH_ANONYMOUS_ENABLED": "false",
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
            "GF_PATHS_PROVISIONING": GRAFANA_PROVISIONING_DIR,
        },
        "volumes": [
            f"{mounts.provisioning}:{GRAFANA_PROVISIONING_DIR}:ro",
            f"{mounts.dashboards}:{GRAFANA_DASHBOARDS_DIR}:ro",
            "grafana-data:/var/lib/grafana",
        ],
        "ports": _ports("grafana"),
        "healthcheck": _wget("http://127.0.0.1:3000/api/health"),
        "depends_on": _healthy("prometheus", "loki", "jaeger"),
    }
    return {
        "name": "obsgen",
        "services": dict(sorted(services.items())),
        "networks": {NETWORK: {"name": NETWORK}},
        "volumes": {v: {} for v in ("alertmanager-data", "grafana-data", "loki-data", "prometheus-data")},
    }


def env_example(header: str) -> str:
    """.env.example: every variable compose.yaml reads, with its default; copy to compose/.env."""
    lines = [header.rstrip("\n"), "# Copy to compose/.env and edit. compose/.env is git-ignored.", ""]
    lines += ["# -- Required ---------------------------------------------------------------"]
    for name, (default, what) in VARIABLES.items():
        if default is None:
            lines += [f"# {what}", f"{name}="]
    lines += ["", "# -- Optional (defaults shown) ---------------------------------------------"]
    for name, (default, what) in VARIABLES.items():
        if default is not None:
            lines += [f"# {what}", f"#{name}={default}"]
    lines += ["", "# -- Host ports (always bound to 127.0.0.1) ---------------------------------"]
    for p in PORTS:
        lines += [f"# {p.what}", f"#{p.env}={p.default}"]
    lines += ["", "# -- Images (pinned in generator/obsgen/stack_images.py) --------------------"]
    for service, img in IMAGES.items():
        lines += [f"# {service}", f"#{img.env}={img.ref}"]
    return "\n".join(lines) + "\n"

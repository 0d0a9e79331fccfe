"""The `scale` profile: Cortex as microservices, fed by a Prometheus agent, its ruler running obsgen's rules.

`docker compose --profile scale up` adds a distributor, three ingesters (replication factor 3), a querier, a
store gateway and a ruler, one Cortex image started with a different -target each, gossiping over memberlist,
blocks on a shared filesystem volume, every container non-root. A Prometheus in agent mode scrapes what the stack's Prometheus scrapes
and remote-writes it to the distributor. The ruler loads rules/ (tenant `fake`: authentication is off, as for a
single-team local stack) and notifies the stack's Alertmanager with the same external labels Prometheus adds,
so an alert both evaluate is one alert there. The default `up` starts none of this.
"""

from __future__ import annotations

from typing import Any

from obsgen import model as m

PROFILE = "scale"
HTTP_PORT = 9009
GRPC_PORT = 9095
GOSSIP_PORT = 7946
REPLICATION_FACTOR = 3
TENANT = "fake"  # the tenant Cortex assumes when auth_enabled is false
CONFIG = "/etc/cortex/cortex.yaml"
RULES_DIR = "/etc/cortex/rules"  # ruler_storage local: <dir>/<tenant>/<namespace file>
USER = "10001:10001"
# The image defines no user and an empty named volume takes the owner and mode of the directory it is mounted on:
# mounted on the image's /tmp (1777), one volume is writable by the non-root user. Every component keeps its files
# in a folder of its own there, and the blocks bucket is shared by all of them, as filesystem storage needs.
VOLUME = "cortex-data"
VOLUME_AT = "/tmp"
DATA_DIR = f"{VOLUME_AT}/cortex"
BLOCKS_DIR = f"{DATA_DIR}/blocks"
MAX_MESSAGE = 104857600  # 100 MiB, as Cortex's own examples set for gRPC between components
EVALUATION_INTERVAL = "15s"  # the stack's Prometheus evaluates as often

INGESTERS = tuple(f"cortex-ingester-{i}" for i in range(1, REPLICATION_FACTOR + 1))
# compose service -> Cortex -target.
SERVICES: dict[str, str] = {
    "cortex-distributor": "distributor",
    **{name: "ingester" for name in INGESTERS},
    "cortex-querier": "querier",
    "cortex-store-gateway": "store-gateway",
    "cortex-ruler": "ruler",
}
URLS = {
    "push": f"http://cortex-distributor:{HTTP_PORT}/api/v1/push",
    "query": f"http://cortex-querier:{HTTP_PORT}/prometheus",
}


def config(bundle: m.Bundle, alertmanager_url: str) -> dict[str, Any]:
    """cortex.yaml: one file for every component; each reads the blocks it needs by its -target."""
    ring = {"kvstore": {"store": "memberlist"}}
    return {
        "auth_enabled": False,
        "server": {
            "http_listen_port": HTTP_PORT,
            "grpc_listen_port": GRPC_PORT,
            "grpc_server_max_recv_msg_size": MAX_MESSAGE,
            "grpc_server_max_send_msg_size": MAX_MESSAGE,
            "log_level": "info",
        },
        "memberlist": {
            "bind_port": GOSSIP_PORT,
            "join_members": [f"{name}:{GOSSIP_PORT}" for name in SERVICES],
            # Services start in any order: a member that finds nobody yet keeps retrying instead of exiting.
            "abort_if_cluster_join_fails": False,
            "rejoin_interval": "1m",
        },
        "distributor": {"shard_by_all_labels": True, "pool": {"health_check_ingesters": True}, "ring": ring},
        "ingester_client": {"grpc_client_config": {"max_recv_msg_size": MAX_MESSAGE, "max_send_msg_size": MAX_MESSAGE,
                                                   "grpc_compression": "gzip"}},
        "ingester": {
            "lifecycler": {
                "ring": {**ring, "replication_factor": REPLICATION_FACTOR},
                "num_tokens": 128,
                "join_after": "0s",
                "final_sleep": "0s",
            },
        },
        "blocks_storage": {
            "backend": "filesystem",
            "filesystem": {"dir": BLOCKS_DIR},
            "tsdb": {"dir": f"{DATA_DIR}/tsdb"},  # each ingester gets its own (-blocks-storage.tsdb.dir)
            "bucket_store": {"sync_dir": f"{DATA_DIR}/store-gateway-sync"},
        },
        "store_gateway": {"sharding_enabled": True, "sharding_ring": {**ring, "replication_factor": 1}},
        "ruler": {
            "enable_api": True,
            "alertmanager_url": alertmanager_url,
            "rule_path": f"{DATA_DIR}/ruler-scratch",
            "evaluation_interval": EVALUATION_INTERVAL,
            "external_labels": {"environment": bundle.env},
            "ring": ring,
        },
        "ruler_storage": {"backend": "local", "local": {"directory": RULES_DIR}},
    }


def agent_config(prometheus_config: dict[str, Any]) -> dict[str, Any]:
    """agent.yml: the stack Prometheus' scrape jobs and external labels, remote-written to the distributor.

    Agent mode has no rules and no alerting: Cortex's ruler evaluates, from what the distributor received.
    """
    jobs = [j for j in prometheus_config["scrape_configs"] if j["job_name"] != "prometheus"]
    jobs.append({"job_name": "prometheus-agent", "static_configs": [{"targets": ["localhost:9090"]}]})
    jobs += [{"job_name": name, "static_configs": [{"targets": [f"{name}:{HTTP_PORT}"]}]} for name in SERVICES]
    glob = prometheus_config["global"]
    return {
        "global": {"scrape_interval": glob["scrape_interval"], "external_labels": glob["external_labels"]},
        "scrape_configs": jobs,
        "remote_write": [{"url": URLS["push"], "queue_config": {"batch_send_deadline": "5s"}}],
    }


def _ready() -> dict[str, Any]:
    # busybox wget is in the Cortex image (alpine); arguments without spaces (podman splits them again).
    return {"test": ["CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{HTTP_PORT}/ready"],
            "interval": "10s", "timeout": "5s", "retries": 6, "start_period": "30s"}


def services(base: dict[str, Any], image: str, ports: dict[str, list[str]], agent: dict[str, Any],
             rules: str = "../rules") -> dict[str, Any]:
    """The profile's compose services: the Cortex components and the Prometheus agent (base: the stack's defaults;
    rules: the rule files' folder relative to compose.yaml, mounted as the ruler's tenant directory)."""
    out: dict[str, Any] = {}
    for name, target in SERVICES.items():
        volumes = [f"./cortex/cortex.yaml:{CONFIG}:ro", f"{VOLUME}:{VOLUME_AT}"]
        command = [f"-config.file={CONFIG}", f"-target={target}"]
        if target == "ingester":
            command.append(f"-blocks-storage.tsdb.dir={DATA_DIR}/{name}/tsdb")
        if target in ("querier", "ruler"):
            # Its default, ./active-query-tracker, is under / (not writable); and two processes must not share the file.
            command.append(f"-querier.active-query-tracker-dir={DATA_DIR}/{name}/active-query-tracker")
        if target == "ruler":
            volumes.append(f"{rules}:{RULES_DIR}/{TENANT}:ro")
        service = {
            **base,
            "image": image,
            "user": USER,
            "profiles": [PROFILE],
            "cap_drop": ["ALL"],
            "command": command,
            "volumes": volumes,
            "healthcheck": _ready(),
        }
        if ports.get(name):
            service["ports"] = ports[name]
        if target == "ruler":
            service["depends_on"] = {"alertmanager": {"condition": "service_healthy"}}
        out[name] = service
    out["prometheus-agent"] = agent
    return dict(sorted(out.items()))


def volumes() -> list[str]:
    """The profile's named volumes."""
    return [VOLUME, "prometheus-agent-data"]

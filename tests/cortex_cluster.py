"""A distributed Cortex as local processes, in the scale profile's layout, around the demo service (test harness).

The generated compose/cortex/cortex.yaml is the base: each component (distributor, three ingesters at replication
factor 3, querier, store gateway, ruler) runs from the Go-built binary with its -target, on 127.0.0.1 ports of its
own, gossiping over memberlist on 127.0.0.1. What changes for local processes is only where things are: addresses,
directories, the Alertmanager URL, and a ruler store the API can write (the compose ruler reads rules/ from disk).
Debian's Prometheus, in agent mode, scrapes `obsgen simulate` and remote-writes to the distributor; Cortex's ruler
evaluates the TEST-ONLY time-compressed rules (tests/support/localstack.py: compress_rules) and notifies Debian's Alertmanager, which
posts to a webhook recorder. Every process is stopped on exit, even when starting fails half way.
"""

from __future__ import annotations

import copy
import signal
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsgen import model as m
from obsgen.check.cortex import RulerClient, wait_ready
from obsgen.emit.stack.cortex import SERVICES
from obsgen.naming import PROBE_JOB

from support.localstack import DemoAndAlertmanager, Proc, Webhook, free_port, http_json, local_alertmanager_config, wait_for

SCRAPE = "1s"
TENANT = "fake"  # auth is off in the scale profile's config, as in the compose stack


@dataclass
class Component:
    """One Cortex process: its compose service name, -target and ports."""

    name: str
    target: str
    http: int
    grpc: int
    gossip: int
    proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http}"


def local_config(base: dict[str, Any], work: Path, gossip: list[int], alertmanager_url: str) -> dict[str, Any]:
    """The generated config with addresses on 127.0.0.1, directories under work, faster loops for a test."""
    cfg = copy.deepcopy(base)
    cfg["server"].update({"http_listen_address": "127.0.0.1", "grpc_listen_address": "127.0.0.1", "log_level": "warn"})
    cfg["memberlist"].update({"bind_addr": ["127.0.0.1"], "join_members": [f"127.0.0.1:{p}" for p in gossip],
                              "gossip_interval": "100ms", "pull_push_interval": "5s"})
    cfg["distributor"]["ring"]["instance_addr"] = "127.0.0.1"
    cfg["ingester"]["lifecycler"].update({"address": "127.0.0.1", "heartbeat_period": "1s", "observe_period": "0s",
                                          "min_ready_duration": "0s"})
    # The store gateway waits a minute for its ring to settle by default: one gateway here, nothing to settle.
    cfg["store_gateway"]["sharding_ring"].update({"instance_addr": "127.0.0.1", "wait_stability_min_duration": "0s"})
    cfg["blocks_storage"]["filesystem"]["dir"] = str(work / "blocks")
    cfg["blocks_storage"]["bucket_store"]["sync_dir"] = str(work / "store-gateway-sync")
    ruler = cfg["ruler"]
    ruler.update({"alertmanager_url": alertmanager_url, "evaluation_interval": "1s", "poll_interval": "1s",
                  "resend_delay": "1s", "rule_path": str(work / "ruler-scratch")})
    ruler["ring"]["instance_addr"] = "127.0.0.1"
    # The API writes rules here; the compose profile's `local` store is read-only and reads rules/ from disk.
    cfg["ruler_storage"] = {"backend": "filesystem", "filesystem": {"dir": str(work / "ruler-store")}}
    return cfg


def scrape_configs(bundle: m.Bundle, demo: str, blackbox: str) -> tuple[list[dict[str, Any]], int]:
    """The catalog jobs against the demo service and the health probes through the blackbox exporter; and the
    number of targets they make."""
    jobs: list[dict[str, Any]] = [
        {"job_name": t.job, "metrics_path": f"/metrics/{svc.name}", "static_configs": [{"targets": [demo]}]}
        for svc in bundle.services for t in svc.targets
    ]
    probes = [{"targets": [f"http://{demo}/services/{svc.name}/{h.url.split('://', 1)[-1].split('/', 1)[-1]}"],
               "labels": {"check": h.name, "service": svc.name}} for svc in bundle.services for h in svc.health]
    if probes:
        jobs.append({"job_name": PROBE_JOB, "metrics_path": "/probe", "params": {"module": ["http_2xx"]}, "static_configs": probes,
                     "relabel_configs": [{"source_labels": ["__address__"], "target_label": "__param_target"},
                                         {"source_labels": ["__param_target"], "target_label": "instance"},
                                         {"target_label": "__address__", "replacement": blackbox}]})
    return jobs, len(jobs) - (1 if probes else 0) + len(probes)


class CortexCluster(DemoAndAlertmanager):
    """Demo service, Prometheus agent, a distributed Cortex, Alertmanager and a webhook recorder on 127.0.0.1."""

    def __init__(self, cortex: str, base_config: dict[str, Any], bundle: m.Bundle, catalogs: Path,
                 alertmanager_yml: Path, work: Path, obsgen: str, external_labels: dict[str, str]) -> None:
        self.cortex, self.base, self.bundle, self.catalogs = cortex, base_config, bundle, catalogs
        self.alertmanager_yml, self.work, self.obsgen, self.external_labels = alertmanager_yml, work, obsgen, external_labels
        self.components = [Component(name, target, free_port(), free_port(), free_port()) for name, target in SERVICES.items()]
        self.procs: list[Proc] = []
        self.webhook = Webhook()
        self.demo_url = self.am_url = ""
        self.am_config_file = work / "alertmanager.yml"
        self.target_count = 0
        self.started = 0.0  # time.monotonic() when everything answered

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    @property
    def ruler(self) -> RulerClient:
        return RulerClient(self.component("cortex-ruler").url, TENANT)

    # lifecycle ------------------------------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str]) -> Proc:
        proc = Proc(name, args, self.work / f"{name}.log").start()
        self.procs.append(proc)
        return proc

    def _start(self) -> None:
        self.webhook.start()
        demo_port, am_port, bb_port, agent_port = free_port(), free_port(), free_port(), free_port()
        demo = self._spawn("demo", [self.obsgen, "simulate", "--catalogs", str(self.catalogs), "--env", self.bundle.env,
                                    "--listen", f"127.0.0.1:{demo_port}"])
        self.demo_url = f"http://127.0.0.1:{demo_port}"
        source = yaml.safe_load(self.alertmanager_yml.read_text())
        self.am_config_file.write_text(yaml.safe_dump(local_alertmanager_config(source, self.webhook.url), sort_keys=True))
        am = self._spawn("alertmanager", ["prometheus-alertmanager", f"--config.file={self.am_config_file}",
                                          f"--storage.path={self.work / 'am-data'}", f"--web.listen-address=127.0.0.1:{am_port}",
                                          "--cluster.listen-address="])
        self.am_url = f"http://127.0.0.1:{am_port}"
        bb_config = self.work / "blackbox.yml"
        bb_config.write_text(yaml.safe_dump({"modules": {"http_2xx": {"prober": "http", "timeout": "2s",
                                                                      "http": {"preferred_ip_protocol": "ip4"}}}}))
        bb = self._spawn("blackbox", ["prometheus-blackbox-exporter", f"--config.file={bb_config}",
                                      f"--web.listen-address=127.0.0.1:{bb_port}"])

        config = self.work / "cortex.yaml"
        gossip = [c.gossip for c in self.components]
        config.write_text(yaml.safe_dump(local_config(self.base, self.work, gossip, f"{self.am_url}"), sort_keys=False))
        for c in self.components:
            data = self.work / c.name
            c.proc = self._spawn(c.name, [
                self.cortex, f"-config.file={config}", f"-target={c.target}",
                f"-server.http-listen-port={c.http}", f"-server.grpc-listen-port={c.grpc}", f"-memberlist.bind-port={c.gossip}",
                f"-ingester.lifecycler.ID={c.name}", f"-blocks-storage.tsdb.dir={data / 'tsdb'}",
            ])
        for c in self.components:
            assert c.proc is not None and c.proc.popen is not None
            wait_ready(c.proc.popen, c.url, c.proc.log, timeout=90)
        wait_for("three ACTIVE ingesters in the distributor's ring", self.ingesters_active, timeout=60)

        jobs, self.target_count = scrape_configs(self.bundle, f"127.0.0.1:{demo_port}", f"127.0.0.1:{bb_port}")
        distributor = self.component("cortex-distributor")
        agent = {
            "global": {"scrape_interval": SCRAPE, "scrape_timeout": SCRAPE, "external_labels": self.external_labels},
            "scrape_configs": jobs,
            "remote_write": [{"url": f"{distributor.url}/api/v1/push",
                              "queue_config": {"batch_send_deadline": "500ms", "min_backoff": "50ms", "max_backoff": "1s"}}],
        }
        agent_file = self.work / "agent.yml"
        agent_file.write_text(yaml.safe_dump(agent, sort_keys=False))
        subprocess.run(["promtool", "check", "config", "--agent", str(agent_file)], capture_output=True, timeout=60, check=True)
        prom = self._spawn("prometheus-agent", ["prometheus", "--enable-feature=agent", f"--config.file={agent_file}",
                                                f"--storage.agent.path={self.work / 'agent-data'}",
                                                f"--web.listen-address=127.0.0.1:{agent_port}", "--log.level=warn"])
        for proc, url in ((demo, f"{self.demo_url}/health/live"), (am, f"{self.am_url}/-/ready"),
                          (bb, f"http://127.0.0.1:{bb_port}/-/healthy"), (prom, f"http://127.0.0.1:{agent_port}/-/ready")):
            wait_for(f"{proc.name} at {url}", lambda p=proc, u=url: self._ready(p, u), timeout=30)
        self.started = time.monotonic()

    @staticmethod
    def _ready(proc: Proc, url: str) -> bool:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            http_json(url, timeout=2)
        except ValueError:
            return True  # answered, just not JSON
        except OSError:
            return False
        return True

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        try:
            self.webhook.stop()
        except OSError:
            pass

    def kill(self, name: str) -> None:
        """Lose a component the hard way (SIGKILL: no flush, no leaving the ring), and reap it."""
        proc = self.component(name).proc
        assert proc is not None and proc.popen is not None
        proc.popen.send_signal(signal.SIGKILL)
        proc.popen.wait(timeout=10)

    # queries --------------------------------------------------------------------------------------------

    def base_labels(self) -> dict[str, str]:
        """The external labels the ruler adds to every alert (from the generated config)."""
        return dict(self.base["ruler"].get("external_labels") or {})

    def ingester_series(self, name: str) -> float:
        """The in-memory series an ingester holds (its cortex_ingester_memory_series metric)."""
        import urllib.request

        with urllib.request.urlopen(f"{self.component(name).url}/metrics", timeout=5) as resp:  # noqa: S310 - local
            text = resp.read().decode()
        values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith("cortex_ingester_memory_series ")]
        return sum(values)

    def ingesters_active(self) -> bool:
        """The distributor's ring page lists three ACTIVE ingesters."""
        import urllib.request

        req = urllib.request.Request(f"{self.component('cortex-distributor').url}/ingester/ring", headers={"Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - local
            ring = yaml.safe_load(resp.read())
        states = [s.get("state") for s in ring.get("shards", [])]
        return states.count("ACTIVE") == 3

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query through the querier (at: a Unix time; default now)."""
        params = {"query": expr, **({"time": f"{at:.3f}"} if at is not None else {})}
        url = f"{self.component('cortex-querier').url}/prometheus/api/v1/query?{urllib.parse.urlencode(params)}"
        return http_json(url, timeout=15)["data"]["result"]

    def targets_up(self) -> bool:
        up = self.query("up")
        return len(up) == self.target_count and all(r["value"][1] == "1" for r in up)

    def rules(self) -> list[dict[str, Any]]:
        """The ruler's evaluated rules (Prometheus' /api/v1/rules shape)."""
        url = f"{self.component('cortex-ruler').url}/prometheus/api/v1/rules"
        return [r for g in http_json(url, timeout=15)["data"]["groups"] for r in g["rules"]]



def wait_seconds(seconds: float) -> None:
    """Sleep, named so a reader sees the wait is deliberate (letting samples and evaluations accumulate)."""
    time.sleep(seconds)

"""The demo's metrics, kept in one explicit prometheus_client registry per service (the library's only home).

A ticker advances counters and observes histograms at steady rates; faults change what it writes.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, generate_latest

from obsgen.simulate.faults import Faults
from obsgen.simulate.series import DEFAULT_RATE, SimMetric, SimService

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
# The _created series would double every counter's series count and no alert or panel reads them.
prometheus_client.disable_created_metrics()


class ServiceMetrics:
    """The live metrics of one catalog."""

    def __init__(self, sim: SimService, seed: int = 1) -> None:
        self.sim = sim
        self.registry = CollectorRegistry(auto_describe=True)
        self.collectors: dict[str, Any] = {}
        self.absent: set[str] = set()
        self.carry: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.rng = random.Random(seed)
        for sm in sim.metrics:
            self.collectors[sm.metric.name] = self._make(sm)
        self.set_gauges(Faults())

    def _make(self, sm: SimMetric) -> Any:
        mt = sm.metric
        names = list(mt.label_names)
        kwargs: dict[str, Any] = {"labelnames": names, "registry": self.registry}
        if mt.type == "counter" and mt.name.endswith("_total"):
            c: Any = Counter(mt.name, mt.help, **kwargs)
        elif mt.type == "counter":
            # prometheus_client always appends _total to a Counter; a catalog counter named without it (allowed by a
            # lint exception) is exposed under its exact name as a gauge that only goes up, which PromQL treats alike.
            c = Gauge(mt.name, mt.help, **kwargs)
        elif mt.type == "gauge":
            c = Gauge(mt.name, mt.help, **kwargs)
        elif mt.type == "histogram":
            c = Histogram(mt.name, mt.help, buckets=list(mt.buckets) or Histogram.DEFAULT_BUCKETS, **kwargs)
        else:
            c = Summary(mt.name, mt.help, **kwargs)
        if names:
            for s in sm.series:  # every series exists from the first scrape, at zero
                c.labels(**dict(s.labels))
        return c

    def _child(self, sm: SimMetric, labels: tuple[tuple[str, str], ...]) -> Any:
        c = self.collectors[sm.metric.name]
        return c.labels(**dict(labels)) if labels else c

    def set_gauges(self, faults: Faults) -> None:
        """Gauge values for the current faults."""
        backlog = dict(faults.backlog)
        for sm in self.sim.metrics:
            if sm.metric.type != "gauge":
                continue
            value = sm.normal
            name = sm.metric.name
            if name in faults.down:
                value = 0.0
            if name in backlog:
                value = backlog[name] if backlog[name] is not None else sm.bad
            if name in faults.drop:
                value = sm.normal * 0.1
            for s in sm.series:
                healthy = s.value if s.value is not None and value == sm.normal else value
                self._child(sm, s.labels).set(healthy)

    def set_absent(self, names: frozenset[str]) -> None:
        """Remove the named metrics from this registry's output (and bring back the others)."""
        for name, c in self.collectors.items():
            if name in names and name not in self.absent:
                self.registry.unregister(c)
                self.absent.add(name)
            elif name not in names and name in self.absent:
                self.registry.register(c)
                self.absent.discard(name)

    def _due(self, key: tuple[str, tuple[tuple[str, str], ...]], amount: float) -> int:
        """Whole events due, carrying the fraction so low rates still advance exactly."""
        total = self.carry.get(key, 0.0) + amount
        whole = int(total)
        self.carry[key] = total - whole
        return whole

    def tick(self, dt: float, faults: Faults) -> None:
        """Advance every counter and observe every histogram/summary for dt seconds."""
        for sm in self.sim.metrics:
            kind = sm.metric.type
            if kind == "gauge":
                continue
            ratio = faults.error_ratio if faults.error_ratio is not None else sm.error_ratio
            quiet = [s for s in sm.series if s.quiet]
            errors = [s for s in sm.series if s.error and not s.quiet]
            good = [s for s in sm.series if not s.error and not s.quiet]
            for s in sm.series:
                if s.quiet and sm.metric.name in faults.increase:
                    rate = DEFAULT_RATE / len(quiet)
                elif s.quiet and not (s.error and faults.error_ratio is not None):
                    rate = 0.0  # an `increase` alert watches it: flat unless a fault says otherwise
                elif s.error:
                    # Error series carry `ratio` of the metric's traffic; a pure error metric (errors_total
                    # beside requests_total) carries `ratio` of what its sibling total counts.
                    rate = DEFAULT_RATE * ratio / max(1, len(errors) + len([q for q in quiet if q.error]))
                else:
                    rate = DEFAULT_RATE * ((1 - ratio) if errors else 1.0) / len(good)
                n = self._due((sm.metric.name, s.labels), rate * dt)
                if n <= 0:
                    continue
                child = self._child(sm, s.labels)
                if kind == "counter":
                    child.inc(n)
                    continue
                for _ in range(n):
                    value = sm.latency * self.rng.uniform(0.4, 1.2)
                    if faults.latency_s is not None and sm.metric.unit == "seconds":
                        value = faults.latency_s * self.rng.uniform(1.0, 1.1)
                    child.observe(value)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class Ticker(threading.Thread):
    """Calls tick() on every service at a fixed period until stopped."""

    def __init__(self, services: list[ServiceMetrics], faults: Any, lock: threading.Lock, period: float = 0.2) -> None:
        super().__init__(name="obsgen-simulate-ticker", daemon=True)
        self.services = services
        self.faults = faults  # a callable returning the current Faults
        self.lock = lock
        self.period = period
        self.stopped = threading.Event()

    def run(self) -> None:
        last = time.monotonic()
        while not self.stopped.wait(self.period):
            now = time.monotonic()
            with self.lock:
                current = self.faults()
                for sm in self.services:
                    sm.tick(now - last, current)
            last = now

    def stop(self) -> None:
        self.stopped.set()

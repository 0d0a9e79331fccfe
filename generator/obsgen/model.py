"""The catalog model: frozen dataclasses that every emitter reads and none mutates."""

from __future__ import annotations

from dataclasses import dataclass, field

from obsgen.slo_model import BurnWindow, Labels, SliQueries, SloAlerting, SloTier, WindowSet, WindowTier


@dataclass(frozen=True)
class Matcher:
    """One PromQL label matcher, e.g. status=~"5.."."""

    label: str
    op: str  # one of = != =~ !~
    value: str

    def promql(self) -> str:
        # A PromQL double-quoted string: backslash, quote and line break escaped (validation refuses the other controls).
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.label}{self.op}"{escaped}"'


@dataclass(frozen=True)
class Selector:
    """A metric name plus label matchers."""

    metric: str
    matchers: tuple[Matcher, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(sorted({m.label for m in self.matchers}))


@dataclass(frozen=True)
class Label:
    """A metric label with either an allowed value set or a declared cardinality bound."""

    name: str
    values: tuple[str, ...] = ()
    bound: int | None = None

    @property
    def cardinality(self) -> int:
        return len(self.values) if self.values else (self.bound or 1)


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # counter | gauge | histogram | summary
    help: str
    unit: str = "none"
    labels: tuple[Label, ...] = ()
    buckets: tuple[float, ...] = ()
    quantiles: tuple[float, ...] = ()
    lint_allow: tuple[str, ...] = ()

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(label.name for label in self.labels)

    def label(self, name: str) -> Label | None:
        return next((lb for lb in self.labels if lb.name == name), None)

    @property
    def base(self) -> str:
        """The name without the counter suffix, used in recording rule names."""
        return self.name[: -len("_total")] if self.name.endswith("_total") else self.name


@dataclass(frozen=True)
class Target:
    job: str
    addresses: tuple[str, ...]
    metrics_path: str = "/metrics"
    scheme: str = "http"
    interval: str | None = None
    bearer_token_file: str | None = None


@dataclass(frozen=True)
class HealthCheck:
    name: str
    url: str
    kind: str = "liveness"


@dataclass(frozen=True)
class Runbook:
    impact: str = ""
    diagnosis: tuple[str, ...] = ()
    recovery: tuple[str, ...] = ()
    escalation: str = ""


@dataclass(frozen=True)
class RawTest:
    """Test input for a raw-PromQL alert, which obsgen cannot synthesise."""

    series: tuple[tuple[str, str], ...]
    eval_time: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SLO:
    name: str
    kind: str  # availability | latency | query
    objective: float  # percent, e.g. 99.9
    window: str = "30d"  # the SLO period as written
    description: str = ""
    errors: Selector | None = None  # availability: bad events
    total: Selector | None = None  # availability: all events
    metric: Selector | None = None  # latency: the histogram
    threshold: float | None = None  # latency: seconds
    runbook: Runbook = Runbook()
    queries: SliQueries | None = None  # query: the raw PromQL
    windows: WindowSet | None = None  # the alert window set; None = the default for the period
    labels: Labels = ()  # added to every series and alert of the SLO
    alerting: SloAlerting = SloAlerting()
    firing_test: RawTest | None = None  # query: test inputs when obsgen cannot synthesise them
    silent_test: RawTest | None = None

    @property
    def budget(self) -> float:
        """Allowed error ratio, rounded so the literal in PromQL reads as written."""
        return round(1 - self.objective / 100, 10)


@dataclass(frozen=True)
class Alert:
    name: str
    template: str
    severity: str
    summary: str
    description: str
    for_: str = "0m"
    runbook: Runbook = Runbook()
    labels: tuple[tuple[str, str], ...] = ()
    expr: str | None = None
    metric: Selector | None = None
    by: tuple[str, ...] = ()
    op: str = ">"
    threshold: float | None = None
    errors: Selector | None = None
    total: tuple[Selector, ...] = ()
    window: str = "5m"
    quantile: float = 0.95
    min_value: float | None = None
    firing_test: RawTest | None = None
    silent_test: RawTest | None = None


@dataclass(frozen=True)
class LogAlert:
    name: str
    selector: str
    pattern: str
    severity: str
    summary: str
    description: str
    window: str = "5m"
    threshold: float = 0
    for_: str = "0m"
    runbook: Runbook = Runbook()


@dataclass(frozen=True)
class Panel:
    title: str
    kind: str  # rate | ratio | quantile | value | stat | expr
    description: str = ""
    visual: str = "timeseries"
    metric: Selector | None = None
    by: tuple[str, ...] = ()
    errors: Selector | None = None
    total: tuple[Selector, ...] = ()
    quantiles: tuple[float, ...] = (0.5, 0.95, 0.99)
    aggregate: str = "sum"
    expr: str | None = None
    unit: str | None = None
    legend: str | None = None


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    title: str
    slug: str
    rows: tuple[Row, ...]
    description: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stage:
    duration: str
    target: int


@dataclass(frozen=True)
class LoadRequest:
    name: str
    method: str
    path: str
    body: str | None = None  # JSON text, so the model stays hashable
    headers_env: tuple[tuple[str, str], ...] = ()
    expect_status: tuple[int, ...] = ()


@dataclass(frozen=True)
class LoadTest:
    name: str
    executor: str
    requests: tuple[LoadRequest, ...]
    description: str = ""
    vus: int | None = None
    max_vus: int | None = None
    rate: int | None = None
    time_unit: str | None = None
    duration: str | None = None
    iterations: int | None = None
    stages: tuple[Stage, ...] = ()
    slo: str | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    error_rate: float | None = None


@dataclass(frozen=True)
class RoutingTier:
    """Who is notified for one severity of a service's alerts (Alertmanager receivers, in order)."""

    severity: str  # critical | warning | info
    receivers: tuple[str, ...]  # webhook | slack | pagerduty | email | msteams
    group_wait: str | None = None
    group_interval: str | None = None
    repeat_interval: str | None = None


@dataclass(frozen=True)
class Service:
    """One catalog: a service and everything declared about it."""

    name: str
    team: str
    source: str  # catalog file, as shown in headers and errors
    title: str = ""
    description: str = ""
    namespace: str = ""
    runbook_base: str = ""
    escalation: str = ""
    targets: tuple[Target, ...] = ()
    health: tuple[HealthCheck, ...] = ()
    metrics: tuple[Metric, ...] = ()
    slos: tuple[SLO, ...] = ()
    alerts: tuple[Alert, ...] = ()
    log_alerts: tuple[LogAlert, ...] = ()
    dashboards: tuple[Dashboard, ...] = ()
    load_tests: tuple[LoadTest, ...] = ()
    routing: tuple[RoutingTier, ...] = ()  # per-severity escalation; empty = the team defaults

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    @property
    def job(self) -> str:
        """The job label of the service's primary scrape target."""
        return self.targets[0].job if self.targets else self.name

    @property
    def jobs(self) -> tuple[str, ...]:
        return tuple(t.job for t in self.targets) or (self.name,)

    @property
    def display_name(self) -> str:
        return self.title or self.name


@dataclass(frozen=True)
class Bundle:
    """All catalogs, for one environment."""

    env: str
    services: tuple[Service, ...] = field(default_factory=tuple)

    @property
    def teams(self) -> tuple[str, ...]:
        return tuple(sorted({s.team for s in self.services}))


__all__ = ["BurnWindow", "Labels", "SliQueries", "SloAlerting", "SloTier", "WindowSet", "WindowTier"]

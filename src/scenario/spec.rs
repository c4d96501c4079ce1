//! The scenario file's types, mirroring the YAML one to one (SPEC §2).
//!
//! These are the "raw" layer: they say what the file may contain. The
//! [`super::validate`] step checks values, resolves names to ids and builds
//! the model's configuration, so the engine never looks up a string.

use std::fmt;
use std::path::PathBuf;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::dist::DistSpec;
pub use super::kinds::ComponentSpec;
pub use super::kinds::autoscaler::*;
pub use super::kinds::balancer::*;
pub use super::kinds::cache::*;
pub use super::kinds::cdn::*;
pub use super::kinds::database::*;
pub use super::kinds::dns::*;
pub use super::kinds::gateway::*;
pub use super::kinds::queue::*;
pub use super::kinds::service::*;
use super::units::{Duration, Rate};
pub use crate::model::balancer::Algorithm;
pub use crate::model::cache::{ReadPolicy, WritePolicy};
pub use crate::model::database::ReadFrom;
pub use crate::model::request::Op;
pub use crate::model::service::{Discipline, LoadMeasure};

/// A whole scenario file.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Identifies the run (names the output folder).
    pub name: String,
    /// What the scenario teaches or asks, and what to look at in the output.
    #[serde(default)]
    pub description: String,
    /// Lesson tags (used by `archsim list --tag`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Same seed, same results.
    #[serde(default)]
    pub seed: u64,
    /// Simulated time.
    pub duration: Duration,
    /// Statistics ignore what happens before this; `auto` chooses it by
    /// MSER-5 from a pilot run's own output.
    #[serde(default)]
    pub warmup: Warmup,
    /// Named workloads.
    pub clients: IndexMap<String, ClientSpec>,
    /// Named components.
    pub components: IndexMap<String, ComponentSpec>,
    /// Network latency between components.
    #[serde(default)]
    pub network: NetworkSpec,
    /// The metrics the scenario's question is about (report.json names, e.g.
    /// `latency.p99_ms`, `clients.web.availability`, `components.db.hit_ratio`):
    /// they lead the run summary, the sweep table, `compare` and the pages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headline: Vec<String>,
    /// Service-level objectives: each is judged pass, fail or uncertain from
    /// its 95% interval in `run`, `sweep` and `compare` (`--check-slo` exits 3
    /// on a fail), and drawn as a dashed line on sweep charts.
    #[serde(default)]
    pub slo: Option<SloSpec>,
    /// What `archsim run`'s flags also set (`--replications`, `--interval`,
    /// `--max-in-flight`; a flag wins over the file). A run folder's
    /// `scenario.resolved.yaml` records them here, so that the file alone
    /// reproduces the run.
    #[serde(default)]
    pub run: Option<RunSpec>,
    /// The grid `archsim sweep` runs (ignored by `run`).
    #[serde(default)]
    pub sweep: Option<SweepSpec>,
    /// The capacity question `archsim plan` answers by search (ignored by
    /// `run` and `sweep`).
    #[serde(default)]
    pub plan: Option<PlanSpec>,
    /// Timed operations on the system: `{ at: 2m, add_shard: db }`, `{ at: 4m, remove_shard: db }`, `{ at: 2m, deploy: api }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventSpec>,
    /// Faults to inject: `{ at: 2m, crash: "api[0]", for: 1m }`, `{ at: 3m, slow: api, factor: 5, for: 2m }`,
    /// `{ at: 1m, hang: "api[0]" }`, `{ random: api, mtbf: 2h, mttr: 10m }`, `{ random: api, mtbf: 1h, effect: hang }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// Alerting rules over the time series, as Prometheus alerting rules:
    /// `{ name: high-errors, metric: error_ratio, above: 0.01, for: 1m, severity: page }`.
    /// The report gives when each fired and resolved, and its detection time
    /// (first firing minus the start of the latest scheduled fault before it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertSpec>,
    /// How often every alerting rule is evaluated (Prometheus's
    /// `evaluation_interval`); default: the time-series interval (`run.interval`,
    /// 1 s for runs up to about 2.8 h). Each evaluation sees the latest
    /// time-series row, so an interval shorter than the series' adds nothing.
    #[serde(default)]
    pub alert_interval: Option<Duration>,
}

/// An alerting rule (Prometheus alerting-rule semantics): at each evaluation
/// the latest value of `metric` is compared with the threshold (exactly one
/// of `above`, `below`); true makes the alert pending, true for at least
/// `for` makes it fire, false makes it inactive (a firing alert resolves).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertSpec {
    /// Names the alert: metrics `alerts.NAME.fired`, `.first_fired_s`,
    /// `.firing_s`, `.detection_s`, and the chart shading `alert NAME firing`.
    pub name: String,
    /// The watched series: a column of timeseries.csv (`errors`,
    /// `throughput_rps`, `latency_p99_ms`, `availability`, `api.utilization`,
    /// `api.queue_length`, …) or `error_ratio` (1 − `availability` of the
    /// interval). Values are those of the interval each row covers.
    pub metric: String,
    /// The condition is true while the latest value is greater than this.
    #[serde(default)]
    pub above: Option<f64>,
    /// The condition is true while the latest value is less than this.
    #[serde(default)]
    pub below: Option<f64>,
    /// How long the condition must stay true, at every evaluation, before
    /// the alert fires (default 0s: it fires at the first evaluation that
    /// finds it true). Longer waits out blips and detects later.
    #[serde(default, rename = "for")]
    pub hold: Option<Duration>,
    /// Free text shown beside the alert (`page`, `ticket`).
    #[serde(default)]
    pub severity: Option<String>,
}

/// One fault: exactly one of `crash`, `hang`, `slow` (with `factor`), `random` (with `mtbf`, `mttr`, `effect`),
/// `partition`, `outage`, `latency`, `disk_loss` or `node_loss`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// When it starts (not for `random`).
    #[serde(default)]
    pub at: Option<Duration>,
    /// How long it lasts; omitted = until the end.
    #[serde(default, rename = "for")]
    pub duration: Option<Duration>,
    /// Crash an instance: `api[0]` (one replica), `api` (every replica), `cache.node[1]` (a cache node),
    /// `db.shard[0].primary` (a database shard's primary), `db.shard[0].node[2]` (a database node: rank 0
    /// is the primary at the start, or the first quorum node); a crashed node keeps its disk.
    #[serde(default)]
    pub crash: Option<String>,
    /// Hang a service replica (a gray failure): `api[0]` admits requests and answers none (its queue fills, callers
    /// time out) until a liveness probe restarts it or `for` ends (what it held then fails).
    #[serde(default)]
    pub hang: Option<String>,
    /// Slow a service down (a gray failure): its service times are multiplied by `factor`.
    #[serde(default)]
    pub slow: Option<String>,
    /// `slow`: the multiplier (> 0).
    #[serde(default)]
    pub factor: Option<f64>,
    /// Crash every instance of this service (or cache) independently at random, for ever:
    /// exponential time between failures with mean `mtbf`, exponential repair with mean `mttr`.
    /// On a database with `rereplication`, omit `mttr`: every node (shards × nodes per shard) loses
    /// its disk at random with mean time `mtbf` between losses, and is re-replicated.
    #[serde(default)]
    pub random: Option<String>,
    /// `random`: mean time between failures.
    #[serde(default)]
    pub mtbf: Option<Duration>,
    /// `random`: mean time to repair (omitted for random database node losses; for `effect: hang`, omitted means
    /// a hang lasts until a liveness restart).
    #[serde(default)]
    pub mttr: Option<Duration>,
    /// `random` on a service: what each failure is, `crash` (default) or `hang` (a replica that admits requests and
    /// answers none).
    #[serde(default)]
    pub effect: Option<FaultEffect>,
    /// Split the network: `[[us-east], [eu-west]]` (regions) or `[[web, api], [db]]` (components and
    /// clients); messages between two groups are dropped, so callers time out.
    #[serde(default)]
    pub partition: Option<Vec<Vec<String>>>,
    /// A whole region fails: `{ region: us-east }` (every instance in it crashes).
    #[serde(default)]
    pub outage: Option<OutageSpec>,
    /// Extra one-way latency on the hops between two components or regions:
    /// `{ between: [api, db], add: 100ms }`.
    #[serde(default)]
    pub latency: Option<LatencyFaultSpec>,
    /// A database shard loses its data on every node: `db.shard[0]`; restored from the last backup.
    #[serde(default)]
    pub disk_loss: Option<String>,
    /// A database node loses its disk for good: `db.shard[0].node[1]`; a replacement re-replicates
    /// the shard (needs the database's `rereplication`; instant, so no `for`).
    #[serde(default)]
    pub node_loss: Option<String>,
}

/// What a random fault does to an instance.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultEffect {
    /// It crashes: what it holds fails, arrivals fail at once.
    #[default]
    Crash,
    /// It hangs: arrivals are admitted and never answered.
    Hang,
}

/// A region outage.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutageSpec {
    /// The region.
    pub region: String,
}

/// Injected latency.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LatencyFaultSpec {
    /// Two components, clients or regions.
    pub between: Vec<String>,
    /// Added to every hop between them, either way.
    pub add: Duration,
}

/// A timed operation: exactly one action besides `at`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// When it happens.
    pub at: Duration,
    /// Add one shard to this database (its keys are re-partitioned at once).
    #[serde(default)]
    pub add_shard: Option<String>,
    /// Remove this database's last shard (its keys move to the others).
    #[serde(default)]
    pub remove_shard: Option<String>,
    /// Start this service's deploy (its `deploy:` section says how).
    #[serde(default)]
    pub deploy: Option<String>,
}

/// The warm-up: a duration, or `auto` (MSER-5, White 1997).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Warmup {
    /// A fixed warm-up.
    Fixed(Duration),
    /// Chosen from a pilot run by the MSER-5 rule.
    #[serde(rename = "auto")]
    #[schemars(with = "AutoWord")]
    Auto,
}

/// The word `auto` (schema helper).
#[derive(JsonSchema)]
#[allow(dead_code)]
enum AutoWord {
    #[serde(rename = "auto")]
    Auto,
}

impl Default for Warmup {
    fn default() -> Self {
        Warmup::Fixed(Duration::ZERO)
    }
}

impl Warmup {
    /// The fixed duration (zero for `auto`).
    pub fn fixed(&self) -> Duration {
        match self {
            Warmup::Fixed(d) => *d,
            Warmup::Auto => Duration::ZERO,
        }
    }
}

impl<'de> Deserialize<'de> for Warmup {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Warmup;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 1m, or `auto`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Warmup, E> {
                if v.trim() == "auto" {
                    return Ok(Warmup::Auto);
                }
                v.parse().map(Warmup::Fixed).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Warmup, E> {
                Duration::deserialize(de::value::I64Deserializer::<E>::new(v)).map(Warmup::Fixed)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Warmup, E> {
                Duration::deserialize(de::value::U64Deserializer::<E>::new(v)).map(Warmup::Fixed)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Warmup, E> {
                Duration::deserialize(de::value::F64Deserializer::<E>::new(v)).map(Warmup::Fixed)
            }
        }
        d.deserialize_any(V)
    }
}

/// Service-level objectives.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    /// Mean latency target.
    #[serde(default)]
    pub latency_mean: Option<Duration>,
    /// Median latency target.
    #[serde(default)]
    pub latency_p50: Option<Duration>,
    /// 95th-percentile latency target.
    #[serde(default)]
    pub latency_p95: Option<Duration>,
    /// 99th-percentile latency target.
    #[serde(default)]
    pub latency_p99: Option<Duration>,
    /// 99.9th-percentile latency target.
    #[serde(default)]
    pub latency_p999: Option<Duration>,
    /// Availability target (fraction, e.g. 0.999).
    #[serde(default)]
    pub availability: Option<f64>,
    /// Objectives on any metric: `{ metric: clients.web.latency.p99_ms, max: 250 }`,
    /// `{ metric: throughput_rps, min: 900 }`, `{ metric: cost.per_month, max: 5000 }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objectives: Vec<ObjectiveSpec>,
}

/// One objective on a metric: exactly one of `max` (the metric must stay at
/// or below it) and `min` (at or above it), in the metric's own unit (ms for
/// `*_ms`, a fraction for availability and ratios, dollars for cost).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveSpec {
    /// A report.json metric name, or `error_ratio` / `clients.NAME.error_ratio`
    /// (1 − availability).
    pub metric: String,
    /// The metric must be at most this.
    #[serde(default)]
    pub max: Option<f64>,
    /// The metric must be at least this.
    #[serde(default)]
    pub min: Option<f64>,
}

/// Which side of its target an objective's metric must stay on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Metric ≤ target (latency, error ratio, cost).
    AtMost,
    /// Metric ≥ target (availability, throughput).
    AtLeast,
}

/// An objective in resolved form.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    /// Metric name.
    pub metric: String,
    /// Which side is good.
    pub goal: Goal,
    /// The bound, in the metric's unit.
    pub target: f64,
}

impl SloSpec {
    /// Each objective as (metric name, target value in the metric's unit).
    pub fn targets(&self) -> Vec<(String, f64)> {
        self.objectives()
            .into_iter()
            .map(|o| (o.metric, o.target))
            .collect()
    }

    /// Every objective, the shorthand fields first (latency at most,
    /// availability at least), then `objectives` in file order. An entry
    /// with neither `max` nor `min` is left out (validation reports it).
    pub fn objectives(&self) -> Vec<Objective> {
        let mut v = Vec::new();
        for (name, d) in [
            ("latency.mean_ms", self.latency_mean),
            ("latency.p50_ms", self.latency_p50),
            ("latency.p95_ms", self.latency_p95),
            ("latency.p99_ms", self.latency_p99),
            ("latency.p999_ms", self.latency_p999),
        ] {
            if let Some(d) = d {
                v.push(Objective {
                    metric: name.to_string(),
                    goal: Goal::AtMost,
                    target: d.as_millis_f64(),
                });
            }
        }
        if let Some(a) = self.availability {
            v.push(Objective {
                metric: "availability".to_string(),
                goal: Goal::AtLeast,
                target: a,
            });
        }
        for o in &self.objectives {
            let (goal, target) = match (o.max, o.min) {
                (Some(t), _) => (Goal::AtMost, t),
                (None, Some(t)) => (Goal::AtLeast, t),
                (None, None) => continue,
            };
            v.push(Objective {
                metric: o.metric.clone(),
                goal,
                target,
            });
        }
        v
    }
}

/// A sweep: the grid of variants and how to plot it.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Dotted path → values (parsed as YAML, e.g. `300/s`, `4`); a single
    /// string `A..B step S` is a numeric range.
    #[serde(default)]
    pub vary: IndexMap<String, Vec<serde_json::Value>>,
    /// Replications per point (default 1; `--replications` wins).
    #[serde(default)]
    pub replications: Option<u32>,
    /// Which metrics to chart against which parameter.
    #[serde(default)]
    pub plot: Option<PlotSpec>,
}

/// What `archsim plan` asks: which question, over which parameter, to what
/// precision. Flags of `archsim plan` override each field.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlanSpec {
    /// `max_load` (the largest value of `parameter` at which every SLO
    /// holds), `min_resources` (the smallest integer value of `parameter`
    /// meeting every SLO), `cheapest` (the configuration of `choices` with
    /// the lowest price meeting every SLO) or `headroom` (when `growth`
    /// first breaks an SLO).
    #[serde(default)]
    pub question: Option<PlanQuestion>,
    /// The searched parameter: a dotted path as for `--set`
    /// (`clients.web.arrival.poisson`, `components.api.replicas`), or `load`:
    /// a factor on every client's arrival rate (1 = as written). Default
    /// `load` for `max_load` and `headroom`.
    #[serde(default)]
    pub parameter: Option<String>,
    /// Where to search, `A..B` (`50/s..2000/s`, `1..64`); default: a
    /// bracket around what `explain` predicts, widened until it holds.
    #[serde(default)]
    pub range: Option<String>,
    /// How narrow the answer must be: the gap between the last value that
    /// passes and the first that fails, in the parameter's unit (`5/s`) or
    /// relative (`2%`). Default 2% (1 for `min_resources`).
    #[serde(default)]
    pub precision: Option<String>,
    /// `cheapest`: each dotted path's options, listed from least to most
    /// capacity. A value that is a map sets several fields under the path
    /// at once (a vertical size and its price:
    /// `components.api: [{cores: 2, price_per_hour: 0.1}, {cores: 4, price_per_hour: 0.19}]`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub choices: IndexMap<String, Vec<serde_json::Value>>,
    /// `headroom`: compound growth of the load per period, `8%/month`
    /// (periods: day, week, month, quarter, year).
    #[serde(default)]
    pub growth: Option<String>,
    /// Replications of each probe at first (default 3). A probe whose
    /// verdict is uncertain doubles them, up to `max_replications`.
    #[serde(default)]
    pub replications: Option<u32>,
    /// Most replications of one probe (default 24).
    #[serde(default)]
    pub max_replications: Option<u32>,
}

/// The question `archsim plan` answers.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PlanQuestion {
    /// The largest value of the parameter at which every SLO holds.
    MaxLoad,
    /// The smallest integer value of the parameter meeting every SLO.
    MinResources,
    /// The cheapest configuration of `choices` meeting every SLO.
    Cheapest,
    /// When compound growth of the load first breaks an SLO.
    Headroom,
}

impl PlanQuestion {
    /// The word used in the file and on the command line.
    pub fn word(self) -> &'static str {
        match self {
            PlanQuestion::MaxLoad => "max_load",
            PlanQuestion::MinResources => "min_resources",
            PlanQuestion::Cheapest => "cheapest",
            PlanQuestion::Headroom => "headroom",
        }
    }
}

/// Settings of `archsim run` kept in the file (flags win over them).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Independent replications (default 1; `--replications` wins). A sweep
    /// uses `sweep.replications` instead.
    #[serde(default)]
    pub replications: Option<u32>,
    /// Time-series interval (default 1 s, longer for long runs; `--interval` wins).
    #[serde(default)]
    pub interval: Option<Duration>,
    /// Stop and report an unstable system when more requests than this are
    /// in flight (default 1000000; `--max-in-flight` wins).
    #[serde(default)]
    pub max_in_flight: Option<u64>,
}

/// Chart layout for a sweep.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    /// Parameter on the x axis (default: the first varied).
    #[serde(default)]
    pub x: Option<String>,
    /// Parameter giving one line per value (default: the second varied).
    #[serde(default)]
    pub series: Option<String>,
    /// Metrics on the y axis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub y: Vec<String>,
    /// Time-series columns (of timeseries.csv, e.g. `shop.replicas`,
    /// `latency_p99_ms`) to overlay across the grid: one chart per column,
    /// simulated time on x, one line per point (its first replication).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub over_time: Vec<String>,
    /// Varied parameters whose numbers are names of categories, not
    /// quantities (a scenario number, a tier index): drawn as grouped
    /// bars, one group per value, instead of a line through values in
    /// between that do not exist. Parameters with non-numeric values are
    /// categories anyway.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categorical: Vec<String>,
}

/// A client: a named workload sending requests to one target.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// When requests are issued.
    pub arrival: Arrival,
    /// The component that receives them.
    pub target: String,
    /// Give up on a request after this long (it counts as timed out).
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Operation mix as weights, e.g. `{ read: 0.9, write: 0.1 }` (default all reads).
    #[serde(default)]
    pub requests: OpMix,
    /// Key popularity: `{ zipf: { n, s } }` or `{ uniform: N }`.
    #[serde(default)]
    pub keys: Option<KeySpec>,
    /// Distinct users (for `ip_hash`, `sticky`); default 1, or one per closed-loop user.
    #[serde(default)]
    pub identities: Option<u64>,
    /// A share of requests that fetch static content (reads) from another target, usually a `cdn`.
    #[serde(default, rename = "static")]
    pub static_content: Option<StaticSpec>,
    /// Send failed and timed-out requests again (`timeout` then bounds each attempt).
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// Fail at once, without sending, while the target keeps failing.
    #[serde(default)]
    pub circuit_breaker: Option<BreakerSpec>,
    /// Writes carry an idempotency key, so a retried write is applied once (default false).
    #[serde(default)]
    pub idempotent: Option<bool>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default)]
    pub region: Option<String>,
    /// Long-lived connections (HTTP/2, gRPC) to the target: `{ count: 100, lifetime: 10m }`.
    /// Requests take the connections in turn; a `layer: 4` balancer picks a
    /// replica per connection instead of per request. Default: none (each
    /// request stands alone).
    #[serde(default)]
    pub connections: Option<ConnectionsSpec>,
    /// Client-side discovery: `{ registry: reg, refresh: 30s }`. The client
    /// fetches its target service's live instances from the registry every
    /// `refresh` and sends each request to the next one of that cached
    /// list, round robin (default: none; the service spreads requests
    /// itself).
    #[serde(default)]
    pub discovery: Option<crate::scenario::kinds::registry::DiscoverySpec>,
}

/// A client's pool of long-lived connections to its target.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsSpec {
    /// Connections held open at once (1 to 1000000 over all clients).
    pub count: u32,
    /// A connection is closed and opened again this long after it was
    /// opened (a server's maximum connection age, e.g. gRPC's
    /// `MAX_CONNECTION_AGE`); the first ones' ages are spread uniformly over
    /// [0, lifetime) so that they do not all reconnect at once.
    pub lifetime: Duration,
}

/// Retries: `{ max: 3, backoff: { exponential: { base: 100ms, cap: 10s } }, jitter: full, budget: 0.2 }`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Attempts in all, the first included (default 3).
    #[serde(default)]
    pub max: Option<u32>,
    /// Delay before retry k: `{ exponential: { base, cap } }` waits min(cap, base·2^(k−1)),
    /// `{ constant: D }` always D (default exponential, base 100ms, cap 10s).
    #[serde(default)]
    pub backoff: Option<BackoffSpec>,
    /// How the delay d is randomised: `full` (uniform 0..d, the default), `equal` (d/2 + uniform 0..d/2), `none`.
    #[serde(default)]
    pub jitter: Option<JitterSpec>,
    /// Retry budget: retries at most this fraction of requests (e.g. 0.2), or
    /// `{ ratio, min_per_s, window }` (defaults as Finagle's: 10 retries/s allowed anyway, 10s window).
    #[serde(default)]
    pub budget: Option<BudgetSpec>,
}

/// Backoff between attempts.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum BackoffSpec {
    /// min(cap, base·2^(k−1)) before retry k.
    Exponential(ExponentialBackoff),
    /// The same delay before every retry.
    Constant(Duration),
}

/// Exponential backoff parameters.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExponentialBackoff {
    /// Delay before the first retry.
    pub base: Duration,
    /// Longest delay.
    pub cap: Duration,
}

/// Jitter mode (Brooker, "Exponential Backoff and Jitter", AWS Architecture Blog, 2015).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum JitterSpec {
    /// Uniform on [0, d].
    Full,
    /// d/2 plus uniform on [0, d/2].
    Equal,
    /// Exactly d.
    None,
}

/// A retry budget.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct BudgetSpec {
    /// Retries may be at most this fraction of first attempts over the window.
    pub ratio: f64,
    /// Retries per second allowed whatever the ratio says (default 10).
    pub min_per_s: Option<f64>,
    /// Sliding window (default 10s).
    pub window: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetMap {
    ratio: f64,
    #[serde(default)]
    min_per_s: Option<f64>,
    #[serde(default)]
    window: Option<Duration>,
}

impl<'de> Deserialize<'de> for BudgetSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BudgetSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a fraction such as 0.2, or { ratio, min_per_s, window }")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<BudgetSpec, E> {
                Ok(BudgetSpec {
                    ratio: v,
                    min_per_s: None,
                    window: None,
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<BudgetSpec, E> {
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<BudgetSpec, E> {
                self.visit_f64(v as f64)
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<BudgetSpec, A::Error> {
                let b = BudgetMap::deserialize(de::value::MapAccessDeserializer::new(m))?;
                Ok(BudgetSpec {
                    ratio: b.ratio,
                    min_per_s: b.min_per_s,
                    window: b.window,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for BudgetSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BudgetSpec".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let window = g.subschema_for::<Duration>();
        schemars::json_schema!({
            "description": "Retry budget: a fraction of requests, or { ratio, min_per_s, window }.",
            "anyOf": [
                { "type": "number", "minimum": 0 },
                {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["ratio"],
                    "properties": {
                        "ratio": { "type": "number", "minimum": 0 },
                        "min_per_s": { "type": "number", "minimum": 0 },
                        "window": window
                    }
                }
            ]
        })
    }
}

/// A circuit breaker: `{ failure_ratio: 0.5, window: 10s, open_for: 5s, half_open_probes: 3, min_calls: 20 }`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BreakerSpec {
    /// Failure ratio over the window that opens it (default 0.5).
    #[serde(default)]
    pub failure_ratio: Option<f64>,
    /// Sliding window of results (default 10s).
    #[serde(default)]
    pub window: Option<Duration>,
    /// How long it stays open before probing (default 5s).
    #[serde(default)]
    pub open_for: Option<Duration>,
    /// Calls let through when half open; all must succeed to close (default 3).
    #[serde(default)]
    pub half_open_probes: Option<u32>,
    /// Results needed in the window before it may open (default 20).
    #[serde(default)]
    pub min_calls: Option<u32>,
}

/// Static content requests of a client: `{ fraction: 0.7, target: cdn, keys: { zipf: { n: 5000, s: 1 } } }`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StaticSpec {
    /// Fraction of the client's requests that are static (0..1).
    pub fraction: f64,
    /// Where static requests go (a `cdn`, or its origin to compare).
    pub target: String,
    /// Popularity of static objects (default: the client's `keys`).
    #[serde(default)]
    pub keys: Option<KeySpec>,
}

/// Operation weights.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpMix {
    /// Weight of reads.
    #[serde(default)]
    pub read: f64,
    /// Weight of writes.
    #[serde(default)]
    pub write: f64,
}

impl Default for OpMix {
    fn default() -> Self {
        OpMix {
            read: 1.0,
            write: 0.0,
        }
    }
}

/// Key popularity.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum KeySpec {
    /// Zipf over `n` keys with exponent `s` (key 0 most popular).
    Zipf(ZipfSpec),
    /// Every one of N keys equally likely.
    Uniform(u64),
}

/// Zipf parameters.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ZipfSpec {
    /// Number of keys.
    pub n: u64,
    /// Exponent (0 = uniform; about 1 for web workloads).
    pub s: f64,
}

/// An arrival process (SPEC §2).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Poisson arrivals at a rate.
    Poisson(Rate),
    /// Evenly spaced arrivals at a rate.
    Constant(Rate),
    /// Renewal process with the given inter-arrival distribution.
    Interarrival(DistSpec),
    /// Piecewise-constant Poisson rate: each step holds from `at` until the next.
    Schedule(Vec<ScheduleStep>),
    /// Poisson with a sinusoidal rate `mean·(1 + amplitude·sin(2πt/period))`.
    Diurnal(DiurnalSpec),
    /// Arrival times read from a file (one duration since start per line).
    Trace(PathBuf),
    /// Closed loop: `users` each send, wait for the answer, think, repeat.
    Closed(ClosedSpec),
}

/// One step of a rate schedule.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleStep {
    /// When this rate starts.
    pub at: Duration,
    /// The Poisson rate from then on.
    pub rate: Rate,
}

/// Diurnal rate parameters.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DiurnalSpec {
    /// Mean rate.
    pub mean: Rate,
    /// Relative swing, 0..1.
    pub amplitude: f64,
    /// Length of one cycle (default 1d).
    #[serde(default = "one_day")]
    pub period: Duration,
}

fn one_day() -> Duration {
    Duration::from_nanos(86_400 * 1_000_000_000)
}

/// Closed-loop population.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClosedSpec {
    /// Number of users.
    pub users: u32,
    /// Time a user waits between an answer and its next request.
    #[serde(default = "zero_dist")]
    pub think_time: DistSpec,
}

fn zero_dist() -> DistSpec {
    DistSpec::Constant(Duration::ZERO)
}

/// Network latency.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// One-way latency of a hop inside a region (default zero).
    #[serde(default)]
    pub latency: Option<DistSpec>,
    /// Region names; components and clients take `region:` (default the first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// One-way latency between two regions: `{ regions: [us-east, eu-west], latency: 40ms }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub between: Vec<BetweenSpec>,
}

/// Latency between two regions.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BetweenSpec {
    /// The two regions.
    pub regions: Vec<String>,
    /// One-way latency of a hop between them.
    pub latency: DistSpec,
}

//! The scenario file's types, mirroring the YAML one to one (SPEC §2).
//!
//! These are the "raw" layer: they say what the file may contain. The
//! [`super::validate`] step checks values, resolves names to ids and builds
//! the model's configuration, so the engine never looks up a string.

use std::fmt;
use std::path::PathBuf;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::dist::DistSpec;
use super::units::{Duration, Rate};
pub use crate::model::balancer::Algorithm;
pub use crate::model::cache::{ReadPolicy, WritePolicy};
pub use crate::model::database::ReadFrom;
pub use crate::model::request::Op;
pub use crate::model::service::{Discipline, LoadMeasure};

/// A whole scenario file.
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
    /// Service-level objectives: drawn as dashed lines on sweep charts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<SloSpec>,
    /// The grid `archsim sweep` runs (ignored by `run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSpec>,
    /// Timed operations on the system: `{ at: 2m, add_shard: db }`, `{ at: 4m, remove_shard: db }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventSpec>,
    /// Faults to inject: `{ at: 2m, crash: "api[0]", for: 1m }`, `{ at: 3m, slow: api, factor: 5, for: 2m }`,
    /// `{ random: api, mtbf: 2h, mttr: 10m }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
}

/// One fault: exactly one of `crash`, `slow` (with `factor`), `random` (with `mtbf`, `mttr`),
/// `partition`, `outage`, `latency` or `disk_loss`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// When it starts (not for `random`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Duration>,
    /// How long it lasts; omitted = until the end.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    /// Crash an instance: `api[0]` (one replica), `api` (every replica), `cache.node[1]` (a cache node),
    /// `db.shard[0].primary` (a database shard's primary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<String>,
    /// Slow a service down (a gray failure): its service times are multiplied by `factor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow: Option<String>,
    /// `slow`: the multiplier (> 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// Crash every instance of this service (or cache) independently at random, for ever:
    /// exponential time between failures with mean `mtbf`, exponential repair with mean `mttr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random: Option<String>,
    /// `random`: mean time between failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtbf: Option<Duration>,
    /// `random`: mean time to repair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mttr: Option<Duration>,
    /// Split the network: `[[us-east], [eu-west]]` (regions) or `[[web, api], [db]]` (components and
    /// clients); messages between two groups are dropped, so callers time out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Vec<Vec<String>>>,
    /// A whole region fails: `{ region: us-east }` (every instance in it crashes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<OutageSpec>,
    /// Extra one-way latency on the hops between two components or regions:
    /// `{ between: [api, db], add: 100ms }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyFaultSpec>,
    /// A database shard loses its data on every node: `db.shard[0]`; restored from the last backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_loss: Option<String>,
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
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// When it happens.
    pub at: Duration,
    /// Add one shard to this database (its keys are re-partitioned at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_shard: Option<String>,
    /// Remove this database's last shard (its keys move to the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_shard: Option<String>,
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
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    /// Mean latency target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_mean: Option<Duration>,
    /// Median latency target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p50: Option<Duration>,
    /// 95th-percentile latency target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p95: Option<Duration>,
    /// 99th-percentile latency target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p99: Option<Duration>,
    /// 99.9th-percentile latency target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p999: Option<Duration>,
    /// Availability target (fraction, e.g. 0.999).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<f64>,
}

impl SloSpec {
    /// Each objective as (metric name, target value in the metric's unit).
    pub fn targets(&self) -> Vec<(String, f64)> {
        let mut v = Vec::new();
        for (name, d) in [
            ("latency.mean_ms", self.latency_mean),
            ("latency.p50_ms", self.latency_p50),
            ("latency.p95_ms", self.latency_p95),
            ("latency.p99_ms", self.latency_p99),
            ("latency.p999_ms", self.latency_p999),
        ] {
            if let Some(d) = d {
                v.push((name.to_string(), d.as_millis_f64()));
            }
        }
        if let Some(a) = self.availability {
            v.push(("availability".to_string(), a));
        }
        v
    }
}

/// A sweep: the grid of variants and how to plot it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Dotted path → values (parsed as YAML, e.g. `300/s`, `4`); a single
    /// string `A..B step S` is a numeric range.
    #[serde(default)]
    pub vary: IndexMap<String, Vec<serde_json::Value>>,
    /// Replications per point (default 1; `--replications` wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replications: Option<u32>,
    /// Which metrics to chart against which parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plot: Option<PlotSpec>,
}

/// Chart layout for a sweep.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    /// Parameter on the x axis (default: the first varied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Parameter giving one line per value (default: the second varied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Metrics on the y axis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub y: Vec<String>,
}

/// A client: a named workload sending requests to one target.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// When requests are issued.
    pub arrival: Arrival,
    /// The component that receives them.
    pub target: String,
    /// Give up on a request after this long (it counts as timed out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Operation mix as weights, e.g. `{ read: 0.9, write: 0.1 }` (default all reads).
    #[serde(default)]
    pub requests: OpMix,
    /// Key popularity: `{ zipf: { n, s } }` or `{ uniform: N }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeySpec>,
    /// Distinct users (for `ip_hash`, `sticky`); default 1, or one per closed-loop user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities: Option<u64>,
    /// A share of requests that fetch static content (reads) from another target, usually a `cdn`.
    #[serde(default, rename = "static", skip_serializing_if = "Option::is_none")]
    pub static_content: Option<StaticSpec>,
    /// Send failed and timed-out requests again (`timeout` then bounds each attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
    /// Fail at once, without sending, while the target keeps failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<BreakerSpec>,
    /// Writes carry an idempotency key, so a retried write is applied once (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Retries: `{ max: 3, backoff: { exponential: { base: 100ms, cap: 10s } }, jitter: full, budget: 0.2 }`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Attempts in all, the first included (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// Delay before retry k: `{ exponential: { base, cap } }` waits min(cap, base·2^(k−1)),
    /// `{ constant: D }` always D (default exponential, base 100ms, cap 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<BackoffSpec>,
    /// How the delay d is randomised: `full` (uniform 0..d, the default), `equal` (d/2 + uniform 0..d/2), `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<JitterSpec>,
    /// Retry budget: retries at most this fraction of requests (e.g. 0.2), or
    /// `{ ratio, min_per_s, window }` (defaults as Finagle's: 10 retries/s allowed anyway, 10s window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BreakerSpec {
    /// Failure ratio over the window that opens it (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_ratio: Option<f64>,
    /// Sliding window of results (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
    /// How long it stays open before probing (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_for: Option<Duration>,
    /// Calls let through when half open; all must succeed to close (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_open_probes: Option<u32>,
    /// Results needed in the window before it may open (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_calls: Option<u32>,
}

/// Service time that grows with load: `{ linear: 0.05 }` multiplies it by 1 + 0.05·x,
/// `{ exponential: 0.02 }` by e^(0.02·x), where x is the replica's concurrency (requests it holds)
/// or, with `on: utilization`, its busy cores ÷ cores.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoadDependenceSpec {
    /// Slope of a linear slowdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<f64>,
    /// Rate of an exponential slowdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exponential: Option<f64>,
    /// What x is: `concurrency` (default) or `utilization`.
    #[serde(default)]
    pub on: LoadMeasure,
}

/// Static content requests of a client: `{ fraction: 0.7, target: cdn, keys: { zipf: { n: 5000, s: 1 } } }`.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StaticSpec {
    /// Fraction of the client's requests that are static (0..1).
    pub fraction: f64,
    /// Where static requests go (a `cdn`, or its origin to compare).
    pub target: String,
    /// Popularity of static objects (default: the client's `keys`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// A component, internally tagged by `kind:` in the file.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(tag = "kind")]
#[allow(clippy::large_enum_variant)]
pub enum ComponentSpec {
    /// A pool of server replicas.
    Service(ServiceSpec),
    /// Spreads requests over a service's replicas.
    LoadBalancer(BalancerSpec),
    /// A key-value cache in front of a backend.
    Cache(CacheSpec),
    /// An edge cache for static content in front of an origin.
    Cdn(CdnSpec),
    /// A sharded, replicated store of versioned keys.
    Database(DatabaseSpec),
    /// A message broker for asynchronous work.
    Queue(QueueSpec),
    /// An API gateway: routes by operation, rate-limits, adds its own time.
    Gateway(GatewaySpec),
    /// Changes a service's replica count.
    Autoscaler(AutoscalerSpec),
    /// DNS load balancing across regions (GeoDNS).
    Dns(DnsSpec),
}

/// DNS across regions: clients resolve, cache the answer for `ttl`, and
/// send to the target it names.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsSpec {
    /// `geo` (default: the nearest healthy target), `round_robin` or `failover` (the first healthy in the list).
    #[serde(default)]
    pub policy: DnsPolicySpec,
    /// The components it answers with (a balancer or service per region).
    pub targets: Vec<String>,
    /// How long a client keeps an answer (default 60s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// Time its health checks take to notice a target's region going out or coming back (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect_after: Option<Duration>,
}

/// How a DNS answers.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DnsPolicySpec {
    /// The nearest healthy target.
    #[default]
    Geo,
    /// The healthy targets in turn.
    RoundRobin,
    /// The first healthy target in the list.
    Failover,
}

/// An autoscaler of one service.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoscalerSpec {
    /// The service it scales.
    pub target: String,
    /// Fewest replicas (default 1).
    #[serde(default = "one")]
    pub min: u32,
    /// Most replicas.
    pub max: u32,
    /// Sync period: how often it reads the metric and decides (default 15s, as the HPA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// The decision rule.
    pub policy: ScalingPolicySpec,
    /// For `queue_depth`: the queue whose depth is read (default: the queue the target consumes from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}

/// What an autoscaler reads.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScalingMetric {
    /// Busy fraction of a replica's cores, averaged over the ready replicas (target as a fraction: 0.6).
    Cpu,
    /// Requests per second per ready replica.
    RequestRate,
    /// The service's 99th-percentile response time in ms.
    LatencyP99,
    /// Messages waiting in the queue the service consumes, per replica.
    QueueDepth,
}

/// An autoscaling rule.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScalingPolicySpec {
    /// The Kubernetes HPA rule.
    TargetTracking(TargetTrackingSpec),
    /// Step scaling on thresholds with a cooldown.
    Threshold(ThresholdSpec),
    /// Replica counts at fixed times.
    Schedule(Vec<ScheduledReplicas>),
    /// Scale for the demand forecast `horizon` ahead.
    Predictive(PredictiveSpec),
}

/// Target tracking (Kubernetes HPA).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetTrackingSpec {
    /// Metric.
    pub metric: ScalingMetric,
    /// Target value per replica (cpu as a fraction, request_rate per second, latency_p99 in ms, queue_depth in messages).
    pub target: f64,
    /// No change while |1 − metric ÷ target| ≤ tolerance (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Stabilisation windows and rate policies (defaults as Kubernetes').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<BehaviorSpec>,
}

/// The HPA's `behavior`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BehaviorSpec {
    /// Scale-up rules (default: no stabilisation; max of 4 pods or 100% per 15s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingRulesSpec>,
    /// Scale-down rules (default: 300s stabilisation; 100% per 15s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingRulesSpec>,
}

/// One direction's rules.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingRulesSpec {
    /// Recommendations within this window are taken into account (highest for down, lowest for up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window: Option<Duration>,
    /// Rate limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<RatePolicySpec>>,
    /// `max` (default: the policy allowing the largest change), `min`, or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<SelectPolicySpec>,
}

/// A rate policy: `{ pods: 4, period: 15s }` or `{ percent: 100, period: 15s }`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RatePolicySpec {
    /// At most this many replicas per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<u32>,
    /// At most this percentage of the replicas per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// The period.
    pub period: Duration,
}

/// How rate policies combine.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SelectPolicySpec {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// Step scaling.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// Metric (cpu, request_rate per replica, latency_p99 ms, queue_depth total).
    pub metric: ScalingMetric,
    /// Add `step` replicas when the metric is above this.
    pub up_above: f64,
    /// Remove `step` replicas when the metric is below this.
    pub down_below: f64,
    /// Replicas added or removed at a time (default 1).
    #[serde(default = "one")]
    pub step: u32,
    /// Least time between two actions (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<Duration>,
}

/// A scheduled replica count.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledReplicas {
    /// From this time on…
    pub at: Duration,
    /// …run this many replicas.
    pub replicas: u32,
}

/// Predictive scaling.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictiveSpec {
    /// Metric.
    pub metric: ScalingMetric,
    /// Target value per replica, as for target tracking.
    pub target: f64,
    /// How far ahead to provision (at least the startup time).
    pub horizon: Duration,
    /// Holt's level smoothing, 0..1 (default 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Holt's trend smoothing, 0..1 (default 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// Stabilisation windows and rate policies, as for target tracking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<BehaviorSpec>,
}

/// An API gateway in front of the services.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewaySpec {
    /// Where each operation goes: `{ read: NAME, write: NAME }` (an
    /// operation without a route goes to `target`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<RoutesSpec>,
    /// Where requests go that no route names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Token-bucket rate limit; excess requests are rejected (HTTP 429).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    /// The gateway's own processing time per admitted request (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_time: Option<DistSpec>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A gateway's routes by operation.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutesSpec {
    /// Component receiving reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<String>,
    /// Component receiving writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<String>,
}

/// A token bucket.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    /// Refill rate, e.g. `100/s`: the sustained rate admitted.
    pub rate: Rate,
    /// Bucket size: requests that may pass at once after a quiet spell (default: one second of `rate`, at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<f64>,
    /// `global` (default): one bucket for all; `identity`: one per user.
    #[serde(default)]
    pub per: LimitScope,
}

/// Who shares a token bucket.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// Every request.
    #[default]
    Global,
    /// Each user (client identity) separately.
    Identity,
}

/// A message queue: producers' calls complete on enqueue, a consumer
/// service processes the messages later.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// The service (or a load balancer in front of one) that processes the messages.
    pub consumer: String,
    /// Messages handed to each serving replica of the consumer at once: its workers (default: its cores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Messages that may wait; a message arriving at a full queue is rejected (default unbounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u64>,
    /// Waiting messages survive a broker crash (default true); `false` loses them.
    #[serde(default = "yes")]
    pub durable: bool,
    /// When the producer's call is answered: `after_enqueue` (default) or `after_processing`.
    #[serde(default)]
    pub ack: AckSpec,
    /// Deliveries of a message whose processing fails before it is dead-lettered (default 3).
    #[serde(default = "three_u16")]
    pub max_deliveries: u16,
    /// Hand messages to the consumer in batches (one call carries up to `size` messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchSpec>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Batched delivery: a call to the consumer carries up to `size` messages.
/// A batch leaves when it is full, or when its oldest message has waited
/// `max_wait` (like Kafka's `batch.size` and `linger.ms`), and only while
/// the consumer has a free worker.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSpec {
    /// Most messages in one call.
    pub size: u32,
    /// Longest the oldest message waits for the batch to fill (default 0: send what is waiting).
    #[serde(default)]
    pub max_wait: Duration,
}

/// When a queue answers its producer.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AckSpec {
    /// Once the message is enqueued.
    #[default]
    AfterEnqueue,
    /// Once the consumer has processed it.
    AfterProcessing,
}

fn yes() -> bool {
    true
}

fn three_u16() -> u16 {
    3
}

impl ComponentSpec {
    /// The `region:` it names, if any (a database: the first of its placement otherwise).
    pub fn region(&self) -> Option<&String> {
        match self {
            ComponentSpec::Service(s) => s.region.as_ref(),
            ComponentSpec::LoadBalancer(b) => b.region.as_ref(),
            ComponentSpec::Cache(c) => c.region.as_ref(),
            ComponentSpec::Cdn(c) => c.region.as_ref(),
            ComponentSpec::Database(d) => d.region.as_ref().or(d.placement.first()),
            ComponentSpec::Queue(q) => q.region.as_ref(),
            ComponentSpec::Gateway(g) => g.region.as_ref(),
            ComponentSpec::Autoscaler(_) | ComponentSpec::Dns(_) => None,
        }
    }

    /// The `kind:` word of this component.
    pub fn kind(&self) -> &'static str {
        match self {
            ComponentSpec::Service(_) => "service",
            ComponentSpec::LoadBalancer(_) => "load_balancer",
            ComponentSpec::Cache(_) => "cache",
            ComponentSpec::Cdn(_) => "cdn",
            ComponentSpec::Database(_) => "database",
            ComponentSpec::Queue(_) => "queue",
            ComponentSpec::Gateway(_) => "gateway",
            ComponentSpec::Autoscaler(_) => "autoscaler",
            ComponentSpec::Dns(_) => "dns",
        }
    }
}

/// A service: `replicas`, each with `cores` and its own FIFO queue.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Number of replicas.
    #[serde(default = "one")]
    pub replicas: u32,
    /// Parallel slots per replica.
    #[serde(default = "one")]
    pub cores: u32,
    /// Vertical scaling: service time is divided by this; a list gives one value per replica.
    #[serde(default)]
    pub speed: Speed,
    /// Time a request holds a core (or per operation: `{ read: …, write: … }`); for a batch from a queue, per message.
    pub service_time: ServiceTime,
    /// Fixed work per call on top of `service_time` (a commit, a round trip): a batch of n messages holds a core for overhead + n service times (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead: Option<DistSpec>,
    /// Waiting requests a replica holds (not counting those in service); full → rejected. Default unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_capacity: Option<u64>,
    /// `fifo` (default) or `processor_sharing`.
    #[serde(default)]
    pub discipline: Discipline,
    /// Requests a replica holds from arrival to response, downstream waits included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// Downstream calls made after the service time, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallStep>,
    /// Cost of one replica per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_hour: Option<f64>,
    /// Service time grows with load (GC pressure, lock contention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_dependence: Option<LoadDependenceSpec>,
    /// Time a replica added by an autoscaler takes before it serves (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_time: Option<Duration>,
    /// Where users' sessions live: `stateless` (default), `stateful` (replica memory), or `{ store: NAME }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateSpec>,
    /// The extra work of a login when a request finds no session on its replica (default 50ms; used by `stateful` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_time: Option<DistSpec>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

fn one() -> u32 {
    1
}

/// Where a service keeps sessions.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum StateSpec {
    /// No sessions on the replicas.
    Stateless,
    /// Sessions in replica memory.
    Stateful,
    /// Sessions in a cache or database, read on every request.
    Store(String),
}

/// Speed factor: one for all replicas, or one per replica.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum Speed {
    /// Every replica runs at this speed.
    All(f64),
    /// Replica i runs at the i-th speed.
    PerReplica(Vec<f64>),
}

impl Default for Speed {
    fn default() -> Self {
        Speed::All(1.0)
    }
}

impl<'de> Deserialize<'de> for Speed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Speed;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a speed factor such as 2, or a list with one per replica")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Speed, E> {
                Ok(Speed::All(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Speed, E> {
                Ok(Speed::All(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Speed, E> {
                Ok(Speed::All(v as f64))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Speed, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = s.next_element::<f64>()? {
                    v.push(x);
                }
                Ok(Speed::PerReplica(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Service time: one distribution, or one per operation.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum ServiceTime {
    /// The same for every operation.
    All(DistSpec),
    /// Per operation; a missing one falls back to the other.
    PerOp {
        /// Reads.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        read: Option<DistSpec>,
        /// Writes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        write: Option<DistSpec>,
    },
}

impl<'de> Deserialize<'de> for ServiceTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ServiceTime;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a distribution such as { exponential: 10ms }, or { read: …, write: … }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ServiceTime, E> {
                DistSpec::deserialize(de::value::StrDeserializer::<E>::new(v)).map(ServiceTime::All)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ServiceTime, E> {
                DistSpec::deserialize(de::value::I64Deserializer::<E>::new(v)).map(ServiceTime::All)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ServiceTime, E> {
                DistSpec::deserialize(de::value::U64Deserializer::<E>::new(v)).map(ServiceTime::All)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ServiceTime, E> {
                DistSpec::deserialize(de::value::F64Deserializer::<E>::new(v)).map(ServiceTime::All)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<ServiceTime, A::Error> {
                let Some(first) = m.next_key::<String>()? else {
                    return Err(de::Error::custom("expected a distribution, found an empty map"));
                };
                if first != "read" && first != "write" {
                    let d = DistSpec::from_entry(&first, &mut m)?;
                    if let Some(extra) = m.next_key::<String>()? {
                        return Err(de::Error::custom(format!(
                            "a distribution has exactly one key, found `{first}` and `{extra}`"
                        )));
                    }
                    return Ok(ServiceTime::All(d));
                }
                let (mut read, mut write) = (None, None);
                let mut key = Some(first);
                while let Some(k) = key {
                    match k.as_str() {
                        "read" if read.is_none() => read = Some(m.next_value::<DistSpec>()?),
                        "write" if write.is_none() => write = Some(m.next_value::<DistSpec>()?),
                        "read" | "write" => return Err(de::Error::duplicate_field("read/write")),
                        other => return Err(de::Error::unknown_field(other, &["read", "write"])),
                    }
                    key = m.next_key::<String>()?;
                }
                Ok(ServiceTime::PerOp { read, write })
            }
        }
        d.deserialize_any(V)
    }
}

/// One step of a service's downstream work.
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum CallStep {
    /// One call.
    Call(CallEdge),
    /// Calls made at once; the step ends when all have answered.
    Parallel {
        /// The calls.
        parallel: Vec<CallEdge>,
    },
}

/// A call to another component: a name, or `{ target, probability, on, timeout }`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CallEdge {
    /// The component called.
    pub target: String,
    /// Chance the call is made at all (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Only for requests of this operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<Op>,
    /// Give up on an attempt after this long (the request then fails, or the call is retried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Retry failed and timed-out calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
    /// Fail calls at once while the target keeps failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<BreakerSpec>,
    /// Writes sent on this call carry an idempotency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    /// Graceful degradation: when this call fails (an error, a timeout, an
    /// open breaker) the request goes on without it, as a fallback answer;
    /// a failed `cache_aside` cache is skipped for its backend instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

impl CallEdge {
    fn named(target: String) -> CallEdge {
        CallEdge {
            target,
            probability: None,
            on: None,
            timeout: None,
            retry: None,
            circuit_breaker: None,
            idempotent: None,
            optional: None,
        }
    }
}

impl JsonSchema for CallEdge {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CallEdge".into()
    }

    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let on = g.subschema_for::<Op>();
        let timeout = g.subschema_for::<Duration>();
        let retry = g.subschema_for::<RetrySpec>();
        let breaker = g.subschema_for::<BreakerSpec>();
        schemars::json_schema!({
            "description": "A call: the component's name, or a map with its target and options.",
            "anyOf": [
                { "type": "string", "description": "Name of the component called." },
                {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["target"],
                    "properties": {
                        "target": { "type": "string", "description": "The component called." },
                        "probability": { "type": "number", "minimum": 0, "maximum": 1,
                                         "description": "Chance the call is made (default 1)." },
                        "on": on,
                        "timeout": { "anyOf": [timeout, { "type": "null" }] },
                        "retry": { "anyOf": [retry, { "type": "null", "description": "No retries." }] },
                        "circuit_breaker": { "anyOf": [breaker, { "type": "null", "description": "No breaker." }] },
                        "idempotent": { "type": "boolean",
                                        "description": "Writes on this call carry an idempotency key." },
                        "optional": { "type": "boolean",
                                      "description": "Graceful degradation: a failed call does not fail the request, which goes on without it (a failed cache_aside cache is skipped for its backend)." }
                    }
                }
            ]
        })
    }
}

const EDGE_FIELDS: &[&str] = &[
    "target",
    "probability",
    "on",
    "timeout",
    "retry",
    "circuit_breaker",
    "idempotent",
    "optional",
];

/// Reads a call edge's fields after its first key has been read.
fn edge_from_map<'de, A: MapAccess<'de>>(first: String, m: &mut A) -> Result<CallEdge, A::Error> {
    let mut e = CallEdge::named(String::new());
    let mut has_target = false;
    let mut key = Some(first);
    while let Some(k) = key {
        match k.as_str() {
            "target" => {
                e.target = m.next_value()?;
                has_target = true;
            }
            "probability" => e.probability = Some(m.next_value()?),
            "on" => e.on = Some(m.next_value()?),
            "timeout" => e.timeout = m.next_value()?,
            "retry" => e.retry = m.next_value()?,
            "circuit_breaker" => e.circuit_breaker = m.next_value()?,
            "idempotent" => e.idempotent = m.next_value()?,
            "optional" => e.optional = m.next_value()?,
            other => return Err(de::Error::unknown_field(other, EDGE_FIELDS)),
        }
        key = m.next_key::<String>()?;
    }
    if !has_target {
        return Err(de::Error::missing_field("target"));
    }
    Ok(e)
}

impl<'de> Deserialize<'de> for CallEdge {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CallEdge;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a component name or { target: NAME, probability, on, timeout, retry, … }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CallEdge, E> {
                Ok(CallEdge::named(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<CallEdge, A::Error> {
                match m.next_key::<String>()? {
                    Some(first) => edge_from_map(first, &mut m),
                    None => Err(de::Error::missing_field("target")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for CallStep {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CallStep;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a component name, { target: NAME, … } or { parallel: [ … ] }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CallStep, E> {
                CallEdge::deserialize(de::value::StrDeserializer::<E>::new(v)).map(CallStep::Call)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<CallStep, A::Error> {
                match m.next_key::<String>()? {
                    Some(k) if k == "parallel" => {
                        let parallel: Vec<CallEdge> = m.next_value()?;
                        if let Some(extra) = m.next_key::<String>()? {
                            return Err(de::Error::unknown_field(&extra, &["parallel"]));
                        }
                        Ok(CallStep::Parallel { parallel })
                    }
                    Some(first) => edge_from_map(first, &mut m).map(CallStep::Call),
                    None => Err(de::Error::missing_field("target")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A load balancer in front of one service's replicas.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalancerSpec {
    /// How a replica is chosen.
    pub algorithm: Algorithm,
    /// The service whose replicas receive the traffic.
    pub backends: String,
    /// `power_of_two`: how many replicas are sampled (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<u32>,
    /// `weighted_round_robin`: one weight per replica (default: the replicas' speeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
    /// `consistent_hash`: points per replica on the ring (default 160, as ketama).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnodes: Option<u32>,
    /// Active health checks: replicas that stop answering are taken out of rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckSpec>,
    /// Passive health checking (Envoy's outlier detection): a replica whose
    /// answers to this balancer fail `consecutive_errors` times in a row is
    /// ejected from rotation for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_detection: Option<OutlierDetectionSpec>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Outlier detection on consecutive errors (defaults as Envoy's: 5 errors,
/// 30 s base ejection, 300 s maximum, at most 10% of the replicas ejected).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutlierDetectionSpec {
    /// Failed or rejected answers in a row that eject a replica (default 5); a success resets the count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_errors: Option<u32>,
    /// An ejection lasts this × the number of times the replica has been ejected (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_ejection_time: Option<Duration>,
    /// Longest ejection (default 300s, or base_ejection_time if that is longer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ejection_time: Option<Duration>,
    /// Most replicas ejected at once, in percent of the pool (0 to 100, default 10); one replica can always be ejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ejection_percent: Option<f64>,
}

/// Active health checking (defaults as HAProxy's: every 2 s, down after 3 failures, up after 2).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// Time between probes of each replica (default 2s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// A probe unanswered this long fails (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Consecutive failed probes before a replica is marked down (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_after: Option<u32>,
    /// Consecutive good probes before it is marked up again (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_after: Option<u32>,
}

/// Network latency.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// One-way latency of a hop inside a region (default zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// A key-value cache (SPEC §2 `cache`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// Entries each node holds.
    pub capacity: u64,
    /// What is pushed out when a node is full (default `lru`).
    #[serde(default)]
    pub eviction: Eviction,
    /// Entries expire this long after they were written (not reset by reads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// Who loads a missing entry: `read_through` (the cache, default) or
    /// `cache_aside` (the calling service: it reads the backend, then fills the cache).
    #[serde(default)]
    pub read_policy: ReadPolicy,
    /// What a write does (default `write_through`).
    #[serde(default)]
    pub write_policy: WritePolicy,
    /// The component behind the cache (a database, or a service in front of one).
    pub backend: String,
    /// Time to answer from the cache, also paid by a miss before it goes on (default 200us).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit_time: Option<DistSpec>,
    /// Nodes of a sharded cache cluster (keys hashed over them); `capacity` is per node.
    #[serde(default = "one")]
    pub nodes: u32,
    /// `write_back`: how often dirty entries are written to the backend (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_interval: Option<Duration>,
    /// Cost of one node per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_hour: Option<f64>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// An edge cache for static content (SPEC §2 `cdn`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CdnSpec {
    /// Objects the edge holds.
    pub capacity: u64,
    /// What is pushed out when the edge is full (default `lru`).
    #[serde(default)]
    pub eviction: Eviction,
    /// Objects expire this long after they were fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Duration>,
    /// Where misses are fetched from.
    pub origin: String,
    /// Time to answer from the edge (default 1ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit_time: Option<DistSpec>,
    /// Extra one-way latency from the edge to the origin (the distance the CDN saves; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_latency: Option<DistSpec>,
    /// Cost of the edge per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_hour: Option<f64>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Cache eviction policies.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Eviction {
    /// Least recently used.
    #[default]
    Lru,
    /// Least frequently used (every request to a key counts, cached or not).
    Lfu,
    /// First in, first out (a hit does not refresh an entry).
    Fifo,
    /// A uniformly random entry.
    Random,
}

/// A sharded, replicated database (SPEC §2 `database`).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// Number of shards (default 1).
    #[serde(default = "one")]
    pub shards: u32,
    /// How keys are spread over shards (default `hash`).
    #[serde(default)]
    pub partitioning: Partitioning,
    /// Followers per shard (default 0).
    #[serde(default)]
    pub replicas: u32,
    /// How writes reach followers (default `async`).
    #[serde(default)]
    pub replication: Replication,
    /// Delay until a follower has applied a write (default `{ exponential: 10ms }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_lag: Option<DistSpec>,
    /// Which node serves reads (default `primary`; ignored under quorum).
    #[serde(default)]
    pub reads: ReadFrom,
    /// Service time of a read on a node.
    pub read_time: DistSpec,
    /// Service time of a write on a node (default: `read_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_time: Option<DistSpec>,
    /// Parallel slots per node (default 1).
    #[serde(default = "one")]
    pub cores: u32,
    /// Waiting requests a node holds; full → rejected (default unbounded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_capacity: Option<u64>,
    /// `directory` partitioning: time of the lookup hop (default 500us).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_time: Option<DistSpec>,
    /// Cost of one node per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_hour: Option<f64>,
    /// Promote the most up-to-date follower when a shard's primary has been down this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverSpec>,
    /// Under a partition: `strong` (CP, the default: only the side with the primary and a majority
    /// of the shard's nodes serves) or `eventual` (AP: every side serves; last writer wins on healing).
    #[serde(default)]
    pub consistency: Consistency,
    /// Periodic backups, restored after a `disk_loss` fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupSpec>,
    /// Region of each node of a shard, primary first (cycled when shorter; default all in `region`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement: Vec<String>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Failover: `{ detect_after: 10s }`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FailoverSpec {
    /// How long a primary is down before a follower is promoted.
    pub detect_after: Duration,
}

/// Backups: `{ every: 1h, restore_time: 10m }`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupSpec {
    /// Time between backups (the first at `every`).
    pub every: Duration,
    /// How long restoring a shard from its backup takes (the shard is down meanwhile).
    pub restore_time: Duration,
}

/// What a database gives up under a partition (CAP).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// Consistent, not available on the minority side.
    #[default]
    Strong,
    /// Available on every side, stale reads and conflicting writes.
    Eventual,
}

/// How keys are spread over shards.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    /// hash(key) mod shards.
    #[default]
    Hash,
    /// Contiguous key ranges of equal width.
    Range,
    /// A lookup table (one extra hop per request).
    Directory,
    /// A hash ring with `vnodes` points per shard.
    ConsistentHash(VnodesSpec),
}

/// Ring points per shard.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VnodesSpec {
    /// Points per shard (default 100).
    #[serde(default = "hundred")]
    pub vnodes: u32,
}

fn hundred() -> u32 {
    100
}

/// How writes reach a shard's followers.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Replication {
    /// The primary answers at once; followers apply the write after `replication_lag`.
    #[default]
    Async,
    /// The primary answers once every follower has applied the write.
    Sync,
    /// Dynamo-style: `n` equal nodes per shard, a write waits for `w`, a read asks `r`.
    Quorum(QuorumSpec),
}

/// Quorum sizes.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QuorumSpec {
    /// Nodes holding each key.
    pub n: u32,
    /// Acknowledgements a write waits for.
    pub w: u32,
    /// Nodes a read asks (it returns the newest version among them).
    pub r: u32,
}

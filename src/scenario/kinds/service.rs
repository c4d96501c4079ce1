//! A service: replicas of a server, each with cores and a queue; its calls to other components in order.
//!
//! Everything the scenario layer knows about this kind: its YAML spec,
//! where it runs, the components it sends requests to, and its
//! resolution into the model's config with located errors. The model's
//! behaviour is in `crate::model`; the registration is one line in
//! [`super`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Edge, Home, Kind, one};
use crate::model::CompCfg;
use crate::model::resilience::CallPolicy;
use crate::model::service::LoadDependence;
use crate::model::service::{EdgeCfg, ServiceCfg, StateCfg, StepCfg};
use crate::scenario::dist::{DistSpec, Sampler};
use crate::scenario::limits::*;
use crate::scenario::spec::*;
use crate::scenario::units::Duration;
use crate::scenario::validate::{Checker, Scope, call_policy};
use serde::Deserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Service time that grows with load: `{ linear: 0.05 }` multiplies it by 1 + 0.05·x,
/// `{ exponential: 0.02 }` by e^(0.02·x), where x is the replica's concurrency (requests it holds)
/// or, with `on: utilization`, its busy cores ÷ cores.
#[serde_with::skip_serializing_none]
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoadDependenceSpec {
    /// Slope of a linear slowdown.
    #[serde(default)]
    pub linear: Option<f64>,
    /// Rate of an exponential slowdown.
    #[serde(default)]
    pub exponential: Option<f64>,
    /// What x is: `concurrency` (default) or `utilization`.
    #[serde(default)]
    pub on: LoadMeasure,
}

/// A service: `replicas`, each with `cores` and its own FIFO queue.
#[serde_with::skip_serializing_none]
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
    #[serde(default)]
    pub overhead: Option<DistSpec>,
    /// Waiting requests a replica holds (not counting those in service); full → rejected. Default unbounded.
    #[serde(default)]
    pub queue_capacity: Option<u64>,
    /// `fifo` (default) or `processor_sharing`.
    #[serde(default)]
    pub discipline: Discipline,
    /// Requests a replica holds from arrival to response, downstream waits included.
    #[serde(default)]
    pub max_concurrency: Option<u32>,
    /// Downstream calls made after the service time, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallStep>,
    /// Cost of one replica per hour.
    #[serde(default)]
    pub price_per_hour: Option<f64>,
    /// Service time grows with load (GC pressure, lock contention).
    #[serde(default)]
    pub load_dependence: Option<LoadDependenceSpec>,
    /// Time a replica added by an autoscaler, or restarted by a probe or a deploy, takes before it serves (default 0).
    #[serde(default)]
    pub startup_time: Option<Duration>,
    /// Where users' sessions live: `stateless` (default), `stateful` (replica memory), or `{ store: NAME }`.
    #[serde(default)]
    pub state: Option<StateSpec>,
    /// The extra work of a login when a request finds no session on its replica (default 50ms; used by `stateful` only).
    #[serde(default)]
    pub login_time: Option<DistSpec>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default)]
    pub region: Option<String>,
    /// Kubernetes-style liveness, readiness and startup probes of every replica (default none).
    #[serde(default)]
    pub probes: Option<super::probes::ProbesSpec>,
    /// Time a replica restarted by its liveness or startup probe takes before its process runs again (default 1s);
    /// its `startup_time` then passes before it answers. Needs `probes`.
    #[serde(default)]
    pub restart_time: Option<Duration>,
    /// How a `{ at, deploy: NAME }` event replaces its replicas with a new version: rolling, blue-green or canary (each replica restarts in `startup_time`).
    #[serde(default)]
    pub deploy: Option<super::deploy::DeploySpec>,
    /// Register the replicas with a `registry`: `{ registry: reg, heartbeat: 30s }`;
    /// each replica that is up heartbeats every `heartbeat` (default: not registered).
    #[serde(default)]
    pub discovery: Option<super::registry::RegisterSpec>,
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
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum ServiceTime {
    /// The same for every operation.
    All(DistSpec),
    /// Per operation; a missing one falls back to the other.
    PerOp {
        /// Reads.
        #[serde(default)]
        read: Option<DistSpec>,
        /// Writes.
        #[serde(default)]
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
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct CallEdge {
    /// The component called.
    pub target: String,
    /// Chance the call is made at all (default 1).
    #[serde(default)]
    pub probability: Option<f64>,
    /// Only for requests of this operation.
    #[serde(default)]
    pub on: Option<Op>,
    /// Give up on an attempt after this long (the request then fails, or the call is retried).
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Retry failed and timed-out calls.
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// Fail calls at once while the target keeps failing.
    #[serde(default)]
    pub circuit_breaker: Option<BreakerSpec>,
    /// Writes sent on this call carry an idempotency key.
    #[serde(default)]
    pub idempotent: Option<bool>,
    /// Graceful degradation: when this call fails (an error, a timeout, an
    /// open breaker) the request goes on without it, as a fallback answer;
    /// a failed `cache_aside` cache is skipped for its backend instead.
    #[serde(default)]
    pub optional: Option<bool>,
    /// At most this many calls in flight on this edge per replica of the caller.
    #[serde(default)]
    pub bulkhead: Option<BulkheadSpec>,
}

/// A semaphore bulkhead on a call edge (the pattern of Nygard's "Release It!",
/// as Resilience4j's `Bulkhead` implements it): `{ max_concurrent: 10 }`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BulkheadSpec {
    /// Calls in flight at once on this edge, per replica of the calling
    /// service (at least 1). A call beyond it fails at once, without being
    /// sent, like an open breaker's fast failure: an `optional` call is left
    /// out, any other fails its request. A slot is held from the send until
    /// the answer or the timeout, and freed when the replica crashes or restarts.
    pub max_concurrent: u32,
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
            bulkhead: None,
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
        let bulkhead = g.subschema_for::<BulkheadSpec>();
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
                                      "description": "Graceful degradation: a failed call does not fail the request, which goes on without it (a failed cache_aside cache is skipped for its backend)." },
                        "bulkhead": { "anyOf": [bulkhead, { "type": "null", "description": "No limit (the default)." }] }
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
    "bulkhead",
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
            "bulkhead" => e.bulkhead = m.next_value()?,
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

impl Kind for ServiceSpec {
    fn home(&self) -> Home<'_> {
        Home::region(self.region.as_ref())
    }

    fn edges(&self, name: &str) -> Vec<Edge<'_>> {
        let mut out = Vec::new();
        for (k, step) in self.calls.iter().enumerate() {
            let calls: Vec<(String, &CallEdge)> = match step {
                CallStep::Call(e) => vec![(format!("calls.{k}"), e)],
                CallStep::Parallel { parallel } => parallel
                    .iter()
                    .enumerate()
                    .map(|(j, e)| (format!("calls.{k}.parallel.{j}"), e))
                    .collect(),
            };
            for (field, e) in calls {
                // Calling itself is refused where the calls are resolved.
                if e.target != name {
                    out.push(Edge {
                        field,
                        target: &e.target,
                        reads: e.on != Some(Op::Write),
                    });
                }
            }
        }
        out
    }

    fn instances(&self) -> Option<u32> {
        Some(self.replicas.clamp(1, MAX_REPLICAS))
    }

    fn flows(&self, c: &CompCfg, _cfg: &crate::model::Config) -> (Vec<super::forecast::Flow>, Option<f64>) {
        (theory::flows(c), None)
    }

    fn side_flows(&self, c: &CompCfg, reads: f64, hit: &[Option<f64>]) -> Vec<(usize, f64)> {
        theory::side_flows(c, reads, hit)
    }

    fn forecast(
        &self,
        c: &CompCfg,
        reads: f64,
        writes: f64,
        s: &super::forecast::Setting,
    ) -> super::forecast::Forecast {
        theory::forecast(c, reads, writes, s)
    }

    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg {
        let s = self;
        let aside = |target: &str| match cx.sc.components.get(target) {
            Some(ComponentSpec::Cache(k)) if k.read_policy == ReadPolicy::CacheAside => {
                cx.comp_id(&k.backend)
            }
            _ => None,
        };
        let mut cfg = service(ck, p, name, s, &|t: &str| cx.comp_id(t), &|| cx.known(), &aside);
        if let CompCfg::Service(svc) = &mut cfg {
            svc.registry = super::registry::registration(ck, cx, s.discovery.as_ref(), s.replicas, p);
            match &s.state {
                None | Some(StateSpec::Stateless) => {}
                Some(StateSpec::Stateful) => {
                    let login_time = match &s.login_time {
                        Some(d) => ck
                            .sampler(&format!("{p}.login_time"), d)
                            .unwrap_or_else(|| Sampler::constant(0)),
                        None => Sampler::constant(50_000_000),
                    };
                    svc.state = StateCfg::Stateful {
                        login_time,
                        users: cx.identity_base.clamp(1, 1 << 24) as u32,
                    };
                }
                Some(StateSpec::Store(store)) => match cx.sc.components.get(store) {
                    Some(
                        ComponentSpec::Cache(_) | ComponentSpec::Database(_) | ComponentSpec::Consensus(_),
                    ) => {
                        svc.state = StateCfg::Store;
                        let target = cx.comp_id(store).unwrap_or(0);
                        svc.calls.insert(
                            0,
                            StepCfg {
                                edges: vec![EdgeCfg {
                                    target,
                                    probability: 1.0,
                                    on: None,
                                    policy: CallPolicy::default(),
                                    aside: None,
                                    optional: false,
                                    bulkhead: 0,
                                    target_name: store.clone(),
                                    session: true,
                                }],
                            },
                        );
                    }
                    Some(other) => ck.err(
                        format!("{p}.state.store"),
                        format!(
                            "`{store}` is {}; sessions live in a cache or a database",
                            other.a_kind()
                        ),
                    ),
                    None => ck.err(
                        format!("{p}.state.store"),
                        format!("no component named `{store}` (components are {})", cx.known()),
                    ),
                },
            }
        }
        cfg
    }
}

pub(crate) fn speeds(s: &Speed, replicas: u32) -> Vec<f64> {
    match s {
        Speed::All(v) => vec![*v; replicas as usize],
        Speed::PerReplica(v) => {
            let mut v = v.clone();
            v.resize(replicas as usize, 1.0);
            v
        }
    }
}

pub(crate) fn service(
    ck: &mut Checker,
    p: &str,
    name: &str,
    s: &ServiceSpec,
    comp_id: &dyn Fn(&str) -> Option<u32>,
    known: &dyn Fn() -> String,
    aside: &dyn Fn(&str) -> Option<u32>,
) -> CompCfg {
    if s.replicas == 0 {
        ck.err(format!("{p}.replicas"), "a service needs at least 1 replica");
    } else if s.replicas > MAX_REPLICAS {
        ck.err(
            format!("{p}.replicas"),
            format!(
                "at most {MAX_REPLICAS} replicas can be simulated, found {}",
                s.replicas
            ),
        );
    }
    if s.cores > MAX_CORES {
        ck.err(
            format!("{p}.cores"),
            format!("at most {MAX_CORES} cores per replica, found {}", s.cores),
        );
    }
    if s.cores == 0 {
        ck.err(format!("{p}.cores"), "a replica needs at least 1 core");
    }
    match &s.speed {
        Speed::All(v) => ck.positive_f64(&format!("{p}.speed"), *v, "speed"),
        Speed::PerReplica(v) => {
            if v.len() != s.replicas as usize {
                ck.err(
                    format!("{p}.speed"),
                    format!(
                        "expected one speed per replica ({}), found {}",
                        s.replicas,
                        v.len()
                    ),
                );
            }
            for (i, x) in v.iter().enumerate() {
                ck.positive_f64(&format!("{p}.speed.{i}"), *x, "speed");
            }
        }
    }
    let (read, write) = match &s.service_time {
        ServiceTime::All(d) => {
            let x = ck.sampler(&format!("{p}.service_time"), d);
            (x.clone(), x)
        }
        ServiceTime::PerOp { read, write } => {
            let r = read
                .as_ref()
                .and_then(|d| ck.sampler(&format!("{p}.service_time.read"), d));
            let w = write
                .as_ref()
                .and_then(|d| ck.sampler(&format!("{p}.service_time.write"), d));
            (r.clone().or_else(|| w.clone()), w.or(r))
        }
    };
    if s.max_concurrency == Some(0) {
        ck.err(
            format!("{p}.max_concurrency"),
            "max_concurrency must be at least 1",
        );
    }
    if let Some(price) = s.price_per_hour
        && !(price.is_finite() && price >= 0.0)
    {
        ck.err(format!("{p}.price_per_hour"), "a price must be zero or positive");
    }
    let mut steps = Vec::new();
    for (i, step) in s.calls.iter().enumerate() {
        let edges: Vec<(String, &CallEdge)> = match step {
            CallStep::Call(e) => vec![(format!("{p}.calls.{i}"), e)],
            CallStep::Parallel { parallel } => {
                if parallel.is_empty() {
                    ck.err(
                        format!("{p}.calls.{i}.parallel"),
                        "a parallel step needs at least one call",
                    );
                }
                parallel
                    .iter()
                    .enumerate()
                    .map(|(j, e)| (format!("{p}.calls.{i}.parallel.{j}"), e))
                    .collect()
            }
        };
        let mut out = Vec::new();
        for (ep, e) in edges {
            let target = match comp_id(&e.target) {
                Some(_) if e.target == name => {
                    ck.err(format!("{ep}.target"), format!("`{name}` cannot call itself"));
                    0
                }
                Some(id) => id,
                None => {
                    ck.err(
                        format!("{ep}.target"),
                        format!("no component named `{}` (components are {})", e.target, known()),
                    );
                    0
                }
            };
            let probability = e.probability.unwrap_or(1.0);
            if !(0.0..=1.0).contains(&probability) {
                ck.err(
                    format!("{ep}.probability"),
                    format!("a probability must be between 0 and 1, found {probability}"),
                );
            }
            let policy = call_policy(
                ck,
                &ep,
                e.timeout,
                e.retry.as_ref(),
                e.circuit_breaker.as_ref(),
                e.idempotent,
            );
            out.push(EdgeCfg {
                target,
                probability,
                on: e.on,
                policy,
                aside: aside(&e.target),
                optional: e.optional.unwrap_or(false),
                bulkhead: bulkhead_limit(ck, &ep, e.bulkhead.as_ref()),
                target_name: e.target.clone(),
                session: false,
            });
        }
        steps.push(StepCfg { edges: out });
    }
    if steps.len() >= usize::from(u16::MAX) {
        ck.err(format!("{p}.calls"), "too many call steps");
    }
    let replicas = s.replicas.clamp(1, MAX_REPLICAS);
    let deploy = s.deploy.as_ref().map(|d| {
        let zero = Sampler::constant(0);
        let r = read.clone().unwrap_or_else(|| zero.clone());
        let w = write.clone().or_else(|| read.clone()).unwrap_or(zero);
        Box::new(super::deploy::resolve(ck, p, d, replicas, &r, &w))
    });
    // A deploy's extra replicas (surge, the green set, the canary) run in spare slots.
    let pool = replicas + deploy.as_ref().map_or(0, |d| d.extra_slots(replicas));
    if pool > MAX_REPLICAS {
        ck.err(
            format!("{p}.deploy"),
            format!("the deploy's extra replicas would take the service past {MAX_REPLICAS} replicas"),
        );
    }
    let pool = pool.min(MAX_REPLICAS);
    let mut speeds = speeds(&s.speed, replicas);
    speeds.resize(pool as usize, *speeds.last().unwrap_or(&1.0));
    CompCfg::Service(ServiceCfg {
        name: name.to_string(),
        replicas: s.replicas.clamp(1, MAX_REPLICAS),
        cores: s.cores.clamp(1, MAX_CORES),
        speeds,
        read_time: read.clone().unwrap_or_else(|| Sampler::constant(0)),
        write_time: write.unwrap_or_else(|| read.unwrap_or_else(|| Sampler::constant(0))),
        queue_capacity: s.queue_capacity.unwrap_or(u64::MAX),
        discipline: s.discipline,
        max_concurrency: s.max_concurrency.unwrap_or(u32::MAX).max(1),
        calls: steps,
        price_per_hour: s.price_per_hour.unwrap_or(0.0),
        pool,
        deploy,
        startup_time: s.startup_time.map_or(0, |d| d.as_nanos()),
        autoscale: None,
        balancers: Vec::new(),
        state: StateCfg::Stateless,
        fronted: false,
        load_cv_series: false,
        registry: None,
        overhead: s
            .overhead
            .as_ref()
            .and_then(|d| ck.sampler(&format!("{p}.overhead"), d)),
        probes: super::probes::resolve(ck, p, s.probes.as_ref(), s.restart_time),
        load_dependence: s.load_dependence.and_then(|l| {
            let lp = format!("{p}.load_dependence");
            match (l.linear, l.exponential) {
                (Some(f), None) if f.is_finite() && f >= 0.0 => Some(LoadDependence::Linear(f, l.on)),
                (None, Some(f)) if f.is_finite() && f >= 0.0 => Some(LoadDependence::Exponential(f, l.on)),
                (Some(f), None) | (None, Some(f)) => {
                    ck.err(
                        lp,
                        format!("a load-dependence factor must be zero or positive, found {f}"),
                    );
                    None
                }
                _ => {
                    ck.err(lp, "give exactly one of `linear` or `exponential`");
                    None
                }
            }
        }),
    })
}

/// `explain` for a service: calls pass on what they carry; each replica is
/// an M/G/c queue, pooled behind a load-aware balancer.
pub(crate) mod theory {
    use crate::model::service::ServiceCfg;
    use crate::model::{CompCfg, Config};
    use crate::scenario::kinds::forecast::{Flow, Forecast, Setting, mgc_wait, time_average};
    use crate::scenario::spec::{Algorithm, Op};

    /// Each call edge passes its probability of the operations it is `on`.
    pub fn flows(c: &CompCfg) -> Vec<Flow> {
        let CompCfg::Service(s) = c else { return Vec::new() };
        let mut out = Vec::new();
        for st in &s.calls {
            for e in &st.edges {
                let (r, w) = match e.on {
                    Some(Op::Read) => (e.probability, 0.0),
                    Some(Op::Write) => (0.0, e.probability),
                    None => (e.probability, e.probability),
                };
                out.push(Flow {
                    to: e.target as usize,
                    reads: r,
                    writes: w,
                });
            }
        }
        out
    }

    /// A cache-aside cache's misses are read by the calling service from
    /// the cache's backend.
    pub fn side_flows(c: &CompCfg, reads: f64, hit: &[Option<f64>]) -> Vec<(usize, f64)> {
        let CompCfg::Service(s) = c else { return Vec::new() };
        let mut out = Vec::new();
        for st in &s.calls {
            for e in &st.edges {
                if let (Some(b), Some(h)) = (e.aside, hit[e.target as usize]) {
                    out.push((b as usize, reads * e.probability * (1.0 - h)));
                }
            }
        }
        out
    }

    /// Erlang C with the Allen–Cunneen correction per replica (or pooled);
    /// an autoscaled service at the count its rule settles on; batches;
    /// unequal replicas behind a static balancer.
    pub fn forecast(c: &CompCfg, r: f64, w: f64, st: &Setting) -> Forecast {
        let CompCfg::Service(s) = c else {
            return Forecast::default();
        };
        service(s, r, w, st)
    }

    fn service(s: &ServiceCfg, r: f64, w: f64, st: &Setting) -> Forecast {
        let cfg: &Config = st.cfg;
        let id = st.id;
        let mut t = Forecast::default();
        let lambda = r + w;
        let mean = if lambda > 0.0 {
            (r * s.read_time.mean_ns() + w * s.write_time.mean_ns()) / lambda / 1e9
        } else {
            s.read_time.mean_ns() / 1e9
        };
        // An autoscaled service runs, at this load, about the count
        // its rule settles on: the HPA's ceil(work ÷ (cores × target))
        // for CPU, ceil(rate ÷ target) for a request rate, the
        // time-weighted count for a schedule; within min and max.
        let work = lambda * (mean + s.overhead.as_ref().map_or(0.0, |o| o.mean_ns() / 1e9))
            / f64::from(s.cores.max(1));
        let scaled = s.autoscale.as_ref().and_then(|a| {
            use crate::model::autoscale::{Metric, Policy};
            let want = match &a.policy {
                Policy::TargetTracking(h) | Policy::Predictive { hpa: h, .. } => match h.metric {
                    Metric::Cpu => Some(work / h.target.max(1e-9)),
                    Metric::RequestRate => Some(lambda / h.target.max(1e-9)),
                    _ => None,
                },
                Policy::Threshold {
                    metric: Metric::Cpu,
                    up_above,
                    ..
                } => Some(work / up_above.max(1e-9)),
                Policy::Threshold { .. } => None,
                Policy::Schedule(steps) => Some(time_average(
                    f64::from(s.replicas),
                    steps.iter().map(|&(t, k)| (t, f64::from(k))),
                    cfg.duration,
                )),
            }?;
            Some((want.ceil().max(1.0) as u32).clamp(a.min.max(1), a.max.max(1)))
        });
        let replicas = scaled.unwrap_or(s.replicas).max(1);
        let speed = (0..replicas as usize)
            .map(|i| s.speeds.get(i).copied().unwrap_or(1.0))
            .sum::<f64>()
            / f64::from(replicas);
        let mean = mean / speed.max(1e-9);
        let scv = if w > r {
            s.write_time.scv()
        } else {
            s.read_time.scv()
        };
        // Behind a load-aware balancer the replicas act as one pool
        // (join the shortest queue: close to M/M/(replicas × cores));
        // otherwise each replica gets its share of the stream.
        let pooled = cfg.components.iter().any(|b| {
            matches!(b, CompCfg::Balancer(b) if b.backend as usize == id
                && matches!(b.algorithm, Algorithm::LeastConnections | Algorithm::PowerOfTwo | Algorithm::LeastTime))
        });
        let (per, servers) = if pooled {
            (lambda, s.cores * replicas)
        } else {
            (lambda / f64::from(replicas), s.cores)
        };
        // Fixed work per call (`overhead`); a batched queue's
        // consumer pays it once per batch.
        let overhead = s.overhead.as_ref().map_or(0.0, |o| o.mean_ns() / 1e9) / speed.max(1e-9);
        let batched = cfg.components.iter().find_map(|q| match q {
            CompCfg::Queue(q)
                if q.batch > 1
                    && (q.consumer as usize == id || q.consumer_service.map(|c| c as usize) == Some(id)) =>
            {
                Some((f64::from(q.batch), q.max_wait as f64 / 1e9))
            }
            _ => None,
        });
        if let Some((size, max_wait)) = batched {
            // A batch is what arrives while it lingers, or while a
            // worker is busy with the last one: n = λ/c·(a + s·n).
            let per_worker = lambda / f64::from(servers);
            let busy = if per_worker * mean < 1.0 {
                per_worker * overhead / (1.0 - per_worker * mean)
            } else {
                f64::INFINITY
            };
            let n = (1.0 + lambda * max_wait).max(busy).clamp(1.0, size);
            let util = (lambda / n * (overhead + n * mean) / f64::from(servers)).min(1.0);
            // Capacity is set by full batches: load against that
            // decides stability and the bottleneck.
            let load = lambda * (overhead / size + mean) / f64::from(servers);
            t.utilization = Some(util);
            t.model = format!(
                "batched, ≈ {n:.1} messages a call; full batches of {size} carry {:.0}/s",
                f64::from(servers) * size / (overhead + size * mean)
            );
            // Waits for a batch to fill are not modelled: no
            // latency prediction when a client waits on a batch.
            if st.sync > 0.0 || load >= 1.0 {
                t.latency_unknown = true;
            }
            t.load = Some(load);
            return t;
        }
        // A static balancer (round robin, random, weights) ignores
        // speed: each replica gets its share whatever its pace, so
        // the slowest (or heaviest-weighted) one saturates first.
        let reps = replicas as usize;
        let speeds: Vec<f64> = (0..reps)
            .map(|i| s.speeds.get(i).copied().unwrap_or(1.0).max(1e-9))
            .collect();
        let weights: Vec<f64> = cfg
            .components
            .iter()
            .find_map(|b| match b {
                CompCfg::Balancer(b)
                    if b.backend as usize == id && b.algorithm == Algorithm::WeightedRoundRobin =>
                {
                    Some(
                        (0..reps)
                            .map(|i| b.weights.get(i).copied().unwrap_or(1.0))
                            .collect(),
                    )
                }
                _ => None,
            })
            .unwrap_or_else(|| vec![1.0; reps]);
        let uneven = speeds.iter().any(|&x| (x - speeds[0]).abs() > 1e-12)
            || weights.iter().any(|&x| (x - weights[0]).abs() > 1e-12);
        if !pooled && reps > 1 && uneven {
            let total: f64 = weights.iter().sum::<f64>().max(1e-12);
            let (raw, raw_over) = (mean * speed, overhead * speed);
            let (mut busy, mut worst, mut worst_i, mut resp) = (0.0, 0.0f64, 0, Some(0.0));
            for i in 0..reps {
                let share = weights[i] / total;
                let m = (raw + raw_over) / speeds[i];
                let u = lambda * share * m / f64::from(s.cores.max(1));
                busy += u / reps as f64;
                if u > worst {
                    (worst, worst_i) = (u, i);
                }
                resp = match (resp, mgc_wait(lambda * share, m, scv, s.cores.max(1))) {
                    (Some(acc), Some(wq)) if u < 1.0 => Some(acc + share * (wq + m)),
                    _ if share == 0.0 => resp,
                    _ => None,
                };
            }
            t.utilization = Some(busy);
            t.response_ms = resp.map(|x| x * 1e3);
            t.model = if worst < 1.0 {
                format!(
                    "M/G/{} per replica, static shares; busiest replica {worst_i} at {:.0}%",
                    s.cores,
                    worst * 100.0
                )
            } else {
                t.latency_unknown = true;
                format!(
                    "overloaded: replica {worst_i} gets its share at its speed ({:.0}%); a load-aware balancer would pool them",
                    worst * 100.0
                )
            };
            t.load = Some(worst);
            return t;
        }
        let mean = mean + overhead;
        let util = per * mean / f64::from(servers);
        t.utilization = Some(util);
        let mut capacity_load = None;
        if util < 1.0 {
            let wq = mgc_wait(per, mean, scv, servers);
            t.wait_ms = wq.map(|x| x * 1e3);
            t.response_ms = wq.map(|x| (x + mean) * 1e3);
            t.model = if (scv - 1.0).abs() < 1e-9 {
                format!("M/M/{}", s.cores)
            } else if servers == 1 {
                "M/G/1 (P-K)".into()
            } else {
                format!("M/G/{} (Allen–Cunneen)", s.cores)
            };
            if replicas > 1 && pooled {
                t.model = format!(
                    "≈ pooled {} (load-aware balancer)",
                    t.model
                        .replace(&format!("/{}", s.cores), &format!("/{}", servers))
                );
            } else if replicas > 1 {
                t.model.push_str(&format!(" ×{replicas}"));
            }
            if let (Some(_), Some(a)) = (scaled, &s.autoscale) {
                t.model
                    .push_str(&format!(", autoscaled to ≈ {replicas} replicas"));
                capacity_load = Some(util * f64::from(replicas) / f64::from(a.max.max(1)));
            }
        } else {
            t.model = "overloaded".into();
            t.latency_unknown = true;
        }
        if let Some(d) = &s.deploy {
            t.model
                .push_str(&crate::scenario::kinds::deploy::explain(d, replicas, util));
        }
        t.load = capacity_load.or(t.utilization);
        t
    }
}

/// A call edge's bulkhead limit (0: none).
fn bulkhead_limit(ck: &mut Checker, ep: &str, b: Option<&BulkheadSpec>) -> u32 {
    match b {
        None => 0,
        Some(b) if b.max_concurrent == 0 => {
            ck.err(
                format!("{ep}.bulkhead.max_concurrent"),
                "a bulkhead must let at least 1 call through (max_concurrent ≥ 1)",
            );
            0
        }
        Some(b) => b.max_concurrent,
    }
}

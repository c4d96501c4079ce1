//! A key-value cache in front of a backend (cache-aside, read-through; write policies).
//!
//! Everything the scenario layer knows about this kind: its YAML spec,
//! where it runs, the components it sends requests to, and its
//! resolution into the model's config with located errors. The model's
//! behaviour is in `crate::model`; the registration is one line in
//! [`super`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::forecast::{Flow, Forecast, Setting};
use super::{Edge, Home, Kind, one};
use crate::model::CompCfg;
use crate::model::cache::CacheCfg;
use crate::model::store::Policy;
use crate::scenario::dist::{DistSpec, Sampler};
use crate::scenario::limits::*;
use crate::scenario::spec::*;
use crate::scenario::units::Duration;
use crate::scenario::validate::{Checker, Scope};

/// A key-value cache (SPEC §2 `cache`).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// Entries each node holds.
    pub capacity: u64,
    /// What is pushed out when a node is full (default `lru`).
    #[serde(default)]
    pub eviction: Eviction,
    /// Entries expire this long after they were written (not reset by reads).
    #[serde(default)]
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
    #[serde(default)]
    pub hit_time: Option<DistSpec>,
    /// Nodes of a sharded cache cluster (keys hashed over them); `capacity` is per node.
    #[serde(default = "one")]
    pub nodes: u32,
    /// `write_back`: how often dirty entries are written to the backend (default 1s).
    #[serde(default)]
    pub flush_interval: Option<Duration>,
    /// Cost of one node per hour.
    #[serde(default)]
    pub price_per_hour: Option<f64>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default)]
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

impl Kind for CacheSpec {
    fn home(&self) -> Home<'_> {
        Home::region(self.region.as_ref())
    }

    fn edges(&self, _name: &str) -> Vec<Edge<'_>> {
        vec![Edge::new("backend", &self.backend)]
    }

    fn instances(&self) -> Option<u32> {
        Some(self.nodes.clamp(1, MAX_REPLICAS))
    }

    fn flows(&self, c: &CompCfg, cfg: &crate::model::Config) -> (Vec<Flow>, Option<f64>) {
        super::cache::flows(c, cfg)
    }

    fn forecast(&self, c: &CompCfg, _r: f64, _w: f64, _s: &Setting) -> Forecast {
        super::cache::forecast(c)
    }

    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg {
        let k = self;
        let backend = backend_of(ck, cx, p, "backend", name, &k.backend);
        if let Some(ComponentSpec::Cache(b)) = cx.sc.components.get(&k.backend)
            && b.read_policy == ReadPolicy::CacheAside
        {
            ck.err(
                format!("{p}.backend"),
                format!(
                    "`{}` is a cache_aside cache: only a service can fill it; use read_through there",
                    k.backend
                ),
            );
        }
        if k.nodes == 0 || k.nodes > MAX_REPLICAS {
            ck.err(
                format!("{p}.nodes"),
                format!("nodes must be between 1 and {MAX_REPLICAS}, found {}", k.nodes),
            );
        }
        let capacity = cache_capacity(ck, p, k.capacity);
        if u64::from(k.nodes.max(1)).saturating_mul(k.capacity) > MAX_CACHE_ENTRIES
            && k.capacity <= MAX_CACHE_ENTRIES
        {
            ck.err(
                format!("{p}.nodes"),
                format!(
                    "nodes × capacity may be at most {MAX_CACHE_ENTRIES} entries, found {} × {}",
                    k.nodes, k.capacity
                ),
            );
        }
        if k.write_policy == WritePolicy::WriteBack
            && let Some(d) = k.flush_interval
        {
            ck.period(
                &format!("{p}.flush_interval"),
                d.as_nanos(),
                "a flush interval",
                "a flush interval must be longer than zero",
            );
        }
        let hit_time = match &k.hit_time {
            Some(d) => ck.sampler(&format!("{p}.hit_time"), d),
            None => Some(Sampler::constant(200_000)),
        }
        .unwrap_or_else(|| Sampler::constant(0));
        price(ck, p, k.price_per_hour);
        CompCfg::Cache(CacheCfg {
            name: name.to_string(),
            kind: "cache",
            nodes: k.nodes.clamp(1, MAX_REPLICAS),
            capacity,
            policy: policy(k.eviction),
            ttl: ttl(ck, p, k.ttl),
            read_policy: k.read_policy,
            write_policy: k.write_policy,
            backend,
            hit_time,
            backend_latency: None,
            flush_interval: k.flush_interval.map_or(1_000_000_000, |d| d.as_nanos().max(1)),
            source: cx.source_db(&k.backend),
            key_space: cx.key_space,
            price_per_hour: k.price_per_hour.unwrap_or(0.0),
        })
    }
}

pub(crate) fn price(ck: &mut Checker, p: &str, price: Option<f64>) {
    if let Some(x) = price
        && !(x.is_finite() && x >= 0.0)
    {
        ck.err(format!("{p}.price_per_hour"), "a price must be zero or positive");
    }
}

pub(crate) fn ttl(ck: &mut Checker, p: &str, ttl: Option<Duration>) -> Option<u64> {
    if ttl.is_some_and(|t| t.is_zero()) {
        ck.err(
            format!("{p}.ttl"),
            "a ttl must be longer than zero (omit it for no expiry)",
        );
    }
    ttl.map(|t| t.as_nanos().max(1))
}

pub(crate) fn cache_capacity(ck: &mut Checker, p: &str, capacity: u64) -> u32 {
    if capacity == 0 || capacity > MAX_CACHE_ENTRIES {
        ck.err(
            format!("{p}.capacity"),
            format!("capacity must be between 1 and {MAX_CACHE_ENTRIES} entries, found {capacity}"),
        );
    }
    capacity.clamp(1, MAX_CACHE_ENTRIES) as u32
}

pub(crate) fn policy(e: Eviction) -> Policy {
    match e {
        Eviction::Lru => Policy::Lru,
        Eviction::Lfu => Policy::Lfu,
        Eviction::Fifo => Policy::Fifo,
        Eviction::Random => Policy::Random,
    }
}

/// Resolve a cache's backend (or a CDN's origin): any component but itself.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backend_of(
    ck: &mut Checker,
    cx: &Scope,
    p: &str,
    field: &str,
    name: &str,
    target: &str,
) -> u32 {
    match cx.comp_id(target) {
        Some(_) if target == name => {
            ck.err(
                format!("{p}.{field}"),
                format!("`{name}` cannot be its own {field}"),
            );
            0
        }
        Some(id) => id,
        None => {
            ck.err(
                format!("{p}.{field}"),
                format!("no component named `{target}` (components are {})", cx.known()),
            );
            0
        }
    }
}

/// `explain` for a cache (and a CDN edge): the hit ratio by Che's
/// approximation for LRU over the first client's key popularity (ignoring
/// TTL and writes); misses and writes go to the backend (a cache-aside
/// cache's misses are read by the calling service instead).
pub(crate) fn flows(c: &CompCfg, cfg: &crate::model::Config) -> (Vec<Flow>, Option<f64>) {
    let CompCfg::Cache(k) = c else {
        return (Vec::new(), None);
    };
    let h = cfg
        .clients
        .first()
        .map(|c| c.keys)
        .and_then(|ks| super::forecast::lru_hit(&ks, f64::from(k.capacity) * f64::from(k.nodes.max(1))))
        .unwrap_or(0.0);
    let miss = if k.read_policy == ReadPolicy::CacheAside {
        0.0
    } else {
        1.0 - h
    };
    (
        vec![Flow {
            to: k.backend as usize,
            reads: miss,
            writes: 1.0,
        }],
        Some(h),
    )
}

/// A hit's time.
pub(crate) fn forecast(c: &CompCfg) -> Forecast {
    let CompCfg::Cache(k) = c else {
        return Forecast::default();
    };
    Forecast {
        response_ms: Some(k.hit_time.mean_ns() / 1e6),
        model: "hit ratio by Che (LRU), first client's keys".into(),
        ..Forecast::default()
    }
}

//! A CDN edge: a read-through cache of static content in front of an origin.
//!
//! Everything the scenario layer knows about this kind: its YAML spec,
//! where it runs, the components it sends requests to, and its
//! resolution into the model's config with located errors. The model's
//! behaviour is in `crate::model`; the registration is one line in
//! [`super`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cache::{backend_of, cache_capacity, policy, price, ttl};
use super::forecast::{Flow, Forecast, Setting};
use super::{Edge, Home, Kind};
use crate::model::CompCfg;
use crate::model::cache::CacheCfg;
use crate::scenario::dist::{DistSpec, Sampler};
use crate::scenario::spec::*;
use crate::scenario::units::Duration;
use crate::scenario::validate::{Checker, Scope};

/// An edge cache for static content (SPEC §2 `cdn`).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CdnSpec {
    /// Objects the edge holds.
    pub capacity: u64,
    /// What is pushed out when the edge is full (default `lru`).
    #[serde(default)]
    pub eviction: Eviction,
    /// Objects expire this long after they were fetched.
    #[serde(default)]
    pub ttl: Option<Duration>,
    /// Where misses are fetched from.
    pub origin: String,
    /// Time to answer from the edge (default 1ms).
    #[serde(default)]
    pub hit_time: Option<DistSpec>,
    /// Extra one-way latency from the edge to the origin (the distance the CDN saves; default 0).
    #[serde(default)]
    pub origin_latency: Option<DistSpec>,
    /// Cost of the edge per hour.
    #[serde(default)]
    pub price_per_hour: Option<f64>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default)]
    pub region: Option<String>,
}

impl Kind for CdnSpec {
    fn home(&self) -> Home<'_> {
        Home::region(self.region.as_ref())
    }

    fn edges(&self, _name: &str) -> Vec<Edge<'_>> {
        vec![Edge::new("origin", &self.origin)]
    }

    fn instances(&self) -> Option<u32> {
        Some(1)
    }

    fn flows(&self, c: &CompCfg, cfg: &crate::model::Config) -> (Vec<Flow>, Option<f64>) {
        super::cache::flows(c, cfg)
    }

    fn forecast(&self, c: &CompCfg, _r: f64, _w: f64, _s: &Setting) -> Forecast {
        super::cache::forecast(c)
    }

    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg {
        let k = self;
        let backend = backend_of(ck, cx, p, "origin", name, &k.origin);
        let capacity = cache_capacity(ck, p, k.capacity);
        let hit_time = match &k.hit_time {
            Some(d) => ck.sampler(&format!("{p}.hit_time"), d),
            None => Some(Sampler::constant(1_000_000)),
        }
        .unwrap_or_else(|| Sampler::constant(0));
        let backend_latency = k
            .origin_latency
            .as_ref()
            .and_then(|d| ck.sampler(&format!("{p}.origin_latency"), d))
            .filter(|s| !s.is_zero());
        price(ck, p, k.price_per_hour);
        CompCfg::Cache(CacheCfg {
            name: name.to_string(),
            kind: "cdn",
            nodes: 1,
            capacity,
            policy: policy(k.eviction),
            ttl: ttl(ck, p, k.ttl),
            read_policy: ReadPolicy::ReadThrough,
            write_policy: WritePolicy::WriteAround,
            backend,
            hit_time,
            backend_latency,
            flush_interval: 1_000_000_000,
            source: cx.source_db(&k.origin),
            key_space: cx.key_space,
            price_per_hour: k.price_per_hour.unwrap_or(0.0),
        })
    }
}

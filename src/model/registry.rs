//! A service registry (Netflix Eureka, HashiCorp Consul): the instances of
//! the services that name it heartbeat every `heartbeat` (Eureka's lease
//! renewal; Consul's TTL check update), and the registry drops an instance
//! whose last heartbeat is `ttl` old or older (Eureka's lease expiration;
//! Consul marks a TTL check critical when no update arrives within the
//! TTL). The replicas serving when the run starts are registered at time
//! 0; a replica added later registers with its first heartbeat.
//!
//! Clients with `discovery` ask it for a service's live instances every
//! `refresh` (Eureka's registry fetch) and balance over that cached view
//! themselves (client-side discovery). The answer is a bit set of replica
//! slots, so a service found through a registry has at most 64 slots.
//! Expiry is computed when a view is asked for (`now − last ≥ ttl`), so
//! the registry needs no timers; Eureka's periodic eviction task would add
//! up to one eviction interval to the time an instance stays listed.
//!
//! The stale window. An instance crashing at c last heartbeated at
//! c − U·heartbeat (U uniform on [0, 1): heartbeat phases are uniform), so
//! the registry lists it until c − U·heartbeat + ttl; a caller's next
//! refresh after that comes V·refresh later (V uniform, its phase
//! independent of the crash). Requests the caller sends it in between fail
//! (connection refused), for a mean window of ttl − heartbeat/2 +
//! refresh/2 (with ttl ≥ heartbeat and no network delay).

use super::{Component, Ctx, Metrics, Msg, ReportCtx};
use crate::engine::SimTime;
use crate::engine::rng::{self, Rng};

/// No heartbeat seen.
const NEVER: SimTime = SimTime::MAX;

/// A registry's resolved configuration.
#[derive(Clone, Debug)]
pub struct RegistryCfg {
    /// Name in the scenario.
    pub name: String,
    /// An instance without a heartbeat for this long is dropped.
    pub ttl: SimTime,
    /// The services registering here: (component id, replica slots,
    /// replicas serving at the start).
    pub services: Vec<(u32, u32, u32)>,
}

/// A client's client-side discovery, resolved.
#[derive(Clone, Copy, Debug)]
pub struct DiscoveryCfg {
    /// The registry's component id.
    pub registry: u32,
    /// How often the client fetches its target's live instances.
    pub refresh: SimTime,
}

/// A running registry.
pub struct Registry {
    cfg: RegistryCfg,
    net: Rng,
    /// Per registered service, each slot's last heartbeat.
    last: Vec<Vec<SimTime>>,
    heartbeats: u64,
    lookups: u64,
}

impl Registry {
    /// A registry with id `_id`.
    pub fn new(cfg: &RegistryCfg, _id: u32, seed: u64) -> Registry {
        Registry {
            last: cfg
                .services
                .iter()
                .map(|&(_, pool, initial)| (0..pool).map(|i| if i < initial { 0 } else { NEVER }).collect())
                .collect(),
            net: rng::stream(seed, &format!("component/{}/network", cfg.name)),
            cfg: cfg.clone(),
            heartbeats: 0,
            lookups: 0,
        }
    }

    /// The live instances of service `service` at `now`, as a bit set.
    fn view(&self, service: u32, now: SimTime) -> u64 {
        let Some(k) = self.cfg.services.iter().position(|s| s.0 == service) else {
            return 0;
        };
        let mut mask = 0u64;
        for (i, &t) in self.last[k].iter().enumerate().take(64) {
            if t != NEVER && now.saturating_sub(t) < self.cfg.ttl {
                mask |= 1 << i;
            }
        }
        mask
    }
}

impl Component for Registry {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        let now = ctx.now();
        match msg {
            Msg::Heartbeat { service, replica } => {
                if let Some(k) = self.cfg.services.iter().position(|s| s.0 == service)
                    && let Some(t) = self.last[k].get_mut(replica as usize)
                {
                    *t = now;
                    if now >= ctx.warmup {
                        self.heartbeats += 1;
                    }
                }
            }
            Msg::Lookup { from, service } => {
                if now >= ctx.warmup {
                    self.lookups += 1;
                }
                let mask = self.view(service, now);
                ctx.send(&mut self.net, from, Msg::View(mask));
            }
            _ => {}
        }
    }

    fn report(&self, _rc: &ReportCtx, out: &mut Metrics, _notes: &mut Vec<String>) {
        let p = format!("components.{}.", self.cfg.name);
        out.insert(format!("{p}heartbeats"), self.heartbeats as f64);
        out.insert(format!("{p}lookups"), self.lookups as f64);
    }
}

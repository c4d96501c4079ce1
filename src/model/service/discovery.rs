//! A service's side of a registry (`discovery` on the service): every
//! replica slot heartbeats every `heartbeat` at its own phase, drawn
//! uniformly over [0, heartbeat) from the stream
//! `component/<name>/heartbeat`, and the beat reaches the registry only
//! while the replica is up and serving. A crashed replica goes silent, so
//! the registry drops it `ttl` after its last beat; a replica the
//! autoscaler adds registers with its first beat.

use rand::RngExt;

use super::{Ctx, Life, Msg, Service, ServiceCfg, ServiceTimer};
use crate::engine::SimTime;
use crate::engine::rng;

/// Each slot's first heartbeat time (none without a registry).
pub(super) fn phases(cfg: &ServiceCfg, pool: u32, seed: u64) -> Vec<SimTime> {
    let Some((_, every)) = cfg.registry else {
        return Vec::new();
    };
    let mut r = rng::stream(seed, &format!("component/{}/heartbeat", cfg.name));
    (0..pool)
        .map(|_| (r.random::<f64>() * every as f64) as SimTime)
        .collect()
}

impl Service {
    /// Schedules each slot's first heartbeat.
    pub(super) fn start_heartbeats(&mut self, ctx: &mut Ctx) {
        for (i, &t) in self.heartbeat_phase.iter().enumerate() {
            let msg = Msg::timer(ServiceTimer::Heartbeat { replica: i as u32 });
            ctx.sched.at(t, self.id, msg);
        }
    }

    /// Slot `replica`'s heartbeat time: a beat to the registry if it is up
    /// and serving, and the next one.
    pub(super) fn heartbeat(&mut self, replica: u32, ctx: &mut Ctx) {
        let Some((registry, every)) = self.cfg.registry else {
            return;
        };
        if self
            .reps
            .get(replica as usize)
            .is_some_and(|r| !r.down && r.life == Life::Ready)
        {
            let msg = Msg::Heartbeat {
                service: self.id,
                replica,
            };
            ctx.send(&mut self.net, registry, msg);
        }
        if !ctx.draining {
            let msg = Msg::timer(ServiceTimer::Heartbeat { replica });
            ctx.sched.after(every, self.id, msg);
        }
    }
}

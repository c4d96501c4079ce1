//! DNS load balancing across regions (GeoDNS), as managed DNS services
//! such as Route 53 offer it: `geo` answers with the nearest healthy
//! target, `round_robin` rotates over the healthy ones, `failover` gives
//! the first healthy one in the list.
//!
//! A client resolves once and keeps the answer for `ttl` (its resolver's
//! cache): until the answer expires it goes on sending to that target, even
//! a dead one. The DNS learns that a target's region is out `detect_after`
//! the outage starts (its health checks: interval × failure threshold), and
//! that it is back the same time after it ends.
//!
//! The DNS is not on the request path: a resolved request goes from the
//! client straight to its target (the hop is sent as the client, so it
//! pays the client's region-to-target latency), and the answer comes back
//! to the client.

use super::{Component, Ctx, FaultAction, Metrics, Msg, ReportCtx, ReqRef, Timer, TimerWord};
use crate::engine::SimTime;
use crate::engine::rng::{self, Rng};

/// How the DNS answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsPolicy {
    /// The nearest healthy target.
    Geo,
    /// The healthy targets in turn.
    RoundRobin,
    /// The first healthy target in the list.
    Failover,
}

/// A DNS's resolved configuration.
#[derive(Clone, Debug)]
pub struct DnsCfg {
    /// Name in the scenario.
    pub name: String,
    /// Names of the targets (for metrics).
    pub target_names: Vec<String>,
    /// Component ids of the targets.
    pub targets: Vec<u32>,
    /// The region of each target.
    pub target_regions: Vec<u16>,
    /// Mean one-way latency (ns) from each client (row) to each target.
    pub distance: Vec<Vec<f64>>,
    /// Policy.
    pub policy: DnsPolicy,
    /// How long a client keeps an answer.
    pub ttl: SimTime,
    /// Time to notice a target region going out or coming back.
    pub detect_after: SimTime,
}

/// The DNS service's own timer (scheduled to itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DnsTimer {
    /// Health checks have noticed target `target` going out (`out`) or
    /// coming back.
    Detected {
        /// Index into the targets.
        target: u32,
        /// Out (true) or back.
        out: bool,
    },
}

impl Timer for DnsTimer {
    /// The code of the former self-addressed `Event((target << 1) | out)`:
    /// 12 with `out` at bit 8 and the target from bit 9.
    #[inline]
    fn encode(self) -> TimerWord {
        let DnsTimer::Detected { target, out } = self;
        TimerWord::new(12, u32::from(out), target, 9)
    }

    #[inline]
    fn decode(w: TimerWord) -> Option<Self> {
        (w.kind() == 12).then(|| DnsTimer::Detected {
            target: w.b(),
            out: w.a() == 1,
        })
    }

    fn name(self) -> &'static str {
        "event"
    }
}

/// The DNS service.
pub struct Dns {
    cfg: DnsCfg,
    id: u32,
    net: Rng,
    /// Each client's cached answer: (target index, expiry).
    cache: Vec<Option<(usize, SimTime)>>,
    healthy: Vec<bool>,
    rr: usize,
    started: SimTime,
    resolutions: u64,
    sent: Vec<u64>,
}

impl Dns {
    /// A DNS with id `id`.
    pub fn new(cfg: &DnsCfg, id: u32, seed: u64) -> Dns {
        Dns {
            cfg: cfg.clone(),
            id,
            net: rng::stream(seed, &format!("component/{}/net", cfg.name)),
            cache: vec![None; cfg.distance.len()],
            healthy: vec![true; cfg.targets.len()],
            rr: 0,
            started: 0,
            resolutions: 0,
            sent: vec![0; cfg.targets.len()],
        }
    }

    fn resolve(&mut self, client: usize) -> usize {
        let n = self.cfg.targets.len();
        let up: Vec<usize> = (0..n).filter(|&i| self.healthy[i]).collect();
        let pool = if up.is_empty() { (0..n).collect() } else { up };
        match self.cfg.policy {
            DnsPolicy::Failover => pool[0],
            DnsPolicy::RoundRobin => {
                let i = pool[self.rr % pool.len()];
                self.rr = self.rr.wrapping_add(1);
                i
            }
            DnsPolicy::Geo => {
                let d = self.cfg.distance.get(client);
                *pool
                    .iter()
                    .min_by(|&&a, &&b| {
                        let da = d.and_then(|d| d.get(a)).copied().unwrap_or(0.0);
                        let db = d.and_then(|d| d.get(b)).copied().unwrap_or(0.0);
                        da.total_cmp(&db)
                    })
                    .unwrap_or(&0)
            }
        }
    }

    fn arrive(&mut self, req: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(req) else { return };
        let client = r.client as usize;
        let target = match self.cache.get(client).copied().flatten() {
            Some((t, exp)) if exp > now => t,
            _ => {
                let t = self.resolve(client);
                self.resolutions += u64::from(now >= self.started);
                if let Some(c) = self.cache.get_mut(client) {
                    *c = Some((t, now.saturating_add(self.cfg.ttl)));
                }
                t
            }
        };
        if now >= self.started {
            self.sent[target] += 1;
        }
        let to = self.cfg.targets[target];
        if let Some(r) = ctx.reqs.get_mut(req) {
            r.target = to;
        }
        // The client connects to the target itself.
        ctx.reqs.path_forward(req, now);
        let me = ctx.current;
        ctx.current = client as u32;
        ctx.send(&mut self.net, to, Msg::Request(req));
        ctx.current = me;
    }
}

impl Component for Dns {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn timer_name(&self, w: TimerWord) -> &'static str {
        super::timer_name::<DnsTimer>(w)
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Request(req) => self.arrive(req, ctx),
            Msg::Timer(w) => {
                if let Some(DnsTimer::Detected { target, out }) = DnsTimer::decode(w)
                    && let Some(h) = self.healthy.get_mut(target as usize)
                {
                    *h = !out;
                }
            }
            _ => {}
        }
    }

    fn fault(&mut self, action: FaultAction, on: bool, ctx: &mut Ctx) {
        if let FaultAction::Outage(r) = action {
            for (i, &tr) in self.cfg.target_regions.iter().enumerate() {
                if tr == r {
                    let t = DnsTimer::Detected {
                        target: i as u32,
                        out: on,
                    };
                    ctx.sched.after(self.cfg.detect_after, self.id, Msg::timer(t));
                }
            }
        }
    }

    fn on_warmup(&mut self, now: SimTime) {
        self.started = now;
        self.resolutions = 0;
        self.sent.iter_mut().for_each(|s| *s = 0);
    }

    fn report(&self, _rc: &ReportCtx, out: &mut Metrics, _notes: &mut Vec<String>) {
        let p = format!("components.{}.", self.cfg.name);
        out.insert(format!("{p}resolutions"), self.resolutions as f64);
        let total: u64 = self.sent.iter().sum();
        for (i, n) in self.cfg.target_names.iter().enumerate() {
            out.insert(
                format!("{p}share.{n}"),
                if total > 0 {
                    self.sent[i] as f64 / total as f64
                } else {
                    0.0
                },
            );
        }
    }
}

#[cfg(test)]
mod timer_codes {
    use super::*;
    use crate::engine::Message;

    #[test]
    fn timers_keep_their_fingerprint_codes() {
        // The code the same event had as Msg::Event((target << 1) | out).
        for target in [0u32, 1, 7, 1 << 20] {
            for out in [false, true] {
                let t = DnsTimer::Detected { target, out };
                let old = (target << 1) | u32::from(out);
                assert_eq!(Msg::timer(t).code(), Msg::Event(old).code());
                assert_eq!(DnsTimer::decode(t.encode()), Some(t));
            }
        }
    }
}

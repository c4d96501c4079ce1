//! What a component's handler and report see: [`Ctx`] (clock, scheduler,
//! request arena, network, shared counters), the committed data
//! [`Versions`], and [`ReportCtx`] at the end of a run.

use std::collections::BTreeMap;

use super::msg::Msg;
use super::network::{NO_REGION, Network};
use super::request::{self, Arena, Outcome, ReqRef};
use super::world::Stop;
use crate::engine::rng::Rng;
use crate::engine::{Scheduler, SimTime};

/// Per-interval counters shared by all clients (for the time series).
#[derive(Clone, Debug)]
pub struct IntervalStats {
    /// Successful completions.
    pub completed: u64,
    /// Failures, rejections and timeouts.
    pub errors: u64,
    /// Latency of successful completions.
    pub latency: crate::stats::IntervalHistogram,
    /// Sum of those latencies in ns (for the interval mean).
    pub latency_sum: u64,
    /// Latency as users felt it: every settled request, failed, rejected
    /// and timed-out ones included (time until the answer or until the
    /// client gave up, retries included).
    pub felt: crate::stats::IntervalHistogram,
}

/// What a component's handler may use.
pub struct Ctx {
    /// The future-event set and clock.
    pub sched: Scheduler<Msg>,
    /// Request records.
    pub reqs: Arena,
    /// The network.
    pub net: Network,
    /// End of warm-up.
    pub warmup: SimTime,
    /// Requests in flight above which the run stops (unstable system).
    pub max_in_flight: usize,
    /// Set to end the run early.
    pub stop: Option<Stop>,
    /// Time-series counters of the current interval.
    pub interval: IntervalStats,
    /// The run has ended: clients issue nothing new while in-flight
    /// requests finish.
    pub draining: bool,
    /// Client requests issued and not yet answered or timed out.
    pub open: u64,
    /// Committed data versions, shared so caches can tell stale entries.
    pub data: Versions,
    /// The component whose handler runs now (the sender of what it sends).
    pub current: u32,
    /// Values components publish for others to read (a queue's depth for
    /// the autoscaler scaling its consumer), by component id.
    pub gauges: Vec<i64>,
    /// Where the time of successful requests went, per component.
    pub breakdown: super::path::Breakdown,
}

/// The newest committed version of every key, per database: the truth a
/// read is compared with to decide whether it was stale.
#[derive(Clone, Debug, Default)]
pub struct Versions {
    dbs: Vec<Vec<u32>>,
}

impl Versions {
    /// Room for `dbs` databases of `key_space` keys each.
    pub fn new(dbs: usize, key_space: u64) -> Versions {
        Versions {
            dbs: (0..dbs).map(|_| vec![0; key_space as usize]).collect(),
        }
    }

    /// The newest committed version of `key` in database slot `db`.
    #[inline]
    pub fn committed(&self, db: usize, key: u64) -> u32 {
        self.dbs
            .get(db)
            .and_then(|v| v.get(key as usize))
            .copied()
            .unwrap_or(0)
    }

    /// Record that `version` of `key` is committed (versions never go back).
    #[inline]
    pub fn commit(&mut self, db: usize, key: u64, version: u32) {
        if let Some(v) = self.dbs.get_mut(db).and_then(|v| v.get_mut(key as usize)) {
            *v = (*v).max(version);
        }
    }

    /// Set the committed version of `key` to exactly `version`: committed
    /// writes were lost (a failover to a follower that lacked them, a
    /// restore from a backup) and the data went back.
    #[inline]
    pub fn reset(&mut self, db: usize, key: u64, version: u32) {
        if let Some(v) = self.dbs.get_mut(db).and_then(|v| v.get_mut(key as usize)) {
            *v = version;
        }
    }
}

impl Ctx {
    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.sched.now()
    }

    /// Send `msg` to `to` across the network; the sender's stream draws the
    /// latency, so another component's traffic never shifts its numbers.
    #[inline(always)]
    pub fn send(&mut self, rng: &mut Rng, to: u32, msg: Msg) {
        if !self.net.simple {
            return self.send_far(rng, to, msg);
        }
        match &self.net.latency {
            None => {
                self.note(to, msg, 0);
                self.sched.now_msg(to, msg)
            }
            Some(s) => {
                let d = s.sample(rng);
                self.note(to, msg, d);
                self.sched.after(d, to, msg)
            }
        }
    }

    /// A request or an answer leaves now and reaches `to` in `d` ns: its
    /// hop's path record notes when (see [`super::path`]).
    #[inline(always)]
    fn note(&mut self, to: u32, msg: Msg, d: SimTime) {
        let now = self.sched.now();
        match msg {
            Msg::Request(r) => self.reqs.path_send(r, now, to, now.saturating_add(d)),
            Msg::Response(r, _) => self.reqs.path_respond(r, now),
            _ => {}
        }
    }

    /// [`Ctx::send`] with regions or network faults: region latency,
    /// injected latency, and messages lost to a partition or an outage.
    #[inline(never)]
    fn send_far(&mut self, rng: &mut Rng, to: u32, msg: Msg) {
        let from = self.current;
        if self.net.cut(from, to) {
            return self.lose(msg);
        }
        let d = self.net.delay(rng, from, to);
        self.note(to, msg, d);
        self.sched.after(d, to, msg)
    }

    /// A message the network dropped. Nobody learns of it: a caller waiting
    /// for an answer times out. A record nobody will answer any more is
    /// freed at once, or marked [`request::LOST`] so that its caller frees
    /// it when its timeout fires.
    fn lose(&mut self, msg: Msg) {
        match msg {
            Msg::Request(r) | Msg::Response(r, _) => {
                if let Some(rec) = self.reqs.get_mut(r) {
                    if rec.abandoned {
                        self.reqs.free(r);
                    } else {
                        rec.flags |= request::LOST;
                    }
                }
            }
            Msg::Fill(r) => self.reqs.free(r),
            _ => {}
        }
    }

    /// The value component `id` publishes (0 if none).
    #[inline]
    pub fn gauge(&self, id: u32) -> i64 {
        self.gauges.get(id as usize).copied().unwrap_or(0)
    }

    /// Publish a value for component `id`.
    #[inline]
    pub fn set_gauge(&mut self, id: u32, v: i64) {
        if let Some(g) = self.gauges.get_mut(id as usize) {
            *g = v;
        }
    }

    /// The region of client or component `id` ([`NO_REGION`] if none).
    #[inline]
    pub fn region(&self, id: u32) -> u16 {
        self.net.region.get(id as usize).copied().unwrap_or(NO_REGION)
    }

    /// Answer hop `req` to whoever sent it.
    #[inline]
    pub fn respond(&mut self, rng: &mut Rng, req: ReqRef, outcome: Outcome) {
        if let Some(r) = self.reqs.get(req) {
            let to = r.reply_to;
            self.send(rng, to, Msg::Response(req, outcome));
        }
    }
}

/// Metrics as a sorted map of SPEC names to values.
pub type Metrics = BTreeMap<String, f64>;

/// What a component reports at the end of a run.
pub struct ReportCtx {
    /// End of the run (may be before the planned end if stopped).
    pub now: SimTime,
    /// Start of the measured window.
    pub warmup: SimTime,
}

impl ReportCtx {
    /// Length of the measured window in seconds (never zero).
    pub fn window_s(&self) -> f64 {
        (crate::engine::secs(self.now.saturating_sub(self.warmup))).max(1e-9)
    }
}

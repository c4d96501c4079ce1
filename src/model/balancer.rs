//! Load balancers: spread requests over one service's replicas.
//!
//! The balancer sees every answer (each forwarded request is a new hop whose
//! reply comes back here), so, like HAProxy or Envoy, it knows its own
//! outstanding requests per replica, not the replicas' true queues.
//!
//! Algorithms and their sources:
//! - `round_robin`, `random`: as named.
//! - `weighted_round_robin`: nginx's smooth weighted round robin (each pick
//!   adds every weight to its replica's current value, takes the largest and
//!   subtracts the total), which interleaves instead of sending bursts.
//! - `least_connections`: fewest outstanding; ties broken round robin, as
//!   HAProxy's `leastconn` does.
//! - `power_of_two`: sample `choices` distinct replicas, take the one with
//!   fewest outstanding (Mitzenmacher 2001; Envoy's LEAST_REQUEST).
//! - `ip_hash`: a hash of the user's identity modulo replicas (nginx).
//! - `consistent_hash`: a ring with `vnodes` points per replica keyed by the
//!   request key (Karger et al. 1997; ketama's 160 points per server).
//! - `sticky`: a user's first request picks round robin; later ones go to the
//!   same replica (cookie persistence).
//! - `least_time`: lowest peak-EWMA response time × (outstanding + 1), the
//!   cost function of Finagle's and Linkerd's "peak EWMA" balancer (decay
//!   time constant 10 s; a slower sample replaces the average at once).
//!
//! Two ways take a replica out of rotation, and a replica out by either is
//! not picked: round robin and weighted round robin leave it out of the
//! rotation, the load-aware algorithms skip it in their scan, and the
//! others (random and the hashes) move from their choice to the next
//! replica that is in:
//! - Active health checks (`health_check`): HAProxy's `inter`, `timeout
//!   check`, `fall` and `rise`.
//! - Passive health checks (`outlier_detection`), Envoy's consecutive-5xx
//!   outlier detection as its documentation describes it (architecture
//!   overview "Outlier detection", and the `OutlierDetection` proto fields
//!   `consecutive_5xx`, `base_ejection_time`, `max_ejection_time`,
//!   `max_ejection_percent`): a replica whose answers to this balancer are
//!   failed or rejected `consecutive_errors` times in a row (a success
//!   resets the count) is ejected for base_ejection_time × the number of
//!   times it has been ejected, capped at max_ejection_time, then returns to
//!   rotation. At most max(1, ⌊n × max_ejection_percent / 100⌋) of the n
//!   replicas are ejected at once (Envoy's `max_ejection_percent`
//!   documentation, up to 1.30: one host can be ejected whatever the
//!   percentage); a replica that reaches the threshold while the cap is
//!   full is ejected at its next error once there is room. Not modelled:
//!   Envoy's periodic `interval` analysis, success-rate detection, the
//!   ejection jitter, and the panic threshold (with every replica out, the
//!   balancer fails requests at once, as it does when the health checks
//!   have marked every replica down).

use rand::RngExt;

use super::{Component, Ctx, Metrics, Msg, ReportCtx, Request, Timer, TimerWord};
use crate::engine::rng::{self, Rng};
use crate::engine::{NS_PER_S, SimTime};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Load-balancing algorithms.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Each replica in turn.
    RoundRobin,
    /// In turn, in proportion to weights (nginx's smooth weighted round robin).
    WeightedRoundRobin,
    /// Uniformly at random.
    Random,
    /// The replica with the fewest outstanding requests.
    LeastConnections,
    /// The least loaded of `choices` replicas sampled at random.
    PowerOfTwo,
    /// A hash of the user's identity.
    IpHash,
    /// A hash ring over request keys.
    ConsistentHash,
    /// A user's first request picks a replica (round robin); later ones stick to it.
    Sticky,
    /// Lowest peak-EWMA response time × (outstanding + 1).
    LeastTime,
}

/// Peak-EWMA decay time constant.
const EWMA_TAU_NS: f64 = 10.0 * NS_PER_S as f64;

/// A balancer's resolved configuration.
#[derive(Clone, Debug)]
pub struct BalancerCfg {
    /// Name in the scenario.
    pub name: String,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Component id of the backend service.
    pub backend: u32,
    /// Its replica slots (an autoscaled service's pool).
    pub replicas: u32,
    /// Slots serving at the start: `0..active` (the service reports changes).
    pub active: u32,
    /// Sampled replicas for power_of_two.
    pub choices: u32,
    /// Weights for weighted_round_robin.
    pub weights: Vec<f64>,
    /// Ring points per replica.
    pub vnodes: u32,
    /// Total identities across clients (sticky table size).
    pub identities: u64,
    /// Active health checking.
    pub health: Option<HealthCfg>,
    /// Passive health checking (outlier ejection).
    pub outlier: Option<OutlierCfg>,
}

/// Outlier detection on consecutive errors (Envoy's `outlier_detection`).
#[derive(Clone, Copy, Debug)]
pub struct OutlierCfg {
    /// Failed or rejected answers in a row that eject a replica.
    pub consecutive_errors: u32,
    /// The k-th ejection of a replica lasts k × this…
    pub base_ejection_time: SimTime,
    /// …but never longer than this.
    pub max_ejection_time: SimTime,
    /// Share of the replicas that may be out at once, in percent.
    pub max_ejection_percent: f64,
}

/// How long the `k`-th ejection (1-based) of a replica lasts.
pub fn ejection_time(o: &OutlierCfg, k: u32) -> SimTime {
    o.base_ejection_time
        .saturating_mul(u64::from(k))
        .min(o.max_ejection_time)
}

/// How many of `replicas` may be ejected at once: the percentage rounded
/// down, but at least one.
pub fn max_ejected(replicas: u32, percent: f64) -> u32 {
    // The small epsilon keeps 30% of 10 at 3 despite binary rounding.
    let n = (f64::from(replicas) * percent / 100.0 + 1e-9).floor();
    (n as u32).clamp(1, replicas.max(1))
}

/// One replica's outlier-detection state.
#[derive(Clone, Copy, Default)]
struct Outlier {
    /// Failed or rejected answers since the last success.
    errors: u32,
    /// Times ejected so far (the ejection-time multiplier).
    ejections: u32,
    /// Out of rotation until this time.
    until: SimTime,
}

/// Active health checks (HAProxy's `inter`, `timeout check`, `fall`, `rise`).
#[derive(Clone, Copy, Debug)]
pub struct HealthCfg {
    /// Time between probes of a replica.
    pub interval: SimTime,
    /// A probe not answered within this fails.
    pub timeout: SimTime,
    /// Consecutive failed probes that mark a replica down.
    pub unhealthy_after: u32,
    /// Consecutive good probes that mark it up again.
    pub healthy_after: u32,
}

#[derive(Clone, Copy, Default)]
struct Health {
    down: bool,
    seq: u32,
    answered: bool,
    fails: u32,
    oks: u32,
}

/// A balancer's own timers (scheduled to itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BalancerTimer {
    /// Time for the next round of health checks.
    Round,
    /// A probe's time is up.
    ProbeTimeout {
        /// Replica.
        replica: u32,
        /// Probe round.
        seq: u32,
    },
}

impl Timer for BalancerTimer {
    /// The codes of the former shared messages: `Tick` (13) and
    /// `ProbeTimeout` (kind 17, the round at bit 40).
    #[inline]
    fn encode(self) -> TimerWord {
        match self {
            BalancerTimer::Round => TimerWord::new(13, 0, 0, 0),
            BalancerTimer::ProbeTimeout { replica, seq } => TimerWord::new(17, replica, seq, 40),
        }
    }

    #[inline]
    fn decode(w: TimerWord) -> Option<Self> {
        match w.kind() {
            13 => Some(BalancerTimer::Round),
            17 => Some(BalancerTimer::ProbeTimeout {
                replica: w.a(),
                seq: w.b(),
            }),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            BalancerTimer::Round => "tick",
            BalancerTimer::ProbeTimeout { .. } => "probe_timeout",
        }
    }
}

/// A running balancer.
pub struct Balancer {
    cfg: BalancerCfg,
    id: u32,
    rng: Rng,
    net: Rng,
    outstanding: Vec<u32>,
    rr: u32,
    wrr_current: Vec<f64>,
    ring: Vec<(u64, u32)>,
    sticky: Vec<u32>,
    ewma: Vec<(f64, SimTime)>,
    sent: Vec<u64>,
    sample_buf: Vec<u32>,
    health: Vec<Health>,
    marked_down: u64,
    no_backend: u64,
    outlier: Vec<Outlier>,
    max_ejected: u32,
    ejections: u64,
    /// Replicas serving: slots `0..active`.
    active: u32,
}

/// SplitMix64 finaliser: a fast, well-mixed hash of a number.
#[inline]
fn mix(x: u64) -> u64 {
    crate::engine::rng::mix_seed(x, 0x5bd1_e995)
}

impl Balancer {
    /// A balancer with id `id`.
    pub fn new(cfg: &BalancerCfg, id: u32, seed: u64) -> Balancer {
        let n = cfg.replicas as usize;
        let mut ring = Vec::new();
        if cfg.algorithm == Algorithm::ConsistentHash {
            for r in 0..cfg.replicas {
                for v in 0..cfg.vnodes {
                    // FNV-1a alone barely moves the high bits when only the
                    // trailing digits differ, which would bunch the points on
                    // the ring; the SplitMix finaliser spreads them.
                    let point = mix(rng::stable_hash(&format!("{}#{}#{}", cfg.name, r, v)));
                    ring.push((point, r));
                }
            }
            ring.sort_unstable();
        }
        let sticky = if cfg.algorithm == Algorithm::Sticky {
            vec![u32::MAX; cfg.identities.min(1 << 26) as usize]
        } else {
            Vec::new()
        };
        Balancer {
            cfg: cfg.clone(),
            id,
            rng: rng::stream(seed, &format!("component/{}/route", cfg.name)),
            net: rng::stream(seed, &format!("component/{}/network", cfg.name)),
            outstanding: vec![0; n],
            rr: 0,
            wrr_current: vec![0.0; n],
            ring,
            sticky,
            ewma: vec![(0.0, 0); n],
            sent: vec![0; n],
            sample_buf: Vec::with_capacity(cfg.choices as usize),
            health: vec![Health::default(); n],
            marked_down: 0,
            no_backend: 0,
            outlier: vec![Outlier::default(); n],
            max_ejected: cfg
                .outlier
                .map_or(0, |o| max_ejected(cfg.replicas, o.max_ejection_percent)),
            ejections: 0,
            active: cfg.active.clamp(1, cfg.replicas.max(1)),
        }
    }

    /// Replica `i` is out of rotation: marked down by the health checks or
    /// ejected by outlier detection.
    #[inline]
    fn out(&self, i: u32, now: SimTime) -> bool {
        i >= self.active || {
            let i = i as usize;
            self.health[i].down || self.outlier[i].until > now
        }
    }

    /// Outlier detection sees one answer from `replica`.
    fn observe(&mut self, replica: usize, outcome: super::Outcome, now: SimTime, warm: SimTime) {
        let Some(o) = self.cfg.outlier else { return };
        let Some(st) = self.outlier.get_mut(replica) else {
            return;
        };
        match outcome {
            super::Outcome::Failed | super::Outcome::Rejected => {
                // Answers to requests sent before the ejection say nothing new.
                if st.until > now {
                    return;
                }
                st.errors = st.errors.saturating_add(1);
                if st.errors < o.consecutive_errors {
                    return;
                }
            }
            super::Outcome::Ok | super::Outcome::Miss => {
                st.errors = 0;
                return;
            }
        }
        // Only here, at a candidate ejection, is the pool scanned for the cap.
        let ejected = self.outlier.iter().filter(|x| x.until > now).count();
        if ejected as u32 >= self.max_ejected {
            return;
        }
        let st = &mut self.outlier[replica];
        st.ejections = st.ejections.saturating_add(1);
        st.until = now.saturating_add(ejection_time(&o, st.ejections));
        st.errors = 0;
        if now >= warm {
            self.ejections += 1;
        }
    }

    fn next_rr(&mut self) -> u32 {
        let i = self.rr % self.active;
        self.rr = self.rr.wrapping_add(1);
        i
    }

    /// The algorithm's choice, or the next replica after it that is in
    /// rotation (`None`: every replica is out).
    fn pick_healthy(&mut self, key: u64, identity: u64, now: SimTime) -> Option<u32> {
        let r = self.pick(key, identity, now);
        if !self.out(r, now) {
            return Some(r);
        }
        let n = self.cfg.replicas;
        (1..n).map(|k| (r + k) % n).find(|&i| !self.out(i, now))
    }

    fn probe_round(&mut self, ctx: &mut Ctx) {
        let Some(h) = self.cfg.health else { return };
        for r in 0..self.cfg.replicas {
            let st = &mut self.health[r as usize];
            st.seq = st.seq.wrapping_add(1);
            st.answered = false;
            let seq = st.seq;
            let probe = Msg::Probe {
                from: self.id,
                replica: r,
                seq,
            };
            ctx.send(&mut self.net, self.cfg.backend, probe);
            ctx.sched.after(
                h.timeout,
                self.id,
                Msg::timer(BalancerTimer::ProbeTimeout { replica: r, seq }),
            );
        }
        if !ctx.draining {
            ctx.sched
                .after(h.interval, self.id, Msg::timer(BalancerTimer::Round));
        }
    }

    fn probe_result(&mut self, replica: u32, seq: u32, ok: bool, now: SimTime, warm: SimTime) {
        let Some(h) = self.cfg.health else { return };
        let Some(st) = self.health.get_mut(replica as usize) else {
            return;
        };
        if st.seq != seq || st.answered {
            return;
        }
        st.answered = true;
        if ok {
            st.oks += 1;
            st.fails = 0;
            if st.down && st.oks >= h.healthy_after {
                st.down = false;
            }
        } else {
            st.fails += 1;
            st.oks = 0;
            if !st.down && st.fails >= h.unhealthy_after {
                st.down = true;
                if now >= warm {
                    self.marked_down += 1;
                }
            }
        }
    }

    fn pick(&mut self, key: u64, identity: u64, now: SimTime) -> u32 {
        let n = self.active;
        if n == 1 {
            return 0;
        }
        match self.cfg.algorithm {
            Algorithm::RoundRobin => {
                // The rotation skips out replicas (as nginx and HAProxy do),
                // so the survivors share the traffic evenly instead of the
                // next one in line taking an out replica's turns too.
                let mut i = self.next_rr();
                for _ in 1..n {
                    if !self.out(i, now) {
                        break;
                    }
                    i = self.next_rr();
                }
                i
            }
            Algorithm::Random => self.rng.random_range(0..n),
            Algorithm::WeightedRoundRobin => {
                // As nginx: out replicas take no part (their weight is left
                // out of the total and their current value stays put).
                let mut total = 0.0;
                let mut best = usize::MAX;
                for (i, w) in self.cfg.weights.iter().enumerate() {
                    if self.out(i as u32, now) {
                        continue;
                    }
                    total += w;
                    self.wrr_current[i] += w;
                    if best == usize::MAX || self.wrr_current[i] > self.wrr_current[best] {
                        best = i;
                    }
                }
                if best == usize::MAX {
                    return 0;
                }
                self.wrr_current[best] -= total;
                best as u32
            }
            Algorithm::LeastConnections => {
                // An out replica answers nothing, so it looks idle: the scan
                // skips it, or its successor would inherit all it attracts.
                let start = self.next_rr();
                let mut best = start;
                let mut best_out = self.out(start, now);
                for k in 1..n {
                    let i = (start + k) % n;
                    let out = self.out(i, now);
                    if (best_out && !out)
                        || (out == best_out && self.outstanding[i as usize] < self.outstanding[best as usize])
                    {
                        best = i;
                        best_out = out;
                    }
                }
                best
            }
            Algorithm::PowerOfTwo => {
                let d = self.cfg.choices.min(n);
                self.sample_buf.clear();
                // Distinct samples by rejection: d is small.
                while (self.sample_buf.len() as u32) < d {
                    let c = self.rng.random_range(0..n);
                    if !self.sample_buf.contains(&c) {
                        self.sample_buf.push(c);
                    }
                }
                let mut best = self.sample_buf[0];
                let mut best_out = self.out(best, now);
                for &c in &self.sample_buf[1..] {
                    let out = self.out(c, now);
                    if (best_out && !out)
                        || (out == best_out && self.outstanding[c as usize] < self.outstanding[best as usize])
                    {
                        best = c;
                        best_out = out;
                    }
                }
                best
            }
            Algorithm::IpHash => (mix(identity) % u64::from(n)) as u32,
            Algorithm::ConsistentHash => {
                let h = mix(key);
                let i = self.ring.partition_point(|(p, _)| *p < h);
                self.ring[if i == self.ring.len() { 0 } else { i }].1
            }
            Algorithm::Sticky => {
                let slot = (identity % self.sticky.len().max(1) as u64) as usize;
                match self.sticky.get(slot).copied() {
                    Some(r) if r != u32::MAX => r,
                    _ => {
                        let r = self.next_rr();
                        if let Some(s) = self.sticky.get_mut(slot) {
                            *s = r;
                        }
                        r
                    }
                }
            }
            Algorithm::LeastTime => {
                let start = self.next_rr();
                let cost = |s: &Self, i: u32| {
                    let (avg, at) = s.ewma[i as usize];
                    let decayed = avg * (-((now - at) as f64) / EWMA_TAU_NS).exp();
                    decayed * f64::from(s.outstanding[i as usize] + 1)
                };
                let mut best = start;
                let mut best_cost = cost(self, start);
                let mut best_out = self.out(start, now);
                for k in 1..n {
                    let i = (start + k) % n;
                    let c = cost(self, i);
                    let out = self.out(i, now);
                    if (best_out && !out) || (out == best_out && c < best_cost) {
                        best = i;
                        best_cost = c;
                        best_out = out;
                    }
                }
                best
            }
        }
    }
}

impl Component for Balancer {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn timer_name(&self, w: TimerWord) -> &'static str {
        super::timer_name::<BalancerTimer>(w)
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        let now = ctx.now();
        match msg {
            Msg::Members(n) => self.active = n.clamp(1, self.cfg.replicas.max(1)),
            Msg::Request(req) => {
                let Some(r) = ctx.reqs.get(req) else { return };
                let tmpl = Request::child_of(req, r, self.id, now);
                let Some(replica) = self.pick_healthy(tmpl.key, tmpl.identity, now) else {
                    // Every replica is marked down: answer at once (a 503).
                    if now >= ctx.warmup {
                        self.no_backend += 1;
                    }
                    ctx.respond(&mut self.net, req, super::Outcome::Failed);
                    return;
                };
                let child = ctx.reqs.alloc(Request {
                    replica,
                    tag: replica,
                    ..tmpl
                });
                self.outstanding[replica as usize] += 1;
                self.sent[replica as usize] += 1;
                ctx.reqs.path_group(req, now);
                ctx.send(&mut self.net, self.cfg.backend, Msg::Request(child));
            }
            Msg::Response(child, outcome) => {
                let Some(&c) = ctx.reqs.get(child) else { return };
                let (replica, parent, sent, version) = (c.tag as usize, c.parent, c.sent, c.version);
                if outcome == super::Outcome::Ok && !c.abandoned {
                    ctx.reqs.path_answered(child, parent, now);
                }
                ctx.reqs.free(child);
                if let Some(p) = ctx.reqs.get_mut(parent) {
                    p.version = version;
                }
                self.outstanding[replica] = self.outstanding[replica].saturating_sub(1);
                self.observe(replica, outcome, now, ctx.warmup);
                if self.cfg.algorithm == Algorithm::LeastTime {
                    let rtt = (now - sent) as f64;
                    let (avg, at) = self.ewma[replica];
                    let w = (-((now - at) as f64) / EWMA_TAU_NS).exp();
                    let next = avg * w + rtt * (1.0 - w);
                    self.ewma[replica] = (if rtt > next { rtt } else { next }, now);
                }
                ctx.respond(&mut self.net, parent, outcome);
            }
            Msg::ProbeReply { replica, seq } => self.probe_result(replica, seq, true, now, ctx.warmup),
            Msg::Timer(w) => match BalancerTimer::decode(w) {
                Some(BalancerTimer::Round) => self.probe_round(ctx),
                Some(BalancerTimer::ProbeTimeout { replica, seq }) => {
                    self.probe_result(replica, seq, false, now, ctx.warmup)
                }
                None => {}
            },
            _ => {}
        }
    }

    fn start(&mut self, ctx: &mut Ctx) {
        if let Some(h) = self.cfg.health {
            ctx.sched
                .after(h.interval, self.id, Msg::timer(BalancerTimer::Round));
        }
    }

    fn on_warmup(&mut self, _now: SimTime) {
        self.sent.iter_mut().for_each(|s| *s = 0);
        self.marked_down = 0;
        self.no_backend = 0;
        self.ejections = 0;
    }

    fn report(&self, rc: &ReportCtx, out: &mut Metrics, _notes: &mut Vec<String>) {
        let loads: Vec<f64> = self.sent.iter().map(|&s| s as f64).collect();
        let total: f64 = loads.iter().sum();
        out.insert(
            format!("components.{}.throughput_rps", self.cfg.name),
            total / rc.window_s(),
        );
        out.insert(
            format!("components.{}.load_cv", self.cfg.name),
            crate::stats::coefficient_of_variation(&loads),
        );
        if self.cfg.health.is_some() {
            out.insert(
                format!("components.{}.marked_down", self.cfg.name),
                self.marked_down as f64,
            );
        }
        if self.cfg.outlier.is_some() {
            out.insert(
                format!("components.{}.ejections", self.cfg.name),
                self.ejections as f64,
            );
        }
        if self.cfg.health.is_some() || self.cfg.outlier.is_some() {
            out.insert(
                format!("components.{}.no_backend", self.cfg.name),
                self.no_backend as f64,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: SimTime = NS_PER_S;

    fn cfg(base: SimTime, max: SimTime) -> OutlierCfg {
        OutlierCfg {
            consecutive_errors: 5,
            base_ejection_time: base,
            max_ejection_time: max,
            max_ejection_percent: 10.0,
        }
    }

    #[test]
    fn ejection_time_is_base_times_ejections_capped_at_max() {
        // Envoy's defaults: 30 s × k, at most 300 s.
        let o = cfg(30 * S, 300 * S);
        let times: Vec<SimTime> = (1..=12).map(|k| ejection_time(&o, k) / S).collect();
        assert_eq!(times, [30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 300, 300]);
        // No overflow however often a replica is ejected.
        assert_eq!(ejection_time(&o, u32::MAX), 300 * S);
        assert_eq!(
            ejection_time(&cfg(SimTime::MAX / 2, SimTime::MAX), 3),
            SimTime::MAX
        );
    }

    #[test]
    fn at_most_the_percentage_rounded_down_but_always_one() {
        // ⌊n × p / 100⌋, but at least 1 whatever the percentage (Envoy's max_ejection_percent).
        assert_eq!(max_ejected(4, 10.0), 1);
        assert_eq!(max_ejected(4, 0.0), 1);
        assert_eq!(max_ejected(4, 49.0), 1);
        assert_eq!(max_ejected(4, 50.0), 2);
        assert_eq!(max_ejected(4, 100.0), 4);
        assert_eq!(max_ejected(10, 30.0), 3);
        assert_eq!(max_ejected(20, 10.0), 2);
        assert_eq!(max_ejected(1, 10.0), 1);
        assert_eq!(max_ejected(3, 100.0), 3);
    }
}

#[cfg(test)]
mod timer_codes {
    use super::*;
    use crate::engine::Message;

    #[test]
    fn timers_keep_their_fingerprint_codes() {
        // The codes the same events had as Msg::Tick and Msg::ProbeTimeout.
        assert_eq!(Msg::timer(BalancerTimer::Round).code(), 13);
        assert_eq!(
            BalancerTimer::decode(BalancerTimer::Round.encode()),
            Some(BalancerTimer::Round)
        );
        for (r, s) in [(0u32, 0u32), (5, 1), (100_000, u32::MAX)] {
            let t = BalancerTimer::ProbeTimeout { replica: r, seq: s };
            assert_eq!(
                Msg::timer(t).code(),
                17 ^ (u64::from(r) << 8) ^ (u64::from(s) << 40)
            );
            // The round is kept whole, even where the code drops its top bits.
            assert_eq!(BalancerTimer::decode(t.encode()), Some(t));
        }
    }
}

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
//! How `least_connections` and `least_time` choose: as if scanning the
//! serving replicas in the cyclic order from the round-robin position
//! (which advances by one per request), a replica in rotation before any
//! out of it, then the lowest cost, the first in that order on a tie. They
//! do not scan: a tournament tree over the replica slots (`index.rs`) holds
//! each replica's rotation flag and a key ordered as its cost — for
//! `least_connections` the outstanding count itself; for `least_time`
//! ln(avg) + at / τ + ln(outstanding + 1), which does not change as time
//! passes — updated in O(log n) wherever an outstanding count, an EWMA, a
//! health state or an ejection changes (ejections end by time alone, so a
//! small heap of their end times is applied before each choice). A choice
//! is then O(log n): the least key, and the first slot from the
//! round-robin position that has it. `least_time` takes the replicas whose
//! keys lie within a narrow band above the least: usually one, which the
//! tree's root names (the root also keeps the next least key), and then the
//! choice is O(1); else it evaluates their costs exactly as the scan did,
//! in the scan's order, and takes the scan's pick among them. So the
//! choices are exactly the scan's, rounding and underflow included (the
//! argument is at `least_time_choice`). Memory O(n); nothing is allocated
//! per request, and the other algorithms keep no tree.
//!
//! Layer 4 (`layer: 4`) balances connections, not requests, as a TCP
//! balancer (a Kubernetes Service's kube-proxy, an AWS NLB) does: the
//! algorithm picks a replica when a client connection opens (the client's
//! `connections`, [`super::request::conn_code`] on each request) and the
//! connection's requests all go there until it closes at its lifetime, or
//! until that replica leaves rotation (then its next request picks again).
//! So replicas added by a scale-out take load only as connections reopen.
//! A table of one word per connection slot; O(1) per request.
//!
//! Two ways take a replica out of rotation, and a replica out by either is
//! not picked: round robin and weighted round robin leave it out of the
//! rotation, the load-aware algorithms pass it over, and the others
//! (random and the hashes) move from their choice to the next replica that
//! is in:
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

use crate::math;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::RngExt;

use self::index::{MinTree, Summary};
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

mod index;

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
    /// `Some(4)`: a replica per connection; `Some(7)` or `None`: per request.
    pub layer: Option<u8>,
    /// Layer 4: client connection slots (the table's size); 0 otherwise.
    pub connections: u32,
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
    /// Replicas the service has taken out of rotation ([`Msg::Rotation`]):
    /// draining for a deploy, not ready, restarting.
    unready: Vec<bool>,
    /// The tournament tree of least_connections and least_time.
    index: LoadIndex,
    /// Ends of ejections not yet applied to `index`: (until, replica), the
    /// earliest on top. Empty for the other algorithms.
    expiry: BinaryHeap<Reverse<(SimTime, u32)>>,
    /// Layer 4: per client connection slot, the replica its current
    /// connection is bound to: 0 for none, else the connection's epoch
    /// (mod 256) in the top 8 bits and replica + 1 below.
    conns: Vec<u32>,
    /// Layer 4: connections bound to a replica since the warm-up.
    conns_opened: u64,
}

/// SplitMix64 finaliser: a fast, well-mixed hash of a number.
#[inline]
fn mix(x: u64) -> u64 {
    crate::engine::rng::mix_seed(x, 0x5bd1_e995)
}

/// The tournament tree of the load-aware algorithms that used to scan
/// every replica per request (see [`least_connections_choice`] and
/// [`least_time_choice`]); the other algorithms have none.
enum LoadIndex {
    None,
    /// least_connections: per slot [`conn_key`].
    Conn(MinTree<u64>),
    /// least_time: per slot [`time_key`].
    Time(MinTree<TimeKey>),
}

/// A least_connections slot: out of rotation (ejected or marked down) in
/// bit 32, outstanding requests below, so that the smallest key is the
/// scan's best: in rotation first, then fewest outstanding.
#[inline]
fn conn_key(out: bool, outstanding: u32) -> u64 {
    (u64::from(out) << 32) | u64::from(outstanding)
}

/// least_connections' choice: of the slots `0..n`, the first in the cyclic
/// order from `start` whose key is the least. O(log n).
///
/// Exactly the scan's choice: the scan takes a replica only if it is
/// strictly better (in rotation where the best is out, or as far in or out
/// with fewer outstanding), which is a strict total order on the keys, so
/// it ends on the first replica in its order that has the least key.
fn least_connections_choice(tree: &MinTree<u64>, start: u32, n: u32) -> u32 {
    let least = tree.fold(0, n as usize);
    let first = tree.first_from(start as usize, n as usize, &|k: &u64| *k <= least);
    // `least` is some slot's key in 0..n, so one is found.
    first.map_or(start, |i| i as u32)
}

/// A least_time summary of a group of slots (a leaf: one slot): `key` the
/// least [`time_key`] and `arg` a slot that has it, `second` the least key
/// but for that slot's (equal to `key` on a tie), `finite` the least finite
/// key; +∞ where there is none. An out slot's key is +∞.
#[derive(Clone, Copy, PartialEq, Debug)]
struct TimeKey {
    key: f64,
    second: f64,
    finite: f64,
    arg: u32,
}

#[inline]
fn min_f64(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

impl Summary for TimeKey {
    const EMPTY: TimeKey = TimeKey {
        key: f64::INFINITY,
        second: f64::INFINITY,
        finite: f64::INFINITY,
        arg: u32::MAX,
    };
    #[inline]
    fn merge(self, other: TimeKey) -> TimeKey {
        let (low, high) = if other.key < self.key {
            (other, self)
        } else {
            (self, other)
        };
        TimeKey {
            key: low.key,
            second: min_f64(low.second, high.key),
            finite: min_f64(self.finite, other.finite),
            arg: low.arg,
        }
    }
}

/// Slot `i`'s least_time key, ln(avg) + at / τ + ln(outstanding + 1), the
/// logarithm of its cost times e^(now / τ): a key that does not change as
/// time passes, ordered as the costs are. −∞ when avg is 0; +∞ when the
/// replica is out of rotation.
#[inline]
fn time_key(i: usize, out: bool, (avg, at): (f64, SimTime), outstanding: u32) -> TimeKey {
    if out {
        return TimeKey::EMPTY;
    }
    let key = math::ln(avg) + at as f64 / EWMA_TAU_NS + math::ln(f64::from(outstanding) + 1.0);
    TimeKey {
        key,
        second: f64::INFINITY,
        finite: if key.is_finite() { key } else { f64::INFINITY },
        arg: i as u32,
    }
}

/// A replica's least_time cost at `now`: its peak EWMA decayed to now, times
/// outstanding + 1. Both the choice and the reference scan of the tests
/// compute it here, operation for operation as the scan always has.
#[inline]
fn least_time_cost((avg, at): (f64, SimTime), outstanding: u32, now: SimTime) -> f64 {
    let decayed = avg * math::exp(-((now - at) as f64) / EWMA_TAU_NS);
    decayed * f64::from(outstanding + 1)
}

/// Keys within this of now / τ, below it, mark a replica whose cost may lose
/// precision to underflow (see [`least_time_choice`]).
const LT_ACCURATE: f64 = 600.0;
/// With such a replica in rotation, every key up to now / τ − this is
/// evaluated.
const LT_WIDE: f64 = 590.0;

/// The width of the band of keys above the least whose costs are evaluated:
/// over 100 times the keys' and the costs' rounding errors together (see
/// [`least_time_choice`]).
#[inline]
fn least_time_band(z: f64) -> f64 {
    1e-9 + 1e-13 * z
}

/// least_time's choice: of the slots `0..n`, the first in the cyclic order
/// from `start` with the least cost among those in rotation, the cost
/// computed by [`least_time_cost`] exactly as the scan does; `start` if
/// every slot is out (then the scan's choice is out too, and so is every
/// replica, so `pick_healthy` answers `None` either way). O(1) when a single
/// replica is within the band (below): the root knows the least key, the
/// slot that has it and the next least key; otherwise O(log n) plus
/// O(log n) per replica whose cost is evaluated.
///
/// Why it is exactly the scan's choice. The scan ends on the first replica
/// in its order with the least computed cost (`<` on costs that are never
/// NaN is a strict total order), so it suffices that every replica whose
/// cost is not evaluated here has a computed cost above some evaluated one.
/// With z = now / τ the true cost is e^(key − z). Let m be the least key and
/// write ε = 2^-53.
/// - The key is computed with an absolute error under 4ε(800 + z) (each of
///   ln avg ∈ [−745, 45) — avg is an RTT in ns, below 2^64 — at / τ ≤ z and
///   ln(outstanding + 1) < 23 within an ulp, two additions).
/// - A replica with a finite key ≥ z − 600 has a true cost of at least
///   e^-600, avg × decay above e^-623 and an exponent −(now − at) / τ ≥
///   −667 (as ln avg < 45): every intermediate of
///   [`least_time_cost`] is a normal number, so its computed cost is within
///   a relative 2·10^-13 (667·2ε for the exponent, an ulp for exp, two
///   roundings) of the true one. Call it accurate.
/// - A replica with avg = 0 (key −∞) costs exactly 0 (0 × a finite decay).
/// - A replica with a finite key < z − 600 may have underflowed, but its
///   computed cost is below e^-599: true cost below e^-600 plus at most
///   2^64 × 2^32 × 2^-1075 of subnormal rounding.
///
/// So: if some finite key in rotation is < z − 600, every replica in
/// rotation with key ≤ max(m + band, z − 590) is evaluated, and any other
/// is accurate with a cost above e^-599 (so above the inaccurate ones'),
/// above 0, and more than (1 + 10^-9) times the least-key replica's if that
/// one is accurate. Else, if m = −∞, the replicas with avg = 0 all cost
/// exactly 0 and every other one a positive normal number: the first with
/// key −∞ in the cyclic order is the choice, found without evaluating.
/// Else every replica is accurate and those with key ≤ m + band are
/// evaluated: the band (at least 10^-9, and 10^-13·z) is over a hundred
/// times the sum of both keys' and both costs' errors, so a replica above it
/// costs more than the least-key one. In each case, when the root's next
/// least key is above the bound (above −∞ in the second), the least-key
/// replica is alone and is the choice without evaluating anything. Usually
/// a single replica is in the band; it holds many only where keys tie
/// (replicas with the same EWMA, time and load) or where replicas have not
/// answered for over (600 + ln avg)·τ, about 100 minutes, while others are
/// in rotation, and there the choice costs O(log n) per replica in the band
/// (the scan's O(n) at worst, times a log factor).
fn least_time_choice(
    tree: &MinTree<TimeKey>,
    ewma: &[(f64, SimTime)],
    outstanding: &[u32],
    start: u32,
    n: u32,
    now: SimTime,
) -> u32 {
    let (from, n) = (start as usize, n as usize);
    let all = tree.fold(0, n);
    if all.key == f64::INFINITY {
        return start;
    }
    let z = now as f64 / EWMA_TAU_NS;
    let bound = if all.finite < z - LT_ACCURATE {
        (all.key + least_time_band(z)).max(z - LT_WIDE)
    } else if all.key == f64::NEG_INFINITY {
        if all.second > all.key {
            return all.arg;
        }
        let first = tree.first_from(from, n, &|k: &TimeKey| k.key == f64::NEG_INFINITY);
        return first.map_or(start, |i| i as u32);
    } else {
        all.key + least_time_band(z)
    };
    if all.second > bound {
        // The band holds the least-key slot alone.
        return all.arg;
    }
    let mut best = start;
    let mut best_cost = f64::INFINITY;
    let mut found = false;
    tree.visit_from(from, n, &|k: &TimeKey| k.key <= bound, &mut |i| {
        let c = least_time_cost(ewma[i], outstanding[i], now);
        if !found || c < best_cost {
            best = i as u32;
            best_cost = c;
            found = true;
        }
        true
    });
    best
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
        let index = match cfg.algorithm {
            Algorithm::LeastConnections => LoadIndex::Conn(MinTree::new(n, |_| conn_key(false, 0))),
            Algorithm::LeastTime => LoadIndex::Time(MinTree::new(n, |i| time_key(i, false, (0.0, 0), 0))),
            _ => LoadIndex::None,
        };
        let max_ejected = cfg
            .outlier
            .map_or(0, |o| max_ejected(cfg.replicas, o.max_ejection_percent));
        let expiry = match index {
            LoadIndex::None => BinaryHeap::new(),
            _ => BinaryHeap::with_capacity(max_ejected as usize),
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
            max_ejected,
            ejections: 0,
            active: cfg.active.clamp(1, cfg.replicas.max(1)),
            unready: vec![false; n],
            index,
            expiry,
            conns: vec![0; cfg.connections as usize],
            conns_opened: 0,
        }
    }

    /// Layer 4: the replica of the connection `conn` (a
    /// [`conn_code`](super::request::conn_code)): the one it is bound to,
    /// or, when it has just opened or its replica has left rotation, the
    /// algorithm's choice, which it keeps from then on. A request on no
    /// connection (`conn` 0) is its own connection.
    fn pick_connection(
        &mut self,
        conn: u32,
        key: u64,
        identity: u64,
        now: SimTime,
        warm: SimTime,
    ) -> Option<u32> {
        let slot = (conn & 0x00ff_ffff).wrapping_sub(1) as usize;
        let Some(&bound) = self.conns.get(slot) else {
            return self.pick_healthy(key, identity, now);
        };
        let epoch = conn >> 24;
        if bound != 0 && bound >> 24 == epoch {
            let r = (bound & 0x00ff_ffff) - 1;
            if !self.out(r, now) {
                return Some(r);
            }
        }
        let r = self.pick_healthy(key, identity, now)?;
        self.conns[slot] = (epoch << 24) | (r + 1);
        if now >= warm {
            self.conns_opened += 1;
        }
        Some(r)
    }

    /// Brings replica `i`'s slot in the index up to date with its state at
    /// `now`; called wherever its outstanding count, its EWMA, its health or
    /// its ejection changes (and by [`Balancer::expire`] when an ejection
    /// ends). Nothing for the algorithms without an index.
    #[inline]
    fn refresh(&mut self, i: usize, now: SimTime) {
        let out = self.sidelined(i, now);
        match &mut self.index {
            LoadIndex::None => {}
            LoadIndex::Conn(t) => t.set(i, conn_key(out, self.outstanding[i])),
            LoadIndex::Time(t) => t.set(i, time_key(i, out, self.ewma[i], self.outstanding[i])),
        }
    }

    /// Returns to the index the replicas whose ejection has ended by `now`:
    /// an ejection ends at its time with no event, so the index learns of it
    /// here, before a choice and before an ejection.
    fn expire(&mut self, now: SimTime) {
        while let Some(&Reverse((until, i))) = self.expiry.peek() {
            if until > now {
                break;
            }
            self.expiry.pop();
            self.refresh(i as usize, now);
        }
    }

    /// Replica `i` is out of rotation: marked down by the health checks or
    /// ejected by outlier detection.
    #[inline]
    fn out(&self, i: u32, now: SimTime) -> bool {
        i >= self.active || self.sidelined(i as usize, now)
    }

    /// Replica `i` is marked down, ejected or taken out of rotation by its
    /// service (whether it is among the serving slots aside).
    #[inline]
    fn sidelined(&self, i: usize, now: SimTime) -> bool {
        self.health[i].down || self.outlier[i].until > now || self.unready[i]
    }

    /// The service takes replica `i` out of rotation or puts it back.
    fn rotation(&mut self, i: u32, serving: bool, now: SimTime) {
        if let Some(u) = self.unready.get_mut(i as usize)
            && *u == serving
        {
            *u = !serving;
            self.refresh(i as usize, now);
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
        let until = st.until;
        if now >= warm {
            self.ejections += 1;
        }
        if !matches!(self.index, LoadIndex::None) {
            // Emptying the ended ejections first leaves one entry per
            // replica ejected now, fewer than max_ejected before this push
            // (the cap above): the heap never outgrows its capacity.
            self.expire(now);
            if until > now {
                self.expiry.push(Reverse((until, replica as u32)));
            }
            self.refresh(replica, now);
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
        let was_down = st.down;
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
        if st.down != was_down {
            self.refresh(replica as usize, now);
        }
    }

    /// The service reports `n` replicas serving (slots `0..n`). The index
    /// needs nothing: the choice looks at slots `0..active` only.
    fn members(&mut self, n: u32) {
        self.active = n.clamp(1, self.cfg.replicas.max(1));
    }

    /// A request is forwarded to `replica`.
    fn forwarded(&mut self, replica: u32, now: SimTime) {
        self.outstanding[replica as usize] += 1;
        self.sent[replica as usize] += 1;
        self.refresh(replica as usize, now);
    }

    /// `replica` answers a request forwarded to it at `sent`.
    fn answered(
        &mut self,
        replica: usize,
        outcome: super::Outcome,
        sent: SimTime,
        now: SimTime,
        warm: SimTime,
    ) {
        self.outstanding[replica] = self.outstanding[replica].saturating_sub(1);
        self.observe(replica, outcome, now, warm);
        if self.cfg.algorithm == Algorithm::LeastTime {
            let rtt = (now - sent) as f64;
            let (avg, at) = self.ewma[replica];
            let w = math::exp(-((now - at) as f64) / EWMA_TAU_NS);
            let next = avg * w + rtt * (1.0 - w);
            self.ewma[replica] = (if rtt > next { rtt } else { next }, now);
        }
        self.refresh(replica, now);
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
                // An out replica answers nothing, so it looks idle: the
                // choice passes it over, or its successor would inherit all
                // it attracts.
                self.expire(now);
                let start = self.next_rr();
                match &self.index {
                    LoadIndex::Conn(t) => least_connections_choice(t, start, n),
                    _ => unreachable!("least_connections has its index"),
                }
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
                self.expire(now);
                let start = self.next_rr();
                match &self.index {
                    LoadIndex::Time(t) => least_time_choice(t, &self.ewma, &self.outstanding, start, n, now),
                    _ => unreachable!("least_time has its index"),
                }
            }
        }
    }
}

/// The scans that least_connections and least_time used before their
/// index, kept as the reference the tests hold the index to.
#[cfg(test)]
impl Balancer {
    /// `pick` with the scans.
    fn pick_scan(&mut self, now: SimTime) -> u32 {
        let n = self.active;
        if n == 1 {
            return 0;
        }
        match self.cfg.algorithm {
            Algorithm::LeastConnections => {
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
            Algorithm::LeastTime => {
                let start = self.next_rr();
                let cost = |s: &Self, i: u32| {
                    let (avg, at) = s.ewma[i as usize];
                    let decayed = avg * math::exp(-((now - at) as f64) / EWMA_TAU_NS);
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
            a => panic!("no scan for {a:?}"),
        }
    }

    /// `pick_healthy` with the scans.
    fn pick_healthy_scan(&mut self, now: SimTime) -> Option<u32> {
        let r = self.pick_scan(now);
        if !self.out(r, now) {
            return Some(r);
        }
        let n = self.cfg.replicas;
        (1..n).map(|k| (r + k) % n).find(|&i| !self.out(i, now))
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
            Msg::Members(n) => self.members(n),
            Msg::Rotation { replica, serving } => self.rotation(replica, serving, now),
            Msg::Request(req) => {
                let Some(r) = ctx.reqs.get(req) else { return };
                let tmpl = Request::child_of(req, r, self.id, now);
                let pick = if self.cfg.layer == Some(4) {
                    self.pick_connection(r.conn, tmpl.key, tmpl.identity, now, ctx.warmup)
                } else {
                    self.pick_healthy(tmpl.key, tmpl.identity, now)
                };
                let Some(replica) = pick else {
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
                self.forwarded(replica, now);
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
                self.answered(replica, outcome, sent, now, ctx.warmup);
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
        self.conns_opened = 0;
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
        if self.cfg.layer == Some(4) {
            out.insert(
                format!("components.{}.connections_opened", self.cfg.name),
                self.conns_opened as f64,
            );
        }
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

/// The index's choices against the scans', over random sequences of what
/// changes them.
#[cfg(test)]
mod index_matches_scan {
    use super::*;
    use crate::model::Outcome;

    const S: SimTime = NS_PER_S;

    fn balancer(algorithm: Algorithm, n: u32, seed: u64) -> Balancer {
        let cfg = BalancerCfg {
            name: "lb".into(),
            algorithm,
            backend: 0,
            replicas: n,
            active: n,
            choices: 2,
            weights: vec![1.0; n as usize],
            vnodes: 1,
            identities: 1,
            health: Some(HealthCfg {
                interval: S,
                timeout: S,
                unhealthy_after: 1,
                healthy_after: 1,
            }),
            outlier: Some(OutlierCfg {
                consecutive_errors: 2,
                base_ejection_time: S / 2,
                max_ejection_time: 3 * S,
                max_ejection_percent: 40.0,
            }),
            layer: None,
            connections: 0,
        };
        Balancer::new(&cfg, 0, seed)
    }

    /// Every slot of the index as its replica's state says at `now`, once
    /// the ejections ended by then are applied (as before every choice that
    /// uses the index; with one replica serving there is no choice).
    fn check_index(b: &mut Balancer, now: SimTime) {
        b.expire(now);
        for i in 0..b.cfg.replicas as usize {
            let out = b.health[i].down || b.outlier[i].until > now;
            match &b.index {
                LoadIndex::Conn(t) => assert_eq!(t.leaf(i), conn_key(out, b.outstanding[i]), "slot {i}"),
                LoadIndex::Time(t) => {
                    assert_eq!(
                        t.leaf(i),
                        time_key(i, out, b.ewma[i], b.outstanding[i]),
                        "slot {i}"
                    )
                }
                LoadIndex::None => panic!("no index"),
            }
        }
    }

    /// The index's choice and the scan's from the same state: they must be
    /// the same replica (and advance the rotation alike).
    fn compare(b: &mut Balancer, now: SimTime, ctx: &str) -> Option<u32> {
        let rr = b.rr;
        let scan_raw = b.pick_scan(now);
        b.rr = rr;
        let scan = b.pick_healthy_scan(now);
        let rr_after = b.rr;
        b.rr = rr;
        let raw = b.pick(0, 0, now);
        assert_eq!(b.rr, rr_after, "{ctx}: rotation");
        // With every replica out, least_time's index answers its start
        // without costing the out ones: pick_healthy still finds none.
        let any_in = (0..b.active).any(|i| !b.out(i, now));
        if b.cfg.algorithm == Algorithm::LeastConnections || any_in {
            assert_eq!(raw, scan_raw, "{ctx}: pick");
        } else {
            assert!(b.out(raw, now), "{ctx}: an out replica");
        }
        b.rr = rr;
        let got = b.pick_healthy(0, 0, now);
        assert_eq!(got, scan, "{ctx}: pick_healthy");
        assert_eq!(b.rr, rr_after, "{ctx}: rotation");
        check_index(b, now);
        got
    }

    /// `steps` random operations on a balancer over `n` replicas, comparing
    /// the choices at every request.
    fn run(algorithm: Algorithm, n: u32, seed: u64, steps: usize) {
        let mut b = balancer(algorithm, n, seed);
        let mut r = rng::stream(seed, &format!("test/{algorithm:?}/{n}"));
        let mut now: SimTime = 0;
        let mut inflight: Vec<(u32, SimTime)> = Vec::new();
        let lt = algorithm == Algorithm::LeastTime;
        let mut picks = 0;
        for step in 0..steps {
            let ctx = format!("{algorithm:?} n={n} seed={seed} step={step} now={now}");
            match r.random_range(0..100u32) {
                0..40 => {
                    picks += 1;
                    if let Some(rep) = compare(&mut b, now, &ctx) {
                        b.forwarded(rep, now);
                        inflight.push((rep, now));
                    }
                }
                40..65 => {
                    if !inflight.is_empty() {
                        let k = r.random_range(0..inflight.len());
                        let (rep, sent) = inflight.swap_remove(k);
                        let outcome = if r.random_range(0..10u32) < 4 {
                            Outcome::Failed
                        } else {
                            Outcome::Ok
                        };
                        b.answered(rep as usize, outcome, sent, now, 0);
                    }
                }
                65..67 => {
                    // An answer from a replica with nothing outstanding
                    // (saturates), or a failure from any replica.
                    let rep = r.random_range(0..n) as usize;
                    b.answered(rep, Outcome::Failed, now, now, 0);
                }
                67..80 => {
                    now += match r.random_range(0..20u32) {
                        0 => 0,
                        1 => 1,
                        2..10 => r.random_range(1..1_000_000u64),
                        10..18 => r.random_range(1..3 * S),
                        18 => r.random_range(1..30 * S),
                        // Hours: EWMAs decay past underflow.
                        _ => r.random_range(5_000 * S..12_000 * S),
                    }
                }
                80..85 => {
                    let rep = r.random_range(0..n);
                    let ok = r.random_range(0..3u32) > 0;
                    let st = &mut b.health[rep as usize];
                    st.seq = st.seq.wrapping_add(1);
                    st.answered = false;
                    let seq = st.seq;
                    b.probe_result(rep, seq, ok, now, 0);
                }
                85..89 => {
                    let m = if r.random_range(0..4u32) == 0 {
                        n
                    } else {
                        r.random_range(1..=n)
                    };
                    b.members(m);
                }
                89..97 if lt => {
                    // Coarse EWMAs: exact ties, near ties (3000 × 1 against
                    // 1000 × 3), zeros, tiny averages and stale times.
                    let rep = r.random_range(0..n) as usize;
                    let avg = [0.0, 0.0, 1e3, 2e3, 3e3, 1e6, 1.5e6, 3e6, 1e-300, 5e-324]
                        [r.random_range(0..10usize)];
                    let age = [0, 0, 0, S, 7 * S, 1_000 * S, 6_000 * S, 7_500 * S][r.random_range(0..8usize)];
                    b.ewma[rep] = (avg, now.saturating_sub(age));
                    b.refresh(rep, now);
                }
                89..97 => {
                    // Coarse loads: many ties.
                    let rep = r.random_range(0..n) as usize;
                    b.outstanding[rep] = r.random_range(0..3u32);
                    b.refresh(rep, now);
                }
                _ => {
                    let rep = r.random_range(0..n) as usize;
                    b.outstanding[rep] = r.random_range(0..4u32);
                    b.refresh(rep, now);
                }
            }
        }
        assert!(picks > steps / 4);
    }

    fn sizes(algorithm: Algorithm) {
        for n in [1u32, 2, 3, 7, 64, 1000] {
            let (seeds, steps) = if n >= 1000 { (2, 3_000) } else { (6, 4_000) };
            for seed in 0..seeds {
                run(algorithm, n, seed, steps);
            }
        }
    }

    #[test]
    fn least_connections_index_chooses_as_the_scan() {
        sizes(Algorithm::LeastConnections);
    }

    #[test]
    fn least_time_index_chooses_as_the_scan() {
        sizes(Algorithm::LeastTime);
    }

    #[test]
    fn least_time_index_chooses_as_the_scan_with_all_averages_zero() {
        for n in [2u32, 3, 7, 64, 1000] {
            let mut b = balancer(Algorithm::LeastTime, n, 1);
            for k in 0..3 * n as u64 {
                let now = k * 1000;
                let rep = compare(&mut b, now, "zero").unwrap();
                b.forwarded(rep, now);
                if k % 5 == 4 {
                    b.members(1 + (k as u32 * 7) % n);
                }
            }
        }
    }

    #[test]
    fn least_time_index_chooses_as_the_scan_among_near_ties_and_underflow() {
        let n = 64u32;
        let mut b = balancer(Algorithm::LeastTime, n, 2);
        let mut now = 20_000 * S;
        // avg × (outstanding + 1) equal in exact arithmetic, at the same
        // time: the computed costs may differ in the last bit.
        for i in 0..n as usize {
            let o = (i % 4) as u32;
            b.ewma[i] = (3e3 * 12.0 / f64::from(o + 1), now - (i as u64 % 3) * S);
            b.outstanding[i] = o;
            b.refresh(i, now);
        }
        for k in 0..200 {
            compare(&mut b, now, "near ties");
            now += 1 + k % 7;
        }
        // Some replicas stale for two to three hours, their costs
        // underflowing to subnormals and to zero, others fresh.
        for i in 0..n as usize {
            let age = match i % 4 {
                0 => 0,
                1 => 7_100 * S + i as u64 * S,
                2 => 7_440 * S + i as u64 * S,
                _ => 9_000 * S,
            };
            b.ewma[i] = (1e6 + i as f64, now - age);
            b.refresh(i, now);
        }
        for k in 0..400 {
            let rep = compare(&mut b, now, "underflow").unwrap();
            if k % 2 == 0 {
                b.forwarded(rep, now);
            }
            now += 3 * S;
        }
    }
}

//! Retries, timeouts and the load they feed back, and the autoscaler's answer to a load that
//! changes in steps: the terms `explain` needs for issue 27, items 6 and 7.
//!
//! - Retry amplification: with k attempts each failing independently with probability p, a
//!   request makes (1 − p^k)/(1 − p) attempts on average and succeeds with probability 1 − p^k.
//! - Timeout probability from queueing: the FCFS response-time tail of M/M/1 and M/M/c.
//! - The retry fixed point: the load λ a server sees solves λ = λ0·A(p(λ)); all solutions are
//!   found and classified, and two stable ones are the metastable region of Bronson et al.
//! - The Kubernetes HPA rule and the replica count it settles at for a steady load, and a load
//!   schedule cut into its constant levels.
//!
//! Same conventions as the parent module: seconds and per-second rates in `f64`; results that do
//! not exist are `None`; nothing returns NaN.
#![warn(missing_docs)]
use super::erlang_c;
use crate::math;

// ============================================================================================
// Retry amplification
// ============================================================================================

/// `p` as a probability: clamped to [0, 1], NaN read as 1 (every attempt fails, the pessimistic
/// reading for a capacity prediction).
fn clamp_p(p: f64) -> f64 {
    if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) }
}

/// p^k for p in [0, 1], k ≥ 1, as exp(k·ln p) with ln p = ln_1p(p − 1) (p − 1 is exact for
/// p ≥ ½, so p near 1 keeps its digits). Returned with its complement 1 − p^k, computed as
/// −expm1(k·ln p) so that neither loses digits.
fn pow_and_complement(p: f64, k: u32) -> (f64, f64) {
    if p <= 0.0 {
        return (0.0, 1.0);
    }
    if p >= 1.0 {
        return (1.0, 0.0);
    }
    let x = f64::from(k) * math::ln_1p(p - 1.0);
    (math::exp(x), -math::exp_m1(x))
}

/// Expected number of attempts per request with at most `max_attempts` = k attempts in all (the
/// first try plus k − 1 retries), each failing independently with probability `p`:
///
/// A(p, k) = Σ_{i=0}^{k−1} p^i = (1 − p^k)/(1 − p), and A(1, k) = k.
///
/// Attempt i + 1 is made only if the first i all failed, which has probability p^i; the sum is
/// the finite geometric series (any probability text; e.g. Harchol-Balter 2013, *Performance
/// Modeling and Design of Computer Systems*, ch. 3, the geometric distribution truncated at k).
/// It is also the factor by which retries multiply the load a server sees.
///
/// p = 0 gives 1, p = 1 gives k, k = 0 gives 0 (no attempt at all). `p` outside [0, 1] is
/// clamped, NaN read as 1. Computed as −expm1(k·ln p)/(1 − p), accurate for p near 0 and 1.
pub fn attempts_per_request(p: f64, max_attempts: u32) -> f64 {
    let k = max_attempts;
    if k == 0 {
        return 0.0;
    }
    let p = clamp_p(p);
    if p >= 1.0 {
        return f64::from(k);
    }
    let (_, complement) = pow_and_complement(p, k);
    complement / (1.0 - p)
}

/// Probability that a request succeeds within k = `max_attempts` attempts, each failing
/// independently with probability `p`: 1 − p^k (it fails only if all k attempts fail).
/// k = 0 gives 0; `p` outside [0, 1] is clamped, NaN read as 1.
pub fn success_probability(p: f64, max_attempts: u32) -> f64 {
    if max_attempts == 0 {
        return 0.0;
    }
    pow_and_complement(clamp_p(p), max_attempts).1
}

// ============================================================================================
// Timeout probability: response-time tails
// ============================================================================================

/// P(T > t) for the response time T (wait + service) of FCFS M/M/1: e^{−(μ−λ)t}, since T is
/// exponential with rate μ − λ (Kleinrock 1975, *Queueing Systems* Vol. 1, §3.2, eq. 3.28).
/// With a timeout t this is the probability that an attempt times out.
///
/// t ≤ 0 gives 1, t = ∞ gives 0. None when λ ≥ μ (no steady state), for invalid rates (λ < 0,
/// μ ≤ 0, non-finite) or a NaN t.
pub fn mm1_response_tail(lambda: f64, mu: f64, t: f64) -> Option<f64> {
    mmc_response_tail(lambda, mu, 1, t)
}

/// P(T > t) for the response time T = W + S (wait in queue plus own service) of FCFS M/M/c,
/// `c` servers of rate `mu`, arrivals at rate `lambda`.
///
/// Derivation. The wait W is 0 with probability 1 − C and otherwise exponential with rate
/// θ = cμ − λ, where C = Erlang C(c, λ/μ) (Gross & Harris, *Fundamentals of Queueing Theory*,
/// eq. 2.33; Kleinrock Vol. 1 eq. 3.45). The own service S ~ Exp(μ) is independent of W. So
///
/// P(T > t) = (1 − C)·e^{−μt} + C·P(Exp(θ) + Exp(μ) > t),
///
/// and for θ ≠ μ the sum of two exponentials (hypoexponential; Harchol-Balter 2013 §4) has
/// P(Exp(θ) + Exp(μ) > t) = (θe^{−μt} − μe^{−θt})/(θ − μ). Collecting terms, with δ = θ − μ =
/// cμ − λ − μ:
///
/// P(T > t) = e^{−μt}·[1 + C·μ/δ·(1 − e^{−δt})]            (δ ≠ 0),
///
/// P(T > t) = e^{−μt}·(1 + C·μt)                            (δ = 0, the limit δ → 0: the
/// waiting customers' T is Erlang-2 with rate μ).
///
/// Checks: C = 0 gives e^{−μt} (no waiting); c = 1 has C = ρ and δ = −λ, and the bracket becomes
/// e^{λt}, so P(T > t) = e^{−(μ−λ)t}, the M/M/1 result.
///
/// Evaluated without cancellation for small |δt| (expm1) and without overflow of e^{−δt} for
/// large negative δt (the form C·μ·(e^{−μt} − e^{−θt})/δ). t ≤ 0 gives 1, t = ∞ gives 0.
/// None when λ ≥ cμ, c = 0, for invalid rates or a NaN t.
pub fn mmc_response_tail(lambda: f64, mu: f64, c: u32, t: f64) -> Option<f64> {
    let valid = lambda.is_finite() && mu.is_finite() && lambda >= 0.0 && mu > 0.0 && c > 0;
    let theta = f64::from(c) * mu - lambda;
    if !valid || theta <= 0.0 || t.is_nan() {
        return None;
    }
    if t <= 0.0 {
        return Some(1.0);
    }
    if t.is_infinite() {
        return Some(0.0);
    }
    let erl = erlang_c(c, lambda / mu);
    let delta = theta - mu;
    let e_mu = math::exp(-mu * t);
    // μ·(e^{−μt} − e^{−θt})/δ, the convolution term, in three regimes.
    let conv = if delta == 0.0 {
        mu * t * e_mu
    } else if (delta * t).abs() < 1.0 {
        mu * e_mu * (-math::exp_m1(-delta * t)) / delta
    } else {
        mu * (e_mu - math::exp(-theta * t)) / delta
    };
    Some((e_mu + erl * conv).clamp(0.0, 1.0))
}

/// Probability that one attempt at an M/M/c server (FCFS, `c` servers of rate `mu`) takes longer
/// than `timeout` when the server sees total load `lambda` (first tries and retries together):
/// [`mmc_response_tail`], and 1 when λ ≥ cμ (no steady state: the queue grows without bound and
/// in the long run every attempt waits longer than any timeout).
///
/// Assumes the attempt stream is Poisson and that the server finishes every attempt, including
/// those whose client has already given up (the server does not know) — the wasted work that
/// makes retry storms possible. None for invalid parameters (μ ≤ 0, c = 0, λ < 0, non-finite
/// rates, NaN timeout).
pub fn mmc_timeout_probability(lambda: f64, mu: f64, c: u32, timeout: f64) -> Option<f64> {
    let valid = lambda.is_finite() && mu.is_finite() && lambda >= 0.0 && mu > 0.0 && c > 0;
    if !valid || timeout.is_nan() {
        return None;
    }
    if lambda >= f64::from(c) * mu {
        return Some(1.0);
    }
    mmc_response_tail(lambda, mu, c, timeout)
}

// ============================================================================================
// The retry fixed point
// ============================================================================================

/// Grid intervals scanned on [λ0, kλ0] for sign changes of g. Two crossings closer together
/// than one interval ((k − 1)λ0/GRID) cancel and are not seen.
const GRID: usize = 10_000;

/// One solution of λ = λ0·A(p(λ)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixedPoint {
    /// The load λ the server sees (attempts per second: first tries and retries).
    pub load: f64,
    /// p(λ): the probability that one attempt fails at this load.
    pub p: f64,
    /// A(p): attempts per request, λ/λ0.
    pub attempts: f64,
    /// 1 − p^k: the fraction of requests that succeed.
    pub success: f64,
    /// λ0·(1 − p^k): successful requests per second.
    pub goodput: f64,
    /// Stable: g = λ0·A(p(λ)) − λ goes from positive to negative through the point (the slope of
    /// λ0·A(p(λ)) is below 1), so a small disturbance of the load dies out. Unstable crossings
    /// (negative to positive) and tangent touches are `false`.
    pub stable: bool,
    /// |g(λ)|/λ at the returned point: ≤ 1e-12 or so for a continuous p; large when p jumps
    /// across the equation instead of crossing it (a discontinuous p has no exact root there).
    pub residual: f64,
}

/// Which of the textbook situations the fixed points describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    /// One stable point, below the server's capacity: whatever the history, the load returns to
    /// it. This says stable, not good: with a timeout shorter than the usual response time most
    /// attempts may fail at that point; its `p` and `success` say how well it serves.
    Healthy,
    /// Two or more stable points: a good state and a retry-storm state, with an unstable point
    /// between them (the tipping load). Which one the system is in depends on its history — a
    /// burst or a slow spell can push it over into the storm, and it stays there after the
    /// trigger is gone: a metastable failure (Bronson, Aghayev, Charapko & Zhu, "Metastable
    /// Failures in Distributed Systems", HotOS 2021).
    Metastable,
    /// The only stable point is at or above the server's capacity: the retries (or the offered
    /// load itself) keep the server overloaded; there is no good state to return to.
    Overloaded,
    /// No stable crossing found: only tangent touches (g reaches 0 without changing sign), which
    /// the grid cannot classify. Does not arise for the M/M/c helper.
    Undetermined,
}

/// All fixed points of the retry loop, lowest load first, and what they add up to.
#[derive(Clone, Debug, PartialEq)]
pub struct FixedPoints {
    /// The fixed points in increasing load.
    pub points: Vec<FixedPoint>,
    /// The situation they describe.
    pub regime: Regime,
    /// The capacity used to tell a good point from an overloaded one.
    pub max_load: f64,
}

impl FixedPoints {
    /// The stable points, lowest load first.
    pub fn stable(&self) -> impl Iterator<Item = &FixedPoint> {
        self.points.iter().filter(|p| p.stable)
    }

    /// The good state: the lowest stable point, if it is below capacity.
    pub fn good(&self) -> Option<&FixedPoint> {
        self.stable().next().filter(|p| p.load < self.max_load)
    }

    /// The retry-storm state: the highest stable point when the regime is metastable or
    /// overloaded.
    pub fn storm(&self) -> Option<&FixedPoint> {
        match self.regime {
            Regime::Metastable | Regime::Overloaded => self.stable().last(),
            _ => None,
        }
    }

    /// The tipping load of a metastable system: the lowest unstable point above the good one.
    /// A load pushed above it runs away to the storm; below it, it falls back.
    pub fn tipping(&self) -> Option<&FixedPoint> {
        if self.regime != Regime::Metastable {
            return None;
        }
        let good = self.good()?.load;
        self.points.iter().find(|p| !p.stable && p.load > good)
    }
}

/// Every load λ in [λ0, kλ0] at which retries are self-consistent: a client offers `lambda0`
/// requests per second, makes at most `max_attempts` = k attempts per request, and each attempt
/// fails (times out) with probability `p_of_load(λ)` that depends on the total load λ the
/// server sees, so
///
/// λ = h(λ) := λ0·A(p(λ), k), A from [`attempts_per_request`].
///
/// Method: g(λ) = h(λ) − λ is evaluated on a grid of 10,000 intervals over [λ0, kλ0] (every
/// solution lies there, since 1 ≤ A ≤ k; g(λ0) ≥ 0 and g(kλ0) ≤ 0); each sign change is refined
/// by bisection to adjacent floating-point numbers, and a grid point where g is exactly 0 is a
/// solution itself. A crossing from + to − is stable (h' < 1: a small excess load produces
/// fewer retries than it needs to sustain itself), from − to + unstable. The endpoints are read
/// with g > 0 to their left and g < 0 to their right (outside the interval h is still within
/// [λ0, kλ0]), so a storm with p = 1 at λ = kλ0 is stable.
///
/// `max_load` is the server's capacity (cμ for M/M/c; ∞ if none): a stable point at or above it
/// is overloaded. It only classifies; it does not limit the search.
///
/// The model is a steady-state one (as in Bronson et al., HotOS 2021): the attempts of one
/// request fail independently with the same p, and retries join the stream the server sees
/// (backoff delays shift them in time but not their rate).
///
/// None for λ0 ≤ 0 or non-finite, k = 0, a NaN `max_load`, or a NaN p anywhere on the grid.
/// `p` outside [0, 1] is clamped.
pub fn retry_fixed_points(
    lambda0: f64,
    max_attempts: u32,
    p_of_load: impl Fn(f64) -> f64,
    max_load: f64,
) -> Option<FixedPoints> {
    let k = max_attempts;
    if !lambda0.is_finite() || lambda0 <= 0.0 || k == 0 || max_load.is_nan() {
        return None;
    }
    let point = |load: f64, stable: bool| -> Option<FixedPoint> {
        let p = p_of_load(load);
        if p.is_nan() {
            return None;
        }
        let p = p.clamp(0.0, 1.0);
        let attempts = attempts_per_request(p, k);
        let success = success_probability(p, k);
        Some(FixedPoint {
            load,
            p,
            attempts,
            success,
            goodput: lambda0 * success,
            stable,
            residual: (lambda0 * attempts - load).abs() / load,
        })
    };
    let g = |load: f64| -> Option<f64> {
        let p = p_of_load(load);
        (!p.is_nan()).then(|| lambda0 * attempts_per_request(p, k) - load)
    };
    let hi = lambda0 * f64::from(k);
    let mut points = Vec::new();
    if k == 1 {
        // No retries: the load is λ0 whatever p is, and h is constant (slope 0).
        points.push(point(lambda0, true)?);
    } else {
        let xs: Vec<f64> = (0..=GRID)
            .map(|i| {
                if i == GRID {
                    hi
                } else {
                    lambda0 + (hi - lambda0) * (i as f64 / GRID as f64)
                }
            })
            .collect();
        let gs: Vec<f64> = xs.iter().map(|&x| g(x)).collect::<Option<_>>()?;
        for i in 0..=GRID {
            if gs[i] == 0.0 {
                if i > 0 && gs[i - 1] == 0.0 {
                    continue; // a run of exact zeros is one solution, at its start
                }
                let before = gs[..i].iter().rev().find(|v| **v != 0.0).copied().unwrap_or(1.0);
                let after = gs[i + 1..].iter().find(|v| **v != 0.0).copied().unwrap_or(-1.0);
                points.push(point(xs[i], before > 0.0 && after < 0.0)?);
            } else if i < GRID && gs[i + 1] != 0.0 && (gs[i] > 0.0) != (gs[i + 1] > 0.0) {
                let (mut a, mut b) = (xs[i], xs[i + 1]);
                let (mut ga, mut gb) = (gs[i], gs[i + 1]);
                for _ in 0..200 {
                    let m = 0.5 * (a + b);
                    if m <= a || m >= b {
                        break;
                    }
                    let gm = g(m)?;
                    if gm == 0.0 {
                        (a, b, ga, gb) = (m, m, 0.0, 0.0);
                        break;
                    }
                    if (gm > 0.0) == (ga > 0.0) {
                        (a, ga) = (m, gm);
                    } else {
                        (b, gb) = (m, gm);
                    }
                }
                let root = if ga.abs() <= gb.abs() { a } else { b };
                points.push(point(root, gs[i] > 0.0)?);
            }
        }
    }
    let stable: Vec<&FixedPoint> = points.iter().filter(|p| p.stable).collect();
    let regime = match stable.as_slice() {
        [] => Regime::Undetermined,
        [only] if only.load >= max_load => Regime::Overloaded,
        [_] => Regime::Healthy,
        _ => Regime::Metastable,
    };
    Some(FixedPoints {
        points,
        regime,
        max_load,
    })
}

/// [`retry_fixed_points`] for the common case: the server is M/M/c (`c` servers of rate `mu`,
/// FCFS) and an attempt fails when its response time exceeds `timeout`, so
/// p(λ) = [`mmc_timeout_probability`] (P(T > timeout) below capacity, 1 at or above cμ) and the
/// capacity is cμ.
///
/// With kλ0 ≥ cμ there is always a storm point at λ = kλ0 (every attempt times out, the client
/// sends all k); if the offered λ0 is comfortably below cμ there is also a good point, and then
/// the system is metastable. None for invalid parameters (see [`retry_fixed_points`] and
/// [`mmc_timeout_probability`]).
pub fn mmc_retry_fixed_points(
    lambda0: f64,
    max_attempts: u32,
    mu: f64,
    c: u32,
    timeout: f64,
) -> Option<FixedPoints> {
    mmc_timeout_probability(0.0, mu, c, timeout)?;
    let p = |load: f64| mmc_timeout_probability(load, mu, c, timeout).unwrap_or(f64::NAN);
    retry_fixed_points(lambda0, max_attempts, p, f64::from(c) * mu)
}

// ============================================================================================
// Time-varying load: the HPA rule and load levels
// ============================================================================================

/// Clamp to [min, max] without panicking when min > max (then max wins, as the upper bound is
/// applied last).
fn bound(n: u32, min: u32, max: u32) -> u32 {
    n.max(min).min(max)
}

/// The Kubernetes Horizontal Pod Autoscaler's replica proposal from one reading (Kubernetes
/// documentation, "Horizontal Pod Autoscaling", section "Algorithm details"):
///
/// desired = ceil(current × metric/target),
///
/// except that no change is made while |metric/target − 1| ≤ `tolerance` (0.1 by default;
/// inclusive), and the result is bounded to [min, max]. `current_metric` is the average over
/// the current replicas (e.g. CPU utilisation), `target` its target value.
///
/// Left out (they are in the simulator's autoscaler, not here): the scale-down stabilisation
/// window (300 s by default), the rate policies, and the treatment of replicas still starting.
/// A workload at 0 replicas is not scaled (the controller disables autoscaling then): 0 is
/// returned. A target ≤ 0 or a NaN metric or target makes no decision: `current`, bounded.
pub fn hpa_desired(
    current_replicas: u32,
    current_metric: f64,
    target: f64,
    tolerance: f64,
    min: u32,
    max: u32,
) -> u32 {
    if current_replicas == 0 {
        return 0;
    }
    let ratio = current_metric / target;
    if target.is_nan() || target <= 0.0 || ratio.is_nan() || (1.0 - ratio).abs() <= tolerance {
        return bound(current_replicas, min, max);
    }
    // `as` saturates: an infinite or huge proposal becomes u32::MAX, then `max`.
    bound((ratio * f64::from(current_replicas)).ceil() as u32, min, max)
}

/// The replica count the HPA settles at for a steady load of `rate` requests per second, when
/// each replica serves `per_replica_capacity_rps` at full utilisation and the target is
/// `target_utilization` (a fraction, e.g. 0.6), the metric being the replicas' average
/// utilisation u(n) = rate/(n·cap):
///
/// n* = ceil(rate/(cap·target)), bounded to [min, max].
///
/// Why: from n replicas with u(n) outside the tolerance band and not saturated (rate ≤ n·cap),
/// [`hpa_desired`] proposes ceil(n·u(n)/target) = ceil(rate/(cap·target)) = n*, whatever n is —
/// one sync period. And n* is itself a fixed point whatever the tolerance: u(n*)/target lies in
/// ((n* − 1)/n*, 1], so either it is inside the band (no change) or the proposal is n* again.
///
/// It is not the only fixed point: every n with |rate/(n·cap·target) − 1| ≤ tolerance stays
/// where it is, so an HPA that starts inside that band (or enters it on its way up from a
/// saturated start, where u is capped at 1 and the count grows by at most a factor 1/target per
/// sync) stops there. [`hpa_trajectory`] follows the exact path from a given start.
///
/// The rate's worth of replicas at exactly the target is rate/(cap·target); ceil rounds in
/// floating point, so a quotient that should be an exact integer may round up by one.
/// Invalid inputs (cap or target ≤ 0, negative or NaN rate) give `min` bounded by `max`.
pub fn settled_replicas(
    rate: f64,
    per_replica_capacity_rps: f64,
    target_utilization: f64,
    min: u32,
    max: u32,
) -> u32 {
    let need = rate / (per_replica_capacity_rps * target_utilization);
    let valid = per_replica_capacity_rps > 0.0 && target_utilization > 0.0 && rate >= 0.0;
    if !valid || need.is_nan() {
        return bound(min, min, max);
    }
    bound(need.ceil() as u32, min, max)
}

/// The replica counts an HPA goes through, one per sync period, from `start` replicas under a
/// steady `rate` (see [`settled_replicas`] for the parameters), until the count stops changing:
/// each step is [`hpa_desired`] with the measured utilisation min(rate/(n·cap), 1) (a saturated
/// replica cannot report more than full utilisation). The first element is `start`, the last
/// the settled count; (len − 1) sync periods (15 s each by default) plus the replicas' start-up
/// time is the reaction time of the rule alone, without the stabilisation window and rate
/// policies.
///
/// The path is monotone: up by at most a factor 1/target per step while saturated (never past
/// [`settled_replicas`]), then at most one step to it; so it ends within a few dozen steps. It
/// is cut at 1,000 steps in any case. `start` = 0 gives the path `vec![0]`.
pub fn hpa_trajectory(
    start: u32,
    rate: f64,
    per_replica_capacity_rps: f64,
    target_utilization: f64,
    tolerance: f64,
    min: u32,
    max: u32,
) -> Vec<u32> {
    let mut path = vec![start];
    let mut n = start;
    for _ in 0..1_000 {
        if n == 0 {
            break;
        }
        let u = (rate / (f64::from(n) * per_replica_capacity_rps)).min(1.0);
        let next = hpa_desired(n, u, target_utilization, tolerance, min, max);
        if next == n {
            break;
        }
        path.push(next);
        n = next;
    }
    path
}

/// One constant stretch of a load schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    /// Start, seconds from the beginning of the run.
    pub start: f64,
    /// End, seconds (exclusive).
    pub end: f64,
    /// Offered rate during the stretch, per second.
    pub rate: f64,
}

/// Cuts a piecewise-constant schedule into its levels over [0, `duration_s`): `schedule` is a
/// list of (start in seconds, rate per second) steps, each rate holding from its start to the
/// next step's start, and the rate before the first step is 0 — the simulator's `Schedule`
/// arrival process (model/client.rs). Steps are taken in order of start (a stable sort, so of
/// two steps at the same time the later in the list wins); neighbouring levels with the same
/// rate are merged; levels of zero length and anything at or after `duration_s` are dropped.
/// Steps with a NaN start or rate are ignored. An empty schedule is one level of rate 0.
pub fn piecewise_levels(schedule: &[(f64, f64)], duration_s: f64) -> Vec<Level> {
    let mut steps: Vec<(f64, f64)> = schedule
        .iter()
        .copied()
        .filter(|(s, r)| !s.is_nan() && !r.is_nan())
        .collect();
    steps.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut levels: Vec<Level> = Vec::new();
    if duration_s.is_nan() || duration_s <= 0.0 {
        return levels;
    }
    let mut push = |start: f64, end: f64, rate: f64| {
        let (start, end) = (start.max(0.0), end.min(duration_s));
        if end <= start {
            return;
        }
        match levels.last_mut() {
            Some(last) if last.rate == rate && last.end == start => last.end = end,
            _ => levels.push(Level { start, end, rate }),
        }
    };
    let mut t = 0.0;
    let mut rate = 0.0;
    for &(s, r) in &steps {
        push(t, s, rate);
        t = t.max(s);
        rate = r;
    }
    push(t, duration_s, rate);
    levels
}

// ============================================================================================
// Tests
// ============================================================================================

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * a.abs().max(b.abs()).max(f64::MIN_POSITIVE)
    }

    // ---------------------------------------------------------------- retry amplification

    #[test]
    fn attempts_at_the_ends() {
        for k in [1, 2, 3, 7, 100] {
            assert_eq!(attempts_per_request(0.0, k), 1.0);
            assert_eq!(attempts_per_request(1.0, k), f64::from(k));
            assert_eq!(success_probability(0.0, k), 1.0);
            assert_eq!(success_probability(1.0, k), 0.0);
        }
        assert_eq!(attempts_per_request(0.4, 0), 0.0);
        assert_eq!(success_probability(0.4, 0), 0.0);
        assert_eq!(attempts_per_request(0.4, 1), 1.0);
        // Clamping and NaN.
        assert_eq!(attempts_per_request(-0.5, 3), 1.0);
        assert_eq!(attempts_per_request(1.5, 3), 3.0);
        assert_eq!(attempts_per_request(f64::NAN, 3), 3.0);
        assert_eq!(success_probability(f64::NAN, 3), 0.0);
    }

    #[test]
    fn attempts_are_the_geometric_series_summed_directly() {
        for &p in &[1e-9, 0.01, 0.1, 0.3, 0.5, 0.9, 0.99, 0.999_999] {
            for k in [1u32, 2, 3, 5, 10, 50] {
                let mut sum = 0.0;
                let mut term = 1.0;
                for _ in 0..k {
                    sum += term;
                    term *= p;
                }
                // term is now p^k.
                let a = attempts_per_request(p, k);
                assert!(close(a, sum, 1e-12), "p {p} k {k}: {a} vs {sum}");
                let s = success_probability(p, k);
                assert!(
                    close(s, 1.0 - term, 1e-9) || (s - (1.0 - term)).abs() < 1e-15,
                    "p {p} k {k}: {s}"
                );
                // A = (1 − p^k)/(1 − p) where that is well conditioned.
                if p <= 0.9 {
                    assert!(close(a, (1.0 - term) / (1.0 - p), 1e-12));
                }
            }
        }
        // Near p = 1 the series tends to k: A(1 − ε, k) ≈ k − εk(k−1)/2.
        let eps = 1e-12;
        let a = attempts_per_request(1.0 - eps, 10);
        assert!((a - (10.0 - eps * 45.0)).abs() < 1e-14, "{a}");
    }

    #[test]
    fn attempts_match_a_monte_carlo_of_retries() {
        // 10^6 requests; each attempt fails with probability p; stop at success or k attempts.
        let mut rng = ChaCha8Rng::seed_from_u64(27);
        for &(p, k) in &[(0.3, 4u32), (0.7, 3), (0.9, 10)] {
            let n = 1_000_000;
            let (mut sum, mut sum2, mut ok) = (0.0, 0.0, 0u64);
            for _ in 0..n {
                let mut a = 0u32;
                let mut success = false;
                while a < k {
                    a += 1;
                    if rng.random::<f64>() >= p {
                        success = true;
                        break;
                    }
                }
                let a = f64::from(a);
                sum += a;
                sum2 += a * a;
                ok += u64::from(success);
            }
            let nf = f64::from(n);
            let mean = sum / nf;
            let se = ((sum2 / nf - mean * mean) / nf).sqrt();
            let a = attempts_per_request(p, k);
            assert!(
                (mean - a).abs() < 4.0 * se,
                "p {p} k {k}: mc {mean} ± {se}, formula {a}"
            );
            let s = success_probability(p, k);
            let frac = ok as f64 / nf;
            let se_s = (s * (1.0 - s) / nf).sqrt();
            assert!(
                (frac - s).abs() < 4.0 * se_s,
                "p {p} k {k}: mc {frac}, formula {s}"
            );
        }
    }

    // ---------------------------------------------------------------- response-time tails

    #[test]
    fn mm1_tail_is_exponential() {
        let (l, m) = (3.0, 5.0);
        for t in [0.01, 0.1, 0.5, 1.0, 3.0] {
            let want = math::exp(-(m - l) * t);
            assert!(close(mm1_response_tail(l, m, t).unwrap(), want, 1e-14));
        }
        assert_eq!(mm1_response_tail(l, m, 0.0), Some(1.0));
        assert_eq!(mm1_response_tail(l, m, -1.0), Some(1.0));
        assert_eq!(mm1_response_tail(l, m, f64::INFINITY), Some(0.0));
        assert_eq!(mm1_response_tail(5.0, 5.0, 1.0), None);
        assert_eq!(mm1_response_tail(-1.0, 5.0, 1.0), None);
        assert_eq!(mm1_response_tail(1.0, 5.0, f64::NAN), None);
        // The median of Exp(μ − λ) is ln 2/(μ − λ).
        let med = math::ln(2.0) / (m - l);
        assert!((mm1_response_tail(l, m, med).unwrap() - 0.5).abs() < 1e-15);
    }

    #[test]
    fn mmc_tail_with_one_server_is_mm1() {
        for &(l, m) in &[(0.5, 1.0), (0.99, 1.0), (10.0, 11.0), (1e-3, 2.0)] {
            for t in [0.001, 0.1, 1.0, 10.0, 100.0] {
                let got = mmc_response_tail(l, m, 1, t).unwrap();
                let want = math::exp(-(m - l) * t);
                assert!(close(got, want, 1e-12), "λ {l} μ {m} t {t}: {got} vs {want}");
            }
        }
    }

    /// Independent computation: P(T > t) = (1 − C)e^{−μt} + C·[e^{−θt} + ∫_0^t θe^{−θw}·e^{−μ(t−w)} dw],
    /// the convolution integral done by composite Simpson's rule.
    fn tail_by_convolution(lambda: f64, mu: f64, c: u32, t: f64) -> f64 {
        let theta = f64::from(c) * mu - lambda;
        let erl = erlang_c(c, lambda / mu);
        let n = 20_000;
        let h = t / n as f64;
        let f = |w: f64| theta * math::exp(-theta * w) * math::exp(-mu * (t - w));
        let mut s = f(0.0) + f(t);
        for i in 1..n {
            s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(i as f64 * h);
        }
        let integral = s * h / 3.0;
        (1.0 - erl) * math::exp(-mu * t) + erl * (math::exp(-theta * t) + integral)
    }

    #[test]
    fn mmc_tail_matches_numerical_convolution() {
        // δ = cμ − λ − μ positive, negative, small, and exactly zero (c = 2, μ = 1, λ = 1).
        let cases = [
            (2.4, 1.0, 3u32),
            (2.9, 1.0, 3),
            (1.0, 1.0, 2),
            (1.0 + 1e-9, 1.0, 2),
            (7.0, 0.8, 10),
            (50.0, 1.0, 64),
            (0.3, 2.0, 4),
        ];
        for &(l, m, c) in &cases {
            for t in [0.05, 0.5, 1.0, 2.0, 5.0, 20.0] {
                let got = mmc_response_tail(l, m, c, t).unwrap();
                let want = tail_by_convolution(l, m, c, t);
                assert!(
                    (got - want).abs() < 1e-11 + 1e-9 * want,
                    "λ {l} μ {m} c {c} t {t}: {got} vs {want}"
                );
            }
        }
        // The δ = 0 closed form e^{−μt}(1 + Cμt), and continuity across it.
        let (l, m, c, t) = (1.0, 1.0, 2u32, 1.5);
        let erl = erlang_c(c, l / m);
        let want = math::exp(-m * t) * (1.0 + erl * m * t);
        assert!(close(mmc_response_tail(l, m, c, t).unwrap(), want, 1e-15));
        for d in [1e-12, 1e-8, -1e-8, -1e-12] {
            let near = mmc_response_tail(l + d, m, c, t).unwrap();
            assert!((near - want).abs() < 1e-7, "δ {d}: {near} vs {want}");
        }
    }

    #[test]
    fn mmc_tail_matches_a_simulated_queue() {
        // FCFS M/M/c as an event loop: each arrival, in order, takes the server that frees up
        // first and starts at max(arrival, that time). 2·10^6 customers after 10^4 warm-up;
        // standard error by 40 batch means (the sojourns are correlated), 4 of them allowed.
        for &(l, m, c) in &[(2.4, 1.0, 3u32), (1.4, 1.0, 2)] {
            let ts = [0.25, 1.0, 2.0, 4.0];
            let mut rng = ChaCha8Rng::seed_from_u64(0x27 + u64::from(c));
            let mut exp = |rate: f64| -math::ln_1p(-rng.random::<f64>()) / rate;
            let mut free = vec![0.0f64; c as usize];
            let mut now = 0.0;
            let (warm, n, batches) = (10_000usize, 2_000_000usize, 40usize);
            let per = n / batches;
            let mut counts = vec![[0u32; 4]; batches];
            for i in 0..warm + n {
                now += exp(l);
                let (j, &f) = free.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).unwrap();
                let done = now.max(f) + exp(m);
                free[j] = done;
                if i >= warm {
                    let b = (i - warm) / per;
                    for (q, &t) in ts.iter().enumerate() {
                        counts[b][q] += u32::from(done - now > t);
                    }
                }
            }
            for (q, &t) in ts.iter().enumerate() {
                let means: Vec<f64> = counts.iter().map(|b| f64::from(b[q]) / per as f64).collect();
                let mean = means.iter().sum::<f64>() / batches as f64;
                let var = means.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (batches - 1) as f64;
                let se = (var / batches as f64).sqrt();
                let want = mmc_response_tail(l, m, c, t).unwrap();
                assert!(
                    (mean - want).abs() < 4.0 * se && (mean - want).abs() < 0.01,
                    "λ {l} μ {m} c {c} t {t}: simulated {mean} ± {se}, formula {want}"
                );
            }
        }
    }

    #[test]
    fn timeout_probability_is_one_at_capacity() {
        assert_eq!(mmc_timeout_probability(3.0, 1.0, 3, 10.0), Some(1.0));
        assert_eq!(mmc_timeout_probability(5.0, 1.0, 3, 10.0), Some(1.0));
        assert_eq!(
            mmc_timeout_probability(2.0, 1.0, 3, 1.0),
            mmc_response_tail(2.0, 1.0, 3, 1.0)
        );
        assert_eq!(mmc_timeout_probability(2.0, 1.0, 0, 1.0), None);
        // Continuous at capacity: the tail tends to 1 as λ → cμ.
        let p = mmc_timeout_probability(3.0 - 1e-7, 1.0, 3, 1.0).unwrap();
        assert!(p > 1.0 - 1e-5, "{p}");
    }

    // ---------------------------------------------------------------- the retry fixed point

    /// Every point solves λ = λ0·A(p(λ)) within 1e-9 relative, and the stable flags agree with a
    /// central-difference slope of h = λ0·A(p(·)) (below 1 is stable) where h is smooth.
    fn check_points(fp: &FixedPoints, lambda0: f64, k: u32, p: impl Fn(f64) -> f64) {
        for pt in &fp.points {
            let h = lambda0 * attempts_per_request(p(pt.load), k);
            assert!(close(h, pt.load, 1e-9), "{pt:?}: h = {h}");
            assert!(pt.residual <= 1e-9);
            assert!(close(pt.attempts, pt.load / lambda0, 1e-9));
        }
        assert!(fp.points.windows(2).all(|w| w[0].load < w[1].load));
    }

    fn slope(lambda0: f64, k: u32, p: &impl Fn(f64) -> f64, x: f64) -> f64 {
        let e = 1e-6 * x;
        let h = |y: f64| lambda0 * attempts_per_request(p(y), k);
        (h(x + e) - h(x - e)) / (2.0 * e)
    }

    #[test]
    fn one_good_stable_point() {
        // M/M/1, μ = 1, λ0 = 0.3, 3 attempts, timeout 10 mean services: kλ0 = 0.9 < μ, and
        // timeouts are rare: one stable point just above λ0.
        let (l0, k, mu, c, t) = (0.3, 3, 1.0, 1, 10.0);
        let fp = mmc_retry_fixed_points(l0, k, mu, c, t).unwrap();
        let p = |x: f64| mmc_timeout_probability(x, mu, c, t).unwrap();
        check_points(&fp, l0, k, p);
        assert_eq!(fp.regime, Regime::Healthy);
        assert_eq!(fp.points.len(), 1);
        let good = fp.good().unwrap();
        assert!(good.stable && good.load > l0 && good.load < 0.301, "{good:?}");
        assert!(slope(l0, k, &p, good.load) < 1.0);
        assert!(fp.storm().is_none() && fp.tipping().is_none());
        // Independent check by plain iteration λ ← λ0·A(p(λ)) from λ0 (a contraction here).
        let mut x = l0;
        for _ in 0..200 {
            x = l0 * attempts_per_request(p(x), k);
        }
        assert!(close(x, good.load, 1e-12), "{x} vs {}", good.load);
    }

    #[test]
    fn overload_has_no_good_point() {
        // Offered above capacity: every attempt fails, the load is kλ0.
        let fp = mmc_retry_fixed_points(1.2, 3, 1.0, 1, 5.0).unwrap();
        assert_eq!(fp.regime, Regime::Overloaded);
        assert_eq!(fp.points.len(), 1);
        let s = fp.storm().unwrap();
        assert!(s.stable && s.p == 1.0 && close(s.load, 3.6, 1e-15) && s.success == 0.0);
        assert!(fp.good().is_none());
        // Offered below capacity (0.9 of it) but a timeout of 2 mean services: already at λ0
        // most attempts time out, and their retries push the server over.
        let (l0, k, mu, c, t) = (0.9, 3, 1.0, 1, 2.0);
        let fp = mmc_retry_fixed_points(l0, k, mu, c, t).unwrap();
        check_points(&fp, l0, k, |x| mmc_timeout_probability(x, mu, c, t).unwrap());
        assert_eq!(fp.regime, Regime::Overloaded);
        assert_eq!(fp.points.len(), 1);
        assert!(close(fp.points[0].load, 2.7, 1e-15));
        assert!(fp.good().is_none());
    }

    #[test]
    fn constructed_metastable_case_has_two_stable_points_and_one_unstable() {
        // Choose h(λ) = λ − (λ − 1.2)(λ − 1.5)(λ − 1.8) on [λ0, kλ0] = [1, 3] with k = 3 and
        // λ0 = 1, and p(λ) = the p with 1 + p + p² = h(λ) (so h = λ0·A(p(λ))). Then
        // g = −(λ − 1.2)(λ − 1.5)(λ − 1.8): stable at 1.2 and 1.8, unstable at 1.5. Above
        // λ ≈ 2.72 the cubic takes h below 1 (p would be negative) and p is clamped to 0, h = 1:
        // g < 0 there as well, so no other root.
        let (l0, k) = (1.0, 3);
        let h = |x: f64| x - (x - 1.2) * (x - 1.5) * (x - 1.8);
        let p = |x: f64| {
            let target = h(x).clamp(1.0, 3.0);
            0.5 * (-1.0 + (4.0 * target - 3.0).sqrt())
        };
        // h is within [1, 3] up to 2.7 (the clamp does not bite there).
        for i in 0..=1000 {
            let x = 1.0 + 2.0 * f64::from(i) / 1000.0;
            let v = h(x);
            assert!((1.0..=3.0).contains(&v) || x > 2.7, "{x}: {v}");
        }
        let fp = retry_fixed_points(l0, k, p, 2.5).unwrap();
        check_points(&fp, l0, k, p);
        let loads: Vec<f64> = fp.points.iter().map(|q| q.load).collect();
        let stable: Vec<bool> = fp.points.iter().map(|q| q.stable).collect();
        assert_eq!(stable, [true, false, true], "{loads:?}");
        for (got, want) in loads.iter().zip([1.2, 1.5, 1.8]) {
            assert!((got - want).abs() < 1e-12, "{loads:?}");
        }
        for q in &fp.points {
            let s = slope(l0, k, &p, q.load);
            assert_eq!(s < 1.0, q.stable, "{q:?}: slope {s}");
        }
        assert_eq!(fp.regime, Regime::Metastable);
        assert!(close(fp.good().unwrap().load, 1.2, 1e-12));
        assert!(close(fp.tipping().unwrap().load, 1.5, 1e-12));
        // The storm state here is below capacity (2.5): a third of the attempts fail.
        assert!(close(fp.storm().unwrap().load, 1.8, 1e-12));
    }

    #[test]
    fn constructed_case_with_three_roots_only() {
        // The same cubic with k = 2 on [1, 2], where h stays inside [1, 2]: exactly three
        // crossings, stable / unstable / stable.
        let (l0, k) = (1.0, 2);
        let h = |x: f64| x - (x - 1.2) * (x - 1.5) * (x - 1.8);
        let p = |x: f64| h(x) - 1.0;
        let fp = retry_fixed_points(l0, k, p, f64::INFINITY).unwrap();
        check_points(&fp, l0, k, p);
        assert_eq!(fp.points.len(), 3);
        let stable: Vec<bool> = fp.points.iter().map(|q| q.stable).collect();
        assert_eq!(stable, [true, false, true]);
        for (q, want) in fp.points.iter().zip([1.2, 1.5, 1.8]) {
            assert!((q.load - want).abs() < 1e-12, "{q:?}");
        }
        assert_eq!(fp.regime, Regime::Metastable);
    }

    #[test]
    fn mmc_server_with_retries_is_metastable() {
        // M/M/1, μ = 1, λ0 = 0.5, 3 attempts, timeout 5: a good point near λ0 (p ≈ 0.1), a
        // tipping point, and the storm at kλ0 = 1.5 where every attempt times out.
        let (l0, k, mu, c, t) = (0.5, 3, 1.0, 1, 5.0);
        let p = |x: f64| mmc_timeout_probability(x, mu, c, t).unwrap();
        let fp = mmc_retry_fixed_points(l0, k, mu, c, t).unwrap();
        check_points(&fp, l0, k, p);
        assert_eq!(fp.regime, Regime::Metastable);
        assert_eq!(fp.points.len(), 3);
        let stable: Vec<bool> = fp.points.iter().map(|q| q.stable).collect();
        assert_eq!(stable, [true, false, true]);
        let (good, tip, storm) = (fp.good().unwrap(), fp.tipping().unwrap(), fp.storm().unwrap());
        assert!(good.load > 0.5 && good.load < 0.6 && good.p < 0.15, "{good:?}");
        assert!(tip.load > 0.6 && tip.load < 0.9, "{tip:?}");
        assert!(close(storm.load, 1.5, 1e-15) && storm.p == 1.0);
        assert!(slope(l0, k, &p, good.load) < 1.0 && slope(l0, k, &p, tip.load) > 1.0);
        // M/M/3 as well: λ0 = 1.8 (ρ0 = 0.6), 4 attempts, timeout 3 mean services.
        let (l0, k, mu, c, t) = (1.8, 4, 1.0, 3, 3.0);
        let fp = mmc_retry_fixed_points(l0, k, mu, c, t).unwrap();
        check_points(&fp, l0, k, |x| mmc_timeout_probability(x, mu, c, t).unwrap());
        assert_eq!(fp.regime, Regime::Metastable);
        assert!(close(fp.storm().unwrap().load, 7.2, 1e-15));
        assert!(fp.good().unwrap().load < fp.tipping().unwrap().load);
        // No retries: the load is λ0.
        let fp = mmc_retry_fixed_points(0.5, 1, 1.0, 1, 5.0).unwrap();
        assert_eq!(fp.points.len(), 1);
        assert_eq!(fp.points[0].load, 0.5);
        assert_eq!(fp.regime, Regime::Healthy);
    }

    #[test]
    fn fixed_points_reject_invalid_input() {
        assert!(retry_fixed_points(0.0, 3, |_| 0.1, 1.0).is_none());
        assert!(retry_fixed_points(1.0, 0, |_| 0.1, 1.0).is_none());
        assert!(retry_fixed_points(1.0, 3, |_| f64::NAN, 1.0).is_none());
        assert!(retry_fixed_points(1.0, 3, |_| 0.1, f64::NAN).is_none());
        assert!(mmc_retry_fixed_points(1.0, 3, 0.0, 1, 1.0).is_none());
        assert!(mmc_retry_fixed_points(1.0, 3, 1.0, 0, 1.0).is_none());
        // A constant p: one point, λ0·A(p), stable; an exact zero of g at the left end (p = 0).
        let fp = retry_fixed_points(2.0, 4, |_| 0.5, f64::INFINITY).unwrap();
        assert_eq!(fp.points.len(), 1);
        assert!(close(fp.points[0].load, 2.0 * 1.875, 1e-15) && fp.points[0].stable);
        let fp = retry_fixed_points(2.0, 4, |_| 0.0, f64::INFINITY).unwrap();
        assert_eq!(fp.points.len(), 1);
        assert!(fp.points[0].load == 2.0 && fp.points[0].stable);
    }

    // ---------------------------------------------------------------- HPA and load levels

    #[test]
    fn hpa_rule() {
        // ceil(current × metric/target).
        assert_eq!(hpa_desired(4, 0.9, 0.5, 0.1, 1, 100), 8); // 7.2 → 8
        assert_eq!(hpa_desired(10, 0.3, 0.6, 0.1, 1, 100), 5);
        // The documentation's examples: metric twice the target doubles, half halves.
        assert_eq!(hpa_desired(3, 200.0, 100.0, 0.1, 1, 100), 6);
        assert_eq!(hpa_desired(4, 50.0, 100.0, 0.1, 1, 100), 2);
        // Tolerance band, inclusive (ratios 1.25 and 0.75 are exact in binary; 1.1 is not, and
        // |1 − 110/100| is 0.10000000000000009 > 0.1, as in the controller's float64 code).
        assert_eq!(hpa_desired(10, 125.0, 100.0, 0.25, 1, 100), 10);
        assert_eq!(hpa_desired(10, 75.0, 100.0, 0.25, 1, 100), 10);
        assert_eq!(hpa_desired(10, 126.0, 100.0, 0.25, 1, 100), 13);
        assert_eq!(hpa_desired(10, 0.5, 0.5, 0.1, 1, 100), 10);
        assert_eq!(hpa_desired(10, 112.0, 100.0, 0.1, 1, 100), 12);
        assert_eq!(hpa_desired(10, 88.0, 100.0, 0.1, 1, 100), 9); // 8.8 → 9
        // Bounds, also inside the band.
        assert_eq!(hpa_desired(4, 0.9, 0.1, 0.1, 1, 10), 10);
        assert_eq!(hpa_desired(4, 0.01, 0.5, 0.1, 2, 10), 2);
        assert_eq!(hpa_desired(1, 1.0, 1.0, 0.1, 2, 10), 2);
        // Zero replicas: not scaled. Bad target: no decision.
        assert_eq!(hpa_desired(0, 0.9, 0.5, 0.1, 1, 10), 0);
        assert_eq!(hpa_desired(4, 0.9, 0.0, 0.1, 1, 10), 4);
        assert_eq!(hpa_desired(4, f64::NAN, 0.5, 0.1, 1, 10), 4);
        assert_eq!(hpa_desired(4, f64::INFINITY, 0.5, 0.1, 1, 10), 10);
    }

    #[test]
    fn settled_count_is_where_iterating_the_rule_stops() {
        let cap = 100.0;
        for &target in &[0.5, 0.6, 0.7, 0.85] {
            for i in 0..400 {
                // Rates chosen off the integer multiples of cap·target.
                let rate = 3.7 + 17.3 * f64::from(i);
                let need = rate / (cap * target);
                if (need - need.round()).abs() < 1e-9 {
                    continue; // an exact integer may round either way
                }
                let want = settled_replicas(rate, cap, target, 1, 1_000);
                // It is a fixed point of the rule, at utilisation ≤ target, and n − 1 would be
                // above target.
                let u = rate / (f64::from(want) * cap);
                assert_eq!(hpa_desired(want, u, target, 0.1, 1, 1_000), want);
                assert!(u <= target && (want == 1 || rate / (f64::from(want - 1) * cap) > target));
                // From any start outside the band and not saturated: there in one step.
                for start in 1..=60u32 {
                    let path = hpa_trajectory(start, rate, cap, target, 0.1, 1, 1_000);
                    let end = *path.last().unwrap();
                    let u0 = rate / (f64::from(start) * cap);
                    let in_band = (u0.min(1.0) / target - 1.0).abs() <= 0.1;
                    if in_band || start == want {
                        // Inside the band, or outside it but already at n*: no change.
                        assert_eq!(path, [start]);
                    } else if u0 <= 1.0 {
                        assert_eq!(path, [start, want], "rate {rate} target {target} start {start}");
                    } else {
                        // Saturated: up by ≤ 1/target per step, never past n*, to a fixed point.
                        assert!(path.windows(2).all(|w| w[1] > w[0] && w[1] <= want));
                        let ue = rate / (f64::from(end) * cap);
                        assert_eq!(hpa_desired(end, ue.min(1.0), target, 0.1, 1, 1_000), end);
                        assert!(end == want || (ue / target - 1.0).abs() <= 0.1);
                    }
                }
            }
        }
        // Bounds and degenerate inputs.
        assert_eq!(settled_replicas(10_000.0, 100.0, 0.5, 1, 50), 50);
        assert_eq!(settled_replicas(0.0, 100.0, 0.5, 2, 50), 2);
        assert_eq!(settled_replicas(10.0, 0.0, 0.5, 2, 50), 2);
        assert_eq!(settled_replicas(f64::NAN, 100.0, 0.5, 2, 50), 2);
        assert_eq!(hpa_trajectory(0, 10.0, 1.0, 0.5, 0.1, 1, 10), [0]);
        // A saturated start: 2 replicas of 100/s under 1,000/s at target 0.5 (n* = 20):
        // u = 1 → 4 → 8 → 16 → then 1,000/1,600 = 0.625, ratio 1.25 → 20.
        assert_eq!(
            hpa_trajectory(2, 1_000.0, 100.0, 0.5, 0.1, 1, 100),
            [2, 4, 8, 16, 20]
        );
    }

    #[test]
    fn levels_of_a_schedule() {
        let l = |start, end, rate| Level { start, end, rate };
        assert_eq!(
            piecewise_levels(&[(0.0, 100.0), (60.0, 300.0), (120.0, 100.0)], 180.0),
            [l(0.0, 60.0, 100.0), l(60.0, 120.0, 300.0), l(120.0, 180.0, 100.0)]
        );
        // Zero before the first step; unsorted input; equal neighbours merged; cut at the end.
        assert_eq!(
            piecewise_levels(&[(30.0, 50.0), (10.0, 50.0), (100.0, 7.0), (500.0, 9.0)], 200.0),
            [l(0.0, 10.0, 0.0), l(10.0, 100.0, 50.0), l(100.0, 200.0, 7.0)]
        );
        // Two steps at one time: the later in the list wins; no zero-length level.
        assert_eq!(
            piecewise_levels(&[(0.0, 1.0), (0.0, 2.0)], 10.0),
            [l(0.0, 10.0, 2.0)]
        );
        assert_eq!(piecewise_levels(&[], 10.0), [l(0.0, 10.0, 0.0)]);
        assert!(piecewise_levels(&[(0.0, 1.0)], 0.0).is_empty());
        // The time-weighted mean rate is preserved.
        let lv = piecewise_levels(&[(0.0, 100.0), (60.0, 300.0), (90.0, 50.0)], 150.0);
        let mean: f64 = lv.iter().map(|x| x.rate * (x.end - x.start)).sum::<f64>() / 150.0;
        assert!(close(
            mean,
            (100.0 * 60.0 + 300.0 * 30.0 + 50.0 * 60.0) / 150.0,
            1e-15
        ));
    }
}

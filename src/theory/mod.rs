//! Closed-form queueing results, used by tests (the simulator must reproduce them) and by the
//! `explain` command (to say what a model "should" do).
//!
//! Units: times in seconds, rates per second, all `f64`. Results that do not exist (an
//! unstable queue, ρ ≥ 1, or invalid parameters such as a negative rate) are `None`; nothing
//! returns NaN.
//!
//! Notation: λ arrival rate, μ service rate of one server, c servers, a = λ/μ offered load
//! (Erlangs), ρ = λ/(cμ) per-server utilisation, W mean wait in queue, T mean response time
//! (wait + service), L mean number in system.
#![warn(missing_docs)]
use crate::math;

pub mod fanout;
pub mod retries;

/// λ ≥ 0, μ > 0, both finite.
fn valid_rates(lambda: f64, mu: f64) -> bool {
    lambda.is_finite() && mu.is_finite() && lambda >= 0.0 && mu > 0.0
}

/// `q` is a usable probability for a quantile of an unbounded distribution: 0 ≤ q < 1.
fn valid_q(q: f64) -> bool {
    (0.0..1.0).contains(&q)
}

// ============================================================================================
// M/M/1
// ============================================================================================

/// M/M/1 queue: Poisson arrivals at rate `lambda`, one exponential server at rate `mu`, FCFS,
/// infinite buffer (Kleinrock 1975, *Queueing Systems* Vol. 1, §3.2; Harchol-Balter 2013,
/// *Performance Modeling and Design of Computer Systems*, ch. 13).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mm1 {
    /// Arrival rate λ (per second).
    pub lambda: f64,
    /// Service rate μ (per second).
    pub mu: f64,
}

impl Mm1 {
    /// Creates the model (no validation; the methods return `None` for invalid or unstable ones).
    pub fn new(lambda: f64, mu: f64) -> Self {
        Mm1 { lambda, mu }
    }

    /// Stable, valid model: the gap μ − λ > 0.
    fn gap(&self) -> Option<f64> {
        (valid_rates(self.lambda, self.mu) && self.lambda < self.mu).then_some(self.mu - self.lambda)
    }

    /// Utilisation ρ = λ/μ (may be ≥ 1; not checked).
    pub fn rho(&self) -> f64 {
        self.lambda / self.mu
    }

    /// Mean response time T = 1/(μ − λ) (Kleinrock Vol. 1 eq. 3.26).
    pub fn mean_response(&self) -> Option<f64> {
        self.gap().map(|g| 1.0 / g)
    }

    /// Mean wait in queue W = ρ/(μ − λ) = T − 1/μ.
    pub fn mean_wait(&self) -> Option<f64> {
        self.gap().map(|g| self.rho() / g)
    }

    /// The q-quantile of the response time, 0 ≤ q < 1. In FCFS M/M/1 the response time is
    /// exponential with rate μ − λ (Kleinrock Vol. 1 eq. 3.28), so it is −ln(1−q)/(μ−λ).
    pub fn response_quantile(&self, q: f64) -> Option<f64> {
        if !valid_q(q) {
            return None;
        }
        self.gap().map(|g| -math::ln_1p(-q) / g)
    }

    /// Mean number in system L = ρ/(1 − ρ) (Kleinrock Vol. 1 eq. 3.24).
    pub fn mean_number(&self) -> Option<f64> {
        self.gap().map(|g| self.lambda / g)
    }
}

// ============================================================================================
// Erlang B and C
// ============================================================================================

/// Blocking probability M/M/c/c (Erlang B formula, B(c, a) = (a^c/c!) / Σ_{k≤c} a^k/k!),
/// offered load `a` = λ/μ.
///
/// Computed with the recursion B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)) (Gross & Harris,
/// *Fundamentals of Queueing Theory*, 4th ed., §2.6; Jagerman 1974), which has no factorials
/// or powers to overflow and whose terms stay in [0, 1]. c = 0 gives 1 (every arrival is
/// blocked); a ≤ 0 or NaN gives 0 for c ≥ 1.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    if c == 0 {
        return 1.0;
    }
    if a.is_nan() || a <= 0.0 {
        return 0.0;
    }
    if a.is_infinite() {
        return 1.0;
    }
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    b
}

/// Probability of waiting in M/M/c (Erlang C formula), offered load `a` = λ/μ.
///
/// From Erlang B by C = c·B / (c − a·(1 − B)) (Gross & Harris §2.3/§2.6; Kleinrock Vol. 1
/// eq. 3.40 rewritten), so it inherits the recursion's stability: no overflow for c in the
/// thousands. For a ≥ c the queue is unstable and every arrival eventually waits: returns 1.
/// a ≤ 0 or NaN gives 0; c = 0 gives 1.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if c == 0 {
        return 1.0;
    }
    if a.is_nan() || a <= 0.0 {
        return 0.0;
    }
    let cf = f64::from(c);
    if a >= cf {
        return 1.0;
    }
    let b = erlang_b(c, a);
    (cf * b / (cf - a * (1.0 - b))).clamp(0.0, 1.0)
}

// ============================================================================================
// M/M/c
// ============================================================================================

/// M/M/c queue: Poisson arrivals at rate `lambda`, `c` identical exponential servers at rate
/// `mu` each, one FCFS queue, infinite buffer (Kleinrock 1975 Vol. 1 §3.5; Gross & Harris §2.3;
/// Harchol-Balter 2013 ch. 14).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mmc {
    /// Arrival rate λ (per second).
    pub lambda: f64,
    /// Service rate μ of one server (per second).
    pub mu: f64,
    /// Number of servers c.
    pub c: u32,
}

impl Mmc {
    /// Creates the model (no validation; the methods return `None` for invalid or unstable ones).
    pub fn new(lambda: f64, mu: f64, c: u32) -> Self {
        Mmc { lambda, mu, c }
    }

    /// Stable, valid model: the drain rate cμ − λ > 0 of a queue with all servers busy.
    fn gap(&self) -> Option<f64> {
        let cap = f64::from(self.c) * self.mu;
        (self.c > 0 && valid_rates(self.lambda, self.mu) && self.lambda < cap).then_some(cap - self.lambda)
    }

    /// Per-server utilisation ρ = λ/(cμ) (may be ≥ 1; not checked).
    pub fn rho(&self) -> f64 {
        self.lambda / (f64::from(self.c) * self.mu)
    }

    /// Probability that an arrival has to wait, Erlang C(c, λ/μ).
    pub fn prob_wait(&self) -> Option<f64> {
        self.gap().map(|_| erlang_c(self.c, self.lambda / self.mu))
    }

    /// Mean wait in queue W = C/(cμ − λ) (Kleinrock Vol. 1 eq. 3.43; Gross & Harris eq. 2.29).
    pub fn mean_wait(&self) -> Option<f64> {
        let g = self.gap()?;
        Some(erlang_c(self.c, self.lambda / self.mu) / g)
    }

    /// Mean response time T = W + 1/μ.
    pub fn mean_response(&self) -> Option<f64> {
        Some(self.mean_wait()? + 1.0 / self.mu)
    }

    /// Mean number in system L = λT (Little's law) = L_q + λ/μ.
    pub fn mean_number_in_system(&self) -> Option<f64> {
        Some(self.lambda * self.mean_response()?)
    }

    /// The q-quantile of the wait in queue, 0 ≤ q < 1.
    ///
    /// In FCFS M/M/c the wait is 0 with probability 1 − C and otherwise exponential with rate
    /// cμ − λ (Gross & Harris eq. 2.33; Kleinrock Vol. 1 eq. 3.45):
    /// P(W_q ≤ w) = 1 − C·e^{−(cμ−λ)w}. So the quantile is 0 for q ≤ 1 − C and
    /// ln(C/(1−q))/(cμ−λ) above.
    pub fn wait_quantile(&self, q: f64) -> Option<f64> {
        if !valid_q(q) {
            return None;
        }
        let g = self.gap()?;
        let c = erlang_c(self.c, self.lambda / self.mu);
        // Compare 1 − q with C rather than q with 1 − C: 1 − q is exact for q ≥ ½.
        let tail = 1.0 - q;
        if tail >= c {
            Some(0.0)
        } else {
            Some((math::ln(c) - math::ln_1p(-q)) / g)
        }
    }

    /// The q-quantile of the response time (wait + service), 0 ≤ q < 1, found numerically.
    ///
    /// Response = W_q + S with S ~ Exp(μ) independent of W_q, and W_q = 0 w.p. 1 − C, else
    /// Exp(θ), θ = cμ − λ. Conditioning on the mixture, with δ = θ − μ,
    /// P(R > x) = (1−C)e^{−μx} + C·P(Exp(θ) + Exp(μ) > x) = e^{−μx}·(1 + C·μ·(1 − e^{−δx})/δ)
    /// (the hypoexponential survival function, Harchol-Balter 2013 §4; Gross & Harris §2.3;
    /// the δ → 0 limit is the Erlang-2 term μx). The survival function is strictly decreasing,
    /// so the quantile is found by bisection on P(R > x) = 1 − q to a relative width of 1e-15.
    pub fn response_quantile(&self, q: f64) -> Option<f64> {
        if !valid_q(q) {
            return None;
        }
        let theta = self.gap()?;
        let mu = self.mu;
        let c = erlang_c(self.c, self.lambda / mu);
        let delta = theta - mu;
        let survival = |x: f64| -> f64 {
            let e_mu = math::exp(-mu * x);
            // μ·e^{−μx}·(1 − e^{−δx})/δ, written without cancellation for small δx and
            // without overflow of e^{−δx} for large negative δx.
            let conv = if delta == 0.0 {
                mu * x * e_mu
            } else if (delta * x).abs() < 1.0 {
                mu * e_mu * (-math::exp_m1(-delta * x)) / delta
            } else {
                mu * (e_mu - math::exp(-theta * x)) / delta
            };
            e_mu + c * conv
        };
        let target = 1.0 - q;
        if target >= 1.0 {
            return Some(0.0);
        }
        let mut lo = 0.0;
        let mut hi = (1.0 / mu + 1.0 / theta) * (1.0 - math::ln_1p(-q));
        while survival(hi) > target {
            lo = hi;
            hi *= 2.0;
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if survival(mid) > target {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo <= 1e-15 * hi {
                break;
            }
        }
        Some(0.5 * (lo + hi))
    }
}

// ============================================================================================
// M/M/c/K
// ============================================================================================

/// M/M/c/K queue: like M/M/c but with room for at most `k` requests in the system (`k` ≥ `c`,
/// queue + in service); arrivals finding it full are lost (Gross & Harris §2.5; Kleinrock Vol. 1
/// §3.6). Finite state space, so every method also works for ρ ≥ 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mmck {
    /// Arrival rate λ (per second), before blocking.
    pub lambda: f64,
    /// Service rate μ of one server (per second).
    pub mu: f64,
    /// Number of servers c ≥ 1.
    pub c: u32,
    /// System capacity K ≥ c.
    pub k: u32,
}

impl Mmck {
    /// Creates the model (no validation; the methods return `None` for invalid ones).
    pub fn new(lambda: f64, mu: f64, c: u32, k: u32) -> Self {
        Mmck { lambda, mu, c, k }
    }

    /// Per-server offered utilisation ρ = λ/(cμ) (may be ≥ 1).
    pub fn rho(&self) -> f64 {
        self.lambda / (f64::from(self.c) * self.mu)
    }

    /// (p_K, L) from the birth–death stationary distribution
    /// p_n ∝ a^n/n! for n ≤ c and p_n ∝ a^c/c!·ρ^{n−c} for c < n ≤ K (Gross & Harris eq. 2.51).
    ///
    /// The unnormalised terms are built in log space (ln p_n = ln p_{n−1} + ln a − ln min(n, c))
    /// and summed with a running log-sum-exp, so large c, K or a cannot overflow.
    fn solve(&self) -> Option<(f64, f64)> {
        if !valid_rates(self.lambda, self.mu) || self.c == 0 || self.k < self.c {
            return None;
        }
        if self.lambda == 0.0 {
            return Some((0.0, 0.0));
        }
        let ln_a = math::ln(self.lambda / self.mu);
        let mut ln_term = 0.0; // ln of the unnormalised p_n, n = 0
        let mut max = 0.0; // running maximum of the ln terms
        let mut sum = 1.0; // Σ exp(ln_term − max)
        let mut sum_n = 0.0; // Σ n·exp(ln_term − max)
        for n in 1..=self.k {
            ln_term += ln_a - math::ln(f64::from(n.min(self.c)));
            if ln_term > max {
                let scale = math::exp(max - ln_term);
                sum *= scale;
                sum_n *= scale;
                max = ln_term;
            }
            let w = math::exp(ln_term - max);
            sum += w;
            sum_n += f64::from(n) * w;
        }
        let p_k = math::exp(ln_term - max) / sum;
        Some((p_k, sum_n / sum))
    }

    /// Blocking probability p_K: the fraction of arrivals that find the system full (PASTA).
    pub fn blocking_probability(&self) -> Option<f64> {
        self.solve().map(|(p_k, _)| p_k)
    }

    /// Throughput of admitted requests λ(1 − p_K).
    pub fn throughput(&self) -> Option<f64> {
        self.solve().map(|(p_k, _)| self.lambda * (1.0 - p_k))
    }

    /// Mean number in system L = Σ n·p_n.
    pub fn mean_number_in_system(&self) -> Option<f64> {
        self.solve().map(|(_, l)| l)
    }

    /// Mean response time of admitted requests T = L / (λ(1 − p_K)) (Little's law applied to
    /// the admitted stream; Gross & Harris eq. 2.54). With λ = 0 an arrival would find the
    /// system empty, so T = 1/μ.
    pub fn mean_response(&self) -> Option<f64> {
        let (p_k, l) = self.solve()?;
        if self.lambda == 0.0 {
            return Some(1.0 / self.mu);
        }
        Some(l / (self.lambda * (1.0 - p_k)))
    }

    /// Mean wait in queue of admitted requests, T − 1/μ.
    pub fn mean_wait(&self) -> Option<f64> {
        Some((self.mean_response()? - 1.0 / self.mu).max(0.0))
    }
}

// ============================================================================================
// M/G/1, M/D/1, processor sharing
// ============================================================================================

/// Pollaczek–Khinchine mean wait in M/G/1 (FCFS): W = λE\[S²\] / (2(1−ρ)), with
/// E\[S²\] = (1 + scv)·E\[S\]², ρ = λE\[S\] (Kleinrock 1975 Vol. 1 eq. 5.73; Harchol-Balter 2013
/// §23.2). `mean_s` is E\[S\] in seconds, `scv_s` the squared coefficient of variation of S
/// (1 for exponential, 0 for deterministic). None for ρ ≥ 1 or negative/non-finite inputs.
pub fn pk_mean_wait(lambda: f64, mean_s: f64, scv_s: f64) -> Option<f64> {
    if ![lambda, mean_s, scv_s].iter().all(|v| v.is_finite() && *v >= 0.0) {
        return None;
    }
    let rho = lambda * mean_s;
    if rho >= 1.0 {
        return None;
    }
    Some(lambda * (1.0 + scv_s) * mean_s * mean_s / (2.0 * (1.0 - rho)))
}

/// M/D/1 mean wait W = ρd / (2(1−ρ)), ρ = λd: P–K with zero service variance, half the M/M/1
/// wait at the same load (Kleinrock Vol. 1 §5.7). None for ρ ≥ 1 or invalid inputs.
pub fn md1_mean_wait(lambda: f64, d: f64) -> Option<f64> {
    pk_mean_wait(lambda, d, 0.0)
}

/// M/M/1 processor-sharing mean response time 1/(μ − λ), the same as FCFS (Kleinrock 1976
/// Vol. 2 §4.4; Harchol-Balter 2013 §22.3; PS is insensitive, so this holds for M/G/1-PS with
/// mean service 1/μ). None for λ ≥ μ or invalid rates.
pub fn mm1_ps_mean_response(lambda: f64, mu: f64) -> Option<f64> {
    Mm1::new(lambda, mu).mean_response()
}

/// Expected response time of a job of size `x` seconds in M/G/1-PS: x/(1 − ρ) (Kleinrock 1976
/// Vol. 2 eq. 4.17; Harchol-Balter 2013 §22.3): every job is slowed by the same factor.
/// None for ρ ≥ 1 or negative/non-finite inputs.
pub fn mm1_ps_conditional_response(x: f64, rho: f64) -> Option<f64> {
    (x.is_finite() && rho.is_finite() && x >= 0.0 && (0.0..1.0).contains(&rho)).then(|| x / (1.0 - rho))
}

// ============================================================================================
// Operational laws, load balancing, closed networks
// ============================================================================================

/// Interactive response time law R = N/X − Z (Denning & Buzen 1978, "The Operational Analysis
/// of Queueing Network Models"; Harchol-Balter 2013 §6.4): `n_users` N, measured throughput
/// X (per second), mean think time Z (seconds).
///
/// Returns `None` when X ≤ 0 (nothing completed: no finite response) or an input is negative or
/// non-finite. Measured inputs may be slightly inconsistent (N/X < Z by noise); the result is
/// clamped at 0 rather than reporting a negative response time.
pub fn interactive_response_time(n_users: f64, throughput: f64, think: f64) -> Option<f64> {
    if ![n_users, throughput, think]
        .iter()
        .all(|v| v.is_finite() && *v >= 0.0)
        || throughput == 0.0
    {
        return None;
    }
    Some((n_users / throughput - think).max(0.0))
}

/// Supermarket model (Mitzenmacher 2001, "The Power of Two Choices in Randomized Load
/// Balancing", IEEE TPDS 12(10), Theorem 3; Vvedenskaya, Dobrushin & Karpelevich 1996): n → ∞
/// FCFS servers with exponential service at rate 1, Poisson arrivals at rate λn, each sent to
/// the shortest of `d` queues sampled at random. In the fixed point the fraction of queues with
/// ≥ i jobs is s_i = λ^{(dⁱ − 1)/(d − 1)} (s_i = λⁱ for d = 1) and the mean time in system is
/// T = (1/λ) Σ_{i≥1} s_i (Little's law over the queue lengths).
///
/// Returns T in units of the mean service time. d = 1 is the M/M/1 value 1/(1 − λ); for d ≥ 2
/// the exponents grow doubly exponentially and the series is summed until the terms vanish
/// below double precision. λ = 0 gives 1 (no queueing). None for λ ≥ 1, λ < 0 or d = 0.
pub fn supermarket_mean_sojourn(lambda_per_server: f64, d: u32) -> Option<f64> {
    let lambda = lambda_per_server;
    if d == 0 || !(0.0..1.0).contains(&lambda) {
        return None;
    }
    if lambda == 0.0 {
        return Some(1.0);
    }
    if d == 1 {
        return Some(1.0 / (1.0 - lambda));
    }
    let ln_l = math::ln(lambda);
    let df = f64::from(d);
    let mut exponent = 1.0; // (dⁱ − 1)/(d − 1) for i = 1; next is d·e + 1
    let mut sum = 0.0;
    loop {
        let s = math::exp(exponent * ln_l);
        sum += s;
        if s <= sum * 1e-17 {
            break;
        }
        exponent = df * exponent + 1.0;
    }
    Some(sum / lambda)
}

/// Mean response and throughput of N users in a closed network of single-server FCFS
/// exponential stations with think time, for closed-loop client tests.
///
/// Exact Mean Value Analysis (Reiser & Lavenberg 1980, J. ACM 27(2); Lazowska et al. 1984,
/// *Quantitative System Performance* §6.3): for n = 1..N,
/// R_k(n) = D_k·(1 + Q_k(n−1)), R(n) = Σ R_k(n), X(n) = n/(R(n) + Z), Q_k(n) = X(n)·R_k(n),
/// where D_k is the total service demand (seconds) per visit cycle at station k and Z the think
/// time. Returns (X, R) = (throughput per second, mean response time in seconds) for N users.
/// N = 0 gives (0, ΣD_k) (a lone request meets no contention). If ΣD_k + Z = 0 (nothing takes
/// time) the throughput is unbounded; (0, 0) is returned to stay NaN-free.
pub fn mva(demands: &[f64], think: f64, n_users: u32) -> (f64, f64) {
    let total: f64 = demands.iter().sum();
    if n_users == 0 {
        return (0.0, total);
    }
    if total + think <= 0.0 {
        return (0.0, 0.0);
    }
    let mut queue = vec![0.0; demands.len()];
    let mut resid = vec![0.0; demands.len()];
    let (mut x, mut r) = (0.0, 0.0);
    for n in 1..=n_users {
        r = 0.0;
        for (rk, (&dk, &qk)) in resid.iter_mut().zip(demands.iter().zip(&queue)) {
            *rk = dk * (1.0 + qk);
            r += *rk;
        }
        x = f64::from(n) / (r + think);
        for (qk, &rk) in queue.iter_mut().zip(&resid) {
            *qk = x * rk;
        }
    }
    (x, r)
}

// ============================================================================================
// Availability
// ============================================================================================

/// Steady-state availability of a repairable component, MTBF/(MTBF + MTTR) (Trivedi 2002,
/// *Probability and Statistics with Reliability, Queuing and Computer Science Applications*,
/// §8.1). MTTR ≤ 0 gives 1; MTBF ≤ 0 (with MTTR > 0) gives 0; NaN inputs give 0.
pub fn availability(mtbf: f64, mttr: f64) -> f64 {
    if mtbf.is_nan() || mttr.is_nan() {
        return 0.0;
    }
    if mttr <= 0.0 {
        return 1.0;
    }
    if mtbf <= 0.0 {
        return 0.0;
    }
    if mtbf.is_infinite() {
        return 1.0;
    }
    mtbf / (mtbf + mttr)
}

/// Availability of `n` independent replicas in parallel (up while at least one is up):
/// 1 − (1 − a)ⁿ (Trivedi 2002 §5.3, parallel system). Computed as −expm1(n·ln(1 − a)) so
/// that tiny `a` does not lose precision. `a` is clamped into [0, 1] (NaN counts as 0);
/// n = 0 gives 0.
pub fn parallel_availability(a: f64, n: u32) -> f64 {
    if n == 0 || a.is_nan() {
        return 0.0;
    }
    let a = a.clamp(0.0, 1.0);
    if a == 1.0 {
        return 1.0;
    }
    -math::exp_m1(f64::from(n) * math::ln_1p(-a))
}

// ============================================================================================
// Raft consensus
// ============================================================================================

/// Mean time for a Raft leader to commit an entry it has just appended: the entry commits when
/// ⌊n/2⌋ of the n − 1 followers have acknowledged it (with the leader, a majority of n), so
/// the commit time is the ⌊n/2⌋-th smallest of the followers' round trips. For independent
/// round trips with CDF `rtt_cdf` (seconds), E[X₍ₖ₎] = ∫₀^∞ P(X₍ₖ₎ > t) dt with
/// P(X₍ₖ₎ > t) = Σ_{j<k} C(M, j) F(t)^j (1 − F(t))^(M−j), M = n − 1 (David & Nagaraja,
/// *Order Statistics*, 3rd ed. 2003, §2.1). Integrated by Simpson's rule on [0, `upper`],
/// where the survival must be negligible. `None` for n < 2 or a bad `upper`.
pub fn raft_commit_mean(rtt_cdf: impl Fn(f64) -> f64, n: u32, upper: f64) -> Option<f64> {
    if n < 2 || !(upper.is_finite() && upper > 0.0) {
        return None;
    }
    let m = n - 1;
    let k = n / 2;
    let survival = |t: f64| {
        let f = rtt_cdf(t).clamp(0.0, 1.0);
        (0..k)
            .map(|j| binomial(m, j) * f.powi(j as i32) * (1.0 - f).powi((m - j) as i32))
            .sum::<f64>()
    };
    let steps = 20_000;
    let h = upper / f64::from(steps);
    let mut sum = survival(0.0) + survival(upper);
    for i in 1..steps {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += w * survival(f64::from(i) * h);
    }
    Some(sum * h / 3.0)
}

/// [`raft_commit_mean`] for exponential one-way delays of mean `m` seconds each way: a round
/// trip is the sum of two, Gamma(2, m), with F(t) = 1 − e^(−t/m)(1 + t/m). For n = 3 this is
/// exactly 5m/4 (the minimum of two such round trips).
pub fn raft_commit_mean_exponential(m: f64, n: u32) -> Option<f64> {
    if !(m.is_finite() && m > 0.0) {
        return None;
    }
    raft_commit_mean(|t| 1.0 - math::exp(-t / m) * (1.0 + t / m), n, 60.0 * m)
}

fn binomial(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
}

/// Mean time without a leader after a Raft leader crashes, for election timeouts uniform on
/// [`a`, `b`], a heartbeat every `h`, n members and a constant one-way delay `d` (seconds).
///
/// The last heartbeat left the leader a phase u ~ U[0, h) before the crash (the crash falls
/// anywhere in a heartbeat period) and reset every follower's timer on arrival, d later. The
/// first of the n − 1 followers times out after the minimum of n − 1 draws, whose mean is
/// a + (b − a)/n (Raft, Ongaro & Ousterhout 2014, §5.2: randomised timeouts), stands, and has
/// the votes it needs a round trip later. So E = a + (b − a)/n − h/2 + 3d when the vote does
/// not split. It splits when so many others time out within d of the first (each then votes
/// for itself) that fewer than ⌊n/2⌋ grants remain: for n = 3 when the one other follower
/// does, with probability p = 1 − (1 − d/L)² (the spacing of two uniforms, L = b − a); for
/// larger n, to first order, when more than (n − 2) − ⌊n/2⌋ of the n − 2 others do, each with
/// probability d/L. A split costs another timeout, about a + L/3 (the earlier of the two
/// candidates' fresh draws), and repeats geometrically: + p/(1 − p)·(a + L/3).
pub fn raft_election_mean(a: f64, b: f64, h: f64, n: u32, d: f64) -> Option<f64> {
    let l = b - a;
    if n < 3 || !(a > 0.0 && l > 0.0 && h > 0.0 && d >= 0.0) || d >= l {
        return None;
    }
    let base = a + l / f64::from(n) - h / 2.0 + 3.0 * d;
    let q = d / l;
    let p = if n == 3 {
        1.0 - (1.0 - q) * (1.0 - q)
    } else {
        let others = n - 2;
        let spare = others - n / 2; // others that may time out without a split
        (spare + 1..=others)
            .map(|j| binomial(others, j) * q.powi(j as i32) * (1.0 - q).powi((others - j) as i32))
            .sum()
    };
    Some(base + p / (1.0 - p) * (a + l / 3.0))
}

// ============================================================================================
// Re-replication and durability
// ============================================================================================

/// Re-replication of one shard's copies: each of `copies` node slots is lost at rate
/// λ = 1/`mttf` while it holds a node; a lost slot waits `replace_after` (D), then a replacement
/// copies for `copy` (R) and is lost too at rate λ while copying (the slot then waits D again).
///
/// Each slot is an alternating renewal process (Ross 1996, *Stochastic Processes*, §3.4.1): up
/// for Exp(λ), then incomplete for I = D + the time until a copy of length R meets no loss. One
/// attempt succeeds with probability e^{−λR} and otherwise costs E[min(T, R)] + D with
/// E[min(T, R)] = (1 − e^{−λR})/λ, so E[C] = (1/λ + D)(e^{λR} − 1) for the copying part and
/// **E[I] = D + (D + 1/λ)(e^{λR} − 1) = (D + 1/λ)e^{λR} − 1/λ** (for D = 0 the classic mean wait
/// for a gap of length R in a Poisson process). The stationary fraction of time a slot is
/// incomplete is q = E[I]/(1/λ + E[I]) = **1 − e^{−λR}/(1 + λD)**. Slots are independent (a data
/// loss does not stop the replacements, which finish from the backup), so with n copies the
/// shard is under-replicated a fraction 1 − (1 − q)ⁿ of the time and loses its data when the
/// last complete slot fails while the n − 1 others are incomplete: at rate n·λ·(1 − q)·q^{n−1}.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rereplication {
    /// Mean time to a node's loss (1/λ), s.
    pub mttf: f64,
    /// Copy time R = data ÷ bandwidth, s.
    pub copy: f64,
    /// Time from a loss until the replacement starts copying (D), s.
    pub replace_after: f64,
    /// Copies per shard (n).
    pub copies: u32,
}

impl Rereplication {
    /// λ, or `None` for invalid parameters.
    fn lambda(&self) -> Option<f64> {
        let ok = self.mttf > 0.0
            && self.copy >= 0.0
            && self.replace_after >= 0.0
            && self.copies >= 1
            && self.mttf.is_finite()
            && self.copy.is_finite()
            && self.replace_after.is_finite();
        ok.then(|| 1.0 / self.mttf)
    }

    /// Mean time a slot is incomplete, E[I] = D·e^{λR} + (e^{λR} − 1)/λ (s; `None` when it
    /// overflows: copies that almost never finish).
    pub fn incomplete_mean(&self) -> Option<f64> {
        let l = self.lambda()?;
        let x = l * self.copy;
        let v = self.replace_after * math::exp(x) + math::exp_m1(x) / l;
        v.is_finite().then_some(v)
    }

    /// Stationary fraction of time a slot is incomplete, q = 1 − e^{−λR}/(1 + λD).
    pub fn q(&self) -> Option<f64> {
        let l = self.lambda()?;
        let x = l * self.copy;
        // 1 − e^{−x}/(1 + y) = (−expm1(−x) + y)/(1 + y), without cancellation for small λ.
        let y = l * self.replace_after;
        Some((-math::exp_m1(-x) + y) / (1.0 + y))
    }

    /// Fraction of time a shard has fewer than n complete copies, 1 − (1 − q)ⁿ.
    pub fn under_replicated_fraction(&self) -> Option<f64> {
        let q = self.q()?;
        Some(-math::exp_m1(f64::from(self.copies) * math::ln_1p(-q)))
    }

    /// Data-loss events per shard per second, n·λ·(1 − q)·q^{n−1}.
    pub fn data_loss_rate(&self) -> Option<f64> {
        let (l, q) = (self.lambda()?, self.q()?);
        let n = self.copies;
        Some(f64::from(n) * l * (1.0 - q) * q.powi(n as i32 - 1))
    }

    /// Mean time to data loss of one shard, 1 / [`Self::data_loss_rate`] (s; infinite when the
    /// rate is 0).
    pub fn mttdl(&self) -> Option<f64> {
        self.data_loss_rate().map(|r| 1.0 / r)
    }
}

/// The textbook MTTDL of n copies with **parallel** repair, every failed copy repaired at once at
/// rate μ = 1/`w` (a Markov birth–death chain, λ ≪ μ): μ^{n−1}(n−1)!/(n!·λⁿ) = MTTF^n/(n·W^{n−1}),
/// MTTF³/(3W²) for three copies (Gibson 1991, *Redundant Disk Arrays*, ch. 5; Chun et al.,
/// "Efficient Replica Maintenance for Distributed Storage Systems", NSDI 2006; Ford et al.,
/// "Availability in Globally Distributed Storage Systems", OSDI 2010, §6). `None` unless both
/// are positive and finite.
pub fn mttdl_parallel(mttf: f64, w: f64, n: u32) -> Option<f64> {
    let ok = mttf > 0.0 && w > 0.0 && mttf.is_finite() && w.is_finite() && n >= 1;
    ok.then(|| mttf.powi(n as i32) / (f64::from(n) * w.powi(n as i32 - 1)))
}

/// The textbook MTTDL of n copies with **serial** repair, one copy at a time at rate μ = 1/`w` in
/// every degraded state (Patterson, Gibson and Katz, "A Case for Redundant Arrays of Inexpensive
/// Disks (RAID)", SIGMOD 1988, for n = 2; Gibson 1991 ch. 5): μ^{n−1}/(n!·λⁿ) = MTTF^n/(n!·W^{n−1}),
/// MTTF³/(6W²) for three copies. `None` unless both are positive and finite.
pub fn mttdl_serial(mttf: f64, w: f64, n: u32) -> Option<f64> {
    let ok = mttf > 0.0 && w > 0.0 && mttf.is_finite() && w.is_finite() && (1..=170).contains(&n);
    let fact: f64 = (1..=n).map(f64::from).product();
    ok.then(|| mttf.powi(n as i32) / (fact * w.powi(n as i32 - 1)))
}

/// The exact mean time to absorption from "all n copies up" of the birth–death chain behind
/// [`mttdl_parallel`] (`parallel`: k failed copies are repaired at rate kμ) or [`mttdl_serial`]
/// (rate μ): failures at (n − k)λ, absorption at k = n. With τ_k the mean time from k to k + 1
/// failed copies, τ_0 = 1/b_0 and τ_k = (1 + d_k·τ_{k−1})/b_k; the MTTDL is Σ τ_k.
pub fn mttdl_markov(mttf: f64, w: f64, n: u32, parallel: bool) -> Option<f64> {
    let ok = mttf > 0.0 && w > 0.0 && mttf.is_finite() && w.is_finite() && n >= 1;
    if !ok {
        return None;
    }
    let (l, mu) = (1.0 / mttf, 1.0 / w);
    let (mut tau, mut sum) = (0.0, 0.0);
    for k in 0..n {
        let b = f64::from(n - k) * l;
        let d = if k == 0 {
            0.0
        } else if parallel {
            f64::from(k) * mu
        } else {
            mu
        };
        tau = (1.0 + d * tau) / b;
        sum += tau;
    }
    sum.is_finite().then_some(sum)
}

// ============================================================================================
// Caches under the independent reference model
// ============================================================================================

/// Zipf popularity of `n` keys with exponent `s`: p_k ∝ k^(−s), k = 1..n (index 0 is rank 1).
pub fn zipf_popularity(n: u64, s: f64) -> Vec<f64> {
    let w: Vec<f64> = (1..=n).map(|k| math::powf(k as f64, -s)).collect();
    let h: f64 = w.iter().sum();
    w.into_iter().map(|x| x / h).collect()
}

/// Solve Σ_k f(p_k·t) = c for the characteristic time t (f increasing from 0 to 1), by
/// bisection on a bracket found by doubling. Needs 0 < c < number of keys.
fn characteristic_time(p: &[f64], c: f64, f: impl Fn(f64) -> f64) -> Option<f64> {
    if !(c > 0.0 && c < p.len() as f64) {
        return None;
    }
    let occupancy = |t: f64| p.iter().map(|&pk| f(pk * t)).sum::<f64>();
    let mut hi = 1.0;
    while occupancy(hi) < c {
        hi *= 2.0;
        if !hi.is_finite() {
            return None;
        }
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if occupancy(mid) < c {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// LRU hit ratio by Che's approximation (Che, Tung & Wang 2002; Fricker, Robert & Roberts
/// 2012): the characteristic time T solves Σ_k (1 − e^(−p_k T)) = C, and key k hits with
/// probability 1 − e^(−p_k T). `p` are request probabilities per request; C the capacity.
/// `None` when C ≥ number of keys (everything fits) or C ≤ 0.
pub fn lru_hit_ratio_che(p: &[f64], capacity: f64) -> Option<f64> {
    let t = characteristic_time(p, capacity, |x| -math::exp_m1(-x))?;
    Some(p.iter().map(|&pk| pk * -math::exp_m1(-pk * t)).sum())
}

/// FIFO and RANDOM hit ratio by the Che-type approximation of Martina, Garetto & Leonardi
/// (2014) (for RANDOM also Gelenbe 1973): T solves Σ_k p_k T/(1 + p_k T) = C, and key k hits
/// with probability p_k T/(1 + p_k T).
pub fn fifo_hit_ratio_che(p: &[f64], capacity: f64) -> Option<f64> {
    let t = characteristic_time(p, capacity, |x| x / (1.0 + x))?;
    Some(p.iter().map(|&pk| pk * (pk * t) / (1.0 + pk * t)).sum())
}

/// Perfect LFU under stationary popularity keeps the C most popular keys: its hit ratio is
/// their probability mass (`p` need not be sorted).
pub fn lfu_hit_ratio(p: &[f64], capacity: usize) -> f64 {
    let mut q = p.to_vec();
    q.sort_by(|a, b| b.total_cmp(a));
    q.iter().take(capacity).sum()
}

/// Hit ratio of a cache with a non-resetting TTL and no capacity limit under Poisson requests
/// at `rate` per second spread by `p`: a key's entry lives `ttl` seconds from the miss that
/// loaded it, so with λ_k = rate·p_k each cycle has one miss and λ_k·ttl hits on average:
/// hit_k = λ_k·ttl / (1 + λ_k·ttl) (renewal-reward; Fofack, Nain, Neglia & Towsley 2014).
pub fn ttl_hit_ratio(p: &[f64], rate: f64, ttl: f64) -> f64 {
    p.iter()
        .map(|&pk| {
            let x = rate * pk * ttl;
            pk * x / (1.0 + x)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raft_commit_mean_is_the_order_statistic_of_round_trips() {
        // n = 3: the faster of two Gamma(2, m) round trips, exactly 5m/4.
        let m = 0.001;
        assert!((raft_commit_mean_exponential(m, 3).unwrap() - 1.25e-3).abs() < 1e-9);
        // Constant round trips 2d: every order statistic is 2d.
        let c = raft_commit_mean(|t| if t >= 0.002 { 1.0 } else { 0.0 }, 5, 0.01).unwrap();
        assert!((c - 0.002).abs() < 1e-5, "{c}");
        // n = 5, 7 against a Monte Carlo of the order statistic (10^6 draws: se < 1e-3 m).
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut u = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        for n in [5u32, 7] {
            let draws = 200_000;
            let mut sum = 0.0;
            let mut r = vec![0.0; (n - 1) as usize];
            for _ in 0..draws {
                for v in r.iter_mut() {
                    *v = -math::ln(u()) - math::ln(u());
                }
                r.sort_by(f64::total_cmp);
                sum += r[(n / 2 - 1) as usize];
            }
            let mc = sum / f64::from(draws);
            let th = raft_commit_mean_exponential(1.0, n).unwrap();
            assert!((mc - th).abs() < 0.01, "n={n}: Monte Carlo {mc} vs {th}");
        }
        // More members wait for a later order statistic.
        let t: Vec<f64> = [3, 5, 7]
            .iter()
            .map(|&n| raft_commit_mean_exponential(1.0, n).unwrap())
            .collect();
        assert!(t[0] < t[1] && t[1] < t[2]);
        assert!(
            (t[1] - 1.4378).abs() < 5e-4 && (t[2] - 1.5115).abs() < 5e-4,
            "{t:?}"
        );
    }

    #[test]
    fn raft_election_mean_has_its_parts() {
        // 150–300 ms, 50 ms heartbeat, 1 ms: 150 + 50 − 25 + 3 = 178 ms before splits (n = 3).
        let e3 = raft_election_mean(0.150, 0.300, 0.050, 3, 0.001).unwrap();
        let p: f64 = 1.0 - (1.0 - 1.0 / 150.0f64).powi(2);
        assert!((e3 - (0.178 + p / (1.0 - p) * 0.2)).abs() < 1e-12, "{e3}");
        let e5 = raft_election_mean(0.150, 0.300, 0.050, 5, 0.001).unwrap();
        assert!((e5 - 0.158).abs() < 1e-4, "{e5}");
        assert!(raft_election_mean(0.150, 0.150, 0.050, 3, 0.001).is_none());
    }

    #[test]
    fn cache_approximations_have_the_known_limits() {
        // Uniform popularity: LRU, FIFO and LFU all hold C of N equally likely keys: C/N.
        let p = vec![0.01; 100];
        assert!((lru_hit_ratio_che(&p, 25.0).unwrap() - 0.25).abs() < 1e-9);
        assert!((fifo_hit_ratio_che(&p, 25.0).unwrap() - 0.25).abs() < 1e-9);
        assert!((lfu_hit_ratio(&p, 25) - 0.25).abs() < 1e-12);
        // Skewed popularity: LFU ≥ LRU ≥ FIFO (LRU protects popular keys better than FIFO).
        let z = zipf_popularity(10_000, 0.8);
        assert!((z.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let (lru, fifo, lfu) = (
            lru_hit_ratio_che(&z, 500.0).unwrap(),
            fifo_hit_ratio_che(&z, 500.0).unwrap(),
            lfu_hit_ratio(&z, 500),
        );
        assert!(lfu > lru && lru > fifo, "lfu {lfu} lru {lru} fifo {fifo}");
        assert!(lru_hit_ratio_che(&z, 10_000.0).is_none());
        // TTL: one key at 10/s with a 1 s TTL: 10 hits per miss → 10/11.
        assert!((ttl_hit_ratio(&[1.0], 10.0, 1.0) - 10.0 / 11.0).abs() < 1e-12);
    }

    fn close(got: f64, want: f64, tol: f64) {
        let rel = ((got - want) / want).abs();
        assert!(rel <= tol, "got {got:.17e}, want {want:.17e}, rel {rel:e}");
    }

    #[test]
    fn mm1_textbook() {
        let q = Mm1::new(0.9, 1.0);
        close(q.rho(), 0.9, 1e-15);
        close(q.mean_response().unwrap(), 10.0, 1e-13);
        close(q.mean_wait().unwrap(), 9.0, 1e-13);
        close(q.mean_number().unwrap(), 9.0, 1e-13);
        // Median of Exp(0.1): 10·ln 2.
        close(q.response_quantile(0.5).unwrap(), 10.0 * math::ln(2f64), 1e-13);
        close(q.response_quantile(0.99).unwrap(), 10.0 * math::ln(100f64), 1e-13);
        assert_eq!(q.response_quantile(0.0), Some(0.0));
        assert_eq!(q.response_quantile(1.0), None);
        assert_eq!(Mm1::new(1.0, 1.0).mean_response(), None);
        assert_eq!(Mm1::new(2.0, 1.0).mean_number(), None);
        assert_eq!(Mm1::new(-1.0, 1.0).mean_wait(), None);
        assert_eq!(Mm1::new(0.5, 0.0).mean_wait(), None);
    }

    #[test]
    fn erlang_values() {
        close(erlang_c(2, 1.0), 1.0 / 3.0, 1e-15);
        // B(5, 3) = (3⁵/5!)/Σ_{k≤5} 3ᵏ/k! = 2.025/18.4.
        close(erlang_b(5, 3.0), 2.025 / 18.4, 1e-15);
        close(erlang_b(5, 3.0), 0.110054, 1e-5);
        assert_eq!(erlang_b(0, 3.0), 1.0);
        assert_eq!(erlang_b(3, 0.0), 0.0);
        assert_eq!(erlang_c(3, 3.0), 1.0);
        assert_eq!(erlang_c(3, 0.0), 0.0);
        // c = 1: C = ρ.
        close(erlang_c(1, 0.7), 0.7, 1e-15);
        // Large c: no overflow, sensible magnitude (square-root staffing: a = 950, c = 1000
        // is ~1.6 standard deviations of slack, C a few percent).
        let c = erlang_c(1000, 950.0);
        assert!(c > 0.01 && c < 0.2, "{c}");
        let b = erlang_b(1000, 950.0);
        assert!(b > 0.0 && b < c);
        assert!(erlang_c(1000, 999.9) > 0.9);
    }

    #[test]
    fn mmc_values() {
        // c = 4, λ = 3, μ = 1: a = 3, B(4,3) = 3.375/16.375 = 27/131,
        // C = 4B/(4 − 3(1 − B)) = 108/212 = 27/53, W = C/(4 − 3) = 27/53 s.
        let q = Mmc::new(3.0, 1.0, 4);
        close(q.rho(), 0.75, 1e-15);
        close(q.prob_wait().unwrap(), 27.0 / 53.0, 1e-14);
        close(q.mean_wait().unwrap(), 27.0 / 53.0, 1e-14);
        close(q.mean_response().unwrap(), 80.0 / 53.0, 1e-14);
        close(q.mean_number_in_system().unwrap(), 240.0 / 53.0, 1e-14);
        assert_eq!(Mmc::new(4.0, 1.0, 4).mean_wait(), None);
        assert_eq!(Mmc::new(1.0, 1.0, 0).mean_wait(), None);
    }

    #[test]
    fn mmc_quantiles() {
        let q = Mmc::new(3.0, 1.0, 4);
        let c = 27.0 / 53.0;
        // Below 1 − C the wait is 0; just above, ln(C/(1−q))/(cμ−λ) is just above 0.
        assert_eq!(q.wait_quantile(1.0 - c - 1e-9), Some(0.0));
        let w = q.wait_quantile(1.0 - c + 1e-9).unwrap();
        assert!(w > 0.0 && w < 1e-8, "{w}");
        close(w, math::ln(c / (c - 1e-9)), 1e-6);
        close(q.wait_quantile(0.99).unwrap(), math::ln(c / 0.01), 1e-13);
        // Response: θ = cμ − λ = μ here, the Erlang-2 limit: P(R > x) = e^{−x}(1 + C·x);
        // 0.99-quantile 6.006308176561795 (30-digit root by mpmath).
        close(q.response_quantile(0.99).unwrap(), 6.006_308_176_561_795, 1e-12);
        assert_eq!(q.response_quantile(0.0), Some(0.0));
        assert_eq!(q.response_quantile(1.0), None);
        // c = 1 must reproduce M/M/1, whose response is Exp(μ − λ) (tests δ ≠ 0 branches).
        let m1 = Mm1::new(0.7, 1.3);
        let mc = Mmc::new(0.7, 1.3, 1);
        for p in [0.1, 0.5, 0.9, 0.999] {
            close(
                mc.response_quantile(p).unwrap(),
                m1.response_quantile(p).unwrap(),
                1e-12,
            );
        }
        close(mc.mean_response().unwrap(), m1.mean_response().unwrap(), 1e-14);
        // Quantiles increase with q and bracket the mean sensibly.
        let q2 = Mmc::new(7.5, 1.0, 8);
        let (a, b) = (
            q2.response_quantile(0.5).unwrap(),
            q2.response_quantile(0.99).unwrap(),
        );
        assert!(a < q2.mean_response().unwrap() + 1.0 && a < b);
    }

    #[test]
    fn mmck_values() {
        // M/M/1/K, ρ = 0.9, K = 10: p_K = (1−ρ)ρ^K/(1−ρ^{K+1}).
        let q = Mmck::new(0.9, 1.0, 1, 10);
        let r: f64 = 0.9;
        close(
            q.blocking_probability().unwrap(),
            (1.0 - r) * r.powi(10) / (1.0 - r.powi(11)),
            1e-13,
        );
        // L and T by direct summation (30 digits): 3.96944059858617, 4.64660067212371.
        close(q.mean_number_in_system().unwrap(), 3.969_440_598_586_173_5, 1e-13);
        close(q.mean_response().unwrap(), 4.646_600_672_123_705, 1e-13);
        // Overloaded but finite: c = 2, K = 5, λ = 3, μ = 1 (ρ = 1.5).
        let o = Mmck::new(3.0, 1.0, 2, 5);
        close(o.blocking_probability().unwrap(), 0.374_422_187_981_51, 1e-13);
        close(o.mean_number_in_system().unwrap(), 3.665_639_445_300_462, 1e-13);
        // ρ = 1, c = 1: uniform over 0..=K.
        close(
            Mmck::new(2.0, 2.0, 1, 9).blocking_probability().unwrap(),
            0.1,
            1e-14,
        );
        // K = c is Erlang B.
        close(
            Mmck::new(3.0, 1.0, 5, 5).blocking_probability().unwrap(),
            erlang_b(5, 3.0),
            1e-13,
        );
        // Large K approaches M/M/c.
        let big = Mmck::new(3.0, 1.0, 4, 400);
        close(big.mean_response().unwrap(), 80.0 / 53.0, 1e-12);
        close(big.mean_wait().unwrap(), 27.0 / 53.0, 1e-11);
        // Huge load and capacity: no overflow.
        let huge = Mmck::new(5000.0, 1.0, 1000, 100_000);
        close(huge.blocking_probability().unwrap(), 0.8, 1e-9);
        assert_eq!(Mmck::new(1.0, 1.0, 3, 2).blocking_probability(), None);
        assert_eq!(Mmck::new(0.0, 1.0, 1, 3).mean_response(), Some(1.0));
    }

    #[test]
    fn mg1_family() {
        // P–K with scv = 1 is the M/M/1 wait.
        let w = pk_mean_wait(0.9, 1.0, 1.0).unwrap();
        close(w, Mm1::new(0.9, 1.0).mean_wait().unwrap(), 1e-14);
        // M/D/1 is half of it.
        close(md1_mean_wait(0.9, 1.0).unwrap(), w / 2.0, 1e-14);
        // 250 req/s of 2 ms each: ρ = 0.5, W = 0.5·2 ms/(2·0.5) = 1 ms.
        close(md1_mean_wait(250.0, 2e-3).unwrap(), 1e-3, 1e-14);
        assert_eq!(pk_mean_wait(1.0, 1.0, 1.0), None);
        assert_eq!(pk_mean_wait(0.5, 1.0, -1.0), None);
        assert_eq!(md1_mean_wait(2.0, 0.5), None);
        close(mm1_ps_mean_response(0.9, 1.0).unwrap(), 10.0, 1e-13);
        close(mm1_ps_conditional_response(2.0, 0.75).unwrap(), 8.0, 1e-15);
        assert_eq!(mm1_ps_conditional_response(2.0, 1.0), None);
        assert_eq!(mm1_ps_mean_response(1.0, 1.0), None);
    }

    #[test]
    fn operational_laws() {
        // 100 users, 40 req/s, 2 s think: R = 100/40 − 2 = 0.5 s.
        close(interactive_response_time(100.0, 40.0, 2.0).unwrap(), 0.5, 1e-15);
        assert_eq!(interactive_response_time(10.0, 0.0, 1.0), None);
        assert_eq!(interactive_response_time(10.0, 10.0, 5.0), Some(0.0));
        close(availability(999.0, 1.0), 0.999, 1e-15);
        assert_eq!(availability(1.0, 0.0), 1.0);
        close(parallel_availability(0.99, 2), 0.9999, 1e-14);
        close(parallel_availability(1e-12, 3), 3e-12, 1e-9);
        assert_eq!(parallel_availability(1.0, 3), 1.0);
        assert_eq!(parallel_availability(0.5, 0), 0.0);
    }

    #[test]
    fn supermarket() {
        // d = 1 reduces to M/M/1: 1/(1 − λ).
        close(supermarket_mean_sojourn(0.9, 1).unwrap(), 10.0, 1e-14);
        // d = 2, λ = 0.9: (1/0.9)·Σ_{i≥1} 0.9^{2ⁱ−1} = (0.9 + 0.729 + 0.9⁷ + 0.9¹⁵ + …)/0.9
        // = 2.614057377323876 (series summed to convergence, 30 digits by mpmath).
        close(
            supermarket_mean_sojourn(0.9, 2).unwrap(),
            2.614_057_377_323_875_5,
            1e-14,
        );
        // More choices help, with diminishing returns.
        let t3 = supermarket_mean_sojourn(0.9, 3).unwrap();
        assert!(t3 < 2.614 && t3 > 1.0);
        assert_eq!(supermarket_mean_sojourn(0.0, 2), Some(1.0));
        assert_eq!(supermarket_mean_sojourn(1.0, 2), None);
        assert_eq!(supermarket_mean_sojourn(0.5, 0), None);
    }

    #[test]
    fn mva_machine_repairman() {
        // One station D = 1 s, Z = 1 s, N = 2 (machine-repairman M/M/1//2): birth–death with
        // rates 2, 1 up and 1 down gives p = (1, 2, 2)/5, so X = 1 − p₀ = 0.8/s and
        // R = L/X = (2/5 + 4/5)/0.8 = 1.5 s.
        let (x, r) = mva(&[1.0], 1.0, 2);
        close(x, 0.8, 1e-15);
        close(r, 1.5, 1e-15);
        // Z = 2, N = 3: p ∝ (1, 1.5, 1.5, 0.75), X = 15/19, L = 27/19, R = 1.8 s.
        let (x, r) = mva(&[1.0], 2.0, 3);
        close(x, 15.0 / 19.0, 1e-15);
        close(r, 1.8, 1e-15);
        // One user sees no contention; many users saturate the bottleneck (X → 1/D_max).
        let (x1, r1) = mva(&[0.2, 0.5], 1.0, 1);
        close(r1, 0.7, 1e-15);
        close(x1, 1.0 / 1.7, 1e-15);
        let (xn, _) = mva(&[0.2, 0.5], 1.0, 200);
        close(xn, 2.0, 1e-9);
        assert_eq!(mva(&[0.2, 0.5], 1.0, 0), (0.0, 0.7));
    }
    #[test]
    fn rereplication_renewal_formulas() {
        let m = |mttf: f64, copy: f64, d: f64, n: u32| Rereplication {
            mttf,
            copy,
            replace_after: d,
            copies: n,
        };
        // The design example: λ = 1/1000 s, R = 50 s, D = 0: q = 1 − e^{−0.05}.
        let r = m(1000.0, 50.0, 0.0, 3);
        close(r.q().unwrap(), 1.0 - math::exp(-0.05f64), 1e-14);
        close(r.q().unwrap(), 0.048_770_575_499_285_99, 1e-12);
        close(
            r.under_replicated_fraction().unwrap(),
            1.0 - math::exp(-0.15f64),
            1e-13,
        );
        let q = r.q().unwrap();
        close(
            r.data_loss_rate().unwrap(),
            3.0 / 1000.0 * (1.0 - q) * q * q,
            1e-14,
        );
        // E[I] with D = 0: (e^{λR} − 1)/λ; q = E[I]/(1/λ + E[I]) agrees with the closed form.
        let i = r.incomplete_mean().unwrap();
        close(i, 1000.0 * math::exp_m1(0.05f64), 1e-14);
        close(i / (1000.0 + i), q, 1e-13);
        // With D: E[I] = (D + 1/λ)e^{λR} − 1/λ, and q = 1 − e^{−λR}/(1 + λD).
        let r = m(1000.0, 50.0, 300.0, 3);
        let i = r.incomplete_mean().unwrap();
        close(i, 1300.0 * math::exp(0.05f64) - 1000.0, 1e-13);
        close(r.q().unwrap(), i / (1000.0 + i), 1e-13);
        close(r.q().unwrap(), 1.0 - math::exp(-0.05f64) / 1.3, 1e-13);
        // Limits: R = D = 0 is never incomplete, so it never loses data.
        assert_eq!(m(1000.0, 0.0, 0.0, 3).q(), Some(0.0));
        assert_eq!(m(1000.0, 0.0, 0.0, 3).data_loss_rate(), Some(0.0));
        assert_eq!(m(1000.0, 0.0, 0.0, 3).mttdl(), Some(f64::INFINITY));
        // One copy loses its data at every loss of a complete slot: λ(1 − q).
        close(
            m(1000.0, 50.0, 0.0, 1).data_loss_rate().unwrap(),
            1e-3 * math::exp(-0.05f64),
            1e-14,
        );
        // A copy far longer than the MTTF almost never finishes: q → 1.
        assert!(m(1.0, 100.0, 0.0, 3).q().unwrap() >= 1.0 - 1e-15);
        for bad in [
            m(0.0, 1.0, 0.0, 3),
            m(1.0, -1.0, 0.0, 3),
            m(1.0, 1.0, 0.0, 0),
            m(f64::NAN, 1.0, 0.0, 3),
        ] {
            assert_eq!(bad.q(), None);
            assert_eq!(bad.mttdl(), None);
        }
    }

    #[test]
    fn rereplication_matches_the_markov_approximations_for_small_lambda() {
        // λW ≪ 1 (W = D + R): q ≈ λW, so the MTTDL ≈ MTTF^n/(n·W^{n−1}), the parallel-repair
        // Markov result. Serial repair is slower, so its MTTDL is (n − 1)! times smaller.
        for (n, d) in [(2u32, 0.0), (3, 0.0), (3, 200.0), (4, 100.0)] {
            let (mttf, copy) = (1e7, 400.0);
            let w = copy + d;
            let r = Rereplication {
                mttf,
                copy,
                replace_after: d,
                copies: n,
            };
            let ours = r.mttdl().unwrap();
            let par = mttdl_parallel(mttf, w, n).unwrap();
            let ser = mttdl_serial(mttf, w, n).unwrap();
            // Relative error of the approximation is O(nλW) = O(1e-4).
            close(ours, par, 1e-3);
            let fact: f64 = (1..n).map(f64::from).product();
            close(par / ser, fact, 1e-12);
            // The exact chains agree with their approximations as λ/μ → 0.
            close(mttdl_markov(mttf, w, n, true).unwrap(), par, 1e-3);
            close(mttdl_markov(mttf, w, n, false).unwrap(), ser, 1e-3);
        }
        // The named forms for three copies: MTTF³/(3W²) and MTTF³/(6W²).
        close(mttdl_parallel(1e6, 100.0, 3).unwrap(), 1e18 / 3e4, 1e-14);
        close(mttdl_serial(1e6, 100.0, 3).unwrap(), 1e18 / 6e4, 1e-14);
        // One copy: the MTTDL is the MTTF in every model.
        close(mttdl_markov(1e6, 100.0, 1, true).unwrap(), 1e6, 1e-14);
        close(mttdl_parallel(1e6, 100.0, 1).unwrap(), 1e6, 1e-14);
        // Two copies with parallel repair, exactly: (3λ + μ)/(2λ²).
        let (l, mu) = (1e-3, 1e-1);
        close(
            mttdl_markov(1e3, 10.0, 2, true).unwrap(),
            (3.0 * l + mu) / (2.0 * l * l),
            1e-12,
        );
        assert_eq!(mttdl_parallel(0.0, 1.0, 3), None);
        assert_eq!(mttdl_markov(1.0, 0.0, 3, true), None);
    }
}

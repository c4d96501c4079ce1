//! Fan-out and hot keys (issue 27, items 2 and 5): the expected slowest of parallel branches,
//! and the share of requests the hottest shard receives under a key popularity.
//!
//! Parallel calls: a request that calls several branches at once waits for the slowest, so
//! its mean is E[max of the branch response times], not their sum. For independent branches
//! with CDFs F_i, E[max] = ∫₀^∞ (1 − Π_i F_i(t)) dt (the mean of a non-negative variable is
//! the integral of its survival; David & Nagaraja, *Order Statistics*, 3rd ed. 2003, §2.1).
//!
//! Shards: every request names a key, key k with probability p_k, and the partitioning sends
//! key k to one shard; a shard's share of the requests is the total probability of its keys,
//! and the hottest shard's utilisation is total rate × its share / its capacity.
//!
//! Same conventions as the parent module: times in seconds, rates per second, `None` for
//! results that do not exist or invalid parameters, never NaN.
#![warn(missing_docs)]
use crate::math;
use crate::stats::normal::normal_cdf;

// ============================================================================================
// Numerical integration of a monotone survival function
// ============================================================================================

/// Initial panels of the adaptive Simpson rule (each refined on its own).
const PANELS: u32 = 256;
/// Deepest bisection of one panel: a width of about 2⁻⁴⁰ of it, enough to pin down a jump.
const MAX_DEPTH: u32 = 40;

/// ∫ₐᵇ f by adaptive Simpson quadrature (Kuncir 1962; Lyness 1969; also Burden & Faires,
/// *Numerical Analysis*, §4.6): [a, b] is cut into [`PANELS`] panels, and each is halved
/// until Simpson's rule on the halves agrees with Simpson's rule on the whole within 15× its
/// share of the absolute tolerance `tol` (then the Richardson-corrected value is taken), or
/// until [`MAX_DEPTH`] halvings. Meant for monotone f (a survival function or a CDF): a
/// monotone f equal at both ends of a piece is constant there, so no feature hides between
/// the sample points, and a jump (a deterministic branch) is chased down to a tiny width.
fn integrate(f: &dyn Fn(f64) -> f64, a: f64, b: f64, tol: f64) -> f64 {
    let h = (b - a) / f64::from(PANELS);
    let ptol = tol / f64::from(PANELS);
    let mut sum = 0.0;
    let mut x0 = a;
    let mut f0 = f(a);
    for i in 1..=PANELS {
        let x1 = if i == PANELS { b } else { a + f64::from(i) * h };
        let f1 = f(x1);
        let xm = 0.5 * (x0 + x1);
        let fm = f(xm);
        let whole = (x1 - x0) / 6.0 * (f0 + 4.0 * fm + f1);
        sum += simpson_step(f, x0, x1, f0, fm, f1, whole, ptol, MAX_DEPTH);
        x0 = x1;
        f0 = f1;
    }
    sum
}

/// One adaptive Simpson step on [a, b] with f(a), f(mid), f(b) and Simpson's value `whole`.
#[allow(clippy::too_many_arguments)]
fn simpson_step(
    f: &dyn Fn(f64) -> f64,
    a: f64,
    b: f64,
    fa: f64,
    fm: f64,
    fb: f64,
    whole: f64,
    tol: f64,
    depth: u32,
) -> f64 {
    let m = 0.5 * (a + b);
    let (lm, rm) = (0.5 * (a + m), 0.5 * (m + b));
    let (flm, frm) = (f(lm), f(rm));
    let left = (m - a) / 6.0 * (fa + 4.0 * flm + fm);
    let right = (b - m) / 6.0 * (fm + 4.0 * frm + fb);
    let delta = left + right - whole;
    if depth == 0 || delta.abs() <= 15.0 * tol {
        return left + right + delta / 15.0;
    }
    simpson_step(f, a, m, fa, flm, fm, left, 0.5 * tol, depth - 1)
        + simpson_step(f, m, b, fm, frm, fb, right, 0.5 * tol, depth - 1)
}

// ============================================================================================
// Expected maximum of parallel branches
// ============================================================================================

/// Harmonic number H_n = 1 + 1/2 + … + 1/n (summed from the small terms up).
pub fn harmonic(n: u64) -> f64 {
    (1..=n).rev().map(|k| 1.0 / k as f64).sum()
}

/// Exact inclusion–exclusion is used while the number of branches is at most this (the
/// alternating sum loses about C(n, n/2)·ε relative: 2e-10 at n = 20)...
const EXACT_MAX_BRANCHES: usize = 20;
/// ... and the number of terms (over distinct rates with multiplicities) at most this.
const EXACT_MAX_TERMS: u64 = 1 << 16;

/// Mean of the maximum of independent exponential variables with the given rates (per
/// second): the mean time until the slowest of parallel exponential branches finishes.
///
/// - All rates equal (λ, n of them): H_n/λ, H_n the harmonic number (the Rényi
///   representation of exponential order statistics: the gaps between successive
///   finishers are exponential with rates nλ, (n−1)λ, …, λ; David & Nagaraja, *Order
///   Statistics*, 3rd ed. 2003, §2.5; Ross, *Introduction to Probability Models*, §5.2).
/// - Otherwise, exact by inclusion–exclusion, since P(max ≤ t) = Π(1 − e^(−λ_i t)):
///   E[max] = Σ over non-empty subsets S of (−1)^(|S|+1) / Σ_{i∈S} λ_i (Ross, *A First
///   Course in Probability*, ch. 7, the maximum–minimums identity), summed over distinct
///   rates with multiplicities (so that r groups of equal rates cost Π(n_j + 1) terms). Used
///   while n ≤ 20 and there are at most 2¹⁶ terms, where the alternating sum keeps about 9
///   significant digits or more.
/// - Otherwise (many branches with mixed rates), numerically: ∫₀^T (1 − Π(1 − e^(−λ_i t))) dt
///   by adaptive Simpson, with T = (ln n + 40)/λ_min so that the tail left out is below
///   e^(−40)/λ_min; the survival is evaluated as −expm1(Σ ln1p(−e^(−λ_i t))), which keeps
///   its relative accuracy far out in the tail. Relative error about 1e-9.
///
/// `None` for no rates, or a rate that is not finite and positive.
pub fn max_exponential_mean(rates: &[f64]) -> Option<f64> {
    if rates.is_empty() || !rates.iter().all(|&r| r.is_finite() && r > 0.0) {
        return None;
    }
    let n = rates.len();
    if rates.iter().all(|&r| r == rates[0]) {
        return Some(harmonic(n as u64) / rates[0]);
    }
    // Distinct rates with their multiplicities.
    let mut sorted = rates.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut groups: Vec<(f64, u32)> = Vec::new();
    for r in sorted {
        match groups.last_mut() {
            Some((v, c)) if *v == r => *c += 1,
            _ => groups.push((r, 1)),
        }
    }
    let terms = groups
        .iter()
        .try_fold(1u64, |acc, &(_, c)| acc.checked_mul(u64::from(c) + 1));
    if n <= EXACT_MAX_BRANCHES && terms.is_some_and(|t| t <= EXACT_MAX_TERMS) {
        return Some(max_exponential_inclusion_exclusion(&groups));
    }
    let lambda_min = groups[0].0;
    let upper = (math::ln(n as f64) + 40.0) / lambda_min;
    let survival = |t: f64| {
        let log_all_done: f64 = rates.iter().map(|&r| math::ln_1p(-math::exp(-r * t))).sum();
        -math::exp_m1(log_all_done)
    };
    let value = integrate(&survival, 0.0, upper, 1e-11 / lambda_min);
    value.is_finite().then_some(value)
}

/// Σ over (j_1, …, j_r) ≠ 0 with 0 ≤ j_g ≤ n_g of (−1)^(Σj+1) Π C(n_g, j_g) / Σ j_g λ_g.
fn max_exponential_inclusion_exclusion(groups: &[(f64, u32)]) -> f64 {
    let mut j = vec![0u32; groups.len()];
    let mut sum = 0.0;
    loop {
        // Odometer step: the next multiplicity vector, or stop after the last.
        let mut g = 0;
        loop {
            if g == groups.len() {
                return sum;
            }
            if j[g] < groups[g].1 {
                j[g] += 1;
                break;
            }
            j[g] = 0;
            g += 1;
        }
        let mut weight = 1.0;
        let mut rate = 0.0;
        let mut size = 0u32;
        for (&(r, c), &k) in groups.iter().zip(&j) {
            weight *= binomial(c, k);
            rate += f64::from(k) * r;
            size += k;
        }
        let sign = if size % 2 == 1 { 1.0 } else { -1.0 };
        sum += sign * weight / rate;
    }
}

fn binomial(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
}

/// Largest survival 1 − Π F_i(upper) that [`max_mean_numeric`] accepts at its upper limit.
pub const MAX_SURVIVAL_AT_UPPER: f64 = 1e-9;

/// Mean of the maximum of independent non-negative variables with CDFs `cdfs`:
/// E[max] = ∫₀^upper (1 − Π_i F_i(t)) dt (David & Nagaraja, *Order Statistics*, 3rd ed.
/// 2003, §2.1: the maximum's CDF is the product of the CDFs, and a non-negative variable's
/// mean is the integral of its survival), by adaptive Simpson quadrature (the module's `integrate`:
/// 256 panels, each refined until its halves agree, absolute tolerance 1e-10·upper). Each
/// CDF is clamped to [0, 1] and must be non-decreasing (a CDF), which makes the integrand
/// non-increasing and the quadrature safe also at jumps (deterministic branches).
///
/// For general branches: [`mm1_response_cdf`] (a queued tier), [`exponential_cdf`],
/// [`deterministic_cdf`], [`erlang_cdf`], [`lognormal_cdf`]. `upper` must leave a
/// negligible tail: `None` when the survival at `upper` exceeds [`MAX_SURVIVAL_AT_UPPER`]
/// (the tail left out is then at most about that survival times the tail's mean excess; use
/// [`max_mean_numeric_auto`] to have it found). `None` also for no CDFs, a bad `upper`, or
/// a CDF that gives NaN.
pub fn max_mean_numeric(cdfs: &[&dyn Fn(f64) -> f64], upper: f64) -> Option<f64> {
    if cdfs.is_empty() || !(upper.is_finite() && upper > 0.0) {
        return None;
    }
    let survival = |t: f64| 1.0 - cdfs.iter().map(|f| f(t).clamp(0.0, 1.0)).product::<f64>();
    let tail = survival(upper);
    if tail.is_nan() || tail > MAX_SURVIVAL_AT_UPPER {
        return None;
    }
    let value = integrate(&survival, 0.0, upper, 1e-10 * upper);
    value.is_finite().then_some(value)
}

/// [`max_mean_numeric`] with the upper limit found by doubling from `scale` (a time of the
/// order of the branches' means, > 0) until the survival 1 − Π F_i is at most 1e-12 (at most
/// 200 doublings). The branches must have a finite mean; for a power-law tail P(X > t) ~
/// t^(−α) the part left out is about T·S(T)/(α − 1), so heavy tails with α near 1 lose
/// accuracy. `None` when no such limit is found or for the reasons of [`max_mean_numeric`].
pub fn max_mean_numeric_auto(cdfs: &[&dyn Fn(f64) -> f64], scale: f64) -> Option<f64> {
    if cdfs.is_empty() || !(scale.is_finite() && scale > 0.0) {
        return None;
    }
    let survival = |t: f64| 1.0 - cdfs.iter().map(|f| f(t).clamp(0.0, 1.0)).product::<f64>();
    let mut upper = scale;
    for _ in 0..200 {
        let s = survival(upper);
        if s.is_nan() || !upper.is_finite() {
            return None;
        }
        if s <= 1e-12 {
            return max_mean_numeric(cdfs, upper);
        }
        upper *= 2.0;
    }
    None
}

/// CDF of an exponential with mean `mean` (> 0): 1 − e^(−t/mean) for t ≥ 0.
pub fn exponential_cdf(mean: f64) -> Option<impl Fn(f64) -> f64> {
    (mean.is_finite() && mean > 0.0)
        .then_some(move |t: f64| if t <= 0.0 { 0.0 } else { -math::exp_m1(-t / mean) })
}

/// Response (sojourn) time CDF of an FCFS M/M/1 queue with arrival rate `lambda` and service
/// rate `mu`: exponential with rate μ − λ, 1 − e^(−(μ−λ)t) (Kleinrock 1975, *Queueing
/// Systems* Vol. 1, §3.2, eq. 3.28; Harchol-Balter 2013, ch. 13). For the fan-out of queued
/// tiers. `None` when unstable (λ ≥ μ) or invalid.
pub fn mm1_response_cdf(lambda: f64, mu: f64) -> Option<impl Fn(f64) -> f64> {
    super::Mm1::new(lambda, mu)
        .mean_response()
        .and_then(exponential_cdf)
}

/// CDF of the constant `d` (≥ 0): 0 before d, 1 from d on.
pub fn deterministic_cdf(d: f64) -> Option<impl Fn(f64) -> f64> {
    (d.is_finite() && d >= 0.0).then_some(move |t: f64| if t >= d { 1.0 } else { 0.0 })
}

/// CDF of an Erlang with `k` ≥ 1 phases and mean `mean` (each phase exponential with rate
/// k/mean): 1 − e^(−x) Σ_{j<k} x^j/j!, x = kt/mean (Kleinrock Vol. 1, §4.3; Ross,
/// *Introduction to Probability Models*, §5.2.3).
pub fn erlang_cdf(k: u32, mean: f64) -> Option<impl Fn(f64) -> f64> {
    (k >= 1 && mean.is_finite() && mean > 0.0).then_some(move |t: f64| {
        if t <= 0.0 {
            return 0.0;
        }
        let x = f64::from(k) * t / mean;
        let mut term = 1.0;
        let mut sum = 1.0;
        for j in 1..k {
            term *= x / f64::from(j);
            sum += term;
        }
        (1.0 - math::exp(-x) * sum).clamp(0.0, 1.0)
    })
}

/// CDF of a log-normal with mean `mean` (> 0) and squared coefficient of variation `scv`
/// (> 0): ln X ~ N(m, s²) with s² = ln(1 + scv) and m = ln(mean) − s²/2 (Johnson, Kotz &
/// Balakrishnan, *Continuous Univariate Distributions* Vol. 1, 2nd ed., ch. 14), so
/// F(t) = Φ((ln t − m)/s).
pub fn lognormal_cdf(mean: f64, scv: f64) -> Option<impl Fn(f64) -> f64> {
    if !(mean.is_finite() && mean > 0.0 && scv.is_finite() && scv > 0.0) {
        return None;
    }
    let s2 = math::ln_1p(scv);
    let s = s2.sqrt();
    let m = math::ln(mean) - 0.5 * s2;
    Some(move |t: f64| {
        if t <= 0.0 {
            0.0
        } else {
            normal_cdf((math::ln(t) - m) / s)
        }
    })
}

/// Mean response of a fan-out to independent FCFS M/M/1 branches, each `(λ, μ)`: the mean of
/// the maximum of exponentials with rates μ_i − λ_i ([`mm1_response_cdf`],
/// [`max_exponential_mean`]). Independence is an assumption: when every request forks to
/// all branches at the same instant (a fork–join), the branches' queues see the same
/// arrivals and their response times are positively correlated, and this is an upper bound
/// (see [`fork_join_mm1_mean`]). `None` when a branch is unstable or invalid.
pub fn fanout_mm1_mean(branches: &[(f64, f64)]) -> Option<f64> {
    let rates = branches
        .iter()
        .map(|&(lambda, mu)| super::Mm1::new(lambda, mu).mean_response().map(|t| 1.0 / t))
        .collect::<Option<Vec<f64>>>()?;
    max_exponential_mean(&rates)
}

/// Mean response of a fork–join of `k` ≥ 1 identical FCFS M/M/1 queues (rate λ, μ each)
/// where every arrival forks one task to each queue and completes when all have finished.
/// k = 1: the M/M/1 mean 1/(μ − λ). k = 2, exact: (12 − ρ)/8 · 1/(μ − λ) (Flatto & Hahn 1984,
/// "Two parallel queues created by arrivals with two demands I", SIAM J. Appl. Math. 44; in
/// this form Nelson & Tantawi 1988, "Approximate analysis of fork/join synchronization in
/// parallel queues", IEEE Trans. Computers 37(6)). k ≥ 3, Nelson & Tantawi's approximation
/// (stated within about 5% of simulation for k ≤ 32):
/// R_k ≈ [H_k/H_2 + (4/11)(1 − H_k/H_2)ρ] · R_2. At light load both give H_k/(μ − λ), the
/// independent-exponential value; under load the shared arrivals correlate the branches and
/// the mean is below the independent one. `None` when unstable, invalid, or k = 0.
pub fn fork_join_mm1_mean(lambda: f64, mu: f64, k: u32) -> Option<f64> {
    let mm1 = super::Mm1::new(lambda, mu);
    let t = mm1.mean_response()?;
    if k == 0 {
        return None;
    }
    if k == 1 {
        return Some(t);
    }
    let rho = mm1.rho();
    let r2 = (12.0 - rho) / 8.0 * t;
    let ratio = harmonic(u64::from(k)) / 1.5;
    Some((ratio + 4.0 / 11.0 * (1.0 - ratio) * rho) * r2)
}

// ============================================================================================
// Shard load from key popularity
// ============================================================================================

/// Each shard's share of the requests, given per-key request probabilities `popularity`
/// (normalised here, so weights do too) and the partitioning `shard_of`: key index → shard
/// in 0..`shards`. Share_j = Σ_{k: shard_of(k) = j} p_k / Σ_k p_k. Exact for any
/// deterministic mapping (hash, range, directory, consistent hash), given the same mapping
/// the simulator uses. `None` for no shards, no keys, a negative or non-finite weight, zero
/// total weight, or a shard out of range.
pub fn shard_shares(popularity: &[f64], shard_of: impl Fn(usize) -> u32, shards: u32) -> Option<Vec<f64>> {
    let total = total_weight(popularity)?;
    if shards == 0 {
        return None;
    }
    let mut shares = vec![0.0; shards as usize];
    for (k, &p) in popularity.iter().enumerate() {
        *shares.get_mut(shard_of(k) as usize)? += p / total;
    }
    Some(shares)
}

/// Σ p_k when every weight is finite and ≥ 0 and the sum is positive.
fn total_weight(popularity: &[f64]) -> Option<f64> {
    if !popularity.iter().all(|&p| p.is_finite() && p >= 0.0) {
        return None;
    }
    let total: f64 = popularity.iter().sum();
    (total > 0.0 && total.is_finite()).then_some(total)
}

/// [`shard_shares`] for range partitioning into contiguous key ranges of equal width: key k
/// of n goes to shard ⌊k·S/n⌋ (the simulator's `Scheme::Range` with key space n). With
/// popularity falling by key index (as [`super::zipf_popularity`] gives, index 0 the most
/// popular), the first shard takes all the hottest keys.
pub fn shard_shares_range(popularity: &[f64], shards: u32) -> Option<Vec<f64>> {
    let n = popularity.len() as u128;
    shard_shares(
        popularity,
        |k| (k as u128 * u128::from(shards) / n.max(1)) as u32,
        shards,
    )
}

/// Keys placed exactly in [`expected_max_share_hash`] (their placements enumerated); the
/// rest of the keys are approximated as a Gaussian load.
const HOT_KEYS: usize = 5;

/// Expected share of the hottest of `shards` shards under hash partitioning, modelled as
/// every key placed independently and uniformly on a shard (balls into bins with weights;
/// Berenbrink, Friedetzky, Hu & Martin 2008, "On weighted balls-into-bins games", Theor.
/// Comput. Sci. 409). An approximation:
///
/// - The m = min(5, n) hottest keys are placed exactly: every way of putting them on shards
///   is enumerated (set partitions of the m keys, each with probability S(S−1)…(S−b+1)/S^m
///   for b occupied shards), giving hot loads c_j per shard.
/// - The other keys' loads R_j are Gaussian with the multinomial moments: mean r/S and
///   covariance matrix τ²(δ_ij − 1/S), with r their total probability and τ² = Σ p_k²/S over
///   them. That covariance is exactly that of τ(Z_j − Z̄) with Z_j independent standard
///   normals, and max_j(c_j + R_j) = r/S + max_j(c_j + τZ_j) − τZ̄, where E[Z̄] = 0; so
///   E[max] = r/S + E[max_j(c_j + τZ_j)] with the Z_j independent, a one-dimensional
///   integral of 1 − Π_j Φ((x − c_j)/τ) (by adaptive Simpson).
///
/// With no hot keys singled out this is 1/S + √(Σp²/S)·e_S, e_S the expected maximum of S
/// independent standard normals ([`normal_max_mean`]; Blom 1958, *Statistical estimates and
/// transformed beta-variables*, approximates it by Φ⁻¹((S − 0.375)/(S + 0.25))). It is never
/// below p_max + (1 − p_max)/S, the hottest key's shard's mean share, which E[max] can only
/// exceed. Checked against Monte Carlo over random placements of Zipf popularities (see the
/// tests): within 1%. `popularity` is normalised; `None` for invalid weights (see
/// [`shard_shares`]) or no shards.
pub fn expected_max_share_hash(popularity: &[f64], shards: u32) -> Option<f64> {
    let total = total_weight(popularity)?;
    if shards == 0 {
        return None;
    }
    if shards == 1 {
        return Some(1.0);
    }
    let s = f64::from(shards);
    let mut p: Vec<f64> = popularity.iter().map(|&x| x / total).collect();
    p.sort_by(|a, b| b.total_cmp(a));
    let m = HOT_KEYS.min(p.len());
    let (hot, rest) = p.split_at(m);
    let rest_mass: f64 = rest.iter().sum();
    let tau = (rest.iter().map(|x| x * x).sum::<f64>() / s).sqrt();
    // Restricted growth strings: block[i] ≤ 1 + max(block[..i]), block[0] = 0.
    let mut block = vec![0usize; m];
    let mut expected = 0.0;
    loop {
        let blocks = block.iter().max().map_or(0, |b| b + 1);
        if blocks <= shards as usize {
            let mut loads = vec![0.0; blocks];
            for (i, &b) in block.iter().enumerate() {
                loads[b] += hot[i];
            }
            // S (S − 1) … (S − b + 1) / S^m labelled placements share this pattern.
            let prob = (0..blocks).map(|i| (s - i as f64) / s).product::<f64>() / s.powi((m - blocks) as i32);
            expected += prob * max_shifted_normals(&loads, shards - blocks as u32, tau);
        }
        // Next restricted growth string, or stop after the last.
        let mut i = m;
        loop {
            if i <= 1 {
                let value = rest_mass / s + expected;
                let floor = p[0] + (1.0 - p[0]) / s;
                return value.is_finite().then_some(value.max(floor));
            }
            i -= 1;
            let prefix_max = block[..i].iter().max().copied().unwrap_or(0);
            if block[i] <= prefix_max {
                block[i] += 1;
                for b in &mut block[i + 1..] {
                    *b = 0;
                }
                break;
            }
        }
    }
}

/// E[max(c_1 + τZ_1, …, c_b + τZ_b, τZ_{b+1}, …, τZ_{b+zeros})] for independent standard
/// normals Z: ∫₀^∞ (1 − G) − ∫_{−∞}^0 G with G(x) = Π Φ((x − c_j)/τ) · Φ(x/τ)^zeros, taken
/// over [min − 12τ, max + 12τ] (Φ(−12) < 2e-33). With τ = 0, simply max(c, 0 if zeros > 0).
fn max_shifted_normals(c: &[f64], zeros: u32, tau: f64) -> f64 {
    let top = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let top = if zeros > 0 { top.max(0.0) } else { top };
    if tau <= 0.0 {
        return top;
    }
    let bottom = c
        .iter()
        .copied()
        .fold(if zeros > 0 { 0.0 } else { f64::INFINITY }, f64::min);
    let (lo, hi) = (bottom - 12.0 * tau, top + 12.0 * tau);
    let cdf = |x: f64| {
        c.iter().map(|&cj| normal_cdf((x - cj) / tau)).product::<f64>()
            * normal_cdf(x / tau).powi(zeros as i32)
    };
    // E[W] = lo + ∫_lo^hi (1 − G), as W ≥ lo and W ≤ hi up to negligible tails.
    lo + integrate(&|x| 1.0 - cdf(x), lo, hi, 1e-12 * (hi - lo))
}

/// Expected maximum e_n of `n` ≥ 1 independent standard normal variables, by integrating
/// its survival (see [`expected_max_share_hash`]); e_1 = 0, e_2 = 1/√π, e_3 = 3/(2√π)
/// (David & Nagaraja, *Order Statistics*, 3rd ed. 2003, §3.2 and table values). `None` for
/// n = 0.
pub fn normal_max_mean(n: u32) -> Option<f64> {
    (n >= 1).then(|| max_shifted_normals(&[], n, 1.0))
}

/// Utilisation of the hottest shard: total request rate `total_rate` (per second) × the
/// hottest shard's share / the shard's capacity `capacity_per_shard` (requests per second
/// it can serve, c·μ). May be ≥ 1: the hottest shard is then overloaded whatever the
/// average says. `None` for a non-finite or negative rate, a non-positive capacity or a
/// share outside [0, 1].
pub fn hottest_shard_utilization(
    total_rate: f64,
    hottest_share: f64,
    capacity_per_shard: f64,
) -> Option<f64> {
    let valid = total_rate.is_finite()
        && total_rate >= 0.0
        && capacity_per_shard.is_finite()
        && capacity_per_shard > 0.0
        && (0.0..=1.0).contains(&hottest_share);
    valid.then(|| total_rate * hottest_share / capacity_per_shard)
}

/// How keys are spread over shards, for [`hottest_share`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partitioning {
    /// Equal-width contiguous key ranges ([`shard_shares_range`]): exact.
    Range,
    /// Hash (or consistent hash, directory) modelled as independent uniform placement
    /// ([`expected_max_share_hash`]): the expected hottest share, an approximation.
    RandomHash,
}

/// The hottest shard's share of requests under `partitioning`. For a known deterministic
/// mapping use `shard_shares` and take the largest share instead (exact).
pub fn hottest_share(popularity: &[f64], shards: u32, partitioning: Partitioning) -> Option<f64> {
    match partitioning {
        Partitioning::Range => shard_shares_range(popularity, shards)?
            .into_iter()
            .reduce(f64::max),
        Partitioning::RandomHash => expected_max_share_hash(popularity, shards),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theory::zipf_popularity;
    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};
    use std::f64::consts::PI;

    /// Mean and standard error of `draws` samples.
    fn mean_se(draws: usize, mut sample: impl FnMut() -> f64) -> (f64, f64) {
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..draws {
            let x = sample();
            s += x;
            s2 += x * x;
        }
        let n = draws as f64;
        let mean = s / n;
        (mean, ((s2 / n - mean * mean) / n).sqrt())
    }

    fn exp_draw(rng: &mut ChaCha8Rng, rate: f64) -> f64 {
        -math::ln(1.0 - rng.random::<f64>()) / rate
    }

    #[test]
    fn equal_rates_give_the_harmonic_number() {
        assert!((harmonic(1) - 1.0).abs() < 1e-15);
        assert!((harmonic(4) - 25.0 / 12.0).abs() < 1e-15);
        for n in [1usize, 2, 3, 10, 100, 10_000] {
            let got = max_exponential_mean(&vec![4.0; n]).unwrap();
            assert!((got - harmonic(n as u64) / 4.0).abs() < 1e-14, "n={n}");
        }
        assert!((max_exponential_mean(&[2.0, 2.0]).unwrap() - 0.75).abs() < 1e-15);
    }

    #[test]
    fn two_rates_have_the_closed_form() {
        for (a, b) in [(1.0, 2.0), (10.0, 0.5), (3.0, 3.000001)] {
            let want = 1.0 / a + 1.0 / b - 1.0 / (a + b);
            let got = max_exponential_mean(&[a, b]).unwrap();
            assert!((got - want).abs() < 1e-14 * want, "{a} {b}: {got} vs {want}");
        }
        assert!(max_exponential_mean(&[]).is_none());
        assert!(max_exponential_mean(&[1.0, 0.0]).is_none());
        assert!(max_exponential_mean(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn inclusion_exclusion_and_integration_agree() {
        // Mixed rates in groups (exact path) against the numerical integral.
        let rates: Vec<f64> = (0..12).map(|i| 1.0 + 0.37 * f64::from(i % 5)).collect();
        let exact = max_exponential_mean(&rates).unwrap();
        let cdfs: Vec<_> = rates.iter().map(|&r| exponential_cdf(1.0 / r).unwrap()).collect();
        let refs: Vec<&dyn Fn(f64) -> f64> = cdfs.iter().map(|f| f as &dyn Fn(f64) -> f64).collect();
        let numeric = max_mean_numeric(&refs, 60.0).unwrap();
        assert!((exact - numeric).abs() < 1e-8 * exact, "{exact} vs {numeric}");
        // 12 distinct rates: 4096 subsets, exact, against the integral.
        let distinct: Vec<f64> = (0..12).map(|i| 0.5 + 0.25 * f64::from(i)).collect();
        let exact = max_exponential_mean(&distinct).unwrap();
        let cdfs: Vec<_> = distinct
            .iter()
            .map(|&r| exponential_cdf(1.0 / r).unwrap())
            .collect();
        let refs: Vec<&dyn Fn(f64) -> f64> = cdfs.iter().map(|f| f as &dyn Fn(f64) -> f64).collect();
        let numeric = max_mean_numeric(&refs, 100.0).unwrap();
        assert!((exact - numeric).abs() < 1e-8 * exact, "{exact} vs {numeric}");
        // Beyond the exact limit (21 branches, integrated): A ~ Exp(3) and M the max of 20
        // Exp(2). E[max(A, M)] = ∫(1 − F_M) + ∫F_M(1 − F_A) = H_20/2 + ∫(1 − e^(−2t))^20 e^(−3t) dt,
        // and with u = e^(−2t) the second is B(3/2, 21)/2 = ½ Π_{i=1..20} i/(i + 1.5) / 1.5.
        let mut near = vec![2.0; 21];
        near[0] = 3.0;
        let integrated = max_exponential_mean(&near).unwrap();
        let h20 = harmonic(20) / 2.0;
        let beta: f64 = (1..=20)
            .map(|i| f64::from(i) / (f64::from(i) + 1.5))
            .product::<f64>()
            / 1.5;
        let want = h20 + beta / 2.0;
        assert!((integrated - want).abs() < 1e-9 * want, "{integrated} vs {want}");
    }

    #[test]
    fn max_of_exponentials_matches_monte_carlo() {
        let mut rng = ChaCha8Rng::seed_from_u64(27);
        for rates in [vec![1.0, 2.0, 5.0], vec![0.5, 1.0, 1.0, 4.0, 8.0, 8.0, 8.0]] {
            let want = max_exponential_mean(&rates).unwrap();
            let (mc, se) = mean_se(400_000, || {
                rates.iter().map(|&r| exp_draw(&mut rng, r)).fold(0.0, f64::max)
            });
            assert!((mc - want).abs() < 4.0 * se, "{rates:?}: {mc} ± {se} vs {want}");
        }
    }

    #[test]
    fn numeric_max_matches_closed_forms() {
        // Deterministic branches: the max of the constants, to the quadrature's resolution.
        let (a, b, c) = (
            deterministic_cdf(0.002).unwrap(),
            deterministic_cdf(0.0071).unwrap(),
            deterministic_cdf(0.0035).unwrap(),
        );
        let got = max_mean_numeric(&[&a, &b, &c], 0.01).unwrap();
        assert!((got - 0.0071).abs() < 1e-12, "{got}");
        // Exponential and constant d: E[max] = d + e^{−λd}/λ.
        let (e, d) = (exponential_cdf(0.5).unwrap(), deterministic_cdf(1.0).unwrap());
        let got = max_mean_numeric(&[&e, &d], 40.0).unwrap();
        let want = 1.0 + math::exp(-2.0) * 0.5;
        assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        // M/M/1 tiers: exponential with rate μ − λ; two tiers 1/a + 1/b − 1/(a + b).
        let (t1, t2) = (
            mm1_response_cdf(80.0, 100.0).unwrap(),
            mm1_response_cdf(30.0, 40.0).unwrap(),
        );
        let got = max_mean_numeric(&[&t1, &t2], 5.0).unwrap();
        let want = 1.0 / 20.0 + 1.0 / 10.0 - 1.0 / 30.0;
        assert!((got - want).abs() < 1e-10, "{got} vs {want}");
        assert!((fanout_mm1_mean(&[(80.0, 100.0), (30.0, 40.0)]).unwrap() - want).abs() < 1e-15);
        assert!(mm1_response_cdf(100.0, 100.0).is_none());
        assert!(fanout_mm1_mean(&[(80.0, 100.0), (50.0, 40.0)]).is_none());
        // Erlang-1 is the exponential; one Erlang-k alone has its mean.
        let e1 = erlang_cdf(1, 0.3).unwrap();
        assert!((max_mean_numeric(&[&e1], 20.0).unwrap() - 0.3).abs() < 1e-10);
        let e4 = erlang_cdf(4, 0.3).unwrap();
        assert!((max_mean_numeric(&[&e4], 20.0).unwrap() - 0.3).abs() < 1e-10);
        // One log-normal alone has its mean (found upper limit).
        let ln = lognormal_cdf(0.01, 1.0).unwrap();
        let got = max_mean_numeric_auto(&[&ln], 0.01).unwrap();
        assert!((got - 0.01).abs() < 1e-8, "{got}");
        // The tail check refuses a short upper limit.
        assert!(max_mean_numeric(&[&e, &d], 5.0).is_none());
        assert!(max_mean_numeric(&[], 5.0).is_none());
    }

    #[test]
    fn numeric_max_of_general_branches_matches_monte_carlo() {
        // Two Erlang-3 branches (mean 10 ms) and a log-normal (mean 8 ms, SCV 2).
        let (a, b) = (erlang_cdf(3, 0.010).unwrap(), lognormal_cdf(0.008, 2.0).unwrap());
        let want = max_mean_numeric_auto(&[&a, &a, &b], 0.01).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let s = math::ln_1p(2.0).sqrt();
        let m = math::ln(0.008) - 0.5 * s * s;
        let (mc, se) = mean_se(300_000, || {
            let erl = |rng: &mut ChaCha8Rng| (0..3).map(|_| exp_draw(rng, 300.0)).sum::<f64>();
            // Box–Muller for the normal behind the log-normal.
            let (u1, u2) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
            let z = (-2.0 * math::ln(u1)).sqrt() * math::cos(2.0 * PI * u2);
            erl(&mut rng).max(erl(&mut rng)).max(math::exp(m + s * z))
        });
        assert!((mc - want).abs() < 4.0 * se, "{mc} ± {se} vs {want}");
    }

    #[test]
    fn fork_join_has_its_limits() {
        // k = 2 is Flatto–Hahn / Nelson–Tantawi exact; light load gives H_k/(μ − λ).
        let t = 1.0 / (10.0 - 5.0);
        assert!((fork_join_mm1_mean(5.0, 10.0, 2).unwrap() - (12.0 - 0.5) / 8.0 * t).abs() < 1e-15);
        assert!((fork_join_mm1_mean(5.0, 10.0, 1).unwrap() - t).abs() < 1e-15);
        let light = fork_join_mm1_mean(1e-9, 10.0, 8).unwrap();
        assert!((light - harmonic(8) / 10.0).abs() < 1e-9);
        // Below the independent-branch value under load.
        let fj = fork_join_mm1_mean(8.0, 10.0, 4).unwrap();
        assert!(fj < fanout_mm1_mean(&[(8.0, 10.0); 4]).unwrap());
        assert!(fork_join_mm1_mean(10.0, 10.0, 2).is_none());
        assert!(fork_join_mm1_mean(5.0, 10.0, 0).is_none());
    }

    #[test]
    fn fork_join_matches_a_lindley_simulation() {
        // k identical FCFS M/M/1 queues fed by the same Poisson arrivals: each queue's wait
        // follows Lindley's recursion W' = max(0, W + S − A); a job's response is the max of
        // W + S over queues. Standard error from 50 batch means.
        let (lambda, mu) = (6.0, 10.0);
        for k in [2usize, 4, 8] {
            let mut rng = ChaCha8Rng::seed_from_u64(k as u64);
            let mut wait = vec![0.0; k];
            let batches = 50;
            let per_batch = 40_000;
            for _ in 0..10_000 {
                let a = exp_draw(&mut rng, lambda);
                for w in wait.iter_mut() {
                    *w = (*w + exp_draw(&mut rng, mu) - a).max(0.0);
                }
            }
            let mut means = Vec::new();
            for _ in 0..batches {
                let mut sum = 0.0;
                for _ in 0..per_batch {
                    let mut worst: f64 = 0.0;
                    let a = exp_draw(&mut rng, lambda);
                    for w in wait.iter_mut() {
                        let s = exp_draw(&mut rng, mu);
                        worst = worst.max(*w + s);
                        *w = (*w + s - a).max(0.0);
                    }
                    sum += worst;
                }
                means.push(sum / per_batch as f64);
            }
            let n = batches as f64;
            let mc = means.iter().sum::<f64>() / n;
            let se = (means.iter().map(|m| (m - mc) * (m - mc)).sum::<f64>() / (n - 1.0) / n).sqrt();
            let th = fork_join_mm1_mean(lambda, mu, k as u32).unwrap();
            println!("fork-join k={k}: Nelson–Tantawi {th:.5}, Lindley {mc:.5} ± {se:.5}");
            // Exact for k = 2 (statistical tolerance only); Nelson–Tantawi within 5% beyond.
            let tol = if k == 2 { 4.0 * se } else { 0.05 * mc + 4.0 * se };
            assert!((mc - th).abs() < tol, "k={k}: {mc} ± {se} vs {th}");
        }
    }

    #[test]
    fn shares_follow_the_mapping() {
        let p = [0.4, 0.3, 0.2, 0.1];
        let s = shard_shares(&p, |k| (k % 2) as u32, 2).unwrap();
        assert!((s[0] - 0.6).abs() < 1e-15 && (s[1] - 0.4).abs() < 1e-15);
        // Unnormalised weights give the same shares.
        let s2 = shard_shares(&[4.0, 3.0, 2.0, 1.0], |k| (k % 2) as u32, 2).unwrap();
        assert!((s2[0] - 0.6).abs() < 1e-15);
        // Range: 10 keys on 3 shards: keys 0–3, 4–6, 7–9 (k·3/10).
        let r = shard_shares_range(&[1.0; 10], 3).unwrap();
        assert!((r[0] - 0.4).abs() < 1e-15 && (r[1] - 0.3).abs() < 1e-15 && (r[2] - 0.3).abs() < 1e-15);
        let z = zipf_popularity(10_000, 0.99);
        let top = hottest_share(&z, 4, Partitioning::Range).unwrap();
        assert!((top - z[..2500].iter().sum::<f64>()).abs() < 1e-12);
        assert!(shard_shares(&p, |_| 2, 2).is_none());
        assert!(shard_shares(&p, |_| 0, 0).is_none());
        assert!(shard_shares(&[0.0, 0.0], |_| 0, 1).is_none());
        assert!(shard_shares(&[-1.0, 2.0], |_| 0, 1).is_none());
        assert!((hottest_shard_utilization(1000.0, 0.4, 500.0).unwrap() - 0.8).abs() < 1e-15);
        assert!(hottest_shard_utilization(1000.0, 1.4, 500.0).is_none());
        assert!(hottest_shard_utilization(1000.0, 0.4, 0.0).is_none());
    }

    #[test]
    fn normal_maxima_have_the_known_values() {
        let sp = PI.sqrt();
        assert!(normal_max_mean(1).unwrap().abs() < 1e-10);
        assert!((normal_max_mean(2).unwrap() - 1.0 / sp).abs() < 1e-10);
        assert!((normal_max_mean(3).unwrap() - 1.5 / sp).abs() < 1e-10);
        // n = 4 in closed form, (3/√π)(1/2 + asin(1/3)/π) = 1.029375; n = 5 from tables,
        // 1.162964 (David & Nagaraja §3.2).
        let e4 = 3.0 / sp * (0.5 + libm::asin(1.0 / 3.0) / PI);
        assert!((normal_max_mean(4).unwrap() - e4).abs() < 1e-10, "{e4}");
        assert!((normal_max_mean(5).unwrap() - 1.162964).abs() < 1e-6);
        // Blom's approximation is close (within 1% from n = 10).
        for n in [10u32, 16, 100] {
            let blom = crate::stats::normal::normal_quantile((f64::from(n) - 0.375) / (f64::from(n) + 0.25));
            let e = normal_max_mean(n).unwrap();
            assert!((blom - e).abs() < 0.01 * e, "n={n}: {blom} vs {e}");
        }
        assert!(normal_max_mean(0).is_none());
    }

    /// Monte Carlo of the hottest shard's share over random uniform placements.
    fn mc_max_share(p: &[f64], shards: u32, reps: usize, seed: u64) -> (f64, f64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut load = vec![0.0; shards as usize];
        mean_se(reps, || {
            load.iter_mut().for_each(|l| *l = 0.0);
            for &pk in p {
                load[rng.random_range(0..shards) as usize] += pk;
            }
            load.iter().copied().fold(0.0, f64::max)
        })
    }

    #[test]
    fn hottest_hash_share_matches_monte_carlo_under_zipf() {
        // The cases (10^4 keys, s = 0.99 and 1.2, 4 and 16 shards), where the hottest
        // key's floor dominates, and two where the Gaussian and the floor are close (s = 0.8 and
        // 0.6, 1000 keys): there the plain Gaussian-or-floor (`simple`, printed) is up to 2% low.
        let cases = [
            (0.99, 10_000, 4u32),
            (0.99, 10_000, 16),
            (1.2, 10_000, 4),
            (1.2, 10_000, 16),
            (0.8, 1_000, 8),
            (0.6, 1_000, 4),
        ];
        for (s, n, shards) in cases {
            let p = zipf_popularity(n, s);
            let th = expected_max_share_hash(&p, shards).unwrap();
            let (mc, se) = mc_max_share(&p, shards, 4_000, u64::from(shards) + n);
            let sf = f64::from(shards);
            let gauss = 1.0 / sf
                + (p.iter().map(|x| x * x).sum::<f64>() / sf).sqrt() * normal_max_mean(shards).unwrap();
            let simple = gauss.max(p[0] + (1.0 - p[0]) / sf);
            println!(
                "s={s} n={n} S={shards}: approx {th:.5}, simple {simple:.5}, Monte Carlo {mc:.5} ± {se:.5}"
            );
            assert!(
                (th - mc).abs() < 0.01 * mc + 4.0 * se,
                "s={s} n={n} S={shards}: {th} vs {mc} ± {se}"
            );
        }
    }

    #[test]
    fn hottest_hash_share_has_its_limits() {
        // Uniform popularity, many keys: 1/S + √(1/(nS))·e_S (Gaussian, no key stands out).
        let n = 100_000;
        let p = vec![1.0; n];
        let th = expected_max_share_hash(&p, 8).unwrap();
        let want = 1.0 / 8.0 + (1.0 / (n as f64 * 8.0)).sqrt() * normal_max_mean(8).unwrap();
        assert!((th - want).abs() < 1e-4 * want, "{th} vs {want}");
        // One key only: the whole load on one shard.
        assert!((expected_max_share_hash(&[5.0], 4).unwrap() - 1.0).abs() < 1e-12);
        // Two equal keys on S shards: together with probability 1/S (share 1), else ½.
        let two = expected_max_share_hash(&[1.0, 1.0], 4).unwrap();
        assert!((two - (0.25 + 0.75 * 0.5)).abs() < 1e-9, "{two}");
        // Never below the hottest key's shard mean; one shard takes everything.
        let z = zipf_popularity(1000, 1.5);
        let floor = z[0] + (1.0 - z[0]) / 16.0;
        assert!(expected_max_share_hash(&z, 16).unwrap() >= floor);
        assert!((expected_max_share_hash(&z, 1).unwrap() - 1.0).abs() < 1e-15);
        assert!(expected_max_share_hash(&z, 0).is_none());
        assert!(expected_max_share_hash(&[], 4).is_none());
        // The small-key Monte Carlo: 6 keys, 3 shards (placements enumerated but one).
        let p = [0.3, 0.2, 0.2, 0.1, 0.1, 0.1];
        let th = expected_max_share_hash(&p, 3).unwrap();
        let (mc, se) = mc_max_share(&p, 3, 200_000, 9);
        assert!((th - mc).abs() < 0.02 * mc + 4.0 * se, "{th} vs {mc} ± {se}");
    }
}

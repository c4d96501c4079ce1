//! Streaming statistics for simulation output.
//!
//! Everything here has constant memory: no type keeps the samples it has seen, so a
//! run of 10^9 requests costs the same memory as a run of 10.
//!
//! * [`Histogram`]: latency distribution (HdrHistogram) with an exact mean, min and max.
//! * [`TimeWeighted`]: time-average of a piecewise-constant signal (utilisation, queue length).
//! * [`Welford`]: running mean and variance.
//! * Free functions for the replication-level statistics: Student-t and normal quantiles and
//!   CDFs, 95% confidence intervals, Welch's t-test and the coefficient of variation.
//!
//! The special functions (log-gamma, regularised incomplete beta, erf/erfc) are implemented
//! here from their textbook definitions instead of pulling in a numerics crate; each one
//! names the formula it implements.
#![warn(missing_docs)]

use std::f64::consts::{FRAC_1_SQRT_2, PI};

// ============================================================================================
// Histogram
// ============================================================================================

/// Lowest discernible value of the latency histogram, in ns.
///
/// A low of 1 ns means a recorded 0 lands in HdrHistogram's exact zero bucket (index 0), so
/// zero latencies are neither rejected nor rounded up: `record(0)` counts a 0.
const HIST_LOW_NS: u64 = 1;
/// Highest trackable value, in ns (10^15 ns ≈ 11.6 days of simulated time).
const HIST_HIGH_NS: u64 = 1_000_000_000_000_000;
/// Three significant digits: relative bucket width < 0.1%, so any quantile is within 0.1%.
const HIST_SIGFIG: u8 = 3;

/// Latency histogram in integer nanoseconds: hdrhistogram, 3 significant digits (p99 error < 0.1%),
/// range 1 ns .. 10^15 ns, saturating at the top.
///
/// Percentiles come from the histogram buckets; the mean, minimum and maximum are tracked
/// exactly beside it (a `u128` running sum and two comparisons per sample), so `mean_ns` is the
/// exact arithmetic mean of the recorded values and `min_ns`/`max_ns` are recorded values, not
/// bucket edges.
///
/// Values above 10^15 ns saturate in the buckets only (they count as 10^15 ns for quantiles)
/// while the exact mean and max still see the real value. A recorded 0 is counted as 0 (see
/// `HIST_LOW_NS`).
///
/// Memory is fixed at creation (about 330 KiB of counters for this range and precision) and
/// never grows: the underlying histogram is created with fixed bounds and auto-resize off.
#[derive(Clone, Debug)]
pub struct Histogram {
    h: hdrhistogram::Histogram<u64>,
    /// Exact sum of the recorded values; u128 cannot overflow for fewer than 2^64 samples.
    sum: u128,
    /// Exact smallest recorded value (`u64::MAX` while empty).
    min: u64,
    /// Exact largest recorded value (0 while empty).
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// Creates an empty histogram covering 1 ns .. 10^15 ns at 3 significant digits.
    pub fn new() -> Self {
        // `new_with_bounds` leaves auto-resize off, so `record` never allocates.
        let h = hdrhistogram::Histogram::new_with_bounds(HIST_LOW_NS, HIST_HIGH_NS, HIST_SIGFIG)
            .expect("constant histogram bounds are valid");
        Histogram {
            h,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Records one latency sample in nanoseconds. Never allocates, never panics.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        // `saturating_record` is the single-sample record that clamps out-of-range values
        // (here: > 10^15 ns) instead of returning an error; in range it is a bucket index
        // computation and an increment.
        self.h.saturating_record(ns);
        self.sum += u128::from(ns);
        if ns < self.min {
            self.min = ns;
        }
        if ns > self.max {
            self.max = ns;
        }
    }

    /// Number of recorded samples.
    pub fn count(&self) -> u64 {
        self.h.len()
    }

    /// Whether no sample has been recorded (since creation or the last `reset`).
    pub fn is_empty(&self) -> bool {
        self.h.is_empty()
    }

    /// Exact arithmetic mean of the recorded values in ns (0 when empty).
    pub fn mean_ns(&self) -> f64 {
        let n = self.count();
        if n == 0 { 0.0 } else { self.sum as f64 / n as f64 }
    }

    /// The `q`-quantile in ns, `q` in [0, 1] (clamped; NaN counts as 0); 0 when empty.
    ///
    /// This is HdrHistogram's value at quantile (the highest value equivalent to the bucket
    /// holding the ⌈q·n⌉-th smallest sample), then clamped into the exact [min, max] so that
    /// `quantile_ns(0) == min_ns()` and `quantile_ns(1) <= max_ns()`.
    pub fn quantile_ns(&self, q: f64) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        self.h.value_at_quantile(q).clamp(self.min, self.max)
    }

    /// Exact largest recorded value in ns (0 when empty).
    pub fn max_ns(&self) -> u64 {
        self.max
    }

    /// Exact smallest recorded value in ns (0 when empty).
    pub fn min_ns(&self) -> u64 {
        if self.is_empty() { 0 } else { self.min }
    }

    /// Adds all samples of `other` into `self` (e.g. merging replications or components).
    pub fn add(&mut self, other: &Histogram) {
        // Both histograms have identical fixed bounds, so the addition cannot run out of range.
        self.h
            .add(&other.h)
            .expect("histograms with identical bounds always add");
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Removes all samples, keeping the allocated counters (warm-up deletion).
    pub fn reset(&mut self) {
        self.h.reset();
        self.sum = 0;
        self.min = u64::MAX;
        self.max = 0;
    }

    /// Points of the empirical CDF for charts: `(value_ns, cumulative fraction)`, increasing
    /// in both coordinates, at most `max_points` of them, the last one always at fraction 1.0.
    ///
    /// One candidate point per non-empty bucket (value = the bucket's highest equivalent value,
    /// clamped into the exact [min, max]). When there are more candidates than `max_points`,
    /// a candidate is kept when either the bucket rank or the cumulative fraction has advanced
    /// by at least a fixed step since the last kept point. Buckets are log-spaced, so the rank
    /// criterion keeps the tail's resolution (p99.9 and beyond) while the fraction criterion
    /// keeps every steep rise; each kept point consumes at least one step of one of the two
    /// unit-length budgets, which bounds the count.
    pub fn cdf_points(&self, max_points: usize) -> Vec<(u64, f64)> {
        let total = self.count();
        if total == 0 || max_points == 0 {
            return Vec::new();
        }
        let mut candidates: Vec<(u64, u64)> = Vec::new();
        let mut cum = 0u64;
        for v in self.h.iter_recorded() {
            cum += v.count_since_last_iteration();
            let value = v.value_iterated_to().clamp(self.min, self.max);
            candidates.push((value, cum));
        }
        let frac = |c: u64| c as f64 / total as f64;
        let n = candidates.len();
        if n <= max_points {
            return candidates.iter().map(|&(v, c)| (v, frac(c))).collect();
        }
        let mut out = Vec::with_capacity(max_points);
        if max_points < 4 {
            // Too few points for the two-criteria thinning: evenly spaced ranks, ending at the max.
            for i in 0..max_points {
                let idx = (n - 1) - (max_points - 1 - i) * (n - 1) / (max_points - 1).max(1);
                let (v, c) = candidates[idx];
                out.push((v, frac(c)));
            }
            out.dedup_by_key(|p| p.0);
            return out;
        }
        // First and last are always kept; each other kept point uses ≥ `step` of either the
        // rank budget or the fraction budget (both of length 1), so there are at most
        // 2/step = max_points − 2 of them.
        let step = 2.0 / (max_points - 2) as f64;
        let rank = |i: usize| i as f64 / (n - 1) as f64;
        let (v0, c0) = candidates[0];
        out.push((v0, frac(c0)));
        let (mut last_i, mut last_f) = (0usize, frac(c0));
        for (i, &(v, c)) in candidates.iter().enumerate().take(n - 1).skip(1) {
            let f = frac(c);
            if rank(i) - rank(last_i) >= step || f - last_f >= step {
                out.push((v, f));
                last_i = i;
                last_f = f;
            }
        }
        let (vn, cn) = candidates[n - 1];
        out.push((vn, frac(cn)));
        debug_assert!(out.len() <= max_points);
        out
    }
}

// ============================================================================================
// Time-weighted average
// ============================================================================================

/// Compensated (Neumaier 1974, "Rundungsfehleranalyse einiger Verfahren zur Summation
/// endlicher Summen", ZAMM 54) running sum.
///
/// A time-weighted area is the sum of up to ~10^9 small products; plain f64 summation loses
/// up to n·ε relative, the compensated sum stays at a few ε independent of n.
#[derive(Clone, Copy, Debug, Default)]
struct CompensatedSum {
    sum: f64,
    comp: f64,
}

impl CompensatedSum {
    #[inline]
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    #[inline]
    fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

/// Time-average of a piecewise-constant signal over integer-ns time (utilisation, queue length, replica count).
///
/// Two independent accumulators run side by side:
/// * the *measurement period* (from creation or the last [`reset`](Self::reset)), read with
///   [`mean`](Self::mean) and [`max`](Self::max);
/// * the *interval* (from creation, the last `reset` or the last
///   [`take_interval_mean`](Self::take_interval_mean)), read and restarted by
///   `take_interval_mean`, e.g. for per-second time series.
///
/// Times must not decrease between calls; a time earlier than the last one seen is treated as
/// "no time has passed" (and trips a debug assertion).
#[derive(Clone, Debug)]
pub struct TimeWeighted {
    value: f64,
    /// Time up to which the areas have been accumulated.
    last_t: u64,
    period_start: u64,
    period_area: CompensatedSum,
    interval_start: u64,
    interval_area: CompensatedSum,
    max: f64,
}

impl Default for TimeWeighted {
    fn default() -> Self {
        Self::new(0)
    }
}

impl TimeWeighted {
    /// Starts at time `t0` with value 0.
    pub fn new(t0: u64) -> Self {
        TimeWeighted {
            value: 0.0,
            last_t: t0,
            period_start: t0,
            period_area: CompensatedSum::default(),
            interval_start: t0,
            interval_area: CompensatedSum::default(),
            max: 0.0,
        }
    }

    /// Adds the area of the current value over [last_t, t] to both accumulators.
    #[inline]
    fn advance(&mut self, t: u64) {
        debug_assert!(t >= self.last_t, "TimeWeighted: time went backwards");
        if t > self.last_t {
            let area = self.value * (t - self.last_t) as f64;
            self.period_area.add(area);
            self.interval_area.add(area);
            self.last_t = t;
        }
    }

    /// Accumulates the area of the old value up to `t`, then changes the value.
    #[inline]
    pub fn set(&mut self, t: u64, value: f64) {
        self.advance(t);
        self.value = value;
        if value > self.max {
            self.max = value;
        }
    }

    /// `set(t, value() + delta)`.
    #[inline]
    pub fn add(&mut self, t: u64, delta: f64) {
        self.set(t, self.value + delta);
    }

    /// The current value.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Average since the last [`reset`](Self::reset) (or creation) up to `t`; the current
    /// value if no time has passed.
    pub fn mean(&self, t: u64) -> f64 {
        let end = t.max(self.last_t);
        let span = end - self.period_start;
        if span == 0 {
            return self.value;
        }
        let area = self.period_area.value() + self.value * (end - self.last_t) as f64;
        area / span as f64
    }

    /// Starts a new measurement period (and a new interval) at `t`, keeping the current value;
    /// the maximum restarts from the current value. Used for warm-up deletion.
    pub fn reset(&mut self, t: u64) {
        self.advance(t);
        let t = self.last_t;
        self.period_start = t;
        self.period_area = CompensatedSum::default();
        self.interval_start = t;
        self.interval_area = CompensatedSum::default();
        self.max = self.value;
    }

    /// Average since the previous `take_interval_mean` (or `reset`/`new`) up to `t`, then starts
    /// a new interval at `t`. Does not touch what [`mean`](Self::mean) and
    /// [`max`](Self::max) report. Returns the current value for an empty interval.
    pub fn take_interval_mean(&mut self, t: u64) -> f64 {
        self.advance(t);
        let span = self.last_t - self.interval_start;
        let m = if span == 0 {
            self.value
        } else {
            self.interval_area.value() / span as f64
        };
        self.interval_start = self.last_t;
        self.interval_area = CompensatedSum::default();
        m
    }

    /// Largest value held since the last `reset` (or creation; the initial value 0 counts).
    pub fn max(&self) -> f64 {
        self.max
    }
}

// ============================================================================================
// Welford
// ============================================================================================

/// Welford's running mean/variance (Welford 1962; Knuth TAOCP vol. 2 §4.2.2).
///
/// Updates `M_k = M_{k-1} + (x_k − M_{k-1})/k` and `S_k = S_{k-1} + (x_k − M_{k-1})(x_k − M_k)`,
/// which avoids the cancellation of the textbook `Σx² − (Σx)²/n`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Welford {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Welford {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one observation.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Mean of the observations (0 when empty).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Sample variance with the n − 1 denominator (0 for fewer than 2 observations).
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).max(0.0)
        }
    }

    /// Sample standard deviation, `sqrt(variance())`.
    pub fn std_dev(&self) -> f64 {
        self.variance().sqrt()
    }
}

// ============================================================================================
// Special functions
// ============================================================================================

/// Tail of Stirling's series for ln Γ(y): Σ_{k≥1} B_{2k} / (2k(2k−1) y^{2k−1})
/// (Abramowitz & Stegun 6.1.40), up to k = 7. For y ≥ 15 the first omitted term is below 1e-19.
fn stirling_tail(y: f64) -> f64 {
    let r = 1.0 / y;
    let r2 = r * r;
    // Coefficients B_2/2, B_4/12, B_6/30, B_8/56, B_10/90, B_12/132, B_14/182.
    r * (1.0 / 12.0
        + r2 * (-1.0 / 360.0
            + r2 * (1.0 / 1260.0
                + r2 * (-1.0 / 1680.0
                    + r2 * (1.0 / 1188.0 + r2 * (-691.0 / 360_360.0 + r2 * (1.0 / 156.0)))))))
}

/// Threshold above which Stirling's series is used directly.
const STIRLING_MIN: f64 = 15.0;

/// ln Γ(x) for x > 0: Stirling's series (A&S 6.1.40) after shifting the argument to ≥ 15 with
/// the recurrence Γ(x+1) = xΓ(x) (A&S 6.1.15). Absolute error ~1e-14.
fn ln_gamma(x: f64) -> f64 {
    debug_assert!(x > 0.0);
    // Γ(½) = √π enters every t-distribution evaluation (b = ½); exact value instead of the
    // ~1e-14 absolute error of the shifted series.
    if x == 0.5 {
        return 0.5 * PI.ln();
    }
    let mut y = x;
    let mut prod = 1.0;
    while y < STIRLING_MIN {
        prod *= y;
        y += 1.0;
    }
    (y - 0.5) * y.ln() - y + 0.5 * (2.0 * PI).ln() + stirling_tail(y) - prod.ln()
}

/// ln Γ(x + s) − ln Γ(x) for x, s > 0, without subtracting two large logs.
///
/// For y ≥ 15, Stirling's series for both terms combines to
/// s·ln y + (y+s−½)·ln(1+s/y) − s + S(y+s) − S(y). Smaller x is shifted up with
/// Γ(y+s)/Γ(y) = [Γ(y+1+s)/Γ(y+1)]·y/(y+s), each step contributing −ln(1+s/y); every term is
/// small, so the result keeps full relative accuracy.
fn ln_gamma_ratio(x: f64, s: f64) -> f64 {
    let mut y = x;
    let mut shift = 0.0;
    while y < STIRLING_MIN {
        shift += (s / y).ln_1p();
        y += 1.0;
    }
    s * y.ln() + (y + s - 0.5) * (s / y).ln_1p() - s + stirling_tail(y + s) - stirling_tail(y) - shift
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a+b), via the ratio above for the larger argument.
fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, big) = if a <= b { (a, b) } else { (b, a) };
    ln_gamma(small) - ln_gamma_ratio(big, small)
}

/// Iteration cap of the continued fractions: a guard only, they need at most a few dozen
/// iterations in the regions where they are used (ν ≤ `LARGE_DF`).
const CF_MAX_ITER: usize = 100_000;
/// Smallest magnitude allowed in Lentz's method (avoids division by zero).
const CF_TINY: f64 = 1e-300;

/// Continued fraction of the regularised incomplete beta function,
/// I_x(a,b) = x^a (1−x)^b / (a B(a,b)) · 1/(1+ d₁/(1+ d₂/(1+ …))) with
/// d_{2m+1} = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)),  d_{2m} = m(b−m)x / ((a+2m−1)(a+2m))
/// (Numerical Recipes, 3rd ed., §6.4, eq. 6.4.5), evaluated with the modified Lentz method
/// (Thompson & Barnett 1986; NR §5.2). Converges quickly for x < (a+1)/(a+b+2).
fn beta_cf(a: f64, b: f64, x: f64, y: f64) -> f64 {
    let guard = |v: f64| if v.abs() < CF_TINY { CF_TINY } else { v };
    // Term d₁ (m = 0 of the odd formula) is folded into the start. 1 − (a+b)x/(a+1) is
    // rewritten as y + (1−b)x/(a+1), y = 1 − x, which does not cancel when a is large and x
    // close to 1.
    let mut c = 1.0;
    let mut d = 1.0 / guard(y + (1.0 - b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..=CF_MAX_ITER {
        let m = m as f64;
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    h
}

/// I_x(a, b) by the continued fraction, given ln x and ln(1−x) computed accurately by the
/// caller (so that x close to 1 does not lose the information in 1−x).
fn inc_beta_direct(a: f64, b: f64, x: f64, ln_x: f64, ln_1mx: f64) -> f64 {
    let front = (a * ln_x + b * ln_1mx - ln_beta(a, b)).exp() / a;
    front * beta_cf(a, b, x, ln_1mx.exp())
}

/// ln(1 + t²/ν) without overflow of t² for huge t.
fn ln1p_t2_over_nu(t: f64, nu: f64) -> f64 {
    let r2 = t * t / nu;
    if r2 > 1.0 {
        // ln(r²) + ln(1 + 1/r²), with ln(r²) from logs so r² may overflow.
        2.0 * t.ln() - nu.ln() + (1.0 / r2).ln_1p()
    } else {
        r2.ln_1p()
    }
}

/// Density of Student's t with ν degrees of freedom:
/// f(t) = (1 + t²/ν)^{−(ν+1)/2} / (√ν · B(ν/2, 1/2)).
fn t_density(t: f64, nu: f64) -> f64 {
    (-0.5 * nu.ln() - ln_beta(0.5 * nu, 0.5) - 0.5 * (nu + 1.0) * ln1p_t2_over_nu(t, nu)).exp()
}

/// For t ≥ 0 returns (Q, C) with Q = P(T > t) and C = P(0 < T < t), Q + C = ½.
///
/// With x = ν/(ν+t²): Q = ½·I_x(ν/2, ½) and C = ½·I_{1−x}(½, ν/2) (A&S 26.7.1 with 26.5.27).
/// The continued fraction for I_x(ν/2, ½) converges for x < (ν/2+1)/(ν/2+5/2), i.e. for
/// t²/ν > 3/(ν+2), and the one for I_{1−x}(½, ν/2) exactly in the complementary region. So
/// whichever of Q and C is computed directly is the small one (Q in the tail, C near 0) and
/// has full relative accuracy; the other one is ½ minus it and is never small.
fn t_tails(t: f64, nu: f64) -> (f64, f64) {
    debug_assert!(t >= 0.0);
    if t == 0.0 {
        return (0.5, 0.0);
    }
    if t.is_infinite() {
        return (0.0, 0.5);
    }
    let r2 = t * t / nu;
    if r2 < 1e-20 {
        // C = f(0)·t·(1 + O(t²/ν)); the correction is below double precision.
        let c = t * t_density(0.0, nu);
        return (0.5 - c, c);
    }
    // ln x and ln(1−x), each from the accurate quantity.
    let l = ln1p_t2_over_nu(t, nu); // ln(1 + r²)
    let ln_x = -l;
    let ln_1mx = if r2 > 1.0 {
        -(1.0 / r2).ln_1p()
    } else {
        r2.ln() - l
    };
    if r2 > 3.0 / (nu + 2.0) {
        let x = (-l).exp();
        let q = 0.5 * inc_beta_direct(0.5 * nu, 0.5, x, ln_x, ln_1mx);
        (q, 0.5 - q)
    } else {
        let y = ln_1mx.exp();
        let c = 0.5 * inc_beta_direct(0.5, 0.5 * nu, y, ln_1mx, ln_x);
        (0.5 - c, c)
    }
}

/// erf(x) by its power series erf x = (2/√π) e^{−x²} Σ_{n≥0} 2ⁿ x^{2n+1} / (1·3·…·(2n+1))
/// (A&S 7.1.6). All terms are positive, so the relative error is a few ε; used for |x| ≤ 1.5.
fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    let mut n = 0.0;
    loop {
        n += 1.0;
        term *= 2.0 * x2 / (2.0 * n + 1.0);
        sum += term;
        if term.abs() <= sum.abs() * f64::EPSILON * 0.25 {
            break;
        }
    }
    2.0 / PI.sqrt() * (-x2).exp() * sum
}

/// erfc(x) for x ≥ 1: erfc x = Γ(½, x²)/√π with the continued fraction of the upper
/// incomplete gamma function, Γ(a,z) = e^{−z} z^a · 1/(z+1−a− 1(1−a)/(z+3−a− 2(2−a)/(z+5−a− …)))
/// (NR 3rd ed. §6.2, eq. 6.2.7; A&S 6.5.31), evaluated with modified Lentz. Relative error a few ε.
fn erfc_cf(x: f64) -> f64 {
    let z = x * x;
    let a = 0.5;
    let mut b = z + 1.0 - a;
    let mut c = 1.0 / CF_TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..=CF_MAX_ITER {
        let i = i as f64;
        let an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < CF_TINY {
            d = CF_TINY;
        }
        c = b + an / c;
        if c.abs() < CF_TINY {
            c = CF_TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    (-z).exp() * x * h / PI.sqrt()
}

/// Switch point between the erf series and the erfc continued fraction.
const ERF_SWITCH: f64 = 1.5;

/// Upper tail of the standard normal, P(Z > x), with full relative accuracy in the tail.
fn normal_upper(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let s = x * FRAC_1_SQRT_2;
    if s.abs() <= ERF_SWITCH {
        0.5 - 0.5 * erf_series(s)
    } else if s > 0.0 {
        0.5 * erfc_cf(s)
    } else {
        1.0 - 0.5 * erfc_cf(-s)
    }
}

/// P(0 < Z < x) for x ≥ 0 (accurate for small x, where Φ(x) − ½ would cancel).
fn normal_central(x: f64) -> f64 {
    let s = x * FRAC_1_SQRT_2;
    if s <= ERF_SWITCH {
        0.5 * erf_series(s)
    } else {
        0.5 - 0.5 * erfc_cf(s)
    }
}

/// Standard normal density φ(x).
fn normal_density(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

/// Standard normal CDF Φ(x), with full relative accuracy in both tails (down to ~1e-300).
pub fn normal_cdf(x: f64) -> f64 {
    normal_upper(-x)
}

/// Standard normal quantile Φ⁻¹(p): −∞ for p ≤ 0, +∞ for p ≥ 1, NaN for NaN.
///
/// Starts from the rational approximation of Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4)
/// and refines with Halley's method on the accurate CDF (on P(0<Z<x) near the centre and on
/// the upper tail elsewhere, so neither end loses relative accuracy). Halley's iteration is
/// cubically convergent, so two or three steps reach full double precision. (Instead of
/// Acklam's or Wichura's AS241 coefficient tables: the refinement makes the starting
/// approximation's accuracy irrelevant, and A&S 26.2.23 is short enough to check by eye.)
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    // alpha = upper-tail probability of |x|; 1 − p is exact for p ≥ ½ (Sterbenz).
    let (alpha, sign) = if p < 0.5 { (p, -1.0) } else { (1.0 - p, 1.0) };
    // A&S 26.2.23.
    let t = (-2.0 * alpha.ln()).sqrt();
    let mut x = t
        - (2.515517 + t * (0.802853 + t * 0.010328)) / (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
    let central = alpha > 0.25;
    let target = if central { 0.5 - alpha } else { alpha }; // exact
    for _ in 0..10 {
        let phi = normal_density(x);
        if phi == 0.0 {
            break;
        }
        // Halley for f with f' = ±φ, f'' = ∓xφ: x ← x ∓ e/(1 ± x·e/2), e = f/φ.
        let step = if central {
            let e = (normal_central(x) - target) / phi;
            -e / (1.0 + 0.5 * x * e)
        } else {
            let e = (normal_upper(x) - target) / phi;
            e / (1.0 - 0.5 * x * e)
        };
        x += step;
        if step.abs() <= 1e-15 * x.abs() {
            break;
        }
    }
    sign * x
}

/// Above this many degrees of freedom the Cornish–Fisher expansion of the t quantile in
/// powers of 1/ν is used instead of the incomplete beta function.
///
/// Measured against 40-digit references: the expansion's error falls like ν⁻⁵ and is below
/// 1e-16 relative at ν = 10^5 for p ≥ 1e-100 (~1e-13 at p = 1e-300), while the continued
/// fraction, whose recurrences cancel increasingly for large a = ν/2 near its switch point,
/// degrades from ~1e-13 at ν = 10^5 to ~1e-10 at ν = 10^7.
const LARGE_DF: f64 = 1e5;

/// Cornish–Fisher expansion of the t quantile: t = z + g₁(z)/ν + g₂(z)/ν² + g₃(z)/ν³ + g₄(z)/ν⁴
/// with z the normal quantile (Abramowitz & Stegun 26.7.5). Odd in z.
fn t_from_z(z: f64, nu: f64) -> f64 {
    let z2 = z * z;
    let g1 = z * (z2 + 1.0) / 4.0;
    let g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0;
    let g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0;
    let g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0;
    let r = 1.0 / nu;
    z + r * (g1 + r * (g2 + r * (g3 + r * g4)))
}

/// Inverse of [`t_from_z`] in z by Newton's method (for the CDF at very large ν).
fn z_from_t(t: f64, nu: f64) -> f64 {
    let mut z = t;
    for _ in 0..20 {
        let z2 = z * z;
        // Derivative to O(1/ν²); the Newton iteration only needs it approximately.
        let dt = 1.0 + (3.0 * z2 + 1.0) / (4.0 * nu) + ((25.0 * z2 + 48.0) * z2 + 3.0) / (96.0 * nu * nu);
        let step = (t_from_z(z, nu) - t) / dt;
        z -= step;
        if step.abs() <= 1e-16 * z.abs().max(1e-300) {
            break;
        }
    }
    z
}

/// Student t CDF P(T ≤ t) with `df` > 0 degrees of freedom (non-integer allowed, as Welch's
/// test needs). Via the regularised incomplete beta function (A&S 26.7.1, 26.5.27), with full
/// relative accuracy in both tails; df > 10^5 (and ∞) via the Cornish–Fisher expansion
/// (A&S 26.7.5) and the normal CDF. NaN for NaN inputs or df ≤ 0.
pub fn student_t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if df > LARGE_DF {
        return if df.is_infinite() {
            normal_cdf(t)
        } else {
            normal_cdf(z_from_t(t, df))
        };
    }
    let (q, c) = t_tails(t.abs(), df);
    if t < 0.0 {
        q
    } else if q < c {
        1.0 - q
    } else {
        0.5 + c
    }
}

/// Student t quantile: the p-quantile of the t distribution with `df` degrees of freedom.
///
/// Meant for df ≥ 1 (Cauchy at df = 1; the normal quantile as df → ∞) but any real df > 0
/// works. Relative error below 1e-12 everywhere tested against 40-digit references
/// (df 1 … 10^9, p 1e-300 … 1 − 1e-6). Method by range of df:
/// * df = 1: t = tan(π(p − ½)), written as cot(πα) with α the tail probability so the tails
///   keep their precision; df = 2: t = (2p − 1)/√(2p(1 − p)) (closed forms, A&S 26.7.3/26.7.4).
/// * df > 10^5 or ∞: Cornish–Fisher expansion (A&S 26.7.5) around the normal quantile.
/// * otherwise: safeguarded Newton iteration (Newton inside a bisection bracket, as NR §9.4
///   `rtsafe`) on ln t, solving ln P(T > t) = ln α in the tails or ln P(0 < T < t) = ln(½ − α)
///   near the centre, with the CDF from the incomplete beta continued fraction. The bracket is
///   [z, t*]: the normal quantile z is a lower bound (t is a scale mixture of normals and the
///   normal tail is convex in the scale), and t* = (K ν^{(ν−1)/2}/α)^{1/ν}, K = 1/(√ν B(ν/2,½)),
///   from the power-law bound P(T > t) ≤ K ν^{(ν−1)/2} t^{−ν}, is an upper bound.
///
/// p ≤ 0 gives −∞, p ≥ 1 gives +∞; NaN p or df ≤ 0 gives NaN.
pub fn student_t_quantile(p: f64, df: f64) -> f64 {
    if p.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    if df > LARGE_DF {
        let z = normal_quantile(p);
        return if df.is_infinite() { z } else { t_from_z(z, df) };
    }
    let (alpha, sign) = if p < 0.5 { (p, -1.0) } else { (1.0 - p, 1.0) };
    let t = if df == 1.0 {
        if alpha > 0.25 {
            (PI * (0.5 - alpha)).tan()
        } else {
            1.0 / (PI * alpha).tan()
        }
    } else if df == 2.0 {
        (1.0 - 2.0 * alpha) / (2.0 * alpha * (1.0 - alpha)).sqrt()
    } else {
        t_upper_quantile_solve(alpha, df)
    };
    sign * t
}

/// The t > 0 with P(T > t) = alpha, 0 < alpha < ½ (see [`student_t_quantile`]).
fn t_upper_quantile_solve(alpha: f64, nu: f64) -> f64 {
    let central = alpha > 0.25;
    let ln_target = if central { 0.5 - alpha } else { alpha }.ln(); // 0.5 − alpha is exact
    // h(u) increasing in u = ln t, and its derivative dh/du.
    let h = |u: f64| -> (f64, f64) {
        let t = u.exp();
        let (q, c) = t_tails(t, nu);
        let tf = t * t_density(t, nu);
        if central {
            (c.ln() - ln_target, tf / c)
        } else {
            (ln_target - q.ln(), tf / q)
        }
    };
    let z = -normal_quantile(alpha);
    let ln_k = -0.5 * nu.ln() - ln_beta(0.5 * nu, 0.5);
    let mut lo = z.ln();
    let mut hi = (ln_k + 0.5 * (nu - 1.0) * nu.ln() - alpha.ln()) / nu;
    // Rounding can put a bound a hair on the wrong side: widen until the bracket is valid.
    for _ in 0..200 {
        if h(lo).0 <= 0.0 {
            break;
        }
        lo -= 0.5;
    }
    for _ in 0..200 {
        if h(hi).0 >= 0.0 {
            break;
        }
        hi += 0.5;
    }
    if hi < lo {
        std::mem::swap(&mut lo, &mut hi);
    }
    let mut u = t_from_z(z, nu).ln().clamp(lo, hi);
    if !u.is_finite() {
        u = 0.5 * (lo + hi);
    }
    for _ in 0..200 {
        let (hv, d) = h(u);
        if hv == 0.0 {
            break;
        }
        if hv < 0.0 {
            lo = u;
        } else {
            hi = u;
        }
        let newton = u - hv / d;
        let next = if newton.is_finite() && newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        let step = next - u;
        u = next;
        if step.abs() <= 1e-15 || hi - lo <= 1e-15 {
            break;
        }
    }
    u.exp()
}

// ============================================================================================
// Replication statistics
// ============================================================================================

/// Mean and 95% half-width over replications: (mean, None) for fewer than 2 samples; half-width = t_{0.975, n-1} · s / sqrt(n).
///
/// An empty slice gives (0.0, None) rather than NaN, so reports stay serialisable.
pub fn mean_ci95(samples: &[f64]) -> (f64, Option<f64>) {
    let mut w = Welford::new();
    for &x in samples {
        w.push(x);
    }
    if w.count() < 2 {
        return (w.mean(), None);
    }
    let n = w.count() as f64;
    let half = student_t_quantile(0.975, n - 1.0) * w.std_dev() / n.sqrt();
    (w.mean(), Some(half))
}

/// Welch's t-test two-sided p-value (for `compare`, later): H₀ "equal means", unequal variances.
///
/// t = (ā − b̄)/√(s_a²/n_a + s_b²/n_b), ν = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a−1) +
/// (s_b²/n_b)²/(n_b−1)) (Welch 1947; Welch–Satterthwaite), p = 2·P(T_ν > |t|).
///
/// None when either side has fewer than 2 samples or a non-finite value. When both samples
/// have zero variance (deterministic replications) the test is degenerate; its limit is
/// returned: 1.0 if the means are equal, 0.0 otherwise.
pub fn welch_p_value(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() < 2 || b.len() < 2 || a.iter().chain(b).any(|x| !x.is_finite()) {
        return None;
    }
    let (wa, wb) = (welford_of(a), welford_of(b));
    let va = wa.variance() / a.len() as f64;
    let vb = wb.variance() / b.len() as f64;
    let se2 = va + vb;
    let diff = wa.mean() - wb.mean();
    if se2 == 0.0 {
        return Some(if diff == 0.0 { 1.0 } else { 0.0 });
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.len() - 1) as f64 + vb * vb / (b.len() - 1) as f64);
    // The lower tail at −|t| is the accurately computed one (no 1 − x cancellation).
    let q = student_t_cdf(-t.abs(), df);
    Some((2.0 * q).clamp(0.0, 1.0))
}

/// The paired-difference CI (for `compare`, later): (mean of b_i − a_i, 95% half-width
/// t_{0.975, n−1} · s_d/√n). Pairs replication i of `a` with replication i of `b` (same seed:
/// common random numbers). None for different lengths, fewer than 2 pairs or non-finite values.
pub fn paired_diff_ci95(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    if a.len() != b.len() || a.len() < 2 || a.iter().chain(b).any(|x| !x.is_finite()) {
        return None;
    }
    let mut w = Welford::new();
    for (x, y) in a.iter().zip(b) {
        w.push(y - x);
    }
    let n = a.len() as f64;
    Some((
        w.mean(),
        student_t_quantile(0.975, n - 1.0) * w.std_dev() / n.sqrt(),
    ))
}

fn welford_of(xs: &[f64]) -> Welford {
    let mut w = Welford::new();
    for &x in xs {
        w.push(x);
    }
    w
}

/// Coefficient of variation of a set of loads (population std / mean; 0 for empty or zero mean).
///
/// Uses |mean|, so the result is never negative.
pub fn coefficient_of_variation(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let w = welford_of(xs);
    if w.mean() == 0.0 {
        return 0.0;
    }
    let n = xs.len() as f64;
    let pop_var = w.variance() * (n - 1.0) / n;
    pop_var.sqrt() / w.mean().abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_rel(got: f64, want: f64, tol: f64) {
        let rel = ((got - want) / want).abs();
        assert!(
            rel <= tol,
            "got {got:.17e}, want {want:.17e}, rel {rel:e} > {tol:e}"
        );
    }

    // ---- Student t / normal --------------------------------------------------------------

    #[test]
    fn t_quantile_reference_values() {
        // t_{0.975, df}, standard table values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2)
        // to 10 significant digits.
        let table = [
            (1.0, 12.706204736),
            (2.0, 4.302652730),
            (4.0, 2.776445105),
            (9.0, 2.262157163),
            (29.0, 2.045229642),
            (1000.0, 1.962339081),
        ];
        for (df, want) in table {
            assert_rel(student_t_quantile(0.975, df), want, 1e-9);
            assert_rel(student_t_quantile(0.025, df), -want, 1e-9);
        }
    }

    #[test]
    fn t_quantile_more_digits() {
        // 30-digit references (mpmath, inverting I_x(ν/2, ½)).
        assert_rel(student_t_quantile(0.975, 1.0), 12.706_204_736_174_705, 1e-14);
        assert_rel(student_t_quantile(0.975, 9.0), 2.262_157_162_798_205_5, 1e-13);
        assert_rel(student_t_quantile(0.975, 1000.0), 1.962_339_080_826_408_5, 1e-13);
    }

    #[test]
    fn t_quantile_special_and_limits() {
        assert_eq!(student_t_quantile(0.5, 7.0), 0.0);
        assert_eq!(student_t_quantile(0.0, 7.0), f64::NEG_INFINITY);
        assert_eq!(student_t_quantile(1.0, 7.0), f64::INFINITY);
        assert!(student_t_quantile(f64::NAN, 7.0).is_nan());
        assert!(student_t_quantile(0.9, 0.0).is_nan());
        // Large df → normal.
        assert_rel(
            student_t_quantile(0.975, f64::INFINITY),
            1.959_963_984_540_054,
            1e-15,
        );
        assert_rel(student_t_quantile(0.975, 1e12), 1.959_963_984_540_054, 1e-11);
        // Both sides of the switch to the Cornish–Fisher expansion agree.
        let below = student_t_quantile(0.975, LARGE_DF);
        let above = student_t_quantile(0.975, LARGE_DF * (1.0 + 1e-12));
        assert_rel(above, below, 1e-12);
        // Non-integer df (Welch) lies between its integer neighbours.
        let (a, m, b) = (
            student_t_quantile(0.975, 5.0),
            student_t_quantile(0.975, 5.5),
            student_t_quantile(0.975, 6.0),
        );
        assert!(a > m && m > b);
    }

    #[test]
    fn t_solver_matches_closed_forms() {
        // The general Newton/bisection solver, run on df = 1 and 2 where closed forms exist.
        for alpha in [1e-12, 1e-6, 0.001, 0.025, 0.2, 0.3, 0.49, 0.4999999] {
            // cot(πα), written as tan(π(½ − α)) near the centre where it is exact.
            let cauchy = if alpha > 0.25 {
                (PI * (0.5 - alpha)).tan()
            } else {
                1.0 / (PI * alpha).tan()
            };
            assert_rel(t_upper_quantile_solve(alpha, 1.0), cauchy, 1e-12);
            let df2 = (1.0 - 2.0 * alpha) / (2.0 * alpha * (1.0 - alpha)).sqrt();
            assert_rel(t_upper_quantile_solve(alpha, 2.0), df2, 1e-12);
        }
    }

    #[test]
    fn t_cdf_values_and_round_trip() {
        // Cauchy: F(t) = ½ + atan(t)/π; df 2: F(t) = ½ + t/(2√(2+t²)).
        for t in [-50.0, -3.0, -0.1, 0.0, 1e-9, 0.7, 1.0, 4.0, 1e6] {
            let cauchy = 0.5 + f64::atan(t) / PI;
            let got = student_t_cdf(t, 1.0);
            assert!((got - cauchy).abs() < 1e-15, "t {t}: {got} vs {cauchy}");
            let df2 = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
            let got = student_t_cdf(t, 2.0);
            assert!((got - df2).abs() < 1e-15, "t {t}: {got} vs {df2}");
        }
        assert_rel(student_t_cdf(-1e6, 1.0), 1.0 / (PI * 1e6), 1e-9);
        // 30-digit reference: P(T₉ ≤ 3) = 0.992521818044792892600...
        assert_rel(student_t_cdf(3.0, 9.0), 0.992_521_818_044_792_9, 1e-14);
        for df in [1.0, 2.5, 3.0, 7.0, 30.0, 250.0, 5e4, 1e6] {
            for p in [1e-200, 1e-9, 0.01, 0.3, 0.5, 0.6, 0.975, 1.0 - 1e-9] {
                let t = student_t_quantile(p, df);
                let back = student_t_cdf(t, df);
                let err = if p < 0.5 {
                    ((back - p) / p).abs()
                } else {
                    ((back - p) / (1.0 - p)).abs()
                };
                assert!(err < 1e-9, "df {df} p {p}: t {t} cdf {back}");
            }
        }
    }

    #[test]
    fn normal_values() {
        assert_rel(normal_quantile(0.975), 1.959963985, 1e-9);
        assert_rel(normal_quantile(0.975), 1.959_963_984_540_054, 1e-15);
        assert_rel(normal_quantile(0.025), -1.959_963_984_540_054, 1e-14);
        assert_eq!(normal_quantile(0.5), 0.0);
        assert_eq!(normal_cdf(0.0), 0.5);
        // 30-digit references (mpmath).
        assert_rel(normal_cdf(1.0), 0.841_344_746_068_542_9, 1e-15);
        assert_rel(normal_cdf(-5.0), 2.866_515_718_791_939e-7, 1e-13);
        assert_rel(normal_cdf(-20.0), 2.753_624_118_606_233_7e-89, 1e-12);
        for p in [
            1e-300,
            1e-20,
            1e-5,
            0.1,
            0.3,
            0.5 - 1e-12,
            0.5 + 1e-12,
            0.8,
            0.999,
        ] {
            let x = normal_quantile(p);
            let back = normal_cdf(x);
            let scale = if p < 0.5 { p } else { 1.0 - p };
            assert!(((back - p) / scale).abs() < 1e-11, "p {p}: x {x} back {back}");
        }
    }

    #[test]
    fn ln_gamma_values() {
        assert!((ln_gamma(0.5) - 0.5 * PI.ln()).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-14);
        assert!((ln_gamma(1.0)).abs() < 1e-14);
        assert!((ln_gamma(20.0) - 121_645_100_408_832_000f64.ln()).abs() < 1e-13);
        // Γ(x+½)/Γ(x) → √x for large x.
        assert!((ln_gamma_ratio(1e6, 0.5) - 0.5 * 1e6f64.ln() - (1.0 - 1.0 / 8e6f64).ln()).abs() < 1e-13);
    }

    // ---- Replication statistics ------------------------------------------------------------

    #[test]
    fn mean_ci95_values() {
        assert_eq!(mean_ci95(&[]), (0.0, None));
        assert_eq!(mean_ci95(&[4.0]), (4.0, None));
        // mean 3, s = √2.5, half = t_{0.975,4}·√2.5/√5 = 2.7764451052·0.7071067812.
        let (m, h) = mean_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(m, 3.0);
        assert_rel(h.unwrap(), 1.963_243_161_477_557_7, 1e-12);
        // Identical replications: zero width.
        assert_eq!(mean_ci95(&[2.0, 2.0, 2.0]), (2.0, Some(0.0)));
    }

    #[test]
    fn welch_hand_computed() {
        // a = 1..5, b = 3..7: means 3 and 5, both variances 2.5, n = 5, so
        // se² = 0.5 + 0.5 = 1, t = −2, ν = 1²/(0.25/4 + 0.25/4) = 8.
        // For even ν, A&S 26.7.3: P(|T| < t) = sin θ (1 + cos²θ/2 + (1·3)/(2·4) cos⁴θ
        // + (1·3·5)/(2·4·6) cos⁶θ), tan θ = t/√ν = 1/√2 → sin²θ = 1/3, cos²θ = 2/3:
        // = (1/√3)(1 + 1/3 + 1/6 + 5/54) = 43/(27√3), so p = 1 − 43/(27√3) = 0.0805162379572627.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [3.0, 4.0, 5.0, 6.0, 7.0];
        let want = 1.0 - 43.0 / (27.0 * 3f64.sqrt());
        assert_rel(welch_p_value(&a, &b).unwrap(), want, 1e-13);
        assert_rel(welch_p_value(&b, &a).unwrap(), want, 1e-13);
        assert_rel(want, 0.080_516_237_957_262_67, 1e-14);
    }

    #[test]
    fn welch_edge_cases() {
        assert_eq!(welch_p_value(&[1.0], &[1.0, 2.0]), None);
        assert_eq!(welch_p_value(&[1.0, f64::NAN], &[1.0, 2.0]), None);
        assert_eq!(welch_p_value(&[1.0, 1.0], &[1.0, 1.0]), Some(1.0));
        assert_eq!(welch_p_value(&[1.0, 1.0], &[2.0, 2.0]), Some(0.0));
        // Unequal variances and sizes: p in (0, 1) and identical samples give p = 1.
        let a = [10.0, 12.0, 11.5, 9.8, 10.7, 11.1];
        let b = [14.0, 9.0, 16.5];
        let p = welch_p_value(&a, &b).unwrap();
        assert!(p > 0.0 && p < 1.0);
        assert_eq!(welch_p_value(&a, &a), Some(1.0));
    }

    #[test]
    fn paired_diff_values() {
        // d = [1, 2, 2]: mean 5/3, s² = 1/3, half = t_{0.975,2}·√(1/3)/√3 = 4.30265273/3.
        let (m, h) = paired_diff_ci95(&[1.0, 2.0, 3.0], &[2.0, 4.0, 5.0]).unwrap();
        assert_rel(m, 5.0 / 3.0, 1e-15);
        assert_rel(h, 4.302_652_729_749_464 / 3.0, 1e-12);
        assert_eq!(paired_diff_ci95(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(paired_diff_ci95(&[1.0], &[1.0]), None);
    }

    #[test]
    fn coefficient_of_variation_values() {
        assert_eq!(coefficient_of_variation(&[]), 0.0);
        assert_eq!(coefficient_of_variation(&[0.0, 0.0]), 0.0);
        assert_eq!(coefficient_of_variation(&[3.0, 3.0, 3.0]), 0.0);
        assert_rel(coefficient_of_variation(&[0.0, 2.0]), 1.0, 1e-15);
        // Classic example: mean 5, population std 2.
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_rel(coefficient_of_variation(&xs), 0.4, 1e-15);
    }

    // ---- Welford -----------------------------------------------------------------------------

    #[test]
    fn welford_matches_two_pass() {
        // Large offset + small spread: the case where Σx² − (Σx)²/n fails.
        let mut state = 12345u64;
        let xs: Vec<f64> = (0..10_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                1e9 + (state >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        let mut w = Welford::new();
        for &x in &xs {
            w.push(x);
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        assert_eq!(w.count(), 10_000);
        assert_rel(w.mean(), mean, 1e-15);
        assert_rel(w.variance(), var, 1e-6);
        assert_rel(w.std_dev(), var.sqrt(), 1e-6);
        // Uniform(0,1) spread: variance ≈ 1/12.
        assert!((w.variance() - 1.0 / 12.0).abs() < 0.005);

        let mut small = Welford::new();
        assert_eq!((small.mean(), small.variance()), (0.0, 0.0));
        small.push(5.0);
        assert_eq!((small.mean(), small.variance()), (5.0, 0.0));
        small.push(7.0);
        assert_eq!((small.mean(), small.variance()), (6.0, 2.0));
    }

    // ---- Histogram ---------------------------------------------------------------------------

    #[test]
    fn histogram_uniform_percentiles_and_exact_mean() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 100_000);
        assert_eq!(h.mean_ns(), 50_000.5);
        assert_eq!(h.min_ns(), 1);
        assert_eq!(h.max_ns(), 100_000);
        let p50 = h.quantile_ns(0.5) as f64;
        let p99 = h.quantile_ns(0.99) as f64;
        assert!((p50 / 50_000.0 - 1.0).abs() < 1e-3, "p50 {p50}");
        assert!((p99 / 99_000.0 - 1.0).abs() < 1e-3, "p99 {p99}");
        assert_eq!(h.quantile_ns(0.0), 1);
        assert_eq!(h.quantile_ns(1.0), 100_000);
        assert_eq!(h.quantile_ns(f64::NAN), 1);
        assert_eq!(h.quantile_ns(7.0), 100_000);
    }

    #[test]
    fn histogram_mean_is_exact_not_bucketed() {
        let mut h = Histogram::new();
        // 1_000_001 and 1_000_999 share a bucket; the exact mean still tells them apart.
        h.record(1_000_001);
        h.record(1_000_999);
        h.record(123_456_789_012);
        assert_eq!(h.mean_ns(), (1_000_001.0 + 1_000_999.0 + 123_456_789_012.0) / 3.0);
        assert_eq!(h.min_ns(), 1_000_001);
        assert_eq!(h.max_ns(), 123_456_789_012);
    }

    #[test]
    fn histogram_zero_and_huge() {
        let mut h = Histogram::new();
        h.record(0);
        assert_eq!(h.count(), 1);
        assert_eq!(h.min_ns(), 0);
        assert_eq!(h.quantile_ns(0.5), 0);
        assert_eq!(h.mean_ns(), 0.0);
        h.record(u64::MAX);
        h.record(5 * HIST_HIGH_NS);
        assert_eq!(h.count(), 3);
        assert_eq!(h.max_ns(), u64::MAX);
        // The exact sum holds u64::MAX + 5e15 without overflow.
        assert_eq!(h.mean_ns(), (u64::MAX as f64 + 5e15) / 3.0);
        // Quantiles saturate at the histogram's top (within its 0.1% resolution).
        let top = h.quantile_ns(1.0) as f64;
        assert!(top >= HIST_HIGH_NS as f64 && top < HIST_HIGH_NS as f64 * 1.001);
    }

    #[test]
    fn histogram_add_and_reset() {
        let mut all = Histogram::new();
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        for v in 1..=10_000u64 {
            let x = v * 37 % 10_007 + 1;
            all.record(x);
            if v % 2 == 0 { a.record(x) } else { b.record(x) }
        }
        a.add(&b);
        assert_eq!(a.count(), all.count());
        assert_eq!(a.mean_ns(), all.mean_ns());
        assert_eq!((a.min_ns(), a.max_ns()), (all.min_ns(), all.max_ns()));
        for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(a.quantile_ns(q), all.quantile_ns(q));
        }
        a.add(&Histogram::new());
        assert_eq!(a.count(), all.count());

        a.reset();
        assert!(a.is_empty());
        assert_eq!(a.count(), 0);
        assert_eq!(
            (a.mean_ns(), a.quantile_ns(0.5), a.min_ns(), a.max_ns()),
            (0.0, 0, 0, 0)
        );
        assert!(a.cdf_points(10).is_empty());
        a.record(42);
        assert_eq!((a.min_ns(), a.max_ns(), a.quantile_ns(0.5)), (42, 42, 42));
    }

    #[test]
    fn histogram_cdf_points() {
        let mut h = Histogram::new();
        for v in [5u64, 5, 10, 20] {
            h.record(v);
        }
        // Few buckets: every one is a point.
        assert_eq!(h.cdf_points(100), vec![(5, 0.5), (10, 0.75), (20, 1.0)]);
        assert_eq!(h.cdf_points(1), vec![(20, 1.0)]);
        assert_eq!(h.cdf_points(2), vec![(5, 0.5), (20, 1.0)]);

        // Many buckets: thinned, monotone, ends at (max, 1).
        let mut h = Histogram::new();
        for v in 1..=200_000u64 {
            h.record(v * v % 1_000_003 + 1);
        }
        for max_points in [3usize, 4, 10, 50, 200] {
            let pts = h.cdf_points(max_points);
            assert!(
                !pts.is_empty() && pts.len() <= max_points,
                "{max_points}: {}",
                pts.len()
            );
            assert_eq!(*pts.last().unwrap(), (h.max_ns(), 1.0));
            assert!(pts.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
        }
        assert!(h.cdf_points(200).len() > 100);
    }

    // ---- TimeWeighted ------------------------------------------------------------------------

    #[test]
    fn time_weighted_square_wave() {
        // 1 for 10 ns, 0 for 10 ns, ten periods.
        let mut tw = TimeWeighted::new(0);
        for k in 0..10u64 {
            tw.set(20 * k, 1.0);
            tw.set(20 * k + 10, 0.0);
        }
        assert_eq!(tw.mean(200), 0.5);
        assert_eq!(tw.max(), 1.0);
        assert_eq!(tw.value(), 0.0);
        // Mid-period: [0, 210) has 10·10 + 0 = 100 of area... and then 10 more ns of 1.
        tw.set(200, 1.0);
        assert_rel(tw.mean(210), 110.0 / 210.0, 1e-15);
        // mean() is a pure read.
        assert_rel(tw.mean(210), 110.0 / 210.0, 1e-15);
    }

    #[test]
    fn time_weighted_interval_means() {
        let mut tw = TimeWeighted::new(1_000);
        tw.set(1_000, 2.0);
        tw.set(1_030, 4.0);
        assert_eq!(tw.take_interval_mean(1_040), (2.0 * 30.0 + 4.0 * 10.0) / 40.0);
        tw.add(1_050, -3.0); // 4 for 10 ns, then 1
        assert_eq!(tw.value(), 1.0);
        assert_eq!(tw.take_interval_mean(1_060), 2.5);
        // Empty interval: the current value.
        assert_eq!(tw.take_interval_mean(1_060), 1.0);
        // Intervals do not disturb the period mean: (2·30 + 4·20 + 1·10)/60.
        assert_rel(tw.mean(1_060), 150.0 / 60.0, 1e-15);
    }

    #[test]
    fn time_weighted_reset() {
        let mut tw = TimeWeighted::default();
        tw.set(0, 10.0);
        tw.set(100, 3.0); // warm-up: 10 for 100 ns
        tw.reset(100);
        assert_eq!(tw.mean(100), 3.0); // no time since reset: current value
        assert_eq!(tw.max(), 3.0); // the warm-up peak is forgotten
        tw.set(105, 1.0);
        assert_eq!(tw.mean(110), (3.0 * 5.0 + 1.0 * 5.0) / 10.0);
        // reset also restarted the interval.
        assert_eq!(tw.take_interval_mean(110), 2.0);
        tw.add(110, 4.0);
        assert_eq!(tw.max(), 5.0);
        // Reset later than the last event accumulates the gap first, then forgets it.
        tw.reset(200);
        assert_eq!(tw.mean(300), 5.0);
    }

    #[test]
    fn time_weighted_long_run_accuracy() {
        // 10^6 alternations between 1 and 2 with odd durations: the compensated sum keeps
        // the mean exact to ~1e-15 although the area reaches ~10^12.
        let mut tw = TimeWeighted::new(0);
        let mut t = 0u64;
        let mut area = 0u128;
        for i in 0..1_000_000u64 {
            let v = 1 + i % 2;
            tw.set(t, v as f64);
            let dt = 1_000_003 + (i % 7);
            area += u128::from(v * dt);
            t += dt;
        }
        tw.set(t, 0.0);
        assert_rel(tw.mean(t), area as f64 / t as f64, 1e-14);
    }
}

/// A small, fast histogram for per-interval percentiles (time-series rows).
///
/// Log-linear buckets: values below 64 exactly, above that 32 buckets per
/// power of two (HdrHistogram's layout with 5 sub-bucket bits), so a
/// reported value (the bucket's midpoint) is within 1.6% of the true one.
/// 1,920 `u32` counters; reset and quantiles touch only the range of
/// buckets used since the last reset, so a row costs little however many
/// rows a long run has.
#[derive(Clone, Debug)]
pub struct IntervalHistogram {
    counts: Vec<u32>,
    total: u64,
    lo: usize,
    hi: usize,
}

impl Default for IntervalHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl IntervalHistogram {
    const BUCKETS: usize = 1920;

    /// An empty histogram.
    pub fn new() -> Self {
        IntervalHistogram {
            counts: vec![0; Self::BUCKETS],
            total: 0,
            lo: Self::BUCKETS,
            hi: 0,
        }
    }

    #[inline]
    fn index(v: u64) -> usize {
        if v < 64 {
            v as usize
        } else {
            let e = 63 - v.leading_zeros() as usize;
            let m = (v >> (e - 5)) as usize;
            (e - 5) * 32 + m
        }
    }

    fn value(idx: usize) -> u64 {
        if idx < 64 {
            idx as u64
        } else {
            let shift = idx / 32 - 1;
            let m = (idx % 32 + 32) as u64;
            (m << shift) + (1u64 << shift) / 2
        }
    }

    /// Count one value.
    #[inline]
    pub fn record(&mut self, v: u64) {
        let i = Self::index(v);
        self.counts[i] = self.counts[i].saturating_add(1);
        self.total += 1;
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i);
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The q-quantile (0 when empty), within 1.6%.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for i in self.lo..=self.hi {
            seen += u64::from(self.counts[i]);
            if seen >= rank {
                return Self::value(i);
            }
        }
        Self::value(self.hi)
    }

    /// Forget everything.
    pub fn reset(&mut self) {
        if self.total > 0 {
            self.counts[self.lo..=self.hi].fill(0);
        }
        self.total = 0;
        self.lo = Self::BUCKETS;
        self.hi = 0;
    }
}

#[cfg(test)]
mod interval_tests {
    use super::IntervalHistogram;

    #[test]
    fn buckets_are_contiguous_and_within_1_6_percent() {
        let mut last = 0;
        for v in (0u64..100_000).chain([u64::MAX / 3, u64::MAX]) {
            let i = IntervalHistogram::index(v);
            assert!(i < IntervalHistogram::BUCKETS);
            assert!(i >= last || v > 100_000);
            last = i;
            let back = IntervalHistogram::value(i);
            let err = (back as f64 - v as f64).abs() / (v.max(1) as f64);
            assert!(err <= 1.0 / 64.0 + 1e-12, "v {v} -> {back}");
        }
    }

    #[test]
    fn quantiles_of_uniform_values() {
        let mut h = IntervalHistogram::new();
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        let p50 = h.quantile(0.5) as f64;
        let p99 = h.quantile(0.99) as f64;
        assert!((p50 / 50_000_000.0 - 1.0).abs() < 0.016, "{p50}");
        assert!((p99 / 99_000_000.0 - 1.0).abs() < 0.016, "{p99}");
        h.reset();
        assert_eq!(h.count(), 0);
        assert_eq!(h.quantile(0.5), 0);
        h.record(7);
        assert_eq!(h.quantile(1.0), 7);
    }
}

/// Time-average of an integer count (busy cores, queue length, requests
/// present) over integer-ns time, computed exactly: the area is an `i128`
/// sum of `count × duration`, so no rounding accumulates however long the
/// run. One accumulator serves both the measurement period (since the last
/// [`reset`](Self::reset)) and time-series intervals, by differences of
/// snapshots.
#[derive(Clone, Debug, Default)]
pub struct Occupancy {
    value: i64,
    last_t: u64,
    area: i128,
    reset_t: u64,
    reset_area: i128,
    interval_t: u64,
    interval_area: i128,
    max: i64,
}

impl Occupancy {
    /// Zero at time `t0`.
    pub fn new(t0: u64) -> Self {
        Occupancy {
            last_t: t0,
            reset_t: t0,
            interval_t: t0,
            ..Default::default()
        }
    }

    #[inline]
    fn advance(&mut self, t: u64) {
        if t > self.last_t {
            self.area += i128::from(self.value) * i128::from(t - self.last_t);
            self.last_t = t;
        }
    }

    /// Change the count by `delta` at time `t`.
    #[inline]
    pub fn add(&mut self, t: u64, delta: i64) {
        self.advance(t);
        self.value += delta;
        if self.value > self.max {
            self.max = self.value;
        }
    }

    /// The current count.
    pub fn value(&self) -> i64 {
        self.value
    }

    /// Highest count since the last reset.
    pub fn max(&self) -> i64 {
        self.max
    }

    /// The area (count × ns) accumulated since creation, up to `t`.
    pub fn integral(&self, t: u64) -> i128 {
        self.area_at(t.max(self.last_t))
    }

    fn area_at(&self, t: u64) -> i128 {
        self.area + i128::from(self.value) * i128::from(t.saturating_sub(self.last_t))
    }

    /// Average since the last reset, up to `t` (the current count if no time passed).
    pub fn mean(&self, t: u64) -> f64 {
        let span = t.max(self.last_t) - self.reset_t;
        if span == 0 {
            return self.value as f64;
        }
        (self.area_at(t.max(self.last_t)) - self.reset_area) as f64 / span as f64
    }

    /// Start a new measurement period at `t` (warm-up deletion).
    pub fn reset(&mut self, t: u64) {
        self.advance(t);
        self.reset_t = t;
        self.reset_area = self.area;
        self.max = self.value;
    }

    /// Average since the previous call (or creation), then start a new interval.
    pub fn take_interval_mean(&mut self, t: u64) -> f64 {
        self.advance(t);
        let span = t.saturating_sub(self.interval_t);
        let m = if span == 0 {
            self.value as f64
        } else {
            (self.area - self.interval_area) as f64 / span as f64
        };
        self.interval_t = t;
        self.interval_area = self.area;
        m
    }
}

#[cfg(test)]
mod occupancy_tests {
    use super::Occupancy;

    #[test]
    fn exact_means_with_reset_and_intervals() {
        let mut o = Occupancy::new(0);
        o.add(10, 2); // 0 on [0,10), 2 from 10
        assert_eq!(o.take_interval_mean(20), (2.0 * 10.0) / 20.0);
        o.reset(20);
        o.add(30, -1); // 1 from 30
        assert_eq!(o.mean(40), (2.0 * 10.0 + 10.0) / 20.0);
        assert_eq!(o.take_interval_mean(40), (2.0 * 10.0 + 10.0) / 20.0);
        assert_eq!(o.max(), 2);
        assert_eq!(o.value(), 1);
    }
}

/// MSER-5 truncation point (White 1997, "An effective truncation heuristic
/// for bias reduction in simulation output"; Spratt 1998 for the batch size
/// of 5): the series is grouped into means of 5 observations, Y_1..Y_k, and
/// the cut d (0 ≤ d ≤ k/2) minimising
/// Σ_{i>d} (Y_i − Ȳ_d)² / (k − d)² is chosen. Returns the number of raw
/// observations to delete (5·d). Too short a series (< 10 batches) gives 0.
pub fn mser5(series: &[f64]) -> usize {
    let batches: Vec<f64> = series
        .chunks_exact(5)
        .map(|c| c.iter().sum::<f64>() / 5.0)
        .collect();
    let k = batches.len();
    if k < 10 {
        return 0;
    }
    // Suffix sums make every candidate O(1): Σ(y−ȳ)² = Σy² − (Σy)²/m.
    let mut best = (f64::INFINITY, 0usize);
    let (mut sum, mut sq) = (0.0f64, 0.0f64);
    let mut stats = vec![(0.0, 0.0); k + 1];
    for i in (0..k).rev() {
        sum += batches[i];
        sq += batches[i] * batches[i];
        stats[i] = (sum, sq);
    }
    for (d, &(s, q)) in stats.iter().enumerate().take(k / 2 + 1) {
        let m = (k - d) as f64;
        let ss = (q - s * s / m).max(0.0);
        let v = ss / (m * m);
        if v < best.0 {
            best = (v, d);
        }
    }
    best.1 * 5
}

#[cfg(test)]
mod mser_tests {
    use super::mser5;

    #[test]
    fn cuts_an_initial_transient_and_leaves_a_stationary_series() {
        // 100 observations: a decaying transient over the first 30, then
        // a stationary alternation around 1.0.
        let series: Vec<f64> = (0..200)
            .map(|i| {
                let noise = if i % 2 == 0 { 0.05 } else { -0.05 };
                let transient = if i < 30 { 5.0 * (30 - i) as f64 / 30.0 } else { 0.0 };
                1.0 + noise + transient
            })
            .collect();
        let cut = mser5(&series);
        assert!((25..=40).contains(&cut), "cut {cut}");
        let flat: Vec<f64> = (0..200).map(|i| if i % 2 == 0 { 1.05 } else { 0.95 }).collect();
        assert!(mser5(&flat) <= 10, "{}", mser5(&flat));
        assert_eq!(mser5(&[1.0; 20]), 0);
    }
}

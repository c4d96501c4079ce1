//! Latency histogram: HdrHistogram buckets for quantiles, with an exact mean, min and max.

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
/// Recording is the hot path (several samples per simulated request), so the counters are kept
/// here in HdrHistogram's own layout for these bounds (see [`index`]) and a sample is one index
/// computation and an increment; the reading methods (quantiles, the CDF) hand the counts to an
/// `hdrhistogram::Histogram` built for the read ([`Histogram::hdr`]), so every reported value is
/// HdrHistogram's, exactly as if it had recorded the samples itself.
///
/// Memory is fixed at creation (about 330 KiB of counters for this range and precision) and
/// never grows.
#[derive(Clone, Debug)]
pub struct Histogram {
    /// HdrHistogram's counters for these bounds, index for index.
    counts: Vec<u64>,
    /// Samples recorded.
    total: u64,
    /// Exact sum of the recorded values; u128 cannot overflow for fewer than 2^64 samples.
    sum: u128,
    /// Exact smallest recorded value (`u64::MAX` while empty).
    min: u64,
    /// Exact largest recorded value (0 while empty).
    max: u64,
}

/// HdrHistogram's layout for 1 ns .. 10^15 ns at 3 significant digits: 2,048 sub-buckets
/// (2^11, the first power of two ≥ 2·10^3), of which every bucket but the first uses the upper
/// half (1,024), unit magnitude 0 (the lowest value is 1), and 40 buckets to cover 10^15, so
/// (40 + 1) · 1,024 counters. A unit test checks all of it against the crate.
const SUB_HALF_MAG: u32 = 10;
const SUB_HALF: u64 = 1 << SUB_HALF_MAG;
const SUB_MASK: u64 = (1 << (SUB_HALF_MAG + 1)) - 1;
const LEADING_ZERO_BASE: u32 = 64 - (SUB_HALF_MAG + 1);
const BUCKETS: usize = 40;
const COUNTS: usize = (BUCKETS + 1) << SUB_HALF_MAG;
/// Where a value too large for the counters goes: the highest trackable value's counter.
const SATURATED: usize = raw_index(HIST_HIGH_NS);

/// HdrHistogram's counter index of `v` (its `index_for`), unchecked.
#[inline(always)]
const fn raw_index(v: u64) -> usize {
    let bucket = LEADING_ZERO_BASE - (v | SUB_MASK).leading_zeros();
    let sub = v >> bucket;
    // ((bucket + 1) << half_mag) + sub − half, with sub ≥ half past bucket 0.
    ((bucket as usize) << SUB_HALF_MAG) + sub as usize
}

/// The counter of `v`, values beyond the counters saturating into the top one, as
/// HdrHistogram's `saturating_record` does.
#[inline(always)]
fn index(v: u64) -> usize {
    let i = raw_index(v);
    if i < COUNTS { i } else { SATURATED }
}

/// The lowest value counted at index `i` (HdrHistogram's `value_for`).
fn value_at_index(i: usize) -> u64 {
    let bucket = (i >> SUB_HALF_MAG) as i64 - 1;
    let sub = (i as u64 & (SUB_HALF - 1)) + SUB_HALF;
    if bucket < 0 { sub - SUB_HALF } else { sub << bucket }
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// Creates an empty histogram covering 1 ns .. 10^15 ns at 3 significant digits.
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; COUNTS],
            total: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// An `hdrhistogram::Histogram` holding exactly these counts (for the reading methods).
    fn hdr(&self) -> hdrhistogram::Histogram<u64> {
        // `new_with_bounds` leaves auto-resize off: the counts fit, as the layout is the same.
        let mut h = hdrhistogram::Histogram::new_with_bounds(HIST_LOW_NS, HIST_HIGH_NS, HIST_SIGFIG)
            .expect("constant histogram bounds are valid");
        debug_assert_eq!(h.distinct_values(), COUNTS);
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                h.record_n(value_at_index(i), c)
                    .expect("a counter's own value is in range");
            }
        }
        h
    }

    /// Records one latency sample in nanoseconds. Never allocates, never panics.
    #[inline(always)]
    pub fn record(&mut self, ns: u64) {
        // As HdrHistogram's `saturating_record`: out-of-range values (> 10^15 ns) count in the
        // top counter.
        let c = &mut self.counts[index(ns)];
        *c = c.saturating_add(1);
        self.total = self.total.saturating_add(1);
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
        self.total
    }

    /// Whether no sample has been recorded (since creation or the last `reset`).
    pub fn is_empty(&self) -> bool {
        self.total == 0
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
        self.hdr().value_at_quantile(q).clamp(self.min, self.max)
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
        if other.is_empty() {
            return;
        }
        for (c, &o) in self.counts.iter_mut().zip(&other.counts) {
            *c = c.saturating_add(o);
        }
        self.total = self.total.saturating_add(other.total);
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Removes all samples, keeping the allocated counters (warm-up deletion).
    pub fn reset(&mut self) {
        self.counts.fill(0);
        self.total = 0;
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
        let h = self.hdr();
        for v in h.iter_recorded() {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The same samples recorded straight into an `hdrhistogram::Histogram`.
    fn reference(values: &[u64]) -> hdrhistogram::Histogram<u64> {
        let mut h = hdrhistogram::Histogram::new_with_bounds(HIST_LOW_NS, HIST_HIGH_NS, HIST_SIGFIG).unwrap();
        for &v in values {
            h.saturating_record(v);
        }
        h
    }

    #[test]
    fn layout_is_hdrhistograms() {
        let h = reference(&[]);
        assert_eq!(h.distinct_values(), COUNTS);
        // Every counter's lowest value lands in that counter, and its neighbours elsewhere.
        for i in 0..COUNTS {
            let v = value_at_index(i);
            assert_eq!(index(v), i, "index {i} value {v}");
            assert_eq!(h.lowest_equivalent(v), v, "index {i}");
            let top = h.highest_equivalent(v);
            assert_eq!(index(top), i, "index {i} top {top}");
            if i + 1 < COUNTS {
                assert_eq!(top + 1, value_at_index(i + 1), "index {i}");
            }
        }
        assert_eq!(index(u64::MAX), index(HIST_HIGH_NS));
        assert_eq!(index(HIST_HIGH_NS * 2), index(HIST_HIGH_NS));
    }

    #[test]
    fn counts_and_readings_match_hdrhistogram() {
        // Small, bucket-edge, large, saturating and random values.
        let mut values: Vec<u64> = (0..5000).collect();
        for e in 10..64 {
            let p = 1u64 << e;
            values.extend([p - 1, p, p + 1, p + p / 3]);
        }
        values.extend([
            HIST_HIGH_NS - 1,
            HIST_HIGH_NS,
            HIST_HIGH_NS + 1,
            3 * HIST_HIGH_NS,
            u64::MAX,
        ]);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x >> (x % 64));
        }
        let r = reference(&values);
        let mut h = Histogram::new();
        for &v in &values {
            h.record(v);
        }
        assert_eq!(h.count(), r.len());
        let got = h.hdr();
        let a: Vec<(u64, u64)> = got
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        let b: Vec<(u64, u64)> = r
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        assert_eq!(a, b);
        for q in [0.0, 1e-6, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0] {
            assert_eq!(got.value_at_quantile(q), r.value_at_quantile(q), "q {q}");
            assert_eq!(
                h.quantile_ns(q),
                r.value_at_quantile(q).clamp(h.min_ns(), h.max_ns()),
                "q {q}"
            );
        }
        assert_eq!(got.max(), r.max());
        assert_eq!(got.min_nz(), r.min_nz());
    }

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
}

//! A small, fast log-linear histogram for per-interval percentiles.

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
    #[inline(always)]
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
mod tests {
    use super::*;

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

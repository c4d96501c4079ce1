//! Running mean and variance.

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::assert_rel;

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
}

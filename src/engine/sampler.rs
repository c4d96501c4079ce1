//! Compiled distributions of durations: what components draw service
//! times, think times and delays from.
//!
//! A [`Sampler`] is built once (the scenario layer compiles each
//! distribution the scenario names into one); drawing does not allocate,
//! and all randomness comes from the RNG passed in, so a sequence of draws
//! is determined by the RNG's seed. The draw algorithms are rand_distr's.

use std::sync::Arc;

use rand::distr::{Distribution, Uniform};
use rand_distr::{Exp1, Gamma, LogNormal, Normal, Pareto, Weibull};

/// The compiled form of each distribution. Degenerate specs (zero spread)
/// become `Constant`, which draws no random numbers.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub enum Shape {
    Constant(u64),
    /// rand_distr's `Exp1` scaled by the mean: the same draw as
    /// `Exp::new(1/mean)`, without a double reciprocal in the mean.
    Exponential(f64),
    Uniform(Uniform<f64>),
    /// Sampled by rejection of negative draws; see `Sampler::sample_f64`.
    TruncatedNormal(Normal<f64>),
    LogNormal(LogNormal<f64>),
    /// Erlang(k, mean) = Gamma(shape k, scale mean/k).
    Gamma(Gamma<f64>),
    Pareto(Pareto<f64>),
    Weibull(Weibull<f64>),
    /// Shared so cloning a sampler does not copy the data.
    Empirical(Arc<[u64]>, Uniform<usize>),
}

/// A compiled distribution that draws durations in integer nanoseconds.
///
/// Built once from a scenario's distribution; drawing does not allocate, and all
/// randomness comes from the RNG passed to [`Sampler::sample`], so a
/// sequence of draws is determined by the RNG's seed. Cloning is cheap.
#[derive(Clone, Debug)]
pub struct Sampler {
    shape: Shape,
    mean: f64,
    scv: f64,
}

/// Rounds a draw to whole nanoseconds. The cast saturates, so an overflowing
/// heavy-tail draw becomes `u64::MAX` (and NaN, which valid parameters do
/// not produce, would become 0).
#[inline]
fn round_ns(x: f64) -> u64 {
    x.round() as u64
}

impl Sampler {
    /// A sampler of `shape` whose draws have mean `mean` (ns) and squared
    /// coefficient of variation `scv`: the caller computes the moments
    /// from the distribution's parameters (the scenario layer does).
    pub fn from_shape(shape: Shape, mean: f64, scv: f64) -> Sampler {
        Sampler { shape, mean, scv }
    }

    /// A sampler that always draws `ns`.
    pub fn constant(ns: u64) -> Sampler {
        Sampler {
            shape: Shape::Constant(ns),
            mean: ns as f64,
            scv: 0.0,
        }
    }

    /// A sampler that picks uniformly among `values` (nanoseconds), as an
    /// `empirical` file does; fails if `values` is empty.
    pub fn empirical(values: Vec<u64>) -> Result<Sampler, String> {
        let n = values.len();
        let (&first, rest) = values
            .split_first()
            .ok_or_else(|| "contains no durations".to_string())?;
        if rest.iter().all(|&v| v == first) {
            return Ok(Sampler::constant(first));
        }
        // Exact sum, then population moments: every value is equally likely.
        let sum: u128 = values.iter().map(|&v| u128::from(v)).sum();
        let mean = sum as f64 / n as f64;
        let var = values
            .iter()
            .map(|&v| (v as f64 - mean) * (v as f64 - mean))
            .sum::<f64>()
            / n as f64;
        let index = Uniform::new(0, n).map_err(|e| e.to_string())?;
        Ok(Sampler {
            shape: Shape::Empirical(values.into(), index),
            mean,
            scv: var / (mean * mean),
        })
    }

    /// Draws a duration in nanoseconds, rounded to the nearest; saturates
    /// at `u64::MAX` for (astronomically rare) overflowing heavy-tail draws.
    #[inline]
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match &self.shape {
            Shape::Constant(ns) => *ns,
            Shape::Empirical(values, index) => values[index.sample(rng)],
            _ => round_ns(self.sample_f64(rng)),
        }
    }

    /// Draws a duration in nanoseconds, unrounded, for callers that scale
    /// it before rounding. Always >= 0.
    ///
    /// A truncated normal redraws until the value is >= 0; since its mean
    /// is >= 0 at least half of all draws are accepted, so this takes fewer
    /// than two normal draws on average. It does mean the number of values
    /// taken from `rng` varies between calls.
    #[inline(always)]
    pub fn sample_f64<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match &self.shape {
            Shape::Constant(ns) => *ns as f64,
            Shape::Exponential(mean) => {
                let e: f64 = Exp1.sample(rng);
                e * mean
            }
            Shape::Uniform(d) => d.sample(rng),
            Shape::TruncatedNormal(d) => loop {
                let x = d.sample(rng);
                if x >= 0.0 {
                    break x;
                }
            },
            Shape::LogNormal(d) => d.sample(rng),
            Shape::Gamma(d) => d.sample(rng),
            Shape::Pareto(d) => d.sample(rng),
            Shape::Weibull(d) => d.sample(rng),
            Shape::Empirical(values, index) => values[index.sample(rng)] as f64,
        }
    }

    /// The mean of what [`Sampler::sample_f64`] draws, in nanoseconds
    /// (infinite for a Pareto with alpha <= 1).
    pub fn mean_ns(&self) -> f64 {
        self.mean
    }

    /// Squared coefficient of variation, Var/mean²: 0 for a constant, 1 for
    /// an exponential, 1/k for Erlang; infinite where the variance is (a
    /// Pareto with alpha <= 2).
    pub fn scv(&self) -> f64 {
        self.scv
    }

    /// How many values the sampler keeps (an `empirical` file's durations; 0
    /// for the other forms, which keep none).
    pub fn table_len(&self) -> usize {
        match &self.shape {
            Shape::Empirical(values, _) => values.len(),
            _ => 0,
        }
    }

    /// Whether every draw is 0, so callers can skip scheduling a delay.
    pub fn is_zero(&self) -> bool {
        matches!(self.shape, Shape::Constant(0))
    }
}

//! Streaming statistics for simulation output.
//!
//! Everything here has constant memory: no type keeps the samples it has seen, so a
//! run of 10^9 requests costs the same memory as a run of 10.
//!
//! * [`Histogram`] ([`histogram`]): latency distribution (HdrHistogram) with an exact mean,
//!   min and max; [`IntervalHistogram`] ([`interval`]): a small one for per-interval
//!   percentiles.
//! * [`TimeWeighted`] and [`Occupancy`] ([`time_average`]): time-average of a
//!   piecewise-constant signal (utilisation, queue length).
//! * [`Welford`] ([`welford`]): running mean and variance.
//! * [`mser5`] ([`mser`]): MSER-5 warm-up truncation.
//! * Free functions for the replication-level statistics ([`replication`]): 95% confidence
//!   intervals, Welch's t-test and the coefficient of variation; with the Student-t
//!   ([`student_t`]) and normal ([`normal`]) quantiles and CDFs they rest on.
//!
//! The special functions ([`special`]: log-gamma, regularised incomplete beta, erf/erfc) are
//! implemented here from their textbook definitions instead of pulling in a numerics crate;
//! each one names the formula it implements.
#![warn(missing_docs)]

pub mod histogram;
pub mod interval;
pub mod mser;
pub mod normal;
pub mod replication;
pub mod special;
pub mod student_t;
pub mod time_average;
pub mod welford;

pub use histogram::Histogram;
pub use interval::IntervalHistogram;
pub use mser::mser5;
pub use normal::{normal_cdf, normal_quantile};
pub use replication::{coefficient_of_variation, mean_ci95, paired_diff_ci95, welch_p_value};
pub use special::{erf, erfc, ln_gamma};
pub use student_t::{student_t_cdf, student_t_quantile};
pub use time_average::{Occupancy, TimeWeighted};
pub use welford::Welford;

/// Asserts that `got` is within relative tolerance `tol` of `want`.
#[cfg(test)]
fn assert_rel(got: f64, want: f64, tol: f64) {
    let rel = ((got - want) / want).abs();
    assert!(
        rel <= tol,
        "got {got:.17e}, want {want:.17e}, rel {rel:e} > {tol:e}"
    );
}

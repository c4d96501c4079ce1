//! Per-replica load imbalance over each time-series interval: the
//! coefficient of variation (population standard deviation ÷ mean) of the
//! requests that reached each serving replica. 0 when the replicas share
//! the load evenly; after a scale-out from n to 2n under a layer-4 balancer
//! it is 1 at first (the n new replicas idle, the n old ones at twice the
//! mean), falling as the clients' connections reopen.

use super::{Life, Service};

impl Service {
    /// The interval's CV over the replicas serving at its end (a replica
    /// that joined during the interval counts what it received since), and
    /// a new interval begins for every replica. 0 with no arrivals.
    pub(super) fn take_interval_load_cv(&mut self) -> f64 {
        let (mut n, mut sum, mut sq) = (0.0f64, 0.0f64, 0.0f64);
        for r in &mut self.reps {
            if r.life == Life::Ready {
                let x = r.interval_arrivals as f64;
                n += 1.0;
                sum += x;
                sq += x * x;
            }
            r.interval_arrivals = 0;
        }
        if n == 0.0 || sum == 0.0 {
            return 0.0;
        }
        let mean = sum / n;
        let var = (sq / n - mean * mean).max(0.0);
        var.sqrt() / mean
    }
}

//! What each kind contributes to `archsim explain`: how the load reaching
//! a component flows on ([`Flow`]) and what queueing theory predicts for it
//! ([`Forecast`]). The walk through the topology, the totals and the
//! rendering are `crate::explain`'s; the formulas are `crate::theory`'s.

use crate::model::Config;
use crate::model::client::{ArrivalCfg, KeysCfg};

/// Load passed on to another component: the shares of the reads and of
/// the writes arriving here that travel to `to` (a global id).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Flow {
    /// Global id (clients first, then components).
    pub to: usize,
    /// Share of the reads.
    pub reads: f64,
    /// Share of the writes.
    pub writes: f64,
}

/// What theory predicts for one component at the load reaching it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Forecast {
    /// Busy fraction of its cores.
    pub utilization: Option<f64>,
    /// Mean wait before service (ms).
    pub wait_ms: Option<f64>,
    /// Mean time in the component (ms).
    pub response_ms: Option<f64>,
    /// The model used, in words.
    pub model: String,
    /// Load against its capacity, for the bottleneck (utilisation unless
    /// capacity differs: an autoscaled service's maximum, full batches,
    /// the busiest of unequal replicas).
    pub load: Option<f64>,
    /// No end-to-end latency can be predicted (an overloaded tier, a
    /// client waiting on a batch).
    pub latency_unknown: bool,
}

/// What a kind's forecast may look up.
pub(crate) struct Setting<'a> {
    /// The resolved scenario.
    pub cfg: &'a Config,
    /// Global id of the component forecast.
    pub id: usize,
    /// Requests per second a client waits for at this component.
    pub sync: f64,
}

/// The time average over `[0, duration)` of a step function worth `before`
/// until the first step, then each step's value from its time on.
pub(crate) fn time_average(before: f64, steps: impl Iterator<Item = (u64, f64)>, duration: u64) -> f64 {
    let mut area = 0.0;
    let mut prev = (0, before);
    for (t, v) in steps {
        let t = t.min(duration);
        area += prev.1 * t.saturating_sub(prev.0) as f64;
        prev = (t, v);
    }
    area += prev.1 * duration.saturating_sub(prev.0) as f64;
    area / duration.max(1) as f64
}

/// A client's mean arrival rate over the run (`None` for a closed loop,
/// whose rate depends on the response time).
pub(crate) fn mean_rate(a: &ArrivalCfg, duration: u64) -> Option<f64> {
    match a {
        ArrivalCfg::Poisson(r) | ArrivalCfg::Constant(r) => Some(*r),
        ArrivalCfg::Interarrival(s) => Some(1e9 / s.mean_ns().max(1e-9)),
        ArrivalCfg::Schedule(steps) => Some(time_average(0.0, steps.iter().copied(), duration)),
        ArrivalCfg::Diurnal { mean, .. } => Some(*mean),
        ArrivalCfg::Trace(t) => Some(t.len() as f64 / (duration.max(1) as f64 / 1e9)),
        ArrivalCfg::Closed { .. } => None,
    }
}

/// Che's LRU hit ratio for `capacity` entries over a key distribution.
pub(crate) fn lru_hit(keys: &KeysCfg, capacity: f64) -> Option<f64> {
    let p = match *keys {
        KeysCfg::Single => return Some(1.0),
        KeysCfg::Uniform(n) => return Some((capacity / n as f64).min(1.0)),
        KeysCfg::Zipf(n, _) if n > 2_000_000 => return None,
        KeysCfg::Zipf(n, s) => crate::theory::zipf_popularity(n, s),
    };
    crate::theory::lru_hit_ratio_che(&p, capacity)
}

/// Erlang-C M/G/c mean wait (s) with the Allen–Cunneen correction.
pub(crate) fn mgc_wait(lambda: f64, mean_s: f64, scv: f64, c: u32) -> Option<f64> {
    if mean_s <= 0.0 {
        return Some(0.0);
    }
    let q = crate::theory::Mmc::new(lambda, 1.0 / mean_s, c);
    let w = q.mean_wait()?;
    Some(w * (1.0 + scv) / 2.0)
}

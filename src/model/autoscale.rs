//! Autoscaling decisions: the Kubernetes Horizontal Pod Autoscaler rule,
//! step scaling on thresholds, schedules, and predictive scaling.
//!
//! The HPA follows the controller's documented algorithm ("Horizontal Pod
//! Autoscaling", kubernetes.io, and the `behavior` field of
//! `autoscaling/v2`):
//!
//! - every sync period (15 s) the ratio r = current metric ÷ target gives
//!   desired = ceil(r × ready replicas), computed in float64;
//! - no change while |1 − r| ≤ tolerance (0.1, inclusive);
//! - replicas still starting have no metrics: on a scale-up they count as
//!   0 % usage (the ratio is recomputed over ready + starting replicas, and
//!   the change is skipped if that ratio falls inside the tolerance or
//!   reverses the direction); on a scale-down they are left out;
//! - stabilisation: the controller remembers its recent recommendations and
//!   uses the highest within the scale-down window (default 300 s) and the
//!   lowest within the scale-up window (default 0 s) — recommendations
//!   strictly inside the window count;
//! - rate policies: over each policy's period the change is limited, from
//!   the replica count at the start of the period (the current count less
//!   the changes made within it); defaults, up: the larger of 4 pods or
//!   100 % per 15 s; down: 100 % per 15 s; `select_policy` picks the
//!   policy allowing the largest change (`max`, the default) or the
//!   smallest (`min`), or disables scaling that way;
//! - `min` and `max` bound the result.
//!
//! Metrics are per replica (`cpu`: busy fraction of the replica's cores;
//! `request_rate`: requests per second per replica) or a single value for
//! the whole service (`latency_p99`: desired = ceil(r × ready)), except
//! `queue_depth`, which is a per-replica average target as HPA's external
//! metrics with an `AverageValue` target (and KEDA) use:
//! desired = ceil(depth ÷ target) when |1 − depth ÷ (target × current)| >
//! tolerance.

use std::collections::VecDeque;

use crate::engine::SimTime;

/// What an autoscaler measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Busy fraction of the cores of the ready replicas.
    Cpu,
    /// Requests per second per ready replica.
    RequestRate,
    /// 99th percentile of the service's response time (ms).
    LatencyP99,
    /// Messages waiting in a queue, per replica.
    QueueDepth,
}

/// One HPA rate policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RatePolicy {
    /// At most this many replicas per period.
    Pods(u32, SimTime),
    /// At most this percentage of the replicas at the start of the period.
    Percent(f64, SimTime),
}

impl RatePolicy {
    fn period(&self) -> SimTime {
        match *self {
            RatePolicy::Pods(_, p) | RatePolicy::Percent(_, p) => p,
        }
    }
}

/// How several policies combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// Scale-up or scale-down behaviour.
#[derive(Clone, Debug, PartialEq)]
pub struct Rules {
    /// Stabilisation window.
    pub window: SimTime,
    /// Rate policies.
    pub policies: Vec<RatePolicy>,
    /// How they combine.
    pub select: Select,
}

const S: SimTime = 1_000_000_000;

impl Rules {
    /// Kubernetes' default scale-up behaviour: no stabilisation, max(4 pods, 100 %) per 15 s.
    pub fn default_up() -> Rules {
        Rules {
            window: 0,
            policies: vec![RatePolicy::Percent(100.0, 15 * S), RatePolicy::Pods(4, 15 * S)],
            select: Select::Max,
        }
    }

    /// Kubernetes' default scale-down behaviour: 300 s stabilisation, 100 % per 15 s.
    pub fn default_down() -> Rules {
        Rules {
            window: 300 * S,
            policies: vec![RatePolicy::Percent(100.0, 15 * S)],
            select: Select::Max,
        }
    }
}

/// The HPA's target-tracking settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Hpa {
    /// Metric.
    pub metric: Metric,
    /// Target value (cpu as a fraction, request_rate per second, latency in ms, depth in messages).
    pub target: f64,
    /// No change while |1 − ratio| ≤ tolerance.
    pub tolerance: f64,
    /// Scale-up behaviour.
    pub up: Rules,
    /// Scale-down behaviour.
    pub down: Rules,
}

/// What an autoscaler does.
#[derive(Clone, Debug, PartialEq)]
pub enum Policy {
    /// The Kubernetes HPA rule.
    TargetTracking(Hpa),
    /// Step scaling: `step` replicas up above `up_above`, down below
    /// `down_below`, at most once per `cooldown`.
    Threshold {
        /// Metric.
        metric: Metric,
        /// Scale up when the metric is above this.
        up_above: f64,
        /// Scale down when the metric is below this.
        down_below: f64,
        /// Replicas added or removed at a time.
        step: u32,
        /// Least time between two scaling actions.
        cooldown: SimTime,
    },
    /// Replica counts at fixed times.
    Schedule(Vec<(SimTime, u32)>),
    /// Forecast the demand `horizon` ahead (Holt's linear trend) and
    /// provision for the larger of the forecast and the present, through
    /// the HPA's stabilisation and rate policies.
    Predictive {
        /// Target tracking used for the present demand and the behaviour.
        hpa: Hpa,
        /// How far ahead to provision (startup time and more).
        horizon: SimTime,
        /// Holt's level smoothing.
        alpha: f64,
        /// Holt's trend smoothing.
        beta: f64,
    },
}

impl Policy {
    /// The metric it reads, if any.
    pub fn metric(&self) -> Option<Metric> {
        match self {
            Policy::TargetTracking(h) | Policy::Predictive { hpa: h, .. } => Some(h.metric),
            Policy::Threshold { metric, .. } => Some(*metric),
            Policy::Schedule(_) => None,
        }
    }
}

/// A resolved autoscaler.
#[derive(Clone, Debug)]
pub struct AutoscaleCfg {
    /// The autoscaler's name (its metrics are reported under it).
    pub name: String,
    /// Fewest replicas.
    pub min: u32,
    /// Most replicas.
    pub max: u32,
    /// Sync period.
    pub interval: SimTime,
    /// Decision rule.
    pub policy: Policy,
    /// Component id of the queue whose depth `queue_depth` reads.
    pub queue: Option<u32>,
}

/// One reading of the metric at a sync.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reading {
    /// The metric's value: per ready replica for cpu and request_rate (the
    /// average), the service's for latency, the queue's total for depth.
    pub value: f64,
    /// Replicas serving.
    pub ready: u32,
    /// Replicas started and not yet serving.
    pub starting: u32,
}

/// The HPA's replica proposal from one reading, before stabilisation
/// (`current` = ready + starting, the replicas the controller asked for).
pub fn hpa_proposal(h: &Hpa, r: Reading) -> u32 {
    let current = r.ready + r.starting;
    let ready = f64::from(r.ready);
    match h.metric {
        Metric::QueueDepth => {
            let ratio = r.value / (h.target * f64::from(current.max(1)));
            if (1.0 - ratio).abs() <= h.tolerance {
                current
            } else {
                (r.value / h.target).ceil() as u32
            }
        }
        Metric::LatencyP99 => {
            let ratio = r.value / h.target;
            if (1.0 - ratio).abs() <= h.tolerance {
                current
            } else {
                (ratio * ready).ceil() as u32
            }
        }
        Metric::Cpu | Metric::RequestRate => {
            let ratio = r.value / h.target;
            if r.starting == 0 || ratio <= 1.0 {
                if (1.0 - ratio).abs() <= h.tolerance {
                    return current;
                }
                return (ratio * ready).ceil() as u32;
            }
            // Scaling up with replicas still starting: count them at 0 %.
            let all = f64::from(current);
            let new_ratio = r.value * ready / (h.target * all);
            if (1.0 - new_ratio).abs() <= h.tolerance || new_ratio < 1.0 {
                return current;
            }
            let n = (new_ratio * all).ceil() as u32;
            n.max(current)
        }
    }
}

/// The controller's memory: past recommendations and scaling events.
#[derive(Clone, Debug, Default)]
pub struct HpaState {
    recs: VecDeque<(SimTime, u32)>,
    ups: VecDeque<(SimTime, u32)>,
    downs: VecDeque<(SimTime, u32)>,
}

fn changed_within(events: &VecDeque<(SimTime, u32)>, now: SimTime, period: SimTime) -> i64 {
    events
        .iter()
        .filter(|(t, _)| t.saturating_add(period) > now)
        .map(|&(_, n)| i64::from(n))
        .sum()
}

impl HpaState {
    /// Stabilise `desired`, apply the rate policies and the bounds, and
    /// remember the decision; returns the replica count to ask for.
    pub fn normalize(
        &mut self,
        h: &Hpa,
        now: SimTime,
        current: u32,
        desired: u32,
        min: u32,
        max: u32,
    ) -> u32 {
        // Stabilisation over the stored recommendations (strictly inside the windows).
        let mut up_rec = desired;
        let mut down_rec = desired;
        for &(t, rec) in &self.recs {
            if t.saturating_add(h.up.window) > now {
                up_rec = up_rec.min(rec);
            }
            if t.saturating_add(h.down.window) > now {
                down_rec = down_rec.max(rec);
            }
        }
        let keep = h.up.window.max(h.down.window);
        while self.recs.front().is_some_and(|&(t, _)| t + keep <= now) {
            self.recs.pop_front();
        }
        self.recs.push_back((now, desired));
        let mut rec = current.max(up_rec).min(down_rec);

        // Rate policies.
        let cur = i64::from(current);
        if rec > current {
            let limit = self.up_limit(&h.up, now, cur).max(cur);
            rec = rec.min(limit.clamp(0, i64::from(u32::MAX)) as u32);
        } else if rec < current {
            let limit = self.down_limit(&h.down, now, cur).min(cur);
            rec = rec.max(limit.max(0) as u32);
        }
        let out = rec.clamp(min, max);
        self.record(now, current, out, h);
        out
    }

    fn up_limit(&self, rules: &Rules, now: SimTime, cur: i64) -> i64 {
        let mut best: Option<i64> = None;
        for p in &rules.policies {
            let start = cur - changed_within(&self.ups, now, p.period())
                + changed_within(&self.downs, now, p.period());
            let proposed = match *p {
                RatePolicy::Pods(n, _) => start + i64::from(n),
                RatePolicy::Percent(x, _) => (start as f64 * (1.0 + x / 100.0)).ceil() as i64,
            };
            best = Some(match (rules.select, best) {
                (_, None) => proposed,
                (Select::Min, Some(b)) => b.min(proposed),
                (_, Some(b)) => b.max(proposed),
            });
        }
        match rules.select {
            Select::Disabled => cur,
            _ => best.unwrap_or(cur),
        }
    }

    fn down_limit(&self, rules: &Rules, now: SimTime, cur: i64) -> i64 {
        let mut best: Option<i64> = None;
        for p in &rules.policies {
            let start = cur + changed_within(&self.downs, now, p.period())
                - changed_within(&self.ups, now, p.period());
            let proposed = match *p {
                RatePolicy::Pods(n, _) => start - i64::from(n),
                RatePolicy::Percent(x, _) => (start as f64 * (1.0 - x / 100.0)) as i64,
            };
            // The largest change is the lowest count.
            best = Some(match (rules.select, best) {
                (_, None) => proposed,
                (Select::Min, Some(b)) => b.max(proposed),
                (_, Some(b)) => b.min(proposed),
            });
        }
        match rules.select {
            Select::Disabled => cur,
            _ => best.unwrap_or(cur),
        }
    }

    fn record(&mut self, now: SimTime, from: u32, to: u32, h: &Hpa) {
        let keep =
            h.up.policies
                .iter()
                .chain(&h.down.policies)
                .map(RatePolicy::period)
                .max()
                .unwrap_or(0);
        for q in [&mut self.ups, &mut self.downs] {
            while q.front().is_some_and(|&(t, _)| t + keep <= now) {
                q.pop_front();
            }
        }
        if to > from {
            self.ups.push_back((now, to - from));
        } else if to < from {
            self.downs.push_back((now, from - to));
        }
    }
}

/// Holt's linear-trend forecaster (double exponential smoothing).
#[derive(Clone, Copy, Debug, Default)]
pub struct Holt {
    level: f64,
    trend: f64,
    seen: u32,
}

impl Holt {
    /// Add an observation.
    pub fn observe(&mut self, x: f64, alpha: f64, beta: f64) {
        match self.seen {
            0 => self.level = x,
            1 => {
                self.trend = x - self.level;
                self.level = x;
            }
            _ => {
                let prev = self.level;
                self.level = alpha * x + (1.0 - alpha) * (self.level + self.trend);
                self.trend = beta * (self.level - prev) + (1.0 - beta) * self.trend;
            }
        }
        self.seen = self.seen.saturating_add(1);
    }

    /// The forecast `steps` observations ahead.
    pub fn forecast(&self, steps: f64) -> f64 {
        self.level + steps * self.trend
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hpa(metric: Metric, target: f64) -> Hpa {
        Hpa {
            metric,
            target,
            tolerance: 0.1,
            up: Rules::default_up(),
            down: Rules::default_down(),
        }
    }

    fn read(value: f64, ready: u32, starting: u32) -> Reading {
        Reading {
            value,
            ready,
            starting,
        }
    }

    #[test]
    fn the_documented_example_doubles_at_twice_the_target() {
        // kubernetes.io: current 200m, target 100m → ratio 2 → double.
        let h = hpa(Metric::Cpu, 0.5);
        assert_eq!(hpa_proposal(&h, read(1.0, 3, 0)), 6);
        // 50m against 100m halves.
        assert_eq!(hpa_proposal(&h, read(0.25, 4, 0)), 2);
        // ceil: 4 × 0.8 / 0.5 = 6.4 → 7.
        assert_eq!(hpa_proposal(&h, read(0.8, 4, 0)), 7);
    }

    #[test]
    fn the_tolerance_band_is_inclusive() {
        let h = hpa(Metric::Cpu, 0.5);
        // Inside the band, up to its edge (0.9: |1 − r| = 0.1 in float64): no change.
        assert_eq!(hpa_proposal(&h, read(0.546875, 10, 0)), 10);
        assert_eq!(hpa_proposal(&h, read(0.45, 10, 0)), 10);
        // Just outside: 10 × 1.12 = 11.2 → 12.
        assert_eq!(hpa_proposal(&h, read(0.56, 10, 0)), 12);
        assert_eq!(hpa_proposal(&h, read(0.44, 10, 0)), 9);
    }

    #[test]
    fn starting_replicas_count_as_idle_on_a_scale_up() {
        let h = hpa(Metric::Cpu, 0.5);
        // 4 ready at 90 % (ratio 1.8), 2 starting: recomputed over 6 at
        // 0.9·4/6 = 60 % → ratio 1.2 → ceil(1.2 × 6) = 8 (not ceil(1.8 × 4) + 2).
        assert_eq!(hpa_proposal(&h, read(0.9, 4, 2)), 8);
        // 4 ready at 60 % (ratio 1.2), 2 starting: 0.6·4/6 = 40 %, the
        // direction reverses → no change.
        assert_eq!(hpa_proposal(&h, read(0.6, 4, 2)), 6);
        // Scale-down leaves the starting replicas out: ceil(0.5 × 4) = 2.
        assert_eq!(hpa_proposal(&h, read(0.25, 4, 2)), 2);
    }

    #[test]
    fn queue_depth_is_an_average_value_target() {
        let h = hpa(Metric::QueueDepth, 100.0);
        assert_eq!(hpa_proposal(&h, read(1050.0, 3, 0)), 11);
        // 1,050 over 10 replicas is 105 each: within tolerance.
        assert_eq!(hpa_proposal(&h, read(1050.0, 10, 0)), 10);
    }

    #[test]
    fn scale_down_waits_for_the_highest_recommendation_in_the_window() {
        let h = hpa(Metric::Cpu, 0.5);
        let mut st = HpaState::default();
        let t = |s: u64| s * S;
        assert_eq!(st.normalize(&h, t(0), 10, 10, 1, 100), 10);
        // Load falls: the proposals 4, then 3 are held at 10 until the
        // recommendation of 10 at t = 0 leaves the 300 s window.
        assert_eq!(st.normalize(&h, t(15), 10, 4, 1, 100), 10);
        assert_eq!(st.normalize(&h, t(150), 10, 3, 1, 100), 10);
        assert_eq!(st.normalize(&h, t(299), 10, 3, 1, 100), 10);
        // At 300 s the sample at 0 is no longer strictly inside: the
        // highest left is 4 (from t = 15).
        assert_eq!(st.normalize(&h, t(300), 10, 3, 1, 100), 4);
        assert_eq!(st.normalize(&h, t(314), 4, 3, 1, 100), 4);
        // …until the 4 of t = 15 leaves it too.
        assert_eq!(st.normalize(&h, t(315), 4, 3, 1, 100), 3);
    }

    #[test]
    fn scale_up_is_limited_to_four_pods_or_double_per_period() {
        let h = hpa(Metric::Cpu, 0.5);
        let mut st = HpaState::default();
        // From 2, 4 pods beat 100 %: at most 6.
        assert_eq!(st.normalize(&h, 0, 2, 50, 1, 100), 6);
        // Within the same 15 s the period started at 2: no more.
        assert_eq!(st.normalize(&h, 5 * S, 6, 50, 1, 100), 6);
        // Next period from 6: 100 % beats 4 pods → 12.
        assert_eq!(st.normalize(&h, 20 * S, 6, 50, 1, 100), 12);
        assert_eq!(st.normalize(&h, 40 * S, 12, 50, 1, 100), 24);
        // max clamps.
        assert_eq!(st.normalize(&h, 60 * S, 24, 50, 1, 30), 30);
    }

    #[test]
    fn bounds_and_disabled_directions() {
        let mut h = hpa(Metric::Cpu, 0.5);
        h.down.select = Select::Disabled;
        h.down.window = 0;
        let mut st = HpaState::default();
        assert_eq!(st.normalize(&h, 0, 5, 1, 2, 10), 5);
        let mut st = HpaState::default();
        h.down.select = Select::Max;
        assert_eq!(st.normalize(&h, 0, 5, 1, 2, 10), 2);
    }

    #[test]
    fn holt_follows_a_linear_trend() {
        let mut f = Holt::default();
        for i in 0..20 {
            f.observe(10.0 + 2.0 * f64::from(i), 0.5, 0.3);
        }
        // Next values 50, 52, …: four steps ahead of the last (48) is 56.
        assert!((f.forecast(4.0) - 56.0).abs() < 1e-6, "{}", f.forecast(4.0));
    }
}

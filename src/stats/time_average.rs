//! Time-averages of piecewise-constant signals over integer-ns time: [`TimeWeighted`] for
//! real values (compensated sums) and [`Occupancy`] for integer counts (exact `i128` areas).

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
mod tests {
    use super::*;
    use crate::stats::assert_rel;

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

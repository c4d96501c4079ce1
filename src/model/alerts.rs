//! Alerting rules over the time series, evaluated as Prometheus evaluates
//! alerting rules (Prometheus docs, "Alerting rules": a rule's expression
//! is evaluated every evaluation interval; an alert whose condition has
//! held for less than its `for` duration is *pending*, one that has held for
//! at least `for` is *firing*, and one whose condition no longer holds at an
//! evaluation is resolved and becomes inactive).
//!
//! A rule watches one time-series column (what timeseries.csv records:
//! `errors`, `latency_p99_ms`, `api.utilization`, …) or `error_ratio`
//! (1 − `availability`). Evaluations happen at every multiple of the
//! evaluation interval E up to the end of the run; each sees the latest
//! sample, the row recorded at or before it (as an instant query sees the
//! latest sample of a series). The evaluation is done after the run from
//! the recorded rows, so it is exact to the evaluation grid and changes
//! nothing in the simulation itself (not its events, not its fingerprint).
//!
//! Timing, for a rule whose condition a fault starting at f makes true:
//! the condition is first seen in the row at r₁ > f (a row covers the
//! sampling interval Δ that ends at its time), first evaluated true at
//! e₁ = the first evaluation ≥ r₁, and the alert fires at the first
//! evaluation ≥ e₁ + `for`. With `for` a multiple of E and E a multiple of
//! Δ, it fires at e₁ + `for`, and a metric that crosses its threshold in
//! the very row the fault starts in (`errors above 0`) gives
//! e₁ = ⌈f/E⌉·E, so detection = fired − f ∈ (`for`, `for` + E]. A metric
//! that is an interval average may need the first whole interval after f
//! (availability below 0.5 after a crash that starts late in its
//! interval), which adds less than Δ: detection ∈ (`for`, `for` + E + Δ).

use serde::{Deserialize, Serialize};

use crate::engine::{SimTime, secs};

/// The series a rule may watch besides the time-series columns: the error
/// ratio of each interval, 1 − `availability`.
pub const ERROR_RATIO: &str = "error_ratio";

/// Most firing episodes one rule keeps in the report (its count and
/// firing time are always exact).
pub const MAX_EPISODES: usize = 1000;

/// Which side of the threshold makes the condition true.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// The latest value is above (strictly greater than) this.
    Above(f64),
    /// The latest value is below (strictly less than) this.
    Below(f64),
}

impl Threshold {
    /// Whether `v` meets the condition (a NaN never does).
    pub fn holds(self, v: f64) -> bool {
        match self {
            Threshold::Above(t) => v > t,
            Threshold::Below(t) => v < t,
        }
    }
}

/// One alerting rule, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertCfg {
    /// Its name (metrics `alerts.NAME.*`, chart labels).
    pub name: String,
    /// The watched series: a time-series column or [`ERROR_RATIO`].
    pub metric: String,
    /// The condition.
    pub threshold: Threshold,
    /// `for`: how long the condition must hold before the alert fires, ns.
    pub hold: SimTime,
    /// Free text shown beside it (`page`, `ticket`).
    pub severity: Option<String>,
    /// The rule as a phrase for the report (`error_ratio > 0.01 for 1m`).
    pub condition: String,
}

/// Where a rule reads its value in a row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Source {
    /// The column at this index.
    Column(usize),
    /// One minus the column at this index (`error_ratio` from `availability`).
    OneMinus(usize),
}

impl Source {
    /// The rule's series in `columns`, if it is there.
    pub fn find(metric: &str, columns: &[String]) -> Option<Source> {
        let at = |name: &str| columns.iter().skip(1).position(|c| c == name).map(|i| i + 1);
        if metric == ERROR_RATIO {
            return at("availability").map(Source::OneMinus);
        }
        at(metric).map(Source::Column)
    }

    fn read(self, row: &[f64]) -> f64 {
        match self {
            Source::Column(i) => row.get(i).copied().unwrap_or(f64::NAN),
            Source::OneMinus(i) => 1.0 - row.get(i).copied().unwrap_or(f64::NAN),
        }
    }
}

/// One time an alert fired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// When it fired (the evaluation at which it had been pending for
    /// `for`), seconds.
    pub fired_at_s: f64,
    /// When it resolved (the first evaluation that found the condition
    /// false), seconds; null if it was still firing at the end.
    pub resolved_at_s: Option<f64>,
}

/// What one rule did in one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertLog {
    /// The rule's name.
    pub name: String,
    /// The rule as a phrase (`error_ratio > 0.01 for 1m`).
    pub condition: String,
    /// Its severity, if the rule gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Firing time minus the start of the latest scheduled fault that
    /// started at or before its first firing, seconds (none without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection_s: Option<f64>,
    /// Each firing, in time order (at most [`MAX_EPISODES`]).
    pub episodes: Vec<Episode>,
}

/// Firing intervals `(fired, resolved)` in ns of one rule over `rows`
/// (sampled every `sample` ns, the row at index k−1 recorded at k·`sample`),
/// evaluated every `every` ns from `every` up to `end`. An evaluation
/// before the first row, or after the last, sees no data: the condition is
/// false there.
pub fn firings(
    threshold: Threshold,
    hold: SimTime,
    src: Source,
    rows: &[Vec<f64>],
    sample: SimTime,
    every: SimTime,
    end: SimTime,
) -> Vec<(SimTime, Option<SimTime>)> {
    let (sample, every) = (sample.max(1), every.max(1));
    let mut out: Vec<(SimTime, Option<SimTime>)> = Vec::new();
    let mut pending_since: Option<SimTime> = None;
    let mut firing = false;
    let mut e = every;
    while e <= end {
        let k = (e / sample) as usize;
        let holds = k >= 1 && rows.get(k - 1).is_some_and(|row| threshold.holds(src.read(row)));
        if holds {
            let since = *pending_since.get_or_insert(e);
            if !firing && e - since >= hold {
                firing = true;
                out.push((e, None));
            }
        } else {
            if firing && let Some(last) = out.last_mut() {
                last.1 = Some(e);
            }
            firing = false;
            pending_since = None;
        }
        e = match e.checked_add(every) {
            Some(n) => n,
            None => break,
        };
    }
    out
}

/// Evaluate every rule over a run's series: the metrics
/// `alerts.NAME.fired` (times it fired), `alerts.NAME.firing_s` (time spent
/// firing, up to `end`), `alerts.NAME.first_fired_s` and
/// `alerts.NAME.detection_s` (first firing minus the start of the latest of
/// `fault_starts` at or before it) when it fired, and each rule's log.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    rules: &[AlertCfg],
    columns: &[String],
    rows: &[Vec<f64>],
    sample: SimTime,
    every: SimTime,
    end: SimTime,
    fault_starts: &[SimTime],
    metrics: &mut super::Metrics,
) -> Vec<AlertLog> {
    let mut logs = Vec::with_capacity(rules.len());
    for r in rules {
        let fired = match Source::find(&r.metric, columns) {
            Some(src) => firings(r.threshold, r.hold, src, rows, sample, every, end),
            None => Vec::new(),
        };
        let key = |what: &str| format!("alerts.{}.{what}", r.name);
        metrics.insert(key("fired"), fired.len() as f64);
        let firing: SimTime = fired
            .iter()
            .map(|&(a, b)| b.unwrap_or(end).saturating_sub(a))
            .sum();
        metrics.insert(key("firing_s"), secs(firing));
        let mut detection = None;
        if let Some(&(first, _)) = fired.first() {
            metrics.insert(key("first_fired_s"), secs(first));
            if let Some(start) = fault_starts.iter().copied().filter(|&s| s <= first).max() {
                let d = secs(first - start);
                metrics.insert(key("detection_s"), d);
                detection = Some(d);
            }
        }
        logs.push(AlertLog {
            name: r.name.clone(),
            condition: r.condition.clone(),
            severity: r.severity.clone(),
            detection_s: detection,
            episodes: fired
                .iter()
                .take(MAX_EPISODES)
                .map(|&(a, b)| Episode {
                    fired_at_s: secs(a),
                    resolved_at_s: b.map(secs),
                })
                .collect(),
        });
    }
    logs
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: SimTime = 1_000_000_000;

    /// Rows of one column (index 1 after `t_s`), sampled every second.
    fn rows(vals: &[f64]) -> Vec<Vec<f64>> {
        vals.iter()
            .enumerate()
            .map(|(i, v)| vec![(i + 1) as f64, *v])
            .collect()
    }

    #[test]
    fn pending_then_firing_then_resolved() {
        // Condition seen in the rows at 3 s … 7 s (values above 0).
        let r = rows(&[0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        let f = |hold| firings(Threshold::Above(0.0), hold, Source::Column(1), &r, S, S, 10 * S);
        // No `for`: fires at the first evaluation that sees it.
        assert_eq!(f(0), vec![(3 * S, Some(8 * S))]);
        // Pending since 3 s; at 5 s it has been pending 2 s ≥ `for`.
        assert_eq!(f(2 * S), vec![(5 * S, Some(8 * S))]);
        // Pending 3 s … 7 s is 4 s: a `for` of 5 s never fires.
        assert_eq!(f(4 * S), vec![(7 * S, Some(8 * S))]);
        assert!(f(5 * S).is_empty());
    }

    #[test]
    fn a_false_evaluation_resets_pending() {
        let r = rows(&[1.0, 1.0, 0.0, 1.0, 1.0, 1.0]);
        let f = firings(Threshold::Above(0.5), 2 * S, Source::Column(1), &r, S, S, 6 * S);
        // Pending at 1 s, reset at 3 s, pending again from 4 s: fires at 6 s.
        assert_eq!(f, vec![(6 * S, None)]);
    }

    #[test]
    fn a_coarser_evaluation_interval_sees_the_latest_row() {
        // Evaluated every 3 s: at 3, 6, 9 s it sees the rows of 3, 6, 9 s.
        let r = rows(&[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        let f = firings(
            Threshold::Above(0.0),
            3 * S,
            Source::Column(1),
            &r,
            S,
            3 * S,
            12 * S,
        );
        assert_eq!(f, vec![(9 * S, Some(12 * S))]);
        // Evaluated every 500 ms: at 4.5 s the latest row is that of 4 s.
        let f = firings(Threshold::Above(0.0), 0, Source::Column(1), &r, S, S / 2, 12 * S);
        assert_eq!(f, vec![(5 * S, Some(10 * S))]);
    }

    #[test]
    fn below_and_error_ratio() {
        let cols: Vec<String> = ["t_s", "availability"].iter().map(|s| s.to_string()).collect();
        let src = Source::find(ERROR_RATIO, &cols).unwrap();
        assert_eq!(src, Source::OneMinus(1));
        assert!(Source::find("t_s", &cols).is_none());
        let r = rows(&[1.0, 0.9, 0.995, 0.5]);
        let f = firings(Threshold::Above(0.01), 0, src, &r, S, S, 4 * S);
        assert_eq!(f, vec![(2 * S, Some(3 * S)), (4 * S, None)]);
        let f = firings(Threshold::Below(0.99), 0, Source::Column(1), &r, S, S, 4 * S);
        assert_eq!(f, vec![(2 * S, Some(3 * S)), (4 * S, None)]);
    }

    #[test]
    fn metrics_and_detection() {
        let cols: Vec<String> = ["t_s", "errors"].iter().map(|s| s.to_string()).collect();
        let r = rows(&[0.0, 0.0, 5.0, 5.0, 0.0, 0.0, 5.0, 5.0]);
        let rule = AlertCfg {
            name: "errs".into(),
            metric: "errors".into(),
            threshold: Threshold::Above(0.0),
            hold: S,
            severity: Some("page".into()),
            condition: "errors > 0 for 1s".into(),
        };
        let mut m = crate::model::Metrics::new();
        let logs = evaluate(&[rule], &cols, &r, S, S, 8 * S, &[S / 2, 2 * S + S / 2], &mut m);
        assert_eq!(m["alerts.errs.fired"], 2.0);
        assert_eq!(m["alerts.errs.first_fired_s"], 4.0);
        // Fired at 4 s; the latest fault at or before it started at 2.5 s.
        assert_eq!(m["alerts.errs.detection_s"], 1.5);
        // 4 → 5 s, then 8 s → the end (8 s).
        assert_eq!(m["alerts.errs.firing_s"], 1.0);
        assert_eq!(logs[0].condition, "errors > 0 for 1s");
        assert_eq!(logs[0].episodes.len(), 2);
        assert_eq!(logs[0].episodes[1].resolved_at_s, None);
    }
}

//! SLO verdicts: each objective of the scenario's `slo:` judged against a
//! metric's mean and 95% interval over replications.
//!
//! The rule is a statistical one: **pass** when the whole interval
//! (mean ± half-width) lies on the good side of the target, **fail** when
//! it lies wholly on the bad side, **uncertain** when the target falls
//! inside it (more replications or a longer run would tell). With one
//! replication there is no interval: the verdict is the point estimate's
//! side, and [`SloResult::interval`] is false so that every output says so.
//! A metric the run did not produce is judged **no_data**.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::MetricValue;
use crate::scenario::spec::{Goal, Objective};

/// The verdict on one objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Met: the interval is wholly on the good side.
    Pass,
    /// Missed: the interval is wholly on the bad side.
    Fail,
    /// The target lies inside the interval.
    Uncertain,
    /// The run did not produce the metric.
    NoData,
}

impl Verdict {
    /// The word printed for it.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Uncertain => "UNCERTAIN",
            Verdict::NoData => "NO DATA",
        }
    }
}

/// One objective judged (the `slo` list of report.json and of each sweep point).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SloResult {
    /// Metric name.
    pub metric: String,
    /// `at_most` or `at_least`.
    pub goal: Goal,
    /// The bound, in the metric's unit.
    pub target: f64,
    /// The metric's mean (null without data).
    pub value: Option<f64>,
    /// Its 95% half-width (null with one replication).
    pub ci95: Option<f64>,
    /// Whether the verdict rests on an interval (false with one replication).
    pub interval: bool,
    /// pass, fail, uncertain or no_data.
    pub verdict: Verdict,
}

/// A metric's value by name, with the derived names objectives and
/// headlines may use: `error_ratio` (and `clients.NAME.error_ratio`) is
/// 1 − availability, with the same interval.
pub fn lookup(metrics: &BTreeMap<String, MetricValue>, name: &str) -> Option<MetricValue> {
    if let Some(m) = metrics.get(name) {
        return Some(*m);
    }
    let base = name.strip_suffix("error_ratio")?;
    let a = metrics.get(&format!("{base}availability"))?;
    Some(MetricValue {
        value: 1.0 - a.value,
        ci95: a.ci95,
    })
}

/// Judge each objective against a metric map combined from `replications`.
pub fn judge(
    objectives: &[Objective],
    metrics: &BTreeMap<String, MetricValue>,
    replications: u32,
) -> Vec<SloResult> {
    objectives
        .iter()
        .map(|o| {
            let m = lookup(metrics, &o.metric);
            let interval = replications > 1 && m.and_then(|m| m.ci95).is_some();
            let verdict = match m {
                None => Verdict::NoData,
                Some(m) if !m.value.is_finite() => Verdict::NoData,
                Some(m) => {
                    let h = if interval { m.ci95.unwrap_or(0.0) } else { 0.0 };
                    let (lo, hi) = (m.value - h, m.value + h);
                    let (good, bad) = match o.goal {
                        Goal::AtMost => (hi <= o.target, lo > o.target),
                        Goal::AtLeast => (lo >= o.target, hi < o.target),
                    };
                    if good {
                        Verdict::Pass
                    } else if bad {
                        Verdict::Fail
                    } else {
                        Verdict::Uncertain
                    }
                }
            };
            SloResult {
                metric: o.metric.clone(),
                goal: o.goal,
                target: o.target,
                value: m.map(|m| m.value),
                ci95: if interval { m.and_then(|m| m.ci95) } else { None },
                interval,
                verdict,
            }
        })
        .collect()
}

/// The overall verdict of several: fail if any fails, else uncertain if any
/// is uncertain or has no data, else pass; `None` for no objectives.
pub fn overall(results: &[SloResult]) -> Option<Verdict> {
    if results.is_empty() {
        return None;
    }
    Some(if results.iter().any(|r| r.verdict == Verdict::Fail) {
        Verdict::Fail
    } else if results
        .iter()
        .any(|r| matches!(r.verdict, Verdict::Uncertain | Verdict::NoData))
    {
        Verdict::Uncertain
    } else {
        Verdict::Pass
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: f64, ci: Option<f64>) -> BTreeMap<String, MetricValue> {
        let mut m = BTreeMap::new();
        m.insert("latency.p99_ms".to_string(), MetricValue { value: v, ci95: ci });
        m.insert(
            "availability".to_string(),
            MetricValue {
                value: 0.998,
                ci95: ci.map(|_| 0.0005),
            },
        );
        m
    }

    fn p99(target: f64) -> Objective {
        Objective {
            metric: "latency.p99_ms".into(),
            goal: Goal::AtMost,
            target,
        }
    }

    #[test]
    fn the_interval_decides() {
        let m = map(50.0, Some(5.0));
        assert_eq!(judge(&[p99(60.0)], &m, 5)[0].verdict, Verdict::Pass);
        assert_eq!(judge(&[p99(40.0)], &m, 5)[0].verdict, Verdict::Fail);
        assert_eq!(judge(&[p99(52.0)], &m, 5)[0].verdict, Verdict::Uncertain);
        assert_eq!(judge(&[p99(55.0)], &m, 5)[0].verdict, Verdict::Pass);
    }

    #[test]
    fn one_replication_is_judged_on_the_estimate_and_says_so() {
        let m = map(50.0, None);
        let r = &judge(&[p99(52.0)], &m, 1)[0];
        assert_eq!(r.verdict, Verdict::Pass);
        assert!(!r.interval);
    }

    #[test]
    fn error_ratio_is_one_minus_availability() {
        let m = map(50.0, Some(1.0));
        let o = Objective {
            metric: "error_ratio".into(),
            goal: Goal::AtMost,
            target: 0.001,
        };
        let r = &judge(&[o], &m, 5)[0];
        assert!((r.value.unwrap() - 0.002).abs() < 1e-12);
        assert_eq!(r.verdict, Verdict::Fail);
        let none = Objective {
            metric: "throughput_rps".into(),
            goal: Goal::AtLeast,
            target: 1.0,
        };
        assert_eq!(judge(&[none], &m, 5)[0].verdict, Verdict::NoData);
    }

    #[test]
    fn overall_is_the_worst() {
        let m = map(50.0, Some(5.0));
        let all = judge(&[p99(60.0), p99(52.0)], &m, 5);
        assert_eq!(overall(&all), Some(Verdict::Uncertain));
        let all = judge(&[p99(60.0), p99(10.0), p99(52.0)], &m, 5);
        assert_eq!(overall(&all), Some(Verdict::Fail));
        assert_eq!(overall(&[]), None);
    }
}

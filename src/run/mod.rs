//! Running a scenario: independent replications in parallel (rayon), the
//! warm-up choice for `warmup: auto` (MSER-5 on a pilot run), and the
//! combination of replications into the [`Report`] data (SPEC §3): each
//! metric's mean and 95% interval. What is written from that data (JSON,
//! summary, CSV, charts, pages) is [`crate::report`]'s business.

pub mod points;
pub mod slo;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::rng::replication_seed;
use crate::model::{Config, RunOutput, World};

pub use points::{PointReport, SweepReport};

/// A metric's value and the half-width of its 95% confidence interval over
/// replications (Student t), `None` with one replication.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct MetricValue {
    /// Mean over replications.
    pub value: f64,
    /// 95% half-width, or null.
    pub ci95: Option<f64>,
}

/// `report.json` (SPEC §3, Must).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    /// Version of archsim that wrote it.
    pub archsim_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Seed of replication 0.
    pub seed: u64,
    /// Number of replications.
    pub replications: u32,
    /// Simulated duration in seconds.
    pub duration_s: f64,
    /// Warm-up in seconds.
    pub warmup_s: f64,
    /// The metrics the scenario's question is about (see [`headline_of`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headline: Vec<String>,
    /// Each SLO objective judged against its metric's interval.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slo: Vec<slo::SloResult>,
    /// Metric name → value and interval.
    pub metrics: BTreeMap<String, MetricValue>,
    /// What queueing theory predicts for some of the metrics (`explain`'s
    /// prediction under the same names, see
    /// [`crate::explain::predicted_metrics`]), to show beside them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub theory: BTreeMap<String, f64>,
    /// Findings worth a human's attention (instability, saturation).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Latency distribution of successful requests over all replications:
    /// (latency ms, cumulative fraction) points, for CDF charts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_cdf: Vec<(f64, f64)>,
    /// What each alerting rule did in the first replication: its condition,
    /// detection time and firing episodes (`fired_at_s`, `resolved_at_s`);
    /// the metrics `alerts.NAME.*` average them over replications.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::model::alerts::AlertLog>,
    /// Seed of each replication (equal lists mean paired, common-random-number runs).
    #[serde(default)]
    pub replication_seeds: Vec<u64>,
    /// Each metric's value in each replication (only with 2 or more).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replication_values: BTreeMap<String, Vec<f64>>,
}

/// Run `replications` independent replications (in parallel on rayon's
/// pool; the result does not depend on the thread count) and combine them.
/// With `warmup: auto` a pilot run (replication 0's seed, no warm-up)
/// chooses the warm-up by MSER-5 first.
pub fn run_replications(cfg: &Config, seed: u64, replications: u32) -> (Report, Vec<RunOutput>) {
    run_replications_traced(cfg, seed, replications, None)
}

/// As [`run_replications`], writing the first replication's events to a
/// trace (the trace does not change the run: same numbers, same fingerprint).
pub fn run_replications_traced(
    cfg: &Config,
    seed: u64,
    replications: u32,
    trace: Option<crate::model::trace::TraceCfg>,
) -> (Report, Vec<RunOutput>) {
    let (cfg, note) = resolve_warmup(cfg, seed);
    let outs: Vec<RunOutput> = (0..replications.max(1))
        .into_par_iter()
        .map(|r| {
            // The browser's progress bar: this replication's share of the run.
            let n = f64::from(replications.max(1));
            crate::host::set_span(f64::from(r) / n, 1.0 / n);
            let mut w = World::new(&cfg, replication_seed(seed, r));
            if r == 0
                && let Some(t) = &trace
            {
                match crate::model::trace::Tracer::new(t.clone(), w.names()) {
                    Ok(tr) => w.set_trace(tr),
                    Err(e) => {
                        let mut out = w.run();
                        out.trace = Some(Err(e.to_string()));
                        return out;
                    }
                }
            }
            let mut out = w.run();
            // Only the first replication's time series is shown
            // (timeseries.csv, the charts): the others' are dropped at once,
            // so memory does not grow with replications × rows.
            if r > 0 {
                out.rows = Vec::new();
            }
            out
        })
        .collect();
    let maps: Vec<&crate::model::Metrics> = outs.iter().map(|o| &o.metrics).collect();
    let mut report = combine(&cfg, seed, &maps);
    let mut all = crate::stats::Histogram::new();
    for o in &outs {
        all.add(&o.latency);
    }
    report.latency_cdf = all
        .cdf_points(200)
        .into_iter()
        .map(|(ns, f)| (ns as f64 / 1e6, f))
        .collect();
    report.notes = merge_notes(outs.iter().map(|o| &o.notes));
    report.alerts = outs.first().map(|o| o.alerts.clone()).unwrap_or_default();
    if let Some(n) = note {
        report.notes.push(n);
    }
    (report, outs)
}

/// For `warmup: auto`, the configuration with the warm-up MSER-5 chose
/// from a pilot run's per-interval mean latency, and a note saying so.
pub fn resolve_warmup(cfg: &Config, seed: u64) -> (Config, Option<String>) {
    let mut cfg = cfg.clone();
    if !cfg.auto_warmup {
        return (cfg, None);
    }
    cfg.auto_warmup = false;
    cfg.warmup = 0;
    let pilot = World::new(&cfg, replication_seed(seed, 0)).run();
    let col = pilot
        .columns
        .iter()
        .position(|c| c == "latency_mean_ms")
        .unwrap_or(2);
    let mut last = 0.0;
    let series: Vec<f64> = pilot
        .rows
        .iter()
        .map(|r| {
            // An interval with no completion repeats the previous mean.
            if r[col] > 0.0 {
                last = r[col];
            }
            last
        })
        .collect();
    let cut = crate::stats::mser5(&series) as u64;
    cfg.warmup = (cut * cfg.interval).min(cfg.duration / 2);
    let note = format!(
        "warm-up chosen by MSER-5: {} (the first {cut} of {} intervals of mean latency deleted)",
        crate::scenario::units::Duration::from_nanos(cfg.warmup),
        series.len()
    );
    (cfg, Some(note))
}

/// Combine replications' metric maps into a report: the mean of each metric
/// with its Student-t 95% half-width; simulation counters are summed and
/// fingerprints folded. Per-replication values are kept when there is more
/// than one replication (for paired comparisons).
pub fn combine(cfg: &Config, seed: u64, reps: &[&crate::model::Metrics]) -> Report {
    let metrics = combine_metrics(reps);
    let replication_values = replication_values(reps);
    Report {
        archsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: cfg.name.clone(),
        seed,
        replications: reps.len() as u32,
        duration_s: crate::engine::secs(cfg.duration),
        warmup_s: crate::engine::secs(cfg.warmup),
        headline: Vec::new(),
        slo: Vec::new(),
        metrics,
        theory: BTreeMap::new(),
        notes: Vec::new(),
        latency_cdf: Vec::new(),
        alerts: Vec::new(),
        replication_seeds: (0..reps.len() as u32)
            .map(|r| replication_seed(seed, r))
            .collect(),
        replication_values,
    }
}

/// Each metric's value in each replication, for metrics every replication
/// has (`sim.*` left out); empty with a single replication.
pub fn replication_values(reps: &[&crate::model::Metrics]) -> BTreeMap<String, Vec<f64>> {
    let mut out = BTreeMap::new();
    if reps.len() > 1 {
        for k in reps[0].keys().filter(|k| !k.starts_with("sim.")) {
            let all: Option<Vec<f64>> = reps.iter().map(|m| m.get(k).copied()).collect();
            if let Some(all) = all {
                out.insert(k.clone(), all);
            }
        }
    }
    out
}

/// The notes of several replications, each once, in first-seen order.
/// Notes that differ only in their figures (a utilisation, a time) are one
/// note, shown as the first replication that had it wrote it; with more than
/// one replication each says in how many it appeared, e.g. `… (in 3 of 5
/// replications)`, so a finding seen once is not taken for the rule.
pub fn merge_notes<'a>(lists: impl IntoIterator<Item = &'a Vec<String>>) -> Vec<String> {
    let lists: Vec<&Vec<String>> = lists.into_iter().collect();
    // (shape, first text, replications with it, texts differ)
    let mut groups: Vec<(String, String, usize, bool)> = Vec::new();
    for list in &lists {
        let mut seen: Vec<usize> = Vec::new();
        for n in list.iter() {
            let shape = note_shape(n);
            let i = match groups.iter().position(|g| g.0 == shape) {
                Some(i) => i,
                None => {
                    groups.push((shape, n.clone(), 0, false));
                    groups.len() - 1
                }
            };
            if !seen.contains(&i) {
                seen.push(i);
                groups[i].2 += 1;
                if groups[i].1 != *n {
                    groups[i].3 = true;
                }
            }
        }
    }
    let n = lists.len();
    groups
        .into_iter()
        .map(|(_, text, k, differ)| {
            if n <= 1 {
                text
            } else if differ {
                format!("{text} (in {k} of {n} replications; figures from the first that had it)")
            } else {
                format!("{text} (in {k} of {n} replications)")
            }
        })
        .collect()
}

/// A note with its figures blanked: what makes two replications' notes the
/// same finding.
fn note_shape(n: &str) -> String {
    let mut out = String::with_capacity(n.len());
    // In a number (blanked), in an index such as `shard[0]` (kept).
    let (mut in_num, mut in_index) = (false, false);
    let mut prev = ' ';
    for c in n.chars() {
        if c.is_ascii_digit() && (prev == '[' || in_index) {
            in_index = true;
            out.push(c);
        } else if c.is_ascii_digit() || (in_num && c == '.') {
            if !in_num {
                out.push('#');
            }
            in_num = true;
        } else {
            in_num = false;
            in_index = false;
            out.push(c);
        }
        prev = c;
    }
    out
}

/// The metric table of several replications (see [`combine`]).
pub fn combine_metrics(reps: &[&crate::model::Metrics]) -> BTreeMap<String, MetricValue> {
    let mut keys: Vec<&String> = reps.iter().flat_map(|m| m.keys()).collect();
    keys.sort();
    keys.dedup();
    let vals = |k: &str| -> Vec<f64> { reps.iter().filter_map(|m| m.get(k).copied()).collect() };
    let sum = |k: &str| vals(k).iter().sum::<f64>();
    let exact = |value: f64| MetricValue { value, ci95: None };
    let mut metrics = BTreeMap::new();
    for k in keys {
        let mv = match k.as_str() {
            "sim.events" | "sim.wall_s" => exact(sum(k)),
            "sim.events_per_s" => {
                let wall = sum("sim.wall_s");
                exact(if wall > 0.0 { sum("sim.events") / wall } else { 0.0 })
            }
            "sim.fingerprint" => {
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for v in vals(k) {
                    h = (h ^ v as u64).wrapping_mul(0x0000_0100_0000_01b3);
                }
                exact(if reps.len() == 1 {
                    vals(k)[0]
                } else {
                    (h >> 16) as f64
                })
            }
            "sim.unstable" => exact(vals(k).into_iter().fold(0.0, f64::max)),
            _ => {
                let (value, ci95) = crate::stats::mean_ci95(&vals(k));
                MetricValue { value, ci95 }
            }
        };
        metrics.insert(k.clone(), mv);
    }
    metrics
}

/// What leads when a scenario names no headline metrics (and its sweep
/// plots none): the tail and mean latency, throughput and availability.
pub const DEFAULT_HEADLINE: [&str; 4] = [
    "latency.p99_ms",
    "latency.mean_ms",
    "throughput_rps",
    "availability",
];

/// A scenario's headline metrics: its `headline:` list, else its sweep's
/// `plot.y`, else [`DEFAULT_HEADLINE`].
pub fn headline_of(sc: &crate::scenario::Scenario) -> Vec<String> {
    if !sc.headline.is_empty() {
        return sc.headline.clone();
    }
    if let Some(y) = sc.sweep.as_ref().and_then(|s| s.plot.as_ref()).map(|p| &p.y)
        && !y.is_empty()
    {
        return y.clone();
    }
    DEFAULT_HEADLINE.iter().map(|s| s.to_string()).collect()
}

/// A scenario's SLO objectives judged against a metric map.
pub fn judge_slo(
    sc: &crate::scenario::Scenario,
    metrics: &BTreeMap<String, MetricValue>,
    replications: u32,
) -> Vec<slo::SloResult> {
    let objectives = sc.slo.as_ref().map(|s| s.objectives()).unwrap_or_default();
    slo::judge(&objectives, metrics, replications)
}

impl Report {
    /// Attach what answers the scenario's question: its headline metrics
    /// and its SLO verdicts.
    pub fn answer(&mut self, sc: &crate::scenario::Scenario, cfg: &Config) {
        self.headline = headline_of(sc);
        self.slo = judge_slo(sc, &self.metrics, self.replications);
        self.theory = crate::explain::predicted_metrics(&crate::explain::predict(sc, cfg));
    }

    /// A metric's value, if present.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).map(|m| m.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_merged_across_replications_and_counted() {
        let a = vec![
            "UNSTABLE: db.shard[0] primary is saturated (utilization 100.0%)".to_string(),
            "warm note".to_string(),
        ];
        let b = vec!["UNSTABLE: db.shard[0] primary is saturated (utilization 99.7%)".to_string()];
        let c = vec!["UNSTABLE: db.shard[1] primary is saturated (utilization 99.7%)".to_string()];
        let m = merge_notes([&a, &b, &c]);
        assert_eq!(
            m,
            vec![
                "UNSTABLE: db.shard[0] primary is saturated (utilization 100.0%) \
                 (in 2 of 3 replications; figures from the first that had it)",
                "warm note (in 1 of 3 replications)",
                "UNSTABLE: db.shard[1] primary is saturated (utilization 99.7%) (in 1 of 3 replications)",
            ]
        );
        // One replication: the notes as written.
        assert_eq!(merge_notes([&a]), a);
    }
}

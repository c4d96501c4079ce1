//! Run results: replications combined into the report (SPEC §3), the
//! summary table, `timeseries.csv`, and atomic file output.

pub mod summary;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::engine::rng::replication_seed;
use crate::model::{Config, RunOutput, World};

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
    /// Metric name → value and interval.
    pub metrics: BTreeMap<String, MetricValue>,
    /// Findings worth a human's attention (instability, saturation).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Metrics that describe the simulation itself, combined by sum or hash
/// rather than averaged.
const WALL_CLOCK: &[&str] = &["sim.wall_s", "sim.events_per_s"];

/// Run `replications` independent replications (in parallel on rayon's
/// pool; the result does not depend on the thread count) and combine them.
pub fn run_replications(cfg: &Config, seed: u64, replications: u32) -> (Report, Vec<RunOutput>) {
    let outs: Vec<RunOutput> = (0..replications.max(1))
        .into_par_iter()
        .map(|r| World::new(cfg, replication_seed(seed, r)).run())
        .collect();
    (combine(cfg, seed, &outs), outs)
}

/// Combine replications into a report: the mean of each metric with its
/// Student-t 95% half-width.
pub fn combine(cfg: &Config, seed: u64, outs: &[RunOutput]) -> Report {
    let mut keys: Vec<&String> = outs.iter().flat_map(|o| o.metrics.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut metrics = BTreeMap::new();
    for k in keys {
        let mv = match k.as_str() {
            "sim.events" => MetricValue {
                value: outs.iter().map(|o| o.events as f64).sum(),
                ci95: None,
            },
            "sim.wall_s" => MetricValue {
                value: outs.iter().map(|o| o.wall_s).sum(),
                ci95: None,
            },
            "sim.events_per_s" => {
                let wall: f64 = outs.iter().map(|o| o.wall_s).sum();
                let ev: f64 = outs.iter().map(|o| o.events as f64).sum();
                MetricValue {
                    value: if wall > 0.0 { ev / wall } else { 0.0 },
                    ci95: None,
                }
            }
            "sim.fingerprint" => {
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for o in outs {
                    h = (h ^ o.fingerprint).wrapping_mul(0x0000_0100_0000_01b3);
                }
                MetricValue {
                    value: (h >> 16) as f64,
                    ci95: None,
                }
            }
            "sim.unstable" => MetricValue {
                value: outs
                    .iter()
                    .filter_map(|o| o.metrics.get(k))
                    .fold(0.0, |a, b| a.max(*b)),
                ci95: None,
            },
            _ => {
                let xs: Vec<f64> = outs.iter().filter_map(|o| o.metrics.get(k).copied()).collect();
                let (value, ci95) = crate::stats::mean_ci95(&xs);
                MetricValue { value, ci95 }
            }
        };
        metrics.insert(k.clone(), mv);
    }
    let mut notes: Vec<String> = Vec::new();
    for o in outs {
        for n in &o.notes {
            if !notes.contains(n) {
                notes.push(n.clone());
            }
        }
    }
    Report {
        archsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: cfg.name.clone(),
        seed,
        replications: outs.len() as u32,
        duration_s: crate::engine::secs(cfg.duration),
        warmup_s: crate::engine::secs(cfg.warmup),
        metrics,
        notes,
    }
}

impl Report {
    /// The report as pretty JSON (the `report.json` document).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The same JSON with the wall-clock values zeroed: what must be equal
    /// byte for byte between two runs of the same scenario and seed.
    pub fn to_json_without_wall_clock(&self) -> String {
        let mut r = self.clone();
        for k in WALL_CLOCK {
            if let Some(m) = r.metrics.get_mut(*k) {
                m.value = 0.0;
            }
        }
        r.to_json()
    }

    /// A metric's value, if present.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).map(|m| m.value)
    }
}

/// `timeseries.csv` for one replication.
pub fn timeseries_csv(out: &RunOutput) -> String {
    let mut s = out.columns.join(",");
    s.push('\n');
    for row in &out.rows {
        let cells: Vec<String> = row.iter().map(|v| fmt_csv(*v)).collect();
        s.push_str(&cells.join(","));
        s.push('\n');
    }
    s
}

fn fmt_csv(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.6}")
    }
}

/// Write a file atomically: a temporary file in the same folder, then a
/// rename, so a reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Write the run folder: report.json, summary.txt, timeseries.csv.
pub fn write_run_folder(
    dir: &Path,
    report: &Report,
    summary: &str,
    first: &RunOutput,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_atomic(&dir.join("report.json"), report.to_json().as_bytes())?;
    write_atomic(&dir.join("summary.txt"), summary.as_bytes())?;
    write_atomic(&dir.join("timeseries.csv"), timeseries_csv(first).as_bytes())?;
    Ok(())
}

//! Output from a run's data (SPEC §3): `report.json`, the summary table,
//! `timeseries.csv`, charts and pages, and atomic file output. Nothing here
//! runs a simulation: the data comes from [`crate::run`].

pub mod answers;
pub mod breakdown;
pub mod charts;
pub mod html;
pub mod metrics;
pub mod plot;
pub mod provenance;
pub mod summary;
pub mod topology;

use std::path::Path;

use serde_json::Value;

use crate::model::RunOutput;
use crate::run::{Report, SweepReport};

/// Wall-clock metrics: what differs between two runs of the same scenario
/// and seed.
const WALL_CLOCK: &[&str] = &["sim.wall_s", "sim.events_per_s"];

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
}

impl SweepReport {
    /// As JSON text.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// A sweep parameter's value as a short label for tables, charts, CSV and
/// file names: strings unquoted, maps as words (`{ consistent_hash: {
/// vnodes: 100 } }` reads `consistent_hash vnodes=100`, `{ exponential:
/// 10ms }` reads `exponential=10ms`).
pub fn value_label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::Object(_) => format!("{k} {}", value_label(v)),
                other => format!("{k}={}", value_label(other)),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Array(a) => a.iter().map(value_label).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// CSV text written record by record with the csv crate: a field is quoted
/// only when it must be (it holds a comma, a quote, `\r` or `\n`, or it is
/// a record's only field and empty), quotes inside doubled, `\n` after each
/// record. Fields that need no quoting come out exactly as given.
pub(crate) struct CsvText(csv::Writer<Vec<u8>>);

impl Default for CsvText {
    fn default() -> Self {
        CsvText(csv::WriterBuilder::new().flexible(true).from_writer(Vec::new()))
    }
}

impl CsvText {
    /// Append one record.
    pub(crate) fn record<I, T>(&mut self, fields: I)
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        // Writing to memory cannot fail, and `flexible` accepts records of
        // any length.
        let _ = self.0.write_record(fields);
    }

    /// The text written.
    pub(crate) fn finish(self) -> String {
        let bytes = self.0.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// `timeseries.csv` for one replication: a header of the column names (`t_s`
/// and metric columns named after components and clients), then one row
/// per interval.
pub fn timeseries_csv(out: &RunOutput) -> String {
    let mut w = CsvText::default();
    w.record(&out.columns);
    for row in &out.rows {
        w.record(row.iter().map(|v| fmt_csv(*v)));
    }
    w.finish()
}

fn fmt_csv(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.6}")
    }
}

/// Write a file atomically (see [`crate::files::write_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::files::write_atomic(path, bytes)
}

/// The files of a run folder, by name: report.json, summary.txt,
/// timeseries.csv. Charts and index.html are added by the caller, and the
/// whole set is written through a [`crate::files::Stage`].
pub fn run_folder_files(report: &Report, summary: &str, first: &RunOutput) -> Vec<(String, Vec<u8>)> {
    vec![
        ("report.json".into(), report.to_json().into_bytes()),
        ("summary.txt".into(), summary.as_bytes().to_vec()),
        ("timeseries.csv".into(), timeseries_csv(first).into_bytes()),
    ]
}

/// A run page's charts in page order: the topology (the system they are
/// about), where the time goes (it answers "which tier do I scale?"),
/// then the time series and the latency distribution after the warm-up.
pub fn run_page_charts(
    rep: &Report,
    first: &RunOutput,
    scenario: &crate::scenario::Scenario,
    cfg: &crate::model::Config,
) -> Vec<plot::ChartFile> {
    let mut charts = charts::run_charts_after_warmup(
        &first.columns,
        &first.rows,
        &rep.latency_cdf,
        &first.annotations,
        rep.warmup_s,
    );
    if let Some(c) = breakdown::chart(rep) {
        charts.insert(0, c);
    }
    let graph = crate::explain::predict(scenario, cfg).graph;
    let title = topology::title(None);
    charts.insert(0, topology::chart(&graph, &title, topology::FILE));
    charts
}

/// Four significant figures, plain notation between 1e-4 and 1e9 (tables
/// and chart labels share it).
pub fn fmt4(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-4..1e9).contains(&a) {
        return format!("{v:.3e}");
    }
    // The exponent after rounding to 4 figures (9.9996 → 1.000e1).
    let sci = format!("{a:.3e}");
    let exp: i32 = sci.rsplit('e').next().and_then(|e| e.parse().ok()).unwrap_or(0);
    let decimals = (3 - exp).max(0) as usize;
    format!("{v:.decimals$}")
}

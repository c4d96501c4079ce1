//! `archsim compare`: two or more `report.json` or `sweep.json` side by side
//! (SPEC §1, issue 3 item 6).
//!
//! Every metric present in all inputs gets a row: each input's value (± its
//! 95% half-width), then, for each input after the first, the absolute and
//! relative difference from the first and whether that difference is
//! significant at 95%:
//!
//! - **paired**: both sides ran the same seeds per replication (common random
//!   numbers) and kept per-replication values: a 95% interval on the mean of
//!   the paired differences; significant when it excludes 0. Far tighter than
//!   an unpaired test, because the shared randomness cancels.
//! - **welch**: both sides have 2 or more replications but cannot be paired:
//!   Welch's t-test (standard deviations from the per-replication values, or
//!   reconstructed from the half-width when those are missing:
//!   s = ci95·√n / t₀.₉₇₅,ₙ₋₁); significant when p < 0.05.
//! - **n/a**: a side has a single replication: no estimate of the noise.
//!
//! Sweeps are compared point by point (points matched by identical
//! parameters); points missing from some input are listed as unmatched.
//!
//! The text, Markdown and page answer first: **what differs in the
//! configurations** (each input's `scenario.resolved.yaml`, flattened to
//! dotted paths, and the seeds, durations and replications of the
//! results), then the **headline metrics** (the union of the inputs'
//! `headline` lists) with each input's SLO verdicts, then the
//! **significant differences**, largest relative change first, then **the
//! rest**, grouped: the runs' own metrics (throughput, availability,
//! latency, requests), then per client, per component, the breakdown, the
//! others; never plain alphabetical.
//!
//! Each metric has a direction (higher or lower is better, or neutral), so a
//! significant change reads as better or worse: green or red on a terminal,
//! the words "yes, better" / "yes, worse" otherwise.

pub mod charts;
pub mod page;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use crate::files::OutputError;
use crate::report::{fmt4, value_label};
use crate::run::{MetricValue, PointReport, Report, SweepReport};

/// What can go wrong in a comparison, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// Bad input: a missing or unreadable input, not a report or sweep,
    /// a refused output folder (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// Files could not be written (exit 1).
    #[error("{0}")]
    Io(String),
}

impl CompareError {
    /// The process exit code (SPEC §1).
    pub fn exit_code(&self) -> i32 {
        match self {
            CompareError::BadInput(_) => 2,
            CompareError::Io(_) => 1,
        }
    }

    /// An output-folder error as a comparison error (same exit code).
    pub fn from_output(e: &OutputError) -> CompareError {
        match e {
            OutputError::Refused(_) => CompareError::BadInput(e.to_string()),
            _ => CompareError::Io(e.to_string()),
        }
    }
}

/// Output format of `compare`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum CompareFormat {
    /// Aligned text table (coloured on a terminal).
    Text,
    /// GitHub-flavoured Markdown table.
    Markdown,
    /// JSON document.
    Json,
}

/// Metrics that say nothing about the system simulated (wall clock, event
/// counts, the trajectory hash): never compared.
const SKIPPED: &[&str] = &["sim.wall_s", "sim.events_per_s", "sim.fingerprint", "sim.events"];

/// Whether a larger value of a metric is an improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// More is better (throughput, availability, hit ratio, completions).
    Higher,
    /// Less is better (latency, waiting, queues, errors, cost, losses).
    Lower,
    /// Neither (utilisation, offered load, replica counts…).
    Neutral,
}

/// Which significance test a comparison used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Test {
    /// Paired-difference interval over common-random-number replications.
    #[serde(rename = "paired")]
    Paired,
    /// Welch's unequal-variance t-test.
    #[serde(rename = "welch")]
    Welch,
    /// No test possible (a side has one replication, or no spread).
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl Test {
    fn name(self) -> &'static str {
        match self {
            Test::Paired => "paired",
            Test::Welch => "welch",
            Test::NotApplicable => "n/a",
        }
    }
}

/// The direction of a metric by its name. Per-component and per-client
/// metrics (`components.NAME.…`, `clients.NAME.…`) are classified by what
/// follows the name, so a component called `queue` or `waiter` does not
/// change how its throughput reads.
pub fn direction(metric: &str) -> Direction {
    let rest = match metric.split_once('.') {
        Some(("components" | "clients", tail)) => tail.split_once('.').map_or(tail, |(_, r)| r),
        _ => metric,
    };
    let ends = |suffix: &str| rest == suffix || rest.ends_with(&format!(".{suffix}"));
    if ends("error_ratio") {
        return Direction::Lower;
    }
    if ends("throughput_rps")
        || ends("availability")
        || rest.ends_with("hit_ratio")
        || ends("requests.completed")
    {
        return Direction::Higher;
    }
    let starts_latency = rest.starts_with("latency.") || rest.contains(".latency.");
    // Besides the names of the contract: time in system (`sojourn`,
    // `end_to_end`) and replication lag are latencies too.
    let lower_words = [
        "wait",
        "queue",
        "stale_reads",
        "lost",
        "duplicate",
        "sojourn",
        "end_to_end",
        "replication_lag",
    ];
    if starts_latency
        || lower_words.iter().any(|w| rest.contains(w))
        || ends("requests.failed")
        || ends("requests.rejected")
        || ends("requests.timed_out")
        || ends("rejected")
        || ends("errors")
        || rest.starts_with("cost.")
    {
        return Direction::Lower;
    }
    Direction::Neutral
}

/// One side of a comparison: a report, or one point of a sweep.
#[derive(Clone, Copy)]
struct Side<'a> {
    replications: u32,
    metrics: &'a BTreeMap<String, MetricValue>,
    seeds: &'a [u64],
    values: &'a BTreeMap<String, Vec<f64>>,
}

impl<'a> Side<'a> {
    fn of_report(r: &'a Report) -> Self {
        Side {
            replications: r.replications,
            metrics: &r.metrics,
            seeds: &r.replication_seeds,
            values: &r.replication_values,
        }
    }

    fn of_point(p: &'a PointReport) -> Self {
        Side {
            replications: p.replications,
            metrics: &p.metrics,
            seeds: &p.replication_seeds,
            values: &p.replication_values,
        }
    }

    /// The per-replication values of a metric, if kept and complete.
    fn samples(&self, metric: &str) -> Option<&'a [f64]> {
        self.values
            .get(metric)
            .map(Vec::as_slice)
            .filter(|v| v.len() >= 2 && v.len() == self.replications as usize)
    }

    /// (mean, standard deviation, n) of a metric: from the per-replication
    /// values when kept, else reconstructed from the 95% half-width.
    fn summary(&self, metric: &str) -> Option<(f64, f64, f64)> {
        if let Some(xs) = self.samples(metric) {
            let n = xs.len() as f64;
            let mean = xs.iter().sum::<f64>() / n;
            let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
            return Some((mean, var.sqrt(), n));
        }
        let mv = self.metrics.get(metric)?;
        summary_from_ci(mv.value, mv.ci95?, self.replications)
    }
}

/// (mean, s, n) from a mean and its Student-t 95% half-width over `n`
/// replications: s = ci95·√n / t₀.₉₇₅,ₙ₋₁. None with fewer than 2.
fn summary_from_ci(mean: f64, ci95: f64, n: u32) -> Option<(f64, f64, f64)> {
    if n < 2 || !ci95.is_finite() || !mean.is_finite() {
        return None;
    }
    let nf = f64::from(n);
    let t = crate::stats::student_t_quantile(0.975, nf - 1.0);
    Some((mean, ci95 * nf.sqrt() / t, nf))
}

/// Welch's two-sided p-value from summary statistics (mean, s, n) of each
/// side; the same degenerate limit as [`crate::stats::welch_p_value`] when
/// neither side varies.
fn welch_from_summary(a: (f64, f64, f64), b: (f64, f64, f64)) -> Option<f64> {
    let ((ma, sa, na), (mb, sb, nb)) = (a, b);
    if na < 2.0 || nb < 2.0 || ![ma, sa, mb, sb].iter().all(|x| x.is_finite()) {
        return None;
    }
    let va = sa * sa / na;
    let vb = sb * sb / nb;
    let se2 = va + vb;
    let diff = ma - mb;
    if se2 == 0.0 {
        return Some(if diff == 0.0 { 1.0 } else { 0.0 });
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    Some((2.0 * crate::stats::student_t_cdf(-t.abs(), df)).clamp(0.0, 1.0))
}

/// Is `b` significantly different from `a` on `metric`, and by which test.
fn significance(a: &Side, b: &Side, metric: &str) -> (Option<bool>, Test) {
    if a.replications < 2 || b.replications < 2 {
        return (None, Test::NotApplicable);
    }
    let same_seeds = !a.seeds.is_empty() && a.seeds == b.seeds && a.seeds.len() == a.replications as usize;
    if same_seeds
        && let (Some(xa), Some(xb)) = (a.samples(metric), b.samples(metric))
        && let Some((mean, half)) = crate::stats::paired_diff_ci95(xa, xb)
    {
        return (Some(mean.abs() > half), Test::Paired);
    }
    let p = match (a.samples(metric), b.samples(metric)) {
        (Some(xa), Some(xb)) => crate::stats::welch_p_value(xa, xb),
        _ => match (a.summary(metric), b.summary(metric)) {
            (Some(sa), Some(sb)) => welch_from_summary(sa, sb),
            _ => None,
        },
    };
    match p {
        Some(p) => (Some(p < 0.05), Test::Welch),
        None => (None, Test::NotApplicable),
    }
}

/// One row of the comparison (the `rows` of the JSON document).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The sweep point's parameters, or null for reports.
    pub point: Option<IndexMap<String, Value>>,
    /// Metric name.
    pub metric: String,
    /// Each input's value.
    pub values: Vec<f64>,
    /// Each input's 95% half-width (null with one replication).
    pub ci95: Vec<Option<f64>>,
    /// For each input after the first: its value minus the first's.
    pub diff: Vec<f64>,
    /// For each input after the first: the difference in percent of the
    /// first's value (null when that is 0 and the other is not).
    pub rel_diff: Vec<Option<f64>>,
    /// For each input after the first: significant at 95% (null: no test).
    pub significant: Vec<Option<bool>>,
    /// The test of the first comparison (second input vs first).
    pub test: Test,
    /// The test of each comparison (inputs after the first vs the first).
    pub tests: Vec<Test>,
    /// Whether higher or lower is better.
    pub direction: Direction,
}

impl Row {
    /// Comparison `i` (input i+1 vs input 0) as better (+1), worse (−1) or
    /// neither (0); only a significant change of a directed metric counts.
    fn verdict(&self, i: usize) -> i8 {
        if self.significant[i] != Some(true) || self.diff[i] == 0.0 {
            return 0;
        }
        let up = self.diff[i] > 0.0;
        match self.direction {
            Direction::Higher if up => 1,
            Direction::Lower if !up => 1,
            Direction::Neutral => 0,
            _ => -1,
        }
    }
}

/// A point present in some inputs but not all.
#[derive(Clone, Debug, Serialize)]
pub struct Unmatched {
    /// Its parameters.
    pub point: IndexMap<String, Value>,
    /// The inputs that have it.
    pub present_in: Vec<String>,
}

/// The whole comparison (the JSON document).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Comparison {
    /// The inputs, as given.
    pub inputs: Vec<String>,
    /// "reports" or "sweeps".
    pub kind: &'static str,
    /// What differs in the inputs' configurations.
    pub configuration: Configuration,
    /// The headline metrics: the union of the inputs' `headline` lists, in
    /// order (the default list for inputs that have none).
    pub headline: Vec<String>,
    /// The headline metrics' rows, per point (for sweeps) in headline
    /// order; derived metrics such as `error_ratio` included.
    pub headline_rows: Vec<Row>,
    /// Each SLO objective with each input's verdict.
    pub slo: Vec<SloRow>,
    /// One row per (point, metric), points in the first input's order,
    /// metrics sorted by name.
    pub rows: Vec<Row>,
    /// Points missing from some input.
    pub unmatched: Vec<Unmatched>,
    /// Each input's scenario name (the page's subtitle).
    #[serde(skip)]
    pub scenarios: Vec<String>,
    /// The description of the first input's scenario that has one, from
    /// its resolved scenario: its question is the page's title.
    #[serde(skip)]
    pub description: String,
}

/// What differs between the inputs' configurations.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Configuration {
    /// Each differing dotted path (`components.api.replicas`) with each
    /// input's value (null: the input lacks the path, or its configuration
    /// is unknown), in file order; `seed`, `duration` and `replications`
    /// come from the results themselves.
    pub differences: Vec<ConfigDiff>,
    /// Inputs with no `scenario.resolved.yaml` beside their results (written
    /// by an older archsim): only their seed, duration and replications
    /// are known.
    pub unknown: Vec<String>,
}

/// One differing path.
#[derive(Clone, Debug, Serialize)]
pub struct ConfigDiff {
    /// Dotted path into the scenario (or `seed`, `duration`, `replications`).
    pub path: String,
    /// Each input's value.
    pub values: Vec<Option<String>>,
}

/// One SLO objective judged for each input.
#[derive(Clone, Debug, Serialize)]
pub struct SloRow {
    /// The sweep point, or null for reports.
    pub point: Option<IndexMap<String, Value>>,
    /// The objective: `latency.p99_ms ≤ 100 ms`.
    pub objective: String,
    /// Each input's verdict (null: the input has no such objective).
    pub verdicts: Vec<Option<crate::run::slo::Verdict>>,
    /// Each input's measured value (`61.2 ms ±3.1 ms`).
    pub measured: Vec<Option<String>>,
}

enum Loaded {
    Report(Box<Report>),
    Sweep(SweepReport),
}

fn bad(path: &Path, what: impl std::fmt::Display) -> CompareError {
    CompareError::BadInput(format!("error: {}: {what}", path.display()))
}

/// Read one input: a report.json, a sweep.json, or a folder holding one
/// (report.json preferred). The kind is told by content.
fn load(path: &Path) -> Result<Loaded, CompareError> {
    let file = if path.is_dir() {
        let r = path.join("report.json");
        let s = path.join("sweep.json");
        if r.is_file() {
            r
        } else if s.is_file() {
            s
        } else {
            return Err(bad(path, "no report.json or sweep.json in this folder"));
        }
    } else {
        path.to_path_buf()
    };
    let bytes = crate::files::read_limited(&file, crate::files::MAX_RESULT_FILE).map_err(|e| {
        if e.not_found() {
            bad(&file, "no such file")
        } else {
            bad(&file, format!("cannot read: {e}"))
        }
    })?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| bad(&file, format!("not JSON: {e}")))?;
    if v.get("points").is_some() {
        serde_json::from_value(v)
            .map(Loaded::Sweep)
            .map_err(|e| bad(&file, format!("not a valid sweep.json: {e}")))
    } else if v.get("metrics").is_some() {
        serde_json::from_value(v)
            .map(|r| Loaded::Report(Box::new(r)))
            .map_err(|e| bad(&file, format!("not a valid report.json: {e}")))
    } else {
        Err(bad(
            &file,
            "neither a report.json (no `metrics`) nor a sweep.json (no `points`)",
        ))
    }
}

/// Write a comparison folder: the table as Markdown, charts (latency CDFs
/// overlaid and headline bars, for report inputs) and a self-contained
/// index.html.
pub fn write_folder(paths: &[PathBuf], dir: &Path, png: bool, force: bool) -> Result<(), CompareError> {
    let folder = crate::files::Folder::claim(dir, crate::files::Kind::Compare, "compare", force, "--out")
        .map_err(|e| CompareError::from_output(&e))?;
    let comparison = compare(paths)?;
    let markdown = render_markdown(&comparison);
    let mut reports = Vec::new();
    for p in paths {
        if let Loaded::Report(r) = load(p)? {
            reports.push(*r);
        }
    }
    let names: Vec<String> = (0..paths.len()).map(|i| chart_name(&comparison, i)).collect();
    let mut charts = crate::report::topology::of_run_folders(paths, &names);
    if reports.len() == paths.len() {
        let refs: Vec<&Report> = reports.iter().collect();
        charts.extend(charts::compare_charts(&names, &refs));
    }
    let out = |e: crate::files::OutputError| CompareError::from_output(&e);
    let mut stage = folder.stage().map_err(out)?;
    let files = crate::report::plot::chart_files(&charts, png)
        .map_err(|e| CompareError::Io(format!("error: cannot draw the charts: {e}")))?;
    for (name, bytes) in &files {
        stage.write(name, bytes).map_err(out)?;
    }
    let page = page::compare_page(&comparison, &charts);
    stage.write("index.html", page.as_bytes()).map_err(out)?;
    stage.write("compare.md", markdown.as_bytes()).map_err(out)?;
    stage.commit(&[]).map_err(out)
}

/// Most differing settings an input's name on the charts lists.
const CHART_NAME_SETTINGS: usize = 3;

/// An input's name on the charts: what sets it apart (`components.api.replicas=4`)
/// when a few settings differ, else its path.
fn chart_name(c: &Comparison, i: usize) -> String {
    let d = &c.configuration.differences;
    if d.is_empty() || d.len() > CHART_NAME_SETTINGS {
        return c.inputs[i].clone();
    }
    d.iter()
        .map(|diff| {
            let v = diff.values.get(i).cloned().flatten();
            format!("{}={}", diff.path, config_value(c, i, &v))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows comparing the sides of one report or point: every metric all of
/// them have, by name.
fn rows_for(point: Option<&IndexMap<String, Value>>, sides: &[Side]) -> Vec<Row> {
    let first = sides[0];
    first
        .metrics
        .keys()
        .filter(|k| !SKIPPED.contains(&k.as_str()) && sides[1..].iter().all(|s| s.metrics.contains_key(*k)))
        .filter_map(|name| row_for(point, name, sides))
        .collect()
}

/// The row of one metric, if every side has it (derived names such as
/// `error_ratio`, 1 − availability, are judged on the metric they derive
/// from).
fn row_for(point: Option<&IndexMap<String, Value>>, name: &str, sides: &[Side]) -> Option<Row> {
    let mvs: Vec<MetricValue> = sides
        .iter()
        .map(|s| crate::run::slo::lookup(s.metrics, name))
        .collect::<Option<_>>()?;
    // The metric the significance test reads: the name itself, or the
    // availability an error ratio derives from.
    let tested = if sides.iter().all(|s| s.metrics.contains_key(name)) {
        name.to_string()
    } else {
        format!("{}availability", name.strip_suffix("error_ratio").unwrap_or(name))
    };
    let first = sides[0];
    let a = mvs[0].value;
    let mut row = Row {
        point: point.cloned(),
        metric: name.to_string(),
        values: mvs.iter().map(|m| m.value).collect(),
        ci95: mvs.iter().map(|m| m.ci95).collect(),
        diff: Vec::new(),
        rel_diff: Vec::new(),
        significant: Vec::new(),
        test: Test::NotApplicable,
        tests: Vec::new(),
        direction: direction(name),
    };
    for (s, mv) in sides[1..].iter().zip(&mvs[1..]) {
        let d = mv.value - a;
        row.diff.push(d);
        row.rel_diff.push(if d == 0.0 {
            Some(0.0)
        } else if a == 0.0 {
            None
        } else {
            Some(100.0 * d / a.abs())
        });
        let (sig, test) = significance(&first, s, &tested);
        row.significant.push(sig);
        row.tests.push(test);
    }
    row.test = row.tests[0];
    Some(row)
}

/// The headline metrics of the inputs: the union of their lists in order,
/// or the default list when none has one.
fn headline_union(lists: &[&[String]]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in lists {
        for m in l.iter() {
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
    }
    if out.is_empty() {
        out = crate::run::DEFAULT_HEADLINE
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    out
}

/// The SLO rows of one report or point: each objective (in the order the
/// inputs list them) with each input's verdict.
fn slo_rows(point: Option<&IndexMap<String, Value>>, lists: &[&[crate::run::slo::SloResult]]) -> Vec<SloRow> {
    use crate::report::answers::{measured_text, objective_text};
    let mut rows: Vec<SloRow> = Vec::new();
    for (i, list) in lists.iter().enumerate() {
        for r in list.iter() {
            let objective = objective_text(r);
            let at = match rows.iter().position(|x| x.objective == objective) {
                Some(at) => at,
                None => {
                    rows.push(SloRow {
                        point: point.cloned(),
                        objective,
                        verdicts: vec![None; lists.len()],
                        measured: vec![None; lists.len()],
                    });
                    rows.len() - 1
                }
            };
            rows[at].verdicts[i] = Some(r.verdict);
            rows[at].measured[i] = Some(measured_text(r));
        }
    }
    rows
}

/// Where an input's resolved scenario is: beside its report.json or
/// sweep.json.
fn resolved_dir(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

/// Longest value shown whole in the configuration section.
const CONFIG_VALUE_CHARS: usize = 60;

/// The first `max` characters of a text, `…` marking a cut.
fn head_of(t: &str, max: usize) -> String {
    if t.chars().count() <= max {
        t.to_string()
    } else {
        t.chars().take(max - 1).collect::<String>() + "…"
    }
}

/// What differs between the inputs' configurations: the results' own
/// seed, duration and replications, and each path of their resolved
/// scenarios (where they have one).
fn configuration(paths: &[PathBuf], loaded: &[Loaded], inputs: &[String]) -> Configuration {
    use crate::report::provenance::{flatten, read_resolved};
    // Facts every result file states.
    let facts: Vec<IndexMap<String, String>> = loaded
        .iter()
        .map(|l| {
            let mut m = IndexMap::new();
            match l {
                Loaded::Report(r) => {
                    m.insert("seed".to_string(), r.seed.to_string());
                    m.insert("duration".to_string(), format!("{}s", r.duration_s));
                    m.insert("replications".to_string(), r.replications.to_string());
                }
                Loaded::Sweep(s) => {
                    m.insert("seed".to_string(), s.seed.to_string());
                    m.insert("replications".to_string(), s.replications.to_string());
                }
            }
            m
        })
        .collect();
    let resolved: Vec<Option<IndexMap<String, String>>> = paths
        .iter()
        .zip(&facts)
        .map(|(p, f)| {
            read_resolved(&resolved_dir(p)).map(|t| {
                flatten(&t)
                    .into_iter()
                    // Stated by the results themselves (the resolved
                    // duration is a text such as `10m`; the results' is
                    // what ran).
                    .filter(|(k, _)| {
                        !f.contains_key(k) && k != "run.replications" && k != "sweep.replications"
                    })
                    .collect()
            })
        })
        .collect();
    let mut differences = Vec::new();
    let mut push = |path: &str, values: Vec<Option<String>>, known: &[bool]| {
        let seen: Vec<&Option<String>> = values
            .iter()
            .zip(known)
            .filter(|(_, k)| **k)
            .map(|(v, _)| v)
            .collect();
        if seen.len() >= 2 && seen.iter().any(|v| *v != seen[0]) {
            differences.push(ConfigDiff {
                path: path.to_string(),
                values: values
                    .into_iter()
                    .map(|v| v.map(|t| head_of(&t, CONFIG_VALUE_CHARS)))
                    .collect(),
            });
        }
    };
    for key in ["seed", "duration", "replications"] {
        let values: Vec<Option<String>> = facts.iter().map(|f| f.get(key).cloned()).collect();
        let known: Vec<bool> = values.iter().map(Option::is_some).collect();
        push(key, values, &known);
    }
    let known: Vec<bool> = resolved.iter().map(Option::is_some).collect();
    let mut paths_seen: IndexMap<&String, ()> = IndexMap::new();
    for r in resolved.iter().flatten() {
        for k in r.keys() {
            paths_seen.insert(k, ());
        }
    }
    for (path, ()) in paths_seen {
        let values: Vec<Option<String>> = resolved
            .iter()
            .map(|r| r.as_ref().and_then(|m| m.get(path).cloned()))
            .collect();
        push(path, values, &known);
    }
    Configuration {
        differences,
        unknown: inputs
            .iter()
            .zip(&resolved)
            .filter(|(_, r)| r.is_none())
            .map(|(i, _)| i.clone())
            .collect(),
    }
}

/// The description in the first input's resolved scenario that has one.
fn description_of(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .filter_map(|p| crate::report::provenance::read_resolved(&resolved_dir(p)))
        .find_map(|t| {
            crate::report::provenance::flatten(&t)
                .get("description")
                .filter(|d| !d.trim().is_empty())
                .cloned()
        })
        .unwrap_or_default()
}

/// Compare already-located inputs (see [`run`]).
pub fn compare(paths: &[PathBuf]) -> Result<Comparison, CompareError> {
    if paths.len() < 2 {
        return Err(CompareError::BadInput(
            "error: compare needs two or more report.json or sweep.json files".into(),
        ));
    }
    let loaded: Vec<Loaded> = paths.iter().map(|p| load(p)).collect::<Result<_, _>>()?;
    let inputs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let first_is_sweep = matches!(loaded[0], Loaded::Sweep(_));
    for (p, l) in paths.iter().zip(&loaded).skip(1) {
        if matches!(l, Loaded::Sweep(_)) != first_is_sweep {
            let (this, that) = if first_is_sweep {
                ("a report", "a sweep")
            } else {
                ("a sweep", "a report")
            };
            return Err(bad(
                p,
                format!(
                    "is {this} but {} is {that}: compare reports with reports and sweeps with sweeps",
                    paths[0].display()
                ),
            ));
        }
    }
    if !first_is_sweep {
        let sides: Vec<Side> = loaded
            .iter()
            .filter_map(|l| match l {
                Loaded::Report(r) => Some(Side::of_report(r)),
                Loaded::Sweep(_) => None,
            })
            .collect();
        let reports: Vec<&Report> = loaded
            .iter()
            .filter_map(|l| match l {
                Loaded::Report(r) => Some(&**r),
                Loaded::Sweep(_) => None,
            })
            .collect();
        let headline = headline_union(&reports.iter().map(|r| r.headline.as_slice()).collect::<Vec<_>>());
        let slo = slo_rows(
            None,
            &reports.iter().map(|r| r.slo.as_slice()).collect::<Vec<_>>(),
        );
        return Ok(Comparison {
            scenarios: reports.iter().map(|r| r.scenario.clone()).collect(),
            description: description_of(paths),
            configuration: configuration(paths, &loaded, &inputs),
            headline_rows: headline.iter().filter_map(|m| row_for(None, m, &sides)).collect(),
            headline,
            slo,
            inputs,
            kind: "reports",
            rows: rows_for(None, &sides),
            unmatched: Vec::new(),
        });
    }
    let sweeps: Vec<&SweepReport> = loaded
        .iter()
        .filter_map(|l| match l {
            Loaded::Sweep(s) => Some(s),
            Loaded::Report(_) => None,
        })
        .collect();
    // Every distinct point, in order of first appearance (inputs in order,
    // points in grid order); IndexMap equality ignores key order.
    let mut all: Vec<&IndexMap<String, Value>> = Vec::new();
    for s in &sweeps {
        for p in &s.points {
            if !all.contains(&&p.params) {
                all.push(&p.params);
            }
        }
    }
    let headline = headline_union(&sweeps.iter().map(|s| s.headline.as_slice()).collect::<Vec<_>>());
    let mut rows = Vec::new();
    let mut headline_rows = Vec::new();
    let mut slo = Vec::new();
    let mut unmatched = Vec::new();
    for params in all {
        let found: Vec<Option<&PointReport>> = sweeps
            .iter()
            .map(|s| s.points.iter().find(|p| &p.params == params))
            .collect();
        if found.iter().all(Option::is_some) {
            let sides: Vec<Side> = found.iter().flatten().map(|p| Side::of_point(p)).collect();
            rows.extend(rows_for(Some(params), &sides));
            headline_rows.extend(headline.iter().filter_map(|m| row_for(Some(params), m, &sides)));
            let lists: Vec<&[crate::run::slo::SloResult]> =
                found.iter().flatten().map(|p| p.slo.as_slice()).collect();
            slo.extend(slo_rows(Some(params), &lists));
        } else {
            unmatched.push(Unmatched {
                point: params.clone(),
                present_in: inputs
                    .iter()
                    .zip(&found)
                    .filter(|(_, f)| f.is_some())
                    .map(|(i, _)| i.clone())
                    .collect(),
            });
        }
    }
    Ok(Comparison {
        scenarios: sweeps.iter().map(|s| s.scenario.clone()).collect(),
        description: description_of(paths),
        configuration: configuration(paths, &loaded, &inputs),
        headline,
        headline_rows,
        slo,
        inputs,
        kind: "sweeps",
        rows,
        unmatched,
    })
}

/// Compare two or more report.json / sweep.json files; returns what to print.
pub fn run(paths: &[PathBuf], format: CompareFormat, color: bool) -> Result<String, CompareError> {
    let c = compare(paths)?;
    Ok(match format {
        CompareFormat::Json => {
            let mut s =
                serde_json::to_string_pretty(&c).map_err(|e| CompareError::Io(format!("error: {e}")))?;
            s.push('\n');
            s
        }
        CompareFormat::Markdown => render_markdown(&c),
        CompareFormat::Text => render_text(&c, color),
    })
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

fn signed(v: f64) -> String {
    if v > 0.0 { format!("+{}", fmt4(v)) } else { fmt4(v) }
}

pub(crate) fn point_label(p: &IndexMap<String, Value>) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}={}", value_label(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Column letters for the inputs: A, B, …, Z, then #27, #28….
pub(crate) fn letter(i: usize) -> String {
    if i < 26 {
        char::from(b'A' + i as u8).to_string()
    } else {
        format!("#{}", i + 1)
    }
}

/// A table cell: its text and an optional ANSI colour.
pub(crate) struct Cell {
    pub(crate) text: String,
    color: Option<&'static str>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell { text, color: None }
    }
}

/// Column `i` of a table over `n` inputs holds words (the metric name, the
/// significance, the test), left-aligned; the others hold numbers.
pub(crate) fn left_aligned(i: usize, n: usize) -> bool {
    i == 0 || (i > n && matches!((i - n) % 4, 0 | 3))
}

pub(crate) fn header(n: usize) -> Vec<String> {
    let mut h = vec!["metric".to_string()];
    h.extend((0..n).map(letter));
    for i in 1..n {
        let l = letter(i);
        h.push(format!("{l}-A"));
        h.push(format!("{l}-A %"));
        h.push(format!("{l} significant"));
        h.push(format!("{l} test"));
    }
    h
}

/// A row's first cell: its metric, with its point in the sections that
/// gather rows of every point (`latency.p99_ms @ components.api.replicas=2`).
pub(crate) fn label(row: &Row, with_point: bool) -> String {
    match &row.point {
        Some(p) if with_point => format!("{} @ {}", row.metric, point_label(p)),
        _ => row.metric.clone(),
    }
}

pub(crate) fn cells(row: &Row, color: bool, with_point: bool) -> Vec<Cell> {
    let mut out: Vec<Cell> = vec![label(row, with_point).into()];
    for (v, c) in row.values.iter().zip(&row.ci95) {
        out.push(
            match c {
                Some(c) => format!("{} ± {}", fmt4(*v), fmt4(*c)),
                None => fmt4(*v),
            }
            .into(),
        );
    }
    for i in 0..row.diff.len() {
        let verdict = row.verdict(i);
        let paint = match (color, verdict) {
            (true, 1) => Some("\x1b[32m"),
            (true, -1) => Some("\x1b[31m"),
            _ => None,
        };
        let sig = match row.significant[i] {
            None => "n/a".to_string(),
            Some(false) => "no".to_string(),
            Some(true) => match (color, verdict) {
                (false, 1) => "yes, better".to_string(),
                (false, -1) => "yes, worse".to_string(),
                _ => "yes".to_string(),
            },
        };
        let rel = match row.rel_diff[i] {
            Some(0.0) => "0%".to_string(),
            Some(r) => format!("{}%", signed(r)),
            None => "n/a".to_string(),
        };
        for text in [signed(row.diff[i]), rel, sig] {
            out.push(Cell { text, color: paint });
        }
        out.push(row.tests[i].name().to_string().into());
    }
    out
}

/// Rows grouped by point (one group, with no label, for reports).
pub(crate) fn groups<'a>(c: &Comparison, rows: &[&'a Row]) -> Vec<(Option<String>, Vec<&'a Row>)> {
    let mut out: Vec<(Option<String>, Vec<&Row>)> = Vec::new();
    for r in rows {
        let label = r.point.as_ref().map(point_label);
        match out.last_mut() {
            Some((l, rows)) if *l == label => rows.push(r),
            _ => out.push((label, vec![r])),
        }
    }
    if out.is_empty() && c.kind == "reports" {
        out.push((None, Vec::new()));
    }
    out
}

/// The rows in the order the outputs show them: the headline metrics,
/// then the other significant differences (largest relative change first:
/// a change from zero counts as largest), then the rest, grouped by what
/// they measure (see [`metric_group`]).
pub(crate) struct Sections<'a> {
    /// The headline metrics' rows.
    pub(crate) headline: Vec<&'a Row>,
    /// Rows significant in some comparison, not headline metrics.
    pub(crate) significant: Vec<&'a Row>,
    /// Everything else, grouped by point.
    pub(crate) rest: Vec<(Option<String>, Vec<&'a Row>)>,
}

pub(crate) fn sections(c: &Comparison) -> Sections<'_> {
    let is_headline = |r: &Row| c.headline.contains(&r.metric);
    let change = |r: &Row| -> f64 {
        (0..r.diff.len())
            .filter(|i| r.significant[*i] == Some(true))
            .map(|i| r.rel_diff[i].map_or(f64::INFINITY, f64::abs))
            .fold(0.0, f64::max)
    };
    let mut significant: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| !is_headline(r) && r.significant.contains(&Some(true)))
        .collect();
    significant.sort_by(|a, b| change(b).total_cmp(&change(a)));
    let mut rest: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| !is_headline(r) && !r.significant.contains(&Some(true)))
        .collect();
    // Within each point (rows come point by point), by group, then by
    // the metric's place in its group: never plain alphabetical.
    let point_of: Vec<Option<String>> = rest.iter().map(|r| r.point.as_ref().map(point_label)).collect();
    let mut order: Vec<usize> = (0..rest.len()).collect();
    let first_at = |i: usize| point_of.iter().position(|p| *p == point_of[i]).unwrap_or(0);
    order.sort_by_key(|&i| (first_at(i), rest_order(&rest[i].metric)));
    rest = order.into_iter().map(|i| rest[i]).collect();
    Sections {
        headline: c.headline_rows.iter().collect(),
        significant,
        rest: groups(c, &rest),
    }
}

/// The group of a metric in "the rest": `overall` for the run's own
/// metrics (throughput, availability, latency, requests), else
/// `clients.NAME`, `components.NAME`, `breakdown.NAME`, or the first part
/// of the name (`cost`, `consistency`, `sim`).
pub(crate) fn metric_group(metric: &str) -> String {
    for prefix in ["clients", "components", "breakdown"] {
        if let Some(rest) = metric.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')) {
            // The owner as `describe` reads it (names may hold dots).
            let name = crate::report::metrics::describe(metric).name;
            let owner = match name.split_once(": ") {
                Some((o, _)) if rest.starts_with(o) => o.to_string(),
                _ => rest.split('.').next().unwrap_or(rest).to_string(),
            };
            return format!("{prefix}.{owner}");
        }
    }
    let head = metric.split('.').next().unwrap_or(metric);
    if [
        "throughput_rps",
        "availability",
        "error_ratio",
        "latency",
        "requests",
    ]
    .contains(&head)
    {
        "overall".into()
    } else {
        head.to_string()
    }
}

/// Where a metric sits in "the rest": its group (the run's own metrics,
/// clients, components, the breakdown, the others, `sim` last), then a
/// reading order inside it (throughput, availability, mean latency, the
/// percentiles in order, then by name).
fn rest_order(metric: &str) -> (u8, String, u8, String) {
    let group = metric_group(metric);
    let rank = match group.split('.').next().unwrap_or("") {
        "overall" => 0,
        "clients" => 1,
        "components" => 2,
        "breakdown" => 3,
        "sim" => 5,
        _ => 4,
    };
    let leaf = metric
        .strip_prefix(group.as_str())
        .map(|r| r.trim_start_matches('.'))
        .filter(|_| group != "overall")
        .unwrap_or(metric);
    const READING: &[&str] = &[
        "throughput_rps",
        "availability",
        "error_ratio",
        "latency.mean_ms",
        "latency.p50_ms",
        "latency.p90_ms",
        "latency.p95_ms",
        "latency.p99_ms",
        "latency.p999_ms",
        "latency.max_ms",
        "utilization",
        "wait.mean_ms",
        "queue_length_mean",
    ];
    let within = READING.iter().position(|r| *r == leaf).unwrap_or(READING.len()) as u8;
    (rank, group, within, leaf.to_string())
}

pub(crate) fn legend(c: &Comparison) -> Vec<String> {
    c.inputs
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{} = {p}", letter(i)))
        .collect()
}

pub(crate) const FOOTNOTE: &str = "significance at 95% vs A: paired = interval of the per-replication differences \
(same seeds: common random numbers); welch = Welch's t-test; n/a = no interval (a single replication, or a metric such as sim.unstable that has none)";

/// Section titles, shared by the text, Markdown and the page.
pub(crate) const CONFIG_TITLE: &str = "What differs in the configurations";
pub(crate) const HEADLINE_TITLE: &str = "Headline metrics";
pub(crate) const SIGNIFICANT_TITLE: &str = "Significant differences (largest relative change first)";
pub(crate) const REST_TITLE: &str = "The rest";

/// A configuration value as shown: `—` where an input lacks the path, `?`
/// where its configuration is unknown.
pub(crate) fn config_value(c: &Comparison, input: usize, v: &Option<String>) -> String {
    match v {
        Some(v) => v.clone(),
        None if c.configuration.unknown.contains(&c.inputs[input]) => "?".into(),
        None => "—".into(),
    }
}

/// The configuration section's lines after the differences: which inputs
/// have no resolved scenario, or that nothing differs.
pub(crate) fn config_notes(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    for (i, input) in c.inputs.iter().enumerate() {
        if c.configuration.unknown.contains(input) {
            out.push(format!(
                "{}: no scenario.resolved.yaml beside its results (an older folder, or a copied file): only its seed, duration and replications are known",
                letter(i)
            ));
        }
    }
    if c.configuration.differences.is_empty() {
        out.push(if c.configuration.unknown.is_empty() {
            "nothing: the same effective scenario, seed and replications".into()
        } else {
            "nothing else is known to differ".into()
        });
    }
    out
}

/// An SLO row as words: `latency.p99_ms ≤ 100 ms: A PASS (61.2 ms ±3.1 ms) | B FAIL (…)`.
pub(crate) fn slo_text(r: &SloRow) -> String {
    let judged: Vec<String> = r
        .verdicts
        .iter()
        .zip(&r.measured)
        .enumerate()
        .map(|(i, (v, m))| match (v, m) {
            (Some(v), Some(m)) => format!("{} {} ({m})", letter(i), v.word()),
            (Some(v), None) => format!("{} {}", letter(i), v.word()),
            _ => format!("{} -", letter(i)),
        })
        .collect();
    let at = r
        .point
        .as_ref()
        .map(|p| format!(" @ {}", point_label(p)))
        .unwrap_or_default();
    format!("{}{at}: {}", r.objective, judged.join(" | "))
}

/// What the significant section says when it has no row.
pub(crate) fn no_significant(c: &Comparison) -> &'static str {
    if c.rows.iter().all(|r| r.significant.iter().all(Option::is_none)) {
        "none can be told: no interval to test (a single replication; run with --replications 5 or more)"
    } else {
        "none at 95%"
    }
}

fn render_text(c: &Comparison, color: bool) -> String {
    let n = c.inputs.len();
    let head: Vec<Cell> = header(n).into_iter().map(Cell::from).collect();
    let sec = sections(c);
    let body = |rows: &[&Row], with_point: bool| -> Vec<Vec<Cell>> {
        rows.iter().map(|r| cells(r, color, with_point)).collect()
    };
    let headline = body(&sec.headline, true);
    let significant = body(&sec.significant, true);
    let rest: Vec<(Option<String>, Vec<Vec<Cell>>)> = sec
        .rest
        .iter()
        .map(|(l, rows)| (l.clone(), body(rows, false)))
        .collect();
    // Column widths shared by every table, so the sections line up.
    let mut widths: Vec<usize> = head.iter().map(|h| h.text.chars().count()).collect();
    for r in headline
        .iter()
        .chain(&significant)
        .chain(rest.iter().flat_map(|(_, rows)| rows))
    {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.text.chars().count());
        }
    }
    let line = |r: &[Cell]| -> String {
        let parts: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let pad = widths[i].saturating_sub(cell.text.chars().count());
                // The metric name and the words are left-aligned, numbers right-aligned.
                let left = left_aligned(i, n);
                let text = match cell.color {
                    Some(code) => format!("{code}{}\x1b[0m", cell.text),
                    None => cell.text.clone(),
                };
                if left {
                    format!("{text}{}", " ".repeat(pad))
                } else {
                    format!("{}{text}", " ".repeat(pad))
                }
            })
            .collect();
        let mut s = parts.join("  ").trim_end().to_string();
        s.push('\n');
        s
    };
    let table = |rows: &[Vec<Cell>]| -> String {
        let mut s = line(&head);
        for r in rows {
            s.push_str(&line(r));
        }
        s
    };
    let mut s = String::new();
    for l in legend(c) {
        s.push_str(&l);
        s.push('\n');
    }
    // 1. What differs in the configurations.
    s.push_str(&format!("\n{CONFIG_TITLE}\n"));
    let w = c
        .configuration
        .differences
        .iter()
        .map(|d| d.path.chars().count())
        .max()
        .unwrap_or(0);
    for d in &c.configuration.differences {
        let vals: Vec<String> = d
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| config_value(c, i, v))
            .collect();
        s.push_str(&format!("  {:<w$}  {}\n", d.path, vals.join(" | ")));
    }
    for note in config_notes(c) {
        s.push_str(&format!("  {note}\n"));
    }
    // 2. Headline metrics and SLO verdicts.
    s.push_str(&format!("\n{HEADLINE_TITLE}\n"));
    if headline.is_empty() {
        s.push_str("  none in every input\n");
    } else {
        s.push_str(&table(&headline));
    }
    for r in &c.slo {
        s.push_str(&format!("SLO  {}\n", slo_text(r)));
    }
    // 3. Significant differences.
    s.push_str(&format!("\n{SIGNIFICANT_TITLE}\n"));
    if significant.is_empty() {
        s.push_str(&format!("  {}\n", no_significant(c)));
    } else {
        s.push_str(&table(&significant));
    }
    // 4. The rest.
    s.push_str(&format!("\n{REST_TITLE}\n"));
    for (label, rows) in &rest {
        if rows.is_empty() && label.is_some() {
            continue;
        }
        if let Some(l) = label {
            s.push_str(&format!("point: {l}\n"));
        }
        s.push_str(&table(rows));
    }
    if c.kind == "sweeps" && c.rows.is_empty() {
        s.push_str("\nno point is present in every input\n");
    }
    push_unmatched(&mut s, c, "");
    s.push('\n');
    s.push_str(FOOTNOTE);
    s.push('\n');
    s
}

fn push_unmatched(s: &mut String, c: &Comparison, bullet: &str) {
    if c.unmatched.is_empty() {
        return;
    }
    s.push_str("\nunmatched points (not in every input):\n");
    for u in &c.unmatched {
        s.push_str(&format!(
            "{bullet}  {}: only in {}\n",
            point_label(&u.point),
            present_in(c, u)
        ));
    }
}

/// The letters of the inputs an unmatched point is in (`A, C`).
pub(crate) fn present_in(c: &Comparison, u: &Unmatched) -> String {
    c.inputs
        .iter()
        .enumerate()
        .filter(|(_, p)| u.present_in.contains(p))
        .map(|(i, _)| letter(i))
        .collect::<Vec<_>>()
        .join(", ")
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

fn render_markdown(c: &Comparison) -> String {
    let n = c.inputs.len();
    let head = header(n);
    let sec = sections(c);
    let table = |rows: &[&Row], with_point: bool| -> String {
        let mut s = format!(
            "| {} |\n",
            head.iter().map(|h| md_escape(h)).collect::<Vec<_>>().join(" | ")
        );
        let align: Vec<&str> = (0..head.len())
            .map(|i| if left_aligned(i, n) { "---" } else { "---:" })
            .collect();
        s.push_str(&format!("| {} |\n", align.join(" | ")));
        for r in rows {
            let cs: Vec<String> = cells(r, false, with_point)
                .into_iter()
                .map(|c| md_escape(&c.text))
                .collect();
            s.push_str(&format!("| {} |\n", cs.join(" | ")));
        }
        s
    };
    let code = |t: &str| format!("`{}`", t.replace('`', "'"));
    let mut s = String::new();
    for l in legend(c) {
        s.push_str(&format!("- {}\n", md_escape(&l).replacen(" = ", " = `", 1) + "`"));
    }
    s.push_str(&format!("\n## {CONFIG_TITLE}\n\n"));
    for d in &c.configuration.differences {
        let vals: Vec<String> = d
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| code(&config_value(c, i, v)))
            .collect();
        s.push_str(&format!("- {}: {}\n", code(&d.path), vals.join(" · ")));
    }
    for note in config_notes(c) {
        s.push_str(&format!("- {note}\n"));
    }
    s.push_str(&format!("\n## {HEADLINE_TITLE}\n\n"));
    if sec.headline.is_empty() {
        s.push_str("None in every input.\n");
    } else {
        s.push_str(&table(&sec.headline, true));
    }
    if !c.slo.is_empty() {
        s.push('\n');
        for r in &c.slo {
            s.push_str(&format!("- SLO {}\n", slo_text(r)));
        }
    }
    s.push_str(&format!("\n## {SIGNIFICANT_TITLE}\n\n"));
    if sec.significant.is_empty() {
        s.push_str(&format!("{}.\n", upper_first(no_significant(c))));
    } else {
        s.push_str(&table(&sec.significant, true));
    }
    s.push_str(&format!("\n## {REST_TITLE}\n"));
    for (label, rows) in &sec.rest {
        if rows.is_empty() && label.is_some() {
            continue;
        }
        s.push('\n');
        if let Some(l) = label {
            s.push_str(&format!("### {}\n\n", md_escape(l)));
        }
        s.push_str(&table(rows, false));
    }
    if c.kind == "sweeps" && c.rows.is_empty() {
        s.push_str("\nNo point is present in every input.\n");
    }
    push_unmatched(&mut s, c, "-");
    s.push('\n');
    s.push_str(&format!("_{FOOTNOTE}_\n"));
    s
}

/// The text with its first letter capitalised.
pub(crate) fn upper_first(t: &str) -> String {
    let mut ch = t.chars();
    match ch.next() {
        Some(f) => f.to_uppercase().chain(ch).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_from_ci95_alone_matches_welch_on_the_samples() {
        let a = [10.2, 11.9, 9.7, 10.8, 12.4];
        let b = [13.1, 12.2, 14.8, 13.9, 12.7, 15.1];
        let (ma, ca) = crate::stats::mean_ci95(&a);
        let (mb, cb) = crate::stats::mean_ci95(&b);
        let sa = summary_from_ci(ma, ca.unwrap(), a.len() as u32).unwrap();
        let sb = summary_from_ci(mb, cb.unwrap(), b.len() as u32).unwrap();
        let from_ci = welch_from_summary(sa, sb).unwrap();
        let exact = crate::stats::welch_p_value(&a, &b).unwrap();
        assert!((from_ci - exact).abs() < 1e-9, "{from_ci} vs {exact}");
        assert!(from_ci < 0.05);

        // Through a Side with no replication_values at all: Welch, not paired.
        let metrics_a: BTreeMap<String, MetricValue> =
            [("m".to_string(), MetricValue { value: ma, ci95: ca })].into();
        let metrics_b: BTreeMap<String, MetricValue> =
            [("m".to_string(), MetricValue { value: mb, ci95: cb })].into();
        let empty = BTreeMap::new();
        let side = |metrics, n| Side {
            replications: n,
            metrics,
            seeds: &[],
            values: &empty,
        };
        let (sig, test) = significance(&side(&metrics_a, 5), &side(&metrics_b, 6), "m");
        assert_eq!((sig, test), (Some(true), Test::Welch));
        // Overlapping noise: not significant.
        let wide: BTreeMap<String, MetricValue> = [(
            "m".to_string(),
            MetricValue {
                value: mb,
                ci95: Some(10.0),
            },
        )]
        .into();
        let (sig, test) = significance(&side(&metrics_a, 5), &side(&wide, 6), "m");
        assert_eq!((sig, test), (Some(false), Test::Welch));
        // One replication: no test.
        let one: BTreeMap<String, MetricValue> = [(
            "m".to_string(),
            MetricValue {
                value: mb,
                ci95: None,
            },
        )]
        .into();
        assert_eq!(
            significance(&side(&metrics_a, 5), &side(&one, 1), "m"),
            (None, Test::NotApplicable)
        );
    }

    #[test]
    fn paired_when_seeds_and_values_match() {
        let seeds = [1u64, 2, 3, 4];
        let va: BTreeMap<String, Vec<f64>> = [("m".to_string(), vec![10.0, 20.0, 30.0, 40.0])].into();
        let vb: BTreeMap<String, Vec<f64>> = [("m".to_string(), vec![10.5, 20.4, 30.6, 40.5])].into();
        let ma: BTreeMap<String, MetricValue> = [(
            "m".to_string(),
            MetricValue {
                value: 25.0,
                ci95: Some(20.5),
            },
        )]
        .into();
        let mb: BTreeMap<String, MetricValue> = [(
            "m".to_string(),
            MetricValue {
                value: 25.5,
                ci95: Some(20.5),
            },
        )]
        .into();
        let a = Side {
            replications: 4,
            metrics: &ma,
            seeds: &seeds,
            values: &va,
        };
        let b = Side {
            replications: 4,
            metrics: &mb,
            seeds: &seeds,
            values: &vb,
        };
        // Huge spread between replications, tiny consistent shift: paired sees it.
        assert_eq!(significance(&a, &b, "m"), (Some(true), Test::Paired));
        // Different seeds: Welch, which cannot see it through the spread.
        let other = [5u64, 6, 7, 8];
        let b2 = Side { seeds: &other, ..b };
        assert_eq!(significance(&a, &b2, "m"), (Some(false), Test::Welch));
    }

    #[test]
    fn directions() {
        use Direction::*;
        for (m, d) in [
            ("throughput_rps", Higher),
            ("components.api.throughput_rps", Higher),
            ("components.queue.throughput_rps", Higher),
            ("availability", Higher),
            ("clients.web.availability", Higher),
            ("components.cache.hit_ratio", Higher),
            ("requests.completed", Higher),
            ("latency.p99_ms", Lower),
            ("clients.web.latency.mean_ms", Lower),
            ("components.api.wait.mean_ms", Lower),
            ("components.api.queue_length_mean", Lower),
            ("requests.failed", Lower),
            ("requests.rejected", Lower),
            ("requests.timed_out", Lower),
            ("components.api.rejected", Lower),
            ("components.api.errors", Lower),
            ("cost.total", Lower),
            ("cost.instance_hours", Lower),
            ("consistency.stale_reads", Lower),
            ("components.cache.stale_reads", Lower),
            ("data.lost_writes", Lower),
            ("sessions.lost", Lower),
            ("data.duplicate_writes", Lower),
            ("components.api.sojourn.mean_ms", Lower),
            ("components.jobs.end_to_end.mean_ms", Lower),
            ("components.db.replication_lag.mean_ms", Lower),
            ("components.api.utilization", Neutral),
            ("requests.offered", Neutral),
            ("components.waiter.utilization", Neutral),
            ("components.api.replicas_mean", Neutral),
            ("sim.unstable", Neutral),
            ("error_ratio", Lower),
            ("clients.web.error_ratio", Lower),
        ] {
            assert_eq!(direction(m), d, "{m}");
        }
    }

    #[test]
    fn four_significant_figures() {
        assert_eq!(fmt4(25.682173), "25.68");
        assert_eq!(fmt4(5654.8), "5655");
        assert_eq!(fmt4(123456.7), "123457");
        assert_eq!(fmt4(0.0378721), "0.03787");
        assert_eq!(fmt4(9.99961), "10.00");
        assert_eq!(fmt4(-1.5), "-1.500");
        assert_eq!(fmt4(0.0), "0");
        assert_eq!(fmt4(1.0e-6), "1.000e-6");
    }
}

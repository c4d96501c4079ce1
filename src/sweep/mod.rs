//! Sweeps: a grid of scenario variants × replications, run in parallel,
//! deterministic, resumable, and divisible into shards for a cluster.
//!
//! - Common random numbers: replication r of every point uses the seed of
//!   replication r (derived from the scenario seed and r, never from the
//!   point), so differences between points are not sampling noise.
//! - Nothing is lost: each finished replication is appended to
//!   `points.jsonl` at once (one JSON line, flushed); `--resume` skips what
//!   is there; Ctrl-C stops between replications keeping every finished
//!   line. `sweep.json` and `sweep.csv` are computed from the lines (sorted
//!   by point and replication) and written atomically, so a sweep run with
//!   any `--jobs`, resumed, or merged from shards gives the same bytes
//!   (wall-clock metrics aside).

pub mod charts;
pub mod cluster;
pub mod grid;
pub mod jobfiles;
pub mod overlay;
pub mod page;
mod provenance;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use indexmap::IndexMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::rng::{replication_seed, stable_hash};
use crate::files::{Folder, Kind};
use crate::model::{Config, Metrics, World};
use crate::report::write_atomic;
use crate::report::{CsvText, value_label};
use crate::run::slo::{SloResult, Verdict, overall};
use crate::run::{MetricValue, PointReport, SweepReport, combine_metrics};
use crate::scenario::spec::Objective;
use crate::scenario::{self, BuildOptions};
pub use grid::Point;

/// What can go wrong in a sweep, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Bad input: the scenario, a grid value, a flag (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// Files could not be read or written (exit 1).
    #[error("{0}")]
    Io(String),
    /// Stopped by Ctrl-C (or the test hook) with work left (exit 1).
    #[error("interrupted: {done} of {total} replications are in {dir}; run again with --resume to finish")]
    Interrupted {
        /// Lines in points.jsonl.
        done: usize,
        /// Replications planned.
        total: usize,
        /// The sweep folder.
        dir: String,
    },
}

impl SweepError {
    /// The process exit code (SPEC §1).
    pub fn exit_code(&self) -> i32 {
        match self {
            SweepError::BadInput(_) => 2,
            _ => 1,
        }
    }
}

impl SweepError {
    /// An output-folder error as a sweep error (same exit code).
    pub fn from_output(e: &crate::files::OutputError) -> SweepError {
        match e {
            crate::files::OutputError::Refused(_) => SweepError::BadInput(e.to_string()),
            _ => SweepError::Io(e.to_string()),
        }
    }
}

fn io_err(what: &str, p: &Path, e: impl std::fmt::Display) -> SweepError {
    SweepError::Io(format!("error: cannot {what} {}: {e}", p.display()))
}

/// How a sweep reports progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar on a terminal, occasional plain lines otherwise.
    Auto,
    /// Nothing.
    Quiet,
}

/// Everything `archsim sweep` needs.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// Scenario file.
    pub file: PathBuf,
    /// `--seed`, `--duration` and `--set` as overrides.
    pub overrides: Vec<String>,
    /// `--vary PATH=V1,V2,…`.
    pub vary: Vec<String>,
    /// Replications per point (flag; else the file's `sweep.replications`; else 1).
    pub replications: Option<u32>,
    /// Threads (default: all cores).
    pub jobs: Option<usize>,
    /// Sweep folder (default output/<name>-sweep).
    pub out: Option<PathBuf>,
    /// Continue a sweep whose folder already has lines.
    pub resume: bool,
    /// Start over, discarding a folder's earlier lines.
    pub force: bool,
    /// Run only slice K of N (1-based).
    pub shard: Option<(u32, u32)>,
    /// `METRIC=REL`: add replications until each 95% half-width ≤ REL × |mean|.
    pub precision: Vec<(String, f64)>,
    /// Cap for `precision`.
    pub max_replications: u32,
    /// Progress display.
    pub progress: ProgressMode,
    /// Test hook: behave as if interrupted after this many replications.
    pub stop_after: Option<usize>,
    /// Also write PNG charts.
    pub png: bool,
    /// Model build options.
    pub build: BuildOptions,
}

/// `sweep-plan.json`: what the folder's lines belong to. `--resume` and
/// `merge` refuse lines of a different plan.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    /// archsim version.
    pub archsim_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario file (as given).
    pub file: String,
    /// Hash of the scenario text and the overrides.
    pub input_hash: String,
    /// Scenario seed.
    pub seed: u64,
    /// Replications per point (before precision rounds).
    pub replications: u32,
    /// The grid.
    pub vary: IndexMap<String, Vec<Value>>,
    /// Shard (K, N) or none.
    pub shard: Option<(u32, u32)>,
    /// With `--precision`: the most replications a point may reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replications: Option<u32>,
    /// The overrides every point applies (`--seed`, `--duration`, `--set`),
    /// so that `merge` judges the objectives of the scenario the slices ran
    /// (the input hash already covers them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

impl Plan {
    /// Whether `other` describes the same sweep: everything but how the
    /// file was named on the command line and the shard must match (the
    /// input hash covers the file's content and the overrides).
    pub fn same_sweep(&self, other: &Plan) -> bool {
        let strip = |p: &Plan| Plan {
            file: String::new(),
            shard: None,
            max_replications: None,
            overrides: Vec::new(),
            ..p.clone()
        };
        strip(self) == strip(other)
    }
}

/// Most replications of one point (`--replications`, `--max-replications`).
pub const MAX_REPLICATIONS: u32 = 1_000;

/// Most replications in one sweep (points × replications per point): every
/// finished replication's line is held in memory to build sweep.json.
pub const MAX_SWEEP_REPLICATIONS: u64 = 100_000;

/// Most worker threads (`--jobs`).
pub const MAX_JOBS: usize = 1_024;

/// One line of `points.jsonl`: a finished replication of a point.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Line {
    /// Point index in grid order.
    pub point: usize,
    /// Replication number.
    pub replication: u32,
    /// Its seed.
    pub seed: u64,
    /// The point's parameters.
    pub params: IndexMap<String, Value>,
    /// Metric values of this replication.
    pub metrics: BTreeMap<String, f64>,
    /// Findings (instability…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// With `sweep.plot.over_time`: replication 0's series of those
    /// columns, for the overlay charts (absent on other replications, and
    /// in lines written before the field existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_time: Option<overlay::OverTime>,
}

/// What a finished sweep leaves.
pub struct SweepOutcome {
    /// The combined report.
    pub report: SweepReport,
    /// The folder.
    pub dir: PathBuf,
    /// Replications run by this invocation (not resumed ones).
    pub ran: usize,
    /// Events simulated by this invocation.
    pub events: u64,
    /// Wall-clock seconds.
    pub wall_s: f64,
}

struct Job {
    point: usize,
    replication: u32,
}

/// Whether job `j` (point × replications + replication, in grid order)
/// belongs to slice K of N (`--shard K/N`): `j mod N = K − 1`.
#[inline]
pub fn in_slice(j: u64, shard: Option<(u32, u32)>) -> bool {
    shard.is_none_or(|(k, n)| j % u64::from(n) == u64::from(k - 1))
}

/// The (point, replication) jobs of slice `shard` of a grid of `points`
/// points × `replications` (all of them without a shard), in job order.
pub fn slice_jobs(
    points: u64,
    replications: u32,
    shard: Option<(u32, u32)>,
) -> impl Iterator<Item = (usize, u32)> {
    let r = u64::from(replications.max(1));
    (0..points.saturating_mul(r))
        .filter(move |j| in_slice(*j, shard))
        .map(move |j| ((j / r) as usize, (j % r) as u32))
}

/// A loaded point: its configuration and seed.
struct PointCfg {
    point: Point,
    cfg: Config,
    note: Option<String>,
    seed: u64,
}

/// A sweep's grid, checked as `run` checks it before running anything.
pub struct Prepared {
    /// The scenario with the overrides.
    pub base: scenario::Loaded,
    /// Its text with the overrides (hashed into the plan).
    pub text: String,
    /// The varied parameters, in grid order.
    pub params: IndexMap<String, Vec<Value>>,
    /// Replications per point (before precision rounds).
    pub replications: u32,
    /// Points in the grid.
    pub points: u64,
    /// The sweep folder: `--out`, else output/<name>-sweep.
    pub dir: PathBuf,
}

/// The plan a sweep folder of `opts` records (`sweep-plan.json`).
pub fn plan_of(opts: &SweepOptions, p: &Prepared) -> Plan {
    Plan {
        archsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: p.base.scenario.name.clone(),
        file: opts.file.display().to_string(),
        input_hash: plan_hash(&p.text, &opts.overrides),
        seed: p.base.scenario.seed,
        replications: p.replications,
        vary: p.params.clone(),
        shard: opts.shard,
        max_replications: (!opts.precision.is_empty()).then_some(opts.max_replications),
        overrides: opts.overrides.clone(),
    }
}

/// Load the scenario and check the grid and the flags: everything `run`
/// refuses before it starts (exit 2).
pub fn prepare(opts: &SweepOptions) -> Result<Prepared, SweepError> {
    let text = scenario::read_source(&opts.file, &opts.overrides)
        .map_err(|e| SweepError::BadInput(e.to_string()))?;
    prepare_text(opts, text)
}

/// As [`prepare`], for the scenario's `text` already read (`opts.file`
/// only names it in messages).
pub fn prepare_text(opts: &SweepOptions, text: String) -> Result<Prepared, SweepError> {
    let base_dir = opts.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let (scenario, config) = scenario::load_str(
        &opts.file.display().to_string(),
        &text,
        &base_dir,
        &opts.overrides,
        &opts.build,
    )
    .map_err(|e| SweepError::BadInput(e.to_string()))?;
    let base = scenario::Loaded {
        scenario,
        config,
        path: opts.file.clone(),
    };
    let spec = base.scenario.sweep.clone().unwrap_or_default();
    let params =
        grid::parameters(&spec.vary, &opts.vary).map_err(|e| SweepError::BadInput(format!("error: {e}")))?;
    if params.is_empty() {
        return Err(SweepError::BadInput(format!(
            "error: {}: nothing to vary: add a `sweep: {{ vary: {{ PATH: [V1, V2] }} }}` block or --vary PATH=V1,V2",
            opts.file.display()
        )));
    }
    grid::check_plot(spec.plot.as_ref(), &params).map_err(|e| SweepError::BadInput(format!("error: {e}")))?;
    let replications = opts.replications.or(spec.replications).unwrap_or(1);
    if !(1..=MAX_REPLICATIONS).contains(&replications) {
        return Err(SweepError::BadInput(format!(
            "error: replications must be at least 1 and at most {MAX_REPLICATIONS} (found {replications})"
        )));
    }
    if opts.jobs.is_some_and(|j| !(1..=MAX_JOBS).contains(&j)) {
        return Err(SweepError::BadInput(format!(
            "error: --jobs must be at least 1 and at most {MAX_JOBS}"
        )));
    }
    if !opts.precision.is_empty() && !(1..=MAX_REPLICATIONS).contains(&opts.max_replications) {
        return Err(SweepError::BadInput(format!(
            "error: --max-replications must be at least 1 and at most {MAX_REPLICATIONS}"
        )));
    }
    if let Some((k, n)) = opts.shard
        && (n == 0 || k == 0 || k > n)
    {
        return Err(SweepError::BadInput(format!(
            "error: --shard {k}/{n}: expected K/N with 1 ≤ K ≤ N"
        )));
    }
    if opts.shard.is_some() && !opts.precision.is_empty() {
        return Err(SweepError::BadInput(
            "error: --precision adds replications as results come in, so it cannot be split into --shard slices".into(),
        ));
    }
    let per_point = if opts.precision.is_empty() {
        replications
    } else {
        replications.max(opts.max_replications)
    };
    let n_points = grid::check_size(&params).map_err(|e| SweepError::BadInput(format!("error: {e}")))?;
    if n_points.saturating_mul(u64::from(per_point)) > MAX_SWEEP_REPLICATIONS {
        return Err(SweepError::BadInput(format!(
            "error: {n_points} points × {per_point} replications is more than the {MAX_SWEEP_REPLICATIONS} \
             replications one sweep may hold; vary fewer values or run fewer replications"
        )));
    }
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(format!("{}-sweep", base.scenario.name)));
    Ok(Prepared {
        base,
        text,
        params,
        replications,
        points: n_points,
        dir,
    })
}

/// Run a sweep. `cancel` (set by Ctrl-C) stops it between and inside
/// replications, keeping what finished.
pub fn run(opts: &SweepOptions, cancel: &AtomicBool) -> Result<SweepOutcome, SweepError> {
    let started = Instant::now();
    let prepared = prepare(opts)?;
    let Prepared {
        base,
        text,
        params,
        replications,
        dir,
        ..
    } = &prepared;
    let replications = *replications;
    let Ready {
        points,
        over_time,
        plan,
        question,
    } = ready(opts, text, &prepared)?;
    let mut folder = Folder::claim(dir, Kind::Sweep, &plan.scenario, opts.force, "--out")
        .map_err(|e| SweepError::from_output(&e))?;
    prepare_folder(&mut folder, &plan, opts)?;
    let lines_path = dir.join("points.jsonl");
    let (lines, skipped) = read_plan_lines(&lines_path, &plan)?;
    if !skipped.is_empty() && opts.progress != ProgressMode::Quiet {
        eprintln!("{}", skipped.describe(&lines_path));
    }
    let mut done: BTreeMap<(usize, u32), ()> = lines
        .into_iter()
        .map(|l| ((l.point, l.replication), ()))
        .collect();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&lines_path)
        .map_err(|e| io_err("open", &lines_path, e))?;
    // A crash mid-write can leave a torn last line: end it, so the next
    // line starts clean (the fragment is skipped when read).
    if ends_torn(&lines_path) {
        crate::files::Metered(&mut file)
            .write_all(b"\n")
            .map_err(|e| io_err("write", &lines_path, e))?;
    }
    let writer = Mutex::new(crate::files::Metered(file));
    // The first write error: the sweep stops and reports it.
    let write_error: Mutex<Option<String>> = Mutex::new(None);
    // A point whose simulated time stops (a zero-time loop): bad input.
    let livelock: Mutex<Option<String>> = Mutex::new(None);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| SweepError::Io(format!("error: cannot start worker threads: {e}")))?;

    let mut target: Vec<u32> = vec![replications; points.len()];
    let total_events = AtomicU64::new(0);
    let ran = AtomicUsize::new(0);
    loop {
        let jobs: Vec<Job> = (0..points.len())
            .flat_map(|p| {
                (0..target[p]).map(move |r| Job {
                    point: p,
                    replication: r,
                })
            })
            .enumerate()
            .filter(|(j, _)| in_slice(*j as u64, opts.shard))
            .map(|(_, job)| job)
            .filter(|job| !done.contains_key(&(job.point, job.replication)))
            .collect();
        if jobs.is_empty() {
            break;
        }
        let progress = Progress::new(opts.progress, jobs.len());
        pool.install(|| {
            jobs.par_iter().for_each(|job| {
                if cancel.load(Ordering::Relaxed) {
                    return;
                }
                let pc = &points[job.point];
                let seed = replication_seed(pc.seed, job.replication);
                let Some(out) = World::new(&pc.cfg, seed).run_until(Some(cancel)) else {
                    return;
                };
                if let Some(msg) = &out.livelock {
                    if let Ok(mut l) = livelock.lock() {
                        l.get_or_insert_with(|| {
                            format!(
                                "error: {}: sweep point {}: {msg}",
                                opts.file.display(),
                                point_label(&pc.point)
                            )
                        });
                    }
                    cancel.store(true, Ordering::Relaxed);
                    return;
                }
                let events = out.events;
                let line = line_of(job, seed, pc, out, &over_time);
                let mut text = serde_json::to_string(&line).unwrap_or_default();
                text.push('\n');
                // One write call per line (no buffering across lines), so
                // a line is in the file whole or, if the disk fills in the
                // middle of it, torn at the end where a resume skips it.
                // After the first error nothing more is written.
                let written = match writer.lock() {
                    Ok(mut w) => {
                        let failed = write_error.lock().map_or(true, |e| e.is_some());
                        !failed
                            && w.write_all(text.as_bytes())
                                .and_then(|_| w.flush())
                                .map_err(|e| {
                                    if let Ok(mut err) = write_error.lock() {
                                        err.get_or_insert(e.to_string());
                                    }
                                })
                                .is_ok()
                    }
                    Err(_) => false,
                };
                if !written {
                    cancel.store(true, Ordering::Relaxed);
                    return;
                }
                total_events.fetch_add(events, Ordering::Relaxed);
                let n = ran.fetch_add(1, Ordering::Relaxed) + 1;
                progress.tick(events);
                if opts.stop_after.is_some_and(|s| n >= s) {
                    cancel.store(true, Ordering::Relaxed);
                }
            })
        });
        progress.finish();
        if let Some(msg) = livelock.lock().ok().and_then(|mut l| l.take()) {
            return Err(SweepError::BadInput(msg));
        }
        if let Some(e) = write_error.lock().ok().and_then(|mut e| e.take()) {
            let have = read_plan_lines(&lines_path, &plan)?.0.len();
            return Err(SweepError::Io(format!(
                "error: cannot write {}: {e}\nThe sweep stopped: the {have} replications written before it are intact; \
                 make room and run the same command with --resume to finish",
                lines_path.display()
            )));
        }
        if cancel.load(Ordering::Relaxed) {
            let have = read_plan_lines(&lines_path, &plan)?.0.len();
            // The folder's own share: its slice of the grid.
            let total: usize = match opts.shard {
                Some(_) => slice_jobs(points.len() as u64, replications, opts.shard).count(),
                None => target.iter().map(|t| *t as usize).sum(),
            };
            return Err(SweepError::Interrupted {
                done: have,
                total,
                dir: dir.display().to_string(),
            });
        }
        for l in read_plan_lines(&lines_path, &plan)?.0 {
            done.insert((l.point, l.replication), ());
        }
        if opts.precision.is_empty() {
            break;
        }
        // Precision rounds: a point whose named intervals are still too wide
        // doubles its replications (up to the cap). The rule reads only
        // results, so the outcome does not depend on timing or --jobs.
        let report = build_report(&plan, &read_plan_lines(&lines_path, &plan)?.0, Some(&question));
        let mut more = false;
        for (i, pr) in report.points.iter().enumerate() {
            let wide = opts.precision.iter().any(|(m, rel)| match pr.metrics.get(m) {
                Some(MetricValue {
                    value,
                    ci95: Some(ci),
                }) => *ci > rel * value.abs(),
                Some(MetricValue { ci95: None, .. }) => true,
                None => false,
            });
            if wide && target[i] < opts.max_replications {
                target[i] = (target[i] * 2).max(2).min(opts.max_replications);
                more = true;
            }
        }
        if !more {
            break;
        }
    }
    // Close the file before reading it back (in the browser build a File
    // holds nothing, hence the allow).
    #[allow(clippy::drop_non_drop)]
    drop(writer);
    let lines = read_plan_lines(&lines_path, &plan)?.0;
    let report = build_report(&plan, &lines, Some(&question));
    let mut stage = folder.stage().map_err(|e| SweepError::from_output(&e))?;
    stage_outputs(&mut stage, &report, &lines, Some(&base.scenario), opts.png)?;
    provenance::stage(&mut stage, opts, dir, base.scenario.seed, params, replications)?;
    stage
        .commit(&["sweep-plan.json", "points.jsonl"])
        .map_err(|e| SweepError::from_output(&e))?;
    Ok(SweepOutcome {
        report,
        dir: dir.clone(),
        ran: ran.load(Ordering::Relaxed),
        events: total_events.load(Ordering::Relaxed),
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// A prepared sweep's points loaded and checked, with its plan and question.
struct Ready {
    points: Vec<PointCfg>,
    over_time: Vec<String>,
    plan: Plan,
    question: Question,
}

/// Load every point and check `sweep.plot.over_time` against them; the
/// plan and the question of the sweep `prepared` from `text`.
fn ready(opts: &SweepOptions, text: &str, prepared: &Prepared) -> Result<Ready, SweepError> {
    let base = &prepared.base;
    let spec = base.scenario.sweep.clone().unwrap_or_default();
    let points = load_points(opts, text, &prepared.params)?;
    let over_time = spec
        .plot
        .as_ref()
        .map(|p| p.over_time.clone())
        .unwrap_or_default();
    check_over_time(opts, text, &points, &over_time)?;
    Ok(Ready {
        points,
        over_time,
        plan: plan_of(opts, prepared),
        question: question(
            &opts.file,
            text,
            &base.scenario,
            &opts.overrides,
            &prepared.params,
        )?,
    })
}

/// One replication's line of `points.jsonl`: its finite metrics, its
/// notes, and for replication 0 the time series `over_time` names.
fn line_of(job: &Job, seed: u64, pc: &PointCfg, out: crate::model::RunOutput, over_time: &[String]) -> Line {
    Line {
        point: job.point,
        replication: job.replication,
        seed,
        params: pc.point.params.clone(),
        metrics: out.metrics.into_iter().filter(|(_, v)| v.is_finite()).collect(),
        notes: out.notes.into_iter().chain(pc.note.clone()).collect(),
        over_time: (job.replication == 0 && !over_time.is_empty())
            .then(|| overlay::keep(&out.columns, &out.rows, &out.annotations, over_time))
            .flatten(),
    }
}

/// A sweep held in memory ([`in_memory`]): its report, page and charts.
pub struct InMemory {
    /// What `sweep.json` holds.
    pub report: SweepReport,
    /// The sweep's `index.html`, charts inline.
    pub page: String,
    /// The charts, in page order.
    pub charts: Vec<crate::report::plot::ChartFile>,
    /// Events simulated, all replications.
    pub events: u64,
}

/// Run a sweep of the scenario `text` without a folder, for a host with no
/// files (the browser playground): the same grid, seeds and report as
/// [`run`], the replications one after another, nothing to resume. Each
/// finished replication reports its share through [`crate::host`].
pub fn in_memory(opts: &SweepOptions, text: &str) -> Result<InMemory, SweepError> {
    if !opts.precision.is_empty() || opts.shard.is_some() {
        return Err(SweepError::BadInput(
            "error: a sweep in memory takes neither --precision nor --shard".into(),
        ));
    }
    let prepared = prepare_text(opts, text.to_string())?;
    let Prepared {
        base, replications, ..
    } = &prepared;
    let Ready {
        points,
        over_time,
        plan,
        question,
    } = ready(opts, text, &prepared)?;
    let jobs: Vec<Job> = (0..points.len())
        .flat_map(|p| {
            (0..*replications).map(move |r| Job {
                point: p,
                replication: r,
            })
        })
        .collect();
    let mut lines = Vec::with_capacity(jobs.len());
    let mut events = 0;
    for (i, job) in jobs.iter().enumerate() {
        crate::host::set_span(i as f64 / jobs.len() as f64, 1.0 / jobs.len() as f64);
        let pc = &points[job.point];
        let seed = replication_seed(pc.seed, job.replication);
        let out = World::new(&pc.cfg, seed).run();
        if let Some(msg) = &out.livelock {
            return Err(SweepError::BadInput(format!(
                "error: {}: sweep point {}: {msg}",
                opts.file.display(),
                point_label(&pc.point)
            )));
        }
        events += out.events;
        lines.push(line_of(job, seed, pc, out, &over_time));
    }
    let report = build_report(&plan, &lines, Some(&question));
    let (charts, page) = page_outputs(&report, &lines, Some(&base.scenario));
    Ok(InMemory {
        report,
        page,
        charts,
        events,
    })
}

/// Check `sweep.plot.over_time` against the columns the points' runs will
/// record (which depend on each component's kind and settings: a load
/// balancer has none, a service its `NAME.replicas`): a column no point
/// has is bad input, located in the file.
fn check_over_time(
    opts: &SweepOptions,
    text: &str,
    points: &[PointCfg],
    over_time: &[String],
) -> Result<(), SweepError> {
    if over_time.is_empty() {
        return Ok(());
    }
    let mut known: Vec<String> = Vec::new();
    for pc in points {
        for c in World::new(&pc.cfg, pc.seed).columns() {
            if !known.contains(c) {
                known.push(c.clone());
            }
        }
    }
    let Some((i, missing)) = over_time.iter().enumerate().find(|(_, c)| !known.contains(c)) else {
        return Ok(());
    };
    // The columns of the component it names, else the scenario-wide ones.
    let owner = missing.split(['.', '[']).next().unwrap_or(missing);
    let mut theirs: Vec<&str> = known
        .iter()
        .filter(|c| c.split(['.', '[']).next() == Some(owner) && c.contains('.'))
        .map(String::as_str)
        .take(12)
        .collect();
    let whose = if theirs.is_empty() {
        theirs = crate::model::RUN_COLUMNS[1..].to_vec();
        format!("`{owner}` records no time series of its own; the scenario-wide columns are")
    } else {
        format!("the columns of `{owner}` are")
    };
    let message = format!(
        "no point of this sweep records the time-series column `{missing}`: {whose} {}",
        theirs.join(", ")
    );
    let err = scenario::error_at(
        &opts.file.display().to_string(),
        text,
        &opts.overrides,
        &format!("sweep.plot.over_time.{i}"),
        message,
    );
    Err(SweepError::BadInput(err.to_string()))
}

/// A point's parameters as `path=value, …` for messages.
fn point_label(p: &Point) -> String {
    p.params
        .iter()
        .map(|(k, v)| format!("{k}={}", value_label(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Load every point's configuration up front, so a bad value fails the
/// sweep before anything runs.
fn load_points(
    opts: &SweepOptions,
    text: &str,
    params: &IndexMap<String, Vec<Value>>,
) -> Result<Vec<PointCfg>, SweepError> {
    let label = opts.file.display().to_string();
    let base_dir = opts.file.parent().map(Path::to_path_buf).unwrap_or_default();
    grid::points(params)
        .into_iter()
        .map(|point| {
            let mut ov = opts.overrides.clone();
            ov.extend(
                point
                    .overrides()
                    .iter()
                    .map(|o| scenario::labeled("sweep point", o)),
            );
            let (sc, cfg) = scenario::load_str(&label, text, &base_dir, &ov, &opts.build)
                .map_err(|e| SweepError::BadInput(e.to_string()))?;
            // `warmup: auto`: each point's own pilot run picks its cut.
            let (cfg, note) = crate::run::resolve_warmup(&cfg, sc.seed);
            Ok(PointCfg {
                point,
                cfg,
                note,
                seed: sc.seed,
            })
        })
        .collect()
}

fn prepare_folder(folder: &mut Folder, plan: &Plan, opts: &SweepOptions) -> Result<(), SweepError> {
    let dir = folder.path().to_path_buf();
    let plan_path = dir.join("sweep-plan.json");
    let lines_path = dir.join("points.jsonl");
    let has_lines = std::fs::metadata(&lines_path).is_ok_and(|m| m.len() > 0);
    let old_plan = read_plan(&plan_path)?;
    if opts.resume {
        match &old_plan {
            Some(old) if !old.same_sweep(plan) || old.shard != plan.shard => {
                return Err(SweepError::BadInput(format!(
                    "error: {} holds a different sweep (scenario, overrides, grid, replications or shard \
                     differ); use another --out, or --force to start over",
                    dir.display()
                )));
            }
            None if has_lines => {
                return Err(SweepError::BadInput(format!(
                    "error: {} has points.jsonl but no sweep-plan.json, so its lines cannot be checked \
                     against this sweep; use another --out, or --force to start over",
                    dir.display()
                )));
            }
            _ => {}
        }
    } else if crate::files::unfinished_sweep(&dir) && !opts.force {
        // Finished results of the same scenario are replaced, as a run's
        // are; an unfinished sweep's lines are kept for --resume.
        return Err(SweepError::BadInput(format!(
            "error: {} holds an unfinished sweep; use --resume to finish it or --force to start over",
            dir.display()
        )));
    } else {
        folder.clear().map_err(|e| SweepError::from_output(&e))?;
        for f in ["points.jsonl", "sweep.json", "sweep.csv"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    let text = serde_json::to_string_pretty(plan).unwrap_or_default() + "\n";
    write_atomic(&plan_path, text.as_bytes()).map_err(|e| io_err("write", &plan_path, e))?;
    folder
        .record(&["sweep-plan.json", "points.jsonl"])
        .map_err(|e| SweepError::from_output(&e))
}

/// A folder's sweep-plan.json, if it has one; a damaged one is bad input.
fn read_plan(path: &Path) -> Result<Option<Plan>, SweepError> {
    let bytes = match crate::files::read_limited(path, crate::files::MAX_RESULT_FILE) {
        Ok(b) => b,
        Err(e) if e.not_found() => return Ok(None),
        Err(e) => {
            return Err(SweepError::BadInput(format!(
                "error: cannot read {}: {e}",
                path.display()
            )));
        }
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        SweepError::BadInput(format!(
            "error: {} is damaged ({e}); restore it, or start over with --force",
            path.display()
        ))
    })
}

/// Whether a file ends in the middle of a line.
fn ends_torn(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1)).is_ok() && f.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

/// Every complete line of a points.jsonl, first occurrence of each
/// (point, replication). Any byte sequence is survivable: a line that is
/// not valid UTF-8 or JSON (a torn line from a crash, garbage) is skipped.
pub fn read_lines(path: &Path) -> Result<Vec<Line>, SweepError> {
    let mut seen = BTreeMap::new();
    for l in read_all_lines(path)?.0 {
        seen.entry((l.point, l.replication)).or_insert(l);
    }
    Ok(seen.into_values().collect())
}

/// Every readable line in file order (duplicates included), and the count
/// of lines skipped as unreadable.
fn read_all_lines(path: &Path) -> Result<(Vec<Line>, usize), SweepError> {
    use std::io::BufRead;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(io_err("read", path, e)),
    };
    let mut all = Vec::new();
    let mut unreadable = 0;
    let mut reader = std::io::BufReader::new(f);
    let mut buf = Vec::new();
    // Lines are short (one replication's metrics); a runaway "line" is read
    // in bounded pieces and skipped.
    let mut piece = |buf: &mut Vec<u8>| -> Result<usize, SweepError> {
        buf.clear();
        (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', buf)
            .map_err(|e| io_err("read", path, e))
    };
    loop {
        let n = piece(&mut buf)?;
        if n == 0 {
            break;
        }
        if buf.last() != Some(&b'\n') && n as u64 == MAX_LINE_BYTES {
            // Skip the rest of an oversized line.
            unreadable += 1;
            while piece(&mut buf)? > 0 && buf.last() != Some(&b'\n') {}
            continue;
        }
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Line>(text) {
            Ok(l) => all.push(l),
            Err(_) => unreadable += 1,
        }
    }
    Ok((all, unreadable))
}

/// Longest points.jsonl line read (a replication's metrics take a few KiB).
const MAX_LINE_BYTES: u64 = 16 << 20;

/// Lines of points.jsonl set aside because they do not belong to the plan.
#[derive(Debug, Default)]
pub struct Skipped {
    /// Not JSON lines of a replication (torn, damaged).
    pub unreadable: usize,
    /// Point index outside the grid, or parameters not the point's.
    pub wrong_point: usize,
    /// Replication number beyond what the plan runs.
    pub out_of_range: usize,
    /// Seed not the one this plan gives that replication.
    pub wrong_seed: usize,
}

impl Skipped {
    fn is_empty(&self) -> bool {
        self.unreadable + self.wrong_point + self.out_of_range + self.wrong_seed == 0
    }

    /// A sentence for the user.
    pub fn describe(&self, path: &Path) -> String {
        let mut parts = Vec::new();
        for (n, why) in [
            (self.unreadable, "not a complete line (torn or damaged)"),
            (self.wrong_point, "a point not in this grid"),
            (self.out_of_range, "a replication number beyond this plan"),
            (self.wrong_seed, "a seed this plan does not give"),
        ] {
            if n > 0 {
                parts.push(format!("{n} with {why}"));
            }
        }
        format!(
            "note: skipped {} lines of {} that do not belong to this sweep: {}; they are left in the file and run again where needed",
            self.unreadable + self.wrong_point + self.out_of_range + self.wrong_seed,
            path.display(),
            parts.join(", ")
        )
    }
}

/// The seed of replication `r` of a point under `plan`: from the point's
/// own `seed` when the grid varies it, else the plan's.
fn expected_seed(plan: &Plan, params: &IndexMap<String, Value>, r: u32) -> Option<u64> {
    let base = match params.get("seed") {
        Some(v) => v.as_u64()?,
        None => plan.seed,
    };
    Some(replication_seed(base, r))
}

/// The lines of `path` that belong to `plan` (point in the grid with its
/// parameters, replication in range, the seed the plan gives it), and what
/// was skipped.
pub fn read_plan_lines(path: &Path, plan: &Plan) -> Result<(Vec<Line>, Skipped), SweepError> {
    let (lines, unreadable) = read_all_lines(path)?;
    let mut skipped = Skipped {
        unreadable,
        ..Skipped::default()
    };
    let points = grid::points(&plan.vary);
    let most = plan.replications.max(plan.max_replications.unwrap_or(0));
    let kept = lines
        .into_iter()
        .filter(|l| {
            let Some(p) = points.get(l.point).filter(|p| p.params == l.params) else {
                skipped.wrong_point += 1;
                return false;
            };
            if l.replication >= most {
                skipped.out_of_range += 1;
                return false;
            }
            if expected_seed(plan, &p.params, l.replication).is_some_and(|s| s != l.seed) {
                skipped.wrong_seed += 1;
                return false;
            }
            true
        })
        .map(|l| ((l.point, l.replication), l))
        .collect::<Vec<_>>();
    // First occurrence of each (point, replication).
    let mut seen = BTreeMap::new();
    for (k, l) in kept {
        seen.entry(k).or_insert(l);
    }
    Ok((seen.into_values().collect(), skipped))
}

/// What a sweep asks of its points: the scenario's headline metrics and
/// each grid point's SLO objectives.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Question {
    /// The headline metrics ([`crate::run::headline_of`] the scenario).
    pub headline: Vec<String>,
    /// Each grid point's objectives, in grid order.
    pub objectives: Vec<Vec<Objective>>,
    /// Each grid point's theoretical prediction (`explain`'s, as metric
    /// names), in grid order; empty where the point does not load.
    pub theory: Vec<BTreeMap<String, f64>>,
}

/// The question of a sweep of `base` (the scenario as loaded with the
/// sweep's `overrides`) over the grid `vary`. The objectives are the base's
/// at every point, unless the grid varies the `slo` block itself: then each
/// point's own (the file with the overrides and that point's parameters).
pub fn question(
    file: &Path,
    text: &str,
    base: &scenario::Scenario,
    overrides: &[String],
    vary: &IndexMap<String, Vec<Value>>,
) -> Result<Question, SweepError> {
    let points = grid::points(vary);
    let objectives_of = |sc: &scenario::Scenario| sc.slo.as_ref().map(|s| s.objectives()).unwrap_or_default();
    let varies_slo = vary.keys().any(|k| k == "slo" || k.starts_with("slo."));
    let label = file.display().to_string();
    let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    // Each point as loaded: its objectives when the grid varies them, and
    // always its prediction (loading is parsing: milliseconds a point).
    let mut objectives = Vec::with_capacity(points.len());
    let mut theory = Vec::with_capacity(points.len());
    for point in &points {
        let mut ov = overrides.to_vec();
        ov.extend(
            point
                .overrides()
                .iter()
                .map(|o| scenario::labeled("sweep point", o)),
        );
        match scenario::load_str(&label, text, &base_dir, &ov, &BuildOptions::default()) {
            Ok((sc, cfg)) => {
                theory.push(crate::explain::predicted_metrics(&crate::explain::predict(
                    &sc, &cfg,
                )));
                objectives.push(if varies_slo {
                    objectives_of(&sc)
                } else {
                    objectives_of(base)
                });
            }
            Err(e) if varies_slo => return Err(SweepError::BadInput(e.to_string())),
            Err(_) => {
                theory.push(BTreeMap::new());
                objectives.push(objectives_of(base));
            }
        }
    }
    Ok(Question {
        headline: crate::run::headline_of(base),
        objectives,
        theory,
    })
}

/// Combine lines (any order) into the sweep report, points in grid order;
/// with a `question`, each point's SLO verdicts and the headline (a fresh
/// sweep, `--resume` and `merge` all build it so, hence agree).
pub fn build_report(plan: &Plan, lines: &[Line], question: Option<&Question>) -> SweepReport {
    let mut by_point: BTreeMap<usize, Vec<&Line>> = BTreeMap::new();
    for l in lines {
        by_point.entry(l.point).or_default().push(l);
    }
    let all = grid::points(&plan.vary);
    let mut points = Vec::new();
    for (i, p) in all.iter().enumerate() {
        let Some(ls) = by_point.get_mut(&i) else { continue };
        ls.sort_by_key(|l| l.replication);
        let maps: Vec<Metrics> = ls.iter().map(|l| l.metrics.clone()).collect();
        let refs: Vec<&Metrics> = maps.iter().collect();
        let metrics = combine_metrics(&refs);
        let replication_values = crate::run::replication_values(&refs);
        let notes = crate::run::merge_notes(ls.iter().map(|l| &l.notes));
        let replications = ls.len() as u32;
        let slo = question
            .and_then(|q| q.objectives.get(i))
            .map(|o| crate::run::slo::judge(o, &metrics, replications))
            .unwrap_or_default();
        let theory = question
            .and_then(|q| q.theory.get(i))
            .cloned()
            .unwrap_or_default();
        points.push(PointReport {
            params: p.params.clone(),
            replications,
            slo,
            metrics,
            theory,
            replication_seeds: ls.iter().map(|l| l.seed).collect(),
            replication_values,
            notes,
        });
    }
    SweepReport {
        archsim_version: plan.archsim_version.clone(),
        scenario: plan.scenario.clone(),
        seed: plan.seed,
        replications: plan.replications,
        vary: plan.vary.clone(),
        headline: question.map(|q| q.headline.clone()).unwrap_or_default(),
        points,
    }
}

/// The sweep.csv column of each of a point's objectives: `slo:<metric>`
/// (`#2`, `#3`… for a second objective on one metric).
fn slo_names(results: &[SloResult]) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for r in results {
        let base = format!("slo:{}", r.metric);
        let mut name = base.clone();
        let mut n = 1;
        while cols.contains(&name) {
            n += 1;
            name = format!("{base}#{n}");
        }
        cols.push(name);
    }
    cols
}

/// Every point's SLO columns, in first-seen order (the points share one
/// list unless the grid varies the `slo` block).
fn slo_columns(report: &SweepReport) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    for p in &report.points {
        for c in slo_names(&p.slo) {
            if !cols.contains(&c) {
                cols.push(c);
            }
        }
    }
    cols
}

/// A verdict as sweep.json spells it: `pass`, `fail`, `uncertain`, `no_data`.
fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Uncertain => "uncertain",
        Verdict::NoData => "no_data",
    }
}

/// `sweep.csv`: one row per point: parameters, replications, then each
/// metric's value and ci95 (quoted by the csv crate where a field needs it:
/// a parameter value such as a list label may hold a comma); when the
/// scenario has SLO objectives, then `slo` (the point's overall verdict)
/// and a `slo:<metric>` verdict per objective, spelt as in sweep.json.
pub fn csv(report: &SweepReport) -> String {
    let mut metrics: Vec<&String> = report.points.iter().flat_map(|p| p.metrics.keys()).collect();
    metrics.sort();
    metrics.dedup();
    let mut w = CsvText::default();
    let mut header: Vec<String> = report.vary.keys().cloned().collect();
    header.push("replications".into());
    for m in &metrics {
        header.push((*m).clone());
        header.push(format!("{m}.ci95"));
    }
    let slo_cols = slo_columns(report);
    if !slo_cols.is_empty() {
        header.push("slo".into());
        header.extend(slo_cols.iter().cloned());
    }
    w.record(&header);
    for p in &report.points {
        let mut row: Vec<String> = report
            .vary
            .keys()
            .map(|k| p.params.get(k).map(value_label).unwrap_or_default())
            .collect();
        row.push(p.replications.to_string());
        for m in &metrics {
            match p.metrics.get(*m) {
                Some(v) => {
                    row.push(format!("{}", v.value));
                    row.push(v.ci95.map(|c| format!("{c}")).unwrap_or_default());
                }
                None => {
                    row.push(String::new());
                    row.push(String::new());
                }
            }
        }
        if !slo_cols.is_empty() {
            row.push(overall(&p.slo).map(verdict_name).unwrap_or_default().to_string());
            let names = slo_names(&p.slo);
            for c in &slo_cols {
                let v = names
                    .iter()
                    .position(|n| n == c)
                    .map(|i| verdict_name(p.slo[i].verdict));
                row.push(v.unwrap_or_default().to_string());
            }
        }
        w.record(&row);
    }
    w.finish()
}

/// A sweep folder's results: sweep.json, sweep.csv, the charts (the
/// over_time ones from `lines`) and index.html, staged to land together.
fn stage_outputs(
    stage: &mut crate::files::Stage<'_>,
    report: &SweepReport,
    lines: &[Line],
    scenario: Option<&crate::scenario::Scenario>,
    png: bool,
) -> Result<(), SweepError> {
    let out = |e: crate::files::OutputError| SweepError::from_output(&e);
    stage
        .write("sweep.json", report.to_json().as_bytes())
        .map_err(out)?;
    stage.write("sweep.csv", csv(report).as_bytes()).map_err(out)?;
    let (charts, page) = page_outputs(report, lines, scenario);
    let files = crate::report::plot::chart_files(&charts, png)
        .map_err(|e| SweepError::Io(format!("error: cannot draw the charts: {e}")))?;
    for (name, bytes) in &files {
        stage.write(name, bytes).map_err(out)?;
    }
    stage.write("index.html", page.as_bytes()).map_err(out)
}

/// A sweep page's charts (the topology first, then one per metric and the
/// time-series overlays) and its `index.html`.
pub fn page_outputs(
    report: &SweepReport,
    lines: &[Line],
    scenario: Option<&crate::scenario::Scenario>,
) -> (Vec<crate::report::plot::ChartFile>, String) {
    let sweep = scenario.and_then(|s| s.sweep.as_ref());
    let slo = scenario
        .and_then(|s| s.slo.as_ref())
        .map(|s| s.targets())
        .unwrap_or_default();
    let plot = sweep.and_then(|s| s.plot.as_ref());
    let mut charts = charts::sweep_charts(report, plot, &slo);
    if let Some(p) = plot {
        charts.extend(overlay::overlay_charts(lines, &p.over_time, &report.vary));
    }
    charts.splice(
        0..0,
        scenario.and_then(|s| crate::report::topology::of_scenario(s, Path::new("."))),
    );
    let page = page::sweep_page(report, scenario.map_or("", |s| s.description.as_str()), &charts);
    (charts, page)
}

/// Join shard folders into one sweep folder, identical to an unsharded run.
///
/// A folder that is not a sweep folder but holds shard folders of a
/// cluster run (`shard-K-of-N`, see [`cluster`]) stands for them. Every
/// (point, replication) of the plan must be in some folder: what is
/// missing is named, by shard, and refused (exit 2) unless `partial`.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    png: bool,
    force: bool,
    partial: bool,
) -> Result<SweepReport, SweepError> {
    let dirs = &cluster::expand_roots(dirs);
    let mut plan: Option<Plan> = None;
    let mut lines: BTreeMap<(usize, u32), Line> = BTreeMap::new();
    let mut shards: BTreeMap<u32, u32> = BTreeMap::new();
    let mut shard_dirs: BTreeMap<u32, &Path> = BTreeMap::new();
    let mut whole = false;
    for d in dirs {
        let pp = d.join("sweep-plan.json");
        let Some(mut p) = read_plan(&pp)? else {
            return Err(SweepError::BadInput(format!(
                "error: {} is not a sweep folder: it has no sweep-plan.json",
                d.display()
            )));
        };
        let (kept, skipped) = read_plan_lines(&d.join("points.jsonl"), &p)?;
        if !skipped.is_empty() {
            eprintln!("{}", skipped.describe(&d.join("points.jsonl")));
        }
        match p.shard.take() {
            Some((k, n)) => {
                shards.insert(k, n);
                shard_dirs.entry(k).or_insert(d.as_path());
            }
            None => whole = true,
        }
        match &plan {
            None => plan = Some(p),
            Some(q) if !q.same_sweep(&p) => {
                return Err(SweepError::BadInput(format!(
                    "error: {} belongs to a different sweep than {} (scenario, overrides, grid or replications differ)",
                    d.display(),
                    dirs[0].display()
                )));
            }
            Some(_) => {}
        }
        for l in kept {
            lines.entry((l.point, l.replication)).or_insert(l);
        }
    }
    let Some(plan) = plan else {
        return Err(SweepError::BadInput(
            "error: merge needs at least one sweep folder".into(),
        ));
    };
    // Every slice of one split must be there (unless an unsharded folder
    // is among the inputs, which holds everything).
    if !whole && let Some(&n) = shards.values().next() {
        if shards.values().any(|m| *m != n) {
            return Err(SweepError::BadInput(
                "error: the folders come from different splits (--shard K/N with different N)".into(),
            ));
        }
        let missing: Vec<String> = (1..=n)
            .filter(|k| !shards.contains_key(k))
            .map(|k| format!("{k}/{n}"))
            .collect();
        if !missing.is_empty() {
            return Err(SweepError::BadInput(format!(
                "error: shards {} are missing: merge every slice of the split{}",
                missing.join(", "),
                cluster::rerun_hint(dirs)
            )));
        }
    }
    // Every replication of every slice must have finished.
    if plan.max_replications.is_none() {
        let points = plan.vary.values().map(|v| v.len() as u64).product::<u64>();
        let n = if whole {
            None
        } else {
            shards.values().next().copied()
        };
        let gaps = cluster::gaps(points, plan.replications, n, &shard_dirs, |job| {
            lines.contains_key(&job)
        });
        if !gaps.is_empty() {
            let text = cluster::describe_gaps(&gaps, &plan);
            if !partial {
                return Err(SweepError::BadInput(format!(
                    "error: {text}{}\n  or merge what there is with --partial",
                    cluster::rerun_hint(dirs)
                )));
            }
            eprintln!("note: --partial: {text}");
        }
    }
    let mut folder = Folder::claim(out, Kind::Sweep, &plan.scenario, force, "--out")
        .map_err(|e| SweepError::from_output(&e))?;
    if !force && crate::files::unfinished_sweep(out) {
        return Err(SweepError::BadInput(format!(
            "error: --out {}: holds an unfinished sweep of `{}`; finish it with `archsim sweep … --resume`, \
             choose another --out, or add --force to replace it",
            out.display(),
            plan.scenario
        )));
    }
    if force {
        folder.clear().map_err(|e| SweepError::from_output(&e))?;
    }
    let plan_text = serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n";
    let mut jl = String::new();
    for l in lines.values() {
        jl.push_str(&serde_json::to_string(l).unwrap_or_default());
        jl.push('\n');
    }
    let lines: Vec<Line> = lines.into_values().collect();
    // The scenario (for its headline, objectives, plot block and
    // description), with the overrides the slices ran, if it is where they
    // found it.
    let (scenario, question) = match merged_scenario(&plan) {
        Ok((sc, q)) => (Some(sc), Some(q)),
        Err(why) => {
            eprintln!(
                "note: {why}: the merged sweep has no headline, SLO verdicts, plot block or description"
            );
            (None, None)
        }
    };
    let report = build_report(&plan, &lines, question.as_ref());
    let mut stage = folder.stage().map_err(|e| SweepError::from_output(&e))?;
    let staged = |e: crate::files::OutputError| SweepError::from_output(&e);
    stage
        .write("sweep-plan.json", plan_text.as_bytes())
        .map_err(staged)?;
    stage.write("points.jsonl", jl.as_bytes()).map_err(staged)?;
    stage_outputs(&mut stage, &report, &lines, scenario.as_ref(), png)?;
    provenance::stage_merged(&mut stage, dirs, &plan)?;
    stage.commit(&[]).map_err(staged)?;
    Ok(report)
}

/// The scenario a merged sweep's slices ran (its file as the plan names
/// it, with the plan's overrides) and its question; why not, if it cannot
/// be loaded. A file changed since the slices ran is used as it is now,
/// with a note.
fn merged_scenario(plan: &Plan) -> Result<(scenario::Scenario, Question), String> {
    let file = Path::new(&plan.file);
    let loaded = scenario::load(file, &plan.overrides, &BuildOptions::default())
        .map_err(|e| format!("cannot load the scenario {}: {e}", file.display()))?;
    let text = scenario::read_source(file, &plan.overrides)
        .map_err(|e| format!("cannot read the scenario {}: {e}", file.display()))?;
    if plan_hash(&text, &plan.overrides) != plan.input_hash {
        eprintln!(
            "note: {} has changed since the sweep ran: its headline, SLO objectives and plot block are taken \
             from it as it is now",
            file.display()
        );
    }
    let q =
        question(file, &text, &loaded.scenario, &plan.overrides, &plan.vary).map_err(|e| e.to_string())?;
    Ok((loaded.scenario, q))
}

/// The plan's `input_hash`: of the scenario text and the overrides.
fn plan_hash(text: &str, overrides: &[String]) -> String {
    let mut hash_input = text.to_string();
    for o in overrides {
        hash_input.push('\n');
        hash_input.push_str(o);
    }
    format!("{:016x}", stable_hash(&hash_input))
}

/// Without the command line there is no bar (the browser shows its own).
#[cfg(not(feature = "cli"))]
pub(crate) struct NoBar;

#[cfg(not(feature = "cli"))]
impl NoBar {
    pub(crate) fn inc(&self, _: u64) {}
    fn set_message(&self, _: String) {}
    pub(crate) fn finish_and_clear(&self) {}
}

/// Progress: an indicatif bar on a terminal, a plain line every ~10 s
/// otherwise, nothing when quiet.
struct Progress {
    #[cfg(feature = "cli")]
    bar: Option<indicatif::ProgressBar>,
    #[cfg(not(feature = "cli"))]
    bar: Option<NoBar>,
    plain: bool,
    total: usize,
    done: AtomicUsize,
    events: AtomicU64,
    start: Instant,
    last: Mutex<Instant>,
}

impl Progress {
    fn new(mode: ProgressMode, total: usize) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        #[cfg(not(feature = "cli"))]
        let bar = None;
        #[cfg(feature = "cli")]
        let bar = (mode == ProgressMode::Auto && terminal).then(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} replications · ETA {eta} · {msg}",
            ) {
                b.set_style(style);
            }
            b
        });
        Progress {
            bar,
            plain: mode == ProgressMode::Auto && !terminal,
            total,
            done: AtomicUsize::new(0),
            events: AtomicU64::new(0),
            start: Instant::now(),
            last: Mutex::new(Instant::now()),
        }
    }

    fn tick(&self, events: u64) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let ev = self.events.fetch_add(events, Ordering::Relaxed) + events;
        let rate = ev as f64 / self.start.elapsed().as_secs_f64().max(1e-9);
        if let Some(b) = &self.bar {
            b.inc(1);
            b.set_message(format!("{:.1} M events/s", rate / 1e6));
        } else if self.plain
            && let Ok(mut last) = self.last.lock()
            && (last.elapsed().as_secs_f64() >= 10.0 || done == self.total)
        {
            *last = Instant::now();
            eprintln!(
                "sweep: {done}/{} replications done, {:.1} M events/s, {:.0} s elapsed",
                self.total,
                rate / 1e6,
                self.start.elapsed().as_secs_f64()
            );
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The metrics a sweep's table and page lead with: the report's headline,
/// else (a report built without its scenario) [`crate::run::DEFAULT_HEADLINE`].
pub fn headline(report: &SweepReport) -> Vec<String> {
    if report.headline.is_empty() {
        crate::run::DEFAULT_HEADLINE
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        report.headline.clone()
    }
}

/// Whether the sweep judged objectives (every point has the same list,
/// unless the grid varies the `slo` block).
pub fn has_objectives(report: &SweepReport) -> bool {
    report.points.iter().any(|p| !p.slo.is_empty())
}

/// A metric's short name in a verdict: `latency.p99_ms` → `p99`,
/// `clients.web.availability` → `web availability`.
fn short_metric(m: &str) -> String {
    let owner = ["clients.", "components."]
        .iter()
        .find_map(|p| m.strip_prefix(p))
        .and_then(|rest| rest.split('.').next())
        .filter(|o| m.matches('.').count() > 1 && !o.is_empty());
    let last = m.rsplit('.').next().unwrap_or(m);
    let last = ["_ms", "_rps", "_s"]
        .iter()
        .find_map(|u| last.strip_suffix(u))
        .unwrap_or(last);
    match owner {
        Some(o) => format!("{o} {last}"),
        None => last.to_string(),
    }
}

/// A point's overall verdict, and with several objectives the ones that
/// decided it when it is not a pass: `FAIL (p99)`, `UNCERTAIN (p99, availability)`.
/// Empty without objectives.
pub fn verdict_text(results: &[SloResult]) -> String {
    let Some(all) = overall(results) else {
        return String::new();
    };
    if results.len() == 1 || all == Verdict::Pass {
        return all.word().to_string();
    }
    let decided = |v: Verdict| match all {
        Verdict::Fail => v == Verdict::Fail,
        _ => matches!(v, Verdict::Uncertain | Verdict::NoData),
    };
    let shorts: Vec<String> = results.iter().map(|r| short_metric(&r.metric)).collect();
    let mut names: Vec<String> = Vec::new();
    for (r, short) in results.iter().zip(&shorts) {
        if !decided(r.verdict) {
            continue;
        }
        // Two objectives with one short name: the full names.
        let name = if shorts.iter().filter(|s| *s == short).count() > 1 {
            r.metric.clone()
        } else {
            short.clone()
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    format!("{} ({})", all.word(), names.join(", "))
}

/// A text table of the points: parameters, replications, the headline
/// metrics (see [`headline`]) in their units ± their 95% half-width, the
/// SLO verdict when the scenario has objectives, and UNSTABLE.
pub fn table(report: &SweepReport) -> String {
    let metrics = headline(report);
    let judged = has_objectives(report);
    let mut header: Vec<String> = report.vary.keys().cloned().collect();
    header.push("reps".into());
    header.extend(metrics.iter().cloned());
    if judged {
        header.push("SLO".into());
    }
    let mut rows = vec![header];
    for p in &report.points {
        let mut row: Vec<String> = report
            .vary
            .keys()
            .map(|k| p.params.get(k).map(value_label).unwrap_or_default())
            .collect();
        row.push(p.replications.to_string());
        for m in &metrics {
            row.push(match crate::run::slo::lookup(&p.metrics, m) {
                Some(v) => crate::report::answers::fmt_value(m, &v, p.replications),
                None => "-".into(),
            });
        }
        if judged {
            row.push(verdict_text(&p.slo));
        }
        if p.notes.iter().any(|n| n.starts_with("UNSTABLE")) {
            row.push("UNSTABLE".into());
        }
        rows.push(row);
    }
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut s = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        s.push_str(cells.join("  ").trim_end());
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::spec::Goal;

    fn result(metric: &str, verdict: Verdict) -> SloResult {
        SloResult {
            metric: metric.into(),
            goal: Goal::AtMost,
            target: 1.0,
            value: Some(1.0),
            ci95: None,
            interval: false,
            verdict,
        }
    }

    #[test]
    fn a_verdict_names_what_decided_it() {
        assert_eq!(verdict_text(&[]), "");
        assert_eq!(verdict_text(&[result("latency.p99_ms", Verdict::Fail)]), "FAIL");
        let two = |a, b| verdict_text(&[result("latency.p99_ms", a), result("clients.web.availability", b)]);
        assert_eq!(two(Verdict::Pass, Verdict::Pass), "PASS");
        assert_eq!(two(Verdict::Fail, Verdict::Pass), "FAIL (p99)");
        assert_eq!(two(Verdict::Fail, Verdict::Uncertain), "FAIL (p99)");
        assert_eq!(
            two(Verdict::Uncertain, Verdict::NoData),
            "UNCERTAIN (p99, web availability)"
        );
        assert_eq!(
            verdict_text(&[
                result("clients.a.latency.p99_ms", Verdict::Fail),
                result("latency.p99_ms", Verdict::Fail),
                result("components.a.wait.p99_ms", Verdict::Fail),
            ]),
            "FAIL (clients.a.latency.p99_ms, p99, components.a.wait.p99_ms)"
        );
        assert_eq!(short_metric("components.db.hit_ratio"), "db hit_ratio");
        assert_eq!(short_metric("throughput_rps"), "throughput");
    }
}

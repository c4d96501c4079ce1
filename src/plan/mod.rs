//! `archsim plan`: capacity questions answered by search over
//! simulations, with the confidence stated.
//!
//! - **max_load**: the largest value of a parameter (a client's rate, or
//!   `load`: a factor on every client's rate) at which every SLO holds.
//! - **min_resources**: the smallest integer value of a parameter
//!   (replicas, cores, shards, cache entries) meeting every SLO.
//! - **cheapest**: the cheapest configuration over ordered choices meeting
//!   every SLO, skipping configurations a failure implies.
//! - **headroom**: at a compound growth rate, how long until an SLO breaks.
//!
//! Each probe is a configuration simulated with replications under common
//! random numbers (replication r of every probe uses the seed of
//! replication r), judged by the SLO verdict rule of [`crate::run::slo`]:
//! pass or fail only when the 95% interval lies wholly on one side of the
//! target. An uncertain probe doubles its replications (up to the cap)
//! instead of being decided by a coin flip; one still uncertain at the cap
//! counts as not meeting the SLO (the conservative side) and is noted.
//! `explain`'s prediction, searched the same way, gives the start and is
//! printed beside the answer. The search is sequential in its decisions and
//! parallel in each probe's replications, so its answer does not depend on
//! `--jobs`. Every finished replication is appended to `probes.jsonl` at
//! once; `--resume` replays the search, reading what is there instead of
//! simulating it again.

pub mod chart;
pub mod output;
pub mod page;
pub mod search;

use crate::math;
use std::collections::BTreeMap;
#[cfg(feature = "cli")]
use std::io::IsTerminal;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use indexmap::IndexMap;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::rng::{replication_seed, stable_hash};
use crate::files::{Folder, Kind, Metered};
use crate::model::client::ArrivalCfg;
use crate::model::{CompCfg, Config, World};
use crate::run::slo::{Verdict, judge, overall};
use crate::run::{MetricValue, combine_metrics};
use crate::scenario::spec::{Objective, PlanQuestion, Scenario};
use crate::scenario::{self, BuildOptions};
pub use crate::sweep::ProgressMode;
use output::{Answer, Configurations, GridCost, PlanReport, Probe, TheoryAnswer, value_text};
use search::{Line, Precision};

/// Everything `archsim plan` needs; each `Option` overrides the file's
/// `plan:` block.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Scenario file.
    pub file: PathBuf,
    /// `--seed`, `--duration` and `--set` as overrides.
    pub overrides: Vec<String>,
    /// `--question`.
    pub question: Option<PlanQuestion>,
    /// `--parameter`.
    pub parameter: Option<String>,
    /// `--range A..B`.
    pub range: Option<String>,
    /// `--precision`.
    pub precision: Option<String>,
    /// `--choice PATH=V1,V2,…` (add or replace a `cheapest` choice).
    pub choices: Vec<String>,
    /// `--growth 8%/month`.
    pub growth: Option<String>,
    /// `--replications`.
    pub replications: Option<u32>,
    /// `--max-replications`.
    pub max_replications: Option<u32>,
    /// Threads (default: all cores).
    pub jobs: Option<usize>,
    /// Output folder (default output/<name>-plan).
    pub out: Option<PathBuf>,
    /// Continue a plan, reading the replications already in probes.jsonl.
    pub resume: bool,
    /// Start over in a folder that holds other results.
    pub force: bool,
    /// Progress display.
    pub progress: Option<ProgressMode>,
    /// Test hook: behave as if interrupted after this many replications.
    pub stop_after: Option<usize>,
    /// Also write PNG charts.
    pub png: bool,
}

/// What a finished plan leaves.
pub struct PlanOutcome {
    /// plan.json's content.
    pub report: PlanReport,
    /// The folder.
    pub dir: PathBuf,
    /// Replications simulated by this invocation (not read back).
    pub ran: u64,
    /// Events simulated by this invocation.
    pub events: u64,
    /// Wall-clock seconds.
    pub wall_s: f64,
}

/// What can go wrong in a plan, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Bad input: the scenario, the plan block, a flag (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// Files could not be read or written (exit 1).
    #[error("{0}")]
    Io(String),
    /// Stopped by Ctrl-C (or the test hook) before the answer (exit 1).
    #[error(
        "interrupted: the {done} replications finished are kept in {dir}; run the same command with --resume to go on from there"
    )]
    Interrupted {
        /// Lines in probes.jsonl.
        done: usize,
        /// The plan folder.
        dir: String,
    },
}

impl PlanError {
    /// The process exit code (SPEC §1).
    pub fn exit_code(&self) -> i32 {
        match self {
            PlanError::BadInput(_) => 2,
            _ => 1,
        }
    }

    fn from_output(e: &crate::files::OutputError) -> PlanError {
        match e {
            crate::files::OutputError::Refused(_) => PlanError::BadInput(e.to_string()),
            _ => PlanError::Io(e.to_string()),
        }
    }
}

/// Default replications of a probe at first, and at most.
pub const DEFAULT_REPLICATIONS: (u32, u32) = (3, 24);

/// Most configurations a `cheapest` question may span.
pub const MAX_CHOICE_CONFIGURATIONS: u64 = 20_000;

/// One line of `probes.jsonl`: a finished replication of a probe.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct ProbeLine {
    /// The probe's parameters (canonical JSON text).
    key: String,
    replication: u32,
    seed: u64,
    metrics: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

/// `plan-input.json`: what the folder's lines belong to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct PlanInput {
    archsim_version: String,
    scenario: String,
    file: String,
    /// Hash of the scenario text and the overrides: a replication's
    /// metrics depend on nothing else (not on the question asked).
    input_hash: String,
}

/// The searched parameter.
#[derive(Clone, Debug, PartialEq)]
enum Param {
    /// A factor on every client's arrival rate.
    Load,
    /// A dotted path; `unit` is `/s` (a rate), `ms` (a duration) or empty.
    Path {
        path: String,
        unit: String,
        integer: bool,
    },
}

impl Param {
    fn name(&self) -> String {
        match self {
            Param::Load => "load".into(),
            Param::Path { path, .. } => path.clone(),
        }
    }

    fn unit(&self) -> String {
        match self {
            Param::Load => "×".into(),
            Param::Path { unit, .. } => unit.clone(),
        }
    }

    fn integer(&self) -> bool {
        matches!(self, Param::Path { integer: true, .. })
    }

    /// The probe's parameters for value `x`.
    fn params(&self, x: f64) -> IndexMap<String, Value> {
        let mut m = IndexMap::new();
        match self {
            Param::Load => {
                m.insert("load".into(), Value::from(x));
            }
            Param::Path { path, unit, integer } => {
                let v = if *integer {
                    Value::from(x.round() as i64)
                } else if unit.is_empty() {
                    Value::from(x)
                } else {
                    Value::from(value_text(x, unit))
                };
                m.insert(path.clone(), v);
            }
        }
        m
    }
}

/// A number with its unit read from a value as written: a rate (`300/s`,
/// `1.2k/s`) in per second, a duration (`20ms`, `1s`) in milliseconds, a
/// plain number as it is.
fn quantity(v: &Value) -> Option<(f64, &'static str)> {
    match v {
        Value::Number(n) => n.as_f64().map(|x| (x, "")),
        Value::String(s) => {
            if let Ok(x) = s.trim().parse::<f64>() {
                Some((x, ""))
            } else if let Ok(r) = s.parse::<crate::scenario::units::Rate>() {
                Some((r.per_sec(), "/s"))
            } else if let Ok(d) = s.parse::<crate::scenario::units::Duration>() {
                Some((d.as_millis_f64(), "ms"))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The value at a dotted path of the scenario as loaded.
fn value_at(sc: &Scenario, path: &str) -> Option<Value> {
    let mut v = serde_json::to_value(sc).ok()?;
    for part in path.split('.') {
        v = match v {
            // A component serialises as `{ service: {…} }`: look inside.
            Value::Object(m) if !m.contains_key(part) && m.len() == 1 => {
                let (k, inner) = m.into_iter().next()?;
                if !crate::scenario::kinds::KIND_WORDS.contains(&k.as_str()) {
                    return None;
                }
                match inner {
                    Value::Object(mut inner) => inner.remove(part)?,
                    _ => return None,
                }
            }
            Value::Object(mut m) => m.remove(part)?,
            Value::Array(mut a) => {
                let i: usize = part.parse().ok()?;
                if i < a.len() {
                    a.swap_remove(i)
                } else {
                    return None;
                }
            }
            _ => return None,
        };
    }
    Some(v)
}

/// The plan as resolved from the file and the flags.
struct Setup {
    question: PlanQuestion,
    param: Option<Param>,
    range: Option<(f64, f64)>,
    precision: Precision,
    precision_text: String,
    choices: IndexMap<String, Vec<Value>>,
    growth: Option<(f64, String)>,
    reps: (u32, u32),
    /// The parameter's value in the scenario as written (1 for `load`).
    current: Option<f64>,
}

fn bad(msg: String) -> PlanError {
    PlanError::BadInput(msg)
}

/// A unit for a message: `a rate (/s)`, `a plain number`.
fn unit_words(u: &str) -> String {
    match u {
        "/s" => "a rate (/s)".into(),
        "ms" => "a duration".into(),
        "" | "×" => "a plain number".into(),
        u => format!("in `{u}`"),
    }
}

/// Parse `A..B` in the parameter's unit.
fn parse_range(text: &str, unit: &str) -> Result<(f64, f64), String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("range `{text}`: expected A..B, e.g. 100/s..2000/s"))?;
    let end = |s: &str| -> Result<f64, String> {
        let s = s.trim();
        let (x, u) = quantity(&Value::from(s))
            .or_else(|| s.trim_start_matches('×').parse::<f64>().ok().map(|x| (x, "")))
            .ok_or_else(|| format!("range `{text}`: `{s}` is not a number, a rate or a duration"))?;
        if u != unit && !(unit == "×" && u.is_empty()) {
            return Err(format!(
                "range `{text}`: `{s}` is {} but the parameter is {}",
                unit_words(u),
                unit_words(unit)
            ));
        }
        Ok(x)
    };
    let (lo, hi) = (end(a)?, end(b)?);
    if !(lo.is_finite() && hi.is_finite() && 0.0 < lo && lo < hi) {
        return Err(format!("range `{text}`: needs 0 < A < B"));
    }
    Ok((lo, hi))
}

/// Parse a precision: `2%`, or a value in the parameter's unit.
fn parse_precision(text: &str, unit: &str) -> Result<Precision, String> {
    let t = text.trim();
    if let Some(p) = t.strip_suffix('%') {
        let r: f64 = p
            .trim()
            .parse()
            .map_err(|_| format!("precision `{text}`: expected a percentage such as 2%"))?;
        if !(r > 0.0 && r < 100.0) {
            return Err(format!("precision `{text}`: must be above 0% and below 100%"));
        }
        return Ok(Precision::Relative(r / 100.0));
    }
    let (x, u) = quantity(&Value::from(t))
        .or_else(|| t.trim_start_matches('×').parse::<f64>().ok().map(|x| (x, "")))
        .ok_or_else(|| format!("precision `{text}`: expected 2% or a value such as 5/s"))?;
    if u != unit && !(unit == "×" && u.is_empty()) {
        return Err(format!(
            "precision `{text}` is {} but the parameter is {}; write it so, or as a percentage",
            unit_words(u),
            unit_words(unit)
        ));
    }
    if !(x > 0.0 && x.is_finite()) {
        return Err(format!("precision `{text}`: must be above 0"));
    }
    Ok(Precision::Absolute(x))
}

/// Parse `8%/month` into (0.08, "month").
fn parse_growth(text: &str) -> Result<(f64, String), String> {
    let err = || {
        format!(
            "growth `{text}`: expected a percentage per period, e.g. 8%/month (periods: day, week, month, quarter, year)"
        )
    };
    let (pct, per) = text.split_once('/').ok_or_else(err)?;
    let g: f64 = pct
        .trim()
        .strip_suffix('%')
        .ok_or_else(err)?
        .trim()
        .parse()
        .map_err(|_| err())?;
    let per = per.trim().to_string();
    if !["day", "week", "month", "quarter", "year"].contains(&per.as_str()) {
        return Err(err());
    }
    if !(g > 0.0 && g <= 1000.0) {
        return Err(format!("growth `{text}`: must be above 0% (and at most 1000%)"));
    }
    Ok((g / 100.0, per))
}

fn setup(
    opts: &PlanOptions,
    sc: &Scenario,
    located: &dyn Fn(&str, String) -> PlanError,
) -> Result<Setup, PlanError> {
    let spec = sc.plan.clone().unwrap_or_default();
    let question = opts.question.or(spec.question).ok_or_else(|| {
        bad(format!(
            "error: {}: archsim plan needs a question: add `plan: {{ question: max_load }}` (or min_resources, cheapest, headroom) or pass --question",
            opts.file.display()
        ))
    })?;
    let from_flag = |flag: bool, field: &str, msg: String| -> PlanError {
        if flag {
            bad(format!("error: {msg}"))
        } else {
            located(&format!("plan.{field}"), msg)
        }
    };
    let reps0 = opts
        .replications
        .or(spec.replications)
        .unwrap_or(DEFAULT_REPLICATIONS.0);
    let cap = opts
        .max_replications
        .or(spec.max_replications)
        .unwrap_or(DEFAULT_REPLICATIONS.1.max(reps0));
    if !(1..=crate::sweep::MAX_REPLICATIONS).contains(&reps0)
        || cap < reps0
        || cap > crate::sweep::MAX_REPLICATIONS
    {
        return Err(from_flag(
            opts.replications.is_some() || opts.max_replications.is_some(),
            "replications",
            format!(
                "replications must be at least 1 and at most max_replications (found {reps0} and {cap}; most {})",
                crate::sweep::MAX_REPLICATIONS
            ),
        ));
    }
    let mut out = Setup {
        question,
        param: None,
        range: None,
        precision: Precision::Relative(0.02),
        precision_text: "2%".into(),
        choices: IndexMap::new(),
        growth: None,
        reps: (reps0, cap),
        current: None,
    };
    if question == PlanQuestion::Cheapest {
        let mut choices = IndexMap::new();
        for (k, v) in &spec.choices {
            let vals = match v.as_slice() {
                [Value::String(s)] if crate::sweep::grid::expand_range(s).is_some() => {
                    crate::sweep::grid::expand_range(s)
                        .unwrap_or(Ok(Vec::new()))
                        .map_err(|e| located(&format!("plan.choices.{k}"), e))?
                }
                _ => v.clone(),
            };
            if vals.is_empty() {
                return Err(located(
                    &format!("plan.choices.{k}"),
                    "needs at least one option".into(),
                ));
            }
            choices.insert(k.clone(), vals);
        }
        let flags = crate::sweep::grid::parameters(&IndexMap::new(), &opts.choices)
            .map_err(|e| bad(format!("error: {}", e.replace("--vary", "--choice"))))?;
        choices.extend(flags);
        if choices.is_empty() {
            return Err(located(
                "plan",
                "a `cheapest` question needs `choices`: each path's options from least to most capacity, e.g. `choices: { components.api.replicas: [2, 4, 8] }`".into(),
            ));
        }
        let total = choices
            .values()
            .try_fold(1u64, |a, v| a.checked_mul(v.len() as u64));
        if total.is_none_or(|t| t > MAX_CHOICE_CONFIGURATIONS) {
            return Err(located(
                "plan.choices",
                format!("more than {MAX_CHOICE_CONFIGURATIONS} configurations; offer fewer options"),
            ));
        }
        out.choices = choices;
        return Ok(out);
    }
    let name = opts.parameter.clone().or(spec.parameter.clone()).or_else(|| {
        matches!(question, PlanQuestion::MaxLoad | PlanQuestion::Headroom).then(|| "load".to_string())
    });
    let Some(name) = name else {
        return Err(located(
            "plan",
            "a `min_resources` question needs `parameter`: the integer to search, e.g. `parameter: components.api.replicas`".into(),
        ));
    };
    let flag_param = opts.parameter.is_some();
    let param = if name == "load" {
        out.current = Some(1.0);
        Param::Load
    } else {
        let v = value_at(sc, &name).ok_or_else(|| {
            from_flag(
                flag_param,
                "parameter",
                format!("`{name}` is not a field this scenario sets (write it in the file, or give a path such as components.api.replicas)"),
            )
        })?;
        let (x, unit) = quantity(&v).ok_or_else(|| {
            from_flag(
                flag_param,
                "parameter",
                format!(
                    "`{name}` is {}, not a number, a rate or a duration",
                    crate::sweep::grid::yaml_text(&v)
                ),
            )
        })?;
        // Whole numbers: every min_resources parameter, and a count
        // written as one (closed-loop users, replicas) for any question.
        let integer = question == PlanQuestion::MinResources || v.is_u64() || v.is_i64();
        if integer && (!unit.is_empty() || x.fract() != 0.0) {
            return Err(from_flag(
                flag_param,
                "parameter",
                format!(
                    "min_resources searches whole numbers (replicas, cores, shards, entries); `{name}` is {}",
                    crate::sweep::grid::yaml_text(&v)
                ),
            ));
        }
        out.current = Some(x);
        Param::Path {
            path: name.clone(),
            unit: unit.to_string(),
            integer,
        }
    };
    let unit = param.unit();
    if let Some(r) = opts.range.as_ref().or(spec.range.as_ref()) {
        out.range = Some(parse_range(r, &unit).map_err(|e| from_flag(opts.range.is_some(), "range", e))?);
    }
    match opts.precision.as_ref().or(spec.precision.as_ref()) {
        Some(p) => {
            out.precision =
                parse_precision(p, &unit).map_err(|e| from_flag(opts.precision.is_some(), "precision", e))?;
            out.precision_text = p.trim().to_string();
        }
        None if param.integer() => {
            out.precision = Precision::Absolute(1.0);
            out.precision_text = "1".into();
        }
        None => {}
    }
    if question == PlanQuestion::Headroom {
        let g = opts.growth.as_ref().or(spec.growth.as_ref()).ok_or_else(|| {
            located(
                "plan",
                "a `headroom` question needs `growth`, e.g. `growth: 8%/month`".into(),
            )
        })?;
        out.growth = Some(parse_growth(g).map_err(|e| from_flag(opts.growth.is_some(), "growth", e))?);
    }
    out.param = Some(param);
    Ok(out)
}

/// Scale every client's arrival rate by `f` (the `load` parameter).
fn scale_load(cfg: &mut Config, f: f64) -> Result<(), String> {
    for c in &mut cfg.clients {
        match &mut c.arrival {
            ArrivalCfg::Poisson(r) | ArrivalCfg::Constant(r) => *r *= f,
            ArrivalCfg::Schedule(steps) => steps.iter_mut().for_each(|s| s.1 *= f),
            ArrivalCfg::Diurnal { mean, .. } => *mean *= f,
            ArrivalCfg::Interarrival(_) | ArrivalCfg::Trace(_) | ArrivalCfg::Closed { .. } => {
                return Err(format!(
                    "client `{}`: its arrivals (interarrival times, a trace or closed-loop users) cannot be scaled by `load`; \
                     search one of its fields instead (e.g. `parameter: clients.{}.arrival.closed.users`)",
                    c.name, c.name
                ));
            }
        }
    }
    Ok(())
}

/// What a configuration costs per hour as listed: instances × price, for
/// every priced component (services at their starting replicas, caches
/// by node, databases by node: shards × (1 + followers)).
pub fn list_price_per_hour(cfg: &Config) -> f64 {
    cfg.components
        .iter()
        .map(|c| match c {
            CompCfg::Service(s) => f64::from(s.replicas) * s.price_per_hour,
            CompCfg::Cache(k) => f64::from(k.nodes) * k.price_per_hour,
            CompCfg::Database(d) => f64::from(d.shards) * f64::from(1 + d.followers) * d.price_per_hour,
            _ => 0.0,
        })
        .sum()
}

/// Runs probes: loads each configuration, simulates (or reads back) its
/// replications, judges it, and records it.
struct Prober<'a> {
    label: String,
    text: String,
    base_dir: PathBuf,
    overrides: Vec<String>,
    objectives: Vec<Objective>,
    keep: Vec<String>,
    reps: (u32, u32),
    pool: rayon::ThreadPool,
    cancel: &'a AtomicBool,
    memo: BTreeMap<(String, u32), ProbeLine>,
    lines: Metered<std::fs::File>,
    lines_path: PathBuf,
    probes: Vec<Probe>,
    simulations: u64,
    ran: AtomicU64,
    events: AtomicU64,
    stop_after: Option<usize>,
    quiet: bool,
    notes: Vec<String>,
    /// Probes already judged, by key (a search may come back to a value).
    judged: BTreeMap<String, usize>,
    /// Replications of each key counted in `simulations`.
    counted: BTreeMap<String, u32>,
}

/// The interruption error; `run` fills in the folder and the count.
fn interrupted() -> PlanError {
    PlanError::Interrupted {
        done: 0,
        dir: String::new(),
    }
}

/// A probe's key (its parameters as JSON) as `path=value, …`.
fn key_label(key: &str) -> String {
    serde_json::from_str::<IndexMap<String, Value>>(key)
        .map(|p| describe(&p))
        .unwrap_or_else(|_| key.to_string())
}

/// A probe's parameters as `path=value, …` for messages.
fn describe(params: &IndexMap<String, Value>) -> String {
    output::params_text(params)
}

impl Prober<'_> {
    /// The scenario and configuration of a probe.
    fn load(&self, params: &IndexMap<String, Value>) -> Result<(Scenario, Config), PlanError> {
        let mut ov = self.overrides.clone();
        let mut factor = None;
        for (k, v) in params {
            if k == "load" {
                factor = v.as_f64();
                continue;
            }
            match v {
                // A map sets each of its fields under the path.
                Value::Object(m) => {
                    for (f, x) in m {
                        ov.push(scenario::labeled(
                            "plan probe",
                            &format!("{k}.{f}={}", crate::sweep::grid::yaml_text(x)),
                        ));
                    }
                }
                _ => ov.push(scenario::labeled(
                    "plan probe",
                    &format!("{k}={}", crate::sweep::grid::yaml_text(v)),
                )),
            }
        }
        let (sc, mut cfg) = scenario::load_str(
            &self.label,
            &self.text,
            &self.base_dir,
            &ov,
            &BuildOptions::default(),
        )
        .map_err(|e| bad(e.to_string()))?;
        if let Some(f) = factor {
            scale_load(&mut cfg, f).map_err(|e| bad(format!("error: {}: {e}", self.label)))?;
        }
        Ok((sc, cfg))
    }

    /// Judge a probe: whether every objective passes (an uncertain verdict
    /// at the replication cap counts as not passing).
    fn judge(&mut self, params: IndexMap<String, Value>, x: f64) -> Result<bool, PlanError> {
        let key = serde_json::to_string(&params).unwrap_or_default();
        if let Some(&i) = self.judged.get(&key) {
            return Ok(self.probes[i].verdict == Verdict::Pass);
        }
        let (sc, cfg) = self.load(&params)?;
        let (cfg, warm_note) = crate::run::resolve_warmup(&cfg, sc.seed);
        let theory = crate::explain::predicted_metrics(&crate::explain::predict(&sc, &cfg));
        let mut n = self.reps.0;
        let mut rounds = Vec::new();
        let (metrics, slo, verdict, notes) = loop {
            let outs = self.replications(&key, &cfg, sc.seed, n)?;
            let maps: Vec<&BTreeMap<String, f64>> = outs.iter().map(|l| &l.metrics).collect();
            let metrics = combine_metrics(&maps);
            let slo = judge(&self.objectives, &metrics, n);
            let verdict = overall(&slo).unwrap_or(Verdict::NoData);
            rounds.push(n);
            // A metric missing here (no request finished at an extreme
            // load) is a probe that does not meet the SLO: more
            // replications would not bring it. A metric no probe has is
            // bad input (checked when the search ends).
            if slo.iter().any(|r| r.verdict == Verdict::NoData) {
                let notes = crate::run::merge_notes(outs.iter().map(|l| &l.notes));
                break (metrics, slo, Verdict::NoData, notes);
            }
            if verdict == Verdict::Uncertain && n < self.reps.1 {
                n = (n * 2).min(self.reps.1);
                continue;
            }
            let notes = crate::run::merge_notes(outs.iter().map(|l| &l.notes));
            break (metrics, slo, verdict, notes);
        };
        if verdict == Verdict::NoData {
            let missing: Vec<&str> = slo
                .iter()
                .filter(|r| r.verdict == Verdict::NoData)
                .map(|r| r.metric.as_str())
                .collect();
            self.notes.push(format!(
                "the probe at {} produced no {}: counted as not meeting the SLO",
                describe(&params),
                missing.join(", ")
            ));
        }
        if verdict == Verdict::Uncertain {
            self.notes.push(format!(
                "the probe at {} stayed uncertain after {n} replications (the target lies inside the 95% interval): counted as not meeting the SLO",
                describe(&params)
            ));
        }
        let _ = (notes, warm_note);
        let kept: BTreeMap<String, MetricValue> = metrics
            .into_iter()
            .filter(|(k, _)| self.keep.iter().any(|m| m == k))
            .collect();
        let index = self.probes.len();
        if !self.quiet {
            let shown = slo
                .iter()
                .map(|r| match (r.value, r.ci95) {
                    (Some(v), Some(c)) => format!("{} {} ± {}", r.metric, short(v), short(c)),
                    (Some(v), None) => format!("{} {}", r.metric, short(v)),
                    _ => r.metric.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ");
            eprintln!(
                "plan: probe {} at {}: {} ({shown}; {n} replications)",
                index + 1,
                describe(&params),
                verdict.word()
            );
        }
        self.probes.push(Probe {
            index,
            params,
            x,
            replications: n,
            verdict,
            slo,
            metrics: kept,
            theory,
            rounds,
        });
        self.judged.insert(key, index);
        Ok(verdict == Verdict::Pass)
    }

    /// Replications 0..n of a probe: read back from probes.jsonl where
    /// there, simulated in parallel otherwise (each line appended as it
    /// finishes a batch).
    fn replications(
        &mut self,
        key: &str,
        cfg: &Config,
        seed: u64,
        n: u32,
    ) -> Result<Vec<ProbeLine>, PlanError> {
        let missing: Vec<u32> = (0..n)
            .filter(|r| !self.memo.contains_key(&(key.to_string(), *r)))
            .collect();
        if !missing.is_empty() {
            if self.cancel.load(Ordering::Relaxed) {
                return Err(interrupted());
            }
            let cancel = self.cancel;
            let (ran, events, stop_after) = (&self.ran, &self.events, self.stop_after);
            // On a terminal, a bar for the probe's replications (the probe
            // lines that follow each verdict are the progress elsewhere).
            #[cfg(not(feature = "cli"))]
            let bar: Option<crate::sweep::NoBar> = None;
            #[cfg(feature = "cli")]
            let bar = (!self.quiet && std::io::stderr().is_terminal()).then(|| {
                let b = indicatif::ProgressBar::new(missing.len() as u64);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{spinner} probe {prefix}: {wide_bar} {pos}/{len} replications · {elapsed}",
                ) {
                    b.set_style(style);
                }
                b.set_prefix(format!("{} at {}", self.probes.len() + 1, key_label(key)));
                b
            });
            let outs: Vec<(u32, Option<crate::model::RunOutput>)> = self.pool.install(|| {
                missing
                    .par_iter()
                    .map(|&r| {
                        if cancel.load(Ordering::Relaxed) {
                            return (r, None);
                        }
                        let out = World::new(cfg, replication_seed(seed, r)).run_until(Some(cancel));
                        if let Some(o) = &out {
                            if let Some(b) = &bar {
                                b.inc(1);
                            }
                            events.fetch_add(o.events, Ordering::Relaxed);
                            let done = ran.fetch_add(1, Ordering::Relaxed) + 1;
                            if stop_after.is_some_and(|s| done as usize >= s) {
                                cancel.store(true, Ordering::Relaxed);
                            }
                        }
                        (r, out)
                    })
                    .collect()
            });
            if let Some(b) = bar {
                b.finish_and_clear();
            }
            for (r, out) in outs {
                let Some(out) = out else { continue };
                if let Some(msg) = &out.livelock {
                    return Err(bad(format!(
                        "error: {}: plan probe at {}: {msg}",
                        self.label,
                        key_label(key)
                    )));
                }
                let line = ProbeLine {
                    key: key.to_string(),
                    replication: r,
                    seed: replication_seed(seed, r),
                    metrics: out.metrics.into_iter().filter(|(_, v)| v.is_finite()).collect(),
                    notes: out.notes,
                };
                let mut text = serde_json::to_string(&line).unwrap_or_default();
                text.push('\n');
                self.lines
                    .write_all(text.as_bytes())
                    .and_then(|_| self.lines.flush())
                    .map_err(|e| {
                        PlanError::Io(format!(
                            "error: cannot write {}: {e}\nThe plan stopped: the replications written before it are intact; make room and run the same command with --resume",
                            self.lines_path.display()
                        ))
                    })?;
                self.memo.insert((key.to_string(), r), line);
            }
            if (0..n).any(|r| !self.memo.contains_key(&(key.to_string(), r))) {
                return Err(interrupted());
            }
        }
        self.simulations += u64::from(n) - self.rounds_counted(key, n);
        Ok((0..n)
            .filter_map(|r| self.memo.get(&(key.to_string(), r)).cloned())
            .collect())
    }

    /// Replications of this key already counted in `simulations` (a
    /// doubling round reuses the earlier ones).
    fn rounds_counted(&mut self, key: &str, n: u32) -> u64 {
        let counted = self.counted.entry(key.to_string()).or_insert(0);
        let before = u64::from(*counted);
        *counted = (*counted).max(n);
        before.min(u64::from(n))
    }
}

/// Run a plan. `cancel` (set by Ctrl-C) stops it between and inside
/// replications, keeping what finished.
pub fn run(opts: &PlanOptions, cancel: &AtomicBool) -> Result<PlanOutcome, PlanError> {
    let started = Instant::now();
    let label = opts.file.display().to_string();
    let text = scenario::read_source(&opts.file, &opts.overrides).map_err(|e| bad(e.to_string()))?;
    let base_dir = opts.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let (sc, _) = scenario::load_str(
        &label,
        &text,
        &base_dir,
        &opts.overrides,
        &BuildOptions::default(),
    )
    .map_err(|e| bad(e.to_string()))?;
    let located = |path: &str, msg: String| {
        bad(scenario::error_at(&label, &text, &opts.overrides, path, msg).to_string())
    };
    let objectives: Vec<Objective> = sc.slo.as_ref().map(|s| s.objectives()).unwrap_or_default();
    if objectives.is_empty() {
        return Err(located(
            "slo",
            "archsim plan judges every probe by the scenario's SLO objectives, and it has none: add one, e.g. `slo: { latency_p99: 200ms }`".into(),
        ));
    }
    let setup = setup(opts, &sc, &located)?;
    if opts
        .jobs
        .is_some_and(|j| !(1..=crate::sweep::MAX_JOBS).contains(&j))
    {
        return Err(bad(format!(
            "error: --jobs must be at least 1 and at most {}",
            crate::sweep::MAX_JOBS
        )));
    }
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(format!("{}-plan", sc.name)));
    let input = PlanInput {
        archsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: sc.name.clone(),
        file: label.clone(),
        input_hash: input_hash(&text, &opts.overrides),
    };
    let mut folder = Folder::claim(&dir, Kind::Plan, &sc.name, opts.force, "--out")
        .map_err(|e| PlanError::from_output(&e))?;
    let lines_path = dir.join("probes.jsonl");
    let memo = prepare_folder(&mut folder, &input, opts, sc.seed)?;
    let quiet = opts.progress == Some(ProgressMode::Quiet);
    if !memo.is_empty() && !quiet {
        eprintln!(
            "plan: resuming with {} replications read back from {}",
            memo.len(),
            lines_path.display()
        );
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&lines_path)
        .map_err(|e| PlanError::Io(format!("error: cannot open {}: {e}", lines_path.display())))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| PlanError::Io(format!("error: cannot start worker threads: {e}")))?;
    let mut keep: Vec<String> = objectives.iter().map(|o| o.metric.clone()).collect();
    keep.extend(crate::run::headline_of(&sc));
    for m in [
        "latency.p99_ms",
        "latency.mean_ms",
        "throughput_rps",
        "availability",
        "cost.per_hour",
    ] {
        keep.push(m.to_string());
    }
    // An `error_ratio` objective is judged on 1 − availability.
    keep.extend(objectives.iter().filter_map(|o| {
        o.metric
            .strip_suffix("error_ratio")
            .map(|b| format!("{b}availability"))
    }));
    let mut prober = Prober {
        label: label.clone(),
        text: text.clone(),
        base_dir,
        overrides: opts.overrides.clone(),
        objectives: objectives.clone(),
        keep,
        reps: setup.reps,
        pool,
        cancel,
        memo,
        lines: Metered(file),
        lines_path: lines_path.clone(),
        probes: Vec::new(),
        simulations: 0,
        ran: AtomicU64::new(0),
        events: AtomicU64::new(0),
        stop_after: opts.stop_after,
        quiet,
        notes: Vec::new(),
        judged: BTreeMap::new(),
        counted: BTreeMap::new(),
    };
    let answered = match setup.question {
        PlanQuestion::Cheapest => answer_cheapest(&mut prober, &setup),
        _ => answer_threshold(&mut prober, &setup),
    };
    if let Some(o) = objectives.iter().find(|o| {
        !prober.probes.is_empty()
            && prober.probes.iter().all(|p| {
                p.slo
                    .iter()
                    .any(|r| r.metric == o.metric && r.verdict == Verdict::NoData)
            })
    }) {
        return Err(located(
            "slo",
            format!(
                "no probe of this plan produced the metric `{}`, so none can be judged by it; check its name against report.json",
                o.metric
            ),
        ));
    }
    let (answer, theory, grid) = match answered {
        Ok(a) => a,
        Err(PlanError::Interrupted { .. }) => {
            return Err(PlanError::Interrupted {
                done: prober.memo.len(),
                dir: dir.display().to_string(),
            });
        }
        Err(e) => return Err(e),
    };
    let report = PlanReport {
        archsim_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: sc.name.clone(),
        seed: sc.seed,
        question: setup.question.word().to_string(),
        parameter: setup.param.as_ref().map(Param::name),
        unit: setup.param.as_ref().map(Param::unit).unwrap_or_default(),
        choices: setup.choices.clone(),
        objectives: objectives
            .iter()
            .map(|o| output::Objective {
                metric: o.metric.clone(),
                goal: o.goal,
                target: o.target,
            })
            .collect(),
        replications: setup.reps,
        precision: if setup.question == PlanQuestion::Cheapest {
            String::new()
        } else {
            setup.precision_text.clone()
        },
        answer,
        theory,
        probes: std::mem::take(&mut prober.probes),
        simulations: prober.simulations,
        grid,
        notes: std::mem::take(&mut prober.notes),
    };
    let mut stage = folder.stage().map_err(|e| PlanError::from_output(&e))?;
    stage_outputs(&mut stage, &report, &sc, opts.png)?;
    stage
        .commit(&["plan-input.json", "probes.jsonl"])
        .map_err(|e| PlanError::from_output(&e))?;
    Ok(PlanOutcome {
        report,
        dir,
        ran: prober.ran.load(Ordering::Relaxed),
        events: prober.events.load(Ordering::Relaxed),
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// plan.json, summary.txt, the charts and the page, written as a unit.
fn stage_outputs(
    stage: &mut crate::files::Stage<'_>,
    report: &PlanReport,
    sc: &Scenario,
    png: bool,
) -> Result<(), PlanError> {
    let out = |e: crate::files::OutputError| PlanError::from_output(&e);
    let json = serde_json::to_string_pretty(report).unwrap_or_default() + "\n";
    stage.write("plan.json", json.as_bytes()).map_err(out)?;
    stage
        .write("summary.txt", output::summary(report).as_bytes())
        .map_err(out)?;
    let mut charts = chart::plan_charts(report);
    charts.extend(crate::report::topology::of_scenario_titled(
        sc,
        Path::new("."),
        "Topology as written, before the plan's probes change it: the load theory offers each call",
    ));
    let files = crate::report::plot::chart_files(&charts, png)
        .map_err(|e| PlanError::Io(format!("error: cannot draw the charts: {e}")))?;
    for (name, bytes) in &files {
        stage.write(name, bytes).map_err(out)?;
    }
    let page = page::plan_page(report, &sc.description, &charts);
    stage.write("index.html", page.as_bytes()).map_err(out)
}

fn input_hash(text: &str, overrides: &[String]) -> String {
    let mut s = text.to_string();
    for o in overrides {
        s.push('\u{0}');
        s.push_str(o);
    }
    format!("{:016x}", stable_hash(&s))
}

/// Check the folder against this plan and read back the replications a
/// `--resume` may use (lines of the same scenario text and overrides,
/// with the seeds this scenario gives).
fn prepare_folder(
    folder: &mut Folder,
    input: &PlanInput,
    opts: &PlanOptions,
    seed: u64,
) -> Result<BTreeMap<(String, u32), ProbeLine>, PlanError> {
    let dir = folder.path().to_path_buf();
    let input_path = dir.join("plan-input.json");
    let lines_path = dir.join("probes.jsonl");
    let has_lines = std::fs::metadata(&lines_path).is_ok_and(|m| m.len() > 0);
    let old: Option<PlanInput> = match crate::files::read_limited(&input_path, crate::files::MAX_RESULT_FILE)
    {
        Ok(b) => Some(serde_json::from_slice(&b).map_err(|e| {
            bad(format!(
                "error: {} is damaged ({e}); restore it, or start over with --force",
                input_path.display()
            ))
        })?),
        Err(e) if e.not_found() => None,
        Err(e) => return Err(bad(format!("error: cannot read {}: {e}", input_path.display()))),
    };
    let mut memo = BTreeMap::new();
    if opts.resume {
        match &old {
            Some(o) if o.input_hash != input.input_hash || o.scenario != input.scenario => {
                return Err(bad(format!(
                    "error: {} holds a plan of a different scenario text or overrides; use another --out, or --force to start over",
                    dir.display()
                )));
            }
            None if has_lines => {
                return Err(bad(format!(
                    "error: {} has probes.jsonl but no plan-input.json, so its lines cannot be checked; use another --out, or --force to start over",
                    dir.display()
                )));
            }
            _ => {}
        }
        memo = read_lines(&lines_path, seed)?;
    } else if has_lines && !dir.join("plan.json").exists() && !opts.force {
        return Err(bad(format!(
            "error: {} holds an unfinished plan; use --resume to finish it or --force to start over",
            dir.display()
        )));
    } else {
        folder.clear().map_err(|e| PlanError::from_output(&e))?;
        for f in ["probes.jsonl", "plan.json"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    let text = serde_json::to_string_pretty(input).unwrap_or_default() + "\n";
    crate::report::write_atomic(&input_path, text.as_bytes())
        .map_err(|e| PlanError::Io(format!("error: cannot write {}: {e}", input_path.display())))?;
    folder
        .record(&["plan-input.json", "probes.jsonl"])
        .map_err(|e| PlanError::from_output(&e))?;
    Ok(memo)
}

/// The readable lines of probes.jsonl with the seed this scenario gives
/// their replication (a torn or foreign line is skipped: it is run again).
fn read_lines(path: &Path, seed: u64) -> Result<BTreeMap<(String, u32), ProbeLine>, PlanError> {
    let bytes = match crate::files::read_limited(path, crate::files::MAX_RESULT_FILE) {
        Ok(b) => b,
        Err(e) if e.not_found() => return Ok(BTreeMap::new()),
        Err(e) => {
            return Err(PlanError::Io(format!(
                "error: cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let mut memo = BTreeMap::new();
    for line in bytes.split(|b| *b == b'\n') {
        let Ok(l) = serde_json::from_slice::<ProbeLine>(line) else {
            continue;
        };
        if l.seed == replication_seed(seed, l.replication) {
            memo.entry((l.key.clone(), l.replication)).or_insert(l);
        }
    }
    Ok(memo)
}

/// Theory's threshold on the same line: `explain`'s prediction judged by
/// the objectives it can predict, and by stability (the bottleneck below
/// 100%).
fn theory_threshold(prober: &Prober<'_>, param: &Param, line: &Line) -> Option<TheoryAnswer> {
    let ok = |x: f64| -> Result<(bool, String, Vec<String>), ()> {
        let (sc, cfg) = prober.load(&param.params(x)).map_err(|_| ())?;
        let p = crate::explain::predict(&sc, &cfg);
        let m = crate::explain::predicted_metrics(&p);
        let mut unpredicted = Vec::new();
        let mut why = String::new();
        if let Some((name, u)) = &p.bottleneck
            && *u >= 1.0
        {
            why = format!("saturation of {name}");
        }
        for o in &prober.objectives {
            match m.get(&o.metric) {
                Some(v) => {
                    let good = match o.goal {
                        crate::scenario::spec::Goal::AtMost => *v <= o.target,
                        crate::scenario::spec::Goal::AtLeast => *v >= o.target,
                    };
                    if !good && why.is_empty() {
                        why = o.metric.clone();
                    }
                }
                None => unpredicted.push(o.metric.clone()),
            }
        }
        Ok((why.is_empty(), why, unpredicted))
    };
    let mut fine = line.clone();
    fine.range = None;
    if !fine.integer {
        fine.precision = Precision::Relative(0.001);
    }
    let found = search::threshold(&fine, |x| ok(x).map(|r| r.0)).ok()?;
    let (pass, fail) = (found.pass?, found.fail?);
    let (_, why, unpredicted) = ok(fail).ok()?;
    if why.is_empty() {
        return None;
    }
    // Continuous: the first value past the threshold (4 significant
    // digits, so a saturation point reads 300/s, not 299.9/s); integer:
    // the last that meets it.
    let value = if line.integer { pass } else { fail };
    Some(TheoryAnswer {
        value: Some(value),
        limit: why,
        unpredicted,
        sentence: String::new(),
    })
}

/// max_load, min_resources and headroom: a threshold search on one parameter.
fn answer_threshold(
    prober: &mut Prober<'_>,
    setup: &Setup,
) -> Result<(Answer, Option<TheoryAnswer>, GridCost), PlanError> {
    let Some(param) = setup.param.clone() else {
        return Err(bad("error: the plan has no parameter".into()));
    };
    let unit = param.unit();
    let current = setup.current.unwrap_or(1.0);
    let good_below = setup.question != PlanQuestion::MinResources;
    let integer = param.integer();
    let positive = current > 0.0 && current.is_finite();
    if !integer && !positive && setup.range.is_none() {
        return Err(bad(format!(
            "error: {}: {} is {} in the scenario, so there is no scale to search from; give plan.range (A..B)",
            prober.label,
            param.name(),
            current
        )));
    }
    let limits = match setup.question {
        _ if integer => (1.0, 1.0e6),
        PlanQuestion::Headroom => (current, current * 1.0e4),
        _ => (current * 1.0e-4, current * 1.0e4),
    };
    // A range widens the limits to hold it.
    let limits = match setup.range {
        Some((a, b)) => (limits.0.min(a), limits.1.max(b)),
        None => limits,
    };
    let mut line = Line {
        good_below,
        integer,
        limits,
        range: setup.range,
        precision: setup.precision,
        guess: current,
    };
    let mut theory = theory_threshold(prober, &param, &line);
    if let Some(v) = theory.as_ref().and_then(|t| t.value) {
        line.guess = v;
    }
    let found = search::threshold(&line, |x| prober.judge(param.params(x), x))?;
    let text = |x: f64| value_text(x, &unit);
    let pname = param.name();
    let why_fail = |x: f64| -> String {
        prober
            .probes
            .iter()
            .find(|p| p.x == x)
            .and_then(|p| {
                p.slo.iter().find(|r| r.verdict != Verdict::Pass).map(|r| {
                    let v = r.value.map(|v| match r.ci95 {
                        Some(c) => format!("{} ± {}", short(v), short(c)),
                        None => short(v),
                    });
                    let op = match r.goal {
                        crate::scenario::spec::Goal::AtMost => "above",
                        crate::scenario::spec::Goal::AtLeast => "below",
                    };
                    let side = if r.verdict == Verdict::Uncertain {
                        format!(
                            "too close to call against {} even after {} replications",
                            short(r.target),
                            p.replications
                        )
                    } else {
                        format!("{op} its target {}", short(r.target))
                    };
                    format!(": {} is {}, {side}", r.metric, v.unwrap_or_default())
                })
            })
            .unwrap_or_default()
    };
    let mut answer = Answer {
        found: found.pass.is_some(),
        value: found.pass,
        pass: found.pass,
        fail: found.fail,
        ..Answer::default()
    };
    let within = format!("to within {}", setup.precision_text);
    answer.sentence = match (setup.question, found.pass, found.fail) {
        (PlanQuestion::MinResources, Some(p), Some(f)) => format!(
            "{pname} = {} is the fewest that meets every SLO; {} does not{}.",
            text(p),
            text(f),
            why_fail(f)
        ),
        (PlanQuestion::MinResources, Some(p), None) => format!(
            "{pname} = {}, the least value tried, already meets every SLO; lower plan.range to look further.",
            text(p)
        ),
        (PlanQuestion::MinResources, None, Some(f)) => {
            format!("No {pname} up to {} meets every SLO{}.", text(f), why_fail(f))
        }
        (PlanQuestion::Headroom, Some(p), f) => {
            let (g, per) = setup.growth.clone().unwrap_or((0.0, "month".into()));
            let t = |x: f64| math::ln(x / current) / math::ln(1.0 + g);
            answer.periods = Some((t(p), f.map(t)));
            answer.period = Some(per.clone());
            answer.growth = Some(g);
            answer.current = Some(current);
            match f {
                Some(f) => format!(
                    "At {}%/{per} growth every SLO holds for {:.1} {per}s: it breaks between {:.1} and {:.1} {per}s from now, when {pname} reaches {}–{} (today {}){}.",
                    short(g * 100.0),
                    t(p),
                    t(p),
                    t(f),
                    text(p),
                    text(f),
                    text(current),
                    why_fail(f)
                ),
                None => format!(
                    "At {}%/{per} growth every SLO still holds after {:.1} {per}s ({pname} {}), the furthest tried.",
                    short(g * 100.0),
                    t(p),
                    text(p)
                ),
            }
        }
        (PlanQuestion::Headroom, None, Some(f)) => {
            format!(
                "An SLO already fails at today's load ({pname} {}){}.",
                text(f),
                why_fail(f)
            )
        }
        (_, Some(p), Some(f)) => format!(
            "{pname} can reach {} with every SLO met ({within}); at {} it is not met{}.",
            text(p),
            text(f),
            why_fail(f)
        ),
        (_, Some(p), None) => format!(
            "Every SLO holds up to {pname} = {}, the most tried; raise plan.range to find where it breaks.",
            text(p)
        ),
        (_, None, Some(f)) => format!("No {pname} down to {} meets every SLO{}.", text(f), why_fail(f)),
        (_, None, None) => "The search tried nothing.".into(),
    };
    if let Some(t) = theory.as_mut() {
        let v = t.value.unwrap_or(0.0);
        let sim = match (found.pass, found.fail) {
            (Some(p), Some(_)) if integer => text(p),
            (Some(p), Some(f)) => format!("{}–{}", text(p.min(f)), text(p.max(f))),
            (Some(p), None) => format!("beyond {}", text(p)),
            (None, Some(f)) => format!("none up to {}", text(f)),
            _ => "nothing".into(),
        };
        let saturation = t.limit.starts_with("saturation");
        let gap = found
            .pass
            .filter(|_| v > 0.0)
            .map(|p| {
                if saturation && good_below {
                    format!(", {:.0}% of saturation", p / v * 100.0)
                } else {
                    format!(" ({:+.0}% from theory)", (p / v - 1.0) * 100.0)
                }
            })
            .unwrap_or_default();
        let missing = if t.unpredicted.is_empty() {
            String::new()
        } else {
            let list = match t.unpredicted.as_slice() {
                [one] => one.clone(),
                [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
                [] => String::new(),
            };
            format!("; it has no formula for {list}, which simulation alone judges")
        };
        t.sentence = if saturation && !good_below {
            format!(
                "Theory (explain): {} is the least that avoids {}{missing}. Simulation: {sim}{gap}: the difference is what theory leaves out (queueing tails, variance, timeouts, network).",
                text(v),
                t.limit
            )
        } else if saturation {
            format!(
                "Theory (explain): {} at {}{missing}. Simulation: {sim}{gap}: the difference is what theory leaves out (queueing tails, variance, timeouts, network).",
                t.limit,
                text(v)
            )
        } else {
            format!(
                "Theory (explain's queueing model for {}): {}{missing}. Simulation: {sim}{gap}.",
                t.limit,
                text(v)
            )
        };
    }
    // The grid a user would sweep to find the answer without the search:
    // the range, else from the bottom (0, or 1 for a resource) up to the
    // furthest value the search needed, at the answer's resolution.
    let span = setup
        .range
        .unwrap_or((if integer { 1.0 } else { 0.0 }, found.span.1.max(found.span.0)));
    let at = found.pass.or(found.fail).unwrap_or(current);
    let step = setup.precision.step_at(at, integer).max(f64::MIN_POSITIVE);
    let points = (((span.1 - span.0) / step).floor().max(0.0) as u64).saturating_add(1);
    let grid = GridCost {
        points,
        simulations: points.saturating_mul(u64::from(setup.reps.0)),
        from: Some(span.0),
        to: Some(span.1),
        step: Some(step),
    };
    Ok((answer, theory, grid))
}

/// cheapest: the configurations in order of price until one passes.
fn answer_cheapest(
    prober: &mut Prober<'_>,
    setup: &Setup,
) -> Result<(Answer, Option<TheoryAnswer>, GridCost), PlanError> {
    let dims: Vec<(&String, &Vec<Value>)> = setup.choices.iter().collect();
    let sizes: Vec<usize> = dims.iter().map(|(_, v)| v.len()).collect();
    let params_of = |idx: &[usize]| -> IndexMap<String, Value> {
        dims.iter()
            .zip(idx)
            .map(|((k, v), &i)| ((*k).clone(), v[i].clone()))
            .collect()
    };
    // Each configuration's list price, from its loaded configuration.
    let mut prices: BTreeMap<Vec<usize>, f64> = BTreeMap::new();
    let total: usize = sizes.iter().product();
    for idx in search::configurations(&sizes) {
        let (_, cfg) = prober.load(&params_of(&idx))?;
        prices.insert(idx, list_price_per_hour(&cfg));
    }
    let price = |idx: &[usize]| prices.get(idx).copied().unwrap_or(0.0);
    let mut simulated: Vec<(Vec<usize>, bool)> = Vec::new();
    let result = search::cheapest(&sizes, price, |idx| {
        let ok = prober.judge(params_of(idx), price(idx))?;
        simulated.push((idx.to_vec(), ok));
        Ok::<bool, PlanError>(ok)
    })?;
    let (evaluated, implied, beyond) = search::tally(&sizes, &simulated);
    let mut answer = Answer {
        found: result.answer.is_some(),
        configurations: Some(Configurations {
            evaluated,
            implied,
            beyond,
            total,
        }),
        ..Answer::default()
    };
    answer.pareto = pareto(&prober.probes, &prober.objectives);
    answer.sentence = match &result.answer {
        Some(idx) => {
            let price = price(idx);
            let conf = params_of(idx);
            answer.value = Some(price);
            let text = describe(&conf);
            answer.configuration = Some(conf);
            format!(
                "The cheapest configuration meeting every SLO: {text}, at ${price:.2}/hour ({evaluated} of {total} configurations simulated; {implied} more judged by monotonicity).",
            )
        }
        None => format!(
            "No configuration of the {total} offered meets every SLO ({evaluated} simulated, {implied} judged by monotonicity); offer more capacity.",
        ),
    };
    let grid = GridCost {
        points: total as u64,
        simulations: (total as u64).saturating_mul(u64::from(setup.reps.0)),
        ..GridCost::default()
    };
    Ok((answer, None, grid))
}

/// The probes on the price-versus-first-objective Pareto front: no other
/// probe is at most as dear and at least as good, and better in one.
fn pareto(probes: &[Probe], objectives: &[Objective]) -> Vec<usize> {
    let Some(o) = objectives.first() else {
        return Vec::new();
    };
    let better = |a: f64, b: f64| match o.goal {
        crate::scenario::spec::Goal::AtMost => a < b,
        crate::scenario::spec::Goal::AtLeast => a > b,
    };
    let y = |p: &Probe| p.slo.first().and_then(|r| r.value);
    probes
        .iter()
        .filter(|p| {
            let Some(py) = y(p) else { return false };
            !probes.iter().any(|q| {
                let Some(qy) = y(q) else { return false };
                q.index != p.index
                    && q.x <= p.x
                    && (better(qy, py) || qy == py)
                    && (q.x < p.x || better(qy, py))
            })
        })
        .map(|p| p.index)
        .collect()
}

/// A number for a sentence: 3 significant digits.
fn short(v: f64) -> String {
    let r = search::round_sig(v, 3);
    if r.fract() == 0.0 && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

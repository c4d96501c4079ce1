//! `plan.json` and the summary: the question, the answer with its
//! interval, theory's answer beside it, and every probe.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::run::MetricValue;
use crate::run::slo::{SloResult, Verdict};

/// `plan.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PlanReport {
    /// archsim version.
    pub archsim_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Seed of replication 0 of every probe (common random numbers).
    pub seed: u64,
    /// `max_load`, `min_resources`, `cheapest` or `headroom`.
    pub question: String,
    /// The searched parameter (`load`, or a dotted path); none for `cheapest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// The parameter's unit: `/s`, `ms`, `×` (for `load`) or empty.
    #[serde(default)]
    pub unit: String,
    /// `cheapest`: the choices searched, each path's options in order.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub choices: IndexMap<String, Vec<Value>>,
    /// The objectives every probe is judged by (the scenario's `slo`).
    pub objectives: Vec<Objective>,
    /// Replications of a probe at first, and at most.
    pub replications: (u32, u32),
    /// The answer's resolution as the user gave it (`5/s`, `2%`, `1`).
    #[serde(default)]
    pub precision: String,
    /// The answer.
    pub answer: Answer,
    /// What queueing theory answers (`explain`'s model searched the same way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theory: Option<TheoryAnswer>,
    /// Every probe, in the order the search made them.
    pub probes: Vec<Probe>,
    /// Simulations (replications) the search used.
    pub simulations: u64,
    /// A full grid at the same resolution over the same span: its points
    /// and simulations (points × first replications).
    pub grid: GridCost,
    /// Findings (a probe left uncertain at the cap, a scenario's notes).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One objective.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Objective {
    /// Metric name.
    pub metric: String,
    /// `at_most` or `at_least`.
    pub goal: crate::scenario::spec::Goal,
    /// The bound.
    pub target: f64,
}

/// The answer.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Answer {
    /// One sentence that states it.
    pub sentence: String,
    /// Whether a value meeting every SLO was found.
    pub found: bool,
    /// The value to use: the last pass for a load, the first pass for a
    /// resource (in the parameter's unit); for `cheapest` the price per
    /// hour of the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The last value that passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<f64>,
    /// The first value that failed (or stayed uncertain) beyond it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<f64>,
    /// `cheapest`: the configuration (path → value as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<IndexMap<String, Value>>,
    /// `headroom`: the periods of growth until the SLO breaks, as an
    /// interval (from the last pass and the first fail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub periods: Option<(f64, Option<f64>)>,
    /// `headroom`: the period's name (`month`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// `headroom`: growth per period (0.08 for 8%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub growth: Option<f64>,
    /// `headroom`: the parameter's value today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<f64>,
    /// `cheapest`: configurations simulated, implied to fail, dearer
    /// than the answer (not reached), and in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configurations: Option<Configurations>,
    /// `cheapest`: the probes (indices) on the price-versus-metric Pareto
    /// front of the first objective: none cheaper is also better.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pareto: Vec<usize>,
}

/// How a `cheapest` search covered its space.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Configurations {
    /// Simulated.
    pub evaluated: usize,
    /// Not simulated: no more capacity in any choice than one that
    /// failed, or no less than one that passed.
    pub implied: usize,
    /// Left unknown: dearer than the answer.
    pub beyond: usize,
    /// The whole space.
    pub total: usize,
}

/// Theory's answer to the same question.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TheoryAnswer {
    /// The value (in the parameter's unit) where theory's prediction
    /// stops meeting the objectives it can predict, or saturates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// What limits it: `saturation` (the bottleneck reaches 100%) or the
    /// objective's metric.
    pub limit: String,
    /// Objectives theory has no formula for (judged by simulation alone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpredicted: Vec<String>,
    /// A sentence comparing it with the simulated answer.
    pub sentence: String,
}

/// One probe: a configuration simulated with replications.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Probe {
    /// Position in the search (0 first).
    pub index: usize,
    /// What it set: path → value as written (`load` → the factor).
    pub params: IndexMap<String, Value>,
    /// The searched value as a number (the parameter; for `cheapest` the
    /// price per hour), for charts.
    pub x: f64,
    /// Replications run (more where the verdict was uncertain).
    pub replications: u32,
    /// The overall verdict (uncertain only when the cap was reached).
    pub verdict: Verdict,
    /// Each objective judged.
    pub slo: Vec<SloResult>,
    /// The objectives' metrics, the headline and the cost, with 95% intervals.
    pub metrics: BTreeMap<String, MetricValue>,
    /// `explain`'s prediction for this probe (metric names as report.json).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub theory: BTreeMap<String, f64>,
    /// The replication counts it was judged at, in order (e.g. `[3, 6, 12]`).
    pub rounds: Vec<u32>,
}

/// What a grid at the same resolution would cost.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct GridCost {
    /// Points.
    pub points: u64,
    /// Points × replications per point.
    pub simulations: u64,
    /// Threshold questions: the grid's first value, last value and step
    /// (in the parameter's unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<f64>,
    /// Its last value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<f64>,
    /// Its step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
}

/// A value in the parameter's unit, as a person writes it: `437.5/s`,
/// `12`, `×1.84`, `20ms`.
pub fn value_text(x: f64, unit: &str) -> String {
    let n = crate::plan::search::round_sig(x, 4);
    let body = if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    };
    match unit {
        "×" => format!("×{body}"),
        _ => format!("{body}{unit}"),
    }
}

/// The summary: the answer first, then theory, the search's cost, and a
/// table of the probes.
pub fn summary(r: &PlanReport) -> String {
    let mut s = String::new();
    s.push_str(&r.answer.sentence);
    s.push('\n');
    if let Some(t) = &r.theory {
        s.push_str(&t.sentence);
        s.push('\n');
    }
    let over = match (r.grid.from, r.grid.to, r.grid.step) {
        (Some(a), Some(b), Some(s)) => format!(
            " ({} to {} step {})",
            value_text(a, &r.unit),
            value_text(b, &r.unit),
            value_text(s, &r.unit)
        ),
        _ => String::new(),
    };
    s.push_str(&format!(
        "Search: {} probe{}, {} simulations; a grid at the same resolution{over}: {} points × {} replications = {} simulations.\n",
        r.probes.len(),
        if r.probes.len() == 1 { "" } else { "s" },
        r.simulations,
        r.grid.points,
        r.replications.0,
        r.grid.simulations
    ));
    if let Some(c) = r.answer.configurations {
        s.push_str(&format!(
            "Configurations: {} simulated, {} judged by monotonicity (no more capacity than one that failed, or no less than one that passed), {} left unknown as dearer than the answer, of {}.\n",
            c.evaluated, c.implied, c.beyond, c.total
        ));
    }
    if !r.answer.pareto.is_empty()
        && let Some(o) = r.objectives.first()
    {
        let mut on: Vec<&Probe> = r.answer.pareto.iter().filter_map(|&i| r.probes.get(i)).collect();
        on.sort_by(|a, b| a.x.total_cmp(&b.x));
        let front: Vec<String> = on
            .into_iter()
            .map(|p| {
                let v = p.slo.first().and_then(|x| x.value).map(num).unwrap_or_default();
                format!("${:.2} → {v}", p.x)
            })
            .collect();
        s.push_str(&format!(
            "Pareto front (price per hour → {}; nothing cheaper is better): {}.\n",
            o.metric,
            front.join(", ")
        ));
    }
    for n in &r.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s.push_str(&format!("\nObjectives: {}\n", objectives_text(&r.objectives)));
    s.push('\n');
    s.push_str(&probe_table(r));
    s
}

/// `latency.p99_ms ≤ 100, availability ≥ 0.999`.
pub fn objectives_text(o: &[Objective]) -> String {
    o.iter()
        .map(|o| {
            let op = match o.goal {
                crate::scenario::spec::Goal::AtMost => "≤",
                crate::scenario::spec::Goal::AtLeast => "≥",
            };
            format!("{} {op} {}", o.metric, num(o.target))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The probes as a text table, in search order.
pub fn probe_table(r: &PlanReport) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head = vec!["#".to_string()];
    head.push(if r.question == "cheapest" {
        "configuration".into()
    } else {
        r.parameter.clone().unwrap_or_default()
    });
    if r.question == "cheapest" {
        head.push("$/hour".into());
    }
    for o in &r.objectives {
        head.push(o.metric.clone());
    }
    head.push("reps".into());
    head.push("verdict".into());
    rows.push(head);
    for p in &r.probes {
        let mut row = vec![format!("{}", p.index + 1)];
        if r.question == "cheapest" {
            row.push(
                p.params
                    .iter()
                    .map(|(k, v)| format!("{}={}", short_path(k), param_text(v)))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            row.push(format!("{:.2}", p.x));
        } else {
            row.push(value_text(p.x, &r.unit));
        }
        for o in &p.slo {
            row.push(match (o.value, o.ci95) {
                (Some(v), Some(c)) => format!("{} ± {}", num(v), num(c)),
                (Some(v), None) => num(v),
                _ => "—".into(),
            });
        }
        row.push(format!("{}", p.replications));
        row.push(p.verdict.word().to_string());
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A probe's parameter value as written: `450/s`, `4`, and a map as
/// `{cores: 4, price_per_hour: 0.19}`.
pub fn param_text(v: &Value) -> String {
    match v {
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k}: {}", param_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        v => crate::report::value_label(v),
    }
}

/// A probe's parameters as `path=value, …` (the load factor as `load ×1.2`).
pub fn params_text(params: &IndexMap<String, Value>) -> String {
    params
        .iter()
        .map(|(k, v)| match (k.as_str(), v.as_f64()) {
            ("load", Some(x)) => format!("load {}", value_text(x, "×")),
            _ => format!("{k}={}", param_text(v)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The last segment of a dotted path, with its owner: `api.replicas`.
pub fn short_path(p: &str) -> String {
    let parts: Vec<&str> = p.split('.').collect();
    match parts.as_slice() {
        ["components" | "clients", rest @ ..] if !rest.is_empty() => rest.join("."),
        _ => p.to_string(),
    }
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 && v.abs() != 1.0 {
        format!("{}", v as i64)
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{:.3}", v)
    }
}

//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use archsim::model::RunOutput;
use archsim::run::{Report, run_replications};
use archsim::scenario::{BuildOptions, load_str};

/// Load a scenario from YAML text (relative files resolve against the
/// crate root), panicking with the error if it does not load.
pub fn load_cfg(yaml: &str) -> archsim::model::Config {
    load_str(
        "test.yaml",
        yaml,
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[],
        &BuildOptions::default(),
    )
    .unwrap_or_else(|e| panic!("scenario failed to load:\n{e}"))
    .1
}

/// Load a scenario from YAML text and run `reps` replications with `seed`.
pub fn run_yaml(yaml: &str, seed: u64, reps: u32) -> (Report, Vec<RunOutput>) {
    run_replications(&load_cfg(yaml), seed, reps)
}

/// Per-replication values of a metric.
pub fn per_rep(outs: &[RunOutput], metric: &str) -> Vec<f64> {
    outs.iter()
        .map(|o| {
            *o.metrics
                .get(metric)
                .unwrap_or_else(|| panic!("metric {metric} missing"))
        })
        .collect()
}

/// Path of the built binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_archsim")
}

/// A pretty-printed report.json or sweep.json with every wall-clock value
/// (`sim.wall_s`, `sim.events_per_s`) blanked, line by line: the rest must
/// match byte for byte between runs of the same scenario and seed.
pub fn without_wall_clock(json: &str) -> String {
    let mut out = Vec::new();
    let mut blank = false;
    for line in json.lines() {
        if line.contains("\"sim.wall_s\"") || line.contains("\"sim.events_per_s\"") {
            blank = true;
        } else if blank && line.trim_start().starts_with("\"value\"") {
            out.push("<wall clock>");
            blank = false;
            continue;
        }
        out.push(line);
    }
    out.join("\n")
}

/// The bundled scenarios' folder.
pub fn scenario_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// Bundled scenario `file` with `overrides` (as `--set`), `reps`
/// replications at its own seed: the combined report and each
/// replication's output.
pub fn run_bundled(file: &str, overrides: &[&str], reps: u32) -> (Report, Vec<RunOutput>) {
    let path = scenario_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let (sc, cfg) = load_str(
        &path.display().to_string(),
        &text,
        &scenario_dir(),
        &overrides,
        &BuildOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{file} with {overrides:?} failed to load:\n{e}"));
    run_replications(&cfg, sc.seed, reps)
}

/// The index of a time-series column (panics naming the columns there are).
pub fn col(o: &RunOutput, name: &str) -> usize {
    o.columns
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", o.columns))
}

/// `(t_s, value)` of a time-series column.
pub fn series(o: &RunOutput, name: &str) -> Vec<(f64, f64)> {
    let (t, c) = (col(o, "t_s"), col(o, name));
    o.rows.iter().map(|r| (r[t], r[c])).collect()
}

//! What produced a sweep folder (see [`crate::report::provenance`]): the
//! effective scenario with the grid and replications it ran recorded in its
//! `sweep:` block, and provenance.json. A merged folder takes its shards'
//! scenario and says which folders it joined.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value;

use super::{Plan, SweepError, SweepOptions};
use crate::files::Stage;
use crate::report::provenance::{self as prov, Settings};

fn staged(e: crate::files::OutputError) -> SweepError {
    SweepError::from_output(&e)
}

/// Stage a sweep's provenance.json and scenario.resolved.yaml.
pub(super) fn stage(
    stage: &mut Stage<'_>,
    opts: &SweepOptions,
    dir: &Path,
    seed: u64,
    params: &IndexMap<String, Vec<Value>>,
    replications: u32,
) -> Result<(), SweepError> {
    let key = |k: &str| vec!["sweep".to_string(), k.to_string()];
    let vary = prov::map_node(
        params
            .iter()
            .map(|(k, vs)| (k.clone(), prov::node_from_json(&Value::Array(vs.clone()))))
            .collect(),
    );
    let mut rerun = format!("archsim sweep {}", dir.join(prov::RESOLVED).display());
    if let Some((k, n)) = opts.shard {
        rerun.push_str(&format!(" --shard {k}/{n}"));
    }
    for (m, rel) in &opts.precision {
        rerun.push_str(&format!(" --precision {m}={}%", rel * 100.0));
    }
    if !opts.precision.is_empty() {
        rerun.push_str(&format!(" --max-replications {}", opts.max_replications));
    }
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let written = prov::make(&prov::Request {
        command: "sweep",
        file: &opts.file,
        overrides: &opts.overrides,
        vary: &opts.vary,
        settings: Settings {
            replications: Some(replications),
            jobs: Some(jobs),
            shard: opts.shard.map(|(k, n)| format!("{k}/{n}")),
            precision: opts
                .precision
                .iter()
                .map(|(m, rel)| format!("{m}={}%", rel * 100.0))
                .collect(),
            max_replications: (!opts.precision.is_empty()).then_some(opts.max_replications),
            resume: opts.resume,
            ..Settings::default()
        },
        seed,
        edits: vec![
            (key("vary"), vary),
            (key("replications"), prov::int_node(u64::from(replications))),
        ],
        rerun,
        result: "sweep.json",
    })
    .map_err(|e| {
        SweepError::Io(format!(
            "error: cannot record the provenance of {}: {e}",
            dir.display()
        ))
    })?;
    for (name, bytes) in written.files() {
        stage.write(&name, &bytes).map_err(staged)?;
    }
    Ok(())
}

/// Stage a merged folder's provenance: its first shard's scenario (the
/// shards are one sweep: the plan's input hash says so), this command line,
/// and the shard folders.
pub(super) fn stage_merged(stage: &mut Stage<'_>, dirs: &[PathBuf], plan: &Plan) -> Result<(), SweepError> {
    let first = dirs.iter().find_map(|d| prov::read(d).map(|p| (d, p)));
    let mut p = match &first {
        Some((_, p)) => p.clone(),
        None => prov::Provenance {
            archsim_version: String::new(),
            command: String::new(),
            argv: Vec::new(),
            scenario: prov::Source {
                name: plan.scenario.clone(),
                file: plan.file.clone(),
                sha256: None,
            },
            data_files: Vec::new(),
            overrides: Vec::new(),
            settings: Settings {
                replications: Some(plan.replications),
                ..Settings::default()
            },
            merged_from: Vec::new(),
            written_utc: String::new(),
        },
    };
    p.archsim_version = env!("CARGO_PKG_VERSION").to_string();
    p.command = "merge".into();
    p.argv = prov::argv();
    p.settings.shard = None;
    p.settings.jobs = None;
    p.settings.resume = false;
    p.merged_from = dirs.iter().map(|d| d.display().to_string()).collect();
    p.written_utc = prov::utc_now();
    let json = serde_json::to_string_pretty(&p).unwrap_or_default() + "\n";
    stage.write(prov::PROVENANCE, json.as_bytes()).map_err(staged)?;
    if let Some((d, _)) = first
        && let Ok(bytes) = crate::files::read_limited(
            &d.join(prov::RESOLVED),
            crate::scenario::limits::MAX_SCENARIO_BYTES,
        )
    {
        // The shard's scenario under a comment of the merged folder's own.
        let text = String::from_utf8_lossy(&bytes);
        let body: String = text
            .split_inclusive('\n')
            .skip_while(|l| l.starts_with('#'))
            .collect();
        let head = format!(
            "# The effective scenario of this sweep folder, merged by archsim {} from {}.\n\
             # `archsim sweep THIS_FILE` reproduces sweep.json (wall-clock values aside).\n",
            env!("CARGO_PKG_VERSION"),
            p.merged_from.join(", ")
        );
        stage
            .write(prov::RESOLVED, (head + &body).as_bytes())
            .map_err(staged)?;
    }
    Ok(())
}

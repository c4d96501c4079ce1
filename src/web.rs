//! The commands on a scenario's text, results in memory: what the browser
//! playground (`web/wasm`) calls, where there are no files to read or
//! write. Each is the command line's own pipeline — the same loading,
//! checks, engine, report, summary and pages — so the same scenario and
//! seed give the same `report.json` in the browser as `archsim run` does.

use std::path::{Path, PathBuf};

use crate::report;
use crate::run::Report;
use crate::scenario::{self, BuildOptions, Scenario, SourceError, tree::Origin};

/// One located problem with the input: what `archsim validate` prints,
/// with its line and column (1-based; column in characters) when it is in
/// the text.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Line in the scenario text, if the problem is located there.
    pub line: Option<u32>,
    /// Column in characters, with `line`.
    pub col: Option<u32>,
    /// The whole message, as the command line prints it.
    pub message: String,
}

impl Problem {
    fn plain(message: String) -> Problem {
        Problem {
            line: None,
            col: None,
            message,
        }
    }

    fn of(e: &SourceError) -> Problem {
        let (line, col) = match e.origin {
            Origin::File { line, col } => (Some(line), Some(col)),
            _ => (None, None),
        };
        Problem {
            line,
            col,
            message: e.to_string(),
        }
    }
}

fn load(
    file: &str,
    text: &str,
    overrides: &[String],
) -> Result<(Scenario, crate::model::Config), Vec<Problem>> {
    if text.len() as u64 > scenario::limits::MAX_SCENARIO_BYTES {
        return Err(vec![Problem::plain(format!(
            "{file}: the scenario is larger than {} bytes",
            scenario::limits::MAX_SCENARIO_BYTES
        ))]);
    }
    let base = Path::new(file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    scenario::load_str(file, text, &base, overrides, &BuildOptions::default())
        .map_err(|e| e.0.iter().map(Problem::of).collect())
}

/// The checks of `archsim validate`: the scenario as typed values, or every
/// problem found.
pub fn check(file: &str, text: &str, overrides: &[String]) -> Result<Scenario, Vec<Problem>> {
    load(file, text, overrides).map(|(sc, _)| sc)
}

/// `archsim explain`'s text.
pub fn explain(file: &str, text: &str, overrides: &[String]) -> Result<String, Vec<Problem>> {
    let (sc, cfg) = load(file, text, overrides)?;
    Ok(crate::explain::render_text(&crate::explain::predict(&sc, &cfg)))
}

/// What a run gives back.
pub struct Ran {
    /// `report.json`'s content.
    pub report: Report,
    /// `summary.txt` (without the provenance line: nothing was written).
    pub summary: String,
    /// The run's `index.html`, charts inline.
    pub page: String,
    /// Theory beside simulation (`archsim run --explain`).
    pub explain: String,
    /// Events simulated, all replications.
    pub events: u64,
    /// Wall-clock seconds the replications took.
    pub wall_s: f64,
}

/// `archsim run` on text: `replications` as the flag (else the file's
/// `run.replications`, else 1).
pub fn run(
    file: &str,
    text: &str,
    overrides: &[String],
    replications: Option<u32>,
) -> Result<Ran, Vec<Problem>> {
    let (sc, cfg) = load(file, text, overrides)?;
    let replications = replications
        .or(sc.run.as_ref().and_then(|r| r.replications))
        .unwrap_or(1);
    if !(1..=scenario::limits::MAX_REPLICATIONS).contains(&replications) {
        return Err(vec![Problem::plain(format!(
            "error: --replications: must be at least 1 and at most {}",
            scenario::limits::MAX_REPLICATIONS
        ))]);
    }
    let clock = crate::host::Stopwatch::start();
    let (mut rep, outs) = crate::run::run_replications(&cfg, sc.seed, replications);
    let wall_s = clock.seconds();
    if let Some(msg) = outs.iter().find_map(|o| o.livelock.as_ref()) {
        return Err(vec![Problem::plain(format!("error: {file}: {msg}"))]);
    }
    rep.answer(&sc, &cfg);
    let kinds: Vec<(String, &'static str)> =
        sc.components.iter().map(|(k, c)| (k.clone(), c.kind())).collect();
    let summary = report::summary::render(&rep, &sc.description, &kinds);
    let charts = report::run_page_charts(&rep, &outs[0], &sc, &cfg);
    let page = report::html::run_page(&rep, &sc.description, &summary, &charts);
    let explain = report::summary::versus_theory(&sc, &cfg, &rep);
    Ok(Ran {
        events: outs.iter().map(|o| o.events).sum(),
        report: rep,
        summary,
        page,
        explain,
        wall_s,
    })
}

/// What a sweep gives back.
pub struct Swept {
    /// The sweep's report (`sweep.json`).
    pub report: crate::run::SweepReport,
    /// The table `archsim sweep` prints.
    pub table: String,
    /// The sweep's `index.html`, charts inline.
    pub page: String,
    /// Events simulated, all replications.
    pub events: u64,
}

/// `archsim sweep` on text: `vary` as `--vary PATH=V1,V2,…` (added to the
/// file's own `sweep.vary`), `replications` as the flag.
pub fn sweep(
    file: &str,
    text: &str,
    overrides: &[String],
    vary: &[String],
    replications: Option<u32>,
) -> Result<Swept, Vec<Problem>> {
    // Located errors first, as `archsim sweep` reports them.
    load(file, text, overrides)?;
    let opts = crate::sweep::SweepOptions {
        file: PathBuf::from(file),
        overrides: overrides.to_vec(),
        vary: vary.to_vec(),
        replications,
        jobs: Some(1),
        out: None,
        resume: false,
        force: false,
        shard: None,
        precision: Vec::new(),
        max_replications: 1,
        progress: crate::sweep::ProgressMode::Quiet,
        stop_after: None,
        png: false,
        build: BuildOptions::default(),
    };
    let m = crate::sweep::in_memory(&opts, text).map_err(|e| {
        let s = e.to_string();
        vec![Problem::plain(s)]
    })?;
    Ok(Swept {
        table: crate::sweep::table(&m.report),
        report: m.report,
        page: m.page,
        events: m.events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "name: small\ndescription: One server.\nseed: 7\nduration: 20s\n\
clients:\n  users:\n    arrival: { poisson: 50/s }\n    target: api\n\
components:\n  api:\n    kind: service\n    replicas: 1\n    service_time: { exponential: 10ms }\n";

    #[test]
    fn a_run_in_memory_equals_the_library_run() {
        let ran = run("small.yaml", SMALL, &[], None).unwrap();
        let (sc, cfg) =
            scenario::load_str("small.yaml", SMALL, Path::new(""), &[], &BuildOptions::default()).unwrap();
        let (mut rep, _) = crate::run::run_replications(&cfg, sc.seed, 1);
        rep.answer(&sc, &cfg);
        assert_eq!(
            ran.report.to_json_without_wall_clock(),
            rep.to_json_without_wall_clock()
        );
        assert!(ran.page.contains("<svg"), "the page has its charts inline");
        assert!(ran.summary.contains("latency"), "{}", ran.summary);
    }

    #[test]
    fn problems_keep_their_place() {
        let bad = SMALL.replace("replicas: 1", "replicas: one");
        let p = check("small.yaml", &bad, &[]).unwrap_err();
        assert_eq!((p[0].line, p[0].col), (Some(12), Some(15)), "{p:?}");
        assert!(
            p[0].message
                .starts_with("error: small.yaml:12:15: components.api.replicas"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn a_sweep_in_memory_has_every_point() {
        let s = sweep(
            "small.yaml",
            SMALL,
            &[],
            &["components.api.replicas=1,2".into()],
            Some(2),
        )
        .unwrap();
        assert_eq!(s.report.points.len(), 2);
        assert!(s.page.contains("<svg"));
    }
}

//! The command line (SPEC §1): argument types and what each command does.
//! `main.rs` only parses and calls [`run`].

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::files::{Folder, Kind, OutputError};
use crate::report;
use crate::scenario::{self, BuildOptions, units::Duration};

/// Print to standard output. A reader that has gone away (`archsim schema |
/// head`) is not an error and stops nothing: the command still writes its
/// folder and exits as it would have. Any other failure is reported on
/// stderr.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        stdout_result(write!(std::io::stdout(), $($arg)*));
    }};
}

/// As [`out!`], with a line break.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        stdout_result(writeln!(std::io::stdout(), $($arg)*));
    }};
}

fn stdout_result(r: std::io::Result<()>) {
    if let Err(e) = r
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to standard output: {e}");
    }
}

/// Exit code for bad input (SPEC §1, Must).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code for any other failure.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code of `run`/`sweep --check-slo` when an SLO objective fails.
pub const EXIT_SLO_FAILED: i32 = 3;

/// archsim: simulate scalable software architectures.
#[derive(Parser, Debug)]
#[command(name = "archsim", version, about, long_about = None)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate one scenario, print a summary and write the run folder.
    Run(RunArgs),
    /// Check scenario files; print every problem with file:line:column.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the scenario format.
    Schema,
    /// Predict a scenario from queueing theory: topology, offered load per tier, utilisation, bottleneck, waits.
    Explain {
        /// Scenario file.
        file: PathBuf,
        /// `text` (default), `mermaid` or `dot` (the topology for docs).
        #[arg(long, default_value = "text")]
        format: String,
        /// Override a field, as for `run` (PATH=VALUE); repeatable.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
    },
    /// List the bundled scenarios with their one-line summary and lesson tags.
    List {
        /// Only scenarios with this tag (e.g. caching, faults, autoscaling).
        #[arg(long)]
        tag: Option<String>,
        /// Folder of scenarios (default: ./scenarios, else the one shipped with the source).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Run a grid of variants × replications in parallel (resumable).
    Sweep(SweepArgs),
    /// Answer a capacity question by search: max load, min resources, cheapest configuration, headroom.
    Plan(PlanArgs),
    /// Side-by-side table of report.json / sweep.json files with significance.
    Compare {
        /// Two or more report.json or sweep.json files (or run/sweep folders).
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = crate::compare::CompareFormat::Text)]
        format: crate::compare::CompareFormat,
        /// Also write a comparison folder: charts and index.html.
        #[arg(long)]
        out: Option<PathBuf>,
        /// With --out, also write PNG charts.
        #[arg(long)]
        png: bool,
        /// With --out, replace what the folder holds even if it is not a comparison.
        #[arg(long)]
        force: bool,
    },
    /// Join `--shard` sweep folders into one sweep folder.
    Merge {
        /// Shard folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write the merged sweep.
        #[arg(long)]
        out: PathBuf,
        /// Also write PNG charts.
        #[arg(long)]
        png: bool,
        /// Replace what --out holds even if it is another sweep's results.
        #[arg(long)]
        force: bool,
        /// Merge even if replications are missing (they are listed on standard error).
        #[arg(long)]
        partial: bool,
        /// Exit with code 3 when any merged point fails an SLO objective, as `sweep --check-slo` does.
        #[arg(long)]
        check_slo: bool,
    },
}

/// Flags of `archsim sweep`.
#[derive(clap::Args, Debug, Clone)]
pub struct SweepArgs {
    /// Scenario file (its `sweep:` block gives the grid).
    pub file: PathBuf,
    /// Add or replace a varied parameter: PATH=V1,V2,… (YAML values; `A..B step S` ranges).
    #[arg(long, value_name = "PATH=V1,V2,…")]
    pub vary: Vec<String>,
    /// Replications per point (default: the file's sweep.replications, else 1).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Sweep folder (default output/<scenario name>-sweep/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue a sweep, skipping replications already in points.jsonl.
    #[arg(long)]
    pub resume: bool,
    /// Start over in a folder that already holds results.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Run only the K-th of N slices of the (point, replication) jobs, e.g. 2/4.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// With --emit or --task: split the sweep into N shards (each a `--shard K/N` slice, in its own folder DIR/shard-K-of-N; DIR defaults to output/<name>-shards).
    #[arg(long, value_name = "N", conflicts_with = "shard")]
    pub shards: Option<u32>,
    /// With --shards: run the shards as T array tasks, each running a range of them (default: one shard per task).
    #[arg(long, value_name = "T", requires = "shards")]
    pub tasks: Option<u32>,
    /// Run one array task's shards: its number from 0, or `env` to read it from ARCHSIM_TASK_INDEX, SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX.
    #[arg(long, value_name = "I|env", requires = "shards", conflicts_with_all = ["force", "emit"])]
    pub task: Option<String>,
    /// With --task: the index names the task at that position of this list (a resubmission of some tasks), e.g. 2,5.
    #[arg(long, value_name = "I,J,…", requires = "task")]
    pub task_list: Option<String>,
    /// Write job files for a workload manager into DIR/jobs (run nothing): slurm, k8s, batch (AWS) or local.
    #[arg(long, value_enum, value_name = "MANAGER", requires = "shards")]
    pub emit: Option<crate::sweep::jobfiles::Manager>,
    /// With --emit: only the tasks whose shards in DIR are unfinished (into DIR/jobs/missing).
    #[arg(long, requires = "emit")]
    pub missing: bool,
    /// Add replications until METRIC's 95% half-width is at most REL of its value, e.g. latency.p99_ms=2%.
    #[arg(long, value_name = "METRIC=REL")]
    pub precision: Vec<String>,
    /// Most replications per point with --precision.
    #[arg(long, default_value_t = 64)]
    pub max_replications: u32,
    /// Seed (overrides the file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration (overrides the file's).
    #[arg(long)]
    pub duration: Option<String>,
    /// Override a field for every point: PATH=VALUE (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// No progress, no table.
    #[arg(long)]
    pub quiet: bool,
    /// Exit with code 3 when any point fails an SLO objective (its whole 95% interval on the bad side); the table's SLO column says which.
    #[arg(long)]
    pub check_slo: bool,
    /// Also write each chart as PNG.
    #[arg(long)]
    pub png: bool,
    /// Test hook: stop as if interrupted after N replications.
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
}

/// The question `archsim plan --question` asks.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum QuestionArg {
    /// The largest value of the parameter at which every SLO holds.
    #[value(name = "max_load", alias = "max-load")]
    MaxLoad,
    /// The smallest integer value of the parameter meeting every SLO.
    #[value(name = "min_resources", alias = "min-resources")]
    MinResources,
    /// The cheapest configuration of the choices meeting every SLO.
    Cheapest,
    /// When compound growth first breaks an SLO.
    Headroom,
}

/// Flags of `archsim plan`; each overrides the file's `plan:` block.
#[derive(clap::Args, Debug, Clone)]
pub struct PlanArgs {
    /// Scenario file (its `plan:` block asks the question; its `slo:` judges each probe).
    pub file: PathBuf,
    /// The question.
    #[arg(long, value_enum)]
    pub question: Option<QuestionArg>,
    /// The searched parameter: a dotted path (clients.web.arrival.poisson, components.api.replicas) or `load` (× every client's rate).
    #[arg(long)]
    pub parameter: Option<String>,
    /// Where to search, A..B (e.g. 100/s..2000/s, 1..64) [default: around explain's prediction].
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,
    /// The answer's resolution: a value in the parameter's unit (5/s) or a percentage (2%) [default: 2%, 1 for min_resources].
    #[arg(long)]
    pub precision: Option<String>,
    /// Add or replace a cheapest choice: PATH=V1,V2,… from least to most capacity (ranges A..B step S).
    #[arg(long, value_name = "PATH=V1,V2,…")]
    pub choice: Vec<String>,
    /// Headroom: compound growth per period, e.g. 8%/month.
    #[arg(long)]
    pub growth: Option<String>,
    /// Replications of each probe at first [default: the file's plan.replications, else 3].
    #[arg(long)]
    pub replications: Option<u32>,
    /// Most replications of a probe whose verdict is uncertain [default: 24].
    #[arg(long)]
    pub max_replications: Option<u32>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Plan folder (default output/<scenario name>-plan/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue a plan, reading back the replications already in probes.jsonl.
    #[arg(long)]
    pub resume: bool,
    /// Start over in a folder that already holds results.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Seed (overrides the file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration of each probe (overrides the file's).
    #[arg(long)]
    pub duration: Option<String>,
    /// Override a field: PATH=VALUE (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// No progress, only the answer.
    #[arg(long)]
    pub quiet: bool,
    /// Also write each chart as PNG.
    #[arg(long)]
    pub png: bool,
    /// Test hook: stop as if interrupted after N replications.
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
}

/// What goes to standard output.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// The summary table.
    Text,
    /// Exactly the report.json document.
    Json,
}

/// Flags of `archsim run`.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Scenario file.
    pub file: PathBuf,
    /// Run folder (default output/<scenario name>/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed (overrides the file's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration (overrides the file's), e.g. 10m.
    #[arg(long)]
    pub duration: Option<String>,
    /// Independent replications; metrics get 95% intervals [default: the file's run.replications, else 1].
    #[arg(long)]
    pub replications: Option<u32>,
    /// Override a field: PATH=VALUE, VALUE parsed as YAML (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Time-series interval [default: 1s, longer for long runs: at most 10,000 rows].
    #[arg(long)]
    pub interval: Option<String>,
    /// Also write each chart as PNG (text from a font embedded in archsim).
    #[arg(long)]
    pub png: bool,
    /// Stop and report an unstable system when more requests than this are in flight [default: the file's run.max_in_flight, else 1000000].
    #[arg(long)]
    pub max_in_flight: Option<usize>,
    /// Print queueing theory's predictions next to the simulated numbers.
    #[arg(long)]
    pub explain: bool,
    /// Exit with code 3 when any SLO objective fails (its whole 95% interval on the bad side).
    #[arg(long)]
    pub check_slo: bool,
    /// Replace the results in --out even if they are another scenario's (files archsim did not write are kept), and a --trace file archsim did not write.
    #[arg(long)]
    pub force: bool,
    /// Write the first replication's events as JSON Lines to FILE (see docs/trace.md).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Keep some events only: `component=NAME`, `from=10s`, `to=20s`, `sample=0.01` (a share of the requests); repeatable.
    #[arg(long = "trace-filter", value_name = "KEY=VALUE")]
    pub trace_filter: Vec<String>,
}

/// Run a parsed command line; returns the process exit code.
pub fn run(args: Args) -> i32 {
    match args.command {
        Command::Run(a) => cmd_run(&a),
        Command::Validate { files } => cmd_validate(&files),
        Command::List { tag, dir } => cmd_list(tag.as_deref(), dir.as_deref()),
        Command::Explain { file, format, set } => cmd_explain(&file, &format, &set),
        Command::Schema => {
            let schema = schemars::schema_for!(crate::scenario::Scenario);
            outln!("{}", serde_json::to_string_pretty(&schema).unwrap_or_default());
            0
        }
        Command::Sweep(a) => cmd_sweep(&a),
        Command::Plan(a) => cmd_plan(&a),
        Command::Compare {
            files,
            format,
            out,
            png,
            force,
        } => {
            use std::io::IsTerminal;
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            match crate::compare::run(&files, format, color) {
                Ok(text) => {
                    out!("{text}");
                    if let Some(dir) = out {
                        return match crate::compare::write_folder(&files, &dir, png, force) {
                            Ok(()) => 0,
                            Err(e) => {
                                eprintln!("{e}");
                                e.exit_code()
                            }
                        };
                    }
                    0
                }
                Err(e) => {
                    eprintln!("{e}");
                    e.exit_code()
                }
            }
        }
        Command::Merge {
            dirs,
            out,
            png,
            force,
            partial,
            check_slo,
        } => match crate::sweep::merge(&dirs, &out, png, force, partial) {
            Ok(r) => {
                outln!("merged {} points into {}", r.points.len(), out.display());
                let failed = failed_points(&r);
                if check_slo && failed > 0 {
                    eprintln!(
                        "error: --check-slo: {failed} of {} points fail an SLO objective (see {}/sweep.csv)",
                        r.points.len(),
                        out.display()
                    );
                    return EXIT_SLO_FAILED;
                }
                0
            }
            Err(e) => {
                eprintln!("{e}");
                e.exit_code()
            }
        },
    }
}

/// Points of a sweep whose overall SLO verdict is fail (`--check-slo`).
fn failed_points(r: &crate::run::SweepReport) -> usize {
    r.points
        .iter()
        .filter(|p| crate::run::slo::overall(&p.slo) == Some(crate::run::slo::Verdict::Fail))
        .count()
}

fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("--shard {s}: expected K/N, e.g. 2/4"))?;
    let k: u32 = k
        .trim()
        .parse()
        .map_err(|_| format!("--shard {s}: K must be a whole number"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("--shard {s}: N must be a whole number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("--shard {s}: expected 1 ≤ K ≤ N"));
    }
    Ok((k, n))
}

fn parse_precision(s: &str) -> Result<(String, f64), String> {
    let (m, rel) = s
        .split_once('=')
        .ok_or_else(|| format!("--precision {s}: expected METRIC=REL, e.g. latency.p99_ms=2%"))?;
    let rel = rel.trim();
    let v = match rel.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => rel.parse::<f64>(),
    }
    .map_err(|_| format!("--precision {s}: REL must be a number or a percentage"))?;
    if !(v > 0.0 && v.is_finite()) {
        return Err(format!("--precision {s}: REL must be positive"));
    }
    Ok((m.trim().to_string(), v))
}

fn cmd_sweep(a: &SweepArgs) -> i32 {
    let shard = match a.shard.as_deref().map(parse_shard).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let precision = match a
        .precision
        .iter()
        .map(|p| parse_precision(p))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };

    let mut overrides = Vec::new();
    if let Some(s) = a.seed {
        overrides.push(scenario::labeled("--seed", &format!("seed={s}")));
    }
    if let Some(d) = &a.duration {
        overrides.push(scenario::labeled("--duration", &format!("duration={d}")));
    }
    overrides.extend(a.set.iter().cloned());
    let opts = crate::sweep::SweepOptions {
        file: a.file.clone(),
        overrides,
        vary: a.vary.clone(),
        replications: a.replications,
        jobs: a.jobs,
        out: a.out.clone(),
        resume: a.resume,
        force: a.force,
        shard,
        precision,
        max_replications: a.max_replications.max(1),
        progress: if a.quiet {
            crate::sweep::ProgressMode::Quiet
        } else {
            crate::sweep::ProgressMode::Auto
        },
        stop_after: a.stop_after,
        png: a.png,
        build: BuildOptions::default(),
    };
    if let Some(n) = a.shards {
        return cmd_cluster(a, &opts, n);
    }
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    // Ctrl-C: finish nothing new, keep every finished line.
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed));
    match crate::sweep::run(&opts, &cancel) {
        Ok(o) => {
            if !a.quiet {
                out!("{}", crate::sweep::table(&o.report));
                if let Some(p) = report::provenance::read(&o.dir) {
                    outln!("{}", report::provenance::line(&p));
                }
                outln!(
                    "Ran {} replications ({:.1} M events/s) in {:.1} s. Wrote {}",
                    o.ran,
                    o.events as f64 / o.wall_s.max(1e-9) / 1e6,
                    o.wall_s,
                    o.dir.display()
                );
            }
            let failed = failed_points(&o.report);
            if a.check_slo && failed > 0 {
                if !a.quiet {
                    eprintln!(
                        "error: --check-slo: {failed} of {} points fail an SLO objective (see the table's SLO column)",
                        o.report.points.len()
                    );
                }
                return EXIT_SLO_FAILED;
            }
            0
        }
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

/// `archsim sweep … --shards N` with `--emit` (write job files) or
/// `--task` (run one array task's shards).
fn cmd_cluster(a: &SweepArgs, opts: &crate::sweep::SweepOptions, n: u32) -> i32 {
    use crate::sweep::cluster::{self, Split};
    use crate::sweep::jobfiles::Manager;
    let fail = |e: crate::sweep::SweepError| {
        eprintln!("{e}");
        e.exit_code()
    };
    let bad = |msg: String| {
        eprintln!("error: {msg}");
        EXIT_BAD_INPUT
    };
    let split = match Split::new(n, a.tasks) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    if !a.precision.is_empty() {
        return bad(
            "--precision adds replications as results come in, so it cannot be split into --shards".into(),
        );
    }
    let prepared = match crate::sweep::prepare(opts) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    // The split's own folder (its shard folders, jobs/ and merged/), apart
    // from the plain sweep's default.
    let root = a.out.clone().unwrap_or_else(|| {
        std::path::Path::new("output").join(format!("{}-shards", prepared.base.scenario.name))
    });
    if root.join("sweep-plan.json").exists() {
        return bad(format!(
            "--out {}: holds a sweep of its own; a split needs a folder for its shard folders (choose another --out)",
            root.display()
        ));
    }
    if let Some(task) = &a.task {
        let list: Result<Vec<u32>, _> = a
            .task_list
            .as_deref()
            .map(|l| l.split(',').map(|x| x.trim().parse::<u32>()).collect())
            .unwrap_or(Ok(Vec::new()));
        let Ok(list) = list else {
            return bad(format!(
                "--task-list {}: expected task numbers separated by commas",
                a.task_list.as_deref().unwrap_or_default()
            ));
        };
        let i = match cluster::task_index(task, &list, split) {
            Ok(i) => i,
            Err(e) => return bad(e),
        };
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = cancel.clone();
        let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed));
        let shards = split.shards_of(i);
        if !a.quiet {
            outln!(
                "task {i} of 0–{}: shards {}–{} of {n} into {}",
                split.tasks - 1,
                shards.start(),
                shards.end(),
                root.display()
            );
        }
        return match cluster::run_task(opts, &root, split, i, &cancel) {
            Ok(done) => {
                if !a.quiet {
                    for (k, o) in &done {
                        outln!(
                            "  shard {k}/{n}: ran {} replications in {:.1} s ({} points) → {}",
                            o.ran,
                            o.wall_s,
                            o.report.points.len(),
                            o.dir.display()
                        );
                    }
                }
                0
            }
            Err(e) => fail(e),
        };
    }
    let Some(manager) = a.emit else {
        return bad("--shards needs --emit MANAGER (write job files) or --task I (run one task)".into());
    };
    let plan = crate::sweep::plan_of(opts, &prepared);
    let tasks: Vec<u32> = if a.missing {
        match cluster::unfinished_tasks(&plan, prepared.points, &root, split) {
            Ok(t) => t,
            Err(e) => return fail(e),
        }
    } else {
        (0..split.tasks).collect()
    };
    let merged = root.join("merged");
    if tasks.is_empty() {
        outln!(
            "nothing is missing: every shard under {} is complete; merge with: archsim merge {} --out {}",
            root.display(),
            root.display(),
            merged.display()
        );
        return 0;
    }
    // A task's command: the flags that shape the results, as given.
    let file = a.file.display().to_string();
    let mut args: Vec<String> = vec!["sweep".into(), file.clone()];
    for v in &a.vary {
        args.extend(["--vary".into(), v.clone()]);
    }
    if let Some(r) = a.replications {
        args.extend(["--replications".into(), r.to_string()]);
    }
    if let Some(s) = a.seed {
        args.extend(["--seed".into(), s.to_string()]);
    }
    if let Some(d) = &a.duration {
        args.extend(["--duration".into(), d.clone()]);
    }
    for s in &a.set {
        args.extend(["--set".into(), s.clone()]);
    }
    let root_text = root.display().to_string();
    args.extend([
        "--shards".into(),
        n.to_string(),
        "--tasks".into(),
        split.tasks.to_string(),
        "--out".into(),
        root_text.clone(),
        "--quiet".into(),
        "--task".into(),
        "env".into(),
    ]);
    let mut merge_args: Vec<String> = vec![
        "merge".into(),
        root_text,
        "--out".into(),
        merged.display().to_string(),
    ];
    if a.png {
        merge_args.push("--png".into());
    }
    // The merge job fails (exit 3) when a point fails an SLO objective.
    if a.check_slo {
        merge_args.push("--check-slo".into());
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "archsim".into());
    let cwd = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."));
    let about = format!(
        "{file}, {} points × {} replications = {} jobs",
        prepared.points,
        prepared.replications,
        prepared.points * u64::from(prepared.replications)
    );
    if root.is_absolute() && matches!(manager, Manager::K8s | Manager::Batch) {
        eprintln!(
            "note: --out {} is absolute: in the container the tasks write there, not under the working \
             directory the shared volume is mounted on; give --out relative to it",
            root.display()
        );
    }
    let emit = crate::sweep::jobfiles::Emit {
        manager,
        split,
        missing: a.missing,
        tasks: &tasks,
        name: &prepared.base.scenario.name,
        root: &root,
        cwd: &cwd,
        exe: &exe,
        task_args: &args,
        merge_args: &merge_args,
        cpus: a.jobs.unwrap_or(1).max(1) as u32,
        about: &about,
    };
    match crate::sweep::jobfiles::emit(&emit) {
        Ok((files, submit)) => {
            outln!(
                "{about}: {n} shards in {} tasks{}",
                split.tasks,
                if a.missing {
                    format!(
                        ", {} unfinished: {}",
                        tasks.len(),
                        crate::sweep::jobfiles::array_spec(&tasks)
                    )
                } else {
                    String::new()
                }
            );
            for f in &files {
                outln!("wrote {}", f.display());
            }
            outln!("submit with: {submit}");
            outln!("merged results: {}", merged.display());
            0
        }
        Err(e) => fail(e),
    }
}

fn cmd_plan(a: &PlanArgs) -> i32 {
    use crate::scenario::spec::PlanQuestion;
    let mut overrides = Vec::new();
    if let Some(s) = a.seed {
        overrides.push(scenario::labeled("--seed", &format!("seed={s}")));
    }
    if let Some(d) = &a.duration {
        overrides.push(scenario::labeled("--duration", &format!("duration={d}")));
    }
    overrides.extend(a.set.iter().cloned());
    let opts = crate::plan::PlanOptions {
        file: a.file.clone(),
        overrides,
        question: a.question.map(|q| match q {
            QuestionArg::MaxLoad => PlanQuestion::MaxLoad,
            QuestionArg::MinResources => PlanQuestion::MinResources,
            QuestionArg::Cheapest => PlanQuestion::Cheapest,
            QuestionArg::Headroom => PlanQuestion::Headroom,
        }),
        parameter: a.parameter.clone(),
        range: a.range.clone(),
        precision: a.precision.clone(),
        choices: a.choice.clone(),
        growth: a.growth.clone(),
        replications: a.replications,
        max_replications: a.max_replications,
        jobs: a.jobs,
        out: a.out.clone(),
        resume: a.resume,
        force: a.force,
        progress: Some(if a.quiet {
            crate::sweep::ProgressMode::Quiet
        } else {
            crate::sweep::ProgressMode::Auto
        }),
        stop_after: a.stop_after,
        png: a.png,
    };
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed));
    match crate::plan::run(&opts, &cancel) {
        Ok(o) => {
            if a.quiet {
                outln!("{}", o.report.answer.sentence);
            } else {
                out!("{}", crate::plan::output::summary(&o.report));
                if o.ran == 0 {
                    outln!(
                        "Ran nothing new: every replication was read back. Wrote {}",
                        o.dir.display()
                    );
                } else {
                    outln!(
                        "Ran {} replications ({:.1} M events/s) in {:.1} s. Wrote {}",
                        o.ran,
                        o.events as f64 / o.wall_s.max(1e-9) / 1e6,
                        o.wall_s,
                        o.dir.display()
                    );
                }
            }
            0
        }
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

/// The overrides a run applies: `--seed` and `--duration` first, then `--set`.
fn overrides(a: &RunArgs) -> Vec<String> {
    let mut o = Vec::new();
    if let Some(s) = a.seed {
        o.push(scenario::labeled("--seed", &format!("seed={s}")));
    }
    if let Some(d) = &a.duration {
        o.push(scenario::labeled("--duration", &format!("duration={d}")));
    }
    o.extend(a.set.iter().cloned());
    o
}

fn parse_flag_duration(flag: &str, v: &str) -> Result<Duration, i32> {
    v.parse::<Duration>().map_err(|e| {
        eprintln!("error: --{flag}: {e}");
        EXIT_BAD_INPUT
    })
}

fn cmd_run(a: &RunArgs) -> i32 {
    let interval = match a.interval.as_deref().map(|v| parse_flag_duration("interval", v)) {
        None => None,
        Some(Ok(d)) if !d.is_zero() => Some(d),
        Some(Ok(_)) => {
            eprintln!("error: --interval: must be longer than zero");
            return EXIT_BAD_INPUT;
        }
        Some(Err(c)) => return c,
    };
    if a.replications
        .is_some_and(|r| !(1..=scenario::limits::MAX_REPLICATIONS).contains(&r))
    {
        eprintln!(
            "error: --replications: must be at least 1 and at most {}",
            scenario::limits::MAX_REPLICATIONS
        );
        return EXIT_BAD_INPUT;
    }
    let opts = BuildOptions {
        interval,
        max_in_flight: a.max_in_flight.map(|m| m.max(1)),
    };
    let loaded = match scenario::load(&a.file, &overrides(a), &opts) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let seed = loaded.scenario.seed;
    // A flag wins over the file's `run:` block.
    let replications = a
        .replications
        .or(loaded.scenario.run.as_ref().and_then(|r| r.replications))
        .unwrap_or(1);
    let trace = match &a.trace {
        None => {
            if !a.trace_filter.is_empty() {
                eprintln!("error: --trace-filter needs --trace FILE");
                return EXIT_BAD_INPUT;
            }
            None
        }
        Some(path) => match trace_cfg(path, &a.trace_filter, &loaded, a.force) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        },
    };
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(&loaded.scenario.name));
    // Claimed before simulating: a folder that is not ours, or one another
    // archsim is writing, is reported at once.
    let folder = match Folder::claim(&dir, Kind::Run, &loaded.scenario.name, a.force, "--out") {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return e.exit_code();
        }
    };
    let (rep, outs) = crate::run::run_replications_traced(&loaded.config, seed, replications, trace);
    // A zero-time loop is a property of the scenario: bad input.
    if let Some(msg) = outs.iter().find_map(|o| o.livelock.as_ref()) {
        eprintln!("error: {}: {msg}", a.file.display());
        return EXIT_BAD_INPUT;
    }
    let trace_path = || {
        a.trace
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    match &outs[0].trace {
        Some(Err(e)) => {
            eprintln!("error: cannot write the trace {}: {e}", trace_path());
            return EXIT_FAILURE;
        }
        Some(Ok(n)) if !a.quiet && a.format == Format::Text => {
            eprintln!("Traced {n} events to {}", trace_path());
        }
        _ => {}
    }
    let mut rep = rep;
    rep.answer(&loaded.scenario, &loaded.config);
    let provenance = match run_provenance(a, &loaded, replications, &dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot record the provenance of {}: {e}", dir.display());
            return EXIT_FAILURE;
        }
    };
    let summary = report::summary::render(&rep, &loaded.scenario.description, &loaded.component_kinds());
    let summary =
        report::provenance::insert_line(&summary, &report::provenance::line(&provenance.provenance));
    if let Err(e) = write_run(&folder, &rep, &summary, &outs[0], &loaded, a.png, &provenance) {
        eprintln!("{e}");
        return e.exit_code();
    }
    if !a.quiet {
        match a.format {
            Format::Json => out!("{}", rep.to_json()),
            Format::Text => {
                out!("{summary}");
                if a.explain {
                    out!(
                        "\n{}",
                        report::summary::versus_theory(&loaded.scenario, &loaded.config, &rep)
                    );
                }
                outln!("Wrote {}", dir.display());
            }
        }
    }
    if a.check_slo && crate::run::slo::overall(&rep.slo) == Some(crate::run::slo::Verdict::Fail) {
        if !a.quiet {
            eprintln!("error: --check-slo: an SLO objective failed (see the summary's SLO lines)");
        }
        return EXIT_SLO_FAILED;
    }
    0
}

/// What produced a run folder: provenance.json and scenario.resolved.yaml,
/// whose `run:` block records the flags that shape results.
fn run_provenance(
    a: &RunArgs,
    loaded: &scenario::Loaded,
    replications: u32,
    dir: &Path,
) -> Result<report::provenance::Written, String> {
    use report::provenance::{self as prov, Settings};
    let key = |k: &str| vec!["run".to_string(), k.to_string()];
    let mut edits = Vec::new();
    if let Some(r) = a.replications {
        edits.push((key("replications"), prov::int_node(u64::from(r))));
    }
    if let Some(i) = &a.interval {
        edits.push((key("interval"), prov::str_node(i.trim())));
    }
    if let Some(m) = a.max_in_flight {
        edits.push((key("max_in_flight"), prov::int_node(m.max(1) as u64)));
    }
    let overrides = overrides(a);
    prov::make(&prov::Request {
        command: "run",
        file: &a.file,
        overrides: &overrides,
        vary: &[],
        settings: Settings {
            replications: Some(replications),
            interval: Some(Duration::from_nanos(loaded.config.interval).to_string()),
            max_in_flight: Some(loaded.config.max_in_flight as u64),
            ..Settings::default()
        },
        seed: loaded.scenario.seed,
        edits,
        rerun: format!("archsim run {}", dir.join(prov::RESOLVED).display()),
        result: "report.json",
    })
}

/// Write a run folder as a unit: report.json, summary.txt, timeseries.csv,
/// the charts, index.html, provenance.json and scenario.resolved.yaml land
/// together or not at all.
fn write_run(
    folder: &Folder,
    rep: &crate::run::Report,
    summary: &str,
    first: &crate::model::RunOutput,
    loaded: &crate::scenario::Loaded,
    png: bool,
    provenance: &report::provenance::Written,
) -> Result<(), OutputError> {
    let charts = report::run_page_charts(rep, first, &loaded.scenario, &loaded.config);
    let mut files = report::run_folder_files(rep, summary, first);
    files.extend(
        report::plot::chart_files(&charts, png)
            .map_err(|e| OutputError::Io(format!("cannot draw the charts: {e}")))?,
    );
    let page = report::html::run_page(rep, &loaded.scenario.description, summary, &charts);
    files.push(("index.html".into(), page.into_bytes()));
    files.extend(provenance.files());
    let mut stage = folder.stage()?;
    for (name, bytes) in &files {
        stage.write(name, bytes)?;
    }
    stage.commit(&[])
}

/// The trace settings from `--trace` and its filters.
fn trace_cfg(
    path: &Path,
    filters: &[String],
    loaded: &scenario::Loaded,
    force: bool,
) -> Result<crate::model::trace::TraceCfg, String> {
    let mut t = crate::model::trace::TraceCfg {
        path: path.to_path_buf(),
        component: None,
        from: 0,
        to: u64::MAX,
        sample: 1.0,
    };
    for f in filters {
        let Some((k, v)) = f.split_once('=') else {
            return Err(format!(
                "--trace-filter `{f}`: expected KEY=VALUE (component, from, to, sample)"
            ));
        };
        let dur = |v: &str| {
            v.parse::<Duration>()
                .map(|d| d.as_nanos())
                .map_err(|e| format!("--trace-filter {k}: {e}"))
        };
        match k.trim() {
            "component" => {
                let names: Vec<&String> = loaded
                    .scenario
                    .clients
                    .keys()
                    .chain(loaded.scenario.components.keys())
                    .collect();
                let Some(i) = names.iter().position(|n| n.as_str() == v.trim()) else {
                    return Err(format!(
                        "--trace-filter component: no client or component named `{v}` (there are {})",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                };
                t.component = Some(i as u32);
            }
            "from" => t.from = dur(v.trim())?,
            "to" => t.to = dur(v.trim())?,
            "sample" => {
                t.sample = v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| *x > 0.0 && *x <= 1.0)
                    .ok_or_else(|| {
                        format!("--trace-filter sample: expected a share in (0, 1], found `{v}`")
                    })?
            }
            other => {
                return Err(format!(
                    "--trace-filter: unknown key `{other}` (expected component, from, to or sample)"
                ));
            }
        }
    }
    if t.from >= t.to {
        return Err("--trace-filter: `from` must be before `to`".into());
    }
    crate::files::check_output_file(path, "--trace", crate::model::trace::LINE_START, force).map_err(
        |e| {
            let s = e.to_string();
            s.strip_prefix("error: ").unwrap_or(&s).to_string()
        },
    )?;
    Ok(t)
}

fn cmd_explain(file: &Path, format: &str, set: &[String]) -> i32 {
    let loaded = match scenario::load(file, set, &BuildOptions::default()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let p = crate::explain::predict(&loaded.scenario, &loaded.config);
    match format {
        "text" => out!("{}", crate::explain::render_text(&p)),
        "mermaid" => out!("{}", crate::explain::render_mermaid(&p)),
        "dot" => out!("{}", crate::explain::render_dot(&p)),
        other => {
            eprintln!("error: --format `{other}`: expected text, mermaid or dot");
            return EXIT_BAD_INPUT;
        }
    }
    0
}

/// The first sentence of a description.
fn summary_line(description: &str) -> String {
    let text = description.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.find(". ") {
        Some(i) => text[..=i].to_string(),
        None => text,
    }
}

fn cmd_list(tag: Option<&str>, dir: Option<&std::path::Path>) -> i32 {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => {
            let here = PathBuf::from("scenarios");
            if here.is_dir() {
                here
            } else {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
            }
        }
    };
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect(),
        Err(e) => {
            eprintln!("error: cannot read the scenario folder {}: {e}", dir.display());
            return EXIT_BAD_INPUT;
        }
    };
    files.sort();
    let mut bad = false;
    let mut rows = Vec::new();
    for f in &files {
        match scenario::load(f, &[], &BuildOptions::default()) {
            Ok(l) => {
                if tag.is_some_and(|t| !l.scenario.tags.iter().any(|x| x == t)) {
                    continue;
                }
                rows.push((
                    f.display().to_string(),
                    l.scenario.tags.join(", "),
                    summary_line(&l.scenario.description),
                ));
            }
            Err(e) => {
                eprintln!("{e}");
                bad = true;
            }
        }
    }
    if rows.is_empty() {
        match tag {
            Some(t) => eprintln!("no scenario in {} has the tag `{t}`", dir.display()),
            None => eprintln!("no scenarios in {}", dir.display()),
        }
        return EXIT_BAD_INPUT;
    }
    for (file, tags, line) in &rows {
        outln!("{file}\n    [{tags}]\n    {line}");
    }
    outln!(
        "\n{} scenarios. Run one with `archsim run FILE`; its description says what to look at.",
        rows.len()
    );
    if bad { EXIT_BAD_INPUT } else { 0 }
}

fn cmd_validate(files: &[PathBuf]) -> i32 {
    let mut bad = false;
    for f in files {
        match scenario::load(f, &[], &BuildOptions::default()) {
            Ok(l) => outln!(
                "ok: {} ({} clients, {} components)",
                f.display(),
                l.scenario.clients.len(),
                l.scenario.components.len()
            ),
            Err(e) => {
                eprintln!("{e}");
                bad = true;
            }
        }
    }
    if bad { EXIT_BAD_INPUT } else { 0 }
}

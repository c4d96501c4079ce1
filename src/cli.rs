//! The command line (SPEC §1): argument types and what each command does.
//! `main.rs` only parses and calls [`run`].

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::report;
use crate::scenario::{self, BuildOptions, units::Duration};

/// Exit code for bad input (SPEC §1, Must).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code for any other failure.
pub const EXIT_FAILURE: i32 = 1;

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
    /// Independent replications; metrics get 95% intervals.
    #[arg(long, default_value_t = 1)]
    pub replications: u32,
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
    /// Stop and report an unstable system when more requests than this are in flight.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_in_flight: usize,
}

/// Run a parsed command line; returns the process exit code.
pub fn run(args: Args) -> i32 {
    match args.command {
        Command::Run(a) => cmd_run(&a),
        Command::Validate { files } => cmd_validate(&files),
        Command::Schema => {
            let schema = schemars::schema_for!(crate::scenario::Scenario);
            println!("{}", serde_json::to_string_pretty(&schema).unwrap_or_default());
            0
        }
    }
}

/// The overrides a run applies: `--seed` and `--duration` first, then `--set`.
fn overrides(a: &RunArgs) -> Vec<String> {
    let mut o = Vec::new();
    if let Some(s) = a.seed {
        o.push(format!("seed={s}"));
    }
    if let Some(d) = &a.duration {
        o.push(format!("duration={d}"));
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
    if a.replications == 0 {
        eprintln!("error: --replications: must be at least 1");
        return EXIT_BAD_INPUT;
    }
    let opts = BuildOptions {
        interval,
        max_in_flight: a.max_in_flight.max(1),
    };
    let loaded = match scenario::load(&a.file, &overrides(a), &opts) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let seed = loaded.scenario.seed;
    let (rep, outs) = report::run_replications(&loaded.config, seed, a.replications);
    let summary = report::summary::render(&rep, &loaded.scenario.description, &loaded.component_kinds());
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(&loaded.scenario.name));
    if let Err(e) = report::write_run_folder(&dir, &rep, &summary, &outs[0]) {
        eprintln!("error: cannot write the run folder {}: {e}", dir.display());
        return EXIT_FAILURE;
    }
    if !a.quiet {
        match a.format {
            Format::Json => print!("{}", rep.to_json()),
            Format::Text => {
                print!("{summary}");
                println!("Wrote {}", dir.display());
            }
        }
    }
    0
}

fn cmd_validate(files: &[PathBuf]) -> i32 {
    let mut bad = false;
    for f in files {
        match scenario::load(f, &[], &BuildOptions::default()) {
            Ok(l) => println!(
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

//! Sweep parallel speed-up (issue: sweeps, "Must show"): a 16-point × 2
//! replication sweep with `--jobs 1` and `--jobs 2`; prints both wall times
//! and the speed-up. Goal: ≥ 1.8× on a 2-core machine.
//!
//! `cargo bench --bench sweep`

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use archsim::scenario::BuildOptions;
use archsim::sweep::{ProgressMode, SweepOptions, run};

const SCENARIO: &str = "
name: sweep-bench
seed: 1
duration: 30m
warmup: 1m
clients:
  web: { arrival: { poisson: 300/s }, target: lb }
components:
  lb: { kind: load_balancer, algorithm: least_connections, backends: api }
  api: { kind: service, replicas: 4, cores: 2, service_time: { exponential: 20ms } }
sweep:
  vary:
    components.api.replicas: [4, 5, 6, 8]
    clients.web.arrival.poisson: [150/s, 200/s, 250/s, 300/s]
  replications: 2
";

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("sweep-bench.yaml");
    std::fs::write(&file, SCENARIO).expect("write scenario");
    let mut results = Vec::new();
    for jobs in [1usize, 2] {
        let opts = SweepOptions {
            file: file.clone(),
            overrides: Vec::new(),
            vary: Vec::new(),
            replications: None,
            jobs: Some(jobs),
            out: Some(tmp.path().join(format!("jobs{jobs}"))),
            resume: false,
            force: true,
            shard: None,
            precision: Vec::new(),
            max_replications: 2,
            progress: ProgressMode::Quiet,
            stop_after: None,
            png: false,
            build: BuildOptions::default(),
        };
        let t = Instant::now();
        let out = run(&opts, &AtomicBool::new(false)).expect("sweep runs");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "--jobs {jobs}: {} points × 2 replications, {} events in {secs:.2} s ({:.1} M events/s)",
            out.report.points.len(),
            out.events,
            out.events as f64 / secs / 1e6
        );
        results.push(secs);
    }
    println!(
        "speed-up of --jobs 2 over --jobs 1: {:.2}×",
        results[0] / results[1]
    );
}

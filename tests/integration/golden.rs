//! Golden outputs: the report.json (wall-clock fields blanked) of every
//! bundled scenario and of 22 variants (20 `--set`, 2 with replications), run through the binary at
//! a shortened duration, compared byte for byte with the files recorded in
//! `tests/golden/`. The report carries `sim.fingerprint`, the hash of every
//! event's (time, target, message), so an equal report means the same
//! trajectory, not just the same averages. `timeseries.csv` is compared by
//! its FNV-1a hash.
//!
//! The files were recorded before the layout change of issue 18 and change
//! only on purpose: to record them again run
//! `ARCHSIM_BLESS=1 cargo test --release --test integration golden` and say
//! in the commit why the numbers moved.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{bin, without_wall_clock};

/// Variants: scenario file, then `--set` overrides (balancer algorithms,
/// cache policies, replication and consistency modes, faults and
/// resilience switches).
const VARIANTS: &[(&str, &[&str])] = &[
    ("load-balancing-algorithms", &["components.lb.algorithm=random"]),
    (
        "load-balancing-algorithms",
        &["components.lb.algorithm=least_connections"],
    ),
    (
        "load-balancing-algorithms",
        &["components.lb.algorithm=power_of_two"],
    ),
    (
        "load-balancing-algorithms",
        &["components.lb.algorithm=least_time"],
    ),
    ("lb-sinkholing", &["components.lb.outlier_detection={}"]),
    (
        "caching-strategies",
        &["components.cache.write_policy=write_through"],
    ),
    (
        "caching-strategies",
        &["components.cache.write_policy=write_back"],
    ),
    (
        "caching-strategies",
        &["components.cache.read_policy=read_through"],
    ),
    (
        "cache-eviction",
        &["components.cache.eviction=lfu", "components.cache.capacity=300"],
    ),
    ("database-failover", &["components.db.replication=sync"]),
    ("cap-partition", &["components.db.consistency=eventual"]),
    (
        "quorum-tuning",
        &[
            "components.db.replication.quorum.w=1",
            "components.db.replication.quorum.r=1",
        ],
    ),
    (
        "read-replicas",
        &["components.db.replicas=1", "components.db.reads=replicas"],
    ),
    ("replication-lag-stale-reads", &["components.db.reads=primary"]),
    ("sharding-strategies", &["components.db.partitioning=range"]),
    ("region-outage", &["components.db.failover.detect_after=60s"]),
    (
        "circuit-breaker",
        &["components.frontend.calls.1.circuit_breaker=null"],
    ),
    ("health-checks", &["components.lb.health_check.unhealthy_after=1"]),
    (
        "retry-storm",
        &[
            "clients.users.retry={max: 4, backoff: {exponential: {base: 100ms, cap: 5s}}, jitter: full, budget: 0.1}",
        ],
    ),
    ("async-queue", &["components.email_jobs.ack=after_processing"]),
    // Replications combined (means, 95% intervals, per-replication values).
    ("single-server", &["--replications=3"]),
    ("black-friday", &["--replications=2"]),
    // The slow-start restart loop (lesson 31).
    ("liveness-restarts", &["components.api.startup_time=60s"]),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn golden_dir() -> PathBuf {
    root().join("tests").join("golden")
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Run `stem` with `overrides` at 20 s (2 s warm-up) and return the text
/// to compare: report.json without wall clock, then the CSV's hash.
fn observe(stem: &str, overrides: &[&str], out: &Path) -> String {
    let mut cmd = Command::new(bin());
    cmd.arg("run")
        .arg(root().join("scenarios").join(format!("{stem}.yaml")))
        .args(["--duration", "20s", "--set", "warmup=2s", "--quiet", "--out"])
        .arg(out);
    for o in overrides {
        match o.split_once('=') {
            // Command-line flags (`--replications=3`) pass as they are.
            Some((flag, value)) if flag.starts_with("--") => cmd.args([flag, value]),
            _ => cmd.args(["--set", o]),
        };
    }
    let res = cmd.output().expect("archsim runs");
    assert_eq!(
        res.status.code(),
        Some(0),
        "{stem} {overrides:?}: archsim run failed:\n{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let report = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    let csv = std::fs::read(out.join("timeseries.csv")).expect("timeseries.csv");
    format!(
        "{}\n// timeseries.csv fnv1a64 {:016x}\n",
        without_wall_clock(&report),
        fnv1a(&csv)
    )
}

#[test]
fn bundled_scenarios_and_variants_match_their_recorded_outputs() {
    let bless = std::env::var_os("ARCHSIM_BLESS").is_some();
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut cases: Vec<(String, String, Vec<&str>)> = Vec::new();
    let mut stems: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .filter_map(|e| {
            let p = e.expect("entry").path();
            (p.extension()? == "yaml").then(|| p.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    stems.sort();
    for s in &stems {
        cases.push((s.clone(), s.clone(), Vec::new()));
    }
    for (i, (stem, sets)) in VARIANTS.iter().enumerate() {
        cases.push((
            format!("variant-{:02}-{stem}", i + 1),
            stem.to_string(),
            sets.to_vec(),
        ));
    }
    if bless {
        std::fs::create_dir_all(golden_dir()).expect("tests/golden");
    }
    let mut failures = Vec::new();
    for (name, stem, sets) in &cases {
        let got = observe(stem, sets, &tmp.path().join(name));
        let file = golden_dir().join(format!("{name}.json"));
        if bless {
            std::fs::write(&file, &got).expect("write golden file");
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(want) if want == got => {}
            Ok(want) => {
                let line = want
                    .lines()
                    .zip(got.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(want.lines().count().min(got.lines().count()));
                failures.push(format!(
                    "{name} ({stem} {sets:?}): differs from line {}:\n  recorded: {}\n  now:      {}",
                    line + 1,
                    want.lines().nth(line).unwrap_or("<end>"),
                    got.lines().nth(line).unwrap_or("<end>")
                ));
            }
            Err(e) => failures.push(format!("{name}: {}: {e}", file.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden outputs differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A sweep's sweep.json (wall clock blanked) and a compare's compare.md
/// (temporary paths replaced), recorded like the runs above.
#[test]
fn a_sweep_and_a_compare_match_their_recorded_outputs() {
    let bless = std::env::var_os("ARCHSIM_BLESS").is_some();
    let tmp = tempfile::tempdir().expect("temp dir");
    let t = tmp.path();
    let archsim = |args: &[&str]| {
        let res = Command::new(bin())
            .args(args)
            .current_dir(root())
            .output()
            .expect("archsim runs");
        assert_eq!(
            res.status.code(),
            Some(0),
            "archsim {args:?} failed:\n{}",
            String::from_utf8_lossy(&res.stderr)
        );
    };
    let short = ["--duration", "20s", "--set", "warmup=2s", "--quiet"];
    let path = |name: &str| t.join(name).display().to_string();
    for (name, file) in [
        ("sweep-capacity-planning", "scenarios/capacity-planning.yaml"),
        ("sweep-caching-strategies", "scenarios/caching-strategies.yaml"),
    ] {
        let out = path(name);
        archsim(
            &[
                &["sweep", file, "--replications", "2", "--out", &out][..],
                &short[..],
            ]
            .concat(),
        );
        let got = without_wall_clock(
            &std::fs::read_to_string(t.join(name).join("sweep.json")).expect("sweep.json"),
        ) + "\n";
        check(bless, &format!("{name}.json"), &got);
    }
    let (a, b, c) = (path("a"), path("b"), path("c"));
    archsim(
        &[
            &[
                "run",
                "scenarios/single-server.yaml",
                "--replications",
                "3",
                "--out",
                &a,
            ][..],
            &short[..],
        ]
        .concat(),
    );
    archsim(
        &[
            &[
                "run",
                "scenarios/single-server.yaml",
                "--replications",
                "3",
                "--out",
                &b,
            ][..],
            &short[..],
            &["--set", "clients.users.arrival.poisson=95/s"][..],
        ]
        .concat(),
    );
    archsim(&["compare", &a, &b, "--out", &c]);
    let md = std::fs::read_to_string(t.join("c").join("compare.md"))
        .expect("compare.md")
        .replace(&t.display().to_string(), "<tmp>");
    check(bless, "compare-single-server.md", &md);
}

/// Compare `got` with `tests/golden/FILE`, or record it when blessing.
fn check(bless: bool, name: &str, got: &str) {
    let file = golden_dir().join(name);
    if bless {
        std::fs::create_dir_all(golden_dir()).expect("tests/golden");
        std::fs::write(&file, got).expect("write golden file");
        return;
    }
    let want = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    if want != got {
        let line = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{name}: differs from its recorded output at line {}:\n  recorded: {}\n  now:      {}",
            line + 1,
            want.lines().nth(line).unwrap_or("<end>"),
            got.lines().nth(line).unwrap_or("<end>")
        );
    }
}

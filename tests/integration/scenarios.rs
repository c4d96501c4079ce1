//! The bundled scenarios in `scenarios/`: every one runs through the binary
//! and writes a well-formed run folder, and each one's teaching claims hold
//! as numbers ("examples with known answers", as SimPy ships `carwash.out`
//! beside `carwash.py`).
//!
//! The headline checks run each scenario at its own duration and seed,
//! through the library, with the same `--set` overrides its description
//! tells a student to try. The expected values come from queueing theory
//! where it applies (M/M/1, M/M/c, the maximum of independent log-normals)
//! and are stated beside each assertion; tolerances are wide enough for the
//! sampling noise of one or a few runs and narrow enough to catch a model
//! that no longer teaches what the description says.

use std::path::{Path, PathBuf};
use std::process::Command;

use archsim::report::{Report, run_replications};
use archsim::scenario::{BuildOptions, load_str};

use crate::common::bin;

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// Every `*.yaml` file in `scenarios/`, sorted: new scenarios are covered
/// without editing this file.
fn bundled() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .expect("scenarios/ is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenarios found in scenarios/");
    files
}

/// Run bundled scenario `file` with `overrides` (as `--set PATH=VALUE`) at
/// its own seed, with `reps` replications.
fn run(file: &str, overrides: &[&str], reps: u32) -> Report {
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
    run_replications(&cfg, sc.seed, reps).0
}

fn metric(r: &Report, name: &str) -> f64 {
    r.value(name)
        .unwrap_or_else(|| panic!("{}: metric `{name}` missing", r.scenario))
}

/// `actual` within `rel` (relative) of `expected`, with a message naming both.
fn assert_near(what: &str, actual: f64, expected: f64, rel: f64) {
    println!(
        "{what}: {actual:.3} (expected {expected:.3} ± {:.0}%)",
        rel * 100.0
    );
    assert!(
        (actual - expected).abs() <= rel * expected.abs(),
        "{what}: got {actual:.3}, expected {expected:.3} within {:.0}%",
        rel * 100.0
    );
}

// ---------------------------------------------------------------------------
// Every scenario, through the binary
// ---------------------------------------------------------------------------

#[test]
fn every_bundled_scenario_validates() {
    let files = bundled();
    let out = Command::new(bin())
        .arg("validate")
        .args(&files)
        .output()
        .expect("archsim runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "archsim validate failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_bundled_scenario_runs_and_writes_a_run_folder() {
    let tmp = tempfile::tempdir().expect("temp dir");
    for file in bundled() {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_string();
        let dir = tmp.path().join(&stem);
        let out = Command::new(bin())
            .arg("run")
            .arg(&file)
            .args(["--duration", "20s", "--set", "warmup=2s", "--quiet", "--out"])
            .arg(&dir)
            .output()
            .expect("archsim runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stem}: archsim run failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let text = std::fs::read_to_string(dir.join("report.json"))
            .unwrap_or_else(|e| panic!("{stem}: report.json: {e}"));
        let r: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{stem}: report.json does not parse: {e}"));
        assert!(r["archsim_version"].is_string(), "{stem}: archsim_version");
        assert_eq!(
            r["scenario"].as_str(),
            Some(stem.as_str()),
            "{stem}: a bundled scenario's `name` is its file name"
        );
        assert!(r["seed"].is_u64(), "{stem}: seed");
        assert_eq!(r["replications"].as_u64(), Some(1), "{stem}: replications");
        assert_eq!(r["duration_s"].as_f64(), Some(20.0), "{stem}: duration_s");
        assert_eq!(r["warmup_s"].as_f64(), Some(2.0), "{stem}: warmup_s");
        let metrics = r["metrics"]
            .as_object()
            .unwrap_or_else(|| panic!("{stem}: metrics"));
        for (k, m) in metrics {
            assert!(m["value"].is_number(), "{stem}: {k}.value is not a number");
            assert!(
                m["ci95"].is_null(),
                "{stem}: {k}.ci95 must be null with one replication"
            );
        }
        for k in [
            "requests.offered",
            "requests.completed",
            "throughput_rps",
            "availability",
            "latency.mean_ms",
            "latency.p99_ms",
            "sim.events",
            "sim.fingerprint",
        ] {
            assert!(metrics.contains_key(k), "{stem}: metric `{k}` missing");
        }
        assert!(
            metrics["requests.completed"]["value"].as_f64().unwrap_or(0.0) > 0.0,
            "{stem}: nothing completed"
        );

        let summary = std::fs::read_to_string(dir.join("summary.txt"))
            .unwrap_or_else(|e| panic!("{stem}: summary.txt: {e}"));
        assert!(
            summary.contains(&stem),
            "{stem}: summary.txt does not name the scenario"
        );
        let csv = std::fs::read_to_string(dir.join("timeseries.csv"))
            .unwrap_or_else(|e| panic!("{stem}: timeseries.csv: {e}"));
        assert!(
            csv.starts_with("t_s"),
            "{stem}: timeseries.csv header: {:?}",
            csv.lines().next()
        );
        assert!(csv.lines().count() > 1, "{stem}: timeseries.csv has no rows");
    }
}

#[test]
fn every_bundled_scenario_has_a_description() {
    for file in bundled() {
        let loaded =
            archsim::scenario::load(&file, &[], &BuildOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            loaded.scenario.description.trim().len() > 100,
            "{}: the description should state the question, what to look at and what to try",
            file.display()
        );
        assert!(
            loaded.scenario.description.contains("--set"),
            "{}: the description should suggest a --set to try",
            file.display()
        );
    }
}

// ---------------------------------------------------------------------------
// Headline numbers
// ---------------------------------------------------------------------------

/// single-server: M/M/1 with λ = 80/s, μ = 100/s: T = 1/(μ − λ) = 50 ms.
#[test]
fn single_server_matches_mm1() {
    let r = run("single-server.yaml", &[], 4);
    assert_near(
        "single-server latency.mean_ms",
        metric(&r, "latency.mean_ms"),
        50.0,
        0.10,
    );
    assert_near(
        "single-server utilization",
        metric(&r, "components.api.utilization"),
        0.8,
        0.03,
    );
}

/// vertical-scaling: λ = 90/s, 10 ms exponential work.
/// M/M/1: T = 100 ms, p99 = ln(100)/(μ − λ) = 461 ms;
/// M/M/2: T = 12.54 ms, p99 = 54 ms; M/M/4: T = 10.05 ms;
/// speed 2 (M/M/1, μ = 200/s): T = 9.09 ms, p99 = 42 ms.
#[test]
fn vertical_scaling_more_cores_and_speed_cut_latency() {
    // ρ = 0.9 mixes slowly: four replications keep the 1-core estimates
    // within a few percent (one hour's p99 alone varies by about 6%).
    let one = run("vertical-scaling.yaml", &[], 4);
    let two = run(
        "vertical-scaling.yaml",
        &["components.api.cores=2", "components.api.price_per_hour=0.10"],
        1,
    );
    let four = run("vertical-scaling.yaml", &["components.api.cores=4"], 1);
    let fast = run("vertical-scaling.yaml", &["components.api.speed=2"], 1);

    assert_near("1 core mean", metric(&one, "latency.mean_ms"), 100.0, 0.10);
    assert_near("1 core p99", metric(&one, "latency.p99_ms"), 460.5, 0.10);
    assert_near(
        "1 core utilization",
        metric(&one, "components.api.utilization"),
        0.9,
        0.02,
    );
    assert_near("2 cores mean", metric(&two, "latency.mean_ms"), 12.54, 0.05);
    assert_near("2 cores p99", metric(&two, "latency.p99_ms"), 53.8, 0.10);
    assert_near("4 cores mean", metric(&four, "latency.mean_ms"), 10.05, 0.05);
    assert_near("speed 2 mean", metric(&fast, "latency.mean_ms"), 9.09, 0.05);
    assert_near("speed 2 p99", metric(&fast, "latency.p99_ms"), 41.9, 0.10);

    // The teaching claims: a second core cuts p99 several-fold; more cores
    // then flatten; a core twice as fast beats two cores.
    let (p1, p2, p4) = (
        metric(&one, "latency.p99_ms"),
        metric(&two, "latency.p99_ms"),
        metric(&four, "latency.p99_ms"),
    );
    assert!(p1 > 5.0 * p2, "p99 1 core {p1} should be > 5 × p99 2 cores {p2}");
    assert!(
        p2 > p4 && p2 < 1.3 * p4,
        "2 → 4 cores should help only a little: {p2} vs {p4}"
    );
    assert!(metric(&fast, "latency.mean_ms") < metric(&two, "latency.mean_ms"));

    // One measured hour: cost.total is the hourly price.
    assert!((metric(&one, "cost.total") - 0.05).abs() < 1e-9, "cost 1 core");
    assert!((metric(&two, "cost.total") - 0.10).abs() < 1e-9, "cost 2 cores");
}

/// horizontal-scaling: λ = 240/s over 1-core replicas of μ = 100/s.
/// Least connections on 3 replicas lies between M/M/3 (T = 20.8 ms, the
/// shared-queue bound) and 3 × M/M/1 at ρ = 0.8 (random: T = 50 ms).
#[test]
fn horizontal_scaling_replicas_trade_cost_for_latency() {
    let three = run("horizontal-scaling.yaml", &[], 1);
    let four = run("horizontal-scaling.yaml", &["components.api.replicas=4"], 1);
    let six = run("horizontal-scaling.yaml", &["components.api.replicas=6"], 1);
    let random = run("horizontal-scaling.yaml", &["components.lb.algorithm=random"], 1);
    let vertical = run(
        "horizontal-scaling.yaml",
        &["components.api.replicas=1", "components.api.cores=3"],
        1,
    );
    // Two replicas cannot carry 240/s; a shorter run shows it as well.
    let two = run(
        "horizontal-scaling.yaml",
        &["components.api.replicas=2", "duration=3m"],
        1,
    );

    assert_near(
        "3 replicas utilization",
        metric(&three, "components.api.utilization"),
        0.8,
        0.02,
    );
    for i in 0..3 {
        let u = metric(&three, &format!("components.api[{i}].utilization"));
        assert_near(&format!("replica {i} utilization"), u, 0.8, 0.03);
    }
    let m3 = metric(&three, "latency.mean_ms");
    assert!(
        (20.8..26.0).contains(&m3),
        "least connections over 3 replicas: mean {m3} should be just above M/M/3's 20.8 ms"
    );
    assert_near(
        "M/M/3 (one 3-core replica) mean",
        metric(&vertical, "latency.mean_ms"),
        20.8,
        0.05,
    );
    assert_near(
        "random = 3 × M/M/1 mean",
        metric(&random, "latency.mean_ms"),
        50.0,
        0.10,
    );
    assert_near(
        "4 replicas utilization",
        metric(&four, "components.api.utilization"),
        0.6,
        0.03,
    );
    assert!(metric(&four, "latency.mean_ms") < 0.7 * m3);
    assert!(metric(&six, "latency.mean_ms") < metric(&four, "latency.mean_ms"));
    assert!(
        metric(&six, "latency.mean_ms") < 11.0,
        "6 replicas: little but the 10 ms work is left"
    );
    assert_eq!(
        metric(&two, "sim.unstable"),
        1.0,
        "2 replicas at ρ = 1.2 must be flagged unstable"
    );
    assert!(metric(&two, "latency.p99_ms") > 10_000.0);

    for (r, n) in [(&three, 3.0), (&four, 4.0), (&six, 6.0)] {
        let cost = metric(r, "cost.total");
        assert!(
            (cost - 0.05 * n).abs() < 1e-9,
            "{n} replicas for one hour cost {cost}"
        );
    }
}

/// load-balancing-algorithms: 200/s over replicas of speed 1, 1, 1, 0.25.
/// Round robin and random send replica 3 50/s against a capacity of 25/s;
/// the adaptive algorithms and speed-weighted round robin do not.
#[test]
fn load_balancing_algorithms_round_robin_overloads_the_slow_replica() {
    let file = "load-balancing-algorithms.yaml";
    let p99 = |r: &Report| metric(r, "latency.p99_ms");
    let slow = |r: &Report| metric(r, "components.api[3].utilization");
    let fast = |r: &Report| metric(r, "components.api[0].utilization");

    let rr = run(file, &["components.lb.algorithm=round_robin"], 1);
    assert!(
        slow(&rr) > 0.95,
        "round robin: replica 3 utilization {}",
        slow(&rr)
    );
    assert_near("round robin: replica 0 utilization", fast(&rr), 0.5, 0.05);
    assert!(
        p99(&rr) > 10_000.0,
        "round robin p99 {} should be in the tens of seconds",
        p99(&rr)
    );
    let random = run(file, &["components.lb.algorithm=random"], 1);
    assert!(
        slow(&random) > 0.95,
        "random: replica 3 utilization {}",
        slow(&random)
    );

    for alg in [
        "least_connections",
        "power_of_two",
        "least_time",
        "weighted_round_robin",
    ] {
        let r = run(file, &[&format!("components.lb.algorithm={alg}")], 1);
        println!(
            "{alg}: p99 {:.1} ms, replica 3 utilization {:.3}",
            p99(&r),
            slow(&r)
        );
        assert!(slow(&r) < 0.95, "{alg}: replica 3 utilization {}", slow(&r));
        assert!(
            p99(&r) < 300.0 && p99(&r) * 100.0 < p99(&rr),
            "{alg}: p99 {} should be far below round robin's {}",
            p99(&r),
            p99(&rr)
        );
        if alg == "weighted_round_robin" {
            // Weights = speeds: every replica at ρ = 200/325 = 0.615.
            assert_near("wrr replica 3 utilization", slow(&r), 0.615, 0.05);
            assert_near("wrr replica 0 utilization", fast(&r), 0.615, 0.05);
        }
        if alg == "least_time" {
            assert!(slow(&r) < 0.5, "least_time should use the slow replica least");
        }
    }
}

/// microservice-fanout: the frontend waits for the slowest of five
/// independent log-normal backends (mean 10 ms, cv 2: p99 85.6 ms). The
/// end-to-end p99 is about the backends' 0.99^(1/5) quantile, 172 ms, plus
/// a few milliseconds of frontend, auth and network.
#[test]
fn microservice_fanout_amplifies_the_tail() {
    let file = "microservice-fanout.yaml";
    let five = run(file, &[], 1);
    let one = run(file, &["components.frontend.calls.1.parallel=[catalog]"], 1);
    let e2e = metric(&five, "latency.p99_ms");
    assert_near("fan-out 5 p99", e2e, 176.0, 0.10);
    assert_near("fan-out 1 p99", metric(&one, "latency.p99_ms"), 89.0, 0.10);
    assert!(
        e2e > 1.6 * metric(&one, "latency.p99_ms"),
        "fan-out 5 p99 {e2e} should be well above fan-out 1's"
    );
    assert!(metric(&five, "latency.p50_ms") > 2.0 * metric(&one, "latency.p50_ms"));

    for backend in ["profile", "catalog", "pricing", "reviews", "recommendations"] {
        // The averages look healthy…
        let mean = metric(&five, &format!("components.{backend}.sojourn.mean_ms"));
        assert_near(&format!("{backend} sojourn mean"), mean, 10.0, 0.10);
        // …and each backend alone has a p99 far below the whole request's.
        let alone = run(file, &[&format!("clients.users.target={backend}")], 1);
        let p = metric(&alone, "latency.p99_ms");
        assert_near(&format!("{backend} alone p99"), p, 86.0, 0.15);
        assert!(e2e > 1.5 * p, "end-to-end p99 {e2e} vs {backend}'s own p99 {p}");
    }
}

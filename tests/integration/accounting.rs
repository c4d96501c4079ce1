//! What the report counts, and that it flatters nothing: a database's
//! utilisation per role (a saturated primary is not averaged away by idle
//! followers).

use std::path::{Path, PathBuf};

use archsim::model::RunOutput;
use archsim::run::run_replications;
use archsim::scenario::{BuildOptions, load_str};
use archsim::stats::student_t_quantile;

use crate::common::run_yaml;

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// Bundled scenario `file` with `overrides` (as `--set`), `reps`
/// replications at its own seed: the replications' outputs.
fn bundled(file: &str, overrides: &[&str], reps: u32) -> Vec<RunOutput> {
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
    run_replications(&cfg, sc.seed, reps).1
}

fn get(o: &RunOutput, name: &str) -> f64 {
    *o.metrics
        .get(name)
        .unwrap_or_else(|| panic!("metric `{name}` missing"))
}

/// Mean and 99.9% Student-t half-width of per-replication values.
fn ci999(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, student_t_quantile(0.9995, n - 1.0) * (var / n).sqrt())
}

/// The utilisation law U = X·S (Little's law on the servers): `theory`
/// inside the 99.9% interval of the per-replication values of `metric`,
/// and the interval within 3% of it, so the agreement is not noise.
fn utilisation_law(outs: &[RunOutput], metric: &str, theory: f64) {
    let xs: Vec<f64> = outs.iter().map(|o| get(o, metric)).collect();
    let (mean, half) = ci999(&xs);
    println!("{metric}: {mean:.4} ± {half:.4} (99.9%), U = λ·E[S]/cores = {theory:.4}");
    assert!(
        (mean - theory).abs() <= half,
        "{metric}: {mean:.4} ± {half:.4} misses the utilisation law's {theory:.4}"
    );
    assert!(
        half <= 0.03 * theory,
        "{metric}: interval ±{half:.4} too wide to judge"
    );
}

// ---------------------------------------------------------------------------
// Database utilisation per role
// ---------------------------------------------------------------------------

#[test]
fn a_saturated_primary_is_not_averaged_away_by_idle_followers() {
    // caching-strategies at 2,100/s: the cache passes ~900 req/s of misses
    // and writes to a database whose primary serves them all (reads:
    // primary) beside two followers that serve nothing. `utilization`
    // pools the three nodes (a third busy); the primary is saturated.
    let outs = bundled(
        "caching-strategies.yaml",
        &["clients.web.arrival.poisson=2100/s", "duration=2m", "warmup=10s"],
        1,
    );
    let o = &outs[0];
    assert!(
        o.notes
            .iter()
            .any(|n| n.starts_with("UNSTABLE: db.shard[0] primary is saturated")),
        "expected the primary's UNSTABLE note, got {:?}",
        o.notes
    );
    let util = get(o, "components.db.utilization");
    let max = get(o, "components.db.primary_utilization_max");
    let primary = get(o, "components.db.primary_utilization_mean");
    let followers = get(o, "components.db.follower_utilization_mean");
    println!("utilization {util:.4}, primary max {max:.4} mean {primary:.4}, followers {followers:.4}");
    assert!(max > 0.99, "the busiest primary is saturated: {max}");
    assert_eq!(max, primary, "one shard: its primary is the busiest and the mean");
    assert!(
        followers < 0.01,
        "reads go to the primary: followers idle, got {followers}"
    );
    // The pooled figure (SPEC: busy cores ÷ all cores) is unchanged and is
    // the roles' average weighted by their cores (1 primary, 2 followers).
    assert!((util - (primary + 2.0 * followers) / 3.0).abs() < 1e-9);
    assert!(util < 0.34, "pooled utilisation stays a third: {util}");
}

#[test]
fn role_utilisation_follows_the_utilisation_law() {
    // read-replicas as bundled: 500/s, 90% reads of 3 ms, 10% writes of
    // 4 ms, one shard, two async followers, reads on any of the three
    // nodes, one core each. Followers serve reads only (replication's CPU
    // is not modelled): 450/3 = 150/s × 3 ms = 0.45. The primary serves its
    // third of the reads and every write: 0.45 + 50/s × 4 ms = 0.65.
    let outs = bundled("read-replicas.yaml", &["duration=6m"], 10);
    utilisation_law(&outs, "components.db.primary_utilization_max", 0.65);
    utilisation_law(&outs, "components.db.primary_utilization_mean", 0.65);
    utilisation_law(&outs, "components.db.follower_utilization_mean", 0.45);

    // Two shards, one follower each, reads on the followers, uniform keys:
    // each primary takes half the writes, 100/2 = 50/s × 6 ms = 0.30; each
    // follower half the reads, 300/2 = 150/s × 4 ms = 0.60 — the followers
    // are the busy role here.
    let yaml = r#"
name: roles
duration: 5m
warmup: 20s
clients:
  app:
    arrival: { poisson: 400/s }
    target: db
    requests: { read: 0.75, write: 0.25 }
    keys: { uniform: 20000 }
components:
  db:
    kind: database
    shards: 2
    replicas: 1
    reads: replicas
    read_time: { exponential: 4ms }
    write_time: { exponential: 6ms }
"#;
    let (_, outs) = run_yaml(yaml, 3, 10);
    utilisation_law(&outs, "components.db.primary_utilization_mean", 0.30);
    utilisation_law(&outs, "components.db.follower_utilization_mean", 0.60);
    for o in &outs {
        // The busiest of two evenly loaded primaries: at or a little above
        // their mean.
        let max = get(o, "components.db.primary_utilization_max");
        let mean = get(o, "components.db.primary_utilization_mean");
        assert!(max >= mean && max - mean < 0.02, "max {max:.4}, mean {mean:.4}");
        let pooled = get(o, "components.db.utilization");
        let followers = get(o, "components.db.follower_utilization_mean");
        assert!((pooled - (mean + followers) / 2.0).abs() < 1e-9);
    }
}

#[test]
fn the_primary_role_moves_with_a_failover() {
    // database-failover: one shard, a primary and two followers, reads on
    // the primary, 500/s of 1 ms on 4 cores. Its primary (node 0) crashes
    // at 60 s and node 1 is promoted at 70 s; node 0 comes back at 120 s as
    // a follower. Followers never serve a request (reads go to the
    // primary, replication's CPU is not modelled), so the follower role is
    // idle throughout although node 0 worked for the first 50 s of the
    // window and node 1 for the last 110: the role's average follows
    // whichever node holds it. The primary role: 500/s × 1 ms / 4 cores =
    // 0.125 while a primary serves, 160 s of the 170 s window ≈ 0.118.
    let outs = bundled("database-failover.yaml", &[], 1);
    let o = &outs[0];
    assert_eq!(get(o, "components.db.failovers"), 1.0, "{:?}", o.notes);
    let util = get(o, "components.db.utilization");
    let primary = get(o, "components.db.primary_utilization_mean");
    let followers = get(o, "components.db.follower_utilization_mean");
    println!("utilization {util:.4}, primary {primary:.4}, followers {followers:.4}");
    assert!(followers.abs() < 1e-12, "no follower served anything");
    assert!(
        (primary - 0.118).abs() < 0.006,
        "primary role {primary:.4}, expected ≈ 0.118"
    );
    assert_eq!(primary, get(o, "components.db.primary_utilization_max"));
    assert!(
        (util - primary / 3.0).abs() < 1e-9,
        "pooled = the roles' core-weighted mean"
    );
}

//! What the report counts, and that it flatters nothing: a database's
//! utilisation per role (a saturated primary is not averaged away by idle
//! followers), the outcomes of an overloaded run (its backlog is not served
//! by the drain after the end), every request offered accounted for once,
//! and cost as a rate when prices are set.

use archsim::model::RunOutput;
use archsim::stats::student_t_quantile;

use crate::common::run_yaml;

/// Bundled scenario `file` with `overrides` (as `--set`), `reps`
/// replications at its own seed: the replications' outputs.
fn bundled(file: &str, overrides: &[&str], reps: u32) -> Vec<RunOutput> {
    crate::common::run_bundled(file, overrides, reps).1
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

// ---------------------------------------------------------------------------
// Outcomes: overload is not served by the drain
// ---------------------------------------------------------------------------

fn unstable(o: &RunOutput) -> bool {
    o.notes.iter().any(|n| n.starts_with("UNSTABLE"))
}

/// offered = completed + failed + rejected + timed_out + in_flight, exactly,
/// overall and for every client.
fn every_request_accounted_for(what: &str, o: &RunOutput) {
    let mut prefixes = vec![String::new()];
    prefixes.extend(
        o.metrics
            .keys()
            .filter_map(|k| k.strip_suffix("requests.offered"))
            .filter(|p| p.starts_with("clients."))
            .map(str::to_string),
    );
    assert!(prefixes.len() >= 2, "{what}: no per-client counts");
    for p in &prefixes {
        let n = |x: &str| get(o, &format!("{p}requests.{x}"));
        let outcomes = ["completed", "failed", "rejected", "timed_out", "in_flight"].map(n);
        println!("{what} {p}requests: offered {} = {outcomes:?}", n("offered"));
        assert_eq!(
            n("offered"),
            outcomes.iter().sum::<f64>(),
            "{what}: {p}requests.offered must be completed + failed + rejected + timed_out + in_flight"
        );
        let availability = get(o, &format!("{p}availability"));
        let expected = if n("offered") == 0.0 {
            1.0
        } else {
            n("completed") / n("offered")
        };
        assert_eq!(
            availability, expected,
            "{what}: {p}availability = completed ÷ offered"
        );
    }
    assert!(get(o, "requests.backlog_at_end") >= 0.0);
}

#[test]
fn an_overloaded_single_server_does_not_serve_its_backlog_after_the_end() {
    // One core, 10 ms exponential (μ = 100/s), offered 110/s for 600 s with
    // 30 s of warm-up. The server is saturated, the queue grows by about
    // λ − μ = 10/s (the UNSTABLE note). Inside the window it completes about
    // μ × 570 s = 57,000 requests, of which the ~(λ − μ) × 30 s = 300 left
    // from the warm-up come first (FIFO), so of the λ × 570 s = 62,700
    // offered after warm-up about 57,000 − 300 = 56,700 are served:
    // availability ≈ 56,700 / 62,700 = 0.904 (one run's sampling noise is
    // about ±0.005). The rest, about (λ − μ) × 570 s ≈ 5,700 more the 300,
    // is in flight at the end. Before this rule the drain served that
    // backlog after the end: availability 1.0 and a p99 of 54 s.
    let outs = bundled("single-server.yaml", &["clients.users.arrival.poisson=110/s"], 1);
    let o = &outs[0];
    assert!(unstable(o), "110/s against 100/s must be flagged: {:?}", o.notes);
    let availability = get(o, "availability");
    let in_flight = get(o, "requests.in_flight");
    let offered = get(o, "requests.offered");
    println!("availability {availability:.4}, in flight {in_flight}, offered {offered}");
    assert!(
        (availability - 0.904).abs() < 0.02,
        "availability {availability:.4}, expected ≈ 0.904 (served share of the window)"
    );
    assert!(
        in_flight > 4_000.0 && in_flight < 7_500.0,
        "backlog at the end: {in_flight}"
    );
    assert_eq!(in_flight, get(o, "requests.backlog_at_end"));
    assert_eq!(in_flight, get(o, "clients.users.requests.in_flight"));
    assert_eq!(availability, get(o, "clients.users.availability"));
    // Latency describes the requests served inside the window only: below
    // the time the last of them waited, which is under the window.
    assert!(get(o, "latency.max_ms") < 570_000.0);
    every_request_accounted_for("single-server at 110/s", o);
}

#[test]
fn a_stable_run_still_settles_its_stragglers_in_the_drain() {
    // single-server as bundled (ρ = 0.8): a handful of requests are in
    // flight when the clock reaches the end; the drain answers them all,
    // so availability is exactly 1 and nothing is left in flight.
    let outs = bundled("single-server.yaml", &[], 1);
    let o = &outs[0];
    assert!(!unstable(o));
    assert!(
        get(o, "requests.backlog_at_end") > 0.0,
        "some requests are in flight at the end"
    );
    assert_eq!(get(o, "requests.in_flight"), 0.0);
    assert_eq!(get(o, "availability"), 1.0);
    every_request_accounted_for("single-server", o);
}

#[test]
fn every_request_offered_has_one_outcome_or_is_in_flight() {
    // Stable and overloaded runs with timeouts, retries, breakers,
    // rejections and runs stopped for too many requests in flight.
    let cases: &[(&str, &[&str])] = &[
        // Overloaded, naive retries and timeouts (UNSTABLE).
        ("retry-storm.yaml", &[]),
        // Budgeted retries.
        (
            "retry-storm.yaml",
            &[
                "clients.users.retry={max: 4, backoff: {exponential: {base: 100ms, cap: 5s}}, jitter: full, budget: 0.1}",
            ],
        ),
        // Two clients, call timeouts exhausting a pool (failed, rejected).
        ("timeout-cascade.yaml", &[]),
        // A breaker failing fast.
        ("circuit-breaker.yaml", &[]),
        // Bursts refused by a full queue (rejected).
        ("load-levelling.yaml", &["clients.shop.target=worker"]),
        // No rate limit: the run is stopped with too many in flight.
        (
            "rate-limiting.yaml",
            &["components.edge.rate_limit=null", "duration=2m"],
        ),
        // A per-identity rate limit (429s are rejections).
        ("rate-limiting.yaml", &["duration=2m"]),
        // A cache outage failing requests, then a fallback overloading
        // the database.
        ("cache-failure.yaml", &[]),
        ("single-point-of-failure.yaml", &[]),
    ];
    let mut overloaded = 0;
    // Every kind of outcome must occur somewhere among the cases.
    let mut seen = [0.0; 5];
    for (file, overrides) in cases {
        let outs = bundled(file, overrides, 1);
        let o = &outs[0];
        let what = format!("{file} {overrides:?}");
        every_request_accounted_for(&what, o);
        for (i, x) in ["completed", "failed", "rejected", "timed_out", "in_flight"]
            .iter()
            .enumerate()
        {
            seen[i] += get(o, &format!("requests.{x}"));
        }
        if get(o, "sim.unstable") == 1.0 {
            overloaded += 1;
            // What was in flight at the end stays in flight.
            assert_eq!(
                get(o, "requests.in_flight"),
                get(o, "requests.backlog_at_end"),
                "{what}"
            );
        } else {
            assert!(
                get(o, "requests.in_flight") <= get(o, "requests.backlog_at_end"),
                "{what}"
            );
        }
    }
    assert!(overloaded >= 2, "the cases must include overloaded runs");
    assert!(
        seen.iter().all(|&n| n > 0.0),
        "completed, failed, rejected, timed out, in flight: {seen:?}"
    );
}

// ---------------------------------------------------------------------------
// Cost as a rate
// ---------------------------------------------------------------------------

#[test]
fn cost_per_hour_and_per_month_only_when_a_price_is_set() {
    let yaml = |price: &str| {
        format!(
            r#"
name: cost
duration: 2m
warmup: 20s
clients:
  users: {{ arrival: {{ poisson: 50/s }}, target: api }}
components:
  api:
    kind: service
    replicas: 3
    service_time: {{ exponential: 10ms }}
    {price}
"#
        )
    };
    // 3 replicas × $0.10 an hour: $0.30 an hour, × 720 h = $216 a month.
    let (_, outs) = run_yaml(&yaml("price_per_hour: 0.10"), 1, 1);
    let o = &outs[0];
    assert!(
        (get(o, "cost.per_hour") - 0.30).abs() < 1e-9,
        "{}",
        get(o, "cost.per_hour")
    );
    assert!(
        (get(o, "cost.per_month") - 216.0).abs() < 1e-6,
        "{}",
        get(o, "cost.per_month")
    );
    // The window's totals as before: 3 replicas × 100 s, × $0.10.
    assert!((get(o, "cost.instance_hours") - 3.0 * 100.0 / 3600.0).abs() < 1e-9);
    assert!((get(o, "cost.total") - 0.30 * 100.0 / 3600.0).abs() < 1e-9);
    // A price of zero is a price: free, and said so.
    let (_, outs) = run_yaml(&yaml("price_per_hour: 0"), 1, 1);
    assert_eq!(get(&outs[0], "cost.per_hour"), 0.0);
    assert_eq!(get(&outs[0], "cost.per_month"), 0.0);
    // No price anywhere: no rate, the contract's totals as before.
    let (_, outs) = run_yaml(&yaml(""), 1, 1);
    let o = &outs[0];
    assert!(!o.metrics.contains_key("cost.per_hour"));
    assert!(!o.metrics.contains_key("cost.per_month"));
    assert_eq!(get(o, "cost.total"), 0.0);
    assert!(get(o, "cost.instance_hours") > 0.0);
}

#[test]
fn cost_rates_sum_every_priced_kind() {
    // A service, a cache and a database, each with its own price: the rate
    // is the sum of instances × price (1 × 0.05 + 2 nodes × 0.02 + 2 nodes
    // × 0.25 = 0.59 an hour; 424.80 a month).
    let yaml = r#"
name: cost-kinds
duration: 1m
warmup: 10s
clients:
  users: { arrival: { poisson: 50/s }, target: api, keys: { uniform: 1000 } }
components:
  api: { kind: service, service_time: 1ms, calls: [ cache ], price_per_hour: 0.05 }
  cache: { kind: cache, capacity: 100, backend: db, nodes: 2, price_per_hour: 0.02 }
  db: { kind: database, replicas: 1, read_time: 1ms, price_per_hour: 0.25 }
"#;
    let (_, outs) = run_yaml(yaml, 1, 1);
    let o = &outs[0];
    assert!(
        (get(o, "cost.per_hour") - 0.59).abs() < 1e-9,
        "{}",
        get(o, "cost.per_hour")
    );
    assert!(
        (get(o, "cost.per_month") - 424.8).abs() < 1e-6,
        "{}",
        get(o, "cost.per_month")
    );
}

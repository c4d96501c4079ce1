//! Where the time goes: the per-tier breakdown of successful requests'
//! latency (`breakdown.*`) against queueing theory and against systems whose
//! critical path is known exactly.
//!
//! Method as in `queueing.rs`: R independent replications with fixed seeds,
//! a 99.9% Student-t interval over the per-replication values, the theory
//! inside it and the interval tight. Identities (the additive parts summing
//! to `latency.mean_ms`, constant network and service times) are checked
//! per replication up to float rounding.

use archsim::model::RunOutput;
use archsim::stats::student_t_quantile;

use crate::common::{per_rep, run_yaml};

/// The additive categories of a tier.
const ADDITIVE: [&str; 3] = ["network", "queue", "service"];

/// A metric of one replication, 0 when absent (a tier on no request's
/// path has no `breakdown.*` metrics: it contributes nothing).
fn get(o: &RunOutput, name: &str) -> f64 {
    o.metrics.get(name).copied().unwrap_or(0.0)
}

/// Per-replication values of `breakdown.<tier>.<cat>.mean_ms`.
fn tier(outs: &[RunOutput], tier: &str, cat: &str) -> Vec<f64> {
    outs.iter()
        .map(|o| get(o, &format!("breakdown.{tier}.{cat}.mean_ms")))
        .collect()
}

/// In every replication the network, queue and service means of every tier
/// plus `other` add up to `latency.mean_ms` (up to float rounding).
fn assert_adds_up(outs: &[RunOutput]) {
    for (i, o) in outs.iter().enumerate() {
        let parts: f64 = o
            .metrics
            .iter()
            .filter(|(k, _)| {
                let k = k.as_str();
                k == "breakdown.other.mean_ms"
                    || (k.starts_with("breakdown.")
                        && k.ends_with(".mean_ms")
                        && ADDITIVE.iter().any(|c| k.ends_with(&format!(".{c}.mean_ms"))))
            })
            .map(|(_, v)| v)
            .sum();
        let latency = o.metrics["latency.mean_ms"];
        assert!(
            (parts - latency).abs() <= 1e-9 * latency.max(1.0),
            "replication {i}: the parts add up to {parts} ms, latency.mean_ms is {latency} ms"
        );
    }
}

/// Asserts `theory` lies in the 99.9% interval of `xs` and the interval's
/// half-width is below `max_rel` × theory.
fn check(label: &str, theory: f64, xs: &[f64], max_rel: f64) {
    let n = xs.len() as f64;
    assert!(n >= 10.0, "need at least 10 replications");
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let half = student_t_quantile(0.9995, n - 1.0) * (var / n).sqrt();
    println!("[breakdown] {label}: theory {theory:.5}, simulated {mean:.5} ± {half:.5} (99.9%)");
    assert!(
        (mean - theory).abs() <= half,
        "{label}: theory {theory:.5} outside the simulated interval {mean:.5} ± {half:.5}"
    );
    assert!(
        half <= max_rel * theory,
        "{label}: interval ±{half:.5} too loose to validate anything (theory {theory:.5})"
    );
}

/// Asserts every replication's value equals `want` up to rounding.
fn exact(label: &str, want: f64, xs: &[f64]) {
    for (i, x) in xs.iter().enumerate() {
        assert!(
            (x - want).abs() <= 1e-9 * want.max(1.0),
            "{label}: replication {i} has {x}, want exactly {want}"
        );
    }
}

/// Client → a → b, one sequential call, 2 ms on the wire each way of every
/// hop, exponential service at a (ρ = 0.5) and b (ρ = 0.7) under Poisson
/// arrivals. A service releases its core before calling, so each station is
/// an M/M/1 queue (Burke: a's departures are Poisson; Jackson's theorem for
/// the tandem): mean wait Wq = ρ/(μ − λ) and mean service 1/μ (Kleinrock,
/// Queueing Systems Vol. 1, §3.2); the network of each tier is its hop
/// there and back, 2 × 2 ms; a's downstream is all of b's time.
#[test]
fn a_tandem_of_two_mm1_services_splits_into_their_waits_services_and_hops() {
    let lambda = 500.0; // per second
    let (mu_a, mu_b) = (lambda / 0.5, lambda / 0.7);
    let yaml = format!(
        "name: tandem
duration: 420s
warmup: 20s
network:
  latency: 2ms
clients:
  c:
    arrival: {{ poisson: {lambda}/s }}
    target: a
components:
  a:
    kind: service
    service_time: {{ exponential: {sa}ms }}
    calls: [b]
  b:
    kind: service
    service_time: {{ exponential: {sb}ms }}
",
        sa = 1e3 / mu_a,
        sb = 1e3 / mu_b
    );
    let (_, outs) = run_yaml(&yaml, 11, 10);
    let total: f64 = per_rep(&outs, "requests.completed").iter().sum();
    assert!(total >= 1.9e6, "only {total} requests");
    assert_adds_up(&outs);
    for (name, mu) in [("a", mu_a), ("b", mu_b)] {
        let rho = lambda / mu;
        check(
            &format!("{name} queue ms (Wq = ρ/(μ−λ))"),
            rho / (mu - lambda) * 1e3,
            &tier(&outs, name, "queue"),
            0.05,
        );
        check(
            &format!("{name} service ms (1/μ)"),
            1e3 / mu,
            &tier(&outs, name, "service"),
            0.01,
        );
        exact(&format!("{name} network ms"), 4.0, &tier(&outs, name, "network"));
    }
    exact("b downstream ms", 0.0, &tier(&outs, "b", "downstream"));
    exact("other ms", 0.0, &per_rep(&outs, "breakdown.other.mean_ms"));
    // a waits on b for exactly b's hops, queueing and service.
    for o in &outs {
        let b: f64 = ADDITIVE
            .iter()
            .map(|c| get(o, &format!("breakdown.b.{c}.mean_ms")))
            .sum();
        let down = get(o, "breakdown.a.downstream.mean_ms");
        assert!((down - b).abs() < 1e-9 * b, "a downstream {down} vs b's time {b}");
    }
}

/// A frontend calling two backends in parallel and answering when both have.
fn fan_out(fast: &str, slow: &str, network: &str) -> String {
    format!(
        "name: fan-out
duration: 1000s
warmup: 10s
network:
  latency: {network}
clients:
  c:
    arrival: {{ poisson: 100/s }}
    target: frontend
components:
  frontend:
    kind: service
    cores: 1000
    service_time: 1ms
    calls:
      - parallel: [fast, slow]
  fast:
    kind: service
    cores: 1000
    service_time: {fast}
  slow:
    kind: service
    cores: 1000
    service_time: {slow}
"
    )
}

/// The branch that always answers last carries the critical path; the other
/// contributes nothing to the additive parts.
#[test]
fn in_a_parallel_call_only_the_slower_branch_is_on_the_path() {
    let (_, outs) = run_yaml(&fan_out("10ms", "30ms", "0s"), 5, 3);
    assert_adds_up(&outs);
    exact("slow service ms", 30.0, &tier(&outs, "slow", "service"));
    exact("slow queue ms", 0.0, &tier(&outs, "slow", "queue"));
    for cat in ADDITIVE {
        exact(&format!("fast {cat} ms"), 0.0, &tier(&outs, "fast", cat));
    }
    exact("frontend service ms", 1.0, &tier(&outs, "frontend", "service"));
    exact(
        "frontend downstream ms",
        30.0,
        &tier(&outs, "frontend", "downstream"),
    );
    exact("other ms", 0.0, &per_rep(&outs, "breakdown.other.mean_ms"));
    exact("latency ms", 31.0, &per_rep(&outs, "latency.mean_ms"));
}

/// Two branches with i.i.d. exponential times (mean 10 ms, no queueing):
/// each finishes last half the time. The branch that finishes last carries
/// E[max(X, Y)] = 1/μ + 1/(2μ) = 15 ms, each branch E[X; X > Y] = 3/(4μ)
/// = 7.5 ms; with 1 ms on the wire each way, each branch's network is
/// 2 ms × P(it is last) = 1 ms.
#[test]
fn in_a_parallel_call_of_equal_branches_each_carries_the_path_half_the_time() {
    let (_, outs) = run_yaml(
        &fan_out("{ exponential: 10ms }", "{ exponential: 10ms }", "1ms"),
        7,
        10,
    );
    assert_adds_up(&outs);
    let fast = tier(&outs, "fast", "service");
    let slow = tier(&outs, "slow", "service");
    check("branch 1 service ms (3/(4μ))", 7.5, &fast, 0.02);
    check("branch 2 service ms (3/(4μ))", 7.5, &slow, 0.02);
    let both: Vec<f64> = fast.iter().zip(&slow).map(|(a, b)| a + b).collect();
    check("last branch's service ms (E[max])", 15.0, &both, 0.01);
    check(
        "branch 1 network ms (2 ms × ½)",
        1.0,
        &tier(&outs, "fast", "network"),
        0.02,
    );
    check(
        "branch 2 network ms (2 ms × ½)",
        1.0,
        &tier(&outs, "slow", "network"),
        0.02,
    );
    exact("frontend network ms", 2.0, &tier(&outs, "frontend", "network"));
    check(
        "frontend downstream ms (2 + E[max])",
        17.0,
        &tier(&outs, "frontend", "downstream"),
        0.01,
    );
}

/// A cache-aside miss and the load that follows it are one call after the
/// other: both on the path. Every request pays the cache's 1 ms; a miss
/// (1 − hit ratio of them) then pays the database's 5 ms.
#[test]
fn a_cache_aside_miss_and_its_load_are_both_on_the_path() {
    let yaml = "name: aside
duration: 200s
warmup: 10s
clients:
  c:
    arrival: { poisson: 50/s }
    target: api
    keys: { uniform: 1000 }
components:
  api: { kind: service, cores: 100, service_time: 1ms, calls: [cache] }
  cache: { kind: cache, capacity: 300, read_policy: cache_aside, backend: db, hit_time: 1ms }
  db: { kind: database, read_time: 5ms, cores: 100 }
";
    let (_, outs) = run_yaml(yaml, 9, 2);
    assert_adds_up(&outs);
    exact("cache service ms", 1.0, &tier(&outs, "cache", "service"));
    exact("other ms", 0.0, &per_rep(&outs, "breakdown.other.mean_ms"));
    for o in &outs {
        let misses = 1.0 - get(o, "components.cache.hit_ratio");
        assert!(misses > 0.5, "{misses}");
        let db = get(o, "breakdown.db.service.mean_ms");
        // The cache counts its own window, the breakdown the requests born
        // in it: a request or two at the edges differ.
        assert!(
            (db - 5.0 * misses).abs() < 1e-3 * db,
            "db service {db} ms, want 5 ms × misses {misses}"
        );
    }
}

/// Attempts that time out and the backoff before the next contribute
/// nothing to any tier: the API's service is exactly the one successful
/// attempt's 10 ms, and the rest of each request's latency is `other`.
/// Requests that fail for good are not counted at all (the parts still add
/// up to the mean latency of the successful ones).
#[test]
fn failed_and_timed_out_attempts_contribute_nothing() {
    let yaml = "name: timeouts
duration: 300s
warmup: 10s
clients:
  c:
    arrival: { poisson: 30/s }
    target: api
    timeout: 20ms
    retry: { max: 2, backoff: { constant: 5ms }, jitter: none }
components:
  api:
    kind: service
    service_time: 10ms
";
    let (_, outs) = run_yaml(yaml, 3, 2);
    assert_adds_up(&outs);
    for o in &outs {
        assert!(get(o, "requests.retries") > 100.0, "attempts time out");
        assert!(get(o, "requests.timed_out") > 10.0, "requests fail for good");
        assert!(get(o, "breakdown.other.mean_ms") > 0.0, "retried requests wait");
    }
    exact("api service ms", 10.0, &tier(&outs, "api", "service"));
    // More than 1% of requests were retried, each after a 20 ms timeout
    // and a 5 ms backoff: the 99th percentile of `other` is at least that.
    for o in &outs {
        let retried = get(o, "requests.retries") / get(o, "requests.completed");
        assert!(retried > 0.01, "{retried}");
        let p99 = get(o, "breakdown.other.p99_ms");
        assert!(p99 >= 25.0, "other p99 {p99} ms");
    }
}

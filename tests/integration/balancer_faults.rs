//! Load balancers and crashed backends: sinkholing and outlier ejection.
//!
//! A crashed replica refuses every request at once, so a balancer that
//! counts outstanding requests (`least_connections`) sees it as the idlest
//! replica and sends it more than its share: a sinkhole. Nothing in the
//! model special-cases this; it follows from the balancer's bookkeeping.
//! Outlier detection (Envoy's consecutive-errors ejection) takes such a
//! replica out after `consecutive_errors` failures in a row, for
//! base_ejection_time × k on its k-th ejection, capped at max_ejection_time,
//! with at most max(1, ⌊n × max_ejection_percent / 100⌋) replicas out at
//! once. The tests check those rules as exact counts.

use crate::common::run_yaml;
use archsim::run::Report;

/// Four 1-core replicas of 10 ms (exponential) at `rate`, replica `crash`
/// crashing for good at 10 s; statistics from 10 s on (so every count below
/// is "after the crash"), `extra` appended to the balancer's flow map.
fn pool(algorithm: &str, rate: &str, crashes: &[u32], extra: &str, duration: &str) -> String {
    let faults: String = crashes
        .iter()
        .map(|i| format!("  - {{ at: 10s, crash: \"api[{i}]\" }}\n"))
        .collect();
    format!(
        "
name: lb-faults
duration: {duration}
warmup: 10s
clients:
  users:
    arrival: {{ poisson: {rate} }}
    target: lb
components:
  lb: {{ kind: load_balancer, algorithm: {algorithm}, backends: api{extra} }}
  api: {{ kind: service, replicas: 4, cores: 1, service_time: {{ exponential: 10ms }} }}
faults:
{faults}"
    )
}

fn v(r: &Report, k: &str) -> f64 {
    r.value(k).unwrap_or_else(|| panic!("metric {k} missing"))
}

/// Share of the offered requests that reached replica `i`.
fn share(r: &Report, i: u32) -> f64 {
    v(r, &format!("components.api[{i}].requests")) / v(r, "requests.offered")
}

#[test]
fn least_connections_sinkholes_into_a_crashed_replica() {
    // Round robin gives the dead replica exactly its quarter: availability 3/4.
    let (rr, _) = run_yaml(&pool("round_robin", "240/s", &[0], "", "60s"), 1, 1);
    println!(
        "round robin: share {:.3}, availability {:.3}",
        share(&rr, 0),
        v(&rr, "availability")
    );
    assert!((share(&rr, 0) - 0.25).abs() < 0.002);
    assert!((v(&rr, "availability") - 0.75).abs() < 0.002);

    // Least connections: the dead replica answers at once, so it always has
    // zero outstanding and wins every pick in which the others are all busy.
    let (lc, _) = run_yaml(&pool("least_connections", "240/s", &[0], "", "60s"), 1, 1);
    let s = share(&lc, 0);
    let a = v(&lc, "availability");
    println!("least connections: share {s:.3}, availability {a:.3}");
    assert!(s > 0.35, "sinkhole share {s:.3} should be well over 1/4");
    // Every request it receives fails, and nothing else does.
    assert_eq!(v(&lc, "requests.failed"), v(&lc, "components.api[0].requests"));
    assert!(a < 0.65, "availability {a:.3} should be well under 3/4");
}

#[test]
fn outlier_detection_ejects_the_sinkhole() {
    // Defaults: 5 errors, 30 s × k, cap 300 s, 10% of 4 → 1 replica. Over
    // 10–60 s: ejected at ~10 s for 30 s, back at ~40 s, five more failures,
    // ejected again for 60 s (past the end). Two ejections, each costing at
    // most `consecutive_errors` failures in the window (requests it held at
    // the crash were offered before 10 s and count toward the first five).
    let yaml = pool(
        "least_connections",
        "240/s",
        &[0],
        ", outlier_detection: {}",
        "60s",
    );
    let (r, _) = run_yaml(&yaml, 1, 1);
    let failed = v(&r, "requests.failed");
    let a = v(&r, "availability");
    println!(
        "with ejection: share {:.4}, availability {a:.5}, {failed} failed, {} ejections",
        share(&r, 0),
        v(&r, "components.lb.ejections")
    );
    assert_eq!(v(&r, "components.lb.ejections"), 2.0);
    assert!((5.0..=10.0).contains(&failed), "failed {failed}");
    assert_eq!(failed, v(&r, "components.api[0].requests"));
    assert!(a > 0.999, "availability {a}");
    // The ejected replica is skipped inside least connections' scan, so its
    // traffic spreads over the three survivors instead of landing on its
    // neighbour in rotation.
    let loads: Vec<f64> = (1..4).map(|i| share(&r, i)).collect();
    let (lo, hi) = loads
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    println!("survivor shares {loads:.3?}");
    assert!(hi / lo < 1.15, "survivor shares {loads:?}");
    // No randomness in ejection: the same seed gives the same trajectory.
    let (again, _) = run_yaml(&yaml, 1, 1);
    assert_eq!(v(&again, "sim.fingerprint"), v(&r, "sim.fingerprint"));
}

#[test]
fn ejection_time_grows_by_the_base_up_to_the_cap() {
    // base 1 s, cap 3 s: ejections last 1, 2, 3, 3, 3, … s. The replica is
    // ejected within milliseconds of each return (least connections sends
    // it the very next requests), so the k-th ejection starts about
    // Σ_{j<k} min(j, 3) s after the first: 0, 1, 3, 6, 9, 12, 15, 18 — eight
    // in the 20 s window, each after exactly five new failures.
    let (r, _) = run_yaml(
        &pool(
            "least_connections",
            "240/s",
            &[0],
            ", outlier_detection: { base_ejection_time: 1s, max_ejection_time: 3s }",
            "30s",
        ),
        2,
        1,
    );
    let mut starts = vec![0u64];
    for k in 1u64.. {
        let next = starts[starts.len() - 1] + k.min(3);
        if next >= 20 {
            break;
        }
        starts.push(next);
    }
    let expected = starts.len() as f64;
    let (ejections, failed) = (v(&r, "components.lb.ejections"), v(&r, "requests.failed"));
    println!("ejections {ejections} (expected {expected}, at {starts:?} s), failed {failed}");
    assert_eq!(ejections, expected);
    // Five failures per ejection, fewer for the first (requests held at the crash).
    assert!(
        failed <= 5.0 * expected && failed > 5.0 * (expected - 1.0),
        "failed {failed}"
    );
}

#[test]
fn max_ejection_percent_caps_how_many_replicas_are_out() {
    // Two of four replicas crash. 150/s keeps the two survivors at ρ = 0.75.
    let run = |pct: &str| {
        let extra = format!(", outlier_detection: {{ max_ejection_percent: {pct} }}");
        run_yaml(&pool("least_connections", "150/s", &[0, 1], &extra, "30s"), 3, 1).0
    };
    // 10% of 4 rounds down to 0: one replica may still be ejected, not two.
    // The other keeps sinkholing for the whole window.
    let one = run("10");
    println!(
        "10%: {} ejections, {} failed, availability {:.3}",
        v(&one, "components.lb.ejections"),
        v(&one, "requests.failed"),
        v(&one, "availability")
    );
    assert_eq!(v(&one, "components.lb.ejections"), 1.0);
    assert!(v(&one, "availability") < 0.8);
    // 50% of 4 = 2: both dead replicas are out within milliseconds.
    let two = run("50");
    println!(
        "50%: {} ejections, {} failed, availability {:.5}",
        v(&two, "components.lb.ejections"),
        v(&two, "requests.failed"),
        v(&two, "availability")
    );
    assert_eq!(v(&two, "components.lb.ejections"), 2.0);
    assert!(v(&two, "requests.failed") <= 10.0);
}

#[test]
fn health_checks_and_ejection_compose() {
    // Health checks alone: until the second missed probe (1.5–2.5 s after
    // the crash) the dead replica sinkholes a large share of 240/s.
    let hc = ", health_check: { interval: 1s, timeout: 500ms, unhealthy_after: 2 }";
    let (alone, _) = run_yaml(&pool("least_connections", "240/s", &[0], hc, "60s"), 4, 1);
    let failed_hc = v(&alone, "requests.failed");
    println!("health checks only: {failed_hc} failed");
    // At least a quarter of 240/s over 1.5 s.
    assert!(failed_hc > 0.25 * 240.0 * 1.5, "failed {failed_hc}");
    assert_eq!(v(&alone, "components.lb.marked_down"), 1.0);

    // Both: ejected after five failures; when the 30 s ejection ends at
    // ~40 s the health checks still hold it down, so it is never picked
    // again and never ejected a second time.
    let both = format!("{hc}, outlier_detection: {{}}");
    let (r, _) = run_yaml(&pool("least_connections", "240/s", &[0], &both, "60s"), 4, 1);
    let failed = v(&r, "requests.failed");
    println!("both: {failed} failed");
    assert!(failed <= 5.0, "failed {failed}");
    assert_eq!(v(&r, "components.lb.ejections"), 1.0);
    assert_eq!(v(&r, "components.lb.marked_down"), 1.0);
    assert_eq!(v(&r, "components.lb.no_backend"), 0.0);
}

#[test]
fn a_single_replica_ejected_leaves_no_backend() {
    // With one replica, ejecting it leaves nothing to pick: the balancer
    // fails requests at once (as when health checks mark every replica
    // down) and counts them in `no_backend`; after 30 s it tries again.
    let yaml = "
name: one
duration: 60s
warmup: 10s
clients:
  users:
    arrival: { constant: 100/s }
    target: lb
components:
  lb: { kind: load_balancer, algorithm: round_robin, backends: api, outlier_detection: {} }
  api: { kind: service, cores: 4, service_time: 1ms }
faults:
  - { at: 10s, crash: api }
";
    let (r, _) = run_yaml(yaml, 5, 1);
    let (offered, failed) = (v(&r, "requests.offered"), v(&r, "requests.failed"));
    println!(
        "offered {offered}, failed {failed}, no_backend {}, ejections {}",
        v(&r, "components.lb.no_backend"),
        v(&r, "components.lb.ejections")
    );
    assert_eq!(failed, offered, "nothing can succeed");
    // Ejected at 10 s and 40 s: all but the 2 × 5 probing failures are no_backend.
    assert_eq!(v(&r, "components.lb.ejections"), 2.0);
    assert_eq!(v(&r, "components.lb.no_backend"), offered - 10.0);
}

#[test]
fn every_algorithm_routes_around_out_replicas_and_accounts_for_every_request() {
    // Every algorithm, with health checks and ejection both on, through
    // crashes that leave one, then no, then all replicas up. Each offered
    // request gets exactly one outcome, and with a replica always up after
    // detection the pool keeps serving.
    for algorithm in [
        "round_robin",
        "weighted_round_robin",
        "random",
        "least_connections",
        "power_of_two",
        "ip_hash",
        "consistent_hash",
        "sticky",
        "least_time",
    ] {
        let yaml = format!(
            "
name: all
duration: 40s
warmup: 1s
clients:
  users:
    arrival: {{ poisson: 200/s }}
    target: lb
    identities: 500
    keys: {{ uniform: 1000 }}
components:
  lb:
    kind: load_balancer
    algorithm: {algorithm}
    backends: api
    health_check: {{ interval: 1s, timeout: 200ms }}
    outlier_detection: {{ base_ejection_time: 2s, max_ejection_percent: 75 }}
  api: {{ kind: service, replicas: 4, cores: 2, service_time: {{ exponential: 5ms }} }}
faults:
  - {{ at: 5s, crash: \"api[0]\", for: 10s }}
  - {{ at: 8s, crash: \"api[1]\", for: 10s }}
  - {{ at: 10s, crash: \"api[2]\", for: 5s }}
  - {{ at: 12s, crash: \"api[3]\", for: 2s }}
"
        );
        let (r, _) = run_yaml(&yaml, 6, 1);
        let g = |k: &str| r.value(k).unwrap_or(0.0);
        let outcomes = g("requests.completed")
            + g("requests.failed")
            + g("requests.rejected")
            + g("requests.timed_out")
            + g("requests.in_flight");
        println!(
            "{algorithm}: availability {:.4}, ejections {}, no_backend {}",
            g("availability"),
            g("components.lb.ejections"),
            g("components.lb.no_backend")
        );
        assert_eq!(outcomes, g("requests.offered"), "{algorithm}");
        // All four are out from 12 s until the health checks have seen
        // api[3] answer twice after its 14 s recovery (about 2.3 s of
        // `no_backend` here), plus the short detection windows: a few
        // seconds of the 39 measured.
        assert!(g("availability") > 0.9, "{algorithm}: {}", g("availability"));
        assert!(g("components.lb.ejections") >= 1.0, "{algorithm}");
        assert!(
            g("components.lb.no_backend") > 0.0,
            "{algorithm}: all four were out at 12–14 s"
        );
    }
}

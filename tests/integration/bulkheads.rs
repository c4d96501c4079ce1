//! Bulkheads: a per-replica limit of k calls in flight on a call edge.
//!
//! With Poisson calls and a dependency that never queues, the calls in
//! flight on the edge are an M/G/k/k loss system: a call finding k in
//! flight is turned away, so the fraction rejected is the Erlang B formula
//! B(k, λ·E[S]), whatever the service-time distribution (the Erlang loss
//! formula's insensitivity; Kleinrock, "Queueing Systems", vol. 1, §3.6).
//! And the point of the pattern (Nygard, "Release It!"): a slow dependency
//! behind a bulkhead cannot take the threads of requests that do not call it.

use crate::common::{per_rep, run_bundled, run_yaml};
use archsim::stats::student_t_quantile;
use archsim::theory;

/// Mean and half-width of the 99.9% Student-t interval.
fn interval(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, student_t_quantile(0.9995, n - 1.0) * (var / n).sqrt())
}

/// One `api` replica (no queueing: 1000 cores, 1 µs of work) calling `dep`
/// (1000 cores: an infinite server) with service time `dist` through a
/// bulkhead of `k`, at Poisson rate `rate`.
fn loss_scenario(k: u32, rate: u32, dist: &str) -> String {
    format!(
        "
name: bulkhead-loss
duration: 210s
warmup: 10s
clients:
  users:
    arrival: {{ poisson: {rate}/s }}
    target: api
    timeout: 10s
components:
  api:
    kind: service
    cores: 1000
    service_time: {{ constant: 1us }}
    calls:
      - {{ target: dep, bulkhead: {{ max_concurrent: {k} }} }}
  dep:
    kind: service
    cores: 1000
    service_time: {dist}
"
    )
}

#[test]
fn rejected_fraction_is_erlang_b_for_any_service_time() {
    // k = 10 slots, λ = 80/s, E[S] = 100 ms: offered load a = 8 Erlangs.
    let (k, rate, mean_s) = (10, 80, 0.1);
    let b = theory::erlang_b(k, f64::from(rate) * mean_s);
    assert!((b - 0.1217).abs() < 1e-3, "B(10, 8) = {b}");
    for dist in ["{ exponential: 100ms }", "{ constant: 100ms }"] {
        let (_, outs) = run_yaml(&loss_scenario(k, rate, dist), 3, 10);
        let rejected = per_rep(&outs, "components.api.bulkhead.dep.rejected");
        let arrivals = per_rep(&outs, "components.api.arrival_rps");
        let fractions: Vec<f64> = rejected
            .iter()
            .zip(&arrivals)
            .map(|(r, a)| r / (a * 200.0))
            .collect();
        let (mean, half) = interval(&fractions);
        assert!(
            (mean - b).abs() <= half + 1e-3,
            "{dist}: rejected fraction {mean} ± {half}, Erlang B {b}"
        );
        assert!(half < 0.01, "{dist}: interval too wide: ±{half}");
        for m in per_rep(&outs, "components.api.bulkhead.dep.max_in_flight") {
            assert_eq!(m, f64::from(k), "the limit is reached and never passed");
        }
    }
}

#[test]
fn a_bulkhead_keeps_a_slow_dependency_from_taking_every_slot() {
    // scenarios/bulkheads.yaml: payments 30× slower for 60 s, api pool of
    // 100; browsing never calls payments.
    let with = |k: &str| {
        let set = format!("components.api.calls.0.bulkhead.max_concurrent={k}");
        run_bundled("bulkheads.yaml", &[set.as_str()], 3).1
    };
    let guarded = with("20");
    let open = with("100");
    for a in per_rep(&guarded, "clients.browsers.availability") {
        assert!(a >= 0.999, "browsing behind a bulkhead: availability {a}");
    }
    for r in per_rep(&guarded, "components.api.rejected") {
        assert_eq!(r, 0.0, "the api's pool never fills");
    }
    for m in per_rep(&guarded, "components.api.bulkhead.payments.max_in_flight") {
        assert_eq!(m, 20.0);
    }
    // Without it (a limit as large as the pool), buyers' calls take all 100
    // slots during the 60 s fault and browsing loses about a quarter.
    for a in per_rep(&open, "clients.browsers.availability") {
        assert!(a < 0.85, "browsing without a bulkhead: availability {a}");
    }
    // Buyers fail during the fault either way: the bulkhead confines the
    // damage, it does not repair it.
    for (g, o) in per_rep(&guarded, "clients.buyers.availability")
        .iter()
        .zip(per_rep(&open, "clients.buyers.availability"))
    {
        assert!(*g < 0.85 && o < 0.85, "buyers {g} and {o}");
    }
}

//! Retries against independent failures: amplification and availability
//! follow the geometric series, a budget caps the extra load.

use crate::common::{per_rep, run_yaml};

/// One of four replicas is down for the whole run and the balancer picks
/// at random without health checks, so each attempt fails independently
/// with p = 1/4 (at once: a refused connection).
fn scenario(retry: &str) -> String {
    format!(
        "name: r\nduration: 1000s\nwarmup: 0s\nclients:\n  users:\n    arrival: {{ poisson: 100/s }}\n    target: lb\n    retry: {retry}\n\
         components:\n  lb: {{ kind: load_balancer, algorithm: random, backends: api }}\n\
         \x20 api: {{ kind: service, replicas: 4, cores: 4, service_time: {{ exponential: 1ms }} }}\n\
         faults:\n  - {{ at: 0s, crash: \"api[2]\" }}\n"
    )
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[test]
fn attempts_per_request_follow_the_geometric_series() {
    let p: f64 = 0.25;
    for k in [2u32, 3, 4] {
        let (_, outs) = run_yaml(
            &scenario(&format!(
                "{{ max: {k}, backoff: {{ constant: 0s }}, jitter: none }}"
            )),
            3,
            4,
        );
        let offered = per_rep(&outs, "requests.offered");
        let retries = per_rep(&outs, "requests.retries");
        let attempts: Vec<f64> = offered.iter().zip(&retries).map(|(o, r)| 1.0 + r / o).collect();
        // E[attempts] = 1 + p + … + p^(k−1) = (1 − p^k)/(1 − p); availability 1 − p^k.
        let theory = (1.0 - p.powi(k as i32)) / (1.0 - p);
        let sim = mean(&attempts);
        println!("k = {k}: attempts {sim:.4} (theory {theory:.4})");
        assert!((sim - theory).abs() < 0.005, "k = {k}: {sim} vs {theory}");
        let avail = mean(&per_rep(&outs, "availability"));
        let a = 1.0 - p.powi(k as i32);
        assert!((avail - a).abs() < 0.003, "k = {k}: availability {avail} vs {a}");
    }
}

#[test]
fn a_retry_budget_caps_retries_at_its_ratio() {
    // Without a budget k = 4 retries 0.33 per request; a 5% budget (with a
    // floor of 1 retry/s, 1% of the 100 requests/s) holds it to 5%.
    let (r, _) = run_yaml(
        &scenario(
            "{ max: 4, backoff: { constant: 0s }, jitter: none, budget: { ratio: 0.05, min_per_s: 1, window: 10s } }",
        ),
        3,
        1,
    );
    let ratio = r.value("requests.retries").unwrap() / r.value("requests.offered").unwrap();
    assert!(ratio <= 0.05 * 1.02 + 0.01 + 1e-9, "retry ratio {ratio}");
    assert!(ratio > 0.04, "the budget is used: {ratio}");
    assert!(r.value("clients.users.retries_refused").unwrap() > 1000.0);
    // Fewer retries, more failures than without the budget.
    assert!(r.value("availability").unwrap() < 1.0 - 0.25f64.powi(4));
}

//! Deploys through whole runs: a rolling deploy keeps n − u of n replicas
//! serving and takes ⌈n/u⌉·(drain + startup) (Kubernetes RollingUpdate's
//! maxUnavailable, idealised in batches); with a surge the batches are
//! u + s wide and s extra replicas run throughout; blue-green runs 2n
//! replicas while the new set starts; a canary of a bad version is rolled
//! back at the first evaluation with a full window, and the errors it
//! caused are weight × rate × (time it served) × error ratio.

use archsim::model::RunOutput;

use crate::common::{run_yaml, series};

fn m(o: &RunOutput, k: &str) -> f64 {
    *o.metrics.get(k).unwrap_or_else(|| panic!("metric {k} missing"))
}

/// n replicas of one core (10 ms exponential, 30/s each: 30% busy) behind
/// a least-connections balancer, a deploy at 60 s with `deploy`, constant
/// startup 10 s; runs 6 minutes with a 1 s time series.
fn scenario(n: u32, deploy: &str, rate: f64) -> String {
    format!(
        "name: d\nduration: 6m\nwarmup: 0s\nrun: {{ interval: 1s }}\n\
         clients:\n  users:\n    arrival: {{ poisson: {rate}/s }}\n    target: lb\n\
         components:\n  lb: {{ kind: load_balancer, algorithm: least_connections, backends: api }}\n\
         \x20 api: {{ kind: service, replicas: {n}, cores: 1, service_time: {{ exponential: 10ms }}, \
         startup_time: 10s, price_per_hour: 1, deploy: {deploy} }}\n\
         events:\n  - {{ at: 60s, deploy: api }}\n"
    )
}

#[test]
fn rolling_keeps_n_minus_u_serving_and_takes_batches_times_drain_plus_startup() {
    for (n, u) in [(4u32, 1u32), (4, 2), (5, 2), (6, 3), (3, 3)] {
        let d = format!("{{ strategy: rolling, max_unavailable: {u}, drain: 5s }}");
        let (_, outs) = run_yaml(&scenario(n, &d, 30.0 * f64::from(n)), 7, 1);
        let o = &outs[0];
        // Kubernetes RollingUpdate: at most maxUnavailable below the
        // desired count, so ⌈n/u⌉ batches of drain + startup each.
        let batches = n.div_ceil(u);
        let want = f64::from(batches) * (5.0 + 10.0);
        assert_eq!(
            m(o, "components.api.deploy.batches"),
            f64::from(batches),
            "n={n} u={u}"
        );
        assert_eq!(m(o, "components.api.deploy.duration_s"), want, "n={n} u={u}");
        assert_eq!(m(o, "components.api.deploy.started_s"), 60.0);
        let floor = f64::from(n - u) / f64::from(n);
        assert_eq!(m(o, "components.api.deploy.capacity_min"), floor, "n={n} u={u}");
        // The time series: each 1 s mean of the serving fraction stays at
        // or above (n − u)/n, reaches it during the deploy, and is 1 before
        // and after.
        let s = series(o, "api.serving");
        let during: Vec<f64> = s
            .iter()
            .filter(|(t, _)| *t > 60.0 && *t <= 60.0 + want)
            .map(|p| p.1)
            .collect();
        assert!(
            during.iter().all(|&x| x >= floor - 1e-9),
            "n={n} u={u}: {during:?}"
        );
        assert!(
            during.iter().any(|&x| (x - floor).abs() < 1e-9),
            "n={n} u={u}: {during:?}"
        );
        assert!(
            s.iter()
                .filter(|(t, _)| *t <= 60.0 || *t > 61.0 + want)
                .all(|p| (p.1 - 1.0).abs() < 1e-9),
            "n={n} u={u}"
        );
        // No surge: n replicas run throughout (cost n × duration).
        assert!((m(o, "components.api.deploy.replica_hours") - f64::from(n) * want / 3600.0).abs() < 1e-9);
        if u < n {
            // Drains of 5 s dwarf a 10 ms request: nothing fails.
            assert_eq!(m(o, "components.api.deploy.errors"), 0.0, "n={n} u={u}");
            assert_eq!(m(o, "requests.failed"), 0.0, "n={n} u={u}");
        } else {
            // u = n: nothing serves for drain + startup, and the balancer
            // fails what arrives meanwhile: Poisson with mean rate × 15 s.
            let mean = 30.0 * f64::from(n) * 15.0;
            let f = m(o, "requests.failed");
            assert!(
                (f - mean).abs() <= 4.0 * mean.sqrt(),
                "{f} failed, expected {mean}"
            );
        }
    }
}

#[test]
fn rolling_with_surge_takes_startup_plus_wider_batches_plus_a_drain() {
    // Surge s: s extra replicas start (startup), then batches of u + s
    // (⌈n/(u+s)⌉ · (drain + startup)), then the extras drain.
    for (n, u, s) in [(4u32, 1u32, 1u32), (4, 0, 1), (6, 1, 2), (5, 2, 2)] {
        let d = format!("{{ strategy: rolling, max_unavailable: {u}, max_surge: {s}, drain: 5s }}");
        let (_, outs) = run_yaml(&scenario(n, &d, 30.0 * f64::from(n)), 11, 1);
        let o = &outs[0];
        let batches = n.div_ceil(u + s);
        let want = 10.0 + f64::from(batches) * 15.0 + 5.0;
        assert_eq!(
            m(o, "components.api.deploy.batches"),
            f64::from(batches),
            "n={n} u={u} s={s}"
        );
        assert_eq!(
            m(o, "components.api.deploy.duration_s"),
            want,
            "n={n} u={u} s={s}"
        );
        let floor = f64::from(n - u) / f64::from(n);
        assert_eq!(
            m(o, "components.api.deploy.capacity_min"),
            floor,
            "n={n} u={u} s={s}"
        );
        let during: Vec<f64> = series(o, "api.serving")
            .iter()
            .filter(|(t, _)| *t > 60.0 && *t <= 60.0 + want)
            .map(|p| p.1)
            .collect();
        assert!(during.iter().all(|&x| x >= floor - 1e-9), "{during:?}");
        // n + s replicas run for the whole deploy.
        let hours = f64::from(n + s) * want / 3600.0;
        assert!((m(o, "components.api.deploy.replica_hours") - hours).abs() < 1e-9);
        let inst: Vec<f64> = series(o, "api.instances")
            .iter()
            .filter(|(t, _)| *t > 61.0 && *t <= 60.0 + want)
            .map(|p| p.1)
            .collect();
        assert!(
            inst.iter().all(|&x| (x - f64::from(n + s)).abs() < 1e-9),
            "{inst:?}"
        );
        assert_eq!(m(o, "requests.failed"), 0.0);
    }
}

#[test]
fn blue_green_runs_two_sets_then_switches_without_errors() {
    let n = 4;
    let d = "{ strategy: blue_green, drain: 5s }";
    let (_, outs) = run_yaml(&scenario(n, d, 120.0), 3, 1);
    let o = &outs[0];
    // Green starts (startup 10 s), the switch, blue drains (5 s).
    assert_eq!(m(o, "components.api.deploy.duration_s"), 15.0);
    assert_eq!(m(o, "components.api.deploy.capacity_min"), 1.0);
    assert!((m(o, "components.api.deploy.replica_hours") - 8.0 * 15.0 / 3600.0).abs() < 1e-9);
    let inst = series(o, "api.instances");
    for (t, x) in &inst {
        let want = if *t > 60.0 && *t <= 75.0 { 8.0 } else { 4.0 };
        assert!((x - want).abs() < 1e-9, "t={t}: {x} instances, want {want}");
    }
    assert_eq!(m(o, "requests.failed"), 0.0);
    // The new set serves after the switch: the old slots take nothing.
    let old: f64 = (0..4)
        .map(|i| m(o, &format!("components.api[{i}].requests")))
        .sum();
    let new: f64 = (4..8)
        .map(|i| m(o, &format!("components.api[{i}].requests")))
        .sum();
    let total = old + new;
    // Blue serves 0–70 s, green 70–360 s (a Poisson count: ±5σ).
    let want_new = total * (360.0 - 70.0) / 360.0;
    assert!(
        (new - want_new).abs() < 5.0 * want_new.sqrt(),
        "{new} vs {want_new}"
    );
    assert!(o.annotations.iter().any(|a| a.label == "deploy api (blue-green)"));
}

/// A canary at weight 0.1 of 200/s with error ratio `bad`; evaluations
/// every 10 s over a 45 s window.
fn canary(bad: f64) -> String {
    scenario(
        4,
        &format!(
            "{{ strategy: canary, drain: 5s, version: {{ error_ratio: {bad} }}, \
             canary: {{ weight: 0.1, interval: 10s, window: 45s, max_error_ratio: 0.05, promote_after: 2m }} }}"
        ),
        200.0,
    )
}

#[test]
fn a_bad_canary_is_rolled_back_within_window_plus_interval_and_its_errors_are_bounded() {
    let (rate, weight, ratio) = (200.0, 0.1, 0.5);
    let (window, interval, startup) = (45.0, 10.0, 10.0);
    let mut errors = 0.0;
    let mut expect = 0.0;
    for seed in 1..=10 {
        let (_, outs) = run_yaml(&canary(ratio), seed, 1);
        let o = &outs[0];
        assert_eq!(m(o, "components.api.deploy.rolled_back"), 1.0);
        assert_eq!(m(o, "components.api.deploy.promoted"), 0.0);
        // The canary serves from startup on; the first evaluation with a
        // full window is the first multiple of the interval ≥ the window:
        // never later than window + interval after the canary starts.
        let served = m(o, "components.api.deploy.rollback_s") - startup;
        assert!(
            served >= window && served <= window + interval,
            "seed {seed}: {served}"
        );
        assert_eq!(served, (window / interval).ceil() * interval);
        // The bound: weight × rate × (window + interval) × error ratio, in
        // expectation; the errors it caused are Poisson (a thinning of the
        // Poisson arrivals) with mean weight × rate × served × ratio.
        let e = m(o, "components.api.deploy.errors");
        let bound = weight * rate * (window + interval) * ratio;
        assert!(
            e <= bound + 4.0 * bound.sqrt(),
            "seed {seed}: {e} errors, bound {bound}"
        );
        errors += e;
        expect += weight * rate * served * ratio;
        assert_eq!(m(o, "requests.failed"), e, "seed {seed}: only the canary fails");
    }
    // Ten runs: the total is Poisson(Σ means): a two-sided 99.9% interval.
    let half = 3.29 * expect.sqrt();
    assert!(
        (errors - expect).abs() <= half,
        "{errors} errors, expected {expect} ± {half}"
    );
}

#[test]
fn a_good_canary_is_promoted_and_then_rolled_out() {
    let (_, outs) = run_yaml(&canary(0.0), 5, 1);
    let o = &outs[0];
    assert_eq!(m(o, "components.api.deploy.rolled_back"), 0.0);
    assert_eq!(m(o, "components.api.deploy.promoted"), 1.0);
    assert_eq!(m(o, "requests.failed"), 0.0);
    // Startup, 120 s of analysis (evaluations every 10 s), four batches of
    // one replica (5 s drain + 10 s startup), then the canary drains.
    assert_eq!(
        m(o, "components.api.deploy.duration_s"),
        10.0 + 120.0 + 4.0 * 15.0 + 5.0
    );
    assert_eq!(m(o, "components.api.deploy.batches"), 4.0);
    // The canary took its weight of the requests while it served.
    let canary = m(o, "components.api[4].requests");
    let want = 0.1 * 200.0 * (120.0 + 60.0);
    assert!((canary - want).abs() < 5.0 * want.sqrt(), "{canary} vs {want}");
}

#[test]
fn without_a_balancer_the_service_skips_replicas_out_of_rotation() {
    let yaml = "name: d\nduration: 3m\nwarmup: 0s\nrun: { interval: 1s }\n\
         clients:\n  users:\n    arrival: { poisson: 100/s }\n    target: api\n\
         components:\n  api: { kind: service, replicas: 3, service_time: { exponential: 10ms }, \
         startup_time: 10s, deploy: { max_unavailable: 1, drain: 2s } }\n\
         events:\n  - { at: 30s, deploy: api }\n";
    let (_, outs) = run_yaml(yaml, 2, 1);
    let o = &outs[0];
    assert_eq!(m(o, "components.api.deploy.duration_s"), 36.0);
    assert_eq!(m(o, "requests.failed"), 0.0);
    assert_eq!(m(o, "components.api.deploy.capacity_min"), 2.0 / 3.0);
}

//! Layer-4 versus layer-7 balancing through whole runs: after a scale-out
//! from n to 2n replicas, a layer-4 balancer (a replica per client
//! connection) leaves the new replicas idle until the connections reopen,
//! and the per-replica load imbalance (`api.load_cv`, the coefficient of
//! variation of the requests each serving replica received in an
//! interval) falls as 1 − (t − T)/lifetime; a layer-7 balancer (a replica
//! per request) spreads the load at once.
//!
//! The derivation the test holds the simulation to. At T the service goes
//! from n to 2n replicas; the client holds C connections taking its
//! requests in turn (each carries 1/C of them), each reopened `lifetime`
//! L after it opened, their phases uniform (initial ages uniform on
//! [0, L)). By T + f·L a fraction f of the connections has reopened, and
//! round robin has spread those over all 2n replicas (f·C/(2n) each); the
//! other (1 − f)·C are still on the n old replicas. An old replica carries
//! (1 − f)/n + f/(2n) = (2 − f)/(2n) of the load, a new one f/(2n); the
//! mean is 1/(2n), every deviation ±(1 − f)/(2n), so CV = 1 − f. Over an
//! interval the counts are integrals of loads linear in f, so the
//! interval's CV is 1 − f at its midpoint. After T + L every connection
//! has reopened: round robin leaves ±1 connection per replica, CV ≈ 0.
//!
//! Bounds. The fraction reopened is the empirical distribution of C
//! uniform phases, within ε of f over the whole curve with probability at
//! least 1 − 2·exp(−2Cε²) (Dvoretzky–Kiefer–Wolfowitz, Massart's
//! constant): ε = 0.05 with C = 2000 fails once in 10⁴ seeds. Reopening
//! happens at a connection's first use after its age passes L, at most C/λ
//! = 2 s late per reopening (two or three before T): under 0.01 of f. The
//! request counts round robin leaves over connections add well under 0.01.
//! Layer 7 with `random`: a replica's requests in an interval are Poisson
//! with mean N/m (N = λ·Δ, m serving replicas, Poisson thinning), so
//! E[CV²] ≈ (m − 1)/N, and N·CV² is about χ² with m − 1 degrees of
//! freedom. A layer-4 `random` balancer with every connection reopened
//! holds a multinomial(C, 1/m) count of connections per replica, so
//! E[CV²] ≈ (m − 1)/C (the population variance of a multinomial cell is
//! C·(1/m)(1 − 1/m), its mean C/m).

use crate::common::{run_yaml, series};

const RATE: f64 = 1000.0;
const CONNS: f64 = 2000.0;
/// Interval of the time series (s).
const DT: f64 = 30.0;
/// Scale-out time and connection lifetime (s).
const T: f64 = 1200.0;
const L: f64 = 600.0;

/// 1000 requests/s over `conns` connections of a 10-minute lifetime; `api`
/// goes from 4 to 8 replicas at 20 min (an autoscaler's schedule).
fn scenario(layer: u8, algorithm: &str, conns: u32, duration: &str, scale: bool) -> String {
    let schedule = if scale {
        "[ { at: 0s, replicas: 4 }, { at: 20m, replicas: 8 } ]"
    } else {
        "[ { at: 0s, replicas: 8 } ]"
    };
    format!(
        "name: l4\nduration: {duration}\nwarmup: 0s\nrun: {{ interval: 30s }}\n\
         clients:\n  grpc:\n    arrival: {{ poisson: 1000/s }}\n    target: lb\n\
         \x20   connections: {{ count: {conns}, lifetime: 10m }}\n\
         components:\n  lb: {{ kind: load_balancer, algorithm: {algorithm}, backends: api, layer: {layer} }}\n\
         \x20 api: {{ kind: service, replicas: {}, cores: 1, service_time: {{ constant: 1ms }} }}\n\
         \x20 scale: {{ kind: autoscaler, target: api, min: 4, max: 8, interval: 10s, policy: {{ schedule: {schedule} }} }}\n",
        if scale { 4 } else { 8 }
    )
}

#[test]
fn after_a_scale_out_layer_4_imbalance_falls_as_connections_reopen() {
    let (r, outs) = run_yaml(&scenario(4, "round_robin", CONNS as u32, "36m", true), 7, 1);
    let cv = series(&outs[0], "api.load_cv");
    let reps = series(&outs[0], "api.replicas");
    // The scale-out happens at T: 4 serving before, 8 after.
    for &(t, n) in &reps {
        if t <= T {
            assert_eq!(n, 4.0, "at {t} s");
        } else if t - DT >= T {
            assert_eq!(n, 8.0, "at {t} s");
        }
    }
    let (mut during, mut after) = (0, 0);
    for &(end, v) in &cv {
        let start = end - DT;
        if start >= L + 10.0 && end <= T {
            // Before: 4 replicas, balanced connections. Not in the first
            // lifetime: the first openings were bound in the client's order,
            // and the ones not yet reopened are a random subset of those
            // (a hypergeometric spread, CV about 0.02 here); from then on
            // every binding is made in the order the connections reopen,
            // so the C latest round-robin picks are ±1 per replica.
            assert!(v < 0.03, "CV {v} at {end} s before the scale-out");
        } else if start >= T && end <= T + L {
            let f = ((start + end) / 2.0 - T) / L;
            let want = 1.0 - f;
            assert!(
                (v - want).abs() <= 0.05 + 0.01 + 0.01,
                "CV {v} at {end} s, 1 − (t − T)/L = {want}"
            );
            during += 1;
        } else if start >= T + L + 10.0 {
            // Every connection has reopened (10 s past L for the lazy reopening).
            assert!(v < 0.03, "CV {v} at {end} s, after the lifetime");
            after += 1;
        }
    }
    assert_eq!(during, 20);
    assert!(after >= 10, "{after}");
    // It starts near 1 and stays high through the first half-lifetime.
    let first = cv.iter().find(|(e, _)| e - DT >= T).unwrap().1;
    assert!(first > 0.9, "first interval after the scale-out: {first}");
    // Each connection reopens once per lifetime, at a uniform phase: 3.6
    // times on average in 36 minutes (3 or 4 each: binomial sd √(2000 ×
    // 0.6 × 0.4) ≈ 22), a few fewer for the lazy reopening's delay.
    let reopened = r.value("clients.grpc.reconnects").unwrap();
    assert!((reopened - CONNS * 3.6).abs() <= 150.0, "{reopened}");
    // The balancer binds a connection at each reopening and at the first
    // opening, except where the two are one: a connection whose first
    // lifetime ran out before its first use (within the first C/λ = 2 s,
    // 2000 × ½ × 2 s / 600 s ≈ 3.3 of them on average) reopens at once.
    let bound = r.value("components.lb.connections_opened").unwrap();
    let merged = reopened + CONNS - bound;
    assert!((0.0..=15.0).contains(&merged), "{bound} vs {reopened} + {CONNS}");
}

#[test]
fn layer_7_spreads_the_load_at_once_within_poisson_noise() {
    let (_, outs) = run_yaml(&scenario(7, "random", CONNS as u32, "36m", true), 7, 1);
    let cv = series(&outs[0], "api.load_cv");
    let n = RATE * DT;
    let mut ratios = Vec::new();
    for (end, v) in cv {
        let m = if end <= T { 4.0 } else { 8.0 };
        // N·CV² ~ χ²(m − 1): above 37 once in 10⁵ for 7 degrees of freedom.
        assert!(v <= (37.0 / n).sqrt(), "CV {v} at {end} s with {m} replicas");
        ratios.push(v * v * n / (m - 1.0));
    }
    // Its mean over the 71 intervals is 1 (E[CV²] = (m − 1)/N) within
    // about 4 standard deviations of a mean of χ²(k)/k's (sd √(2/k)/√71).
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    assert!((mean - 1.0).abs() <= 0.3, "mean N·CV²/(m − 1) = {mean}");
}

#[test]
fn layer_4_random_leaves_the_multinomial_spread_of_connections() {
    // Eight replicas throughout, 500 connections bound at random: per
    // replica multinomial(500, 1/8), E[CV²] = 7/500 (request noise, 7/N
    // with N = 30000, is 2% of it). Measured over 20 minutes after the
    // first lifetime, in 4 replications: about 2 independent draws per
    // lifetime each, so CV²·C/7 averages a χ²(7·8)/56, within [0.55, 1.6]
    // at 99.9%: the RMS within [0.74, 1.27]; checked against [0.6, 1.4].
    let c = 500.0;
    let (_, outs) = run_yaml(&scenario(4, "random", c as u32, "30m", false), 3, 4);
    let mut sq = Vec::new();
    for o in &outs {
        for (end, v) in series(o, "api.load_cv") {
            if end - DT >= L {
                sq.push(v * v);
            }
        }
    }
    let rms = (sq.iter().sum::<f64>() / sq.len() as f64).sqrt();
    let want = (7.0 / c + 7.0 / (RATE * DT)).sqrt();
    assert!(
        (0.6..=1.4).contains(&(rms / want)),
        "RMS CV {rms}, √((m − 1)/C + (m − 1)/N) = {want}"
    );
}

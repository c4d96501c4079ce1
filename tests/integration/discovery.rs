//! Client-side service discovery through a registry: after an instance
//! crashes, callers keep sending it their share of the requests until the
//! registry has expired it and their next refresh has fetched the view
//! without it.
//!
//! The stale window (derivation in `src/model/registry.rs`): the instance
//! crashing at c last heartbeated U·h earlier (U uniform on [0, 1): its
//! heartbeat phase is uniform and independent of c), so the registry lists
//! it until c − U·h + ttl; the caller's first refresh after that comes
//! V·r later (V uniform: the refresh phase is uniform and independent).
//! Window W = ttl − U·h + V·r, so E[W] = ttl − h/2 + r/2 and W lies in
//! (ttl − h, ttl + r]. Assumptions: ttl > h (a live instance never expires),
//! no network delay, the caller's view holds all n instances, so round
//! robin sends the dead one rate/n of the requests while it is listed:
//! E[failures] = rate/n × (ttl − h/2 + r/2). Eureka's defaults (h = 30 s,
//! ttl = 90 s, r = 30 s) give 90 s.

use archsim::stats::student_t_quantile;

use crate::common::{per_rep, run_yaml};

/// Mean and half-width of the 99.9% Student-t interval.
fn interval(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, student_t_quantile(0.9995, n - 1.0) * (var / n).sqrt())
}

const RATE: f64 = 400.0;
const N: f64 = 4.0;
const H: f64 = 10.0;
const TTL: f64 = 30.0;
const R: f64 = 20.0;

fn scenario() -> String {
    "name: sd\nduration: 7m\nwarmup: 60s\n\
     clients:\n  app:\n    arrival: { poisson: 400/s }\n    target: api\n\
     \x20   discovery: { registry: reg, refresh: 20s }\n\
     components:\n  reg: { kind: registry, ttl: 30s }\n\
     \x20 api: { kind: service, replicas: 4, cores: 4, service_time: { constant: 1ms }, discovery: { registry: reg, heartbeat: 10s } }\n\
     faults:\n  - { at: 300500ms, crash: \"api[0]\" }\n"
        .to_string()
}

#[test]
fn a_crashed_instance_fails_its_share_until_the_registry_and_the_view_forget_it() {
    let (_, outs) = run_yaml(&scenario(), 11, 20);
    let failed = per_rep(&outs, "requests.failed");
    let share = RATE / N;
    // Each run: the window lies in (ttl − h, ttl + r], give or take the
    // Poisson noise of the count (4 standard deviations).
    for &f in &failed {
        let (lo, hi) = (share * (TTL - H), share * (TTL + R));
        assert!(
            f >= lo - 4.0 * lo.sqrt() && f <= hi + 4.0 * hi.sqrt(),
            "{f} failures outside rate/n × (ttl − h, ttl + r] = ({lo}, {hi}]"
        );
    }
    // Over the seeds: the mean against rate/n × (ttl − h/2 + r/2).
    let want = share * (TTL - H / 2.0 + R / 2.0);
    let (mean, half) = interval(&failed);
    assert!(
        (mean - want).abs() <= half,
        "mean failures {mean} ± {half}, rate/n × (ttl − h/2 + r/2) = {want}"
    );
    // Nobody ever found the view empty; the registry saw the heartbeats.
    assert_eq!(per_rep(&outs, "clients.app.no_instance"), vec![0.0; 20]);
    // Heartbeats in the 6 measured minutes: 4 replicas every 10 s until
    // the crash at 300.5 s, 3 after: 4 × 24 + 3 × 12 = 132, give or take
    // one per replica at the edges.
    for hb in per_rep(&outs, "components.reg.heartbeats") {
        assert!((hb - 132.0).abs() <= 4.0, "{hb} heartbeats");
    }
}

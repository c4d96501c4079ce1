//! Liveness, readiness and startup probes, and the hang fault (issue 25,
//! item 2), against the Kubernetes probe semantics ("Configure Liveness,
//! Readiness and Startup Probes", Kubernetes documentation).
//!
//! The kubelet probes replica i every `period` on its own ticker, starting
//! at i × period ÷ replicas; a probe to a hung replica fails `timeout`
//! later; `failure_threshold` failures in a row act. So a hang at h on
//! replica i is detected (the restart decided) at
//!   next tick after h + (failure_threshold − 1) × period + timeout,
//! and the replica serves again `restart_time` + `startup_time` later. For
//! a hang at a uniformly random phase of the probe grid, the wait for the
//! next tick averages period ÷ 2, so the mean detection time is
//!   D = (failure_threshold − ½) × period + timeout,
//! and a replica alternating Exp(MTBF) up times with D + R down times
//! (R = restart_time + startup_time) is up a share MTBF ÷ (MTBF + D + R)
//! of the time (an alternating renewal process: the long-run share of a
//! phase is its mean length over the mean cycle length).

use archsim::stats::student_t_quantile;

use crate::common::{per_rep, run_yaml};

/// Mean and 99.9% Student-t half-width of per-replication values.
fn ci999(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, student_t_quantile(0.9995, n - 1.0) * (var / n).sqrt())
}

/// First tick of replica `i` of `n` at or after `t` (seconds), on the grid
/// i × period ÷ n + k × period.
fn next_tick(t: f64, i: u32, n: u32, period: f64) -> f64 {
    let phase = f64::from(i) * period / f64::from(n);
    phase + ((t - phase) / period).ceil() * period
}

/// Two replicas behind a round-robin balancer, 100 requests/s.
fn two_replicas(extra: &str, probes: &str, faults: &str, duration: &str) -> String {
    format!(
        "name: probes
seed: 7
duration: {duration}
warmup: 0s
clients:
  users: {{ arrival: {{ poisson: 100/s }}, target: lb, timeout: 2s }}
components:
  lb: {{ kind: load_balancer, algorithm: round_robin, backends: api }}
  api:
    kind: service
    replicas: 2
    cores: 2
    queue_capacity: 50
    service_time: {{ exponential: 5ms }}
{extra}    probes:
{probes}
faults:
{faults}
"
    )
}

#[test]
fn a_hung_replica_is_restarted_at_the_next_probe_plus_threshold_periods_plus_timeout() {
    let (period, timeout, f, restart, startup) = (10.0, 1.0, 3u32, 2.0, 5.0);
    let hang = 61.0;
    let yaml = two_replicas(
        "    restart_time: 2s\n    startup_time: 5s\n",
        "      liveness: { period: 10s, timeout: 1s, failure_threshold: 3 }",
        "  - { at: 61s, hang: \"api[1]\" }",
        "5m",
    );
    let (_, outs) = run_yaml(&yaml, 7, 1);
    let m = &outs[0].metrics;
    // Replica 1 of 2 ticks at 5 s, 15 s, …: 65 s is the first after the hang.
    let decided = next_tick(hang, 1, 2, period) + f64::from(f - 1) * period + timeout;
    assert_eq!(decided, 86.0);
    let back = decided + restart + startup;
    assert_eq!(m["components.api.probes.hangs"], 1.0);
    assert_eq!(m["components.api.probes.restarts"], 1.0);
    assert_eq!(m["components.api.probes.liveness_failures"], f64::from(f));
    assert!(
        (m["components.api.probes.detection_mean_s"] - (decided - hang)).abs() < 1e-9,
        "detection {} s, expected {} s",
        m["components.api.probes.detection_mean_s"],
        decided - hang
    );
    // Out of rotation from the decision until it answers again.
    assert!((m["components.api.probes.out_of_rotation_s"] - (back - decided)).abs() < 1e-9);
    // Not serving from the hang until it answers again: replica-time lost.
    let lost = (1.0 - m["components.api.replica_availability"]) * 2.0 * 300.0;
    assert!(
        (lost - (back - hang)).abs() < 1e-6,
        "lost {lost} s, expected {}",
        back - hang
    );
}

#[test]
fn without_liveness_a_hung_replica_stays_hung_and_its_requests_time_out() {
    let yaml = two_replicas(
        "",
        "      readiness: { period: 10s }",
        "  - { at: 61s, hang: \"api[1]\" }",
        "3m",
    )
    .replace("    probes:\n      readiness: { period: 10s }\n", "");
    let (_, outs) = run_yaml(&yaml, 7, 1);
    let m = &outs[0].metrics;
    // Hung from 61 s to the end: half of the requests after it are lost
    // (held until its 2 cores and 50 queue places fill, then rejected at
    // once), none answered: the held ones time out at their callers.
    let lost = (1.0 - m["components.api.replica_availability"]) * 2.0 * 180.0;
    assert!((lost - (180.0 - 61.0)).abs() < 1e-6, "lost {lost}");
    let failed = m["requests.failed"] + m["requests.timed_out"] + m["requests.rejected"];
    let expect = 100.0 * (180.0 - 61.0) / 2.0;
    assert!(
        (failed - expect).abs() < 5.0 * expect.sqrt() + 60.0,
        "failed or timed out {failed}, expected about {expect}"
    );
}

#[test]
fn availability_with_random_hangs_matches_mtbf_over_mtbf_plus_detection_plus_restart() {
    let (period, timeout, f) = (10.0, 1.0, 3.0);
    let (mtbf, restart, startup) = (600.0, 1.0, 2.0);
    // Uniform hang phase: the next probe is period/2 away on average.
    let d = (f - 0.5) * period + timeout;
    let r = restart + startup;
    let expect = mtbf / (mtbf + d + r);
    let yaml = "name: random-hangs
duration: 10h
warmup: 10m
clients:
  users: { arrival: { poisson: 5/s }, target: api, timeout: 2s }
components:
  api:
    kind: service
    replicas: 10
    queue_capacity: 20
    service_time: { exponential: 5ms }
    restart_time: 1s
    startup_time: 2s
    probes:
      liveness: { period: 10s, timeout: 1s, failure_threshold: 3 }
faults:
  - { random: api, mtbf: 10m, effect: hang }
";
    let (_, outs) = run_yaml(yaml, 11, 8);
    let (a, ha) = ci999(&per_rep(&outs, "components.api.replica_availability"));
    assert!(
        (a - expect).abs() <= ha + 1e-3,
        "replica availability {a:.5} ± {ha:.5}, formula {expect:.5}"
    );
    let (det, hd) = ci999(&per_rep(&outs, "components.api.probes.detection_mean_s"));
    assert!(
        (det - d).abs() <= hd + 0.05,
        "mean detection {det:.3} ± {hd:.3} s, formula {d} s"
    );
    // Every hang is restarted: restarts and hangs differ by the hangs still
    // open at the end or begun before the warm-up (at most one per replica).
    for o in &outs {
        let (h, rs) = (
            o.metrics["components.api.probes.hangs"],
            o.metrics["components.api.probes.restarts"],
        );
        assert!((h - rs).abs() <= 10.0, "hangs {h}, restarts {rs}");
        // Cycles per replica: window / (MTBF + D + R), Poisson-like.
        let cycles = 10.0 * (10.0 * 3600.0 - 600.0) / (mtbf + d + r);
        assert!(
            (h - cycles).abs() < 5.0 * cycles.sqrt(),
            "hangs {h}, expected {cycles:.0}"
        );
    }
}

/// A slow-starting service (startup_time 60 s) behind liveness alone.
fn slow_start(probes: &str) -> String {
    two_replicas(
        "    restart_time: 5s\n    startup_time: 60s\n",
        probes,
        "  - { at: 61s, hang: \"api[1]\" }",
        "10m",
    )
}

#[test]
fn a_slow_starting_service_is_killed_in_a_loop_without_a_startup_probe() {
    let (period, timeout, f, restart, delay) = (10.0, 1.0, 3u32, 5.0, 0.0);
    let yaml = slow_start("      liveness: { period: 10s, timeout: 1s, failure_threshold: 3 }");
    let (_, outs) = run_yaml(&yaml, 7, 1);
    let m = &outs[0].metrics;
    // The hang is found at the usual time; the restarted container then
    // fails every probe (nothing listens for 60 s) and is killed at its
    // failure_threshold-th probe, the first being the first tick at least
    // restart_time + initial_delay after the kill: a cycle of
    // C = first tick ≥ (restart_time + initial_delay) + (failure_threshold − 1) × period.
    let first = next_tick(61.0, 1, 2, period) + f64::from(f - 1) * period + timeout;
    let mut kills = vec![first];
    let mut t = first;
    loop {
        let next = next_tick(t + restart + delay, 1, 2, period) + f64::from(f - 1) * period;
        if next > 600.0 {
            break;
        }
        kills.push(next);
        t = next;
    }
    // From the second kill on, the cycle is ⌈(5 + 0) / 10⌉ × 10 + 2 × 10 = 30 s.
    assert_eq!(kills[2] - kills[1], 30.0);
    assert_eq!(kills.len(), 18);
    assert_eq!(m["components.api.probes.restarts"], kills.len() as f64);
    // It never serves again after the hang.
    let lost = (1.0 - m["components.api.replica_availability"]) * 2.0 * 600.0;
    assert!((lost - (600.0 - 61.0)).abs() < 1e-6, "lost {lost}");
}

#[test]
fn a_startup_probe_longer_than_the_startup_time_ends_the_loop() {
    let yaml = slow_start(
        "      liveness: { period: 10s, timeout: 1s, failure_threshold: 3 }\n      \
         startup: { period: 10s, failure_threshold: 10 }",
    );
    let (_, outs) = run_yaml(&yaml, 7, 1);
    let m = &outs[0].metrics;
    // failure_threshold × period = 100 s > 5 s + 60 s: one restart (the hang's).
    assert_eq!(m["components.api.probes.restarts"], 1.0);
    // Detected at 86 s; answers again at 86 + 5 + 60 = 151 s.
    let lost = (1.0 - m["components.api.replica_availability"]) * 2.0 * 600.0;
    assert!((lost - (151.0 - 61.0)).abs() < 1e-6, "lost {lost}");
}

#[test]
fn readiness_takes_a_failing_replica_out_of_rotation_and_brings_it_back() {
    let (period, timeout, f, ok) = (5.0, 1.0, 2u32, 2u32);
    let yaml = two_replicas(
        "",
        "      readiness: { period: 5s, timeout: 1s, failure_threshold: 2, success_threshold: 2 }",
        "  - { at: 61s, hang: \"api[1]\", for: 60s }",
        "5m",
    );
    let (_, outs) = run_yaml(&yaml, 7, 1);
    let m = &outs[0].metrics;
    // Replica 1 ticks at 2.5 s + 5 s k: out at the next tick after 61 s +
    // (f − 1) periods + timeout, back at the success_threshold-th tick
    // after the hang ends at 121 s.
    let out = next_tick(61.0, 1, 2, period) + f64::from(f - 1) * period + timeout;
    let back = next_tick(121.0, 1, 2, period) + f64::from(ok - 1) * period;
    assert_eq!((out, back), (68.5, 127.5));
    assert!(
        (m["components.api.probes.readiness_out_s"] - (back - out)).abs() < 1e-9,
        "readiness_out_s {}",
        m["components.api.probes.readiness_out_s"]
    );
    assert_eq!(m["components.api.probes.restarts"], 0.0);
    // No request is sent to it while it is out: round robin gives it half
    // of the arrivals of the 300 − 59 s it is in rotation.
    let expect = 100.0 * (300.0 - (back - out)) / 2.0;
    let got = m["components.api[1].requests"];
    assert!(
        (got - expect).abs() < 5.0 * expect.sqrt(),
        "api[1] got {got} requests, expected {expect} (15000 if it stayed in rotation)"
    );
}

/// scenarios/liveness-restarts.yaml: replica 0 (probed at 0, 10, 20 s …)
/// hangs at 125 s; a quarter of 200/s goes to it until the restart; its
/// 2 cores and 100 queue places hold 102 requests (they time out), the
/// rest are rejected. Rejections = 50/s × detection − 102, detection =
/// 5 s + (failure_threshold − 1) × 10 s + 1 s.
#[test]
fn the_bundled_scenario_loses_a_quarter_of_the_traffic_for_the_detection_time() {
    for f in [1u32, 3, 10] {
        let set = format!("components.api.probes.liveness.failure_threshold={f}");
        let (_, outs) = crate::common::run_bundled("liveness-restarts.yaml", &[&set], 1);
        let m = &outs[0].metrics;
        let d = next_tick(125.0, 0, 4, 10.0) - 125.0 + f64::from(f - 1) * 10.0 + 1.0;
        assert_eq!(m["components.api.probes.detection_mean_s"], d);
        assert_eq!(m["components.api.probes.restarts"], 1.0);
        assert_eq!(m["requests.timed_out"], 102.0);
        let expect = 50.0 * d - 102.0;
        let got = m["requests.rejected"];
        // Round robin sends every fourth request: the count is a Poisson
        // count of the 200/s arrivals over d, divided by 4.
        assert!(
            (got - expect).abs() < 5.0 * (50.0 * d / 4.0).sqrt() + 4.0,
            "threshold {f}: rejected {got}, expected about {expect}"
        );
    }
    // The slow-start pitfall and its fix.
    let slow = "components.api.startup_time=60s";
    let (_, outs) = crate::common::run_bundled("liveness-restarts.yaml", &[slow], 1);
    let m = &outs[0].metrics;
    // Killed at 151 s, then every 30 s (first probe ≥ 2 s after the kill,
    // then two more periods) up to the end at 300 s.
    assert_eq!(m["components.api.probes.restarts"], 6.0);
    let fix = "components.api.probes.startup.failure_threshold=10";
    let (_, outs) = crate::common::run_bundled("liveness-restarts.yaml", &[slow, fix], 1);
    let m = &outs[0].metrics;
    assert_eq!(m["components.api.probes.restarts"], 1.0);
    // Lost replica-time: 125 s → 151 + 2 + 60 = 213 s, of 4 × 270 s.
    let lost = (1.0 - m["components.api.replica_availability"]) * 4.0 * 270.0;
    assert!((lost - 88.0).abs() < 1e-6, "lost {lost}");
}

//! Faults: crashes (scheduled and random), slowdowns, what a crash loses,
//! and availability against reliability theory.
//!
//! Availability of a repairable instance with exponential up and down times
//! is MTBF/(MTBF + MTTR); n independent instances are "some instance up"
//! with probability 1 − (1 − A)^n (Trivedi 2002, §8.1 and §5.3). The tests
//! compare the time-averaged `components.<s>.availability` (and, by PASTA,
//! the request-level `availability` of a single instance) with those values
//! inside a 95% Student-t interval over independent replications; the
//! property test throws random, overlapping fault schedules at a system
//! with every kind of component and checks that every run finishes and
//! every offered request gets exactly one outcome.

use archsim::stats::student_t_quantile;
use archsim::theory;

use crate::common::{per_rep, run_yaml};

/// Mean and 95% Student-t half-width.
fn ci95(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, student_t_quantile(0.975, n - 1.0) * (var / n).sqrt())
}

fn assert_in_ci(what: &str, xs: &[f64], theory: f64) {
    let (m, h) = ci95(xs);
    println!("{what}: {m:.5} ± {h:.5} (theory {theory:.5})");
    assert!(
        (m - theory).abs() <= h,
        "{what}: theory {theory:.5} outside {m:.5} ± {h:.5}"
    );
}

fn random_crashes(replicas: u32, rate: &str, duration: &str) -> String {
    format!(
        "
name: avail
duration: {duration}
warmup: 0s
clients:
  users:
    arrival: {{ poisson: {rate} }}
    target: lb
components:
  lb: {{ kind: load_balancer, algorithm: round_robin, backends: api }}
  api:
    kind: service
    replicas: {replicas}
    cores: 8
    service_time: {{ exponential: 1ms }}
faults:
  - {{ random: api, mtbf: 10m, mttr: 2m }}
"
    )
}

#[test]
fn single_instance_availability_is_mtbf_over_mtbf_plus_mttr() {
    let a = theory::availability(600.0, 120.0);
    let (_, outs) = run_yaml(&random_crashes(1, "2/s", "20h"), 1, 12);
    assert_in_ci(
        "instance up-time fraction",
        &per_rep(&outs, "components.api.availability"),
        a,
    );
    // Arrivals see time averages (PASTA): requests succeed with the same probability.
    assert_in_ci("request availability", &per_rep(&outs, "availability"), a);
    let crashes = per_rep(&outs, "components.api.crashes");
    // 20 h / (10 m + 2 m) = 100 cycles expected per run.
    assert_in_ci("crashes per run", &crashes, 20.0 * 3600.0 / 720.0);
}

#[test]
fn some_replica_up_is_one_minus_all_down() {
    let a = theory::availability(600.0, 120.0);
    let (_, outs) = run_yaml(&random_crashes(3, "1/s", "40h"), 2, 12);
    assert_in_ci(
        "some replica up",
        &per_rep(&outs, "components.api.availability"),
        theory::parallel_availability(a, 3),
    );
    assert_in_ci(
        "mean replica up",
        &per_rep(&outs, "components.api.replica_availability"),
        a,
    );
    // Without health checks the round-robin balancer keeps sending a third of
    // the requests to each replica, down or not: requests see A, not 1 − (1 − A)^3.
    assert_in_ci("request availability", &per_rep(&outs, "availability"), a);
}

#[test]
fn a_crash_fails_what_the_replica_holds_and_refuses_until_it_recovers() {
    // One replica, 1 s of work per request, 20 requests/s on 64 cores: about
    // 20 requests in service at any time. A crash at 30 s for 10 s fails those
    // at once and refuses the ~200 arriving while down.
    let yaml = "
name: crash
duration: 60s
clients:
  users:
    arrival: { constant: 20/s }
    target: api
components:
  api:
    kind: service
    cores: 64
    service_time: 1s
faults:
  - { at: 30s, crash: api, for: 10s }
";
    let (r, _) = run_yaml(yaml, 1, 1);
    let failed = r.value("requests.failed").unwrap();
    let offered = r.value("requests.offered").unwrap();
    println!("offered {offered}, failed {failed}");
    // 20 in service + 200 refused (constant arrivals: exact up to the edges).
    assert!((failed - 220.0).abs() <= 2.0, "failed {failed}");
    assert_eq!(r.value("components.api.crashes"), Some(1.0));
    let down = r.value("availability.downtime_s").unwrap();
    assert!((down - 220.0 / 20.0).abs() < 0.2, "equivalent downtime {down}");
    assert!(r.value("availability.nines").unwrap() < 1.0);
}

#[test]
fn slow_fault_multiplies_service_time_for_its_window() {
    let yaml = "
name: slow
duration: 100s
clients:
  users:
    arrival: { poisson: 50/s }
    target: api
components:
  api:
    kind: service
    cores: 100
    service_time: 10ms
faults:
  - { at: 50s, slow: api, factor: 5, for: 50s }
";
    let (r, _) = run_yaml(yaml, 3, 1);
    // Half the requests take 10 ms, half 50 ms (no queueing with 100 cores).
    let mean = r.value("latency.mean_ms").unwrap();
    println!("mean latency {mean:.2} ms (expected 30)");
    assert!((mean - 30.0).abs() < 1.0);
}

#[test]
fn a_crashed_write_back_node_loses_its_unflushed_writes() {
    let yaml = |policy: &str| {
        format!(
            "
name: wb-crash
duration: 60s
clients:
  users:
    arrival: {{ poisson: 200/s }}
    target: cache
    requests: {{ read: 0.5, write: 0.5 }}
    keys: {{ uniform: 1000 }}
components:
  cache: {{ kind: cache, capacity: 2000, write_policy: {policy}, flush_interval: 10s, backend: db, nodes: 2 }}
  db: {{ kind: database, read_time: 1ms }}
faults:
  - {{ at: 35s, crash: \"cache.node[1]\", for: 5s }}
"
        )
    };
    let (wb, _) = run_yaml(&yaml("write_back"), 4, 1);
    let lost = wb.value("data.lost_writes").unwrap();
    // The crash comes 5 s after a flush: node 1 holds about 5 s × 100 writes/s
    // ÷ 2 nodes = 250 writes, fewer distinct keys (coalesced): 1 − e^(−250/500) of
    // its 500 keys ≈ 197.
    println!("write_back lost writes {lost}");
    assert!((150.0..=250.0).contains(&lost), "lost {lost}");
    assert_eq!(wb.value("components.cache.lost_writes"), Some(lost));
    let (wt, _) = run_yaml(&yaml("write_through"), 4, 1);
    assert_eq!(wt.value("data.lost_writes"), Some(0.0));
    assert!(wt.value("requests.failed").unwrap() > 0.0);
}

/// A tiny deterministic generator for the property test's schedules.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn random_overlapping_fault_schedules_never_panic_or_lose_a_request() {
    let targets = [
        "api",
        "api[0]",
        "api[2]",
        "auth",
        "cache",
        "cache.node[0]",
        "cache.node[1]",
    ];
    let mut g = Lcg(0x5eed);
    for case in 0..40 {
        let mut faults = String::new();
        for _ in 0..(1 + g.below(8)) {
            let at = g.below(20_000);
            let dur = match g.below(3) {
                0 => String::new(),
                _ => format!(", for: {}ms", 1 + g.below(8000)),
            };
            match g.below(3) {
                0 => faults.push_str(&format!(
                    "  - {{ at: {at}ms, slow: {}, factor: {}{dur} }}\n",
                    ["api", "auth"][g.below(2) as usize],
                    1 + g.below(20)
                )),
                _ => faults.push_str(&format!(
                    "  - {{ at: {at}ms, crash: \"{}\"{dur} }}\n",
                    targets[g.below(targets.len() as u64) as usize]
                )),
            }
        }
        if g.below(2) == 0 {
            faults.push_str(&format!(
                "  - {{ random: api, mtbf: {}ms, mttr: {}ms }}\n",
                1 + g.below(3000),
                1 + g.below(3000)
            ));
        }
        let yaml = format!(
            "
name: chaos
duration: 20s
warmup: 1s
clients:
  users:
    arrival: {{ poisson: 300/s }}
    target: lb
    timeout: {}ms
    requests: {{ read: 0.7, write: 0.3 }}
    keys: {{ zipf: {{ n: 500, s: 1 }} }}
components:
  lb: {{ kind: load_balancer, algorithm: least_connections, backends: api }}
  api:
    kind: service
    replicas: 3
    cores: 2
    service_time: {{ exponential: 2ms }}
    discipline: {}
    max_concurrency: 50
    calls: [ auth, {{ target: cache, timeout: 30ms }} ]
  auth: {{ kind: service, cores: 4, service_time: {{ exponential: 1ms }}, queue_capacity: 20 }}
  cache: {{ kind: cache, capacity: 100, nodes: 2, write_policy: write_back, flush_interval: 500ms, read_policy: read_through, backend: db }}
  db: {{ kind: database, shards: 2, replicas: 1, reads: any, read_time: {{ exponential: 1ms }} }}
faults:
{faults}",
            50 + g.below(500),
            ["fifo", "processor_sharing"][g.below(2) as usize]
        );
        let (r, _) = run_yaml(&yaml, case, 1);
        let v = |k: &str| r.value(k).unwrap_or(0.0);
        let outcomes = v("requests.completed")
            + v("requests.failed")
            + v("requests.rejected")
            + v("requests.timed_out")
            + v("requests.in_flight");
        assert_eq!(
            outcomes,
            v("requests.offered"),
            "case {case}: every offered request has one outcome\n{yaml}"
        );
        assert!(v("availability") <= 1.0);
    }
}

#[test]
fn health_checks_route_around_a_dead_replica_after_the_detection_window() {
    // Three replicas; replica 0 crashes at 20 s for good. Probes every 1 s
    // with a 500 ms timeout, down after 2 misses: the second missed probe
    // times out 1.5–2.5 s after the crash (depending on whether the probe
    // at 20 s went out just before or just after it). Until then a third of
    // the requests (round robin) fail.
    let yaml = |hc: &str| {
        format!(
            "
name: hc
duration: 60s
clients:
  users:
    arrival: {{ constant: 300/s }}
    target: lb
components:
  lb: {{ kind: load_balancer, algorithm: round_robin, backends: api{hc} }}
  api: {{ kind: service, replicas: 3, cores: 8, service_time: 1ms }}
faults:
  - {{ at: 20s, crash: \"api[0]\" }}
"
        )
    };
    let (with, _) = run_yaml(
        &yaml(", health_check: { interval: 1s, timeout: 500ms, unhealthy_after: 2 }"),
        1,
        1,
    );
    let failed = with.value("requests.failed").unwrap();
    // 100 requests/s reach replica 0; detection takes 1.5–2.5 s.
    println!("with health checks: {failed} failed");
    assert!((150.0..=250.0).contains(&failed), "failed {failed}");
    assert_eq!(with.value("components.lb.marked_down"), Some(1.0));
    let (without, _) = run_yaml(&yaml(""), 1, 1);
    // Without: a third of everything after the crash fails (40 s × 100/s).
    let failed = without.value("requests.failed").unwrap();
    println!("without: {failed} failed");
    assert!((failed - 4000.0).abs() <= 2.0, "failed {failed}");
}

//! Determinism (SPEC §4): same scenario and seed give the same trajectory
//! and a byte-identical report.json apart from wall-clock values, whatever
//! the thread count; components draw from their own streams; an unstable
//! system ends in bounded memory and is reported.

use std::process::Command;

use crate::common::{bin, run_yaml};

const TWO_TIER: &str = "
name: det
seed: 11
duration: 2m
warmup: 10s
clients:
  web:
    arrival: { poisson: 150/s }
    target: lb
    requests: { read: 0.8, write: 0.2 }
    keys: { zipf: { n: 1000, s: 0.9 } }
    identities: 100
components:
  lb: { kind: load_balancer, algorithm: power_of_two, backends: api }
  api:
    kind: service
    replicas: 3
    cores: 2
    service_time: { read: { exponential: 8ms }, write: { lognormal: { mean: 20ms, cv: 1.5 } } }
    calls: [ { target: db, on: write }, { parallel: [a, { target: b, probability: 0.5 }] } ]
  db: { kind: service, cores: 4, service_time: { exponential: 5ms } }
  a: { kind: service, cores: 4, service_time: { exponential: 2ms } }
  b: { kind: service, cores: 4, service_time: { erlang: { k: 3, mean: 3ms } } }
network:
  latency: { exponential: 200us }
";

#[test]
fn same_seed_same_fingerprint_and_metrics() {
    let (r1, _) = run_yaml(TWO_TIER, 11, 1);
    let (r2, _) = run_yaml(TWO_TIER, 11, 1);
    assert_eq!(r1.value("sim.fingerprint"), r2.value("sim.fingerprint"));
    assert_eq!(r1.to_json_without_wall_clock(), r2.to_json_without_wall_clock());
    let (r3, _) = run_yaml(TWO_TIER, 12, 1);
    assert_ne!(r1.value("sim.fingerprint"), r3.value("sim.fingerprint"));
}

fn run_binary(dir: &std::path::Path, threads: &str, scenario: &std::path::Path) -> String {
    let status = Command::new(bin())
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--replications",
            "4",
            "--quiet",
            "--out",
        ])
        .arg(dir)
        .env("RAYON_NUM_THREADS", threads)
        .status()
        .expect("archsim runs");
    assert!(status.success());
    std::fs::read_to_string(dir.join("report.json")).expect("report.json written")
}

#[test]
fn report_json_is_byte_identical_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("det.yaml");
    std::fs::write(&scenario, TWO_TIER).unwrap();
    let a = run_binary(&tmp.path().join("a"), "1", &scenario);
    let b = run_binary(&tmp.path().join("b"), "2", &scenario);
    let c = run_binary(&tmp.path().join("c"), "2", &scenario);
    assert_eq!(
        crate::common::without_wall_clock(&a),
        crate::common::without_wall_clock(&b)
    );
    assert_eq!(
        crate::common::without_wall_clock(&b),
        crate::common::without_wall_clock(&c)
    );
    assert!(a.contains("\"replications\": 4"));
    // The intervals are there (4 replications).
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert!(v["metrics"]["latency.p99_ms"]["ci95"].as_f64().unwrap() > 0.0);
}

#[test]
fn an_unrelated_component_does_not_change_another_ones_draws() {
    let base = "
name: iso
seed: 5
duration: 1m
clients:
  c: { arrival: { poisson: 60/s }, target: api }
components:
  api: { kind: service, service_time: { exponential: 10ms } }
";
    let extended = format!(
        "{base}  batch: {{ kind: service, cores: 2, service_time: {{ exponential: 30ms }} }}\n  \
         zfront: {{ kind: load_balancer, algorithm: random, backends: batch }}\n"
    )
    .replace(
        "clients:\n",
        "clients:\n  other: { arrival: { poisson: 40/s }, target: zfront }\n",
    );
    let (a, _) = run_yaml(base, 5, 1);
    let (b, _) = run_yaml(&extended, 5, 1);
    for m in [
        "clients.c.latency.mean_ms",
        "clients.c.latency.p99_ms",
        "clients.c.requests.completed",
        "components.api.wait.mean_ms",
        "components.api.utilization",
    ] {
        assert_eq!(
            a.value(m),
            b.value(m),
            "{m} changed when an unrelated client and components were added"
        );
    }
    assert_ne!(a.value("sim.fingerprint"), b.value("sim.fingerprint"));
    assert!(b.value("clients.other.requests.completed").unwrap() > 1000.0);
}

#[test]
fn overload_stops_in_bounded_memory_and_names_the_bottleneck() {
    let yaml = "
name: overload
seed: 1
duration: 1h
clients:
  c: { arrival: { poisson: 300/s }, target: api }
components:
  front: { kind: service, cores: 8, service_time: { exponential: 1ms } }
  api: { kind: service, service_time: { exponential: 10ms } }
";
    // 300/s offered to a server of capacity 100/s: the queue grows by ~200
    // per second, so a 20,000 in-flight limit is reached after ~100 s of
    // simulated time instead of the system growing for an hour.
    let (_, cfg) = archsim::scenario::load_str(
        "overload.yaml",
        yaml,
        std::path::Path::new("."),
        &[],
        &archsim::scenario::BuildOptions {
            max_in_flight: Some(20_000),
            ..Default::default()
        },
    )
    .unwrap();
    let (report, outs) = archsim::run::run_replications(&cfg, 1, 1);
    assert_eq!(report.value("sim.unstable"), Some(1.0));
    assert!(outs[0].peak_requests <= 20_001, "peak {}", outs[0].peak_requests);
    let note = &report.notes[0];
    assert!(note.starts_with("UNSTABLE"), "{note}");
    assert!(note.contains("`api`"), "the bottleneck is named: {note}");
    let stopped_at = outs[0].rows.len();
    assert!((80..=130).contains(&stopped_at), "stopped after {stopped_at} s");
}

#[test]
fn slow_growth_is_flagged_unstable_without_hitting_the_limit() {
    // ρ = 1.1: the queue grows ~10/s; over 10 minutes it reaches thousands,
    // well below the default in-flight limit, and the halves test catches it.
    let yaml = "
name: creep
seed: 3
duration: 10m
warmup: 30s
clients:
  c: { arrival: { poisson: 110/s }, target: api }
components:
  api: { kind: service, service_time: { exponential: 10ms } }
";
    let (report, _) = run_yaml(yaml, 3, 1);
    assert_eq!(report.value("sim.unstable"), Some(1.0));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("UNSTABLE") && n.contains("api"))
    );
    // A stable system at ρ = 0.7 is not flagged.
    let (ok, _) = run_yaml(&yaml.replace("110/s", "70/s"), 3, 1);
    assert_eq!(ok.value("sim.unstable"), Some(0.0));
    assert!(ok.notes.is_empty(), "{:?}", ok.notes);
}

#[test]
fn every_offered_request_gets_an_outcome_and_availability_is_successful_over_offered() {
    // Rejections (bounded queue), timeouts, and a downstream call that fails
    // when its queue is full: after the drain nothing is left in flight.
    let yaml = "
name: outcomes
seed: 8
duration: 2m
warmup: 10s
clients:
  c: { arrival: { poisson: 180/s }, target: api, timeout: 150ms }
components:
  api: { kind: service, cores: 2, service_time: { exponential: 10ms }, queue_capacity: 20, calls: [db] }
  db: { kind: service, cores: 1, service_time: { exponential: 4ms }, queue_capacity: 5 }
";
    let (r, _) = run_yaml(yaml, 8, 1);
    let v = |k: &str| r.value(k).unwrap();
    let offered = v("requests.offered");
    let outcomes =
        v("requests.completed") + v("requests.failed") + v("requests.rejected") + v("requests.timed_out");
    assert_eq!(v("requests.in_flight"), 0.0);
    assert_eq!(
        offered, outcomes,
        "every offered request is completed, failed, rejected or timed out"
    );
    assert!(
        v("requests.rejected") > 0.0 && v("requests.failed") > 0.0,
        "the scenario exercises failures"
    );
    assert!((v("availability") - v("requests.completed") / offered).abs() < 1e-12);
    assert!(v("availability") < 0.99);
}

#[test]
fn one_overloaded_replica_is_flagged_even_when_the_pool_is_not_busy() {
    // Round robin over replicas of speeds 1, 1, 1, 0.25: the slow one gets a
    // quarter of 150/s = 37.5/s but serves 25/s.
    let yaml = "
name: slow-replica
seed: 2
duration: 10m
warmup: 30s
clients:
  c: { arrival: { poisson: 150/s }, target: lb }
components:
  lb: { kind: load_balancer, algorithm: round_robin, backends: api }
  api: { kind: service, replicas: 4, speed: [1, 1, 1, 0.25], service_time: { exponential: 10ms } }
";
    let (r, _) = run_yaml(yaml, 2, 1);
    assert_eq!(r.value("sim.unstable"), Some(1.0));
    assert!(
        r.notes.iter().any(|n| n.starts_with("UNSTABLE: replica api[3]")),
        "{:?}",
        r.notes
    );
    assert!(r.value("components.api.utilization").unwrap() < 0.8);
    assert!(
        r.value("availability").unwrap() < 0.95,
        "requests stuck behind the slow replica count"
    );
    let (ok, _) = run_yaml(&yaml.replace("round_robin", "least_connections"), 2, 1);
    assert_eq!(ok.value("sim.unstable"), Some(0.0), "{:?}", ok.notes);
}

#[test]
fn the_data_tier_is_byte_identical_whatever_the_thread_count() {
    // Caches (LFU, write-back, cache-aside), a CDN edge, a quorum database
    // and a resharded primary/follower one: every data-tier path at once.
    let yaml = "
name: data-det
seed: 9
duration: 20s
warmup: 2s
clients:
  users:
    arrival: { poisson: 400/s }
    target: api
    requests: { read: 0.7, write: 0.3 }
    keys: { zipf: { n: 2000, s: 1.0 } }
    static: { fraction: 0.2, target: edge, keys: { uniform: 300 } }
components:
  api:
    kind: service
    replicas: 2
    service_time: { exponential: 1ms }
    calls: [ aside, { target: wb, on: write } ]
  aside: { kind: cache, capacity: 100, eviction: lfu, ttl: 2s, read_policy: cache_aside, write_policy: invalidate, backend: db, nodes: 2 }
  wb: { kind: cache, capacity: 50, eviction: random, write_policy: write_back, flush_interval: 200ms, backend: rr }
  rr: { kind: database, shards: 3, replicas: 2, reads: any, read_time: { exponential: 1ms }, replication_lag: { exponential: 5ms } }
  edge: { kind: cdn, capacity: 20, origin: api, origin_latency: 10ms }
  db: { kind: database, shards: 2, partitioning: { consistent_hash: { vnodes: 8 } }, replication: { quorum: { n: 3, w: 2, r: 1 } }, read_time: { exponential: 1ms } }
events:
  - { at: 10s, add_shard: db }
network:
  latency: { exponential: 200us }
";
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("data.yaml");
    std::fs::write(&scenario, yaml).unwrap();
    let a = run_binary(&tmp.path().join("a"), "1", &scenario);
    let b = run_binary(&tmp.path().join("b"), "2", &scenario);
    assert_eq!(
        crate::common::without_wall_clock(&a),
        crate::common::without_wall_clock(&b)
    );
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    // The run exercised what it claims to: stale reads (r + w = n), misses,
    // write-back flushes and a reshard.
    assert!(v["metrics"]["consistency.stale_reads"]["value"].as_f64().unwrap() > 0.0);
    assert!(
        v["metrics"]["components.wb.backend_writes"]["value"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        v["metrics"]["components.edge.hit_ratio"]["value"]
            .as_f64()
            .unwrap()
            > 0.03
    );
    assert!(
        v["metrics"]["components.db.keys_moved"]["value"]
            .as_f64()
            .unwrap()
            > 0.1
    );
}

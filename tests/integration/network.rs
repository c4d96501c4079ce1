//! The network: latency between regions, injected latency on a link, and
//! partitions between component groups (messages across are dropped, so
//! callers time out).

use crate::common::run_yaml;

fn yaml(client_region: &str, faults: &str) -> String {
    format!(
        "
name: net
duration: 40s
warmup: 0s
network:
  regions: [us, eu]
  between: [ {{ regions: [us, eu], latency: 40ms }} ]
clients:
  users:
    region: {client_region}
    arrival: {{ poisson: 200/s }}
    target: api
    timeout: 500ms
components:
  api:
    kind: service
    region: us
    cores: 8
    service_time: {{ constant: 2ms }}
    calls: [ backend ]
  backend:
    kind: service
    region: us
    cores: 8
    service_time: {{ constant: 1ms }}
faults:
{faults}
"
    )
}

#[test]
fn a_request_across_regions_pays_the_one_way_latency_twice() {
    let (near, _) = run_yaml(&yaml("us", "  []"), 1, 1);
    let (far, _) = run_yaml(&yaml("eu", "  []"), 1, 1);
    let n = near.value("latency.mean_ms").unwrap();
    let f = far.value("latency.mean_ms").unwrap();
    // 8 cores at 200/s × 3 ms: no queueing, so latency is exactly 3 ms
    // near and 3 + 2 × 40 ms far.
    assert!((n - 3.0).abs() < 0.01, "near {n}");
    assert!((f - 83.0).abs() < 0.01, "far {f}");
}

#[test]
fn injected_latency_applies_to_the_named_link_for_its_window() {
    let faults = "  - { at: 10s, latency: { between: [api, backend], add: 20ms }, for: 20s }";
    let (r, _) = run_yaml(&yaml("us", faults), 1, 1);
    let m = r.value("latency.mean_ms").unwrap();
    // Half the run pays 2 × 20 ms more on the api → backend hop.
    assert!((m - (3.0 + 0.5 * 40.0)).abs() < 0.5, "mean {m}");
}

#[test]
fn a_partition_drops_messages_so_callers_time_out() {
    let faults = "  - { at: 10s, partition: [[api], [backend]], for: 10s }";
    let (r, _) = run_yaml(&yaml("us", faults), 1, 1);
    let v = |k: &str| r.value(k).unwrap_or(0.0);
    // The api replica cannot reach its backend for 10 s of 40: those
    // requests fail once the api's call gives up… which it never does
    // without a timeout, so the client's 500 ms timeout ends them.
    let a = v("availability");
    assert!((a - 0.75).abs() < 0.01, "availability {a}");
    let lost = v("requests.timed_out") + v("requests.failed");
    assert!((lost / (200.0 * 10.0) - 1.0).abs() < 0.06, "lost {lost}");
}

#[test]
fn a_region_outage_cuts_off_every_component_in_it() {
    let faults = "  - { at: 20s, outage: { region: us }, for: 10s }";
    let (r, _) = run_yaml(&yaml("eu", faults), 1, 1);
    let a = r.value("availability").unwrap();
    assert!((a - 0.75).abs() < 0.01, "availability {a}");
    assert_eq!(r.value("components.api.crashes"), Some(1.0));
}

#[test]
fn a_follower_in_another_region_lags_by_the_trip_there_too() {
    // Primary in us, follower in eu, 40 ms apart; replication_lag 10 ms:
    // the follower applies a write 50 ms after the primary committed it.
    let yaml = "name: x\nduration: 60s\nwarmup: 0s\n\
        network:\n  regions: [us, eu]\n  between: [ { regions: [us, eu], latency: 40ms } ]\n\
        clients:\n  app:\n    arrival: { poisson: 100/s }\n    region: us\n    target: db\n    requests: { read: 0.5, write: 0.5 }\n    keys: { uniform: 1000 }\n\
        components:\n  db:\n    kind: database\n    replicas: 1\n    placement: [us, eu]\n    replication: async\n    replication_lag: { constant: 10ms }\n    read_time: { constant: 1ms }\n";
    let (r, _) = crate::common::run_yaml(yaml, 1, 1);
    let lag = r.value("components.db.replication_lag.mean_ms").unwrap();
    assert!((lag - 50.0).abs() < 0.5, "{lag}");
}

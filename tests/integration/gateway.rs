//! The API gateway: routing by operation and token-bucket rate limits.

use crate::common::run_yaml;

fn gw(arrival: &str, limit: &str, extra_clients: &str) -> String {
    format!(
        "name: g\nduration: 200s\nwarmup: 0s\nclients:\n  users:\n    arrival: {arrival}\n    target: edge\n{extra_clients}\
         components:\n  edge:\n    kind: gateway\n    target: api\n    rate_limit: {limit}\n\
         \x20 api:\n    kind: service\n    cores: 64\n    service_time: {{ constant: 1ms }}\n"
    )
}

#[test]
fn under_overload_the_admitted_rate_converges_to_the_refill_rate() {
    let (r, _) = run_yaml(&gw("{ poisson: 500/s }", "{ rate: 100/s, burst: 50 }", ""), 1, 1);
    // At most burst + rate·T = 50 + 100·200 pass; under a 5× overload
    // the bucket is almost always empty, so nearly that many do.
    let admitted = r.value("components.edge.throughput_rps").unwrap() * 200.0;
    assert!(admitted <= 50.0 + 100.0 * 200.0 + 1.0, "{admitted}");
    assert!(admitted >= 100.0 * 200.0 - 5.0, "{admitted}");
    let offered = r.value("requests.offered").unwrap();
    assert_eq!(
        r.value("requests.rejected").unwrap(),
        offered - r.value("requests.completed").unwrap()
    );
    assert_eq!(
        r.value("components.edge.rate_limited"),
        r.value("requests.rejected")
    );
    let ratio = r.value("components.edge.limited_ratio").unwrap();
    assert!((ratio - 0.8).abs() < 0.01, "{ratio}");
}

#[test]
fn a_full_bucket_lets_a_burst_of_burst_through_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("burst.txt");
    // 30 requests at the same instant after 5 quiet seconds.
    std::fs::write(&trace, "5s\n".repeat(30)).unwrap();
    let yaml = gw(
        &format!("{{ trace: {} }}", trace.display()),
        "{ rate: 1/s, burst: 20 }",
        "",
    );
    let (r, _) = run_yaml(&yaml, 1, 1);
    assert_eq!(r.value("requests.completed"), Some(20.0));
    assert_eq!(r.value("requests.rejected"), Some(10.0));
}

#[test]
fn per_identity_buckets_protect_light_users_from_a_heavy_one() {
    let heavy = "  heavy:\n    arrival: { poisson: 400/s }\n    target: edge\n";
    let light = "{ poisson: 50/s }\n    identities: 100";
    let (global, _) = run_yaml(&gw(light, "{ rate: 200/s }", heavy), 2, 1);
    let (per, _) = run_yaml(&gw(light, "{ rate: 5/s, burst: 10, per: identity }", heavy), 2, 1);
    // One shared bucket: everyone gets 200/450 of their requests through.
    let share = 200.0 / 450.0;
    for c in ["users", "heavy"] {
        let a = global.value(&format!("clients.{c}.availability")).unwrap();
        assert!((a - share).abs() < 0.03, "{c}: {a}");
    }
    // A bucket each: a light user sends 0.5/s and is never limited; the
    // heavy one gets its 5/s.
    assert_eq!(per.value("clients.users.availability"), Some(1.0));
    let heavy_ok = per.value("clients.heavy.availability").unwrap();
    assert!((heavy_ok - 5.0 / 400.0).abs() < 0.002, "{heavy_ok}");
}

#[test]
fn routes_send_each_operation_to_its_service() {
    let yaml = "name: g\nduration: 100s\nwarmup: 0s\nclients:\n  users:\n    arrival: { poisson: 100/s }\n    target: edge\n    requests: { read: 0.75, write: 0.25 }\n\
        components:\n  edge:\n    kind: gateway\n    routes: { read: reader, write: writer }\n    service_time: { constant: 2ms }\n\
        \x20 reader: { kind: service, cores: 8, service_time: { constant: 1ms } }\n\
        \x20 writer: { kind: service, cores: 8, service_time: { constant: 1ms } }\n";
    let (r, _) = run_yaml(yaml, 3, 1);
    let reads = r.value("components.reader.throughput_rps").unwrap();
    let writes = r.value("components.writer.throughput_rps").unwrap();
    assert!((reads / (reads + writes) - 0.75).abs() < 0.02);
    // The gateway's own 2 ms adds to every request's 1 ms.
    assert!((r.value("latency.mean_ms").unwrap() - 3.0).abs() < 1e-6);
    assert!(r.value("components.edge.rate_limited").is_none());
}

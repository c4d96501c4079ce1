//! Robustness of the run loop: a clock that stops (a zero-time loop) is
//! reported instead of spinning forever, and timers of finished requests do
//! not pile up in the future-event set.

use std::time::{Duration, Instant};

use archsim::model::{RunOutput, World};

/// Wall-clock bound on a run that must be stopped as a zero-time loop: the
/// threshold (16.8 million events) runs in about a second on one core; the
/// margin is for a busy machine.
const STUCK_BOUND: Duration = Duration::from_secs(60);

fn world(yaml: &str) -> World {
    World::new(&crate::common::load_cfg(yaml), 1)
}

/// Run and time one replication.
fn timed(w: World) -> (RunOutput, Duration) {
    let start = Instant::now();
    let out = w.run();
    (out, start.elapsed())
}

/// The zero-time-loop message of a run that must have one, within the bound.
fn stuck(yaml: &str) -> String {
    let (out, took) = timed(world(yaml));
    assert!(took < STUCK_BOUND, "took {took:?}");
    let msg = out
        .livelock
        .unwrap_or_else(|| panic!("no livelock reported: {:?}", out.notes));
    println!("{msg}");
    assert!(msg.contains("t = 0s"), "{msg}");
    // At least the threshold's events ran at that instant.
    assert!(out.events >= archsim::model::LIVELOCK_EVENTS, "{}", out.events);
    assert_eq!(out.metrics.get("sim.unstable"), Some(&1.0));
    msg
}

/// A closed loop with no think time against `target`, for `duration`.
fn closed(duration: &str, client_extra: &str, components: &str) -> String {
    format!(
        "name: z\nduration: {duration}\nwarmup: 0s\nclients:\n  web:\n    arrival: {{ closed: {{ users: 10, think_time: 0s }} }}\n    target: api\n{client_extra}\
         components:\n{components}"
    )
}

#[test]
fn a_closed_loop_against_a_crashed_replica_is_stopped_and_named() {
    // Every request fails at once (the only replica is down) and the user
    // sends again at the same instant: even 1 µs of simulated time never ends.
    let yaml = closed(
        "1us",
        "",
        "  api: { kind: service, service_time: { constant: 1ms } }\nfaults:\n  - { at: 0s, crash: \"api[0]\" }\n",
    );
    let msg = stuck(&yaml);
    assert!(msg.contains("`web` ("), "{msg}");
    assert!(msg.contains("`api` ("), "{msg}");
    assert!(msg.contains("give it a think_time above zero"), "{msg}");
    // The client and the service take every event of the loop between them:
    // per turn the client's arrival and the failed answer, the request at
    // the service.
    assert!(msg.contains("`web` (67%), `api` (33%)"), "{msg}");
}

#[test]
fn a_closed_loop_against_a_zero_service_time_is_stopped_and_named() {
    let yaml = closed(
        "10s",
        "",
        "  lb: { kind: load_balancer, algorithm: round_robin, backends: api }\n  api: { kind: service, replicas: 2, service_time: { constant: 0s } }\n",
    );
    let yaml = yaml.replace("target: api", "target: lb");
    let msg = stuck(&yaml);
    for name in ["`web` (", "`lb` (", "`api` ("] {
        assert!(msg.contains(name), "{name} missing: {msg}");
    }
    assert!(msg.contains("Service `api` has a service time of 0s"), "{msg}");
    assert!(
        msg.contains("Closed-loop client `web` has a think_time of 0s"),
        "{msg}"
    );
}

#[test]
fn zero_backoff_retries_in_a_closed_loop_are_stopped_and_named() {
    let yaml = closed(
        "10s",
        "    retry: { max: 3, backoff: { constant: 0s }, jitter: none }\n",
        "  api: { kind: service, service_time: { constant: 1ms } }\nfaults:\n  - { at: 0s, crash: \"api[0]\" }\n",
    );
    let msg = stuck(&yaml);
    assert!(msg.contains("`web` (") && msg.contains("`api` ("), "{msg}");
    assert!(msg.contains("Client `web` retries with a backoff of 0s"), "{msg}");
}

#[test]
fn zero_backoff_retries_of_a_call_edge_are_named_on_the_service() {
    // Not stuck at t = 0 here: the loop starts when the dependency crashes.
    let yaml = "name: z\nduration: 10s\nwarmup: 0s\nclients:\n  web:\n    arrival: { closed: { users: 5, think_time: 0s } }\n    target: api\n\
        components:\n  api:\n    kind: service\n    service_time: { constant: 0s }\n    calls: [ { target: db, retry: { max: 4, backoff: { constant: 0s }, jitter: none } } ]\n\
        \x20 db: { kind: service, service_time: { constant: 1ms } }\nfaults:\n  - { at: 2s, crash: \"db[0]\" }\n";
    let (out, took) = timed(world(yaml));
    assert!(took < STUCK_BOUND, "took {took:?}");
    let msg = out.livelock.expect("livelock");
    println!("{msg}");
    assert!(msg.contains("t = 2s"), "{msg}");
    assert!(msg.contains("`api` (") && msg.contains("`db` ("), "{msg}");
    assert!(
        msg.contains("Service `api` retries a call with a backoff of 0s"),
        "{msg}"
    );
    // It ran normally until then: about 2 s of 1 ms requests, one at a time
    // per user on one core.
    let completed = out.metrics["requests.completed"];
    assert!((1_990.0..=2_000.0).contains(&completed), "{completed}");
}

#[test]
fn a_concurrency_limit_rejecting_at_once_is_stopped() {
    // One slot for ten users who never think: nine are refused at once,
    // again and again, while the first is served.
    let yaml = closed(
        "10s",
        "",
        "  api: { kind: service, max_concurrency: 1, service_time: { constant: 1s } }\n",
    );
    let msg = stuck(&yaml);
    assert!(msg.contains("`web` (") && msg.contains("`api` ("), "{msg}");
}

#[test]
fn a_large_burst_at_one_instant_is_not_a_livelock() {
    // 100,000 users all start at t = 0 and pass a gateway and a balancer
    // with no time of their own (four events each at t = 0, more as they
    // come back) before a service that takes 10 ms: a legitimate burst.
    let yaml = "name: b\nduration: 100ms\nwarmup: 0s\nclients:\n  web:\n    arrival: { closed: { users: 100000, think_time: 0s } }\n    target: edge\n\
        components:\n  edge: { kind: gateway, target: lb }\n  lb: { kind: load_balancer, algorithm: round_robin, backends: api }\n\
        \x20 api: { kind: service, replicas: 10, cores: 10000, service_time: { constant: 10ms } }\n";
    let (out, _) = timed(world(yaml));
    assert_eq!(out.livelock, None);
    assert_eq!(out.metrics["sim.unstable"], 0.0);
    // Every user sends at 0, 10, …, 100 ms and each request is served.
    assert_eq!(out.metrics["requests.offered"], 100_000.0 * 11.0);
    assert_eq!(out.metrics["requests.completed"], 100_000.0 * 11.0);
}

#[test]
fn a_burst_that_outlasts_a_low_threshold_is_checked_and_not_stopped() {
    // 20,000 users (80,000 events at t = 0, 160,000 at each 10 ms as they
    // come back and send again) against a threshold of 65,536: the loop
    // suspects a zero-time loop and counts the next events, but the clock
    // moves before the count of 262,144 is done. The suspicion changes
    // nothing: the same trajectory as with the default threshold.
    let yaml = "name: b\nduration: 100ms\nwarmup: 0s\nclients:\n  web:\n    arrival: { closed: { users: 20000, think_time: 0s } }\n    target: edge\n\
        components:\n  edge: { kind: gateway, target: lb }\n  lb: { kind: load_balancer, algorithm: round_robin, backends: api }\n\
        \x20 api: { kind: service, replicas: 10, cores: 10000, service_time: { constant: 10ms } }\n";
    let plain = world(yaml).run();
    let mut w = world(yaml);
    w.set_livelock_threshold(1 << 16);
    let checked = w.run();
    assert_eq!(checked.livelock, None);
    assert_eq!(checked.fingerprint, plain.fingerprint);
    assert_eq!(checked.events, plain.events);
    assert_eq!(checked.metrics["requests.completed"], 20_000.0 * 11.0);
    // With the threshold that low, a real loop is caught after about
    // 65,536 + 262,144 events.
    let mut w = world(&closed(
        "1s",
        "",
        "  api: { kind: service, service_time: { constant: 0s } }\n",
    ));
    w.set_livelock_threshold(1 << 16);
    let out = w.run();
    assert!(out.livelock.is_some());
    assert_eq!(out.events, (1 << 16) + (1 << 18));
}

#[test]
fn finished_requests_leave_no_timers_behind() {
    // 200,000 requests/s for 5 s, each with a 60 s client timeout and a
    // 60 s timeout on the service's call to the database, answered in
    // about 1.1 ms: about 220 requests in flight, but 1,000,000 client
    // timers and as many call timers were set, and none fires in the run.
    // Kept until they fire, they held 2 million events (2^21 slots); only
    // those of requests in flight are kept now.
    let yaml = "name: t\nduration: 5s\nwarmup: 0s\nclients:\n  web:\n    arrival: { poisson: 200000/s }\n    target: api\n    timeout: 60s\n\
        components:\n  api:\n    kind: service\n    cores: 1000\n    service_time: { exponential: 1ms }\n    calls: [ { target: db, timeout: 60s } ]\n\
        \x20 db: { kind: service, cores: 1000, service_time: { constant: 100us } }\n";
    let out = world(yaml).run();
    let offered = out.metrics["requests.offered"];
    assert!((offered - 1_000_000.0).abs() < 5_000.0, "{offered}");
    assert_eq!(out.metrics["requests.timed_out"], 0.0);
    println!(
        "event slots {} for {} request records at peak; {} timers set",
        out.event_slots,
        out.peak_requests,
        2.0 * offered
    );
    // The heap is rebuilt when it has doubled past 65,536 events, and 65,536
    // events (about 13,000 requests' worth of timers) pass between checks.
    assert!(out.event_slots <= 1 << 18, "{} slots", out.event_slots);
    assert!(out.peak_requests < 2_000, "{}", out.peak_requests);
    // Same numbers without any timeout: the timers changed nothing else.
    let no_timeout = world(
        &yaml
            .replace("    timeout: 60s\n", "")
            .replace(", timeout: 60s", ""),
    )
    .run();
    for (k, v) in &no_timeout.metrics {
        if !k.starts_with("sim.") {
            assert_eq!(out.metrics.get(k), Some(v), "{k}");
        }
    }
}

#[test]
fn a_clock_that_crawls_is_stopped_and_named() {
    // 10,000 users with a 1 ns think time against a crashed replica: every
    // request fails at once and is sent again a nanosecond later, so the
    // clock moves, but 10,000 requests a nanosecond is 1e13 a simulated
    // second: 1 ms of simulated time would be 3e10 events. Caught when the
    // threshold's events cover less than CRAWL_NS.
    let yaml = "name: z\nduration: 1ms\nwarmup: 0s\nclients:\n  web:\n    arrival: { closed: { users: 10000, think_time: 1ns } }\n    target: api\n\
        components:\n  api: { kind: service, service_time: { constant: 1ms } }\nfaults:\n  - { at: 0s, crash: \"api[0]\" }\n";
    let (out, took) = timed(world(yaml));
    assert!(took < STUCK_BOUND, "took {took:?}");
    let msg = out
        .livelock
        .unwrap_or_else(|| panic!("no crawl reported: {:?}", out.notes));
    println!("{msg}");
    assert!(msg.starts_with("simulated time crawls: "), "{msg}");
    assert!(msg.contains("`web` (") && msg.contains("`api` ("), "{msg}");
    assert!(msg.contains("events per simulated second"), "{msg}");
    assert_eq!(out.metrics["sim.unstable"], 1.0);
    // Stopped within the first microsecond (the threshold and the census).
    assert!(
        out.metrics["requests.offered"] < 2.0e7,
        "{}",
        out.metrics["requests.offered"]
    );
}

#[test]
fn a_fast_but_legitimate_client_does_not_crawl() {
    // 1e8 requests a second into a service of a million cores with a 0 s
    // service time: about 3e8 events a simulated second (30 million in
    // this run), far below the crawl pace (16.8 million events in under
    // 1 µs).
    let yaml = "name: f\nduration: 100ms\nwarmup: 0s\nclients:\n  web:\n    arrival: { poisson: 1e8/s }\n    target: api\n\
        components:\n  api: { kind: service, cores: 1000000, service_time: { constant: 0s } }\n";
    let out = world(yaml).run();
    assert_eq!(out.livelock, None);
    let offered = out.metrics["requests.offered"];
    // Poisson: 1e7 ± 3,162 (the mean interarrival of 10 ns is rounded to
    // whole nanoseconds, a bias of under 0.1%).
    assert!((offered - 1.0e7).abs() < 1.0e7 * 0.002, "{offered}");
}

//! Autoscaling through whole runs: the HPA converges to the load, new
//! replicas wait out their startup time, scale-down waits for the
//! stabilisation window, removed replicas drain, schedules are followed,
//! and cost counts the instances that ran.

use crate::common::{run_yaml, series};

/// 100/s, then `high`/s from 5 min to `until`, then 100/s again; each
/// replica a single core of 10 ms (100/s); HPA on cpu at 60 %.
fn step(high: u32, until: &str, startup: &str) -> String {
    format!(
        "name: a\nduration: 40m\nwarmup: 0s\nclients:\n  users:\n    arrival: {{ schedule: [ {{ at: 0s, rate: 100/s }}, {{ at: 5m, rate: {high}/s }}, {{ at: {until}, rate: 100/s }} ] }}\n    target: lb\n\
         components:\n  lb: {{ kind: load_balancer, algorithm: least_connections, backends: api }}\n\
         \x20 api: {{ kind: service, replicas: 2, cores: 1, service_time: {{ exponential: 10ms }}, startup_time: {startup}, price_per_hour: 0.5 }}\n\
         \x20 hpa: {{ kind: autoscaler, target: api, min: 2, max: 40, policy: {{ target_tracking: {{ metric: cpu, target: 0.6 }} }} }}\n"
    )
}

#[test]
fn a_step_in_load_converges_to_the_load_over_capacity_times_target() {
    let (r, outs) = run_yaml(&step(600, "40m", "30s"), 1, 1);
    // ceil(600/s ÷ (100/s × 0.6)) = 10; the tolerance band (|1 − u/0.6| ≤
    // 0.1) also holds 11 (6/11 = 0.545 busy is within 10% of 0.6).
    let reps = series(&outs[0], "api.replicas");
    let late: Vec<f64> = reps.iter().filter(|(t, _)| *t > 1500.0).map(|p| p.1).collect();
    assert!(late.iter().all(|&n| (10.0..=11.0).contains(&n)), "{late:?}");
    let util = series(&outs[0], "api.utilization");
    let u: Vec<f64> = util.iter().filter(|(t, _)| *t > 1500.0).map(|p| p.1).collect();
    let mean = u.iter().sum::<f64>() / u.len() as f64;
    assert!((mean - 0.6).abs() <= 0.06, "utilization {mean}");
    assert!(r.value("components.hpa.scale_events").unwrap() >= 3.0);
    assert_eq!(r.value("requests.failed"), Some(0.0));
}

#[test]
fn new_replicas_serve_only_after_their_startup_time() {
    let (_, outs) = run_yaml(&step(600, "40m", "2m"), 1, 1);
    let reps = series(&outs[0], "api.replicas");
    // Load steps up at 300 s; the first sync to see it is at 315 s; with a
    // 2-minute startup nothing new serves before 435 s.
    let first = reps.iter().find(|(_, n)| *n > 2.0).unwrap().0;
    assert!(first >= 435.0, "first new replica at {first} s");
    assert!(first <= 455.0, "first new replica at {first} s");
}

#[test]
fn scale_down_waits_for_the_stabilisation_window_and_drains() {
    // 600/s from 5 to 15 min, then back to 100/s.
    let (r, outs) = run_yaml(&step(600, "15m", "10s"), 2, 1);
    let reps = series(&outs[0], "api.replicas");
    let at = |s: f64| reps.iter().find(|(t, _)| *t >= s).unwrap().1;
    let high = at(890.0);
    assert!(high >= 10.0, "{high}");
    // The highest recommendation of the last 300 s holds the count…
    assert_eq!(at(1150.0), high, "held through the window");
    // …then it falls to the minimum 2 (100/s needs ceil(1/0.6) = 2).
    assert_eq!(at(1500.0), 2.0);
    // Removed replicas finished what they held: nothing failed.
    assert_eq!(r.value("requests.failed"), Some(0.0));
    assert_eq!(r.value("requests.timed_out"), Some(0.0));
}

#[test]
fn a_schedule_is_followed_and_cost_counts_instance_hours() {
    let yaml = "name: a\nduration: 1h\nwarmup: 0s\nclients:\n  users: { arrival: { poisson: 50/s }, target: api }\n\
        components:\n  api: { kind: service, replicas: 2, service_time: { exponential: 10ms }, price_per_hour: 1.0 }\n\
        \x20 plan:\n    kind: autoscaler\n    target: api\n    min: 1\n    max: 10\n    policy: { schedule: [ { at: 15m, replicas: 6 }, { at: 45m, replicas: 3 } ] }\n";
    let (r, outs) = run_yaml(yaml, 1, 1);
    let reps = series(&outs[0], "api.replicas");
    let at = |s: f64| reps.iter().find(|(t, _)| *t >= s).unwrap().1;
    assert_eq!(at(600.0), 2.0);
    assert_eq!(at(1800.0), 6.0);
    assert_eq!(at(3000.0), 3.0);
    // 2 × 15 min + 6 × 30 min + 3 × 15 min = 4.25 instance-hours (the
    // syncs fall on the 15 s grid, so the changes are exact).
    let ih = r.value("cost.instance_hours").unwrap();
    assert!((ih - 4.25).abs() < 0.01, "{ih}");
    assert!((r.value("cost.total").unwrap() - ih).abs() < 1e-9);
    assert_eq!(r.value("components.plan.scale_events"), Some(2.0));
}

#[test]
fn queue_depth_scales_the_consumer_with_the_backlog() {
    // 100 messages/s for a consumer of 10/s per replica; target 20 waiting
    // per replica: the consumer grows until the backlog drains, then the
    // depth settles and the replicas cover the arrival rate.
    let yaml = "name: a\nduration: 30m\nwarmup: 0s\nclients:\n  p: { arrival: { poisson: 100/s }, target: jobs }\n\
        components:\n  jobs: { kind: queue, consumer: worker, concurrency: 1 }\n\
        \x20 worker: { kind: service, replicas: 1, cores: 1, service_time: { constant: 100ms }, queue_capacity: 10 }\n\
        \x20 hpa: { kind: autoscaler, target: worker, min: 1, max: 40, policy: { target_tracking: { metric: queue_depth, target: 20 } } }\n";
    let (r, outs) = run_yaml(yaml, 1, 1);
    let reps = series(&outs[0], "worker.replicas");
    let last = reps.last().unwrap().1;
    assert!(last >= 10.0, "replicas at the end {last}");
    assert!(r.value("components.jobs.lost_messages") == Some(0.0));
}

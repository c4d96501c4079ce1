//! Message queues: the queue is the waiting room of its consumer (M/M/c),
//! overload builds a backlog that drains at the spare capacity, capacity
//! blocks like M/M/1/K, a broker crash loses what was not durable, and a
//! failed delivery is retried.

use archsim::model::RunOutput;
use archsim::stats::student_t_quantile;
use archsim::theory;

use crate::common::{col, per_rep, run_yaml};

/// Mean and 99.9% Student-t half-width over replications.
fn ci(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let s = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (m, student_t_quantile(0.9995, n - 1.0) * s / n.sqrt())
}

fn assert_covers(what: &str, xs: &[f64], theory: f64, tight: f64) {
    let (m, h) = ci(xs);
    println!("{what}: theory {theory:.4}, simulated {m:.4} ± {h:.4}");
    assert!(
        (m - theory).abs() <= h,
        "{what}: theory {theory:.4} outside {m:.4} ± {h:.4}"
    );
    assert!(h <= tight * theory.abs(), "{what}: interval ± {h:.4} too loose");
}

/// Producers at λ into a queue whose consumer has `c` workers of mean `s`.
fn mmc(lambda: f64, c: u32, s_ms: f64) -> String {
    format!(
        "name: q\nduration: 8h\nwarmup: 2m\nclients:\n  p: {{ arrival: {{ poisson: {lambda}/s }}, target: jobs }}\n\
         components:\n  jobs: {{ kind: queue, consumer: worker, concurrency: {c} }}\n\
         \x20 worker: {{ kind: service, cores: {c}, service_time: {{ exponential: {s_ms}ms }} }}\n"
    )
}

#[test]
fn end_to_end_time_through_a_queue_is_the_mmc_response_time() {
    for (lambda, c, s_ms) in [(8.0, 1, 100.0), (32.0, 4, 100.0)] {
        let (_, outs) = run_yaml(&mmc(lambda, c, s_ms), 7, 10);
        let q = theory::Mmc::new(lambda, 1000.0 / s_ms, c);
        let t = q.mean_response().unwrap() * 1e3;
        assert_covers(
            &format!("M/M/{c} end-to-end (ms)"),
            &per_rep(&outs, "components.jobs.end_to_end.mean_ms"),
            t,
            0.05,
        );
        // The queue holds the waiting messages: Lq = λ·Wq (Little).
        let lq = lambda * q.mean_wait().unwrap();
        assert_covers(
            &format!("M/M/{c} depth"),
            &per_rep(&outs, "components.jobs.depth_mean"),
            lq,
            0.08,
        );
        // The producer is answered at once: its latency is the enqueue only.
        for o in &outs {
            assert_eq!(o.metrics["latency.mean_ms"], 0.0);
            assert_eq!(o.metrics["components.worker.queue_length_mean"], 0.0);
        }
    }
}

#[test]
fn an_overload_builds_a_backlog_that_drains_at_the_spare_capacity() {
    // μ = 10/s; λ = 15/s for 60 s, then 5/s: the depth grows at 5/s to
    // about 300 at 60 s, then falls at 10 − 5 = 5/s, empty near 120 s.
    let yaml = "name: q\nduration: 3m\nwarmup: 0s\nseed: 3\n\
        clients:\n  p:\n    arrival: { schedule: [ { at: 0s, rate: 15/s }, { at: 60s, rate: 5/s } ] }\n    target: jobs\n\
        components:\n  jobs: { kind: queue, consumer: worker }\n\
        \x20 worker: { kind: service, service_time: { constant: 100ms } }\n";
    let (r, outs) = run_yaml(yaml, 3, 1);
    let o = &outs[0];
    let (t, d) = (col(o, "t_s"), col(o, "jobs.depth"));
    let depth_at = |s: f64| o.rows.iter().find(|row| row[t] >= s).map(|row| row[d]).unwrap();
    // Poisson arrivals: 15·60 = 900 ± 3·30 in, 600 out.
    let peak = depth_at(60.0);
    assert!((peak - 300.0).abs() < 90.0, "depth at 60 s: {peak}");
    let at90 = depth_at(90.0);
    let slope = (peak - at90) / 30.0;
    assert!((slope - 5.0).abs() < 1.5, "drain rate {slope}/s");
    assert!(depth_at(150.0) < 5.0);
    assert!(r.value("components.jobs.depth_max").unwrap() > 200.0);
}

#[test]
fn a_full_queue_rejects_like_mm1k() {
    // Capacity counts waiting messages; one more is out with the single
    // worker: M/M/1/K with K = capacity + 1.
    let (lambda, mu, cap) = (9.0, 10.0, 4u32);
    let yaml = format!(
        "name: q\nduration: 1h\nwarmup: 1m\nclients:\n  p: {{ arrival: {{ poisson: {lambda}/s }}, target: jobs }}\n\
         components:\n  jobs: {{ kind: queue, consumer: worker, capacity: {cap} }}\n\
         \x20 worker: {{ kind: service, service_time: {{ exponential: 100ms }} }}\n"
    );
    let (_, outs) = run_yaml(&yaml, 11, 10);
    let pb = theory::Mmck::new(lambda, mu, 1, cap + 1)
        .blocking_probability()
        .unwrap();
    let share: Vec<f64> = outs
        .iter()
        .map(|o| o.metrics["components.jobs.rejected"] / o.metrics["requests.offered"])
        .collect();
    assert_covers("M/M/1/5 blocking", &share, pb, 0.05);
}

fn crash(durable: bool) -> (archsim::run::Report, Vec<RunOutput>) {
    // The worker is far too slow, so about 1,000 messages wait when the
    // broker crashes at 100 s for 10 s.
    let yaml = format!(
        "name: q\nduration: 2m\nwarmup: 0s\nclients:\n  p: {{ arrival: {{ constant: 20/s }}, target: jobs }}\n\
         components:\n  jobs: {{ kind: queue, consumer: worker, durable: {durable} }}\n\
         \x20 worker: {{ kind: service, service_time: {{ constant: 100ms }} }}\n\
         faults:\n  - {{ at: 100s, crash: jobs, for: 10s }}\n"
    );
    run_yaml(&yaml, 1, 1)
}

#[test]
fn a_broker_crash_loses_the_waiting_messages_unless_durable() {
    let (lossy, _) = crash(false);
    let (durable, _) = crash(true);
    // At 100 s: 2,000 in, 1,000 processed (one in service): 999 waiting.
    let lost = lossy.value("components.jobs.lost_messages").unwrap();
    assert!((lost - 999.0).abs() <= 2.0, "lost {lost}");
    assert_eq!(lossy.value("data.lost_messages"), Some(lost));
    assert_eq!(durable.value("components.jobs.lost_messages"), Some(0.0));
    // While down the broker refuses producers: 10 s × 20/s.
    for r in [&lossy, &durable] {
        let refused = r.value("components.jobs.refused").unwrap();
        assert!((refused - 200.0).abs() <= 1.0, "refused {refused}");
    }
    // The durable queue keeps its backlog through the crash.
    assert!(
        durable.value("components.jobs.depth_mean").unwrap()
            > lossy.value("components.jobs.depth_mean").unwrap()
    );
}

#[test]
fn a_failed_delivery_is_retried_and_then_dead_lettered() {
    // Half the worker's replicas are down all run: a delivery sent to a
    // down replica fails and is redelivered (round robin moves it to the
    // next replica). With max_deliveries 1 it is dead-lettered at once.
    let base = "name: q\nduration: 10m\nwarmup: 0s\nclients:\n  p: { arrival: { poisson: 10/s }, target: jobs }\n\
        components:\n  jobs: { kind: queue, consumer: worker, concurrency: 2, max_deliveries: MAX }\n\
        \x20 worker: { kind: service, replicas: 2, service_time: { exponential: 10ms } }\n\
        faults:\n  - { at: 0s, crash: \"worker[1]\" }\n";
    let (retried, _) = run_yaml(&base.replace("MAX", "3"), 5, 1);
    let (once, _) = run_yaml(&base.replace("MAX", "1"), 5, 1);
    let offered = retried.value("requests.offered").unwrap();
    assert_eq!(retried.value("components.jobs.dead_lettered"), Some(0.0));
    let processed = retried.value("components.jobs.processed").unwrap();
    assert!((offered - processed).abs() <= 2.0);
    assert!(retried.value("components.jobs.redelivered").unwrap() > 0.2 * offered);
    // One delivery each: about half land on the dead replica.
    let dead = once.value("components.jobs.dead_lettered").unwrap() / offered;
    assert!((dead - 0.5).abs() < 0.05, "dead-lettered share {dead}");
}

#[test]
fn ack_after_processing_makes_the_producer_wait_for_the_consumer() {
    let yaml = mmc(8.0, 1, 100.0).replace("concurrency: 1 }", "concurrency: 1, ack: after_processing }");
    let (_, outs) = run_yaml(&yaml, 2, 10);
    let t = theory::Mmc::new(8.0, 10.0, 1).mean_response().unwrap() * 1e3;
    assert_covers(
        "producer latency (ms)",
        &per_rep(&outs, "latency.mean_ms"),
        t,
        0.05,
    );
}

/// A writer paying `overhead` ms per call and `per` ms per message, fed
/// through a queue with `batch`; Poisson producers at λ.
fn batched(lambda: f64, batch: &str, duration: &str) -> String {
    format!(
        "name: b\nduration: {duration}\nwarmup: 1m\nclients:\n  p: {{ arrival: {{ poisson: {lambda}/s }}, target: ingest }}\n\
         components:\n  ingest: {{ kind: queue, consumer: writer{batch} }}\n\
         \x20 writer: {{ kind: service, cores: 1, service_time: {{ constant: 1ms }}, overhead: {{ constant: 9ms }} }}\n"
    )
}

#[test]
fn overhead_is_paid_per_call_so_one_message_per_call_is_md1_with_the_sum() {
    // D = 9 + 1 ms, ρ = 0.5: P-K for constant service, T = D + ρD/(2(1 − ρ)).
    let (_, outs) = run_yaml(&batched(50.0, "", "2h"), 3, 8);
    let d = 10.0;
    let rho = 50.0 * d / 1e3;
    assert_covers(
        "M/D/1 with overhead, end to end (ms)",
        &per_rep(&outs, "components.ingest.end_to_end.mean_ms"),
        d + rho * d / (2.0 * (1.0 - rho)),
        0.03,
    );
}

#[test]
fn a_lingering_batch_carries_one_plus_lambda_w_messages_at_low_load() {
    // At 50/s with max_wait 20 ms the writer (9 + n ms a batch) is always
    // free when a batch leaves: a batch is its first message plus the
    // K ~ Poisson(m = λw) that arrive while it lingers. Per message, the
    // mean end-to-end time is E[Σ over the batch] / E[1 + K] with
    // Σ = w + Σ_others (w − u) + (1 + K)·(a + s(1 + K)):
    // (w(1 + m/2) + a(1 + m) + s(1 + 3m + m²)) / (1 + m).
    let (lambda, w, a, s) = (50.0, 20.0, 9.0, 1.0);
    let m = lambda * w / 1e3;
    let (_, outs) = run_yaml(
        &batched(lambda, ", batch: { size: 50, max_wait: 20ms }", "1h"),
        5,
        8,
    );
    assert_covers(
        "mean batch size",
        &per_rep(&outs, "components.ingest.batch_size_mean"),
        1.0 + m,
        0.02,
    );
    let t = (w * (1.0 + m / 2.0) + a * (1.0 + m) + s * (1.0 + 3.0 * m + m * m)) / (1.0 + m);
    assert_covers(
        "lingering batch end to end (ms)",
        &per_rep(&outs, "components.ingest.end_to_end.mean_ms"),
        t,
        0.02,
    );
}

#[test]
fn batching_raises_capacity_to_n_over_overhead_plus_n_and_work_adds_up() {
    // 600/s against size-10 batches: full batches, 10/(9 + 10) ms = 526/s,
    // which is less than offered: the queue grows and says so.
    let (r, outs) = run_yaml(
        &batched(600.0, ", batch: { size: 10, max_wait: 20ms }", "10m"),
        2,
        1,
    );
    let o = &outs[0];
    let window = 540.0;
    let batches = o.metrics["components.ingest.batches"];
    assert!((o.metrics["components.ingest.batch_size_mean"] - 10.0).abs() < 1e-9);
    let rate = batches * 10.0 / window;
    println!("saturated batched writer: {rate:.1} messages/s (theory 526.3)");
    assert!((rate - 10.0 / 19.0 * 1e3).abs() < 0.005 * 526.3, "{rate}");
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("UNSTABLE: queue `ingest` keeps growing")),
        "{:?}",
        r.notes
    );
    assert_eq!(r.value("sim.unstable"), Some(1.0));
    // Size 50 keeps up, with batches that grow with the load by themselves;
    // the writer's busy time is exactly overhead per batch plus work per message.
    let (r, outs) = run_yaml(
        &batched(600.0, ", batch: { size: 50, max_wait: 20ms }", "10m"),
        2,
        1,
    );
    let o = &outs[0];
    assert_eq!(r.value("sim.unstable"), Some(0.0));
    let (b, n) = (
        o.metrics["components.ingest.batches"],
        o.metrics["components.ingest.batch_size_mean"],
    );
    assert!(n > 10.0 && n < 50.0, "mean batch {n}");
    let busy = o.metrics["components.writer.utilization"] * window;
    let work = (b * 9.0 + b * n * 1.0) / 1e3;
    println!("busy {busy:.2} s, overhead + work {work:.2} s");
    assert!((busy - work).abs() < 0.005 * work, "busy {busy} vs {work}");
}

#[test]
fn a_failed_batch_puts_every_message_back() {
    let yaml = batched(200.0, ", batch: { size: 20, max_wait: 10ms }", "3m")
        + "faults:\n  - { at: 90s, crash: writer, for: 2s }\n";
    let (_, outs) = run_yaml(&yaml, 4, 1);
    let m = &outs[0].metrics;
    let get = |k: &str| m[&format!("components.ingest.{k}")];
    println!(
        "enqueued {} processed {} redelivered {} dead {}",
        get("enqueued"),
        get("processed"),
        get("redelivered"),
        get("dead_lettered")
    );
    assert!(get("redelivered") > 0.0);
    // Nothing vanishes: every message is processed, dead-lettered, or still
    // in the queue or a batch at the end.
    let left = get("enqueued") - get("processed") - get("dead_lettered");
    assert!((0.0..=50.0).contains(&left), "unaccounted {left}");
}

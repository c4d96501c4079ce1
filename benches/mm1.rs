//! End-to-end engine benchmark (issue: foundation, "Must show").
//!
//! M/M/1 at ρ = 0.9 (λ = 90/s, mean service 10 ms) through the full path —
//! scenario text → validation → engine → statistics → report JSON — for
//! 10 million requests, against a minimal hand-written binary-heap event
//! loop of the same model. Prints events and requests per second of each,
//! and the peak resident memory of runs of 10^6 and 10^7 requests (each in
//! its own process, so the high-water marks do not mix).
//!
//! `cargo bench --bench mm1` (add `-- --requests N` to change the size).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use archsim::engine::rng;
use archsim::run::run_replications;
use archsim::scenario::{BuildOptions, load_str};
use rand_distr::{Distribution, Exp1};

const LAMBDA: f64 = 90.0;
const MEAN_S: f64 = 0.010;

fn scenario(requests: u64) -> String {
    let duration_s = (requests as f64 / LAMBDA).ceil() as u64;
    format!(
        "name: mm1-bench\nseed: 1\nduration: {duration_s}s\nclients:\n  c: {{ arrival: {{ poisson: 90/s }}, target: api }}\n\
         components:\n  api: {{ kind: service, service_time: {{ exponential: 10ms }} }}\n"
    )
}

/// The full path; returns (events, requests, seconds, mean latency ms).
fn full_path(requests: u64) -> (u64, f64, f64, f64) {
    let t = Instant::now();
    let (_, cfg) = load_str(
        "bench",
        &scenario(requests),
        Path::new("."),
        &[],
        &BuildOptions::default(),
    )
    .expect("benchmark scenario loads");
    let (report, _) = run_replications(&cfg, 1, 1);
    let json = report.to_json();
    assert!(json.len() > 100);
    let secs = t.elapsed().as_secs_f64();
    (
        report.value("sim.events").unwrap_or(0.0) as u64,
        report.value("requests.completed").unwrap_or(0.0),
        secs,
        report.value("latency.mean_ms").unwrap_or(0.0),
    )
}

/// A minimal M/M/1 event loop: a binary heap of (time, seq, kind) and a
/// counter for the queue, exponential draws from the same ChaCha8 stream
/// type; returns (events, requests, seconds, mean latency ms).
fn reference(requests: u64) -> (u64, f64, f64, f64) {
    let t = Instant::now();
    let mut r = rng::stream(1, "reference");
    let mut heap: BinaryHeap<Reverse<(u64, u64, u8)>> = BinaryHeap::new();
    let mut exp = |mean_s: f64| -> u64 {
        let e: f64 = Exp1.sample(&mut r);
        (e * mean_s * 1e9 + 0.5) as u64
    };
    let mut seq = 0u64;
    let mut arrivals_in_queue: std::collections::VecDeque<u64> = std::collections::VecDeque::new();
    heap.push(Reverse((exp(1.0 / LAMBDA), 0, 0)));
    let (mut events, mut done, mut busy, mut sum_ns) = (0u64, 0u64, false, 0u128);
    while let Some(Reverse((now, _, kind))) = heap.pop() {
        events += 1;
        if kind == 0 {
            if events / 2 < requests {
                seq += 1;
                heap.push(Reverse((now + exp(1.0 / LAMBDA), seq, 0)));
            }
            arrivals_in_queue.push_back(now);
            if !busy {
                busy = true;
                seq += 1;
                heap.push(Reverse((now + exp(MEAN_S), seq, 1)));
            }
        } else {
            let born = arrivals_in_queue.pop_front().unwrap_or(now);
            sum_ns += u128::from(now - born);
            done += 1;
            if arrivals_in_queue.is_empty() {
                busy = false;
            } else {
                seq += 1;
                heap.push(Reverse((now + exp(MEAN_S), seq, 1)));
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    (
        events,
        done as f64,
        secs,
        sum_ns as f64 / done.max(1) as f64 / 1e6,
    )
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let n: u64 = args[i + 1].parse().expect("request count");
        let (ev, req, secs, _) = full_path(n);
        println!("{ev} {req} {secs} {}", peak_rss_kib());
        return;
    }
    let requests: u64 = args
        .iter()
        .position(|a| a == "--requests")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);

    let (rev, rreq, rsecs, rmean) = reference(requests);
    println!(
        "reference loop: {rev} events, {rreq:.0} requests in {rsecs:.2} s: {:.1} M events/s, {:.2} M requests/s (mean latency {rmean:.1} ms; theory 100 ms)",
        rev as f64 / rsecs / 1e6,
        rreq / rsecs / 1e6
    );
    let (fev, freq, fsecs, fmean) = full_path(requests);
    println!(
        "full path:      {fev} events, {freq:.0} requests in {fsecs:.2} s: {:.1} M events/s, {:.2} M requests/s (mean latency {fmean:.1} ms)",
        fev as f64 / fsecs / 1e6,
        freq / fsecs / 1e6
    );
    println!(
        "full path speed relative to the reference: {:.0}% by events/s, {:.0}% by requests/s",
        100.0 * (fev as f64 / fsecs) / (rev as f64 / rsecs),
        100.0 * (freq / fsecs) / (rreq / rsecs)
    );
    let exe = std::env::current_exe().expect("own path");
    for n in [requests / 10, requests] {
        let out = Command::new(&exe)
            .args(["--child", &n.to_string()])
            .output()
            .expect("child run");
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Vec<f64> = text.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if v.len() == 4 {
            println!(
                "peak memory with {n} requests: {:.1} MiB ({:.1} M events/s)",
                v[3] / 1024.0,
                v[0] / v[2] / 1e6
            );
        }
    }
}

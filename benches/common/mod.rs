//! Shared by the `mm1` and `scale` benchmarks: the full path (scenario text
//! → validation → engine → statistics → report JSON), a minimal hand-written
//! M/M/1 event loop to compare it with, and the process's peak resident
//! memory.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::path::Path;
use std::time::Instant;

use archsim::engine::rng;
use archsim::run::{Report, run_replications};
use archsim::scenario::{BuildOptions, load_str};
use rand_distr::{Distribution, Exp1};

/// Runs a scenario text through the full path, one replication of `seed`,
/// the report rendered to JSON included; returns the report and the wall
/// seconds it all took.
pub fn full_path(label: &str, text: &str, seed: u64) -> (Report, f64) {
    let t = Instant::now();
    let (_, cfg) = load_str(label, text, Path::new("."), &[], &BuildOptions::default())
        .unwrap_or_else(|e| panic!("benchmark scenario {label} loads: {e:?}\n{text}"));
    let (report, _) = run_replications(&cfg, seed, 1);
    let json = report.to_json();
    assert!(json.len() > 100);
    (report, t.elapsed().as_secs_f64())
}

/// What the reference loop did.
pub struct Reference {
    /// Events popped.
    pub events: u64,
    /// Requests completed.
    pub requests: u64,
    /// Wall seconds.
    pub secs: f64,
    /// Mean latency, ms.
    pub mean_ms: f64,
}

/// A minimal M/M/1 event loop (arrival rate `lambda` per second, mean
/// service `mean_s` seconds) for `requests` requests: a binary heap of
/// (time, seq, kind) and a counter for the queue, exponential draws from
/// the same ChaCha8 stream type the engine uses.
pub fn reference(requests: u64, lambda: f64, mean_s: f64) -> Reference {
    let t = Instant::now();
    let mut r = rng::stream(1, "reference");
    let mut heap: BinaryHeap<Reverse<(u64, u64, u8)>> = BinaryHeap::new();
    let mut exp = |mean_s: f64| -> u64 {
        let e: f64 = Exp1.sample(&mut r);
        (e * mean_s * 1e9 + 0.5) as u64
    };
    let mut seq = 0u64;
    let mut arrivals_in_queue: VecDeque<u64> = VecDeque::new();
    heap.push(Reverse((exp(1.0 / lambda), 0, 0)));
    let (mut events, mut done, mut busy, mut sum_ns) = (0u64, 0u64, false, 0u128);
    while let Some(Reverse((now, _, kind))) = heap.pop() {
        events += 1;
        if kind == 0 {
            if events / 2 < requests {
                seq += 1;
                heap.push(Reverse((now + exp(1.0 / lambda), seq, 0)));
            }
            arrivals_in_queue.push_back(now);
            if !busy {
                busy = true;
                seq += 1;
                heap.push(Reverse((now + exp(mean_s), seq, 1)));
            }
        } else {
            let born = arrivals_in_queue.pop_front().unwrap_or(now);
            sum_ns += u128::from(now - born);
            done += 1;
            if arrivals_in_queue.is_empty() {
                busy = false;
            } else {
                seq += 1;
                heap.push(Reverse((now + exp(mean_s), seq, 1)));
            }
        }
    }
    Reference {
        events,
        requests: done,
        secs: t.elapsed().as_secs_f64(),
        mean_ms: sum_ns as f64 / done.max(1) as f64 / 1e6,
    }
}

/// This process's peak resident memory (VmHWM), KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

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

mod common;

use std::process::Command;

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
    let (report, secs) = common::full_path("bench", &scenario(requests), 1);
    (
        report.value("sim.events").unwrap_or(0.0) as u64,
        report.value("requests.completed").unwrap_or(0.0),
        secs,
        report.value("latency.mean_ms").unwrap_or(0.0),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let n: u64 = args[i + 1].parse().expect("request count");
        let (ev, req, secs, _) = full_path(n);
        println!("{ev} {req} {secs} {}", common::peak_rss_kib());
        return;
    }
    let requests: u64 = args
        .iter()
        .position(|a| a == "--requests")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);

    let r = common::reference(requests, LAMBDA, MEAN_S);
    let (rev, rreq, rsecs, rmean) = (r.events, r.requests as f64, r.secs, r.mean_ms);
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

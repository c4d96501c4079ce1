//! Fuzzing through the binary (issue 17). `errors.rs` mutates scenarios in
//! process and catches panics; that cannot see a hang or a memory blow-up.
//! Here every case is a file given to the real `archsim`, as its own
//! process under a wall-clock cap and a memory cap, two at a time:
//! `archsim validate FILE`, then, when it validates, `archsim run FILE`
//! for a short simulated time. Every case must exit 0 or 2 (SPEC §1) with a
//! readable message: no panic, no abort, no hang, no control characters
//! and no flood on stderr.
//!
//! Cases are seeded mutations (xorshift, a fixed seed: the same cases on
//! every machine) of the bundled scenarios and the fuzz bases of
//! `errors.rs`: structural edits, extreme values for each field (0 and 1ns
//! periods, huge and negative numbers, 1e9/s rates), inserted blocks that
//! reach deep into the model (autoscalers, closed loops with no think time,
//! retries with no backoff, crash and random faults, health checks,
//! backups, per-identity rate limits, huge key spaces, trace and empirical
//! files that are `/dev/zero` or missing), renamed components (300
//! characters, control characters, `/`), non-UTF-8 bytes, very long lines
//! and deep nesting; some runs also get a `--set`, an `--interval`, no
//! `--out` (the run folder is then named after the scenario) or no
//! `--quiet` (the summary on stdout must hold no control character either).
//!
//! `ARCHSIM_FUZZ_CASES=N` runs more (or fewer) cases, `ARCHSIM_FUZZ_SEED=S`
//! other ones; the run stops starting cases after
//! `ARCHSIM_FUZZ_MAX_FAILURES` failures (default 60, as every hang costs
//! the whole cap). Failing cases are written to `target/tmp/fuzz-failures/`
//! (the file, and beside it a `.txt` with the commands and their stderr)
//! and named in the assertion message.
//!
//! `tests/fuzz-corpus/` keeps one small file per defect found, each run
//! through the binary by its own test below with its own expectation.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::bin;
use crate::mutation::{
    DATA_FUZZ_BASE, DATA_SET_PATHS, FUZZ_BASE, SET_PATHS, XorShift, edge_edit, edge_values, key_values,
    mutate, nasty_values,
};

/// Cases of the default run: sized for about three minutes in release mode
/// on two cores (every case validates; about half of them also run).
const DEFAULT_CASES: usize = 3000;

const DEFAULT_SEED: u64 = 0x1755_f0a2_c3e1_9d27;

/// Failing cases after which no new case starts (each hang costs the whole
/// wall-clock cap); `ARCHSIM_FUZZ_MAX_FAILURES` changes it.
const DEFAULT_MAX_FAILURES: usize = 60;

/// Processes at once (the machine has two cores).
const JOBS: usize = 2;

/// Wall-clock cap of one process; a case over it is a hang.
const WALL_CAP: Duration = Duration::from_secs(20);

/// Address-space cap of one process (`ulimit -v`, KiB): an out-of-memory
/// shows as an abort instead of swapping the machine.
const MEM_CAP_KB: u64 = 4_000_000;

/// Longest simulated time of a run.
const MAX_RUN_NS: u64 = 50_000_000;

/// Arrivals a run is sized for: a case whose file asks for a higher rate
/// runs for a shorter simulated time (rates are part of the file, so the
/// `--duration` flag alone does not bound the work).
const ARRIVAL_BUDGET: f64 = 100_000.0;

/// Shortest simulated time of a run, however high the rates.
const MIN_RUN_NS: u64 = 1_000;

/// A message longer than this is a flood (a long line echoed back).
const STDERR_FLOOD: usize = 1 << 20;

/// Bytes of stdout and stderr kept for the report of a failure.
const STDERR_KEEP: usize = 64 << 10;

// ---------------------------------------------------------------------------
// Running the binary under caps
// ---------------------------------------------------------------------------

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Code(i32),
    Signal(i32),
    /// Killed by the harness at the wall-clock cap.
    TimedOut,
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Code(c) => write!(f, "exit {c}"),
            End::Signal(s) => write!(f, "signal {s}{}", signal_name(*s)),
            End::TimedOut => write!(f, "killed at the wall-clock cap"),
        }
    }
}

fn signal_name(s: i32) -> &'static str {
    match s {
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        _ => "",
    }
}

/// What a process wrote on one stream.
#[derive(Default)]
struct Stream {
    /// The start of it.
    kept: Vec<u8>,
    len: usize,
    /// Whether it held a control character (other than tab and newline).
    control: bool,
}

impl Stream {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.kept).into_owned()
    }

    /// Reads `from` to its end on a thread of its own.
    fn drain(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<Stream> {
        std::thread::spawn(move || {
            let (mut s, mut prev, mut buf) = (Stream::default(), 0u8, [0u8; 8192]);
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 {
                    break;
                }
                for &b in &buf[..n] {
                    s.control |= is_control(prev, b);
                    prev = b;
                }
                let room = STDERR_KEEP.saturating_sub(s.kept.len());
                s.kept.extend_from_slice(&buf[..n.min(room)]);
                s.len += n;
            }
            s
        })
    }
}

/// One process run.
struct Exit {
    end: End,
    secs: f64,
    stdout: Stream,
    stderr: Stream,
}

impl Exit {
    fn stderr_text(&self) -> String {
        self.stderr.text()
    }

    /// What is wrong with this ending, or `None` for exit 0 or 2 with a
    /// readable message.
    fn fault(&self) -> Option<String> {
        let err = self.stderr_text();
        if self.end == End::TimedOut {
            return Some("hang".into());
        }
        if err.contains("panicked at") {
            return Some("panic".into());
        }
        if err.contains("has overflowed its stack") {
            return Some("stack overflow".into());
        }
        if err.contains("memory allocation of") || err.contains("out of memory") {
            return Some("out of memory".into());
        }
        match self.end {
            End::Code(0 | 2) if self.stderr.control => Some("control characters on stderr".into()),
            End::Code(0 | 2) if self.stdout.control => Some("control characters on stdout".into()),
            End::Code(0 | 2) if self.stderr.len > STDERR_FLOOD => {
                Some(format!("stderr flood ({} bytes)", self.stderr.len))
            }
            End::Code(0 | 2) => None,
            end => Some(format!("wrong ending: {end}")),
        }
    }
}

/// Whether `b` (after `prev`) is a control character a terminal would act
/// on: C0 but tab and newline, DEL, and C1 (U+0080–U+009F in UTF-8).
fn is_control(prev: u8, b: u8) -> bool {
    (b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f || (prev == 0xc2 && (0x80..=0x9f).contains(&b))
}

/// Runs `archsim ARGS` in `dir` under `ulimit -v mem_kb` and the wall-clock
/// cap `wall`, stdin closed; stdout and stderr are read as they come. A CPU
/// time limit of three times the cap also ends a process this test could
/// not kill (if the test itself is killed).
fn run_capped(dir: &Path, args: &[OsString], mem_kb: u64, wall: Duration) -> Exit {
    let started = Instant::now();
    let cpu = 3 * wall.as_secs().max(1);
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {mem_kb}; ulimit -t {cpu}; exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start sh");
    let stdout = Stream::drain(child.stdout.take().expect("stdout pipe"));
    let stderr = Stream::drain(child.stderr.take().expect("stderr pipe"));
    let mut pause = Duration::from_millis(1);
    let end = loop {
        if let Some(status) = child.try_wait().expect("wait for archsim") {
            break match (status.code(), status.signal()) {
                (Some(c), _) => End::Code(c),
                (None, Some(s)) => End::Signal(s),
                (None, None) => End::Code(-1),
            };
        }
        if started.elapsed() > wall {
            // `exec` made the shell archsim itself: this is its pid.
            let _ = child.kill();
            let _ = child.wait();
            break End::TimedOut;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    Exit {
        end,
        secs: started.elapsed().as_secs_f64(),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

// ---------------------------------------------------------------------------
// What an attacker writes
// ---------------------------------------------------------------------------

/// Files for `trace:` and `empirical:`: endless, empty, random, missing, a
/// folder, text that is not durations.
const FILES: &[&str] = &[
    "/dev/zero",
    "/dev/urandom",
    "/dev/null",
    "/dev/stdin",
    "/nonexistent/fuzz.txt",
    "/tmp",
    "/etc/passwd",
    "\"\"",
];

/// Names: 300 characters, control characters, `/`, dots, quotes, spaces,
/// non-ASCII.
fn attack_names() -> Vec<String> {
    vec![
        "a".repeat(300),
        "é".repeat(150),
        "\"a\\x07b\"".into(),
        "\"\\e[31mred\\e[0m\"".into(),
        "\"a\\rb\"".into(),
        "\"a\\nb\"".into(),
        "\"\\0\"".into(),
        "\"a\\u0085b\"".into(),
        "a/b".into(),
        "\"../up\"".into(),
        "\".hidden\"".into(),
        "\"a b\"".into(),
        "\"a\\\\b\"".into(),
        "\"con\"".into(),
    ]
}

/// Extreme values an attacker picks for a field named `key` (falling back
/// to `edge_values` for the fields not named here).
fn attack_values(key: &str) -> Vec<String> {
    const PERIODS: &[&str] = &[
        "0s",
        "1ns",
        "1us",
        "-1s",
        "-1ns",
        "0.000000001",
        "1e-12",
        "99999999999h",
        "18446744073.709551615s",
    ];
    const TIMES: &[&str] = &[
        "0s",
        "1ns",
        "{ exponential: 1ns }",
        "{ constant: 0s }",
        "{ uniform: [0s, 0s] }",
        "{ empirical: /dev/zero }",
        "{ empirical: /dev/urandom }",
        "{ empirical: /nonexistent/fuzz.txt }",
        "{ empirical: /dev/null }",
        "99999999999h",
    ];
    const RATES: &[&str] = &[
        "1e9/s",
        "1e12/s",
        "1e300/s",
        "1e9",
        "4294967296/s",
        "-5/s",
        "0/s",
        "1e-300/s",
    ];
    const COUNTS: &[&str] = &[
        "0",
        "1",
        "-1",
        "100000",
        "100001",
        "1000000",
        "4294967295",
        "4294967296",
        "9223372036854775807",
        "1e9",
    ];
    const TIMEOUTS: &[&str] = &["60s", "1ns", "0s", "1d", "-1s", "99999999999h"];
    const BACKOFFS: &[&str] = &[
        "{ exponential: { base: 0s, cap: 0s } }",
        "{ exponential: { base: 1ns, cap: 1ns } }",
        "{ constant: 0s }",
        "{ exponential: { base: 99999999999h, cap: 0s } }",
    ];
    const RETRIES: &[&str] = &[
        "{ max: 100, backoff: { constant: 0s }, jitter: none }",
        "{ max: 100, backoff: { exponential: { base: 0s, cap: 0s } } }",
        "{ max: 4294967295 }",
        "{ max: 0 }",
        "{ max: 100, budget: 1e300 }",
    ];
    const ARRIVALS: &[&str] = &[
        "{ poisson: 1e9/s }",
        "{ constant: 1e12/s }",
        "{ poisson: 1e300/s }",
        "{ interarrival: 1ns }",
        "{ interarrival: 0s }",
        "{ closed: { users: 100, think_time: 0s } }",
        "{ closed: { users: 10000000, think_time: 0s } }",
        "{ closed: { users: 1, think_time: { exponential: 1ns } } }",
        "{ diurnal: { mean: 1e9/s, amplitude: 1, period: 1ns } }",
        "{ schedule: [ { at: 0s, rate: 1e9/s } ] }",
        "{ trace: /dev/zero }",
        "{ trace: /dev/urandom }",
        "{ trace: /dev/null }",
        "{ trace: /nonexistent/fuzz.txt }",
        "{ trace: /tmp }",
        "{ trace: /etc/passwd }",
    ];
    const KEYS: &[&str] = &[
        "{ uniform: 33554432 }",
        "{ uniform: 33554433 }",
        "{ zipf: { n: 33554432, s: 0.99 } }",
        "{ uniform: 1099511627776 }",
        "{ uniform: 0 }",
    ];
    // Fields (space-separated), and what to put in them.
    let table: &[(&str, &[&str])] = &[
        (
            "interval every mtbf mttr period flush_interval ttl open_for window cooldown horizon \
             detect_after restore_time startup_time max_wait at for duration warmup \
             stabilization_window base_ejection_time max_ejection_time base cap",
            PERIODS,
        ),
        (
            "service_time read_time write_time think_time hit_time origin_latency directory_time \
             latency replication_lag overhead login_time interarrival exponential constant",
            TIMES,
        ),
        ("poisson rate mean", RATES),
        (
            "min max replicas cores users shards capacity queue_capacity max_concurrency identities \
             burst concurrency nodes vnodes choices size step n w r k unhealthy_after healthy_after \
             consecutive_errors half_open_probes max_deliveries pods uniform seed factor",
            COUNTS,
        ),
        ("timeout", TIMEOUTS),
        ("backoff", BACKOFFS),
        ("retry", RETRIES),
        ("arrival", ARRIVALS),
        ("keys", KEYS),
        ("trace empirical", FILES),
        ("per", &["identity", "global"]),
    ];
    let named = "name target backends backend consumer origin crash random slow";
    if named.split_whitespace().any(|k| k == key) {
        return attack_names();
    }
    let list = table
        .iter()
        .find(|(keys, _)| keys.split_whitespace().any(|k| k == key))
        .map_or_else(|| edge_values(key), |(_, values)| *values);
    list.iter().map(|s| s.to_string()).collect()
}

/// Sets one `key: value` of the text to an attacker's value for its field.
fn attack_edit(text: &str, rng: &mut XorShift) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let candidates: Vec<usize> = (0..lines.len())
        .filter(|&i| !key_values(&lines[i]).is_empty())
        .collect();
    if candidates.is_empty() {
        return text.to_string();
    }
    let i = candidates[rng.below(candidates.len())];
    let pairs = key_values(&lines[i]);
    let (key, s, e) = pairs[rng.below(pairs.len())];
    let values = attack_values(key);
    let value = &values[rng.below(values.len())];
    lines[i] = format!("{}{value}{}", &lines[i][..s], &lines[i][e..]);
    lines.join("\n") + "\n"
}

/// The scenario's named entries: `(section, name, kind)` for the clients
/// and components (two-space keys under `clients:` and `components:`).
fn entries(text: &str) -> Vec<(&'static str, String, String)> {
    let mut out: Vec<(&'static str, String, String)> = Vec::new();
    let mut section = "";
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            section = match line.trim_end() {
                "clients:" => "clients",
                "components:" => "components",
                _ => "",
            };
        } else if !section.is_empty()
            && line.starts_with("  ")
            && !line.starts_with("   ")
            && line.trim_end().ends_with(':')
        {
            let name = line.trim().trim_end_matches(':').to_string();
            out.push((section, name, String::new()));
        } else if let (Some(last), Some(kind)) = (out.last_mut(), line.strip_prefix("    kind: ")) {
            last.2 = kind.trim().to_string();
        }
    }
    out
}

fn pick<'a, T>(rng: &mut XorShift, v: &'a [T]) -> &'a T {
    &v[rng.below(v.len())]
}

/// Inserts `block` (lines indented as components or clients) right after
/// the `header` line, or appends `header` and the block.
fn insert_under(text: &str, header: &str, block: &str) -> String {
    match text.lines().position(|l| l.trim_end() == header) {
        Some(i) => {
            let mut lines: Vec<&str> = text.lines().collect();
            lines.insert(i + 1, block.trim_end_matches('\n'));
            lines.join("\n") + "\n"
        }
        None => format!("{}{header}\n{block}", text),
    }
}

/// Inserts a block that reaches deep into the model: an autoscaler, a
/// closed loop, a high-rate client with a long timeout or zero-backoff
/// retries, faults, a health check, a backup, a per-identity rate limit,
/// databases over a huge key space, a trace file.
fn insert_block(text: &str, rng: &mut XorShift) -> String {
    let all = entries(text);
    let services: Vec<String> = all
        .iter()
        .filter(|e| e.0 == "components" && e.2 == "service")
        .map(|e| e.1.clone())
        .collect();
    let components: Vec<String> = all
        .iter()
        .filter(|e| e.0 == "components")
        .map(|e| e.1.clone())
        .collect();
    let service = if services.is_empty() {
        "api".to_string()
    } else {
        pick(rng, &services).clone()
    };
    let target = if components.is_empty() {
        service.clone()
    } else {
        pick(rng, &components).clone()
    };
    let period = |rng: &mut XorShift| pick(rng, &["1ns", "0s", "1us", "1ms", "-1s"]).to_string();
    match rng.below(12) {
        0 => {
            let min = pick(rng, &["1", "0", "100001", "200000", "4294967295"]);
            let max = pick(rng, &["2", "100000", "100001", "1000000", "1"]);
            let interval = match rng.below(3) {
                0 => String::new(),
                _ => format!("    interval: {}\n", period(rng)),
            };
            let policy = pick(
                rng,
                &[
                    "{ target_tracking: { metric: cpu, target: 0.5 } }",
                    "{ target_tracking: { metric: request_rate, target: 1e-300 } }",
                    "{ threshold: { metric: latency_p99, up_above: 0, down_below: 0, step: 4294967295, cooldown: 0s } }",
                    "{ schedule: [ { at: 0s, replicas: 100001 }, { at: 1ms, replicas: 0 } ] }",
                    "{ predictive: { metric: queue_depth, target: 1, horizon: 1ns } }",
                ],
            );
            let block = format!(
                "  fz_scaler:\n    kind: autoscaler\n    target: {service}\n    min: {min}\n    max: {max}\n{interval}    policy: {policy}\n"
            );
            insert_under(text, "components:", &block)
        }
        1 => {
            let users = pick(rng, &["1", "100", "10000"]);
            let think = pick(rng, &["0s", "1ns", "{ constant: 0s }", "{ exponential: 1ns }"]);
            let extra = match rng.below(3) {
                0 => "    timeout: 1ns\n    retry: { max: 100, backoff: { constant: 0s }, jitter: none }\n",
                1 => "    retry: { max: 100, backoff: { exponential: { base: 0s, cap: 0s } } }\n",
                _ => "",
            };
            let block = format!(
                "  fz_loop:\n    arrival: {{ closed: {{ users: {users}, think_time: {think} }} }}\n    target: {target}\n{extra}"
            );
            insert_under(text, "clients:", &block)
        }
        2 => {
            let rate = pick(rng, &["1e6/s", "1e9/s", "2e6/s"]);
            let block = format!(
                "  fz_flood:\n    arrival: {{ poisson: {rate} }}\n    target: {target}\n    timeout: 60s\n    identities: 1099511627776\n"
            );
            insert_under(text, "clients:", &block)
        }
        3 | 4 => {
            let fault = match rng.below(6) {
                0 => format!("{{ at: 0s, crash: \"{service}[0]\" }}"),
                1 => format!(
                    "{{ random: {service}, mtbf: {}, mttr: {} }}",
                    period(rng),
                    period(rng)
                ),
                2 => format!(
                    "{{ at: 0s, slow: {service}, factor: {} }}",
                    pick(rng, &["1e300", "0", "1e-300"])
                ),
                3 => format!("{{ at: 1ms, crash: \"{service}[4294967295]\", for: 1ns }}"),
                4 => format!("{{ at: 0s, crash: {service} }}"),
                _ => format!("{{ random: {target}, mtbf: 1ms, mttr: 1ns }}"),
            };
            let line = format!("  - {fault}\n");
            insert_under(text, "faults:", &line)
        }
        5 => {
            let block = format!(
                "  fz_lb:\n    kind: load_balancer\n    algorithm: round_robin\n    backends: {service}\n    health_check: {{ interval: {}, timeout: {}, unhealthy_after: 1, healthy_after: 1 }}\n",
                period(rng),
                period(rng)
            );
            let text = insert_under(text, "components:", &block);
            insert_under(
                &text,
                "clients:",
                "  fz_hc:\n    arrival: { poisson: 1000/s }\n    target: fz_lb\n",
            )
        }
        6 => {
            let block = format!(
                "  fz_db:\n    kind: database\n    read_time: 1ms\n    backup: {{ every: {}, restore_time: {} }}\n",
                period(rng),
                period(rng)
            );
            let text = insert_under(text, "components:", &block);
            let mut text = insert_under(
                &text,
                "clients:",
                "  fz_bk:\n    arrival: { poisson: 1000/s }\n    target: fz_db\n    keys: { uniform: 1000 }\n",
            );
            if rng.below(2) == 0 {
                text = insert_under(
                    &text,
                    "faults:",
                    "  - { at: 1ms, disk_loss: \"fz_db.shard[0]\" }\n",
                );
            }
            text
        }
        7 => {
            let rate = pick(rng, &["1000/s", "5/s", "0/s", "1e300/s"]);
            let burst = pick(rng, &["1", "0", "4294967295"]);
            let block = format!(
                "  fz_gw:\n    kind: gateway\n    target: {service}\n    rate_limit: {{ rate: {rate}, burst: {burst}, per: identity }}\n"
            );
            let text = insert_under(text, "components:", &block);
            let arrival = pick(rng, &["1e6/s", "1e5/s", "1e9/s"]);
            let client = format!(
                "  fz_ids:\n    arrival: {{ poisson: {arrival} }}\n    target: fz_gw\n    identities: 1099511627776\n"
            );
            insert_under(&text, "clients:", &client)
        }
        8 => {
            let n = *pick(rng, &[1usize, 4, 16]);
            let keys = pick(rng, &["33554432", "16777216", "1099511627776"]);
            let mut block = String::new();
            let calls: Vec<String> = (0..n).map(|i| format!("fz_db{i}")).collect();
            let _ = write!(
                block,
                "  fz_fan:\n    kind: service\n    service_time: 1ms\n    calls: [ {} ]\n",
                calls.join(", ")
            );
            for c in &calls {
                let _ = write!(block, "  {c}:\n    kind: database\n    read_time: 1ms\n");
            }
            let text = insert_under(text, "components:", &block);
            let client = format!(
                "  fz_keys:\n    arrival: {{ poisson: 100/s }}\n    target: fz_fan\n    requests: {{ read: 0.5, write: 0.5 }}\n    keys: {{ uniform: {keys} }}\n"
            );
            insert_under(&text, "clients:", &client)
        }
        9 => {
            let file = pick(rng, FILES);
            let client = match rng.below(2) {
                0 => format!("  fz_trace:\n    arrival: {{ trace: {file} }}\n    target: {target}\n"),
                _ => format!(
                    "  fz_emp:\n    arrival: {{ interarrival: {{ empirical: {file} }} }}\n    target: {target}\n"
                ),
            };
            insert_under(text, "clients:", &client)
        }
        10 => {
            // A call edge with a long timeout and zero-backoff retries.
            let block = format!(
                "  fz_caller:\n    kind: service\n    service_time: 0s\n    calls: [ {{ target: {target}, timeout: {}, retry: {} }} ]\n",
                pick(rng, &["60s", "1ns", "0s"]),
                pick(rng, &["{ max: 100, backoff: { constant: 0s } }", "{ max: 3 }"])
            );
            let text = insert_under(text, "components:", &block);
            insert_under(
                &text,
                "clients:",
                "  fz_call:\n    arrival: { closed: { users: 50, think_time: 0s } }\n    target: fz_caller\n",
            )
        }
        _ => {
            // A queue of extreme capacity and concurrency fed by a closed
            // loop with no think time.
            let block = format!(
                "  fz_q:\n    kind: queue\n    consumer: {service}\n    capacity: {}\n    concurrency: {}\n",
                pick(rng, &["0", "1", "4294967295"]),
                pick(rng, &["1", "100000", "4294967295"])
            );
            let text = insert_under(text, "components:", &block);
            insert_under(
                &text,
                "clients:",
                "  fz_qc:\n    arrival: { closed: { users: 10, think_time: 0s } }\n    target: fz_q\n",
            )
        }
    }
}

/// Whether `c` can be part of a name (so `api` in `api2` is not the name).
fn name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Renames one client, component or the scenario everywhere it is written.
fn rename(text: &str, rng: &mut XorShift) -> String {
    // An empty name (an earlier mutation renamed one to "") would match
    // everywhere and never advance: leave it out.
    let names: Vec<String> = entries(text)
        .into_iter()
        .map(|e| e.1)
        .filter(|n| !n.is_empty())
        .collect();
    let new = pick(rng, &attack_names()).clone();
    if names.is_empty() || rng.below(4) == 0 {
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                if l.starts_with("name: ") {
                    format!("name: {new}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        return lines.join("\n") + "\n";
    }
    let old = pick(rng, &names).clone();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(old.as_str()) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + old.len()..].chars().next();
        let whole = !before.is_some_and(name_char) && !after.is_some_and(name_char);
        out.push_str(&rest[..at]);
        out.push_str(if whole { &new } else { &old });
        rest = &rest[at + old.len()..];
    }
    out.push_str(rest);
    out
}

/// A very long line (a comment, a description, a bad value, a long flow
/// sequence) or deep nesting.
fn huge(text: &str, rng: &mut XorShift) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let i = rng.below(lines.len().max(1)).min(lines.len().saturating_sub(1));
    match rng.below(7) {
        0 => lines[i].push_str(&format!(" # {}", "y".repeat(2_000_000))),
        1 => lines.insert(0, format!("description: {}", "x".repeat(2_000_000))),
        2 => lines[i] = crate::mutation::replace_scalar(&lines[i], rng, &"z".repeat(1_500_000)),
        3 => lines.insert(0, format!("tags: [{}]", vec!["t"; 300_000].join(", "))),
        4 => lines.insert(0, format!("x: {}", "[".repeat(100_000))),
        5 => lines.insert(
            0,
            format!("x: {}1{}", "{ a: ".repeat(20_000), " }".repeat(20_000)),
        ),
        _ => {
            // Block nesting, one level a line.
            let mut deep = String::from("x:\n");
            for d in 1..2_000 {
                let _ = writeln!(deep, "{}a{d}:", " ".repeat(d));
            }
            lines.insert(0, deep.trim_end().to_string());
        }
    }
    lines.join("\n") + "\n"
}

/// Divides the times at which things happen (`at`, `for`) and the periods
/// of timers (backups, health checks, faults' mtbf…) by 12,000, so that a
/// scenario of ten minutes plays out in the 50 ms a run lasts.
fn squash_times(text: &str) -> String {
    const KEYS: &[&str] = &[
        "at",
        "for",
        "every",
        "restore_time",
        "interval",
        "mtbf",
        "mttr",
        "detect_after",
        "startup_time",
        "cooldown",
        "open_for",
        "period",
    ];
    let mut out = Vec::new();
    for line in text.lines() {
        let mut line = line.to_string();
        // Right to left, so the spans of the pairs not yet edited hold.
        let pairs: Vec<(String, usize, usize)> = key_values(&line)
            .into_iter()
            .map(|(k, s, e)| (k.to_string(), s, e))
            .collect();
        for (k, s, e) in pairs.into_iter().rev() {
            if KEYS.contains(&k.as_str())
                && let Some(ns) = duration_ns(&line[s..e])
            {
                let v = format!("{}ns", (ns / 12_000.0).ceil());
                line.replace_range(s..e, &v);
            }
        }
        out.push(line);
    }
    out.join("\n") + "\n"
}

/// `10ms`, `2s`, `1.5m`, a bare number of seconds: nanoseconds.
fn duration_ns(v: &str) -> Option<f64> {
    let v = v.trim().trim_matches('"');
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.trim().parse().ok()?;
    let scale = match unit {
        "" | "s" => 1e9,
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "m" => 60e9,
        "h" => 3600e9,
        "d" => 86400e9,
        _ => return None,
    };
    let ns = n * scale;
    (ns.is_finite() && ns >= 0.0).then_some(ns)
}

/// Requests per second the file can ask for, roughly and on the high side:
/// every rate written (`300/s`, a bare number of a rate field), closed-loop
/// users at one request a millisecond each or one per think time when that
/// is shorter (10,000 users thinking 1 ns ask for 10^13 requests a second:
/// a finite run, but one that would take hours), one over every
/// interarrival.
fn peak_rate(text: &str) -> f64 {
    let mut total = 0.0;
    for line in text.lines() {
        let pairs = key_values(line);
        let think_per_s = pairs
            .iter()
            .find(|(k, _, _)| *k == "think_time")
            .and_then(|(_, s, e)| duration_ns(&line[*s..*e]))
            .map_or(1e3, |ns| (1e9 / ns.max(1.0)).max(1e3));
        for (key, s, e) in pairs {
            let v = line[s..e].trim();
            let per_s = if let Some((num, unit)) = v.split_once('/') {
                let div = match unit.trim() {
                    "m" => 60.0,
                    "h" => 3600.0,
                    _ => 1.0,
                };
                num.trim().parse::<f64>().ok().map(|n| n / div)
            } else {
                match key {
                    "poisson" | "rate" | "mean" | "constant" => v.parse::<f64>().ok(),
                    "users" => v.parse::<f64>().ok().map(|n| n * think_per_s),
                    "interarrival" | "exponential" => duration_ns(v).map(|ns| 1e9 / ns.max(1.0)),
                    _ => None,
                }
            };
            if let Some(r) = per_s.filter(|r| r.is_finite() && *r > 0.0) {
                total += r;
            }
        }
    }
    total
}

/// Simulated time of a case's run: 50 ms, less when the file's rates would
/// make more than ARRIVAL_BUDGET arrivals in 50 ms.
fn run_ns(text: &str) -> u64 {
    let rate = peak_rate(text);
    if rate <= 0.0 {
        return MAX_RUN_NS;
    }
    ((ARRIVAL_BUDGET / rate * 1e9) as u64).clamp(MIN_RUN_NS, MAX_RUN_NS)
}

/// Byte sequences that are not UTF-8: a lone continuation byte, 0xFF, a
/// truncated sequence, a surrogate, an overlong NUL, a code point past
/// U+10FFFF.
const NOT_UTF8: &[&[u8]] = &[
    &[0x80],
    &[0xff],
    &[0xc3],
    &[0xed, 0xa0, 0x80],
    &[0xc0, 0x80],
    &[0xf4, 0x90, 0x80, 0x80],
    &[0xfe, 0xfe, 0xfe],
];

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

/// A generated case: the file and the `run` arguments after the file.
struct Case {
    base: String,
    bytes: Vec<u8>,
    run_ns: u64,
    /// A `--set PATH=VALUE` given to `run`.
    set: Option<String>,
    /// Run without `--out`, into `output/<name>/` under the case's folder.
    default_folder: bool,
    /// A `--interval` for the time series.
    interval: Option<&'static str>,
    /// Run with `--quiet` (else the summary goes to stdout, and is checked).
    quiet: bool,
}

/// The starting points: every bundled scenario and the fuzz bases.
fn bases() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .map(|e| e.expect("scenarios/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut out: Vec<(String, String)> = files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(p).expect("read a bundled scenario"))
        })
        .collect();
    out.push(("FUZZ_BASE".into(), FUZZ_BASE.into()));
    out.push(("DATA_FUZZ_BASE".into(), DATA_FUZZ_BASE.into()));
    out
}

/// Case `index` of the run seeded `seed`: the same on every machine and
/// whichever worker makes it.
fn make_case(index: usize, seed: u64, bases: &[(String, String)], nasty: &[String]) -> Case {
    let mut rng = XorShift((seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
    for _ in 0..4 {
        rng.next();
    }
    let (base, mut text) = bases[rng.below(bases.len())].clone();
    if rng.below(2) == 0 {
        text = squash_times(&text);
    }
    let edits = match rng.below(10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    for _ in 0..edits {
        text = match rng.below(40) {
            0..=7 => mutate(&text, &mut rng, nasty),
            8..=13 => edge_edit(&text, &mut rng, nasty),
            14..=25 => attack_edit(&text, &mut rng),
            26..=35 => insert_block(&text, &mut rng),
            36 | 37 => rename(&text, &mut rng),
            _ => huge(&text, &mut rng),
        };
    }
    let run_ns = run_ns(&text);
    let mut bytes = text.into_bytes();
    match rng.below(30) {
        0 => {
            let at = rng.below(bytes.len() + 1);
            let junk = pick(&mut rng, NOT_UTF8);
            bytes.splice(at..at, junk.iter().copied());
        }
        1 => bytes.splice(0..0, "\u{feff}".bytes()).for_each(drop),
        _ => {}
    }
    let set = (rng.below(8) == 0).then(|| {
        let generic = [
            "duration",
            "seed",
            "name",
            "clients",
            "components",
            "faults",
            "network",
        ];
        let paths: Vec<&str> = SET_PATHS
            .iter()
            .chain(DATA_SET_PATHS)
            .chain(generic.iter())
            .copied()
            .collect();
        let path = *pick(&mut rng, &paths);
        let leaf = path.rsplit('.').next().unwrap_or("");
        let value = match rng.below(2) {
            0 => pick(&mut rng, nasty).clone(),
            _ => pick(&mut rng, &attack_values(leaf)).clone(),
        };
        format!("{path}={value}")
    });
    // An argument cannot hold a NUL.
    let set = set.filter(|s| !s.contains('\0'));
    let default_folder = rng.below(8) == 0;
    let interval =
        (rng.below(16) == 0).then(|| *pick(&mut rng, &["1ns", "1us", "10ms", "0s", "-1s", "99999999999h"]));
    let quiet = rng.below(8) != 0;
    Case {
        base,
        bytes,
        run_ns,
        set,
        default_folder,
        interval,
        quiet,
    }
}

/// The result of one case.
struct Outcome {
    index: usize,
    validate: Exit,
    /// `run`'s arguments and exit, when the case validated.
    run: Option<(Vec<OsString>, Exit)>,
}

impl Outcome {
    fn fault(&self) -> Option<String> {
        self.validate
            .fault()
            .map(|f| format!("validate: {f}"))
            .or_else(|| {
                self.run
                    .as_ref()
                    .and_then(|(_, e)| e.fault().map(|f| format!("run: {f}")))
            })
    }
}

fn file_name(index: usize) -> String {
    format!("case{index:05}.yaml")
}

fn run_case(index: usize, case: &Case, root: &Path) -> Outcome {
    let file = file_name(index);
    std::fs::write(root.join(&file), &case.bytes).expect("write a case");
    let validate = run_capped(
        root,
        &["validate".into(), file.clone().into()],
        MEM_CAP_KB,
        WALL_CAP,
    );
    let mut run = None;
    let folder = root.join(format!("case{index:05}"));
    if validate.end == End::Code(0) {
        let mut args: Vec<OsString> = vec!["run".into(), root.join(&file).into()];
        args.extend(["--duration".into(), format!("{}ns", case.run_ns).into()]);
        args.extend(["--set".into(), "warmup=0s".into()]);
        if case.quiet {
            args.push("--quiet".into());
        }
        if let Some(set) = &case.set {
            args.extend(["--set".into(), set.into()]);
        }
        if let Some(interval) = case.interval {
            args.extend(["--interval".into(), interval.into()]);
        }
        std::fs::create_dir_all(&folder).expect("case folder");
        if !case.default_folder {
            args.extend(["--out".into(), folder.join("out").into()]);
        }
        let exit = run_capped(&folder, &args, MEM_CAP_KB, WALL_CAP);
        run = Some((args, exit));
    }
    let _ = std::fs::remove_dir_all(&folder);
    let out = Outcome { index, validate, run };
    if out.fault().is_none() {
        let _ = std::fs::remove_file(root.join(&file));
    }
    out
}

/// Where failing cases are kept for a look after the test.
fn failures_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures")
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name} must be a number, found {v:?}")))
}

/// Tallies of the endings of one command.
#[derive(Default)]
struct Tally {
    ok: usize,
    bad: usize,
    other: std::collections::BTreeMap<String, usize>,
    /// Wall-clock seconds of all the processes.
    secs: f64,
}

impl Tally {
    fn add(&mut self, e: &Exit) {
        self.secs += e.secs;
        match e.end {
            End::Code(0) => self.ok += 1,
            End::Code(2) => self.bad += 1,
            end => *self.other.entry(end.to_string()).or_default() += 1,
        }
    }

    fn line(&self) -> String {
        let other: Vec<String> = self.other.iter().map(|(k, n)| format!("{n}× {k}")).collect();
        let n = self.ok + self.bad + self.other.values().sum::<usize>();
        format!(
            "{n} cases: {} exit 0, {} exit 2, other: {}; {:.0} s in all, {:.0} ms each on average",
            self.ok,
            self.bad,
            if other.is_empty() {
                "none".into()
            } else {
                other.join(", ")
            },
            self.secs,
            self.secs * 1e3 / n.max(1) as f64
        )
    }
}

#[test]
fn mutated_scenarios_through_the_binary() {
    let cases = env_number("ARCHSIM_FUZZ_CASES").map_or(DEFAULT_CASES, |n| n as usize);
    let seed = env_number("ARCHSIM_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let max_failures = env_number("ARCHSIM_FUZZ_MAX_FAILURES").map_or(DEFAULT_MAX_FAILURES, |n| n as usize);
    let bases = bases();
    let nasty = nasty_values();
    let root = tempfile::tempdir().expect("temporary folder");
    let failures = failures_dir();
    let _ = std::fs::remove_dir_all(&failures);
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let failing = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<(Outcome, Case)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..JOBS {
            s.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= cases || failing.load(Ordering::Relaxed) >= max_failures {
                        break;
                    }
                    let case = make_case(index, seed, &bases, &nasty);
                    let outcome = run_case(index, &case, root.path());
                    if outcome.fault().is_some() {
                        failing.fetch_add(1, Ordering::Relaxed);
                    }
                    let mut all = outcomes.lock().unwrap_or_else(|e| e.into_inner());
                    all.push((outcome, case));
                    if all.len().is_multiple_of(500) {
                        eprintln!(
                            "fuzz: {} of {cases} cases, {:.0} s",
                            all.len(),
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            });
        }
    });
    let mut outcomes = outcomes.into_inner().unwrap_or_else(|e| e.into_inner());
    outcomes.sort_by_key(|(o, _)| o.index);

    let (mut validate, mut run) = (Tally::default(), Tally::default());
    let mut timeouts = 0;
    let mut slowest: (f64, String) = (0.0, String::new());
    let mut failed: Vec<(usize, String)> = Vec::new();
    let mut by_fault: std::collections::BTreeMap<String, usize> = Default::default();
    let mut refused: Vec<String> = Vec::new();
    for (o, case) in &outcomes {
        validate.add(&o.validate);
        let mut consider = |e: &Exit, what: &str| {
            if e.end == End::TimedOut {
                timeouts += 1;
            }
            if e.secs > slowest.0 {
                slowest = (
                    e.secs,
                    format!("{} {what} (from {})", file_name(o.index), case.base),
                );
            }
        };
        consider(&o.validate, "validate");
        if let Some((_, e)) = &o.run {
            run.add(e);
            consider(e, "run");
            // Not a failure, but worth a look: what `validate` passed and
            // `run` refused (without a `--set` or `--interval`) is a check
            // `validate` lacks.
            if e.end == End::Code(2) && case.set.is_none() && case.interval.is_none() {
                let text = e.stderr_text();
                let first = text
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(160)
                    .collect::<String>();
                refused.push(format!("{}: {first}", file_name(o.index)));
            }
        }
        if let Some(f) = o.fault() {
            *by_fault.entry(f.clone()).or_default() += 1;
            failed.push((o.index, f));
            keep_failure(&failures, o, case);
        }
    }
    let summary = format!(
        "fuzz: {} of {cases} cases (seed {seed:#x}) in {:.0} s, {JOBS} at a time, caps {} s and {} MB \
         each{}\n  validate: {}\n  run: {}\n  validated but refused by run: {}{}\n  timeouts: {timeouts}\n  \
         slowest: {:.1} s, {}\n  failures: {}{}",
        outcomes.len(),
        started.elapsed().as_secs_f64(),
        WALL_CAP.as_secs(),
        MEM_CAP_KB / 1000,
        if outcomes.len() < cases {
            format!(" (stopped after {max_failures} failures)")
        } else {
            String::new()
        },
        validate.line(),
        run.line(),
        refused.len(),
        refused
            .iter()
            .take(5)
            .map(|r| format!("\n    {r}"))
            .collect::<String>(),
        slowest.0,
        slowest.1,
        failed.len(),
        by_fault
            .iter()
            .map(|(k, n)| format!("\n    {n}× {k}"))
            .collect::<String>(),
    );
    eprintln!("{summary}");
    let listed: Vec<String> = failed
        .iter()
        .take(40)
        .map(|(i, f)| format!("  {}: {f}", failures.join(file_name(*i)).display()))
        .collect();
    assert!(
        failed.is_empty(),
        "{summary}\nfailing cases (file, and beside it .txt with the command and stderr):\n{}{}",
        listed.join("\n"),
        if failed.len() > listed.len() {
            format!(
                "\n  … and {} more in {}",
                failed.len() - listed.len(),
                failures.display()
            )
        } else {
            String::new()
        }
    );
}

/// `s` quoted for a POSIX shell when it needs to be.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./=:,-".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Writes the case's file and, beside it, the commands and what they said.
fn keep_failure(dir: &Path, o: &Outcome, case: &Case) {
    std::fs::create_dir_all(dir).expect("failures folder");
    let file = dir.join(file_name(o.index));
    std::fs::write(&file, &case.bytes).expect("write a failing case");
    let mut note = format!("base: {}\n", case.base);
    let mut show = |what: &str, e: &Exit| {
        let err = e.stderr_text();
        let head: String = err.chars().take(4000).collect();
        let _ = write!(
            note,
            "\n$ archsim {what}\n{} after {:.2} s; fault: {}; stderr ({} bytes):\n{head}\n",
            e.end,
            e.secs,
            e.fault().unwrap_or_else(|| "none".into()),
            e.stderr.len
        );
        if e.stdout.control {
            let out: String = e.stdout.text().chars().take(4000).collect();
            let _ = write!(note, "stdout ({} bytes):\n{out}\n", e.stdout.len);
        }
    };
    show(&format!("validate {}", file.display()), &o.validate);
    if let Some((args, e)) = &o.run {
        let mut args: Vec<String> = args.iter().map(|a| shell_word(&a.to_string_lossy())).collect();
        args[1] = shell_word(&file.display().to_string());
        show(&args.join(" "), e);
    }
    std::fs::write(file.with_extension("txt"), note).expect("write a failure note");
}

// ---------------------------------------------------------------------------
// The regression corpus
// ---------------------------------------------------------------------------

/// A corpus file and what `archsim run` must do with it.
struct Known {
    file: &'static str,
    /// Exit codes that are right. Both 0 and 2 where the contract allows
    /// either a run or a refusal, whichever the fix chooses.
    expect: &'static [i32],
    /// `ulimit -v` of both commands, KiB.
    mem_kb: u64,
    /// Run without `--out`: the run folder is `output/<name>/` (in a
    /// temporary folder).
    default_folder: bool,
    /// More arguments for `run`.
    args: &'static [&'static str],
}

/// A corpus file run with `--out`, under the fuzz caps.
const fn known(file: &'static str, expect: &'static [i32]) -> Known {
    Known {
        file,
        expect,
        mem_kb: MEM_CAP_KB,
        default_folder: false,
        args: &[],
    }
}

/// Where the contract allows a run or a refusal (a 1ns period, a rate
/// finer than the clock, a name no folder can have), either is right: the
/// defect was the hang, the abort or the exit 1.
const RUN_OR_REFUSE: &[i32] = &[0, 2];

/// A zero-time loop (simulated time stops: every request answered at the
/// instant it is sent and sent again) is a property of the scenario, so
/// `run` stops it within seconds as bad input, naming the setting to change.
const ZERO_TIME_LOOP: &[i32] = &[2];

const CORPUS: &[Known] = &[
    known("autoscaler-min-above-100000.yaml", &[2]),
    known("closed-loop-zero-think-zero-service.yaml", ZERO_TIME_LOOP),
    known("closed-loop-zero-think-crashed-replica.yaml", ZERO_TIME_LOOP),
    Known {
        mem_kb: 1_000_000,
        ..known("closed-loop-zero-think-zero-backoff.yaml", ZERO_TIME_LOOP)
    },
    known("closed-loop-zero-think-full-queue.yaml", ZERO_TIME_LOOP),
    known("closed-loop-zero-think-rejected.yaml", ZERO_TIME_LOOP),
    known("closed-loop-zero-think-rate-limited.yaml", ZERO_TIME_LOOP),
    known("closed-loop-zero-think-circuit-open.yaml", ZERO_TIME_LOOP),
    known("poisson-1e300-zero-service.yaml", RUN_OR_REFUSE),
    known("health-check-interval-1ns.yaml", RUN_OR_REFUSE),
    known("backup-every-1ns.yaml", RUN_OR_REFUSE),
    known("backup-huge-key-space.yaml", &[2]),
    known("autoscaler-interval-1ns.yaml", RUN_OR_REFUSE),
    known("random-fault-mtbf-mttr-1ns.yaml", RUN_OR_REFUSE),
    Known {
        mem_kb: 256_000,
        ..known("client-timeout-60s-high-rate.yaml", &[0])
    },
    Known {
        mem_kb: 128_000,
        ..known("rate-limit-per-identity-high-rate.yaml", &[0])
    },
    Known {
        mem_kb: 256_000,
        ..known("trace-dev-zero.yaml", &[2])
    },
    Known {
        mem_kb: 256_000,
        ..known("empirical-dev-zero.yaml", &[2])
    },
    Known {
        default_folder: true,
        ..known("name-300-characters.yaml", RUN_OR_REFUSE)
    },
    Known {
        default_folder: true,
        ..known("name-nul.yaml", RUN_OR_REFUSE)
    },
    known("sixteen-databases-huge-key-space.yaml", RUN_OR_REFUSE),
    Known {
        args: &["--interval", "1ns"],
        ..known("interval-1ns.yaml", RUN_OR_REFUSE)
    },
];

/// Wall-clock cap of each command of a corpus test.
const CORPUS_WALL_CAP: Duration = Duration::from_secs(30);

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus")
}

/// `validate` ends well (0 or 2, no fault) and `run` ends as expected,
/// each within the caps.
fn check_known(file: &str) {
    let known = CORPUS
        .iter()
        .find(|k| k.file == file)
        .unwrap_or_else(|| panic!("{file} is not in CORPUS"));
    let path = corpus_dir().join(file);
    let text = std::fs::read_to_string(&path).expect("read a corpus file");
    let defect = text.lines().next().unwrap_or("").trim_start_matches("# ");
    let dir = tempfile::tempdir().expect("temporary folder");
    let v = run_capped(
        dir.path(),
        &["validate".into(), path.clone().into()],
        known.mem_kb,
        CORPUS_WALL_CAP,
    );
    assert!(
        v.fault().is_none(),
        "{file} ({defect}): validate: {} ({} after {:.1} s)\n{}",
        v.fault().unwrap_or_default(),
        v.end,
        v.secs,
        v.stderr_text()
    );
    let mut args: Vec<OsString> = vec!["run".into(), path.into(), "--quiet".into()];
    if !known.default_folder {
        args.extend(["--out".into(), dir.path().join("out").into()]);
    }
    args.extend(known.args.iter().map(OsString::from));
    let r = run_capped(dir.path(), &args, known.mem_kb, CORPUS_WALL_CAP);
    assert!(
        r.fault().is_none() && matches!(r.end, End::Code(c) if known.expect.contains(&c)),
        "{file} ({defect}): run: {} after {:.1} s, expected exit {:?} within {} s and {} MB; fault: {}\n{}",
        r.end,
        r.secs,
        known.expect,
        CORPUS_WALL_CAP.as_secs(),
        known.mem_kb / 1000,
        r.fault().unwrap_or_else(|| "none".into()),
        r.stderr_text()
    );
}

macro_rules! corpus_tests {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_known($file);
            }
        )*

        /// Every file of the corpus has its test and its entry in CORPUS.
        #[test]
        fn corpus_files_all_have_a_test() {
            let tested: std::collections::BTreeSet<&str> = [$($file),*].into_iter().collect();
            let listed: std::collections::BTreeSet<&str> = CORPUS.iter().map(|k| k.file).collect();
            let on_disk: std::collections::BTreeSet<String> = std::fs::read_dir(corpus_dir())
                .expect("tests/fuzz-corpus/")
                .map(|e| e.expect("corpus entry").file_name().to_string_lossy().into_owned())
                .collect();
            let on_disk: std::collections::BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
            assert_eq!(tested, listed, "corpus tests and CORPUS differ");
            assert_eq!(listed, on_disk, "CORPUS and tests/fuzz-corpus/ differ");
            for f in &on_disk {
                let text = std::fs::read_to_string(corpus_dir().join(f)).unwrap();
                assert!(text.starts_with("# "), "{f} must start with a comment naming its defect");
            }
        }
    };
}

corpus_tests! {
    corpus_autoscaler_min_above_100000 => "autoscaler-min-above-100000.yaml",
    corpus_closed_loop_zero_think_zero_service => "closed-loop-zero-think-zero-service.yaml",
    corpus_closed_loop_zero_think_crashed_replica => "closed-loop-zero-think-crashed-replica.yaml",
    corpus_closed_loop_zero_think_zero_backoff => "closed-loop-zero-think-zero-backoff.yaml",
    corpus_closed_loop_zero_think_full_queue => "closed-loop-zero-think-full-queue.yaml",
    corpus_closed_loop_zero_think_rejected => "closed-loop-zero-think-rejected.yaml",
    corpus_closed_loop_zero_think_rate_limited => "closed-loop-zero-think-rate-limited.yaml",
    corpus_closed_loop_zero_think_circuit_open => "closed-loop-zero-think-circuit-open.yaml",
    corpus_poisson_1e300_zero_service => "poisson-1e300-zero-service.yaml",
    corpus_health_check_interval_1ns => "health-check-interval-1ns.yaml",
    corpus_backup_every_1ns => "backup-every-1ns.yaml",
    corpus_backup_huge_key_space => "backup-huge-key-space.yaml",
    corpus_autoscaler_interval_1ns => "autoscaler-interval-1ns.yaml",
    corpus_random_fault_mtbf_mttr_1ns => "random-fault-mtbf-mttr-1ns.yaml",
    corpus_client_timeout_60s_high_rate => "client-timeout-60s-high-rate.yaml",
    corpus_rate_limit_per_identity_high_rate => "rate-limit-per-identity-high-rate.yaml",
    corpus_trace_dev_zero => "trace-dev-zero.yaml",
    corpus_empirical_dev_zero => "empirical-dev-zero.yaml",
    corpus_name_300_characters => "name-300-characters.yaml",
    corpus_name_nul => "name-nul.yaml",
    corpus_sixteen_databases_huge_key_space => "sixteen-databases-huge-key-space.yaml",
    corpus_interval_1ns => "interval-1ns.yaml",
}

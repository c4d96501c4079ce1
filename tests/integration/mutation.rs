//! Scenario mutators shared by the fuzz tests: the in-process one in
//! `errors.rs` (catches panics) and the one through the binary in `fuzz.rs`
//! (also catches hangs and memory blow-ups). Seeded and deterministic.

/// `scenarios/single-server.yaml`, plus a load balancer, calls (sequential,
/// parallel, probabilistic) and network latency.
pub(crate) const FUZZ_BASE: &str = r#"name: single-server
description: >
  One API server with one core answers requests that each take 10 ms on
  average (exponential), offered at 80 requests per second: utilisation 0.8.
tags: [single-server, queueing]
seed: 1
duration: 10m
warmup: 30s
clients:
  users:
    arrival: { poisson: 80/s }
    target: lb
    timeout: 2s
    requests: { read: 0.9, write: 0.1 }
    keys: { zipf: { n: 1000, s: 0.99 } }
    identities: 50
components:
  lb:
    kind: load_balancer
    algorithm: least_connections
    backends: api
  api:
    kind: service
    replicas: 2
    cores: 1
    speed: [1, 2]
    service_time: { exponential: 10ms }
    queue_capacity: 50
    calls: [ auth, { parallel: [ db, { target: cache, probability: 0.5 } ] } ]
  auth:
    kind: service
    service_time: { uniform: [1ms, 2ms] }
  db:
    kind: service
    cores: 2
    service_time: { read: { lognormal: { mean: 3ms, cv: 0.5 } }, write: { erlang: { k: 2, mean: 5ms } } }
    calls: [ { target: cache, on: write, timeout: 50ms } ]
  cache:
    kind: service
    discipline: processor_sharing
    max_concurrency: 10
    service_time: 1ms
network:
  latency: { exponential: 300us }
"#;

/// xorshift64*: small, seeded, deterministic.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub(crate) fn nasty_values() -> Vec<String> {
    let mut v: Vec<String> = [
        "-1",
        "0",
        "1",
        "-0",
        "1e309",
        "-1e309",
        "1e-320",
        "\"\"",
        "''",
        "[]",
        "{}",
        "[[]]",
        "{ a: 1 }",
        "~",
        "null",
        "NaN",
        ".nan",
        ".inf",
        "-.inf",
        "true",
        "18446744073709551616",
        "18446744073709551615",
        "9223372036854775807",
        "-9223372036854775808",
        "4294967296",
        "99999999999h",
        "18446744073.709551615s",
        "1ns",
        "0ns",
        "-1s",
        "1e9/s",
        "0/s",
        "1/h",
        "2.5",
        "0.0000001",
        "1e-300/s",
        "lb",
        "api",
        "users",
        "kind",
        "service",
        "load_balancer",
        "*x",
        "&x",
        "!!binary aGk=",
        "!!str 3",
        "|",
        ">",
        "\"unterminated",
        "'",
        "{",
        "[",
        "}",
        ":",
        "- x",
        "#",
        "%YAML 1.2",
        "? x",
        "\\u0000",
        "\u{0}",
        "\u{7}",
        "é",
        "𝒳",
        "\t",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("x".repeat(5_000));
    v.push(format!("\"{}\"", "\\n".repeat(1_000)));
    v.push("[".repeat(300));
    v.push(format!("{{ uniform: [{}, 1ms] }}", "9".repeat(400)));
    v
}

/// Values that are often valid but extreme for a field named `key`, for
/// the second half of the mutations, which change one value at a time and
/// so mostly still load and run.
pub(crate) fn edge_values(key: &str) -> &'static [&'static str] {
    const DURATIONS: &[&str] = &[
        "0s",
        "1ns",
        "0.5",
        "1d",
        "18446744073.709551615s",
        "99999999999h",
        "{ exponential: 1ns }",
        "{ constant: 0s }",
        "{ pareto: { min: 1ns, alpha: 0.01 } }",
        "{ weibull: { scale: 1ms, shape: 0.01 } }",
        "{ lognormal: { mean: 1ms, cv: 1000 } }",
        "{ normal: { mean: 0s, std: 18446744073s } }",
        "{ erlang: { k: 4294967295, mean: 1ms } }",
        "{ uniform: [0s, 18446744073.709551615s] }",
        "{ read: 0s }",
        "{ write: 1d }",
    ];
    const RATES: &[&str] = &["0/s", "0", "1e-300/s", "1/h", "1e4/s", "1e9/s", "0.5"];
    const ARRIVALS: &[&str] = &[
        "{ poisson: 0/s }",
        "{ constant: 1e-300/s }",
        "{ constant: 1000/s }",
        "{ interarrival: 1ns }",
        "{ interarrival: { pareto: { min: 1ns, alpha: 0.5 } } }",
        "{ schedule: [ { at: 0s, rate: 0/s }, { at: 10ms, rate: 1000/s } ] }",
        "{ schedule: [ { at: 1d, rate: 5/s } ] }",
        "{ diurnal: { mean: 1000/s, amplitude: 1, period: 1ns } }",
        "{ diurnal: { mean: 1e-300/s, amplitude: 1 } }",
        "{ closed: { users: 1000, think_time: 0s } }",
        "{ closed: { users: 1, think_time: 1d } }",
    ];
    const INTS: &[&str] = &["0", "1", "2", "100000", "9223372036854775807", "4294967296", "-1"];
    const FLOATS: &[&str] = &["0", "1", "0.5", "1e-300", "1e300", "-0.0", "100000", "2"];
    const NAMES: &[&str] = &["lb", "api", "auth", "db", "cache", "users", "single-server"];
    const ALGORITHMS: &[&str] = &[
        "round_robin",
        "weighted_round_robin",
        "random",
        "least_connections",
        "power_of_two",
        "ip_hash",
        "consistent_hash",
        "sticky",
        "least_time",
    ];
    const SPEEDS: &[&str] = &["1e-300", "1e300", "[1]", "[1, 1e-300]", "[1e300, 0.5]", "0.001"];
    const CALLS: &[&str] = &[
        "[]",
        "[ db ]",
        "[ auth, auth, auth ]",
        "[ { parallel: [ db, db, cache, auth ] } ]",
        "[ { target: cache, probability: 0 } ]",
        "[ { target: db, on: write, timeout: 1ns } ]",
        "[ lb ]",
    ];
    const REQUESTS: &[&str] = &[
        "{ read: 0, write: 1 }",
        "{ write: 1e-300 }",
        "{ read: 1e300, write: 1e300 }",
        "{}",
    ];
    const KEYS: &[&str] = &[
        "{ uniform: 1 }",
        "{ uniform: 9223372036854775807 }",
        "{ zipf: { n: 1, s: 0 } }",
        "{ zipf: { n: 9223372036854775807, s: 100 } }",
        "{ zipf: { n: 2, s: 1e-300 } }",
    ];
    match key {
        "duration" | "warmup" | "timeout" | "period" | "at" | "min" | "max" | "mean" | "exponential"
        | "constant" | "scale" | "std" => DURATIONS,
        "service_time" | "latency" | "think_time" | "interarrival" => DURATIONS,
        "poisson" | "rate" => RATES,
        "arrival" => ARRIVALS,
        "replicas" | "cores" | "queue_capacity" | "max_concurrency" | "identities" | "n" | "k" | "seed"
        | "users" | "choices" | "vnodes" => INTS,
        "probability" | "s" | "cv" | "amplitude" | "alpha" | "shape" | "read" | "write" => FLOATS,
        "speed" => SPEEDS,
        "target" | "backends" | "name" => NAMES,
        "algorithm" => ALGORITHMS,
        "discipline" => &["fifo", "processor_sharing"],
        "on" => &["read", "write"],
        "kind" => &["service", "load_balancer"],
        "calls" => CALLS,
        "requests" => REQUESTS,
        "keys" => KEYS,
        _ => FLOATS,
    }
}

/// The `key: value` pairs of `line`: each key with the byte span of its
/// whole value (a flow map or sequence up to its closing bracket).
pub(crate) fn key_values(line: &str) -> Vec<(&str, usize, usize)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    for (i, _) in line.match_indices(": ") {
        let k0 = line[..i]
            .char_indices()
            .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |(p, c)| p + c.len_utf8());
        let start = i + 2;
        let mut end = start;
        let mut depth = 0i32;
        while end < b.len() {
            match b[end] {
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => break,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        end += 1;
                        break;
                    }
                }
                b',' if depth == 0 => break,
                _ => {}
            }
            end += 1;
        }
        let end = start + line[start..end].trim_end().len();
        if end > start {
            out.push((&line[k0..i], start, end));
        }
    }
    out
}

/// Sets one value of the text to an extreme one for its field (or, one
/// time in five, to a nasty one).
pub(crate) fn edge_edit(text: &str, rng: &mut XorShift, nasty: &[String]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Lines with at least one `key: value`.
    let candidates: Vec<usize> = (0..lines.len())
        .filter(|&i| !key_values(&lines[i]).is_empty())
        .collect();
    let i = candidates[rng.below(candidates.len())];
    let pairs = key_values(&lines[i]);
    let (key, s, e) = pairs[rng.below(pairs.len())];
    let value = if rng.below(5) == 0 {
        nasty[rng.below(nasty.len())].clone()
    } else {
        let values = edge_values(key);
        values[rng.below(values.len())].to_string()
    };
    lines[i] = format!("{}{value}{}", &lines[i][..s], &lines[i][e..]);
    lines.join("\n") + "\n"
}

/// Byte spans of the scalar values in `line`: what follows `: `, `[`, `,`
/// or a leading `- `, up to the next `,`, `]`, `}` or the end of the line
/// (values that open a flow map or sequence are not scalars).
pub(crate) fn scalar_spans(line: &str) -> Vec<(usize, usize)> {
    let b = line.as_bytes();
    let mut starts = Vec::new();
    for j in 1..b.len() {
        if (b[j - 1] == b':' && b[j] == b' ') || b[j - 1] == b'[' || b[j - 1] == b',' {
            starts.push(j);
        }
    }
    let indent = line.len() - line.trim_start().len();
    if line[indent..].starts_with("- ") {
        starts.push(indent + 2);
    }
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for s in starts {
        let s = s + (b.len() - s - line[s..].trim_start().len());
        if s >= b.len() || matches!(b[s], b'{' | b'[') {
            continue;
        }
        let e = s + line[s..].find([',', ']', '}']).unwrap_or(b.len() - s);
        let e = s + line[s..e].trim_end().len();
        if e > s && !spans.contains(&(s, e)) {
            spans.push((s, e));
        }
    }
    spans
}

/// Replaces one scalar of `line` with `value` (or, on a line without one,
/// its key).
pub(crate) fn replace_scalar(line: &str, rng: &mut XorShift, value: &str) -> String {
    let spans = scalar_spans(line);
    if spans.is_empty() {
        let indent = line.len() - line.trim_start().len();
        let end = line.find(':').unwrap_or(line.len()).max(indent);
        return format!("{}{value}{}", &line[..indent], &line[end..]);
    }
    let (s, e) = spans[rng.below(spans.len())];
    format!("{}{value}{}", &line[..s], &line[e..])
}

/// One random edit of the scenario text.
pub(crate) fn mutate(text: &str, rng: &mut XorShift, nasty: &[String]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let i = rng.below(lines.len());
    match rng.below(20) {
        0 | 1 => {
            lines.remove(i);
        }
        2 | 3 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        4..=13 => {
            let v = &nasty[rng.below(nasty.len())];
            lines[i] = replace_scalar(&lines[i], rng, v);
        }
        14 | 15 => {
            // Indent or dedent by one or two spaces, or with a tab.
            let l = &lines[i];
            lines[i] = match rng.below(4) {
                0 => format!(" {l}"),
                1 => format!("  {l}"),
                2 => format!("\t{l}"),
                _ => l.strip_prefix("  ").unwrap_or(l).to_string(),
            };
        }
        16 => {
            let j = rng.below(lines.len());
            lines.swap(i, j);
        }
        17 | 18 => {
            // Insert a stray character somewhere in the line.
            let chars: Vec<char> = lines[i].chars().collect();
            let at = rng.below(chars.len() + 1);
            let c = [
                '{', '}', '[', ']', ':', ',', '-', '&', '*', '!', '\'', '"', '#', '|', '\t', '?',
            ][rng.below(16)];
            let mut s: String = chars[..at].iter().collect();
            s.push(c);
            s.extend(&chars[at..]);
            lines[i] = s;
        }
        _ => {
            // Truncate the line at a random character.
            let chars: Vec<char> = lines[i].chars().collect();
            let at = rng.below(chars.len() + 1);
            lines[i] = chars[..at].iter().collect();
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// `--set` paths tried along with the mutations: valid ones, ones through
/// scalars and sequences, out-of-range indexes and malformed paths.
pub(crate) const SET_PATHS: &[&str] = &[
    "components.api.replicas",
    "components.api.speed",
    "components.api.speed.1",
    "components.api.speed.7",
    "components.api.calls",
    "components.api.calls.1.parallel.0",
    "components.api.calls.1.parallel.1.probability",
    "components.api.calls.9",
    "components.api.calls.x",
    "components.lb.backends",
    "components.lb.algorithm",
    "components.new.kind",
    "clients.users.arrival",
    "clients.users.arrival.poisson",
    "clients.users.keys",
    "clients.users",
    "clients",
    "network.latency",
    "name.x",
    "seed",
    "0",
    "..",
    "a..b",
    " ",
    "components.api.service_time.exponential.x",
];

/// The data tier's vocabulary: caches, a CDN, a sharded quorum database,
/// static content and resharding events.
pub(crate) const DATA_FUZZ_BASE: &str = r#"name: data
seed: 3
duration: 10m
warmup: 30s
clients:
  users:
    arrival: { poisson: 200/s }
    target: api
    timeout: 2s
    requests: { read: 0.7, write: 0.3 }
    keys: { zipf: { n: 5000, s: 1.1 } }
    static: { fraction: 0.3, target: edge, keys: { uniform: 300 } }
components:
  api:
    kind: service
    replicas: 2
    service_time: { exponential: 1ms }
    calls: [ aside, { target: wb, on: write } ]
  aside:
    kind: cache
    capacity: 100
    eviction: lfu
    ttl: 2s
    read_policy: cache_aside
    write_policy: invalidate
    backend: db
    hit_time: 100us
    nodes: 3
  wb:
    kind: cache
    capacity: 50
    eviction: random
    write_policy: write_back
    flush_interval: 20ms
    backend: rr
  rr:
    kind: database
    shards: 3
    partitioning: range
    replicas: 2
    replication: sync
    reads: any
    read_time: 1ms
    replication_lag: { exponential: 5ms }
  edge:
    kind: cdn
    capacity: 20
    eviction: fifo
    origin: api
    origin_latency: 10ms
  db:
    kind: database
    shards: 2
    partitioning: { consistent_hash: { vnodes: 8 } }
    replication: { quorum: { n: 3, w: 2, r: 2 } }
    read_time: { exponential: 1ms }
    write_time: { exponential: 2ms }
    queue_capacity: 20
    directory_time: 1ms
events:
  - { at: 10ms, add_shard: db }
  - { at: 20ms, remove_shard: rr }
  - { at: 30ms, add_shard: rr }
"#;

pub(crate) const DATA_SET_PATHS: &[&str] = &[
    "components.aside.capacity",
    "components.aside.nodes",
    "components.aside.ttl",
    "components.aside.read_policy",
    "components.wb.write_policy",
    "components.wb.flush_interval",
    "components.db.shards",
    "components.db.partitioning",
    "components.db.replication.quorum.n",
    "components.db.replication.quorum.w",
    "components.db.replicas",
    "components.rr.replication",
    "components.rr.reads",
    "components.edge.origin",
    "clients.users.static.fraction",
    "clients.users.keys.zipf.n",
    "events.0.at",
    "events.1",
];

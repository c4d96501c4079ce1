//! Data-tier benchmark (issue: data tier, "Must show": caches and databases
//! at 10^6 keys keep per-request cost flat).
//!
//! The same system — a client, a 2-node LRU/LFU cache holding 10% of the
//! keys, a 4-shard database with two async followers per shard under
//! consistent hashing, 20% writes, zipf keys — is run with 10^4, 10^5 and
//! 10^6 keys. For each size it prints the wall-clock nanoseconds per
//! request of the simulation alone (building the tables is timed apart) and
//! the cache hit ratio. Flat per-request cost means every cache and
//! database operation is O(1) or O(log n) in the number of keys.
//!
//! `cargo bench --bench data` (add `-- --requests N`; default 2,000,000).

use std::path::Path;
use std::time::Instant;

use archsim::model::World;
use archsim::scenario::{BuildOptions, load_str};

fn scenario(keys: u64, requests: u64, eviction: &str) -> String {
    let rate = 20_000.0;
    let duration_s = (requests as f64 / rate).ceil() as u64;
    let capacity = keys / 20; // two nodes: 10% of the keys in all
    format!(
        "name: data-bench\nseed: 1\nduration: {duration_s}s\n\
         clients:\n  c: {{ arrival: {{ poisson: {rate}/s }}, target: cache, requests: {{ read: 0.8, write: 0.2 }}, keys: {{ zipf: {{ n: {keys}, s: 0.9 }} }} }}\n\
         components:\n\
         \x20 cache: {{ kind: cache, capacity: {capacity}, eviction: {eviction}, nodes: 2, backend: db, hit_time: 100us, write_policy: invalidate }}\n\
         \x20 db: {{ kind: database, shards: 4, partitioning: {{ consistent_hash: {{ vnodes: 100 }} }}, replicas: 2, reads: any, read_time: {{ exponential: 200us }}, cores: 16 }}\n"
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let requests: u64 = args
        .iter()
        .position(|a| a == "--requests")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    for eviction in ["lru", "lfu"] {
        let mut base = None;
        for keys in [10_000u64, 100_000, 1_000_000] {
            let (_, cfg) = load_str(
                "bench",
                &scenario(keys, requests, eviction),
                Path::new("."),
                &[],
                &BuildOptions::default(),
            )
            .expect("benchmark scenario loads");
            let t = Instant::now();
            let world = World::new(&cfg, 1);
            let build_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let out = world.run();
            let secs = t.elapsed().as_secs_f64();
            let done = out.metrics.get("requests.completed").copied().unwrap_or(0.0);
            let per_req = secs / done.max(1.0) * 1e9;
            let rel = match base {
                None => {
                    base = Some(per_req);
                    1.0
                }
                Some(b) => per_req / b,
            };
            println!(
                "{eviction}, {keys:>9} keys: {done:.0} requests in {secs:.2} s = {per_req:.0} ns/request \
                 ({rel:.2}× the 10^4-key cost), tables built in {:.3} s, hit ratio {:.3}, {:.1} M events/s",
                build_s,
                out.metrics
                    .get("components.cache.hit_ratio")
                    .copied()
                    .unwrap_or(0.0),
                out.events as f64 / secs / 1e6
            );
        }
    }
}

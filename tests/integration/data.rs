//! Validation of the data-layer models — caches, partitioning, replication —
//! against closed-form results and against invariants that must hold in
//! every run.
//!
//! # Method
//!
//! * **Caches** are driven by Poisson clients drawing keys independently
//!   from a Zipf (or uniform) popularity: the independent reference model,
//!   for which the hit ratio of each eviction policy has a known
//!   approximation or exact value (`archsim::theory`). The cache answers in
//!   zero time and the backend reads in zero time, so a miss fills the entry
//!   at the instant of the miss, as the models assume. Each configuration
//!   runs R = 10 replications (fixed seeds) of a run whose warm-up is many
//!   times the time the cache needs to fill (asserted: at least
//!   10 · capacity / miss ratio lookups); the per-replication hit ratios give
//!   a mean and a 99.9% Student-t interval mean ± t_{0.9995, R−1} · s/√R.
//!   Approximations (Che, the FIFO/RANDOM Che-type formula, top-C mass for
//!   perfect LFU) are asserted within an absolute 0.01 of the mean, with an
//!   interval at most ±0.005 wide so that the comparison is not noise;
//!   exact results (the TTL renewal formula, write-back coalescing) must lie
//!   inside the interval as well.
//! * **Partitioning** is deterministic given the key space (ring points are
//!   hashes of the database name), so shard spreads and moved-key fractions
//!   come from one long run each, with enough requests that the sampling
//!   noise of per-shard counts (≈ 1/√(requests per shard)) is an order of
//!   magnitude below the effect measured.
//! * **Replication** invariants (no stale read when r + w > n, none from the
//!   primary) are asserted exactly, in every replication; quantities with a
//!   formula (follower staleness under async replication, the extra write
//!   latency of sync replication) are checked against it with replications
//!   and intervals as above. Sync and async runs with the same seed see the
//!   same arrivals and service times (the simulator draws them from separate
//!   streams), so their per-replication difference isolates the replication
//!   wait.
//!
//! Every comparison prints theory, simulated value and interval on stdout
//! (see them with `--nocapture`); the assertion messages repeat them.

use archsim::model::RunOutput;
use archsim::stats::student_t_quantile;
use archsim::theory;

use crate::common::{per_rep, run_yaml};

/// Two-sided 99.9% intervals.
const CONF_P: f64 = 0.9995;
/// Absolute tolerance of the hit-ratio approximations.
const HIT_TOL: f64 = 0.01;
/// Widest interval half-width accepted for a hit ratio.
const HIT_HALF_MAX: f64 = 0.005;
/// Keys of the cache scenarios.
const N_KEYS: u64 = 10_000;

/// Mean and 99.9% Student-t half-width of per-replication values.
#[derive(Clone, Copy, Debug)]
struct Est {
    mean: f64,
    half: f64,
}

impl Est {
    fn of(xs: &[f64]) -> Est {
        assert!(xs.len() >= 2, "an interval needs at least two replications");
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let ss: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
        let se = (ss / (n - 1.0) / n).sqrt();
        Est {
            mean,
            half: student_t_quantile(CONF_P, n - 1.0) * se,
        }
    }
}

impl std::fmt::Display for Est {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.5} ± {:.5} (99.9%)", self.mean, self.half)
    }
}

/// An approximation: the simulated mean within `tol` of `approx`, and an
/// interval at most `half_max` wide.
fn assert_near(label: &str, approx: f64, xs: &[f64], tol: f64, half_max: f64) -> Est {
    let e = Est::of(xs);
    println!(
        "[data] {label}: theory {approx:.5}, simulated {e}, difference {:+.5} (allowed ±{tol})",
        e.mean - approx
    );
    assert!(
        (e.mean - approx).abs() < tol,
        "{label}: simulated {e} is not within {tol} of theory {approx:.5}"
    );
    assert!(
        e.half <= half_max,
        "{label}: interval {e} too wide (allowed ±{half_max}) to validate anything"
    );
    e
}

/// An exact result: `exact` inside the 99.9% interval (widened by `slack`),
/// and the interval at most `half_max` wide.
fn assert_inside(label: &str, exact: f64, xs: &[f64], slack: f64, half_max: f64) -> Est {
    let e = Est::of(xs);
    println!("[data] {label}: theory {exact:.5}, simulated {e}");
    assert!(
        (e.mean - exact).abs() <= e.half + slack,
        "{label}: theory {exact:.5} outside the simulated interval {e} (slack {slack})"
    );
    assert!(
        e.half <= half_max,
        "{label}: interval {e} too wide (allowed ±{half_max}) to validate anything"
    );
    e
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn total(outs: &[RunOutput], metric: &str) -> f64 {
    per_rep(outs, metric).iter().sum()
}

/// The `keys:` block of a client (indented for `clients.<name>`).
fn zipf_keys(n: u64, s: f64) -> String {
    format!("    keys:\n      zipf:\n        n: {n}\n        s: {s:?}\n")
}

/// A Poisson client `web` reading through a cache `cache` (zero hit time) in
/// front of a database `db` that reads in zero time. `cache_extra` are more
/// lines of the cache (indented by four spaces).
fn cache_scenario(rate: u64, keys: &str, cache_extra: &str, warmup_s: u64, window_s: u64) -> String {
    format!(
        "name: cache-model
duration: {duration}s
warmup: {warmup_s}s
clients:
  web:
    arrival:
      poisson: {rate}/s
    target: cache
{keys}components:
  cache:
    kind: cache
    hit_time:
      constant: 0s
    backend: db
{cache_extra}  db:
    kind: database
    read_time:
      constant: 0s
",
        duration = warmup_s + window_s
    )
}

/// Runs a read-through cache under Zipf(N_KEYS, s) keys at 10,000 lookups/s
/// and returns the per-replication hit ratios. The warm-up is at least
/// `min_warmup_s` and at least 10 · capacity / miss ratio lookups, ten times
/// what it takes to fill the cache (`expected` is the theory's hit ratio);
/// ≥ 500k lookups are counted after it.
fn zipf_cache_hit_ratios(
    label: &str,
    s: f64,
    capacity: u64,
    eviction: &str,
    expected: f64,
    min_warmup_s: u64,
    seed: u64,
) -> Vec<f64> {
    const RATE: u64 = 10_000;
    const WINDOW_S: u64 = 10;
    let fill = 10.0 * capacity as f64 / (1.0 - expected);
    let warmup_s = min_warmup_s.max((fill / RATE as f64).ceil() as u64);
    println!(
        "[data] {label}: warm-up {warmup_s} s = {} lookups (10 × capacity / miss ratio = {fill:.0})",
        RATE * warmup_s
    );
    let yaml = cache_scenario(
        RATE,
        &zipf_keys(N_KEYS, s),
        &format!("    capacity: {capacity}\n    eviction: {eviction}\n"),
        warmup_s,
        WINDOW_S,
    );
    let (_, outs) = run_yaml(&yaml, seed, 10);
    let lookups = total(&outs, "components.cache.hits") + total(&outs, "components.cache.misses");
    println!(
        "[data] {label}: {lookups:.3e} lookups after warm-up over {} replications",
        outs.len()
    );
    assert!(lookups >= 5e5, "{label}: only {lookups} lookups");
    per_rep(&outs, "components.cache.hit_ratio")
}

// ============================================================================================
// Caches
// ============================================================================================

/// LRU under the independent reference model against Che's approximation
/// (Che, Tung & Wang 2002; shown asymptotically exact for Zipf popularity by
/// Fricker, Robert & Roberts 2012): the characteristic time T solves
/// Σ_k (1 − e^{−p_k T}) = C and the hit ratio is Σ_k p_k (1 − e^{−p_k T}).
/// N = 10,000 keys, C ∈ {100, 1000}, s ∈ {0.8, 1.2}.
#[test]
fn lru_hit_ratio_matches_che() {
    for (i, s) in [0.8, 1.2].into_iter().enumerate() {
        let p = theory::zipf_popularity(N_KEYS, s);
        for (j, c) in [100u64, 1000].into_iter().enumerate() {
            let che = theory::lru_hit_ratio_che(&p, c as f64).unwrap();
            let label = format!("LRU C={c} zipf s={s}");
            let xs = zipf_cache_hit_ratios(&label, s, c, "lru", che, 5, 1100 + (2 * i + j) as u64);
            assert_near(
                &format!("{label} hit ratio vs Che"),
                che,
                &xs,
                HIT_TOL,
                HIT_HALF_MAX,
            );
        }
    }
}

/// FIFO and RANDOM against the Che-type approximation of Martina, Garetto &
/// Leonardi (2014) (for RANDOM also Gelenbe 1973): T solves
/// Σ_k p_k T / (1 + p_k T) = C and the hit ratio is Σ_k p_k · p_k T / (1 + p_k T);
/// both policies have the same value.
#[test]
fn fifo_and_random_hit_ratios_match_che_type_approximation() {
    let mut seed = 1200;
    for eviction in ["fifo", "random"] {
        for (s, c) in [(0.8, 1000u64), (1.2, 100)] {
            let p = theory::zipf_popularity(N_KEYS, s);
            let approx = theory::fifo_hit_ratio_che(&p, c as f64).unwrap();
            let label = format!("{} C={c} zipf s={s}", eviction.to_uppercase());
            seed += 1;
            let xs = zipf_cache_hit_ratios(&label, s, c, eviction, approx, 5, seed);
            assert_near(
                &format!("{label} hit ratio vs Martina et al."),
                approx,
                &xs,
                HIT_TOL,
                HIT_HALF_MAX,
            );
        }
    }
}

/// Perfect LFU (every request counted, present or not) under stationary
/// popularity ends up holding the C most popular keys, so its hit ratio
/// tends to their probability mass (e.g. Fricker, Robert & Roberts 2012).
/// The counts start at time 0, so a long warm-up (200,000 lookups, 200 ×
/// the capacity) lets the ranking around rank C settle.
#[test]
fn lfu_hit_ratio_is_top_c_mass() {
    for (i, (s, c)) in [(0.8, 1000u64), (1.2, 100)].into_iter().enumerate() {
        let p = theory::zipf_popularity(N_KEYS, s);
        let top = theory::lfu_hit_ratio(&p, c as usize);
        let label = format!("LFU C={c} zipf s={s}");
        let xs = zipf_cache_hit_ratios(&label, s, c, "lfu", top, 20, 1300 + i as u64);
        assert_near(
            &format!("{label} hit ratio vs top-C mass"),
            top,
            &xs,
            HIT_TOL,
            HIT_HALF_MAX,
        );
    }
}

/// A non-resetting TTL with room for every key: each key alternates a miss
/// (which loads it) and a TTL-long life, during which its Poisson requests
/// (rate λ p_k) all hit; by renewal-reward the key's hit ratio is
/// x/(1 + x) with x = λ p_k T, and the cache's is Σ_k p_k x_k/(1 + x_k)
/// (Fofack, Nain, Neglia & Towsley 2014). Exact under Poisson arrivals, so
/// the formula must lie inside the interval (as well as within 0.01).
/// λ = 2000/s, N = 1000 keys, s = 0.8, T ∈ {0.1 s, 1 s}, capacity N.
#[test]
fn ttl_hit_ratio_matches_renewal_formula() {
    const RATE: u64 = 2000;
    const N: u64 = 1000;
    let p = theory::zipf_popularity(N, 0.8);
    for (i, ttl_s) in [0.1, 1.0].into_iter().enumerate() {
        let exact = theory::ttl_hit_ratio(&p, RATE as f64, ttl_s);
        let yaml = cache_scenario(
            RATE,
            &zipf_keys(N, 0.8),
            &format!(
                "    capacity: {N}\n    eviction: lru\n    ttl: {}ms\n",
                ttl_s * 1e3
            ),
            5,
            25,
        );
        let (_, outs) = run_yaml(&yaml, 1400 + i as u64, 10);
        let label = format!("TTL {ttl_s}s rate {RATE}/s N={N}");
        let lookups = total(&outs, "components.cache.hits") + total(&outs, "components.cache.misses");
        println!("[data] {label}: {lookups:.3e} lookups after warm-up");
        assert!(lookups >= 4.5e5, "{label}: only {lookups} lookups");
        assert_eq!(
            total(&outs, "components.cache.evictions"),
            0.0,
            "{label}: capacity N must never evict"
        );
        let e = assert_inside(
            &format!("{label} hit ratio vs renewal formula"),
            exact,
            &per_rep(&outs, "components.cache.hit_ratio"),
            0.0,
            HIT_HALF_MAX,
        );
        assert!((e.mean - exact).abs() < HIT_TOL);
    }
}

/// Cache-aside: a service `api` asks the cache, and on a miss reads the
/// database itself and fills the cache. Under the same load it must see the
/// same hit ratio as read-through (both are LRU under the same reference
/// string: Che's value), send one database read per miss (within 1%), and
/// complete every request (availability 1).
#[test]
fn cache_aside_matches_read_through() {
    let p = theory::zipf_popularity(N_KEYS, 0.8);
    let che = theory::lru_hit_ratio_che(&p, 1000.0).unwrap();
    let scenario = |policy: &str| {
        format!(
            "name: cache-aside
duration: 25s
warmup: 5s
clients:
  web:
    arrival:
      poisson: 5000/s
    target: api
{keys}components:
  api:
    kind: service
    replicas: 2
    service_time:
      exponential: 0.1ms
    calls: [cache]
  cache:
    kind: cache
    capacity: 1000
    eviction: lru
    read_policy: {policy}
    hit_time:
      constant: 0s
    backend: db
  db:
    kind: database
    read_time:
      exponential: 0.1ms
",
            keys = zipf_keys(N_KEYS, 0.8)
        )
    };
    let mut ratios = Vec::new();
    for policy in ["read_through", "cache_aside"] {
        let (_, outs) = run_yaml(&scenario(policy), 1500, 10);
        let hr = per_rep(&outs, "components.cache.hit_ratio");
        assert_near(
            &format!("{policy} hit ratio vs Che"),
            che,
            &hr,
            HIT_TOL,
            HIT_HALF_MAX,
        );
        let misses = per_rep(&outs, "components.cache.misses");
        let db_reads = per_rep(&outs, "components.db.reads");
        for (i, (m, r)) in misses.iter().zip(&db_reads).enumerate() {
            println!("[data] {policy} rep {i}: cache misses {m}, database reads {r}");
            assert!(
                (r - m).abs() <= 0.01 * m,
                "{policy} rep {i}: database reads {r} differ from cache misses {m} by more than 1%"
            );
        }
        let avail = per_rep(&outs, "availability");
        println!("[data] {policy} availability per replication: {avail:?}");
        assert!(
            avail.iter().all(|&a| a == 1.0),
            "{policy}: availability {avail:?}"
        );
        if policy == "cache_aside" {
            // The service, not the cache, reads the database.
            assert_eq!(total(&outs, "components.cache.backend_reads"), 0.0);
        }
        ratios.push(mean(&hr));
    }
    println!(
        "[data] hit ratio read_through {:.5} vs cache_aside {:.5} (Che {che:.5})",
        ratios[0], ratios[1]
    );
    assert!((ratios[0] - ratios[1]).abs() < HIT_TOL);
}

/// Write-back coalescing: with capacity for every key (nothing evicted) and
/// flushes every T, a key costs one backend write per flush interval in
/// which it was written at least once. Writes to key k are Poisson at
/// w_k = λ_w p_k, so the backend writes per interval are
/// D = Σ_k (1 − e^{−w_k T}) < λ_w T, and the time-average number of dirty
/// entries is Σ_k [1 − (1 − e^{−w_k T}) / (w_k T)] (key k is dirty at phase u
/// of an interval with probability 1 − e^{−w_k u}). Backend writes take zero
/// time, so flushes are acknowledged at once, as these formulas assume.
/// The window W counts the flushes at both of its ends, so between W/T and
/// W/T + 1 intervals' worth. Write-through instead forwards every write:
/// database writes equal cache writes.
#[test]
fn write_back_coalesces_writes() {
    const RATE: f64 = 2000.0;
    const WINDOW_S: f64 = 50.0;
    let p = theory::zipf_popularity(N_KEYS, 0.8);
    let lw = 0.5 * RATE;
    let t = 1.0;
    let per_flush: f64 = p.iter().map(|&pk| -(-lw * pk * t).exp_m1()).sum();
    let dirty: f64 = p
        .iter()
        .map(|&pk| {
            let x = lw * pk * t;
            1.0 + (-x).exp_m1() / x
        })
        .sum();
    let scenario = |policy: &str| {
        format!(
            "name: write-back
duration: {duration}s
warmup: 10s
clients:
  web:
    arrival:
      poisson: {RATE}/s
    target: cache
    requests:
      read: 0.5
      write: 0.5
{keys}components:
  cache:
    kind: cache
    capacity: {N_KEYS}
    write_policy: {policy}
    flush_interval: 1s
    hit_time:
      constant: 0s
    backend: db
  db:
    kind: database
    read_time:
      constant: 0s
    write_time:
      constant: 0s
",
            keys = zipf_keys(N_KEYS, 0.8),
            duration = 10.0 + WINDOW_S
        )
    };

    let (_, outs) = run_yaml(&scenario("write_back"), 1600, 10);
    assert_eq!(total(&outs, "components.cache.evictions"), 0.0);
    let writes = per_rep(&outs, "components.cache.writes");
    let backend = per_rep(&outs, "components.cache.backend_writes");
    let db_writes = per_rep(&outs, "components.db.writes");
    for (i, ((w, b), d)) in writes.iter().zip(&backend).zip(&db_writes).enumerate() {
        println!(
            "[data] write_back rep {i}: {w} writes, {b} backend writes (ratio {:.4}), {d} database writes",
            b / w
        );
        assert!(
            b < w,
            "write_back rep {i}: {b} backend writes, not fewer than {w} writes"
        );
        assert_eq!(b, d, "write_back rep {i}: the database must receive every flush");
    }
    let e = Est::of(&backend);
    let (lo, hi) = (per_flush * WINDOW_S / t, per_flush * (WINDOW_S / t + 1.0));
    println!(
        "[data] write_back backend writes per replication: theory {lo:.1} .. {hi:.1} \
         ({per_flush:.2} distinct keys per 1 s flush, ratio to writes {:.4}), simulated {e}",
        per_flush / (lw * t)
    );
    assert!(
        e.mean + e.half >= lo && e.mean - e.half <= hi,
        "write_back backend writes {e} outside theory {lo:.1} .. {hi:.1}"
    );
    assert!(e.half <= 0.01 * lo, "interval {e} too wide");
    let dm = per_rep(&outs, "components.cache.dirty_mean");
    assert!(dm.iter().all(|&d| d > 0.0));
    assert_inside("write_back dirty_mean entries", dirty, &dm, 0.0, 0.01 * dirty);

    let (_, outs) = run_yaml(&scenario("write_through"), 1600, 10);
    let writes = per_rep(&outs, "components.cache.writes");
    let db_writes = per_rep(&outs, "components.db.writes");
    for (i, (w, d)) in writes.iter().zip(&db_writes).enumerate() {
        println!("[data] write_through rep {i}: {w} cache writes, {d} database writes");
        assert_eq!(w, d, "write_through rep {i}");
    }
}

/// Write-around leaves the cached copy of a written key in place, so later
/// hits return the old version: stale reads. Invalidate deletes the copy
/// after the database write; only the fill race (a miss that read the old
/// version lands after the invalidation) can leave a stale entry, so its
/// stale ratio must be far below write-around's (< 1/10). The database
/// serves from its primary (never stale).
#[test]
fn write_around_leaves_stale_entries() {
    let scenario = |policy: &str| {
        format!(
            "name: write-around
duration: 30s
warmup: 10s
clients:
  web:
    arrival:
      poisson: 2000/s
    target: cache
    requests:
      read: 0.8
      write: 0.2
{keys}components:
  cache:
    kind: cache
    capacity: 1000
    eviction: lru
    write_policy: {policy}
    hit_time:
      constant: 0s
    backend: db
  db:
    kind: database
    reads: primary
    read_time:
      exponential: 0.1ms
    write_time:
      exponential: 0.1ms
",
            keys = zipf_keys(N_KEYS, 0.8)
        )
    };
    let mut ratio = Vec::new();
    for policy in ["write_around", "invalidate", "write_through"] {
        let (_, outs) = run_yaml(&scenario(policy), 1700, 10);
        let stale = per_rep(&outs, "components.cache.stale_reads");
        let hits = total(&outs, "components.cache.hits");
        let r = total(&outs, "components.cache.stale_reads") / hits;
        println!(
            "[data] {policy}: stale cache hits per replication {stale:?}, stale ratio {r:.5} of {hits} hits"
        );
        assert_eq!(
            total(&outs, "components.db.stale_reads"),
            0.0,
            "{policy}: primary reads"
        );
        if policy == "write_around" {
            assert!(
                stale.iter().all(|&s| s > 0.0),
                "write_around must serve stale hits"
            );
        }
        ratio.push(r);
    }
    assert!(
        ratio[1] < 0.1 * ratio[0],
        "invalidate stale ratio {:.5} not below a tenth of write_around's {:.5}",
        ratio[1],
        ratio[0]
    );
}

// ============================================================================================
// Partitioning
// ============================================================================================

/// A database of `shards` shards behind a Poisson reader; zero read time.
fn db_scenario(rate: u64, keys: &str, shards: u32, partitioning: &str, warmup_s: u64) -> String {
    format!(
        "name: partitioning
duration: {duration}s
warmup: {warmup_s}s
clients:
  web:
    arrival:
      poisson: {rate}/s
    target: db
{keys}components:
  db:
    kind: database
    shards: {shards}
    partitioning: {partitioning}
    read_time:
      constant: 0s
",
        duration = warmup_s + 10
    )
}

/// Consistent hashing with v virtual nodes per shard: S·v ring points cut
/// the ring into arcs, and a shard's share is the sum of its v arcs. For
/// uniformly placed points the shares are Dirichlet, so a share is
/// Beta(v, (S−1)v) and the (population) coefficient of variation of the
/// shard loads has E[CV²] = (S − 1)/(S v + 1) — about 1/√v (Karger et al.
/// 1997; the spacings of uniform points, e.g. Pyke 1965). With 10 shards,
/// uniform keys over 100,000 and 10⁶ reads per run, CV must fall as v grows
/// (each step may rise by at most twice the noise floor, measured as the CV
/// of mod-N hashing, whose only spread is key placement and sampling), fall
/// strictly 1 → 16 → 256, and CV·√v must stay within a factor of 3.
#[test]
fn consistent_hashing_spread_shrinks_with_vnodes() {
    const SHARDS: u32 = 10;
    const RATE: u64 = 100_000;
    let keys = "    keys:\n      uniform: 100000\n";
    let cv_of = |partitioning: &str| {
        let (_, outs) = run_yaml(&db_scenario(RATE, keys, SHARDS, partitioning, 1), 1800, 1);
        let reads = total(&outs, "components.db.reads");
        assert!(reads >= 9.5e5, "only {reads} reads");
        (per_rep(&outs, "components.db.shard_load_cv")[0], reads)
    };
    let (floor, reads) = cv_of("hash");
    let sampling = (f64::from(SHARDS) / reads).sqrt();
    println!(
        "[data] noise floor: hash partitioning CV {floor:.5}; request sampling alone ≈ 1/√(reads per shard) = {sampling:.5}"
    );
    let vnodes = [1u32, 4, 16, 64, 256];
    let mut cvs = Vec::new();
    for v in vnodes {
        let (cv, _) = cv_of(&format!("{{ consistent_hash: {{ vnodes: {v} }} }}"));
        let s = f64::from(SHARDS);
        let dirichlet = ((s - 1.0) / (s * f64::from(v) + 1.0)).sqrt();
        println!(
            "[data] consistent_hash vnodes={v:>3}: shard_load_cv {cv:.5}, theory √((S−1)/(Sv+1)) {dirichlet:.5} \
             (ratio {:.2}), cv·√v {:.3}",
            cv / dirichlet,
            cv * f64::from(v).sqrt()
        );
        cvs.push(cv);
    }
    assert!(
        floor < cvs[4] / 4.0 && sampling < cvs[4] / 10.0,
        "noise floor {floor:.5} / sampling {sampling:.5} too close to the CV at 256 vnodes {:.5}",
        cvs[4]
    );
    for i in 1..cvs.len() {
        assert!(
            cvs[i] <= cvs[i - 1] + 2.0 * floor,
            "CV rose from {:.5} ({} vnodes) to {:.5} ({} vnodes)",
            cvs[i - 1],
            vnodes[i - 1],
            cvs[i],
            vnodes[i]
        );
    }
    assert!(
        cvs[0] > cvs[2] && cvs[2] > cvs[4],
        "CV not strictly falling 1 → 16 → 256: {cvs:?}"
    );
    let scaled: Vec<f64> = cvs
        .iter()
        .zip(vnodes)
        .map(|(c, v)| c * f64::from(v).sqrt())
        .collect();
    let (lo, hi) = scaled
        .iter()
        .fold((f64::MAX, 0.0f64), |(l, h), &x| (l.min(x), h.max(x)));
    println!(
        "[data] cv·√v range {lo:.3} .. {hi:.3} (ratio {:.2}, allowed 3)",
        hi / lo
    );
    assert!(hi / lo < 3.0, "cv·√v spread {scaled:?} exceeds a factor of 3");
}

/// Keys whose shard changes on resharding (100,000 uniform keys):
/// * mod-N hashing 4 → 5: a key stays only if h mod 4 = h mod 5, i.e.
///   h mod 20 ∈ {0, 1, 2, 3}: 1/5 stay, 4/5 move;
/// * consistent hashing (200 vnodes) and a directory: only the new shard's
///   share moves, 1/(N + 1) = 1/5 (Karger et al. 1997); and the new shard's
///   share of the requests after the event equals the moved fraction;
/// * equal-width ranges 4 → 5: a key x ∈ [0, 1) moves iff ⌊4x⌋ ≠ ⌊5x⌋,
///   which holds on [.2, .25) ∪ [.4, .5) ∪ [.6, .75) ∪ [.8, 1): exactly 1/2;
/// * consistent hashing 5 → 4: only the removed shard's keys move, ≈ 1/5,
///   and nothing reaches the removed shard afterwards.
#[test]
fn keys_moved_on_reshard() {
    let keys = "    keys:\n      uniform: 100000\n";
    let run = |shards: u32, partitioning: &str, event: &str| {
        let mut yaml = db_scenario(20_000, keys, shards, partitioning, 2);
        yaml.push_str(&format!("events:\n  - at: 2s\n    {event}: db\n"));
        let (_, outs) = run_yaml(&yaml, 1900, 1);
        let moved = per_rep(&outs, "components.db.keys_moved")[0];
        let share4 =
            per_rep(&outs, "components.db.shard[4].requests")[0] / total(&outs, "components.db.reads");
        (moved, share4)
    };
    let ring = "{ consistent_hash: { vnodes: 200 } }";
    for (partitioning, want, tol) in [
        ("hash", 0.8, 0.03),
        (ring, 0.2, 0.05),
        ("directory", 0.2, 0.02),
        ("range", 0.5, 1e-9),
    ] {
        let (moved, share) = run(4, partitioning, "add_shard");
        println!(
            "[data] add_shard 4 → 5, {partitioning}: keys_moved {moved:.5}, theory {want} ± {tol}; \
             new shard's share of reads after the event {share:.5}"
        );
        assert!(
            (moved - want).abs() <= tol,
            "{partitioning}: keys_moved {moved}, want {want} ± {tol}"
        );
        if partitioning == ring || partitioning == "directory" {
            assert!(
                (share - moved).abs() < 0.01,
                "{partitioning}: new shard serves {share:.5} of reads but {moved:.5} of keys moved to it"
            );
        }
    }
    let (moved, share) = run(5, ring, "remove_shard");
    println!(
        "[data] remove_shard 5 → 4, {ring}: keys_moved {moved:.5}, theory 0.2 ± 0.05; removed shard's reads after {share}"
    );
    assert!((moved - 0.2).abs() <= 0.05, "remove_shard: keys_moved {moved}");
    assert_eq!(share, 0.0, "the removed shard still served reads");
}

/// Hot keys under range partitioning: Zipf(s = 1.1) over 10,000 keys with
/// equal-width ranges on 4 shards puts keys 0..2499 — the popular ones — on
/// shard 0, whose share of requests is their probability mass (≈ 0.91);
/// hashing scatters them and its hottest shard gets much less.
#[test]
fn range_partitioning_concentrates_hot_keys() {
    let keys = zipf_keys(N_KEYS, 1.1);
    let p = theory::zipf_popularity(N_KEYS, 1.1);
    let top_quarter: f64 = p[..(N_KEYS / 4) as usize].iter().sum();
    let share = |partitioning: &str| {
        let (_, outs) = run_yaml(&db_scenario(20_000, &keys, 4, partitioning, 2), 2000, 1);
        per_rep(&outs, "components.db.hottest_shard_share")[0]
    };
    let range = share("range");
    let hash = share("hash");
    println!(
        "[data] hottest shard share, zipf s=1.1, 4 shards: range {range:.5} (theory: mass of keys 0..2499 = \
         {top_quarter:.5}), hash {hash:.5} (key 0 alone: {:.5})",
        p[0]
    );
    assert!(range > 0.6, "range hottest share {range}");
    assert!(
        (range - top_quarter).abs() < 0.005,
        "range share {range} vs mass {top_quarter}"
    );
    assert!(hash < range, "hash {hash} not below range {range}");
    assert!(
        hash >= p[0] - 0.005,
        "hash hottest shard {hash} below key 0's own share {}",
        p[0]
    );
}

// ============================================================================================
// Replication
// ============================================================================================

/// A replicated database behind a Poisson client, 70% reads and 30% writes
/// over Zipf(1000, 1.0) keys (hot keys make read/write races likely).
/// `db` are the database's lines after `kind` (indented by four spaces).
fn replicated(rate: u64, mix: (f64, f64), db: &str, window_s: u64) -> String {
    format!(
        "name: replication
duration: {duration}s
warmup: 5s
clients:
  web:
    arrival:
      poisson: {rate}/s
    target: db
    requests:
      read: {r:?}
      write: {w:?}
{keys}components:
  db:
    kind: database
{db}",
        duration = 5 + window_s,
        r = mix.0,
        w = mix.1,
        keys = zipf_keys(1000, 1.0)
    )
}

/// Quorum replication (Dynamo, DeCandia et al. 2007): with r + w > n every
/// read set meets the set of the last committed write, so no read may be
/// stale — in any seed. Checked for (3,2,2), (3,3,1), (3,1,3), (5,3,3) over
/// three replications each with exponential 20 ms lag; (3,1,1) and (3,2,1)
/// (r + w ≤ n) must show stale reads. For (3,1,1) a read asks one random
/// node; the coordinator (1 in 3) has every committed write, another node
/// misses the key's latest write while its lag L exceeds the write's age A.
/// With Poisson writes at w_k = λ_w p_k, A ~ Exp(w_k), so
/// P(L > A) = w_k m / (1 + w_k m) for L ~ Exp(mean m), giving a stale ratio
/// ≈ (2/3) Σ_k p_k x_k/(1 + x_k), x_k = w_k m (approximate: service times
/// are ignored), checked within 10%.
#[test]
fn quorum_overlap_never_reads_stale() {
    let db = |n: u32, w: u32, r: u32| {
        format!(
            "    replication:
      quorum: {{ n: {n}, w: {w}, r: {r} }}
    replication_lag:
      exponential: 20ms
    read_time:
      exponential: 0.2ms
    write_time:
      exponential: 0.2ms
"
        )
    };
    for (i, (n, w, r)) in [(3, 2, 2), (3, 3, 1), (3, 1, 3), (5, 3, 3), (3, 1, 1), (3, 2, 1)]
        .into_iter()
        .enumerate()
    {
        let (_, outs) = run_yaml(
            &replicated(2000, (0.7, 0.3), &db(n, w, r), 25),
            2100 + i as u64,
            3,
        );
        let stale = per_rep(&outs, "components.db.stale_reads");
        let overall = per_rep(&outs, "consistency.stale_reads");
        let reads = per_rep(&outs, "components.db.reads");
        let ratio = per_rep(&outs, "components.db.stale_read_ratio");
        println!(
            "[data] quorum n={n} w={w} r={r}: stale reads per seed {stale:?} of {reads:?} reads (ratio {ratio:.4?})"
        );
        assert_eq!(stale, overall);
        if r + w > n {
            assert!(
                stale.iter().all(|&s| s == 0.0),
                "quorum ({n},{w},{r}): stale reads {stale:?}"
            );
        } else {
            assert!(
                stale.iter().all(|&s| s > 0.0),
                "quorum ({n},{w},{r}): no stale read {stale:?}"
            );
        }
        if (n, w, r) == (3, 1, 1) {
            let p = theory::zipf_popularity(1000, 1.0);
            let approx = 2.0 / 3.0 * follower_stale_ratio(&p, 0.3 * 2000.0, 0.020);
            let got = mean(&ratio);
            println!("[data] quorum (3,1,1) stale ratio {got:.5}, approximate theory {approx:.5}");
            assert!(
                (got - approx).abs() < 0.1 * approx,
                "(3,1,1) stale ratio {got} vs ≈{approx}"
            );
        }
    }
}

/// Probability that a read of a follower whose lag is Exp(mean `lag_s`)
/// misses the key's latest committed write, when writes arrive as Poisson at
/// `write_rate` spread by `p`: Σ_k p_k x_k / (1 + x_k), x_k = write_rate · p_k · lag_s
/// (see `async_follower_reads_are_stale_by_lag`).
fn follower_stale_ratio(p: &[f64], write_rate: f64, lag_s: f64) -> f64 {
    p.iter()
        .map(|&pk| {
            let x = write_rate * pk * lag_s;
            pk * x / (1.0 + x)
        })
        .sum()
}

/// Async replication, reads from a random follower: a read is stale when
/// the follower has not yet applied the key's latest committed write. With
/// zero service times the write commits on arrival and the follower applies
/// it L ~ Exp(mean m) later; the age A of the latest write of key k is
/// Exp(w_k) (w_k = λ_w p_k, Poisson), so the read is stale with probability
/// P(L > A) = w_k m / (1 + w_k m), and the stale ratio is
/// Σ_k p_k x_k/(1 + x_k), x_k = w_k m: it must lie in the interval, and fall
/// strictly with the lag (100 ms, 20 ms, 2 ms). Reads from the primary are
/// never stale: exactly 0.
#[test]
fn async_follower_reads_are_stale_by_lag() {
    let p = theory::zipf_popularity(1000, 1.0);
    let db = |lag_ms: u32, reads: &str| {
        format!(
            "    replicas: 2
    replication: async
    replication_lag:
      exponential: {lag_ms}ms
    reads: {reads}
    read_time:
      constant: 0s
    write_time:
      constant: 0s
"
        )
    };
    let mut means = Vec::new();
    for (i, lag_ms) in [100u32, 20, 2].into_iter().enumerate() {
        let (_, outs) = run_yaml(
            &replicated(2000, (0.7, 0.3), &db(lag_ms, "replicas"), 20),
            2200 + i as u64,
            10,
        );
        let lag = Est::of(&per_rep(&outs, "components.db.replication_lag.mean_ms"));
        println!("[data] async lag {lag_ms} ms: measured replication lag {lag} ms");
        let stale = per_rep(&outs, "components.db.stale_reads");
        assert!(
            stale.iter().all(|&s| s > 0.0),
            "lag {lag_ms} ms: no stale follower read"
        );
        let exact = follower_stale_ratio(&p, 600.0, f64::from(lag_ms) / 1e3);
        let e = assert_inside(
            &format!("async reads=replicas lag {lag_ms} ms stale read ratio"),
            exact,
            &per_rep(&outs, "components.db.stale_read_ratio"),
            0.0,
            0.1 * exact,
        );
        means.push(e);
    }
    for w in means.windows(2) {
        assert!(
            w[1].mean + w[1].half < w[0].mean - w[0].half,
            "stale ratio does not fall strictly with the lag: {} then {}",
            w[0],
            w[1]
        );
    }
    let (_, outs) = run_yaml(&replicated(2000, (0.7, 0.3), &db(100, "primary"), 20), 2210, 10);
    let stale = total(&outs, "components.db.stale_reads");
    let reads = total(&outs, "components.db.reads");
    println!("[data] async lag 100 ms reads=primary: {stale} stale of {reads} reads (theory 0)");
    assert_eq!(stale, 0.0);
    assert_eq!(total(&outs, "consistency.stale_reads"), 0.0);
}

/// Sync replication answers a write once every follower has applied it, so
/// with the primary's queue unchanged (followers' CPU is not modelled) it
/// adds E[max of the followers' lags] to the mean write time:
/// L for a constant lag L; for two Exp(mean m) followers
/// E[max] = m (1 + 1/2) = 1.5 m (the maximum of k exponentials has mean
/// m·H_k). The sync and async runs use the same seeds (same arrivals and
/// service times), so the per-replication difference of write.mean_ms
/// measures exactly the added wait.
#[test]
fn sync_replication_adds_slowest_follower_lag() {
    let db = |mode: &str, lag: &str| {
        format!(
            "    replicas: 2
    replication: {mode}
    replication_lag: {lag}
    read_time:
      exponential: 0.2ms
    write_time:
      exponential: 1ms
"
        )
    };
    // (lag, theory ms, slack, widest half-width): a constant lag adds exactly L to every write, so
    // the interval is nearly a point and the mean must be within 2% of L; an exponential lag is
    // checked by the interval, whose half-width must be within 5% of the theory.
    for (i, (lag, want, slack, half_max)) in [
        ("{ constant: 20ms }", 20.0, 0.02 * 20.0, 0.02 * 20.0),
        ("{ exponential: 10ms }", 15.0, 0.0, 0.05 * 15.0),
    ]
    .into_iter()
    .enumerate()
    {
        let seed = 2300 + i as u64;
        let (_, a) = run_yaml(&replicated(500, (0.5, 0.5), &db("async", lag), 40), seed, 10);
        let (_, s) = run_yaml(&replicated(500, (0.5, 0.5), &db("sync", lag), 40), seed, 10);
        let wa = per_rep(&a, "components.db.write.mean_ms");
        let ws = per_rep(&s, "components.db.write.mean_ms");
        let diff: Vec<f64> = ws.iter().zip(&wa).map(|(s, a)| s - a).collect();
        println!(
            "[data] lag {lag}: write.mean_ms async {}, sync {}; measured lag {} ms",
            Est::of(&wa),
            Est::of(&ws),
            Est::of(&per_rep(&s, "components.db.replication_lag.mean_ms"))
        );
        let e = assert_inside(
            &format!("sync − async write ms, lag {lag}, 2 followers"),
            want,
            &diff,
            slack,
            half_max,
        );
        let tol = slack.max(half_max);
        assert!(
            (e.mean - want).abs() <= tol,
            "difference {e} not within {tol} ms of {want}"
        );
    }
}

//! Session guarantees (`session:` on a database; Terry et al., "Session
//! Guarantees for Weakly Consistent Replicated Data", PDIS 1994).
//!
//! # Method
//!
//! * **Properties, every run.** The database's oracle records, per (user,
//!   key), the version the user last wrote and the highest it read, apart
//!   from the LSNs and tokens the mechanism uses. Under `read_your_writes`
//!   and `causal` no read may return less than the user's own last write
//!   (`session.ryw_violations` = 0); under `monotonic_reads` and `causal`
//!   none may go back (`session.monotonic_violations` = 0). This is asserted
//!   over 40 seeds per configuration, with a follower's region going down
//!   and the primary crashing (failover after 2 s, so writes are lost:
//!   `session.lost_own_writes` > 0), for both strategies and for sync
//!   replication. Under `none` both anomalies occur.
//! * **An exact wait.** With constant lag L, constant 1 ms service, think
//!   time z and no network latency, a user's read right after its own write
//!   reaches a follower z after the write was answered, and the follower
//!   applies the write L after it was answered: under `read_your_writes`
//!   such a read waits exactly L − z; any other read finds its write
//!   applied. So `session.wait.mean_ms` = L − z, and the fraction of reads
//!   that wait is the probability that a user's previous request was a write
//!   (the write fraction, each request drawn independently): a binomial
//!   proportion, checked with its 99.9% interval.
//! * **Ordering, with common random numbers.** The same 10 seeds for each
//!   variant (arrivals, keys, service times and lags come from their own
//!   streams, so the variants see the same workload); per-replication
//!   differences of `stale_read_ratio` give a paired Student-t interval
//!   (99%): none > monotonic_reads > read_your_writes > reads from the
//!   primary = 0 exactly, and the price: `read.mean_ms` under
//!   read_your_writes (wait) above none.

use archsim::stats::student_t_quantile;

use crate::common::{per_rep, run_yaml};

/// One database with two async followers reading from the followers; 20
/// users at 400 requests/s together, half writes, 1,000 zipf keys.
fn scenario(session: &str, extra: &str, faults: bool) -> String {
    let faults = if faults {
        "faults:\n  - { at: 12s, outage: { region: b }, for: 8s }\n  - { at: 25s, crash: \"db.shard[0].primary\", for: 8s }\n"
    } else {
        ""
    };
    format!(
        "name: sessions
duration: 40s
warmup: 4s
network:
  regions: [a, b]
clients:
  app:
    region: a
    arrival: {{ poisson: 400/s }}
    target: db
    identities: 20
    requests: {{ read: 0.5, write: 0.5 }}
    keys: {{ zipf: {{ n: 1000, s: 1.0 }} }}
components:
  db:
    kind: database
    region: a
    replicas: 2
    placement: [a, a, b]
    replication: async
    replication_lag: {{ exponential: 50ms }}
    reads: replicas
    read_time: {{ exponential: 1ms }}
    write_time: {{ exponential: 1ms }}
    cores: 4
    failover: {{ detect_after: 2s }}
    session: {session}
{extra}{faults}"
    )
}

fn metric(outs: &[archsim::model::RunOutput], name: &str) -> Vec<f64> {
    per_rep(outs, name)
}

/// Runs `session` (with `extra` YAML under the database) for `seeds` seeds,
/// one replication each, with the faults: (ryw, monotonic, lost own writes,
/// fallbacks) per seed.
fn property_runs(session: &str, extra: &str, seeds: u64) -> Vec<[f64; 4]> {
    (1..=seeds)
        .map(|seed| {
            let (_, outs) = run_yaml(&scenario(session, extra, true), seed, 1);
            let m = |k: &str| metric(&outs, &format!("components.db.session.{k}"))[0];
            let failovers = metric(&outs, "components.db.failovers")[0];
            assert_eq!(
                failovers, 1.0,
                "{session} seed {seed}: the primary's crash was not failed over"
            );
            [
                m("ryw_violations"),
                m("monotonic_violations"),
                m("lost_own_writes"),
                m("fallbacks"),
            ]
        })
        .collect()
}

#[test]
fn guarantees_hold_in_every_run_through_crashes_and_failover() {
    const SEEDS: u64 = 40;
    for (session, extra, ryw, mono) in [
        ("{ guarantee: read_your_writes }", "", true, false),
        ("{ guarantee: causal }", "", true, true),
        ("{ guarantee: monotonic_reads }", "", false, true),
        (
            "{ guarantee: read_your_writes, strategy: route }",
            "",
            true,
            false,
        ),
        ("{ guarantee: causal, strategy: route }", "", true, true),
        ("{ guarantee: monotonic_reads, strategy: route }", "", false, true),
        ("{ guarantee: causal, max_wait: 0s }", "", true, true),
    ] {
        let runs = property_runs(session, extra, SEEDS);
        let total = |i: usize| runs.iter().map(|r| r[i]).sum::<f64>();
        println!(
            "[sessions] {session}: ryw violations {}, monotonic violations {}, lost own writes {}, fallbacks {} over {SEEDS} seeds",
            total(0),
            total(1),
            total(2),
            total(3)
        );
        for (i, r) in runs.iter().enumerate() {
            if ryw {
                assert_eq!(
                    r[0],
                    0.0,
                    "{session} seed {}: {} reads missed their own write",
                    i + 1,
                    r[0]
                );
            }
            if mono {
                assert_eq!(
                    r[1],
                    0.0,
                    "{session} seed {}: {} reads went back in time",
                    i + 1,
                    r[1]
                );
            }
        }
        // The faults did hit sessions: acknowledged writes were lost in the
        // failover (and are not counted as violations).
        assert!(
            total(2) > 0.0,
            "{session}: no session lost a write in {SEEDS} failovers"
        );
    }
    // Without a guarantee both anomalies happen, in every run.
    for (i, r) in property_runs("{ guarantee: none }", "", 10).iter().enumerate() {
        assert!(r[0] > 0.0 && r[1] > 0.0, "none, seed {}: {r:?}", i + 1);
    }
}

#[test]
fn sync_replication_keeps_the_guarantees_too() {
    let extra = "";
    for seed in 1..=10 {
        let yaml =
            scenario("{ guarantee: causal }", extra, true).replace("replication: async", "replication: sync");
        let (_, outs) = run_yaml(&yaml, seed, 1);
        assert_eq!(
            metric(&outs, "components.db.session.ryw_violations")[0],
            0.0,
            "seed {seed}"
        );
        assert_eq!(
            metric(&outs, "components.db.session.monotonic_violations")[0],
            0.0,
            "seed {seed}"
        );
    }
}

/// Mean and half-width of a two-sided Student-t interval at level `1 − 2(1 − p)`.
fn interval(xs: &[f64], p: f64) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, student_t_quantile(p, n - 1.0) * (var / n).sqrt())
}

/// Per-replication differences a − b and their 99% paired interval.
fn paired(label: &str, a: &[f64], b: &[f64]) -> (f64, f64) {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let (m, h) = interval(&d, 0.995);
    println!("[sessions] {label}: difference {m:.5} ± {h:.5} (99%, paired)");
    (m, h)
}

#[test]
fn stronger_guarantees_read_less_stale_data_and_pay_in_latency() {
    const REPS: u32 = 10;
    let run = |session: &str, reads: &str| {
        let yaml = scenario(session, "", false).replace("reads: replicas", &format!("reads: {reads}"));
        run_yaml(&yaml, 7, REPS).1
    };
    let none = run("{ guarantee: none }", "replicas");
    let mono = run("{ guarantee: monotonic_reads }", "replicas");
    let ryw = run("{ guarantee: read_your_writes }", "replicas");
    let causal = run("{ guarantee: causal }", "replicas");
    let primary = run("{ guarantee: none }", "primary");
    let stale = |o: &[archsim::model::RunOutput]| metric(o, "components.db.stale_read_ratio");
    let (sn, sm, sr, sc, sp) = (
        stale(&none),
        stale(&mono),
        stale(&ryw),
        stale(&causal),
        stale(&primary),
    );
    for (name, xs) in [("none", &sn), ("monotonic", &sm), ("ryw", &sr), ("causal", &sc)] {
        let (m, h) = interval(xs, 0.995);
        println!("[sessions] stale_read_ratio {name}: {m:.4} ± {h:.4}");
    }
    // Reads from the primary are never stale, in any replication.
    assert!(sp.iter().all(|&x| x == 0.0), "{sp:?}");
    // none > monotonic_reads: parking a read until the follower has what
    // the session read before also gives it newer data.
    let (m, h) = paired("stale none − monotonic", &sn, &sm);
    assert!(m - h > 0.0, "none {m} ± {h} not above monotonic_reads");
    // monotonic_reads ≥ read_your_writes here: few users writing often, so
    // a session's last write is usually newer than the prefix it last read.
    let (m, h) = paired("stale monotonic − ryw", &sm, &sr);
    assert!(m - h > 0.0, "monotonic {m} ± {h} not above read_your_writes");
    // read_your_writes > primary = 0.
    let (m, h) = paired("stale ryw − primary", &sr, &sp);
    assert!(m - h > 0.0, "read_your_writes {m} ± {h} not above the primary");
    // causal needs the larger of both tokens: never staler than read_your_writes.
    let (m, h) = paired("stale ryw − causal", &sr, &sc);
    assert!(m + h >= 0.0, "causal {m} ± {h} staler than read_your_writes");
    // The price: reads wait on the followers.
    let lat = |o: &[archsim::model::RunOutput]| metric(o, "components.db.read.mean_ms");
    let (m, h) = paired("read.mean_ms ryw − none", &lat(&ryw), &lat(&none));
    assert!(
        m - h > 0.0,
        "read_your_writes reads {m} ± {h} ms not slower than none"
    );
    assert!(
        metric(&none, "components.db.session.waits")
            .iter()
            .all(|&w| w == 0.0)
    );
}

#[test]
fn a_read_after_its_own_write_waits_exactly_the_lag_minus_the_think_time() {
    // L = 20 ms, z = 1 ms: a read right after its user's write waits 19 ms;
    // no other read waits. 30 users, each its own session.
    let yaml = "name: exact
duration: 60s
warmup: 2s
clients:
  users:
    arrival: { closed: { users: 30, think_time: 1ms } }
    target: db
    requests: { read: 0.5, write: 0.5 }
    keys: { uniform: 100 }
components:
  db:
    kind: database
    replicas: 2
    reads: replicas
    replication_lag: 20ms
    read_time: 1ms
    write_time: 1ms
    cores: 1000
    session: { guarantee: read_your_writes }
";
    let (_, outs) = run_yaml(yaml, 3, 1);
    let m = |k: &str| metric(&outs, &format!("components.db.{k}"))[0];
    let wait = m("session.wait.mean_ms");
    println!("[sessions] exact wait: {wait} ms (theory 19 ms)");
    assert!((wait - 19.0).abs() < 1e-6, "{wait}");
    let (waits, reads) = (m("session.waits"), m("reads"));
    let p = waits / reads;
    // Binomial proportion, 99.9% normal interval around 0.5.
    let half = 3.29 * (0.25 / reads).sqrt();
    println!("[sessions] reads that waited: {p:.4} (theory 0.5 ± {half:.4})");
    assert!((p - 0.5).abs() < half, "{p}");
    assert_eq!(m("session.ryw_violations"), 0.0);
    assert_eq!(m("session.fallbacks"), 0.0);
    // Monotonic reads on followers that apply in step never wait.
    let (_, outs) = run_yaml(&yaml.replace("read_your_writes", "monotonic_reads"), 3, 1);
    assert_eq!(metric(&outs, "components.db.session.waits")[0], 0.0);
}

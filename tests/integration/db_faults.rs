//! Database faults: a shard primary's crash and failover, CAP under a
//! partition, backups and disk loss, region outages, and random schedules
//! of all of them.
//!
//! The counts have simple expectations. Writes arrive as a Poisson stream
//! of rate λ_w on a large key space (so two writes rarely share a key):
//!
//! - async replication with lag L: the writes whose replication is still
//!   in flight when the primary crashes are those written at T − s with
//!   L > s, a Poisson count of mean λ_w ∫ P(L > s) ds = λ_w·E[L] (Little's
//!   law for the replication "queue"); with one follower, a failover loses
//!   exactly those. Sync replication commits only what every follower has,
//!   so it loses none.
//! - until the new primary is promoted (detect_after = D) every write and
//!   every read sent to the primary fails: about (λ_w + λ_primary reads)·D.
//! - a disk loss at T restores the backup taken at t_b: the writes since,
//!   Poisson with mean λ_w·(T − t_b), are lost; the shard is down for the
//!   restore time R, so about λ·R requests fail.

use crate::common::{per_rep, run_yaml};
use archsim::stats::student_t_quantile;

fn ci95(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, student_t_quantile(0.975, n - 1.0) * (var / n).sqrt())
}

fn assert_in_ci(what: &str, xs: &[f64], theory: f64) {
    let (m, h) = ci95(xs);
    println!("{what}: {m:.3} ± {h:.3} (theory {theory:.3})");
    assert!(
        (m - theory).abs() <= h,
        "{what}: theory {theory:.3} outside {m:.3} ± {h:.3}"
    );
}

/// 1,000 requests/s straight at the database, `writes` of them writes, on
/// 10^5 uniform keys; the primary crashes at 20 s.
fn crash_yaml(replication: &str, followers: u32, writes: f64, extra: &str, fault: &str) -> String {
    format!(
        "
name: failover
duration: 40s
warmup: 5s
clients:
  app:
    arrival: {{ poisson: 1000/s }}
    target: db
    requests: {{ read: {}, write: {writes} }}
    keys: {{ uniform: 100000 }}
components:
  db:
    kind: database
    replicas: {followers}
    replication: {replication}
    replication_lag: {{ exponential: 50ms }}
    read_time: {{ exponential: 1ms }}
    cores: 4
{extra}
faults:
  - {fault}
",
        1.0 - writes
    )
}

#[test]
fn failover_loses_the_async_writes_still_in_flight_and_fails_requests_until_promotion() {
    let yaml = crash_yaml(
        "async",
        1,
        0.2,
        "    failover: { detect_after: 5s }",
        "{ at: 20s, crash: \"db.shard[0].primary\", for: 10s }",
    );
    let (r, outs) = run_yaml(&yaml, 3, 30);
    // λ_w = 200/s, E[L] = 50 ms: 10 writes in flight.
    assert_in_ci("lost writes", &per_rep(&outs, "components.db.lost_writes"), 10.0);
    // Every request fails for the 5 s until the follower is promoted.
    assert_in_ci("failed", &per_rep(&outs, "components.db.failed"), 5000.0);
    assert_eq!(r.value("components.db.failovers"), Some(1.0));
    assert_eq!(r.value("components.db.failover.mean_s"), Some(5.0));
    // Reads go to the primary, which after the failover holds exactly what
    // is committed: no read is stale.
    assert_eq!(r.value("consistency.stale_reads"), Some(0.0));
    assert_eq!(r.value("data.lost_writes"), r.value("components.db.lost_writes"));
}

#[test]
fn sync_replication_never_loses_a_write_in_a_failover() {
    let yaml = crash_yaml(
        "sync",
        2,
        0.3,
        "    failover: { detect_after: 2s }",
        "{ at: 20s, crash: \"db.shard[0].primary\" }",
    );
    let (_, outs) = run_yaml(&yaml, 11, 10);
    for (i, lost) in per_rep(&outs, "components.db.lost_writes").iter().enumerate() {
        assert_eq!(*lost, 0.0, "replication {i}");
    }
    assert!(
        per_rep(&outs, "components.db.failovers")
            .iter()
            .all(|&f| f == 1.0)
    );
    // The writes waiting for their followers when the primary died fail,
    // plus everything in the 2 s before the promotion.
    assert_in_ci(
        "failed",
        &per_rep(&outs, "components.db.failed"),
        2000.0 + 0.3 * 1000.0 * 0.05,
    );
}

#[test]
fn without_failover_the_shard_waits_for_its_primary_and_loses_nothing() {
    let yaml = crash_yaml(
        "async",
        1,
        0.2,
        "",
        "{ at: 20s, crash: \"db.shard[0].primary\", for: 4s }",
    );
    let (r, outs) = run_yaml(&yaml, 5, 10);
    assert_in_ci("failed", &per_rep(&outs, "components.db.failed"), 4000.0);
    assert_eq!(r.value("components.db.lost_writes"), Some(0.0));
    assert_eq!(r.value("consistency.stale_reads"), Some(0.0));
    // The time-based availability of the client is the 4 s out of 35.
    let a = r.value("availability").unwrap();
    assert!((a - (1.0 - 4.0 / 35.0)).abs() < 0.005, "availability {a}");
}

/// Two regions, 200/s of users in each calling the database, whose three
/// nodes sit in `placement`; a partition splits the regions 30–60 s.
fn cap_yaml(consistency: &str, placement: &str, replication: &str, extra: &str) -> String {
    format!(
        "
name: cap
duration: 90s
warmup: 0s
network:
  regions: [us, eu]
  between: [ {{ regions: [us, eu], latency: 40ms }} ]
clients:
  us_users:
    region: us
    arrival: {{ poisson: 200/s }}
    target: db
    requests: {{ read: 0.8, write: 0.2 }}
    keys: {{ zipf: {{ n: 1000, s: 1.0 }} }}
  eu_users:
    region: eu
    arrival: {{ poisson: 200/s }}
    target: db
    requests: {{ read: 0.8, write: 0.2 }}
    keys: {{ zipf: {{ n: 1000, s: 1.0 }} }}
components:
  db:
    kind: database
    replicas: 2
    placement: {placement}
    reads: primary
    consistency: {consistency}
    replication: {replication}
    replication_lag: {{ exponential: 20ms }}
    read_time: {{ exponential: 1ms }}
    cores: 4
{extra}
faults:
  - {{ at: 30s, partition: [[us], [eu]], for: 30s }}
"
    )
}

#[test]
fn cp_refuses_the_minority_side_and_never_serves_a_stale_read() {
    let (r, _) = run_yaml(&cap_yaml("strong", "[us, us, eu]", "async", ""), 1, 3);
    let v = |k: &str| r.value(k).unwrap();
    assert_eq!(v("consistency.stale_reads"), 0.0);
    assert_eq!(v("clients.us_users.availability"), 1.0);
    // The eu side is refused for the 30 s of 90.
    let eu = v("clients.eu_users.availability");
    assert!((eu - 2.0 / 3.0).abs() < 0.01, "eu availability {eu}");
    assert!(r.value("components.db.lost_updates").is_none());
}

#[test]
fn ap_serves_both_sides_with_stale_reads_and_lost_updates() {
    let (r, _) = run_yaml(&cap_yaml("eventual", "[us, us, eu]", "async", ""), 1, 3);
    let v = |k: &str| r.value(k).unwrap();
    assert_eq!(v("availability"), 1.0);
    assert!(v("consistency.stale_reads") > 100.0);
    assert!(v("components.db.lost_updates") > 100.0);
    assert_eq!(v("data.lost_writes"), v("components.db.lost_updates"));
    // Stale reads happen only while split: the same run without the
    // partition (and reads from the primary) has none.
    let calm = cap_yaml("eventual", "[us, us, eu]", "async", "").replace(
        "  - { at: 30s, partition: [[us], [eu]], for: 30s }",
        "  - { at: 100s, partition: [[us], [eu]] }",
    );
    let (r2, _) = run_yaml(&calm, 1, 1);
    assert_eq!(r2.value("consistency.stale_reads"), Some(0.0));
}

#[test]
fn a_spread_database_charges_the_trip_to_a_node_in_another_region() {
    // No partition: eu users reach the us primary, 40 ms each way, on top
    // of a 1 ms mean read (no queueing to speak of at 400/s on 4 cores).
    let calm = cap_yaml("strong", "[us, us, eu]", "async", "")
        .replace("  - { at: 30s, partition: [[us], [eu]], for: 30s }", "  []");
    let (r, _) = run_yaml(&calm, 1, 1);
    let eu = r.value("clients.eu_users.latency.mean_ms").unwrap();
    let us = r.value("clients.us_users.latency.mean_ms").unwrap();
    assert!((us - 1.0).abs() < 0.05, "us {us}");
    assert!((eu - 81.0).abs() < 0.1, "eu {eu}");
    // Under AP the eu side is served by its own node while split: faster.
    let (ap, _) = run_yaml(&cap_yaml("eventual", "[us, us, eu]", "async", ""), 1, 1);
    let eu_ap = ap.value("clients.eu_users.latency.mean_ms").unwrap();
    assert!((eu_ap - (81.0 - 80.0 / 3.0)).abs() < 1.0, "eu under AP {eu_ap}");
}

#[test]
fn cp_majority_side_elects_a_new_primary_when_the_old_one_is_cut_off() {
    let yaml = cap_yaml(
        "strong",
        "[eu, us, us]",
        "async",
        "    failover: { detect_after: 5s }",
    );
    let (r, _) = run_yaml(&yaml, 2, 1);
    let v = |k: &str| r.value(k).unwrap();
    assert_eq!(v("components.db.failovers"), 1.0);
    assert_eq!(v("consistency.stale_reads"), 0.0);
    // us users fail only until the promotion (5 s of 90); eu users for the
    // whole partition (30 s).
    let us = v("clients.us_users.availability");
    let eu = v("clients.eu_users.availability");
    assert!((us - (1.0 - 5.0 / 90.0)).abs() < 0.01, "us {us}");
    assert!((eu - 2.0 / 3.0).abs() < 0.01, "eu {eu}");
}

#[test]
fn quorum_reads_and_writes_need_their_quorum_on_the_callers_side() {
    let q = "{ quorum: { n: 3, w: 2, r: 2 } }";
    let (cp, _) = run_yaml(&cap_yaml("strong", "[us, us, eu]", q, ""), 4, 1);
    assert_eq!(cp.value("consistency.stale_reads"), Some(0.0));
    assert_eq!(cp.value("clients.us_users.availability"), Some(1.0));
    let eu = cp.value("clients.eu_users.availability").unwrap();
    assert!((eu - 2.0 / 3.0).abs() < 0.01, "eu {eu}");
    // Sloppy quorums keep both sides up and pay in stale reads.
    let (ap, _) = run_yaml(&cap_yaml("eventual", "[us, us, eu]", q, ""), 4, 1);
    assert_eq!(ap.value("availability"), Some(1.0));
    assert!(ap.value("consistency.stale_reads").unwrap() > 100.0);
}

#[test]
fn disk_loss_restores_the_last_backup_losing_the_writes_since() {
    // Backups at 10, 20, 30 s; the disk is lost at 37 s: 7 s of writes at
    // 200/s are lost; the shard is down 5 s.
    let yaml = crash_yaml(
        "async",
        1,
        0.2,
        "    backup: { every: 10s, restore_time: 5s }",
        "{ at: 37s, disk_loss: \"db.shard[0]\" }",
    );
    let (r, outs) = run_yaml(&yaml, 9, 40);
    assert_in_ci(
        "lost writes",
        &per_rep(&outs, "components.db.lost_writes"),
        1400.0,
    );
    assert_in_ci("failed", &per_rep(&outs, "components.db.failed"), 3000.0);
    assert_eq!(r.value("components.db.rpo_s"), Some(7.0));
    assert_eq!(r.value("components.db.rto_s"), Some(5.0));
    assert_eq!(r.value("components.db.restores"), Some(1.0));
    assert_eq!(r.value("consistency.stale_reads"), Some(0.0));
}

#[test]
fn a_region_outage_takes_its_nodes_down_and_the_other_region_fails_over() {
    let yaml = "
name: outage
duration: 60s
warmup: 0s
network:
  regions: [us, eu]
  between: [ { regions: [us, eu], latency: 30ms } ]
clients:
  us_users: { region: us, arrival: { poisson: 200/s }, target: api_us, timeout: 2s,
              requests: { read: 0.8, write: 0.2 }, keys: { uniform: 10000 } }
  eu_users: { region: eu, arrival: { poisson: 200/s }, target: api_eu, timeout: 2s,
              requests: { read: 0.8, write: 0.2 }, keys: { uniform: 10000 } }
components:
  api_us: { kind: service, region: us, cores: 4, service_time: { exponential: 1ms }, calls: [ db ] }
  api_eu: { kind: service, region: eu, cores: 4, service_time: { exponential: 1ms }, calls: [ db ] }
  db:
    kind: database
    replicas: 2
    placement: [us, eu, eu]
    read_time: { exponential: 1ms }
    cores: 4
    failover: { detect_after: 6s }
faults:
  - { at: 20s, outage: { region: us }, for: 30s }
";
    let (r, _) = run_yaml(yaml, 6, 2);
    let v = |k: &str| r.value(k).unwrap();
    let us = v("clients.us_users.availability");
    let eu = v("clients.eu_users.availability");
    assert!((us - 0.5).abs() < 0.02, "us {us}");
    assert!((eu - (1.0 - 6.0 / 60.0)).abs() < 0.01, "eu {eu}");
    assert_eq!(v("components.db.failovers"), 1.0);
}

struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn random_database_and_network_fault_schedules_never_panic_or_lose_a_request() {
    let mut g = Lcg(0xdb);
    let dbs = ["db_async", "db_sync", "db_q"];
    for case in 0..30 {
        let mut faults = String::new();
        for _ in 0..(1 + g.below(8)) {
            let at = g.below(15_000);
            let dur = match g.below(3) {
                0 => String::new(),
                _ => format!(", for: {}ms", 1 + g.below(6000)),
            };
            let db = dbs[g.below(3) as usize];
            let shard = g.below(2);
            match g.below(6) {
                0 => faults.push_str(&format!("  - {{ at: {at}ms, partition: [[us], [eu]]{dur} }}\n")),
                1 => faults.push_str(&format!(
                    "  - {{ at: {at}ms, outage: {{ region: {} }}{dur} }}\n",
                    ["us", "eu"][g.below(2) as usize]
                )),
                2 => faults.push_str(&format!(
                    "  - {{ at: {at}ms, latency: {{ between: [us, eu], add: {}ms }}{dur} }}\n",
                    g.below(200)
                )),
                3 => faults.push_str(&format!(
                    "  - {{ at: {at}ms, disk_loss: \"{db}.shard[{shard}]\" }}\n"
                )),
                4 => faults.push_str(&format!("  - {{ at: {at}ms, crash: api{dur} }}\n")),
                _ => faults.push_str(&format!(
                    "  - {{ at: {at}ms, crash: \"{db}.shard[{shard}].primary\"{dur} }}\n"
                )),
            }
        }
        let consistency = ["strong", "eventual"][g.below(2) as usize];
        let yaml = format!(
            "
name: chaos-db
duration: 15s
warmup: 1s
network:
  regions: [us, eu]
  between: [ {{ regions: [us, eu], latency: 20ms }} ]
clients:
  us_users:
    region: us
    arrival: {{ poisson: 300/s }}
    target: api
    timeout: {}ms
    requests: {{ read: 0.7, write: 0.3 }}
    keys: {{ zipf: {{ n: 500, s: 1 }} }}
  eu_users:
    region: eu
    arrival: {{ poisson: 100/s }}
    target: db_q
    timeout: 300ms
    requests: {{ read: 0.5, write: 0.5 }}
    keys: {{ uniform: 500 }}
components:
  api:
    kind: service
    region: us
    replicas: 2
    cores: 2
    service_time: {{ exponential: 1ms }}
    calls: [ db_async, db_sync ]
  db_async:
    kind: database
    shards: 2
    replicas: 2
    placement: [us, eu]
    reads: any
    consistency: {consistency}
    read_time: {{ exponential: 1ms }}
    failover: {{ detect_after: {}ms }}
    backup: {{ every: 2s, restore_time: 1s }}
  db_sync:
    kind: database
    shards: 2
    replicas: 1
    replication: sync
    placement: [eu, us]
    consistency: {consistency}
    read_time: {{ exponential: 1ms }}
    failover: {{ detect_after: 500ms }}
    backup: {{ every: 3s, restore_time: 2s }}
  db_q:
    kind: database
    shards: 2
    replication: {{ quorum: {{ n: 3, w: 2, r: 2 }} }}
    placement: [us, eu, eu]
    consistency: {consistency}
    read_time: {{ exponential: 1ms }}
    backup: {{ every: 4s, restore_time: 500ms }}
faults:
{faults}",
            50 + g.below(500),
            1 + g.below(3000),
        );
        let (r, _) = run_yaml(&yaml, case, 1);
        let v = |k: &str| r.value(k).unwrap_or(0.0);
        let outcomes = v("requests.completed")
            + v("requests.failed")
            + v("requests.rejected")
            + v("requests.timed_out")
            + v("requests.in_flight");
        assert_eq!(
            outcomes,
            v("requests.offered"),
            "case {case}: every offered request has one outcome\n{yaml}"
        );
        assert!(v("availability") <= 1.0);
    }
}

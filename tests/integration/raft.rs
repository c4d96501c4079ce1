//! Raft shards against theory and under hostile schedules: commit latency
//! is the order statistic of the followers' round trips, the time without a
//! leader after a crash matches its formula, and over random crashes,
//! partitions and latency faults nothing committed is lost, no two leaders
//! share a term, leader and lease reads are never stale, and a connected
//! majority elects a leader within a bound.

use crate::common::{per_rep, run_yaml};
use archsim::stats::student_t_quantile;
use archsim::theory;

/// Mean and half-width of the 99.9% Student-t interval.
fn interval(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, student_t_quantile(0.9995, n - 1.0) * (var / n).sqrt())
}

/// One shard of `members`, writes only at `rate`, one-way delay `latency`,
/// Raft timing `timing`.
fn commit_scenario(members: u32, latency: &str, rate: u32, duration_s: u32, timing: &str) -> String {
    format!(
        "
name: raft-commit
duration: {duration_s}s
warmup: 2s
network:
  latency: {latency}
clients:
  writers:
    arrival: {{ poisson: {rate}/s }}
    target: db
    timeout: 2s
    requests: {{ read: 0, write: 1 }}
    keys: {{ uniform: 1000 }}
components:
  db:
    kind: database
    read_time: 0s
    write_time: 0s
    cores: 8
    replication:
      raft: {{ members: {members}{timing} }}
"
    )
}

#[test]
fn constant_delays_commit_in_exactly_one_round_trip() {
    for members in [3, 5, 7] {
        let (r, _) = run_yaml(&commit_scenario(members, "1ms", 50, 20, ""), 1, 1);
        let v = |k: &str| r.value(&format!("components.db.raft.{k}")).unwrap();
        // Every follower's round trip is 2 ms, so every commit takes 2 ms
        // (to the histogram's three significant digits).
        for k in [
            "commit_latency.p50_ms",
            "commit_latency.p99_ms",
            "commit_latency.mean_ms",
        ] {
            assert!((v(k) - 2.0).abs() < 0.002, "members {members}: {k} = {}", v(k));
        }
        assert!(v("commits") > 800.0);
        assert_eq!(v("elections"), 0.0, "no election after warm-up without faults");
    }
}

/// With exponential one-way delays of mean m, a follower's round trip is
/// Gamma(2, m); a commit waits for the ⌊n/2⌋-th fastest of the n − 1
/// followers, whose mean `theory::raft_commit_mean_exponential` integrates
/// (1.250 m, 1.438 m and 1.512 m for 3, 5 and 7 members). The theory
/// takes round trips as independent; a link is FIFO (a TCP connection), so
/// a message can be held behind the one before it, which adds about λm²
/// per message for messages at rate λ on a link (0.006 ms at m = 1 ms and
/// 12 messages/s: a 1% bias). With m = 0.1 ms it is 100 times smaller.
#[test]
fn commit_latency_is_the_order_statistic_of_follower_round_trips() {
    for members in [3u32, 5, 7] {
        let timing = ", election_timeout: [1s, 2s], heartbeat: 500ms";
        let yaml = commit_scenario(members, "{ exponential: 0.1ms }", 10, 122, timing);
        let (_, outs) = run_yaml(&yaml, 7, 20);
        let xs = per_rep(&outs, "components.db.raft.commit_latency.mean_ms");
        let (mean, half) = interval(&xs);
        let theory = theory::raft_commit_mean_exponential(1e-4, members).unwrap() * 1e3;
        eprintln!("members {members}: commit mean {mean:.5} ± {half:.5} ms, theory {theory:.5} ms");
        assert!(half < 0.03 * theory, "interval too wide: ±{half}");
        assert!(
            (mean - theory).abs() <= half,
            "members {members}: simulated {mean:.4} ± {half:.4} ms, order statistic {theory:.4} ms"
        );
    }
}

/// A leader crash with no client traffic to the group: the followers' last
/// reset was the last heartbeat. The simulated mean time without a leader
/// must contain `theory::raft_election_mean` (a + L/n − H/2 + 3δ, plus
/// split votes); pre-vote adds one round trip, 2δ. The formula takes the
/// crash as uniform over the heartbeat period; the first leader is elected
/// at much the same moment in every run (the earliest of n timeouts), so
/// the crash time is stratified over one period: 50 crash times 1 ms
/// apart, 10 runs each.
#[test]
fn election_time_after_a_leader_crash_matches_its_formula() {
    for (members, pre_vote) in [(3u32, false), (5, false), (5, true)] {
        let mut xs = Vec::new();
        for phase in 0..50 {
            let yaml = format!(
            "
name: raft-election
duration: 3s
warmup: 1s
network:
  latency: 1ms
clients:
  readers:
    arrival: {{ poisson: 1/s }}
    target: db
    timeout: 2s
    requests: {{ read: 1 }}
    keys: {{ uniform: 100 }}
components:
  db:
    kind: database
    read_time: 0s
    replication:
      raft: {{ members: {members}, election_timeout: [150ms, 300ms], heartbeat: 50ms, pre_vote: {pre_vote}, reads: follower }}
faults:
  - {{ at: {}ms, crash: \"db.shard[0].leader\", for: 5s }}
",
            2000 + phase
        );
            let (_, outs) = run_yaml(&yaml, 11 + phase, 10);
            let periods = per_rep(&outs, "components.db.raft.leaderless_periods");
            assert!(periods.iter().all(|&p| p == 1.0), "one election per run");
            xs.extend(per_rep(&outs, "components.db.raft.election.mean_ms"));
        }
        let (mean, half) = interval(&xs);
        let extra = if pre_vote { 0.002 } else { 0.0 };
        let theory = (theory::raft_election_mean(0.150, 0.300, 0.050, members, 0.001).unwrap() + extra) * 1e3;
        eprintln!(
            "members {members} pre_vote {pre_vote}: election {mean:.2} ± {half:.2} ms, theory {theory:.2} ms"
        );
        assert!(half < 8.0, "interval too wide: ±{half}");
        assert!(
            (mean - theory).abs() <= half,
            "members {members}, pre_vote {pre_vote}: simulated {mean:.2} ± {half:.2} ms, formula {theory:.2} ms"
        );
    }
}

/// A tiny LCG for schedules.
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

fn chaos_yaml(g: &mut Lcg, reads: &str, pre_vote: bool) -> String {
    let regions = ["r0", "r1", "r2", "r3", "r4"];
    let mut faults = String::new();
    for _ in 0..(2 + g.below(8)) {
        let at = 1000 + g.below(14_000);
        let dur = format!(", for: {}ms", 50 + g.below(4000));
        match g.below(5) {
            0 | 1 => {
                // A random cut of the five regions into two sides.
                let mask = 1 + g.below(30);
                let (a, b): (Vec<_>, Vec<_>) = (0..5).partition(|i| mask >> i & 1 == 1);
                let side = |v: &[usize]| v.iter().map(|&i| regions[i]).collect::<Vec<_>>().join(", ");
                faults.push_str(&format!(
                    "  - {{ at: {at}ms, partition: [[{}], [{}]]{dur} }}\n",
                    side(&a),
                    side(&b)
                ));
            }
            2 => faults.push_str(&format!(
                "  - {{ at: {at}ms, outage: {{ region: {} }}{dur} }}\n",
                regions[g.below(5) as usize]
            )),
            3 => {
                let a = g.below(5);
                let b = (a + 1 + g.below(4)) % 5;
                faults.push_str(&format!(
                    "  - {{ at: {at}ms, latency: {{ between: [{}, {}], add: {}ms }}{dur} }}\n",
                    regions[a as usize],
                    regions[b as usize],
                    g.below(300)
                ))
            }
            _ => faults.push_str(&format!(
                "  - {{ at: {at}ms, crash: \"db.shard[{}].leader\"{dur} }}\n",
                g.below(2)
            )),
        }
    }
    format!(
        "
name: raft-chaos
duration: 16s
warmup: 1s
network:
  regions: [r0, r1, r2, r3, r4]
  latency: {{ exponential: 1ms }}
  between:
    - {{ regions: [r0, r1], latency: {{ exponential: 3ms }} }}
    - {{ regions: [r0, r2], latency: {{ exponential: 5ms }} }}
    - {{ regions: [r1, r3], latency: 8ms }}
clients:
  near:
    region: r0
    arrival: {{ poisson: 300/s }}
    target: db
    timeout: 500ms
    requests: {{ read: 0.5, write: 0.5 }}
    keys: {{ zipf: {{ n: 200, s: 1 }} }}
  far:
    region: r3
    arrival: {{ poisson: 100/s }}
    target: db
    timeout: 500ms
    requests: {{ read: 0.5, write: 0.5 }}
    keys: {{ uniform: 200 }}
components:
  db:
    kind: database
    shards: 2
    placement: [r0, r1, r2, r3, r4]
    read_time: {{ exponential: 0.5ms }}
    write_time: {{ exponential: 0.5ms }}
    cores: 4
    replication:
      raft: {{ members: 5, pre_vote: {pre_vote}, reads: {reads}, log_capacity: 100 }}
faults:
{faults}"
    )
}

/// Safety, through the whole model: random partitions of five regions,
/// region outages, leader crashes and latency faults, two shards, clients on
/// both sides. Never two leaders in one term; no committed entry lost or
/// replaced; leader and lease reads never stale; every request has one
/// outcome.
#[test]
fn random_fault_schedules_never_break_raft_safety() {
    let mut g = Lcg(0x5afe);
    let mut elections = 0.0;
    let mut discarded = 0.0;
    let mut snapshots = 0.0;
    for case in 0..80 {
        let reads = ["leader", "lease"][case % 2];
        let yaml = chaos_yaml(&mut g, reads, case % 4 < 2);
        let (r, _) = run_yaml(&yaml, case as u64, 1);
        let v = |k: &str| r.value(k).unwrap_or(0.0);
        assert_eq!(
            v("components.db.raft.safety_violations"),
            0.0,
            "case {case}\n{yaml}"
        );
        assert_eq!(
            v("components.db.raft.lost_committed_writes"),
            0.0,
            "case {case}\n{yaml}"
        );
        assert_eq!(
            v("consistency.stale_reads"),
            0.0,
            "case {case}: {reads} reads\n{yaml}"
        );
        assert_eq!(v("data.lost_writes"), 0.0, "case {case}\n{yaml}");
        let outcomes = v("requests.completed")
            + v("requests.failed")
            + v("requests.rejected")
            + v("requests.timed_out")
            + v("requests.in_flight");
        assert_eq!(outcomes, v("requests.offered"), "case {case}\n{yaml}");
        elections += v("components.db.raft.elections");
        discarded += v("components.db.raft.discarded_entries");
        snapshots += v("components.db.raft.snapshots");
    }
    // The schedules reach the paths that matter.
    assert!(
        elections > 100.0 && discarded > 0.0 && snapshots > 0.0,
        "{elections} {discarded} {snapshots}"
    );
}

/// The same schedules with follower reads: stale reads appear (the
/// contrast the read modes teach), and safety still holds.
#[test]
fn follower_reads_are_stale_under_faults_but_safe() {
    let mut g = Lcg(0xf011);
    let mut stale = 0.0;
    for case in 0..10 {
        let yaml = chaos_yaml(&mut g, "follower", false);
        let (r, _) = run_yaml(&yaml, case, 1);
        let v = |k: &str| r.value(k).unwrap_or(0.0);
        assert_eq!(v("components.db.raft.safety_violations"), 0.0);
        assert_eq!(v("components.db.raft.lost_committed_writes"), 0.0);
        stale += v("consistency.stale_reads");
    }
    assert!(stale > 0.0);
}

/// Liveness: with a majority always up and connected (one leader crash at
/// a time, constant 1 ms delays), every period without a leader ends
/// within B = H + b + δ + r·(b + 4δ), r = 4: the last heartbeat reaches a
/// follower within H + δ of the crash, the first timeout follows within b,
/// and each failed round costs at most a fresh timeout and two round trips.
#[test]
fn a_connected_majority_always_elects_a_leader_within_the_bound() {
    let (h, b, d) = (50.0, 300.0, 1.0);
    let bound = h + b + d + 4.0 * (b + 4.0 * d);
    let mut g = Lcg(0x11fe);
    let mut worst = 0.0f64;
    for case in 0..40 {
        let mut faults = String::new();
        let mut at = 1000;
        while at < 28_000 {
            let dur = 100 + g.below(3000);
            faults.push_str(&format!(
                "  - {{ at: {at}ms, crash: \"db.shard[0].leader\", for: {dur}ms }}\n"
            ));
            at += dur + 50 + g.below(2000);
        }
        let members = [3, 5, 7][case % 3];
        let yaml = format!(
            "
name: raft-liveness
duration: 30s
warmup: 1s
network:
  latency: 1ms
clients:
  users:
    arrival: {{ poisson: 200/s }}
    target: db
    timeout: 1s
    requests: {{ read: 0.5, write: 0.5 }}
    keys: {{ uniform: 100 }}
components:
  db:
    kind: database
    read_time: {{ exponential: 0.2ms }}
    cores: 4
    replication:
      raft: {{ members: {members}, pre_vote: {} }}
faults:
{faults}",
            case % 2 == 0
        );
        let (r, _) = run_yaml(&yaml, case as u64, 1);
        let v = |k: &str| r.value(&format!("components.db.raft.{k}")).unwrap_or(0.0);
        assert!(v("leaderless_periods") >= 5.0, "case {case}");
        let max = v("election.max_ms");
        worst = worst.max(max);
        assert!(
            max <= bound,
            "case {case}: a leaderless period of {max} ms > bound {bound} ms\n{yaml}"
        );
        assert_eq!(v("safety_violations"), 0.0);
    }
    eprintln!("worst election {worst:.1} ms, bound {bound} ms");
}

/// A leader cut off with a minority cannot commit: its writes fail (or time
/// out), the majority elects a new leader, the old one steps down (on
/// check-quorum or on the new term), and its uncommitted entries are
/// discarded when the partition heals. Nothing committed is lost and no
/// read is stale.
#[test]
fn a_minority_leader_cannot_commit_and_the_majority_elects_another() {
    let mut minority_cases = 0;
    for seed in 0..12u64 {
        let yaml = "
name: raft-minority
duration: 40s
warmup: 2s
network:
  regions: [a, b, c]
  latency: { exponential: 0.5ms }
  between:
    - { regions: [a, b], latency: 10ms }
    - { regions: [a, c], latency: 20ms }
    - { regions: [b, c], latency: 15ms }
clients:
  a_users:
    region: a
    arrival: { poisson: 200/s }
    target: db
    timeout: 1s
    requests: { read: 0.5, write: 0.5 }
    keys: { uniform: 500 }
  bc_users:
    region: b
    arrival: { poisson: 200/s }
    target: db
    timeout: 1s
    requests: { read: 0.5, write: 0.5 }
    keys: { uniform: 500 }
components:
  db:
    kind: database
    placement: [a, a, b, b, c]
    read_time: { exponential: 0.5ms }
    cores: 4
    replication:
      raft: { members: 5, pre_vote: true }
faults:
  - { at: 10s, partition: [[a], [b, c]], for: 20s }
";
        let (r, _) = run_yaml(yaml, seed, 1);
        let v = |k: &str| r.value(k).unwrap_or(0.0);
        assert_eq!(v("components.db.raft.safety_violations"), 0.0);
        assert_eq!(v("components.db.raft.lost_committed_writes"), 0.0);
        assert_eq!(v("consistency.stale_reads"), 0.0);
        // Side a is cut off for 20 of the 38 measured seconds: at most
        // 18/38 of its requests can succeed.
        let a = v("clients.a_users.availability");
        assert!(a < 0.49, "seed {seed}: a_users availability {a}");
        // The majority side keeps (or regains) a leader.
        assert!(v("clients.bc_users.availability") > 0.97, "seed {seed}");
        if v("components.db.raft.quorum_losses") > 0.0 {
            // The leader was on side a.
            minority_cases += 1;
            assert!(v("components.db.raft.elections") >= 1.0);
            assert!(v("components.db.raft.discarded_entries") > 0.0, "seed {seed}");
            assert!(v("components.db.raft.step_downs") >= 1.0);
        }
    }
    assert!(
        minority_cases >= 2,
        "the first leader was on side a in {minority_cases} of 12 runs"
    );
}

/// A config store behind a service: reads of configuration and writes of
/// leases, `store` being the text of the `coord` component and `crash` its
/// crash target.
fn config_store_yaml(store: &str, crash: &str) -> String {
    format!(
        "
name: config-store
duration: 30s
warmup: 2s
network:
  latency: {{ exponential: 0.5ms }}
clients:
  apps:
    arrival: {{ poisson: 300/s }}
    target: api
    timeout: 1s
    requests: {{ read: 0.8, write: 0.2 }}
    keys: {{ uniform: 200 }}
components:
  api:
    kind: service
    replicas: 2
    cores: 4
    service_time: {{ exponential: 1ms }}
    calls:
      - {{ target: coord }}
  coord:
{store}
faults:
  - {{ at: 10s, crash: \"{crash}\", for: 5s }}
"
    )
}

/// `kind: consensus` is a one-shard Raft database under another name: the
/// same scenario with either gives the same trajectory (equal
/// `sim.fingerprint`) and every metric equal, the raft ones included; its
/// `.leader` and `.node[K]` crash targets are the database's
/// `.shard[0].leader` and `.shard[0].node[K]`, and a leader crash costs an
/// election.
#[test]
fn a_consensus_component_is_a_one_shard_raft_database() {
    let consensus = "    kind: consensus
    members: 5
    election_timeout: [150ms, 300ms]
    heartbeat: 50ms
    pre_vote: true
    reads: lease
    read_time: { exponential: 0.2ms }
    write_time: { exponential: 0.5ms }
    cores: 2
    placement: [a]";
    let database = "    kind: database
    replication:
      raft: { members: 5, election_timeout: [150ms, 300ms], heartbeat: 50ms, pre_vote: true, reads: lease }
    read_time: { exponential: 0.2ms }
    write_time: { exponential: 0.5ms }
    cores: 2
    placement: [a]";
    let regions = |y: String| y.replace("network:\n", "network:\n  regions: [a]\n");
    for (crash_c, crash_d) in [
        ("coord.leader", "coord.shard[0].leader"),
        ("coord.node[1]", "coord.shard[0].node[1]"),
    ] {
        let (a, _) = run_yaml(&regions(config_store_yaml(consensus, crash_c)), 7, 2);
        let (b, _) = run_yaml(&regions(config_store_yaml(database, crash_d)), 7, 2);
        let raft: Vec<&String> = a
            .metrics
            .keys()
            .filter(|k| k.starts_with("components.coord.raft."))
            .collect();
        assert!(raft.len() > 10, "raft metrics: {raft:?}");
        assert_eq!(
            a.metrics.keys().collect::<Vec<_>>(),
            b.metrics.keys().collect::<Vec<_>>(),
            "{crash_c}: the same metric names"
        );
        // Wall-clock speed is not part of the trajectory.
        for (k, m) in a
            .metrics
            .iter()
            .filter(|(k, _)| !k.starts_with("sim.") || matches!(k.as_str(), "sim.events" | "sim.fingerprint"))
        {
            assert_eq!(
                m.value.to_bits(),
                b.metrics[k].value.to_bits(),
                "{crash_c}: {k}: consensus {} vs database {}",
                m.value,
                b.metrics[k].value
            );
        }
        let v = |k: &str| a.value(&format!("components.coord.raft.{k}")).unwrap();
        assert_eq!(v("members"), 5.0);
        assert_eq!(v("lost_committed_writes"), 0.0);
        assert_eq!(v("safety_violations"), 0.0);
        assert!(v("commits") > 1000.0, "{}", v("commits"));
        if crash_c == "coord.leader" {
            // Each replication crashes the leader once: one election and
            // one period without a leader each, shorter than the largest
            // election timeout plus a few round trips.
            assert_eq!(v("leaderless_periods"), 1.0);
            assert!(v("elections") >= 1.0);
            let u = v("unavailable_s");
            assert!(u > 0.150 && u < 0.5, "time without a leader {u} s");
        }
    }
}

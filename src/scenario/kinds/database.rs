//! A database: shards of versioned keys, replicated, with failover, backups and consistency modes.
//!
//! Everything the scenario layer knows about this kind: its YAML spec,
//! where it runs, the components it sends requests to, and its
//! resolution into the model's config with located errors. The model's
//! behaviour is in `crate::model`; the registration is one line in
//! [`super`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cache::price;
use super::forecast::{Forecast, Setting};
use super::{Home, Kind, one};
use crate::model::CompCfg;
use crate::model::database::{DatabaseCfg, Mode, RaftCfg, RaftReads, RebuildCfg};
use crate::model::partition::Scheme;
use crate::scenario::dist::{DistSpec, Sampler};
use crate::scenario::limits::*;
use crate::scenario::spec::*;
use crate::scenario::units::{Bandwidth, ByteSize, Duration};
use crate::scenario::validate::{Checker, Scope};

/// A sharded, replicated database (SPEC §2 `database`).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// Number of shards (default 1).
    #[serde(default = "one")]
    pub shards: u32,
    /// How keys are spread over shards (default `hash`).
    #[serde(default)]
    pub partitioning: Partitioning,
    /// Followers per shard (default 0).
    #[serde(default)]
    pub replicas: u32,
    /// How writes reach followers (default `async`).
    #[serde(default)]
    pub replication: Replication,
    /// Delay until a follower has applied a write (default `{ exponential: 10ms }`).
    #[serde(default)]
    pub replication_lag: Option<DistSpec>,
    /// Which node serves reads (default `primary`; ignored under quorum).
    #[serde(default)]
    pub reads: ReadFrom,
    /// Service time of a read on a node.
    pub read_time: DistSpec,
    /// Service time of a write on a node (default: `read_time`).
    #[serde(default)]
    pub write_time: Option<DistSpec>,
    /// Parallel slots per node (default 1).
    #[serde(default = "one")]
    pub cores: u32,
    /// Waiting requests a node holds; full → rejected (default unbounded).
    #[serde(default)]
    pub queue_capacity: Option<u64>,
    /// `directory` partitioning: time of the lookup hop (default 500us).
    #[serde(default)]
    pub directory_time: Option<DistSpec>,
    /// Cost of one node per hour.
    #[serde(default)]
    pub price_per_hour: Option<f64>,
    /// Promote the most up-to-date follower when a shard's primary has been down this long.
    #[serde(default)]
    pub failover: Option<FailoverSpec>,
    /// Under a partition: `strong` (CP, the default: only the side with the primary and a majority
    /// of the shard's nodes serves) or `eventual` (AP: every side serves; last writer wins on healing).
    #[serde(default)]
    pub consistency: Consistency,
    /// Periodic backups, restored after a `disk_loss` fault.
    #[serde(default)]
    pub backup: Option<BackupSpec>,
    /// Re-replication after a node's disk is lost (`node_loss` faults, `{ random: DB, mtbf }` losses):
    /// `{ data: 500GB, bandwidth: 100MB/s, replace_after: 5m }`.
    #[serde(default)]
    pub rereplication: Option<RereplicationSpec>,
    /// Region of each node of a shard, primary first (cycled when shorter; default all in `region`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement: Vec<String>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default)]
    pub region: Option<String>,
    /// Session guarantees per user: `{ guarantee: read_your_writes, strategy: wait, max_wait: 1s }`.
    #[serde(default)]
    pub session: Option<super::session::SessionSpec>,
}

/// Failover: `{ detect_after: 10s }`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FailoverSpec {
    /// How long a primary is down before a follower is promoted.
    pub detect_after: Duration,
}

/// Backups: `{ every: 1h, restore_time: 10m }`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupSpec {
    /// Time between backups (the first at `every`).
    pub every: Duration,
    /// How long restoring a shard from its backup takes (the shard is down meanwhile).
    pub restore_time: Duration,
}

/// Re-replication: `{ data: 500GB, bandwidth: 100MB/s, replace_after: 5m }`. A lost node's slot
/// waits `replace_after`, then a replacement copies `data` at `bandwidth` (copy time data ÷ bandwidth)
/// and joins with a copy of the shard.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RereplicationSpec {
    /// Data one node of a shard holds (what a replacement copies).
    pub data: ByteSize,
    /// Copy bandwidth of one rebuild (rebuilds of different slots run in parallel).
    pub bandwidth: Bandwidth,
    /// How long a lost node stays dead before a replacement starts copying, as CockroachDB's
    /// `server.time_until_store_dead` (default 5m).
    #[serde(default = "five_minutes")]
    pub replace_after: Duration,
}

fn five_minutes() -> Duration {
    Duration::from_secs(300)
}

/// Nodes per shard as the spec writes them (quorum `n`, otherwise `replicas` + 1), before
/// validation clamps them.
pub(crate) fn nodes_per_shard(d: &DatabaseSpec) -> u32 {
    match d.replication {
        Replication::Quorum(q) => q.n.clamp(1, MAX_QUORUM_N),
        Replication::Raft(r) if matches!(r.members, 3 | 5 | 7) => r.members,
        Replication::Raft(_) => 3,
        _ => d.replicas.min(MAX_FOLLOWERS) + 1,
    }
}

/// What a database gives up under a partition (CAP).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// Consistent, not available on the minority side.
    #[default]
    Strong,
    /// Available on every side, stale reads and conflicting writes.
    Eventual,
}

/// How keys are spread over shards.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    /// hash(key) mod shards.
    #[default]
    Hash,
    /// Contiguous key ranges of equal width.
    Range,
    /// A lookup table (one extra hop per request).
    Directory,
    /// A hash ring with `vnodes` points per shard.
    ConsistentHash(VnodesSpec),
}

/// Ring points per shard.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VnodesSpec {
    /// Points per shard (default 100).
    #[serde(default = "hundred")]
    pub vnodes: u32,
}

fn hundred() -> u32 {
    100
}

/// How writes reach a shard's followers.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Replication {
    /// The primary answers at once; followers apply the write after `replication_lag`.
    #[default]
    Async,
    /// The primary answers once every follower has applied the write.
    Sync,
    /// Dynamo-style: `n` equal nodes per shard, a write waits for `w`, a read asks `r`.
    Quorum(QuorumSpec),
    /// Each shard a Raft group: an elected leader, writes committed by a majority.
    Raft(RaftSpec),
}

/// A Raft group per shard: `{ members: 5, election_timeout: [150ms, 300ms], heartbeat: 50ms }`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RaftSpec {
    /// Members per shard: 3, 5 or 7 (default 3); a majority must be up and connected.
    #[serde(default = "three")]
    pub members: u32,
    /// Election timeouts are drawn uniformly from `[min, max]` at every reset (default `[150ms, 300ms]`).
    #[serde(default = "election_timeout")]
    pub election_timeout: [Duration; 2],
    /// The leader's heartbeat period, shorter than the smallest election timeout (default 50ms).
    #[serde(default = "heartbeat")]
    pub heartbeat: Duration,
    /// Ask for pre-votes before standing, so a member that was cut off cannot depose a leader (default false).
    #[serde(default)]
    pub pre_vote: bool,
    /// Where reads go: `leader` (ReadIndex), `lease` or `follower` (may be stale); default `leader`.
    #[serde(default)]
    pub reads: RaftReads,
    /// Applied entries each member keeps before compacting its log (default 10000, at least 100).
    #[serde(default = "log_capacity")]
    pub log_capacity: u64,
}

fn three() -> u32 {
    3
}

fn election_timeout() -> [Duration; 2] {
    [Duration::from_millis(150), Duration::from_millis(300)]
}

fn heartbeat() -> Duration {
    Duration::from_millis(50)
}

fn log_capacity() -> u64 {
    10_000
}

/// Quorum sizes.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QuorumSpec {
    /// Nodes holding each key.
    pub n: u32,
    /// Acknowledgements a write waits for.
    pub w: u32,
    /// Nodes a read asks (it returns the newest version among them).
    pub r: u32,
}

impl Kind for DatabaseSpec {
    fn home(&self) -> Home<'_> {
        Home::Placement {
            region: self.region.as_ref(),
            placement: &self.placement,
        }
    }

    fn instances(&self) -> Option<u32> {
        Some(self.shards.max(1))
    }

    /// Busy time ÷ (shards × cores), spread evenly over the primaries; each
    /// shard an M/M/c queue of its cores.
    fn forecast(&self, c: &CompCfg, r: f64, w: f64, s: &Setting) -> Forecast {
        let CompCfg::Database(d) = c else {
            return Forecast::default();
        };
        let mut t = Forecast::default();
        let slots = f64::from(d.shards.max(1) * d.cores.max(1));
        let work = r * d.read_time.mean_ns() / 1e9 + w * d.write_time.mean_ns() / 1e9;
        let util = work / slots;
        t.utilization = Some(util);
        t.model = "busy ÷ (shards × cores), even spread, primaries only".into();
        if util < 1.0 && r + w > 0.0 {
            let mean = work / (r + w);
            let wq =
                super::forecast::mgc_wait((r + w) / f64::from(d.shards.max(1)), mean, 1.0, d.cores.max(1));
            t.response_ms = wq.map(|x| (x + mean) * 1e3);
            t.wait_ms = wq.map(|x| x * 1e3);
        } else if util >= 1.0 {
            t.latency_unknown = true;
        }
        if let Mode::Raft(rc) = d.mode
            && let Some(commit) = raft_commit_forecast(d, rc.members, s)
        {
            // Writes wait for the commit; ReadIndex reads for a round of the same shape.
            let reads_wait = if rc.reads == RaftReads::Leader {
                commit
            } else {
                0.0
            };
            if let Some(resp) = t.response_ms
                && r + w > 0.0
            {
                t.response_ms = Some(resp + (w * commit + r * reads_wait) * 1e3 / (r + w));
            }
            t.model = format!(
                "busy ÷ (shards × cores), leaders only; raft: a write commits when ⌊n/2⌋ = {} of the {} \
                 followers have it, at the {} fastest round trip, mean {:.3} ms{}",
                rc.members / 2,
                rc.members - 1,
                ["", "1st", "2nd", "3rd"][(rc.members / 2).min(3) as usize],
                commit * 1e3,
                if rc.reads == RaftReads::Leader {
                    "; a leader read waits for a round of the same shape (ReadIndex)"
                } else {
                    ""
                }
            );
        }
        t.load = t.utilization;
        if let Mode::Raft(rc) = d.mode {
            // The leader does the work (followers' CPU is not modelled); the
            // simulated utilisation pools every member, so compare like with like.
            t.utilization = t.utilization.map(|u| u / f64::from(rc.members));
        }
        t
    }

    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg {
        let d = self;
        let mut cfg = database(
            ck,
            p,
            &format!("{p}.replication.raft"),
            name,
            d,
            cx.db_slot(name).unwrap_or(0),
            cx.added[cx.sc.components.get_index_of(name).unwrap_or(0)],
            cx.key_space,
            &cx.sc.network.regions,
        );
        if let CompCfg::Database(db) = &mut cfg {
            db.session = super::session::resolve(ck, cx, name, p, d, db.max_shards);
        }
        cfg
    }
}

/// Check a database's spec and resolve it. `rp` is the path of its Raft
/// settings' fields (`{p}.replication.raft`; a `consensus` component's sit
/// at `p` itself).
#[allow(clippy::too_many_arguments)]
pub(crate) fn database(
    ck: &mut Checker,
    p: &str,
    rp: &str,
    name: &str,
    d: &DatabaseSpec,
    slot: usize,
    added: u32,
    key_space: u64,
    regions: &[String],
) -> CompCfg {
    if d.shards == 0 || d.shards > MAX_SHARDS {
        ck.err(
            format!("{p}.shards"),
            format!("shards must be between 1 and {MAX_SHARDS}, found {}", d.shards),
        );
    }
    if d.cores == 0 || d.cores > MAX_CORES {
        ck.err(
            format!("{p}.cores"),
            format!("cores must be between 1 and {MAX_CORES}, found {}", d.cores),
        );
    }
    let shards = d.shards.clamp(1, MAX_SHARDS);
    let max_shards = shards.saturating_add(added).min(MAX_SHARDS);
    let mode = match d.replication {
        Replication::Async => Mode::Async,
        Replication::Sync => Mode::Sync,
        Replication::Quorum(q) => {
            let qp = format!("{p}.replication.quorum");
            if q.n == 0 || q.n > MAX_QUORUM_N {
                ck.err(
                    format!("{qp}.n"),
                    format!("n must be between 1 and {MAX_QUORUM_N}, found {}", q.n),
                );
            }
            if q.w == 0 || q.w > q.n {
                ck.err(
                    format!("{qp}.w"),
                    format!(
                        "w must be between 1 and n ({}), found {}: a write cannot wait for more nodes than \
                         hold the key, so this quorum can never be met; lower w or raise n",
                        q.n, q.w
                    ),
                );
            }
            if q.r == 0 || q.r > q.n {
                ck.err(
                    format!("{qp}.r"),
                    format!(
                        "r must be between 1 and n ({}), found {}: a read cannot ask more nodes than hold \
                         the key, so this quorum can never be met; lower r or raise n",
                        q.n, q.r
                    ),
                );
            }
            if d.replicas != 0 && u64::from(d.replicas) + 1 != u64::from(q.n) {
                ck.err(
                    format!("{p}.replicas"),
                    format!(
                        "under quorum every shard has n = {} equal nodes; omit `replicas` or set it to n − 1 = {}",
                        q.n,
                        q.n.saturating_sub(1)
                    ),
                );
            }
            let n = q.n.clamp(1, MAX_QUORUM_N);
            Mode::Quorum {
                n,
                w: q.w.clamp(1, n),
                r: q.r.clamp(1, n),
            }
        }
        Replication::Raft(r) => raft(ck, p, rp, d, &r, shards, max_shards),
    };
    if d.replicas > MAX_FOLLOWERS {
        ck.err(
            format!("{p}.replicas"),
            format!(
                "at most {MAX_FOLLOWERS} followers per shard, found {}",
                d.replicas
            ),
        );
    }
    let followers = match mode {
        Mode::Quorum { n, .. } => n - 1,
        Mode::Raft(r) => r.members - 1,
        _ => d.replicas.min(MAX_FOLLOWERS),
    };
    let copies = u64::from(followers) + 3;
    if key_space.saturating_mul(copies) > MAX_DB_CELLS {
        ck.err(
            p.to_string(),
            format!(
                "a database with {} nodes per shard can track at most {} keys (the clients use {key_space})",
                followers + 1,
                MAX_DB_CELLS / copies
            ),
        );
    }
    let scheme = match d.partitioning {
        Partitioning::Hash => Scheme::Hash,
        Partitioning::Range => Scheme::Range,
        Partitioning::Directory => Scheme::Directory,
        Partitioning::ConsistentHash(v) => {
            if v.vnodes == 0 {
                ck.err(
                    format!("{p}.partitioning.consistent_hash.vnodes"),
                    "vnodes must be at least 1",
                );
            } else if u64::from(v.vnodes) * u64::from(max_shards) > MAX_RING_POINTS {
                ck.err(
                    format!("{p}.partitioning.consistent_hash.vnodes"),
                    format!("vnodes × shards may be at most {MAX_RING_POINTS} ring points"),
                );
            }
            Scheme::ConsistentHash {
                vnodes: v.vnodes.clamp(1, MAX_VNODES),
            }
        }
    };
    let read_time = ck
        .sampler(&format!("{p}.read_time"), &d.read_time)
        .unwrap_or_else(|| Sampler::constant(0));
    let write_time = match &d.write_time {
        Some(w) => ck
            .sampler(&format!("{p}.write_time"), w)
            .unwrap_or_else(|| Sampler::constant(0)),
        None => read_time.clone(),
    };
    let lag = match &d.replication_lag {
        Some(l) => ck
            .sampler(&format!("{p}.replication_lag"), l)
            .unwrap_or_else(|| Sampler::constant(0)),
        None => crate::scenario::dist::sampler(
            &DistSpec::Exponential {
                mean: Duration::from_nanos(10_000_000),
            },
            std::path::Path::new("."),
        )
        .unwrap_or_else(|_| Sampler::constant(10_000_000)),
    };
    let directory_time = match &d.directory_time {
        Some(t) => ck
            .sampler(&format!("{p}.directory_time"), t)
            .unwrap_or_else(|| Sampler::constant(0)),
        None => Sampler::constant(500_000),
    };
    price(ck, p, d.price_per_hour);
    if d.failover.is_some()
        && d.replicas == 0
        && !matches!(d.replication, Replication::Quorum(_) | Replication::Raft(_))
    {
        ck.err(
            format!("{p}.failover"),
            "failover promotes a follower: give the shards `replicas: 1` or more",
        );
    }
    if let Some(b) = &d.backup {
        ck.period(
            &format!("{p}.backup.every"),
            b.every.as_nanos(),
            "`every`",
            "`every` must be longer than zero",
        );
    }
    let rereplication = d
        .rereplication
        .and_then(|r| rereplication(ck, &format!("{p}.rereplication"), r));
    CompCfg::Database(DatabaseCfg {
        name: name.to_string(),
        slot,
        shards,
        max_shards,
        scheme,
        followers,
        mode,
        lag,
        reads: d.reads,
        read_time,
        write_time,
        cores: d.cores.clamp(1, MAX_CORES),
        queue_capacity: d.queue_capacity.unwrap_or(u64::MAX),
        directory_time,
        key_space,
        price_per_hour: d.price_per_hour.unwrap_or(0.0),
        // Unknown region names were reported when the network was built.
        placement: d
            .placement
            .iter()
            .map(|r| regions.iter().position(|x| x == r).unwrap_or(0) as u16)
            .collect(),
        failover: d.failover.map(|f| f.detect_after.as_nanos()),
        eventual: d.consistency == Consistency::Eventual,
        backup: d.backup.map(|b| (b.every.as_nanos(), b.restore_time.as_nanos())),
        session: None,
        rereplication,
    })
}

/// Check a `replication: { raft: … }`, whose fields are at `rp`, and resolve it.
fn raft(
    ck: &mut Checker,
    p: &str,
    rp: &str,
    d: &DatabaseSpec,
    r: &RaftSpec,
    shards: u32,
    max_shards: u32,
) -> Mode {
    if !matches!(r.members, 3 | 5 | 7) {
        ck.err(
            format!("{rp}.members"),
            format!(
                "members must be 3, 5 or 7, found {}: an even group survives no more failures than the odd \
                 one below it (4 members tolerate 1 failure, as 3 do) and needs a larger majority",
                r.members
            ),
        );
    }
    let [lo, hi] = r.election_timeout;
    let (min, max) = (lo.as_nanos(), hi.as_nanos());
    if min == 0 || min >= max {
        ck.err(
            format!("{rp}.election_timeout"),
            format!(
                "expected [min, max] with 0 < min < max, found [{lo}, {hi}]: equal timeouts are not \
                 randomised, so split votes can repeat for ever (Raft §5.2)"
            ),
        );
    }
    let hb = r.heartbeat.as_nanos();
    if hb == 0 || hb >= min {
        ck.err(
            format!("{rp}.heartbeat"),
            format!(
                "the heartbeat ({}) must be longer than zero and shorter than the smallest election \
                 timeout ({lo}): followers would start elections between heartbeats",
                r.heartbeat
            ),
        );
    }
    if r.log_capacity < 100 {
        ck.err(
            format!("{rp}.log_capacity"),
            format!("log_capacity must be at least 100, found {}", r.log_capacity),
        );
    }
    let members = if matches!(r.members, 3 | 5 | 7) {
        r.members
    } else {
        3
    };
    let cells = u64::from(max_shards.max(shards))
        .saturating_mul(u64::from(members))
        .saturating_mul(r.log_capacity.saturating_mul(2));
    if cells > MAX_RAFT_LOG_ENTRIES {
        ck.err(
            format!("{rp}.log_capacity"),
            format!(
                "shards × members × 2 × log_capacity is {cells} log entries (16 bytes each); at most \
                 {MAX_RAFT_LOG_ENTRIES} fit in memory: lower log_capacity"
            ),
        );
    }
    if d.replicas != 0 && d.replicas + 1 != members {
        ck.err(
            format!("{p}.replicas"),
            format!(
                "under raft every shard has `members` = {members} nodes; omit `replicas` or set it to \
                 members − 1 = {}",
                members - 1
            ),
        );
    }
    if d.failover.is_some() {
        ck.err(
            format!("{p}.failover"),
            "a Raft group elects its own leader: remove `failover`",
        );
    }
    if d.rereplication.is_some() {
        ck.err(
            format!("{p}.rereplication"),
            "re-replicating a lost Raft member (a new member catching up as a learner, then a \
             membership change) is not modelled: remove `rereplication`",
        );
    }
    if d.session.is_some() {
        ck.err(
            format!("{p}.session"),
            "session guarantees ride on a primary's log positions; a Raft shard's `reads: leader` or \
             `lease` is already linearizable, and `reads: follower` carries no session tokens in this \
             model: remove `session`",
        );
    }
    if d.consistency == Consistency::Eventual {
        ck.err(
            format!("{p}.consistency"),
            "a Raft group never serves writes on a minority side; for available but stale reads use \
             `replication.raft.reads: follower`",
        );
    }
    Mode::Raft(RaftCfg {
        members,
        min: min.max(1),
        max: max.max(min.max(1) + 1),
        heartbeat: hb.clamp(1, min.max(2) - 1),
        pre_vote: r.pre_vote,
        reads: r.reads,
        log_capacity: r.log_capacity.max(100),
    })
}

/// Mean commit time (seconds) of a Raft shard whose leader is rank 0: the
/// ⌊n/2⌋-th smallest of the n − 1 followers' round trips (the order
/// statistic of `theory::raft_commit_mean`), estimated from the network's
/// own delay distributions between the members' regions by 20,000 draws on
/// a fixed stream, so any shape and any placement are covered.
fn raft_commit_forecast(d: &DatabaseCfg, members: u32, s: &Setting) -> Option<f64> {
    use crate::engine::rng;
    let net = &s.cfg.network;
    let nr = net.regions.len();
    let home = net.region.get(s.id).copied().unwrap_or(crate::model::NO_REGION);
    let region = |rank: u32| -> u16 {
        if d.placement.is_empty() {
            home
        } else {
            d.placement[rank as usize % d.placement.len()]
        }
    };
    let delay = |a: u16, b: u16, g: &mut rng::Rng| -> f64 {
        let between = if a != b && (a as usize) < nr && (b as usize) < nr {
            net.between
                .get(a as usize * nr + b as usize)
                .and_then(|x| x.as_ref())
        } else {
            None
        };
        match between.or(net.latency.as_ref()) {
            Some(smp) => smp.sample(g) as f64,
            None => 0.0,
        }
    };
    let mut g = rng::stream(0, &format!("explain/raft/{}", d.name));
    let k = (members / 2) as usize;
    let mut rtt = vec![0.0f64; members.saturating_sub(1) as usize];
    if k == 0 || rtt.is_empty() {
        return None;
    }
    let draws = 20_000;
    let mut sum = 0.0;
    for _ in 0..draws {
        for (i, x) in rtt.iter_mut().enumerate() {
            let f = region(i as u32 + 1);
            *x = delay(region(0), f, &mut g) + delay(f, region(0), &mut g);
        }
        rtt.select_nth_unstable_by(k - 1, f64::total_cmp);
        sum += rtt[k - 1];
    }
    Some(sum / f64::from(draws) / 1e9)
}

/// Check `rereplication` and resolve its copy time R = data ÷ bandwidth.
fn rereplication(ck: &mut Checker, p: &str, r: RereplicationSpec) -> Option<RebuildCfg> {
    let mut bad = false;
    if r.data.bytes() == 0 {
        bad = true;
        ck.err(
            format!("{p}.data"),
            "`data` must be more than 0 bytes: it is what a replacement node copies",
        );
    }
    let bw = r.bandwidth.bytes_per_sec();
    if bw.is_nan() || bw <= 0.0 {
        bad = true;
        ck.err(
            format!("{p}.bandwidth"),
            format!(
                "`bandwidth` must be more than 0 bytes per second, found {}",
                r.bandwidth
            ),
        );
    }
    if bad {
        return None;
    }
    let copy_s = r.data.bytes() as f64 / bw;
    let Some(copy) = Duration::from_secs_f64(copy_s).filter(|d| d.as_nanos() <= MAX_COPY_NS) else {
        ck.err(
            format!("{p}.bandwidth"),
            format!(
                "copying {} at {} takes {copy_s:.3e} s, more than 100 years: raise the bandwidth",
                r.data, r.bandwidth
            ),
        );
        return None;
    };
    Some(RebuildCfg {
        data: r.data.bytes(),
        copy: copy.as_nanos(),
        replace_after: r.replace_after.as_nanos(),
    })
}

/// The longest copy time accepted (100 years), so that sums of times stay far from overflow.
const MAX_COPY_NS: u64 = 100 * 365 * 86_400 * 1_000_000_000;

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
use crate::model::database::{DatabaseCfg, Mode, RebuildCfg};
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
    fn forecast(&self, c: &CompCfg, r: f64, w: f64, _s: &Setting) -> Forecast {
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
        t.load = t.utilization;
        t
    }

    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg {
        let d = self;
        database(
            ck,
            p,
            name,
            d,
            cx.db_slot(name).unwrap_or(0),
            cx.added[cx.sc.components.get_index_of(name).unwrap_or(0)],
            cx.key_space,
            &cx.sc.network.regions,
        )
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn database(
    ck: &mut Checker,
    p: &str,
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
    if d.failover.is_some() && d.replicas == 0 && !matches!(d.replication, Replication::Quorum(_)) {
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
        rereplication,
    })
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

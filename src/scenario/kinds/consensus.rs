//! A consensus group (`kind: consensus`): one Raft group used for
//! coordination and configuration, as etcd or ZooKeeper are.
//!
//! It has no model of its own: it resolves into the config of a one-shard
//! database whose replication is Raft (see [`super::database`]), so it
//! behaves, is measured (`components.NAME.raft.*`) and is faulted exactly as
//! that database. Its fields sit flat, and its errors point at them
//! (`components.coord.members`, not `…replication.raft.members`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::database::{DatabaseSpec, Partitioning, RaftSpec, Replication};
use super::forecast::{Forecast, Setting};
use super::{Home, Kind, one};
use crate::model::CompCfg;
use crate::model::FaultAction;
use crate::model::database::RaftReads;
use crate::scenario::dist::DistSpec;
use crate::scenario::units::Duration;
use crate::scenario::validate::{Checker, Scope};

/// A Raft group of 3, 5 or 7 members holding a small replicated store
/// (configuration, leases, locks), as etcd or ZooKeeper: a one-shard database
/// replicated by Raft.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsensusSpec {
    /// Members: 3, 5 or 7 (default 3); a majority must be up and connected to elect a leader and commit.
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
    /// Service time of a read on a member.
    pub read_time: DistSpec,
    /// Service time of a write on a member (default: `read_time`).
    #[serde(default)]
    pub write_time: Option<DistSpec>,
    /// Parallel slots per member (default 1).
    #[serde(default = "one")]
    pub cores: u32,
    /// Waiting requests a member holds; full → rejected (default unbounded).
    #[serde(default)]
    pub queue_capacity: Option<u64>,
    /// Region of each member, in member order (cycled when shorter; default all in `region`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement: Vec<String>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default)]
    pub region: Option<String>,
    /// Cost of one member per hour.
    #[serde(default)]
    pub price_per_hour: Option<f64>,
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

impl ConsensusSpec {
    /// The database it is: one shard, replicated by Raft, everything else
    /// at the database's defaults.
    pub fn database(&self) -> DatabaseSpec {
        DatabaseSpec {
            shards: 1,
            partitioning: Partitioning::Hash,
            replicas: 0,
            replication: Replication::Raft(RaftSpec {
                members: self.members,
                election_timeout: self.election_timeout,
                heartbeat: self.heartbeat,
                pre_vote: self.pre_vote,
                reads: self.reads,
                log_capacity: self.log_capacity,
            }),
            replication_lag: None,
            reads: Default::default(),
            read_time: self.read_time.clone(),
            write_time: self.write_time.clone(),
            cores: self.cores,
            queue_capacity: self.queue_capacity,
            directory_time: None,
            price_per_hour: self.price_per_hour,
            failover: None,
            consistency: Default::default(),
            backup: None,
            rereplication: None,
            placement: self.placement.clone(),
            region: self.region.clone(),
            session: None,
        }
    }
}

impl Kind for ConsensusSpec {
    fn home(&self) -> Home<'_> {
        Home::Placement {
            region: self.region.as_ref(),
            placement: &self.placement,
        }
    }

    fn instances(&self) -> Option<u32> {
        Some(1)
    }

    fn forecast(&self, c: &CompCfg, r: f64, w: f64, s: &Setting) -> Forecast {
        self.database().forecast(c, r, w, s)
    }

    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg {
        super::database::database(
            ck,
            p,
            p,
            name,
            &self.database(),
            cx.db_slot(name).unwrap_or(0),
            cx.added[cx.sc.components.get_index_of(name).unwrap_or(0)],
            cx.key_space,
            &cx.sc.network.regions,
        )
    }
}

/// A crash target naming a consensus group `name` of `members` members:
/// `NAME.leader` (the leader of the moment) or `NAME.node[K]` (member K), as
/// a one-shard database's `.shard[0].leader` and `.shard[0].node[K]`.
pub(crate) fn crash_action(target: &str, name: &str, members: u32) -> Result<FaultAction, String> {
    let rest = target.trim().strip_prefix(name).unwrap_or("");
    if rest == ".leader" {
        return Ok(FaultAction::CrashPrimary(0));
    }
    let k = rest
        .strip_prefix(".node[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|k| k.trim().parse::<u32>().ok());
    match k {
        Some(k) if k < members => Ok(FaultAction::Crash(k)),
        _ => Err(format!(
            "`{}`: a consensus crash names its leader of the moment, `{name}.leader`, or one of its \
             members, `{name}.node[K]`, with K from 0 to {}",
            target.trim(),
            members.saturating_sub(1)
        )),
    }
}

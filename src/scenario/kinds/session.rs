//! A database's `session:` block: session guarantees (Terry et al. 1994)
//! on primary/follower replication. The model is in
//! `crate::model::database` (`session.rs`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::database::{DatabaseSpec, Replication};
use crate::model::database::{Guarantee, SessionCfg, Strategy};
use crate::scenario::limits::MAX_SESSION_CELLS;
use crate::scenario::units::Duration;
use crate::scenario::validate::{Checker, Scope};

/// Session guarantees: `{ guarantee: read_your_writes, strategy: wait, max_wait: 1s }`.
///
/// A session is a user (a request's identity, see a client's `identities`).
/// The primary numbers the shard's writes (a log sequence number); with
/// `session` present followers apply them in log order, and a read is
/// served only by a node that has applied what its session needs (as Cosmos
/// DB's session tokens and MongoDB's `afterClusterTime` do). Needs `async`
/// or `sync` replication; `causal` needs one shard.
#[serde_with::skip_serializing_none]
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    /// `none` (eventual: no promise, the baseline), `monotonic_reads` (never
    /// older than what the session read), `read_your_writes` (the default:
    /// the session's own writes are seen) or `causal` (both, one shard).
    #[serde(default)]
    pub guarantee: Guarantee,
    /// `wait` (the default: a follower that is behind holds the read until
    /// it catches up, at most `max_wait`, then forwards it to the primary)
    /// or `route` (send the read to a follower that has caught up, else to
    /// the primary).
    #[serde(default)]
    pub strategy: Strategy,
    /// `wait`: longest a read waits on a follower before it goes to the
    /// primary (default 1s; 0s: straight to the primary).
    #[serde(default)]
    pub max_wait: Option<Duration>,
}

/// Check and resolve `{p}.session` of database `d` (shards at most `max_shards`).
pub(crate) fn resolve(
    ck: &mut Checker,
    cx: &Scope,
    name: &str,
    p: &str,
    d: &DatabaseSpec,
    max_shards: u32,
) -> Option<SessionCfg> {
    let s = d.session.as_ref()?;
    let sp = format!("{p}.session");
    if let Replication::Quorum(_) = d.replication {
        ck.err(
            sp.clone(),
            "session guarantees need a primary that orders the shard's writes (log sequence numbers); \
             under quorum replication r equal nodes answer a read and no log orders them: use \
             `replication: async` or `sync`, or remove `session`",
        );
    }
    if s.guarantee == Guarantee::Causal && max_shards > 1 {
        ck.err(
            format!("{sp}.guarantee"),
            format!(
                "causal is enforced per shard, and this database has {max_shards} shards: tracking a \
                 session's dependencies across shards (as COPS does) is not modelled; use one shard, or \
                 `read_your_writes` or `monotonic_reads`, which hold per shard"
            ),
        );
    }
    if let Some((i, _)) = cx
        .sc
        .events
        .iter()
        .enumerate()
        .find(|(_, e)| e.add_shard.as_deref() == Some(name) || e.remove_shard.as_deref() == Some(name))
    {
        ck.err(
            sp.clone(),
            format!(
                "session guarantees count each shard's writes in its own log, and `events.{i}` reshards \
                 `{name}`, which moves keys between logs: remove the event or `session`"
            ),
        );
    }
    let ids = cx.identity_base.max(1);
    let cells = ids.saturating_mul(u64::from(max_shards));
    if cells > MAX_SESSION_CELLS {
        ck.err(
            sp.clone(),
            format!(
                "session tokens take one cell per identity and shard: {ids} identities × {max_shards} shards \
                 = {cells} cells, more than the {MAX_SESSION_CELLS} a database may keep; use fewer \
                 identities (the clients' `identities`) or shards"
            ),
        );
    }
    Some(SessionCfg {
        guarantee: s.guarantee,
        strategy: s.strategy,
        max_wait: s.max_wait.map_or(1_000_000_000, |w| w.as_nanos()),
        identities: ids,
    })
}

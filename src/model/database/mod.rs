//! Databases: sharded, replicated stores of versioned keys.
//!
//! Keys are spread over shards by a [`Partitioner`]; each shard has nodes,
//! each a FIFO server with `cores` slots (as a service replica), `read_time`
//! and `write_time`.
//!
//! **Versions.** Every write creates a new version of its key. A node
//! serves the version it has applied; a read is *stale* when the version it
//! returns is older than the newest version already committed when the
//! read reached the database (so a read concurrent with a write is not
//! stale, as in linearizability). Committed versions live in
//! [`super::Versions`], where caches compare their copies too.
//!
//! **Primary/follower** (`async`, `sync`): a shard has a primary and
//! `replicas` followers. Writes are served by the primary, which applies
//! the new version at once. A follower applies it `replication_lag` later
//! (the lag stands for shipping and applying the log; followers' CPU is not
//! modelled). `async` commits and answers as soon as the primary has
//! written; `sync` answers — and commits — when every follower has applied
//! it, so a write takes the primary's time plus the slowest follower's lag.
//! Reads go to the primary (never stale), a random follower, or any node.
//!
//! **Quorum** (Dynamo, DeCandia et al. 2007): `n` equal nodes per shard.
//! The coordinator gives a write the next version and sends it to all `n`
//! nodes (its own at once, the others after `replication_lag`); each node
//! serves it (`write_time`) and applies it; the write commits and answers
//! after `w` nodes have. A read asks `r` random nodes and returns the newest
//! version among them. When r + w > n every read set meets the last
//! committed write's set, so no read is stale — in any seed.
//!
//! **Resharding** (`{ at, add_shard }`, `{ at, remove_shard }`): the
//! partitioner changes at once and reports the fraction of keys whose shard
//! changed (`keys_moved`); data moves instantly (migration cost is not
//! modelled). Nodes of a removed shard finish what they hold.
//!
//! **Faults.** A crashed node fails what it holds and refuses arrivals
//! (callers learn at once, as from a refused connection). When a shard's
//! primary is down, writes (and reads sent to it) fail; with `failover:
//! { detect_after }` the most up-to-date follower (the one that applied the
//! most writes) is promoted once the primary has been unavailable that
//! long, and every committed write it had not received is lost
//! (`lost_writes`): with `async` replication, the ones shipped too late.
//! Replication messages carry the shard's *term*, bumped when the primary
//! crashes or is replaced, so a deposed primary's log never reaches the new
//! one. A recovering node catches up from the primary at once (the copy's
//! cost is not modelled); a primary that comes back after a failover is a
//! follower.
//!
//! **Partitions (CAP).** Nodes sit in regions (`placement`). Under a
//! partition a caller reaches the nodes on its side only. `strong` (CP):
//! only the primary's side serves, and only while the primary reaches a
//! majority of the shard's nodes; with failover a majority side without the
//! primary promotes one of its own. `eventual` (AP): every side serves —
//! a side without the primary writes through its lowest-ranked reachable
//! node — so reads miss the other side's writes (stale) and both sides may
//! write the same key. On healing, anti-entropy gives every node the newest
//! version (last writer wins, as versions grow with time) and each write the
//! losing side made to a key both sides wrote is a lost update.
//!
//! **Backups** (`backup: { every, restore_time }`): a snapshot of every
//! key's version each `every`. A `disk_loss` fault wipes a shard on every
//! node: it restores the last snapshot — the writes since then are lost
//! (the recovery point) — and is down for `restore_time` (the recovery time).

mod rebuild;

use std::collections::{BTreeMap, VecDeque};

mod consensus;

use consensus::{Consensus, RFORWARD, RaftTimer};
pub use consensus::{RaftCfg, RaftReads};
mod session;
pub use session::{Guarantee, ORACLE_CELLS, SessionCfg, Strategy};

use rand::RngExt;

use super::partition::{Partitioner, Scheme};
use super::request::{IDEMPOTENT, LOST, RETRYABLE};
use super::{Component, Ctx, Metrics, Msg, Outcome, ReportCtx, ReqRef, Request, Timer, TimerWord};
use crate::engine::SimTime;
use crate::engine::rng::{self, Rng};
use crate::engine::sampler::Sampler;
use crate::model::request::Op;
use crate::stats::Occupancy;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use rebuild::Rebuild;
pub use rebuild::RebuildCfg;

/// Which node serves a read.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// The shard's primary (never stale).
    #[default]
    Primary,
    /// A follower chosen at random (the primary if there are none).
    Replicas,
    /// Any node of the shard, at random.
    Any,
}

/// Replication mode, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Primary answers, followers apply later.
    Async,
    /// Primary answers after every follower applied.
    Sync,
    /// Dynamo-style quorum.
    Quorum {
        /// Nodes per shard.
        n: u32,
        /// Write acknowledgements.
        w: u32,
        /// Nodes a read asks.
        r: u32,
    },
    /// Each shard a Raft group.
    Raft(RaftCfg),
}

/// Event code: add a shard.
pub const ADD_SHARD: u32 = 0;
/// Event code: remove the last shard.
pub const REMOVE_SHARD: u32 = 1;

/// A database's own timers (scheduled to itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DatabaseTimer {
    /// Take a backup.
    Backup,
    /// Check whether to promote a follower of this shard.
    Failover(u32),
    /// A restore of this shard from backup ended.
    Restored(u32),
    /// Re-replication: a replacement for this lost node starts copying.
    Replace(u32),
    /// Re-replication: this node's replacement has copied the shard.
    Rebuilt(u32),
}

impl Timer for DatabaseTimer {
    /// The codes of the former self-addressed events, `Event(2)` for a
    /// backup and `Event(k << 24 | shard)` for a failover (k = 1) or a
    /// restore (k = 2): kind 12 with the event code from bit 8, which for a
    /// shard below 2^24 (at most `MAX_SHARDS`) is the shard at bit 8 and k
    /// at bit 32.
    #[inline]
    fn encode(self) -> TimerWord {
        match self {
            DatabaseTimer::Backup => TimerWord::new(12, 2, 0, 0),
            DatabaseTimer::Failover(s) => TimerWord::new(12, s, 1, 32),
            DatabaseTimer::Restored(s) => TimerWord::new(12, s, 2, 32),
            DatabaseTimer::Replace(n) => TimerWord::new(12, n, 3, 32),
            DatabaseTimer::Rebuilt(n) => TimerWord::new(12, n, 4, 32),
        }
    }

    #[inline]
    fn decode(w: TimerWord) -> Option<Self> {
        match (w.kind(), w.a(), w.b()) {
            (12, 2, 0) => Some(DatabaseTimer::Backup),
            (12, s, 1) => Some(DatabaseTimer::Failover(s)),
            (12, s, 2) => Some(DatabaseTimer::Restored(s)),
            (12, n, 3) => Some(DatabaseTimer::Replace(n)),
            (12, n, 4) => Some(DatabaseTimer::Rebuilt(n)),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        "event"
    }
}

/// A database's resolved configuration.
#[derive(Clone, Debug)]
pub struct DatabaseCfg {
    /// Name in the scenario.
    pub name: String,
    /// Slot in [`super::Versions`].
    pub slot: usize,
    /// Shards at the start.
    pub shards: u32,
    /// Most shards it can have (start + scheduled additions).
    pub max_shards: u32,
    /// Partitioning scheme.
    pub scheme: Scheme,
    /// Followers per shard (primary/follower modes).
    pub followers: u32,
    /// Replication mode.
    pub mode: Mode,
    /// Replication lag.
    pub lag: Sampler,
    /// Where reads go (primary/follower modes).
    pub reads: ReadFrom,
    /// Read service time.
    pub read_time: Sampler,
    /// Write service time.
    pub write_time: Sampler,
    /// Cores per node.
    pub cores: u32,
    /// Waiting room per node for callers' requests.
    pub queue_capacity: u64,
    /// Directory lookup time.
    pub directory_time: Sampler,
    /// Keys are below this.
    pub key_space: u64,
    /// Price per node-hour.
    pub price_per_hour: f64,
    /// Region of each rank of a shard's nodes, primary first, cycled
    /// (empty: every node in the database's region).
    pub placement: Vec<u16>,
    /// Promote a follower once the primary has been unavailable this long.
    pub failover: Option<SimTime>,
    /// `consistency: eventual` (AP) rather than `strong` (CP).
    pub eventual: bool,
    /// Backups: every, restore time.
    pub backup: Option<(SimTime, SimTime)>,
    /// Session guarantees (primary/follower modes; see `session.rs`).
    pub session: Option<SessionCfg>,
    /// Re-replication of lost nodes ([`rebuild`]).
    pub rereplication: Option<RebuildCfg>,
}

impl DatabaseCfg {
    /// Nodes per shard.
    pub fn per_shard(&self) -> u32 {
        match self.mode {
            Mode::Quorum { n, .. } => n,
            Mode::Raft(r) => r.members,
            _ => self.followers + 1,
        }
    }
}

// `step` of a record in the database.
const LOOKUP: u16 = 1; // external: directory lookup under way
const SERVE: u16 = 2; // external: queued or served on a node
const WAIT: u16 = 3; // external: waiting for followers / quorum members
const DONE: u16 = 4; // external: answered
const APPLY: u16 = 5; // internal: replicated write travelling to a follower
const QREAD: u16 = 6; // internal: quorum read on a node
const QWRITE: u16 = 7; // internal: quorum write on a node
const QTRAVEL: u16 = 8; // internal: quorum write travelling to a node
const TRAVEL: u16 = 9; // external: on its way to a node in another region
// 32: session::PARKED, a read waiting on a follower for its session.

/// The log sequence number a replicated write (`APPLY`) carries, in its
/// otherwise unused `seen` field (0: none; see `session.rs`).
#[inline]
fn lsn_of(r: &Request) -> u32 {
    r.seen
}

struct Node {
    busy: u32,
    queue: VecDeque<ReqRef>,
    busy_tw: Occupancy,
    /// Requests held (queued + in service), time-weighted: the halves test
    /// for instability compares its mean in the two halves of the window.
    held_tw: Occupancy,
    held_mid: f64,
    /// Records in service (each one's `pos` is its index here), so that a
    /// crash can fail them.
    held: Vec<ReqRef>,
    /// Running (not crashed, not being restored).
    up: bool,
    /// May serve: up, and under a CP partition on the primary's majority side.
    ok: bool,
    /// Region the node is in.
    region: u16,
    /// Writes applied (how up to date a follower is, for promotion).
    log: u64,
}

/// A shard's replication state.
#[derive(Clone, Copy, Debug, Default)]
struct ShardState {
    /// Rank of the primary.
    primary: u32,
    /// Bumped when the primary crashes or is replaced.
    term: u32,
    /// When the primary became unavailable (crashed, or cut from a majority).
    lost_at: Option<SimTime>,
    /// Being restored from a backup.
    restoring: bool,
    /// Node that a `crash: db.shard[N].primary` fault took down.
    crashed: Option<u32>,
    /// Busy area (cores × ns) of the shard's primary role since the start
    /// is this plus the current primary's `busy_tw.integral`: a failover
    /// adds the old primary's integral and takes away the new one's, so
    /// the role keeps its own time average across the change.
    primary_area: i128,
    /// The primary role's busy area when the warm-up ended.
    primary_warm: i128,
}

/// A running database.
pub struct Database {
    cfg: DatabaseCfg,
    id: u32,
    per: u32,
    part: Partitioner,
    times: Rng,
    route: Rng,
    lag_rng: Rng,
    net: Rng,
    nodes: Vec<Node>,
    /// Applied version per key and rank (0 = primary / first quorum node),
    /// key-major (`key * per + rank`) so one key's copies share a cache line.
    applied: Vec<u32>,
    /// Newest version handed out per key (quorum coordinators).
    assigned: Vec<u32>,
    pick: Vec<u32>,
    // statistics since warm-up
    busy: Occupancy,
    slots: Occupancy,
    queued: Occupancy,
    reads: u64,
    writes: u64,
    stale: u64,
    rejected: u64,
    read_sojourn: f64,
    write_sojourn: f64,
    reads_done: u64,
    writes_done: u64,
    wait_sum: f64,
    wait_n: u64,
    lag_sum: f64,
    lag_n: u64,
    shard_requests: Vec<u64>,
    iv_shard: Vec<u64>,
    iv_stale: u64,
    keys_moved: Option<f64>,
    reshard_notes: Vec<String>,
    last_sample: SimTime,
    warm: SimTime,
    mid: Option<SimTime>,
    /// Writes that may be sent again, by logical request (`Request::origin`),
    /// with the version each created, kept for [`WRITE_MEMORY`].
    written: BTreeMap<u64, u32>,
    written_order: VecDeque<(SimTime, u64)>,
    duplicates: u64,
    deduplicated: u64,
    shard_st: Vec<ShardState>,
    /// Nodes sit in more than one region.
    spread: bool,
    /// A partition is in force and the database is spread.
    split: bool,
    /// Every node up, no partition, no restore: routing needs no checks.
    calm: bool,
    /// Writes per (key, writing node) while split under `eventual`, with
    /// the time of the last one: the conflicts resolved on healing.
    conflicts: BTreeMap<(u64, u32), (u32, SimTime)>,
    lost: u64,
    lost_updates: u64,
    failed: u64,
    failovers: u64,
    failover_wait: f64,
    backup_copy: Vec<u32>,
    backup_at: SimTime,
    backups: u64,
    restores: u64,
    rpo: f64,
    rto: f64,
    fault_notes: Vec<String>,
    /// Raft groups, in `Mode::Raft`.
    raft: Option<Box<Consensus>>,
    /// Session guarantees (`session.rs`), when configured.
    session: Option<Box<session::Sessions>>,
    /// Re-replication state (with `rereplication` only).
    rebuild: Option<Box<Rebuild>>,
}

/// How long a database remembers which logical requests' writes it applied
/// (as idempotency-key stores keep keys for a while): a retry arriving later
/// than this is not recognised. Only writes some caller may retry are kept.
pub const WRITE_MEMORY: SimTime = 300_000_000_000;

impl Database {
    /// A database with id `id`.
    pub fn new(cfg: &DatabaseCfg, id: u32, seed: u64) -> Database {
        let per = cfg.per_shard();
        let max_nodes = (cfg.max_shards * per) as usize;
        let nodes = (0..max_nodes)
            .map(|_| Node {
                busy: 0,
                queue: VecDeque::new(),
                busy_tw: Occupancy::new(0),
                held_tw: Occupancy::new(0),
                held_mid: 0.0,
                held: Vec::with_capacity(cfg.cores as usize),
                up: true,
                ok: true,
                region: super::NO_REGION,
                log: 0,
            })
            .collect();
        let spread = cfg.placement.iter().any(|&r| r != cfg.placement[0]);
        let assigned = match cfg.mode {
            Mode::Quorum { .. } | Mode::Raft(_) => vec![0; cfg.key_space as usize],
            _ => Vec::new(),
        };
        let mut slots = Occupancy::new(0);
        slots.add(
            0,
            (u64::from(cfg.shards) * u64::from(per) * u64::from(cfg.cores)) as i64,
        );
        Database {
            cfg: cfg.clone(),
            id,
            per,
            part: Partitioner::new(cfg.scheme, cfg.shards, cfg.key_space, &cfg.name),
            times: rng::stream(seed, &format!("component/{}/service_time", cfg.name)),
            route: rng::stream(seed, &format!("component/{}/route", cfg.name)),
            lag_rng: rng::stream(seed, &format!("component/{}/replication", cfg.name)),
            net: rng::stream(seed, &format!("component/{}/network", cfg.name)),
            nodes,
            applied: vec![0; cfg.key_space as usize * per as usize],
            assigned,
            pick: Vec::with_capacity(per as usize),
            busy: Occupancy::new(0),
            slots,
            queued: Occupancy::new(0),
            reads: 0,
            writes: 0,
            stale: 0,
            rejected: 0,
            read_sojourn: 0.0,
            write_sojourn: 0.0,
            reads_done: 0,
            writes_done: 0,
            wait_sum: 0.0,
            wait_n: 0,
            lag_sum: 0.0,
            lag_n: 0,
            shard_requests: vec![0; cfg.max_shards as usize],
            iv_shard: vec![0; cfg.max_shards as usize],
            iv_stale: 0,
            keys_moved: None,
            reshard_notes: Vec::new(),
            last_sample: 0,
            warm: 0,
            mid: None,
            written: BTreeMap::new(),
            written_order: VecDeque::new(),
            duplicates: 0,
            deduplicated: 0,
            shard_st: vec![ShardState::default(); cfg.max_shards as usize],
            spread,
            split: false,
            calm: true,
            conflicts: BTreeMap::new(),
            lost: 0,
            lost_updates: 0,
            failed: 0,
            failovers: 0,
            failover_wait: 0.0,
            backup_copy: Vec::new(),
            backup_at: 0,
            backups: 0,
            restores: 0,
            rpo: 0.0,
            rto: 0.0,
            fault_notes: Vec::new(),
            raft: match cfg.mode {
                Mode::Raft(r) => Some(Box::new(Consensus::new(r, &cfg.name, cfg.max_shards, seed))),
                _ => None,
            },
            session: cfg
                .session
                .as_ref()
                .map(|s| Box::new(session::Sessions::new(s, cfg, per, seed))),
            rebuild: cfg
                .rereplication
                .map(|c| Box::new(Rebuild::new(c, max_nodes, cfg.max_shards as usize))),
        }
    }

    /// A retryable write `rec` is about to create version `v`: returns the
    /// version to answer with instead when an idempotency key shows it was
    /// applied before; counts a duplicate when it was and has no key.
    fn remember_write(&mut self, rec: ReqRef, v: u32, ctx: &Ctx) -> Option<u32> {
        let now = ctx.now();
        let r = ctx.reqs.get(rec)?;
        if r.flags & RETRYABLE == 0 {
            return None;
        }
        let (origin, idempotent) = (r.origin, r.flags & IDEMPOTENT != 0);
        while let Some(&(t, o)) = self.written_order.front() {
            if now.saturating_sub(t) < WRITE_MEMORY {
                break;
            }
            self.written_order.pop_front();
            self.written.remove(&o);
        }
        let counted = now >= ctx.warmup;
        match self.written.get(&origin) {
            Some(&earlier) if idempotent => {
                if counted {
                    self.deduplicated += 1;
                }
                Some(earlier)
            }
            Some(_) => {
                if counted {
                    self.duplicates += 1;
                }
                self.written.insert(origin, v);
                None
            }
            None => {
                self.written.insert(origin, v);
                self.written_order.push_back((now, origin));
                None
            }
        }
    }

    #[inline]
    fn version(&self, rank: u32, key: u64) -> u32 {
        let i = key as usize * self.per as usize + rank as usize;
        self.applied.get(i).copied().unwrap_or(0)
    }

    /// Node `node` applies version `v` of `key` (versions never go back).
    #[inline]
    fn apply(&mut self, node: u32, key: u64, v: u32) {
        let i = key as usize * self.per as usize + (node % self.per) as usize;
        if let Some(x) = self.applied.get_mut(i)
            && v > *x
        {
            *x = v;
            if let Some(n) = self.nodes.get_mut(node as usize) {
                n.log += 1;
            }
        }
    }

    fn arrive(&mut self, req: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get_mut(req) else { return };
        r.arrived = now;
        if self.cfg.scheme == Scheme::Directory {
            r.step = LOOKUP;
            let d = self.cfg.directory_time.sample(&mut self.times);
            ctx.sched.after(d, self.id, Msg::Later(req));
            return;
        }
        self.route_req(req, ctx);
    }

    fn route_req(&mut self, req: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let counted = now >= ctx.warmup;
        let Some(r) = ctx.reqs.get(req) else { return };
        let (op, key, caller) = (r.op, r.key, r.reply_to);
        let shard = self.part.shard_of(key);
        self.iv_shard[shard as usize] += 1;
        if counted {
            self.shard_requests[shard as usize] += 1;
            match op {
                Op::Read => self.reads += 1,
                Op::Write => self.writes += 1,
            }
        }
        let seen = ctx.data.committed(self.cfg.slot, key);
        let base = shard * self.per;
        let calm = self.calm;
        if self.is_raft() {
            return self.raft_route(req, shard, op, caller, seen, ctx);
        }
        match (op, self.cfg.mode) {
            (Op::Read, Mode::Quorum { n, r: rq, .. }) => {
                // r distinct serving nodes: a partial Fisher–Yates shuffle.
                self.pick.clear();
                if calm {
                    self.pick.extend(0..n);
                } else {
                    for rank in 0..n {
                        if self.serves(caller, base + rank, ctx) {
                            self.pick.push(rank);
                        }
                    }
                }
                let avail = self.pick.len() as u32;
                let rq = if avail >= rq {
                    rq
                } else if self.cfg.eventual && avail > 0 {
                    avail // a sloppy read: as many as answer
                } else {
                    return self.fail(req, ctx);
                };
                for i in 0..rq as usize {
                    let j = self.route.random_range(i..avail as usize);
                    self.pick.swap(i, j);
                }
                let parent = self.set(req, ctx, |r| {
                    r.seen = seen;
                    r.version = 0;
                    r.pending = rq as u16;
                    r.step = WAIT;
                });
                for i in 0..rq as usize {
                    let node = base + self.pick[i];
                    let child = self.internal(parent, key, Op::Read, 0, node, QREAD, ctx);
                    self.enqueue(node, child, ctx);
                }
            }
            (Op::Write, Mode::Quorum { n, w, .. }) => {
                let mut avail = n;
                if !calm {
                    avail = (0..n).filter(|&k| self.serves(caller, base + k, ctx)).count() as u32;
                    if avail == 0 || (avail < w && !self.cfg.eventual) {
                        return self.fail(req, ctx);
                    }
                }
                let next = self.assigned.get(key as usize).map_or(0, |a| a + 1);
                if let Some(earlier) = self.remember_write(req, next, ctx) {
                    self.set(req, ctx, |r| {
                        r.version = earlier;
                        r.step = WAIT;
                    });
                    return self.write_answered(req, ctx);
                }
                let v = match self.assigned.get_mut(key as usize) {
                    Some(a) => {
                        *a += 1;
                        *a
                    }
                    None => 0,
                };
                if self.split {
                    let writer = (0..n).find(|&k| self.serves(caller, base + k, ctx)).unwrap_or(0);
                    self.track_conflict(key, base + writer, now);
                }
                let term = self.shard_st[shard as usize].term;
                self.set(req, ctx, |r| {
                    r.version = v;
                    r.pending = w.min(avail) as u16;
                    r.step = WAIT;
                    r.pos = term;
                });
                let mut first = true;
                for rank in 0..n {
                    let node = base + rank;
                    if !calm && !self.serves(caller, node, ctx) {
                        continue;
                    }
                    if first {
                        first = false;
                        let child = self.internal(req, key, Op::Write, v, node, QWRITE, ctx);
                        self.enqueue(node, child, ctx);
                    } else {
                        let child = self.internal(req, key, Op::Write, v, node, QTRAVEL, ctx);
                        let d = self.cfg.lag.sample(&mut self.lag_rng);
                        ctx.sched.after(d, self.id, Msg::Later(child));
                    }
                }
            }
            (Op::Read, _) => {
                if self.session.is_some() {
                    self.session_read_arrives(req, ctx);
                    if let Some(pick) = self.session_route(req, shard, caller, ctx) {
                        let Some(rank) = pick else {
                            return self.fail(req, ctx);
                        };
                        self.set(req, ctx, |r| {
                            r.seen = seen;
                            r.step = SERVE;
                            r.replica = base + rank;
                        });
                        return self.send_to_node(base + rank, req, ctx);
                    }
                }
                let p = self.shard_st[shard as usize].primary;
                let f = self.cfg.followers;
                // The k-th follower, skipping the primary's rank.
                let follower = |k: u32| if k >= p { k + 1 } else { k };
                let rank = match self.cfg.reads {
                    _ if f == 0 => p,
                    ReadFrom::Primary => p,
                    ReadFrom::Replicas => follower(self.route.random_range(0..f)),
                    ReadFrom::Any => self.route.random_range(0..=f),
                };
                let rank = if calm || self.serves(caller, base + rank, ctx) {
                    rank
                } else if self.cfg.reads == ReadFrom::Primary && !self.cfg.eventual {
                    // Strong reads come from the primary only.
                    return self.fail(req, ctx);
                } else {
                    match (1..=f)
                        .map(|k| (rank + k) % (f + 1))
                        .find(|&k| self.serves(caller, base + k, ctx))
                    {
                        Some(k) => k,
                        None => return self.fail(req, ctx),
                    }
                };
                self.set(req, ctx, |r| {
                    r.seen = seen;
                    r.step = SERVE;
                    r.replica = base + rank;
                });
                self.send_to_node(base + rank, req, ctx);
            }
            (Op::Write, _) => {
                let p = self.shard_st[shard as usize].primary;
                let leader = if calm || self.serves(caller, base + p, ctx) {
                    p
                } else if self.cfg.eventual {
                    // AP: this side's lowest-ranked reachable node takes the write.
                    match (0..self.per).find(|&k| self.serves(caller, base + k, ctx)) {
                        Some(k) => k,
                        None => return self.fail(req, ctx),
                    }
                } else {
                    return self.fail(req, ctx);
                };
                self.set(req, ctx, |r| {
                    r.step = SERVE;
                    r.replica = base + leader;
                });
                self.send_to_node(base + leader, req, ctx);
            }
        }
    }

    /// Queue a caller's request on `node`, after the one-way latency
    /// between the caller's region and the node's when they differ.
    fn send_to_node(&mut self, node: u32, req: ReqRef, ctx: &mut Ctx) {
        if self.spread {
            let caller = ctx.reqs.get(req).map_or(0, |r| r.reply_to);
            let d = self.hop(ctx.region(caller), self.nodes[node as usize].region, ctx);
            if d > 0 {
                self.set(req, ctx, |r| r.step = TRAVEL);
                ctx.reqs.path_net(req, d);
                ctx.sched.after(d, self.id, Msg::Later(req));
                return;
            }
        }
        self.reach_node(node, req, ctx);
    }

    /// A caller's request reaches node `node`: a read its session needs a
    /// fresher copy for waits there (`session.rs`); the rest queue.
    fn reach_node(&mut self, node: u32, req: ReqRef, ctx: &mut Ctx) {
        if self.session.is_some() && self.session_holds(node, req, ctx) {
            return;
        }
        self.enqueue(node, req, ctx);
    }

    /// One-way latency between regions `a` and `b` (0 inside a region: the
    /// network charged that hop already).
    fn hop(&mut self, a: u16, b: u16, ctx: &Ctx) -> SimTime {
        let n = ctx.net.regions.len();
        if a == b || a == super::NO_REGION || b == super::NO_REGION {
            return 0;
        }
        match ctx.net.between.get(a as usize * n + b as usize) {
            Some(Some(s)) => s.sample(&mut self.net),
            _ => ctx.net.latency.as_ref().map_or(0, |s| s.sample(&mut self.net)),
        }
    }

    /// Answer a caller's request served on node `node` (the way back pays
    /// the latency between the regions when they differ).
    fn reply(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        if self.spread
            && !matches!(self.cfg.mode, Mode::Quorum { .. })
            && let Some(r) = ctx.reqs.get(rec)
            && r.replica != super::request::ANY_REPLICA
            && (r.replica as usize) < self.nodes.len()
        {
            let to = r.reply_to;
            let d = self.hop(self.nodes[r.replica as usize].region, ctx.region(to), ctx);
            if d > 0 {
                ctx.reqs.path_respond(rec, ctx.sched.now());
                ctx.sched.after(d, to, Msg::Response(rec, Outcome::Ok));
                return;
            }
        }
        ctx.respond(&mut self.net, rec, Outcome::Ok);
    }

    /// Whether node `node` may serve a request from `caller` now.
    #[inline]
    fn serves(&self, caller: u32, node: u32, ctx: &Ctx) -> bool {
        let n = &self.nodes[node as usize];
        n.ok && (!self.split || ctx.net.reaches(caller, n.region))
    }

    /// Refuse `req` at once: the node it needs is down or out of reach.
    fn fail(&mut self, req: ReqRef, ctx: &mut Ctx) {
        if ctx.now() >= ctx.warmup {
            self.failed += 1;
        }
        self.set(req, ctx, |r| r.step = DONE);
        ctx.respond(&mut self.net, req, Outcome::Failed);
    }

    /// Under an AP partition, remember who wrote `key` (node `writer`).
    #[inline]
    fn track_conflict(&mut self, key: u64, writer: u32, now: SimTime) {
        if self.split && self.cfg.eventual {
            let e = self.conflicts.entry((key, writer)).or_insert((0, now));
            e.0 += 1;
            e.1 = now;
        }
    }

    #[inline]
    fn set(&self, req: ReqRef, ctx: &mut Ctx, f: impl FnOnce(&mut Request)) -> ReqRef {
        if let Some(r) = ctx.reqs.get_mut(req) {
            f(r);
        }
        req
    }

    #[allow(clippy::too_many_arguments)]
    fn internal(
        &self,
        parent: ReqRef,
        key: u64,
        op: Op,
        v: u32,
        node: u32,
        step: u16,
        ctx: &mut Ctx,
    ) -> ReqRef {
        let now = ctx.now();
        ctx.reqs.alloc(Request {
            reply_to: self.id,
            parent,
            op,
            key,
            version: v,
            replica: node,
            step,
            sent: now,
            arrived: now,
            born: now,
            target: self.id,
            ..super::Arena::blank()
        })
    }

    fn enqueue(&mut self, node: u32, rec: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let ni = node as usize;
        if let Some(r) = ctx.reqs.get_mut(rec) {
            r.replica = node;
            r.arrived = now;
        }
        if self.nodes[ni].busy < self.cfg.cores {
            self.start(ni, rec, ctx);
            return;
        }
        let internal = ctx.reqs.get(rec).is_some_and(|r| r.reply_to == self.id);
        // Callers' requests meet the queue limit; replication traffic does not.
        if !internal && self.nodes[ni].queue.len() as u64 >= self.cfg.queue_capacity {
            if now >= ctx.warmup {
                self.rejected += 1;
            }
            self.set(rec, ctx, |r| r.step = DONE);
            ctx.respond(&mut self.net, rec, Outcome::Rejected);
            return;
        }
        self.nodes[ni].queue.push_back(rec);
        self.nodes[ni].held_tw.add(now, 1);
        self.queued.add(now, 1);
    }

    fn start(&mut self, ni: usize, rec: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let node = &mut self.nodes[ni];
        node.busy += 1;
        node.busy_tw.add(now, 1);
        node.held_tw.add(now, 1);
        self.busy.add(now, 1);
        let pos = node.held.len() as u32;
        node.held.push(rec);
        let Some(r) = ctx.reqs.get_mut(rec) else { return };
        r.pos = pos;
        let wait = now - r.arrived;
        self.wait_sum += wait as f64;
        self.wait_n += 1;
        ctx.reqs.path_queued(rec, wait);
        let Some(r) = ctx.reqs.get(rec) else { return };
        let d = match r.op {
            Op::Read => self.cfg.read_time.sample(&mut self.times),
            Op::Write => self.cfg.write_time.sample(&mut self.times),
        };
        ctx.sched.after(d, self.id, Msg::Done(rec));
    }

    fn done(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(rec) else { return };
        if r.step == DONE {
            return; // failed when its node crashed
        }
        let (ni, pos) = (r.replica as usize, r.pos as usize);
        let node = &mut self.nodes[ni];
        if node.held.get(pos) != Some(&rec) {
            return;
        }
        node.held.swap_remove(pos);
        if let Some(&moved) = node.held.get(pos)
            && let Some(m) = ctx.reqs.get_mut(moved)
        {
            m.pos = pos as u32;
        }
        node.busy -= 1;
        node.busy_tw.add(now, -1);
        node.held_tw.add(now, -1);
        self.busy.add(now, -1);
        if let Some(next) = self.nodes[ni].queue.pop_front() {
            self.queued.add(now, -1);
            self.nodes[ni].held_tw.add(now, -1);
            self.start(ni, next, ctx);
        }
        self.served(rec, ctx);
    }

    /// A node has finished serving `rec`.
    fn served(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(rec) else { return };
        let (key, op, step, version, parent) = (r.key, r.op, r.step, r.version, r.parent);
        let (replica, seen, sent) = (r.replica, r.seen, r.sent);
        let rank = replica % self.per;
        if step == SERVE && self.is_raft() {
            return self.raft_served(rec, ctx);
        }
        match step {
            SERVE if op == Op::Read => {
                let served = self.version(rank, key);
                let stale = served < seen;
                self.read_answered(rec, served, stale, ctx);
            }
            SERVE => {
                // A write on the primary (or, under an AP partition, on its
                // side's stand-in): the next version, applied at once (unless
                // its idempotency key shows it was applied before). Versions
                // grow past the newest committed one, so two sides never hand
                // out the same number and the later write has the larger.
                let v = self
                    .version(rank, key)
                    .max(ctx.data.committed(self.cfg.slot, key))
                    + 1;
                if let Some(earlier) = self.remember_write(rec, v, ctx) {
                    self.set(rec, ctx, |r| r.version = earlier);
                    return self.write_answered(rec, ctx);
                }
                self.apply(replica, key, v);
                self.track_conflict(key, replica, now);
                let lsn = self.session_wrote(rec, replica);
                let base = replica - rank;
                let term = self.shard_st[(replica / self.per) as usize].term;
                let sync = self.cfg.mode == Mode::Sync;
                let mut sent = 0u16;
                for f in 0..self.per {
                    let to = base + f;
                    if f == rank || !self.links(replica, to, ctx) {
                        continue; // not shipped: caught up on recovery or healing
                    }
                    let parent = if sync { rec } else { ReqRef::NONE };
                    let child = self.internal(parent, key, Op::Write, v, to, APPLY, ctx);
                    if let Some(c) = ctx.reqs.get_mut(child) {
                        c.tag = replica;
                        c.pos = term;
                        c.seen = lsn;
                    }
                    let mut d = self.cfg.lag.sample(&mut self.lag_rng);
                    if self.spread {
                        // A follower in another region also waits for the trip there.
                        let (a, b) = (
                            self.nodes[replica as usize].region,
                            self.nodes[to as usize].region,
                        );
                        d = d.saturating_add(self.hop(a, b, ctx));
                    }
                    if self.session.is_some() {
                        d = self.session_apply_after(to, d, now);
                    }
                    ctx.sched.after(d, self.id, Msg::Later(child));
                    sent += 1;
                }
                if sync && sent > 0 {
                    self.set(rec, ctx, |r| {
                        r.version = v;
                        r.pending = sent;
                        r.step = WAIT;
                        r.pos = term;
                    });
                } else {
                    ctx.data.commit(self.cfg.slot, key, v);
                    self.set(rec, ctx, |r| r.version = v);
                    self.write_answered(rec, ctx);
                }
            }
            QREAD => {
                let served = self.version(rank, key);
                let waited = ctx.reqs.path_queue_of(rec);
                ctx.reqs.free(rec);
                let Some(p) = ctx.reqs.get_mut(parent) else { return };
                if p.step != WAIT {
                    return;
                }
                p.version = p.version.max(served);
                p.pending = p.pending.saturating_sub(1);
                if p.pending == 0 {
                    let (v, stale) = (p.version, p.version < p.seen);
                    // The read the quorum waited for last: its queueing is the request's.
                    ctx.reqs.path_queued(parent, waited);
                    self.read_answered(parent, v, stale, ctx);
                }
            }
            QWRITE => {
                self.apply(replica, key, version);
                if rank > 0 && now >= ctx.warmup {
                    self.lag_sum += (now - sent) as f64;
                    self.lag_n += 1;
                }
                let waited = ctx.reqs.path_queue_of(rec);
                ctx.reqs.free(rec);
                if ctx
                    .reqs
                    .get(parent)
                    .is_some_and(|p| p.step == WAIT && p.pending == 1)
                {
                    // The write that completes the quorum.
                    ctx.reqs.path_queued(parent, waited);
                }
                self.ack(parent, ctx);
            }
            _ => {}
        }
    }

    /// One more node has the write `parent` waits for.
    fn ack(&mut self, parent: ReqRef, ctx: &mut Ctx) {
        let Some(p) = ctx.reqs.get_mut(parent) else { return };
        if p.step != WAIT {
            return;
        }
        p.pending = p.pending.saturating_sub(1);
        if p.pending == 0 {
            let (key, v, term, node) = (p.key, p.version, p.pos, p.replica);
            let shard = self.part.shard_of(key) as usize;
            // A sync write whose primary crashed or was replaced meanwhile fails.
            let deposed = self.cfg.mode == Mode::Sync
                && (term != self.shard_st.get(shard).map_or(term, |s| s.term)
                    || !self.nodes.get(node as usize).is_some_and(|n| n.up));
            if deposed {
                return self.fail(parent, ctx);
            }
            ctx.data.commit(self.cfg.slot, key, v);
            self.write_answered(parent, ctx);
        }
    }

    /// Whether replication from node `a` reaches node `b` now.
    #[inline]
    fn links(&self, a: u32, b: u32, ctx: &Ctx) -> bool {
        let nb = &self.nodes[b as usize];
        nb.up && (!self.split || ctx.net.regions_reach(self.nodes[a as usize].region, nb.region))
    }

    fn read_answered(&mut self, rec: ReqRef, version: u32, stale: bool, ctx: &mut Ctx) {
        let now = ctx.now();
        // Time parked on a follower for its session counts in the sojourn.
        let parked = if self.session.is_some() {
            self.session_read_done(rec, version, ctx)
        } else {
            0
        };
        let Some(r) = ctx.reqs.get_mut(rec) else { return };
        r.version = version;
        r.step = DONE;
        if stale {
            self.iv_stale += 1;
        }
        if now >= ctx.warmup {
            if stale {
                self.stale += 1;
            }
            self.read_sojourn += (now - r.arrived + parked) as f64;
            self.reads_done += 1;
        }
        self.reply(rec, ctx);
    }

    fn write_answered(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        if self.session.is_some() {
            self.session_write_done(rec, ctx);
        }
        let Some(r) = ctx.reqs.get_mut(rec) else { return };
        r.step = DONE;
        if now >= ctx.warmup {
            self.write_sojourn += (now - r.arrived) as f64;
            self.writes_done += 1;
        }
        self.reply(rec, ctx);
    }

    fn later(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(rec) else { return };
        match r.step {
            LOOKUP => self.route_req(rec, ctx),
            TRAVEL => {
                // Arrived at the node: what is committed now decides staleness.
                let (node, key) = (r.replica, r.key);
                if !self.nodes[node as usize].up {
                    return self.fail(rec, ctx);
                }
                let seen = ctx.data.committed(self.cfg.slot, key);
                self.set(rec, ctx, |r| {
                    r.seen = seen;
                    r.step = SERVE;
                });
                self.reach_node(node, rec, ctx);
            }
            session::PARKED => self.session_timeout(rec, ctx),
            APPLY => {
                let (key, v, parent, sent) = (r.key, r.version, r.parent, r.sent);
                let (to, from, term, lsn) = (r.replica, r.tag, r.pos, lsn_of(r));
                let current = self
                    .shard_st
                    .get((to / self.per) as usize)
                    .is_some_and(|s| s.term == term);
                // A crashed or cut-off follower, or a deposed primary's log: dropped.
                if current && self.links(from, to, ctx) {
                    if self.session.is_none() || self.session_applies(to, lsn) {
                        self.apply(to, key, v);
                    }
                    if now >= ctx.warmup {
                        self.lag_sum += (now - sent) as f64;
                        self.lag_n += 1;
                    }
                    if self.session.is_some() {
                        self.session_release(to, ctx);
                    }
                }
                ctx.reqs.free(rec);
                if parent != ReqRef::NONE {
                    self.ack(parent, ctx);
                }
            }
            RFORWARD => self.raft_forwarded(rec, ctx),
            QTRAVEL => {
                let node = r.replica;
                if !self.nodes[node as usize].up {
                    return self.lose_member(rec, ctx);
                }
                self.set(rec, ctx, |r| r.step = QWRITE);
                self.enqueue(node, rec, ctx);
            }
            _ => {}
        }
    }

    fn reshard(&mut self, code: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let before = self.part.shards();
        let moved = if code == ADD_SHARD {
            if before >= self.cfg.max_shards {
                return;
            }
            self.part.add_shard()
        } else {
            self.part.remove_shard()
        };
        let after = self.part.shards();
        self.slots.add(
            now,
            (i64::from(after) - i64::from(before)) * i64::from(self.per * self.cfg.cores),
        );
        self.keys_moved = Some(moved);
        self.reshard_notes.push(format!(
            "{}: at {:.1}s the shards went from {before} to {after}; {:.1}% of keys changed shard",
            self.cfg.name,
            crate::engine::secs(now),
            moved * 100.0
        ));
    }

    /// An internal member of a quorum operation was lost with its node: the
    /// operation may never gather its answers, so its caller frees it on
    /// timeout.
    fn lose_member(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        let parent = ctx.reqs.get(rec).map_or(ReqRef::NONE, |r| r.parent);
        ctx.reqs.free(rec);
        if let Some(p) = ctx.reqs.get_mut(parent)
            && p.step == WAIT
        {
            p.flags |= LOST;
        }
    }

    /// The keys shard `s` holds now.
    fn shard_keys(&self, s: u32) -> impl Iterator<Item = u64> + '_ {
        (0..self.cfg.key_space).filter(move |&k| self.part.shard_of(k) == s)
    }

    /// Node `to` takes node `from`'s copy of every key of shard `s`.
    fn copy_node(&mut self, s: u32, from: u32, to: u32) {
        if from == to {
            return;
        }
        let per = self.per as usize;
        let (rf, rt) = ((from % self.per) as usize, (to % self.per) as usize);
        let keys: Vec<u64> = self.shard_keys(s).collect();
        for k in keys {
            let b = k as usize * per;
            self.applied[b + rt] = self.applied[b + rf];
        }
        self.nodes[to as usize].log = self.nodes[from as usize].log;
        self.session_copied(from, to);
    }

    /// Whether node `n` reaches a majority of its shard's nodes (itself included).
    fn majority(&self, n: u32, ctx: &Ctx) -> bool {
        let base = n - n % self.per;
        let region = self.nodes[n as usize].region;
        let reach = (base..base + self.per)
            .filter(|&m| {
                let x = &self.nodes[m as usize];
                x.up && (!self.split || ctx.net.regions_reach(region, x.region))
            })
            .count() as u32;
        self.nodes[n as usize].up && 2 * reach > self.per
    }

    /// Whether shard `s`'s primary cannot take writes (crashed, or under a
    /// CP partition cut off from a majority).
    fn primary_unavailable(&self, s: u32, ctx: &Ctx) -> bool {
        let p = s * self.per + self.shard_st[s as usize].primary;
        !self.nodes[p as usize].up || (self.split && !self.cfg.eventual && !self.majority(p, ctx))
    }

    /// Recompute which nodes may serve, and whether routing can skip checks.
    fn refresh(&mut self, ctx: &mut Ctx) {
        if self.is_raft() {
            // Members serve while up; the group decides who leads.
            let mut calm = !self.split;
            for n in &mut self.nodes {
                n.ok = n.up;
                calm &= n.up;
            }
            self.calm = calm;
            return;
        }
        let mut calm = !self.split;
        for s in 0..self.cfg.max_shards {
            calm &= self.refresh_shard(s, ctx);
        }
        self.calm = calm;
        if self.session.is_some() {
            self.session_release_all(ctx);
        }
    }

    /// [`Self::refresh`] for shard `s` alone; returns whether all its nodes are up.
    fn refresh_shard(&mut self, s: u32, ctx: &mut Ctx) -> bool {
        let now = ctx.now();
        let quorum = matches!(self.cfg.mode, Mode::Quorum { .. });
        let mut calm = true;
        let base = s * self.per;
        let p = base + self.shard_st[s as usize].primary;
        let cp = self.split && !self.cfg.eventual && !quorum;
        let side_ok = !cp || self.majority(p, ctx);
        let pr = self.nodes[p as usize].region;
        for n in base..base + self.per {
            let x = &self.nodes[n as usize];
            let ok = x.up && side_ok && (!cp || ctx.net.regions_reach(pr, x.region));
            calm &= x.up;
            self.nodes[n as usize].ok = ok;
        }
        if quorum {
            return calm;
        }
        let st = self.shard_st[s as usize];
        let unavailable = self.primary_unavailable(s, ctx);
        if unavailable && st.lost_at.is_none() && !st.restoring {
            self.shard_st[s as usize].lost_at = Some(now);
            if let Some(d) = self.cfg.failover {
                ctx.sched
                    .after(d, self.id, Msg::timer(DatabaseTimer::Failover(s)));
            }
        } else if !unavailable && st.lost_at.is_some() {
            self.shard_st[s as usize].lost_at = None;
        }
        calm
    }

    /// Crash node `n`: what it holds fails, arrivals are refused.
    fn crash_node(&mut self, n: u32, ctx: &mut Ctx) {
        if self.halt_node(n, ctx) {
            self.refresh(ctx);
        }
    }

    /// [`Self::crash_node`] without the refresh; false if `n` was down already.
    fn halt_node(&mut self, n: u32, ctx: &mut Ctx) -> bool {
        let now = ctx.now();
        let node = &mut self.nodes[n as usize];
        if !node.up {
            return false;
        }
        node.up = false;
        node.ok = false;
        let mut held = std::mem::take(&mut node.held);
        let mut queue = std::mem::take(&mut node.queue);
        let (b, q) = (held.len() as i64, queue.len() as i64);
        node.busy = 0;
        node.busy_tw.add(now, -b);
        node.held_tw.add(now, -(b + q));
        self.busy.add(now, -b);
        self.queued.add(now, -q);
        for rec in held.drain(..).chain(queue.drain(..)) {
            if ctx.reqs.get(rec).is_some_and(|r| r.reply_to == self.id) {
                self.lose_member(rec, ctx);
            } else {
                self.fail(rec, ctx);
            }
        }
        self.nodes[n as usize].held = held;
        self.nodes[n as usize].queue = queue;
        if self.session.is_some() {
            self.session_crash(n, ctx);
        }
        let s = n / self.per;
        if self.is_raft() {
            self.raft_crash(n, ctx);
        } else if !matches!(self.cfg.mode, Mode::Quorum { .. })
            && n % self.per == self.shard_st[s as usize].primary
        {
            // The primary's log stops here: replication in flight is dropped.
            self.shard_st[s as usize].term += 1;
        }
        true
    }

    /// Node `n` runs again and catches up from its shard's primary (or, for
    /// a primary that kept its role, its followers catch up from it).
    fn recover_node(&mut self, n: u32, ctx: &mut Ctx) {
        let s = n / self.per;
        if self.nodes[n as usize].up || self.shard_st[s as usize].restoring || !self.complete(n) {
            return;
        }
        self.nodes[n as usize].up = true;
        let base = s * self.per;
        match self.cfg.mode {
            Mode::Quorum { .. } => {
                // Read repair stands in for hinted handoff: take the newest copy.
                self.newest_everywhere(s, true);
            }
            // It catches up through the log (or a snapshot) from the leader.
            Mode::Raft(_) => self.raft_recover(n, ctx),
            _ => {
                let p = base + self.shard_st[s as usize].primary;
                if p == n {
                    for f in base..base + self.per {
                        if f != p && self.nodes[f as usize].up {
                            self.copy_node(s, p, f);
                        }
                    }
                } else {
                    self.copy_node(s, p, n);
                }
            }
        }
        self.refresh(ctx);
    }

    /// Every up node of shard `s` takes the newest version of each key any
    /// of them holds (anti-entropy); with `all`, down nodes too.
    fn newest_everywhere(&mut self, s: u32, all: bool) {
        let per = self.per as usize;
        let up: Vec<bool> = (0..per)
            .map(|r| all || self.nodes[s as usize * per + r].up)
            .collect();
        let keys: Vec<u64> = self.shard_keys(s).collect();
        for k in keys {
            let b = k as usize * per;
            let m = self.applied[b..b + per].iter().copied().max().unwrap_or(0);
            for (r, &u) in up.iter().enumerate() {
                if u {
                    self.applied[b + r] = m;
                }
            }
        }
    }

    /// The failover timer of shard `s` fired: promote the most up-to-date
    /// follower that can serve, if the primary is still unavailable.
    fn failover(&mut self, s: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(detect) = self.cfg.failover else { return };
        let st = self.shard_st[s as usize];
        let Some(t0) = st.lost_at else { return };
        if st.restoring || now < t0 + detect || !self.primary_unavailable(s, ctx) {
            return;
        }
        let base = s * self.per;
        let cp = self.split && !self.cfg.eventual;
        let cand = (0..self.per)
            .filter(|&k| k != st.primary)
            .map(|k| base + k)
            .filter(|&n| self.nodes[n as usize].up && (!cp || self.majority(n, ctx)))
            .max_by_key(|&n| (self.nodes[n as usize].log, std::cmp::Reverse(n)));
        let Some(c) = cand else {
            self.fault_notes.push(format!(
                "{}.shard[{s}]: at {:.1}s no follower could be promoted (none up{})",
                self.cfg.name,
                crate::engine::secs(now),
                if cp { " on a majority side" } else { "" }
            ));
            return;
        };
        // Committed writes the new primary never received are gone.
        let per = self.per as usize;
        let rank = (c % self.per) as usize;
        let mut lost = 0u64;
        let keys: Vec<u64> = self.shard_keys(s).collect();
        for &k in &keys {
            let have = self.applied[k as usize * per + rank];
            let committed = ctx.data.committed(self.cfg.slot, k);
            if committed > have {
                lost += u64::from(committed - have);
                ctx.data.reset(self.cfg.slot, k, have);
                self.session_lost(k, have, ctx);
            }
        }
        self.lost += lost;
        let old = st.primary;
        let handed = self.nodes[(base + old) as usize].busy_tw.integral(now)
            - self.nodes[c as usize].busy_tw.integral(now);
        let stt = &mut self.shard_st[s as usize];
        stt.primary_area += handed;
        stt.primary = c % self.per;
        stt.term += 1;
        stt.lost_at = None;
        self.failovers += 1;
        self.failover_wait += crate::engine::secs(now - t0);
        self.session_promoted(s, c);
        for f in base..base + self.per {
            if f != c && self.nodes[f as usize].up && self.links(c, f, ctx) {
                self.copy_node(s, c, f);
            }
        }
        self.fault_notes.push(format!(
            "{}.shard[{s}]: primary (node {old}) unavailable from {:.1}s; node {} promoted at {:.1}s; \
             {lost} committed writes it had not received are lost",
            self.cfg.name,
            crate::engine::secs(t0),
            c % self.per,
            crate::engine::secs(now),
        ));
        self.refresh(ctx);
    }

    /// A partition began or healed.
    fn repartition(&mut self, ctx: &mut Ctx) {
        let was = self.split;
        self.split = self.spread && !ctx.net.cuts.is_empty();
        if self.is_raft() {
            // No anti-entropy: members catch up through the log.
            self.refresh(ctx);
            return self.raft_repartition(ctx);
        }
        if was && !self.split {
            self.heal(ctx);
        }
        self.refresh(ctx);
    }

    /// The partition healed: resolve conflicting writes (last writer wins)
    /// and bring every node up to date.
    fn heal(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let mut lost_updates = 0u64;
        let mut keys = 0u64;
        let mut it = std::mem::take(&mut self.conflicts).into_iter().peekable();
        while let Some(((key, _), (count, last))) = it.next() {
            // Entries of one key are adjacent: the latest writer wins.
            let (mut total, mut win_count, mut win_last) = (count, count, last);
            let mut sides = 1;
            while let Some(&((k2, _), (c2, l2))) = it.peek() {
                if k2 != key {
                    break;
                }
                it.next();
                sides += 1;
                total += c2;
                if l2 > win_last {
                    (win_count, win_last) = (c2, l2);
                }
            }
            if sides > 1 {
                keys += 1;
                lost_updates += u64::from(total - win_count);
            }
        }
        self.lost_updates += lost_updates;
        // One pass over the keys (not one per shard): every up node takes
        // the newest copy (AP, quorum) or its primary's (CP).
        let per = self.per as usize;
        let newest = self.cfg.eventual || matches!(self.cfg.mode, Mode::Quorum { .. });
        for k in 0..self.cfg.key_space {
            let s = self.part.shard_of(k) as usize;
            let base = s * per;
            let b = k as usize * per;
            let src = if newest {
                (0..per)
                    .filter(|&r| self.nodes[base + r].up)
                    .map(|r| self.applied[b + r])
                    .max()
            } else {
                let p = self.shard_st[s].primary as usize;
                self.nodes[base + p].up.then(|| self.applied[b + p])
            };
            if let Some(v) = src {
                for r in 0..per {
                    if self.nodes[base + r].up {
                        self.applied[b + r] = v;
                    }
                }
            }
        }
        for s in 0..self.cfg.max_shards as usize {
            let p = s * per + self.shard_st[s].primary as usize;
            let log = self.nodes[p].log;
            for n in &mut self.nodes[s * per..(s + 1) * per] {
                if n.up {
                    n.log = n.log.max(log);
                }
            }
        }
        self.session_healed();
        if self.cfg.eventual {
            self.fault_notes.push(format!(
                "{}: partition healed at {:.1}s; {keys} keys were written on both sides, \
                 {lost_updates} writes lost to last-writer-wins",
                self.cfg.name,
                crate::engine::secs(now)
            ));
        }
    }

    /// Snapshot every key's version (the primary's copy) and schedule the next backup.
    fn backup(&mut self, ctx: &mut Ctx) {
        let Some((every, _)) = self.cfg.backup else { return };
        let per = self.per as usize;
        if self.backup_copy.len() != self.cfg.key_space as usize {
            self.backup_copy = vec![0; self.cfg.key_space as usize];
        }
        for k in 0..self.cfg.key_space {
            let s = self.part.shard_of(k) as usize;
            let p = self.shard_st[s].primary as usize;
            self.backup_copy[k as usize] = self.applied[k as usize * per + p];
        }
        self.backup_at = ctx.now();
        self.backups += 1;
        ctx.sched.after(every, self.id, Msg::timer(DatabaseTimer::Backup));
    }

    /// Shard `s` lost its data on every node: restore the last backup.
    fn disk_loss(&mut self, s: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some((_, restore)) = self.cfg.backup else {
            return;
        };
        if s >= self.cfg.max_shards || self.shard_st[s as usize].restoring {
            return;
        }
        self.shard_st[s as usize].restoring = true;
        let base = s * self.per;
        for n in base..base + self.per {
            self.crash_node(n, ctx);
        }
        let lost = self.reset_to_backup(s, ctx);
        self.lost += lost;
        self.session_restored(s);
        self.restores += 1;
        self.rpo = crate::engine::secs(now - self.backup_at);
        self.rto = crate::engine::secs(restore);
        let from = if self.backups == 0 {
            "no backup had been taken yet: the shard starts again empty".to_string()
        } else {
            format!(
                "restored the backup of {:.1}s",
                crate::engine::secs(self.backup_at)
            )
        };
        self.fault_notes.push(format!(
            "{}.shard[{s}]: disk lost at {:.1}s; {from} ({lost} writes since then lost, \
             recovery point {:.1}s); down until {:.1}s (recovery time {:.1}s)",
            self.cfg.name,
            crate::engine::secs(now),
            self.rpo,
            crate::engine::secs(now + restore),
            self.rto
        ));
        ctx.sched
            .after(restore, self.id, Msg::timer(DatabaseTimer::Restored(s)));
    }

    /// Every node of shard `s` and its committed versions go back to the
    /// last backup (0 without one); returns the committed writes lost.
    fn reset_to_backup(&mut self, s: u32, ctx: &mut Ctx) -> u64 {
        let per = self.per as usize;
        let mut lost = 0u64;
        let keys: Vec<u64> = self.shard_keys(s).collect();
        for k in keys {
            let b = self.backup_copy.get(k as usize).copied().unwrap_or(0);
            let committed = ctx.data.committed(self.cfg.slot, k);
            if committed > b {
                lost += u64::from(committed - b);
                self.session_lost(k, b, ctx);
            }
            ctx.data.reset(self.cfg.slot, k, b);
            for r in 0..per {
                self.applied[k as usize * per + r] = b;
            }
        }
        lost
    }

    /// The restore of shard `s` ended: its nodes run again.
    fn restored(&mut self, s: u32, ctx: &mut Ctx) {
        let Some(st) = self.shard_st.get_mut(s as usize) else {
            return;
        };
        st.restoring = false;
        st.lost_at = None;
        let base = s * self.per;
        for n in base..base + self.per {
            // A lost node stays down until its replacement has copied the shard.
            if self.complete(n) {
                self.nodes[n as usize].up = true;
            }
        }
        self.refresh(ctx);
    }

    /// A timed scenario event ([`ADD_SHARD`] or [`REMOVE_SHARD`]).
    fn event(&mut self, code: u32, ctx: &mut Ctx) {
        if let ADD_SHARD | REMOVE_SHARD = code {
            self.reshard(code, ctx);
            self.refresh(ctx);
        }
    }

    fn timer(&mut self, t: DatabaseTimer, ctx: &mut Ctx) {
        match t {
            DatabaseTimer::Backup => self.backup(ctx),
            DatabaseTimer::Failover(s) => self.failover(s, ctx),
            DatabaseTimer::Restored(s) => self.restored(s, ctx),
            DatabaseTimer::Replace(n) => self.replace_due(n, ctx),
            DatabaseTimer::Rebuilt(n) => self.copy_due(n, ctx),
        }
    }

    /// Busy area (cores × ns) of shard `s`'s primary role from the start
    /// to `t`, whichever node held it when.
    fn primary_area(&self, s: usize, t: SimTime) -> i128 {
        let st = &self.shard_st[s];
        let node = s * self.per as usize + st.primary as usize;
        st.primary_area + self.nodes.get(node).map_or(0, |n| n.busy_tw.integral(t))
    }

    fn per_shard_series(&self) -> bool {
        self.cfg.max_shards > 1 && self.cfg.max_shards <= 8
    }
}

impl Component for Database {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn timer_name(&self, w: TimerWord) -> &'static str {
        match RaftTimer::decode(w) {
            Some(t) if self.is_raft() => t.name(),
            _ => super::timer_name::<DatabaseTimer>(w),
        }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Request(req) => self.arrive(req, ctx),
            Msg::Done(rec) => self.done(rec, ctx),
            Msg::Later(rec) => self.later(rec, ctx),
            Msg::Event(code) => self.event(code, ctx),
            Msg::Timer(w) => {
                if let Some(t) = DatabaseTimer::decode(w) {
                    self.timer(t, ctx);
                } else if self.is_raft()
                    && let Some(t) = RaftTimer::decode(w)
                {
                    self.raft_timer(t, ctx);
                }
            }
            _ => {}
        }
    }

    fn start(&mut self, ctx: &mut Ctx) {
        let own = ctx.region(self.id);
        let per = self.per as usize;
        let place = &self.cfg.placement;
        for (i, n) in self.nodes.iter_mut().enumerate() {
            n.region = if place.is_empty() {
                own
            } else {
                place[(i % per) % place.len()]
            };
        }
        if let Some((every, _)) = self.cfg.backup {
            ctx.sched.after(every, self.id, Msg::timer(DatabaseTimer::Backup));
        }
        if self.is_raft() {
            self.raft_start(ctx);
        }
    }

    fn fault(&mut self, action: super::FaultAction, on: bool, ctx: &mut Ctx) {
        use super::FaultAction;
        match action {
            FaultAction::CrashPrimary(s) if s < self.cfg.max_shards => {
                if on {
                    let n = if self.is_raft() {
                        self.raft_leader_node(s)
                    } else {
                        s * self.per + self.shard_st[s as usize].primary
                    };
                    self.shard_st[s as usize].crashed = Some(n);
                    self.crash_node(n, ctx);
                } else if let Some(n) = self.shard_st[s as usize].crashed.take() {
                    self.recover_node(n, ctx);
                }
            }
            FaultAction::DiskLoss(s) if on => self.disk_loss(s, ctx),
            // `crash: db.shard[N].node[K]`: node N × per + K.
            FaultAction::Crash(n) if (n as usize) < self.nodes.len() => {
                if on {
                    self.crash_node(n, ctx);
                } else {
                    self.recover_node(n, ctx);
                }
            }
            FaultAction::LoseNode(n) if on && (n as usize) < self.nodes.len() => self.lose_node(n, ctx),
            FaultAction::Outage(r) => {
                for n in 0..self.nodes.len() as u32 {
                    if self.nodes[n as usize].region == r {
                        if on {
                            self.crash_node(n, ctx);
                        } else {
                            self.recover_node(n, ctx);
                        }
                    }
                }
            }
            FaultAction::Partition(_) => self.repartition(ctx),
            _ => {}
        }
    }

    fn backlog(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| n.queue.len() as u64 + u64::from(n.busy))
            .sum::<u64>()
            + self.session.as_ref().map_or(0, |s| s.parked())
    }

    fn on_warmup(&mut self, now: SimTime) {
        self.busy.reset(now);
        self.slots.reset(now);
        self.queued.reset(now);
        for n in &mut self.nodes {
            n.busy_tw.reset(now);
            n.held_tw.reset(now);
        }
        self.warm = now;
        self.reads = 0;
        self.writes = 0;
        self.stale = 0;
        self.rejected = 0;
        self.read_sojourn = 0.0;
        self.write_sojourn = 0.0;
        self.reads_done = 0;
        self.writes_done = 0;
        self.wait_sum = 0.0;
        self.wait_n = 0;
        self.lag_sum = 0.0;
        self.lag_n = 0;
        self.shard_requests.iter_mut().for_each(|x| *x = 0);
        self.failed = 0;
        if let Some(s) = self.session.as_deref_mut() {
            s.on_warmup();
        }
        for s in 0..self.shard_st.len() {
            self.shard_st[s].primary_warm = self.primary_area(s, now);
        }
        if self.is_raft() {
            self.raft_warmup(now);
        }
        if let Some(r) = &mut self.rebuild {
            r.on_warmup(now);
        }
    }

    fn on_midpoint(&mut self, now: SimTime) {
        self.mid = Some(now);
        for n in &mut self.nodes {
            n.held_mid = n.held_tw.mean(now);
        }
    }

    fn columns(&self, out: &mut Vec<String>) {
        out.push(format!("{}.utilization", self.cfg.name));
        out.push(format!("{}.stale_reads", self.cfg.name));
        if self.per_shard_series() {
            for i in 0..self.cfg.max_shards {
                out.push(format!("{}.shard[{i}].rps", self.cfg.name));
            }
        }
    }

    fn sample(&mut self, now: SimTime, out: &mut Vec<f64>) {
        let slots = self.slots.value().max(1) as f64;
        out.push(self.busy.take_interval_mean(now) / slots);
        out.push(self.iv_stale as f64);
        self.iv_stale = 0;
        if self.per_shard_series() {
            // Requests per second of the interval just ended.
            let secs = crate::engine::secs(now - self.last_sample).max(1e-9);
            for x in &mut self.iv_shard {
                out.push(*x as f64 / secs);
                *x = 0;
            }
        } else {
            self.iv_shard.iter_mut().for_each(|x| *x = 0);
        }
        self.last_sample = now;
    }

    fn report(&self, rc: &ReportCtx, out: &mut Metrics, notes: &mut Vec<String>) {
        let p = format!("components.{}.", self.cfg.name);
        let now = rc.now;
        let w = rc.window_s();
        let slots = self.slots.mean(now).max(1e-9);
        let util = self.busy.mean(now) / slots;
        let mean = |sum: f64, n: u64| if n > 0 { sum / n as f64 / 1e6 } else { 0.0 };
        let active = self.part.shards() as usize;
        let loads: Vec<f64> = self.shard_requests[..active].iter().map(|&x| x as f64).collect();
        let total: f64 = loads.iter().sum();
        let (hot, hot_load) = loads
            .iter()
            .copied()
            .enumerate()
            .fold((0, 0.0), |b, (i, x)| if x > b.1 { (i, x) } else { b });
        let shard_util = |s: usize| {
            let nodes = &self.nodes[s * self.per as usize..(s + 1) * self.per as usize];
            nodes.iter().map(|n| n.busy_tw.mean(now)).sum::<f64>() / f64::from(self.per * self.cfg.cores)
        };
        let mut put = |k: &str, v: f64| {
            out.insert(format!("{p}{k}"), v);
        };
        put("utilization", util);
        put("queue_length_mean", self.queued.mean(now));
        put("wait.mean_ms", mean(self.wait_sum, self.wait_n));
        put("throughput_rps", (self.reads_done + self.writes_done) as f64 / w);
        put("reads", self.reads as f64);
        put("writes", self.writes as f64);
        put("read.mean_ms", mean(self.read_sojourn, self.reads_done));
        put("write.mean_ms", mean(self.write_sojourn, self.writes_done));
        put("rejected", self.rejected as f64);
        put("stale_reads", self.stale as f64);
        put(
            "stale_read_ratio",
            if self.reads_done > 0 {
                self.stale as f64 / self.reads_done as f64
            } else {
                0.0
            },
        );
        put("lost_writes", self.lost as f64);
        put("failed", self.failed as f64);
        if self.cfg.eventual {
            put("lost_updates", self.lost_updates as f64);
        }
        if self.cfg.failover.is_some() {
            put("failovers", self.failovers as f64);
            if self.failovers > 0 {
                put("failover.mean_s", self.failover_wait / self.failovers as f64);
            }
        }
        if self.cfg.backup.is_some() {
            put("backups", self.backups as f64);
            put("restores", self.restores as f64);
            if self.restores > 0 {
                put("rpo_s", self.rpo);
                put("rto_s", self.rto);
            }
        }
        put("duplicate_writes", self.duplicates as f64);
        if self.deduplicated > 0 {
            put("deduplicated_writes", self.deduplicated as f64);
        }
        put("shards", f64::from(self.part.shards()));
        if self.per > 1 && !self.is_raft() {
            put("replication_lag.mean_ms", mean(self.lag_sum, self.lag_n));
        }
        if active > 1 {
            put("shard_load_cv", crate::stats::coefficient_of_variation(&loads));
            put(
                "hottest_shard_share",
                if total > 0.0 { hot_load / total } else { 0.0 },
            );
        }
        if let Some(m) = self.keys_moved {
            put("keys_moved", m);
        }
        if let Some(r) = &self.rebuild {
            r.report(now, w, &mut put);
        }
        if !matches!(self.cfg.mode, Mode::Quorum { .. } | Mode::Raft(_)) {
            // `utilization` pools every node, so a saturated primary beside
            // idle followers reads as a third busy: each role on its own,
            // time-averaged over the window as `utilization` is. Busy cores
            // of each shard's primary role (whichever node held it):
            let span = now.saturating_sub(self.warm) as f64;
            let primaries: Vec<f64> = (0..self.shard_st.len())
                .map(|s| {
                    let area = self.primary_area(s, now) - self.shard_st[s].primary_warm;
                    if span > 0.0 { area as f64 / span } else { 0.0 }
                })
                .collect();
            let busy_primaries: f64 = primaries.iter().sum();
            let cores = f64::from(self.cfg.cores);
            // Core-time of each role: one node in `per` is a primary.
            let primary_slots = slots / f64::from(self.per);
            put(
                "primary_utilization_max",
                primaries.iter().copied().fold(0.0, f64::max) / cores,
            );
            put("primary_utilization_mean", busy_primaries / primary_slots);
            if self.per > 1 {
                put(
                    "follower_utilization_mean",
                    (self.busy.mean(now) - busy_primaries).max(0.0) / (slots - primary_slots).max(1e-9),
                );
            }
        }
        if let Some(s) = &self.session {
            s.report(&p, &self.cfg.name, self.cfg.key_space, out, notes);
        }
        if self.cfg.max_shards <= 64 {
            for s in 0..self.cfg.max_shards as usize {
                out.insert(
                    format!("components.{}.shard[{s}].utilization", self.cfg.name),
                    shard_util(s),
                );
                out.insert(
                    format!("components.{}.shard[{s}].requests", self.cfg.name),
                    self.shard_requests[s] as f64,
                );
            }
        }
        self.raft_report(now, out);
        *out.entry("consistency.stale_reads".into()).or_insert(0.0) += self.stale as f64;
        *out.entry("consistency.reads".into()).or_insert(0.0) += self.reads_done as f64;
        *out.entry("data.lost_writes".into()).or_insert(0.0) += (self.lost + self.lost_updates) as f64;
        *out.entry("data.duplicate_writes".into()).or_insert(0.0) += self.duplicates as f64;
        let inst = self.slots.mean(now) / f64::from(self.cfg.cores) * w / 3600.0;
        *out.entry("cost.instance_hours".into()).or_insert(0.0) += inst;
        *out.entry("cost.total".into()).or_insert(0.0) += inst * self.cfg.price_per_hour;

        notes.extend(self.reshard_notes.iter().cloned());
        notes.extend(self.fault_notes.iter().cloned());
        // Stability: a node whose backlog keeps climbing through the second
        // half of the window while it is saturated (the halves test services use).
        if let Some(mid) = self.mid {
            let (t1, t2) = ((mid - self.warm) as f64, now.saturating_sub(mid) as f64);
            if t2 > 0.0 {
                for (i, n) in self.nodes.iter().enumerate() {
                    let total = n.held_tw.mean(now);
                    let second = (total * (t1 + t2) - n.held_mid * t1) / t2;
                    let u = n.busy_tw.mean(now) / f64::from(self.cfg.cores);
                    if second > 1.5 * n.held_mid + 10.0 && u >= 0.95 {
                        let (s, rank) = (i as u32 / self.per, i as u32 % self.per);
                        let role = match self.cfg.mode {
                            Mode::Quorum { .. } | Mode::Raft(_) => format!("node {rank}"),
                            _ if rank == 0 => "primary".to_string(),
                            _ => format!("follower {rank}"),
                        };
                        notes.push(format!(
                            "UNSTABLE: {}.shard[{s}] {role} is saturated (utilization {:.1}%) and its queue keeps \
                             growing (mean {:.0} in the first half, {:.0} in the second): arrivals exceed capacity",
                            self.cfg.name,
                            u * 100.0,
                            n.held_mid,
                            second
                        ));
                        break;
                    }
                }
            }
        }
        if active > 1 && total > 0.0 {
            let hu = shard_util(hot);
            let share = hot_load / total;
            if share > 1.2 / active as f64 {
                notes.push(format!(
                    "{}: shard[{hot}] gets {:.0}% of the requests (an even spread would be {:.0}%) and is \
                     {:.0}% busy while the database averages {:.0}%: a hot shard",
                    self.cfg.name,
                    share * 100.0,
                    100.0 / active as f64,
                    hu * 100.0,
                    util * 100.0
                ));
            }
        }
        if util >= 0.95 {
            notes.push(format!(
                "{} is near saturation (utilization {:.1}%): add shards or replicas",
                self.cfg.name,
                util * 100.0
            ));
        }
    }
}

#[cfg(test)]
mod timer_codes {
    use super::*;
    use crate::engine::Message;

    #[test]
    fn timers_keep_their_fingerprint_codes() {
        // The codes the same events had as Msg::Event(BACKUP = 2),
        // Msg::Event(FAILOVER | shard) and Msg::Event(RESTORED | shard) with
        // FAILOVER = 1 << 24 and RESTORED = 2 << 24.
        assert_eq!(Msg::timer(DatabaseTimer::Backup).code(), Msg::Event(2).code());
        assert_eq!(
            DatabaseTimer::decode(DatabaseTimer::Backup.encode()),
            Some(DatabaseTimer::Backup)
        );
        for s in [0u32, 1, 2, 3, 9_999, (1 << 24) - 1] {
            let t = DatabaseTimer::Failover(s);
            assert_eq!(Msg::timer(t).code(), Msg::Event((1 << 24) | s).code());
            assert_eq!(DatabaseTimer::decode(t.encode()), Some(t));
            let t = DatabaseTimer::Restored(s);
            assert_eq!(Msg::timer(t).code(), Msg::Event((2 << 24) | s).code());
            assert_eq!(DatabaseTimer::decode(t.encode()), Some(t));
        }
    }
}

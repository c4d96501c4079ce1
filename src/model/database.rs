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

use std::collections::{BTreeMap, VecDeque};

use rand::RngExt;

use super::partition::{Partitioner, Scheme};
use super::request::{IDEMPOTENT, RETRYABLE};
use super::{Component, Ctx, Metrics, Msg, Outcome, ReportCtx, ReqRef, Request};
use crate::engine::SimTime;
use crate::engine::rng::{self, Rng};
use crate::scenario::dist::Sampler;
use crate::scenario::spec::{Op, ReadFrom};
use crate::stats::Occupancy;

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
}

/// Event code: add a shard.
pub const ADD_SHARD: u32 = 0;
/// Event code: remove the last shard.
pub const REMOVE_SHARD: u32 = 1;

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
}

impl DatabaseCfg {
    /// Nodes per shard.
    pub fn per_shard(&self) -> u32 {
        match self.mode {
            Mode::Quorum { n, .. } => n,
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

struct Node {
    busy: u32,
    queue: VecDeque<ReqRef>,
    busy_tw: Occupancy,
    /// Requests held (queued + in service), time-weighted: the halves test
    /// for instability compares its mean in the two halves of the window.
    held_tw: Occupancy,
    held_mid: f64,
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
            })
            .collect();
        let assigned = match cfg.mode {
            Mode::Quorum { .. } => vec![0; cfg.key_space as usize],
            _ => Vec::new(),
        };
        let mut slots = Occupancy::new(0);
        slots.add(0, i64::from(cfg.shards * per * cfg.cores));
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

    #[inline]
    fn apply(&mut self, rank: u32, key: u64, v: u32) {
        let i = key as usize * self.per as usize + rank as usize;
        if let Some(x) = self.applied.get_mut(i) {
            *x = (*x).max(v);
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
        let (op, key) = (r.op, r.key);
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
        match (op, self.cfg.mode) {
            (Op::Read, Mode::Quorum { n, r: rq, .. }) => {
                // r distinct nodes: a partial Fisher–Yates shuffle.
                self.pick.clear();
                self.pick.extend(0..n);
                for i in 0..rq as usize {
                    let j = self.route.random_range(i..n as usize);
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
                self.set(req, ctx, |r| {
                    r.version = v;
                    r.pending = w as u16;
                    r.step = WAIT;
                });
                for rank in 0..n {
                    let node = base + rank;
                    if rank == 0 {
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
                let rank = match self.cfg.reads {
                    _ if self.cfg.followers == 0 => 0,
                    ReadFrom::Primary => 0,
                    ReadFrom::Replicas => 1 + self.route.random_range(0..self.cfg.followers),
                    ReadFrom::Any => self.route.random_range(0..=self.cfg.followers),
                };
                self.set(req, ctx, |r| {
                    r.seen = seen;
                    r.step = SERVE;
                    r.replica = base + rank;
                });
                self.enqueue(base + rank, req, ctx);
            }
            (Op::Write, _) => {
                self.set(req, ctx, |r| {
                    r.step = SERVE;
                    r.replica = base;
                });
                self.enqueue(base, req, ctx);
            }
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
        let Some(r) = ctx.reqs.get(rec) else { return };
        self.wait_sum += (now - r.arrived) as f64;
        self.wait_n += 1;
        let d = match r.op {
            Op::Read => self.cfg.read_time.sample(&mut self.times),
            Op::Write => self.cfg.write_time.sample(&mut self.times),
        };
        ctx.sched.after(d, self.id, Msg::Done(rec));
    }

    fn done(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(rec) else { return };
        let ni = r.replica as usize;
        let node = &mut self.nodes[ni];
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
        match step {
            SERVE if op == Op::Read => {
                let served = self.version(rank, key);
                let stale = served < seen;
                self.read_answered(rec, served, stale, ctx);
            }
            SERVE => {
                // A write on the primary: the next version, applied at once
                // (unless its idempotency key shows it was applied before).
                let v = self.version(0, key) + 1;
                if let Some(earlier) = self.remember_write(rec, v, ctx) {
                    self.set(rec, ctx, |r| r.version = earlier);
                    return self.write_answered(rec, ctx);
                }
                self.apply(0, key, v);
                for f in 1..=self.cfg.followers {
                    let child = self.internal(
                        if self.cfg.mode == Mode::Sync {
                            rec
                        } else {
                            ReqRef::NONE
                        },
                        key,
                        Op::Write,
                        v,
                        replica + f,
                        APPLY,
                        ctx,
                    );
                    let d = self.cfg.lag.sample(&mut self.lag_rng);
                    ctx.sched.after(d, self.id, Msg::Later(child));
                }
                if self.cfg.mode == Mode::Sync && self.cfg.followers > 0 {
                    self.set(rec, ctx, |r| {
                        r.version = v;
                        r.pending = self.cfg.followers as u16;
                        r.step = WAIT;
                    });
                } else {
                    ctx.data.commit(self.cfg.slot, key, v);
                    self.set(rec, ctx, |r| r.version = v);
                    self.write_answered(rec, ctx);
                }
            }
            QREAD => {
                let served = self.version(rank, key);
                ctx.reqs.free(rec);
                let Some(p) = ctx.reqs.get_mut(parent) else { return };
                if p.step != WAIT {
                    return;
                }
                p.version = p.version.max(served);
                p.pending = p.pending.saturating_sub(1);
                if p.pending == 0 {
                    let (v, stale) = (p.version, p.version < p.seen);
                    self.read_answered(parent, v, stale, ctx);
                }
            }
            QWRITE => {
                self.apply(rank, key, version);
                if rank > 0 && now >= ctx.warmup {
                    self.lag_sum += (now - sent) as f64;
                    self.lag_n += 1;
                }
                ctx.reqs.free(rec);
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
            let (key, v) = (p.key, p.version);
            ctx.data.commit(self.cfg.slot, key, v);
            self.write_answered(parent, ctx);
        }
    }

    fn read_answered(&mut self, rec: ReqRef, version: u32, stale: bool, ctx: &mut Ctx) {
        let now = ctx.now();
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
            self.read_sojourn += (now - r.arrived) as f64;
            self.reads_done += 1;
        }
        ctx.respond(&mut self.net, rec, Outcome::Ok);
    }

    fn write_answered(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get_mut(rec) else { return };
        r.step = DONE;
        if now >= ctx.warmup {
            self.write_sojourn += (now - r.arrived) as f64;
            self.writes_done += 1;
        }
        ctx.respond(&mut self.net, rec, Outcome::Ok);
    }

    fn later(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(rec) else { return };
        match r.step {
            LOOKUP => self.route_req(rec, ctx),
            APPLY => {
                let (key, v, parent, sent, rank) = (r.key, r.version, r.parent, r.sent, r.replica % self.per);
                self.apply(rank, key, v);
                if now >= ctx.warmup {
                    self.lag_sum += (now - sent) as f64;
                    self.lag_n += 1;
                }
                ctx.reqs.free(rec);
                if parent != ReqRef::NONE {
                    self.ack(parent, ctx);
                }
            }
            QTRAVEL => {
                let node = r.replica;
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

    fn per_shard_series(&self) -> bool {
        self.cfg.max_shards > 1 && self.cfg.max_shards <= 8
    }
}

impl Component for Database {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Request(req) => self.arrive(req, ctx),
            Msg::Done(rec) => self.done(rec, ctx),
            Msg::Later(rec) => self.later(rec, ctx),
            Msg::Event(code) => self.reshard(code, ctx),
            _ => {}
        }
    }

    fn backlog(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| n.queue.len() as u64 + u64::from(n.busy))
            .sum()
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
        put("lost_writes", 0.0);
        put("duplicate_writes", self.duplicates as f64);
        if self.deduplicated > 0 {
            put("deduplicated_writes", self.deduplicated as f64);
        }
        put("shards", f64::from(self.part.shards()));
        if self.per > 1 {
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
        *out.entry("consistency.stale_reads".into()).or_insert(0.0) += self.stale as f64;
        *out.entry("consistency.reads".into()).or_insert(0.0) += self.reads_done as f64;
        *out.entry("data.lost_writes".into()).or_insert(0.0) += 0.0;
        *out.entry("data.duplicate_writes".into()).or_insert(0.0) += self.duplicates as f64;
        let inst = self.slots.mean(now) / f64::from(self.cfg.cores) * w / 3600.0;
        *out.entry("cost.instance_hours".into()).or_insert(0.0) += inst;
        *out.entry("cost.total".into()).or_insert(0.0) += inst * self.cfg.price_per_hour;

        notes.extend(self.reshard_notes.iter().cloned());
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
                            Mode::Quorum { .. } => format!("node {rank}"),
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

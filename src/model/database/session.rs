//! Session guarantees on primary/follower databases (`session:`).
//!
//! Terry et al., "Session Guarantees for Weakly Consistent Replicated Data"
//! (PDIS 1994), built as a real replica builds them (Cosmos DB's session
//! token, MongoDB's `afterClusterTime`): a *log sequence number* per shard
//! and tokens per session.
//!
//! * **LSN.** The primary gives each write it serves the shard's next LSN.
//!   With `session:` present, a follower applies the shard's writes in log
//!   order (it applies a write at max(its arrival, the follower's previous
//!   apply), as streaming replication does), so what a node holds is always
//!   a *prefix* of the log and its applied LSN says which. This holds for
//!   every guarantee, `none` included, so that compared variants share their
//!   mechanics.
//! * **Tokens.** A session is the request's `identity`. Per (identity, shard)
//!   the database keeps a *write token* (the LSN of the session's last
//!   answered write) and a *read token* (the applied LSN of the node that
//!   answered its last read). As a client library carries the token it got
//!   back, the database acts as if every answer reached its session.
//! * **What a read needs.** `none` 0, `monotonic_reads` the read token,
//!   `read_your_writes` the write token, `causal` the larger of both (on one
//!   shard: read-your-writes, monotonic reads, monotonic writes and
//!   writes-follow-reads; a write goes to the primary, which holds every
//!   lower LSN). A node whose applied LSN is at least the need can serve it.
//! * **`wait`.** The read goes where it would go anyway. A follower that is
//!   behind parks it (sorted by need) and releases it as soon as its
//!   in-order apply reaches the need; after `max_wait` a read still parked is
//!   forwarded to the primary (`session.fallbacks`). The primary never parks.
//! * **`route`.** The router knows every node's applied LSN exactly (as if
//!   from heartbeats) and picks uniformly among the followers the caller
//!   reaches that have caught up (`session.routed`), else the primary
//!   (`session.fallbacks`).
//! * **Faults.** A parked read on a node that crashes fails like the node's
//!   other work. A recovering or healed node takes its primary's copy and
//!   LSN. A failover sets the shard's LSN to the new primary's (the lost
//!   writes' numbers are reused) and lowers the tokens above it. Writes a
//!   minority side takes under `consistency: eventual` get no LSN: the
//!   guarantees hold through the primary's log only.
//!
//! **Oracle.** Independent of the LSNs, when identities × keys is at most
//! [`ORACLE_CELLS`]: per (identity, key) the version the session last wrote
//! and the highest it has read. A read that returns less than the session's
//! own last write (answered before the read reached the database) counts in
//! `session.ryw_violations`; less than what the session had read before, in
//! `session.monotonic_violations`. A failover or disk loss that drops a
//! session's acknowledged write counts it in `session.lost_own_writes` and
//! lowers the oracle's expectation to what survived, so that violations
//! count only what the mechanism got wrong.

use std::collections::VecDeque;

use rand::RngExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Database, DatabaseCfg, ReadFrom, SERVE};
use crate::engine::SimTime;
use crate::engine::rng::{self, Rng};
use crate::model::request::Op;
use crate::model::{Ctx, Metrics, Msg, ReqRef};

/// `step` of a read parked on a follower until the follower catches up
/// with its session (beside the step codes of `mod.rs`).
pub(super) const PARKED: u16 = 32;

/// Most identities × keys cells for which the oracle runs (two tables of
/// 4-byte cells: 32 MiB).
pub const ORACLE_CELLS: u64 = 1 << 22;

/// What a session is promised (Terry et al. 1994).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Guarantee {
    /// No promise (eventual consistency): reads go where they would go.
    /// The LSNs, tokens and oracle still run: the baseline to compare.
    None,
    /// A session never reads older data than it read before.
    MonotonicReads,
    /// A session reads its own writes (the default).
    #[default]
    ReadYourWrites,
    /// Both, on one shard: what a session read or wrote happens before
    /// what it reads next.
    Causal,
}

/// How a read that a follower cannot serve yet is handled.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The follower holds the read until it has caught up, at most
    /// `max_wait`, then forwards it to the primary (the default).
    #[default]
    Wait,
    /// The router sends the read to a follower that has caught up, or to
    /// the primary if none has.
    Route,
}

/// A database's resolved `session:` block.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionCfg {
    /// What a session is promised.
    pub guarantee: Guarantee,
    /// Wait on the follower, or route to one that caught up.
    pub strategy: Strategy,
    /// Longest a read waits on a follower before it goes to the primary.
    pub max_wait: SimTime,
    /// Identities of all clients (sessions are `identity % identities`).
    pub identities: u64,
}

/// Per request record (by arena index): for a read, what the oracle
/// expects of it and how long it was parked; for a write, its LSN.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    generation: u32,
    /// Read: the version the session last wrote; write: its LSN.
    a: u32,
    /// Read: the highest version the session had read.
    b: u32,
    /// When the read was parked.
    since: SimTime,
    /// Time the read spent parked.
    parked: SimTime,
    /// Read: the oracle's loss count when the read arrived.
    epoch: u32,
}

/// The oracle's tables, key-major (`key * ids + identity`), and per key
/// its latest loss: which loss it was (counted from 1) and the version
/// that survived it.
struct Oracle {
    written: Vec<u32>,
    read: Vec<u32>,
    losses: u32,
    lost_at: Vec<u32>,
    survived: Vec<u32>,
}

/// The session state of one database.
pub(super) struct Sessions {
    cfg: SessionCfg,
    shards: usize,
    ids: u64,
    /// Last LSN each shard's primary handed out.
    lsn: Vec<u32>,
    /// Applied LSN per node.
    applied: Vec<u32>,
    /// When each node applies its latest write (in-order apply).
    last_apply: Vec<SimTime>,
    /// Parked reads per node, sorted by need (FIFO among equal needs).
    waiters: Vec<VecDeque<(u32, ReqRef)>>,
    parked_now: u64,
    write_tok: Vec<u32>,
    read_tok: Vec<u32>,
    slots: Vec<Slot>,
    oracle: Option<Oracle>,
    rng: Rng,
    scratch: Vec<ReqRef>,
    // Counted since the warm-up.
    waits: u64,
    wait_sum: f64,
    wait_n: u64,
    fallbacks: u64,
    routed: u64,
    ryw: u64,
    mono: u64,
    lost_own: u64,
    checked: u64,
}

impl Sessions {
    pub(super) fn new(s: &SessionCfg, cfg: &DatabaseCfg, per: u32, seed: u64) -> Sessions {
        let shards = cfg.max_shards as usize;
        let nodes = shards * per as usize;
        let ids = s.identities.max(1);
        let oracle = (ids.saturating_mul(cfg.key_space) <= ORACLE_CELLS).then(|| {
            let n = (ids * cfg.key_space) as usize;
            Oracle {
                written: vec![0; n],
                read: vec![0; n],
                losses: 0,
                lost_at: vec![0; cfg.key_space as usize],
                survived: vec![0; cfg.key_space as usize],
            }
        });
        Sessions {
            cfg: s.clone(),
            shards,
            ids,
            lsn: vec![0; shards],
            applied: vec![0; nodes],
            last_apply: vec![0; nodes],
            waiters: (0..nodes).map(|_| VecDeque::new()).collect(),
            parked_now: 0,
            write_tok: vec![0; ids as usize * shards],
            read_tok: vec![0; ids as usize * shards],
            slots: Vec::new(),
            oracle,
            rng: rng::stream(seed, &format!("component/{}/session", cfg.name)),
            scratch: Vec::new(),
            waits: 0,
            wait_sum: 0.0,
            wait_n: 0,
            fallbacks: 0,
            routed: 0,
            ryw: 0,
            mono: 0,
            lost_own: 0,
            checked: 0,
        }
    }

    #[inline]
    fn tok(&self, identity: u64, shard: u32) -> usize {
        (identity % self.ids) as usize * self.shards + shard as usize
    }

    #[inline]
    fn cell(&self, identity: u64, key: u64) -> usize {
        key as usize * self.ids as usize + (identity % self.ids) as usize
    }

    /// The applied LSN a node needs before it may answer this session's read.
    #[inline]
    fn need(&self, identity: u64, shard: u32) -> u32 {
        let i = self.tok(identity, shard);
        match self.cfg.guarantee {
            Guarantee::None => 0,
            Guarantee::MonotonicReads => self.read_tok[i],
            Guarantee::ReadYourWrites => self.write_tok[i],
            Guarantee::Causal => self.read_tok[i].max(self.write_tok[i]),
        }
    }

    /// The slot of `rec`, made current (the arena reuses indices).
    fn slot_mut(&mut self, rec: ReqRef) -> &mut Slot {
        let i = rec.idx as usize;
        if i >= self.slots.len() {
            let n = (i + 1).max(self.slots.len() * 2).max(64);
            self.slots.resize(n, Slot::default());
        }
        let s = &mut self.slots[i];
        if s.generation != rec.generation {
            *s = Slot {
                generation: rec.generation,
                ..Slot::default()
            };
        }
        s
    }

    fn slot(&self, rec: ReqRef) -> Option<Slot> {
        self.slots
            .get(rec.idx as usize)
            .filter(|s| s.generation == rec.generation)
            .copied()
    }

    /// A parked read leaves the park at `now`.
    fn unpark(&mut self, rec: ReqRef, now: SimTime, counted: bool) -> SimTime {
        self.parked_now = self.parked_now.saturating_sub(1);
        let s = self.slot_mut(rec);
        let waited = now.saturating_sub(s.since);
        s.parked += waited;
        if counted {
            self.wait_sum += waited as f64;
            self.wait_n += 1;
        }
        waited
    }

    /// Reads parked now (the database's backlog).
    pub(super) fn parked(&self) -> u64 {
        self.parked_now
    }

    pub(super) fn on_warmup(&mut self) {
        self.waits = 0;
        self.wait_sum = 0.0;
        self.wait_n = 0;
        self.fallbacks = 0;
        self.routed = 0;
        self.ryw = 0;
        self.mono = 0;
        self.lost_own = 0;
        self.checked = 0;
    }

    /// `components.<db>.session.*` (the prefix ends with a dot).
    pub(super) fn report(&self, p: &str, name: &str, keys: u64, out: &mut Metrics, notes: &mut Vec<String>) {
        let mut put = |k: &str, v: f64| {
            out.insert(format!("{p}session.{k}"), v);
        };
        put("waits", self.waits as f64);
        put(
            "wait.mean_ms",
            if self.wait_n > 0 {
                self.wait_sum / self.wait_n as f64 / 1e6
            } else {
                0.0
            },
        );
        put("fallbacks", self.fallbacks as f64);
        put("routed", self.routed as f64);
        if self.oracle.is_some() {
            put("ryw_violations", self.ryw as f64);
            put("monotonic_violations", self.mono as f64);
            put("lost_own_writes", self.lost_own as f64);
            put("reads_checked", self.checked as f64);
        } else {
            notes.push(format!(
                "{name}: the session oracle is off ({} identities × {keys} keys is more than {ORACLE_CELLS} cells): \
                 session.ryw_violations and session.monotonic_violations are not reported",
                self.ids
            ));
        }
    }
}

impl Database {
    /// A read reaches the database: the oracle notes what its session
    /// expects of it (what it wrote and read before this instant).
    pub(super) fn session_read_arrives(&mut self, req: ReqRef, ctx: &Ctx) {
        let Some(s) = self.session.as_deref_mut() else {
            return;
        };
        let Some(r) = ctx.reqs.get(req) else { return };
        let (a, b, epoch) = match &s.oracle {
            Some(o) => {
                let c = s.cell(r.identity, r.key);
                (o.written[c], o.read[c], o.losses)
            }
            None => (0, 0, 0),
        };
        let slot = s.slot_mut(req);
        slot.a = a;
        slot.b = b;
        slot.epoch = epoch;
    }

    /// `route`: the node rank a read goes to (`Some(None)`: none the caller
    /// reaches can serve it); `None` when the usual choice stands.
    pub(super) fn session_route(
        &mut self,
        req: ReqRef,
        shard: u32,
        caller: u32,
        ctx: &Ctx,
    ) -> Option<Option<u32>> {
        let s = self.session.as_deref()?;
        if s.cfg.strategy != Strategy::Route || self.cfg.reads == ReadFrom::Primary || self.per < 2 {
            return None;
        }
        let need = s.need(ctx.reqs.get(req)?.identity, shard);
        let base = shard * self.per;
        let p = self.shard_st[shard as usize].primary;
        let any = self.cfg.reads == ReadFrom::Any;
        self.pick.clear();
        for rank in 0..self.per {
            let node = base + rank;
            if (rank != p || any)
                && s.applied[node as usize] >= need
                && (self.calm || self.serves(caller, node, ctx))
            {
                self.pick.push(rank);
            }
        }
        let counted = ctx.now() >= ctx.warmup;
        let primary_ok = self.calm || self.serves(caller, base + p, ctx);
        let s = self.session.as_deref_mut()?;
        if self.pick.is_empty() {
            if !primary_ok {
                return Some(None);
            }
            if counted {
                s.fallbacks += 1;
            }
            return Some(Some(p));
        }
        let rank = self.pick[s.rng.random_range(0..self.pick.len())];
        if counted && rank != p {
            s.routed += 1;
        }
        Some(Some(rank))
    }

    /// `wait`: a caller's request reaches node `node`; true when it is a
    /// read the node cannot serve yet, which it parks (or, with `max_wait:
    /// 0s`, forwards to the primary at once).
    pub(super) fn session_holds(&mut self, node: u32, req: ReqRef, ctx: &mut Ctx) -> bool {
        let now = ctx.now();
        let shard = node / self.per;
        let primary = self.shard_st[shard as usize].primary;
        let Some(s) = self.session.as_deref_mut() else {
            return false;
        };
        if s.cfg.strategy != Strategy::Wait || node % self.per == primary {
            return false;
        }
        let Some(r) = ctx.reqs.get_mut(req) else {
            return false;
        };
        if r.op != Op::Read || r.step != SERVE {
            return false;
        }
        let need = s.need(r.identity, shard);
        if s.applied[node as usize] >= need {
            return false;
        }
        let counted = now >= ctx.warmup;
        if s.cfg.max_wait == 0 {
            if counted {
                s.fallbacks += 1;
            }
            self.session_to_primary(req, shard, ctx);
            return true;
        }
        r.step = PARKED;
        r.replica = node;
        let q = &mut s.waiters[node as usize];
        let at = q.partition_point(|e| e.0 <= need);
        q.insert(at, (need, req));
        s.parked_now += 1;
        if counted {
            s.waits += 1;
        }
        s.slot_mut(req).since = now;
        ctx.sched.after(s.cfg.max_wait, self.id, Msg::Later(req));
        true
    }

    /// Forward a read of shard `shard` to its primary (or fail it when the
    /// caller cannot reach the primary).
    fn session_to_primary(&mut self, req: ReqRef, shard: u32, ctx: &mut Ctx) {
        let p = shard * self.per + self.shard_st[shard as usize].primary;
        let caller = ctx.reqs.get(req).map_or(0, |r| r.reply_to);
        if !self.serves(caller, p, ctx) {
            return self.fail(req, ctx);
        }
        self.set(req, ctx, |r| {
            r.step = SERVE;
            r.replica = p;
        });
        self.send_to_node(p, req, ctx);
    }

    /// The `max_wait` of a parked read is up: it goes to the primary.
    pub(super) fn session_timeout(&mut self, req: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let counted = now >= ctx.warmup;
        let Some(r) = ctx.reqs.get(req) else { return };
        let node = r.replica;
        let Some(s) = self.session.as_deref_mut() else {
            return;
        };
        if let Some(q) = s.waiters.get_mut(node as usize)
            && let Some(i) = q.iter().position(|e| e.1 == req)
        {
            q.remove(i);
        }
        let waited = s.unpark(req, now, counted);
        if counted {
            s.fallbacks += 1;
        }
        ctx.reqs.path_queued(req, waited);
        self.session_to_primary(req, node / self.per, ctx);
    }

    /// Node `node`'s applied LSN may have reached some parked reads' needs:
    /// they queue there now.
    pub(super) fn session_release(&mut self, node: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let counted = now >= ctx.warmup;
        let Some(s) = self.session.as_deref_mut() else {
            return;
        };
        let ni = node as usize;
        let have = s.applied[ni];
        let mut out = std::mem::take(&mut s.scratch);
        out.clear();
        while let Some(&(need, rec)) = s.waiters[ni].front() {
            if need > have {
                break;
            }
            s.waiters[ni].pop_front();
            out.push(rec);
        }
        for &rec in &out {
            if !ctx
                .reqs
                .get(rec)
                .is_some_and(|r| r.step == PARKED && r.replica == node)
            {
                continue;
            }
            let Some(s) = self.session.as_deref_mut() else {
                break;
            };
            let waited = s.unpark(rec, now, counted);
            ctx.reqs.path_queued(rec, waited);
            self.set(rec, ctx, |r| r.step = SERVE);
            self.enqueue(node, rec, ctx);
        }
        if let Some(s) = self.session.as_deref_mut() {
            s.scratch = out;
        }
    }

    /// After a fault: every running node releases what it can.
    pub(super) fn session_release_all(&mut self, ctx: &mut Ctx) {
        let Some(s) = self.session.as_deref() else { return };
        if s.parked_now == 0 {
            return;
        }
        for n in 0..self.nodes.len() as u32 {
            if self.nodes[n as usize].up
                && self
                    .session
                    .as_deref()
                    .is_some_and(|s| !s.waiters[n as usize].is_empty())
            {
                self.session_release(n, ctx);
            }
        }
    }

    /// Node `n` crashed: the reads parked on it fail.
    pub(super) fn session_crash(&mut self, n: u32, ctx: &mut Ctx) {
        let Some(s) = self.session.as_deref_mut() else {
            return;
        };
        let mut q = std::mem::take(&mut s.waiters[n as usize]);
        for (_, rec) in q.drain(..) {
            if ctx
                .reqs
                .get(rec)
                .is_some_and(|r| r.step == PARKED && r.replica == n)
            {
                if let Some(s) = self.session.as_deref_mut() {
                    s.parked_now = s.parked_now.saturating_sub(1);
                }
                self.fail(rec, ctx);
            }
        }
        if let Some(s) = self.session.as_deref_mut() {
            s.waiters[n as usize] = q;
        }
    }

    /// The primary `replica` serves write `rec`: its LSN (0 without
    /// sessions, or for a write a minority side's stand-in takes).
    pub(super) fn session_wrote(&mut self, rec: ReqRef, replica: u32) -> u32 {
        let shard = (replica / self.per) as usize;
        let primary = self.shard_st[shard].primary;
        let Some(s) = self.session.as_deref_mut() else {
            return 0;
        };
        if replica % self.per != primary {
            return 0;
        }
        s.lsn[shard] = s.lsn[shard].saturating_add(1);
        let lsn = s.lsn[shard];
        s.applied[replica as usize] = lsn;
        s.slot_mut(rec).a = lsn;
        lsn
    }

    /// In-order apply: a write shipped to `to` after `d` is applied no
    /// earlier than the one shipped before it.
    pub(super) fn session_apply_after(&mut self, to: u32, d: SimTime, now: SimTime) -> SimTime {
        let Some(s) = self.session.as_deref_mut() else {
            return d;
        };
        let at = now.saturating_add(d).max(s.last_apply[to as usize]);
        s.last_apply[to as usize] = at;
        at - now
    }

    /// A write with LSN `lsn` reaches follower `to`: whether to apply it
    /// (the next in the log; 0 is a stand-in's write, outside the log).
    /// Anything else is already in its copy, or follows a gap that only a
    /// copy from the primary fills.
    pub(super) fn session_applies(&mut self, to: u32, lsn: u32) -> bool {
        let Some(s) = self.session.as_deref_mut() else {
            return true;
        };
        if lsn == 0 {
            return true;
        }
        let a = &mut s.applied[to as usize];
        if lsn == a.wrapping_add(1) {
            *a = lsn;
            true
        } else {
            false
        }
    }

    /// Node `to` took node `from`'s copy: its applied LSN too.
    pub(super) fn session_copied(&mut self, from: u32, to: u32) {
        if let Some(s) = self.session.as_deref_mut() {
            s.applied[to as usize] = s.applied[from as usize];
        }
    }

    /// Node `c` was promoted in shard `sh`: the log goes on from its LSN,
    /// and tokens above it come down to it (their writes were lost).
    pub(super) fn session_promoted(&mut self, sh: u32, c: u32) {
        let Some(s) = self.session.as_deref_mut() else {
            return;
        };
        let l = s.applied[c as usize];
        s.lsn[sh as usize] = l;
        for i in 0..s.ids as usize {
            let t = i * s.shards + sh as usize;
            s.write_tok[t] = s.write_tok[t].min(l);
            s.read_tok[t] = s.read_tok[t].min(l);
        }
    }

    /// The partition healed: every running node holds at least its
    /// primary's copy.
    pub(super) fn session_healed(&mut self) {
        let per = self.per as usize;
        let Some(s) = self.session.as_deref_mut() else {
            return;
        };
        for sh in 0..s.shards {
            let p = sh * per + self.shard_st[sh].primary as usize;
            if !self.nodes[p].up {
                continue;
            }
            let l = s.applied[p];
            for n in sh * per..(sh + 1) * per {
                if self.nodes[n].up {
                    s.applied[n] = l;
                }
            }
        }
    }

    /// Shard `sh` was restored from a backup on every node.
    pub(super) fn session_restored(&mut self, sh: u32) {
        let per = self.per as usize;
        let Some(s) = self.session.as_deref_mut() else {
            return;
        };
        let l = s.lsn[sh as usize];
        for n in sh as usize * per..(sh as usize + 1) * per {
            s.applied[n] = l;
        }
    }

    /// Key `key` lost its versions above `have` (failover, disk loss): the
    /// sessions' writes among them are lost, and the oracle expects no more
    /// than what survived.
    pub(super) fn session_lost(&mut self, key: u64, have: u32, ctx: &Ctx) {
        let counted = ctx.now() >= ctx.warmup;
        let Some(s) = self.session.as_deref_mut() else {
            return;
        };
        let ids = s.ids as usize;
        let Some(o) = s.oracle.as_mut() else { return };
        o.losses += 1;
        o.lost_at[key as usize] = o.losses;
        o.survived[key as usize] = have;
        let b = key as usize * ids;
        for i in b..b + ids {
            if o.written[i] > have {
                o.written[i] = have;
                if counted {
                    s.lost_own += 1;
                }
            }
            o.read[i] = o.read[i].min(have);
        }
    }

    /// A read is answered with `version` from its node: the session's read
    /// token moves up, the oracle checks it. Returns the time it was parked.
    pub(super) fn session_read_done(&mut self, rec: ReqRef, version: u32, ctx: &Ctx) -> SimTime {
        let counted = ctx.now() >= ctx.warmup;
        let Some(r) = ctx.reqs.get(rec) else { return 0 };
        let (identity, key, node) = (r.identity, r.key, r.replica as usize);
        let Some(s) = self.session.as_deref_mut() else {
            return 0;
        };
        if node < s.applied.len() {
            let t = s.tok(identity, (node / self.per as usize) as u32);
            s.read_tok[t] = s.read_tok[t].max(s.applied[node]);
        }
        let mut slot = s.slot(rec).unwrap_or_default();
        let c = s.cell(identity, key);
        if let Some(o) = s.oracle.as_mut() {
            // The key lost writes while this read was under way: what its
            // session expected of it may be among them.
            if o.lost_at.get(key as usize).is_some_and(|&l| l > slot.epoch) {
                let have = o.survived[key as usize];
                slot.a = slot.a.min(have);
                slot.b = slot.b.min(have);
            }
            if counted {
                s.checked += 1;
                if version < slot.a {
                    s.ryw += 1;
                }
                if version < slot.b {
                    s.mono += 1;
                }
            }
            o.read[c] = o.read[c].max(version);
        }
        slot.parked
    }

    /// A write is answered: the session's write token moves up to its LSN
    /// and the oracle remembers its version.
    pub(super) fn session_write_done(&mut self, rec: ReqRef, ctx: &Ctx) {
        let Some(r) = ctx.reqs.get(rec) else { return };
        let (identity, key, version) = (r.identity, r.key, r.version);
        let shard = self.part.shard_of(key);
        let Some(s) = self.session.as_deref_mut() else {
            return;
        };
        if let Some(slot) = s.slot(rec) {
            let t = s.tok(identity, shard);
            s.write_tok[t] = s.write_tok[t].max(slot.a);
        }
        let c = s.cell(identity, key);
        if let Some(o) = s.oracle.as_mut() {
            o.written[c] = o.written[c].max(version);
        }
    }
}

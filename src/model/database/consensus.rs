//! A database whose shards are Raft groups (`replication: { raft: … }`).
//!
//! Each shard's `members` nodes run the core in [`crate::model::raft`].
//! This file is the glue between that core and the event loop:
//!
//! - **The wire.** Messages between members travel in slots of a slab
//!   (entries copied at send time, each slot keeping its buffer when freed,
//!   so the steady state allocates nothing) and arrive through a private
//!   timer. A member pair's link is FIFO, as a TCP connection is: a message
//!   never overtakes the one before it. One-way delay: `network.between`
//!   for members in different regions, `network.latency` inside one. A
//!   message is dropped when its link is cut (a partition) at sending or at
//!   arrival, or when its receiver is down on arrival.
//! - **Writes** go to the member the router last saw leading. A member that
//!   is not the leader forwards once to the leader it knows (a redirect) or
//!   fails the write at once when it knows none (etcd's "no leader"). The
//!   leader serves the write (`write_time`, its log append), proposes it,
//!   and answers when it applies the entry: once a majority holds it.
//! - **Reads** (`reads`): `leader` is ReadIndex (thesis §6.4): the leader
//!   notes its commit index, confirms it still leads with a heartbeat round
//!   a majority acknowledges, then answers. `lease` answers at once while
//!   the leader's lease holds and falls back to ReadIndex otherwise.
//!   `follower` reads any member's state machine, which may be stale.
//! - **Unavailability.** A shard has a usable leader when an up member
//!   leads a term and reaches a majority of up members (itself included)
//!   none of which is in a later term. The time without one is
//!   `raft.unavailable_s`; each such period is an election.

use std::collections::VecDeque;

use rand::RngExt;

use super::{Database, Mode};
use crate::engine::SimTime;
use crate::engine::rng::{self, Rng};
use crate::model::raft::{self, Entry, Group, NOOP, Out, Params, RaftMsg, Role};
use crate::model::request::Op;
use crate::model::{Ctx, Metrics, Msg, ReqRef, Timer, TimerWord};
use crate::stats::Histogram;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a Raft shard's reads are served.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RaftReads {
    /// The leader, after confirming with a majority that it still leads (ReadIndex): never stale.
    #[default]
    Leader,
    /// The leader, at once while its lease holds (else as `leader`): never stale without clock drift.
    Lease,
    /// Any member, from its own state machine: fast, possibly stale.
    Follower,
}

/// A Raft shard's resolved parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RaftCfg {
    /// Members per shard.
    pub members: u32,
    /// Smallest election timeout.
    pub min: SimTime,
    /// Largest election timeout.
    pub max: SimTime,
    /// Heartbeat period.
    pub heartbeat: SimTime,
    /// Pre-vote on.
    pub pre_vote: bool,
    /// Where reads go.
    pub reads: RaftReads,
    /// Entries kept per member once applied.
    pub log_capacity: u64,
}

// `step` of a record in Raft mode.
pub(super) const RWAIT: u16 = 20; // external: proposed, waiting for commit
pub(super) const RFORWARD: u16 = 21; // external: redirected to the leader
pub(super) const RREAD: u16 = 22; // external: read parked for a confirmation round

/// Timers of the Raft glue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RaftTimer {
    /// A message in wire slot `slot` (of generation `generation`) arrives.
    Deliver { slot: u32, generation: u32 },
    /// Election (or check-quorum) timer of node `node`.
    Election { node: u32, epoch: u32 },
    /// Heartbeat of node `node` as leader of `term`.
    Heartbeat { node: u32, term: u32 },
}

impl Timer for RaftTimer {
    #[inline]
    fn encode(self) -> TimerWord {
        match self {
            RaftTimer::Deliver { slot, generation } => TimerWord::new(20, slot, generation, 32),
            RaftTimer::Election { node, epoch } => TimerWord::new(21, node, epoch, 32),
            RaftTimer::Heartbeat { node, term } => TimerWord::new(22, node, term, 32),
        }
    }

    #[inline]
    fn decode(w: TimerWord) -> Option<Self> {
        match w.kind() {
            20 => Some(RaftTimer::Deliver {
                slot: w.a(),
                generation: w.b(),
            }),
            21 => Some(RaftTimer::Election {
                node: w.a(),
                epoch: w.b(),
            }),
            22 => Some(RaftTimer::Heartbeat {
                node: w.a(),
                term: w.b(),
            }),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            RaftTimer::Deliver { .. } => "raft message",
            RaftTimer::Election { .. } => "election timer",
            RaftTimer::Heartbeat { .. } => "heartbeat",
        }
    }
}

/// A message on the wire.
struct Slot {
    generation: u32,
    shard: u32,
    from: u8,
    to: u8,
    msg: RaftMsg,
    entries: Vec<Entry>,
}

/// What the core asked for, handled once it returns.
#[derive(Clone, Copy, Debug)]
enum Fx {
    Deliver(u32),
    Arm(u8, SimTime, u32),
    Tick(u8, u32, SimTime),
    Apply(u8, u64, Entry, bool),
    Install(u8, u8),
    Role(u8, Role),
    Confirmed(u8, u64),
}

/// A write proposed by a leader.
#[derive(Clone, Copy, Debug)]
struct Proposal {
    index: u64,
    term: u32,
    rec: ReqRef,
    at: SimTime,
}

/// A read waiting for a confirmation round.
#[derive(Clone, Copy, Debug)]
struct Parked {
    rec: ReqRef,
    round: u64,
}

/// The Raft state of a database.
pub(super) struct Consensus {
    cfg: RaftCfg,
    groups: Vec<Group>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    fx: Vec<Fx>,
    scratch: Vec<Entry>,
    /// When each (shard, from, to) link is free again (FIFO).
    link_free: Vec<SimTime>,
    timeouts: Rng,
    net: Rng,
    /// Per node: its proposals as leader, in index order.
    proposals: Vec<VecDeque<Proposal>>,
    /// Per node: reads parked as leader, in round order.
    parked: Vec<VecDeque<Parked>>,
    /// Per shard: the member the router last saw leading.
    hint: Vec<u8>,
    /// Per shard: since when it has had no usable leader.
    leaderless: Vec<Option<SimTime>>,
    // statistics
    warm: SimTime,
    at_warm: raft::Stats,
    terms_warm: u64,
    commit: Histogram,
    unavailable: SimTime,
    periods: u64,
    period_sum: SimTime,
    period_max: SimTime,
    redirects: u64,
    no_leader: u64,
    read_rounds: u64,
    lease_reads: u64,
    lease_fallbacks: u64,
    abandoned: u64,
}

/// The core's [`Out`] over the wire and the effect list.
struct Outbox<'a> {
    shard: u32,
    slots: &'a mut Vec<Slot>,
    free: &'a mut Vec<u32>,
    fx: &'a mut Vec<Fx>,
    rng: &'a mut Rng,
    min: SimTime,
    max: SimTime,
}

impl Out for Outbox<'_> {
    fn send(&mut self, from: u8, to: u8, msg: RaftMsg, entries: &[Entry]) {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    shard: 0,
                    from: 0,
                    to: 0,
                    msg,
                    entries: Vec::new(),
                });
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[i as usize];
        s.shard = self.shard;
        s.from = from;
        s.to = to;
        s.msg = msg;
        s.entries.clear();
        s.entries.extend_from_slice(entries);
        self.fx.push(Fx::Deliver(i));
    }
    fn arm(&mut self, rank: u8, at: SimTime, epoch: u32) {
        self.fx.push(Fx::Arm(rank, at, epoch));
    }
    fn tick(&mut self, rank: u8, term: u32, at: SimTime) {
        self.fx.push(Fx::Tick(rank, term, at));
    }
    fn apply(&mut self, rank: u8, index: u64, e: &Entry, leader: bool) {
        self.fx.push(Fx::Apply(rank, index, *e, leader));
    }
    fn install(&mut self, from: u8, to: u8) {
        self.fx.push(Fx::Install(from, to));
    }
    fn role(&mut self, rank: u8, role: Role, _term: u32) {
        self.fx.push(Fx::Role(rank, role));
    }
    fn confirmed(&mut self, rank: u8, round: u64) {
        self.fx.push(Fx::Confirmed(rank, round));
    }
    fn draw(&mut self) -> SimTime {
        self.rng.random_range(self.min..=self.max)
    }
}

impl Consensus {
    pub(super) fn new(cfg: RaftCfg, name: &str, shards: u32, seed: u64) -> Consensus {
        let n = cfg.members as usize;
        let nodes = shards as usize * n;
        Consensus {
            cfg,
            groups: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            fx: Vec::new(),
            scratch: Vec::new(),
            link_free: vec![0; shards as usize * n * n],
            timeouts: rng::stream(seed, &format!("component/{name}/raft/timeouts")),
            net: rng::stream(seed, &format!("component/{name}/raft/network")),
            proposals: (0..nodes).map(|_| VecDeque::new()).collect(),
            parked: (0..nodes).map(|_| VecDeque::new()).collect(),
            hint: vec![0; shards as usize],
            leaderless: vec![Some(0); shards as usize],
            warm: 0,
            at_warm: raft::Stats::default(),
            terms_warm: 0,
            commit: Histogram::new(),
            unavailable: 0,
            periods: 0,
            period_sum: 0,
            period_max: 0,
            redirects: 0,
            no_leader: 0,
            read_rounds: 0,
            lease_reads: 0,
            lease_fallbacks: 0,
            abandoned: 0,
        }
    }

    fn params(&self) -> Params {
        Params {
            n: self.cfg.members as u8,
            min: self.cfg.min,
            max: self.cfg.max,
            heartbeat: self.cfg.heartbeat,
            pre_vote: self.cfg.pre_vote,
            log_capacity: self.cfg.log_capacity,
        }
    }

    /// Run `f` on shard `s`'s group with an outbox; the effects wait in `fx`.
    fn call<R>(&mut self, s: u32, f: impl FnOnce(&mut Group, &mut Outbox) -> R) -> R {
        let mut ob = Outbox {
            shard: s,
            slots: &mut self.slots,
            free: &mut self.free,
            fx: &mut self.fx,
            rng: &mut self.timeouts,
            min: self.cfg.min,
            max: self.cfg.max,
        };
        f(&mut self.groups[s as usize], &mut ob)
    }

    fn stats(&self) -> raft::Stats {
        let mut t = raft::Stats::default();
        for g in &self.groups {
            let s = g.stats;
            t.elections += s.elections;
            t.won += s.won;
            t.pre_votes += s.pre_votes;
            t.step_downs += s.step_downs;
            t.quorum_losses += s.quorum_losses;
            t.discarded += s.discarded;
            t.snapshots += s.snapshots;
            t.messages += s.messages;
            t.safety_violations += s.safety_violations;
            t.lost_committed += s.lost_committed;
        }
        t
    }

    fn terms(&self) -> u64 {
        self.groups
            .iter()
            .map(|g| g.members.iter().map(|m| u64::from(m.term)).max().unwrap_or(0))
            .sum()
    }
}

impl Database {
    #[inline]
    fn rc(&mut self) -> &mut Consensus {
        self.raft.as_mut().expect("raft mode")
    }

    /// Start every shard's group: followers in term 0, timers armed.
    pub(super) fn raft_start(&mut self, ctx: &mut Ctx) {
        let shards = self.cfg.max_shards;
        let now = ctx.now();
        for s in 0..shards {
            let c = self.rc();
            let p = c.params();
            let mut ob = Outbox {
                shard: s,
                slots: &mut c.slots,
                free: &mut c.free,
                fx: &mut c.fx,
                rng: &mut c.timeouts,
                min: c.cfg.min,
                max: c.cfg.max,
            };
            let g = Group::new(p, now, &mut ob);
            c.groups.push(g);
            self.raft_effects(s, ctx);
        }
    }

    /// One-way delay between two members' regions (inside a region, the
    /// network's `latency`).
    fn member_delay(&mut self, a: u16, b: u16, ctx: &Ctx) -> SimTime {
        let n = ctx.net.regions.len();
        let c = self.raft.as_mut().expect("raft mode");
        if a != b
            && a != crate::model::NO_REGION
            && b != crate::model::NO_REGION
            && let Some(Some(s)) = ctx.net.between.get(a as usize * n + b as usize)
        {
            return s.sample(&mut c.net);
        }
        ctx.net.latency.as_ref().map_or(0, |s| s.sample(&mut c.net))
    }

    /// Whether members (nodes) `a` and `b` can talk now.
    #[inline]
    fn member_link(&self, a: u32, b: u32, ctx: &Ctx) -> bool {
        !self.split
            || ctx
                .net
                .regions_reach(self.nodes[a as usize].region, self.nodes[b as usize].region)
    }

    /// Carry out what shard `s`'s group asked for.
    fn raft_effects(&mut self, s: u32, ctx: &mut Ctx) {
        let base = s * self.per;
        let mut fx = std::mem::take(&mut self.rc().fx);
        let mut i = 0;
        while i < fx.len() {
            match fx[i] {
                Fx::Deliver(slot) => self.raft_send(slot, ctx),
                Fx::Arm(rank, at, epoch) => {
                    let node = base + u32::from(rank);
                    let d = at.saturating_sub(ctx.now());
                    ctx.sched
                        .after(d, self.id, Msg::timer(RaftTimer::Election { node, epoch }));
                }
                Fx::Tick(rank, term, at) => {
                    let node = base + u32::from(rank);
                    let d = at.saturating_sub(ctx.now());
                    ctx.sched
                        .after(d, self.id, Msg::timer(RaftTimer::Heartbeat { node, term }));
                }
                Fx::Apply(rank, index, e, leader) => self.raft_apply(s, rank, index, e, leader, ctx),
                Fx::Install(from, to) => self.copy_node(s, base + u32::from(from), base + u32::from(to)),
                Fx::Role(rank, role) => self.raft_role(s, rank, role, ctx),
                Fx::Confirmed(rank, round) => self.raft_confirmed(s, rank, round, ctx),
            }
            // An effect that calls the core again (a read round) carries out
            // its own effects before returning.
            i += 1;
        }
        fx.clear();
        self.rc().fx = fx;
    }

    /// Put wire slot `slot` on its link.
    fn raft_send(&mut self, slot: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let c = self.raft.as_ref().expect("raft mode");
        let sl = &c.slots[slot as usize];
        let (s, from, to) = (sl.shard, u32::from(sl.from), u32::from(sl.to));
        let n = c.cfg.members;
        let (a, b) = (s * self.per + from, s * self.per + to);
        if !self.member_link(a, b, ctx) {
            return self.raft_free(slot);
        }
        let d = self.member_delay(self.nodes[a as usize].region, self.nodes[b as usize].region, ctx);
        let c = self.rc();
        let li = ((s * n + from) * n + to) as usize;
        let at = (now + d).max(c.link_free[li]);
        c.link_free[li] = at;
        let generation = c.slots[slot as usize].generation;
        ctx.sched.after(
            at - now,
            self.id,
            Msg::timer(RaftTimer::Deliver { slot, generation }),
        );
    }

    fn raft_free(&mut self, slot: u32) {
        let c = self.rc();
        let sl = &mut c.slots[slot as usize];
        sl.generation = sl.generation.wrapping_add(1);
        sl.entries.clear();
        c.free.push(slot);
    }

    /// A Raft timer fired.
    pub(super) fn raft_timer(&mut self, t: RaftTimer, ctx: &mut Ctx) {
        let now = ctx.now();
        match t {
            RaftTimer::Deliver { slot, generation } => {
                let c = self.rc();
                let Some(sl) = c.slots.get_mut(slot as usize) else {
                    return;
                };
                if sl.generation != generation {
                    return;
                }
                let (s, from, to, msg) = (sl.shard, sl.from, sl.to, sl.msg);
                std::mem::swap(&mut c.scratch, &mut sl.entries);
                self.raft_free(slot);
                let (a, b) = (s * self.per + u32::from(from), s * self.per + u32::from(to));
                if self.nodes[b as usize].up && self.member_link(a, b, ctx) {
                    let c = self.rc();
                    let entries = std::mem::take(&mut c.scratch);
                    c.call(s, |g, ob| g.deliver(from, to, msg, &entries, now, ob));
                    c.scratch = entries;
                    self.raft_effects(s, ctx);
                }
                self.rc().scratch.clear();
            }
            RaftTimer::Election { node, epoch } => {
                let (s, rank) = (node / self.per, (node % self.per) as u8);
                self.rc().call(s, |g, ob| g.timer(rank, epoch, now, ob));
                self.raft_effects(s, ctx);
            }
            RaftTimer::Heartbeat { node, term } => {
                let (s, rank) = (node / self.per, (node % self.per) as u8);
                self.rc().call(s, |g, ob| g.heartbeat(rank, term, now, ob));
                self.raft_effects(s, ctx);
            }
        }
    }

    /// Member `rank` of shard `s` applied `e` at `index`.
    fn raft_apply(&mut self, s: u32, rank: u8, index: u64, e: Entry, leader: bool, ctx: &mut Ctx) {
        let node = s * self.per + u32::from(rank);
        if e.key != NOOP {
            self.apply(node, e.key, e.version);
        }
        if !leader {
            return;
        }
        if e.key != NOOP {
            ctx.data.commit(self.cfg.slot, e.key, e.version);
        }
        let now = ctx.now();
        let counted = now >= ctx.warmup;
        loop {
            let c = self.rc();
            let Some(&p) = c.proposals[node as usize].front() else {
                break;
            };
            if p.index > index {
                break;
            }
            c.proposals[node as usize].pop_front();
            if p.index == index && p.term == e.term {
                if counted {
                    c.commit.record(now - p.at);
                }
                if ctx.reqs.get(p.rec).is_some_and(|r| r.step == RWAIT) {
                    self.write_answered(p.rec, ctx);
                } else if counted {
                    c.abandoned += 1;
                }
            } else {
                self.fail(p.rec, ctx);
            }
        }
    }

    /// Member `rank` of shard `s` took `role`: a leader that stepped down
    /// fails what it was holding.
    fn raft_role(&mut self, s: u32, rank: u8, role: Role, ctx: &mut Ctx) {
        let node = s * self.per + u32::from(rank);
        if role == Role::Leader {
            self.rc().hint[s as usize] = rank;
        } else {
            while let Some(p) = self.rc().proposals[node as usize].pop_front() {
                if ctx.reqs.get(p.rec).is_some_and(|r| r.step == RWAIT) {
                    self.fail(p.rec, ctx);
                }
            }
            while let Some(p) = self.rc().parked[node as usize].pop_front() {
                if ctx.reqs.get(p.rec).is_some_and(|r| r.step == RREAD) {
                    self.fail(p.rec, ctx);
                }
            }
        }
        self.raft_check(s, ctx);
    }

    /// Leader `rank` of shard `s` had rounds up to `round` confirmed.
    fn raft_confirmed(&mut self, s: u32, rank: u8, round: u64, ctx: &mut Ctx) {
        let node = s * self.per + u32::from(rank);
        loop {
            let c = self.rc();
            let Some(&p) = c.parked[node as usize].front() else {
                break;
            };
            if p.round > round {
                break;
            }
            c.parked[node as usize].pop_front();
            if let Some(r) = ctx.reqs.get(p.rec)
                && r.step == RREAD
            {
                let (key, seen) = (r.key, r.seen);
                let v = self.version(u32::from(rank), key);
                self.read_answered(p.rec, v, v < seen, ctx);
            }
        }
        // Reads that arrived during that round need the next one.
        let c = self.rc();
        if let Some(p) = c.parked[node as usize].front()
            && c.groups[s as usize].rounds(rank).0 < p.round
        {
            let now = ctx.now();
            c.read_rounds += 1;
            c.call(s, |g, ob| g.read_round(rank, now, ob));
            self.raft_effects(s, ctx);
        }
    }

    /// Recompute whether shard `s` has a usable leader, opening or closing
    /// a leaderless period.
    pub(super) fn raft_check(&mut self, s: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let base = s * self.per;
        let c = self.raft.as_ref().expect("raft mode");
        let g = &c.groups[s as usize];
        let usable = (0..self.per).any(|l| {
            let m = &g.members[l as usize];
            if !m.up || m.role != Role::Leader {
                return false;
            }
            let reach = (0..self.per)
                .filter(|&f| {
                    let x = &g.members[f as usize];
                    x.up && x.term <= m.term && self.member_link(base + l, base + f, ctx)
                })
                .count() as u32;
            reach >= g.quorum()
        });
        let warmup = ctx.warmup;
        let c = self.rc();
        let slot = &mut c.leaderless[s as usize];
        match (*slot, usable) {
            (None, false) => *slot = Some(now),
            (Some(t0), true) => {
                *slot = None;
                let counted = now.saturating_sub(t0.max(warmup));
                c.unavailable += counted;
                if t0 >= warmup {
                    c.periods += 1;
                    c.period_sum += now - t0;
                    c.period_max = c.period_max.max(now - t0);
                }
            }
            _ => {}
        }
    }

    /// Route a caller's request to a member of shard `s` (`base` its first node).
    pub(super) fn raft_route(&mut self, req: ReqRef, s: u32, op: Op, caller: u32, seen: u32, ctx: &mut Ctx) {
        let base = s * self.per;
        let follower_reads = op == Op::Read && self.rc().cfg.reads == RaftReads::Follower;
        let rank = if follower_reads {
            let r = self.route.random_range(0..self.per);
            match (0..self.per)
                .map(|k| (r + k) % self.per)
                .find(|&k| self.serves(caller, base + k, ctx))
            {
                Some(k) => k,
                None => return self.fail(req, ctx),
            }
        } else {
            let h = u32::from(self.rc().hint[s as usize]);
            match (0..self.per)
                .map(|k| (h + k) % self.per)
                .find(|&k| self.serves(caller, base + k, ctx))
            {
                Some(k) => k,
                None => return self.fail(req, ctx),
            }
        };
        self.set(req, ctx, |r| {
            r.seen = seen;
            r.step = super::SERVE;
            r.replica = base + rank;
            r.pending = 0;
        });
        self.send_to_node(base + rank, req, ctx);
    }

    /// A member has served a caller's request (its `read_time` or `write_time`).
    pub(super) fn raft_served(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(rec) else { return };
        let (op, key, node, forwarded, seen) = (r.op, r.key, r.replica, r.pending, r.seen);
        let (s, rank) = (node / self.per, (node % self.per) as u8);
        let reads = self.rc().cfg.reads;
        if op == Op::Read && reads == RaftReads::Follower {
            let v = self.version(u32::from(rank), key);
            return self.read_answered(rec, v, v < seen, ctx);
        }
        let per = self.per;
        let m = &self.rc().groups[s as usize].members[rank as usize];
        if m.role != Role::Leader {
            // Not the leader: redirect once to the one it knows (if it can
            // reach it), else fail.
            let to = m.leader.map(|l| s * per + u32::from(l));
            match to {
                Some(to) if forwarded == 0 && to != node && self.member_link(node, to, ctx) => {
                    let counted = now >= ctx.warmup;
                    let c = self.rc();
                    c.hint[s as usize] = (to % per) as u8;
                    if counted {
                        c.redirects += 1;
                    }
                    let d = self.member_delay(
                        self.nodes[node as usize].region,
                        self.nodes[to as usize].region,
                        ctx,
                    );
                    self.set(rec, ctx, |r| {
                        r.step = RFORWARD;
                        r.replica = to;
                        r.pending = 1;
                    });
                    ctx.reqs.path_net(rec, d);
                    ctx.sched.after(d, self.id, Msg::Later(rec));
                }
                _ => {
                    if now >= ctx.warmup {
                        self.rc().no_leader += 1;
                    }
                    self.fail(rec, ctx);
                }
            }
            return;
        }
        let c = self.rc();
        match op {
            Op::Write => {
                let next = self.assigned.get(key as usize).map_or(1, |a| a + 1);
                if let Some(earlier) = self.remember_write(rec, next, ctx) {
                    self.set(rec, ctx, |r| r.version = earlier);
                    return self.write_answered(rec, ctx);
                }
                if let Some(a) = self.assigned.get_mut(key as usize) {
                    *a = next;
                }
                let c = self.rc();
                let term = c.groups[s as usize].members[rank as usize].term;
                match c.call(s, |g, ob| g.propose(rank, key, next, now, ob)) {
                    Some(index) => {
                        c.proposals[node as usize].push_back(Proposal {
                            index,
                            term,
                            rec,
                            at: now,
                        });
                        self.set(rec, ctx, |r| {
                            r.step = RWAIT;
                            r.version = next;
                        });
                        self.raft_effects(s, ctx);
                    }
                    None => {
                        self.raft_effects(s, ctx);
                        self.fail(rec, ctx);
                    }
                }
            }
            Op::Read => {
                if !c.groups[s as usize].read_ready(rank) {
                    // A new leader whose no-op has not committed yet.
                    if now >= ctx.warmup {
                        c.no_leader += 1;
                    }
                    return self.fail(rec, ctx);
                }
                if reads == RaftReads::Lease {
                    if c.groups[s as usize]
                        .lease_until(rank, now)
                        .is_some_and(|t| now < t)
                    {
                        if now >= ctx.warmup {
                            c.lease_reads += 1;
                        }
                        let v = self.version(u32::from(rank), key);
                        return self.read_answered(rec, v, v < seen, ctx);
                    }
                    if now >= ctx.warmup {
                        c.lease_fallbacks += 1;
                    }
                }
                // ReadIndex: answer after the next round a majority acknowledges.
                let (round, confirmed) = c.groups[s as usize].rounds(rank);
                let in_flight = round > confirmed;
                let need = round + 1;
                c.parked[node as usize].push_back(Parked { rec, round: need });
                self.set(rec, ctx, |r| r.step = RREAD);
                if !in_flight {
                    let c = self.rc();
                    c.read_rounds += 1;
                    c.call(s, |g, ob| g.read_round(rank, now, ob));
                    self.raft_effects(s, ctx);
                }
            }
        }
    }

    /// A redirected request reached the leader it was sent to.
    pub(super) fn raft_forwarded(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        let Some(r) = ctx.reqs.get(rec) else { return };
        let node = r.replica;
        if !self.nodes[node as usize].up {
            return self.fail(rec, ctx);
        }
        self.set(rec, ctx, |r| r.step = super::SERVE);
        self.enqueue(node, rec, ctx);
    }

    /// A member crashed (the node's held work already failed).
    pub(super) fn raft_crash(&mut self, node: u32, ctx: &mut Ctx) {
        let (s, rank) = (node / self.per, (node % self.per) as u8);
        self.rc().call(s, |g, ob| g.crash(rank, ob));
        self.raft_effects(s, ctx);
        self.raft_check(s, ctx);
    }

    /// A member runs again, with its log and state machine.
    pub(super) fn raft_recover(&mut self, node: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let (s, rank) = (node / self.per, (node % self.per) as u8);
        self.rc().call(s, |g, ob| g.recover(rank, now, ob));
        self.raft_effects(s, ctx);
        self.raft_check(s, ctx);
    }

    /// The node `crash: db.shard[N].leader` (or `.primary`) takes down now:
    /// the shard's current leader, or the router's last known one.
    pub(super) fn raft_leader_node(&mut self, s: u32) -> u32 {
        let c = self.rc();
        let rank = c.groups[s as usize].leader().unwrap_or(c.hint[s as usize]);
        s * self.per + u32::from(rank)
    }

    /// Partitions changed: every shard's usability may have.
    pub(super) fn raft_repartition(&mut self, ctx: &mut Ctx) {
        for s in 0..self.cfg.max_shards {
            self.raft_check(s, ctx);
        }
    }

    pub(super) fn raft_warmup(&mut self, now: SimTime) {
        let c = self.rc();
        c.warm = now;
        c.at_warm = c.stats();
        c.terms_warm = c.terms();
        c.commit.reset();
        c.unavailable = 0;
        c.periods = 0;
        c.period_sum = 0;
        c.period_max = 0;
        c.redirects = 0;
        c.no_leader = 0;
        c.read_rounds = 0;
        c.lease_reads = 0;
        c.lease_fallbacks = 0;
        c.abandoned = 0;
    }

    /// `components.<name>.raft.*`.
    pub(super) fn raft_report(&self, now: SimTime, out: &mut Metrics) {
        let Some(c) = &self.raft else { return };
        let p = format!("components.{}.raft.", self.cfg.name);
        let mut put = |k: &str, v: f64| {
            out.insert(format!("{p}{k}"), v);
        };
        let st = c.stats();
        let w = c.at_warm;
        // Periods still open at the end count up to now.
        let mut unavailable = c.unavailable;
        for t0 in c.leaderless.iter().flatten() {
            unavailable += now.saturating_sub((*t0).max(c.warm));
        }
        let secs = crate::engine::secs;
        let window = now.saturating_sub(c.warm).max(1) as f64 * f64::from(self.part.shards());
        put("members", f64::from(c.cfg.members));
        put("elections", (st.elections - w.elections) as f64);
        put("elections_won", (st.won - w.won) as f64);
        put("pre_votes", (st.pre_votes - w.pre_votes) as f64);
        put("terms", c.terms().saturating_sub(c.terms_warm) as f64);
        put("step_downs", (st.step_downs - w.step_downs) as f64);
        put("quorum_losses", (st.quorum_losses - w.quorum_losses) as f64);
        put("unavailable_s", secs(unavailable));
        put("unavailable_fraction", unavailable as f64 / window);
        put("leaderless_periods", c.periods as f64);
        if c.periods > 0 {
            put("election.mean_ms", c.period_sum as f64 / c.periods as f64 / 1e6);
            put("election.max_ms", c.period_max as f64 / 1e6);
        }
        if !c.commit.is_empty() {
            put("commit_latency.mean_ms", c.commit.mean_ns() / 1e6);
            put("commit_latency.p50_ms", c.commit.quantile_ns(0.5) as f64 / 1e6);
            put("commit_latency.p99_ms", c.commit.quantile_ns(0.99) as f64 / 1e6);
            put("commit_latency.p999_ms", c.commit.quantile_ns(0.999) as f64 / 1e6);
        }
        put("commits", c.commit.count() as f64);
        put("lost_committed_writes", st.lost_committed as f64);
        put("safety_violations", st.safety_violations as f64);
        put("discarded_entries", (st.discarded - w.discarded) as f64);
        put("snapshots", (st.snapshots - w.snapshots) as f64);
        put("messages", (st.messages - w.messages) as f64);
        put("redirects", c.redirects as f64);
        put("no_leader", c.no_leader as f64);
        put("read_rounds", c.read_rounds as f64);
        if c.cfg.reads == RaftReads::Lease {
            put("lease_reads", c.lease_reads as f64);
            put("lease_fallbacks", c.lease_fallbacks as f64);
        }
    }

    /// Whether this database runs Raft.
    #[inline]
    pub(super) fn is_raft(&self) -> bool {
        matches!(self.cfg.mode, Mode::Raft(_))
    }
}

//! Raft consensus: a sans-IO core.
//!
//! The rules are those of Ongaro and Ousterhout, "In Search of an
//! Understandable Consensus Algorithm" (USENIX ATC 2014, Figure 2), with
//! three additions from Ongaro's thesis ("Consensus: Bridging Theory and
//! Practice", Stanford 2014) that production systems (etcd, CockroachDB,
//! TiKV) turn on:
//!
//! - **pre-vote** (thesis §9.6, optional): a member whose election timer
//!   fires first asks whether it *could* win, without raising its term, so
//!   a member that was cut off cannot depose a healthy leader when it
//!   returns;
//! - **leader stickiness** (thesis §4.2.3): a member that heard from a
//!   current leader less than the minimum election timeout ago ignores a
//!   request for its vote (it neither grants it nor adopts the term). This
//!   is what makes lease reads safe;
//! - **check-quorum** (etcd's `CheckQuorum`): a leader that has heard from
//!   no majority during a maximum election timeout steps down, so a leader
//!   cut off from the majority stops taking writes.
//!
//! A new leader appends a no-op entry of its term (thesis §6.4) so that
//! entries of earlier terms commit with it (§5.4.2: an entry of an earlier
//! term is never committed by counting replicas) and so that reads know
//! the commit index is current.
//!
//! The core has no clock, no network and no randomness of its own: the
//! caller passes `now` in, delivers messages, fires timers, and receives
//! effects through [`Out`]. The database's glue implements `Out` over the
//! event loop; the unit tests implement it over a hostile mock network.
//!
//! **Safety oracles.** The group keeps, in release builds too, a book of
//! which member led each term and a ledger of the term of every committed
//! index. Two leaders in one term, or a member applying at a committed
//! index an entry of another term (a committed write lost or reordered),
//! count in [`Stats::safety_violations`] and [`Stats::lost_committed`].
//! Both must stay 0; the tests check it over hostile schedules.

use std::collections::{BTreeMap, VecDeque};

use crate::engine::SimTime;

/// Most members of a group.
pub const MAX_MEMBERS: usize = 7;

/// Most entries one `Append` carries.
pub const BATCH: u64 = 64;

/// The key of a leader's no-op entry.
pub const NOOP: u64 = u64::MAX;

/// A member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asking for pre-votes (thesis §9.6) before standing.
    PreCandidate,
    /// Standing for election in its term.
    Candidate,
    /// Leads its term.
    Leader,
}

/// One log entry: a write of `version` to `key` ([`NOOP`]: a new leader's
/// no-op).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Term of the leader that created it.
    pub term: u32,
    /// Key written.
    pub key: u64,
    /// Version written.
    pub version: u32,
}

/// A message between members. Entries of an `Append` travel beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaftMsg {
    /// May I stand in `term` (my term + 1)? Does not change anyone's term.
    PreVote {
        /// The term the sender would stand in.
        term: u32,
        /// Index of its last entry.
        last_index: u64,
        /// Term of its last entry.
        last_term: u32,
    },
    /// Answer to a pre-vote.
    PreVoteReply {
        /// The pre-vote's term when granted, else the voter's term.
        term: u32,
        /// Granted.
        granted: bool,
    },
    /// Vote for me in `term`.
    RequestVote {
        /// The candidate's term.
        term: u32,
        /// Index of its last entry.
        last_index: u64,
        /// Term of its last entry.
        last_term: u32,
    },
    /// Answer to a vote request.
    Vote {
        /// Voter's term.
        term: u32,
        /// Granted.
        granted: bool,
    },
    /// Entries (possibly none: a heartbeat) after `prev_index`.
    Append {
        /// Leader's term.
        term: u32,
        /// Index before the first entry.
        prev_index: u64,
        /// Term of that index.
        prev_term: u32,
        /// Leader's commit index.
        commit: u64,
        /// Entries carried.
        count: u32,
        /// Leader's confirmation round (ReadIndex).
        round: u64,
        /// When the leader sent it (lease reads).
        sent: SimTime,
    },
    /// Answer to an `Append` or a `Snapshot`.
    AppendReply {
        /// Follower's term.
        term: u32,
        /// Accepted.
        ok: bool,
        /// Accepted: the follower's log matches the leader's up to here.
        /// Refused: the index the leader should try next.
        index: u64,
        /// Round echoed.
        round: u64,
        /// Send time echoed.
        sent: SimTime,
    },
    /// The leader's state machine up to `index`, for a follower whose
    /// next entry the leader has compacted away.
    Snapshot {
        /// Leader's term.
        term: u32,
        /// Last index the snapshot covers.
        index: u64,
        /// Term of that index.
        last_term: u32,
        /// Round.
        round: u64,
        /// Send time.
        sent: SimTime,
    },
}

impl RaftMsg {
    /// The term the message carries.
    pub fn term(&self) -> u32 {
        match *self {
            RaftMsg::PreVote { term, .. }
            | RaftMsg::PreVoteReply { term, .. }
            | RaftMsg::RequestVote { term, .. }
            | RaftMsg::Vote { term, .. }
            | RaftMsg::Append { term, .. }
            | RaftMsg::AppendReply { term, .. }
            | RaftMsg::Snapshot { term, .. } => term,
        }
    }
}

/// What the core asks its caller to do.
pub trait Out {
    /// Send `msg` (with `entries`, copied now) from member `from` to `to`.
    fn send(&mut self, from: u8, to: u8, msg: RaftMsg, entries: &[Entry]);
    /// Fire [`Group::timer`] for `rank` with `epoch` at `at`.
    fn arm(&mut self, rank: u8, at: SimTime, epoch: u32);
    /// Fire [`Group::heartbeat`] for `rank` in `term` at `at`.
    fn tick(&mut self, rank: u8, term: u32, at: SimTime);
    /// Member `rank` applied entry `e` at `index` to its state machine;
    /// `leader`: it is the leader, which answers the proposal.
    fn apply(&mut self, rank: u8, index: u64, e: &Entry, leader: bool);
    /// Member `to` installs member `from`'s state machine (a snapshot).
    fn install(&mut self, from: u8, to: u8);
    /// Member `rank` took `role` in `term`.
    fn role(&mut self, rank: u8, role: Role, term: u32);
    /// Leader `rank` had its confirmation rounds up to `round` acknowledged
    /// by a majority.
    fn confirmed(&mut self, rank: u8, round: u64);
    /// A fresh election timeout, uniform in the configured range.
    fn draw(&mut self) -> SimTime;
}

/// A group's fixed parameters.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Members (3, 5 or 7).
    pub n: u8,
    /// Smallest election timeout.
    pub min: SimTime,
    /// Largest election timeout.
    pub max: SimTime,
    /// Heartbeat period.
    pub heartbeat: SimTime,
    /// Pre-vote on.
    pub pre_vote: bool,
    /// Entries a member keeps once applied (the log is compacted past it).
    pub log_capacity: u64,
}

/// A member's log after its last snapshot.
#[derive(Clone, Debug, Default)]
pub struct Log {
    base: u64,
    base_term: u32,
    entries: VecDeque<Entry>,
}

impl Log {
    /// Index of the last entry (the snapshot's when empty).
    #[inline]
    pub fn last_index(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// Term of the last entry.
    #[inline]
    pub fn last_term(&self) -> u32 {
        self.entries.back().map_or(self.base_term, |e| e.term)
    }

    /// Index covered by the snapshot.
    #[inline]
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Term of `i` (`None`: compacted or not there).
    #[inline]
    pub fn term_at(&self, i: u64) -> Option<u32> {
        if i == self.base {
            Some(self.base_term)
        } else if i > self.base && i <= self.last_index() {
            Some(self.entries[(i - self.base - 1) as usize].term)
        } else {
            None
        }
    }

    /// Entry `i` (after the snapshot).
    #[inline]
    pub fn get(&self, i: u64) -> Option<&Entry> {
        if i > self.base {
            self.entries.get((i - self.base - 1) as usize)
        } else {
            None
        }
    }

    /// Entries kept.
    #[inline]
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// No entries kept.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drop `i` and everything after it.
    fn truncate_from(&mut self, i: u64) {
        self.entries.truncate((i - self.base - 1) as usize);
    }

    /// Drop everything up to and including `i` (which must be kept).
    fn compact_to(&mut self, i: u64) {
        if i <= self.base {
            return;
        }
        let t = self.term_at(i).unwrap_or(self.base_term);
        let n = ((i - self.base) as usize).min(self.entries.len());
        self.entries.drain(..n);
        self.base = i;
        self.base_term = t;
    }

    /// Entries `from..=to` as one slice: the ring is made contiguous in
    /// place when they straddle its end (no allocation; amortised over the
    /// appends until it wraps again).
    fn range(&mut self, from: u64, to: u64) -> &[Entry] {
        let lo = (from - self.base - 1) as usize;
        let hi = (to - self.base) as usize;
        if hi > self.entries.as_slices().0.len() {
            self.entries.make_contiguous();
        }
        &self.entries.as_slices().0[lo..hi]
    }
}

/// One member.
#[derive(Clone, Debug)]
pub struct Member {
    /// Role now.
    pub role: Role,
    /// Current term (persistent).
    pub term: u32,
    voted_for: Option<u8>,
    /// The log (persistent).
    pub log: Log,
    /// Highest index known committed.
    pub commit: u64,
    /// Highest index applied to the state machine (persistent: the state
    /// machine is durable).
    pub applied: u64,
    /// The leader of its term, when known.
    pub leader: Option<u8>,
    /// Running.
    pub up: bool,
    votes: u8,
    next: [u64; MAX_MEMBERS],
    matched: [u64; MAX_MEMBERS],
    acked_round: [u64; MAX_MEMBERS],
    acked_sent: [SimTime; MAX_MEMBERS],
    active: u8,
    round: u64,
    confirmed: u64,
    deadline: SimTime,
    armed: SimTime,
    epoch: u32,
    heard: Option<SimTime>,
}

impl Member {
    fn new() -> Member {
        Member {
            role: Role::Follower,
            term: 0,
            voted_for: None,
            log: Log::default(),
            commit: 0,
            applied: 0,
            leader: None,
            up: true,
            votes: 0,
            next: [1; MAX_MEMBERS],
            matched: [0; MAX_MEMBERS],
            acked_round: [0; MAX_MEMBERS],
            acked_sent: [0; MAX_MEMBERS],
            active: 0,
            round: 0,
            confirmed: 0,
            deadline: 0,
            armed: SimTime::MAX,
            epoch: 0,
            heard: None,
        }
    }

    /// Whether `(index, term)` is at least as up to date as this log (§5.4.1).
    fn behind_or_equal(&self, last_index: u64, last_term: u32) -> bool {
        let (mi, mt) = (self.log.last_index(), self.log.last_term());
        last_term > mt || (last_term == mt && last_index >= mi)
    }
}

/// Counters of a group.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Stats {
    /// Candidacies started (terms stood for).
    pub elections: u64,
    /// Candidacies won.
    pub won: u64,
    /// Pre-vote rounds started.
    pub pre_votes: u64,
    /// Leaders that became followers.
    pub step_downs: u64,
    /// Leaders that stepped down because no majority answered (check-quorum).
    pub quorum_losses: u64,
    /// Uncommitted entries removed from a follower's log by a new leader.
    pub discarded: u64,
    /// Snapshots installed.
    pub snapshots: u64,
    /// Messages sent.
    pub messages: u64,
    /// Two leaders in one term (must be 0).
    pub safety_violations: u64,
    /// A committed index applied with another term's entry (must be 0).
    pub lost_committed: u64,
}

/// A Raft group of `n` members.
#[derive(Clone, Debug)]
pub struct Group {
    p: Params,
    /// The members, by rank.
    pub members: Vec<Member>,
    /// Counters.
    pub stats: Stats,
    /// Leader of each term (oracle).
    leaders: BTreeMap<u32, u8>,
    /// Term of each committed index after `ledger_base` (oracle).
    ledger: VecDeque<u32>,
    ledger_base: u64,
}

impl Group {
    /// A group with every member a follower in term 0, its election timer
    /// armed.
    pub fn new(p: Params, now: SimTime, out: &mut impl Out) -> Group {
        let mut g = Group {
            p,
            members: (0..p.n).map(|_| Member::new()).collect(),
            stats: Stats::default(),
            leaders: BTreeMap::new(),
            ledger: VecDeque::new(),
            ledger_base: 0,
        };
        for r in 0..p.n {
            g.reset_timer(r, now, out);
        }
        g
    }

    /// Parameters.
    pub fn params(&self) -> &Params {
        &self.p
    }

    /// Members a majority needs.
    #[inline]
    pub fn quorum(&self) -> u32 {
        u32::from(self.p.n) / 2 + 1
    }

    /// The leader in the highest term among up members, if any.
    pub fn leader(&self) -> Option<u8> {
        (0..self.p.n)
            .filter(|&r| {
                let m = &self.members[r as usize];
                m.up && m.role == Role::Leader
            })
            .max_by_key(|&r| self.members[r as usize].term)
    }

    /// Whether leader `rank` may answer reads: it is leader and its no-op
    /// (an entry of its term) has committed, so its commit index is current.
    pub fn read_ready(&self, rank: u8) -> bool {
        let m = &self.members[rank as usize];
        m.up && m.role == Role::Leader && m.log.term_at(m.commit) == Some(m.term)
    }

    /// The leader's latest confirmation round, and the latest a majority acknowledged.
    pub fn rounds(&self, rank: u8) -> (u64, u64) {
        let m = &self.members[rank as usize];
        (m.round, m.confirmed)
    }

    /// Until when leader `rank` holds a lease at `now`: no other member can
    /// become leader before then (its majority's latest acknowledged send
    /// time plus the minimum election timeout).
    pub fn lease_until(&self, rank: u8, now: SimTime) -> Option<SimTime> {
        let m = &self.members[rank as usize];
        if !m.up || m.role != Role::Leader {
            return None;
        }
        let mut t = [0; MAX_MEMBERS];
        for (f, x) in t.iter_mut().enumerate().take(self.p.n as usize) {
            *x = if f == rank as usize { now } else { m.acked_sent[f] };
        }
        let t = &mut t[..self.p.n as usize];
        t.sort_unstable_by(|a, b| b.cmp(a));
        let k = self.quorum() as usize - 1;
        Some(t[k].saturating_add(self.p.min))
    }

    // ---- timers -------------------------------------------------------

    /// Member `rank`'s election timer (or, for a leader, check-quorum timer) fired.
    pub fn timer(&mut self, rank: u8, epoch: u32, now: SimTime, out: &mut impl Out) {
        let m = &mut self.members[rank as usize];
        if !m.up || epoch != m.epoch {
            return;
        }
        m.armed = SimTime::MAX;
        if now < m.deadline {
            m.epoch = m.epoch.wrapping_add(1);
            m.armed = m.deadline;
            out.arm(rank, m.deadline, m.epoch);
            return;
        }
        match m.role {
            Role::Leader => {
                // Check-quorum: a majority (itself included) answered since the last check?
                let heard = 1 + (m.active & !(1 << rank)).count_ones();
                m.active = 0;
                if 2 * heard <= u32::from(self.p.n) {
                    self.stats.quorum_losses += 1;
                    let term = m.term;
                    self.step_down(rank, term, now, out);
                } else {
                    let at = now + self.p.max;
                    self.arm_at(rank, at, out);
                }
            }
            _ if self.p.pre_vote => self.pre_campaign(rank, now, out),
            _ => self.campaign(rank, now, out),
        }
    }

    /// Leader `rank`'s heartbeat for `term`.
    pub fn heartbeat(&mut self, rank: u8, term: u32, now: SimTime, out: &mut impl Out) {
        let m = &self.members[rank as usize];
        if !m.up || m.role != Role::Leader || m.term != term {
            return;
        }
        self.broadcast(rank, now, out);
        out.tick(rank, term, now + self.p.heartbeat);
    }

    /// Leader `rank` starts a confirmation round at once (ReadIndex, thesis
    /// §6.4): returns its number, confirmed through [`Out::confirmed`].
    pub fn read_round(&mut self, rank: u8, now: SimTime, out: &mut impl Out) -> Option<u64> {
        let m = &self.members[rank as usize];
        if !m.up || m.role != Role::Leader {
            return None;
        }
        self.broadcast(rank, now, out);
        Some(self.members[rank as usize].round)
    }

    fn arm_at(&mut self, rank: u8, at: SimTime, out: &mut impl Out) {
        let m = &mut self.members[rank as usize];
        m.deadline = at;
        m.epoch = m.epoch.wrapping_add(1);
        m.armed = at;
        out.arm(rank, at, m.epoch);
    }

    /// A fresh election deadline; a timer is armed only when the one
    /// outstanding would fire too late.
    fn reset_timer(&mut self, rank: u8, now: SimTime, out: &mut impl Out) {
        let at = now + out.draw();
        let m = &mut self.members[rank as usize];
        m.deadline = at;
        if m.armed > at {
            m.epoch = m.epoch.wrapping_add(1);
            m.armed = at;
            out.arm(rank, at, m.epoch);
        }
    }

    // ---- elections ----------------------------------------------------

    fn pre_campaign(&mut self, rank: u8, now: SimTime, out: &mut impl Out) {
        self.stats.pre_votes += 1;
        let m = &mut self.members[rank as usize];
        m.role = Role::PreCandidate;
        m.leader = None;
        m.heard = None;
        m.votes = 1 << rank;
        let msg = RaftMsg::PreVote {
            term: m.term + 1,
            last_index: m.log.last_index(),
            last_term: m.log.last_term(),
        };
        let term = m.term;
        out.role(rank, Role::PreCandidate, term);
        self.reset_timer(rank, now, out);
        self.send_all(rank, msg, out);
    }

    fn campaign(&mut self, rank: u8, now: SimTime, out: &mut impl Out) {
        self.stats.elections += 1;
        let m = &mut self.members[rank as usize];
        m.term += 1;
        m.role = Role::Candidate;
        m.voted_for = Some(rank);
        m.leader = None;
        m.heard = None;
        m.votes = 1 << rank;
        let msg = RaftMsg::RequestVote {
            term: m.term,
            last_index: m.log.last_index(),
            last_term: m.log.last_term(),
        };
        let term = m.term;
        out.role(rank, Role::Candidate, term);
        self.reset_timer(rank, now, out);
        self.send_all(rank, msg, out);
    }

    fn send_all(&mut self, rank: u8, msg: RaftMsg, out: &mut impl Out) {
        for to in 0..self.p.n {
            if to != rank {
                self.stats.messages += 1;
                out.send(rank, to, msg, &[]);
            }
        }
    }

    fn become_leader(&mut self, rank: u8, now: SimTime, out: &mut impl Out) {
        self.stats.won += 1;
        let n = self.p.n as usize;
        let m = &mut self.members[rank as usize];
        let term = m.term;
        m.role = Role::Leader;
        m.leader = Some(rank);
        m.heard = None;
        let last = m.log.last_index();
        m.next = [last + 1; MAX_MEMBERS];
        m.matched = [0; MAX_MEMBERS];
        m.acked_round = [0; MAX_MEMBERS];
        m.acked_sent = [0; MAX_MEMBERS];
        m.active = 0;
        m.round = 0;
        m.confirmed = 0;
        m.log.entries.push_back(Entry {
            term,
            key: NOOP,
            version: 0,
        });
        debug_assert!(n <= MAX_MEMBERS);
        // The oracle: one leader a term.
        match self.leaders.get(&term) {
            Some(&other) if other != rank => self.stats.safety_violations += 1,
            _ => {
                self.leaders.insert(term, rank);
            }
        }
        if self.leaders.len() > 64 {
            let low = self.members.iter().map(|m| m.term).min().unwrap_or(0);
            self.leaders.retain(|&t, _| t >= low);
        }
        out.role(rank, Role::Leader, term);
        let at = now + self.p.max;
        self.arm_at(rank, at, out);
        self.broadcast(rank, now, out);
        out.tick(rank, term, now + self.p.heartbeat);
    }

    /// Member `rank` becomes a follower in `term` (its own or higher).
    fn step_down(&mut self, rank: u8, term: u32, now: SimTime, out: &mut impl Out) {
        let m = &mut self.members[rank as usize];
        let was_leader = m.role == Role::Leader;
        if term > m.term {
            m.term = term;
            m.voted_for = None;
        }
        let changed = m.role != Role::Follower;
        m.role = Role::Follower;
        m.leader = None;
        m.votes = 0;
        if was_leader {
            self.stats.step_downs += 1;
            // Its check-quorum timer may be far off: arm a fresh election timer.
            let at = now + out.draw();
            self.arm_at(rank, at, out);
        }
        if changed {
            out.role(rank, Role::Follower, term);
        }
    }

    /// Whether member `rank` is within a leader's lease (stickiness).
    fn in_lease(&self, rank: u8, now: SimTime) -> bool {
        let m = &self.members[rank as usize];
        m.role == Role::Leader || m.heard.is_some_and(|h| now < h + self.p.min)
    }

    // ---- the log ------------------------------------------------------

    /// Leader `rank` appends a write; `None` when it is not leader or its
    /// log is full. The entries go to the followers at once.
    pub fn propose(
        &mut self,
        rank: u8,
        key: u64,
        version: u32,
        now: SimTime,
        out: &mut impl Out,
    ) -> Option<u64> {
        let m = &mut self.members[rank as usize];
        if !m.up || m.role != Role::Leader || m.log.len() >= 2 * self.p.log_capacity {
            return None;
        }
        m.log.entries.push_back(Entry {
            term: m.term,
            key,
            version,
        });
        let index = m.log.last_index();
        for f in 0..self.p.n {
            if f != rank {
                self.send_append(rank, f, now, false, out);
            }
        }
        Some(index)
    }

    /// An `Append` (or a heartbeat) to every follower, in a new round.
    fn broadcast(&mut self, rank: u8, now: SimTime, out: &mut impl Out) {
        self.members[rank as usize].round += 1;
        for f in 0..self.p.n {
            if f != rank {
                self.send_append(rank, f, now, true, out);
            }
        }
    }

    /// Send follower `f` what it lacks (nothing when `empty_ok` is false and
    /// it lacks nothing).
    fn send_append(&mut self, rank: u8, f: u8, now: SimTime, empty_ok: bool, out: &mut impl Out) {
        let m = &mut self.members[rank as usize];
        let fi = f as usize;
        let last = m.log.last_index();
        if m.next[fi] <= m.log.base() {
            let index = m.applied.max(m.log.base());
            let msg = RaftMsg::Snapshot {
                term: m.term,
                index,
                last_term: m.log.term_at(index).unwrap_or(m.log.base_term),
                round: m.round,
                sent: now,
            };
            m.next[fi] = index + 1;
            self.stats.messages += 1;
            out.send(rank, f, msg, &[]);
            return;
        }
        let prev = m.next[fi] - 1;
        let count = last.saturating_sub(prev).min(BATCH);
        if count == 0 && !empty_ok {
            return;
        }
        let msg = RaftMsg::Append {
            term: m.term,
            prev_index: prev,
            prev_term: m.log.term_at(prev).unwrap_or(0),
            commit: m.commit,
            count: count as u32,
            round: m.round,
            sent: now,
        };
        m.next[fi] = prev + count + 1;
        self.stats.messages += 1;
        if count == 0 {
            out.send(rank, f, msg, &[]);
        } else {
            out.send(rank, f, msg, m.log.range(prev + 1, prev + count));
        }
    }

    // ---- messages -----------------------------------------------------

    /// Member `to` receives `msg` from `from` (with `entries` for an `Append`).
    pub fn deliver(
        &mut self,
        from: u8,
        to: u8,
        msg: RaftMsg,
        entries: &[Entry],
        now: SimTime,
        out: &mut impl Out,
    ) {
        if !self.members[to as usize].up || from == to {
            return;
        }
        let t = msg.term();
        match msg {
            RaftMsg::PreVote {
                term,
                last_index,
                last_term,
            } => {
                let m = &self.members[to as usize];
                let grant =
                    term > m.term && !self.in_lease(to, now) && m.behind_or_equal(last_index, last_term);
                let reply = RaftMsg::PreVoteReply {
                    term: if grant { term } else { m.term },
                    granted: grant,
                };
                self.stats.messages += 1;
                out.send(to, from, reply, &[]);
                return;
            }
            RaftMsg::RequestVote { .. } if self.in_lease(to, now) => return,
            RaftMsg::PreVoteReply { granted: true, .. } => {}
            _ => {
                if t > self.members[to as usize].term {
                    self.step_down(to, t, now, out);
                }
            }
        }
        let my_term = self.members[to as usize].term;
        match msg {
            RaftMsg::PreVote { .. } => {}
            RaftMsg::PreVoteReply { term, granted } => {
                let m = &mut self.members[to as usize];
                if granted && m.role == Role::PreCandidate && term == m.term + 1 {
                    m.votes |= 1 << from;
                    if 2 * m.votes.count_ones() > u32::from(self.p.n) {
                        self.campaign(to, now, out);
                    }
                }
            }
            RaftMsg::RequestVote {
                term,
                last_index,
                last_term,
            } => {
                let m = &mut self.members[to as usize];
                let grant = term == m.term
                    && m.voted_for.is_none_or(|v| v == from)
                    && m.behind_or_equal(last_index, last_term);
                if grant {
                    m.voted_for = Some(from);
                }
                let reply = RaftMsg::Vote {
                    term: m.term,
                    granted: grant,
                };
                if grant {
                    self.reset_timer(to, now, out);
                }
                self.stats.messages += 1;
                out.send(to, from, reply, &[]);
            }
            RaftMsg::Vote { term, granted } => {
                let m = &mut self.members[to as usize];
                if granted && m.role == Role::Candidate && term == m.term {
                    m.votes |= 1 << from;
                    if 2 * m.votes.count_ones() > u32::from(self.p.n) {
                        self.become_leader(to, now, out);
                    }
                }
            }
            RaftMsg::Append {
                term,
                prev_index,
                prev_term,
                commit,
                count,
                round,
                sent,
            } => {
                if term < my_term {
                    // A stale leader: the reply's term deposes it.
                    return self.answer(to, from, (false, 0), round, sent, out);
                }
                self.follow(from, to, now, out);
                let verdict = self.accept(to, prev_index, prev_term, commit, count, entries, out);
                self.answer(to, from, verdict, round, sent, out);
            }
            RaftMsg::Snapshot {
                term,
                index,
                last_term,
                round,
                sent,
            } => {
                if term < my_term {
                    // A stale leader: the reply's term deposes it.
                    return self.answer(to, from, (false, 0), round, sent, out);
                }
                self.follow(from, to, now, out);
                let m = &mut self.members[to as usize];
                if index > m.commit {
                    if m.log.term_at(index) == Some(last_term) {
                        m.log.compact_to(index);
                    } else {
                        if m.log.last_index() > m.commit {
                            self.stats.discarded += m.log.last_index() - m.commit.max(m.log.base());
                        }
                        m.log.entries.clear();
                        m.log.base = index;
                        m.log.base_term = last_term;
                    }
                    m.commit = index;
                    m.applied = index;
                    self.stats.snapshots += 1;
                    out.install(from, to);
                }
                self.answer(to, from, (true, index), round, sent, out);
            }
            RaftMsg::AppendReply {
                term,
                ok,
                index,
                round,
                sent,
            } => {
                let n = self.p.n as usize;
                let m = &mut self.members[to as usize];
                if m.role != Role::Leader || term != m.term {
                    return;
                }
                let fi = from as usize;
                m.active |= 1 << from;
                m.acked_round[fi] = m.acked_round[fi].max(round);
                m.acked_sent[fi] = m.acked_sent[fi].max(sent);
                // Rounds a majority acknowledged.
                let mut r = [0u64; MAX_MEMBERS];
                for (f, x) in r.iter_mut().enumerate().take(n) {
                    *x = if f == to as usize {
                        m.round
                    } else {
                        m.acked_round[f]
                    };
                }
                let r = &mut r[..n];
                r.sort_unstable_by(|a, b| b.cmp(a));
                let confirmed = r[n / 2];
                if confirmed > m.confirmed {
                    m.confirmed = confirmed;
                    out.confirmed(to, confirmed);
                }
                let m = &mut self.members[to as usize];
                if ok {
                    if index > m.matched[fi] {
                        m.matched[fi] = index;
                    }
                    if m.next[fi] <= index {
                        m.next[fi] = index + 1;
                    }
                    self.advance_commit(to, out);
                    let m = &self.members[to as usize];
                    if m.next[fi] <= m.log.last_index() && m.next[fi] == m.matched[fi] + 1 {
                        self.send_append(to, from, now, false, out);
                    }
                } else {
                    let want = index.max(m.matched[fi] + 1);
                    if want < m.next[fi] {
                        m.next[fi] = want;
                        self.send_append(to, from, now, false, out);
                    }
                }
            }
        }
    }

    /// Member `to` answers an `Append` or `Snapshot` from `from`: (accepted,
    /// match index or the index to try next), in its current term.
    fn answer(
        &mut self,
        to: u8,
        from: u8,
        (ok, index): (bool, u64),
        round: u64,
        sent: SimTime,
        out: &mut impl Out,
    ) {
        let reply = RaftMsg::AppendReply {
            term: self.members[to as usize].term,
            ok,
            index,
            round,
            sent,
        };
        self.stats.messages += 1;
        out.send(to, from, reply, &[]);
    }

    /// Member `to` accepts `from` as the leader of its current term.
    fn follow(&mut self, from: u8, to: u8, now: SimTime, out: &mut impl Out) {
        let m = &mut self.members[to as usize];
        if m.role == Role::Leader {
            // Two leaders in one term: the oracle counts it.
            self.stats.safety_violations += 1;
        }
        if m.role != Role::Follower {
            let term = m.term;
            self.step_down(to, term, now, out);
        }
        let m = &mut self.members[to as usize];
        m.leader = Some(from);
        m.heard = Some(now);
        self.reset_timer(to, now, out);
    }

    /// Follower `to` takes `entries` after `prev`: (accepted, match index
    /// or the index to try next).
    #[allow(clippy::too_many_arguments)]
    fn accept(
        &mut self,
        to: u8,
        mut prev: u64,
        mut prev_term: u32,
        commit: u64,
        count: u32,
        entries: &[Entry],
        out: &mut impl Out,
    ) -> (bool, u64) {
        let m = &mut self.members[to as usize];
        let count = u64::from(count).min(entries.len() as u64);
        let end = prev + count;
        let mut skip = 0u64;
        if prev < m.log.base() {
            // Already compacted here: committed, and so the leader's too.
            if end <= m.log.base() {
                return (true, end);
            }
            skip = m.log.base() - prev;
            prev = m.log.base();
            prev_term = m.log.base_term;
        }
        match m.log.term_at(prev) {
            Some(t) if t == prev_term => {}
            _ => {
                let last = m.log.last_index();
                let hint = if last < prev {
                    last + 1
                } else {
                    // Skip the whole conflicting term (a known optimisation, §5.3).
                    let bad = m.log.term_at(prev);
                    let mut i = prev;
                    while i > m.log.base() + 1 && m.log.term_at(i - 1) == bad {
                        i -= 1;
                    }
                    i.max(m.commit + 1)
                };
                return (false, hint);
            }
        }
        for (k, e) in entries[skip as usize..count as usize].iter().enumerate() {
            let i = prev + 1 + k as u64;
            match m.log.term_at(i) {
                Some(t) if t == e.term => {}
                Some(_) => {
                    let gone = m.log.last_index() - i + 1;
                    if i <= m.commit {
                        // A committed entry would be overwritten.
                        self.stats.lost_committed += 1;
                    }
                    self.stats.discarded += gone;
                    m.log.truncate_from(i);
                    m.log.entries.push_back(*e);
                }
                None => m.log.entries.push_back(*e),
            }
        }
        if commit > m.commit {
            m.commit = commit.min(end).max(m.commit);
        }
        self.apply_up(to, out);
        (true, end)
    }

    fn advance_commit(&mut self, rank: u8, out: &mut impl Out) {
        let n = self.p.n as usize;
        let m = &mut self.members[rank as usize];
        let mut x = [0u64; MAX_MEMBERS];
        for (f, v) in x.iter_mut().enumerate().take(n) {
            *v = if f == rank as usize {
                m.log.last_index()
            } else {
                m.matched[f]
            };
        }
        let x = &mut x[..n];
        x.sort_unstable_by(|a, b| b.cmp(a));
        let top = x[n / 2];
        // §5.4.2: only an entry of the leader's own term commits by counting.
        if top > m.commit && m.log.term_at(top) == Some(m.term) {
            let from = m.commit + 1;
            m.commit = top;
            for i in from..=top {
                let t = self.members[rank as usize].log.term_at(i).unwrap_or(0);
                self.ledger_record(i, t);
            }
            self.apply_up(rank, out);
        }
    }

    /// The ledger's term for committed index `i`, recording it if new.
    fn ledger_record(&mut self, i: u64, t: u32) {
        if i <= self.ledger_base {
            return;
        }
        let k = (i - self.ledger_base - 1) as usize;
        if k < self.ledger.len() {
            if self.ledger[k] != t {
                self.stats.lost_committed += 1;
            }
        } else if k == self.ledger.len() {
            self.ledger.push_back(t);
            let cap = 4 * self.p.log_capacity as usize;
            if self.ledger.len() > cap {
                let drop = self.ledger.len() - cap / 2;
                self.ledger.drain(..drop);
                self.ledger_base += drop as u64;
            }
        }
    }

    /// Member `rank` applies what it knows committed, in order.
    fn apply_up(&mut self, rank: u8, out: &mut impl Out) {
        loop {
            let m = &mut self.members[rank as usize];
            if m.applied >= m.commit {
                break;
            }
            let i = m.applied + 1;
            let Some(&e) = m.log.get(i) else { break };
            m.applied = i;
            let leader = m.role == Role::Leader;
            self.ledger_record(i, e.term);
            out.apply(rank, i, &e, leader);
        }
        let cap = self.p.log_capacity;
        let m = &mut self.members[rank as usize];
        if m.log.len() > cap {
            let to = m.applied.min(m.log.last_index() - cap / 2);
            m.log.compact_to(to);
        }
    }

    // ---- faults -------------------------------------------------------

    /// Member `rank` crashes: its volatile state is gone; its term, vote,
    /// log and state machine survive.
    pub fn crash(&mut self, rank: u8, out: &mut impl Out) {
        let m = &mut self.members[rank as usize];
        if !m.up {
            return;
        }
        let was = m.role;
        m.up = false;
        m.role = Role::Follower;
        m.leader = None;
        m.votes = 0;
        m.commit = m.applied;
        m.heard = None;
        m.epoch = m.epoch.wrapping_add(1);
        m.armed = SimTime::MAX;
        if was == Role::Leader {
            self.stats.step_downs += 1;
        }
        if was != Role::Follower {
            let term = m.term;
            out.role(rank, Role::Follower, term);
        }
    }

    /// Member `rank` runs again, as a follower. It ignores vote requests for
    /// a minimum election timeout, as if it had just heard from a leader,
    /// so that a lease granted before its crash holds.
    pub fn recover(&mut self, rank: u8, now: SimTime, out: &mut impl Out) {
        let m = &mut self.members[rank as usize];
        if m.up {
            return;
        }
        m.up = true;
        m.heard = Some(now);
        self.reset_timer(rank, now, out);
    }

    /// Leader completeness (§5.4): every entry the ledger holds as
    /// committed is in leader `rank`'s log with its term (for tests).
    pub fn complete(&self, rank: u8) -> bool {
        let m = &self.members[rank as usize];
        self.ledger.iter().enumerate().all(|(k, &t)| {
            let i = self.ledger_base + 1 + k as u64;
            i <= m.log.base() || m.log.term_at(i) == Some(t)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    /// A tiny xorshift generator, so the schedules need no crate.
    struct X(u64);
    impl X {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, p: f64) -> bool {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
        }
    }

    const MS: SimTime = 1_000_000;

    #[derive(Debug)]
    enum Ev {
        Msg(u8, u8, RaftMsg, Vec<Entry>),
        Timer(u8, u32),
        Tick(u8, u32),
    }

    /// A hostile network in simulated time: delays in `[dmin, dmax]`, drops,
    /// duplicates, cuts between members.
    struct Net {
        x: X,
        now: SimTime,
        seq: u64,
        q: BinaryHeap<Reverse<(SimTime, u64)>>,
        evs: BTreeMap<u64, Ev>,
        dmin: SimTime,
        dmax: SimTime,
        drop: f64,
        dup: f64,
        cut: [[bool; MAX_MEMBERS]; MAX_MEMBERS],
        min: SimTime,
        max: SimTime,
        /// Per member: applied (index, entry) in order.
        applied: Vec<Vec<(u64, Entry)>>,
        installs: u64,
    }

    impl Net {
        fn push(&mut self, at: SimTime, e: Ev) {
            self.seq += 1;
            self.q.push(Reverse((at, self.seq)));
            self.evs.insert(self.seq, e);
        }
        fn delay(&mut self) -> SimTime {
            self.dmin + self.x.below(self.dmax - self.dmin + 1)
        }
    }

    impl Out for Net {
        fn send(&mut self, from: u8, to: u8, msg: RaftMsg, entries: &[Entry]) {
            if self.cut[from as usize][to as usize] || self.x.chance(self.drop) {
                return;
            }
            let copies = if self.x.chance(self.dup) { 2 } else { 1 };
            for _ in 0..copies {
                let at = self.now + self.delay();
                self.push(at, Ev::Msg(from, to, msg, entries.to_vec()));
            }
        }
        fn arm(&mut self, rank: u8, at: SimTime, epoch: u32) {
            self.push(at, Ev::Timer(rank, epoch));
        }
        fn tick(&mut self, rank: u8, term: u32, at: SimTime) {
            self.push(at, Ev::Tick(rank, term));
        }
        fn apply(&mut self, rank: u8, index: u64, e: &Entry, _leader: bool) {
            self.applied[rank as usize].push((index, *e));
        }
        fn install(&mut self, from: u8, to: u8) {
            self.installs += 1;
            let src = self.applied[from as usize].clone();
            self.applied[to as usize] = src;
        }
        fn role(&mut self, _rank: u8, _role: Role, _term: u32) {}
        fn confirmed(&mut self, _rank: u8, _round: u64) {}
        fn draw(&mut self) -> SimTime {
            self.min + self.x.below(self.max - self.min + 1)
        }
    }

    fn params(n: u8, pre_vote: bool) -> Params {
        Params {
            n,
            min: 150 * MS,
            max: 300 * MS,
            heartbeat: 50 * MS,
            pre_vote,
            log_capacity: 200,
        }
    }

    fn net(seed: u64, n: usize, p: &Params) -> Net {
        Net {
            x: X(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            now: 0,
            seq: 0,
            q: BinaryHeap::new(),
            evs: BTreeMap::new(),
            dmin: MS / 2,
            dmax: 2 * MS,
            drop: 0.0,
            dup: 0.0,
            cut: [[false; MAX_MEMBERS]; MAX_MEMBERS],
            min: p.min,
            max: p.max,
            applied: vec![Vec::new(); n],
            installs: 0,
        }
    }

    /// Run events until `until`; returns false if the queue empties.
    fn run(g: &mut Group, net: &mut Net, until: SimTime, mut each: impl FnMut(&Group, &mut Net)) {
        while let Some(&Reverse((at, id))) = net.q.peek() {
            if at > until {
                break;
            }
            net.q.pop();
            net.now = at;
            let ev = net.evs.remove(&id).expect("event");
            match ev {
                Ev::Msg(f, t, m, e) => {
                    if !net.cut[f as usize][t as usize] {
                        g.deliver(f, t, m, &e, at, net);
                    }
                }
                Ev::Timer(r, ep) => g.timer(r, ep, at, net),
                Ev::Tick(r, t) => g.heartbeat(r, t, at, net),
            }
            each(g, net);
        }
        net.now = until;
    }

    /// Logs agree: the same (index, term) means the same prefix (Log
    /// Matching, §5.3), checked pairwise on what both still hold.
    fn logs_match(g: &Group) -> bool {
        for a in &g.members {
            for b in &g.members {
                let lo = a.log.base().max(b.log.base()) + 1;
                let hi = a.log.last_index().min(b.log.last_index());
                // Find the highest common index with equal terms; all before must match.
                let mut agree = false;
                for i in (lo..=hi).rev() {
                    let (ta, tb) = (a.log.term_at(i), b.log.term_at(i));
                    if agree && (ta != tb || a.log.get(i) != b.log.get(i)) {
                        return false;
                    }
                    if ta == tb && a.log.get(i) == b.log.get(i) {
                        agree = true;
                    }
                }
            }
        }
        true
    }

    #[test]
    fn a_group_elects_one_leader_and_commits_in_order() {
        let p = params(5, false);
        let mut n = net(1, 5, &p);
        let mut g = Group::new(p, 0, &mut n);
        run(&mut g, &mut n, 2_000 * MS, |_, _| {});
        let l = g.leader().expect("a leader");
        let mut idx = Vec::new();
        for k in 0..100 {
            n.now += MS;
            let now = n.now;
            idx.push(g.propose(l, k, 1, now, &mut n).expect("leader accepts"));
            let until = n.now;
            run(&mut g, &mut n, until, |_, _| {});
        }
        let until = n.now + 500 * MS;
        run(&mut g, &mut n, until, |_, _| {});
        assert_eq!(g.stats.safety_violations, 0);
        for m in &g.members {
            assert_eq!(m.applied, *idx.last().unwrap());
        }
        // Every member applied the same sequence.
        for a in &n.applied {
            assert_eq!(a, &n.applied[0]);
        }
        assert_eq!(g.stats.won, 1);
    }

    /// Figure 8 of the Raft paper: an entry of an earlier term, stored on a
    /// majority, is not committed by counting; the next leader of a higher
    /// term may overwrite it, and that is safe only because it never
    /// counted as committed.
    #[test]
    fn figure_8_an_old_terms_entry_is_not_committed_by_counting() {
        let p = params(5, false);
        let mut n = net(7, 5, &p);
        let mut g = Group::new(p, 0, &mut n);
        // (a) S1 (rank 0) leads term 2 (after a term-1 leader), with entry 2 on S1, S2.
        for m in &mut g.members {
            m.term = 2;
            m.log.entries.push_back(Entry {
                term: 1,
                key: 1,
                version: 1,
            });
            m.commit = 1;
            m.applied = 1;
        }
        g.ledger.push_back(1);
        g.members[0].role = Role::Leader;
        g.members[0].leader = Some(0);
        g.leaders.insert(2, 0);
        for r in [0usize, 1] {
            g.members[r].log.entries.push_back(Entry {
                term: 2,
                key: 2,
                version: 1,
            });
        }
        // (b) S1 crashes; S5 (rank 4) wins term 3 with votes of S3, S4, S5 and
        // appends a term-3 entry at index 2 only to itself.
        g.crash(0, &mut n);
        for r in [2usize, 3, 4] {
            g.members[r].term = 3;
            g.members[r].voted_for = Some(4);
        }
        g.members[4].role = Role::Leader;
        g.leaders.insert(3, 4);
        g.members[4].log.entries.push_back(Entry {
            term: 3,
            key: 3,
            version: 1,
        });
        g.crash(4, &mut n);
        // (c) S1 restarts, wins term 4, and replicates its term-2 entry to S3:
        // now on a majority (S1, S2, S3) but not committed.
        g.recover(0, 0, &mut n);
        g.members[0].term = 4;
        g.members[0].role = Role::Leader;
        g.members[0].leader = Some(0);
        g.leaders.insert(4, 0);
        g.members[0].next = [3; MAX_MEMBERS];
        g.members[0].matched = [0; MAX_MEMBERS];
        g.members[2].log.entries.push_back(Entry {
            term: 2,
            key: 2,
            version: 1,
        });
        for f in [1u8, 2] {
            g.deliver(
                f,
                0,
                RaftMsg::AppendReply {
                    term: 4,
                    ok: true,
                    index: 2,
                    round: 0,
                    sent: 0,
                },
                &[],
                0,
                &mut n,
            );
        }
        assert_eq!(
            g.members[0].commit, 1,
            "the term-2 entry must not commit by counting"
        );
        // (d) S1 crashes; S5 can win term 5 (its last term 3 beats 2) and overwrite index 2.
        g.crash(0, &mut n);
        g.recover(4, 0, &mut n);
        let before = g.stats.lost_committed;
        g.members[4].term = 5;
        g.members[4].role = Role::Leader;
        g.leaders.insert(5, 4);
        g.members[4].next = [2; MAX_MEMBERS];
        g.members[4].matched = [0; MAX_MEMBERS];
        g.members[4].log.entries.push_back(Entry {
            term: 5,
            key: NOOP,
            version: 0,
        });
        for f in [1u8, 2, 3] {
            g.members[f as usize].heard = None;
            g.send_append(4, f, 0, true, &mut n);
        }
        let until = 5 * MS;
        run(&mut g, &mut n, until, |_, _| {});
        assert_eq!(g.stats.lost_committed, before, "nothing committed was lost");
        assert!(
            g.stats.discarded >= 2,
            "the uncommitted term-2 copies were replaced"
        );
        assert_eq!(g.members[4].commit, 3);
        assert_eq!(g.members[2].log.term_at(2), Some(3));
        assert_eq!(g.stats.safety_violations, 0);
    }

    /// Safety over hostile schedules: random delays that reorder, drops,
    /// duplicates, crashes, recoveries, partitions and heals. After every
    /// step: never two leaders in one term, nothing committed lost or
    /// reordered (ledger), and every leader's log holds every committed
    /// entry (Leader Completeness, §5.4); at the end, logs match pairwise
    /// and every member applied a prefix of one sequence.
    #[test]
    fn hostile_schedules_never_break_safety() {
        let seeds = if cfg!(debug_assertions) { 150 } else { 1500 };
        let mut totals = Stats::default();
        for seed in 0..seeds {
            let nn = [3u8, 5, 7][(seed % 3) as usize];
            let p = Params {
                pre_vote: seed % 2 == 0,
                log_capacity: 100 + (seed % 4) * 50,
                ..params(nn, false)
            };
            let mut n = net(seed + 11, nn as usize, &p);
            n.dmin = 0;
            n.dmax = 40 * MS; // wide enough to reorder heartbeats and replies
            n.drop = 0.1;
            n.dup = 0.05;
            let mut g = Group::new(p, 0, &mut n);
            let mut version = 0u32;
            let mut t = 0;
            for _round in 0..60 {
                t += 50 * MS;
                // Faults.
                let r = n.x.below(nn as u64) as u8;
                match n.x.below(10) {
                    0 => g.crash(r, &mut n),
                    1 | 2 => {
                        let now = n.now;
                        g.recover(r, now, &mut n)
                    }
                    3 => {
                        // A random cut between two sides.
                        let mask = n.x.next();
                        for a in 0..nn as usize {
                            for b in 0..nn as usize {
                                n.cut[a][b] = (mask >> a & 1) != (mask >> b & 1);
                            }
                        }
                    }
                    4 | 5 => n.cut = [[false; MAX_MEMBERS]; MAX_MEMBERS],
                    _ => {}
                }
                // Writes to whoever thinks it leads.
                for _ in 0..n.x.below(8) {
                    if let Some(l) = (0..nn).find(|&r| {
                        let m = &g.members[r as usize];
                        m.up && m.role == Role::Leader
                    }) {
                        version += 1;
                        let now = n.now;
                        let _ = g.propose(l, n.x.below(20), version, now, &mut n);
                    }
                }
                run(&mut g, &mut n, t, |g, _| {
                    assert_eq!(g.stats.safety_violations, 0);
                    assert_eq!(g.stats.lost_committed, 0);
                });
                // Leader Completeness speaks of later terms: the leader of the
                // highest term anyone has seen holds every committed entry.
                let top = g.members.iter().map(|m| m.term).max().unwrap_or(0);
                for r in 0..nn {
                    let m = &g.members[r as usize];
                    if m.role == Role::Leader && m.term == top {
                        assert!(g.complete(r), "seed {seed}: leader {r} lacks a committed entry");
                    }
                }
            }
            // Heal everything and let it settle: all applied prefixes of one sequence.
            n.cut = [[false; MAX_MEMBERS]; MAX_MEMBERS];
            n.drop = 0.0;
            for r in 0..nn {
                let now = n.now;
                g.recover(r, now, &mut n);
            }
            let until = n.now + 3_000 * MS;
            run(&mut g, &mut n, until, |_, _| {});
            assert!(logs_match(&g), "seed {seed}: logs diverge");
            let l = g.leader().expect("a leader after healing");
            let longest = &n.applied[l as usize];
            for (r, a) in n.applied.iter().enumerate() {
                // A snapshot install copies the leader's sequence: compare by index.
                let by: BTreeMap<u64, Entry> = a.iter().copied().collect();
                let lead: BTreeMap<u64, Entry> = longest.iter().copied().collect();
                for (i, e) in &by {
                    if let Some(x) = lead.get(i) {
                        assert_eq!(x, e, "seed {seed}: member {r} applied another entry at {i}");
                    }
                }
            }
            totals.elections += g.stats.elections;
            totals.discarded += g.stats.discarded;
            totals.snapshots += g.stats.snapshots;
            totals.step_downs += g.stats.step_downs;
        }
        // The schedules are hostile enough to exercise the paths that matter.
        assert!(totals.elections > seeds * 3, "{totals:?}");
        assert!(totals.discarded > 0, "{totals:?}");
        assert!(totals.snapshots > 0, "{totals:?}");
        assert!(totals.step_downs > 0, "{totals:?}");
    }

    /// Liveness: once a majority is up and connected with one-way delays of
    /// at most δ, a leader that a majority follows exists within
    /// B = H + b + δ + r·(b + 4δ), r = 4 retries (see the bound's derivation
    /// in docs/consensus.md), whatever happened before.
    #[test]
    fn a_connected_majority_elects_a_leader_within_the_bound() {
        let mut worst = 0.0f64;
        for seed in 0..600u64 {
            let nn = [3u8, 5, 7][(seed % 3) as usize];
            let p = params(nn, seed % 2 == 0);
            let mut n = net(seed + 5, nn as usize, &p);
            n.dmin = MS / 2;
            n.dmax = 2 * MS;
            let mut g = Group::new(p, 0, &mut n);
            // Chaos first: crashes and cuts.
            let mut t = 0;
            for _ in 0..20 {
                t += 100 * MS;
                let r = n.x.below(nn as u64) as u8;
                if n.x.chance(0.5) {
                    g.crash(r, &mut n);
                } else {
                    let now = n.now;
                    g.recover(r, now, &mut n);
                }
                let mask = n.x.next();
                for a in 0..nn as usize {
                    for b in 0..nn as usize {
                        n.cut[a][b] = n.x.chance(0.3) && (mask >> a & 1) != (mask >> b & 1);
                    }
                }
                if let Some(l) = g.leader() {
                    let now = n.now;
                    let _ = g.propose(l, 1, 1, now, &mut n);
                }
                run(&mut g, &mut n, t, |_, _| {});
            }
            // Now: a majority (ranks 0..q) up and fully connected; the rest down or cut off.
            let q = nn / 2 + 1;
            let start = n.now;
            for a in 0..nn as usize {
                for b in 0..nn as usize {
                    n.cut[a][b] = (a as u8) >= q || (b as u8) >= q;
                }
            }
            for r in 0..q {
                g.recover(r, start, &mut n);
            }
            let (h, b, d) = (p.heartbeat, p.max, n.dmax);
            let bound = h + b + d + 4 * (b + 4 * d);
            let mut done = None;
            run(&mut g, &mut n, start + 2 * bound, |g, net| {
                if done.is_none()
                    && let Some(l) = (0..q).find(|&r| {
                        let m = &g.members[r as usize];
                        m.up && m.role == Role::Leader
                    })
                {
                    let term = g.members[l as usize].term;
                    let follow = (0..q).filter(|&r| g.members[r as usize].term == term).count() as u8;
                    if follow >= q
                        && g.members[l as usize].log.term_at(g.members[l as usize].commit) == Some(term)
                    {
                        done = Some(net.now);
                    }
                }
            });
            let took = done.expect("a leader was elected") - start;
            worst = worst.max(took as f64 / bound as f64);
            assert!(took <= bound, "seed {seed}: {took} ns > bound {bound} ns");
        }
        assert!(worst > 0.2, "the bound is not vacuous: worst {worst:.2} of it");
    }

    #[test]
    fn the_log_compacts_and_a_lagging_follower_gets_a_snapshot() {
        let p = Params {
            log_capacity: 100,
            ..params(3, false)
        };
        let mut n = net(3, 3, &p);
        let mut g = Group::new(p, 0, &mut n);
        run(&mut g, &mut n, 1_000 * MS, |_, _| {});
        let l = g.leader().unwrap();
        let lag = (l + 1) % 3;
        g.crash(lag, &mut n);
        for k in 0..1_000 {
            n.now += MS;
            let now = n.now;
            g.propose(l, k % 10, k as u32 + 1, now, &mut n).unwrap();
            let until = n.now;
            run(&mut g, &mut n, until, |_, _| {});
        }
        assert!(g.members[l as usize].log.len() <= 100);
        let now = n.now;
        g.recover(lag, now, &mut n);
        let until = n.now + 500 * MS;
        run(&mut g, &mut n, until, |_, _| {});
        assert_eq!(g.stats.snapshots, 1);
        assert_eq!(g.members[lag as usize].applied, g.members[l as usize].applied);
        assert_eq!(g.stats.lost_committed, 0);
    }
}

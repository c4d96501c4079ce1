//! Re-replication: a node whose disk is lost is replaced and the
//! replacement copies its shard (`rereplication: { data, bandwidth,
//! replace_after }`).
//!
//! Each node is a *slot* that is **complete** (it holds the shard's data:
//! up, or crashed with its disk intact) or **incomplete**. A slot becomes
//! incomplete when its node is lost (`node_loss`, or a `{ random: DB, mtbf }`
//! loss). `replace_after` (D) later a replacement takes the slot and copies
//! for R = data ÷ bandwidth; then it takes a copy of the shard from a
//! complete node ([`Database::on_rebuilt`]) and serves. A replacement lost
//! while copying leaves the slot waiting D again; a loss that finds the slot
//! empty (waiting for its replacement) changes nothing.
//!
//! **Data loss.** When the last complete node of a shard is lost, the shard
//! has lost its data: its committed versions go back to the last backup, or
//! to 0 without one (as a `disk_loss` does), and the writes since then count
//! in `lost_writes`. Replacements that were copying carry on from the backup
//! store, so every slot keeps its own renewal process — which is what
//! makes `theory::rereplication` exact for this model.
//!
//! Rebuilds of different slots run in parallel, each at the full bandwidth
//! (a cluster with many nodes spreads them over different sources); the
//! copy's load on the source node is not modelled.

use super::{Database, DatabaseTimer, Mode};
use crate::engine::SimTime;
use crate::model::{Ctx, Msg};
use crate::stats::Occupancy;

/// Re-replication, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RebuildCfg {
    /// Bytes one node of a shard holds.
    pub data: u64,
    /// Copy time R = data ÷ bandwidth, ns.
    pub copy: SimTime,
    /// Time from a loss until the replacement starts copying (D), ns.
    pub replace_after: SimTime,
}

/// What a slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Holds the shard's data.
    Complete,
    /// Lost; its replacement starts copying at `due`.
    Waiting,
    /// A replacement is copying until `due`.
    Copying,
}

/// Every slot's state and the statistics since warm-up.
pub(super) struct Rebuild {
    cfg: RebuildCfg,
    slot: Vec<Slot>,
    /// When the slot's pending timer is due: a timer firing at another
    /// time belongs to an attempt that a later loss cancelled.
    due: Vec<SimTime>,
    /// When the slot became incomplete.
    since: Vec<SimTime>,
    /// Incomplete slots per shard.
    incomplete: Vec<u32>,
    /// Incomplete slots in all.
    pending: u64,
    /// Shards with an incomplete slot, time-weighted.
    under: Occupancy,
    nodes_lost: u64,
    rereplications: u64,
    rebuild_s: f64,
    data_loss_events: u64,
    /// Data-loss events written to the notes so far (the rest are counted).
    noted: u32,
    /// The keys of each shard, shard-major (`keys[start[s]..start[s + 1]]`),
    /// built for `indexed_for` shards: a rebuild copies its shard's keys
    /// without scanning the whole key space.
    keys: Vec<u64>,
    start: Vec<usize>,
    indexed_for: u32,
}

/// Data-loss events told one by one in the notes; later ones are only counted.
const NOTED_LOSSES: u32 = 5;

impl Rebuild {
    pub(super) fn new(cfg: RebuildCfg, nodes: usize, shards: usize) -> Rebuild {
        Rebuild {
            cfg,
            slot: vec![Slot::Complete; nodes],
            due: vec![0; nodes],
            since: vec![0; nodes],
            incomplete: vec![0; shards],
            pending: 0,
            under: Occupancy::new(0),
            nodes_lost: 0,
            rereplications: 0,
            rebuild_s: 0.0,
            data_loss_events: 0,
            noted: 0,
            keys: Vec::new(),
            start: Vec::new(),
            indexed_for: 0,
        }
    }

    pub(super) fn on_warmup(&mut self, now: SimTime) {
        self.under.reset(now);
        self.nodes_lost = 0;
        self.rereplications = 0;
        self.rebuild_s = 0.0;
        self.data_loss_events = 0;
    }

    /// The metrics under `components.<db>.`; `window` in seconds.
    pub(super) fn report(&self, now: SimTime, window: f64, put: &mut impl FnMut(&str, f64)) {
        let shards = self.incomplete.len().max(1) as f64;
        let mean_under = self.under.mean(now);
        put("under_replicated_s", mean_under * window);
        put("under_replicated_fraction", mean_under / shards);
        put("nodes_lost", self.nodes_lost as f64);
        put("rereplications", self.rereplications as f64);
        if self.rereplications > 0 {
            put(
                "rereplication.mean_s",
                self.rebuild_s / self.rereplications as f64,
            );
        }
        put("data_loss_events", self.data_loss_events as f64);
        put("rebuilt_bytes", self.rereplications as f64 * self.cfg.data as f64);
    }
}

impl Database {
    /// Whether node `n` holds its shard's data (always, without `rereplication`).
    #[inline]
    pub(super) fn complete(&self, n: u32) -> bool {
        self.rebuild
            .as_ref()
            .is_none_or(|r| r.slot.get(n as usize).is_none_or(|&s| s == Slot::Complete))
    }

    /// Node `n`'s disk is gone for good.
    pub(super) fn lose_node(&mut self, n: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let counted = now >= ctx.warmup;
        let per = self.per;
        let Some(r) = self.rebuild.as_deref_mut() else {
            return;
        };
        let i = n as usize;
        let s = (n / per) as usize;
        match r.slot[i] {
            // The slot is empty: nothing to lose.
            Slot::Waiting => return,
            // The replacement is lost while copying: the slot waits again.
            Slot::Copying => {
                if counted {
                    r.nodes_lost += 1;
                }
            }
            Slot::Complete => {
                if counted {
                    r.nodes_lost += 1;
                }
                r.since[i] = now;
                r.pending += 1;
                r.incomplete[s] += 1;
                if r.incomplete[s] == 1 {
                    r.under.add(now, 1);
                }
                let last = r.incomplete[s] == per;
                r.slot[i] = Slot::Waiting;
                self.halt_node(n, ctx);
                if last {
                    self.data_lost(s as u32, ctx);
                }
                self.refresh_after(s as u32, ctx);
            }
        }
        self.await_replacement(n, ctx);
    }

    /// Slot `n` waits `replace_after` for its replacement.
    fn await_replacement(&mut self, n: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = self.rebuild.as_deref_mut() else {
            return;
        };
        let d = r.cfg.replace_after;
        r.slot[n as usize] = Slot::Waiting;
        r.due[n as usize] = now.saturating_add(d);
        if d == 0 {
            self.start_copy(n, ctx);
        } else {
            ctx.sched.after(d, self.id, Msg::timer(DatabaseTimer::Replace(n)));
        }
    }

    /// The replacement of slot `n` starts copying.
    fn start_copy(&mut self, n: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = self.rebuild.as_deref_mut() else {
            return;
        };
        let copy = r.cfg.copy;
        r.slot[n as usize] = Slot::Copying;
        r.due[n as usize] = now.saturating_add(copy);
        ctx.sched
            .after(copy, self.id, Msg::timer(DatabaseTimer::Rebuilt(n)));
    }

    /// The `Replace` timer of slot `n` fired.
    pub(super) fn replace_due(&mut self, n: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        if self
            .rebuild
            .as_ref()
            .is_some_and(|r| r.slot.get(n as usize) == Some(&Slot::Waiting) && r.due[n as usize] == now)
        {
            self.start_copy(n, ctx);
        }
    }

    /// The `Rebuilt` timer of slot `n` fired.
    pub(super) fn copy_due(&mut self, n: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        if self
            .rebuild
            .as_ref()
            .is_some_and(|r| r.slot.get(n as usize) == Some(&Slot::Copying) && r.due[n as usize] == now)
        {
            self.on_rebuilt(n, ctx);
        }
    }

    /// Slot `n`'s replacement has copied the shard: it is complete again
    /// and joins its shard. Under async, sync and quorum replication it
    /// takes a copy of a complete node ([`Self::copy_node`]) and serves as
    /// the rank it replaces. The place for a Raft glue to make it a learner.
    pub(super) fn on_rebuilt(&mut self, n: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let counted = now >= ctx.warmup;
        let per = self.per;
        let Some(r) = self.rebuild.as_deref_mut() else {
            return;
        };
        let (i, s) = (n as usize, n / per);
        if r.slot[i] == Slot::Complete {
            return;
        }
        r.slot[i] = Slot::Complete;
        r.pending -= 1;
        r.incomplete[s as usize] -= 1;
        if r.incomplete[s as usize] == 0 {
            r.under.add(now, -1);
        }
        if counted {
            r.rereplications += 1;
            r.rebuild_s += crate::engine::secs(now - r.since[i]);
        }
        self.take_copy(n, ctx);
        let region = self.nodes[i].region;
        let region_down = ctx.net.down.get(region as usize).copied().unwrap_or(false);
        if !self.shard_st[s as usize].restoring && !region_down {
            self.nodes[i].up = true;
        }
        self.refresh_after(s, ctx);
    }

    /// Node `to` takes node `from`'s copy of every key of shard `s` (as
    /// [`Self::copy_node`], through the index of each shard's keys, rebuilt
    /// when the number of shards changed).
    fn copy_indexed(&mut self, s: u32, from: u32, to: u32) {
        let shards = self.part.shards();
        let Some(r) = self.rebuild.as_deref_mut() else {
            return;
        };
        if r.indexed_for != shards {
            // Counting sort of the keys by shard.
            let mut count = vec![0usize; shards as usize + 1];
            let of: Vec<u32> = (0..self.cfg.key_space).map(|k| self.part.shard_of(k)).collect();
            for &x in &of {
                count[x as usize + 1] += 1;
            }
            for i in 1..count.len() {
                count[i] += count[i - 1];
            }
            r.start = count.clone();
            r.keys = vec![0; of.len()];
            for (k, &x) in of.iter().enumerate() {
                r.keys[count[x as usize]] = k as u64;
                count[x as usize] += 1;
            }
            r.indexed_for = shards;
        }
        if from == to || s >= shards {
            return;
        }
        let per = self.per as usize;
        let (rf, rt) = ((from % self.per) as usize, (to % self.per) as usize);
        for &k in &r.keys[r.start[s as usize]..r.start[s as usize + 1]] {
            let b = k as usize * per;
            self.applied[b + rt] = self.applied[b + rf];
        }
        self.nodes[to as usize].log = self.nodes[from as usize].log;
    }

    /// Node `n` (rebuilt) takes its shard's data from a complete node: the
    /// primary when it is complete and is not `n`; otherwise (a rebuilt
    /// primary's slot, or quorum) the complete node that applied the most
    /// writes, and committed writes that node never received are lost, as
    /// in a failover. With no complete node (after a data loss) the shard
    /// already holds the backup.
    fn take_copy(&mut self, n: u32, ctx: &mut Ctx) {
        let s = n / self.per;
        let base = s * self.per;
        let primary = base + self.shard_st[s as usize].primary;
        let quorum = matches!(self.cfg.mode, Mode::Quorum { .. });
        if !quorum && primary != n && self.complete(primary) {
            return self.copy_indexed(s, primary, n);
        }
        let source = (base..base + self.per)
            .filter(|&m| m != n && self.complete(m))
            .max_by_key(|&m| (self.nodes[m as usize].log, std::cmp::Reverse(m)));
        let Some(src) = source else {
            return;
        };
        self.copy_indexed(s, src, n);
        if !quorum && let Some(r) = self.rebuild.as_deref() {
            // The primary's slot is rebuilt from a follower's copy.
            let per = self.per as usize;
            let rank = (n % self.per) as usize;
            let mut lost = 0u64;
            for &k in &r.keys[r.start[s as usize]..r.start[s as usize + 1]] {
                let have = self.applied[k as usize * per + rank];
                let committed = ctx.data.committed(self.cfg.slot, k);
                if committed > have {
                    lost += u64::from(committed - have);
                    ctx.data.reset(self.cfg.slot, k, have);
                }
            }
            self.lost += lost;
        }
    }

    /// Shard `s` has no complete node left: its data is lost.
    fn data_lost(&mut self, s: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let lost = self.reset_to_backup(s, ctx);
        self.lost += lost;
        let Some(r) = self.rebuild.as_deref_mut() else {
            return;
        };
        if now >= ctx.warmup {
            r.data_loss_events += 1;
        }
        if r.noted < NOTED_LOSSES {
            r.noted += 1;
            let from = if self.backups == 0 {
                "no backup: the shard starts again empty".to_string()
            } else {
                format!(
                    "back to the backup of {:.1}s",
                    crate::engine::secs(self.backup_at)
                )
            };
            self.fault_notes.push(format!(
                "{}.shard[{s}]: DATA LOSS at {:.1}s, the last of its {} copies was lost before a \
                 replacement finished copying; {from} ({lost} committed writes lost)",
                self.cfg.name,
                crate::engine::secs(now),
                self.per
            ));
        }
    }

    /// Which nodes serve, after shard `s` changed: that shard alone (a
    /// full [`Self::refresh`] when no slot is incomplete, to restore the
    /// `calm` fast path).
    fn refresh_after(&mut self, s: u32, ctx: &mut Ctx) {
        let all_up = self.refresh_shard(s, ctx);
        if !all_up {
            self.calm = false;
        } else if self.rebuild.as_ref().is_some_and(|r| r.pending == 0) {
            self.refresh(ctx);
        }
    }
}

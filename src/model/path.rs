//! Where the time goes: the critical path of every request, kept beside
//! the request arena, and its totals per component.
//!
//! Each arena slot has a [`Trail`]: when its hop was sent and where and
//! when it arrives (both known when `Ctx::send` draws the latency, so the
//! event loop pays nothing), when it was answered; the queueing,
//! in-component network and downstream waits its
//! server reported; and the [`Seg`]ments of the calls made on its behalf
//! that are on its critical path. When a caller receives an `Ok` answer,
//! the hop's own segment and the segments under it join the caller's hop
//! ([`Arena::path_answered`]). A caller opens a *group* for each set of
//! calls it waits on together ([`Arena::path_group`]); every answer in the
//! group first cuts the caller's segments back to the group's start, so
//! the last call to answer (the one the caller waited for) is the one that
//! stays. Calls made one after the other are groups one after the other,
//! all kept. Failed, rejected and timed-out hops join nothing.
//!
//! A client's successful request, counted in `latency.mean_ms`, hands its
//! segments to [`Breakdown::record`], which sums them per component and
//! category; what the segments do not cover (failed attempts, retry
//! backoff) is the request's `other`. Nothing here is read by the
//! simulation: no event, no random draw, so fingerprints do not move.
//!
//! Memory follows the arena: one trail per slot, its segment list cleared
//! (keeping its capacity) when the slot is reused.

use super::request::{Arena, ReqRef};
use crate::stats::Histogram;

/// No component (a hop not yet arrived anywhere).
const NOWHERE: u32 = u32::MAX;
/// Not yet (no answer sent, no downstream group open).
const NEVER: u64 = u64::MAX;

/// A request's visit to one component, on its critical path (ns).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seg {
    /// Component id.
    pub comp: u32,
    /// On the wire to it and back (and inside it between its nodes).
    pub net: u64,
    /// Queued there before service.
    pub queue: u64,
    /// In service there (its time neither queued nor waiting on calls).
    pub service: u64,
    /// Waiting there for its downstream calls (inclusive of theirs).
    pub down: u64,
}

/// The path record beside one arena slot (see the module docs).
#[derive(Clone, Debug)]
pub struct Trail {
    /// Segments of the calls under this hop on its critical path.
    segs: Vec<Seg>,
    /// Generation of the slot's record (a stale reference changes nothing).
    generation: u32,
    /// Segments from before the hop was sent (a DNS lookup, a cache-aside
    /// miss), kept if it is sent again.
    keep: u32,
    /// Where the open group's segments start.
    mark: u32,
    /// Component serving it ([`NOWHERE`] until it arrives).
    at: u32,
    /// Sent, arrived, answered by its server ([`NEVER`] until then).
    sent: u64,
    arr: u64,
    resp: u64,
    /// Start of the open group, or [`NEVER`].
    group: u64,
    /// Queued, travelling inside the component, waiting on closed groups.
    queue: u64,
    net: u64,
    down: u64,
}

impl Trail {
    /// A blank trail for a record of generation `generation`.
    pub(super) fn new(generation: u32) -> Trail {
        Trail {
            segs: Vec::new(),
            generation,
            keep: 0,
            mark: 0,
            at: NOWHERE,
            sent: 0,
            arr: 0,
            resp: NEVER,
            group: NEVER,
            queue: 0,
            net: 0,
            down: 0,
        }
    }

    /// Blank again for a record of generation `generation`, keeping the
    /// segment list's capacity.
    #[inline]
    pub(super) fn reset(&mut self, generation: u32) {
        self.segs.clear();
        self.generation = generation;
        self.keep = 0;
        self.mark = 0;
        self.at = NOWHERE;
        self.resp = NEVER;
        self.group = NEVER;
        self.queue = 0;
        self.net = 0;
        self.down = 0;
    }

    /// Prefetch the segment list's first segments, read or written soon
    /// (see [`Arena::prefetch`]).
    #[inline(always)]
    pub(super) fn prefetch_segs(&self) {
        let n = self.segs.capacity().min(3);
        if n > 0 {
            crate::engine::prefetch_bytes(self.segs.as_ptr().cast(), n * std::mem::size_of::<Seg>());
        }
    }

    /// Its record was freed: references to it no longer reach it.
    #[inline]
    pub(super) fn retire(&mut self, generation: u32) {
        self.generation = generation;
    }

    /// This hop's own segment, answered to its caller at `now`.
    #[inline]
    fn own(&self, now: u64) -> Option<Seg> {
        if self.at == NOWHERE || self.resp == NEVER {
            return None;
        }
        let open = if self.group == NEVER {
            0
        } else {
            self.resp.saturating_sub(self.group)
        };
        let down = self.down + open;
        let span = self.resp.saturating_sub(self.arr);
        Some(Seg {
            comp: self.at,
            net: self.arr.saturating_sub(self.sent) + now.saturating_sub(self.resp) + self.net,
            queue: self.queue,
            service: span.saturating_sub(self.queue + down + self.net),
            down,
        })
    }
}

impl Arena {
    #[inline]
    fn trail_mut(&mut self, r: ReqRef) -> Option<&mut Trail> {
        self.trails
            .get_mut(r.idx as usize)
            .filter(|t| t.generation == r.generation)
    }

    #[inline]
    fn trail(&self, r: ReqRef) -> Option<&Trail> {
        self.trails
            .get(r.idx as usize)
            .filter(|t| t.generation == r.generation)
    }

    /// Hop `r` is sent at `now` to component `to`, which it reaches at
    /// `arrives` (every request through `Ctx::send`; a component scheduling
    /// one itself says so). Sent again (a redelivery), it starts over.
    #[inline]
    pub fn path_send(&mut self, r: ReqRef, now: u64, to: u32, arrives: u64) {
        if let Some(t) = self.trail_mut(r) {
            if t.at != NOWHERE {
                // Sent before: only what came before its first sending stays.
                t.segs.truncate(t.keep as usize);
                t.mark = t.keep;
                t.at = NOWHERE;
                t.resp = NEVER;
                t.group = NEVER;
                t.queue = 0;
                t.net = 0;
                t.down = 0;
            }
            t.sent = now;
            t.at = to;
            t.arr = arrives;
        }
    }

    /// Hop `r` waited `ns` in a queue of the component serving it.
    #[inline]
    pub fn path_queued(&mut self, r: ReqRef, ns: u64) {
        if let Some(t) = self.trail_mut(r) {
            t.queue += ns;
        }
    }

    /// Hop `r` travels `ns` between the nodes of the component serving it.
    #[inline]
    pub fn path_net(&mut self, r: ReqRef, ns: u64) {
        if let Some(t) = self.trail_mut(r) {
            t.net += ns;
        }
    }

    /// The component serving `r` starts waiting, at `now`, on a group of
    /// calls (one call, or several in parallel): the previous group, if
    /// any, ends.
    #[inline]
    pub fn path_group(&mut self, r: ReqRef, now: u64) {
        if let Some(t) = self.trail_mut(r) {
            if t.group != NEVER {
                t.down += now.saturating_sub(t.group);
            }
            t.group = now;
            t.mark = t.segs.len() as u32;
        }
    }

    /// Hop `r` is answered by its server at `now` (every response through
    /// `Ctx::send`; a component scheduling one itself says so).
    #[inline]
    pub fn path_respond(&mut self, r: ReqRef, now: u64) {
        if let Some(t) = self.trail_mut(r) {
            t.resp = now;
        }
    }

    /// Hop `r`, delivered to a DNS, is forwarded at `now` by it (as the
    /// client's own connection): the DNS's part is kept before what follows.
    pub fn path_forward(&mut self, r: ReqRef, now: u64) {
        if let Some(t) = self.trail_mut(r)
            && t.at != NOWHERE
        {
            let seg = Seg {
                comp: t.at,
                net: t.arr.saturating_sub(t.sent),
                service: now.saturating_sub(t.arr),
                ..Seg::default()
            };
            t.segs.push(seg);
            t.keep = t.segs.len() as u32;
            t.mark = t.keep;
            t.at = NOWHERE;
        }
    }

    /// Hop `child` was answered `Ok` and its caller, still waiting for it
    /// (not abandoned), received the answer at `now`: its segment and the
    /// segments under it join the path of `parent` (the hop it was made
    /// for; a batch names each message's), replacing what `parent`'s open
    /// group held. Without a parent (a client's request) they stay with it.
    #[inline(always)]
    pub fn path_answered(&mut self, child: ReqRef, parent: ReqRef, now: u64) {
        let ci = child.idx as usize;
        let Some(own) = self
            .trails
            .get(ci)
            .filter(|c| c.generation == child.generation)
            .and_then(|c| c.own(now))
        else {
            return;
        };
        if parent == ReqRef::NONE {
            self.trails[ci].segs.push(own);
            return;
        }
        let pi = parent.idx as usize;
        if pi == ci || pi >= self.trails.len() {
            return;
        }
        let (c, p) = if ci < pi {
            let (a, b) = self.trails.split_at_mut(pi);
            (&a[ci], &mut b[0])
        } else {
            let (a, b) = self.trails.split_at_mut(ci);
            (&b[0], &mut a[pi])
        };
        // A parent already answered takes nothing more.
        if p.generation != parent.generation || p.resp != NEVER {
            return;
        }
        p.segs.truncate(p.mark as usize);
        if !c.segs.is_empty() {
            p.segs.extend_from_slice(&c.segs);
        }
        p.segs.push(own);
    }

    /// A `cache_aside` cache answered hop `child` with a miss at `now`: set
    /// its path aside for the load its caller makes next (see
    /// [`Arena::path_adopt`]).
    pub fn path_stash(&mut self, child: ReqRef, now: u64) {
        self.carry.clear();
        if self.get(child).is_none_or(|c| c.abandoned) {
            return;
        }
        if let Some(t) = self
            .trails
            .get(child.idx as usize)
            .filter(|t| t.generation == child.generation)
            && let Some(own) = t.own(now)
        {
            self.carry.extend_from_slice(&t.segs);
            self.carry.push(own);
        }
    }

    /// The load `r` continues the miss just set aside: its path starts
    /// with the cache's.
    pub fn path_adopt(&mut self, r: ReqRef) {
        let carry = std::mem::take(&mut self.carry);
        if let Some(t) = self.trail_mut(r) {
            t.segs.clear();
            t.segs.extend_from_slice(&carry);
            t.keep = t.segs.len() as u32;
            t.mark = t.keep;
        }
        self.carry = carry;
        self.carry.clear();
    }

    /// The queueing reported for `r` so far (ns).
    #[inline]
    pub fn path_queue_of(&self, r: ReqRef) -> u64 {
        self.trail(r).map_or(0, |t| t.queue)
    }

    /// The segments of `r`'s path.
    #[inline]
    pub fn path_segs(&self, r: ReqRef) -> &[Seg] {
        self.trail(r).map_or(&[], |t| &t.segs)
    }
}

/// Categories, in the order of [`Tier::sums`].
const CATEGORIES: [&str; 4] = ["network", "queue", "service", "downstream"];

/// One component's totals over the successful requests.
#[derive(Default)]
struct Tier {
    /// Sum of each category (ns).
    sums: [u128; 4],
    /// Each category's nonzero per-request contributions (made at the
    /// first one: a category always 0 takes no memory).
    hists: [Option<Box<Histogram>>; 4],
}

impl Tier {
    /// A request's `x` ns in category `k`.
    #[inline(always)]
    fn add(&mut self, k: usize, x: u64) {
        if x > 0 {
            self.sums[k] += u128::from(x);
            self.hists[k]
                .get_or_insert_with(|| Box::new(Histogram::new()))
                .record(x);
        }
    }
}

/// Per-component totals of the critical paths of successful requests
/// (those counted in `latency.mean_ms`), and what they leave over.
pub struct Breakdown {
    /// Requests recorded.
    n: u64,
    /// By component id; `None` while it has been on no path.
    tiers: Vec<Option<Box<Tier>>>,
    /// Latency not covered by network, queue and service (ns, signed so
    /// the means add up exactly).
    other_sum: i128,
    /// Its nonzero per-request values.
    other: Option<Box<Histogram>>,
}

impl Breakdown {
    /// Room for `comps` clients and components.
    pub fn new(comps: usize) -> Breakdown {
        Breakdown {
            n: 0,
            tiers: (0..comps).map(|_| None).collect(),
            other_sum: 0,
            other: None,
        }
    }

    /// A successful request of latency `latency` ns with path `segs`.
    #[inline]
    pub fn record(&mut self, segs: &[Seg], latency: u64) {
        self.n += 1;
        let covered = match segs {
            // The common paths: nothing, or one component (no repeat to merge).
            [] => 0,
            [s] => {
                self.add(s.comp, [s.net, s.queue, s.service, s.down]);
                s.net + s.queue + s.service
            }
            _ => self.record_path(segs),
        };
        let other = i128::from(latency) - i128::from(covered);
        self.other_sum += other;
        if other > 0 {
            self.other
                .get_or_insert_with(|| Box::new(Histogram::new()))
                .record(other as u64);
        }
    }

    /// [`Breakdown::record`]'s tiers for a path of several segments: what
    /// network, queue and service cover.
    fn record_path(&mut self, segs: &[Seg]) -> u64 {
        let mut covered: u64 = 0;
        for (i, s) in segs.iter().enumerate() {
            covered += s.net + s.queue + s.service;
            // A component visited twice counts once, with both visits
            // (paths are short: a quadratic scan beats any table).
            if segs[..i].iter().any(|e| e.comp == s.comp) {
                continue;
            }
            let mut v = [s.net, s.queue, s.service, s.down];
            for e in segs[i + 1..].iter().filter(|e| e.comp == s.comp) {
                v[0] += e.net;
                v[1] += e.queue;
                v[2] += e.service;
                v[3] += e.down;
            }
            self.add(s.comp, v);
        }
        covered
    }

    /// Component `comp`'s categories on one request's path.
    #[inline]
    fn add(&mut self, comp: u32, v: [u64; 4]) {
        let Some(slot) = self.tiers.get_mut(comp as usize) else {
            return;
        };
        let tier = slot.get_or_insert_with(Box::default);
        // Unrolled: most categories are 0 for most components.
        tier.add(0, v[0]);
        tier.add(1, v[1]);
        tier.add(2, v[2]);
        tier.add(3, v[3]);
    }

    /// The `breakdown.*` metrics, naming component `id` by `names[id]`.
    pub fn report(&self, names: &[&str], out: &mut super::Metrics) {
        if self.n == 0 {
            return;
        }
        let n = self.n as f64;
        for (id, tier) in self.tiers.iter().enumerate() {
            let (Some(t), Some(name)) = (tier, names.get(id)) else {
                continue;
            };
            for (k, cat) in CATEGORIES.iter().enumerate() {
                out.insert(
                    format!("breakdown.{name}.{cat}.mean_ms"),
                    t.sums[k] as f64 / n / 1e6,
                );
                out.insert(
                    format!("breakdown.{name}.{cat}.p99_ms"),
                    p99_with_zeros(t.hists[k].as_deref(), self.n) as f64 / 1e6,
                );
            }
        }
        out.insert("breakdown.other.mean_ms".into(), self.other_sum as f64 / n / 1e6);
        out.insert(
            "breakdown.other.p99_ms".into(),
            p99_with_zeros(self.other.as_deref(), self.n) as f64 / 1e6,
        );
    }
}

/// The 99th percentile (ns) of `n` values of which those in `h` are the
/// nonzero ones and the rest are 0.
fn p99_with_zeros(h: Option<&Histogram>, n: u64) -> u64 {
    let Some(h) = h else { return 0 };
    let nonzero = h.count();
    if n == 0 || nonzero == 0 {
        return 0;
    }
    let zeros = n.saturating_sub(nonzero);
    // Rank of the 99th percentile among all n (1-based, as HdrHistogram).
    let rank = ((0.99 * n as f64).ceil() as u64).max(1);
    if rank <= zeros {
        return 0;
    }
    h.quantile_ns((rank - zeros) as f64 / nonzero as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::request::Request;

    fn hop(a: &mut Arena, parent: ReqRef) -> ReqRef {
        a.alloc(Request {
            parent,
            ..Arena::blank()
        })
    }

    #[test]
    fn a_sequential_pair_and_the_slower_of_a_parallel_pair_are_kept() {
        let mut a = Arena::new();
        let root = hop(&mut a, ReqRef::NONE);
        a.path_send(root, 0, 1, 2);
        a.path_queued(root, 3);
        // Step 1: one call, 10..20.
        a.path_group(root, 10);
        let c1 = hop(&mut a, root);
        a.path_send(c1, 10, 2, 11);
        a.path_respond(c1, 19);
        a.path_answered(c1, root, 20);
        a.free(c1);
        // Step 2: two in parallel from 20; the second ends last, at 50.
        a.path_group(root, 20);
        let (p1, p2) = (hop(&mut a, root), hop(&mut a, root));
        for (p, comp, back) in [(p1, 3, 30), (p2, 4, 50)] {
            a.path_send(p, 20, comp, 21);
            a.path_respond(p, back - 1);
        }
        a.path_answered(p1, root, 30);
        a.path_answered(p2, root, 50);
        // The root answers when its last call has, at 50.
        a.path_respond(root, 50);
        a.path_answered(root, ReqRef::NONE, 52);
        let segs = a.path_segs(root).to_vec();
        let comps: Vec<u32> = segs.iter().map(|s| s.comp).collect();
        assert_eq!(comps, [2, 4, 1]);
        let total: u64 = segs.iter().map(|s| s.net + s.queue + s.service).sum();
        assert_eq!(total, 52);
        let root_seg = segs[2];
        assert_eq!(
            (root_seg.net, root_seg.queue, root_seg.service, root_seg.down),
            (4, 3, 5, 40)
        );
        let mut b = Breakdown::new(5);
        b.record(&segs, 60);
        let mut m = crate::model::Metrics::new();
        b.report(&["c", "svc", "a", "fast", "slow"], &mut m);
        assert_eq!(m["breakdown.other.mean_ms"], 8e-6);
        assert!(m.contains_key("breakdown.slow.service.mean_ms"));
        assert!(!m.contains_key("breakdown.fast.service.mean_ms"));
    }

    #[test]
    fn an_unanswered_call_and_a_late_one_join_nothing() {
        let mut a = Arena::new();
        let root = hop(&mut a, ReqRef::NONE);
        a.path_send(root, 0, 1, 0);
        a.path_group(root, 0);
        let c = hop(&mut a, root);
        a.path_send(c, 0, 2, 1);
        // Never answered by its server (it failed its caller's timeout, or
        // was lost): nothing to join.
        a.path_answered(c, root, 5);
        assert!(a.path_segs(root).is_empty());
        // Its caller has answered already (it failed): nothing joins it.
        a.path_respond(root, 6);
        a.path_respond(c, 7);
        a.path_answered(c, root, 8);
        assert!(a.path_segs(root).is_empty());
        // A freed record's late answer changes nothing either.
        a.free(c);
        a.path_answered(c, root, 9);
        assert!(a.path_segs(root).is_empty());
    }

    #[test]
    fn a_redelivered_hop_starts_over_and_a_miss_leads_its_load() {
        let mut a = Arena::new();
        let root = hop(&mut a, ReqRef::NONE);
        a.path_send(root, 0, 1, 0);
        a.path_group(root, 0);
        // A cache answers a miss after 4; the load from the database takes 6.
        let miss = hop(&mut a, root);
        a.path_send(miss, 0, 2, 1);
        a.path_respond(miss, 3);
        a.path_stash(miss, 4);
        a.free(miss);
        let load = hop(&mut a, root);
        a.path_adopt(load);
        a.path_send(load, 4, 3, 5);
        // Served once, failed; sent again at 5: the first try is forgotten.
        a.path_respond(load, 6);
        a.path_send(load, 6, 3, 7);
        a.path_respond(load, 9);
        a.path_answered(load, root, 10);
        let comps: Vec<u32> = a.path_segs(root).iter().map(|s| s.comp).collect();
        assert_eq!(comps, [2, 3]);
        let total: u64 = a
            .path_segs(root)
            .iter()
            .map(|s| s.net + s.queue + s.service)
            .sum();
        // 4 at the cache, then 6 - 2 for the database's second try only
        // (the first try's 2 are nobody's).
        assert_eq!(total, 4 + 4);
    }

    #[test]
    fn the_percentile_counts_the_zeros_left_out() {
        let mut h = Histogram::new();
        for _ in 0..5 {
            h.record(1000);
        }
        // 5 nonzero of 100: the 99th percentile is one of them.
        assert_eq!(p99_with_zeros(Some(&h), 100), 1000);
        // 5 nonzero of 1000: it is 0.
        assert_eq!(p99_with_zeros(Some(&h), 1000), 0);
        assert_eq!(p99_with_zeros(None, 10), 0);
    }
}

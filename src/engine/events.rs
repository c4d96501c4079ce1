//! The future-event set.
//!
//! Events are ordered by time, then by the sequence number they were given
//! when scheduled, so simultaneous events run in the order they were created
//! and never in an order that depends on memory addresses or hashing.
//!
//! Events due "now" (zero delay, e.g. a hop with no network latency) skip the
//! binary heap and go to a FIFO: every event already in the heap for the
//! current instant was scheduled earlier and so has a smaller sequence number,
//! which is why the loop drains heap events at `now` before the FIFO. The
//! resulting order is exactly (time, sequence) order, at a fraction of the
//! cost of a heap push and pop.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use super::SimTime;

/// A message the scheduler can carry: small, `Copy`, and able to describe
/// itself as a number for the trajectory fingerprint.
pub trait Message: Copy {
    /// A number identifying the message's kind and payload, folded into the
    /// run's fingerprint.
    fn code(&self) -> u64;
}

#[derive(Clone, Copy)]
struct Entry<M> {
    time: SimTime,
    seq: u64,
    target: u32,
    msg: M,
}

impl<M> PartialEq for Entry<M> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<M> Eq for Entry<M> {}
impl<M> PartialOrd for Entry<M> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<M> Ord for Entry<M> {
    // BinaryHeap is a max-heap: reverse so the earliest (time, seq) is on top.
    fn cmp(&self, other: &Self) -> Ordering {
        other.time.cmp(&self.time).then_with(|| other.seq.cmp(&self.seq))
    }
}

/// The future-event set and the clock.
pub struct Scheduler<M> {
    now: SimTime,
    seq: u64,
    heap: BinaryHeap<Entry<M>>,
    due_now: VecDeque<(u32, M)>,
    processed: u64,
    fingerprint: u64,
    /// Heap length at which [`Scheduler::compact`] next rebuilds the heap.
    compact_at: usize,
}

/// The heap is never rebuilt below this many entries: a rebuild then costs
/// less than the 65,536 events between two checks, and the memory it could
/// win back (a few megabytes) is not worth it.
const COMPACT_FLOOR: usize = 1 << 16;

impl<M: Message> Default for Scheduler<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Message> Scheduler<M> {
    /// An empty scheduler at time zero.
    pub fn new() -> Self {
        Scheduler {
            now: 0,
            seq: 0,
            heap: BinaryHeap::with_capacity(1024),
            due_now: VecDeque::with_capacity(1024),
            processed: 0,
            fingerprint: 0xcbf2_9ce4_8422_2325,
            compact_at: COMPACT_FLOOR,
        }
    }

    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Events dispatched so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// A hash of every dispatched event's time, target and message code:
    /// equal fingerprints mean identical trajectories.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Events waiting (heap and due-now queue).
    pub fn pending(&self) -> usize {
        self.heap.len() + self.due_now.len()
    }

    /// Event slots allocated in the heap and the due-now queue. Neither ever
    /// shrinks, so this is the future-event set's memory high-water mark, in
    /// events: at most about twice the most events ever pending at once.
    pub fn reserved(&self) -> usize {
        self.heap.capacity() + self.due_now.capacity()
    }

    /// Drop the future events for which `keep(target, msg)` is false (timers
    /// whose request has finished), but only once the heap has doubled since
    /// the smallest length seen by an earlier call (or since the last
    /// rebuild), and never below [`COMPACT_FLOOR`]. Returns the number of
    /// events dropped.
    ///
    /// Meant to be called now and then (the run loop calls it every 65,536
    /// events). A rebuild costs O(n) for a heap of n entries, and at least
    /// n/2 events were pushed since the length it is compared with was seen,
    /// so the cost is amortised O(1) per scheduled event; between rebuilds the
    /// heap holds at most twice what was alive at the last one, plus what
    /// was pushed since the last call. The remaining events keep their time
    /// and sequence number, so they are dispatched in exactly the order they
    /// would have been; only events already due now (in the FIFO) are never
    /// dropped.
    pub fn compact(&mut self, mut keep: impl FnMut(u32, &M) -> bool) -> usize {
        let len = self.heap.len();
        if len < self.compact_at {
            self.compact_at = self.compact_at.min(len.saturating_mul(2).max(COMPACT_FLOOR));
            return 0;
        }
        self.heap.retain(|e| keep(e.target, &e.msg));
        let kept = self.heap.len();
        self.compact_at = kept.saturating_mul(2).max(COMPACT_FLOOR);
        len - kept
    }

    /// Schedule `msg` for `target` at absolute time `at` (clamped to now).
    #[inline(always)]
    pub fn at(&mut self, at: SimTime, target: u32, msg: M) {
        if at <= self.now {
            self.due_now.push_back((target, msg));
        } else {
            self.seq += 1;
            self.heap.push(Entry {
                time: at,
                seq: self.seq,
                target,
                msg,
            });
        }
    }

    /// Schedule `msg` for `target` after `delay` nanoseconds.
    #[inline(always)]
    pub fn after(&mut self, delay: u64, target: u32, msg: M) {
        self.at(self.now.saturating_add(delay), target, msg)
    }

    /// Schedule `msg` for `target` at the current instant, after every event
    /// already due now.
    #[inline(always)]
    pub fn now_msg(&mut self, target: u32, msg: M) {
        self.due_now.push_back((target, msg));
    }

    /// The next event not later than `end`, advancing the clock to it.
    /// `None` when nothing is left before `end` (the clock then stays put).
    #[inline(always)]
    pub fn next(&mut self, end: SimTime) -> Option<(u32, M)> {
        let (target, msg) = match self.heap.peek() {
            Some(top) if top.time <= self.now => {
                let e = self.heap.pop()?;
                (e.target, e.msg)
            }
            _ => {
                if let Some(ev) = self.due_now.pop_front() {
                    ev
                } else {
                    let top = self.heap.peek()?;
                    if top.time > end {
                        return None;
                    }
                    let e = self.heap.pop()?;
                    self.now = e.time;
                    (e.target, e.msg)
                }
            }
        };
        self.processed += 1;
        // FNV-style fold: one multiply per event keeps the hot path cheap.
        let h = self.now ^ (u64::from(target) << 40) ^ msg.code().rotate_left(17);
        self.fingerprint = (self.fingerprint ^ h).wrapping_mul(0x0000_0100_0000_01b3);
        Some((target, msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct M(u32);
    impl Message for M {
        fn code(&self) -> u64 {
            u64::from(self.0)
        }
    }

    #[test]
    fn orders_by_time_then_sequence() {
        let mut s = Scheduler::new();
        s.at(10, 0, M(1));
        s.at(5, 0, M(2));
        s.at(10, 0, M(3));
        s.at(5, 0, M(4));
        let got: Vec<u32> = std::iter::from_fn(|| s.next(100)).map(|(_, m)| m.0).collect();
        assert_eq!(got, vec![2, 4, 1, 3]);
        assert_eq!(s.now(), 10);
    }

    #[test]
    fn due_now_runs_after_earlier_scheduled_same_instant_events() {
        let mut s = Scheduler::new();
        s.at(5, 0, M(1));
        s.at(5, 0, M(2));
        let (_, first) = s.next(100).unwrap();
        assert_eq!(first, M(1));
        // Created at t=5 while M(2) (scheduled earlier for t=5) still waits.
        s.now_msg(0, M(3));
        s.after(0, 0, M(4));
        let rest: Vec<u32> = std::iter::from_fn(|| s.next(100)).map(|(_, m)| m.0).collect();
        assert_eq!(rest, vec![2, 3, 4]);
    }

    #[test]
    fn stops_at_end_and_keeps_later_events() {
        let mut s = Scheduler::new();
        s.at(5, 0, M(1));
        s.at(50, 0, M(2));
        assert!(s.next(10).is_some());
        assert!(s.next(10).is_none());
        assert_eq!(s.pending(), 1);
        assert_eq!(s.now(), 5);
    }

    #[test]
    fn compaction_drops_only_unwanted_events_and_keeps_the_order() {
        // 200,000 events at pseudo-random times with many ties; odd ones
        // are unwanted. A compacted scheduler dispatches exactly the even
        // ones, in the order an untouched one dispatches them.
        let fill = |s: &mut Scheduler<M>| {
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            for i in 0..200_000u32 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.at(1 + x % 5_000, 0, M(i));
            }
        };
        let mut plain = Scheduler::new();
        fill(&mut plain);
        let mut compacted = Scheduler::new();
        fill(&mut compacted);
        assert_eq!(compacted.compact(|_, m| m.0 % 2 == 0), 100_000);
        assert_eq!(compacted.pending(), 100_000);
        let want: Vec<(u64, u32)> =
            std::iter::from_fn(|| plain.next(u64::MAX).map(|(_, m)| (plain.now(), m.0)))
                .filter(|(_, m)| m % 2 == 0)
                .collect();
        let got: Vec<(u64, u32)> =
            std::iter::from_fn(|| compacted.next(u64::MAX).map(|(_, m)| (compacted.now(), m.0))).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn compaction_waits_until_the_heap_has_doubled() {
        let mut s = Scheduler::new();
        // Below the floor nothing is dropped.
        for i in 0..(COMPACT_FLOOR as u32 - 1) {
            s.at(10, 0, M(i));
        }
        assert_eq!(s.compact(|_, _| false), 0);
        assert_eq!(s.pending(), COMPACT_FLOOR - 1);
        // At the floor everything unwanted goes.
        s.at(10, 0, M(0));
        assert_eq!(s.compact(|_, m| m.0 < 10), COMPACT_FLOOR - 11);
        assert_eq!(s.pending(), 11);
        // 100,000 wanted events: the next rebuild waits for 200,000.
        for i in 0..100_000 {
            s.at(20, 0, M(i));
        }
        assert_eq!(s.compact(|_, _| true), 0);
        for i in 0..99_000 {
            s.at(30, 0, M(i));
        }
        assert_eq!(s.compact(|_, _| false), 0, "199,011 < 2 × 100,011");
        for i in 0..1_010 {
            s.at(30, 0, M(i));
        }
        assert_eq!(s.compact(|_, _| false), 0, "200,021 < 200,022");
        s.at(30, 0, M(0));
        assert_eq!(s.compact(|_, _| false), 200_022);
        assert_eq!(s.pending(), 0);
        // Memory stays reserved: the high-water mark.
        assert!(s.reserved() >= 200_022);
        // After the heap shrinks, the next rebuild comes when it has
        // doubled from the smallest length a call saw.
        for i in 0..300_000u32 {
            s.at(100 + u64::from(i), 0, M(0));
        }
        assert_eq!(s.compact(|_, _| true), 0);
        for _ in 0..250_000 {
            s.next(u64::MAX);
        }
        assert_eq!(s.compact(|_, _| true), 0, "50,000 left");
        for _ in 0..50_000 {
            s.at(1_000_000, 0, M(1));
        }
        assert_eq!(s.compact(|_, m| m.0 == 0), 50_000);
        assert_eq!(s.pending(), 50_000);
    }

    #[test]
    fn fingerprint_depends_on_trajectory() {
        let run = |times: &[u64]| {
            let mut s = Scheduler::new();
            for (i, t) in times.iter().enumerate() {
                s.at(*t, 0, M(i as u32));
            }
            while s.next(u64::MAX).is_some() {}
            s.fingerprint()
        };
        assert_eq!(run(&[1, 2, 3]), run(&[1, 2, 3]));
        assert_ne!(run(&[1, 2, 3]), run(&[1, 2, 4]));
    }
}

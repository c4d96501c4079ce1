//! The future-event set.
//!
//! Events are ordered by time, then by the order in which they were
//! scheduled, so simultaneous events run in the order they were created and
//! never in an order that depends on memory addresses or hashing.
//!
//! Events due "now" (zero delay, e.g. a hop with no network latency) go to a
//! FIFO: every event already waiting for the current instant was scheduled
//! earlier, which is why the loop drains those before the FIFO. The
//! resulting order is exactly (time, scheduling order).
//!
//! Later events go to a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan,
//! "Faster algorithms for the shortest path problem", J. ACM 37(2), 1990),
//! which relies on what a simulation clock guarantees: time never goes
//! back, so every event scheduled is at or after the last one taken out.
//! Bucket 0 holds the events at exactly the current instant; bucket
//! b ≥ 1 holds those whose time first differs from the current instant in
//! bit b − 1, that is, `64 − leading_zeros(time ^ now)`. Scheduling is an
//! append to one bucket. Taking the next event, when bucket 0 is empty,
//! finds the lowest non-empty bucket (one bit-mask instruction), advances
//! the clock to its earliest time and spreads that bucket over the buckets
//! below it; every event moves at most 64 times in all, and in practice a
//! few. Buckets are plain vectors read and written front to back, so the
//! memory traffic is sequential, where a binary heap's sift walks a tree
//! spread over the whole array: with 10^4–10^5 events pending that is the
//! difference between cache hits and misses.
//!
//! Ties need no sequence number. Every bucket lists its events in the order
//! they were scheduled: an append is later than everything already there,
//! and a bucket is only filled by spreading when it is empty (all buckets
//! below the lowest non-empty one are), from a bucket that is itself in
//! order. So the events that land in bucket 0 at the same instant come out
//! in scheduling order, exactly as the binary heap keyed by (time, sequence)
//! that this replaced ordered them; the unit test below checks the two
//! against each other on random schedules.

use std::collections::VecDeque;

use super::SimTime;

/// A message the scheduler can carry: small, `Copy`, and able to describe
/// itself as a number for the trajectory fingerprint.
pub trait Message: Copy {
    /// A number identifying the message's kind and payload, folded into the
    /// run's fingerprint.
    fn code(&self) -> u64;

    /// The slot of the record this message will touch when it is handled,
    /// if any: the scheduler lists it in [`Scheduler::ahead`] when the
    /// event nears, so the caller can prefetch it.
    #[inline(always)]
    fn slot(&self) -> Option<u32> {
        None
    }
}

#[derive(Clone, Copy)]
struct Entry<M> {
    time: SimTime,
    target: u32,
    msg: M,
}

/// Bits per digit of the radix heap: 64 buckets per level.
const DIGIT_BITS: u32 = 6;
/// Buckets per level.
const DIGITS: usize = 1 << DIGIT_BITS;
/// Levels: 11 digits of 6 bits cover a 64-bit time.
const LEVELS: usize = 11;

/// The bucket of an event at `time`, seen from the instant `now < time`:
/// the highest 6-bit digit in which the two differ (the level) and the
/// event's value of that digit.
#[inline(always)]
fn slot(time: SimTime, now: SimTime) -> usize {
    let level = (63 - (time ^ now).leading_zeros()) / DIGIT_BITS;
    let digit = (time >> (level * DIGIT_BITS)) as usize & (DIGITS - 1);
    level as usize * DIGITS + digit
}

/// The future-event set and the clock.
pub struct Scheduler<M> {
    now: SimTime,
    /// The events at the current instant, in scheduling order, read front
    /// to back from `head`.
    current: Vec<Entry<M>>,
    head: usize,
    /// The radix heap's buckets, `LEVELS × DIGITS`: see the module
    /// documentation.
    buckets: Vec<Vec<Entry<M>>>,
    /// Allocations of emptied buckets of more than [`SMALL`] slots, by
    /// size class (⌊log2 capacity⌋), most recently emptied last. A bucket
    /// that outgrows its allocation takes one of the next class if there
    /// is one, so the memory in use follows the events pending, not every
    /// bucket's high-water mark (a bucket's events move on to lower levels
    /// as the clock nears them, leaving it empty for a while), and what is
    /// reused is still in the cache.
    spare: Vec<Vec<Vec<Entry<M>>>>,
    /// Bit l set when level l has an event.
    levels: u16,
    /// Bit d of `digits[l]` set when bucket (l, d) has an event.
    digits: [u64; LEVELS],
    /// Events in `current` (from `head`) and the buckets.
    len: usize,
    due_now: VecDeque<(u32, M)>,
    processed: u64,
    fingerprint: u64,
    /// Length at which [`Scheduler::compact`] next passes over the events.
    compact_at: usize,
    /// Slots ([`Message::slot`]) of events that have just come near: see
    /// [`Scheduler::ahead`].
    ahead: Vec<u32>,
    /// Bit d of `warm[l]` set when bucket (l, d) was filled by a spread
    /// whose events went to `ahead`: they are not listed again.
    warm: [u64; LEVELS],
}

/// Buckets keep an allocation of up to this many events when they empty;
/// larger ones go to the spare pool.
const SMALL: usize = 16;

/// The events of a bucket being spread are listed in [`Scheduler::ahead`]
/// (once each) when it holds at most this many: far enough ahead for their
/// records to arrive before they are handled, near enough for what is
/// fetched (about half a megabyte for 1,024 requests' records) to stay in
/// the cache until then…
const AHEAD_MAX: usize = 1024;
/// …and its level is at least this (a bucket spans 4 µs at level 2;
/// below, the events are due too soon for a prefetch to help).
const AHEAD_LEVEL: usize = 2;

/// The size class of an allocation of `capacity` slots: ⌊log2 capacity⌋.
#[inline]
fn class(capacity: usize) -> usize {
    (usize::BITS - 1 - capacity.max(1).leading_zeros()) as usize
}

/// The radix heap is never compacted below this many entries: a pass then
/// costs less than the 65,536 events between two checks, and the memory it
/// could win back (a few megabytes) is not worth it.
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
            current: Vec::new(),
            head: 0,
            buckets: (0..LEVELS * DIGITS).map(|_| Vec::new()).collect(),
            spare: (0..usize::BITS).map(|_| Vec::new()).collect(),
            levels: 0,
            digits: [0; LEVELS],
            len: 0,
            due_now: VecDeque::with_capacity(1024),
            processed: 0,
            fingerprint: 0xcbf2_9ce4_8422_2325,
            compact_at: COMPACT_FLOOR,
            ahead: Vec::new(),
            warm: [0; LEVELS],
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

    /// Events waiting (radix heap and due-now queue).
    pub fn pending(&self) -> usize {
        self.len + self.due_now.len()
    }

    /// Event slots allocated in the buckets and the due-now queue: the
    /// future-event set's memory, in events. A bucket keeps its allocation
    /// for reuse, but [`Scheduler::compact`] gives back what is far beyond
    /// its need, so this follows the most events pending at once.
    pub fn reserved(&self) -> usize {
        self.buckets.iter().map(Vec::capacity).sum::<usize>()
            + self.spare.iter().flatten().map(Vec::capacity).sum::<usize>()
            + self.current.capacity()
            + self.due_now.capacity()
    }

    /// Drop the future events for which `keep(target, msg)` is false (timers
    /// whose request has finished), but only once the radix heap has
    /// doubled since the smallest length seen by an earlier call (or since
    /// the last pass), and never below [`COMPACT_FLOOR`]. Returns the number
    /// of events dropped.
    ///
    /// Meant to be called now and then (the run loop calls it every 65,536
    /// events). A pass costs O(n) for n pending events, and at least n/2
    /// events were scheduled since the length it is compared with was seen,
    /// so the cost is amortised O(1) per scheduled event; between passes
    /// the heap holds at most twice what was alive at the last one, plus
    /// what was scheduled since the last call. The remaining events keep
    /// their time and their order within their bucket, so they are
    /// dispatched in exactly the order they would have been; only events
    /// already due now (in the FIFO) are never dropped.
    pub fn compact(&mut self, mut keep: impl FnMut(u32, &M) -> bool) -> usize {
        let len = self.len;
        if len < self.compact_at {
            self.compact_at = self.compact_at.min(len.saturating_mul(2).max(COMPACT_FLOOR));
            return 0;
        }
        let head = std::mem::take(&mut self.head);
        self.current.drain(..head);
        let mut thin = |v: &mut Vec<Entry<M>>| {
            v.retain(|e| keep(e.target, &e.msg));
            // A bucket that once held a burst gives the memory back.
            if v.capacity() > 4 * v.len() + 1024 {
                v.shrink_to(2 * v.len());
            }
            v.len()
        };
        let mut kept = thin(&mut self.current);
        self.spare.iter_mut().for_each(Vec::clear);
        self.levels = 0;
        self.digits = [0; LEVELS];
        for (i, v) in self.buckets.iter_mut().enumerate() {
            let n = thin(v);
            if n > 0 {
                self.levels |= 1 << (i / DIGITS);
                self.digits[i / DIGITS] |= 1 << (i % DIGITS);
            }
            kept += n;
        }
        self.len = kept;
        self.compact_at = kept.saturating_mul(2).max(COMPACT_FLOOR);
        len - kept
    }

    /// Schedule `msg` for `target` at absolute time `at` (clamped to now).
    #[inline(always)]
    pub fn at(&mut self, at: SimTime, target: u32, msg: M) {
        if at <= self.now {
            self.due_now.push_back((target, msg));
        } else {
            self.push(Entry {
                time: at,
                target,
                msg,
            });
            self.len += 1;
        }
    }

    /// File a future event in its bucket.
    #[inline(always)]
    fn push(&mut self, e: Entry<M>) -> usize {
        let i = slot(e.time, self.now);
        if self.buckets[i].len() == self.buckets[i].capacity() {
            self.grow(i);
        }
        let b = &mut self.buckets[i];
        b.push(e);
        // A long bucket (many events pending): fetch the line the next
        // appends will write, so that they do not each wait for one.
        if b.len() >= 8 {
            crate::engine::prefetch_bytes(b.as_ptr().wrapping_add(b.len() + 4).cast(), 1);
        }
        self.levels |= 1 << (i / DIGITS);
        self.digits[i / DIGITS] |= 1 << (i % DIGITS);
        i
    }

    /// Slots of the records of events that have just come near the clock
    /// (a few hundred events ahead at most), for the caller to prefetch and
    /// clear. Nothing here changes the order of events.
    #[inline(always)]
    pub fn ahead(&mut self) -> &mut Vec<u32> {
        &mut self.ahead
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

    /// The next event scheduled for the current instant, if any.
    #[inline(always)]
    fn take_current(&mut self) -> Option<(u32, M)> {
        let e = *self.current.get(self.head)?;
        self.head += 1;
        if self.head == self.current.len() {
            self.current.clear();
            self.head = 0;
        }
        self.len -= 1;
        Some((e.target, e.msg))
    }

    /// Advance the clock to the earliest pending event, if it is not later
    /// than `end`, and take the first event of that instant; the others of
    /// the instant, if any, go to `current`. `current` and the due-now
    /// queue must be empty.
    #[inline(always)]
    fn advance(&mut self, end: SimTime) -> Option<(u32, M)> {
        if self.levels == 0 {
            return None;
        }
        let level = self.levels.trailing_zeros() as usize;
        let digit = self.digits[level].trailing_zeros() as usize;
        let i = level * DIGITS + digit;
        let bucket = &mut self.buckets[i];
        if bucket.len() == 1 {
            // The common case when few events are pending: one event, due next.
            let e = bucket[0];
            if e.time > end {
                return None;
            }
            bucket.clear();
            if bucket.capacity() > SMALL {
                let v = std::mem::take(bucket);
                self.retire(v);
            }
            self.now = e.time;
            self.len -= 1;
            self.warm[level] &= !(1 << digit);
            self.digits[level] &= !(1 << digit);
            if self.digits[level] == 0 {
                self.levels &= !(1 << level);
            }
            return Some((e.target, e.msg));
        }
        if !self.spread(level, digit, end) {
            return None;
        }
        self.take_current()
    }

    /// [`Scheduler::advance`] for a bucket of several events: advance the
    /// clock to its earliest, if not later than `end`, and spread it.
    #[inline(never)]
    fn spread(&mut self, level: usize, digit: usize, end: SimTime) -> bool {
        let i = level * DIGITS + digit;
        let mut from = std::mem::take(&mut self.buckets[i]);
        // At level 0 the bucket is one instant; above, find its earliest.
        let min = if level == 0 {
            from[0].time
        } else {
            from.iter().map(|e| e.time).min().unwrap_or(SimTime::MAX)
        };
        if min > end {
            self.buckets[i] = from;
            return false;
        }
        self.now = min;
        self.digits[level] &= !(1 << digit);
        if self.digits[level] == 0 {
            self.levels &= !(1 << level);
        }
        if level == 0 {
            // Swap it in whole: the emptied `current` takes its place.
            std::mem::swap(&mut self.current, &mut from);
        } else {
            // The bucket's events share every digit above `level` and the
            // digit at `level` with the new instant, so each lands at the
            // instant or in a bucket of a lower level: all of them empty,
            // filled in the order the events were here.
            let bit = 1u64 << digit;
            let listed = self.warm[level] & bit != 0;
            self.warm[level] &= !bit;
            let list = !listed && level >= AHEAD_LEVEL && from.len() <= AHEAD_MAX;
            if list {
                self.ahead.extend(from.iter().filter_map(|e| e.msg.slot()));
            }
            for e in from.drain(..) {
                if e.time == min {
                    self.current.push(e);
                } else {
                    let to = self.push(e);
                    if list {
                        self.warm[to / DIGITS] |= 1 << (to % DIGITS);
                    }
                }
            }
        }
        if from.capacity() > SMALL {
            self.retire(from);
        } else {
            self.buckets[i] = from;
        }
        true
    }

    /// Bucket `i` is full: move its events to a spare allocation of twice
    /// its size if there is one (else `push` grows it as usual).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, i: usize) {
        let want = (2 * self.buckets[i].capacity()).max(SMALL + 1);
        let Some(mut v) = self.spare[class(want)].pop() else {
            return;
        };
        v.extend_from_slice(&self.buckets[i]);
        let mut old = std::mem::replace(&mut self.buckets[i], v);
        if old.capacity() > SMALL {
            old.clear();
            self.retire(old);
        }
    }

    /// Keep an emptied allocation for a bucket that will need its size.
    #[inline]
    fn retire(&mut self, v: Vec<Entry<M>>) {
        debug_assert!(v.is_empty());
        self.spare[class(v.capacity())].push(v);
    }

    /// The next event not later than `end`, advancing the clock to it.
    /// `None` when nothing is left before `end` (the clock then stays put).
    #[inline(always)]
    pub fn next(&mut self, end: SimTime) -> Option<(u32, M)> {
        let (target, msg) = match self.take_current() {
            Some(ev) => ev,
            None => match self.due_now.pop_front() {
                Some(ev) => ev,
                None => self.advance(end)?,
            },
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
        fn slot(&self) -> Option<u32> {
            Some(self.0)
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
        // A bucket far larger than its need gives the memory back.
        assert!(s.reserved() < 4096, "{} slots", s.reserved());
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

    /// The reference: a binary heap keyed by (time, sequence), as the
    /// scheduler was before the radix heap, with the same due-now rule.
    struct Reference {
        now: u64,
        seq: u64,
        heap: std::collections::BinaryHeap<std::cmp::Reverse<(u64, u64, u32)>>,
        due_now: VecDeque<u32>,
    }

    impl Reference {
        fn at(&mut self, at: u64, m: u32) {
            if at <= self.now {
                self.due_now.push_back(m);
            } else {
                self.seq += 1;
                self.heap.push(std::cmp::Reverse((at, self.seq, m)));
            }
        }
        fn compact(&mut self, keep: impl Fn(u32) -> bool) -> usize {
            let len = self.heap.len();
            self.heap.retain(|e| keep(e.0.2));
            len - self.heap.len()
        }
        fn next(&mut self, end: u64) -> Option<u32> {
            match self.heap.peek() {
                Some(std::cmp::Reverse((t, _, _))) if *t <= self.now => self.heap.pop().map(|r| r.0.2),
                _ => match self.due_now.pop_front() {
                    Some(m) => Some(m),
                    None => {
                        let std::cmp::Reverse((t, _, _)) = *self.heap.peek()?;
                        if t > end {
                            return None;
                        }
                        self.now = t;
                        self.heap.pop().map(|r| r.0.2)
                    }
                },
            }
        }
    }

    /// Marsaglia's xorshift64: the random schedules of the tests below.
    fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    #[test]
    fn pops_in_the_order_of_a_binary_heap_keyed_by_time_and_sequence() {
        // Random schedules: events scheduled while others are dispatched,
        // at the current instant, a few nanoseconds on (many ties), up to
        // the far future (near u64::MAX), with stretches where the loop
        // stops at an `end` and resumes, and with compaction dropping a
        // random class of events (cancelled timers) on the way, from both.
        // Every pop must match the reference's, and so must the clock.
        let mut rnd = xorshift(0x2545_f491_4f6c_dd1d);
        let mut compactions = 0;
        for round in 0..12u32 {
            let mut s = Scheduler::new();
            let mut r = Reference {
                now: 0,
                seq: 0,
                heap: Default::default(),
                due_now: VecDeque::new(),
            };
            let mut id = 0u32;
            let spread = [4u64, 1_000, 1 << 20, 1 << 40][round as usize % 4];
            for step in 0..120_000u32 {
                let kind = rnd() % 100;
                let n = 1 + rnd() % 3;
                for _ in 0..n {
                    let now = s.now();
                    let at = match rnd() % 10 {
                        0 => now,
                        1 => now.saturating_add(rnd() % 3),
                        2 => u64::MAX - rnd() % 5,
                        3 => now.saturating_add(1 << (rnd() % 60)),
                        _ => now.saturating_add(rnd() % spread),
                    };
                    id += 1;
                    if kind < 3 {
                        s.now_msg(0, M(id));
                        r.due_now.push_back(id);
                    } else {
                        s.at(at, 0, M(id));
                        r.at(at, id);
                    }
                }
                // Pop a few, sometimes stopping at an end before the next event.
                let end = if rnd().is_multiple_of(50) {
                    s.now().saturating_add(rnd() % spread)
                } else {
                    u64::MAX
                };
                for _ in 0..(rnd() % 3) {
                    let got = s.next(end).map(|(_, m)| m.0);
                    let want = r.next(end);
                    assert_eq!(got, want, "round {round} step {step}");
                    assert_eq!(s.now(), r.now, "round {round} step {step}");
                    if got.is_none() {
                        break;
                    }
                }
                if step % 5_000 == 4_999 {
                    // Cancel the events whose id is divisible by 7, once
                    // the scheduler is big enough to compact.
                    let dropped = s.compact(|_, m| m.0 % 7 != 0);
                    if dropped > 0 {
                        compactions += 1;
                        assert_eq!(dropped, r.compact(|m| m % 7 != 0));
                    }
                }
            }
            // Drain both to the end.
            loop {
                let got = s.next(u64::MAX).map(|(_, m)| m.0);
                let want = r.next(u64::MAX);
                assert_eq!(got, want, "round {round} drain");
                if got.is_none() {
                    break;
                }
                assert_eq!(s.now(), r.now);
            }
        }
        assert!(compactions >= 12, "{compactions} compactions");
    }

    #[test]
    fn lists_events_ahead_once_each_and_before_they_are_due() {
        // 2·10^4 events pending, as with 200k req/s and 100 ms of network
        // latency: each pop schedules one event about 100 ms on and, half
        // the time, one up to 100 µs on (a service's completion).
        let mut rnd = xorshift(0x9e37_79b9_7f4a_7c15);
        let mut s = Scheduler::new();
        let (mut id, mut far) = (0u32, Vec::new());
        let mut listed = std::collections::BTreeSet::new();
        let mut popped = std::collections::BTreeSet::new();
        for _ in 0..20_000 {
            id += 1;
            s.at(rnd() % 100_000_000, 0, M(id));
            far.push(id);
        }
        for _ in 0..200_000 {
            let (_, M(got)) = s.next(u64::MAX).expect("events pending");
            for &slot in s.ahead().iter() {
                assert!(listed.insert(slot), "event {slot} listed twice");
                assert!(!popped.contains(&slot), "event {slot} listed after it was due");
            }
            s.ahead().clear();
            popped.insert(got);
            id += 1;
            s.after(100_000_000 + rnd() % 10_000, 0, M(id));
            far.push(id);
            if rnd().is_multiple_of(2) {
                id += 1;
                s.after(1_000 + rnd() % 100_000, 0, M(id));
            }
        }
        // Nearly every far event handled was listed before it came due.
        let due: Vec<u32> = far.into_iter().filter(|i| popped.contains(i)).collect();
        let early = due.iter().filter(|i| listed.contains(i)).count();
        assert!(due.len() > 90_000, "{} far events handled", due.len());
        assert!(
            early as f64 > 0.95 * due.len() as f64,
            "{early} of {} listed",
            due.len()
        );
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

//! The request arena.
//!
//! Every hop of a request (client → balancer, balancer → replica, a service's
//! downstream call) is one record here, addressed by a [`ReqRef`]: an index
//! plus a generation. Slots are reused through a free list, so the steady
//! state allocates nothing; the generation makes a stale reference (a timer
//! that fires after its request finished, a late answer to a caller that gave
//! up) detectable instead of silently pointing at a newer request.
//!
//! Ownership rule: the component named in `reply_to` frees the record when
//! the answer reaches it. A callee never frees what it was sent.
use crate::engine::prefetch;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Read or write: the operation a request performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// A read.
    Read,
    /// A write.
    Write,
}

/// A generation-checked reference to a request record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReqRef {
    /// Slot index.
    pub idx: u32,
    /// Generation of the slot when the reference was made.
    pub generation: u32,
}

impl ReqRef {
    /// A reference that never matches a live record.
    pub const NONE: ReqRef = ReqRef {
        idx: u32::MAX,
        generation: 0,
    };

    /// A compact number for fingerprints.
    #[inline]
    pub fn code(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.idx)
    }
}

/// How a hop ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Served.
    Ok,
    /// Refused at once (queue full, concurrency limit).
    Rejected,
    /// Failed (a downstream call failed or timed out).
    Failed,
    /// A `cache_aside` cache does not hold the key: the caller loads it.
    Miss,
}

/// No replica chosen yet: the service picks.
pub const ANY_REPLICA: u32 = u32::MAX;

/// One hop of a request.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// Generation; bumped when the slot is freed.
    pub generation: u32,
    /// Who receives the answer (component id).
    pub reply_to: u32,
    /// The caller's own context (closed-loop user, balancer replica, …).
    pub tag: u32,
    /// The hop this one serves (a service's request for its downstream call).
    pub parent: ReqRef,
    /// The client that issued the top-level request.
    pub client: u32,
    /// Read or write.
    pub op: Op,
    /// The caller stopped waiting: drop the answer when it comes.
    pub abandoned: bool,
    /// Key accessed.
    pub key: u64,
    /// Issuing user.
    pub identity: u64,
    /// When the top-level request was issued.
    pub born: u64,
    /// When this hop was sent (a balancer times its backend from here).
    pub sent: u64,
    /// When this hop arrived where it is now being served.
    pub arrived: u64,
    /// Replica serving this hop, or [`ANY_REPLICA`].
    pub replica: u32,
    /// Owner's progress through its call plan.
    pub step: u16,
    /// Downstream calls not yet answered.
    pub pending: u16,
    /// Data version: a read's answer carries the version it saw, a write's
    /// the version it created.
    pub version: u32,
    /// The newest committed version of the key when a read reached the
    /// store (a read answering with less is stale).
    pub seen: u32,
    /// The component this hop was sent to (set by services on their calls).
    pub target: u32,
    /// Position in the serving replica's list of the requests it holds
    /// (so a crash can fail them all at once).
    pub pos: u32,
    /// The logical request this hop belongs to: one number per client
    /// request, shared by all its hops and retries (an idempotency key).
    pub origin: u64,
    /// Service time this hop has been given (for wasted-work accounting).
    pub work: u64,
    /// Attempt number of this hop (1 = first) for guarded calls; on a
    /// client's logical record, attempts made so far.
    pub attempt: u16,
    /// Guarded call edge of the caller this hop was sent on (index + 1; 0 = none).
    pub edge: u16,
    /// [`RETRYABLE`] and [`IDEMPOTENT`] bits, inherited by downstream hops.
    pub flags: u8,
    /// Messages this hop carries (a queue's batch); 0 or 1 for one.
    pub items: u16,
    /// The client connection this hop travels on: 0 for none, else its
    /// slot + 1 in the low 24 bits and its reconnection count (mod 256) in
    /// the top 8 (see [`conn_code`]). Set by a client with `connections`
    /// on its own hops only.
    pub conn: u32,
}

/// A connection's code on [`Request::conn`]: slot + 1 below bit 24, the
/// low 8 bits of its reconnection count above.
#[inline]
pub fn conn_code(slot: u32, epoch: u32) -> u32 {
    ((epoch & 0xff) << 24) | ((slot + 1) & 0x00ff_ffff)
}

/// Flag: some caller on this request's path may send it again.
pub const RETRYABLE: u8 = 1;
/// Flag: the request carries an idempotency key: a write is applied once.
pub const IDEMPOTENT: u8 = 2;
/// Flag: the network dropped this hop or its answer: no answer will come,
/// so the caller frees the record when its timeout fires.
pub const LOST: u8 = 4;
/// Flag: an `optional` call of this request failed and it went on without
/// it (a service's own mark, not inherited downstream).
pub const DEGRADED: u8 = 8;
/// Flag: a stateful service found no session of the user on this replica;
/// this request logs in (a service's own mark, not inherited downstream).
pub const LOGIN: u8 = 16;

impl Request {
    /// A new hop sent at `sent` on behalf of the hop `parent`, answered to
    /// `reply_to`: it carries the client, operation, key, user and birth
    /// time of record `of` (normally `parent`'s own) and is otherwise
    /// blank. Callers set what else the hop needs (its target, its
    /// origin and flags, a tag) with struct update syntax.
    #[inline]
    pub fn child_of(parent: ReqRef, of: &Request, reply_to: u32, sent: u64) -> Request {
        Request {
            reply_to,
            parent,
            client: of.client,
            op: of.op,
            key: of.key,
            identity: of.identity,
            born: of.born,
            sent,
            ..Request::BLANK
        }
    }

    const BLANK: Request = Request {
        generation: 0,
        reply_to: 0,
        tag: 0,
        parent: ReqRef::NONE,
        client: 0,
        op: Op::Read,
        abandoned: false,
        key: 0,
        identity: 0,
        born: 0,
        sent: 0,
        arrived: 0,
        replica: ANY_REPLICA,
        step: 0,
        pending: 0,
        version: 0,
        seen: 0,
        target: 0,
        pos: 0,
        origin: 0,
        work: 0,
        attempt: 0,
        edge: 0,
        flags: 0,
        items: 0,
        conn: 0,
    };
}

/// The arena.
pub struct Arena {
    slots: Vec<Request>,
    free: Vec<u32>,
    live: usize,
    /// Each slot's path record (see [`super::path`]), reset on reuse.
    pub(super) trails: Vec<super::path::Trail>,
    /// A cache-aside miss's path, set aside for the load that follows it.
    pub(super) carry: Vec<super::path::Seg>,
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

impl Arena {
    /// Ask the processor to bring the records (and path records) of the
    /// slots in `slots` into its cache, and empty `slots`: events about to
    /// be handled, listed by [`crate::engine::Scheduler::ahead`]. With many
    /// requests in flight their records no longer fit in the nearest
    /// caches, and each event would otherwise wait for its record to come
    /// from memory. Only a hint: nothing is read or changed.
    ///
    /// Three passes, each reading what the one before fetched (by then on
    /// its way, so the misses overlap): the records and path records; the
    /// caller's record and path record, and the path's segments; the
    /// caller's path segments (which an answer extends).
    #[inline(never)]
    pub fn prefetch(&self, slots: &mut Vec<u32>) {
        let (records, trails) = (&self.slots, &self.trails);
        let both = |i: usize| records.get(i).zip(trails.get(i));
        for &s in slots.iter() {
            if let Some((r, t)) = both(s as usize) {
                prefetch(r);
                prefetch(t);
            }
        }
        for &s in slots.iter() {
            if let Some((r, t)) = both(s as usize) {
                if let Some((pr, pt)) = both(r.parent.idx as usize) {
                    prefetch(pr);
                    prefetch(pt);
                }
                t.prefetch_segs();
            }
        }
        for &s in slots.iter() {
            if let Some((_, pt)) = records.get(s as usize).and_then(|r| both(r.parent.idx as usize)) {
                pt.prefetch_segs();
            }
        }
        slots.clear();
    }

    /// An empty arena.
    pub fn new() -> Self {
        Arena {
            slots: Vec::with_capacity(1024),
            free: Vec::with_capacity(1024),
            live: 0,
            trails: Vec::with_capacity(1024),
            carry: Vec::new(),
        }
    }

    /// Records in use.
    #[inline]
    pub fn live(&self) -> usize {
        self.live
    }

    /// Slots ever allocated (the arena's high-water mark).
    pub fn capacity_used(&self) -> usize {
        self.slots.len()
    }

    /// A new record, copied from `init` except for its generation.
    #[inline(always)]
    pub fn alloc(&mut self, init: Request) -> ReqRef {
        self.live += 1;
        if let Some(idx) = self.free.pop() {
            let slot = &mut self.slots[idx as usize];
            let generation = slot.generation;
            *slot = Request { generation, ..init };
            self.trails[idx as usize].reset(generation);
            ReqRef { idx, generation }
        } else {
            let idx = self.slots.len() as u32;
            self.slots.push(Request {
                generation: 0,
                ..init
            });
            self.trails.push(super::path::Trail::new(0));
            ReqRef { idx, generation: 0 }
        }
    }

    /// A blank template for [`Arena::alloc`].
    #[inline]
    pub fn blank() -> Request {
        Request::BLANK
    }

    /// The record, if the reference is still current.
    #[inline]
    pub fn get(&self, r: ReqRef) -> Option<&Request> {
        self.slots
            .get(r.idx as usize)
            .filter(|s| s.generation == r.generation)
    }

    /// The record, mutably, if the reference is still current.
    #[inline]
    pub fn get_mut(&mut self, r: ReqRef) -> Option<&mut Request> {
        self.slots
            .get_mut(r.idx as usize)
            .filter(|s| s.generation == r.generation)
    }

    /// Free the record; later uses of `r` see `None`.
    #[inline(always)]
    pub fn free(&mut self, r: ReqRef) {
        if let Some(s) = self.get_mut(r) {
            s.generation = s.generation.wrapping_add(1);
            let generation = s.generation;
            self.free.push(r.idx);
            self.live -= 1;
            // Its path record goes stale with it.
            if let Some(t) = self.trails.get_mut(r.idx as usize) {
                t.retire(generation);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_slots_and_detects_stale_refs() {
        let mut a = Arena::new();
        let r1 = a.alloc(Arena::blank());
        a.free(r1);
        let r2 = a.alloc(Request {
            key: 9,
            ..Arena::blank()
        });
        assert_eq!(r1.idx, r2.idx);
        assert!(a.get(r1).is_none());
        assert_eq!(a.get(r2).unwrap().key, 9);
        assert_eq!(a.live(), 1);
        a.free(r1); // stale: no effect
        assert_eq!(a.live(), 1);
        assert_eq!(a.capacity_used(), 1);
    }

    #[test]
    fn child_of_carries_the_request_and_nothing_else() {
        let parent = ReqRef {
            idx: 4,
            generation: 2,
        };
        let of = Request {
            reply_to: 1,
            tag: 2,
            client: 3,
            op: Op::Write,
            key: 5,
            identity: 6,
            born: 7,
            sent: 8,
            arrived: 9,
            replica: 10,
            step: 11,
            version: 12,
            origin: 13,
            flags: RETRYABLE,
            attempt: 3,
            ..Arena::blank()
        };
        let c = Request::child_of(parent, &of, 42, 100);
        assert_eq!((c.reply_to, c.parent, c.sent), (42, parent, 100));
        assert_eq!(
            (c.client, c.op, c.key, c.identity, c.born),
            (3, Op::Write, 5, 6, 7)
        );
        assert_eq!(
            (c.tag, c.arrived, c.step, c.version, c.origin, c.flags, c.attempt),
            (0, 0, 0, 0, 0, 0, 0)
        );
        assert_eq!(c.replica, ANY_REPLICA);
    }
}

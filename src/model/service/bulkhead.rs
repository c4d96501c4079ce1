//! Bulkheads: a per-replica limit on the calls in flight on one call edge.
//!
//! The semaphore bulkhead of Nygard's "Release It!" (the Hystrix and
//! Resilience4j `Bulkhead`): each replica of the calling service may have
//! at most `max_concurrent` calls outstanding on the edge; a call beyond it
//! fails at once without being sent, so a slow dependency can hold at most
//! that many of the caller's request slots instead of all of them.
//!
//! A slot is taken when an attempt is sent and given back exactly once: on
//! its answer, or on its timeout (the late answer of a timed-out attempt
//! gives nothing back), each retry attempt taking its own. A replica that
//! crashes or is restarted loses its semaphores with its process: its
//! counters start again from zero, and answers to calls it sent before
//! (an older epoch) give nothing back.
//!
//! Bookkeeping is flat: counters indexed `edge × pool + replica`, and the
//! holder of each outstanding call indexed by the call's arena slot (the
//! table grows with the arena, so nothing is allocated per event once warm).

use crate::model::Metrics;
use crate::model::request::ReqRef;

/// Who holds a slot: the call's arena generation, the calling replica and
/// its epoch, the guarded edge (index + 1; 0 = no slot held).
#[derive(Clone, Copy, Debug, Default)]
struct Holder {
    generation: u32,
    replica: u32,
    epoch: u32,
    edge: u16,
}

/// Bulkhead state of one service.
#[derive(Debug, Default)]
pub(super) struct Bulkheads {
    /// Limit per guarded edge (0: no bulkhead).
    limit: Vec<u32>,
    /// Target name per guarded edge.
    names: Vec<String>,
    pool: usize,
    /// Calls in flight, `edge × pool + replica`.
    in_flight: Vec<u32>,
    /// Per replica: bumped when the replica loses its process.
    epoch: Vec<u32>,
    /// By arena slot of the call.
    holders: Vec<Holder>,
    /// Per guarded edge, since warm-up.
    pub(super) rejected: Vec<u64>,
    pub(super) max_in_flight: Vec<u32>,
}

impl Bulkheads {
    /// `edges`: per guarded edge, its limit (0 for none) and target's
    /// name; `pool`: replica slots.
    pub(super) fn new(edges: Vec<(u32, String)>, pool: usize) -> Bulkheads {
        if edges.iter().all(|e| e.0 == 0) {
            return Bulkheads::default();
        }
        let n = edges.len();
        let (limits, names) = edges.into_iter().unzip();
        Bulkheads {
            in_flight: vec![0; n * pool],
            epoch: vec![0; pool],
            rejected: vec![0; n],
            max_in_flight: vec![0; n],
            limit: limits,
            names,
            pool,
            holders: Vec::new(),
        }
    }

    /// Limit of guarded edge `edge` (1-based; 0: none).
    pub(super) fn limit(&self, edge: u16) -> u32 {
        self.limit.get(edge as usize - 1).copied().unwrap_or(0)
    }

    /// Whether a call on `edge` from `replica` must be rejected now (the
    /// bulkhead is full); counts the rejection.
    pub(super) fn full(&mut self, edge: u16, replica: u32, counted: bool) -> bool {
        let limit = self.limit(edge);
        if limit == 0 || replica as usize >= self.pool {
            return false;
        }
        let e = edge as usize - 1;
        if self.in_flight[e * self.pool + replica as usize] < limit {
            return false;
        }
        self.rejected[e] += u64::from(counted);
        true
    }

    /// Call `child` on `edge` from `replica` was sent: it takes a slot.
    pub(super) fn hold(&mut self, edge: u16, replica: u32, child: ReqRef, counted: bool) {
        if self.limit(edge) == 0 || replica as usize >= self.pool {
            return;
        }
        let e = edge as usize - 1;
        let n = &mut self.in_flight[e * self.pool + replica as usize];
        *n += 1;
        if counted {
            self.max_in_flight[e] = self.max_in_flight[e].max(*n);
        }
        let i = child.idx as usize;
        if i >= self.holders.len() {
            self.holders.resize(i + 1, Holder::default());
        }
        self.holders[i] = Holder {
            generation: child.generation,
            replica,
            epoch: self.epoch[replica as usize],
            edge,
        };
    }

    /// Call `child` answered or timed out: give its slot back (once).
    pub(super) fn release(&mut self, child: ReqRef) {
        let Some(h) = self.holders.get_mut(child.idx as usize) else {
            return;
        };
        if h.edge == 0 || h.generation != child.generation {
            return;
        }
        let h = std::mem::take(h);
        let r = h.replica as usize;
        if h.epoch == self.epoch[r] {
            let n = &mut self.in_flight[(h.edge as usize - 1) * self.pool + r];
            *n = n.saturating_sub(1);
        }
    }

    /// Warm-up is over: count from now on.
    pub(super) fn reset_counts(&mut self) {
        self.rejected.fill(0);
        self.max_in_flight.fill(0);
    }

    /// Replica `replica` lost its process: its semaphores start empty.
    pub(super) fn reset(&mut self, replica: usize) {
        if replica >= self.epoch.len() {
            return;
        }
        self.epoch[replica] = self.epoch[replica].wrapping_add(1);
        for e in 0..self.limit.len() {
            self.in_flight[e * self.pool + replica] = 0;
        }
    }

    /// `{prefix}bulkhead.<target>.rejected` and `.max_in_flight` of each
    /// bulkheaded edge (two bulkheaded edges to one target add up).
    pub(super) fn report(&self, prefix: &str, out: &mut Metrics) {
        for (e, name) in self.names.iter().enumerate() {
            if self.limit[e] == 0 {
                continue;
            }
            *out.entry(format!("{prefix}bulkhead.{name}.rejected"))
                .or_insert(0.0) += self.rejected[e] as f64;
            let m = out
                .entry(format!("{prefix}bulkhead.{name}.max_in_flight"))
                .or_insert(0.0);
            *m = m.max(f64::from(self.max_in_flight[e]));
        }
    }

    /// Calls in flight on `edge` (1-based) from `replica`.
    #[cfg(test)]
    fn in_flight(&self, edge: u16, replica: u32) -> u32 {
        self.in_flight[(edge as usize - 1) * self.pool + replica as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(idx: u32, generation: u32) -> ReqRef {
        ReqRef { idx, generation }
    }

    #[test]
    fn a_slot_is_released_once() {
        let mut b = Bulkheads::new(vec![(0, "a".into()), (2, "b".into())], 2);
        assert!(!b.full(1, 0, true), "edge 1 has no bulkhead");
        assert!(!b.full(2, 0, true));
        b.hold(2, 0, r(5, 1), true);
        b.hold(2, 0, r(6, 1), true);
        assert!(b.full(2, 0, true), "two in flight of two");
        assert!(!b.full(2, 1, true), "per replica");
        assert_eq!(b.rejected[1], 1);
        b.release(r(5, 1));
        b.release(r(5, 1));
        assert_eq!(b.in_flight(2, 0), 1, "a second release gives nothing back");
        b.release(r(6, 2));
        assert_eq!(
            b.in_flight(2, 0),
            1,
            "another generation of the slot holds nothing"
        );
        assert_eq!(b.max_in_flight[1], 2);
    }

    #[test]
    fn a_restart_empties_the_replica_and_old_answers_give_nothing_back() {
        let mut b = Bulkheads::new(vec![(1, "a".into())], 2);
        b.hold(1, 1, r(0, 0), true);
        assert!(b.full(1, 1, false));
        b.reset(1);
        assert!(!b.full(1, 1, false));
        b.hold(1, 1, r(1, 0), true);
        b.release(r(0, 0));
        assert_eq!(b.in_flight(1, 1), 1, "the old call's answer frees nothing");
        b.release(r(1, 0));
        assert_eq!(b.in_flight(1, 1), 0);
    }
}

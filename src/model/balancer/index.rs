//! A tournament (segment) tree over a balancer's replica slots, for the
//! load-aware algorithms that would otherwise scan every replica per request.
//!
//! Each leaf holds one slot's summary (for `least_connections` its
//! rotation flag and outstanding count, for `least_time` its rotation flag
//! and cost key); each inner node holds the merge of its two children. A
//! leaf update, a merge over a range of slots and the search for the first
//! slot of a range whose summary passes a test all take O(log n); visiting
//! every slot of a range that passes takes O((k + 1) log n) for k slots
//! found. The tree is allocated once (2 × the slot count rounded up to a
//! power of two nodes) and never allocates again.

/// What a node of a [`MinTree`] knows about its slots.
pub(super) trait Summary: Copy + PartialEq {
    /// The summary of no slot at all: neutral for [`Summary::merge`].
    const EMPTY: Self;
    /// The summary of two adjacent groups of slots.
    fn merge(self, other: Self) -> Self;
}

/// A complete binary tree over `slots` leaves in heap layout: node 1 is the
/// root, node `k` has children `2k` and `2k + 1`, and slot `i` is node
/// `size + i`. Leaves past the last slot hold [`Summary::EMPTY`].
pub(super) struct MinTree<S> {
    slots: usize,
    size: usize,
    nodes: Vec<S>,
}

impl<S: Summary> MinTree<S> {
    /// A tree over `slots` slots, slot `i` summarised by `leaf(i)`: O(n).
    pub(super) fn new(slots: usize, mut leaf: impl FnMut(usize) -> S) -> MinTree<S> {
        let size = slots.max(1).next_power_of_two();
        let mut nodes = vec![S::EMPTY; 2 * size];
        for (i, node) in nodes[size..size + slots].iter_mut().enumerate() {
            *node = leaf(i);
        }
        for k in (1..size).rev() {
            nodes[k] = nodes[2 * k].merge(nodes[2 * k + 1]);
        }
        MinTree { slots, size, nodes }
    }

    /// Slot `i`'s summary.
    #[cfg(test)]
    pub(super) fn leaf(&self, i: usize) -> S {
        self.nodes[self.size + i]
    }

    /// Set slot `i`'s summary: O(log n), and stops early where an ancestor
    /// comes out as it was.
    #[inline]
    pub(super) fn set(&mut self, i: usize, v: S) {
        let mut k = self.size + i;
        if self.nodes[k] == v {
            return;
        }
        self.nodes[k] = v;
        while k > 1 {
            k /= 2;
            let m = self.nodes[2 * k].merge(self.nodes[2 * k + 1]);
            if self.nodes[k] == m {
                return;
            }
            self.nodes[k] = m;
        }
    }

    /// The merge of slots `lo..hi`: O(log n), O(1) for all the slots.
    pub(super) fn fold(&self, lo: usize, hi: usize) -> S {
        if lo == 0 && hi >= self.slots {
            // The leaves past the last slot are neutral.
            return self.nodes[1];
        }
        let (mut l, mut r) = (lo + self.size, hi + self.size);
        let (mut left, mut right) = (S::EMPTY, S::EMPTY);
        while l < r {
            if l & 1 == 1 {
                left = left.merge(self.nodes[l]);
                l += 1;
            }
            if r & 1 == 1 {
                r -= 1;
                right = self.nodes[r].merge(right);
            }
            l /= 2;
            r /= 2;
        }
        left.merge(right)
    }

    /// Calls `f` on every slot of `lo..hi` whose summary passes `test`, in
    /// increasing order, until `f` returns false; false if it did.
    ///
    /// `test` must pass a merge exactly when it passes one of the two merged
    /// summaries (as "at most x" does for a minimum): then a node that fails
    /// has no slot below it that passes and is skipped whole, and one that
    /// passes has at least one. The range is covered by at most two nodes
    /// per level, visited left to right; below each, only nodes that pass
    /// are entered. Cost O((k + 1) log n) for k slots visited.
    pub(super) fn visit(
        &self,
        lo: usize,
        hi: usize,
        test: &impl Fn(&S) -> bool,
        f: &mut impl FnMut(usize) -> bool,
    ) -> bool {
        let (mut l, mut r) = (lo + self.size, hi + self.size);
        // The right-hand covering nodes come bottom up, so right to left:
        // kept to be visited after the left-hand ones, in reverse.
        let mut right = [0usize; usize::BITS as usize];
        let mut rn = 0;
        while l < r {
            if l & 1 == 1 {
                if !self.visit_below(l, test, f) {
                    return false;
                }
                l += 1;
            }
            if r & 1 == 1 {
                r -= 1;
                right[rn] = r;
                rn += 1;
            }
            l /= 2;
            r /= 2;
        }
        right[..rn].iter().rev().all(|&k| self.visit_below(k, test, f))
    }

    /// [`MinTree::visit`] on every slot below node `k`.
    fn visit_below(&self, k: usize, test: &impl Fn(&S) -> bool, f: &mut impl FnMut(usize) -> bool) -> bool {
        if !test(&self.nodes[k]) {
            return true;
        }
        if k >= self.size {
            return f(k - self.size);
        }
        self.visit_below(2 * k, test, f) && self.visit_below(2 * k + 1, test, f)
    }

    /// The first slot of `lo..hi` whose summary passes `test` (the same
    /// condition on `test` as [`MinTree::visit`]): O(log n).
    pub(super) fn first(&self, lo: usize, hi: usize, test: &impl Fn(&S) -> bool) -> Option<usize> {
        let mut found = None;
        self.visit(lo, hi, test, &mut |i| {
            found = Some(i);
            false
        });
        found
    }

    /// The first slot in the cyclic order `start, start + 1, …, n - 1, 0, …,
    /// start - 1` whose summary passes `test`: O(log n).
    pub(super) fn first_from(&self, start: usize, n: usize, test: &impl Fn(&S) -> bool) -> Option<usize> {
        self.first(start, n, test).or_else(|| self.first(0, start, test))
    }

    /// Calls `f` on every slot whose summary passes `test` in the cyclic
    /// order `start, …, n - 1, 0, …, start - 1`.
    pub(super) fn visit_from(
        &self,
        start: usize,
        n: usize,
        test: &impl Fn(&S) -> bool,
        f: &mut impl FnMut(usize) -> bool,
    ) {
        if self.visit(start, n, test, f) {
            self.visit(0, start, test, f);
        }
    }
}

impl Summary for u64 {
    const EMPTY: u64 = u64::MAX;
    #[inline]
    fn merge(self, other: u64) -> u64 {
        self.min(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_first_and_visit_agree_with_a_scan() {
        for slots in [1usize, 2, 3, 5, 8, 13, 64, 100] {
            let vals: Vec<u64> = (0..slots).map(|i| ((i * 7919) % 11) as u64).collect();
            let mut t = MinTree::new(slots, |i| vals[i]);
            let mut vals = vals;
            for step in 0..50usize {
                let i = (step * 31) % slots;
                vals[i] = ((step * 17) % 9) as u64;
                t.set(i, vals[i]);
                for lo in 0..=slots {
                    for hi in lo..=slots {
                        let want = vals[lo..hi].iter().copied().min().unwrap_or(u64::MAX);
                        assert_eq!(t.fold(lo, hi), want);
                        let bound = (step % 6) as u64;
                        let first = (lo..hi).find(|&j| vals[j] <= bound);
                        assert_eq!(t.first(lo, hi, &|v| *v <= bound), first);
                        let mut seen = Vec::new();
                        t.visit(lo, hi, &|v| *v <= bound, &mut |j| {
                            seen.push(j);
                            true
                        });
                        let all: Vec<usize> = (lo..hi).filter(|&j| vals[j] <= bound).collect();
                        assert_eq!(seen, all);
                    }
                }
                for start in 0..slots {
                    let bound = (step % 4) as u64;
                    let order = (start..slots).chain(0..start);
                    let want = order.clone().find(|&j| vals[j] <= bound);
                    assert_eq!(t.first_from(start, slots, &|v| *v <= bound), want);
                    let mut seen = Vec::new();
                    t.visit_from(start, slots, &|v| *v <= bound, &mut |j| {
                        seen.push(j);
                        true
                    });
                    assert_eq!(seen, order.filter(|&j| vals[j] <= bound).collect::<Vec<_>>());
                }
            }
        }
    }
}

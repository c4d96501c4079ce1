//! Storage and eviction core of a simulated key-value cache node.
//!
//! A [`Store`] holds at most `capacity` entries. Each entry has a `u64` key, a
//! `version`, an absolute expiry time (`u64::MAX` = never) and a `dirty` flag
//! (a write-back entry not yet flushed). Everything is sized in [`Store::new`];
//! no operation allocates afterwards.
//!
//! Structures:
//!
//! * **Slots.** Entries live in one array of 32-byte `Entry` records indexed
//!   by slot number, and the occupied slots are always exactly `0..len`:
//!   removing an entry moves the entry of the last slot into the hole and
//!   patches every structure that refers to it (index, list links, heap
//!   position). Keeping them dense is what makes a uniform random victim a
//!   single draw in `0..len`.
//! * **Index.** Key → slot is an open-addressing hash table of power-of-two
//!   size ≥ 2·capacity (load factor ≤ ½), linear probing, hash = the SplitMix64
//!   finaliser of the key, and backward-shift deletion (no tombstones, so
//!   probe sequences never degrade). A bucket is 8 bytes: the slot and the low
//!   32 bits of its key's hash. The hash bits give the bucket's home (so
//!   deletion re-homes buckets without reading the slots) and filter probes:
//!   a probe reads an entry's key only when the hash bits match, so a miss
//!   almost never touches the slot array. Expected O(1) lookup, insert and
//!   delete.
//! * **LRU and FIFO.** An intrusive doubly linked list over slots (`prev`,
//!   `next` in the entry, `u32::MAX` = none), head = least recently used /
//!   oldest inserted, tail = most recent. Unlink, append and move-to-tail are
//!   O(1). LRU moves an entry to the tail on a hit or an update; FIFO only
//!   appends on insertion.
//! * **Random.** No extra structure: the victim is slot `rng.random_range(0..len)`.
//! * **LFU (perfect LFU).** A dense request counter per key (`key_space`
//!   counters, counted on every [`Store::get`], present or not, and kept when a
//!   key leaves the cache) and an indexed binary min-heap over the occupied
//!   slots keyed by `(count, tick)`, where `tick` is the logical time of the
//!   entry's last touch (a global counter advanced on every get and put), so
//!   equal counts evict the least recently touched entry. Each heap item
//!   carries its priority inline (a copy of the key's count, refreshed on
//!   every touch, which is the only time a present key's count changes), so
//!   sifting compares items without reading the entries or the counters; the
//!   entry keeps its heap index (in the `next` field, which LFU does not use
//!   for a list) so that a touch, which only ever raises a priority, is a
//!   single sift-down: O(log n); insertion and removal are O(log n) too.
//!
//! Memory layout. At large capacities every structure is far bigger than the
//! CPU caches and keys are looked up at random, so the cost of an operation is
//! essentially the number of distinct cache lines it touches, and next the
//! total size of what it touches at random. Hence one array of entries (all of
//! an entry's fields in one 32-byte, 32-byte-aligned record: two per line,
//! none straddling two) rather than one array per field; 8-byte index buckets
//! (a miss touches the table only, a hit the table and one entry; buckets
//! holding the whole key next to the slot, 16 bytes with padding, double the
//! table and were measured to miss more often); and heap items that hold
//! their priority (a sift step reads adjacent heap items and writes one heap
//! index into the moved entry, instead of reading the key, the counter and
//! the tick of every compared slot).
//!
//! Costs per operation: `get`, `put`, `remove`: expected O(1) for LRU, FIFO
//! and Random, O(log n) for LFU; `peek`, `mark_clean`: expected O(1);
//! `clear`: O(capacity), plus O(key_space) for LFU (its counters are reset).

use rand::RngExt;

use crate::engine::rng::Rng;

/// "No slot" in the index table and the list links.
const NIL: u32 = u32::MAX;
/// Expiry time meaning "never expires".
const NEVER: u64 = u64::MAX;

/// Eviction policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Evict the least recently used entry (hits and updates refresh recency).
    Lru,
    /// Perfect LFU: evict the entry whose key has the fewest requests ever
    /// counted (ties: least recently touched).
    Lfu,
    /// Evict the oldest inserted entry (hits and updates do not refresh it).
    Fifo,
    /// Evict a uniformly random entry.
    Random,
}

/// Result of a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Present and not expired.
    Hit {
        /// The stored version.
        version: u32,
        /// Whether the entry is a write-back entry not yet flushed.
        dirty: bool,
    },
    /// Not present.
    Miss,
    /// Present but expired at `now` (it has been removed; its dirty flag is returned).
    Expired {
        /// Whether the removed entry was dirty.
        dirty: bool,
    },
}

/// An entry pushed out to make room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evicted {
    /// Key of the evicted entry.
    pub key: u64,
    /// Its version.
    pub version: u32,
    /// Whether it was dirty (its write is lost unless the caller flushes it).
    pub dirty: bool,
}

/// One slot: everything about an entry in a single 32-byte record (largest
/// fields first, so there is no padding but the 3 bytes after `dirty`),
/// aligned to 32 bytes so that no entry straddles two cache lines.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(32))]
struct Entry {
    key: u64,
    /// Absolute expiry time (`NEVER` = never).
    expires: u64,
    version: u32,
    /// LRU / FIFO: the previous (less recent) slot in the list, `NIL` = none.
    prev: u32,
    /// LRU / FIFO: the next (more recent) slot in the list, `NIL` = none.
    /// LFU: this entry's index in the heap.
    next: u32,
    dirty: bool,
}

const _: () = assert!(size_of::<Entry>() == 32 && size_of::<Bucket>() == 8 && size_of::<HeapItem>() == 16);

const FREE_ENTRY: Entry = Entry {
    key: 0,
    expires: 0,
    version: 0,
    prev: NIL,
    next: NIL,
    dirty: false,
};

/// An index bucket: a slot and the low 32 bits of its key's hash (`slot ==
/// NIL`: empty). The hash bits give the bucket's home position (so deletion
/// can re-home buckets without reading the slots) and filter probes: a probe
/// reads the slot's key only when the hash bits match.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(8))]
struct Bucket {
    hash: u32,
    slot: u32,
}

const EMPTY: Bucket = Bucket { hash: 0, slot: NIL };

/// An LFU heap item: a slot and its eviction priority `(count, tick)`.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
struct HeapItem {
    /// Logical time of the entry's last touch.
    tick: u64,
    /// The key's request count (equal to its counter while the key is present).
    count: u32,
    slot: u32,
}

impl HeapItem {
    /// Eviction priority: lower is evicted first.
    #[inline]
    fn priority(&self) -> (u32, u64) {
        (self.count, self.tick)
    }
}

/// The entries of one cache node, their index and the eviction structure.
/// See the module documentation for the layout and the costs.
#[derive(Clone)]
pub struct Store {
    policy: Policy,
    capacity: u32,
    /// Occupied slots are exactly `0..len`.
    len: u32,

    /// Per-slot entries (length `capacity`).
    slots: Vec<Entry>,

    /// Key → slot: open addressing, linear probing.
    table: Vec<Bucket>,
    mask: usize,

    // LRU / FIFO list ends (`NIL` for the other policies).
    /// Least recently used / oldest inserted.
    head: u32,
    /// Most recently used / newest inserted.
    tail: u32,

    // LFU (empty for the other policies).
    /// Requests counted per key (length `key_space`).
    counts: Vec<u32>,
    /// Min-heap of the occupied slots by `(count, tick)`; length == `len`.
    heap: Vec<HeapItem>,

    /// Advanced on every get and put; gives touch order.
    clock: u64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("policy", &self.policy)
            .field("capacity", &self.capacity)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// SplitMix64 finaliser (Steele, Lea & Flood 2014): a cheap, well-mixing
/// bijection on u64, so consecutive keys land far apart in the table.
#[inline]
fn mix(key: u64) -> u64 {
    let mut z = key;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Whether an entry expiring at `expires` is still live at `now`.
#[inline]
fn live(expires: u64, now: u64) -> bool {
    expires == NEVER || now < expires
}

impl Store {
    /// A store of `capacity` entries (>= 1). `key_space`: keys are < key_space;
    /// used only by LFU, which keeps a dense request counter for every key (the
    /// caller guarantees key_space <= 1<<27 for LFU). Other policies ignore it.
    ///
    /// Panics if `capacity` is 0.
    pub fn new(capacity: u32, policy: Policy, key_space: u64) -> Store {
        assert!(capacity >= 1, "a store needs capacity >= 1");
        let cap = capacity as usize;
        let table_size = (2 * cap).next_power_of_two();
        let lfu = policy == Policy::Lfu;
        let counts_len = if lfu {
            usize::try_from(key_space).expect("LFU key_space does not fit in memory")
        } else {
            0
        };
        Store {
            policy,
            capacity,
            len: 0,
            slots: vec![FREE_ENTRY; cap],
            table: vec![EMPTY; table_size],
            mask: table_size - 1,
            head: NIL,
            tail: NIL,
            counts: vec![0; counts_len],
            heap: Vec::with_capacity(if lfu { cap } else { 0 }),
            clock: 0,
        }
    }

    /// Maximum number of entries.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Number of entries present (expired entries not yet looked up included).
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the store holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Look up `key` at time `now`. Hit if present and `now < expires`.
    /// LRU: a hit moves the entry to most-recent. FIFO and Random: a hit changes
    /// nothing. LFU (perfect LFU): every call counts one request for `key` (hit
    /// or miss), and a hit re-positions the entry by its new count. An expired
    /// entry is removed and reported as [`Lookup::Expired`].
    pub fn get(&mut self, key: u64, now: u64) -> Lookup {
        self.clock += 1;
        let mut count = 0;
        if self.policy == Policy::Lfu {
            let c = self.count_mut(key);
            *c = c.saturating_add(1);
            count = *c;
        }
        let Some(pos) = self.find_pos(key) else {
            return Lookup::Miss;
        };
        let slot = self.table[pos].slot;
        let e = self.slots[slot as usize];
        if !live(e.expires, now) {
            // (LFU: the raised count is not copied into the heap; the entry is
            // removed right away and removal restores the heap around its position.)
            self.remove_slot(slot, pos);
            return Lookup::Expired { dirty: e.dirty };
        }
        match self.policy {
            Policy::Lru => self.move_to_tail(slot),
            Policy::Lfu => {
                let i = e.next as usize;
                let item = &mut self.heap[i];
                item.count = count;
                item.tick = self.clock;
                self.sift_down(i);
            }
            Policy::Fifo | Policy::Random => {}
        }
        Lookup::Hit {
            version: e.version,
            dirty: e.dirty,
        }
    }

    /// Read without touching recency/frequency; expired entries are still
    /// returned (the caller decides). Returns `(version, expires, dirty)`.
    pub fn peek(&self, key: u64) -> Option<(u32, u64, bool)> {
        let e = &self.slots[self.find(key)? as usize];
        Some((e.version, e.expires, e.dirty))
    }

    /// Insert or update. Update of a present key: set version/expires/dirty;
    /// LRU moves it to most recent; FIFO keeps its queue position; LFU keeps
    /// its count (the touch refreshes its tie-break tick). Insert when full
    /// evicts first: LRU the least recently used, FIFO the oldest inserted,
    /// Random a uniformly random entry (drawn from `rng`, which is used only
    /// then), LFU the entry with the lowest count (ties: least recently
    /// touched). Returns the evicted entry, if any. LFU always admits the new
    /// key (classic LFU); `put` does not count a request.
    pub fn put(
        &mut self,
        key: u64,
        version: u32,
        expires: u64,
        dirty: bool,
        rng: &mut Rng,
    ) -> Option<Evicted> {
        self.clock += 1;
        if let Some(slot) = self.find(key) {
            let e = &mut self.slots[slot as usize];
            e.version = version;
            e.expires = expires;
            e.dirty = dirty;
            match self.policy {
                Policy::Lru => self.move_to_tail(slot),
                Policy::Lfu => {
                    let i = e.next as usize;
                    self.heap[i].tick = self.clock;
                    self.sift_down(i);
                }
                Policy::Fifo | Policy::Random => {}
            }
            return None;
        }
        // LFU: the key's count, which also fails early (and clearly) on a key
        // outside the counted space.
        let count = if self.policy == Policy::Lfu {
            *self.count_mut(key)
        } else {
            0
        };

        let evicted = if self.len == self.capacity {
            let victim = match self.policy {
                Policy::Lru | Policy::Fifo => self.head,
                Policy::Lfu => self.heap[0].slot,
                Policy::Random => rng.random_range(0..self.len),
            };
            let e = self.slots[victim as usize];
            let pos = self.find_pos(e.key).expect("an occupied slot is indexed");
            self.remove_slot(victim, pos);
            Some(Evicted {
                key: e.key,
                version: e.version,
                dirty: e.dirty,
            })
        } else {
            None
        };

        let slot = self.len;
        self.len += 1;
        self.slots[slot as usize] = Entry {
            key,
            expires,
            version,
            prev: NIL,
            next: NIL,
            dirty,
        };
        self.index_insert(key, slot);
        match self.policy {
            Policy::Lru | Policy::Fifo => self.push_tail(slot),
            Policy::Lfu => {
                let i = self.heap.len();
                self.heap.push(HeapItem {
                    tick: self.clock,
                    count,
                    slot,
                });
                self.slots[slot as usize].next = i as u32;
                self.sift_up(i);
            }
            Policy::Random => {}
        }
        evicted
    }

    /// Remove `key`; returns `(version, dirty)` if it was present (expired or not).
    pub fn remove(&mut self, key: u64) -> Option<(u32, bool)> {
        let pos = self.find_pos(key)?;
        let slot = self.table[pos].slot;
        let e = self.slots[slot as usize];
        self.remove_slot(slot, pos);
        Some((e.version, e.dirty))
    }

    /// Clear the dirty flag if the entry is present with exactly this version
    /// (write-back flush done). Touches neither recency nor frequency.
    pub fn mark_clean(&mut self, key: u64, version: u32) {
        if let Some(slot) = self.find(key) {
            let e = &mut self.slots[slot as usize];
            if e.version == version {
                e.dirty = false;
            }
        }
    }

    /// Drop every entry (a crashed node); returns how many were dirty. LFU
    /// request counts are reset too.
    pub fn clear(&mut self) -> u64 {
        let n = self.len as usize;
        let dirty = self.slots[..n].iter().filter(|e| e.dirty).count() as u64;
        self.len = 0;
        self.table.fill(EMPTY);
        self.head = NIL;
        self.tail = NIL;
        self.heap.clear();
        self.counts.fill(0);
        self.clock = 0;
        dirty
    }

    // ---- index -------------------------------------------------------------

    /// The bucket hash of `key`. (32 bits address 2^32 homes: a table of more
    /// buckets, i.e. capacity > 2^31, would still be correct, just crowd them.)
    #[inline]
    fn hash(key: u64) -> u32 {
        mix(key) as u32
    }

    /// The table position a bucket hash belongs at.
    #[inline]
    fn home(&self, hash: u32) -> usize {
        (hash as usize) & self.mask
    }

    /// Table position holding `key`, if present.
    #[inline]
    fn find_pos(&self, key: u64) -> Option<usize> {
        let hash = Self::hash(key);
        let mut i = self.home(hash);
        loop {
            let b = self.table[i];
            if b.slot == NIL {
                return None;
            }
            if b.hash == hash && self.slots[b.slot as usize].key == key {
                return Some(i);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// Slot holding `key`, if present.
    #[inline]
    fn find(&self, key: u64) -> Option<u32> {
        self.find_pos(key).map(|i| self.table[i].slot)
    }

    /// Record `key` (known absent) at `slot`. The table is at most half full,
    /// so an empty position is always found.
    fn index_insert(&mut self, key: u64, slot: u32) {
        let hash = Self::hash(key);
        let mut i = self.home(hash);
        while self.table[i].slot != NIL {
            i = (i + 1) & self.mask;
        }
        self.table[i] = Bucket { hash, slot };
    }

    /// Empty table position `pos`, then shift later members of the probe run
    /// back into the hole whenever their home position allows it, so every
    /// remaining key stays reachable from its home without tombstones.
    fn index_remove(&mut self, pos: usize) {
        let mut hole = pos;
        let mut j = pos;
        loop {
            j = (j + 1) & self.mask;
            let b = self.table[j];
            if b.slot == NIL {
                break;
            }
            let home = self.home(b.hash);
            // The bucket at j may fill the hole iff the hole lies cyclically in
            // [home, j), i.e. it is no farther from j than its home is.
            if (j.wrapping_sub(home) & self.mask) >= (j.wrapping_sub(hole) & self.mask) {
                self.table[hole] = b;
                hole = j;
            }
        }
        self.table[hole] = EMPTY;
    }

    // ---- slots -------------------------------------------------------------

    /// Remove the entry in `slot`, indexed at table position `pos`, from every
    /// structure, then move the last slot's entry into it so slots stay dense.
    fn remove_slot(&mut self, slot: u32, pos: usize) {
        self.index_remove(pos);
        match self.policy {
            Policy::Lru | Policy::Fifo => self.unlink(slot),
            Policy::Lfu => self.heap_remove(slot),
            Policy::Random => {}
        }
        let last = self.len - 1;
        if slot != last {
            self.move_slot(last, slot);
        }
        self.len = last;
    }

    /// Move the entry of occupied slot `from` into the free slot `to` (which
    /// nothing refers to any more), re-pointing the index, list and heap.
    fn move_slot(&mut self, from: u32, to: u32) {
        let e = self.slots[from as usize];
        self.slots[to as usize] = e;
        let pos = self.find_pos(e.key).expect("an occupied slot is indexed");
        self.table[pos].slot = to;
        match self.policy {
            Policy::Lru | Policy::Fifo => {
                if e.prev == NIL {
                    self.head = to;
                } else {
                    self.slots[e.prev as usize].next = to;
                }
                if e.next == NIL {
                    self.tail = to;
                } else {
                    self.slots[e.next as usize].prev = to;
                }
            }
            Policy::Lfu => self.heap[e.next as usize].slot = to,
            Policy::Random => {}
        }
    }

    // ---- LRU / FIFO list ---------------------------------------------------

    fn unlink(&mut self, slot: u32) {
        let e = &mut self.slots[slot as usize];
        let (p, n) = (e.prev, e.next);
        e.prev = NIL;
        e.next = NIL;
        if p == NIL {
            self.head = n;
        } else {
            self.slots[p as usize].next = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.slots[n as usize].prev = p;
        }
    }

    fn push_tail(&mut self, slot: u32) {
        let tail = self.tail;
        let e = &mut self.slots[slot as usize];
        e.prev = tail;
        e.next = NIL;
        if tail == NIL {
            self.head = slot;
        } else {
            self.slots[tail as usize].next = slot;
        }
        self.tail = slot;
    }

    fn move_to_tail(&mut self, slot: u32) {
        if self.tail != slot {
            self.unlink(slot);
            self.push_tail(slot);
        }
    }

    // ---- LFU heap ----------------------------------------------------------

    /// The request counter of `key` (LFU only).
    fn count_mut(&mut self, key: u64) -> &mut u32 {
        let n = self.counts.len();
        usize::try_from(key)
            .ok()
            .and_then(|k| self.counts.get_mut(k))
            .unwrap_or_else(|| panic!("LFU store: key {key} outside key_space {n}"))
    }

    /// Put `item` at heap index `i` and record the index in its entry.
    #[inline]
    fn heap_set(&mut self, i: usize, item: HeapItem) {
        self.heap[i] = item;
        self.slots[item.slot as usize].next = i as u32;
    }

    fn sift_up(&mut self, mut i: usize) {
        let item = self.heap[i];
        let pr = item.priority();
        while i > 0 {
            let parent = (i - 1) / 2;
            let p = self.heap[parent];
            if p.priority() <= pr {
                break;
            }
            self.heap_set(i, p);
            i = parent;
        }
        self.heap_set(i, item);
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        let item = self.heap[i];
        let pr = item.priority();
        loop {
            let left = 2 * i + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let mut child = self.heap[left];
            let mut c = left;
            if right < n && self.heap[right].priority() < child.priority() {
                child = self.heap[right];
                c = right;
            }
            if pr <= child.priority() {
                break;
            }
            self.heap_set(i, child);
            i = c;
        }
        self.heap_set(i, item);
    }

    /// Take `slot` out of the heap: the last heap item replaces it and is
    /// sifted whichever way restores the order.
    fn heap_remove(&mut self, slot: u32) {
        let i = self.slots[slot as usize].next as usize;
        let last = self.heap.pop().expect("an occupied slot is in the heap");
        if i < self.heap.len() {
            self.heap_set(i, last);
            self.sift_up(i);
            self.sift_down(self.slots[last.slot as usize].next as usize);
        }
    }

    /// Verify every structural invariant (tests only).
    #[cfg(test)]
    fn check(&self) {
        let n = self.len as usize;
        assert!(
            self.len <= self.capacity,
            "len {} > capacity {}",
            self.len,
            self.capacity
        );
        let indexed = self.table.iter().filter(|b| b.slot != NIL).count();
        assert_eq!(indexed, n, "index size differs from len");
        for b in self.table.iter().filter(|b| b.slot != NIL) {
            assert!((b.slot as usize) < n, "index points at free slot {}", b.slot);
            assert_eq!(
                Self::hash(self.slots[b.slot as usize].key),
                b.hash,
                "bucket hash differs from its key's"
            );
        }
        for s in 0..n {
            assert_eq!(
                self.find(self.slots[s].key),
                Some(s as u32),
                "slot {s} not reachable through the index"
            );
        }
        match self.policy {
            Policy::Lru | Policy::Fifo => {
                let mut seen = 0;
                let mut prev = NIL;
                let mut cur = self.head;
                while cur != NIL {
                    assert!((cur as usize) < n, "list holds free slot {cur}");
                    assert_eq!(self.slots[cur as usize].prev, prev, "broken prev link");
                    seen += 1;
                    assert!(seen <= n, "list cycle");
                    prev = cur;
                    cur = self.slots[cur as usize].next;
                }
                assert_eq!(prev, self.tail, "tail mismatch");
                assert_eq!(seen, n, "list length differs from len");
            }
            Policy::Lfu => {
                assert_eq!(self.heap.len(), n, "heap size differs from len");
                for (i, item) in self.heap.iter().enumerate() {
                    let s = item.slot as usize;
                    assert!(s < n, "heap holds free slot {s}");
                    assert_eq!(self.slots[s].next as usize, i, "heap position mismatch");
                    assert_eq!(
                        item.count, self.counts[self.slots[s].key as usize],
                        "heap count differs from the key's counter"
                    );
                    if i > 0 {
                        let parent = self.heap[(i - 1) / 2];
                        assert!(parent.priority() <= item.priority(), "heap order violated");
                    }
                }
            }
            Policy::Random => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{RngExt, SeedableRng};

    use super::*;

    fn rng() -> Rng {
        Rng::seed_from_u64(1)
    }

    fn hit(store: &mut Store, key: u64) -> bool {
        matches!(store.get(key, 0), Lookup::Hit { .. })
    }

    #[test]
    fn lru_evicts_least_recently_used() {
        let mut r = rng();
        let mut s = Store::new(2, Policy::Lru, 0);
        assert_eq!(s.put(1, 1, NEVER, false, &mut r), None);
        assert_eq!(s.put(2, 1, NEVER, false, &mut r), None);
        assert!(hit(&mut s, 1));
        let ev = s.put(3, 1, NEVER, false, &mut r);
        assert_eq!(
            ev,
            Some(Evicted {
                key: 2,
                version: 1,
                dirty: false
            })
        );
        assert!(hit(&mut s, 1));
        assert!(hit(&mut s, 3));
        assert_eq!(s.get(2, 0), Lookup::Miss);
        s.check();
    }

    #[test]
    fn lru_update_refreshes_recency() {
        let mut r = rng();
        let mut s = Store::new(2, Policy::Lru, 0);
        s.put(1, 1, NEVER, false, &mut r);
        s.put(2, 1, NEVER, false, &mut r);
        assert_eq!(s.put(1, 2, NEVER, true, &mut r), None);
        assert_eq!(s.put(3, 1, NEVER, false, &mut r).map(|e| e.key), Some(2));
        assert_eq!(s.peek(1), Some((2, NEVER, true)));
    }

    #[test]
    fn fifo_evicts_oldest_even_after_hit() {
        let mut r = rng();
        let mut s = Store::new(2, Policy::Fifo, 0);
        s.put(1, 1, NEVER, true, &mut r);
        s.put(2, 1, NEVER, false, &mut r);
        assert!(hit(&mut s, 1));
        // An update keeps the queue position too.
        s.put(1, 7, NEVER, true, &mut r);
        let ev = s.put(3, 1, NEVER, false, &mut r);
        assert_eq!(
            ev,
            Some(Evicted {
                key: 1,
                version: 7,
                dirty: true
            })
        );
        assert!(hit(&mut s, 2));
        s.check();
    }

    #[test]
    fn lfu_evicts_lowest_count() {
        let mut r = rng();
        let mut s = Store::new(3, Policy::Lfu, 100);
        for k in [10, 20, 30] {
            s.put(k, 1, NEVER, false, &mut r);
        }
        for _ in 0..3 {
            assert!(hit(&mut s, 10));
        }
        assert!(hit(&mut s, 20));
        for _ in 0..2 {
            assert!(hit(&mut s, 30));
        }
        // Counts: 10 → 3, 20 → 1, 30 → 2.
        assert_eq!(s.put(40, 1, NEVER, false, &mut r).map(|e| e.key), Some(20));
        // 40 has count 0 and is admitted anyway; it is the next victim.
        assert_eq!(s.put(50, 1, NEVER, false, &mut r).map(|e| e.key), Some(40));
        s.check();
    }

    #[test]
    fn lfu_ties_go_to_least_recently_touched() {
        let mut r = rng();
        let mut s = Store::new(3, Policy::Lfu, 100);
        for k in [1, 2, 3] {
            s.put(k, 1, NEVER, false, &mut r);
        }
        // Each key gets one hit, in the order 2, 3, 1: key 2 is touched least recently.
        for k in [2, 3, 1] {
            assert!(hit(&mut s, k));
        }
        assert_eq!(s.put(4, 1, NEVER, false, &mut r).map(|e| e.key), Some(2));
        // An update is a touch too: with 1 and 3 tied at count 1, refreshing 3 leaves 1 oldest.
        // (Key 4 has count 0, so give it two hits to keep it out of the way.)
        assert!(hit(&mut s, 4));
        assert!(hit(&mut s, 4));
        s.put(3, 2, NEVER, false, &mut r);
        assert_eq!(s.put(5, 1, NEVER, false, &mut r).map(|e| e.key), Some(1));
        s.check();
    }

    #[test]
    fn lfu_counts_misses_perfect_lfu() {
        let mut r = rng();
        let mut s = Store::new(2, Policy::Lfu, 100);
        // Key 7 is requested 5 times while absent, then inserted.
        for _ in 0..5 {
            assert_eq!(s.get(7, 0), Lookup::Miss);
        }
        s.put(7, 1, NEVER, false, &mut r);
        // Key 8 is inserted later and hit once (count 1, and more recently touched).
        s.put(8, 1, NEVER, false, &mut r);
        assert!(hit(&mut s, 8));
        assert_eq!(s.put(9, 1, NEVER, false, &mut r).map(|e| e.key), Some(8));
        // Counts survive eviction: 8 comes back with its count of 1, above 9's 0.
        s.put(8, 2, NEVER, false, &mut r);
        s.check();
        assert!(s.peek(7).is_some());
        assert!(s.peek(8).is_some());
        assert!(s.peek(9).is_none());
    }

    #[test]
    fn random_evicts_uniformly() {
        const CAP: u32 = 8;
        const TRIALS: u32 = 40_000;
        let mut r = rng();
        let mut evicted = [0u32; CAP as usize];
        let mut s = Store::new(CAP, Policy::Random, 0);
        for _ in 0..TRIALS {
            // The same history every trial (key k in slot k), so any bias towards
            // a position shows up as a bias towards a key.
            s.clear();
            for k in 0..u64::from(CAP) {
                s.put(k, 1, NEVER, false, &mut r);
            }
            let ev = s.put(1000, 1, NEVER, false, &mut r).expect("full store evicts");
            evicted[ev.key as usize] += 1;
        }
        s.check();
        let expected = f64::from(TRIALS) / f64::from(CAP);
        let mut chi2 = 0.0;
        for &c in &evicted {
            let d = f64::from(c) - expected;
            assert!(
                d.abs() < 0.2 * expected,
                "eviction counts {evicted:?} not uniform"
            );
            chi2 += d * d / expected;
        }
        // 7 degrees of freedom: P(chi2 > 24.3) = 0.001.
        assert!(chi2 < 24.3, "chi-square {chi2} for {evicted:?}");
    }

    #[test]
    fn ttl_expires_exactly_at_deadline() {
        let mut r = rng();
        for policy in [Policy::Lru, Policy::Lfu, Policy::Fifo, Policy::Random] {
            let mut s = Store::new(4, policy, 10);
            s.put(3, 9, 1000, true, &mut r);
            assert_eq!(
                s.get(3, 999),
                Lookup::Hit {
                    version: 9,
                    dirty: true
                },
                "{policy:?}"
            );
            assert_eq!(s.get(3, 1000), Lookup::Expired { dirty: true }, "{policy:?}");
            assert_eq!(s.len(), 0);
            assert_eq!(s.peek(3), None);
            assert_eq!(s.get(3, 1000), Lookup::Miss);
            // u64::MAX never expires, even at the end of time.
            s.put(4, 1, NEVER, false, &mut r);
            assert!(matches!(s.get(4, u64::MAX), Lookup::Hit { .. }));
            // peek returns an expired entry untouched.
            s.put(5, 2, 10, false, &mut r);
            assert_eq!(s.peek(5), Some((2, 10, false)));
            s.check();
        }
    }

    #[test]
    fn remove_mark_clean_and_clear() {
        let mut r = rng();
        for policy in [Policy::Lru, Policy::Lfu, Policy::Fifo, Policy::Random] {
            let mut s = Store::new(4, policy, 10);
            assert!(s.is_empty());
            s.put(1, 1, NEVER, true, &mut r);
            s.put(2, 1, NEVER, true, &mut r);
            s.put(3, 1, NEVER, false, &mut r);
            s.put(4, 5, NEVER, true, &mut r);
            assert_eq!(s.remove(2), Some((1, true)));
            assert_eq!(s.remove(2), None);
            assert_eq!(s.len(), 3);
            s.check();
            // Wrong version: still dirty; right version: clean; absent key: no effect.
            s.mark_clean(4, 4);
            assert_eq!(s.peek(4), Some((5, NEVER, true)));
            s.mark_clean(4, 5);
            assert_eq!(s.peek(4), Some((5, NEVER, false)));
            s.mark_clean(2, 1);
            assert_eq!(s.peek(2), None);
            // Only key 1 is still dirty.
            assert_eq!(s.clear(), 1, "{policy:?}");
            assert_eq!(s.len(), 0);
            assert!(s.is_empty());
            for k in 1..=4 {
                assert_eq!(s.get(k, 0), Lookup::Miss);
            }
            s.check();
            for k in 1..=4 {
                assert_eq!(s.put(k, 2, NEVER, k % 2 == 0, &mut r), None);
            }
            assert_eq!(s.len(), 4);
            let ev = s.put(9, 2, NEVER, false, &mut r).expect("full store evicts");
            assert_eq!(s.len(), 4);
            s.check();
            // Keys 2 and 4 were inserted dirty; one of the four was evicted.
            assert_eq!(s.clear(), 2 - u64::from(ev.dirty), "{policy:?}");
            assert_eq!(s.len(), 0);
        }
    }

    #[test]
    fn lfu_clear_resets_counts() {
        let mut r = rng();
        let mut s = Store::new(2, Policy::Lfu, 10);
        for _ in 0..5 {
            s.get(1, 0);
        }
        s.clear();
        s.put(2, 1, NEVER, false, &mut r);
        assert!(hit(&mut s, 2));
        s.put(1, 1, NEVER, false, &mut r);
        // Had key 1 kept its 5 requests, key 2 (1 request) would go; after the reset 1 has 0.
        assert_eq!(s.put(3, 1, NEVER, false, &mut r).map(|e| e.key), Some(1));
    }

    /// A deliberately simple O(n) reference cache. For LRU, FIFO and LFU it
    /// predicts the victim; for Random it only checks the victim was present.
    struct Model {
        policy: Policy,
        cap: usize,
        /// (key, version, expires, dirty, last touch); LRU/FIFO: order = eviction order.
        entries: Vec<(u64, u32, u64, bool, u64)>,
        counts: Vec<u32>,
        clock: u64,
    }

    impl Model {
        fn new(cap: usize, policy: Policy, key_space: usize) -> Model {
            Model {
                policy,
                cap,
                entries: Vec::new(),
                counts: vec![0; key_space],
                clock: 0,
            }
        }

        fn idx(&self, key: u64) -> Option<usize> {
            self.entries.iter().position(|e| e.0 == key)
        }

        fn get(&mut self, key: u64, now: u64) -> Lookup {
            self.clock += 1;
            self.counts[key as usize] += 1;
            let Some(i) = self.idx(key) else {
                return Lookup::Miss;
            };
            let e = self.entries[i];
            if !(e.2 == NEVER || now < e.2) {
                self.entries.remove(i);
                return Lookup::Expired { dirty: e.3 };
            }
            self.entries[i].4 = self.clock;
            if self.policy == Policy::Lru {
                let e = self.entries.remove(i);
                self.entries.push(e);
            }
            Lookup::Hit {
                version: e.1,
                dirty: e.3,
            }
        }

        /// Apply a put; `actual` is what the store reported.
        fn put(&mut self, key: u64, version: u32, expires: u64, dirty: bool, actual: Option<Evicted>) {
            self.clock += 1;
            if let Some(i) = self.idx(key) {
                assert_eq!(actual, None, "update evicted");
                self.entries[i] = (key, version, expires, dirty, self.clock);
                if self.policy == Policy::Lru {
                    let e = self.entries.remove(i);
                    self.entries.push(e);
                }
                return;
            }
            if self.entries.len() == self.cap {
                let victim = match self.policy {
                    Policy::Lru | Policy::Fifo => 0,
                    Policy::Lfu => {
                        let best = self
                            .entries
                            .iter()
                            .map(|e| (self.counts[e.0 as usize], e.4))
                            .min();
                        self.entries
                            .iter()
                            .position(|e| Some((self.counts[e.0 as usize], e.4)) == best)
                            .unwrap()
                    }
                    Policy::Random => {
                        let a = actual.expect("full store must evict");
                        self.idx(a.key).expect("evicted key was not present")
                    }
                };
                let e = self.entries.remove(victim);
                assert_eq!(
                    actual,
                    Some(Evicted {
                        key: e.0,
                        version: e.1,
                        dirty: e.3
                    }),
                    "{:?}",
                    self.policy
                );
            } else {
                assert_eq!(actual, None, "evicted while not full");
            }
            self.entries.push((key, version, expires, dirty, self.clock));
        }
    }

    fn model_run(policy: Policy, ops: u32, seed: u64) {
        const CAP: u32 = 64;
        const KEYS: u64 = 500;
        let mut r = Rng::seed_from_u64(seed);
        let mut store_rng = Rng::seed_from_u64(seed ^ 0xdead_beef);
        let mut s = Store::new(CAP, policy, KEYS);
        let mut m = Model::new(CAP as usize, policy, KEYS as usize);
        let (mut hits, mut expired, mut evictions) = (0u32, 0u32, 0u32);
        for now in 0..u64::from(ops) {
            let key = r.random_range(0..KEYS);
            let op = r.random::<f64>();
            if op < 0.5 {
                let got = s.get(key, now);
                assert_eq!(got, m.get(key, now), "{policy:?} op {now}: get {key}");
                hits += u32::from(matches!(got, Lookup::Hit { .. }));
                expired += u32::from(matches!(got, Lookup::Expired { .. }));
            } else if op < 0.85 {
                let version = r.random_range(0..4u32);
                let expires = if r.random::<f64>() < 0.7 {
                    NEVER
                } else {
                    now + r.random_range(1..300)
                };
                let dirty = r.random::<bool>();
                let ev = s.put(key, version, expires, dirty, &mut store_rng);
                evictions += u32::from(ev.is_some());
                m.put(key, version, expires, dirty, ev);
            } else if op < 0.95 {
                let want = m.idx(key).map(|i| m.entries.remove(i)).map(|e| (e.1, e.3));
                assert_eq!(s.remove(key), want, "{policy:?} op {now}: remove {key}");
            } else if op < 0.99995 {
                let version = r.random_range(0..4u32);
                s.mark_clean(key, version);
                if let Some(i) = m.idx(key)
                    && m.entries[i].1 == version
                {
                    m.entries[i].3 = false;
                }
            } else {
                let want = m.entries.iter().filter(|e| e.3).count() as u64;
                assert_eq!(s.clear(), want);
                m.entries.clear();
                m.counts.fill(0);
            }
            assert!(s.len() <= s.capacity());
            assert_eq!(s.len() as usize, m.entries.len());
            s.check();
        }
        // The run must have exercised hits, expiries and evictions.
        assert!(
            hits > ops / 100 && expired > ops / 1000 && evictions > ops / 100,
            "{policy:?}: {hits} hits, {expired} expired, {evictions} evictions"
        );
    }

    #[test]
    fn model_lru_matches_reference() {
        model_run(Policy::Lru, 200_000, 11);
    }

    #[test]
    fn model_fifo_matches_reference() {
        model_run(Policy::Fifo, 200_000, 12);
    }

    #[test]
    fn model_lfu_matches_reference() {
        model_run(Policy::Lfu, 200_000, 13);
    }

    #[test]
    fn model_random_keeps_invariants() {
        model_run(Policy::Random, 200_000, 14);
    }

    #[test]
    fn small_capacities_and_adjacent_keys() {
        // Capacity 1 (table of 2) and clustered keys stress probing and backward shift.
        let mut r = rng();
        for policy in [Policy::Lru, Policy::Lfu, Policy::Fifo, Policy::Random] {
            for cap in [1u32, 2, 3, 5] {
                let mut s = Store::new(cap, policy, 64);
                for i in 0..5000u64 {
                    let k = (i * 7) % 64;
                    if i % 3 == 0 {
                        s.remove(k ^ 1);
                    } else {
                        s.get(k, i);
                        s.put(k, i as u32, i + 50, i % 2 == 0, &mut r);
                    }
                    s.check();
                }
            }
        }
    }

    #[test]
    fn lfu_zipf_hit_ratio_matches_top_popularity_mass() {
        const KEYS: usize = 1000;
        const CAP: u32 = 100;
        let weights: Vec<f64> = (1..=KEYS).map(|k| crate::math::powf(k as f64, -0.8)).collect();
        let total: f64 = weights.iter().sum();
        let mut cdf = Vec::with_capacity(KEYS);
        let mut acc = 0.0;
        for w in &weights {
            acc += w / total;
            cdf.push(acc);
        }
        let top_mass: f64 = weights[..CAP as usize].iter().sum::<f64>() / total;

        let mut r = Rng::seed_from_u64(7);
        let mut store_rng = rng();
        let mut s = Store::new(CAP, Policy::Lfu, KEYS as u64);
        let draw = |r: &mut Rng| {
            let u = r.random::<f64>();
            cdf.partition_point(|&c| c < u).min(KEYS - 1) as u64
        };
        let (mut hits, mut requests) = (0u32, 0u32);
        for i in 0..400_000 {
            let key = draw(&mut r);
            let hit = matches!(s.get(key, 0), Lookup::Hit { .. });
            if !hit {
                s.put(key, 1, NEVER, false, &mut store_rng);
            }
            if i >= 100_000 {
                requests += 1;
                hits += u32::from(hit);
            }
        }
        s.check();
        let ratio = f64::from(hits) / f64::from(requests);
        assert!(
            (ratio - top_mass).abs() < 0.01,
            "LFU hit ratio {ratio:.4} vs top-{CAP} mass {top_mass:.4}"
        );
    }
}

//! The discrete-event engine: integer-nanosecond time, a future-event set
//! ordered by (time, sequence number), and per-name random streams.
//!
//! The engine knows nothing about services or requests: it orders small
//! `Copy` messages addressed to integer targets. The model layer owns the
//! components and decides what a message means.

pub mod events;
pub mod rng;
pub mod sampler;

pub use events::{Message, Scheduler};

/// Ask the processor to bring the cache lines of `*p` into its nearest
/// cache: a hint, for memory that will be read soon and is probably not
/// cached (a request's record, many events ahead). Nothing is read, so
/// nothing can change; off x86-64 it does nothing.
#[inline(always)]
pub fn prefetch<T>(p: &T) {
    prefetch_bytes((p as *const T).cast::<u8>(), std::mem::size_of::<T>());
}

/// [`prefetch`] for `len` bytes from `start`, which need not be valid
/// memory: a prefetch never faults.
#[inline(always)]
pub fn prefetch_bytes(start: *const u8, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // Every line the range touches: from its first line to its last.
        let first = start as usize & !63;
        let last = (start as usize).wrapping_add(len.max(1) - 1) & !63;
        let mut line = first;
        while line <= last {
            // SAFETY: `_mm_prefetch` is a hint to the cache hierarchy; it
            // never faults and has no effect visible to the program, for
            // any address (Intel SDM, PREFETCHh). SSE, which it needs, is
            // part of the x86-64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line as *const i8) };
            line += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (start, len);
}

/// Simulated time: integer nanoseconds since the start of the run.
pub type SimTime = u64;

/// Nanoseconds in a second.
pub const NS_PER_S: u64 = 1_000_000_000;

/// Seconds as f64 from nanoseconds.
#[inline]
pub fn secs(ns: u64) -> f64 {
    ns as f64 / NS_PER_S as f64
}

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

/// Simulated time: integer nanoseconds since the start of the run.
pub type SimTime = u64;

/// Nanoseconds in a second.
pub const NS_PER_S: u64 = 1_000_000_000;

/// Seconds as f64 from nanoseconds.
#[inline]
pub fn secs(ns: u64) -> f64 {
    ns as f64 / NS_PER_S as f64
}

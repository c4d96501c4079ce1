//! What the program around the library provides: a wall clock, and a place
//! to show progress. On the command line that is `std::time::Instant` and
//! nothing (the command draws its own bars); in the browser
//! (`wasm32-unknown-unknown`, see `web/wasm`) the page supplies both as
//! imports, because there is no system clock to ask.
//!
//! Nothing simulated reads the wall clock: it only measures how long a run
//! took (`sim.wall_s`, `sim.events_per_s`), the fields a report's
//! comparison blanks.

use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        /// Milliseconds from a fixed origin (the page's `performance.now()`).
        pub fn archsim_now_ms() -> f64;
        /// The share done of the current request, 0 to 1.
        pub fn archsim_progress(fraction: f64);
    }
}

/// A running measure of elapsed wall time.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch {
    #[cfg(not(target_arch = "wasm32"))]
    start: std::time::Instant,
    #[cfg(target_arch = "wasm32")]
    start_ms: f64,
}

impl Stopwatch {
    /// Start measuring now.
    pub fn start() -> Stopwatch {
        Stopwatch {
            #[cfg(not(target_arch = "wasm32"))]
            start: std::time::Instant::now(),
            // SAFETY: a plain import of the page's clock, no pointers.
            #[cfg(target_arch = "wasm32")]
            start_ms: unsafe { imports::archsim_now_ms() },
        }
    }

    /// Seconds since [`Stopwatch::start`].
    pub fn seconds(&self) -> f64 {
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.start.elapsed().as_secs_f64()
        }
        // SAFETY: as in `start`.
        #[cfg(target_arch = "wasm32")]
        {
            ((unsafe { imports::archsim_now_ms() }) - self.start_ms).max(0.0) / 1e3
        }
    }
}

/// Where the current piece of work sits in the whole request: a share of
/// it starts at `BASE` and spans `SPAN` (f64 bits), so that one
/// replication's progress reads as its part of a run or a sweep.
static BASE: AtomicU64 = AtomicU64::new(0);
static SPAN: AtomicU64 = AtomicU64::new(0x3FF0_0000_0000_0000); // 1.0

/// Say that the work reported next (through [`progress`]) is the share
/// `[base, base + span)` of the whole request.
pub fn set_span(base: f64, span: f64) {
    BASE.store(base.to_bits(), Ordering::Relaxed);
    SPAN.store(span.to_bits(), Ordering::Relaxed);
}

/// The current piece of work is `fraction` (0 to 1) done. The browser shows
/// it; the command line ignores it.
pub fn progress(fraction: f64) {
    let whole = f64::from_bits(BASE.load(Ordering::Relaxed))
        + f64::from_bits(SPAN.load(Ordering::Relaxed)) * fraction.clamp(0.0, 1.0);
    #[cfg(target_arch = "wasm32")]
    // SAFETY: a plain import, a number in.
    unsafe {
        imports::archsim_progress(whole)
    };
    #[cfg(not(target_arch = "wasm32"))]
    let _ = whole;
}

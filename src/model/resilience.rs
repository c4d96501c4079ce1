//! Client-side resilience mechanisms: retry backoff with jitter, retry
//! budgets and circuit breakers.
//!
//! These are plain state machines driven by the simulated clock (`now` in
//! integer nanoseconds); they schedule nothing themselves. A client or a call
//! edge asks them what to do and acts on the answer.
//!
//! # Backoff with jitter
//!
//! [`Backoff`] spaces retries exponentially: retry `k` (1 = the first retry)
//! waits up to `d = min(cap, base · 2^(k−1))`. Exponential growth alone is
//! not enough: when a shared dependency fails, many clients fail at the same
//! instant, and with identical deterministic delays they all retry at the
//! same instants again, hitting the recovering server in synchronised waves.
//! Jitter draws the delay at random below `d`, which spreads the retries of
//! many clients over time and de-synchronises them. The three modes are the
//! ones compared in M. Brooker, "Exponential Backoff and Jitter", AWS
//! Architecture Blog, 2015: no jitter (`d`), full jitter (uniform on
//! `[0, d]`) and equal jitter (`d/2` plus uniform on `[0, d/2]`).
//!
//! # Retry budgets
//!
//! Retries multiply load: with `n` attempts per call, an overloaded server
//! that fails most calls receives up to `n` times the offered load, which
//! keeps it overloaded after the original cause is gone (a retry storm, a
//! metastable failure). A [`RetryBudget`] caps retries at a fraction of the
//! original requests (`ratio`, e.g. 0.2 allows at most 20 % extra load), so
//! retry amplification is bounded at `1 + ratio` however many attempts a
//! policy allows, and a storm cannot sustain itself. A floor of `min_per_s`
//! retries per second keeps retries possible at low traffic, where a ratio of
//! very few requests would be almost nothing. The idea follows Envoy's
//! `retry_budget` (`budget_percent`, `min_retry_concurrency`) and gRPC's retry
//! throttling (gRFC A6); here it is counted over a sliding time window rather
//! than over in-flight requests or with a token bucket.
//!
//! # Circuit breakers
//!
//! A [`CircuitBreaker`] stops calling a dependency that is failing, so the
//! caller fails fast instead of waiting on timeouts and the dependency gets
//! room to recover (M. Nygard, "Release It!", 2007; the states and the
//! failure-ratio-over-a-window trigger follow the common design of, e.g.,
//! Resilience4j's breaker). Its states:
//!
//! - [`BreakerState::Closed`]: calls pass; their results are counted over a
//!   sliding window. When at least `min_calls` calls finished in the window
//!   and the failure ratio reaches `failure_ratio`, the breaker opens.
//! - [`BreakerState::Open`]: every call is rejected for `open_for`.
//! - [`BreakerState::HalfOpen`]: after `open_for`, a few probe calls
//!   (`half_open_probes`) pass and the others are rejected. If every probe
//!   succeeds the breaker closes with an empty window; if any probe fails it
//!   opens again for another `open_for`.
//!
//! # Sliding windows
//!
//! Both the budget and the breaker count over a window of `window` ns kept in
//! [`BUCKETS`] fixed buckets of `ceil(window / BUCKETS)` ns each, with no
//! allocation after construction. The current bucket is partly filled, so an
//! event is counted for between `(BUCKETS − 1)/BUCKETS` of the window and the
//! whole window after it happened (when `BUCKETS` divides `window`).

use crate::engine::SimTime;
use crate::engine::rng::Rng;
use rand::RngExt;

/// Number of buckets a sliding window is kept in.
pub const BUCKETS: usize = 10;

/// Nanoseconds per second.
const NS_PER_S: f64 = 1e9;

/// Jitter mode for retry backoff (AWS Architecture Blog, "Exponential
/// Backoff and Jitter", Brooker 2015).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Wait exactly the exponential delay `d`.
    None,
    /// Wait a uniform draw on `[0, d]`.
    Full,
    /// Wait `d/2` plus a uniform draw on `[0, d/2]`.
    Equal,
}

/// Exponential backoff: attempt k (1 = first retry) waits
/// `min(cap, base·2^(k−1)) = d`, then None: `d`; Full: uniform `[0, d]`;
/// Equal: `d/2` + uniform `[0, d/2]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Delay before the first retry, in ns (before jitter).
    pub base: SimTime,
    /// Largest delay, in ns (before jitter).
    pub cap: SimTime,
    /// How the delay is randomised.
    pub jitter: Jitter,
}

impl Backoff {
    /// The un-jittered delay `d` for retry `attempt` (>= 1; 0 is treated as
    /// 1), saturating: huge attempt numbers give `cap`, never an overflow.
    pub fn ceiling(&self, attempt: u32) -> SimTime {
        let doublings = attempt.max(1) - 1;
        let d = if self.base == 0 {
            0
        } else if doublings >= u64::BITS - 1 {
            // base · 2^63 or more overflows for every base >= 2 and reaches
            // 2^63 for base 1; saturate either way.
            if doublings == u64::BITS - 1 && self.base == 1 {
                1 << (u64::BITS - 1)
            } else {
                SimTime::MAX
            }
        } else {
            self.base.saturating_mul(1 << doublings)
        };
        d.min(self.cap)
    }

    /// The delay to wait before retry `attempt`, drawing jitter from `rng`
    /// (no draw for [`Jitter::None`]).
    ///
    /// For an odd `d`, equal jitter draws on `[d/2, d]` with `d/2` rounded
    /// down, so the delay never exceeds `d`.
    pub fn delay(&self, attempt: u32, rng: &mut Rng) -> SimTime {
        let d = self.ceiling(attempt);
        match self.jitter {
            Jitter::None => d,
            Jitter::Full => rng.random_range(0..=d),
            Jitter::Equal => {
                let half = d / 2;
                half + rng.random_range(0..=d - half)
            }
        }
    }
}

/// A sliding window of two counters kept in [`BUCKETS`] fixed buckets.
#[derive(Clone, Debug)]
struct Window {
    /// Width of one bucket in ns (>= 1).
    width: SimTime,
    /// Bucket number (`now / width`) of the newest bucket.
    head: u64,
    /// Counts per bucket; bucket number `e` lives at index `e % BUCKETS`.
    counts: [[u64; 2]; BUCKETS],
    /// Sums of `counts` over all buckets.
    total: [u64; 2],
}

impl Window {
    fn new(window: SimTime) -> Window {
        Window {
            width: window.div_ceil(BUCKETS as u64).max(1),
            head: 0,
            counts: [[0; 2]; BUCKETS],
            total: [0; 2],
        }
    }

    /// Moves the window to `now`, forgetting buckets that slid out. A `now`
    /// earlier than the newest bucket counts into the newest bucket.
    fn advance(&mut self, now: SimTime) {
        let epoch = now / self.width;
        if epoch <= self.head {
            return;
        }
        let steps = (epoch - self.head).min(BUCKETS as u64);
        for i in 1..=steps {
            let idx = ((self.head + i) % BUCKETS as u64) as usize;
            for (t, c) in self.total.iter_mut().zip(self.counts[idx]) {
                *t -= c;
            }
            self.counts[idx] = [0; 2];
        }
        self.head = epoch;
    }

    /// Counts one event of kind `which` (0 or 1) at `now`.
    fn add(&mut self, now: SimTime, which: usize) {
        self.advance(now);
        let idx = (self.head % BUCKETS as u64) as usize;
        self.counts[idx][which] += 1;
        self.total[which] += 1;
    }

    /// Both counters summed over the window ending at `now`.
    fn totals(&mut self, now: SimTime) -> [u64; 2] {
        self.advance(now);
        self.total
    }

    /// Forgets everything counted so far.
    fn clear(&mut self) {
        self.counts = [[0; 2]; BUCKETS];
        self.total = [0; 2];
    }
}

/// Index of original requests in a budget's window.
const REQUESTS: usize = 0;
/// Index of retries in a budget's window.
const RETRIES: usize = 1;

/// A retry budget as Envoy's `retry_budget` / gRPC's retry throttling intend:
/// retries over a sliding window may be at most `ratio` × original requests
/// in the same window, but at least `min_per_s` retries per second (averaged
/// over the window) are always allowed.
///
/// A retry is allowed when, counting it, the window's retries are at most
/// `max(ratio · requests, min_per_s · window / 1 s)`. The window is kept in
/// [`BUCKETS`] buckets (see the module documentation).
#[derive(Clone, Debug)]
pub struct RetryBudget {
    ratio: f64,
    min_per_s: f64,
    window: SimTime,
    counts: Window,
    refused: u64,
}

impl RetryBudget {
    /// A budget allowing retries up to `ratio` × requests over `window` ns,
    /// and at least `min_per_s` retries per second.
    ///
    /// # Panics
    ///
    /// If `ratio` or `min_per_s` is negative or not finite, or `window` is 0.
    pub fn new(ratio: f64, min_per_s: f64, window: SimTime) -> RetryBudget {
        assert!(
            ratio.is_finite() && ratio >= 0.0,
            "retry budget ratio must be finite and >= 0"
        );
        assert!(
            min_per_s.is_finite() && min_per_s >= 0.0,
            "retry budget min_per_s must be finite and >= 0"
        );
        assert!(window > 0, "retry budget window must be > 0");
        RetryBudget {
            ratio,
            min_per_s,
            window,
            counts: Window::new(window),
            refused: 0,
        }
    }

    /// Record an original (first-attempt) request at `now`.
    pub fn on_request(&mut self, now: SimTime) {
        self.counts.add(now, REQUESTS);
    }

    /// May a retry be sent at `now`? If yes, it is recorded as spent.
    pub fn try_retry(&mut self, now: SimTime) -> bool {
        let [requests, retries] = self.counts.totals(now);
        let next = (retries + 1) as f64;
        // Compare by division: a quotient of exact integers is rounded
        // correctly, so e.g. 200/1000 equals the literal 0.2, where
        // 0.29 · 100 would round below 29.
        let by_ratio = requests > 0 && next / requests as f64 <= self.ratio;
        let by_floor = next * NS_PER_S / self.window as f64 <= self.min_per_s;
        if by_ratio || by_floor {
            self.counts.add(now, RETRIES);
            true
        } else {
            self.refused += 1;
            false
        }
    }

    /// Retries refused so far (for metrics).
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

/// Circuit breaker states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass and their results are counted.
    Closed,
    /// Calls are rejected until `open_for` has passed.
    Open,
    /// A limited number of probe calls pass; the rest are rejected.
    HalfOpen,
}

/// Index of successes in a breaker's window.
const SUCCESSES: usize = 0;
/// Index of failures in a breaker's window.
const FAILURES: usize = 1;

/// Closed → Open when, over the last `window` ns, at least `min_calls` calls
/// finished and the failure ratio >= `failure_ratio`; Open rejects calls for
/// `open_for` ns, then HalfOpen lets `half_open_probes` calls through (others
/// rejected); if all probes succeed → Closed (window cleared), if any fails
/// → Open again.
///
/// The breaker cannot tell a probe's result from that of a call admitted
/// while it was still Closed: in HalfOpen, a result counts as a probe result
/// while fewer results than admitted probes have arrived, and is ignored
/// otherwise. Results that arrive while Open are ignored.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    failure_ratio: f64,
    open_for: SimTime,
    probes: u32,
    min_calls: u32,
    calls: Window,
    state: BreakerState,
    opened_at: SimTime,
    probes_admitted: u32,
    probes_succeeded: u32,
    opened: u64,
    rejected: u64,
}

impl CircuitBreaker {
    /// A closed breaker. `half_open_probes` and `min_calls` of 0 are treated
    /// as 1.
    ///
    /// # Panics
    ///
    /// If `failure_ratio` is not in `(0, 1]` or `window` is 0.
    pub fn new(
        failure_ratio: f64,
        window: SimTime,
        open_for: SimTime,
        half_open_probes: u32,
        min_calls: u32,
    ) -> CircuitBreaker {
        assert!(
            failure_ratio > 0.0 && failure_ratio <= 1.0,
            "circuit breaker failure_ratio must be in (0, 1]"
        );
        assert!(window > 0, "circuit breaker window must be > 0");
        CircuitBreaker {
            failure_ratio,
            open_for,
            probes: half_open_probes.max(1),
            min_calls: min_calls.max(1),
            calls: Window::new(window),
            state: BreakerState::Closed,
            opened_at: 0,
            probes_admitted: 0,
            probes_succeeded: 0,
            opened: 0,
            rejected: 0,
        }
    }

    /// May a call start at `now`? (Moves Open → HalfOpen when `open_for` has
    /// passed; counts probes in HalfOpen.)
    pub fn allow(&mut self, now: SimTime) -> bool {
        if self.state == BreakerState::Open && now >= self.opened_at.saturating_add(self.open_for) {
            self.state = BreakerState::HalfOpen;
            self.probes_admitted = 0;
            self.probes_succeeded = 0;
        }
        let allowed = match self.state {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                if self.probes_admitted < self.probes {
                    self.probes_admitted += 1;
                    true
                } else {
                    false
                }
            }
        };
        if !allowed {
            self.rejected += 1;
        }
        allowed
    }

    /// A call that was allowed finished at `now`.
    pub fn record(&mut self, now: SimTime, success: bool) {
        match self.state {
            BreakerState::Closed => {
                self.calls.add(now, if success { SUCCESSES } else { FAILURES });
                let [ok, failed] = self.calls.totals(now);
                let finished = ok + failed;
                // Division of exact integers rounds correctly, so 3/10
                // reaches a threshold of 0.3 exactly.
                if finished >= u64::from(self.min_calls)
                    && failed as f64 / finished as f64 >= self.failure_ratio
                {
                    self.trip(now);
                }
            }
            BreakerState::Open => {}
            BreakerState::HalfOpen => {
                if self.probes_succeeded >= self.probes_admitted {
                    // No probe outstanding: a straggler from before.
                    return;
                }
                if success {
                    self.probes_succeeded += 1;
                    if self.probes_succeeded >= self.probes {
                        self.state = BreakerState::Closed;
                        self.calls.clear();
                    }
                } else {
                    self.trip(now);
                }
            }
        }
    }

    /// Opens the breaker at `now`.
    fn trip(&mut self, now: SimTime) {
        self.state = BreakerState::Open;
        self.opened_at = now;
        self.opened += 1;
        self.calls.clear();
    }

    /// The state as of the last call to [`allow`](Self::allow) or
    /// [`record`](Self::record) (Open → HalfOpen happens in `allow`).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Times it went Closed/HalfOpen → Open (for metrics).
    pub fn opened(&self) -> u64 {
        self.opened
    }

    /// Calls rejected by [`allow`](Self::allow) so far (for metrics).
    pub fn rejected(&self) -> u64 {
        self.rejected
    }
}

/// A retry policy, resolved (`retry:` on a client or a call edge).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryCfg {
    /// Attempts in all, the first included (>= 1).
    pub max_attempts: u16,
    /// Delay before each retry.
    pub backoff: Backoff,
    /// Retry budget: (ratio, min retries per second, window ns).
    pub budget: Option<(f64, f64, SimTime)>,
}

/// A circuit breaker, resolved (`circuit_breaker:` on a client or a call edge).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerCfg {
    /// Failure ratio over the window that opens it.
    pub failure_ratio: f64,
    /// Sliding window, ns.
    pub window: SimTime,
    /// How long it stays open, ns.
    pub open_for: SimTime,
    /// Probe calls let through when half open.
    pub half_open_probes: u32,
    /// Calls finished in the window before it may open.
    pub min_calls: u32,
}

/// How one caller calls one target: the timeout of each attempt, retries,
/// a circuit breaker, and whether its writes carry idempotency keys.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CallPolicy {
    /// Give up on an attempt after this many ns.
    pub timeout: Option<SimTime>,
    /// Retry failed and timed-out attempts.
    pub retry: Option<RetryCfg>,
    /// Stop calling while the target fails.
    pub breaker: Option<BreakerCfg>,
    /// Writes carry an idempotency key: a retried write is applied once.
    pub idempotent: bool,
}

impl CallPolicy {
    /// Whether calls need the attempt machinery (retries or a breaker).
    pub fn guarded(&self) -> bool {
        self.retry.is_some() || self.breaker.is_some()
    }

    /// The longest a caller may wait for an answer with all its attempts
    /// (ns; 0 without a timeout).
    pub fn longest_wait(&self) -> SimTime {
        let Some(t) = self.timeout else { return 0 };
        let attempts = self.retry.map_or(1, |r| u64::from(r.max_attempts));
        let cap = self.retry.map_or(0, |r| r.backoff.cap);
        attempts.saturating_mul(t.saturating_add(cap))
    }
}

/// The running state of one [`CallPolicy`] at one caller: its breaker, its
/// budget, its backoff stream and its counters. Clients and services both
/// drive their calls through it, so retries behave the same at every hop.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The policy.
    pub policy: CallPolicy,
    breaker: Option<CircuitBreaker>,
    budget: Option<RetryBudget>,
    /// Retries sent since warm-up.
    pub retries: u64,
    /// Retries the budget refused since warm-up.
    pub budget_refused: u64,
    /// Calls the open breaker failed at once since warm-up.
    pub breaker_rejected: u64,
    /// Times the breaker opened since warm-up.
    pub breaker_opened: u64,
}

impl Caller {
    /// A caller with a closed breaker and an empty budget.
    pub fn new(policy: CallPolicy) -> Caller {
        Caller {
            policy,
            breaker: policy.breaker.map(|b| {
                CircuitBreaker::new(
                    b.failure_ratio,
                    b.window,
                    b.open_for,
                    b.half_open_probes,
                    b.min_calls,
                )
            }),
            budget: policy
                .retry
                .and_then(|r| r.budget)
                .map(|(ratio, min, window)| RetryBudget::new(ratio, min, window)),
            retries: 0,
            budget_refused: 0,
            breaker_rejected: 0,
            breaker_opened: 0,
        }
    }

    /// May an attempt start now? `first` marks a request's first attempt
    /// (the budget counts those). Counts the breaker's refusals when `counted`.
    pub fn admit(&mut self, now: SimTime, first: bool, counted: bool) -> bool {
        if first && let Some(b) = &mut self.budget {
            b.on_request(now);
        }
        match &mut self.breaker {
            Some(b) => {
                let ok = b.allow(now);
                if !ok && counted {
                    self.breaker_rejected += 1;
                }
                ok
            }
            None => true,
        }
    }

    /// An admitted attempt ended (a timeout is a failure).
    pub fn result(&mut self, now: SimTime, ok: bool, counted: bool) {
        if let Some(b) = &mut self.breaker {
            let before = b.opened();
            b.record(now, ok);
            if counted {
                self.breaker_opened += b.opened() - before;
            }
        }
    }

    /// After attempt number `made` (1 = the first) failed: the delay before
    /// the next attempt, or `None` when the policy gives up (no attempts
    /// left, or the budget is spent). Counts the retry when `counted`.
    pub fn retry_after(&mut self, now: SimTime, made: u16, rng: &mut Rng, counted: bool) -> Option<SimTime> {
        let r = self.policy.retry?;
        if made >= r.max_attempts {
            return None;
        }
        if let Some(b) = &mut self.budget
            && !b.try_retry(now)
        {
            if counted {
                self.budget_refused += 1;
            }
            return None;
        }
        if counted {
            self.retries += 1;
        }
        Some(r.backoff.delay(u32::from(made), rng))
    }

    /// Warm-up ends: counters restart (state is kept).
    pub fn reset_counts(&mut self) {
        self.retries = 0;
        self.budget_refused = 0;
        self.breaker_rejected = 0;
        self.breaker_opened = 0;
    }

    /// Adds this caller's counters under `prefix` (e.g. `clients.web.`).
    pub fn report(&self, prefix: &str, out: &mut super::Metrics) {
        if self.policy.retry.is_some() {
            *out.entry(format!("{prefix}retries")).or_insert(0.0) += self.retries as f64;
            if self.budget.is_some() {
                *out.entry(format!("{prefix}retries_refused")).or_insert(0.0) += self.budget_refused as f64;
            }
        }
        if self.breaker.is_some() {
            *out.entry(format!("{prefix}breaker_opened")).or_insert(0.0) += self.breaker_opened as f64;
            *out.entry(format!("{prefix}breaker_rejected")).or_insert(0.0) += self.breaker_rejected as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const MS: SimTime = 1_000_000;
    const S: SimTime = 1_000_000_000;

    fn backoff(jitter: Jitter) -> Backoff {
        Backoff {
            base: 1_000,
            cap: 1_000_000,
            jitter,
        }
    }

    #[test]
    fn backoff_ceiling_doubles_from_base_and_caps() {
        let b = backoff(Jitter::None);
        assert_eq!(b.ceiling(1), 1_000);
        assert_eq!(b.ceiling(0), 1_000);
        assert_eq!(b.ceiling(2), 2_000);
        assert_eq!(b.ceiling(3), 4_000);
        assert_eq!(b.ceiling(10), 512_000);
        assert_eq!(b.ceiling(11), 1_000_000); // 1_024_000 capped
        assert_eq!(b.ceiling(12), 1_000_000);
        let low_cap = Backoff {
            base: 5_000,
            cap: 3_000,
            jitter: Jitter::None,
        };
        assert_eq!(low_cap.ceiling(1), 3_000);
        let zero = Backoff {
            base: 0,
            cap: SimTime::MAX,
            jitter: Jitter::Full,
        };
        assert_eq!(zero.ceiling(1_000), 0);
        assert_eq!(zero.delay(1_000, &mut Rng::seed_from_u64(1)), 0);
    }

    #[test]
    fn backoff_huge_attempts_saturate() {
        let b = backoff(Jitter::None);
        assert_eq!(b.ceiling(64), 1_000_000);
        assert_eq!(b.ceiling(65), 1_000_000);
        assert_eq!(b.ceiling(u32::MAX), 1_000_000);
        let uncapped = Backoff {
            base: 3,
            cap: SimTime::MAX,
            jitter: Jitter::None,
        };
        assert_eq!(uncapped.ceiling(62), 3 << 61);
        assert_eq!(uncapped.ceiling(63), 3 << 62);
        assert_eq!(uncapped.ceiling(64), SimTime::MAX);
        assert_eq!(uncapped.ceiling(200), SimTime::MAX);
        assert_eq!(uncapped.ceiling(u32::MAX), SimTime::MAX);
        let one = Backoff {
            base: 1,
            cap: SimTime::MAX,
            jitter: Jitter::None,
        };
        assert_eq!(one.ceiling(64), 1 << 63);
        assert_eq!(one.ceiling(65), SimTime::MAX);
        let mut rng = Rng::seed_from_u64(7);
        for jitter in [Jitter::None, Jitter::Full, Jitter::Equal] {
            let b = Backoff {
                base: 3,
                cap: SimTime::MAX,
                jitter,
            };
            for _ in 0..100 {
                let d = b.delay(u32::MAX, &mut rng);
                if jitter == Jitter::Equal {
                    assert!(d >= SimTime::MAX / 2);
                }
            }
            assert_eq!(
                b.delay(u32::MAX, &mut rng) == SimTime::MAX,
                jitter == Jitter::None
            );
        }
    }

    #[test]
    fn backoff_none_is_exactly_ceiling_and_draws_nothing() {
        let b = backoff(Jitter::None);
        let mut rng = Rng::seed_from_u64(1);
        let mut untouched = Rng::seed_from_u64(1);
        for attempt in 1..=20 {
            for _ in 0..100 {
                assert_eq!(b.delay(attempt, &mut rng), b.ceiling(attempt));
            }
        }
        assert_eq!(rng.random::<u64>(), untouched.random::<u64>());
    }

    /// Draws `n` delays for `attempt`; returns (min, max, mean).
    fn draw(b: &Backoff, attempt: u32, n: u32, rng: &mut Rng) -> (SimTime, SimTime, f64) {
        let (mut lo, mut hi, mut sum) = (SimTime::MAX, 0, 0.0);
        for _ in 0..n {
            let d = b.delay(attempt, rng);
            lo = lo.min(d);
            hi = hi.max(d);
            sum += d as f64;
        }
        (lo, hi, sum / f64::from(n))
    }

    #[test]
    fn backoff_full_jitter_bounds_and_mean() {
        let b = backoff(Jitter::Full);
        let mut rng = Rng::seed_from_u64(2);
        for attempt in 1..=14 {
            let c = b.ceiling(attempt);
            let (lo, hi, mean) = draw(&b, attempt, 20_000, &mut rng);
            assert!(hi <= c, "attempt {attempt}: max {hi} > ceiling {c}");
            assert!(hi <= b.cap);
            // Uniform on [0, c]: the extremes of 20 000 draws come close.
            assert!(lo <= c / 100, "attempt {attempt}: min {lo}");
            assert!(hi >= c - c / 100, "attempt {attempt}: max {hi}");
            let expect = c as f64 / 2.0;
            assert!(
                (mean - expect).abs() <= 0.03 * expect,
                "attempt {attempt}: mean {mean} vs {expect}"
            );
        }
    }

    #[test]
    fn backoff_equal_jitter_bounds_and_mean() {
        let b = backoff(Jitter::Equal);
        let mut rng = Rng::seed_from_u64(3);
        for attempt in 1..=14 {
            let c = b.ceiling(attempt);
            let (lo, hi, mean) = draw(&b, attempt, 20_000, &mut rng);
            assert!(lo >= c / 2, "attempt {attempt}: min {lo} < {}", c / 2);
            assert!(hi <= c, "attempt {attempt}: max {hi} > ceiling {c}");
            assert!(
                lo <= c / 2 + c / 100 && hi >= c - c / 100,
                "attempt {attempt}: [{lo}, {hi}]"
            );
            let expect = 0.75 * c as f64;
            assert!(
                (mean - expect).abs() <= 0.03 * expect,
                "attempt {attempt}: mean {mean} vs {expect}"
            );
        }
    }

    #[test]
    fn backoff_odd_ceiling_stays_in_bounds() {
        let mut rng = Rng::seed_from_u64(4);
        for jitter in [Jitter::Full, Jitter::Equal] {
            let b = Backoff {
                base: 3,
                cap: 3,
                jitter,
            };
            let mut seen = [false; 4];
            for _ in 0..1_000 {
                seen[b.delay(1, &mut rng) as usize] = true;
            }
            let expect = if jitter == Jitter::Full {
                [true; 4]
            } else {
                [false, true, true, true]
            };
            assert_eq!(seen, expect, "{jitter:?}");
        }
    }

    #[test]
    fn retry_budget_ratio_allows_exactly_its_share() {
        let mut budget = RetryBudget::new(0.2, 0.0, S);
        assert!(!budget.try_retry(0), "no requests, no floor: no retries");
        for i in 0..1_000 {
            budget.on_request(i);
        }
        let allowed = (0..1_000).filter(|i| budget.try_retry(1_000 + i)).count();
        assert_eq!(allowed, 200);
        assert!(!budget.try_retry(5 * MS));
        assert_eq!(budget.refused(), 1 + 800 + 1);
        // A ratio that does not multiply exactly: 0.29 · 100 < 29 in f64.
        let mut budget = RetryBudget::new(0.29, 0.0, S);
        for _ in 0..100 {
            budget.on_request(0);
        }
        assert_eq!((0..100).filter(|_| budget.try_retry(0)).count(), 29);
    }

    #[test]
    fn retry_budget_refills_after_window_slides() {
        // 1 s window in ten 100 ms buckets.
        let mut budget = RetryBudget::new(0.2, 0.0, S);
        for _ in 0..1_000 {
            budget.on_request(10 * MS);
        }
        assert_eq!((0..300).filter(|_| budget.try_retry(20 * MS)).count(), 200);
        // Half a second later: still the same window, still spent.
        assert!(!budget.try_retry(500 * MS));
        // 500 more requests: 1 500 in the window, 300 retries allowed in all.
        for _ in 0..500 {
            budget.on_request(550 * MS);
        }
        assert_eq!((0..300).filter(|_| budget.try_retry(560 * MS)).count(), 100);
        // At 1.2 s the first 1 000 requests and their 200 retries slid out;
        // 500 requests and 100 retries from 0.55 s remain: spent.
        assert!(!budget.try_retry(1_200 * MS));
        for _ in 0..5 {
            budget.on_request(1_200 * MS);
        }
        assert!(budget.try_retry(1_200 * MS));
        assert!(!budget.try_retry(1_200 * MS));
        // At 2 s everything slid out: 1 000 fresh requests give 200 again.
        for _ in 0..1_000 {
            budget.on_request(2 * S);
        }
        assert_eq!((0..300).filter(|_| budget.try_retry(2 * S)).count(), 200);
    }

    #[test]
    fn retry_budget_min_per_second_without_requests() {
        let mut budget = RetryBudget::new(0.2, 5.0, S);
        assert_eq!((0..20).filter(|_| budget.try_retry(0)).count(), 5);
        assert_eq!((0..20).filter(|_| budget.try_retry(900 * MS)).count(), 0);
        assert_eq!((0..20).filter(|_| budget.try_retry(S)).count(), 5);
        assert_eq!((0..20).filter(|_| budget.try_retry(2 * S + 50 * MS)).count(), 5);
        // Over a 2 s window the floor is 10 retries per window.
        let mut budget = RetryBudget::new(0.0, 5.0, 2 * S);
        assert_eq!((0..20).filter(|_| budget.try_retry(0)).count(), 10);
        // 0.5 per second over a 10 s window: 5 per window.
        let mut budget = RetryBudget::new(0.0, 0.5, 10 * S);
        assert_eq!((0..20).filter(|_| budget.try_retry(S)).count(), 5);
    }

    #[test]
    fn retry_budget_takes_larger_of_ratio_and_floor() {
        let mut budget = RetryBudget::new(0.2, 5.0, S);
        for _ in 0..100 {
            budget.on_request(0);
        }
        assert_eq!((0..100).filter(|_| budget.try_retry(0)).count(), 20);
        let mut budget = RetryBudget::new(0.2, 5.0, S);
        for _ in 0..10 {
            budget.on_request(0);
        }
        assert_eq!((0..100).filter(|_| budget.try_retry(0)).count(), 5);
    }

    /// One allowed call finishing at once with `success`.
    fn call(b: &mut CircuitBreaker, now: SimTime, success: bool) {
        assert!(b.allow(now), "call at {now} rejected in {:?}", b.state());
        b.record(now, success);
    }

    #[test]
    fn breaker_full_state_machine_walk() {
        // 50 % over a 10 s window, open 1 s, 3 probes, at least 10 calls.
        let mut b = CircuitBreaker::new(0.5, 10 * S, S, 3, 10);
        let mut t = 0;
        for _ in 0..20 {
            call(&mut b, t, true);
            t += MS;
        }
        assert_eq!(b.state(), BreakerState::Closed);
        // 19 failures: 19/39 < 0.5.
        for _ in 0..19 {
            call(&mut b, t, false);
            t += MS;
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.opened(), 0);
        // The 20th: 20/40 = 0.5 opens.
        call(&mut b, t, false);
        let opened_at = t;
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.opened(), 1);
        // Rejected for open_for.
        assert!(!b.allow(opened_at));
        assert!(!b.allow(opened_at + S / 2));
        assert!(!b.allow(opened_at + S - 1));
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.rejected(), 3);
        // Then half-open admits exactly 3 probes.
        let t = opened_at + S;
        assert_eq!((0..10).filter(|_| b.allow(t)).count(), 3);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.rejected(), 10);
        // One probe succeeds, the next fails: open again.
        b.record(t + MS, true);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        b.record(t + 2 * MS, false);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.opened(), 2);
        // The third probe's result arrives while open: ignored.
        b.record(t + 3 * MS, false);
        assert_eq!(b.opened(), 2);
        let reopened_at = t + 2 * MS;
        assert!(!b.allow(reopened_at + S - 1));
        // Half-open again; all 3 probes succeed: closed.
        let t = reopened_at + S;
        assert_eq!((0..5).filter(|_| b.allow(t)).count(), 3);
        for i in 1..=3 {
            assert_eq!(b.state(), BreakerState::HalfOpen);
            b.record(t + i * MS, true);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.opened(), 2);
        // The 20 old failures are still inside the 10 s window, but were
        // forgotten: 9 new failures stay below min_calls...
        let t = t + 10 * MS;
        for i in 0..9 {
            call(&mut b, t + i, false);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        // ...and the 10th opens (10/10).
        call(&mut b, t + 9, false);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.opened(), 3);
    }

    #[test]
    fn breaker_below_min_calls_never_opens() {
        let mut b = CircuitBreaker::new(0.5, 10 * S, S, 1, 10);
        for i in 0..9 {
            call(&mut b, i * MS, false);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.opened(), 0);
        // The 10th call, even a success, reaches min_calls at 9/10 failed.
        call(&mut b, 9 * MS, true);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.opened(), 1);
        // Alternating results stay below a 0.6 threshold; then failures
        // open it exactly when (50 + k)/(100 + k) reaches 0.6, at k = 25.
        let mut b = CircuitBreaker::new(0.6, 10 * S, S, 1, 10);
        for i in 0..100 {
            call(&mut b, i * MS, i % 2 == 1);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        for k in 1..=25 {
            assert_eq!(b.state(), BreakerState::Closed, "k = {k}");
            call(&mut b, (100 + k) * MS, false);
        }
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn breaker_failures_outside_window_do_not_count() {
        // 1 s window in 100 ms buckets; 5 calls, all failures, would open.
        let fresh = || CircuitBreaker::new(0.5, S, S, 1, 5);
        // Control: 4 failures at 0, the 5th at 0.5 s opens.
        let mut b = fresh();
        for _ in 0..4 {
            call(&mut b, 0, false);
        }
        call(&mut b, 500 * MS, false);
        assert_eq!(b.state(), BreakerState::Open);
        // 4 failures at 0 have slid out by 1 s: then 1 failure and 3
        // successes (4 calls) stay closed, and a 5th call at 25 % too.
        let mut b = fresh();
        for _ in 0..4 {
            call(&mut b, 0, false);
        }
        call(&mut b, S, false);
        for i in 1..=3 {
            call(&mut b, S + i, true);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        call(&mut b, S + 4, true); // 1 failure of 5
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.opened(), 0);
        // Spread failures, one every 300 ms, never have 5 in a window.
        let mut b = fresh();
        for i in 0..100 {
            call(&mut b, i * 300 * MS, false);
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn breaker_straggler_results_in_half_open_are_ignored() {
        let mut b = CircuitBreaker::new(1.0, S, S, 2, 1);
        call(&mut b, 0, false);
        assert_eq!(b.state(), BreakerState::Open);
        // Results arriving while open are ignored.
        b.record(S / 2, true);
        assert_eq!(b.state(), BreakerState::Open);
        // Half-open: one probe admitted and succeeded; with no probe
        // outstanding a late failure is a straggler, not a probe.
        assert!(b.allow(S));
        b.record(S, true);
        b.record(S, false);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.opened(), 1);
        // The second probe succeeds: closed.
        assert!(b.allow(S));
        assert!(!b.allow(S));
        b.record(S, true);
        assert_eq!(b.state(), BreakerState::Closed);
        // A result after closing is a normal call again.
        b.record(S + 1, false);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.opened(), 2);
    }
}

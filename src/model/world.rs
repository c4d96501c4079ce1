//! One simulation: the [`World`] that owns the components, runs the event
//! loop, applies faults, samples the time series, watches for zero-time
//! loops and collects the results.

use super::component::Component;
use super::config::{Config, FaultAction, FaultCfg, NETWORK, RandomFaultCfg, build};
use super::ctx::{Ctx, IntervalStats, Metrics, ReportCtx, Versions};
use super::msg::{Msg, WORLD};
use super::network::Groups;
use super::request::Arena;
use super::{client, trace};
use crate::engine::rng::Rng;
use crate::engine::{Scheduler, SimTime};
use crate::math;

/// Why a run ended before its duration.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    /// More requests were in flight than the limit: the system is unstable.
    TooManyInFlight(usize),
    /// Simulated time stopped advancing: events kept coming at one instant
    /// (a zero-time loop). Holds the message for the user.
    Livelock(String),
}

/// Events dispatched at one simulated instant, with the clock never moving,
/// after which a run is suspected of a zero-time loop: 2^24, about 16.8
/// million. A legitimate burst at one instant is a handful of zero-time
/// hops per request released together (until some service time, think
/// time or latency above zero spaces them out): 100,000 closed-loop users
/// starting at t = 0 with ten hops each is one million events, and a
/// replica crashing with the default limit of one million requests in
/// flight fails them all with a few events each. The threshold is several
/// times either, and grows with the closed-loop users a scenario declares
/// (see [`LIVELOCK_EVENTS_PER_USER`]); at tens of millions of events per
/// second, a real loop is still reported within a second or two.
pub const LIVELOCK_EVENTS: u64 = 1 << 24;

/// Extra events allowed at one instant per closed-loop user before a run
/// is suspected of a zero-time loop: every user may start at t = 0, and
/// 64 zero-time hops per request is more than any call chain needs.
pub const LIVELOCK_EVENTS_PER_USER: u64 = 64;

/// Simulated time that [`World::livelock_threshold`] events must cover for
/// the clock to count as moving: 1 µs. Less than that is a clock that
/// crawls — a loop of near-zero delays (1 ns think times, retries with no
/// backoff against a component that rejects at once) that moves the clock
/// so little per event that the run would take hours of wall time per
/// simulated millisecond. At 16.8 million events a microsecond the pace is
/// 1.7e13 events per simulated second; a legitimate model has a thousand
/// times fewer (a 1e9/s client with ten hops a request is 1e10), and even
/// 100,000 closed-loop users with a 1 µs think time cover 17 µs.
pub const CRAWL_NS: SimTime = 1_000;

/// Events dispatched after a zero-time loop is suspected, counting which
/// component receives each, before the run is stopped (if the clock has
/// still not moved): enough to rank the components that take part.
const LIVELOCK_CENSUS: u64 = 1 << 18;

/// A simulated time in the largest unit that keeps it at least 1
/// (`4 ns`, `996 ns`, `1.5 ms`, `20 s`), for messages.
fn short_time(t: SimTime) -> String {
    let t = t as f64;
    let (v, unit) = if t >= 1e9 {
        (t / 1e9, "s")
    } else if t >= 1e6 {
        (t / 1e6, "ms")
    } else if t >= 1e3 {
        (t / 1e3, "µs")
    } else {
        (t, "ns")
    };
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} {unit}")
}

/// `n` with commas between groups of three digits (17,104,896).
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How many events apart the run loop checks for cancellation, timers to
/// drop and a stuck clock (a mask on the count of dispatched events).
const CHECK_EVERY: u64 = 0xFFFF;

/// What a periodic check found.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Checked {
    /// Carry on.
    Go,
    /// The cancel flag was raised.
    Cancelled,
}

/// Something on the time axis worth marking (a fault's active interval).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Annotation {
    /// Start, seconds of simulated time.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Short label drawn on the shading.
    pub label: String,
}

/// The result of one simulated run (one replication).
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// Metric values.
    pub metrics: Metrics,
    /// Human-readable findings (instability, saturation).
    pub notes: Vec<String>,
    /// Time-series column names (first is `t_s`).
    pub columns: Vec<String>,
    /// Time-series rows, one per interval (kept for the first replication
    /// only by [`crate::run::run_replications`]).
    pub rows: Vec<Vec<f64>>,
    /// Overall latency histogram of successful requests.
    pub latency: crate::stats::Histogram,
    /// Events dispatched.
    pub events: u64,
    /// Trajectory fingerprint.
    pub fingerprint: u64,
    /// Wall-clock seconds the simulation took.
    pub wall_s: f64,
    /// Time intervals to mark on time charts (fault windows).
    pub annotations: Vec<Annotation>,
    /// Highest number of request records alive at once (the arena's
    /// high-water mark: memory is bounded by it).
    pub peak_requests: usize,
    /// With `--trace`: lines written, or why the trace could not be written.
    pub trace: Option<Result<u64, String>>,
    /// The run was stopped because simulated time stopped advancing (a
    /// zero-time loop): the message for the user, naming the components
    /// that took the most events at that instant and what to change. The
    /// metrics of such a run describe only the time before it stopped and
    /// should not be shown as results.
    pub livelock: Option<String>,
    /// Events the future-event set has room for (see
    /// [`Scheduler::reserved`]): its memory high-water mark, bounded by the
    /// events in flight rather than by every timer ever set.
    pub event_slots: usize,
    /// What each alerting rule did (see [`super::alerts`]).
    pub alerts: Vec<super::alerts::AlertLog>,
}

/// One simulation: the components and their shared context.
pub struct World {
    trace: Option<trace::Tracer>,
    comps: Vec<Box<dyn Component>>,
    ctx: Ctx,
    end: SimTime,
    drain: SimTime,
    interval: SimTime,
    columns: Vec<String>,
    rows: Vec<Vec<f64>>,
    events: Vec<(SimTime, u32, u32)>,
    faults: Vec<FaultCfg>,
    random_faults: Vec<RandomFaultCfg>,
    partitions: Vec<std::sync::Arc<Groups>>,
    latencies: Vec<(std::sync::Arc<Groups>, u64)>,
    fault_rng: Vec<Rng>,
    /// Start of each random fault instance's current outage.
    down_since: Vec<Vec<Option<SimTime>>>,
    annotations: Vec<Annotation>,
    /// The simulated time seen by the last periodic check, and the number
    /// of events dispatched when the clock was first seen there.
    instant: (SimTime, u64),
    /// The simulated time and events dispatched at the start of the current
    /// window of `livelock_after` events (for a clock that crawls, see
    /// [`CRAWL_NS`]).
    window: (SimTime, u64),
    /// Events at one instant before a zero-time loop is suspected.
    livelock_after: u64,
    /// The scenario sets a price: report the cost per hour and per month.
    priced: bool,
    /// Alerting rules, evaluated over the rows at the end.
    alerts: Vec<super::alerts::AlertCfg>,
    /// Their evaluation interval.
    alert_interval: SimTime,
}

/// The scenario-wide time-series columns every run has, first in
/// timeseries.csv; the components' own (`api.replicas`, `db.utilization`…)
/// follow.
pub const RUN_COLUMNS: [&str; 9] = [
    "t_s",
    "throughput_rps",
    "errors",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "availability",
    "latency_all_p99_ms",
];

/// Most fault windows drawn on the time charts.
const MAX_ANNOTATIONS: usize = 100;

/// Hours in the month of `cost.per_month`: 30 days.
pub const HOURS_PER_MONTH: f64 = 720.0;

/// The clients' side of the report as the clock reached the end of the
/// window, before the drain. A run that ends overloaded (a component
/// reported an `UNSTABLE` note, or the run was stopped for too many
/// requests in flight) reports its requests from here: its backlog would
/// only finish because arrivals stop, which no real overload grants, so
/// the requests in flight at the end count as in flight, not served. A
/// stable run reports after the drain, which settles those requests.
struct AtEnd {
    /// The clients' metrics at the end (`requests.in_flight` is the backlog).
    metrics: Metrics,
    /// Their merged latency histogram, kept only for an overloaded run.
    latency: Option<crate::stats::Histogram>,
}

#[inline]
fn exp_ns(rng: &mut Rng, mean: f64) -> SimTime {
    let e: f64 = rand_distr::Distribution::sample(&rand_distr::Exp1, rng);
    ((e * mean) as SimTime).max(1)
}

impl World {
    /// Build the system for one replication with the given seed.
    pub fn new(cfg: &Config, seed: u64) -> World {
        let mut comps: Vec<Box<dyn Component>> = Vec::new();
        for (i, c) in cfg.clients.iter().enumerate() {
            comps.push(Box::new(client::Client::new(c, i as u32, seed)));
        }
        let base = cfg.clients.len() as u32;
        for (i, c) in cfg.components.iter().enumerate() {
            comps.push(build(c, base + i as u32, seed));
        }
        let ncomps = comps.len();
        let mut columns: Vec<String> = RUN_COLUMNS.iter().map(|c| c.to_string()).collect();
        for c in &comps {
            c.columns(&mut columns);
        }
        World {
            trace: None,
            comps,
            ctx: Ctx {
                sched: Scheduler::new(),
                reqs: Arena::new(),
                net: cfg.network.clone(),
                warmup: cfg.warmup,
                max_in_flight: cfg.max_in_flight,
                stop: None,
                draining: false,
                open: 0,
                data: Versions::new(cfg.databases, cfg.key_space),
                current: WORLD,
                gauges: vec![0; ncomps],
                breakdown: super::path::Breakdown::new(ncomps),
                interval: IntervalStats {
                    completed: 0,
                    errors: 0,
                    latency: crate::stats::IntervalHistogram::new(),
                    latency_sum: 0,
                    felt: crate::stats::IntervalHistogram::new(),
                },
            },
            end: cfg.duration,
            drain: cfg.drain,
            interval: cfg.interval.max(1),
            columns,
            rows: Vec::new(),
            events: cfg.events.clone(),
            faults: cfg.faults.clone(),
            random_faults: cfg.random_faults.clone(),
            partitions: cfg.partitions.clone(),
            latencies: cfg.latencies.clone(),
            fault_rng: cfg
                .random_faults
                .iter()
                .map(|f| crate::engine::rng::stream(seed, &format!("fault/random/{}", f.name)))
                .collect(),
            down_since: cfg
                .random_faults
                .iter()
                .map(|f| vec![None; f.instances as usize])
                .collect(),
            annotations: Vec::new(),
            instant: (0, 0),
            window: (0, 0),
            livelock_after: {
                let users: u64 = cfg
                    .clients
                    .iter()
                    .map(|c| match c.arrival {
                        client::ArrivalCfg::Closed { users, .. } => u64::from(users),
                        _ => 0,
                    })
                    .sum();
                LIVELOCK_EVENTS.saturating_add(users.saturating_mul(LIVELOCK_EVENTS_PER_USER))
            },
            priced: cfg.priced,
            alerts: cfg.alerts.clone(),
            alert_interval: cfg.alert_interval,
        }
    }

    /// Override the number of events at one instant after which a run is
    /// suspected of a zero-time loop (at least 1; the default is
    /// [`LIVELOCK_EVENTS`] plus [`LIVELOCK_EVENTS_PER_USER`] per closed-loop
    /// user). The check runs every 65,536 events, so a loop is caught after
    /// the threshold rounded up to that, plus a census of 262,144 events.
    pub fn set_livelock_threshold(&mut self, events: u64) {
        self.livelock_after = events.max(1);
    }

    /// Names of the clients and components by id (for traces).
    pub fn names(&self) -> Vec<String> {
        self.comps.iter().map(|c| c.name().to_string()).collect()
    }

    /// Write every delivered event to `t` as the run goes.
    pub fn set_trace(&mut self, t: trace::Tracer) {
        self.trace = Some(t);
    }

    /// Run to the end (or until stopped) and collect the results.
    pub fn run(self) -> RunOutput {
        match self.run_until(None) {
            Some(out) => out,
            None => unreachable!("a run without a cancel flag always finishes"),
        }
    }

    /// The time-series columns this run will record (timeseries.csv's
    /// header), known before it runs.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// As [`World::run`], but give up (returning `None`) soon after `cancel`
    /// becomes true: Ctrl-C in a sweep must not wait for a long replication.
    pub fn run_until(mut self, cancel: Option<&std::sync::atomic::AtomicBool>) -> Option<RunOutput> {
        let wall = crate::host::Stopwatch::start();
        for c in self.comps.iter_mut() {
            c.start(&mut self.ctx);
        }
        let warmup = self.ctx.warmup;
        if warmup > 0 {
            self.ctx.sched.at(warmup, WORLD, Msg::Warmup);
        }
        self.ctx
            .sched
            .at(warmup + (self.end - warmup) / 2, WORLD, Msg::Midpoint);
        self.ctx.sched.at(self.interval, WORLD, Msg::Sample);
        for &(at, comp, code) in &self.events {
            if at < self.end {
                self.ctx.sched.at(at, comp, Msg::Event(code));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            let idx = i as u32;
            if f.start < self.end {
                let on = Msg::Fault {
                    idx,
                    instance: 0,
                    on: true,
                };
                self.ctx.sched.at(f.start, WORLD, on);
                if let Some(e) = f.end.filter(|e| *e < self.end) {
                    let off = Msg::Fault {
                        idx,
                        instance: 0,
                        on: false,
                    };
                    self.ctx.sched.at(e, WORLD, off);
                }
            }
        }
        let base = self.faults.len() as u32;
        for (i, f) in self.random_faults.iter().enumerate() {
            for inst in 0..f.instances {
                let t = exp_ns(&mut self.fault_rng[i], f.mtbf);
                let msg = Msg::Fault {
                    idx: base + i as u32,
                    instance: inst,
                    on: true,
                };
                self.ctx.sched.at(t, WORLD, msg);
            }
        }
        if self.pump::<false>(cancel, self.end) == Checked::Cancelled {
            return None;
        }
        let stopped = self.ctx.stop.is_some();
        let now = if stopped { self.ctx.now() } else { self.end };
        let rc = ReportCtx {
            now,
            warmup: self.ctx.warmup.min(now),
        };
        // Components describe the measured window [warm-up, end]…
        let mut metrics = Metrics::new();
        let mut notes = Vec::new();
        for c in self.comps.iter().filter(|c| c.client_latency().is_none()) {
            c.report(&rc, &mut metrics, &mut notes);
        }
        // …and the clients' counters as the clock reaches the end, before
        // any drain: what is in flight now is the backlog, and an
        // overloaded run reports from this snapshot (see [`AtEnd`]).
        let overloaded = stopped || notes.iter().any(|n| n.starts_with("UNSTABLE"));
        let at_end = self.clients_at_end(&rc, overloaded);
        // …then clients stop issuing and the requests still in flight get
        // up to `drain` to finish, so every request offered in the window
        // has an outcome: availability is successful ÷ offered (SPEC §3)
        // without requests cut off by the end counting as failures. An
        // overloaded run drains too (its trajectory and fingerprint stay
        // those of every run), but its outcomes are not taken from it.
        if !stopped {
            self.ctx.draining = true;
            let limit = self.end.saturating_add(self.drain);
            if self.pump::<true>(cancel, limit) == Checked::Cancelled {
                return None;
            }
        }
        Some(self.finish(rc, metrics, notes, at_end, wall.seconds()))
    }

    /// The clients' metrics as they stand now (the end of the window,
    /// before the drain), and with `keep` their merged latency histogram.
    fn clients_at_end(&self, rc: &ReportCtx, keep: bool) -> AtEnd {
        let mut metrics = Metrics::new();
        let mut latency = keep.then(crate::stats::Histogram::new);
        for c in &self.comps {
            if let Some(h) = c.client_latency() {
                c.report(rc, &mut metrics, &mut Vec::new());
                if let Some(l) = &mut latency {
                    l.add(h);
                }
            }
        }
        AtEnd { metrics, latency }
    }

    /// The event loop, for the run (`DRAINING` false) and for the drain
    /// after it (true): dispatch events up to `end` until they run out or
    /// the run is stopped, doing the periodic [`World::check`] every
    /// [`CHECK_EVERY`] + 1 events. While draining, the loop also ends as
    /// soon as no client request is open, and the world's own events are
    /// ignored (see [`World::dispatch`]). Returns [`Checked::Cancelled`] if
    /// the cancel flag was seen.
    ///
    /// (While draining, clients issue nothing, so only the census of a
    /// zero-time loop can stop the run, and it does so inside the check.)
    #[inline(always)]
    fn pump<const DRAINING: bool>(
        &mut self,
        cancel: Option<&std::sync::atomic::AtomicBool>,
        end: SimTime,
    ) -> Checked {
        loop {
            if DRAINING && self.ctx.open == 0 {
                break;
            }
            let Some((target, msg)) = self.ctx.sched.next(end) else {
                break;
            };
            if !self.ctx.sched.ahead().is_empty() {
                let Ctx { sched, reqs, .. } = &mut self.ctx;
                reqs.prefetch(sched.ahead());
            }
            self.dispatch(target, msg, DRAINING);
            if self.ctx.stop.is_some() {
                break;
            }
            if self.ctx.sched.processed() & CHECK_EVERY == 0 {
                if self.check(cancel, end, DRAINING) == Checked::Cancelled {
                    return Checked::Cancelled;
                }
                if self.ctx.stop.is_some() {
                    break;
                }
            }
        }
        Checked::Go
    }

    /// Deliver one event: to the world (ignored while `draining`: the
    /// world's samples and faults belong to the measured window), or to
    /// its component.
    #[inline(always)]
    fn dispatch(&mut self, target: u32, msg: Msg, draining: bool) {
        if target == WORLD {
            if !draining {
                self.world_event(msg);
            }
            return;
        }
        self.ctx.current = target;
        if let Some(t) = &mut self.trace {
            t.record(
                self.ctx.sched.now(),
                target,
                &msg,
                &self.ctx.reqs,
                &*self.comps[target as usize],
            );
        }
        self.comps[target as usize].handle(msg, &mut self.ctx);
    }

    /// The periodic check, every 65,536 events (out of line, so the loop
    /// pays one mask test per event): the cancel flag, timers whose request
    /// has finished (dropped from the future-event set once it has doubled,
    /// so memory follows the requests in flight, not rate × timeout), and a
    /// clock that has stopped (a zero-time loop, see [`LIVELOCK_EVENTS`]).
    /// `end` and `draining` are those of the loop that called.
    #[cold]
    #[inline(never)]
    fn check(
        &mut self,
        cancel: Option<&std::sync::atomic::AtomicBool>,
        end: SimTime,
        draining: bool,
    ) -> Checked {
        if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed)) {
            return Checked::Cancelled;
        }
        let reqs = &self.ctx.reqs;
        // A timeout whose record was freed (its hop was answered) does
        // nothing when it fires: both handlers ignore a stale reference.
        self.ctx.sched.compact(|_, m| match m {
            Msg::Timeout(r) => reqs.get(*r).is_some(),
            _ => true,
        });
        let now = self.ctx.now();
        let done = self.ctx.sched.processed();
        if !draining {
            crate::host::progress(now as f64 / self.end.max(1) as f64);
        }
        if now != self.instant.0 {
            self.instant = (now, done);
        } else if done - self.instant.1 >= self.livelock_after {
            self.census(end, draining, false);
            return Checked::Go;
        }
        if done - self.window.1 >= self.livelock_after {
            if now - self.window.0 < CRAWL_NS {
                self.census(end, draining, true);
            } else {
                self.window = (now, done);
            }
        }
        Checked::Go
    }

    /// A zero-time loop is suspected (or with `crawl`, a clock that crawls,
    /// see [`CRAWL_NS`]): dispatch up to [`LIVELOCK_CENSUS`] more events,
    /// counting them per component. If the clock moves (a long burst, not a
    /// loop; with `crawl`, if the window has by then covered [`CRAWL_NS`])
    /// or the events run out, carry on; otherwise stop the run with
    /// [`Stop::Livelock`].
    #[cold]
    #[inline(never)]
    fn census(&mut self, end: SimTime, draining: bool, crawl: bool) {
        let at = self.ctx.now();
        let since = if crawl { self.window.1 } else { self.instant.1 };
        let mut counts = vec![0u64; self.comps.len()];
        for _ in 0..LIVELOCK_CENSUS {
            if draining && self.ctx.open == 0 {
                return;
            }
            let Some((target, msg)) = self.ctx.sched.next(end) else {
                return;
            };
            let moved = if crawl {
                self.ctx.now() - self.window.0 >= CRAWL_NS
            } else {
                self.ctx.now() != at
            };
            self.dispatch(target, msg, draining);
            if moved && crawl {
                self.window = (self.ctx.now(), self.ctx.sched.processed());
                return;
            }
            if moved {
                self.instant = (self.ctx.now(), self.ctx.sched.processed());
                return;
            }
            if self.ctx.stop.is_some() {
                return;
            }
            if let Some(c) = counts.get_mut(target as usize) {
                *c += 1;
            }
        }
        let events = self.ctx.sched.processed() - since;
        let message = if crawl {
            self.crawl_message(self.window.0, self.ctx.now(), end, events, &counts)
        } else {
            self.livelock_message(at, events, &counts)
        };
        self.ctx.stop = Some(Stop::Livelock(message));
    }

    /// The user's message for a run stuck at `at` after `events` events at
    /// that instant, `counts` being a sample of them per component.
    fn livelock_message(&self, at: SimTime, events: u64, counts: &[u64]) -> String {
        let (names, advice) = self.takers(counts);
        let mut m = format!(
            "simulated time stopped at t = {}s: {} events ran at that instant without the \
             clock moving, so the run can never reach its end (a zero-time loop). The components \
             receiving them: {names}.",
            crate::engine::secs(at),
            thousands(events),
        );
        m.push_str(&advice);
        m.push_str(
            " A request answered in zero time and sent again at once loops at one instant \
             forever: somewhere in the loop something must take time above zero (a think \
             time, a retry backoff, a service time or a network latency).",
        );
        m
    }

    /// The user's message for a run whose clock crawled from `from` to `to`
    /// over `events` events (see [`CRAWL_NS`]), the loop running to `end`.
    fn crawl_message(&self, from: SimTime, to: SimTime, end: SimTime, events: u64, counts: &[u64]) -> String {
        let (names, advice) = self.takers(counts);
        let span = to.saturating_sub(from).max(1);
        let per_s = events as f64 / span as f64 * 1e9;
        let left = crate::engine::secs(end.saturating_sub(to));
        let mut m = format!(
            "simulated time crawls: {} events from t = {} moved the clock only {span} ns, \
             about {per_s:.1e} events per simulated second: the remaining {} of simulated \
             time would take about {:.1e} more events (a typical machine runs 1e7 a second). \
             The components receiving them: {names}.",
            thousands(events),
            short_time(from),
            short_time(end.saturating_sub(to)),
            per_s * left,
        );
        m.push_str(&advice);
        m.push_str(
            " Requests answered in (almost) zero time and sent again at once loop with the \
             clock barely moving: somewhere in the loop something must take a realistic time \
             (a think time, a retry backoff, a service time or a network latency).",
        );
        m
    }

    /// The components that took the most of `counts` (named with their
    /// share) and their advice, each advice led by a space.
    fn takers(&self, counts: &[u64]) -> (String, String) {
        let total: u64 = counts.iter().sum::<u64>().max(1);
        let mut ranked: Vec<(u64, usize)> = counts
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(i, &n)| (n, i))
            .collect();
        // Most events first; ties by id, so the message is deterministic.
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        // The components taking part: every one with at least 5% of the
        // events, at most five, and always the busiest.
        let top: Vec<usize> = ranked
            .iter()
            .enumerate()
            .filter(|&(k, &(n, _))| k == 0 || n * 20 >= total)
            .take(5)
            .map(|(_, &(_, i))| i)
            .collect();
        let names: Vec<String> = top
            .iter()
            .map(|&i| {
                let share = counts[i] as f64 / total as f64 * 100.0;
                format!("`{}` ({share:.0}%)", self.comps[i].name())
            })
            .collect();
        let advice: Vec<String> = top
            .iter()
            .filter_map(|&i| self.comps[i].zero_time_advice())
            .collect();
        let mut tips = String::new();
        for a in &advice {
            tips.push(' ');
            tips.push_str(a);
        }
        (names.join(", "), tips)
    }

    fn world_event(&mut self, msg: Msg) {
        let now = self.ctx.now();
        match msg {
            Msg::Warmup => {
                for c in self.comps.iter_mut() {
                    c.on_warmup(now);
                }
            }
            Msg::Midpoint => {
                for c in self.comps.iter_mut() {
                    c.on_midpoint(now);
                }
            }
            Msg::Fault { idx, instance, on } => self.fault(idx as usize, instance, on),
            Msg::Sample => {
                self.sample_row(now);
                if now < self.end {
                    self.ctx
                        .sched
                        .at(now.saturating_add(self.interval), WORLD, Msg::Sample);
                }
            }
            _ => {}
        }
    }

    fn fault(&mut self, idx: usize, instance: u32, on: bool) {
        let now = self.ctx.now();
        if let Some(&FaultCfg { comp, action, .. }) = self.faults.get(idx) {
            if comp == NETWORK {
                self.network_fault(idx as u32, action, on);
            } else {
                self.ctx.current = comp;
                self.comps[comp as usize].fault(action, on, &mut self.ctx);
            }
            let f = &self.faults[idx];
            if on && self.annotations.len() < MAX_ANNOTATIONS {
                let end = f.end.unwrap_or(self.end).min(self.end);
                self.annotations.push(Annotation {
                    start_s: crate::engine::secs(now),
                    end_s: crate::engine::secs(end),
                    label: f.label.clone(),
                });
            }
            return;
        }
        let r = idx - self.faults.len();
        let Some(f) = self.random_faults.get(r) else {
            return;
        };
        let comp = f.comp as usize;
        self.ctx.current = f.comp;
        if f.losses || (f.hang && f.mttr <= 0.0) {
            // A permanent loss, or a hang without repair (a restart ends
            // it), and the instance's next one after Exp(mtbf).
            let action = if f.losses {
                FaultAction::LoseNode(instance)
            } else {
                FaultAction::Hang(instance)
            };
            self.comps[comp].fault(action, true, &mut self.ctx);
            let next = exp_ns(&mut self.fault_rng[r], f.mtbf);
            let msg = Msg::Fault {
                idx: idx as u32,
                instance,
                on: true,
            };
            self.ctx.sched.at(now.saturating_add(next), WORLD, msg);
            return;
        }
        let action = if f.hang {
            FaultAction::Hang(instance)
        } else {
            FaultAction::Crash(instance)
        };
        self.comps[comp].fault(action, on, &mut self.ctx);
        let next = if on {
            self.down_since[r][instance as usize] = Some(now);
            exp_ns(&mut self.fault_rng[r], f.mttr)
        } else {
            if let Some(start) = self.down_since[r][instance as usize].take()
                && self.annotations.len() < MAX_ANNOTATIONS
            {
                self.annotations.push(Annotation {
                    start_s: crate::engine::secs(start),
                    end_s: crate::engine::secs(now),
                    label: format!("{}[{instance}] {}", f.name, if f.hang { "hung" } else { "down" }),
                });
            }
            exp_ns(&mut self.fault_rng[r], f.mtbf)
        };
        let msg = Msg::Fault {
            idx: idx as u32,
            instance,
            on: !on,
        };
        self.ctx.sched.at(now.saturating_add(next), WORLD, msg);
    }

    /// A partition, injected latency or region outage starts or ends: the
    /// network changes, then every component hears of it (databases
    /// re-split their shards; components in a failed region crash).
    fn network_fault(&mut self, idx: u32, action: FaultAction, on: bool) {
        let net = &mut self.ctx.net;
        match action {
            FaultAction::Partition(p) => {
                if on {
                    if let Some(g) = self.partitions.get(p as usize) {
                        net.cuts.push((idx, g.clone()));
                    }
                } else {
                    net.cuts.retain(|(i, _)| *i != idx);
                }
            }
            FaultAction::Latency(l) => {
                if on {
                    if let Some((g, add)) = self.latencies.get(l as usize) {
                        net.extra.push((idx, g.clone(), *add));
                    }
                } else {
                    net.extra.retain(|(i, ..)| *i != idx);
                }
            }
            FaultAction::Outage(r) => {
                if let Some(d) = net.down.get_mut(r as usize) {
                    *d = on;
                }
            }
            _ => {}
        }
        net.refresh();
        for (id, c) in self.comps.iter_mut().enumerate() {
            self.ctx.current = id as u32;
            c.fault(action, on, &mut self.ctx);
        }
    }

    fn sample_row(&mut self, now: SimTime) {
        let secs = crate::engine::secs(self.interval);
        let iv = &mut self.ctx.interval;
        let mut row = Vec::with_capacity(self.columns.len());
        row.push(crate::engine::secs(now));
        row.push(iv.completed as f64 / secs);
        row.push(iv.errors as f64);
        let n = iv.latency.count();
        row.push(if n > 0 {
            iv.latency_sum as f64 / n as f64 / 1e6
        } else {
            0.0
        });
        row.push(iv.latency.quantile(0.5) as f64 / 1e6);
        row.push(iv.latency.quantile(0.95) as f64 / 1e6);
        row.push(iv.latency.quantile(0.99) as f64 / 1e6);
        let answered = iv.completed + iv.errors;
        row.push(if answered == 0 {
            1.0
        } else {
            iv.completed as f64 / answered as f64
        });
        row.push(iv.felt.quantile(0.99) as f64 / 1e6);
        iv.felt.reset();
        iv.completed = 0;
        iv.errors = 0;
        iv.latency.reset();
        iv.latency_sum = 0;
        for c in self.comps.iter_mut() {
            c.sample(now, &mut row);
        }
        self.rows.push(row);
    }

    /// Evaluate the alerting rules over the recorded rows up to `now`: their
    /// metrics, their firing windows as chart annotations, their logs.
    fn evaluate_alerts(&mut self, now: SimTime, metrics: &mut Metrics) -> Vec<super::alerts::AlertLog> {
        if self.alerts.is_empty() {
            return Vec::new();
        }
        let starts: Vec<SimTime> = self
            .faults
            .iter()
            .map(|f| f.start)
            .filter(|&s| s < self.end)
            .collect();
        let logs = super::alerts::evaluate(
            &self.alerts,
            &self.columns,
            &self.rows,
            self.interval,
            self.alert_interval,
            now,
            &starts,
            metrics,
        );
        for log in &logs {
            for e in &log.episodes {
                if self.annotations.len() >= MAX_ANNOTATIONS {
                    break;
                }
                self.annotations.push(Annotation {
                    start_s: e.fired_at_s,
                    end_s: e.resolved_at_s.unwrap_or(crate::engine::secs(now)),
                    label: format!("alert {} firing", log.name),
                });
            }
        }
        logs
    }

    fn finish(
        mut self,
        rc: ReportCtx,
        mut metrics: Metrics,
        mut notes: Vec<String>,
        at_end: AtEnd,
        wall_s: f64,
    ) -> RunOutput {
        let now = rc.now;
        let backlog = at_end.metrics.get("requests.in_flight").copied().unwrap_or(0.0);
        let latency = match at_end.latency {
            // Overloaded: what was in flight at the end stays in flight,
            // not served, whatever the drain made of it.
            Some(latency) => {
                // Summed as the clients' reports sum them (services add
                // their call edges' retries to `requests.retries`).
                for (k, v) in at_end.metrics {
                    *metrics.entry(k).or_insert(0.0) += v;
                }
                latency
            }
            None => {
                let mut latency = crate::stats::Histogram::new();
                for c in &self.comps {
                    if let Some(h) = c.client_latency() {
                        c.report(&rc, &mut metrics, &mut notes);
                        latency.add(h);
                    }
                }
                latency
            }
        };
        metrics.insert("requests.backlog_at_end".into(), backlog);
        client::overall_metrics(&latency, &mut metrics);
        if self.priced {
            // The window's cost as a rate: per hour, and per 30-day month.
            let per_hour = metrics.get("cost.total").copied().unwrap_or(0.0) / (rc.window_s() / 3600.0);
            metrics.insert("cost.per_hour".into(), per_hour);
            metrics.insert("cost.per_month".into(), per_hour * HOURS_PER_MONTH);
        }
        let names: Vec<&str> = self.comps.iter().map(|c| c.name()).collect();
        self.ctx.breakdown.report(&names, &mut metrics);
        if let Some(&a) = metrics.get("availability") {
            // Equivalent downtime: the failed share of the measured window;
            // nines: −log10(1 − availability), 9 when nothing failed.
            let down = (1.0 - a).max(0.0);
            metrics.insert("availability.downtime_s".into(), down * rc.window_s());
            metrics.insert(
                "availability.nines".into(),
                if down > 1e-9 {
                    (-math::log10(down)).min(9.0)
                } else {
                    9.0
                },
            );
        }
        // Stores add their stale reads and reads served into these totals.
        if let Some(&reads) = metrics.get("consistency.reads") {
            let stale = metrics.get("consistency.stale_reads").copied().unwrap_or(0.0);
            metrics.insert(
                "consistency.stale_read_ratio".into(),
                if reads > 0.0 { stale / reads } else { 0.0 },
            );
        }
        if let Some(Stop::TooManyInFlight(n)) = &self.ctx.stop {
            let worst = self
                .comps
                .iter()
                .max_by_key(|c| c.backlog())
                .filter(|c| c.backlog() > 0)
                .map(|c| {
                    format!(
                        " `{}` holds {} of them: it is the bottleneck.",
                        c.name(),
                        c.backlog()
                    )
                })
                .unwrap_or_default();
            notes.insert(
                0,
                format!(
                    "UNSTABLE: the run stopped at {:.1}s with {n} requests in flight: \
                     offered load exceeds capacity and queues grow without bound.{worst}",
                    crate::engine::secs(now)
                ),
            );
        }
        let unstable = self.ctx.stop.is_some() || notes.iter().any(|n| n.starts_with("UNSTABLE"));
        metrics.insert("sim.unstable".into(), if unstable { 1.0 } else { 0.0 });
        let events = self.ctx.sched.processed();
        metrics.insert("sim.events".into(), events as f64);
        metrics.insert("sim.wall_s".into(), wall_s);
        metrics.insert(
            "sim.events_per_s".into(),
            if wall_s > 0.0 { events as f64 / wall_s } else { 0.0 },
        );
        let fingerprint = self.ctx.sched.fingerprint();
        // 48 bits, so the value is exact in a JSON number.
        metrics.insert("sim.fingerprint".into(), (fingerprint >> 16) as f64);
        let alerts = self.evaluate_alerts(now, &mut metrics);
        RunOutput {
            metrics,
            notes,
            columns: std::mem::take(&mut self.columns),
            rows: std::mem::take(&mut self.rows),
            latency,
            events,
            fingerprint,
            wall_s,
            peak_requests: self.ctx.reqs.capacity_used(),
            livelock: match &self.ctx.stop {
                Some(Stop::Livelock(m)) => Some(m.clone()),
                _ => None,
            },
            event_slots: self.ctx.sched.reserved(),
            alerts,
            trace: self.trace.take().map(|t| t.finish()),
            annotations: {
                // Random outages still open at the end run to the end.
                let mut a = std::mem::take(&mut self.annotations);
                for (r, f) in self.random_faults.iter().enumerate() {
                    for (i, s) in self.down_since[r].iter().enumerate() {
                        if let Some(s) = s
                            && a.len() < MAX_ANNOTATIONS
                        {
                            a.push(Annotation {
                                start_s: crate::engine::secs(*s),
                                end_s: crate::engine::secs(now),
                                label: format!("{}[{i}] {}", f.name, if f.hang { "hung" } else { "down" }),
                            });
                        }
                    }
                }
                for c in &self.comps {
                    if a.len() < MAX_ANNOTATIONS {
                        c.annotations(now, &mut a);
                    }
                }
                a.sort_by(|x, y| x.start_s.total_cmp(&y.start_s));
                a
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(17_104_896), "17,104,896");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }
}

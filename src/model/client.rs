//! Clients: the workloads that offer requests and measure what users see.
//!
//! Open clients issue requests from an arrival process whatever happens to
//! earlier ones; a closed client has `users` that each wait for an answer
//! (or a timeout), think, then send again. Latency is end to end at the
//! client, successful requests only; a request counts in the statistics
//! when it was issued after the warm-up.
//!
//! Arrival generation: Poisson by exponential gaps; a piecewise-constant
//! schedule by restarting the exponential at each rate change (exact, since
//! the exponential is memoryless); diurnal by thinning (Lewis & Shedler
//! 1979) against the peak rate.

use crate::math;
use std::sync::Arc;

use rand::RngExt;
use rand_distr::{Distribution, Exp1, Zipf};

use super::request::{IDEMPOTENT, LOST, RETRYABLE};
use super::resilience::{CallPolicy, Caller};
use super::{Component, Ctx, Metrics, Msg, Outcome, ReportCtx, ReqRef, Request, Timer};
use crate::engine::rng::{self, Rng};
use crate::engine::sampler::Sampler;
use crate::engine::{NS_PER_S, SimTime};
use crate::model::request::Op;
use crate::stats::Histogram;

/// A client's resolved arrival process (rates per second, times in ns).
#[derive(Clone, Debug)]
pub enum ArrivalCfg {
    /// Poisson at `rate` per second.
    Poisson(f64),
    /// Evenly spaced at `rate` per second.
    Constant(f64),
    /// Renewal process.
    Interarrival(Sampler),
    /// Piecewise-constant Poisson: (start ns, rate per second), sorted.
    Schedule(Vec<(SimTime, f64)>),
    /// Sinusoidal Poisson rate.
    Diurnal {
        /// Mean rate per second.
        mean: f64,
        /// Relative swing.
        amplitude: f64,
        /// Period in ns.
        period: SimTime,
    },
    /// Arrival times (ns, sorted).
    Trace(Arc<Vec<SimTime>>),
    /// Closed loop.
    Closed {
        /// Number of users.
        users: u32,
        /// Think time.
        think: Sampler,
    },
}

/// Key popularity, resolved.
#[derive(Clone, Copy, Debug)]
pub enum KeysCfg {
    /// Every request uses key 0.
    Single,
    /// Uniform over n keys.
    Uniform(u64),
    /// Zipf over n keys with exponent s.
    Zipf(u64, f64),
}

/// A client's resolved configuration.
#[derive(Clone, Debug)]
pub struct ClientCfg {
    /// Name in the scenario.
    pub name: String,
    /// Component id receiving the requests.
    pub target: u32,
    /// Arrival process.
    pub arrival: ArrivalCfg,
    /// Timeout of each attempt, retries, circuit breaker, idempotency.
    pub policy: CallPolicy,
    /// Fraction of requests that are writes.
    pub write_fraction: f64,
    /// Key popularity.
    pub keys: KeysCfg,
    /// Distinct users.
    pub identities: u64,
    /// First identity number (identities are global across clients).
    pub identity_base: u64,
    /// Static content: (fraction of requests, target id, key popularity).
    pub static_content: Option<(f64, u32, KeysCfg)>,
    /// Long-lived connections to the target, if any.
    pub connections: Option<ConnCfg>,
    /// Client-side discovery: the registry it asks for its target's instances.
    pub discovery: Option<super::registry::DiscoveryCfg>,
}

/// A client's own timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientTimer {
    /// Time to fetch the target's instances from the registry again.
    Refresh,
}

impl super::Timer for ClientTimer {
    fn encode(self) -> super::TimerWord {
        super::TimerWord::new(45, 0, 0, 0)
    }

    fn decode(w: super::TimerWord) -> Option<Self> {
        (w.kind() == 45).then_some(ClientTimer::Refresh)
    }

    fn name(self) -> &'static str {
        "refresh"
    }
}

/// A client's long-lived connections, resolved.
#[derive(Clone, Copy, Debug)]
pub struct ConnCfg {
    /// Connections held at once.
    pub count: u32,
    /// Age at which a connection is closed and opened again (ns).
    pub lifetime: SimTime,
    /// Its first connection's slot among all clients' (slots are numbered
    /// in client order, so a layer-4 balancer keeps one table for all).
    pub base: u32,
}

/// A running client.
pub struct Client {
    cfg: ClientCfg,
    id: u32,
    arrivals: Rng,
    attrs: Rng,
    net: Rng,
    zipf: Option<Zipf<f64>>,
    static_zipf: Option<Zipf<f64>>,
    /// Arrival counter (constant rate, trace position).
    k: u64,
    offered: u64,
    completed: u64,
    completed_in_window: u64,
    failed: u64,
    rejected: u64,
    timed_out: u64,
    latency: Histogram,
    /// Retries and the breaker, when the policy has them.
    caller: Caller,
    /// Backoff jitter draws.
    retry_rng: Rng,
    /// Logical requests issued (their idempotency keys).
    origins: u64,
    /// Per connection: when it closes (ns) and how often it has reconnected.
    conns: Vec<(SimTime, u32)>,
    /// The connection the next request takes (round robin).
    conn_next: u32,
    /// Connections reopened since the warm-up.
    reconnects: u64,
    /// Discovery: the target's instances as last fetched (bits of replica
    /// slots), the slot round robin tries next, and the fetches' phase.
    view: u64,
    view_next: u32,
    refresh_phase: SimTime,
    /// Discovery: requests failed at once because the view was empty.
    no_instance: u64,
}

/// How a logical request ended, as the client counts it.
#[derive(Clone, Copy, PartialEq)]
enum End {
    Answer(Outcome),
    TimedOut,
}

impl Client {
    /// A client with id `id` drawing from streams named after it.
    pub fn new(cfg: &ClientCfg, id: u32, seed: u64) -> Client {
        let zipf = match cfg.keys {
            KeysCfg::Zipf(n, s) => Zipf::new(n as f64, s).ok(),
            _ => None,
        };
        let static_zipf = match cfg.static_content {
            Some((_, _, KeysCfg::Zipf(n, s))) => Zipf::new(n as f64, s).ok(),
            _ => None,
        };
        Client {
            cfg: cfg.clone(),
            id,
            static_zipf,
            arrivals: rng::stream(seed, &format!("client/{}/arrivals", cfg.name)),
            attrs: rng::stream(seed, &format!("client/{}/requests", cfg.name)),
            net: rng::stream(seed, &format!("client/{}/network", cfg.name)),
            zipf,
            k: 0,
            offered: 0,
            completed: 0,
            completed_in_window: 0,
            failed: 0,
            rejected: 0,
            timed_out: 0,
            latency: Histogram::new(),
            caller: Caller::new(cfg.policy),
            retry_rng: rng::stream(seed, &format!("client/{}/retry", cfg.name)),
            origins: 0,
            conns: cfg.connections.map_or_else(Vec::new, |c| {
                // Ages at time zero uniform on [0, lifetime): each closes
                // after the rest of its lifetime, (0, lifetime].
                let mut r = rng::stream(seed, &format!("client/{}/connections", cfg.name));
                (0..c.count)
                    .map(|_| {
                        let age = (r.random::<f64>() * c.lifetime as f64) as SimTime;
                        (c.lifetime.saturating_sub(age).max(1), 0)
                    })
                    .collect()
            }),
            conn_next: 0,
            reconnects: 0,
            view: 0,
            view_next: 0,
            refresh_phase: cfg.discovery.map_or(0, |d| {
                let mut r = rng::stream(seed, &format!("client/{}/discovery", cfg.name));
                (r.random::<f64>() * d.refresh as f64) as SimTime
            }),
            no_instance: 0,
        }
    }

    /// Discovery: the next instance of the cached view, round robin over
    /// its slots (`None`: the view is empty).
    #[inline]
    fn pick_instance(&mut self) -> Option<u32> {
        let m = self.view;
        if m == 0 {
            return None;
        }
        let s = self.view_next % 64;
        let above = m >> s;
        let i = if above != 0 {
            s + above.trailing_zeros()
        } else {
            m.trailing_zeros()
        };
        self.view_next = i + 1;
        Some(i)
    }

    /// Discovery: ask the registry for the target's live instances.
    fn lookup(&mut self, ctx: &mut Ctx) {
        if let Some(d) = self.cfg.discovery {
            let msg = Msg::Lookup {
                from: self.id,
                service: self.cfg.target,
            };
            ctx.send(&mut self.net, d.registry, msg);
        }
    }

    /// The connection the next request to the target takes (round robin),
    /// reopened first if it has reached its lifetime (lazily, at use):
    /// its [`conn_code`](super::request::conn_code), 0 without connections.
    #[inline]
    fn connection(&mut self, now: SimTime, warmup: SimTime) -> u32 {
        let Some(c) = self.cfg.connections else { return 0 };
        let i = self.conn_next;
        self.conn_next = if i + 1 >= c.count { 0 } else { i + 1 };
        let slot = &mut self.conns[i as usize];
        if now >= slot.0 {
            slot.0 = now.saturating_add(c.lifetime);
            slot.1 = slot.1.wrapping_add(1);
            if now >= warmup {
                self.reconnects += 1;
            }
        }
        super::request::conn_code(c.base + i, slot.1)
    }

    /// Time of the next arrival after `now`, or `None` when there are no more.
    fn next_arrival(&mut self, now: SimTime) -> Option<SimTime> {
        let exp = |rng: &mut Rng, rate: f64| -> f64 {
            // Ziggurat exponential (rand_distr's Exp1), scaled to the rate.
            let e: f64 = Exp1.sample(rng);
            e / rate * NS_PER_S as f64
        };
        match &self.cfg.arrival {
            ArrivalCfg::Poisson(rate) => {
                if *rate <= 0.0 {
                    return None;
                }
                Some(now.saturating_add((exp(&mut self.arrivals, *rate) + 0.5) as u64))
            }
            ArrivalCfg::Constant(rate) => {
                if *rate <= 0.0 {
                    return None;
                }
                self.k += 1;
                // From the count, not by adding rounded gaps, so no drift.
                Some((self.k as f64 * NS_PER_S as f64 / rate).round() as u64)
            }
            ArrivalCfg::Interarrival(s) => Some(now.saturating_add(s.sample(&mut self.arrivals).max(1))),
            ArrivalCfg::Schedule(steps) => {
                let mut t = now;
                loop {
                    // The step in force at t and when it ends.
                    let i = steps.partition_point(|(at, _)| *at <= t);
                    let rate = if i == 0 { 0.0 } else { steps[i - 1].1 };
                    let next_change = steps.get(i).map(|s| s.0);
                    if rate <= 0.0 {
                        t = next_change?;
                        continue;
                    }
                    let cand = t.saturating_add(exp(&mut self.arrivals, rate).round() as u64);
                    match next_change {
                        Some(c) if cand >= c => t = c,
                        _ => return Some(cand.max(now.saturating_add(1))),
                    }
                }
            }
            ArrivalCfg::Diurnal {
                mean,
                amplitude,
                period,
            } => {
                let peak = mean * (1.0 + amplitude);
                if peak <= 0.0 {
                    return None;
                }
                let mut t = now;
                loop {
                    t = t.saturating_add(exp(&mut self.arrivals, peak).round() as u64);
                    // Past any run's end (at most 100 years): no arrival.
                    // A tiny rate would otherwise stop here, with the
                    // thinning test repeated at one phase for ever.
                    if t > u64::MAX / 2 {
                        return None;
                    }
                    let phase = std::f64::consts::TAU * (t % period) as f64 / *period as f64;
                    let rate = mean * (1.0 + amplitude * math::sin(phase));
                    if self.arrivals.random::<f64>() * peak <= rate {
                        return Some(t);
                    }
                }
            }
            ArrivalCfg::Trace(times) => {
                let t = times.get(self.k as usize).copied();
                self.k += 1;
                t
            }
            ArrivalCfg::Closed { .. } => None,
        }
    }

    fn issue(&mut self, user: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        if ctx.reqs.live() >= ctx.max_in_flight {
            ctx.stop = Some(super::Stop::TooManyInFlight(ctx.reqs.live()));
            return;
        }
        // Static content (drawn only when configured, so adding it never
        // shifts the numbers of a client without it).
        let static_target = match self.cfg.static_content {
            Some((fraction, target, _)) if self.attrs.random::<f64>() < fraction => Some(target),
            _ => None,
        };
        let (op, key) = match static_target {
            Some(_) => {
                let keys = self.cfg.static_content.as_ref().map_or(KeysCfg::Single, |s| s.2);
                (
                    Op::Read,
                    draw_key(&keys, self.static_zipf.as_ref(), &mut self.attrs),
                )
            }
            None => {
                let op = if self.cfg.write_fraction > 0.0
                    && self.attrs.random::<f64>() < self.cfg.write_fraction
                {
                    Op::Write
                } else {
                    Op::Read
                };
                (op, draw_key(&self.cfg.keys, self.zipf.as_ref(), &mut self.attrs))
            }
        };
        let identity = self.cfg.identity_base
            + match self.cfg.arrival {
                ArrivalCfg::Closed { .. } => u64::from(user) % self.cfg.identities,
                _ if self.cfg.identities > 1 => self.attrs.random_range(0..self.cfg.identities),
                _ => 0,
            };
        self.origins += 1;
        let mut flags = 0;
        if self.cfg.policy.retry.is_some() {
            flags |= RETRYABLE;
        }
        if self.cfg.policy.idempotent {
            flags |= IDEMPOTENT;
        }
        let target = static_target.unwrap_or(self.cfg.target);
        let conn = if static_target.is_none() {
            self.connection(now, ctx.warmup)
        } else {
            0
        };
        // Client-side discovery: an instance from the cached view.
        let instance = match self.cfg.discovery {
            Some(_) if static_target.is_none() => Some(self.pick_instance()),
            _ => None,
        };
        let req = ctx.reqs.alloc(Request {
            reply_to: self.id,
            tag: user,
            client: self.id,
            op,
            key,
            identity,
            born: now,
            sent: now,
            target,
            origin: (u64::from(self.id) << 40) | self.origins,
            flags,
            conn,
            replica: instance.flatten().unwrap_or(super::request::ANY_REPLICA),
            ..super::Arena::blank()
        });
        if now >= ctx.warmup {
            self.offered += 1;
        }
        ctx.open += 1;
        if instance == Some(None) {
            // No instance known: nothing to send to.
            if now >= ctx.warmup {
                self.no_instance += 1;
            }
            return self.settle(req, End::Answer(Outcome::Failed), ctx);
        }
        if self.cfg.policy.guarded() {
            // `req` is the logical request, kept here; attempts are its children.
            return self.send_attempt(req, 1, ctx);
        }
        ctx.send(&mut self.net, target, Msg::Request(req));
        if let Some(t) = self.cfg.policy.timeout {
            ctx.sched.after(t, self.id, Msg::Timeout(req));
        }
    }

    /// Send attempt `k` of logical request `req` (if the breaker lets it).
    fn send_attempt(&mut self, req: ReqRef, k: u16, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get_mut(req) else { return };
        r.attempt = k;
        let counted = r.born >= ctx.warmup;
        let mut tmpl = Request {
            parent: req,
            attempt: k,
            sent: now,
            ..*r
        };
        if k > 1 && tmpl.conn != 0 {
            // A retry takes the next connection, as a new request would.
            tmpl.conn = self.connection(now, ctx.warmup);
        }
        if k > 1 && self.cfg.discovery.is_some() && tmpl.target == self.cfg.target {
            // …and the next instance of the view.
            tmpl.replica = self.pick_instance().unwrap_or(super::request::ANY_REPLICA);
        }
        if !self.caller.admit(now, k == 1, counted) {
            // Breaker open: fail fast, nothing is sent.
            return self.settle(req, End::Answer(Outcome::Failed), ctx);
        }
        let attempt = ctx.reqs.alloc(tmpl);
        ctx.send(&mut self.net, tmpl.target, Msg::Request(attempt));
        if let Some(t) = self.cfg.policy.timeout {
            ctx.sched.after(t, self.id, Msg::Timeout(attempt));
        }
    }

    /// Attempt `k` of logical request `req` ended with `end`: done, or
    /// retried after the backoff, or given up.
    fn attempt_ended(&mut self, req: ReqRef, k: u16, end: End, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(req) else { return };
        let counted = r.born >= ctx.warmup;
        let ok = end == End::Answer(Outcome::Ok);
        self.caller.result(now, ok, counted);
        if !ok && let Some(d) = self.caller.retry_after(now, k, &mut self.retry_rng, counted) {
            ctx.sched.after(d, self.id, Msg::Later(req));
            return;
        }
        self.settle(req, end, ctx);
    }

    /// The request `req` has its outcome: count it, free it unless an
    /// answer is still to come, and let a closed-loop user think.
    #[inline(always)]
    fn settle(&mut self, req: ReqRef, end: End, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(req) else { return };
        let (born, user, parent, flags) = (r.born, r.tag, r.parent, r.flags);
        if end == End::Answer(Outcome::Ok) && born >= ctx.warmup {
            // Where its time went (the same requests as the latency).
            let lat = now - born;
            ctx.breakdown.record(ctx.reqs.path_segs(req), lat);
        }
        if end == End::TimedOut && parent == ReqRef::NONE && !self.cfg.policy.guarded() && flags & LOST == 0 {
            // Unguarded: the record travels on; its late answer frees it.
            if let Some(r) = ctx.reqs.get_mut(req) {
                r.abandoned = true;
            }
        } else {
            ctx.reqs.free(req);
        }
        ctx.open -= 1;
        let counted = born >= ctx.warmup;
        ctx.interval.felt.record(now - born);
        match end {
            End::Answer(Outcome::Ok) => {
                let lat = now - born;
                ctx.interval.completed += 1;
                ctx.interval.latency.record(lat);
                ctx.interval.latency_sum += lat;
                if counted {
                    self.completed += 1;
                    self.latency.record(lat);
                }
                // Throughput: completions inside the window, whenever
                // the request was issued; the drain only settles outcomes.
                if now >= ctx.warmup && !ctx.draining {
                    self.completed_in_window += 1;
                }
            }
            End::Answer(Outcome::Rejected) => {
                ctx.interval.errors += 1;
                if counted {
                    self.rejected += 1;
                }
            }
            End::Answer(Outcome::Failed | Outcome::Miss) => {
                ctx.interval.errors += 1;
                if counted {
                    self.failed += 1;
                }
            }
            End::TimedOut => {
                ctx.interval.errors += 1;
                if counted {
                    self.timed_out += 1;
                }
            }
        }
        self.think_then_send(user, ctx);
    }

    #[inline]
    fn think_then_send(&mut self, user: u32, ctx: &mut Ctx) {
        if ctx.draining {
            return;
        }
        if let ArrivalCfg::Closed { think, .. } = &self.cfg.arrival {
            let d = think.sample(&mut self.arrivals);
            ctx.sched.after(d, self.id, Msg::Arrive { user });
        }
    }
}

/// A key drawn from a popularity (zipf ranks start at key 0, the most popular).
#[inline(always)]
fn draw_key(keys: &KeysCfg, zipf: Option<&Zipf<f64>>, rng: &mut Rng) -> u64 {
    match keys {
        KeysCfg::Single => 0,
        KeysCfg::Uniform(n) => rng.random_range(0..*n),
        KeysCfg::Zipf(..) => match zipf {
            Some(z) => (z.sample(rng) as u64).saturating_sub(1),
            None => 0,
        },
    }
}

impl Component for Client {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn timer_name(&self, w: super::TimerWord) -> &'static str {
        super::timer_name::<ClientTimer>(w)
    }

    fn start(&mut self, ctx: &mut Ctx) {
        if let Some(d) = self.cfg.discovery {
            // The first view at once, then a fetch every `refresh` from a
            // random phase.
            self.lookup(ctx);
            let t = self.refresh_phase.max(1).min(d.refresh);
            ctx.sched.at(t, self.id, Msg::timer(ClientTimer::Refresh));
        }
        match &self.cfg.arrival {
            ArrivalCfg::Closed { users, .. } => {
                for u in 0..*users {
                    self.think_then_send(u, ctx);
                }
            }
            _ => {
                // A trace's first line is the first arrival; the other
                // processes draw their first gap from time zero.
                if let Some(t) = self.next_arrival(0) {
                    ctx.sched.at(t, self.id, Msg::Arrive { user: 0 });
                }
            }
        }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Arrive { user } => {
                if ctx.draining {
                    return;
                }
                self.issue(user, ctx);
                if !matches!(self.cfg.arrival, ArrivalCfg::Closed { .. })
                    && let Some(t) = self.next_arrival(ctx.now())
                {
                    ctx.sched.at(t, self.id, Msg::Arrive { user: 0 });
                }
            }
            Msg::Response(req, outcome) => {
                let Some(r) = ctx.reqs.get(req) else { return };
                let (abandoned, parent, k) = (r.abandoned, r.parent, r.attempt);
                if outcome == Outcome::Ok && !abandoned {
                    ctx.reqs.path_answered(req, parent, ctx.sched.now());
                }
                if parent == ReqRef::NONE {
                    if abandoned {
                        ctx.reqs.free(req);
                        return;
                    }
                    return self.settle(req, End::Answer(outcome), ctx);
                }
                // An attempt: free it; its logical request decides.
                ctx.reqs.free(req);
                if !abandoned {
                    self.attempt_ended(parent, k, End::Answer(outcome), ctx);
                }
            }
            Msg::Timeout(req) => {
                let Some(r) = ctx.reqs.get_mut(req) else { return };
                if r.abandoned {
                    return;
                }
                let (parent, k) = (r.parent, r.attempt);
                if parent == ReqRef::NONE {
                    return self.settle(req, End::TimedOut, ctx);
                }
                // The attempt travels on (its callee still works on it),
                // unless the network lost it: no answer will free it then.
                r.abandoned = true;
                if r.flags & LOST != 0 {
                    ctx.reqs.free(req);
                }
                self.attempt_ended(parent, k, End::TimedOut, ctx);
            }
            Msg::View(mask) => self.view = mask,
            Msg::Timer(w) => {
                if let (Some(ClientTimer::Refresh), Some(d)) = (ClientTimer::decode(w), self.cfg.discovery) {
                    self.lookup(ctx);
                    if !ctx.draining {
                        ctx.sched
                            .after(d.refresh, self.id, Msg::timer(ClientTimer::Refresh));
                    }
                }
            }
            Msg::Later(req) => {
                // A retry's backoff is over.
                let Some(r) = ctx.reqs.get(req) else { return };
                let k = r.attempt.saturating_add(1);
                self.send_attempt(req, k, ctx);
            }
            _ => {}
        }
    }

    fn report(&self, rc: &ReportCtx, out: &mut Metrics, _notes: &mut Vec<String>) {
        let p = format!("clients.{}.", self.cfg.name);
        let answered = self.completed + self.failed + self.rejected + self.timed_out;
        // Each request offered has one outcome or is still in flight:
        // offered = completed + failed + rejected + timed_out + in_flight.
        let in_flight = self.offered.saturating_sub(answered);
        for (name, v) in [
            ("requests.offered", self.offered),
            ("requests.completed", self.completed),
            ("requests.failed", self.failed),
            ("requests.rejected", self.rejected),
            ("requests.timed_out", self.timed_out),
            ("requests.in_flight", in_flight),
        ] {
            out.insert(format!("{p}{name}"), v as f64);
            *out.entry(name.to_string()).or_insert(0.0) += v as f64;
        }
        out.insert(
            format!("{p}throughput_rps"),
            self.completed_in_window as f64 / rc.window_s(),
        );
        out.insert(
            format!("{p}availability"),
            // Successful ÷ offered (SPEC §3); requests still unanswered
            // when counted (after the drain, or at the end of an
            // overloaded run) count against it.
            if self.offered == 0 {
                1.0
            } else {
                self.completed as f64 / self.offered as f64
            },
        );
        if !self.latency.is_empty() {
            out.insert(format!("{p}latency.mean_ms"), self.latency.mean_ns() / 1e6);
            out.insert(
                format!("{p}latency.p50_ms"),
                self.latency.quantile_ns(0.5) as f64 / 1e6,
            );
            out.insert(
                format!("{p}latency.p99_ms"),
                self.latency.quantile_ns(0.99) as f64 / 1e6,
            );
        }
        *out.entry("requests.retries".to_string()).or_insert(0.0) += self.caller.retries as f64;
        self.caller.report(&p, out);
        if self.cfg.connections.is_some() {
            out.insert(format!("{p}reconnects"), self.reconnects as f64);
        }
        if self.cfg.discovery.is_some() {
            out.insert(format!("{p}no_instance"), self.no_instance as f64);
        }
        *out.entry("throughput_rps".to_string()).or_insert(0.0) +=
            self.completed_in_window as f64 / rc.window_s();
    }

    fn client_latency(&self) -> Option<&Histogram> {
        Some(&self.latency)
    }

    fn zero_time_advice(&self) -> Option<String> {
        let name = &self.cfg.name;
        let mut out = Vec::new();
        if let ArrivalCfg::Closed { think, .. } = &self.cfg.arrival
            && think.is_zero()
        {
            out.push(format!(
                "Closed-loop client `{name}` has a think_time of 0s, so its users send again at \
                 the instant they are answered: give it a think_time above zero."
            ));
        }
        if let Some(r) = self.cfg.policy.retry
            && r.backoff.ceiling(1) == 0
        {
            out.push(format!(
                "Client `{name}` retries with a backoff of 0s: give its retry a backoff above zero."
            ));
        }
        (!out.is_empty()).then(|| out.join(" "))
    }
}

/// The overall metrics computed from all clients' sums and latencies.
pub fn overall_metrics(latency: &Histogram, out: &mut Metrics) {
    let get = |out: &Metrics, k: &str| out.get(k).copied().unwrap_or(0.0);
    let completed = get(out, "requests.completed");
    let offered = get(out, "requests.offered");
    out.insert(
        "availability".into(),
        if offered == 0.0 { 1.0 } else { completed / offered },
    );
    if !latency.is_empty() {
        let ms = |ns: u64| ns as f64 / 1e6;
        out.insert("latency.mean_ms".into(), latency.mean_ns() / 1e6);
        for (name, q) in [
            ("latency.p50_ms", 0.5),
            ("latency.p90_ms", 0.9),
            ("latency.p95_ms", 0.95),
            ("latency.p99_ms", 0.99),
            ("latency.p999_ms", 0.999),
        ] {
            out.insert(name.into(), ms(latency.quantile_ns(q)));
        }
        out.insert("latency.max_ms".into(), ms(latency.max_ns()));
    }
}

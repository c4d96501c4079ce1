//! A message broker: a producer's call completes when the message is
//! enqueued (or, with `ack: after_processing`, when it has been processed);
//! the queue hands messages in FIFO order to its `consumer`, at most
//! `concurrency` at a time per serving consumer replica (so an autoscaled
//! consumer takes more as it grows), the queue itself being the waiting
//! room.
//!
//! With a consumer of `c` single-core workers (`concurrency: c`) and
//! Poisson producers the queue is an M/G/c system: the end-to-end time
//! (enqueue to processed) is M/M/c's response time for exponential work.
//!
//! Delivery is at least once: a message whose processing fails (the
//! consumer refused it, crashed while holding it, or failed downstream) is
//! put back at the head of the queue and delivered again, up to
//! `max_deliveries` times in all; after that it is dead-lettered. A broker
//! crash refuses new messages until it recovers; a `durable: false` queue
//! also loses every message waiting in it (`lost_messages`), a durable one
//! keeps them and resumes delivery when it is back.
//!
//! With `batch: { size, max_wait }` one call to the consumer carries up to
//! `size` messages: a batch leaves when it is full or when its oldest
//! message has waited `max_wait`, and only while a worker is free. The
//! consumer holds a core for its `overhead` once plus one `service_time`
//! per message, so batching trades the wait to fill a batch for the
//! overhead it amortises. A failed batch puts every message in it back.

use std::collections::VecDeque;

use super::{
    Component, Ctx, FaultAction, Metrics, Msg, Outcome, ReportCtx, ReqRef, Request, Timer, TimerWord,
};
use crate::engine::SimTime;
use crate::engine::rng::{self, Rng};
use crate::stats::{Histogram, Occupancy};

/// When the producer's call is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ack {
    /// As soon as the message is enqueued (the API answers fast).
    AfterEnqueue,
    /// When the consumer has processed it (a synchronous call through a queue).
    AfterProcessing,
}

/// A queue's resolved configuration.
#[derive(Clone, Debug)]
pub struct QueueCfg {
    /// Name in the scenario.
    pub name: String,
    /// Component id of the consumer (a service or a balancer in front of one).
    pub consumer: u32,
    /// Messages out with each serving replica of the consumer at once.
    pub concurrency: u32,
    /// The consumer's service (its serving replica count multiplies `concurrency`).
    pub consumer_service: Option<u32>,
    /// Messages that may wait; one more is rejected.
    pub capacity: u64,
    /// Waiting messages survive a broker crash.
    pub durable: bool,
    /// When the producer is answered.
    pub ack: Ack,
    /// Deliveries of a message before it is dead-lettered.
    pub max_deliveries: u16,
    /// Most messages in one delivery (1: no batching).
    pub batch: u16,
    /// Longest the oldest waiting message waits for a batch to fill.
    pub max_wait: SimTime,
}

/// The broker's own timer (scheduled to itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum QueueTimer {
    /// A partial batch has lingered long enough: deliver what is waiting.
    Linger,
}

impl Timer for QueueTimer {
    /// The code of the former shared `Tick` (13).
    #[inline]
    fn encode(self) -> TimerWord {
        TimerWord::new(13, 0, 0, 0)
    }

    #[inline]
    fn decode(w: TimerWord) -> Option<Self> {
        (w.kind() == 13).then_some(QueueTimer::Linger)
    }

    fn name(self) -> &'static str {
        "tick"
    }
}

/// The broker.
pub struct Queue {
    cfg: QueueCfg,
    id: u32,
    net: Rng,
    /// Waiting messages (their records; `sent` holds the enqueue time).
    waiting: VecDeque<ReqRef>,
    /// Messages out with the consumer.
    out: u32,
    down: bool,
    depth: Occupancy,
    depth_max: u64,
    end_to_end: Histogram,
    started: SimTime,
    enqueued: u64,
    rejected: u64,
    refused: u64,
    processed: u64,
    redelivered: u64,
    dead_lettered: u64,
    lost: u64,
    crashes: u64,
    /// Depth sampled for the time series.
    iv_depth: Occupancy,
    /// The messages of each batch out with the consumer (slots reused
    /// through `free_batches`, so steady state allocates nothing).
    batches: Vec<Vec<ReqRef>>,
    free_batches: Vec<u32>,
    /// When the pending linger timer fires, if one is pending.
    linger_at: Option<SimTime>,
    /// Batches delivered and the messages they carried.
    batches_sent: u64,
    batched_messages: u64,
    /// Halfway through the window: the time and the mean depth so far.
    mid: Option<(SimTime, f64)>,
}

impl Queue {
    /// A queue with id `id`.
    pub fn new(cfg: &QueueCfg, id: u32, seed: u64) -> Queue {
        Queue {
            cfg: cfg.clone(),
            id,
            net: rng::stream(seed, &format!("component/{}/net", cfg.name)),
            waiting: VecDeque::new(),
            out: 0,
            down: false,
            depth: Occupancy::new(0),
            depth_max: 0,
            end_to_end: Histogram::new(),
            started: 0,
            enqueued: 0,
            rejected: 0,
            refused: 0,
            processed: 0,
            redelivered: 0,
            dead_lettered: 0,
            lost: 0,
            crashes: 0,
            iv_depth: Occupancy::new(0),
            batches: Vec::new(),
            free_batches: Vec::new(),
            linger_at: None,
            batches_sent: 0,
            batched_messages: 0,
            mid: None,
        }
    }

    fn set_depth(&mut self, ctx: &mut Ctx, delta: i64) {
        let now = ctx.now();
        ctx.set_gauge(self.id, self.waiting.len() as i64);
        self.depth.add(now, delta);
        self.iv_depth.add(now, delta);
        self.depth_max = self.depth_max.max(self.waiting.len() as u64);
    }

    /// A producer's message arrives.
    fn arrive(&mut self, req: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(&r) = ctx.reqs.get(req) else { return };
        let counted = now >= self.started;
        if self.down {
            self.refused += u64::from(counted);
            return ctx.respond(&mut self.net, req, Outcome::Failed);
        }
        if self.waiting.len() as u64 >= self.cfg.capacity {
            self.rejected += u64::from(counted);
            return ctx.respond(&mut self.net, req, Outcome::Rejected);
        }
        // Acknowledged after processing: the message answers the producer's
        // hop when the consumer is done; otherwise it has no parent.
        let parent = if self.cfg.ack == Ack::AfterProcessing {
            req
        } else {
            ReqRef::NONE
        };
        let msg = ctx.reqs.alloc(Request {
            target: self.cfg.consumer,
            origin: r.origin,
            attempt: 0,
            ..Request::child_of(parent, &r, self.id, now)
        });
        self.enqueued += u64::from(counted);
        self.waiting.push_back(msg);
        self.set_depth(ctx, 1);
        if self.cfg.ack == Ack::AfterEnqueue {
            ctx.respond(&mut self.net, req, Outcome::Ok);
        }
        self.dispatch(ctx);
    }

    /// Hand waiting messages to the consumer while it has room.
    fn dispatch(&mut self, ctx: &mut Ctx) {
        if self.down {
            return;
        }
        let replicas = self.cfg.consumer_service.map_or(1, |s| ctx.gauge(s).max(1)) as u64;
        let limit = (u64::from(self.cfg.concurrency) * replicas).min(u64::from(u32::MAX)) as u32;
        if self.cfg.batch > 1 {
            return self.dispatch_batches(limit, ctx);
        }
        let now = ctx.now();
        while self.out < limit {
            let Some(msg) = self.waiting.pop_front() else {
                break;
            };
            self.set_depth(ctx, -1);
            let Some(m) = ctx.reqs.get_mut(msg) else { continue };
            m.attempt = m.attempt.saturating_add(1);
            m.replica = super::ANY_REPLICA;
            m.abandoned = false;
            let (first, parent, waited) = (m.attempt == 1, m.parent, now - m.sent);
            if first && parent != ReqRef::NONE {
                // Its producer waits from here on the consumer.
                ctx.reqs.path_queued(parent, waited);
                ctx.reqs.path_group(parent, now);
            }
            self.out += 1;
            ctx.send(&mut self.net, self.cfg.consumer, Msg::Request(msg));
        }
    }

    /// Batched delivery: send full batches, or a partial one whose oldest
    /// message has waited `max_wait`, while fewer than `limit` are out.
    fn dispatch_batches(&mut self, limit: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        while self.out < limit {
            let Some(&front) = self.waiting.front() else {
                break;
            };
            let n = self.waiting.len().min(usize::from(self.cfg.batch));
            if n < usize::from(self.cfg.batch) && self.cfg.max_wait > 0 {
                let oldest = ctx.reqs.get(front).map_or(now, |m| m.sent);
                let due = oldest.saturating_add(self.cfg.max_wait);
                if now < due {
                    // Linger for more messages, at most until `due`.
                    if self.linger_at.is_none_or(|t| t > due) {
                        self.linger_at = Some(due);
                        ctx.sched
                            .after(due - now, self.id, Msg::timer(QueueTimer::Linger));
                    }
                    break;
                }
            }
            let slot = match self.free_batches.pop() {
                Some(s) => s,
                None => {
                    self.batches.push(Vec::with_capacity(usize::from(self.cfg.batch)));
                    (self.batches.len() - 1) as u32
                }
            };
            let mut first: Option<Request> = None;
            for _ in 0..n {
                let Some(msg) = self.waiting.pop_front() else {
                    break;
                };
                let Some(m) = ctx.reqs.get_mut(msg) else { continue };
                m.attempt = m.attempt.saturating_add(1);
                first.get_or_insert(*m);
                let (parent, waited) = (m.parent, now - m.sent);
                if m.attempt == 1 && parent != ReqRef::NONE {
                    ctx.reqs.path_queued(parent, waited);
                    ctx.reqs.path_group(parent, now);
                }
                self.batches[slot as usize].push(msg);
            }
            self.set_depth(ctx, -(n as i64));
            let Some(f) = first else {
                self.free_batches.push(slot);
                continue;
            };
            let carried = self.batches[slot as usize].len();
            if now >= self.started {
                self.batches_sent += 1;
                self.batched_messages += carried as u64;
            }
            // The batch answers to the queue, which settles its messages.
            let call = ctx.reqs.alloc(Request {
                tag: slot,
                target: self.cfg.consumer,
                origin: f.origin,
                items: carried as u16,
                ..Request::child_of(ReqRef::NONE, &f, self.id, now)
            });
            self.out += 1;
            ctx.send(&mut self.net, self.cfg.consumer, Msg::Request(call));
        }
    }

    /// The consumer answers a delivery.
    fn processed(&mut self, msg: ReqRef, outcome: Outcome, ctx: &mut Ctx) {
        if self.cfg.batch > 1 {
            let Some(&call) = ctx.reqs.get(msg) else { return };
            let slot = call.tag as usize;
            let members = std::mem::take(&mut self.batches[slot]);
            if outcome == Outcome::Ok {
                // The batch is on the path of each message's producer.
                let now = ctx.now();
                for &m in &members {
                    if let Some(p) = ctx.reqs.get(m).map(|m| m.parent)
                        && p != ReqRef::NONE
                    {
                        ctx.reqs.path_answered(msg, p, now);
                    }
                }
            }
            ctx.reqs.free(msg);
            self.out = self.out.saturating_sub(1);
            // In reverse, so redelivered messages keep their order at the head.
            for &m in members.iter().rev() {
                self.settle(m, outcome, ctx);
            }
            let mut members = members;
            members.clear();
            self.batches[slot] = members;
            self.free_batches.push(slot as u32);
            return self.dispatch(ctx);
        }
        let Some(&m) = ctx.reqs.get(msg) else { return };
        if outcome == Outcome::Ok && m.parent != ReqRef::NONE && !m.abandoned {
            ctx.reqs.path_answered(msg, m.parent, ctx.now());
        }
        self.out = self.out.saturating_sub(1);
        self.settle(msg, outcome, ctx);
        self.dispatch(ctx);
    }

    /// One delivered message's outcome: done, back to the head of the
    /// queue, or dead-lettered.
    fn settle(&mut self, msg: ReqRef, outcome: Outcome, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(&m) = ctx.reqs.get(msg) else { return };
        let counted = m.sent >= self.started;
        if outcome == Outcome::Ok {
            if counted {
                self.processed += 1;
                self.end_to_end.record(now - m.sent);
            }
            ctx.reqs.free(msg);
            if m.parent != ReqRef::NONE {
                ctx.respond(&mut self.net, m.parent, Outcome::Ok);
            }
        } else if m.attempt < self.cfg.max_deliveries && (self.cfg.durable || !self.down) {
            // At least once: back to the head of the queue.
            self.redelivered += u64::from(counted);
            self.waiting.push_front(msg);
            self.set_depth(ctx, 1);
        } else {
            if self.down && !self.cfg.durable {
                self.lost += u64::from(counted);
            } else {
                self.dead_lettered += u64::from(counted);
            }
            ctx.reqs.free(msg);
            if m.parent != ReqRef::NONE {
                ctx.respond(&mut self.net, m.parent, Outcome::Failed);
            }
        }
    }

    fn crash(&mut self, ctx: &mut Ctx) {
        if self.down {
            return;
        }
        self.down = true;
        let now = ctx.now();
        self.crashes += u64::from(now >= self.started);
        if self.cfg.durable {
            return;
        }
        // What lived only in the broker's memory is gone.
        let n = self.waiting.len() as i64;
        while let Some(msg) = self.waiting.pop_front() {
            let Some(&m) = ctx.reqs.get(msg) else { continue };
            self.lost += u64::from(m.sent >= self.started);
            ctx.reqs.free(msg);
            if m.parent != ReqRef::NONE {
                ctx.respond(&mut self.net, m.parent, Outcome::Failed);
            }
        }
        self.set_depth(ctx, -n);
    }

    fn prefix(&self) -> String {
        format!("components.{}.", self.cfg.name)
    }
}

impl Component for Queue {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn timer_name(&self, w: TimerWord) -> &'static str {
        super::timer_name::<QueueTimer>(w)
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Request(req) => self.arrive(req, ctx),
            Msg::Response(msg, outcome) => self.processed(msg, outcome, ctx),
            Msg::Timer(w) => {
                if let Some(QueueTimer::Linger) = QueueTimer::decode(w) {
                    self.linger_at = None;
                    self.dispatch(ctx);
                }
            }
            _ => {}
        }
    }

    fn fault(&mut self, action: FaultAction, on: bool, ctx: &mut Ctx) {
        let hit = match action {
            FaultAction::Crash(_) | FaultAction::CrashAll => true,
            FaultAction::Outage(r) => ctx.region(self.id) == r,
            _ => false,
        };
        if !hit {
            return;
        }
        if on {
            self.crash(ctx);
        } else if self.down {
            self.down = false;
            self.dispatch(ctx);
        }
    }

    fn on_warmup(&mut self, now: SimTime) {
        self.started = now;
        self.depth.reset(now);
        self.depth_max = self.waiting.len() as u64;
        self.end_to_end.reset();
        self.enqueued = 0;
        self.rejected = 0;
        self.refused = 0;
        self.processed = 0;
        self.redelivered = 0;
        self.dead_lettered = 0;
        self.lost = 0;
        self.crashes = 0;
        self.batches_sent = 0;
        self.batched_messages = 0;
    }

    fn on_midpoint(&mut self, now: SimTime) {
        self.mid = Some((now, self.depth.mean(now)));
    }

    fn columns(&self, out: &mut Vec<String>) {
        out.push(format!("{}.depth", self.cfg.name));
    }

    fn sample(&mut self, now: SimTime, out: &mut Vec<f64>) {
        out.push(self.iv_depth.take_interval_mean(now));
    }

    fn backlog(&self) -> u64 {
        self.waiting.len() as u64 + u64::from(self.out)
    }

    fn report(&self, rc: &ReportCtx, out: &mut Metrics, notes: &mut Vec<String>) {
        let p = self.prefix();
        let w = rc.window_s();
        let mut put = |k: &str, v: f64| {
            out.insert(format!("{p}{k}"), v);
        };
        put("depth_mean", self.depth.mean(rc.now));
        put("depth_max", self.depth_max as f64);
        put("enqueued", self.enqueued as f64);
        put("rejected", self.rejected as f64);
        put("processed", self.processed as f64);
        put("throughput_rps", self.processed as f64 / w);
        put("redelivered", self.redelivered as f64);
        put("dead_lettered", self.dead_lettered as f64);
        put("lost_messages", self.lost as f64);
        if self.cfg.batch > 1 {
            put("batches", self.batches_sent as f64);
            put(
                "batch_size_mean",
                self.batched_messages as f64 / (self.batches_sent as f64).max(1.0),
            );
        }
        if self.crashes > 0 || self.refused > 0 {
            put("crashes", self.crashes as f64);
            put("refused", self.refused as f64);
        }
        let h = &self.end_to_end;
        let ms = |ns: u64| ns as f64 / 1e6;
        put(
            "end_to_end.mean_ms",
            if h.is_empty() { 0.0 } else { h.mean_ns() / 1e6 },
        );
        for (k, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
            put(&format!("end_to_end.{k}_ms"), ms(h.quantile_ns(q)));
        }
        put("end_to_end.max_ms", ms(h.max_ns()));
        *out.entry("data.lost_messages".into()).or_insert(0.0) += self.lost as f64;
        let left = self.waiting.len();
        // Stability: the backlog keeps climbing through the second half of
        // the window (as for a service), and the run ends with it.
        if let Some((mid, first)) = self.mid {
            let (t1, t2) = ((mid - self.started) as f64, rc.now.saturating_sub(mid) as f64);
            let total = self.depth.mean(rc.now);
            let second = if t2 > 0.0 {
                (total * (t1 + t2) - first * t1) / t2
            } else {
                0.0
            };
            if second > 1.5 * first + 10.0 && left as f64 > second {
                notes.push(format!(
                    "UNSTABLE: queue `{}` keeps growing (mean depth {first:.0} in the first half, {second:.0} \
                     in the second, {left} waiting at the end): messages arrive faster than its consumer \
                     processes them ({:.1}/s); add consumers, or batch to amortise per-call overhead",
                    self.cfg.name,
                    self.processed as f64 / w,
                ));
                return;
            }
        }
        if left as f64 > 10.0 * f64::from(self.cfg.concurrency.max(1)) && self.depth.mean(rc.now) > 1.0 {
            let drain_s = self.depth.value().max(0) as f64 / (self.processed as f64 / w).max(1e-9);
            notes.push(format!(
                "queue `{}` ended with {left} messages waiting (mean depth {:.0}); at the rate its \
                 consumer processed them ({:.1}/s) they need about {drain_s:.0} s more to drain",
                self.cfg.name,
                self.depth.mean(rc.now),
                self.processed as f64 / w,
            ));
        }
    }
}

#[cfg(test)]
mod timer_codes {
    use super::*;
    use crate::engine::Message;

    #[test]
    fn timers_keep_their_fingerprint_codes() {
        // The code the linger timer had as Msg::Tick.
        assert_eq!(Msg::timer(QueueTimer::Linger).code(), 13);
        assert_eq!(
            QueueTimer::decode(QueueTimer::Linger.encode()),
            Some(QueueTimer::Linger)
        );
    }
}

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

use std::collections::VecDeque;

use super::{Component, Ctx, FaultAction, Metrics, Msg, Outcome, ReportCtx, ReqRef, Request};
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
        let msg = ctx.reqs.alloc(Request {
            reply_to: self.id,
            parent: if self.cfg.ack == Ack::AfterProcessing {
                req
            } else {
                ReqRef::NONE
            },
            client: r.client,
            op: r.op,
            key: r.key,
            identity: r.identity,
            born: r.born,
            sent: now,
            target: self.cfg.consumer,
            origin: r.origin,
            attempt: 0,
            ..super::Arena::blank()
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
        while self.out < limit {
            let Some(msg) = self.waiting.pop_front() else {
                break;
            };
            self.set_depth(ctx, -1);
            let Some(m) = ctx.reqs.get_mut(msg) else { continue };
            m.attempt = m.attempt.saturating_add(1);
            m.replica = super::ANY_REPLICA;
            m.abandoned = false;
            self.out += 1;
            ctx.send(&mut self.net, self.cfg.consumer, Msg::Request(msg));
        }
    }

    /// The consumer answers a delivery.
    fn processed(&mut self, msg: ReqRef, outcome: Outcome, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(&m) = ctx.reqs.get(msg) else { return };
        self.out = self.out.saturating_sub(1);
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
        self.dispatch(ctx);
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

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Request(req) => self.arrive(req, ctx),
            Msg::Response(msg, outcome) => self.processed(msg, outcome, ctx),
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

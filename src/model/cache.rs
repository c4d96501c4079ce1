//! Caches and CDN edges: key-value nodes in front of a backend.
//!
//! A request first pays `hit_time` (the node's own work), then:
//!
//! - **read, hit**: answers with the cached version. The hit is *stale*
//!   when the database behind the cache has since committed a newer
//!   version (dirty write-back entries are the newest data, never stale).
//! - **read, miss**: `read_through` reads the backend, stores the answer
//!   (expiring `ttl` after it was fetched) and answers; `cache_aside`
//!   answers [`Outcome::Miss`] and the calling service reads the backend
//!   itself, then sends a [`Msg::Fill`] (see `service.rs`). A fill that
//!   arrives after a newer write has been committed stores an old version:
//!   the classic cache-aside race, which shows up as stale reads.
//! - **write**: `write_through` writes the backend, then the cache;
//!   `write_around` writes the backend only (a cached copy stays stale until
//!   it expires or is evicted); `invalidate` writes the backend, then deletes
//!   the cached copy; `write_back` updates the cache and answers at once —
//!   dirty entries reach the backend every `flush_interval` (several writes
//!   to a key between flushes become one backend write), or when evicted.
//!   Until then they live only in the node's memory: `dirty_mean` is what a
//!   crash would lose.
//!
//! `nodes` > 1 is a sharded cluster: a key's node is a hash of the key, and
//! `capacity` is per node. A node is modelled as a delay (`hit_time`), not a
//! queue: cache servers are rarely the bottleneck, and per-node request
//! counts show a hot key's node.
//!
//! A CDN edge is the same machine with `read_through`, `write_around` and an
//! extra one-way `origin_latency` on each trip to the origin.

use super::store::{Lookup, Policy, Store};
use super::{Component, Ctx, Metrics, Msg, Outcome, ReportCtx, ReqRef, Request, Timer, TimerWord};
use crate::engine::SimTime;
use crate::engine::rng::{self, Rng};
use crate::engine::sampler::Sampler;
use crate::model::request::Op;
use crate::stats::Occupancy;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Who loads a missing entry.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReadPolicy {
    /// The cache reads the backend, stores the value and answers.
    #[default]
    ReadThrough,
    /// The cache answers "miss"; the calling service reads the backend and fills the cache.
    CacheAside,
}

/// What a write does to the cache and the backend.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WritePolicy {
    /// Backend first, then the cache is updated; the write answers after both.
    #[default]
    WriteThrough,
    /// The cache only; dirty entries reach the backend later in batches (lost if the node crashes).
    WriteBack,
    /// The backend only; a cached copy stays (stale) until it expires or is evicted.
    WriteAround,
    /// The backend, then the cached copy is deleted.
    Invalidate,
}

/// A cache's resolved configuration.
#[derive(Clone, Debug)]
pub struct CacheCfg {
    /// Name in the scenario.
    pub name: String,
    /// `cache` or `cdn` (for messages).
    pub kind: &'static str,
    /// Nodes of the cluster.
    pub nodes: u32,
    /// Entries per node.
    pub capacity: u32,
    /// Eviction policy.
    pub policy: Policy,
    /// Time to live in ns.
    pub ttl: Option<SimTime>,
    /// Who loads a missing entry.
    pub read_policy: ReadPolicy,
    /// What a write does.
    pub write_policy: WritePolicy,
    /// Component id of the backend (origin).
    pub backend: u32,
    /// The node's own time per request.
    pub hit_time: Sampler,
    /// Extra one-way latency to the backend (a CDN's distance to its origin).
    pub backend_latency: Option<Sampler>,
    /// Write-back flush period in ns.
    pub flush_interval: SimTime,
    /// Database slot whose committed versions decide staleness.
    pub source: Option<usize>,
    /// Keys are below this.
    pub key_space: u64,
    /// Price per node-hour.
    pub price_per_hour: f64,
}

// `step` of an incoming request: what happens when its lookup time is over.
const ANSWER_HIT: u16 = 1;
const ANSWER_MISS: u16 = 2;
const FORWARD: u16 = 3;
/// `step` of a backend answer held back by the origin latency (+ outcome).
const RETURNING: u16 = 10;

/// A cache's own timer (scheduled to itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CacheTimer {
    /// Time for the next write-back flush.
    Flush,
}

impl Timer for CacheTimer {
    /// The code of the former shared `Tick` (13).
    #[inline]
    fn encode(self) -> TimerWord {
        TimerWord::new(13, 0, 0, 0)
    }

    #[inline]
    fn decode(w: TimerWord) -> Option<Self> {
        (w.kind() == 13).then_some(CacheTimer::Flush)
    }

    fn name(self) -> &'static str {
        "tick"
    }
}

/// A running cache.
pub struct Cache {
    cfg: CacheCfg,
    id: u32,
    times: Rng,
    evict: Rng,
    net: Rng,
    stores: Vec<Store>,
    dirty_keys: Vec<Vec<u64>>,
    flush_buf: Vec<u64>,
    write_seq: u32,
    dirty_now: Occupancy,
    dirty: i64,
    // statistics since warm-up
    requests: u64,
    hits: u64,
    misses: u64,
    stale: u64,
    evictions: u64,
    writes: u64,
    backend_reads: u64,
    backend_writes: u64,
    failed: u64,
    node_requests: Vec<u64>,
    iv_hits: u64,
    iv_lookups: u64,
    down: Vec<bool>,
    lost: u64,
    crashes: u64,
}

#[inline]
fn node_hash(key: u64) -> u64 {
    crate::engine::rng::mix_seed(key, 0x00ca_c4e5)
}

impl Cache {
    /// A cache with id `id`.
    pub fn new(cfg: &CacheCfg, id: u32, seed: u64) -> Cache {
        let n = cfg.nodes.max(1) as usize;
        Cache {
            cfg: cfg.clone(),
            id,
            times: rng::stream(seed, &format!("component/{}/hit_time", cfg.name)),
            evict: rng::stream(seed, &format!("component/{}/eviction", cfg.name)),
            net: rng::stream(seed, &format!("component/{}/network", cfg.name)),
            stores: (0..n)
                .map(|_| Store::new(cfg.capacity.max(1), cfg.policy, cfg.key_space))
                .collect(),
            dirty_keys: vec![Vec::new(); n],
            flush_buf: Vec::new(),
            write_seq: 0,
            dirty_now: Occupancy::new(0),
            dirty: 0,
            requests: 0,
            hits: 0,
            misses: 0,
            stale: 0,
            evictions: 0,
            writes: 0,
            backend_reads: 0,
            backend_writes: 0,
            failed: 0,
            node_requests: vec![0; n],
            iv_hits: 0,
            iv_lookups: 0,
            down: vec![false; n],
            lost: 0,
            crashes: 0,
        }
    }

    #[inline]
    fn node_of(&self, key: u64) -> usize {
        if self.cfg.nodes <= 1 {
            0
        } else {
            (node_hash(key) % u64::from(self.cfg.nodes)) as usize
        }
    }

    #[inline]
    fn expires(&self, now: SimTime) -> SimTime {
        self.cfg.ttl.map_or(u64::MAX, |t| now.saturating_add(t))
    }

    fn set_dirty(&mut self, now: SimTime, delta: i64) {
        self.dirty += delta;
        self.dirty_now.add(now, delta);
    }

    fn arrive(&mut self, req: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(req) else { return };
        let (op, key) = (r.op, r.key);
        let counted = now >= ctx.warmup;
        let node = self.node_of(key);
        if counted {
            self.requests += 1;
            self.node_requests[node] += 1;
        }
        if self.down[node] {
            // The node is down: the connection is refused.
            if counted {
                self.failed += 1;
            }
            return ctx.respond(&mut self.net, req, Outcome::Failed);
        }
        let (step, version) = match op {
            Op::Read => {
                self.iv_lookups += 1;
                match self.stores[node].get(key, now) {
                    Lookup::Hit { version, dirty } => {
                        self.iv_hits += 1;
                        let committed = self.cfg.source.map(|db| ctx.data.committed(db, key));
                        if counted {
                            self.hits += 1;
                            if !dirty && committed.is_some_and(|c| version < c) {
                                self.stale += 1;
                            }
                        }
                        // A dirty entry is the newest data there is.
                        let v = if dirty {
                            committed.unwrap_or(version)
                        } else {
                            version
                        };
                        (ANSWER_HIT, v)
                    }
                    miss => {
                        if let Lookup::Expired { dirty: true } = miss {
                            self.set_dirty(now, -1);
                            self.write_to_backend(key, 0, ctx);
                        }
                        if counted {
                            self.misses += 1;
                        }
                        match self.cfg.read_policy {
                            ReadPolicy::ReadThrough => (FORWARD, 0),
                            ReadPolicy::CacheAside => (ANSWER_MISS, 0),
                        }
                    }
                }
            }
            Op::Write => {
                if counted {
                    self.writes += 1;
                }
                if self.cfg.write_policy == WritePolicy::WriteBack {
                    self.write_seq = self.write_seq.wrapping_add(1).max(1);
                    let seq = self.write_seq;
                    let was_dirty = self.stores[node].peek(key).is_some_and(|e| e.2);
                    let exp = self.expires(now);
                    let ev = self.stores[node].put(key, seq, exp, true, &mut self.evict);
                    if !was_dirty {
                        self.set_dirty(now, 1);
                        self.dirty_keys[node].push(key);
                    }
                    if let Some(e) = ev {
                        self.evicted(e, ctx);
                    }
                    (ANSWER_HIT, 0)
                } else {
                    (FORWARD, 0)
                }
            }
        };
        if let Some(r) = ctx.reqs.get_mut(req) {
            r.arrived = now;
            r.step = step;
            r.version = version;
        }
        let d = self.cfg.hit_time.sample(&mut self.times);
        ctx.sched.after(d, self.id, Msg::Later(req));
    }

    fn evicted(&mut self, e: super::store::Evicted, ctx: &mut Ctx) {
        if ctx.now() >= ctx.warmup {
            self.evictions += 1;
        }
        if e.dirty {
            // Write-back: a dirty entry must reach the backend before it goes.
            self.set_dirty(ctx.now(), -1);
            self.write_to_backend(e.key, 0, ctx);
        }
    }

    /// Send a write of `key` to the backend on the cache's own behalf
    /// (a write-back flush); `seq` names the dirty version it carries.
    fn write_to_backend(&mut self, key: u64, seq: u32, ctx: &mut Ctx) {
        if ctx.now() >= ctx.warmup {
            self.backend_writes += 1;
        }
        let child = ctx.reqs.alloc(Request {
            reply_to: self.id,
            op: Op::Write,
            key,
            tag: seq,
            born: ctx.now(),
            sent: ctx.now(),
            target: self.cfg.backend,
            ..super::Arena::blank()
        });
        self.send_backend(child, ctx);
    }

    fn send_backend(&mut self, child: ReqRef, ctx: &mut Ctx) {
        let extra = self
            .cfg
            .backend_latency
            .as_ref()
            .map_or(0, |s| s.sample(&mut self.net));
        let hop = ctx.net.latency.as_ref().map_or(0, |s| s.sample(&mut self.net));
        let now = ctx.sched.now();
        let arrives = now.saturating_add(extra + hop);
        ctx.reqs.path_send(child, now, self.cfg.backend, arrives);
        ctx.sched
            .after(extra + hop, self.cfg.backend, Msg::Request(child));
    }

    fn later(&mut self, rec: ReqRef, ctx: &mut Ctx) {
        let Some(r) = ctx.reqs.get(rec) else { return };
        if r.reply_to == self.id {
            // A backend answer that has travelled back from the origin.
            let outcome = match r.step.saturating_sub(RETURNING) {
                0 => Outcome::Ok,
                1 => Outcome::Rejected,
                _ => Outcome::Failed,
            };
            return self.backend_answered(rec, outcome, ctx);
        }
        if self.down[self.node_of(r.key)] {
            // Its node crashed while it was being served.
            return ctx.respond(&mut self.net, rec, Outcome::Failed);
        }
        match r.step {
            ANSWER_HIT => ctx.respond(&mut self.net, rec, Outcome::Ok),
            ANSWER_MISS => ctx.respond(&mut self.net, rec, Outcome::Miss),
            _ => {
                let child = Request {
                    target: self.cfg.backend,
                    ..Request::child_of(rec, r, self.id, ctx.now())
                };
                if ctx.now() >= ctx.warmup && r.op == Op::Read {
                    self.backend_reads += 1;
                }
                ctx.reqs.path_group(rec, ctx.sched.now());
                let child = ctx.reqs.alloc(child);
                self.send_backend(child, ctx);
            }
        }
    }

    fn response(&mut self, child: ReqRef, outcome: Outcome, ctx: &mut Ctx) {
        if let Some(lat) = &self.cfg.backend_latency {
            // The answer crosses the distance back to the edge first.
            let d = lat.sample(&mut self.net);
            if let Some(c) = ctx.reqs.get_mut(child) {
                c.step = RETURNING
                    + match outcome {
                        Outcome::Ok => 0,
                        Outcome::Rejected => 1,
                        _ => 2,
                    };
            }
            ctx.sched.after(d, self.id, Msg::Later(child));
            return;
        }
        self.backend_answered(child, outcome, ctx);
    }

    fn backend_answered(&mut self, child: ReqRef, outcome: Outcome, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(&c) = ctx.reqs.get(child) else { return };
        let (parent, version, key, seq, op) = (c.parent, c.version, c.key, c.tag, c.op);
        if outcome == Outcome::Ok && parent != ReqRef::NONE && !c.abandoned {
            // The answer has come back the whole way (across the distance).
            ctx.reqs.path_answered(child, parent, now);
        }
        ctx.reqs.free(child);
        let node = self.node_of(key);
        if parent == ReqRef::NONE {
            // A write-back flush.
            match self.stores[node].peek(key) {
                Some((v, exp, true)) if v == seq && outcome == Outcome::Ok => {
                    self.stores[node].put(key, version, exp, false, &mut self.evict);
                    self.set_dirty(now, -1);
                }
                // Written again since (or failed): flush again next time.
                Some((_, _, true)) if seq != 0 => self.dirty_keys[node].push(key),
                _ => {}
            }
            return;
        }
        if outcome != Outcome::Ok || self.down[node] {
            if now >= ctx.warmup {
                self.failed += 1;
            }
            return ctx.respond(&mut self.net, parent, Outcome::Failed);
        }
        let exp = self.expires(now);
        match op {
            Op::Read => self.fill(node, key, version, exp, ctx),
            Op::Write => match self.cfg.write_policy {
                WritePolicy::WriteThrough => self.fill(node, key, version, exp, ctx),
                WritePolicy::Invalidate => {
                    if let Some((_, true)) = self.stores[node].remove(key) {
                        self.set_dirty(now, -1);
                    }
                }
                WritePolicy::WriteAround | WritePolicy::WriteBack => {}
            },
        }
        if let Some(p) = ctx.reqs.get_mut(parent) {
            p.version = version;
        }
        ctx.respond(&mut self.net, parent, Outcome::Ok);
    }

    /// Store a clean copy (never over a dirty entry, which is newer).
    fn fill(&mut self, node: usize, key: u64, version: u32, expires: SimTime, ctx: &mut Ctx) {
        if self.down[node] || self.stores[node].peek(key).is_some_and(|e| e.2) {
            return;
        }
        if let Some(e) = self.stores[node].put(key, version, expires, false, &mut self.evict) {
            self.evicted(e, ctx);
        }
    }

    /// Node `n` crashes: its entries are gone, dirty ones (writes never
    /// flushed) are lost.
    fn crash(&mut self, n: usize, ctx: &mut Ctx) {
        if self.down[n] {
            return;
        }
        self.down[n] = true;
        let lost = self.stores[n].clear();
        self.dirty_keys[n].clear();
        self.set_dirty(ctx.now(), -(lost as i64));
        if ctx.now() >= ctx.warmup {
            self.lost += lost;
            self.crashes += 1;
        }
    }

    fn flush(&mut self, ctx: &mut Ctx) {
        for node in 0..self.stores.len() {
            let mut keys = std::mem::take(&mut self.flush_buf);
            std::mem::swap(&mut keys, &mut self.dirty_keys[node]);
            for &key in &keys {
                if let Some((seq, _, true)) = self.stores[node].peek(key) {
                    self.write_to_backend(key, seq, ctx);
                }
            }
            keys.clear();
            self.flush_buf = keys;
        }
    }
}

impl Component for Cache {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn timer_name(&self, w: TimerWord) -> &'static str {
        super::timer_name::<CacheTimer>(w)
    }

    fn zero_time_advice(&self) -> Option<String> {
        self.cfg.hit_time.is_zero().then(|| {
            format!(
                "Cache `{}` answers in 0s (its hit_time): give it a hit_time above zero.",
                self.cfg.name
            )
        })
    }

    fn start(&mut self, ctx: &mut Ctx) {
        if self.cfg.write_policy == WritePolicy::WriteBack {
            ctx.sched.after(
                self.cfg.flush_interval.max(1),
                self.id,
                Msg::timer(CacheTimer::Flush),
            );
        }
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Request(req) => self.arrive(req, ctx),
            Msg::Later(rec) => self.later(rec, ctx),
            Msg::Response(child, outcome) => self.response(child, outcome, ctx),
            Msg::Fill(rec) => {
                if let Some(r) = ctx.reqs.get(rec) {
                    let (key, version) = (r.key, r.version);
                    ctx.reqs.free(rec);
                    let node = self.node_of(key);
                    let exp = self.expires(ctx.now());
                    self.fill(node, key, version, exp, ctx);
                }
            }
            Msg::Timer(w) => {
                if let Some(CacheTimer::Flush) = CacheTimer::decode(w) {
                    self.flush(ctx);
                    if !ctx.draining {
                        ctx.sched.after(
                            self.cfg.flush_interval.max(1),
                            self.id,
                            Msg::timer(CacheTimer::Flush),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn fault(&mut self, action: super::FaultAction, on: bool, ctx: &mut Ctx) {
        use super::FaultAction;
        let nodes: Vec<usize> = match action {
            FaultAction::Crash(i) if (i as usize) < self.down.len() => vec![i as usize],
            FaultAction::CrashAll => (0..self.down.len()).collect(),
            FaultAction::Outage(r) if ctx.region(self.id) == r => (0..self.down.len()).collect(),
            _ => Vec::new(),
        };
        for n in nodes {
            if on {
                self.crash(n, ctx);
            } else {
                // Back, empty (a cold cache).
                self.down[n] = false;
            }
        }
    }

    fn on_warmup(&mut self, now: SimTime) {
        self.lost = 0;
        self.crashes = 0;
        self.requests = 0;
        self.hits = 0;
        self.misses = 0;
        self.stale = 0;
        self.evictions = 0;
        self.writes = 0;
        self.backend_reads = 0;
        self.backend_writes = 0;
        self.failed = 0;
        self.node_requests.iter_mut().for_each(|n| *n = 0);
        self.dirty_now.reset(now);
    }

    fn columns(&self, out: &mut Vec<String>) {
        out.push(format!("{}.hit_ratio", self.cfg.name));
    }

    fn sample(&mut self, _now: SimTime, out: &mut Vec<f64>) {
        out.push(if self.iv_lookups > 0 {
            self.iv_hits as f64 / self.iv_lookups as f64
        } else {
            0.0
        });
        self.iv_hits = 0;
        self.iv_lookups = 0;
    }

    fn report(&self, rc: &ReportCtx, out: &mut Metrics, _notes: &mut Vec<String>) {
        let p = format!("components.{}.", self.cfg.name);
        let w = rc.window_s();
        let lookups = self.hits + self.misses;
        let mut put = |k: &str, v: f64| {
            out.insert(format!("{p}{k}"), v);
        };
        put(
            "hit_ratio",
            if lookups > 0 {
                self.hits as f64 / lookups as f64
            } else {
                0.0
            },
        );
        put("hits", self.hits as f64);
        put("misses", self.misses as f64);
        put("evictions", self.evictions as f64);
        put("stale_reads", self.stale as f64);
        put(
            "stale_read_ratio",
            if self.hits > 0 {
                self.stale as f64 / self.hits as f64
            } else {
                0.0
            },
        );
        put("throughput_rps", self.requests as f64 / w);
        put("writes", self.writes as f64);
        put("backend_reads", self.backend_reads as f64);
        put("backend_writes", self.backend_writes as f64);
        put("failed", self.failed as f64);
        if self.cfg.write_policy == WritePolicy::WriteBack {
            put("dirty_mean", self.dirty_now.mean(rc.now));
            put("lost_writes", self.lost as f64);
        }
        if self.crashes > 0 {
            put("crashes", self.crashes as f64);
        }
        if self.cfg.nodes > 1 {
            let loads: Vec<f64> = self.node_requests.iter().map(|&n| n as f64).collect();
            put("node_load_cv", crate::stats::coefficient_of_variation(&loads));
            let total: f64 = loads.iter().sum();
            let max = loads.iter().copied().fold(0.0, f64::max);
            put("hottest_node_share", if total > 0.0 { max / total } else { 0.0 });
            if self.cfg.nodes <= 64 {
                for (i, n) in self.node_requests.iter().enumerate() {
                    out.insert(
                        format!("components.{}.node[{i}].requests", self.cfg.name),
                        *n as f64,
                    );
                }
            }
        }
        if self.cfg.source.is_some() {
            *out.entry("consistency.stale_reads".into()).or_insert(0.0) += self.stale as f64;
            *out.entry("consistency.reads".into()).or_insert(0.0) += self.hits as f64;
        }
        if self.cfg.write_policy == WritePolicy::WriteBack {
            *out.entry("data.lost_writes".into()).or_insert(0.0) += self.lost as f64;
        }
        let inst = f64::from(self.cfg.nodes) * w / 3600.0;
        *out.entry("cost.instance_hours".into()).or_insert(0.0) += inst;
        *out.entry("cost.total".into()).or_insert(0.0) += inst * self.cfg.price_per_hour;
    }

    fn backlog(&self) -> u64 {
        0
    }
}

#[cfg(test)]
mod timer_codes {
    use super::*;
    use crate::engine::Message;

    #[test]
    fn timers_keep_their_fingerprint_codes() {
        // The code the flush had as Msg::Tick.
        assert_eq!(Msg::timer(CacheTimer::Flush).code(), 13);
        assert_eq!(
            CacheTimer::decode(CacheTimer::Flush.encode()),
            Some(CacheTimer::Flush)
        );
    }
}

//! An API gateway: routes each request by operation, rate-limits with a
//! token bucket, and adds its own processing time.
//!
//! The token bucket is the classic one (as in Envoy's local rate limit and
//! nginx's `limit_req` with `burst`): a bucket holds at most `burst`
//! tokens, refills continuously at `rate` tokens per second, starts full,
//! and each admitted request takes one token; a request that finds less
//! than one token is refused at once with 429 semantics (a rejection, not
//! a failure). Over a window of length T a bucket admits at most
//! burst + rate·T requests, so under overload the admitted rate converges
//! to `rate`. With `per: identity` every user has its own bucket, so one
//! heavy user cannot starve the others.
//!
//! A bucket that has refilled to `burst` behaves exactly like one that was
//! never created (both hold `burst` tokens from then on), so per-identity
//! buckets are swept out once full: the table holds only the identities
//! that took a token within about `burst / rate` seconds, not every
//! identity ever seen. The sweep runs when the table has doubled since the
//! last one, so it costs amortised O(1) per request.
//!
//! The processing time (`service_time`) delays each admitted request before
//! it is forwarded; the gateway is not a queue (a horizontally scaled proxy
//! fleet is assumed never to saturate).

use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;

use indexmap::IndexMap;

use super::{Component, Ctx, Metrics, Msg, Outcome, ReportCtx, ReqRef, Request};
use crate::engine::rng::{self, Rng};
use crate::engine::sampler::Sampler;
use crate::engine::{NS_PER_S, SimTime};
use crate::model::request::Op;

/// A token bucket's parameters.
#[derive(Clone, Copy, Debug)]
pub struct RateLimitCfg {
    /// Tokens added per second.
    pub rate: f64,
    /// Largest number of tokens held.
    pub burst: f64,
    /// One bucket per identity instead of one for all.
    pub per_identity: bool,
}

/// A gateway's resolved configuration.
#[derive(Clone, Debug)]
pub struct GatewayCfg {
    /// Name in the scenario.
    pub name: String,
    /// Where reads go.
    pub read: u32,
    /// Where writes go.
    pub write: u32,
    /// The limit, if any.
    pub rate_limit: Option<RateLimitCfg>,
    /// Processing time per admitted request.
    pub service_time: Sampler,
}

/// A token bucket.
#[derive(Clone, Copy, Debug)]
pub struct TokenBucket {
    tokens: f64,
    last: SimTime,
}

impl TokenBucket {
    /// A full bucket at time `now`.
    pub fn full(burst: f64, now: SimTime) -> TokenBucket {
        TokenBucket {
            tokens: burst,
            last: now,
        }
    }

    /// Whether the bucket, refilled to `now`, holds `burst` tokens: it is
    /// then the same as a new full bucket, now and at any later time.
    pub fn is_full(&self, now: SimTime, rate: f64, burst: f64) -> bool {
        let dt = now.saturating_sub(self.last) as f64 / NS_PER_S as f64;
        // A negative or NaN rate (never valid) keeps every bucket.
        rate >= 0.0 && self.tokens + rate * dt >= burst
    }

    /// Refill to `now`, then take a token if there is one.
    pub fn take(&mut self, now: SimTime, rate: f64, burst: f64) -> bool {
        let dt = now.saturating_sub(self.last) as f64 / NS_PER_S as f64;
        self.tokens = (self.tokens + rate * dt).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Per-identity tables smaller than this are never swept.
const SWEEP_FLOOR: usize = 1024;

/// The gateway.
pub struct Gateway {
    cfg: GatewayCfg,
    id: u32,
    net: Rng,
    work: Rng,
    global: TokenBucket,
    /// Per-identity buckets that are not full (a missing one is full), in
    /// the order identities first needed one; the fixed hasher keeps even
    /// the table's layout the same from run to run.
    buckets: IndexMap<u64, TokenBucket, BuildHasherDefault<DefaultHasher>>,
    /// Table size at which full buckets are next swept out.
    sweep_at: usize,
    /// Most buckets held at once.
    peak_buckets: usize,
    started: SimTime,
    arrivals: u64,
    limited: u64,
    forwarded: u64,
    failed: u64,
    /// Per-interval admitted and limited counts for the time series.
    iv_admitted: u64,
    iv_limited: u64,
}

impl Gateway {
    /// A gateway with id `id`.
    pub fn new(cfg: &GatewayCfg, id: u32, seed: u64) -> Gateway {
        let burst = cfg.rate_limit.map_or(0.0, |r| r.burst);
        Gateway {
            cfg: cfg.clone(),
            id,
            net: rng::stream(seed, &format!("component/{}/net", cfg.name)),
            work: rng::stream(seed, &format!("component/{}/work", cfg.name)),
            global: TokenBucket::full(burst, 0),
            buckets: IndexMap::default(),
            sweep_at: SWEEP_FLOOR,
            peak_buckets: 0,
            started: 0,
            arrivals: 0,
            limited: 0,
            forwarded: 0,
            failed: 0,
            iv_admitted: 0,
            iv_limited: 0,
        }
    }

    fn admit(&mut self, identity: u64, now: SimTime) -> bool {
        let Some(rl) = self.cfg.rate_limit else {
            return true;
        };
        if rl.per_identity {
            if let Some(b) = self.buckets.get_mut(&identity) {
                return b.take(now, rl.rate, rl.burst);
            }
            if self.buckets.len() >= self.sweep_at {
                // Amortised O(1): at least half the table was added since
                // the last sweep, which left at most `sweep_at / 2` buckets.
                self.buckets.retain(|_, b| !b.is_full(now, rl.rate, rl.burst));
                self.sweep_at = (self.buckets.len() * 2).max(SWEEP_FLOOR);
            }
            let mut b = TokenBucket::full(rl.burst, now);
            let ok = b.take(now, rl.rate, rl.burst);
            self.buckets.insert(identity, b);
            self.peak_buckets = self.peak_buckets.max(self.buckets.len());
            ok
        } else {
            self.global.take(now, rl.rate, rl.burst)
        }
    }

    /// Per-identity buckets held now.
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Most per-identity buckets held at once.
    pub fn peak_buckets(&self) -> usize {
        self.peak_buckets
    }

    fn arrive(&mut self, req: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(req) else { return };
        let identity = r.identity;
        let counted = now >= self.started;
        self.arrivals += u64::from(counted);
        if !self.admit(identity, now) {
            self.limited += u64::from(counted);
            self.iv_limited += 1;
            return ctx.respond(&mut self.net, req, Outcome::Rejected);
        }
        self.iv_admitted += 1;
        let d = self.cfg.service_time.sample(&mut self.work);
        if d == 0 {
            self.forward(req, ctx);
        } else {
            ctx.sched.after(d, self.id, Msg::Later(req));
        }
    }

    fn forward(&mut self, req: ReqRef, ctx: &mut Ctx) {
        let Some(&r) = ctx.reqs.get(req) else { return };
        let target = if r.op == Op::Write {
            self.cfg.write
        } else {
            self.cfg.read
        };
        let child = ctx.reqs.alloc(Request {
            origin: r.origin,
            flags: r.flags,
            target,
            attempt: 1,
            ..Request::child_of(req, &r, self.id, ctx.now())
        });
        self.forwarded += u64::from(ctx.now() >= self.started);
        ctx.reqs.path_group(req, ctx.sched.now());
        ctx.send(&mut self.net, target, Msg::Request(child));
    }

    fn answered(&mut self, child: ReqRef, outcome: Outcome, ctx: &mut Ctx) {
        let Some(&c) = ctx.reqs.get(child) else { return };
        if outcome == Outcome::Ok && !c.abandoned {
            ctx.reqs.path_answered(child, c.parent, ctx.sched.now());
        }
        ctx.reqs.free(child);
        if outcome != Outcome::Ok && ctx.now() >= self.started {
            self.failed += 1;
        }
        if let Some(p) = ctx.reqs.get_mut(c.parent) {
            p.version = p.version.max(c.version);
            p.seen = p.seen.max(c.seen);
        }
        ctx.respond(&mut self.net, c.parent, outcome);
    }
}

impl Component for Gateway {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Request(req) => self.arrive(req, ctx),
            Msg::Later(req) => self.forward(req, ctx),
            Msg::Response(child, outcome) => self.answered(child, outcome, ctx),
            _ => {}
        }
    }

    fn on_warmup(&mut self, now: SimTime) {
        self.started = now;
        self.arrivals = 0;
        self.limited = 0;
        self.forwarded = 0;
        self.failed = 0;
    }

    fn columns(&self, out: &mut Vec<String>) {
        if self.cfg.rate_limit.is_some() {
            out.push(format!("{}.admitted", self.cfg.name));
            out.push(format!("{}.limited", self.cfg.name));
        }
    }

    fn sample(&mut self, _now: SimTime, out: &mut Vec<f64>) {
        if self.cfg.rate_limit.is_some() {
            out.push(self.iv_admitted as f64);
            out.push(self.iv_limited as f64);
        }
        self.iv_admitted = 0;
        self.iv_limited = 0;
    }

    fn report(&self, rc: &ReportCtx, out: &mut Metrics, _notes: &mut Vec<String>) {
        let p = format!("components.{}.", self.cfg.name);
        let w = rc.window_s();
        let mut put = |k: &str, v: f64| {
            out.insert(format!("{p}{k}"), v);
        };
        put("arrival_rps", self.arrivals as f64 / w);
        put("throughput_rps", self.forwarded as f64 / w);
        put("rejected", self.limited as f64);
        put("failed", self.failed as f64);
        if self.cfg.rate_limit.is_some() {
            put("rate_limited", self.limited as f64);
            put("admitted_rps", self.forwarded as f64 / w);
            put(
                "limited_ratio",
                if self.arrivals > 0 {
                    self.limited as f64 / self.arrivals as f64
                } else {
                    0.0
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const S: SimTime = NS_PER_S;

    #[test]
    fn a_full_bucket_passes_a_burst_then_refuses() {
        let mut b = TokenBucket::full(5.0, 0);
        let passed = (0..8).filter(|_| b.take(0, 10.0, 5.0)).count();
        assert_eq!(passed, 5);
        // 100 ms later exactly one token has come back.
        assert!(b.take(S / 10, 10.0, 5.0));
        assert!(!b.take(S / 10, 10.0, 5.0));
    }

    #[test]
    fn admitted_rate_converges_to_the_refill_rate() {
        // 1,000 attempts per second for 100 s against rate 50, burst 20:
        // at most burst + rate·T = 5,020 pass.
        let mut b = TokenBucket::full(20.0, 0);
        let passed = (0..100_000u64)
            .filter(|i| b.take(i * S / 1000, 50.0, 20.0))
            .count();
        assert!((5_000..=5_020).contains(&passed), "{passed}");
    }

    fn gateway(rate: f64, burst: f64) -> Gateway {
        let cfg = GatewayCfg {
            name: "edge".into(),
            read: 1,
            write: 1,
            rate_limit: Some(RateLimitCfg {
                rate,
                burst,
                per_identity: true,
            }),
            service_time: Sampler::constant(0),
        };
        Gateway::new(&cfg, 0, 1)
    }

    /// A small deterministic generator (xorshift) for identities and gaps.
    fn next(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    #[test]
    fn dropping_full_buckets_changes_no_decision() {
        // Against a table that keeps every bucket forever: 400,000 requests
        // from 20,000 identities at about 2,000/s (each identity every 10 s
        // on average, against buckets that refill one token per 0.5 s and
        // hold 3), plus a heavy identity every fourth request.
        let (rate, burst) = (2.0, 3.0);
        let mut g = gateway(rate, burst);
        let mut keep_all: BTreeMap<u64, TokenBucket> = BTreeMap::new();
        let (mut x, mut now) = (88_172_645_463_325_252u64, 0u64);
        let (mut admitted, mut swept_ok) = (0u64, 0u64);
        for i in 0..400_000u64 {
            now += next(&mut x) % 1_000_000;
            let id = if i % 4 == 0 { 7 } else { next(&mut x) % 20_000 };
            let want = keep_all
                .entry(id)
                .or_insert_with(|| TokenBucket::full(burst, now))
                .take(now, rate, burst);
            let got = g.admit(id, now);
            assert_eq!(got, want, "request {i} of identity {id} at {now} ns");
            admitted += u64::from(want);
            swept_ok += u64::from(got);
        }
        assert_eq!(admitted, swept_ok);
        println!(
            "kept forever: {}, swept: peak {}",
            keep_all.len(),
            g.peak_buckets()
        );
        // The heavy identity is limited, the others mostly not.
        assert!(admitted > 300_000 && admitted < 400_000, "{admitted}");
        assert_eq!(keep_all.len(), 20_000);
        // Identities active within burst/rate = 1.5 s: about 2,250 of them
        // (3,000 requests, a quarter from the heavy one) at most.
        assert!(g.peak_buckets() <= 2 * 3_000, "{}", g.peak_buckets());
    }

    #[test]
    fn per_identity_state_stays_bounded_by_recent_identities() {
        // 1,000,000 requests at 100,000/s, each from a new identity (as a
        // crawler rotating keys would): all 1,000,000 buckets were kept
        // before. A bucket of rate 10/s, burst 5 is full again 0.1 s after
        // its one request, so only the last 0.1 s of identities (10,000)
        // need a bucket; the table sweeps once it has doubled.
        let mut g = gateway(10.0, 5.0);
        let gap = S / 100_000;
        for i in 0..1_000_000u64 {
            assert!(g.admit(i, i * gap));
        }
        println!(
            "1,000,000 identities: peak {} buckets, {} at the end",
            g.peak_buckets(),
            g.buckets()
        );
        assert!(g.peak_buckets() <= 2 * 10_000 + 1, "peak {}", g.peak_buckets());
        assert!(g.buckets() <= 2 * 10_000 + 1, "now {}", g.buckets());
        assert!(g.peak_buckets() >= 10_000, "peak {}", g.peak_buckets());
        // A table smaller than the floor is never swept.
        let mut g = gateway(10.0, 5.0);
        for i in 0..500u64 {
            g.admit(i, i * S);
        }
        assert_eq!(g.buckets(), 500);
    }

    #[test]
    fn the_bucket_never_holds_more_than_burst() {
        let mut b = TokenBucket::full(3.0, 0);
        // After an hour idle it still holds only 3.
        let passed = (0..10).filter(|_| b.take(3600 * S, 100.0, 3.0)).count();
        assert_eq!(passed, 3);
    }
}

//! Deployments: a scheduled `{ at, deploy: SERVICE }` event replaces the
//! service's replicas with a new version (its own service time and error
//! ratio), by one of three strategies.
//!
//! **Rolling** (Kubernetes `RollingUpdate`, see the Kubernetes Deployment
//! documentation: `maxUnavailable`, `maxSurge`), idealised in batches.
//! With `max_surge: 0`, each batch takes `max_unavailable` = u old
//! replicas out of rotation; they drain for `drain` (in-flight work
//! finishes; what is still held at its end fails), restart as the new
//! version (`startup_time`) and rejoin; then the next batch. There are
//! ⌈n/u⌉ batches, the deploy takes ⌈n/u⌉·(drain + startup), and the
//! serving replicas never drop below n − u. With `max_surge: s > 0`, s
//! extra new-version replicas start first in spare slots (one
//! `startup_time`); once they serve, each batch replaces u + s old replicas
//! at once, and after the last batch the extras drain and stop:
//! startup + ⌈n/(u+s)⌉·(drain + startup) + drain, never fewer than n − u
//! serving and never more than n + s running.
//!
//! **Blue-green**: n new replicas start in spare slots; when they are all
//! up, traffic moves to them at once and the old ones drain and stop
//! (startup + drain, with 2n replicas running, and paid for, meanwhile).
//!
//! **Canary** (a weighted traffic split as a service mesh makes it, as
//! Flagger and Argo Rollouts drive it): one new-version replica starts in a
//! spare slot; once up, a share `weight` of the service's requests goes to
//! it whichever replica the balancer chose. Every `interval` the canary's
//! answers over the last `window` are judged, once it has served a whole
//! window and the window holds at least one answer: an error ratio above
//! `max_error_ratio` or a p99 above `max_p99` rolls it back (weight 0 at
//! once, the canary drains and stops). The first such evaluation comes at
//! most `window` + `interval` after the canary starts serving. A canary
//! still passing once it has served `promote_after` is promoted as Flagger
//! does: the stable replicas are replaced by a rolling deploy (batches of
//! `max_unavailable`) while the canary keeps its share, then the canary
//! drains and stops.

use std::collections::VecDeque;

use rand::RngExt;

use super::{Life, Service, ServiceTimer};
use crate::engine::SimTime;
use crate::engine::rng::{self, Rng};
use crate::engine::sampler::Sampler;
use crate::model::request::Op;
use crate::model::{Ctx, Metrics, Msg, Outcome, ReportCtx};
use crate::stats::Occupancy;

/// The event code of a `deploy` event (`Msg::Event`).
pub const DEPLOY: u32 = 0;

/// How the new version replaces the old.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Batches of replicas restart as the new version.
    Rolling,
    /// A second full set starts; traffic switches at once.
    BlueGreen,
    /// A weighted share to one new replica, judged, then promoted or rolled back.
    Canary,
}

impl Strategy {
    /// The YAML word.
    pub fn word(self) -> &'static str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::BlueGreen => "blue_green",
            Strategy::Canary => "canary",
        }
    }
}

/// A canary's analysis.
#[derive(Clone, Debug)]
pub struct CanaryCfg {
    /// Share of requests sent to the canary.
    pub weight: f64,
    /// Time between evaluations.
    pub interval: SimTime,
    /// The span of answers each evaluation looks at.
    pub window: SimTime,
    /// Highest error ratio that passes.
    pub max_error_ratio: f64,
    /// Highest p99 response time that passes (none: not judged).
    pub max_p99: Option<SimTime>,
    /// Serving time after which a passing canary is promoted.
    pub promote_after: SimTime,
}

/// A service's resolved `deploy:` section.
#[derive(Clone, Debug)]
pub struct DeployCfg {
    /// Rolling, blue-green or canary.
    pub strategy: Strategy,
    /// Replicas out of rotation at once (rolling, and a canary's promotion).
    pub max_unavailable: u32,
    /// Extra new replicas started for a rolling deploy.
    pub max_surge: u32,
    /// Time a replica leaving rotation keeps finishing its work.
    pub drain: SimTime,
    /// The new version's service time of reads and writes.
    pub read_time: Sampler,
    /// The new version's service time of writes.
    pub write_time: Sampler,
    /// Share of the new version's requests that fail.
    pub error_ratio: f64,
    /// The canary's analysis.
    pub canary: CanaryCfg,
}

impl DeployCfg {
    /// Spare replica slots the strategy needs beyond `replicas`.
    pub fn extra_slots(&self, replicas: u32) -> u32 {
        match self.strategy {
            Strategy::Rolling => self.max_surge,
            Strategy::BlueGreen => replicas,
            Strategy::Canary => 1,
        }
    }
}

/// Steps of a deploy, the `step` of [`ServiceTimer::Deploy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// A batch has drained: what it holds fails, it restarts.
    Drained = 0,
    /// A batch has restarted as the new version.
    Restarted = 1,
    /// The extra replicas (surge, green set, canary) have started.
    ExtrasReady = 2,
    /// The extra replicas have drained and stop.
    ExtrasDrained = 3,
    /// The canary's analysis.
    Evaluate = 4,
    /// Blue-green: the old set has drained and stops.
    OldDrained = 5,
}

impl Step {
    fn from(code: u32) -> Option<Step> {
        Some(match code {
            0 => Step::Drained,
            1 => Step::Restarted,
            2 => Step::ExtrasReady,
            3 => Step::ExtrasDrained,
            4 => Step::Evaluate,
            5 => Step::OldDrained,
            _ => return None,
        })
    }
}

/// A deploy's state inside its service.
pub(super) struct Deploy {
    pub(super) cfg: DeployCfg,
    /// The canary's share of requests.
    split: Rng,
    /// The new version's failures.
    errs: Rng,
    /// Replicas of the service (the old set: slots `0..n`).
    n: u32,
    /// Slots the service's own round robin and the balancers choose from.
    pub(super) members: u32,
    /// Slot out of rotation (not running, starting, draining, or the canary).
    pub(super) out: Vec<bool>,
    /// Slot runs the new version.
    pub(super) new: Vec<bool>,
    started: Option<SimTime>,
    ended: Option<SimTime>,
    /// The next old slot to replace, and the current batch.
    next: u32,
    batch: (u32, u32),
    batches: u32,
    /// Slots of the extra replicas (surge, green set, canary).
    extras: (u32, u32),
    /// Replicas serving, and its lowest value during the deploy.
    serving: Occupancy,
    serving_min: i64,
    errors: u64,
    rollback_at: Option<SimTime>,
    promoted: bool,
    /// The running-replica integral when the deploy started.
    area0: i128,
    replica_hours: f64,
    /// The canary takes its share, since `since`.
    weight_on: bool,
    since: SimTime,
    /// The canary's answers: (time, response time, failed).
    window: VecDeque<(SimTime, u64, bool)>,
    scratch: Vec<u64>,
    evaluations: u64,
    /// The canary's error ratio and p99 (ms) at the last evaluation.
    last_eval: (f64, f64),
}

impl Deploy {
    pub(super) fn new(cfg: &DeployCfg, name: &str, n: u32, pool: u32, seed: u64) -> Deploy {
        let canary = cfg.strategy == Strategy::Canary;
        Deploy {
            cfg: cfg.clone(),
            split: rng::stream(seed, &format!("component/{name}/deploy/split")),
            errs: rng::stream(seed, &format!("component/{name}/deploy/errors")),
            n,
            members: n,
            out: (0..pool).map(|i| i >= n).collect(),
            new: vec![false; pool as usize],
            started: None,
            ended: None,
            next: 0,
            batch: (0, 0),
            batches: 0,
            extras: (n, n + cfg.extra_slots(n)),
            serving: {
                let mut o = Occupancy::new(0);
                o.add(0, i64::from(n));
                o
            },
            serving_min: i64::from(n),
            errors: 0,
            rollback_at: None,
            promoted: false,
            area0: 0,
            replica_hours: 0.0,
            weight_on: false,
            since: 0,
            window: VecDeque::with_capacity(if canary { 4096 } else { 0 }),
            scratch: Vec::with_capacity(if canary { 4096 } else { 0 }),
            evaluations: 0,
            last_eval: (0.0, 0.0),
        }
    }

    /// The slot a request goes to: the canary for its share, else the
    /// slot chosen if it serves, else the next serving one in round robin.
    /// `None`: every replica is out of rotation (the request is refused,
    /// and counted among the deploy's errors).
    #[inline]
    pub(super) fn route(&mut self, chosen: u32, rr: &mut u32) -> Option<u32> {
        if self.weight_on && self.split.random::<f64>() < self.cfg.canary.weight {
            return Some(self.extras.0);
        }
        if self.out.get(chosen as usize).is_some_and(|o| !o) {
            return Some(chosen);
        }
        let m = self.members.max(1);
        for _ in 0..m {
            let i = *rr % m;
            *rr = rr.wrapping_add(1);
            if !self.out[i as usize] {
                return Some(i);
            }
        }
        self.errors += u64::from(self.active());
        None
    }

    /// The service time of `op` on the new version.
    #[inline]
    pub(super) fn time(&self, op: Op) -> &Sampler {
        match op {
            Op::Read => &self.cfg.read_time,
            Op::Write => &self.cfg.write_time,
        }
    }

    /// Whether a request served on slot `ri` fails (the new version's error ratio).
    #[inline]
    pub(super) fn fails(&mut self, ri: usize) -> bool {
        self.new[ri] && self.cfg.error_ratio > 0.0 && self.errs.random::<f64>() < self.cfg.error_ratio
    }

    fn active(&self) -> bool {
        self.started.is_some() && self.ended.is_none()
    }

    /// A request held by slot `ri` is answered after `rt`.
    #[inline]
    pub(super) fn answered(&mut self, ri: usize, now: SimTime, rt: u64, outcome: Outcome) {
        if !self.active() {
            return;
        }
        let failed = outcome != Outcome::Ok;
        self.errors += u64::from(failed);
        if self.cfg.strategy == Strategy::Canary && ri as u32 == self.extras.0 && self.weight_on {
            self.window.push_back((now, rt, failed));
        }
    }

    fn serve(&mut self, delta: i64, now: SimTime) {
        self.serving.add(now, delta);
        self.serving_min = self.serving_min.min(self.serving.value());
    }

    /// The deploy's metrics under `components.NAME.deploy.`.
    /// `area` is the running-replica integral now (for an unfinished deploy).
    pub(super) fn report(
        &self,
        name: &str,
        rc: &ReportCtx,
        area: i128,
        out: &mut Metrics,
        notes: &mut Vec<String>,
    ) {
        let Some(start) = self.started else { return };
        let end = self.ended.unwrap_or(rc.now);
        let p = format!("components.{name}.deploy.");
        let n = f64::from(self.n);
        let mut put = |k: &str, v: f64| {
            out.insert(format!("{p}{k}"), v);
        };
        let duration = crate::engine::secs(end - start);
        put("started_s", crate::engine::secs(start));
        put("duration_s", duration);
        put("finished", f64::from(u8::from(self.ended.is_some())));
        put("batches", f64::from(self.batches));
        put("capacity_min", self.serving_min as f64 / n);
        put("errors", self.errors as f64);
        put("rolled_back", f64::from(u8::from(self.rollback_at.is_some())));
        if let Some(t) = self.rollback_at {
            put("rollback_s", crate::engine::secs(t - start));
        }
        put("promoted", f64::from(u8::from(self.promoted)));
        put(
            "replica_hours",
            if self.ended.is_some() {
                self.replica_hours
            } else {
                (area - self.area0) as f64 / 3.6e12
            },
        );
        if self.cfg.strategy == Strategy::Canary {
            put("evaluations", self.evaluations as f64);
            put("canary_error_ratio", self.last_eval.0);
            put("canary_p99_ms", self.last_eval.1);
        }
        let how = match (self.cfg.strategy, self.rollback_at, self.promoted) {
            (Strategy::Canary, Some(t), _) => format!(
                "its canary was rolled back {:.1}s after the deploy began (error ratio {:.1}%, p99 {:.0}ms at the deciding evaluation)",
                crate::engine::secs(t - start),
                self.last_eval.0 * 100.0,
                self.last_eval.1
            ),
            (Strategy::Canary, None, true) => "its canary passed and was promoted".to_string(),
            (Strategy::Canary, None, false) => "its canary was still being judged".to_string(),
            (_, _, _) => format!("{} batch(es)", self.batches),
        };
        notes.push(format!(
            "{name}: {} deploy at {:.1}s {} in {:.1}s: {how}; serving replicas never below {:.0}% of {}; {} request(s) failed during it",
            self.cfg.strategy.word(),
            crate::engine::secs(start),
            if self.ended.is_some() { "finished" } else { "unfinished at the end" },
            duration,
            self.serving_min as f64 / n * 100.0,
            self.n,
            self.errors
        ));
    }

    /// The chart band of the deploy window.
    pub(super) fn annotation(&self, name: &str, now: SimTime) -> Option<crate::model::Annotation> {
        let start = self.started?;
        Some(crate::model::Annotation {
            start_s: crate::engine::secs(start),
            end_s: crate::engine::secs(self.ended.unwrap_or(now)),
            label: format!("deploy {name} ({})", self.cfg.strategy.word().replace('_', "-")),
        })
    }

    /// Serving replicas ÷ n since the last sample.
    pub(super) fn take_serving(&mut self, now: SimTime) -> f64 {
        self.serving.take_interval_mean(now) / f64::from(self.n)
    }
}

impl Service {
    fn dep(&mut self) -> &mut Deploy {
        self.deploy.as_deref_mut().expect("a deploy is configured")
    }

    fn after(&mut self, d: SimTime, step: Step, ctx: &mut Ctx) {
        ctx.sched
            .after(d, self.id, Msg::timer(ServiceTimer::Deploy { step: step as u32 }));
    }

    /// Takes the extra slots out of the balancers' rotation before anything
    /// is sent (they are beyond the serving slots until a deploy needs them).
    pub(super) fn deploy_start(&mut self, ctx: &mut Ctx) {
        let Some(d) = self.deploy.as_deref() else { return };
        let (a, b) = d.extras;
        for i in a..b {
            self.set_rotation(i as usize, false, ctx);
        }
    }

    fn send_members(&mut self, m: u32, ctx: &mut Ctx) {
        self.dep().members = m;
        for i in 0..self.cfg.balancers.len() {
            let b = self.cfg.balancers[i];
            ctx.send(&mut self.net, b, Msg::Members(m));
        }
    }

    fn rotate(&mut self, ri: u32, serving: bool, ctx: &mut Ctx) {
        let now = ctx.now();
        let d = self.dep();
        if d.out[ri as usize] == serving {
            d.out[ri as usize] = !serving;
            d.serve(if serving { 1 } else { -1 }, now);
        }
        self.set_rotation(ri as usize, serving, ctx);
    }

    /// Slots `a..b` fail what they still hold (the drain is over).
    fn cut(&mut self, a: u32, b: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        for i in a..b {
            self.lose_sessions(i as usize, now);
            let failed = self.drop_work(i as usize, ctx);
            self.dep().errors += failed;
        }
    }

    /// Slots `a..b` start (as the new version), serving after `startup_time`.
    fn start_extras(&mut self, a: u32, b: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        for i in a..b {
            let r = &mut self.reps[i as usize];
            r.life = Life::Starting;
            if r.queue.capacity() == 0 {
                r.queue.reserve(64);
            }
            self.dep().new[i as usize] = true;
        }
        self.running.add(now, i64::from(b - a));
        let t = self.cfg.startup_time;
        self.after(t, Step::ExtrasReady, ctx);
    }

    /// Slots `a..b` stop.
    fn stop(&mut self, a: u32, b: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        for i in a..b {
            self.reps[i as usize].life = Life::Off;
        }
        self.running.add(now, -i64::from(b - a));
    }

    /// A `deploy` event.
    pub(super) fn deploy_event(&mut self, code: u32, ctx: &mut Ctx) {
        if code != DEPLOY {
            return;
        }
        let now = ctx.now();
        let area = self.running.integral(now);
        let Some(d) = self.deploy.as_deref_mut() else {
            return;
        };
        if d.started.is_some() {
            return;
        }
        d.started = Some(now);
        d.area0 = area;
        d.serving_min = d.serving.value();
        let (a, b) = d.extras;
        match d.cfg.strategy {
            Strategy::Rolling if d.cfg.max_surge == 0 => self.begin_batch(ctx),
            Strategy::Rolling | Strategy::BlueGreen => {
                self.send_members(b, ctx);
                self.start_extras(a, b, ctx);
            }
            Strategy::Canary => self.start_extras(a, b, ctx),
        }
    }

    /// A deploy timer.
    pub(super) fn deploy_step(&mut self, code: u32, ctx: &mut Ctx) {
        let Some(step) = Step::from(code) else { return };
        let now = ctx.now();
        let Some(d) = self.deploy.as_deref() else { return };
        let (strategy, (a, b), n) = (d.cfg.strategy, d.extras, d.n);
        match step {
            Step::Drained => {
                let (x, y) = self.dep().batch;
                self.cut(x, y, ctx);
                let t = self.cfg.startup_time;
                self.after(t, Step::Restarted, ctx);
            }
            Step::Restarted => {
                let (x, y) = self.dep().batch;
                for i in x..y {
                    self.dep().new[i as usize] = true;
                    self.rotate(i, true, ctx);
                }
                let d = self.dep();
                d.next = y;
                d.batches += 1;
                self.begin_batch(ctx);
            }
            Step::ExtrasReady => {
                for i in a..b {
                    self.reps[i as usize].life = Life::Ready;
                }
                match strategy {
                    Strategy::Rolling => {
                        for i in a..b {
                            self.rotate(i, true, ctx);
                        }
                        self.begin_batch(ctx);
                    }
                    Strategy::BlueGreen => {
                        // Green in first, then blue out: the switch is one instant.
                        for i in a..b {
                            self.rotate(i, true, ctx);
                        }
                        for i in 0..n {
                            self.rotate(i, false, ctx);
                        }
                        let t = self.dep().cfg.drain;
                        self.after(t, Step::OldDrained, ctx);
                    }
                    Strategy::Canary => {
                        let d = self.dep();
                        d.weight_on = true;
                        d.since = now;
                        d.serve(1, now);
                        let t = d.cfg.canary.interval;
                        self.after(t, Step::Evaluate, ctx);
                    }
                }
            }
            Step::ExtrasDrained => {
                self.cut(a, b, ctx);
                self.stop(a, b, ctx);
                if self.dep().members != n {
                    self.send_members(n, ctx);
                }
                self.end(ctx);
            }
            Step::OldDrained => {
                self.cut(0, n, ctx);
                self.stop(0, n, ctx);
                self.end(ctx);
            }
            Step::Evaluate => self.evaluate(ctx),
        }
    }

    /// The next batch of old replicas leaves rotation, or the batches are done.
    fn begin_batch(&mut self, ctx: &mut Ctx) {
        let d = self.dep();
        let size = match d.cfg.strategy {
            Strategy::Rolling => d.cfg.max_unavailable + d.cfg.max_surge,
            _ => d.cfg.max_unavailable,
        }
        .max(1);
        let (x, y) = (d.next, (d.next + size).min(d.n));
        if x >= y {
            return self.remove_extras(ctx);
        }
        d.batch = (x, y);
        let drain = d.cfg.drain;
        for i in x..y {
            self.rotate(i, false, ctx);
        }
        self.after(drain, Step::Drained, ctx);
    }

    /// The batches are done (or the canary rolled back): the extra
    /// replicas leave rotation and drain; without extras the deploy ends.
    fn remove_extras(&mut self, ctx: &mut Ctx) {
        let d = self.dep();
        let (a, b) = d.extras;
        if a == b {
            return self.end(ctx);
        }
        let now = ctx.now();
        if d.cfg.strategy == Strategy::Canary {
            if d.weight_on {
                d.weight_on = false;
                d.serve(-1, now);
            }
        } else {
            for i in a..b {
                self.rotate(i, false, ctx);
            }
        }
        let t = self.dep().cfg.drain;
        self.after(t, Step::ExtrasDrained, ctx);
    }

    fn end(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let area = self.running.integral(now);
        let d = self.dep();
        d.ended = Some(now);
        d.replica_hours = (area - d.area0) as f64 / 3.6e12;
    }

    /// The canary's analysis over the last window.
    fn evaluate(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let d = self.dep();
        if !d.weight_on || d.promoted {
            return;
        }
        let c = d.cfg.canary.clone();
        let from = now.saturating_sub(c.window);
        while d.window.front().is_some_and(|e| e.0 <= from) {
            d.window.pop_front();
        }
        let full = now - d.since >= c.window && !d.window.is_empty();
        if full {
            d.evaluations += 1;
            let k = d.window.len();
            let failed = d.window.iter().filter(|e| e.2).count();
            d.scratch.clear();
            d.scratch.extend(d.window.iter().map(|e| e.1));
            // The nearest-rank p99: the ⌈0.99·k⌉-th smallest.
            let rank = ((0.99 * k as f64).ceil() as usize).clamp(1, k) - 1;
            let (_, p99, _) = d.scratch.select_nth_unstable(rank);
            let (ratio, p99) = (failed as f64 / k as f64, *p99);
            d.last_eval = (ratio, p99 as f64 / 1e6);
            let bad = ratio > c.max_error_ratio || c.max_p99.is_some_and(|m| p99 > m);
            if bad {
                d.rollback_at = Some(now);
                return self.remove_extras(ctx);
            }
            if now - d.since >= c.promote_after {
                d.promoted = true;
                d.next = 0;
                return self.begin_batch(ctx);
            }
        }
        if !ctx.draining {
            self.after(c.interval, Step::Evaluate, ctx);
        }
    }
}

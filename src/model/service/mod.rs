//! Services: pools of replicas, each with `cores` slots and its own queue.
//!
//! FIFO (SPEC §2, Must): a request waits in its replica's queue for a free
//! core; `queue_capacity` counts waiting requests only (one core with
//! capacity 9 is M/M/1/K with K = 10); a request finding the queue full is
//! rejected at once. It holds a core for `service_time ÷ speed`, releases it,
//! then makes its `calls` without holding a core (an asynchronous server).
//! `max_concurrency` bounds what a replica holds from arrival to response,
//! downstream waits included, as a thread pool or connection limit does.
//!
//! Processor sharing: all present requests share the cores equally, each
//! progressing at min(1, cores/n). Implemented with a virtual clock V that
//! advances at that per-job rate: a job arriving at V₀ with work x finishes
//! when V reaches V₀ + x, so a min-heap on finish tags gives the next
//! departure in O(log n) (the standard "virtual time" technique, as in
//! Demers, Keshav & Shenker's fair-queueing analysis, 1989).

use crate::math;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::RngExt;

mod discovery;
mod imbalance;

use super::autoscale::{AutoscaleCfg, Holt, HpaState, Metric, Policy, Reading, hpa_proposal};
use super::request::{DEGRADED, IDEMPOTENT, LOGIN, LOST, RETRYABLE};
use super::resilience::{CallPolicy, Caller};
use super::{
    ANY_REPLICA, Component, Ctx, Metrics, Msg, Outcome, ReportCtx, ReqRef, Request, Timer, TimerWord,
};
use crate::engine::SimTime;
use crate::engine::rng::{self, Rng};
use crate::engine::sampler::Sampler;
use crate::model::request::Op;
use crate::stats::Occupancy;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod bulkhead;
mod probes;
pub use probes::{ProbeCfg, ProbesCfg};
mod deploy;
pub use deploy::{CanaryCfg, DEPLOY, DeployCfg, Strategy};

/// Queue discipline of a replica.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Discipline {
    /// First come, first served, one request per core.
    #[default]
    Fifo,
    /// All present requests share the cores equally (a time-sliced CPU).
    ProcessorSharing,
}

/// The load a service time depends on.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LoadMeasure {
    /// Requests the replica holds, queued, in service or waiting on calls.
    #[default]
    Concurrency,
    /// Busy cores ÷ cores when service starts.
    Utilization,
}

/// Marks a request whose answer has been sent (later child answers are dropped).
const FINISHED: u16 = u16::MAX;

/// One downstream call, resolved.
#[derive(Clone, Debug)]
pub struct EdgeCfg {
    /// Component id called.
    pub target: u32,
    /// Chance the call is made.
    pub probability: f64,
    /// Only for this operation.
    pub on: Option<Op>,
    /// Timeout of each attempt, retries, circuit breaker, idempotency.
    pub policy: CallPolicy,
    /// The target is a `cache_aside` cache: on a miss this service reads
    /// this backend itself, then fills the cache.
    pub aside: Option<u32>,
    /// The session read of `state: { store }`: keyed by the user, not the data.
    pub session: bool,
    /// A failure of this call does not fail the request (graceful
    /// degradation: the answer goes out without this part).
    pub optional: bool,
    /// Bulkhead: calls in flight at once on this edge per calling replica (0: no limit).
    pub bulkhead: u32,
    /// The target's name (for the bulkhead's metrics).
    pub target_name: String,
}

/// One step of the call plan: a single call or a parallel group.
#[derive(Clone, Debug)]
pub struct StepCfg {
    /// The calls made at this step (one unless parallel).
    pub edges: Vec<EdgeCfg>,
}

/// A service's resolved configuration.
#[derive(Clone, Debug)]
pub struct ServiceCfg {
    /// Name in the scenario.
    pub name: String,
    /// Replicas.
    pub replicas: u32,
    /// Cores per replica.
    pub cores: u32,
    /// Speed of each replica.
    pub speeds: Vec<f64>,
    /// Service time of reads.
    pub read_time: Sampler,
    /// Service time of writes.
    pub write_time: Sampler,
    /// Waiting room per replica (u64::MAX = unbounded).
    pub queue_capacity: u64,
    /// Queue discipline.
    pub discipline: Discipline,
    /// Requests a replica may hold (u32::MAX = no limit).
    pub max_concurrency: u32,
    /// Downstream calls.
    pub calls: Vec<StepCfg>,
    /// Price per replica-hour.
    pub price_per_hour: f64,
    /// Service time grows with load.
    pub load_dependence: Option<LoadDependence>,
    /// Replica slots (the autoscaler's `max`, else `replicas`); `replicas` start ready.
    pub pool: u32,
    /// Time a new replica takes before it serves.
    pub startup_time: SimTime,
    /// The autoscaler changing the replica count, if any.
    pub autoscale: Option<AutoscaleCfg>,
    /// Balancers in front of this service (told the serving count).
    pub balancers: Vec<u32>,
    /// Where sessions live.
    pub state: StateCfg,
    /// A load balancer sends to it.
    pub fronted: bool,
    /// Fixed work per call, paid once however many messages it carries.
    pub overhead: Option<Sampler>,
    /// Liveness, readiness and startup probes, and the restart time.
    pub probes: Option<ProbesCfg>,
    /// How a `deploy` event replaces the replicas with a new version.
    pub deploy: Option<Box<DeployCfg>>,
    /// The time series has a `load_cv` column (a balancer in front sets `layer`).
    pub load_cv_series: bool,
    /// The registry its replicas heartbeat to, and how often.
    pub registry: Option<(u32, SimTime)>,
}

/// Where a service keeps its users' sessions.
#[derive(Clone, Debug)]
pub enum StateCfg {
    /// Nowhere: any replica serves any request.
    Stateless,
    /// In replica memory: a request on a replica without its user's
    /// session logs in again (an extra `login_time`); a crash loses the
    /// sessions the replica held.
    Stateful {
        /// Extra work of a login.
        login_time: Sampler,
        /// Session table size (users; identities beyond share slots).
        users: u32,
    },
    /// In a store component, read on every request (a call edge added
    /// first in the plan): nothing is lost with a replica.
    Store,
}

/// Where a replica slot is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    /// Serving.
    Ready,
    /// Started by the autoscaler, serving after `startup_time`.
    Starting,
    /// Removed: takes nothing new, finishes what it holds.
    Draining,
    /// Not running (and not paid for).
    Off,
}

/// Service time as a function of load: the sampled time is multiplied by
/// 1 + f·x (linear) or e^(f·x) (exponential), where x is the replica's
/// concurrency or its busy fraction when service starts (capped at ×10⁶).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LoadDependence {
    /// 1 + f·x.
    Linear(f64, LoadMeasure),
    /// e^(f·x).
    Exponential(f64, LoadMeasure),
}

/// Largest slowdown load dependence applies.
const MAX_SLOWDOWN: f64 = 1e6;

#[derive(Default)]
struct Ps {
    v: f64,
    last: SimTime,
    jobs: BinaryHeap<Reverse<(u64, u64, u32, u32)>>,
    generation: u32,
    seq: u64,
}

struct Replica {
    /// Crashed: arrivals fail until it recovers.
    down: bool,
    /// Hung (a gray failure): admits requests, answers none.
    hung: bool,
    /// Restarted by a probe: refuses arrivals until its process answers.
    booting: bool,
    /// Serving, starting, draining or off (autoscaling).
    life: Life,
    /// Bumped when a start is cancelled, so its readiness event is ignored.
    epoch: u16,
    /// Requests admitted and not yet answered (position in `Request::pos`).
    held: Vec<ReqRef>,
    busy: u32,
    queue: VecDeque<ReqRef>,
    in_system: u32,
    arrivals: u64,
    /// Arrivals in the current time-series interval (`load_cv` column).
    interval_arrivals: u64,
    busy_tw: Occupancy,
    in_sys_tw: Occupancy,
    in_sys_mid: f64,
    ps: Ps,
}

/// A service's own timers (scheduled to itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServiceTimer {
    /// Processor sharing: replica `replica`'s earliest job may be finished
    /// (ignored unless `generation` is still current).
    PsDone {
        /// Replica index.
        replica: u32,
        /// Reschedule generation.
        generation: u32,
    },
    /// A started replica has finished starting (ignored unless `epoch` is
    /// still current).
    Ready {
        /// Replica slot.
        replica: u32,
        /// Start generation.
        epoch: u32,
    },
    /// The autoscaler's periodic evaluation.
    Tick,
    /// A probe of replica `replica` is due (`kind`: 0 liveness, 1
    /// readiness, 2 startup).
    Probe {
        /// Replica slot.
        replica: u32,
        /// Probe kind.
        kind: u32,
    },
    /// A probe sent to a hung replica times out (ignored unless `epoch`,
    /// the replica's restart count, is still current).
    ProbeTimeout {
        /// Replica slot.
        replica: u32,
        /// Probe kind.
        kind: u32,
        /// Restart generation.
        epoch: u32,
    },
    /// A restarted replica's process answers again.
    Booted {
        /// Replica slot.
        replica: u32,
        /// Restart generation.
        epoch: u32,
    },
    /// A step of a deploy (see `deploy.rs`).
    Deploy {
        /// The step's code.
        step: u32,
    },
    /// Replica `replica` heartbeats to the registry (if it is up).
    Heartbeat {
        /// Replica slot.
        replica: u32,
    },
}

impl Timer for ServiceTimer {
    /// The codes of the former shared messages: `PsDone` (kind 5, the
    /// generation at bit 32), `Ready` (kind 18, the epoch at bit 40) and
    /// `Tick` (13).
    #[inline]
    fn encode(self) -> TimerWord {
        match self {
            ServiceTimer::PsDone { replica, generation } => TimerWord::new(5, replica, generation, 32),
            ServiceTimer::Ready { replica, epoch } => TimerWord::new(18, replica, epoch, 40),
            ServiceTimer::Tick => TimerWord::new(13, 0, 0, 0),
            ServiceTimer::Probe { replica, kind } => TimerWord::new(0x61, replica, kind, 32),
            ServiceTimer::ProbeTimeout { replica, kind, epoch } => {
                TimerWord::new(0x62, replica, (epoch << 2) | kind, 32)
            }
            ServiceTimer::Booted { replica, epoch } => TimerWord::new(0x63, replica, epoch, 32),
            ServiceTimer::Deploy { step } => TimerWord::new(26, step, 0, 0),
            ServiceTimer::Heartbeat { replica } => TimerWord::new(44, replica, 0, 40),
        }
    }

    #[inline]
    fn decode(w: TimerWord) -> Option<Self> {
        match w.kind() {
            5 => Some(ServiceTimer::PsDone {
                replica: w.a(),
                generation: w.b(),
            }),
            18 => Some(ServiceTimer::Ready {
                replica: w.a(),
                epoch: w.b(),
            }),
            13 => Some(ServiceTimer::Tick),
            0x61 => Some(ServiceTimer::Probe {
                replica: w.a(),
                kind: w.b(),
            }),
            0x62 => Some(ServiceTimer::ProbeTimeout {
                replica: w.a(),
                kind: w.b() & 3,
                epoch: w.b() >> 2,
            }),
            0x63 => Some(ServiceTimer::Booted {
                replica: w.a(),
                epoch: w.b(),
            }),
            26 => Some(ServiceTimer::Deploy { step: w.a() }),
            44 => Some(ServiceTimer::Heartbeat { replica: w.a() }),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ServiceTimer::PsDone { .. } => "done",
            ServiceTimer::Ready { .. } => "replica_ready",
            ServiceTimer::Tick => "tick",
            ServiceTimer::Probe { .. } => "probe",
            ServiceTimer::ProbeTimeout { .. } => "probe_timeout",
            ServiceTimer::Booted { .. } => "restarted",
            ServiceTimer::Deploy { .. } => "deploy",
            ServiceTimer::Heartbeat { .. } => "heartbeat",
        }
    }
}

/// A running service.
pub struct Service {
    cfg: ServiceCfg,
    id: u32,
    times: Rng,
    route: Rng,
    net: Rng,
    reps: Vec<Replica>,
    rr: u32,
    done_buf: Vec<ReqRef>,
    // statistics since warm-up
    busy: Occupancy,
    queue: Occupancy,
    in_sys: Occupancy,
    arrivals: u64,
    completed: u64,
    failed: u64,
    rejected: u64,
    wait_sum: f64,
    wait_n: u64,
    sojourn_sum: f64,
    sojourn_n: u64,
    mid: Option<(SimTime, f64)>,
    started: SimTime,
    /// Service-time multiplier of a `slow` fault.
    slow: f64,
    /// Replicas up, and whether at least one is (time-weighted).
    up: Occupancy,
    any_up: Occupancy,
    crashes: u64,
    /// Guarded call edges in plan order (`Request::edge` − 1 indexes them):
    /// (step, edge within the step, its caller state).
    guarded: Vec<(u16, u16, Caller)>,
    /// Bulkheads of the guarded edges.
    bulk: bulkhead::Bulkheads,
    /// Backoff jitter draws.
    retry_rng: Rng,
    /// Service time spent on hops nobody was waiting for any more, and in all (ns).
    wasted_ns: f64,
    work_ns: f64,
    /// Requests answered without an `optional` call that failed.
    degraded: u64,
    /// Calls to a failed `cache_aside` cache sent to its backend instead.
    cache_fallbacks: u64,
    /// Replicas serving: slots `0..ready` (a prefix).
    ready: u32,
    /// Replicas serving, and replicas running (serving, starting, draining).
    ready_tw: Occupancy,
    running: Occupancy,
    /// Autoscaling state.
    scaler: Scaler,
    /// Stateful: the replica holding each user's session (u32::MAX: none).
    owner: Vec<u32>,
    /// Sessions each replica holds.
    sessions: Vec<u64>,
    logins: u64,
    relogins: u64,
    sessions_lost: u64,
    /// Probes and hangs.
    kube: probes::Kubelet,
    /// The deploy's state, when the service has a `deploy:` section.
    deploy: Option<Box<deploy::Deploy>>,
    /// The `load_cv` column's values since the warm-up: sum and count.
    load_cv: (f64, u32),
    /// With a registry: each replica's first heartbeat time.
    heartbeat_phase: Vec<SimTime>,
}

/// The autoscaler's memory inside the service it scales.
#[derive(Default)]
struct Scaler {
    /// The policy reads the response-time p99.
    watch_latency: bool,
    hpa: HpaState,
    holt: Holt,
    last_t: SimTime,
    last_busy: i128,
    last_arrivals: u64,
    arrivals: u64,
    latency: crate::stats::IntervalHistogram,
    last_scale: Option<SimTime>,
    events: u64,
    replicas_max: u32,
    replicas_min: u32,
    /// The replica count asked for (serving + starting).
    desired: u32,
}

impl Service {
    /// A service with id `id`.
    pub fn new(cfg: &ServiceCfg, id: u32, seed: u64) -> Service {
        let pool = cfg.pool.max(cfg.replicas).max(1);
        let reps = (0..pool)
            .map(|i| Replica {
                down: false,
                hung: false,
                booting: false,
                life: if i < cfg.replicas { Life::Ready } else { Life::Off },
                epoch: 0,
                held: Vec::new(),
                busy: 0,
                queue: VecDeque::with_capacity(if i < cfg.replicas { 64 } else { 0 }),
                in_system: 0,
                arrivals: 0,
                interval_arrivals: 0,
                busy_tw: Occupancy::new(0),
                in_sys_tw: Occupancy::new(0),
                in_sys_mid: 0.0,
                ps: Ps::default(),
            })
            .collect();
        let mut cfg = cfg.clone();
        cfg.pool = pool;
        let cfg = &cfg;
        Service {
            cfg: cfg.clone(),
            id,
            times: rng::stream(seed, &format!("component/{}/service_time", cfg.name)),
            route: rng::stream(seed, &format!("component/{}/calls", cfg.name)),
            net: rng::stream(seed, &format!("component/{}/network", cfg.name)),
            reps,
            rr: 0,
            done_buf: Vec::new(),
            busy: Occupancy::new(0),
            queue: Occupancy::new(0),
            in_sys: Occupancy::new(0),
            arrivals: 0,
            completed: 0,
            failed: 0,
            rejected: 0,
            wait_sum: 0.0,
            wait_n: 0,
            sojourn_sum: 0.0,
            sojourn_n: 0,
            mid: None,
            started: 0,
            slow: 1.0,
            up: {
                let mut o = Occupancy::new(0);
                o.add(0, i64::from(cfg.replicas));
                o
            },
            any_up: {
                let mut o = Occupancy::new(0);
                o.add(0, 1);
                o
            },
            crashes: 0,
            guarded: cfg
                .calls
                .iter()
                .enumerate()
                .flat_map(|(si, st)| {
                    st.edges
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| e.policy.guarded() || e.optional || e.bulkhead > 0)
                        .map(move |(ei, e)| (si as u16, ei as u16, Caller::new(e.policy)))
                })
                .collect(),
            bulk: bulkhead::Bulkheads::new(
                cfg.calls
                    .iter()
                    .flat_map(|st| st.edges.iter())
                    .filter(|e| e.policy.guarded() || e.optional || e.bulkhead > 0)
                    .map(|e| (e.bulkhead, e.target_name.clone()))
                    .collect(),
                cfg.pool as usize,
            ),
            retry_rng: rng::stream(seed, &format!("component/{}/retry", cfg.name)),
            wasted_ns: 0.0,
            work_ns: 0.0,
            degraded: 0,
            cache_fallbacks: 0,
            ready: cfg.replicas,
            ready_tw: {
                let mut o = Occupancy::new(0);
                o.add(0, i64::from(cfg.replicas));
                o
            },
            running: {
                let mut o = Occupancy::new(0);
                o.add(0, i64::from(cfg.replicas));
                o
            },
            owner: match &cfg.state {
                StateCfg::Stateful { users, .. } => vec![u32::MAX; (*users).max(1) as usize],
                _ => Vec::new(),
            },
            sessions: vec![0; pool as usize],
            logins: 0,
            relogins: 0,
            sessions_lost: 0,
            kube: probes::Kubelet::default(),
            deploy: cfg
                .deploy
                .as_ref()
                .map(|d| Box::new(deploy::Deploy::new(d, &cfg.name, cfg.replicas, pool, seed))),
            load_cv: (0.0, 0),
            heartbeat_phase: discovery::phases(cfg, pool, seed),
            scaler: Scaler {
                desired: cfg.replicas,
                watch_latency: cfg
                    .autoscale
                    .as_ref()
                    .is_some_and(|a| a.policy.metric() == Some(Metric::LatencyP99)),
                replicas_max: cfg.replicas,
                replicas_min: cfg.replicas,
                latency: crate::stats::IntervalHistogram::new(),
                ..Scaler::default()
            },
        }
    }

    #[inline(always)]
    fn demand(&mut self, op: Op, ri: usize, login: bool, items: u16) -> f64 {
        let s = match (op, self.deploy.as_deref()) {
            (_, Some(dep)) if dep.new[ri] => dep.time(op),
            (Op::Read, _) => &self.cfg.read_time,
            (Op::Write, _) => &self.cfg.write_time,
        };
        let mut d = s.sample_f64(&mut self.times);
        // A batch: one service time per message, and the call's overhead once.
        for _ in 1..items {
            d += s.sample_f64(&mut self.times);
        }
        if let Some(o) = &self.cfg.overhead {
            d += o.sample_f64(&mut self.times);
        }
        if login && let StateCfg::Stateful { login_time, .. } = &self.cfg.state {
            d += login_time.sample_f64(&mut self.times);
        }
        let d = d * self.slow / self.cfg.speeds[ri];
        match self.cfg.load_dependence {
            None => d,
            Some(l) => d * self.slowdown(l, ri),
        }
    }

    /// The load-dependence factor of replica `ri` now.
    fn slowdown(&self, l: LoadDependence, ri: usize) -> f64 {
        let rep = &self.reps[ri];
        let x = |m: LoadMeasure| match m {
            LoadMeasure::Concurrency => f64::from(rep.in_system),
            LoadMeasure::Utilization => f64::from(rep.busy) / f64::from(self.cfg.cores),
        };
        let f = match l {
            LoadDependence::Linear(f, m) => 1.0 + f * x(m),
            LoadDependence::Exponential(f, m) => math::exp(f * x(m)),
        };
        f.min(MAX_SLOWDOWN)
    }

    /// Count service time `work` given to hop `req`: wasted when nobody up
    /// its chain still waits for it (a caller timed out or failed).
    #[inline]
    fn account_work(&mut self, req: ReqRef, ctx: &Ctx) {
        if ctx.now() < self.started {
            return;
        }
        let Some(r) = ctx.reqs.get(req) else { return };
        let work = r.work as f64;
        self.work_ns += work;
        let mut cur = Some(r);
        let mut depth = 0;
        while let Some(h) = cur {
            if h.abandoned || h.step == FINISHED && depth > 0 {
                self.wasted_ns += work;
                return;
            }
            if h.parent == ReqRef::NONE || depth > 64 {
                return;
            }
            cur = ctx.reqs.get(h.parent);
            if cur.is_none() {
                // The record it served is gone: its caller has settled.
                self.wasted_ns += work;
                return;
            }
            depth += 1;
        }
    }

    fn arrive(&mut self, req: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let n = self.ready.max(1);
        self.scaler.arrivals += 1;
        let Some(r) = ctx.reqs.get_mut(req) else { return };
        let ri = if let Some(d) = self.deploy.as_deref_mut() {
            // A deploy decides: the canary's share, and no replica out of rotation.
            match d.route(r.replica, &mut self.rr) {
                Some(i) => i,
                None => {
                    // Every replica is out of rotation: refused at once.
                    self.arrivals += 1;
                    self.failed += 1;
                    ctx.respond(&mut self.net, req, Outcome::Failed);
                    return;
                }
            }
        } else if r.replica == ANY_REPLICA
            || self
                .reps
                .get(r.replica as usize)
                .is_none_or(|p| matches!(p.life, Life::Off | Life::Starting))
        {
            let i = self.rr % n;
            self.rr = self.rr.wrapping_add(1);
            i
        } else {
            r.replica
        };
        r.replica = ri;
        r.arrived = now;
        r.step = 0;
        r.pending = 0;
        let (op, items, flags) = (r.op, r.items, r.flags);
        let ri = ri as usize;
        self.arrivals += 1;
        let cores = self.cfg.cores;
        let rep = &mut self.reps[ri];
        rep.arrivals += 1;
        rep.interval_arrivals += 1;
        if rep.down || rep.booting {
            // Connection refused: the caller learns at once.
            self.failed += 1;
            ctx.respond(&mut self.net, req, Outcome::Failed);
            return;
        }
        if rep.in_system >= self.cfg.max_concurrency {
            return self.reject(req, ctx);
        }
        let login = if self.owner.is_empty() {
            flags & LOGIN != 0
        } else {
            self.session(req, ri, now, ctx);
            ctx.reqs.get(req).is_some_and(|r| r.flags & LOGIN != 0)
        };
        let rep = &mut self.reps[ri];
        match self.cfg.discipline {
            Discipline::Fifo => {
                if rep.busy < cores {
                    self.admit(ri, req, ctx);
                    self.start(ri, req, ctx);
                } else if (rep.queue.len() as u64) < self.cfg.queue_capacity {
                    rep.queue.push_back(req);
                    self.queue.add(now, 1);
                    self.admit(ri, req, ctx);
                } else {
                    self.reject(req, ctx);
                }
            }
            Discipline::ProcessorSharing => {
                let present = rep.ps.jobs.len() as u64;
                if present >= u64::from(cores).saturating_add(self.cfg.queue_capacity) {
                    return self.reject(req, ctx);
                }
                self.admit(ri, req, ctx);
                self.wait_n += 1;
                let work = self.demand(op, ri, login, items);
                if let Some(r) = ctx.reqs.get_mut(req) {
                    r.work = work as u64;
                }
                let rep = &mut self.reps[ri];
                ps_advance(&mut rep.ps, cores, now);
                rep.ps.seq += 1;
                let finish = rep.ps.v + work;
                rep.ps
                    .jobs
                    .push(Reverse((finish.to_bits(), rep.ps.seq, req.idx, req.generation)));
                self.ps_busy(ri, now);
                self.ps_reschedule(ri, ctx);
            }
        }
    }

    #[inline(always)]
    fn admit(&mut self, ri: usize, req: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let rep = &mut self.reps[ri];
        if let Some(r) = ctx.reqs.get_mut(req) {
            r.pos = rep.held.len() as u32;
        }
        rep.held.push(req);
        rep.in_system += 1;
        if self.cfg.pool > 1 {
            rep.in_sys_tw.add(now, 1);
        }
        self.in_sys.add(now, 1);
    }

    fn reject(&mut self, req: ReqRef, ctx: &mut Ctx) {
        self.rejected += 1;
        ctx.respond(&mut self.net, req, Outcome::Rejected);
    }

    #[inline(always)]
    fn start(&mut self, ri: usize, req: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let rep = &mut self.reps[ri];
        rep.busy += 1;
        if self.cfg.pool > 1 {
            rep.busy_tw.add(now, 1);
        }
        self.busy.add(now, 1);
        let Some(r) = ctx.reqs.get_mut(req) else { return };
        let (op, login, items, wait) = (r.op, r.flags & LOGIN != 0, r.items, now - r.arrived);
        self.wait_sum += wait as f64;
        self.wait_n += 1;
        let d = self.demand(op, ri, login, items);
        // d ≥ 0, so adding ½ and truncating rounds to nearest (cheaper than round()).
        let d = (d + 0.5) as u64;
        // One lookup for both: `demand` draws from the service's own streams only.
        r.work = d;
        ctx.reqs.path_queued(req, wait);
        ctx.sched.after(d, self.id, Msg::Done(req));
    }

    fn done(&mut self, req: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get(req) else { return };
        if r.step == FINISHED {
            // Its replica crashed while serving it: already failed.
            return;
        }
        let ri = r.replica as usize;
        if self.reps[ri].hung {
            // A hung process never finishes: held until a restart.
            return;
        }
        let rep = &mut self.reps[ri];
        rep.busy -= 1;
        if self.cfg.pool > 1 {
            rep.busy_tw.add(now, -1);
        }
        self.busy.add(now, -1);
        if let Some(next) = rep.queue.pop_front() {
            self.queue.add(now, -1);
            self.start(ri, next, ctx);
        }
        self.account_work(req, ctx);
        if let Some(d) = self.deploy.as_deref_mut()
            && d.fails(ri)
        {
            // The new version's error: it answers with a failure.
            return self.finish(req, Outcome::Failed, ctx);
        }
        if self.cfg.calls.is_empty() {
            // No calls to make: answer now (what `continue_calls` would do).
            return self.finish(req, Outcome::Ok, ctx);
        }
        self.continue_calls(req, ctx);
    }

    /// Make the next step's calls, or answer when none are left.
    fn continue_calls(&mut self, req: ReqRef, ctx: &mut Ctx) {
        loop {
            let Some(r) = ctx.reqs.get(req) else { return };
            let step = r.step as usize;
            if step >= self.cfg.calls.len() {
                return self.finish(req, Outcome::Ok, ctx);
            }
            ctx.reqs.path_group(req, ctx.sched.now());
            let Some(r) = ctx.reqs.get(req) else { return };
            let caller = r.replica;
            let tmpl = Request {
                origin: r.origin,
                flags: r.flags,
                ..Request::child_of(req, r, self.id, ctx.now())
            };
            let mut made = 0u16;
            let mut guarded = self.guarded.partition_point(|g| (g.0 as usize) < step);
            for (ei, e) in self.cfg.calls[step].edges.iter().enumerate() {
                // Index (+1) of this edge's caller state, if it is guarded.
                let edge = match self.guarded.get(guarded) {
                    Some(g) if g.0 as usize == step && g.1 as usize == ei => {
                        guarded += 1;
                        guarded as u16
                    }
                    _ => 0,
                };
                if e.on.is_some_and(|on| on != tmpl.op) {
                    continue;
                }
                if e.probability < 1.0 && self.route.random::<f64>() >= e.probability {
                    continue;
                }
                let mut flags = tmpl.flags & !(DEGRADED | LOGIN);
                if e.policy.retry.is_some() {
                    flags |= RETRYABLE;
                }
                if e.policy.idempotent {
                    flags |= IDEMPOTENT;
                }
                let child = Request {
                    target: e.target,
                    edge,
                    attempt: 1,
                    items: 0,
                    flags,
                    op: if e.session { Op::Read } else { tmpl.op },
                    key: if e.session { tmpl.identity } else { tmpl.key },
                    ..tmpl
                };
                made += 1;
                if edge > 0 {
                    let counted = ctx.now() >= self.started;
                    let now = ctx.now();
                    if self.bulk.full(edge, caller, counted)
                        || !self.guarded[edge as usize - 1].2.admit(now, true, counted)
                    {
                        // Bulkhead full or breaker open: this call fails at
                        // once; an optional one is left out instead.
                        if e.optional
                            && let Some(backend) = e.aside
                        {
                            // …and a cache_aside cache is skipped: its
                            // backend is called directly.
                            self.cache_fallbacks += u64::from(counted);
                            let child = ctx.reqs.alloc(Request {
                                target: backend,
                                edge: 0,
                                tag: 0,
                                ..child
                            });
                            ctx.send(&mut self.net, backend, Msg::Request(child));
                            continue;
                        }
                        if e.optional {
                            made -= 1;
                            if let Some(r) = ctx.reqs.get_mut(req)
                                && r.flags & DEGRADED == 0
                            {
                                r.flags |= DEGRADED;
                                self.degraded += u64::from(counted);
                            }
                            continue;
                        }
                        let Some(r) = ctx.reqs.get_mut(req) else { return };
                        r.step = (step + 1) as u16;
                        return self.finish(req, Outcome::Failed, ctx);
                    }
                }
                let child = ctx.reqs.alloc(child);
                if edge > 0 {
                    self.bulk.hold(edge, caller, child, ctx.now() >= self.started);
                }
                ctx.send(&mut self.net, e.target, Msg::Request(child));
                if let Some(t) = e.policy.timeout {
                    ctx.sched.after(t, self.id, Msg::Timeout(child));
                }
            }
            let Some(r) = ctx.reqs.get_mut(req) else { return };
            r.step = (step + 1) as u16;
            r.pending = made;
            if made > 0 {
                return;
            }
        }
    }

    #[inline(always)]
    fn finish(&mut self, req: ReqRef, outcome: Outcome, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(r) = ctx.reqs.get_mut(req) else { return };
        if r.step == FINISHED || self.reps[r.replica as usize].hung {
            return;
        }
        r.step = FINISHED;
        let (ri, arrived, pos, reply_to) = (r.replica as usize, r.arrived, r.pos as usize, r.reply_to);
        let rep = &mut self.reps[ri];
        if rep.held.get(pos) == Some(&req) {
            rep.held.swap_remove(pos);
            if let Some(&moved) = rep.held.get(pos)
                && let Some(m) = ctx.reqs.get_mut(moved)
            {
                m.pos = pos as u32;
            }
        }
        rep.in_system -= 1;
        if self.cfg.pool > 1 {
            rep.in_sys_tw.add(now, -1);
        }
        self.in_sys.add(now, -1);
        let drained = rep.life == Life::Draining && rep.in_system == 0;
        self.sojourn_sum += (now - arrived) as f64;
        self.sojourn_n += 1;
        if self.scaler.watch_latency {
            self.scaler.latency.record(now - arrived);
        }
        if outcome == Outcome::Ok {
            self.completed += 1;
        } else {
            self.failed += 1;
        }
        if let Some(d) = self.deploy.as_deref_mut() {
            d.answered(ri, now, now - arrived, outcome);
        }
        // `ctx.respond` without looking the record up again.
        ctx.send(&mut self.net, reply_to, Msg::Response(req, outcome));
        if drained {
            self.reps[ri].life = Life::Off;
            self.refresh(ctx);
        }
    }

    /// Stateful: does replica `ri` hold the session of the request's user?
    /// If not, the request logs in (slower) and the session moves here.
    fn session(&mut self, req: ReqRef, ri: usize, now: SimTime, ctx: &mut Ctx) {
        let Some(r) = ctx.reqs.get_mut(req) else { return };
        let slot = (r.identity % self.owner.len() as u64) as usize;
        let held = self.owner[slot];
        if held == ri as u32 {
            return;
        }
        r.flags |= LOGIN;
        let counted = now >= self.started;
        if held == u32::MAX {
            self.logins += u64::from(counted);
        } else {
            // On another replica (or lost with it): log in again.
            self.relogins += u64::from(counted);
            if let Some(n) = self.sessions.get_mut(held as usize) {
                *n = n.saturating_sub(1);
            }
        }
        self.owner[slot] = ri as u32;
        self.sessions[ri] += 1;
    }

    /// Replica `ri` lost its memory: its users' sessions are gone.
    fn lose_sessions(&mut self, ri: usize, now: SimTime) {
        if self.owner.is_empty() || self.sessions[ri] == 0 {
            return;
        }
        if now >= self.started {
            self.sessions_lost += self.sessions[ri];
        }
        self.sessions[ri] = 0;
        for o in self.owner.iter_mut().filter(|o| **o == ri as u32) {
            *o = u32::MAX - 1;
        }
    }

    // -- Autoscaling ------------------------------------------------------

    /// Count the serving prefix and the running slots after a change, and
    /// tell the balancers in front how many replicas serve.
    fn refresh(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        let ready = self.reps.iter().take_while(|r| r.life == Life::Ready).count() as u32;
        let running = self.reps.iter().filter(|r| r.life != Life::Off).count() as i64;
        self.running.add(now, running - self.running.value());
        if ready != self.ready {
            self.ready_tw.add(now, i64::from(ready) - i64::from(self.ready));
            self.ready = ready;
            ctx.set_gauge(self.id, i64::from(ready));
            self.scaler.replicas_max = self.scaler.replicas_max.max(ready);
            self.scaler.replicas_min = self.scaler.replicas_min.min(ready);
            for i in 0..self.cfg.balancers.len() {
                let b = self.cfg.balancers[i];
                ctx.send(&mut self.net, b, Msg::Members(ready));
            }
        }
    }

    /// Takes replica `ri` out of the rotation of the balancers in front
    /// (`serving: false`) or puts it back. Shared by deploys and probes.
    fn set_rotation(&mut self, ri: usize, serving: bool, ctx: &mut Ctx) {
        for i in 0..self.cfg.balancers.len() {
            let b = self.cfg.balancers[i];
            let msg = Msg::Rotation {
                replica: ri as u32,
                serving,
            };
            ctx.send(&mut self.net, b, msg);
        }
    }

    /// Replicas asked for: serving, and started (or serving outside the prefix).
    fn requested(&self) -> (u32, u32) {
        let starting = self
            .reps
            .iter()
            .skip(self.ready as usize)
            .filter(|r| matches!(r.life, Life::Ready | Life::Starting))
            .count() as u32;
        (self.ready, starting)
    }

    /// Ask for `n` replicas: new ones start (serving after the startup
    /// time), removed ones drain.
    fn scale_to(&mut self, n: u32, ctx: &mut Ctx) {
        let (ready, starting) = self.requested();
        let current = ready + starting;
        let n = n.clamp(1, self.reps.len() as u32);
        self.scaler.desired = n;
        if n == current {
            return;
        }
        let now = ctx.now();
        if now >= self.started {
            self.scaler.events += 1;
        }
        self.scaler.last_scale = Some(now);
        if n > current {
            let mut need = n - current;
            for i in ready as usize..self.reps.len() {
                if need == 0 {
                    break;
                }
                let r = &mut self.reps[i];
                match r.life {
                    Life::Draining => {
                        // Still warm: it serves again at once.
                        r.life = Life::Ready;
                        need -= 1;
                    }
                    Life::Off => {
                        r.life = Life::Starting;
                        r.epoch = r.epoch.wrapping_add(1);
                        let epoch = r.epoch;
                        if r.queue.capacity() == 0 {
                            r.queue.reserve(64);
                        }
                        ctx.sched.after(
                            self.cfg.startup_time,
                            self.id,
                            Msg::timer(ServiceTimer::Ready {
                                replica: i as u32,
                                epoch: u32::from(epoch),
                            }),
                        );
                        need -= 1;
                    }
                    Life::Ready | Life::Starting => {}
                }
            }
        } else {
            let mut extra = current - n;
            // Cancel starts first, then drain from the top.
            for i in (0..self.reps.len()).rev() {
                if extra == 0 {
                    break;
                }
                let r = &mut self.reps[i];
                if r.life == Life::Starting {
                    r.life = Life::Off;
                    r.epoch = r.epoch.wrapping_add(1);
                    extra -= 1;
                }
            }
            for i in (0..self.reps.len()).rev() {
                if extra == 0 {
                    break;
                }
                let r = &mut self.reps[i];
                if r.life == Life::Ready {
                    r.life = if r.in_system == 0 {
                        Life::Off
                    } else {
                        Life::Draining
                    };
                    extra -= 1;
                }
            }
        }
        self.refresh(ctx);
    }

    fn became_ready(&mut self, replica: u32, epoch: u32, ctx: &mut Ctx) {
        let Some(r) = self.reps.get_mut(replica as usize) else {
            return;
        };
        if r.life == Life::Starting && u32::from(r.epoch) == epoch {
            r.life = Life::Ready;
            self.refresh(ctx);
        }
    }

    /// One sync period is over: read the metric and decide.
    fn sync(&mut self, ctx: &mut Ctx) {
        let Some(a) = self.cfg.autoscale.clone() else {
            return;
        };
        let now = ctx.now();
        if !ctx.draining {
            ctx.sched
                .after(a.interval, self.id, Msg::timer(ServiceTimer::Tick));
        }
        let dt = now.saturating_sub(self.scaler.last_t).max(1);
        let area = self.busy.integral(now);
        let busy_cores = (area - self.scaler.last_busy) as f64 / dt as f64;
        let arrivals = self.scaler.arrivals - self.scaler.last_arrivals;
        self.scaler.last_t = now;
        self.scaler.last_busy = area;
        self.scaler.last_arrivals = self.scaler.arrivals;
        let (ready, starting) = self.requested();
        let current = ready + starting;
        let per_ready = f64::from(ready.max(1));
        let value = match a.policy.metric() {
            Some(Metric::Cpu) => busy_cores / (per_ready * f64::from(self.cfg.cores)),
            Some(Metric::RequestRate) => arrivals as f64 / crate::engine::secs(dt) / per_ready,
            Some(Metric::LatencyP99) => {
                let v = self.scaler.latency.quantile(0.99) as f64 / 1e6;
                self.scaler.latency.reset();
                v
            }
            Some(Metric::QueueDepth) => a.queue.map_or(0.0, |q| ctx.gauge(q) as f64),
            None => 0.0,
        };
        let reading = Reading {
            value,
            ready,
            starting,
        };
        let n = match &a.policy {
            Policy::TargetTracking(h) => {
                let raw = hpa_proposal(h, reading);
                self.scaler.hpa.normalize(h, now, current, raw, a.min, a.max)
            }
            Policy::Predictive {
                hpa,
                horizon,
                alpha,
                beta,
            } => {
                // Demand in replicas at the target, now and `horizon` ahead.
                let demand = match hpa.metric {
                    Metric::QueueDepth => value / hpa.target,
                    _ => value / hpa.target * f64::from(ready),
                };
                self.scaler.holt.observe(demand, *alpha, *beta);
                let steps = *horizon as f64 / a.interval.max(1) as f64;
                let ahead = self.scaler.holt.forecast(steps).max(0.0).ceil() as u32;
                let raw = hpa_proposal(hpa, reading).max(ahead);
                self.scaler.hpa.normalize(hpa, now, current, raw, a.min, a.max)
            }
            Policy::Threshold {
                up_above,
                down_below,
                step,
                cooldown,
                ..
            } => {
                let cooled = self.scaler.last_scale.is_none_or(|t| now >= t + cooldown);
                let n = if cooled && value > *up_above {
                    current + step
                } else if cooled && value < *down_below {
                    current.saturating_sub(*step)
                } else {
                    current
                };
                n.clamp(a.min, a.max)
            }
            Policy::Schedule(steps) => {
                let i = steps.partition_point(|(t, _)| *t <= now);
                let n = if i == 0 { current } else { steps[i - 1].1 };
                n.clamp(a.min, a.max)
            }
        };
        self.scale_to(n, ctx);
    }

    fn child_answered(&mut self, child: ReqRef, outcome: Outcome, ctx: &mut Ctx) {
        let Some(&c) = ctx.reqs.get(child) else { return };
        let (parent, abandoned, version, target, fill_cache) =
            (c.parent, c.abandoned, c.version, c.target, c.tag);
        let key = c.key;
        self.bulk.release(child);
        match outcome {
            _ if abandoned => {}
            Outcome::Ok => ctx.reqs.path_answered(child, parent, ctx.sched.now()),
            Outcome::Miss => ctx.reqs.path_stash(child, ctx.sched.now()),
            _ => {}
        }
        ctx.reqs.free(child);
        if abandoned {
            return;
        }
        if c.edge > 0 {
            let ok = matches!(outcome, Outcome::Ok | Outcome::Miss);
            let now = ctx.now();
            self.guarded[c.edge as usize - 1]
                .2
                .result(now, ok, now >= self.started);
            if !ok && self.retry(c, ctx) {
                return;
            }
            if !ok && self.is_optional(c.edge) {
                // Graceful degradation: answer without this part.
                return self.degrade(&c, ctx);
            }
        }
        if outcome == Outcome::Miss {
            // Cache-aside: the cache lacks the key; read it from the cache's
            // backend ourselves (the fetch remembers the cache in its tag).
            if let Some(backend) = self.aside_backend(target)
                && let Some(p) = ctx.reqs.get(parent)
                && p.step != FINISHED
            {
                let fetch = ctx.reqs.alloc(Request {
                    op: Op::Read,
                    target: backend,
                    tag: target + 1,
                    ..Request::child_of(parent, p, self.id, ctx.now())
                });
                // The miss and the load are one call on the path.
                ctx.reqs.path_adopt(fetch);
                ctx.send(&mut self.net, backend, Msg::Request(fetch));
                return;
            }
        }
        if outcome == Outcome::Ok && fill_cache > 0 {
            // …and put what it read into the cache (not awaited).
            let fill = ctx.reqs.alloc(Request {
                reply_to: self.id,
                key,
                version,
                target: fill_cache - 1,
                ..super::Arena::blank()
            });
            ctx.send(&mut self.net, fill_cache - 1, Msg::Fill(fill));
        }
        let Some(p) = ctx.reqs.get_mut(parent) else { return };
        if p.step == FINISHED || self.reps[p.replica as usize].hung {
            return;
        }
        p.version = p.version.max(version);
        if outcome != Outcome::Ok {
            // Fail fast: the first failed call fails the request.
            return self.finish(parent, Outcome::Failed, ctx);
        }
        p.pending = p.pending.saturating_sub(1);
        if p.pending == 0 {
            self.continue_calls(parent, ctx);
        }
    }

    fn child_timed_out(&mut self, child: ReqRef, ctx: &mut Ctx) {
        let Some(c) = ctx.reqs.get_mut(child) else { return };
        if c.abandoned {
            return;
        }
        // The call travels on: its callee still works on it (unless the
        // network lost it: no answer will free it then).
        c.abandoned = true;
        let c = *c;
        self.bulk.release(child);
        if c.flags & LOST != 0 {
            ctx.reqs.free(child);
        }
        if c.edge > 0 {
            let now = ctx.now();
            self.guarded[c.edge as usize - 1]
                .2
                .result(now, false, now >= self.started);
            if self.retry(c, ctx) {
                return;
            }
            if self.is_optional(c.edge) {
                return self.degrade(&c, ctx);
            }
        }
        if ctx.reqs.get(c.parent).is_some_and(|p| p.step != FINISHED) {
            self.finish(c.parent, Outcome::Failed, ctx);
        }
    }

    /// Whether guarded edge `edge` (1-based) is an `optional` call.
    fn is_optional(&self, edge: u16) -> bool {
        let (si, ei, _) = &self.guarded[edge as usize - 1];
        self.cfg.calls[*si as usize].edges[*ei as usize].optional
    }

    /// Optional call `c` has failed for good. A `cache_aside` cache is
    /// skipped: the request reads (or writes) the cache's backend directly,
    /// which then carries the cache's load. Any other call is left out and
    /// the request answered without it.
    fn degrade(&mut self, c: &Request, ctx: &mut Ctx) {
        if let Some(backend) = self.aside_backend(c.target) {
            if ctx.reqs.get(c.parent).is_none_or(|p| p.step == FINISHED) {
                return;
            }
            if ctx.now() >= self.started {
                self.cache_fallbacks += 1;
            }
            // The failed call `c` carries its parent's request.
            let fetch = ctx.reqs.alloc(Request {
                target: backend,
                ..Request::child_of(c.parent, c, self.id, ctx.now())
            });
            ctx.send(&mut self.net, backend, Msg::Request(fetch));
            return;
        }
        self.count_degraded(c.parent, ctx);
        self.skip_call(c.parent, ctx)
    }

    /// Count a request of `parent` degraded by a failed optional call
    /// (once per request, however many of its optional calls fail).
    fn count_degraded(&mut self, parent: ReqRef, ctx: &mut Ctx) {
        let now = ctx.now();
        let Some(p) = ctx.reqs.get_mut(parent) else { return };
        if p.step == FINISHED || p.flags & DEGRADED != 0 {
            return;
        }
        p.flags |= DEGRADED;
        if now >= self.started {
            self.degraded += 1;
        }
    }

    /// An optional call of `parent` has failed: go on as if it had answered.
    fn skip_call(&mut self, parent: ReqRef, ctx: &mut Ctx) {
        let Some(p) = ctx.reqs.get_mut(parent) else { return };
        if p.step == FINISHED {
            return;
        }
        p.pending = p.pending.saturating_sub(1);
        if p.pending == 0 {
            self.continue_calls(parent, ctx);
        }
    }

    /// A guarded call `c` failed or timed out: schedule its next attempt
    /// after the backoff (true), or give up (false).
    fn retry(&mut self, c: Request, ctx: &mut Ctx) -> bool {
        if ctx.reqs.get(c.parent).is_none_or(|p| p.step == FINISHED) {
            return false;
        }
        let now = ctx.now();
        let counted = now >= self.started;
        let caller = &mut self.guarded[c.edge as usize - 1].2;
        let Some(d) = caller.retry_after(now, c.attempt, &mut self.retry_rng, counted) else {
            return false;
        };
        let next = ctx.reqs.alloc(Request {
            attempt: c.attempt.saturating_add(1),
            abandoned: false,
            version: 0,
            seen: 0,
            replica: ANY_REPLICA,
            ..c
        });
        ctx.sched.after(d, self.id, Msg::Later(next));
        true
    }

    /// A retry's backoff is over: send it, unless its request has ended or
    /// the breaker is open.
    fn send_retry(&mut self, child: ReqRef, ctx: &mut Ctx) {
        let Some(&c) = ctx.reqs.get(child) else { return };
        if ctx.reqs.get(c.parent).is_none_or(|p| p.step == FINISHED) {
            ctx.reqs.free(child);
            return;
        }
        let now = ctx.now();
        let from = ctx.reqs.get(c.parent).map_or(0, |p| p.replica);
        let full = self.bulk.full(c.edge, from, now >= self.started);
        let caller = &mut self.guarded[c.edge as usize - 1].2;
        if full || !caller.admit(now, false, now >= self.started) {
            ctx.reqs.free(child);
            if self.is_optional(c.edge) {
                return self.degrade(&c, ctx);
            }
            return self.finish(c.parent, Outcome::Failed, ctx);
        }
        let timeout = caller.policy.timeout;
        if let Some(r) = ctx.reqs.get_mut(child) {
            r.sent = now;
        }
        self.bulk.hold(c.edge, from, child, now >= self.started);
        ctx.send(&mut self.net, c.target, Msg::Request(child));
        if let Some(t) = timeout {
            ctx.sched.after(t, self.id, Msg::Timeout(child));
        }
    }

    fn ps_busy(&mut self, ri: usize, now: SimTime) {
        let rep = &mut self.reps[ri];
        let b = (rep.ps.jobs.len() as u32).min(self.cfg.cores);
        if b != rep.busy {
            let delta = i64::from(b) - i64::from(rep.busy);
            rep.busy = b;
            rep.busy_tw.add(now, delta);
            self.busy.add(now, delta);
        }
    }

    fn ps_reschedule(&mut self, ri: usize, ctx: &mut Ctx) {
        let cores = self.cfg.cores;
        let ps = &mut self.reps[ri].ps;
        ps.generation = ps.generation.wrapping_add(1);
        if let Some(Reverse((finish, ..))) = ps.jobs.peek() {
            let rate = ps_rate(cores, ps.jobs.len());
            let remaining = (f64::from_bits(*finish) - ps.v).max(0.0);
            let dt = (remaining / rate).ceil() as u64;
            let generation = ps.generation;
            ctx.sched.after(
                dt,
                self.id,
                Msg::timer(ServiceTimer::PsDone {
                    replica: ri as u32,
                    generation,
                }),
            );
        }
    }

    fn ps_done(&mut self, ri: usize, generation: u32, ctx: &mut Ctx) {
        let now = ctx.now();
        let cores = self.cfg.cores;
        if self.reps[ri].hung {
            return;
        }
        let ps = &mut self.reps[ri].ps;
        if generation != ps.generation {
            return;
        }
        ps_advance(ps, cores, now);
        let mut done = std::mem::take(&mut self.done_buf);
        // Half a nanosecond of slack absorbs the rounding of event times.
        while let Some(Reverse((finish, _, idx, g))) = ps.jobs.peek().copied() {
            if f64::from_bits(finish) > ps.v + 0.5 {
                break;
            }
            ps.jobs.pop();
            done.push(ReqRef { idx, generation: g });
        }
        self.ps_busy(ri, now);
        self.ps_reschedule(ri, ctx);
        for req in done.drain(..) {
            self.account_work(req, ctx);
            if let Some(d) = self.deploy.as_deref_mut()
                && d.fails(ri)
            {
                self.finish(req, Outcome::Failed, ctx);
                continue;
            }
            self.continue_calls(req, ctx);
        }
        self.done_buf = done;
    }

    /// Replica `ri` crashes: everything it holds fails now.
    fn crash(&mut self, ri: usize, ctx: &mut Ctx) {
        let now = ctx.now();
        if self.reps[ri].down {
            return;
        }
        self.crashes += 1;
        self.lose_sessions(ri, now);
        let was = self.serving(ri);
        self.drop_work(ri, ctx);
        self.reps[ri].down = true;
        // A process that dies is no longer hung.
        self.end_hang(ri);
        self.serving_changed(ri, was, now);
    }

    /// Replica `ri` loses everything it holds: each request fails now.
    fn drop_work(&mut self, ri: usize, ctx: &mut Ctx) -> u64 {
        let now = ctx.now();
        self.bulk.reset(ri);
        let held = std::mem::take(&mut self.reps[ri].held);
        for &req in &held {
            if let Some(r) = ctx.reqs.get_mut(req) {
                r.step = FINISHED;
            }
            if now >= self.started {
                self.failed += 1;
            }
            ctx.respond(&mut self.net, req, Outcome::Failed);
        }
        let dropped = held.len() as u64;
        let mut held = held;
        held.clear();
        let rep = &mut self.reps[ri];
        rep.held = held;
        let (busy, queued, in_sys) = (
            i64::from(rep.busy),
            rep.queue.len() as i64,
            i64::from(rep.in_system),
        );
        rep.queue.clear();
        rep.busy = 0;
        rep.in_system = 0;
        rep.ps.jobs.clear();
        rep.ps.generation = rep.ps.generation.wrapping_add(1);
        if self.cfg.pool > 1 {
            rep.busy_tw.add(now, -busy);
            rep.in_sys_tw.add(now, -in_sys);
        }
        self.busy.add(now, -busy);
        if self.cfg.discipline == Discipline::Fifo {
            self.queue.add(now, -queued);
        }
        self.in_sys.add(now, -in_sys);
        dropped
    }

    fn recover(&mut self, ri: usize, now: SimTime) {
        if !self.reps[ri].down {
            return;
        }
        let was = self.serving(ri);
        self.reps[ri].down = false;
        self.serving_changed(ri, was, now);
    }

    /// The backend a `cache_aside` cache called by this service stands for.
    fn aside_backend(&self, cache: u32) -> Option<u32> {
        self.cfg
            .calls
            .iter()
            .flat_map(|s| s.edges.iter())
            .find(|e| e.target == cache)
            .and_then(|e| e.aside)
    }

    /// Whether the time series has a utilisation column per replica.
    fn per_replica_series(&self) -> bool {
        (2..=8).contains(&self.reps.len())
    }

    fn prefix(&self) -> String {
        format!("components.{}.", self.cfg.name)
    }
}

#[inline]
fn ps_rate(cores: u32, n: usize) -> f64 {
    if n == 0 {
        1.0
    } else {
        (f64::from(cores) / n as f64).min(1.0)
    }
}

#[inline]
fn ps_advance(ps: &mut Ps, cores: u32, now: SimTime) {
    if !ps.jobs.is_empty() {
        ps.v += (now - ps.last) as f64 * ps_rate(cores, ps.jobs.len());
    }
    ps.last = now;
}

impl Component for Service {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn start(&mut self, ctx: &mut Ctx) {
        ctx.set_gauge(self.id, i64::from(self.ready));
        self.start_probes(ctx);
        self.deploy_start(ctx);
        if let Some(a) = &self.cfg.autoscale {
            ctx.sched
                .after(a.interval, self.id, Msg::timer(ServiceTimer::Tick));
        }
        self.start_heartbeats(ctx);
    }

    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Request(req) => self.arrive(req, ctx),
            Msg::Done(req) => self.done(req, ctx),
            Msg::Response(child, outcome) => self.child_answered(child, outcome, ctx),
            Msg::Timeout(child) => self.child_timed_out(child, ctx),
            Msg::Later(child) => self.send_retry(child, ctx),
            Msg::Timer(w) => match ServiceTimer::decode(w) {
                Some(ServiceTimer::PsDone { replica, generation }) => {
                    self.ps_done(replica as usize, generation, ctx)
                }
                Some(ServiceTimer::Ready { replica, epoch }) => self.became_ready(replica, epoch, ctx),
                Some(ServiceTimer::Tick) => self.sync(ctx),
                Some(ServiceTimer::Probe { replica, kind }) => self.probe_tick(replica as usize, kind, ctx),
                Some(ServiceTimer::ProbeTimeout { replica, kind, epoch }) => {
                    self.probe_timeout(replica as usize, kind, epoch, ctx)
                }
                Some(ServiceTimer::Booted { replica, epoch }) => self.booted(replica as usize, epoch, ctx),
                Some(ServiceTimer::Deploy { step }) => self.deploy_step(step, ctx),
                Some(ServiceTimer::Heartbeat { replica }) => self.heartbeat(replica, ctx),
                None => {}
            },
            Msg::Event(code) => self.deploy_event(code, ctx),
            // A replica that is up answers its health check at once (a
            // hung or restarting one does not).
            Msg::Probe { from, replica, seq }
                if self
                    .reps
                    .get(replica as usize)
                    .is_some_and(|r| !(r.down || r.hung || r.booting)) =>
            {
                ctx.send(&mut self.net, from, Msg::ProbeReply { replica, seq });
            }
            _ => {}
        }
    }

    fn backlog(&self) -> u64 {
        self.reps.iter().map(|r| u64::from(r.in_system)).sum()
    }

    fn timer_name(&self, w: TimerWord) -> &'static str {
        super::timer_name::<ServiceTimer>(w)
    }

    fn zero_time_advice(&self) -> Option<String> {
        let name = &self.cfg.name;
        let mut out = Vec::new();
        if self.cfg.read_time.is_zero() || self.cfg.write_time.is_zero() {
            out.push(format!(
                "Service `{name}` has a service time of 0s: give it a service_time above zero."
            ));
        }
        if self
            .cfg
            .calls
            .iter()
            .flat_map(|s| s.edges.iter())
            .any(|e| e.policy.retry.is_some_and(|r| r.backoff.ceiling(1) == 0))
        {
            out.push(format!(
                "Service `{name}` retries a call with a backoff of 0s: give that retry a backoff \
                 above zero."
            ));
        }
        (!out.is_empty()).then(|| out.join(" "))
    }

    fn fault(&mut self, action: super::FaultAction, on: bool, ctx: &mut Ctx) {
        use super::FaultAction;
        let now = ctx.now();
        match action {
            FaultAction::Slow(f) => self.slow = if on { f } else { 1.0 },
            FaultAction::Crash(i) if (i as usize) < self.reps.len() => {
                if on {
                    self.crash(i as usize, ctx)
                } else {
                    self.recover(i as usize, now)
                }
            }
            FaultAction::Hang(i) => self.hang(i as usize, on, ctx),
            FaultAction::CrashAll => {
                for i in 0..self.reps.len() {
                    if on {
                        self.crash(i, ctx)
                    } else {
                        self.recover(i, now)
                    }
                }
            }
            FaultAction::Outage(r) if ctx.region(self.id) == r => {
                for i in 0..self.reps.len() {
                    if on {
                        self.crash(i, ctx)
                    } else {
                        self.recover(i, now)
                    }
                }
            }
            _ => {}
        }
    }

    fn on_warmup(&mut self, now: SimTime) {
        self.load_cv = (0.0, 0);
        self.ready_tw.reset(now);
        self.running.reset(now);
        self.logins = 0;
        self.relogins = 0;
        self.sessions_lost = 0;
        self.scaler.events = 0;
        self.scaler.replicas_max = self.ready;
        self.scaler.replicas_min = self.ready;
        self.up.reset(now);
        self.any_up.reset(now);
        self.crashes = 0;
        self.kube.reset(now);
        self.busy.reset(now);
        self.queue.reset(now);
        self.in_sys.reset(now);
        for r in &mut self.reps {
            r.busy_tw.reset(now);
            r.in_sys_tw.reset(now);
            r.arrivals = 0;
        }
        self.arrivals = 0;
        self.completed = 0;
        self.failed = 0;
        self.rejected = 0;
        self.wait_sum = 0.0;
        self.wait_n = 0;
        self.sojourn_sum = 0.0;
        self.sojourn_n = 0;
        self.started = now;
        self.wasted_ns = 0.0;
        self.work_ns = 0.0;
        for g in &mut self.guarded {
            g.2.reset_counts();
        }
        self.bulk.reset_counts();
    }

    fn annotations(&self, now: SimTime, out: &mut Vec<super::Annotation>) {
        if let Some(a) = self
            .deploy
            .as_deref()
            .and_then(|d| d.annotation(&self.cfg.name, now))
        {
            out.push(a);
        }
    }

    fn on_midpoint(&mut self, now: SimTime) {
        self.mid = Some((now, self.in_sys.mean(now)));
        for r in &mut self.reps {
            r.in_sys_mid = r.in_sys_tw.mean(now);
        }
    }

    fn columns(&self, out: &mut Vec<String>) {
        out.push(format!("{}.utilization", self.cfg.name));
        out.push(format!("{}.queue_length", self.cfg.name));
        out.push(format!("{}.replicas", self.cfg.name));
        if self.deploy.is_some() {
            out.push(format!("{}.serving", self.cfg.name));
            out.push(format!("{}.instances", self.cfg.name));
        }
        if self.cfg.load_cv_series {
            out.push(format!("{}.load_cv", self.cfg.name));
        }
        // Per-replica utilisation shows a balancer's unfairness over time
        // (kept to small pools so the series stays readable).
        if self.per_replica_series() {
            for i in 0..self.reps.len() {
                out.push(format!("{}[{i}].utilization", self.cfg.name));
            }
        }
    }

    fn sample(&mut self, now: SimTime, out: &mut Vec<f64>) {
        let replicas = self.ready_tw.take_interval_mean(now);
        let slots = (replicas * f64::from(self.cfg.cores)).max(1e-9);
        out.push(self.busy.take_interval_mean(now) / slots);
        out.push(self.queue.take_interval_mean(now));
        out.push(replicas);
        if let Some(d) = self.deploy.as_deref_mut() {
            out.push(d.take_serving(now));
            out.push(self.running.take_interval_mean(now));
        }
        if self.cfg.load_cv_series {
            let cv = self.take_interval_load_cv();
            self.load_cv.0 += cv;
            self.load_cv.1 += 1;
            out.push(cv);
        }
        if self.per_replica_series() {
            let cores = f64::from(self.cfg.cores);
            for r in &mut self.reps {
                out.push(r.busy_tw.take_interval_mean(now) / cores);
            }
        }
    }

    fn report(&self, rc: &ReportCtx, out: &mut Metrics, notes: &mut Vec<String>) {
        let p = self.prefix();
        let now = rc.now;
        let w = rc.window_s();
        let slots = (self.ready_tw.mean(now) * f64::from(self.cfg.cores)).max(1e-9);
        let util = self.busy.mean(now) / slots;
        let mut put = |k: &str, v: f64| {
            out.insert(format!("{p}{k}"), v);
        };
        put("utilization", util);
        put("queue_length_mean", self.queue.mean(now));
        put(
            "wait.mean_ms",
            if self.wait_n > 0 {
                self.wait_sum / self.wait_n as f64 / 1e6
            } else {
                0.0
            },
        );
        put(
            "sojourn.mean_ms",
            if self.sojourn_n > 0 {
                self.sojourn_sum / self.sojourn_n as f64 / 1e6
            } else {
                0.0
            },
        );
        put("in_system_mean", self.in_sys.mean(now));
        put("arrival_rps", self.arrivals as f64 / w);
        put("throughput_rps", self.completed as f64 / w);
        put("departure_rps", self.sojourn_n as f64 / w);
        put("rejected", self.rejected as f64);
        put("failed", self.failed as f64);
        put("replicas_mean", self.ready_tw.mean(now));
        put(
            "wasted_work_ratio",
            if self.work_ns > 0.0 {
                self.wasted_ns / self.work_ns
            } else {
                0.0
            },
        );
        if self
            .cfg
            .calls
            .iter()
            .any(|st| st.edges.iter().any(|e| e.optional))
        {
            put("degraded", self.degraded as f64);
        }
        if self
            .cfg
            .calls
            .iter()
            .any(|st| st.edges.iter().any(|e| e.optional && e.aside.is_some()))
        {
            put("cache_fallbacks", self.cache_fallbacks as f64);
        }
        let mut retries = 0.0;
        for g in &self.guarded {
            g.2.report(&p, out);
            retries += g.2.retries as f64;
        }
        if !self.guarded.is_empty() {
            *out.entry("requests.retries".into()).or_insert(0.0) += retries;
        }
        self.bulk.report(&p, out);
        self.report_probes(now, w, out);
        let mut put = |k: &str, v: f64| {
            out.insert(format!("{p}{k}"), v);
        };
        if self.crashes > 0
            || self.kube.seen
            || self.cfg.probes.is_some()
            || self.up.value() < i64::from(self.cfg.replicas)
            || self.any_up.mean(now) < 1.0
        {
            // Time-based availability of the instances themselves.
            put("availability", self.any_up.mean(now));
            put(
                "replica_availability",
                self.up.mean(now) / f64::from(self.cfg.replicas),
            );
            put("crashes", self.crashes as f64);
        }
        if self.cfg.pool > 1 {
            let loads: Vec<f64> = self.reps.iter().map(|r| r.arrivals as f64).collect();
            put("load_cv", crate::stats::coefficient_of_variation(&loads));
            if self.reps.len() <= 64 {
                for (i, r) in self.reps.iter().enumerate() {
                    out.insert(
                        format!("components.{}[{i}].utilization", self.cfg.name),
                        r.busy_tw.mean(now) / f64::from(self.cfg.cores),
                    );
                    out.insert(
                        format!("components.{}[{i}].requests", self.cfg.name),
                        r.arrivals as f64,
                    );
                }
            }
        }
        if self.cfg.load_cv_series {
            // The mean of the intervals' CV over the serving replicas.
            let (sum, n) = self.load_cv;
            out.insert(
                format!("{p}load_cv_mean"),
                if n > 0 { sum / f64::from(n) } else { 0.0 },
            );
        }
        if !self.owner.is_empty() {
            out.insert(format!("{p}sessions_lost"), self.sessions_lost as f64);
            out.insert(format!("{p}logins"), self.logins as f64);
            out.insert(format!("{p}relogins"), self.relogins as f64);
        }
        if !self.owner.is_empty() || matches!(self.cfg.state, StateCfg::Store) {
            *out.entry("sessions.lost".into()).or_insert(0.0) += self.sessions_lost as f64;
            *out.entry("sessions.relogins".into()).or_insert(0.0) += self.relogins as f64;
        }
        if let Some(a) = &self.cfg.autoscale {
            let ap = format!("components.{}.", a.name);
            let mut put = |k: &str, v: f64| {
                out.insert(format!("{ap}{k}"), v);
            };
            put("scale_events", self.scaler.events as f64);
            put("replicas_mean", self.ready_tw.mean(now));
            put("replicas_max", f64::from(self.scaler.replicas_max));
            put("replicas_min", f64::from(self.scaler.replicas_min));
            put("replicas_final", f64::from(self.ready));
            put("instances_mean", self.running.mean(now));
        }
        if let Some(d) = &self.deploy {
            d.report(&self.cfg.name, rc, self.running.integral(now), out, notes);
        }
        let hours = w / 3600.0;
        let inst = self.running.mean(now) * hours;
        *out.entry("cost.instance_hours".into()).or_insert(0.0) += inst;
        *out.entry("cost.total".into()).or_insert(0.0) += inst * self.cfg.price_per_hour;

        // Stability: requests present keep climbing through the second half
        // of the window while the cores stay busy — for the whole service,
        // or for one replica that a balancer overloads while the rest idle.
        if let Some((mid, first)) = self.mid {
            let (t1, t2) = ((mid - self.started) as f64, (now.saturating_sub(mid)) as f64);
            let growing = |first: f64, total: f64| {
                let second = (total * (t1 + t2) - first * t1) / t2;
                (second > 1.5 * first + 10.0).then_some(second)
            };
            if t2 > 0.0 {
                if let Some(second) = growing(first, self.in_sys.mean(now)).filter(|_| util >= 0.95) {
                    notes.push(format!(
                        "UNSTABLE: {} is saturated (utilization {:.1}%) and its queue keeps growing \
                         (mean {:.0} in the first half, {:.0} in the second): arrivals exceed capacity",
                        self.cfg.name,
                        util * 100.0,
                        first,
                        second
                    ));
                    return;
                }
                if self.cfg.pool > 1 {
                    for (i, r) in self.reps.iter().enumerate() {
                        let u = r.busy_tw.mean(now) / f64::from(self.cfg.cores);
                        if let Some(second) =
                            growing(r.in_sys_mid, r.in_sys_tw.mean(now)).filter(|_| u >= 0.95)
                        {
                            notes.push(format!(
                                "UNSTABLE: replica {}[{i}] is saturated (utilization {:.1}%) and its queue \
                                 keeps growing (mean {:.0} in the first half, {:.0} in the second) while the \
                                 service as a whole is {:.1}% busy: the balancer sends it more than it can serve",
                                self.cfg.name,
                                u * 100.0,
                                r.in_sys_mid,
                                second,
                                util * 100.0
                            ));
                            return;
                        }
                    }
                }
            }
        }
        if self.cfg.replicas > 1 && !self.cfg.fronted && self.arrivals > 0 {
            notes.push(format!(
                "{} has {} replicas and no load balancer in front: it spreads requests round robin \
                 itself; put a `load_balancer` with `backends: {}` in front to choose the algorithm \
                 and add health checks",
                self.cfg.name, self.cfg.replicas, self.cfg.name
            ));
        }
        if util >= 0.95 {
            notes.push(format!(
                "{} is near saturation (utilization {:.1}%): small load increases will raise latency sharply",
                self.cfg.name,
                util * 100.0
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
        // The codes the same events had as Msg::PsDone, Msg::Ready and Msg::Tick.
        for (r, g) in [(0u32, 0u32), (3, 7), (99_999, u32::MAX), (u32::MAX >> 8, 1 << 31)] {
            let t = ServiceTimer::PsDone {
                replica: r,
                generation: g,
            };
            assert_eq!(
                Msg::timer(t).code(),
                5 ^ (u64::from(r) << 8) ^ (u64::from(g) << 32)
            );
            assert_eq!(ServiceTimer::decode(t.encode()), Some(t));
            let t = ServiceTimer::Ready {
                replica: r,
                epoch: g & 0xFFFF,
            };
            assert_eq!(
                Msg::timer(t).code(),
                18 ^ (u64::from(r) << 8) ^ (u64::from(g & 0xFFFF) << 40)
            );
            assert_eq!(ServiceTimer::decode(t.encode()), Some(t));
        }
        assert_eq!(Msg::timer(ServiceTimer::Tick).code(), 13);
        assert_eq!(
            ServiceTimer::decode(ServiceTimer::Tick.encode()),
            Some(ServiceTimer::Tick)
        );
    }
}

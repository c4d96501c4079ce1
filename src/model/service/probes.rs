//! Kubernetes-style probes of a service's replicas, and the hang fault.
//!
//! The kubelet probes every replica on its own ticker, outside the request
//! queue: `period` apart, replica i's tickers starting at i × period ÷
//! replicas (staggered, deterministic). What a probe sees: a replica that
//! is up and started answers at once (success); a crashed replica, or one
//! whose process is restarting or has not finished its `startup_time`,
//! fails at once (connection refused, nothing listening); a hung replica
//! never answers, so the probe fails when its `timeout` runs out.
//!
//! As the Kubernetes documentation ("Configure Liveness, Readiness and
//! Startup Probes") defines them: `failure_threshold` failures in a row of
//! the liveness probe restart the container; of the readiness probe take
//! the replica out of its balancers' rotation until `success_threshold`
//! successes in a row; of the startup probe restart the container too, and
//! liveness and readiness are held off until the startup probe has passed
//! once. A tick is skipped while the container is not running (during
//! `restart_time`) and for `initial_delay` after it (re)started.
//!
//! A restart loses what the replica held (its requests fail, as in a
//! crash), keeps it out of rotation for `restart_time` + `startup_time`,
//! and ends a hang. A hung replica admits requests and never answers them:
//! its service completions and call answers are held back, so its queue
//! fills until `queue_capacity` or `max_concurrency` rejects; a hang that
//! ends by itself (`for`, `mttr`) fails what it held then.

use super::{Life, Service, ServiceTimer};
use crate::engine::SimTime;
use crate::model::{Ctx, Metrics, Msg};
use crate::stats::Occupancy;

/// One probe, resolved (durations in ns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeCfg {
    /// Time between probes.
    pub period: SimTime,
    /// A probe unanswered this long fails (below `period`).
    pub timeout: SimTime,
    /// Failures in a row that act.
    pub failure_threshold: u32,
    /// Successes in a row that undo it (readiness; 1 for the others).
    pub success_threshold: u32,
    /// No probe this long after the container (re)starts.
    pub initial_delay: SimTime,
}

/// A service's probes and its containers' restart time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbesCfg {
    /// Restart after `failure_threshold` failures.
    pub liveness: Option<ProbeCfg>,
    /// Out of rotation after `failure_threshold` failures.
    pub readiness: Option<ProbeCfg>,
    /// Holds the other two off until it passes; restarts on failures.
    pub startup: Option<ProbeCfg>,
    /// Time a restarted container takes before its process starts again.
    pub restart_time: SimTime,
}

impl ProbesCfg {
    /// Probe `kind` (0 liveness, 1 readiness, 2 startup).
    pub fn get(&self, kind: u32) -> Option<&ProbeCfg> {
        match kind {
            LIVENESS => self.liveness.as_ref(),
            READINESS => self.readiness.as_ref(),
            STARTUP => self.startup.as_ref(),
            _ => None,
        }
    }

    /// Mean time from a hang at a random moment to the restart decision:
    /// the wait for the next liveness probe (period ÷ 2 on average), then
    /// failure_threshold − 1 more periods, then the last probe's timeout.
    pub fn mean_detection(&self) -> Option<SimTime> {
        let l = self.liveness?;
        Some((u64::from(l.failure_threshold) * 2 - 1) * l.period / 2 + l.timeout)
    }
}

pub(super) const LIVENESS: u32 = 0;
pub(super) const READINESS: u32 = 1;
pub(super) const STARTUP: u32 = 2;
/// Restart epochs travel in 30 bits of a timer word (beside the probe kind).
pub(super) const EPOCH_MASK: u32 = 0x3FFF_FFFF;

/// The kubelet's view of one replica.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Pod {
    /// Bumped at each restart: older probe timeouts and boot timers are ignored.
    epoch: u32,
    /// The startup probe has passed (always, without one).
    started: bool,
    /// Failures in a row, per probe kind.
    fails: [u32; 3],
    /// Readiness successes in a row.
    oks: u32,
    /// A probe of this kind awaits its timeout (the replica is hung).
    pending: [bool; 3],
    /// Readiness has it out of rotation.
    unready: bool,
    /// Restarting: out of rotation until its process answers.
    restarting: bool,
    /// Out of the balancers' rotation (for either reason).
    out: bool,
    /// When the current hang began.
    hung_since: Option<SimTime>,
    /// When its container (re)started (in the future while restarting).
    container_start: SimTime,
}

/// The kubelet of one service: probe state per replica, and the counts.
#[derive(Default)]
pub(super) struct Kubelet {
    pods: Vec<Pod>,
    liveness_failures: u64,
    readiness_failures: u64,
    restarts: u64,
    hangs: u64,
    detect_sum: f64,
    detect_n: u64,
    /// Replicas out of rotation because readiness fails, and for any reason.
    readiness_out: Occupancy,
    out_of_rotation: Occupancy,
    /// A hang or a restart happened (availability is then reported).
    pub(super) seen: bool,
}

impl Kubelet {
    pub(super) fn reset(&mut self, now: SimTime) {
        self.liveness_failures = 0;
        self.readiness_failures = 0;
        self.restarts = 0;
        self.hangs = 0;
        self.detect_sum = 0.0;
        self.detect_n = 0;
        self.readiness_out.reset(now);
        self.out_of_rotation.reset(now);
    }
}

impl Service {
    /// The kubelet's pods, created on first use.
    fn pods(&mut self) -> &mut Vec<Pod> {
        if self.kube.pods.len() < self.reps.len() {
            let started = self.cfg.probes.as_ref().is_none_or(|p| p.startup.is_none());
            self.kube.pods.resize(
                self.reps.len(),
                Pod {
                    started,
                    ..Pod::default()
                },
            );
        }
        &mut self.kube.pods
    }

    /// Replica `ri` answers requests correctly (not crashed, hung or restarting).
    #[inline]
    pub(super) fn serving(&self, ri: usize) -> bool {
        let r = &self.reps[ri];
        !(r.down || r.hung || r.booting)
    }

    /// Keep the replicas-up counts after replica `ri` changed state.
    pub(super) fn serving_changed(&mut self, ri: usize, was: bool, now: SimTime) {
        let is = self.serving(ri);
        if was && !is {
            self.up.add(now, -1);
            if self.up.value() == 0 {
                self.any_up.add(now, -1);
            }
        } else if !was && is {
            if self.up.value() == 0 {
                self.any_up.add(now, 1);
            }
            self.up.add(now, 1);
        }
    }

    /// Start each replica's probe tickers (at the start of the run).
    pub(super) fn start_probes(&mut self, ctx: &mut Ctx) {
        let Some(p) = self.cfg.probes.clone() else { return };
        self.pods();
        let n = self.reps.len() as u64;
        for kind in [LIVENESS, READINESS, STARTUP] {
            let Some(c) = p.get(kind) else { continue };
            for i in 0..n {
                let t = ServiceTimer::Probe {
                    replica: i as u32,
                    kind,
                };
                ctx.sched.at(i * c.period / n, self.id, Msg::timer(t));
            }
        }
    }

    /// Replica `ri`'s probe of `kind` is due.
    pub(super) fn probe_tick(&mut self, ri: usize, kind: u32, ctx: &mut Ctx) {
        let Some(c) = self.cfg.probes.as_ref().and_then(|p| p.get(kind)).copied() else {
            return;
        };
        if ri >= self.reps.len() {
            return;
        }
        if !ctx.draining {
            let t = ServiceTimer::Probe {
                replica: ri as u32,
                kind,
            };
            ctx.sched.after(c.period, self.id, Msg::timer(t));
        }
        let now = ctx.now();
        let k = kind as usize;
        let pod = self.pods()[ri];
        if matches!(self.reps[ri].life, Life::Off | Life::Starting)
            || now < pod.container_start.saturating_add(c.initial_delay)
            || pod.pending[k]
            || (kind == STARTUP) == pod.started
        {
            return;
        }
        let rep = &self.reps[ri];
        if rep.down || rep.booting {
            self.probe_result(ri, kind, false, ctx);
        } else if rep.hung {
            self.kube.pods[ri].pending[k] = true;
            let t = ServiceTimer::ProbeTimeout {
                replica: ri as u32,
                kind,
                epoch: pod.epoch,
            };
            ctx.sched.after(c.timeout, self.id, Msg::timer(t));
        } else {
            self.probe_result(ri, kind, true, ctx);
        }
    }

    /// A probe sent to a hung replica has timed out (or the hang ended first).
    pub(super) fn probe_timeout(&mut self, ri: usize, kind: u32, epoch: u32, ctx: &mut Ctx) {
        let Some(pod) = self.kube.pods.get_mut(ri) else {
            return;
        };
        if pod.epoch != epoch || kind > STARTUP {
            return;
        }
        pod.pending[kind as usize] = false;
        let ok = self.serving(ri);
        self.probe_result(ri, kind, ok, ctx);
    }

    fn probe_result(&mut self, ri: usize, kind: u32, ok: bool, ctx: &mut Ctx) {
        let Some(c) = self.cfg.probes.as_ref().and_then(|p| p.get(kind)).copied() else {
            return;
        };
        let counted = ctx.now() >= self.started;
        let pod = &mut self.kube.pods[ri];
        let k = kind as usize;
        if ok {
            pod.fails[k] = 0;
        } else {
            pod.fails[k] += 1;
        }
        match kind {
            LIVENESS if !ok => {
                self.kube.liveness_failures += u64::from(counted);
                if pod.fails[k] >= c.failure_threshold {
                    self.restart(ri, ctx);
                }
            }
            STARTUP if ok => pod.started = true,
            STARTUP if pod.fails[k] >= c.failure_threshold => self.restart(ri, ctx),
            READINESS if ok => {
                pod.oks += 1;
                if pod.unready && pod.oks >= c.success_threshold {
                    self.set_unready(ri, false, ctx);
                }
            }
            READINESS => {
                pod.oks = 0;
                self.kube.readiness_failures += u64::from(counted);
                if !pod.unready && pod.fails[k] >= c.failure_threshold {
                    self.set_unready(ri, true, ctx);
                }
            }
            _ => {}
        }
    }

    fn set_unready(&mut self, ri: usize, unready: bool, ctx: &mut Ctx) {
        let now = ctx.now();
        let pod = &mut self.kube.pods[ri];
        if pod.unready != unready {
            pod.unready = unready;
            self.kube.readiness_out.add(now, if unready { 1 } else { -1 });
        }
        self.update_rotation(ri, ctx);
    }

    /// Tell the balancers when replica `ri` leaves or rejoins their rotation.
    fn update_rotation(&mut self, ri: usize, ctx: &mut Ctx) {
        let pod = &mut self.kube.pods[ri];
        let out = pod.unready || pod.restarting;
        if out != pod.out {
            pod.out = out;
            self.kube.out_of_rotation.add(ctx.now(), if out { 1 } else { -1 });
            self.set_rotation(ri, !out, ctx);
        }
    }

    /// The liveness (or startup) probe restarts replica `ri`'s container.
    fn restart(&mut self, ri: usize, ctx: &mut Ctx) {
        let now = ctx.now();
        let counted = now >= self.started;
        let probes = self.cfg.probes.clone().unwrap_or_default();
        self.kube.seen = true;
        self.kube.restarts += u64::from(counted);
        let pod = &mut self.kube.pods[ri];
        if let Some(h) = pod.hung_since.take()
            && counted
        {
            self.kube.detect_sum += (now - h) as f64;
            self.kube.detect_n += 1;
        }
        pod.epoch = (pod.epoch + 1) & EPOCH_MASK;
        pod.fails = [0; 3];
        pod.oks = 0;
        pod.pending = [false; 3];
        pod.started = probes.startup.is_none();
        pod.restarting = true;
        pod.container_start = now.saturating_add(probes.restart_time);
        let epoch = pod.epoch;
        let was = self.serving(ri);
        self.reps[ri].hung = false;
        self.reps[ri].booting = true;
        self.lose_sessions(ri, now);
        self.drop_work(ri, ctx);
        self.serving_changed(ri, was, now);
        // Readiness starts failed after a restart, as in Kubernetes.
        self.set_unready(ri, probes.readiness.is_some(), ctx);
        let t = ServiceTimer::Booted {
            replica: ri as u32,
            epoch,
        };
        let boot = probes.restart_time.saturating_add(self.cfg.startup_time);
        ctx.sched.after(boot, self.id, Msg::timer(t));
    }

    /// Replica `ri`'s restarted process answers again.
    pub(super) fn booted(&mut self, ri: usize, epoch: u32, ctx: &mut Ctx) {
        let Some(pod) = self.kube.pods.get_mut(ri) else {
            return;
        };
        if pod.epoch != epoch || !pod.restarting {
            return;
        }
        pod.restarting = false;
        let now = ctx.now();
        let was = self.serving(ri);
        self.reps[ri].booting = false;
        self.serving_changed(ri, was, now);
        self.update_rotation(ri, ctx);
    }

    /// Replica `ri` is no longer hung (its process died).
    pub(super) fn end_hang(&mut self, ri: usize) {
        self.reps[ri].hung = false;
        if let Some(p) = self.kube.pods.get_mut(ri) {
            p.hung_since = None;
        }
    }

    /// A hang fault starts (`on`) or ends on replica `ri`.
    pub(super) fn hang(&mut self, ri: usize, on: bool, ctx: &mut Ctx) {
        if ri >= self.reps.len() {
            return;
        }
        let now = ctx.now();
        self.pods();
        let was = self.serving(ri);
        if on {
            // A replica that is not serving cannot hang (a random hang then is lost).
            if !was || matches!(self.reps[ri].life, Life::Off | Life::Starting) {
                return;
            }
            self.kube.seen = true;
            self.kube.hangs += u64::from(now >= self.started);
            self.kube.pods[ri].hung_since = Some(now);
            self.reps[ri].hung = true;
        } else {
            if !self.reps[ri].hung {
                return;
            }
            // It wakes up: what it held had been stuck, and fails now.
            self.kube.pods[ri].hung_since = None;
            self.reps[ri].hung = false;
            self.drop_work(ri, ctx);
        }
        self.serving_changed(ri, was, now);
    }

    /// `components.<name>.probes.*`.
    pub(super) fn report_probes(&self, now: SimTime, window_s: f64, out: &mut Metrics) {
        let k = &self.kube;
        if self.cfg.probes.is_none() && k.hangs == 0 && !k.seen {
            return;
        }
        let p = format!("components.{}.probes.", self.cfg.name);
        let mut put = |key: &str, v: f64| {
            out.insert(format!("{p}{key}"), v);
        };
        put("hangs", k.hangs as f64);
        if let Some(pc) = &self.cfg.probes {
            put("liveness_failures", k.liveness_failures as f64);
            put("restarts", k.restarts as f64);
            put(
                "detection_mean_s",
                if k.detect_n > 0 {
                    k.detect_sum / k.detect_n as f64 / 1e9
                } else {
                    0.0
                },
            );
            if pc.readiness.is_some() {
                put("readiness_failures", k.readiness_failures as f64);
                put("readiness_out_s", k.readiness_out.mean(now) * window_s);
            }
            put("out_of_rotation_s", k.out_of_rotation.mean(now) * window_s);
        }
    }
}

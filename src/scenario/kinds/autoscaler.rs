//! An autoscaler: changes a service's replica count by a rule (the Kubernetes HPA, thresholds, schedules, predictions). It has no behaviour of its own: the service it scales runs the rule.
//!
//! Everything the scenario layer knows about this kind: its YAML spec,
//! where it runs, the components it sends requests to, and its
//! resolution into the model's config with located errors. The model's
//! behaviour is in `crate::model`; the registration is one line in
//! [`super`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Kind, one};
use crate::engine::NS_PER_S;
use crate::model::CompCfg;
use crate::scenario::limits::*;
use crate::scenario::spec::*;
use crate::scenario::units::Duration;
use crate::scenario::validate::{Checker, Scope};

/// An autoscaler of one service.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoscalerSpec {
    /// The service it scales.
    pub target: String,
    /// Fewest replicas (default 1).
    #[serde(default = "one")]
    pub min: u32,
    /// Most replicas.
    pub max: u32,
    /// Sync period: how often it reads the metric and decides (default 15s, as the HPA).
    #[serde(default)]
    pub interval: Option<Duration>,
    /// The decision rule.
    pub policy: ScalingPolicySpec,
    /// For `queue_depth`: the queue whose depth is read (default: the queue the target consumes from).
    #[serde(default)]
    pub queue: Option<String>,
}

/// What an autoscaler reads.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScalingMetric {
    /// Busy fraction of a replica's cores, averaged over the ready replicas (target as a fraction: 0.6).
    Cpu,
    /// Requests per second per ready replica.
    RequestRate,
    /// The service's 99th-percentile response time in ms.
    LatencyP99,
    /// Messages waiting in the queue the service consumes, per replica.
    QueueDepth,
}

/// An autoscaling rule.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScalingPolicySpec {
    /// The Kubernetes HPA rule.
    TargetTracking(TargetTrackingSpec),
    /// Step scaling on thresholds with a cooldown.
    Threshold(ThresholdSpec),
    /// Replica counts at fixed times.
    Schedule(Vec<ScheduledReplicas>),
    /// Scale for the demand forecast `horizon` ahead.
    Predictive(PredictiveSpec),
}

/// Target tracking (Kubernetes HPA).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetTrackingSpec {
    /// Metric.
    pub metric: ScalingMetric,
    /// Target value per replica (cpu as a fraction, request_rate per second, latency_p99 in ms, queue_depth in messages).
    pub target: f64,
    /// No change while |1 − metric ÷ target| ≤ tolerance (default 0.1).
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// Stabilisation windows and rate policies (defaults as Kubernetes').
    #[serde(default)]
    pub behavior: Option<BehaviorSpec>,
}

/// The HPA's `behavior`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BehaviorSpec {
    /// Scale-up rules (default: no stabilisation; max of 4 pods or 100% per 15s).
    #[serde(default)]
    pub scale_up: Option<ScalingRulesSpec>,
    /// Scale-down rules (default: 300s stabilisation; 100% per 15s).
    #[serde(default)]
    pub scale_down: Option<ScalingRulesSpec>,
}

/// One direction's rules.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingRulesSpec {
    /// Recommendations within this window are taken into account (highest for down, lowest for up).
    #[serde(default)]
    pub stabilization_window: Option<Duration>,
    /// Rate limits.
    #[serde(default)]
    pub policies: Option<Vec<RatePolicySpec>>,
    /// `max` (default: the policy allowing the largest change), `min`, or `disabled`.
    #[serde(default)]
    pub select_policy: Option<SelectPolicySpec>,
}

/// A rate policy: `{ pods: 4, period: 15s }` or `{ percent: 100, period: 15s }`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RatePolicySpec {
    /// At most this many replicas per period.
    #[serde(default)]
    pub pods: Option<u32>,
    /// At most this percentage of the replicas per period.
    #[serde(default)]
    pub percent: Option<f64>,
    /// The period.
    pub period: Duration,
}

/// How rate policies combine.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SelectPolicySpec {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// Step scaling.
#[serde_with::skip_serializing_none]
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// Metric (cpu, request_rate per replica, latency_p99 ms, queue_depth total).
    pub metric: ScalingMetric,
    /// Add `step` replicas when the metric is above this.
    pub up_above: f64,
    /// Remove `step` replicas when the metric is below this.
    pub down_below: f64,
    /// Replicas added or removed at a time (default 1).
    #[serde(default = "one")]
    pub step: u32,
    /// Least time between two actions (default 5m).
    #[serde(default)]
    pub cooldown: Option<Duration>,
}

/// A scheduled replica count.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledReplicas {
    /// From this time on…
    pub at: Duration,
    /// …run this many replicas.
    pub replicas: u32,
}

/// Predictive scaling.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictiveSpec {
    /// Metric.
    pub metric: ScalingMetric,
    /// Target value per replica, as for target tracking.
    pub target: f64,
    /// How far ahead to provision (at least the startup time).
    pub horizon: Duration,
    /// Holt's level smoothing, 0..1 (default 0.5).
    #[serde(default)]
    pub alpha: Option<f64>,
    /// Holt's trend smoothing, 0..1 (default 0.3).
    #[serde(default)]
    pub beta: Option<f64>,
    /// Stabilisation windows and rate policies, as for target tracking.
    #[serde(default)]
    pub behavior: Option<BehaviorSpec>,
}

impl Kind for AutoscalerSpec {
    /// An autoscaler's rule is checked and attached to the service it
    /// scales once every component is resolved (`validate::autoscalers`).
    fn resolve(&self, _ck: &mut Checker, _cx: &Scope, name: &str, _p: &str) -> CompCfg {
        CompCfg::Inert(name.to_string())
    }
}

/// Resolve every autoscaler into the service it scales (its pool of
/// replica slots, its controller) and the balancers in front of it.
pub(crate) fn autoscalers(ck: &mut Checker, sc: &Scenario, nclients: u32, comps: &mut [CompCfg]) {
    use crate::model::autoscale::{AutoscaleCfg, Hpa, Metric, Policy, RatePolicy, Rules, Select};
    let mut scaled: Vec<(usize, String)> = Vec::new();
    for (name, c) in &sc.components {
        let ComponentSpec::Autoscaler(a) = c else { continue };
        let p = format!("components.{name}");
        let Some((ti, _, target)) = sc.components.get_full(&a.target) else {
            let known: Vec<&String> = sc.components.keys().collect();
            ck.err(
                format!("{p}.target"),
                format!("no component named `{}` (components are {known:?})", a.target),
            );
            continue;
        };
        if !matches!(target, ComponentSpec::Service(_)) {
            ck.err(
                format!("{p}.target"),
                format!(
                    "`{}` is {}; an autoscaler scales a service",
                    a.target,
                    target.a_kind()
                ),
            );
            continue;
        }
        if let Some((_, other)) = scaled.iter().find(|(t, _)| *t == ti) {
            ck.err(
                format!("{p}.target"),
                format!(
                    "`{}` is already scaled by `{other}`; a service takes one autoscaler",
                    a.target
                ),
            );
            continue;
        }
        if let ComponentSpec::Service(s) = target
            && s.deploy.is_some()
        {
            ck.err(
                format!("{p}.target"),
                format!(
                    "`{}` has a `deploy:` section; deploys and autoscaling of one service are not \
                     modelled together (remove one of them)",
                    a.target
                ),
            );
            continue;
        }
        scaled.push((ti, name.to_string()));
        if a.min == 0 {
            ck.err(format!("{p}.min"), "min must be at least 1");
        }
        if a.max < a.min.max(1) {
            ck.err(
                format!("{p}.max"),
                format!("max must be at least min ({})", a.min),
            );
        }
        if a.max > MAX_REPLICAS {
            ck.err(
                format!("{p}.max"),
                format!("at most {MAX_REPLICAS} replicas, found {}", a.max),
            );
        }
        if a.min > MAX_REPLICAS {
            ck.err(
                format!("{p}.min"),
                format!("at most {MAX_REPLICAS} replicas, found {}", a.min),
            );
        }
        // Both within 1..=MAX_REPLICAS and min <= max, whatever was written
        // (the problems above stop the run).
        let min = a.min.clamp(1, MAX_REPLICAS);
        let max = a.max.clamp(min, MAX_REPLICAS);
        let interval = a.interval.map_or(15 * NS_PER_S, |d| d.as_nanos());
        ck.period(
            &format!("{p}.interval"),
            interval,
            "the sync interval",
            "the sync interval must be longer than zero",
        );
        let metric = |m: ScalingMetric| match m {
            ScalingMetric::Cpu => Metric::Cpu,
            ScalingMetric::RequestRate => Metric::RequestRate,
            ScalingMetric::LatencyP99 => Metric::LatencyP99,
            ScalingMetric::QueueDepth => Metric::QueueDepth,
        };
        let check_target = |ck: &mut Checker, field: String, m: ScalingMetric, t: f64| {
            if !(t.is_finite() && t > 0.0) {
                ck.err(field, format!("a target must be above zero, found {t}"));
            } else if m == ScalingMetric::Cpu && t > 1.0 {
                ck.err(
                    field,
                    format!("a cpu target is a fraction of the cores (0.6 for 60%), found {t}"),
                );
            }
        };
        let rules =
            |ck: &mut Checker, path: String, spec: Option<&ScalingRulesSpec>, default: Rules| -> Rules {
                let Some(r) = spec else { return default };
                let mut out = default;
                if let Some(w) = r.stabilization_window {
                    out.window = w.as_nanos();
                }
                if let Some(ps) = &r.policies {
                    out.policies = Vec::new();
                    for (k, x) in ps.iter().enumerate() {
                        let pp = format!("{path}.policies.{k}");
                        if x.period.is_zero() {
                            ck.err(format!("{pp}.period"), "a policy period must be longer than zero");
                        }
                        match (x.pods, x.percent) {
                            (Some(n), None) => out.policies.push(RatePolicy::Pods(n, x.period.as_nanos())),
                            (None, Some(v)) if v.is_finite() && v >= 0.0 => {
                                out.policies.push(RatePolicy::Percent(v, x.period.as_nanos()))
                            }
                            (None, Some(v)) => ck.err(
                                format!("{pp}.percent"),
                                format!("a percentage must be zero or more, found {v}"),
                            ),
                            _ => ck.err(
                                pp,
                                "a rate policy has exactly one of `pods: N` or `percent: P`, with `period`",
                            ),
                        }
                    }
                }
                if let Some(sel) = r.select_policy {
                    out.select = match sel {
                        SelectPolicySpec::Max => Select::Max,
                        SelectPolicySpec::Min => Select::Min,
                        SelectPolicySpec::Disabled => Select::Disabled,
                    };
                }
                out
            };
        let behavior = |ck: &mut Checker, path: &str, b: Option<&BehaviorSpec>| -> (Rules, Rules) {
            let b = b.cloned().unwrap_or_default();
            (
                rules(
                    ck,
                    format!("{path}.behavior.scale_up"),
                    b.scale_up.as_ref(),
                    Rules::default_up(),
                ),
                rules(
                    ck,
                    format!("{path}.behavior.scale_down"),
                    b.scale_down.as_ref(),
                    Rules::default_down(),
                ),
            )
        };
        let (policy, used) = match &a.policy {
            ScalingPolicySpec::TargetTracking(t) => {
                let pp = format!("{p}.policy.target_tracking");
                check_target(ck, format!("{pp}.target"), t.metric, t.target);
                let tolerance = t.tolerance.unwrap_or(0.1);
                if !(tolerance.is_finite() && (0.0..1.0).contains(&tolerance)) {
                    ck.err(
                        format!("{pp}.tolerance"),
                        format!("a tolerance is between 0 and 1, found {tolerance}"),
                    );
                }
                let (up, down) = behavior(ck, &pp, t.behavior.as_ref());
                (
                    Policy::TargetTracking(Hpa {
                        metric: metric(t.metric),
                        target: t.target,
                        tolerance,
                        up,
                        down,
                    }),
                    Some(t.metric),
                )
            }
            ScalingPolicySpec::Predictive(t) => {
                let pp = format!("{p}.policy.predictive");
                check_target(ck, format!("{pp}.target"), t.metric, t.target);
                let (alpha, beta) = (t.alpha.unwrap_or(0.5), t.beta.unwrap_or(0.3));
                for (f, v) in [("alpha", alpha), ("beta", beta)] {
                    if !(v > 0.0 && v <= 1.0) {
                        ck.err(
                            format!("{pp}.{f}"),
                            format!("a smoothing constant is in (0, 1], found {v}"),
                        );
                    }
                }
                let (up, down) = behavior(ck, &pp, t.behavior.as_ref());
                (
                    Policy::Predictive {
                        hpa: Hpa {
                            metric: metric(t.metric),
                            target: t.target,
                            tolerance: 0.1,
                            up,
                            down,
                        },
                        horizon: t.horizon.as_nanos(),
                        alpha,
                        beta,
                    },
                    Some(t.metric),
                )
            }
            ScalingPolicySpec::Threshold(t) => {
                let pp = format!("{p}.policy.threshold");
                if t.down_below.partial_cmp(&t.up_above) != Some(std::cmp::Ordering::Less) {
                    ck.err(
                        format!("{pp}.down_below"),
                        format!(
                            "down_below ({}) must be below up_above ({})",
                            t.down_below, t.up_above
                        ),
                    );
                }
                if t.step == 0 {
                    ck.err(format!("{pp}.step"), "step must be at least 1");
                }
                (
                    Policy::Threshold {
                        metric: metric(t.metric),
                        up_above: t.up_above,
                        down_below: t.down_below,
                        step: t.step.max(1),
                        cooldown: t.cooldown.map_or(300 * NS_PER_S, |d| d.as_nanos()),
                    },
                    Some(t.metric),
                )
            }
            ScalingPolicySpec::Schedule(steps) => {
                let mut out = Vec::new();
                for (k, st) in steps.iter().enumerate() {
                    if st.replicas < min || st.replicas > max {
                        ck.err(
                            format!("{p}.policy.schedule.{k}.replicas"),
                            format!("{} is outside min..max ({min}..{max})", st.replicas),
                        );
                    }
                    out.push((st.at.as_nanos(), st.replicas));
                }
                if out.windows(2).any(|w| w[1].0 < w[0].0) {
                    ck.err(
                        format!("{p}.policy.schedule"),
                        "scheduled times must not decrease",
                    );
                }
                if out.is_empty() {
                    ck.err(
                        format!("{p}.policy.schedule"),
                        "a schedule needs at least one `{ at, replicas }`",
                    );
                }
                (Policy::Schedule(out), None)
            }
        };
        // The queue a queue_depth metric reads.
        let mut queue = None;
        if used == Some(ScalingMetric::QueueDepth) {
            let candidates: Vec<(usize, &String)> = sc
                .components
                .iter()
                .enumerate()
                .filter(|(_, (_, c))| matches!(c, ComponentSpec::Queue(q) if q.consumer == a.target))
                .map(|(i, (n, _))| (i, n))
                .collect();
            queue = match &a.queue {
                Some(q) => match sc.components.get_full(q) {
                    Some((i, _, ComponentSpec::Queue(_))) => Some(nclients + i as u32),
                    Some((_, _, other)) => {
                        ck.err(
                            format!("{p}.queue"),
                            format!("`{q}` is {}, not a queue", other.a_kind()),
                        );
                        None
                    }
                    None => {
                        ck.err(format!("{p}.queue"), format!("no component named `{q}`"));
                        None
                    }
                },
                None if candidates.len() == 1 => Some(nclients + candidates[0].0 as u32),
                None => {
                    ck.err(
                        format!("{p}.queue"),
                        format!(
                            "queue_depth needs the queue to read: {} queues have `{}` as their consumer; name one with `queue: NAME`",
                            candidates.len(),
                            a.target
                        ),
                    );
                    None
                }
            };
        } else if a.queue.is_some() {
            ck.err(
                format!("{p}.queue"),
                "`queue` is read only by the queue_depth metric",
            );
        }
        let cfg = AutoscaleCfg {
            name: name.to_string(),
            min,
            max,
            interval: interval.max(1),
            policy,
            queue,
        };
        if let Some(CompCfg::Service(svc)) = comps.get_mut(ti) {
            svc.replicas = svc.replicas.clamp(min, max);
            svc.pool = max.max(svc.replicas);
            svc.speeds
                .resize(svc.pool as usize, *svc.speeds.last().unwrap_or(&1.0));
            svc.autoscale = Some(cfg);
        }
    }
    // A backend that was not found is id 0 (a problem is reported already):
    // it may be a client's id, which is no component.
    let sid = |id: u32| id.checked_sub(nclients).map_or(usize::MAX, |i| i as usize);
    let fronted: Vec<(usize, bool)> = comps
        .iter()
        .filter_map(|c| match c {
            CompCfg::Balancer(b) => Some((sid(b.backend), b.layer.is_some())),
            _ => None,
        })
        .collect();
    for (i, layered) in fronted {
        if let Some(CompCfg::Service(svc)) = comps.get_mut(i) {
            svc.fronted = true;
            // A balancer with an explicit `layer` asks for the imbalance series.
            svc.load_cv_series |= layered;
        }
    }
    // Balancers in front of an autoscaled service size their tables for its
    // pool and learn the serving count from it.
    let mut links = Vec::new();
    for (bi, c) in comps.iter().enumerate() {
        if let CompCfg::Balancer(b) = c
            && let Some(CompCfg::Service(svc)) = comps.get(sid(b.backend))
            && (svc.autoscale.is_some() || svc.deploy.is_some())
        {
            links.push((bi, sid(b.backend), svc.pool, svc.replicas));
        }
    }
    for (bi, si, pool, initial) in links {
        if let Some(CompCfg::Balancer(b)) = comps.get_mut(bi) {
            b.replicas = pool;
            b.active = initial;
            b.weights.resize(pool as usize, 1.0);
            b.choices = b.choices.max(1);
        }
        if let Some(CompCfg::Service(svc)) = comps.get_mut(si) {
            svc.balancers.push(nclients + bi as u32);
        }
    }
    // Balancers in front of a probed service hear when a replica leaves or
    // rejoins the rotation (readiness, restarts).
    let probed: Vec<(usize, usize)> = comps
        .iter()
        .enumerate()
        .filter_map(|(bi, c)| match c {
            CompCfg::Balancer(b) => match comps.get(sid(b.backend)) {
                Some(CompCfg::Service(svc)) if svc.autoscale.is_none() && svc.probes.is_some() => {
                    Some((bi, sid(b.backend)))
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    for (bi, si) in probed {
        if let Some(CompCfg::Service(svc)) = comps.get_mut(si) {
            svc.balancers.push(nclients + bi as u32);
        }
    }
}

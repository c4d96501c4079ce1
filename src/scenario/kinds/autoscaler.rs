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
use crate::model::CompCfg;
use crate::scenario::units::Duration;
use crate::scenario::validate::{Checker, Scope};

/// An autoscaler of one service.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// The decision rule.
    pub policy: ScalingPolicySpec,
    /// For `queue_depth`: the queue whose depth is read (default: the queue the target consumes from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetTrackingSpec {
    /// Metric.
    pub metric: ScalingMetric,
    /// Target value per replica (cpu as a fraction, request_rate per second, latency_p99 in ms, queue_depth in messages).
    pub target: f64,
    /// No change while |1 − metric ÷ target| ≤ tolerance (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Stabilisation windows and rate policies (defaults as Kubernetes').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<BehaviorSpec>,
}

/// The HPA's `behavior`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BehaviorSpec {
    /// Scale-up rules (default: no stabilisation; max of 4 pods or 100% per 15s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingRulesSpec>,
    /// Scale-down rules (default: 300s stabilisation; 100% per 15s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingRulesSpec>,
}

/// One direction's rules.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScalingRulesSpec {
    /// Recommendations within this window are taken into account (highest for down, lowest for up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window: Option<Duration>,
    /// Rate limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<RatePolicySpec>>,
    /// `max` (default: the policy allowing the largest change), `min`, or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<SelectPolicySpec>,
}

/// A rate policy: `{ pods: 4, period: 15s }` or `{ percent: 100, period: 15s }`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RatePolicySpec {
    /// At most this many replicas per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<u32>,
    /// At most this percentage of the replicas per period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Holt's trend smoothing, 0..1 (default 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// Stabilisation windows and rate policies, as for target tracking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<BehaviorSpec>,
}

impl Kind for AutoscalerSpec {
    /// An autoscaler's rule is checked and attached to the service it
    /// scales once every component is resolved (`validate::autoscalers`).
    fn resolve(&self, _ck: &mut Checker, _cx: &Scope, name: &String, _p: &str) -> CompCfg {
        CompCfg::Inert(name.to_string())
    }
}

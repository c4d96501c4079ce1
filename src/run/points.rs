//! A sweep's results: one entry per point, each the combination of its
//! replications (`sweep.json`, SPEC §3). Sweeps produce it; reports, pages
//! and comparisons read it.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::MetricValue;

/// One point in `sweep.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PointReport {
    /// Parameter values.
    pub params: IndexMap<String, Value>,
    /// Replications combined.
    pub replications: u32,
    /// Each SLO objective judged at this point.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slo: Vec<super::slo::SloResult>,
    /// Mean and 95% half-width of each metric.
    pub metrics: BTreeMap<String, MetricValue>,
    /// What queueing theory predicts at this point (`explain`'s prediction
    /// as metric names, see [`crate::explain::predicted_metrics`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub theory: BTreeMap<String, f64>,
    /// Seeds of the replications.
    pub replication_seeds: Vec<u64>,
    /// Each metric's value per replication (with 2 or more).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replication_values: BTreeMap<String, Vec<f64>>,
    /// Findings of any replication.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// `sweep.json` (SPEC §3).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SweepReport {
    /// archsim version.
    pub archsim_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Scenario seed.
    pub seed: u64,
    /// Replications per point planned.
    pub replications: u32,
    /// The grid.
    pub vary: IndexMap<String, Vec<Value>>,
    /// The scenario's headline metrics (see [`super::headline_of`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headline: Vec<String>,
    /// One entry per point, in grid order.
    pub points: Vec<PointReport>,
}

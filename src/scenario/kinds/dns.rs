//! A DNS answering across regions (GeoDNS, round robin, failover).
//!
//! Everything the scenario layer knows about this kind: its YAML spec,
//! where it runs, the components it sends requests to, and its
//! resolution into the model's config with located errors. The model's
//! behaviour is in `crate::model`; the registration is one line in
//! [`super`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::forecast::Flow;
use super::{Edge, Home, Kind};
use crate::engine::NS_PER_S;
use crate::model::CompCfg;
use crate::model::NO_REGION;
use crate::model::dns::{DnsCfg, DnsPolicy};
use crate::scenario::spec::*;
use crate::scenario::units::Duration;
use crate::scenario::validate::{Checker, Scope};

/// DNS across regions: clients resolve, cache the answer for `ttl`, and
/// send to the target it names.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsSpec {
    /// `geo` (default: the nearest healthy target), `round_robin` or `failover` (the first healthy in the list).
    #[serde(default)]
    pub policy: DnsPolicySpec,
    /// The components it answers with (a balancer or service per region).
    pub targets: Vec<String>,
    /// How long a client keeps an answer (default 60s).
    #[serde(default)]
    pub ttl: Option<Duration>,
    /// Time its health checks take to notice a target's region going out or coming back (default 30s).
    #[serde(default)]
    pub detect_after: Option<Duration>,
}

/// How a DNS answers.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DnsPolicySpec {
    /// The nearest healthy target.
    #[default]
    Geo,
    /// The healthy targets in turn.
    RoundRobin,
    /// The first healthy target in the list.
    Failover,
}

impl Kind for DnsSpec {
    fn home(&self) -> Home<'_> {
        // DNS answers in every region; it is never cut off as a whole.
        Home::Everywhere
    }

    fn edges(&self, _name: &str) -> Vec<Edge<'_>> {
        self.targets
            .iter()
            .enumerate()
            .map(|(k, t)| Edge {
                field: format!("targets.{k}"),
                target: t,
                // Data a cache in front would hold comes from the first.
                reads: k == 0,
            })
            .collect()
    }

    /// An even split over the targets.
    fn flows(&self, c: &CompCfg, _cfg: &crate::model::Config) -> (Vec<Flow>, Option<f64>) {
        let CompCfg::Dns(d) = c else {
            return (Vec::new(), None);
        };
        let share = 1.0 / d.targets.len().max(1) as f64;
        (
            d.targets
                .iter()
                .map(|&t| Flow {
                    to: t as usize,
                    reads: share,
                    writes: share,
                })
                .collect(),
            None,
        )
    }

    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg {
        let d = self;
        let mut targets = Vec::new();
        let mut names = Vec::new();
        for (i, t) in d.targets.iter().enumerate() {
            match cx.sc.components.get(t) {
                None => ck.err(
                    format!("{p}.targets.{i}"),
                    format!("no component named `{t}` (components are {})", cx.known()),
                ),
                Some(other @ (ComponentSpec::Dns(_) | ComponentSpec::Autoscaler(_))) => ck.err(
                    format!("{p}.targets.{i}"),
                    format!(
                        "`{t}` is {}; a DNS answers with a component that serves requests (usually a load balancer, \
                         gateway or service in each region)",
                        other.a_kind()
                    ),
                ),
                Some(_) => {
                    targets.push(cx.comp_id(t).unwrap_or(0));
                    names.push(t.clone());
                }
            }
        }
        if d.targets.is_empty() {
            ck.err(format!("{p}.targets"), "a DNS needs at least one target");
        }
        let cells = u64::from(cx.nclients) * targets.len() as u64;
        if !ck.charge_grid(&format!("{p}.targets"), cells, "a DNS (clients × targets)") {
            targets.clear();
        }
        let region = |id: u32| cx.network.region.get(id as usize).copied().unwrap_or(NO_REGION);
        let distance = (0..cx.nclients)
            .map(|c| targets.iter().map(|&t| cx.network.mean_delay_ns(c, t)).collect())
            .collect();
        CompCfg::Dns(DnsCfg {
            name: name.to_string(),
            target_names: names,
            target_regions: targets.iter().map(|&t| region(t)).collect(),
            targets,
            distance,
            policy: match d.policy {
                DnsPolicySpec::Geo => DnsPolicy::Geo,
                DnsPolicySpec::RoundRobin => DnsPolicy::RoundRobin,
                DnsPolicySpec::Failover => DnsPolicy::Failover,
            },
            ttl: d.ttl.map_or(60 * NS_PER_S, |t| t.as_nanos()),
            detect_after: d.detect_after.map_or(30 * NS_PER_S, |t| t.as_nanos()),
        })
    }
}

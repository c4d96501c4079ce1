//! A load balancer: spreads requests over the replicas of one service.
//!
//! Everything the scenario layer knows about this kind: its YAML spec,
//! where it runs, the components it sends requests to, and its
//! resolution into the model's config with located errors. The model's
//! behaviour is in `crate::model`; the registration is one line in
//! [`super`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::forecast::Flow;
use super::service::speeds;
use super::{Edge, Home, Kind};
use crate::engine::NS_PER_S;
use crate::model::CompCfg;
use crate::model::balancer::BalancerCfg;
use crate::scenario::limits::*;
use crate::scenario::spec::*;
use crate::scenario::units::Duration;
use crate::scenario::validate::{Checker, Scope};

/// A load balancer in front of one service's replicas.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalancerSpec {
    /// How a replica is chosen.
    pub algorithm: Algorithm,
    /// The service whose replicas receive the traffic.
    pub backends: String,
    /// `power_of_two`: how many replicas are sampled (default 2).
    #[serde(default)]
    pub choices: Option<u32>,
    /// `weighted_round_robin`: one weight per replica (default: the replicas' speeds).
    #[serde(default)]
    pub weights: Option<Vec<f64>>,
    /// `consistent_hash`: points per replica on the ring (default 160, as ketama).
    #[serde(default)]
    pub vnodes: Option<u32>,
    /// Active health checks: replicas that stop answering are taken out of rotation.
    #[serde(default)]
    pub health_check: Option<HealthCheckSpec>,
    /// Passive health checking (Envoy's outlier detection): a replica whose
    /// answers to this balancer fail `consecutive_errors` times in a row is
    /// ejected from rotation for a while.
    #[serde(default)]
    pub outlier_detection: Option<OutlierDetectionSpec>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default)]
    pub region: Option<String>,
    /// `7` (the default): a replica is chosen per request, as an HTTP proxy
    /// does. `4`: per connection, as a TCP balancer does: the algorithm picks
    /// when a client connection (the client's `connections`) opens, and every
    /// request on it goes to that replica until the connection closes or the
    /// replica leaves rotation. A request from a client without
    /// `connections` is its own connection. Set either value to get the
    /// backend service's `load_cv` time-series column.
    #[serde(default)]
    pub layer: Option<u8>,
}

/// Outlier detection on consecutive errors (defaults as Envoy's: 5 errors,
/// 30 s base ejection, 300 s maximum, at most 10% of the replicas ejected).
#[serde_with::skip_serializing_none]
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OutlierDetectionSpec {
    /// Failed or rejected answers in a row that eject a replica (default 5); a success resets the count.
    #[serde(default)]
    pub consecutive_errors: Option<u32>,
    /// An ejection lasts this × the number of times the replica has been ejected (default 30s).
    #[serde(default)]
    pub base_ejection_time: Option<Duration>,
    /// Longest ejection (default 300s, or base_ejection_time if that is longer).
    #[serde(default)]
    pub max_ejection_time: Option<Duration>,
    /// Most replicas ejected at once, in percent of the pool (0 to 100, default 10); one replica can always be ejected.
    #[serde(default)]
    pub max_ejection_percent: Option<f64>,
}

/// Active health checking (defaults as HAProxy's: every 2 s, down after 3 failures, up after 2).
#[serde_with::skip_serializing_none]
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// Time between probes of each replica (default 2s).
    #[serde(default)]
    pub interval: Option<Duration>,
    /// A probe unanswered this long fails (default 1s).
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Consecutive failed probes before a replica is marked down (default 3).
    #[serde(default)]
    pub unhealthy_after: Option<u32>,
    /// Consecutive good probes before it is marked up again (default 2).
    #[serde(default)]
    pub healthy_after: Option<u32>,
}

impl Kind for BalancerSpec {
    fn home(&self) -> Home<'_> {
        Home::region(self.region.as_ref())
    }

    fn edges(&self, _name: &str) -> Vec<Edge<'_>> {
        vec![Edge::new("backends", &self.backends)]
    }

    /// Everything goes to the backend service.
    fn flows(&self, c: &CompCfg, _cfg: &crate::model::Config) -> (Vec<Flow>, Option<f64>) {
        let CompCfg::Balancer(b) = c else {
            return (Vec::new(), None);
        };
        (
            vec![Flow {
                to: b.backend as usize,
                reads: 1.0,
                writes: 1.0,
            }],
            None,
        )
    }

    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg {
        let b = self;
        let (backend, replicas) = match cx.sc.components.get(&b.backends) {
            Some(ComponentSpec::Service(s)) => (
                cx.comp_id(&b.backends).unwrap_or(0),
                s.replicas.clamp(1, MAX_REPLICAS),
            ),
            Some(other) => {
                ck.err(
                    format!("{p}.backends"),
                    format!(
                        "`{}` is {}; a load balancer's backends must be a service",
                        b.backends,
                        other.a_kind()
                    ),
                );
                (0, 1)
            }
            None => {
                ck.err(
                    format!("{p}.backends"),
                    format!(
                        "no component named `{}` (components are {})",
                        b.backends,
                        cx.known()
                    ),
                );
                (0, 1)
            }
        };
        // More choices than replicas means "look at all of them".
        let choices = b.choices.unwrap_or(2).min(replicas.max(1));
        if b.choices == Some(0) {
            ck.err(format!("{p}.choices"), "choices must be at least 1");
        }
        let weights = match &b.weights {
            Some(w) => {
                if w.len() != replicas as usize {
                    ck.err(
                        format!("{p}.weights"),
                        format!("expected one weight per replica ({replicas}), found {}", w.len()),
                    );
                }
                if w.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || w.iter().sum::<f64>() <= 0.0 {
                    ck.err(
                        format!("{p}.weights"),
                        "weights must be zero or positive and not all zero",
                    );
                }
                let mut w = w.clone();
                w.resize(replicas as usize, 1.0);
                w
            }
            None => match cx.sc.components.get(&b.backends) {
                Some(ComponentSpec::Service(s)) => speeds(&s.speed, replicas),
                _ => vec![1.0; replicas as usize],
            },
        };
        let vnodes = b.vnodes.unwrap_or(160);
        if vnodes == 0 {
            ck.err(format!("{p}.vnodes"), "vnodes must be at least 1");
        } else if u64::from(vnodes) * u64::from(replicas) > MAX_RING_POINTS {
            ck.err(
                format!("{p}.vnodes"),
                format!("vnodes × replicas may be at most {MAX_RING_POINTS} ring points"),
            );
        }
        if let Some(l) = b.layer
            && l != 4
            && l != 7
        {
            ck.err(
                format!("{p}.layer"),
                format!("layer must be 4 (per connection) or 7 (per request), found {l}"),
            );
        }
        // Connection slots: every client's `connections`, numbered in client order.
        let connections = cx
            .sc
            .clients
            .values()
            .filter_map(|c| c.connections.map(|k| u64::from(k.count)))
            .sum::<u64>()
            .min(u64::from(MAX_CONNECTIONS)) as u32;
        CompCfg::Balancer(BalancerCfg {
            layer: b.layer,
            connections: if b.layer == Some(4) { connections } else { 0 },
            name: name.to_string(),
            algorithm: b.algorithm,
            backend,
            replicas,
            active: replicas,
            choices: choices.max(1),
            weights,
            vnodes: vnodes.max(1),
            identities: cx.identity_base.max(1),
            health: b.health_check.map(|h| {
                let hp = format!("{p}.health_check");
                let interval = h.interval.map_or(2_000_000_000, |d| d.as_nanos());
                let timeout = h.timeout.map_or(1_000_000_000, |d| d.as_nanos());
                ck.period(
                    &format!("{hp}.interval"),
                    interval,
                    "a health-check interval",
                    "interval must be longer than zero",
                );
                if timeout == 0 {
                    ck.err(format!("{hp}.timeout"), "timeout must be longer than zero");
                }
                for (f, v) in [
                    ("unhealthy_after", h.unhealthy_after),
                    ("healthy_after", h.healthy_after),
                ] {
                    if v == Some(0) {
                        ck.err(format!("{hp}.{f}"), format!("{f} must be at least 1"));
                    }
                }
                crate::model::balancer::HealthCfg {
                    interval: interval.max(1),
                    timeout: timeout.max(1),
                    unhealthy_after: h.unhealthy_after.unwrap_or(3).max(1),
                    healthy_after: h.healthy_after.unwrap_or(2).max(1),
                }
            }),
            outlier: b.outlier_detection.map(|o| {
                let op = format!("{p}.outlier_detection");
                if o.consecutive_errors == Some(0) {
                    ck.err(
                        format!("{op}.consecutive_errors"),
                        "consecutive_errors must be at least 1",
                    );
                }
                let base = o.base_ejection_time.map_or(30 * NS_PER_S, |d| d.as_nanos());
                if base == 0 {
                    ck.err(
                        format!("{op}.base_ejection_time"),
                        "base_ejection_time must be longer than zero",
                    );
                }
                // Envoy: unset, the cap is 300 s or the base time, whichever is longer.
                let max = match o.max_ejection_time {
                    None => base.max(300 * NS_PER_S),
                    Some(d) if d.as_nanos() == 0 => {
                        ck.err(
                            format!("{op}.max_ejection_time"),
                            "max_ejection_time must be longer than zero",
                        );
                        base
                    }
                    Some(d) if d.as_nanos() < base => {
                        ck.err(
                            format!("{op}.max_ejection_time"),
                            format!(
                                "max_ejection_time ({d}) must not be shorter than base_ejection_time ({})",
                                Duration(base)
                            ),
                        );
                        base
                    }
                    Some(d) => d.as_nanos(),
                };
                let pct = o.max_ejection_percent.unwrap_or(10.0);
                if !(0.0..=100.0).contains(&pct) {
                    ck.err(
                        format!("{op}.max_ejection_percent"),
                        format!("max_ejection_percent must be between 0 and 100, found {pct}"),
                    );
                }
                crate::model::balancer::OutlierCfg {
                    consecutive_errors: o.consecutive_errors.unwrap_or(5).max(1),
                    base_ejection_time: base.max(1),
                    max_ejection_time: max.max(base).max(1),
                    max_ejection_percent: if (0.0..=100.0).contains(&pct) { pct } else { 10.0 },
                }
            }),
        })
    }
}

//! An API gateway: routes by operation, rate-limits, adds its own time.
//!
//! Everything the scenario layer knows about this kind: its YAML spec,
//! where it runs, the components it sends requests to, and its
//! resolution into the model's config with located errors. The model's
//! behaviour is in `crate::model`; the registration is one line in
//! [`super`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::forecast::{Flow, Forecast, Setting};
use super::{Edge, Home, Kind};
use crate::model::CompCfg;
use crate::model::gateway::{GatewayCfg, RateLimitCfg};
use crate::scenario::dist::{DistSpec, Sampler};
use crate::scenario::units::Rate;
use crate::scenario::validate::{Checker, Scope};

/// An API gateway in front of the services.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewaySpec {
    /// Where each operation goes: `{ read: NAME, write: NAME }` (an
    /// operation without a route goes to `target`).
    #[serde(default)]
    pub routes: Option<RoutesSpec>,
    /// Where requests go that no route names.
    #[serde(default)]
    pub target: Option<String>,
    /// Token-bucket rate limit; excess requests are rejected (HTTP 429).
    #[serde(default)]
    pub rate_limit: Option<RateLimitSpec>,
    /// The gateway's own processing time per admitted request (default 0).
    #[serde(default)]
    pub service_time: Option<DistSpec>,
    /// Region it runs in (one of `network.regions`; default the first).
    #[serde(default)]
    pub region: Option<String>,
}

/// A gateway's routes by operation.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutesSpec {
    /// Component receiving reads.
    #[serde(default)]
    pub read: Option<String>,
    /// Component receiving writes.
    #[serde(default)]
    pub write: Option<String>,
}

/// A token bucket.
#[serde_with::skip_serializing_none]
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    /// Refill rate, e.g. `100/s`: the sustained rate admitted.
    pub rate: Rate,
    /// Bucket size: requests that may pass at once after a quiet spell (default: one second of `rate`, at least 1).
    #[serde(default)]
    pub burst: Option<f64>,
    /// `global` (default): one bucket for all; `identity`: one per user.
    #[serde(default)]
    pub per: LimitScope,
}

/// Who shares a token bucket.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// Every request.
    #[default]
    Global,
    /// Each user (client identity) separately.
    Identity,
}

impl Kind for GatewaySpec {
    fn home(&self) -> Home<'_> {
        Home::region(self.region.as_ref())
    }

    fn edges(&self, name: &str) -> Vec<Edge<'_>> {
        let routes = self.routes.as_ref();
        let read = routes.and_then(|r| r.read.as_ref());
        // Reads go to `routes.read` when there is one, else to `target`.
        [
            ("target", self.target.as_ref(), read.is_none()),
            ("routes.read", read, true),
            ("routes.write", routes.and_then(|r| r.write.as_ref()), false),
        ]
        .into_iter()
        .filter_map(|(field, t, reads)| {
            let t = t.filter(|t| *t != name)?;
            Some(Edge {
                field: field.to_string(),
                target: t,
                reads,
            })
        })
        .collect()
    }

    /// Reads to the read route, writes to the write route.
    fn flows(&self, c: &CompCfg, _cfg: &crate::model::Config) -> (Vec<Flow>, Option<f64>) {
        let CompCfg::Gateway(g) = c else {
            return (Vec::new(), None);
        };
        (
            vec![
                Flow {
                    to: g.read as usize,
                    reads: 1.0,
                    writes: 0.0,
                },
                Flow {
                    to: g.write as usize,
                    reads: 0.0,
                    writes: 1.0,
                },
            ],
            None,
        )
    }

    /// A global bucket passes at most its rate; one bucket per identity
    /// passes each identity's rate up to the limit (identities drawn
    /// evenly from each client's).
    fn admitted(&self, c: &CompCfg, total: f64, s: &Setting) -> Option<f64> {
        let CompCfg::Gateway(g) = c else { return None };
        let rl = g.rate_limit?;
        let cfg = s.cfg;
        Some(if rl.per_identity {
            let (passed, from_clients) = cfg
                .clients
                .iter()
                .filter(|c| c.target as usize == s.id)
                .filter_map(|c| {
                    Some((
                        super::forecast::mean_rate(&c.arrival, cfg.duration)?,
                        c.identities.max(1) as f64,
                    ))
                })
                .fold((0.0, 0.0), |(p, f), (l, ids)| (p + l.min(ids * rl.rate), f + l));
            passed + (total - from_clients).max(0.0)
        } else {
            total.min(rl.rate)
        })
    }

    fn forecast(&self, c: &CompCfg, _r: f64, _w: f64, _s: &Setting) -> Forecast {
        let CompCfg::Gateway(g) = c else {
            return Forecast::default();
        };
        Forecast {
            response_ms: Some(g.service_time.mean_ns() / 1e6),
            model: "a delay per request (rejections are answered at once)".into(),
            ..Forecast::default()
        }
    }

    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg {
        let g = self;
        let mut route = |field: String, t: &Option<String>| -> Option<u32> {
            let t = t.as_ref()?;
            match cx.comp_id(t) {
                Some(_) if t == name => {
                    ck.err(field, format!("`{name}` cannot route to itself"));
                    None
                }
                Some(id) => Some(id),
                None => {
                    ck.err(
                        field,
                        format!("no component named `{t}` (components are {})", cx.known()),
                    );
                    None
                }
            }
        };
        let fallback = route(format!("{p}.target"), &g.target);
        let (r, w) = match &g.routes {
            Some(rt) => (
                route(format!("{p}.routes.read"), &rt.read),
                route(format!("{p}.routes.write"), &rt.write),
            ),
            None => (None, None),
        };
        let (read, write) = (r.or(fallback), w.or(fallback));
        if g.target.is_none()
            && (g
                .routes
                .as_ref()
                .is_none_or(|rt| rt.read.is_none() || rt.write.is_none()))
        {
            ck.err(
                p,
                "a gateway needs `target: NAME` or `routes: { read: NAME, write: NAME }` \
                         (an operation without a route goes to `target`)",
            );
        }
        let rate_limit = g.rate_limit.map(|rl| {
            let rate = rl.rate.per_sec();
            if rate <= 0.0 {
                ck.err(format!("{p}.rate_limit.rate"), "a rate limit must be above 0/s");
            }
            let burst = rl.burst.unwrap_or(rate.max(1.0));
            if !(burst.is_finite() && burst >= 1.0) {
                ck.err(
                    format!("{p}.rate_limit.burst"),
                    format!("burst must be at least 1 (a request takes one token), found {burst}"),
                );
            }
            RateLimitCfg {
                rate,
                burst: burst.max(1.0),
                per_identity: rl.per == LimitScope::Identity,
            }
        });
        let service_time = match &g.service_time {
            Some(d) => ck
                .sampler(&format!("{p}.service_time"), d)
                .unwrap_or_else(|| Sampler::constant(0)),
            None => Sampler::constant(0),
        };
        CompCfg::Gateway(GatewayCfg {
            name: name.to_string(),
            read: read.unwrap_or(0),
            write: write.unwrap_or(0),
            rate_limit,
            service_time,
        })
    }
}

//! A service registry (Eureka, Consul): instances heartbeat, the registry
//! drops those silent for `ttl`, clients balance over a cached view.
//!
//! Everything the scenario layer knows about this kind: its YAML spec,
//! the `discovery` fields of the services that register with it and of
//! the clients that look instances up in it, and their resolution into the
//! model's config with located errors. The model's behaviour is in
//! `crate::model::registry`; the registration is one line in [`super`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Kind;
use crate::engine::{NS_PER_S, SimTime};
use crate::model::CompCfg;
use crate::model::registry::{DiscoveryCfg, RegistryCfg};
use crate::scenario::spec::*;
use crate::scenario::units::Duration;
use crate::scenario::validate::{Checker, Scope};

/// Most replica slots of a service found through a registry (a view is a
/// 64-bit set).
pub const MAX_REGISTERED_REPLICAS: u32 = 64;

/// Eureka's defaults: a lease renewed every 30 s expires 90 s after the
/// last renewal; clients fetch the registry every 30 s.
const DEFAULT_HEARTBEAT: SimTime = 30 * NS_PER_S;
const DEFAULT_TTL: SimTime = 90 * NS_PER_S;
const DEFAULT_REFRESH: SimTime = 30 * NS_PER_S;

/// A service registry: the services whose `discovery` names it register
/// their instances here; an instance whose last heartbeat is `ttl` old is
/// dropped.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrySpec {
    /// An instance is dropped when its last heartbeat is this old (default
    /// 90s, Eureka's lease expiration; Consul's TTL check).
    #[serde(default)]
    pub ttl: Option<Duration>,
}

/// A service's registration: `{ registry: reg, heartbeat: 30s }`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegisterSpec {
    /// The `registry` component its instances register with.
    pub registry: String,
    /// Each instance that is up and serving heartbeats this often, at its
    /// own phase (default 30s, Eureka's lease renewal); shorter than the
    /// registry's `ttl`.
    #[serde(default)]
    pub heartbeat: Option<Duration>,
}

/// A client's discovery: `{ registry: reg, refresh: 30s }`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DiscoverySpec {
    /// The `registry` component it asks; its `target` must be a service
    /// registered there.
    pub registry: String,
    /// How often it fetches the target's live instances (default 30s,
    /// Eureka's registry fetch); between fetches it balances round robin
    /// over the cached list, dead instances included.
    #[serde(default)]
    pub refresh: Option<Duration>,
}

impl Kind for RegistrySpec {
    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg {
        let ttl = self.ttl.map_or(DEFAULT_TTL, |d| d.as_nanos());
        ck.period(
            &format!("{p}.ttl"),
            ttl,
            "a registry's ttl",
            "ttl must be longer than zero",
        );
        let services = cx
            .sc
            .components
            .iter()
            .filter_map(|(n, c)| match c {
                ComponentSpec::Service(s) if s.discovery.as_ref().is_some_and(|d| d.registry == name) => {
                    let replicas = s.replicas.clamp(1, MAX_REGISTERED_REPLICAS);
                    Some((cx.comp_id(n).unwrap_or(0), MAX_REGISTERED_REPLICAS, replicas))
                }
                _ => None,
            })
            .collect();
        CompCfg::Registry(RegistryCfg {
            name: name.to_string(),
            ttl: ttl.max(1),
            services,
        })
    }
}

/// A service's `discovery`, resolved: (registry id, heartbeat), with
/// errors at `p.discovery`.
pub(crate) fn registration(
    ck: &mut Checker,
    cx: &Scope,
    d: Option<&RegisterSpec>,
    replicas: u32,
    p: &str,
) -> Option<(u32, SimTime)> {
    let d = d?;
    let dp = format!("{p}.discovery");
    let heartbeat = d.heartbeat.map_or(DEFAULT_HEARTBEAT, |h| h.as_nanos());
    ck.period(
        &format!("{dp}.heartbeat"),
        heartbeat,
        "a heartbeat interval",
        "heartbeat must be longer than zero",
    );
    if replicas > MAX_REGISTERED_REPLICAS {
        ck.err(
            format!("{p}.replicas"),
            format!(
                "a service found through a registry has at most {MAX_REGISTERED_REPLICAS} replicas, found {replicas}"
            ),
        );
    }
    match cx.sc.components.get(&d.registry) {
        Some(ComponentSpec::Registry(r)) => {
            let ttl = r.ttl.map_or(DEFAULT_TTL, |t| t.as_nanos());
            if heartbeat >= ttl {
                ck.err(
                    format!("{dp}.heartbeat"),
                    format!(
                        "heartbeat ({}) must be shorter than the registry's ttl ({}), or live instances expire between heartbeats",
                        Duration(heartbeat),
                        Duration(ttl)
                    ),
                );
            }
            Some((cx.comp_id(&d.registry).unwrap_or(0), heartbeat.max(1)))
        }
        Some(other) => {
            ck.err(
                format!("{dp}.registry"),
                format!("`{}` is {}, not a registry", d.registry, other.a_kind()),
            );
            None
        }
        None => {
            ck.err(
                format!("{dp}.registry"),
                format!(
                    "no component named `{}` (components are {})",
                    d.registry,
                    cx.known()
                ),
            );
            None
        }
    }
}

/// A client's `discovery`, resolved, with errors at `p.discovery`:
/// `registry_id` finds the registry's id by name.
pub(crate) fn client_discovery(
    ck: &mut Checker,
    sc: &Scenario,
    c: &ClientSpec,
    registry_id: &dyn Fn(&str) -> Option<u32>,
    p: &str,
) -> Option<DiscoveryCfg> {
    let d = c.discovery.as_ref()?;
    let dp = format!("{p}.discovery");
    let refresh = d.refresh.map_or(DEFAULT_REFRESH, |r| r.as_nanos());
    ck.period(
        &format!("{dp}.refresh"),
        refresh,
        "a discovery refresh interval",
        "refresh must be longer than zero",
    );
    match sc.components.get(&d.registry) {
        Some(ComponentSpec::Registry(_)) => {}
        Some(other) => {
            ck.err(
                format!("{dp}.registry"),
                format!("`{}` is {}, not a registry", d.registry, other.a_kind()),
            );
            return None;
        }
        None => {
            ck.err(
                format!("{dp}.registry"),
                format!("no component named `{}`", d.registry),
            );
            return None;
        }
    }
    let registered = matches!(
        sc.components.get(&c.target),
        Some(ComponentSpec::Service(s)) if s.discovery.as_ref().is_some_and(|r| r.registry == d.registry)
    );
    if !registered {
        ck.err(
            format!("{p}.target"),
            format!(
                "with `discovery`, the target must be a service whose `discovery` registers it with `{}`; `{}` is not",
                d.registry, c.target
            ),
        );
        return None;
    }
    Some(DiscoveryCfg {
        registry: registry_id(&d.registry).unwrap_or(0),
        refresh: refresh.max(1),
    })
}

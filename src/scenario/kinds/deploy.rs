//! A service's `deploy:` section: how a `{ at, deploy: NAME }` event
//! replaces its replicas with a new version (rolling, blue-green, canary).
//! The model is `crate::model::service::deploy`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::service::ServiceTime;
use crate::model::service::{CanaryCfg, DeployCfg, Strategy};
use crate::scenario::dist::Sampler;
use crate::scenario::units::Duration;
use crate::scenario::validate::Checker;

/// How the new version replaces the old.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StrategySpec {
    /// Batches of `max_unavailable` replicas leave rotation, drain, restart as the new version and rejoin (Kubernetes RollingUpdate); `max_surge` extra new replicas let larger batches go at once.
    #[default]
    Rolling,
    /// A second full set of replicas starts; once it is up, traffic moves to it at once and the old set drains and stops (twice the replicas meanwhile).
    BlueGreen,
    /// One new replica takes a `weight` share of requests; its errors and p99 are judged every `interval` over the last `window`: a failing canary is rolled back, a passing one promoted after `promote_after`.
    Canary,
}

/// The new version a deploy brings.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VersionSpec {
    /// Service time of the new version (default: the service's own).
    #[serde(default)]
    pub service_time: Option<ServiceTime>,
    /// Share of the new version's requests that fail (0 to 1, default 0): a bad release.
    #[serde(default)]
    pub error_ratio: Option<f64>,
}

/// A canary's analysis (the thresholds Flagger and Argo Rollouts judge a canary by).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CanarySpec {
    /// Share of the service's requests sent to the canary, strictly between 0 and 1 (default 0.1).
    #[serde(default)]
    pub weight: Option<f64>,
    /// Time between evaluations (default 10s).
    #[serde(default)]
    pub interval: Option<Duration>,
    /// Each evaluation judges the canary's answers of the last `window`, once the canary has served a whole window (default 1m).
    #[serde(default)]
    pub window: Option<Duration>,
    /// Roll back when the canary's error ratio over the window is above this (0 to 1, default 0.05).
    #[serde(default)]
    pub max_error_ratio: Option<f64>,
    /// Roll back when the canary's p99 response time over the window is above this (default: not judged).
    #[serde(default)]
    pub max_p99: Option<Duration>,
    /// A canary still passing after serving this long is promoted: the stable replicas are replaced by a rolling deploy, then the canary stops (default 5m, at least `window`).
    #[serde(default)]
    pub promote_after: Option<Duration>,
}

/// A service's deploy: `{ strategy, max_unavailable, max_surge, drain, version, canary }`, started by an event `{ at: 2m, deploy: NAME }`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeploySpec {
    /// `rolling` (default), `blue_green` or `canary`.
    #[serde(default)]
    pub strategy: StrategySpec,
    /// Replicas out of rotation at once during a rolling deploy (and a canary's promotion), at most `replicas` (default 1).
    #[serde(default)]
    pub max_unavailable: Option<u32>,
    /// Rolling only: extra new-version replicas started in spare slots first, so that each batch replaces `max_unavailable + max_surge` replicas (default 0).
    #[serde(default)]
    pub max_surge: Option<u32>,
    /// Time a replica leaving rotation keeps finishing the work it holds; what it still holds then fails (default 0s). Each replica then restarts in the service's `startup_time`.
    #[serde(default)]
    pub drain: Option<Duration>,
    /// The new version (default: the same service time, no errors).
    #[serde(default)]
    pub version: Option<VersionSpec>,
    /// The canary's analysis (read by strategy `canary` only, so that a sweep can vary the strategy).
    #[serde(default)]
    pub canary: Option<CanarySpec>,
}

/// Checks a service's `deploy:` section and resolves it; `read` and
/// `write` are the service's own service times (the default version).
pub(crate) fn resolve(
    ck: &mut Checker,
    p: &str,
    d: &DeploySpec,
    replicas: u32,
    read: &Sampler,
    write: &Sampler,
) -> DeployCfg {
    let p = format!("{p}.deploy");
    let strategy = match d.strategy {
        StrategySpec::Rolling => Strategy::Rolling,
        StrategySpec::BlueGreen => Strategy::BlueGreen,
        StrategySpec::Canary => Strategy::Canary,
    };
    let u = d.max_unavailable.unwrap_or(1);
    let s = d.max_surge.unwrap_or(0);
    if u > replicas {
        ck.err(
            format!("{p}.max_unavailable"),
            format!("at most the service's {replicas} replica(s), found {u}"),
        );
    }
    if d.max_surge.is_some() && strategy != Strategy::Rolling {
        ck.err(
            format!("{p}.max_surge"),
            format!(
                "max_surge applies to a rolling deploy; strategy `{}` starts its own extra replicas",
                strategy.word()
            ),
        );
    } else if u == 0 && s == 0 {
        ck.err(
            format!("{p}.max_unavailable"),
            "max_unavailable and max_surge cannot both be 0: the deploy could never replace a replica",
        );
    } else if u == 0 && strategy == Strategy::Canary {
        ck.err(
            format!("{p}.max_unavailable"),
            "a canary is promoted by a rolling deploy of max_unavailable replicas at a time: give at least 1",
        );
    }
    if s > replicas {
        ck.err(
            format!("{p}.max_surge"),
            format!("at most the service's {replicas} replica(s), found {s}"),
        );
    }
    let v = d.version.clone().unwrap_or_default();
    let (nr, nw) = match &v.service_time {
        None => (read.clone(), write.clone()),
        Some(ServiceTime::All(x)) => {
            let x = ck.sampler(&format!("{p}.version.service_time"), x);
            (
                x.clone().unwrap_or_else(|| read.clone()),
                x.unwrap_or_else(|| write.clone()),
            )
        }
        Some(ServiceTime::PerOp { read: r, write: w }) => {
            let r = r
                .as_ref()
                .and_then(|x| ck.sampler(&format!("{p}.version.service_time.read"), x));
            let w = w
                .as_ref()
                .and_then(|x| ck.sampler(&format!("{p}.version.service_time.write"), x));
            (
                r.unwrap_or_else(|| read.clone()),
                w.unwrap_or_else(|| write.clone()),
            )
        }
    };
    let error_ratio = v.error_ratio.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&error_ratio) {
        ck.err(
            format!("{p}.version.error_ratio"),
            format!("an error ratio is between 0 and 1, found {error_ratio}"),
        );
    }
    let c = d.canary.clone().unwrap_or_default();
    let cp = format!("{p}.canary");
    let weight = c.weight.unwrap_or(0.1);
    if !(weight > 0.0 && weight < 1.0) {
        ck.err(
            format!("{cp}.weight"),
            format!("a canary's weight is a share strictly between 0 and 1, found {weight}"),
        );
    }
    let interval = c.interval.unwrap_or(Duration::from_secs(10)).as_nanos();
    ck.period(
        &format!("{cp}.interval"),
        interval,
        "the canary's interval",
        "the canary's interval must be above 0s",
    );
    let window = c.window.unwrap_or(Duration::from_secs(60)).as_nanos();
    if window == 0 {
        ck.err(format!("{cp}.window"), "the canary's window must be above 0s");
    }
    let max_error_ratio = c.max_error_ratio.unwrap_or(0.05);
    if !(0.0..=1.0).contains(&max_error_ratio) {
        ck.err(
            format!("{cp}.max_error_ratio"),
            format!("an error ratio is between 0 and 1, found {max_error_ratio}"),
        );
    }
    let promote_after = c.promote_after.unwrap_or(Duration::from_secs(300)).as_nanos();
    if promote_after < window {
        ck.err(
            format!("{cp}.promote_after"),
            format!(
                "promote_after ({}) must be at least the window ({}): the canary is judged over a whole window first",
                Duration(promote_after),
                Duration(window)
            ),
        );
    }
    DeployCfg {
        strategy,
        max_unavailable: u.min(replicas),
        max_surge: if strategy == Strategy::Rolling {
            s.min(replicas)
        } else {
            0
        },
        drain: d.drain.map_or(0, |x| x.as_nanos()),
        read_time: nr,
        write_time: nw,
        error_ratio: error_ratio.clamp(0.0, 1.0),
        canary: CanaryCfg {
            weight: weight.clamp(0.0, 1.0),
            interval: interval.max(1),
            window: window.max(1),
            max_error_ratio,
            max_p99: c.max_p99.map(|x| x.as_nanos()),
            promote_after,
        },
    }
}

/// Checks a `{ at, deploy: NAME }` event at `ep`: NAME is a service with a
/// `deploy:` section, deployed once. Returns its component index.
pub(crate) fn event(
    ck: &mut Checker,
    sc: &crate::scenario::spec::Scenario,
    ep: &str,
    name: &str,
    deployed: &mut Vec<String>,
) -> Option<u32> {
    use crate::scenario::spec::ComponentSpec;
    let field = format!("{ep}.deploy");
    match sc.components.get_full(name) {
        Some((idx, _, ComponentSpec::Service(s))) => {
            if s.deploy.is_none() {
                ck.err(
                    field,
                    format!(
                        "service `{name}` has no `deploy:` section saying how to deploy it \
                         (e.g. `deploy: {{ strategy: rolling, max_unavailable: 1 }}`)"
                    ),
                );
                return None;
            }
            if deployed.iter().any(|d| d == name) {
                ck.err(
                    field,
                    format!(
                        "`{name}` is already deployed by an earlier event; a service takes one deploy event"
                    ),
                );
                return None;
            }
            deployed.push(name.to_string());
            Some(idx as u32)
        }
        Some((_, _, other)) => {
            ck.err(
                field,
                format!("`{name}` is {}; a deploy event names a service", other.a_kind()),
            );
            None
        }
        None => {
            ck.err(
                field,
                format!(
                    "no component named `{name}` (components are {})",
                    crate::scenario::validate::known(sc)
                ),
            );
            None
        }
    }
}

/// What `explain` says of a service's deploy: the capacity left while it
/// runs (a rolling deploy keeps (n − u)/n serving), and the utilisation
/// `util` of n replicas becomes meanwhile.
pub(crate) fn explain(d: &DeployCfg, n: u32, util: f64) -> String {
    let busy = |k: u32| {
        let u = util * f64::from(n) / f64::from(k.max(1));
        if u < 1.0 {
            format!("≈ {:.0}% busy meanwhile", u * 100.0)
        } else {
            format!("overloaded meanwhile ({:.0}%)", u * 100.0)
        }
    };
    match d.strategy {
        Strategy::Rolling => {
            let u = d.max_unavailable.min(n);
            format!(
                "; rolling deploy: (n − u)/n = {}/{n} replicas serving, {}",
                n - u,
                busy(n - u)
            )
        }
        Strategy::BlueGreen => format!(
            "; blue-green deploy: {} replicas run during startup + drain",
            2 * n
        ),
        Strategy::Canary => {
            let u = d.max_unavailable.min(n);
            format!(
                "; canary deploy: +1 replica taking {:.0}% of requests; its promotion keeps {}/{n} serving, {}",
                d.canary.weight * 100.0,
                n - u,
                busy(n - u)
            )
        }
    }
}

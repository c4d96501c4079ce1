//! A service's `probes:` (liveness, readiness, startup, as Kubernetes
//! defines them) and its `restart_time`: the YAML and its checks.
//!
//! Defaults are Kubernetes' own (`periodSeconds` 10, `timeoutSeconds` 1,
//! `failureThreshold` 3, `successThreshold` 1, `initialDelaySeconds` 0;
//! "Configure Liveness, Readiness and Startup Probes" in the Kubernetes
//! documentation). The model is in `crate::model::service` (probes.rs).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::service::{ProbeCfg, ProbesCfg};
use crate::scenario::limits::MIN_PERIOD_NS;
use crate::scenario::units::Duration;
use crate::scenario::validate::Checker;

/// Kubernetes-style probes of every replica, run by the platform outside the request queue:
/// `{ liveness: { period: 10s, failure_threshold: 3 }, readiness: {}, startup: { failure_threshold: 30 } }`.
/// A hung replica fails a probe when its `timeout` runs out; a crashed, restarting or still-starting one fails at once.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProbesSpec {
    /// `failure_threshold` failures in a row restart the replica: what it holds fails, it is out of rotation for
    /// the service's `restart_time` + `startup_time`, and a hang ends. Held off until the startup probe passes.
    #[serde(default)]
    pub liveness: Option<ProbeSpec>,
    /// `failure_threshold` failures in a row take the replica out of its balancers' rotation (no restart) until
    /// `success_threshold` successes in a row bring it back. Works through a `load_balancer` in front.
    #[serde(default)]
    pub readiness: Option<ProbeSpec>,
    /// Holds liveness and readiness off until it passes once; `failure_threshold` failures in a row restart the
    /// replica. Give a slow-starting service failure_threshold × period above its `startup_time`.
    #[serde(default)]
    pub startup: Option<ProbeSpec>,
}

/// One probe (Kubernetes' fields and defaults).
#[serde_with::skip_serializing_none]
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProbeSpec {
    /// Time between probes of a replica (default 10s, `periodSeconds`).
    #[serde(default)]
    pub period: Option<Duration>,
    /// A probe unanswered this long fails (default 1s, `timeoutSeconds`); shorter than `period`.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Failures in a row that act (default 3, `failureThreshold`).
    #[serde(default)]
    pub failure_threshold: Option<u32>,
    /// Readiness: successes in a row that put the replica back (default 1, `successThreshold`; must be 1 for
    /// liveness and startup).
    #[serde(default)]
    pub success_threshold: Option<u32>,
    /// No probe this long after the container (re)starts (default 0s, `initialDelaySeconds`).
    #[serde(default)]
    pub initial_delay: Option<Duration>,
}

/// Default time a restarted container takes before its process starts again.
pub const DEFAULT_RESTART_NS: u64 = 1_000_000_000;

/// Check `probes` and `restart_time` of the service at `p`.
pub(crate) fn resolve(
    ck: &mut Checker,
    p: &str,
    probes: Option<&ProbesSpec>,
    restart_time: Option<Duration>,
) -> Option<ProbesCfg> {
    let Some(spec) = probes else {
        if restart_time.is_some() {
            ck.err(
                format!("{p}.restart_time"),
                "`restart_time` is the time a probe's restart takes: give the service `probes: { liveness: {} }` \
                 (or a startup probe), or omit it",
            );
        }
        return None;
    };
    let one = |ck: &mut Checker, name: &str, s: &ProbeSpec| -> Option<ProbeCfg> {
        let pp = format!("{p}.probes.{name}");
        let mut ok = true;
        let period = s.period.map_or(10_000_000_000, |d| d.as_nanos());
        ck.period(
            &format!("{pp}.period"),
            period,
            "`period`",
            "`period` must be longer than zero",
        );
        ok &= period >= MIN_PERIOD_NS;
        let timeout = s.timeout.map_or(1_000_000_000, |d| d.as_nanos());
        ok &= timeout > 0 && timeout < period;
        if timeout == 0 {
            ck.err(format!("{pp}.timeout"), "`timeout` must be longer than zero");
        } else if timeout >= period {
            ck.err(
                format!("{pp}.timeout"),
                format!(
                    "`timeout` ({}) must be shorter than `period` ({}): one probe of a replica at a time",
                    Duration(timeout),
                    Duration(period)
                ),
            );
        }
        let failure_threshold = s.failure_threshold.unwrap_or(3);
        ok &= failure_threshold > 0;
        if failure_threshold == 0 {
            ck.err(
                format!("{pp}.failure_threshold"),
                "`failure_threshold` must be at least 1",
            );
        }
        let success_threshold = s.success_threshold.unwrap_or(1);
        ok &= success_threshold == 1 || (success_threshold > 1 && name == "readiness");
        if success_threshold == 0 {
            ck.err(
                format!("{pp}.success_threshold"),
                "`success_threshold` must be at least 1",
            );
        } else if success_threshold != 1 && name != "readiness" {
            ck.err(
                format!("{pp}.success_threshold"),
                format!("`success_threshold` must be 1 for a {name} probe (as in Kubernetes); only readiness counts successes"),
            );
        }
        ok.then_some(ProbeCfg {
            period,
            timeout,
            failure_threshold,
            success_threshold,
            initial_delay: s.initial_delay.map_or(0, |d| d.as_nanos()),
        })
    };
    let liveness = spec.liveness.as_ref().and_then(|s| one(ck, "liveness", s));
    let readiness = spec.readiness.as_ref().and_then(|s| one(ck, "readiness", s));
    let startup = spec.startup.as_ref().and_then(|s| one(ck, "startup", s));
    if spec.liveness.is_none() && spec.readiness.is_none() && spec.startup.is_none() {
        ck.err(
            format!("{p}.probes"),
            "`probes` needs at least one of `liveness`, `readiness` or `startup` (`{}` takes Kubernetes' defaults)",
        );
    }
    Some(ProbesCfg {
        liveness,
        readiness,
        startup,
        restart_time: restart_time.map_or(DEFAULT_RESTART_NS, |d| d.as_nanos()),
    })
}

//! What a scenario asks of its output: its `headline:` metrics and its
//! `slo:` objectives name report.json metrics, checked here before the run
//! so that a misspelt name is a clear error, not a silent "-".

use super::Checker;
use crate::scenario::spec::Scenario;

/// Scenario-wide metric names (SPEC §3), plus the derived `error_ratio`.
const TOP: &[&str] = &[
    "requests.offered",
    "requests.completed",
    "requests.failed",
    "requests.rejected",
    "requests.timed_out",
    "requests.in_flight",
    "requests.backlog_at_end",
    "requests.retries",
    "throughput_rps",
    "availability",
    "availability.nines",
    "availability.downtime_s",
    "error_ratio",
    "latency.mean_ms",
    "latency.p50_ms",
    "latency.p90_ms",
    "latency.p95_ms",
    "latency.p99_ms",
    "latency.p999_ms",
    "latency.max_ms",
    "consistency.reads",
    "consistency.stale_reads",
    "consistency.stale_read_ratio",
    "data.lost_writes",
    "data.lost_messages",
    "data.duplicate_writes",
    "sessions.lost",
    "sessions.relogins",
    "cost.instance_hours",
    "cost.total",
    "cost.per_hour",
    "cost.per_month",
    "breakdown.other.mean_ms",
    "breakdown.other.p99_ms",
];

/// Why `name` cannot be a metric of `sc`, if it cannot: a scenario-wide
/// name must be one of [`TOP`]; `clients.NAME.…`, `components.NAME.…` and
/// `breakdown.NAME.…` must name a client or component of the scenario (what
/// follows is not checked: components report many metrics of their own,
/// and per-replica ones such as `components.api[3].utilization`).
pub(crate) fn metric_problem(sc: &Scenario, name: &str) -> Option<String> {
    if TOP.contains(&name) {
        return None;
    }
    for (prefix, names, what) in [
        ("clients.", sc.clients.keys().collect::<Vec<_>>(), "client"),
        ("components.", sc.components.keys().collect(), "component"),
        ("breakdown.", sc.components.keys().collect(), "component"),
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            // Names may hold dots: the longest name that prefixes the rest.
            let found = names.iter().any(|n| {
                rest.strip_prefix(n.as_str())
                    .is_some_and(|t| t.starts_with('.') && t.len() > 1)
            });
            if found {
                return None;
            }
            let known: Vec<&str> = names.iter().map(|n| n.as_str()).take(8).collect();
            return Some(format!(
                "`{name}` names no {what} of this scenario ({what}s are {}); \
                 write `{prefix}NAME.metric`",
                known.join(", ")
            ));
        }
    }
    let near = TOP
        .iter()
        .map(|t| (strsim::osa_distance(t, name), *t))
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, t)| format!(" (did you mean `{t}`?)"))
        .unwrap_or_default();
    Some(format!(
        "`{name}` is not a metric archsim reports{near}: use a report.json name such as \
         `latency.p99_ms`, `availability`, `throughput_rps`, `cost.per_month`, \
         `clients.NAME.availability` or `components.NAME.utilization`"
    ))
}

/// Check `headline:` and `slo:`.
pub(super) fn check(ck: &mut Checker, sc: &Scenario) {
    for (i, m) in sc.headline.iter().enumerate() {
        if let Some(p) = metric_problem(sc, m) {
            ck.err(format!("headline.{i}"), p);
        }
    }
    let Some(slo) = &sc.slo else { return };
    if let Some(a) = slo.availability
        && !(a > 0.0 && a <= 1.0)
    {
        ck.err(
            "slo.availability",
            format!("availability is a fraction above 0 and at most 1 (0.999 for three nines), found {a}"),
        );
    }
    for (i, o) in slo.objectives.iter().enumerate() {
        let p = format!("slo.objectives.{i}");
        if let Some(m) = metric_problem(sc, &o.metric) {
            ck.err(format!("{p}.metric"), m);
        }
        match (o.max, o.min) {
            (Some(_), Some(_)) => ck.err(
                p.clone(),
                "an objective has one bound: `max` (stay at or below) or `min` (stay at or above), not both",
            ),
            (None, None) => ck.err(
                p.clone(),
                "an objective needs a bound: `max: N` (stay at or below) or `min: N` (stay at or above)",
            ),
            _ => {}
        }
        for (k, v) in [("max", o.max), ("min", o.min)] {
            if let Some(v) = v
                && !v.is_finite()
            {
                ck.err(
                    format!("{p}.{k}"),
                    format!("a bound must be a finite number, found {v}"),
                );
            }
        }
    }
}

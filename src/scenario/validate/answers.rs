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
/// `breakdown.NAME.…` must name a client or component of the scenario, and
/// `alerts.NAME.…` one of its alerting rules (what
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
        ("alerts.", sc.alerts.iter().map(|a| &a.name).collect(), "alert"),
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

/// Most columns `sweep.plot.over_time` may list (a chart each).
pub const MAX_OVER_TIME: usize = 8;

/// Why `column` cannot be a time-series column of `sc`, if it cannot: a
/// scenario-wide column (`latency_p99_ms`, …; not `t_s`, the time axis
/// itself) or one of a component's, `NAME.…` or `NAME[i].…`. Which
/// columns a component has depends on its kind and settings: the sweep
/// checks the rest against its points before it runs.
pub(crate) fn column_problem(sc: &Scenario, column: &str) -> Option<String> {
    if column == "t_s" {
        return Some("`t_s` is the time axis of every over_time chart, not a series to draw on it".into());
    }
    if crate::model::RUN_COLUMNS.contains(&column) {
        return None;
    }
    let owned = sc.components.keys().any(|n| {
        column
            .strip_prefix(n.as_str())
            .is_some_and(|t| (t.starts_with('.') || t.starts_with('[')) && t.len() > 1)
    });
    if owned {
        return None;
    }
    let known: Vec<&str> = sc.components.keys().map(|n| n.as_str()).take(8).collect();
    Some(format!(
        "`{column}` is not a time-series column of this scenario: use a column of timeseries.csv, \
         scenario-wide ({}) or a component's, `NAME.replicas`, `NAME.utilization`, `NAME.queue_length` \
         (components are {})",
        crate::model::RUN_COLUMNS[1..].join(", "),
        known.join(", ")
    ))
}

/// Check `sweep.plot.over_time`.
fn over_time(ck: &mut Checker, sc: &Scenario) {
    let Some(plot) = sc.sweep.as_ref().and_then(|s| s.plot.as_ref()) else {
        return;
    };
    if plot.over_time.len() > MAX_OVER_TIME {
        ck.err(
            "sweep.plot.over_time",
            format!(
                "at most {MAX_OVER_TIME} columns (a chart each), found {}",
                plot.over_time.len()
            ),
        );
    }
    for (i, c) in plot.over_time.iter().enumerate() {
        let path = format!("sweep.plot.over_time.{i}");
        if let Some(p) = column_problem(sc, c) {
            ck.err(path, p);
        } else if plot.over_time[..i].contains(c) {
            ck.err(path, format!("`{c}` is listed twice"));
        }
    }
}

/// Check `headline:`, `slo:` and `sweep.plot.over_time`.
pub(super) fn check(ck: &mut Checker, sc: &Scenario) {
    over_time(ck, sc);
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

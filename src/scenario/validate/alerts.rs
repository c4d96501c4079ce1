//! The alerting rules (`alerts:`, `alert_interval:`): names, thresholds and
//! durations, resolved into [`AlertCfg`]; and, once the model is built,
//! each rule's `metric` against the time-series columns the run records
//! (which depend on each component's kind and settings).

use super::{Checker, Problem};
use crate::model::alerts::{AlertCfg, ERROR_RATIO, Source, Threshold};
use crate::model::{Config, World};
use crate::scenario::limits::{MAX_SERIES_ROWS, MIN_PERIOD_NS};
use crate::scenario::spec::Scenario;
use crate::scenario::units::Duration;

/// Most alerting rules in one scenario.
pub const MAX_ALERTS: usize = 100;

/// The rules and their evaluation interval (ns); `interval` is the
/// time-series interval, the default.
pub(super) fn alerts(ck: &mut Checker, sc: &Scenario, interval: u64) -> (Vec<AlertCfg>, u64) {
    let every = match sc.alert_interval {
        Some(d) => {
            ck.period(
                "alert_interval",
                d.as_nanos(),
                "the alert evaluation interval",
                "alert_interval must be longer than zero",
            );
            let evals = sc.duration.as_nanos() / d.as_nanos().max(1);
            if d.as_nanos() >= MIN_PERIOD_NS && evals > MAX_SERIES_ROWS {
                ck.err(
                    "alert_interval",
                    format!(
                        "this {} run would evaluate the alerts {evals} times, and at most {MAX_SERIES_ROWS} \
                         evaluations are allowed: use an alert_interval of at least {}",
                        sc.duration,
                        Duration(sc.duration.as_nanos().div_ceil(MAX_SERIES_ROWS))
                    ),
                );
            }
            d.as_nanos().max(1)
        }
        None => interval.max(1),
    };
    if sc.alerts.len() > MAX_ALERTS {
        ck.err(
            "alerts",
            format!("at most {MAX_ALERTS} alerting rules, found {}", sc.alerts.len()),
        );
    }
    let mut out = Vec::new();
    for (i, a) in sc.alerts.iter().enumerate().take(MAX_ALERTS) {
        let p = format!("alerts.{i}");
        // The name heads metrics (`alerts.NAME.fired`) and chart labels.
        if let Some(m) = crate::scenario::limits::name_problem(&a.name, &[',', '"', '.']) {
            ck.err(
                format!("{p}.name"),
                format!("{m} (it names the metrics alerts.NAME.*)"),
            );
        } else if let Some(j) = sc.alerts[..i].iter().position(|b| b.name == a.name) {
            ck.err(
                format!("{p}.name"),
                format!(
                    "alerts.{j} already has the name `{}`: each alert needs its own",
                    a.name
                ),
            );
        }
        let threshold = match (a.above, a.below) {
            (Some(t), None) => Threshold::Above(t),
            (None, Some(t)) => Threshold::Below(t),
            (Some(_), Some(_)) => {
                ck.err(
                    p.clone(),
                    "give `above` or `below`, not both (two conditions are two alerts)",
                );
                continue;
            }
            (None, None) => {
                ck.err(
                    p.clone(),
                    "an alert needs a threshold: `above: X` (fires while the metric is greater) \
                     or `below: X` (while it is less)",
                );
                continue;
            }
        };
        let t = match threshold {
            Threshold::Above(t) | Threshold::Below(t) => t,
        };
        if !t.is_finite() {
            let field = if a.above.is_some() { "above" } else { "below" };
            ck.err(
                format!("{p}.{field}"),
                format!("a threshold must be a finite number, found {t}"),
            );
        }
        if a.metric == "t_s" {
            ck.err(
                format!("{p}.metric"),
                "`t_s` is the time of each row, not a metric to alert on",
            );
        }
        if let Some(s) = &a.severity
            && let Some(m) = crate::scenario::limits::name_problem(s, &[])
        {
            ck.err(format!("{p}.severity"), m);
        }
        let hold = a.hold.unwrap_or(Duration::ZERO);
        let (rel, word) = match threshold {
            Threshold::Above(_) => (">", t),
            Threshold::Below(_) => ("<", t),
        };
        let mut condition = format!("{} {rel} {word}", a.metric);
        if !hold.is_zero() {
            condition.push_str(&format!(" for {hold}"));
        }
        out.push(AlertCfg {
            name: a.name.clone(),
            metric: a.metric.clone(),
            threshold,
            hold: hold.as_nanos(),
            severity: a.severity.clone(),
            condition,
        });
    }
    (out, every)
}

/// Each rule's `metric` against the columns a run of `cfg` records: a
/// located problem for one it does not record, listing those it does.
pub(super) fn check_metrics(sc: &Scenario, cfg: &Config) -> Vec<Problem> {
    if cfg.alerts.is_empty() {
        return Vec::new();
    }
    let columns: Vec<String> = World::new(cfg, sc.seed).columns().to_vec();
    let mut problems = Vec::new();
    for (i, a) in cfg.alerts.iter().enumerate() {
        if a.metric == "t_s" || Source::find(&a.metric, &columns).is_some() {
            continue;
        }
        let mut known: Vec<&str> = columns.iter().skip(1).map(String::as_str).collect();
        known.push(ERROR_RATIO);
        let near = known
            .iter()
            .map(|k| (strsim::osa_distance(k, &a.metric), *k))
            .min()
            .filter(|(d, _)| *d <= 3)
            .map(|(_, k)| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default();
        const SHOWN: usize = 30;
        let mut list = known
            .iter()
            .take(SHOWN)
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if known.len() > SHOWN {
            list.push_str(&format!(" and {} more", known.len() - SHOWN));
        }
        problems.push(Problem {
            path: format!("alerts.{i}.metric"),
            message: format!(
                "this run records no time-series column `{}`{near}: an alert watches one of {list}",
                a.metric
            ),
            key: None,
        });
    }
    problems
}

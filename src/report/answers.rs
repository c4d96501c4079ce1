//! What answers a scenario's question, as text and HTML: the SLO verdicts
//! and the headline metrics, each value in its unit with its interval. The
//! run summary, the run page, the sweep table and `compare` all use these,
//! so a metric reads the same everywhere.

use crate::math;
use std::fmt::Write;

use super::html::escape;
use crate::run::slo::{SloResult, Verdict, lookup, overall};
use crate::run::{MetricValue, Report};
use crate::scenario::spec::Goal;

/// How a value of `metric` reads: a percentage for availability and
/// ratios, milliseconds for `*_ms`, dollars for cost, else four figures.
pub fn fmt_metric(metric: &str, v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if is_fraction(metric) {
        let pct = v * 100.0;
        // Enough digits to tell 99.9% from 99.95%.
        let digits = if (99.0..100.0).contains(&pct) || (pct > 0.0 && pct <= 1.0) {
            3
        } else {
            1
        };
        format!("{pct:.digits$}%")
    } else if metric.ends_with("_ms") {
        format!("{} ms", super::fmt4(v))
    } else if metric.ends_with("_rps") {
        format!("{} req/s", super::fmt4(v))
    } else if metric.starts_with("cost.") && metric != "cost.instance_hours" {
        format!("${}", super::fmt4(v))
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        // Counts: stale reads, lost writes, scale events.
        format!("{}", v as i64)
    } else {
        super::fmt4(v)
    }
}

/// A metric shown as a percentage.
fn is_fraction(metric: &str) -> bool {
    super::metrics::unit_of(metric) == super::metrics::Unit::Fraction
}

/// A half-width in the metric's unit, to two significant figures (an
/// interval's own precision), without the unit's sign for money.
fn fmt_half(metric: &str, h: f64) -> String {
    let scaled = if is_fraction(metric) { h * 100.0 } else { h };
    let t = sig2(scaled);
    if is_fraction(metric) {
        format!("{t}%")
    } else if metric.ends_with("_ms") {
        format!("{t} ms")
    } else if metric.ends_with("_rps") {
        format!("{t} req/s")
    } else {
        t
    }
}

/// Two significant figures, plain notation.
fn sig2(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let digits = (1 - math::log10(v.abs()).floor() as i32).clamp(0, 8) as usize;
    format!("{v:.digits$}")
}

/// `value ±half` in the metric's unit (the value alone without an interval).
pub fn fmt_value(metric: &str, m: &MetricValue, replications: u32) -> String {
    match m.ci95 {
        // A zero half-width (every replication agreed) adds nothing.
        Some(h) if replications > 1 && h.is_finite() && h > 0.0 => {
            format!("{} ±{}", fmt_metric(metric, m.value), fmt_half(metric, h))
        }
        _ => fmt_metric(metric, m.value),
    }
}

/// The objective as a phrase: `latency.p99_ms ≤ 100 ms`.
pub fn objective_text(r: &SloResult) -> String {
    let rel = match r.goal {
        Goal::AtMost => "≤",
        Goal::AtLeast => "≥",
    };
    format!("{} {rel} {}", r.metric, fmt_metric(&r.metric, r.target))
}

/// The measured side of a verdict: `61.2 ms ±3.1 ms`, or why there is none.
pub fn measured_text(r: &SloResult) -> String {
    match r.value {
        None => "not measured by this run".into(),
        Some(v) => match r.ci95 {
            Some(h) if r.interval => format!("{} ±{}", fmt_metric(&r.metric, v), fmt_half(&r.metric, h)),
            _ => format!("{} (1 replication: no interval)", fmt_metric(&r.metric, v)),
        },
    }
}

/// The SLO block of the summary: an overall line, then one per objective.
/// Empty without objectives.
pub fn slo_lines(results: &[SloResult], replications: u32) -> Vec<String> {
    let Some(all) = overall(results) else {
        return Vec::new();
    };
    let met = results.iter().filter(|r| r.verdict == Verdict::Pass).count();
    let mut head = format!("SLO {}: {met} of {} objectives met", all.word(), results.len());
    if replications > 1 {
        head.push_str(" (pass or fail only when the whole 95% interval is on one side)");
    } else {
        head.push_str(" (1 replication: judged on the estimates; use --replications 5 for intervals)");
    }
    let mut out = vec![head];
    for r in results {
        out.push(format!(
            "  {:<9}  {}   measured {}",
            r.verdict.word(),
            objective_text(r),
            measured_text(r)
        ));
    }
    out
}

/// The headline block of the summary: one aligned line per metric.
pub fn headline_lines(r: &Report) -> Vec<String> {
    let w = r.headline.iter().map(|m| m.chars().count()).max().unwrap_or(0);
    r.headline
        .iter()
        .map(|m| {
            let v = lookup(&r.metrics, m)
                .map(|v| fmt_value(m, &v, r.replications))
                .unwrap_or_else(|| "- (not measured by this run)".into());
            format!("  {m:<w$}  {v}")
        })
        .collect()
}

/// The CSS class of a verdict's badge.
pub fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Uncertain | Verdict::NoData => "uncertain",
    }
}

/// A verdict badge for a page.
pub fn badge_html(v: Verdict) -> String {
    format!("<span class=\"verdict {}\">{}</span>", verdict_class(v), v.word())
}

/// The run page's SLO section: the overall badge and a row per objective.
pub fn slo_html(results: &[SloResult], replications: u32) -> String {
    let Some(all) = overall(results) else {
        return String::new();
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<h2 id=\"slo\">SLO {}</h2>\n<p>{}</p>\n<table>\n<tr><th class=\"l\">verdict</th>\
         <th class=\"l\">objective</th><th class=\"l\">measured</th></tr>",
        badge_html(all),
        if replications > 1 {
            "Pass or fail only when the whole 95% interval lies on one side of the target; uncertain otherwise."
        } else {
            "One replication has no interval: each verdict rests on the estimate alone (run with --replications 5 for intervals)."
        }
    );
    for r in results {
        let _ = writeln!(
            s,
            "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td></tr>",
            badge_html(r.verdict),
            escape(&objective_text(r)),
            escape(&measured_text(r))
        );
    }
    s.push_str("</table>\n");
    s
}

/// The run page's headline table: the metrics the scenario is about.
pub fn headline_html(r: &Report) -> String {
    if r.headline.is_empty() {
        return String::new();
    }
    // Beside each metric queueing theory predicts, the prediction (see
    // `Report::theory`; throughput against the offered load).
    let predicted = |m: &str| match m {
        "throughput_rps" => r.theory.get("offered_rps").copied(),
        m => r.theory.get(m).copied(),
    };
    let theory = r.headline.iter().any(|m| predicted(m).is_some());
    let mut s = String::from(
        "<h2 id=\"headline\">Headline</h2>\n<table class=\"headline\">\n\
         <tr><th class=\"l\">metric</th><th>value</th>",
    );
    if theory {
        s.push_str("<th class=\"theory\">theory</th>");
    }
    s.push_str("</tr>\n");
    for m in &r.headline {
        let sim = lookup(&r.metrics, m);
        let v = sim
            .as_ref()
            .map(|v| fmt_value(m, v, r.replications))
            .unwrap_or_else(|| "-".into());
        let _ = write!(
            s,
            "<tr><td class=\"l\">{} <code>{}</code></td><td>{}</td>",
            escape(&super::metrics::describe(m).name),
            escape(m),
            escape(&v)
        );
        if theory {
            match predicted(m) {
                Some(t) => s.push_str(&super::html::theory_cell_text(
                    m,
                    sim.as_ref(),
                    t,
                    &fmt_metric(m, t),
                )),
                None => s.push_str("<td class=\"theory\"></td>"),
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s
}

/// Seconds as a time on the run's clock: `151 s`, `12.5 s`.
fn at_s(v: f64) -> String {
    let t = super::fmt4(v);
    let t = if t.contains('.') && !t.contains('e') {
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        t
    };
    format!("{t} s")
}

/// Episodes listed per alert in the summary before "and N more".
const EPISODES_SHOWN: usize = 3;

/// The alerts block of the summary: one line per alerting rule (its
/// condition, when it fired and resolved, its detection time). Empty
/// without rules. With several replications the times are the first's.
pub fn alert_lines(r: &Report) -> Vec<String> {
    if r.alerts.is_empty() {
        return Vec::new();
    }
    let mut out = vec![if r.replications > 1 {
        "Alerts (times of replication 1; alerts.NAME.* metrics average all)".to_string()
    } else {
        "Alerts".to_string()
    }];
    let w = r.alerts.iter().map(|a| a.name.chars().count()).max().unwrap_or(0);
    for a in &r.alerts {
        let sev = a.severity.as_ref().map(|s| format!(" [{s}]")).unwrap_or_default();
        let mut line = format!("  {:<w$}  {}{sev}: ", a.name, a.condition);
        if a.episodes.is_empty() {
            line.push_str("never fired");
        } else {
            let eps: Vec<String> = a
                .episodes
                .iter()
                .take(EPISODES_SHOWN)
                .map(|e| match e.resolved_at_s {
                    Some(t) => format!("fired at {}, resolved at {}", at_s(e.fired_at_s), at_s(t)),
                    None => format!("fired at {}, still firing at the end", at_s(e.fired_at_s)),
                })
                .collect();
            line.push_str(&eps.join("; "));
            let fired = r
                .value(&format!("alerts.{}.fired", a.name))
                .map(|v| v.round() as usize)
                .unwrap_or(a.episodes.len());
            if r.replications == 1 && fired > EPISODES_SHOWN {
                line.push_str(&format!("; and {} more", fired - EPISODES_SHOWN));
            }
            if let Some(d) = a.detection_s {
                line.push_str(&format!("; detection {} after the fault", at_s(d)));
            }
        }
        out.push(line);
    }
    out
}

/// The run page's alerts section: a row per firing episode (or one saying
/// the alert never fired). Empty without rules.
pub fn alerts_html(r: &Report) -> String {
    if r.alerts.is_empty() {
        return String::new();
    }
    let mut s = String::from("<h2 id=\"alerts\">Alerts</h2>\n");
    if r.replications > 1 {
        s.push_str("<p>Times of the first replication; the <code>alerts.NAME.*</code> metrics average every replication.</p>\n");
    }
    s.push_str(
        "<table>\n<tr><th class=\"l\">alert</th><th class=\"l\">condition</th>\
         <th>fired at</th><th>resolved at</th><th>detection</th></tr>\n",
    );
    for a in &r.alerts {
        let name = match &a.severity {
            Some(sev) => format!("{} [{}]", escape(&a.name), escape(sev)),
            None => escape(&a.name),
        };
        if a.episodes.is_empty() {
            let _ = writeln!(
                s,
                "<tr><td class=\"l\">{name}</td><td class=\"l\">{}</td><td>never fired</td><td></td><td></td></tr>",
                escape(&a.condition)
            );
            continue;
        }
        for (i, e) in a.episodes.iter().take(10).enumerate() {
            let detection = match (i, a.detection_s) {
                (0, Some(d)) => at_s(d),
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "<tr><td class=\"l\">{name}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&a.condition),
                at_s(e.fired_at_s),
                e.resolved_at_s.map(at_s).unwrap_or_else(|| "still firing".into()),
                detection
            );
        }
    }
    s.push_str("</table>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(fmt_metric("availability", 0.9995), "99.950%");
        assert_eq!(fmt_metric("clients.web.availability", 0.5), "50.0%");
        assert_eq!(fmt_metric("latency.p99_ms", 61.234), "61.23 ms");
        assert_eq!(fmt_metric("cost.per_month", 216.0), "$216.0");
        assert_eq!(fmt_metric("throughput_rps", 99.87), "99.87 req/s");
        assert_eq!(fmt_metric("components.c.hit_ratio", 0.8), "80.0%");
        assert_eq!(
            fmt_value(
                "latency.p99_ms",
                &MetricValue {
                    value: 50.0,
                    ci95: Some(2.5)
                },
                5
            ),
            "50.00 ms ±2.5 ms"
        );
    }
}

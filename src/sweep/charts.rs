//! The charts of a sweep: each metric against a varied parameter, one line
//! per value of another, with 95% error bars, SLO lines and, on a metric
//! with an objective, each point marked by its verdict.

use serde_json::Value;

use crate::report::plot::{
    Axis, ChartFile, Dash, ErrBar, Line, MUTED, Marker, Plot, Rule, category_axis, color, fmt_tick,
    linear_axis, log_axis, metric_label, trim_zeros, wants_log,
};
use crate::report::value_label;
use crate::run::slo::{Verdict, overall};
use crate::run::{DEFAULT_HEADLINE, PointReport, SweepReport};
use crate::scenario::spec::PlotSpec;

/// The short unit of an SLO label.
fn slo_text(metric: &str, value: f64, scale: f64) -> String {
    let v = value * scale;
    let num = trim_zeros(format!("{v:.4}"));
    if scale == 100.0 {
        format!("SLO {num}%")
    } else if metric.ends_with("_ms") {
        format!("SLO {num} ms")
    } else {
        format!("SLO {num}")
    }
}

/// How a parameter's values sit on the x axis.
enum XValues {
    /// Numbers (after stripping a common unit), and the unit.
    Numeric(Vec<f64>, String),
    /// Labels in grid order.
    Categorical(Vec<String>),
}

/// `300/s` → (300, "/s"), `2.5 GB` → (2.5, "GB"), `4` → (4, "").
fn split_unit(s: &str) -> Option<(f64, String)> {
    let s = s.trim();
    let end = s
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_digit() || *c == '.' || ((*c == '-' || *c == '+') && *i == 0))
        .map(|(i, c)| i + c.len_utf8())
        .last()?;
    let n: f64 = s[..end].parse().ok()?;
    Some((n, s[end..].trim().to_string()))
}

/// Numbers when every value is one (a common unit stripped: rates to /s,
/// durations to ms or s), else categories.
fn x_values(values: &[Value]) -> XValues {
    use crate::scenario::units::{Duration, Rate};
    let texts: Vec<String> = values.iter().map(value_label).collect();
    if let Some(nums) = values
        .iter()
        .map(|v| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        })
        .collect::<Option<Vec<f64>>>()
    {
        return XValues::Numeric(nums, String::new());
    }
    if let Some(parts) = texts.iter().map(|t| split_unit(t)).collect::<Option<Vec<_>>>()
        && parts.windows(2).all(|w| w[0].1 == w[1].1)
    {
        let unit = parts.first().map(|p| p.1.clone()).unwrap_or_default();
        return XValues::Numeric(parts.into_iter().map(|p| p.0).collect(), unit);
    }
    if let Some(rates) = texts
        .iter()
        .map(|t| t.contains('/').then(|| t.parse::<Rate>().ok()).flatten())
        .collect::<Option<Vec<Rate>>>()
    {
        return XValues::Numeric(rates.iter().map(|r| r.per_sec()).collect(), "/s".into());
    }
    if let Some(ds) = texts
        .iter()
        .map(|t| t.parse::<Duration>().ok())
        .collect::<Option<Vec<Duration>>>()
    {
        let ms: Vec<f64> = ds.iter().map(|d| d.as_millis_f64()).collect();
        if ms.iter().all(|m| *m >= 1000.0) {
            return XValues::Numeric(ms.iter().map(|m| m / 1000.0).collect(), "s".into());
        }
        return XValues::Numeric(ms, "ms".into());
    }
    XValues::Categorical(texts)
}

/// A point's verdict on the objectives on `metric`, if it has any.
fn verdict_on(p: &PointReport, metric: &str) -> Option<Verdict> {
    let on: Vec<_> = p.slo.iter().filter(|r| r.metric == metric).cloned().collect();
    overall(&on)
}

/// The sweep's charts: for each metric of `plot.y` (default the report's
/// headline metrics when the scenario names some, else latency p99,
/// throughput, availability), the metric against `plot.x` (default the
/// first varied parameter), one line per value of `plot.series` (default
/// the second), means with 95% error bars, and a dashed line for each SLO
/// target on that metric (`slo` as from `SloSpec::targets`). Where a point
/// was judged on an objective on the metric (`PointReport::slo`), its
/// marker says the verdict: a dot for a pass, a × for a fail, an open
/// diamond when uncertain. Parameters beyond x and series are held at
/// their first value.
pub fn sweep_charts(report: &SweepReport, plot: Option<&PlotSpec>, slo: &[(String, f64)]) -> Vec<ChartFile> {
    let params: Vec<&String> = report.vary.keys().collect();
    let x_param = plot
        .and_then(|p| p.x.clone())
        .filter(|x| report.vary.contains_key(x))
        .or_else(|| params.first().map(|s| s.to_string()));
    let Some(x_param) = x_param else {
        return Vec::new();
    };
    let series_param = plot
        .and_then(|p| p.series.clone())
        .filter(|s| report.vary.contains_key(s) && *s != x_param)
        .or_else(|| params.iter().find(|p| ***p != x_param).map(|s| s.to_string()));
    let metrics: Vec<String> = match plot.map(|p| &p.y) {
        Some(y) if !y.is_empty() => y.clone(),
        _ if !report.headline.is_empty() && report.headline.iter().ne(DEFAULT_HEADLINE.iter()) => {
            report.headline.clone()
        }
        _ => ["latency.p99_ms", "throughput_rps", "availability"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    // Other parameters are held at their first value.
    let fixed: Vec<(&String, &Value)> = report
        .vary
        .iter()
        .filter(|(k, _)| **k != x_param && Some(*k) != series_param.as_ref())
        .filter_map(|(k, v)| Some((k, v.first()?)))
        .collect();
    let points: Vec<&PointReport> = report
        .points
        .iter()
        .filter(|p| fixed.iter().all(|(k, v)| p.params.get(*k) == Some(*v)))
        .collect();

    let x_vals = report.vary.get(&x_param).cloned().unwrap_or_default();
    let (x_axis_base, x_pos): (Axis, Vec<f64>) = match x_values(&x_vals) {
        XValues::Numeric(nums, unit) => {
            let desc = if unit.is_empty() {
                x_param.clone()
            } else {
                format!("{x_param} ({unit})")
            };
            let lo = nums.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = nums.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let pad = ((hi - lo) * 0.05).max(if hi == lo { hi.abs() * 0.1 + 1.0 } else { 0.0 });
            let integer = nums.iter().all(|n| n.fract() == 0.0) && hi - lo <= 12.0;
            let mut a = linear_axis(&desc, lo - pad, hi + pad, 7, false, integer);
            if integer {
                // Integer parameters: a tick at each value, none between.
                a.ticks = nums.iter().map(|n| (*n, fmt_tick(*n, 0))).collect();
            }
            (a, nums)
        }
        XValues::Categorical(labels) => (
            category_axis(&x_param, &labels),
            (0..labels.len()).map(|i| i as f64).collect(),
        ),
    };
    let x_of = |v: &Value| -> Option<f64> { x_vals.iter().position(|x| x == v).map(|i| x_pos[i]) };
    let series_vals: Vec<Option<&Value>> = match &series_param {
        Some(s) => report
            .vary
            .get(s)
            .map(|v| v.iter().map(Some).collect())
            .unwrap_or_default(),
        None => vec![None],
    };

    let mut out = Vec::new();
    for metric in &metrics {
        let (ydesc, scale) = metric_label(metric);
        let n_series = series_vals.len();
        let span = x_axis_base.hi - x_axis_base.lo;
        let mut lines = Vec::new();
        let mut errbars = Vec::new();
        let mut ys: Vec<f64> = Vec::new();
        let mut means: Vec<f64> = Vec::new();
        for (si, sv) in series_vals.iter().enumerate() {
            let mut pts: Vec<(f64, f64, Marker, Option<f64>)> = points
                .iter()
                .filter(|p| match (sv, &series_param) {
                    (Some(v), Some(s)) => p.params.get(s) == Some(*v),
                    _ => true,
                })
                .filter_map(|p| {
                    let x = x_of(p.params.get(&x_param)?)?;
                    let m = p.metrics.get(metric)?;
                    let unstable = p.notes.iter().any(|n| n.starts_with("UNSTABLE"));
                    let marker = match verdict_on(p, metric) {
                        Some(Verdict::Fail) => Marker::Cross,
                        Some(Verdict::Uncertain | Verdict::NoData) => Marker::Diamond,
                        Some(Verdict::Pass) | None if unstable => Marker::Ring,
                        Some(Verdict::Pass) | None => Marker::Dot,
                    };
                    Some((x, m.value * scale, marker, m.ci95.map(|c| c * scale)))
                })
                .filter(|p| p.1.is_finite())
                .collect();
            if pts.is_empty() {
                continue;
            }
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            // Lines side by side at one x would hide each other's error
            // bars: nudge each series a little.
            let dodge = if n_series > 1 {
                span * 0.008 * (si as f64 - (n_series as f64 - 1.0) / 2.0)
            } else {
                0.0
            };
            let c = color(si);
            for (x, y, _, ci) in &pts {
                means.push(*y);
                if let Some(ci) = ci.filter(|c| *c > 0.0 && c.is_finite()) {
                    // These metrics are never negative: nor is an interval.
                    let lo = if *y >= 0.0 { (y - ci).max(0.0) } else { y - ci };
                    ys.push(lo);
                    ys.push(y + ci);
                    errbars.push(ErrBar {
                        x: x + dodge,
                        lo,
                        hi: y + ci,
                        color: c,
                    });
                }
            }
            let label = match (sv, &series_param) {
                (Some(v), Some(_)) => value_label(v),
                _ => metric.clone(),
            };
            lines.push(Line {
                label,
                color: c,
                points: pts.iter().map(|(x, y, _, _)| (x + dodge, *y)).collect(),
                markers: pts.iter().map(|(x, y, u, _)| (x + dodge, *y, *u)).collect(),
                dash: Dash::Solid,
                width: 2,
            });
        }
        if lines.is_empty() {
            continue;
        }
        let rules: Vec<Rule> = slo
            .iter()
            .filter(|(m, _)| m == metric)
            .map(|(m, v)| Rule {
                y: v * scale,
                label: slo_text(m, *v, scale),
            })
            .collect();
        means.extend(rules.iter().map(|r| r.y));
        ys.extend(means.iter().copied());
        let y = if let Some((lo, hi)) = wants_log(means.iter().copied())
            && means.iter().all(|v| *v > 0.0)
        {
            let hi = ys.iter().copied().fold(hi, f64::max);
            let lo = ys.iter().copied().filter(|v| *v > 0.0).fold(lo, f64::min);
            log_axis(&format!("{ydesc}, log scale"), lo, hi)
        } else if scale == 100.0 {
            let min = ys.iter().copied().fold(100.0, f64::min);
            let max = ys.iter().copied().fold(0.0, f64::max);
            let lo = (min - (max - min).max(0.5) * 0.1).max(0.0);
            let mut a = linear_axis(&ydesc, lo, max.max(min + 0.01), 5, true, false);
            if max <= 100.0 {
                a.ticks.retain(|(v, _)| *v <= 100.0 + 1e-9);
                a.hi = a.hi.min(100.0 + (100.0 - a.lo) * 0.03);
            }
            a
        } else {
            let max = ys.iter().copied().fold(0.0, f64::max);
            let min = ys.iter().copied().fold(0.0, f64::min);
            linear_axis(&ydesc, min, max, 6, true, false)
        };
        let slug: String = metric
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let title = format!("{} by {}", ydesc.split(" (").next().unwrap_or(metric), x_param);
        let mut p = Plot::new(&format!("sweep-{slug}.svg"), &title, x_axis_base.clone(), y);
        let reps: Vec<u32> = points.iter().map(|p| p.replications).collect();
        let (rmin, rmax) = (
            reps.iter().copied().min().unwrap_or(0),
            reps.iter().copied().max().unwrap_or(0),
        );
        let mut sub = if rmin == rmax {
            format!("mean of {rmin} replication{}", if rmin == 1 { "" } else { "s" })
        } else {
            format!("mean of {rmin}–{rmax} replications")
        };
        if !errbars.is_empty() {
            sub.push_str(", bars: 95% interval");
        }
        if lines
            .iter()
            .any(|l| l.markers.iter().any(|m| m.2 == Marker::Ring))
        {
            sub.push_str(", open circle: UNSTABLE");
        }
        for (k, v) in &fixed {
            sub.push_str(&format!(", {k}={}", value_label(v)));
        }
        p.subtitle = Some(sub);
        p.legend_title = series_param.as_ref().map(|s| format!("{s}:"));
        p.lines = lines;
        p.errbars = errbars;
        p.rules = rules;
        if points.iter().any(|pt| verdict_on(pt, metric).is_some()) {
            p.marker_key_title = Some("SLO verdict:".into());
            p.marker_key = vec![
                ("pass".into(), MUTED, Marker::Dot),
                ("fail".into(), MUTED, Marker::Cross),
                ("uncertain".into(), MUTED, Marker::Diamond),
            ];
        }
        if let Some(c) = p.render() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_stripped_from_parameter_values() {
        let v = |s: &str| Value::String(s.into());
        match x_values(&[v("150/s"), v("300/s")]) {
            XValues::Numeric(n, u) => assert_eq!((n, u.as_str()), (vec![150.0, 300.0], "/s")),
            XValues::Categorical(_) => panic!("numeric expected"),
        }
        match x_values(&[v("500ms"), v("2s")]) {
            XValues::Numeric(n, u) => assert_eq!((n, u.as_str()), (vec![500.0, 2000.0], "ms")),
            XValues::Categorical(_) => panic!("numeric expected"),
        }
        match x_values(&[v("round_robin"), v("random")]) {
            XValues::Categorical(c) => assert_eq!(c, ["round_robin", "random"]),
            XValues::Numeric(..) => panic!("categorical expected"),
        }
        match x_values(&[Value::from(2), Value::from(4)]) {
            XValues::Numeric(n, u) => assert_eq!((n, u.as_str()), (vec![2.0, 4.0], "")),
            XValues::Categorical(_) => panic!("numeric expected"),
        }
    }
}

//! The charts of a sweep: each metric against a varied parameter, one line
//! per value of another (grouped bars when the parameter is a category),
//! with 95% error bars, SLO lines, explain's prediction beside the
//! simulation and, on a metric with an objective, each point marked by its
//! verdict.

use plotters::style::RGBColor;
use serde_json::Value;

use crate::report::metrics::{Unit, describe};
use crate::report::plot::{
    Axis, Bar, CategoryLabels, ChartFile, Dash, ErrBar, Line, MUTED, Marker, OffScale, Plot, Rule, Swatch,
    color, fitted_category_axis, fmt_tick, fmt_value, linear_axis, log_axis, metric_label, nines, nines_axis,
    trim_zeros, wants_log,
};
use crate::report::value_label;
use crate::run::slo::{Verdict, overall};
use crate::run::{DEFAULT_HEADLINE, PointReport, SweepReport};
use crate::scenario::spec::PlotSpec;

/// The short unit of an SLO label.
pub(crate) fn slo_text(metric: &str, value: f64, scale: f64) -> String {
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
    if let Some(parts) = texts
        .iter()
        .map(|t| super::grid::split_unit(t))
        .collect::<Option<Vec<_>>>()
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

/// One point of a series, in the metric's shown unit (% for fractions).
struct Pt {
    x: f64,
    y: f64,
    ci: Option<f64>,
    marker: Marker,
    /// explain's prediction at this point, if it made one.
    theory: Option<f64>,
}

/// How a chart's y axis maps values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum YScale {
    /// Linear from 0 (or from the lowest value, when one is negative).
    Linear,
    /// Linear from 0 up to about this value; the few values far above it
    /// are marked at the top edge with their value written.
    Clipped(f64),
    /// Logarithmic.
    Log,
    /// Availability in nines (see `plot::nines_axis`).
    Nines,
}

fn is_availability(metric: &str) -> bool {
    metric == "availability" || metric.ends_with(".availability")
}

/// Whether more than half of `values` would sit in the bottom 5% of a
/// linear axis from 0 to their largest: a few large values flatten the
/// rest into the floor.
fn squeezed(values: &[f64]) -> bool {
    let hi = values.iter().copied().fold(0.0, f64::max);
    let low = values.iter().filter(|v| **v < 0.05 * hi).count();
    hi > 0.0 && low * 2 > values.len()
}

/// Where to clip an axis whose values fall in two groups: the largest
/// value below the widest gap between consecutive values (sorted), when
/// that gap is a factor of 10 or more and fewer than half the values lie
/// above it (overloaded points whose latency grows with the run), and the
/// values below it are not themselves squeezed.
pub(crate) fn clip_cap(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    v.sort_by(f64::total_cmp);
    let (i, ratio) = v
        .windows(2)
        .enumerate()
        .map(|(i, w)| (i, w[1] / w[0]))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let above = v.len() - i - 1;
    (ratio >= 10.0 && above * 2 < values.len() && !squeezed(&v[..=i])).then(|| v[i])
}

/// The y scale of a chart of `means` (in the shown unit), chosen so that
/// the axis neither exaggerates nor hides the differences:
/// - an availability whose values all lie at 90% or above, not all 100%,
///   is drawn in nines: from 0 a linear axis would crowd them into its top
///   tenth, and from 90% it would exaggerate;
/// - otherwise a linear axis from 0 (every metric the table calls
///   zero-based is a magnitude; fractions run from 0%), unless more than
///   half of the points would sit in its bottom 5% ([`squeezed`]);
/// - then, when a few values are far above the rest ([`clip_cap`]), the
///   axis stops above the rest and those values are marked at its top
///   edge, their value written: batching's 15 and 27 ms stay apart instead
///   of being flattened by an overloaded point's minutes (lines only: a
///   bar's length is its value);
/// - else, when the values span more than two decades, a log axis (never
///   for bars, whose length must be proportional, nor for fractions);
/// - else linear from 0 after all.
pub(crate) fn y_scale(metric: &str, unit: Unit, means: &[f64], bars: bool) -> YScale {
    if is_availability(metric)
        && !means.is_empty()
        && means.iter().all(|v| *v >= 90.0)
        && means.iter().any(|v| *v < 100.0 - 1e-9)
    {
        return YScale::Nines;
    }
    if !squeezed(means) {
        return YScale::Linear;
    }
    // Bars must be as long as their values: never clipped (a policy with
    // 14k stale reads beside ones with 4 is the lesson, not an outlier).
    if !bars && let Some(cap) = clip_cap(means) {
        return YScale::Clipped(cap);
    }
    if !bars
        && unit != Unit::Fraction
        && means.iter().all(|v| *v > 0.0)
        && wants_log(means.iter().copied()).is_some()
    {
        return YScale::Log;
    }
    YScale::Linear
}

/// A value written over an off-scale mark: three significant figures, in
/// thousands or millions when large, with its unit.
pub(crate) fn off_scale_label(v: f64, unit: Unit) -> String {
    let n = if v >= 1e6 {
        format!("{}M", trim_zeros(format!("{:.1}", v / 1e6)))
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else {
        fmt_value(v)
    };
    match unit.label() {
        "" | "%" | "$" => n,
        u => format!("{n} {u}"),
    }
}

/// The sweep's charts: for each metric of `plot.y` (default the report's
/// headline metrics when the scenario names some, else latency p99,
/// throughput, availability), the metric against `plot.x` (default the
/// first varied parameter), one line per value of `plot.series` (default
/// the second), means with 95% error bars, and a dashed line for each SLO
/// target on that metric (`slo` as from `SloSpec::targets`). A categorical
/// x (non-numeric values, or a parameter listed in `plot.categorical`) is
/// drawn as grouped bars, one group per category and one bar per series
/// value, joined by no line. Where a point was judged on an objective on
/// the metric (`PointReport::slo`), its marker says the verdict: a dot for
/// a pass, a × for a fail, an open diamond when uncertain. Where points
/// carry explain's prediction of the metric (`PointReport::theory`), it is
/// drawn beside them as a thin dashed line (a dashed tick across each
/// bar). The y axis is chosen by [`y_scale`]. Parameters beyond x and
/// series are held at their first value.
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
    let named_categorical = plot.is_some_and(|p| p.categorical.contains(&x_param));
    let xv = if named_categorical {
        XValues::Categorical(x_vals.iter().map(value_label).collect())
    } else {
        x_values(&x_vals)
    };
    let (x_axis_base, x_pos, x_labels): (Axis, Vec<f64>, Option<CategoryLabels>) = match xv {
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
            (a, nums, None)
        }
        XValues::Categorical(labels) => {
            let (a, how) = fitted_category_axis(&x_param, &labels);
            (a, (0..labels.len()).map(|i| i as f64).collect(), Some(how))
        }
    };
    let bars = x_labels.is_some();
    let x_of = |v: &Value| -> Option<f64> { x_vals.iter().position(|x| x == v).map(|i| x_pos[i]) };
    let series_vals: Vec<Option<&Value>> = match &series_param {
        Some(s) => report
            .vary
            .get(s)
            .map(|v| v.iter().map(Some).collect())
            .unwrap_or_default(),
        None => vec![None],
    };
    let n_series = series_vals.len().max(1);

    let mut out = Vec::new();
    for metric in &metrics {
        let desc = describe(metric);
        let (ydesc, scale) = metric_label(metric);
        // Each series' points, in the shown unit.
        let mut series: Vec<(usize, String, RGBColor, Vec<Pt>)> = Vec::new();
        for (si, sv) in series_vals.iter().enumerate() {
            let mut pts: Vec<Pt> = points
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
                    Some(Pt {
                        x,
                        y: m.value * scale,
                        ci: m.ci95.map(|c| c * scale).filter(|c| *c > 0.0 && c.is_finite()),
                        marker,
                        theory: p.theory.get(metric).map(|t| t * scale).filter(|t| t.is_finite()),
                    })
                })
                .filter(|p| p.y.is_finite())
                .collect();
            if pts.is_empty() {
                continue;
            }
            pts.sort_by(|a, b| a.x.total_cmp(&b.x));
            let label = match (sv, &series_param) {
                (Some(v), Some(_)) => value_label(v),
                _ => metric.clone(),
            };
            // Colours follow the series' place in the file, drawn or not.
            series.push((si, label, color(si), pts));
        }
        if series.is_empty() {
            continue;
        }
        let rules_raw: Vec<(f64, String)> = slo
            .iter()
            .filter(|(m, _)| m == metric)
            .map(|(m, v)| (v * scale, slo_text(m, *v, scale)))
            .collect();
        let means: Vec<f64> = series.iter().flat_map(|s| s.3.iter().map(|p| p.y)).collect();
        let ys_scale = y_scale(metric, desc.unit, &means, bars);
        // Values as placed on the axis.
        let tf = |v: f64| -> f64 {
            if ys_scale == YScale::Nines {
                nines(v / scale.max(f64::MIN_POSITIVE))
            } else {
                v
            }
        };
        // What the axis must show: means, interval ends, SLOs, and
        // predictions not far beyond the data.
        let lo_end = |p: &Pt| whisker_ends(p.y, p.ci, desc.unit).0;
        let hi_end = |p: &Pt| whisker_ends(p.y, p.ci, desc.unit).1;
        let in_view = |v: f64| match ys_scale {
            YScale::Clipped(cap) => v <= cap * 1.5,
            _ => true,
        };
        let mut ys: Vec<f64> = Vec::new();
        for (_, _, _, pts) in &series {
            for p in pts.iter().filter(|p| in_view(p.y)) {
                ys.extend([p.y, lo_end(p), hi_end(p)].into_iter().filter(|v| in_view(*v)));
            }
        }
        let data_hi = ys.iter().copied().fold(0.0, f64::max);
        ys.extend(rules_raw.iter().map(|r| r.0).filter(|v| in_view(*v)));
        ys.extend(
            series
                .iter()
                .flat_map(|s| s.3.iter().filter_map(|p| p.theory))
                .filter(|t| in_view(*t) && *t <= data_hi * 2.0 && *t >= 0.0),
        );
        let y = y_axis(ys_scale, &ydesc, &desc.name, desc.unit, &ys, tf, 1.0);
        let top = y.hi;
        let above = |v: f64| v > top + (top - y.lo).abs() * 1e-9;

        let mut lines = Vec::new();
        let mut theory = Vec::new();
        let mut errbars = Vec::new();
        let mut bar_list = Vec::new();
        let mut off_scale = Vec::new();
        let span = x_axis_base.hi - x_axis_base.lo;
        let slot = 0.8 / n_series as f64;
        for (si, label, c, pts) in &series {
            let offset = *si as f64 - (n_series as f64 - 1.0) / 2.0;
            // Bars side by side within their group; lines side by side
            // at one x would hide each other's error bars, so each series
            // is nudged a little.
            let dx = if bars {
                slot * offset
            } else if n_series > 1 {
                span * 0.008 * offset
            } else {
                0.0
            };
            let half = slot * 0.42;
            let mut line_pts = Vec::new();
            let mut markers = Vec::new();
            let mut theory_pts = Vec::new();
            for p in pts {
                let x = p.x + dx;
                let ty = tf(p.y);
                let off = above(ty);
                if off {
                    // A verdict or an UNSTABLE ring stays visible off the scale.
                    let says = p.marker != Marker::Dot;
                    off_scale.push(OffScale {
                        x,
                        label: off_scale_label(p.y, desc.unit),
                        color: *c,
                        marker: says.then_some(p.marker),
                    });
                }
                let shown = ty.min(top);
                if bars {
                    bar_list.push(Bar {
                        x,
                        half,
                        y: shown,
                        color: *c,
                    });
                    let judged =
                        p.marker != Marker::Dot || points.iter().any(|pt| verdict_on(pt, metric).is_some());
                    if judged && !off {
                        markers.push((x, shown, p.marker));
                    }
                } else {
                    line_pts.push((x, shown));
                    if !off {
                        markers.push((x, shown, p.marker));
                    }
                }
                if p.ci.is_some() && !off {
                    let (lo, hi) = (tf(lo_end(p)), tf(hi_end(p)).min(top));
                    errbars.push(ErrBar { x, lo, hi, color: *c });
                }
                let t = p.theory.map(tf).filter(|t| !above(*t) && *t >= y.lo);
                if bars {
                    if let Some(t) = t {
                        theory.push(Line {
                            label: label.clone(),
                            color: *c,
                            points: vec![(x - half * 1.1, t), (x + half * 1.1, t)],
                            markers: Vec::new(),
                            dash: Dash::Dashed,
                            width: 1,
                        });
                    }
                } else if p.theory.is_some() {
                    theory_pts.push((x, t.unwrap_or(f64::NAN)));
                }
            }
            if theory_pts.iter().any(|p| p.1.is_finite()) {
                theory.push(Line {
                    label: label.clone(),
                    color: *c,
                    points: theory_pts,
                    markers: Vec::new(),
                    dash: Dash::Dashed,
                    width: 1,
                });
            }
            lines.push(Line {
                label: label.clone(),
                color: *c,
                points: line_pts,
                markers,
                dash: Dash::Solid,
                width: 2,
            });
        }
        let rules: Vec<Rule> = rules_raw
            .iter()
            .filter(|(v, _)| !above(tf(*v)))
            .map(|(v, label)| Rule {
                y: tf(*v),
                label: label.clone(),
            })
            .collect();

        let slug: String = metric
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        // `describe` capitalises a name that starts a sentence already.
        let title = format!("{} by {}", desc.name, x_param);
        let mut p = Plot::new(&format!("sweep-{slug}.svg"), &title, x_axis_base.clone(), y);
        let reps: Vec<u32> = points.iter().map(|p| p.replications).collect();
        let mut sub = mean_of(&reps);
        if !errbars.is_empty() {
            sub.push_str(if bars {
                ", whiskers: 95% interval"
            } else {
                ", bars: 95% interval"
            });
        }
        if lines
            .iter()
            .any(|l| l.markers.iter().any(|m| m.2 == Marker::Ring))
        {
            sub.push_str(", open circle: UNSTABLE");
        }
        if !off_scale.is_empty() {
            sub.push_str(", ▲ off the scale");
        }
        for (k, v) in &fixed {
            sub.push_str(&format!(", {k}={}", value_label(v)));
        }
        p.subtitle = Some(sub);
        p.legend_title = series_param.as_ref().map(|s| format!("{s}:"));
        if bars {
            p.series_key = lines
                .iter()
                .map(|l| (l.label.clone(), l.color, Swatch::Square))
                .collect();
        }
        p.lines = lines;
        p.theory = theory;
        p.errbars = errbars;
        p.rules = rules;
        p.bars = bar_list;
        p.off_scale = off_scale;
        p.x_labels = x_labels.clone();
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

/// The y axis for a scale: nines, log (linear from 0 when the values
/// give no decade), or linear from 0 (percentages capped at 100%), the
/// top raised by `headroom` (1 = none).
pub(crate) fn y_axis(
    s: YScale,
    ydesc: &str,
    name: &str,
    unit: Unit,
    ys: &[f64],
    tf: impl Fn(f64) -> f64,
    headroom: f64,
) -> Axis {
    match s {
        YScale::Nines => {
            let top = ys.iter().map(|v| tf(*v)).fold(0.0, f64::max);
            nines_axis(&format!("{name} (nines scale)"), top)
        }
        YScale::Log => {
            let hi = ys.iter().copied().fold(0.0, f64::max);
            let lo = ys
                .iter()
                .copied()
                .filter(|v| *v > 0.0)
                .fold(f64::INFINITY, f64::min);
            if lo.is_finite() && hi > lo {
                log_axis(&format!("{ydesc}, log scale"), lo, hi)
            } else {
                linear_axis(ydesc, 0.0, hi, 6, true, false)
            }
        }
        YScale::Linear | YScale::Clipped(_) => {
            let min = ys.iter().copied().fold(0.0, f64::min);
            let max = ys.iter().copied().fold(0.0, f64::max);
            if unit == Unit::Fraction {
                let mut a = linear_axis(ydesc, min, max.max(1.0), 5, true, false);
                if max <= 100.0 {
                    a.ticks.retain(|(v, _)| *v <= 100.0 + 1e-9);
                    a.hi = a.hi.min(100.0 + (100.0 - a.lo) * 0.03);
                }
                a
            } else {
                linear_axis(ydesc, min, max * headroom, 6, true, false)
            }
        }
    }
}

/// The ends of a 95% whisker around `y`: never below 0 for a
/// non-negative value, never above 100% for a percentage.
pub(crate) fn whisker_ends(y: f64, ci: Option<f64>, unit: Unit) -> (f64, f64) {
    let lo = ci.map_or(y, |c| if y >= 0.0 { (y - c).max(0.0) } else { y - c });
    let hi = ci.map_or(y, |c| y + c);
    let hi = if unit == Unit::Fraction && y <= 100.0 {
        hi.min(100.0)
    } else {
        hi
    };
    (lo, hi)
}

/// A chart subtitle's start: `mean of 3 replications`, or `mean of 3–24
/// replications` when points differ.
pub(crate) fn mean_of(reps: &[u32]) -> String {
    let (rmin, rmax) = (
        reps.iter().copied().min().unwrap_or(0),
        reps.iter().copied().max().unwrap_or(0),
    );
    if rmin == rmax {
        format!("mean of {rmin} replication{}", if rmin == 1 { "" } else { "s" })
    } else {
        format!("mean of {rmin}–{rmax} replications")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn y_scales() {
        let ms = Unit::Ms;
        // batching: 15 → 27 ms and an overloaded point far above.
        let v = [15.0, 27.0, 27.0, 28.0, 28.0, 37.0, 30_000.0, 7_600.0];
        assert_eq!(y_scale("latency.mean_ms", ms, &v, false), YScale::Clipped(37.0));
        // Spread over decades evenly: log for lines, never for bars.
        let v = [1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0];
        assert_eq!(y_scale("latency.mean_ms", ms, &v, false), YScale::Log);
        assert_eq!(y_scale("latency.mean_ms", ms, &v, true), YScale::Linear);
        assert_eq!(
            y_scale("latency.mean_ms", ms, &[40.0, 60.0], false),
            YScale::Linear
        );
        let a = [99.0, 99.9, 99.99];
        assert_eq!(y_scale("availability", Unit::Fraction, &a, true), YScale::Nines);
        let a = [80.0, 100.0];
        assert_eq!(y_scale("availability", Unit::Fraction, &a, true), YScale::Linear);
        assert_eq!(
            y_scale("availability", Unit::Fraction, &[100.0], true),
            YScale::Linear
        );
    }

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

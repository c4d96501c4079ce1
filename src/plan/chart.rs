//! The plan's chart, `plan.svg`: the first objective's metric against the
//! searched parameter (for `cheapest`, against the price per hour), one
//! point per probe with its 95% interval, marked by its verdict as the
//! sweep charts mark theirs, the target as a dashed line. A threshold
//! search numbers its probes in search order and shades the answer's
//! interval; theory's answer is a dotted vertical line. `cheapest` joins
//! the price-versus-metric Pareto front and rings the chosen configuration.
//! Probes far above the rest (an overloaded one's minutes) are marked at
//! the top edge with their value, as in the sweep charts.

use plotters::style::RGBColor;

use super::output::{PlanReport, Probe, short_path};
use crate::model::Annotation;
use crate::report::metrics::describe;
use crate::report::plot::{
    Axis, BLUE, ChartFile, Dash, ErrBar, GREEN, Line, MUTED, Marker, OffScale, Plot, PointLabel, Rule,
    Swatch, fmt_tick, linear_axis, metric_label, nines,
};
use crate::report::value_label;
use crate::run::slo::Verdict;
use crate::sweep::charts::{YScale, clip_cap, off_scale_label, slo_text, y_scale};

/// Colour of the probes (the sweep's first series).
const PROBE: RGBColor = BLUE;
/// Colour of the chosen configuration's ring and label.
const CHOSEN: RGBColor = GREEN;

/// The plan's charts: `plan.svg` for the first objective, `plan-2.svg`…
/// for the others; none without objectives or probes with a value.
pub fn plan_charts(r: &PlanReport) -> Vec<ChartFile> {
    r.objectives
        .iter()
        .enumerate()
        .filter_map(|(i, _)| chart(r, i))
        .collect()
}

/// A probe as drawn: x, the metric in its shown unit, its half-width, the
/// marker its verdict on this objective gives.
struct Pt {
    order: usize,
    x: f64,
    y: f64,
    ci: Option<f64>,
    marker: Marker,
    index: usize,
}

fn marker_of(v: Verdict) -> Marker {
    match v {
        Verdict::Pass => Marker::Dot,
        Verdict::Fail => Marker::Cross,
        Verdict::Uncertain | Verdict::NoData => Marker::Diamond,
    }
}

/// The chart's title: the question as a reader asks it.
fn title(r: &PlanReport) -> String {
    let param = r.parameter.clone().unwrap_or_default();
    match r.question.as_str() {
        "max_load" => format!("Most load meeting the SLO: {param}"),
        "min_resources" => format!("Fewest {param} meeting the SLO"),
        "cheapest" => "Cheapest configuration meeting the SLO".into(),
        "headroom" => match (r.answer.growth, &r.answer.period) {
            (Some(g), Some(p)) => format!("Headroom at {}%/{p}", crate::report::fmt4(g * 100.0)),
            _ => format!("Headroom: {param}"),
        },
        q => format!("{q}: {param}"),
    }
}

/// A probe's configuration in few words: `api.replicas=3, api cores=4`.
pub(crate) fn configuration_text(params: &indexmap::IndexMap<String, serde_json::Value>) -> String {
    params
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::Object(_) => format!("{} {}", short_path(k), value_label(v)),
            _ => format!("{}={}", short_path(k), value_label(v)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn chart(r: &PlanReport, obj: usize) -> Option<ChartFile> {
    let o = r.objectives.get(obj)?;
    let cheapest = r.question == "cheapest";
    let desc = describe(&o.metric);
    let (ydesc, scale) = metric_label(&o.metric);
    let value_of = |p: &Probe| -> Option<(f64, Option<f64>, Verdict)> {
        let s = p
            .slo
            .iter()
            .find(|s| s.metric == o.metric && s.goal == o.goal && s.target == o.target)
            .or_else(|| p.slo.iter().find(|s| s.metric == o.metric));
        match s {
            Some(s) => Some((s.value?, s.ci95, s.verdict)),
            None => p.metrics.get(&o.metric).map(|m| (m.value, m.ci95, p.verdict)),
        }
    };
    let pts: Vec<Pt> = r
        .probes
        .iter()
        .enumerate()
        .filter_map(|(order, p)| {
            let (v, ci, verdict) = value_of(p)?;
            Some(Pt {
                order,
                x: p.x,
                y: v * scale,
                ci: ci.map(|c| c * scale).filter(|c| c.is_finite() && *c > 0.0),
                marker: marker_of(verdict),
                index: p.index,
            })
        })
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    if pts.is_empty() {
        return None;
    }

    // y: the sweep charts' scale rule on the probes' means.
    let means: Vec<f64> = pts.iter().map(|p| p.y).collect();
    let target = o.target * scale;
    let ys_scale = match y_scale(&o.metric, desc.unit, &means, false) {
        // The story is near the target: an overloaded probe's seconds
        // beside 100 ms flatten it even when they squeeze no majority.
        YScale::Linear if ys_scale_wants_clip(&means, target) => {
            let near = means
                .iter()
                .copied()
                .filter(|v| *v <= 4.0 * target)
                .fold(target, f64::max);
            YScale::Clipped(clip_cap(&means).map_or(near, |c| c.max(near)))
        }
        s => s,
    };
    let tf = |v: f64| {
        if ys_scale == YScale::Nines {
            nines(v / scale.max(f64::MIN_POSITIVE))
        } else {
            v
        }
    };
    let in_view = |v: f64| match ys_scale {
        YScale::Clipped(cap) => v <= cap * 1.5,
        _ => true,
    };
    let lo_end = |p: &Pt| crate::sweep::charts::whisker_ends(p.y, p.ci, desc.unit).0;
    let hi_end = |p: &Pt| crate::sweep::charts::whisker_ends(p.y, p.ci, desc.unit).1;
    let mut ys: Vec<f64> = Vec::new();
    for p in pts.iter().filter(|p| in_view(p.y)) {
        ys.extend([p.y, lo_end(p), hi_end(p)].into_iter().filter(|v| in_view(*v)));
    }
    if target.is_finite() && in_view(target) {
        ys.push(target);
    }
    let y = crate::sweep::charts::y_axis(ys_scale, &ydesc, &desc.name, desc.unit, &ys, tf, 1.05);
    let (top, bottom) = (y.hi, y.lo);
    let above = |v: f64| v > top + (top - bottom).abs() * 1e-9;

    // x: the parameter (from 0), or the price.
    let mut xs: Vec<f64> = pts.iter().map(|p| p.x).collect();
    if !cheapest {
        xs.extend(r.answer.pass.iter().chain(&r.answer.fail));
        // Theory's answer when it lies near the probes (a saturation far
        // beyond the search would squeeze them).
        let hi = xs.iter().copied().fold(0.0, f64::max);
        if let Some(t) = theory_x(r)
            && t <= hi * 1.5
        {
            xs.push(t);
        }
    }
    let x = x_axis(r, &xs, cheapest);

    let mut markers = Vec::new();
    let mut errbars = Vec::new();
    let mut off_scale = Vec::new();
    let mut labels = Vec::new();
    for p in &pts {
        let ty = tf(p.y);
        let off = above(ty);
        let shown = ty.min(top);
        if off {
            off_scale.push(OffScale {
                x: p.x,
                label: off_scale_label(p.y, desc.unit),
                color: PROBE,
                marker: (p.marker != Marker::Dot).then_some(p.marker),
            });
        } else {
            markers.push((p.x, shown, p.marker));
            if p.ci.is_some() {
                errbars.push(ErrBar {
                    x: p.x,
                    lo: tf(lo_end(p)),
                    hi: tf(hi_end(p)).min(top),
                    color: PROBE,
                });
            }
        }
        if !cheapest {
            // The probe's place in the search, up and to the right of it
            // (beside the triangle when off the scale).
            labels.push(PointLabel {
                x: p.x,
                y: shown,
                text: (p.order + 1).to_string(),
                color: MUTED,
                dx: if off { 9 } else { 0 },
                dy: if off { 2 } else { 9 },
                align_right: false,
                hang: off,
                px: 11.0,
                bold: true,
                ring: None,
            });
        }
    }
    let mut lines = vec![Line {
        label: "probes".into(),
        color: PROBE,
        points: Vec::new(),
        markers,
        dash: Dash::Solid,
        width: 2,
    }];

    let mut p = Plot::new(
        &if obj == 0 {
            "plan.svg".to_string()
        } else {
            format!("plan-{}.svg", obj + 1)
        },
        &title(r),
        x,
        y,
    );
    if !cheapest {
        if let (Some(a), Some(b)) = (r.answer.pass, r.answer.fail)
            && a.is_finite()
            && b.is_finite()
        {
            p.bands.push(Annotation {
                start_s: a.min(b),
                end_s: a.max(b),
                label: "answer".into(),
            });
        }
        if let Some(t) = theory_x(r).filter(|t| *t >= p.x.lo && *t <= p.x.hi) {
            lines.push(Line {
                label: "theory".into(),
                color: MUTED,
                points: vec![(t, p.y.lo), (t, p.y.hi)],
                markers: Vec::new(),
                dash: Dash::Dotted,
                width: 2,
            });
            let limit = r.theory.as_ref().map(|t| t.limit.as_str()).unwrap_or("");
            labels.push(PointLabel {
                x: t,
                y: p.y.lo,
                text: if limit.is_empty() {
                    "theory".into()
                } else {
                    format!("theory: {limit}")
                },
                color: MUTED,
                dx: -5,
                dy: -4,
                align_right: true,
                hang: false,
                px: 12.0,
                bold: false,
                ring: None,
            });
        }
    } else {
        let mut front: Vec<(f64, f64)> = pts
            .iter()
            .filter(|q| r.answer.pareto.contains(&q.index))
            .map(|q| (q.x, tf(q.y).min(top)))
            .collect();
        front.sort_by(|a, b| a.0.total_cmp(&b.0));
        if front.len() > 1 {
            lines.insert(
                0,
                Line {
                    label: "Pareto front".into(),
                    color: PROBE,
                    points: front,
                    markers: Vec::new(),
                    dash: Dash::Solid,
                    width: 1,
                },
            );
        }
        if let Some(chosen) = chosen_probe(r).and_then(|i| pts.iter().find(|q| q.index == i)) {
            let text = r
                .probes
                .iter()
                .find(|q| q.index == chosen.index)
                .map(|q| configuration_text(&q.params))
                .unwrap_or_default();
            labels.push(PointLabel {
                x: chosen.x,
                y: tf(chosen.y).min(top),
                text: format!("chosen: {text} (${:.2}/h)", chosen.x),
                color: CHOSEN,
                dx: 14,
                dy: 14,
                align_right: false,
                hang: true,
                px: 12.0,
                bold: true,
                ring: Some(11),
            });
        }
    }

    let reps: Vec<u32> = r.probes.iter().map(|p| p.replications).collect();
    let mut sub = crate::sweep::charts::mean_of(&reps);
    if !errbars.is_empty() {
        sub.push_str(", bars: 95% interval");
    }
    if cheapest {
        if lines.len() > 1 {
            sub.push_str(", line: Pareto front");
        }
    } else {
        sub.push_str(", numbers: search order");
    }
    if !off_scale.is_empty() {
        sub.push_str(", ▲ off the scale");
    }
    p.subtitle = Some(sub);
    p.rules = (target.is_finite() && !above(tf(target)))
        .then(|| Rule {
            y: tf(target),
            label: slo_text(&o.metric, o.target, scale),
        })
        .into_iter()
        .collect();
    // The lines are labelled on the chart itself: no legend of series.
    p.series_key = vec![("probes".into(), PROBE, Swatch::LineAndMarker)];
    p.lines = lines;
    p.errbars = errbars;
    p.off_scale = off_scale;
    p.labels = labels;
    p.marker_key_title = Some("SLO verdict:".into());
    p.marker_key = vec![
        ("pass".into(), MUTED, Marker::Dot),
        ("fail".into(), MUTED, Marker::Cross),
        ("uncertain".into(), MUTED, Marker::Diamond),
    ];
    p.render()
}

/// Whether some probes lie far above both the target and the rest: more
/// than 4 times the target while others lie within it (a linear axis
/// from 0 would press the rest onto the floor).
fn ys_scale_wants_clip(means: &[f64], target: f64) -> bool {
    if !(target.is_finite() && target > 0.0) {
        return clip_cap(means).is_some();
    }
    let far = means.iter().filter(|v| **v > 4.0 * target).count();
    far > 0 && far < means.len()
}

/// Theory's answer on the x axis, when it has one.
fn theory_x(r: &PlanReport) -> Option<f64> {
    r.theory
        .as_ref()
        .and_then(|t| t.value)
        .filter(|v| v.is_finite() && *v >= 0.0)
}

/// The probe `cheapest` chose: the passing probe whose parameters are the
/// answer's configuration, else the cheapest passing one at its price.
fn chosen_probe(r: &PlanReport) -> Option<usize> {
    if let Some(c) = &r.answer.configuration
        && let Some(p) = r.probes.iter().find(|p| &p.params == c)
    {
        return Some(p.index);
    }
    let v = r.answer.value?;
    r.probes
        .iter()
        .filter(|p| p.verdict == Verdict::Pass && (p.x - v).abs() <= 1e-9 * v.abs().max(1.0))
        .map(|p| p.index)
        .next()
}

fn x_axis(r: &PlanReport, xs: &[f64], cheapest: bool) -> Axis {
    let hi = xs.iter().copied().fold(0.0, f64::max);
    let lo = xs.iter().copied().fold(0.0, f64::min);
    if cheapest {
        return linear_axis("price ($/hour)", lo, hi * 1.08, 6, true, false);
    }
    let param = r.parameter.clone().unwrap_or_default();
    let desc = match r.unit.as_str() {
        "" => param,
        "×" => format!("{param} (× today's)"),
        u => format!("{param} ({u})"),
    };
    let integer = xs.iter().all(|v| v.fract() == 0.0) && hi - lo <= 24.0;
    let mut a = linear_axis(&desc, lo, hi + (hi - lo) * 0.04, 7, true, integer);
    if integer {
        a.ticks = (lo.ceil() as i64..=a.hi.floor() as i64)
            .map(|n| (n as f64, fmt_tick(n as f64, 0)))
            .collect();
    }
    if r.unit == "/s" || r.unit == "ms" {
        // Tick labels as plain numbers; the unit is in the axis title.
        a.ticks
            .iter_mut()
            .for_each(|t| t.1 = t.1.trim_end_matches(&r.unit).to_string());
    }
    a
}

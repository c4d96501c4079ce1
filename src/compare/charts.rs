//! The charts of a comparison: the inputs' latency distributions overlaid,
//! and their headline metrics as bars from zero with 95% intervals.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{headline_union, letter};
use crate::report::charts::cdf_plot;
use crate::report::metrics::describe;
use crate::report::plot::{
    ChartFile, Coord, DESC_PX, DrawResult, INK, Item, Swatch, TEXT_PX, anchored, category_axis, color,
    draw_header, fmt_value, font, house_mesh, linear_axis, render_svg, text_width, y_label_area,
};
use crate::run::Report;

/// Widest legend entry, pixels: a longer name is cut in the middle.
const MAX_LABEL_PX: f64 = 700.0;

/// `s` cut in the middle with `…` until it is at most `px` wide: both
/// ends of a path or a setting stay readable.
fn fit(s: &str, px: f64) -> String {
    let chars: Vec<char> = s.chars().collect();
    if text_width(s, TEXT_PX) <= px {
        return s.to_string();
    }
    let mut keep = chars.len();
    loop {
        keep -= 1;
        let head: String = chars[..keep / 2].iter().collect();
        let tail: String = chars[chars.len() - (keep - keep / 2)..].iter().collect();
        let t = format!("{head}…{tail}");
        if keep <= 8 || text_width(&t, TEXT_PX) <= px {
            return t;
        }
    }
}

/// Most panels of the headline bar chart.
const MAX_PANELS: usize = 6;

/// Charts comparing runs: their latency CDFs overlaid, and the headline
/// metrics (the union of the inputs' `headline` lists) as bars from zero,
/// one panel per metric, one bar per input (lettered A, B… under the bar,
/// the letters' key in the legend) with its 95% interval.
pub fn compare_charts(names: &[String], reports: &[&Report]) -> Vec<ChartFile> {
    let labels: Vec<String> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = names.get(i).cloned().unwrap_or_else(|| r.scenario.clone());
            fit(&format!("{}: {name}", letter(i)), MAX_LABEL_PX)
        })
        .collect();
    let mut out = Vec::new();
    let cdfs: Vec<(&str, &[(f64, f64)])> = reports
        .iter()
        .zip(&labels)
        .map(|(r, l)| (l.as_str(), r.latency_cdf.as_slice()))
        .collect();
    if let Some(p) = cdf_plot("compare-latency-cdf.svg", "Latency distribution compared", &cdfs)
        && let Some(c) = p.render()
    {
        out.push(c);
    }
    if let Some(c) = metric_bars(&labels, reports) {
        out.push(c);
    }
    out
}

fn metric_bars(labels: &[String], reports: &[&Report]) -> Option<ChartFile> {
    let headline = headline_union(&reports.iter().map(|r| r.headline.as_slice()).collect::<Vec<_>>());
    let panels: Vec<(String, String, f64)> = headline
        .into_iter()
        .filter(|m| {
            reports
                .iter()
                .any(|r| crate::run::slo::lookup(&r.metrics, m).is_some())
        })
        .take(MAX_PANELS)
        .map(|m| {
            let d = describe(&m);
            (m, d.axis_title(), d.unit.scale())
        })
        .collect();
    if panels.is_empty() || reports.is_empty() {
        return None;
    }
    let title = "Headline metrics compared";
    let svg = render_svg(|root| {
        let legend: Vec<Item> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| Item::Series(l, color(i), Swatch::Square))
            .collect();
        let top = draw_header(
            root,
            title,
            Some("bars: mean; whiskers: 95% interval over replications"),
            if reports.len() > 1 { &legend } else { &[] },
            &[],
        )?;
        let body = root.margin(top, 4, 8, 8);
        let cols = if panels.len() > 1 { 2 } else { 1 };
        let rows = panels.len().div_ceil(cols);
        let cells = body.split_evenly((rows, cols));
        for ((metric, desc, scale), cell) in panels.iter().zip(cells.iter()) {
            draw_bar_panel(root, cell, metric, desc, *scale, reports)?;
        }
        Ok(())
    })
    .ok()?;
    Some(ChartFile {
        file: "compare-metrics.svg".into(),
        title: title.into(),
        svg,
    })
}

fn draw_bar_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    cell: &DrawingArea<DB, Shift>,
    metric: &str,
    desc: &str,
    scale: f64,
    reports: &[&Report],
) -> DrawResult<(), DB> {
    let vals: Vec<Option<(f64, Option<f64>)>> = reports
        .iter()
        .map(|r| {
            crate::run::slo::lookup(&r.metrics, metric).map(|m| (m.value * scale, m.ci95.map(|c| c * scale)))
        })
        .collect();
    let tops: Vec<f64> = vals.iter().flatten().map(|(v, c)| v + c.unwrap_or(0.0)).collect();
    let max = tops.iter().copied().fold(0.0, f64::max);
    // Bars from zero, always: a bar's length is its value. Values near
    // 100% look alike, and are: the numbers on the bars tell them apart.
    let mut y = linear_axis(desc, 0.0, max, 4, true, false);
    y.lo = 0.0;
    // A percentage stops at 100% (with room for the numbers above).
    if scale == 100.0 && max <= 100.0 {
        y = linear_axis(desc, 0.0, 100.0, 4, true, false);
        y.ticks.retain(|(v, _)| *v <= 100.0 + 1e-9);
        y.hi = 100.0;
    }
    y.hi = y.hi.max(max * 1.12);
    let letters: Vec<String> = (0..reports.len()).map(letter).collect();
    let x = category_axis("", &letters);
    let (Coord::Linear(xc), Coord::Linear(yc)) = (x.coord(), y.coord()) else {
        return Ok(());
    };
    let cell = cell.margin(6, 6, 6, 14);
    let mut chart = ChartBuilder::on(&cell)
        .x_label_area_size(24)
        .y_label_area_size(y_label_area(&y))
        .build_cartesian_2d(xc, yc)?;
    let xfmt = |v: &f64| x.label_of(*v);
    let yfmt = |v: &f64| y.label_of(*v);
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .x_labels(letters.len().max(2))
        .y_labels(y.ticks.len().max(2))
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .y_desc(desc.to_string());
    house_mesh(&mut mesh, DESC_PX - 1.0).draw()?;
    let half = if reports.len() > 1 { 0.36 } else { 0.25 };
    for (i, v) in vals.iter().enumerate() {
        let Some((v, ci)) = v else { continue };
        let xi = i as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(xi - half, y.lo), (xi + half, *v)],
            color(i).filled(),
        )))?;
        let mut label_top = chart.backend_coord(&(xi, *v)).1;
        if let Some(ci) = ci.filter(|c| *c > 0.0 && c.is_finite()) {
            let (px, top) = chart.backend_coord(&(xi, v + ci));
            let (_, bot) = chart.backend_coord(&(xi, (v - ci).max(y.lo)));
            root.draw(&PathElement::new(
                vec![
                    (px - 5, top),
                    (px + 5, top),
                    (px, top),
                    (px, bot),
                    (px - 5, bot),
                    (px + 5, bot),
                ],
                INK.stroke_width(1),
            ))?;
            label_top = top;
        }
        let (px, _) = chart.backend_coord(&(xi, *v));
        root.draw(&Text::new(
            fmt_value(*v),
            (px, label_top - 3),
            anchored(font(12.0, INK), HPos::Center, VPos::Bottom),
        ))?;
    }
    Ok(())
}

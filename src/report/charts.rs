//! Charts of runs, sweeps and comparisons (SPEC §3, issue 4), drawn with
//! plotters as SVG and, on request, rasterised to PNG with resvg.
//!
//! Every chart is 800×450 with a title, axis labels with units, a legend
//! when it has more than one series, and the Okabe–Ito palette, which stays
//! distinguishable under the common colour-vision deficiencies (Okabe & Ito,
//! "Color Universal Design", 2002).
//!
//! Text is written as SVG `<text>` with `font-family="sans-serif"`: a browser
//! uses its own sans-serif, and [`to_png`] renders DejaVu Sans embedded in the
//! binary, so no system font is needed. plotters only guesses text widths, so
//! everything whose position depends on a width (the legend, label areas,
//! margins) is laid out here with DejaVu Sans's real advance widths, which
//! are wider than most sans-serif fonts: what fits in DejaVu fits elsewhere.
//!
//! The drawing follows a few rules that tests rely on:
//! - a data series is one `<polyline stroke-width="2">` in a palette colour
//!   (more than one only where the series has gaps: intervals without a
//!   completed request have no latency);
//! - legend entries are `<text>` elements with the series' label, drawn only
//!   with two or more series;
//! - an annotation is a `<rect>` filled with [`BAND_COLOR`] and a `<text>`
//!   with its label;
//! - an SLO is a dashed line of short `<polyline>`s in [`SLO_COLOR`] and a
//!   `<text>` starting with "SLO";
//! - a 95% error bar is one I-shaped `<polyline stroke-width="1">` in the
//!   series' colour.

use std::sync::{Arc, OnceLock};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use crate::model::Annotation;
use crate::run::Report;
use crate::scenario::spec::PlotSpec;
use crate::sweep::SweepReport;

/// One chart: its file name (`latency.svg`), title and SVG text.
#[derive(Clone, Debug)]
pub struct ChartFile {
    /// File name in the run or sweep folder, ending in `.svg`.
    pub file: String,
    /// The chart's title (also its accessible name in HTML).
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// Width of every chart, pixels.
pub const WIDTH: u32 = 800;
/// Height of every chart, pixels.
pub const HEIGHT: u32 = 450;
/// PNGs are rendered at this multiple of the SVG size, for sharp text.
pub const PNG_SCALE: f32 = 2.0;

/// The Okabe–Ito palette, in the order series take it.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];
/// Fill of annotation shading (drawn translucent).
pub const BAND_COLOR: &str = "#7F7F7F";
/// Colour of SLO lines.
pub const SLO_COLOR: &str = "#333333";

const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
const PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);
const GRID: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);
const AXIS: RGBColor = RGBColor(0x66, 0x66, 0x66);
const BAND: RGBColor = RGBColor(0x7F, 0x7F, 0x7F);
const SLO: RGBColor = RGBColor(0x33, 0x33, 0x33);

/// The i-th palette colour (cycling after eight series).
fn color(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        BLUE,
        ORANGE,
        GREEN,
        VERMILLION,
        RGBColor(0xCC, 0x79, 0xA7),
        RGBColor(0x56, 0xB4, 0xE9),
        RGBColor(0xF0, 0xE4, 0x42),
        RGBColor(0, 0, 0),
    ];
    C[i % C.len()]
}

// ---------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------

/// Advance widths of DejaVu Sans for ASCII 32..=126, in units of 1/2048 em
/// (read from the font's `hmtx` table).
const DEJAVU_ADVANCE: [u16; 95] = [
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303, 1303, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048, 1401, 1405, 1430, 1577,
    1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300, 1251, 1499, 1401,
    2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024, 1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298,
    569, 569, 1186, 569, 1995, 1298, 1253, 1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075,
    1303, 690, 1303, 1716,
];

/// Width in pixels of `s` set in DejaVu Sans at `px` pixels.
fn text_width(s: &str, px: f64) -> f64 {
    let units: u32 = s
        .chars()
        .map(|c| match c as u32 {
            32..=126 => u32::from(DEJAVU_ADVANCE[c as usize - 32]),
            // ± × ≤ ≥ are as wide as +; dashes and ellipsis about an em.
            0x2014 | 0x2026 => 2048,
            0x2013 | 0xB0 => 1024,
            0xB7 => 651,
            _ => 1716,
        })
        .sum();
    f64::from(units) * px / 2048.0
}

/// A text style whose SVG `font-size` is exactly `px` (plotters divides the
/// size it is given by 1.24 when it writes the SVG).
fn font(px: f64, color: RGBColor) -> TextStyle<'static> {
    ("sans-serif", px * 1.24).into_font().color(&color)
}

fn bold(px: f64, color: RGBColor) -> TextStyle<'static> {
    FontDesc::new(FontFamily::SansSerif, px * 1.24, FontStyle::Bold).color(&color)
}

fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

const TITLE_PX: f64 = 17.0;
const TEXT_PX: f64 = 13.0;
const DESC_PX: f64 = 14.0;

/// `s` cut to at most `max` characters, keeping its end (paths differ there).
fn shorten(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_string()
    } else {
        let tail: String = s.chars().skip(n - (max - 1)).collect();
        format!("…{tail}")
    }
}

// ---------------------------------------------------------------------------
// Axes
// ---------------------------------------------------------------------------

/// One axis: its range, whether it is logarithmic, and the ticks with their
/// labels.
#[derive(Clone, Debug)]
struct Axis {
    desc: String,
    lo: f64,
    hi: f64,
    log: bool,
    ticks: Vec<(f64, String)>,
}

/// An axis's coordinate: plotters' linear or log mapping, with exactly
/// our ticks as its key points (and no minor ones).
struct Ticked<R> {
    inner: R,
    ticks: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> std::ops::Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

enum Coord {
    Linear(Ticked<RangedCoordf64>),
    Log(Ticked<LogCoord<f64>>),
}

impl Axis {
    fn coord(&self) -> Coord {
        let (lo, hi) = (self.lo.min(self.hi), self.lo.max(self.hi));
        let tol = if self.log { 1e-9 * hi } else { 1e-9 * (hi - lo) };
        let ticks = self
            .ticks
            .iter()
            .map(|t| t.0)
            .filter(|t| *t >= lo - tol && *t <= hi + tol)
            .collect();
        if self.log {
            Coord::Log(Ticked {
                inner: (self.lo..self.hi).log_scale().into(),
                ticks,
            })
        } else {
            Coord::Linear(Ticked {
                inner: (self.lo..self.hi).into(),
                ticks,
            })
        }
    }

    fn label_of(&self, v: f64) -> String {
        let span = (self.hi - self.lo).abs().max(f64::MIN_POSITIVE);
        self.ticks
            .iter()
            .find(|(t, _)| {
                if self.log {
                    (t / v - 1.0).abs() < 1e-6
                } else {
                    (t - v).abs() < span * 1e-6
                }
            })
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }

    fn widest_label(&self) -> f64 {
        self.ticks
            .iter()
            .map(|(_, l)| text_width(l, TEXT_PX))
            .fold(0.0, f64::max)
    }
}

/// A step of 1, 2, 2.5 or 5 × 10^k giving about `target` intervals over `span`.
fn nice_step(span: f64, target: usize) -> f64 {
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// A number for a tick label, with `decimals` places.
fn fmt_tick(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

/// Tick labels of an axis reaching 100,000 or more in thousands (1k, 10k,
/// 250k) or millions (1M, 2.5M), all alike, so they stay short.
fn shorten_large(ticks: &mut [(f64, String)]) {
    let max = ticks.iter().map(|t| t.0.abs()).fold(0.0, f64::max);
    if max < 1e5 {
        return;
    }
    let (div, suffix) = if max >= 1e7 { (1e6, "M") } else { (1e3, "k") };
    for (v, l) in ticks.iter_mut() {
        if v.abs() >= div {
            *l = trim_zeros(format!("{:.2}", *v / div)) + suffix;
        } else if v.abs() >= 1.0 || *v == 0.0 {
            *l = format!("{v:.0}");
        }
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn decimals_for(step: f64) -> usize {
    if step <= 0.0 || !step.is_finite() {
        return 0;
    }
    let d = (-step.log10() - 1e-9).ceil();
    // 2.5 × 10^k needs one more place than its magnitude says.
    let extra = if ((step / 10f64.powf(step.log10().floor())) - 2.5).abs() < 1e-9 {
        1.0
    } else {
        0.0
    };
    (d + extra).clamp(0.0, 9.0) as usize
}

/// A linear axis over [lo, hi]: the range widened to whole ticks when
/// `snap`, else ticks inside the data range only (time axes end where the
/// run ends).
fn linear_axis(desc: &str, lo: f64, hi: f64, target: usize, snap: bool, integer: bool) -> Axis {
    let (mut lo, mut hi) = (lo, hi);
    if !(lo.is_finite() && hi.is_finite()) {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        if lo == 0.0 {
            hi = 1.0;
        } else {
            let d = lo.abs() * 0.1;
            lo -= d;
            hi += d;
        }
    }
    let mut step = nice_step(hi - lo, target);
    if integer {
        step = step.round().max(1.0);
    }
    let (lo, hi) = if snap {
        (
            (lo / step + 1e-9).floor() * step,
            (hi / step - 1e-9).ceil() * step,
        )
    } else {
        (lo, hi)
    };
    let decimals = if integer { 0 } else { decimals_for(step) };
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    let mut ticks: Vec<(f64, String)> = (first..=last)
        .map(|i| {
            let v = i as f64 * step;
            (v, fmt_tick(v, decimals))
        })
        .collect();
    shorten_large(&mut ticks);
    Axis {
        desc: desc.to_string(),
        lo,
        hi,
        log: false,
        ticks,
    }
}

/// A logarithmic axis over whole decades covering [lo, hi] (both > 0);
/// ticks at powers of ten, and at 2 and 5 times them over few decades.
fn log_axis(desc: &str, lo: f64, hi: f64) -> Axis {
    let a = lo.log10().floor() as i32;
    let b = (hi.log10().ceil() as i32).max(a + 1);
    let mults: &[f64] = if b - a <= 2 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    let mut ticks = Vec::new();
    for e in a..=b {
        for m in mults {
            let v = m * 10f64.powi(e);
            if v <= 10f64.powi(b) * (1.0 + 1e-9) {
                let decimals = if e >= 0 { 0 } else { (-e) as usize };
                ticks.push((v, fmt_tick(v, decimals)));
            }
        }
    }
    shorten_large(&mut ticks);
    Axis {
        desc: desc.to_string(),
        lo: 10f64.powi(a),
        hi: 10f64.powi(b),
        log: true,
        ticks,
    }
}

/// Log scale when the positive values span more than two decades.
fn wants_log(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (hi > 0.0 && hi / lo > 100.0).then_some((lo, hi))
}

/// A categorical axis: positions 0..n−1, each labelled.
fn category_axis(desc: &str, labels: &[String]) -> Axis {
    let n = labels.len().max(1);
    let room = 640.0 / n as f64;
    // Labels too wide to sit side by side keep their ends (where variants
    // differ: `…vnodes=100`), down to 8 characters; then they are thinned.
    let fit = |l: &String| {
        let mut max = l.chars().count().min(24);
        while max > 8 && text_width(&shorten(l, max), TEXT_PX) + 12.0 > room {
            max -= 1;
        }
        shorten(l, max)
    };
    let labels: Vec<String> = labels.iter().map(fit).collect();
    let widest = labels.iter().map(|l| text_width(l, TEXT_PX)).fold(0.0, f64::max);
    let every = ((widest + 12.0) / room).ceil().max(1.0) as usize;
    Axis {
        desc: desc.to_string(),
        lo: -0.5,
        hi: n as f64 - 0.5,
        log: false,
        ticks: labels
            .iter()
            .enumerate()
            .filter(|(i, _)| i % every == 0)
            .map(|(i, l)| (i as f64, shorten(l, 24)))
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// A chart, described before it is drawn
// ---------------------------------------------------------------------------

/// (x, y) points of a line.
type Points = Vec<(f64, f64)>;

#[derive(Clone, Debug)]
struct Line {
    label: String,
    color: RGBColor,
    /// (x, y); a non-finite y breaks the line.
    points: Vec<(f64, f64)>,
    /// Markers at the points: (x, y, hollow).
    markers: Vec<(f64, f64, bool)>,
}

#[derive(Clone, Debug)]
struct ErrBar {
    x: f64,
    lo: f64,
    hi: f64,
    color: RGBColor,
}

#[derive(Clone, Debug)]
struct Rule {
    y: f64,
    label: String,
}

#[derive(Clone, Debug)]
struct Plot {
    file: String,
    title: String,
    subtitle: Option<String>,
    x: Axis,
    y: Axis,
    lines: Vec<Line>,
    legend_title: Option<String>,
    /// Shaded intervals, in x-axis units.
    bands: Vec<Annotation>,
    rules: Vec<Rule>,
    errbars: Vec<ErrBar>,
}

impl Plot {
    fn new(file: &str, title: &str, x: Axis, y: Axis) -> Plot {
        Plot {
            file: file.to_string(),
            title: title.to_string(),
            subtitle: None,
            x,
            y,
            lines: Vec::new(),
            legend_title: None,
            bands: Vec::new(),
            rules: Vec::new(),
            errbars: Vec::new(),
        }
    }

    fn line(&mut self, label: &str, color: RGBColor, points: Vec<(f64, f64)>) {
        self.lines.push(Line {
            label: label.to_string(),
            color,
            points,
            markers: Vec::new(),
        });
    }

    fn render(&self) -> Option<ChartFile> {
        let svg = render_svg(|root| draw_plot(root, self)).ok()?;
        Some(ChartFile {
            file: self.file.clone(),
            title: self.title.clone(),
            svg,
        })
    }
}

type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draw onto a fresh white 800×450 SVG and return its text.
fn render_svg<F>(draw: F) -> Result<String, String>
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), DrawingAreaErrorKind<std::io::Error>>,
{
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// What a legend entry's swatch looks like.
#[derive(Clone, Copy, PartialEq)]
enum Swatch {
    Line,
    LineAndMarker,
    Square,
}

/// One entry of a row of legend-like items under the title.
enum Item<'a> {
    /// Plain text (the legend's title).
    Heading(&'a str),
    /// A series: its swatch and label.
    Series(&'a str, RGBColor, Swatch),
    /// An annotation's number and label.
    Key(&'a str, &'a str),
}

const SWATCH_W: f64 = 22.0;

impl Item<'_> {
    fn width(&self) -> f64 {
        match self {
            Item::Heading(t) => text_width(t, TEXT_PX),
            Item::Series(l, _, _) => SWATCH_W + 6.0 + text_width(l, TEXT_PX),
            Item::Key(n, l) => text_width(n, TEXT_PX) * 1.1 + 5.0 + text_width(l, TEXT_PX),
        }
    }
}

/// Lay `items` out in centred rows from `y` down, wrapping where a row is
/// full; returns the y below the last row.
fn flow<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, y: i32, items: &[Item]) -> DrawResult<i32, DB> {
    let gap = 18.0;
    let max_row = f64::from(WIDTH) - 60.0;
    let mut rows: Vec<Vec<&Item>> = vec![Vec::new()];
    let mut used = 0.0;
    for it in items {
        let row = rows.last_mut().expect("rows is never empty");
        if !row.is_empty() && used + gap + it.width() > max_row {
            rows.push(vec![it]);
            used = it.width();
        } else {
            used += if row.is_empty() {
                it.width()
            } else {
                gap + it.width()
            };
            row.push(it);
        }
    }
    let mut y = y;
    for row in rows.iter().filter(|r| !r.is_empty()) {
        let total: f64 = row.iter().map(|i| i.width()).sum::<f64>() + gap * (row.len() as f64 - 1.0);
        let mut x = (f64::from(WIDTH) - total) / 2.0;
        let cy = y + 8;
        let text = || anchored(font(TEXT_PX, INK), HPos::Left, VPos::Center);
        for it in row {
            let x0 = x as i32;
            match it {
                Item::Heading(t) => {
                    root.draw(&Text::new(t.to_string(), (x0, cy), text()))?;
                }
                Item::Series(label, c, swatch) => {
                    match swatch {
                        Swatch::Square => {
                            root.draw(&Rectangle::new([(x0 + 5, cy - 6), (x0 + 17, cy + 6)], c.filled()))?;
                        }
                        Swatch::Line | Swatch::LineAndMarker => {
                            root.draw(&Rectangle::new(
                                [(x0, cy - 1), (x0 + SWATCH_W as i32, cy + 2)],
                                c.filled(),
                            ))?;
                            if *swatch == Swatch::LineAndMarker {
                                root.draw(&Circle::new((x0 + SWATCH_W as i32 / 2, cy), 4, c.filled()))?;
                            }
                        }
                    }
                    root.draw(&Text::new(
                        label.to_string(),
                        (x0 + SWATCH_W as i32 + 6, cy),
                        text(),
                    ))?;
                }
                Item::Key(n, label) => {
                    root.draw(&Text::new(
                        n.to_string(),
                        (x0, cy),
                        anchored(bold(TEXT_PX, INK), HPos::Left, VPos::Center),
                    ))?;
                    let dx = (text_width(n, TEXT_PX) * 1.1 + 5.0) as i32;
                    root.draw(&Text::new(label.to_string(), (x0 + dx, cy), text()))?;
                }
            }
            x += it.width() + gap;
        }
        y += 20;
    }
    Ok(y)
}

/// Title, subtitle, legend and annotation key across the top; returns the
/// height they take.
fn draw_header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: Option<&str>,
    legend: &[Item],
    key: &[Item],
) -> DrawResult<i32, DB> {
    let w = WIDTH as i32;
    root.draw(&Text::new(
        title.to_string(),
        (w / 2, 12),
        anchored(bold(TITLE_PX, INK), HPos::Center, VPos::Top),
    ))?;
    let mut y = 12 + 26;
    if let Some(s) = subtitle {
        root.draw(&Text::new(
            s.to_string(),
            (w / 2, y),
            anchored(font(TEXT_PX, MUTED), HPos::Center, VPos::Top),
        ))?;
        y += 20;
    }
    if !legend.is_empty() {
        y = flow(root, y + 2, legend)?;
    }
    if !key.is_empty() {
        y = flow(root, y + 2, key)?;
    }
    Ok(y + 12)
}

const LEFT_MARGIN: i32 = 12;
const BAND_LABEL_PX: f64 = 12.0;
const BAND_ROW: i32 = 16;

/// Right margin: room for the last x tick label's right half.
fn right_margin(x: &Axis) -> i32 {
    let last = x.ticks.last().map(|(_, l)| text_width(l, TEXT_PX)).unwrap_or(0.0);
    (last / 2.0 + 8.0).max(24.0) as i32
}

/// Where annotation labels go: in rows above the plot, where they cannot
/// hide data, each in the first row where it overlaps no other. When three
/// rows are not enough, the bands are numbered instead and the labels
/// listed in a key under the legend.
struct BandLayout {
    /// What is written above each band.
    marks: Vec<String>,
    /// The row of each mark (0 nearest the plot).
    rows: Vec<usize>,
    /// Rows used.
    n_rows: usize,
    /// (number, label) when numbered.
    key: Vec<(String, String)>,
}

const MAX_BAND_ROWS: usize = 3;

fn band_layout(p: &Plot) -> BandLayout {
    let left = f64::from(LEFT_MARGIN) + f64::from(y_label_area(&p.y));
    let right = f64::from(WIDTH as i32 - right_margin(&p.x));
    let px = |x: f64| left + (x - p.x.lo) / (p.x.hi - p.x.lo).max(f64::MIN_POSITIVE) * (right - left);
    // Rows for these marks; None if some mark overlaps another in every row.
    let assign = |marks: &[String], force: bool| -> Option<(Vec<usize>, usize)> {
        let mut ends: Vec<f64> = Vec::new();
        let mut rows = Vec::new();
        for (b, m) in p.bands.iter().zip(marks) {
            let w = text_width(m, BAND_LABEL_PX);
            let start = px(b.start_s.max(p.x.lo)).min(f64::from(WIDTH) - 4.0 - w);
            let row = match ends.iter().position(|e| *e + 8.0 <= start) {
                Some(r) => r,
                None if ends.len() < MAX_BAND_ROWS => {
                    ends.push(f64::NEG_INFINITY);
                    ends.len() - 1
                }
                None if force => (0..ends.len())
                    .min_by(|a, b| ends[*a].total_cmp(&ends[*b]))
                    .unwrap_or(0),
                None => return None,
            };
            ends[row] = start + w;
            rows.push(row);
        }
        Some((rows, ends.len()))
    };
    let labels: Vec<String> = p.bands.iter().map(|b| b.label.clone()).collect();
    if let Some((rows, n_rows)) = assign(&labels, false) {
        return BandLayout {
            marks: labels,
            rows,
            n_rows,
            key: Vec::new(),
        };
    }
    let marks: Vec<String> = (1..=p.bands.len()).map(|i| i.to_string()).collect();
    let (rows, n_rows) = assign(&marks, true).unwrap_or_default();
    BandLayout {
        key: marks.iter().cloned().zip(labels).collect(),
        marks,
        rows,
        n_rows,
    }
}

fn draw_plot<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, p: &Plot) -> DrawResult<(), DB> {
    let mut legend: Vec<Item> = Vec::new();
    if p.lines.len() > 1 {
        if let Some(t) = &p.legend_title {
            legend.push(Item::Heading(t));
        }
        for l in &p.lines {
            let swatch = if l.markers.is_empty() {
                Swatch::Line
            } else {
                Swatch::LineAndMarker
            };
            legend.push(Item::Series(&l.label, l.color, swatch));
        }
    }
    let bands = band_layout(p);
    let key: Vec<Item> = bands.key.iter().map(|(n, l)| Item::Key(n, l)).collect();
    let top = draw_header(root, &p.title, p.subtitle.as_deref(), &legend, &key)?;
    let top = top + bands.n_rows as i32 * BAND_ROW + if bands.n_rows > 0 { 4 } else { 0 };
    let area = root.margin(top, 10, LEFT_MARGIN, right_margin(&p.x));
    let (x, y) = (p.x.coord(), p.y.coord());
    match (x, y) {
        (Coord::Linear(x), Coord::Linear(y)) => draw_body(root, &area, p, &bands, x, y),
        (Coord::Log(x), Coord::Linear(y)) => draw_body(root, &area, p, &bands, x, y),
        (Coord::Linear(x), Coord::Log(y)) => draw_body(root, &area, p, &bands, x, y),
        (Coord::Log(x), Coord::Log(y)) => draw_body(root, &area, p, &bands, x, y),
    }
}

/// Width of the y label area: the widest tick label, the tick, and the
/// rotated axis description.
fn y_label_area(y: &Axis) -> u32 {
    (y.widest_label() + 16.0 + 30.0).ceil() as u32
}

fn draw_body<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    p: &Plot,
    bands: &BandLayout,
    xr: X,
    yr: Y,
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64, FormatOption = DefaultFormatting>,
    Y: Ranged<ValueType = f64, FormatOption = DefaultFormatting>,
{
    let mut chart = ChartBuilder::on(area)
        .x_label_area_size(50)
        .y_label_area_size(y_label_area(&p.y))
        .build_cartesian_2d(xr, yr)?;
    let xfmt = |v: &f64| p.x.label_of(*v);
    let yfmt = |v: &f64| p.y.label_of(*v);
    chart
        .configure_mesh()
        .x_labels(p.x.ticks.len().max(2))
        .y_labels(p.y.ticks.len().max(2))
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .x_desc(p.x.desc.clone())
        .y_desc(p.y.desc.clone())
        .label_style(font(TEXT_PX, INK))
        .axis_desc_style(font(DESC_PX, INK))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS.stroke_width(1))
        .draw()?;

    // Shading first, so the data is drawn over it.
    for (i, b) in p.bands.iter().enumerate() {
        let (s, e) = (b.start_s.max(p.x.lo), b.end_s.min(p.x.hi));
        if e < s {
            continue;
        }
        chart.draw_series(std::iter::once(Rectangle::new(
            [(s, p.y.hi), (e, p.y.lo)],
            BAND.mix(0.18).filled(),
        )))?;
        let (px, py) = chart.backend_coord(&(s, p.y.hi));
        let mark = bands.marks.get(i).cloned().unwrap_or_default();
        let w = text_width(&mark, BAND_LABEL_PX) as i32;
        let row = bands.rows.get(i).copied().unwrap_or(0) as i32;
        root.draw(&Text::new(
            mark,
            (px.min(WIDTH as i32 - 4 - w), py - 4 - BAND_ROW * row),
            anchored(font(BAND_LABEL_PX, INK), HPos::Left, VPos::Bottom),
        ))?;
    }

    for l in &p.lines {
        let style = l.color.stroke_width(2);
        for seg in l
            .points
            .split(|(x, y)| !(x.is_finite() && y.is_finite()))
            .filter(|s| !s.is_empty())
        {
            if seg.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(seg[0], 2, l.color.filled())))?;
            } else {
                chart.draw_series(LineSeries::new(seg.iter().copied(), style))?;
            }
        }
    }

    for e in &p.errbars {
        let lo = if p.y.log { e.lo.max(p.y.lo) } else { e.lo };
        let (x, top) = chart.backend_coord(&(e.x, e.hi));
        let (_, bot) = chart.backend_coord(&(e.x, lo));
        if (bot - top).abs() < 2 {
            continue;
        }
        let w = 5;
        root.draw(&PathElement::new(
            vec![
                (x - w, top),
                (x + w, top),
                (x, top),
                (x, bot),
                (x - w, bot),
                (x + w, bot),
            ],
            e.color.stroke_width(1),
        ))?;
    }

    for l in &p.lines {
        for (x, y, hollow) in &l.markers {
            if *hollow {
                chart.draw_series(std::iter::once(Circle::new((*x, *y), 5, WHITE.filled())))?;
                chart.draw_series(std::iter::once(Circle::new((*x, *y), 5, l.color.stroke_width(2))))?;
            } else {
                chart.draw_series(std::iter::once(Circle::new((*x, *y), 4, l.color.filled())))?;
            }
        }
    }

    for r in &p.rules {
        chart.draw_series(DashedLineSeries::new(
            vec![(p.x.lo, r.y), (p.x.hi, r.y)],
            8,
            6,
            SLO.stroke_width(2),
        ))?;
        let (px, py) = chart.backend_coord(&(p.x.hi, r.y));
        let (_, top) = chart.backend_coord(&(p.x.hi, p.y.hi));
        // Above the line, or below it when the line runs along the top.
        let (dy, v) = if py - top < 22 {
            (5, VPos::Top)
        } else {
            (-5, VPos::Bottom)
        };
        root.draw(&Text::new(
            r.label.clone(),
            (px - 4, py + dy),
            anchored(bold(12.0, SLO), HPos::Right, v),
        ))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Run charts
// ---------------------------------------------------------------------------

/// Most points a time chart draws per series.
const MAX_POINTS: usize = 240;

/// Windows of `k` intervals: (end time, mean of the finite values, or a gap
/// when there are none).
fn rollup(t: &[f64], ys: &[f64], k: usize) -> Vec<(f64, f64)> {
    if k <= 1 {
        return t.iter().copied().zip(ys.iter().copied()).collect();
    }
    t.chunks(k)
        .zip(ys.chunks(k))
        .map(|(tc, yc)| {
            let finite: Vec<f64> = yc.iter().copied().filter(|v| v.is_finite()).collect();
            let y = if finite.is_empty() {
                f64::NAN
            } else {
                finite.iter().sum::<f64>() / finite.len() as f64
            };
            (tc.last().copied().unwrap_or(f64::NAN), y)
        })
        .collect()
}

/// The time axis: seconds, or minutes for runs longer than 20 minutes.
fn time_axis(t_max: f64) -> (Axis, f64) {
    let (div, desc) = if t_max > 1200.0 {
        (60.0, "Simulated time (min)")
    } else {
        (1.0, "Simulated time (s)")
    };
    (linear_axis(desc, 0.0, t_max / div, 8, false, false), div)
}

/// The y axis for values from zero: linear from 0, or logarithmic when the
/// positive values span more than two decades.
fn value_axis(desc: &str, values: &[f64], allow_log: bool) -> Axis {
    if allow_log && let Some((lo, hi)) = wants_log(values.iter().copied()) {
        return log_axis(desc, lo, hi);
    }
    let hi = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    linear_axis(desc, 0.0, hi, 6, true, false)
}

/// The charts of one run: latency, throughput and errors, availability,
/// utilisation and queue length per service, replicas (when they change)
/// and the latency CDF. `columns`/`rows` are a replication's time series,
/// `annotations` shade intervals of the time charts. Charts without data
/// are left out.
pub fn run_charts(
    columns: &[String],
    rows: &[Vec<f64>],
    latency_cdf: &[(f64, f64)],
    annotations: &[Annotation],
) -> Vec<ChartFile> {
    let mut plots: Vec<Plot> = Vec::new();
    let col = |name: &str| columns.iter().position(|c| c == name);
    let series = |i: usize| -> Vec<f64> {
        rows.iter()
            .map(|r| r.get(i).copied().unwrap_or(f64::NAN))
            .collect()
    };
    if let (Some(ti), false) = (col("t_s"), rows.is_empty()) {
        let t = series(ti);
        let t_max = t.iter().copied().fold(0.0, f64::max);
        let (x, div) = time_axis(t_max);
        let tx: Vec<f64> = t.iter().map(|v| v / div).collect();
        // Only intervals that overlap the run are drawn (and numbered).
        let bands: Vec<Annotation> = annotations
            .iter()
            .filter(|a| a.end_s >= 0.0 && a.start_s <= t_max && a.end_s >= a.start_s)
            .map(|a| Annotation {
                start_s: a.start_s / div,
                end_s: a.end_s / div,
                label: a.label.clone(),
            })
            .collect();
        let interval = match t.as_slice() {
            [a, b, ..] if b > a => b - a,
            [a, ..] if *a > 0.0 => *a,
            _ => 1.0,
        };
        let interval_text = if (interval - interval.round()).abs() < 1e-9 {
            format!("{} s", interval.round())
        } else {
            format!("{interval} s")
        };
        // Thousands of intervals are a solid smear at 800 pixels: beyond
        // MAX_POINTS they are averaged in windows of `k` intervals.
        let k = tx.len().div_ceil(MAX_POINTS).max(1);
        let window = if k > 1 {
            format!(
                ", averaged over {} s windows",
                trim_zeros(fmt_value(interval * k as f64))
            )
        } else {
            String::new()
        };
        let pts = |ys: &[f64]| -> Vec<(f64, f64)> { rollup(&tx, ys, k) };
        let ys_of = |lines: &[&Vec<(f64, f64)>]| -> Vec<f64> {
            lines.iter().flat_map(|l| l.iter().map(|p| p.1)).collect()
        };
        let throughput = col("throughput_rps").map(series);

        // Latency percentiles per interval; an interval without a completed
        // request has no latency, so its points are gaps.
        let lat: Vec<(&str, RGBColor, Vec<f64>)> = [
            ("p50", "latency_p50_ms", BLUE),
            ("p95", "latency_p95_ms", ORANGE),
            ("p99", "latency_p99_ms", VERMILLION),
        ]
        .into_iter()
        .filter_map(|(label, c, colr)| {
            let mut v = series(col(c)?);
            if let Some(tp) = &throughput {
                for (v, tp) in v.iter_mut().zip(tp) {
                    if *tp <= 0.0 {
                        *v = f64::NAN;
                    }
                }
            }
            Some((label, colr, v))
        })
        .collect();
        // The p99 users felt, failures and give-ups included: drawn only
        // when it differs from the p99 of successes somewhere, since it is
        // the line that stays up when nothing succeeds.
        let mut lat = lat;
        if let (Some(all), Some(p99)) = (col("latency_all_p99_ms"), col("latency_p99_ms")) {
            let mut v = series(all);
            let ok = series(p99);
            if let Some(er) = col("errors").map(series) {
                let tp = throughput.clone().unwrap_or_default();
                for (i, v) in v.iter_mut().enumerate() {
                    if er.get(i).copied().unwrap_or(0.0) <= 0.0 && tp.get(i).copied().unwrap_or(0.0) <= 0.0 {
                        *v = f64::NAN;
                    }
                }
            }
            if v.iter()
                .zip(&ok)
                .any(|(a, b)| a.is_finite() && (a - b).abs() > 1e-9)
            {
                lat.push(("p99, failures included", PURPLE, v));
            }
        }
        if lat.iter().any(|(_, _, v)| v.iter().any(|x| x.is_finite())) {
            let lat: Vec<(&str, RGBColor, Points)> = lat.iter().map(|(l, c, v)| (*l, *c, pts(v))).collect();
            let all = ys_of(&lat.iter().map(|l| &l.2).collect::<Vec<_>>());
            let y = value_axis("Latency (ms)", &all, true);
            let mut p = Plot::new("latency.svg", "Latency over time", x.clone(), y);
            p.subtitle = Some(format!(
                "percentiles of the requests completed in each {interval_text} interval{window}{}",
                if p.y.log { " (log scale)" } else { "" }
            ));
            for (label, c, v) in lat {
                p.line(label, c, v);
            }
            p.bands = bands.clone();
            plots.push(p);
        }

        if let Some(tp) = &throughput {
            let tp = pts(tp);
            let errors: Option<Vec<(f64, f64)>> = col("errors").map(|i| {
                let per_s: Vec<f64> = series(i).iter().map(|e| e / interval).collect();
                pts(&per_s)
            });
            let mut lines = vec![&tp];
            lines.extend(errors.iter());
            let all = ys_of(&lines);
            let y = value_axis("Requests per second", &all, false);
            let mut p = Plot::new("throughput.svg", "Throughput and errors over time", x.clone(), y);
            p.subtitle = Some(format!(
                "requests per second in each {interval_text} interval{window}"
            ));
            p.line("successful", BLUE, tp);
            if let Some(e) = errors {
                p.line("errors", VERMILLION, e);
            }
            p.bands = bands.clone();
            plots.push(p);
        }

        if let Some(ai) = col("availability") {
            let a: Vec<f64> = series(ai).iter().map(|v| v * 100.0).collect();
            let a = pts(&a);
            let min = a
                .iter()
                .map(|p| p.1)
                .filter(|v| v.is_finite())
                .fold(100.0, f64::min);
            let lo = (min - (100.0 - min) * 0.1).clamp(0.0, 99.0);
            let mut y = linear_axis("Availability (%)", lo, 100.0, 5, true, false);
            y.ticks.retain(|(v, _)| *v <= 100.0 + 1e-9);
            y.hi = 100.0 + (100.0 - y.lo) * 0.02;
            let mut p = Plot::new("availability.svg", "Availability over time", x.clone(), y);
            p.subtitle = Some(format!(
                "successful ÷ answered requests in each {interval_text} interval{window}"
            ));
            p.line("availability", GREEN, a);
            p.bands = bands.clone();
            plots.push(p);
        }

        let per_service = |suffix: &str| -> Vec<(String, Vec<f64>)> {
            columns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| Some((c.strip_suffix(suffix)?.to_string(), series(i))))
                .collect()
        };

        let util = per_service(".utilization");
        if !util.is_empty() {
            let scaled: Vec<(String, Vec<(f64, f64)>)> = util
                .into_iter()
                .map(|(n, v)| (n, pts(&v.iter().map(|u| u * 100.0).collect::<Vec<_>>())))
                .collect();
            let max = ys_of(&scaled.iter().map(|l| &l.1).collect::<Vec<_>>())
                .into_iter()
                .filter(|v| v.is_finite())
                .fold(100.0, f64::max);
            let y = linear_axis("Utilization (% of cores busy)", 0.0, max, 5, true, false);
            let mut p = Plot::new(
                "utilization.svg",
                "Utilization per service over time",
                x.clone(),
                y,
            );
            for (i, (n, v)) in scaled.iter().enumerate() {
                p.line(n, color(i), v.clone());
            }
            if let [(name, _)] = scaled.as_slice() {
                p.subtitle = Some(format!("service {name}"));
            }
            p.bands = bands.clone();
            plots.push(p);
        }

        let queues: Vec<(String, Vec<(f64, f64)>)> = per_service(".queue_length")
            .into_iter()
            .map(|(n, v)| (n, pts(&v)))
            .collect();
        if !queues.is_empty() {
            let all = ys_of(&queues.iter().map(|l| &l.1).collect::<Vec<_>>());
            let y = value_axis("Requests waiting (time average)", &all, false);
            let mut p = Plot::new(
                "queue-length.svg",
                "Queue length per service over time",
                x.clone(),
                y,
            );
            for (i, (n, v)) in queues.iter().enumerate() {
                p.line(n, color(i), v.clone());
            }
            if let [(name, _)] = queues.as_slice() {
                p.subtitle = Some(format!("service {name}"));
            }
            p.bands = bands.clone();
            plots.push(p);
        }

        // The data tier: requests per shard (a hot shard is the line above
        // the rest), cache hit ratios, stale reads per interval.
        let shard_rps: Vec<(String, Vec<(f64, f64)>)> = per_service(".rps")
            .into_iter()
            .map(|(n, v)| (n, pts(&v)))
            .collect();
        if !shard_rps.is_empty() {
            let all = ys_of(&shard_rps.iter().map(|l| &l.1).collect::<Vec<_>>());
            let y = value_axis("Requests per second", &all, false);
            let mut p = Plot::new("shards.svg", "Requests per shard over time", x.clone(), y);
            for (i, (n, v)) in shard_rps.iter().enumerate() {
                p.line(n, color(i), v.clone());
            }
            p.bands = bands.clone();
            plots.push(p);
        }
        let hits: Vec<(String, Vec<(f64, f64)>)> = per_service(".hit_ratio")
            .into_iter()
            .map(|(n, v)| (n, pts(&v.iter().map(|u| u * 100.0).collect::<Vec<_>>())))
            .collect();
        if !hits.is_empty() {
            let y = linear_axis("Hit ratio (%)", 0.0, 100.0, 5, true, false);
            let mut p = Plot::new("hit-ratio.svg", "Cache hit ratio over time", x.clone(), y);
            for (i, (n, v)) in hits.iter().enumerate() {
                p.line(n, color(i), v.clone());
            }
            if let [(name, _)] = hits.as_slice() {
                p.subtitle = Some(format!("cache {name}"));
            }
            p.bands = bands.clone();
            plots.push(p);
        }
        let stale: Vec<(String, Vec<(f64, f64)>)> = per_service(".stale_reads")
            .into_iter()
            .map(|(n, v)| (n, pts(&v)))
            .collect();
        if stale.iter().any(|(_, v)| v.iter().any(|(_, y)| *y > 0.0)) {
            let all = ys_of(&stale.iter().map(|l| &l.1).collect::<Vec<_>>());
            let y = value_axis("Stale reads per interval", &all, false);
            let mut p = Plot::new("stale-reads.svg", "Stale reads over time", x.clone(), y);
            p.subtitle = Some(format!(
                "reads that returned a version older than one already committed, per {interval_text} interval"
            ));
            for (i, (n, v)) in stale.iter().enumerate() {
                p.line(n, color(i), v.clone());
            }
            p.bands = bands.clone();
            plots.push(p);
        }

        let replicas = per_service(".replicas");
        let changes = replicas.iter().any(|(_, v)| {
            v.iter()
                .filter(|x| x.is_finite())
                .any(|x| v.first().is_some_and(|f| x != f))
        });
        if changes {
            let max = replicas
                .iter()
                .flat_map(|(_, v)| v.iter().copied())
                .filter(|v| v.is_finite())
                .fold(1.0, f64::max);
            let y = linear_axis("Replicas", 0.0, max + 1.0, 6, true, true);
            let mut p = Plot::new("replicas.svg", "Replicas per service over time", x.clone(), y);
            for (i, (n, v)) in replicas.iter().enumerate() {
                // A step, drawn only where the count changes.
                let mut s: Vec<(f64, f64)> = Vec::new();
                for (j, (t, r)) in tx.iter().zip(v).enumerate() {
                    let changed = j > 0 && *r != v[j - 1];
                    if changed {
                        s.push((*t, v[j - 1]));
                    }
                    if j == 0 || changed || j + 1 == v.len() {
                        s.push((*t, *r));
                    }
                }
                p.line(n, color(i), s);
            }
            p.bands = bands.clone();
            plots.push(p);
        }
    }

    if let Some(p) = cdf_plot("latency-cdf.svg", "Latency distribution", &[("all", latency_cdf)]) {
        plots.push(p);
    }
    plots.iter().filter_map(Plot::render).collect()
}

/// Cumulative distribution of latency, one line per (label, points);
/// x logarithmic when latencies span more than two decades.
fn cdf_plot(file: &str, title: &str, inputs: &[(&str, &[(f64, f64)])]) -> Option<Plot> {
    let inputs: Vec<(&str, Vec<(f64, f64)>)> = inputs
        .iter()
        .map(|(l, pts)| {
            (
                *l,
                pts.iter()
                    .copied()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    if inputs.is_empty() {
        return None;
    }
    // The fastest 0.1% would stretch a log axis over decades of nothing.
    let inputs: Vec<(&str, Vec<(f64, f64)>)> = inputs
        .into_iter()
        .map(|(l, pts)| {
            let from = pts.iter().position(|(_, f)| *f >= 0.001).unwrap_or(0);
            (l, pts[from..].to_vec())
        })
        .collect();
    let xs = || inputs.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x));
    let (x, log) = match wants_log(xs()) {
        Some((lo, hi)) => (log_axis("Latency (ms, log scale)", lo, hi), true),
        None => {
            let hi = xs().fold(0.0, f64::max);
            (linear_axis("Latency (ms)", 0.0, hi, 8, true, false), false)
        }
    };
    let mut y = linear_axis("Fraction of requests at or below", 0.0, 1.0, 5, true, false);
    y.hi = 1.02;
    let mut p = Plot::new(file, title, x, y);
    p.subtitle = Some("cumulative distribution of the latency of successful requests".into());
    for (i, (label, pts)) in inputs.iter().enumerate() {
        let pts: Vec<(f64, f64)> = if log {
            pts.iter().copied().filter(|(x, _)| *x > 0.0).collect()
        } else {
            pts.clone()
        };
        p.line(label, color(i), pts);
    }
    Some(p)
}

// ---------------------------------------------------------------------------
// Sweep charts
// ---------------------------------------------------------------------------

/// A metric's axis label and the factor that converts it (fractions to %).
fn metric_label(metric: &str) -> (String, f64) {
    if metric == "availability" || metric.ends_with(".availability") {
        return (format!("{} (%)", title_case(metric)), 100.0);
    }
    if metric.ends_with("utilization") || metric.ends_with("hit_ratio") {
        return (format!("{metric} (%)"), 100.0);
    }
    if metric == "throughput_rps" {
        return ("Throughput (req/s)".into(), 1.0);
    }
    if let Some(rest) = metric.strip_prefix("latency.")
        && let Some(q) = rest.strip_suffix("_ms")
    {
        let name = match q {
            "mean" => "Mean latency".to_string(),
            "max" => "Maximum latency".to_string(),
            "p999" => "p99.9 latency".to_string(),
            q => format!("{q} latency"),
        };
        return (format!("{name} (ms)"), 1.0);
    }
    for (suffix, unit) in [("_ms", "ms"), ("_rps", "req/s"), ("_s", "s")] {
        if metric.ends_with(suffix) {
            return (format!("{metric} ({unit})"), 1.0);
        }
    }
    (metric.to_string(), 1.0)
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

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
    let texts: Vec<String> = values.iter().map(crate::sweep::grid::label).collect();
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

/// The sweep's charts: for each metric of `plot.y` (default latency p99,
/// throughput, availability), the metric against `plot.x` (default the
/// first varied parameter), one line per value of `plot.series` (default
/// the second), means with 95% error bars, and a dashed line for each SLO
/// target on that metric (`slo` as from `SloSpec::targets`). Parameters
/// beyond x and series are held at their first value.
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
    let points: Vec<&crate::sweep::PointReport> = report
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
            let mut pts: Vec<(f64, f64, bool, Option<f64>)> = points
                .iter()
                .filter(|p| match (sv, &series_param) {
                    (Some(v), Some(s)) => p.params.get(s) == Some(*v),
                    _ => true,
                })
                .filter_map(|p| {
                    let x = x_of(p.params.get(&x_param)?)?;
                    let m = p.metrics.get(metric)?;
                    let unstable = p.notes.iter().any(|n| n.starts_with("UNSTABLE"));
                    Some((x, m.value * scale, unstable, m.ci95.map(|c| c * scale)))
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
                (Some(v), Some(_)) => crate::sweep::grid::label(v),
                _ => metric.clone(),
            };
            lines.push(Line {
                label,
                color: c,
                points: pts.iter().map(|(x, y, _, _)| (x + dodge, *y)).collect(),
                markers: pts.iter().map(|(x, y, u, _)| (x + dodge, *y, *u)).collect(),
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
        if lines.iter().any(|l| l.markers.iter().any(|m| m.2)) {
            sub.push_str(", open circle: UNSTABLE");
        }
        for (k, v) in &fixed {
            sub.push_str(&format!(", {k}={}", crate::sweep::grid::label(v)));
        }
        p.subtitle = Some(sub);
        p.legend_title = series_param.as_ref().map(|s| format!("{s}:"));
        p.lines = lines;
        p.errbars = errbars;
        p.rules = rules;
        if let Some(c) = p.render() {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Compare charts
// ---------------------------------------------------------------------------

/// Input letters as in `archsim compare`'s table: A, B, …
fn letter(i: usize) -> String {
    if i < 26 {
        char::from(b'A' + i as u8).to_string()
    } else {
        format!("#{}", i + 1)
    }
}

/// Charts comparing runs: their latency CDFs overlaid, and the headline
/// metrics (throughput, mean and p99 latency, availability) as bars, one
/// panel per metric, one bar per input with its 95% interval.
pub fn compare_charts(names: &[String], reports: &[&Report]) -> Vec<ChartFile> {
    let labels: Vec<String> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = names.get(i).cloned().unwrap_or_else(|| r.scenario.clone());
            format!("{}: {}", letter(i), shorten(&name, 40))
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
    let panels: Vec<(&str, String, f64)> = [
        "throughput_rps",
        "latency.mean_ms",
        "latency.p99_ms",
        "availability",
    ]
    .into_iter()
    .filter(|m| reports.iter().any(|r| r.metrics.contains_key(*m)))
    .map(|m| {
        let (l, s) = metric_label(m);
        (m, l, s)
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
            r.metrics
                .get(metric)
                .map(|m| (m.value * scale, m.ci95.map(|c| c * scale)))
        })
        .collect();
    let tops: Vec<f64> = vals.iter().flatten().map(|(v, c)| v + c.unwrap_or(0.0)).collect();
    let bottoms: Vec<f64> = vals.iter().flatten().map(|(v, c)| v - c.unwrap_or(0.0)).collect();
    let max = tops.iter().copied().fold(0.0, f64::max);
    // Availability sits near 100%: bars from zero would all look equal, so
    // that panel starts just below the lowest value (its ticks say so).
    let y = if scale == 100.0 {
        let min = bottoms.iter().copied().fold(100.0, f64::min);
        let lo = (min - (100.0 - min).max(0.05) * 0.5).max(0.0);
        let mut a = linear_axis(desc, lo, 100.0, 4, true, false);
        a.ticks.retain(|(v, _)| *v <= 100.0 + 1e-9);
        a.hi = 100.0 + (100.0 - a.lo) * 0.12;
        a
    } else {
        let mut a = linear_axis(desc, 0.0, max * 1.12, 4, true, false);
        if a.hi < max * 1.12 {
            a.hi = max * 1.12;
        }
        a
    };
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
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(letters.len().max(2))
        .y_labels(y.ticks.len().max(2))
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .y_desc(desc.to_string())
        .label_style(font(TEXT_PX, INK))
        .axis_desc_style(font(DESC_PX - 1.0, INK))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS.stroke_width(1))
        .draw()?;
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

/// A value label: four significant figures, plain notation.
fn fmt_value(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let mag = v.abs().log10().floor() as i32;
    let decimals = (3 - mag).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// The font database for PNG text: DejaVu Sans, embedded, as every
/// generic family, so rendering never looks at the system's fonts.
fn fontdb() -> Arc<resvg::usvg::fontdb::Database> {
    static DB: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(dejavu::sans::regular().to_vec());
        db.load_font_data(dejavu::sans::bold().to_vec());
        for set in [
            resvg::usvg::fontdb::Database::set_sans_serif_family,
            resvg::usvg::fontdb::Database::set_serif_family,
            resvg::usvg::fontdb::Database::set_monospace_family,
            resvg::usvg::fontdb::Database::set_cursive_family,
            resvg::usvg::fontdb::Database::set_fantasy_family,
        ] {
            set(&mut db, "DejaVu Sans");
        }
        Arc::new(db)
    })
    .clone()
}

/// Rasterise an SVG chart to PNG (at [`PNG_SCALE`] × its size, on white),
/// with text in the embedded DejaVu Sans.
pub fn to_png(svg: &str) -> Result<Vec<u8>, String> {
    let opt = resvg::usvg::Options {
        font_family: "DejaVu Sans".into(),
        fontdb: fontdb(),
        ..Default::default()
    };
    let tree = resvg::usvg::Tree::from_str(svg, &opt).map_err(|e| format!("invalid SVG: {e}"))?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(PNG_SCALE)
        .ok_or("SVG too large")?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| format!("cannot allocate a {}×{} image", size.width(), size.height()))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| format!("cannot encode PNG: {e}"))
}

/// Each chart as a file: <file> (SVG) and, with png, <stem>.png.
pub fn chart_files(charts: &[ChartFile], png: bool) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for c in charts {
        out.push((c.file.clone(), c.svg.clone().into_bytes()));
        if png {
            let bytes = to_png(&c.svg).map_err(std::io::Error::other)?;
            let stem = c.file.strip_suffix(".svg").unwrap_or(&c.file);
            out.push((format!("{stem}.png"), bytes));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dejavu_widths() {
        // "0" is 1303/2048 em.
        assert!((text_width("00", 2048.0) - 2606.0).abs() < 1e-9);
        assert!(text_width("Wide", 13.0) > text_width("iiii", 13.0));
    }

    #[test]
    fn nice_ticks() {
        let a = linear_axis("", 0.0, 287.0, 6, true, false);
        let t: Vec<&str> = a.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(t, ["0", "50", "100", "150", "200", "250", "300"]);
        let a = linear_axis("", 99.0, 100.0, 5, true, false);
        let t: Vec<&str> = a.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(t, ["99.0", "99.2", "99.4", "99.6", "99.8", "100.0"]);
        let a = linear_axis("", 0.0, 1.0, 5, true, false);
        assert_eq!(a.ticks[1].1, "0.2");
        let a = linear_axis("", 0.0, 0.000004, 4, true, false);
        assert_eq!(a.ticks[1].1, "0.000001");
        let a = log_axis("", 3.0, 40000.0);
        let t: Vec<&str> = a.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(t, ["1", "10", "100", "1k", "10k", "100k"]);
        let a = linear_axis("", 0.0, 250_000.0, 5, true, false);
        let t: Vec<&str> = a.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(t, ["0", "50k", "100k", "150k", "200k", "250k"]);
        let a = log_axis("", 0.3, 8.0);
        let t: Vec<&str> = a.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(t, ["0.1", "0.2", "0.5", "1", "2", "5", "10"]);
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

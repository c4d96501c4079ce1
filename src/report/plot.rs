//! The plotting kit of every chart (SPEC §3, issue 4): axes, lines, bars,
//! bands, legends, the palette, drawn with plotters as SVG and, on request,
//! rasterised to PNG with resvg. Which charts a run, a sweep or a comparison
//! gets is decided in [`super::charts`], `sweep::charts` and `compare::charts`.
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
//!   series' colour;
//! - a point marker is a `<circle>` (a filled dot, or an open ring for an
//!   UNSTABLE point), or, for an SLO verdict, a `×` of two `<polyline
//!   stroke-width="3">` in [`FAIL_COLOR`] (missed) or an open diamond (two
//!   `<polygon>`s) in the series' colour (undecided);
//! - a bar is a translucent `<rect>` filled with its series' palette colour
//!   (opacity below 1; legend swatches are opaque) and an outline `<rect>`;
//! - a prediction beside the data (explain's theory) is a `<polyline
//!   stroke-width="1">` in the series' colour with a `stroke-dasharray`;
//! - a value above a clipped axis is a `<polygon>` triangle at the top
//!   edge and a `<text>` with the value.

#[cfg(feature = "cli")]
use std::sync::{Arc, OnceLock};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::math;
use crate::model::Annotation;

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
/// Colour of a missed SLO's marker (the page's `.verdict.fail`).
pub const FAIL_COLOR: &str = "#C03A00";

pub(crate) const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
pub(crate) const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
pub(crate) const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
pub(crate) const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
pub(crate) const PURPLE: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
pub(crate) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub(crate) const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);
pub(crate) const GRID: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);
pub(crate) const AXIS: RGBColor = RGBColor(0x66, 0x66, 0x66);
pub(crate) const BAND: RGBColor = RGBColor(0x7F, 0x7F, 0x7F);
pub(crate) const SLO: RGBColor = RGBColor(0x33, 0x33, 0x33);
pub(crate) const FAIL: RGBColor = RGBColor(0xC0, 0x3A, 0x00);

/// The i-th palette colour (cycling after eight series).
pub(crate) fn color(i: usize) -> RGBColor {
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
pub(crate) const DEJAVU_ADVANCE: [u16; 95] = [
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303, 1303, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048, 1401, 1405, 1430, 1577,
    1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300, 1251, 1499, 1401,
    2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024, 1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298,
    569, 569, 1186, 569, 1995, 1298, 1253, 1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075,
    1303, 690, 1303, 1716,
];

/// Width in pixels of `s` set in DejaVu Sans at `px` pixels.
pub fn text_width(s: &str, px: f64) -> f64 {
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
pub(crate) fn font(px: f64, color: RGBColor) -> TextStyle<'static> {
    ("sans-serif", px * 1.24).into_font().color(&color)
}

pub(crate) fn bold(px: f64, color: RGBColor) -> TextStyle<'static> {
    FontDesc::new(FontFamily::SansSerif, px * 1.24, FontStyle::Bold).color(&color)
}

pub(crate) fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

pub(crate) const TITLE_PX: f64 = 17.0;
/// Size of tick labels, legends and keys, pixels.
pub const TEXT_PX: f64 = 13.0;
pub(crate) const DESC_PX: f64 = 14.0;

/// `s` cut to at most `max` characters, keeping its end (paths differ there).
pub(crate) fn shorten(s: &str, max: usize) -> String {
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
pub(crate) struct Axis {
    pub(crate) desc: String,
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) log: bool,
    pub(crate) ticks: Vec<(f64, String)>,
}

/// An axis's coordinate: plotters' linear or log mapping, with exactly
/// our ticks as its key points (and no minor ones).
pub(crate) struct Ticked<R> {
    pub(crate) inner: R,
    pub(crate) ticks: Vec<f64>,
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

pub(crate) enum Coord {
    Linear(Ticked<RangedCoordf64>),
    Log(Ticked<LogCoord<f64>>),
}

impl Axis {
    pub(crate) fn coord(&self) -> Coord {
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

    pub(crate) fn label_of(&self, v: f64) -> String {
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

    pub(crate) fn widest_label(&self) -> f64 {
        self.ticks
            .iter()
            .map(|(_, l)| text_width(l, TEXT_PX))
            .fold(0.0, f64::max)
    }
}

/// A step of 1, 2, 2.5 or 5 × 10^k giving about `target` intervals over `span`.
pub(crate) fn nice_step(span: f64, target: usize) -> f64 {
    let raw = span / target.max(1) as f64;
    let mag = math::powf(10f64, math::log10(raw).floor());
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
pub(crate) fn fmt_tick(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

/// Tick labels of an axis reaching 100,000 or more in thousands (1k, 10k,
/// 250k) or millions (1M, 2.5M), all alike, so they stay short.
pub(crate) fn shorten_large(ticks: &mut [(f64, String)]) {
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

pub(crate) fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

pub(crate) fn decimals_for(step: f64) -> usize {
    if step <= 0.0 || !step.is_finite() {
        return 0;
    }
    let d = (-math::log10(step) - 1e-9).ceil();
    // 2.5 × 10^k needs one more place than its magnitude says.
    let extra = if ((step / math::powf(10f64, math::log10(step).floor())) - 2.5).abs() < 1e-9 {
        1.0
    } else {
        0.0
    };
    (d + extra).clamp(0.0, 9.0) as usize
}

/// A linear axis over [lo, hi]: the range widened to whole ticks when
/// `snap`, else ticks inside the data range only (time axes end where the
/// run ends).
pub(crate) fn linear_axis(desc: &str, lo: f64, hi: f64, target: usize, snap: bool, integer: bool) -> Axis {
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
pub(crate) fn log_axis(desc: &str, lo: f64, hi: f64) -> Axis {
    let a = math::log10(lo).floor() as i32;
    let b = (math::log10(hi).ceil() as i32).max(a + 1);
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
pub(crate) fn wants_log(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (hi > 0.0 && hi / lo > 100.0).then_some((lo, hi))
}

/// A categorical axis: positions 0..n−1, each labelled.
pub(crate) fn category_axis(desc: &str, labels: &[String]) -> Axis {
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

/// An availability as its number of nines, −log10(1 − a): 0.9 is 1,
/// 0.999 is 3. A perfect 1 (or more) counts as [`MAX_NINES`], the top of
/// any nines scale.
pub(crate) fn nines(a: f64) -> f64 {
    let miss = (1.0 - a).max(math::powf(10f64, -MAX_NINES));
    (-math::log10(miss)).clamp(0.0, MAX_NINES)
}

/// Most nines a nines scale shows (99.9999%).
pub(crate) const MAX_NINES: f64 = 6.0;

/// A "nines" axis for availabilities crowded near 100%: the axis runs in
/// nines (see [`nines`]) from 0 (0%) to `top` nines, a tick at each whole
/// nine labelled as the availability it stands for (90%, 99%, 99.9%).
/// Equal steps are equal factors of unavailability, so 99% and 99.99%,
/// a hundred times fewer failures, sit far apart instead of 1% apart.
pub(crate) fn nines_axis(desc: &str, top: f64) -> Axis {
    let top = top.ceil().clamp(2.0, MAX_NINES);
    let ticks = (0..=top as usize)
        .map(|k| {
            let label = if k == 0 {
                "0%".to_string()
            } else {
                let pct = 100.0 * (1.0 - 10f64.powi(-(k as i32)));
                format!("{pct:.*}%", k.saturating_sub(2))
            };
            (k as f64, label)
        })
        .collect();
    Axis {
        desc: desc.to_string(),
        lo: 0.0,
        hi: top,
        log: false,
        ticks,
    }
}

/// How the labels of a category axis are written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum CategoryLabels {
    /// Each category's label in one or two lines, every line narrower
    /// than its slot.
    Lines(Vec<Vec<String>>),
    /// Labels too long even in two lines: each category is a letter (A,
    /// B, …; numbers past Z) and a key under the chart gives (letter, full
    /// label).
    Keyed(Vec<(String, String)>),
}

/// Width of the narrowest plot area a chart can have (the widest y labels
/// and margins taken off [`WIDTH`]), pixels: category labels are fitted to
/// it, so they fit in every chart.
pub(crate) const MIN_PLOT_WIDTH: f64 = 600.0;

/// Room around a category label in its slot, pixels.
const LABEL_GAP: f64 = 10.0;

/// `label` in at most two lines no wider than `room`, split after a space,
/// comma, `=`, `_`, `/`, `:` or `-` so that the wider line is as narrow as
/// possible; None when no split fits.
fn wrap_two(label: &str, room: f64) -> Option<Vec<String>> {
    let w = |s: &str| text_width(s, TEXT_PX);
    if w(label) <= room {
        return Some(vec![label.to_string()]);
    }
    label
        .char_indices()
        .filter(|(_, c)| matches!(c, ' ' | ',' | '=' | '_' | '/' | ':' | '-'))
        .map(|(i, c)| {
            let (a, b) = label.split_at(i + c.len_utf8());
            (a.trim().to_string(), b.trim().to_string())
        })
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .map(|(a, b)| (w(&a).max(w(&b)), a, b))
        .filter(|(m, _, _)| *m <= room)
        .min_by(|x, y| x.0.total_cmp(&y.0))
        .map(|(_, a, b)| vec![a, b])
}

/// A category axis whose labels are never cut: positions 0..n−1; each
/// label that does not fit its slot (the narrowest plot's width over n)
/// wraps onto two lines, and when one does not fit in two lines either,
/// every category is named by a letter with the full labels in a key
/// under the chart. The axis's own tick labels are empty: the labels are
/// drawn by [`Plot::render`] from the [`CategoryLabels`] set in
/// [`Plot::x_labels`].
pub(crate) fn fitted_category_axis(desc: &str, labels: &[String]) -> (Axis, CategoryLabels) {
    let n = labels.len().max(1);
    let room = MIN_PLOT_WIDTH / n as f64 - LABEL_GAP;
    let wrapped: Option<Vec<Vec<String>>> = labels.iter().map(|l| wrap_two(l, room)).collect();
    let how = match wrapped {
        Some(lines) => CategoryLabels::Lines(lines),
        None => CategoryLabels::Keyed(
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let mark = if labels.len() <= 26 {
                        char::from(b'A' + i as u8).to_string()
                    } else {
                        (i + 1).to_string()
                    };
                    (mark, l.clone())
                })
                .collect(),
        ),
    };
    let axis = Axis {
        desc: desc.to_string(),
        lo: -0.5,
        hi: n as f64 - 0.5,
        log: false,
        ticks: (0..labels.len()).map(|i| (i as f64, String::new())).collect(),
    };
    (axis, how)
}

// ---------------------------------------------------------------------------
// A chart, described before it is drawn
// ---------------------------------------------------------------------------

/// (x, y) points of a line.
pub(crate) type Points = Vec<(f64, f64)>;

#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub(crate) label: String,
    pub(crate) color: RGBColor,
    /// (x, y); a non-finite y breaks the line.
    pub(crate) points: Vec<(f64, f64)>,
    /// Markers at the points: (x, y, shape).
    pub(crate) markers: Vec<(f64, f64, Marker)>,
    /// Its stroke: lines must be told apart without colour too (print,
    /// colour-blind readers), so related series (p50, p95, p99) differ in
    /// dash as well.
    pub(crate) dash: Dash,
    /// Stroke width in pixels (2 for data; 1 for a theory line beside it).
    pub(crate) width: u32,
}

/// A line's stroke pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Dash {
    #[default]
    Solid,
    /// Long dashes (8 on, 5 off).
    Dashed,
    /// Short dashes (2 on, 4 off).
    Dotted,
}

impl Dash {
    /// The (on, off) lengths in pixels of a broken stroke.
    pub(crate) fn pattern(self) -> Option<(u32, u32)> {
        match self {
            Dash::Solid => None,
            Dash::Dashed => Some((8, 5)),
            Dash::Dotted => Some((2, 4)),
        }
    }

    /// The opacity a broken line is drawn with, as a tag: plotters' SVG
    /// backend has no dash pattern, so the line is drawn whole (one
    /// polyline, not one per dash) with this opacity, and [`with_dashes`]
    /// turns the tag into a `stroke-dasharray`.
    fn tag(self) -> Option<f64> {
        match self {
            Dash::Solid => None,
            Dash::Dashed => Some(0.997),
            Dash::Dotted => Some(0.996),
        }
    }
}

/// Replace the opacity tags of broken lines (see [`Dash::tag`]) by their
/// dash patterns.
pub(crate) fn with_dashes(svg: String) -> String {
    let mut svg = svg;
    for d in [Dash::Dashed, Dash::Dotted] {
        if let (Some(tag), Some((on, off))) = (d.tag(), d.pattern()) {
            let from = format!("opacity=\"{tag}\"");
            if svg.contains(&from) {
                svg = svg.replace(&from, &format!("opacity=\"1\" stroke-dasharray=\"{on},{off}\""));
            }
        }
    }
    svg
}

/// The shape of a point marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    /// A filled dot in the series' colour.
    Dot,
    /// An open ring in the series' colour (an UNSTABLE point).
    Ring,
    /// A × in [`FAIL_COLOR`] on a white disc (an SLO missed).
    Cross,
    /// An open diamond in the series' colour (an SLO undecided).
    Diamond,
}

/// Draw a marker centred on pixel (x, y); `color` is the series' (all but
/// the cross, which is always in the fail colour).
pub(crate) fn draw_marker<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    color: RGBColor,
    marker: Marker,
) -> DrawResult<(), DB> {
    match marker {
        Marker::Dot => root.draw(&Circle::new((x, y), 4, color.filled())),
        Marker::Ring => {
            root.draw(&Circle::new((x, y), 5, WHITE.filled()))?;
            root.draw(&Circle::new((x, y), 5, color.stroke_width(2)))
        }
        Marker::Cross => {
            let r = 5;
            root.draw(&Circle::new((x, y), 7, WHITE.filled()))?;
            root.draw(&PathElement::new(
                vec![(x - r, y - r), (x + r, y + r)],
                FAIL.stroke_width(3),
            ))?;
            root.draw(&PathElement::new(
                vec![(x - r, y + r), (x + r, y - r)],
                FAIL.stroke_width(3),
            ))
        }
        Marker::Diamond => {
            // Two <polygon>s, an outer one in the colour and a white inner
            // one, so the outline is no `<polyline>` (a data line's shape).
            let diamond = |r: i32| vec![(x, y - r), (x + r, y), (x, y + r), (x - r, y)];
            root.draw(&Polygon::new(diamond(7), color.filled()))?;
            root.draw(&Polygon::new(diamond(4), WHITE.filled()))
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ErrBar {
    pub(crate) x: f64,
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) color: RGBColor,
}

/// A bar from 0 (or the axis's bottom) up to `y`, centred on `x`.
#[derive(Clone, Debug)]
pub(crate) struct Bar {
    pub(crate) x: f64,
    /// Half its width, in x-axis units.
    pub(crate) half: f64,
    pub(crate) y: f64,
    pub(crate) color: RGBColor,
}

/// A value above the top of a clipped axis: an upward triangle at the top
/// edge over `x`, in `color`, with `label` (the value) under it, and under
/// that the point's marker when it says something (a verdict, UNSTABLE).
#[derive(Clone, Debug)]
pub(crate) struct OffScale {
    pub(crate) x: f64,
    pub(crate) label: String,
    pub(crate) color: RGBColor,
    pub(crate) marker: Option<Marker>,
}

/// The legend entry of prediction lines ([`Plot::theory`]).
pub(crate) const THEORY_LABEL: &str = "theory (explain)";

#[derive(Clone, Debug)]
pub(crate) struct Rule {
    pub(crate) y: f64,
    pub(crate) label: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Plot {
    pub(crate) file: String,
    pub(crate) title: String,
    pub(crate) subtitle: Option<String>,
    pub(crate) x: Axis,
    pub(crate) y: Axis,
    pub(crate) lines: Vec<Line>,
    pub(crate) legend_title: Option<String>,
    /// Shaded intervals, in x-axis units.
    pub(crate) bands: Vec<Annotation>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) errbars: Vec<ErrBar>,
    /// What the point markers mean, a row under the legend: (label,
    /// colour, shape), after `marker_key_title`.
    pub(crate) marker_key: Vec<(String, RGBColor, Marker)>,
    pub(crate) marker_key_title: Option<String>,
    /// Bars, drawn under everything else but the shading.
    pub(crate) bars: Vec<Bar>,
    /// Predictions beside the data (thin dashed lines in the series'
    /// colours), never in the legend one by one: one entry,
    /// [`THEORY_LABEL`], stands for them all.
    pub(crate) theory: Vec<Line>,
    /// The legend's series entries when they are not the lines' (bars:
    /// squares); shown, like the lines', only when there are two or more.
    pub(crate) series_key: Vec<(String, RGBColor, Swatch)>,
    /// Labels of a category x axis drawn by the chart itself (the axis's
    /// tick labels are then empty): in lines under each category, or
    /// letters under them and a key under the chart.
    pub(crate) x_labels: Option<CategoryLabels>,
    /// Values above a clipped y axis.
    pub(crate) off_scale: Vec<OffScale>,
    /// Text placed beside points (a probe's order, a chosen point's name),
    /// drawn last.
    pub(crate) labels: Vec<PointLabel>,
}

/// Text beside a point, offset from it in pixels, optionally with a ring
/// around the point (a highlighted one).
#[derive(Clone, Debug)]
pub(crate) struct PointLabel {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) text: String,
    pub(crate) color: RGBColor,
    /// Offset of the text's anchor from the point, pixels.
    pub(crate) dx: i32,
    pub(crate) dy: i32,
    /// The text ends at its anchor (else it starts there).
    pub(crate) align_right: bool,
    /// The text hangs below its anchor (else it sits above it).
    pub(crate) hang: bool,
    pub(crate) px: f64,
    pub(crate) bold: bool,
    /// A ring of this radius around the point, in the label's colour.
    pub(crate) ring: Option<i32>,
}

impl Plot {
    pub(crate) fn new(file: &str, title: &str, x: Axis, y: Axis) -> Plot {
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
            marker_key: Vec::new(),
            marker_key_title: None,
            bars: Vec::new(),
            theory: Vec::new(),
            series_key: Vec::new(),
            x_labels: None,
            off_scale: Vec::new(),
            labels: Vec::new(),
        }
    }

    pub(crate) fn line(&mut self, label: &str, color: RGBColor, points: Vec<(f64, f64)>) {
        self.lines.push(Line {
            label: label.to_string(),
            color,
            points,
            markers: Vec::new(),
            dash: Dash::Solid,
            width: 2,
        });
    }

    pub(crate) fn render(&self) -> Option<ChartFile> {
        let svg = with_dashes(render_svg(|root| draw_plot(root, self)).ok()?);
        Some(ChartFile {
            file: self.file.clone(),
            title: self.title.clone(),
            svg,
        })
    }
}

pub(crate) type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draw onto a fresh white 800×450 SVG and return its text.
pub(crate) fn render_svg<F>(draw: F) -> Result<String, String>
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
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Swatch {
    Line,
    /// A broken line ([`Dash::Dashed`] or [`Dash::Dotted`]).
    Broken(Dash),
    LineAndMarker,
    Square,
}

/// One entry of a row of legend-like items under the title.
pub(crate) enum Item<'a> {
    /// Plain text (the legend's title).
    Heading(&'a str),
    /// A series: its swatch and label.
    Series(&'a str, RGBColor, Swatch),
    /// An annotation's number and label.
    Key(&'a str, &'a str),
    /// A point marker's meaning: its shape (in the colour given, but for
    /// the cross) and label.
    Mark(&'a str, RGBColor, Marker),
}

pub(crate) const SWATCH_W: f64 = 22.0;

impl Item<'_> {
    pub(crate) fn width(&self) -> f64 {
        match self {
            Item::Heading(t) => text_width(t, TEXT_PX),
            Item::Series(l, _, _) | Item::Mark(l, _, _) => SWATCH_W + 6.0 + text_width(l, TEXT_PX),
            Item::Key(n, l) => text_width(n, TEXT_PX) * 1.1 + 5.0 + text_width(l, TEXT_PX),
        }
    }
}

const FLOW_GAP: f64 = 18.0;

/// `items` split into rows no wider than the chart less 60 pixels.
fn flow_split<'b, 'a>(items: &'b [Item<'a>]) -> Vec<Vec<&'b Item<'a>>> {
    let max_row = f64::from(WIDTH) - 60.0;
    let mut rows: Vec<Vec<&Item>> = vec![Vec::new()];
    let mut used = 0.0;
    for it in items {
        let row = rows.last_mut().expect("rows is never empty");
        if !row.is_empty() && used + FLOW_GAP + it.width() > max_row {
            rows.push(vec![it]);
            used = it.width();
        } else {
            used += if row.is_empty() {
                it.width()
            } else {
                FLOW_GAP + it.width()
            };
            row.push(it);
        }
    }
    rows
}

/// How many rows [`flow`] lays `items` out in.
pub(crate) fn flow_rows(items: &[Item]) -> usize {
    flow_split(items).iter().filter(|r| !r.is_empty()).count()
}

/// Lay `items` out in centred rows from `y` down, wrapping where a row is
/// full; returns the y below the last row.
pub(crate) fn flow<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    y: i32,
    items: &[Item],
) -> DrawResult<i32, DB> {
    let gap = FLOW_GAP;
    let rows = flow_split(items);
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
                        Swatch::Broken(d) => {
                            let (on, off) = d.pattern().unwrap_or((SWATCH_W as u32, 0));
                            let mut x = x0;
                            while x < x0 + SWATCH_W as i32 {
                                let e = (x + on as i32).min(x0 + SWATCH_W as i32);
                                root.draw(&Rectangle::new([(x, cy - 1), (e, cy + 2)], c.filled()))?;
                                x = e + off as i32;
                            }
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
                Item::Mark(label, c, marker) => {
                    draw_marker(root, (x0 + SWATCH_W as i32 / 2, cy), *c, *marker)?;
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
pub(crate) fn draw_header<DB: DrawingBackend>(
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

pub(crate) const LEFT_MARGIN: i32 = 12;
pub(crate) const BAND_LABEL_PX: f64 = 12.0;
pub(crate) const BAND_ROW: i32 = 16;

/// Right margin: room for the last x tick label's right half.
pub(crate) fn right_margin(x: &Axis) -> i32 {
    let last = x.ticks.last().map(|(_, l)| text_width(l, TEXT_PX)).unwrap_or(0.0);
    (last / 2.0 + 8.0).max(24.0) as i32
}

/// Where annotation labels go: in rows above the plot, where they cannot
/// hide data, each in the first row where it overlaps no other. When three
/// rows are not enough, the bands are numbered instead and the labels
/// listed in a key under the legend.
pub(crate) struct BandLayout {
    /// What is written above each band.
    pub(crate) marks: Vec<String>,
    /// The row of each mark (0 nearest the plot).
    pub(crate) rows: Vec<usize>,
    /// Rows used.
    pub(crate) n_rows: usize,
    /// (number, label) when numbered.
    pub(crate) key: Vec<(String, String)>,
}

pub(crate) const MAX_BAND_ROWS: usize = 3;

pub(crate) fn band_layout(p: &Plot) -> BandLayout {
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
    // Numbered by distinct label: a replica that went down 30 times is one
    // number, written over each of its 30 bands.
    let mut distinct: Vec<(String, usize)> = Vec::new();
    let number: Vec<usize> = labels
        .iter()
        .map(|l| match distinct.iter().position(|(d, _)| d == l) {
            Some(i) => {
                distinct[i].1 += 1;
                i
            }
            None => {
                distinct.push((l.clone(), 1));
                distinct.len() - 1
            }
        })
        .collect();
    let counted = |(l, n): &(String, usize)| {
        if *n > 1 { format!("{l} (×{n})") } else { l.clone() }
    };
    let marks: Vec<String> = number.iter().map(|i| (i + 1).to_string()).collect();
    if p.bands.len() <= MAX_MARKED_BANDS
        && let Some((rows, n_rows)) = assign(&marks, false)
    {
        return BandLayout {
            key: distinct
                .iter()
                .enumerate()
                .map(|(i, d)| ((i + 1).to_string(), counted(d)))
                .collect(),
            marks,
            rows,
            n_rows,
        };
    }
    // Too many to mark one by one (a hundred random outages): the bands
    // stay shaded, unmarked, and the key says what they are, with counts.
    let mut key: Vec<(String, String)> = distinct
        .iter()
        .take(MAX_BAND_KEYS)
        .map(|d| (String::new(), counted(d)))
        .collect();
    if distinct.len() > MAX_BAND_KEYS {
        key.push((
            String::new(),
            format!("and {} more", distinct.len() - MAX_BAND_KEYS),
        ));
    }
    if let Some(first) = key.first_mut() {
        first.0 = "shaded:".into();
    }
    BandLayout {
        marks: vec![String::new(); p.bands.len()],
        rows: vec![0; p.bands.len()],
        n_rows: 0,
        key,
    }
}

/// Most bands marked one by one above the plot; beyond it, only the key.
pub(crate) const MAX_MARKED_BANDS: usize = 24;

/// Most distinct band labels in the key of an unmarked chart.
pub(crate) const MAX_BAND_KEYS: usize = 8;

pub(crate) fn draw_plot<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, p: &Plot) -> DrawResult<(), DB> {
    let mut legend: Vec<Item> = Vec::new();
    let series: Vec<Item> = if p.series_key.is_empty() {
        p.lines
            .iter()
            .map(|l| {
                let swatch = match (l.markers.is_empty(), l.dash) {
                    (true, Dash::Solid) => Swatch::Line,
                    (true, d) => Swatch::Broken(d),
                    (false, _) => Swatch::LineAndMarker,
                };
                Item::Series(&l.label, l.color, swatch)
            })
            .collect()
    } else {
        p.series_key
            .iter()
            .map(|(l, c, s)| Item::Series(l, *c, *s))
            .collect()
    };
    if series.len() > 1 {
        if let Some(t) = &p.legend_title {
            legend.push(Item::Heading(t));
        }
        legend.extend(series);
    }
    if !p.theory.is_empty() {
        legend.push(Item::Series(THEORY_LABEL, MUTED, Swatch::Broken(Dash::Dashed)));
    }
    let bands = band_layout(p);
    let mut key: Vec<Item> = bands.key.iter().map(|(n, l)| Item::Key(n, l)).collect();
    if !p.marker_key.is_empty() {
        if let Some(t) = &p.marker_key_title {
            key.push(Item::Heading(t));
        }
        key.extend(p.marker_key.iter().map(|(l, c, m)| Item::Mark(l, *c, *m)));
    }
    let top = draw_header(root, &p.title, p.subtitle.as_deref(), &legend, &key)?;
    let top = top + bands.n_rows as i32 * BAND_ROW + if bands.n_rows > 0 { 4 } else { 0 };
    // A key of category letters goes under the chart.
    let mut bottom = 10;
    if let Some(CategoryLabels::Keyed(k)) = &p.x_labels {
        let items: Vec<Item> = k.iter().map(|(n, l)| Item::Key(n, l)).collect();
        let rows = flow_rows(&items);
        bottom += rows as i32 * 20;
        flow(root, HEIGHT as i32 - 6 - rows as i32 * 20, &items)?;
    }
    let area = root.margin(top, bottom, LEFT_MARGIN, right_margin(&p.x));
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
pub(crate) fn y_label_area(y: &Axis) -> u32 {
    (y.widest_label() + 16.0 + 30.0).ceil() as u32
}

/// The house style of a chart's mesh, shared by every chart drawn through
/// plotters: tick labels at [`TEXT_PX`], axis titles at `desc_px`, light
/// grid lines only at the labelled ticks, grey axes.
pub(crate) fn house_mesh<'m, 'a, 'b, X, Y, DB>(
    m: &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>,
    desc_px: f64,
) -> &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged,
    Y: Ranged,
    DB: DrawingBackend,
{
    m.label_style(font(TEXT_PX, INK))
        .axis_desc_style(font(desc_px, INK))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS.stroke_width(1))
}

pub(crate) fn draw_body<DB, X, Y>(
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
    let two_lines = matches!(&p.x_labels, Some(CategoryLabels::Lines(l)) if l.iter().any(|l| l.len() > 1));
    let mut chart = ChartBuilder::on(area)
        .x_label_area_size(if two_lines { 66 } else { 50 })
        .y_label_area_size(y_label_area(&p.y))
        .build_cartesian_2d(xr, yr)?;
    let xfmt = |v: &f64| p.x.label_of(*v);
    let yfmt = |v: &f64| p.y.label_of(*v);
    let mut mesh = chart.configure_mesh();
    if !p.bars.is_empty() {
        // No vertical grid lines through the bars.
        mesh.disable_x_mesh();
    }
    mesh.x_labels(p.x.ticks.len().max(2))
        .y_labels(p.y.ticks.len().max(2))
        .x_label_formatter(&xfmt)
        .y_label_formatter(&yfmt)
        .x_desc(p.x.desc.clone())
        .y_desc(p.y.desc.clone());
    house_mesh(&mut mesh, DESC_PX).draw()?;

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

    for b in &p.bars {
        let base = if p.y.log {
            p.y.lo
        } else {
            0f64.clamp(p.y.lo, p.y.hi)
        };
        let top = b.y.clamp(p.y.lo, p.y.hi);
        let corners = [(b.x - b.half, top), (b.x + b.half, base)];
        chart.draw_series(std::iter::once(Rectangle::new(
            corners,
            b.color.mix(0.45).filled(),
        )))?;
        chart.draw_series(std::iter::once(Rectangle::new(corners, b.color.stroke_width(1))))?;
    }

    // Category labels written here: in lines, or letters.
    if let Some(how) = &p.x_labels {
        let lines: Vec<Vec<String>> = match how {
            CategoryLabels::Lines(l) => l.clone(),
            CategoryLabels::Keyed(k) => k.iter().map(|(n, _)| vec![n.clone()]).collect(),
        };
        for (i, ls) in lines.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64, p.y.lo));
            for (j, l) in ls.iter().enumerate() {
                let style = if matches!(how, CategoryLabels::Keyed(_)) {
                    bold(TEXT_PX, INK)
                } else {
                    font(TEXT_PX, INK)
                };
                root.draw(&Text::new(
                    l.clone(),
                    (px, py + 8 + 16 * j as i32),
                    anchored(style, HPos::Center, VPos::Top),
                ))?;
            }
        }
    }

    for l in p.theory.iter().chain(&p.lines) {
        let style = l.color.stroke_width(l.width.max(1));
        for seg in l
            .points
            .split(|(x, y)| !(x.is_finite() && y.is_finite()))
            .filter(|s| !s.is_empty())
        {
            if seg.len() == 1 && l.dash == Dash::Solid {
                chart.draw_series(std::iter::once(Circle::new(seg[0], 2, l.color.filled())))?;
            } else if seg.len() == 1 {
                // A lone prediction: nothing to join it to.
            } else if let Some(tag) = l.dash.tag() {
                let style = l.color.mix(tag).stroke_width(l.width.max(1));
                chart.draw_series(LineSeries::new(seg.iter().copied(), style))?;
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
        for (x, y, marker) in &l.markers {
            draw_marker(root, chart.backend_coord(&(*x, *y)), l.color, *marker)?;
        }
    }

    // Off-scale labels that would overlap a neighbour's drop a line (up to
    // two lines down), so that each value stays readable.
    let mut drops: Vec<i32> = Vec::with_capacity(p.off_scale.len());
    let mut placed: Vec<(i32, i32, i32)> = Vec::new();
    for o in &p.off_scale {
        let (x, _) = chart.backend_coord(&(o.x, p.y.hi));
        let w = (text_width(&o.label, 11.0) / 2.0).ceil() as i32 + 2;
        let drop = (0..3)
            .find(|d| !placed.iter().any(|(a, b, r)| r == d && x - w < *b && *a < x + w))
            .unwrap_or(0);
        placed.push((x - w, x + w, drop));
        drops.push(drop * 13);
    }
    for (o, drop) in p.off_scale.iter().zip(&drops) {
        let (x, top) = chart.backend_coord(&(o.x, p.y.hi));
        root.draw(&Polygon::new(
            vec![(x, top + 1), (x + 6, top + 11), (x - 6, top + 11)],
            o.color.filled(),
        ))?;
        root.draw(&Text::new(
            o.label.clone(),
            (x, top + 13 + drop),
            anchored(bold(11.0, INK), HPos::Center, VPos::Top),
        ))?;
        if let Some(m) = o.marker {
            draw_marker(root, (x, top + 36 + drop), o.color, m)?;
        }
    }

    // Point labels, each where it hides no marker, error bar, off-scale
    // mark or label placed before it: as asked, else moved away from its
    // point step by step, else mirrored across it.
    let mut blocked: Vec<(i32, i32, i32, i32)> = Vec::new();
    for l in &p.lines {
        for (x, y, _) in &l.markers {
            let (px, py) = chart.backend_coord(&(*x, *y));
            blocked.push((px - 7, py - 7, px + 7, py + 7));
        }
    }
    for e in &p.errbars {
        let (x, top) = chart.backend_coord(&(e.x, e.hi));
        let (_, bot) = chart.backend_coord(&(e.x, if p.y.log { e.lo.max(p.y.lo) } else { e.lo }));
        blocked.push((x - 5, top.min(bot), x + 5, top.max(bot)));
    }
    for (o, drop) in p.off_scale.iter().zip(&drops) {
        let (x, top) = chart.backend_coord(&(o.x, p.y.hi));
        let w = (text_width(&o.label, 11.0) / 2.0).ceil() as i32;
        blocked.push((x - 6, top, x + 6, top + 11));
        blocked.push((x - w, top + 14 + drop, x + w, top + 26 + drop));
        if o.marker.is_some() {
            blocked.push((x - 7, top + 29 + drop, x + 7, top + 43 + drop));
        }
    }
    for l in &p.labels {
        let (x, y) = chart.backend_coord(&(l.x, l.y.clamp(p.y.lo.min(p.y.hi), p.y.hi.max(p.y.lo))));
        if let Some(r) = l.ring {
            root.draw(&Circle::new((x, y), r, l.color.stroke_width(2)))?;
        }
        if l.text.is_empty() {
            continue;
        }
        let style = if l.bold {
            bold(l.px, l.color)
        } else {
            font(l.px, l.color)
        };
        let (w, h) = (text_width(&l.text, l.px).ceil() as i32, l.px.ceil() as i32);
        // A candidate (anchor offset, horizontal alignment: -1 right,
        // 0 centre, 1 left; hanging below the anchor) and its box.
        let boxed = |(dx, dy, align, hang): (i32, i32, i8, bool)| {
            let x0 = match align {
                -1 => x + dx - w,
                0 => x + dx - w / 2,
                _ => x + dx,
            };
            let y0 = if hang { y + dy } else { y + dy - h };
            (x0, y0, x0 + w, y0 + h)
        };
        let mut candidates: Vec<(i32, i32, i8, bool)> = Vec::new();
        let own = if l.align_right { -1 } else { 1 };
        if l.dx == 0 {
            // Centred over the point, rising past its error bar.
            candidates.extend((0..24).map(|k| (0, -(l.dy.abs() + 3 * k), 0, false)));
            candidates.extend([(9, h / 2, 1, false), (-9, h / 2, -1, false)]);
            candidates.extend((0..24).map(|k| (0, l.dy.abs() + 3 * k, 0, true)));
        } else {
            let step = if l.hang { 7 } else { -7 };
            candidates.extend((0..8).map(|k| (l.dx, l.dy + step * k, own, l.hang)));
            candidates.extend((0..8).map(|k| (-l.dx, l.dy + step * k, -own, l.hang)));
        }
        let free = |b: (i32, i32, i32, i32)| {
            b.0 >= 2
                && b.2 <= WIDTH as i32 - 2
                && b.1 >= 0
                && b.3 <= HEIGHT as i32
                && !blocked
                    .iter()
                    .filter(|q| (q.0 + q.2) / 2 != x || (q.1 + q.3) / 2 != y)
                    .any(|q| b.0 < q.2 + 2 && q.0 < b.2 + 2 && b.1 < q.3 + 2 && q.1 < b.3 + 2)
        };
        let choice = candidates
            .iter()
            .copied()
            .find(|c| free(boxed(*c)))
            .unwrap_or(candidates[0]);
        blocked.push(boxed(choice));
        let hp = match choice.2 {
            -1 => HPos::Right,
            0 => HPos::Center,
            _ => HPos::Left,
        };
        let vp = if choice.3 { VPos::Top } else { VPos::Bottom };
        root.draw(&Text::new(
            l.text.clone(),
            (x + choice.0, y + choice.1),
            anchored(style, hp, vp),
        ))?;
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
// Metric labels
// ---------------------------------------------------------------------------

/// A metric's axis title and the factor that converts it (fractions to
/// %), from the one table of metric descriptions.
pub(crate) fn metric_label(metric: &str) -> (String, f64) {
    let d = super::metrics::describe(metric);
    (d.axis_title(), d.unit.scale())
}

/// A value label: four significant figures, plain notation.
pub(crate) fn fmt_value(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let mag = math::log10(v.abs()).floor() as i32;
    let decimals = (3 - mag).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// The font database for PNG text: DejaVu Sans, embedded, as every
/// generic family, so rendering never looks at the system's fonts.
#[cfg(feature = "cli")]
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
#[cfg(feature = "cli")]
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

/// Without the command line's renderer there are no PNGs (the browser
/// shows the SVGs).
#[cfg(not(feature = "cli"))]
pub fn to_png(_svg: &str) -> Result<Vec<u8>, String> {
    Err("PNG charts need archsim built with the `cli` feature".into())
}

/// Each chart as a file: `<file>` (SVG) and, with png, `<stem>.png`.
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
    fn nines_scale() {
        assert!((nines(0.999) - 3.0).abs() < 1e-9);
        assert_eq!(nines(1.0), MAX_NINES);
        let a = nines_axis("", 3.4);
        let t: Vec<&str> = a.ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(t, ["0%", "90%", "99%", "99.9%", "99.99%"]);
    }

    #[test]
    fn category_labels_wrap_or_become_letters() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (_, how) = fitted_category_axis("", &l(&["strong", "eventual"]));
        assert_eq!(
            how,
            CategoryLabels::Lines(vec![vec!["strong".into()], vec!["eventual".into()]])
        );
        let six = l(&["a", "b", "c", "d", "e", "weighted_round_robin"]);
        match fitted_category_axis("", &six).1 {
            CategoryLabels::Lines(lines) => assert_eq!(lines[5], ["weighted_", "round_robin"]),
            CategoryLabels::Keyed(_) => panic!("two lines fit"),
        }
        let long = l(&["schedule=at=0s, replicas=2 at=28m, replicas=18 at=90m, replicas=2"; 4]);
        match fitted_category_axis("", &long).1 {
            CategoryLabels::Keyed(k) => assert_eq!(k[3].0, "D"),
            CategoryLabels::Lines(l) => panic!("too long for two lines: {l:?}"),
        }
    }
}

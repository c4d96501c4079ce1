//! The charts of one run: latency, throughput and errors, availability,
//! utilisation and queues over time, and the latency distribution. The
//! drawing itself is [`super::plot`]'s.

use crate::math;
use plotters::prelude::*;

use super::metrics::describe;
use super::plot::{
    Axis, BLUE, ChartFile, Dash, GREEN, ORANGE, PURPLE, Plot, Points, VERMILLION, color, fmt_value,
    linear_axis, log_axis, trim_zeros, wants_log,
};
use crate::model::Annotation;

/// Most points a time chart draws per series.
pub(crate) const MAX_POINTS: usize = 240;

/// Windows of `k` intervals: (end time, mean of the finite values, or a gap
/// when there are none).
pub(crate) fn rollup(t: &[f64], ys: &[f64], k: usize) -> Vec<(f64, f64)> {
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
pub(crate) fn time_axis(t_max: f64) -> (Axis, f64) {
    let (div, desc) = if t_max > 1200.0 {
        (60.0, "Simulated time (min)")
    } else {
        (1.0, "Simulated time (s)")
    };
    (linear_axis(desc, 0.0, t_max / div, 8, false, false), div)
}

/// The y axis for values from zero: linear from 0, or logarithmic when the
/// positive values span more than two decades.
pub(crate) fn value_axis(desc: &str, values: &[f64], allow_log: bool) -> Axis {
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

/// Most nines the availability axis shows.
const MAX_NINES: f64 = 6.0;

/// The availability axis for fractions (0–1) over time, and the points to
/// draw on it. Linear from 0% to 100%, unless every interval is at 90% or
/// more and some below 100%: then a scale of nines (0%, 90%, 99%, 99.9%…
/// equally spaced, still from 0%), where a dip from 99.99% to 99.9% is as
/// visible as one from 99% to 90%; 100% is drawn at the top. Returns the
/// axis, the points and a note for the subtitle.
pub(crate) fn availability_axis(a: &[(f64, f64)]) -> (Axis, Points, &'static str) {
    let finite = || a.iter().map(|p| p.1).filter(|v| v.is_finite());
    let min = finite().fold(1.0, f64::min);
    let below = finite().any(|v| v < 1.0);
    if min < 0.9 || !below {
        let mut y = linear_axis(&describe("availability").axis_title(), 0.0, 100.0, 5, true, false);
        y.hi = 102.0;
        let pts = a.iter().map(|(t, v)| (*t, v * 100.0)).collect();
        return (y, pts, "");
    }
    let nines = |v: f64| -> f64 {
        if v >= 1.0 {
            f64::INFINITY
        } else {
            -math::log10(1.0 - v.max(0.0))
        }
    };
    // One step above the highest nines seen below 100%, at least 3.
    let top = finite()
        .map(nines)
        .filter(|n| n.is_finite())
        .fold(0.0, f64::max)
        .ceil()
        .clamp(2.0, MAX_NINES - 1.0)
        + 1.0;
    let ticks: Vec<(f64, String)> = (0..=top as i32)
        .map(|k| {
            let label = match k {
                0 => "0%".to_string(),
                _ if k as f64 == top => "100%".to_string(),
                _ => format!(
                    "{}%",
                    trim_zeros(format!(
                        "{:.*}",
                        (k - 2).max(0) as usize,
                        100.0 - 100.0 * 10f64.powi(-k)
                    ))
                ),
            };
            (f64::from(k), label)
        })
        .collect();
    let y = Axis {
        desc: format!("{} (nines scale)", describe("availability").axis_title()),
        lo: 0.0,
        hi: top + 0.04 * top,
        log: false,
        ticks,
    };
    let pts = a
        .iter()
        .map(|(t, v)| {
            (
                *t,
                if v.is_finite() {
                    nines(*v).min(top)
                } else {
                    f64::NAN
                },
            )
        })
        .collect();
    (
        y,
        pts,
        "; nines scale: 90%, 99%, 99.9% equally spaced, 100% at the top",
    )
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
    run_charts_after_warmup(columns, rows, latency_cdf, annotations, 0.0)
}

/// The label of the warm-up's shading on every time chart.
pub const WARMUP_LABEL: &str = "warm-up (not counted)";

/// [`run_charts`] with the run's warm-up (`warmup_s`, seconds) shaded
/// and labelled on every time chart: the report's numbers leave it out.
pub fn run_charts_after_warmup(
    columns: &[String],
    rows: &[Vec<f64>],
    latency_cdf: &[(f64, f64)],
    annotations: &[Annotation],
    warmup_s: f64,
) -> Vec<ChartFile> {
    let warmup = (warmup_s.is_finite() && warmup_s > 0.0).then(|| Annotation {
        start_s: 0.0,
        end_s: warmup_s,
        label: WARMUP_LABEL.to_string(),
    });
    let annotations: Vec<Annotation> = warmup.into_iter().chain(annotations.iter().cloned()).collect();
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
            // p50, p95, p99 differ in dash as well as colour (dotted under
            // solid would hide: the highest percentile is solid, on top).
            let n = lat.len();
            for (i, (label, c, v)) in lat.into_iter().enumerate() {
                p.line(label, c, v);
                if let Some(l) = p.lines.last_mut() {
                    l.dash = match (i, n) {
                        (0, _) => Dash::Dotted,
                        (1, _) => Dash::Dashed,
                        _ => Dash::Solid,
                    };
                }
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
            let y = value_axis(&describe("throughput_rps").axis_title(), &all, false);
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
            let a = pts(&series(ai));
            let (y, a, scale_note) = availability_axis(&a);
            let mut p = Plot::new("availability.svg", "Availability over time", x.clone(), y);
            p.subtitle = Some(format!(
                "successful ÷ answered requests in each {interval_text} interval{window}{scale_note}"
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
            let y = linear_axis(&describe("utilization").axis_title(), 0.0, max, 5, true, false);
            let mut p = Plot::new(
                "utilization.svg",
                "Utilization per service over time",
                x.clone(),
                y,
            );
            for (i, (n, v)) in scaled.iter().enumerate() {
                p.line(n, color(i), v.clone());
            }
            p.subtitle = Some(match scaled.as_slice() {
                [(name, _)] => format!("share of service {name}'s cores busy"),
                _ => "share of each service's cores busy".to_string(),
            });
            p.bands = bands.clone();
            plots.push(p);
        }

        let queues: Vec<(String, Vec<(f64, f64)>)> = per_service(".queue_length")
            .into_iter()
            .map(|(n, v)| (n, pts(&v)))
            .collect();
        if !queues.is_empty() {
            let all = ys_of(&queues.iter().map(|l| &l.1).collect::<Vec<_>>());
            let y = value_axis(
                &format!("{} (requests waiting)", describe("queue_length_mean").name),
                &all,
                false,
            );
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
            let y = value_axis(&describe("throughput_rps").axis_title(), &all, false);
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
            let y = linear_axis(&describe("hit_ratio").axis_title(), 0.0, 100.0, 5, true, false);
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
            let y = value_axis(
                &format!("{} per interval", describe("consistency.stale_reads").name),
                &all,
                false,
            );
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
pub(crate) fn cdf_plot(file: &str, title: &str, inputs: &[(&str, &[(f64, f64)])]) -> Option<Plot> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(a: &Axis) -> Vec<&str> {
        a.ticks.iter().map(|t| t.1.as_str()).collect()
    }

    #[test]
    fn availability_is_drawn_from_zero_percent() {
        // Down to half: linear, 0–100%.
        let (y, pts, note) = availability_axis(&[(1.0, 1.0), (2.0, 0.5)]);
        assert!(!y.log && y.lo == 0.0 && note.is_empty());
        assert_eq!(labels(&y).first(), Some(&"0"));
        assert_eq!(labels(&y).last(), Some(&"100"));
        assert_eq!(pts[1].1, 50.0);
        // Always 100%: linear too (a flat line at the top says it all).
        let (y, _, note) = availability_axis(&[(1.0, 1.0), (2.0, 1.0)]);
        assert_eq!((y.lo, note), (0.0, ""));
    }

    #[test]
    fn availability_crowded_near_100_percent_gets_a_nines_scale() {
        let (y, pts, note) = availability_axis(&[(1.0, 1.0), (2.0, 0.999), (3.0, 0.95)]);
        assert!(y.desc.contains("nines"), "{}", y.desc);
        assert!(note.contains("nines"));
        // Still from 0%, one step per nine, 100% on top.
        assert_eq!(labels(&y), ["0%", "90%", "99%", "99.9%", "100%"]);
        assert_eq!(y.lo, 0.0);
        assert!((pts[1].1 - 3.0).abs() < 1e-9, "99.9% is three nines: {pts:?}");
        assert_eq!(pts[0].1, 4.0, "100% at the top");
        assert!((pts[2].1 - 1.30103).abs() < 1e-4);
    }
}

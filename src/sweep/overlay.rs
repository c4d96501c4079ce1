//! `sweep.plot.over_time`: one time-series column drawn across the grid,
//! a line per point (its first replication), so that how the points
//! differ over the run shows, not only their totals: the replicas of three
//! autoscaling policies through one spike.
//!
//! The series are kept in points.jsonl (the `over_time` field of each
//! point's replication 0, rolled up to at most [`MAX_POINTS`] points), so
//! a resumed or merged sweep draws the same chart as one run at once.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Line;
use crate::model::Annotation;
use crate::report::charts::{MAX_POINTS, rollup, time_axis, value_axis};
use crate::report::metrics::{MetricDesc, Unit, describe};
use crate::report::plot::{ChartFile, Dash, Plot, color, fmt_value, linear_axis, trim_zeros};
use crate::report::value_label;

/// A replication's series of the `over_time` columns, as kept in its line.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OverTime {
    /// Seconds of simulated time each point averages (the series interval
    /// times the rollup window).
    pub window_s: f64,
    /// The end of each window, seconds of simulated time.
    pub t_s: Vec<f64>,
    /// Each listed column the run had: its mean over each window (`null`
    /// where the window has no value, e.g. no request completed).
    pub columns: BTreeMap<String, Vec<Option<f64>>>,
    /// The run's fault windows (shaded where every point has them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Annotation>,
}

/// The series of `wanted` in a run's time series (`columns`/`rows`, first
/// column `t_s`), rolled up to at most [`MAX_POINTS`] windows; `None`
/// without rows or when the run has none of the columns.
pub fn keep(
    columns: &[String],
    rows: &[Vec<f64>],
    annotations: &[Annotation],
    wanted: &[String],
) -> Option<OverTime> {
    let ti = columns.iter().position(|c| c == "t_s")?;
    if rows.is_empty() {
        return None;
    }
    let series = |i: usize| -> Vec<f64> {
        rows.iter()
            .map(|r| r.get(i).copied().unwrap_or(f64::NAN))
            .collect()
    };
    let t = series(ti);
    let k = t.len().div_ceil(MAX_POINTS).max(1);
    let interval = match t.as_slice() {
        [a, b, ..] if b > a => b - a,
        [a, ..] if *a > 0.0 => *a,
        _ => 1.0,
    };
    let kept: BTreeMap<String, Vec<Option<f64>>> = wanted
        .iter()
        .filter_map(|w| {
            let i = columns.iter().position(|c| c == w)?;
            let ys = rollup(&t, &series(i), k)
                .into_iter()
                .map(|(_, y)| y.is_finite().then_some(y))
                .collect();
            Some((w.clone(), ys))
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    let t_s = rollup(&t, &t, k).into_iter().map(|(end, _)| end).collect();
    Some(OverTime {
        window_s: interval * k as f64,
        t_s,
        columns: kept,
        faults: annotations.to_vec(),
    })
}

/// The human description of a time-series column: the report.json metric
/// it is the per-interval form of, where there is one.
fn describe_column(column: &str) -> MetricDesc {
    let plain = |name: &str, unit| MetricDesc {
        name: name.to_string(),
        unit,
    };
    match column {
        "errors" => return plain("errors per interval", Unit::Count),
        "latency_all_p99_ms" => return plain("p99 latency, failures included", Unit::Ms),
        "throughput_rps" | "availability" => return describe(column),
        _ => {}
    }
    if let Some(q) = column
        .strip_prefix("latency_")
        .and_then(|r| r.strip_suffix("_ms"))
    {
        return describe(&format!("latency.{q}_ms"));
    }
    // A component's column: `NAME.leaf` (names may hold dots, leaves do not
    // but for a shard's `shard[i].rps`).
    let (owner, leaf) = match column.rsplit_once('.') {
        Some((o, l)) => (o, l),
        None => return plain(column, Unit::Plain),
    };
    match leaf {
        "rps" => plain(&format!("{owner}: requests"), Unit::PerSecond),
        "queue_length" => plain(&format!("{owner}: requests waiting"), Unit::Count),
        "depth" => plain(&format!("{owner}: messages waiting"), Unit::Count),
        "stale_reads" => plain(&format!("{owner}: stale reads per interval"), Unit::Count),
        "admitted" | "limited" => plain(&format!("{owner}: {leaf} per interval"), Unit::Count),
        _ => describe(&format!("components.{column}")),
    }
}

/// The file a column's chart is written to: `sweep-over-time-shop-replicas.svg`.
pub fn file_name(column: &str) -> String {
    let slug: String = column
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("sweep-over-time-{slug}.svg")
}

/// Longest legend label of a point, in characters.
const MAX_LABEL: usize = 48;

/// A parameter value as short as it can be read: `{ target_tracking: {
/// metric: cpu, target: 0.6 } }` is `target_tracking: metric=cpu,
/// target=0.6`, and a list of like objects names its keys once:
/// `schedule: at/replicas 0s/2, 28m/18`.
fn compact(v: &Value) -> String {
    match v {
        Value::Object(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next().expect("one entry");
            match inner {
                Value::Object(_) | Value::Array(_) => format!("{k}: {}", compact(inner)),
                other => format!("{k}={}", value_label(other)),
            }
        }
        Value::Object(m) => m
            .iter()
            .map(|(k, inner)| match inner {
                Value::Object(_) | Value::Array(_) => format!("{k}: {}", compact(inner)),
                other => format!("{k}={}", value_label(other)),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Array(items) => {
            let keys = |x: &Value| x.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
            let first = items.first().and_then(keys);
            let alike = first.as_ref().is_some_and(|k| {
                k.len() > 1
                    && items.iter().all(|x| {
                        keys(x).as_ref() == Some(k)
                            && x.as_object()
                                .is_some_and(|o| o.values().all(|v| !v.is_object() && !v.is_array()))
                    })
            });
            match first {
                Some(k) if alike => {
                    let rows: Vec<String> = items
                        .iter()
                        .filter_map(Value::as_object)
                        .map(|o| o.values().map(value_label).collect::<Vec<_>>().join("/"))
                        .collect();
                    format!("{} {}", k.join("/"), rows.join(", "))
                }
                _ => items.iter().map(compact).collect::<Vec<_>>().join("; "),
            }
        }
        other => value_label(other),
    }
}

/// Each point's legend label: the value of the varied parameter (its name
/// is the legend's title), or `leaf=value` pairs when several vary; cut at
/// [`MAX_LABEL`] characters, numbered if the cut makes two alike.
fn labels(vary: &IndexMap<String, Vec<Value>>, params: &[&IndexMap<String, Value>]) -> Vec<String> {
    let cut = |s: String| -> String {
        if s.chars().count() <= MAX_LABEL {
            s
        } else {
            let head: String = s.chars().take(MAX_LABEL - 1).collect();
            format!("{}…", head.trim_end())
        }
    };
    let one = vary.len() == 1;
    let labels: Vec<String> = params
        .iter()
        .map(|p| {
            let text = p
                .iter()
                .map(|(k, v)| {
                    if one {
                        compact(v)
                    } else {
                        let leaf = k.rsplit('.').next().unwrap_or(k);
                        format!("{leaf}={}", compact(v))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            cut(text)
        })
        .collect();
    let alike = |l: &String| labels.iter().filter(|m| *m == l).count() > 1;
    if labels.iter().any(alike) {
        return labels
            .iter()
            .enumerate()
            .map(|(i, l)| format!("#{} {l}", i + 1))
            .collect();
    }
    labels
}

/// The fault windows every point's run had: the scenario's own, not those
/// a point's parameters add.
fn shared_faults(series: &[&OverTime]) -> Vec<Annotation> {
    let Some(first) = series.first() else {
        return Vec::new();
    };
    first
        .faults
        .iter()
        .filter(|a| series.iter().all(|s| s.faults.contains(a)))
        .cloned()
        .collect()
}

/// One chart per column of `over_time`: simulated time on x, the column
/// on y, a line per point that kept it (in grid order, from the lines of
/// replication 0), in a colour and a dash of its own, and the fault
/// windows all points share shaded. A column no point kept has no chart.
pub fn overlay_charts(
    lines: &[Line],
    over_time: &[String],
    vary: &IndexMap<String, Vec<Value>>,
) -> Vec<ChartFile> {
    let mut firsts: Vec<&Line> = lines
        .iter()
        .filter(|l| l.replication == 0 && l.over_time.is_some())
        .collect();
    firsts.sort_by_key(|l| l.point);
    let series: Vec<&OverTime> = firsts.iter().filter_map(|l| l.over_time.as_ref()).collect();
    if series.is_empty() {
        return Vec::new();
    }
    let names = labels(vary, &firsts.iter().map(|l| &l.params).collect::<Vec<_>>());
    let t_max = series
        .iter()
        .flat_map(|s| s.t_s.iter().copied())
        .filter(|t| t.is_finite())
        .fold(0.0, f64::max);
    let (x, div) = time_axis(t_max);
    let bands: Vec<Annotation> = shared_faults(&series)
        .into_iter()
        .filter(|a| a.end_s >= 0.0 && a.start_s <= t_max && a.end_s >= a.start_s)
        .map(|a| Annotation {
            start_s: a.start_s / div,
            end_s: a.end_s / div,
            label: a.label,
        })
        .collect();
    let windows: Vec<f64> = series.iter().map(|s| s.window_s).collect();
    let window = windows.first().copied().unwrap_or(1.0);
    let window_text = if windows.iter().all(|w| *w == window) {
        format!(", averaged over {} s windows", trim_zeros(fmt_value(window)))
    } else {
        String::new()
    };
    let dashes = [Dash::Solid, Dash::Dashed, Dash::Dotted];

    let mut out = Vec::new();
    for column in over_time {
        let desc = describe_column(column);
        let scale = desc.unit.scale();
        let drawn: Vec<(usize, Vec<(f64, f64)>)> = firsts
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let s = l.over_time.as_ref()?;
                let ys = s.columns.get(column)?;
                let pts: Vec<(f64, f64)> = s
                    .t_s
                    .iter()
                    .zip(ys)
                    .map(|(t, y)| (t / div, y.map_or(f64::NAN, |y| y * scale)))
                    .collect();
                Some((i, pts))
            })
            .collect();
        if drawn.is_empty() {
            continue;
        }
        let values: Vec<f64> = drawn
            .iter()
            .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
            .filter(|y| y.is_finite())
            .collect();
        let title_axis = desc.axis_title();
        let y = match desc.unit {
            // Replicas and other counts: whole-number ticks, room above
            // the highest line.
            Unit::Count => {
                let max = values.iter().copied().fold(1.0, f64::max);
                linear_axis(&title_axis, 0.0, max * 1.05, 6, true, true)
            }
            Unit::Fraction => {
                let max = values.iter().copied().fold(100.0, f64::max);
                linear_axis(&title_axis, 0.0, max, 5, true, false)
            }
            Unit::Ms => value_axis(&title_axis, &values, true),
            _ => value_axis(&title_axis, &values, false),
        };
        let title = format!("{} over time, by point", desc.name);
        let mut p = Plot::new(&file_name(column), &title, x.clone(), y);
        p.subtitle = Some(format!(
            "the first replication of each point{window_text}{}",
            if p.y.log { " (log scale)" } else { "" }
        ));
        if vary.len() == 1 {
            p.legend_title = vary.keys().next().map(|k| format!("{k}:"));
        }
        for (i, pts) in drawn {
            p.line(&names[i], color(i), pts);
            if let Some(l) = p.lines.last_mut() {
                l.dash = dashes[i % dashes.len()];
            }
        }
        p.bands = bands.clone();
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
    fn series_are_rolled_up_and_gaps_kept() {
        let columns: Vec<String> = ["t_s", "latency_p99_ms", "api.replicas"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let rows: Vec<Vec<f64>> = (1..=480)
            .map(|i| vec![i as f64, if i <= 2 { f64::NAN } else { 5.0 }, 3.0])
            .collect();
        let wanted = vec!["api.replicas".to_string(), "latency_p99_ms".into(), "x.y".into()];
        let kept = keep(&columns, &rows, &[], &wanted).expect("kept");
        assert_eq!(kept.t_s.len(), 240);
        assert_eq!(kept.window_s, 2.0);
        assert_eq!(kept.t_s[0], 2.0);
        assert_eq!(kept.columns.len(), 2, "a column the run lacks is left out");
        assert!(kept.columns["api.replicas"].iter().all(|v| *v == Some(3.0)));
        assert_eq!(kept.columns["latency_p99_ms"][0], None);
        assert_eq!(kept.columns["latency_p99_ms"][1], Some(5.0));
    }

    #[test]
    fn labels_are_short() {
        let v: Value = serde_json::json!({ "schedule": [
            { "at": "0s", "replicas": 2 }, { "at": "28m", "replicas": 18 } ] });
        assert_eq!(compact(&v), "schedule: at/replicas 0s/2, 28m/18");
        let v: Value = serde_json::json!({ "target_tracking": { "metric": "cpu", "target": 0.6 } });
        assert_eq!(compact(&v), "target_tracking: metric=cpu, target=0.6");
        assert_eq!(compact(&serde_json::json!(3)), "3");
    }

    #[test]
    fn columns_get_human_names() {
        assert_eq!(describe_column("shop.replicas").axis_title(), "shop: replicas");
        assert_eq!(describe_column("latency_p99_ms").axis_title(), "p99 latency (ms)");
        assert_eq!(
            describe_column("api.utilization").axis_title(),
            "api: utilisation (%)"
        );
        assert_eq!(
            describe_column("db.shard[2].rps").axis_title(),
            "db.shard[2]: requests (req/s)"
        );
        assert_eq!(file_name("shop.replicas"), "sweep-over-time-shop-replicas.svg");
    }
}

//! Sweep charts a teacher can put on a slide (issue 20): categories as
//! grouped bars with whiskers and no line between them, honest y axes
//! (from 0; nines for availabilities near 100%; a few runaway values
//! marked off the scale instead of flattening the rest), category labels
//! never cut, and explain's prediction beside the simulation.
//!
//! Everything is read back from the SVG (see `report::plot` for the shapes
//! each element is drawn as).

use std::collections::BTreeMap;

use archsim::report::plot::{ChartFile, PALETTE, TEXT_PX, text_width};
use archsim::run::{MetricValue, PointReport, SweepReport};
use archsim::scenario::spec::PlotSpec;
use archsim::sweep::charts::sweep_charts;
use indexmap::IndexMap;
use serde_json::Value;

use crate::common::bin;

/// A text element: position, anchor and content.
#[derive(Debug, Clone)]
struct Text {
    x: f64,
    y: f64,
    anchor: String,
    text: String,
}

/// A polyline: stroke, width, whether dashed, and its points.
#[derive(Debug)]
struct Poly {
    stroke: String,
    width: String,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

/// A filled rect: fill, opacity.
#[derive(Debug)]
struct Rect {
    fill: String,
    opacity: f64,
}

struct Svg {
    texts: Vec<Text>,
    polys: Vec<Poly>,
    rects: Vec<Rect>,
}

fn read(c: &ChartFile) -> Svg {
    let doc = roxmltree::Document::parse(&c.svg).unwrap_or_else(|e| panic!("{}: not XML: {e}", c.file));
    let num =
        |n: &roxmltree::Node, a: &str| n.attribute(a).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    Svg {
        texts: doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| Text {
                x: num(&n, "x"),
                y: num(&n, "y"),
                anchor: n.attribute("text-anchor").unwrap_or_default().to_string(),
                text: n.text().unwrap_or_default().trim().to_string(),
            })
            .collect(),
        polys: doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .map(|n| Poly {
                stroke: n.attribute("stroke").unwrap_or_default().to_string(),
                width: n.attribute("stroke-width").unwrap_or_default().to_string(),
                dashed: n.attribute("stroke-dasharray").is_some(),
                points: n
                    .attribute("points")
                    .unwrap_or_default()
                    .split_whitespace()
                    .filter_map(|p| {
                        let (x, y) = p.split_once(',')?;
                        Some((x.parse().ok()?, y.parse().ok()?))
                    })
                    .collect(),
            })
            .collect(),
        rects: doc
            .descendants()
            .filter(|n| n.has_tag_name("rect"))
            .map(|n| Rect {
                fill: n.attribute("fill").unwrap_or_default().to_string(),
                opacity: n.attribute("opacity").and_then(|v| v.parse().ok()).unwrap_or(1.0),
            })
            .collect(),
    }
}

impl Svg {
    fn has(&self, t: &str) -> bool {
        self.texts.iter().any(|x| x.text == t)
    }

    /// The y tick labels (right-aligned, left of the plot), top to bottom.
    fn y_ticks(&self) -> Vec<&Text> {
        let mut t: Vec<&Text> = self
            .texts
            .iter()
            .filter(|t| t.anchor == "end" && !t.text.is_empty() && !t.text.starts_with("SLO"))
            .collect();
        t.sort_by(|a, b| a.y.total_cmp(&b.y));
        t
    }

    /// The lowest y tick label.
    fn lowest_y_tick(&self) -> String {
        self.y_ticks().last().map(|t| t.text.clone()).unwrap_or_default()
    }

    /// The x tick labels: centred texts between the lowest y tick (the
    /// plot's bottom) and the x axis title `x_title`.
    fn x_ticks(&self, x_title: &str) -> Vec<&Text> {
        let bottom = self.y_ticks().last().map_or(0.0, |t| t.y);
        let title = self
            .texts
            .iter()
            .find(|t| t.text == x_title)
            .unwrap_or_else(|| panic!("no x title {x_title}"));
        self.texts
            .iter()
            .filter(|t| t.anchor == "middle" && !t.text.is_empty() && t.y > bottom && t.y < title.y)
            .collect()
    }

    /// Bars: palette-filled rects drawn translucent (legend swatches are opaque).
    fn bars(&self) -> Vec<&str> {
        self.rects
            .iter()
            .filter(|r| PALETTE.contains(&r.fill.as_str()) && r.opacity < 1.0)
            .map(|r| r.fill.as_str())
            .collect()
    }

    /// Solid palette-coloured polylines of width 1: error bars.
    fn whiskers(&self) -> usize {
        self.polys
            .iter()
            .filter(|p| PALETTE.contains(&p.stroke.as_str()) && p.width == "1" && !p.dashed)
            .count()
    }

    /// Dashed palette-coloured polylines of width 1: predictions.
    fn theory(&self) -> Vec<&Poly> {
        self.polys
            .iter()
            .filter(|p| PALETTE.contains(&p.stroke.as_str()) && p.width == "1" && p.dashed)
            .collect()
    }
}

fn chart<'a>(charts: &'a [ChartFile], file: &str) -> &'a ChartFile {
    charts.iter().find(|c| c.file == file).unwrap_or_else(|| {
        panic!(
            "no {file} among {:?}",
            charts.iter().map(|c| &c.file).collect::<Vec<_>>()
        )
    })
}

fn mv(value: f64, ci95: Option<f64>) -> MetricValue {
    MetricValue { value, ci95 }
}

/// A sweep over `x` (values `xs`) × `series` (values `ss`), whose point
/// (i, j) has the metrics `metrics(i, j)` and the predictions `theory(i, j)`.
fn report(
    x: &str,
    xs: &[Value],
    series: Option<(&str, &[Value])>,
    metrics: impl Fn(usize, usize) -> BTreeMap<String, MetricValue>,
    theory: impl Fn(usize, usize) -> BTreeMap<String, f64>,
) -> SweepReport {
    let mut vary: IndexMap<String, Vec<Value>> = IndexMap::new();
    vary.insert(x.into(), xs.to_vec());
    let ss: Vec<Value> = series.map(|s| s.1.to_vec()).unwrap_or_else(|| vec![Value::Null]);
    if let Some((name, vals)) = series {
        vary.insert(name.into(), vals.to_vec());
    }
    let mut points = Vec::new();
    for (i, xv) in xs.iter().enumerate() {
        for (j, sv) in ss.iter().enumerate() {
            let mut params = IndexMap::new();
            params.insert(x.to_string(), xv.clone());
            if let Some((name, _)) = series {
                params.insert(name.to_string(), sv.clone());
            }
            points.push(PointReport {
                theory: theory(i, j),
                slo: Vec::new(),
                params,
                replications: 3,
                metrics: metrics(i, j),
                replication_seeds: vec![1, 2, 3],
                replication_values: BTreeMap::new(),
                notes: Vec::new(),
            });
        }
    }
    SweepReport {
        headline: Vec::new(),
        archsim_version: "test".into(),
        scenario: "sweep-charts".into(),
        seed: 1,
        replications: 3,
        vary,
        points,
    }
}

fn strs(v: &[&str]) -> Vec<Value> {
    v.iter().map(|s| Value::from(*s)).collect()
}

const WRITE: &str = "components.cache.write_policy";
const READ: &str = "components.cache.read_policy";

/// caching-strategies' shape: 4 write policies × 2 read policies, hit
/// ratios 52–60%, database utilisation 13–15.5%, a mean latency with
/// explain's prediction.
fn caching() -> (SweepReport, PlotSpec) {
    let writes = strs(&["write_through", "invalidate", "write_around", "write_back"]);
    let reads = strs(&["cache_aside", "read_through"]);
    let r = report(
        WRITE,
        &writes,
        Some((READ, &reads)),
        |i, j| {
            [
                (
                    "components.cache.hit_ratio".to_string(),
                    mv(0.52 + 0.02 * i as f64 + 0.005 * j as f64, Some(0.01)),
                ),
                (
                    "components.db.utilization".to_string(),
                    mv(0.13 + 0.008 * i as f64, Some(0.004)),
                ),
                ("latency.mean_ms".to_string(), mv(8.0 + i as f64, Some(0.5))),
                ("availability".to_string(), mv(0.8 + 0.05 * i as f64, Some(0.01))),
            ]
            .into()
        },
        |i, _| [("latency.mean_ms".to_string(), 7.5 + i as f64)].into(),
    );
    let plot = PlotSpec {
        x: Some(WRITE.into()),
        series: Some(READ.into()),
        y: vec![
            "components.cache.hit_ratio".into(),
            "components.db.utilization".into(),
            "latency.mean_ms".into(),
            "availability".into(),
        ],
        categorical: Vec::new(),
        over_time: Vec::new(),
    };
    (r, plot)
}

#[test]
fn a_categorical_sweep_is_grouped_bars_with_whiskers_and_no_line() {
    let (r, plot) = caching();
    let charts = sweep_charts(&r, Some(&plot), &[]);
    let s = read(chart(&charts, "sweep-components-cache-hit-ratio.svg"));
    let bars = s.bars();
    assert_eq!(bars.len(), 8, "one bar per point: {bars:?}");
    assert_eq!(bars.iter().filter(|c| **c == PALETTE[0]).count(), 4);
    assert_eq!(bars.iter().filter(|c| **c == PALETTE[1]).count(), 4);
    assert_eq!(s.whiskers(), 8, "a whisker per bar");
    // No polyline in a series colour reaches from one category to the next.
    let slot = 600.0 / 4.0;
    for p in s.polys.iter().filter(|p| PALETTE.contains(&p.stroke.as_str())) {
        let xs: Vec<f64> = p.points.iter().map(|q| q.0).collect();
        let extent =
            xs.iter().copied().fold(f64::MIN, f64::max) - xs.iter().copied().fold(f64::MAX, f64::min);
        assert!(extent < slot / 2.0, "a line across categories: {p:?}");
        assert_ne!(p.width, "2", "no data line on a bar chart: {p:?}");
    }
    for t in [
        "write_through",
        "invalidate",
        "write_around",
        "write_back",
        "cache_aside",
        "read_through",
    ] {
        assert!(s.has(t), "{t} in {:?}", s.texts);
    }
    assert!(
        s.has("Cache: hit ratio by components.cache.write_policy")
            || s.has("cache: hit ratio by components.cache.write_policy")
    );

    // A numeric parameter named as a category is drawn as bars too.
    let r = report(
        "tier",
        &[Value::from(1), Value::from(2), Value::from(3)],
        None,
        |i, _| [("latency.p99_ms".to_string(), mv(10.0 + i as f64, Some(1.0)))].into(),
        |_, _| BTreeMap::new(),
    );
    let lines = sweep_charts(&r, None, &[]);
    assert_eq!(read(&lines[0]).bars().len(), 0, "numbers are a line by default");
    let plot = PlotSpec {
        categorical: vec!["tier".into()],
        ..PlotSpec::default()
    };
    let charts = sweep_charts(&r, Some(&plot), &[]);
    let s = read(&charts[0]);
    assert_eq!(s.bars().len(), 3);
    assert_eq!(s.whiskers(), 3);
    assert!(
        s.polys.iter().all(|p| p.width != "2"),
        "no line between categories"
    );
}

#[test]
fn ratio_utilisation_and_availability_axes_start_at_zero() {
    let (r, plot) = caching();
    let charts = sweep_charts(&r, Some(&plot), &[]);
    for file in [
        "sweep-components-cache-hit-ratio.svg",
        "sweep-components-db-utilization.svg",
        "sweep-availability.svg",
        "sweep-latency-mean-ms.svg",
    ] {
        let s = read(chart(&charts, file));
        let low = s.lowest_y_tick();
        assert!(
            low == "0" || low == "0%",
            "{file}: lowest y tick {low:?} in {:?}",
            s.y_ticks()
        );
    }
}

#[test]
fn availabilities_near_one_get_a_nines_axis() {
    let r = report(
        "components.db.replicas",
        &[Value::from(1), Value::from(2), Value::from(3)],
        None,
        |i, _| {
            let a = [0.99, 0.999, 0.9999][i];
            [("availability".to_string(), mv(a, Some((1.0 - a) / 5.0)))].into()
        },
        |_, _| BTreeMap::new(),
    );
    let charts = sweep_charts(&r, None, &[("availability".into(), 0.999)]);
    let s = read(chart(&charts, "sweep-availability.svg"));
    for t in ["0%", "90%", "99%", "99.9%", "99.99%"] {
        assert!(s.has(t), "nines tick {t} in {:?}", s.y_ticks());
    }
    assert!(
        s.texts.iter().any(|t| t.text.contains("nines scale")),
        "the axis title says so: {:?}",
        s.texts
    );
    assert!(s.has("SLO 99.9%"));
    // Ticks are equally spaced: a nine per step.
    let ys: Vec<f64> = s.y_ticks().iter().map(|t| t.y).collect();
    let steps: Vec<f64> = ys.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(steps.iter().all(|d| (d - steps[0]).abs() <= 1.5), "{steps:?}");
}

#[test]
fn category_labels_are_never_cut() {
    // black-friday's scaler policies: objects whose labels are long.
    let policies: Vec<Value> = [
        r#"{"schedule":[{"at":"0s","replicas":2}]}"#,
        r#"{"target_tracking":{"metric":"cpu","target":0.6}}"#,
        r#"{"predictive":{"metric":"cpu","target":0.6,"horizon":"2m"}}"#,
        r#"{"schedule":[{"at":"0s","replicas":2},{"at":"28m","replicas":18},{"at":"90m","replicas":2}]}"#,
    ]
    .iter()
    .map(|s| serde_json::from_str(s).unwrap())
    .collect();
    let algos = strs(&[
        "round_robin",
        "random",
        "least_connections",
        "power_of_two",
        "least_time",
        "weighted_round_robin",
    ]);
    for (param, vals) in [
        ("components.scaler.policy", policies),
        ("components.lb.algorithm", algos),
    ] {
        let r = report(
            param,
            &vals,
            None,
            |i, _| [("latency.p99_ms".to_string(), mv(50.0 + i as f64, Some(4.0)))].into(),
            |_, _| BTreeMap::new(),
        );
        let charts = sweep_charts(&r, None, &[]);
        let s = read(&charts[0]);
        assert!(
            s.texts.iter().all(|t| !t.text.contains('…')),
            "{param}: cut: {:?}",
            s.texts
        );
        let ticks = s.x_ticks(param);
        let mut centres: Vec<f64> = ticks.iter().map(|t| t.x).collect();
        centres.sort_by(f64::total_cmp);
        centres.dedup_by(|a, b| (*a - *b).abs() < 1.0);
        assert_eq!(
            centres.len(),
            vals.len(),
            "{param}: a label under each category: {ticks:?}"
        );
        let slot = (centres[centres.len() - 1] - centres[0]) / (vals.len() - 1) as f64;
        for t in &ticks {
            let w = text_width(&t.text, TEXT_PX);
            assert!(
                w <= slot,
                "{param}: {:?} is {w:.0} px wide in a {slot:.0} px slot",
                t.text
            );
        }
        let letters = ticks.iter().all(|t| t.text.len() == 1);
        if letters {
            // The key gives every full label.
            for v in &vals {
                let full = archsim::report::value_label(v);
                assert!(s.has(&full), "{param}: key entry {full:?} in {:?}", s.texts);
            }
        } else {
            for v in &vals {
                let full = archsim::report::value_label(v);
                let joined: String = ticks
                    .iter()
                    .filter(|t| full.starts_with(&t.text) || full.ends_with(&t.text))
                    .map(|t| t.text.as_str())
                    .collect();
                assert!(
                    joined.len() >= full.len(),
                    "{param}: {full} written whole: {ticks:?}"
                );
            }
        }
    }
}

#[test]
fn theory_is_drawn_beside_the_simulation_when_present() {
    let rates = strs(&["100/s", "200/s", "300/s"]);
    let with = |theory: bool| {
        report(
            "clients.web.arrival.poisson",
            &rates,
            Some(("components.api.replicas", &[Value::from(2), Value::from(3)])),
            |i, j| {
                [(
                    "latency.mean_ms".to_string(),
                    mv(10.0 + 5.0 * i as f64 / (j + 1) as f64, Some(1.0)),
                )]
                .into()
            },
            move |i, j| {
                if theory {
                    [(
                        "latency.mean_ms".to_string(),
                        9.0 + 5.0 * i as f64 / (j + 1) as f64,
                    )]
                    .into()
                } else {
                    BTreeMap::new()
                }
            },
        )
    };
    let mean = PlotSpec {
        y: vec!["latency.mean_ms".into()],
        ..PlotSpec::default()
    };
    let charts = sweep_charts(&with(true), Some(&mean), &[]);
    let s = read(chart(&charts, "sweep-latency-mean-ms.svg"));
    let th = s.theory();
    assert_eq!(th.len(), 2, "a prediction line per series: {th:?}");
    assert!(
        th.iter().all(|p| p.points.len() == 3),
        "through every point: {th:?}"
    );
    assert!(th.iter().any(|p| p.stroke == PALETTE[0]) && th.iter().any(|p| p.stroke == PALETTE[1]));
    assert!(s.has("theory (explain)"));
    assert!(
        s.has("Mean latency by clients.web.arrival.poisson"),
        "{:?}",
        s.texts
    );

    let charts = sweep_charts(&with(false), Some(&mean), &[]);
    let s = read(chart(&charts, "sweep-latency-mean-ms.svg"));
    assert!(
        s.theory().is_empty() && !s.has("theory (explain)"),
        "no theory, nothing drawn"
    );

    // Bars: a short dashed tick across each bar.
    let (r, plot) = caching();
    let charts = sweep_charts(&r, Some(&plot), &[]);
    let s = read(chart(&charts, "sweep-latency-mean-ms.svg"));
    assert_eq!(s.theory().len(), 8, "a tick per bar");
    assert!(s.theory().iter().all(|p| p.points.len() == 2));
    assert!(s.has("theory (explain)"));
}

#[test]
fn a_few_runaway_values_do_not_flatten_the_rest() {
    // batching's shape: 15 → 27 ms at low load, an overloaded point far above.
    let r = report(
        "components.ingest.batch.size",
        &[Value::from(1), Value::from(10), Value::from(50)],
        Some((
            "clients.events.arrival.poisson",
            &[Value::from("50/s"), Value::from("300/s")],
        )),
        |i, j| {
            let v = [[15.0, 400_000.0], [27.0, 28.0], [27.0, 29.0]][i][j];
            [("latency.mean_ms".to_string(), mv(v, Some(1.0)))].into()
        },
        |_, _| BTreeMap::new(),
    );
    let mean = PlotSpec {
        y: vec!["latency.mean_ms".into()],
        ..PlotSpec::default()
    };
    let charts = sweep_charts(&r, Some(&mean), &[]);
    let s = read(chart(&charts, "sweep-latency-mean-ms.svg"));
    let top: f64 = s.y_ticks()[0].text.parse().expect("a number");
    assert!(top <= 50.0, "15 and 27 ms stay readable: axis to {top}");
    assert_eq!(s.lowest_y_tick(), "0");
    assert!(s.has("400k ms"), "the runaway value is written: {:?}", s.texts);
}

#[test]
fn categorical_must_name_a_varied_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(
        &file,
        "name: cat\nseed: 1\nduration: 2s\nclients:\n  web: { arrival: { poisson: 10/s }, target: api }\n\
         components:\n  api: { kind: service, service_time: { constant: 1ms } }\n\
         sweep:\n  vary:\n    components.api.replicas: [1, 2]\n  plot: { categorical: [components.api.cores] }\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin())
        .args(["sweep", "--quiet", "--out"])
        .arg(dir.path().join("out"))
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("sweep.plot.categorical[0]") && err.contains("components.api.cores"),
        "{err}"
    );
}

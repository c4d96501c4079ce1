//! Charts and HTML pages (issue 4): each chart is valid SVG with the
//! expected series, legend, shading and SLO lines; PNGs are real images
//! with text; pages are self-contained and escape what the user wrote.
//!
//! The SVG structure the tests read is documented in `report::plot`: a
//! data series is a `<polyline stroke-width="2">` in a palette colour, an
//! error bar a `<polyline stroke-width="1">` in one, an annotation a `<rect>`
//! filled with `BAND_COLOR`, an SLO line `<polyline>`s in `SLO_COLOR`.

use std::collections::BTreeMap;

use archsim::compare::charts::compare_charts;
use archsim::compare::page::compare_page;
use archsim::compare::{Comparison, Direction, Row, Test};
use archsim::model::Annotation;
use archsim::report::plot::{
    BAND_COLOR, ChartFile, HEIGHT, PALETTE, PNG_SCALE, SLO_COLOR, WIDTH, chart_files, to_png,
};
use archsim::report::{charts, html};
use archsim::run::{MetricValue, PointReport, Report, SweepReport};
use archsim::scenario::spec::PlotSpec;
use archsim::sweep::charts::sweep_charts;
use archsim::sweep::page::sweep_page;
use indexmap::IndexMap;
use serde_json::Value;

use crate::common::run_yaml;

const SCENARIO: &str = "
name: charts-test
seed: 3
duration: 20s
warmup: 2s
clients:
  web: { arrival: { poisson: 100/s }, target: lb }
components:
  lb: { kind: load_balancer, algorithm: round_robin, backends: api }
  api: { kind: service, replicas: 2, service_time: { exponential: 5ms }, calls: [db] }
  db: { kind: service, cores: 2, service_time: { exponential: 2ms } }
";

/// What a test reads from one chart's SVG.
#[derive(Debug)]
struct Svg {
    /// Stroke colour of each data line (`stroke-width="2"`, palette colour).
    lines: Vec<String>,
    /// Stroke colour of each error bar.
    error_bars: Vec<String>,
    /// Polylines drawn in the SLO colour.
    slo_dashes: usize,
    /// Rects filled with the annotation colour.
    bands: usize,
    /// Rects filled with a palette colour (bars and legend swatches).
    palette_rects: usize,
    /// Every text element's content.
    texts: Vec<String>,
}

fn read(c: &ChartFile) -> Svg {
    let doc =
        roxmltree::Document::parse(&c.svg).unwrap_or_else(|e| panic!("{} is not valid XML: {e}", c.file));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "{}", c.file);
    assert_eq!(root.attribute("width"), Some(WIDTH.to_string().as_str()));
    assert_eq!(root.attribute("height"), Some(HEIGHT.to_string().as_str()));
    let is_palette = |c: Option<&str>| c.is_some_and(|c| PALETTE.contains(&c));
    let polylines: Vec<roxmltree::Node> = doc.descendants().filter(|n| n.has_tag_name("polyline")).collect();
    let width_is = |n: &roxmltree::Node, w: &str| n.attribute("stroke-width") == Some(w);
    Svg {
        lines: polylines
            .iter()
            .filter(|n| width_is(n, "2") && is_palette(n.attribute("stroke")))
            .map(|n| n.attribute("stroke").unwrap_or_default().to_string())
            .collect(),
        error_bars: polylines
            .iter()
            .filter(|n| width_is(n, "1") && is_palette(n.attribute("stroke")))
            .map(|n| n.attribute("stroke").unwrap_or_default().to_string())
            .collect(),
        slo_dashes: polylines
            .iter()
            .filter(|n| n.attribute("stroke") == Some(SLO_COLOR))
            .count(),
        bands: doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(BAND_COLOR))
            .count(),
        palette_rects: doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && is_palette(n.attribute("fill")))
            .count(),
        texts: doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or_default().trim().to_string())
            .collect(),
    }
}

fn chart<'a>(charts: &'a [ChartFile], file: &str) -> &'a ChartFile {
    charts
        .iter()
        .find(|c| c.file == file)
        .unwrap_or_else(|| panic!("no {file} among {:?}", names(charts)))
}

fn names(charts: &[ChartFile]) -> Vec<&str> {
    charts.iter().map(|c| c.file.as_str()).collect()
}

fn distinct(v: &[String]) -> usize {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v.len()
}

fn has_text(s: &Svg, t: &str) -> bool {
    s.texts.iter().any(|x| x == t)
}

#[test]
fn run_charts_draw_every_series_with_a_legend() {
    let (report, outs) = run_yaml(SCENARIO, 1, 1);
    let o = &outs[0];
    let charts = charts::run_charts(&o.columns, &o.rows, &report.latency_cdf, &[]);
    assert_eq!(
        names(&charts),
        [
            "latency.svg",
            "throughput.svg",
            "availability.svg",
            "utilization.svg",
            "queue-length.svg",
            "latency-cdf.svg"
        ],
        "replicas never change here, so there is no replicas chart"
    );
    // (file, series, legend labels: only with more than one series)
    let expect: [(&str, usize, &[&str]); 6] = [
        ("latency.svg", 3, &["p50", "p95", "p99"]),
        ("throughput.svg", 2, &["successful", "errors"]),
        ("availability.svg", 1, &[]),
        // api has 2 replicas: the pool, then each replica, then db.
        ("utilization.svg", 4, &["api", "api[0]", "api[1]", "db"]),
        ("queue-length.svg", 2, &["api", "db"]),
        ("latency-cdf.svg", 1, &[]),
    ];
    for (file, n, legend) in expect {
        let c = chart(&charts, file);
        let s = read(c);
        assert_eq!(s.lines.len(), n, "{file}: data lines {:?}", s.lines);
        assert_eq!(distinct(&s.lines), n, "{file}: each series has its own colour");
        for l in legend {
            assert!(
                has_text(&s, l),
                "{file}: legend entry {l} missing from {:?}",
                s.texts
            );
        }
        assert!(has_text(&s, &c.title), "{file}: title");
        assert_eq!(s.bands, 0, "{file}: no annotations, no shading");
        // Axis descriptions carry units.
        assert!(
            s.texts
                .iter()
                .any(|t| t.starts_with("Simulated time (s)") || t.contains("(ms")),
            "{file}: axis label with a unit in {:?}",
            s.texts
        );
    }
    // A single series has no legend entry.
    let avail = read(chart(&charts, "availability.svg"));
    assert!(!has_text(&avail, "availability"));
}

#[test]
fn annotations_shade_every_time_chart() {
    let (report, outs) = run_yaml(SCENARIO, 1, 1);
    let o = &outs[0];
    let ann = [
        Annotation {
            start_s: 5.0,
            end_s: 8.0,
            label: "db slow".into(),
        },
        Annotation {
            start_s: 12.0,
            end_s: 13.0,
            label: "api[1] down".into(),
        },
    ];
    let charts = charts::run_charts(&o.columns, &o.rows, &report.latency_cdf, &ann);
    for c in &charts {
        let s = read(c);
        if c.file == "latency-cdf.svg" {
            assert_eq!(s.bands, 0, "the CDF has no time axis");
            continue;
        }
        assert_eq!(s.bands, 2, "{}: one shaded rect per annotation", c.file);
        for a in &ann {
            assert!(
                has_text(&s, &a.label),
                "{}: label {} in {:?}",
                c.file,
                a.label,
                s.texts
            );
        }
    }
    // Too many labels to fit side by side: the bands are numbered and the
    // labels listed in a key.
    let crowded: Vec<Annotation> = (0..6)
        .map(|i| Annotation {
            start_s: 3.0 + i as f64 * 1.5,
            end_s: 4.0 + i as f64 * 1.5,
            label: format!("fault {i}: a long description of what broke"),
        })
        .collect();
    let charts = charts::run_charts(&o.columns, &o.rows, &report.latency_cdf, &crowded);
    let s = read(chart(&charts, "latency.svg"));
    assert_eq!(s.bands, 6);
    for (i, a) in crowded.iter().enumerate() {
        let n = (i + 1).to_string();
        assert!(has_text(&s, &a.label), "key entry {} in {:?}", a.label, s.texts);
        let times = s.texts.iter().filter(|t| **t == n).count();
        assert!(times >= 2, "number {n} on the band and in the key");
    }
    // An annotation outside the run is not drawn.
    let far = [Annotation {
        start_s: 500.0,
        end_s: 600.0,
        label: "later".into(),
    }];
    let charts = charts::run_charts(&o.columns, &o.rows, &report.latency_cdf, &far);
    assert!(charts.iter().all(|c| read(c).bands == 0));
}

#[test]
fn replicas_chart_only_when_a_count_changes() {
    let columns: Vec<String> = ["t_s", "throughput_rps", "api.replicas", "db.replicas"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows = |api: &[f64]| -> Vec<Vec<f64>> {
        api.iter()
            .enumerate()
            .map(|(i, r)| vec![i as f64 + 1.0, 50.0, *r, 2.0])
            .collect()
    };
    let changing = charts::run_charts(&columns, &rows(&[2.0, 2.0, 3.0, 4.0, 4.0, 3.0]), &[], &[]);
    let s = read(chart(&changing, "replicas.svg"));
    assert_eq!(s.lines.len(), 2, "one line per service");
    assert!(has_text(&s, "api") && has_text(&s, "db"));
    let steady = charts::run_charts(&columns, &rows(&[2.0; 6]), &[], &[]);
    assert!(!names(&steady).contains(&"replicas.svg"));
    // Nothing to draw, nothing drawn.
    assert!(charts::run_charts(&columns, &[], &[], &[]).is_empty());
}

#[test]
fn png_is_a_real_image_with_text() {
    let (report, outs) = run_yaml(SCENARIO, 1, 1);
    let o = &outs[0];
    let charts = charts::run_charts(&o.columns, &o.rows, &report.latency_cdf, &[]);
    let png = to_png(&chart(&charts, "latency.svg").svg).expect("renders");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&png[12..16], b"IHDR");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    let scale = PNG_SCALE as u32;
    assert_eq!((w, h), (WIDTH * scale, HEIGHT * scale));
    let img = resvg::tiny_skia::Pixmap::decode_png(&png).expect("decodes");
    let px = img.pixels();
    let mut colours: Vec<(u8, u8, u8)> = px.iter().map(|p| (p.red(), p.green(), p.blue())).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 20, "only {} colours", colours.len());
    // The title is drawn with the embedded font: dark pixels in the band
    // across the top centre, where nothing else is.
    let dark_in_title = (0..40 * scale)
        .flat_map(|y| (300 * scale..500 * scale).map(move |x| (x, y)))
        .filter(|(x, y)| {
            let p = px[(*y * w + *x) as usize];
            p.red() < 100 && p.green() < 100 && p.blue() < 100
        })
        .count();
    assert!(
        dark_in_title > 200,
        "title text not rendered ({dark_in_title} dark pixels)"
    );
    assert!(to_png("<svg").is_err());
}

#[test]
fn chart_files_are_svg_and_png() {
    let (report, outs) = run_yaml(SCENARIO, 1, 1);
    let o = &outs[0];
    let charts = charts::run_charts(&o.columns, &o.rows, &report.latency_cdf, &[]);
    let names = |png| -> Vec<String> {
        chart_files(&charts[..2], png)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    };
    assert_eq!(names(false), ["latency.svg", "throughput.svg"]);
    assert_eq!(
        names(true),
        ["latency.svg", "latency.png", "throughput.svg", "throughput.png"]
    );
    let files = chart_files(&charts[..1], true).unwrap();
    assert!(files[1].1.starts_with(b"\x89PNG"), "a PNG file");
}

fn mv(value: f64, ci95: Option<f64>) -> MetricValue {
    MetricValue { value, ci95 }
}

/// A 2 × 3 sweep report: replicas × arrival rate, with intervals; the
/// point at 2 replicas and 300/s is UNSTABLE.
fn sweep_report() -> SweepReport {
    let mut vary: IndexMap<String, Vec<Value>> = IndexMap::new();
    vary.insert("components.api.replicas".into(), vec![2.into(), 3.into()]);
    vary.insert(
        "clients.web.arrival.poisson".into(),
        vec!["100/s".into(), "200/s".into(), "300/s".into()],
    );
    let mut points = Vec::new();
    for r in [2.0f64, 3.0] {
        for rate in [100.0f64, 200.0, 300.0] {
            let rho = rate / (150.0 * r);
            let mut params = IndexMap::new();
            params.insert("components.api.replicas".to_string(), Value::from(r as i64));
            params.insert(
                "clients.web.arrival.poisson".to_string(),
                Value::from(format!("{rate}/s")),
            );
            let metrics: BTreeMap<String, MetricValue> = [
                (
                    "latency.p99_ms".to_string(),
                    mv(20.0 / (1.0 - rho.min(0.95)), Some(3.0)),
                ),
                ("throughput_rps".to_string(), mv(rate.min(150.0 * r), Some(2.0))),
                (
                    "availability".to_string(),
                    mv(if rho < 1.0 { 1.0 } else { 0.9 }, Some(0.01)),
                ),
            ]
            .into();
            points.push(PointReport {
                theory: Default::default(),
                slo: Vec::new(),
                params,
                replications: 3,
                metrics,
                replication_seeds: vec![1, 2, 3],
                replication_values: BTreeMap::new(),
                notes: if rho >= 1.0 {
                    vec!["UNSTABLE: <queue> grows".to_string()]
                } else {
                    Vec::new()
                },
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

#[test]
fn sweep_charts_draw_series_error_bars_and_slo() {
    let report = sweep_report();
    let slo = vec![
        ("latency.p99_ms".to_string(), 50.0),
        ("availability".to_string(), 0.999),
    ];
    let plot = PlotSpec {
        x: Some("clients.web.arrival.poisson".into()),
        series: Some("components.api.replicas".into()),
        y: vec!["latency.p99_ms".into(), "throughput_rps".into()],
        over_time: Vec::new(),
        categorical: Vec::new(),
    };
    let charts = sweep_charts(&report, Some(&plot), &slo);
    assert_eq!(
        names(&charts),
        ["sweep-latency-p99-ms.svg", "sweep-throughput-rps.svg"]
    );
    for c in &charts {
        let s = read(c);
        assert_eq!(s.lines.len(), 2, "{}: one line per replica count", c.file);
        assert_eq!(distinct(&s.lines), 2);
        assert_eq!(s.error_bars.len(), 6, "{}: an error bar per point", c.file);
        assert_eq!(distinct(&s.error_bars), 2, "error bars in their series' colour");
        for t in ["components.api.replicas:", "2", "3"] {
            assert!(has_text(&s, t), "{}: legend {t} in {:?}", c.file, s.texts);
        }
        assert!(
            has_text(&s, "clients.web.arrival.poisson (/s)"),
            "{}: numeric x with its unit: {:?}",
            c.file,
            s.texts
        );
        for tick in ["100", "200", "300"] {
            assert!(has_text(&s, tick), "{}: x tick {tick}", c.file);
        }
        let slo_drawn = s.slo_dashes > 0 && s.texts.iter().any(|t| t.starts_with("SLO"));
        assert_eq!(
            slo_drawn,
            c.file == "sweep-latency-p99-ms.svg",
            "{}: an SLO line only where the metric has one",
            c.file
        );
    }
    assert!(read(&charts[0]).slo_dashes >= 5, "the SLO line is dashed");

    // Defaults: x the first varied parameter, series the second, three metrics.
    let charts = sweep_charts(&report, None, &[]);
    assert_eq!(
        names(&charts),
        [
            "sweep-latency-p99-ms.svg",
            "sweep-throughput-rps.svg",
            "sweep-availability.svg"
        ]
    );
    let s = read(&charts[0]);
    assert_eq!(s.lines.len(), 3, "one line per arrival rate");
    assert!(has_text(&s, "clients.web.arrival.poisson:") && has_text(&s, "100/s"));
    assert_eq!(s.slo_dashes, 0);
}

#[test]
fn sweep_charts_put_words_on_a_categorical_axis() {
    let mut vary: IndexMap<String, Vec<Value>> = IndexMap::new();
    let algos = ["round_robin", "least_connections", "random"];
    vary.insert(
        "components.lb.algorithm".into(),
        algos.iter().map(|a| Value::from(*a)).collect(),
    );
    let points = algos
        .iter()
        .enumerate()
        .map(|(i, a)| PointReport {
            theory: Default::default(),
            slo: Vec::new(),
            params: [("components.lb.algorithm".to_string(), Value::from(*a))]
                .into_iter()
                .collect(),
            replications: 1,
            metrics: [("latency.p99_ms".to_string(), mv(10.0 + i as f64, None))].into(),
            replication_seeds: vec![1],
            replication_values: BTreeMap::new(),
            notes: Vec::new(),
        })
        .collect();
    let report = SweepReport {
        headline: Vec::new(),
        archsim_version: "test".into(),
        scenario: "algos".into(),
        seed: 1,
        replications: 1,
        vary,
        points,
    };
    let charts = sweep_charts(&report, None, &[]);
    assert_eq!(
        names(&charts),
        ["sweep-latency-p99-ms.svg"],
        "only metrics with data"
    );
    let s = read(&charts[0]);
    // Categories are bars (issue 20), joined by no line.
    assert!(s.lines.is_empty(), "no line between categories");
    assert_eq!(s.palette_rects, 3, "a bar per category");
    assert!(s.error_bars.is_empty(), "one replication: no interval");
    for a in algos {
        assert!(has_text(&s, a), "category {a} in {:?}", s.texts);
    }
}

#[test]
fn compare_charts_overlay_one_cdf_per_input() {
    let reports: Vec<Report> = (1..=3).map(|seed| run_yaml(SCENARIO, seed, 2).0).collect();
    let refs: Vec<&Report> = reports.iter().collect();
    let names_in: Vec<String> = ["a/report.json", "b/report.json", "c/report.json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let charts = compare_charts(&names_in, &refs);
    assert_eq!(names(&charts), ["compare-latency-cdf.svg", "compare-metrics.svg"]);
    let cdf = read(&charts[0]);
    assert_eq!(cdf.lines.len(), 3);
    assert_eq!(distinct(&cdf.lines), 3);
    for l in ["A: a/report.json", "B: b/report.json", "C: c/report.json"] {
        assert!(has_text(&cdf, l), "legend {l} in {:?}", cdf.texts);
    }
    let bars = read(&charts[1]);
    // Four panels of three bars, and three legend swatches.
    assert_eq!(bars.palette_rects, 4 * 3 + 3);
    for t in [
        "A",
        "B",
        "C",
        "Throughput (req/s)",
        "p99 latency (ms)",
        "Availability (%)",
    ] {
        assert!(has_text(&bars, t), "{t} in {:?}", bars.texts);
    }
    assert_eq!(
        bars.error_bars.len(),
        0,
        "whiskers are drawn in ink, not series colours"
    );
}

fn assert_self_contained(page: &str, charts: usize) {
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<svg").count(), charts, "one inline SVG per chart");
    assert!(!page.to_lowercase().contains("<script"), "no JavaScript");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no network references"
    );
    assert!(
        !page.contains("<link") && !page.contains("<img"),
        "nothing external"
    );
}

#[test]
fn run_page_is_self_contained_and_escapes() {
    let (mut report, outs) = run_yaml(SCENARIO, 1, 1);
    report.notes.push("UNSTABLE: <api> cannot keep up".into());
    report.notes.push("warm-up chosen by MSER-5".into());
    let o = &outs[0];
    let charts = charts::run_charts(&o.columns, &o.rows, &report.latency_cdf, &[]);
    let page = html::run_page(
        &report,
        "Does a <script>alert(1)</script> & `code` survive?",
        "summary <table> text",
        &charts,
    );
    assert_self_contained(&page, charts.len());
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; <code>code</code>"));
    assert!(page.contains("summary &lt;table&gt; text"));
    assert!(page.contains("<div class=\"warn\">UNSTABLE: &lt;api&gt; cannot keep up</div>"));
    assert!(page.contains("<div class=\"note\">warm-up chosen by MSER-5</div>"));
    // The question is the title, the name the subtitle.
    assert!(page.contains(
        "<h1>Does a &lt;script&gt;alert(1)&lt;/script&gt; &amp; <code>code</code> survive?</h1>\n\
         <p class=\"subtitle\">charts-test · archsim run</p>"
    ));
    assert!(
        !page.contains("class=\"theory"),
        "no theory column without a prediction"
    );
    // The headline metrics and the components are tables.
    assert!(page.contains("<code>latency.p99_ms</code>"));
    assert!(page.contains("<td class=\"l\">api</td>") && page.contains("<td class=\"l\">db</td>"));
}

#[test]
fn run_page_puts_theory_beside_the_simulated_values() {
    let (mut report, outs) = run_yaml(SCENARIO, 1, 1);
    let o = &outs[0];
    let charts = charts::run_charts(&o.columns, &o.rows, &report.latency_cdf, &[]);
    let mean = report.metrics["latency.mean_ms"].value;
    let util = report.metrics["components.api.utilization"].value;
    // A prediction far from the simulated mean, one close to the api's
    // utilisation, none for db.
    report.theory.insert("latency.mean_ms".into(), mean * 3.0);
    report.theory.insert("components.api.utilization".into(), util);
    report.headline = vec!["latency.mean_ms".into(), "latency.p99_ms".into()];
    let page = html::run_page(&report, "", "", &charts);
    assert!(page.contains("<h1>charts-test</h1>"), "no description: the name");
    // The headline table too: the prediction in the metric's unit, off;
    // p99 has none (theory predicts means).
    let headline = &page[page.find("id=\"headline\"").expect("headline")..];
    let headline = &headline[..headline.find("</table>").unwrap()];
    assert!(
        headline.contains("<th class=\"theory\">theory</th>"),
        "{headline}"
    );
    assert!(
        headline.contains(&format!(
            "<td class=\"theory off\" title=\"outside the simulated value's interval\">{} ms</td>",
            archsim::report::fmt4(mean * 3.0)
        )),
        "{headline}"
    );
    assert!(
        headline.contains("p99 latency <code>latency.p99_ms</code>"),
        "{headline}"
    );
    assert_eq!(
        headline.matches("<td class=\"theory\"></td>").count(),
        1,
        "{headline}"
    );
    let row = |label: &str| {
        let at = page.find(label).unwrap_or_else(|| panic!("{label}"));
        page[at..at + page[at..].find("</tr>").unwrap()].to_string()
    };
    // Beside the mean latency, marked as off (outside 10% with one
    // replication).
    let m = row(">Latency, mean<");
    assert!(
        m.contains(&format!(
            "<td class=\"theory off\" title=\"outside the simulated value's interval\">{}</td>",
            archsim::report::fmt4(mean * 3.0)
        )),
        "{m}"
    );
    // Beside api's utilisation, in percent, not off; db has none.
    let api = row("<td class=\"l\">api</td>");
    assert!(
        api.contains(&format!(
            "<td class=\"theory\">{}</td>",
            archsim::report::fmt4(util * 100.0)
        )),
        "{api}"
    );
    let db = row("<td class=\"l\">db</td>");
    assert!(db.contains("<td class=\"theory\">-</td>"), "{db}");
    assert!(page.contains("<th class=\"theory\">theory</th>"));
    assert!(page.contains("Poisson arrivals"), "the note on reading a gap");
}

#[test]
fn sweep_page_lists_points_and_marks_unstable_ones() {
    let report = sweep_report();
    let charts = sweep_charts(&report, None, &[]);
    let page = sweep_page(&report, "Capacity <planning>", &charts);
    assert_self_contained(&page, charts.len());
    assert!(page.contains("Capacity &lt;planning&gt;"));
    // A header row and one row per point.
    let table = &page[page.find("<h2>Points</h2>").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr").count(), 1 + report.points.len());
    assert_eq!(table.matches("<tr class=\"unstable\">").count(), 1);
    assert!(table.contains("<span class=\"badge\">UNSTABLE</span>"));
    assert!(table.contains("±"), "intervals shown");
}

#[test]
fn compare_page_renders_the_table_from_the_rows() {
    let inputs = vec!["a/report.json".to_string(), "<b>/report.json".to_string()];
    let c = Comparison {
        inputs,
        kind: "reports",
        rows: vec![Row {
            point: None,
            metric: "latency.p99_ms".into(),
            values: vec![10.0, 12.0],
            ci95: vec![Some(1.0), Some(1.0)],
            diff: vec![2.0],
            rel_diff: vec![Some(20.0)],
            significant: vec![Some(true)],
            test: Test::Paired,
            tests: vec![Test::Paired],
            direction: Direction::Lower,
        }],
        unmatched: Vec::new(),
        ..Comparison::default()
    };
    let page = compare_page(&c, &[]);
    assert_self_contained(&page, 0);
    assert!(page.contains("<code>&lt;b&gt;/report.json</code>"));
    assert!(page.contains("<th class=\"l\">metric</th><th>A</th>"));
    assert!(page.contains("<td class=\"l\">latency.p99_ms</td><td class=\"better\">10.00 ± 1.000</td>"));
    assert!(page.contains("<td class=\"l worse\">yes, worse</td>"));
    assert!(page.contains("<em>significance at 95% vs A"));
}

/// The y-axis tick labels of a chart, panel by panel (plotters writes a
/// panel's right-aligned labels one after another): (y position, label).
fn y_ticks(c: &ChartFile) -> Vec<Vec<(f64, String)>> {
    let doc = roxmltree::Document::parse(&c.svg).expect("valid SVG");
    let mut panels: Vec<Vec<(f64, String)>> = Vec::new();
    let mut in_run = false;
    for n in doc.descendants().filter(|n| n.has_tag_name("text")) {
        if n.attribute("text-anchor") == Some("end") {
            if !in_run {
                panels.push(Vec::new());
            }
            let y: f64 = n.attribute("y").and_then(|y| y.parse().ok()).unwrap_or(0.0);
            let label = n.text().unwrap_or_default().trim().to_string();
            panels.last_mut().expect("a panel").push((y, label));
            in_run = true;
        } else {
            in_run = false;
        }
    }
    panels
}

/// The lowest tick label of each panel (the one drawn furthest down).
fn lowest_ticks(c: &ChartFile) -> Vec<String> {
    y_ticks(c)
        .into_iter()
        .filter_map(|p| p.into_iter().max_by(|a, b| a.0.total_cmp(&b.0)).map(|t| t.1))
        .collect()
}

#[test]
fn the_warm_up_is_shaded_and_labelled_on_every_time_chart() {
    let (report, outs) = run_yaml(SCENARIO, 3, 1);
    let o = &outs[0];
    assert_eq!(report.warmup_s, 2.0);
    let fault = [Annotation {
        start_s: 10.0,
        end_s: 12.0,
        label: "db slow".into(),
    }];
    let charts =
        charts::run_charts_after_warmup(&o.columns, &o.rows, &report.latency_cdf, &fault, report.warmup_s);
    let mut time_charts = 0;
    for c in &charts {
        let s = read(c);
        if c.file == "latency-cdf.svg" {
            assert_eq!(s.bands, 0, "the CDF has no time axis");
            continue;
        }
        time_charts += 1;
        assert_eq!(s.bands, 2, "{}: the warm-up and the fault", c.file);
        assert!(has_text(&s, charts::WARMUP_LABEL), "{}: {:?}", c.file, s.texts);
        assert!(has_text(&s, "db slow"), "{}: {:?}", c.file, s.texts);
    }
    assert!(time_charts >= 4, "{:?}", names(&charts));
    // No warm-up, no band.
    let none = charts::run_charts_after_warmup(&o.columns, &o.rows, &report.latency_cdf, &[], 0.0);
    for c in &none {
        let s = read(c);
        assert_eq!(s.bands, 0, "{}", c.file);
        assert!(!has_text(&s, charts::WARMUP_LABEL), "{}", c.file);
    }
}

#[test]
fn utilisation_and_availability_axes_start_at_zero_with_human_titles() {
    let (report, outs) = run_yaml(SCENARIO, 3, 1);
    let o = &outs[0];
    let charts = charts::run_charts(&o.columns, &o.rows, &report.latency_cdf, &[]);
    for (file, title) in [
        ("utilization.svg", "Utilisation (%)"),
        ("availability.svg", "Availability (%)"),
        ("throughput.svg", "Throughput (req/s)"),
    ] {
        let c = chart(&charts, file);
        assert_eq!(lowest_ticks(c), ["0"], "{file}: {:?}", y_ticks(c));
        assert!(has_text(&read(c), title), "{file}: {:?}", read(c).texts);
    }
    // Utilisation of a service about a quarter busy: the axis still
    // starts at 0 and reaches 100%.
    let util = y_ticks(chart(&charts, "utilization.svg")).concat();
    assert!(util.iter().any(|t| t.1 == "100"), "{util:?}");
    // p50, p95 and p99 are told apart in the legend.
    let lat = read(chart(&charts, "latency.svg"));
    for p in ["p50", "p95", "p99"] {
        assert!(has_text(&lat, p), "{:?}", lat.texts);
    }
}

#[test]
fn compare_bars_start_at_zero_for_the_headline_metrics_and_keep_whole_names() {
    let mut reports: Vec<Report> = (1..=2).map(|seed| run_yaml(SCENARIO, seed, 2).0).collect();
    for r in &mut reports {
        r.headline = vec![
            "latency.p99_ms".into(),
            "components.api.utilization".into(),
            "availability".into(),
        ];
    }
    let refs: Vec<&Report> = reports.iter().collect();
    let long = "components.api.replicas=2, components.db.cores=4, clients.web.arrival.poisson=100/s";
    let names_in = vec![long.to_string(), "b/report.json".to_string()];
    let charts = compare_charts(&names_in, &refs);
    let bars = chart(&charts, "compare-metrics.svg");
    let s = read(bars);
    // One panel per headline metric, titled by `describe`.
    for t in ["p99 latency (ms)", "api: utilisation (%)", "Availability (%)"] {
        assert!(has_text(&s, t), "{t} in {:?}", s.texts);
    }
    assert!(!has_text(&s, "Throughput (req/s)"), "not a headline metric here");
    assert_eq!(
        s.palette_rects,
        3 * 2 + 2,
        "three panels of two bars, two swatches"
    );
    // Every panel's y axis starts at 0, availability (about 100%) too.
    let lowest = lowest_ticks(bars);
    assert_eq!(lowest.len(), 3, "{:?}", y_ticks(bars));
    assert!(lowest.iter().all(|l| l.parse::<f64>() == Ok(0.0)), "{lowest:?}");
    // The key names each input in full.
    assert!(has_text(&s, &format!("A: {long}")), "{:?}", s.texts);
}

//! `sweep.plot.over_time` (issue 20): a time-series column overlaid
//! across the grid, one line per point, kept in points.jsonl so that a
//! resumed or merged sweep draws the very same chart; a column no point
//! records is bad input naming the field.

use std::path::Path;
use std::process::{Command, Output};

use archsim::report::plot::{BAND_COLOR, PALETTE};

use crate::common::bin;

const SCENARIO: &str = "
name: overlay-test
seed: 11
duration: 30s
warmup: 0s
clients:
  web: { arrival: { poisson: 120/s }, target: lb }
components:
  lb: { kind: load_balancer, algorithm: round_robin, backends: api }
  api: { kind: service, replicas: 2, service_time: { exponential: 10ms } }
faults:
  - { at: 10s, slow: api, factor: 2, for: 5s }
sweep:
  vary:
    components.api.replicas: [2, 3, 4]
  replications: 2
  plot:
    over_time: [api.replicas, latency_p99_ms]
";

const REPLICAS_SVG: &str = "sweep-over-time-api-replicas.svg";

fn sweep(dir: &Path, scenario: &Path, extra: &[&str]) -> Output {
    Command::new(bin())
        .args(["sweep", scenario.to_str().unwrap(), "--quiet", "--out"])
        .arg(dir)
        .args(extra)
        .output()
        .expect("archsim sweep runs")
}

fn setup(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s.yaml");
    std::fs::write(&s, text).unwrap();
    (tmp, s)
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A data line of a chart: stroke colour, dash pattern, pixel points.
type DataLine = (String, Option<String>, Vec<(f64, f64)>);

/// The data lines of a chart.
fn data_lines(svg: &str) -> Vec<DataLine> {
    let doc = roxmltree::Document::parse(svg).expect("the chart is XML");
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .filter(|n| n.attribute("stroke-width") == Some("2"))
        .filter(|n| n.attribute("stroke").is_some_and(|c| PALETTE.contains(&c)))
        .map(|n| {
            let pts = n
                .attribute("points")
                .unwrap_or_default()
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').expect("x,y");
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect();
            (
                n.attribute("stroke").unwrap().to_string(),
                n.attribute("stroke-dasharray").map(str::to_string),
                pts,
            )
        })
        .collect()
}

fn lines_json(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("points.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn over_time_draws_a_line_per_point_and_survives_resume_and_merge() {
    let (tmp, s) = setup(SCENARIO);
    let whole = tmp.path().join("whole");
    ok(&sweep(&whole, &s, &[]));

    // Replication 0 of each point keeps its series; replication 1 does not.
    for l in lines_json(&whole) {
        let reps = l["params"]["components.api.replicas"].as_f64().unwrap();
        let ot = &l["over_time"];
        if l["replication"] == 0 {
            let series = ot["columns"]["api.replicas"].as_array().unwrap();
            assert_eq!(series.len(), 30, "one point per 1 s interval");
            assert!(
                series.iter().all(|v| v.as_f64() == Some(reps)),
                "a fixed pool is flat at its size: {series:?}"
            );
            assert_eq!(ot["t_s"][0], 1.0);
            assert_eq!(ot["window_s"], 1.0);
            assert!(ot["columns"]["latency_p99_ms"].is_array());
        } else {
            assert!(ot.is_null(), "only replication 0 keeps series");
        }
    }

    let svg = std::fs::read_to_string(whole.join(REPLICAS_SVG)).expect("the overlay chart");
    let lines = data_lines(&svg);
    assert_eq!(lines.len(), 3, "one line per point");
    let mut colours: Vec<&String> = lines.iter().map(|l| &l.0).collect();
    colours.dedup();
    assert_eq!(colours.len(), 3, "a colour each");
    let dashes: Vec<&Option<String>> = lines.iter().map(|l| &l.1).collect();
    assert_eq!(dashes[0], &None, "the first solid");
    assert!(dashes[1].is_some() && dashes[2].is_some() && dashes[1] != dashes[2]);
    // Flat lines, higher for more replicas (smaller pixel y), spanning the
    // run: the 2-, 3- and 4-replica lines are equally spaced.
    let ys: Vec<f64> = lines
        .iter()
        .map(|(_, _, pts)| {
            assert!(pts.len() >= 30);
            assert!(pts.iter().all(|p| p.1 == pts[0].1), "flat: {pts:?}");
            pts[0].1
        })
        .collect();
    assert!(ys[0] > ys[1] && ys[1] > ys[2], "{ys:?}");
    assert!(((ys[0] - ys[1]) - (ys[1] - ys[2])).abs() <= 1.0, "{ys:?}");
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let bands = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some(BAND_COLOR))
        .count();
    assert_eq!(bands, 1, "the slowdown is shaded");
    let texts: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    assert!(texts.contains(&"api: replicas over time, by point"), "{texts:?}");
    assert!(texts.contains(&"components.api.replicas:"), "{texts:?}");
    assert!(whole.join("sweep-over-time-latency-p99-ms.svg").exists());
    let page = std::fs::read_to_string(whole.join("index.html")).unwrap();
    assert!(
        page.contains("api: replicas over time, by point"),
        "on the page too"
    );

    // Interrupted after two replications, then resumed: the same bytes.
    let resumed = tmp.path().join("resumed");
    let o = sweep(&resumed, &s, &["--jobs", "1", "--stop-after", "2"]);
    assert_eq!(o.status.code(), Some(1));
    ok(&sweep(&resumed, &s, &["--resume", "--jobs", "2"]));
    assert_eq!(std::fs::read_to_string(resumed.join(REPLICAS_SVG)).unwrap(), svg);

    // Two shards merged (with PNGs): the same bytes.
    let mut dirs = Vec::new();
    for k in 1..=2 {
        let d = tmp.path().join(format!("shard{k}"));
        ok(&sweep(&d, &s, &["--shard", &format!("{k}/2")]));
        dirs.push(d);
    }
    let merged = tmp.path().join("merged");
    let o = Command::new(bin())
        .arg("merge")
        .args(&dirs)
        .arg("--out")
        .arg(&merged)
        .arg("--png")
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(std::fs::read_to_string(merged.join(REPLICAS_SVG)).unwrap(), svg);
    assert!(merged.join("sweep-over-time-api-replicas.png").exists());

    // A lines file from before over_time still loads: the same sweep.json,
    // no overlay chart (no point kept a series).
    let old = tmp.path().join("old");
    std::fs::create_dir(&old).unwrap();
    std::fs::copy(whole.join("sweep-plan.json"), old.join("sweep-plan.json")).unwrap();
    let stripped: String = lines_json(&whole)
        .into_iter()
        .map(|mut l| {
            l.as_object_mut().unwrap().remove("over_time");
            serde_json::to_string(&l).unwrap() + "\n"
        })
        .collect();
    std::fs::write(old.join("points.jsonl"), stripped).unwrap();
    let from_old = tmp.path().join("from-old");
    let o = Command::new(bin())
        .arg("merge")
        .arg(&old)
        .arg("--out")
        .arg(&from_old)
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(
        crate::common::without_wall_clock(&std::fs::read_to_string(from_old.join("sweep.json")).unwrap()),
        crate::common::without_wall_clock(&std::fs::read_to_string(whole.join("sweep.json")).unwrap())
    );
    assert!(!from_old.join(REPLICAS_SVG).exists());
}

#[test]
fn a_column_no_point_records_is_exit_2_naming_the_field() {
    // The balancer is a component but keeps no time series: found by the
    // sweep against its points' columns, before anything runs.
    let (tmp, s) = setup(&SCENARIO.replace(
        "over_time: [api.replicas, latency_p99_ms]",
        "over_time: [api.replicas, lb.replicas]",
    ));
    let out = tmp.path().join("out");
    let o = sweep(&out, &s, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let line = SCENARIO.lines().position(|l| l.contains("over_time:")).unwrap() + 1;
    assert!(
        err.contains(&format!("s.yaml:{line}:")) && err.contains("sweep.plot.over_time.1"),
        "{err}"
    );
    assert!(
        err.contains("`lb.replicas`") && err.contains("latency_p99_ms"),
        "{err}"
    );
    assert!(!out.join("points.jsonl").exists() || lines_json(&out).is_empty());

    // A name that is no component's: found by the loader, for every command.
    let (_tmp, s) = setup(&SCENARIO.replace(
        "over_time: [api.replicas, latency_p99_ms]",
        "over_time: [apu.replicas]",
    ));
    let o = sweep(&tmp.path().join("out2"), &s, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("s.yaml:{line}:")) && err.contains("sweep.plot.over_time.0: `apu.replicas`"),
        "{err}"
    );
}

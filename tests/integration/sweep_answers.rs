//! A sweep answers its scenario's question: the table leads with the
//! headline metrics, each point is judged against the SLO objectives
//! (sweep.json, sweep.csv, the table, the page and the charts say so),
//! `--check-slo` exits 3 on a failing point, and a resumed or merged sweep
//! gives the verdicts of a fresh one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::bin;

/// Replicas 1 to 4 at a fixed 150 req/s of 10 ms work: one replica is
/// overloaded (p99 of seconds: a clear fail), three and four keep the p99
/// near 50 ms (a clear pass against 100 ms).
const SCENARIO: &str = "
name: answers-test
seed: 4
duration: 40s
warmup: 5s
headline: [latency.p99_ms, availability]
slo: { latency_p99: 100ms, objectives: [{ metric: error_ratio, max: 0.01 }] }
clients:
  web: { arrival: { poisson: 150/s }, target: lb }
components:
  lb: { kind: load_balancer, algorithm: least_connections, backends: api }
  api: { kind: service, replicas: 2, service_time: { exponential: 10ms } }
sweep:
  vary:
    components.api.replicas: [1, 2, 3, 4]
  replications: 3
";

fn sweep(scenario: &Path, dir: &Path, extra: &[&str]) -> Output {
    Command::new(bin())
        .arg("sweep")
        .arg(scenario)
        .arg("--out")
        .arg(dir)
        .args(["--jobs", "2"])
        .args(extra)
        .output()
        .expect("archsim sweep runs")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn setup(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s.yaml");
    std::fs::write(&s, yaml).unwrap();
    (tmp, s)
}

fn json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap()
}

/// sweep.csv as rows of (column → field).
fn csv_rows(dir: &Path) -> Vec<Vec<(String, String)>> {
    let text = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

fn field<'a>(row: &'a [(String, String)], col: &str) -> &'a str {
    row.iter()
        .find(|(c, _)| c == col)
        .unwrap_or_else(|| panic!("no column {col}"))
        .1
        .as_str()
}

/// The table's cells: columns are separated by two or more spaces.
fn table(stdout: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .take_while(|l| !l.starts_with("Ran ") && !l.starts_with("from "))
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        })
        .collect()
}

/// Each point's verdicts in sweep.json: (overall from the objectives, per metric).
fn verdicts(v: &serde_json::Value) -> Vec<Vec<(String, String)>> {
    v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["slo"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["metric"].as_str().unwrap().to_string(),
                        r["verdict"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

/// A bundled scenario with `headline:` set to `metrics` (any headline it
/// declares replaced), written into `dir`.
fn with_headline(bundled: &str, metrics: &[&str], dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(bundled)).unwrap();
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let top_level = !line.starts_with([' ', '\t', '-', '#']) && !line.is_empty();
        if top_level {
            skipping = line.starts_with("headline:");
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&format!("headline: [{}]\n", metrics.join(", ")));
    let p = dir.join(Path::new(bundled).file_name().unwrap());
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn the_sweep_table_leads_with_the_headline_and_shows_sweep_csv_values() {
    let tmp = tempfile::tempdir().unwrap();
    let headline = [
        "components.ingest.end_to_end.p99_ms",
        "components.ingest.end_to_end.mean_ms",
        "components.ingest.throughput_rps",
    ];
    let s = with_headline("scenarios/batching.yaml", &headline, tmp.path());
    let dir = tmp.path().join("out");
    let stdout = ok(&sweep(&s, &dir, &[]));
    let t = table(&stdout);
    let header = &t[0];
    let reps = header.iter().position(|c| c == "reps").expect("a reps column");
    assert_eq!(
        &header[reps + 1..reps + 1 + headline.len()],
        &headline[..],
        "the headline metrics lead: {header:?}"
    );
    assert!(
        !header.iter().any(|c| c == "latency.p99_ms"),
        "a queue's producers see only the enqueue ack: their latency is not the question"
    );
    let rows = csv_rows(&dir);
    assert_eq!(t.len() - 1, rows.len(), "a table row per point");
    for (cells, row) in t[1..].iter().zip(&rows) {
        // `41.94 ms` in the table; 41.943039 in sweep.csv.
        let shown: f64 = cells[reps + 1]
            .strip_suffix(" ms")
            .unwrap_or_else(|| panic!("p99 in ms: {cells:?}"))
            .parse()
            .unwrap();
        let csv: f64 = field(row, headline[0]).parse().unwrap();
        assert!(shown > 0.0, "a non-zero p99: {cells:?}");
        assert!(
            (shown - csv).abs() <= 5e-4 * csv,
            "table {shown} vs sweep.csv {csv}"
        );
        assert_eq!(cells[reps], field(row, "replications"));
    }
    // No objectives: no SLO column in the table or the CSV.
    if !std::fs::read_to_string(&s).unwrap().contains("slo:") {
        assert!(!header.iter().any(|c| c == "SLO"));
        assert!(!rows[0].iter().any(|(c, _)| c.starts_with("slo")));
    }
    assert_eq!(
        json(&dir)["headline"],
        serde_json::json!(headline),
        "sweep.json names the headline"
    );
}

#[test]
fn each_point_is_judged_and_check_slo_exits_3_on_a_fail() {
    let (tmp, s) = setup(SCENARIO);
    let dir = tmp.path().join("a");
    let stdout = ok(&sweep(&s, &dir, &[]));

    // sweep.json: every point judged on both objectives.
    let v = verdicts(&json(&dir));
    assert_eq!(v.len(), 4);
    assert_eq!(
        v[0],
        [
            ("latency.p99_ms".to_string(), "fail".to_string()),
            ("error_ratio".to_string(), "fail".to_string())
        ],
        "one replica cannot keep up: ρ = 1.5, and what is still queued at the end is not served"
    );
    for p in &v[2..] {
        assert!(
            p.iter().all(|(_, v)| v == "pass"),
            "three and four replicas pass: {p:?}"
        );
    }

    // sweep.csv: the existing columns, then the overall and each objective.
    let rows = csv_rows(&dir);
    let header: Vec<&str> = rows[0].iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        &header[..3],
        ["components.api.replicas", "replications", "availability"]
    );
    assert_eq!(
        &header[header.len() - 3..],
        ["slo", "slo:latency.p99_ms", "slo:error_ratio"],
        "verdict columns come last"
    );
    assert_eq!(field(&rows[0], "slo"), "fail");
    assert_eq!(field(&rows[0], "slo:latency.p99_ms"), "fail");
    assert_eq!(field(&rows[0], "slo:error_ratio"), "fail");
    assert_eq!(field(&rows[3], "slo"), "pass");

    // The table: an SLO column naming what failed, UNSTABLE kept.
    let t = table(&stdout);
    let slo = t[0].iter().position(|c| c == "SLO").expect("an SLO column");
    assert_eq!(t[1][slo], "FAIL (p99, error_ratio)");
    assert!(t[1].last().is_some_and(|c| c == "UNSTABLE"), "{:?}", t[1]);
    assert_eq!(t[4][slo], "PASS");
    assert!(
        t[4][slo - 2].ends_with(" ms") && t[4][slo - 2].contains('±'),
        "{:?}",
        t[4]
    );

    // The page: the headline leads the points table, with verdict badges.
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let points = &page[page.find("<h2>Points</h2>").unwrap()..];
    let points = &points[..points.find("</table>").unwrap()];
    let p99 = points
        .find("<code>latency.<wbr>p99_ms</code>")
        .expect("p99 column");
    let avail = points
        .find("<code>availability</code>")
        .expect("availability column");
    let ratio = points
        .find("<code>error_ratio</code>")
        .expect("the objective's metric");
    assert!(
        p99 < avail && avail < ratio,
        "headline first, then the other objective"
    );
    assert_eq!(
        points.matches("<span class=\"verdict fail\">FAIL</span>").count(),
        1
    );
    assert_eq!(
        points.matches("<span class=\"verdict pass\">PASS</span>").count(),
        2
    );

    // The p99 chart marks the failing point with a × in the fail colour and
    // says what the markers mean; the availability chart has no objective.
    let svg = std::fs::read_to_string(dir.join("sweep-latency-p99-ms.svg")).unwrap();
    let fail = archsim::report::plot::FAIL_COLOR;
    assert_eq!(
        svg.matches(&format!("stroke=\"{fail}\"")).count(),
        2 * 2,
        "a × at the failing point and one in the key"
    );
    assert!(svg.contains("SLO verdict:") && svg.contains("uncertain"));
    let svg = std::fs::read_to_string(dir.join("sweep-availability.svg")).unwrap();
    assert!(!svg.contains("SLO verdict:"));

    // --check-slo: exit 3 when a point fails, with a message; 0 without it.
    let o = sweep(&s, &tmp.path().join("b"), &["--check-slo"]);
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 of 4 points fail"));
    let o = sweep(&s, &tmp.path().join("c"), &["--check-slo", "--quiet"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        o.stdout.is_empty() && o.stderr.is_empty(),
        "--quiet prints nothing"
    );
    // Only the points that pass: exit 0.
    let o = sweep(
        &s,
        &tmp.path().join("d"),
        &["--check-slo", "--vary", "components.api.replicas=3,4"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn resume_and_merge_give_the_verdicts_of_a_fresh_sweep() {
    let (tmp, s) = setup(SCENARIO);
    // A tighter target by --set: the merge must judge what the slices ran.
    let set = ["--set", "slo.latency_p99=60ms", "--quiet"];
    let fresh = tmp.path().join("fresh");
    ok(&sweep(&s, &fresh, &set));
    let want = verdicts(&json(&fresh));
    assert!(
        want.iter().any(|p| p[0].1 == "uncertain"),
        "60 ms splits the points differently than 100 ms: {want:?}"
    );
    let slo_cols = |dir: &Path| -> Vec<Vec<(String, String)>> {
        csv_rows(dir)
            .into_iter()
            .map(|r| r.into_iter().filter(|(c, _)| c.starts_with("slo")).collect())
            .collect()
    };

    let resumed = tmp.path().join("resumed");
    let o = sweep(&s, &resumed, &[&set[..], &["--stop-after", "5"]].concat());
    assert_eq!(o.status.code(), Some(1), "interrupted");
    ok(&sweep(&s, &resumed, &[&set[..], &["--resume"]].concat()));
    assert_eq!(verdicts(&json(&resumed)), want);
    assert_eq!(slo_cols(&resumed), slo_cols(&fresh));

    let mut shards = Vec::new();
    for k in 1..=2 {
        let d = tmp.path().join(format!("shard{k}"));
        ok(&sweep(
            &s,
            &d,
            &[&set[..], &["--shard", &format!("{k}/2")]].concat(),
        ));
        shards.push(d);
    }
    let merged = tmp.path().join("merged");
    let o = Command::new(bin())
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    ok(&o);
    assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(verdicts(&json(&merged)), want);
    assert_eq!(json(&merged)["headline"], json(&fresh)["headline"]);
    assert_eq!(slo_cols(&merged), slo_cols(&fresh));
    assert_eq!(
        crate::common::without_wall_clock(&std::fs::read_to_string(merged.join("sweep.json")).unwrap()),
        crate::common::without_wall_clock(&std::fs::read_to_string(fresh.join("sweep.json")).unwrap())
    );
}

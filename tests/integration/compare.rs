//! `archsim compare` (issue 3 item 6): identical reports show no
//! significant difference; 1 versus 4 replicas near saturation shows a
//! significant latency difference (paired: the replications share seeds)
//! and no significant throughput difference; markdown and JSON output;
//! sweeps compared point by point; bad input exits 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::bin;

/// One 1-core replica at ρ = 0.65 (M/M/1: mean latency ≈ 14 ms) or, with
/// `components.api.replicas=4`, four of them (≈ 5 ms). Throughput is the
/// offered load either way.
const SCENARIO: &str = "
name: compare-test
seed: 5
duration: 40s
warmup: 5s
clients:
  web: { arrival: { poisson: 130/s }, target: lb }
components:
  lb: { kind: load_balancer, algorithm: least_connections, backends: api }
  api: { kind: service, replicas: 1, cores: 1, service_time: { exponential: 5ms } }
";

fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s.yaml");
    std::fs::write(&s, SCENARIO).unwrap();
    (tmp, s)
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `archsim run` with 5 replications into `dir`.
fn run(scenario: &Path, dir: &Path, extra: &[&str]) {
    ok(Command::new(bin())
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--quiet",
            "--replications",
            "5",
            "--out",
        ])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap());
}

fn compare(args: &[&Path], format: &str) -> Output {
    Command::new(bin())
        .arg("compare")
        .args(args)
        .args(["--format", format])
        .output()
        .unwrap()
}

fn compare_json(args: &[&Path]) -> serde_json::Value {
    let out = ok(compare(args, "json"));
    serde_json::from_slice(&out.stdout).expect("compare --format json prints JSON")
}

fn row<'a>(doc: &'a serde_json::Value, metric: &str) -> &'a serde_json::Value {
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metric"] == metric)
        .unwrap_or_else(|| panic!("no row for {metric}"))
}

#[test]
fn identical_reports_show_no_significant_difference() {
    let (tmp, s) = setup();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(&s, &a, &[]);
    run(&s, &b, &[]);
    // Folders and files are both accepted.
    let doc = compare_json(&[&a, &b.join("report.json")]);
    assert_eq!(doc["kind"], "reports");
    let rows = doc["rows"].as_array().unwrap();
    assert!(rows.len() > 10, "{} rows", rows.len());
    for r in rows {
        // sim.unstable keeps no per-replication values or interval: no test.
        let expect = if r["metric"] == "sim.unstable" {
            serde_json::json!([null])
        } else {
            serde_json::json!([false])
        };
        assert_eq!(r["significant"], expect, "{r}");
        assert_eq!(r["rel_diff"], serde_json::json!([0.0]), "{r}");
        assert_eq!(r["diff"], serde_json::json!([0.0]), "{r}");
        // Same seeds and per-replication values: the paired test.
        if r["metric"] != "sim.unstable" {
            assert_eq!(r["test"], "paired", "{r}");
        }
        for skipped in ["sim.wall_s", "sim.events_per_s", "sim.fingerprint", "sim.events"] {
            assert_ne!(r["metric"], skipped);
        }
    }
    // The text table: every significance cell says "no".
    let out = ok(compare(&[&a, &b], "text"));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("yes"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when stdout is not a terminal");
    let lat = text
        .lines()
        .find(|l| l.starts_with("latency.mean_ms "))
        .expect(&text);
    assert!(lat.contains(" no ") && lat.contains("paired"), "{lat}");
}

#[test]
fn one_versus_four_replicas_latency_differs_significantly_throughput_does_not() {
    let (tmp, s) = setup();
    let (one, four) = (tmp.path().join("one"), tmp.path().join("four"));
    run(&s, &one, &[]);
    run(&s, &four, &["--set", "components.api.replicas=4"]);
    let doc = compare_json(&[&one, &four]);
    let lat = row(&doc, "latency.mean_ms");
    assert_eq!(lat["test"], "paired", "{lat}");
    assert_eq!(lat["significant"][0], true, "{lat}");
    assert_eq!(lat["direction"], "lower");
    assert!(lat["diff"][0].as_f64().unwrap() < -3.0, "{lat}");
    let p99 = row(&doc, "latency.p99_ms");
    assert_eq!(p99["significant"][0], true, "{p99}");
    let tp = row(&doc, "throughput_rps");
    assert_eq!(tp["test"], "paired", "{tp}");
    assert_eq!(tp["significant"][0], false, "{tp}");
    assert_eq!(tp["direction"], "higher");
    assert!(tp["rel_diff"][0].as_f64().unwrap().abs() < 1.0, "{tp}");

    let out = ok(compare(&[&one, &four], "text"));
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |m: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{m} ")))
            .unwrap_or_else(|| panic!("no {m} line in\n{text}"))
            .to_string()
    };
    assert!(line("latency.mean_ms").contains("yes, better"), "{text}");
    assert!(line("throughput_rps").contains(" no "), "{text}");
    assert!(line("components.api.replicas_mean").contains("yes "), "{text}");
    assert!(
        !line("components.api.replicas_mean").contains("better"),
        "neutral metric\n{text}"
    );

    // Reversed order: the latency change is now worse.
    let out = ok(compare(&[&four, &one], "text"));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("latency.mean_ms ") && l.contains("yes, worse")),
        "{text}"
    );
}

#[test]
fn markdown_json_and_three_inputs() {
    let (tmp, s) = setup();
    let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
    run(&s, &a, &[]);
    run(&s, &b, &["--set", "components.api.replicas=2"]);
    run(&s, &c, &["--set", "components.api.replicas=4", "--seed", "99"]);

    let out = ok(compare(&[&a, &b, &c], "markdown"));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(!md.contains('\x1b'), "{md}");
    let table: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
    assert!(table.len() > 10, "{md}");
    let cols = table[0].matches('|').count();
    assert!(
        table.iter().all(|l| l.matches('|').count() == cols),
        "ragged table\n{md}"
    );
    // metric, 3 values, then 4 columns for each of the 2 comparisons.
    assert_eq!(cols - 1, 1 + 3 + 2 * 4, "{}", table[0]);
    assert!(table[1].chars().all(|ch| "|-: ".contains(ch)), "{}", table[1]);
    assert!(
        table[0].contains("B-A") && table[0].contains("C test"),
        "{}",
        table[0]
    );
    let lat = table
        .iter()
        .find(|l| l.starts_with("| latency.mean_ms |"))
        .expect(&md);
    // B shares A's seeds (paired); C ran other seeds (Welch).
    assert!(lat.contains("paired") && lat.contains("welch"), "{lat}");
    assert!(lat.contains("yes, better"), "{lat}");

    let doc = compare_json(&[&a, &b, &c]);
    assert_eq!(doc["inputs"].as_array().unwrap().len(), 3);
    assert_eq!(doc["unmatched"], serde_json::json!([]));
    let r = row(&doc, "latency.mean_ms");
    assert!(r["point"].is_null());
    assert_eq!(r["values"].as_array().unwrap().len(), 3);
    assert_eq!(r["ci95"].as_array().unwrap().len(), 3);
    for k in ["diff", "rel_diff", "significant", "tests"] {
        assert_eq!(r[k].as_array().unwrap().len(), 2, "{k}: {r}");
    }
    assert_eq!(r["tests"], serde_json::json!(["paired", "welch"]));
    assert_eq!(r["test"], "paired");
    // Rows sorted by metric name: deterministic output.
    let names: Vec<&str> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metric"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let again = ok(compare(&[&a, &b, &c], "json"));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&again.stdout).unwrap(),
        doc
    );
}

#[test]
fn bad_inputs_exit_2() {
    let (tmp, s) = setup();
    let a = tmp.path().join("a");
    run(&s, &a, &[]);
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, "this is not JSON").unwrap();
    let other = tmp.path().join("other.json");
    std::fs::write(&other, r#"{ "hello": 1 }"#).unwrap();
    let missing = tmp.path().join("missing.json");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (bad, what) in [
        (&junk, "not JSON"),
        (&other, "neither"),
        (&missing, "no such file"),
        (&empty, "no report.json or sweep.json"),
    ] {
        let out = compare(&[&a, bad], "text");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", bad.display());
        assert!(err.contains("error: ") && err.contains(what), "{err}");
        assert!(
            err.contains(bad.file_name().unwrap().to_str().unwrap()),
            "names the file: {err}"
        );
    }
}

fn sweep(scenario: &Path, dir: &Path, set: &str) {
    ok(Command::new(bin())
        .args([
            "sweep",
            scenario.to_str().unwrap(),
            "--vary",
            "components.api.replicas=1,2",
        ])
        .args(["--replications", "3", "--quiet", "--set", set, "--out"])
        .arg(dir)
        .output()
        .unwrap());
}

#[test]
fn sweeps_compare_point_by_point() {
    let (tmp, s) = setup();
    let (a, b) = (tmp.path().join("sa"), tmp.path().join("sb"));
    sweep(&s, &a, "clients.web.arrival.poisson=100/s");
    sweep(&s, &b, "clients.web.arrival.poisson=120/s");
    let doc = compare_json(&[&a, &b.join("sweep.json")]);
    assert_eq!(doc["kind"], "sweeps");
    assert_eq!(doc["unmatched"], serde_json::json!([]));
    let rows = doc["rows"].as_array().unwrap();
    let lat: Vec<&serde_json::Value> = rows.iter().filter(|r| r["metric"] == "latency.mean_ms").collect();
    assert_eq!(lat.len(), 2, "one latency row per point");
    assert_eq!(
        lat[0]["point"],
        serde_json::json!({ "components.api.replicas": 1 })
    );
    assert_eq!(
        lat[1]["point"],
        serde_json::json!({ "components.api.replicas": 2 })
    );
    for r in &lat {
        assert_eq!(r["test"], "paired", "{r}");
        assert!(
            r["diff"][0].as_f64().unwrap() > 0.0,
            "more load, more latency: {r}"
        );
    }
    let tp = rows
        .iter()
        .find(|r| r["metric"] == "throughput_rps" && r["point"]["components.api.replicas"] == 1)
        .unwrap();
    assert_eq!(
        tp["significant"][0], true,
        "20% more load is 20% more throughput: {tp}"
    );

    let out = ok(compare(&[&a, &b], "text"));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("point: components.api.replicas=1"), "{text}");
    assert!(text.contains("point: components.api.replicas=2"), "{text}");
    let out = ok(compare(&[&a, &b], "markdown"));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("### components.api.replicas=1"), "{md}");

    // A third sweep with a point the others lack: listed as unmatched.
    let c = tmp.path().join("sc");
    ok(Command::new(bin())
        .args([
            "sweep",
            s.to_str().unwrap(),
            "--vary",
            "components.api.replicas=2,3",
        ])
        .args(["--replications", "3", "--quiet", "--out"])
        .arg(&c)
        .output()
        .unwrap());
    let doc = compare_json(&[&a, &b, &c]);
    let pts: Vec<&serde_json::Value> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["point"])
        .collect();
    assert!(
        pts.iter().all(|p| p["components.api.replicas"] == 2),
        "only the shared point"
    );
    let un = doc["unmatched"].as_array().unwrap();
    assert_eq!(un.len(), 2, "{un:?}");
    assert_eq!(
        un[0]["point"],
        serde_json::json!({ "components.api.replicas": 1 })
    );
    assert_eq!(un[0]["present_in"].as_array().unwrap().len(), 2);
    assert_eq!(
        un[1]["point"],
        serde_json::json!({ "components.api.replicas": 3 })
    );
    let out = ok(compare(&[&a, &b, &c], "text"));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("unmatched points"), "{text}");
    assert!(text.contains("components.api.replicas=3: only in C"), "{text}");

    // A sweep and a report cannot be mixed.
    let r = tmp.path().join("r");
    run(&s, &r, &[]);
    let out = compare(&[&a, &r], "text");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sweeps with sweeps"));
}

/// The answer first: two runs differing by one `--set` are compared as
/// what differs in their configurations (that one path), then the headline
/// metrics with the SLO verdicts, then the significant differences
/// (largest relative change first), then the rest; text, Markdown, JSON
/// and the page agree. A folder without a resolved scenario says so.
#[test]
fn the_answer_comes_first() {
    let (tmp, _) = setup();
    let s = tmp.path().join("h.yaml");
    std::fs::write(
        &s,
        format!(
            "{SCENARIO}headline: [latency.mean_ms, error_ratio, throughput_rps]\nslo: {{ latency_mean: 10ms }}\n\
             description: One replica near saturation. Does a fourth replica help? Compare them.\n"
        ),
    )
    .unwrap();
    let (one, four) = (tmp.path().join("one"), tmp.path().join("four"));
    run(&s, &one, &[]);
    run(&s, &four, &["--set", "components.api.replicas=4"]);

    let text = String::from_utf8(ok(compare(&[&one, &four], "text")).stdout).unwrap();
    let titles = [
        "What differs in the configurations",
        "Headline metrics",
        "Significant differences (largest relative change first)",
        "The rest",
    ];
    let at: Vec<usize> = titles
        .iter()
        .map(|t| {
            text.lines()
                .position(|l| l == *t)
                .unwrap_or_else(|| panic!("no `{t}` in\n{text}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}\n{text}");
    let lines: Vec<&str> = text.lines().collect();
    let section = |i: usize| -> Vec<&str> {
        let end = at.get(i + 1).copied().unwrap_or(lines.len());
        lines[at[i] + 1..end]
            .iter()
            .copied()
            .filter(|l| !l.is_empty())
            .collect()
    };
    // 1. The one path that differs, with each input's value.
    let config = section(0);
    assert_eq!(config.len(), 1, "{config:?}");
    assert_eq!(
        config[0].split_whitespace().collect::<Vec<_>>(),
        ["components.api.replicas", "1", "|", "4"],
        "{text}"
    );
    // 2. The headline metrics in the scenario's order (error_ratio derived
    // from availability), then each input's SLO verdict.
    let headline = section(1);
    let metrics: Vec<&str> = headline[1..]
        .iter()
        .filter(|l| !l.starts_with("SLO"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        metrics,
        ["latency.mean_ms", "error_ratio", "throughput_rps"],
        "{text}"
    );
    assert!(headline[1].contains("yes, better"), "{}", headline[1]);
    let slo = headline.iter().find(|l| l.starts_with("SLO")).expect(&text);
    assert!(
        slo.contains("latency.mean_ms ≤ 10.00 ms") && slo.contains("A FAIL") && slo.contains("B PASS"),
        "{slo}"
    );
    // 3. Significant differences, none a headline metric, largest relative
    // change first.
    let sig = section(2);
    assert!(sig[0].starts_with("metric "), "{sig:?}");
    // A change from zero has no relative size (n/a) and counts as largest.
    let rel = |l: &str| -> f64 {
        let cell = l
            .split_whitespace()
            .find(|w| w.ends_with('%') || *w == "n/a")
            .expect(l);
        if cell == "n/a" {
            return f64::INFINITY;
        }
        cell.trim_end_matches('%').parse::<f64>().unwrap().abs()
    };
    let rels: Vec<f64> = sig[1..].iter().map(|l| rel(l)).collect();
    assert!(rels.len() >= 3, "{sig:?}");
    assert!(rels.windows(2).all(|w| w[0] >= w[1]), "{rels:?}\n{text}");
    assert!(sig[1..].iter().all(|l| l.contains(" yes")), "{sig:?}");
    assert!(
        sig.iter().any(|l| l.starts_with("components.api.wait.mean_ms ")),
        "{sig:?}"
    );
    for m in ["latency.mean_ms ", "throughput_rps "] {
        assert!(!sig.iter().any(|l| l.starts_with(m)), "{m} is a headline metric");
    }
    // 4. The rest: neither headline nor significant, grouped by what it
    // measures (the run as a whole, then clients, then components), not
    // alphabetical.
    let rest = section(3);
    let first = |p: &str| rest.iter().position(|l| l.starts_with(p));
    let last = |p: &str| rest.iter().rposition(|l| l.starts_with(p));
    assert_eq!(
        first("availability "),
        Some(1),
        "availability leads the run's own metrics: {rest:?}"
    );
    assert!(
        last("requests.").unwrap() < first("clients.").unwrap(),
        "{rest:?}"
    );
    assert!(
        last("clients.").unwrap() < first("components.").unwrap(),
        "{rest:?}"
    );
    assert!(
        rest.iter()
            .any(|l| l.starts_with("requests.offered ") && l.contains(" no ")),
        "{rest:?}"
    );
    assert!(!rest.iter().any(|l| l.starts_with("components.api.wait.mean_ms ")));
    // Every row once.
    let count = |m: &str| text.lines().filter(|l| l.starts_with(&format!("{m} "))).count();
    assert_eq!(count("latency.mean_ms"), 1);
    assert_eq!(count("components.api.wait.mean_ms"), 1);

    // Markdown: the same sections in the same order, tables of equal width.
    let md = String::from_utf8(ok(compare(&[&one, &four], "markdown")).stdout).unwrap();
    let heads: Vec<&str> = md.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(heads, titles.map(|t| format!("## {t}")), "{md}");
    assert!(md.contains("- `components.api.replicas`: `1` · `4`\n"), "{md}");
    assert!(md.contains("- SLO latency.mean_ms ≤ 10.00 ms: A FAIL"), "{md}");

    // JSON: the configuration, the headline, its rows and the verdicts.
    let doc = compare_json(&[&one, &four]);
    assert_eq!(
        doc["configuration"],
        serde_json::json!({
            "differences": [{ "path": "components.api.replicas", "values": ["1", "4"] }],
            "unknown": [],
        })
    );
    assert_eq!(
        doc["headline"],
        serde_json::json!(["latency.mean_ms", "error_ratio", "throughput_rps"])
    );
    let hr: Vec<&str> = doc["headline_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metric"].as_str().unwrap())
        .collect();
    assert_eq!(hr, ["latency.mean_ms", "error_ratio", "throughput_rps"]);
    assert_eq!(doc["headline_rows"][1]["direction"], "lower");
    assert_eq!(doc["slo"][0]["verdicts"], serde_json::json!(["fail", "pass"]));

    // The page: the same order.
    let page_dir = tmp.path().join("cmp");
    ok(Command::new(bin())
        .arg("compare")
        .args([&one, &four])
        .arg("--out")
        .arg(&page_dir)
        .output()
        .unwrap());
    let page = std::fs::read_to_string(page_dir.join("index.html")).unwrap();
    let pos: Vec<usize> = titles
        .iter()
        .map(|t| page.find(&format!(">{t}</h2>")).unwrap_or_else(|| panic!("{t}")))
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
    assert!(
        page.contains(
            "<code>components.api.replicas</code></td><td class=\"l\">1</td><td class=\"l\">4</td>"
        )
    );
    assert!(page.contains("class=\"verdict fail\"") && page.contains("class=\"verdict pass\""));
    // The scenario's question is the title, its name below.
    assert!(
        page.contains("<title>Does a fourth replica help? · compare-test</title>"),
        "{page}"
    );
    assert!(page.contains(
        "<h1>Does a fourth replica help?</h1>\n<p class=\"subtitle\">compare-test · archsim compare</p>"
    ));
    // The configuration before any metric, then headline → significant →
    // rest, row by row; the rest under group headings.
    let row_of = |m: &str| {
        page.find(&format!("<td class=\"l\">{m}"))
            .unwrap_or_else(|| panic!("no row {m}"))
    };
    let config_row = page.find("<code>components.api.replicas</code></td>").unwrap();
    let order = [
        config_row,
        row_of("latency.mean_ms"),
        row_of("components.api.wait.mean_ms"),
        row_of("requests.offered"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    let groups: Vec<usize> = ["the run as a whole", "client web", "component api"]
        .iter()
        .map(|g| {
            page.find(&format!("colspan=\"7\">{g}</th>"))
                .unwrap_or_else(|| panic!("{g}"))
        })
        .collect();
    assert!(groups.windows(2).all(|w| w[0] < w[1]), "{groups:?}");
    // A significant improvement is marked better on B, worse on A.
    let mean = &page[row_of("latency.mean_ms")..];
    let mean = &mean[..mean.find("</tr>").unwrap()];
    assert!(
        mean.contains("<td class=\"worse\">") && mean.contains("<td class=\"better\">"),
        "{mean}"
    );
    assert!(mean.contains("<td class=\"l better\">yes, better</td>"), "{mean}");

    // An older folder (no resolved scenario): said, and only the seed,
    // duration and replications of its results are compared.
    let old = tmp.path().join("old");
    std::fs::create_dir(&old).unwrap();
    std::fs::copy(four.join("report.json"), old.join("report.json")).unwrap();
    let text = String::from_utf8(ok(compare(&[&one, &old], "text")).stdout).unwrap();
    assert!(
        text.contains("B: no scenario.resolved.yaml beside its results"),
        "{text}"
    );
    assert!(!text.contains("components.api.replicas  "), "{text}");
    let doc = compare_json(&[&one, &old]);
    assert_eq!(doc["configuration"]["unknown"][0], old.display().to_string());
}

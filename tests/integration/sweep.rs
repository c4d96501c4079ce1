//! Sweeps (issue 3): deterministic whatever `--jobs`, shards merge into the
//! unsharded result, an interrupted sweep resumes with nothing lost or
//! doubled, precision rounds add replications where intervals are wide.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::bin;

const SCENARIO: &str = "
name: sweep-test
seed: 4
duration: 40s
warmup: 5s
clients:
  web: { arrival: { poisson: 150/s }, target: lb }
components:
  lb: { kind: load_balancer, algorithm: power_of_two, backends: api }
  api: { kind: service, replicas: 2, service_time: { exponential: 10ms } }
sweep:
  vary:
    components.api.replicas: [2, 3, 4]
    clients.web.arrival.poisson: [100/s, 150/s]
  replications: 3
";

fn sweep(dir: &Path, scenario: &Path, extra: &[&str]) -> Output {
    Command::new(bin())
        .args(["sweep", scenario.to_str().unwrap(), "--quiet", "--out"])
        .arg(dir)
        .args(extra)
        .output()
        .expect("archsim sweep runs")
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("s.yaml");
    std::fs::write(&s, SCENARIO).unwrap();
    (tmp, s)
}

/// sweep.json with each wall-clock value blanked, line by line: the rest
/// must match byte for byte.
fn stable(dir: &Path) -> String {
    crate::common::without_wall_clock(&std::fs::read_to_string(dir.join("sweep.json")).expect("sweep.json"))
}

fn lines(dir: &Path) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(dir.join("points.jsonl")).unwrap();
    let mut v: Vec<(u64, u64)> = text
        .lines()
        // A torn line left by a crash is skipped, as archsim itself does.
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|j| (j["point"].as_u64().unwrap(), j["replication"].as_u64().unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn jobs_1_and_jobs_2_give_byte_identical_sweep_json() {
    let (tmp, s) = setup();
    let a = sweep(&tmp.path().join("a"), &s, &["--jobs", "1"]);
    let b = sweep(&tmp.path().join("b"), &s, &["--jobs", "2"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success());
    assert_eq!(stable(&tmp.path().join("a")), stable(&tmp.path().join("b")));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("a/sweep.json")).unwrap()).unwrap();
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    // Common random numbers: replication r has the same seed at every point.
    let seeds: Vec<&serde_json::Value> = points.iter().map(|p| &p["replication_seeds"]).collect();
    assert!(seeds.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(points[0]["params"]["components.api.replicas"], 2);
    assert_eq!(points[0]["params"]["clients.web.arrival.poisson"], "100/s");
    assert!(points[0]["metrics"]["latency.p99_ms"]["ci95"].as_f64().unwrap() > 0.0);
    // More replicas at the same load never raise the mean latency here.
    let lat = |i: usize| points[i]["metrics"]["latency.mean_ms"]["value"].as_f64().unwrap();
    assert!(
        lat(1) > lat(3) && lat(3) > lat(5),
        "{} {} {}",
        lat(1),
        lat(3),
        lat(5)
    );
    let csv = std::fs::read_to_string(tmp.path().join("a/sweep.csv")).unwrap();
    assert!(csv.starts_with("components.api.replicas,clients.web.arrival.poisson,replications,"));
    assert_eq!(csv.lines().count(), 7);
}

#[test]
fn three_shards_merge_into_the_unsharded_sweep() {
    let (tmp, s) = setup();
    let whole = tmp.path().join("whole");
    assert!(sweep(&whole, &s, &[]).status.success());
    let mut dirs = Vec::new();
    for k in 1..=3 {
        let d = tmp.path().join(format!("shard{k}"));
        let o = sweep(&d, &s, &["--shard", &format!("{k}/3")]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        dirs.push(d);
    }
    let per_shard: Vec<usize> = dirs.iter().map(|d| lines(d).len()).collect();
    assert_eq!(per_shard, vec![6, 6, 6], "18 jobs split evenly");
    let merged = tmp.path().join("merged");
    let o = Command::new(bin())
        .arg("merge")
        .args(&dirs)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stable(&whole), stable(&merged));
    assert_eq!(lines(&merged), lines(&whole));
    // A folder of another sweep is refused.
    let other = tmp.path().join("other");
    assert!(
        sweep(&other, &s, &["--set", "seed=5", "--shard", "1/3"])
            .status
            .success()
    );
    let o = Command::new(bin())
        .arg("merge")
        .args([&dirs[0], &other])
        .arg("--out")
        .arg(tmp.path().join("bad"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn an_interrupted_sweep_resumes_with_nothing_missing_or_doubled() {
    let (tmp, s) = setup();
    let d = tmp.path().join("d");
    let o = sweep(&d, &s, &["--jobs", "1", "--stop-after", "7"]);
    assert_eq!(o.status.code(), Some(1), "an interrupted sweep is not a success");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--resume"), "{err}");
    let partial = lines(&d);
    assert_eq!(partial.len(), 7);
    assert!(
        !d.join("sweep.json").exists(),
        "no final files from an interrupted sweep"
    );
    // Without --resume the finished lines are protected.
    assert_eq!(sweep(&d, &s, &[]).status.code(), Some(2));
    // A different grid cannot resume into this folder.
    assert_eq!(
        sweep(&d, &s, &["--resume", "--replications", "4"]).status.code(),
        Some(2)
    );
    let o = sweep(&d, &s, &["--resume", "--jobs", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let all = lines(&d);
    assert_eq!(all.len(), 18, "no duplicated and no missing replication");
    let mut dedup = all.clone();
    dedup.dedup();
    assert_eq!(dedup, all);
    assert!(partial.iter().all(|p| all.contains(p)));
    let fresh = tmp.path().join("fresh");
    assert!(sweep(&fresh, &s, &[]).status.success());
    assert_eq!(stable(&d), stable(&fresh));
}

#[test]
fn precision_adds_replications_until_intervals_are_tight() {
    let (tmp, s) = setup();
    let d = tmp.path().join("p");
    let o = sweep(
        &d,
        &s,
        &[
            "--replications",
            "2",
            "--precision",
            "latency.mean_ms=4%",
            "--max-replications",
            "16",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("sweep.json")).unwrap()).unwrap();
    let mut grew = false;
    for p in v["points"].as_array().unwrap() {
        let n = p["replications"].as_u64().unwrap();
        let m = &p["metrics"]["latency.mean_ms"];
        let rel = m["ci95"].as_f64().unwrap() / m["value"].as_f64().unwrap();
        assert!(
            rel <= 0.04 || n == 16,
            "point {} has ±{:.1}% with {n} replications",
            p["params"],
            rel * 100.0
        );
        assert!([2, 4, 8, 16].contains(&n));
        grew |= n > 2;
    }
    assert!(grew, "at least one point needed more than 2 replications");
}

#[test]
fn vary_flags_with_ranges_replace_the_file_grid() {
    let (tmp, s) = setup();
    let d = tmp.path().join("r");
    let o = sweep(
        &d,
        &s,
        &[
            "--vary",
            "components.api.replicas=2..6 step 2",
            "--replications",
            "1",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(v["vary"]["components.api.replicas"], serde_json::json!([2, 4, 6]));
    assert_eq!(v["points"].as_array().unwrap().len(), 3 * 2);
    // A bad value is reported before anything runs.
    let o = sweep(
        &tmp.path().join("bad"),
        &s,
        &["--vary", "components.api.cores=1,0"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("components.api.cores"), "{err}");
    assert!(!tmp.path().join("bad/points.jsonl").exists());
}

#[test]
fn vary_ranges_carry_units() {
    // A rate range in the unit the file uses: each value is a rate the
    // client then offers (throughput follows it, within Poisson noise).
    let (tmp, s) = setup();
    let d = tmp.path().join("u");
    let o = sweep(
        &d,
        &s,
        &[
            "--vary",
            "clients.web.arrival.poisson=50/s..150/s step 50/s",
            "--vary",
            "components.api.replicas=3",
            "--replications",
            "1",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(
        v["vary"]["clients.web.arrival.poisson"],
        serde_json::json!(["50/s", "100/s", "150/s"])
    );
    for (p, rate) in v["points"].as_array().unwrap().iter().zip([50.0, 100.0, 150.0]) {
        let tp = p["metrics"]["throughput_rps"]["value"].as_f64().unwrap();
        // Poisson counts over the measured window: well within 25%.
        assert!((tp - rate).abs() < rate * 0.25, "{rate}/s offered, {tp} served");
    }
    // Ends in two units are refused before anything runs.
    let o = sweep(
        &tmp.path().join("mixed"),
        &s,
        &["--vary", "clients.web.arrival.poisson=1/s..2/m"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("share one unit"), "{err}");
    assert!(!tmp.path().join("mixed/points.jsonl").exists());
}

#[test]
fn merge_refuses_an_incomplete_split_and_resume_survives_a_torn_line() {
    let (tmp, s) = setup();
    let mut dirs = Vec::new();
    for k in [1, 3] {
        let d = tmp.path().join(format!("s{k}"));
        assert!(sweep(&d, &s, &["--shard", &format!("{k}/3")]).status.success());
        dirs.push(d);
    }
    let o = Command::new(bin())
        .arg("merge")
        .args(&dirs)
        .arg("--out")
        .arg(tmp.path().join("m"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("2/3"),
        "names the missing shard"
    );

    // A crash mid-write leaves half a line; --resume must still finish
    // every replication (the torn one is simply run again).
    let d = tmp.path().join("torn");
    assert_eq!(
        sweep(&d, &s, &["--jobs", "1", "--stop-after", "5"]).status.code(),
        Some(1)
    );
    let path = d.join("points.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let last = text.trim_end().rfind('\n').unwrap();
    text.truncate(last + 1 + 40); // keep 4 lines and 40 bytes of the 5th
    std::fs::write(&path, &text).unwrap();
    assert!(sweep(&d, &s, &["--resume"]).status.success());
    assert_eq!(lines(&d).len(), 18);
    let fresh = tmp.path().join("fresh");
    assert!(sweep(&fresh, &s, &[]).status.success());
    assert_eq!(stable(&d), stable(&fresh));
}

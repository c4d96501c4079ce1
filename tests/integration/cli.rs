//! The command line's contract (SPEC §1): `--format json` prints exactly the
//! report.json document, flags win over the file, `schema` describes the
//! scenario types.

use std::process::Command;

use crate::common::{bin, without_wall_clock};

const SCENARIO: &str = "
name: cli-test
seed: 3
duration: 30s
clients:
  c: { arrival: { poisson: 50/s }, target: api }
components:
  api: { kind: service, replicas: 2, service_time: { exponential: 10ms } }
";

fn write_scenario(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("s.yaml");
    std::fs::write(&p, SCENARIO).unwrap();
    p
}

#[test]
fn format_json_prints_exactly_the_report_and_flags_override_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let s = write_scenario(tmp.path());
    let out = Command::new(bin())
        .args([
            "run",
            s.to_str().unwrap(),
            "--format",
            "json",
            "--seed",
            "9",
            "--duration",
            "20s",
        ])
        .args(["--set", "components.api.replicas=3", "--out"])
        .arg(tmp.path().join("run"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    let file = std::fs::read_to_string(tmp.path().join("run/report.json")).unwrap();
    assert_eq!(printed, file);
    let v: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(v["seed"], 9);
    assert_eq!(v["duration_s"], 20.0);
    assert_eq!(v["metrics"]["components.api.replicas_mean"]["value"], 3.0);
    assert!(v["metrics"]["components.api.replicas_mean"]["ci95"].is_null());
    for f in ["summary.txt", "timeseries.csv"] {
        assert!(tmp.path().join("run").join(f).exists(), "{f}");
    }
    let csv = std::fs::read_to_string(tmp.path().join("run/timeseries.csv")).unwrap();
    assert!(csv.starts_with(
        "t_s,throughput_rps,errors,latency_mean_ms,latency_p50_ms,latency_p95_ms,latency_p99_ms,availability,latency_all_p99_ms,api.utilization,api.queue_length,api.replicas"
    ));
    assert_eq!(csv.lines().count(), 1 + 20, "one row per second of a 20 s run");
}

#[test]
fn quiet_prints_nothing_and_text_prints_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let s = write_scenario(tmp.path());
    let q = Command::new(bin())
        .args(["run", s.to_str().unwrap(), "--quiet", "--out"])
        .arg(tmp.path().join("q"))
        .output()
        .unwrap();
    assert!(q.status.success());
    assert!(q.stdout.is_empty());
    let t = Command::new(bin())
        .args(["run", s.to_str().unwrap(), "--out"])
        .arg(tmp.path().join("t"))
        .output()
        .unwrap();
    let text = String::from_utf8(t.stdout).unwrap();
    for needle in ["Latency ms", "p99", "Availability", "api", "util %"] {
        assert!(text.contains(needle), "summary lacks {needle}:\n{text}");
    }
}

#[test]
fn schema_describes_every_component_kind_and_distribution() {
    let out = Command::new(bin()).arg("schema").output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    for kind in ["\"service\"", "\"load_balancer\""] {
        assert!(text.contains(&format!("\"const\":{kind}")), "kind {kind} missing");
    }
    for word in [
        "exponential",
        "lognormal",
        "pareto",
        "weibull",
        "empirical",
        "poisson",
        "closed",
        "diurnal",
    ] {
        assert!(text.contains(word), "{word} missing from the schema");
    }
    assert_eq!(
        v["additionalProperties"], false,
        "unknown top-level fields are errors"
    );
}

#[test]
fn trace_writes_json_lines_that_follow_requests_and_leave_the_run_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let s = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/microservice-fanout.yaml");
    let run = |extra: &[&str], out: &str| {
        Command::new(bin())
            .arg("run")
            .arg(&s)
            .args(["--duration", "40s", "--quiet", "--format", "json", "--out"])
            .arg(tmp.path().join(out))
            .args(extra)
            .output()
            .unwrap()
    };
    let trace = tmp.path().join("t.jsonl");
    let traced = run(
        &[
            "--trace",
            trace.to_str().unwrap(),
            "--trace-filter",
            "component=auth",
            "--trace-filter",
            "from=30s",
        ],
        "a",
    );
    assert!(
        traced.status.success(),
        "{}",
        String::from_utf8_lossy(&traced.stderr)
    );
    let plain = run(&[], "b");
    assert!(plain.status.success());
    let a = std::fs::read_to_string(tmp.path().join("a/report.json")).unwrap();
    let b = std::fs::read_to_string(tmp.path().join("b/report.json")).unwrap();
    assert_eq!(without_wall_clock(&a), without_wall_clock(&b));
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // auth sees each request twice (arrival, end of service): ~100/s for 10 s.
    assert!(lines.len() > 1500 && lines.len() < 2500, "{}", lines.len());
    assert!(
        lines
            .iter()
            .all(|v| v["component"] == "auth" && v["t_s"].as_f64().unwrap() >= 30.0)
    );
    let first = lines[0]["request"].as_u64().unwrap();
    let kinds: Vec<&str> = lines
        .iter()
        .filter(|v| v["request"].as_u64() == Some(first))
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["request", "done"]);
    // A bad filter is bad input.
    let bad = run(
        &[
            "--trace",
            trace.to_str().unwrap(),
            "--trace-filter",
            "component=nope",
        ],
        "c",
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no client or component named `nope`"));
}

/// A reader that goes away (`archsim schema | head`) is not a crash: the
/// command exits 0 with nothing on stderr, and a command that also writes a
/// folder (`compare --out`) still writes it.
#[test]
fn a_closed_stdout_is_not_a_panic_and_loses_nothing() {
    let closed = |args: &[&str]| {
        let mut child = Command::new(bin())
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("archsim starts");
        // Close the reading end before archsim writes: every write to
        // stdout fails with a broken pipe.
        drop(child.stdout.take());
        child.wait_with_output().expect("archsim ends")
    };
    for args in [
        &["schema"][..],
        &["explain", "scenarios/caching-strategies.yaml"][..],
        &[
            "run",
            "scenarios/single-server.yaml",
            "--duration",
            "20s",
            "--set",
            "warmup=2s",
            "--format",
            "json",
        ][..],
    ] {
        let out = closed(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = |n: &str| tmp.path().join(n).display().to_string();
    for (name, rate) in [("a", "80/s"), ("b", "90/s")] {
        let out = Command::new(bin())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "run",
                "scenarios/single-server.yaml",
                "--duration",
                "20s",
                "--quiet",
                "--out",
                &dir(name),
            ])
            .args([
                "--set",
                "warmup=2s",
                "--set",
                &format!("clients.users.arrival.poisson={rate}"),
            ])
            .output()
            .expect("archsim runs");
        assert_eq!(out.status.code(), Some(0));
    }
    let out = closed(&["compare", &dir("a"), &dir("b"), "--out", &dir("c")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        tmp.path().join("c").join("compare.md").is_file(),
        "compare --out still writes its folder"
    );
}

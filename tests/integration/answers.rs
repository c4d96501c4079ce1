//! Outputs that answer the scenario's question: SLO verdicts from the 95%
//! interval (and `--check-slo`'s exit code), the headline block, the
//! overloaded first line, notes counted across replications, cost only
//! when prices are set.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::common::bin;

/// An M/M/1 server: Poisson 50/s, exponential 10 ms service (μ = 100/s).
/// Its mean response time is 1/(μ − λ) = 20 ms (Kleinrock, Queueing
/// Systems Vol. 1, §3.2).
fn mm1(extra: &str) -> String {
    format!(
        "name: mm1-slo
seed: 3
duration: 60s
warmup: 5s
clients:
  users:
    arrival: {{ poisson: 50/s }}
    target: api
components:
  api:
    kind: service
    cores: 1
    service_time: {{ exponential: 10ms }}
{extra}"
    )
}

/// Run `yaml` with `flags`; (exit code, stdout, report.json).
fn run(dir: &Path, yaml: &str, flags: &[&str]) -> (i32, String, Value) {
    let file = dir.join("s.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = dir.join("out");
    let o = Command::new(bin())
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .arg("--force")
        .args(flags)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let report = std::fs::read_to_string(out.join("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), stdout, report)
}

fn verdicts(report: &Value) -> Vec<String> {
    report["slo"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["verdict"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn slo_verdicts_come_from_the_interval_and_check_slo_gates_on_a_fail() {
    let tmp = tempfile::tempdir().unwrap();
    // A clear pass: the mean is about 20 ms, the objective 40 ms.
    let pass = mm1("slo:\n  objectives:\n    - { metric: latency.mean_ms, max: 40 }\n");
    let (code, stdout, rep) = run(tmp.path(), &pass, &["--replications", "5", "--check-slo"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(verdicts(&rep), ["pass"]);
    let mean = rep["metrics"]["latency.mean_ms"]["value"].as_f64().unwrap();
    let half = rep["metrics"]["latency.mean_ms"]["ci95"].as_f64().unwrap();
    assert!(
        (mean - 20.0).abs() < 2.0 * half.max(1.0),
        "M/M/1 mean {mean} ± {half}, theory 20 ms"
    );
    assert!(
        stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("SLO PASS: 1 of 1 objectives met"),
        "{stdout}"
    );
    assert_eq!(rep["slo"][0]["interval"], Value::Bool(true));

    // A clear fail: 10 ms is below even the mean service time; exit 3 with
    // --check-slo, 0 without it.
    let fail = mm1("slo:\n  objectives:\n    - { metric: latency.mean_ms, max: 10 }\n");
    let (code, stdout, rep) = run(tmp.path(), &fail, &["--replications", "5", "--check-slo"]);
    assert_eq!(code, 3, "{stdout}");
    assert_eq!(verdicts(&rep), ["fail"]);
    assert!(
        stdout.contains("FAIL       latency.mean_ms ≤ 10.00 ms"),
        "{stdout}"
    );
    let (code, _, _) = run(tmp.path(), &fail, &["--replications", "5"]);
    assert_eq!(code, 0);

    // Uncertain: the target is the measured mean itself, so it lies inside
    // the interval; uncertain is not a fail for --check-slo.
    let at = mm1(&format!(
        "slo:\n  objectives:\n    - {{ metric: latency.mean_ms, max: {mean} }}\n"
    ));
    let (code, stdout, rep) = run(tmp.path(), &at, &["--replications", "5", "--check-slo"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(verdicts(&rep), ["uncertain"]);
    assert!(stdout.contains("SLO UNCERTAIN"), "{stdout}");

    // One replication: no interval, and the summary says so.
    let (code, stdout, rep) = run(tmp.path(), &fail, &["--check-slo"]);
    assert_eq!(code, 3);
    assert_eq!(rep["slo"][0]["interval"], Value::Bool(false));
    assert_eq!(rep["slo"][0]["ci95"], Value::Null);
    assert!(stdout.contains("(1 replication: no interval)"), "{stdout}");
}

#[test]
fn objectives_on_availability_error_ratio_and_throughput() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = mm1(
        "slo:\n  availability: 0.999\n  objectives:\n    - { metric: error_ratio, max: 0.001 }\n    \
         - { metric: throughput_rps, min: 45 }\n    - { metric: clients.users.latency.p99_ms, max: 1000 }\n",
    );
    let (code, stdout, rep) = run(tmp.path(), &yaml, &["--replications", "3", "--check-slo"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(verdicts(&rep), ["pass", "pass", "pass", "pass"], "{stdout}");
    assert_eq!(rep["slo"][1]["value"].as_f64(), Some(0.0));
}

#[test]
fn the_headline_block_leads_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = mm1("headline: [components.api.utilization, latency.mean_ms]\n");
    let (_, stdout, rep) = run(tmp.path(), &yaml, &[]);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[1], "Headline", "{stdout}");
    assert!(
        lines[2].trim_start().starts_with("components.api.utilization"),
        "{stdout}"
    );
    // ρ = λ/μ = 0.5 (utilisation law): printed as a percentage.
    let u = rep["metrics"]["components.api.utilization"]["value"]
        .as_f64()
        .unwrap();
    assert!((u - 0.5).abs() < 0.03, "utilization {u}");
    assert!(lines[2].ends_with(&format!("{:.1}%", u * 100.0)), "{stdout}");
    assert_eq!(
        rep["headline"],
        serde_json::json!(["components.api.utilization", "latency.mean_ms"])
    );
}

#[test]
fn an_overloaded_run_says_so_first_and_notes_count_replications() {
    let tmp = tempfile::tempdir().unwrap();
    // λ = 110/s against μ = 100/s: ρ > 1.
    let yaml = mm1("").replace("poisson: 50/s", "poisson: 110/s");
    let (_, stdout, rep) = run(tmp.path(), &yaml, &["--replications", "3"]);
    let second = stdout.lines().nth(1).unwrap();
    assert!(second.starts_with("OVERLOADED: "), "{stdout}");
    let notes: Vec<&str> = rep["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    let unstable: Vec<&&str> = notes.iter().filter(|n| n.starts_with("UNSTABLE")).collect();
    assert_eq!(unstable.len(), 1, "one note for three replications: {notes:?}");
    assert!(unstable[0].contains("(in 3 of 3 replications"), "{notes:?}");
}

#[test]
fn cost_is_shown_only_when_prices_are_set() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, stdout, rep) = run(tmp.path(), &mm1(""), &[]);
    assert!(!stdout.contains("Cost "), "{stdout}");
    assert!(rep["metrics"].get("cost.per_hour").is_none());
    // 3 replicas at $0.10 an hour: $0.30 an hour, $216 a 30-day month.
    let priced = mm1("").replace(
        "    cores: 1\n",
        "    cores: 1\n    replicas: 3\n    price_per_hour: 0.10\n",
    );
    let (_, stdout, rep) = run(tmp.path(), &priced, &[]);
    let hour = rep["metrics"]["cost.per_hour"]["value"].as_f64().unwrap();
    let month = rep["metrics"]["cost.per_month"]["value"].as_f64().unwrap();
    assert!((hour - 0.30).abs() < 1e-9, "per hour {hour}");
    assert!((month - 216.0).abs() < 1e-6, "per month {month}");
    let line = stdout.lines().find(|l| l.starts_with("Cost ")).expect(&stdout);
    assert!(
        line.contains("$0.3000 per hour") && line.contains("$216.0 per 30-day month"),
        "{line}"
    );
}

#[test]
fn which_tier_to_scale_puts_the_time_in_the_database_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let yaml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/which-tier-to-scale.yaml"),
    )
    .unwrap();
    let (code, stdout, rep) = run(tmp.path(), &yaml, &["--replications", "5", "--check-slo"]);
    // The database is M/M/1 at λ = 300/s, μ = 333.3/s: Wq = ρ/(μ − λ) = 27 ms
    // (Kleinrock, Queueing Systems Vol. 1, §3.2).
    let q = &rep["metrics"]["breakdown.db.queue.mean_ms"];
    let (v, h) = (q["value"].as_f64().unwrap(), q["ci95"].as_f64().unwrap());
    assert!(
        (v - 27.0).abs() < 3.0 * h + 2.7,
        "db queue {v} ± {h}, theory 27 ms"
    );
    let mean = rep["metrics"]["latency.mean_ms"]["value"].as_f64().unwrap();
    assert!(v / mean > 0.6, "the db queue is most of the mean: {v} of {mean}");
    let api = rep["metrics"]["breakdown.api.queue.mean_ms"]["value"]
        .as_f64()
        .unwrap();
    assert!(api < 1.0, "the api barely queues: {api} ms");
    // The p99 of M/M/1's response time is ln(100)/(μ − λ) = 138 ms (plus
    // the api and network): the 100 ms objective fails.
    assert_eq!(verdicts(&rep), ["fail"], "{stdout}");
    assert_eq!(code, 3);
    assert!(stdout.contains("Where the time goes"), "{stdout}");
    // A second core (M/M/2 at ρ = 0.45) passes it.
    let (code, stdout, rep) = run(
        tmp.path(),
        &yaml,
        &[
            "--replications",
            "3",
            "--check-slo",
            "--set",
            "components.db.cores=2",
        ],
    );
    assert_eq!(verdicts(&rep), ["pass"], "{stdout}");
    assert_eq!(code, 0);
}

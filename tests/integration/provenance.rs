//! Every run and sweep folder records what produced it: provenance.json
//! (version, the scenario file and its SHA-256, the command line, every
//! override in order, the flags that shape results, the time written) and
//! scenario.resolved.yaml, the effective scenario, from which `archsim run`
//! (or `sweep`) alone reproduces report.json (sweep.json) byte for byte,
//! wall-clock values aside. And `run` and `sweep` treat an existing output
//! folder by one rule.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::Digest as _;

use crate::common::{bin, without_wall_clock};

const SCENARIO: &str = "
name: prov-test
description: >
  Two replicas behind a balancer; a question with a  \"quote\" and # hash.
duration: 20s
warmup: 2s
clients:
  web: { arrival: { poisson: 120/s }, target: lb, timeout: 1s }
components:
  lb: { kind: load_balancer, algorithm: least_connections, backends: api }
  api: { kind: service, replicas: 2, cores: 1, speed: [1, 0.75], service_time: { lognormal: { mean: 6ms, cv: 1.3 } } }
network:
  latency: { exponential: 0.1ms }
sweep:
  vary:
    components.api.cores: [1, 2]
  replications: 2
";

fn archsim(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .current_dir(dir)
        .args(args)
        .output()
        .expect("archsim runs")
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&read(p)).unwrap()
}

fn sha256(p: &Path) -> String {
    sha2::Sha256::digest(std::fs::read(p).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("s.yaml");
    std::fs::write(&f, SCENARIO).unwrap();
    (tmp, f)
}

#[test]
fn a_run_reruns_from_its_resolved_scenario() {
    let (tmp, _) = setup();
    let t = tmp.path();
    // Relative paths, as a user types them.
    let o = ok(archsim(
        t,
        &[
            "run",
            "s.yaml",
            "--out",
            "a",
            "--set",
            "clients.web.arrival.poisson=150/s",
            "--seed",
            "7",
            "--duration",
            "30s",
            "--set",
            "components.api.speed=[1, 0.5]",
            "--replications",
            "3",
            "--interval",
            "2s",
        ],
    ));
    let a = t.join("a");
    for f in ["provenance.json", "scenario.resolved.yaml", "report.json"] {
        assert!(a.join(f).is_file(), "{f}");
    }
    // provenance.json: the file and its hash, the overrides in the order
    // applied, the flags that shape results.
    let p = json(&a.join("provenance.json"));
    assert_eq!(p["command"], "run");
    assert_eq!(p["archsim_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(p["scenario"]["file"], "s.yaml");
    assert_eq!(p["scenario"]["name"], "prov-test");
    assert_eq!(p["scenario"]["sha256"], sha256(&t.join("s.yaml")));
    assert_eq!(
        p["overrides"],
        serde_json::json!([
            { "flag": "--seed", "value": "7" },
            { "flag": "--duration", "value": "30s" },
            { "flag": "--set", "value": "clients.web.arrival.poisson=150/s" },
            { "flag": "--set", "value": "components.api.speed=[1, 0.5]" },
        ])
    );
    assert_eq!(p["settings"]["replications"], 3);
    assert_eq!(p["settings"]["interval"], "2s");
    assert_eq!(p["settings"]["max_in_flight"], 1_000_000);
    let argv: Vec<&str> = p["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(&argv[1..4], ["run", "s.yaml", "--out"]);
    assert!(argv.contains(&"--replications"));
    let utc = p["written_utc"].as_str().unwrap();
    assert!(
        utc.len() == 20 && utc.ends_with('Z') && utc.as_bytes()[10] == b'T',
        "{utc}"
    );

    // report.json carries none of it.
    let report = read(&a.join("report.json"));
    for absent in ["sha256", "s.yaml", utc, "argv", "written_utc"] {
        assert!(!report.contains(absent), "report.json holds {absent}");
    }

    // The resolved file alone (no flag) reproduces report.json.
    let resolved = read(&a.join("scenario.resolved.yaml"));
    assert!(resolved.starts_with("# "), "{resolved}");
    assert!(resolved.contains("\nseed: 7\n"), "{resolved}");
    assert!(resolved.contains("poisson: 150/s"), "{resolved}");
    assert!(
        resolved.contains("run:\n  replications: 3\n  interval: 2s\n"),
        "{resolved}"
    );
    let b = t.join("b");
    ok(archsim(
        t,
        &["run", "a/scenario.resolved.yaml", "--out", "b", "--quiet"],
    ));
    assert_eq!(
        without_wall_clock(&read(&b.join("report.json"))),
        without_wall_clock(&report),
        "rerun from the resolved scenario"
    );
    // Its own timeseries used the recorded interval, too.
    assert_eq!(read(&b.join("timeseries.csv")), read(&a.join("timeseries.csv")));
    // Rerun from elsewhere, the resolved file given by an absolute path.
    let elsewhere = tempfile::tempdir().unwrap();
    let c = elsewhere.path().join("c");
    ok(archsim(
        elsewhere.path(),
        &[
            "run",
            a.join("scenario.resolved.yaml").to_str().unwrap(),
            "--out",
            "c",
            "--quiet",
        ],
    ));
    assert_eq!(
        without_wall_clock(&read(&c.join("report.json"))),
        without_wall_clock(&report)
    );
    // A flag still wins over the recorded setting.
    let o1 = ok(archsim(
        t,
        &[
            "run",
            "a/scenario.resolved.yaml",
            "--out",
            "d",
            "--replications",
            "2",
            "--format",
            "json",
        ],
    ));
    let d: serde_json::Value = serde_json::from_slice(&o1.stdout).unwrap();
    assert_eq!(d["replications"], 2);

    // One line of provenance in the text output, summary.txt and the page.
    let text = String::from_utf8(o.stdout).unwrap();
    let hash8 = &sha256(&t.join("s.yaml"))[..8];
    let line = format!(
        "from s.yaml (sha256 {hash8}…) with --seed 7 --duration 30s --set clients.web.arrival.poisson=150/s \
         --set 'components.api.speed=[1, 0.5]'"
    );
    assert!(text.lines().any(|l| l == line), "{text}");
    assert!(read(&a.join("summary.txt")).lines().any(|l| l == line));
    let page = read(&a.join("index.html"));
    assert!(
        page.contains("from s.yaml (sha256 ") && page.contains("--seed 7 --duration 30s"),
        "{page}"
    );
}

#[test]
fn relative_trace_and_empirical_files_still_resolve() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    std::fs::create_dir_all(t.join("sc/data")).unwrap();
    // Arrivals every 9 to 13 ms; service times 2 to 9 ms.
    let mut arrivals = String::new();
    let mut at = 0u64;
    for i in 0..2000u64 {
        at += 9_000 + (i * 7919) % 4_000;
        arrivals.push_str(&format!("{at}us\n"));
    }
    std::fs::write(t.join("sc/data/arrivals.txt"), arrivals).unwrap();
    let lat: String = (0..300u64)
        .map(|i| format!("{}us\n", 2_000 + (i * 104_729) % 7_000))
        .collect();
    std::fs::write(t.join("sc/data/lat.txt"), lat).unwrap();
    std::fs::write(
        t.join("sc/t.yaml"),
        "name: trace-test
duration: 20s
warmup: auto
clients:
  web: { arrival: { trace: data/arrivals.txt }, target: api }
  bg: { arrival: { poisson: 10.5/s }, target: api }
components:
  api: { kind: service, cores: 2, service_time: { empirical: data/lat.txt } }
",
    )
    .unwrap();
    ok(archsim(
        t,
        &[
            "run",
            "sc/t.yaml",
            "--out",
            "out/a",
            "--replications",
            "2",
            "--quiet",
        ],
    ));
    let a = t.join("out/a");
    let p = json(&a.join("provenance.json"));
    let files = p["data_files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{p}");
    for (f, name) in files.iter().zip(["arrivals.txt", "lat.txt"]) {
        let real = t.join("sc/data").join(name);
        assert_eq!(f["path"], format!("data/{name}"));
        assert_eq!(f["sha256"], sha256(&real));
        assert!(Path::new(f["resolved"].as_str().unwrap()).is_absolute(), "{f}");
    }
    let resolved = read(&a.join("scenario.resolved.yaml"));
    assert!(resolved.contains("warmup: auto"), "{resolved}");
    assert!(
        resolved.contains("\nseed: 0\n"),
        "the default seed is written: {resolved}"
    );
    // From another folder entirely: the files are still found.
    let elsewhere = tempfile::tempdir().unwrap();
    ok(archsim(
        elsewhere.path(),
        &[
            "run",
            a.join("scenario.resolved.yaml").to_str().unwrap(),
            "--out",
            "b",
            "--quiet",
        ],
    ));
    assert_eq!(
        without_wall_clock(&read(&elsewhere.path().join("b/report.json"))),
        without_wall_clock(&read(&a.join("report.json")))
    );
}

#[test]
fn a_sweep_folder_records_both_files_and_reruns_from_them() {
    let (tmp, _) = setup();
    let t = tmp.path();
    let args = [
        "sweep",
        "s.yaml",
        "--out",
        "sw",
        "--jobs",
        "2",
        "--quiet",
        "--vary",
        "clients.web.arrival.poisson=100/s,140/s",
        "--set",
        "components.lb.algorithm=round_robin",
        "--seed",
        "3",
    ];
    ok(archsim(t, &args));
    let sw = t.join("sw");
    let p = json(&sw.join("provenance.json"));
    assert_eq!(p["command"], "sweep");
    assert_eq!(p["scenario"]["sha256"], sha256(&t.join("s.yaml")));
    assert_eq!(
        p["overrides"],
        serde_json::json!([
            { "flag": "--seed", "value": "3" },
            { "flag": "--set", "value": "components.lb.algorithm=round_robin" },
            { "flag": "--vary", "value": "clients.web.arrival.poisson=100/s,140/s" },
        ])
    );
    assert_eq!(p["settings"]["replications"], 2);
    assert_eq!(p["settings"]["jobs"], 2);
    let resolved = read(&sw.join("scenario.resolved.yaml"));
    assert!(
        resolved.contains(
            "sweep:\n  vary:\n    components.api.cores: [1, 2]\n    clients.web.arrival.poisson: [100/s, 140/s]\n  replications: 2\n"
        ),
        "{resolved}"
    );
    ok(archsim(
        t,
        &[
            "sweep",
            "sw/scenario.resolved.yaml",
            "--out",
            "again",
            "--jobs",
            "1",
            "--quiet",
        ],
    ));
    assert_eq!(
        without_wall_clock(&read(&t.join("again/sweep.json"))),
        without_wall_clock(&read(&sw.join("sweep.json")))
    );
    // Shards merged: the merged folder has both files too.
    for k in 1..=2 {
        let shard = format!("{k}/2");
        let out = format!("sh{k}");
        let mut a: Vec<&str> = args.to_vec();
        a[3] = &out;
        a.extend(["--shard", shard.as_str()]);
        ok(archsim(t, &a));
    }
    ok(archsim(t, &["merge", "sh1", "sh2", "--out", "m"]));
    let m = json(&t.join("m/provenance.json"));
    assert_eq!(m["command"], "merge");
    assert_eq!(m["merged_from"], serde_json::json!(["sh1", "sh2"]));
    assert_eq!(m["scenario"]["sha256"], p["scenario"]["sha256"]);
    assert!(m["settings"].get("shard").is_none(), "{m}");
    let merged = read(&t.join("m/scenario.resolved.yaml"));
    assert!(
        merged.contains("clients.web.arrival.poisson: [100/s, 140/s]"),
        "{merged}"
    );
    assert!(!merged.contains("--shard"), "{merged}");
}

/// One rule for `run` and `sweep` (and `merge`): a folder holding the same
/// command's finished results of the same scenario is replaced; another
/// scenario's or another kind's results, files archsim did not write, or
/// an unfinished sweep need --force (a sweep's --resume finishes the
/// unfinished one). Before, a sweep refused its own finished results while
/// a run replaced them.
#[test]
fn run_and_sweep_treat_an_existing_folder_alike() {
    let (tmp, _) = setup();
    let t = tmp.path();
    std::fs::write(
        t.join("other.yaml"),
        SCENARIO.replace("name: prov-test", "name: other"),
    )
    .unwrap();
    let run = |f: &str, out: &str, extra: &[&str]| {
        let mut a = vec!["run", f, "--quiet", "--duration", "5s", "--out", out];
        a.extend_from_slice(extra);
        archsim(t, &a)
    };
    let sweep = |f: &str, out: &str, extra: &[&str]| {
        let mut a = vec![
            "sweep",
            f,
            "--quiet",
            "--duration",
            "5s",
            "--jobs",
            "1",
            "--out",
            out,
        ];
        a.extend_from_slice(extra);
        archsim(t, &a)
    };
    // Their own finished results of the same scenario: replaced, by both.
    ok(run("s.yaml", "r", &[]));
    ok(run("s.yaml", "r", &["--seed", "2"]));
    assert_eq!(json(&t.join("r/report.json"))["seed"], 2);
    ok(sweep("s.yaml", "w", &[]));
    ok(sweep("s.yaml", "w", &["--seed", "2"]));
    assert_eq!(json(&t.join("w/sweep.json"))["seed"], 2);
    // Another scenario's results, another kind's, or files archsim did
    // not write: refused (exit 2) by both, naming what is there.
    let theirs = t.join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "mine").unwrap();
    for (o, what) in [
        (run("other.yaml", "r", &[]), "the run results of `prov-test`"),
        (run("s.yaml", "w", &[]), "a sweep folder of `prov-test`"),
        (run("s.yaml", "theirs", &[]), "notes.txt"),
        (sweep("other.yaml", "w", &[]), "the sweep results of `prov-test`"),
        (sweep("s.yaml", "r", &[]), "a run folder of `prov-test`"),
        (sweep("s.yaml", "theirs", &[]), "notes.txt"),
    ] {
        assert_eq!(o.status.code(), Some(2), "{}", err(&o));
        assert!(
            err(&o).contains(what) && err(&o).contains("--force"),
            "{what}: {}",
            err(&o)
        );
    }
    // --force writes anyway, keeping files archsim did not write.
    ok(run("s.yaml", "theirs", &["--force"]));
    ok(sweep("other.yaml", "theirs", &["--force"]));
    assert_eq!(read(&theirs.join("notes.txt")), "mine");
    assert_eq!(json(&theirs.join("provenance.json"))["command"], "sweep");
    assert!(
        !theirs.join("report.json").exists(),
        "the run's files were replaced"
    );
    // An unfinished sweep is work kept for --resume: refused without it.
    let o = sweep("s.yaml", "u", &["--stop-after", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let o = sweep("s.yaml", "u", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("unfinished sweep") && err(&o).contains("--resume"),
        "{}",
        err(&o)
    );
    ok(sweep("s.yaml", "u", &["--resume"]));
    assert!(t.join("u/provenance.json").is_file());
}

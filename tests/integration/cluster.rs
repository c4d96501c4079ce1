//! Sweeps on a workload manager (issue 23): array tasks that each run a
//! range of shards, the job files `--emit` writes (run here as the
//! managers would run them, with their index variables), requeue safety,
//! and merge naming what is missing so that only that is run again. The
//! Slurm files are also run on a real single-node Slurm by `.ci/slurm/e2e`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{bin, without_wall_clock};

const SCENARIO: &str = "
name: cluster-test
seed: 9
duration: 20s
warmup: 2s
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

/// Every index variable a task may read: cleared so that a test run
/// inside a real array job (or with one set by hand) reads only its own.
const INDEX_VARS: [&str; 4] = [
    "ARCHSIM_TASK_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "JOB_COMPLETION_INDEX",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

/// archsim in `dir` with `args`, an index variable set if given.
fn archsim_in(dir: &Path, args: &[&str], index: Option<(&str, u32)>) -> Output {
    let mut c = Command::new(bin());
    c.current_dir(dir).args(args);
    for v in INDEX_VARS {
        c.env_remove(v);
    }
    if let Some((var, i)) = index {
        c.env(var, i.to_string());
    }
    c.output().expect("archsim runs")
}

/// Task `i` of the 6-shard, 3-task split of `s.yaml` into `out`.
fn task(dir: &Path, out: &str, i: u32) -> Output {
    let t = i.to_string();
    let args = [
        "sweep", "s.yaml", "--shards", "6", "--tasks", "3", "--out", out, "--quiet", "--task", &t,
    ];
    ok(archsim_in(dir, &args, None))
}

/// `--emit MANAGER` (and more flags) for the 6-shard, 3-task split into `out`.
fn emit(dir: &Path, out: &str, manager: &str, more: &[&str]) -> Output {
    let mut args = vec![
        "sweep", "s.yaml", "--shards", "6", "--tasks", "3", "--out", out, "--emit", manager,
    ];
    args.extend_from_slice(more);
    ok(archsim_in(dir, &args, None))
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        err(&o)
    );
    o
}

/// A folder with the scenario as `s.yaml` and its unsharded sweep in `whole`.
fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.yaml"), SCENARIO).unwrap();
    ok(archsim_in(
        tmp.path(),
        &["sweep", "s.yaml", "--quiet", "--out", "whole"],
        None,
    ));
    let root = tmp.path().to_path_buf();
    (tmp, root)
}

fn stable(dir: &Path) -> String {
    without_wall_clock(&std::fs::read_to_string(dir.join("sweep.json")).expect("sweep.json"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The JSON array on the `command:` line of a Kubernetes manifest.
fn k8s_command(yaml: &str) -> Vec<String> {
    let line = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("command: "))
        .expect("a command line");
    serde_json::from_str(line).expect("the command is a JSON (flow YAML) list")
}

/// `key: N` from a manifest.
fn k8s_field(yaml: &str, key: &str) -> u32 {
    yaml.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} in\n{yaml}"))
}

/// Run a container command as written, with `archsim` being the built binary.
fn run_command(dir: &Path, cmd: &[String], index: Option<(&str, u32)>) -> Output {
    assert_eq!(cmd[0], "archsim", "containers run archsim from their PATH");
    let args: Vec<&str> = cmd[1..].iter().map(String::as_str).collect();
    archsim_in(dir, &args, index)
}

#[test]
fn tasks_of_several_shards_merge_into_the_unsharded_sweep() {
    let (_tmp, dir) = setup();
    for (n, t) in [(6, 4), (5, 2), (4, 1)] {
        let out = format!("c{n}x{t}");
        let (ns, ts) = (n.to_string(), t.to_string());
        let o = ok(archsim_in(
            &dir,
            &[
                "sweep", "s.yaml", "--shards", &ns, "--tasks", &ts, "--emit", "local", "--out", &out,
            ],
            None,
        ));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("submit with: bash"), "{text}");
        let script = dir.join(&out).join("jobs/local.sh");
        assert!(read(&script).contains("ARCHSIM_TASK_INDEX=$i"));
        let o = Command::new("bash")
            .arg(&script)
            .current_dir(&dir)
            .output()
            .unwrap();
        ok(o);
        // Every shard folder holds its slice: 18 jobs in all.
        let mut total = 0;
        for k in 1..=n {
            let f = dir.join(&out).join(format!("shard-{k}-of-{n}/points.jsonl"));
            total += read(&f).lines().count();
        }
        assert_eq!(total, 18, "N={n} T={t}");
        assert_eq!(
            stable(&dir.join(&out).join("merged")),
            stable(&dir.join("whole")),
            "N={n} T={t}: the merged sweep is the unsharded one"
        );
    }
}

#[test]
fn kubernetes_and_batch_commands_run_as_written_with_their_index_variables() {
    let (_tmp, dir) = setup();
    // Kubernetes: an Indexed Job of T completions, then the merge Job.
    emit(&dir, "k", "k8s", &[]);
    let job = read(&dir.join("k/jobs/k8s-job.yaml"));
    assert!(job.contains("completionMode: Indexed"), "{job}");
    assert_eq!(k8s_field(&job, "completions"), 3);
    let cmd = k8s_command(&job);
    for i in 0..3 {
        ok(run_command(&dir, &cmd, Some(("JOB_COMPLETION_INDEX", i))));
    }
    ok(run_command(
        &dir,
        &k8s_command(&read(&dir.join("k/jobs/k8s-merge.yaml"))),
        None,
    ));
    assert_eq!(stable(&dir.join("k/merged")), stable(&dir.join("whole")));

    // AWS Batch: an array job of T children, then the merge.
    emit(&dir, "b", "batch", &[]);
    let def: serde_json::Value =
        serde_json::from_str(&read(&dir.join("b/jobs/batch-job-definition.json"))).unwrap();
    let array: serde_json::Value =
        serde_json::from_str(&read(&dir.join("b/jobs/batch-submit-array.json"))).unwrap();
    let merge: serde_json::Value =
        serde_json::from_str(&read(&dir.join("b/jobs/batch-submit-merge.json"))).unwrap();
    assert_eq!(array["arrayProperties"]["size"], 3);
    assert_eq!(array["jobDefinition"], def["jobDefinitionName"]);
    assert_eq!(merge["dependsOn"][0]["jobId"], "ARRAY_JOB_ID");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let cmd = strings(&def["containerProperties"]["command"]);
    for i in 0..3 {
        ok(run_command(&dir, &cmd, Some(("AWS_BATCH_JOB_ARRAY_INDEX", i))));
    }
    ok(run_command(
        &dir,
        &strings(&merge["containerOverrides"]["command"]),
        None,
    ));
    assert_eq!(stable(&dir.join("b/merged")), stable(&dir.join("whole")));

    // Slurm: the array's task command reads SLURM_ARRAY_TASK_ID.
    emit(&dir, "s", "slurm", &[]);
    let array = read(&dir.join("s/jobs/slurm-array.sh"));
    assert!(array.contains("#SBATCH --array=0-2"), "{array}");
    assert!(array.contains("--task env"), "{array}");
    let submit = read(&dir.join("s/jobs/submit-slurm.sh"));
    assert!(submit.contains("--dependency=afterok:$array"), "{submit}");
    for i in 0..3 {
        ok(archsim_in(
            &dir,
            &[
                "sweep", "s.yaml", "--shards", "6", "--tasks", "3", "--out", "s", "--quiet", "--task", "env",
            ],
            Some(("SLURM_ARRAY_TASK_ID", i)),
        ));
    }
    ok(archsim_in(&dir, &["merge", "s", "--out", "s/merged"], None));
    assert_eq!(stable(&dir.join("s/merged")), stable(&dir.join("whole")));
}

#[test]
fn a_task_run_twice_leaves_the_merge_unchanged() {
    let (_tmp, dir) = setup();
    for i in 0..3 {
        task(&dir, "r", i);
    }
    ok(archsim_in(&dir, &["merge", "r", "--out", "once"], None));
    let lines_before = read(&dir.join("r/shard-3-of-6/points.jsonl"));
    // Requeued: the task runs again over its finished folders.
    task(&dir, "r", 1);
    assert_eq!(
        read(&dir.join("r/shard-3-of-6/points.jsonl")),
        lines_before,
        "nothing was run again"
    );
    ok(archsim_in(&dir, &["merge", "r", "--out", "twice"], None));
    assert_eq!(
        read(&dir.join("once/points.jsonl")),
        read(&dir.join("twice/points.jsonl"))
    );
    assert_eq!(stable(&dir.join("once")), stable(&dir.join("twice")));
    assert_eq!(stable(&dir.join("twice")), stable(&dir.join("whole")));
}

#[test]
fn merge_names_what_is_missing_and_missing_reemits_only_those_tasks() {
    let (_tmp, dir) = setup();
    for i in 0..3 {
        task(&dir, "m", i);
    }
    // Task 0 was cut short in shard 2 (one of its 3 lines kept); task 2
    // never started (shard 6 has no folder).
    let lines = dir.join("m/shard-2-of-6/points.jsonl");
    let first = read(&lines).lines().next().unwrap().to_string() + "\n";
    std::fs::write(&lines, first).unwrap();
    std::fs::remove_dir_all(dir.join("m/shard-6-of-6")).unwrap();
    let o = archsim_in(&dir, &["merge", "m", "--out", "m/merged"], None);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("shards 6/6 are missing") && err(&o).contains("--missing"),
        "{}",
        err(&o)
    );

    // With shard 6 back, what shard 2 lacks is named replication by replication.
    task(&dir, "m", 2);
    let o = archsim_in(&dir, &["merge", "m", "--out", "m/merged"], None);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let e = err(&o);
    assert!(e.contains("2 replications of the sweep are missing"), "{e}");
    assert!(e.contains("shard 2/6") && e.contains("2 of 3 missing"), "{e}");
    assert!(
        e.contains("components.api.replicas="),
        "names the point's parameters: {e}"
    );
    assert!(!dir.join("m/merged/sweep.json").exists(), "nothing merged");

    // --partial merges what there is, saying what is missing.
    let o = ok(archsim_in(
        &dir,
        &["merge", "m", "--out", "partial", "--partial"],
        None,
    ));
    assert!(err(&o).contains("note: --partial: 2 replications"), "{}", err(&o));

    // Shard 6 is complete again, so only task 0 (shards 1-2) is unfinished.
    let o = emit(&dir, "m", "slurm", &["--missing"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("1 unfinished: 0"));
    let array = read(&dir.join("m/jobs/missing/slurm-array.sh"));
    assert!(array.contains("#SBATCH --array=0\n"), "{array}");
    // AWS Batch gives a single job no array index: the resubmission of one
    // task sets archsim's own, and Kubernetes gets a Job of a new name.
    emit(&dir, "m", "batch", &["--missing"]);
    let one: serde_json::Value =
        serde_json::from_str(&read(&dir.join("m/jobs/missing/batch-submit-array.json"))).unwrap();
    assert!(one.get("arrayProperties").is_none(), "{one}");
    assert_eq!(
        one["containerOverrides"]["environment"][0],
        serde_json::json!({ "name": "ARCHSIM_TASK_INDEX", "value": "0" })
    );
    emit(&dir, "m", "k8s", &["--missing"]);
    let rerun = read(&dir.join("m/jobs/missing/k8s-job.yaml"));
    assert!(rerun.contains("name: archsim-cluster-test-rerun\n"), "{rerun}");
    assert!(k8s_command(&rerun).ends_with(&["--task-list".into(), "0".into(), "--jobs".into(), "1".into()]));
    // The local form runs just that task, through --task-list.
    emit(&dir, "m", "local", &["--missing"]);
    let script = dir.join("m/jobs/missing/local.sh");
    assert!(read(&script).contains("--task-list 0"), "{}", read(&script));
    ok(Command::new("bash")
        .arg(&script)
        .current_dir(&dir)
        .output()
        .unwrap());
    assert_eq!(stable(&dir.join("m/merged")), stable(&dir.join("whole")));
    // Nothing is missing any more.
    let o = emit(&dir, "m", "slurm", &["--missing"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("nothing is missing"));
}

#[test]
fn bad_splits_and_task_numbers_are_refused_with_exit_2() {
    let (_tmp, dir) = setup();
    let refused = |args: &[&str], index: Option<(&str, u32)>, says: &str| {
        let o = archsim_in(&dir, args, index);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(err(&o).contains(says), "{args:?}: {}", err(&o));
    };
    let base = ["sweep", "s.yaml", "--out", "x"];
    let with =
        |extra: &[&'static str]| -> Vec<&str> { base.iter().copied().chain(extra.iter().copied()).collect() };
    refused(
        &with(&["--shards", "4", "--tasks", "5", "--emit", "slurm"]),
        None,
        "--tasks 5",
    );
    refused(
        &with(&["--shards", "4", "--task", "env"]),
        None,
        "SLURM_ARRAY_TASK_ID",
    );
    refused(&with(&["--shards", "4", "--task", "4"]), None, "tasks 0 to 3");
    refused(
        &with(&["--shards", "4", "--task", "env"]),
        Some(("JOB_COMPLETION_INDEX", 7)),
        "from $JOB_COMPLETION_INDEX",
    );
    refused(&with(&["--shards", "4"]), None, "--emit");
    refused(
        &with(&[
            "--shards",
            "4",
            "--emit",
            "k8s",
            "--precision",
            "latency.p99_ms=5%",
        ]),
        None,
        "--precision",
    );
    // Clap refuses flags that need others (its own exit 2).
    refused(&with(&["--tasks", "2"]), None, "--shards");
    refused(
        &with(&["--shards", "2", "--shard", "1/2", "--emit", "local"]),
        None,
        "--shard",
    );
}

#[test]
fn merge_check_slo_exits_3_when_a_merged_point_fails() {
    let (_tmp, dir) = setup();
    // p99 of a 10 ms exponential service is at least 46 ms: 1 ms fails everywhere.
    std::fs::write(
        dir.join("tight.yaml"),
        format!("{SCENARIO}slo: {{ latency_p99: 1ms }}\n"),
    )
    .unwrap();
    let run = [
        "sweep",
        "tight.yaml",
        "--shards",
        "2",
        "--tasks",
        "1",
        "--out",
        "t",
        "--quiet",
        "--task",
        "0",
    ];
    ok(archsim_in(&dir, &run, None));
    let o = archsim_in(&dir, &["merge", "t", "--out", "t/merged", "--check-slo"], None);
    assert_eq!(o.status.code(), Some(3), "{}", err(&o));
    assert!(
        err(&o).contains("6 of 6 points fail an SLO objective"),
        "{}",
        err(&o)
    );
    // `--emit … --check-slo` gives the merge job the flag.
    let emit = [
        "sweep",
        "tight.yaml",
        "--shards",
        "2",
        "--out",
        "t",
        "--emit",
        "slurm",
        "--check-slo",
    ];
    ok(archsim_in(&dir, &emit, None));
    assert!(read(&dir.join("t/jobs/slurm-merge.sh")).contains("--out t/merged --check-slo"));
    // Without the flag the same merge succeeds; with a lenient SLO it passes.
    ok(archsim_in(&dir, &["merge", "t", "--out", "t/merged"], None));
    std::fs::write(
        dir.join("loose.yaml"),
        format!("{SCENARIO}slo: {{ latency_p99: 10s }}\n"),
    )
    .unwrap();
    let run = [
        "sweep",
        "loose.yaml",
        "--shards",
        "2",
        "--tasks",
        "1",
        "--out",
        "l",
        "--quiet",
        "--task",
        "0",
    ];
    ok(archsim_in(&dir, &run, None));
    ok(archsim_in(
        &dir,
        &["merge", "l", "--out", "l/merged", "--check-slo"],
        None,
    ));
}

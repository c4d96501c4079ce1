//! Nothing lost, nothing mixed (issue 17): write errors stop a sweep with
//! every line before them intact, output folders are claimed by one writer
//! and written as a unit, `--resume` trusts only lines of its own plan, and
//! output paths never replace a link or a device.
//!
//! A full disk is simulated with the `ARCHSIM_TEST_DISK_BYTES` hook (see
//! src/files.rs): archsim's writes fail with "no space left on device" once
//! that many bytes are written, cut mid-write as a real disk cuts them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use archsim::files::{DISK_BYTES_ENV, Folder, Kind};

use crate::common::bin;

const SCENARIO: &str = "
name: outputs-test
seed: 4
duration: 20s
warmup: 2s
clients:
  web: { arrival: { poisson: 100/s }, target: api }
components:
  api: { kind: service, replicas: 2, service_time: { exponential: 10ms } }
sweep:
  vary:
    components.api.replicas: [2, 3, 4]
    clients.web.arrival.poisson: [100/s, 150/s]
  replications: 3
";

fn archsim(args: &[&str], disk_bytes: Option<u64>) -> Output {
    let mut c = Command::new(bin());
    c.args(args);
    if let Some(n) = disk_bytes {
        c.env(DISK_BYTES_ENV, n.to_string());
    }
    c.output().expect("archsim runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("s.yaml");
    std::fs::write(&f, SCENARIO).unwrap();
    (tmp, f)
}

fn sweep(scenario: &Path, out: &Path, extra: &[&str], disk: Option<u64>) -> Output {
    let mut args = vec!["sweep", s(scenario), "--quiet", "--jobs", "1", "--out", s(out)];
    args.extend_from_slice(extra);
    archsim(&args, disk)
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// (point, replication) of every complete line.
fn lines(dir: &Path) -> Vec<(u64, u64)> {
    let bytes = std::fs::read(dir.join("points.jsonl")).unwrap();
    let mut v: Vec<(u64, u64)> = bytes
        .split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .map(|j| (j["point"].as_u64().unwrap(), j["replication"].as_u64().unwrap()))
        .collect();
    v.sort();
    v
}

fn stable(dir: &Path) -> String {
    crate::common::without_wall_clock(&std::fs::read_to_string(dir.join("sweep.json")).expect("sweep.json"))
}

/// Every file of a folder (sorted names and contents), archsim's private
/// files aside.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .filter(|(n, _)| !n.starts_with(".archsim"))
        .collect();
    v.sort();
    v
}

/// Temporary files or staging folders left in a folder.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp") || n.starts_with(".archsim-stage"))
        .collect()
}

/// Defect 1: a disk that fills during a sweep. Before, write errors on
/// points.jsonl were ignored and the sweep exited 0 with replications
/// missing. Now the sweep stops with exit 1 naming the file, every line
/// written before is intact, and `--resume` finishes to the same result
/// as an uninterrupted sweep.
#[test]
fn a_full_disk_stops_a_sweep_and_resume_finishes_it() {
    let (tmp, f) = setup();
    let fresh = tmp.path().join("fresh");
    assert!(sweep(&f, &fresh, &[], None).status.success());
    assert_eq!(lines(&fresh).len(), 18);
    // The bytes of the plan, the manifest and the first 5 lines, less 100:
    // the 5th line is cut.
    let plan = std::fs::metadata(fresh.join("sweep-plan.json")).unwrap().len();
    let points = std::fs::read(fresh.join("points.jsonl")).unwrap();
    let five: usize = points
        .split_inclusive(|b| *b == b'\n')
        .take(5)
        .map(<[u8]>::len)
        .sum();
    let budget = plan + 200 + five as u64 - 100;
    let d = tmp.path().join("d");
    let o = sweep(&f, &d, &[], Some(budget));
    assert_eq!(
        o.status.code(),
        Some(1),
        "a write error is not a success: {}",
        err(&o)
    );
    let e = err(&o);
    assert!(e.contains("points.jsonl") && e.contains("No space left"), "{e}");
    assert!(e.contains("--resume"), "says how to finish: {e}");
    let partial = lines(&d);
    assert!(
        (3..5).contains(&partial.len()),
        "the lines written before the error are intact, the cut one is not counted: {partial:?}"
    );
    assert!(!d.join("sweep.json").exists(), "no result claims success");
    assert!(leftovers(&d).is_empty(), "{:?}", leftovers(&d));
    // With the disk still full, a resume fails at once instead of running
    // every replication and throwing each result away.
    let o = sweep(&f, &d, &["--resume"], Some(0));
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert_eq!(lines(&d), partial, "nothing lost while the disk is full");
    // Space again: the resume completes, equal to the uninterrupted sweep.
    let o = sweep(&f, &d, &["--resume"], None);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(lines(&d).len(), 18);
    assert_eq!(stable(&d), stable(&fresh));
}

/// Defect 1 (end of a sweep) and defect 4 (run folders): results are
/// written as a unit. A disk that fills while sweep.json, the charts or
/// index.html are written leaves no result file and no temporary file; a
/// run folder whose rewrite fails keeps the previous run whole.
#[test]
fn outputs_land_whole_or_not_at_all() {
    let (tmp, f) = setup();
    // A sweep whose lines all fit but whose final files do not.
    let fresh = tmp.path().join("fresh");
    assert!(sweep(&f, &fresh, &[], None).status.success());
    let plan = std::fs::metadata(fresh.join("sweep-plan.json")).unwrap().len();
    let points = std::fs::metadata(fresh.join("points.jsonl")).unwrap().len();
    let json = std::fs::metadata(fresh.join("sweep.json")).unwrap().len();
    let d = tmp.path().join("d");
    let o = sweep(&f, &d, &[], Some(plan + 400 + points + json + 10));
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(!d.join("sweep.json").exists() && !d.join("index.html").exists());
    assert!(leftovers(&d).is_empty(), "{:?}", leftovers(&d));
    assert_eq!(lines(&d).len(), 18, "every line kept");
    let o = sweep(&f, &d, &["--resume"], None);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(stable(&d), stable(&fresh));

    // A run folder: the first run lands; a second into the same folder on a
    // full disk fails and leaves the first run's files exactly as they were.
    let run = tmp.path().join("run");
    let o = archsim(&["run", s(&f), "--quiet", "--out", s(&run)], None);
    assert!(o.status.success(), "{}", err(&o));
    let before = contents(&run);
    assert!(before.iter().any(|(n, _)| n == "index.html"));
    let total: u64 = before.iter().map(|(_, b)| b.len() as u64).sum();
    for budget in [0, total / 4, total / 2, total * 3 / 4] {
        let o = archsim(
            &["run", s(&f), "--quiet", "--seed", "9", "--out", s(&run)],
            Some(budget),
        );
        assert_eq!(o.status.code(), Some(1), "budget {budget}: {}", err(&o));
        assert!(err(&o).contains("No space left"), "{}", err(&o));
        assert_eq!(contents(&run), before, "budget {budget}: the old run is whole");
        assert!(leftovers(&run).is_empty(), "{:?}", leftovers(&run));
    }
}

/// Defect 4: two writers in one folder. While one archsim holds a folder,
/// a run, a sweep, a resume or a merge into it stops at once (exit 1)
/// with a clear message instead of mixing files.
#[test]
fn a_folder_has_one_writer_at_a_time() {
    let (tmp, f) = setup();
    let d = tmp.path().join("d");
    let held = Folder::claim(&d, Kind::Run, "outputs-test", false, "--out").unwrap();
    let o = archsim(&["run", s(&f), "--quiet", "--out", s(&d)], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("another archsim is writing"), "{}", err(&o));
    drop(held);
    assert!(
        archsim(&["run", s(&f), "--quiet", "--out", s(&d)], None)
            .status
            .success()
    );

    let sd = tmp.path().join("sweep");
    assert_eq!(
        sweep(&f, &sd, &["--stop-after", "3"], None).status.code(),
        Some(1)
    );
    let held = Folder::claim(&sd, Kind::Sweep, "outputs-test", false, "--out").unwrap();
    let o = sweep(&f, &sd, &["--resume"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("another archsim is writing"), "{}", err(&o));
    assert_eq!(lines(&sd).len(), 3, "the held folder is untouched");
    drop(held);
    assert!(sweep(&f, &sd, &["--resume"], None).status.success());
    assert_eq!(lines(&sd).len(), 18);
}

/// Defect 2 and the one rule for every command: archsim writes only into a
/// folder that is missing, empty, or holds its own results of the same
/// kind for the same scenario; anything else needs --force, which keeps
/// files archsim did not write.
#[test]
fn folders_of_other_results_need_force() {
    let (tmp, f) = setup();
    let other = tmp.path().join("other.yaml");
    std::fs::write(&other, SCENARIO.replace("name: outputs-test", "name: another")).unwrap();
    // merge --out over another sweep's folder: refused, the folder intact.
    let a = tmp.path().join("a");
    assert!(sweep(&other, &a, &[], None).status.success());
    let before = contents(&a);
    let mut shards = Vec::new();
    for k in 1..=2 {
        let d = tmp.path().join(format!("s{k}"));
        assert!(
            sweep(&f, &d, &["--shard", &format!("{k}/2")], None)
                .status
                .success()
        );
        shards.push(d);
    }
    let merge = |out: &Path, force: bool| {
        let mut args = vec!["merge", s(&shards[0]), s(&shards[1]), "--out", s(out)];
        if force {
            args.push("--force");
        }
        archsim(&args, None)
    };
    let o = merge(&a, false);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("--force"), "{}", err(&o));
    assert_eq!(contents(&a), before, "the other sweep's results are untouched");
    // Merging again into its own output replaces it (the same sweep).
    let m = tmp.path().join("m");
    assert!(merge(&m, false).status.success());
    assert!(merge(&m, false).status.success());
    // --force replaces archsim's files, and only those: the old sweep's
    // charts go, a file of the user's stays.
    std::fs::write(a.join("notes.txt"), "mine").unwrap();
    let o = merge(&a, true);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(stable(&a), stable(&m));
    assert_eq!(std::fs::read_to_string(a.join("notes.txt")).unwrap(), "mine");
    let names: Vec<String> = contents(&a).into_iter().map(|(n, _)| n).collect();
    let merged: Vec<String> = contents(&m).into_iter().map(|(n, _)| n).collect();
    let mut expected = merged.clone();
    expected.push("notes.txt".into());
    expected.sort();
    assert_eq!(names, expected, "no file of the old sweep is left behind");

    // run: another scenario's run folder, a sweep folder and a folder of
    // someone else's files are refused without --force.
    let r = tmp.path().join("r");
    assert!(
        archsim(&["run", s(&other), "--quiet", "--out", s(&r)], None)
            .status
            .success()
    );
    for dir in [&r, &m] {
        let o = archsim(&["run", s(&f), "--quiet", "--out", s(dir)], None);
        assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    }
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::write(theirs.join("thesis.tex"), "x").unwrap();
    let o = archsim(&["run", s(&f), "--quiet", "--out", s(&theirs)], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("thesis.tex"), "names what is there: {}", err(&o));
    let o = archsim(&["run", s(&f), "--quiet", "--force", "--out", s(&theirs)], None);
    assert!(o.status.success(), "{}", err(&o));
    assert!(theirs.join("thesis.tex").exists() && theirs.join("report.json").exists());
    // The same scenario again: its folder is simply replaced (the default
    // output/<name>/ is rerun all the time).
    assert!(
        archsim(&["run", s(&other), "--quiet", "--out", s(&r)], None)
            .status
            .success()
    );
}

/// Defect 3: `--trace` replaced a symbolic link or a device with a regular
/// file. Now only a new path or a regular file is written.
#[cfg(unix)]
#[test]
fn trace_never_replaces_a_link_or_a_device() {
    let (tmp, f) = setup();
    let target = tmp.path().join("target.txt");
    std::fs::write(&target, "keep me").unwrap();
    let link = tmp.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = tmp.path().join("run");
    for path in [s(&link), "/dev/null"] {
        let o = archsim(
            &["run", s(&f), "--quiet", "--out", s(&out), "--trace", path],
            None,
        );
        assert_eq!(o.status.code(), Some(2), "{path}: {}", err(&o));
        assert!(err(&o).contains("--trace"), "{}", err(&o));
    }
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    {
        use std::os::unix::fs::FileTypeExt;
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
    // A regular file archsim did not write needs --force; an earlier trace
    // is simply replaced.
    let notes = tmp.path().join("notes.txt");
    std::fs::write(&notes, "my notes").unwrap();
    let trace = |path: &Path, force: bool| {
        let mut args = vec!["run", s(&f), "--quiet", "--out", s(&out), "--trace", s(path)];
        if force {
            args.push("--force");
        }
        archsim(&args, None)
    };
    let o = trace(&notes, false);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "my notes");
    assert!(trace(&notes, true).status.success());
    assert!(trace(&notes, false).status.success(), "now it is a trace");
    // A trace that cannot be finished leaves no temporary file.
    let t = tmp.path().join("t.jsonl");
    let o = archsim(
        &["run", s(&f), "--quiet", "--out", s(&out), "--trace", s(&t)],
        Some(5_000),
    );
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(!t.exists());
    assert!(leftovers(tmp.path()).is_empty(), "{:?}", leftovers(tmp.path()));
}

/// Defects 5 and 6: `--resume` checks each line against the plan and says
/// what it skipped; a folder without a plan is refused; any bytes in
/// points.jsonl are survivable.
#[test]
fn resume_trusts_only_lines_of_its_own_plan() {
    let (tmp, f) = setup();
    let fresh = tmp.path().join("fresh");
    assert!(sweep(&f, &fresh, &[], None).status.success());

    // Lines of a seed-7 sweep moved into a seed-4 folder whose plan was
    // removed: refused, since nothing says which sweep they belong to.
    let seven = tmp.path().join("seven");
    assert!(sweep(&f, &seven, &["--seed", "7"], None).status.success());
    let d = tmp.path().join("d");
    assert_eq!(sweep(&f, &d, &["--stop-after", "2"], None).status.code(), Some(1));
    std::fs::remove_file(d.join("sweep-plan.json")).unwrap();
    let o = sweep(&f, &d, &["--resume"], None);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("sweep-plan.json"), "{}", err(&o));

    // With its plan, a folder given foreign lines (another seed, a
    // replication beyond the plan, a point outside the grid), garbage
    // bytes and a line cut inside a UTF-8 character: the resume skips them,
    // says so, and finishes with the same result as a fresh sweep.
    let d = tmp.path().join("d2");
    assert_eq!(sweep(&f, &d, &["--stop-after", "4"], None).status.code(), Some(1));
    let mut bytes = std::fs::read(d.join("points.jsonl")).unwrap();
    let foreign = std::fs::read_to_string(seven.join("points.jsonl")).unwrap();
    let first_foreign = foreign.lines().next().unwrap().to_string();
    bytes.extend_from_slice(first_foreign.as_bytes());
    bytes.push(b'\n');
    let mine = String::from_utf8(bytes.clone()).unwrap();
    let mut beyond: serde_json::Value = serde_json::from_str(mine.lines().next().unwrap()).unwrap();
    beyond["replication"] = 7.into();
    bytes.extend_from_slice(beyond.to_string().as_bytes());
    bytes.push(b'\n');
    let mut outside = beyond.clone();
    outside["replication"] = 0.into();
    outside["point"] = 99.into();
    bytes.extend_from_slice(outside.to_string().as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(&[0xff, 0xfe, b'{', 0x80, b'\n']);
    bytes.extend_from_slice("{\"point\":0,\"x\":\"é".as_bytes());
    bytes.pop(); // cut inside the two-byte é
    std::fs::write(d.join("points.jsonl"), &bytes).unwrap();
    let o = archsim(&["sweep", s(&f), "--jobs", "1", "--out", s(&d), "--resume"], None);
    assert!(o.status.success(), "{}", err(&o));
    let e = err(&o);
    assert!(e.contains("skipped 5 lines"), "{e}");
    for why in [
        "a seed this plan does not give",
        "a replication number beyond",
        "a point not in this grid",
        "2 with not a complete line",
    ] {
        assert!(e.contains(why), "{why}: {e}");
    }
    assert_eq!(stable(&d), stable(&fresh), "foreign lines are not counted");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("sweep.json")).unwrap()).unwrap();
    for p in report["points"].as_array().unwrap() {
        assert_eq!(p["replications"], 3, "no extra replication counted");
    }

    // A damaged sweep-plan.json is bad input (exit 2), not a crash.
    std::fs::write(d.join("sweep-plan.json"), "{ not json").unwrap();
    let o = sweep(&f, &d, &["--resume"], None);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("damaged"), "{}", err(&o));
}

/// Defects 11, 12 and 14 (the command line): sizes are checked before
/// anything is allocated, endless inputs are cut at a limit, and each
/// refusal is exit 2 with the limit named.
#[test]
fn sizes_and_paths_are_checked_up_front() {
    let (tmp, f) = setup();
    let out = tmp.path().join("o");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "run",
                s(&f),
                "--quiet",
                "--replications",
                "4294967295",
                "--out",
                s(&out),
            ],
            "at most 1000",
        ),
        (
            vec!["sweep", s(&f), "--quiet", "--jobs", "100000000", "--out", s(&out)],
            "--jobs must be at least 1 and at most 1024",
        ),
        (
            vec![
                "sweep",
                s(&f),
                "--quiet",
                "--out",
                s(&out),
                "--vary",
                "components.api.replicas=1..100",
                "--vary",
                "components.api.cores=1..100",
                "--vary",
                "seed=1..100",
            ],
            "at most 10000 points",
        ),
        (
            vec![
                "sweep",
                s(&f),
                "--quiet",
                "--replications",
                "4294967295",
                "--out",
                s(&out),
            ],
            "at most 1000",
        ),
    ];
    for (args, says) in cases {
        let started = std::time::Instant::now();
        let o = archsim(&args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(err(&o).contains(says), "{args:?}: {}", err(&o));
        assert!(started.elapsed().as_secs() < 10, "{args:?} answered at once");
    }
    // compare reading an endless input.
    if Path::new("/dev/zero").exists() {
        let run = tmp.path().join("run");
        assert!(
            archsim(&["run", s(&f), "--quiet", "--out", s(&run)], None)
                .status
                .success()
        );
        let o = archsim(&["compare", s(&run), "/dev/zero"], None);
        assert_eq!(o.status.code(), Some(2), "{}", err(&o));
        assert!(
            err(&o).contains("larger than the limit of 256 MiB"),
            "{}",
            err(&o)
        );
    }
    // A dangling --out link says so (it used to read "File exists").
    #[cfg(unix)]
    {
        let link = tmp.path().join("dangling");
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), &link).unwrap();
        let o = archsim(&["run", s(&f), "--quiet", "--out", s(&link)], None);
        assert_eq!(o.status.code(), Some(2), "{}", err(&o));
        assert!(err(&o).contains("does not exist"), "{}", err(&o));
    }
}

/// Defect 8 at the command line: a zero-time loop (closed-loop users with
/// no think time against a service that answers in no time) used to spin
/// at t = 0 for ever, even with `--duration 1us`. `run` and `sweep` now
/// stop within seconds with exit 2 and a message naming the component and
/// the setting to change; a sweep writes no line for the stuck point.
#[test]
fn a_zero_time_loop_is_bad_input_not_a_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("loop.yaml");
    std::fs::write(
        &f,
        "
name: zero-time-loop
duration: 1s
clients:
  users: { arrival: { closed: { users: 10, think_time: 0s } }, target: api }
components:
  api: { kind: service, service_time: 0s }
sweep:
  vary:
    components.api.replicas: [1, 2]
",
    )
    .unwrap();
    for args in [
        vec![
            "run",
            s(&f),
            "--quiet",
            "--duration",
            "1us",
            "--out",
            s(&tmp.path().join("r")),
        ],
        vec!["sweep", s(&f), "--quiet", "--out", s(&tmp.path().join("sw"))],
    ] {
        let started = std::time::Instant::now();
        let o = archsim(&args, None);
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        let e = err(&o);
        assert!(e.contains("simulated time stopped"), "{e}");
        assert!(
            e.contains("think_time") && e.contains("`users`"),
            "names the client and the rule: {e}"
        );
        assert!(secs < 60.0, "{args:?} stopped after {secs:.1} s");
    }
    assert!(
        std::fs::read(tmp.path().join("sw/points.jsonl"))
            .unwrap_or_default()
            .is_empty(),
        "no line for the stuck point"
    );
}

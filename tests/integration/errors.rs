//! Bad input (SPEC §1): every problem exits with code 2 and a message naming
//! `file:line:column`, the dotted field path and what was expected; nothing
//! is printed to stdout and no input makes archsim panic.
//!
//! Each bad-input case is a fixture under `tests/errors/<group>/`, one
//! folder per component kind or topic: `<case>.yaml` is the scenario,
//! `<case>.expected` the whole message archsim prints for it (what the
//! binary writes on stderr, byte for byte), and an optional `<case>.flags`
//! holds command-line flags, one per line (`--set PATH=VALUE`, `--seed N`,
//! `--duration D`, `--interval D`). Files a scenario names (trace,
//! empirical) sit beside it. Every fixture is loaded in process through
//! [`archsim::scenario::load`], as the binary does; a few representative
//! ones also go through the binary. `ARCHSIM_BLESS=1` (re)writes the
//! `.expected` files: read the diff before committing it.
//!
//! Below the fixtures, the checks that are not one message for one file:
//! flags the command line refuses before any scenario is read, inputs too
//! large to keep as files, what must load at a limit, resource caps under
//! `ulimit`, and the in-process fuzzing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;

use archsim::scenario::{BuildOptions, labeled, load, load_str};
use tempfile::TempDir;

use crate::common::bin;
use crate::mutation::{
    DATA_FUZZ_BASE, DATA_SET_PATHS, FUZZ_BASE, SET_PATHS, XorShift, edge_edit, edge_values, mutate,
    nasty_values,
};

// ---------------------------------------------------------------------------
// The fixtures
// ---------------------------------------------------------------------------

/// Every `tests/errors/<group>/<case>.yaml`, sorted.
fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/errors");
    let mut all = Vec::new();
    for group in std::fs::read_dir(&root).expect("tests/errors") {
        let group = group.unwrap().path();
        if !group.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(group).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "yaml") {
                all.push(p);
            }
        }
    }
    all.sort();
    all
}

/// `group/case` of a fixture, for messages and the binary's table.
fn short(yaml: &Path) -> String {
    let group = yaml.parent().unwrap().file_name().unwrap().to_string_lossy();
    let case = yaml.file_stem().unwrap().to_string_lossy();
    format!("{group}/{case}")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/errors/{name}.yaml"))
}

/// The fixture's `.flags`, as (flag, value) pairs in file order.
fn flags(yaml: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(yaml.with_extension("flags")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (f, v) = l.split_once(' ').unwrap_or((l, ""));
            (f.to_string(), v.to_string())
        })
        .collect()
}

/// What `archsim validate` (or `run`, with the flags) prints for a fixture,
/// computed in process: the loader's error and a newline. The fixture's
/// folder is cut from paths, as the binary run in that folder says them.
fn message(yaml: &Path) -> String {
    let (mut first, mut sets, mut opts) = (Vec::new(), Vec::new(), BuildOptions::default());
    for (flag, value) in flags(yaml) {
        match flag.as_str() {
            // The order `archsim run` applies them in: --seed, --duration, --set.
            "--seed" => first.insert(0, labeled("--seed", &format!("seed={value}"))),
            "--duration" => first.push(labeled("--duration", &format!("duration={value}"))),
            "--set" => sets.push(value),
            "--interval" => opts.interval = Some(value.parse().expect("an --interval")),
            other => panic!("{}: unknown flag {other}", short(yaml)),
        }
    }
    first.extend(sets);
    let dir = format!("{}/", yaml.parent().unwrap().display());
    match catch_unwind(AssertUnwindSafe(|| load(yaml, &first, &opts))) {
        Ok(Err(e)) => format!("{e}\n").replace(&dir, ""),
        Ok(Ok(_)) => "(loaded without an error)\n".into(),
        Err(p) => format!("(panicked: {})\n", panic_text(&p)),
    }
}

/// Where two texts first differ, shown as that line of each.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let i = (0..w.len().max(g.len()))
        .find(|&i| w.get(i) != g.get(i))
        .unwrap_or(w.len());
    let line = |l: Option<&&str>| l.map_or("(no line)".to_string(), |s| format!("{s:?}"));
    format!(
        "  line {}:\n    expected {}\n    got      {}",
        i + 1,
        line(w.get(i)),
        line(g.get(i))
    )
}

/// Every fixture's message equals its `.expected` file, and holds no raw
/// control character (user text must be escaped). All failures are listed.
#[test]
fn fixtures_give_their_expected_messages() {
    let bless = std::env::var_os("ARCHSIM_BLESS").is_some_and(|v| v == "1");
    let all = fixtures();
    assert!(all.len() > 150, "only {} fixtures found", all.len());
    // Loaded on every core: a few fixtures (the alias bomb, `/dev/zero`)
    // take most of the time.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut got: Vec<(usize, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(yaml) = all.get(i) else { break mine };
                        mine.push((i, message(yaml)));
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    got.sort();
    let mut failures = Vec::new();
    for (yaml, (_, got)) in all.iter().zip(got) {
        let expected = yaml.with_extension("expected");
        let want = std::fs::read_to_string(&expected).unwrap_or_default();
        if let Some(c) = got
            .chars()
            .find(|&c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{202e}')
        {
            failures.push(format!("{}: raw {c:?} in the message:\n{got}", short(yaml)));
        }
        if got.starts_with('(') {
            failures.push(format!("{}: {got}", short(yaml)));
        } else if want != got && bless {
            std::fs::write(&expected, &got).unwrap();
            eprintln!("blessed {}", expected.display());
        } else if want != got {
            failures.push(format!(
                "{}\n{}",
                expected.display(),
                first_difference(&want, &got)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures fail (ARCHSIM_BLESS=1 rewrites the .expected files):\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// Fixtures also run through the binary, with the commands to try: one of
/// each family of error (syntax, unknown field, reference, `--set`, flag,
/// a file the scenario names, non-UTF-8 text, several errors at once).
const THROUGH_THE_BINARY: &[(&str, &[&str])] = &[
    ("syntax/unclosed_flow_map", &["validate", "run"]),
    ("syntax/not_utf8_located_at_first_bad_byte", &["validate", "run"]),
    ("top-level/unknown_field_sed", &["validate", "run"]),
    ("top-level/several_problems_all_reported", &["validate"]),
    (
        "calls/targets_name_no_component_sequential_and_parallel",
        &["validate"],
    ),
    ("client/trace_file_with_a_bad_line", &["validate"]),
    ("autoscaler/min_above_the_replica_limit", &["run", "explain"]),
    ("flags/set_of_an_unknown_field", &["run"]),
    ("flags/interval_rows_capped", &["run"]),
];

/// The binary exits 2, prints nothing on stdout and exactly the fixture's
/// expected message on stderr, and `run` creates no output folder.
#[test]
fn the_binary_prints_the_expected_messages() {
    let mut failures = Vec::new();
    for (name, commands) in THROUGH_THE_BINARY {
        let yaml = fixture(name);
        let want = std::fs::read_to_string(yaml.with_extension("expected")).unwrap();
        let file = yaml.file_name().unwrap().to_str().unwrap();
        for cmd in *commands {
            let out = tmp();
            let mut args = vec![cmd.to_string(), file.to_string()];
            if *cmd == "run" {
                args.extend(["--out".to_string(), out.path().join("out").display().to_string()]);
            }
            for (f, v) in flags(&yaml) {
                args.extend([f, v]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = archsim(yaml.parent().unwrap(), &args);
            if o.code != Some(2) || !o.stdout.is_empty() || o.stderr != want {
                failures.push(format!(
                    "{name} ({cmd}): exit {:?}, stdout {:?}\n{}",
                    o.code,
                    o.stdout,
                    first_difference(&want, &o.stderr)
                ));
            }
            if out.path().join("out").exists() {
                failures.push(format!("{name} ({cmd}): wrote an output folder"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[ignore = "upstream: serde-saphyr reports a tab used for indentation one column to the right (4:2 for a tab at 4:1); the message is otherwise right"]
fn tab_indentation_column() {
    let m = message(&fixture("syntax/tab_indentation"));
    assert!(m.starts_with("error: tab_indentation.yaml:4:1: "), "{m}");
}

// ---------------------------------------------------------------------------
// Through the binary only
// ---------------------------------------------------------------------------

/// What a run of the binary left behind.
#[derive(Debug)]
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn archsim(dir: &Path, args: &[&str]) -> Out {
    let o = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("start archsim");
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn tmp() -> TempDir {
    tempfile::tempdir().expect("temporary folder")
}

/// Exit code 2, no panic, nothing on stdout, and every needle in stderr.
#[track_caller]
fn assert_bad(o: &Out, needles: &[&str]) {
    assert!(
        !o.stderr.contains("panicked") && !o.stderr.contains("RUST_BACKTRACE"),
        "archsim panicked or aborted:\n{}",
        o.stderr
    );
    assert_eq!(o.code, Some(2), "exit code; stderr:\n{}", o.stderr);
    assert!(
        o.stdout.is_empty(),
        "stdout should be empty on bad input, got:\n{}",
        o.stdout
    );
    for n in needles {
        assert!(o.stderr.contains(n), "stderr lacks {n:?}:\n{}", o.stderr);
    }
}

/// Name the generated scenarios are written under.
const FILE: &str = "s.yaml";

const GOOD: &str = r#"name: good
duration: 1s
clients:
  users:
    arrival: { poisson: 20/s }
    target: lb
components:
  lb:
    kind: load_balancer
    algorithm: round_robin
    backends: api
  api:
    kind: service
    replicas: 2
    service_time: { exponential: 5ms }
"#;

/// A folder holding `good.yaml` (valid).
fn good_dir() -> TempDir {
    let dir = tmp();
    std::fs::write(dir.path().join("good.yaml"), GOOD).unwrap();
    dir
}

#[test]
fn good_scenario_runs() {
    // The baseline for the flag tests: without the bad flag, it works.
    let dir = good_dir();
    let o = archsim(dir.path(), &["run", "good.yaml", "--out", "out", "--quiet"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(dir.path().join("out/report.json").exists());
}

/// Flags `archsim` checks itself, before reading the scenario, and files
/// that cannot be read: exit 2, the flag or file named, no output folder.
#[test]
fn bad_flags_and_unreadable_files() {
    let dir = good_dir();
    std::fs::create_dir(dir.path().join("scen.yaml")).unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--replications", "0"], &["--replications", "at least 1"]),
        (&["--replications", "many"], &["--replications", "many"]),
        (&["--interval", "0s"], &["--interval", "longer than zero"]),
        (
            &["--interval", "often"],
            &["--interval", "expected a duration", "often"],
        ),
        (&["--format", "xml"], &["--format", "xml"]),
        (&["--colour"], &["--colour"]),
    ];
    for (flags, needles) in cases {
        let mut args = vec!["run", "good.yaml", "--out", "out"];
        args.extend_from_slice(flags);
        assert_bad(&archsim(dir.path(), &args), needles);
        assert!(!dir.path().join("out").exists(), "{flags:?}");
    }
    assert_bad(&archsim(dir.path(), &["validate"]), &[]);
    for file in ["nowhere.yaml", "scen.yaml"] {
        let o = archsim(dir.path(), &["run", file, "--out", "out"]);
        assert_bad(&o, &[file, "cannot read"]);
        let o = archsim(dir.path(), &["validate", file]);
        assert_bad(&o, &[file, "cannot read"]);
        assert!(!dir.path().join("out").exists());
    }
    // The scenario file itself is read with a cap.
    let o = archsim(dir.path(), &["validate", "/dev/zero"]);
    assert_bad(&o, &["/dev/zero", "larger than 16 MiB"]);
}

#[test]
fn largest_seed_is_accepted() {
    let dir = good_dir();
    let o = archsim(
        dir.path(),
        &[
            "run",
            "good.yaml",
            "--out",
            "out",
            "--quiet",
            "--seed",
            "18446744073709551615",
        ],
    );
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    // The same seed in the file: "expected a non-negative integer, found 1.8446744073709552e19".
    let big = GOOD.replace("name: good\n", "name: good\nseed: 18446744073709551615\n");
    std::fs::write(dir.path().join("big.yaml"), big).unwrap();
    let o = archsim(dir.path(), &["validate", "big.yaml"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
}

#[test]
fn validate_reports_every_problem_of_every_bad_file() {
    let dir = good_dir();
    std::fs::write(
        dir.path().join("good2.yaml"),
        GOOD.replace("name: good", "name: good2"),
    )
    .unwrap();
    // Three semantic problems.
    let bad1 = r#"name: bad1
duration: 1s
clients:
  users:
    arrival: { poisson: 10/s }
    target: nope
components:
  api:
    kind: service
    replicas: 0
    cores: 0
    service_time: 10ms
"#;
    std::fs::write(dir.path().join("bad1.yaml"), bad1).unwrap();
    // A syntax error.
    std::fs::write(dir.path().join("bad2.yaml"), "name: [unclosed\n").unwrap();
    let o = archsim(
        dir.path(),
        &[
            "validate",
            "good.yaml",
            "bad1.yaml",
            "missing.yaml",
            "bad2.yaml",
            "good2.yaml",
        ],
    );
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    for needle in [
        "bad1.yaml:6:13: clients.users.target: no component named `nope`",
        "bad1.yaml:10:15: components.api.replicas: ",
        "bad1.yaml:11:12: components.api.cores: ",
        "missing.yaml: cannot read",
        "bad2.yaml:1:7: unclosed bracket",
    ] {
        assert!(
            o.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            o.stderr
        );
    }
    assert!(o.stdout.contains("ok: good.yaml"), "{}", o.stdout);
    assert!(o.stdout.contains("ok: good2.yaml"), "{}", o.stdout);
    assert!(!o.stdout.contains("bad"), "{}", o.stdout);
    assert!(!o.stdout.contains("missing"), "{}", o.stdout);
    // Files are reported in the order given.
    let p1 = o.stderr.find("bad1.yaml").unwrap();
    let pm = o.stderr.find("missing.yaml").unwrap();
    let p2 = o.stderr.find("bad2.yaml").unwrap();
    assert!(p1 < pm && pm < p2, "{}", o.stderr);
}

#[test]
fn validate_all_good() {
    let dir = good_dir();
    std::fs::write(
        dir.path().join("good2.yaml"),
        GOOD.replace("name: good", "name: good2"),
    )
    .unwrap();
    let o = archsim(dir.path(), &["validate", "good.yaml", "good2.yaml"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stderr.is_empty(), "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", o.stdout);
    assert!(lines[0].starts_with("ok: good.yaml"), "{}", o.stdout);
    assert!(lines[1].starts_with("ok: good2.yaml"), "{}", o.stdout);
}

#[test]
fn validate_without_files() {
    let dir = tmp();
    let o = archsim(dir.path(), &["validate"]);
    assert_bad(&o, &[]);
}

#[test]
fn replicas_without_a_balancer_get_a_note_and_a_balancer_silences_it() {
    let bare = r#"name: c
duration: 10s
clients:
  web:
    arrival: { poisson: 10/s }
    target: api
components:
  api:
    kind: service
    replicas: 3
    service_time: 1ms
"#;
    let note = "api has 3 replicas and no load balancer in front";
    let dir = tmp();
    std::fs::write(dir.path().join(FILE), bare).unwrap();
    let o = archsim(dir.path(), &["run", FILE, "--out", "out"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(o.stdout.contains(note), "no note:\n{}", o.stdout);
    assert!(o.stdout.contains("put a `load_balancer` with `backends: api`"));
    let fronted = bare.replace("    target: api\n", "    target: lb\n").replace(
        "components:\n",
        "components:\n  lb:\n    kind: load_balancer\n    algorithm: round_robin\n    backends: api\n",
    );
    std::fs::write(dir.path().join(FILE), fronted).unwrap();
    let o = archsim(dir.path(), &["run", FILE, "--out", "out2"]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(!o.stdout.contains("no load balancer"), "{}", o.stdout);
}

#[test]
fn deep_nesting_is_refused() {
    let yaml = format!("name: {}{}\n", "[".repeat(50_000), "]".repeat(50_000));
    let dir = tmp();
    std::fs::write(dir.path().join(FILE), yaml).unwrap();
    let o = archsim(dir.path(), &["validate", FILE]);
    assert_bad(&o, &["s.yaml:1:", "recursion limit"]);
}

#[test]
fn a_huge_line_is_cut_around_the_caret() {
    // A 2 MB value with the mistake at its end: the snippet shows a window
    // of 100 characters with `…` for what is left out, and the caret still
    // points at the offending character.
    let yaml = format!(
        "name: t\nduration: 1s\ndescription: {} bad: [\n",
        "y".repeat(2_000_000)
    );
    let e = load_error(&yaml);
    assert!(
        e.starts_with("error: s.yaml:3:2000018: "),
        "{}",
        &e[..e.len().min(300)]
    );
    assert!(e.len() < 1000, "the error is {} bytes long", e.len());
    let lines: Vec<&str> = e.lines().collect();
    let src = lines[lines.len() - 2];
    let caret = lines[lines.len() - 1];
    assert!(src.starts_with("3 | …y"), "{src}");
    assert_eq!(src.chars().count(), "3 | ".len() + 1 + 100);
    let at = caret.chars().position(|c| c == '^').expect("a caret");
    assert_eq!(src.chars().nth(at), Some(':'), "{src}\n{caret}");
    // A mistake at the start of a long line: cut on the right only.
    let yaml = format!("name: t\nduration: 1s\nsed: [{}]\n", "9, ".repeat(200_000));
    let e = load_error(&yaml);
    let lines: Vec<&str> = e.lines().collect();
    let src = lines[lines.len() - 2];
    assert!(src.ends_with('…') && !src.contains("| …"), "{src}");
    // A huge unknown key is shortened in the message, too (and is quick:
    // no edit distance over its whole length).
    let started = std::time::Instant::now();
    let key = "k".repeat(1_000_000);
    // (An explicit `? KEY` may be longer than the 1024 characters of a plain one.)
    let e = load_error(&format!("name: t\nduration: 1s\n? {key}\n: 1\n"));
    assert!(e.len() < 1000, "the error is {} bytes long", e.len());
    assert!(e.contains("unknown field `kkk") && e.contains('…'), "{e}");
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn dns_tables_are_capped() {
    // 4100 clients × 4100 targets is past the 2^24 cells.
    let mut yaml = String::from("name: t\nduration: 1s\nclients:\n");
    for i in 0..4100 {
        yaml.push_str(&format!(
            "  c{i}: {{ arrival: {{ poisson: 1/s }}, target: dns }}\n"
        ));
    }
    yaml.push_str(
        "components:\n  api: { kind: service, service_time: 1ms }\n  dns:\n    kind: dns\n    targets: [",
    );
    yaml.push_str(&vec!["api"; 4100].join(", "));
    yaml.push_str("]\n");
    // `targets` is on line 4100 + 8.
    expect_load_error(
        &yaml,
        "4108:14",
        "components.dns.targets",
        &["at most 16777216", "16810000"],
    );
}

#[test]
fn a_file_named_by_many_fields_is_read_once() {
    let dir = tmp();
    std::fs::write(dir.path().join("times.txt"), "1ms\n2ms\n3ms\n").unwrap();
    let mut yaml = String::from(
        "name: t
duration: 1s
clients:
  users:
    arrival: { poisson: 10/s }
    target: s0
components:
",
    );
    for i in 0..50 {
        yaml.push_str(&format!(
            "  s{i}: {{ kind: service, service_time: {{ empirical: times.txt }} }}\n"
        ));
    }
    let (_, cfg) = load_str(FILE, &yaml, dir.path(), &[], &BuildOptions::default()).unwrap();
    let means: Vec<f64> = cfg
        .components
        .iter()
        .filter_map(|c| match c {
            archsim::model::CompCfg::Service(s) => Some(s.read_time.mean_ns()),
            _ => None,
        })
        .collect();
    assert_eq!(means, vec![2_000_000.0; 50]);
    // A missing one is reported at every field that names it: the fixture
    // service/empirical_file_missing_in_50_services.
}

// ---------------------------------------------------------------------------
// Limits: past them is a fixture's error, at them it loads
// ---------------------------------------------------------------------------

/// The rendered error `load_str` gives for `yaml` (named `s.yaml`); panics
/// if it loads.
#[track_caller]
fn load_error(yaml: &str) -> String {
    match load_str(FILE, yaml, Path::new("."), &[], &BuildOptions::default()) {
        Ok(_) => panic!("expected an error, but it loaded:\n{yaml}"),
        Err(e) => e.to_string(),
    }
}

/// `load_error`, checked for `s.yaml:<loc>: <path>: ` and each of `words`.
#[track_caller]
fn expect_load_error(yaml: &str, loc: &str, path: &str, words: &[&str]) -> String {
    let e = load_error(yaml);
    let head = format!("{FILE}:{loc}: {path}: ");
    assert!(e.contains(&head), "lacks {head:?}:\n{e}");
    for w in words {
        assert!(e.contains(w), "lacks {w:?}:\n{e}");
    }
    e
}

/// Whether `yaml` loads (relative files from `dir`).
fn loads(yaml: &str, dir: &Path) -> Result<(), String> {
    load_str(FILE, yaml, dir, &[], &BuildOptions::default())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Fixtures one step past a limit load once brought back to it.
#[test]
fn at_the_limit_it_loads() {
    let (x300, x100) = ("x".repeat(300), "x".repeat(100));
    let cases = [
        ("client/diurnal_period_1ns", "1ns", "1ms"),
        ("balancer/health_check_interval_1ns", "1ns", "1ms"),
        ("autoscaler/interval_1ns", "1ns", "1ms"),
        ("cache/flush_interval_1ns", "1ns", "1ms"),
        ("database/backup_every_1ns", "1ns", "1ms"),
        ("faults/mtbf_1ns", "1ns", "1ms"),
        ("faults/mttr_999us", "999us", "1ms"),
        ("client/identities_capped_per_client", "16777217", "16777216"),
        ("client/closed_loop_users_capped_in_total", "6000000", "5000000"),
        ("top-level/name_too_long", &x300, &x100),
    ];
    for (name, past, at) in cases {
        let path = fixture(name);
        let mut text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(past), "{name} lacks {past:?}");
        if name == "cache/flush_interval_1ns" {
            // A client in front of a cache needs keys (reported once the
            // rest of the file is valid: client/keys_missing_*).
            text = text.replacen("    target: wb", "    target: wb\n    keys: { uniform: 100 }", 1);
        }
        loads(&text.replace(past, at), path.parent().unwrap())
            .unwrap_or_else(|e| panic!("{name} with {at} should load:\n{e}"));
    }
    // Four databases at the per-database key cap fit; the fifth is refused.
    let text = std::fs::read_to_string(fixture("database/keys_times_databases_capped")).unwrap();
    let four: String = text.lines().take(12 + 4 * 3).map(|l| format!("{l}\n")).collect();
    loads(&four, Path::new(".")).unwrap();
    // A million time-series rows is the cap: it builds.
    let opts = BuildOptions {
        interval: Some("1us".parse().unwrap()),
        ..Default::default()
    };
    let (_, cfg) = load_str("good.yaml", GOOD, Path::new("."), &[], &opts).unwrap();
    assert_eq!(cfg.duration / cfg.interval, 1_000_000);
}

/// A client without `keys` is refused only where keys matter (the fixtures
/// `client/keys_missing_*`): with them, or where no request's key does,
/// the same scenarios load.
#[test]
fn keys_are_asked_for_only_where_they_matter() {
    for name in [
        "client/keys_missing_before_a_cache",
        "client/keys_missing_before_a_sharded_database",
        "client/keys_missing_before_a_consistent_hash_balancer",
        "client/keys_missing_before_a_database_that_gains_shards",
    ] {
        let path = fixture(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let keyed = text.replacen("    target:", "    keys: { uniform: 1000 }\n    target:", 1);
        loads(&keyed, path.parent().unwrap()).unwrap_or_else(|e| panic!("{name} with keys:\n{e}"));
    }
    // Static requests take the static `keys`, else the client's.
    let text = std::fs::read_to_string(fixture("client/keys_missing_static_to_a_cdn")).unwrap();
    for (from, to) in [
        ("target: edge }", "target: edge, keys: { uniform: 50 } }"),
        ("    target: api", "    keys: { uniform: 1000 }\n    target: api"),
    ] {
        assert!(text.contains(from));
        loads(&text.replacen(from, to, 1), Path::new(".")).unwrap();
    }
    // One shard and no cache: every key lands in the same place anyway.
    // A session store is read by user, not by key.
    for components in [
        "  db: { kind: database, read_time: 1ms }\n",
        "  api: { kind: service, state: { store: sessions }, service_time: 1ms }\n  \
         sessions: { kind: cache, capacity: 100, backend: db }\n  db: { kind: database, shards: 2, read_time: 1ms }\n",
    ] {
        let target = if components.starts_with("  db") {
            "db"
        } else {
            "api"
        };
        let yaml = format!(
            "name: t\nduration: 1s\nclients:\n  u: {{ arrival: {{ poisson: 10/s }}, target: {target}, identities: 10 }}\n\
             components:\n{components}"
        );
        loads(&yaml, Path::new(".")).unwrap_or_else(|e| panic!("should load:\n{yaml}\n{e}"));
    }
}

/// A scenario whose line 10 is `    <field>` and everything else is valid:
/// the service `api` is at lines 8–10.
fn with_service_line(field: &str) -> String {
    format!(
        "name: t
duration: 1s
clients:
  users:
    arrival: {{ poisson: 10/s }}
    target: api
components:
  api:
    kind: service
    {field}
    service_time: 10ms
"
    )
}

/// A scenario whose line 5 is `    arrival: <arrival>`.
fn with_arrival(arrival: &str) -> String {
    format!(
        "name: t
duration: 1s
clients:
  users:
    arrival: {arrival}
    target: api
components:
  api:
    kind: service
    service_time: 10ms
"
    )
}

// ---------------------------------------------------------------------------
// Resource exhaustion: bugs that end the process without a message
// ---------------------------------------------------------------------------

/// Runs archsim under `ulimit -v` (4 GB of address space) so that a huge
/// allocation fails here the way it would on a smaller machine, instead of
/// swapping this one.
fn archsim_limited(dir: &Path, args: &[&str], secs: u64) -> Out {
    let mut cmd = String::from("ulimit -v 4000000; exec timeout ");
    cmd.push_str(&format!("{secs} \"$0\""));
    for i in 1..=args.len() {
        cmd.push_str(&format!(" \"${i}\""));
    }
    let o = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .arg(bin())
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("start sh");
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn absurd_replica_count_is_bad_input() {
    let dir = tmp();
    std::fs::write(dir.path().join(FILE), with_service_line("replicas: 4294967295")).unwrap();
    let o = archsim_limited(dir.path(), &["validate", FILE], 60);
    assert_bad(&o, &["s.yaml:10:15: components.api.replicas: "]);
}

#[test]
fn absurd_choices_is_bad_input() {
    let yaml = r#"name: t
duration: 1s
clients:
  users:
    arrival: { poisson: 10/s }
    target: lb
components:
  lb:
    kind: load_balancer
    algorithm: power_of_two
    backends: api
    choices: 4294967295
  api:
    kind: service
    replicas: 2
    service_time: 10ms
"#;
    let dir = tmp();
    std::fs::write(dir.path().join(FILE), yaml).unwrap();
    let o = archsim_limited(dir.path(), &["run", FILE, "--out", "out", "--quiet"], 60);
    // Either refused as bad input, or accepted and run to completion.
    assert!(
        matches!(o.code, Some(0) | Some(2)),
        "code {:?}\n{}",
        o.code,
        o.stderr
    );
    assert!(!o.stderr.contains("memory allocation"), "{}", o.stderr);
}

#[test]
fn absurd_vnodes_is_bad_input() {
    let yaml = r#"name: t
duration: 1s
clients:
  users:
    arrival: { poisson: 10/s }
    target: lb
components:
  lb:
    kind: load_balancer
    algorithm: consistent_hash
    backends: api
    vnodes: 4294967295
  api:
    kind: service
    replicas: 2
    service_time: 10ms
"#;
    let dir = tmp();
    std::fs::write(dir.path().join(FILE), yaml).unwrap();
    let o = archsim_limited(dir.path(), &["run", FILE, "--out", "out", "--quiet"], 60);
    assert!(
        matches!(o.code, Some(0) | Some(2)),
        "code {:?}\n{}",
        o.code,
        o.stderr
    );
}

#[test]
fn absurd_closed_loop_population_is_bad_input() {
    let dir = tmp();
    std::fs::write(
        dir.path().join(FILE),
        with_arrival("{ closed: { users: 4294967295 } }"),
    )
    .unwrap();
    let o = archsim_limited(dir.path(), &["run", FILE, "--out", "out", "--quiet"], 60);
    // Refused as bad input, or stopped as unstable: anything but a crash.
    assert!(
        matches!(o.code, Some(0) | Some(1) | Some(2)),
        "code {:?}\n{}",
        o.code,
        o.stderr
    );
    assert!(!o.stderr.contains("memory allocation"), "{}", o.stderr);
}

#[test]
fn largest_duration_runs_or_is_refused() {
    let yaml = r#"name: t
duration: 18446744073.709551615s
clients:
  users:
    arrival: { poisson: 1e-300/s }
    target: api
components:
  api:
    kind: service
    service_time: 1ms
"#;
    let dir = tmp();
    std::fs::write(dir.path().join(FILE), yaml).unwrap();
    let o = archsim_limited(dir.path(), &["run", FILE, "--out", "out", "--quiet"], 60);
    assert!(
        matches!(o.code, Some(0) | Some(2)),
        "code {:?}\n{}",
        o.code,
        o.stderr
    );
}

#[test]
fn identities_that_overflow_when_summed() {
    let yaml = r#"name: t
duration: 50ms
clients:
  a:
    arrival: { poisson: 100/s }
    target: api
    identities: 9223372036854775807
  b:
    arrival: { poisson: 100/s }
    target: api
    identities: 9223372036854775807
  c:
    arrival: { poisson: 100/s }
    target: api
    identities: 9223372036854775807
  d:
    arrival: { poisson: 100/s }
    target: lb
    identities: 9223372036854775807
components:
  lb:
    kind: load_balancer
    algorithm: sticky
    backends: api
  api:
    kind: service
    replicas: 2
    service_time: 1ms
"#;
    let result = catch_unwind(|| {
        let opts = BuildOptions::default();
        if let Ok((_, cfg)) = load_str("s.yaml", yaml, Path::new("."), &[], &opts) {
            archsim::run::run_replications(&cfg, 1, 1);
        }
    });
    assert!(result.is_ok(), "loading or running panicked");
    // Release builds do not check overflow: make a wrap visible there too.
    // Refusing the absurd total as bad input is also a correct answer.
    match load_str("s.yaml", yaml, Path::new("."), &[], &BuildOptions::default()) {
        Ok((_, cfg)) => {
            let bases: Vec<u64> = cfg.clients.iter().map(|c| c.identity_base).collect();
            assert!(
                bases.windows(2).all(|w| w[0] <= w[1]),
                "identity ranges wrapped: {bases:?}"
            );
        }
        Err(e) => assert!(e.to_string().contains("clients.b.identities"), "{e}"),
    }
}

// ---------------------------------------------------------------------------
// No input makes the loader or a short run panic
// ---------------------------------------------------------------------------

/// Arrivals a 50 ms run would see, roughly; `None` when unknown.
fn arrivals_in_50ms(cfg: &archsim::model::Config) -> f64 {
    use archsim::model::client::ArrivalCfg;
    cfg.clients
        .iter()
        .map(|c| match &c.arrival {
            ArrivalCfg::Poisson(r) | ArrivalCfg::Constant(r) => r * 0.05,
            ArrivalCfg::Diurnal { mean, amplitude, .. } => mean * (1.0 + amplitude) * 0.05,
            ArrivalCfg::Schedule(steps) => steps.iter().map(|s| s.1).fold(0.0, f64::max) * 0.05,
            ArrivalCfg::Interarrival(s) => 5e7 / s.mean_ns().max(1.0),
            ArrivalCfg::Closed { users, .. } => f64::from(*users) * 1e3,
            _ => 0.0,
        })
        .sum()
}

fn panic_text(e: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = e.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = e.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic)".to_string()
    }
}

/// Mutations tried (each loads twice and, if valid, runs 50 ms).
const CASES: usize = 2000;

/// Mutate `base_text` CASES times; load, and run what loads, catching panics.
fn fuzz(base_text: &str, set_paths: &[&str], seed: u64) {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let opts = BuildOptions {
        max_in_flight: Some(10_000),
        ..Default::default()
    };
    let short: Vec<String> = vec!["duration=50ms".into(), "warmup=0s".into()];
    // The unmutated text loads and runs.
    let (_, cfg) = load_str("fuzz.yaml", base_text, base, &short, &opts)
        .unwrap_or_else(|e| panic!("the fuzz base must be valid:\n{e}"));
    let (rep, _) = archsim::run::run_replications(&cfg, 1, 1);
    assert!(rep.value("requests.offered").unwrap_or(0.0) > 0.0);

    let nasty = nasty_values();
    let mut rng = XorShift(seed);
    let mut panics: Vec<String> = Vec::new();
    let (mut loaded, mut ran, mut skipped) = (0, 0, 0);
    let started = std::time::Instant::now();
    // Quiet the default hook: failures are collected and reported below.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for case in 0..CASES {
        let mut text = base_text.to_string();
        let edits = match rng.below(10) {
            0..=6 => 1,
            7 | 8 => 2,
            _ => 3,
        };
        for _ in 0..edits {
            text = if case < CASES / 2 {
                mutate(&text, &mut rng, &nasty)
            } else {
                edge_edit(&text, &mut rng, &nasty)
            };
        }
        let plain = catch_unwind(AssertUnwindSafe(|| {
            load_str("fuzz.yaml", &text, base, &[], &BuildOptions::default()).map(|_| ())
        }));
        if let Err(e) = plain {
            panics.push(format!(
                "case {case}: load_str panicked: {}\n{text}",
                panic_text(&e)
            ));
            continue;
        }
        // One case in four also gets a random `--set`.
        let mut overrides = short.clone();
        if rng.below(4) == 0 {
            let path = set_paths[rng.below(set_paths.len())];
            let value = match rng.below(2) {
                0 => nasty[rng.below(nasty.len())].clone(),
                _ => {
                    let values = edge_values(path.rsplit('.').next().unwrap_or(""));
                    values[rng.below(values.len())].to_string()
                }
            };
            overrides.push(format!("{path}={value}"));
        }
        let short_load = catch_unwind(AssertUnwindSafe(|| {
            load_str("fuzz.yaml", &text, base, &overrides, &opts)
        }));
        let cfg = match short_load {
            Err(e) => {
                panics.push(format!(
                    "case {case}: load_str with overrides panicked: {}\n{text}",
                    panic_text(&e)
                ));
                continue;
            }
            Ok(Err(err)) => {
                // Errors must render (Display walks the source lines).
                let msg = catch_unwind(AssertUnwindSafe(|| err.to_string()));
                match msg {
                    Ok(m) => {
                        assert!(m.starts_with("error: "), "case {case}: {m}");
                        if std::env::var_os("FUZZ_DEBUG").is_some() {
                            eprintln!("{}", m.lines().next().unwrap_or(""));
                        }
                    }
                    Err(e) => panics.push(format!(
                        "case {case}: rendering the error panicked: {}\n{text}",
                        panic_text(&e)
                    )),
                }
                continue;
            }
            Ok(Ok((_, cfg))) => cfg,
        };
        loaded += 1;
        if arrivals_in_50ms(&cfg) > 50_000.0 {
            skipped += 1;
            continue;
        }
        let run = catch_unwind(AssertUnwindSafe(|| archsim::run::run_replications(&cfg, 7, 1)));
        match run {
            Ok(_) => ran += 1,
            Err(e) => panics.push(format!(
                "case {case}: the run panicked: {}\n{text}",
                panic_text(&e)
            )),
        }
    }
    std::panic::set_hook(hook);
    eprintln!(
        "fuzz: {loaded} of {CASES} mutations loaded, {ran} ran, {skipped} skipped as too heavy, {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        panics.is_empty(),
        "{} panics; first ones:\n{}",
        panics.len(),
        panics[..panics.len().min(3)].join("\n---\n")
    );
    // The mutations must not all be rejected, or the runs test nothing.
    assert!(ran >= CASES / 10, "only {ran} mutations ran");
}

#[test]
fn mutated_scenarios_never_panic() {
    fuzz(FUZZ_BASE, SET_PATHS, 0x9e37_79b9_7f4a_7c15);
}

#[test]
fn mutated_data_scenarios_never_panic() {
    fuzz(DATA_FUZZ_BASE, DATA_SET_PATHS, 0x2545_f491_4f6c_dd1d);
}

//! The guided tour (`docs/lessons.md`) and the bundled scenarios' headlines
//! agree with what archsim prints.
//!
//! Every bundled scenario names the metrics its question is about
//! (`headline:`), and each of them is in its report.json. Every step of the
//! tour says where to look; what it points at must be on the screen of the
//! command it gives: the headline block and the SLO lines of a run, the
//! table of a sweep. The commands are read from the document's fenced
//! blocks and the metric names from its prose; [`STEPS`] says which command
//! prints which name, and is checked against both, so neither the document
//! nor this table can drift alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use archsim::scenario::BuildOptions;

use crate::common::bin;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------
// Headlines
// ---------------------------------------------------------------------------

/// Run length and warm-up for the headline check: short, except where a
/// headline metric is reported only once the scenario's fault has happened
/// (a crash, a restore, a resharding).
fn headline_run(stem: &str) -> (&'static str, &'static str) {
    match stem {
        // Random crashes (mean 10 min apart): the first falls after 8 min.
        "availability-nines" => ("15m", "5s"),
        // rpo_s and rto_s: the disk is lost at 119 s.
        "backups-rpo-rto" => ("150s", "5s"),
        // keys_moved: the fifth shard is added at 60 s.
        "consistent-hashing-resharding" => ("90s", "5s"),
        // alerts.*.detection_s: the alerts fire after 2 and 5 min.
        "alerting" => ("8m", "30s"),
        // components.api.availability: replica 0 crashes at 5 min.
        "single-point-of-failure" => ("6m", "5s"),
        // replica_availability: replica 0 hangs at 125 s.
        "liveness-restarts" => ("150s", "5s"),
        // components.api.deploy.rollback_s: the canary is rolled back at 95 s.
        "canary-rollback" => ("100s", "5s"),
        _ => ("40s", "5s"),
    }
}

#[test]
fn every_bundled_scenario_names_headline_metrics_its_report_has() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for file in &files {
        let stem = file.file_stem().and_then(|s| s.to_str()).expect("utf-8 name");
        let loaded = archsim::scenario::load(file, &[], &BuildOptions::default())
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
        let declared = loaded.scenario.headline.clone();
        if declared.is_empty() {
            failures.push(format!(
                "{stem}: no `headline:`: name the report.json metrics its question is about"
            ));
            continue;
        }
        let (duration, warmup) = headline_run(stem);
        let dir = tmp.path().join(stem);
        let out = Command::new(bin())
            .arg("run")
            .arg(file)
            .args(["--duration", duration, "--set"])
            .arg(format!("warmup={warmup}"))
            .args(["--quiet", "--out"])
            .arg(&dir)
            .output()
            .expect("archsim runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stem}: archsim run failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json");
        let report: serde_json::Value = serde_json::from_str(&text).expect("report.json parses");
        let listed: Vec<&str> = report["headline"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if listed != declared.iter().map(String::as_str).collect::<Vec<_>>() {
            failures.push(format!(
                "{stem}: report.json's headline {listed:?} is not the file's {declared:?}"
            ));
        }
        let metrics = &report["metrics"];
        for m in &declared {
            // `error_ratio` is derived from availability when printed.
            let present = metrics.get(m.as_str()).is_some()
                || m.strip_suffix("error_ratio")
                    .is_some_and(|base| metrics.get(format!("{base}availability")).is_some());
            if !present {
                failures.push(format!(
                    "{stem}: headline metric `{m}` is not in report.json after a {duration} run"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// The tour
// ---------------------------------------------------------------------------

/// A command exactly as the document writes it, with the metric names the
/// step's prose points at that this command's output must show.
type Expect = (&'static str, &'static [&'static str]);

/// Each step of docs/lessons.md: its number and its commands.
const STEPS: &[(u32, &[Expect])] = &[
    (
        1,
        &[
            ("archsim explain scenarios/single-server.yaml", &[]),
            (
                "archsim run scenarios/single-server.yaml --explain",
                &[
                    "latency.mean_ms",
                    "components.api.wait.mean_ms",
                    "components.api.utilization",
                ],
            ),
        ],
    ),
    (
        2,
        &[
            (
                "archsim run scenarios/vertical-scaling.yaml",
                &["latency.p99_ms", "cost.total", "components.api.utilization"],
            ),
            (
                "archsim run scenarios/horizontal-scaling.yaml --explain",
                &["latency.p99_ms", "cost.total", "components.api.utilization"],
            ),
        ],
    ),
    (
        3,
        &[(
            "archsim run scenarios/load-balancing-algorithms.yaml",
            &["latency.p99_ms", "requests.in_flight"],
        )],
    ),
    (
        4,
        &[
            (
                "archsim run scenarios/capacity-planning.yaml",
                &["latency.p99_ms", "components.api.utilization", "cost.per_hour"],
            ),
            (
                "archsim sweep scenarios/capacity-planning.yaml --replications 1",
                &["latency.p99_ms", "components.api.utilization", "cost.per_hour"],
            ),
        ],
    ),
    (
        5,
        &[
            (
                "archsim run scenarios/single-point-of-failure.yaml",
                &["availability", "availability.downtime_s"],
            ),
            ("archsim run scenarios/health-checks.yaml", &["requests.failed"]),
            (
                "archsim run scenarios/lb-sinkholing.yaml",
                &["availability", "latency.p99_ms"],
            ),
        ],
    ),
    (
        6,
        &[(
            "archsim run scenarios/availability-nines.yaml",
            &[
                "components.api.availability",
                "availability",
                "availability.nines",
                "availability.downtime_s",
            ],
        )],
    ),
    (
        7,
        &[(
            "archsim run scenarios/stateful-vs-stateless.yaml",
            &["sessions.lost", "sessions.relogins"],
        )],
    ),
    (
        8,
        &[
            (
                "archsim run scenarios/caching-strategies.yaml",
                &[
                    "components.cache.hit_ratio",
                    "components.db.primary_utilization_max",
                    "consistency.stale_reads",
                ],
            ),
            (
                "archsim run scenarios/cache-eviction.yaml",
                &["components.cache.hit_ratio"],
            ),
            (
                "archsim run scenarios/cdn-static-content.yaml",
                &["components.edge.hit_ratio", "components.origin.utilization"],
            ),
        ],
    ),
    (
        9,
        &[
            (
                "archsim run scenarios/read-replicas.yaml",
                &[
                    "latency.mean_ms",
                    "components.db.primary_utilization_max",
                    "components.db.follower_utilization_mean",
                ],
            ),
            (
                "archsim run scenarios/replication-lag-stale-reads.yaml",
                &["components.db.stale_read_ratio", "components.db.write.mean_ms"],
            ),
        ],
    ),
    (
        10,
        &[
            (
                "archsim run scenarios/sharding-strategies.yaml",
                &["components.db.shard_load_cv", "components.db.hottest_shard_share"],
            ),
            (
                "archsim run scenarios/hot-key.yaml",
                &["components.db.hottest_shard_share", "latency.p99_ms"],
            ),
            (
                "archsim run scenarios/consistent-hashing-resharding.yaml",
                &["components.db.keys_moved", "components.db.shard_load_cv"],
            ),
        ],
    ),
    (
        11,
        &[
            (
                "archsim run scenarios/async-queue.yaml",
                &["latency.p99_ms", "components.email_jobs.end_to_end.p99_ms"],
            ),
            (
                "archsim run scenarios/load-levelling.yaml",
                &[
                    "components.orders.depth_max",
                    "components.orders.end_to_end.p99_ms",
                    "availability",
                    "components.worker.rejected",
                ],
            ),
        ],
    ),
    (
        12,
        &[
            (
                "archsim sweep scenarios/batching.yaml",
                &[
                    "components.ingest.end_to_end.mean_ms",
                    "components.ingest.end_to_end.p99_ms",
                    "components.ingest.batch_size_mean",
                    "components.writer.utilization",
                ],
            ),
            (
                "archsim run scenarios/microservice-fanout.yaml --explain",
                &["components.catalog.sojourn.mean_ms", "latency.p99_ms"],
            ),
            (
                "archsim run scenarios/microservice-fanout.yaml --duration 40s --trace output/fanout-trace.jsonl --trace-filter sample=0.01",
                &[],
            ),
        ],
    ),
    (
        13,
        &[
            (
                "archsim run scenarios/autoscaling-reactive.yaml",
                &["availability", "latency.p99_ms", "components.hpa.replicas_max"],
            ),
            (
                "archsim sweep scenarios/black-friday.yaml",
                &["cost.total", "availability", "latency.p99_ms"],
            ),
            (
                "archsim sweep scenarios/autoscaling-scheduled-vs-predictive.yaml",
                &["cost.total", "availability", "latency.p99_ms"],
            ),
        ],
    ),
    (
        14,
        &[
            (
                "archsim run scenarios/retry-storm.yaml",
                &[
                    "availability",
                    "requests.retries",
                    "components.api.wasted_work_ratio",
                ],
            ),
            (
                "archsim run scenarios/retry-storm.yaml --set 'clients.users.retry={max: 4, backoff: {exponential: {base: 100ms, cap: 5s}}, jitter: full, budget: 0.1}'",
                &[
                    "availability",
                    "requests.retries",
                    "components.api.wasted_work_ratio",
                ],
            ),
            (
                "archsim sweep scenarios/circuit-breaker.yaml",
                &["availability", "components.frontend.rejected"],
            ),
            (
                "archsim sweep scenarios/timeout-cascade.yaml",
                &["clients.browsers.availability", "clients.buyers.availability"],
            ),
            (
                "archsim sweep scenarios/cache-failure.yaml",
                &["availability", "components.db.utilization"],
            ),
        ],
    ),
    (
        15,
        &[(
            "archsim sweep scenarios/idempotency.yaml",
            &["data.duplicate_writes", "requests.retries", "availability"],
        )],
    ),
    (
        16,
        &[
            (
                "archsim run scenarios/database-failover.yaml",
                &["components.db.lost_writes", "components.db.failed"],
            ),
            (
                "archsim sweep scenarios/cap-partition.yaml",
                &[
                    "clients.eu_users.availability",
                    "consistency.stale_reads",
                    "data.lost_writes",
                ],
            ),
            (
                "archsim sweep scenarios/quorum-tuning.yaml",
                &[
                    "components.db.stale_reads",
                    "components.db.read.mean_ms",
                    "components.db.write.mean_ms",
                ],
            ),
        ],
    ),
    (
        17,
        &[(
            "archsim sweep scenarios/rate-limiting.yaml",
            &["clients.shoppers.availability", "clients.scraper.availability"],
        )],
    ),
    (
        18,
        &[
            (
                "archsim run scenarios/multi-region-geodns.yaml",
                &[
                    "clients.us_users.latency.mean_ms",
                    "clients.us_users.availability",
                    "clients.eu_users.availability",
                ],
            ),
            (
                "archsim run scenarios/region-outage.yaml",
                &[
                    "clients.us_users.availability",
                    "clients.eu_users.availability",
                    "components.db.lost_writes",
                ],
            ),
        ],
    ),
    (
        19,
        &[(
            "archsim sweep scenarios/backups-rpo-rto.yaml",
            &[
                "components.db.lost_writes",
                "components.db.rpo_s",
                "components.db.rto_s",
            ],
        )],
    ),
    (
        20,
        &[
            (
                "archsim run scenarios/which-tier-to-scale.yaml",
                &[
                    "latency.p99_ms",
                    "breakdown.db.queue.mean_ms",
                    "breakdown.api.queue.mean_ms",
                    "components.db.primary_utilization_max",
                ],
            ),
            (
                "archsim run scenarios/which-tier-to-scale.yaml --set components.db.cores=2",
                &["latency.p99_ms"],
            ),
        ],
    ),
    (
        21,
        &[
            (
                "archsim sweep scenarios/caching-strategies.yaml --png",
                &["components.cache.hit_ratio"],
            ),
            (
                "archsim explain scenarios/caching-strategies.yaml --format dot",
                &[],
            ),
        ],
    ),
    (
        22,
        &[
            (
                "archsim plan scenarios/capacity-planning.yaml",
                &["latency.p99_ms"],
            ),
            (
                "archsim plan scenarios/fewest-replicas.yaml",
                &["latency.p99_ms", "availability"],
            ),
            (
                "archsim plan scenarios/cheapest-scaling.yaml",
                &["latency.p99_ms"],
            ),
            ("archsim plan scenarios/growth-headroom.yaml", &["latency.p99_ms"]),
        ],
    ),
    (
        23,
        &[
            ("archsim run scenarios/large-fleet.yaml", &["latency.p99_ms"]),
            (
                "archsim run scenarios/large-fleet.yaml --set components.lb.algorithm=round_robin",
                &["latency.p99_ms"],
            ),
            (
                "archsim run scenarios/large-fleet.yaml --set network.latency=0ms",
                &["latency.p99_ms"],
            ),
        ],
    ),
    (
        24,
        &[
            (
                "archsim sweep scenarios/capacity-planning.yaml --shards 8 --tasks 4 --emit local",
                &[],
            ),
            (
                "archsim sweep scenarios/capacity-planning.yaml --shards 8 --tasks 4 --emit slurm",
                &[],
            ),
            (
                "archsim sweep scenarios/capacity-planning.yaml --shards 8 --tasks 4 --emit local --missing",
                &[],
            ),
        ],
    ),
    (
        25,
        &[
            (
                "archsim run scenarios/raft-leader-election.yaml",
                &[
                    "components.db.raft.election.mean_ms",
                    "components.db.raft.unavailable_s",
                    "components.db.raft.elections",
                    "availability",
                    "components.db.raft.commit_latency.p99_ms",
                ],
            ),
            (
                "archsim sweep scenarios/raft-leader-election.yaml",
                &["components.db.raft.commit_latency.p99_ms"],
            ),
            (
                "archsim run scenarios/raft-leader-election.yaml --set 'components.db.replication.raft.election_timeout=[150ms, 155ms]'",
                &["components.db.raft.elections"],
            ),
        ],
    ),
    (
        26,
        &[
            (
                "archsim run scenarios/raft-partition.yaml",
                &[
                    "components.db.raft.quorum_losses",
                    "components.db.raft.lost_committed_writes",
                    "consistency.stale_reads",
                    "clients.b_users.availability",
                    "clients.a_users.availability",
                    "components.db.raft.discarded_entries",
                    "components.db.raft.elections",
                ],
            ),
            (
                "archsim run scenarios/raft-partition.yaml --set components.db.replication.raft.pre_vote=true",
                &["components.db.raft.elections"],
            ),
            ("archsim sweep scenarios/raft-partition.yaml", &[]),
        ],
    ),
    (
        27,
        &[
            (
                "archsim sweep scenarios/consistency-models.yaml",
                &[
                    "components.db.stale_read_ratio",
                    "components.db.session.ryw_violations",
                    "components.db.session.monotonic_violations",
                    "components.db.read.mean_ms",
                    "components.db.session.waits",
                ],
            ),
            (
                "archsim run scenarios/consistency-models.yaml --set components.db.session.strategy=route",
                &["components.db.read.mean_ms", "components.db.session.fallbacks"],
            ),
        ],
    ),
    (
        28,
        &[
            (
                "archsim sweep scenarios/re-replication.yaml",
                &[
                    "components.db.data_loss_events",
                    "components.db.under_replicated_fraction",
                    "components.db.nodes_lost",
                ],
            ),
            ("archsim explain scenarios/re-replication.yaml", &[]),
        ],
    ),
    (
        29,
        &[
            (
                "archsim sweep scenarios/rolling-deploy.yaml",
                &[
                    "components.api.deploy.duration_s",
                    "components.api.deploy.capacity_min",
                    "availability",
                    "latency.p99_ms",
                ],
            ),
            ("archsim explain scenarios/rolling-deploy.yaml", &[]),
        ],
    ),
    (
        30,
        &[
            (
                "archsim run scenarios/canary-rollback.yaml",
                &[
                    "components.api.deploy.rolled_back",
                    "components.api.deploy.rollback_s",
                    "components.api.deploy.errors",
                    "requests.failed",
                    "availability",
                ],
            ),
            ("archsim sweep scenarios/canary-rollback.yaml", &[]),
        ],
    ),
    (
        31,
        &[
            (
                "archsim sweep scenarios/liveness-restarts.yaml",
                &[
                    "requests.timed_out",
                    "requests.rejected",
                    "components.api.probes.detection_mean_s",
                    "components.api.replica_availability",
                ],
            ),
            (
                "archsim run scenarios/liveness-restarts.yaml --set components.api.startup_time=60s",
                &["components.api.probes.restarts"],
            ),
            ("archsim explain scenarios/liveness-restarts.yaml", &[]),
        ],
    ),
    (
        32,
        &[
            (
                "archsim run scenarios/l4-vs-l7.yaml",
                &[
                    "availability",
                    "latency.p99_ms",
                    "components.api.rejected",
                    "components.api.load_cv_mean",
                ],
            ),
            (
                "archsim run scenarios/l4-vs-l7.yaml --set components.lb.layer=7",
                &["components.api.load_cv_mean"],
            ),
            (
                "archsim run scenarios/l4-vs-l7.yaml --set clients.app.connections.lifetime=1m",
                &[],
            ),
            ("archsim sweep scenarios/l4-vs-l7.yaml", &[]),
        ],
    ),
    (
        33,
        &[
            (
                "archsim run scenarios/service-discovery.yaml",
                &[
                    "clients.web.requests.failed",
                    "clients.web.availability",
                    "clients.mobile.requests.failed",
                    "clients.mobile.availability",
                ],
            ),
            ("archsim sweep scenarios/service-discovery.yaml", &[]),
        ],
    ),
    (
        34,
        &[
            (
                "archsim run scenarios/bulkheads.yaml",
                &[
                    "clients.browsers.availability",
                    "components.api.rejected",
                    "components.api.bulkhead.payments.rejected",
                ],
            ),
            (
                "archsim run scenarios/bulkheads.yaml --set components.api.calls.0.bulkhead.max_concurrent=100",
                &["clients.browsers.availability", "components.api.rejected"],
            ),
            ("archsim sweep scenarios/bulkheads.yaml", &[]),
            ("archsim explain scenarios/bulkheads.yaml", &[]),
        ],
    ),
    (
        35,
        &[
            (
                "archsim run scenarios/alerting.yaml",
                &[
                    "alerts.noisy.fired",
                    "alerts.noisy.detection_s",
                    "alerts.page.fired",
                    "alerts.page.detection_s",
                ],
            ),
            (
                "archsim sweep scenarios/alerting.yaml",
                &["alerts.page.detection_s", "alerts.page.fired"],
            ),
        ],
    ),
];

/// One numbered step of the tour: its commands and its prose.
struct Step {
    number: u32,
    commands: Vec<String>,
    prose: String,
}

/// The numbered steps (`## N. Title`) of docs/lessons.md; an `archsim`
/// line inside a fenced block is a command, the rest is prose.
fn steps(text: &str) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if let Some(head) = line.strip_prefix("## ") {
            fenced = false;
            let number = head.split_once(". ").and_then(|(n, _)| n.parse().ok());
            if let Some(number) = number {
                out.push(Step {
                    number,
                    commands: Vec::new(),
                    prose: String::new(),
                });
            } else {
                // "Where next" and the like end the last step.
                out.push(Step {
                    number: 0,
                    commands: Vec::new(),
                    prose: String::new(),
                });
            }
            continue;
        }
        let Some(step) = out.last_mut() else { continue };
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced {
            if line.trim_start().starts_with("archsim ") {
                step.commands.push(line.trim().to_string());
            }
        } else {
            step.prose.push_str(line);
            step.prose.push(' ');
        }
    }
    out.retain(|s| s.number > 0);
    out
}

/// The metric names a step's prose points at: code spans that read as a
/// report.json name (not a file, a flag or a YAML fragment).
fn metric_names(prose: &str) -> Vec<String> {
    const PREFIXES: &[&str] = &[
        "latency.",
        "availability",
        "throughput_rps",
        "error_ratio",
        "requests.",
        "consistency.",
        "data.",
        "sessions.",
        "cost.",
        "components.",
        "clients.",
        "breakdown.",
        "alerts.",
    ];
    const FILES: &[&str] = &[".svg", ".png", ".csv", ".html", ".json", ".jsonl", ".yaml", ".md"];
    let mut names: Vec<String> = Vec::new();
    for (i, span) in prose.split('`').enumerate() {
        // Odd pieces are inside backticks.
        if i % 2 == 0 || span.contains(char::is_whitespace) || span.contains('=') {
            continue;
        }
        if FILES.iter().any(|f| span.ends_with(f)) {
            continue;
        }
        let metric = PREFIXES.iter().any(|p| span.starts_with(p)) || span.starts_with('.');
        if metric && !names.iter().any(|n| n == span) {
            names.push(span.to_string());
        }
    }
    names
}

/// Split a command line as a shell would: whitespace separates words,
/// single or double quotes keep theirs together.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// A command of the tour made short and private: 20 s with a 2 s warm-up,
/// one replication a sweep point, its folder (and trace) in `dir`; a plan
/// only gets its folder in `dir`.
fn shortened(line: &str, dir: &Path) -> Vec<String> {
    let w = words(line);
    assert_eq!(w.first().map(String::as_str), Some("archsim"), "{line}");
    let sub = w.get(1).cloned().unwrap_or_default();
    let mut args: Vec<String> = Vec::new();
    let mut it = w.into_iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--duration" | "--out" | "--replications" => {
                it.next();
            }
            "--trace" => {
                it.next();
                args.push(a);
                args.push(dir.join("trace.jsonl").display().to_string());
            }
            _ => args.push(a),
        }
    }
    if sub == "run" || sub == "sweep" {
        args.extend(["--duration", "20s", "--set", "warmup=2s", "--force", "--out"].map(String::from));
        args.push(dir.join("out").display().to_string());
    }
    if sub == "sweep" {
        args.extend(["--replications", "1"].map(String::from));
    }
    // A plan keeps its file's duration and replications (its answer needs
    // them; the four of step 22 take about 40 s on 2 cores together).
    if sub == "plan" {
        args.extend(["--force", "--out"].map(String::from));
        args.push(dir.join("out").display().to_string());
    }
    args
}

#[test]
fn every_lesson_step_points_at_what_its_commands_print() {
    let text = std::fs::read_to_string(root().join("docs").join("lessons.md")).expect("docs/lessons.md");
    let doc = steps(&text);
    let numbers: Vec<u32> = doc.iter().map(|s| s.number).collect();
    let table: Vec<u32> = STEPS.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, table, "the steps of docs/lessons.md against STEPS");

    let tmp = tempfile::tempdir().expect("temp dir");
    let mut failures = Vec::new();
    for (step, (_, expected)) in doc.iter().zip(STEPS) {
        let n = step.number;
        let listed: Vec<&str> = expected.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            step.commands, listed,
            "step {n}: the commands of docs/lessons.md against STEPS"
        );
        // Every name the prose points at is one a command must print.
        for name in metric_names(&step.prose) {
            if name.starts_with('.') {
                failures.push(format!(
                    "step {n}: write `{name}` in full, as the output prints it"
                ));
            } else if !expected.iter().any(|(_, ms)| ms.contains(&name.as_str())) {
                failures.push(format!(
                    "step {n}: the prose points at `{name}`, which STEPS gives to no command"
                ));
            }
        }
        let mut outputs = Vec::new();
        for (i, (line, metrics)) in expected.iter().enumerate() {
            let dir = tmp.path().join(format!("step{n}-{i}"));
            std::fs::create_dir_all(&dir).expect("temp folder");
            let args = shortened(line, &dir);
            let out = Command::new(bin())
                .args(&args)
                .current_dir(root())
                .output()
                .expect("archsim runs");
            let stdout = String::from_utf8_lossy(&out.stdout).to_string();
            if out.status.code() != Some(0) {
                failures.push(format!(
                    "step {n}: `{line}` failed ({:?}):\n{}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
            let printed: Vec<&str> = stdout.split_whitespace().collect();
            for m in *metrics {
                if !printed.contains(m) {
                    let what = if args.first().is_some_and(|a| a == "sweep") {
                        "the sweep's table (its columns should be the scenario's headline metrics)"
                    } else {
                        "the run's headline block or SLO lines"
                    };
                    failures.push(format!("step {n}: `{line}`: `{m}` is not in {what}"));
                }
            }
            outputs.push(stdout);
        }
        // A step that speaks of the headline block or of an SLO verdict
        // shows one.
        for (word, starts) in [("Headline", "Headline"), ("SLO", "SLO ")] {
            if step.prose.contains(word) && !outputs.iter().any(|o| o.lines().any(|l| l.starts_with(starts)))
            {
                failures.push(format!(
                    "step {n}: the prose speaks of the {word} lines, which no command of the step prints"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn command_lines_split_like_a_shell() {
    assert_eq!(
        words("archsim run f.yaml --set 'a={b: 1, c: 2}' --x \"y z\""),
        [
            "archsim",
            "run",
            "f.yaml",
            "--set",
            "a={b: 1, c: 2}",
            "--x",
            "y z"
        ]
    );
    let names = metric_names(
        "`latency.p99_ms` and `availability.svg`, `--set a=b`, `.p99_ms`, `slo: { x }`, `components.db.shard[0].utilization`",
    );
    assert_eq!(
        names,
        ["latency.p99_ms", ".p99_ms", "components.db.shard[0].utilization"]
    );
}

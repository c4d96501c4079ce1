//! The human-readable summary printed after a run and saved as `summary.txt`.

use std::fmt::Write;

use crate::run::Report;

/// Format a metric with its interval, e.g. `12.31 ± 0.40`.
fn val(r: &Report, k: &str, digits: usize) -> String {
    match r.metrics.get(k) {
        None => "-".to_string(),
        Some(m) => match m.ci95 {
            Some(ci) if r.replications > 1 => format!("{:.*} ±{:.*}", digits, m.value, digits, ci),
            _ => format!("{:.*}", digits, m.value),
        },
    }
}

fn money(r: &Report, k: &str) -> String {
    r.metrics
        .get(k)
        .map(|m| super::answers::fmt_value(k, m, r.replications))
        .unwrap_or_else(|| "-".into())
}

fn count(r: &Report, k: &str) -> String {
    r.value(k)
        .map(|v| format!("{:.0}", v))
        .unwrap_or_else(|| "-".into())
}

/// The summary: the answer first (overload, SLO verdicts, the scenario's
/// headline metrics), then the run's identity, the request accounting,
/// latency and cost, a row per component, the data tier, notes.
/// `components` lists names and kinds in file order.
pub fn render(r: &Report, description: &str, components: &[(String, &str)]) -> String {
    let mut s = String::new();
    let first = first_sentence(description);
    if first.is_empty() {
        let _ = writeln!(s, "{}", r.scenario);
    } else {
        let _ = writeln!(s, "{}: {first}", r.scenario);
    }
    if let Some(n) = r.notes.iter().find(|n| n.starts_with("UNSTABLE")) {
        let _ = writeln!(
            s,
            "OVERLOADED: {}{} The numbers below describe a system that cannot keep up.",
            n.trim_start_matches("UNSTABLE:").trim(),
            if n.trim_end().ends_with('.') { "" } else { "." }
        );
    }
    for line in super::answers::slo_lines(&r.slo, r.replications) {
        let _ = writeln!(s, "{line}");
    }
    if !r.headline.is_empty() {
        let _ = writeln!(s, "Headline");
        for line in super::answers::headline_lines(r) {
            let _ = writeln!(s, "{line}");
        }
    }
    for line in super::answers::alert_lines(r) {
        let _ = writeln!(s, "{line}");
    }
    let _ = writeln!(s);
    let reps = if r.replications == 1 {
        "1 replication".to_string()
    } else {
        format!("{} replications, ± = 95% interval", r.replications)
    };
    let _ = writeln!(
        s,
        "archsim {} · {} · seed {} · {} · {} s simulated, {} s warm-up",
        r.archsim_version, r.scenario, r.seed, reps, r.duration_s, r.warmup_s
    );
    let _ = writeln!(
        s,
        "Requests     offered {} = completed {} + failed {} + rejected {} + timed out {} + in flight {}",
        count(r, "requests.offered"),
        count(r, "requests.completed"),
        count(r, "requests.failed"),
        count(r, "requests.rejected"),
        count(r, "requests.timed_out"),
        count(r, "requests.in_flight"),
    );
    if let Some(b) = r.value("requests.backlog_at_end").filter(|b| *b >= 0.5) {
        let counted = r.value("requests.in_flight").unwrap_or(0.0);
        let _ = writeln!(
            s,
            "             backlog in flight when the clock stopped: {b:.0}{}",
            if counted >= 0.5 {
                " (counted as not served: the run ended overloaded)"
            } else {
                " (all settled in the drain: the run was stable)"
            }
        );
    }
    let avail = r
        .metrics
        .get("availability")
        .map(|m| match m.ci95 {
            Some(ci) if r.replications > 1 => format!("{:.4}% ±{:.4}", m.value * 100.0, ci * 100.0),
            _ => format!("{:.4}%", m.value * 100.0),
        })
        .unwrap_or_else(|| "-".into());
    let _ = writeln!(
        s,
        "Throughput   {} req/s    Availability {}",
        val(r, "throughput_rps", 1),
        avail
    );
    let _ = writeln!(
        s,
        "Latency ms   mean {}  p50 {}  p90 {}  p95 {}  p99 {}  p99.9 {}  max {}",
        val(r, "latency.mean_ms", 2),
        val(r, "latency.p50_ms", 2),
        val(r, "latency.p90_ms", 2),
        val(r, "latency.p95_ms", 2),
        val(r, "latency.p99_ms", 2),
        val(r, "latency.p999_ms", 2),
        val(r, "latency.max_ms", 2),
    );
    // Money only when the scenario sets prices (cost.per_hour is reported
    // only then).
    if r.metrics.contains_key("cost.per_hour") {
        let _ = writeln!(
            s,
            "Cost         {} for the run · {} per hour · {} per 30-day month",
            money(r, "cost.total"),
            money(r, "cost.per_hour"),
            money(r, "cost.per_month"),
        );
    }
    let time = super::breakdown::summary_lines(r, 4);
    if !time.is_empty() {
        let _ = writeln!(s);
        for line in time {
            let _ = writeln!(s, "{line}");
        }
    }
    let _ = writeln!(s);
    let w = components.iter().map(|(n, _)| n.len()).max().unwrap_or(9).max(9);
    let _ = writeln!(
        s,
        "{:<w$}  {:<13}  {:>7}  {:>10}  {:>10}  {:>10}  {:>8}",
        "component", "kind", "util %", "queue", "wait ms", "req/s", "rejected"
    );
    for (name, kind) in components {
        let p = format!("components.{name}.");
        // A database's row shows its busiest primary: averaging a
        // saturated primary with idle followers would hide the bottleneck.
        let util = r
            .value(&format!("{p}primary_utilization_max"))
            .or_else(|| r.value(&format!("{p}utilization")))
            .map(|u| format!("{:.1}", u * 100.0))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "{:<w$}  {:<13}  {:>7}  {:>10}  {:>10}  {:>10}  {:>8}",
            name,
            kind,
            util,
            if kind == &"queue" {
                val(r, &format!("{p}depth_mean"), 2)
            } else {
                val(r, &format!("{p}queue_length_mean"), 2)
            },
            val(r, &format!("{p}wait.mean_ms"), 2),
            val(r, &format!("{p}throughput_rps"), 1),
            count(r, &format!("{p}rejected")),
        );
    }
    // The data tier: what the table's queueing columns do not show.
    let mut data = Vec::new();
    for (name, kind) in components {
        let p = format!("components.{name}.");
        let v = |k: &str| r.value(&format!("{p}{k}"));
        match *kind {
            "cache" | "cdn" => data.push(format!(
                "{name}: hit ratio {}, evictions {}, stale reads {}{}",
                val(r, &format!("{p}hit_ratio"), 3),
                count(r, &format!("{p}evictions")),
                count(r, &format!("{p}stale_reads")),
                v("dirty_mean")
                    .map(|d| format!(", unflushed writes (mean) {d:.1}"))
                    .unwrap_or_default()
            )),
            "database" | "consensus" => {
                let mut line = format!(
                    "{name}: shards {}, reads {}, writes {}, stale reads {}",
                    count(r, &format!("{p}shards")),
                    count(r, &format!("{p}reads")),
                    count(r, &format!("{p}writes")),
                    count(r, &format!("{p}stale_reads")),
                );
                if let Some(u) = v("primary_utilization_max") {
                    line.push_str(&format!(", utilization: busiest primary {:.1}%", u * 100.0));
                    if let Some(m) = v("primary_utilization_mean") {
                        line.push_str(&format!(", primaries mean {:.1}%", m * 100.0));
                    }
                    if let Some(f) = v("follower_utilization_mean") {
                        line.push_str(&format!(", followers mean {:.1}%", f * 100.0));
                    }
                }
                if let Some(lag) = v("replication_lag.mean_ms") {
                    line.push_str(&format!(", replication lag {lag:.1} ms"));
                }
                if let Some(n) = v("raft.members") {
                    line.push_str(&format!(
                        ", raft {n:.0} members: {} elections, {:.3} s without a leader, commit p99 {} ms, \
                         committed writes lost {}, safety violations {}",
                        count(r, &format!("{p}raft.elections")),
                        v("raft.unavailable_s").unwrap_or(0.0),
                        val(r, &format!("{p}raft.commit_latency.p99_ms"), 3),
                        count(r, &format!("{p}raft.lost_committed_writes")),
                        count(r, &format!("{p}raft.safety_violations")),
                    ));
                }
                if let (Some(cv), Some(hot)) = (v("shard_load_cv"), v("hottest_shard_share")) {
                    line.push_str(&format!(", shard load CV {cv:.2} (busiest {:.0}%)", hot * 100.0));
                }
                if let Some(m) = v("keys_moved") {
                    line.push_str(&format!(", keys moved {:.1}%", m * 100.0));
                }
                data.push(line);
            }
            "autoscaler" => data.push(format!(
                "{name}: {} scaling actions, serving replicas {}–{} (mean {}, {} at the end){}",
                count(r, &format!("{p}scale_events")),
                count(r, &format!("{p}replicas_min")),
                count(r, &format!("{p}replicas_max")),
                val(r, &format!("{p}replicas_mean"), 1),
                count(r, &format!("{p}replicas_final")),
                if r.metrics.contains_key("cost.per_hour") {
                    format!(", cost {}", money(r, "cost.total"))
                } else {
                    String::new()
                },
            )),
            "queue" => data.push(format!(
                "{name}: depth mean {} (max {}), end-to-end mean {} ms, p99 {} ms, lost messages {}, dead-lettered {}",
                val(r, &format!("{p}depth_mean"), 2),
                count(r, &format!("{p}depth_max")),
                val(r, &format!("{p}end_to_end.mean_ms"), 1),
                val(r, &format!("{p}end_to_end.p99_ms"), 1),
                count(r, &format!("{p}lost_messages")),
                count(r, &format!("{p}dead_lettered")),
            )),
            _ => {}
        }
    }
    if !data.is_empty() {
        let _ = writeln!(s);
        for line in data {
            let _ = writeln!(s, "{line}");
        }
        if let (Some(stale), Some(ratio)) = (
            r.value("consistency.stale_reads"),
            r.value("consistency.stale_read_ratio"),
        ) {
            let _ = writeln!(
                s,
                "Consistency  stale reads {stale:.0} ({:.3}% of reads served by caches and databases), lost writes {}",
                ratio * 100.0,
                count(r, "data.lost_writes")
            );
        }
    }
    if !r.notes.is_empty() {
        let _ = writeln!(s);
        for n in &r.notes {
            let _ = writeln!(s, "! {n}");
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Simulated {} events in {:.2} s ({:.1} M events/s).",
        count(r, "sim.events"),
        r.value("sim.wall_s").unwrap_or(0.0),
        r.value("sim.events_per_s").unwrap_or(0.0) / 1e6
    );
    s
}

/// The description's first sentence, on one line.
fn first_sentence(description: &str) -> String {
    let flat = description.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(i) => flat[..=i].to_string(),
        None => flat,
    }
}

/// Predicted next to simulated, per tier and overall (`archsim run
/// --explain`).
pub fn versus_theory(
    sc: &crate::scenario::Scenario,
    cfg: &crate::model::Config,
    rep: &crate::run::Report,
) -> String {
    use std::fmt::Write as _;
    let p = crate::explain::predict(sc, cfg);
    let mut s = String::from("Theory against simulation\n");
    let w = p.tiers.iter().map(|t| t.name.len()).max().unwrap_or(9).max(9);
    let _ = writeln!(
        s,
        "{:<w$}  {:>14}  {:>14}  {:>18}  {:>18}",
        "component", "util % theory", "util % sim", "own ms theory", "own ms sim (leaves)"
    );
    let f = |v: Option<f64>, k: f64| v.map_or_else(|| "-".to_string(), |x| format!("{:.2}", x * k));
    for t in &p.tiers {
        let sim_u = rep.value(&format!("components.{}.utilization", t.name));
        // A service's simulated sojourn includes its downstream calls;
        // theory's response is its own wait and work: compare leaves only.
        let leaf = cfg.components.iter().any(
            |c| matches!(c, crate::model::CompCfg::Service(sv) if sv.name == t.name && sv.calls.is_empty()),
        );
        let sim_r = rep
            .value(&format!("components.{}.sojourn.mean_ms", t.name))
            .filter(|_| leaf);
        let _ = writeln!(
            s,
            "{:<w$}  {:>14}  {:>14}  {:>18}  {:>18}",
            t.name,
            f(t.utilization, 100.0),
            f(sim_u, 100.0),
            f(t.response_ms, 1.0),
            f(sim_r, 1.0)
        );
    }
    // Per request: theory's wait and service × visits per request; the
    // simulated queue and service on the critical path (`breakdown.*`).
    let _ = writeln!(
        s,
        "Per request: theory's wait and service × visits; simulated, the critical path's (breakdown.*)"
    );
    let _ = writeln!(
        s,
        "{:<w$}  {:>14}  {:>14}  {:>18}  {:>18}",
        "component", "wait ms theory", "queue ms sim", "service ms theory", "service ms sim"
    );
    for t in p
        .tiers
        .iter()
        .filter(|t| t.response_ms.is_some() && p.offered > 0.0)
    {
        let visits = (t.reads + t.writes) / p.offered;
        let service = t.response_ms.map(|r| r - t.wait_ms.unwrap_or(0.0));
        let sim = |c: &str| rep.value(&format!("breakdown.{}.{c}.mean_ms", t.name));
        let _ = writeln!(
            s,
            "{:<w$}  {:>14}  {:>14}  {:>18}  {:>18}",
            t.name,
            f(t.wait_ms, visits),
            f(sim("queue"), 1.0),
            f(service, visits),
            f(sim("service"), 1.0)
        );
    }
    if let (Some(l), Some(sim)) = (p.latency_ms, rep.value("latency.mean_ms"))
        && l > 0.0
    {
        let _ = writeln!(
            s,
            "mean latency: theory {l:.2} ms, simulated {sim:.2} ms ({:+.1}%): where they part, look for what theory leaves out (parallel calls, faults, retries, skew, bursts, a database spread over regions)",
            (sim - l) / l * 100.0
        );
    }
    s
}

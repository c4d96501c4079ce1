//! Re-replication and durability against the renewal formulas of
//! `archsim::theory::Rereplication`.
//!
//! # Method
//!
//! Each node slot of a shard is an alternating renewal process (Ross 1996,
//! *Stochastic Processes*, §3.4.1): complete for Exp(λ), λ = 1/mtbf, then
//! incomplete for D (`replace_after`) plus the time until a copy of length
//! R = data ÷ bandwidth meets no loss. Its stationary incomplete fraction is
//! q = 1 − e^{−λR}/(1 + λD); the slots are independent, so a shard of n
//! copies is under-replicated a fraction 1 − (1 − q)ⁿ of the time and loses
//! its data at rate n·λ·(1 − q)·q^{n−1}.
//!
//! The runs have many shards (2,000) × n nodes with `{ random: db, mtbf }`
//! losses and a trickle client (the events are the losses and rebuilds, not
//! requests). A slot starts complete and reaches the stationary regime in a
//! few 1/λ: the warm-up is 2/λ. Time fractions and mean rebuild times are
//! checked with a 99.9% Student-t interval over the replications; the
//! data-loss count, a sum of rare events over many independent shards, is
//! Poisson: the prediction must lie within 3.29·√μ (99.9%) of the count.

use archsim::theory::Rereplication;

use crate::common::{per_rep, run_yaml};

/// Shards of the statistical runs.
const SHARDS: u32 = 2_000;
/// Mean time between losses of a node, s.
const MTBF: f64 = 1_000.0;
/// Copy time: 3 GB at 100 MB/s.
const COPY: f64 = 30.0;
/// Time until a replacement starts copying, s.
const REPLACE_AFTER: f64 = 20.0;
/// Run length and warm-up, s.
const DURATION: f64 = 20_000.0;
const WARMUP: f64 = 2_000.0;
/// Two-sided 99.9% normal quantile.
const Z999: f64 = 3.29;

fn yaml(replicas: u32) -> String {
    format!(
        "
name: rereplication
duration: {DURATION}s
warmup: {WARMUP}s
clients:
  app:
    arrival: {{ poisson: 1/s }}
    target: db
    requests: {{ read: 0.5, write: 0.5 }}
    keys: {{ uniform: 4000 }}
components:
  db:
    kind: database
    shards: {SHARDS}
    replicas: {replicas}
    read_time: 1ms
    rereplication: {{ data: 3GB, bandwidth: 100MB/s, replace_after: {REPLACE_AFTER}s }}
faults:
  - {{ random: db, mtbf: {MTBF}s }}
"
    )
}

fn model(copies: u32) -> Rereplication {
    Rereplication {
        mttf: MTBF,
        copy: COPY,
        replace_after: REPLACE_AFTER,
        copies,
    }
}

/// Mean and 99.9% Student-t half-width.
fn interval(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = archsim::stats::student_t_quantile(0.9995, n - 1.0);
    (mean, t * (var / n).sqrt())
}

/// A count of rare independent events against its Poisson prediction.
fn assert_poisson(label: &str, count: f64, predicted: f64) {
    let half = Z999 * predicted.sqrt();
    println!("[rereplication] {label}: predicted {predicted:.1} ± {half:.1} (99.9%), simulated {count}");
    assert!(
        (count - predicted).abs() <= half,
        "{label}: {count} events, predicted {predicted:.1} ± {half:.1} (Poisson, 99.9%)"
    );
}

#[test]
fn three_copies_match_the_renewal_formulas_and_two_lose_an_order_of_magnitude_more() {
    let reps = 5;
    let m3 = model(3);
    let q = m3.q().unwrap();
    // 1 − e^{−0.03}/1.02: a few per cent.
    assert!((0.04..0.06).contains(&q), "q = {q}");
    let window = DURATION - WARMUP;

    let (_, outs) = run_yaml(&yaml(2), 24, reps);
    let (mean, half) = interval(&per_rep(&outs, "components.db.under_replicated_fraction"));
    let want = m3.under_replicated_fraction().unwrap();
    println!(
        "[rereplication] under_replicated_fraction (3 copies): theory {want:.5}, simulated {mean:.5} ± {half:.5}"
    );
    assert!(
        (mean - want).abs() <= half,
        "under-replicated {mean} ± {half}, theory {want}"
    );
    assert!(half < 0.01 * want.max(0.1), "interval ±{half} too wide");

    // E[I] = (D + 1/λ)e^{λR} − 1/λ, the mean time from a loss to a complete copy.
    let (mean, half) = interval(&per_rep(&outs, "components.db.rereplication.mean_s"));
    let want = m3.incomplete_mean().unwrap();
    println!("[rereplication] rereplication.mean_s: theory {want:.3}, simulated {mean:.3} ± {half:.3}");
    assert!(
        (mean - want).abs() <= half,
        "mean rebuild {mean} ± {half}, theory {want}"
    );

    let lost3: f64 = per_rep(&outs, "components.db.data_loss_events").iter().sum();
    let rate3 = m3.data_loss_rate().unwrap();
    let predicted3 = rate3 * f64::from(SHARDS) * window * f64::from(reps);
    assert_poisson("data_loss_events (3 copies)", lost3, predicted3);
    let bytes: f64 = per_rep(&outs, "components.db.rebuilt_bytes").iter().sum();
    let rebuilds: f64 = per_rep(&outs, "components.db.rereplications").iter().sum();
    assert_eq!(bytes, rebuilds * 3e9, "rebuilt_bytes = rereplications × data");

    // Two copies: rate 2λ(1 − q)q, about 2/(3q) ≈ 14 times the three copies' rate.
    let m2 = model(2);
    let (_, outs2) = run_yaml(&yaml(1), 24, 1);
    let lost2: f64 = per_rep(&outs2, "components.db.data_loss_events").iter().sum();
    let predicted2 = m2.data_loss_rate().unwrap() * f64::from(SHARDS) * window;
    assert_poisson("data_loss_events (2 copies)", lost2, predicted2);
    let ratio = lost2 / (lost3 / f64::from(reps));
    let want = m2.data_loss_rate().unwrap() / rate3;
    println!("[rereplication] 2 copies lose {ratio:.1}× as often as 3 (theory {want:.1}×)");
    assert!(
        want > 10.0 && ratio > 10.0,
        "2 copies lose only {ratio:.1}× as often"
    );
    // One replication averages 2,000 shards over 18,000 s: within 3% of 1 − (1 − q)².
    let got = per_rep(&outs2, "components.db.under_replicated_fraction")[0];
    let want = m2.under_replicated_fraction().unwrap();
    println!("[rereplication] under_replicated_fraction (2 copies): theory {want:.5}, simulated {got:.5}");
    assert!(
        (got - want).abs() < 0.03 * want,
        "2 copies: under-replicated {got}, theory {want}"
    );
}

/// One shard of 3 nodes, three scheduled losses: every number is exact.
#[test]
fn scheduled_node_losses_rebuild_and_lose_data_exactly_when_the_last_copy_goes() {
    let y = "
name: losses
duration: 200s
warmup: 0s
clients:
  app:
    arrival: { poisson: 20/s }
    target: db
    requests: { read: 0.5, write: 0.5 }
    keys: { uniform: 50 }
components:
  db:
    kind: database
    replicas: 2
    read_time: 1ms
    rereplication: { data: 10GB, bandwidth: 100MB/s, replace_after: 5s }
faults:
  - { at: 10s, node_loss: \"db.shard[0].node[0]\" }
  - { at: 20s, node_loss: \"db.shard[0].node[1]\" }
  - { at: 22s, node_loss: \"db.shard[0].node[1]\" }
  - { at: 30s, node_loss: \"db.shard[0].node[2]\" }
  - { at: 40s, crash: \"db.shard[0].node[2]\", for: 5s }
";
    let (_, outs) = run_yaml(y, 3, 1);
    let m = &outs[0].metrics;
    let g = |k: &str| m[&format!("components.db.{k}")];
    // Node 0: lost 10 s, copies 15–115 s. Node 1: lost 20 s, the second loss at 22 s finds the
    // slot empty (waiting until 25 s): copies 25–125 s. Node 2: lost 30 s — the last complete
    // copy, so the shard's data is lost — copies 35–135 s. The crash at 40 s hits a lost node.
    assert_eq!(g("nodes_lost"), 3.0);
    assert_eq!(g("data_loss_events"), 1.0);
    assert_eq!(g("rereplications"), 3.0);
    assert!(
        (g("rereplication.mean_s") - 105.0).abs() < 1e-6,
        "{}",
        g("rereplication.mean_s")
    );
    assert!(
        (g("under_replicated_s") - 125.0).abs() < 1e-6,
        "{}",
        g("under_replicated_s")
    );
    assert!((g("under_replicated_fraction") - 125.0 / 200.0).abs() < 1e-9);
    assert_eq!(g("rebuilt_bytes"), 3e10);
    // Without a backup every write committed before 10 s (the primary's loss stops writes) is gone.
    assert!(g("lost_writes") > 50.0, "lost_writes {}", g("lost_writes"));
    assert!(g("failed") > 0.0);
    assert!(
        outs[0].notes.iter().any(|n| n.contains("DATA LOSS at 30.0s")),
        "{:?}",
        outs[0].notes
    );
}

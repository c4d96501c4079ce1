//! `archsim explain`: what theory predicts for a scenario before it is run.
//!
//! The offered load is pushed through the topology in call order: a
//! client's rate splits into reads and writes by its mix; a service passes
//! each request to every call edge (times its `probability`, for the
//! operations its `on` names; parallel calls each get the full rate); a
//! balancer and a queue pass everything to their backend or consumer; a
//! cache passes its misses (hit ratio from Che's approximation for LRU over
//! the first client's key popularity, ignoring TTL and writes) and its
//! writes; a gateway routes by operation and passes at most a global rate
//! limit, or each identity's rate up to a per-identity limit; a DNS splits
//! evenly over its targets. Each service is then an M/G/c queue per
//! replica (λ ÷ replicas, c = cores), or one pooled M/G/(replicas × cores)
//! behind a load-aware balancer (least connections, power of two, least
//! time: close to joining the shortest queue): Erlang C for the chance of
//! waiting and the Allen–Cunneen correction (1 + cs²)/2 for
//! non-exponential service (exact for M/M/c, the Pollaczek–Khinchine mean
//! for one core). Behind a static balancer (round robin, random, weights)
//! replicas of unequal speed or weight are each their own queue with
//! their share, so the slowest saturates first. An autoscaled service is
//! taken at the count its rule settles on (the HPA's ceil(work ÷ target)),
//! its capacity at its max. A batched consumer's batch size solves
//! n = λ/c·(a + s·n). The bottleneck is the component with the highest
//! load against its capacity; the system sustains the offered mix scaled
//! by 1 ÷ that load. The mean latency counts the tiers a client waits for:
//! a queue that answers on enqueue leaves its consumer out. What theory
//! leaves out — faults, retries, timeouts, network hops, skewed keys on
//! shards, bursts, the time autoscaling takes — is where the simulation and
//! these numbers part.

use std::fmt::Write;

use crate::model::Config;
use crate::scenario::Scenario;
use crate::scenario::kinds::Kind;
use crate::scenario::kinds::forecast::{Flow, Setting, mean_rate};

/// The prediction for one component.
#[derive(Clone, Debug)]
pub struct Tier {
    /// Name.
    pub name: String,
    /// Kind word.
    pub kind: &'static str,
    /// Reads and writes per second arriving.
    pub reads: f64,
    /// Writes per second arriving.
    pub writes: f64,
    /// Busy fraction of its cores (services and databases).
    pub utilization: Option<f64>,
    /// Mean wait before service (ms), when a queueing model applies.
    pub wait_ms: Option<f64>,
    /// Mean time in the component (ms): wait + service.
    pub response_ms: Option<f64>,
    /// The model used.
    pub model: String,
    /// Expected hit ratio (caches).
    pub hit_ratio: Option<f64>,
}

/// The whole prediction.
#[derive(Clone, Debug)]
pub struct Prediction {
    /// Per component, in file order.
    pub tiers: Vec<Tier>,
    /// Client requests per second offered.
    pub offered: f64,
    /// The most utilised component and its utilisation.
    pub bottleneck: Option<(String, f64)>,
    /// Mean end-to-end latency (ms): the sum over components of visits ×
    /// response time (parallel calls counted in full: an upper bound).
    pub latency_ms: Option<f64>,
    /// Edges for diagrams: (from, to, label).
    pub edges: Vec<(String, String, String)>,
}

/// Predict a resolved scenario: `sc` is what the file says (each
/// component's kind supplies its part of the prediction: see the kind
/// modules in `scenario/kinds/`), `cfg` what it resolved to.
pub fn predict(sc: &Scenario, cfg: &Config) -> Prediction {
    let nclients = cfg.clients.len();
    let n = nclients + cfg.components.len();
    let names: Vec<String> = cfg
        .clients
        .iter()
        .map(|c| c.name.clone())
        .chain(sc.components.keys().cloned())
        .collect();
    let kinds: Vec<&dyn Kind> = sc.components.values().map(|c| c.as_kind()).collect();
    let setting = |id: usize, sync: f64| Setting { cfg, id, sync };
    let mut load = vec![(0.0f64, 0.0f64); n];
    // Visits that a client waits for (a queue that acks on enqueue cuts its
    // consumer out of the client's latency).
    let mut sync = vec![0.0f64; n];
    let mut edges = Vec::new();
    let mut offered = 0.0;
    for c in &cfg.clients {
        let Some(rate) = mean_rate(&c.arrival, cfg.duration) else {
            continue;
        };
        offered += rate;
        let t = c.target as usize;
        load[t].0 += rate * (1.0 - c.write_fraction);
        load[t].1 += rate * c.write_fraction;
        sync[t] += rate;
        edges.push((c.name.clone(), names[t].clone(), format!("{rate:.0}/s")));
    }
    // Push the load down in topological order (calls form a DAG).
    let mut outs: Vec<Vec<Flow>> = vec![Vec::new(); n];
    let mut hit = vec![None; n];
    for (i, c) in cfg.components.iter().enumerate() {
        let id = nclients + i;
        (outs[id], hit[id]) = kinds[i].flows(c, cfg);
    }
    // Kahn's order over the component graph.
    let mut indeg = vec![0usize; n];
    for o in &outs {
        for f in o {
            if f.to < n {
                indeg[f.to] += 1;
            }
        }
    }
    let mut ready: Vec<usize> = (nclients..n).filter(|&i| indeg[i] == 0).collect();
    while let Some(i) = ready.pop() {
        let (r, w) = load[i];
        let (kind, c) = (kinds[i - nclients], &cfg.components[i - nclients]);
        let admitted = kind.admitted(c, r + w, &setting(i, sync[i]));
        for f in outs[i].clone() {
            let t = f.to;
            if t >= n {
                continue;
            }
            let (mut rr, mut ww) = (r * f.reads, w * f.writes);
            if let Some(admitted) = admitted {
                let total = r + w;
                if total > admitted && total > 0.0 {
                    rr *= admitted / total;
                    ww *= admitted / total;
                }
            }
            load[t].0 += rr;
            load[t].1 += ww;
            if r + w > 0.0 && !kind.decouples(c) {
                sync[t] += sync[i] * (rr + ww) / (r + w);
            }
            if rr + ww > 0.0 {
                edges.push((names[i].clone(), names[t].clone(), format!("{:.0}/s", rr + ww)));
            }
            indeg[t] -= 1;
            if indeg[t] == 0 {
                ready.push(t);
            }
        }
        for (b, misses) in kind.side_flows(c, r, &hit) {
            load[b].0 += misses;
            if r + w > 0.0 {
                sync[b] += sync[i] * misses / (r + w);
            }
            edges.push((
                names[i].clone(),
                names[b].clone(),
                format!("{misses:.0}/s misses"),
            ));
        }
    }
    let mut tiers = Vec::new();
    let mut bottleneck: Option<(String, f64)> = None;
    let mut latency = 0.0;
    let mut latency_ok = offered > 0.0;
    for (i, c) in cfg.components.iter().enumerate() {
        let id = nclients + i;
        let (r, w) = load[id];
        let f = kinds[i].forecast(c, r, w, &setting(id, sync[id]));
        latency_ok &= !f.latency_unknown;
        if let Some(u) = f.load
            && bottleneck.as_ref().is_none_or(|b| u > b.1)
        {
            bottleneck = Some((names[id].clone(), u));
        }
        tiers.push(Tier {
            name: names[id].clone(),
            kind: sc.components[i].kind(),
            reads: r,
            writes: w,
            utilization: f.utilization,
            wait_ms: f.wait_ms,
            response_ms: f.response_ms,
            model: f.model,
            hit_ratio: hit[id],
        });
    }
    for (i, c) in cfg.components.iter().enumerate() {
        let response = |id: usize| {
            id.checked_sub(nclients)
                .and_then(|k| tiers.get(k))
                .and_then(|t| t.response_ms)
        };
        if let Some(m) = kinds[i].refine(c, &response) {
            tiers[i].model = m;
        }
    }
    if offered > 0.0 {
        for (i, t) in tiers.iter().enumerate() {
            if let Some(resp) = t.response_ms {
                latency += sync[nclients + i] / offered * resp;
            }
        }
    }
    Prediction {
        tiers,
        offered,
        bottleneck,
        latency_ms: latency_ok.then_some(latency),
        edges,
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.digits$}"))
}

/// The text report.
pub fn render_text(p: &Prediction) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Topology (mean offered load on each edge)");
    for (a, b, l) in &p.edges {
        let _ = writeln!(s, "  {a} ──{l}──▶ {b}");
    }
    let _ = writeln!(
        s,
        "\nPredicted by queueing theory ({:.1} client requests/s offered)",
        p.offered
    );
    let w = p.tiers.iter().map(|t| t.name.len()).max().unwrap_or(9).max(9);
    let _ = writeln!(
        s,
        "{:<w$}  {:<13}  {:>9}  {:>7}  {:>9}  {:>11}  model",
        "component", "kind", "req/s", "util %", "wait ms", "response ms"
    );
    for t in &p.tiers {
        let util = t.utilization.map(|u| u * 100.0);
        let _ = writeln!(
            s,
            "{:<w$}  {:<13}  {:>9.1}  {:>7}  {:>9}  {:>11}  {}{}",
            t.name,
            t.kind,
            t.reads + t.writes,
            opt(util, 1),
            opt(t.wait_ms, 2),
            opt(t.response_ms, 2),
            t.model,
            t.hit_ratio
                .map(|h| format!(" (hit ratio {h:.3})"))
                .unwrap_or_default()
        );
    }
    match &p.bottleneck {
        Some((name, u)) if *u >= 1.0 => {
            let _ = writeln!(
                s,
                "\nBottleneck: {name} at {:.0}% — the offered load exceeds its capacity; it sustains about {:.1} requests/s of this mix (queues grow without bound).",
                u * 100.0,
                p.offered / u
            );
        }
        Some((name, u)) => {
            let _ = writeln!(
                s,
                "\nBottleneck: {name} at {:.1}% of its capacity — this mix is sustainable up to about {:.1} requests/s (×{:.2}).",
                u * 100.0,
                p.offered / u,
                1.0 / u
            );
        }
        None => {}
    }
    if let Some(l) = p.latency_ms {
        let _ = writeln!(
            s,
            "Mean latency ≈ {l:.2} ms (sum over the tiers of visits × response time; network hops not included; parallel calls counted in full, so an upper bound for fan-outs)."
        );
    }
    s
}

/// A Mermaid flowchart.
pub fn render_mermaid(p: &Prediction) -> String {
    let mut s = String::from("flowchart LR\n");
    let id = |n: &str| n.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    for (a, b, l) in &p.edges {
        let _ = writeln!(s, "  {}[{a}] -->|{l}| {}[{b}]", id(a), id(b));
    }
    s
}

/// A Graphviz graph.
pub fn render_dot(p: &Prediction) -> String {
    let mut s = String::from("digraph archsim {\n  rankdir=LR;\n");
    for (a, b, l) in &p.edges {
        let _ = writeln!(s, "  \"{a}\" -> \"{b}\" [label=\"{l}\"];");
    }
    s.push_str("}\n");
    s
}

/// The prediction as report.json metric names, for drawing and tabling
/// theory beside simulation: `latency.mean_ms` (when every tier has a
/// model), `offered_rps`, and per component `components.NAME.utilization`,
/// `.wait.mean_ms` and `.hit_ratio` where the tier's model gives them.
/// Values that are not finite (an overloaded queue) are left out.
pub fn predicted_metrics(p: &Prediction) -> std::collections::BTreeMap<String, f64> {
    let mut m = std::collections::BTreeMap::new();
    let mut put = |k: String, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            m.insert(k, v);
        }
    };
    put("offered_rps".into(), Some(p.offered));
    put("latency.mean_ms".into(), p.latency_ms);
    for t in &p.tiers {
        put(format!("components.{}.utilization", t.name), t.utilization);
        put(format!("components.{}.wait.mean_ms", t.name), t.wait_ms);
        put(format!("components.{}.hit_ratio", t.name), t.hit_ratio);
    }
    m
}

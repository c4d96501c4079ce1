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

use crate::model::client::ArrivalCfg;
use crate::model::{Config, FaultAction};
use crate::scenario::Scenario;
use crate::scenario::kinds::ComponentSpec;
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
    /// response time (parallel calls counted in full: an upper bound), plus
    /// [`Prediction::network_ms`].
    pub latency_ms: Option<f64>,
    /// The network's share of the mean latency (ms): every hop a client
    /// waits for, there and back, at the mean one-way latency between the
    /// two ends' regions (injected latency faults left out).
    pub network_ms: f64,
    /// The topology with the offered load on each call: what `--format
    /// dot`, `--format mermaid` and the pages' diagram draw.
    pub graph: Graph,
    /// Databases with `rereplication` and random node losses: the renewal
    /// forecast of their durability (`theory::Rereplication`).
    pub durability: Vec<Durability>,
    /// Services with a liveness probe: one line each on how long a hang
    /// lasts and, under random hangs, the replica availability it allows;
    /// then one line per bulkheaded call edge (its capacity and Erlang-B share).
    pub probes: Vec<String>,
    /// Layer-4 balancers: how their replicas share the load (a line each).
    pub layer4: Vec<String>,
}

/// A database's durability under random node losses.
#[derive(Clone, Debug)]
pub struct Durability {
    /// The database.
    pub name: String,
    /// The model (times in seconds).
    pub model: crate::theory::Rereplication,
    /// Shards at the start.
    pub shards: u32,
}

/// A service with a liveness probe: a hang is found after
/// D = (failure_threshold − ½) × period + timeout on average (a hang at a
/// random phase waits half a period for the next probe), and the restart
/// takes R = restart_time + startup_time; under random hangs (MTBF) a
/// replica serves MTBF ÷ (MTBF + D + R) of the time (alternating renewal).
fn liveness_lines(cfg: &Config, names: &[String]) -> Vec<String> {
    let nclients = cfg.clients.len();
    let mut out = Vec::new();
    for (k, c) in cfg.components.iter().enumerate() {
        let crate::model::CompCfg::Service(s) = c else {
            continue;
        };
        let Some(p) = &s.probes else { continue };
        let Some(d) = p.mean_detection() else { continue };
        let (d, r) = (d as f64 / 1e9, (p.restart_time + s.startup_time) as f64 / 1e9);
        let id = nclients + k;
        let mut line = format!(
            "Liveness of {}: a hang is restarted {d:.1} s after it starts on average ((failure_threshold − ½) × period + timeout), and the replica serves again {r:.1} s later (restart_time + startup_time)",
            names[id]
        );
        if let Some(f) = cfg
            .random_faults
            .iter()
            .find(|f| f.hang && f.mttr <= 0.0 && f.comp as usize == id)
        {
            let mtbf = f.mtbf / 1e9;
            let _ = write!(
                line,
                "; with random hangs every {mtbf:.0} s: replica availability ≈ MTBF/(MTBF + D + R) = {:.4}",
                mtbf / (mtbf + d + r)
            );
        }
        line.push('.');
        out.push(line);
    }
    out
}

/// A bulkheaded call edge: k calls in flight per calling replica, each
/// holding its slot for the target's response time E[S], carry at most
/// k ÷ E[S] calls/s; with Poisson calls the share turned away is the Erlang
/// loss formula B(k, λ·E[S]) at the edge's offered load λ per replica.
fn bulkhead_lines(cfg: &Config, names: &[String], tiers: &[Tier], graph: &Graph) -> Vec<String> {
    let nclients = cfg.clients.len();
    let mut out = Vec::new();
    for (i, c) in cfg.components.iter().enumerate() {
        let crate::model::CompCfg::Service(s) = c else {
            continue;
        };
        let id = nclients + i;
        for e in s
            .calls
            .iter()
            .flat_map(|st| st.edges.iter())
            .filter(|e| e.bulkhead > 0)
        {
            let t = e.target as usize;
            let k = e.bulkhead;
            let Some(es) = t
                .checked_sub(nclients)
                .and_then(|j| tiers.get(j))
                .and_then(|t| t.response_ms)
                .map(|ms| ms / 1e3)
                .filter(|&s| s > 0.0)
            else {
                continue;
            };
            let mut line = format!(
                "Bulkhead {} → {}: at most {k} calls in flight per replica, so at most k/E[S] = {:.0} calls/s per replica (E[S] = {:.1} ms)",
                names[id],
                names[t],
                f64::from(k) / es,
                es * 1e3
            );
            if let Some(rate) = graph
                .edges
                .iter()
                .find(|g| g.from == id && g.to == t && g.kind == EdgeKind::Call)
                .and_then(|g| g.rate)
            {
                let a = rate / f64::from(s.replicas.max(1)) * es;
                let _ = write!(
                    line,
                    "; offered {a:.2} Erlangs per replica, Erlang-B share rejected {:.4}",
                    crate::theory::erlang_b(k, a)
                );
            }
            line.push('.');
            out.push(line);
        }
    }
    out
}

/// The topology as one graph: every client and component, every call with
/// the load theory offers it, and what else a diagram marks (faults, an
/// autoscaler's target). `explain --format dot` and `mermaid` and the
/// pages' topology diagram are all drawn from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// Clients in file order, then components in file order (the global
    /// ids of the model's config).
    pub nodes: Vec<GraphNode>,
    /// Calls in the order the load is pushed through them, then the
    /// autoscalers' links; at most one per pair and kind.
    pub edges: Vec<GraphEdge>,
}

/// A client or a component.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphNode {
    /// Name in the scenario.
    pub name: String,
    /// `client`, or the component's `kind:` word.
    pub kind: &'static str,
    /// What the kind counts (`3 replicas`, `4 shards`), when more than one.
    pub count: Option<String>,
    /// Its region, when the scenario names regions.
    pub region: Option<String>,
    /// The faults the scenario injects into it, in short words (`crash`,
    /// `slow ×5`, `partition`), each once.
    pub faults: Vec<String>,
}

/// What an edge stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    /// Requests sent on (a client's, a call, a balancer's, a cache's misses
    /// and writes to its backend, a queue's deliveries…).
    Call,
    /// A cache-aside cache's misses, read by the calling service from the
    /// cache's backend.
    Misses,
    /// A client's static content, sent to its own target (`static:`).
    Static,
    /// An autoscaler changing a service's replica count: not a call.
    Scales,
}

/// One edge of the [`Graph`].
#[derive(Clone, Debug, PartialEq)]
pub struct GraphEdge {
    /// Node index of the sender.
    pub from: usize,
    /// Node index of the receiver.
    pub to: usize,
    /// What it stands for.
    pub kind: EdgeKind,
    /// Requests per second theory offers it (`None`: not predicted — a
    /// closed-loop client, static content, an autoscaler's link).
    pub rate: Option<f64>,
}

impl GraphEdge {
    /// The label drawn on it: `600/s`, `45/s misses`, `closed loop`,
    /// `static`, `scales`.
    pub fn label(&self) -> String {
        match (self.kind, self.rate) {
            (EdgeKind::Scales, _) => "scales".into(),
            (EdgeKind::Static, _) => "static".into(),
            (EdgeKind::Misses, Some(r)) => format!("{r:.0}/s misses"),
            (EdgeKind::Misses, None) => "misses".into(),
            (EdgeKind::Call, Some(r)) => format!("{r:.0}/s"),
            (EdgeKind::Call, None) => "closed loop".into(),
        }
    }
}

impl Graph {
    /// Add `rate` to the edge `from → to` of this kind, or add the edge.
    fn add(&mut self, from: usize, to: usize, kind: EdgeKind, rate: Option<f64>) {
        match self
            .edges
            .iter_mut()
            .find(|e| e.from == from && e.to == to && e.kind == kind)
        {
            Some(e) => {
                e.rate = match (e.rate, rate) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
            }
            None => self.edges.push(GraphEdge { from, to, kind, rate }),
        }
    }
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
    let mut graph = Graph {
        nodes: nodes(sc, cfg),
        edges: Vec::new(),
    };
    let mut offered = 0.0;
    // Σ over hops a client waits for of (visits per second × round trip, ms).
    let mut network = 0.0;
    let round_trip_ms = |a: usize, b: usize| 2.0 * cfg.network.mean_delay_ns(a as u32, b as u32) / 1e6;
    for (ci, c) in cfg.clients.iter().enumerate() {
        let t = c.target as usize;
        let rate = mean_rate(&c.arrival, cfg.duration);
        graph.add(ci, t, EdgeKind::Call, rate);
        if let Some((_, st, _)) = c.static_content {
            graph.add(ci, st as usize, EdgeKind::Static, None);
        }
        let Some(rate) = rate else {
            continue;
        };
        offered += rate;
        network += rate * client_round_trip_ms(cfg, ci, t, &round_trip_ms);
        load[t].0 += rate * (1.0 - c.write_fraction);
        load[t].1 += rate * c.write_fraction;
        sync[t] += rate;
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
                let waited = sync[i] * (rr + ww) / (r + w);
                sync[t] += waited;
                // A DNS is off the request path: its clients' hops to the
                // target it names are counted with the clients.
                if !matches!(c, crate::model::CompCfg::Dns(_)) {
                    network += waited * round_trip_ms(i, t);
                }
            }
            graph.add(i, t, EdgeKind::Call, Some(rr + ww));
            indeg[t] -= 1;
            if indeg[t] == 0 {
                ready.push(t);
            }
        }
        for (b, misses) in kind.side_flows(c, r, &hit) {
            load[b].0 += misses;
            if r + w > 0.0 {
                let waited = sync[i] * misses / (r + w);
                sync[b] += waited;
                network += waited * round_trip_ms(i, b);
            }
            graph.add(i, b, EdgeKind::Misses, Some(misses));
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
    let network_ms = if offered > 0.0 { network / offered } else { 0.0 };
    if offered > 0.0 {
        for (i, t) in tiers.iter().enumerate() {
            if let Some(resp) = t.response_ms {
                latency += sync[nclients + i] / offered * resp;
            }
        }
        latency += network_ms;
    }
    scales(sc, nclients, &mut graph);
    let mut durability = Vec::new();
    for f in cfg.random_faults.iter().filter(|f| f.losses) {
        let Some(k) = (f.comp as usize).checked_sub(nclients) else {
            continue;
        };
        if let Some(crate::model::CompCfg::Database(d)) = cfg.components.get(k)
            && let Some(r) = d.rereplication
        {
            durability.push(Durability {
                name: names[f.comp as usize].clone(),
                model: crate::theory::Rereplication {
                    mttf: f.mtbf / 1e9,
                    copy: r.copy as f64 / 1e9,
                    replace_after: r.replace_after as f64 / 1e9,
                    copies: d.per_shard(),
                },
                shards: d.shards,
            });
        }
    }
    let mut probes = liveness_lines(cfg, &names);
    probes.extend(bulkhead_lines(cfg, &names, &tiers, &graph));
    let layer4 = layer4_lines(cfg, &names);
    Prediction {
        tiers,
        offered,
        bottleneck,
        latency_ms: latency_ok.then_some(latency),
        network_ms,
        graph,
        durability,
        probes,
        layer4,
    }
}

/// The round trip (ms) of a client's first hop. A client of a DNS sends
/// straight to the target the DNS names (the DNS is off the request path):
/// the nearest for `geo`, the first for `failover`, each in turn for
/// `round_robin` (healthy targets, as without faults).
fn client_round_trip_ms(
    cfg: &Config,
    client: usize,
    target: usize,
    round_trip_ms: &dyn Fn(usize, usize) -> f64,
) -> f64 {
    let nclients = cfg.clients.len();
    let Some(crate::model::CompCfg::Dns(d)) =
        target.checked_sub(nclients).and_then(|k| cfg.components.get(k))
    else {
        return round_trip_ms(client, target);
    };
    let rtt = |t: u32| round_trip_ms(client, t as usize);
    match d.policy {
        crate::model::dns::DnsPolicy::Failover => d.targets.first().map_or(0.0, |&t| rtt(t)),
        crate::model::dns::DnsPolicy::RoundRobin => {
            d.targets.iter().map(|&t| rtt(t)).sum::<f64>() / d.targets.len().max(1) as f64
        }
        crate::model::dns::DnsPolicy::Geo => {
            let near = d.distance.get(client).and_then(|row| {
                row.iter()
                    .enumerate()
                    .min_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(k, _)| k)
            });
            near.and_then(|k| d.targets.get(k)).map_or(0.0, |&t| rtt(t))
        }
    }
}

/// A line per layer-4 balancer: new replicas take load only as the
/// connections reopen, so the capacity a scale-out adds arrives over one
/// connection lifetime (the imbalance CV falls as 1 − t/lifetime).
fn layer4_lines(cfg: &Config, names: &[String]) -> Vec<String> {
    let nclients = cfg.clients.len();
    let mut out = Vec::new();
    for (i, c) in cfg.components.iter().enumerate() {
        let crate::model::CompCfg::Balancer(b) = c else {
            continue;
        };
        if b.layer != Some(4) {
            continue;
        }
        let id = (nclients + i) as u32;
        let lifetimes: Vec<String> = cfg
            .clients
            .iter()
            .filter(|k| k.target == id)
            .filter_map(|k| k.connections)
            .map(|k| crate::scenario::units::Duration(k.lifetime).to_string())
            .collect();
        let backend = names.get(b.backend as usize).map_or("?", |s| s.as_str());
        out.push(if lifetimes.is_empty() {
            format!(
                "{} balances per connection (layer 4), but its clients hold no `connections`: each request is its own connection, as at layer 7.",
                names[nclients + i]
            )
        } else {
            format!(
                "{} balances per connection (layer 4): replicas added to {backend} take load only as the clients' connections reopen (lifetime {}), so after a scale-out from n to 2n the old replicas carry (2 − f)/(2n) of it and the new f/(2n) until a fraction f = t/lifetime has reopened; the load imbalance (CV) falls as 1 − t/lifetime.",
                names[nclients + i],
                lifetimes.join(", ")
            )
        });
    }
    out
}

/// Every client and component as a node, with what a diagram marks.
fn nodes(sc: &Scenario, cfg: &Config) -> Vec<GraphNode> {
    let nclients = cfg.clients.len();
    let net = &cfg.network;
    let region = |id: usize| {
        net.region
            .get(id)
            .and_then(|&r| net.regions.get(usize::from(r)))
            .cloned()
    };
    let mut nodes: Vec<GraphNode> = cfg
        .clients
        .iter()
        .enumerate()
        .map(|(i, c)| GraphNode {
            name: c.name.clone(),
            kind: "client",
            count: match c.arrival {
                ArrivalCfg::Closed { users, .. } => Some(format!("{users} users")),
                _ => None,
            },
            region: region(i),
            faults: Vec::new(),
        })
        .collect();
    for (i, (name, spec)) in sc.components.iter().enumerate() {
        let n = spec.as_kind().instances().unwrap_or(1);
        let unit = match spec.kind() {
            "service" => "replicas",
            "cache" => "nodes",
            "database" => "shards",
            _ => "instances",
        };
        nodes.push(GraphNode {
            name: name.clone(),
            kind: spec.kind(),
            count: match spec {
                ComponentSpec::Consensus(c) => Some(format!("{} members", c.members)),
                _ => (n > 1).then(|| format!("{n} {unit}")),
            },
            region: region(nclients + i),
            faults: Vec::new(),
        });
    }
    let mut mark = |id: usize, what: String| {
        if let Some(n) = nodes.get_mut(id)
            && !n.faults.contains(&what)
        {
            n.faults.push(what);
        }
    };
    let members =
        |g: &crate::model::Groups| -> Vec<usize> { (0..g.comp.len()).filter(|&c| g.comp[c] != 0).collect() };
    for f in &cfg.faults {
        let id = f.comp as usize;
        match f.action {
            FaultAction::Crash(_) | FaultAction::CrashAll => mark(id, "crash".into()),
            FaultAction::Slow(x) => mark(id, format!("slow ×{x}")),
            FaultAction::Hang(_) => mark(id, "hang".into()),
            FaultAction::CrashPrimary(_) => mark(id, "primary crash".into()),
            FaultAction::DiskLoss(_) => mark(id, "disk loss".into()),
            FaultAction::LoseNode(_) => mark(id, "node loss".into()),
            FaultAction::Partition(p) => {
                for c in cfg
                    .partitions
                    .get(p as usize)
                    .map(|g| members(g))
                    .unwrap_or_default()
                {
                    mark(c, "partition".into());
                }
            }
            FaultAction::Latency(l) => {
                for c in cfg
                    .latencies
                    .get(l as usize)
                    .map(|g| members(&g.0))
                    .unwrap_or_default()
                {
                    mark(c, "added latency".into());
                }
            }
            FaultAction::Outage(r) => {
                for c in nclients..net.region.len() {
                    if net.region[c] == r {
                        mark(c, "region outage".into());
                    }
                }
            }
        }
    }
    for f in &cfg.random_faults {
        let what = if f.losses {
            "random node losses"
        } else if f.hang {
            "random hangs"
        } else {
            "random crashes"
        };
        mark(f.comp as usize, what.into());
    }
    nodes
}

/// The autoscalers' links to the services they scale.
fn scales(sc: &Scenario, nclients: usize, graph: &mut Graph) {
    for (i, spec) in sc.components.values().enumerate() {
        if let ComponentSpec::Autoscaler(a) = spec
            && let Some(t) = sc.components.get_index_of(&a.target)
        {
            graph.add(nclients + i, nclients + t, EdgeKind::Scales, None);
        }
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.digits$}"))
}

/// The text report.
pub fn render_text(p: &Prediction) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Topology (mean offered load on each edge)");
    let g = &p.graph;
    for e in g.edges.iter().filter(|e| e.kind != EdgeKind::Scales) {
        let (a, b) = (&g.nodes[e.from].name, &g.nodes[e.to].name);
        let _ = writeln!(s, "  {a} ──{}──▶ {b}", e.label());
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
            "Mean latency ≈ {l:.2} ms (sum over the tiers of visits × response time, plus {:.2} ms of network: each hop a client waits for, there and back, at the mean latency between its ends' regions; parallel calls counted in full, so an upper bound for fan-outs).",
            p.network_ms
        );
    }
    for line in &p.probes {
        let _ = writeln!(s, "{line}");
    }
    for l in &p.layer4 {
        let _ = writeln!(s, "{l}");
    }
    for d in &p.durability {
        let m = &d.model;
        let (Some(q), Some(under), Some(i), Some(mttdl)) = (
            m.q(),
            m.under_replicated_fraction(),
            m.incomplete_mean(),
            m.mttdl(),
        ) else {
            continue;
        };
        let _ = writeln!(
            s,
            "\nDurability of {} (renewal model: a slot lost at rate 1/{:.0}s, replaced after {:.0}s, copied in {:.0}s)",
            d.name, m.mttf, m.replace_after, m.copy
        );
        let _ = writeln!(
            s,
            "  q = 1 − e^(−λR)/(1 + λD) = {q:.5} of the time a copy is missing (mean {i:.0}s from loss to complete copy)"
        );
        let years = |secs: f64| {
            let y = secs / (365.25 * 86_400.0);
            if (0.01..1e6).contains(&y) {
                format!("{y:.2} years")
            } else {
                format!("{y:.3e} years")
            }
        };
        let _ = writeln!(
            s,
            "  {} copies: under-replicated {:.3}% of the time; mean time to data loss {mttdl:.3e} s ({}) per shard, {} for any of the {} shards",
            m.copies,
            under * 100.0,
            years(mttdl),
            years(mttdl / f64::from(d.shards.max(1))),
            d.shards
        );
        if m.copies >= 2 {
            let w = m.replace_after + m.copy;
            let par = crate::theory::mttdl_parallel(m.mttf, w, m.copies).unwrap_or(f64::NAN);
            let ser = crate::theory::mttdl_serial(m.mttf, w, m.copies).unwrap_or(f64::NAN);
            let _ = writeln!(
                s,
                "  Markov approximations with W = D + R: MTTF^n/(n·W^(n−1)) = {par:.3e} s (parallel repair), MTTF^n/(n!·W^(n−1)) = {ser:.3e} s (serial)"
            );
        }
    }
    s
}

/// A node's label in the text diagrams: its name, then its kind (and
/// count), then its faults, one per line.
fn node_lines(n: &GraphNode) -> Vec<String> {
    let mut kind = n.kind.replace('_', " ");
    if let Some(c) = &n.count {
        kind = format!("{kind} · {c}");
    }
    if let Some(r) = &n.region {
        kind = format!("{kind} · {r}");
    }
    let mut lines = vec![n.name.clone(), kind];
    if !n.faults.is_empty() {
        lines.push(format!("fault: {}", n.faults.join(", ")));
    }
    lines
}

/// A Mermaid flowchart of the [`Graph`]: every node (clients as stadiums,
/// databases as cylinders, queues as parallelograms), every call with its
/// load, an autoscaler's link dotted, faulted nodes in the fail class.
pub fn render_mermaid(p: &Prediction) -> String {
    let g = &p.graph;
    let mut s = String::from("flowchart LR\n");
    let id = |i: usize| format!("n{i}");
    for (i, n) in g.nodes.iter().enumerate() {
        let text = node_lines(n).join("<br/>").replace('"', "#quot;");
        let (open, close) = match n.kind {
            "client" => ("([", "])"),
            "database" | "consensus" => ("[(", ")]"),
            "queue" => ("[/", "/]"),
            "cache" | "cdn" => ("(", ")"),
            "load_balancer" | "gateway" | "dns" => ("{{", "}}"),
            _ => ("[", "]"),
        };
        let _ = writeln!(s, "  {}{open}\"{text}\"{close}", id(i));
    }
    for e in &g.edges {
        let arrow = match e.kind {
            EdgeKind::Scales => "-.->",
            _ => "-->",
        };
        let _ = writeln!(s, "  {} {arrow}|\"{}\"| {}", id(e.from), e.label(), id(e.to));
    }
    let faulted: Vec<String> = (0..g.nodes.len())
        .filter(|&i| !g.nodes[i].faults.is_empty())
        .map(id)
        .collect();
    if !faulted.is_empty() {
        let _ = writeln!(s, "  classDef fault stroke:#C03A00,stroke-width:3px");
        let _ = writeln!(s, "  class {} fault", faulted.join(","));
    }
    s
}

/// A Graphviz graph of the [`Graph`]: every node with its kind (and faults)
/// under its name, every call labelled with its load, an autoscaler's link
/// dotted, faulted nodes outlined in the fail colour.
pub fn render_dot(p: &Prediction) -> String {
    let g = &p.graph;
    let q = |t: &str| t.replace('\\', "\\\\").replace('"', "\\\"");
    let mut s = String::from("digraph archsim {\n  rankdir=LR;\n  node [shape=box];\n");
    for n in &g.nodes {
        let shape = match n.kind {
            "client" => "oval",
            "database" | "consensus" => "cylinder",
            "queue" => "parallelogram",
            "load_balancer" | "gateway" | "dns" => "hexagon",
            _ => "box",
        };
        let label = node_lines(n).iter().map(|l| q(l)).collect::<Vec<_>>().join("\\n");
        let fault = if n.faults.is_empty() {
            ""
        } else {
            ", color=\"#C03A00\", penwidth=3"
        };
        let _ = writeln!(
            s,
            "  \"{}\" [shape={shape}, label=\"{label}\"{fault}];",
            q(&n.name)
        );
    }
    for e in &g.edges {
        let style = if e.kind == EdgeKind::Scales {
            ", style=dotted"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  \"{}\" -> \"{}\" [label=\"{}\"{style}];",
            q(&g.nodes[e.from].name),
            q(&g.nodes[e.to].name),
            e.label()
        );
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
    for d in &p.durability {
        put(
            format!("components.{}.under_replicated_fraction", d.name),
            d.model.under_replicated_fraction(),
        );
        put(
            format!("components.{}.rereplication.mean_s", d.name),
            d.model.incomplete_mean(),
        );
    }
    m
}

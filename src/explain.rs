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

use crate::model::client::{ArrivalCfg, KeysCfg};
use crate::model::{CompCfg, Config};
use crate::scenario::spec::{Algorithm, Op, ReadPolicy};

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

/// The time average over `[0, duration)` of a step function worth `before`
/// until the first step, then each step's value from its time on.
fn time_average(before: f64, steps: impl Iterator<Item = (u64, f64)>, duration: u64) -> f64 {
    let mut area = 0.0;
    let mut prev = (0, before);
    for (t, v) in steps {
        let t = t.min(duration);
        area += prev.1 * t.saturating_sub(prev.0) as f64;
        prev = (t, v);
    }
    area += prev.1 * duration.saturating_sub(prev.0) as f64;
    area / duration.max(1) as f64
}

fn mean_rate(a: &ArrivalCfg, duration: u64) -> Option<f64> {
    match a {
        ArrivalCfg::Poisson(r) | ArrivalCfg::Constant(r) => Some(*r),
        ArrivalCfg::Interarrival(s) => Some(1e9 / s.mean_ns().max(1e-9)),
        ArrivalCfg::Schedule(steps) => Some(time_average(0.0, steps.iter().copied(), duration)),
        ArrivalCfg::Diurnal { mean, .. } => Some(*mean),
        ArrivalCfg::Trace(t) => Some(t.len() as f64 / (duration.max(1) as f64 / 1e9)),
        ArrivalCfg::Closed { .. } => None,
    }
}

/// Che's LRU hit ratio for `capacity` entries over a key distribution.
fn lru_hit(keys: &KeysCfg, capacity: f64) -> Option<f64> {
    let p = match *keys {
        KeysCfg::Single => return Some(1.0),
        KeysCfg::Uniform(n) => return Some((capacity / n as f64).min(1.0)),
        KeysCfg::Zipf(n, _) if n > 2_000_000 => return None,
        KeysCfg::Zipf(n, s) => crate::theory::zipf_popularity(n, s),
    };
    crate::theory::lru_hit_ratio_che(&p, capacity)
}

/// Erlang-C M/G/c mean wait (s) with the Allen–Cunneen correction.
fn mgc_wait(lambda: f64, mean_s: f64, scv: f64, c: u32) -> Option<f64> {
    if mean_s <= 0.0 {
        return Some(0.0);
    }
    let q = crate::theory::Mmc::new(lambda, 1.0 / mean_s, c);
    let w = q.mean_wait()?;
    Some(w * (1.0 + scv) / 2.0)
}

/// Predict a configuration.
pub fn predict(cfg: &Config) -> Prediction {
    let nclients = cfg.clients.len();
    let n = nclients + cfg.components.len();
    let names: Vec<String> = cfg
        .clients
        .iter()
        .map(|c| c.name.clone())
        .chain(cfg.components.iter().map(comp_name))
        .collect();
    let mut load = vec![(0.0f64, 0.0f64); n];
    // Visits that a client waits for (a queue that acks on enqueue cuts its
    // consumer out of the client's latency).
    let mut sync = vec![0.0f64; n];
    let mut edges = Vec::new();
    let mut offered = 0.0;
    let keys = cfg.clients.first().map(|c| c.keys);
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
    let mut outs: Vec<Vec<(usize, f64, f64, f64)>> = vec![Vec::new(); n]; // (to, read share, write share, miss?)
    let mut hit = vec![None; n];
    for (i, c) in cfg.components.iter().enumerate() {
        let id = nclients + i;
        match c {
            CompCfg::Service(s) => {
                for st in &s.calls {
                    for e in &st.edges {
                        let (r, w) = match e.on {
                            Some(Op::Read) => (e.probability, 0.0),
                            Some(Op::Write) => (0.0, e.probability),
                            None => (e.probability, e.probability),
                        };
                        outs[id].push((e.target as usize, r, w, 0.0));
                    }
                }
            }
            CompCfg::Balancer(b) => outs[id].push((b.backend as usize, 1.0, 1.0, 0.0)),
            CompCfg::Queue(q) => outs[id].push((q.consumer as usize, 1.0, 1.0, 0.0)),
            CompCfg::Cache(k) => {
                let h = keys
                    .and_then(|ks| lru_hit(&ks, f64::from(k.capacity) * f64::from(k.nodes.max(1))))
                    .unwrap_or(0.0);
                hit[id] = Some(h);
                // Cache-aside: the calling service reads the misses itself.
                let miss = if k.read_policy == ReadPolicy::CacheAside {
                    0.0
                } else {
                    1.0 - h
                };
                outs[id].push((k.backend as usize, miss, 1.0, 0.0));
            }
            CompCfg::Gateway(g) => {
                outs[id].push((g.read as usize, 1.0, 0.0, 0.0));
                outs[id].push((g.write as usize, 0.0, 1.0, 0.0));
            }
            CompCfg::Dns(d) => {
                let share = 1.0 / d.targets.len().max(1) as f64;
                for &t in &d.targets {
                    outs[id].push((t as usize, share, share, 0.0));
                }
            }
            CompCfg::Database(_) | CompCfg::Inert(_) => {}
        }
    }
    // Kahn's order over the component graph.
    let mut indeg = vec![0usize; n];
    for o in &outs {
        for &(t, ..) in o {
            if t < n {
                indeg[t] += 1;
            }
        }
    }
    let mut ready: Vec<usize> = (nclients..n).filter(|&i| indeg[i] == 0).collect();
    while let Some(i) = ready.pop() {
        let (r, w) = load[i];
        // A cache-aside cache's misses are read by the calling service.
        for &(t, rs, ws, _) in &outs[i].clone() {
            if t >= n {
                continue;
            }
            let (mut rr, mut ww) = (r * rs, w * ws);
            if let CompCfg::Gateway(g) = &cfg.components[i - nclients]
                && let Some(rl) = g.rate_limit
            {
                let total = r + w;
                // A global bucket passes at most its rate; one bucket per
                // identity passes each identity's rate up to the limit
                // (identities drawn evenly from each client's).
                let admitted = if rl.per_identity {
                    let (passed, from_clients) = cfg
                        .clients
                        .iter()
                        .filter(|c| c.target as usize == i)
                        .filter_map(|c| {
                            Some((mean_rate(&c.arrival, cfg.duration)?, c.identities.max(1) as f64))
                        })
                        .fold((0.0, 0.0), |(p, f), (l, ids)| (p + l.min(ids * rl.rate), f + l));
                    passed + (total - from_clients).max(0.0)
                } else {
                    total.min(rl.rate)
                };
                if total > admitted && total > 0.0 {
                    rr *= admitted / total;
                    ww *= admitted / total;
                }
            }
            load[t].0 += rr;
            load[t].1 += ww;
            if r + w > 0.0 {
                let decoupled = matches!(&cfg.components[i - nclients],
                    CompCfg::Queue(q) if q.ack == crate::model::queue::Ack::AfterEnqueue);
                if !decoupled {
                    sync[t] += sync[i] * (rr + ww) / (r + w);
                }
            }
            if rr + ww > 0.0 {
                edges.push((names[i].clone(), names[t].clone(), format!("{:.0}/s", rr + ww)));
            }
            indeg[t] -= 1;
            if indeg[t] == 0 {
                ready.push(t);
            }
        }
        if let CompCfg::Service(s) = &cfg.components[i - nclients] {
            for st in &s.calls {
                for e in &st.edges {
                    if let (Some(b), Some(h)) = (e.aside, hit[e.target as usize]) {
                        let misses = r * e.probability * (1.0 - h);
                        load[b as usize].0 += misses;
                        if r + w > 0.0 {
                            sync[b as usize] += sync[i] * misses / (r + w);
                        }
                        edges.push((
                            names[i].clone(),
                            names[b as usize].clone(),
                            format!("{misses:.0}/s misses"),
                        ));
                    }
                }
            }
        }
    }
    let mut tiers = Vec::new();
    let mut bottleneck: Option<(String, f64)> = None;
    let mut latency = 0.0;
    let mut latency_ok = offered > 0.0;
    for (i, c) in cfg.components.iter().enumerate() {
        let id = nclients + i;
        let (r, w) = load[id];
        // Load against full capacity when that differs from utilisation
        // (an autoscaled service can grow to its max).
        let mut capacity_load: Option<f64> = None;
        let mut t = Tier {
            name: names[id].clone(),
            kind: comp_kind(c),
            reads: r,
            writes: w,
            utilization: None,
            wait_ms: None,
            response_ms: None,
            model: String::new(),
            hit_ratio: hit[id],
        };
        match c {
            CompCfg::Service(s) => {
                let lambda = r + w;
                let mean = if lambda > 0.0 {
                    (r * s.read_time.mean_ns() + w * s.write_time.mean_ns()) / lambda / 1e9
                } else {
                    s.read_time.mean_ns() / 1e9
                };
                // An autoscaled service runs, at this load, about the count
                // its rule settles on: the HPA's ceil(work ÷ (cores × target))
                // for CPU, ceil(rate ÷ target) for a request rate, the
                // time-weighted count for a schedule; within min and max.
                let work = lambda * (mean + s.overhead.as_ref().map_or(0.0, |o| o.mean_ns() / 1e9))
                    / f64::from(s.cores.max(1));
                let scaled = s.autoscale.as_ref().and_then(|a| {
                    use crate::model::autoscale::{Metric, Policy};
                    let want = match &a.policy {
                        Policy::TargetTracking(h) | Policy::Predictive { hpa: h, .. } => match h.metric {
                            Metric::Cpu => Some(work / h.target.max(1e-9)),
                            Metric::RequestRate => Some(lambda / h.target.max(1e-9)),
                            _ => None,
                        },
                        Policy::Threshold {
                            metric: Metric::Cpu,
                            up_above,
                            ..
                        } => Some(work / up_above.max(1e-9)),
                        Policy::Threshold { .. } => None,
                        Policy::Schedule(steps) => Some(time_average(
                            f64::from(s.replicas),
                            steps.iter().map(|&(t, k)| (t, f64::from(k))),
                            cfg.duration,
                        )),
                    }?;
                    Some((want.ceil().max(1.0) as u32).clamp(a.min.max(1), a.max.max(1)))
                });
                let replicas = scaled.unwrap_or(s.replicas).max(1);
                let speed = (0..replicas as usize)
                    .map(|i| s.speeds.get(i).copied().unwrap_or(1.0))
                    .sum::<f64>()
                    / f64::from(replicas);
                let mean = mean / speed.max(1e-9);
                let scv = if w > r {
                    s.write_time.scv()
                } else {
                    s.read_time.scv()
                };
                // Behind a load-aware balancer the replicas act as one pool
                // (join the shortest queue: close to M/M/(replicas × cores));
                // otherwise each replica gets its share of the stream.
                let pooled = cfg.components.iter().any(|b| {
                    matches!(b, CompCfg::Balancer(b) if b.backend as usize == id
                        && matches!(b.algorithm, Algorithm::LeastConnections | Algorithm::PowerOfTwo | Algorithm::LeastTime))
                });
                let (per, servers) = if pooled {
                    (lambda, s.cores * replicas)
                } else {
                    (lambda / f64::from(replicas), s.cores)
                };
                // Fixed work per call (`overhead`); a batched queue's
                // consumer pays it once per batch.
                let overhead = s.overhead.as_ref().map_or(0.0, |o| o.mean_ns() / 1e9) / speed.max(1e-9);
                let batched = cfg.components.iter().find_map(|q| match q {
                    CompCfg::Queue(q)
                        if q.batch > 1
                            && (q.consumer as usize == id
                                || q.consumer_service.map(|c| c as usize) == Some(id)) =>
                    {
                        Some((f64::from(q.batch), q.max_wait as f64 / 1e9))
                    }
                    _ => None,
                });
                if let Some((size, max_wait)) = batched {
                    // A batch is what arrives while it lingers, or while a
                    // worker is busy with the last one: n = λ/c·(a + s·n).
                    let per_worker = lambda / f64::from(servers);
                    let busy = if per_worker * mean < 1.0 {
                        per_worker * overhead / (1.0 - per_worker * mean)
                    } else {
                        f64::INFINITY
                    };
                    let n = (1.0 + lambda * max_wait).max(busy).clamp(1.0, size);
                    let util = (lambda / n * (overhead + n * mean) / f64::from(servers)).min(1.0);
                    // Capacity is set by full batches: load against that
                    // decides stability and the bottleneck.
                    let load = lambda * (overhead / size + mean) / f64::from(servers);
                    t.utilization = Some(util);
                    t.model = format!(
                        "batched, ≈ {n:.1} messages a call; full batches of {size} carry {:.0}/s",
                        f64::from(servers) * size / (overhead + size * mean)
                    );
                    // Waits for a batch to fill are not modelled: no
                    // latency prediction when a client waits on a batch.
                    if sync[id] > 0.0 || load >= 1.0 {
                        latency_ok = false;
                    }
                    tiers.push(t);
                    if bottleneck.as_ref().is_none_or(|b| load > b.1) {
                        bottleneck = Some((names[id].clone(), load));
                    }
                    continue;
                }
                // A static balancer (round robin, random, weights) ignores
                // speed: each replica gets its share whatever its pace, so
                // the slowest (or heaviest-weighted) one saturates first.
                let reps = replicas as usize;
                let speeds: Vec<f64> = (0..reps)
                    .map(|i| s.speeds.get(i).copied().unwrap_or(1.0).max(1e-9))
                    .collect();
                let weights: Vec<f64> = cfg
                    .components
                    .iter()
                    .find_map(|b| match b {
                        CompCfg::Balancer(b)
                            if b.backend as usize == id && b.algorithm == Algorithm::WeightedRoundRobin =>
                        {
                            Some(
                                (0..reps)
                                    .map(|i| b.weights.get(i).copied().unwrap_or(1.0))
                                    .collect(),
                            )
                        }
                        _ => None,
                    })
                    .unwrap_or_else(|| vec![1.0; reps]);
                let uneven = speeds.iter().any(|&x| (x - speeds[0]).abs() > 1e-12)
                    || weights.iter().any(|&x| (x - weights[0]).abs() > 1e-12);
                if !pooled && reps > 1 && uneven {
                    let total: f64 = weights.iter().sum::<f64>().max(1e-12);
                    let (raw, raw_over) = (mean * speed, overhead * speed);
                    let (mut busy, mut worst, mut worst_i, mut resp) = (0.0, 0.0f64, 0, Some(0.0));
                    for i in 0..reps {
                        let share = weights[i] / total;
                        let m = (raw + raw_over) / speeds[i];
                        let u = lambda * share * m / f64::from(s.cores.max(1));
                        busy += u / reps as f64;
                        if u > worst {
                            (worst, worst_i) = (u, i);
                        }
                        resp = match (resp, mgc_wait(lambda * share, m, scv, s.cores.max(1))) {
                            (Some(acc), Some(wq)) if u < 1.0 => Some(acc + share * (wq + m)),
                            _ if share == 0.0 => resp,
                            _ => None,
                        };
                    }
                    t.utilization = Some(busy);
                    t.response_ms = resp.map(|x| x * 1e3);
                    t.model = if worst < 1.0 {
                        format!(
                            "M/G/{} per replica, static shares; busiest replica {worst_i} at {:.0}%",
                            s.cores,
                            worst * 100.0
                        )
                    } else {
                        latency_ok = false;
                        format!(
                            "overloaded: replica {worst_i} gets its share at its speed ({:.0}%); a load-aware balancer would pool them",
                            worst * 100.0
                        )
                    };
                    tiers.push(t);
                    if bottleneck.as_ref().is_none_or(|b| worst > b.1) {
                        bottleneck = Some((names[id].clone(), worst));
                    }
                    continue;
                }
                let mean = mean + overhead;
                let util = per * mean / f64::from(servers);
                t.utilization = Some(util);
                if util < 1.0 {
                    let wq = mgc_wait(per, mean, scv, servers);
                    t.wait_ms = wq.map(|x| x * 1e3);
                    t.response_ms = wq.map(|x| (x + mean) * 1e3);
                    t.model = if (scv - 1.0).abs() < 1e-9 {
                        format!("M/M/{}", s.cores)
                    } else if servers == 1 {
                        "M/G/1 (P-K)".into()
                    } else {
                        format!("M/G/{} (Allen–Cunneen)", s.cores)
                    };
                    if replicas > 1 && pooled {
                        t.model = format!(
                            "≈ pooled {} (load-aware balancer)",
                            t.model
                                .replace(&format!("/{}", s.cores), &format!("/{}", servers))
                        );
                    } else if replicas > 1 {
                        t.model.push_str(&format!(" ×{replicas}"));
                    }
                    if let (Some(_), Some(a)) = (scaled, &s.autoscale) {
                        t.model
                            .push_str(&format!(", autoscaled to ≈ {replicas} replicas"));
                        capacity_load = Some(util * f64::from(replicas) / f64::from(a.max.max(1)));
                    }
                } else {
                    t.model = "overloaded".into();
                    latency_ok = false;
                }
            }
            CompCfg::Database(d) => {
                let slots = f64::from(d.shards.max(1) * d.cores.max(1));
                let work = r * d.read_time.mean_ns() / 1e9 + w * d.write_time.mean_ns() / 1e9;
                let util = work / slots;
                t.utilization = Some(util);
                t.model = "busy ÷ (shards × cores), even spread, primaries only".into();
                if util < 1.0 && r + w > 0.0 {
                    let mean = work / (r + w);
                    let wq = mgc_wait((r + w) / f64::from(d.shards.max(1)), mean, 1.0, d.cores.max(1));
                    t.response_ms = wq.map(|x| (x + mean) * 1e3);
                    t.wait_ms = wq.map(|x| x * 1e3);
                } else if util >= 1.0 {
                    latency_ok = false;
                }
            }
            CompCfg::Gateway(g) => {
                t.response_ms = Some(g.service_time.mean_ns() / 1e6);
                t.model = "a delay per request (rejections are answered at once)".into();
            }
            CompCfg::Cache(k) => {
                t.response_ms = Some(k.hit_time.mean_ns() / 1e6);
                t.model = "hit ratio by Che (LRU), first client's keys".into();
            }
            _ => {}
        }
        if let Some(u) = capacity_load.or(t.utilization)
            && bottleneck.as_ref().is_none_or(|b| u > b.1)
        {
            bottleneck = Some((t.name.clone(), u));
        }
        tiers.push(t);
    }
    // A queue is its consumer's waiting room: end to end is about the
    // consumer's response time (wait + service).
    for (i, c) in cfg.components.iter().enumerate() {
        if let CompCfg::Queue(q) = c {
            let consumer = q.consumer_service.unwrap_or(q.consumer) as usize;
            let e2e = consumer
                .checked_sub(nclients)
                .and_then(|k| tiers.get(k))
                .and_then(|t| t.response_ms);
            let ack = match q.ack {
                crate::model::queue::Ack::AfterEnqueue => "answers on enqueue",
                crate::model::queue::Ack::AfterProcessing => "answers after processing",
            };
            tiers[i].model = match e2e {
                Some(ms) => format!("{ack}; end to end ≈ {ms:.2} ms (the consumer's response)"),
                None => ack.to_string(),
            };
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

fn comp_name(c: &CompCfg) -> String {
    match c {
        CompCfg::Service(s) => s.name.clone(),
        CompCfg::Balancer(b) => b.name.clone(),
        CompCfg::Cache(k) => k.name.clone(),
        CompCfg::Database(d) => d.name.clone(),
        CompCfg::Queue(q) => q.name.clone(),
        CompCfg::Gateway(g) => g.name.clone(),
        CompCfg::Dns(d) => d.name.clone(),
        CompCfg::Inert(n) => n.clone(),
    }
}

fn comp_kind(c: &CompCfg) -> &'static str {
    match c {
        CompCfg::Service(_) => "service",
        CompCfg::Balancer(_) => "load_balancer",
        CompCfg::Cache(k) => k.kind,
        CompCfg::Database(_) => "database",
        CompCfg::Queue(_) => "queue",
        CompCfg::Gateway(_) => "gateway",
        CompCfg::Dns(_) => "dns",
        CompCfg::Inert(_) => "autoscaler",
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

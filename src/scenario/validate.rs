//! From the file's types to the model's configuration: check every value,
//! resolve names to ids, and report each problem with its field path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::dist::{DistSpec, Sampler};
use super::limits::{
    MAX_BACKUP_COPIES, MAX_BATCH, MAX_BATCH_SLOTS, MAX_CONCURRENCY, MAX_DATA_FILE_BYTES, MAX_DATA_VALUES,
    MAX_DB_CORE_SLOTS, MAX_FOLLOWERS, MAX_GRID_CELLS, MAX_INSTANCES, MAX_QUORUM_N, MAX_SERIES_ROWS,
    MAX_SHARDS, MAX_TABLE_CELLS, MAX_VNODES, MIN_PERIOD_NS,
};
use super::spec::*;
use super::units::Duration;
use crate::engine::NS_PER_S;
use crate::model::balancer::BalancerCfg;
use crate::model::cache::CacheCfg;
use crate::model::client::{ArrivalCfg, ClientCfg, KeysCfg};
use crate::model::database::{DatabaseCfg, Mode};
use crate::model::dns::{DnsCfg, DnsPolicy};
use crate::model::gateway::{GatewayCfg, RateLimitCfg};
use crate::model::partition::Scheme;
use crate::model::queue::{Ack, QueueCfg};
use crate::model::resilience::{Backoff, BreakerCfg, CallPolicy, Jitter, RetryCfg};
use crate::model::service::LoadDependence;
use crate::model::service::{EdgeCfg, ServiceCfg, StateCfg, StepCfg};
use crate::model::store::Policy;
use crate::model::{
    CompCfg, Config, FaultAction, FaultCfg, Groups, NETWORK, NO_REGION, Network, RandomFaultCfg,
};

/// A problem found after parsing: a dotted field path and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Dotted path into the YAML tree.
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// For a problem with a name itself (a client or component name): the
    /// name, which is the last segment of `path`; the error then points at
    /// the key in the file rather than at its value.
    pub key: Option<String>,
}

/// Options that do not live in the file.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Time-series interval; `None` picks 1 s, or a longer round interval
    /// for long runs so the series has at most [`MAX_ROWS`] rows (memory
    /// stays bounded however long the run).
    pub interval: Option<Duration>,
    /// In-flight request limit before a run is declared unstable and stopped.
    pub max_in_flight: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            interval: None,
            max_in_flight: 1_000_000,
        }
    }
}

struct Checker<'a> {
    problems: Vec<Problem>,
    base_dir: &'a Path,
    /// Empirical distributions read so far, by resolved path: a file named
    /// by many fields is read once.
    samplers: BTreeMap<PathBuf, Result<Sampler, String>>,
    /// Arrival traces read so far, by resolved path.
    traces: BTreeMap<PathBuf, Result<Arc<Vec<u64>>, String>>,
    /// Values read from files so far (see [`MAX_DATA_VALUES`]).
    file_values: u64,
    /// Cells of the per-client-and-component tables so far (see
    /// [`MAX_GRID_CELLS`]).
    grid_cells: u64,
    /// Region index by name (the first of duplicates, as a list lookup
    /// would find), so lookups stay logarithmic however many there are.
    regions: BTreeMap<&'a str, u16>,
}

impl Checker<'_> {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
            key: None,
        });
    }

    /// A problem with the name `key` of an entry of the map at `parent`.
    fn err_key(&mut self, parent: &str, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: format!("{parent}.{key}"),
            message: message.into(),
            key: Some(key.to_string()),
        });
    }

    /// Checks the period of a repeating timer: zero gets `zero` (the message
    /// it always had), anything else below [`MIN_PERIOD_NS`] is refused with
    /// the floor stated. `what` names the field in the message.
    fn period(&mut self, path: &str, ns: u64, what: &str, zero: &str) {
        if ns == 0 {
            self.err(path, zero);
        } else if ns < MIN_PERIOD_NS {
            self.err(
                path,
                format!(
                    "{what} must be at least {} (the shortest period of a repeating timer: a shorter one \
                     would fire more often than a run can simulate), found {}",
                    Duration(MIN_PERIOD_NS),
                    Duration(ns)
                ),
            );
        }
    }

    /// Counts `n` more values read from files against [`MAX_DATA_VALUES`].
    fn charge_file_values(&mut self, n: usize) -> Result<(), String> {
        self.file_values = self.file_values.saturating_add(n as u64);
        if self.file_values > MAX_DATA_VALUES {
            return Err(format!(
                "the files this scenario names hold more than {MAX_DATA_VALUES} values together, the most \
                 archsim keeps (traces and empirical distributions)"
            ));
        }
        Ok(())
    }

    fn sampler(&mut self, path: &str, d: &DistSpec) -> Option<Sampler> {
        let file = match d {
            DistSpec::Empirical(f) => Some(self.base_dir.join(f)),
            _ => None,
        };
        let made = match file.as_ref().and_then(|f| self.samplers.get(f)) {
            Some(done) => done.clone(),
            None => {
                let made = super::dist::sampler(d, self.base_dir)
                    .and_then(|s| self.charge_file_values(s.table_len()).map(|()| s));
                if let Some(f) = file {
                    self.samplers.insert(f, made.clone());
                }
                made
            }
        };
        match made {
            Ok(s) => Some(s),
            Err(e) => {
                self.err(path, e);
                None
            }
        }
    }

    /// An arrival trace, read once per file.
    fn trace(&mut self, file: &Path) -> Result<Arc<Vec<u64>>, String> {
        let path = self.base_dir.join(file);
        if let Some(done) = self.traces.get(&path) {
            return done.clone();
        }
        let made = load_trace(&path).and_then(|t| self.charge_file_values(t.len()).map(|()| Arc::new(t)));
        self.traces.insert(path, made.clone());
        made
    }

    /// Counts `n` more cells of the tables partitions, injected latencies and
    /// DNS keep against [`MAX_GRID_CELLS`]; false (with a problem at `path`)
    /// once they would exceed it.
    fn charge_grid(&mut self, path: &str, n: u64, what: &str) -> bool {
        self.grid_cells = self.grid_cells.saturating_add(n);
        if self.grid_cells > MAX_GRID_CELLS {
            self.err(
                path,
                format!(
                    "{what}: partitions, injected latencies and DNS keep a table entry per client and \
                     component, at most {MAX_GRID_CELLS} in all, and this one brings them to {}",
                    self.grid_cells
                ),
            );
            return false;
        }
        true
    }

    /// The index of region `name`, if the network lists it.
    fn region(&self, name: &str) -> Option<u16> {
        self.regions.get(name).copied()
    }

    fn positive_f64(&mut self, path: &str, v: f64, what: &str) {
        if !(v.is_finite() && v > 0.0) {
            self.err(path, format!("{what} must be a positive number, found {v}"));
        }
    }

    fn rate(&mut self, path: &str, v: f64) {
        if !(v.is_finite() && v >= 0.0) {
            self.err(path, format!("a rate must be zero or positive, found {v}"));
        }
    }
}

/// Check a parsed scenario and build the model's configuration.
/// `base_dir` is where relative file names (traces, empirical
/// distributions) are looked up: the scenario file's folder.
pub fn build(sc: &Scenario, base_dir: &Path, opts: &BuildOptions) -> Result<Config, Vec<Problem>> {
    let mut ck = Checker {
        problems: Vec::new(),
        base_dir,
        samplers: BTreeMap::new(),
        traces: BTreeMap::new(),
        file_values: 0,
        grid_cells: 0,
        regions: BTreeMap::new(),
    };
    for (i, r) in sc.network.regions.iter().enumerate().take(usize::from(u16::MAX)) {
        ck.regions.entry(r.as_str()).or_insert(i as u16);
    }
    // The name becomes the output folder, `output/<name>/`.
    if sc.name.trim().is_empty() {
        ck.err("name", "the scenario needs a non-empty name");
    } else if sc.name.contains(['/', '\\']) || sc.name.starts_with('.') {
        ck.err(
            "name",
            "a name may not contain `/` or `\\` or start with `.` (it names the output folder)",
        );
    } else if let Some(m) = super::limits::name_problem(&sc.name, &[]) {
        ck.err("name", format!("{m} (it names the output folder)"));
    }
    // Client and component names head the columns of timeseries.csv and
    // name metrics; a comma or a quote would break the CSV.
    for (section, names) in [
        ("clients", sc.clients.keys().collect::<Vec<_>>()),
        ("components", sc.components.keys().collect()),
    ] {
        for name in names {
            if let Some(m) = super::limits::name_problem(name, &[',', '"']) {
                ck.err_key(
                    section,
                    name,
                    format!("{m} (names head the columns of timeseries.csv)"),
                );
            }
        }
    }
    if sc.duration.is_zero() {
        ck.err("duration", "duration must be longer than zero");
    } else if sc.duration > Duration::from_nanos(MAX_DURATION_NS) {
        ck.err(
            "duration",
            format!("duration may be at most 100 years, found {}", sc.duration),
        );
    }
    if sc.warmup.fixed() >= sc.duration && !sc.duration.is_zero() {
        ck.err(
            "warmup",
            format!(
                "warmup ({}) must be shorter than duration ({})",
                sc.warmup.fixed(),
                sc.duration
            ),
        );
    }
    if sc.clients.is_empty() {
        ck.err("clients", "at least one client is needed to offer load");
    }
    if sc.components.is_empty() {
        ck.err("components", "at least one component is needed to serve requests");
    }
    let nclients = sc.clients.len() as u32;
    let comp_id = |name: &str| sc.components.get_index_of(name).map(|i| nclients + i as u32);
    // The names listed when a reference is wrong: the first few, so that a
    // scenario with thousands of components does not print them all per error.
    let known = || {
        const SHOWN: usize = 20;
        let mut list = sc
            .components
            .keys()
            .take(SHOWN)
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        if sc.components.len() > SHOWN {
            list.push_str(&format!(" and {} more", sc.components.len() - SHOWN));
        }
        list
    };

    let network = network(&mut ck, sc);

    // Clients.
    let mut clients = Vec::new();
    let mut identity_base = 0u64;
    // Closed-loop users of all clients so far: each has a request or a
    // think-time timer pending for the whole run.
    let mut users_total = 0u64;
    for (name, c) in &sc.clients {
        let p = format!("clients.{name}");
        let target = match comp_id(&c.target) {
            Some(id) => id,
            None => {
                ck.err(
                    format!("{p}.target"),
                    format!("no component named `{}` (components are {})", c.target, known()),
                );
                0
            }
        };
        if let Some(ComponentSpec::Cache(k)) = sc.components.get(&c.target)
            && k.read_policy == ReadPolicy::CacheAside
        {
            ck.err(
                format!("{p}.target"),
                format!(
                    "`{}` is a cache_aside cache: a service must call it (it loads misses itself); \
                     use read_policy: read_through to send clients to it directly",
                    c.target
                ),
            );
        }
        let ap = format!("{p}.arrival");
        let arrival = match &c.arrival {
            Arrival::Poisson(r) => {
                ck.rate(&format!("{ap}.poisson"), r.per_sec());
                ArrivalCfg::Poisson(r.per_sec())
            }
            Arrival::Constant(r) => {
                ck.rate(&format!("{ap}.constant"), r.per_sec());
                ArrivalCfg::Constant(r.per_sec())
            }
            Arrival::Interarrival(d) => match ck.sampler(&format!("{ap}.interarrival"), d) {
                Some(s) if s.mean_ns() <= 0.0 => {
                    ck.err(
                        format!("{ap}.interarrival"),
                        "inter-arrival times must have a positive mean",
                    );
                    ArrivalCfg::Poisson(0.0)
                }
                Some(s) => ArrivalCfg::Interarrival(s),
                None => ArrivalCfg::Poisson(0.0),
            },
            Arrival::Schedule(steps) => {
                if steps.is_empty() {
                    ck.err(
                        format!("{ap}.schedule"),
                        "a schedule needs at least one `{ at, rate }` step",
                    );
                }
                for (i, s) in steps.iter().enumerate() {
                    ck.rate(&format!("{ap}.schedule.{i}.rate"), s.rate.per_sec());
                    if i > 0 && s.at <= steps[i - 1].at {
                        ck.err(
                            format!("{ap}.schedule.{i}.at"),
                            format!(
                                "steps must be in increasing time order ({} follows {})",
                                s.at,
                                steps[i - 1].at
                            ),
                        );
                    }
                }
                ArrivalCfg::Schedule(
                    steps
                        .iter()
                        .map(|s| (s.at.as_nanos(), s.rate.per_sec()))
                        .collect(),
                )
            }
            Arrival::Diurnal(d) => {
                ck.rate(&format!("{ap}.diurnal.mean"), d.mean.per_sec());
                if !(0.0..=1.0).contains(&d.amplitude) {
                    ck.err(
                        format!("{ap}.diurnal.amplitude"),
                        format!("amplitude must be between 0 and 1, found {}", d.amplitude),
                    );
                }
                ck.period(
                    &format!("{ap}.diurnal.period"),
                    d.period.as_nanos(),
                    "a diurnal period",
                    "period must be longer than zero",
                );
                ArrivalCfg::Diurnal {
                    mean: d.mean.per_sec(),
                    amplitude: d.amplitude,
                    period: d.period.as_nanos().max(1),
                }
            }
            Arrival::Trace(file) => match ck.trace(file) {
                Ok(t) => ArrivalCfg::Trace(t),
                Err(e) => {
                    ck.err(format!("{ap}.trace"), e);
                    ArrivalCfg::Trace(Arc::new(Vec::new()))
                }
            },
            Arrival::Closed(cl) => {
                users_total += u64::from(cl.users);
                if cl.users > MAX_USERS {
                    ck.err(
                        format!("{ap}.closed.users"),
                        format!("at most {MAX_USERS} closed-loop users, found {}", cl.users),
                    );
                } else if users_total > u64::from(MAX_USERS) {
                    ck.err(
                        format!("{ap}.closed.users"),
                        format!(
                            "closed-loop users of all clients together may be at most {MAX_USERS}; with this \
                             client's {} they would be {users_total}",
                            cl.users
                        ),
                    );
                }
                if cl.users == 0 {
                    ck.err(
                        format!("{ap}.closed.users"),
                        "a closed loop needs at least one user",
                    );
                }
                let think = ck
                    .sampler(&format!("{ap}.closed.think_time"), &cl.think_time)
                    .unwrap_or_else(|| Sampler::constant(0));
                ArrivalCfg::Closed {
                    users: cl.users,
                    think,
                }
            }
        };
        let policy = call_policy(
            &mut ck,
            &p,
            c.timeout,
            c.retry.as_ref(),
            c.circuit_breaker.as_ref(),
            c.idempotent,
        );
        let mix = c.requests;
        let total = mix.read + mix.write;
        if !(mix.read >= 0.0 && mix.write >= 0.0 && total.is_finite() && total > 0.0) {
            ck.err(
                format!("{p}.requests"),
                "operation weights must be zero or positive and not all zero",
            );
        }
        let keys = keys_cfg(&mut ck, &format!("{p}.keys"), c.keys);
        let static_content = c.static_content.as_ref().map(|st| {
            let sp = format!("{p}.static");
            if !(0.0..=1.0).contains(&st.fraction) {
                ck.err(
                    format!("{sp}.fraction"),
                    format!("a fraction must be between 0 and 1, found {}", st.fraction),
                );
            }
            let t = match comp_id(&st.target) {
                Some(id) => id,
                None => {
                    ck.err(
                        format!("{sp}.target"),
                        format!("no component named `{}` (components are {})", st.target, known()),
                    );
                    0
                }
            };
            let k = match st.keys {
                Some(k) => keys_cfg(&mut ck, &format!("{sp}.keys"), Some(k)),
                None => keys,
            };
            (st.fraction, t, k)
        });
        let identities = match (c.identities, &c.arrival) {
            (Some(0), _) => {
                ck.err(format!("{p}.identities"), "identities must be at least 1");
                1
            }
            (Some(n), _) if n > MAX_IDENTITIES => {
                ck.err(
                    format!("{p}.identities"),
                    format!(
                        "at most {MAX_IDENTITIES} identities per client (sticky balancers and stateful \
                         services keep an entry for each), found {n}"
                    ),
                );
                1
            }
            (Some(n), _) => n,
            (None, Arrival::Closed(cl)) => u64::from(cl.users.max(1)),
            (None, _) => 1,
        };
        clients.push(ClientCfg {
            name: name.clone(),
            target,
            arrival,
            policy,
            write_fraction: if total > 0.0 { mix.write / total } else { 0.0 },
            keys,
            identities,
            identity_base,
            static_content,
        });
        identity_base = match identity_base.checked_add(identities) {
            Some(b) if b <= MAX_IDENTITIES => b,
            _ => {
                ck.err(
                    format!("{p}.identities"),
                    format!(
                        "identities of all clients together may be at most {MAX_IDENTITIES}; with this \
                         client's {identities} they would be {}",
                        identity_base.saturating_add(identities)
                    ),
                );
                0
            }
        };
    }

    // The key space stores size their tables by.
    let key_space = clients
        .iter()
        .flat_map(|c| std::iter::once(key_count(&c.keys)).chain(c.static_content.map(|s| key_count(&s.2))))
        .max()
        .unwrap_or(1)
        .max(1);
    let needs_dense = sc.components.values().any(|c| match c {
        ComponentSpec::Database(_) => true,
        ComponentSpec::Cache(k) => k.eviction == Eviction::Lfu,
        ComponentSpec::Cdn(k) => k.eviction == Eviction::Lfu,
        _ => false,
    });
    if needs_dense && key_space > MAX_DATA_KEYS {
        ck.err(
            "clients",
            format!(
                "with a database or an LFU cache, clients may use at most {MAX_DATA_KEYS} keys \
                 (the largest key space here is {key_space})"
            ),
        );
    }
    let key_space = key_space.min(MAX_DATA_KEYS);
    let db_slot = |name: &str| {
        sc.components
            .iter()
            .filter(|(_, c)| matches!(c, ComponentSpec::Database(_)))
            .position(|(n, _)| n == name)
    };
    // Resharding events: how many shards each database may gain.
    let mut events = Vec::new();
    let mut added: Vec<u32> = vec![0; sc.components.len()];
    for (i, e) in sc.events.iter().enumerate() {
        let ep = format!("events.{i}");
        let (field, code, db) = match (&e.add_shard, &e.remove_shard) {
            (Some(db), None) => ("add_shard", crate::model::database::ADD_SHARD, db),
            (None, Some(db)) => ("remove_shard", crate::model::database::REMOVE_SHARD, db),
            _ => {
                ck.err(
                    ep,
                    "an event needs exactly one action besides `at`: `add_shard: DB` or `remove_shard: DB`",
                );
                continue;
            }
        };
        match sc.components.get_full(db.as_str()) {
            Some((idx, _, ComponentSpec::Database(_))) => {
                if code == crate::model::database::ADD_SHARD {
                    added[idx] += 1;
                }
                events.push((e.at.as_nanos(), nclients + idx as u32, code));
            }
            Some((_, _, other)) => ck.err(
                format!("{ep}.{field}"),
                format!(
                    "`{db}` is a {}; shards are added to and removed from a database",
                    other.kind()
                ),
            ),
            None => ck.err(
                format!("{ep}.{field}"),
                format!("no component named `{db}` (components are {})", known()),
            ),
        }
    }
    events.sort_by_key(|e| e.0);
    let (faults, random_faults, partitions, latencies) =
        faults(&mut ck, sc, nclients, &known, &network.region);

    // Components.
    let mut comps = Vec::new();
    for (name, c) in &sc.components {
        let p = format!("components.{name}");
        let cfg = match c {
            ComponentSpec::Service(s) => {
                let aside = |target: &str| match sc.components.get(target) {
                    Some(ComponentSpec::Cache(k)) if k.read_policy == ReadPolicy::CacheAside => {
                        comp_id(&k.backend)
                    }
                    _ => None,
                };
                let mut cfg = service(&mut ck, &p, name, s, &comp_id, &known, &aside);
                if let CompCfg::Service(svc) = &mut cfg {
                    match &s.state {
                        None | Some(StateSpec::Stateless) => {}
                        Some(StateSpec::Stateful) => {
                            let login_time = match &s.login_time {
                                Some(d) => ck
                                    .sampler(&format!("{p}.login_time"), d)
                                    .unwrap_or_else(|| Sampler::constant(0)),
                                None => Sampler::constant(50_000_000),
                            };
                            svc.state = StateCfg::Stateful {
                                login_time,
                                users: identity_base.clamp(1, 1 << 24) as u32,
                            };
                        }
                        Some(StateSpec::Store(store)) => match sc.components.get(store) {
                            Some(ComponentSpec::Cache(_) | ComponentSpec::Database(_)) => {
                                svc.state = StateCfg::Store;
                                let target = comp_id(store).unwrap_or(0);
                                svc.calls.insert(
                                    0,
                                    StepCfg {
                                        edges: vec![EdgeCfg {
                                            target,
                                            probability: 1.0,
                                            on: None,
                                            policy: CallPolicy::default(),
                                            aside: None,
                                            optional: false,
                                            session: true,
                                        }],
                                    },
                                );
                            }
                            Some(other) => ck.err(
                                format!("{p}.state.store"),
                                format!(
                                    "`{store}` is a {}; sessions live in a cache or a database",
                                    other.kind()
                                ),
                            ),
                            None => ck.err(
                                format!("{p}.state.store"),
                                format!("no component named `{store}` (components are {})", known()),
                            ),
                        },
                    }
                }
                cfg
            }
            ComponentSpec::LoadBalancer(b) => {
                let (backend, replicas) = match sc.components.get(&b.backends) {
                    Some(ComponentSpec::Service(s)) => (
                        comp_id(&b.backends).unwrap_or(0),
                        s.replicas.clamp(1, MAX_REPLICAS),
                    ),
                    Some(other) => {
                        ck.err(
                            format!("{p}.backends"),
                            format!(
                                "`{}` is a {}; a load balancer's backends must be a service",
                                b.backends,
                                other.kind()
                            ),
                        );
                        (0, 1)
                    }
                    None => {
                        ck.err(
                            format!("{p}.backends"),
                            format!("no component named `{}` (components are {})", b.backends, known()),
                        );
                        (0, 1)
                    }
                };
                // More choices than replicas means "look at all of them".
                let choices = b.choices.unwrap_or(2).min(replicas.max(1));
                if b.choices == Some(0) {
                    ck.err(format!("{p}.choices"), "choices must be at least 1");
                }
                let weights = match &b.weights {
                    Some(w) => {
                        if w.len() != replicas as usize {
                            ck.err(
                                format!("{p}.weights"),
                                format!("expected one weight per replica ({replicas}), found {}", w.len()),
                            );
                        }
                        if w.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || w.iter().sum::<f64>() <= 0.0 {
                            ck.err(
                                format!("{p}.weights"),
                                "weights must be zero or positive and not all zero",
                            );
                        }
                        let mut w = w.clone();
                        w.resize(replicas as usize, 1.0);
                        w
                    }
                    None => match sc.components.get(&b.backends) {
                        Some(ComponentSpec::Service(s)) => speeds(&s.speed, replicas),
                        _ => vec![1.0; replicas as usize],
                    },
                };
                let vnodes = b.vnodes.unwrap_or(160);
                if vnodes == 0 {
                    ck.err(format!("{p}.vnodes"), "vnodes must be at least 1");
                } else if u64::from(vnodes) * u64::from(replicas) > MAX_RING_POINTS {
                    ck.err(
                        format!("{p}.vnodes"),
                        format!("vnodes × replicas may be at most {MAX_RING_POINTS} ring points"),
                    );
                }
                CompCfg::Balancer(BalancerCfg {
                    name: name.clone(),
                    algorithm: b.algorithm,
                    backend,
                    replicas,
                    active: replicas,
                    choices: choices.max(1),
                    weights,
                    vnodes: vnodes.max(1),
                    identities: identity_base.max(1),
                    health: b.health_check.map(|h| {
                        let hp = format!("{p}.health_check");
                        let interval = h.interval.map_or(2_000_000_000, |d| d.as_nanos());
                        let timeout = h.timeout.map_or(1_000_000_000, |d| d.as_nanos());
                        ck.period(
                            &format!("{hp}.interval"),
                            interval,
                            "a health-check interval",
                            "interval must be longer than zero",
                        );
                        if timeout == 0 {
                            ck.err(format!("{hp}.timeout"), "timeout must be longer than zero");
                        }
                        for (f, v) in [
                            ("unhealthy_after", h.unhealthy_after),
                            ("healthy_after", h.healthy_after),
                        ] {
                            if v == Some(0) {
                                ck.err(format!("{hp}.{f}"), format!("{f} must be at least 1"));
                            }
                        }
                        crate::model::balancer::HealthCfg {
                            interval: interval.max(1),
                            timeout: timeout.max(1),
                            unhealthy_after: h.unhealthy_after.unwrap_or(3).max(1),
                            healthy_after: h.healthy_after.unwrap_or(2).max(1),
                        }
                    }),
                    outlier: b.outlier_detection.map(|o| {
                        let op = format!("{p}.outlier_detection");
                        if o.consecutive_errors == Some(0) {
                            ck.err(
                                format!("{op}.consecutive_errors"),
                                "consecutive_errors must be at least 1",
                            );
                        }
                        let base = o.base_ejection_time.map_or(30 * NS_PER_S, |d| d.as_nanos());
                        if base == 0 {
                            ck.err(
                                format!("{op}.base_ejection_time"),
                                "base_ejection_time must be longer than zero",
                            );
                        }
                        // Envoy: unset, the cap is 300 s or the base time, whichever is longer.
                        let max = match o.max_ejection_time {
                            None => base.max(300 * NS_PER_S),
                            Some(d) if d.as_nanos() == 0 => {
                                ck.err(
                                    format!("{op}.max_ejection_time"),
                                    "max_ejection_time must be longer than zero",
                                );
                                base
                            }
                            Some(d) if d.as_nanos() < base => {
                                ck.err(
                                    format!("{op}.max_ejection_time"),
                                    format!(
                                        "max_ejection_time ({d}) must not be shorter than base_ejection_time ({})",
                                        Duration(base)
                                    ),
                                );
                                base
                            }
                            Some(d) => d.as_nanos(),
                        };
                        let pct = o.max_ejection_percent.unwrap_or(10.0);
                        if !(0.0..=100.0).contains(&pct) {
                            ck.err(
                                format!("{op}.max_ejection_percent"),
                                format!("max_ejection_percent must be between 0 and 100, found {pct}"),
                            );
                        }
                        crate::model::balancer::OutlierCfg {
                            consecutive_errors: o.consecutive_errors.unwrap_or(5).max(1),
                            base_ejection_time: base.max(1),
                            max_ejection_time: max.max(base).max(1),
                            max_ejection_percent: if (0.0..=100.0).contains(&pct) { pct } else { 10.0 },
                        }
                    }),
                })
            }
            ComponentSpec::Cache(k) => {
                let backend = backend_of(&mut ck, sc, &p, "backend", name, &k.backend, &comp_id, &known);
                if let Some(ComponentSpec::Cache(b)) = sc.components.get(&k.backend)
                    && b.read_policy == ReadPolicy::CacheAside
                {
                    ck.err(
                        format!("{p}.backend"),
                        format!(
                            "`{}` is a cache_aside cache: only a service can fill it; use read_through there",
                            k.backend
                        ),
                    );
                }
                if k.nodes == 0 || k.nodes > MAX_REPLICAS {
                    ck.err(
                        format!("{p}.nodes"),
                        format!("nodes must be between 1 and {MAX_REPLICAS}, found {}", k.nodes),
                    );
                }
                let capacity = cache_capacity(&mut ck, &p, k.capacity);
                if u64::from(k.nodes.max(1)).saturating_mul(k.capacity) > MAX_CACHE_ENTRIES
                    && k.capacity <= MAX_CACHE_ENTRIES
                {
                    ck.err(
                        format!("{p}.nodes"),
                        format!(
                            "nodes × capacity may be at most {MAX_CACHE_ENTRIES} entries, found {} × {}",
                            k.nodes, k.capacity
                        ),
                    );
                }
                if k.write_policy == WritePolicy::WriteBack
                    && let Some(d) = k.flush_interval
                {
                    ck.period(
                        &format!("{p}.flush_interval"),
                        d.as_nanos(),
                        "a flush interval",
                        "a flush interval must be longer than zero",
                    );
                }
                let hit_time = match &k.hit_time {
                    Some(d) => ck.sampler(&format!("{p}.hit_time"), d),
                    None => Some(Sampler::constant(200_000)),
                }
                .unwrap_or_else(|| Sampler::constant(0));
                price(&mut ck, &p, k.price_per_hour);
                CompCfg::Cache(CacheCfg {
                    name: name.clone(),
                    kind: "cache",
                    nodes: k.nodes.clamp(1, MAX_REPLICAS),
                    capacity,
                    policy: policy(k.eviction),
                    ttl: ttl(&mut ck, &p, k.ttl),
                    read_policy: k.read_policy,
                    write_policy: k.write_policy,
                    backend,
                    hit_time,
                    backend_latency: None,
                    flush_interval: k.flush_interval.map_or(1_000_000_000, |d| d.as_nanos().max(1)),
                    source: source_db(sc, &k.backend, &db_slot, 0),
                    key_space,
                    price_per_hour: k.price_per_hour.unwrap_or(0.0),
                })
            }
            ComponentSpec::Cdn(k) => {
                let backend = backend_of(&mut ck, sc, &p, "origin", name, &k.origin, &comp_id, &known);
                let capacity = cache_capacity(&mut ck, &p, k.capacity);
                let hit_time = match &k.hit_time {
                    Some(d) => ck.sampler(&format!("{p}.hit_time"), d),
                    None => Some(Sampler::constant(1_000_000)),
                }
                .unwrap_or_else(|| Sampler::constant(0));
                let backend_latency = k
                    .origin_latency
                    .as_ref()
                    .and_then(|d| ck.sampler(&format!("{p}.origin_latency"), d))
                    .filter(|s| !s.is_zero());
                price(&mut ck, &p, k.price_per_hour);
                CompCfg::Cache(CacheCfg {
                    name: name.clone(),
                    kind: "cdn",
                    nodes: 1,
                    capacity,
                    policy: policy(k.eviction),
                    ttl: ttl(&mut ck, &p, k.ttl),
                    read_policy: ReadPolicy::ReadThrough,
                    write_policy: WritePolicy::WriteAround,
                    backend,
                    hit_time,
                    backend_latency,
                    flush_interval: 1_000_000_000,
                    source: source_db(sc, &k.origin, &db_slot, 0),
                    key_space,
                    price_per_hour: k.price_per_hour.unwrap_or(0.0),
                })
            }
            ComponentSpec::Database(d) => database(
                &mut ck,
                &p,
                name,
                d,
                db_slot(name).unwrap_or(0),
                added[sc.components.get_index_of(name).unwrap_or(0)],
                key_space,
                &sc.network.regions,
            ),
            ComponentSpec::Queue(q) => {
                // The service behind the consumer, whose cores and serving
                // replicas size the workers.
                let svc = match sc.components.get(&q.consumer) {
                    Some(ComponentSpec::Service(s)) => Some((q.consumer.as_str(), s)),
                    Some(ComponentSpec::LoadBalancer(b)) => match sc.components.get(&b.backends) {
                        Some(ComponentSpec::Service(s)) => Some((b.backends.as_str(), s)),
                        _ => None,
                    },
                    _ => None,
                };
                let consumer_service = svc.and_then(|(n, _)| comp_id(n));
                let workers = q
                    .concurrency
                    .unwrap_or_else(|| svc.map_or(1, |(_, s)| s.cores.max(1)));
                let consumer = match sc.components.get(&q.consumer) {
                    Some(ComponentSpec::Service(_) | ComponentSpec::LoadBalancer(_)) => {
                        comp_id(&q.consumer).unwrap_or(0)
                    }
                    Some(other) => {
                        ck.err(
                            format!("{p}.consumer"),
                            format!(
                                "`{}` is a {}; a queue's consumer must be a service (or a load balancer in front of one)",
                                q.consumer,
                                other.kind()
                            ),
                        );
                        0
                    }
                    None => {
                        ck.err(
                            format!("{p}.consumer"),
                            format!("no component named `{}` (components are {})", q.consumer, known()),
                        );
                        0
                    }
                };
                match q.concurrency {
                    Some(0) => ck.err(format!("{p}.concurrency"), "concurrency must be at least 1"),
                    Some(n) if n > MAX_CONCURRENCY => ck.err(
                        format!("{p}.concurrency"),
                        format!("at most {MAX_CONCURRENCY} workers, found {n}"),
                    ),
                    _ => {}
                }
                if q.capacity == Some(0) {
                    ck.err(
                        format!("{p}.capacity"),
                        "capacity must be at least 1 (omit it for an unbounded queue)",
                    );
                }
                if q.max_deliveries == 0 {
                    ck.err(format!("{p}.max_deliveries"), "max_deliveries must be at least 1");
                }
                if let Some(b) = &q.batch {
                    if !(1..=MAX_BATCH).contains(&b.size) {
                        ck.err(
                            format!("{p}.batch.size"),
                            format!("batch size must be between 1 and {MAX_BATCH}, found {}", b.size),
                        );
                    } else if u64::from(workers.clamp(1, MAX_CONCURRENCY)) * u64::from(b.size)
                        > MAX_BATCH_SLOTS
                    {
                        // Every worker's batch reserves room for a full batch.
                        ck.err(
                            format!("{p}.batch.size"),
                            format!(
                                "workers × batch size may be at most {MAX_BATCH_SLOTS} message slots, found \
                                 {workers} × {}; use smaller batches or set a lower `concurrency`",
                                b.size
                            ),
                        );
                    }
                }
                CompCfg::Queue(QueueCfg {
                    name: name.to_string(),
                    consumer,
                    concurrency: workers.clamp(1, MAX_CONCURRENCY),
                    consumer_service,
                    capacity: q.capacity.unwrap_or(u64::MAX),
                    durable: q.durable,
                    ack: match q.ack {
                        AckSpec::AfterEnqueue => Ack::AfterEnqueue,
                        AckSpec::AfterProcessing => Ack::AfterProcessing,
                    },
                    max_deliveries: q.max_deliveries.max(1),
                    batch: q.batch.as_ref().map_or(1, |b| {
                        u16::try_from(b.size.clamp(1, MAX_BATCH)).unwrap_or(u16::MAX)
                    }),
                    max_wait: q.batch.as_ref().map_or(0, |b| b.max_wait.as_nanos()),
                })
            }
            ComponentSpec::Autoscaler(_) => CompCfg::Inert(name.to_string()),
            ComponentSpec::Dns(d) => {
                let mut targets = Vec::new();
                let mut names = Vec::new();
                for (i, t) in d.targets.iter().enumerate() {
                    match sc.components.get(t) {
                        Some(ComponentSpec::Dns(_) | ComponentSpec::Autoscaler(_)) | None => ck.err(
                            format!("{p}.targets.{i}"),
                            format!(
                                "`{t}` is not a component a DNS can answer with (components are {})",
                                known()
                            ),
                        ),
                        Some(_) => {
                            targets.push(comp_id(t).unwrap_or(0));
                            names.push(t.clone());
                        }
                    }
                }
                if d.targets.is_empty() {
                    ck.err(format!("{p}.targets"), "a DNS needs at least one target");
                }
                let cells = u64::from(nclients) * targets.len() as u64;
                if !ck.charge_grid(&format!("{p}.targets"), cells, "a DNS (clients × targets)") {
                    targets.clear();
                }
                let n = network.regions.len();
                let region = |id: u32| network.region.get(id as usize).copied().unwrap_or(NO_REGION);
                let one_way = |a: u16, b: u16| -> f64 {
                    let cross = (a != b && a != NO_REGION && b != NO_REGION)
                        .then(|| network.between.get(a as usize * n + b as usize))
                        .flatten()
                        .and_then(|s| s.as_ref());
                    match (cross, &network.latency) {
                        (Some(s), _) => s.mean_ns(),
                        (None, Some(s)) => s.mean_ns(),
                        (None, None) => 0.0,
                    }
                };
                let distance = (0..nclients)
                    .map(|c| targets.iter().map(|&t| one_way(region(c), region(t))).collect())
                    .collect();
                CompCfg::Dns(DnsCfg {
                    name: name.to_string(),
                    target_names: names,
                    target_regions: targets.iter().map(|&t| region(t)).collect(),
                    targets,
                    distance,
                    policy: match d.policy {
                        DnsPolicySpec::Geo => DnsPolicy::Geo,
                        DnsPolicySpec::RoundRobin => DnsPolicy::RoundRobin,
                        DnsPolicySpec::Failover => DnsPolicy::Failover,
                    },
                    ttl: d.ttl.map_or(60 * NS_PER_S, |t| t.as_nanos()),
                    detect_after: d.detect_after.map_or(30 * NS_PER_S, |t| t.as_nanos()),
                })
            }
            ComponentSpec::Gateway(g) => {
                let mut route = |field: String, t: &Option<String>| -> Option<u32> {
                    let t = t.as_ref()?;
                    match comp_id(t) {
                        Some(_) if t == name => {
                            ck.err(field, format!("`{name}` cannot route to itself"));
                            None
                        }
                        Some(id) => Some(id),
                        None => {
                            ck.err(
                                field,
                                format!("no component named `{t}` (components are {})", known()),
                            );
                            None
                        }
                    }
                };
                let fallback = route(format!("{p}.target"), &g.target);
                let (r, w) = match &g.routes {
                    Some(rt) => (
                        route(format!("{p}.routes.read"), &rt.read),
                        route(format!("{p}.routes.write"), &rt.write),
                    ),
                    None => (None, None),
                };
                let (read, write) = (r.or(fallback), w.or(fallback));
                if g.target.is_none()
                    && (g
                        .routes
                        .as_ref()
                        .is_none_or(|rt| rt.read.is_none() || rt.write.is_none()))
                {
                    ck.err(
                        p.clone(),
                        "a gateway needs `target: NAME` or `routes: { read: NAME, write: NAME }` \
                         (an operation without a route goes to `target`)",
                    );
                }
                let rate_limit = g.rate_limit.map(|rl| {
                    let rate = rl.rate.per_sec();
                    if rate <= 0.0 {
                        ck.err(format!("{p}.rate_limit.rate"), "a rate limit must be above 0/s");
                    }
                    let burst = rl.burst.unwrap_or(rate.max(1.0));
                    if !(burst.is_finite() && burst >= 1.0) {
                        ck.err(
                            format!("{p}.rate_limit.burst"),
                            format!("burst must be at least 1 (a request takes one token), found {burst}"),
                        );
                    }
                    RateLimitCfg {
                        rate,
                        burst: burst.max(1.0),
                        per_identity: rl.per == LimitScope::Identity,
                    }
                });
                let service_time = match &g.service_time {
                    Some(d) => ck
                        .sampler(&format!("{p}.service_time"), d)
                        .unwrap_or_else(|| Sampler::constant(0)),
                    None => Sampler::constant(0),
                };
                CompCfg::Gateway(GatewayCfg {
                    name: name.to_string(),
                    read: read.unwrap_or(0),
                    write: write.unwrap_or(0),
                    rate_limit,
                    service_time,
                })
            }
        };
        comps.push(cfg);
    }
    check_cycles(&mut ck, sc);
    autoscalers(&mut ck, sc, nclients, &mut comps);
    if let Some(iv) = opts.interval
        && !sc.duration.is_zero()
    {
        let rows = sc.duration.as_nanos().div_ceil(iv.as_nanos().max(1));
        if rows > MAX_SERIES_ROWS {
            ck.err(
                "duration",
                format!(
                    "with --interval {iv}, this {} run would record {rows} time-series rows, and at most \
                     {MAX_SERIES_ROWS} are kept: use a longer --interval (at least {})",
                    sc.duration,
                    Duration(sc.duration.as_nanos().div_ceil(MAX_SERIES_ROWS))
                ),
            );
        }
    }
    // The scenario-wide totals are only meaningful once every value is.
    if ck.problems.is_empty() {
        totals(&mut ck, sc, &comps, key_space);
    }

    if !ck.problems.is_empty() {
        return Err(ck.problems);
    }
    let drain = clients
        .iter()
        .map(|c| c.policy.longest_wait())
        .max()
        .unwrap_or(0)
        .clamp(60_000_000_000, MAX_DURATION_NS);
    Ok(Config {
        name: sc.name.clone(),
        duration: sc.duration.as_nanos(),
        warmup: sc.warmup.fixed().as_nanos(),
        auto_warmup: sc.warmup == Warmup::Auto,
        clients,
        components: comps,
        network,
        key_space,
        databases: sc
            .components
            .values()
            .filter(|c| matches!(c, ComponentSpec::Database(_)))
            .count(),
        events,
        faults,
        random_faults,
        partitions,
        latencies,
        // In-flight requests get a minute after the end to finish, or the
        // longest a client may wait with all its attempts if that is longer
        // (so every one resolves).
        drain,
        interval: opts
            .interval
            .map(|d| d.as_nanos().max(1))
            .unwrap_or_else(|| auto_interval(sc.duration.as_nanos())),
        max_in_flight: opts.max_in_flight,
    })
}

// The limits used to live here; they are in [`super::limits`] now, and
// re-exported under their old paths.
pub use super::limits::{
    MAX_ATTEMPTS, MAX_CACHE_ENTRIES, MAX_CORES, MAX_DATA_KEYS, MAX_DB_CELLS, MAX_DURATION_NS, MAX_IDENTITIES,
    MAX_REGIONS, MAX_REPLICAS, MAX_RING_POINTS, MAX_ROWS, MAX_USERS,
};

/// 1 s, or the smallest 1-2-5 multiple of a second that keeps the series
/// within [`MAX_ROWS`] rows.
pub fn auto_interval(duration_ns: u64) -> u64 {
    let s = 1_000_000_000u64;
    let mut unit = s;
    loop {
        for m in [1, 2, 5] {
            let iv = unit * m;
            if duration_ns.div_ceil(iv) <= MAX_ROWS {
                return iv;
            }
        }
        unit *= 10;
    }
}

/// Adds `n` to a scenario-wide total; true the first time the total passes
/// `limit` (each total is reported once, at the component that crosses it).
fn crosses(total: &mut u64, n: u64, limit: u64, reported: &mut bool) -> bool {
    *total = total.saturating_add(n);
    let first = *total > limit && !*reported;
    *reported |= first;
    first
}

/// Checks what the whole scenario would allocate against the scenario-wide
/// limits of [`super::limits`], component by component in file order; each
/// total is reported once, at the first component that takes it over.
fn totals(ck: &mut Checker, sc: &Scenario, comps: &[CompCfg], key_space: u64) {
    let (mut cells, mut instances, mut slots, mut entries, mut points) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut over = [false; 5];
    let n = |x: u32| u64::from(x);
    for (name, c) in sc.components.keys().zip(comps) {
        let p = format!("components.{name}");
        // This component's share of each total, with the field to blame and
        // why it needs it.
        let mut table: Option<(u64, String)> = None;
        let mut inst: Option<(u64, &str)> = None;
        let mut slot = 0;
        let mut entry = 0;
        let mut ring: Option<(u64, &str)> = None;
        match c {
            CompCfg::Service(svc) => {
                inst = Some((n(svc.pool.max(svc.replicas)), "replicas"));
                if let StateCfg::Stateful { users, .. } = svc.state {
                    table = Some((
                        n(users),
                        format!(
                            "a stateful service remembers the replica holding each of {users} identities' sessions"
                        ),
                    ));
                }
            }
            CompCfg::Balancer(b) => {
                if b.algorithm == Algorithm::ConsistentHash {
                    ring = Some((n(b.vnodes) * n(b.replicas), "vnodes"));
                }
                if b.algorithm == Algorithm::Sticky {
                    let ids = b.identities.min(1 << 26);
                    table = Some((
                        ids,
                        format!("a sticky balancer remembers the replica of each of {ids} identities"),
                    ));
                }
            }
            CompCfg::Cache(k) => {
                let nodes = n(k.nodes.max(1));
                inst = Some((nodes, "nodes"));
                entry = nodes * n(k.capacity);
                if k.policy == Policy::Lfu {
                    table = Some((
                        nodes * k.key_space,
                        format!(
                            "an LFU cache counts requests for each of the {} keys on each of its {nodes} nodes",
                            k.key_space
                        ),
                    ));
                }
            }
            CompCfg::Database(d) => {
                let nodes = n(d.max_shards) * n(d.per_shard());
                inst = Some((nodes, "shards"));
                slot = nodes * n(d.cores);
                if let Scheme::ConsistentHash { vnodes } = d.scheme {
                    ring = Some((n(vnodes) * n(d.max_shards), "partitioning.consistent_hash.vnodes"));
                }
                // The committed version, one cell per node of a shard, and
                // one more for a quorum's coordinator, a backup and a directory.
                let per_key = 1
                    + n(d.per_shard())
                    + u64::from(matches!(d.mode, Mode::Quorum { .. }))
                    + u64::from(d.backup.is_some())
                    + u64::from(d.scheme == Scheme::Directory);
                table = Some((
                    key_space * per_key,
                    format!(
                        "a database keeps {per_key} entries for each of the {key_space} keys the clients use"
                    ),
                ));
                // Each backup copies every key: the run's copies are
                // keys × backups, bounded like any other work the file asks
                // for up front.
                if let Some((every, _)) = d.backup {
                    let run = sc.duration.as_nanos();
                    let copies = key_space.saturating_mul(run / every.max(1));
                    if copies > MAX_BACKUP_COPIES {
                        let floor = Duration(
                            (u128::from(run) * u128::from(key_space) / u128::from(MAX_BACKUP_COPIES))
                                .min(u128::from(u64::MAX)) as u64
                                + 1,
                        );
                        ck.err(
                            format!("{p}.backup.every"),
                            format!(
                                "each backup copies all {key_space} keys: a backup every {} over {} makes {copies} key copies, \
                                 more than the {MAX_BACKUP_COPIES} a run may make; back up at most every {floor}, or use fewer keys",
                                Duration(every),
                                Duration(run)
                            ),
                        );
                    }
                }
            }
            _ => {}
        }
        if let Some((t, why)) = table
            && crosses(&mut cells, t, MAX_TABLE_CELLS, &mut over[0])
        {
            ck.err_key(
                    "components",
                    name,
                    format!(
                        "the per-key and per-identity tables of all components may hold at most {MAX_TABLE_CELLS} \
                         entries (1 GiB), and this one takes them to {cells}: {why}; use fewer keys (the \
                         clients' `keys`), databases, replicas or identities"
                    ),
                );
        }
        if let Some((i, field)) = inst
            && crosses(&mut instances, i, MAX_INSTANCES, &mut over[1])
        {
            ck.err(
                format!("{p}.{field}"),
                format!(
                    "service replicas, cache nodes and database nodes of all components together may be at \
                         most {MAX_INSTANCES}, and this one's {i} take them to {instances}"
                ),
            );
        }
        if crosses(&mut slots, slot, MAX_DB_CORE_SLOTS, &mut over[2]) {
            ck.err(
                format!("{p}.cores"),
                format!(
                    "database nodes × cores may be at most {MAX_DB_CORE_SLOTS} over all databases (each node \
                     reserves a slot per core), and this one's {slot} take them to {slots}"
                ),
            );
        }
        if crosses(&mut entries, entry, MAX_CACHE_ENTRIES, &mut over[3]) {
            ck.err(
                format!("{p}.capacity"),
                format!(
                    "caches and CDNs together may hold at most {MAX_CACHE_ENTRIES} entries (nodes × capacity, \
                     allocated up front), and this one's {entry} take them to {entries}"
                ),
            );
        }
        if let Some((r, field)) = ring
            && crosses(&mut points, r, MAX_RING_POINTS, &mut over[4])
        {
            ck.err(
                format!("{p}.{field}"),
                format!(
                    "the consistent-hash rings of all balancers and databases may hold at most \
                         {MAX_RING_POINTS} points together, and this one's {r} take them to {points}"
                ),
            );
        }
    }
}

/// Key popularity, checked (`p` is the path of the `keys` field).
fn keys_cfg(ck: &mut Checker, p: &str, keys: Option<KeySpec>) -> KeysCfg {
    match keys {
        None => KeysCfg::Single,
        Some(KeySpec::Uniform(n)) => {
            if n == 0 {
                ck.err(format!("{p}.uniform"), "the number of keys must be at least 1");
            }
            KeysCfg::Uniform(n.max(1))
        }
        Some(KeySpec::Zipf(z)) => {
            if z.n == 0 {
                ck.err(format!("{p}.zipf.n"), "the number of keys must be at least 1");
            }
            if !(z.s.is_finite() && z.s >= 0.0) {
                ck.err(
                    format!("{p}.zipf.s"),
                    format!("the exponent must be zero or positive, found {}", z.s),
                );
            }
            KeysCfg::Zipf(z.n.max(1), z.s)
        }
    }
}

/// The number of keys a popularity draws from.
fn key_count(k: &KeysCfg) -> u64 {
    match *k {
        KeysCfg::Single => 1,
        KeysCfg::Uniform(n) | KeysCfg::Zipf(n, _) => n,
    }
}

fn speeds(s: &Speed, replicas: u32) -> Vec<f64> {
    match s {
        Speed::All(v) => vec![*v; replicas as usize],
        Speed::PerReplica(v) => {
            let mut v = v.clone();
            v.resize(replicas as usize, 1.0);
            v
        }
    }
}

fn service(
    ck: &mut Checker,
    p: &str,
    name: &str,
    s: &ServiceSpec,
    comp_id: &dyn Fn(&str) -> Option<u32>,
    known: &dyn Fn() -> String,
    aside: &dyn Fn(&str) -> Option<u32>,
) -> CompCfg {
    if s.replicas == 0 {
        ck.err(format!("{p}.replicas"), "a service needs at least 1 replica");
    } else if s.replicas > MAX_REPLICAS {
        ck.err(
            format!("{p}.replicas"),
            format!(
                "at most {MAX_REPLICAS} replicas can be simulated, found {}",
                s.replicas
            ),
        );
    }
    if s.cores > MAX_CORES {
        ck.err(
            format!("{p}.cores"),
            format!("at most {MAX_CORES} cores per replica, found {}", s.cores),
        );
    }
    if s.cores == 0 {
        ck.err(format!("{p}.cores"), "a replica needs at least 1 core");
    }
    match &s.speed {
        Speed::All(v) => ck.positive_f64(&format!("{p}.speed"), *v, "speed"),
        Speed::PerReplica(v) => {
            if v.len() != s.replicas as usize {
                ck.err(
                    format!("{p}.speed"),
                    format!(
                        "expected one speed per replica ({}), found {}",
                        s.replicas,
                        v.len()
                    ),
                );
            }
            for (i, x) in v.iter().enumerate() {
                ck.positive_f64(&format!("{p}.speed.{i}"), *x, "speed");
            }
        }
    }
    let (read, write) = match &s.service_time {
        ServiceTime::All(d) => {
            let x = ck.sampler(&format!("{p}.service_time"), d);
            (x.clone(), x)
        }
        ServiceTime::PerOp { read, write } => {
            let r = read
                .as_ref()
                .and_then(|d| ck.sampler(&format!("{p}.service_time.read"), d));
            let w = write
                .as_ref()
                .and_then(|d| ck.sampler(&format!("{p}.service_time.write"), d));
            (r.clone().or_else(|| w.clone()), w.or(r))
        }
    };
    if s.max_concurrency == Some(0) {
        ck.err(
            format!("{p}.max_concurrency"),
            "max_concurrency must be at least 1",
        );
    }
    if let Some(price) = s.price_per_hour
        && !(price.is_finite() && price >= 0.0)
    {
        ck.err(format!("{p}.price_per_hour"), "a price must be zero or positive");
    }
    let mut steps = Vec::new();
    for (i, step) in s.calls.iter().enumerate() {
        let edges: Vec<(String, &CallEdge)> = match step {
            CallStep::Call(e) => vec![(format!("{p}.calls.{i}"), e)],
            CallStep::Parallel { parallel } => {
                if parallel.is_empty() {
                    ck.err(
                        format!("{p}.calls.{i}.parallel"),
                        "a parallel step needs at least one call",
                    );
                }
                parallel
                    .iter()
                    .enumerate()
                    .map(|(j, e)| (format!("{p}.calls.{i}.parallel.{j}"), e))
                    .collect()
            }
        };
        let mut out = Vec::new();
        for (ep, e) in edges {
            let target = match comp_id(&e.target) {
                Some(_) if e.target == name => {
                    ck.err(format!("{ep}.target"), format!("`{name}` cannot call itself"));
                    0
                }
                Some(id) => id,
                None => {
                    ck.err(
                        format!("{ep}.target"),
                        format!("no component named `{}` (components are {})", e.target, known()),
                    );
                    0
                }
            };
            let probability = e.probability.unwrap_or(1.0);
            if !(0.0..=1.0).contains(&probability) {
                ck.err(
                    format!("{ep}.probability"),
                    format!("a probability must be between 0 and 1, found {probability}"),
                );
            }
            let policy = call_policy(
                ck,
                &ep,
                e.timeout,
                e.retry.as_ref(),
                e.circuit_breaker.as_ref(),
                e.idempotent,
            );
            out.push(EdgeCfg {
                target,
                probability,
                on: e.on,
                policy,
                aside: aside(&e.target),
                optional: e.optional.unwrap_or(false),
                session: false,
            });
        }
        steps.push(StepCfg { edges: out });
    }
    if steps.len() >= usize::from(u16::MAX) {
        ck.err(format!("{p}.calls"), "too many call steps");
    }
    CompCfg::Service(ServiceCfg {
        name: name.to_string(),
        replicas: s.replicas.clamp(1, MAX_REPLICAS),
        cores: s.cores.clamp(1, MAX_CORES),
        speeds: speeds(&s.speed, s.replicas.clamp(1, MAX_REPLICAS)),
        read_time: read.clone().unwrap_or_else(|| Sampler::constant(0)),
        write_time: write.unwrap_or_else(|| read.unwrap_or_else(|| Sampler::constant(0))),
        queue_capacity: s.queue_capacity.unwrap_or(u64::MAX),
        discipline: s.discipline,
        max_concurrency: s.max_concurrency.unwrap_or(u32::MAX).max(1),
        calls: steps,
        price_per_hour: s.price_per_hour.unwrap_or(0.0),
        pool: s.replicas.clamp(1, MAX_REPLICAS),
        startup_time: s.startup_time.map_or(0, |d| d.as_nanos()),
        autoscale: None,
        balancers: Vec::new(),
        state: StateCfg::Stateless,
        fronted: false,
        overhead: s
            .overhead
            .as_ref()
            .and_then(|d| ck.sampler(&format!("{p}.overhead"), d)),
        load_dependence: s.load_dependence.and_then(|l| {
            let lp = format!("{p}.load_dependence");
            match (l.linear, l.exponential) {
                (Some(f), None) if f.is_finite() && f >= 0.0 => Some(LoadDependence::Linear(f, l.on)),
                (None, Some(f)) if f.is_finite() && f >= 0.0 => Some(LoadDependence::Exponential(f, l.on)),
                (Some(f), None) | (None, Some(f)) => {
                    ck.err(
                        lp,
                        format!("a load-dependence factor must be zero or positive, found {f}"),
                    );
                    None
                }
                _ => {
                    ck.err(lp, "give exactly one of `linear` or `exponential`");
                    None
                }
            }
        }),
    })
}

/// A caller's timeout, retries, breaker and idempotency, checked (`p` is the
/// path of the client or call edge that carries them).
fn call_policy(
    ck: &mut Checker,
    p: &str,
    timeout: Option<Duration>,
    retry: Option<&RetrySpec>,
    breaker: Option<&BreakerSpec>,
    idempotent: Option<bool>,
) -> CallPolicy {
    if let Some(t) = timeout
        && t.is_zero()
    {
        ck.err(format!("{p}.timeout"), "a timeout must be longer than zero");
    }
    let retry = retry.map(|r| {
        let rp = format!("{p}.retry");
        let max = r.max.unwrap_or(3);
        if !(1..=MAX_ATTEMPTS).contains(&max) {
            ck.err(
                format!("{rp}.max"),
                format!("attempts (the first included) must be between 1 and {MAX_ATTEMPTS}, found {max}"),
            );
        }
        let (base, cap) = match r.backoff {
            None => (100_000_000, 10_000_000_000),
            Some(BackoffSpec::Constant(d)) => (d.as_nanos(), d.as_nanos()),
            Some(BackoffSpec::Exponential(e)) => {
                if e.cap < e.base {
                    ck.err(
                        format!("{rp}.backoff.exponential.cap"),
                        format!("the cap ({}) must be at least the base ({})", e.cap, e.base),
                    );
                }
                (e.base.as_nanos(), e.cap.as_nanos())
            }
        };
        let jitter = match r.jitter.unwrap_or(JitterSpec::Full) {
            JitterSpec::Full => Jitter::Full,
            JitterSpec::Equal => Jitter::Equal,
            JitterSpec::None => Jitter::None,
        };
        let budget = r.budget.map(|b| {
            let bp = format!("{rp}.budget");
            if !(b.ratio.is_finite() && b.ratio >= 0.0) {
                ck.err(
                    bp.clone(),
                    format!("a budget ratio must be zero or positive, found {}", b.ratio),
                );
            }
            let min = b.min_per_s.unwrap_or(10.0);
            if !(min.is_finite() && min >= 0.0) {
                ck.err(
                    format!("{bp}.min_per_s"),
                    format!("min_per_s must be zero or positive, found {min}"),
                );
            }
            let window = b.window.map_or(10_000_000_000, |w| w.as_nanos());
            if window == 0 {
                ck.err(format!("{bp}.window"), "a window must be longer than zero");
            }
            (b.ratio.max(0.0), min.max(0.0), window.max(1))
        });
        RetryCfg {
            max_attempts: max.clamp(1, MAX_ATTEMPTS) as u16,
            backoff: Backoff {
                base,
                cap: cap.max(base),
                jitter,
            },
            budget: budget.filter(|(r, m, _)| r.is_finite() && m.is_finite()),
        }
    });
    let breaker = breaker.map(|b| {
        let bp = format!("{p}.circuit_breaker");
        let ratio = b.failure_ratio.unwrap_or(0.5);
        if !(ratio > 0.0 && ratio <= 1.0) {
            ck.err(
                format!("{bp}.failure_ratio"),
                format!("a failure ratio must be above 0 and at most 1, found {ratio}"),
            );
        }
        let window = b.window.map_or(10_000_000_000, |w| w.as_nanos());
        if window == 0 {
            ck.err(format!("{bp}.window"), "a window must be longer than zero");
        }
        let open_for = b.open_for.map_or(5_000_000_000, |w| w.as_nanos());
        if open_for == 0 {
            ck.err(format!("{bp}.open_for"), "open_for must be longer than zero");
        }
        if b.half_open_probes == Some(0) {
            ck.err(format!("{bp}.half_open_probes"), "at least one probe is needed");
        }
        BreakerCfg {
            failure_ratio: if ratio > 0.0 && ratio <= 1.0 { ratio } else { 0.5 },
            window: window.max(1),
            open_for: open_for.max(1),
            half_open_probes: b.half_open_probes.unwrap_or(3).max(1),
            min_calls: b.min_calls.unwrap_or(20).max(1),
        }
    });
    CallPolicy {
        timeout: timeout.map(|t| t.as_nanos().max(1)),
        retry,
        breaker,
        idempotent: idempotent.unwrap_or(false),
    }
}

/// Calls must form a DAG: a request that can reach its own service again
/// would recurse forever.
fn check_cycles(ck: &mut Checker, sc: &Scenario) {
    let n = sc.components.len();
    let mut adj: Vec<Vec<(usize, String)>> = vec![Vec::new(); n];
    for (i, (name, c)) in sc.components.iter().enumerate() {
        match c {
            ComponentSpec::Service(s) => {
                for (k, step) in s.calls.iter().enumerate() {
                    let edges: Vec<(String, &CallEdge)> = match step {
                        CallStep::Call(e) => vec![(format!("components.{name}.calls.{k}"), e)],
                        CallStep::Parallel { parallel } => parallel
                            .iter()
                            .enumerate()
                            .map(|(j, e)| (format!("components.{name}.calls.{k}.parallel.{j}"), e))
                            .collect(),
                    };
                    for (path, e) in edges {
                        if let Some(t) = sc.components.get_index_of(&e.target)
                            && t != i
                        {
                            adj[i].push((t, path));
                        }
                    }
                }
            }
            ComponentSpec::LoadBalancer(b) => {
                if let Some(t) = sc.components.get_index_of(&b.backends) {
                    adj[i].push((t, format!("components.{name}.backends")));
                }
            }
            ComponentSpec::Cache(k) => {
                if let Some(t) = sc.components.get_index_of(&k.backend) {
                    adj[i].push((t, format!("components.{name}.backend")));
                }
            }
            ComponentSpec::Cdn(k) => {
                if let Some(t) = sc.components.get_index_of(&k.origin) {
                    adj[i].push((t, format!("components.{name}.origin")));
                }
            }
            ComponentSpec::Database(_) | ComponentSpec::Autoscaler(_) => {}
            ComponentSpec::Dns(d) => {
                for (k, t) in d.targets.iter().enumerate() {
                    if let Some(t) = sc.components.get_index_of(t) {
                        adj[i].push((t, format!("components.{name}.targets.{k}")));
                    }
                }
            }
            ComponentSpec::Queue(q) => {
                if let Some(t) = sc.components.get_index_of(&q.consumer) {
                    adj[i].push((t, format!("components.{name}.consumer")));
                }
            }
            ComponentSpec::Gateway(g) => {
                let routes = g.routes.as_ref();
                for (field, t) in [
                    ("target", g.target.as_ref()),
                    ("routes.read", routes.and_then(|r| r.read.as_ref())),
                    ("routes.write", routes.and_then(|r| r.write.as_ref())),
                ] {
                    if let Some(t) = t.and_then(|t| sc.components.get_index_of(t))
                        && t != i
                    {
                        adj[i].push((t, format!("components.{name}.{field}")));
                    }
                }
            }
        }
    }
    // Iterative DFS with colours; report each cycle once, at the edge closing it.
    let mut colour = vec![0u8; n];
    let names: Vec<&String> = sc.components.keys().collect();
    for root in 0..n {
        if colour[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        colour[root] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if *next < adj[v].len() {
                let (w, ref path) = adj[v][*next];
                *next += 1;
                match colour[w] {
                    0 => {
                        colour[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => {
                        let start = stack.iter().position(|(x, _)| *x == w).unwrap_or(0);
                        let mut cyc: Vec<&str> =
                            stack[start..].iter().map(|(x, _)| names[*x].as_str()).collect();
                        cyc.push(names[w].as_str());
                        ck.err(
                            path.clone(),
                            format!(
                                "calls form a cycle: {} (a request would never finish)",
                                cyc.join(" → ")
                            ),
                        );
                    }
                    _ => {}
                }
            } else {
                colour[v] = 2;
                stack.pop();
            }
        }
    }
}

/// Arrival times from a file: one duration since the start per line, blank
/// lines and `#` comments ignored. At most [`MAX_DATA_FILE_BYTES`] are read
/// and at most [`MAX_DATA_VALUES`] times kept.
pub fn load_trace(path: &Path) -> Result<Vec<u64>, String> {
    let text = super::limits::read_text_capped(path, MAX_DATA_FILE_BYTES, "trace file")?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.split('#').next().unwrap_or("").trim();
        if l.is_empty() {
            continue;
        }
        if out.len() as u64 >= MAX_DATA_VALUES {
            return Err(format!(
                "{}: more than {MAX_DATA_VALUES} arrival times, the most archsim keeps",
                path.display()
            ));
        }
        let d: Duration = l
            .parse()
            .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        out.push(d.as_nanos());
    }
    if out.windows(2).any(|w| w[1] < w[0]) {
        return Err(format!("{}: arrival times must not decrease", path.display()));
    }
    Ok(out)
}

fn price(ck: &mut Checker, p: &str, price: Option<f64>) {
    if let Some(x) = price
        && !(x.is_finite() && x >= 0.0)
    {
        ck.err(format!("{p}.price_per_hour"), "a price must be zero or positive");
    }
}

fn ttl(ck: &mut Checker, p: &str, ttl: Option<Duration>) -> Option<u64> {
    if ttl.is_some_and(|t| t.is_zero()) {
        ck.err(
            format!("{p}.ttl"),
            "a ttl must be longer than zero (omit it for no expiry)",
        );
    }
    ttl.map(|t| t.as_nanos().max(1))
}

fn cache_capacity(ck: &mut Checker, p: &str, capacity: u64) -> u32 {
    if capacity == 0 || capacity > MAX_CACHE_ENTRIES {
        ck.err(
            format!("{p}.capacity"),
            format!("capacity must be between 1 and {MAX_CACHE_ENTRIES} entries, found {capacity}"),
        );
    }
    capacity.clamp(1, MAX_CACHE_ENTRIES) as u32
}

fn policy(e: Eviction) -> Policy {
    match e {
        Eviction::Lru => Policy::Lru,
        Eviction::Lfu => Policy::Lfu,
        Eviction::Fifo => Policy::Fifo,
        Eviction::Random => Policy::Random,
    }
}

/// Resolve a cache's backend (or a CDN's origin): any component but itself.
#[allow(clippy::too_many_arguments)]
fn backend_of(
    ck: &mut Checker,
    sc: &Scenario,
    p: &str,
    field: &str,
    name: &str,
    target: &str,
    comp_id: &dyn Fn(&str) -> Option<u32>,
    known: &dyn Fn() -> String,
) -> u32 {
    match comp_id(target) {
        Some(_) if target == name => {
            ck.err(
                format!("{p}.{field}"),
                format!("`{name}` cannot be its own {field}"),
            );
            0
        }
        Some(id) => {
            if matches!(
                sc.components.get(target),
                Some(ComponentSpec::LoadBalancer(_)) | None
            ) {
                // A balancer is fine: it forwards to a service.
            }
            id
        }
        None => {
            ck.err(
                format!("{p}.{field}"),
                format!("no component named `{target}` (components are {})", known()),
            );
            0
        }
    }
}

/// The database whose versions a cache in front of `name` holds copies of:
/// `name` itself, or the first one reached through caches, balancers and
/// services' calls.
fn source_db(sc: &Scenario, name: &str, slot: &dyn Fn(&str) -> Option<usize>, depth: u32) -> Option<usize> {
    if depth > 32 {
        return None;
    }
    match sc.components.get(name)? {
        ComponentSpec::Database(_) => slot(name),
        ComponentSpec::Cache(k) => source_db(sc, &k.backend, slot, depth + 1),
        ComponentSpec::Cdn(k) => source_db(sc, &k.origin, slot, depth + 1),
        ComponentSpec::LoadBalancer(b) => source_db(sc, &b.backends, slot, depth + 1),
        ComponentSpec::Queue(q) => source_db(sc, &q.consumer, slot, depth + 1),
        ComponentSpec::Autoscaler(_) => None,
        ComponentSpec::Dns(d) => d.targets.first().and_then(|t| source_db(sc, t, slot, depth + 1)),
        ComponentSpec::Gateway(g) => g
            .routes
            .as_ref()
            .and_then(|r| r.read.as_ref())
            .or(g.target.as_ref())
            .and_then(|t| source_db(sc, t, slot, depth + 1)),
        ComponentSpec::Service(s) => s
            .calls
            .iter()
            .flat_map(|step| match step {
                CallStep::Call(e) => std::slice::from_ref(e).iter(),
                CallStep::Parallel { parallel } => parallel.iter(),
            })
            .filter(|e| e.on != Some(Op::Write))
            .find_map(|e| source_db(sc, &e.target, slot, depth + 1)),
    }
}

#[allow(clippy::too_many_arguments)]
fn database(
    ck: &mut Checker,
    p: &str,
    name: &str,
    d: &DatabaseSpec,
    slot: usize,
    added: u32,
    key_space: u64,
    regions: &[String],
) -> CompCfg {
    if d.shards == 0 || d.shards > MAX_SHARDS {
        ck.err(
            format!("{p}.shards"),
            format!("shards must be between 1 and {MAX_SHARDS}, found {}", d.shards),
        );
    }
    if d.cores == 0 || d.cores > MAX_CORES {
        ck.err(
            format!("{p}.cores"),
            format!("cores must be between 1 and {MAX_CORES}, found {}", d.cores),
        );
    }
    let shards = d.shards.clamp(1, MAX_SHARDS);
    let max_shards = shards.saturating_add(added).min(MAX_SHARDS);
    let mode = match d.replication {
        Replication::Async => Mode::Async,
        Replication::Sync => Mode::Sync,
        Replication::Quorum(q) => {
            let qp = format!("{p}.replication.quorum");
            if q.n == 0 || q.n > MAX_QUORUM_N {
                ck.err(
                    format!("{qp}.n"),
                    format!("n must be between 1 and {MAX_QUORUM_N}, found {}", q.n),
                );
            }
            if q.w == 0 || q.w > q.n {
                ck.err(
                    format!("{qp}.w"),
                    format!(
                        "w must be between 1 and n ({}), found {}: a write cannot wait for more nodes than \
                         hold the key, so this quorum can never be met; lower w or raise n",
                        q.n, q.w
                    ),
                );
            }
            if q.r == 0 || q.r > q.n {
                ck.err(
                    format!("{qp}.r"),
                    format!(
                        "r must be between 1 and n ({}), found {}: a read cannot ask more nodes than hold \
                         the key, so this quorum can never be met; lower r or raise n",
                        q.n, q.r
                    ),
                );
            }
            if d.replicas != 0 && u64::from(d.replicas) + 1 != u64::from(q.n) {
                ck.err(
                    format!("{p}.replicas"),
                    format!(
                        "under quorum every shard has n = {} equal nodes; omit `replicas` or set it to n − 1 = {}",
                        q.n,
                        q.n.saturating_sub(1)
                    ),
                );
            }
            let n = q.n.clamp(1, MAX_QUORUM_N);
            Mode::Quorum {
                n,
                w: q.w.clamp(1, n),
                r: q.r.clamp(1, n),
            }
        }
    };
    if d.replicas > MAX_FOLLOWERS {
        ck.err(
            format!("{p}.replicas"),
            format!(
                "at most {MAX_FOLLOWERS} followers per shard, found {}",
                d.replicas
            ),
        );
    }
    let followers = match mode {
        Mode::Quorum { n, .. } => n - 1,
        _ => d.replicas.min(MAX_FOLLOWERS),
    };
    let copies = u64::from(followers) + 3;
    if key_space.saturating_mul(copies) > MAX_DB_CELLS {
        ck.err(
            p.to_string(),
            format!(
                "a database with {} nodes per shard can track at most {} keys (the clients use {key_space})",
                followers + 1,
                MAX_DB_CELLS / copies
            ),
        );
    }
    let scheme = match d.partitioning {
        Partitioning::Hash => Scheme::Hash,
        Partitioning::Range => Scheme::Range,
        Partitioning::Directory => Scheme::Directory,
        Partitioning::ConsistentHash(v) => {
            if v.vnodes == 0 {
                ck.err(
                    format!("{p}.partitioning.consistent_hash.vnodes"),
                    "vnodes must be at least 1",
                );
            } else if u64::from(v.vnodes) * u64::from(max_shards) > MAX_RING_POINTS {
                ck.err(
                    format!("{p}.partitioning.consistent_hash.vnodes"),
                    format!("vnodes × shards may be at most {MAX_RING_POINTS} ring points"),
                );
            }
            Scheme::ConsistentHash {
                vnodes: v.vnodes.clamp(1, MAX_VNODES),
            }
        }
    };
    let read_time = ck
        .sampler(&format!("{p}.read_time"), &d.read_time)
        .unwrap_or_else(|| Sampler::constant(0));
    let write_time = match &d.write_time {
        Some(w) => ck
            .sampler(&format!("{p}.write_time"), w)
            .unwrap_or_else(|| Sampler::constant(0)),
        None => read_time.clone(),
    };
    let lag = match &d.replication_lag {
        Some(l) => ck
            .sampler(&format!("{p}.replication_lag"), l)
            .unwrap_or_else(|| Sampler::constant(0)),
        None => super::dist::sampler(
            &DistSpec::Exponential {
                mean: Duration::from_nanos(10_000_000),
            },
            Path::new("."),
        )
        .unwrap_or_else(|_| Sampler::constant(10_000_000)),
    };
    let directory_time = match &d.directory_time {
        Some(t) => ck
            .sampler(&format!("{p}.directory_time"), t)
            .unwrap_or_else(|| Sampler::constant(0)),
        None => Sampler::constant(500_000),
    };
    price(ck, p, d.price_per_hour);
    if d.failover.is_some() && d.replicas == 0 && !matches!(d.replication, Replication::Quorum(_)) {
        ck.err(
            format!("{p}.failover"),
            "failover promotes a follower: give the shards `replicas: 1` or more",
        );
    }
    if let Some(b) = &d.backup {
        ck.period(
            &format!("{p}.backup.every"),
            b.every.as_nanos(),
            "`every`",
            "`every` must be longer than zero",
        );
    }
    CompCfg::Database(DatabaseCfg {
        name: name.to_string(),
        slot,
        shards,
        max_shards,
        scheme,
        followers,
        mode,
        lag,
        reads: d.reads,
        read_time,
        write_time,
        cores: d.cores.clamp(1, MAX_CORES),
        queue_capacity: d.queue_capacity.unwrap_or(u64::MAX),
        directory_time,
        key_space,
        price_per_hour: d.price_per_hour.unwrap_or(0.0),
        // Unknown region names were reported when the network was built.
        placement: d
            .placement
            .iter()
            .map(|r| regions.iter().position(|x| x == r).unwrap_or(0) as u16)
            .collect(),
        failover: d.failover.map(|f| f.detect_after.as_nanos()),
        eventual: d.consistency == Consistency::Eventual,
        backup: d.backup.map(|b| (b.every.as_nanos(), b.restore_time.as_nanos())),
    })
}

/// A crash target: `name`, `name[i]` (a replica) or `name.node[i]` (a cache node).
fn parse_instance(target: &str) -> (&str, Option<&str>) {
    let t = target.trim();
    if let Some(open) = t.find('[')
        && t.ends_with(']')
    {
        let name = t[..open].strip_suffix(".node").unwrap_or(&t[..open]);
        return (name, Some(&t[open + 1..t.len() - 1]));
    }
    (t, None)
}

/// The index of region `name`, or a located error.
fn region_index(ck: &mut Checker, sc: &Scenario, path: &str, name: &str) -> Option<u16> {
    match ck.region(name) {
        Some(i) => Some(i),
        None => {
            let known = if sc.network.regions.is_empty() {
                "`network.regions` lists none".to_string()
            } else {
                let more = sc.network.regions.len().saturating_sub(MAX_REGIONS);
                format!(
                    "regions are {}{}",
                    sc.network
                        .regions
                        .iter()
                        .take(MAX_REGIONS)
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )
            };
            ck.err(path, format!("no region named `{name}` ({known})"));
            None
        }
    }
}

/// The network: in-region latency, regions, the latency between them, and
/// the region of every client and component.
fn network(ck: &mut Checker, sc: &Scenario) -> Network {
    let latency = match &sc.network.latency {
        Some(d) => ck.sampler("network.latency", d).filter(|s| !s.is_zero()),
        None => None,
    };
    let regions = sc.network.regions.clone();
    if regions.len() > MAX_REGIONS {
        ck.err(
            "network.regions",
            format!("at most {MAX_REGIONS} regions, found {}", regions.len()),
        );
    }
    for (i, r) in regions.iter().enumerate() {
        if ck.region(r).is_some_and(|first| usize::from(first) != i) {
            ck.err(
                format!("network.regions.{i}"),
                format!("region `{r}` is listed twice"),
            );
        }
    }
    let n = regions.len().min(MAX_REGIONS);
    let mut between: Vec<Option<Sampler>> = if regions.len() > 1 && n == regions.len() {
        vec![None; n * n]
    } else {
        Vec::new()
    };
    for (i, b) in sc.network.between.iter().enumerate() {
        let bp = format!("network.between.{i}");
        if b.regions.len() != 2 {
            ck.err(format!("{bp}.regions"), "name exactly two regions");
            continue;
        }
        let a = region_index(ck, sc, &format!("{bp}.regions.0"), &b.regions[0]);
        let c = region_index(ck, sc, &format!("{bp}.regions.1"), &b.regions[1]);
        let lat = ck.sampler(&format!("{bp}.latency"), &b.latency);
        if let (Some(a), Some(c), Some(lat)) = (a, c, lat)
            && !between.is_empty()
        {
            between[a as usize * n + c as usize] = Some(lat.clone());
            between[c as usize * n + a as usize] = Some(lat);
        }
    }
    let default = if regions.is_empty() { NO_REGION } else { 0 };
    let mut region = Vec::new();
    for (name, c) in &sc.clients {
        region.push(match &c.region {
            Some(r) => region_index(ck, sc, &format!("clients.{name}.region"), r).unwrap_or(default),
            None => default,
        });
    }
    for (name, c) in &sc.components {
        let p = format!("components.{name}");
        let mut r = match c.region() {
            Some(r) if matches!(c, ComponentSpec::Database(d) if d.region.is_none()) => {
                region_index(ck, sc, &format!("{p}.placement.0"), r).unwrap_or(default)
            }
            Some(r) => region_index(ck, sc, &format!("{p}.region"), r).unwrap_or(default),
            // DNS answers in every region; it is never cut off as a whole.
            None if matches!(c, ComponentSpec::Dns(_)) => NO_REGION,
            None => default,
        };
        if let ComponentSpec::Database(d) = c {
            let mut placed = Vec::new();
            for (i, pl) in d.placement.iter().enumerate() {
                if let Some(x) = region_index(ck, sc, &format!("{p}.placement.{i}"), pl) {
                    placed.push(x);
                }
            }
            // A database spread over regions is reached in every one: the
            // network never cuts it off as a whole; its nodes are split.
            if placed.iter().any(|&x| x != placed[0]) {
                r = NO_REGION;
            }
        }
        region.push(r);
    }
    let mut net = Network {
        latency,
        regions,
        region,
        between,
        down: vec![false; n],
        clients: sc.clients.len() as u32,
        ..Network::default()
    };
    net.refresh();
    net
}

/// Check the `faults:` list and resolve it.
#[allow(clippy::type_complexity)]
fn faults(
    ck: &mut Checker,
    sc: &Scenario,
    nclients: u32,
    known: &dyn Fn() -> String,
    regions: &[u16],
) -> (
    Vec<FaultCfg>,
    Vec<RandomFaultCfg>,
    Vec<Arc<Groups>>,
    Vec<(Arc<Groups>, u64)>,
) {
    // What one partition or injected latency costs: a side per client and
    // component, and per region.
    let grid = (regions.len() + sc.network.regions.len()) as u64;
    let mut fixed = Vec::new();
    let mut random = Vec::new();
    let mut partitions = Vec::new();
    let mut latencies = Vec::new();
    // Sides named by regions, components or clients.
    let groups = |ck: &mut Checker, path: &str, sides: &[&[String]]| -> Groups {
        let mut g = Groups {
            comp: vec![0; regions.len()],
            region: vec![0; sc.network.regions.len()],
        };
        for (si, side) in sides.iter().enumerate() {
            // Sides are fewer than u16::MAX (checked by the caller).
            let gid = u16::try_from(si + 1).unwrap_or(u16::MAX);
            for (mi, m) in side.iter().enumerate() {
                let mp = format!("{path}.{si}.{mi}");
                let id = sc
                    .clients
                    .get_index_of(m)
                    .map(|i| i as u32)
                    .or_else(|| sc.components.get_index_of(m).map(|i| nclients + i as u32));
                if let Some(id) = id {
                    if g.comp[id as usize] != 0 {
                        ck.err(mp, format!("`{m}` is on two sides"));
                    }
                    g.comp[id as usize] = gid;
                } else if let Some(r) = ck.region(m).map(usize::from) {
                    if g.region[r] != 0 {
                        ck.err(mp, format!("region `{m}` is on two sides"));
                    }
                    g.region[r] = gid;
                    for (c, &cr) in regions.iter().enumerate() {
                        if cr == r as u16 && g.comp[c] == 0 {
                            g.comp[c] = gid;
                        }
                    }
                } else {
                    ck.err(
                        mp,
                        format!(
                            "no region, component or client named `{m}` (components are {})",
                            known()
                        ),
                    );
                }
            }
        }
        g
    };
    for (i, f) in sc.faults.iter().enumerate() {
        let fp = format!("faults.{i}");
        let set = [
            f.crash.is_some(),
            f.slow.is_some(),
            f.random.is_some(),
            f.partition.is_some(),
            f.outage.is_some(),
            f.latency.is_some(),
            f.disk_loss.is_some(),
        ];
        if set.iter().filter(|x| **x).count() != 1 {
            ck.err(
                fp,
                "a fault needs exactly one of `crash: TARGET`, `slow: SERVICE` (with `factor`), \
                 `random: SERVICE` (with `mtbf` and `mttr`), `partition: [[…], […]]`, \
                 `outage: { region }`, `latency: { between: [A, B], add }` or `disk_loss: DB.shard[N]`",
            );
            continue;
        }
        // The component and how many instances it has.
        let lookup = |ck: &mut Checker, field: &str, name: &str| -> Option<(u32, &'static str, u32)> {
            match sc.components.get_full(name) {
                Some((idx, _, ComponentSpec::Service(s))) => Some((
                    nclients + idx as u32,
                    "service",
                    s.replicas.clamp(1, MAX_REPLICAS),
                )),
                Some((idx, _, ComponentSpec::Cache(c))) => {
                    Some((nclients + idx as u32, "cache", c.nodes.clamp(1, MAX_REPLICAS)))
                }
                Some((idx, _, ComponentSpec::Cdn(_))) => Some((nclients + idx as u32, "cdn", 1)),
                Some((idx, _, ComponentSpec::Queue(_))) => Some((nclients + idx as u32, "queue", 1)),
                Some((idx, _, ComponentSpec::Database(d))) => {
                    Some((nclients + idx as u32, "database", d.shards.max(1)))
                }
                Some((_, _, other)) => {
                    ck.err(
                        format!("{fp}.{field}"),
                        format!(
                            "`{name}` is a {}; crashes and slowdowns apply to services, caches, CDN edges, \
                             queues and database shards' primaries",
                            other.kind()
                        ),
                    );
                    None
                }
                None => {
                    ck.err(
                        format!("{fp}.{field}"),
                        format!("no component named `{name}` (components are {})", known()),
                    );
                    None
                }
            }
        };
        if let Some(r) = &f.random {
            for (field, v) in [
                ("at", f.at.is_some()),
                ("for", f.duration.is_some()),
                ("factor", f.factor.is_some()),
            ] {
                if v {
                    ck.err(
                        format!("{fp}.{field}"),
                        "a random fault runs for the whole run: it takes only `mtbf` and `mttr`",
                    );
                }
            }
            let (mtbf, mttr) = match (f.mtbf, f.mttr) {
                (Some(b), Some(r)) if !b.is_zero() && !r.is_zero() => (b, r),
                _ => {
                    ck.err(
                        fp.clone(),
                        "a random fault needs `mtbf` and `mttr`, both longer than zero",
                    );
                    continue;
                }
            };
            // Each instance fails and recovers on a cycle of mean mtbf + mttr.
            let before = ck.problems.len();
            for (field, d) in [("mtbf", mtbf), ("mttr", mttr)] {
                ck.period(&format!("{fp}.{field}"), d.as_nanos(), &format!("`{field}`"), "");
            }
            if ck.problems.len() > before {
                continue;
            }
            let found = lookup(ck, "random", r);
            if let Some((_, "database", _)) = found {
                ck.err(
                    format!("{fp}.random"),
                    format!(
                        "`{r}` is a database: random crashes apply to services and caches; \
                         crash a shard's primary with `crash: {r}.shard[N].primary`"
                    ),
                );
            } else if let Some((comp, _, instances)) = found {
                random.push(RandomFaultCfg {
                    comp,
                    name: r.clone(),
                    instances,
                    mtbf: mtbf.as_nanos() as f64,
                    mttr: mttr.as_nanos() as f64,
                });
            }
            continue;
        }
        for (field, v) in [("mtbf", f.mtbf.is_some()), ("mttr", f.mttr.is_some())] {
            if v {
                ck.err(
                    format!("{fp}.{field}"),
                    format!("`{field}` belongs to a `random` fault"),
                );
            }
        }
        let Some(at) = f.at else {
            ck.err(fp.clone(), "a fault needs `at: TIME` (when it starts)");
            continue;
        };
        if f.duration.is_some_and(|d| d.is_zero()) {
            ck.err(
                format!("{fp}.for"),
                "`for` must be longer than zero (omit it for a permanent fault)",
            );
        }
        let start = at.as_nanos();
        let end = f.duration.map(|d| start.saturating_add(d.as_nanos()));
        if let Some(target) = &f.crash {
            if f.factor.is_some() {
                ck.err(format!("{fp}.factor"), "`factor` belongs to a `slow` fault");
            }
            if let Some((name, shard, rest)) = parse_shard(target) {
                let Some((comp, kind, shards)) = lookup(ck, "crash", name) else {
                    continue;
                };
                match shard {
                    Some(n) if kind == "database" && n < shards && rest == ".primary" => {
                        fixed.push(FaultCfg {
                            comp,
                            action: FaultAction::CrashPrimary(n),
                            start,
                            end,
                            label: format!("{} crashed", target.trim()),
                        });
                    }
                    _ => ck.err(
                        format!("{fp}.crash"),
                        format!(
                            "`{target}`: a database crash names a shard's primary, `{name}.shard[N].primary`, \
                             with N from 0 to {}",
                            shards.saturating_sub(1)
                        ),
                    ),
                }
                continue;
            }
            let (name, index) = parse_instance(target);
            let Some((comp, kind, instances)) = lookup(ck, "crash", name) else {
                continue;
            };
            if kind == "database" {
                ck.err(
                    format!("{fp}.crash"),
                    format!(
                        "`{target}`: a database crash names a shard's primary, `{name}.shard[N].primary`"
                    ),
                );
                continue;
            }
            let action = match index {
                None => FaultAction::CrashAll,
                Some(ix) => match ix.trim().parse::<u32>() {
                    Ok(n) if n < instances => FaultAction::Crash(n),
                    _ => {
                        let what = if kind == "service" { "replica" } else { "node" };
                        ck.err(
                            format!("{fp}.crash"),
                            format!(
                                "`{target}`: `{name}` has {instances} {what}s, numbered 0 to {}",
                                instances.saturating_sub(1)
                            ),
                        );
                        continue;
                    }
                },
            };
            fixed.push(FaultCfg {
                comp,
                action,
                start,
                end,
                label: format!("{} crashed", target.trim()),
            });
        } else if let Some(sides) = &f.partition {
            let refs: Vec<&[String]> = sides.iter().map(|v| v.as_slice()).collect();
            if refs.len() < 2 || refs.iter().any(|s| s.is_empty()) {
                ck.err(
                    format!("{fp}.partition"),
                    "a partition needs at least two non-empty sides: `[[us-east], [eu-west]]`",
                );
                continue;
            }
            if refs.len() >= usize::from(u16::MAX) {
                ck.err(
                    format!("{fp}.partition"),
                    format!(
                        "a partition has at most {} sides, found {}",
                        u16::MAX - 1,
                        refs.len()
                    ),
                );
                continue;
            }
            if !ck.charge_grid(&format!("{fp}.partition"), grid, "a partition") {
                continue;
            }
            let g = groups(ck, &format!("{fp}.partition"), &refs);
            let label = sides.iter().map(|s| s.join(", ")).collect::<Vec<_>>().join(" | ");
            fixed.push(FaultCfg {
                comp: NETWORK,
                action: FaultAction::Partition(partitions.len() as u32),
                start,
                end,
                label: format!("partition {label}"),
            });
            partitions.push(Arc::new(g));
        } else if let Some(o) = &f.outage {
            let Some(r) = region_index(ck, sc, &format!("{fp}.outage.region"), &o.region) else {
                continue;
            };
            fixed.push(FaultCfg {
                comp: NETWORK,
                action: FaultAction::Outage(r),
                start,
                end,
                label: format!("{} outage", o.region),
            });
        } else if let Some(l) = &f.latency {
            if l.between.len() != 2 {
                ck.err(
                    format!("{fp}.latency.between"),
                    "name exactly two components, clients or regions",
                );
                continue;
            }
            if !ck.charge_grid(&format!("{fp}.latency"), grid, "an injected latency") {
                continue;
            }
            let a = std::slice::from_ref(&l.between[0]);
            let b = std::slice::from_ref(&l.between[1]);
            let g = groups(ck, &format!("{fp}.latency.between"), &[a, b]);
            fixed.push(FaultCfg {
                comp: NETWORK,
                action: FaultAction::Latency(latencies.len() as u32),
                start,
                end,
                label: format!("+{} {}↔{}", l.add, l.between[0], l.between[1]),
            });
            latencies.push((Arc::new(g), l.add.as_nanos()));
        } else if let Some(target) = &f.disk_loss {
            if f.duration.is_some() {
                ck.err(
                    format!("{fp}.for"),
                    "a disk loss is instant and the shard is down for the database's `backup.restore_time`: omit `for`",
                );
            }
            let Some((name, Some(n), "")) = parse_shard(target) else {
                ck.err(
                    format!("{fp}.disk_loss"),
                    format!("`{target}`: name a database shard, `DB.shard[N]`"),
                );
                continue;
            };
            let Some((comp, kind, shards)) = lookup(ck, "disk_loss", name) else {
                continue;
            };
            let backed_up =
                matches!(sc.components.get(name), Some(ComponentSpec::Database(d)) if d.backup.is_some());
            if kind != "database" || n >= shards {
                ck.err(
                    format!("{fp}.disk_loss"),
                    format!("`{target}`: name a database shard, `DB.shard[N]` with N below its shard count"),
                );
            } else if !backed_up {
                ck.err(
                    format!("{fp}.disk_loss"),
                    format!("`{name}` has no `backup: {{ every, restore_time }}` to restore the shard from"),
                );
            } else {
                fixed.push(FaultCfg {
                    comp,
                    action: FaultAction::DiskLoss(n),
                    start,
                    end: None,
                    label: format!("{} disk lost", target.trim()),
                });
            }
        } else if let Some(target) = &f.slow {
            let factor = match f.factor {
                Some(x) if x.is_finite() && x > 0.0 => x,
                Some(x) => {
                    ck.err(
                        format!("{fp}.factor"),
                        format!("factor must be a positive number, found {x}"),
                    );
                    continue;
                }
                None => {
                    ck.err(
                        fp.clone(),
                        "a `slow` fault needs `factor` (service times are multiplied by it)",
                    );
                    continue;
                }
            };
            let Some((comp, kind, _)) = lookup(ck, "slow", target) else {
                continue;
            };
            if kind != "service" {
                ck.err(
                    format!("{fp}.slow"),
                    format!("`{target}` is a {kind}; only a service can be slowed"),
                );
                continue;
            }
            fixed.push(FaultCfg {
                comp,
                action: FaultAction::Slow(factor),
                start,
                end,
                label: format!("{target} ×{factor} slower"),
            });
        }
    }
    (fixed, random, partitions, latencies)
}

/// A shard target: `NAME.shard[N]` plus what follows (`.primary`), or
/// `None` when `target` names no shard. A bad number gives `Some((name, None, rest))`.
fn parse_shard(target: &str) -> Option<(&str, Option<u32>, &str)> {
    let t = target.trim();
    let at = t.find(".shard[")?;
    let close = at + t[at..].find(']')?;
    let n = t[at + 7..close].trim().parse().ok();
    Some((&t[..at], n, &t[close + 1..]))
}

/// Resolve every autoscaler into the service it scales (its pool of
/// replica slots, its controller) and the balancers in front of it.
fn autoscalers(ck: &mut Checker, sc: &Scenario, nclients: u32, comps: &mut [CompCfg]) {
    use crate::model::autoscale::{AutoscaleCfg, Hpa, Metric, Policy, RatePolicy, Rules, Select};
    let mut scaled: Vec<(usize, String)> = Vec::new();
    for (name, c) in &sc.components {
        let ComponentSpec::Autoscaler(a) = c else { continue };
        let p = format!("components.{name}");
        let Some((ti, _, target)) = sc.components.get_full(&a.target) else {
            let known: Vec<&String> = sc.components.keys().collect();
            ck.err(
                format!("{p}.target"),
                format!("no component named `{}` (components are {known:?})", a.target),
            );
            continue;
        };
        if !matches!(target, ComponentSpec::Service(_)) {
            ck.err(
                format!("{p}.target"),
                format!(
                    "`{}` is a {}; an autoscaler scales a service",
                    a.target,
                    target.kind()
                ),
            );
            continue;
        }
        if let Some((_, other)) = scaled.iter().find(|(t, _)| *t == ti) {
            ck.err(
                format!("{p}.target"),
                format!(
                    "`{}` is already scaled by `{other}`; a service takes one autoscaler",
                    a.target
                ),
            );
            continue;
        }
        scaled.push((ti, name.clone()));
        if a.min == 0 {
            ck.err(format!("{p}.min"), "min must be at least 1");
        }
        if a.max < a.min.max(1) {
            ck.err(
                format!("{p}.max"),
                format!("max must be at least min ({})", a.min),
            );
        }
        if a.max > MAX_REPLICAS {
            ck.err(
                format!("{p}.max"),
                format!("at most {MAX_REPLICAS} replicas, found {}", a.max),
            );
        }
        if a.min > MAX_REPLICAS {
            ck.err(
                format!("{p}.min"),
                format!("at most {MAX_REPLICAS} replicas, found {}", a.min),
            );
        }
        // Both within 1..=MAX_REPLICAS and min <= max, whatever was written
        // (the problems above stop the run).
        let min = a.min.clamp(1, MAX_REPLICAS);
        let max = a.max.clamp(min, MAX_REPLICAS);
        let interval = a.interval.map_or(15 * NS_PER_S, |d| d.as_nanos());
        ck.period(
            &format!("{p}.interval"),
            interval,
            "the sync interval",
            "the sync interval must be longer than zero",
        );
        let metric = |m: ScalingMetric| match m {
            ScalingMetric::Cpu => Metric::Cpu,
            ScalingMetric::RequestRate => Metric::RequestRate,
            ScalingMetric::LatencyP99 => Metric::LatencyP99,
            ScalingMetric::QueueDepth => Metric::QueueDepth,
        };
        let check_target = |ck: &mut Checker, field: String, m: ScalingMetric, t: f64| {
            if !(t.is_finite() && t > 0.0) {
                ck.err(field, format!("a target must be above zero, found {t}"));
            } else if m == ScalingMetric::Cpu && t > 1.0 {
                ck.err(
                    field,
                    format!("a cpu target is a fraction of the cores (0.6 for 60%), found {t}"),
                );
            }
        };
        let rules =
            |ck: &mut Checker, path: String, spec: Option<&ScalingRulesSpec>, default: Rules| -> Rules {
                let Some(r) = spec else { return default };
                let mut out = default;
                if let Some(w) = r.stabilization_window {
                    out.window = w.as_nanos();
                }
                if let Some(ps) = &r.policies {
                    out.policies = Vec::new();
                    for (k, x) in ps.iter().enumerate() {
                        let pp = format!("{path}.policies.{k}");
                        if x.period.is_zero() {
                            ck.err(format!("{pp}.period"), "a policy period must be longer than zero");
                        }
                        match (x.pods, x.percent) {
                            (Some(n), None) => out.policies.push(RatePolicy::Pods(n, x.period.as_nanos())),
                            (None, Some(v)) if v.is_finite() && v >= 0.0 => {
                                out.policies.push(RatePolicy::Percent(v, x.period.as_nanos()))
                            }
                            (None, Some(v)) => ck.err(
                                format!("{pp}.percent"),
                                format!("a percentage must be zero or more, found {v}"),
                            ),
                            _ => ck.err(
                                pp,
                                "a rate policy has exactly one of `pods: N` or `percent: P`, with `period`",
                            ),
                        }
                    }
                }
                if let Some(sel) = r.select_policy {
                    out.select = match sel {
                        SelectPolicySpec::Max => Select::Max,
                        SelectPolicySpec::Min => Select::Min,
                        SelectPolicySpec::Disabled => Select::Disabled,
                    };
                }
                out
            };
        let behavior = |ck: &mut Checker, path: &str, b: Option<&BehaviorSpec>| -> (Rules, Rules) {
            let b = b.cloned().unwrap_or_default();
            (
                rules(
                    ck,
                    format!("{path}.behavior.scale_up"),
                    b.scale_up.as_ref(),
                    Rules::default_up(),
                ),
                rules(
                    ck,
                    format!("{path}.behavior.scale_down"),
                    b.scale_down.as_ref(),
                    Rules::default_down(),
                ),
            )
        };
        let (policy, used) = match &a.policy {
            ScalingPolicySpec::TargetTracking(t) => {
                let pp = format!("{p}.policy.target_tracking");
                check_target(ck, format!("{pp}.target"), t.metric, t.target);
                let tolerance = t.tolerance.unwrap_or(0.1);
                if !(tolerance.is_finite() && (0.0..1.0).contains(&tolerance)) {
                    ck.err(
                        format!("{pp}.tolerance"),
                        format!("a tolerance is between 0 and 1, found {tolerance}"),
                    );
                }
                let (up, down) = behavior(ck, &pp, t.behavior.as_ref());
                (
                    Policy::TargetTracking(Hpa {
                        metric: metric(t.metric),
                        target: t.target,
                        tolerance,
                        up,
                        down,
                    }),
                    Some(t.metric),
                )
            }
            ScalingPolicySpec::Predictive(t) => {
                let pp = format!("{p}.policy.predictive");
                check_target(ck, format!("{pp}.target"), t.metric, t.target);
                let (alpha, beta) = (t.alpha.unwrap_or(0.5), t.beta.unwrap_or(0.3));
                for (f, v) in [("alpha", alpha), ("beta", beta)] {
                    if !(v > 0.0 && v <= 1.0) {
                        ck.err(
                            format!("{pp}.{f}"),
                            format!("a smoothing constant is in (0, 1], found {v}"),
                        );
                    }
                }
                let (up, down) = behavior(ck, &pp, t.behavior.as_ref());
                (
                    Policy::Predictive {
                        hpa: Hpa {
                            metric: metric(t.metric),
                            target: t.target,
                            tolerance: 0.1,
                            up,
                            down,
                        },
                        horizon: t.horizon.as_nanos(),
                        alpha,
                        beta,
                    },
                    Some(t.metric),
                )
            }
            ScalingPolicySpec::Threshold(t) => {
                let pp = format!("{p}.policy.threshold");
                if t.down_below.partial_cmp(&t.up_above) != Some(std::cmp::Ordering::Less) {
                    ck.err(
                        format!("{pp}.down_below"),
                        format!(
                            "down_below ({}) must be below up_above ({})",
                            t.down_below, t.up_above
                        ),
                    );
                }
                if t.step == 0 {
                    ck.err(format!("{pp}.step"), "step must be at least 1");
                }
                (
                    Policy::Threshold {
                        metric: metric(t.metric),
                        up_above: t.up_above,
                        down_below: t.down_below,
                        step: t.step.max(1),
                        cooldown: t.cooldown.map_or(300 * NS_PER_S, |d| d.as_nanos()),
                    },
                    Some(t.metric),
                )
            }
            ScalingPolicySpec::Schedule(steps) => {
                let mut out = Vec::new();
                for (k, st) in steps.iter().enumerate() {
                    if st.replicas < min || st.replicas > max {
                        ck.err(
                            format!("{p}.policy.schedule.{k}.replicas"),
                            format!("{} is outside min..max ({min}..{max})", st.replicas),
                        );
                    }
                    out.push((st.at.as_nanos(), st.replicas));
                }
                if out.windows(2).any(|w| w[1].0 < w[0].0) {
                    ck.err(
                        format!("{p}.policy.schedule"),
                        "scheduled times must not decrease",
                    );
                }
                if out.is_empty() {
                    ck.err(
                        format!("{p}.policy.schedule"),
                        "a schedule needs at least one `{ at, replicas }`",
                    );
                }
                (Policy::Schedule(out), None)
            }
        };
        // The queue a queue_depth metric reads.
        let mut queue = None;
        if used == Some(ScalingMetric::QueueDepth) {
            let candidates: Vec<(usize, &String)> = sc
                .components
                .iter()
                .enumerate()
                .filter(|(_, (_, c))| matches!(c, ComponentSpec::Queue(q) if q.consumer == a.target))
                .map(|(i, (n, _))| (i, n))
                .collect();
            queue = match &a.queue {
                Some(q) => match sc.components.get_full(q) {
                    Some((i, _, ComponentSpec::Queue(_))) => Some(nclients + i as u32),
                    Some((_, _, other)) => {
                        ck.err(
                            format!("{p}.queue"),
                            format!("`{q}` is a {}, not a queue", other.kind()),
                        );
                        None
                    }
                    None => {
                        ck.err(format!("{p}.queue"), format!("no component named `{q}`"));
                        None
                    }
                },
                None if candidates.len() == 1 => Some(nclients + candidates[0].0 as u32),
                None => {
                    ck.err(
                        format!("{p}.queue"),
                        format!(
                            "queue_depth needs the queue to read: {} queues have `{}` as their consumer; name one with `queue: NAME`",
                            candidates.len(),
                            a.target
                        ),
                    );
                    None
                }
            };
        } else if a.queue.is_some() {
            ck.err(
                format!("{p}.queue"),
                "`queue` is read only by the queue_depth metric",
            );
        }
        let cfg = AutoscaleCfg {
            name: name.clone(),
            min,
            max,
            interval: interval.max(1),
            policy,
            queue,
        };
        if let Some(CompCfg::Service(svc)) = comps.get_mut(ti) {
            svc.replicas = svc.replicas.clamp(min, max);
            svc.pool = max.max(svc.replicas);
            svc.speeds
                .resize(svc.pool as usize, *svc.speeds.last().unwrap_or(&1.0));
            svc.autoscale = Some(cfg);
        }
    }
    // A backend that was not found is id 0 (a problem is reported already):
    // it may be a client's id, which is no component.
    let sid = |id: u32| id.checked_sub(nclients).map_or(usize::MAX, |i| i as usize);
    let fronted: Vec<usize> = comps
        .iter()
        .filter_map(|c| match c {
            CompCfg::Balancer(b) => Some(sid(b.backend)),
            _ => None,
        })
        .collect();
    for i in fronted {
        if let Some(CompCfg::Service(svc)) = comps.get_mut(i) {
            svc.fronted = true;
        }
    }
    // Balancers in front of an autoscaled service size their tables for its
    // pool and learn the serving count from it.
    let mut links = Vec::new();
    for (bi, c) in comps.iter().enumerate() {
        if let CompCfg::Balancer(b) = c
            && let Some(CompCfg::Service(svc)) = comps.get(sid(b.backend))
            && svc.autoscale.is_some()
        {
            links.push((bi, sid(b.backend), svc.pool, svc.replicas));
        }
    }
    for (bi, si, pool, initial) in links {
        if let Some(CompCfg::Balancer(b)) = comps.get_mut(bi) {
            b.replicas = pool;
            b.active = initial;
            b.weights.resize(pool as usize, 1.0);
            b.choices = b.choices.max(1);
        }
        if let Some(CompCfg::Service(svc)) = comps.get_mut(si) {
            svc.balancers.push(nclients + bi as u32);
        }
    }
}

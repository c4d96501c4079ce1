//! From the file's types to the model's configuration: check every value,
//! resolve names to ids, and report each problem with its field path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::client::{ArrivalCfg, ClientCfg, KeysCfg};
use crate::model::database::Mode;
use crate::model::partition::Scheme;
use crate::model::resilience::{Backoff, BreakerCfg, CallPolicy, Jitter, RetryCfg};
use crate::model::service::StateCfg;
use crate::model::store::Policy;
use crate::model::{
    CompCfg, Config, FaultAction, FaultCfg, Groups, NETWORK, NO_REGION, Network, RandomFaultCfg,
};
use crate::scenario::dist::{DistSpec, Sampler};
use crate::scenario::kinds::Home;
use crate::scenario::limits::{
    MAX_BACKUP_COPIES, MAX_CONNECTIONS, MAX_DATA_FILE_BYTES, MAX_DATA_VALUES, MAX_DB_CORE_SLOTS,
    MAX_GRID_CELLS, MAX_INSTANCES, MAX_REPLICATIONS, MAX_SERIES_ROWS, MAX_TABLE_CELLS, MIN_PERIOD_NS,
};
use crate::scenario::spec::*;
use crate::scenario::units::Duration;

mod alerts;
mod answers;
mod clients;
mod faults;
mod network;
mod totals;

use crate::scenario::kinds::autoscaler::autoscalers;
pub use clients::load_trace;
pub(crate) use clients::{call_policy, keys_cfg};
use clients::{key_count, keyless_clients};
use faults::faults;
use network::network;
use totals::totals;

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

/// Options that do not live in the file (or that a flag sets over it).
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Time-series interval; `None` picks 1 s, or a longer round interval
    /// for long runs so the series has at most [`MAX_ROWS`] rows (memory
    /// stays bounded however long the run).
    pub interval: Option<Duration>,
    /// In-flight request limit before a run is declared unstable and
    /// stopped; `None` takes the file's `run.max_in_flight`, else
    /// [`DEFAULT_MAX_IN_FLIGHT`].
    pub max_in_flight: Option<usize>,
}

/// The in-flight limit when neither a flag nor the file sets one.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1_000_000;

/// Collects the problems found while resolving a scenario, with what the
/// checks share (files read, table cells, region names).
pub(crate) struct Checker<'a> {
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
    pub(crate) fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
            key: None,
        });
    }

    /// A problem with the name `key` of an entry of the map at `parent`.
    pub(crate) fn err_key(&mut self, parent: &str, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: format!("{parent}.{key}"),
            message: message.into(),
            key: Some(key.to_string()),
        });
    }

    /// Checks the period of a repeating timer: zero gets `zero` (the message
    /// it always had), anything else below [`MIN_PERIOD_NS`] is refused with
    /// the floor stated. `what` names the field in the message.
    pub(crate) fn period(&mut self, path: &str, ns: u64, what: &str, zero: &str) {
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
    pub(crate) fn charge_file_values(&mut self, n: usize) -> Result<(), String> {
        self.file_values = self.file_values.saturating_add(n as u64);
        if self.file_values > MAX_DATA_VALUES {
            return Err(format!(
                "the files this scenario names hold more than {MAX_DATA_VALUES} values together, the most \
                 archsim keeps (traces and empirical distributions)"
            ));
        }
        Ok(())
    }

    pub(crate) fn sampler(&mut self, path: &str, d: &DistSpec) -> Option<Sampler> {
        let file = match d {
            DistSpec::Empirical(f) => Some(self.base_dir.join(f)),
            _ => None,
        };
        let made = match file.as_ref().and_then(|f| self.samplers.get(f)) {
            Some(done) => done.clone(),
            None => {
                let made = crate::scenario::dist::sampler(d, self.base_dir)
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
    pub(crate) fn trace(&mut self, file: &Path) -> Result<Arc<Vec<u64>>, String> {
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
    pub(crate) fn charge_grid(&mut self, path: &str, n: u64, what: &str) -> bool {
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
    pub(crate) fn region(&self, name: &str) -> Option<u16> {
        self.regions.get(name).copied()
    }

    pub(crate) fn positive_f64(&mut self, path: &str, v: f64, what: &str) {
        if !(v.is_finite() && v > 0.0) {
            self.err(path, format!("{what} must be a positive number, found {v}"));
        }
    }

    pub(crate) fn rate(&mut self, path: &str, v: f64) {
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
    } else if let Some(m) = crate::scenario::limits::name_problem(&sc.name, &[]) {
        ck.err("name", format!("{m} (it names the output folder)"));
    }
    // Client and component names head the columns of timeseries.csv and
    // name metrics; a comma or a quote would break the CSV.
    for (section, names) in [
        ("clients", sc.clients.keys().collect::<Vec<_>>()),
        ("components", sc.components.keys().collect()),
    ] {
        for name in names {
            if let Some(m) = crate::scenario::limits::name_problem(name, &[',', '"']) {
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
    let known = || known(sc);

    let network = network(&mut ck, sc);
    answers::check(&mut ck, sc);

    // Clients.
    let mut clients = Vec::new();
    let mut identity_base = 0u64;
    // Client connections so far: the next client's first slot.
    let mut conn_base = 0u32;
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
        let connections = c.connections.map(|k| {
            let kp = format!("{p}.connections");
            if k.count == 0 {
                ck.err(format!("{kp}.count"), "count must be at least 1");
            } else if u64::from(conn_base) + u64::from(k.count) > u64::from(MAX_CONNECTIONS) {
                ck.err(
                    format!("{kp}.count"),
                    format!(
                        "connections of all clients together may be at most {MAX_CONNECTIONS}; with \
                         this client's {} they would be {}",
                        k.count,
                        u64::from(conn_base) + u64::from(k.count)
                    ),
                );
            }
            if k.lifetime.is_zero() {
                ck.err(format!("{kp}.lifetime"), "lifetime must be longer than zero");
            }
            let count = k.count.clamp(1, MAX_CONNECTIONS);
            let cfg = crate::model::client::ConnCfg {
                count,
                lifetime: k.lifetime.as_nanos().max(1),
                base: conn_base.min(MAX_CONNECTIONS - count),
            };
            conn_base = conn_base.saturating_add(k.count).min(MAX_CONNECTIONS);
            cfg
        });
        let discovery = crate::scenario::kinds::registry::client_discovery(&mut ck, sc, c, &comp_id, &p);
        clients.push(ClientCfg {
            discovery,
            connections,
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
        ComponentSpec::Database(_) | ComponentSpec::Consensus(_) => true,
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
    // Resharding events: how many shards each database may gain.
    let mut events = Vec::new();
    let mut added: Vec<u32> = vec![0; sc.components.len()];
    let mut deployed: Vec<String> = Vec::new();
    for (i, e) in sc.events.iter().enumerate() {
        let ep = format!("events.{i}");
        let (field, code, db) = match (&e.add_shard, &e.remove_shard, &e.deploy) {
            (Some(db), None, None) => ("add_shard", crate::model::database::ADD_SHARD, db),
            (None, Some(db), None) => ("remove_shard", crate::model::database::REMOVE_SHARD, db),
            (None, None, Some(svc)) => {
                if let Some(id) = crate::scenario::kinds::deploy::event(&mut ck, sc, &ep, svc, &mut deployed)
                {
                    events.push((e.at.as_nanos(), nclients + id, crate::model::service::DEPLOY));
                }
                continue;
            }
            _ => {
                ck.err(
                    ep,
                    "an event needs exactly one action besides `at`: `add_shard: DB`, `remove_shard: DB` \
                     or `deploy: SERVICE`",
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
                    "`{db}` is {}; shards are added to and removed from a database",
                    other.a_kind()
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

    // Components: each kind resolves its own spec.
    let scope = Scope {
        sc,
        nclients,
        identity_base,
        key_space,
        added: &added,
        network: &network,
    };
    let mut comps = Vec::new();
    for (name, c) in &sc.components {
        let p = format!("components.{name}");
        let cfg = c.as_kind().resolve(&mut ck, &scope, name, &p);
        comps.push(cfg);
    }
    check_cycles(&mut ck, sc);
    autoscalers(&mut ck, sc, nclients, &mut comps);
    let run = sc.run.clone().unwrap_or_default();
    if let Some(r) = run.replications
        && !(1..=MAX_REPLICATIONS).contains(&r)
    {
        ck.err(
            "run.replications",
            format!("must be at least 1 and at most {MAX_REPLICATIONS}, found {r}"),
        );
    }
    if run.interval.is_some_and(|d| d.is_zero()) {
        ck.err("run.interval", "must be longer than zero");
    }
    if run.max_in_flight == Some(0) {
        ck.err("run.max_in_flight", "must be at least 1");
    }
    // A flag wins over the file.
    let interval = opts.interval.or(run.interval).filter(|d| !d.is_zero());
    let max_in_flight = opts
        .max_in_flight
        .or(run
            .max_in_flight
            .map(|m| usize::try_from(m).unwrap_or(usize::MAX)))
        .unwrap_or(DEFAULT_MAX_IN_FLIGHT)
        .max(1);
    if let Some(iv) = interval
        && !sc.duration.is_zero()
    {
        let flag = if opts.interval.is_some() {
            "--interval"
        } else {
            "run.interval"
        };
        let rows = sc.duration.as_nanos().div_ceil(iv.as_nanos().max(1));
        if rows > MAX_SERIES_ROWS {
            ck.err(
                "duration",
                format!(
                    "with {flag} {iv}, this {} run would record {rows} time-series rows, and at most \
                     {MAX_SERIES_ROWS} are kept: use a longer {flag} (at least {})",
                    sc.duration,
                    Duration(sc.duration.as_nanos().div_ceil(MAX_SERIES_ROWS))
                ),
            );
        }
    }
    let interval = interval
        .map(|d| d.as_nanos().max(1))
        .unwrap_or_else(|| auto_interval(sc.duration.as_nanos()));
    let (alerts, alert_interval) = alerts::alerts(&mut ck, sc, interval);
    // The scenario-wide totals are only meaningful once every value is.
    if ck.problems.is_empty() {
        totals(&mut ck, sc, &comps, key_space);
    }
    // Walks the calls, so only once every name resolves to its kind.
    if ck.problems.is_empty() {
        keyless_clients(&mut ck, sc, &added);
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
    let cfg = Config {
        name: sc.name.clone(),
        duration: sc.duration.as_nanos(),
        warmup: sc.warmup.fixed().as_nanos(),
        auto_warmup: sc.warmup == Warmup::Auto,
        clients,
        components: comps,
        network,
        key_space,
        databases: sc.components.values().filter(|c| c.is_database()).count(),
        events,
        faults,
        random_faults,
        partitions,
        latencies,
        // In-flight requests get a minute after the end to finish, or the
        // longest a client may wait with all its attempts if that is longer
        // (so every one resolves).
        drain,
        interval,
        max_in_flight,
        priced: sc.components.values().any(|c| match c {
            ComponentSpec::Service(s) => s.price_per_hour.is_some(),
            ComponentSpec::Cache(k) => k.price_per_hour.is_some(),
            ComponentSpec::Cdn(k) => k.price_per_hour.is_some(),
            ComponentSpec::Database(d) => d.price_per_hour.is_some(),
            ComponentSpec::Consensus(d) => d.price_per_hour.is_some(),
            _ => false,
        }),
        alerts,
        alert_interval,
    };
    // Which columns a run records is known once the model is.
    let problems = alerts::check_metrics(sc, &cfg);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(cfg)
}

// The limits used to live here; they are in [`crate::scenario::limits`] now, and
// re-exported under their old paths.
pub use crate::scenario::limits::{
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

/// The names listed when a reference is wrong: the first few, so that a
/// scenario with thousands of components does not print them all per error.
pub(crate) fn known(sc: &Scenario) -> String {
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
}

/// What a kind's resolution may look up about the rest of the scenario.
pub(crate) struct Scope<'a> {
    /// The whole scenario.
    pub sc: &'a Scenario,
    /// Clients come first in the id space, so component ids start here.
    pub nclients: u32,
    /// Identities of all clients together.
    pub identity_base: u64,
    /// The key space stores size their tables by.
    pub key_space: u64,
    /// Shards each component gains by resharding events (by file index).
    pub added: &'a [u32],
    /// The resolved network (regions of every client and component).
    pub network: &'a Network,
}

impl Scope<'_> {
    /// The id of the component named `name`.
    pub fn comp_id(&self, name: &str) -> Option<u32> {
        self.sc
            .components
            .get_index_of(name)
            .map(|i| self.nclients + i as u32)
    }

    /// The component names to list when a reference is wrong.
    pub fn known(&self) -> String {
        known(self.sc)
    }

    /// The slot of database `name` among the databases (file order).
    pub fn db_slot(&self, name: &str) -> Option<usize> {
        db_slot(self.sc, name)
    }

    /// The database whose versions a cache in front of `name` holds copies
    /// of: `name` itself, or the first one reached along edges that carry
    /// reads.
    pub fn source_db(&self, name: &str) -> Option<usize> {
        source_db(self.sc, name, 0)
    }
}

fn db_slot(sc: &Scenario, name: &str) -> Option<usize> {
    sc.components
        .iter()
        .filter(|(_, c)| c.is_database())
        .position(|(n, _)| n == name)
}

fn source_db(sc: &Scenario, name: &str, depth: u32) -> Option<usize> {
    if depth > 32 {
        return None;
    }
    let c = sc.components.get(name)?;
    if c.is_database() {
        return db_slot(sc, name);
    }
    c.as_kind()
        .edges(name)
        .iter()
        .filter(|e| e.reads)
        .find_map(|e| source_db(sc, e.target, depth + 1))
}

/// Calls must form a DAG: a request sent round a cycle would never finish.
/// The edges are each kind's [`Kind::edges`](crate::scenario::kinds::Kind::edges).
fn check_cycles(ck: &mut Checker, sc: &Scenario) {
    let n = sc.components.len();
    let mut adj: Vec<Vec<(usize, String)>> = vec![Vec::new(); n];
    for (i, (name, c)) in sc.components.iter().enumerate() {
        for e in c.as_kind().edges(name) {
            if let Some(t) = sc.components.get_index_of(e.target) {
                adj[i].push((t, format!("components.{name}.{}", e.field)));
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

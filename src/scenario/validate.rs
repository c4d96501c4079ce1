//! From the file's types to the model's configuration: check every value,
//! resolve names to ids, and report each problem with its field path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::dist::{DistSpec, Sampler};
use super::kinds::Home;
use super::limits::{
    MAX_BACKUP_COPIES, MAX_DATA_FILE_BYTES, MAX_DATA_VALUES, MAX_DB_CORE_SLOTS, MAX_GRID_CELLS,
    MAX_INSTANCES, MAX_SERIES_ROWS, MAX_TABLE_CELLS, MIN_PERIOD_NS,
};
use super::spec::*;
use super::units::Duration;
use crate::engine::NS_PER_S;
use crate::model::client::{ArrivalCfg, ClientCfg, KeysCfg};
use crate::model::database::Mode;
use crate::model::partition::Scheme;
use crate::model::resilience::{Backoff, BreakerCfg, CallPolicy, Jitter, RetryCfg};
use crate::model::service::StateCfg;
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
    let known = || known(sc);

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
pub(crate) fn keys_cfg(ck: &mut Checker, p: &str, keys: Option<KeySpec>) -> KeysCfg {
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

/// A caller's timeout, retries, breaker and idempotency, checked (`p` is the
/// path of the client or call edge that carries them).
pub(crate) fn call_policy(
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

/// The names listed when a reference is wrong: the first few, so that a
/// scenario with thousands of components does not print them all per error.
fn known(sc: &Scenario) -> String {
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
        .filter(|(_, c)| matches!(c, ComponentSpec::Database(_)))
        .position(|(n, _)| n == name)
}

fn source_db(sc: &Scenario, name: &str, depth: u32) -> Option<usize> {
    if depth > 32 {
        return None;
    }
    let c = sc.components.get(name)?;
    if let ComponentSpec::Database(_) = c {
        return db_slot(sc, name);
    }
    c.as_kind()
        .edges(name)
        .iter()
        .filter(|e| e.reads)
        .find_map(|e| source_db(sc, e.target, depth + 1))
}

/// Calls must form a DAG: a request sent round a cycle would never finish.
/// The edges are each kind's [`Kind::edges`](super::kinds::Kind::edges).
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
        let r = match c.as_kind().home() {
            Home::Default => default,
            Home::Everywhere => NO_REGION,
            Home::Region(r) => region_index(ck, sc, &format!("{p}.region"), r).unwrap_or(default),
            Home::Placement { region, placement } => {
                let mut r = match (region, placement.first()) {
                    (Some(r), _) => region_index(ck, sc, &format!("{p}.region"), r).unwrap_or(default),
                    (None, Some(r)) => {
                        region_index(ck, sc, &format!("{p}.placement.0"), r).unwrap_or(default)
                    }
                    (None, None) => default,
                };
                let mut placed = Vec::new();
                for (i, pl) in placement.iter().enumerate() {
                    if let Some(x) = region_index(ck, sc, &format!("{p}.placement.{i}"), pl) {
                        placed.push(x);
                    }
                }
                // A database spread over regions is reached in every one: the
                // network never cuts it off as a whole; its nodes are split.
                if placed.iter().any(|&x| x != placed[0]) {
                    r = NO_REGION;
                }
                r
            }
        };
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
                Some((idx, _, c)) if c.as_kind().instances().is_some() => Some((
                    nclients + idx as u32,
                    c.kind(),
                    c.as_kind().instances().unwrap_or(1),
                )),
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

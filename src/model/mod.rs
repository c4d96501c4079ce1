//! The simulated system: components that exchange request hops through the
//! engine's event queue.
//!
//! Every client and component is a [`Component`] with an integer id (clients
//! first, then components in file order). A component reacts to a [`Msg`]
//! with a `&mut Ctx` that gives it the clock, the scheduler, the request
//! arena and the network; it never holds a reference to another component.
//! Adding a component kind is adding a module that implements the trait and
//! one arm in [`build`]: the loop in [`World::run`] never changes.

pub mod autoscale;
pub mod balancer;
pub mod cache;
pub mod client;
pub mod database;
pub mod dns;
pub mod gateway;
pub mod partition;
pub mod queue;
pub mod request;
pub mod resilience;
pub mod service;
pub mod store;
pub mod trace;

use std::collections::BTreeMap;

use crate::engine::rng::Rng;
use crate::engine::sampler::Sampler;
use crate::engine::{Message, Scheduler, SimTime};
pub use request::{ANY_REPLICA, Arena, Outcome, ReqRef, Request};

/// Target id for messages addressed to the world itself (sampling, warm-up).
pub const WORLD: u32 = u32::MAX;

/// What travels through the event queue.
#[derive(Clone, Copy, Debug)]
pub enum Msg {
    /// A client's next arrival; for a closed loop, user `user`'s next request.
    Arrive {
        /// Closed-loop user (0 for open clients).
        user: u32,
    },
    /// A request hop delivered to the component that serves it.
    Request(ReqRef),
    /// The answer to a hop, delivered to its `reply_to`.
    Response(ReqRef, Outcome),
    /// A FIFO replica finished a request's service time.
    Done(ReqRef),
    /// Processor sharing: replica `replica`'s earliest job may be finished
    /// (ignored unless `generation` is still current).
    PsDone {
        /// Replica index.
        replica: u32,
        /// Reschedule generation.
        generation: u32,
    },
    /// A hop the receiver waits for has taken too long.
    Timeout(ReqRef),
    /// A delayed step of a record the receiver owns (a cache's lookup time,
    /// a follower applying a replicated write, a directory lookup).
    Later(ReqRef),
    /// Cache-aside fill: store the record's key and version; the receiver
    /// frees the record (no answer).
    Fill(ReqRef),
    /// A timed scenario event addressed to the receiver (its own code).
    Event(u32),
    /// A periodic timer of the receiver (write-back flushes).
    Tick,
    /// A health-check probe of replica `replica`, answered to `from` by a
    /// replica that is up.
    Probe {
        /// The balancer asking.
        from: u32,
        /// Replica probed.
        replica: u32,
        /// Probe round.
        seq: u32,
    },
    /// A replica answers a probe.
    ProbeReply {
        /// Replica.
        replica: u32,
        /// Probe round.
        seq: u32,
    },
    /// A started replica has finished starting (ignored unless `epoch` is still current).
    Ready {
        /// Replica slot.
        replica: u32,
        /// Start generation.
        epoch: u32,
    },
    /// A service tells the balancers in front how many replicas serve.
    Members(u32),
    /// A probe's time is up.
    ProbeTimeout {
        /// Replica.
        replica: u32,
        /// Probe round.
        seq: u32,
    },
    /// World: fault `idx` starts (`on`) or ends for one instance.
    Fault {
        /// Index into the scheduled faults, then the random ones.
        idx: u32,
        /// Instance of a random fault (0 otherwise).
        instance: u32,
        /// Starts (true) or ends.
        on: bool,
    },
    /// World: end of warm-up, statistics restart.
    Warmup,
    /// World: middle of the measured window (stability check).
    Midpoint,
    /// World: a time-series interval ends.
    Sample,
}

impl Message for Msg {
    #[inline]
    fn code(&self) -> u64 {
        match *self {
            Msg::Arrive { user } => 1 | (u64::from(user) << 8),
            Msg::Request(r) => 2 ^ (r.code() << 8),
            Msg::Response(r, o) => 3 ^ ((o as u64) << 4) ^ (r.code() << 8),
            Msg::Done(r) => 4 ^ (r.code() << 8),
            Msg::PsDone { replica, generation } => {
                5 ^ (u64::from(replica) << 8) ^ (u64::from(generation) << 32)
            }
            Msg::Timeout(r) => 6 ^ (r.code() << 8),
            Msg::Warmup => 7,
            Msg::Midpoint => 8,
            Msg::Sample => 9,
            Msg::Later(r) => 10 ^ (r.code() << 8),
            Msg::Fill(r) => 11 ^ (r.code() << 8),
            Msg::Event(c) => 12 ^ (u64::from(c) << 8),
            Msg::Tick => 13,
            Msg::Probe { from, replica, seq } => {
                15 ^ (u64::from(from) << 8) ^ (u64::from(replica) << 24) ^ (u64::from(seq) << 40)
            }
            Msg::ProbeReply { replica, seq } => 16 ^ (u64::from(replica) << 8) ^ (u64::from(seq) << 40),
            Msg::ProbeTimeout { replica, seq } => 17 ^ (u64::from(replica) << 8) ^ (u64::from(seq) << 40),
            Msg::Ready { replica, epoch } => 18 ^ (u64::from(replica) << 8) ^ (u64::from(epoch) << 40),
            Msg::Members(n) => 19 ^ (u64::from(n) << 8),
            Msg::Fault { idx, instance, on } => {
                14 ^ (u64::from(idx) << 8) ^ (u64::from(instance) << 32) ^ (u64::from(on) << 63)
            }
        }
    }
}

/// Why a run ended before its duration.
#[derive(Clone, Debug, PartialEq)]
pub enum Stop {
    /// More requests were in flight than the limit: the system is unstable.
    TooManyInFlight(usize),
    /// Simulated time stopped advancing: events kept coming at one instant
    /// (a zero-time loop). Holds the message for the user.
    Livelock(String),
}

/// Events dispatched at one simulated instant, with the clock never moving,
/// after which a run is suspected of a zero-time loop: 2^24, about 16.8
/// million. A legitimate burst at one instant is a handful of zero-time
/// hops per request released together (until some service time, think
/// time or latency above zero spaces them out): 100,000 closed-loop users
/// starting at t = 0 with ten hops each is one million events, and a
/// replica crashing with the default limit of one million requests in
/// flight fails them all with a few events each. The threshold is several
/// times either, and grows with the closed-loop users a scenario declares
/// (see [`LIVELOCK_EVENTS_PER_USER`]); at tens of millions of events per
/// second, a real loop is still reported within a second or two.
pub const LIVELOCK_EVENTS: u64 = 1 << 24;

/// Extra events allowed at one instant per closed-loop user before a run
/// is suspected of a zero-time loop: every user may start at t = 0, and
/// 64 zero-time hops per request is more than any call chain needs.
pub const LIVELOCK_EVENTS_PER_USER: u64 = 64;

/// Events dispatched after a zero-time loop is suspected, counting which
/// component receives each, before the run is stopped (if the clock has
/// still not moved): enough to rank the components that take part.
const LIVELOCK_CENSUS: u64 = 1 << 18;

/// `n` with commas between groups of three digits (17,104,896).
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How many events apart the run loop checks for cancellation, timers to
/// drop and a stuck clock (a mask on the count of dispatched events).
const CHECK_EVERY: u64 = 0xFFFF;

/// What a periodic check found.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Checked {
    /// Carry on.
    Go,
    /// The cancel flag was raised.
    Cancelled,
}

/// No region (a scenario without `network.regions`, or a database spread
/// over several).
pub const NO_REGION: u16 = u16::MAX;

/// The network: latency between components and regions, and the network
/// faults in force (partitions, injected latency, region outages).
///
/// Every message between components goes through [`Ctx::send`]; with no
/// regions and no network fault in force it takes the one-sampler fast path.
#[derive(Clone, Debug, Default)]
pub struct Network {
    /// One-way latency of a hop inside a region; `None` is zero.
    pub latency: Option<Sampler>,
    /// Region names.
    pub regions: Vec<String>,
    /// Region of each client and component id ([`NO_REGION`] = none).
    pub region: Vec<u16>,
    /// One-way latency between regions `a` and `b` at `a * regions + b`
    /// (`None`: the in-region latency).
    pub between: Vec<Option<Sampler>>,
    /// Partitions in force: (fault index, groups).
    pub cuts: Vec<(u32, std::sync::Arc<Groups>)>,
    /// Injected latency in force: (fault index, sides, extra ns).
    pub extra: Vec<(u32, std::sync::Arc<Groups>, u64)>,
    /// Regions out (every component in them unreachable).
    pub down: Vec<bool>,
    /// Nothing but the in-region latency applies (the fast path).
    pub simple: bool,
    /// Ids below this are clients: users, who outlive a region outage (the
    /// data centre goes down, not its users).
    pub clients: u32,
}

/// Components split into numbered groups (0 = in none), by component id
/// and by region: a partition's sides, or the two ends of injected latency.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Groups {
    /// Group of each client and component id.
    pub comp: Vec<u16>,
    /// Group of each region (for database nodes placed in regions).
    pub region: Vec<u16>,
}

impl Groups {
    /// Whether `a` and `b` are on two different sides.
    #[inline]
    fn split(&self, a: u32, b: u32) -> bool {
        let ga = self.comp.get(a as usize).copied().unwrap_or(0);
        let gb = self.comp.get(b as usize).copied().unwrap_or(0);
        ga != 0 && gb != 0 && ga != gb
    }
}

impl Network {
    /// Recompute the fast-path flag after a change.
    pub fn refresh(&mut self) {
        self.simple = self.between.is_empty()
            && self.cuts.is_empty()
            && self.extra.is_empty()
            && !self.down.contains(&true);
    }

    /// Whether a partition in force separates `a` and `b`, or either is in
    /// a region that is out.
    pub fn cut(&self, a: u32, b: u32) -> bool {
        let out = |c: u32| {
            c >= self.clients
                && self
                    .region
                    .get(c as usize)
                    .is_some_and(|&r| self.down.get(r as usize).copied().unwrap_or(false))
        };
        self.cuts.iter().any(|(_, g)| g.split(a, b)) || out(a) || out(b)
    }

    /// Whether a caller `caller` can reach a database node placed in
    /// region `node_region` (partitions only: outages crash the node).
    pub fn reaches(&self, caller: u32, node_region: u16) -> bool {
        self.cuts.iter().all(|(_, g)| {
            let gc = g.comp.get(caller as usize).copied().unwrap_or(0);
            let gn = g.region.get(node_region as usize).copied().unwrap_or(0);
            gc == 0 || gn == 0 || gc == gn
        })
    }

    /// Whether database nodes in regions `a` and `b` can reach each other.
    pub fn regions_reach(&self, a: u16, b: u16) -> bool {
        self.cuts.iter().all(|(_, g)| {
            let ga = g.region.get(a as usize).copied().unwrap_or(0);
            let gb = g.region.get(b as usize).copied().unwrap_or(0);
            ga == 0 || gb == 0 || ga == gb
        })
    }

    /// One-way latency of a hop from `from` to `to`, drawn from `rng`.
    fn delay(&self, rng: &mut Rng, from: u32, to: u32) -> SimTime {
        let n = self.regions.len();
        let ra = self.region.get(from as usize).copied().unwrap_or(NO_REGION);
        let rb = self.region.get(to as usize).copied().unwrap_or(NO_REGION);
        let cross = (ra != rb && ra != NO_REGION && rb != NO_REGION)
            .then(|| self.between.get(ra as usize * n + rb as usize))
            .flatten()
            .and_then(|s| s.as_ref());
        let mut d = match (cross, &self.latency) {
            (Some(s), _) => s.sample(rng),
            (None, Some(s)) => s.sample(rng),
            (None, None) => 0,
        };
        for (_, g, add) in &self.extra {
            if g.split(from, to) {
                d = d.saturating_add(*add);
            }
        }
        d
    }
}

/// Per-interval counters shared by all clients (for the time series).
#[derive(Clone, Debug)]
pub struct IntervalStats {
    /// Successful completions.
    pub completed: u64,
    /// Failures, rejections and timeouts.
    pub errors: u64,
    /// Latency of successful completions.
    pub latency: crate::stats::IntervalHistogram,
    /// Sum of those latencies in ns (for the interval mean).
    pub latency_sum: u64,
    /// Latency as users felt it: every settled request, failed, rejected
    /// and timed-out ones included (time until the answer or until the
    /// client gave up, retries included).
    pub felt: crate::stats::IntervalHistogram,
}

/// What a component's handler may use.
pub struct Ctx {
    /// The future-event set and clock.
    pub sched: Scheduler<Msg>,
    /// Request records.
    pub reqs: Arena,
    /// The network.
    pub net: Network,
    /// End of warm-up.
    pub warmup: SimTime,
    /// Requests in flight above which the run stops (unstable system).
    pub max_in_flight: usize,
    /// Set to end the run early.
    pub stop: Option<Stop>,
    /// Time-series counters of the current interval.
    pub interval: IntervalStats,
    /// The run has ended: clients issue nothing new while in-flight
    /// requests finish.
    pub draining: bool,
    /// Client requests issued and not yet answered or timed out.
    pub open: u64,
    /// Committed data versions, shared so caches can tell stale entries.
    pub data: Versions,
    /// The component whose handler runs now (the sender of what it sends).
    pub current: u32,
    /// Values components publish for others to read (a queue's depth for
    /// the autoscaler scaling its consumer), by component id.
    pub gauges: Vec<i64>,
}

/// The newest committed version of every key, per database: the truth a
/// read is compared with to decide whether it was stale.
#[derive(Clone, Debug, Default)]
pub struct Versions {
    dbs: Vec<Vec<u32>>,
}

impl Versions {
    /// Room for `dbs` databases of `key_space` keys each.
    pub fn new(dbs: usize, key_space: u64) -> Versions {
        Versions {
            dbs: (0..dbs).map(|_| vec![0; key_space as usize]).collect(),
        }
    }

    /// The newest committed version of `key` in database slot `db`.
    #[inline]
    pub fn committed(&self, db: usize, key: u64) -> u32 {
        self.dbs
            .get(db)
            .and_then(|v| v.get(key as usize))
            .copied()
            .unwrap_or(0)
    }

    /// Record that `version` of `key` is committed (versions never go back).
    #[inline]
    pub fn commit(&mut self, db: usize, key: u64, version: u32) {
        if let Some(v) = self.dbs.get_mut(db).and_then(|v| v.get_mut(key as usize)) {
            *v = (*v).max(version);
        }
    }

    /// Set the committed version of `key` to exactly `version`: committed
    /// writes were lost (a failover to a follower that lacked them, a
    /// restore from a backup) and the data went back.
    #[inline]
    pub fn reset(&mut self, db: usize, key: u64, version: u32) {
        if let Some(v) = self.dbs.get_mut(db).and_then(|v| v.get_mut(key as usize)) {
            *v = version;
        }
    }
}

impl Ctx {
    /// The current simulated time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.sched.now()
    }

    /// Send `msg` to `to` across the network; the sender's stream draws the
    /// latency, so another component's traffic never shifts its numbers.
    #[inline]
    pub fn send(&mut self, rng: &mut Rng, to: u32, msg: Msg) {
        if !self.net.simple {
            return self.send_far(rng, to, msg);
        }
        match &self.net.latency {
            None => self.sched.now_msg(to, msg),
            Some(s) => {
                let d = s.sample(rng);
                self.sched.after(d, to, msg)
            }
        }
    }

    /// [`Ctx::send`] with regions or network faults: region latency,
    /// injected latency, and messages lost to a partition or an outage.
    #[inline(never)]
    fn send_far(&mut self, rng: &mut Rng, to: u32, msg: Msg) {
        let from = self.current;
        if self.net.cut(from, to) {
            return self.lose(msg);
        }
        let d = self.net.delay(rng, from, to);
        self.sched.after(d, to, msg)
    }

    /// A message the network dropped. Nobody learns of it: a caller waiting
    /// for an answer times out. A record nobody will answer any more is
    /// freed at once, or marked [`request::LOST`] so that its caller frees
    /// it when its timeout fires.
    fn lose(&mut self, msg: Msg) {
        match msg {
            Msg::Request(r) | Msg::Response(r, _) => {
                if let Some(rec) = self.reqs.get_mut(r) {
                    if rec.abandoned {
                        self.reqs.free(r);
                    } else {
                        rec.flags |= request::LOST;
                    }
                }
            }
            Msg::Fill(r) => self.reqs.free(r),
            _ => {}
        }
    }

    /// The value component `id` publishes (0 if none).
    #[inline]
    pub fn gauge(&self, id: u32) -> i64 {
        self.gauges.get(id as usize).copied().unwrap_or(0)
    }

    /// Publish a value for component `id`.
    #[inline]
    pub fn set_gauge(&mut self, id: u32, v: i64) {
        if let Some(g) = self.gauges.get_mut(id as usize) {
            *g = v;
        }
    }

    /// The region of client or component `id` ([`NO_REGION`] if none).
    #[inline]
    pub fn region(&self, id: u32) -> u16 {
        self.net.region.get(id as usize).copied().unwrap_or(NO_REGION)
    }

    /// Answer hop `req` to whoever sent it.
    #[inline]
    pub fn respond(&mut self, rng: &mut Rng, req: ReqRef, outcome: Outcome) {
        if let Some(r) = self.reqs.get(req) {
            let to = r.reply_to;
            self.send(rng, to, Msg::Response(req, outcome));
        }
    }
}

/// Metrics as a sorted map of SPEC names to values.
pub type Metrics = BTreeMap<String, f64>;

/// What a component reports at the end of a run.
pub struct ReportCtx {
    /// End of the run (may be before the planned end if stopped).
    pub now: SimTime,
    /// Start of the measured window.
    pub warmup: SimTime,
}

impl ReportCtx {
    /// Length of the measured window in seconds (never zero).
    pub fn window_s(&self) -> f64 {
        (crate::engine::secs(self.now.saturating_sub(self.warmup))).max(1e-9)
    }
}

/// A client or component of the simulated system.
pub trait Component {
    /// Its name in the scenario.
    fn name(&self) -> &str;
    /// React to a message.
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx);
    /// Start the first events (arrivals) at time zero.
    fn start(&mut self, _ctx: &mut Ctx) {}
    /// Warm-up ends: restart time averages and counters.
    fn on_warmup(&mut self, _now: SimTime) {}
    /// Middle of the measured window.
    fn on_midpoint(&mut self, _now: SimTime) {}
    /// Names of this component's time-series columns.
    fn columns(&self, _out: &mut Vec<String>) {}
    /// Values of those columns for the interval ending now.
    fn sample(&mut self, _now: SimTime, _out: &mut Vec<f64>) {}
    /// Final metrics.
    fn report(&self, _rc: &ReportCtx, _out: &mut Metrics, _notes: &mut Vec<String>) {}
    /// Requests this component holds now (queued or in service): names the
    /// bottleneck when an unstable run is stopped.
    fn backlog(&self) -> u64 {
        0
    }
    /// The client's latency histogram, for the overall percentiles.
    fn client_latency(&self) -> Option<&crate::stats::Histogram> {
        None
    }
    /// A fault starts (`on`) or ends.
    fn fault(&mut self, _action: FaultAction, _on: bool, _ctx: &mut Ctx) {}
    /// What in this component's configuration takes zero simulated time
    /// and could keep a request looping at one instant (a think time, a
    /// retry backoff, a service time of 0s), with the fix: advice when the
    /// run is stopped because its clock stopped. `None`: nothing to say.
    fn zero_time_advice(&self) -> Option<String> {
        None
    }
}

/// What a fault does to its component.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultAction {
    /// Crash one instance (a service replica, a cache node): what it holds
    /// fails, what it kept only in memory is lost, arrivals fail until it
    /// recovers.
    Crash(u32),
    /// Crash every instance.
    CrashAll,
    /// Multiply service times by this factor (a gray failure).
    Slow(f64),
    /// Network: partition `Config::partitions[i]` (told to every component).
    Partition(u32),
    /// Network: injected latency `Config::latencies[i]`.
    Latency(u32),
    /// Every component in this region is out (told to every component;
    /// those in the region crash).
    Outage(u16),
    /// A database shard's primary node crashes.
    CrashPrimary(u32),
    /// A database shard loses its data on every node.
    DiskLoss(u32),
}

/// The component id [`FaultCfg::comp`] names for network faults (handled
/// by the world and told to every component).
pub const NETWORK: u32 = WORLD;

/// A fault at a fixed time.
#[derive(Clone, Debug)]
pub struct FaultCfg {
    /// Component id.
    pub comp: u32,
    /// What happens.
    pub action: FaultAction,
    /// Start.
    pub start: SimTime,
    /// End (`None`: until the end of the run).
    pub end: Option<SimTime>,
    /// Label for the charts (`api[0] crashed`).
    pub label: String,
}

/// Random crashes and repairs of every instance of a component.
#[derive(Clone, Debug)]
pub struct RandomFaultCfg {
    /// Component id.
    pub comp: u32,
    /// Component name (names the random stream and the chart labels).
    pub name: String,
    /// Instances that fail independently.
    pub instances: u32,
    /// Mean time between failures, ns.
    pub mtbf: f64,
    /// Mean time to repair, ns.
    pub mttr: f64,
}

/// A validated, id-resolved system description: everything needed to build
/// a [`World`] for any seed. Shared read-only across replications.
#[derive(Clone, Debug)]
pub struct Config {
    /// Scenario name.
    pub name: String,
    /// Simulated duration.
    pub duration: SimTime,
    /// Warm-up.
    pub warmup: SimTime,
    /// Choose the warm-up by MSER-5 from a pilot run (`warmup: auto`).
    pub auto_warmup: bool,
    /// Clients (ids 0..clients.len()).
    pub clients: Vec<client::ClientCfg>,
    /// Components (ids continue after the clients).
    pub components: Vec<CompCfg>,
    /// The network.
    pub network: Network,
    /// Time-series interval.
    pub interval: SimTime,
    /// In-flight limit (see [`Stop`]).
    pub max_in_flight: usize,
    /// After the end, how long in-flight requests may take to finish.
    pub drain: SimTime,
    /// Keys are below this (the largest key space of any client).
    pub key_space: u64,
    /// Databases (each has a slot in [`Versions`]).
    pub databases: usize,
    /// Timed events: (time, component id, the component's event code).
    pub events: Vec<(SimTime, u32, u32)>,
    /// Faults at fixed times.
    pub faults: Vec<FaultCfg>,
    /// Random crash/repair processes.
    pub random_faults: Vec<RandomFaultCfg>,
    /// Partitions' sides, for [`FaultAction::Partition`].
    pub partitions: Vec<std::sync::Arc<Groups>>,
    /// Injected latencies' ends and extra ns, for [`FaultAction::Latency`].
    pub latencies: Vec<(std::sync::Arc<Groups>, u64)>,
}

/// A component's resolved configuration.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum CompCfg {
    /// A service.
    Service(service::ServiceCfg),
    /// A load balancer.
    Balancer(balancer::BalancerCfg),
    /// A cache or CDN edge.
    Cache(cache::CacheCfg),
    /// A database.
    Database(database::DatabaseCfg),
    /// A message queue.
    Queue(queue::QueueCfg),
    /// An API gateway.
    Gateway(gateway::GatewayCfg),
    /// DNS across regions.
    Dns(dns::DnsCfg),
    /// A component whose work is done elsewhere (an autoscaler runs inside
    /// the service it scales).
    Inert(String),
}

/// Build one component from its configuration.
fn build(cfg: &CompCfg, id: u32, seed: u64) -> Box<dyn Component> {
    match cfg {
        CompCfg::Service(c) => Box::new(service::Service::new(c, id, seed)),
        CompCfg::Balancer(c) => Box::new(balancer::Balancer::new(c, id, seed)),
        CompCfg::Cache(c) => Box::new(cache::Cache::new(c, id, seed)),
        CompCfg::Database(c) => Box::new(database::Database::new(c, id, seed)),
        CompCfg::Queue(c) => Box::new(queue::Queue::new(c, id, seed)),
        CompCfg::Gateway(c) => Box::new(gateway::Gateway::new(c, id, seed)),
        CompCfg::Inert(name) => Box::new(Inert(name.clone())),
        CompCfg::Dns(c) => Box::new(dns::Dns::new(c, id, seed)),
    }
}

/// A component with no behaviour of its own.
struct Inert(String);

impl Component for Inert {
    fn name(&self) -> &str {
        &self.0
    }

    fn handle(&mut self, _msg: Msg, _ctx: &mut Ctx) {}
}

/// Something on the time axis worth marking (a fault's active interval).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Annotation {
    /// Start, seconds of simulated time.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Short label drawn on the shading.
    pub label: String,
}

/// The result of one simulated run (one replication).
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// Metric values.
    pub metrics: Metrics,
    /// Human-readable findings (instability, saturation).
    pub notes: Vec<String>,
    /// Time-series column names (first is `t_s`).
    pub columns: Vec<String>,
    /// Time-series rows, one per interval (kept for the first replication
    /// only by [`crate::run::run_replications`]).
    pub rows: Vec<Vec<f64>>,
    /// Overall latency histogram of successful requests.
    pub latency: crate::stats::Histogram,
    /// Events dispatched.
    pub events: u64,
    /// Trajectory fingerprint.
    pub fingerprint: u64,
    /// Wall-clock seconds the simulation took.
    pub wall_s: f64,
    /// Time intervals to mark on time charts (fault windows).
    pub annotations: Vec<Annotation>,
    /// Highest number of request records alive at once (the arena's
    /// high-water mark: memory is bounded by it).
    pub peak_requests: usize,
    /// With `--trace`: lines written, or why the trace could not be written.
    pub trace: Option<Result<u64, String>>,
    /// The run was stopped because simulated time stopped advancing (a
    /// zero-time loop): the message for the user, naming the components
    /// that took the most events at that instant and what to change. The
    /// metrics of such a run describe only the time before it stopped and
    /// should not be shown as results.
    pub livelock: Option<String>,
    /// Events the future-event set has room for (see
    /// [`Scheduler::reserved`]): its memory high-water mark, bounded by the
    /// events in flight rather than by every timer ever set.
    pub event_slots: usize,
}

/// One simulation: the components and their shared context.
pub struct World {
    trace: Option<trace::Tracer>,
    comps: Vec<Box<dyn Component>>,
    ctx: Ctx,
    end: SimTime,
    drain: SimTime,
    interval: SimTime,
    columns: Vec<String>,
    rows: Vec<Vec<f64>>,
    events: Vec<(SimTime, u32, u32)>,
    faults: Vec<FaultCfg>,
    random_faults: Vec<RandomFaultCfg>,
    partitions: Vec<std::sync::Arc<Groups>>,
    latencies: Vec<(std::sync::Arc<Groups>, u64)>,
    fault_rng: Vec<Rng>,
    /// Start of each random fault instance's current outage.
    down_since: Vec<Vec<Option<SimTime>>>,
    annotations: Vec<Annotation>,
    /// The simulated time seen by the last periodic check, and the number
    /// of events dispatched when the clock was first seen there.
    instant: (SimTime, u64),
    /// Events at one instant before a zero-time loop is suspected.
    livelock_after: u64,
}

/// Most fault windows drawn on the time charts.
const MAX_ANNOTATIONS: usize = 100;

#[inline]
fn exp_ns(rng: &mut Rng, mean: f64) -> SimTime {
    let e: f64 = rand_distr::Distribution::sample(&rand_distr::Exp1, rng);
    ((e * mean) as SimTime).max(1)
}

impl World {
    /// Build the system for one replication with the given seed.
    pub fn new(cfg: &Config, seed: u64) -> World {
        let mut comps: Vec<Box<dyn Component>> = Vec::new();
        for (i, c) in cfg.clients.iter().enumerate() {
            comps.push(Box::new(client::Client::new(c, i as u32, seed)));
        }
        let base = cfg.clients.len() as u32;
        for (i, c) in cfg.components.iter().enumerate() {
            comps.push(build(c, base + i as u32, seed));
        }
        let ncomps = comps.len();
        let mut columns = vec![
            "t_s".to_string(),
            "throughput_rps".to_string(),
            "errors".to_string(),
            "latency_mean_ms".to_string(),
            "latency_p50_ms".to_string(),
            "latency_p95_ms".to_string(),
            "latency_p99_ms".to_string(),
            "availability".to_string(),
            "latency_all_p99_ms".to_string(),
        ];
        for c in &comps {
            c.columns(&mut columns);
        }
        World {
            trace: None,
            comps,
            ctx: Ctx {
                sched: Scheduler::new(),
                reqs: Arena::new(),
                net: cfg.network.clone(),
                warmup: cfg.warmup,
                max_in_flight: cfg.max_in_flight,
                stop: None,
                draining: false,
                open: 0,
                data: Versions::new(cfg.databases, cfg.key_space),
                current: WORLD,
                gauges: vec![0; ncomps],
                interval: IntervalStats {
                    completed: 0,
                    errors: 0,
                    latency: crate::stats::IntervalHistogram::new(),
                    latency_sum: 0,
                    felt: crate::stats::IntervalHistogram::new(),
                },
            },
            end: cfg.duration,
            drain: cfg.drain,
            interval: cfg.interval.max(1),
            columns,
            rows: Vec::new(),
            events: cfg.events.clone(),
            faults: cfg.faults.clone(),
            random_faults: cfg.random_faults.clone(),
            partitions: cfg.partitions.clone(),
            latencies: cfg.latencies.clone(),
            fault_rng: cfg
                .random_faults
                .iter()
                .map(|f| crate::engine::rng::stream(seed, &format!("fault/random/{}", f.name)))
                .collect(),
            down_since: cfg
                .random_faults
                .iter()
                .map(|f| vec![None; f.instances as usize])
                .collect(),
            annotations: Vec::new(),
            instant: (0, 0),
            livelock_after: {
                let users: u64 = cfg
                    .clients
                    .iter()
                    .map(|c| match c.arrival {
                        client::ArrivalCfg::Closed { users, .. } => u64::from(users),
                        _ => 0,
                    })
                    .sum();
                LIVELOCK_EVENTS.saturating_add(users.saturating_mul(LIVELOCK_EVENTS_PER_USER))
            },
        }
    }

    /// Override the number of events at one instant after which a run is
    /// suspected of a zero-time loop (at least 1; the default is
    /// [`LIVELOCK_EVENTS`] plus [`LIVELOCK_EVENTS_PER_USER`] per closed-loop
    /// user). The check runs every 65,536 events, so a loop is caught after
    /// the threshold rounded up to that, plus a census of 262,144 events.
    pub fn set_livelock_threshold(&mut self, events: u64) {
        self.livelock_after = events.max(1);
    }

    /// Names of the clients and components by id (for traces).
    pub fn names(&self) -> Vec<String> {
        self.comps.iter().map(|c| c.name().to_string()).collect()
    }

    /// Write every delivered event to `t` as the run goes.
    pub fn set_trace(&mut self, t: trace::Tracer) {
        self.trace = Some(t);
    }

    /// Run to the end (or until stopped) and collect the results.
    pub fn run(self) -> RunOutput {
        match self.run_until(None) {
            Some(out) => out,
            None => unreachable!("a run without a cancel flag always finishes"),
        }
    }

    /// As [`World::run`], but give up (returning `None`) soon after `cancel`
    /// becomes true: Ctrl-C in a sweep must not wait for a long replication.
    pub fn run_until(mut self, cancel: Option<&std::sync::atomic::AtomicBool>) -> Option<RunOutput> {
        let wall = std::time::Instant::now();
        for c in self.comps.iter_mut() {
            c.start(&mut self.ctx);
        }
        let warmup = self.ctx.warmup;
        if warmup > 0 {
            self.ctx.sched.at(warmup, WORLD, Msg::Warmup);
        }
        self.ctx
            .sched
            .at(warmup + (self.end - warmup) / 2, WORLD, Msg::Midpoint);
        self.ctx.sched.at(self.interval, WORLD, Msg::Sample);
        for &(at, comp, code) in &self.events {
            if at < self.end {
                self.ctx.sched.at(at, comp, Msg::Event(code));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            let idx = i as u32;
            if f.start < self.end {
                let on = Msg::Fault {
                    idx,
                    instance: 0,
                    on: true,
                };
                self.ctx.sched.at(f.start, WORLD, on);
                if let Some(e) = f.end.filter(|e| *e < self.end) {
                    let off = Msg::Fault {
                        idx,
                        instance: 0,
                        on: false,
                    };
                    self.ctx.sched.at(e, WORLD, off);
                }
            }
        }
        let base = self.faults.len() as u32;
        for (i, f) in self.random_faults.iter().enumerate() {
            for inst in 0..f.instances {
                let t = exp_ns(&mut self.fault_rng[i], f.mtbf);
                let msg = Msg::Fault {
                    idx: base + i as u32,
                    instance: inst,
                    on: true,
                };
                self.ctx.sched.at(t, WORLD, msg);
            }
        }
        while let Some((target, msg)) = self.ctx.sched.next(self.end) {
            self.dispatch(target, msg, false);
            if self.ctx.stop.is_some() {
                break;
            }
            if self.ctx.sched.processed() & CHECK_EVERY == 0 {
                if self.check(cancel, self.end, false) == Checked::Cancelled {
                    return None;
                }
                if self.ctx.stop.is_some() {
                    break;
                }
            }
        }
        let stopped = self.ctx.stop.is_some();
        let now = if stopped { self.ctx.now() } else { self.end };
        let rc = ReportCtx {
            now,
            warmup: self.ctx.warmup.min(now),
        };
        // Components describe the measured window [warm-up, end]…
        let mut metrics = Metrics::new();
        let mut notes = Vec::new();
        for c in self.comps.iter().filter(|c| c.client_latency().is_none()) {
            c.report(&rc, &mut metrics, &mut notes);
        }
        // …then clients stop issuing and the requests still in flight get
        // up to `drain` to finish, so every request offered in the window
        // has an outcome: availability is successful ÷ offered (SPEC §3)
        // without requests cut off by the end counting as failures.
        if !stopped {
            self.ctx.draining = true;
            let limit = self.end.saturating_add(self.drain);
            while self.ctx.open > 0 {
                let Some((target, msg)) = self.ctx.sched.next(limit) else {
                    break;
                };
                self.dispatch(target, msg, true);
                if self.ctx.sched.processed() & CHECK_EVERY == 0 {
                    if self.check(cancel, limit, true) == Checked::Cancelled {
                        return None;
                    }
                    if self.ctx.stop.is_some() {
                        break;
                    }
                }
            }
        }
        Some(self.finish(rc, metrics, notes, wall.elapsed().as_secs_f64()))
    }

    /// Deliver one event: to the world (ignored while `draining`: the
    /// world's samples and faults belong to the measured window), or to
    /// its component.
    #[inline(always)]
    fn dispatch(&mut self, target: u32, msg: Msg, draining: bool) {
        if target == WORLD {
            if !draining {
                self.world_event(msg);
            }
            return;
        }
        self.ctx.current = target;
        if let Some(t) = &mut self.trace {
            t.record(self.ctx.sched.now(), target, &msg, &self.ctx.reqs);
        }
        self.comps[target as usize].handle(msg, &mut self.ctx);
    }

    /// The periodic check, every 65,536 events (out of line, so the loop
    /// pays one mask test per event): the cancel flag, timers whose request
    /// has finished (dropped from the future-event set once it has doubled,
    /// so memory follows the requests in flight, not rate × timeout), and a
    /// clock that has stopped (a zero-time loop, see [`LIVELOCK_EVENTS`]).
    /// `end` and `draining` are those of the loop that called.
    #[cold]
    #[inline(never)]
    fn check(
        &mut self,
        cancel: Option<&std::sync::atomic::AtomicBool>,
        end: SimTime,
        draining: bool,
    ) -> Checked {
        if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed)) {
            return Checked::Cancelled;
        }
        let reqs = &self.ctx.reqs;
        // A timeout whose record was freed (its hop was answered) does
        // nothing when it fires: both handlers ignore a stale reference.
        self.ctx.sched.compact(|_, m| match m {
            Msg::Timeout(r) => reqs.get(*r).is_some(),
            _ => true,
        });
        let now = self.ctx.now();
        let done = self.ctx.sched.processed();
        if now != self.instant.0 {
            self.instant = (now, done);
        } else if done - self.instant.1 >= self.livelock_after {
            self.census(end, draining);
        }
        Checked::Go
    }

    /// A zero-time loop is suspected: dispatch up to [`LIVELOCK_CENSUS`]
    /// more events, counting them per component. If the clock moves (a
    /// long burst, not a loop) or the events run out, carry on; otherwise
    /// stop the run with [`Stop::Livelock`].
    #[cold]
    #[inline(never)]
    fn census(&mut self, end: SimTime, draining: bool) {
        let at = self.ctx.now();
        let since = self.instant.1;
        let mut counts = vec![0u64; self.comps.len()];
        for _ in 0..LIVELOCK_CENSUS {
            if draining && self.ctx.open == 0 {
                return;
            }
            let Some((target, msg)) = self.ctx.sched.next(end) else {
                return;
            };
            let moved = self.ctx.now() != at;
            self.dispatch(target, msg, draining);
            if moved {
                self.instant = (self.ctx.now(), self.ctx.sched.processed());
                return;
            }
            if self.ctx.stop.is_some() {
                return;
            }
            if let Some(c) = counts.get_mut(target as usize) {
                *c += 1;
            }
        }
        let events = self.ctx.sched.processed() - since;
        let message = self.livelock_message(at, events, &counts);
        self.ctx.stop = Some(Stop::Livelock(message));
    }

    /// The user's message for a run stuck at `at` after `events` events at
    /// that instant, `counts` being a sample of them per component.
    fn livelock_message(&self, at: SimTime, events: u64, counts: &[u64]) -> String {
        let total: u64 = counts.iter().sum::<u64>().max(1);
        let mut ranked: Vec<(u64, usize)> = counts
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .map(|(i, &n)| (n, i))
            .collect();
        // Most events first; ties by id, so the message is deterministic.
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        // The components taking part: every one with at least 5% of the
        // events, at most five, and always the busiest.
        let top: Vec<usize> = ranked
            .iter()
            .enumerate()
            .filter(|&(k, &(n, _))| k == 0 || n * 20 >= total)
            .take(5)
            .map(|(_, &(_, i))| i)
            .collect();
        let names: Vec<String> = top
            .iter()
            .map(|&i| {
                let share = counts[i] as f64 / total as f64 * 100.0;
                format!("`{}` ({share:.0}%)", self.comps[i].name())
            })
            .collect();
        let advice: Vec<String> = top
            .iter()
            .filter_map(|&i| self.comps[i].zero_time_advice())
            .collect();
        let mut m = format!(
            "simulated time stopped at t = {}s: {} events ran at that instant without the \
             clock moving, so the run can never reach its end (a zero-time loop). The components \
             receiving them: {}.",
            crate::engine::secs(at),
            thousands(events),
            names.join(", ")
        );
        for a in &advice {
            m.push(' ');
            m.push_str(a);
        }
        m.push_str(
            " A request answered in zero time and sent again at once loops at one instant \
             forever: somewhere in the loop something must take time above zero (a think \
             time, a retry backoff, a service time or a network latency).",
        );
        m
    }

    fn world_event(&mut self, msg: Msg) {
        let now = self.ctx.now();
        match msg {
            Msg::Warmup => {
                for c in self.comps.iter_mut() {
                    c.on_warmup(now);
                }
            }
            Msg::Midpoint => {
                for c in self.comps.iter_mut() {
                    c.on_midpoint(now);
                }
            }
            Msg::Fault { idx, instance, on } => self.fault(idx as usize, instance, on),
            Msg::Sample => {
                self.sample_row(now);
                if now < self.end {
                    self.ctx
                        .sched
                        .at(now.saturating_add(self.interval), WORLD, Msg::Sample);
                }
            }
            _ => {}
        }
    }

    fn fault(&mut self, idx: usize, instance: u32, on: bool) {
        let now = self.ctx.now();
        if let Some(f) = self.faults.get(idx) {
            if f.comp == NETWORK {
                let action = f.action;
                self.network_fault(idx as u32, action, on);
                let f = &self.faults[idx];
                if on && self.annotations.len() < MAX_ANNOTATIONS {
                    let end = f.end.unwrap_or(self.end).min(self.end);
                    self.annotations.push(Annotation {
                        start_s: crate::engine::secs(now),
                        end_s: crate::engine::secs(end),
                        label: f.label.clone(),
                    });
                }
                return;
            } else {
                self.ctx.current = f.comp;
                self.comps[f.comp as usize].fault(f.action, on, &mut self.ctx);
            }
            if on && self.annotations.len() < MAX_ANNOTATIONS {
                let end = f.end.unwrap_or(self.end).min(self.end);
                self.annotations.push(Annotation {
                    start_s: crate::engine::secs(now),
                    end_s: crate::engine::secs(end),
                    label: f.label.clone(),
                });
            }
            return;
        }
        let r = idx - self.faults.len();
        let Some(f) = self.random_faults.get(r) else {
            return;
        };
        let comp = f.comp as usize;
        self.ctx.current = f.comp;
        self.comps[comp].fault(FaultAction::Crash(instance), on, &mut self.ctx);
        let next = if on {
            self.down_since[r][instance as usize] = Some(now);
            exp_ns(&mut self.fault_rng[r], f.mttr)
        } else {
            if let Some(start) = self.down_since[r][instance as usize].take()
                && self.annotations.len() < MAX_ANNOTATIONS
            {
                self.annotations.push(Annotation {
                    start_s: crate::engine::secs(start),
                    end_s: crate::engine::secs(now),
                    label: format!("{}[{instance}] down", f.name),
                });
            }
            exp_ns(&mut self.fault_rng[r], f.mtbf)
        };
        let msg = Msg::Fault {
            idx: idx as u32,
            instance,
            on: !on,
        };
        self.ctx.sched.at(now.saturating_add(next), WORLD, msg);
    }

    /// A partition, injected latency or region outage starts or ends: the
    /// network changes, then every component hears of it (databases
    /// re-split their shards; components in a failed region crash).
    fn network_fault(&mut self, idx: u32, action: FaultAction, on: bool) {
        let net = &mut self.ctx.net;
        match action {
            FaultAction::Partition(p) => {
                if on {
                    if let Some(g) = self.partitions.get(p as usize) {
                        net.cuts.push((idx, g.clone()));
                    }
                } else {
                    net.cuts.retain(|(i, _)| *i != idx);
                }
            }
            FaultAction::Latency(l) => {
                if on {
                    if let Some((g, add)) = self.latencies.get(l as usize) {
                        net.extra.push((idx, g.clone(), *add));
                    }
                } else {
                    net.extra.retain(|(i, ..)| *i != idx);
                }
            }
            FaultAction::Outage(r) => {
                if let Some(d) = net.down.get_mut(r as usize) {
                    *d = on;
                }
            }
            _ => {}
        }
        net.refresh();
        for (id, c) in self.comps.iter_mut().enumerate() {
            self.ctx.current = id as u32;
            c.fault(action, on, &mut self.ctx);
        }
    }

    fn sample_row(&mut self, now: SimTime) {
        let secs = crate::engine::secs(self.interval);
        let iv = &mut self.ctx.interval;
        let mut row = Vec::with_capacity(self.columns.len());
        row.push(crate::engine::secs(now));
        row.push(iv.completed as f64 / secs);
        row.push(iv.errors as f64);
        let n = iv.latency.count();
        row.push(if n > 0 {
            iv.latency_sum as f64 / n as f64 / 1e6
        } else {
            0.0
        });
        row.push(iv.latency.quantile(0.5) as f64 / 1e6);
        row.push(iv.latency.quantile(0.95) as f64 / 1e6);
        row.push(iv.latency.quantile(0.99) as f64 / 1e6);
        let answered = iv.completed + iv.errors;
        row.push(if answered == 0 {
            1.0
        } else {
            iv.completed as f64 / answered as f64
        });
        row.push(iv.felt.quantile(0.99) as f64 / 1e6);
        iv.felt.reset();
        iv.completed = 0;
        iv.errors = 0;
        iv.latency.reset();
        iv.latency_sum = 0;
        for c in self.comps.iter_mut() {
            c.sample(now, &mut row);
        }
        self.rows.push(row);
    }

    fn finish(
        mut self,
        rc: ReportCtx,
        mut metrics: Metrics,
        mut notes: Vec<String>,
        wall_s: f64,
    ) -> RunOutput {
        let now = rc.now;
        let mut latency = crate::stats::Histogram::new();
        for c in &self.comps {
            if let Some(h) = c.client_latency() {
                c.report(&rc, &mut metrics, &mut notes);
                latency.add(h);
            }
        }
        client::overall_metrics(&latency, &mut metrics);
        if let Some(&a) = metrics.get("availability") {
            // Equivalent downtime: the failed share of the measured window;
            // nines: −log10(1 − availability), 9 when nothing failed.
            let down = (1.0 - a).max(0.0);
            metrics.insert("availability.downtime_s".into(), down * rc.window_s());
            metrics.insert(
                "availability.nines".into(),
                if down > 1e-9 {
                    (-down.log10()).min(9.0)
                } else {
                    9.0
                },
            );
        }
        // Stores add their stale reads and reads served into these totals.
        if let Some(&reads) = metrics.get("consistency.reads") {
            let stale = metrics.get("consistency.stale_reads").copied().unwrap_or(0.0);
            metrics.insert(
                "consistency.stale_read_ratio".into(),
                if reads > 0.0 { stale / reads } else { 0.0 },
            );
        }
        if let Some(Stop::TooManyInFlight(n)) = &self.ctx.stop {
            let worst = self
                .comps
                .iter()
                .max_by_key(|c| c.backlog())
                .filter(|c| c.backlog() > 0)
                .map(|c| {
                    format!(
                        " `{}` holds {} of them: it is the bottleneck.",
                        c.name(),
                        c.backlog()
                    )
                })
                .unwrap_or_default();
            notes.insert(
                0,
                format!(
                    "UNSTABLE: the run stopped at {:.1}s with {n} requests in flight: \
                     offered load exceeds capacity and queues grow without bound.{worst}",
                    crate::engine::secs(now)
                ),
            );
        }
        let unstable = self.ctx.stop.is_some() || notes.iter().any(|n| n.starts_with("UNSTABLE"));
        metrics.insert("sim.unstable".into(), if unstable { 1.0 } else { 0.0 });
        let events = self.ctx.sched.processed();
        metrics.insert("sim.events".into(), events as f64);
        metrics.insert("sim.wall_s".into(), wall_s);
        metrics.insert(
            "sim.events_per_s".into(),
            if wall_s > 0.0 { events as f64 / wall_s } else { 0.0 },
        );
        let fingerprint = self.ctx.sched.fingerprint();
        // 48 bits, so the value is exact in a JSON number.
        metrics.insert("sim.fingerprint".into(), (fingerprint >> 16) as f64);
        RunOutput {
            metrics,
            notes,
            columns: std::mem::take(&mut self.columns),
            rows: std::mem::take(&mut self.rows),
            latency,
            events,
            fingerprint,
            wall_s,
            peak_requests: self.ctx.reqs.capacity_used(),
            livelock: match &self.ctx.stop {
                Some(Stop::Livelock(m)) => Some(m.clone()),
                _ => None,
            },
            event_slots: self.ctx.sched.reserved(),
            trace: self.trace.take().map(|t| t.finish()),
            annotations: {
                // Random outages still open at the end run to the end.
                let mut a = std::mem::take(&mut self.annotations);
                for (r, f) in self.random_faults.iter().enumerate() {
                    for (i, s) in self.down_since[r].iter().enumerate() {
                        if let Some(s) = s
                            && a.len() < MAX_ANNOTATIONS
                        {
                            a.push(Annotation {
                                start_s: crate::engine::secs(*s),
                                end_s: crate::engine::secs(now),
                                label: format!("{}[{i}] down", f.name),
                            });
                        }
                    }
                }
                a.sort_by(|x, y| x.start_s.total_cmp(&y.start_s));
                a
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(17_104_896), "17,104,896");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }
}

//! The validated system description ([`Config`]), its faults, and the
//! construction of components from their configuration ([`build`]).

use super::component::Component;
use super::ctx::Ctx;
use super::msg::{Msg, WORLD};
use super::network::{Groups, Network};
use super::{balancer, cache, client, database, dns, gateway, queue, registry, service};
use crate::engine::SimTime;

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
    /// A service replica hangs (a gray failure): it admits requests and
    /// answers none, until a liveness restart or the fault's end.
    Hang(u32),
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
    /// A database node (shard × nodes per shard + rank) loses its disk for
    /// good: a replacement re-replicates the shard (`rereplication`).
    LoseNode(u32),
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
    /// Every failure is a permanent [`FaultAction::LoseNode`] (a database
    /// with `rereplication`, `mttr` omitted): each instance fails again
    /// after an exponential time of mean `mtbf`, with no repair event.
    pub losses: bool,
    /// Each failure is a [`FaultAction::Hang`] instead of a crash; with
    /// `mttr` 0 a hang lasts until a liveness restart ends it, and hangs
    /// arrive at rate 1/`mtbf` (one arriving at a replica that is not
    /// serving is lost, so up times stay exponential).
    pub hang: bool,
}

/// A validated, id-resolved system description: everything needed to build
/// a [`World`](super::World) for any seed. Shared read-only across replications.
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
    /// In-flight limit (see [`Stop`](super::Stop)).
    pub max_in_flight: usize,
    /// After the end, how long in-flight requests may take to finish.
    pub drain: SimTime,
    /// Keys are below this (the largest key space of any client).
    pub key_space: u64,
    /// Databases (each has a slot in [`Versions`](super::Versions)).
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
    /// Some component sets a `price_per_hour` (`cost.per_hour` and
    /// `cost.per_month` are reported only then).
    pub priced: bool,
    /// Alerting rules over the time series (evaluated after the run).
    pub alerts: Vec<super::alerts::AlertCfg>,
    /// How often the alerting rules are evaluated, ns.
    pub alert_interval: SimTime,
}

/// The model's registration list: each line is a kind's variant of
/// [`CompCfg`], its configuration type and the component built from it
/// (by `new(cfg, id, seed)`).
macro_rules! model_kinds {
    ($($(#[$doc:meta])* $variant:ident($cfg:ty) => $comp:ty,)*) => {
        /// A component's resolved configuration.
        #[derive(Clone, Debug)]
        #[allow(clippy::large_enum_variant)]
        pub enum CompCfg {
            $($(#[$doc])* $variant($cfg),)*
            /// A component whose work is done elsewhere (an autoscaler runs
            /// inside the service it scales).
            Inert(String),
        }

        /// Build one component from its configuration.
        pub(crate) fn build(cfg: &CompCfg, id: u32, seed: u64) -> Box<dyn Component> {
            match cfg {
                $(CompCfg::$variant(c) => Box::new(<$comp>::new(c, id, seed)),)*
                CompCfg::Inert(name) => Box::new(Inert(name.clone())),
            }
        }
    };
}

model_kinds! {
    /// A service.
    Service(service::ServiceCfg) => service::Service,
    /// A load balancer.
    Balancer(balancer::BalancerCfg) => balancer::Balancer,
    /// A cache or CDN edge.
    Cache(cache::CacheCfg) => cache::Cache,
    /// A database.
    Database(database::DatabaseCfg) => database::Database,
    /// A message queue.
    Queue(queue::QueueCfg) => queue::Queue,
    /// An API gateway.
    Gateway(gateway::GatewayCfg) => gateway::Gateway,
    /// DNS across regions.
    Dns(dns::DnsCfg) => dns::Dns,
    /// A service registry.
    Registry(registry::RegistryCfg) => registry::Registry,
}

/// A component with no behaviour of its own.
struct Inert(String);

impl Component for Inert {
    fn name(&self) -> &str {
        &self.0
    }

    fn handle(&mut self, _msg: Msg, _ctx: &mut Ctx) {}
}

//! Component kinds, one module each, registered in one list.
//!
//! A kind's module holds everything the scenario layer knows about it: the
//! YAML spec (its serde type, whose doc comments become `archsim schema`),
//! where it runs ([`Kind::home`]), the components it sends requests to
//! ([`Kind::edges`]: the one list the call-cycle check, the lookup of the
//! database a cache copies and the fault targets use), how many instances
//! a fault can hit, and its resolution into the model's config with
//! located errors ([`Kind::resolve`]). The model's behaviour lives in the
//! matching `crate::model` module.
//!
//! Adding a kind: a spec module here implementing [`Kind`], a model module
//! (its config, and a [`crate::model::Component`]), a variant of
//! [`crate::model::CompCfg`] with its arm in `build`, and one line in the
//! [`kinds!`] list below. See README, "Adding a component kind".

pub mod autoscaler;
pub mod balancer;
pub mod cache;
pub mod cdn;
pub mod consensus;
pub mod database;
pub mod deploy;
pub mod dns;
pub(crate) mod forecast;
pub mod gateway;
pub mod probes;
pub mod queue;
pub mod registry;
pub mod service;
pub mod session;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::CompCfg;
use crate::scenario::validate::{Checker, Scope};
use forecast::{Flow, Forecast, Setting};

/// What every component kind tells the scenario layer.
pub(crate) trait Kind {
    /// Where its instances run (the default region unless it says).
    fn home(&self) -> Home<'_> {
        Home::Default
    }

    /// The components it sends requests to, in the order it names them,
    /// leaving out `name` itself (which its resolution refuses).
    fn edges(&self, _name: &str) -> Vec<Edge<'_>> {
        Vec::new()
    }

    /// How many instances a crash or slowdown can hit (`None`: faults do
    /// not apply to this kind).
    fn instances(&self) -> Option<u32> {
        None
    }

    /// Check the spec and resolve it into the model's config. Problems go
    /// to `ck` with their field paths under `p` (`components.NAME`); the
    /// config returned then only needs to be well-formed.
    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &str, p: &str) -> CompCfg;

    /// `explain`: where the load reaching this component (resolved as `c`)
    /// goes on, and its predicted hit ratio if it is a cache.
    fn flows(&self, _c: &CompCfg, _cfg: &crate::model::Config) -> (Vec<Flow>, Option<f64>) {
        (Vec::new(), None)
    }

    /// `explain`: of `offered` requests per second arriving, how many it
    /// passes on (`None`: all of them).
    fn admitted(&self, _c: &CompCfg, _offered: f64, _s: &Setting) -> Option<f64> {
        None
    }

    /// `explain`: whether callers stop waiting here (a queue that answers
    /// on enqueue leaves its consumer out of their latency).
    fn decouples(&self, _c: &CompCfg) -> bool {
        false
    }

    /// `explain`: load sent on besides the flows, decided by what the
    /// targets predict (a service reading a cache-aside cache's misses
    /// from its backend): (target, reads per second) for `reads` arriving.
    fn side_flows(&self, _c: &CompCfg, _reads: f64, _hit: &[Option<f64>]) -> Vec<(usize, f64)> {
        Vec::new()
    }

    /// `explain`: what theory predicts at `reads` and `writes` per second.
    fn forecast(&self, _c: &CompCfg, _reads: f64, _writes: f64, _s: &Setting) -> Forecast {
        Forecast::default()
    }

    /// `explain`: a last word once every component is forecast, given the
    /// response time (ms) of any component by global id.
    fn refine(&self, _c: &CompCfg, _response_ms: &dyn Fn(usize) -> Option<f64>) -> Option<String> {
        None
    }
}

/// A component another one sends requests to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Edge<'a> {
    /// The field naming it, below `components.NAME` (`calls.1.parallel.0`).
    pub field: String,
    /// The component's name.
    pub target: &'a str,
    /// Whether reads travel this edge: the database a cache in front of
    /// this component copies is found along the first edge that carries
    /// reads and leads to one.
    pub reads: bool,
}

impl<'a> Edge<'a> {
    /// An edge that carries every operation.
    pub fn new(field: &str, target: &'a str) -> Edge<'a> {
        Edge {
            field: field.to_string(),
            target,
            reads: true,
        }
    }
}

/// Where a component runs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Home<'a> {
    /// The first region (or none when the scenario names no regions).
    Default,
    /// The region its `region:` field names.
    Region(&'a String),
    /// Every region: never cut off as a whole (a DNS).
    Everywhere,
    /// A database: `region:`, else the first of `placement:`; spread over
    /// several regions it is reached in every one.
    Placement {
        /// `region:`.
        region: Option<&'a String>,
        /// `placement:`.
        placement: &'a [String],
    },
}

impl<'a> Home<'a> {
    /// `Region` when the field is set, else `Default`.
    pub fn region(r: Option<&'a String>) -> Home<'a> {
        r.map_or(Home::Default, Home::Region)
    }
}

/// The default `1` of count fields.
pub(crate) fn one() -> u32 {
    1
}

/// The registration list: each line is a variant of [`ComponentSpec`], its
/// spec type and its `kind:` word (the variant's name in snake case).
macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident($spec:ty) = $word:literal,)*) => {
        /// A component, internally tagged by `kind:` in the file.
        #[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        #[schemars(tag = "kind")]
        #[allow(clippy::large_enum_variant)]
        pub enum ComponentSpec {
            $($(#[$doc])* $variant($spec),)*
        }

        impl ComponentSpec {
            /// The `kind:` word of this component.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(ComponentSpec::$variant(_) => $word,)*
                }
            }

            /// What its kind knows (see [`Kind`]).
            pub(crate) fn as_kind(&self) -> &dyn Kind {
                match self {
                    $(ComponentSpec::$variant(s) => s,)*
                }
            }
        }

        /// Every `kind:` word, in registration order.
        pub const KIND_WORDS: &[&str] = &[$($word,)*];
    };
}

kinds! {
    /// A pool of server replicas.
    Service(service::ServiceSpec) = "service",
    /// Spreads requests over a service's replicas.
    LoadBalancer(balancer::BalancerSpec) = "load_balancer",
    /// A key-value cache in front of a backend.
    Cache(cache::CacheSpec) = "cache",
    /// An edge cache for static content in front of an origin.
    Cdn(cdn::CdnSpec) = "cdn",
    /// A sharded, replicated store of versioned keys.
    Database(database::DatabaseSpec) = "database",
    /// A message broker for asynchronous work.
    Queue(queue::QueueSpec) = "queue",
    /// An API gateway: routes by operation, rate-limits, adds its own time.
    Gateway(gateway::GatewaySpec) = "gateway",
    /// Changes a service's replica count.
    Autoscaler(autoscaler::AutoscalerSpec) = "autoscaler",
    /// DNS load balancing across regions (GeoDNS).
    Dns(dns::DnsSpec) = "dns",
    /// A Raft group for coordination and configuration (etcd, ZooKeeper): a one-shard Raft database.
    Consensus(consensus::ConsensusSpec) = "consensus",
    /// A service registry (Eureka, Consul): instances heartbeat, silent ones expire after `ttl`.
    Registry(registry::RegistrySpec) = "registry",
}

impl ComponentSpec {
    /// Its kind with the article, for messages: "a service", "an autoscaler".
    pub fn a_kind(&self) -> String {
        let k = self.kind();
        if k == "consensus" {
            return "a consensus group".into();
        }
        let article = if k.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {k}")
    }

    /// Whether it is a database or resolves into one (a consensus group,
    /// a one-shard Raft database): the scenario layer treats both alike
    /// wherever it looks for a database (data slots, session stores, crash
    /// targets, drawings, the summary).
    pub(crate) fn is_database(&self) -> bool {
        matches!(self, ComponentSpec::Database(_) | ComponentSpec::Consensus(_))
    }

    /// The `region:` it names, if any (a database: the first of its
    /// placement otherwise).
    pub fn region(&self) -> Option<&String> {
        match self.as_kind().home() {
            Home::Region(r) => Some(r),
            Home::Placement { region, placement } => region.or(placement.first()),
            Home::Default | Home::Everywhere => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each registered word is the one serde reads and writes for its
    /// variant, so `kind()` names what the file says.
    #[test]
    fn registered_words_are_the_serde_tags() {
        let schema = serde_json::to_value(schemars::schema_for!(ComponentSpec)).expect("schema");
        let text = schema.to_string();
        for w in KIND_WORDS {
            assert!(
                text.contains(&format!("\"{w}\"")),
                "`{w}` is not a tag of the schema"
            );
        }
        assert_eq!(KIND_WORDS.len(), 11);
    }

    fn scenario(components: &str) -> crate::scenario::Scenario {
        let text = format!(
            "name: t\nduration: 10s\nclients:\n  u: {{ target: gw, arrival: {{ poisson: 1/s }} }}\n\
             components:\n{components}"
        );
        let root = crate::scenario::tree::parse_yaml(&text).expect("yaml");
        crate::scenario::tree::from_node(&root).expect("scenario")
    }

    fn edges(sc: &crate::scenario::Scenario, name: &str) -> Vec<(String, String, bool)> {
        sc.components[name]
            .as_kind()
            .edges(name)
            .into_iter()
            .map(|e| (e.field, e.target.to_string(), e.reads))
            .collect()
    }

    /// Each kind names the components it sends requests to, in file order,
    /// with the field that names them and whether reads go that way.
    #[test]
    fn edges_name_every_target_with_its_field() {
        let sc = scenario(
            "  gw: { kind: gateway, target: api, routes: { write: db } }\n\
             \x20 lb: { kind: load_balancer, algorithm: round_robin, backends: api }\n\
             \x20 api: { kind: service, service_time: 1ms, calls: [cache, { parallel: [db, { target: api }] }, { target: db, on: write }] }\n\
             \x20 cache: { kind: cache, backend: db, capacity: 10 }\n\
             \x20 cdn: { kind: cdn, origin: api, capacity: 10 }\n\
             \x20 q: { kind: queue, consumer: api }\n\
             \x20 dns: { kind: dns, targets: [lb, api] }\n\
             \x20 db: { kind: database, read_time: 1ms }\n",
        );
        let e = |f: &str, t: &str, r: bool| (f.to_string(), t.to_string(), r);
        // Reads go to `target` when no read route is set; writes take theirs.
        assert_eq!(
            edges(&sc, "gw"),
            [e("target", "api", true), e("routes.write", "db", false)]
        );
        assert_eq!(edges(&sc, "lb"), [e("backends", "api", true)]);
        // A call to itself is left out (its resolution refuses it); an
        // `on: write` edge carries no reads.
        assert_eq!(
            edges(&sc, "api"),
            [
                e("calls.0", "cache", true),
                e("calls.1.parallel.0", "db", true),
                e("calls.2", "db", false)
            ]
        );
        assert_eq!(edges(&sc, "cache"), [e("backend", "db", true)]);
        assert_eq!(edges(&sc, "cdn"), [e("origin", "api", true)]);
        assert_eq!(edges(&sc, "q"), [e("consumer", "api", true)]);
        // A cache in front of a DNS copies the first target's data.
        assert_eq!(
            edges(&sc, "dns"),
            [e("targets.0", "lb", true), e("targets.1", "api", false)]
        );
        assert!(edges(&sc, "db").is_empty());
    }

    /// Where each kind runs, and how many instances a fault can hit.
    #[test]
    fn homes_and_fault_instances() {
        let sc = scenario(
            "  gw: { kind: gateway, target: api, region: eu }\n\
             \x20 api: { kind: service, service_time: 1ms, replicas: 3 }\n\
             \x20 dns: { kind: dns, targets: [api] }\n\
             \x20 db: { kind: database, read_time: 1ms, shards: 4, placement: [eu, us] }\n",
        );
        let k = |n: &str| sc.components[n].as_kind();
        assert!(matches!(k("gw").home(), Home::Region(r) if r == "eu"));
        assert!(matches!(k("api").home(), Home::Default));
        assert!(matches!(k("dns").home(), Home::Everywhere));
        assert!(
            matches!(k("db").home(), Home::Placement { region: None, placement } if placement.len() == 2)
        );
        assert_eq!(sc.components["db"].region().map(String::as_str), Some("eu"));
        assert_eq!(k("api").instances(), Some(3));
        assert_eq!(k("db").instances(), Some(4));
        assert_eq!(k("gw").instances(), None);
        assert_eq!(k("dns").instances(), None);
    }
}

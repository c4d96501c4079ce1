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
pub mod database;
pub mod dns;
pub mod gateway;
pub mod queue;
pub mod service;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::CompCfg;
use crate::scenario::validate::{Checker, Scope};

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
    fn resolve(&self, ck: &mut Checker, cx: &Scope, name: &String, p: &str) -> CompCfg;
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
}

impl ComponentSpec {
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
        assert_eq!(KIND_WORDS.len(), 9);
    }
}

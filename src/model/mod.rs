//! The simulated system: components that exchange request hops through the
//! engine's event queue.
//!
//! Every client and component is a [`Component`] with an integer id (clients
//! first, then components in file order). A component reacts to a [`Msg`]
//! with a `&mut Ctx` that gives it the clock, the scheduler, the request
//! arena and the network; it never holds a reference to another component.
//!
//! Adding a component kind is: a module here that implements
//! [`Component`] (its configuration, state, handling and metrics), with its
//! own [`Timer`] enum if it sets timers for itself (named in traces by
//! [`Component::timer_name`]); one line in the `model_kinds!` list
//! (`config.rs`), which makes its [`CompCfg`] variant and builds it; and,
//! on the scenario side, its module in `scenario/kinds/` (spec, resolution
//! into that variant, the components it calls, its `explain` forecast) and
//! one line in that layer's `kinds!` list. [`Msg`] gains a variant only for
//! a message that travels between two different components. The loop in
//! [`World::run`] never changes.
//!
//! The shared parts, one file each:
//!
//! | file | what |
//! |---|---|
//! | `msg.rs` | [`Msg`], what travels through the event queue, and its fingerprint code; the [`Timer`] trait of components' own timers |
//! | `network.rs` | [`Network`] latency and faults, partition [`Groups`] |
//! | `ctx.rs` | [`Ctx`] given to handlers, committed data [`Versions`], [`IntervalStats`], [`ReportCtx`] |
//! | `component.rs` | the [`Component`] trait |
//! | `config.rs` | [`Config`], faults ([`FaultCfg`], [`RandomFaultCfg`], [`FaultAction`]), [`CompCfg`] and `build` |
//! | `world.rs` | [`World`]: the run loop, faults, sampling, the zero-time loop census, the results |
//! | `request.rs` | the request [`Arena`] |
//! | `path.rs` | each request's critical path beside the arena, and its totals per component ([`Breakdown`]) |

pub mod alerts;
pub mod autoscale;
pub mod balancer;
pub mod cache;
pub mod client;
mod component;
mod config;
mod ctx;
pub mod database;
pub mod dns;
pub mod gateway;
mod msg;
mod network;
pub mod partition;
pub mod path;
pub mod queue;
pub mod raft;
pub mod registry;
pub mod request;
pub mod resilience;
pub mod service;
pub mod store;
pub mod trace;
mod world;

pub use component::Component;
pub use config::{CompCfg, Config, FaultAction, FaultCfg, NETWORK, RandomFaultCfg};
pub use ctx::{Ctx, IntervalStats, Metrics, ReportCtx, Versions};
pub use msg::{Msg, Timer, TimerWord, WORLD, timer_name};
pub use network::{Groups, NO_REGION, Network};
pub use path::{Breakdown, Seg};
pub use request::{ANY_REPLICA, Arena, Outcome, ReqRef, Request};
pub use world::{Annotation, LIVELOCK_EVENTS, LIVELOCK_EVENTS_PER_USER, RUN_COLUMNS, RunOutput, Stop, World};

//! archsim: a deterministic discrete-event simulator of scalable software
//! architectures.
//!
//! ```text
//!  scenario.yaml ──► scenario (parse, --set, validate) ──► model::Config
//!                                                             │ World::new(cfg, seed)
//!                                                             ▼
//!   clients ──Request──► balancer ──Request──► service ──calls──► …
//!      ▲                    │ ▲                   │
//!      └────Response────────┘ └─────Response──────┘
//!                 all messages go through one engine::Scheduler
//! ```
//!
//! Core ideas:
//! - **Simulation time** ([`engine::SimTime`]) is integer nanoseconds.
//! - **Events** are small `Copy` messages ([`model::Msg`]) for a target id,
//!   ordered by (time, sequence number): simultaneous events run in the
//!   order they were created, never by address or hash order.
//! - **Components** ([`model::Component`]) are clients, balancers, services…;
//!   each owns its state and its random streams (derived from the seed and
//!   its name) and reacts to messages through a `&mut Ctx`.
//! - **Requests** live in an arena ([`model::Arena`]) and travel by id; each
//!   hop is a record, freed by whoever receives its answer.
#![warn(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod compare;
pub mod engine;
pub mod explain;
pub mod files;
pub mod host;
pub mod math;
pub mod model;
pub mod plan;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stats;
pub mod sweep;
pub mod theory;
pub mod web;

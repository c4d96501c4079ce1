//! Whole-run tests, one binary (faster to link on 2 cores), a module per
//! behaviour.

// Reference values from formulas may use the system's own logarithms: a
// test compares within a tolerance, and only the library must round the
// same way on every platform (see clippy.toml).
#![allow(clippy::disallowed_methods)]

mod accounting;
mod alerts;
mod answers;
mod autoscaling;
mod balancer_faults;
mod breakdown;
mod bulkheads;
mod charts;
mod cli;
mod cluster;
mod common;
mod compare;
mod csv_files;
mod data;
mod db_faults;
mod deploys;
mod determinism;
mod discovery;
mod errors;
mod faults;
mod fuzz;
mod gateway;
mod golden;
mod l4_l7;
mod layers;
mod lessons;
mod mutation;
mod network;
mod outputs;
mod plan;
mod plan_page;
mod probes;
mod provenance;
mod queueing;
mod queues;
mod raft;
mod rereplication;
mod retries;
mod robustness_model;
mod scenarios;
mod sessions;
mod sweep;
mod sweep_answers;
mod sweep_charts;
mod sweep_overlay;
mod topology;

//! Whole-run tests, one binary (faster to link on 2 cores), a module per
//! behaviour.

mod autoscaling;
mod balancer_faults;
mod charts;
mod cli;
mod common;
mod compare;
mod csv_files;
mod data;
mod db_faults;
mod determinism;
mod errors;
mod faults;
mod fuzz;
mod gateway;
mod golden;
mod layers;
mod mutation;
mod network;
mod outputs;
mod queueing;
mod queues;
mod retries;
mod robustness_model;
mod scenarios;
mod sweep;

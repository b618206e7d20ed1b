//! exposure-operator: decide, then execute. validate → build → decide (all pure, over one
//! snapshot of the cluster) → execute (the one writer: apply, prune, storage, status).

pub mod allocator;
pub mod blocker;
pub mod build;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod conflicts;
pub mod controller;
pub mod decide;
pub mod drift;
pub mod events;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod ownership;
pub mod parse;
pub mod quantity;
pub mod status;
pub mod storage_policy;
pub mod validate;

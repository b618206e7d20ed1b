//! exposure-operator: validate → build (pure) → apply → prune → compute status (pure) →
//! write status.

pub mod build;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod conflicts;
pub mod controller;
pub mod drift;
pub mod parse;
pub mod quantity;
pub mod status;
pub mod storage_policy;
pub mod validate;

//! exposure-operator: validate → build (pure) → apply → prune → compute status (pure) →
//! write status.

pub mod build;
pub mod cluster;
pub mod parse;
pub mod quantity;
pub mod status;
pub mod validate;

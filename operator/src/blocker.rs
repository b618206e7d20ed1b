//! Why a reconcile cannot progress without a change to the spec or the cluster. One closed
//! set of reasons; each is written to the `Stalled` (and `Ready`) condition as its string.

use std::fmt;

/// The reason strings, as written to status (docs/troubleshooting.md explains each).
pub mod reason {
    pub const INVALID_SPEC: &str = "InvalidSpec";
    pub const UNSUPPORTED_BY_CLUSTER: &str = "UnsupportedByCluster";
    pub const RESOURCE_CONFLICT: &str = "ResourceConflict";
    pub const QUOTA_EXCEEDED: &str = "QuotaExceeded";
    pub const HOST_CONFLICT: &str = "HostConflict";
    pub const NODE_PORT_CONFLICT: &str = "NodePortConflict";
    pub const DEFAULT_BACKEND_CONFLICT: &str = "DefaultBackendConflict";
    pub const STORAGE_CLASS_IMMUTABLE: &str = "StorageClassImmutable";
    pub const STORAGE_CLASS_NOT_ALLOWED: &str = "StorageClassNotAllowed";
    pub const STORAGE_CLASSES_DISABLED: &str = "StorageClassesDisabled";
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BlockReason {
    /// The spec breaks a rule (validation, or the API server refused what was built from it).
    InvalidSpec,
    /// The spec is fine but this cluster's version cannot serve it.
    UnsupportedByCluster,
    /// A child's name is held by an object this Exposure does not own.
    ResourceConflict,
    /// A ResourceQuota of the namespace refused a child.
    QuotaExceeded,
    /// An older Exposure claims the same Ingress host and path.
    HostConflict,
    /// An older Exposure uses the same nodePort.
    NodePortConflict,
    /// An older Exposure is the default backend of the same ingress class.
    DefaultBackendConflict,
    /// A StorageClass in use cannot take changed parameters.
    StorageClassImmutable,
    /// The operator's storage policy refuses the glusterfs settings.
    StorageClassNotAllowed,
    /// The operator runs without StorageClass support.
    StorageClassesDisabled,
}

impl BlockReason {
    pub const ALL: [BlockReason; 10] = [
        Self::InvalidSpec,
        Self::UnsupportedByCluster,
        Self::ResourceConflict,
        Self::QuotaExceeded,
        Self::HostConflict,
        Self::NodePortConflict,
        Self::DefaultBackendConflict,
        Self::StorageClassImmutable,
        Self::StorageClassNotAllowed,
        Self::StorageClassesDisabled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidSpec => reason::INVALID_SPEC,
            Self::UnsupportedByCluster => reason::UNSUPPORTED_BY_CLUSTER,
            Self::ResourceConflict => reason::RESOURCE_CONFLICT,
            Self::QuotaExceeded => reason::QUOTA_EXCEEDED,
            Self::HostConflict => reason::HOST_CONFLICT,
            Self::NodePortConflict => reason::NODE_PORT_CONFLICT,
            Self::DefaultBackendConflict => reason::DEFAULT_BACKEND_CONFLICT,
            Self::StorageClassImmutable => reason::STORAGE_CLASS_IMMUTABLE,
            Self::StorageClassNotAllowed => reason::STORAGE_CLASS_NOT_ALLOWED,
            Self::StorageClassesDisabled => reason::STORAGE_CLASSES_DISABLED,
        }
    }
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for BlockReason {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One reason the reconcile is blocked, with what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    pub reason: BlockReason,
    pub message: String,
}

impl Blocker {
    pub fn new(reason: BlockReason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_distinct_and_spelled_as_in_status() {
        let mut strings: Vec<&str> = BlockReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(strings[0], "InvalidSpec");
        assert_eq!(BlockReason::QuotaExceeded.to_string(), "QuotaExceeded");
        strings.sort();
        strings.dedup();
        assert_eq!(strings.len(), BlockReason::ALL.len());
    }
}

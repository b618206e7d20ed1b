//! Cross-field validation of an Exposure: every rule the CRD schema cannot express.
//! Pure: no I/O. The CLI (`validate`, `render`) and the reconciler call exactly this.
//!
//! Files given to `validate`/`render` never passed the API server, so the schema-level
//! constraints (ranges, patterns, lengths) are checked again here. Errors come in the order
//! of the fields in the spec, and every one says what is allowed.
//!
//! Decisions beyond the API reference:
//! - `endpoints` work with every visibility but ExternalName (Ingress → Service → an external
//!   backend is fine); with endpoints or ExternalName there is no workload, so every pod field
//!   (image, replicas, probes, storage, env, ..., and `headless: true`) is an error.
//! - node ports are unique per protocol, as Kubernetes requires (TCP and UDP may share one).
//! - `storageClassName: ""` is allowed: it asks for no class (static binding), as in Kubernetes.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

use exposure_crd::{Exposure, ExposureSpec, PortSpec, VisibilityType};

use crate::cluster::{ClusterInfo, Feature, KubeVersion};

mod gateway;
mod ingress;
mod metadata;
mod names;
mod pod;
mod ports;
mod probes;
mod quota;
mod storage;
#[cfg(test)]
mod tests;
mod visibility;
mod workload;

use names::{
    is_cidr, is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_label_value,
    is_port_name, is_qualified_name,
};

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
        Self {
            field: field.into(),
            message: message.into(),
            unsupported_by_cluster: false,
        }
    }

    pub fn unsupported(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            unsupported_by_cluster: true,
            ..Self::new(field, message)
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// An Exposure that passed `validate`: the only input `build` accepts.
#[derive(Clone, Copy, Debug)]
#[expect(
    clippy::manual_non_exhaustive,
    reason = "non_exhaustive fences other crates only; the private field fences every module but this one"
)]
pub struct Valid<'a> {
    pub exposure: &'a Exposure,
    /// `metadata.name` (guaranteed present and a DNS-1035 label <= 54 chars).
    pub name: &'a str,
    /// `metadata.namespace`, when the object has one (files given to `render` may not).
    pub namespace: Option<&'a str>,
    /// Private, so that a `Valid` can only come from `validate`.
    _validated: (),
}

/// Checks every cross-field rule; reports all problems, not only the first.
pub fn validate<'a>(
    exposure: &'a Exposure,
    cluster: &ClusterInfo,
) -> Result<Valid<'a>, Vec<FieldError>> {
    let spec = &exposure.spec;
    let mut check = Checker {
        cluster,
        spec,
        ports: DeclaredPorts::of(&spec.ports),
        no_workload_because: no_workload_reason(spec),
        errors: Vec::new(),
    };
    check.metadata(exposure);
    check.workload_fields();
    check.pod_settings();
    check.ports();
    check.probes();
    check.visibility();
    check.ingress();
    check.gateway();
    check.headless();
    check.endpoints();
    check.storage();
    check.stateful_set_storage();
    check.quota();
    match exposure.metadata.name.as_deref() {
        // A missing name is one of the errors, so no errors means a name.
        Some(name) if check.errors.is_empty() => Ok(Valid {
            exposure,
            name,
            namespace: exposure.metadata.namespace.as_deref(),
            _validated: (),
        }),
        _ => Err(check.errors),
    }
}

const DNS1123_LABEL: &str =
    "a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)";
const DNS1123_SUBDOMAIN: &str =
    "a DNS-1123 subdomain (at most 253 lowercase letters, digits, '-' and '.', \
     each dot-separated part starting and ending with a letter or digit)";
const DNS1035_LABEL: &str =
    "a DNS-1035 label (lowercase letters, digits and '-', starting with a letter and ending with a letter or digit)";
const QUALIFIED_NAME: &str =
    "a qualified name (an optional DNS-1123 subdomain prefix and '/', then at most 63 \
     letters, digits, '-', '_' and '.', starting and ending with a letter or digit)";
const QUANTITY_EXAMPLES: &str = "is not a quantity (e.g. 1Gi, 500Mi, 250m, 2)";
/// Longest Exposure name: `<name>-headless` must still be a 63-character DNS label.
const MAX_NAME_LENGTH: usize = 54;
/// Kubernetes' limit on the total size of an object's annotations.
const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;
const READ_WRITE_ONCE_POD_SINCE: KubeVersion = KubeVersion::new(1, 22);

struct Checker<'a> {
    cluster: &'a ClusterInfo,
    spec: &'a ExposureSpec,
    ports: DeclaredPorts<'a>,
    /// Why no Deployment is built (ExternalName or endpoints), if so.
    no_workload_because: Option<&'static str>,
    errors: Vec<FieldError>,
}

/// The port names and Service port numbers others may refer to.
struct DeclaredPorts<'a> {
    names: Vec<&'a str>,
    service_ports: Vec<i32>,
}

impl<'a> DeclaredPorts<'a> {
    fn of(ports: &'a [PortSpec]) -> Self {
        Self {
            names: ports.iter().filter_map(|p| p.name.as_deref()).collect(),
            service_ports: ports.iter().map(PortSpec::service_port).collect(),
        }
    }

    fn names_list(&self) -> String {
        if self.names.is_empty() {
            "no port has a name".to_string()
        } else {
            format!("declared: {}", self.names.join(", "))
        }
    }
}

fn no_workload_reason(spec: &ExposureSpec) -> Option<&'static str> {
    if spec.visibility.type_ == VisibilityType::ExternalName {
        Some("visibility.type ExternalName")
    } else if !spec.endpoints.is_empty() {
        Some("spec.endpoints")
    } else {
        None
    }
}

/// Remembers the first index of each key, to name it in "already used" errors.
struct Seen<K>(HashMap<K, usize>);

impl<K: Eq + Hash> Seen<K> {
    fn new() -> Self {
        Self(HashMap::new())
    }

    /// The index that used `key` before, or None (and `key` is now taken by `index`).
    fn previous(&mut self, key: K, index: usize) -> Option<usize> {
        match self.0.get(&key) {
            Some(&first) => Some(first),
            None => {
                self.0.insert(key, index);
                None
            }
        }
    }
}

impl Checker<'_> {
    fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    fn unsupported(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::unsupported(field, message));
    }

    /// For a field the workload uses: reports it when there is no workload. True when the
    /// field is set and its own checks should run.
    fn workload_field(&mut self, field: &str, present: bool) -> bool {
        match (present, self.no_workload_because) {
            (false, _) => false,
            (true, Some(reason)) => {
                self.error(
                    field,
                    format!("not used with {reason} (no workload is created)"),
                );
                false
            }
            (true, None) => true,
        }
    }

    /// Reports `value` outside `min..=max`.
    fn range(&mut self, field: &str, value: i64, min: i64, max: i64) {
        if value < min || value > max {
            self.error(field, format!("{value} is outside {min}-{max}"));
        }
    }

    fn at_least(&mut self, field: &str, value: i64, min: i64) {
        if value < min {
            self.error(field, format!("{value} must be at least {min}"));
        }
    }

    fn name_check(&mut self, field: &str, value: &str, valid: fn(&str) -> bool, what: &str) {
        if value.is_empty() {
            self.error(field, "required");
        } else if !valid(value) {
            self.error(field, format!("{value:?} is not {what}"));
        }
    }

    /// "exactly one of a, b, c must be set (found a, c)".
    fn exactly_one(&mut self, field: &str, options: &[(&str, bool)]) {
        let found: Vec<&str> = options
            .iter()
            .filter(|(_, set)| *set)
            .map(|(name, _)| *name)
            .collect();
        if found.len() != 1 {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            let found = if found.is_empty() {
                "none".to_string()
            } else {
                found.join(", ")
            };
            self.error(
                field,
                format!(
                    "exactly one of {} must be set (found {found})",
                    names.join(", ")
                ),
            );
        }
    }

    /// A cluster feature the spec uses: an `unsupported` error when the cluster lacks it.
    fn feature(&mut self, field: &str, feature: Feature, what: &str, advice: &str) {
        if self.cluster.supports(feature) {
            return;
        }
        let cluster = self.cluster.version;
        let message = match (feature.removed_in(), feature.since()) {
            (Some(removed), _) if cluster >= removed => {
                format!(
                    "{what} was removed in Kubernetes {removed} (cluster is {cluster}); {advice}"
                )
            }
            (_, Some(since)) => {
                format!("{what} needs Kubernetes >= {since} (cluster is {cluster}); {advice}")
            }
            _ => format!("{what} is not available on Kubernetes {cluster}; {advice}"),
        };
        self.unsupported(field, message);
    }
}

/// "only allowed with visibility.type X (is Y)".
fn only_with(allowed: &str, actual: VisibilityType) -> String {
    format!("only allowed with {allowed} (is {})", actual.as_str())
}

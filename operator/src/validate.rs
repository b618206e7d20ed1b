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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;

use exposure_crd::{
    labels, AccessMode, Exposure, ExposureSpec, GlusterfsClass, IngressSpec, PortSpec, Probe,
    SessionAffinity, StorageSpec, VisibilityType,
};
use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::cluster::{ClusterInfo, Feature, KubeVersion};
use crate::quantity::{parse_quantity, QuantityValue};

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
pub struct Valid<'a> {
    pub exposure: &'a Exposure,
    /// `metadata.name` (guaranteed present and a DNS-1035 label <= 54 chars).
    pub name: &'a str,
    /// `metadata.namespace`, when the object has one (files given to `render` may not).
    pub namespace: Option<&'a str>,
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
    check.ports();
    check.probes();
    check.visibility();
    check.ingress();
    check.headless();
    check.endpoints();
    check.storage();
    check.quota();
    match exposure.metadata.name.as_deref() {
        // A missing name is one of the errors, so no errors means a name.
        Some(name) if check.errors.is_empty() => Ok(Valid {
            exposure,
            name,
            namespace: exposure.metadata.namespace.as_deref(),
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

    fn metadata(&mut self, exposure: &Exposure) {
        match exposure.metadata.name.as_deref() {
            None | Some("") => self.error("metadata.name", "required"),
            Some(name) if !is_dns1035_label(name) => self.error("metadata.name", format!("{name:?} is not {DNS1035_LABEL}")),
            Some(name) if name.len() > MAX_NAME_LENGTH => self.error(
                "metadata.name",
                format!(
                    "{name:?} is {} characters; at most {MAX_NAME_LENGTH} are allowed (so that <name>-headless fits in 63)",
                    name.len()
                ),
            ),
            Some(_) => {}
        }
        if let Some(namespace) = exposure.metadata.namespace.as_deref() {
            self.name_check(
                "metadata.namespace",
                namespace,
                is_dns1123_label,
                DNS1123_LABEL,
            );
        }
    }

    /// The pod fields, in spec order up to `strategy`.
    fn workload_fields(&mut self) {
        let spec = self.spec;
        const IMAGE_REQUIRED: &str =
            "required (unless visibility.type is ExternalName or spec.endpoints is set)";
        let image = spec.image.as_deref();
        if image.is_none() && self.no_workload_because.is_none() {
            self.error("spec.image", IMAGE_REQUIRED);
        }
        if self.workload_field("spec.image", image.is_some()) {
            let image = image.unwrap_or_default();
            if image.is_empty() {
                self.error("spec.image", IMAGE_REQUIRED);
            } else if image.chars().any(char::is_whitespace) {
                self.error(
                    "spec.image",
                    format!("{image:?} must not contain whitespace"),
                );
            }
        }
        if self.workload_field("spec.replicas", spec.replicas.is_some()) {
            self.at_least(
                "spec.replicas",
                spec.replicas.map(i64::from).unwrap_or_default(),
                0,
            );
        }
        self.workload_field("spec.imagePullPolicy", spec.image_pull_policy.is_some());
        if self.workload_field("spec.imagePullSecrets", !spec.image_pull_secrets.is_empty()) {
            for (i, secret) in spec.image_pull_secrets.iter().enumerate() {
                self.name_check(
                    &format!("spec.imagePullSecrets[{i}]"),
                    secret,
                    is_dns1123_subdomain,
                    DNS1123_SUBDOMAIN,
                );
            }
        }
        self.workload_field("spec.command", !spec.command.is_empty());
        self.workload_field("spec.args", !spec.args.is_empty());
        if self.workload_field("spec.env", !spec.env.is_empty()) {
            for (i, env) in spec.env.iter().enumerate() {
                self.env_var(&format!("spec.env[{i}]"), env);
            }
        }
        if self.workload_field("spec.envFrom", !spec.env_from.is_empty()) {
            for (i, source) in spec.env_from.iter().enumerate() {
                let options = [
                    ("configMapRef", source.config_map_ref.is_some()),
                    ("secretRef", source.secret_ref.is_some()),
                ];
                self.exactly_one(&format!("spec.envFrom[{i}]"), &options);
            }
        }
        if self.workload_field("spec.resources", spec.resources.is_some()) {
            self.resources();
        }
        if let (true, Some(account)) = (
            self.workload_field(
                "spec.serviceAccountName",
                spec.service_account_name.is_some(),
            ),
            &spec.service_account_name,
        ) {
            self.name_check(
                "spec.serviceAccountName",
                account,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
        if self.workload_field("spec.podLabels", !spec.pod_labels.is_empty()) {
            for (key, value) in &spec.pod_labels {
                let field = format!("spec.podLabels[{key}]");
                if key == labels::NAME {
                    self.error(
                        field,
                        "is set by the operator (it selects the pods) and cannot be overridden",
                    );
                } else if !is_qualified_name(key) {
                    self.error(field, format!("{key:?} is not {QUALIFIED_NAME}"));
                } else if !is_label_value(value) {
                    self.error(
                        field,
                        format!("{value:?} is not a label value (empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)"),
                    );
                }
            }
        }
        if self.workload_field("spec.podAnnotations", !spec.pod_annotations.is_empty()) {
            self.annotations("spec.podAnnotations", &spec.pod_annotations);
        }
        self.workload_field("spec.strategy", spec.strategy.is_some());
    }

    fn env_var(&mut self, field: &str, env: &EnvVar) {
        if env.name.is_empty() {
            self.error(format!("{field}.name"), "required");
        } else if env.name.contains('=') {
            self.error(
                format!("{field}.name"),
                format!("{:?} must not contain '='", env.name),
            );
        }
        if let Some(source) = &env.value_from {
            if env.value.as_deref().is_some_and(|v| !v.is_empty()) {
                self.error(
                    format!("{field}.valueFrom"),
                    "not allowed when value is set; use one of value or valueFrom",
                );
            }
            let options = [
                ("configMapKeyRef", source.config_map_key_ref.is_some()),
                ("fieldRef", source.field_ref.is_some()),
                ("resourceFieldRef", source.resource_field_ref.is_some()),
                ("secretKeyRef", source.secret_key_ref.is_some()),
            ];
            self.exactly_one(&format!("{field}.valueFrom"), &options);
        }
    }

    fn resources(&mut self) {
        let Some(resources) = &self.spec.resources else {
            return;
        };
        let limits = resources.limits.clone().unwrap_or_default();
        for (kind, values) in [
            ("limits", &resources.limits),
            ("requests", &resources.requests),
        ] {
            for (name, quantity) in values.iter().flatten() {
                let field = format!("spec.resources.{kind}[{name}]");
                let Some(value) = self.quantity(&field, quantity, false) else {
                    continue;
                };
                let limit = limits.get(name).and_then(|l| parse_quantity(&l.0));
                if kind == "requests" && limit.is_some_and(|limit| value > limit) {
                    let limit_text = limits.get(name).map(|l| l.0.as_str()).unwrap_or_default();
                    self.error(
                        field,
                        format!("{} must not exceed the limit {limit_text}", quantity.0),
                    );
                }
            }
        }
    }

    /// A quantity that must parse and not be negative (or, with `positive`, be above zero).
    fn quantity(
        &mut self,
        field: &str,
        quantity: &Quantity,
        positive: bool,
    ) -> Option<QuantityValue> {
        let text = &quantity.0;
        let Some(value) = parse_quantity(text) else {
            self.error(field, format!("{text:?} {QUANTITY_EXAMPLES}"));
            return None;
        };
        if positive && !value.is_positive() {
            self.error(field, format!("{text:?} must be greater than zero"));
            return None;
        }
        if value.is_negative() {
            self.error(field, format!("{text:?} must not be negative"));
            return None;
        }
        Some(value)
    }

    fn annotations(&mut self, field: &str, annotations: &BTreeMap<String, String>) {
        let mut total = 0;
        for (key, value) in annotations {
            total += key.len() + value.len();
            // Kubernetes checks annotation keys case-insensitively.
            if !is_qualified_name(&key.to_lowercase()) {
                self.error(
                    format!("{field}[{key}]"),
                    format!("{key:?} is not {QUALIFIED_NAME}"),
                );
            }
        }
        if total > MAX_ANNOTATIONS_BYTES {
            self.error(
                field,
                format!("total size {total} bytes exceeds the limit of {MAX_ANNOTATIONS_BYTES}"),
            );
        }
    }

    fn ports(&mut self) {
        let spec = self.spec;
        let visibility = spec.visibility.type_;
        if spec.ports.is_empty() && visibility != VisibilityType::ExternalName {
            self.error(
                "spec.ports",
                format!("at least one port is required for visibility.type {} (the Service needs a port)", visibility.as_str()),
            );
        }
        let workload = self.no_workload_because.is_none();
        let (mut names, mut container_ports, mut service_ports, mut node_ports) =
            (Seen::new(), Seen::new(), Seen::new(), Seen::new());
        for (i, port) in spec.ports.iter().enumerate() {
            let field = format!("spec.ports[{i}]");
            let protocol = port.protocol.as_str();
            match port.name.as_deref() {
                None if spec.ports.len() > 1 => self.error(format!("{field}.name"), "required when more than one port is declared"),
                None => {}
                Some(name) if !is_port_name(name) => self.error(
                    format!("{field}.name"),
                    format!("{name:?} is not a port name (at most 15 lowercase letters, digits and '-', with at least one letter, starting and ending with a letter or digit, no \"--\")"),
                ),
                Some(name) => {
                    if let Some(first) = names.previous(name, i) {
                        self.error(format!("{field}.name"), format!("port names must be unique: {name:?} is already used by spec.ports[{first}]"));
                    }
                }
            }
            self.range(
                &format!("{field}.containerPort"),
                port.container_port.into(),
                1,
                65535,
            );
            if workload {
                if let Some(first) =
                    container_ports.previous((port.container_port, port.protocol), i)
                {
                    self.error(
                        format!("{field}.containerPort"),
                        format!(
                            "{}/{protocol} is already used by spec.ports[{first}]",
                            port.container_port
                        ),
                    );
                }
            }
            if let Some(number) = port.port {
                self.range(&format!("{field}.port"), number.into(), 1, 65535);
            }
            if let Some(first) = service_ports.previous((port.service_port(), port.protocol), i) {
                let which = if port.port.is_some() {
                    "port"
                } else {
                    "containerPort"
                };
                self.error(
                    format!("{field}.{which}"),
                    format!(
                        "{}/{protocol} is already used by spec.ports[{first}]",
                        port.service_port()
                    ),
                );
            }
            if let Some(node_port) = port.node_port {
                let node_field = format!("{field}.nodePort");
                if !visibility.has_node_ports() {
                    self.error(
                        node_field,
                        only_with("visibility.type NodePort or LoadBalancer", visibility),
                    );
                } else if !(30000..=32767).contains(&node_port) {
                    self.error(node_field, format!("{node_port} is outside 30000-32767"));
                } else if let Some(first) = node_ports.previous((node_port, port.protocol), i) {
                    self.error(
                        node_field,
                        format!("{node_port}/{protocol} is already used by spec.ports[{first}]"),
                    );
                }
            }
        }
    }

    /// A reference to a declared port by name.
    fn port_name_ref(&mut self, field: &str, name: &str) {
        if !self.ports.names.contains(&name) {
            let declared = self.ports.names_list();
            self.error(
                field,
                format!("{name:?} is not a declared port name ({declared})"),
            );
        }
    }

    fn probe_port(&mut self, field: &str, port: &IntOrString) {
        match port {
            IntOrString::Int(number) => self.range(field, (*number).into(), 1, 65535),
            IntOrString::String(name) => self.port_name_ref(field, name),
        }
    }

    fn probes(&mut self) {
        let Some(probes) = &self.spec.probes else {
            return;
        };
        if !self.workload_field("spec.probes", true) {
            return;
        }
        for (kind, probe) in [
            ("readiness", &probes.readiness),
            ("liveness", &probes.liveness),
            ("startup", &probes.startup),
        ] {
            if let Some(probe) = probe {
                self.probe(kind, probe);
            }
        }
    }

    fn probe(&mut self, kind: &str, probe: &Probe) {
        let field = format!("spec.probes.{kind}");
        let handlers = [
            ("httpGet", probe.http_get.is_some()),
            ("tcpSocket", probe.tcp_socket.is_some()),
            ("exec", probe.exec.is_some()),
            ("grpc", probe.grpc.is_some()),
        ];
        self.exactly_one(&field, &handlers);
        if let Some(http) = &probe.http_get {
            if let Some(path) = http.path.as_deref().filter(|p| !p.starts_with('/')) {
                self.error(
                    format!("{field}.httpGet.path"),
                    format!("{path:?} must start with \"/\""),
                );
            }
            self.probe_port(&format!("{field}.httpGet.port"), &http.port);
            for (i, header) in http.http_headers.iter().enumerate() {
                let header_field = format!("{field}.httpGet.httpHeaders[{i}].name");
                if header.name.is_empty() {
                    self.error(header_field, "required");
                } else if !header
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    self.error(
                        header_field,
                        format!(
                            "{:?} is not an HTTP header name (letters, digits and '-')",
                            header.name
                        ),
                    );
                }
            }
        }
        if let Some(tcp) = &probe.tcp_socket {
            self.probe_port(&format!("{field}.tcpSocket.port"), &tcp.port);
        }
        if probe
            .exec
            .as_ref()
            .is_some_and(|exec| exec.command.is_empty())
        {
            self.error(
                format!("{field}.exec.command"),
                "at least one element is required",
            );
        }
        if let Some(grpc) = &probe.grpc {
            self.feature(
                &format!("{field}.grpc"),
                Feature::GrpcProbe,
                "grpc probes",
                "use httpGet or tcpSocket, or exec with grpc_health_probe",
            );
            self.range(&format!("{field}.grpc.port"), grpc.port.into(), 1, 65535);
        }
        let minimums = [
            ("initialDelaySeconds", probe.initial_delay_seconds, 0),
            ("periodSeconds", probe.period_seconds, 1),
            ("timeoutSeconds", probe.timeout_seconds, 1),
            ("successThreshold", probe.success_threshold, 1),
            ("failureThreshold", probe.failure_threshold, 1),
        ];
        for (name, value, min) in minimums {
            if let Some(value) = value {
                self.at_least(&format!("{field}.{name}"), value.into(), min);
            }
        }
        if kind != "readiness" && probe.success_threshold.is_some_and(|n| n != 1) {
            let got = probe.success_threshold.unwrap_or_default();
            self.error(
                format!("{field}.successThreshold"),
                format!("must be 1 for {kind} probes (got {got})"),
            );
        }
        if let Some(seconds) = probe.termination_grace_period_seconds {
            let tgps_field = format!("{field}.terminationGracePeriodSeconds");
            if kind == "readiness" {
                self.error(
                    tgps_field,
                    "not allowed on readiness probes (only liveness and startup)",
                );
            } else {
                self.at_least(&tgps_field, seconds, 1);
                self.feature(
                    &tgps_field,
                    Feature::ProbeTerminationGracePeriod,
                    "probe-level terminationGracePeriodSeconds",
                    "remove it",
                );
            }
        }
    }

    fn visibility(&mut self) {
        let visibility = &self.spec.visibility;
        let kind = visibility.type_;
        let external = kind == VisibilityType::ExternalName;
        match (external, visibility.external_name.as_deref()) {
            (true, None | Some("")) => self.error(
                "spec.visibility.externalName",
                "required when visibility.type is ExternalName",
            ),
            (true, Some(name)) => {
                // A trailing dot (fully qualified) is fine, as in Kubernetes.
                if !is_dns1123_subdomain(name.strip_suffix('.').unwrap_or(name)) {
                    self.error(
                        "spec.visibility.externalName",
                        format!("{name:?} is not {DNS1123_SUBDOMAIN}"),
                    );
                }
            }
            (false, Some(_)) => self.error(
                "spec.visibility.externalName",
                only_with("visibility.type ExternalName", kind),
            ),
            (false, None) => {}
        }
        if external && visibility.session_affinity.is_some() {
            self.error(
                "spec.visibility.sessionAffinity",
                "not used with visibility.type ExternalName (no traffic is proxied)",
            );
        }
        if let Some(timeout) = visibility.session_affinity_timeout_seconds {
            if visibility.session_affinity != Some(SessionAffinity::ClientIp) {
                self.error(
                    "spec.visibility.sessionAffinityTimeoutSeconds",
                    "only allowed with sessionAffinity ClientIP",
                );
            } else {
                self.range(
                    "spec.visibility.sessionAffinityTimeoutSeconds",
                    timeout.into(),
                    1,
                    86400,
                );
            }
        }
        if visibility.external_traffic_policy.is_some() && !kind.has_node_ports() {
            self.error(
                "spec.visibility.externalTrafficPolicy",
                only_with("visibility.type NodePort or LoadBalancer", kind),
            );
        }
        let load_balancer = kind == VisibilityType::LoadBalancer;
        if let Some(class) = visibility.load_balancer_class.as_deref() {
            let field = "spec.visibility.loadBalancerClass";
            if !load_balancer {
                self.error(field, only_with("visibility.type LoadBalancer", kind));
            } else {
                if !is_qualified_name(class) {
                    self.error(field, format!("{class:?} is not {QUALIFIED_NAME}"));
                }
                self.feature(
                    field,
                    Feature::LoadBalancerClass,
                    "loadBalancerClass",
                    "remove it to use the cluster's default load balancer",
                );
            }
        }
        if !visibility.load_balancer_source_ranges.is_empty() {
            if !load_balancer {
                self.error(
                    "spec.visibility.loadBalancerSourceRanges",
                    only_with("visibility.type LoadBalancer", kind),
                );
            } else {
                for (i, range) in visibility.load_balancer_source_ranges.iter().enumerate() {
                    if !is_cidr(range) {
                        self.error(
                            format!("spec.visibility.loadBalancerSourceRanges[{i}]"),
                            format!("{range:?} is not a CIDR (e.g. 10.0.0.0/8 or 2001:db8::/32)"),
                        );
                    }
                }
            }
        }
        self.annotations("spec.visibility.annotations", &visibility.annotations);
    }

    fn ingress(&mut self) {
        let kind = self.spec.visibility.type_;
        let Some(ingress) = &self.spec.ingress else {
            if kind == VisibilityType::Ingress {
                self.error("spec.ingress", "required when visibility.type is Ingress");
            }
            return;
        };
        if kind != VisibilityType::Ingress {
            self.error("spec.ingress", only_with("visibility.type Ingress", kind));
            return;
        }
        self.ingress_host(&ingress.host);
        if let Some(class) = ingress.class_name.as_deref() {
            self.name_check(
                "spec.ingress.className",
                class,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
        self.ingress_paths(ingress);
        if let Some(tls) = &ingress.tls {
            self.name_check(
                "spec.ingress.tls.secretName",
                &tls.secret_name,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
        self.annotations("spec.ingress.annotations", &ingress.annotations);
    }

    fn ingress_host(&mut self, host: &str) {
        let field = "spec.ingress.host";
        let name = host.strip_prefix("*.").unwrap_or(host);
        if host.is_empty() {
            self.error(field, "required");
        } else if host.parse::<IpAddr>().is_ok() {
            self.error(
                field,
                format!("{host:?} is an IP address; an Ingress host must be a DNS name"),
            );
        } else if host.contains(':') {
            self.error(field, format!("{host:?} must not contain a port"));
        } else if name.contains('*') {
            self.error(
                field,
                format!(
                    "{host:?}: a wildcard is only allowed as the whole first label (*.example.com)"
                ),
            );
        } else if !is_dns1123_subdomain(name) {
            self.error(
                field,
                format!("{host:?} is not {DNS1123_SUBDOMAIN}, optionally with a leading \"*.\""),
            );
        }
    }

    fn ingress_paths(&mut self, ingress: &IngressSpec) {
        let mut seen = Seen::new();
        for (i, entry) in ingress.paths.iter().enumerate() {
            let field = format!("spec.ingress.paths[{i}]");
            let path = entry.path.as_str();
            if !path.starts_with('/') {
                self.error(
                    format!("{field}.path"),
                    format!("{path:?} must start with \"/\""),
                );
            } else if entry.path_type != exposure_crd::PathType::ImplementationSpecific {
                // The sequences Kubernetes rejects in Prefix and Exact paths.
                let bad = ["//", "/./", "/../", "%2f", "%2F"]
                    .into_iter()
                    .find(|s| path.contains(s));
                let bad = bad.or_else(|| ["/..", "/."].into_iter().find(|s| path.ends_with(s)));
                if let Some(bad) = bad {
                    self.error(
                        format!("{field}.path"),
                        format!("{path:?} must not contain {bad:?}"),
                    );
                }
            }
            if let Some(first) = seen.previous(path, i) {
                self.error(
                    format!("{field}.path"),
                    format!("{path:?} is already used by spec.ingress.paths[{first}]"),
                );
            }
            match &entry.port {
                Some(IntOrString::String(name)) => {
                    self.port_name_ref(&format!("{field}.port"), name)
                }
                Some(IntOrString::Int(number)) if !self.ports.service_ports.contains(number) => {
                    let ports: Vec<String> = self
                        .ports
                        .service_ports
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    self.error(
                        format!("{field}.port"),
                        format!(
                            "{number} is not a Service port of this Exposure (ports: {})",
                            ports.join(", ")
                        ),
                    );
                }
                _ => {}
            }
        }
    }

    fn headless(&mut self) {
        if self.spec.headless == Some(true) {
            self.workload_field("spec.headless", true);
        }
    }

    fn endpoints(&mut self) {
        let spec = self.spec;
        if spec.endpoints.is_empty() {
            return;
        }
        if spec.visibility.type_ == VisibilityType::ExternalName {
            self.error(
                "spec.endpoints",
                "not used with visibility.type ExternalName (the Service aliases a DNS name)",
            );
            return;
        }
        let mut seen = Seen::new();
        for (i, endpoint) in spec.endpoints.iter().enumerate() {
            let field = format!("spec.endpoints[{i}].ip");
            let Ok(ip) = endpoint.ip.parse::<IpAddr>() else {
                self.error(
                    field,
                    format!("{:?} is not an IPv4 or IPv6 address", endpoint.ip),
                );
                continue;
            };
            if let Some(kind) = forbidden_endpoint_kind(ip) {
                let why = if kind == "the unspecified address" {
                    "an endpoint needs an address that can be reached"
                } else {
                    "Kubernetes rejects loopback, link-local and multicast endpoints"
                };
                self.error(field, format!("{ip} is {kind}; {why}"));
            } else if let Some(first) = seen.previous(ip, i) {
                self.error(
                    field,
                    format!("{ip} is already used by spec.endpoints[{first}]"),
                );
            }
        }
    }

    fn storage(&mut self) {
        let spec = self.spec;
        if !self.workload_field("spec.storage", !spec.storage.is_empty()) {
            return;
        }
        let (mut names, mut mount_paths, mut class_names) = (Seen::new(), Seen::new(), Seen::new());
        for (i, volume) in spec.storage.iter().enumerate() {
            let field = format!("spec.storage[{i}]");
            self.name_check(
                &format!("{field}.name"),
                &volume.name,
                is_dns1123_label,
                DNS1123_LABEL,
            );
            if let Some(first) = names.previous(volume.name.as_str(), i) {
                self.error(
                    format!("{field}.name"),
                    format!(
                        "storage names must be unique: {:?} is already used by spec.storage[{first}]",
                        volume.name
                    ),
                );
            }
            self.mount_path(&field, volume);
            if let Some(first) = mount_paths.previous(volume.mount_path.as_str(), i) {
                self.error(
                    format!("{field}.mountPath"),
                    format!(
                        "{:?} is already used by spec.storage[{first}]",
                        volume.mount_path
                    ),
                );
            }
            self.quantity(&format!("{field}.size"), &volume.size, true);
            self.access_modes(&field, &volume.access_modes);
            if let Some(class) = volume
                .storage_class_name
                .as_deref()
                .filter(|c| !c.is_empty())
            {
                if !is_dns1123_subdomain(class) {
                    self.error(
                        format!("{field}.storageClassName"),
                        format!("{class:?} is not {DNS1123_SUBDOMAIN}"),
                    );
                }
            }
            if let Some(glusterfs) = &volume.glusterfs {
                if volume.storage_class_name.is_some() {
                    self.error(
                        format!("{field}.glusterfs"),
                        "set either storageClassName or glusterfs, not both",
                    );
                }
                self.glusterfs(&format!("{field}.glusterfs"), glusterfs);
                if let Some(class) = glusterfs.class_name.as_deref() {
                    if let Some(first) = class_names.previous(class, i) {
                        self.error(
                            format!("{field}.glusterfs.className"),
                            format!("{class:?} is already used by spec.storage[{first}]"),
                        );
                    }
                }
            }
        }
    }

    fn mount_path(&mut self, field: &str, volume: &StorageSpec) {
        let path = volume.mount_path.as_str();
        let problem = if !path.starts_with('/') {
            Some("must be an absolute path")
        } else if path.contains(':') {
            Some("must not contain ':'")
        } else if path.split('/').any(|part| part == "..") {
            Some("must not contain '..'")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.error(format!("{field}.mountPath"), format!("{path:?} {problem}"));
        }
    }

    fn access_modes(&mut self, field: &str, modes: &[AccessMode]) {
        let mut seen = Seen::new();
        for (i, mode) in modes.iter().enumerate() {
            let mode_field = format!("{field}.accessModes[{i}]");
            if let Some(first) = seen.previous(*mode, i) {
                self.error(
                    mode_field,
                    format!(
                        "{} is already listed at accessModes[{first}]",
                        mode.as_str()
                    ),
                );
            } else if *mode == AccessMode::ReadWriteOncePod {
                if modes.len() > 1 {
                    self.error(
                        mode_field.clone(),
                        "ReadWriteOncePod cannot be combined with other access modes",
                    );
                }
                let cluster = self.cluster.version;
                if cluster < READ_WRITE_ONCE_POD_SINCE {
                    self.unsupported(
                        mode_field,
                        format!("ReadWriteOncePod needs Kubernetes >= {READ_WRITE_ONCE_POD_SINCE} (cluster is {cluster}); use ReadWriteOnce"),
                    );
                }
            }
        }
    }

    fn glusterfs(&mut self, field: &str, class: &GlusterfsClass) {
        self.feature(
            field,
            Feature::InTreeGlusterfs,
            "the in-tree GlusterFS provisioner",
            "use a CSI driver and set storageClassName",
        );
        if !is_http_url(&class.resturl) {
            self.error(
                format!("{field}.resturl"),
                format!(
                    "{:?} is not an http(s) URL with a host (e.g. http://heketi.storage:8080)",
                    class.resturl
                ),
            );
        }
        if class.restauthenabled == Some(true) {
            for (name, value) in [
                ("restuser", &class.restuser),
                ("secretName", &class.secret_name),
            ] {
                if value.as_deref().is_none_or(str::is_empty) {
                    self.error(
                        format!("{field}.{name}"),
                        "required when restauthenabled is true",
                    );
                }
            }
        }
        if let Some(secret) = class.secret_name.as_deref().filter(|s| !s.is_empty()) {
            self.name_check(
                &format!("{field}.secretName"),
                secret,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
        if let Some(namespace) = class.secret_namespace.as_deref() {
            self.name_check(
                &format!("{field}.secretNamespace"),
                namespace,
                is_dns1123_label,
                DNS1123_LABEL,
            );
        }
        if let Some(volume_type) = class
            .volumetype
            .as_deref()
            .filter(|v| !is_gluster_volume_type(v))
        {
            self.error(
                format!("{field}.volumetype"),
                format!("{volume_type:?} is not a volume type: use none, replicate:<replicas> or disperse:<data>:<redundancy>"),
            );
        }
        const GID_MIN: i64 = 2000;
        const GID_MAX: i64 = 2147483647;
        for (name, value) in [("gidMin", class.gid_min), ("gidMax", class.gid_max)] {
            if let Some(value) = value {
                self.range(&format!("{field}.{name}"), value, GID_MIN, GID_MAX);
            }
        }
        if let (Some(min), Some(max)) = (class.gid_min, class.gid_max) {
            if min > max {
                self.error(
                    format!("{field}.gidMax"),
                    format!("must not be less than gidMin ({max} < {min})"),
                );
            }
        }
        if let Some(name) = class.class_name.as_deref() {
            self.name_check(
                &format!("{field}.className"),
                name,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
    }

    fn quota(&mut self) {
        let Some(quota) = &self.spec.quota else {
            return;
        };
        for (resource, quantity) in &quota.hard {
            let field = format!("spec.quota.hard[{resource}]");
            if !is_qualified_name(resource) {
                self.error(field, format!("{resource:?} is not a resource name: {QUALIFIED_NAME}, e.g. pods, requests.storage, count/deployments.apps"));
            } else {
                self.quantity(&field, quantity, false);
            }
        }
    }
}

/// "only allowed with visibility.type X (is Y)".
fn only_with(allowed: &str, actual: VisibilityType) -> String {
    format!("only allowed with {allowed} (is {})", actual.as_str())
}

fn is_label_like(text: &str, max: usize, first: fn(u8) -> bool, middle: fn(u8) -> bool) -> bool {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&a), Some(&z)) => {
            bytes.len() <= max
                && first(a)
                && (z.is_ascii_lowercase() || z.is_ascii_digit())
                && bytes.iter().all(|&b| middle(b))
        }
        _ => false,
    }
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_lower_alnum_or_dash(b: u8) -> bool {
    is_lower_alnum(b) || b == b'-'
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_dns1123_label(text: &str) -> bool {
    is_label_like(text, 63, is_lower_alnum, is_lower_alnum_or_dash)
}

/// `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
pub fn is_dns1035_label(text: &str) -> bool {
    is_label_like(text, 63, |b| b.is_ascii_lowercase(), is_lower_alnum_or_dash)
}

/// Dot-separated DNS-1123 label-like parts, at most 253 characters in all.
pub fn is_dns1123_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text
            .split('.')
            .all(|part| is_label_like(part, 253, is_lower_alnum, is_lower_alnum_or_dash))
}

/// A port name (IANA service name): at most 15 characters of `[a-z0-9-]`, at least one
/// letter, no leading, trailing or double '-'.
pub fn is_port_name(text: &str) -> bool {
    is_label_like(text, 15, is_lower_alnum, is_lower_alnum_or_dash)
        && text.bytes().any(|b| b.is_ascii_lowercase())
        && !text.contains("--")
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters, or empty.
pub fn is_label_value(text: &str) -> bool {
    text.is_empty() || is_name_part(text)
}

fn is_name_part(text: &str) -> bool {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(a), Some(z)) => {
            bytes.len() <= 63
                && a.is_ascii_alphanumeric()
                && z.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// A label or annotation key, or a resource name: `[prefix/]name`.
pub fn is_qualified_name(text: &str) -> bool {
    match text.split_once('/') {
        Some((prefix, name)) => {
            !prefix.is_empty() && is_dns1123_subdomain(prefix) && is_name_part(name)
        }
        None => is_name_part(text),
    }
}

/// `10.0.0.0/8`, `2001:db8::/32`.
fn is_cidr(text: &str) -> bool {
    let Some((address, prefix)) = text.split_once('/') else {
        return false;
    };
    let max = match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => 32,
        Ok(IpAddr::V6(_)) => 128,
        Err(_) => return false,
    };
    !prefix.is_empty()
        && prefix.len() <= 3
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && prefix.parse::<u8>().is_ok_and(|p| p <= max)
}

/// Why an address cannot be an endpoint (IPv4-mapped IPv6 addresses count as IPv4).
fn forbidden_endpoint_kind(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    let (unspecified, loopback, link_local, multicast) = match ip {
        IpAddr::V4(v4) => (
            v4.is_unspecified(),
            v4.is_loopback(),
            v4.is_link_local(),
            v4.is_multicast(),
        ),
        IpAddr::V6(v6) => (
            v6.is_unspecified(),
            v6.is_loopback(),
            (v6.segments()[0] & 0xffc0) == 0xfe80,
            v6.is_multicast(),
        ),
    };
    [
        (unspecified, "the unspecified address"),
        (loopback, "a loopback address"),
        (link_local, "a link-local address"),
        (multicast, "a multicast address"),
    ]
    .into_iter()
    .find(|(hit, _)| *hit)
    .map(|(_, kind)| kind)
}

/// `http(s)://host[:port][/path]` with a non-empty host and a valid port.
fn is_http_url(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
    else {
        return false;
    };
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host_port)| host_port);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((inside, after)) = bracketed.split_once(']') else {
            return false;
        };
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        (inside, after.strip_prefix(':'))
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    host_ok && port_ok
}

/// heketi volume types: `none`, `replicate:<n>`, `disperse:<data>:<redundancy>`.
fn is_gluster_volume_type(text: &str) -> bool {
    let positive = |n: &str| !n.starts_with('+') && n.parse::<u32>().is_ok_and(|n| n >= 1);
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        ["none"] => true,
        ["replicate", replicas] => positive(replicas),
        ["disperse", data, redundancy] => positive(data) && positive(redundancy),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata:\n  name: web\n";
    /// The smallest valid workload: one image, one port.
    const APP: &str = "  image: nginx:1.25\n  ports: [{containerPort: 80}]\n";
    const TWO_PORTS: &str = "  image: nginx\n  ports: [{name: http, containerPort: 80}, {name: admin, containerPort: 9000}]\n";

    fn exposure_from(text: &str) -> Exposure {
        serde_yaml::from_str(text).expect("test fixture is a well-typed Exposure")
    }

    fn errors_for(exposure: &Exposure, version: KubeVersion) -> Vec<String> {
        match validate(exposure, &ClusterInfo::new(version)) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    /// Errors of `spec` (YAML lines indented by two) on the newest cluster.
    fn errors(spec: &str) -> Vec<String> {
        errors_for(
            &exposure_from(&format!("{HEADER}spec:\n{spec}")),
            KubeVersion::NEWEST,
        )
    }

    fn errors_on(minor: u32, spec: &str) -> Vec<String> {
        errors_for(
            &exposure_from(&format!("{HEADER}spec:\n{spec}")),
            KubeVersion::new(1, minor),
        )
    }

    #[track_caller]
    fn valid(spec: &str) {
        assert_eq!(errors(spec), Vec::<String>::new());
    }

    #[test]
    fn a_valid_exposure_yields_its_name_and_namespace() {
        let exposure = exposure_from(&format!("{HEADER}  namespace: shop\nspec:\n{APP}"));
        let valid = validate(&exposure, &ClusterInfo::default()).expect("valid");
        assert_eq!((valid.name, valid.namespace), ("web", Some("shop")));
    }

    #[test]
    fn metadata_name() {
        let named = |name: &str| {
            errors_for(
                &exposure_from(&format!("metadata:\n  name: {name:?}\nspec:\n{APP}")),
                KubeVersion::NEWEST,
            )
        };
        assert_eq!(named("a-b1"), Vec::<String>::new());
        assert_eq!(named(&"a".repeat(54)), Vec::<String>::new());
        assert_eq!(
            named(&"a".repeat(55)),
            [format!("metadata.name: {:?} is 55 characters; at most 54 are allowed (so that <name>-headless fits in 63)", "a".repeat(55))]
        );
        assert_eq!(
            named("1web"),
            [format!("metadata.name: \"1web\" is not {DNS1035_LABEL}")]
        );
        assert_eq!(
            named("Web"),
            [format!("metadata.name: \"Web\" is not {DNS1035_LABEL}")]
        );
        assert_eq!(
            named("web-"),
            [format!("metadata.name: \"web-\" is not {DNS1035_LABEL}")]
        );
        assert_eq!(
            errors_for(
                &exposure_from(&format!("metadata: {{}}\nspec:\n{APP}")),
                KubeVersion::NEWEST
            ),
            ["metadata.name: required"]
        );
    }

    #[test]
    fn metadata_namespace() {
        let in_namespace = |ns: &str| {
            errors_for(
                &exposure_from(&format!("{HEADER}  namespace: {ns:?}\nspec:\n{APP}")),
                KubeVersion::NEWEST,
            )
        };
        assert_eq!(in_namespace("1-shop"), Vec::<String>::new());
        assert_eq!(
            in_namespace("Shop"),
            [format!(
                "metadata.namespace: \"Shop\" is not {DNS1123_LABEL}"
            )]
        );
    }

    #[test]
    fn image_required_for_a_workload() {
        valid(APP);
        assert_eq!(
            errors("  ports: [{containerPort: 80}]\n"),
            ["spec.image: required (unless visibility.type is ExternalName or spec.endpoints is set)"]
        );
        assert_eq!(
            errors("  image: \"nginx latest\"\n  ports: [{containerPort: 80}]\n"),
            ["spec.image: \"nginx latest\" must not contain whitespace"]
        );
    }

    #[test]
    fn workload_fields_are_errors_without_a_workload() {
        let external = "  visibility: {type: ExternalName, externalName: db.example.com}\n";
        valid(external);
        assert_eq!(
            errors(&format!("{external}  image: nginx\n  replicas: 2\n  command: [sh]\n  args: [x]\n  env: [{{name: A, value: b}}]\n  probes: {{liveness: {{exec: {{command: [true]}}}}}}\n  storage: [{{name: data, mountPath: /d, size: 1Gi}}]\n  headless: true\n")),
            [
                "spec.image: not used with visibility.type ExternalName (no workload is created)",
                "spec.replicas: not used with visibility.type ExternalName (no workload is created)",
                "spec.command: not used with visibility.type ExternalName (no workload is created)",
                "spec.args: not used with visibility.type ExternalName (no workload is created)",
                "spec.env: not used with visibility.type ExternalName (no workload is created)",
                "spec.probes: not used with visibility.type ExternalName (no workload is created)",
                "spec.headless: not used with visibility.type ExternalName (no workload is created)",
                "spec.storage: not used with visibility.type ExternalName (no workload is created)",
            ]
        );
        let endpoints = "  ports: [{containerPort: 5432}]\n  endpoints: [{ip: 10.0.0.5}]\n";
        valid(endpoints);
        valid(&format!("{endpoints}  headless: false\n"));
        assert_eq!(
            errors(&format!("{endpoints}  image: postgres\n  imagePullSecrets: [reg]\n  serviceAccountName: sa\n  strategy: Recreate\n")),
            [
                "spec.image: not used with spec.endpoints (no workload is created)",
                "spec.imagePullSecrets: not used with spec.endpoints (no workload is created)",
                "spec.serviceAccountName: not used with spec.endpoints (no workload is created)",
                "spec.strategy: not used with spec.endpoints (no workload is created)",
            ]
        );
    }

    #[test]
    fn replicas_not_negative() {
        valid(&format!("{APP}  replicas: 0\n"));
        assert_eq!(
            errors(&format!("{APP}  replicas: -1\n")),
            ["spec.replicas: -1 must be at least 0"]
        );
    }

    #[test]
    fn image_pull_secrets_and_service_account() {
        valid(&format!(
            "{APP}  imagePullSecrets: [registry.creds]\n  serviceAccountName: web-sa\n"
        ));
        assert_eq!(
            errors(&format!(
                "{APP}  imagePullSecrets: [Reg, \"\"]\n  serviceAccountName: web_sa\n"
            )),
            [
                format!("spec.imagePullSecrets[0]: \"Reg\" is not {DNS1123_SUBDOMAIN}"),
                "spec.imagePullSecrets[1]: required".to_string(),
                format!("spec.serviceAccountName: \"web_sa\" is not {DNS1123_SUBDOMAIN}"),
            ]
        );
    }

    #[test]
    fn env_vars() {
        valid(&format!("{APP}  env: [{{name: A, value: b}}, {{name: B, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}, {{name: C, value: \"\", valueFrom: {{secretKeyRef: {{name: s, key: k}}}}}}]\n"));
        assert_eq!(
            errors(&format!("{APP}  env: [{{name: \"\"}}, {{name: \"A=B\"}}, {{name: C, value: x, valueFrom: {{secretKeyRef: {{name: s, key: k}}}}}}, {{name: D, valueFrom: {{}}}}]\n")),
            [
                "spec.env[0].name: required",
                "spec.env[1].name: \"A=B\" must not contain '='",
                "spec.env[2].valueFrom: not allowed when value is set; use one of value or valueFrom",
                "spec.env[3].valueFrom: exactly one of configMapKeyRef, fieldRef, resourceFieldRef, secretKeyRef must be set (found none)",
            ]
        );
    }

    #[test]
    fn env_from_sources() {
        valid(&format!(
            "{APP}  envFrom: [{{configMapRef: {{name: c}}, prefix: X_}}]\n"
        ));
        assert_eq!(
            errors(&format!("{APP}  envFrom: [{{configMapRef: {{name: c}}, secretRef: {{name: s}}}}]\n")),
            ["spec.envFrom[0]: exactly one of configMapRef, secretRef must be set (found configMapRef, secretRef)"]
        );
    }

    #[test]
    fn resources() {
        valid(&format!("{APP}  resources: {{requests: {{cpu: 500m, memory: 1Gi}}, limits: {{cpu: \"1\", memory: 1024Mi}}}}\n"));
        assert_eq!(
            errors(&format!("{APP}  resources: {{requests: {{cpu: \"2\", memory: lots}}, limits: {{cpu: \"1\", memory: \"-1Gi\"}}}}\n")),
            [
                "spec.resources.limits[memory]: \"-1Gi\" must not be negative",
                "spec.resources.requests[cpu]: 2 must not exceed the limit 1",
                "spec.resources.requests[memory]: \"lots\" is not a quantity (e.g. 1Gi, 500Mi, 250m, 2)",
            ]
        );
    }

    #[test]
    fn pod_labels() {
        valid(&format!(
            "{APP}  podLabels: {{app.kubernetes.io/part-of: shop, tier: \"\"}}\n"
        ));
        assert_eq!(
            errors(&format!("{APP}  podLabels: {{exposure.dev/name: other, \"bad key\": x, tier: \"a b\"}}\n")),
            [
                "spec.podLabels[bad key]: \"bad key\" is not a qualified name (an optional DNS-1123 subdomain prefix and '/', then at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)".to_string(),
                "spec.podLabels[exposure.dev/name]: is set by the operator (it selects the pods) and cannot be overridden".to_string(),
                "spec.podLabels[tier]: \"a b\" is not a label value (empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)".to_string(),
            ]
        );
    }

    #[test]
    fn annotations() {
        valid(&format!("{APP}  podAnnotations: {{Prometheus.IO/scrape: \"true\"}}\n  visibility: {{annotations: {{a/b: c}}}}\n"));
        assert_eq!(
            errors(&format!("{APP}  podAnnotations: {{\"/x\": a}}\n  visibility: {{annotations: {{a/b/c: d}}}}\n")),
            [
                format!("spec.podAnnotations[/x]: \"/x\" is not {QUALIFIED_NAME}"),
                format!("spec.visibility.annotations[a/b/c]: \"a/b/c\" is not {QUALIFIED_NAME}"),
            ]
        );
        let huge = "x".repeat(MAX_ANNOTATIONS_BYTES);
        assert_eq!(
            errors(&format!("{APP}  podAnnotations: {{a: {huge}}}\n")),
            [format!(
                "spec.podAnnotations: total size {} bytes exceeds the limit of 262144",
                MAX_ANNOTATIONS_BYTES + 1
            )]
        );
    }

    #[test]
    fn ports_required_for_a_service() {
        assert_eq!(
            errors("  image: nginx\n"),
            ["spec.ports: at least one port is required for visibility.type Internal (the Service needs a port)"]
        );
        assert_eq!(
            errors("  endpoints: [{ip: 10.0.0.1}]\n  visibility: {type: NodePort}\n"),
            ["spec.ports: at least one port is required for visibility.type NodePort (the Service needs a port)"]
        );
        valid("  visibility: {type: ExternalName, externalName: example.com}\n  ports: [{containerPort: 80}]\n");
    }

    #[test]
    fn port_names() {
        valid(TWO_PORTS);
        valid("  image: nginx\n  ports: [{containerPort: 80}]\n");
        assert_eq!(
            errors(
                "  image: nginx\n  ports: [{name: http, containerPort: 80}, {containerPort: 81}]\n"
            ),
            ["spec.ports[1].name: required when more than one port is declared"]
        );
        assert_eq!(
            errors("  image: nginx\n  ports: [{name: http, containerPort: 80}, {name: http, containerPort: 81}]\n"),
            ["spec.ports[1].name: port names must be unique: \"http\" is already used by spec.ports[0]"]
        );
        let bad_name = |name: &str| {
            errors(&format!(
                "  image: nginx\n  ports: [{{name: {name:?}, containerPort: 80}}]\n"
            ))
        };
        let message = |name: &str| {
            format!("spec.ports[0].name: {name:?} is not a port name (at most 15 lowercase letters, digits and '-', with at least one letter, starting and ending with a letter or digit, no \"--\")")
        };
        for name in ["http--x", "8080", "a-very-long-port-name", "Http", "-http"] {
            assert_eq!(bad_name(name), [message(name)]);
        }
    }

    #[test]
    fn port_numbers_in_range_and_unique() {
        valid("  image: nginx\n  ports: [{name: dns, containerPort: 53}, {name: dns-udp, containerPort: 53, protocol: UDP}]\n");
        assert_eq!(
            errors("  image: nginx\n  ports: [{name: a, containerPort: 0, port: 70000}, {name: b, containerPort: 8080, port: 80}, {name: c, containerPort: 8080}]\n"),
            [
                "spec.ports[0].containerPort: 0 is outside 1-65535",
                "spec.ports[0].port: 70000 is outside 1-65535",
                "spec.ports[2].containerPort: 8080/TCP is already used by spec.ports[1]",
            ]
        );
        assert_eq!(
            errors("  image: nginx\n  ports: [{name: a, containerPort: 8080, port: 80}, {name: b, containerPort: 8081, port: 80}]\n"),
            ["spec.ports[1].port: 80/TCP is already used by spec.ports[0]"]
        );
        // No workload: only the Service ports must be unique.
        valid("  endpoints: [{ip: 10.0.0.1}]\n  ports: [{name: a, containerPort: 5432}, {name: b, containerPort: 5432, port: 5433}]\n");
    }

    #[test]
    fn node_ports() {
        valid("  image: nginx\n  visibility: {type: NodePort}\n  ports: [{name: a, containerPort: 53, nodePort: 30053}, {name: b, containerPort: 53, protocol: UDP, nodePort: 30053}]\n");
        assert_eq!(
            errors("  image: nginx\n  visibility: {type: LoadBalancer}\n  ports: [{name: a, containerPort: 80, nodePort: 30080}, {name: b, containerPort: 81, nodePort: 40000}, {name: c, containerPort: 82, nodePort: 30080}]\n"),
            [
                "spec.ports[1].nodePort: 40000 is outside 30000-32767",
                "spec.ports[2].nodePort: 30080/TCP is already used by spec.ports[0]",
            ]
        );
        assert_eq!(
            errors("  image: nginx\n  ports: [{containerPort: 80, nodePort: 30080}]\n"),
            ["spec.ports[0].nodePort: only allowed with visibility.type NodePort or LoadBalancer (is Internal)"]
        );
    }

    fn probe(kind: &str, body: &str) -> String {
        format!("{TWO_PORTS}  probes:\n    {kind}: {body}\n")
    }

    #[test]
    fn probe_handlers_exactly_one() {
        valid(&probe(
            "liveness",
            "{httpGet: {path: /healthz, port: http}}",
        ));
        assert_eq!(
            errors(&probe("liveness", "{httpGet: {port: 80}, exec: {command: [true]}}")),
            ["spec.probes.liveness: exactly one of httpGet, tcpSocket, exec, grpc must be set (found httpGet, exec)"]
        );
        assert_eq!(
            errors(&probe("readiness", "{periodSeconds: 5}")),
            ["spec.probes.readiness: exactly one of httpGet, tcpSocket, exec, grpc must be set (found none)"]
        );
    }

    #[test]
    fn probe_ports() {
        valid(&probe("readiness", "{tcpSocket: {port: admin}}"));
        valid(&probe("readiness", "{tcpSocket: {port: 9000}}"));
        assert_eq!(
            errors(&probe("readiness", "{tcpSocket: {port: metrics}}")),
            ["spec.probes.readiness.tcpSocket.port: \"metrics\" is not a declared port name (declared: http, admin)"]
        );
        assert_eq!(
            errors(&format!("{APP}  probes: {{startup: {{httpGet: {{port: web}}}}}}\n")),
            ["spec.probes.startup.httpGet.port: \"web\" is not a declared port name (no port has a name)"]
        );
        assert_eq!(
            errors(&probe("readiness", "{httpGet: {port: 0}}")),
            ["spec.probes.readiness.httpGet.port: 0 is outside 1-65535"]
        );
    }

    #[test]
    fn http_get_path_and_headers() {
        valid(&probe(
            "readiness",
            "{httpGet: {path: /, port: 80, httpHeaders: [{name: X-Probe, value: \"1\"}]}}",
        ));
        assert_eq!(
            errors(&probe("readiness", "{httpGet: {path: healthz, port: 80, httpHeaders: [{name: \"\", value: a}, {name: \"X Probe\", value: b}]}}")),
            [
                "spec.probes.readiness.httpGet.path: \"healthz\" must start with \"/\"",
                "spec.probes.readiness.httpGet.httpHeaders[0].name: required",
                "spec.probes.readiness.httpGet.httpHeaders[1].name: \"X Probe\" is not an HTTP header name (letters, digits and '-')",
            ]
        );
    }

    #[test]
    fn exec_needs_a_command() {
        valid(&probe("liveness", "{exec: {command: [cat, /tmp/ok]}}"));
        assert_eq!(
            errors(&probe("liveness", "{exec: {command: []}}")),
            ["spec.probes.liveness.exec.command: at least one element is required"]
        );
    }

    #[test]
    fn grpc_probes_need_1_24() {
        let spec = probe("liveness", "{grpc: {port: 9000}}");
        assert_eq!(errors_on(24, &spec), Vec::<String>::new());
        let exposure = exposure_from(&format!("{HEADER}spec:\n{spec}"));
        let found = validate(&exposure, &ClusterInfo::new(KubeVersion::new(1, 20)))
            .expect_err("grpc on 1.20");
        assert_eq!(
            found,
            [FieldError::unsupported(
                "spec.probes.liveness.grpc",
                "grpc probes needs Kubernetes >= 1.24 (cluster is 1.20); use httpGet or tcpSocket, or exec with grpc_health_probe"
            )]
        );
        assert_eq!(
            errors_on(24, &probe("liveness", "{grpc: {port: 0}}")),
            ["spec.probes.liveness.grpc.port: 0 is outside 1-65535"]
        );
    }

    #[test]
    fn probe_timings() {
        valid(&probe("readiness", "{exec: {command: [x]}, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 3, failureThreshold: 1}"));
        assert_eq!(
            errors(&probe("readiness", "{exec: {command: [x]}, initialDelaySeconds: -1, periodSeconds: 0, timeoutSeconds: 0, successThreshold: 0, failureThreshold: 0}")),
            [
                "spec.probes.readiness.initialDelaySeconds: -1 must be at least 0",
                "spec.probes.readiness.periodSeconds: 0 must be at least 1",
                "spec.probes.readiness.timeoutSeconds: 0 must be at least 1",
                "spec.probes.readiness.successThreshold: 0 must be at least 1",
                "spec.probes.readiness.failureThreshold: 0 must be at least 1",
            ]
        );
    }

    #[test]
    fn success_threshold_is_1_for_liveness_and_startup() {
        valid(&probe(
            "liveness",
            "{exec: {command: [x]}, successThreshold: 1}",
        ));
        assert_eq!(
            errors(&probe(
                "liveness",
                "{exec: {command: [x]}, successThreshold: 2}"
            )),
            ["spec.probes.liveness.successThreshold: must be 1 for liveness probes (got 2)"]
        );
        assert_eq!(
            errors(&probe(
                "startup",
                "{exec: {command: [x]}, successThreshold: 3}"
            )),
            ["spec.probes.startup.successThreshold: must be 1 for startup probes (got 3)"]
        );
    }

    #[test]
    fn probe_termination_grace_period() {
        let spec = probe(
            "liveness",
            "{exec: {command: [x]}, terminationGracePeriodSeconds: 30}",
        );
        assert_eq!(errors_on(25, &spec), Vec::<String>::new());
        let exposure = exposure_from(&format!("{HEADER}spec:\n{spec}"));
        let found =
            validate(&exposure, &ClusterInfo::new(KubeVersion::new(1, 24))).expect_err("1.24");
        assert_eq!(
            found,
            [FieldError::unsupported(
                "spec.probes.liveness.terminationGracePeriodSeconds",
                "probe-level terminationGracePeriodSeconds needs Kubernetes >= 1.25 (cluster is 1.24); remove it"
            )]
        );
        assert_eq!(
            errors_on(25, &probe("readiness", "{exec: {command: [x]}, terminationGracePeriodSeconds: 30}")),
            ["spec.probes.readiness.terminationGracePeriodSeconds: not allowed on readiness probes (only liveness and startup)"]
        );
        assert_eq!(
            errors_on(
                25,
                &probe(
                    "startup",
                    "{exec: {command: [x]}, terminationGracePeriodSeconds: 0}"
                )
            ),
            ["spec.probes.startup.terminationGracePeriodSeconds: 0 must be at least 1"]
        );
    }

    #[test]
    fn external_name() {
        valid("  visibility: {type: ExternalName, externalName: db.example.com.}\n");
        assert_eq!(
            errors("  visibility: {type: ExternalName}\n"),
            ["spec.visibility.externalName: required when visibility.type is ExternalName"]
        );
        assert_eq!(
            errors("  visibility: {type: ExternalName, externalName: \"db_example\"}\n"),
            [format!(
                "spec.visibility.externalName: \"db_example\" is not {DNS1123_SUBDOMAIN}"
            )]
        );
        assert_eq!(
            errors(&format!("{APP}  visibility: {{externalName: db.example.com}}\n")),
            ["spec.visibility.externalName: only allowed with visibility.type ExternalName (is Internal)"]
        );
    }

    #[test]
    fn session_affinity() {
        valid(&format!("{APP}  visibility: {{sessionAffinity: ClientIP, sessionAffinityTimeoutSeconds: 600}}\n"));
        assert_eq!(
            errors(&format!("{APP}  visibility: {{sessionAffinity: None, sessionAffinityTimeoutSeconds: 600}}\n")),
            ["spec.visibility.sessionAffinityTimeoutSeconds: only allowed with sessionAffinity ClientIP"]
        );
        assert_eq!(
            errors(&format!("{APP}  visibility: {{sessionAffinity: ClientIP, sessionAffinityTimeoutSeconds: 86401}}\n")),
            ["spec.visibility.sessionAffinityTimeoutSeconds: 86401 is outside 1-86400"]
        );
        assert_eq!(
            errors("  visibility: {type: ExternalName, externalName: a.b, sessionAffinity: None}\n"),
            ["spec.visibility.sessionAffinity: not used with visibility.type ExternalName (no traffic is proxied)"]
        );
    }

    #[test]
    fn external_traffic_policy() {
        valid(&format!(
            "{APP}  visibility: {{type: NodePort, externalTrafficPolicy: Local}}\n"
        ));
        assert_eq!(
            errors(&format!("{APP}  visibility: {{externalTrafficPolicy: Local}}\n")),
            ["spec.visibility.externalTrafficPolicy: only allowed with visibility.type NodePort or LoadBalancer (is Internal)"]
        );
    }

    #[test]
    fn load_balancer_class() {
        let spec = format!(
            "{APP}  visibility: {{type: LoadBalancer, loadBalancerClass: example.com/lb}}\n"
        );
        assert_eq!(errors_on(24, &spec), Vec::<String>::new());
        let exposure = exposure_from(&format!("{HEADER}spec:\n{spec}"));
        let found =
            validate(&exposure, &ClusterInfo::new(KubeVersion::new(1, 20))).expect_err("1.20");
        assert_eq!(
            found,
            [FieldError::unsupported(
                "spec.visibility.loadBalancerClass",
                "loadBalancerClass needs Kubernetes >= 1.24 (cluster is 1.20); remove it to use the cluster's default load balancer"
            )]
        );
        assert_eq!(
            errors(&format!("{APP}  visibility: {{type: NodePort, loadBalancerClass: x}}\n")),
            ["spec.visibility.loadBalancerClass: only allowed with visibility.type LoadBalancer (is NodePort)"]
        );
        assert_eq!(
            errors(&format!(
                "{APP}  visibility: {{type: LoadBalancer, loadBalancerClass: \"a b\"}}\n"
            )),
            [format!(
                "spec.visibility.loadBalancerClass: \"a b\" is not {QUALIFIED_NAME}"
            )]
        );
    }

    #[test]
    fn load_balancer_source_ranges() {
        valid(&format!("{APP}  visibility: {{type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/8, \"2001:db8::/32\", 1.2.3.4/32]}}\n"));
        assert_eq!(
            errors(&format!("{APP}  visibility: {{type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/33, 10.0.0.0, \"::/129\"]}}\n")),
            [
                "spec.visibility.loadBalancerSourceRanges[0]: \"10.0.0.0/33\" is not a CIDR (e.g. 10.0.0.0/8 or 2001:db8::/32)",
                "spec.visibility.loadBalancerSourceRanges[1]: \"10.0.0.0\" is not a CIDR (e.g. 10.0.0.0/8 or 2001:db8::/32)",
                "spec.visibility.loadBalancerSourceRanges[2]: \"::/129\" is not a CIDR (e.g. 10.0.0.0/8 or 2001:db8::/32)",
            ]
        );
        assert_eq!(
            errors(&format!("{APP}  visibility: {{type: NodePort, loadBalancerSourceRanges: [10.0.0.0/8]}}\n")),
            ["spec.visibility.loadBalancerSourceRanges: only allowed with visibility.type LoadBalancer (is NodePort)"]
        );
    }

    const INGRESS: &str = "  visibility: {type: Ingress}\n";

    #[test]
    fn ingress_block_iff_ingress_visibility() {
        valid(&format!(
            "{TWO_PORTS}{INGRESS}  ingress: {{host: shop.example.com}}\n"
        ));
        assert_eq!(
            errors(&format!("{APP}{INGRESS}")),
            ["spec.ingress: required when visibility.type is Ingress"]
        );
        assert_eq!(
            errors(&format!("{APP}  ingress: {{host: shop.example.com}}\n")),
            ["spec.ingress: only allowed with visibility.type Ingress (is Internal)"]
        );
    }

    #[test]
    fn ingress_host() {
        let host = |h: &str| errors(&format!("{APP}{INGRESS}  ingress: {{host: {h:?}}}\n"));
        assert_eq!(host("*.example.com"), Vec::<String>::new());
        assert_eq!(host("10.0.0.1"), ["spec.ingress.host: \"10.0.0.1\" is an IP address; an Ingress host must be a DNS name"]);
        assert_eq!(
            host("shop.example.com:8080"),
            ["spec.ingress.host: \"shop.example.com:8080\" must not contain a port"]
        );
        assert_eq!(
            host("shop.*.example.com"),
            ["spec.ingress.host: \"shop.*.example.com\": a wildcard is only allowed as the whole first label (*.example.com)"]
        );
        assert_eq!(
            host("Shop.example.com"),
            [format!("spec.ingress.host: \"Shop.example.com\" is not {DNS1123_SUBDOMAIN}, optionally with a leading \"*.\"")]
        );
        assert_eq!(host(""), ["spec.ingress.host: required"]);
    }

    #[test]
    fn ingress_class_and_tls() {
        valid(&format!("{APP}{INGRESS}  ingress: {{host: a.example, className: nginx, tls: {{secretName: a-tls}}}}\n"));
        assert_eq!(
            errors(&format!("{APP}{INGRESS}  ingress: {{host: a.example, className: NGINX, tls: {{secretName: a_tls}}}}\n")),
            [
                format!("spec.ingress.className: \"NGINX\" is not {DNS1123_SUBDOMAIN}"),
                format!("spec.ingress.tls.secretName: \"a_tls\" is not {DNS1123_SUBDOMAIN}"),
            ]
        );
    }

    #[test]
    fn ingress_paths() {
        valid(&format!("{TWO_PORTS}{INGRESS}  ingress: {{host: a.example, paths: [{{path: /, port: http}}, {{path: /admin, port: 9000}}, {{path: \"/a//b\", pathType: ImplementationSpecific}}]}}\n"));
        assert_eq!(
            errors(&format!("{TWO_PORTS}{INGRESS}  ingress: {{host: a.example, paths: [{{path: api}}, {{path: /x/../y}}, {{path: /a, port: metrics}}, {{path: /a, port: 8080}}]}}\n")),
            [
                "spec.ingress.paths[0].path: \"api\" must start with \"/\"",
                "spec.ingress.paths[1].path: \"/x/../y\" must not contain \"/../\"",
                "spec.ingress.paths[2].port: \"metrics\" is not a declared port name (declared: http, admin)",
                "spec.ingress.paths[3].path: \"/a\" is already used by spec.ingress.paths[2]",
                "spec.ingress.paths[3].port: 8080 is not a Service port of this Exposure (ports: 80, 9000)",
            ]
        );
    }

    #[test]
    fn headless() {
        valid(&format!("{APP}  headless: true\n"));
        assert_eq!(
            errors("  visibility: {type: ExternalName, externalName: a.b}\n  headless: true\n"),
            ["spec.headless: not used with visibility.type ExternalName (no workload is created)"]
        );
    }

    #[test]
    fn endpoints() {
        let endpoints = |ips: &str| {
            errors(&format!(
                "  ports: [{{containerPort: 5432}}]\n  endpoints: [{ips}]\n"
            ))
        };
        assert_eq!(
            endpoints("{ip: 10.0.0.1}, {ip: \"2001:db8::1\"}"),
            Vec::<String>::new()
        );
        assert_eq!(
            endpoints("{ip: 127.0.0.1}, {ip: 169.254.1.1}, {ip: \"fe80::1\"}, {ip: 224.0.0.1}, {ip: 0.0.0.0}, {ip: \"::ffff:127.0.0.1\"}, {ip: db}, {ip: 10.0.0.1}, {ip: 10.0.0.1}"),
            [
                "spec.endpoints[0].ip: 127.0.0.1 is a loopback address; Kubernetes rejects loopback, link-local and multicast endpoints",
                "spec.endpoints[1].ip: 169.254.1.1 is a link-local address; Kubernetes rejects loopback, link-local and multicast endpoints",
                "spec.endpoints[2].ip: fe80::1 is a link-local address; Kubernetes rejects loopback, link-local and multicast endpoints",
                "spec.endpoints[3].ip: 224.0.0.1 is a multicast address; Kubernetes rejects loopback, link-local and multicast endpoints",
                "spec.endpoints[4].ip: 0.0.0.0 is the unspecified address; an endpoint needs an address that can be reached",
                "spec.endpoints[5].ip: ::ffff:127.0.0.1 is a loopback address; Kubernetes rejects loopback, link-local and multicast endpoints",
                "spec.endpoints[6].ip: \"db\" is not an IPv4 or IPv6 address",
                "spec.endpoints[8].ip: 10.0.0.1 is already used by spec.endpoints[7]",
            ]
        );
        // Ingress in front of an external backend is fine.
        valid("  ports: [{containerPort: 80}]\n  endpoints: [{ip: 10.0.0.1}]\n  visibility: {type: Ingress}\n  ingress: {host: a.example}\n");
        assert_eq!(
            errors("  visibility: {type: ExternalName, externalName: a.b}\n  endpoints: [{ip: 10.0.0.1}]\n"),
            ["spec.endpoints: not used with visibility.type ExternalName (the Service aliases a DNS name)"]
        );
    }

    fn volume(fields: &str) -> String {
        format!("{APP}  storage: [{{name: data, mountPath: /data, size: 1Gi{fields}}}]\n")
    }

    #[test]
    fn storage_names_and_mount_paths() {
        valid(&format!("{APP}  storage: [{{name: data, mountPath: /data, size: 1Gi}}, {{name: logs, mountPath: /var/log, size: 1Gi}}]\n"));
        assert_eq!(
            errors(&format!("{APP}  storage: [{{name: Data, mountPath: data, size: 1Gi}}, {{name: logs, mountPath: \"/a:b\", size: 1Gi}}, {{name: logs, mountPath: /x/../y, size: 1Gi}}, {{name: more, mountPath: /x/../y, size: 1Gi}}]\n")),
            [
                format!("spec.storage[0].name: \"Data\" is not {DNS1123_LABEL}"),
                "spec.storage[0].mountPath: \"data\" must be an absolute path".to_string(),
                "spec.storage[1].mountPath: \"/a:b\" must not contain ':'".to_string(),
                "spec.storage[2].name: storage names must be unique: \"logs\" is already used by spec.storage[1]".to_string(),
                "spec.storage[2].mountPath: \"/x/../y\" must not contain '..'".to_string(),
                "spec.storage[3].mountPath: \"/x/../y\" must not contain '..'".to_string(),
                "spec.storage[3].mountPath: \"/x/../y\" is already used by spec.storage[2]".to_string(),
            ]
        );
    }

    #[test]
    fn storage_size() {
        valid(&format!(
            "{APP}  storage: [{{name: data, mountPath: /data, size: 500M}}]\n"
        ));
        assert_eq!(
            errors(&format!("{APP}  storage: [{{name: a, mountPath: /a, size: \"0\"}}, {{name: b, mountPath: /b, size: 10GB}}, {{name: c, mountPath: /c, size: \"-1Gi\"}}]\n")),
            [
                "spec.storage[0].size: \"0\" must be greater than zero",
                "spec.storage[1].size: \"10GB\" is not a quantity (e.g. 1Gi, 500Mi, 250m, 2)",
                "spec.storage[2].size: \"-1Gi\" must be greater than zero",
            ]
        );
    }

    #[test]
    fn storage_access_modes() {
        valid(&volume(", accessModes: [ReadWriteOnce, ReadOnlyMany]"));
        valid(&volume(", accessModes: [ReadWriteOncePod]"));
        assert_eq!(
            errors(&volume(", accessModes: [ReadWriteOnce, ReadWriteOnce]")),
            ["spec.storage[0].accessModes[1]: ReadWriteOnce is already listed at accessModes[0]"]
        );
        assert_eq!(
            errors(&volume(", accessModes: [ReadWriteOncePod, ReadWriteOnce]")),
            ["spec.storage[0].accessModes[0]: ReadWriteOncePod cannot be combined with other access modes"]
        );
        let exposure = exposure_from(&format!(
            "{HEADER}spec:\n{}",
            volume(", accessModes: [ReadWriteOncePod]")
        ));
        assert_eq!(
            errors_for(&exposure, KubeVersion::new(1, 22)),
            Vec::<String>::new()
        );
        let found =
            validate(&exposure, &ClusterInfo::new(KubeVersion::new(1, 20))).expect_err("1.20");
        assert_eq!(
            found,
            [FieldError::unsupported(
                "spec.storage[0].accessModes[0]",
                "ReadWriteOncePod needs Kubernetes >= 1.22 (cluster is 1.20); use ReadWriteOnce"
            )]
        );
    }

    #[test]
    fn storage_class_name() {
        valid(&volume(", storageClassName: fast-ssd"));
        valid(&volume(", storageClassName: \"\""));
        assert_eq!(
            errors(&volume(", storageClassName: Fast")),
            [format!(
                "spec.storage[0].storageClassName: \"Fast\" is not {DNS1123_SUBDOMAIN}"
            )]
        );
        assert_eq!(
            errors_on(
                25,
                &volume(", storageClassName: fast, glusterfs: {resturl: \"http://heketi:8080\"}")
            ),
            ["spec.storage[0].glusterfs: set either storageClassName or glusterfs, not both"]
        );
    }

    fn gluster(fields: &str) -> String {
        volume(&format!(
            ", glusterfs: {{resturl: \"http://heketi.storage:8080\"{fields}}}"
        ))
    }

    #[test]
    fn glusterfs_needs_the_in_tree_provisioner() {
        assert_eq!(errors_on(25, &gluster("")), Vec::<String>::new());
        let exposure = exposure_from(&format!("{HEADER}spec:\n{}", gluster("")));
        let found =
            validate(&exposure, &ClusterInfo::new(KubeVersion::new(1, 27))).expect_err("1.27");
        assert_eq!(
            found,
            [FieldError::unsupported(
                "spec.storage[0].glusterfs",
                "the in-tree GlusterFS provisioner was removed in Kubernetes 1.26 (cluster is 1.27); use a CSI driver and set storageClassName"
            )]
        );
    }

    #[test]
    fn glusterfs_resturl() {
        for url in [
            "https://heketi",
            "http://10.0.0.1:8080/",
            "http://user@[2001:db8::1]:8080",
        ] {
            assert_eq!(
                errors_on(20, &volume(&format!(", glusterfs: {{resturl: {url:?}}}"))),
                Vec::<String>::new(),
                "{url}"
            );
        }
        for url in [
            "heketi:8080",
            "ftp://heketi",
            "http://",
            "http://:8080",
            "http://heketi:port",
            "http://heketi:0",
            "http://he ketti",
        ] {
            assert_eq!(
                errors_on(20, &volume(&format!(", glusterfs: {{resturl: {url:?}}}"))),
                [format!("spec.storage[0].glusterfs.resturl: {url:?} is not an http(s) URL with a host (e.g. http://heketi.storage:8080)")],
            );
        }
    }

    #[test]
    fn glusterfs_auth_and_secret() {
        assert_eq!(errors_on(20, &gluster(", restauthenabled: true, restuser: admin, secretName: heketi-key, secretNamespace: storage")), Vec::<String>::new());
        assert_eq!(
            errors_on(20, &gluster(", restauthenabled: true, secretName: Heketi, secretNamespace: st.orage")),
            [
                "spec.storage[0].glusterfs.restuser: required when restauthenabled is true".to_string(),
                format!("spec.storage[0].glusterfs.secretName: \"Heketi\" is not {DNS1123_SUBDOMAIN}"),
                format!("spec.storage[0].glusterfs.secretNamespace: \"st.orage\" is not {DNS1123_LABEL}"),
            ]
        );
    }

    #[test]
    fn glusterfs_volume_type() {
        for volume_type in ["none", "replicate:3", "disperse:4:2"] {
            assert_eq!(
                errors_on(20, &gluster(&format!(", volumetype: {volume_type:?}"))),
                Vec::<String>::new()
            );
        }
        for volume_type in [
            "replicate",
            "replicate:0",
            "disperse:4",
            "mirror:2",
            "replicate:+1",
        ] {
            assert_eq!(
                errors_on(20, &gluster(&format!(", volumetype: {volume_type:?}"))),
                [format!("spec.storage[0].glusterfs.volumetype: {volume_type:?} is not a volume type: use none, replicate:<replicas> or disperse:<data>:<redundancy>")]
            );
        }
    }

    #[test]
    fn glusterfs_gid_range() {
        assert_eq!(
            errors_on(20, &gluster(", gidMin: 2000, gidMax: 2147483647")),
            Vec::<String>::new()
        );
        assert_eq!(
            errors_on(20, &gluster(", gidMin: 1999, gidMax: 2147483648")),
            [
                "spec.storage[0].glusterfs.gidMin: 1999 is outside 2000-2147483647",
                "spec.storage[0].glusterfs.gidMax: 2147483648 is outside 2000-2147483647",
            ]
        );
        assert_eq!(
            errors_on(20, &gluster(", gidMin: 5000, gidMax: 4000")),
            ["spec.storage[0].glusterfs.gidMax: must not be less than gidMin (4000 < 5000)"]
        );
    }

    #[test]
    fn glusterfs_class_names() {
        let two = |a: &str, b: &str| {
            format!("{APP}  storage:\n  - {{name: a, mountPath: /a, size: 1Gi, glusterfs: {{resturl: \"http://h\", className: {a}}}}}\n  - {{name: b, mountPath: /b, size: 1Gi, glusterfs: {{resturl: \"http://h\", className: {b}}}}}\n")
        };
        assert_eq!(
            errors_on(20, &two("gluster-a", "gluster-b")),
            Vec::<String>::new()
        );
        assert_eq!(
            errors_on(20, &two("same", "same")),
            ["spec.storage[1].glusterfs.className: \"same\" is already used by spec.storage[0]"]
        );
        assert_eq!(
            errors_on(20, &two("Gluster", "b")),
            [format!(
                "spec.storage[0].glusterfs.className: \"Gluster\" is not {DNS1123_SUBDOMAIN}"
            )]
        );
    }

    #[test]
    fn quota() {
        valid(&format!("{APP}  quota: {{hard: {{pods: \"3\", requests.storage: 10Gi, count/deployments.apps: \"2\", requests.nvidia.com/gpu: \"1\"}}}}\n"));
        assert_eq!(
            errors(&format!("{APP}  quota: {{hard: {{\"bad key\": \"1\", pods: \"-1\", services: many}}}}\n")),
            [
                format!("spec.quota.hard[bad key]: \"bad key\" is not a resource name: {QUALIFIED_NAME}, e.g. pods, requests.storage, count/deployments.apps"),
                "spec.quota.hard[pods]: \"-1\" must not be negative".to_string(),
                "spec.quota.hard[services]: \"many\" is not a quantity (e.g. 1Gi, 500Mi, 250m, 2)".to_string(),
            ]
        );
    }

    #[test]
    fn errors_follow_the_spec_order() {
        let spec = "  replicas: -1\n  ports: [{containerPort: 80, nodePort: 30000}]\n  ingress: {host: a.b}\n  storage: [{name: x, mountPath: y, size: 1}]\n";
        let fields: Vec<String> = errors(spec)
            .iter()
            .map(|e| e.split(':').next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            fields,
            [
                "spec.image",
                "spec.replicas",
                "spec.ports[0].nodePort",
                "spec.ingress",
                "spec.storage[0].mountPath"
            ]
        );
    }

    #[test]
    fn name_helpers() {
        assert!(
            is_dns1123_label("a") && is_dns1123_label("0-a") && !is_dns1123_label(&"a".repeat(64))
        );
        assert!(
            is_dns1123_subdomain("a.b-c.d")
                && !is_dns1123_subdomain("a..b")
                && !is_dns1123_subdomain(".a")
        );
        assert!(
            is_qualified_name("example.com/Name_1")
                && !is_qualified_name("a/b/c")
                && !is_qualified_name("/a")
        );
        assert!(is_label_value("") && is_label_value("A.b_c-1") && !is_label_value("-a"));
        assert!(is_port_name("h2c") && !is_port_name("123"));
    }
}

//! The `Exposure` API (`exposure.dev/v1alpha1`): types only, no I/O.
//!
//! Field names are part of the public contract (see the API reference in `docs/`).
//! Everything the OpenAPI schema can express (enums, ranges, patterns, required fields) is
//! expressed here so `kubectl apply` rejects the obvious at once; the cross-field rules CEL can
//! express are in `cel` (enforced by API servers >= 1.25, where CRD validation rules are on),
//! and every cross-field rule lives in the operator's `validate` module.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EnvFromSource, EnvVar, PodSecurityContext, ResourceRequirements, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod cel;
pub mod labels;
mod schema;
mod workload;

pub use schema::{crd, crd_for};
pub use workload::{
    AutoscalingSpec, ConfigVolume, DisruptionSpec, EmptyDirSpec, LimitsSpec, PodManagementPolicy,
    SchedulingSpec, StatefulSetSpec, StorageMedium, WorkloadKind,
};

/// API group of the Exposure kind.
pub const GROUP: &str = "exposure.dev";
/// API version of the Exposure kind.
pub const VERSION: &str = "v1alpha1";

/// One application, exposed: the operator renders the Deployment, Service(s), Ingress,
/// PVCs, ResourceQuota and StorageClass this spec describes and keeps them as declared.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "exposure.dev",
    version = "v1alpha1",
    kind = "Exposure",
    plural = "exposures",
    shortname = "exp",
    shortname = "expo",
    category = "all",
    namespaced,
    status = "ExposureStatus",
    printcolumn = r#"{"name":"Visibility","type":"string","jsonPath":".spec.visibility.type"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Available","type":"integer","jsonPath":".status.availableReplicas"}"#,
    printcolumn = r#"{"name":"Workload","type":"string","priority":1,"jsonPath":".status.workload"}"#,
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".status.url"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Message","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
// The larger optional parts are boxed: every cached Exposure holds the spec inline, and these
// four (never set by most Exposures) would otherwise take 1.9 of its 2.9 KiB.
pub struct ExposureSpec {
    /// Container image. Required unless `visibility.type` is ExternalName or `endpoints` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub image: Option<String>,

    /// Desired pods. When omitted the operator does not own the Deployment's replicas (an
    /// HorizontalPodAutoscaler may), and a new Deployment starts with 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub replicas: Option<i32>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,

    /// Names of Secrets in this namespace used to pull the image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,

    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,

    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,

    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,

    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromSource>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,

    /// Extra labels on the pods (the selector label `exposure.dev/name` cannot be overridden).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_labels: BTreeMap<String, String>,

    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_annotations: BTreeMap<String, String>,

    /// Deployment only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<DeploymentStrategy>,

    /// The controller that runs the pods: Deployment (default), StatefulSet or DaemonSet.
    /// Changing it replaces the workload; every PVC is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<WorkloadKind>,

    /// Only with `workload: StatefulSet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stateful_set: Option<StatefulSetSpec>,

    /// A HorizontalPodAutoscaler; not with DaemonSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingSpec>,

    /// A PodDisruptionBudget over the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption: Option<DisruptionSpec>,

    /// nodeSelector, tolerations, affinity, topologySpreadConstraints, priorityClassName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<Box<SchedulingSpec>>,

    /// The container's securityContext, as Kubernetes defines it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<Box<SecurityContext>>,

    /// The pod's securityContext, as Kubernetes defines it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security_context: Option<Box<PodSecurityContext>>,

    /// Configuration files and scratch space: ConfigMap, Secret and emptyDir volumes. At most
    /// 32.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = cel::MAX_CONFIG))]
    pub config: Vec<ConfigVolume>,

    /// At most 100.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = cel::MAX_PORTS))]
    pub ports: Vec<PortSpec>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<Box<Probes>>,

    #[serde(default)]
    pub visibility: Visibility,

    /// Required iff `visibility.type` is Ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,

    /// Required iff `visibility.type` is Gateway: the HTTPRoute attached to a Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewaySpec>,

    /// Also create `<name>-headless`: clusterIP None, publishNotReadyAddresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headless: Option<bool>,

    /// External backend: a selector-less Service plus an Endpoints object, no Deployment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointSpec>,

    /// At most 32 volumes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = cel::MAX_STORAGE))]
    pub storage: Vec<StorageSpec>,

    /// A ResourceQuota `<name>` in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaSpec>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ImagePullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl ImagePullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum DeploymentStrategy {
    RollingUpdate,
    Recreate,
}

impl DeploymentStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RollingUpdate => "RollingUpdate",
            Self::Recreate => "Recreate",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortSpec {
    /// DNS-1123 label of at most 15 characters; required when more than one port is declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 15),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: Option<String>,

    #[schemars(range(min = 1, max = 65535))]
    pub container_port: i32,

    /// Service port; defaults to containerPort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,

    #[serde(default)]
    pub protocol: Protocol,

    /// 30000-32767; only with visibility NodePort or LoadBalancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 30000, max = 32767))]
    pub node_port: Option<i32>,
}

impl PortSpec {
    /// The Service port: `port`, or `containerPort` when omitted.
    pub fn service_port(&self) -> i32 {
        self.port.unwrap_or(self.container_port)
    }
}

#[derive(
    Serialize,
    Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    JsonSchema,
)]
pub enum Protocol {
    #[default]
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::Sctp => "SCTP",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Probes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Probe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<Probe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<Probe>,
}

/// A container probe: exactly one of `httpGet`, `tcpSocket`, `exec`, `grpc`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocketProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecProbe>,
    /// Needs Kubernetes >= 1.24.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<GrpcProbe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub initial_delay_seconds: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub period_seconds: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: Option<i32>,
    /// Must be 1 for liveness and startup probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub success_threshold: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub failure_threshold: Option<i32>,
    /// Needs Kubernetes >= 1.25 (probe-level grace period); liveness and startup only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub termination_grace_period_seconds: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HttpGetProbe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A declared port name or a port number.
    pub port: IntOrString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<HttpScheme>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http_headers: Vec<HttpHeader>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum HttpScheme {
    #[serde(rename = "HTTP")]
    Http,
    #[serde(rename = "HTTPS")]
    Https,
}

impl HttpScheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::Https => "HTTPS",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct HttpHeader {
    #[schemars(length(min = 1))]
    pub name: String,
    pub value: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct TcpSocketProbe {
    /// A declared port name or a port number.
    pub port: IntOrString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ExecProbe {
    #[schemars(length(min = 1))]
    pub command: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct GrpcProbe {
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Visibility {
    #[serde(default, rename = "type")]
    pub type_: VisibilityType,
    /// Required iff `type` is ExternalName: the DNS name the Service aliases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity: Option<SessionAffinity>,
    /// ClientIP affinity timeout (1-86400 s, Kubernetes default 10800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub session_affinity_timeout_seconds: Option<i32>,
    /// NodePort and LoadBalancer only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_traffic_policy: Option<ExternalTrafficPolicy>,
    /// LoadBalancer only; needs Kubernetes >= 1.24.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_class: Option<String>,
    /// LoadBalancer only: CIDRs allowed to reach the load balancer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancer_source_ranges: Vec<String>,
    /// Annotations put on the Service.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum VisibilityType {
    /// A ClusterIP Service.
    #[default]
    Internal,
    NodePort,
    LoadBalancer,
    /// A ClusterIP Service behind an Ingress.
    Ingress,
    /// A DNS alias (Service of type ExternalName), no workload.
    ExternalName,
    /// A ClusterIP Service behind a Gateway API HTTPRoute (`gateway.networking.k8s.io/v1`).
    Gateway,
}

impl VisibilityType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "Internal",
            Self::NodePort => "NodePort",
            Self::LoadBalancer => "LoadBalancer",
            Self::Ingress => "Ingress",
            Self::ExternalName => "ExternalName",
            Self::Gateway => "Gateway",
        }
    }

    /// Whether Services of this visibility allocate node ports.
    pub fn has_node_ports(self) -> bool {
        matches!(self, Self::NodePort | Self::LoadBalancer)
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum SessionAffinity {
    None,
    #[serde(rename = "ClientIP")]
    ClientIp,
}

impl SessionAffinity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::ClientIp => "ClientIP",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ExternalTrafficPolicy {
    Cluster,
    Local,
}

impl ExternalTrafficPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cluster => "Cluster",
            Self::Local => "Local",
        }
    }
}

/// One Ingress `<name>` to this Exposure's Service: one rule per host (`host` with `paths` and
/// `tls` is the shorthand for a single host; `hosts` lists several), and/or the ingress
/// class's default backend.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    /// One host (DNS name; a leading `*.` wildcard is allowed). Set `host` or `hosts`, not
    /// both; neither only with `defaultBackend: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub host: Option<String>,
    /// Several hosts, each with its own paths and TLS (at most 32).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = cel::MAX_INGRESS_HOSTS))]
    pub hosts: Vec<IngressHost>,
    /// Becomes `spec.ingressClassName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// Paths of `host` (with `hosts`, each entry has its own). Default: one path `/` (Prefix)
    /// to the first port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<IngressPath>,
    /// TLS for `host` (with `hosts`, each entry has its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<IngressTls>,
    /// The Ingress's `spec.defaultBackend` is this Exposure's Service: requests the ingress
    /// controller has no rule for come here. One Exposure per ingress class may claim it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_backend: Option<bool>,
    /// The default backend's port (a port name or a Service port number); default: the first
    /// port. Only with `defaultBackend: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_backend_port: Option<IntOrString>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl IngressSpec {
    /// Every host with its paths and TLS: the `host` shorthand or the `hosts` entries.
    pub fn all_hosts(&self) -> Vec<IngressHost> {
        match &self.host {
            Some(host) => vec![IngressHost {
                host: host.clone(),
                paths: self.paths.clone(),
                tls: self.tls.clone(),
            }],
            None => self.hosts.clone(),
        }
    }

    /// Whether the Ingress is the default backend of its class.
    pub fn is_default_backend(&self) -> bool {
        self.default_backend == Some(true)
    }
}

/// One host of `spec.ingress.hosts`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressHost {
    /// DNS name; a leading `*.` wildcard is allowed.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// Default: one path `/` (Prefix) to the first port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<IngressPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<IngressTls>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressPath {
    /// Must start with `/`.
    #[schemars(length(min = 1))]
    pub path: String,
    #[serde(default)]
    pub path_type: PathType,
    /// A port name or a Service port number; default: the first port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<IntOrString>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum PathType {
    #[default]
    Prefix,
    Exact,
    ImplementationSpecific,
}

impl PathType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prefix => "Prefix",
            Self::Exact => "Exact",
            Self::ImplementationSpecific => "ImplementationSpecific",
        }
    }
}

/// TLS for a host: the certificate's Secret, optionally requested from cert-manager.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IngressTls {
    /// Secret holding the certificate for the host (hosts sharing a Secret share one `tls`
    /// entry of the Ingress).
    #[schemars(length(min = 1))]
    pub secret_name: String,
    /// A cert-manager issuer: the Ingress gets `cert-manager.io/cluster-issuer` (or
    /// `cert-manager.io/issuer`) so that cert-manager requests the certificate for every TLS
    /// host. Every TLS entry of one Exposure names the same issuer (one annotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub issuer: Option<String>,
    /// ClusterIssuer (default) or Issuer (in this namespace). Only with `issuer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_kind: Option<IssuerKind>,
}

/// The kind of a cert-manager issuer.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum IssuerKind {
    #[default]
    ClusterIssuer,
    Issuer,
}

impl IssuerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClusterIssuer => "ClusterIssuer",
            Self::Issuer => "Issuer",
        }
    }

    /// The cert-manager annotation naming an issuer of this kind.
    pub fn annotation(self) -> &'static str {
        match self {
            Self::ClusterIssuer => "cert-manager.io/cluster-issuer",
            Self::Issuer => "cert-manager.io/issuer",
        }
    }
}

/// An HTTPRoute `<name>` (Gateway API `gateway.networking.k8s.io/v1`) to this Exposure's
/// Service, attached to Gateways a platform team runs. Needs the Gateway API CRDs installed.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    /// The Gateways (or their listeners) the route attaches to; at least one, at most 32.
    #[schemars(length(min = 1, max = cel::MAX_GATEWAY_ITEMS))]
    pub parent_refs: Vec<GatewayParentRef>,
    /// Host names the route matches (a leading `*.` wildcard is allowed); none: every host of
    /// the listener. At most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub hostnames: Vec<String>,
    /// Default: one path `/` (PathPrefix) to the first port. At most 16 (one rule each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub paths: Vec<GatewayPath>,
}

/// A Gateway (`gateway.networking.k8s.io`, kind Gateway).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayParentRef {
    /// The Gateway's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The Gateway's namespace; default: the Exposure's (the Gateway must allow routes from
    /// this namespace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
    /// One listener of the Gateway, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub section_name: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayPath {
    /// Must start with `/`.
    #[schemars(length(min = 1, max = 1024))]
    pub path: String,
    #[serde(default)]
    pub path_type: GatewayPathType,
    /// A port name or a Service port number; default: the first port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<IntOrString>,
}

/// How an HTTPRoute matches a path.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum GatewayPathType {
    #[default]
    PathPrefix,
    Exact,
}

impl GatewayPathType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PathPrefix => "PathPrefix",
            Self::Exact => "Exact",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct EndpointSpec {
    /// An IPv4 or IPv6 address; not loopback, link-local or multicast.
    #[schemars(length(min = 1))]
    pub ip: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// DNS-1123 label, unique; the PVC is `<exposure>-<name>`.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    /// Absolute path, unique.
    #[schemars(regex(pattern = r"^/"))]
    pub mount_path: String,
    pub size: Quantity,
    /// Default `[ReadWriteOnce]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<AccessMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// An existing StorageClass (mutually exclusive with `glusterfs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// A GlusterFS/heketi StorageClass the operator creates (mutually exclusive with
    /// `storageClassName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glusterfs: Option<GlusterfsClass>,
    /// What happens to the PVC when the Exposure is deleted or the volume removed from the
    /// spec: Retain (default; the data stays) or Delete.
    #[serde(default)]
    pub reclaim: VolumeReclaim,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum AccessMode {
    ReadWriteOnce,
    ReadOnlyMany,
    ReadWriteMany,
    ReadWriteOncePod,
}

impl AccessMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadWriteOnce => "ReadWriteOnce",
            Self::ReadOnlyMany => "ReadOnlyMany",
            Self::ReadWriteMany => "ReadWriteMany",
            Self::ReadWriteOncePod => "ReadWriteOncePod",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum VolumeReclaim {
    #[default]
    Retain,
    Delete,
}

impl VolumeReclaim {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retain => "Retain",
            Self::Delete => "Delete",
        }
    }
}

/// Parameters of the in-tree `kubernetes.io/glusterfs` provisioner (Kubernetes < 1.26).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GlusterfsClass {
    /// heketi REST URL, http(s).
    #[schemars(regex(pattern = r"^https?://[^\s]+$"))]
    pub resturl: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restauthenabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restuser: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Defaults to the Exposure's namespace; another namespace needs an operator flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusterid: Option<String>,
    /// e.g. `replicate:3`, `disperse:4:2`, `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumetype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2000, max = 2147483647))]
    pub gid_min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2000, max = 2147483647))]
    pub gid_max: Option<i64>,
    /// Name of the StorageClass (cluster-wide); default `<namespace>.<name>.<volume>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub class_name: Option<String>,
    /// Reclaim policy of the PVs this class provisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_policy: Option<PvReclaimPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_volume_expansion: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PvReclaimPolicy {
    Delete,
    Retain,
}

impl PvReclaimPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "Delete",
            Self::Retain => "Retain",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct QuotaSpec {
    /// Becomes the ResourceQuota's `spec.hard`, e.g. `{pods: "3", services: "1"}`. The
    /// ResourceQuota is made unless only `limits` is given.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hard: BTreeMap<String, Quantity>,
    /// A LimitRange `<name>` of type Container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsSpec>,
}

impl QuotaSpec {
    /// Whether a ResourceQuota is made: `hard` is set, or nothing else is (`quota: {}` made an
    /// empty ResourceQuota before `limits` existed, and still does).
    pub fn wants_resource_quota(&self) -> bool {
        !self.hard.is_empty() || self.limits.is_none()
    }
}

/// Observed state, written by the operator only.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExposureStatus {
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Reconciling, Stalled (kstatus) and Available, Exposed, StorageBound.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
    /// The one address a person would use (the first of `urls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Every address: one per host and path of the Ingress or the HTTPRoute; else `url` alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Addresses>,
    /// Children the operator manages now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceRef>,
    /// PVCs released by this Exposure (reclaim Retain) and not used by it now, and per-pod
    /// claims of StatefulSet replicas scaled away.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retained_volumes: Vec<RetainedVolume>,
    /// The workload kind running the pods: Deployment, StatefulSet or DaemonSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// What the HorizontalPodAutoscaler reports (with `spec.autoscaling`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<AutoscalerStatus>,
    /// What the PodDisruptionBudget reports (with `spec.disruption`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<DisruptionBudgetStatus>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalerStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_replicas: Option<i32>,
    /// Why the autoscaler cannot scale (its ScalingActive condition, e.g. no metrics), and
    /// whether `spec.replicas` is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisruptionBudgetStatus {
    /// Pods that may be evicted now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruptions_allowed: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_healthy: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_healthy: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Addresses {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_ip: Option<String>,
    /// In-cluster DNS name of the Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_ports: Vec<NodePortAddress>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancer: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePortAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub port: i32,
    pub node_port: i32,
}

#[derive(
    Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, JsonSchema,
)]
pub struct ResourceRef {
    pub kind: String,
    pub name: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetainedVolume {
    /// The PVC's name.
    pub name: String,
    /// The volume name in `spec.storage` it was released from.
    pub volume: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

/// Condition types (kstatus-compatible names).
pub mod condition {
    pub const READY: &str = "Ready";
    pub const RECONCILING: &str = "Reconciling";
    pub const STALLED: &str = "Stalled";
    pub const AVAILABLE: &str = "Available";
    pub const EXPOSED: &str = "Exposed";
    pub const STORAGE_BOUND: &str = "StorageBound";
}

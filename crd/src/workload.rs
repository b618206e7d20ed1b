//! How the pods run: the workload kind and what app teams add to a pod after image, ports and
//! probes (autoscaling, disruption budget, scheduling, security context, configuration files,
//! container limits of the namespace).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, KeyToPath, Toleration, TopologySpreadConstraint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cel;

/// The controller that runs the pods.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum WorkloadKind {
    /// Interchangeable replicas (the default).
    #[default]
    Deployment,
    /// Stable names (`<name>-0`, `<name>-1`, …) behind the headless Service, one volume per
    /// replica from `storage`.
    StatefulSet,
    /// One pod on every schedulable node; no `replicas`.
    DaemonSet,
}

impl WorkloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deployment => "Deployment",
            Self::StatefulSet => "StatefulSet",
            Self::DaemonSet => "DaemonSet",
        }
    }
}

/// StatefulSet settings (only with `workload: StatefulSet`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetSpec {
    /// OrderedReady (default: one pod at a time, in order) or Parallel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_management_policy: Option<PodManagementPolicy>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PodManagementPolicy {
    OrderedReady,
    Parallel,
}

impl PodManagementPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderedReady => "OrderedReady",
            Self::Parallel => "Parallel",
        }
    }
}

/// A HorizontalPodAutoscaler `<name>` (`autoscaling/v2`) for the Deployment or StatefulSet;
/// the operator then leaves `replicas` to it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalingSpec {
    #[schemars(range(min = 1))]
    pub min_replicas: i32,
    /// At least `minReplicas`.
    #[schemars(range(min = 1))]
    pub max_replicas: i32,
    /// Average CPU use across the pods, in percent of their CPU request. Default: 80 when
    /// neither target is set.
    #[serde(
        default,
        rename = "targetCPUUtilizationPercentage",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1, max = 1000))]
    pub target_cpu_utilization_percentage: Option<i32>,
    /// Average memory use across the pods, in percent of their memory request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub target_memory_utilization_percentage: Option<i32>,
}

/// A PodDisruptionBudget `<name>` over the pods: exactly one of the two.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisruptionSpec {
    /// Pods that must stay available during voluntary disruptions (a number or a percentage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrString>,
    /// Pods that may be unavailable during voluntary disruptions (a number or a percentage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
}

/// Where the pods may run, passed through to the pod spec as Kubernetes defines each field.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingSpec {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub tolerations: Vec<Toleration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub priority_class_name: Option<String>,
}

/// One configuration volume mounted into the container: exactly one of `configMap`, `secret`,
/// `emptyDir`. When the data of a referenced ConfigMap (or Secret, where the operator may read
/// Secrets) changes, the pods are rolled.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigVolume {
    /// The pod volume's name: a DNS-1123 label, unique among `config` and `storage`.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    /// Absolute path, unique among `config` and `storage`.
    #[schemars(regex(pattern = r"^/"))]
    pub mount_path: String,
    /// A ConfigMap of the Exposure's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub config_map: Option<String>,
    /// A Secret of the Exposure's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub secret: Option<String>,
    /// Scratch space that lives as long as the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDirSpec>,
    /// Only these keys, at these paths (ConfigMap and Secret only); default: every key as a
    /// file named after it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = cel::MAX_CONFIG_ITEMS))]
    pub items: Vec<KeyToPath>,
    /// Mount read-only (ConfigMap and Secret volumes are read-only anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDirSpec {
    /// The most the volume may hold, e.g. `64Mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<Quantity>,
    /// `Memory`: a tmpfs (counts against the container's memory); default: the node's disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<StorageMedium>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum StorageMedium {
    Memory,
}

impl StorageMedium {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "Memory",
        }
    }
}

/// A LimitRange `<name>` of type Container: per-container defaults and bounds the API server
/// applies to every pod of the namespace. Each field maps a resource (`cpu`, `memory`,
/// `ephemeral-storage`) to a quantity.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitsSpec {
    /// The limit a container gets when it sets none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub default: BTreeMap<String, Quantity>,
    /// The request a container gets when it sets none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub default_request: BTreeMap<String, Quantity>,
    /// The most a container may ask for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub max: BTreeMap<String, Quantity>,
    /// The least a container must ask for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub min: BTreeMap<String, Quantity>,
}

//! Kinds older clusters serve under an older API version with the same fields the operator
//! uses: `policy/v1beta1` PodDisruptionBudgets (before 1.21) and `autoscaling/v2beta2`
//! HorizontalPodAutoscalers (before 1.23). k8s-openapi no longer ships those versions; these
//! types carry the current spec and status under the old API version, so the same builder
//! output is applied, watched and read on both.

use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, HorizontalPodAutoscalerStatus,
};
use k8s_openapi::api::policy::v1::{
    PodDisruptionBudget, PodDisruptionBudgetSpec, PodDisruptionBudgetStatus,
};
use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// `policy/v1beta1` PodDisruptionBudget. On v1beta1 an empty selector selects nothing (on v1
/// every pod); the operator always sets one.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "policy",
    version = "v1beta1",
    kind = "PodDisruptionBudget",
    root = "LegacyPodDisruptionBudget",
    plural = "poddisruptionbudgets",
    namespaced,
    status = "PodDisruptionBudgetStatus",
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(transparent)]
pub struct LegacyPodDisruptionBudgetSpec(pub PodDisruptionBudgetSpec);

/// `autoscaling/v2beta2` HorizontalPodAutoscaler (the fields the operator sets are the same as
/// in v2).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "autoscaling",
    version = "v2beta2",
    kind = "HorizontalPodAutoscaler",
    root = "LegacyHorizontalPodAutoscaler",
    plural = "horizontalpodautoscalers",
    namespaced,
    status = "HorizontalPodAutoscalerStatus",
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(transparent)]
pub struct LegacyHorizontalPodAutoscalerSpec(pub HorizontalPodAutoscalerSpec);

impl From<PodDisruptionBudget> for LegacyPodDisruptionBudget {
    fn from(current: PodDisruptionBudget) -> Self {
        Self {
            metadata: current.metadata,
            spec: LegacyPodDisruptionBudgetSpec(current.spec.unwrap_or_default()),
            status: current.status,
        }
    }
}

impl From<LegacyPodDisruptionBudget> for PodDisruptionBudget {
    fn from(legacy: LegacyPodDisruptionBudget) -> Self {
        Self {
            metadata: legacy.metadata,
            spec: Some(legacy.spec.0),
            status: legacy.status,
        }
    }
}

impl From<HorizontalPodAutoscaler> for LegacyHorizontalPodAutoscaler {
    fn from(current: HorizontalPodAutoscaler) -> Self {
        Self {
            metadata: current.metadata,
            spec: LegacyHorizontalPodAutoscalerSpec(current.spec.unwrap_or_default()),
            status: current.status,
        }
    }
}

impl From<LegacyHorizontalPodAutoscaler> for HorizontalPodAutoscaler {
    fn from(legacy: LegacyHorizontalPodAutoscaler) -> Self {
        Self {
            metadata: legacy.metadata,
            spec: Some(legacy.spec.0),
            status: legacy.status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    #[test]
    fn legacy_kinds_serialise_under_their_old_api_version() {
        let pdb = PodDisruptionBudget {
            metadata: ObjectMeta {
                name: Some("web".into()),
                ..Default::default()
            },
            spec: Some(PodDisruptionBudgetSpec {
                min_available: Some(IntOrString::Int(1)),
                selector: Some(LabelSelector::default()),
                ..Default::default()
            }),
            status: None,
        };
        let legacy =
            serde_json::to_value(LegacyPodDisruptionBudget::from(pdb.clone())).expect("serialises");
        assert_eq!(legacy["apiVersion"], "policy/v1beta1");
        assert_eq!(legacy["kind"], "PodDisruptionBudget");
        assert_eq!(legacy["spec"]["minAvailable"], 1);
        let back: LegacyPodDisruptionBudget = serde_json::from_value(legacy).expect("deserialises");
        assert_eq!(PodDisruptionBudget::from(back), pdb);

        let hpa = HorizontalPodAutoscaler {
            spec: Some(HorizontalPodAutoscalerSpec {
                max_replicas: 4,
                ..Default::default()
            }),
            ..Default::default()
        };
        let legacy =
            serde_json::to_value(LegacyHorizontalPodAutoscaler::from(hpa)).expect("serialises");
        assert_eq!(legacy["apiVersion"], "autoscaling/v2beta2");
        assert_eq!(legacy["spec"]["maxReplicas"], 4);
    }
}

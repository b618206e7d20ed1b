//! The PodDisruptionBudget `<name>` over the Exposure's pods (`policy/v1`; `v1beta1` before
//! Kubernetes 1.21).

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::deployment::workload_kind;
use super::legacy::LegacyPodDisruptionBudget;
use super::meta::{owned_meta, selector_labels};
use crate::cluster::{ClusterInfo, Feature};
use crate::validate::Valid;

/// The budget, current or legacy by cluster version: at most one of the two is `Some`.
pub(crate) fn build_disruption_budget(
    valid: &Valid<'_>,
    cluster: &ClusterInfo,
) -> (
    Option<PodDisruptionBudget>,
    Option<LegacyPodDisruptionBudget>,
) {
    let spec = &valid.exposure.spec;
    let (Some(disruption), Some(_)) = (&spec.disruption, workload_kind(spec)) else {
        return (None, None);
    };
    let pdb = PodDisruptionBudget {
        metadata: owned_meta(valid, valid.name.to_owned()),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: disruption.min_available.clone(),
            max_unavailable: disruption.max_unavailable.clone(),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(valid.name)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    };
    if cluster.supports(Feature::PodDisruptionBudgetV1) {
        (Some(pdb), None)
    } else {
        (None, Some(pdb.into()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cluster::KubeVersion;
    use crate::fixtures::{valid_on, ExposureFixture};

    #[test]
    fn the_budget_selects_the_pods_under_the_version_the_cluster_serves() {
        let exposure = ExposureFixture::named("web")
            .spec(
                json!({"image": "nginx", "replicas": 3, "ports": [{"containerPort": 80}],
                         "disruption": {"maxUnavailable": "25%"}}),
            )
            .build();
        let current = ClusterInfo::default();
        let (pdb, legacy) = build_disruption_budget(&valid_on(&exposure, &current), &current);
        assert!(legacy.is_none());
        let value = serde_json::to_value(pdb.expect("a PDB")).expect("serialises");
        assert_eq!(value["apiVersion"], "policy/v1");
        assert_eq!(value["spec"]["maxUnavailable"], "25%");
        assert_eq!(
            value["spec"]["selector"]["matchLabels"]["exposure.dev/name"],
            "web"
        );
        assert_eq!(value["spec"].get("minAvailable"), None);

        let old = ClusterInfo::new(KubeVersion::new(1, 20));
        let (pdb, legacy) = build_disruption_budget(&valid_on(&exposure, &old), &old);
        assert!(pdb.is_none());
        let value = serde_json::to_value(legacy.expect("a legacy PDB")).expect("serialises");
        assert_eq!(value["apiVersion"], "policy/v1beta1");
        assert_eq!(value["spec"]["maxUnavailable"], "25%");
    }
}

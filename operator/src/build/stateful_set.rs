//! The StatefulSet `<name>`: stable pod names behind the headless Service `<name>-headless`,
//! one volume per pod from `storage`.

use exposure_crd::{StorageSpec, VolumeReclaim, WorkloadKind};
use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::config::ConfigDigests;
use super::deployment::{owned_replicas, workload_kind, workload_meta};
use super::meta::{headless_service_name, non_empty_vec, selector_labels};
use super::pod::{template, Claims};
use super::storage::claim_templates;
use crate::cluster::{ClusterInfo, Feature};
use crate::validate::Valid;

pub(crate) fn build_stateful_set(
    valid: &Valid<'_>,
    cluster: &ClusterInfo,
    config: &ConfigDigests,
) -> Option<StatefulSet> {
    let spec = &valid.exposure.spec;
    if workload_kind(spec) != Some(WorkloadKind::StatefulSet) {
        return None;
    }
    Some(StatefulSet {
        metadata: workload_meta(valid),
        spec: Some(StatefulSetSpec {
            replicas: owned_replicas(valid),
            selector: LabelSelector {
                match_labels: Some(selector_labels(valid.name)),
                ..LabelSelector::default()
            },
            service_name: Some(headless_service_name(valid.name)),
            pod_management_policy: spec
                .stateful_set
                .as_ref()
                .and_then(|s| s.pod_management_policy)
                .map(|policy| policy.as_str().to_owned()),
            template: template(valid, cluster, config, Claims::PerPod)?,
            volume_claim_templates: non_empty_vec(&claim_templates(valid)),
            persistent_volume_claim_retention_policy: (!spec.storage.is_empty()
                && cluster.supports(Feature::StatefulSetClaimRetention))
            .then(|| retention(&spec.storage)),
            ..StatefulSetSpec::default()
        }),
        status: None,
    })
}

/// The per-pod claims follow the volumes' `reclaim` (validate makes them agree): Retain keeps
/// every claim when the Exposure goes or the StatefulSet scales down, Delete deletes them.
fn retention(volumes: &[StorageSpec]) -> StatefulSetPersistentVolumeClaimRetentionPolicy {
    let policy = if volumes.iter().all(|v| v.reclaim == VolumeReclaim::Delete) {
        "Delete"
    } else {
        "Retain"
    };
    StatefulSetPersistentVolumeClaimRetentionPolicy {
        when_deleted: Some(policy.to_owned()),
        when_scaled: Some(policy.to_owned()),
    }
}

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::build::{build, ChildKind};
    use crate::cluster::KubeVersion;
    use crate::fixtures::{valid_on, ExposureFixture};

    fn database(reclaim: &str) -> exposure_crd::Exposure {
        ExposureFixture::named("db")
            .uid(Some("u-db"))
            .spec(json!({
                "image": "postgres:16",
                "replicas": 3,
                "workload": "StatefulSet",
                "statefulSet": {"podManagementPolicy": "Parallel"},
                "ports": [{"name": "pg", "containerPort": 5432}],
                "storage": [{"name": "data", "mountPath": "/var/lib/postgresql", "size": "5Gi",
                             "storageClassName": "fast", "reclaim": reclaim}],
            }))
            .build()
    }

    fn on(minor: u32) -> ClusterInfo {
        ClusterInfo::new(KubeVersion::new(1, minor))
    }

    #[test]
    fn volumes_become_claim_templates_behind_the_headless_service() {
        let exposure = database("Retain");
        let cluster = on(35);
        let set = build_stateful_set(
            &valid_on(&exposure, &cluster),
            &cluster,
            &ConfigDigests::default(),
        )
        .expect("a StatefulSet");
        let spec = set.spec.expect("spec");
        assert_eq!(spec.service_name.as_deref(), Some("db-headless"));
        assert_eq!(spec.replicas, Some(3));
        assert_eq!(spec.pod_management_policy.as_deref(), Some("Parallel"));
        let templates = spec.volume_claim_templates.expect("claim templates");
        assert_eq!(templates.len(), 1);
        let claim = &templates[0];
        assert_eq!(claim.metadata.name.as_deref(), Some("data"));
        let labels = claim.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels
                .get(exposure_crd::labels::PER_POD)
                .map(String::as_str),
            Some("true")
        );
        assert_eq!(
            labels.get(exposure_crd::labels::VOLUME).map(String::as_str),
            Some("data")
        );
        let claim_spec = claim.spec.clone().expect("claim spec");
        assert_eq!(claim_spec.storage_class_name.as_deref(), Some("fast"));
        // Pods mount the template by its name: no PVC volume in the pod template.
        let pod = spec.template.spec.expect("pod spec");
        assert!(pod.volumes.is_none(), "{:?}", pod.volumes);
        let mounts = pod.containers[0].volume_mounts.clone().unwrap_or_default();
        assert_eq!(mounts[0].name, "data");
        let retention = spec
            .persistent_volume_claim_retention_policy
            .expect("retention on 1.35");
        assert_eq!(retention.when_deleted.as_deref(), Some("Retain"));
        assert_eq!(retention.when_scaled.as_deref(), Some("Retain"));
    }

    #[test]
    fn reclaim_delete_deletes_per_pod_claims_and_old_clusters_get_no_policy() {
        let exposure = database("Delete");
        let cluster = on(35);
        let retention = build_stateful_set(
            &valid_on(&exposure, &cluster),
            &cluster,
            &ConfigDigests::default(),
        )
        .and_then(|s| s.spec)
        .and_then(|s| s.persistent_volume_claim_retention_policy)
        .expect("retention");
        assert_eq!(retention.when_deleted.as_deref(), Some("Delete"));
        assert_eq!(retention.when_scaled.as_deref(), Some("Delete"));

        let retain = database("Retain");
        let old = on(26);
        let set = build_stateful_set(&valid_on(&retain, &old), &old, &ConfigDigests::default())
            .expect("a StatefulSet");
        assert_eq!(
            set.spec
                .and_then(|s| s.persistent_volume_claim_retention_policy),
            None
        );
    }

    #[test]
    fn a_stateful_set_has_no_shared_claims_and_always_its_headless_service() {
        let exposure = database("Retain");
        let cluster = on(35);
        let refs: Vec<(ChildKind, String)> = build(&valid_on(&exposure, &cluster), &cluster)
            .in_apply_order()
            .iter()
            .map(|c| (c.kind(), c.name().to_owned()))
            .collect();
        assert_eq!(
            refs,
            [
                (ChildKind::StatefulSet, "db".to_owned()),
                (ChildKind::Service, "db".to_owned()),
                (ChildKind::Service, "db-headless".to_owned()),
            ]
        );
    }
}

//! The DaemonSet `<name>`: one pod on every schedulable node.

use exposure_crd::WorkloadKind;
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::config::ConfigDigests;
use super::deployment::workload_kind;
use super::meta::{owned_meta, selector_labels};
use super::pod::{template, Claims};
use crate::cluster::ClusterInfo;
use crate::validate::Valid;

pub(crate) fn build_daemon_set(
    valid: &Valid<'_>,
    cluster: &ClusterInfo,
    config: &ConfigDigests,
) -> Option<DaemonSet> {
    if workload_kind(&valid.exposure.spec) != Some(WorkloadKind::DaemonSet) {
        return None;
    }
    Some(DaemonSet {
        metadata: owned_meta(valid, valid.name.to_owned()),
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(selector_labels(valid.name)),
                ..LabelSelector::default()
            },
            template: template(valid, cluster, config, Claims::Shared)?,
            ..DaemonSetSpec::default()
        }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::{valid_on, ExposureFixture};

    #[test]
    fn one_pod_per_node_without_replicas() {
        let exposure = ExposureFixture::named("ingress-nginx")
            .spec(json!({
                "image": "registry.k8s.io/ingress-nginx/controller:v1.10.0",
                "workload": "DaemonSet",
                "ports": [{"name": "http", "containerPort": 80, "nodePort": 31188},
                          {"name": "https", "containerPort": 443, "nodePort": 31443}],
                "visibility": {"type": "NodePort"},
                "scheduling": {"tolerations": [{"key": "node-role.kubernetes.io/control-plane",
                                                 "operator": "Exists", "effect": "NoSchedule"}]},
            }))
            .build();
        let cluster = ClusterInfo::default();
        let set = build_daemon_set(
            &valid_on(&exposure, &cluster),
            &cluster,
            &ConfigDigests::default(),
        )
        .expect("a DaemonSet");
        let value = serde_json::to_value(&set).expect("serialises");
        assert_eq!(value["apiVersion"], "apps/v1");
        assert_eq!(value["kind"], "DaemonSet");
        assert_eq!(
            value["spec"]["selector"]["matchLabels"]["exposure.dev/name"],
            "ingress-nginx"
        );
        assert_eq!(value["spec"].get("replicas"), None);
        let pod = &value["spec"]["template"]["spec"];
        assert_eq!(
            pod["tolerations"][0]["key"],
            "node-role.kubernetes.io/control-plane"
        );
        assert_eq!(pod["containers"][0]["ports"][1]["containerPort"], 443);
    }
}

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

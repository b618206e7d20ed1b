//! The HorizontalPodAutoscaler `<name>` (`autoscaling/v2`; `v2beta2` before Kubernetes 1.23)
//! scaling the Deployment or StatefulSet between `minReplicas` and `maxReplicas`.

use exposure_crd::{AutoscalingSpec, WorkloadKind};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};

use super::deployment::workload_kind;
use super::legacy::LegacyHorizontalPodAutoscaler;
use super::meta::owned_meta;
use crate::cluster::{ClusterInfo, Feature};
use crate::validate::Valid;

/// CPU utilisation target when the spec names none (the Kubernetes default).
pub const DEFAULT_CPU_UTILIZATION: i32 = 80;

/// The autoscaler, current or legacy by cluster version: exactly one of the two is `Some`.
pub(crate) fn build_autoscaler(
    valid: &Valid<'_>,
    cluster: &ClusterInfo,
) -> (
    Option<HorizontalPodAutoscaler>,
    Option<LegacyHorizontalPodAutoscaler>,
) {
    let Some(hpa) = autoscaler(valid) else {
        return (None, None);
    };
    if cluster.supports(Feature::AutoscalingV2) {
        (Some(hpa), None)
    } else {
        (None, Some(hpa.into()))
    }
}

fn autoscaler(valid: &Valid<'_>) -> Option<HorizontalPodAutoscaler> {
    let spec = &valid.exposure.spec;
    let scaling = spec.autoscaling.as_ref()?;
    let target_kind = match workload_kind(spec)? {
        WorkloadKind::Deployment => "Deployment",
        WorkloadKind::StatefulSet => "StatefulSet",
        // Validate refuses autoscaling for a DaemonSet.
        WorkloadKind::DaemonSet => return None,
    };
    Some(HorizontalPodAutoscaler {
        metadata: owned_meta(valid, valid.name.to_owned()),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".to_owned()),
                kind: target_kind.to_owned(),
                name: valid.name.to_owned(),
            },
            min_replicas: Some(scaling.min_replicas),
            max_replicas: scaling.max_replicas,
            metrics: Some(metrics(scaling)),
            ..HorizontalPodAutoscalerSpec::default()
        }),
        status: None,
    })
}

fn metrics(scaling: &AutoscalingSpec) -> Vec<MetricSpec> {
    let cpu = match (
        scaling.target_cpu_utilization_percentage,
        scaling.target_memory_utilization_percentage,
    ) {
        (None, None) => Some(DEFAULT_CPU_UTILIZATION),
        (cpu, _) => cpu,
    };
    [
        ("cpu", cpu),
        ("memory", scaling.target_memory_utilization_percentage),
    ]
    .into_iter()
    .filter_map(|(resource, target)| {
        Some(MetricSpec {
            type_: "Resource".to_owned(),
            resource: Some(ResourceMetricSource {
                name: resource.to_owned(),
                target: MetricTarget {
                    type_: "Utilization".to_owned(),
                    average_utilization: Some(target?),
                    ..MetricTarget::default()
                },
            }),
            ..MetricSpec::default()
        })
    })
    .collect()
}

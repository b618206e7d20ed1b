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

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::cluster::KubeVersion;
    use crate::fixtures::{valid_on, ExposureFixture};

    fn autoscaled(scaling: Value, workload: &str) -> exposure_crd::Exposure {
        ExposureFixture::named("web")
            .uid(Some("u"))
            .spec(json!({
                "image": "nginx:1.25", "workload": workload,
                "ports": [{"containerPort": 80}], "autoscaling": scaling,
            }))
            .build()
    }

    #[test]
    fn cpu_80_percent_unless_a_target_is_given() {
        let cluster = ClusterInfo::default();
        let exposure = autoscaled(json!({"minReplicas": 2, "maxReplicas": 5}), "Deployment");
        let (hpa, legacy) = build_autoscaler(&valid_on(&exposure, &cluster), &cluster);
        assert!(legacy.is_none());
        let value = serde_json::to_value(hpa.expect("an HPA")).expect("serialises");
        assert_eq!(value["apiVersion"], "autoscaling/v2");
        assert_eq!(
            value["spec"]["scaleTargetRef"],
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"})
        );
        assert_eq!(value["spec"]["minReplicas"], 2);
        assert_eq!(value["spec"]["maxReplicas"], 5);
        assert_eq!(
            value["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80}}}])
        );

        let memory_only = autoscaled(
            json!({"minReplicas": 1, "maxReplicas": 3, "targetMemoryUtilizationPercentage": 70}),
            "StatefulSet",
        );
        let (hpa, _) = build_autoscaler(&valid_on(&memory_only, &cluster), &cluster);
        let value = serde_json::to_value(hpa.expect("an HPA")).expect("serialises");
        assert_eq!(value["spec"]["scaleTargetRef"]["kind"], "StatefulSet");
        assert_eq!(value["spec"]["metrics"].as_array().map(Vec::len), Some(1));
        assert_eq!(value["spec"]["metrics"][0]["resource"]["name"], "memory");
    }

    #[test]
    fn clusters_before_1_23_get_v2beta2() {
        let cluster = ClusterInfo::new(KubeVersion::new(1, 20));
        let exposure = autoscaled(
            json!({"minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 60}),
            "Deployment",
        );
        let (hpa, legacy) = build_autoscaler(&valid_on(&exposure, &cluster), &cluster);
        assert!(hpa.is_none());
        let value = serde_json::to_value(legacy.expect("a legacy HPA")).expect("serialises");
        assert_eq!(value["apiVersion"], "autoscaling/v2beta2");
        assert_eq!(
            value["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            60
        );
    }
}

//! The LimitRange `<name>` (`spec.quota.limits`): per-container defaults and bounds of the
//! namespace.

use k8s_openapi::api::core::v1::{LimitRange, LimitRangeItem, LimitRangeSpec};

use super::meta::{non_empty_map, owned_meta};
use crate::validate::Valid;

pub(crate) fn build_limit_range(valid: &Valid<'_>) -> Option<LimitRange> {
    let limits = valid.exposure.spec.quota.as_ref()?.limits.as_ref()?;
    Some(LimitRange {
        metadata: owned_meta(valid, valid.name.to_owned()),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".to_owned(),
                default: non_empty_map(&limits.default),
                default_request: non_empty_map(&limits.default_request),
                max: non_empty_map(&limits.max),
                min: non_empty_map(&limits.min),
                ..LimitRangeItem::default()
            }],
        }),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::build::{build, ChildKind};
    use crate::fixtures::{valid, ExposureFixture};

    #[test]
    fn container_limits_and_the_quota_when_hard_is_given() {
        let exposure = ExposureFixture::named("web")
            .spec(json!({"image": "nginx", "ports": [{"containerPort": 80}],
                "quota": {"hard": {"pods": "3"}, "limits": {
                    "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "100m"},
                    "max": {"cpu": "2", "memory": "1Gi"}}}}))
            .build();
        let valid = valid(&exposure);
        let value = serde_json::to_value(build_limit_range(&valid).expect("a LimitRange"))
            .expect("serialises");
        assert_eq!(
            value["spec"]["limits"],
            json!([{"type": "Container", "default": {"cpu": "500m"},
                    "defaultRequest": {"cpu": "100m"}, "max": {"cpu": "2", "memory": "1Gi"}}])
        );
        let kinds: Vec<ChildKind> = build(&valid, &crate::fixtures::old_cluster())
            .in_apply_order()
            .iter()
            .map(|c| c.kind())
            .collect();
        assert_eq!(
            kinds,
            [
                ChildKind::ResourceQuota,
                ChildKind::LimitRange,
                ChildKind::Deployment,
                ChildKind::Service
            ]
        );
    }

    #[test]
    fn limits_alone_make_no_resource_quota() {
        let exposure = ExposureFixture::named("web")
            .spec(json!({"image": "nginx", "ports": [{"containerPort": 80}],
                "quota": {"limits": {"max": {"memory": "1Gi"}}}}))
            .build();
        let children = build(&valid(&exposure), &crate::fixtures::old_cluster());
        assert!(children.resource_quota.is_none());
        assert!(children.limit_range.is_some());
    }
}

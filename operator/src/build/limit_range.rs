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

//! The ResourceQuota `<name>`: `spec.hard` as given.

use k8s_openapi::api::core::v1::{ResourceQuota, ResourceQuotaSpec};

use super::meta::owned_meta;
use crate::validate::Valid;

pub(crate) fn build_resource_quota(valid: &Valid<'_>) -> Option<ResourceQuota> {
    let quota = valid
        .exposure
        .spec
        .quota
        .as_ref()
        .filter(|q| q.wants_resource_quota())?;
    Some(ResourceQuota {
        metadata: owned_meta(valid, valid.name.to_owned()),
        spec: Some(ResourceQuotaSpec {
            hard: Some(quota.hard.clone()),
            ..ResourceQuotaSpec::default()
        }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use exposure_crd::{ExposureSpec, QuotaSpec};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

    use super::*;
    use crate::build::meta::child_labels;
    use crate::build::meta::tests::{app_spec, new_exposure, valid};

    #[test]
    fn quota_copies_hard_limits() {
        let hard = BTreeMap::from([
            ("pods".to_owned(), Quantity("3".into())),
            ("services".to_owned(), Quantity("1".into())),
        ]);
        let spec = ExposureSpec {
            quota: Some(QuotaSpec {
                hard: hard.clone(),
                limits: None,
            }),
            ..app_spec()
        };
        let exposure = new_exposure(Some("test"), Some("uid"), spec);
        let quota = build_resource_quota(&valid(&exposure)).unwrap();
        assert_eq!(quota.metadata.name.as_deref(), Some("web"));
        assert_eq!(quota.metadata.namespace.as_deref(), Some("test"));
        assert_eq!(quota.metadata.labels, Some(child_labels("web")));
        assert!(quota.metadata.owner_references.is_some());
        assert_eq!(quota.spec.unwrap().hard, Some(hard));
    }

    #[test]
    fn no_quota_unless_asked() {
        let exposure = new_exposure(None, None, app_spec());
        assert_eq!(build_resource_quota(&valid(&exposure)), None);
    }
}

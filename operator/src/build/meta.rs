//! Names, labels and ownership shared by every child object.

use std::collections::BTreeMap;

use exposure_crd::{labels, StorageSpec, GROUP, VERSION};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::validate::Valid;

/// Namespace used in generated names and labels when the Exposure has none (a file given to
/// `render`): the namespace `kubectl apply` would use by default.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Labels every child carries: the recommended app labels plus the ownership label.
pub fn child_labels(name: &str) -> BTreeMap<String, String> {
    let mut child = selector_labels(name);
    child.insert(labels::APP_NAME.to_owned(), name.to_owned());
    child.insert(labels::APP_INSTANCE.to_owned(), name.to_owned());
    child.insert(labels::MANAGED_BY.to_owned(), labels::MANAGER.to_owned());
    child
}

/// The pod selector of the Deployment and the Services: `exposure.dev/name: <name>` only, so
/// that user-chosen pod labels can never change which pods are selected.
pub fn selector_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(labels::NAME.to_owned(), name.to_owned())])
}

/// The PersistentVolumeClaim of one `spec.storage[]` entry.
pub fn pvc_name(exposure: &str, volume: &str) -> String {
    format!("{exposure}-{volume}")
}

/// The PVC the StatefulSet controller makes for `volume` of pod `ordinal`.
pub fn per_pod_pvc_name(exposure: &str, volume: &str, ordinal: i32) -> String {
    format!("{volume}-{exposure}-{ordinal}")
}

/// The StorageClass made for a `glusterfs` volume: `glusterfs.className`, or
/// `<namespace>.<exposure>.<volume>` (cluster-wide, so the namespace keeps it unique).
pub fn storage_class_name(namespace: Option<&str>, exposure: &str, volume: &StorageSpec) -> String {
    match volume
        .glusterfs
        .as_ref()
        .and_then(|gluster| gluster.class_name.as_deref())
    {
        Some(class_name) => class_name.to_owned(),
        None => format!(
            "{}.{exposure}.{}",
            effective_namespace(namespace),
            volume.name
        ),
    }
}

/// The second Service made when `headless: true`.
pub fn headless_service_name(name: &str) -> String {
    format!("{name}-headless")
}

/// The namespace the Exposure lives in, or would live in once applied without `-n`.
pub(crate) fn effective_namespace(namespace: Option<&str>) -> &str {
    namespace.unwrap_or(DEFAULT_NAMESPACE)
}

/// The controller reference to the Exposure; none without a uid (objects read from a file).
pub(crate) fn owner_reference(valid: &Valid<'_>) -> Option<OwnerReference> {
    let uid = valid.exposure.metadata.uid.as_ref()?;
    Some(OwnerReference {
        api_version: format!("{GROUP}/{VERSION}"),
        kind: "Exposure".to_owned(),
        name: valid.name.to_owned(),
        uid: uid.clone(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    })
}

/// Metadata of a namespaced child: its name, the Exposure's namespace, the child labels and
/// the controller reference.
pub(crate) fn owned_meta(valid: &Valid<'_>, name: String) -> ObjectMeta {
    ObjectMeta {
        owner_references: owner_reference(valid).map(|owner| vec![owner]),
        ..unowned_meta(valid, name)
    }
}

/// Like [`owned_meta`] without the ownerReference: for children that must outlive the
/// Exposure (PVCs with reclaim Retain).
pub(crate) fn unowned_meta(valid: &Valid<'_>, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: valid.namespace.map(str::to_owned),
        labels: Some(child_labels(valid.name)),
        ..ObjectMeta::default()
    }
}

/// `None` for an empty map, so that empty maps are left out of the rendered object.
pub(crate) fn non_empty_map<V: Clone>(map: &BTreeMap<String, V>) -> Option<BTreeMap<String, V>> {
    (!map.is_empty()).then(|| map.clone())
}

/// `None` for an empty list, so that empty lists are left out of the rendered object.
pub(crate) fn non_empty_vec<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

#[cfg(test)]
pub(crate) mod tests {
    use exposure_crd::GlusterfsClass;

    use super::*;

    pub(crate) use crate::fixtures::{app_spec, new_exposure, valid};

    #[test]
    fn child_labels_are_the_app_labels_plus_the_selector() {
        let labels = child_labels("web");
        assert_eq!(labels.len(), 4);
        assert_eq!(labels["app.kubernetes.io/name"], "web");
        assert_eq!(labels["app.kubernetes.io/instance"], "web");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "exposure-operator");
        assert_eq!(labels["exposure.dev/name"], "web");
        assert_eq!(
            selector_labels("web"),
            BTreeMap::from([("exposure.dev/name".to_owned(), "web".to_owned())])
        );
    }

    #[test]
    fn names_follow_the_exposure() {
        assert_eq!(pvc_name("web", "data"), "web-data");
        assert_eq!(headless_service_name("web"), "web-headless");
    }

    #[test]
    fn storage_class_name_defaults_to_namespace_name_volume() {
        let mut volume = StorageSpec {
            name: "data".into(),
            glusterfs: Some(GlusterfsClass::default()),
            ..Default::default()
        };
        assert_eq!(
            storage_class_name(Some("shop"), "web", &volume),
            "shop.web.data"
        );
        assert_eq!(storage_class_name(None, "web", &volume), "default.web.data");
        volume.glusterfs = Some(GlusterfsClass {
            class_name: Some("gluster-heketi".into()),
            ..Default::default()
        });
        assert_eq!(
            storage_class_name(Some("shop"), "web", &volume),
            "gluster-heketi"
        );
    }

    #[test]
    fn owner_reference_needs_a_uid() {
        let from_file = new_exposure(Some("shop"), None, app_spec());
        assert_eq!(owner_reference(&valid(&from_file)), None);
        assert_eq!(
            owned_meta(&valid(&from_file), "web".into()).owner_references,
            None
        );

        let live = new_exposure(Some("shop"), Some("1234"), app_spec());
        let owner = owner_reference(&valid(&live)).expect("uid given");
        assert_eq!(owner.api_version, "exposure.dev/v1alpha1");
        assert_eq!(owner.kind, "Exposure");
        assert_eq!(owner.name, "web");
        assert_eq!(owner.uid, "1234");
        assert_eq!(owner.controller, Some(true));
        assert_eq!(owner.block_owner_deletion, Some(true));
    }

    #[test]
    fn metadata_carries_namespace_labels_and_owner() {
        let live = new_exposure(Some("shop"), Some("1234"), app_spec());
        let meta = owned_meta(&valid(&live), "web-data".into());
        assert_eq!(meta.name.as_deref(), Some("web-data"));
        assert_eq!(meta.namespace.as_deref(), Some("shop"));
        assert_eq!(meta.labels, Some(child_labels("web")));
        assert_eq!(meta.owner_references.map(|refs| refs.len()), Some(1));
        assert_eq!(
            unowned_meta(&valid(&live), "web-data".into()).owner_references,
            None
        );

        let from_file = new_exposure(None, None, app_spec());
        assert_eq!(owned_meta(&valid(&from_file), "web".into()).namespace, None);
    }
}

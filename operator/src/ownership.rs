//! Which objects are ours. An object is managed by an Exposure only when it carries our
//! labels for it; an object of the same name without them (a user's own Service, or one whose
//! labels were stripped by hand) is never touched.

use exposure_crd::labels;
use kube::api::ObjectMeta;

/// Labelled `managed-by: exposure-operator` and `exposure.dev/name: <name>`.
pub fn labelled_for(meta: &ObjectMeta, name: &str) -> bool {
    let l = meta.labels.as_ref();
    let get = |k: &str| l.and_then(|l| l.get(k)).map(String::as_str);
    get(labels::MANAGED_BY) == Some(labels::MANAGER) && get(labels::NAME) == Some(name)
}

/// A cluster-scoped child (StorageClass) labelled for the Exposure `namespace/name`.
pub fn cluster_labelled_for(meta: &ObjectMeta, namespace: &str, name: &str) -> bool {
    labelled_for(meta, name)
        && meta
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::NAMESPACE))
            .map(String::as_str)
            == Some(namespace)
}

/// A PVC released (reclaim Retain) by the Exposure `name` of its namespace.
pub fn retained_from(meta: &ObjectMeta, name: &str) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(labels::RETAINED_FROM))
        .map(String::as_str)
        == Some(name)
}

/// A StatefulSet's per-pod claim (made by its controller from our claim template).
pub fn per_pod_claim(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(labels::PER_POD))
        .map(String::as_str)
        == Some("true")
}

/// Has a controller ownerReference to the object with this uid.
pub fn controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|r| r.controller == Some(true) && r.uid == uid)
}

/// Where the object carries our labels at all (for mapping watch events to an Exposure).
pub fn exposure_name(meta: &ObjectMeta) -> Option<&str> {
    let l = meta.labels.as_ref()?;
    (l.get(labels::MANAGED_BY).map(String::as_str) == Some(labels::MANAGER))
        .then(|| l.get(labels::NAME).map(String::as_str))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn meta(pairs: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            labels: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn ours_needs_both_labels() {
        let ours = meta(&[(labels::MANAGED_BY, labels::MANAGER), (labels::NAME, "web")]);
        assert!(labelled_for(&ours, "web"));
        assert!(!labelled_for(&ours, "other"));
        assert!(!labelled_for(&meta(&[(labels::NAME, "web")]), "web"));
        assert!(!labelled_for(&ObjectMeta::default(), "web"));
        assert_eq!(exposure_name(&ours), Some("web"));
        assert_eq!(exposure_name(&meta(&[(labels::NAME, "web")])), None);
    }

    #[test]
    fn cluster_children_also_need_the_namespace() {
        let sc = meta(&[
            (labels::MANAGED_BY, labels::MANAGER),
            (labels::NAME, "web"),
            (labels::NAMESPACE, "shop"),
        ]);
        assert!(cluster_labelled_for(&sc, "shop", "web"));
        assert!(!cluster_labelled_for(&sc, "other", "web"));
    }
}

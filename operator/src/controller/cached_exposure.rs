//! The Exposure cache the controller schedules from. Per Exposure it holds what is read before
//! a reconcile starts (its key, whether it is settled, which ConfigMaps and Secrets it mounts)
//! and the whole object compacted (see `compact`), decoded once the reconcile holds a lane.
//! A typed Exposure with its status costs about four times its compressed text, and the
//! controller keeps every Exposure of its scope.

use std::borrow::Cow;

use exposure_crd::Exposure;
use k8s_openapi::NamespaceResourceScope;
use kube::api::ObjectMeta;
use kube::runtime::reflector::ObjectRef;
use kube::Resource;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::compact::Compact;
use crate::build::{config_sources, ConfigSource};

/// The key of an Exposure in the controller's queue and cache.
pub type ExposureRef = ObjectRef<CachedExposure>;

/// One cached Exposure.
#[derive(Clone, Debug)]
pub struct CachedExposure {
    /// Name, namespace, uid, resourceVersion, generation and deletionTimestamp only.
    metadata: ObjectMeta,
    observed_generation: Option<i64>,
    mounts: Box<[ConfigSource]>,
    object: Compact<Exposure>,
}

impl CachedExposure {
    /// `None` only for an Exposure without a name (none comes from a watch).
    pub fn new(exposure: &Exposure) -> Option<Self> {
        let meta = &exposure.metadata;
        Some(Self {
            metadata: ObjectMeta {
                name: meta.name.clone(),
                namespace: meta.namespace.clone(),
                uid: meta.uid.clone(),
                resource_version: meta.resource_version.clone(),
                generation: meta.generation,
                deletion_timestamp: meta.deletion_timestamp.clone(),
                ..ObjectMeta::default()
            },
            observed_generation: exposure.status.as_ref().and_then(|s| s.observed_generation),
            mounts: config_sources(&exposure.spec).into_boxed_slice(),
            object: Compact::new(exposure)?,
        })
    }

    /// The Exposure as the watch delivered it (managedFields aside). `None` only if the cached
    /// text does not read back, which `compact` logs.
    pub fn exposure(&self) -> Option<Exposure> {
        self.object.object()
    }

    /// New, changed since its status last observed it, or being deleted: not settled.
    pub fn is_changed(&self) -> bool {
        self.metadata.deletion_timestamp.is_some()
            || self.observed_generation != self.metadata.generation
    }

    /// Whether its `spec.config` mounts `source`.
    pub fn mounts(&self, source: &ConfigSource) -> bool {
        self.mounts.contains(source)
    }
}

/// The key of the Exposure (or cached Exposure) `resource`.
pub fn key_of(resource: &impl Resource) -> ExposureRef {
    let meta = resource.meta();
    let key = ObjectRef::new(meta.name.as_deref().unwrap_or_default());
    match meta.namespace.as_deref() {
        Some(namespace) => key.within(namespace),
        None => key,
    }
}

impl Resource for CachedExposure {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        Exposure::kind(&())
    }

    fn group(_: &()) -> Cow<'_, str> {
        Exposure::group(&())
    }

    fn version(_: &()) -> Cow<'_, str> {
        Exposure::version(&())
    }

    fn plural(_: &()) -> Cow<'_, str> {
        Exposure::plural(&())
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// Read as an Exposure, then cached (kube's controller asks its object type to be readable).
impl<'de> Deserialize<'de> for CachedExposure {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let exposure = Exposure::deserialize(deserializer)?;
        Self::new(&exposure).ok_or_else(|| D::Error::custom("an Exposure without a name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::exposure_from;
    use serde_json::json;

    #[test]
    fn the_exposure_reads_back_whole() {
        let exposure = exposure_from(json!({
            "metadata": {"name": "web", "namespace": "shop", "generation": 3, "uid": "u-1",
                         "labels": {"team": "a"}, "annotations": {"note": "kept"}},
            "spec": {"image": "nginx", "config": [{"name": "settings", "configMap": "settings", "mountPath": "/etc/web"}]},
            "status": {"observedGeneration": 2}
        }));
        let cached = CachedExposure::new(&exposure).expect("a named Exposure caches");
        let read_back = cached.exposure().expect("reads back");
        assert_eq!(
            serde_json::to_value(read_back).expect("serialises"),
            serde_json::to_value(&exposure).expect("serialises")
        );
        assert_eq!(cached.meta().uid.as_deref(), Some("u-1"));
        assert_eq!(cached.meta().labels, None);
        assert!(cached.mounts(&ConfigSource::ConfigMap("settings".into())));
        assert!(!cached.mounts(&ConfigSource::Secret("settings".into())));
        assert_eq!(key_of(&cached), ObjectRef::new("web").within("shop"));
    }

    #[test]
    fn new_changed_and_deleting_exposures_are_not_settled() {
        let at = |generation: i64, observed: Option<i64>, deleting: bool| {
            let mut value = json!({"metadata": {"name": "web", "namespace": "shop", "generation": generation},
                                   "spec": {}});
            if let Some(observed) = observed {
                value["status"] = json!({"observedGeneration": observed});
            }
            if deleting {
                value["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
            }
            CachedExposure::new(&exposure_from(value))
                .expect("a named Exposure caches")
                .is_changed()
        };
        assert!(at(1, None, false), "new");
        assert!(at(2, Some(1), false), "changed");
        assert!(at(2, Some(2), true), "deleting");
        assert!(!at(2, Some(2), false), "settled");
    }
}

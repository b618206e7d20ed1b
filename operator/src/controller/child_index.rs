//! Which cached objects belong to which Exposure, kept beside each cache from the same watch
//! events, so that a reconcile looks up its own children, pods and claims instead of scanning
//! every object of the cache (a scan per reconcile is O(N²) per wave of N Exposures).
//!
//! An object belongs to the Exposure its labels name (`exposure.dev/name`, or
//! `exposure.dev/retained-from` on a released PVC), else the Exposure that controls it (a child
//! whose label was removed by hand must still be found, and reported as not ours). The callers
//! still check ownership exactly as before; the index only narrows where they look.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use exposure_crd::labels;
use kube::api::ObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::Resource;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::compact::Compact;

/// An Exposure: namespace and name.
type Owner = (String, String);
/// A cached object: namespace (none for a cluster-scoped one) and name.
type Key = (Option<String>, String);

#[derive(Default)]
struct Maps {
    /// A list, not a set: an Exposure has a handful of objects per kind (a set's table costs
    /// more than the keys), and removal scans only that handful.
    by_owner: HashMap<Owner, Vec<Key>>,
    owner_of: HashMap<Key, Owner>,
}

impl Maps {
    fn insert(&mut self, key: Key, owner: Option<Owner>) {
        self.remove(&key);
        if let Some(owner) = owner {
            self.by_owner
                .entry(owner.clone())
                .or_default()
                .push(key.clone());
            self.owner_of.insert(key, owner);
        }
    }

    fn remove(&mut self, key: &Key) {
        if let Some(owner) = self.owner_of.remove(key) {
            if let Some(keys) = self.by_owner.get_mut(&owner) {
                keys.retain(|k| k != key);
                if keys.is_empty() {
                    self.by_owner.remove(&owner);
                }
            }
        }
    }
}

/// The index of one cache.
#[derive(Default)]
pub struct ChildIndex {
    maps: Mutex<Maps>,
    /// A relist in progress (`Init` … `InitDone`): the new maps, swapped in when complete, as
    /// the reflector swaps its store.
    relist: Mutex<Option<Maps>>,
}

impl ChildIndex {
    /// Follows one watch event, as the reflector applies it to the store.
    pub fn observe<K: Resource>(&self, event: &watcher::Event<K>) {
        match event {
            watcher::Event::Apply(object) => {
                lock(&self.maps).insert(key(object), owner(object.meta()))
            }
            watcher::Event::Delete(object) => lock(&self.maps).remove(&key(object)),
            watcher::Event::Init => *lock(&self.relist) = Some(Maps::default()),
            watcher::Event::InitApply(object) => {
                if let Some(maps) = lock(&self.relist).as_mut() {
                    maps.insert(key(object), owner(object.meta()));
                }
            }
            watcher::Event::InitDone => {
                if let Some(maps) = lock(&self.relist).take() {
                    *lock(&self.maps) = maps;
                }
            }
        }
    }

    /// The objects of the Exposure `namespace/name`.
    fn keys(&self, namespace: &str, name: &str) -> Vec<Key> {
        lock(&self.maps)
            .by_owner
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(|keys| keys.to_vec())
            .unwrap_or_default()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain maps behind, still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn key<K: Resource>(object: &K) -> Key {
    let meta = object.meta();
    (
        meta.namespace.clone(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// The Exposure an object belongs to (see the module comment). Cluster-scoped objects name
/// their Exposure's namespace in `exposure.dev/namespace`.
pub fn owner(meta: &ObjectMeta) -> Option<Owner> {
    let labels = meta.labels.as_ref();
    let namespace = meta
        .namespace
        .clone()
        .or_else(|| labels.and_then(|l| l.get(labels::NAMESPACE)).cloned())?;
    let by_label =
        labels.and_then(|l| l.get(labels::NAME).or_else(|| l.get(labels::RETAINED_FROM)));
    let by_owner = || {
        meta.owner_references.iter().flatten().find(|r| {
            r.controller == Some(true)
                && r.kind == "Exposure"
                && r.api_version
                    .starts_with(&format!("{}/", exposure_crd::GROUP))
        })
    };
    let name = match by_label {
        Some(name) => name.clone(),
        None => by_owner()?.name.clone(),
    };
    Some((namespace, name))
}

/// A cache, its objects held compact (see `compact`), with its index.
pub struct Indexed<K: Resource<DynamicType = ()> + 'static> {
    pub store: Store<Compact<K>>,
    pub index: Arc<ChildIndex>,
}

impl<K: Resource<DynamicType = ()> + 'static> Clone for Indexed<K> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            index: self.index.clone(),
        }
    }
}

impl<K> Indexed<K>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + 'static,
{
    /// The cached objects of the Exposure `namespace/name`.
    pub fn of(&self, namespace: &str, name: &str) -> Vec<K> {
        self.owned_by(namespace, name, Compact::object)
    }

    /// The cached object `namespace/name` (`None`: cluster-scoped).
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<K> {
        self.cached(namespace, name)?.object()
    }

    /// The cached object `namespace/name`, as JSON.
    pub fn value(&self, namespace: Option<&str>, name: &str) -> Option<serde_json::Value> {
        self.cached(namespace, name)?.value()
    }

    /// Metadata of the cached objects of the Exposure `namespace/name`.
    pub fn metas_of(&self, namespace: &str, name: &str) -> Vec<ObjectMeta> {
        self.owned_by(namespace, name, Compact::meta)
    }

    /// What `read` decodes of each cached object of the Exposure `namespace/name`.
    fn owned_by<T>(
        &self,
        namespace: &str,
        name: &str,
        read: impl Fn(&Compact<K>) -> Option<T>,
    ) -> Vec<T> {
        self.index
            .keys(namespace, name)
            .into_iter()
            .filter_map(|(ns, object)| self.cached(ns.as_deref(), &object))
            .filter_map(|cached| read(&cached))
            .collect()
    }

    /// Every cached object (decoded: O(objects); for the sweep and other rare scans).
    pub fn objects(&self) -> Vec<K> {
        self.store
            .state()
            .iter()
            .filter_map(|cached| cached.object())
            .collect()
    }

    /// The objects whose JSON contains `needle`, decoded: a scan that decodes only the
    /// candidates (the caller still checks each with the typed object).
    pub fn objects_mentioning(&self, needle: &str) -> Vec<K> {
        self.store
            .state()
            .iter()
            .filter(|cached| cached.mentions(needle))
            .filter_map(|cached| cached.object())
            .collect()
    }

    /// Waits until the cache holds its initial list.
    pub async fn synced(&self) {
        super::caches::synced(&self.store).await;
    }

    fn cached(&self, namespace: Option<&str>, name: &str) -> Option<Arc<Compact<K>>> {
        let mut key = ObjectRef::<Compact<K>>::new(name);
        if let Some(ns) = namespace {
            key = key.within(ns);
        }
        self.store.get(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use serde_json::json;

    fn pod(name: &str, exposure: Option<&str>) -> Pod {
        crate::fixtures::object(json!({"metadata": {"name": name, "namespace": "shop",
            "labels": exposure.map(|e| json!({labels::NAME: e})).unwrap_or(json!({}))}}))
    }

    fn names(index: &ChildIndex, exposure: &str) -> Vec<String> {
        let mut names: Vec<String> = index
            .keys("shop", exposure)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_index_follows_applies_deletes_relabels_and_relists() {
        let index = ChildIndex::default();
        index.observe(&watcher::Event::Apply(pod("web-1", Some("web"))));
        index.observe(&watcher::Event::Apply(pod("web-2", Some("web"))));
        index.observe(&watcher::Event::Apply(pod("api-1", Some("api"))));
        index.observe(&watcher::Event::Apply(pod("stray", None)));
        assert_eq!(names(&index, "web"), ["web-1", "web-2"]);
        // Relabelled to another Exposure: it moves.
        index.observe(&watcher::Event::Apply(pod("web-2", Some("api"))));
        assert_eq!(names(&index, "web"), ["web-1"]);
        assert_eq!(names(&index, "api"), ["api-1", "web-2"]);
        index.observe(&watcher::Event::Delete(pod("web-1", Some("web"))));
        assert!(names(&index, "web").is_empty());
        // A relist replaces everything once complete, not before.
        index.observe(&watcher::Event::<Pod>::Init);
        index.observe(&watcher::Event::InitApply(pod("web-9", Some("web"))));
        assert_eq!(names(&index, "api"), ["api-1", "web-2"]);
        index.observe(&watcher::Event::<Pod>::InitDone);
        assert_eq!(names(&index, "web"), ["web-9"]);
        assert!(names(&index, "api").is_empty());
    }

    #[test]
    fn owners_come_from_labels_then_the_controller_reference() {
        let released: ObjectMeta =
            crate::fixtures::object(json!({"name": "web-data", "namespace": "shop",
            "labels": {labels::RETAINED_FROM: "web"}}));
        assert_eq!(owner(&released), Some(("shop".into(), "web".into())));
        let stripped: ObjectMeta =
            crate::fixtures::object(json!({"name": "web", "namespace": "shop",
            "ownerReferences": [{"apiVersion": "exposure.dev/v1alpha1", "kind": "Exposure",
                                 "name": "web", "uid": "u", "controller": true}]}));
        assert_eq!(owner(&stripped), Some(("shop".into(), "web".into())));
        let class: ObjectMeta = crate::fixtures::object(json!({"name": "shop.web.data",
            "labels": {labels::NAME: "web", labels::NAMESPACE: "shop"}}));
        assert_eq!(owner(&class), Some(("shop".into(), "web".into())));
        assert_eq!(owner(&ObjectMeta::default()), None);
    }
}

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

/// An object as its owner's list holds it: its name, and whether it is namespaced (then in its
/// owner's namespace, the label or reference naming the owner being namespace-local).
type Member = (bool, Box<str>);

/// One cache's objects by owner. Only this direction is kept: an object's owner is read from
/// the object itself (the event's, or the cached one when it moved), so no map from every
/// object back to its owner is needed. Lists are exact-size slices: an Exposure has a handful of
/// objects per kind, changed rarely, and a slice costs no spare capacity.
#[derive(Default)]
struct Maps {
    /// Keyed by `namespace/name` (neither may contain a slash).
    by_owner: HashMap<Box<str>, Box<[Member]>>,
}

fn owner_key((namespace, name): &Owner) -> Box<str> {
    format!("{namespace}/{name}").into_boxed_str()
}

fn member(key: &Key) -> Member {
    (key.0.is_some(), key.1.as_str().into())
}

impl Maps {
    fn contains(&self, owner: &Owner, key: &Key) -> bool {
        self.by_owner
            .get(&owner_key(owner))
            .is_some_and(|members| members.contains(&member(key)))
    }

    fn insert(&mut self, owner: &Owner, key: &Key) {
        let members = self.by_owner.entry(owner_key(owner)).or_default();
        if !members.contains(&member(key)) {
            let mut grown = std::mem::take(members).into_vec();
            grown.push(member(key));
            *members = grown.into_boxed_slice();
        }
    }

    /// Whether `key` was listed under `owner`.
    fn remove(&mut self, owner: &Owner, key: &Key) -> bool {
        let owner = owner_key(owner);
        let Some(members) = self.by_owner.get_mut(&owner) else {
            return false;
        };
        let gone = member(key);
        if !members.contains(&gone) {
            return false;
        }
        *members = members.iter().filter(|m| **m != gone).cloned().collect();
        if members.is_empty() {
            self.by_owner.remove(&owner);
        }
        true
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
    /// Follows one watch event, as the reflector applies it to `cache` (which still holds the
    /// object as it was: where it moved between owners, the old owner is read from there).
    pub fn observe<K>(&self, event: &watcher::Event<K>, cache: &Store<Compact<K>>)
    where
        K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + 'static,
    {
        let was_owned_by = |(namespace, name): &Key| {
            cache
                .get(&cache_key(namespace.as_deref(), name))?
                .meta()
                .as_ref()
                .and_then(owner)
        };
        match event {
            watcher::Event::Apply(object) => {
                let (key, now) = (key(object), owner(object.meta()));
                let mut maps = lock(&self.maps);
                if now.as_ref().is_some_and(|o| maps.contains(o, &key)) {
                    return;
                }
                if let Some(before) = was_owned_by(&key) {
                    maps.remove(&before, &key);
                }
                if let Some(now) = now {
                    maps.insert(&now, &key);
                }
            }
            watcher::Event::Delete(object) => {
                let key = key(object);
                let mut maps = lock(&self.maps);
                // Deleted in a state the watch did not see (relabelled meanwhile): its owner
                // as cached.
                let removed = owner(object.meta()).is_some_and(|o| maps.remove(&o, &key));
                if let (false, Some(before)) = (removed, was_owned_by(&key)) {
                    maps.remove(&before, &key);
                }
            }
            watcher::Event::Init => *lock(&self.relist) = Some(Maps::default()),
            watcher::Event::InitApply(object) => {
                if let (Some(maps), Some(owner)) =
                    (lock(&self.relist).as_mut(), owner(object.meta()))
                {
                    maps.insert(&owner, &key(object));
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
        let owner = (namespace.to_owned(), name.to_owned());
        lock(&self.maps)
            .by_owner
            .get(&owner_key(&owner))
            .map(|members| {
                members
                    .iter()
                    .map(|(namespaced, object)| {
                        (namespaced.then(|| namespace.to_owned()), object.to_string())
                    })
                    .collect()
            })
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
        self.store.get(&cache_key(namespace, name))
    }
}

/// The key of the cached object `namespace/name` (`None`: cluster-scoped).
fn cache_key<K: Resource<DynamicType = ()>>(
    namespace: Option<&str>,
    name: &str,
) -> ObjectRef<Compact<K>> {
    let key = ObjectRef::new(name);
    match namespace {
        Some(ns) => key.within(ns),
        None => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::api::storage::v1::StorageClass;
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

    /// A watch feeding the index and the cache as `keep` does: the index first.
    struct Watch {
        index: ChildIndex,
        cache: Store<Compact<Pod>>,
        writer: kube::runtime::reflector::store::Writer<Compact<Pod>>,
    }

    impl Watch {
        fn new() -> Self {
            let (cache, writer) = kube::runtime::reflector::store();
            Self {
                index: ChildIndex::default(),
                cache,
                writer,
            }
        }

        fn see(&mut self, event: watcher::Event<Pod>) {
            self.index.observe(&event, &self.cache);
            let compacted = super::super::compact::event(&event).expect("named pods compact");
            self.writer.apply_watcher_event(&compacted);
        }
    }

    #[test]
    fn the_index_follows_applies_deletes_relabels_and_relists() {
        let mut watch = Watch::new();
        watch.see(watcher::Event::Init);
        watch.see(watcher::Event::InitDone);
        watch.see(watcher::Event::Apply(pod("web-1", Some("web"))));
        watch.see(watcher::Event::Apply(pod("web-2", Some("web"))));
        watch.see(watcher::Event::Apply(pod("api-1", Some("api"))));
        watch.see(watcher::Event::Apply(pod("stray", None)));
        // Applied again unchanged: listed once.
        watch.see(watcher::Event::Apply(pod("web-1", Some("web"))));
        assert_eq!(names(&watch.index, "web"), ["web-1", "web-2"]);
        // Relabelled to another Exposure: it moves.
        watch.see(watcher::Event::Apply(pod("web-2", Some("api"))));
        assert_eq!(names(&watch.index, "web"), ["web-1"]);
        assert_eq!(names(&watch.index, "api"), ["api-1", "web-2"]);
        // Its label removed: it leaves its Exposure.
        watch.see(watcher::Event::Apply(pod("api-1", None)));
        assert_eq!(names(&watch.index, "api"), ["web-2"]);
        watch.see(watcher::Event::Delete(pod("web-1", Some("web"))));
        assert!(names(&watch.index, "web").is_empty());
        // Deleted in a state the watch did not see (relabelled meanwhile): still removed.
        watch.see(watcher::Event::Delete(pod("web-2", Some("other"))));
        assert!(names(&watch.index, "api").is_empty());
        watch.see(watcher::Event::Apply(pod("api-2", Some("api"))));
        // A relist replaces everything once complete, not before.
        watch.see(watcher::Event::Init);
        watch.see(watcher::Event::InitApply(pod("web-9", Some("web"))));
        assert_eq!(names(&watch.index, "api"), ["api-2"]);
        watch.see(watcher::Event::InitDone);
        assert_eq!(names(&watch.index, "web"), ["web-9"]);
        assert!(names(&watch.index, "api").is_empty());
    }

    #[test]
    fn cluster_scoped_objects_are_found_without_a_namespace() {
        let class: StorageClass =
            crate::fixtures::object(json!({"metadata": {"name": "shop.web.data",
            "labels": {labels::NAME: "web", labels::NAMESPACE: "shop"}}, "provisioner": "p"}));
        let (cache, _writer) = kube::runtime::reflector::store::<Compact<StorageClass>>();
        let index = ChildIndex::default();
        index.observe(&watcher::Event::Apply(class), &cache);
        assert_eq!(
            index.keys("shop", "web"),
            [(None, "shop.web.data".to_owned())]
        );
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

//! A cached object kept as its JSON text, LZ4-compressed, decoded when a reconcile reads it.
//!
//! A typed Kubernetes object costs several times its JSON: every optional field of every
//! nested struct is held inline, and each label map is a B-tree node of eleven slots. A
//! Deployment as the API server returns it takes about 11 KiB typed, 2 KiB as text and 1.2 KiB
//! compressed; a pruned Pod 9 KiB, 1 KiB and 0.6 KiB (docs/benchmarks.md). A reconcile reads
//! only the few objects of its own Exposure, so decoding them on read costs microseconds while
//! the caches, which hold every child of every Exposure, shrink about ten-fold.
//!
//! Each object is compressed against a dictionary of its kind: the text of the first object
//! of that kind the process cached. Objects of one kind share most of their text (field names,
//! defaults, the operator's labels), which a lone small object cannot exploit: against the
//! dictionary a Deployment takes 0.25 KiB instead of 1.2, a Service or a Pod 0.2 instead of 0.7.

use std::borrow::Cow;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock, RwLock};

use kube::api::ObjectMeta;
use kube::runtime::reflector::Lookup;
use kube::runtime::watcher;
use kube::Resource;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One cached object of kind `K`: its name and namespace (the cache's key) and its JSON,
/// compressed.
pub struct Compact<K> {
    name: Box<str>,
    namespace: Option<Box<str>>,
    json: Box<[u8]>,
    dictionary: Arc<[u8]>,
    kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Compact<K> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            json: self.json.clone(),
            dictionary: self.dictionary.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> std::fmt::Debug for Compact<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compact")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What [`Compact::meta`] decodes: the metadata, the rest of the text skipped.
#[derive(Deserialize)]
struct MetadataOnly {
    #[serde(default)]
    metadata: ObjectMeta,
}

impl<K> Compact<K>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned,
{
    /// `None` only for an object without a name, or one serde cannot write (neither comes
    /// from a watch).
    pub fn new(object: &K) -> Option<Self> {
        let meta = object.meta();
        let name = meta.name.as_deref()?.into();
        let namespace = meta.namespace.as_deref().map(Into::into);
        match serde_json::to_vec(object) {
            Ok(json) => {
                let dictionary = dictionary(&K::api_version(&()), &K::kind(&()), &json);
                Some(Self {
                    name,
                    namespace,
                    json: lz4_flex::block::compress_prepend_size_with_dict(&json, &dictionary)
                        .into_boxed_slice(),
                    dictionary,
                    kind: PhantomData,
                })
            }
            Err(error) => {
                tracing::error!(%error, name = %meta.name.as_deref().unwrap_or_default(), "cannot cache object");
                None
            }
        }
    }

    /// The typed object. Text written by [`Compact::new`] always reads back; should it not, the
    /// object counts as not cached (a child is then read from the API server).
    pub fn object(&self) -> Option<K> {
        self.decode(|json| serde_json::from_slice(json))
    }

    /// The object as JSON.
    pub fn value(&self) -> Option<Value> {
        self.decode(|json| serde_json::from_slice(json))
    }

    /// Only the metadata (the rest of the text is skipped, not built).
    pub fn meta(&self) -> Option<ObjectMeta> {
        self.decode(|json| serde_json::from_slice::<MetadataOnly>(json).map(|m| m.metadata))
    }

    /// Whether the JSON text contains `needle` (a pre-filter that saves parsing, not
    /// decompressing).
    pub fn mentions(&self, needle: &str) -> bool {
        self.text().is_some_and(|json| {
            json.windows(needle.len().max(1))
                .any(|w| w == needle.as_bytes())
        })
    }

    fn text(&self) -> Option<Vec<u8>> {
        lz4_flex::block::decompress_size_prepended_with_dict(&self.json, &self.dictionary)
            .inspect_err(|error| {
                tracing::error!(%error, name = %self.name, "cached object does not decompress");
            })
            .ok()
    }

    fn decode<T>(&self, read: impl Fn(&[u8]) -> serde_json::Result<T>) -> Option<T> {
        read(&self.text()?)
            .inspect_err(|error| {
                tracing::error!(%error, name = %self.name, "cached object does not decode");
            })
            .ok()
    }
}

impl<K> Lookup for Compact<K>
where
    K: Resource<DynamicType = ()>,
{
    type DynamicType = ();

    fn kind(_: &()) -> Cow<'_, str> {
        K::kind(&())
    }

    fn group(_: &()) -> Cow<'_, str> {
        K::group(&())
    }

    fn version(_: &()) -> Cow<'_, str> {
        K::version(&())
    }

    fn plural(_: &()) -> Cow<'_, str> {
        K::plural(&())
    }

    fn name(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Borrowed(&self.name))
    }

    fn namespace(&self) -> Option<Cow<'_, str>> {
        self.namespace.as_deref().map(Cow::Borrowed)
    }

    // Not part of a cache key's identity, and never read from the caches.
    fn resource_version(&self) -> Option<Cow<'_, str>> {
        None
    }

    fn uid(&self) -> Option<Cow<'_, str>> {
        None
    }
}

/// LZ4 looks back at most 64 KiB; a kind's first object may be far larger (a 400 kB value):
/// its beginning is dictionary enough.
const MAX_DICTIONARY_BYTES: usize = 16 * 1024;

/// The dictionary of the kind `api_version`/`kind`: `first`, when it is the first object of
/// that kind, and never changed after (every cached object of the kind is read back with it).
fn dictionary(api_version: &str, kind: &str, first: &[u8]) -> Arc<[u8]> {
    static DICTIONARIES: OnceLock<RwLock<HashMap<String, Arc<[u8]>>>> = OnceLock::new();
    let dictionaries = DICTIONARIES.get_or_init(RwLock::default);
    let key = format!("{api_version}/{kind}");
    // The map only grows, one entry per kind: usable after a panic elsewhere.
    if let Some(found) = dictionaries
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&key)
    {
        return found.clone();
    }
    dictionaries
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(key)
        .or_insert_with(|| first[..first.len().min(MAX_DICTIONARY_BYTES)].into())
        .clone()
}

/// The watch event `event` with its object compacted; `None` when it cannot be (see
/// [`Compact::new`]): the cache then misses that one object.
pub fn event<K>(event: &watcher::Event<K>) -> Option<watcher::Event<Compact<K>>>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned,
{
    map_event(event, Compact::new)
}

/// The watch event `event` with its object made into what a cache keeps by `keep`; `None` when
/// `keep` refuses it.
pub fn map_event<K, T>(
    event: &watcher::Event<K>,
    keep: impl Fn(&K) -> Option<T>,
) -> Option<watcher::Event<T>> {
    Some(match event {
        watcher::Event::Apply(o) => watcher::Event::Apply(keep(o)?),
        watcher::Event::Delete(o) => watcher::Event::Delete(keep(o)?),
        watcher::Event::Init => watcher::Event::Init,
        watcher::Event::InitApply(o) => watcher::Event::InitApply(keep(o)?),
        watcher::Event::InitDone => watcher::Event::InitDone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Pod;
    use kube::runtime::reflector::{store, ObjectRef};
    use serde_json::json;

    fn deployment() -> Deployment {
        crate::fixtures::object(json!({
            "metadata": {"name": "web", "namespace": "shop", "labels": {"exposure.dev/name": "web"},
                         "resourceVersion": "7", "uid": "u-1"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"exposure.dev/name": "web"}},
                     "template": {"spec": {"containers": [{"name": "app", "image": "nginx"}]}}},
            "status": {"readyReplicas": 1}
        }))
    }

    #[test]
    fn an_object_reads_back_as_it_was_cached() {
        let original = deployment();
        let cached = Compact::new(&original).expect("a named object compacts");
        assert_eq!(cached.object(), Some(original.clone()));
        assert_eq!(cached.meta(), Some(original.metadata.clone()));
        assert_eq!(
            cached.value(),
            Some(serde_json::to_value(&original).expect("serialises"))
        );
    }

    #[test]
    fn the_store_finds_compacted_objects_by_namespace_and_name() {
        let (reader, mut writer) = store::<Compact<Deployment>>();
        for e in [
            watcher::Event::Init,
            watcher::Event::InitApply(deployment()),
            watcher::Event::InitDone,
        ] {
            writer.apply_watcher_event(&event(&e).expect("compacts"));
        }
        let key = ObjectRef::<Compact<Deployment>>::new("web").within("shop");
        let found = reader.get(&key).and_then(|c| c.object());
        assert_eq!(found, Some(deployment()));
        writer
            .apply_watcher_event(&event(&watcher::Event::Delete(deployment())).expect("compacts"));
        assert!(reader.get(&key).is_none());
    }

    #[test]
    fn mentions_finds_text_inside_the_compressed_object() {
        let cached = Compact::new(&deployment()).expect("a named object compacts");
        assert!(cached.mentions("\"image\":\"nginx\""));
        assert!(!cached.mentions("\"image\":\"redis\""));
    }

    #[test]
    fn objects_of_a_kind_compress_against_the_first_one() {
        let named = |name: &str| {
            let mut d = deployment();
            d.metadata.name = Some(name.into());
            d
        };
        let first = Compact::new(&named("first")).expect("compacts");
        let second = Compact::new(&named("second")).expect("compacts");
        assert!(Arc::ptr_eq(&first.dictionary, &second.dictionary));
        let text = serde_json::to_vec(&named("second")).expect("serialises");
        let alone = lz4_flex::compress_prepend_size(&text).len();
        assert!(
            second.json.len() * 2 < alone,
            "{} bytes against the dictionary, {alone} alone",
            second.json.len()
        );
        assert_eq!(second.object(), Some(named("second")));
    }

    #[test]
    fn a_dictionary_is_at_most_its_bound_and_reads_back_larger_objects() {
        let large: Pod = crate::fixtures::object(json!({
            "metadata": {"name": "large", "namespace": "shop",
                         "annotations": {"big": "x".repeat(100_000)}}
        }));
        let cached = Compact::new(&large).expect("compacts");
        assert!(cached.dictionary.len() <= MAX_DICTIONARY_BYTES);
        assert_eq!(cached.object(), Some(large));
    }

    #[test]
    fn an_object_without_a_name_is_not_cached() {
        assert!(Compact::new(&Deployment::default()).is_none());
    }
}

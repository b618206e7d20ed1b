//! What every reconcile shares: the client, the caches of our children, metrics, events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use exposure_crd::Exposure;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    Endpoints, Node, PersistentVolume, PersistentVolumeClaim, Pod, ResourceQuota, Service,
};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource};
use serde_json::Value;

use super::children::ChildKind;
use super::config::OperatorConfig;
use super::metrics::Metrics;
use crate::cluster::ClusterInfo;

/// Caches of one watch scope (all namespaces, or one namespace), label-selected so that only
/// our children are held.
#[derive(Clone)]
pub struct Stores {
    pub exposures: Store<Exposure>,
    pub deployments: Store<Deployment>,
    pub services: Store<Service>,
    pub endpoints: Store<Endpoints>,
    pub ingresses: Store<Ingress>,
    pub quotas: Store<ResourceQuota>,
    pub pvcs: Store<PersistentVolumeClaim>,
    pub pods: Store<Pod>,
}

/// Cluster-wide caches shared by all scopes.
#[derive(Clone)]
pub struct ClusterStores {
    pub storage_classes: Store<StorageClass>,
    pub persistent_volumes: Store<PersistentVolume>,
    pub nodes: Option<Store<Node>>,
}

pub struct Context {
    pub client: Client,
    pub config: OperatorConfig,
    pub cluster: ClusterInfo,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub stores: Stores,
    pub cluster_stores: ClusterStores,
    /// Exposure caches of every scope (for host/nodePort conflicts across namespaces).
    pub all_exposures: Vec<Store<Exposure>>,
    /// Consecutive transient failures per Exposure, for exponential backoff.
    pub failures: Mutex<HashMap<ObjectRef<Exposure>, u32>>,
}

impl Context {
    /// The cached live child, serialised; `None` when the cache does not hold it.
    pub fn cached_child(&self, kind: ChildKind, namespace: &str, name: &str) -> Option<Value> {
        fn get<K>(store: &Store<K>, namespace: Option<&str>, name: &str) -> Option<Value>
        where
            K: Resource<DynamicType = ()> + Clone + serde::Serialize + 'static,
        {
            let mut key = ObjectRef::<K>::new(name);
            if let Some(ns) = namespace {
                key = key.within(ns);
            }
            store
                .get(&key)
                .and_then(|o| serde_json::to_value(o.as_ref()).ok())
        }
        let ns = Some(namespace);
        match kind {
            ChildKind::StorageClass => get(&self.cluster_stores.storage_classes, None, name),
            ChildKind::PersistentVolumeClaim => get(&self.stores.pvcs, ns, name),
            ChildKind::ResourceQuota => get(&self.stores.quotas, ns, name),
            ChildKind::Deployment => get(&self.stores.deployments, ns, name),
            ChildKind::Service => get(&self.stores.services, ns, name),
            ChildKind::Endpoints => get(&self.stores.endpoints, ns, name),
            ChildKind::Ingress => get(&self.stores.ingresses, ns, name),
        }
    }

    /// Cached children of `kind` labelled for the Exposure `namespace/name`, serialised.
    pub fn labelled_children(&self, kind: ChildKind, namespace: &str, name: &str) -> Vec<Value> {
        fn select<K>(store: &Store<K>, keep: impl Fn(&K) -> bool) -> Vec<Value>
        where
            K: Resource<DynamicType = ()> + Clone + serde::Serialize + 'static,
        {
            store
                .state()
                .iter()
                .filter(|o| keep(o))
                .filter_map(|o| serde_json::to_value(o.as_ref()).ok())
                .collect()
        }
        let in_scope = |meta: &kube::api::ObjectMeta| {
            meta.namespace.as_deref() == Some(namespace)
                && super::ownership::labelled_for(meta, name)
        };
        match kind {
            ChildKind::StorageClass => select(&self.cluster_stores.storage_classes, |o| {
                super::ownership::cluster_labelled_for(&o.metadata, namespace, name)
            }),
            ChildKind::PersistentVolumeClaim => {
                select(&self.stores.pvcs, |o| in_scope(&o.metadata))
            }
            ChildKind::ResourceQuota => select(&self.stores.quotas, |o| in_scope(&o.metadata)),
            ChildKind::Deployment => select(&self.stores.deployments, |o| in_scope(&o.metadata)),
            ChildKind::Service => select(&self.stores.services, |o| in_scope(&o.metadata)),
            ChildKind::Endpoints => select(&self.stores.endpoints, |o| in_scope(&o.metadata)),
            ChildKind::Ingress => select(&self.stores.ingresses, |o| in_scope(&o.metadata)),
        }
    }
}

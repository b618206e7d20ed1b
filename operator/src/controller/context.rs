//! What every reconcile shares: the client, the caches of our children, metrics, events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

use super::config::OperatorConfig;
use super::index::ExposureIndex;
use super::metrics::Metrics;
use crate::build::ChildKind;
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
    /// Exposure caches of every scope (the sweep looks Exposures of other scopes up).
    pub all_exposures: Vec<Store<Exposure>>,
    /// Claims and Ready status of the Exposures of every scope.
    pub index: Arc<ExposureIndex>,
    /// Consecutive transient failures per Exposure, for exponential backoff.
    pub failures: Mutex<HashMap<ObjectRef<Exposure>, Failures>>,
}

/// Consecutive failed attempts of one Exposure. A failure that comes before the previous
/// backoff has passed (a watch event retriggered the reconcile early) is not another attempt:
/// attempts are spaced 5 s, 10 s, 20 s, … apart, capped at 5 min.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failures {
    pub attempts: u32,
    pub retry_at: Instant,
}

impl Failures {
    pub fn backoff(attempts: u32) -> Duration {
        Duration::from_secs(5u64.saturating_mul(1 << (attempts.clamp(1, 7) - 1)))
            .min(Duration::from_secs(300))
    }

    /// The state after a failure at `now`.
    pub fn record(previous: Option<Failures>, now: Instant) -> Failures {
        let attempts = match previous {
            Some(p) if now < p.retry_at => p.attempts,
            Some(p) => p.attempts.saturating_add(1),
            None => 1,
        };
        let retry_at = match previous {
            Some(p) if now < p.retry_at => p.retry_at,
            _ => now + Self::backoff(attempts),
        };
        Failures { attempts, retry_at }
    }
}

impl Context {
    /// Failed attempts of this Exposure since its last successful reconcile.
    pub fn failed_attempts(&self, exposure: &Exposure) -> u32 {
        let key = ObjectRef::from_obj(exposure);
        self.failures
            .lock()
            .map(|f| f.get(&key).map_or(0, |f| f.attempts))
            .unwrap_or(0)
    }

    pub fn forget_failures(&self, exposure: &Exposure) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&ObjectRef::from_obj(exposure));
        }
    }

    /// Records a failure; returns the attempts so far and the time until the next one.
    pub fn record_failure(&self, exposure: &Exposure) -> (u32, Duration) {
        let now = Instant::now();
        let key = ObjectRef::from_obj(exposure);
        let state = match self.failures.lock() {
            Ok(mut failures) => {
                let state = Failures::record(failures.get(&key).copied(), now);
                failures.insert(key, state);
                state
            }
            Err(_) => Failures::record(None, now),
        };
        (
            state.attempts,
            state.retry_at.saturating_duration_since(now),
        )
    }

    /// Sets the `exposure_managed_exposures` gauge from the index.
    pub fn update_ready_gauge(&self) {
        let (ready, not_ready, unknown) = self.index.ready_counts();
        self.metrics.set_exposures("True", ready);
        self.metrics.set_exposures("False", not_ready);
        self.metrics.set_exposures("Unknown", unknown);
    }

    /// The cached object `namespace/name` of `store`.
    pub fn cached<K>(&self, store: &Store<K>, namespace: &str, name: &str) -> Option<K>
    where
        K: Resource<DynamicType = ()> + Clone + 'static,
    {
        store
            .get(&ObjectRef::<K>::new(name).within(namespace))
            .map(|o| o.as_ref().clone())
    }

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

    /// Metadata of the cached children of `kind` labelled for the Exposure `namespace/name`.
    pub fn labelled_children(
        &self,
        kind: ChildKind,
        namespace: &str,
        name: &str,
    ) -> Vec<kube::api::ObjectMeta> {
        fn select<K>(
            store: &Store<K>,
            keep: impl Fn(&kube::api::ObjectMeta) -> bool,
        ) -> Vec<kube::api::ObjectMeta>
        where
            K: Resource<DynamicType = ()> + Clone + 'static,
        {
            store
                .state()
                .iter()
                .filter(|o| keep(o.meta()))
                .map(|o| o.meta().clone())
                .collect()
        }
        let in_scope = |meta: &kube::api::ObjectMeta| {
            meta.namespace.as_deref() == Some(namespace)
                && crate::ownership::labelled_for(meta, name)
        };
        match kind {
            ChildKind::StorageClass => select(&self.cluster_stores.storage_classes, |m| {
                crate::ownership::cluster_labelled_for(m, namespace, name)
            }),
            ChildKind::PersistentVolumeClaim => select(&self.stores.pvcs, in_scope),
            ChildKind::ResourceQuota => select(&self.stores.quotas, in_scope),
            ChildKind::Deployment => select(&self.stores.deployments, in_scope),
            ChildKind::Service => select(&self.stores.services, in_scope),
            ChildKind::Endpoints => select(&self.stores.endpoints, in_scope),
            ChildKind::Ingress => select(&self.stores.ingresses, in_scope),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_spaced_by_the_backoff() {
        let t0 = Instant::now();
        let first = Failures::record(None, t0);
        assert_eq!(
            (first.attempts, first.retry_at),
            (1, t0 + Duration::from_secs(5))
        );
        // Retriggered early by a watch event: the same attempt, the same retry time.
        let early = Failures::record(Some(first), t0 + Duration::from_millis(100));
        assert_eq!(early, first);
        let second = Failures::record(Some(first), t0 + Duration::from_secs(5));
        assert_eq!(
            (second.attempts, second.retry_at),
            (2, t0 + Duration::from_secs(15))
        );
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let secs: Vec<u64> = (1..=8).map(|n| Failures::backoff(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 300, 300]);
    }
}

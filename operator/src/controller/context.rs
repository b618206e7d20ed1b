//! What every reconcile shares: the client, the caches of our children, metrics, events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exposure_crd::{Exposure, ExposureStatus};
use std::fmt::Debug;

use k8s_openapi::api::core::v1::{ConfigMap, Node, PersistentVolume, Pod, Secret};
use kube::api::ObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::cached_exposure::{key_of, CachedExposure, ExposureRef};
use super::child_index::Indexed;
use super::config::OperatorConfig;
use super::index::ExposureIndex;
use super::metrics::Metrics;
use super::status_pacing::{status_write, Pacing, StatusWrite};
use crate::build::ChildKind;
use crate::cluster::ClusterInfo;

/// Caches of one watch scope (all namespaces, or one namespace), label-selected so that only
/// our children are held.
#[derive(Clone)]
pub struct Stores {
    pub exposures: Store<CachedExposure>,
    pub children: ChildStores,
    pub pods: Indexed<Pod>,
    /// Every ConfigMap of the scope, holding only the digest of its data (`spec.config`).
    pub config_maps: Indexed<ConfigMap>,
    /// Every Secret of the scope, digest only; empty unless `--watch-secrets`.
    pub secrets: Indexed<Secret>,
}

/// What a watch and its cache need of a kind.
pub trait Watched:
    Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + Debug + Send + Sync + 'static
{
}

impl<K> Watched for K where
    K: Resource<DynamicType = ()>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static
{
}

/// Makes the cache of one child kind (the controller's watches; a cluster-scoped kind's cache
/// is shared by all scopes).
pub trait StoreFactory {
    fn namespaced<K>(&mut self) -> Indexed<K>
    where
        K: Watched + Resource<Scope = k8s_openapi::NamespaceResourceScope>;
    fn cluster<K>(&mut self) -> Indexed<K>
    where
        K: Watched + Resource<Scope = k8s_openapi::ClusterResourceScope>;
}

macro_rules! child_store {
    ($factory:ident, namespaced, $ty:ty) => {
        $factory.namespaced::<$ty>()
    };
    ($factory:ident, cluster, $ty:ty) => {
        $factory.cluster::<$ty>()
    };
}

macro_rules! define_child_stores {
    ($($kind:ident = $name:literal: $ty:ty, $group:literal, $version:literal, $plural:literal, $scope:ident, $store:ident;)*) => {
        /// One cache per child kind (from the table in `build/kind.rs`).
        #[derive(Clone)]
        pub struct ChildStores {
            $(pub $store: Indexed<$ty>,)*
        }

        impl ChildStores {
            pub fn new(factory: &mut impl StoreFactory) -> Self {
                Self {
                    $($store: child_store!(factory, $scope, $ty),)*
                }
            }

            /// The cached live child, serialised; `None` when the cache does not hold it.
            pub fn cached_child(&self, kind: ChildKind, namespace: &str, name: &str) -> Option<Value> {
                let ns = kind.namespaced().then_some(namespace);
                match kind {
                    $(ChildKind::$kind => self.$store.value(ns, name),)*
                }
            }

            /// Metadata of the cached children of `kind` labelled for the Exposure
            /// `namespace/name`.
            pub fn labelled(&self, kind: ChildKind, namespace: &str, name: &str) -> Vec<ObjectMeta> {
                let keep = |meta: &ObjectMeta| {
                    if kind.namespaced() {
                        meta.namespace.as_deref() == Some(namespace)
                            && crate::ownership::labelled_for(meta, name)
                    } else {
                        crate::ownership::cluster_labelled_for(meta, namespace, name)
                    }
                };
                match kind {
                    $(ChildKind::$kind => select(&self.$store, namespace, name, keep),)*
                }
            }

            /// Waits until every child cache holds its initial list.
            pub async fn synced(&self) {
                $(self.$store.synced().await;)*
            }
        }
    };
}

crate::for_each_child_kind!(define_child_stores);

/// The cached objects the index files under the Exposure `namespace/name` that `keep` accepts.
fn select<K>(
    cache: &Indexed<K>,
    namespace: &str,
    name: &str,
    keep: impl Fn(&ObjectMeta) -> bool,
) -> Vec<ObjectMeta>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + 'static,
{
    cache
        .metas_of(namespace, name)
        .into_iter()
        .filter(|meta| keep(meta))
        .collect()
}

/// Cluster-wide caches shared by all scopes.
#[derive(Clone)]
pub struct ClusterStores {
    pub persistent_volumes: Indexed<PersistentVolume>,
    pub nodes: Option<Indexed<Node>>,
}

pub struct Context {
    pub client: Client,
    pub config: OperatorConfig,
    pub cluster: ClusterInfo,
    pub metrics: Arc<Metrics>,
    pub events: Arc<super::event_series::Publisher>,
    pub stores: Stores,
    pub cluster_stores: ClusterStores,
    /// Exposure caches of every scope (the sweep looks Exposures of other scopes up).
    pub all_exposures: Vec<Store<CachedExposure>>,
    /// Claims and Ready status of the Exposures of every scope.
    pub index: Arc<ExposureIndex>,
    /// Whether the Gateway API is served (it may be installed while the operator runs).
    pub gateway_api: Arc<super::gateway_api::GatewayApi>,
    /// Consecutive transient failures per Exposure, for exponential backoff.
    pub failures: Mutex<HashMap<ExposureRef, Failures>>,
    /// With leader election: writes only while the Lease is confirmed ours.
    pub fence: Option<Arc<super::fence::LeaseFence>>,
    /// How many reconciles run at once, new and changed Exposures first.
    pub lanes: super::lanes::Lanes,
    /// Status writes of converging Exposures, paced (see `status_pacing`).
    pub pacing: Mutex<HashMap<ExposureRef, Pacing>>,
    /// The operator's own Exposure writes whose echo is not to trigger a reconcile.
    pub own_writes: Arc<super::own_writes::OwnWrites>,
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
    /// Every write goes through here: refused when fenced (see `fence`), else counted.
    pub async fn before_write(&self, kind: &str, verb: &str) -> Result<(), super::error::Error> {
        if let Some(fence) = &self.fence {
            if !fence.allows_writes().await {
                return Err(super::error::Error::Fenced);
            }
        }
        self.metrics.count_write(kind, verb);
        Ok(())
    }

    /// Failed attempts of this Exposure since its last successful reconcile.
    pub fn failed_attempts(&self, exposure: &Exposure) -> u32 {
        let key = key_of(exposure);
        self.failures
            .lock()
            .map(|f| f.get(&key).map_or(0, |f| f.attempts))
            .unwrap_or(0)
    }

    pub fn forget_failures(&self, key: &ExposureRef) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }

    /// Records a failure; returns the attempts so far and the time until the next one.
    pub fn record_failure(&self, key: &ExposureRef) -> (u32, Duration) {
        let now = Instant::now();
        let state = match self.failures.lock() {
            Ok(mut failures) => {
                let state = Failures::record(failures.get(key).copied(), now);
                forget_gone(&mut failures, &self.stores.exposures);
                failures.insert(key.clone(), state);
                state
            }
            Err(_) => Failures::record(None, now),
        };
        (
            state.attempts,
            state.retry_at.saturating_duration_since(now),
        )
    }

    /// Whether `status` is to be written now (see `status_pacing`).
    pub fn status_write(&self, exposure: &Exposure, status: &ExposureStatus) -> StatusWrite {
        let now = Instant::now();
        let key = key_of(exposure);
        let generation = exposure.metadata.generation;
        let pacing = match self.pacing.lock() {
            Ok(mut paced) => {
                forget_gone(&mut paced, &self.stores.exposures);
                let entry = paced.entry(key).or_insert(Pacing {
                    generation,
                    since: now,
                    written: None,
                });
                if entry.generation != generation {
                    *entry = Pacing {
                        generation,
                        since: now,
                        written: None,
                    };
                }
                *entry
            }
            // A poisoned lock: write as before pacing existed.
            Err(_) => return StatusWrite::Now,
        };
        status_write(
            exposure.status.as_ref(),
            status,
            &pacing,
            self.config.status_pacing,
            now,
        )
    }

    /// Records a status write.
    pub fn status_written(&self, exposure: &Exposure) {
        if let Ok(mut paced) = self.pacing.lock() {
            if let Some(entry) = paced.get_mut(&key_of(exposure)) {
                entry.written = Some(Instant::now());
            }
        }
    }

    /// Forgets a deleted Exposure's pacing.
    pub fn forget_pacing(&self, key: &ExposureRef) {
        if let Ok(mut paced) = self.pacing.lock() {
            paced.remove(key);
        }
    }

    /// Forgets all that is kept about an Exposure that is gone.
    pub fn forget(&self, key: &ExposureRef) {
        self.forget_pacing(key);
        self.forget_failures(key);
    }

    /// Sets the `exposure_managed_exposures` gauge from the index.
    pub fn update_ready_gauge(&self) {
        let (ready, not_ready, unknown) = self.index.ready_counts();
        self.metrics.set_exposures("True", ready);
        self.metrics.set_exposures("False", not_ready);
        self.metrics.set_exposures("Unknown", unknown);
    }

    /// The Exposure `namespace/name`, from the cache of whichever scope watches it.
    pub fn find_exposure(&self, namespace: &str, name: &str) -> Option<Arc<CachedExposure>> {
        let key = ObjectRef::new(name).within(namespace);
        self.all_exposures.iter().find_map(|s| s.get(&key))
    }

    /// The cached live child, serialised; `None` when the cache does not hold it.
    pub fn cached_child(&self, kind: ChildKind, namespace: &str, name: &str) -> Option<Value> {
        self.stores.children.cached_child(kind, namespace, name)
    }

    /// Metadata of the cached children of `kind` labelled for the Exposure `namespace/name`.
    pub fn labelled_children(
        &self,
        kind: ChildKind,
        namespace: &str,
        name: &str,
    ) -> Vec<ObjectMeta> {
        self.stores.children.labelled(kind, namespace, name)
    }
}

/// Drops the entries of Exposures no longer in the cache once the map has outgrown it: an
/// Exposure deleted without a finalizer is never reconciled again, so nothing else would.
fn forget_gone<V>(map: &mut HashMap<ExposureRef, V>, exposures: &Store<CachedExposure>) {
    if map.len() >= 2 * exposures.len() + 64 {
        map.retain(|key, _| exposures.get(key).is_some());
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

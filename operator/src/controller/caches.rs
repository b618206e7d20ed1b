//! Waiting for the caches' initial lists.

use kube::runtime::reflector::{Lookup, Store};

use super::context::Context;

/// Waits until the store holds its initial list. A waiter may miss the one wake-up when several
/// wait on the same store, so each try is bounded and repeated (a fresh call returns at once
/// once the store is ready).
pub async fn synced<K>(store: &Store<K>)
where
    K: Lookup + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    while tokio::time::timeout(
        std::time::Duration::from_millis(500),
        store.wait_until_ready(),
    )
    .await
    .is_err()
    {}
}

/// Waits until every cache a reconcile reads holds its initial list (at once after startup).
/// Judged from a half-filled cache, a deleting Exposure finds no StorageClass to clean up and
/// drops its finalizer, and a class in use looks unused.
pub async fn all_synced(ctx: &Context) {
    let (s, c) = (&ctx.stores, &ctx.cluster_stores);
    synced(&s.exposures).await;
    s.children.synced().await;
    s.pods.synced().await;
    s.config_maps.synced().await;
    s.secrets.synced().await;
    c.persistent_volumes.synced().await;
    if let Some(nodes) = &c.nodes {
        nodes.synced().await;
    }
    for other in &ctx.all_exposures {
        synced(other).await;
    }
}

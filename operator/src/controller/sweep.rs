//! Periodic storage sweep: PVCs labelled for an Exposure that no longer exists are released
//! (an Exposure without finalizer is gone before we see it; a StatefulSet's per-pod claims
//! keep their labels), and StorageClasses of missing
//! Exposures, or no longer in their spec, are deleted once unused. Writes nothing when there
//! is nothing to do.

use std::sync::Arc;
use std::time::Duration;

use exposure_crd::labels;
use kube::ResourceExt;
use tokio::sync::watch;

use super::apply;
use super::caches::synced;
use super::context::Context;
use super::error::Error;
use super::snapshot::class_users;
use crate::build::ChildKind;
use crate::decide::storage::{names_class, release_patch};
use crate::ownership;

pub fn sweep_interval() -> Duration {
    Duration::from_secs(10)
}

pub async fn sweep_loop(ctx: Arc<Context>, mut shutdown: watch::Receiver<bool>) {
    // Never sweep from half-filled caches: a missing Exposure would look deleted.
    let s = &ctx.stores;
    synced(&s.exposures).await;
    s.children.pvcs.synced().await;
    s.children.storage_classes.synced().await;
    ctx.cluster_stores.persistent_volumes.synced().await;
    for other in &ctx.all_exposures {
        synced(other).await;
    }
    loop {
        if let Err(e) = sweep(&ctx).await {
            ctx.metrics.count_error(e.kind());
            tracing::warn!(error = %e, "storage sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(sweep_interval()) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}

async fn sweep(ctx: &Context) -> Result<(), Error> {
    let find = |ns: &str, name: &str| ctx.find_exposure(ns, name);
    for pvc in ctx.stores.children.pvcs.objects() {
        let (Some(ns), Some(name)) = (
            pvc.namespace(),
            ownership::exposure_name(&pvc.metadata).map(str::to_owned),
        ) else {
            continue;
        };
        // A StatefulSet's per-pod claims keep their labels (its controller reuses them by
        // name when the Exposure comes back).
        if find(&ns, &name).is_none()
            && pvc.metadata.deletion_timestamp.is_none()
            && pvc.owner_references().is_empty()
            && !ownership::per_pod_claim(&pvc.metadata)
        {
            apply::release_pvc(ctx, &ns, &pvc.name_any(), &release_patch(&pvc, &name)).await?;
            tracing::info!(pvc = %pvc.name_any(), namespace = %ns, exposure = %name, "released PVC of a deleted Exposure");
        }
    }
    for sc in ctx.stores.children.storage_classes.objects() {
        let l = sc.labels();
        let (Some(ns), Some(name)) = (
            l.get(labels::NAMESPACE),
            ownership::exposure_name(&sc.metadata),
        ) else {
            continue;
        };
        if !in_scope(ctx, ns) {
            continue;
        }
        // A class of a deleted Exposure, or one its spec no longer names (left in place while
        // a volume used it; nothing else triggers a reconcile when that volume goes).
        // An Exposure whose cached copy does not read back counts as wanting it: never delete
        // on doubt.
        let wanted = find(ns, name).is_some_and(|cached| {
            cached
                .exposure()
                .is_none_or(|e| names_class(&e, ns, &sc.name_any()))
        });
        let users = class_users(ctx, &sc.name_any());
        if !wanted && users.volumes.is_empty() && users.claims.is_empty() {
            apply::delete(ctx, ChildKind::StorageClass, "", &sc.name_any(), sc.uid()).await?;
        }
    }
    Ok(())
}

/// Whether this operator instance watches `namespace` (a StorageClass of an unwatched
/// namespace's Exposure is not ours to judge).
fn in_scope(ctx: &Context, namespace: &str) -> bool {
    ctx.config.namespaces.is_empty() || ctx.config.namespaces.iter().any(|n| n == namespace)
}

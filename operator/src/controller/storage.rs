//! Storage lifecycle: PVCs never lose data by accident; StorageClasses we created are
//! deleted once nothing uses them.
//!
//! - `reclaim: Retain` PVCs carry no ownerReference. When the Exposure is deleted or the volume
//!   leaves the spec, they are *released*: re-applied with `exposure.dev/retained-from` instead
//!   of our ownership labels. An Exposure of the same name declaring the volume again adopts
//!   the same PVC (same UID, same data).
//! - `reclaim: Delete` PVCs carry the controller ownerReference (garbage collected with the
//!   Exposure) and are deleted when the volume leaves the spec.
//! - StorageClasses (cluster-scoped, so no ownerReference) are deleted by us — only when no PV
//!   or PVC uses them — guarded by the `exposure.dev/cleanup` finalizer on the Exposures that
//!   created one.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use exposure_crd::{labels, Exposure, RetainedVolume};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, ResourceExt};
use serde_json::{json, Value};

use super::apply::{self, Planned};
use super::children::ChildKind;
use super::context::Context;
use super::ownership;
use super::reconcile::{child_reference, note, publish, INVALID_SPEC};
use super::Error;
use crate::build::{pvc_name, storage_class_name, Children};
use crate::quantity::parse_quantity;
use crate::status::Blocker;
use crate::storage_policy::{storage_blockers, StoragePolicy};

pub const STORAGE_CLASS_IMMUTABLE: &str = "StorageClassImmutable";
/// After this many failed cleanup attempts a deleting Exposure lets go (with an event), so
/// deletion never hangs on an unreachable dependency.
const MAX_CLEANUP_ATTEMPTS: u32 = 5;

pub fn policy_blockers(ctx: &Context, exposure: &Exposure, namespace: &str) -> Vec<Blocker> {
    let policy = StoragePolicy {
        storage_classes_enabled: ctx.config.storage_classes_enabled,
        allowed_resturls: ctx.config.gluster_allowed_resturls.clone(),
        allow_cross_namespace_secrets: ctx.config.gluster_allow_cross_namespace_secrets,
    };
    let volumes = exposure
        .spec
        .storage
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.glusterfs.as_ref().map(|g| (i, g)));
    storage_blockers(&policy, namespace, volumes)
}

/// Changes Kubernetes cannot make in place. A changed StorageClass that nothing uses is
/// deleted here so the apply recreates it.
pub async fn prepare(
    ctx: &Context,
    exposure: &Exposure,
    plan: &mut [Planned],
) -> Result<Vec<Blocker>, Error> {
    let mut blockers = Vec::new();
    for planned in plan.iter_mut() {
        let Some(live) = planned.live.clone() else {
            continue;
        };
        match planned.child.kind {
            ChildKind::PersistentVolumeClaim => {
                blockers.extend(pvc_change_blockers(exposure, &planned.child.object, &live))
            }
            ChildKind::StorageClass => {
                let differing = storage_class_differences(&planned.child.object, &live);
                if differing.is_empty() {
                    continue;
                }
                // Only provisioned volumes tie a class down: a Pending claim is provisioned
                // from whatever class carries the name when provisioning is retried.
                let users = pvs_using(ctx, &planned.child.name);
                if users.is_empty() {
                    let uid = live
                        .pointer("/metadata/uid")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    apply::delete(ctx, ChildKind::StorageClass, "", &planned.child.name, uid)
                        .await?;
                    planned.live = None;
                } else {
                    blockers.push(Blocker {
                        reason: STORAGE_CLASS_IMMUTABLE.into(),
                        message: format!(
                            "StorageClass {}: {} cannot change while {} uses it (StorageClass parameters are immutable); \
                             restore the previous values, or use a new className for new volumes",
                            planned.child.name,
                            differing.join(", "),
                            users.join(", ")
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(blockers)
}

fn pvc_change_blockers(exposure: &Exposure, desired: &Value, live: &Value) -> Vec<Blocker> {
    let name = desired
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let volume = desired
        .pointer(&format!(
            "/metadata/labels/{}",
            labels::VOLUME.replace('/', "~1")
        ))
        .and_then(Value::as_str);
    let index = exposure
        .spec
        .storage
        .iter()
        .position(|v| Some(v.name.as_str()) == volume)
        .unwrap_or_default();
    let field = format!("spec.storage[{index}]");
    let mut blockers = Vec::new();
    let size = |v: &Value| {
        v.pointer("/spec/resources/requests/storage")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if let (Some(want), Some(have)) = (size(desired), size(live)) {
        if let (Some(w), Some(h)) = (parse_quantity(&want), parse_quantity(&have)) {
            if w < h {
                blockers.push(Blocker {
                    reason: INVALID_SPEC.into(),
                    message: format!(
                        "{field}.size: {want} is smaller than the current size {have} of PVC {name}; \
                         volumes cannot shrink (set size back to {have} or more)"
                    ),
                });
            }
        }
    }
    let immutable = [
        ("/spec/accessModes", "accessModes"),
        ("/spec/storageClassName", "storage class"),
    ];
    for (pointer, what) in immutable {
        let (want, have) = (desired.pointer(pointer), live.pointer(pointer));
        if want.is_some() && have.is_some() && want != have {
            blockers.push(Blocker {
                reason: INVALID_SPEC.into(),
                message: format!(
                    "{field}: the {what} of PVC {name} cannot change ({} → {}); keep {}, or add a volume with a new name \
                     and copy the data (the old PVC is retained)",
                    compact(have),
                    compact(want),
                    compact(have)
                ),
            });
        }
    }
    blockers
}

fn compact(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "none".into(),
    }
}

fn storage_class_differences(desired: &Value, live: &Value) -> Vec<String> {
    let mut fields = Vec::new();
    for top in ["provisioner", "reclaimPolicy"] {
        if desired.get(top) != live.get(top) && desired.get(top).is_some() {
            fields.push(top.to_string());
        }
    }
    let empty = Value::Object(Default::default());
    let (d, l) = (
        desired.get("parameters").unwrap_or(&empty),
        live.get("parameters").unwrap_or(&empty),
    );
    let keys: BTreeSet<&String> = d
        .as_object()
        .into_iter()
        .chain(l.as_object())
        .flat_map(|m| m.keys())
        .collect();
    fields.extend(
        keys.into_iter()
            .filter(|k| d.get(k.as_str()) != l.get(k.as_str()))
            .map(|k| format!("parameters.{k}")),
    );
    fields
}

/// PVs of the StorageClass `name`.
fn pvs_using(ctx: &Context, name: &str) -> Vec<String> {
    ctx.cluster_stores
        .persistent_volumes
        .state()
        .iter()
        .filter(|pv| {
            pv.spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref())
                == Some(name)
        })
        .map(|pv| format!("PV {}", pv.name_any()))
        .collect()
}

/// PVs and PVCs using the StorageClass `name`.
fn storage_class_users(ctx: &Context, name: &str) -> Vec<String> {
    let mut users = pvs_using(ctx, name);
    users.extend(
        ctx.stores
            .pvcs
            .state()
            .iter()
            .filter(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.storage_class_name.as_deref())
                    == Some(name)
            })
            .map(|p| format!("PVC {}/{}", p.namespace().unwrap_or_default(), p.name_any())),
    );
    users
}

/// Adds the cleanup finalizer when this Exposure creates a StorageClass (and only then).
pub async fn ensure_finalizer(
    ctx: &Context,
    exposure: &Exposure,
    children: &Children,
) -> Result<(), Error> {
    if children.storage_classes.is_empty() {
        return Ok(());
    }
    set_cleanup_finalizer(ctx, exposure, true).await
}

fn has_cleanup_finalizer(exposure: &Exposure) -> bool {
    exposure
        .finalizers()
        .iter()
        .any(|f| f == labels::CLEANUP_FINALIZER)
}

/// Adds or removes `exposure.dev/cleanup`, leaving other finalizers alone; no write when it is
/// already as wanted.
async fn set_cleanup_finalizer(
    ctx: &Context,
    exposure: &Exposure,
    present: bool,
) -> Result<(), Error> {
    if has_cleanup_finalizer(exposure) == present {
        return Ok(());
    }
    let mut finalizers: Vec<String> = exposure
        .finalizers()
        .iter()
        .filter(|f| *f != labels::CLEANUP_FINALIZER)
        .cloned()
        .collect();
    if present {
        finalizers.push(labels::CLEANUP_FINALIZER.to_string());
    }
    patch_finalizers(ctx, exposure, finalizers).await
}

async fn patch_finalizers(
    ctx: &Context,
    exposure: &Exposure,
    finalizers: Vec<String>,
) -> Result<(), Error> {
    let api: Api<Exposure> = Api::namespaced(
        ctx.client.clone(),
        &exposure.namespace().unwrap_or_default(),
    );
    // The resourceVersion makes this a compare-and-swap: a concurrent change to the list fails
    // instead of being overwritten.
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": exposure.resource_version()}});
    ctx.metrics.count_write("Exposure", "patch");
    api.patch(
        &exposure.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// Volumes no longer in the spec: `reclaim: Delete` PVCs are deleted, the others released;
/// StorageClasses no longer desired are deleted once unused. Also drops the finalizer when no
/// StorageClass of ours is left.
pub async fn release_undesired(
    ctx: &Context,
    exposure: &Exposure,
    namespace: &str,
    plan: &[Planned],
) -> Result<Vec<Event>, Error> {
    let name = exposure.name_any();
    let uid = exposure.uid().unwrap_or_default();
    let desired = |kind: ChildKind, n: &str| {
        plan.iter()
            .any(|p| p.child.kind == kind && p.child.name == n)
    };
    let mut notes = Vec::new();
    for pvc in labelled_pvcs(ctx, namespace, &name) {
        if !desired(ChildKind::PersistentVolumeClaim, &pvc.name_any()) {
            notes.push(let_go_of_pvc(ctx, &pvc, &name, &uid).await?);
        }
    }
    let mut remaining = 0;
    for sc in labelled_storage_classes(ctx, namespace, &name) {
        if desired(ChildKind::StorageClass, &sc.name_any()) {
            remaining += 1;
        } else if let Some(kept) = delete_storage_class_if_unused(ctx, &sc).await? {
            remaining += 1;
            // Said once: in the reconcile that dropped the class from the status resources
            // (each later one would repeat it until the volume goes).
            if listed_in_status(exposure, &sc.name_any()) {
                notes.extend(kept);
            }
        } else {
            notes.push(note(
                EventType::Normal,
                "Deleted",
                format!(
                    "Deleted StorageClass {}: no longer in the spec",
                    sc.name_any()
                ),
            ));
        }
    }
    if remaining == 0 {
        set_cleanup_finalizer(ctx, exposure, false).await?;
    }
    Ok(notes)
}

/// Deletes a `reclaim: Delete` PVC (controlled by `uid`), releases any other.
async fn let_go_of_pvc(
    ctx: &Context,
    pvc: &PersistentVolumeClaim,
    exposure: &str,
    uid: &str,
) -> Result<Event, Error> {
    let ns = pvc.namespace().unwrap_or_default();
    if ownership::controlled_by(&pvc.metadata, uid) {
        apply::delete(
            ctx,
            ChildKind::PersistentVolumeClaim,
            &ns,
            &pvc.name_any(),
            pvc.uid(),
        )
        .await?;
        let mut ev = note(
            EventType::Normal,
            "Deleted",
            format!("Deleted PVC {} (reclaim: Delete)", pvc.name_any()),
        );
        ev.secondary = Some(child_reference(
            ChildKind::PersistentVolumeClaim,
            &ns,
            &pvc.name_any(),
        ));
        return Ok(ev);
    }
    release_pvc(ctx, pvc, exposure).await?;
    let mut ev = note(
        EventType::Normal,
        "Retained",
        format!(
            "Released PVC {} (reclaim: Retain): labelled {}={exposure}; its data stays until you delete it",
            pvc.name_any(),
            labels::RETAINED_FROM
        ),
    );
    ev.secondary = Some(child_reference(
        ChildKind::PersistentVolumeClaim,
        &ns,
        &pvc.name_any(),
    ));
    Ok(ev)
}

/// Re-applies the PVC with `retained-from` in place of our ownership labels. Server-side apply
/// drops the fields we no longer set (our labels, the hash); the spec is restated as it is.
async fn release_pvc(
    ctx: &Context,
    pvc: &PersistentVolumeClaim,
    exposure: &str,
) -> Result<(), Error> {
    let spec = pvc.spec.clone().unwrap_or_default();
    let patch = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": pvc.name_any(),
            "namespace": pvc.namespace(),
            "labels": {
                labels::MANAGED_BY: labels::MANAGER,
                labels::RETAINED_FROM: exposure,
                labels::VOLUME: pvc.labels().get(labels::VOLUME),
            },
        },
        "spec": {
            "accessModes": spec.access_modes,
            "resources": {"requests": {"storage": spec.resources.and_then(|r| r.requests).and_then(|r| r.get("storage").cloned())}},
            "storageClassName": spec.storage_class_name,
        },
    });
    let api: Api<PersistentVolumeClaim> =
        Api::namespaced(ctx.client.clone(), &pvc.namespace().unwrap_or_default());
    ctx.metrics.count_write("PersistentVolumeClaim", "apply");
    api.patch(
        &pvc.name_any(),
        &PatchParams::apply(labels::MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

fn listed_in_status(exposure: &Exposure, class: &str) -> bool {
    let kind = ChildKind::StorageClass.as_str();
    exposure
        .status
        .iter()
        .flat_map(|s| &s.resources)
        .any(|r| r.kind == kind && r.name == class)
}

/// `None` when deleted (or already gone); `Some(events)` when kept because something uses it.
async fn delete_storage_class_if_unused(
    ctx: &Context,
    sc: &StorageClass,
) -> Result<Option<Vec<Event>>, Error> {
    let users = storage_class_users(ctx, &sc.name_any());
    if !users.is_empty() {
        return Ok(Some(vec![note(
            EventType::Normal,
            "StorageClassKept",
            format!(
                "Keeping StorageClass {} while {} uses it (a provisioned volume needs its class to be deleted); \
                 it is deleted once unused",
                sc.name_any(),
                users.join(", ")
            ),
        )]));
    }
    apply::delete(ctx, ChildKind::StorageClass, "", &sc.name_any(), sc.uid()).await?;
    Ok(None)
}

fn labelled_pvcs(ctx: &Context, namespace: &str, name: &str) -> Vec<PersistentVolumeClaim> {
    ctx.stores
        .pvcs
        .state()
        .iter()
        .filter(|p| {
            p.namespace().as_deref() == Some(namespace)
                && ownership::labelled_for(&p.metadata, name)
        })
        .map(|p| p.as_ref().clone())
        .collect()
}

fn labelled_storage_classes(ctx: &Context, namespace: &str, name: &str) -> Vec<Arc<StorageClass>> {
    ctx.cluster_stores
        .storage_classes
        .state()
        .into_iter()
        .filter(|sc| ownership::cluster_labelled_for(&sc.metadata, namespace, name))
        .collect()
}

/// PVCs released from an Exposure of this name that its spec does not use now.
pub fn retained_volumes(
    ctx: &Context,
    exposure: &Exposure,
    namespace: &str,
) -> Vec<RetainedVolume> {
    let name = exposure.name_any();
    let in_use: BTreeSet<String> = exposure
        .spec
        .storage
        .iter()
        .map(|v| pvc_name(&name, &v.name))
        .collect();
    let mut out: Vec<RetainedVolume> = ctx
        .stores
        .pvcs
        .state()
        .iter()
        .filter(|p| {
            p.namespace().as_deref() == Some(namespace)
                && p.labels().get(labels::RETAINED_FROM) == Some(&name)
                && !in_use.contains(&p.name_any())
        })
        .map(|p| RetainedVolume {
            name: p.name_any(),
            volume: p.labels().get(labels::VOLUME).cloned().unwrap_or_default(),
            size: p
                .spec
                .as_ref()
                .and_then(|s| s.resources.as_ref())
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get("storage"))
                .map(|q| q.0.clone()),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A Warning when a ReadWriteOnce volume is shared by more than one replica.
pub fn warnings(exposure: &Exposure) -> Vec<Event> {
    let replicas = exposure.spec.replicas.unwrap_or(1);
    let rwo = exposure.spec.storage.iter().filter(|v| {
        v.access_modes.is_empty() || v.access_modes.iter().any(|m| m.as_str() == "ReadWriteOnce")
    });
    let names: Vec<&str> = rwo.map(|v| v.name.as_str()).collect();
    if replicas <= 1 || names.is_empty() {
        return Vec::new();
    }
    vec![note(
        EventType::Warning,
        "SharedReadWriteOnce",
        format!(
            "{replicas} replicas share ReadWriteOnce volume(s) {}: pods on different nodes cannot mount them and a rolling update \
             can deadlock; use replicas: 1 with strategy: Recreate, or a ReadWriteMany volume",
            names.join(", ")
        ),
    )]
}

/// Deletion: release Retain PVCs (Delete ones go with the garbage collector), delete unused
/// StorageClasses, then drop the finalizer. Classes still in use stay (the sweep deletes them
/// later); after repeated failures the finalizer is dropped anyway, with an event.
pub async fn finalize(
    ctx: &Context,
    exposure: &Exposure,
    namespace: &str,
) -> Result<Action, Error> {
    if !has_cleanup_finalizer(exposure) {
        return Ok(Action::await_change());
    }
    let attempt = ctx.failed_attempts(exposure);
    let result = cleanup(ctx, exposure, namespace).await;
    let notes = match result {
        Ok(notes) => notes,
        Err(e) if attempt + 1 >= MAX_CLEANUP_ATTEMPTS => vec![note(
            EventType::Warning,
            "CleanupAbandoned",
            format!("Gave up cleaning up after {MAX_CLEANUP_ATTEMPTS} attempts ({e}); leftover StorageClasses are deleted by a later sweep"),
        )],
        Err(e) => return Err(e),
    };
    set_cleanup_finalizer(ctx, exposure, false).await?;
    publish(ctx, exposure, &notes).await;
    Ok(Action::await_change())
}

async fn cleanup(ctx: &Context, exposure: &Exposure, namespace: &str) -> Result<Vec<Event>, Error> {
    let name = exposure.name_any();
    let uid = exposure.uid().unwrap_or_default();
    let mut notes = Vec::new();
    for pvc in labelled_pvcs(ctx, namespace, &name) {
        if !ownership::controlled_by(&pvc.metadata, &uid) {
            notes.push(let_go_of_pvc(ctx, &pvc, &name, &uid).await?);
        }
    }
    for sc in labelled_storage_classes(ctx, namespace, &name) {
        if let Some(kept) = delete_storage_class_if_unused(ctx, &sc).await? {
            notes.extend(kept);
        }
    }
    Ok(notes)
}

/// Periodic sweep: PVCs labelled for an Exposure that no longer exists are released (an
/// Exposure without finalizer is gone before we see it), and StorageClasses of missing
/// Exposures, or no longer in their spec, are deleted once unused. Writes nothing when there is nothing to do.
pub async fn sweep(ctx: &Context) -> Result<(), Error> {
    let find = |ns: &str, name: &str| {
        let key = kube::runtime::reflector::ObjectRef::new(name).within(ns);
        ctx.all_exposures.iter().find_map(|s| s.get(&key))
    };
    for pvc in ctx.stores.pvcs.state() {
        let (Some(ns), Some(name)) = (
            pvc.namespace(),
            ownership::exposure_name(&pvc.metadata).map(str::to_owned),
        ) else {
            continue;
        };
        if find(&ns, &name).is_none()
            && pvc.metadata.deletion_timestamp.is_none()
            && pvc.owner_references().is_empty()
        {
            release_pvc(ctx, &pvc, &name).await?;
            tracing::info!(pvc = %pvc.name_any(), namespace = %ns, exposure = %name, "released PVC of a deleted Exposure");
        }
    }
    for sc in ctx.cluster_stores.storage_classes.state() {
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
        let wanted = find(ns, name).is_some_and(|e| names_class(&e, ns, &sc.name_any()));
        if !wanted {
            delete_storage_class_if_unused(ctx, &sc).await?;
        }
    }
    Ok(())
}

/// Whether a glusterfs volume of `exposure` (in `namespace`) builds the StorageClass `class`.
fn names_class(exposure: &Exposure, namespace: &str, class: &str) -> bool {
    exposure.spec.storage.iter().any(|v| {
        v.glusterfs.is_some()
            && storage_class_name(Some(namespace), &exposure.name_any(), v) == class
    })
}

/// Whether this operator instance watches `namespace` (a StorageClass of an unwatched
/// namespace's Exposure is not ours to judge).
fn in_scope(ctx: &Context, namespace: &str) -> bool {
    ctx.config.namespaces.is_empty() || ctx.config.namespaces.iter().any(|n| n == namespace)
}

pub fn sweep_interval() -> Duration {
    Duration::from_secs(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposure(spec: Value) -> Exposure {
        serde_json::from_value(json!({
            "apiVersion": "exposure.dev/v1alpha1",
            "kind": "Exposure",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": spec,
        }))
        .unwrap()
    }

    fn pvc(size: &str, modes: &[&str], class: &str) -> Value {
        json!({
            "metadata": {"name": "web-data", "labels": {labels::VOLUME: "data"}},
            "spec": {
                "accessModes": modes,
                "resources": {"requests": {"storage": size}},
                "storageClassName": class,
            },
        })
    }

    fn with_data_volume() -> Exposure {
        exposure(json!({
            "image": "busybox",
            "storage": [
                {"name": "logs", "mountPath": "/logs", "size": "1Gi"},
                {"name": "data", "mountPath": "/data", "size": "1Gi"},
            ],
        }))
    }

    #[test]
    fn growing_is_fine_shrinking_names_the_current_size() {
        let e = with_data_volume();
        let live = pvc("2Gi", &["ReadWriteOnce"], "fast");
        assert!(pvc_change_blockers(&e, &pvc("3Gi", &["ReadWriteOnce"], "fast"), &live).is_empty());
        let b = pvc_change_blockers(&e, &pvc("1Gi", &["ReadWriteOnce"], "fast"), &live);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].reason, INVALID_SPEC);
        assert!(
            b[0].message.starts_with(
                "spec.storage[1].size: 1Gi is smaller than the current size 2Gi of PVC web-data"
            ),
            "{}",
            b[0].message
        );
    }

    #[test]
    fn access_modes_and_class_cannot_change() {
        let e = with_data_volume();
        let live = pvc("1Gi", &["ReadWriteOnce"], "fast");
        let b = pvc_change_blockers(&e, &pvc("1Gi", &["ReadWriteMany"], "slow"), &live);
        let messages: Vec<&str> = b.iter().map(|b| b.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains(
            "the accessModes of PVC web-data cannot change ([\"ReadWriteOnce\"] → [\"ReadWriteMany\"])"
        ));
        assert!(messages[1]
            .contains("the storage class of PVC web-data cannot change (fast → slow); keep fast"));
    }

    #[test]
    fn class_differences_name_the_fields() {
        let live = json!({"provisioner": "kubernetes.io/glusterfs", "reclaimPolicy": "Delete",
            "parameters": {"resturl": "http://a", "volumetype": "none"}});
        let desired = json!({"provisioner": "kubernetes.io/glusterfs", "reclaimPolicy": "Retain",
            "parameters": {"resturl": "http://b"}});
        assert_eq!(
            storage_class_differences(&desired, &live),
            [
                "reclaimPolicy",
                "parameters.resturl",
                "parameters.volumetype"
            ]
        );
        assert!(storage_class_differences(&live, &live).is_empty());
    }

    #[test]
    fn a_class_is_named_by_a_glusterfs_volume_only() {
        let e = exposure(json!({
            "image": "busybox",
            "storage": [
                {"name": "data", "mountPath": "/data", "size": "1Gi",
                 "glusterfs": {"resturl": "http://heketi:8080"}},
                {"name": "named", "mountPath": "/named", "size": "1Gi",
                 "glusterfs": {"resturl": "http://heketi:8080", "className": "gluster-heketi"}},
                {"name": "plain", "mountPath": "/plain", "size": "1Gi", "storageClassName": "fast"},
            ],
        }));
        assert!(names_class(&e, "shop", "shop.web.data"));
        assert!(names_class(&e, "shop", "gluster-heketi"));
        assert!(!names_class(&e, "shop", "fast"));
        assert!(!names_class(&e, "other", "shop.web.data"));
    }

    #[test]
    fn shared_read_write_once_warns_with_more_than_one_replica() {
        let spec = |replicas: i32, modes: Value| {
            exposure(json!({
                "image": "busybox",
                "replicas": replicas,
                "storage": [{"name": "data", "mountPath": "/data", "size": "1Gi", "accessModes": modes}],
            }))
        };
        assert!(warnings(&spec(1, json!(["ReadWriteOnce"]))).is_empty());
        assert!(warnings(&spec(2, json!(["ReadWriteMany"]))).is_empty());
        let w = warnings(&spec(2, json!([])));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].reason, "SharedReadWriteOnce");
        assert!(w[0]
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("strategy: Recreate"));
    }
}

//! The write primitives the executor uses: server-side apply (field manager
//! `exposure-operator`) skipped when nothing we own would change, deletes of exactly the
//! object looked at, the finalizer patch, the status patch and events.

use exposure_crd::{labels, Exposure, ExposureStatus};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions, PropagationPolicy};
use kube::core::DynamicObject;
use kube::{Api, Resource, ResourceExt};
use serde_json::{json, Value};

use super::context::Context;
use super::error::Error;
use crate::build::ChildKind;
use crate::decide::DesiredChild;
use crate::drift;
use crate::events::Event;

/// What happened to one child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Unchanged,
    Created,
    Updated,
}

pub fn dynamic_api(ctx: &Context, kind: ChildKind, namespace: &str) -> Api<DynamicObject> {
    let ar = kind.api_resource();
    if kind.namespaced() {
        Api::namespaced_with(ctx.client.clone(), namespace, &ar)
    } else {
        Api::all_with(ctx.client.clone(), &ar)
    }
}

/// Applies one desired child unless `live` is up to date with it.
pub async fn apply(
    ctx: &Context,
    namespace: &str,
    child: &DesiredChild,
    live: Option<&Value>,
) -> Result<Applied, Error> {
    let desired = &child.object;
    if live.is_some_and(|live| drift::is_up_to_date(desired, live)) {
        return Ok(Applied::Unchanged);
    }
    let api = dynamic_api(ctx, child.kind, namespace);
    let params = PatchParams::apply(labels::MANAGER).force();
    let name = &child.name;
    ctx.before_write(child.kind.as_str(), "apply").await?;
    match api.patch(name, &params, &Patch::Apply(desired)).await {
        Ok(_) => {}
        // A Service cannot change between ExternalName and the other types in place (clusterIP
        // and nodePorts allocated for one type are invalid for the other): recreate it.
        Err(kube::Error::Api(e)) if e.code == 422 && needs_recreate(child, live) => {
            tracing::info!(%name, reason = %e.message, "recreating Service whose type cannot change in place");
            delete(ctx, child.kind, namespace, name, uid_of(live)).await?;
            ctx.before_write(child.kind.as_str(), "apply").await?;
            api.patch(name, &params, &Patch::Apply(desired)).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(if live.is_some() {
        Applied::Updated
    } else {
        Applied::Created
    })
}

fn needs_recreate(child: &DesiredChild, live: Option<&Value>) -> bool {
    let type_of = |v: Option<&Value>| {
        v.and_then(|v| v.pointer("/spec/type"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    child.kind == ChildKind::Service
        && live.is_some()
        && type_of(live) != type_of(Some(&child.object))
}

pub fn uid_of(v: Option<&Value>) -> Option<String> {
    v.and_then(|v| v.pointer("/metadata/uid"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Deletes a child, only the exact object we looked at (uid precondition).
pub async fn delete(
    ctx: &Context,
    kind: ChildKind,
    namespace: &str,
    name: &str,
    uid: Option<String>,
) -> Result<(), Error> {
    delete_with(
        ctx,
        kind,
        namespace,
        name,
        uid,
        PropagationPolicy::Background,
    )
    .await
}

/// Deletes a StatefulSet that is recreated at once: its pods keep running and the new one
/// adopts them. Returns once it is gone (the garbage collector first removes the pods'
/// ownerReferences, usually within a second); an apply before that would patch the old one.
pub async fn delete_keeping_pods(
    ctx: &Context,
    kind: ChildKind,
    namespace: &str,
    name: &str,
    uid: Option<String>,
) -> Result<(), Error> {
    delete_with(
        ctx,
        kind,
        namespace,
        name,
        uid.clone(),
        PropagationPolicy::Orphan,
    )
    .await?;
    let api = dynamic_api(ctx, kind, namespace);
    for _ in 0..ORPHAN_WAIT_STEPS {
        match api.get_opt(name).await? {
            Some(live) if live.metadata.uid == uid => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            _ => return Ok(()),
        }
    }
    Err(Error::StillDeleting(format!(
        "{} {namespace}/{name}",
        kind.as_str()
    )))
}

/// Sets the claim retention of a StatefulSet about to be deleted to Retain, and returns once
/// its controller has synced that generation: under `Delete` the controller gives each per-pod
/// claim an ownerReference to the set on every sync, so a claim disowned before it has seen
/// `Retain` could be owned again and deleted by the garbage collector with the set.
pub async fn retain_claims(
    ctx: &Context,
    namespace: &str,
    name: &str,
    uid: Option<String>,
) -> Result<(), Error> {
    let api = dynamic_api(ctx, ChildKind::StatefulSet, namespace);
    let mut patch = json!({"spec": {"persistentVolumeClaimRetentionPolicy": {
        "whenDeleted": "Retain", "whenScaled": "Retain"}}});
    if let Some(uid) = &uid {
        // A precondition: another object of the same name is not touched (409).
        patch["metadata"] = json!({"uid": uid});
    }
    ctx.before_write(ChildKind::StatefulSet.as_str(), "patch")
        .await?;
    let generation = match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(set) => set.metadata.generation.unwrap_or_default(),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let observed = |set: &DynamicObject| {
        set.data
            .pointer("/status/observedGeneration")
            .and_then(Value::as_i64)
            .unwrap_or_default()
    };
    for _ in 0..ORPHAN_WAIT_STEPS {
        match api.get_opt(name).await? {
            Some(set) if set.metadata.uid == uid && observed(&set) < generation => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            _ => return Ok(()),
        }
    }
    Err(Error::Waiting(format!(
        "StatefulSet {namespace}/{name}: its controller has not synced claim retention Retain \
         within 30 s, which must come before its deletion"
    )))
}

/// At most 30 s for an orphaning delete.
const ORPHAN_WAIT_STEPS: u32 = 150;

async fn delete_with(
    ctx: &Context,
    kind: ChildKind,
    namespace: &str,
    name: &str,
    uid: Option<String>,
    propagation: PropagationPolicy,
) -> Result<(), Error> {
    let api = dynamic_api(ctx, kind, namespace);
    let params = DeleteParams {
        preconditions: uid.map(|uid| Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        propagation_policy: Some(propagation),
        ..Default::default()
    };
    ctx.before_write(kind.as_str(), "delete").await?;
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Field manager of the replicas handed over to an autoscaler (see `decide::workload`).
pub const HANDOVER_MANAGER: &str = "exposure-operator-handover";

/// Applies only `spec.replicas` of a workload under [`HANDOVER_MANAGER`], so that they stay
/// when the operator's own apply stops setting them.
pub async fn hand_over_replicas(
    ctx: &Context,
    namespace: &str,
    child: &DesiredChild,
    replicas: i32,
) -> Result<(), Error> {
    let api = dynamic_api(ctx, child.kind, namespace);
    let patch = json!({
        "apiVersion": child.kind.api_version(),
        "kind": child.kind.as_str(),
        "metadata": {"name": child.name},
        "spec": {"replicas": replicas},
    });
    ctx.before_write(child.kind.as_str(), "apply").await?;
    api.patch(
        &child.name,
        &PatchParams::apply(HANDOVER_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// Removes the ownerReferences of exactly this PVC (a StatefulSet's per-pod claim that must
/// outlive it).
pub async fn disown_pvc(
    ctx: &Context,
    namespace: &str,
    name: &str,
    uid: Option<&str>,
) -> Result<(), Error> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), namespace);
    // The uid makes the patch fail (409) if the claim was replaced meanwhile.
    let patch = json!({"metadata": {"uid": uid, "ownerReferences": null}});
    ctx.before_write("PersistentVolumeClaim", "patch").await?;
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Re-applies a PVC as released (see `decide::storage::release_patch`).
pub async fn release_pvc(
    ctx: &Context,
    namespace: &str,
    name: &str,
    patch: &Value,
) -> Result<(), Error> {
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), namespace);
    ctx.before_write("PersistentVolumeClaim", "apply").await?;
    api.patch(
        name,
        &PatchParams::apply(labels::MANAGER).force(),
        &Patch::Apply(patch),
    )
    .await?;
    Ok(())
}

/// Sets the Exposure's finalizers; no write when they are already as wanted.
pub async fn set_finalizers(
    ctx: &Context,
    exposure: &Exposure,
    finalizers: Vec<String>,
) -> Result<(), Error> {
    let sorted = |list: &[String]| {
        let mut list = list.to_vec();
        list.sort();
        list
    };
    if sorted(exposure.finalizers()) == sorted(&finalizers) {
        return Ok(());
    }
    let api: Api<Exposure> = Api::namespaced(
        ctx.client.clone(),
        &exposure.namespace().unwrap_or_default(),
    );
    // The resourceVersion makes this a compare-and-swap: a concurrent change to the list fails
    // instead of being overwritten.
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": exposure.resource_version()}});
    ctx.before_write("Exposure", "patch").await?;
    let written = api
        .patch(
            &exposure.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    ctx.own_writes.wrote(&written);
    Ok(())
}

pub async fn write_status(
    ctx: &Context,
    namespace: &str,
    name: &str,
    status: &ExposureStatus,
) -> Result<(), Error> {
    let api: Api<Exposure> = Api::namespaced(ctx.client.clone(), namespace);
    let patch = json!({
        "apiVersion": format!("{}/{}", exposure_crd::GROUP, exposure_crd::VERSION),
        "kind": "Exposure",
        "status": status,
    });
    ctx.before_write("Exposure", "status").await?;
    let written = api
        .patch_status(
            name,
            &PatchParams::apply(labels::MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    ctx.own_writes.wrote(&written);
    Ok(())
}

/// Publishes events about the Exposure (each counted as a write).
pub async fn publish(ctx: &Context, exposure: &Exposure, notes: &[Event]) {
    let reference = exposure.object_ref(&());
    for ev in notes {
        if ctx.before_write("Event", "create").await.is_err() {
            tracing::warn!(reason = %ev.reason, "not publishing an event: fenced");
            continue;
        }
        if let Err(e) = ctx.events.publish(ev, &reference).await {
            tracing::warn!(error = %e, reason = %ev.reason, "could not publish event");
        }
    }
}

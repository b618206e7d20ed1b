//! The only code that writes children: server-side apply (field manager
//! `exposure-operator`), skipped when nothing we own would change, and deletes.

use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::core::DynamicObject;
use kube::Api;
use serde_json::Value;

use super::children::{ChildKind, DesiredChild};
use super::context::Context;
use super::ownership;
use super::Error;
use crate::drift;
use exposure_crd::labels;

/// A desired child with what the cluster holds under its name now.
pub struct Planned {
    pub child: DesiredChild,
    pub live: Option<Value>,
}

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

/// Looks up each desired child: from the cache (our labelled objects), else with one GET (the
/// name may be held by an object that is not ours). Returns the plan and the conflicts.
pub async fn plan(
    ctx: &Context,
    namespace: &str,
    exposure: &str,
    desired: Vec<DesiredChild>,
) -> Result<(Vec<Planned>, Vec<String>), Error> {
    let mut planned = Vec::with_capacity(desired.len());
    let mut conflicts = Vec::new();
    for child in desired {
        let live = match ctx.cached_child(child.kind, namespace, &child.name) {
            Some(v) => Some(v),
            None => dynamic_api(ctx, child.kind, namespace)
                .get_opt(&child.name)
                .await?
                .and_then(|o| serde_json::to_value(o).ok()),
        };
        if let Some(live) = &live {
            let meta: kube::api::ObjectMeta =
                serde_json::from_value(live.get("metadata").cloned().unwrap_or_default())
                    .unwrap_or_default();
            let ours = match child.kind {
                ChildKind::StorageClass => {
                    ownership::cluster_labelled_for(&meta, namespace, exposure)
                }
                // A PVC released by an Exposure of this name is adopted again, as it is.
                ChildKind::PersistentVolumeClaim => {
                    ownership::labelled_for(&meta, exposure)
                        || ownership::retained_from(&meta, exposure)
                }
                _ => ownership::labelled_for(&meta, exposure),
            };
            if !ours {
                conflicts.push(foreign_message(child.kind, namespace, &child.name, &meta));
            }
        }
        planned.push(Planned { child, live });
    }
    Ok((planned, conflicts))
}

fn foreign_message(
    kind: ChildKind,
    namespace: &str,
    name: &str,
    meta: &kube::api::ObjectMeta,
) -> String {
    let whose = match meta.labels.as_ref().and_then(|l| l.get(labels::NAME)) {
        Some(other) => format!("it belongs to Exposure {other}"),
        None => format!("it has no {} label of this Exposure", labels::NAME),
    };
    let place = if kind.namespaced() {
        format!("{namespace}/{name}")
    } else {
        name.to_string()
    };
    format!("{} {place} already exists and is not managed by this Exposure ({whose}); rename or delete it", kind.as_str())
}

/// Applies one planned child unless it is up to date.
pub async fn apply(ctx: &Context, namespace: &str, planned: &Planned) -> Result<Applied, Error> {
    let desired = &planned.child.object;
    if let Some(live) = &planned.live {
        if drift::is_up_to_date(desired, live) {
            return Ok(Applied::Unchanged);
        }
    }
    let api = dynamic_api(ctx, planned.child.kind, namespace);
    let params = PatchParams::apply(labels::MANAGER).force();
    let name = &planned.child.name;
    ctx.metrics
        .count_write(planned.child.kind.as_str(), "apply");
    match api.patch(name, &params, &Patch::Apply(desired)).await {
        Ok(_) => {}
        // A Service cannot change between ExternalName and the other types in place (clusterIP
        // and nodePorts allocated for one type are invalid for the other): recreate it.
        Err(kube::Error::Api(e)) if e.code == 422 && needs_recreate(planned) => {
            tracing::info!(%name, reason = %e.message, "recreating Service whose type cannot change in place");
            delete(
                ctx,
                planned.child.kind,
                namespace,
                name,
                uid_of(planned.live.as_ref()),
            )
            .await?;
            ctx.metrics
                .count_write(planned.child.kind.as_str(), "apply");
            api.patch(name, &params, &Patch::Apply(desired)).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(if planned.live.is_some() {
        Applied::Updated
    } else {
        Applied::Created
    })
}

fn needs_recreate(planned: &Planned) -> bool {
    let type_of = |v: Option<&Value>| {
        v.and_then(|v| v.pointer("/spec/type"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    planned.child.kind == ChildKind::Service
        && planned.live.is_some()
        && type_of(planned.live.as_ref()) != type_of(Some(&planned.child.object))
}

fn uid_of(v: Option<&Value>) -> Option<String> {
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
    let api = dynamic_api(ctx, kind, namespace);
    let params = DeleteParams {
        preconditions: uid.map(|uid| Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        propagation_policy: Some(kube::api::PropagationPolicy::Background),
        ..Default::default()
    };
    ctx.metrics.count_write(kind.as_str(), "delete");
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes children labelled for this Exposure, controlled by it, that are no longer desired.
/// PVCs and StorageClasses are never pruned here (see the storage module).
pub async fn prune(
    ctx: &Context,
    namespace: &str,
    exposure: &str,
    uid: &str,
    desired: &[Planned],
) -> Result<Vec<(ChildKind, String)>, Error> {
    let mut deleted = Vec::new();
    for kind in ChildKind::ALL {
        if matches!(
            kind,
            ChildKind::PersistentVolumeClaim | ChildKind::StorageClass
        ) {
            continue;
        }
        for live in ctx.labelled_children(kind, namespace, exposure) {
            let meta: kube::api::ObjectMeta =
                serde_json::from_value(live.get("metadata").cloned().unwrap_or_default())
                    .unwrap_or_default();
            let name = meta.name.clone().unwrap_or_default();
            let still_desired = desired
                .iter()
                .any(|p| p.child.kind == kind && p.child.name == name);
            // Endpoints written by the endpoints controller copy our Service labels but have no
            // ownerReference: only what we control is ours to delete.
            if still_desired || !ownership::controlled_by(&meta, uid) {
                continue;
            }
            delete(ctx, kind, namespace, &name, meta.uid.clone()).await?;
            deleted.push((kind, name));
        }
    }
    Ok(deleted)
}

/// On clusters with EndpointSlices the operator neither builds nor watches v1 Endpoints (on
/// 1.33+ every request to them draws a deprecation warning). An Endpoints it wrote before the
/// cluster was upgraded is named in the Exposure's `status.resources`: it is deleted once,
/// if it is still ours (our label, controlled by this Exposure), and the status written after
/// this reconcile no longer names it, so nothing asks for v1 Endpoints again.
pub async fn prune_legacy_endpoints(
    ctx: &Context,
    exposure: &exposure_crd::Exposure,
    namespace: &str,
    uid: &str,
) -> Result<Vec<(ChildKind, String)>, Error> {
    if !ctx.cluster.supports(crate::cluster::Feature::EndpointSlice) {
        return Ok(Vec::new());
    }
    let listed = exposure
        .status
        .iter()
        .flat_map(|s| &s.resources)
        .filter(|r| r.kind == ChildKind::Endpoints.as_str());
    let mut deleted = Vec::new();
    for legacy in listed {
        let api = dynamic_api(ctx, ChildKind::Endpoints, namespace);
        let Some(live) = api.get_opt(&legacy.name).await? else {
            continue;
        };
        let exposure_name = exposure.metadata.name.as_deref().unwrap_or_default();
        if ownership::labelled_for(&live.metadata, exposure_name)
            && ownership::controlled_by(&live.metadata, uid)
        {
            delete(
                ctx,
                ChildKind::Endpoints,
                namespace,
                &legacy.name,
                live.metadata.uid.clone(),
            )
            .await?;
            deleted.push((ChildKind::Endpoints, legacy.name.clone()));
        }
    }
    Ok(deleted)
}

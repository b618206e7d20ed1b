//! One reconcile: validate → build (pure) → apply → prune → compute status (pure) → write
//! status. Only `apply`, `prune`, the storage steps and `write_status` touch the API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use exposure_crd::{condition, labels, Exposure, ExposureStatus};
use k8s_openapi::api::core::v1::{Event as CoreEvent, ObjectReference, PersistentVolumeClaim};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use super::apply::{self, Applied};
use super::children::{desired_children, ChildKind};
use super::context::Context;
use super::{storage, Error};
use crate::build::{build, Children};
use crate::conflicts::cross_object_blockers;
use crate::status::{compute_status, Blocker, Observed, Outcome};
use crate::validate::{validate, FieldError};

pub const INVALID_SPEC: &str = "InvalidSpec";
pub const UNSUPPORTED_BY_CLUSTER: &str = "UnsupportedByCluster";
pub const RESOURCE_CONFLICT: &str = "ResourceConflict";
pub const QUOTA_EXCEEDED: &str = "QuotaExceeded";
/// Quota frees up without any event we watch: look again soon.
const QUOTA_RECHECK: Duration = Duration::from_secs(30);

pub async fn reconcile(exposure: Arc<Exposure>, ctx: Arc<Context>) -> Result<Action, Error> {
    caches_synced(&ctx).await;
    let started = Instant::now();
    ctx.metrics.reconciles.inc();
    let result = reconcile_exposure(&exposure, &ctx).await;
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    if result.is_ok() {
        ctx.forget_failures(&exposure);
    }
    result
}

/// Waits until every cache a reconcile reads holds its initial list (at once after startup).
/// Judged from a half-filled cache, a deleting Exposure finds no StorageClass to clean up and
/// drops its finalizer, and a class in use looks unused.
async fn caches_synced(ctx: &Context) {
    let (s, c) = (&ctx.stores, &ctx.cluster_stores);
    super::synced(&s.exposures).await;
    super::synced(&s.deployments).await;
    super::synced(&s.services).await;
    super::synced(&s.endpoints).await;
    super::synced(&s.endpoint_slices).await;
    super::synced(&s.ingresses).await;
    super::synced(&s.quotas).await;
    super::synced(&s.pvcs).await;
    super::synced(&s.pods).await;
    super::synced(&c.storage_classes).await;
    super::synced(&c.persistent_volumes).await;
    if let Some(nodes) = &c.nodes {
        super::synced(nodes).await;
    }
}

/// Transient errors back off exponentially per Exposure (5 s doubling, capped at 5 min).
pub fn error_policy(exposure: Arc<Exposure>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.count_error(error.kind());
    let (attempts, delay) = ctx.record_failure(&exposure);
    tracing::warn!(exposure = %exposure.name_any(), namespace = ?exposure.namespace(), %error, attempts, ?delay, "reconcile failed");
    Action::requeue(delay)
}

async fn reconcile_exposure(exposure: &Exposure, ctx: &Context) -> Result<Action, Error> {
    let namespace = exposure
        .namespace()
        .ok_or(Error::MissingField("metadata.namespace"))?;
    let name = exposure.name_any();
    let uid = exposure.uid().ok_or(Error::MissingField("metadata.uid"))?;

    if exposure.metadata.deletion_timestamp.is_some() {
        return storage::finalize(ctx, exposure, &namespace).await;
    }

    let mut notes = Vec::<Event>::new();
    let mut blockers = Vec::<Blocker>::new();
    let mut applied: Option<Children> = None;

    match validate(exposure, &ctx.cluster) {
        Err(errors) => blockers = field_error_blockers(&errors),
        Ok(valid) => {
            let others: Vec<Arc<Exposure>> =
                ctx.all_exposures.iter().flat_map(|s| s.state()).collect();
            blockers.extend(cross_object_blockers(
                exposure,
                others.iter().map(Arc::as_ref),
            ));
            blockers.extend(storage::policy_blockers(ctx, exposure, &namespace));
            if blockers.is_empty() {
                let children = build(&valid, &ctx.cluster);
                let desired = desired_children(&children);
                let (mut plan, foreign) = apply::plan(ctx, &namespace, &name, desired).await?;
                blockers.extend(foreign.into_iter().map(|message| Blocker {
                    reason: RESOURCE_CONFLICT.into(),
                    message,
                }));
                if blockers.is_empty() {
                    blockers.extend(storage::prepare(ctx, exposure, &mut plan).await?);
                }
                if blockers.is_empty() {
                    storage::ensure_finalizer(ctx, exposure, &children).await?;
                    for planned in &plan {
                        match apply::apply(ctx, &namespace, planned).await {
                            Ok(Applied::Unchanged) => {}
                            Ok(done) => notes.push(child_event(
                                done,
                                planned.child.kind,
                                &namespace,
                                &planned.child.name,
                            )),
                            // The API server refused what we built: only a spec change helps.
                            Err(Error::Kube(kube::Error::Api(e))) if e.code == 422 => blockers
                                .push(Blocker {
                                    reason: INVALID_SPEC.into(),
                                    message: format!(
                                        "{} {}: {}",
                                        planned.child.kind.as_str(),
                                        planned.child.name,
                                        e.message
                                    ),
                                }),
                            // Admission refused it for lack of quota: the cluster must change.
                            Err(Error::Kube(kube::Error::Api(e)))
                                if e.code == 403 && e.message.contains("exceeded quota") =>
                            {
                                blockers.push(Blocker {
                                    reason: QUOTA_EXCEEDED.into(),
                                    message: format!(
                                        "{} {}: {}",
                                        planned.child.kind.as_str(),
                                        planned.child.name,
                                        e.message
                                    ),
                                })
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    if blockers.is_empty() {
                        let mut pruned = apply::prune(ctx, &namespace, &name, &uid, &plan).await?;
                        pruned.extend(
                            apply::prune_legacy_endpoints(ctx, exposure, &namespace, &uid).await?,
                        );
                        for (kind, child) in pruned {
                            let mut ev = note(
                                EventType::Normal,
                                "Deleted",
                                format!("Deleted {} {child}: no longer in the spec", kind.as_str()),
                            );
                            ev.secondary = Some(child_reference(kind, &namespace, &child));
                            notes.push(ev);
                        }
                        notes.extend(
                            storage::release_undesired(ctx, exposure, &namespace, &plan).await?,
                        );
                        if notes
                            .iter()
                            .any(|n| n.reason == "Created" || n.reason == "Updated")
                        {
                            notes.extend(storage::warnings(exposure));
                        }
                        applied = Some(children);
                    }
                }
            }
        }
    }

    let requeue = if blockers.iter().any(|b| b.reason == QUOTA_EXCEEDED) {
        QUOTA_RECHECK
    } else {
        ctx.config.resync
    };
    let outcome = match &applied {
        Some(children) => Outcome::Applied(children),
        None => Outcome::Blocked(blockers),
    };
    let observed = observe(ctx, exposure, &namespace, &name).await?;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let status = compute_status(exposure, &outcome, &observed, &now);
    notes.extend(stall_event(exposure.status.as_ref(), &status));
    if exposure.status.as_ref() != Some(&status) {
        write_status(ctx, &namespace, &name, &status).await?;
    }
    publish(ctx, exposure, &notes).await;
    update_ready_gauge(ctx);
    Ok(Action::requeue(requeue))
}

fn field_error_blockers(errors: &[FieldError]) -> Vec<Blocker> {
    errors
        .iter()
        .map(|e| Blocker {
            reason: if e.unsupported_by_cluster {
                UNSUPPORTED_BY_CLUSTER
            } else {
                INVALID_SPEC
            }
            .to_string(),
            message: e.to_string(),
        })
        .collect()
}

fn child_event(done: Applied, kind: ChildKind, namespace: &str, name: &str) -> Event {
    let verb = if done == Applied::Created {
        "Created"
    } else {
        "Updated"
    };
    let mut ev = note(
        EventType::Normal,
        verb,
        format!("{verb} {} {name}", kind.as_str()),
    );
    ev.secondary = Some(child_reference(kind, namespace, name));
    ev
}

/// The child an event is about (`related`): events about different children must not be
/// folded into one series by the recorder.
pub fn child_reference(kind: ChildKind, namespace: &str, name: &str) -> ObjectReference {
    let ar = kind.api_resource();
    ObjectReference {
        api_version: Some(ar.api_version),
        kind: Some(ar.kind),
        name: Some(name.to_string()),
        namespace: kind.namespaced().then(|| namespace.to_string()),
        ..Default::default()
    }
}

pub fn note(type_: EventType, reason: &str, message: String) -> Event {
    Event {
        type_,
        reason: reason.to_string(),
        note: Some(message),
        action: reason.to_string(),
        secondary: None,
    }
}

/// A Warning when the Exposure becomes Stalled or its stall reason changes (not on every
/// reconcile: no event spam).
fn stall_event(old: Option<&ExposureStatus>, new: &ExposureStatus) -> Option<Event> {
    let stalled = |s: &ExposureStatus| -> Option<Condition> {
        s.conditions
            .iter()
            .find(|c| c.type_ == condition::STALLED && c.status == "True")
            .cloned()
    };
    let now = stalled(new)?;
    let before = old.and_then(stalled);
    (before.as_ref().map(|c| (&c.reason, &c.message)) != Some((&now.reason, &now.message)))
        .then(|| note(EventType::Warning, &now.reason, now.message.clone()))
}

async fn write_status(
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
    ctx.metrics.count_write("Exposure", "status");
    api.patch_status(
        name,
        &PatchParams::apply(labels::MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// Publishes events about the Exposure (each counted as a write).
pub async fn publish(ctx: &Context, exposure: &Exposure, notes: &[Event]) {
    let reference = exposure.object_ref(&());
    for ev in notes {
        ctx.metrics.count_write("Event", "create");
        if let Err(e) = ctx.recorder.publish(ev, &reference).await {
            tracing::warn!(error = %e, reason = %ev.reason, "could not publish event");
        }
    }
}

fn update_ready_gauge(ctx: &Context) {
    let (mut ready, mut not_ready, mut unknown) = (0, 0, 0);
    for store in &ctx.all_exposures {
        for e in store.state() {
            let cond = e
                .status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == condition::READY));
            match cond.map(|c| c.status.as_str()) {
                Some("True") => ready += 1,
                Some("False") => not_ready += 1,
                _ => unknown += 1,
            }
        }
    }
    ctx.metrics.set_exposures("True", ready);
    ctx.metrics.set_exposures("False", not_ready);
    ctx.metrics.set_exposures("Unknown", unknown);
}

/// Gathers the observed children from the caches. The only reads beyond the caches are the
/// `ProvisioningFailed` events of Pending PVCs.
async fn observe(
    ctx: &Context,
    exposure: &Exposure,
    namespace: &str,
    name: &str,
) -> Result<Observed, Error> {
    let key = |n: &str| (namespace.to_string(), n.to_string());
    let find = |meta: &kube::api::ObjectMeta, n: &str| {
        (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        ) == key(n)
    };
    let s = &ctx.stores;
    let headless = crate::build::headless_service_name(name);
    let pvcs: Vec<PersistentVolumeClaim> = s
        .pvcs
        .state()
        .iter()
        .filter(|p| {
            p.metadata.namespace.as_deref() == Some(namespace)
                && super::ownership::labelled_for(&p.metadata, name)
        })
        .map(|p| p.as_ref().clone())
        .collect();
    let mut provisioning_failures = std::collections::BTreeMap::new();
    for pvc in pvcs
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending"))
    {
        let pvc_name = pvc.name_any();
        if let Some(message) = newest_provisioning_failure(ctx, namespace, &pvc_name).await? {
            provisioning_failures.insert(pvc_name, message);
        }
    }
    Ok(Observed {
        deployment: s
            .deployments
            .state()
            .iter()
            .find(|d| find(&d.metadata, name))
            .map(|d| d.as_ref().clone()),
        pods: s
            .pods
            .state()
            .iter()
            .filter(|p| {
                p.metadata.namespace.as_deref() == Some(namespace)
                    && p.labels().get(labels::NAME).map(String::as_str) == Some(name)
            })
            .map(|p| p.as_ref().clone())
            .collect(),
        service: s
            .services
            .state()
            .iter()
            .find(|x| find(&x.metadata, name))
            .map(|x| x.as_ref().clone()),
        headless_service: s
            .services
            .state()
            .iter()
            .find(|x| find(&x.metadata, &headless))
            .map(|x| x.as_ref().clone()),
        endpoints: s
            .endpoints
            .state()
            .iter()
            .find(|x| find(&x.metadata, name))
            .map(|x| x.as_ref().clone()),
        endpoint_slices: {
            let mut slices: Vec<_> = s
                .endpoint_slices
                .state()
                .iter()
                .filter(|x| {
                    x.metadata.namespace.as_deref() == Some(namespace)
                        && super::ownership::labelled_for(&x.metadata, name)
                        && x.labels()
                            .get(labels::ENDPOINT_SLICE_MANAGED_BY)
                            .map(String::as_str)
                            == Some(labels::ENDPOINT_SLICE_MANAGER)
                })
                .map(|x| x.as_ref().clone())
                .collect();
            slices.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            slices
        },
        ingress: s
            .ingresses
            .state()
            .iter()
            .find(|x| find(&x.metadata, name))
            .map(|x| x.as_ref().clone()),
        pvcs,
        provisioning_failures,
        retained_volumes: storage::retained_volumes(ctx, exposure, namespace),
        node_address: node_address(ctx),
    })
}

async fn newest_provisioning_failure(
    ctx: &Context,
    namespace: &str,
    pvc: &str,
) -> Result<Option<String>, Error> {
    let events: Api<CoreEvent> = Api::namespaced(ctx.client.clone(), namespace);
    let params = ListParams::default().fields(&format!(
        "involvedObject.kind=PersistentVolumeClaim,involvedObject.name={pvc},reason=ProvisioningFailed"
    ));
    let list = events.list(&params).await?;
    let newest = list.items.into_iter().max_by_key(|e| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or_else(|| e.event_time.as_ref().map(|t| t.0))
    });
    Ok(newest.and_then(|e| e.message))
}

fn node_address(ctx: &Context) -> Option<String> {
    let nodes = ctx.cluster_stores.nodes.as_ref()?;
    let mut state = nodes.state();
    state.sort_by_key(|n| n.name_any());
    state.iter().find_map(|n| {
        n.status
            .as_ref()?
            .addresses
            .as_ref()?
            .iter()
            .find(|a| a.type_ == "InternalIP")
            .map(|a| a.address.clone())
    })
}

//! Decide, then execute: one pure decision from the Exposure, the cluster and one snapshot of
//! the live state it needs. Every check (validation, cross-object conflicts, ownership,
//! storage policy, PVC and StorageClass change rules) runs here, before anything is written;
//! the result is either a [`Plan`] for the executor or the blockers with the status to write.

pub mod desired;
pub mod storage;
#[cfg(test)]
mod tests;
pub mod workload;

use std::collections::BTreeMap;

use exposure_crd::{labels, Exposure, ExposureStatus, ResourceRef};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::runtime::events::EventType;

use crate::events::Event;
use kube::ResourceExt;
use serde_json::Value;

pub use self::desired::{desired_children, DesiredChild, SerialiseError};
use crate::blocker::{BlockReason, Blocker};
use crate::build::{build, build_with_config, ChildKind};
use crate::cluster::ClusterInfo;
use crate::conflicts::cross_object_blockers;
use crate::events::{about_child, note};
use crate::ownership;
use crate::status::{compute_status, Observed, Outcome};
use crate::storage_policy::StoragePolicy;
use crate::validate::{validate, FieldError};

/// The live state one decision depends on, read once (from the caches, plus one GET per
/// desired name the caches do not hold: it may be held by an object that is not ours).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The object now under each desired child's name, by kind and name.
    pub live: BTreeMap<(ChildKind, String), Value>,
    /// Children labelled for this Exposure, of the kinds that are pruned (not PVCs nor
    /// StorageClasses, which follow the storage rules).
    pub labelled: Vec<(ChildKind, ObjectMeta)>,
    /// PVCs labelled for this Exposure.
    pub pvcs: Vec<PersistentVolumeClaim>,
    /// PVCs of the namespace released by an Exposure of this name.
    pub retained: Vec<PersistentVolumeClaim>,
    /// StorageClasses labelled for this Exposure.
    pub storage_classes: Vec<StorageClass>,
    /// Who uses each StorageClass that is desired or labelled for this Exposure.
    pub class_users: BTreeMap<String, ClassUsers>,
    /// Other Exposures that claim one of this Exposure's Ingress routes or nodePorts.
    pub rivals: Vec<Exposure>,
    /// The children as observed, for status (`retained_volumes` is filled in here).
    pub observed: Observed,
}

/// The users of one StorageClass.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassUsers {
    /// `PV <name>`: provisioned volumes, which tie a class's parameters down.
    pub volumes: Vec<String>,
    /// `PVC <namespace>/<name>`.
    pub claims: Vec<String>,
}

impl ClassUsers {
    fn all(&self) -> Vec<String> {
        self.volumes.iter().chain(&self.claims).cloned().collect()
    }
}

/// The (kind, name) pairs whose live objects the decision needs: the desired children of a
/// valid spec. StorageClasses only when the operator may create them (else it cannot read
/// them either, and the policy blocks the spec).
pub fn lookups(
    exposure: &Exposure,
    cluster: &ClusterInfo,
    policy: &StoragePolicy,
) -> Vec<(ChildKind, String)> {
    let Ok(valid) = validate(exposure, cluster) else {
        return Vec::new();
    };
    build(&valid, cluster)
        .in_apply_order()
        .iter()
        .filter(|c| policy.storage_classes_enabled || c.kind() != ChildKind::StorageClass)
        .map(|c| (c.kind(), c.name().to_string()))
        .collect()
}

/// What to do for one Exposure.
#[derive(Clone, Debug)]
pub enum Decision {
    /// Being deleted with our finalizer: clean up storage, then drop the finalizer.
    Cleanup(Cleanup),
    /// Being deleted without our finalizer: nothing of ours to do.
    Nothing,
    /// A check failed: no child is written; only the status.
    Blocked {
        blockers: Vec<Blocker>,
        status: Box<ExposureStatus>,
    },
    /// Every check passed.
    Apply(Box<Plan>),
}

/// The writes of one reconcile, in the order the executor makes them.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Add `exposure.dev/cleanup` first: this Exposure creates a StorageClass.
    pub add_finalizer: bool,
    /// Desired children in apply order.
    pub apply: Vec<Step>,
    /// Children no longer desired (controlled by this Exposure).
    pub prune: Vec<Deletion>,
    /// `reclaim: Delete` PVCs no longer in the spec.
    pub delete_pvcs: Vec<Deletion>,
    /// `reclaim: Retain` PVCs no longer in the spec, and PVCs whose volume stays in the spec
    /// but which the workload no longer uses (its kind changed).
    pub release: Vec<Release>,
    /// Per-pod claims the StatefulSet being pruned (or its pods) own: their ownerReferences
    /// are removed first, so that the garbage collector keeps them (a kind change keeps every
    /// PVC).
    pub disown: Vec<Disown>,
    /// The StatefulSet being pruned, whose claim retention is `Delete`: set to `Retain` (and
    /// synced by its controller) before the claims are disowned, or the controller could give
    /// them their ownerReferences back before the set is deleted.
    pub retain_claims_of: Option<Disown>,
    /// StorageClasses no longer desired that nothing uses.
    pub delete_classes: Vec<Deletion>,
    /// Drop `exposure.dev/cleanup` last: no StorageClass of ours is left.
    pub drop_finalizer: bool,
    /// Published in any case.
    pub events: Vec<Event>,
    /// Published only when a child was created or updated.
    pub change_warnings: Vec<Event>,
    /// The status once every step has succeeded.
    pub status: ExposureStatus,
    /// Look again this soon without a watch event (before the resync): a workload short of
    /// pods whose reason may not have been recorded yet (see `workload::recheck_after`).
    pub recheck: Option<std::time::Duration>,
    /// The children observed, to restate the status when the apply stops half-way.
    pub observed: Observed,
}

/// One desired child with what holds its name now.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub child: DesiredChild,
    pub live: Option<Value>,
    /// Delete `live` first: a StorageClass whose immutable fields changed and that no volume
    /// uses, or a StatefulSet whose immutable fields changed (deleted with its pods left
    /// running, which the new one adopts). The apply then creates it anew.
    pub recreate: bool,
    /// Before applying a workload whose replicas an autoscaler takes over: these replicas,
    /// applied by a hand-over field manager, so that dropping them from our apply does not
    /// reset them to 1 (see `workload`). After the apply when the step recreates the
    /// StatefulSet: it is created with the replicas it ran, which are then handed over.
    pub handover_replicas: Option<i32>,
}

/// Delete exactly this object (uid precondition), then publish `event`.
#[derive(Clone, Debug)]
pub struct Deletion {
    pub kind: ChildKind,
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
    pub event: Option<Event>,
}

/// Remove the ownerReferences of exactly this PVC (uid precondition).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disown {
    pub namespace: String,
    pub name: String,
    pub uid: Option<String>,
}

/// Re-apply a PVC as released (`retained-from`), then publish `event`.
#[derive(Clone, Debug)]
pub struct Release {
    pub namespace: String,
    pub name: String,
    pub patch: Value,
    pub event: Event,
}

/// Storage cleanup of a deleting Exposure.
#[derive(Clone, Debug, Default)]
pub struct Cleanup {
    pub release: Vec<Release>,
    pub delete_classes: Vec<Deletion>,
    pub events: Vec<Event>,
}

/// Decides what one reconcile writes. Pure.
pub fn decide(
    exposure: &Exposure,
    cluster: &ClusterInfo,
    policy: &StoragePolicy,
    snapshot: Snapshot,
    now: &Time,
) -> Result<Decision, SerialiseError> {
    let namespace = exposure.namespace().unwrap_or_default();
    let name = exposure.name_any();
    let uid = exposure.uid().unwrap_or_default();
    if exposure.metadata.deletion_timestamp.is_some() {
        return Ok(if storage::has_cleanup_finalizer(exposure) {
            Decision::Cleanup(cleanup(&snapshot, &name, &uid))
        } else {
            Decision::Nothing
        });
    }
    let Snapshot {
        live,
        labelled,
        pvcs,
        retained,
        storage_classes,
        class_users,
        rivals,
        mut observed,
    } = snapshot;
    observed.retained_volumes = storage::retained_volumes(exposure, &retained);
    observed
        .retained_volumes
        .extend(storage::idle_per_pod_claims(exposure, &pvcs, &observed));
    observed
        .retained_volumes
        .sort_by(|a, b| a.name.cmp(&b.name));
    let blocked = |blockers: Vec<Blocker>| {
        let status = compute_status(
            exposure,
            &Outcome::Blocked(blockers.clone()),
            &observed,
            now,
        );
        Ok(Decision::Blocked {
            blockers,
            status: Box::new(status),
        })
    };

    let valid = match validate(exposure, cluster) {
        Ok(valid) => valid,
        Err(errors) => return blocked(field_error_blockers(&errors)),
    };
    let mut blockers = cross_object_blockers(exposure, &rivals);
    blockers.extend(storage::policy_blockers(policy, exposure, &namespace));
    if !blockers.is_empty() {
        return blocked(blockers);
    }

    let children = build_with_config(&valid, cluster, &observed.config);
    let desired = desired_children(&children)?;
    for child in &desired {
        if let Some(object) = live.get(&(child.kind, child.name.clone())) {
            let meta = meta_of(object);
            if !ours(child.kind, &meta, &namespace, &name) {
                blockers.push(foreign(child.kind, &namespace, &child.name, &meta));
            }
        }
    }
    if !blockers.is_empty() {
        return blocked(blockers);
    }

    let no_users = ClassUsers::default();
    let users_of = |class: &str| class_users.get(class).unwrap_or(&no_users);
    let mut steps = Vec::with_capacity(desired.len());
    for mut child in desired {
        let current = live.get(&(child.kind, child.name.clone())).cloned();
        let mut recreate = false;
        if let Some(current) = &current {
            match child.kind {
                ChildKind::PersistentVolumeClaim => blockers.extend(storage::pvc_change_blockers(
                    exposure,
                    &child.object,
                    current,
                )),
                ChildKind::StatefulSet => {
                    recreate = !workload::immutable_unchanged(&child.object, current);
                }
                ChildKind::StorageClass => {
                    let differing = storage::storage_class_differences(&child.object, current);
                    // Only provisioned volumes tie a class down: a Pending claim is provisioned
                    // from whatever class carries the name when provisioning is retried.
                    let volumes = &users_of(&child.name).volumes;
                    if !differing.is_empty() && volumes.is_empty() {
                        recreate = true;
                    } else if !differing.is_empty() {
                        blockers.push(storage::class_immutable(&child.name, &differing, volumes));
                    }
                }
                _ => {}
            }
        }
        let handover_replicas = match &current {
            Some(current) if recreate && child.kind == ChildKind::StatefulSet => {
                workload::carry_replicas(&mut child.object, current)
            }
            _ => workload::handover_replicas(exposure, &child, current.as_ref()),
        };
        // A StatefulSet's claims follow the shared claims' rules, against every live per-pod
        // claim; a grown volume grows them first (one step each), so that a class refusing
        // the expansion stops the plan before a StatefulSet is recreated with the new size.
        if child.kind == ChildKind::StatefulSet {
            match storage::per_pod_claim_steps(exposure, &child.object, &pvcs) {
                Ok(resizes) => steps.extend(resizes),
                Err(refused) => blockers.extend(refused),
            }
        }
        steps.push(Step {
            child,
            live: current,
            recreate,
            handover_replicas,
        });
    }
    if !blockers.is_empty() {
        return blocked(blockers);
    }

    let is_desired = |kind: ChildKind, n: &str| {
        steps
            .iter()
            .any(|s| s.child.kind == kind && s.child.name == n)
    };
    let mut plan = Plan::default();
    for (kind, meta) in &labelled {
        let child = meta.name.clone().unwrap_or_default();
        // Endpoints written by the endpoints controller copy our Service labels but have no
        // ownerReference: only what we control is ours to delete.
        if matches!(
            kind,
            ChildKind::PersistentVolumeClaim | ChildKind::StorageClass
        ) || is_desired(*kind, &child)
            || !ownership::controlled_by(meta, &uid)
        {
            continue;
        }
        plan.prune.push(Deletion {
            kind: *kind,
            namespace: namespace.clone(),
            event: Some(about_child(
                "Deleted",
                format!("Deleted {} {child}: no longer in the spec", kind.as_str()),
                *kind,
                &namespace,
                &child,
            )),
            uid: meta.uid.clone(),
            name: child,
        });
    }
    for pvc in &pvcs {
        // Per-pod claims are the StatefulSet's: never deleted or relabelled here (see
        // `storage::idle_per_pod_claims`).
        if ownership::per_pod_claim(&pvc.metadata)
            || is_desired(ChildKind::PersistentVolumeClaim, &pvc.name_any())
        {
            continue;
        }
        let keep = storage::volume_in_spec(exposure, pvc);
        let_go_of_pvc(
            &mut plan.delete_pvcs,
            &mut plan.release,
            pvc,
            &name,
            &uid,
            keep,
        );
    }
    if plan.prune.iter().any(|d| d.kind == ChildKind::StatefulSet) {
        plan.disown = storage::owned_per_pod_claims(&pvcs);
        plan.retain_claims_of = observed
            .stateful_set
            .as_ref()
            .filter(|set| workload::deletes_claims(set))
            .map(|set| Disown {
                namespace: namespace.clone(),
                name: set.name_any(),
                uid: set.uid(),
            });
    }
    let desired_classes = children.storage_classes.len();
    let mut kept = 0;
    for sc in &storage_classes {
        let class = sc.name_any();
        if is_desired(ChildKind::StorageClass, &class) {
            continue;
        }
        let users = users_of(&class).all();
        if users.is_empty() {
            plan.delete_classes.push(Deletion {
                kind: ChildKind::StorageClass,
                namespace: String::new(),
                uid: sc.uid(),
                event: Some(note(
                    EventType::Normal,
                    "Deleted",
                    format!("Deleted StorageClass {class}: no longer in the spec"),
                )),
                name: class,
            });
        } else {
            kept += 1;
            // Said once: in the reconcile that drops the class from the status resources
            // (each later one would repeat it until the volume goes).
            if storage::listed_in_status(exposure, &class) {
                plan.events.push(storage::class_kept(&class, &users));
            }
        }
    }
    let has_finalizer = storage::has_cleanup_finalizer(exposure);
    plan.add_finalizer = desired_classes > 0 && !has_finalizer;
    plan.drop_finalizer = desired_classes + kept == 0 && has_finalizer;
    plan.change_warnings = storage::warnings(exposure);
    // The snapshot was read before this plan's writes: a Deployment the plan changes will be a
    // generation ahead of what its controller has observed. Said so to the status, which then
    // waits for the rollout instead of judging it from the old generation.
    let status_view = ahead_of_observed(&observed, &steps);
    plan.status = compute_status(exposure, &Outcome::Applied(&children), &status_view, now);
    plan.recheck = workload::recheck_after(&observed);
    plan.observed = observed;
    plan.apply = steps;
    Ok(Decision::Apply(Box::new(plan)))
}

/// `observed` as it will be once `steps` are written: a workload a step changes gets the next
/// generation (its status still describes the one before).
fn ahead_of_observed(observed: &Observed, steps: &[Step]) -> Observed {
    let mut view = observed.clone();
    let changes = |kind: ChildKind| {
        steps.iter().any(|step| {
            step.child.kind == kind
                && step
                    .live
                    .as_ref()
                    .is_some_and(|live| !crate::drift::is_up_to_date(&step.child.object, live))
        })
    };
    let next = |meta: &mut ObjectMeta| {
        meta.generation = Some(meta.generation.unwrap_or(0) + 1);
    };
    if changes(ChildKind::Deployment) {
        view.deployment
            .iter_mut()
            .for_each(|d| next(&mut d.metadata));
    }
    if changes(ChildKind::StatefulSet) {
        view.stateful_set
            .iter_mut()
            .for_each(|s| next(&mut s.metadata));
    }
    if changes(ChildKind::DaemonSet) {
        view.daemon_set
            .iter_mut()
            .for_each(|d| next(&mut d.metadata));
    }
    view
}

/// The status when the apply stopped at step `stopped_at`, refused for `blocker`: the steps
/// before it were applied, it and the rest were not, nothing was pruned.
pub fn stopped_status(
    exposure: &Exposure,
    plan: &Plan,
    stopped_at: usize,
    blocker: Blocker,
    now: &Time,
) -> ExposureStatus {
    let refs = |steps: &[Step]| -> Vec<ResourceRef> {
        steps
            .iter()
            .map(|s| ResourceRef {
                kind: s.child.kind.as_str().to_owned(),
                name: s.child.name.clone(),
            })
            .collect()
    };
    let (applied, not_applied) = plan.apply.split_at(stopped_at.min(plan.apply.len()));
    let outcome = Outcome::PartiallyApplied {
        applied: refs(applied),
        not_applied: refs(not_applied),
        blockers: vec![blocker],
    };
    compute_status(exposure, &outcome, &plan.observed, now)
}

fn cleanup(snapshot: &Snapshot, name: &str, uid: &str) -> Cleanup {
    let mut out = Cleanup::default();
    let mut deletions = Vec::new();
    for pvc in &snapshot.pvcs {
        // `reclaim: Delete` PVCs go with the garbage collector; per-pod claims follow the
        // StatefulSet's retention policy.
        if !ownership::controlled_by(&pvc.metadata, uid) && !ownership::per_pod_claim(&pvc.metadata)
        {
            let_go_of_pvc(&mut deletions, &mut out.release, pvc, name, uid, false);
        }
    }
    for sc in &snapshot.storage_classes {
        let class = sc.name_any();
        let users = snapshot
            .class_users
            .get(&class)
            .map(ClassUsers::all)
            .unwrap_or_default();
        if users.is_empty() {
            out.delete_classes.push(Deletion {
                kind: ChildKind::StorageClass,
                namespace: String::new(),
                uid: sc.uid(),
                event: None,
                name: class,
            });
        } else {
            out.events.push(storage::class_kept(&class, &users));
        }
    }
    out
}

/// A PVC no longer desired: deleted when controlled by `uid` (`reclaim: Delete`) and its
/// volume left the spec, else released (`keep`: its volume is still in the spec, and the
/// workload's kind changed).
fn let_go_of_pvc(
    deletions: &mut Vec<Deletion>,
    releases: &mut Vec<Release>,
    pvc: &PersistentVolumeClaim,
    exposure: &str,
    uid: &str,
    keep: bool,
) {
    let (namespace, name) = (pvc.namespace().unwrap_or_default(), pvc.name_any());
    if !keep && ownership::controlled_by(&pvc.metadata, uid) {
        deletions.push(Deletion {
            kind: ChildKind::PersistentVolumeClaim,
            event: Some(about_child(
                "Deleted",
                format!("Deleted PVC {name} (reclaim: Delete)"),
                ChildKind::PersistentVolumeClaim,
                &namespace,
                &name,
            )),
            uid: pvc.uid(),
            namespace,
            name,
        });
        return;
    }
    releases.push(Release {
        patch: storage::release_patch(pvc, exposure),
        event: about_child(
            "Retained",
            format!(
                "Released PVC {name} ({}): labelled {}={exposure}; its data stays until you delete it",
                if keep {
                    "the workload kind changed"
                } else {
                    "reclaim: Retain"
                },
                labels::RETAINED_FROM
            ),
            ChildKind::PersistentVolumeClaim,
            &namespace,
            &name,
        ),
        namespace,
        name,
    });
}

pub fn field_error_blockers(errors: &[FieldError]) -> Vec<Blocker> {
    errors
        .iter()
        .map(|e| {
            let reason = if e.unsupported_by_cluster {
                BlockReason::UnsupportedByCluster
            } else {
                BlockReason::InvalidSpec
            };
            Blocker::new(reason, e.to_string())
        })
        .collect()
}

fn meta_of(object: &Value) -> ObjectMeta {
    serde_json::from_value(object.get("metadata").cloned().unwrap_or_default()).unwrap_or_default()
}

/// Whether the object under a desired child's name is this Exposure's.
fn ours(kind: ChildKind, meta: &ObjectMeta, namespace: &str, exposure: &str) -> bool {
    match kind {
        ChildKind::StorageClass => ownership::cluster_labelled_for(meta, namespace, exposure),
        // A PVC released by an Exposure of this name is adopted again, as it is.
        ChildKind::PersistentVolumeClaim => {
            ownership::labelled_for(meta, exposure) || ownership::retained_from(meta, exposure)
        }
        _ => ownership::labelled_for(meta, exposure),
    }
}

fn foreign(kind: ChildKind, namespace: &str, name: &str, meta: &ObjectMeta) -> Blocker {
    let whose = match meta.labels.as_ref().and_then(|l| l.get(labels::NAME)) {
        Some(other) => format!("it belongs to Exposure {other}"),
        None => format!("it has no {} label of this Exposure", labels::NAME),
    };
    let place = if kind.namespaced() {
        format!("{namespace}/{name}")
    } else {
        name.to_string()
    };
    Blocker::new(
        BlockReason::ResourceConflict,
        format!(
            "{} {place} already exists and is not managed by this Exposure ({whose}); rename or delete it",
            kind.as_str()
        ),
    )
}

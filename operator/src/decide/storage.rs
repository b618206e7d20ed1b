//! The storage rules, pure: PVCs never lose data by accident; StorageClasses we created are
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
//!
//! The writes these rules decide on are made by the executor.

use std::collections::BTreeSet;

use exposure_crd::{labels, Exposure, RetainedVolume, WorkloadKind};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::runtime::events::EventType;

use crate::events::Event;
use kube::ResourceExt;
use serde_json::{json, Value};

use super::{DesiredChild, Disown, Step};
use crate::blocker::{BlockReason, Blocker};
use crate::build::{per_pod_pvc_name, pvc_name, storage_class_name, workload_kind, ChildKind};
use crate::events::note;
use crate::ownership;
use crate::quantity::parse_quantity;
use crate::status::Observed;
use crate::storage_policy::{storage_blockers, StoragePolicy};

/// The storage-class policy applied to the `glusterfs` volumes of `exposure`.
pub fn policy_blockers(
    policy: &StoragePolicy,
    exposure: &Exposure,
    namespace: &str,
) -> Vec<Blocker> {
    let volumes = exposure
        .spec
        .storage
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.glusterfs.as_ref().map(|g| (i, g)));
    storage_blockers(policy, namespace, volumes)
}

/// The spec field of the volume a desired PVC comes from (`spec.storage[i]`, by its volume
/// label).
pub fn volume_field(exposure: &Exposure, desired: &Value) -> String {
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
    format!("spec.storage[{index}]")
}

/// Changes Kubernetes cannot make to a live PVC: shrinking, other access modes, another class.
pub fn pvc_change_blockers(exposure: &Exposure, desired: &Value, live: &Value) -> Vec<Blocker> {
    let name = desired
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let field = volume_field(exposure, desired);
    let mut blockers = Vec::new();
    let size = |v: &Value| {
        v.pointer("/spec/resources/requests/storage")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if let (Some(want), Some(have)) = (size(desired), size(live)) {
        if let (Some(w), Some(h)) = (parse_quantity(&want), parse_quantity(&have)) {
            if w < h {
                blockers.push(Blocker::new(
                    BlockReason::InvalidSpec,
                    format!(
                        "{field}.size: {want} is smaller than the current size {have} of PVC {name}; \
                         volumes cannot shrink (set size back to {have} or more)"
                    ),
                ));
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
            blockers.push(Blocker::new(
                BlockReason::InvalidSpec,
                format!(
                    "{field}: the {what} of PVC {name} cannot change ({} → {}); keep {}, or add a volume with a new name \
                     and copy the data (the old PVC is retained)",
                    compact(have),
                    compact(want),
                    compact(have)
                ),
            ));
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

/// The fields of a StorageClass that differ between desired and live (all immutable).
pub fn storage_class_differences(desired: &Value, live: &Value) -> Vec<String> {
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

/// A changed StorageClass that provisioned volumes still use.
pub fn class_immutable(class: &str, differing: &[String], users: &[String]) -> Blocker {
    Blocker::new(
        BlockReason::StorageClassImmutable,
        format!(
            "StorageClass {class}: {} cannot change while {} uses it (StorageClass parameters are immutable); \
             restore the previous values, or use a new className for new volumes",
            differing.join(", "),
            users.join(", ")
        ),
    )
}

/// An undesired StorageClass kept because something uses it.
pub fn class_kept(class: &str, users: &[String]) -> Event {
    note(
        EventType::Normal,
        "StorageClassKept",
        format!(
            "Keeping StorageClass {class} while {} uses it (a provisioned volume needs its class to be deleted); \
             it is deleted once unused",
            users.join(", ")
        ),
    )
}

pub fn has_cleanup_finalizer(exposure: &Exposure) -> bool {
    exposure
        .finalizers()
        .iter()
        .any(|f| f == labels::CLEANUP_FINALIZER)
}

/// The finalizer list with `exposure.dev/cleanup` present or not, other finalizers kept.
pub fn finalizers_with_cleanup(exposure: &Exposure, present: bool) -> Vec<String> {
    let mut finalizers: Vec<String> = exposure
        .finalizers()
        .iter()
        .filter(|f| *f != labels::CLEANUP_FINALIZER)
        .cloned()
        .collect();
    if present {
        finalizers.push(labels::CLEANUP_FINALIZER.to_string());
    }
    finalizers
}

/// Whether the status resources list the StorageClass `class`.
pub fn listed_in_status(exposure: &Exposure, class: &str) -> bool {
    let kind = ChildKind::StorageClass.as_str();
    exposure
        .status
        .iter()
        .flat_map(|s| &s.resources)
        .any(|r| r.kind == kind && r.name == class)
}

/// The PVC re-applied with `retained-from` in place of our ownership labels. Server-side apply
/// drops the fields we no longer set (our labels, the hash); the spec is restated as it is.
pub fn release_patch(pvc: &PersistentVolumeClaim, exposure: &str) -> Value {
    let spec = pvc.spec.clone().unwrap_or_default();
    json!({
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
    })
}

/// PVCs released from an Exposure of this name (`retained`) that its spec does not use now.
pub fn retained_volumes(
    exposure: &Exposure,
    retained: &[PersistentVolumeClaim],
) -> Vec<RetainedVolume> {
    let name = exposure.name_any();
    // A StatefulSet uses per-pod claims only: a shared one it left behind stays retained.
    let shared = workload_kind(&exposure.spec) != Some(WorkloadKind::StatefulSet);
    let in_use: BTreeSet<String> = exposure
        .spec
        .storage
        .iter()
        .filter(|_| shared)
        .map(|v| pvc_name(&name, &v.name))
        .collect();
    let mut out: Vec<RetainedVolume> = retained
        .iter()
        .filter(|p| {
            p.labels().get(labels::RETAINED_FROM) == Some(&name) && !in_use.contains(&p.name_any())
        })
        .map(retained_volume)
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A Warning when a ReadWriteOnce volume is shared by more than one pod: more than one
/// replica of a Deployment, or a DaemonSet (one pod per node). A StatefulSet's pods each have
/// their own.
pub fn warnings(exposure: &Exposure) -> Vec<Event> {
    let spec = &exposure.spec;
    let rwo = spec.storage.iter().filter(|v| {
        v.access_modes.is_empty() || v.access_modes.iter().any(|m| m.as_str() == "ReadWriteOnce")
    });
    let names: Vec<&str> = rwo.map(|v| v.name.as_str()).collect();
    if names.is_empty() {
        return Vec::new();
    }
    let sharing = match workload_kind(spec) {
        Some(WorkloadKind::Deployment) => {
            let replicas = spec
                .autoscaling
                .as_ref()
                .map_or(spec.replicas.unwrap_or(1), |a| a.max_replicas);
            (replicas > 1).then(|| format!("{replicas} replicas share"))
        }
        Some(WorkloadKind::DaemonSet) => Some("the DaemonSet's pods (one per node) share".into()),
        Some(WorkloadKind::StatefulSet) | None => None,
    };
    let Some(sharing) = sharing else {
        return Vec::new();
    };
    vec![note(
        EventType::Warning,
        "SharedReadWriteOnce",
        format!(
            "{sharing} ReadWriteOnce volume(s) {}: pods on different nodes cannot mount them and a rolling update \
             can deadlock; use replicas: 1 with strategy: Recreate, a ReadWriteMany volume, or workload: StatefulSet \
             (one volume per pod)",
            names.join(", ")
        ),
    )]
}

/// Whether the volume a PVC was made for is still in the spec.
pub fn volume_in_spec(exposure: &Exposure, pvc: &PersistentVolumeClaim) -> bool {
    let volume = pvc.labels().get(labels::VOLUME);
    exposure
        .spec
        .storage
        .iter()
        .any(|v| Some(&v.name) == volume)
}

/// Per-pod claims of this Exposure's StatefulSet that no pod uses now: of a replica scaled
/// away (the StatefulSet reuses it when it scales up again), of a volume no longer in the
/// spec, or all of them once the workload is no longer a StatefulSet. They keep their labels
/// and data; the status lists them.
pub fn idle_per_pod_claims(
    exposure: &Exposure,
    pvcs: &[PersistentVolumeClaim],
    observed: &Observed,
) -> Vec<RetainedVolume> {
    let name = exposure.name_any();
    let stateful = workload_kind(&exposure.spec) == Some(WorkloadKind::StatefulSet);
    let replicas = observed
        .stateful_set
        .as_ref()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.replicas)
        .or(exposure.spec.replicas)
        .unwrap_or(1);
    let in_use: BTreeSet<String> = if stateful {
        exposure
            .spec
            .storage
            .iter()
            .flat_map(|v| (0..replicas).map(|i| per_pod_pvc_name(&name, &v.name, i)))
            .collect()
    } else {
        BTreeSet::new()
    };
    pvcs.iter()
        .filter(|p| ownership::per_pod_claim(&p.metadata) && !in_use.contains(&p.name_any()))
        .map(retained_volume)
        .collect()
}

/// The rules for a StatefulSet's claim templates, against every live per-pod claim of a
/// volume still in the spec (`desired` is the StatefulSet): shrinking, another class or other
/// access modes are refused as for a shared claim (new replicas would get claims unlike the
/// old ones); a grown volume becomes one step per smaller claim that grows it (server-side
/// apply of its storage request; the class must allow expansion).
pub fn per_pod_claim_steps(
    exposure: &Exposure,
    desired: &Value,
    pvcs: &[PersistentVolumeClaim],
) -> Result<Vec<Step>, Vec<Blocker>> {
    let templates = desired
        .pointer("/spec/volumeClaimTemplates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (mut steps, mut blockers) = (Vec::new(), Vec::new());
    for template in &templates {
        let volume = template.pointer("/metadata/name").and_then(Value::as_str);
        for claim in pvcs.iter().filter(|p| {
            ownership::per_pod_claim(&p.metadata)
                && p.labels().get(labels::VOLUME).map(String::as_str) == volume
        }) {
            let Ok(live) = serde_json::to_value(claim) else {
                continue;
            };
            let mut as_claim = template.clone();
            as_claim["metadata"]["name"] = json!(claim.name_any());
            blockers.extend(pvc_change_blockers(exposure, &as_claim, &live));
            let size = |v: &Value| {
                v.pointer("/spec/resources/requests/storage")
                    .and_then(Value::as_str)
                    .and_then(parse_quantity)
            };
            if let (Some(want), Some(have)) = (size(&as_claim), size(&live)) {
                if want > have {
                    steps.push(grow_step(claim, &as_claim, live));
                }
            }
        }
    }
    if blockers.is_empty() {
        Ok(steps)
    } else {
        Err(blockers)
    }
}

/// Applies only the storage request of a per-pod claim (its labels too, so that a refusal names
/// the volume).
fn grow_step(claim: &PersistentVolumeClaim, template: &Value, live: Value) -> Step {
    let name = claim.name_any();
    let object = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name,
            "namespace": claim.namespace(),
            "labels": {labels::VOLUME: claim.labels().get(labels::VOLUME)},
        },
        "spec": {"resources": {"requests": {
            "storage": template.pointer("/spec/resources/requests/storage"),
        }}},
    });
    Step {
        child: DesiredChild {
            kind: ChildKind::PersistentVolumeClaim,
            name,
            object,
        },
        live: Some(live),
        recreate: false,
        handover_replicas: None,
    }
}

/// Per-pod claims the garbage collector would delete with their StatefulSet or pod
/// (retention policy Delete).
pub fn owned_per_pod_claims(pvcs: &[PersistentVolumeClaim]) -> Vec<Disown> {
    pvcs.iter()
        .filter(|p| {
            ownership::per_pod_claim(&p.metadata)
                && p.owner_references()
                    .iter()
                    .any(|r| r.kind == "StatefulSet" || r.kind == "Pod")
        })
        .map(|p| Disown {
            namespace: p.namespace().unwrap_or_default(),
            name: p.name_any(),
            uid: p.uid(),
        })
        .collect()
}

fn retained_volume(pvc: &PersistentVolumeClaim) -> RetainedVolume {
    RetainedVolume {
        name: pvc.name_any(),
        volume: pvc
            .labels()
            .get(labels::VOLUME)
            .cloned()
            .unwrap_or_default(),
        size: pvc
            .spec
            .as_ref()
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .map(|q| q.0.clone()),
    }
}

/// Whether a glusterfs volume of `exposure` (in `namespace`) builds the StorageClass `class`.
pub fn names_class(exposure: &Exposure, namespace: &str, class: &str) -> bool {
    exposure.spec.storage.iter().any(|v| {
        v.glusterfs.is_some()
            && storage_class_name(Some(namespace), &exposure.name_any(), v) == class
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::ExposureFixture;

    fn exposure(spec: Value) -> Exposure {
        ExposureFixture::named("web").spec(spec).build()
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
        assert_eq!(b[0].reason, BlockReason::InvalidSpec);
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

    #[test]
    fn finalizers_keep_the_others() {
        let mut e = with_data_volume();
        e.metadata.finalizers = Some(vec!["other/keep".into()]);
        assert!(!has_cleanup_finalizer(&e));
        let with = finalizers_with_cleanup(&e, true);
        assert_eq!(with, ["other/keep", labels::CLEANUP_FINALIZER]);
        e.metadata.finalizers = Some(with);
        assert!(has_cleanup_finalizer(&e));
        assert_eq!(finalizers_with_cleanup(&e, false), ["other/keep"]);
    }
}

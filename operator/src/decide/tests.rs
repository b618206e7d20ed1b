//! decide, without a cluster: every blocker and every plan shape, from YAML fixtures.

use exposure_crd::{condition, labels, Exposure, ExposureStatus, ResourceRef};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::{json, Value};

use super::*;
use crate::cluster::KubeVersion;
use crate::fixtures::{exposure_yaml, object};

const UID: &str = "uid-web";

fn at() -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).expect("a time"))
}

fn old_cluster() -> ClusterInfo {
    ClusterInfo::new(KubeVersion::new(1, 20))
}

fn policy() -> StoragePolicy {
    StoragePolicy {
        storage_classes_enabled: true,
        allowed_resturls: vec!["http://heketi.storage:8080".into()],
        allow_cross_namespace_secrets: false,
    }
}

/// `web` in `shop` (uid `uid-web`) with `spec` (YAML, indented 2).
fn web(spec: &str) -> Exposure {
    exposure_yaml(&format!(
        "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata: {{name: web, namespace: shop, uid: {UID}, generation: 1, creationTimestamp: '2024-01-01T00:00:10Z'}}\nspec:\n{spec}"
    ))
}

const APP: &str = "  image: nginx:1.25\n  ports: [{name: http, containerPort: 80}]\n";

fn gluster(extra: &str) -> String {
    format!(
        "{APP}  storage:\n    - name: data\n      mountPath: /data\n      size: 1Gi\n      glusterfs: {{resturl: 'http://heketi.storage:8080'{extra}}}\n"
    )
}

fn run(exposure: &Exposure, snapshot: Snapshot) -> Decision {
    decide(exposure, &old_cluster(), &policy(), snapshot, &at()).expect("serialises")
}

fn blockers(decision: &Decision) -> Vec<(BlockReason, String)> {
    match decision {
        Decision::Blocked { blockers, status } => {
            let stalled = status
                .conditions
                .iter()
                .find(|c| c.type_ == condition::STALLED)
                .expect("Stalled");
            assert_eq!(stalled.status, "True");
            assert_eq!(stalled.reason, blockers[0].reason.as_str());
            blockers
                .iter()
                .map(|b| (b.reason, b.message.clone()))
                .collect()
        }
        other => panic!("expected Blocked, got {other:?}"),
    }
}

fn plan(decision: Decision) -> Plan {
    match decision {
        Decision::Apply(plan) => *plan,
        other => panic!("expected a plan, got {other:?}"),
    }
}

fn reasons(decision: &Decision) -> Vec<BlockReason> {
    blockers(decision).into_iter().map(|(r, _)| r).collect()
}

/// The desired children of `exposure`, as live objects ours (labelled, controlled).
fn live_as_desired(exposure: &Exposure) -> BTreeMap<(ChildKind, String), Value> {
    let valid = validate(exposure, &old_cluster()).expect("valid");
    desired_children(&build(&valid, &old_cluster()))
        .expect("serialises")
        .into_iter()
        .map(|c| {
            let mut object = c.object;
            object["metadata"]["uid"] = json!(format!("live-{}", c.name));
            ((c.kind, c.name), object)
        })
        .collect()
}

fn labelled_meta(name: &str, controlled: bool) -> ObjectMeta {
    object(json!({
        "name": name, "namespace": "shop", "uid": format!("live-{name}"),
        "labels": {labels::MANAGED_BY: labels::MANAGER, labels::NAME: "web"},
        "ownerReferences": if controlled {
            json!([{"apiVersion": "exposure.dev/v1alpha1", "kind": "Exposure", "name": "web", "uid": UID, "controller": true}])
        } else { json!([]) },
    }))
}

fn pvc(name: &str, size: &str, controlled: bool) -> PersistentVolumeClaim {
    let mut meta = serde_json::to_value(labelled_meta(name, controlled)).expect("meta");
    meta["labels"][labels::VOLUME] = json!(name.trim_start_matches("web-"));
    object(json!({
        "metadata": meta,
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }))
}

fn class(name: &str) -> StorageClass {
    object(json!({
        "metadata": {"name": name, "uid": format!("live-{name}"), "labels": {
            labels::MANAGED_BY: labels::MANAGER, labels::NAME: "web", labels::NAMESPACE: "shop"}},
        "provisioner": "kubernetes.io/glusterfs",
    }))
}

fn used_by_pv(class: &str) -> BTreeMap<String, ClassUsers> {
    BTreeMap::from([(
        class.to_string(),
        ClassUsers {
            volumes: vec!["PV pv-1".into()],
            claims: vec!["PVC shop/web-data".into()],
        },
    )])
}

// ---- blockers ------------------------------------------------------------------------------

#[test]
fn invalid_spec_is_blocked_before_anything_else() {
    let e =
        web("  ports: [{containerPort: 80, nodePort: 40000}]\n  visibility: {type: NodePort}\n");
    let b = blockers(&run(&e, Snapshot::default()));
    assert!(
        b.iter().all(|(r, _)| *r == BlockReason::InvalidSpec),
        "{b:?}"
    );
    assert!(
        b.iter().any(|(_, m)| m.contains("spec.ports[0].nodePort")),
        "{b:?}"
    );
}

#[test]
fn a_feature_the_cluster_lacks_is_unsupported() {
    let e = web(&gluster(""));
    let d = decide(
        &e,
        &ClusterInfo::default(),
        &policy(),
        Snapshot::default(),
        &at(),
    )
    .unwrap();
    assert_eq!(reasons(&d), [BlockReason::UnsupportedByCluster]);
}

#[test]
fn an_older_exposure_on_the_same_host_or_node_port_blocks() {
    let rival = exposure_yaml(
        "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata: {name: older, namespace: other, creationTimestamp: '2024-01-01T00:00:00Z'}\nspec:\n  image: nginx\n  ports: [{containerPort: 80}]\n  visibility: {type: Ingress}\n  ingress: {host: shop.example.com}\n",
    );
    let e = web(&format!(
        "{APP}  visibility: {{type: Ingress}}\n  ingress: {{host: shop.example.com}}\n"
    ));
    let snapshot = Snapshot {
        rivals: vec![rival],
        ..Snapshot::default()
    };
    assert_eq!(reasons(&run(&e, snapshot)), [BlockReason::HostConflict]);

    let rival = exposure_yaml(
        "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata: {name: older, namespace: shop, creationTimestamp: '2024-01-01T00:00:00Z'}\nspec:\n  image: nginx\n  ports: [{containerPort: 80, nodePort: 30080}]\n  visibility: {type: NodePort}\n",
    );
    let e = web("  image: nginx\n  ports: [{containerPort: 80, nodePort: 30080}]\n  visibility: {type: NodePort}\n");
    let snapshot = Snapshot {
        rivals: vec![rival],
        ..Snapshot::default()
    };
    assert_eq!(reasons(&run(&e, snapshot)), [BlockReason::NodePortConflict]);
}

#[test]
fn the_storage_policy_blocks_classes() {
    let e = web(&gluster(""));
    let disabled = StoragePolicy::default();
    let d = decide(&e, &old_cluster(), &disabled, Snapshot::default(), &at()).unwrap();
    assert_eq!(reasons(&d), [BlockReason::StorageClassesDisabled]);
    let e = web(&gluster(", secretNamespace: other, secretName: heketi"));
    assert_eq!(
        reasons(&run(&e, Snapshot::default())),
        [BlockReason::StorageClassNotAllowed]
    );
}

#[test]
fn a_foreign_object_under_a_child_name_is_a_conflict() {
    let e = web(APP);
    let foreign = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}});
    let snapshot = Snapshot {
        live: BTreeMap::from([((ChildKind::Service, "web".to_string()), foreign)]),
        ..Snapshot::default()
    };
    let b = blockers(&run(&e, snapshot));
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].0, BlockReason::ResourceConflict);
    assert!(b[0].1.starts_with("Service shop/web already exists and is not managed by this Exposure (it has no exposure.dev/name label"), "{}", b[0].1);
}

#[test]
fn a_shrinking_volume_is_invalid() {
    let e = web(&format!(
        "{APP}  storage: [{{name: data, mountPath: /data, size: 1Gi, storageClassName: fast}}]\n"
    ));
    let mut live = live_as_desired(&e);
    let key = (ChildKind::PersistentVolumeClaim, "web-data".to_string());
    live.get_mut(&key).unwrap()["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
    let b = blockers(&run(
        &e,
        Snapshot {
            live,
            ..Snapshot::default()
        },
    ));
    assert_eq!(b[0].0, BlockReason::InvalidSpec);
    assert!(b[0].1.contains("current size 2Gi"), "{}", b[0].1);
}

#[test]
fn a_changed_class_in_use_is_immutable() {
    let e = web(&gluster(", volumetype: none"));
    let mut live = live_as_desired(&e);
    let key = (ChildKind::StorageClass, "shop.web.data".to_string());
    live.get_mut(&key).unwrap()["parameters"]
        .as_object_mut()
        .unwrap()
        .remove("volumetype");
    let snapshot = Snapshot {
        live,
        class_users: used_by_pv("shop.web.data"),
        ..Snapshot::default()
    };
    let b = blockers(&run(&e, snapshot));
    assert_eq!(b[0].0, BlockReason::StorageClassImmutable);
    assert!(
        b[0].1
            .contains("parameters.volumetype cannot change while PV pv-1 uses it"),
        "{}",
        b[0].1
    );
}

/// The bug this split removes: a changed, unused class used to be deleted before the PVC rules
/// of the same spec had run. Now the shrink blocks the whole decision: nothing is written.
#[test]
fn a_changed_unused_class_with_a_shrinking_volume_writes_nothing() {
    let e = web(&gluster(", volumetype: none"));
    let mut live = live_as_desired(&e);
    live.get_mut(&(ChildKind::StorageClass, "shop.web.data".to_string()))
        .unwrap()["parameters"]
        .as_object_mut()
        .unwrap()
        .remove("volumetype");
    live.get_mut(&(ChildKind::PersistentVolumeClaim, "web-data".to_string()))
        .unwrap()["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
    let d = run(
        &e,
        Snapshot {
            live,
            ..Snapshot::default()
        },
    );
    assert_eq!(reasons(&d), [BlockReason::InvalidSpec]);
}

// ---- plans ---------------------------------------------------------------------------------

#[test]
fn a_new_exposure_creates_every_child_in_order() {
    let e = web(&gluster(""));
    let p = plan(run(&e, Snapshot::default()));
    let order: Vec<(ChildKind, &str)> = p
        .apply
        .iter()
        .map(|s| (s.child.kind, s.child.name.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            (ChildKind::StorageClass, "shop.web.data"),
            (ChildKind::PersistentVolumeClaim, "web-data"),
            (ChildKind::Deployment, "web"),
            (ChildKind::Service, "web"),
        ]
    );
    assert!(p.apply.iter().all(|s| s.live.is_none() && !s.recreate));
    assert!(p.add_finalizer, "it creates a StorageClass");
    assert!(!p.drop_finalizer);
    assert!(p.prune.is_empty() && p.release.is_empty() && p.delete_classes.is_empty());
    assert_eq!(
        p.status
            .resources
            .iter()
            .map(|r| r.kind.as_str())
            .collect::<Vec<_>>(),
        [
            "StorageClass",
            "PersistentVolumeClaim",
            "Deployment",
            "Service"
        ]
    );
}

#[test]
fn an_up_to_date_exposure_plans_applies_against_the_live_objects() {
    let e = web(APP);
    let live = live_as_desired(&e);
    let p = plan(run(
        &e,
        Snapshot {
            live,
            ..Snapshot::default()
        },
    ));
    assert!(p.apply.iter().all(|s| s.live.is_some()));
    assert!(!p.add_finalizer && !p.drop_finalizer);
}

/// The snapshot predates the plan's writes: a rolled-out Deployment at generation 1 whose spec
/// the plan changes (a new image) is not judged converged from its old status.
#[test]
fn a_changed_deployment_is_rolling_out_not_converged() {
    let before = web(APP);
    let mut live = live_as_desired(&before);
    let deployment_json = live
        .get_mut(&(ChildKind::Deployment, "web".to_string()))
        .expect("a Deployment");
    deployment_json["metadata"]["generation"] = json!(1);
    deployment_json["status"] = json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
        "readyReplicas": 1, "availableReplicas": 1});
    let deployment: k8s_openapi::api::apps::v1::Deployment =
        serde_json::from_value(deployment_json.clone()).expect("a Deployment");
    let observed = Observed {
        deployment: Some(deployment),
        ..Observed::default()
    };
    let snapshot = |live| Snapshot {
        live,
        observed: observed.clone(),
        ..Snapshot::default()
    };
    let reconciling = |p: &Plan| {
        let c = p
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == condition::RECONCILING)
            .expect("Reconciling")
            .clone();
        (c.status, c.message)
    };
    // Unchanged: the old status is the current one.
    let same = plan(run(&before, snapshot(live.clone())));
    assert!(!reconciling(&same)
        .1
        .contains("waiting for the controller to observe the new spec"));
    // A new image: the Deployment is a generation ahead of its status.
    let after = web("  image: nginx:1.26\n  ports: [{name: http, containerPort: 80}]\n");
    let changed = plan(run(&after, snapshot(live)));
    let (status, message) = reconciling(&changed);
    assert_eq!(status, "True");
    assert!(
        message.contains("waiting for the controller to observe the new spec"),
        "{message}"
    );
    // What the executor gets to restate a stopped apply is the snapshot itself.
    assert_eq!(
        changed
            .observed
            .deployment
            .and_then(|d| d.metadata.generation),
        Some(1)
    );
}

#[test]
fn children_no_longer_desired_are_pruned_if_controlled() {
    let e = web(APP);
    let snapshot = Snapshot {
        labelled: vec![
            (ChildKind::Service, labelled_meta("web-headless", true)),
            // The endpoints controller's copy of our Service labels: not ours to delete.
            (ChildKind::Endpoints, labelled_meta("web", false)),
            (ChildKind::Service, labelled_meta("web", true)),
        ],
        ..Snapshot::default()
    };
    let p = plan(run(&e, snapshot));
    let pruned: Vec<(ChildKind, &str, Option<&str>)> = p
        .prune
        .iter()
        .map(|d| (d.kind, d.name.as_str(), d.uid.as_deref()))
        .collect();
    assert_eq!(
        pruned,
        [(
            ChildKind::Service,
            "web-headless",
            Some("live-web-headless")
        )]
    );
    let event = p.prune[0].event.as_ref().expect("an event");
    assert_eq!(
        event.note.as_deref(),
        Some("Deleted Service web-headless: no longer in the spec")
    );
}

#[test]
fn volumes_leaving_the_spec_are_released_or_deleted() {
    let e = web(APP);
    let snapshot = Snapshot {
        pvcs: vec![
            pvc("web-kept", "1Gi", false),
            pvc("web-scratch", "1Gi", true),
        ],
        ..Snapshot::default()
    };
    let p = plan(run(&e, snapshot));
    assert_eq!(p.release.len(), 1);
    assert_eq!(p.release[0].name, "web-kept");
    assert_eq!(
        p.release[0].patch["metadata"]["labels"][labels::RETAINED_FROM],
        "web"
    );
    assert!(p.release[0].patch["metadata"]["labels"]
        .get(labels::NAME)
        .is_none());
    assert_eq!(p.delete_pvcs.len(), 1);
    assert_eq!(p.delete_pvcs[0].name, "web-scratch");
    assert_eq!(p.delete_pvcs[0].uid.as_deref(), Some("live-web-scratch"));
}

#[test]
fn classes_leaving_the_spec_are_deleted_once_unused_then_the_finalizer_goes() {
    let mut e = web(APP);
    e.metadata.finalizers = Some(vec![labels::CLEANUP_FINALIZER.into()]);
    let unused = Snapshot {
        storage_classes: vec![class("shop.web.data")],
        ..Snapshot::default()
    };
    let p = plan(run(&e, unused.clone()));
    assert_eq!(p.delete_classes.len(), 1);
    assert!(p.drop_finalizer);

    e.status = Some(ExposureStatus {
        resources: vec![ResourceRef {
            kind: "StorageClass".into(),
            name: "shop.web.data".into(),
        }],
        ..ExposureStatus::default()
    });
    let used = Snapshot {
        class_users: used_by_pv("shop.web.data"),
        ..unused
    };
    let p = plan(run(&e, used));
    assert!(p.delete_classes.is_empty());
    assert!(!p.drop_finalizer, "a kept class keeps the finalizer");
    assert_eq!(p.events.len(), 1);
    assert_eq!(p.events[0].reason, "StorageClassKept");
}

#[test]
fn a_changed_unused_class_is_recreated() {
    let e = web(&gluster(", volumetype: none"));
    let mut live = live_as_desired(&e);
    live.get_mut(&(ChildKind::StorageClass, "shop.web.data".to_string()))
        .unwrap()["parameters"]
        .as_object_mut()
        .unwrap()
        .remove("volumetype");
    let p = plan(run(
        &e,
        Snapshot {
            live,
            ..Snapshot::default()
        },
    ));
    assert!(p.apply[0].recreate);
    assert_eq!(p.apply[0].child.kind, ChildKind::StorageClass);
    assert!(p.apply[1..].iter().all(|s| !s.recreate));
}

#[test]
fn a_released_volume_is_adopted_and_others_are_listed_as_retained() {
    let e = web(&format!(
        "{APP}  storage: [{{name: data, mountPath: /data, size: 1Gi, storageClassName: fast}}]\n"
    ));
    let mut live = live_as_desired(&e);
    let released = |name: &str, size: &str| -> PersistentVolumeClaim {
        object(
            json!({"metadata": {"name": name, "namespace": "shop", "labels": {
            labels::MANAGED_BY: labels::MANAGER, labels::RETAINED_FROM: "web", labels::VOLUME: "old"}},
            "spec": {"resources": {"requests": {"storage": size}}}}),
        )
    };
    let adopted = serde_json::to_value(released("web-data", "1Gi")).unwrap();
    live.insert(
        (ChildKind::PersistentVolumeClaim, "web-data".into()),
        adopted,
    );
    let snapshot = Snapshot {
        live,
        retained: vec![released("web-data", "1Gi"), released("web-old", "3Gi")],
        ..Snapshot::default()
    };
    let p = plan(run(&e, snapshot));
    let retained: Vec<&str> = p
        .status
        .retained_volumes
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(retained, ["web-old"]);
    assert!(p
        .apply
        .iter()
        .any(|s| s.child.name == "web-data" && s.live.is_some()));
}

#[test]
fn more_than_one_replica_on_a_read_write_once_volume_warns_on_change() {
    let e = web(&format!("{APP}  replicas: 2\n  storage: [{{name: data, mountPath: /data, size: 1Gi, storageClassName: fast}}]\n"));
    let p = plan(run(&e, Snapshot::default()));
    assert_eq!(p.change_warnings.len(), 1);
    assert!(p.events.is_empty());
}

#[test]
fn a_deleting_exposure_cleans_up_only_with_its_finalizer() {
    let mut e = web(APP);
    e.metadata.deletion_timestamp = Some(at());
    let snapshot = Snapshot {
        pvcs: vec![
            pvc("web-kept", "1Gi", false),
            pvc("web-scratch", "1Gi", true),
        ],
        storage_classes: vec![class("shop.web.a"), class("shop.web.b")],
        class_users: used_by_pv("shop.web.b"),
        ..Snapshot::default()
    };
    assert!(matches!(run(&e, snapshot.clone()), Decision::Nothing));
    e.metadata.finalizers = Some(vec![labels::CLEANUP_FINALIZER.into()]);
    let Decision::Cleanup(cleanup) = run(&e, snapshot) else {
        panic!("expected a cleanup")
    };
    // The `reclaim: Delete` PVC goes with the garbage collector.
    let released: Vec<&str> = cleanup.release.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(released, ["web-kept"]);
    let deleted: Vec<&str> = cleanup
        .delete_classes
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(deleted, ["shop.web.a"]);
    assert_eq!(cleanup.events[0].reason, "StorageClassKept");
}

#[test]
fn a_stopped_apply_says_what_was_applied_and_what_was_not() {
    let e = web(&format!("{APP}  headless: true\n"));
    let p = plan(run(&e, Snapshot::default()));
    let refused = Blocker::new(BlockReason::QuotaExceeded, "Service web: exceeded quota");
    let status = stopped_status(&e, &p, 1, refused, &at());
    let stalled = status
        .conditions
        .iter()
        .find(|c| c.type_ == condition::STALLED)
        .unwrap();
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "QuotaExceeded")
    );
    assert_eq!(
        stalled.message,
        "Service web: exceeded quota; applied: Deployment web; not applied: Service web, Service web-headless"
    );
    assert_eq!(
        status.resources,
        [ResourceRef {
            kind: "Deployment".into(),
            name: "web".into()
        }]
    );
}

// ---- workloads (issue #13) -------------------------------------------------------------------

const STATEFUL: &str =
    "  image: postgres:16\n  ports: [{name: pg, containerPort: 5432}]\n  workload: StatefulSet\n";

/// A per-pod claim `name` of volume `volume`, owned (`owned_by`: kind) or not.
fn per_pod_claim(name: &str, volume: &str, owned_by: Option<&str>) -> PersistentVolumeClaim {
    object(json!({
        "metadata": {
            "name": name, "namespace": "shop", "uid": format!("live-{name}"),
            "labels": {labels::MANAGED_BY: labels::MANAGER, labels::NAME: "web",
                       labels::VOLUME: volume, labels::PER_POD: "true"},
            "ownerReferences": owned_by.map_or(json!([]), |kind| json!([
                {"apiVersion": "apps/v1", "kind": kind, "name": "web", "uid": "live-sts", "controller": false}])),
        },
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }))
}

#[test]
fn a_switch_to_a_stateful_set_keeps_the_shared_claim_even_with_reclaim_delete() {
    let e = web(&format!(
        "{STATEFUL}  storage: [{{name: data, mountPath: /data, size: 1Gi, reclaim: Delete}}]\n"
    ));
    let snapshot = Snapshot {
        // The Deployment's claim, controlled by the Exposure (reclaim: Delete).
        pvcs: vec![pvc("web-data", "1Gi", true)],
        labelled: vec![(ChildKind::Deployment, labelled_meta("web", true))],
        ..Snapshot::default()
    };
    // reclaim: Delete for a StatefulSet needs the claim retention policy (1.27).
    let current = ClusterInfo::default();
    let p = plan(decide(&e, &current, &policy(), snapshot, &at()).expect("serialises"));
    assert!(p.delete_pvcs.is_empty(), "{:?}", p.delete_pvcs);
    assert_eq!(p.release.len(), 1);
    assert_eq!(p.release[0].name, "web-data");
    assert!(
        p.release[0]
            .event
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("the workload kind changed"),
        "{:?}",
        p.release[0].event
    );
    assert_eq!(
        p.prune
            .iter()
            .map(|d| (d.kind, d.name.as_str()))
            .collect::<Vec<_>>(),
        [(ChildKind::Deployment, "web")]
    );
    assert_eq!(
        p.apply
            .iter()
            .map(|s| (s.child.kind, s.child.name.as_str()))
            .collect::<Vec<_>>(),
        [
            (ChildKind::StatefulSet, "web"),
            (ChildKind::Service, "web"),
            (ChildKind::Service, "web-headless"),
        ]
    );
}

#[test]
fn per_pod_claims_beyond_the_replicas_are_retained_never_deleted() {
    let e = web(&format!(
        "{STATEFUL}  replicas: 1\n  storage: [{{name: data, mountPath: /data, size: 1Gi}}]\n"
    ));
    let snapshot = Snapshot {
        pvcs: vec![
            per_pod_claim("data-web-0", "data", None),
            per_pod_claim("data-web-1", "data", None),
            per_pod_claim("data-web-2", "data", None),
        ],
        ..Snapshot::default()
    };
    let p = plan(run(&e, snapshot));
    assert!(p.delete_pvcs.is_empty() && p.release.is_empty() && p.disown.is_empty());
    let retained: Vec<&str> = p
        .status
        .retained_volumes
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(retained, ["data-web-1", "data-web-2"]);
    assert!(p.status.retained_volumes.iter().all(|r| r.volume == "data"));
}

#[test]
fn leaving_a_stateful_set_disowns_its_claims_so_they_outlive_it() {
    // Back to a Deployment: the StatefulSet is pruned; its claims (owned by it: reclaim Delete)
    // lose their ownerReferences first, and every one is listed as retained.
    let e = web(&format!(
        "{APP}  storage: [{{name: data, mountPath: /data, size: 1Gi, reclaim: Delete}}]\n"
    ));
    let snapshot = Snapshot {
        pvcs: vec![
            per_pod_claim("data-web-0", "data", Some("StatefulSet")),
            per_pod_claim("data-web-1", "data", Some("Pod")),
        ],
        labelled: vec![(ChildKind::StatefulSet, labelled_meta("web", true))],
        ..Snapshot::default()
    };
    let p = plan(run(&e, snapshot));
    assert_eq!(
        p.disown.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        ["data-web-0", "data-web-1"]
    );
    assert_eq!(
        p.prune.iter().map(|d| d.kind).collect::<Vec<_>>(),
        [ChildKind::StatefulSet]
    );
    assert_eq!(p.status.retained_volumes.len(), 2);
    assert!(p.delete_pvcs.is_empty());
    // Its retention said nothing of Delete: no retention change needed first.
    assert_eq!(p.retain_claims_of, None);
}

#[test]
fn leaving_a_stateful_set_that_deletes_its_claims_first_makes_it_retain_them() {
    let e = web(&format!(
        "{APP}  storage: [{{name: data, mountPath: /data, size: 1Gi, reclaim: Delete}}]\n"
    ));
    let set: k8s_openapi::api::apps::v1::StatefulSet = object(json!({
        "metadata": {"name": "web", "namespace": "shop", "uid": "live-sts"},
        "spec": {"serviceName": "web-headless", "selector": {}, "template": {},
                 "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Delete"}},
    }));
    let snapshot = Snapshot {
        pvcs: vec![per_pod_claim("data-web-0", "data", Some("StatefulSet"))],
        labelled: vec![(ChildKind::StatefulSet, labelled_meta("web", true))],
        observed: Observed {
            stateful_set: Some(set),
            ..Observed::default()
        },
        ..Snapshot::default()
    };
    let p = plan(run(&e, snapshot));
    assert_eq!(
        p.retain_claims_of,
        Some(Disown {
            namespace: "shop".into(),
            name: "web".into(),
            uid: Some("live-sts".into()),
        })
    );
    assert_eq!(p.disown.len(), 1);
}

#[test]
fn an_autoscaled_stateful_set_recreated_for_a_new_template_keeps_its_replicas() {
    let sized = |size: &str| {
        web(&format!(
            "{STATEFUL}  autoscaling: {{minReplicas: 2, maxReplicas: 6}}\n  storage: [{{name: data, mountPath: /data, size: {size}, storageClassName: fast}}]\n"
        ))
    };
    let mut live = live_as_desired(&sized("1Gi"));
    let key = (ChildKind::StatefulSet, "web".to_owned());
    if let Some(set) = live.get_mut(&key) {
        set["spec"]["replicas"] = json!(4);
    }
    let p = plan(run(
        &sized("2Gi"),
        Snapshot {
            live,
            ..Snapshot::default()
        },
    ));
    let step = p
        .apply
        .iter()
        .find(|s| s.child.kind == ChildKind::StatefulSet)
        .expect("a StatefulSet step");
    assert!(step.recreate);
    assert_eq!(step.child.object["spec"]["replicas"], json!(4));
    assert_eq!(step.handover_replicas, Some(4));
}

#[test]
fn a_changed_claim_template_recreates_the_stateful_set() {
    let e = web(&format!(
        "{STATEFUL}  storage: [{{name: data, mountPath: /data, size: 2Gi}}]\n"
    ));
    let mut live = live_as_desired(&e);
    let key = (ChildKind::StatefulSet, "web".to_string());
    live.get_mut(&key).unwrap()["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]
        ["requests"]["storage"] = json!("1Gi");
    let p = plan(run(
        &e,
        Snapshot {
            live: live.clone(),
            ..Snapshot::default()
        },
    ));
    let step = p
        .apply
        .iter()
        .find(|s| s.child.kind == ChildKind::StatefulSet)
        .expect("the StatefulSet");
    assert!(step.recreate);
    // Replicas alone change in place.
    let e = web(&format!(
        "{STATEFUL}  replicas: 5\n  storage: [{{name: data, mountPath: /data, size: 1Gi}}]\n"
    ));
    let live = live_as_desired(&web(&format!(
        "{STATEFUL}  replicas: 2\n  storage: [{{name: data, mountPath: /data, size: 1Gi}}]\n"
    )));
    let p = plan(run(
        &e,
        Snapshot {
            live,
            ..Snapshot::default()
        },
    ));
    assert!(p.apply.iter().all(|s| !s.recreate));
}

#[test]
fn replicas_are_handed_over_when_an_autoscaler_arrives() {
    let before = web(&format!("{APP}  replicas: 3\n"));
    let after = web(&format!(
        "{APP}  replicas: 3\n  autoscaling: {{minReplicas: 2, maxReplicas: 6}}\n"
    ));
    let p = plan(run(
        &after,
        Snapshot {
            live: live_as_desired(&before),
            ..Snapshot::default()
        },
    ));
    let deployment = p
        .apply
        .iter()
        .find(|s| s.child.kind == ChildKind::Deployment)
        .expect("the Deployment");
    assert_eq!(deployment.handover_replicas, Some(3));
    assert_eq!(deployment.child.object["spec"].get("replicas"), None);
    assert_eq!(
        p.apply
            .iter()
            .map(|s| s.child.kind)
            .filter(|k| *k == ChildKind::LegacyHorizontalPodAutoscaler)
            .count(),
        1,
        "1.20 gets autoscaling/v2beta2"
    );
    // Once handed over (the annotation is live), later applies hand nothing over.
    let p = plan(run(
        &after,
        Snapshot {
            live: live_as_desired(&after),
            ..Snapshot::default()
        },
    ));
    assert!(p.apply.iter().all(|s| s.handover_replicas.is_none()));
}

#[test]
fn a_stateful_set_volume_grows_its_claims_and_never_shrinks_them() {
    let sized = |size: &str| {
        web(&format!(
            "{STATEFUL}  replicas: 2\n  storage: [{{name: data, mountPath: /data, size: {size}, storageClassName: fast}}]\n"
        ))
    };
    let claim = |name: &str, size: &str| {
        let mut pvc = per_pod_claim(name, "data", None);
        if let Some(spec) = pvc.spec.as_mut() {
            spec.storage_class_name = Some("fast".into());
            spec.resources = Some(object(json!({"requests": {"storage": size}})));
        }
        pvc
    };
    let claims = vec![claim("data-web-0", "1Gi"), claim("data-web-1", "1Gi")];
    let grow = sized("2Gi");
    let p = plan(run(
        &grow,
        Snapshot {
            live: live_as_desired(&sized("1Gi")),
            pvcs: claims.clone(),
            ..Snapshot::default()
        },
    ));
    let steps: Vec<(ChildKind, &str, bool)> = p
        .apply
        .iter()
        .map(|s| (s.child.kind, s.child.name.as_str(), s.recreate))
        .collect();
    assert_eq!(
        steps,
        [
            // The claims first: a class refusing the expansion stops the plan before the
            // StatefulSet is recreated with the larger template.
            (ChildKind::PersistentVolumeClaim, "data-web-0", false),
            (ChildKind::PersistentVolumeClaim, "data-web-1", false),
            (ChildKind::StatefulSet, "web", true),
            (ChildKind::Service, "web", false),
            (ChildKind::Service, "web-headless", false),
        ]
    );
    assert_eq!(
        p.apply[0].child.object["spec"],
        json!({"resources": {"requests": {"storage": "2Gi"}}})
    );

    let shrink = sized("512Mi");
    let b = blockers(&run(
        &shrink,
        Snapshot {
            live: live_as_desired(&sized("1Gi")),
            pvcs: claims,
            ..Snapshot::default()
        },
    ));
    assert_eq!(b.len(), 2);
    assert!(
        b[0].1.starts_with(
            "spec.storage[0].size: 512Mi is smaller than the current size 1Gi of PVC data-web-0"
        ),
        "{}",
        b[0].1
    );
}

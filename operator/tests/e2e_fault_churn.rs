//! Faults of the object's life: hundreds of rapid edits to one Exposure, Exposures deleted
//! while their children are being created, and a namespace deleted with Exposures and their
//! storage in it: on 1.35 with volumes of an existing class (no finalizer), and on the 1.20
//! lane (`in_tree_glusterfs::`) with GlusterFS classes of their own, which the operator creates
//! and finalizes (the in-tree provisioner exists only there).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use exposure_crd::{labels, Exposure};
use exposure_e2e::{cluster, TestNamespace};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolumeClaim, Service};
use kube::api::{DeleteParams, ListParams};
use kube::{Api, ResourceExt};
use serde_json::json;
use support::faults::{self, Rng};
use support::*;

/// Visibility types and the Service type each gives.
const VISIBILITIES: [(&str, &str); 3] = [
    ("Internal", "ClusterIP"),
    ("NodePort", "NodePort"),
    ("LoadBalancer", "LoadBalancer"),
];

/// Spec number `n` of the churn: image, port and visibility all move.
fn churn_spec(n: u64) -> serde_json::Value {
    json!({
        "image": format!("nginx:1.{n}"),
        "replicas": 1 + n % 3,
        "ports": [{"name": "http", "containerPort": 8000 + (n % 50)}],
        "visibility": {"type": VISIBILITIES[(n % 3) as usize].0},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_rapid_edits_end_in_the_last_spec_with_writes_bounded_by_specs() -> Result<()> {
    let updates: u64 = std::env::var("EXPOSURE_FAULT_CHURN_UPDATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let (_cluster, ns, op) = start_in_namespace("fault-churn", &["--resync-seconds", "2"]).await?;
    let exposures: Api<Exposure> = ns.api();
    apply_spec(&exposures, "web", churn_spec(0)).await?;
    wait_ready(&op, &exposures, "web").await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = op.writes(None).await?;
    let child_before = op.writes(Some("verb=\"apply\"")).await?;
    let reconciles_before = metric_sum(&op.metrics().await?, "exposure_reconciles_total", None);

    let started = Instant::now();
    for n in 1..=updates {
        apply_spec(&exposures, "web", churn_spec(n)).await?;
    }
    let applying = started.elapsed().as_secs_f64();
    let last = churn_spec(updates);
    let settled = wait_ready(&op, &exposures, "web").await?;
    let deployment = ns.api::<Deployment>().get("web").await?;
    let container = deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|s| s.containers.first())
        .cloned()
        .unwrap_or_default();
    assert_eq!(container.image.as_deref(), last["image"].as_str());
    assert_eq!(
        container
            .ports
            .unwrap_or_default()
            .first()
            .map(|p| p.container_port as u64),
        last["ports"][0]["containerPort"].as_u64()
    );
    assert_eq!(
        deployment
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .map(|r| r as u64),
        last["replicas"].as_u64()
    );
    let service = ns.api::<Service>().get("web").await?;
    assert_eq!(
        service.spec.as_ref().and_then(|s| s.type_.as_deref()),
        Some(VISIBILITIES[(updates % 3) as usize].1)
    );
    assert_eq!(settled.spec.image.as_deref(), last["image"].as_str());

    // At rest nothing more is written, resyncs (every 2 s) notwithstanding.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let at_rest = op.writes(None).await?;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        op.writes(None).await?,
        at_rest,
        "writes at rest\n{}",
        op.logs()
    );

    let writes = at_rest - before;
    let applies = op.writes(Some("verb=\"apply\"")).await? - child_before;
    let reconciles =
        metric_sum(&op.metrics().await?, "exposure_reconciles_total", None) - reconciles_before;
    // Each distinct spec costs at most one apply per child (Deployment, Service), one status and
    // the events of what changed; reconciles coalesce edits, so usually far fewer.
    assert!(
        applies <= 2.0 * updates as f64,
        "{applies} child applies for {updates} specs"
    );
    assert!(
        writes <= 6.0 * updates as f64,
        "{writes} writes for {updates} specs"
    );
    println!(
        "fault-churn: updates={updates} applied_in={applying:.1}s reconciles={reconciles} writes={writes} child_applies={applies} writes_per_spec={:.2} writes_at_rest_8s=0",
        writes / updates as f64
    );
    finish(ns, op).await
}

fn storage_spec(ns: &str, i: usize) -> serde_json::Value {
    json!({
        "image": "nginx:1.25",
        "ports": [{"name": "http", "containerPort": 80}],
        "visibility": {"type": "Ingress"},
        "ingress": {"host": format!("del-{i}.{ns}.example.test")},
        "storage": [
            {"name": "keep", "mountPath": "/keep", "size": "1Gi", "storageClassName": "fast", "reclaim": "Retain"},
            {"name": "scratch", "mountPath": "/scratch", "size": "1Gi", "storageClassName": "fast", "reclaim": "Delete"},
        ],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_while_its_children_are_created_leaves_only_released_volumes() -> Result<()> {
    const EXPOSURES: usize = 12;
    let mut rng = Rng::from_env("fault-delete-during-reconcile");
    let (cluster, ns, op) = start_in_namespace("fault-delrec", &[]).await?;
    ensure_fast_storage_class(&cluster).await?;
    let exposures: Api<Exposure> = ns.api();
    let pvcs: Api<PersistentVolumeClaim> = ns.api();
    let mut delays = Vec::new();
    for i in 0..EXPOSURES {
        apply_spec(&exposures, &format!("del-{i}"), storage_spec(ns.name(), i)).await?;
        // 0-600 ms: before, during and after the children are applied.
        let delay = rng.below(600);
        delays.push(delay);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        exposures
            .delete(&format!("del-{i}"), &DeleteParams::default())
            .await?;
    }
    for i in 0..EXPOSURES {
        exposure_e2e::wait_for_deletion(&exposures, &format!("del-{i}"), TIMEOUT).await?;
    }
    // What remains: released Retain claims only; no Deployment, Service, Ingress or Delete claim.
    let remaining = exposure_e2e::eventually(
        "only released claims to remain",
        Duration::from_secs(60),
        || async {
            let children = faults::managed_children(&cluster.client(), ns.name()).await?;
            let claims = pvcs.list(&ListParams::default()).await?.items;
            let unreleased: Vec<_> = claims
                .iter()
                .filter(|p| !p.labels().contains_key(labels::RETAINED_FROM))
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .map(|p| p.name_any())
                .collect();
            Ok((children.is_empty() && unreleased.is_empty()).then_some(claims))
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))?;
    for claim in &remaining {
        assert!(
            claim.name_any().ends_with("-keep"),
            "a reclaim: Delete claim was kept: {}",
            claim.name_any()
        );
    }
    let pvcs_by_name: BTreeMap<String, String> = remaining
        .iter()
        .map(|p| (p.name_any(), p.uid().unwrap_or_default()))
        .collect();
    faults::audit(&cluster.client(), ns.name(), &pvcs_by_name).await?;
    println!(
        "fault-delete-during-reconcile: exposures={EXPOSURES} delays_ms={delays:?} released_claims={} leftover_children=0",
        remaining.len()
    );
    finish(ns, op).await
}

/// Deletes namespace `name` and waits until it is gone (the operator's log on a timeout);
/// returns the seconds it took.
async fn delete_namespace(
    cluster: &exposure_e2e::Cluster,
    name: &str,
    op: &Operator,
    within: Duration,
) -> Result<f64> {
    let namespaces: Api<Namespace> = Api::all(cluster.client());
    let started = Instant::now();
    namespaces.delete(name, &DeleteParams::background()).await?;
    exposure_e2e::wait_for_deletion(&namespaces, name, within)
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))?;
    Ok(started.elapsed().as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_with_exposures_and_storage_goes_away() -> Result<()> {
    const EXPOSURES: usize = 6;
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    ensure_fast_storage_class(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "fault-nsdel").await?;
    let op = Operator::start(&cluster, &[ns.name()], &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    for i in 0..EXPOSURES {
        apply_spec(&exposures, &format!("del-{i}"), storage_spec(ns.name(), i)).await?;
    }
    for i in 0..EXPOSURES {
        wait_ready(&op, &exposures, &format!("del-{i}")).await?;
    }
    let gone = delete_namespace(&cluster, ns.name(), &op, Duration::from_secs(120)).await?;
    // The retained claims went with the namespace (a namespace deletion takes everything in it);
    // the operator is still healthy and logs no panic.
    assert_eq!(http_get(&op.metrics_addr, "/readyz").await?.0, 200);
    assert!(!op.logs().contains("panicked"), "{}", op.logs());
    println!("fault-namespace-deletion: exposures={EXPOSURES} (2 volumes each) namespace_gone_after={gone:.1}s");
    op.stop().await?;
    ns.cleanup().await
}

mod in_tree_glusterfs {
    use super::*;
    use exposure_e2e::heketi::HeketiStandIn;
    use exposure_e2e::{random_suffix, wait_for_deletion};
    use k8s_openapi::api::storage::v1::StorageClass;

    /// A volume of a GlusterFS class of its own (created by the operator, hence the cleanup
    /// finalizer) and a retained one of an existing class.
    fn gluster_spec(class: &str, resturl: &str) -> serde_json::Value {
        // Only loopback may ever be applied to the local cluster.
        assert!(
            resturl.starts_with("http://127.0.0.1:"),
            "resturl {resturl}"
        );
        json!({
            "image": "nginx:1.25",
            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
            "storage": [
                {"name": "data", "mountPath": "/data", "size": "1Gi", "reclaim": "Delete",
                 "glusterfs": {"className": class, "resturl": resturl,
                               "restauthenabled": false, "reclaimPolicy": "Delete"}},
                {"name": "keep", "mountPath": "/keep", "size": "1Gi",
                 "storageClassName": "fast", "reclaim": "Retain"},
            ],
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_namespace_with_finalized_exposures_goes_away_and_their_classes_with_it() -> Result<()>
    {
        const EXPOSURES: usize = 3;
        let cluster = cluster().await?;
        install_crd(&cluster).await?;
        ensure_fast_storage_class(&cluster).await?;
        let ns = TestNamespace::new(&cluster, "fault-nsdel-gluster").await?;
        let heketi = HeketiStandIn::start().await?;
        let suffix = random_suffix();
        let names: Vec<String> = (0..EXPOSURES)
            .map(|i| format!("e2e-nsdel-{suffix}-{i}"))
            .collect();
        let _class_guards: Vec<_> = names
            .iter()
            .map(|c| cluster.delete_on_drop("storageclass", c))
            .collect();
        let op = Operator::start(&cluster, &[ns.name()], &[]).await?;
        let exposures: Api<Exposure> = ns.api();
        for (i, class) in names.iter().enumerate() {
            apply_spec(
                &exposures,
                &format!("gl-{i}"),
                gluster_spec(class, heketi.url()),
            )
            .await?;
        }
        for i in 0..EXPOSURES {
            let e = wait_ready(&op, &exposures, &format!("gl-{i}")).await?;
            anyhow::ensure!(
                e.finalizers()
                    .iter()
                    .any(|f| f == labels::CLEANUP_FINALIZER),
                "gl-{i} has no cleanup finalizer: {:?}",
                e.finalizers()
            );
        }
        let classes: Api<StorageClass> = Api::all(cluster.client());
        for class in &names {
            anyhow::ensure!(classes.get_opt(class).await?.is_some(), "no class {class}");
        }

        let started = Instant::now();
        let namespace_gone =
            delete_namespace(&cluster, ns.name(), &op, Duration::from_secs(180)).await?;
        // Each class goes once nothing uses it: its volumes are deleted through heketi, then
        // the operator (finalizer, or its storage sweep for a class still in use then) deletes it.
        for class in &names {
            wait_for_deletion(&classes, class, Duration::from_secs(120))
                .await
                .map_err(|e| anyhow::anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))?;
        }
        let classes_gone = started.elapsed().as_secs_f64();
        assert_eq!(http_get(&op.metrics_addr, "/readyz").await?.0, 200);
        assert!(!op.logs().contains("panicked"), "{}", op.logs());
        println!(
            "fault-namespace-deletion-glusterfs: exposures={EXPOSURES} (cleanup finalizer, a GlusterFS class each) namespace_gone_after={namespace_gone:.1}s classes_gone_after={classes_gone:.1}s"
        );
        op.stop().await?;
        ns.cleanup().await
    }
}

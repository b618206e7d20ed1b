//! e2e: what depends on the cluster's version, on the cluster where it applies. On a current
//! cluster grpc probes, probe-level terminationGracePeriodSeconds and loadBalancerClass are
//! built and served; on one older than their release (1.24, 1.25) each is Stalled
//! UnsupportedByCluster naming the field and both versions, and nothing is applied.

mod support;

use anyhow::{ensure, Context as _, Result};
use exposure_crd::Exposure;
use exposure_operator::cluster::KubeVersion;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use serde_json::json;
use support::*;

fn grpc_probes() -> serde_json::Value {
    json!({
        "image": "nginx:1.25",
        "ports": [{"name": "grpc", "containerPort": 9090, "protocol": "TCP"}],
        "probes": {"liveness": {"grpc": {"port": 9090}, "terminationGracePeriodSeconds": 5}},
    })
}

fn lb_class() -> serde_json::Value {
    json!({
        "image": "nginx:1.25",
        "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
        "visibility": {"type": "LoadBalancer", "loadBalancerClass": "example.com/internal"},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_dependent_fields_follow_the_cluster() -> Result<()> {
    let (cluster, ns, op) = start_in_namespace("versions", &[]).await?;
    let version = server_version(&cluster).await?;
    let exposures: Api<Exposure> = ns.api();
    apply_spec(&exposures, "grpc", grpc_probes()).await?;
    apply_spec(&exposures, "lbclass", lb_class()).await?;
    if version >= KubeVersion::new(1, 25) {
        wait_ready(&op, &exposures, "grpc").await?;
        let deployment = ns.api::<Deployment>().get("grpc").await?;
        let probe = deployment
            .spec
            .and_then(|s| s.template.spec)
            .and_then(|p| p.containers.into_iter().next())
            .and_then(|c| c.liveness_probe)
            .context("a liveness probe")?;
        ensure!(probe.grpc.map(|g| g.port) == Some(9090), "no grpc handler");
        ensure!(probe.termination_grace_period_seconds == Some(5));
        let service = wait_exposure(&op, &exposures, "lbclass", "the Service applied", |e| {
            e.status.as_ref().is_some_and(|s| !s.resources.is_empty())
        })
        .await
        .map(|_| ns.api::<Service>())?
        .get("lbclass")
        .await?;
        ensure!(
            service.spec.and_then(|s| s.load_balancer_class).as_deref()
                == Some("example.com/internal")
        );
    } else {
        for (name, field) in [
            ("grpc", "spec.probes.liveness.grpc"),
            ("lbclass", "spec.visibility.loadBalancerClass"),
        ] {
            let stalled = wait_stalled(&op, &exposures, name, "UnsupportedByCluster").await?;
            let message = stalled_message(&stalled);
            ensure!(message.contains(field), "{name}: {message}");
            ensure!(
                message.contains(&format!("(cluster is {version})")),
                "{name}: {message}"
            );
            ensure!(
                ns.api::<Deployment>().get_opt(name).await?.is_none(),
                "{name}: applied"
            );
        }
    }
    finish(ns, op).await
}

fn autoscaled_with_budget() -> serde_json::Value {
    json!({
        "image": "nginx:1.25",
        "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
        "autoscaling": {"minReplicas": 2, "maxReplicas": 4},
        "disruption": {"minAvailable": 1},
    })
}

fn stateful_with_reclaim_delete(class: &str) -> serde_json::Value {
    json!({
        "image": "postgres:16",
        "workload": "StatefulSet",
        "ports": [{"name": "pg", "containerPort": 5432, "protocol": "TCP"}],
        "storage": [{"name": "data", "mountPath": "/data", "size": "1Gi",
                     "storageClassName": class, "reclaim": "Delete"}],
    })
}

/// The autoscaler and the disruption budget under the API version the cluster serves
/// (`autoscaling/v2` from 1.23, `v2beta2` before; `policy/v1` from 1.21, `v1beta1` before),
/// reported in status either way; a StatefulSet's reclaim Delete needs the claim retention
/// policy (1.27) and is UnsupportedByCluster before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoscaler_budget_and_claim_retention_follow_the_cluster() -> Result<()> {
    let (cluster, ns, op) = start_in_namespace("versions-workloads", &[]).await?;
    let version = server_version(&cluster).await?;
    let info = exposure_operator::cluster::ClusterInfo::new(version);
    let exposures: Api<Exposure> = ns.api();
    apply_spec(&exposures, "scaled", autoscaled_with_budget()).await?;
    apply_spec(
        &exposures,
        "db",
        stateful_with_reclaim_delete("no-such-class"),
    )
    .await?;

    let scaled = wait_exposure(
        &op,
        &exposures,
        "scaled",
        "autoscaler and budget reported",
        |e| {
            e.status.as_ref().is_some_and(|s| {
                s.autoscaler.as_ref().and_then(|a| a.current_replicas) == Some(2)
                    && s.disruption_budget
                        .as_ref()
                        .and_then(|b| b.disruptions_allowed)
                        .is_some()
            })
        },
    )
    .await?;
    let kinds: Vec<(String, String)> = scaled
        .status
        .iter()
        .flat_map(|s| &s.resources)
        .map(|r| (r.kind.clone(), r.name.clone()))
        .collect();
    ensure!(
        kinds.contains(&("HorizontalPodAutoscaler".into(), "scaled".into()))
            && kinds.contains(&("PodDisruptionBudget".into(), "scaled".into())),
        "{kinds:?}"
    );
    let (hpa_version, pdb_version) = (
        if info.supports(exposure_operator::cluster::Feature::AutoscalingV2) {
            "v2"
        } else {
            "v2beta2"
        },
        if info.supports(exposure_operator::cluster::Feature::PodDisruptionBudgetV1) {
            "v1"
        } else {
            "v1beta1"
        },
    );
    for (group, version, plural, kind) in [
        (
            "autoscaling",
            hpa_version,
            "horizontalpodautoscalers",
            "HorizontalPodAutoscaler",
        ),
        (
            "policy",
            pdb_version,
            "poddisruptionbudgets",
            "PodDisruptionBudget",
        ),
    ] {
        let ar = kube::core::ApiResource::from_gvk_with_plural(
            &kube::core::GroupVersionKind::gvk(group, version, kind),
            plural,
        );
        let api: Api<kube::core::DynamicObject> =
            Api::namespaced_with(cluster.client(), ns.name(), &ar);
        let object = api
            .get("scaled")
            .await
            .context(format!("{group}/{version} {kind}"))?;
        // The operator applied it under this version: its field manager is there.
        let managers: Vec<String> = object
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|m| Some(format!("{}@{}", m.manager.clone()?, m.api_version.clone()?)))
            .collect();
        ensure!(
            managers.contains(&format!("exposure-operator@{group}/{version}")),
            "{kind}: {managers:?}"
        );
    }

    if version >= KubeVersion::new(1, 27) {
        let db = wait_exposure(&op, &exposures, "db", "the StatefulSet applied", |e| {
            e.status.as_ref().is_some_and(|s| !s.resources.is_empty())
        })
        .await?;
        ensure!(
            condition(&db, exposure_crd::condition::STALLED).is_none_or(|c| c.status != "True"),
            "stalled: {}",
            stalled_message(&db)
        );
        let set = ns
            .api::<k8s_openapi::api::apps::v1::StatefulSet>()
            .get("db")
            .await?;
        let retention = set
            .spec
            .and_then(|s| s.persistent_volume_claim_retention_policy)
            .context("a retention policy")?;
        ensure!(retention.when_deleted.as_deref() == Some("Delete"));
        ensure!(retention.when_scaled.as_deref() == Some("Delete"));
    } else {
        let db = wait_stalled(&op, &exposures, "db", "UnsupportedByCluster").await?;
        let message = stalled_message(&db);
        ensure!(
            message.contains("spec.storage[0].reclaim") && message.contains("1.27"),
            "{message}"
        );
        ensure!(
            ns.api::<k8s_openapi::api::apps::v1::StatefulSet>()
                .get_opt("db")
                .await?
                .is_none(),
            "applied on a cluster without the retention policy"
        );
    }
    finish(ns, op).await
}

//! e2e: the reconcile loop follows spec changes (image, visibility, headless, quota), reports
//! pull failures, lets the garbage collector remove children, and converges after a restart.

mod support;

use std::time::Duration;

use anyhow::{Context as _, Result};
use exposure_crd::{condition, Exposure};
use exposure_e2e::{wait_for, wait_for_deletion};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ResourceQuota, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{DeleteParams, ListParams};
use kube::Api;
use serde_json::json;
use support::*;

fn service_type(s: &Service) -> Option<String> {
    s.spec.as_ref()?.type_.clone()
}

fn cluster_ip(s: &Service) -> Option<String> {
    s.spec.as_ref()?.cluster_ip.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_update_rolls_out_and_status_follows_generation() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("image-update", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    let mut spec = web_spec("nginx:1.25");
    spec["replicas"] = json!(2);
    apply_spec(&exposures, "web", spec.clone()).await?;
    let first = wait_ready(&op, &exposures, "web").await?;

    spec["image"] = json!("nginx:1.26");
    let updated = apply_spec(&exposures, "web", spec).await?;
    assert!(updated.metadata.generation > first.metadata.generation);
    // Ready stays True while the old replicas serve; Reconciling=False for the new generation
    // means the rollout is complete: every replica runs the new image.
    let ready = wait_exposure(&op, &exposures, "web", "Ready and converged", |e| {
        is_ready(e) && condition(e, condition::RECONCILING).is_some_and(|c| c.status == "False")
    })
    .await?;
    let status = ready.status.clone().unwrap_or_default();
    assert_eq!(status.observed_generation, updated.metadata.generation);
    assert_eq!(status.available_replicas, Some(2));
    let deployment = ns.api::<Deployment>().get("web").await?;
    assert_eq!(image_of(&deployment).as_deref(), Some("nginx:1.26"));
    let ds = deployment.status.clone().unwrap_or_default();
    assert_eq!(ds.observed_generation, deployment.metadata.generation);
    assert_eq!(ds.updated_replicas, Some(2));
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visibility_changes_create_and_prune_children_and_keep_the_cluster_ip() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("visibility", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    let (services, deployments, ingresses) = (
        ns.api::<Service>(),
        ns.api::<Deployment>(),
        ns.api::<Ingress>(),
    );
    let host = format!("{}.example.test", ns.name());
    let with_visibility = |visibility: serde_json::Value| {
        let mut spec = web_spec("nginx:1.25");
        spec["visibility"] = visibility;
        spec
    };

    apply_spec(
        &exposures,
        "web",
        with_visibility(json!({"type": "Internal"})),
    )
    .await?;
    wait_ready(&op, &exposures, "web").await?;
    let service = services.get("web").await?;
    assert_eq!(service_type(&service).as_deref(), Some("ClusterIP"));
    let ip = cluster_ip(&service).context("no clusterIP")?;
    assert!(ingresses.get_opt("web").await?.is_none());

    for (visibility, expected_type) in [
        (json!({"type": "NodePort"}), "NodePort"),
        (json!({"type": "LoadBalancer"}), "LoadBalancer"),
    ] {
        apply_spec(&exposures, "web", with_visibility(visibility)).await?;
        wait_ready(&op, &exposures, "web").await?;
        let service = wait_for(&services, "web", expected_type, TIMEOUT, |s| {
            service_type(s).as_deref() == Some(expected_type)
        })
        .await?;
        assert_eq!(
            cluster_ip(&service).as_deref(),
            Some(ip.as_str()),
            "clusterIP changed going to {expected_type}"
        );
        assert!(
            ingresses.get_opt("web").await?.is_none(),
            "Ingress with visibility {expected_type}"
        );
    }

    let mut spec = with_visibility(json!({"type": "Ingress"}));
    spec["ingress"] = json!({"host": host});
    apply_spec(&exposures, "web", spec).await?;
    let ready = wait_ready(&op, &exposures, "web").await?;
    let service = services.get("web").await?;
    assert_eq!(service_type(&service).as_deref(), Some("ClusterIP"));
    assert_eq!(
        cluster_ip(&service).as_deref(),
        Some(ip.as_str()),
        "clusterIP changed going to Ingress"
    );
    let node_ports: Vec<_> = service
        .spec
        .clone()
        .unwrap_or_default()
        .ports
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.node_port)
        .collect();
    assert!(
        node_ports.is_empty(),
        "ClusterIP Service keeps node ports {node_ports:?}"
    );
    let ingress = ingresses.get("web").await?;
    let rules = ingress
        .spec
        .clone()
        .unwrap_or_default()
        .rules
        .unwrap_or_default();
    assert_eq!(
        rules.first().and_then(|r| r.host.as_deref()),
        Some(host.as_str())
    );
    assert!(ready
        .status
        .clone()
        .unwrap_or_default()
        .url
        .is_some_and(|u| u.contains(&host)));

    apply_spec(
        &exposures,
        "web",
        json!({"visibility": {"type": "ExternalName", "externalName": "db.example.test"}}),
    )
    .await?;
    wait_ready(&op, &exposures, "web").await?;
    wait_for_deletion(&ingresses, "web", TIMEOUT).await?;
    wait_for_deletion(&deployments, "web", TIMEOUT).await?;
    let service = services.get("web").await?;
    assert_eq!(service_type(&service).as_deref(), Some("ExternalName"));
    assert_eq!(
        service
            .spec
            .clone()
            .unwrap_or_default()
            .external_name
            .as_deref(),
        Some("db.example.test")
    );

    apply_spec(
        &exposures,
        "web",
        with_visibility(json!({"type": "Internal"})),
    )
    .await?;
    wait_ready(&op, &exposures, "web").await?;
    let service = services.get("web").await?;
    assert_eq!(service_type(&service).as_deref(), Some("ClusterIP"));
    assert!(cluster_ip(&service).is_some_and(|ip| ip != "None" && !ip.is_empty()));
    assert!(
        deployments.get_opt("web").await?.is_some(),
        "Deployment not recreated after ExternalName"
    );
    assert!(ingresses.get_opt("web").await?.is_none());
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_service_follows_the_headless_flag() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("headless", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    let services = ns.api::<Service>();
    let mut spec = web_spec("nginx:1.25");
    apply_spec(&exposures, "web", spec.clone()).await?;
    wait_ready(&op, &exposures, "web").await?;
    assert!(services.get_opt("web-headless").await?.is_none());

    spec["headless"] = json!(true);
    apply_spec(&exposures, "web", spec.clone()).await?;
    wait_ready(&op, &exposures, "web").await?;
    let headless = wait_for(
        &services,
        "web-headless",
        "the headless Service",
        TIMEOUT,
        |_| true,
    )
    .await?;
    assert_eq!(cluster_ip(&headless).as_deref(), Some("None"));
    assert!(has_our_labels(&headless.metadata, "web"));

    spec["headless"] = json!(false);
    apply_spec(&exposures, "web", spec).await?;
    wait_ready(&op, &exposures, "web").await?;
    wait_for_deletion(&services, "web-headless", TIMEOUT).await?;
    assert!(
        services.get_opt("web").await?.is_some(),
        "the main Service was pruned with the headless one"
    );
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_quota_follows_the_quota_block() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("quota-toggle", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    let quotas = ns.api::<ResourceQuota>();
    let mut spec = web_spec("nginx:1.25");
    apply_spec(&exposures, "web", spec.clone()).await?;
    wait_ready(&op, &exposures, "web").await?;
    assert!(quotas.get_opt("web").await?.is_none());

    spec["quota"] = json!({"hard": {"pods": "5", "services": "3"}});
    apply_spec(&exposures, "web", spec.clone()).await?;
    wait_ready(&op, &exposures, "web").await?;
    let quota = wait_for(&quotas, "web", "the ResourceQuota", TIMEOUT, |_| true).await?;
    let hard = quota
        .spec
        .clone()
        .unwrap_or_default()
        .hard
        .unwrap_or_default();
    assert_eq!(hard.get("pods").map(|q| q.0.as_str()), Some("5"));
    assert!(has_our_labels(&quota.metadata, "web"));

    spec.as_object_mut().context("spec")?.remove("quota");
    apply_spec(&exposures, "web", spec).await?;
    wait_ready(&op, &exposures, "web").await?;
    wait_for_deletion(&quotas, "web", TIMEOUT).await?;
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_pull_failure_is_reported_then_fixed() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("pull-failure", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    apply_spec(&exposures, "web", web_spec("nginx:missing")).await?;
    let failing = wait_exposure(
        &op,
        &exposures,
        "web",
        "Available=False with ImagePullBackOff",
        |e| {
            condition(e, condition::AVAILABLE)
                .is_some_and(|c| c.status == "False" && c.message.contains("ImagePullBackOff"))
        },
    )
    .await?;
    let available = condition(&failing, condition::AVAILABLE)
        .cloned()
        .context("Available")?;
    assert!(
        available.message.contains("nginx:missing"),
        "message does not name the image: {}",
        available.message
    );
    assert!(!is_true(&failing, condition::READY));

    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    wait_ready(&op, &exposures, "web").await?;
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_exposure_garbage_collects_its_children() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("gc", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    let mut spec = web_spec("nginx:1.25");
    spec["visibility"] = json!({"type": "Ingress"});
    spec["ingress"] = json!({"host": format!("{}.example.test", ns.name())});
    spec["headless"] = json!(true);
    spec["quota"] = json!({"hard": {"pods": "5"}});
    apply_spec(&exposures, "web", spec).await?;
    wait_ready(&op, &exposures, "web").await?;
    for present in [
        ns.api::<Deployment>().get_opt("web").await?.is_some(),
        ns.api::<Service>().get_opt("web").await?.is_some(),
        ns.api::<Service>().get_opt("web-headless").await?.is_some(),
        ns.api::<Ingress>().get_opt("web").await?.is_some(),
        ns.api::<ResourceQuota>().get_opt("web").await?.is_some(),
    ] {
        assert!(present, "a child is missing before the delete");
    }

    exposures.delete("web", &DeleteParams::background()).await?;
    wait_for_deletion(&exposures, "web", TIMEOUT).await?;
    wait_for_deletion(&ns.api::<Deployment>(), "web", TIMEOUT).await?;
    wait_for_deletion(&ns.api::<Service>(), "web", TIMEOUT).await?;
    wait_for_deletion(&ns.api::<Service>(), "web-headless", TIMEOUT).await?;
    wait_for_deletion(&ns.api::<Ingress>(), "web", TIMEOUT).await?;
    wait_for_deletion(&ns.api::<ResourceQuota>(), "web", TIMEOUT).await?;
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_restart_mid_creation_converges_without_duplicates() -> Result<()> {
    let (cluster, ns, op) = start_in_namespace("restart", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    let names: Vec<String> = (0..8).map(|i| format!("web-{i}")).collect();
    // The first half is created while the operator runs and it is stopped right away, in the
    // middle of reconciling them; the second half is created while no operator runs.
    for name in &names[..4] {
        apply_spec(&exposures, name, web_spec("nginx:1.25")).await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    op.stop().await?;
    for name in &names[4..] {
        apply_spec(&exposures, name, web_spec("nginx:1.25")).await?;
    }
    let op = Operator::start(&cluster, &[ns.name()], &[]).await?;
    for name in &names {
        wait_ready(&op, &exposures, name).await?;
    }
    for name in &names {
        let selector =
            ListParams::default().labels(&format!("{}={name}", exposure_crd::labels::NAME));
        let deployments = ns.api::<Deployment>().list(&selector).await?.items;
        let services = ns.api::<Service>().list(&selector).await?.items;
        assert_eq!(
            deployments.len(),
            1,
            "{name}: Deployments {:?}",
            deployments
                .iter()
                .map(|d| d.metadata.name.clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            services.len(),
            1,
            "{name}: Services {:?}",
            services
                .iter()
                .map(|d| d.metadata.name.clone())
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(
        ns.api::<Deployment>()
            .list(&ListParams::default())
            .await?
            .items
            .len(),
        names.len()
    );
    finish(ns, op).await
}

//! e2e: a write the API server refuses half-way through the apply (a ResourceQuota's 403, a
//! 422 Invalid) stops the plan: the children after the refused one are not applied, nothing is
//! pruned, and Stalled says which children were applied and which were not.

mod support;

use anyhow::{ensure, Result};
use exposure_crd::Exposure;
use exposure_e2e::{eventually, random_suffix};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ResourceQuota, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::PostParams;
use kube::Api;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_refusal_stops_the_apply_and_says_what_was_applied() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("partial-quota", &[]).await?;
    // The namespace's own quota (not the Exposure's): no Services at all.
    let quotas: Api<ResourceQuota> = ns.api();
    let quota: ResourceQuota = serde_json::from_value(json!({
        "metadata": {"name": "no-services"},
        "spec": {"hard": {"services": "0"}},
    }))?;
    quotas.create(&PostParams::default(), &quota).await?;
    // Admission judges by the quota's status, which the quota controller fills in.
    eventually("the quota's status", TIMEOUT, || {
        let quotas = quotas.clone();
        async move {
            let q = quotas.get("no-services").await?;
            Ok(q.status.and_then(|s| s.hard).filter(|h| !h.is_empty()))
        }
    })
    .await?;

    let exposures: Api<Exposure> = ns.api();
    let mut spec = web_spec("nginx:1.25");
    spec["visibility"] = json!({"type": "Ingress"});
    spec["ingress"] = json!({"host": format!("partial-{}.example.com", random_suffix())});
    apply_spec(&exposures, "web", spec).await?;
    let stalled = wait_stalled(&op, &exposures, "web", "QuotaExceeded").await?;
    let message = stalled_message(&stalled);
    ensure!(message.contains("exceeded quota"), "{message}");
    ensure!(
        message.ends_with("applied: Deployment web; not applied: Service web, Ingress web"),
        "{message}"
    );
    ensure!(ns.api::<Deployment>().get_opt("web").await?.is_some());
    ensure!(ns.api::<Service>().get_opt("web").await?.is_none());
    // The plan stopped at the Service: the Ingress after it was not applied.
    ensure!(
        ns.api::<Ingress>().get_opt("web").await?.is_none(),
        "the Ingress was applied after the Service was refused"
    );
    let resources = stalled.status.clone().unwrap_or_default().resources;
    ensure!(
        resources.iter().any(|r| r.kind == "Deployment")
            && !resources.iter().any(|r| r.kind == "Ingress"),
        "{resources:?}"
    );
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_refusal_stops_the_apply_and_says_what_was_applied() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("partial-invalid", &[]).await?;
    // A Service that is not an Exposure's holds a nodePort; the Exposure asks for the same one.
    // Only the API server knows: its 422 refuses our Service.
    let services: Api<Service> = ns.api();
    let holder: Service = serde_json::from_value(json!({
        "metadata": {"name": "holder"},
        "spec": {"type": "NodePort", "selector": {"app": "none"}, "ports": [{"port": 80}]},
    }))?;
    let holder = services.create(&PostParams::default(), &holder).await?;
    let node_port = holder
        .spec
        .and_then(|s| s.ports)
        .and_then(|p| p.first().and_then(|p| p.node_port))
        .ok_or_else(|| anyhow::anyhow!("no nodePort allocated"))?;

    let exposures: Api<Exposure> = ns.api();
    let spec = json!({
        "image": "nginx:1.25",
        "ports": [{"name": "http", "containerPort": 80, "nodePort": node_port}],
        "visibility": {"type": "NodePort"},
        "headless": true,
    });
    apply_spec(&exposures, "web", spec).await?;
    let stalled = wait_stalled(&op, &exposures, "web", "InvalidSpec").await?;
    let message = stalled_message(&stalled);
    ensure!(
        message.contains("provided port is already allocated"),
        "{message}"
    );
    ensure!(
        message
            .ends_with("applied: Deployment web; not applied: Service web, Service web-headless"),
        "{message}"
    );
    ensure!(ns.api::<Deployment>().get_opt("web").await?.is_some());
    ensure!(
        services.get_opt("web-headless").await?.is_none(),
        "the headless Service was applied after the Service was refused"
    );
    finish(ns, op).await
}

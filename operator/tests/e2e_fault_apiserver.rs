//! Fault: the API server, then etcd, stop and start again under a running operator. On a
//! cluster of its own (`e2e/.cluster-fault-apiserver`): stopping the shared lane's API server
//! would fail every other test running at the same time.
//!
//! While the API is gone `/readyz` turns 503 (`/healthz` stays 200, the process keeps running);
//! when it is back `/readyz` turns 200 again, the watches resume without an operator restart,
//! and a change made right after converges (within 30 s, the bound, used as timeout).

mod support;

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use exposure_crd::Exposure;
use exposure_e2e::dedicated::DedicatedCluster;
use exposure_e2e::{eventually, wait_for, TestNamespace};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::Api;
use serde_json::json;
use support::*;

/// `/readyz` of the operator answers `code` (polled; the API server probe runs every 2 s).
async fn readyz_becomes(op: &Operator, code: u16, within: Duration) -> Result<f64> {
    let started = Instant::now();
    eventually(&format!("/readyz {code}"), within, || async {
        Ok((http_get(&op.metrics_addr, "/readyz").await?.0 == code).then_some(()))
    })
    .await
    .map_err(|e| anyhow!("{e}\n--- operator log:\n{}", op.logs()))?;
    Ok(started.elapsed().as_secs_f64())
}

/// Stops `component`, checks the operator notices and survives, starts it again, changes the
/// Exposure right away and waits for the change; returns (seconds until /readyz 200 again,
/// seconds until the change converged).
async fn outage(
    dc: &DedicatedCluster,
    op: &Operator,
    exposures: &Api<Exposure>,
    deployments: &Api<Deployment>,
    component: &str,
    replicas: i32,
) -> Result<(f64, f64)> {
    let pid = op.pid();
    dc.stop(component).await?;
    readyz_becomes(op, 503, Duration::from_secs(30)).await?;
    assert_eq!(http_get(&op.metrics_addr, "/healthz").await?.0, 200);
    // Long enough for the watches to fail and back off.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(op.pid(), pid, "the operator process changed");
    dc.start_stopped().await?;
    let back = Instant::now();
    let mut spec = web_spec("nginx:1.25");
    spec["replicas"] = json!(replicas);
    // The first requests after a restart may still be refused while it settles.
    eventually(
        "the Exposure change to be accepted",
        Duration::from_secs(30),
        || async {
            Ok(apply_spec(exposures, "web", spec.clone())
                .await
                .ok()
                .map(|_| ()))
        },
    )
    .await?;
    readyz_becomes(op, 200, Duration::from_secs(30)).await?;
    let ready = back.elapsed().as_secs_f64();
    wait_for(
        deployments,
        "web",
        "the change made after the restart",
        Duration::from_secs(30),
        |d| d.spec.as_ref().and_then(|s| s.replicas) == Some(replicas),
    )
    .await
    .map_err(|e| anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))?;
    let converged = back.elapsed().as_secs_f64();
    if let Err(e) = wait_ready(op, exposures, "web").await {
        // Whose view lags: the pods as the API server has them now, against the status.
        let pods: Api<Pod> = Api::namespaced(
            exposures.clone().into_client(),
            exposures.namespace().unwrap_or_default(),
        );
        let states: Vec<String> = pods
            .list(&ListParams::default())
            .await?
            .into_iter()
            .map(|p| {
                let status = p.status.unwrap_or_default();
                let ready = status
                    .conditions
                    .unwrap_or_default()
                    .into_iter()
                    .find(|c| c.type_ == "Ready")
                    .map(|c| c.status);
                format!(
                    "{} phase={:?} ready={ready:?}",
                    p.metadata.name.unwrap_or_default(),
                    status.phase
                )
            })
            .collect();
        return Err(e.context(format!(
            "after the {component} restart, pods in the API server: {states:?}"
        )));
    }
    Ok((ready, converged))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_resume_after_the_api_server_and_etcd_restart() -> Result<()> {
    let dc = DedicatedCluster::up("fault-apiserver").await?;
    let cluster = dc.cluster.clone();
    install_crd(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "fault-api").await?;
    let op = Operator::start(&cluster, &[ns.name()], &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    let deployments = ns.api::<Deployment>();
    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    wait_ready(&op, &exposures, "web").await?;

    let (api_ready, api_converged) =
        outage(&dc, &op, &exposures, &deployments, "kube-apiserver", 2).await?;
    let (etcd_ready, etcd_converged) =
        outage(&dc, &op, &exposures, &deployments, "etcd", 3).await?;

    let log = op.logs();
    assert!(!log.contains("panicked"), "the operator panicked:\n{log}");
    assert!(op.pid().is_some());
    println!(
        "fault-apiserver: apiserver_restart readyz_200_after={api_ready:.1}s change_converged_after={api_converged:.1}s; etcd_restart readyz_200_after={etcd_ready:.1}s change_converged_after={etcd_converged:.1}s; operator_restarts=0"
    );
    op.stop().await?;
    ns.cleanup().await?;
    drop(dc);
    Ok(())
}

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

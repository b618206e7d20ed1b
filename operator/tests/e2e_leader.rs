//! e2e: leader election. Two operator processes share one Lease: exactly one reconciles and
//! writes; when it dies the other takes over within the lease duration and converges what
//! changed in between. The follower is ready (`/readyz`) but writes nothing.

mod support;

use std::time::Duration;

use exposure_crd::Exposure;
use exposure_e2e::{cluster, eventually, wait_for, TestNamespace};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Patch, PatchParams};
use kube::Api;
use support::*;

const LEASE_SECONDS: &str = "6";

async fn leader_flags(ns: &str) -> Vec<String> {
    [
        "--leader-elect",
        "--leader-election-namespace",
        ns,
        "--leader-election-lease-name",
        "exposure-e2e",
        "--leader-election-lease-seconds",
        LEASE_SECONDS,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

async fn gauge(op: &Operator, name: &str) -> anyhow::Result<f64> {
    Ok(metric_sum(&op.metrics().await?, name, None))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_one_of_two_replicas_reconciles_and_the_other_takes_over() -> anyhow::Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "leader").await?;
    let flags = leader_flags(ns.name()).await;
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mut first = Operator::start(&cluster, &[ns.name()], &flags).await?;
    // The first one takes the free Lease before the second starts.
    eventually(
        "the first operator to lead",
        Duration::from_secs(30),
        || async { Ok((gauge(&first, "exposure_leader").await? == 1.0).then_some(())) },
    )
    .await?;
    let second = Operator::start(&cluster, &[ns.name()], &flags).await?;

    let exposures: Api<Exposure> = ns.api();
    apply_exposure(&exposures, "metadata: {name: web}\nspec: {image: nginx:1.25, replicas: 2, ports: [{containerPort: 80}]}").await?;
    wait_for(&exposures, "web", "Ready", TIMEOUT, is_ready).await?;

    // Only the leader reconciles and writes; the follower is ready but idle.
    assert_eq!(gauge(&second, "exposure_leader").await?, 0.0);
    assert_eq!(
        gauge(&second, "exposure_reconciles_total").await?,
        0.0,
        "{}",
        second.logs()
    );
    assert_eq!(second.writes(None).await?, 0.0);
    assert_eq!(http_get(&second.metrics_addr, "/readyz").await?.0, 200);
    assert!(gauge(&first, "exposure_reconciles_total").await? > 0.0);

    // The leader dies without releasing the Lease; a change made meanwhile is converged by the
    // follower once the Lease expires.
    first.kill().await;
    exposures
        .patch("web", &PatchParams::apply(TEST_MANAGER), &Patch::Apply(serde_json::json!({
            "apiVersion": "exposure.dev/v1alpha1", "kind": "Exposure", "metadata": {"name": "web"},
            "spec": {"image": "nginx:1.25", "replicas": 3, "ports": [{"containerPort": 80, "protocol": "TCP"}]}
        })))
        .await?;
    eventually(
        "the second operator to lead",
        Duration::from_secs(40),
        || async { Ok((gauge(&second, "exposure_leader").await? == 1.0).then_some(())) },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}\n--- follower log:\n{}", second.logs()))?;
    wait_for(&ns.api::<Deployment>(), "web", "3 replicas", TIMEOUT, |d| {
        d.spec.as_ref().and_then(|s| s.replicas) == Some(3)
    })
    .await?;
    wait_for(&exposures, "web", "Ready again", TIMEOUT, is_ready).await?;
    assert!(second.logs().contains("became leader"));

    second.stop().await?;
    ns.cleanup().await
}

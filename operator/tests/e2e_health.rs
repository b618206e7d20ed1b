//! Live Exposures as the health engines users run see them: kstatus
//! (`sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute`, as Flux and kpt compute it) and the
//! chart's Argo CD health check under gopher-lua, Argo CD's Lua engine (both from e2e/tools).
//! Each case waits for the operator's own conditions, then gives that very object to both.

mod support;

use anyhow::{Context as _, Result};
use exposure_crd::{condition, Exposure};
use exposure_e2e::health_engines::{argocd_health, argocd_health_script, kstatus, Health};
use kube::Api;
use serde_json::json;
use support::*;

/// (kstatus, Argo CD) of one live object.
async fn engines(e: &Exposure) -> Result<(Health, Health)> {
    let mut obj = serde_json::to_value(e)?;
    obj["apiVersion"] = json!("exposure.dev/v1alpha1");
    obj["kind"] = json!("Exposure");
    let k = kstatus(std::slice::from_ref(&obj)).await?;
    let a = argocd_health(&argocd_health_script(), std::slice::from_ref(&obj)).await?;
    Ok((
        k.into_iter().next().context("kstatus result")?,
        a.into_iter().next().context("argocd result")?,
    ))
}

fn reconciling(e: &Exposure) -> bool {
    is_true(e, condition::RECONCILING)
        && e.status.as_ref().and_then(|s| s.observed_generation) == e.metadata.generation
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_rollout_and_stalled_exposures_as_kstatus_and_argocd_see_them() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("health-engines", &[]).await?;
    let exposures: Api<Exposure> = ns.api();

    // Ready: Current and Healthy.
    let mut spec = web_spec("nginx:1.25");
    spec["replicas"] = json!(2);
    apply_spec(&exposures, "web", spec.clone()).await?;
    let ready = wait_ready(&op, &exposures, "web").await?;
    let (k, a) = engines(&ready).await?;
    assert_eq!(k.status, "Current", "kstatus of a Ready Exposure: {k:?}");
    assert_eq!(
        a.status, "Healthy",
        "Argo CD health of a Ready Exposure: {a:?}"
    );

    // A rollout whose new pods never become ready: InProgress. The old replicas still serve,
    // so the Exposure stays Ready and Argo CD keeps it Healthy.
    spec["image"] = json!("nginx:unready");
    apply_spec(&exposures, "web", spec).await?;
    let rolling = wait_exposure(
        &op,
        &exposures,
        "web",
        "Reconciling and Ready (rollout)",
        |e| reconciling(e) && is_true(e, condition::READY),
    )
    .await?;
    let (k, a) = engines(&rolling).await?;
    assert_eq!(k.status, "InProgress", "kstatus during a rollout: {k:?}");
    assert_eq!(
        a.status, "Healthy",
        "Argo CD health during a rollout: {a:?}"
    );

    // Never ready from the start: InProgress and Progressing, with the pods' reason.
    apply_spec(&exposures, "crashing", web_spec("nginx:crashloop")).await?;
    let crashing = wait_exposure(
        &op,
        &exposures,
        "crashing",
        "Reconciling, CrashLoopBackOff",
        |e| {
            reconciling(e)
                && condition(e, condition::READY)
                    .is_some_and(|c| c.status == "False" && c.message.contains("CrashLoopBackOff"))
        },
    )
    .await?;
    let (k, a) = engines(&crashing).await?;
    assert_eq!(
        k.status, "InProgress",
        "kstatus of crash-looping pods: {k:?}"
    );
    assert_eq!(
        a.status, "Progressing",
        "Argo CD health of crash-looping pods: {a:?}"
    );
    assert!(a.message.contains("CrashLoopBackOff"), "{a:?}");

    // Stalled (a spec the operator refuses): Failed and Degraded, with the operator's message.
    let mut broken = web_spec("nginx:1.25");
    broken["probes"] = json!({"liveness": {"httpGet": {"port": "nope"}}});
    apply_spec(&exposures, "broken", broken).await?;
    let stalled = wait_stalled(&op, &exposures, "broken", "InvalidSpec").await?;
    let (k, a) = engines(&stalled).await?;
    assert_eq!(k.status, "Failed", "kstatus of a Stalled Exposure: {k:?}");
    assert_eq!(
        a.status, "Degraded",
        "Argo CD health of a Stalled Exposure: {a:?}"
    );
    assert!(
        a.message.contains("spec.probes.liveness.httpGet.port"),
        "Argo CD message: {a:?}"
    );
    finish(ns, op).await
}

//! e2e: what the operator does when someone else changes its children: replicas it does not
//! own are left alone, replicas it owns are put back, deleted children come back, and a child
//! whose label was stripped is no longer ours (a conflict, never deleted).

mod support;

use std::time::Duration;

use anyhow::{Context as _, Result};
use exposure_crd::Exposure;
use exposure_e2e::{eventually, wait_for};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use serde_json::json;
use support::*;

fn replicas(d: &Deployment) -> Option<i32> {
    d.spec.as_ref()?.replicas
}

async fn scale(cluster: &exposure_e2e::Cluster, ns: &str, replicas: i32) -> Result<()> {
    cluster
        .kubectl(
            &[
                "scale",
                "-n",
                ns,
                "deployment/web",
                &format!("--replicas={replicas}"),
            ],
            None,
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_left_out_of_the_spec_are_left_to_others() -> Result<()> {
    // Short resyncs: the operator reconciles several times while we watch the replicas.
    let (cluster, ns, op) = start_in_namespace("replicas-free", &["--resync-seconds", "2"]).await?;
    let exposures: Api<Exposure> = ns.api();
    let deployments = ns.api::<Deployment>();
    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    wait_ready(&op, &exposures, "web").await?;

    scale(&cluster, ns.name(), 3).await?;
    let reconciles = metric_sum(&op.metrics().await?, "exposure_reconciles_total", None);
    stays(Duration::from_secs(8), async || {
        let d = deployments.get("web").await?;
        Ok((replicas(&d) != Some(3))
            .then(|| format!("replicas changed to {:?}\n{}", replicas(&d), op.logs())))
    })
    .await?;
    let after = metric_sum(&op.metrics().await?, "exposure_reconciles_total", None);
    assert!(
        after > reconciles,
        "no reconcile happened while watching the replicas"
    );
    let ready = wait_exposure(&op, &exposures, "web", "3 available replicas", |e| {
        is_ready(e) && e.status.as_ref().and_then(|s| s.available_replicas) == Some(3)
    })
    .await?;
    assert!(is_ready(&ready));
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_in_the_spec_are_put_back() -> Result<()> {
    let (cluster, ns, op) = start_in_namespace("replicas-owned", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    let deployments = ns.api::<Deployment>();
    let mut spec = web_spec("nginx:1.25");
    spec["replicas"] = json!(3);
    apply_spec(&exposures, "web", spec).await?;
    wait_ready(&op, &exposures, "web").await?;

    scale(&cluster, ns.name(), 5).await?;
    wait_for(
        &deployments,
        "web",
        "replicas put back to 3",
        TIMEOUT,
        |d| replicas(d) == Some(3),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))?;
    wait_ready(&op, &exposures, "web").await?;
    finish(ns, op).await
}

/// Deletes the child `name` and waits until the operator has created it anew (another uid).
async fn delete_and_await_recreated<K>(api: &Api<K>, name: &str, op: &Operator) -> Result<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let old = api.get(name).await?.meta().uid.clone().context("uid")?;
    api.delete(name, &Default::default()).await?;
    let description = format!("a recreated {} {name}", K::kind(&()));
    wait_for(api, name, &description, TIMEOUT, |k| {
        k.meta().uid.as_deref() != Some(&old)
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_deleted_by_hand_are_recreated() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("recreate", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    wait_ready(&op, &exposures, "web").await?;

    let new = delete_and_await_recreated(&ns.api::<Service>(), "web", &op).await?;
    assert!(has_our_labels(&new.metadata, "web"));
    delete_and_await_recreated(&ns.api::<Deployment>(), "web", &op).await?;
    wait_ready(&op, &exposures, "web").await?;
    finish(ns, op).await
}

/// A child recreated twice within six minutes is one Event whose series counts two, not two
/// Events: the second occurrence patches the first's `series` (events.k8s.io validation
/// included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_recreated_twice_is_one_event_series() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("series", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    wait_ready(&op, &exposures, "web").await?;

    let services = ns.api::<Service>();
    for _ in 0..2 {
        delete_and_await_recreated(&services, "web", &op).await?;
    }
    let events: Api<Event> = ns.api();
    let recreated = eventually(
        "one `Created Service web` Event with series.count 2",
        TIMEOUT,
        || async {
            let found: Vec<Event> = events
                .list(&Default::default())
                .await?
                .items
                .into_iter()
                .filter(|e| e.note.as_deref() == Some("Created Service web"))
                .collect();
            let count = |e: &Event| e.series.as_ref().map(|s| s.count);
            Ok(match found.as_slice() {
                [one] if count(one) == Some(2) => Some(one.clone()),
                [_] => None,
                more => anyhow::bail!("{} Events for one series: {more:?}", more.len()),
            })
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))?;
    let related = recreated.related.context("the Event names the Service")?;
    assert_eq!(
        (related.kind.as_deref(), related.name.as_deref()),
        (Some("Service"), Some("web"))
    );
    let series = recreated.series.context("series")?;
    assert!(
        series.last_observed_time.0 >= recreated.event_time.context("eventTime")?.0,
        "the series ends before it starts: {series:?}"
    );
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_whose_label_was_stripped_is_a_conflict_and_is_kept() -> Result<()> {
    // Default resync (5 min): the label change itself must trigger the reconcile.
    let (cluster, ns, op) = start_in_namespace("stripped", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    wait_ready(&op, &exposures, "web").await?;

    let services = ns.api::<Service>();
    let before = services.get("web").await?;
    let strip =
        json!([{ "op": "remove", "path": "/metadata/labels/exposure.dev~1name" }]).to_string();
    cluster
        .kubectl(
            &[
                "patch",
                "-n",
                ns.name(),
                "service/web",
                "--type=json",
                "-p",
                &strip,
            ],
            None,
        )
        .await?;

    let stalled = wait_stalled(&op, &exposures, "web", "ResourceConflict").await?;
    let message = stalled_message(&stalled);
    assert!(
        message.contains(&format!("Service {}/web", ns.name())),
        "the conflict does not name the Service: {message}"
    );
    // Not ours any more: never deleted nor rewritten.
    let uid = before.metadata.uid.clone();
    stays(Duration::from_secs(5), async || {
        let s = services.get_opt("web").await?;
        Ok(match s {
            None => Some(format!("the stripped Service was deleted\n{}", op.logs())),
            Some(s) if s.metadata.uid != uid => {
                Some("the stripped Service was replaced".to_string())
            }
            Some(s) if has_our_labels(&s.metadata, "web") => {
                Some("the label was put back".to_string())
            }
            Some(_) => None,
        })
    })
    .await?;
    finish(ns, op).await
}

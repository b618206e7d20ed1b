//! Fault: another controller writes to our children. A field manager that force-applies
//! fields we own (replicas, image, a Service port's targetPort) is undone once per change,
//! with no write loop; a manager owning fields we never set (an HPA's replicas, a mesh's
//! annotations) is left alone and costs no write.

mod support;

use std::time::Duration;

use anyhow::Result;
use exposure_crd::Exposure;
use exposure_e2e::wait_for;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Patch, PatchParams};
use kube::Api;
use serde_json::json;
use support::*;

fn replicas(d: &Deployment) -> Option<i32> {
    d.spec.as_ref()?.replicas
}

fn target_port(s: &Service) -> Option<String> {
    let p = s
        .spec
        .as_ref()?
        .ports
        .as_ref()?
        .first()?
        .target_port
        .as_ref()?;
    Some(match p {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => i.to_string(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
    })
}

/// Server-side apply of `body` to `apps/v1 Deployment web` / `v1 Service web` by `manager`.
async fn force_apply<K>(api: &Api<K>, manager: &str, body: serde_json::Value) -> Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(
        "web",
        &PatchParams::apply(manager).force(),
        &Patch::Apply(&body),
    )
    .await?;
    Ok(())
}

async fn writes_of(op: &Operator, kind: &str) -> Result<f64> {
    op.writes(Some(&format!("kind=\"{kind}\""))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rival_manager_on_our_fields_is_undone_once_per_change() -> Result<()> {
    // Short resyncs: a write loop would show within the quiet window.
    let (_cluster, ns, op) = start_in_namespace("fault-rival", &["--resync-seconds", "2"]).await?;
    let exposures: Api<Exposure> = ns.api();
    let (deployments, services) = (ns.api::<Deployment>(), ns.api::<Service>());
    let mut spec = web_spec("nginx:1.25");
    spec["replicas"] = json!(2);
    apply_spec(&exposures, "web", spec).await?;
    wait_ready(&op, &exposures, "web").await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (dep_before, svc_before) = (
        writes_of(&op, "Deployment").await?,
        writes_of(&op, "Service").await?,
    );

    const CHANGES: usize = 5;
    for n in 0..CHANGES {
        let rival_image = format!("rival/nginx:{n}");
        force_apply(&deployments, "rival-controller", json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 7, "template": {"spec": {"containers": [{"name": "web", "image": rival_image}]}}},
        }))
        .await?;
        force_apply(
            &services,
            "rival-controller",
            json!({
                "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 9000 + n}]},
            }),
        )
        .await?;
        wait_for(
            &deployments,
            "web",
            "replicas and image put back",
            TIMEOUT,
            |d| replicas(d) == Some(2) && image_of(d).as_deref() == Some("nginx:1.25"),
        )
        .await?;
        wait_for(&services, "web", "targetPort put back", TIMEOUT, |s| {
            target_port(s).as_deref() != Some(&(9000 + n).to_string())
        })
        .await?;
    }
    // No loop: nothing more is written while resyncs run.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (dep_after, svc_after) = (
        writes_of(&op, "Deployment").await?,
        writes_of(&op, "Service").await?,
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        writes_of(&op, "Deployment").await?,
        dep_after,
        "Deployment write loop\n{}",
        op.logs()
    );
    assert_eq!(
        writes_of(&op, "Service").await?,
        svc_after,
        "Service write loop\n{}",
        op.logs()
    );
    let (dep, svc) = (dep_after - dep_before, svc_after - svc_before);
    // One apply per rival change (a second one only if the rival's write and ours crossed).
    assert!(
        dep >= CHANGES as f64 && dep <= 2.0 * CHANGES as f64,
        "{dep} Deployment writes for {CHANGES} rival changes\n{}",
        op.logs()
    );
    assert!(
        svc >= CHANGES as f64 && svc <= 2.0 * CHANGES as f64,
        "{svc} Service writes for {CHANGES} rival changes"
    );
    let d = deployments.get("web").await?;
    assert_eq!(
        (replicas(&d), image_of(&d).as_deref()),
        (Some(2), Some("nginx:1.25"))
    );
    println!("fault-writers: rival_changes={CHANGES} deployment_writes={dep} service_writes={svc} writes_in_quiet_10s=0");
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_of_fields_we_do_not_set_are_left_alone() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("fault-hpa", &["--resync-seconds", "2"]).await?;
    let exposures: Api<Exposure> = ns.api();
    let (deployments, services) = (ns.api::<Deployment>(), ns.api::<Service>());
    // No replicas in the spec: an autoscaler owns them.
    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    wait_ready(&op, &exposures, "web").await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = op.writes(None).await?;
    let children_before = writes_of(&op, "Deployment").await? + writes_of(&op, "Service").await?;

    force_apply(
        &deployments,
        "hpa-controller",
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 4},
        }),
    )
    .await?;
    let mesh = json!({"metadata": {"annotations": {"mesh.example/inject": "true"}}});
    let mut d_mesh = mesh.clone();
    d_mesh["apiVersion"] = json!("apps/v1");
    d_mesh["kind"] = json!("Deployment");
    d_mesh["metadata"]["name"] = json!("web");
    force_apply(&deployments, "mesh-injector", d_mesh).await?;
    let mut s_mesh = mesh;
    s_mesh["apiVersion"] = json!("v1");
    s_mesh["kind"] = json!("Service");
    s_mesh["metadata"]["name"] = json!("web");
    force_apply(&services, "mesh-injector", s_mesh).await?;
    let annotated = |m: &kube::api::ObjectMeta| {
        m.annotations
            .as_ref()
            .and_then(|a| a.get("mesh.example/inject"))
            .map(String::as_str)
            == Some("true")
    };
    // Several resyncs (every 2 s) pass: replicas and annotations stay, the operator writes
    // nothing but (perhaps) the Exposure's status, whose replica counts follow the scale-up.
    stays(Duration::from_secs(12), async || {
        let d = deployments.get("web").await?;
        let s = services.get("web").await?;
        Ok(
            (replicas(&d) != Some(4) || !annotated(&d.metadata) || !annotated(&s.metadata)).then(
                || {
                    format!(
                        "the other managers' fields changed:\n{}",
                        exposure_e2e::to_yaml(&d)
                    )
                },
            ),
        )
    })
    .await?;
    let children_after = writes_of(&op, "Deployment").await? + writes_of(&op, "Service").await?;
    let all = op.writes(None).await? - before;
    assert_eq!(
        children_after,
        children_before,
        "the operator wrote to its children although nothing it owns changed\n{}",
        op.logs()
    );
    println!("fault-writers: foreign_managers=hpa,mesh child_writes_in_12s=0 all_writes_in_12s={all} (status of the scaled-up replicas)");
    finish(ns, op).await
}

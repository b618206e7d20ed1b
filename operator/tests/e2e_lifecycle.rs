//! e2e: the basic lifecycle of one Exposure against the local control plane.

mod support;

use exposure_crd::Exposure;
use exposure_e2e::{cluster, wait_for, TestNamespace};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::DeleteParams;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusterip_example_becomes_ready_and_is_garbage_collected() -> anyhow::Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "lifecycle").await?;
    let op = Operator::start(&cluster, &[ns.name()], &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    let doc = example("clusterip-tomcat.yaml")?.remove(0);
    let created = apply_exposure(&exposures, &doc).await?;
    let name = created.metadata.name.clone().unwrap_or_default();

    let ready = wait_for(&exposures, &name, "Ready", TIMEOUT, is_ready).await?;
    let status = ready.status.clone().unwrap_or_default();
    assert_eq!(
        status.url.as_deref(),
        Some(format!("http://{name}.{}.svc.cluster.local:8080", ns.name()).as_str())
    );
    let deployment: Deployment = ns.api::<Deployment>().get(&name).await?;
    let owner = deployment
        .metadata
        .owner_references
        .clone()
        .unwrap_or_default();
    assert_eq!(owner.len(), 1);
    assert_eq!(
        owner[0].uid,
        created.metadata.uid.clone().unwrap_or_default()
    );
    assert_eq!(owner[0].controller, Some(true));
    let service: Service = ns.api::<Service>().get(&name).await?;
    assert_eq!(
        service
            .metadata
            .labels
            .unwrap_or_default()
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("exposure-operator")
    );

    exposures.delete(&name, &DeleteParams::background()).await?;
    exposure_e2e::wait_for_deletion(&ns.api::<Deployment>(), &name, TIMEOUT).await?;
    exposure_e2e::wait_for_deletion(&ns.api::<Service>(), &name, TIMEOUT).await?;
    op.stop().await?;
    ns.cleanup().await
}

use kube::Api;

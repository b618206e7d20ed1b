//! e2e: the addresses of a selector-less Service (`spec.endpoints`). From Kubernetes 1.21 they
//! are EndpointSlices (`<name>-ipv4`/`-ipv6`, tied to the Service by `kubernetes.io/service-name`
//! and marked as ours for kube-controller-manager); before, a v1 Endpoints `<name>`. An
//! Exposure whose operator wrote Endpoints (a cluster since upgraded; here an operator told
//! the cluster is 1.20) moves over when the operator sees the real version: the slice is
//! written, the old Endpoints it owns deleted, the status names only the slice.

mod support;

use anyhow::{ensure, Context as _, Result};
use exposure_crd::{labels, Exposure};
use exposure_operator::cluster::{ClusterInfo, Feature};
use k8s_openapi::api::core::v1::Endpoints;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Api;
use serde_json::json;
use support::*;

fn external_backend() -> serde_json::Value {
    json!({
        "ports": [{"name": "http", "containerPort": 9376, "port": 80, "protocol": "TCP"}],
        "endpoints": [{"ip": "192.0.2.10"}, {"ip": "192.0.2.11"}, {"ip": "2001:db8::10"}],
    })
}

fn resource_kinds(e: &Exposure) -> Vec<String> {
    e.status
        .iter()
        .flat_map(|s| &s.resources)
        .map(|r| format!("{}/{}", r.kind, r.name))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_move_to_endpoint_slices_when_the_cluster_has_them() -> Result<()> {
    let cluster = exposure_e2e::cluster().await?;
    install_crd(&cluster).await?;
    let version = server_version(&cluster).await?;
    let ns = exposure_e2e::TestNamespace::new(&cluster, "slices").await?;
    let exposures: Api<Exposure> = ns.api();
    let endpoints: Api<Endpoints> = ns.api();

    if !ClusterInfo::new(version).supports(Feature::EndpointSlice) {
        // An old cluster: v1 Endpoints, the only API it has.
        let op = Operator::start(&cluster, &[ns.name()], &[]).await?;
        apply_spec(&exposures, "web", external_backend()).await?;
        let ready = wait_ready(&op, &exposures, "web").await?;
        ensure!(
            resource_kinds(&ready) == ["Service/web", "Endpoints/web"],
            "{:?}",
            resource_kinds(&ready)
        );
        let live = endpoints.get("web").await?;
        ensure!(has_our_labels(&live.metadata, "web"));
        return finish(ns, op).await;
    }

    // An operator that believes the cluster is 1.20 writes v1 Endpoints.
    let old = Operator::start(
        &cluster,
        &[ns.name()],
        &["--assume-kubernetes-version", "1.20"],
    )
    .await?;
    apply_spec(&exposures, "web", external_backend()).await?;
    let ready = wait_ready(&old, &exposures, "web").await?;
    ensure!(
        resource_kinds(&ready) == ["Service/web", "Endpoints/web"],
        "{:?}",
        resource_kinds(&ready)
    );
    let legacy_uid = endpoints.get("web").await?.metadata.uid.context("uid")?;
    old.stop().await?;

    // The operator of the real version moves the Exposure over.
    let op = Operator::start(&cluster, &[ns.name()], &[]).await?;
    let moved = wait_exposure(
        &op,
        &exposures,
        "web",
        "status names the EndpointSlices",
        |e| {
            is_ready(e)
                && resource_kinds(e)
                    == [
                        "Service/web",
                        "EndpointSlice/web-ipv4",
                        "EndpointSlice/web-ipv6",
                    ]
        },
    )
    .await?;
    ensure!(is_ready(&moved));
    exposure_e2e::wait_for_deletion(&endpoints, "web", TIMEOUT)
        .await
        .with_context(|| format!("the Endpoints {legacy_uid} was not deleted\n{}", op.logs()))?;

    let slices: Api<EndpointSlice> = ns.api();
    let v4 = slices.get("web-ipv4").await?;
    let v6 = slices.get("web-ipv6").await?;
    for slice in [&v4, &v6] {
        ensure!(has_our_labels(&slice.metadata, "web"));
        let l = slice.metadata.labels.clone().unwrap_or_default();
        ensure!(l.get(labels::SERVICE_NAME).map(String::as_str) == Some("web"));
        ensure!(
            l.get(labels::ENDPOINT_SLICE_MANAGED_BY).map(String::as_str)
                == Some(labels::ENDPOINT_SLICE_MANAGER)
        );
        ensure!(controller_exposure_uid(&slice.metadata) == moved.metadata.uid);
    }
    let addresses = |s: &EndpointSlice| -> Vec<String> {
        s.endpoints
            .iter()
            .flat_map(|e| e.addresses.clone())
            .collect()
    };
    ensure!(v4.address_type == "IPv4" && addresses(&v4) == ["192.0.2.10", "192.0.2.11"]);
    ensure!(v6.address_type == "IPv6" && addresses(&v6) == ["2001:db8::10"]);
    let port = v4
        .ports
        .as_ref()
        .and_then(|p| p.first())
        .context("a port")?;
    ensure!(port.port == Some(9376) && port.name.as_deref() == Some("http"));

    // Removing the addresses (a workload instead) prunes the slices.
    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    wait_ready(&op, &exposures, "web").await?;
    exposure_e2e::wait_for_deletion(&slices, "web-ipv4", TIMEOUT).await?;
    exposure_e2e::wait_for_deletion(&slices, "web-ipv6", TIMEOUT).await?;

    // The only requests to v1 Endpoints were the move's (a GET and a DELETE): on 1.33+ each
    // draws the deprecation warning; nothing else of ours did.
    let warnings = metric_sum(&op.metrics().await?, "exposure_api_warnings_total", None);
    ensure!(warnings <= 2.0, "{warnings} warnings:\n{}", op.logs());
    finish(ns, op).await
}

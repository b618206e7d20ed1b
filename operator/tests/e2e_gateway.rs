//! e2e: `visibility.type: Gateway` → an HTTPRoute (Gateway API v1) to the Service, on the
//! current lane with the Gateway API standard CRDs of `sigs.k8s.io/gateway-api`.
//!
//! The CRDs are cluster-wide and removing them would disturb every test that runs at the same
//! time on the lane's cluster (nextest runs tests of all binaries together), so this test has a
//! cluster of its own (`e2e/.cluster-gateway-api`), and every step runs in this one test, in
//! order: the CRDs are removed first, so the operator starts on a cluster without the
//! Gateway API: the Exposure is Stalled/UnsupportedByCluster; the CRDs are installed and the
//! same operator, without a restart, applies the route and (with the Gateway controller
//! stand-in writing Accepted/ResolvedRefs) reports Ready; switching to Ingress prunes the
//! route, switching back prunes the Ingress.

mod support;

use std::time::Duration;

use anyhow::{Context as _, Result};
use exposure_crd::Exposure;
use exposure_e2e::dedicated::DedicatedCluster;
use exposure_e2e::gateway::{self, GatewayControllerStandIn};
use exposure_operator::build::ChildKind;
use kube::api::DynamicObject;
use kube::Api;
use serde_json::json;
use support::*;

fn child_api(
    cluster: &exposure_e2e::Cluster,
    namespace: &str,
    kind: ChildKind,
) -> Api<DynamicObject> {
    Api::namespaced_with(cluster.client(), namespace, &kind.api_resource())
}

async fn wait_gone(api: &Api<DynamicObject>, name: &str, what: &str) -> Result<()> {
    for _ in 0..120 {
        if api.get_opt(name).await?.is_none() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    anyhow::bail!("{what} {name} was not pruned")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_api_absent_then_installed_then_switched_to_ingress_and_back() -> Result<()> {
    let dedicated = DedicatedCluster::up("gateway-api").await?;
    let cluster = dedicated.cluster.clone();
    install_crd(&cluster).await?;
    gateway::remove_crds(&cluster).await?;
    let ns = exposure_e2e::TestNamespace::new(&cluster, "gateway").await?;
    let op = Operator::start(&cluster, &[ns.name()], &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    let host = format!("shop-{}.example.test", exposure_e2e::random_suffix());
    let mut gateway_spec = web_spec("nginx:1.25");
    gateway_spec["visibility"] = json!({"type": "Gateway"});
    gateway_spec["gateway"] =
        json!({"parentRefs": [{"name": "shared", "namespace": "infra"}], "hostnames": [host]});

    // 1. No Gateway API: Stalled, naming the missing API; nothing is applied.
    apply_spec(&exposures, "web", gateway_spec.clone()).await?;
    let stalled = wait_stalled(&op, &exposures, "web", "UnsupportedByCluster").await?;
    let message = stalled_message(&stalled);
    assert!(
        message.contains("gateway.networking.k8s.io/v1 HTTPRoute"),
        "the message does not name the missing API: {message}"
    );

    // 2. The CRDs are installed: the same operator applies the route and reports Ready once
    //    the Gateway (controller stand-in) accepted it.
    gateway::install_crds(&cluster).await?;
    let _gateway_controller = GatewayControllerStandIn::start(&cluster, ns.name());
    let ready = wait_ready(&op, &exposures, "web").await?;
    let uid = ready.metadata.uid.clone().context("uid")?;
    let routes = child_api(&cluster, ns.name(), ChildKind::HTTPRoute);
    let route = routes.get("web").await?;
    assert!(has_our_labels(&route.metadata, "web"));
    assert_eq!(controller_exposure_uid(&route.metadata), Some(uid));
    assert_eq!(route.data["spec"]["parentRefs"][0]["name"], "shared");
    assert_eq!(
        route.data["spec"]["rules"][0]["backendRefs"][0]["name"],
        "web"
    );
    let status = ready.status.clone().unwrap_or_default();
    assert_eq!(status.url, Some(format!("http://{host}/")));
    assert_eq!(status.urls, [format!("http://{host}/")]);
    let exposed = condition(&ready, "Exposed").context("Exposed")?;
    assert_eq!(exposed.reason, "RouteAccepted");

    // 3. Gateway → Ingress prunes the HTTPRoute.
    let mut ingress_spec = web_spec("nginx:1.25");
    ingress_spec["visibility"] = json!({"type": "Ingress"});
    ingress_spec["ingress"] = json!({"host": host});
    apply_spec(&exposures, "web", ingress_spec).await?;
    wait_ready(&op, &exposures, "web").await?;
    wait_gone(&routes, "web", "HTTPRoute").await?;
    let ingresses = child_api(&cluster, ns.name(), ChildKind::Ingress);
    assert!(ingresses.get_opt("web").await?.is_some());

    // 4. Ingress → Gateway prunes the Ingress.
    apply_spec(&exposures, "web", gateway_spec).await?;
    wait_ready(&op, &exposures, "web").await?;
    wait_gone(&ingresses, "web", "Ingress").await?;
    assert!(routes.get_opt("web").await?.is_some());

    finish(ns, op).await
}

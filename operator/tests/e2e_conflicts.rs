//! e2e: conflicts. An object of a child's name that is not ours stalls the Exposure and is left
//! alone; two Exposures claiming the same Ingress host + path (also through a wildcard host and
//! among several hosts), the default backend of one ingress class, or a nodePort (in two
//! namespaces, one operator) block the later one only.

mod support;

use std::time::Duration;

use anyhow::{Context as _, Result};
use exposure_crd::Exposure;
use exposure_e2e::{cluster, TestNamespace};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::PostParams;
use kube::Api;
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_service_of_the_same_name_is_a_conflict_and_untouched() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("foreign", &[]).await?;
    let services = ns.api::<Service>();
    let foreign: Service = serde_json::from_value(json!({
        "metadata": { "name": "web", "labels": { "team": "someone-else" } },
        "spec": { "selector": { "app": "theirs" }, "ports": [{ "port": 9000, "protocol": "TCP" }] },
    }))?;
    let before = services.create(&PostParams::default(), &foreign).await?;

    let exposures: Api<Exposure> = ns.api();
    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    let stalled = wait_stalled(&op, &exposures, "web", "ResourceConflict").await?;
    let message = stalled_message(&stalled);
    assert!(
        message.contains(&format!("Service {}/web", ns.name())),
        "the conflict does not name the Service: {message}"
    );

    // Nothing is applied while a conflict exists, and the foreign Service is never written.
    stays(Duration::from_secs(5), async || {
        let now = services.get("web").await?;
        if now.metadata.resource_version != before.metadata.resource_version {
            return Ok(Some(format!(
                "the foreign Service was modified:\n{}\n{}",
                exposure_e2e::to_yaml(&now),
                op.logs()
            )));
        }
        let deployment = ns.api::<Deployment>().get_opt("web").await?;
        Ok(deployment.map(|_| "a Deployment was applied despite the conflict".to_string()))
    })
    .await?;
    finish(ns, op).await
}

/// Two namespaces watched by one operator; `first` is applied in the first namespace and must be
/// Ready before `second` is applied in the other, which must stall with `reason`.
async fn later_claim_is_blocked(
    prefix: &str,
    first: serde_json::Value,
    second: serde_json::Value,
    reason: &str,
) -> Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let ns_a = TestNamespace::new(&cluster, &format!("{prefix}-a")).await?;
    let ns_b = TestNamespace::new(&cluster, &format!("{prefix}-b")).await?;
    let op = Operator::start(&cluster, &[ns_a.name(), ns_b.name()], &[]).await?;
    let (a, b): (Api<Exposure>, Api<Exposure>) = (ns_a.api(), ns_b.api());
    apply_spec(&a, "first", first).await?;
    wait_ready(&op, &a, "first").await?;
    apply_spec(&b, "second", second).await?;
    let stalled = wait_stalled(&op, &b, "second", reason).await?;
    let message = stalled_message(&stalled);
    assert!(
        message.contains(&format!("Exposure {}/first", ns_a.name())),
        "the conflict does not name the earlier Exposure: {message}"
    );
    assert!(
        ns_b.api::<Deployment>().get_opt("second").await?.is_none(),
        "the blocked Exposure got a Deployment"
    );
    // The earlier one is unaffected, also after the operator has looked at both again.
    stays(Duration::from_secs(3), async || {
        let e = a.get("first").await?;
        Ok((!is_ready(&e))
            .then(|| format!("the earlier Exposure is no longer Ready: {:?}", e.status)))
    })
    .await?;
    ns_b.cleanup().await?;
    ns_a.cleanup().await?;
    op.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_ingress_on_the_same_host_and_path_is_blocked() -> Result<()> {
    let host = format!("conflict-{}.example.test", exposure_e2e::random_suffix());
    let spec = || {
        let mut spec = web_spec("nginx:1.25");
        spec["visibility"] = json!({"type": "Ingress"});
        spec["ingress"] = json!({"host": host, "paths": [{"path": "/shop"}]});
        spec
    };
    later_claim_is_blocked("host", spec(), spec(), "HostConflict").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_exact_host_under_a_wildcard_among_several_hosts_is_blocked() -> Result<()> {
    let domain = format!("wild-{}.example.test", exposure_e2e::random_suffix());
    let mut first = web_spec("nginx:1.25");
    first["visibility"] = json!({"type": "Ingress"});
    first["ingress"] = json!({"host": format!("*.{domain}")});
    let mut second = web_spec("nginx:1.25");
    second["visibility"] = json!({"type": "Ingress"});
    second["ingress"] = json!({"hosts": [
        {"host": format!("other-{domain}")},
        {"host": format!("shop.{domain}")},
    ]});
    later_claim_is_blocked("wildcard", first, second, "HostConflict").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_default_backend_of_the_same_class_is_blocked() -> Result<()> {
    // A class of its own: default backends are claimed per class, cluster-wide.
    let class = format!("e2e-{}", exposure_e2e::random_suffix());
    let spec = || {
        let mut spec = web_spec("nginx:1.25");
        spec["visibility"] = json!({"type": "Ingress"});
        spec["ingress"] = json!({"className": class, "defaultBackend": true});
        spec
    };
    later_claim_is_blocked("default-backend", spec(), spec(), "DefaultBackendConflict").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_exposure_with_the_same_node_port_is_blocked() -> Result<()> {
    // A port of its own (node ports are cluster-wide; other tests run at the same time).
    let suffix = exposure_e2e::random_suffix();
    let port = 31000 + i64::from_str_radix(&suffix[..4], 16).context("suffix")? % 1700;
    let spec = || {
        let mut spec = web_spec("nginx:1.25");
        spec["visibility"] = json!({"type": "NodePort"});
        spec["ports"] = json!([{"name": "http", "containerPort": 80, "nodePort": port}]);
        spec
    };
    later_claim_is_blocked("nodeport", spec(), spec(), "NodePortConflict").await
}

//! Fault: an unreliable network to the API server. The operator talks to the API server
//! through a loopback TCP proxy that refuses, stalls (the client times out) or cuts a share of
//! its connections (`support::faults::FaultProxy`); the test's own client goes direct. While
//! the faults last the Exposures still converge (requests and watches are retried with
//! backoff); after the network heals everything is Ready for its generation, nothing is
//! orphaned, no Event is recorded twice, and the operator is idle again.
//!
//! TCP level; the HTTP errors an API server answers with (429, 500, 504) are injected by
//! `e2e_fault_api_errors`.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use exposure_crd::Exposure;
use exposure_e2e::TestNamespace;
use kube::Api;
use serde_json::json;
use support::faults::{self, FaultProxy, Rng};
use support::*;

const EXPOSURES: usize = 8;
const FAULT_PERCENT: u64 = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_stalled_and_cut_connections_delay_but_do_not_break_convergence() -> Result<()> {
    let mut rng = Rng::from_env("fault-proxy");
    let cluster = exposure_e2e::cluster().await?;
    install_crd(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "fault-proxy").await?;
    let upstream = faults::kubeconfig_server(cluster.kubeconfig_path())?;
    let proxy = FaultProxy::start(upstream, FAULT_PERCENT, rng.next_u64()).await?;
    let kubeconfig = faults::kubeconfig_with_server(
        cluster.kubeconfig_path(),
        &format!("https://{}", proxy.addr),
        "fault-proxy",
        ns.name(),
    )?;
    let op = Operator::start_through_faults(&kubeconfig, &[ns.name()]).await?;
    let exposures: Api<Exposure> = ns.api();
    for i in 0..EXPOSURES {
        let mut spec = web_spec("nginx:1.25");
        if i % 2 == 1 {
            spec["visibility"] = json!({"type": "NodePort"});
        }
        apply_spec(&exposures, &format!("app-{i}"), spec).await?;
    }
    let under_faults =
        faults::wait_all_converged(&cluster.client(), ns.name(), Duration::from_secs(120))
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))?;
    // A second change while the faults go on.
    for i in 0..EXPOSURES {
        let mut spec = web_spec("nginx:1.26");
        if i % 2 == 1 {
            spec["visibility"] = json!({"type": "NodePort"});
        }
        apply_spec(&exposures, &format!("app-{i}"), spec).await?;
    }
    let update_under_faults =
        faults::wait_all_converged(&cluster.client(), ns.name(), Duration::from_secs(120))
            .await
            .map_err(|e| anyhow::anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))?;
    proxy.heal();
    let counts = proxy.counts();
    faults::audit(&cluster.client(), ns.name(), &BTreeMap::new()).await?;

    // No Event twice: one Event object per (object, reason, note), each seen once.
    let events = faults::operator_events(&cluster.client(), ns.name()).await?;
    let twice: Vec<_> = events.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "Events recorded more than once: {twice:?}"
    );
    assert!(!op.logs().contains("panicked"), "{}", op.logs());
    println!(
        "fault-proxy: exposures={EXPOSURES} fault_share={FAULT_PERCENT}% connections forwarded={} refused={} stalled={} cut={} converged_under_faults={under_faults:.1}s update_converged_under_faults={update_under_faults:.1}s events={} duplicated_events=0",
        counts.forwarded, counts.refused, counts.stalled, counts.cut, events.len()
    );
    finish(ns, op).await
}

//! Fault: the API server answers with errors. The operator talks to the API server through a
//! loopback HTTP proxy (`support::api_errors::ApiErrorProxy`) that answers a share of its
//! requests itself, with 429 Too Many Requests (Retry-After: 1), 500, or 504 after holding the
//! request 5 s; the test's own client goes direct.
//!
//! - With a quarter of the requests failing, eight Exposures are created and then changed:
//!   both converge (every failed request or watch is retried).
//! - With every request failing for 20 s, the operator backs off (its request rate is counted
//!   at the proxy, a hot loop would make thousands), `/readyz` turns 503, and a change made
//!   meanwhile converges once the API answers again, without an operator restart.
//! - Afterwards nothing is orphaned or duplicated (`faults::audit`), no Event was recorded
//!   twice for one change, every status is there for its generation, and the operator did not panic.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use exposure_crd::Exposure;
use exposure_e2e::{eventually, TestNamespace};
use kube::Api;
use serde_json::json;
use support::api_errors::ApiErrorProxy;
use support::faults::{self, Rng};
use support::*;

const EXPOSURES: usize = 8;
const FAULT_PERCENT: u64 = 25;
const OUTAGE: Duration = Duration::from_secs(20);

fn spec(i: usize, image: &str) -> serde_json::Value {
    let mut spec = web_spec(image);
    if i % 2 == 1 {
        spec["visibility"] = json!({"type": "NodePort"});
    }
    spec
}

async fn apply_all(exposures: &Api<Exposure>, image: &str) -> Result<()> {
    for i in 0..EXPOSURES {
        apply_spec(exposures, &format!("app-{i}"), spec(i, image)).await?;
    }
    Ok(())
}

/// Every Exposure of `ns` Ready for its generation, with its Deployment on the spec's image.
/// Bounded by six failed attempts in a row of one Exposure: its retries come after 5, 10, 20,
/// 40, 80 and 160 s (315 s in all). With a quarter of the requests failing at random, one
/// Exposure failed six times in a row in a full test run (180 s was too short for it); the
/// usual is 15 s.
async fn converged(client: &kube::Client, ns: &str, op: &Operator, what: &str) -> Result<f64> {
    faults::wait_all_converged(client, ns, Duration::from_secs(330))
        .await
        .map_err(|e| anyhow!("{what}: {e:#}\n--- operator log:\n{}", op.logs()))
}

/// `/readyz` of the operator answers `code` within `within`.
async fn readyz_becomes(op: &Operator, code: u16, within: Duration) -> Result<()> {
    eventually(&format!("/readyz {code}"), within, || async {
        Ok((http_get(&op.metrics_addr, "/readyz").await?.0 == code).then_some(()))
    })
    .await
    .map_err(|e| anyhow!("{e}\n--- operator log:\n{}", op.logs()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_429_500_and_504_delay_but_do_not_break_convergence() -> Result<()> {
    let mut rng = Rng::from_env("fault-api-errors");
    let cluster = exposure_e2e::cluster().await?;
    install_crd(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "fault-api-errors").await?;
    let client = cluster.client();
    let proxy = ApiErrorProxy::start(
        client.clone(),
        FAULT_PERCENT,
        Duration::from_secs(5),
        rng.next_u64(),
    )
    .await?;
    let kubeconfig = faults::kubeconfig_with_server(
        cluster.kubeconfig_path(),
        &format!("http://{}", proxy.addr),
        "api-errors",
        ns.name(),
    )?;
    let op = Operator::start_through_faults(&kubeconfig, &[ns.name()]).await?;
    let pid = op.pid();
    let exposures: Api<Exposure> = ns.api();
    apply_all(&exposures, "nginx:1.25").await?;
    let created = converged(&client, ns.name(), &op, "created under a share of errors").await?;
    apply_all(&exposures, "nginx:1.26").await?;
    let changed = converged(&client, ns.name(), &op, "changed under a share of errors").await?;
    let partial = proxy.counts();
    // One create and one change so far: every Event once.
    let events_before = faults::operator_events(&client, ns.name()).await?;
    let twice: Vec<_> = events_before.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "Events recorded more than once: {twice:?}"
    );

    // Nothing gets through for a while; a change is made meanwhile.
    proxy.set_fault_percent(100);
    let outage_started = Instant::now();
    let before = proxy.counts().while_faulty;
    apply_all(&exposures, "nginx:1.27").await?;
    readyz_becomes(&op, 503, OUTAGE).await?;
    tokio::time::sleep(OUTAGE.saturating_sub(outage_started.elapsed())).await;
    let outage_requests = proxy.counts().while_faulty - before;
    let outage_secs = outage_started.elapsed().as_secs_f64();
    let rate = outage_requests as f64 / outage_secs;
    // Backoff, not a hot loop: about one attempt per watch every few seconds, the API health
    // probe every 2 s and the reconciles' growing retries come to a few requests a second.
    assert!(
        rate < 25.0,
        "{outage_requests} requests in {outage_secs:.0} s while every request failed: no backoff?"
    );
    proxy.heal();
    let healed = Instant::now();
    readyz_becomes(&op, 200, Duration::from_secs(60)).await?;
    converged(
        &client,
        ns.name(),
        &op,
        "the change made while the API failed",
    )
    .await?;
    let after_outage = healed.elapsed().as_secs_f64();

    faults::audit(&client, ns.name(), &BTreeMap::new()).await?;
    // One more change: at most one more of each Event.
    let events = faults::operator_events(&client, ns.name()).await?;
    let twice: Vec<_> = events
        .iter()
        .filter(|(key, n)| **n > events_before.get(*key).copied().unwrap_or(0) + 1)
        .collect();
    assert!(
        twice.is_empty(),
        "Events recorded more than once for the change made during the outage: {twice:?}"
    );
    let events = events.len();
    for e in exposures.list(&Default::default()).await?.items {
        let status = e.status.as_ref().ok_or_else(|| anyhow!("no status"))?;
        assert_eq!(status.observed_generation, e.metadata.generation);
        assert!(is_ready(&e), "{:?} not Ready", e.metadata.name);
    }
    let log = op.logs();
    assert!(!log.contains("panicked"), "the operator panicked:\n{log}");
    assert_eq!(op.pid(), pid, "the operator restarted");
    println!(
        "fault-api-errors: exposures={EXPOSURES} fault_share={FAULT_PERCENT}% forwarded={} answered_429={} answered_500={} answered_504_after_5s={} created_converged={created:.1}s changed_converged={changed:.1}s; full outage {outage_secs:.0}s: {outage_requests} requests ({rate:.1}/s), converged {after_outage:.1}s after healing; events={events} duplicated_events=0 operator_restarts=0",
        partial.forwarded, partial.too_many_requests, partial.internal_errors, partial.timeouts
    );
    finish(ns, op).await
}

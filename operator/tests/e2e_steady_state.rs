//! e2e: a settled cluster costs no writes (resyncs included) and no events; the metrics and
//! health endpoints; the client rate limit; `run --install-crd`.

mod support;

use std::time::Duration;

use anyhow::{Context as _, Result};
use exposure_crd::Exposure;
use exposure_e2e::eventually;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::ListParams;
use kube::Api;
use serde_json::json;
use support::*;

/// The `exposure_api_writes_total` lines (for failure messages).
fn write_lines(metrics: &str) -> String {
    metrics
        .lines()
        .filter(|l| l.starts_with("exposure_api_writes_total"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Waits until the operator's write counter has not moved for 5 s (the last status writes of
/// Exposures that just became Ready), and returns it; fails if it keeps moving for 60 s.
async fn settled_writes(op: &Operator) -> Result<f64> {
    let mut last = op.writes(None).await?;
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let now = op.writes(None).await?;
        if now == last {
            return Ok(now);
        }
        last = now;
    }
    anyhow::bail!(
        "the operator kept writing for 60 s after every Exposure was Ready:\n{}\n--- operator log:\n{}",
        write_lines(&op.metrics().await?),
        op.logs()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_settled_exposures_cost_no_writes_across_resyncs() -> Result<()> {
    let (cluster, ns, op) = start_in_namespace("steady", &["--resync-seconds", "10"]).await?;
    let exposures: Api<Exposure> = ns.api();
    let names: Vec<String> = (0..20).map(|i| format!("app-{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let mut spec = web_spec("nginx:1.25");
        match i % 6 {
            0 => spec["headless"] = json!(true),
            1 => spec["visibility"] = json!({"type": "NodePort"}),
            2 => spec["visibility"] = json!({"type": "LoadBalancer"}),
            3 => {
                spec["visibility"] = json!({"type": "Ingress"});
                spec["ingress"] = json!({"host": format!("{name}.{}.example.test", ns.name())});
            }
            4 => {
                spec = json!({"visibility": {"type": "ExternalName", "externalName": "db.example.test"}})
            }
            _ => {
                spec =
                    json!({"ports": [{"containerPort": 80}], "endpoints": [{"ip": "192.0.2.10"}]})
            }
        }
        apply_spec(&exposures, name, spec).await?;
    }
    for name in &names {
        wait_ready(&op, &exposures, name).await?;
    }
    let before = settled_writes(&op).await?;
    let metrics_before = op.metrics().await?;
    let reconciles_before = metric_sum(&metrics_before, "exposure_reconciles_total", None);

    tokio::time::sleep(Duration::from_secs(60)).await;

    let metrics_after = op.metrics().await?;
    let reconciles_after = metric_sum(&metrics_after, "exposure_reconciles_total", None);
    assert!(
        reconciles_after - reconciles_before >= names.len() as f64,
        "expected every Exposure to be resynced at least once in 60 s: {reconciles_before} -> {reconciles_after}"
    );
    let after = metric_sum(&metrics_after, "exposure_api_writes_total", None);
    assert_eq!(
        after,
        before,
        "writes during the idle window\n--- before:\n{}\n--- after:\n{}\n--- operator log:\n{}",
        write_lines(&metrics_before),
        write_lines(&metrics_after),
        op.logs()
    );
    for name in &names {
        assert!(
            is_ready(&exposures.get(name).await?),
            "{name} is no longer Ready"
        );
    }

    // A restart over the settled Exposures: every one is reconciled again from fresh caches,
    // and nothing is written.
    op.stop().await?;
    let restarted = Operator::start(&cluster, &[ns.name()], &["--resync-seconds", "10"]).await?;
    eventually(
        "every Exposure reconciled by the restarted operator",
        Duration::from_secs(60),
        || async {
            let text = restarted.metrics().await?;
            Ok(
                (metric_sum(&text, "exposure_reconciles_total", None) >= names.len() as f64)
                    .then_some(()),
            )
        },
    )
    .await?;
    let after_restart = settled_writes(&restarted).await?;
    assert_eq!(
        after_restart,
        0.0,
        "writes after a restart over settled Exposures:\n{}\n--- operator log:\n{}",
        write_lines(&restarted.metrics().await?),
        restarted.logs()
    );
    finish(ns, restarted).await
}

/// Events about the Exposure `name` (events.k8s.io), as (reason, note, resourceVersion).
async fn exposure_events(
    ns: &exposure_e2e::TestNamespace,
    name: &str,
) -> Result<Vec<(String, String, String)>> {
    let events: Api<Event> = ns.api();
    let mut out: Vec<_> = events
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| {
            e.regarding.as_ref().is_some_and(|r| {
                r.kind.as_deref() == Some("Exposure") && r.name.as_deref() == Some(name)
            })
        })
        .map(|e| {
            (
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default(),
                e.metadata.resource_version.unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_records_events_and_resyncs_record_none() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("events", &["--resync-seconds", "5"]).await?;
    let exposures: Api<Exposure> = ns.api();
    let mut spec = web_spec("nginx:1.25");
    spec["headless"] = json!(true);
    apply_spec(&exposures, "web", spec).await?;
    wait_ready(&op, &exposures, "web").await?;

    let created = eventually(
        "one Created event naming the Deployment and both Services",
        Duration::from_secs(30),
        || async {
            let events = exposure_events(&ns, "web").await?;
            let created: Vec<&String> = events
                .iter()
                .filter(|(reason, _, _)| reason == "Created")
                .map(|(_, note, _)| note)
                .collect();
            Ok(
                (created == ["Created Deployment web, Service web, Service web-headless"])
                    .then_some(events),
            )
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))?;
    let _ = settled_writes(&op).await?;
    let before = exposure_events(&ns, "web").await?;
    assert!(before.len() >= created.len());

    // Several resyncs; nothing changes, so no event is created or updated.
    let reconciles = metric_sum(&op.metrics().await?, "exposure_reconciles_total", None);
    tokio::time::sleep(Duration::from_secs(16)).await;
    assert!(
        metric_sum(&op.metrics().await?, "exposure_reconciles_total", None) > reconciles,
        "no resync happened"
    );
    let after = exposure_events(&ns, "web").await?;
    assert_eq!(after, before, "events recorded by no-op resyncs");
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_endpoints() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("metrics", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    wait_ready(&op, &exposures, "web").await?;

    for path in ["/healthz", "/readyz"] {
        let (code, _) = http_get(&op.metrics_addr, path).await?;
        assert_eq!(code, 200, "{path}");
    }
    let text = eventually(
        "exposure_managed_exposures{ready=\"True\"} 1",
        Duration::from_secs(30),
        || async {
            let text = op.metrics().await?;
            Ok(
                (metric_sum(&text, "exposure_managed_exposures", Some("ready=\"True\"")) == 1.0)
                    .then_some(text),
            )
        },
    )
    .await?;
    assert!(
        metric_sum(&text, "exposure_reconciles_total", None) >= 1.0,
        "{text}"
    );
    assert!(
        metric_sum(&text, "exposure_reconcile_duration_seconds_count", None) >= 1.0,
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("exposure_reconcile_duration_seconds_bucket{")),
        "{text}"
    );
    assert!(
        metric_sum(
            &text,
            "exposure_api_writes_total",
            Some("kind=\"Deployment\",verb=\"apply\"")
        ) >= 1.0,
        "{text}"
    );
    assert!(
        metric_sum(
            &text,
            "exposure_api_writes_total",
            Some("kind=\"Service\",verb=\"apply\"")
        ) >= 1.0,
        "{text}"
    );
    assert!(
        metric_sum(
            &text,
            "exposure_api_writes_total",
            Some("kind=\"Exposure\",verb=\"status\"")
        ) >= 1.0,
        "{text}"
    );
    // Start-up and one Exposure stay far inside the default burst of 200: nothing waited.
    assert!(
        text.lines()
            .any(|l| l.starts_with("exposure_api_throttled_seconds_total "))
            && metric_sum(&text, "exposure_api_throttled_seconds_total", None) == 0.0,
        "{text}"
    );
    finish(ns, op).await
}

/// The client rate limit sits in the path of every request to a real API server: at 3 requests
/// per second, start-up (a request per watch) and three Exposures still converge, and the time
/// requests waited is counted, while `/readyz` (its probe is not limited) stays 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_client_rate_limit_holds_requests_back_and_counts_the_wait() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace(
        "rate-limit",
        &["--kube-api-qps", "3", "--kube-api-burst", "3"],
    )
    .await?;
    let exposures: Api<Exposure> = ns.api();
    let names = ["a", "b", "c"];
    for name in names {
        apply_spec(&exposures, name, web_spec("nginx:1.25")).await?;
    }
    for name in names {
        wait_ready(&op, &exposures, name).await?;
    }
    let text = op.metrics().await?;
    // A request per watch at start-up alone is well over the burst of 3 (each one past it
    // waits a third of a second); three Exposures add a dozen writes and reads.
    let waited = metric_sum(&text, "exposure_api_throttled_seconds_total", None);
    assert!(waited >= 1.0, "waited {waited} s\n{text}");
    let (code, _) = http_get(&op.metrics_addr, "/readyz").await?;
    assert_eq!(code, 200);
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_with_install_crd_is_idempotent() -> Result<()> {
    // Twice, the second while the first runs: applying the CRD again changes nothing and both
    // start; Exposures keep working.
    let (cluster, ns, first) = start_in_namespace("install-crd", &["--install-crd"]).await?;
    let second = Operator::start(&cluster, &[ns.name()], &["--install-crd"]).await?;
    second.stop().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(cluster.client());
    let crd = crds.get("exposures.exposure.dev").await?;
    let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
    assert!(conditions
        .iter()
        .any(|c| c.type_ == "Established" && c.status == "True"));
    let managers: Vec<_> = crd
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.iter().any(|m| m == "exposure-operator"),
        "CRD managers: {managers:?}"
    );

    let exposures: Api<Exposure> = ns.api();
    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    wait_ready(&first, &exposures, "web")
        .await
        .context("Exposure under the operator that installed the CRD")?;
    finish(ns, first).await
}

//! Fault: a leader that has lost its lease but does not know it. Two replicas with
//! `--leader-elect`; the leader is frozen (SIGSTOP) past its lease, the follower takes over and
//! converges a change made meanwhile; when the old leader resumes (SIGCONT) with its stale
//! caches it must not write (its own write counter, the Events it would record under its
//! instance name, and the children the follower converged stay as they are) before it holds
//! the lease again — it gives up leadership instead.

mod support;

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use exposure_crd::Exposure;
use exposure_e2e::{cluster, eventually, wait_for, TestNamespace};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::events::v1::Event;
use kube::api::ListParams;
use kube::Api;
use serde_json::json;
use support::faults::signal;
use support::*;

const LEASE_SECONDS: u64 = 4;

async fn gauge(op: &Operator, name: &str) -> Result<f64> {
    Ok(metric_sum(&op.metrics().await?, name, None))
}

/// Events in the namespace recorded by the operator instance `instance`.
async fn events_by(ns: &TestNamespace, instance: &str) -> Result<usize> {
    let events: Api<Event> = ns.api();
    Ok(events
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|e| e.reporting_instance.as_deref() == Some(instance))
        .count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_does_not_write_after_it_resumes() -> Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "fault-fence").await?;
    let lease = LEASE_SECONDS.to_string();
    let flags = |instance: &'static str| {
        vec![
            "--leader-elect".to_string(),
            "--leader-election-namespace".into(),
            ns.name().into(),
            "--leader-election-lease-name".into(),
            "exposure-fence".into(),
            "--leader-election-lease-seconds".into(),
            lease.clone(),
            "--instance".into(),
            instance.into(),
            "--resync-seconds".into(),
            "1".into(),
        ]
    };
    let old_flags = flags("fence-old");
    let old_flags: Vec<&str> = old_flags.iter().map(String::as_str).collect();
    let old = Operator::start(&cluster, &[ns.name()], &old_flags).await?;
    eventually(
        "the first replica to lead",
        Duration::from_secs(30),
        || async { Ok((gauge(&old, "exposure_leader").await? == 1.0).then_some(())) },
    )
    .await?;
    let new_flags = flags("fence-new");
    let new_flags: Vec<&str> = new_flags.iter().map(String::as_str).collect();
    let new = Operator::start(&cluster, &[ns.name()], &new_flags).await?;

    let exposures: Api<Exposure> = ns.api();
    let deployments = ns.api::<Deployment>();
    let mut spec = web_spec("nginx:1.25");
    spec["replicas"] = json!(2);
    apply_spec(&exposures, "web", spec.clone()).await?;
    wait_ready(&old, &exposures, "web").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let old_writes = old.writes(None).await?;
    let old_events = events_by(&ns, "fence-old").await?;
    let pid = old.pid().ok_or_else(|| anyhow!("the leader has no pid"))?;

    // Frozen mid-lease: it holds the lease, its caches stop, its timers keep counting.
    signal(pid, "STOP").await?;
    let paused = Instant::now();
    spec["replicas"] = json!(3);
    spec["image"] = json!("nginx:1.26");
    apply_spec(&exposures, "web", spec).await?;
    eventually("the follower to lead", Duration::from_secs(40), || async {
        Ok((gauge(&new, "exposure_leader").await? == 1.0).then_some(()))
    })
    .await
    .map_err(|e| anyhow!("{e}\n--- follower log:\n{}", new.logs()))?;
    let takeover = paused.elapsed().as_secs_f64();
    let converged = wait_for(
        &deployments,
        "web",
        "the follower's 3 replicas",
        TIMEOUT,
        |d| d.spec.as_ref().and_then(|s| s.replicas) == Some(3),
    )
    .await?;
    wait_ready(&new, &exposures, "web").await?;
    // Past the lease, with resyncs due in the frozen process.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let exposure_rv = exposures.get("web").await?.metadata.resource_version;
    let follower_writes = new.writes(None).await?;

    signal(pid, "CONT").await?;
    let resumed = Instant::now();
    // Watch the old replica until it has given up (it exits, or says it is not the leader),
    // reading its write counter as often as it answers.
    let mut last_writes = old_writes;
    let mut gave_up = false;
    while resumed.elapsed() < Duration::from_secs(20) {
        match old.metrics().await {
            Ok(text) => {
                last_writes = metric_sum(&text, "exposure_api_writes_total", None);
                if metric_sum(&text, "exposure_leader", None) == 0.0 {
                    gave_up = true;
                }
            }
            Err(_) => {
                gave_up = true;
                break;
            }
        }
        if last_writes != old_writes {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let d = deployments.get("web").await?;
    let new_events = events_by(&ns, "fence-old").await?;
    let log = old.logs();
    assert_eq!(
        last_writes, old_writes,
        "the old leader wrote after it resumed without the lease\n--- its log:\n{log}"
    );
    assert_eq!(
        new_events, old_events,
        "the old leader recorded Events after it resumed\n--- its log:\n{log}"
    );
    assert_eq!(
        (d.metadata.generation, image_of(&d)),
        (
            converged.metadata.generation,
            Some("nginx:1.26".to_string())
        ),
        "the Deployment the follower converged was changed again:\n{}",
        exposure_e2e::to_yaml(&d)
    );
    assert!(gave_up, "the old leader still claims leadership\n{log}");
    // Whatever else happened, the new leader's view stands and it keeps the lease.
    assert_eq!(gauge(&new, "exposure_leader").await?, 1.0);
    let exposure_now = exposures.get("web").await?;
    println!(
        "fault-leader: lease={LEASE_SECONDS}s takeover_after_pause={takeover:.1}s old_leader_writes_after_resume={} old_leader_events_after_resume={} exposure_rewritten={} follower_writes={follower_writes}",
        last_writes - old_writes,
        new_events - old_events,
        exposure_now.metadata.resource_version != exposure_rv,
    );
    drop(old);
    new.stop().await?;
    ns.cleanup().await
}

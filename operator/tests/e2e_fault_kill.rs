//! Fault: the operator is SIGKILLed at random points while Exposures (mixed visibilities, some
//! with storage) are created, updated and deleted, and restarted each time. After the last
//! restart every live Exposure converges to its last spec, no child is orphaned or owned by a
//! stale uid, no PVC is lost, and no deleted Exposure keeps its finalizer.
//!
//! Counts: `EXPOSURE_FAULT_KILL_EXPOSURES` (default 50) and `EXPOSURE_FAULT_KILL_ROUNDS`
//! (default 20), the counts.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use exposure_crd::{labels, Exposure};
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{DeleteParams, ListParams};
use kube::{Api, ResourceExt};
use serde_json::json;
use support::faults::{self, Rng};
use support::*;

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The spec of Exposure `i` at `version`: its visibility is fixed by `i` (so that a Service
/// never has to change between ExternalName and the rest), image and replicas by `version`,
/// storage (Retain, class `fast`) on every third.
fn spec(ns: &str, i: usize, version: u64) -> serde_json::Value {
    let mut spec = json!({
        "image": format!("nginx:1.{}", 20 + version % 9),
        "replicas": 1 + (version % 2),
        "ports": [{"name": "http", "containerPort": 80}],
    });
    match i % 5 {
        1 => spec["visibility"] = json!({"type": "NodePort"}),
        2 => spec["visibility"] = json!({"type": "LoadBalancer"}),
        3 => {
            spec["visibility"] = json!({"type": "Ingress"});
            spec["ingress"] = json!({"host": format!("app-{i}.{ns}.example.test")});
        }
        4 => spec["headless"] = json!(true),
        _ => {}
    }
    if i.is_multiple_of(3) {
        spec["replicas"] = json!(1);
        spec["storage"] = json!([{
            "name": "data", "mountPath": "/data", "size": "1Gi",
            "storageClassName": "fast", "reclaim": "Retain",
        }]);
    }
    spec
}

/// Every PVC of the namespace that is ours or released by us: name → uid.
async fn our_pvcs(pvcs: &Api<PersistentVolumeClaim>) -> Result<BTreeMap<String, String>> {
    Ok(pvcs
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|p| {
            let l = p.labels();
            l.contains_key(labels::RETAINED_FROM)
                || l.get(labels::MANAGED_BY).map(String::as_str) == Some(labels::MANAGER)
        })
        .map(|p| (p.name_any(), p.uid().unwrap_or_default()))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_flight_loses_nothing_and_orphans_nothing() -> Result<()> {
    let exposure_count = count("EXPOSURE_FAULT_KILL_EXPOSURES", 50);
    let rounds = count("EXPOSURE_FAULT_KILL_ROUNDS", 20);
    let mut rng = Rng::from_env("fault-kill");
    let (cluster, ns, mut op) =
        start_in_namespace("fault-kill", &["--resync-seconds", "5"]).await?;
    ensure_fast_storage_class(&cluster).await?;
    let client = cluster.client();
    let exposures: Api<Exposure> = ns.api();
    let pvcs: Api<PersistentVolumeClaim> = ns.api();
    let mut versions: Vec<Option<u64>> = vec![None; exposure_count];
    let mut known_pvcs = BTreeMap::new();
    let (mut kills, mut writes_before_kills) = (0, 0.0);
    let mut ops = (0, 0, 0);

    for round in 0..rounds {
        // A batch of changes; the kill lands somewhere inside it (or right after).
        let changes = exposure_count / 2 + rng.below(exposure_count as u64 / 2) as usize;
        let kill_after = rng.below(changes as u64 + 1) as usize;
        for n in 0..changes {
            if n == kill_after {
                writes_before_kills += op.writes(None).await.unwrap_or(0.0);
                op.kill().await;
                kills += 1;
            }
            let i = rng.below(exposure_count as u64) as usize;
            match versions[i] {
                Some(_) if rng.chance(25) => {
                    match exposures
                        .delete(&format!("app-{i}"), &DeleteParams::default())
                        .await
                    {
                        Ok(_) => {}
                        Err(kube::Error::Api(e)) if e.code == 404 => {}
                        Err(e) => return Err(e.into()),
                    }
                    versions[i] = None;
                    ops.2 += 1;
                }
                previous => {
                    let name = format!("app-{i}");
                    // A name still being deleted (finalizer, operator dead) would be patched,
                    // then vanish: left for a later round.
                    let deleting = exposures
                        .get_opt(&name)
                        .await?
                        .is_some_and(|e| e.metadata.deletion_timestamp.is_some());
                    if deleting {
                        continue;
                    }
                    let version = rng.below(1000);
                    apply_spec(&exposures, &name, spec(ns.name(), i, version)).await?;
                    if previous.is_some() {
                        ops.1 += 1
                    } else {
                        ops.0 += 1
                    }
                    versions[i] = Some(version);
                }
            }
            if rng.chance(20) {
                tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
            }
        }
        if kill_after == changes {
            writes_before_kills += op.writes(None).await.unwrap_or(0.0);
            op.kill().await;
            kills += 1;
        }
        known_pvcs.extend(our_pvcs(&pvcs).await?);
        op = Operator::start(&cluster, &[ns.name()], &["--resync-seconds", "5"]).await?;
        // Let it work a little before the next kill (sometimes not at all).
        tokio::time::sleep(Duration::from_millis(rng.below(3000))).await;
        known_pvcs.extend(our_pvcs(&pvcs).await?);
        eprintln!("fault-kill: round {round} changes={changes} killed after {kill_after}");
    }

    let restarted = Instant::now();
    let converge = faults::wait_all_converged(&client, ns.name(), Duration::from_secs(150))
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))?;
    // Deleted Exposures finish deleting (their finalizers are removed by the running operator).
    exposure_e2e::eventually(
        "deleted Exposures to be gone",
        Duration::from_secs(60),
        || async {
            let list = exposures.list(&ListParams::default()).await?;
            Ok(list
                .items
                .iter()
                .all(|e| e.metadata.deletion_timestamp.is_none())
                .then_some(()))
        },
    )
    .await?;
    // Retain PVCs of Exposures deleted while the operator was dead are released by the sweep.
    let audit = exposure_e2e::eventually(
        "the namespace's invariants to hold",
        Duration::from_secs(60),
        || async {
            match faults::audit(&client, ns.name(), &known_pvcs).await {
                Ok(a) => Ok(Some(a)),
                Err(e) => Err(e),
            }
        },
    )
    .await?;
    let live = versions.iter().filter(|v| v.is_some()).count();
    assert_eq!(
        audit.live_exposures, live,
        "live Exposures differ from the test's model"
    );
    for (i, v) in versions.iter().enumerate() {
        let e = exposures.get_opt(&format!("app-{i}")).await?;
        assert_eq!(
            e.is_some(),
            v.is_some(),
            "app-{i}: exists {:?} but model says {v:?}",
            e.is_some()
        );
    }
    let panics = op.logs().matches("panicked").count();
    assert_eq!(panics, 0, "the operator panicked:\n{}", op.logs());
    println!(
        "fault-kill: exposures={exposure_count} rounds={rounds} kills={kills} operator_writes_before_kills={writes_before_kills} creates={} updates={} deletes={} live={live} children={} pvcs_seen={} retained={} converge_after_last_restart={converge:.1}s (audited {:.1}s after restart)",
        ops.0,
        ops.1,
        ops.2,
        audit.children,
        known_pvcs.len(),
        audit.retained_pvcs,
        restarted.elapsed().as_secs_f64()
    );
    finish(ns, op).await
}

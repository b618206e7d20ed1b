//! e2e: the workloads app teams run (#13) against the real 1.35 control plane: StatefulSets with
//! per-pod claims behind their headless Service, kind switches and scale-downs that keep every
//! claim, DaemonSets on the simulated nodes, the autoscaler taking over replicas without a dip,
//! disruption budgets, configuration that rolls the pods, LimitRanges the API server applies,
//! pods a ResourceQuota or Pod Security refuses, reported as such.
//!
//! Each test has its own namespace and operator. kwok runs the pods: they become Running and
//! Ready at once whatever they mount (no kubelet mounts volumes), which each test that depends
//! on it says. StorageClasses are cluster-scoped: unique names, deleted when the test ends.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, ensure, Context as _, Result};
use exposure_crd::{condition, labels, Exposure, ExposureStatus};
use exposure_e2e::{
    eventually, random_suffix, wait_for, wait_for_deletion, Cluster, DeleteOnDrop, TestNamespace,
};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, Namespace, Node, PersistentVolumeClaim, Pod, ResourceQuota, Service,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, ResourceExt};
use serde_json::{json, Value};
use support::*;

/// The pod-template annotation with the hash of the mounted configuration data.
const CONFIG_HASH: &str = "exposure.dev/config-hash";
/// Short resyncs, for the checks that a settled Exposure costs no writes.
const RESYNC: &[&str] = &["--resync-seconds", "2"];

/// One test's namespace, operator and the StorageClasses it made.
struct Env {
    cluster: Cluster,
    ns: TestNamespace,
    op: Operator,
    exposures: Api<Exposure>,
    /// Deleted when the test ends, also when it fails; after the operator stopped (fields drop
    /// in order).
    guards: Vec<DeleteOnDrop>,
}

impl Env {
    async fn start(prefix: &str, extra: &[&str]) -> Result<Env> {
        let (cluster, ns, op) = start_in_namespace(prefix, extra).await?;
        Ok(Env {
            exposures: ns.api(),
            cluster,
            ns,
            op,
            guards: Vec::new(),
        })
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        self.ns.api()
    }

    /// A StorageClass of the simulated provisioner (node-sim provisions a PV per claim at once,
    /// reclaim Delete), with a unique name, deleted when the test ends.
    async fn simulated_class(&mut self, prefix: &str) -> Result<String> {
        let class = format!("e2e-{prefix}-{}", random_suffix());
        self.guards
            .push(self.cluster.delete_on_drop("storageclass", &class));
        let sc: StorageClass = serde_json::from_value(json!({
            "metadata": { "name": class },
            "provisioner": "exposure.dev/simulated",
            "reclaimPolicy": "Delete",
            // A grown StatefulSet volume grows its per-pod claims.
            "allowVolumeExpansion": true,
        }))?;
        Api::<StorageClass>::all(self.cluster.client())
            .create(&PostParams::default(), &sc)
            .await?;
        Ok(class)
    }

    async fn apply(&self, name: &str, spec: Value) -> Result<Exposure> {
        apply_spec(&self.exposures, name, spec).await
    }

    /// Waits until the Exposure is Ready for its generation and `extra` holds.
    async fn ready_and(
        &self,
        name: &str,
        description: &str,
        extra: impl Fn(&Exposure) -> bool,
    ) -> Result<Exposure> {
        wait_exposure(
            &self.op,
            &self.exposures,
            name,
            &format!("Ready, {description}"),
            |e| is_ready(e) && extra(e),
        )
        .await
    }

    async fn bound(&self, pvc: &str) -> Result<PersistentVolumeClaim> {
        wait_for(
            &self.api::<PersistentVolumeClaim>(),
            pvc,
            "PVC Bound",
            TIMEOUT,
            |p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"),
        )
        .await
    }

    /// Once the operator's writes have settled, several resyncs (the operator runs with
    /// [`RESYNC`]) cost no write: nothing it applied drifts from what it reads back.
    async fn no_writes_at_rest(&self) -> Result<()> {
        let before = settled_writes(&self.op).await?;
        let metrics_before = self.op.metrics().await?;
        let reconciles = metric_sum(&metrics_before, "exposure_reconciles_total", None);
        tokio::time::sleep(Duration::from_secs(8)).await;
        let metrics_after = self.op.metrics().await?;
        ensure!(
            metric_sum(&metrics_after, "exposure_reconciles_total", None) >= reconciles + 2.0,
            "no resync happened in 8 s"
        );
        let after = metric_sum(&metrics_after, "exposure_api_writes_total", None);
        ensure!(
            after == before,
            "writes at rest:\n--- before:\n{}\n--- after:\n{}\n--- operator log:\n{}",
            write_lines(&metrics_before),
            write_lines(&metrics_after),
            self.op.logs()
        );
        Ok(())
    }

    /// Namespace first (the operator removes its finalizers while it goes), then the operator,
    /// then the StorageClasses.
    async fn finish(self) -> Result<()> {
        let Env { ns, op, guards, .. } = self;
        ns.cleanup().await?;
        op.stop().await?;
        drop(guards);
        Ok(())
    }
}

/// Waits until the operator's write counter has not moved for 5 s, and returns it.
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
    Err(anyhow!(
        "the operator kept writing for 60 s:\n{}\n--- operator log:\n{}",
        write_lines(&op.metrics().await?),
        op.logs()
    ))
}

fn write_lines(metrics: &str) -> String {
    metrics
        .lines()
        .filter(|l| l.starts_with("exposure_api_writes_total"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn status(e: &Exposure) -> ExposureStatus {
    e.status.clone().unwrap_or_default()
}

fn workload_is(e: &Exposure, kind: &str) -> bool {
    e.status.as_ref().and_then(|s| s.workload.as_deref()) == Some(kind)
}

fn ready_replicas(e: &Exposure) -> Option<i32> {
    e.status.as_ref().and_then(|s| s.ready_replicas)
}

fn retained_names(e: &Exposure) -> Vec<String> {
    status(e)
        .retained_volumes
        .into_iter()
        .map(|v| v.name)
        .collect()
}

fn label<'a>(o: &'a impl ResourceExt, key: &str) -> Option<&'a str> {
    o.labels().get(key).map(String::as_str)
}

fn uid(o: &impl ResourceExt) -> Result<String> {
    o.uid()
        .ok_or_else(|| anyhow!("{} has no uid", o.name_any()))
}

/// The condition `type_` as (status, reason, message).
fn condition_of(e: &Exposure, type_: &str) -> Option<(String, String, String)> {
    condition(e, type_).map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// The claim names a pod's volumes use.
fn claims_of(pod: &Pod) -> Vec<String> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.clone())
        .collect()
}

/// Pods of the Exposure `name` that are not being deleted.
async fn live_pods(env: &Env, name: &str) -> Result<Vec<Pod>> {
    let pods: Api<Pod> = env.api();
    Ok(pods
        .list(&ListParams::default().labels(&format!("{}={name}", labels::NAME)))
        .await?
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect())
}

fn config_hash_of(d: &Deployment) -> Option<String> {
    d.spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(CONFIG_HASH)
        .cloned()
}

/// A web workload spec: one container port 80.
fn app(image: &str) -> Value {
    json!({ "image": image, "ports": [{ "name": "http", "containerPort": 80 }] })
}

/// `app("nginx:1.25")` with `extra` merged in at the top level.
fn app_with(extra: Value) -> Value {
    let mut spec = app("nginx:1.25");
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    spec
}

/// One volume `data` (1Gi) of `class` with `reclaim`.
fn data_volume(class: &str, reclaim: &str) -> Value {
    json!([{ "name": "data", "mountPath": "/data", "size": "1Gi",
             "storageClassName": class, "reclaim": reclaim }])
}

// ---- 1. StatefulSet -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateful_set_runs_behind_its_headless_service_with_a_bound_claim_per_pod() -> Result<()> {
    let mut env = Env::start("wl-sts", RESYNC).await?;
    let class = env.simulated_class("wl-sts").await?;
    env.apply(
        "db",
        app_with(json!({
            "workload": "StatefulSet",
            "replicas": 2,
            "storage": data_volume(&class, "Retain"),
        })),
    )
    .await?;
    let e = env
        .ready_and("db", "2 ready StatefulSet replicas", |e| {
            workload_is(e, "StatefulSet") && ready_replicas(e) == Some(2)
        })
        .await?;
    let s = status(&e);
    ensure!(
        (s.replicas, s.ready_replicas, s.available_replicas) == (Some(2), Some(2), Some(2)),
        "replica counts: {s:?}"
    );
    ensure!(is_true(&e, condition::STORAGE_BOUND), "{s:?}");
    ensure!(s.retained_volumes.is_empty(), "{s:?}");

    let headless = env.api::<Service>().get("db-headless").await?;
    ensure!(
        headless.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None"),
        "db-headless is not headless: {:?}",
        headless.spec
    );
    let set = env.api::<StatefulSet>().get("db").await?;
    let set_spec = set.spec.clone().context("StatefulSet spec")?;
    ensure!(
        set_spec.service_name.as_deref() == Some("db-headless"),
        "serviceName {:?}",
        set_spec.service_name
    );
    ensure!(has_our_labels(&set.metadata, "db"));
    ensure!(controller_exposure_uid(&set.metadata) == e.uid());
    // No Deployment besides it.
    ensure!(env.api::<Deployment>().get_opt("db").await?.is_none());

    for ordinal in 0..2 {
        let claim = format!("data-db-{ordinal}");
        let pvc = env.bound(&claim).await?;
        ensure!(
            pvc.spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref())
                == Some(class.as_str()),
            "{claim}: class {:?}",
            pvc.spec
        );
        ensure!(
            label(&pvc, labels::PER_POD) == Some("true"),
            "{claim}: {:?}",
            pvc.labels()
        );
        let pod = env.api::<Pod>().get(&format!("db-{ordinal}")).await?;
        ensure!(
            claims_of(&pod) == [claim.clone()],
            "pod db-{ordinal} mounts {:?}",
            claims_of(&pod)
        );
    }
    // No shared claim `db-data` for a StatefulSet.
    ensure!(env
        .api::<PersistentVolumeClaim>()
        .get_opt("db-data")
        .await?
        .is_none());
    // Settled: resyncs neither write nor recreate the StatefulSet (its claim templates read
    // back with the API server's defaults).
    env.no_writes_at_rest().await?;
    ensure!(
        env.api::<StatefulSet>().get("db").await?.uid() == set.uid(),
        "the StatefulSet was recreated at rest"
    );
    env.finish().await
}

// ---- 2. Deployment → StatefulSet → Deployment ------------------------------------------------

/// One Exposure `name` with volume `data` of `reclaim` through Deployment → StatefulSet →
/// Deployment: the shared claim `<name>-data` is released (kept, same UID, listed as
/// retained) and adopted again; the per-pod claim the StatefulSet made stays too.
async fn kind_switches_keep_the_claims(
    env: &Env,
    class: &str,
    name: &str,
    reclaim: &str,
) -> Result<()> {
    let shared = format!("{name}-data");
    let per_pod = format!("data-{name}-0");
    let spec = |kind: &str| {
        app_with(json!({
            "workload": kind,
            "replicas": 1,
            "storage": data_volume(class, reclaim),
        }))
    };
    let pvcs: Api<PersistentVolumeClaim> = env.api();

    env.apply(name, spec("Deployment")).await?;
    let first = env
        .ready_and(name, "a Deployment", |e| workload_is(e, "Deployment"))
        .await?;
    let exposure_uid = first.uid().context("Exposure uid")?;
    let claim = env.bound(&shared).await?;
    let claim_uid = uid(&claim)?;
    let owned = controller_exposure_uid(&claim.metadata);
    ensure!(
        owned == (reclaim == "Delete").then(|| exposure_uid.clone()),
        "{name}: {shared} with reclaim {reclaim} has the controller owner {owned:?}"
    );

    // → StatefulSet.
    env.apply(name, spec("StatefulSet")).await?;
    let e = env
        .ready_and(name, &format!("a StatefulSet, {shared} retained"), |e| {
            workload_is(e, "StatefulSet")
                && ready_replicas(e) == Some(1)
                && retained_names(e).contains(&shared)
        })
        .await?;
    ensure!(
        retained_names(&e) == [shared.clone()],
        "{name}: retained {:?}",
        retained_names(&e)
    );
    wait_for_deletion(&env.api::<Deployment>(), name, TIMEOUT)
        .await
        .context("the Deployment is pruned")?;
    ensure!(env.api::<StatefulSet>().get_opt(name).await?.is_some());
    let released = pvcs.get(&shared).await?;
    ensure!(
        uid(&released)? == claim_uid,
        "{name}: {shared} was replaced (reclaim {reclaim})"
    );
    ensure!(
        label(&released, labels::RETAINED_FROM) == Some(name)
            && label(&released, labels::NAME).is_none(),
        "{name}: {shared} is not released: {:?}",
        released.labels()
    );
    // Released means it no longer goes with the Exposure, even with reclaim: Delete.
    ensure!(
        released.owner_references().is_empty(),
        "{name}: released {shared} still has owners {:?}",
        released.owner_references()
    );
    let per_pod_uid = uid(&env.bound(&per_pod).await?)?;

    // → Deployment again: the same claim is adopted; the per-pod one is kept, idle.
    env.apply(name, spec("Deployment")).await?;
    let e = env
        .ready_and(
            name,
            &format!("a Deployment again, {shared} adopted"),
            |e| workload_is(e, "Deployment") && !retained_names(e).contains(&shared),
        )
        .await?;
    ensure!(
        retained_names(&e) == [per_pod.clone()],
        "{name}: retained {:?}",
        retained_names(&e)
    );
    wait_for_deletion(&env.api::<StatefulSet>(), name, TIMEOUT)
        .await
        .context("the StatefulSet is pruned")?;
    let adopted = pvcs.get(&shared).await?;
    ensure!(uid(&adopted)? == claim_uid, "{name}: {shared} was replaced");
    ensure!(
        has_our_labels(&adopted.metadata, name) && label(&adopted, labels::RETAINED_FROM).is_none(),
        "{name}: {shared} not adopted: {:?}",
        adopted.labels()
    );
    let owned = controller_exposure_uid(&adopted.metadata);
    ensure!(
        owned == (reclaim == "Delete").then(|| exposure_uid.clone()),
        "{name}: adopted {shared} (reclaim {reclaim}) has the controller owner {owned:?}"
    );
    let kept = pvcs.get(&per_pod).await?;
    ensure!(uid(&kept)? == per_pod_uid, "{name}: {per_pod} was replaced");
    ensure!(
        kept.owner_references().is_empty(),
        "{name}: {per_pod} would be collected with {:?}",
        kept.owner_references()
    );
    let pods = live_pods(env, name).await?;
    ensure!(
        pods.len() == 1 && claims_of(&pods[0]) == [shared.clone()],
        "{name}: pods and their claims: {:?}",
        pods.iter()
            .map(|p| (p.name_any(), claims_of(p)))
            .collect::<Vec<_>>()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_deployment_to_stateful_set_and_back_keeps_and_readopts_the_claim() -> Result<()>
{
    let mut env = Env::start("wl-switch", RESYNC).await?;
    let class = env.simulated_class("wl-switch").await?;
    // Both reclaim policies, side by side.
    tokio::try_join!(
        kind_switches_keep_the_claims(&env, &class, "keep", "Retain"),
        kind_switches_keep_the_claims(&env, &class, "drop", "Delete"),
    )?;
    env.no_writes_at_rest().await?;
    env.finish().await
}

// ---- 3. StatefulSet scale-down and up ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateful_set_scale_down_retains_per_pod_claims_and_scale_up_reuses_them() -> Result<()> {
    let mut env = Env::start("wl-scale", RESYNC).await?;
    let class = env.simulated_class("wl-scale").await?;
    let spec = |replicas: i32| {
        app_with(json!({
            "workload": "StatefulSet",
            "replicas": replicas,
            "statefulSet": { "podManagementPolicy": "Parallel" },
            "storage": data_volume(&class, "Retain"),
        }))
    };
    env.apply("db", spec(3)).await?;
    env.ready_and("db", "3 ready replicas", |e| ready_replicas(e) == Some(3))
        .await?;
    let mut uids = BTreeMap::new();
    for ordinal in 0..3 {
        let claim = format!("data-db-{ordinal}");
        uids.insert(claim.clone(), uid(&env.bound(&claim).await?)?);
    }

    env.apply("db", spec(1)).await?;
    let e = env
        .ready_and("db", "1 replica, data-db-1 and data-db-2 retained", |e| {
            ready_replicas(e) == Some(1)
                && status(e).replicas == Some(1)
                && retained_names(e) == ["data-db-1", "data-db-2"]
        })
        .await?;
    ensure!(
        status(&e)
            .retained_volumes
            .iter()
            .all(|v| v.volume == "data" && v.size.as_deref() == Some("1Gi")),
        "{:?}",
        status(&e).retained_volumes
    );
    for ordinal in 1..3 {
        wait_for_deletion(&env.api::<Pod>(), &format!("db-{ordinal}"), TIMEOUT).await?;
    }
    for (claim, want) in &uids {
        let pvc = env.bound(claim).await?;
        ensure!(uid(&pvc)? == *want, "{claim} was replaced");
    }

    env.apply("db", spec(3)).await?;
    let e = env
        .ready_and("db", "3 ready replicas, nothing retained", |e| {
            ready_replicas(e) == Some(3) && retained_names(e).is_empty()
        })
        .await?;
    ensure!(status(&e).replicas == Some(3));
    for (ordinal, (claim, want)) in uids.iter().enumerate() {
        let pvc = env.bound(claim).await?;
        ensure!(uid(&pvc)? == *want, "{claim} was replaced on scale-up");
        let pod = env.api::<Pod>().get(&format!("db-{ordinal}")).await?;
        ensure!(
            claims_of(&pod) == [claim.clone()],
            "pod db-{ordinal} mounts {:?}",
            claims_of(&pod)
        );
    }
    env.no_writes_at_rest().await?;
    env.finish().await
}

/// The claim templates are immutable: the operator recreates the StatefulSet, deleting the old
/// one with its pods orphaned, and the new one adopts them (same pods, same claims); the
/// existing claims are grown to the new size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateful_set_claim_template_change_recreates_it_keeping_pods_and_growing_claims(
) -> Result<()> {
    let mut env = Env::start("wl-recreate", RESYNC).await?;
    let class = env.simulated_class("wl-recreate").await?;
    let spec = |size: &str| {
        let mut volume = data_volume(&class, "Retain");
        volume[0]["size"] = json!(size);
        app_with(json!({
            "workload": "StatefulSet",
            "replicas": 2,
            "statefulSet": { "podManagementPolicy": "Parallel" },
            "storage": volume,
        }))
    };
    env.apply("db", spec("1Gi")).await?;
    env.ready_and("db", "2 ready replicas", |e| ready_replicas(e) == Some(2))
        .await?;
    let sets: Api<StatefulSet> = env.api();
    let old_set = uid(&sets.get("db").await?)?;
    let kept = pods_and_claims(&env, "db", 2).await?;

    env.apply("db", spec("2Gi")).await?;
    let template_size = |s: &StatefulSet| {
        s.spec
            .as_ref()?
            .volume_claim_templates
            .as_ref()?
            .first()?
            .spec
            .as_ref()?
            .resources
            .as_ref()?
            .requests
            .as_ref()?
            .get("storage")
            .map(|q| q.0.clone())
    };
    let new_set = recreated_keeping(
        &env,
        "db",
        &old_set,
        2,
        &kept,
        "a new StatefulSet with 2Gi claims",
        |s| template_size(s).as_deref() == Some("2Gi"),
    )
    .await?;
    // The existing claims grow with the template: the StatefulSet controller never resizes
    // claims it made, the operator does (their class allows expansion).
    for ordinal in 0..2 {
        let name = format!("data-db-{ordinal}");
        wait_for(
            &env.api::<PersistentVolumeClaim>(),
            &name,
            "the claim's request grown to 2Gi",
            TIMEOUT,
            |claim| {
                claim
                    .spec
                    .as_ref()
                    .and_then(|s| s.resources.as_ref())
                    .and_then(|r| r.requests.as_ref())
                    .and_then(|r| r.get("storage"))
                    .is_some_and(|q| q.0 == "2Gi")
            },
        )
        .await?;
    }
    env.no_writes_at_rest().await?;
    ensure!(
        sets.get("db").await?.uid() == new_set.uid(),
        "the StatefulSet was recreated again at rest"
    );
    env.finish().await
}

/// The uids of the pods `<name>-<i>` and their bound claims `data-<name>-<i>`, i < `replicas`.
async fn pods_and_claims(env: &Env, name: &str, replicas: i32) -> Result<BTreeMap<String, String>> {
    let mut kept = BTreeMap::new();
    for ordinal in 0..replicas {
        let pod = env.api::<Pod>().get(&format!("{name}-{ordinal}")).await?;
        kept.insert(pod.name_any(), uid(&pod)?);
        let claim = env.bound(&format!("data-{name}-{ordinal}")).await?;
        kept.insert(claim.name_any(), uid(&claim)?);
    }
    Ok(kept)
}

/// Waits for a StatefulSet `name` other than `old` that passes `extra`, with `ready` ready
/// replicas, and checks that every pod and claim of `kept` (name → uid) is still the same
/// object, the pods adopted by the new set.
async fn recreated_keeping(
    env: &Env,
    name: &str,
    old: &str,
    ready: i32,
    kept: &BTreeMap<String, String>,
    what: &str,
    extra: impl Fn(&StatefulSet) -> bool,
) -> Result<StatefulSet> {
    let sets: Api<StatefulSet> = env.api();
    let new_set = wait_for(&sets, name, what, TIMEOUT, |s| {
        s.uid().as_deref() != Some(old) && extra(s)
    })
    .await
    .map_err(|e| anyhow!("{e:#}\n--- operator log:\n{}", env.op.logs()))?;
    env.ready_and(
        name,
        &format!("{ready} ready replicas after: {what}"),
        |e| ready_replicas(e) == Some(ready),
    )
    .await?;
    let replicas = sets.get(name).await?.spec.and_then(|s| s.replicas);
    ensure!(
        replicas == Some(ready),
        "{what}: the new StatefulSet runs {replicas:?} replicas"
    );
    for (object, want) in kept {
        let have = if object.starts_with("data-") {
            let claim = env.api::<PersistentVolumeClaim>().get_opt(object).await?;
            uid(&claim.with_context(|| format!("{what}: claim {object} is gone"))?)?
        } else {
            let pod = env.api::<Pod>().get(object).await?;
            let owner = pod
                .owner_references()
                .iter()
                .find(|r| r.controller == Some(true))
                .map(|r| r.uid.clone());
            ensure!(
                owner == new_set.uid(),
                "{what}: pod {object} is not adopted by the new StatefulSet: {owner:?}"
            );
            uid(&pod)?
        };
        ensure!(have == *want, "{what}: {object} was replaced");
    }
    Ok(new_set)
}

/// A StatefulSet whose claims go with its pods (`reclaim: Delete`, so `whenScaled: Delete`) is
/// recreated twice without losing a pod or a claim: once because a policy it set
/// (`podManagementPolicy: Parallel`) is dropped from the spec (the API server's default is a
/// change too), once for a grown claim template in the same change that hands its replicas to
/// an autoscaler (the new set starts with the replicas the old one ran, not 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateful_set_recreates_keep_replicas_pods_and_claims() -> Result<()> {
    let mut env = Env::start("wl-recreate-hpa", RESYNC).await?;
    let class = env.simulated_class("wl-recreate-hpa").await?;
    let spec = |size: &str, parallel: bool, autoscaled: bool| {
        let mut volume = data_volume(&class, "Delete");
        volume[0]["size"] = json!(size);
        let mut spec = app_with(json!({ "workload": "StatefulSet", "storage": volume }));
        if parallel {
            spec["statefulSet"] = json!({ "podManagementPolicy": "Parallel" });
        }
        if autoscaled {
            spec["autoscaling"] = json!({ "minReplicas": 2, "maxReplicas": 5,
                                          "targetCPUUtilizationPercentage": 80 });
        } else {
            spec["replicas"] = json!(3);
        }
        spec
    };
    env.apply("db", spec("1Gi", true, false)).await?;
    env.ready_and("db", "3 ready replicas", |e| ready_replicas(e) == Some(3))
        .await?;
    let sets: Api<StatefulSet> = env.api();
    let first = uid(&sets.get("db").await?)?;
    let kept = pods_and_claims(&env, "db", 3).await?;

    env.apply("db", spec("1Gi", false, false)).await?;
    let policy = |s: &StatefulSet| {
        s.spec
            .as_ref()
            .and_then(|s| s.pod_management_policy.clone())
    };
    let second = recreated_keeping(
        &env,
        "db",
        &first,
        3,
        &kept,
        "podManagementPolicy dropped",
        |s| policy(s).as_deref() == Some("OrderedReady"),
    )
    .await?;

    env.apply("db", spec("2Gi", false, true)).await?;
    let second = uid(&second)?;
    recreated_keeping(
        &env,
        "db",
        &second,
        3,
        &kept,
        "2Gi claims and an autoscaler",
        |s| {
            s.annotations()
                .contains_key(labels::REPLICAS_FROM_AUTOSCALER)
        },
    )
    .await?;
    let set = sets.get("db").await?;
    ensure!(
        owns_replicas(&set.metadata, "exposure-operator-handover"),
        "replicas are not handed over: {:?}",
        set.metadata.managed_fields
    );
    env.no_writes_at_rest().await?;
    // The operator's next apply no longer sets replicas: they stay as they are.
    let mut changed = spec("2Gi", false, true);
    changed["image"] = json!("nginx:1.27");
    env.apply("db", changed).await?;
    let set = wait_for(&sets, "db", "the new image", TIMEOUT, |s| {
        format!("{:?}", s.spec.as_ref().map(|s| &s.template)).contains("nginx:1.27")
    })
    .await?;
    let replicas = set.spec.as_ref().and_then(|s| s.replicas);
    ensure!(
        replicas == Some(3),
        "after the image change: {replicas:?} replicas"
    );
    ensure!(
        !owns_replicas(&set.metadata, labels::MANAGER),
        "the operator still owns replicas: {:?}",
        set.metadata.managed_fields
    );
    env.finish().await
}

// ---- 4. DaemonSet -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_set_runs_one_pod_on_each_simulated_node() -> Result<()> {
    let env = Env::start("wl-ds", RESYNC).await?;
    // The kwok nodes of e2e/kwok/nodes.yaml (annotation kwok.x-k8s.io/node: fake).
    let nodes: BTreeSet<String> = Api::<Node>::all(env.cluster.client())
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|n| {
            n.annotations()
                .get("kwok.x-k8s.io/node")
                .map(String::as_str)
                == Some("fake")
        })
        .map(|n| n.name_any())
        .collect();
    ensure!(nodes.len() == 2, "simulated nodes: {nodes:?}");
    let count = nodes.len() as i32;

    env.apply("agent", app_with(json!({ "workload": "DaemonSet" })))
        .await?;
    let e = env
        .ready_and("agent", "a DaemonSet pod on every node", |e| {
            workload_is(e, "DaemonSet") && ready_replicas(e) == Some(count)
        })
        .await?;
    let s = status(&e);
    ensure!(
        (s.replicas, s.ready_replicas, s.available_replicas)
            == (Some(count), Some(count), Some(count)),
        "{s:?}"
    );
    let ds = env.api::<DaemonSet>().get("agent").await?;
    let ds_status = ds.status.clone().context("DaemonSet status")?;
    ensure!(
        ds_status.desired_number_scheduled == count && ds_status.number_ready == count,
        "{ds_status:?}"
    );
    ensure!(controller_exposure_uid(&ds.metadata) == e.uid());
    let pods = live_pods(&env, "agent").await?;
    let on: Vec<String> = pods
        .iter()
        .filter_map(|p| p.spec.as_ref()?.node_name.clone())
        .collect();
    ensure!(
        on.len() == nodes.len() && on.iter().cloned().collect::<BTreeSet<_>>() == nodes,
        "pods on {on:?}, nodes {nodes:?}"
    );
    ensure!(env.api::<Deployment>().get_opt("agent").await?.is_none());
    env.no_writes_at_rest().await?;
    env.finish().await
}

// ---- 5. HorizontalPodAutoscaler ---------------------------------------------------------------

/// Whether the field manager `manager` owns `spec.replicas` of the object.
fn owns_replicas(meta: &kube::api::ObjectMeta, manager: &str) -> bool {
    meta.managed_fields.iter().flatten().any(|m| {
        m.manager.as_deref() == Some(manager)
            && m.fields_v1
                .as_ref()
                .and_then(|f| f.0.pointer("/f:spec/f:replicas"))
                .is_some()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoscaler_takes_over_replicas_without_a_dip_and_costs_no_writes_at_rest() -> Result<()> {
    let env = Env::start("wl-hpa", RESYNC).await?;
    env.apply("web", app_with(json!({ "replicas": 3 }))).await?;
    env.ready_and("web", "3 ready replicas", |e| ready_replicas(e) == Some(3))
        .await?;

    // Every spec.replicas the Deployment has from now on (a watch sees each change).
    let deployments: Api<Deployment> = env.api();
    let seen: Arc<Mutex<Vec<Option<i32>>>> = Arc::default();
    let record = seen.clone();
    let watch = tokio::spawn(
        watcher(
            deployments.clone(),
            watcher::Config::default().fields("metadata.name=web"),
        )
        .applied_objects()
        .for_each(move |d| {
            if let (Ok(d), Ok(mut seen)) = (d, record.lock()) {
                seen.push(d.spec.and_then(|s| s.replicas));
            }
            futures::future::ready(())
        }),
    );
    eventually(
        "the watch's first event",
        Duration::from_secs(30),
        || async {
            Ok(seen
                .lock()
                .map(|s| !s.is_empty())
                .unwrap_or(false)
                .then_some(()))
        },
    )
    .await?;

    env.apply(
        "web",
        app_with(json!({ "autoscaling": { "minReplicas": 2, "maxReplicas": 5 } })),
    )
    .await?;
    let hpas: Api<HorizontalPodAutoscaler> = env.api();
    let hpa = wait_for(&hpas, "web", "the HorizontalPodAutoscaler", TIMEOUT, |_| {
        true
    })
    .await?;
    let hpa_spec = hpa.spec.clone().context("HPA spec")?;
    ensure!(
        hpa_spec.scale_target_ref.kind == "Deployment"
            && hpa_spec.scale_target_ref.name == "web"
            && hpa_spec.scale_target_ref.api_version.as_deref() == Some("apps/v1"),
        "{:?}",
        hpa_spec.scale_target_ref
    );
    ensure!(
        (hpa_spec.min_replicas, hpa_spec.max_replicas) == (Some(2), 5),
        "{hpa_spec:?}"
    );
    ensure!(controller_exposure_uid(&hpa.metadata).is_some());
    // The HPA controller has seen the Deployment (no metrics server here: it reports why it
    // cannot scale, and keeps the replicas, which are within 2-5).
    let e = env
        .ready_and("web", "the autoscaler reported 3 current replicas", |e| {
            status(e)
                .autoscaler
                .is_some_and(|a| a.current_replicas == Some(3))
        })
        .await?;
    let autoscaler = status(&e).autoscaler.context("status.autoscaler")?;
    eprintln!("status.autoscaler: {autoscaler:?}");
    ensure!(
        autoscaler
            .message
            .as_deref()
            .is_some_and(|m| m.starts_with("not scaling: ")),
        "no metrics API here, so the autoscaler cannot scale: {autoscaler:?}"
    );

    let d = deployments.get("web").await?;
    ensure!(
        d.annotations()
            .get(labels::REPLICAS_FROM_AUTOSCALER)
            .map(String::as_str)
            == Some("true"),
        "{:?}",
        d.annotations()
    );
    ensure!(
        !owns_replicas(&d.metadata, labels::MANAGER),
        "the operator's own apply still owns spec.replicas"
    );

    // Settled: no writes across several 2 s resyncs.
    env.no_writes_at_rest().await?;

    watch.abort();
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    eprintln!("Deployment spec.replicas seen: {seen:?}");
    ensure!(
        seen.iter().all(|r| r.is_some_and(|r| r >= 2)),
        "the Deployment's replicas dipped below the autoscaler's minimum: {seen:?}"
    );
    ensure!(
        deployments.get("web").await?.spec.and_then(|s| s.replicas) == Some(3),
        "the replicas the autoscaler kept"
    );

    // And back: fixed replicas again, the autoscaler pruned, the operator owns replicas.
    env.apply("web", app_with(json!({ "replicas": 2 }))).await?;
    wait_for_deletion(&hpas, "web", TIMEOUT)
        .await
        .context("the HorizontalPodAutoscaler is pruned")?;
    let e = env
        .ready_and("web", "2 ready replicas, no autoscaler", |e| {
            ready_replicas(e) == Some(2) && status(e).replicas == Some(2)
        })
        .await?;
    ensure!(status(&e).autoscaler.is_none(), "{:?}", status(&e));
    let d = deployments.get("web").await?;
    ensure!(d.spec.as_ref().and_then(|s| s.replicas) == Some(2));
    ensure!(
        !d.annotations()
            .contains_key(labels::REPLICAS_FROM_AUTOSCALER),
        "{:?}",
        d.annotations()
    );
    ensure!(
        owns_replicas(&d.metadata, labels::MANAGER),
        "the operator's apply owns spec.replicas again"
    );
    env.finish().await
}

// ---- 6. PodDisruptionBudget -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disruption_budget_allows_one_eviction_of_two_ready_pods() -> Result<()> {
    let env = Env::start("wl-pdb", RESYNC).await?;
    env.apply(
        "web",
        app_with(json!({ "replicas": 2, "disruption": { "minAvailable": 1 } })),
    )
    .await?;
    let e = env
        .ready_and("web", "disruptionsAllowed 1", |e| {
            status(e)
                .disruption_budget
                .is_some_and(|b| b.disruptions_allowed == Some(1))
        })
        .await?;
    let budget = status(&e).disruption_budget.context("disruptionBudget")?;
    ensure!(
        (budget.current_healthy, budget.desired_healthy) == (Some(2), Some(1)),
        "{budget:?}"
    );
    let pdb = env.api::<PodDisruptionBudget>().get("web").await?;
    let spec = pdb.spec.clone().context("PDB spec")?;
    ensure!(spec.min_available == Some(IntOrString::Int(1)), "{spec:?}");
    ensure!(spec.max_unavailable.is_none(), "{spec:?}");
    ensure!(
        spec.selector
            .as_ref()
            .and_then(|s| s.match_labels.as_ref())
            .and_then(|l| l.get(labels::NAME))
            .map(String::as_str)
            == Some("web"),
        "{spec:?}"
    );
    ensure!(controller_exposure_uid(&pdb.metadata) == e.uid());
    let pdb_status = pdb.status.context("PDB status")?;
    ensure!(
        pdb_status.disruptions_allowed == 1 && pdb_status.expected_pods == 2,
        "{pdb_status:?}"
    );
    env.no_writes_at_rest().await?;
    env.finish().await
}

// ---- 7. Configuration ------------------------------------------------------------------------

/// The ReplicaSets of the Exposure `name` as (name, spec.replicas).
async fn replica_sets(env: &Env, name: &str) -> Result<BTreeMap<String, i32>> {
    Ok(env
        .api::<ReplicaSet>()
        .list(&ListParams::default().labels(&format!("{}={name}", labels::NAME)))
        .await?
        .items
        .into_iter()
        .map(|rs| {
            let replicas = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
            (rs.name_any(), replicas)
        })
        .collect())
}

async fn pod_names(env: &Env, name: &str) -> Result<BTreeSet<String>> {
    Ok(live_pods(env, name)
        .await?
        .iter()
        .map(|p| p.name_any())
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_map_data_change_rolls_the_pods_and_a_label_change_does_not() -> Result<()> {
    let env = Env::start("wl-config", RESYNC).await?;
    let config_maps: Api<ConfigMap> = env.api();
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": { "name": "app-config" },
        "data": { "greeting": "hello" },
    }))?;
    config_maps.create(&PostParams::default(), &cm).await?;
    env.apply(
        "web",
        app_with(json!({
            "replicas": 1,
            "config": [{ "name": "conf", "mountPath": "/etc/app", "configMap": "app-config" }],
        })),
    )
    .await?;
    env.ready_and("web", "1 ready replica", |e| ready_replicas(e) == Some(1))
        .await?;
    let deployments: Api<Deployment> = env.api();
    let before = deployments.get("web").await?;
    let first_hash = config_hash_of(&before).context("no config hash on the pod template")?;
    let old_sets = replica_sets(&env, "web").await?;
    ensure!(old_sets.len() == 1, "{old_sets:?}");
    let old_pods = pod_names(&env, "web").await?;

    // The data changes: the hash changes, a new ReplicaSet rolls out.
    config_maps
        .patch(
            "app-config",
            &PatchParams::default(),
            &Patch::Merge(json!({ "data": { "greeting": "bye" } })),
        )
        .await?;
    let rolled = wait_for(&deployments, "web", "a new config hash", TIMEOUT, |d| {
        config_hash_of(d).is_some_and(|h| h != first_hash)
    })
    .await
    .map_err(|e| anyhow!("{e:#}\n--- operator log:\n{}", env.op.logs()))?;
    let second_hash = config_hash_of(&rolled).context("config hash")?;
    env.ready_and("web", "rolled out", |e| ready_replicas(e) == Some(1))
        .await?;
    let new_pods = eventually("the old pod replaced by a new one", TIMEOUT, || async {
        let now = pod_names(&env, "web").await?;
        Ok((now.len() == 1 && now.is_disjoint(&old_pods)).then_some(now))
    })
    .await?;
    let sets = replica_sets(&env, "web").await?;
    let scaled: Vec<_> = sets.iter().filter(|(_, r)| **r > 0).collect();
    ensure!(
        sets.len() == 2 && scaled.len() == 1 && !old_sets.contains_key(scaled[0].0),
        "ReplicaSets before {old_sets:?}, after {sets:?}"
    );

    // Metadata only: the operator looks (a reconcile) but nothing rolls.
    let generation = deployments.get("web").await?.metadata.generation;
    let reconciles = metric_sum(&env.op.metrics().await?, "exposure_reconciles_total", None);
    config_maps
        .patch(
            "app-config",
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "labels": { "touched": "yes" } } })),
        )
        .await?;
    eventually(
        "a reconcile after the label change",
        Duration::from_secs(30),
        || async {
            let now = metric_sum(&env.op.metrics().await?, "exposure_reconciles_total", None);
            Ok((now > reconciles).then_some(()))
        },
    )
    .await?;
    stays(Duration::from_secs(5), async || {
        let d = deployments.get("web").await?;
        Ok((config_hash_of(&d).as_deref() != Some(second_hash.as_str())
            || d.metadata.generation != generation)
            .then(|| format!("a label change rolled the pods: {:?}", d.spec)))
    })
    .await?;
    ensure!(replica_sets(&env, "web").await? == sets);
    ensure!(pod_names(&env, "web").await? == new_pods);
    env.no_writes_at_rest().await?;
    env.finish().await
}

/// Secrets are read only with `--watch-secrets=true`: without it a mounted Secret is not part
/// of the hash (no annotation, nothing rolls); with it, a change of its data rolls the pods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_data_change_rolls_the_pods_only_with_watch_secrets() -> Result<()> {
    let mut env = Env::start("wl-secret", &[]).await?;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = env.api();
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "metadata": { "name": "creds" },
        "stringData": { "password": "one" },
    }))?;
    secrets.create(&PostParams::default(), &secret).await?;
    env.apply(
        "web",
        app_with(json!({
            "replicas": 1,
            "config": [{ "name": "creds", "mountPath": "/etc/creds", "secret": "creds" }],
        })),
    )
    .await?;
    env.ready_and("web", "1 ready replica", |e| ready_replicas(e) == Some(1))
        .await?;
    let deployments: Api<Deployment> = env.api();
    ensure!(
        config_hash_of(&deployments.get("web").await?).is_none(),
        "a Secret the operator may not read is not hashed"
    );

    // The same namespace under an operator that may read Secrets.
    let old = std::mem::replace(
        &mut env.op,
        Operator::start(&env.cluster, &[env.ns.name()], &["--watch-secrets=true"]).await?,
    );
    old.stop().await?;
    let first = wait_for(&deployments, "web", "a config hash", TIMEOUT, |d| {
        config_hash_of(d).is_some()
    })
    .await
    .map_err(|e| anyhow!("{e:#}\n--- operator log:\n{}", env.op.logs()))?;
    let first = config_hash_of(&first).context("config hash")?;
    env.ready_and("web", "rolled out", |e| ready_replicas(e) == Some(1))
        .await?;
    let old_pods = pod_names(&env, "web").await?;
    secrets
        .patch(
            "creds",
            &PatchParams::default(),
            &Patch::Merge(json!({ "stringData": { "password": "two" } })),
        )
        .await?;
    wait_for(&deployments, "web", "a new config hash", TIMEOUT, |d| {
        config_hash_of(d).is_some_and(|h| h != first)
    })
    .await
    .map_err(|e| anyhow!("{e:#}\n--- operator log:\n{}", env.op.logs()))?;
    env.ready_and("web", "rolled out", |e| ready_replicas(e) == Some(1))
        .await?;
    eventually("new pods", TIMEOUT, || async {
        let now = pod_names(&env, "web").await?;
        Ok((now.len() == 1 && now.is_disjoint(&old_pods)).then_some(()))
    })
    .await?;
    env.finish().await
}

/// A ConfigMap a pod mounts but that does not exist. A real kubelet would leave such a pod in
/// ContainerCreating (FailedMount); kwok makes every pod Running and Ready whatever it mounts,
/// so with a plain image the Exposure becomes Ready here. What is deterministic and asserted:
/// the hash covers the absent ConfigMap (creating it rolls the pods, which a kubelet would then
/// start), and, with pods that do not become ready (the `:unready` image convention, standing
/// in for the kubelet's wait), the status names the missing ConfigMap (ConfigMissing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_config_map_is_named_and_creating_it_rolls_the_pods() -> Result<()> {
    let env = Env::start("wl-nocfg", &[]).await?;
    let mount =
        |name: &str| json!([{ "name": "conf", "mountPath": "/etc/app", "configMap": name }]);

    // Pods that never become ready: Available False ConfigMissing, naming it.
    let mut spec = app("nginx:unready");
    spec["config"] = mount("nope");
    env.apply("stuck", spec).await?;
    let e = wait_exposure(
        &env.op,
        &env.exposures,
        "stuck",
        "Available False ConfigMissing",
        |e| {
            condition_of(e, condition::AVAILABLE)
                .is_some_and(|(s, r, _)| s == "False" && r == "ConfigMissing")
        },
    )
    .await?;
    let (_, _, message) = condition_of(&e, condition::AVAILABLE).context("Available")?;
    ensure!(
        message.contains("ConfigMap nope not found (spec.config)"),
        "{message}"
    );
    ensure!(
        condition_of(&e, condition::READY)
            .is_some_and(|(s, r, _)| s == "False" && r == "ConfigMissing"),
        "{:?}",
        condition_of(&e, condition::READY)
    );
    ensure!(is_true(&e, condition::RECONCILING), "still converging");

    // Pods kwok makes ready anyway: the hash stands for "absent", and creating the ConfigMap
    // changes it.
    env.apply(
        "web",
        app_with(json!({ "replicas": 1, "config": mount("later") })),
    )
    .await?;
    env.ready_and("web", "1 ready replica (kwok ignores volumes)", |e| {
        ready_replicas(e) == Some(1)
    })
    .await?;
    let deployments: Api<Deployment> = env.api();
    let absent_hash =
        config_hash_of(&deployments.get("web").await?).context("no hash for an absent source")?;
    let old_pods = pod_names(&env, "web").await?;
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": { "name": "later" },
        "data": { "k": "v" },
    }))?;
    env.api::<ConfigMap>()
        .create(&PostParams::default(), &cm)
        .await?;
    wait_for(&deployments, "web", "a new config hash", TIMEOUT, |d| {
        config_hash_of(d).is_some_and(|h| h != absent_hash)
    })
    .await
    .map_err(|e| anyhow!("{e:#}\n--- operator log:\n{}", env.op.logs()))?;
    env.ready_and("web", "rolled out", |e| ready_replicas(e) == Some(1))
        .await?;
    eventually("new pods", TIMEOUT, || async {
        let now = pod_names(&env, "web").await?;
        Ok((now.len() == 1 && now.is_disjoint(&old_pods)).then_some(()))
    })
    .await?;
    env.finish().await
}

// ---- 8. LimitRange ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_range_defaults_reach_the_pods() -> Result<()> {
    let env = Env::start("wl-limits", RESYNC).await?;
    env.apply(
        "web",
        app_with(json!({
            "replicas": 1,
            "quota": { "limits": {
                "default": { "cpu": "500m" },
                "defaultRequest": { "cpu": "100m" },
                "max": { "cpu": "2" },
            } },
        })),
    )
    .await?;
    let e = env
        .ready_and("web", "1 ready replica", |e| ready_replicas(e) == Some(1))
        .await?;
    let range = env.api::<LimitRange>().get("web").await?;
    ensure!(controller_exposure_uid(&range.metadata) == e.uid());
    let items = range.spec.context("LimitRange spec")?.limits;
    ensure!(items.len() == 1, "{items:?}");
    let item = &items[0];
    let cpu = |m: &Option<
        BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| { m.as_ref().and_then(|m| m.get("cpu")).map(|q| q.0.clone()) };
    ensure!(item.type_ == "Container", "{item:?}");
    ensure!(
        (
            cpu(&item.default),
            cpu(&item.default_request),
            cpu(&item.max),
            cpu(&item.min)
        ) == (
            Some("500m".into()),
            Some("100m".into()),
            Some("2".into()),
            None
        ),
        "{item:?}"
    );
    // Only limits: no ResourceQuota.
    ensure!(env.api::<ResourceQuota>().get_opt("web").await?.is_none());

    // The LimitRange is applied before the workload, so the API server's LimitRanger gave the
    // first pods the defaults already; a pod created now gets them too.
    let check = |pod: &Pod| -> Result<()> {
        let container = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .context("container")?;
        let resources = container.resources.clone().unwrap_or_default();
        ensure!(
            (cpu(&resources.requests), cpu(&resources.limits))
                == (Some("100m".into()), Some("500m".into())),
            "pod {} resources {resources:?}",
            pod.name_any()
        );
        Ok(())
    };
    let pods = live_pods(&env, "web").await?;
    ensure!(pods.len() == 1);
    check(&pods[0])?;
    let first = pods[0].name_any();
    env.api::<Pod>().delete(&first, &Default::default()).await?;
    let replacement = eventually("a replacement pod", TIMEOUT, || async {
        let pods = live_pods(&env, "web").await?;
        Ok(pods.into_iter().find(|p| p.name_any() != first))
    })
    .await?;
    check(&replacement)?;
    env.no_writes_at_rest().await?;
    env.finish().await
}

// ---- 9. ResourceQuota -------------------------------------------------------------------------

/// Waits until Available is False with QuotaExceeded and checks the words of the status.
async fn quota_exceeded(env: &Env, name: &str) -> Result<Exposure> {
    let e = wait_exposure(
        &env.op,
        &env.exposures,
        name,
        "Available False QuotaExceeded, 3/4 pods",
        |e| {
            condition_of(e, condition::AVAILABLE).is_some_and(|(s, r, m)| {
                s == "False" && r == "QuotaExceeded" && m.starts_with("3/4 pods")
            })
        },
    )
    .await?;
    let (_, _, message) = condition_of(&e, condition::AVAILABLE).context("Available")?;
    ensure!(
        message
            == format!(
                "3/4 pods: exceeded quota {name}: requested pods=1, used pods=3, limited pods=3"
            ),
        "{message}"
    );
    let ready = condition_of(&e, condition::READY).context("Ready")?;
    ensure!(
        ready.0 == "False" && ready.1 == "QuotaExceeded" && ready.2.contains("exceeded quota"),
        "{ready:?}"
    );
    ensure!(is_true(&e, condition::RECONCILING), "Kubernetes retries");
    ensure!(
        !is_true(&e, condition::STALLED),
        "not stalled: freeing quota lets it finish"
    );
    Ok(e)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_blocked_deployment_pods_are_reported_as_quota_exceeded() -> Result<()> {
    let env = Env::start("wl-quota", &[]).await?;
    env.apply(
        "web",
        app_with(json!({ "replicas": 4, "quota": { "hard": { "pods": "3" } } })),
    )
    .await?;
    let e = quota_exceeded(&env, "web").await?;
    ensure!(status(&e).replicas == Some(3), "{:?}", status(&e));
    env.finish().await
}

/// A StatefulSet says so in FailedCreate events (no condition): OrderedReady creates db-0, 1, 2
/// one after the other, and db-3 is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_blocked_stateful_set_pods_are_reported_as_quota_exceeded() -> Result<()> {
    let env = Env::start("wl-quota-sts", &[]).await?;
    env.apply(
        "db",
        app_with(json!({
            "workload": "StatefulSet",
            "replicas": 4,
            "quota": { "hard": { "pods": "3" } },
        })),
    )
    .await?;
    let e = quota_exceeded(&env, "db").await?;
    ensure!(status(&e).replicas == Some(3), "{:?}", status(&e));
    ensure!(env.api::<Pod>().get_opt("db-3").await?.is_none());
    env.finish().await
}

// ---- 10. Pod Security -------------------------------------------------------------------------

fn api_warnings(metrics: &str) -> f64 {
    metric_sum(metrics, "exposure_api_warnings_total", None)
}

fn warning_lines(op: &Operator) -> String {
    op.logs()
        .lines()
        .filter(|l| l.contains("API server warning"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_security_restricted_admits_the_compliant_spec_and_names_the_refusal() -> Result<()> {
    let env = Env::start("wl-psa", &[]).await?;
    Api::<Namespace>::all(env.cluster.client())
        .patch(
            env.ns.name(),
            &PatchParams::default(),
            &Patch::Merge(json!({ "metadata": { "labels": {
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
            } } })),
        )
        .await?;

    env.apply(
        "strict",
        app_with(json!({
            "replicas": 1,
            "podSecurityContext": {
                "runAsNonRoot": true,
                "runAsUser": 10001,
                "seccompProfile": { "type": "RuntimeDefault" },
            },
            "securityContext": {
                "allowPrivilegeEscalation": false,
                "capabilities": { "drop": ["ALL"] },
                "readOnlyRootFilesystem": true,
            },
        })),
    )
    .await?;
    env.ready_and("strict", "1 ready replica", |e| {
        ready_replicas(e) == Some(1)
    })
    .await?;
    let warnings = api_warnings(&env.op.metrics().await?);
    ensure!(
        warnings == 0.0,
        "{warnings} API warnings for the compliant spec:\n{}",
        warning_lines(&env.op)
    );

    env.apply("loose", app_with(json!({ "replicas": 1 })))
        .await?;
    let e = wait_exposure(
        &env.op,
        &env.exposures,
        "loose",
        "Available False ReplicaFailure (PodSecurity)",
        |e| {
            condition_of(e, condition::AVAILABLE).is_some_and(|(s, r, m)| {
                s == "False" && r == "ReplicaFailure" && m.contains("PodSecurity")
            })
        },
    )
    .await?;
    let (_, _, message) = condition_of(&e, condition::AVAILABLE).context("Available")?;
    eprintln!("loose: Available False ReplicaFailure: {message}");
    ensure!(
        message.contains("violates PodSecurity \"restricted:latest\""),
        "{message}"
    );
    ensure!(
        condition_of(&e, condition::READY)
            .is_some_and(|(s, r, _)| s == "False" && r == "ReplicaFailure"),
        "{:?}",
        condition_of(&e, condition::READY)
    );
    // Creating the Deployment drew the API server's PodSecurity warning (its template would
    // violate the namespace's level), which the operator counted.
    let warnings = api_warnings(&env.op.metrics().await?);
    let lines = warning_lines(&env.op);
    eprintln!("{warnings} API warnings after the non-compliant spec:\n{lines}");
    ensure!(
        warnings >= 1.0 && lines.contains("PodSecurity"),
        "{warnings} warnings:\n{lines}"
    );
    ensure!(
        env.api::<Deployment>()
            .get("loose")
            .await?
            .status
            .and_then(|s| s.replicas)
            .unwrap_or(0)
            == 0,
        "no pod of the non-compliant spec was admitted"
    );
    env.finish().await
}

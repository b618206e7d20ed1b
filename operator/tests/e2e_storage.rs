//! e2e: the storage lifecycle against the local control plane. PVCs never lose data (released
//! and re-adopted, never deleted unless `reclaim: Delete`); GlusterFS StorageClasses go through
//! the real in-tree provisioner of kube-controller-manager and the heketi stand-in on loopback,
//! and are deleted once nothing uses them. Each test has its own namespace and operator;
//! StorageClasses and PVs are cluster-scoped, so every class name is unique and cleaned up.

mod support;

use anyhow::{ensure, Context as _, Result};
use exposure_crd::{condition, labels, Exposure};
use exposure_e2e::heketi::HeketiStandIn;
use exposure_e2e::{
    cluster, eventually, random_suffix, wait_for, wait_for_deletion, Cluster, DeleteOnDrop,
    TestNamespace,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, ResourceExt};
use std::sync::Mutex;
use support::*;

/// Everything one test runs against.
struct Env {
    cluster: Cluster,
    ns: TestNamespace,
    op: Operator,
    exposures: Api<Exposure>,
    pvcs: Api<PersistentVolumeClaim>,
    classes: Api<StorageClass>,
    pvs: Api<PersistentVolume>,
    /// StorageClasses deleted when the test ends, also when it fails; after the operator has
    /// stopped (fields drop in order), so it cannot create them again.
    guards: Mutex<Vec<DeleteOnDrop>>,
}

impl Env {
    /// A namespace and an operator for it with the test defaults (loopback heketi allowed).
    async fn start(prefix: &str, extra: &[&str]) -> Result<Env> {
        Self::with(prefix, extra, false).await
    }

    /// Like [`Env::start`], but the operator runs without the test allowlist (its own
    /// default resturl policy).
    async fn without_defaults(prefix: &str) -> Result<Env> {
        Self::with(prefix, &[], true).await
    }

    async fn with(prefix: &str, extra: &[&str], bare: bool) -> Result<Env> {
        let cluster = cluster().await?;
        install_crd(&cluster).await?;
        let ns = TestNamespace::new(&cluster, prefix).await?;
        let op = if bare {
            Operator::start_without_defaults(&cluster, &[ns.name()], extra).await?
        } else {
            Operator::start(&cluster, &[ns.name()], extra).await?
        };
        let client = cluster.client();
        Ok(Env {
            exposures: ns.api(),
            pvcs: ns.api(),
            classes: Api::all(client.clone()),
            pvs: Api::all(client),
            guards: Mutex::default(),
            cluster,
            ns,
            op,
        })
    }

    async fn apply(&self, yaml: &str) -> Result<Exposure> {
        apply_exposure(&self.exposures, yaml).await
    }

    async fn ready(&self, name: &str) -> Result<Exposure> {
        wait_for(&self.exposures, name, "Ready", TIMEOUT, is_ready)
            .await
            .map_err(|e| e.context(self.op.logs()))
    }

    async fn stalled(&self, name: &str, reason: &str) -> Result<String> {
        let e = wait_for(
            &self.exposures,
            name,
            &format!("Stalled {reason}"),
            TIMEOUT,
            |e| is_stalled_with(e, reason),
        )
        .await?;
        Ok(condition(&e, condition::STALLED)
            .map(|c| c.message.clone())
            .unwrap_or_default())
    }

    async fn bound(&self, pvc: &str) -> Result<PersistentVolumeClaim> {
        wait_for(&self.pvcs, pvc, "PVC Bound", TIMEOUT, |p| {
            p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
        })
        .await
    }

    /// The newest event of `reason` about the Exposure `name`.
    async fn event(&self, name: &str, reason: &str) -> Result<Event> {
        let events: Api<Event> = self.ns.api();
        let fields =
            format!("involvedObject.kind=Exposure,involvedObject.name={name},reason={reason}");
        eventually(
            &format!("event {reason} on Exposure {name}"),
            TIMEOUT,
            || {
                let (events, fields) = (events.clone(), fields.clone());
                async move {
                    let list = events.list(&ListParams::default().fields(&fields)).await?;
                    Ok(list.items.into_iter().last())
                }
            },
        )
        .await
    }

    /// Deletes the Exposure and waits until it is gone (its finalizer removed).
    async fn delete_exposure(&self, name: &str) -> Result<()> {
        self.exposures
            .delete(name, &DeleteParams::background())
            .await?;
        wait_for_deletion(&self.exposures, name, TIMEOUT)
            .await
            .map_err(|e| e.context(self.op.logs()))
    }

    /// Deletes PVCs and waits until their provisioned PVs are gone too (the glusterfs deleter
    /// needs the StorageClass and the stand-in while it deletes the volume).
    async fn delete_volumes(&self, pvcs: &[&str]) -> Result<()> {
        for name in pvcs {
            let Some(pvc) = self.pvcs.get_opt(name).await? else {
                continue;
            };
            let pv = pvc.spec.and_then(|s| s.volume_name);
            self.pvcs.delete(name, &DeleteParams::background()).await?;
            wait_for_deletion(&self.pvcs, name, TIMEOUT).await?;
            if let Some(pv) = pv {
                wait_for_deletion(&self.pvs, &pv, TIMEOUT).await?;
            }
        }
        Ok(())
    }

    /// Namespace first (the operator removes finalizers while it goes), then the operator.
    async fn finish(self) -> Result<()> {
        let Env { ns, op, guards, .. } = self;
        ns.cleanup().await?;
        op.stop().await?;
        drop(guards);
        Ok(())
    }

    /// Deletes the StorageClass `class` when the test ends.
    fn guard_class(&self, class: &str) {
        let guard = self.cluster.delete_on_drop("storageclass", class);
        if let Ok(mut guards) = self.guards.lock() {
            guards.push(guard);
        }
    }

    /// Creates a StorageClass of the simulated provisioner (node-sim provisions a PV for each claim at once).
    async fn simulated_class(&self, class: &str) -> Result<()> {
        self.simulated_class_expanding(class, true).await
    }

    /// As [`Env::simulated_class`], with `allowVolumeExpansion: expandable`.
    async fn simulated_class_expanding(&self, class: &str, expandable: bool) -> Result<()> {
        self.guard_class(class);
        let sc: StorageClass = serde_json::from_value(serde_json::json!({
            "metadata": { "name": class },
            "provisioner": "exposure.dev/simulated",
            "reclaimPolicy": "Delete",
            "allowVolumeExpansion": expandable,
        }))?;
        self.classes.create(&PostParams::default(), &sc).await?;
        Ok(())
    }

    /// No StorageClass `class`, no PVC and no Deployment of `name` exist.
    async fn nothing_created(&self, name: &str, class: &str) -> Result<()> {
        ensure!(
            self.classes.get_opt(class).await?.is_none(),
            "StorageClass {class} was created"
        );
        let ours = ListParams::default().labels(&format!("{}={name}", labels::NAME));
        let pvcs = self.pvcs.list(&ours).await?;
        ensure!(
            pvcs.items.is_empty(),
            "PVCs were created: {:?}",
            names(&pvcs.items)
        );
        let deployments = self.ns.api::<Deployment>().get_opt(name).await?;
        ensure!(deployments.is_none(), "Deployment {name} was created");
        Ok(())
    }
}

fn names<K: ResourceExt>(items: &[K]) -> Vec<String> {
    items.iter().map(|o| o.name_any()).collect()
}

fn unique_class(prefix: &str) -> String {
    format!("e2e-{prefix}-{}", random_suffix())
}

/// An Exposure with one glusterfs volume `data` (1Gi) of class `class` on heketi at `url`.
/// `extra` is YAML added to the volume (indented 6 spaces, e.g. `reclaim: Delete`), and
/// `gluster` to its `glusterfs` block (indented 8 spaces).
fn gluster_exposure(name: &str, class: &str, url: &str, volume: &str, gluster: &str) -> String {
    // Only loopback and the unspecified address may ever be applied to the local cluster.
    assert!(
        url.starts_with("http://127.0.0.1:") || url.starts_with("http://0.0.0.0:"),
        "refusing to apply resturl {url}"
    );
    format!(
        r#"
metadata: {{name: {name}}}
spec:
  image: busybox:1.36
  ports: [{{containerPort: 8080}}]
  storage:
    - name: data
      mountPath: /data
      size: 1Gi
{volume}
      glusterfs:
        className: {class}
        resturl: "{url}"
        restauthenabled: false
        reclaimPolicy: Delete
{gluster}
"#
    )
}

/// An Exposure with the given volumes of the existing class `class` (name, size, reclaim).
fn class_exposure(name: &str, class: &str, replicas: u32, volumes: &[(&str, &str)]) -> String {
    let volumes: String = volumes
        .iter()
        .map(|(volume, size)| {
            format!(
                "    - {{name: {volume}, mountPath: /{volume}, size: {size}, storageClassName: {class}, accessModes: [ReadWriteOnce]}}\n"
            )
        })
        .collect();
    format!(
        r#"
metadata: {{name: {name}}}
spec:
  image: busybox:1.36
  replicas: {replicas}
  ports: [{{containerPort: 8080}}]
  storage:
{volumes}"#
    )
}

fn label<'a>(o: &'a impl ResourceExt, key: &str) -> Option<&'a str> {
    o.labels().get(key).map(String::as_str)
}

fn requested(pvc: &PersistentVolumeClaim) -> Option<String> {
    pvc.spec
        .as_ref()?
        .resources
        .as_ref()?
        .requests
        .as_ref()?
        .get("storage")
        .map(|q| q.0.clone())
}

impl Env {
    /// The Exposure of a failing volume has seen its PVC Pending (StorageBound False).
    async fn ready_pending(&self, name: &str) -> Result<Exposure> {
        wait_for(&self.exposures, name, "StorageBound False", TIMEOUT, |e| {
            condition(e, condition::STORAGE_BOUND).is_some_and(|c| c.status == "False")
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_class_volume_binds_and_grows() -> Result<()> {
    let env = Env::start("st-grow", &[]).await?;
    let class = unique_class("sim-grow");
    env.simulated_class(&class).await?;
    env.apply(&class_exposure("web", &class, 1, &[("data", "1Gi")]))
        .await?;
    let ready = env.ready("web").await?;
    ensure!(is_true(&ready, condition::STORAGE_BOUND));
    ensure!(
        !ready
            .finalizers()
            .iter()
            .any(|f| f == labels::CLEANUP_FINALIZER),
        "no StorageClass created, so no finalizer"
    );
    let pvc = env.bound("web-data").await?;
    ensure!(
        pvc.spec
            .as_ref()
            .and_then(|s| s.storage_class_name.as_deref())
            == Some(class.as_str())
    );

    env.apply(&class_exposure("web", &class, 1, &[("data", "2Gi")]))
        .await?;
    let grown = wait_for(&env.pvcs, "web-data", "PVC request 2Gi", TIMEOUT, |p| {
        requested(p).as_deref() == Some("2Gi")
    })
    .await?;
    ensure!(grown.uid() == pvc.uid());
    env.ready("web").await?;
    env.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shrinking_a_volume_is_stalled() -> Result<()> {
    let env = Env::start("st-shrink", &[]).await?;
    let class = unique_class("sim-shrink");
    env.simulated_class(&class).await?;
    env.apply(&class_exposure("web", &class, 1, &[("data", "2Gi")]))
        .await?;
    env.ready("web").await?;

    env.apply(&class_exposure("web", &class, 1, &[("data", "1Gi")]))
        .await?;
    let message = env.stalled("web", "InvalidSpec").await?;
    ensure!(message.contains("current size 2Gi"), "{message}");
    ensure!(requested(&env.pvcs.get("web-data").await?).as_deref() == Some("2Gi"));
    env.finish().await
}

/// Found by the bad-input flood: growing a claim whose class does not allow expansion is
/// refused by the API server's admission (403), which the operator retried forever without a
/// word in its status. It is now Stalled, naming the volume, with the API server's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn growing_a_volume_the_class_cannot_expand_is_stalled() -> Result<()> {
    let env = Env::start("st-noexpand", &[]).await?;
    let class = unique_class("sim-noexpand");
    env.simulated_class_expanding(&class, false).await?;
    env.apply(&class_exposure("web", &class, 1, &[("data", "1Gi")]))
        .await?;
    env.ready("web").await?;

    env.apply(&class_exposure("web", &class, 1, &[("data", "2Gi")]))
        .await?;
    let message = env.stalled("web", "InvalidSpec").await?;
    ensure!(
        message.contains("spec.storage[0]") && message.contains("can be resized"),
        "{message}"
    );
    ensure!(requested(&env.pvcs.get("web-data").await?).as_deref() == Some("1Gi"));
    env.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glusterfs_on_a_newer_cluster_is_unsupported() -> Result<()> {
    let env = Env::start("st-newer", &[]).await?;
    let heketi = HeketiStandIn::start().await?;
    let class = unique_class("gluster-127");
    env.guard_class(&class);
    env.apply(&gluster_exposure("web", &class, heketi.url(), "", ""))
        .await?;
    let message = env.stalled("web", "UnsupportedByCluster").await?;
    ensure!(message.contains("CSI"), "{message}");
    env.nothing_created("web", &class).await?;
    env.finish().await
}

/// Applies a glusterfs Exposure the operator's default policy must refuse.
async fn refused(env: &Env, url: &str, gluster: &str, expected: &str) -> Result<()> {
    let class = unique_class("refused");
    env.guard_class(&class);
    env.apply(&gluster_exposure("web", &class, url, "", gluster))
        .await?;
    let message = env.stalled("web", "StorageClassNotAllowed").await?;
    ensure!(message.contains(expected), "{message}");
    env.nothing_created("web", &class).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_removed_from_the_spec_is_listed_as_retained() -> Result<()> {
    let env = Env::start("st-retained", &[]).await?;
    let class = unique_class("sim-retained");
    env.simulated_class(&class).await?;
    env.apply(&class_exposure(
        "web",
        &class,
        1,
        &[("data", "1Gi"), ("logs", "1Gi")],
    ))
    .await?;
    env.ready("web").await?;
    let logs = env.bound("web-logs").await?;

    env.apply(&class_exposure("web", &class, 1, &[("data", "1Gi")]))
        .await?;
    let listed = wait_for(
        &env.exposures,
        "web",
        "status.retainedVolumes lists web-logs",
        TIMEOUT,
        |e| {
            e.status
                .as_ref()
                .is_some_and(|s| s.retained_volumes.iter().any(|v| v.name == "web-logs"))
        },
    )
    .await
    .map_err(|e| e.context(env.op.logs()))?;
    let status = listed.status.unwrap_or_default();
    ensure!(
        status.retained_volumes.len() == 1,
        "{:?}",
        status.retained_volumes
    );
    let v = &status.retained_volumes[0];
    ensure!(
        v.volume == "logs" && v.size.as_deref() == Some("1Gi"),
        "{v:?}"
    );
    let released = env.pvcs.get("web-logs").await?;
    ensure!(released.uid() == logs.uid());
    ensure!(label(&released, labels::RETAINED_FROM) == Some("web"));
    ensure!(label(&released, labels::NAME).is_none());
    let event = env.event("web", "Retained").await?;
    ensure!(event.message.unwrap_or_default().contains("web-logs"));
    env.ready("web").await?;

    // Deleting the retained PVC takes it off the list (well before any resync).
    env.delete_volumes(&["web-logs"]).await?;
    wait_for(
        &env.exposures,
        "web",
        "status.retainedVolumes empty",
        TIMEOUT,
        |e| {
            e.status
                .as_ref()
                .is_some_and(|s| s.retained_volumes.is_empty())
        },
    )
    .await?;
    env.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rwo_volume_with_two_replicas_warns() -> Result<()> {
    let env = Env::start("st-rwo", &[]).await?;
    let class = unique_class("sim-rwo");
    env.simulated_class(&class).await?;
    env.apply(&class_exposure("web", &class, 2, &[("data", "1Gi")]))
        .await?;
    let event = env.event("web", "SharedReadWriteOnce").await?;
    ensure!(event.type_.as_deref() == Some("Warning"));
    let message = event.message.unwrap_or_default();
    ensure!(
        message.contains("data") && message.contains("Recreate"),
        "{message}"
    );
    env.finish().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pvc_of_an_exposure_deleted_without_finalizer_is_released_and_readopted() -> Result<()> {
    let env = Env::start("st-sweep", &[]).await?;
    let class = unique_class("sim-sweep");
    env.simulated_class(&class).await?;
    let doc = class_exposure("web", &class, 1, &[("data", "1Gi")]);
    env.apply(&doc).await?;
    let ready = env.ready("web").await?;
    ensure!(ready.finalizers().is_empty(), "{:?}", ready.finalizers());
    let pvc = env.bound("web-data").await?;

    env.delete_exposure("web").await?;
    let released = wait_for(
        &env.pvcs,
        "web-data",
        "PVC released by the sweep",
        TIMEOUT,
        |p| label(p, labels::RETAINED_FROM) == Some("web") && label(p, labels::NAME).is_none(),
    )
    .await
    .map_err(|e| e.context(env.op.logs()))?;
    ensure!(released.uid() == pvc.uid());
    ensure!(released.owner_references().is_empty());

    env.apply(&doc).await?;
    env.ready("web").await?;
    let adopted = env.pvcs.get("web-data").await?;
    ensure!(
        adopted.uid() == pvc.uid(),
        "a new PVC instead of the retained one"
    );
    ensure!(label(&adopted, labels::RETAINED_FROM).is_none());
    env.finish().await
}

/// Tests that need the in-tree GlusterFS provisioner (Kubernetes < 1.26): scripts/test-all.sh
/// runs them on the 1.20 lane (`in_tree_glusterfs::`) and the rest on the current one.
mod in_tree_glusterfs {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gluster_volume_is_released_on_delete_and_readopted() -> Result<()> {
        let env = Env::start("st-gluster", &[]).await?;
        let heketi = HeketiStandIn::start().await?;
        let class = unique_class("gluster");
        env.guard_class(&class);
        let doc = gluster_exposure("web", &class, heketi.url(), "      readOnly: true", "");
        env.apply(&doc).await?;

        let ready = env.ready("web").await?;
        ensure!(is_true(&ready, condition::STORAGE_BOUND));
        ensure!(ready
            .finalizers()
            .iter()
            .any(|f| f == labels::CLEANUP_FINALIZER));
        let sc = env.classes.get(&class).await?;
        ensure!(sc.provisioner == "kubernetes.io/glusterfs");
        let params = sc.parameters.clone().unwrap_or_default();
        ensure!(params.get("resturl").map(String::as_str) == Some(heketi.url()));
        ensure!(params.get("restauthenabled").map(String::as_str) == Some("false"));
        ensure!(sc.reclaim_policy.as_deref() == Some("Delete"));
        ensure!(label(&sc, labels::NAME) == Some("web"));
        ensure!(label(&sc, labels::NAMESPACE) == Some(env.ns.name()));
        ensure!(heketi
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path == "/volumes"));
        let pvc = env.bound("web-data").await?;
        ensure!(
            pvc.owner_references().is_empty(),
            "reclaim Retain: no owner"
        );
        let uid = pvc.uid().context("PVC without uid")?;
        let pv = pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.clone())
            .context("no PV")?;
        let deployment = env.ns.api::<Deployment>().get("web").await?;
        let mounts = deployment
            .spec
            .and_then(|s| s.template.spec)
            .map(|s| s.containers[0].volume_mounts.clone().unwrap_or_default())
            .unwrap_or_default();
        ensure!(
            mounts
                .iter()
                .any(|m| m.mount_path == "/data" && m.read_only == Some(true)),
            "/data mounted read-only: {mounts:?}"
        );

        env.delete_exposure("web").await?;
        wait_for_deletion(&env.ns.api::<Deployment>(), "web", TIMEOUT).await?;
        let released = wait_for(&env.pvcs, "web-data", "PVC released", TIMEOUT, |p| {
            label(p, labels::RETAINED_FROM) == Some("web") && label(p, labels::NAME).is_none()
        })
        .await?;
        ensure!(released.uid().as_deref() == Some(uid.as_str()));
        ensure!(released.owner_references().is_empty());
        ensure!(released.metadata.deletion_timestamp.is_none());
        let kept = env.event("web", "StorageClassKept").await?;
        ensure!(kept.message.unwrap_or_default().contains(&class));
        ensure!(
            env.classes.get_opt(&class).await?.is_some(),
            "class deleted while its PV {pv} exists"
        );
        ensure!(env.pvs.get_opt(&pv).await?.is_some());

        env.apply(&doc).await?;
        env.ready("web").await?;
        let adopted = env.pvcs.get("web-data").await?;
        ensure!(
            adopted.uid().as_deref() == Some(uid.as_str()),
            "a new PVC instead of the retained one"
        );
        ensure!(label(&adopted, labels::NAME) == Some("web"));
        ensure!(label(&adopted, labels::RETAINED_FROM).is_none());
        ensure!(adopted.spec.and_then(|s| s.volume_name).as_deref() == Some(pv.as_str()));
        ensure!(heketi.volumes().len() == 1, "one volume, provisioned once");

        env.delete_exposure("web").await?;
        env.delete_volumes(&["web-data"]).await?;
        env.finish().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reclaim_delete_volume_and_class_go_with_the_exposure() -> Result<()> {
        let env = Env::start("st-delete", &[]).await?;
        let heketi = HeketiStandIn::start().await?;
        let class = unique_class("gluster-del");
        env.guard_class(&class);
        let created = env
            .apply(&gluster_exposure(
                "web",
                &class,
                heketi.url(),
                "      reclaim: Delete",
                "",
            ))
            .await?;
        env.ready("web").await?;
        let pvc = env.bound("web-data").await?;
        let owner = pvc.owner_references().to_vec();
        ensure!(
            owner.len() == 1
                && owner[0].controller == Some(true)
                && Some(&owner[0].uid) == created.uid().as_ref(),
            "reclaim Delete: controlled by the Exposure, got {owner:?}"
        );
        let pv = pvc.spec.and_then(|s| s.volume_name).context("no PV")?;
        let volume = heketi
            .volumes()
            .first()
            .map(|v| v.id.clone())
            .context("no heketi volume")?;

        env.exposures
            .delete("web", &DeleteParams::background())
            .await?;
        wait_for_deletion(&env.pvcs, "web-data", TIMEOUT).await?;
        wait_for_deletion(&env.pvs, &pv, TIMEOUT).await?;
        let path = format!("/volumes/{volume}");
        ensure!(
            heketi
                .requests()
                .iter()
                .any(|r| r.method == "DELETE" && r.path == path),
            "the stand-in saw no DELETE {path}"
        );
        wait_for_deletion(&env.classes, &class, TIMEOUT)
            .await
            .map_err(|e| e.context(env.op.logs()))?;
        wait_for_deletion(&env.exposures, "web", TIMEOUT).await?;
        env.finish().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn provisioning_failure_is_reported_in_storage_bound() -> Result<()> {
        let env = Env::start("st-fail", &[]).await?;
        let heketi = HeketiStandIn::start().await?;
        heketi.set_fail(Some("no space left on simulated gluster cluster"));
        let class = unique_class("gluster-fail");
        env.guard_class(&class);
        env.apply(&gluster_exposure("web", &class, heketi.url(), "", ""))
            .await?;
        // kube-controller-manager 1.20 reports a generic text (the heketi answer goes to its log):
        // the condition carries whatever the provisioner said.
        let events: Api<Event> = env.ns.api();
        let fields = "involvedObject.kind=PersistentVolumeClaim,involvedObject.name=web-data,reason=ProvisioningFailed";
        let failure = eventually("ProvisioningFailed on PVC web-data", TIMEOUT, || {
            let events = events.clone();
            async move {
                let list = events.list(&ListParams::default().fields(fields)).await?;
                Ok(list.items.into_iter().find_map(|e| e.message))
            }
        })
        .await?;
        ensure!(failure.contains("failed to create volume"), "{failure}");
        ensure!(heketi
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path == "/volumes"));
        let failed = wait_for(
            &env.exposures,
            "web",
            "StorageBound False with the provisioner's message",
            TIMEOUT,
            |e| {
                condition(e, condition::STORAGE_BOUND)
                    .is_some_and(|c| c.status == "False" && c.message.contains(failure.trim()))
            },
        )
        .await?;
        let c = condition(&failed, condition::STORAGE_BOUND).context("no StorageBound")?;
        ensure!(c.reason == "ProvisioningFailed", "{c:?}");
        ensure!(c.message.starts_with("PVC web-data Pending: "), "{c:?}");
        ensure!(!is_true(&failed, condition::READY));

        heketi.set_fail(None);
        env.ready("web").await?;
        env.delete_exposure("web").await?;
        env.delete_volumes(&["web-data"]).await?;
        env.finish().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changed_gluster_class_without_volumes_is_recreated() -> Result<()> {
        let env = Env::start("st-recreate", &[]).await?;
        let heketi = HeketiStandIn::start().await?;
        // Provisioning fails: the PVC stays Pending and no PV uses the class.
        heketi.set_fail(Some("heketi is down"));
        let class = unique_class("gluster-recreate");
        env.guard_class(&class);
        env.apply(&gluster_exposure("web", &class, heketi.url(), "", ""))
            .await?;
        let first = wait_for(&env.classes, &class, "StorageClass", TIMEOUT, |_| true).await?;
        env.ready_pending("web").await?;

        env.apply(&gluster_exposure(
            "web",
            &class,
            heketi.url(),
            "",
            "        volumetype: none",
        ))
        .await?;
        let second = wait_for(
            &env.classes,
            &class,
            "recreated StorageClass",
            TIMEOUT,
            |sc| sc.uid() != first.uid(),
        )
        .await
        .map_err(|e| e.context(env.op.logs()))?;
        let params = second.parameters.unwrap_or_default();
        ensure!(
            params.get("volumetype").map(String::as_str) == Some("none"),
            "{params:?}"
        );
        let e = env.exposures.get("web").await?;
        ensure!(!is_stalled_with(&e, "StorageClassImmutable"));

        env.delete_exposure("web").await?;
        env.delete_volumes(&["web-data"]).await?;
        env.finish().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changed_gluster_class_with_a_volume_is_stalled() -> Result<()> {
        let env = Env::start("st-immutable", &[]).await?;
        let heketi = HeketiStandIn::start().await?;
        let class = unique_class("gluster-immutable");
        env.guard_class(&class);
        env.apply(&gluster_exposure("web", &class, heketi.url(), "", ""))
            .await?;
        env.ready("web").await?;
        let pv = env
            .bound("web-data")
            .await?
            .spec
            .and_then(|s| s.volume_name)
            .context("no PV")?;
        let before = env.classes.get(&class).await?;

        env.apply(&gluster_exposure(
            "web",
            &class,
            heketi.url(),
            "",
            "        volumetype: none",
        ))
        .await?;
        let message = env.stalled("web", "StorageClassImmutable").await?;
        ensure!(message.contains("parameters.volumetype"), "{message}");
        ensure!(message.contains(&format!("PV {pv}")), "{message}");
        let after = env.classes.get(&class).await?;
        ensure!(after.uid() == before.uid() && after.parameters == before.parameters);

        env.delete_exposure("web").await?;
        env.delete_volumes(&["web-data"]).await?;
        env.finish().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn class_name_of_a_foreign_storage_class_is_a_conflict() -> Result<()> {
        let env = Env::start("st-conflict", &[]).await?;
        let heketi = HeketiStandIn::start().await?;
        let class = unique_class("foreign");
        env.simulated_class(&class).await?;
        let before = env.classes.get(&class).await?;
        env.apply(&gluster_exposure("web", &class, heketi.url(), "", ""))
            .await?;
        let message = env.stalled("web", "ResourceConflict").await?;
        ensure!(
            message.contains(&format!("StorageClass {class} already exists")),
            "{message}"
        );
        let after = env.classes.get(&class).await?;
        ensure!(
            after.resource_version() == before.resource_version(),
            "the foreign class was changed"
        );
        ensure!(env.pvcs.get_opt("web-data").await?.is_none());
        ensure!(heketi.requests().is_empty());
        env.finish().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn glusterfs_with_storage_classes_disabled_is_refused() -> Result<()> {
        let env = Env::start("st-disabled", &["--storage-classes-enabled=false"]).await?;
        let heketi = HeketiStandIn::start().await?;
        let class = unique_class("gluster-disabled");
        env.guard_class(&class);
        env.apply(&gluster_exposure("web", &class, heketi.url(), "", ""))
            .await?;
        let message = env.stalled("web", "StorageClassesDisabled").await?;
        ensure!(message.contains("storageClassName"), "{message}");
        env.nothing_created("web", &class).await?;
        env.finish().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unspecified_resturl_is_not_allowed() -> Result<()> {
        let env = Env::without_defaults("st-unspecified").await?;
        refused(&env, "http://0.0.0.0:9", "", "unspecified address 0.0.0.0").await?;
        env.finish().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loopback_resturl_without_allowlist_is_not_allowed() -> Result<()> {
        let env = Env::without_defaults("st-loopback").await?;
        let heketi = HeketiStandIn::start().await?;
        refused(&env, heketi.url(), "", "points at loopback (127.0.0.1)").await?;
        ensure!(heketi.requests().is_empty(), "the stand-in was called");
        env.finish().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn foreign_secret_namespace_is_not_allowed() -> Result<()> {
        // The test allowlist covers the stand-in: only the Secret's namespace is refused.
        let env = Env::start("st-secretns", &[]).await?;
        let heketi = HeketiStandIn::start().await?;
        let gluster = "        secretName: heketi\n        secretNamespace: kube-system";
        let expected = "secretNamespace: kube-system is not this Exposure's namespace";
        refused(&env, heketi.url(), gluster, expected).await?;
        ensure!(heketi.requests().is_empty(), "the stand-in was called");
        env.finish().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gluster_volume_removed_from_the_spec_goes_with_its_class() -> Result<()> {
        let env = Env::start("st-remove", &[]).await?;
        let heketi = HeketiStandIn::start().await?;
        let class = unique_class("gluster-remove");
        env.guard_class(&class);
        let volume = "      reclaim: Delete";
        env.apply(&gluster_exposure("web", &class, heketi.url(), volume, ""))
            .await?;
        env.ready("web").await?;
        let pv = env
            .bound("web-data")
            .await?
            .spec
            .and_then(|s| s.volume_name)
            .context("no PV")?;

        let without =
            "metadata: {name: web}\nspec:\n  image: busybox:1.36\n  ports: [{containerPort: 8080}]\n";
        env.apply(without).await?;
        wait_for_deletion(&env.pvcs, "web-data", TIMEOUT).await?;
        let kept = env.event("web", "StorageClassKept").await?;
        ensure!(kept
            .message
            .unwrap_or_default()
            .contains(&format!("PV {pv}")));
        wait_for_deletion(&env.pvs, &pv, TIMEOUT).await?;
        ensure!(heketi.requests().iter().any(|r| r.method == "DELETE"));
        wait_for_deletion(&env.classes, &class, TIMEOUT)
            .await
            .map_err(|e| e.context(env.op.logs()))?;
        wait_for(
            &env.exposures,
            "web",
            "cleanup finalizer removed",
            TIMEOUT,
            |e| {
                !e.finalizers()
                    .iter()
                    .any(|f| f == labels::CLEANUP_FINALIZER)
            },
        )
        .await?;
        env.ready("web").await?;
        env.finish().await
    }

    /// Every check runs before anything is written: a spec that changes the glusterfs parameters
    /// of an unused class and also shrinks the volume is refused as a whole, and the class stays.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changed_class_with_a_shrunk_volume_changes_nothing() -> Result<()> {
        let env = Env::start("st-atomic", &[]).await?;
        let heketi = HeketiStandIn::start().await?;
        // Provisioning fails: the PVC stays Pending and no PV uses the class (it could be recreated).
        heketi.set_fail(Some("heketi is down"));
        let class = unique_class("gluster-atomic");
        env.guard_class(&class);
        env.apply(&gluster_exposure("web", &class, heketi.url(), "", ""))
            .await?;
        let before = wait_for(&env.classes, &class, "StorageClass", TIMEOUT, |_| true).await?;
        env.ready_pending("web").await?;

        let shrunk = gluster_exposure("web", &class, heketi.url(), "", "        volumetype: none")
            .replace("size: 1Gi", "size: 512Mi");
        env.apply(&shrunk).await?;
        let message = env.stalled("web", "InvalidSpec").await?;
        ensure!(
            message.contains("smaller than the current size 1Gi"),
            "{message}"
        );
        let after = env.classes.get_opt(&class).await?;
        ensure!(
            after.as_ref().map(|sc| sc.uid()) == Some(before.uid()),
            "the StorageClass was deleted or recreated by a spec that was refused: {after:?}\n{}",
            env.op.logs()
        );
        ensure!(after.and_then(|sc| sc.parameters) == before.parameters);

        env.delete_exposure("web").await?;
        env.delete_volumes(&["web-data"]).await?;
        env.finish().await
    }
}

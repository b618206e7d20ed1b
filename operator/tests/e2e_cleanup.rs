//! e2e: deleting an Exposure never hangs on a cleanup step that keeps failing. The operator
//! runs with the chart's RBAC minus `delete` on StorageClasses, so deleting the glusterfs class
//! it created is refused by the API server with a real 403, every time. `storage::finalize`
//! fails, `reconcile::error_policy` counts the failure per Exposure and requeues it, and at the
//! fifth failed attempt the `exposure.dev/cleanup` finalizer is removed anyway with a Warning
//! `CleanupAbandoned`. The retained claim is still released; the class stays.
//!
//! The operator only deletes a class nothing uses (a PV or PVC of the class keeps it), and it
//! lets go at once when a class is kept. For the forbidden delete to be attempted at all, the
//! class must already be unused when the operator first finalizes: so the Exposure is deleted
//! (foreground propagation) while the operator is stopped. The garbage collector deletes the
//! `reclaim: Delete` claim and kube-controller-manager deletes its volume through the heketi
//! stand-in; then the operator starts again and finds a deleting Exposure with an unused class.

mod support;

use anyhow::{ensure, Context as _, Result};
use exposure_crd::{labels, Exposure};
use exposure_e2e::heketi::HeketiStandIn;
use exposure_e2e::{
    cluster, eventually, random_suffix, wait_for, wait_for_deletion, TestNamespace,
};
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{DeleteParams, ListParams};
use kube::{Api, ResourceExt};
use std::time::Duration;
use support::*;

/// How long the bounded retries may take (at most the backoff 5 + 10 + 20 + 40 s, then the
/// last attempt).
const ABANDON_TIMEOUT: Duration = Duration::from_secs(150);

/// Takes `delete` away from every ClusterRole rule on StorageClasses; returns how many rules
/// lost it.
fn without_storage_class_delete(doc: &mut serde_yaml::Value) -> usize {
    if doc["kind"].as_str() != Some("ClusterRole") {
        return 0;
    }
    let Some(rules) = doc.get_mut("rules").and_then(|r| r.as_sequence_mut()) else {
        return 0;
    };
    let mut edited = 0;
    for rule in rules {
        let on_classes = rule["resources"]
            .as_sequence()
            .is_some_and(|r| r.iter().any(|x| x.as_str() == Some("storageclasses")));
        let Some(verbs) = rule.get_mut("verbs").and_then(|v| v.as_sequence_mut()) else {
            continue;
        };
        let before = verbs.len();
        if on_classes {
            verbs.retain(|v| v.as_str() != Some("delete"));
        }
        edited += usize::from(verbs.len() < before);
    }
    edited
}

/// A glusterfs volume `data` (`reclaim: Delete`, class `class` through heketi at `url`) and a
/// `reclaim: Retain` volume `keep` of the existing class `fast`.
fn exposure(class: &str, url: &str) -> String {
    // Only loopback may ever be applied to the local cluster.
    assert!(url.starts_with("http://127.0.0.1:"), "resturl {url}");
    format!(
        r#"
metadata: {{name: web}}
spec:
  image: busybox:1.36
  ports: [{{containerPort: 8080}}]
  storage:
    - name: data
      mountPath: /data
      size: 1Gi
      reclaim: Delete
      glusterfs:
        className: {class}
        resturl: "{url}"
        restauthenabled: false
        reclaimPolicy: Delete
    - name: keep
      mountPath: /keep
      size: 1Gi
      reclaim: Retain
      storageClassName: fast
"#
    )
}

fn bound(p: &PersistentVolumeClaim) -> bool {
    p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
}

fn label<'a>(o: &'a impl ResourceExt, key: &str) -> Option<&'a str> {
    o.labels().get(key).map(String::as_str)
}

/// `text` without ANSI colour sequences (`ESC [ … m`), as the operator writes its log.
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| *c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// The operator log's lines for failed reconciles of `web` refused with a 403 on deleting the
/// StorageClass `class`.
fn forbidden_class_deletes(log: &str, class: &str) -> Vec<String> {
    without_colours(log)
        .lines()
        .filter(|l| {
            l.contains("reconcile failed")
                && l.contains("exposure=web ")
                && l.contains("code: 403")
                && l.contains(&format!(
                    r#"storageclasses.storage.k8s.io "{class}" is forbidden"#
                ))
                && l.contains(r#"cannot delete resource "storageclasses""#)
        })
        .map(str::to_owned)
        .collect()
}

/// Tests that need the in-tree GlusterFS provisioner (Kubernetes < 1.26): scripts/test-all.sh
/// runs them on the 1.20 lane (`in_tree_glusterfs::`) and the rest on the current one.
mod in_tree_glusterfs {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cleanup_that_keeps_failing_is_abandoned_after_bounded_retries() -> Result<()> {
        let cluster = cluster().await?;
        install_crd(&cluster).await?;
        ensure_fast_storage_class(&cluster).await?;
        let ns = TestNamespace::new(&cluster, "cleanup").await?;
        let heketi = HeketiStandIn::start().await?;
        let class = format!("e2e-abandon-{}", random_suffix());
        let class_guard = cluster.delete_on_drop("storageclass", &class);
        let exposures: Api<Exposure> = ns.api();
        let pvcs: Api<PersistentVolumeClaim> = ns.api();
        let classes: Api<StorageClass> = Api::all(cluster.client());
        let pvs: Api<PersistentVolume> = Api::all(cluster.client());

        // The chart's RBAC for this namespace, without `delete` on StorageClasses.
        let mut edited = 0;
        let rbac = install_rbac_edited(
            &cluster,
            // No --leader-elect below: the chart's Lease Role is installed but not used.
            &[format!("watchNamespaces={{{}}}", ns.name())],
            |doc| edited += without_storage_class_delete(doc),
        )
        .await?;
        ensure!(
            edited == 1,
            "{edited} ClusterRole rules on storageclasses lost `delete`"
        );
        wait_authorized(&rbac, ns.name()).await?;
        eventually(
            "create on StorageClasses to be authorized",
            Duration::from_secs(30),
            || async {
                Ok(can_i(&rbac, &["create", "storageclasses.storage.k8s.io"])
                    .await?
                    .then_some(()))
            },
        )
        .await?;
        ensure!(!can_i(&rbac, &["delete", "storageclasses.storage.k8s.io"]).await?);
        ensure!(
            can_i(
                &rbac,
                &["delete", "persistentvolumeclaims", "-n", ns.name()]
            )
            .await?
        );

        // Ready: the class created, the finalizer set, both claims bound.
        let op = Operator::start_with_kubeconfig(&rbac.kubeconfig, &[ns.name()], &[]).await?;
        apply_exposure(&exposures, &exposure(&class, heketi.url())).await?;
        let ready = wait_ready(&op, &exposures, "web").await?;
        ensure!(
            ready
                .finalizers()
                .iter()
                .any(|f| f == labels::CLEANUP_FINALIZER),
            "no cleanup finalizer: {:?}",
            ready.finalizers()
        );
        let uid = ready.uid().context("Exposure without uid")?;
        let sc = classes.get(&class).await?;
        ensure!(label(&sc, labels::NAME) == Some("web"));
        let data = wait_for(&pvcs, "web-data", "PVC Bound", TIMEOUT, bound).await?;
        let pv = data
            .spec
            .and_then(|s| s.volume_name)
            .context("web-data has no PV")?;
        let keep = wait_for(&pvcs, "web-keep", "PVC Bound", TIMEOUT, bound).await?;
        ensure!(
            keep.owner_references().is_empty(),
            "reclaim: Retain, no owner"
        );
        let keep_uid = keep.uid().context("PVC without uid")?;

        // Deleted while the operator is down: the garbage collector takes the reclaim: Delete
        // claim first (foreground), its volume goes through heketi, and the class is left unused.
        op.stop().await?;
        exposures.delete("web", &DeleteParams::foreground()).await?;
        wait_for_deletion(&pvcs, "web-data", TIMEOUT).await?;
        wait_for_deletion(&pvs, &pv, TIMEOUT).await?;
        let deleting = exposures.get("web").await?;
        ensure!(deleting.metadata.deletion_timestamp.is_some());
        ensure!(
            deleting
                .finalizers()
                .iter()
                .any(|f| f == labels::CLEANUP_FINALIZER),
            "the cleanup finalizer went while the operator was down"
        );

        // The operator comes back: deleting the class is refused, again and again, and the
        // Exposure is let go anyway.
        let op = Operator::start_with_kubeconfig(&rbac.kubeconfig, &[ns.name()], &[]).await?;
        eventually(
            "the Exposure to be deleted (cleanup abandoned)",
            ABANDON_TIMEOUT,
            || async { Ok(exposures.get_opt("web").await?.is_none().then_some(())) },
        )
        .await
        .with_context(|| format!("--- operator log:\n{}", op.logs()))?;

        // The failure was real: a 403 on the StorageClass delete at each of the four failed
        // attempts error_policy counted before the fifth let go.
        let log = op.logs();
        let refused = forbidden_class_deletes(&log, &class);
        for attempt in 1..=4 {
            ensure!(
                refused
                    .iter()
                    .any(|l| l.contains(&format!(" attempts={attempt} "))),
                "no failed cleanup attempt {attempt} with a 403 on deleting StorageClass {class}; \
                 operator log:\n{log}"
            );
        }
        let forbidden = metric_sum(
            &op.metrics().await?,
            "exposure_reconcile_errors_total",
            Some(r#"error="forbidden""#),
        );
        ensure!(forbidden >= 4.0, "{forbidden} forbidden reconcile errors");

        // The Warning, about the Exposure that is gone (the event stays in the namespace).
        let events: Api<Event> = ns.api();
        let abandoned = eventually(
            "a CleanupAbandoned event about Exposure web",
            TIMEOUT,
            || async {
                Ok(events
                    .list(&ListParams::default())
                    .await?
                    .items
                    .into_iter()
                    .find(|e| {
                        e.reason.as_deref() == Some("CleanupAbandoned")
                            && e.regarding.as_ref().is_some_and(|r| {
                                r.kind.as_deref() == Some("Exposure")
                                    && r.name.as_deref() == Some("web")
                            })
                    }))
            },
        )
        .await
        .with_context(|| format!("--- operator log:\n{log}"))?;
        ensure!(abandoned.type_.as_deref() == Some("Warning"));
        ensure!(
            abandoned.regarding.as_ref().and_then(|r| r.uid.as_deref()) == Some(uid.as_str()),
            "event about another Exposure web: {:?}",
            abandoned.regarding
        );
        let note = abandoned.note.unwrap_or_default();
        ensure!(
            note.contains("Gave up cleaning up after 5 attempts") && note.contains("forbidden"),
            "{note}"
        );

        // The retained claim was released (same claim), the class is still there.
        let released = wait_for(&pvcs, "web-keep", "PVC released", TIMEOUT, |p| {
            label(p, labels::RETAINED_FROM) == Some("web") && label(p, labels::NAME).is_none()
        })
        .await
        .with_context(|| format!("--- operator log:\n{log}"))?;
        ensure!(released.uid().as_deref() == Some(keep_uid.as_str()));
        ensure!(released.owner_references().is_empty());
        ensure!(released.metadata.deletion_timestamp.is_none());
        let kept = classes
            .get_opt(&class)
            .await?
            .context("the StorageClass is gone")?;
        ensure!(kept.uid() == sc.uid(), "the StorageClass was recreated");

        // Tidy up: the operator first (it would not recreate the class anyway), then the class
        // (unused: its only volume is gone), the namespace and the RBAC.
        op.stop().await?;
        classes.delete(&class, &DeleteParams::default()).await?;
        wait_for_deletion(&classes, &class, TIMEOUT).await?;
        drop(class_guard);
        ns.cleanup().await?;
        rbac.cleanup().await
    }
}

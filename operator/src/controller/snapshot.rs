//! Reads the [`Snapshot`] one decision needs: from the caches, plus one GET per desired name
//! the caches do not hold, plus the `ProvisioningFailed` events of Pending PVCs.

use std::collections::{BTreeMap, BTreeSet};

use exposure_crd::{labels, Exposure};
use k8s_openapi::api::core::v1::{Event as CoreEvent, PersistentVolumeClaim};
use kube::api::ListParams;
use kube::{Api, ResourceExt};

use super::apply::dynamic_api;
use super::context::Context;
use super::error::Error;
use super::DIGEST_KEY;
use crate::build::{config_sources, ChildKind, ConfigDigests, ConfigSource, HTTPRoute};
use crate::cluster::ClusterInfo;
use crate::decide::workload::{daemon_set_short_of_pods, stateful_set_short_of_pods};
use crate::decide::{lookups, ClassUsers, Snapshot};
use crate::ownership;
use crate::status::Observed;

pub async fn read(
    ctx: &Context,
    cluster: &ClusterInfo,
    exposure: &Exposure,
) -> Result<Snapshot, Error> {
    let namespace = exposure.namespace().unwrap_or_default();
    let name = exposure.name_any();
    let deleting = exposure.metadata.deletion_timestamp.is_some();
    let mut live = BTreeMap::new();
    let wanted = if deleting {
        Vec::new()
    } else {
        lookups(exposure, cluster, &ctx.config.storage_policy())
    };
    for (kind, child) in &wanted {
        let object = match ctx.cached_child(*kind, &namespace, child) {
            Some(v) => Some(v),
            None => dynamic_api(ctx, *kind, &namespace)
                .get_opt(child)
                .await?
                .and_then(|o| serde_json::to_value(o).ok()),
        };
        if let Some(object) = object {
            live.insert((*kind, child.clone()), object);
        }
    }
    let mut labelled: Vec<_> = ChildKind::ALL
        .into_iter()
        .filter(|k| {
            !matches!(
                k,
                ChildKind::PersistentVolumeClaim | ChildKind::StorageClass
            )
        })
        .flat_map(|kind| {
            ctx.labelled_children(kind, &namespace, &name)
                .into_iter()
                .map(move |meta| (kind, meta))
        })
        .collect();
    labelled.extend(legacy_endpoints(ctx, exposure, &namespace, &name).await?);
    let in_namespace = |p: &PersistentVolumeClaim| p.namespace().as_deref() == Some(&namespace);
    let pvc_state = ctx.stores.children.pvcs.of(&namespace, &name);
    let pvcs: Vec<PersistentVolumeClaim> = pvc_state
        .iter()
        .filter(|p| in_namespace(p) && ownership::labelled_for(&p.metadata, &name))
        .cloned()
        .collect();
    let retained = pvc_state
        .iter()
        .filter(|p| in_namespace(p) && ownership::retained_from(&p.metadata, &name))
        .cloned()
        .collect();
    let storage_classes: Vec<_> = ctx
        .stores
        .children
        .storage_classes
        .of(&namespace, &name)
        .into_iter()
        .filter(|sc| ownership::cluster_labelled_for(&sc.metadata, &namespace, &name))
        .collect();
    let classes: BTreeSet<String> = wanted
        .iter()
        .filter(|(k, _)| *k == ChildKind::StorageClass)
        .map(|(_, n)| n.clone())
        .chain(storage_classes.iter().map(|sc| sc.name_any()))
        .collect();
    let class_users = classes
        .into_iter()
        .map(|class| {
            let users = class_users(ctx, &class);
            (class, users)
        })
        .collect();
    let observed = if deleting {
        Observed::default()
    } else {
        observe(ctx, exposure, &pvcs, &live).await?
    };
    Ok(Snapshot {
        live,
        labelled,
        pvcs,
        retained,
        storage_classes,
        class_users,
        rivals: ctx
            .index
            .rivals(exposure)
            .iter()
            .filter_map(|(ns, name)| ctx.find_exposure(ns, name)?.exposure())
            .collect(),
        observed,
    })
}

/// PVs and (our) PVCs of the StorageClass `class`.
pub fn class_users(ctx: &Context, class: &str) -> ClassUsers {
    // Only objects whose text names the class are parsed (the caches are compact).
    let naming = format!("\"storageClassName\":{}", serde_json::Value::from(class));
    let volumes = ctx
        .cluster_stores
        .persistent_volumes
        .objects_mentioning(&naming)
        .iter()
        .filter(|pv| {
            pv.spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref())
                == Some(class)
        })
        .map(|pv| format!("PV {}", pv.name_any()))
        .collect();
    let claims = ctx
        .stores
        .children
        .pvcs
        .objects_mentioning(&naming)
        .iter()
        .filter(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref())
                == Some(class)
        })
        .map(|p| format!("PVC {}/{}", p.namespace().unwrap_or_default(), p.name_any()))
        .collect();
    ClassUsers { volumes, claims }
}

/// The observed children, from the caches. The only reads beyond the caches are the
/// `ProvisioningFailed` events of Pending PVCs and the `FailedCreate` events of a StatefulSet
/// or DaemonSet short of pods.
async fn observe(
    ctx: &Context,
    exposure: &Exposure,
    pvcs: &[PersistentVolumeClaim],
    live: &BTreeMap<(ChildKind, String), serde_json::Value>,
) -> Result<Observed, Error> {
    let namespace = &exposure.namespace().unwrap_or_default();
    let name = &exposure.name_any();
    let mut provisioning_failures = BTreeMap::new();
    for pvc in pvcs
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending"))
    {
        let pvc_name = pvc.name_any();
        if let Some(message) = newest_provisioning_failure(ctx, namespace, &pvc_name).await? {
            provisioning_failures.insert(pvc_name, message);
        }
    }
    let s = &ctx.stores.children;
    let headless = crate::build::headless_service_name(name);
    let stateful_set = s.stateful_sets.get(Some(namespace), name);
    let daemon_set = s.daemon_sets.get(Some(namespace), name);
    let workload_failure = match (&stateful_set, &daemon_set) {
        (Some(set), _) if stateful_set_short_of_pods(set) => {
            newest_event(ctx, namespace, "StatefulSet", name, "FailedCreate").await?
        }
        (_, Some(set)) if daemon_set_short_of_pods(set) => {
            newest_event(ctx, namespace, "DaemonSet", name, "FailedCreate").await?
        }
        _ => None,
    };
    Ok(Observed {
        deployment: s.deployments.get(Some(namespace), name),
        stateful_set,
        daemon_set,
        workload_failure,
        autoscaler: s.autoscalers.get(Some(namespace), name).or_else(|| {
            s.legacy_autoscalers
                .get(Some(namespace), name)
                .map(Into::into)
        }),
        disruption_budget: s.disruption_budgets.get(Some(namespace), name).or_else(|| {
            s.legacy_disruption_budgets
                .get(Some(namespace), name)
                .map(Into::into)
        }),
        resource_quota: s.quotas.get(Some(namespace), name),
        limit_range: s.limit_ranges.get(Some(namespace), name),
        config: config_digests(ctx, exposure),
        pods: ctx
            .stores
            .pods
            .of(namespace, name)
            .into_iter()
            .filter(|p| {
                p.metadata.namespace.as_deref() == Some(namespace)
                    && p.labels().get(labels::NAME).map(String::as_str) == Some(name)
            })
            .collect(),
        service: s.services.get(Some(namespace), name),
        headless_service: s.services.get(Some(namespace), &headless),
        endpoints: s.endpoints.get(Some(namespace), name),
        endpoint_slices: {
            // Ours only: a slice the mirroring controller made from an Endpoints copies its
            // labels, but is managed by that controller.
            let mut slices: Vec<_> = s
                .endpoint_slices
                .of(namespace, name)
                .into_iter()
                .filter(|x| {
                    x.metadata.namespace.as_deref() == Some(namespace)
                        && crate::ownership::labelled_for(&x.metadata, name)
                        && x.labels()
                            .get(labels::ENDPOINT_SLICE_MANAGED_BY)
                            .map(String::as_str)
                            == Some(labels::ENDPOINT_SLICE_MANAGER)
                })
                .collect();
            slices.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            slices
        },
        ingress: s.ingresses.get(Some(namespace), name),
        // From the cache, or the GET of the desired child while the watch has not listed yet.
        http_route: s.http_routes.get(Some(namespace), name).or_else(|| {
            live.get(&(ChildKind::HTTPRoute, name.to_owned()))
                .and_then(|v| serde_json::from_value::<HTTPRoute>(v.clone()).ok())
        }),
        pvcs: pvcs.to_vec(),
        provisioning_failures,
        retained_volumes: Vec::new(),
        node_address: node_address(ctx),
    })
}

/// On clusters with EndpointSlices the operator neither builds nor watches v1 Endpoints (on
/// 1.33+ every request to them draws a deprecation warning). An Endpoints it wrote before the
/// cluster was upgraded is named in the Exposure's `status.resources`: read it (one GET) so the
/// decision prunes it like any child no longer desired; the status written next no longer
/// names it, so nothing asks for v1 Endpoints again.
async fn legacy_endpoints(
    ctx: &Context,
    exposure: &Exposure,
    namespace: &str,
    name: &str,
) -> Result<Vec<(ChildKind, kube::api::ObjectMeta)>, Error> {
    if !ctx.cluster.supports(crate::cluster::Feature::EndpointSlice)
        || exposure.metadata.deletion_timestamp.is_some()
    {
        return Ok(Vec::new());
    }
    let listed = exposure
        .status
        .iter()
        .flat_map(|s| &s.resources)
        .filter(|r| r.kind == ChildKind::Endpoints.as_str());
    let mut found = Vec::new();
    for legacy in listed {
        let live = dynamic_api(ctx, ChildKind::Endpoints, namespace)
            .get_opt(&legacy.name)
            .await?;
        if let Some(live) = live.filter(|o| ownership::labelled_for(&o.metadata, name)) {
            found.push((ChildKind::Endpoints, live.metadata));
        }
    }
    Ok(found)
}

/// The digest of every ConfigMap and Secret `spec.config` mounts that the operator may read
/// (`None`: it does not exist); from the caches, which hold digests only.
fn config_digests(ctx: &Context, exposure: &Exposure) -> ConfigDigests {
    let namespace = exposure.namespace().unwrap_or_default();
    let mut digests = BTreeMap::new();
    for source in config_sources(&exposure.spec) {
        let digest = match &source {
            ConfigSource::ConfigMap(name) if ctx.config.watch_config_maps => ctx
                .stores
                .config_maps
                .get(Some(&namespace), name)
                .map(|cm| stored_digest(cm.data.as_ref())),
            ConfigSource::Secret(name) if ctx.config.watch_secrets => ctx
                .stores
                .secrets
                .get(Some(&namespace), name)
                .map(|secret| stored_digest(secret.string_data.as_ref())),
            // Not readable: not part of the hash.
            _ => continue,
        };
        digests.insert(source, digest);
    }
    ConfigDigests(digests)
}

/// The digest a cached ConfigMap or Secret carries in place of its data (see
/// `controller::keep_config_map_digest` and `keep_secret_digest`).
fn stored_digest(data: Option<&BTreeMap<String, String>>) -> String {
    data.and_then(|d| d.get(DIGEST_KEY))
        .cloned()
        .unwrap_or_default()
}

async fn newest_provisioning_failure(
    ctx: &Context,
    namespace: &str,
    pvc: &str,
) -> Result<Option<String>, Error> {
    newest_event(
        ctx,
        namespace,
        "PersistentVolumeClaim",
        pvc,
        "ProvisioningFailed",
    )
    .await
}

/// The message of the newest event `reason` about `kind/name`.
async fn newest_event(
    ctx: &Context,
    namespace: &str,
    kind: &str,
    name: &str,
    reason: &str,
) -> Result<Option<String>, Error> {
    let events: Api<CoreEvent> = Api::namespaced(ctx.client.clone(), namespace);
    let params = ListParams::default().fields(&format!(
        "involvedObject.kind={kind},involvedObject.name={name},reason={reason}"
    ));
    let list = events.list(&params).await?;
    let newest = list.items.into_iter().max_by_key(|e| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or_else(|| e.event_time.as_ref().map(|t| t.0))
    });
    Ok(newest.and_then(|e| e.message))
}

fn node_address(ctx: &Context) -> Option<String> {
    let nodes = ctx.cluster_stores.nodes.as_ref()?;
    let mut state = nodes.objects();
    state.sort_by_key(|n| n.name_any());
    state.iter().find_map(|n| {
        n.status
            .as_ref()?
            .addresses
            .as_ref()?
            .iter()
            .find(|a| a.type_ == "InternalIP")
            .map(|a| a.address.clone())
    })
}

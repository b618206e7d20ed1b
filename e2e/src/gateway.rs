//! The Gateway API in the e2e tests: its standard CRDs (installed and removed by the tests,
//! from the Go module `sigs.k8s.io/gateway-api`, see `e2e/scripts/gateway-api-crds.sh`), and
//! [`GatewayControllerStandIn`], which plays the Gateway controller for HTTPRoutes: a real one
//! programs a data plane and writes `status.parents[]` with `Accepted` and `ResolvedRefs`; the
//! stand-in only writes that status (both True, for the current generation), for every
//! HTTPRoute of one namespace, so that what the operator reads is what a controller writes.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::{json, Value};

use crate::Cluster;

/// The controllerName the stand-in reports (a domain-prefixed path, as the API requires).
pub const CONTROLLER_NAME: &str = "exposure.dev/e2e-gateway-controller-stand-in";

const CRDS: &[&str] = &[
    "gatewayclasses",
    "gateways",
    "httproutes",
    "grpcroutes",
    "referencegrants",
    "backendtlspolicies",
    "listenersets",
    "tcproutes",
    "tlsroutes",
    "udproutes",
];

/// The directory of the standard CRDs (downloaded into the module cache once).
pub async fn standard_crds_dir() -> Result<PathBuf> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/gateway-api-crds.sh");
    let out = tokio::process::Command::new(&script)
        .output()
        .await
        .with_context(|| script.display().to_string())?;
    anyhow::ensure!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

/// Installs the standard CRDs (server-side apply, idempotent) and waits until HTTPRoutes are
/// served.
pub async fn install_crds(cluster: &Cluster) -> Result<()> {
    let dir = standard_crds_dir().await?;
    let dir = dir.to_string_lossy();
    cluster
        .kubectl(
            &["apply", "--server-side", "--force-conflicts", "-f", &dir],
            None,
        )
        .await?;
    cluster
        .kubectl(
            &[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/httproutes.gateway.networking.k8s.io",
            ],
            None,
        )
        .await?;
    Ok(())
}

/// Removes the Gateway API CRDs (and so every Gateway API object) and waits until they are gone.
pub async fn remove_crds(cluster: &Cluster) -> Result<()> {
    let names: Vec<String> = CRDS
        .iter()
        .map(|c| format!("crd/{c}.gateway.networking.k8s.io"))
        .collect();
    let mut args = vec![
        "delete",
        "--ignore-not-found",
        "--wait=true",
        "--timeout=120s",
    ];
    args.extend(names.iter().map(String::as_str));
    cluster.kubectl(&args, None).await?;
    Ok(())
}

fn http_routes(client: &Client, namespace: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"),
        "httproutes",
    );
    Api::namespaced_with(client.clone(), namespace, &ar)
}

/// Plays the Gateway controller for the HTTPRoutes of one namespace until dropped.
pub struct GatewayControllerStandIn {
    task: tokio::task::JoinHandle<()>,
}

impl GatewayControllerStandIn {
    pub fn start(cluster: &Cluster, namespace: &str) -> Self {
        let api = http_routes(&cluster.client(), namespace);
        let task = tokio::spawn(async move {
            loop {
                if let Err(error) = accept_all(&api).await {
                    tracing::debug!(%error, "gateway controller stand-in");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        Self { task }
    }
}

impl Drop for GatewayControllerStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Writes Accepted and ResolvedRefs (True) for every parentRef of every route whose status does
/// not describe its current generation yet.
async fn accept_all(api: &Api<DynamicObject>) -> Result<()> {
    for route in api.list(&ListParams::default()).await?.items {
        let generation = route.metadata.generation.unwrap_or(0);
        let name = route.metadata.name.clone().unwrap_or_default();
        let parents = route.data["spec"]["parentRefs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let current = route.data["status"]["parents"].as_array().is_some_and(|p| {
            p.len() == parents.len()
                && p.iter().all(|s| {
                    s["conditions"]
                        .as_array()
                        .is_some_and(|c| c.iter().all(|c| c["observedGeneration"] == generation))
                })
        });
        if current {
            continue;
        }
        let now = k8s_openapi::jiff::Timestamp::now().to_string();
        let condition = |type_: &str| {
            json!({"type": type_, "status": "True", "reason": type_, "message": "accepted by the e2e stand-in",
                   "observedGeneration": generation, "lastTransitionTime": now})
        };
        let statuses: Vec<Value> = parents
            .iter()
            .map(|parent| {
                json!({"parentRef": parent, "controllerName": CONTROLLER_NAME,
                       "conditions": [condition("Accepted"), condition("ResolvedRefs")]})
            })
            .collect();
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"parents": statuses}})),
        )
        .await?;
    }
    Ok(())
}

//! node-sim: what no well-kept tool simulates for the local e2e control plane (see
//! e2e/README.md): the cloud load balancer and ingress controller (`load_balancers`) and a volume
//! provisioner (`volumes`). kwok plays the kubelets and kube-scheduler schedules.
//!
//! Usage: node-sim [--kubeconfig PATH]   (default: $KUBECONFIG). Logs to stderr (RUST_LOG).
//!
//! Everything here is level-triggered: watch events and a periodic resync both call the same
//! idempotent handlers, errors are logged and retried on the next pass, nothing panics.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;
use tracing::{info, warn};

mod load_balancers;
mod volumes;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    if let Err(e) = run().await {
        tracing::error!("node-sim failed: {e:#}");
        std::process::exit(1);
    }
}

fn kubeconfig_arg() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        if args[i] == "--kubeconfig" {
            return args.get(i + 1).cloned();
        }
        if let Some(v) = args[i].strip_prefix("--kubeconfig=") {
            return Some(v.to_string());
        }
        i += 1;
    }
    std::env::var("KUBECONFIG").ok()
}

async fn run() -> Result<()> {
    let path = kubeconfig_arg().context("pass --kubeconfig PATH or set KUBECONFIG")?;
    let kc = Kubeconfig::read_from(&path).with_context(|| format!("reading kubeconfig {path}"))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .context("loading kubeconfig")?;
    let client = Client::try_from(config).context("building client")?;
    info!(kubeconfig = %path, "node-sim starting");

    let (classes, classes_w) = reflector::store::<StorageClass>();
    let (pvcs, pvcs_w) = reflector::store::<PersistentVolumeClaim>();
    let (services, services_w) = reflector::store::<Service>();
    let (ingresses, ingresses_w) = reflector::store::<Ingress>();
    let (pvs, pvs_w) = reflector::store::<PersistentVolume>();

    let sim = Arc::new(Sim {
        client: client.clone(),
        classes: classes.clone(),
        state: Mutex::new(SimState::default()),
    });

    // StorageClasses: only a cache.
    tokio::spawn(controller(
        "storageclasses",
        Api::<StorageClass>::all(client.clone()),
        classes_w,
        classes,
        Duration::from_secs(3600),
        |_| async { Ok(()) },
        |_| {},
    ));
    let s = sim.clone();
    tokio::spawn(controller(
        "persistentvolumeclaims",
        Api::<PersistentVolumeClaim>::all(client.clone()),
        pvcs_w,
        pvcs,
        Duration::from_secs(2),
        move |p| {
            let s = s.clone();
            async move { s.handle_pvc(&p).await }
        },
        |_| {},
    ));
    let s = sim.clone();
    tokio::spawn(controller(
        "persistentvolumes",
        Api::<PersistentVolume>::all(client.clone()),
        pvs_w,
        pvs,
        Duration::from_secs(5),
        move |p| {
            let s = s.clone();
            async move { s.handle_pv(&p).await }
        },
        |_| {},
    ));
    let s = sim.clone();
    let s2 = sim.clone();
    tokio::spawn(controller(
        "services",
        Api::<Service>::all(client.clone()),
        services_w,
        services,
        Duration::from_secs(5),
        move |svc| {
            let s = s.clone();
            async move { s.handle_service(&svc).await }
        },
        move |svc: Service| s2.release_lb(&svc.uid().unwrap_or_default()),
    ));
    let s = sim.clone();
    let s2 = sim.clone();
    tokio::spawn(controller(
        "ingresses",
        Api::<Ingress>::all(client.clone()),
        ingresses_w,
        ingresses,
        Duration::from_secs(5),
        move |ing| {
            let s = s.clone();
            async move { s.handle_ingress(&ing).await }
        },
        move |ing: Ingress| s2.release_lb(&ing.uid().unwrap_or_default()),
    ));

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing SIGTERM handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    info!("node-sim stopping");
    Ok(())
}

/// Runs a watcher feeding `store`, calls `handle` for every added/modified object and, every
/// `resync`, for every object in the store (level-triggered retries). `deleted` sees deletions.
async fn controller<K, H, Fut, D>(
    name: &'static str,
    api: Api<K>,
    writer: reflector::store::Writer<K>,
    store: Store<K>,
    resync: Duration,
    handle: H,
    deleted: D,
) where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    H: Fn(Arc<K>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
    D: Fn(K) + Send + 'static,
{
    let h = handle.clone();
    let st = store.clone();
    tokio::spawn(async move {
        if st.wait_until_ready().await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(resync).await;
            for obj in st.state() {
                if let Err(e) = h(obj.clone()).await {
                    warn!(kind = name, object = %obj.name_any(), "resync: {e:#}");
                }
            }
        }
    });
    let mut events = reflector(
        writer,
        watcher(api, watcher::Config::default()).default_backoff(),
    )
    .boxed();
    while let Some(ev) = events.next().await {
        match ev {
            Ok(watcher::Event::Apply(obj)) | Ok(watcher::Event::InitApply(obj)) => {
                let n = obj.name_any();
                if let Err(e) = handle(Arc::new(obj)).await {
                    warn!(kind = name, object = %n, "{e:#}");
                }
            }
            Ok(watcher::Event::Delete(obj)) => deleted(obj),
            Ok(_) => {}
            Err(e) => warn!(kind = name, "watch error (retrying): {e}"),
        }
    }
    warn!(kind = name, "watch stream ended");
}

use kube::runtime::reflector::reflector;

// ---------------------------------------------------------------------------------------------
// Shared state

struct Sim {
    client: Client,
    classes: Store<StorageClass>,
    state: Mutex<SimState>,
}

#[derive(Default)]
struct SimState {
    /// object uid -> index in 198.51.100.0/24
    lb_ips: HashMap<String, u32>,
    used_lb_ips: HashSet<u32>,
    next_lb_ip: u32,
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

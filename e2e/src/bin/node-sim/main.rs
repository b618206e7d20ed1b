//! node-sim: what no well-kept tool simulates for the local e2e control plane (see
//! e2e/README.md): the cloud load balancer and ingress controller (`load_balancers`) and a volume
//! provisioner (`volumes`); with `--kubelet-and-scheduler`, for the 1.20 lane that has no
//! kube-scheduler build, also kubelet and scheduler (`kubelet`), which kwok and kube-scheduler
//! do on the current lane.
//!
//! Usage: node-sim [--kubeconfig PATH] [--kubelet-and-scheduler]   (default: $KUBECONFIG).
//! Logs to stderr (RUST_LOG).
//!
//! Everything here is level-triggered: watch events and a periodic resync both call the same
//! idempotent handlers, errors are logged and retried on the next pass, nothing panics.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Debug;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, Node, PersistentVolume, PersistentVolumeClaim, Pod,
    PodCondition, PodIP, PodStatus, Service,
};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tracing::{debug, info, warn};

mod kubelet;
mod load_balancers;
mod volumes;

use kubelet::{heartbeat_loop, PodMemo};

/// Set by the scheduler on a `WaitForFirstConsumer` claim: the node its volume is for.
const ANN_SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";

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

    let (pods, pods_w) = reflector::store::<Pod>();
    let (classes, classes_w) = reflector::store::<StorageClass>();
    let (pvcs, pvcs_w) = reflector::store::<PersistentVolumeClaim>();
    let (services, services_w) = reflector::store::<Service>();
    let (ingresses, ingresses_w) = reflector::store::<Ingress>();
    let (pvs, pvs_w) = reflector::store::<PersistentVolume>();

    let sim = Arc::new(Sim {
        client: client.clone(),
        pods: pods.clone(),
        classes: classes.clone(),
        state: Mutex::new(SimState::default()),
    });

    // On the current lane kwok and kube-scheduler play kubelet and scheduler; only the old
    // lane, which has no kube-scheduler build, asks node-sim for them.
    let kubelet = std::env::args().any(|a| a == "--kubelet-and-scheduler");
    if kubelet {
        tokio::spawn(heartbeat_loop(client.clone()));
    }

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
    let s2 = sim.clone();
    if kubelet {
        tokio::spawn(controller(
            "pods",
            Api::<Pod>::all(client.clone()),
            pods_w,
            pods,
            Duration::from_secs(1),
            move |p| {
                let s = s.clone();
                async move { s.handle_pod(&p).await }
            },
            move |p: Pod| s2.forget_pod(&p),
        ));
    }
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

    let gc = sim.clone();
    tokio::spawn(async move {
        // Forget IPs and timers of pods that vanished while the watch was down.
        loop {
            tokio::time::sleep(Duration::from_secs(30)).await;
            if gc.pods.is_empty() {
                continue;
            }
            let live: HashSet<String> = gc.pods.state().iter().filter_map(|p| p.uid()).collect();
            let mut st = gc.state.lock().unwrap();
            let gone: Vec<String> = st
                .pod_ips
                .keys()
                .filter(|u| !live.contains(*u))
                .cloned()
                .collect();
            for uid in gone {
                st.release_pod_ip(&uid);
            }
            st.memo.retain(|u, _| live.contains(u));
            st.foreign.retain(|u| live.contains(u));
        }
    });

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
    pods: Store<Pod>,
    classes: Store<StorageClass>,
    state: Mutex<SimState>,
}

#[derive(Default)]
struct SimState {
    /// pod uid -> pod IP (host part index in 10.244.0.0/16)
    pod_ips: HashMap<String, u32>,
    used_pod_ips: HashSet<u32>,
    next_pod_ip: u32,
    /// object uid -> index in 198.51.100.0/24
    lb_ips: HashMap<String, u32>,
    used_lb_ips: HashSet<u32>,
    next_lb_ip: u32,
    round_robin: usize,
    /// pod uid -> per-pod timers
    memo: HashMap<String, PodMemo>,
    /// pods already reported as bound to a node node-sim does not simulate
    foreign: HashSet<String>,
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

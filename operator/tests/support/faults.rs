//! Shared by the fault tests (`e2e_fault_*`): a seeded random source (a failure reproduces with
//! its seed), signals to an operator process, and the invariant checks of a namespace after a
//! fault: no orphan or duplicate child, no lost PVC, no finalizer on a deleted Exposure.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use exposure_crd::{labels, Exposure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{ListParams, ObjectMeta};
use kube::{Api, ResourceExt};

/// Environment variable that fixes the seed of [`Rng::from_env`].
pub const SEED_ENV: &str = "EXPOSURE_FAULT_SEED";

/// splitmix64: tiny, deterministic for a seed, good enough to pick fault points.
pub struct Rng(u64);

impl Rng {
    /// Seeded from `EXPOSURE_FAULT_SEED` or the clock; prints the seed with `test` so that a
    /// failing run can be repeated (`EXPOSURE_FAULT_SEED=<seed> cargo test ...`).
    pub fn from_env(test: &str) -> Rng {
        let seed = std::env::var(SEED_ENV)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0x5eed)
            });
        eprintln!("{test}: seed={seed} (repeat with {SEED_ENV}={seed})");
        Rng(seed)
    }

    /// A generator for a seed drawn from another one (one stream per fault source).
    pub fn seeded(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// `true` with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Sends `signal` (e.g. `STOP`, `CONT`, `KILL`) to the process `pid`.
pub async fn signal(pid: u32, signal: &str) -> Result<()> {
    let status = tokio::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .await?;
    anyhow::ensure!(status.success(), "kill -{signal} {pid} failed");
    Ok(())
}

/// Resident memory of the process `pid` in KiB (`VmRSS` of /proc).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One labelled object of a namespace: kind, name, the Exposure its label names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Labelled {
    pub kind: &'static str,
    pub name: String,
    pub exposure: String,
    pub uid: String,
    pub resource_version: String,
}

fn labelled(kind: &'static str, meta: &ObjectMeta) -> Option<Labelled> {
    let l = meta.labels.as_ref()?;
    (l.get(labels::MANAGED_BY).map(String::as_str) == Some(labels::MANAGER)).then_some(())?;
    // A released PVC keeps `managed-by` but names its Exposure by `retained-from` only: it is
    // checked as a kept volume, not as a child.
    (!l.contains_key(labels::RETAINED_FROM)).then_some(())?;
    Some(Labelled {
        kind,
        name: meta.name.clone().unwrap_or_default(),
        exposure: l.get(labels::NAME).cloned().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        resource_version: meta.resource_version.clone().unwrap_or_default(),
    })
}

/// Every child of the namespace: labelled `managed-by: exposure-operator`, not released (the
/// child kinds a spec can produce on this lane), sorted.
pub async fn managed_children(client: &kube::Client, ns: &str) -> Result<Vec<Labelled>> {
    let lp = ListParams::default().labels(&format!("{}={}", labels::MANAGED_BY, labels::MANAGER));
    let mut out = Vec::new();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    for d in deployments.list(&lp).await?.items {
        out.extend(labelled("Deployment", &d.metadata));
    }
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    for s in services.list(&lp).await?.items {
        out.extend(labelled("Service", &s.metadata));
    }
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), ns);
    for i in ingresses.list(&lp).await?.items {
        out.extend(labelled("Ingress", &i.metadata));
    }
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    for p in pvcs.list(&lp).await?.items {
        out.extend(labelled("PersistentVolumeClaim", &p.metadata));
    }
    out.sort();
    Ok(out)
}

/// What the invariant check found.
#[derive(Debug, Default)]
pub struct Audit {
    pub live_exposures: usize,
    pub children: usize,
    pub retained_pvcs: usize,
}

/// The invariants after a fault, for the namespace `ns`:
/// * every object labelled by us names a live Exposure (no orphan), and is controlled by it
///   (uid of its controller ownerReference) unless it is a Retain PVC;
/// * no two children of one Exposure share a kind and name (impossible by name, but a stale
///   uid would show here as a wrong owner);
/// * every PVC in `expected_pvcs` still exists, same uid (never lost), either labelled for a
///   live Exposure or released (`retained-from`) and, when that Exposure lives, listed in its
///   `status.retainedVolumes`;
/// * no Exposure is left deleting with a finalizer.
pub async fn audit(
    client: &kube::Client,
    ns: &str,
    expected_pvcs: &BTreeMap<String, String>,
) -> Result<Audit> {
    let exposures: Api<Exposure> = Api::namespaced(client.clone(), ns);
    let live: BTreeMap<String, Exposure> = exposures
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|e| (e.name_any(), e))
        .collect();
    let mut problems = Vec::new();
    for (name, e) in &live {
        if e.metadata.deletion_timestamp.is_some() {
            problems.push(format!(
                "Exposure {name} is still deleting, finalizers {:?}",
                e.finalizers()
            ));
        }
    }
    let children = managed_children(client, ns).await?;
    let owners = owner_uids(client, ns).await?;
    for child in &children {
        match live.get(&child.exposure) {
            None => problems.push(format!(
                "orphan {} {} (labelled for Exposure {:?}, which does not exist)",
                child.kind, child.name, child.exposure
            )),
            Some(e) => {
                let owner = owners.get(&(child.kind, child.name.clone()));
                let retain_pvc = child.kind == "PersistentVolumeClaim" && owner.is_none();
                if !retain_pvc && owner.map(String::as_str) != e.uid().as_deref() {
                    problems.push(format!(
                        "{} {} is labelled for {} but controlled by uid {:?}, not {:?}",
                        child.kind,
                        child.name,
                        child.exposure,
                        owner,
                        e.uid()
                    ));
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    for child in &children {
        if !seen.insert((child.kind, child.name.clone())) {
            problems.push(format!("duplicate {} {}", child.kind, child.name));
        }
    }
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let mut retained = 0;
    for (name, uid) in expected_pvcs {
        let Some(pvc) = pvcs.get_opt(name).await? else {
            problems.push(format!("PVC {name} was lost"));
            continue;
        };
        if pvc.uid().as_deref() != Some(uid.as_str()) {
            problems.push(format!(
                "PVC {name} was replaced (uid {uid} -> {:?})",
                pvc.uid()
            ));
        }
        if let Some(from) = pvc.labels().get(labels::RETAINED_FROM) {
            retained += 1;
            if let Some(e) = live.get(from) {
                let listed = e
                    .status
                    .as_ref()
                    .is_some_and(|s| s.retained_volumes.iter().any(|r| &r.name == name));
                let in_use = e
                    .spec
                    .storage
                    .iter()
                    .any(|v| format!("{from}-{}", v.name) == *name);
                if !listed && !in_use {
                    problems.push(format!(
                        "released PVC {name} is not in {from}'s status.retainedVolumes"
                    ));
                }
            }
        } else if !children
            .iter()
            .any(|c| c.kind == "PersistentVolumeClaim" && &c.name == name)
        {
            problems.push(format!(
                "PVC {name} is neither ours nor released: labels {:?}",
                pvc.labels()
            ));
        }
    }
    if !problems.is_empty() {
        bail!("invariants broken in {ns}:\n  {}", problems.join("\n  "));
    }
    Ok(Audit {
        live_exposures: live.len(),
        children: children.len(),
        retained_pvcs: retained,
    })
}

/// (kind, name) → uid of the controller ownerReference, for the labelled children.
async fn owner_uids(
    client: &kube::Client,
    ns: &str,
) -> Result<BTreeMap<(&'static str, String), String>> {
    let lp = ListParams::default().labels(&format!("{}={}", labels::MANAGED_BY, labels::MANAGER));
    let mut out = BTreeMap::new();
    let mut add = |kind: &'static str, meta: &ObjectMeta| {
        if let Some(uid) = super::controller_exposure_uid(meta) {
            out.insert((kind, meta.name.clone().unwrap_or_default()), uid);
        }
    };
    for d in Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&lp)
        .await?
        .items
    {
        add("Deployment", &d.metadata);
    }
    for s in Api::<Service>::namespaced(client.clone(), ns)
        .list(&lp)
        .await?
        .items
    {
        add("Service", &s.metadata);
    }
    for i in Api::<Ingress>::namespaced(client.clone(), ns)
        .list(&lp)
        .await?
        .items
    {
        add("Ingress", &i.metadata);
    }
    for p in Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .list(&lp)
        .await?
        .items
    {
        add("PersistentVolumeClaim", &p.metadata);
    }
    Ok(out)
}

/// Waits until every Exposure of `ns` is Ready for its generation and its Deployment runs the
/// spec's image (when it has one); returns the seconds it took.
pub async fn wait_all_converged(
    client: &kube::Client,
    ns: &str,
    timeout: std::time::Duration,
) -> Result<f64> {
    let started = std::time::Instant::now();
    let exposures: Api<Exposure> = Api::namespaced(client.clone(), ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let mut last = String::new();
    while started.elapsed() < timeout {
        let mut pending = Vec::new();
        for e in exposures.list(&ListParams::default()).await?.items {
            if !super::is_ready(&e) {
                pending.push(format!("{} not Ready for its generation", e.name_any()));
                continue;
            }
            if let Some(image) = e.spec.image.as_deref() {
                let d = deployments.get_opt(&e.name_any()).await?;
                let live = d
                    .as_ref()
                    .and_then(|d| d.spec.as_ref())
                    .and_then(|s| s.template.spec.as_ref())
                    .and_then(|s| s.containers.first())
                    .and_then(|c| c.image.clone());
                if live.as_deref() != Some(image) {
                    pending.push(format!(
                        "{}: Deployment image {live:?} != {image}",
                        e.name_any()
                    ));
                }
            }
        }
        if pending.is_empty() {
            return Ok(started.elapsed().as_secs_f64());
        }
        last = pending.join("; ");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    bail!("not converged after {timeout:?}: {last}")
}

/// What the [`FaultProxy`] did to the connections it accepted.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProxyCounts {
    pub forwarded: u64,
    pub refused: u64,
    pub stalled: u64,
    pub cut: u64,
}

/// A loopback TCP proxy in front of the API server that breaks a share of connections: it
/// closes some at once, holds some open without forwarding (a timeout for the client), and cuts
/// some forwarded ones after a random time (watches and requests in flight die). TCP level:
/// TLS passes through untouched (the server certificate is valid for 127.0.0.1), so no HTTP
/// status can be injected — that would need the proxy to terminate TLS.
pub struct FaultProxy {
    pub addr: std::net::SocketAddr,
    counts: std::sync::Arc<std::sync::Mutex<ProxyCounts>>,
    faulty: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Proxies to `upstream`; while faulty, `percent` of new connections are refused, stalled or
    /// cut (a third each), decided by a generator seeded with `seed`.
    pub async fn start(upstream: std::net::SocketAddr, percent: u64, seed: u64) -> Result<Self> {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counts = std::sync::Arc::new(std::sync::Mutex::new(ProxyCounts::default()));
        let faulty = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (c, f) = (counts.clone(), faulty.clone());
        let task = tokio::spawn(async move {
            let mut rng = Rng::seeded(seed);
            while let Ok((mut inbound, _)) = listener.accept().await {
                let roll = rng.below(100);
                let cut_after = std::time::Duration::from_millis(200 + rng.below(5000));
                let fault = f.load(Ordering::Relaxed) && roll < percent;
                let count = |update: fn(&mut ProxyCounts)| {
                    if let Ok(mut counts) = c.lock() {
                        update(&mut counts)
                    }
                };
                match (fault, roll % 3) {
                    (true, 0) => {
                        count(|c| c.refused += 1);
                        drop(inbound);
                    }
                    (true, 1) => {
                        count(|c| c.stalled += 1);
                        tokio::spawn(async move {
                            tokio::time::sleep(std::time::Duration::from_secs(15)).await;
                            drop(inbound);
                        });
                    }
                    (cut, _) => {
                        if cut {
                            count(|c| c.cut += 1);
                        } else {
                            count(|c| c.forwarded += 1);
                        }
                        tokio::spawn(async move {
                            let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await
                            else {
                                return;
                            };
                            let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                            if cut {
                                let _ = tokio::time::timeout(cut_after, copy).await;
                            } else {
                                let _ = copy.await;
                            }
                        });
                    }
                }
            }
        });
        Ok(FaultProxy {
            addr,
            counts,
            faulty,
            task,
        })
    }

    /// Stops breaking connections (new ones are all forwarded).
    pub fn heal(&self) {
        self.faulty
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn counts(&self) -> ProxyCounts {
        self.counts.lock().map(|c| *c).unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The API server address of an admin kubeconfig (`https://127.0.0.1:<port>`).
pub fn kubeconfig_server(kubeconfig: &std::path::Path) -> Result<std::net::SocketAddr> {
    let text = std::fs::read_to_string(kubeconfig)?;
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://"))
        .ok_or_else(|| anyhow::anyhow!("no server in {}", kubeconfig.display()))?;
    Ok(server.trim().parse()?)
}

/// A copy of `kubeconfig` whose server is `server` (e.g. `https://127.0.0.1:port` for the TCP
/// proxy, `http://…` for the HTTP one), written under the tests' scratch directory as
/// `<dir>/<name>.kubeconfig`.
pub fn kubeconfig_with_server(
    kubeconfig: &std::path::Path,
    server: &str,
    dir: &str,
    name: &str,
) -> Result<std::path::PathBuf> {
    let upstream = kubeconfig_server(kubeconfig)?;
    let text = std::fs::read_to_string(kubeconfig)?;
    let from = format!("server: https://{upstream}");
    anyhow::ensure!(
        text.contains(&from),
        "{} names no server https://{upstream}",
        kubeconfig.display()
    );
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(&path, text.replace(&from, &format!("server: {server}")))?;
    Ok(path)
}

/// The operator's Events in `ns`, counted by (object, reason, note), a series by its count. A
/// retried write must not record its Event again: one change, one count.
pub async fn operator_events(
    client: &kube::Client,
    ns: &str,
) -> Result<BTreeMap<(String, String, String), u32>> {
    use k8s_openapi::api::events::v1::Event;
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let mut seen = BTreeMap::<(String, String, String), u32>::new();
    for e in events.list(&ListParams::default()).await?.items {
        if e.reporting_controller.as_deref() != Some(labels::MANAGER) {
            continue;
        }
        let key = (
            e.regarding.and_then(|r| r.name).unwrap_or_default(),
            e.reason.unwrap_or_default(),
            e.note.unwrap_or_default(),
        );
        let times = e.series.map_or(1, |s| s.count.max(1) as u32);
        *seen.entry(key).or_default() += times;
    }
    Ok(seen)
}

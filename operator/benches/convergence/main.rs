//! Convergence benchmark (issue #14): the operator against the same children applied raw, on one
//! control plane, for several N. Prints figures as it goes and writes `convergence.json` and
//! `convergence.md` (the plot: `scripts/bench_plot.py`). Asserts nothing about time.
//!
//!   scripts/bench.sh                      (cluster of its own, this bench, the plot)
//!   EXPOSURE_E2E_KUBECONFIG=e2e/.cluster-bench/admin.kubeconfig BENCH_SIZES=100 BENCH_STORAGE=0 \
//!     cargo bench -p exposure-operator --bench convergence
//!
//! For every N and pass (without, then with one volume per Exposure), each in a fresh namespace:
//! * raw:  `exposure-operator render` of the N Exposures, split by Exposure into `--concurrency`
//!   streams, each applied by one `kubectl apply --server-side` at the same time;
//! * raw+: the Exposures and their children in one stream, one `kubectl apply --server-side`,
//!   no operator watching;
//! * op:   the N Exposures in one `kubectl apply --server-side`, the operator (release build)
//!   running: until every child exists and every status observed its generation, then until
//!   every Exposure is Ready. At the largest N: restart of the operator.
//!
//! Convergence is observed by watches from this process (the first time each child exists,
//! each status), not by polling. Before the sizes: one Exposure at a time, 50 times, operator vs
//! its children applied with the kube client.
//!
//! Environment: BENCH_SIZES (default 100,1000,3000), BENCH_STORAGE (1), BENCH_STORAGE_SIZES
//! (BENCH_SIZES), BENCH_TRIALS (50), BENCH_CONCURRENCY (8, the operator's default),
//! BENCH_OUT_DIR (<repo>/target/bench), BENCH_OPERATOR_LOG (RUST_LOG of the operator; unset:
//! its default), BENCH_TIMEOUT_SCALE (1.0, multiplies every wait bound), BENCH_KUBECTL_VALIDATE
//! (false: every kubectl apply runs with --validate=false; `strict` is kubectl's default),
//! BENCH_OPERATOR_BIN (the operator run under test; default: this build's, which also renders
//! the raw children either way), to measure another build in the same conditions,
//! BENCH_PAIRS (1: how many times T_raw+ and T_op are measured at each N of the base pass;
//! the repeats alternate their order, and the ratio's median and spread are reported, since
//! one pair moves with the machine's load), BENCH_OPERATOR_ARGS (more flags of
//! `exposure-operator run`, split at spaces, e.g. `--kube-api-qps 400`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use exposure_crd::Exposure;
use exposure_e2e::{cluster, random_suffix, Cluster};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, PersistentVolume, ServiceAccount};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, ListParams, PartialObjectMeta, Patch, PatchParams,
    PostParams,
};
use kube::core::GroupVersionKind;
use kube::runtime::watcher;
use kube::{Api, Client};
use serde::Deserialize as _;
use serde_json::{json, Value};
use support::{free_port, http_get, install_crd, is_ready, Operator};
use tokio::task::JoinHandle;

const OPERATOR: &str = env!("CARGO_BIN_EXE_exposure-operator");
/// Label on every namespace of the benchmark (leftovers of an aborted run are deleted at start).
const BENCH_LABEL: &str = "exposure.dev/bench";
const RAW_MANAGER: &str = "exposure-bench-raw";
/// How long the restarted operator rests before its RSS is read again.
const RESTART_REST: Duration = Duration::from_secs(30);
const USER_MANAGER: &str = "exposure-bench-user";

// ---- configuration --------------------------------------------------------------------------

struct Config {
    sizes: Vec<usize>,
    storage_sizes: Vec<usize>,
    trials: usize,
    /// Whether the raw phases run (without them, only the operator's figures: no ratios).
    raw: bool,
    concurrency: usize,
    /// Pairs of T_raw+ and T_op per N of the base pass (the first pair included).
    pairs: usize,
    out_dir: PathBuf,
    /// More flags of `exposure-operator run`.
    operator_args: Vec<String>,
    operator_log: Option<String>,
    /// The operator binary run under test.
    operator: PathBuf,
    timeout_scale: f64,
    kubectl_validate: String,
}

fn env_list(name: &str, default: &str) -> Result<Vec<usize>> {
    let text = std::env::var(name).unwrap_or_else(|_| default.to_string());
    text.split([',', ' '])
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .replace('_', "")
                .parse::<usize>()
                .with_context(|| format!("{name}={text}: not a list of numbers"))
        })
        .filter(|n| !matches!(n, Ok(0)))
        .collect()
}

impl Config {
    fn from_env() -> Result<Config> {
        let sizes = env_list("BENCH_SIZES", "100,1000,3000")?;
        let storage = std::env::var("BENCH_STORAGE")
            .map_or(true, |v| !matches!(v.as_str(), "0" | "false" | "no" | ""));
        let storage_sizes = if storage {
            let default = sizes
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(",");
            env_list("BENCH_STORAGE_SIZES", &default)?
        } else {
            Vec::new()
        };
        let number = |name: &str, default: usize| -> Result<usize> {
            std::env::var(name).map_or(Ok(default), |v| {
                v.parse()
                    .with_context(|| format!("{name}={v}: not a number"))
            })
        };
        let out_dir = std::env::var_os("BENCH_OUT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| support::repo_dir().join("target").join("bench"));
        Ok(Config {
            sizes,
            storage_sizes,
            trials: number("BENCH_TRIALS", 50)?,
            raw: std::env::var("BENCH_RAW")
                .map_or(true, |v| !matches!(v.as_str(), "0" | "false" | "no" | "")),
            concurrency: number("BENCH_CONCURRENCY", 8)?.max(1),
            pairs: number("BENCH_PAIRS", 1)?.max(1),
            out_dir,
            operator: std::env::var_os("BENCH_OPERATOR_BIN")
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(OPERATOR), PathBuf::from),
            operator_args: std::env::var("BENCH_OPERATOR_ARGS")
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect(),
            operator_log: std::env::var("BENCH_OPERATOR_LOG")
                .ok()
                .filter(|v| !v.is_empty()),
            kubectl_validate: std::env::var("BENCH_KUBECTL_VALIDATE")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "false".into()),
            timeout_scale: std::env::var("BENCH_TIMEOUT_SCALE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1.0),
        })
    }

    /// A wait bound: `base` seconds plus `per_exposure` seconds for each of `n`, scaled.
    fn bound(&self, base: f64, per_exposure: f64, n: usize) -> Duration {
        Duration::from_secs_f64((base + per_exposure * n as f64) * self.timeout_scale)
    }
}

// ---- the Exposures --------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Visibility {
    Internal,
    Ingress,
    NodePort,
    LoadBalancer,
}

/// The mix of the issue: of every 20 Exposures 12 Internal (60 %), 5 Ingress (25 %), 2
/// NodePort (10 %), 1 LoadBalancer (5 %); a quarter headless, the quarter shifting from one
/// block of 20 to the next so that every type gets its share.
fn mix(i: usize) -> (Visibility, bool) {
    let visibility = match i % 20 {
        0..=11 => Visibility::Internal,
        12..=16 => Visibility::Ingress,
        17 | 18 => Visibility::NodePort,
        _ => Visibility::LoadBalancer,
    };
    (visibility, (i + i / 20) % 4 == 1)
}

fn exposure_name(i: usize) -> String {
    format!("e-{i:05}")
}

/// One Exposure of the mix: 1 replica, port 80; `class`: one 1Gi volume of that class.
fn exposure(i: usize, host_tag: &str, class: Option<&str>) -> Value {
    let name = exposure_name(i);
    let (visibility, headless) = mix(i);
    let mut spec = json!({
        "image": "nginx:1.25",
        "replicas": 1,
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
    });
    let kind = match visibility {
        Visibility::Internal => "Internal",
        Visibility::Ingress => "Ingress",
        Visibility::NodePort => "NodePort",
        Visibility::LoadBalancer => "LoadBalancer",
    };
    spec["visibility"] = json!({ "type": kind });
    if visibility == Visibility::Ingress {
        spec["ingress"] = json!({ "host": format!("{name}.{host_tag}.bench.example") });
    }
    if headless {
        spec["headless"] = json!(true);
    }
    if let Some(class) = class {
        spec["storage"] = json!([{
            "name": "data", "mountPath": "/data", "size": "1Gi",
            "accessModes": ["ReadWriteOnce"], "storageClassName": class, "reclaim": "Delete",
        }]);
    }
    json!({
        "apiVersion": "exposure.dev/v1alpha1",
        "kind": "Exposure",
        "metadata": { "name": name },
        "spec": spec,
    })
}

fn yaml_stream(docs: &[&Value]) -> Result<String> {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(doc)?);
    }
    Ok(out)
}

/// The Exposures of a phase and the children `exposure-operator render` gives for them.
struct Workload {
    exposures: Vec<Value>,
    /// Children in render order, each with the index of its Exposure.
    children: Vec<(usize, Value)>,
    /// (apiVersion, kind) of the children.
    kinds: Vec<(String, String)>,
    /// Per Exposure, the indices of its children in `children`.
    by_exposure: Vec<Vec<usize>>,
}

impl Workload {
    fn children_of(&self, i: usize) -> impl Iterator<Item = &Value> {
        self.by_exposure[i].iter().map(|&c| &self.children[c].1)
    }
}

async fn render(dir: &Path, exposures: Vec<Value>) -> Result<Workload> {
    let file = dir.join("exposures.yaml");
    std::fs::write(&file, yaml_stream(&exposures.iter().collect::<Vec<_>>())?)?;
    let out = tokio::process::Command::new(OPERATOR)
        .arg("render")
        .arg("-f")
        .arg(&file)
        .output()
        .await
        .context("running exposure-operator render")?;
    if !out.status.success() {
        bail!(
            "exposure-operator render failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let index: HashMap<String, usize> = exposures
        .iter()
        .enumerate()
        .map(|(i, e)| (e["metadata"]["name"].as_str().unwrap_or("").to_string(), i))
        .collect();
    let mut children = Vec::new();
    let mut kinds = Vec::new();
    for doc in serde_yaml::Deserializer::from_slice(&out.stdout) {
        let value = Value::deserialize(doc)?;
        if value.is_null() {
            continue;
        }
        let owner = value["metadata"]["labels"][exposure_crd::labels::NAME]
            .as_str()
            .ok_or_else(|| {
                anyhow!(
                    "a rendered child without the {} label",
                    exposure_crd::labels::NAME
                )
            })?;
        let i = *index
            .get(owner)
            .ok_or_else(|| anyhow!("a rendered child of an unknown Exposure {owner}"))?;
        let kind = (
            value["apiVersion"].as_str().unwrap_or("").to_string(),
            value["kind"].as_str().unwrap_or("").to_string(),
        );
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
        children.push((i, value));
    }
    let mut by_exposure = vec![Vec::new(); exposures.len()];
    for (c, (i, _)) in children.iter().enumerate() {
        by_exposure[*i].push(c);
    }
    Ok(Workload {
        exposures,
        children,
        kinds,
        by_exposure,
    })
}

// ---- watching convergence -------------------------------------------------------------------

/// What the watches saw, per Exposure: when it and its children first existed, when its status
/// first observed its generation, when it was first Ready, when its Deployment was available.
#[derive(Default)]
struct Tracker {
    expected: HashMap<(String, String), usize>,
    seen: HashSet<(String, String)>,
    remaining: Vec<u32>,
    names: HashMap<String, usize>,
    children_at: Vec<Option<Instant>>,
    exposure_at: Vec<Option<Instant>>,
    observed_at: Vec<Option<Instant>>,
    ready_at: Vec<Option<Instant>>,
    available_at: Vec<Option<Instant>>,
    children_done: usize,
    exposures_seen: usize,
    observed: usize,
    ready: usize,
    available: usize,
    /// children and status observed (operator phase)
    op_converged: usize,
    /// children and the Exposure itself (raw+ phase)
    plus_converged: usize,
    deployments: usize,
}

type Shared = Arc<Mutex<Tracker>>;

impl Tracker {
    fn new(work: &Workload) -> Tracker {
        let n = work.exposures.len();
        let mut t = Tracker {
            remaining: vec![0; n],
            children_at: vec![None; n],
            exposure_at: vec![None; n],
            observed_at: vec![None; n],
            ready_at: vec![None; n],
            available_at: vec![None; n],
            ..Tracker::default()
        };
        for (i, e) in work.exposures.iter().enumerate() {
            t.names
                .insert(e["metadata"]["name"].as_str().unwrap_or("").to_string(), i);
        }
        for (i, child) in &work.children {
            let key = (
                child["kind"].as_str().unwrap_or("").to_string(),
                child["metadata"]["name"].as_str().unwrap_or("").to_string(),
            );
            if key.0 == "Deployment" {
                t.deployments += 1;
            }
            if t.expected.insert(key, *i).is_none() {
                t.remaining[*i] += 1;
            }
        }
        t
    }

    fn n(&self) -> usize {
        self.remaining.len()
    }

    fn child(&mut self, kind: &str, name: &str, at: Instant) {
        let key = (kind.to_string(), name.to_string());
        let Some(&i) = self.expected.get(&key) else {
            return;
        };
        if !self.seen.insert(key) {
            return;
        }
        self.remaining[i] -= 1;
        if self.remaining[i] == 0 {
            self.children_at[i] = Some(at);
            self.children_done += 1;
            if self.observed_at[i].is_some() {
                self.op_converged += 1;
            }
            if self.exposure_at[i].is_some() {
                self.plus_converged += 1;
            }
        }
    }

    fn exposure(&mut self, e: &Exposure, at: Instant) {
        let Some(&i) = e.metadata.name.as_ref().and_then(|n| self.names.get(n)) else {
            return;
        };
        if self.exposure_at[i].is_none() {
            self.exposure_at[i] = Some(at);
            self.exposures_seen += 1;
            if self.children_at[i].is_some() {
                self.plus_converged += 1;
            }
        }
        let observed = e.metadata.generation.is_some()
            && e.status.as_ref().and_then(|s| s.observed_generation) == e.metadata.generation;
        if observed && self.observed_at[i].is_none() {
            self.observed_at[i] = Some(at);
            self.observed += 1;
            if self.children_at[i].is_some() {
                self.op_converged += 1;
            }
        }
        if is_ready(e) && self.ready_at[i].is_none() {
            self.ready_at[i] = Some(at);
            self.ready += 1;
        }
    }

    fn deployment(&mut self, d: &Deployment, at: Instant) {
        let Some(name) = d.metadata.name.as_ref() else {
            return;
        };
        let Some(&i) = self.expected.get(&("Deployment".to_string(), name.clone())) else {
            return;
        };
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let status = d.status.as_ref();
        let available = status.and_then(|s| s.available_replicas).unwrap_or(0) >= want
            && status.and_then(|s| s.observed_generation) >= d.metadata.generation;
        if available && self.available_at[i].is_none() {
            self.available_at[i] = Some(at);
            self.available += 1;
        }
    }

    /// Seconds from `start` at which each Exposure got there (None: not yet), by `at`.
    fn times(&self, start: Instant, at: impl Fn(usize) -> Option<Instant>) -> Vec<Option<f64>> {
        (0..self.n())
            .map(|i| at(i).map(|t| t.saturating_duration_since(start).as_secs_f64()))
            .collect()
    }
}

/// Watches of one namespace feeding a [`Tracker`]; stopped on drop.
struct Watches {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Watches {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn log_watch_error(what: &str, e: &watcher::Error, count: &mut u32) {
    *count += 1;
    if *count <= 3 || count.is_power_of_two() {
        eprintln!("[bench] watch of {what} failed ({count} times): {e}");
    }
}

/// Starts the watches for the children's kinds, Exposures and Deployments (status) in `ns`, and
/// returns once each has listed.
async fn watch(client: &Client, ns: &str, work: &Workload, tracker: &Shared) -> Result<Watches> {
    let synced = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    // Deployments: the whole object (availability); the other kinds: metadata only.
    for (api_version, kind) in &work.kinds {
        if kind == "Deployment" {
            continue;
        }
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, _) = kube::discovery::pinned_kind(client, &gvk)
            .await
            .with_context(|| format!("discovering {api_version} {kind}"))?;
        let api: Api<PartialObjectMeta<DynamicObject>> =
            Api::namespaced_with(client.clone(), ns, &resource);
        let (tracker, synced, kind) = (tracker.clone(), synced.clone(), kind.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = watcher(api, watcher::Config::default()).boxed();
            let (mut errors, mut listed) = (0, false);
            while let Some(event) = stream.next().await {
                let at = Instant::now();
                match event {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                        if let Some(name) = o.metadata.name.as_deref() {
                            tracker.lock().unwrap().child(&kind, name, at);
                        }
                    }
                    Ok(watcher::Event::InitDone) if !listed => {
                        listed = true;
                        synced.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(e) => log_watch_error(&kind, &e, &mut errors),
                }
            }
        }));
    }
    {
        let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
        let (tracker, synced) = (tracker.clone(), synced.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = watcher(api, watcher::Config::default()).boxed();
            let (mut errors, mut listed) = (0, false);
            while let Some(event) = stream.next().await {
                let at = Instant::now();
                match event {
                    Ok(watcher::Event::Apply(d) | watcher::Event::InitApply(d)) => {
                        let mut t = tracker.lock().unwrap();
                        if let Some(name) = d.metadata.name.as_deref() {
                            t.child("Deployment", name, at);
                        }
                        t.deployment(&d, at);
                    }
                    Ok(watcher::Event::InitDone) if !listed => {
                        listed = true;
                        synced.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(e) => log_watch_error("Deployment", &e, &mut errors),
                }
            }
        }));
    }
    {
        let api: Api<Exposure> = Api::namespaced(client.clone(), ns);
        let (tracker, synced) = (tracker.clone(), synced.clone());
        tasks.push(tokio::spawn(async move {
            let mut stream = watcher(api, watcher::Config::default()).boxed();
            let (mut errors, mut listed) = (0, false);
            while let Some(event) = stream.next().await {
                let at = Instant::now();
                match event {
                    Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e)) => {
                        tracker.lock().unwrap().exposure(&e, at)
                    }
                    Ok(watcher::Event::InitDone) if !listed => {
                        listed = true;
                        synced.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(_) => {}
                    Err(e) => log_watch_error("Exposure", &e, &mut errors),
                }
            }
        }));
    }
    let watches = Watches { tasks };
    let want = watches.tasks.len();
    let started = Instant::now();
    while synced.load(Ordering::SeqCst) < want {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the watches of {ns} did not list within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(watches)
}

/// Waits (checking the tracker, not the API) until `done`; prints progress every 10 s. Returns
/// false on timeout.
async fn wait_for(
    tracker: &Shared,
    what: String,
    timeout: Duration,
    done: impl Fn(&Tracker) -> bool,
    progress: impl Fn(&Tracker) -> String,
) -> bool {
    let started = Instant::now();
    let mut next_report = Duration::from_secs(10);
    loop {
        {
            let t = tracker.lock().unwrap();
            if done(&t) {
                return true;
            }
            if started.elapsed() >= next_report {
                eprintln!(
                    "[bench]   … {what}: {:.0} s, {}",
                    started.elapsed().as_secs_f64(),
                    progress(&t)
                );
                next_report += Duration::from_secs(10);
            }
        }
        if started.elapsed() > timeout {
            eprintln!("[bench]   {what}: timed out after {timeout:?}");
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- metrics --------------------------------------------------------------------------------

/// One sample of a Prometheus text line: name, labels, value.
fn parse_sample(line: &str) -> Option<(&str, BTreeMap<String, String>, f64)> {
    if line.starts_with('#') || line.is_empty() {
        return None;
    }
    let (head, value) = line.rsplit_once(' ')?;
    let value: f64 = value.trim().parse().ok()?;
    let Some(brace) = head.find('{') else {
        return Some((head, BTreeMap::new(), value));
    };
    let name = &head[..brace];
    let mut labels = BTreeMap::new();
    let mut rest = head[brace + 1..].trim_end_matches('}');
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut val = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        val.push(n);
                    }
                }
                '"' => {
                    end = at + 1;
                    break;
                }
                c => val.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').trim().to_string(), val);
        rest = &after[end..];
    }
    Some((name, labels, value))
}

/// Waits (bounded) until the API server takes at most 3 writes in 3 s (an idle cluster: node
/// leases), so that a phase does not count what the previous one's deletion still causes (the
/// controller-manager works through deleted Services and pods at its client rate limit).
async fn wait_quiet(client: &Client, timeout: Duration) -> Result<f64> {
    let writes = |r: &Requests| -> f64 {
        r.iter()
            .filter(|((verb, _), _)| is_write(verb))
            .fold(0.0, |sum, (_, c)| sum + c)
    };
    let started = Instant::now();
    let mut samples = vec![writes(&apiserver_requests(client).await?)];
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push(writes(&apiserver_requests(client).await?));
        if samples.len() >= 4 && samples[samples.len() - 1] - samples[samples.len() - 4] <= 3.0 {
            let waited = started.elapsed().as_secs_f64();
            if waited > 6.0 {
                eprintln!("[bench]   the API server was quiet after {waited:.0} s");
            }
            return Ok(waited);
        }
        if started.elapsed() > timeout {
            eprintln!("[bench]   the API server still took writes after {timeout:?}; going on");
            return Ok(started.elapsed().as_secs_f64());
        }
    }
}

/// `apiserver_request_total` summed by (verb, resource incl. group and subresource).
type Requests = BTreeMap<(String, String), f64>;

async fn apiserver_requests(client: &Client) -> Result<Requests> {
    let request = http::Request::get("/metrics").body(Vec::new())?;
    let text = client
        .request_text(request)
        .await
        .context("GET /metrics on the API server")?;
    let mut out = Requests::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let Some((_, labels, value)) = parse_sample(line) else {
            continue;
        };
        let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
        let mut resource = get("resource");
        let group = get("group");
        if !group.is_empty() {
            resource = format!("{resource}.{group}");
        }
        let sub = get("subresource");
        if !sub.is_empty() {
            resource = format!("{resource}/{sub}");
        }
        *out.entry((get("verb"), resource)).or_default() += value;
    }
    Ok(out)
}

fn delta(after: &Requests, before: &Requests) -> Requests {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

fn is_write(verb: &str) -> bool {
    matches!(
        verb,
        "POST" | "PUT" | "PATCH" | "APPLY" | "DELETE" | "DELETECOLLECTION" | "CREATE" | "UPDATE"
    )
}

fn is_read(verb: &str) -> bool {
    matches!(verb, "GET" | "LIST" | "WATCH")
}

/// The API server's requests over a window, per Exposure.
fn requests_json(d: &Requests, n: usize) -> Value {
    // fold from +0.0: an empty f64 sum is -0.0.
    let per = |f: &dyn Fn(&str) -> bool| {
        d.iter()
            .filter(|((v, _), _)| f(v))
            .fold(0.0, |sum, (_, c)| sum + c)
    };
    let rows: Vec<Value> = {
        let mut rows: Vec<(&(String, String), &f64)> = d.iter().collect();
        rows.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
        rows.iter()
            .map(|((verb, resource), count)| {
                json!({"verb": verb, "resource": resource, "count": count, "per_exposure": *count / n as f64})
            })
            .collect()
    };
    json!({
        "writes": per(&is_write), "reads": per(&is_read),
        "writes_per_exposure": per(&is_write) / n as f64,
        "reads_per_exposure": per(&is_read) / n as f64,
        "by_verb_resource": rows,
    })
}

/// The operator's counters and process figures at one moment.
#[derive(Clone, Default)]
struct OpSnapshot {
    writes: BTreeMap<(String, String), f64>,
    reconciles: f64,
    errors: f64,
    warnings: f64,
    throttled_seconds: f64,
    buckets: Vec<(f64, f64)>,
    duration_sum: f64,
    cpu_seconds: f64,
    rss_kib: f64,
    hwm_kib: f64,
}

fn proc_figures(pid: u32) -> (f64, f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the command: field 3 (state) is index 0; utime is field 14, stime field 15.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    ((ticks(11) + ticks(12)) / hz, kib("VmRSS:"), kib("VmHWM:"))
}

async fn op_snapshot(op: &Operator) -> Result<OpSnapshot> {
    let text = op.metrics().await?;
    let mut s = OpSnapshot::default();
    for (name, labels, value) in text.lines().filter_map(parse_sample) {
        match name {
            "exposure_api_writes_total" => {
                let key = (
                    labels.get("kind").cloned().unwrap_or_default(),
                    labels.get("verb").cloned().unwrap_or_default(),
                );
                *s.writes.entry(key).or_default() += value;
            }
            "exposure_reconciles_total" => s.reconciles += value,
            "exposure_reconcile_errors_total" => s.errors += value,
            "exposure_api_warnings_total" => s.warnings += value,
            "exposure_api_throttled_seconds_total" => s.throttled_seconds += value,
            "exposure_reconcile_duration_seconds_bucket" => {
                let le = labels.get("le").map_or(f64::INFINITY, |l| {
                    if l == "+Inf" {
                        f64::INFINITY
                    } else {
                        l.parse().unwrap_or(f64::INFINITY)
                    }
                });
                s.buckets.push((le, value));
            }
            "exposure_reconcile_duration_seconds_sum" => s.duration_sum += value,
            _ => {}
        }
    }
    s.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (cpu, rss, hwm) = proc_figures(op.pid().unwrap_or_default());
    s.cpu_seconds = cpu;
    s.rss_kib = rss;
    s.hwm_kib = hwm;
    Ok(s)
}

/// The q-quantile of the reconciles between two snapshots, from the histogram buckets,
/// interpolated linearly inside the bucket as Prometheus' histogram_quantile does.
fn quantile(after: &OpSnapshot, before: &OpSnapshot, q: f64) -> Option<f64> {
    let buckets: Vec<(f64, f64)> = after
        .buckets
        .iter()
        .map(|(le, c)| {
            let b = before
                .buckets
                .iter()
                .find(|(l, _)| l == le)
                .map_or(0.0, |(_, c)| *c);
            (*le, c - b)
        })
        .collect();
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut prev_le, mut prev_count) = (0.0, 0.0);
    for (le, count) in &buckets {
        if *count >= rank {
            if le.is_infinite() {
                return Some(prev_le);
            }
            let inside = (count - prev_count).max(f64::MIN_POSITIVE);
            return Some(prev_le + (le - prev_le) * (rank - prev_count) / inside);
        }
        (prev_le, prev_count) = (*le, *count);
    }
    Some(prev_le)
}

fn operator_json(after: &OpSnapshot, before: &OpSnapshot, n: usize) -> Value {
    let writes: Vec<Value> = after
        .writes
        .iter()
        .map(|(k, v)| (k, v - before.writes.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .map(|((kind, verb), v)| json!({"kind": kind, "verb": verb, "count": v, "per_exposure": v / n as f64}))
        .collect();
    let total = writes
        .iter()
        .filter_map(|w| w["count"].as_f64())
        .fold(0.0, |sum, c| sum + c);
    let reconciles = after.reconciles - before.reconciles;
    json!({
        "writes": total,
        "writes_per_exposure": total / n as f64,
        "writes_by_kind_verb": writes,
        "reconciles": reconciles,
        "reconciles_per_exposure": reconciles / n as f64,
        "reconcile_errors": after.errors - before.errors,
        "api_warnings": after.warnings - before.warnings,
        "throttled_seconds": after.throttled_seconds - before.throttled_seconds,
        "reconcile_p50_ms": quantile(after, before, 0.5).map(|s| s * 1000.0),
        "reconcile_p99_ms": quantile(after, before, 0.99).map(|s| s * 1000.0),
        "reconcile_mean_ms": if reconciles > 0.0 { Some(1000.0 * (after.duration_sum - before.duration_sum) / reconciles) } else { None },
        "cpu_seconds": after.cpu_seconds - before.cpu_seconds,
        "rss_start_mib": before.rss_kib / 1024.0,
        "rss_end_mib": after.rss_kib / 1024.0,
        "rss_peak_mib": after.hwm_kib / 1024.0,
        "rss_kib_per_exposure": (after.rss_kib - before.rss_kib) / n as f64,
    })
}

/// CPU seconds so far of the cluster's components (the PID files `e2e/cluster` keeps next to
/// the admin kubeconfig, if there are any), of this process and of the operator.
fn cpu_seconds(cluster: &Cluster, operator: Option<&Operator>) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    if let Some(dir) = cluster.kubeconfig_path().parent().map(|d| d.join("pids")) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Some(name) = path.file_stem().and_then(|n| n.to_str()) else {
                continue;
            };
            if let Some(pid) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|p| p.trim().parse::<u32>().ok())
            {
                out.insert(name.to_string(), proc_figures(pid).0);
            }
        }
    }
    out.insert("bench".to_string(), proc_figures(std::process::id()).0);
    if let Some(pid) = operator.and_then(Operator::pid) {
        out.insert("exposure-operator".to_string(), proc_figures(pid).0);
    }
    out
}

fn cpu_json(after: &BTreeMap<String, f64>, before: &BTreeMap<String, f64>) -> Value {
    json!(after
        .iter()
        .map(|(k, v)| (k.clone(), round3(v - before.get(k).copied().unwrap_or(0.0))))
        .collect::<BTreeMap<_, _>>())
}

fn print_cpu(label: &str, cpu: &Value) {
    let parts: Vec<String> = cpu
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k} {:.1}", v.as_f64().unwrap_or(0.0)))
        .collect();
    println!("    CPU seconds {label}: {}", parts.join(", "));
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

// ---- cluster helpers ------------------------------------------------------------------------

async fn create_namespace(client: &Client, prefix: &str) -> Result<String> {
    let name = format!("{prefix}-{}", random_suffix());
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {BENCH_LABEL: "true"}}
    }))?;
    api.create(&PostParams::default(), &ns).await?;
    // Pods are refused until the namespace's default ServiceAccount exists.
    let sa: Api<ServiceAccount> = Api::namespaced(client.clone(), &name);
    let started = Instant::now();
    while sa.get_opt("default").await?.is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("no default ServiceAccount in {name} after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(name)
}

/// Deletes namespaces and waits (bounded) until they are gone; returns the seconds it took.
async fn delete_namespaces(client: &Client, names: &[String], timeout: Duration) -> Result<f64> {
    let api: Api<Namespace> = Api::all(client.clone());
    let started = Instant::now();
    for name in names {
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    for name in names {
        while api.get_opt(name).await?.is_some() {
            if started.elapsed() > timeout {
                eprintln!("[bench] namespace {name} still terminating after {timeout:?}; going on");
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// `kubectl apply --server-side` of a file. `--validate=false` by default: with kubectl's
/// default (strict) each process downloads and parses the API server's OpenAPI v3 schema
/// before its first request, seconds of CPU that would count eight times in T_raw.
async fn kubectl_apply(
    cfg: &Config,
    kubeconfig: &Path,
    ns: &str,
    file: &Path,
    manager: &str,
) -> Result<()> {
    let out = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            manager,
        ])
        .arg(format!("--validate={}", cfg.kubectl_validate))
        .args(["--namespace", ns, "-f"])
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .await
        .context("running kubectl")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(20).collect();
        bail!(
            "kubectl apply -f {} failed ({}):\n{}",
            file.display(),
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

/// `exposure-operator run` for one namespace (release build, default flags but
/// `--concurrency`), and the seconds from spawning it to its first `/readyz` 200.
async fn start_operator(
    cfg: &Config,
    cluster: &Cluster,
    ns: &str,
    tag: &str,
) -> Result<(Operator, f64)> {
    let (op, ready, _) = start_operator_timed(cfg, cluster, ns, tag, None).await?;
    Ok((op, ready))
}

/// [`start_operator`], and with `reconciles: Some(n)` also the seconds from spawning it until
/// its `exposure_reconciles_total` reached n (None: not within the bound).
async fn start_operator_timed(
    cfg: &Config,
    cluster: &Cluster,
    ns: &str,
    tag: &str,
    reconciles: Option<usize>,
) -> Result<(Operator, f64, Option<f64>)> {
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let logs = cfg.out_dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let log = logs.join(format!("operator-{tag}.log"));
    let mut cmd = tokio::process::Command::new(&cfg.operator);
    cmd.args(["run", "--metrics-addr", &addr, "--namespace", ns])
        .args(["--concurrency", &cfg.concurrency.to_string()])
        .args(&cfg.operator_args)
        .env("KUBECONFIG", cluster.kubeconfig_path())
        .env("POD_NAME", format!("bench-{port}"));
    match &cfg.operator_log {
        Some(filter) => cmd.env("RUST_LOG", filter),
        None => cmd.env_remove("RUST_LOG"),
    };
    let started = Instant::now();
    // Operator::launch checks /readyz every 250 ms; these finer polls time the first 200 and
    // the reconciles.
    let poll_addr = addr.clone();
    let ready_poll = tokio::spawn(async move {
        loop {
            if let Ok((200, _)) = http_get(&poll_addr, "/readyz").await {
                return Instant::now();
            }
            if started.elapsed() > Duration::from_secs(120) {
                return Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let bound = cfg.bound(60.0, 0.05, reconciles.unwrap_or(0));
    let poll_addr = addr.clone();
    let reconciles_poll = reconciles.map(|n| {
        tokio::spawn(async move {
            loop {
                if let Ok((200, text)) = http_get(&poll_addr, "/metrics").await {
                    if support::metric_sum(&text, "exposure_reconciles_total", None) >= n as f64 {
                        return Some(Instant::now());
                    }
                }
                if started.elapsed() > bound {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    });
    let op = Operator::launch(cmd, addr, log).await?;
    let ready = ready_poll.await?;
    let reconciled = match reconciles_poll {
        Some(task) => task.await?,
        None => None,
    };
    let since = |at: Instant| at.saturating_duration_since(started).as_secs_f64();
    Ok((op, since(ready), reconciled.map(since)))
}

async fn settle_writes(op: &Operator, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    let mut last = (f64::NAN, Instant::now());
    while started.elapsed() < timeout {
        let writes = op.writes(None).await?;
        if writes != last.0 {
            last = (writes, Instant::now());
        } else if last.1.elapsed() >= Duration::from_secs(3) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("[bench]   the operator still wrote after {timeout:?}; going on");
    Ok(())
}

// ---- phases ---------------------------------------------------------------------------------

fn sorted(times: &[Option<f64>]) -> Vec<f64> {
    let mut v: Vec<f64> = times.iter().flatten().copied().collect();
    v.sort_by(f64::total_cmp);
    v
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn curve(times: &[Option<f64>]) -> Value {
    json!(sorted(times).into_iter().map(round3).collect::<Vec<_>>())
}

/// Seconds until all got there, or None.
fn all_after(times: &[Option<f64>]) -> Option<f64> {
    if times.iter().all(Option::is_some) {
        sorted(times).last().copied().or(Some(0.0))
    } else {
        None
    }
}

fn fmt_s(x: Option<f64>) -> String {
    x.map_or("timeout".to_string(), |v| format!("{v:.2} s"))
}

fn print_requests(label: &str, d: &Value) {
    println!(
        "    API server, {label} (all clients): {:.2} writes, {:.2} reads per Exposure",
        d["writes_per_exposure"].as_f64().unwrap_or(0.0),
        d["reads_per_exposure"].as_f64().unwrap_or(0.0)
    );
    let rows = d["by_verb_resource"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let shown: Vec<String> = rows
        .iter()
        .filter(|r| r["per_exposure"].as_f64().unwrap_or(0.0) >= 0.05)
        .take(14)
        .map(|r| {
            format!(
                "{} {} {:.2}",
                r["verb"].as_str().unwrap_or(""),
                r["resource"].as_str().unwrap_or(""),
                r["per_exposure"].as_f64().unwrap_or(0.0)
            )
        })
        .collect();
    for chunk in shown.chunks(4) {
        println!("      {}", chunk.join(" | "));
    }
}

struct Pass<'a> {
    name: &'static str,
    class: Option<&'a str>,
}

/// raw: the rendered children, split by Exposure into `concurrency` streams applied at once.
async fn phase_raw(cfg: &Config, cluster: &Cluster, pass: &Pass<'_>, n: usize) -> Result<Value> {
    let client = cluster.client();
    let ns = create_namespace(&client, &format!("bench-raw-{n}")).await?;
    let dir = cfg.out_dir.join("work").join(&ns);
    std::fs::create_dir_all(&dir)?;
    let work = render(&dir, (0..n).map(|i| exposure(i, &ns, pass.class)).collect()).await?;
    let mut parts = Vec::new();
    for p in 0..cfg.concurrency.min(n) {
        let docs: Vec<&Value> = work
            .children
            .iter()
            .filter(|(i, _)| i % cfg.concurrency == p)
            .map(|(_, v)| v)
            .collect();
        let file = dir.join(format!("part-{p}.yaml"));
        std::fs::write(&file, yaml_stream(&docs)?)?;
        parts.push(file);
    }
    let tracker: Shared = Arc::new(Mutex::new(Tracker::new(&work)));
    let watches = watch(&client, &ns, &work, &tracker).await?;
    let quiet = wait_quiet(&client, cfg.bound(30.0, 0.05, n)).await?;
    let load = loadavg();
    let before = apiserver_requests(&client).await?;
    let cpu_before = cpu_seconds(cluster, None);
    let start = Instant::now();
    let applies = futures::future::try_join_all(
        parts
            .iter()
            .map(|f| kubectl_apply(cfg, cluster.kubeconfig_path(), &ns, f, RAW_MANAGER)),
    );
    let applied = async {
        applies.await?;
        Ok::<f64, anyhow::Error>(start.elapsed().as_secs_f64())
    };
    let waited = wait_for(
        &tracker,
        format!("raw N={n}: children"),
        cfg.bound(120.0, 0.5, n),
        |t| t.children_done == t.n(),
        |t| format!("{}/{} Exposures' children exist", t.children_done, t.n()),
    );
    let (applied, _) = tokio::join!(applied, waited);
    let applied = applied?;
    let cpu = cpu_json(&cpu_seconds(cluster, None), &cpu_before);
    let after = apiserver_requests(&client).await?;
    let requests = requests_json(&delta(&after, &before), n);
    // Settle (so that the next phase does not count this one's pods) and time the Deployments.
    wait_for(
        &tracker,
        format!("raw N={n}: Deployments available"),
        cfg.bound(120.0, 0.5, n),
        |t| t.available == t.deployments,
        |t| format!("{}/{} Deployments available", t.available, t.deployments),
    )
    .await;
    let (children, available) = {
        let t = tracker.lock().unwrap();
        (
            t.times(start, |i| t.children_at[i]),
            t.times(start, |i| t.available_at[i]),
        )
    };
    drop(watches);
    let result = json!({
        "phase": "raw", "pass": pass.name, "n": n, "namespace": ns,
        "streams": parts.len(),
        "objects": work.children.len(),
        "kubectl_seconds": applied,
        "converged_seconds": all_after(&children),
        "deployments_available_seconds": all_after(&available),
        "converged": children.iter().flatten().count(),
        "requests": requests,
        "cpu_seconds": cpu,
        "curve": curve(&children),
        "curve_available": curve(&available),
        "loadavg_before": load, "loadavg_after": loadavg(), "quiet_after_seconds": quiet,
    });
    println!(
        "  raw   N={n:<5} {} children in {} kubectl streams: kubectl {applied:.2} s, all exist after {}; Deployments available after {}",
        work.children.len(),
        parts.len(),
        fmt_s(result["converged_seconds"].as_f64()),
        fmt_s(result["deployments_available_seconds"].as_f64()),
    );
    print_requests("until all exist", &result["requests"]);
    print_cpu("until all exist", &result["cpu_seconds"]);
    let cleanup =
        delete_namespaces(&client, std::slice::from_ref(&ns), cfg.bound(120.0, 0.2, n)).await?;
    println!("    namespace deleted in {cleanup:.1} s");
    Ok(result)
}

/// raw+: the Exposures and their children in one stream, one kubectl, no operator.
async fn phase_raw_plus(
    cfg: &Config,
    cluster: &Cluster,
    pass: &Pass<'_>,
    n: usize,
) -> Result<Value> {
    let client = cluster.client();
    let ns = create_namespace(&client, &format!("bench-rawplus-{n}")).await?;
    let dir = cfg.out_dir.join("work").join(&ns);
    std::fs::create_dir_all(&dir)?;
    let work = render(&dir, (0..n).map(|i| exposure(i, &ns, pass.class)).collect()).await?;
    let mut docs: Vec<&Value> = Vec::new();
    for (i, e) in work.exposures.iter().enumerate() {
        docs.push(e);
        docs.extend(work.children_of(i));
    }
    let file = dir.join("stream.yaml");
    std::fs::write(&file, yaml_stream(&docs)?)?;
    let tracker: Shared = Arc::new(Mutex::new(Tracker::new(&work)));
    let watches = watch(&client, &ns, &work, &tracker).await?;
    let quiet = wait_quiet(&client, cfg.bound(30.0, 0.05, n)).await?;
    let load = loadavg();
    let before = apiserver_requests(&client).await?;
    let cpu_before = cpu_seconds(cluster, None);
    let start = Instant::now();
    let applied = async {
        kubectl_apply(cfg, cluster.kubeconfig_path(), &ns, &file, RAW_MANAGER).await?;
        Ok::<f64, anyhow::Error>(start.elapsed().as_secs_f64())
    };
    let waited = wait_for(
        &tracker,
        format!("raw+ N={n}: Exposures and children"),
        cfg.bound(120.0, 0.5, n),
        |t| t.plus_converged == t.n(),
        |t| {
            format!(
                "{}/{} Exposures with their children",
                t.plus_converged,
                t.n()
            )
        },
    );
    let (applied, _) = tokio::join!(applied, waited);
    let applied = applied?;
    let cpu = cpu_json(&cpu_seconds(cluster, None), &cpu_before);
    let after = apiserver_requests(&client).await?;
    let requests = requests_json(&delta(&after, &before), n);
    wait_for(
        &tracker,
        format!("raw+ N={n}: Deployments available"),
        cfg.bound(120.0, 0.5, n),
        |t| t.available == t.deployments,
        |t| format!("{}/{} Deployments available", t.available, t.deployments),
    )
    .await;
    let (both, available) = {
        let t = tracker.lock().unwrap();
        (
            t.times(start, |i| Some(t.children_at[i]?.max(t.exposure_at[i]?))),
            t.times(start, |i| t.available_at[i]),
        )
    };
    drop(watches);
    let result = json!({
        "phase": "raw+", "pass": pass.name, "n": n, "namespace": ns,
        "objects": docs.len(),
        "kubectl_seconds": applied,
        "converged_seconds": all_after(&both),
        "deployments_available_seconds": all_after(&available),
        "converged": both.iter().flatten().count(),
        "requests": requests,
        "cpu_seconds": cpu,
        "curve": curve(&both),
        "curve_available": curve(&available),
        "loadavg_before": load, "loadavg_after": loadavg(), "quiet_after_seconds": quiet,
    });
    println!(
        "  raw+  N={n:<5} {} objects (Exposures and children) in one kubectl stream: kubectl {applied:.2} s, all exist after {}; Deployments available after {}",
        docs.len(),
        fmt_s(result["converged_seconds"].as_f64()),
        fmt_s(result["deployments_available_seconds"].as_f64()),
    );
    print_requests("until all exist", &result["requests"]);
    print_cpu("until all exist", &result["cpu_seconds"]);
    let cleanup =
        delete_namespaces(&client, std::slice::from_ref(&ns), cfg.bound(120.0, 0.2, n)).await?;
    println!("    namespace deleted in {cleanup:.1} s");
    Ok(result)
}

/// op: the N Exposures in one kubectl apply, the operator running; at the largest N also the
/// restart.
async fn phase_op(
    cfg: &Config,
    cluster: &Cluster,
    pass: &Pass<'_>,
    n: usize,
    restart: bool,
) -> Result<Value> {
    let client = cluster.client();
    let ns = create_namespace(&client, &format!("bench-op-{n}")).await?;
    let dir = cfg.out_dir.join("work").join(&ns);
    std::fs::create_dir_all(&dir)?;
    let work = render(&dir, (0..n).map(|i| exposure(i, &ns, pass.class)).collect()).await?;
    let file = dir.join("exposures.yaml");
    let tracker: Shared = Arc::new(Mutex::new(Tracker::new(&work)));
    let watches = watch(&client, &ns, &work, &tracker).await?;
    let (op, _) = start_operator(cfg, cluster, &ns, &format!("{}-{n}", pass.name)).await?;
    let quiet = wait_quiet(&client, cfg.bound(30.0, 0.05, n)).await?;
    let load = loadavg();
    let op_before = op_snapshot(&op).await?;
    let before = apiserver_requests(&client).await?;
    let cpu_before = cpu_seconds(cluster, Some(&op));
    let start = Instant::now();
    let applied = async {
        kubectl_apply(cfg, cluster.kubeconfig_path(), &ns, &file, USER_MANAGER).await?;
        Ok::<f64, anyhow::Error>(start.elapsed().as_secs_f64())
    };
    let waited = wait_for(
        &tracker,
        format!("op N={n}: children and observed generation"),
        cfg.bound(120.0, 0.5, n),
        |t| t.op_converged == t.n(),
        |t| {
            format!(
                "{}/{} with children, {} observed, {} Ready",
                t.children_done,
                t.n(),
                t.observed,
                t.ready
            )
        },
    );
    let (applied, _) = tokio::join!(applied, waited);
    let applied = applied?;
    let cpu_converged = cpu_seconds(cluster, Some(&op));
    let op_converged = op_snapshot(&op).await?;
    let at_converged = apiserver_requests(&client).await?;
    wait_for(
        &tracker,
        format!("op N={n}: Ready"),
        cfg.bound(120.0, 0.5, n),
        |t| t.ready == t.n(),
        |t| format!("{}/{} Ready", t.ready, t.n()),
    )
    .await;
    let cpu_ready = cpu_seconds(cluster, Some(&op));
    let op_ready = op_snapshot(&op).await?;
    let at_ready = apiserver_requests(&client).await?;
    let (converged, children, ready, available) = {
        let t = tracker.lock().unwrap();
        (
            t.times(start, |i| Some(t.children_at[i]?.max(t.observed_at[i]?))),
            t.times(start, |i| t.children_at[i]),
            t.times(start, |i| t.ready_at[i]),
            t.times(start, |i| t.available_at[i]),
        )
    };
    let operator_converged = operator_json(&op_converged, &op_before, n);
    let operator_ready = operator_json(&op_ready, &op_before, n);
    let mut result = json!({
        "phase": "op", "pass": pass.name, "n": n, "namespace": ns,
        "kubectl_seconds": applied,
        "children_seconds": all_after(&children),
        "converged_seconds": all_after(&converged),
        "ready_seconds": all_after(&ready),
        "deployments_available_seconds": all_after(&available),
        "converged": converged.iter().flatten().count(),
        "ready": ready.iter().flatten().count(),
        "requests": requests_json(&delta(&at_converged, &before), n),
        "requests_until_ready": requests_json(&delta(&at_ready, &before), n),
        "operator": operator_converged,
        "operator_until_ready": operator_ready,
        "cpu_seconds": cpu_json(&cpu_converged, &cpu_before),
        "cpu_seconds_until_ready": cpu_json(&cpu_ready, &cpu_before),
        "curve": curve(&converged),
        "curve_ready": curve(&ready),
        "curve_available": curve(&available),
        "loadavg_before": load, "loadavg_after": loadavg(), "quiet_after_seconds": quiet,
    });
    println!(
        "  op    N={n:<5} kubectl {applied:.2} s; all children exist after {}, and every status observed: {}; all Ready after {}",
        fmt_s(result["children_seconds"].as_f64()),
        fmt_s(result["converged_seconds"].as_f64()),
        fmt_s(result["ready_seconds"].as_f64()),
    );
    print_requests("until children + observed", &result["requests"]);
    print_requests("until Ready", &result["requests_until_ready"]);
    print_cpu("until children + observed", &result["cpu_seconds"]);
    print_operator("until Ready", &result["operator_until_ready"]);
    if restart {
        let r = restart_operator(cfg, cluster, &ns, op, n, pass).await?;
        result["restart"] = r;
    } else {
        op.stop().await?;
    }
    drop(watches);
    let cleanup =
        delete_namespaces(&client, std::slice::from_ref(&ns), cfg.bound(120.0, 0.2, n)).await?;
    println!("    namespace deleted in {cleanup:.1} s");
    Ok(result)
}

fn print_operator(label: &str, o: &Value) {
    let f = |k: &str| o[k].as_f64().unwrap_or(f64::NAN);
    println!(
        "    operator, {label}: {:.2} writes/Exposure, {:.2} reconciles/Exposure, reconcile p50 {:.1} ms p99 {:.1} ms, {} errors, CPU {:.2} s, {:.1} s waiting for the client rate limit, RSS {:.1} → {:.1} MiB (peak {:.1}), {:.1} KiB/Exposure",
        f("writes_per_exposure"),
        f("reconciles_per_exposure"),
        f("reconcile_p50_ms"),
        f("reconcile_p99_ms"),
        f("reconcile_errors"),
        f("cpu_seconds"),
        f("throttled_seconds"),
        f("rss_start_mib"),
        f("rss_end_mib"),
        f("rss_peak_mib"),
        f("rss_kib_per_exposure"),
    );
    let writes: Vec<String> = o["writes_by_kind_verb"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|w| {
            format!(
                "{} {} {:.2}",
                w["verb"].as_str().unwrap_or(""),
                w["kind"].as_str().unwrap_or(""),
                w["per_exposure"].as_f64().unwrap_or(0.0)
            )
        })
        .collect();
    for chunk in writes.chunks(4) {
        println!("      {}", chunk.join(" | "));
    }
}

/// Stops the operator over `n` settled Exposures and starts it again: seconds to `/readyz`,
/// and what it wrote until it had reconciled every Exposure once more (should be nothing).
async fn restart_operator(
    cfg: &Config,
    cluster: &Cluster,
    ns: &str,
    op: Operator,
    n: usize,
    pass: &Pass<'_>,
) -> Result<Value> {
    let client = cluster.client();
    settle_writes(&op, cfg.bound(30.0, 0.02, n)).await?;
    op.stop().await?;
    let before = apiserver_requests(&client).await?;
    // Every Exposure reconciled once after the start (the initial list queues them all).
    let (op, ready_seconds, reconciled_seconds) = start_operator_timed(
        cfg,
        cluster,
        ns,
        &format!("{}-{n}-restart", pass.name),
        Some(n),
    )
    .await?;
    if reconciled_seconds.is_none() {
        eprintln!("[bench]   restart: not all {n} Exposures reconciled in time");
    }
    let zero = OpSnapshot::default();
    // A little longer: anything a reconcile queued right away.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_op = op_snapshot(&op).await?;
    let after = apiserver_requests(&client).await?;
    let operator = operator_json(&after_op, &zero, n);
    // What the start-up's burst left resident once the operator has been at rest a while (two
    // of its periodic heap trims).
    tokio::time::sleep(RESTART_REST).await;
    let rested = op_snapshot(&op).await?;
    op.stop().await?;
    let result = json!({
        "n": n,
        "readyz_seconds": ready_seconds,
        "all_reconciled_seconds": reconciled_seconds,
        "writes": operator["writes"],
        "operator": operator,
        "rss_rested_mib": rested.rss_kib / 1024.0,
        "rested_seconds": RESTART_REST.as_secs(),
        "requests": requests_json(&delta(&after, &before), n),
    });
    println!(
        "  restart over {n} settled Exposures: /readyz 200 after {ready_seconds:.2} s, every Exposure reconciled after {}, writes during start-up: {}, RSS {} MiB (peak {}), {} MiB after {} s at rest",
        fmt_s(reconciled_seconds),
        cell(result["writes"].as_f64(), 0),
        cell(result["operator"]["rss_end_mib"].as_f64(), 1),
        cell(result["operator"]["rss_peak_mib"].as_f64(), 1),
        cell(result["rss_rested_mib"].as_f64(), 1),
        RESTART_REST.as_secs()
    );
    print_requests("during the start-up", &result["requests"]);
    Ok(result)
}

/// One Exposure at a time: the operator (apply the Exposure → every child exists) against its
/// children applied with the kube client (server-side apply, one after the other); both end
/// when the watch has seen the last child.
async fn single_trials(cfg: &Config, cluster: &Cluster) -> Result<Value> {
    let client = cluster.client();
    let trials = cfg.trials;
    let op_ns = create_namespace(&client, "bench-single-op").await?;
    let raw_ns = create_namespace(&client, "bench-single-raw").await?;
    let dir = cfg.out_dir.join("work").join(&op_ns);
    std::fs::create_dir_all(&dir)?;
    // Internal, not headless: the most common Exposure of the mix (i % 20 == 0 is Internal).
    let exposures: Vec<Value> = (0..trials)
        .map(|k| {
            let mut e = exposure(0, &op_ns, None);
            e["metadata"]["name"] = json!(format!("single-{k:03}"));
            if let Some(spec) = e["spec"].as_object_mut() {
                spec.remove("headless");
            }
            e
        })
        .collect();
    let work = render(&dir, exposures).await?;
    let children_per = work.children_of(0).count();

    // Raw: the kube client applies the children one after the other.
    let raw_tracker: Shared = Arc::new(Mutex::new(Tracker::new(&work)));
    let raw_watches = watch(&client, &raw_ns, &work, &raw_tracker).await?;
    let mut resources: HashMap<(String, String), ApiResource> = HashMap::new();
    for (api_version, kind) in &work.kinds {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let (ar, _) =
            kube::discovery::pinned_kind(&client, &GroupVersionKind::gvk(group, version, kind))
                .await?;
        resources.insert((api_version.clone(), kind.clone()), ar);
    }
    let mut raw = Vec::new();
    for k in 0..trials {
        let started = Instant::now();
        for child in work.children_of(k) {
            let key = (
                child["apiVersion"].as_str().unwrap_or("").to_string(),
                child["kind"].as_str().unwrap_or("").to_string(),
            );
            let api: Api<DynamicObject> =
                Api::namespaced_with(client.clone(), &raw_ns, &resources[&key]);
            let name = child["metadata"]["name"].as_str().unwrap_or("");
            api.patch(
                name,
                &PatchParams::apply(RAW_MANAGER).force(),
                &Patch::Apply(child),
            )
            .await?;
        }
        let ok = wait_for(
            &raw_tracker,
            format!("single raw trial {k}"),
            Duration::from_secs(30),
            |t| t.children_at[k].is_some(),
            |_| String::new(),
        )
        .await;
        let t = raw_tracker.lock().unwrap();
        raw.push(
            ok.then(|| {
                t.children_at[k].map(|at| at.saturating_duration_since(started).as_secs_f64())
            })
            .flatten(),
        );
    }
    drop(raw_watches);

    // Operator: apply the Exposure with the kube client.
    let op_tracker: Shared = Arc::new(Mutex::new(Tracker::new(&work)));
    let op_watches = watch(&client, &op_ns, &work, &op_tracker).await?;
    let (op, _) = start_operator(cfg, cluster, &op_ns, "single").await?;
    let exposures: Api<Exposure> = Api::namespaced(client.clone(), &op_ns);
    let mut op_children = Vec::new();
    let mut op_observed = Vec::new();
    for k in 0..trials {
        let e = &work.exposures[k];
        let name = e["metadata"]["name"].as_str().unwrap_or("");
        let started = Instant::now();
        exposures
            .patch(
                name,
                &PatchParams::apply(USER_MANAGER).force(),
                &Patch::Apply(e),
            )
            .await?;
        wait_for(
            &op_tracker,
            format!("single operator trial {k}"),
            Duration::from_secs(30),
            |t| t.children_at[k].is_some() && t.observed_at[k].is_some(),
            |_| String::new(),
        )
        .await;
        let t = op_tracker.lock().unwrap();
        let since =
            |at: Option<Instant>| at.map(|a| a.saturating_duration_since(started).as_secs_f64());
        op_children.push(since(t.children_at[k]));
        op_observed.push(since(
            t.children_at[k]
                .zip(t.observed_at[k])
                .map(|(a, b)| a.max(b)),
        ));
    }
    op.stop().await?;
    drop(op_watches);
    delete_namespaces(&client, &[op_ns, raw_ns], cfg.bound(120.0, 0.0, 0)).await?;

    let stats = |v: &[Option<f64>]| {
        let s = sorted(v);
        let q = |p: f64| -> Option<f64> {
            if s.is_empty() {
                None
            } else {
                Some(s[((s.len() - 1) as f64 * p).round() as usize] * 1000.0)
            }
        };
        json!({"p50_ms": q(0.5), "p90_ms": q(0.9), "min_ms": q(0.0), "max_ms": q(1.0), "completed": s.len(), "trials_ms": s.iter().map(|x| round3(x * 1000.0)).collect::<Vec<_>>()})
    };
    let result = json!({
        "trials": trials,
        "exposure": "Internal, 1 replica, not headless",
        "children_per_exposure": children_per,
        "operator_children": stats(&op_children),
        "operator_children_and_status": stats(&op_observed),
        "raw_children": stats(&raw),
    });
    let p = |v: &Value| v["p50_ms"].as_f64().unwrap_or(f64::NAN);
    println!(
        "single Exposure ({children_per} children), {trials} trials: operator apply → children p50 {:.1} ms (p90 {:.1}), → children and status p50 {:.1} ms; raw apply of the children p50 {:.1} ms (p90 {:.1}); ratio {:.2}",
        p(&result["operator_children"]),
        result["operator_children"]["p90_ms"].as_f64().unwrap_or(f64::NAN),
        p(&result["operator_children_and_status"]),
        p(&result["raw_children"]),
        result["raw_children"]["p90_ms"].as_f64().unwrap_or(f64::NAN),
        p(&result["operator_children"]) / p(&result["raw_children"]),
    );
    Ok(result)
}

/// A StorageClass of node-sim's simulated provisioner, for the storage pass.
async fn create_class(client: &Client) -> Result<String> {
    let name = format!("bench-sim-{}", random_suffix());
    let sc: StorageClass = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {BENCH_LABEL: "true"}},
        "provisioner": "exposure.dev/simulated",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }))?;
    Api::<StorageClass>::all(client.clone())
        .create(&PostParams::default(), &sc)
        .await?;
    Ok(name)
}

/// Deletes the class once its volumes are gone (bounded wait).
async fn delete_class(client: &Client, name: &str, timeout: Duration) -> Result<()> {
    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let started = Instant::now();
    loop {
        let left = pvs
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|pv| {
                pv.spec
                    .as_ref()
                    .and_then(|s| s.storage_class_name.as_deref())
                    == Some(name)
            })
            .count();
        if left == 0 {
            break;
        }
        if started.elapsed() > timeout {
            eprintln!("[bench] {left} volumes of {name} left after {timeout:?}; deleting the class anyway");
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    match Api::<StorageClass>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn leftovers(client: &Client) -> Result<()> {
    let selector = ListParams::default().labels(&format!("{BENCH_LABEL}=true"));
    let names: Vec<String> = Api::<Namespace>::all(client.clone())
        .list(&selector)
        .await?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    if !names.is_empty() {
        eprintln!(
            "[bench] deleting {} namespaces an earlier run left",
            names.len()
        );
        delete_namespaces(client, &names, Duration::from_secs(600)).await?;
    }
    for sc in Api::<StorageClass>::all(client.clone())
        .list(&selector)
        .await?
        .items
    {
        if let Some(name) = sc.metadata.name {
            delete_class(client, &name, Duration::from_secs(120)).await?;
        }
    }
    Ok(())
}

// ---- summary --------------------------------------------------------------------------------

/// T_op/T_raw+ of every pair measured at (pass, n), in the order measured: the first pair and
/// the repeats (`repeat` k holds the k-th repeat's raw+ and op).
fn pair_ratios(results: &[Value], pass: &str, n: u64) -> Vec<f64> {
    let seconds = |phase: &str, repeat: &Value| {
        results
            .iter()
            .find(|r| {
                r["pass"] == pass && r["n"] == n && r["phase"] == phase && r["repeat"] == *repeat
            })
            .and_then(|r| r["converged_seconds"].as_f64())
    };
    let mut repeats = vec![Value::Null];
    repeats.extend(
        results
            .iter()
            .filter(|r| r["pass"] == pass && r["n"] == n && r["phase"] == "op")
            .map(|r| r["repeat"].clone())
            .filter(|k| !k.is_null()),
    );
    repeats
        .iter()
        .filter_map(|k| ratio(seconds("op", k), seconds("raw+", k)))
        .collect()
}

fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() {
        0 => None,
        len if len % 2 == 1 => v.get(mid).copied(),
        _ => Some((v[mid - 1] + v[mid]) / 2.0),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?).filter(|r| r.is_finite())
}

/// ", over 3 pairs: 0.85, 0.93, 1.02 (median 0.93)", or nothing for a single pair.
fn pairs_note(row: &Value) -> String {
    let pairs: Vec<String> = row["t_op_over_t_raw_plus_pairs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .map(|x| format!("{x:.2}"))
        .collect();
    if pairs.len() < 2 {
        return String::new();
    }
    format!(
        ", over {} pairs: {} (median {})",
        pairs.len(),
        pairs.join(", "),
        cell(row["t_op_over_t_raw_plus_median"].as_f64(), 2)
    )
}

fn cell(x: Option<f64>, digits: usize) -> String {
    x.map_or("–".to_string(), |v| format!("{v:.digits$}"))
}

fn summary_rows(results: &[Value]) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut keys: Vec<(String, u64)> = Vec::new();
    for r in results {
        let key = (
            r["pass"].as_str().unwrap_or("").to_string(),
            r["n"].as_u64().unwrap_or(0),
        );
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    for (pass, n) in keys {
        let find = |phase: &str| {
            results.iter().find(|r| {
                r["pass"] == pass.as_str()
                    && r["n"] == n
                    && r["phase"] == phase
                    && r["repeat"].is_null()
            })
        };
        let pairs = pair_ratios(results, &pass, n);
        let (raw, plus, op) = (find("raw"), find("raw+"), find("op"));
        let t = |r: Option<&Value>, k: &str| r.and_then(|r| r[k].as_f64());
        let opv = |k: &str| op.and_then(|o| o["operator_until_ready"][k].as_f64());
        let t_raw = t(raw, "converged_seconds");
        let t_plus = t(plus, "converged_seconds");
        let t_op = t(op, "converged_seconds");
        rows.push(json!({
            "pass": pass, "n": n,
            "t_raw": t_raw, "t_raw_plus": t_plus, "t_op": t_op,
            "t_op_ready": t(op, "ready_seconds"),
            "t_raw_available": t(raw, "deployments_available_seconds"),
            "t_op_over_t_raw": ratio(t_op, t_raw),
            "t_op_over_t_raw_plus": ratio(t_op, t_plus),
            "t_op_over_t_raw_plus_pairs": pairs,
            "t_op_over_t_raw_plus_median": median(&pairs),
            "operator_writes_per_exposure": opv("writes_per_exposure"),
            "apiserver_writes_per_exposure": op.and_then(|o| o["requests_until_ready"]["writes_per_exposure"].as_f64()),
            "apiserver_reads_per_exposure": op.and_then(|o| o["requests_until_ready"]["reads_per_exposure"].as_f64()),
            "raw_apiserver_writes_per_exposure": raw.and_then(|o| o["requests"]["writes_per_exposure"].as_f64()),
            "reconciles_per_exposure": opv("reconciles_per_exposure"),
            "reconcile_p50_ms": opv("reconcile_p50_ms"),
            "reconcile_p99_ms": opv("reconcile_p99_ms"),
            "cpu_seconds": opv("cpu_seconds"),
            "throttled_seconds": op.and_then(|o| o["operator"]["throttled_seconds"].as_f64()),
            "rss_start_mib": opv("rss_start_mib"),
            "rss_end_mib": opv("rss_end_mib"),
            "rss_kib_per_exposure": opv("rss_kib_per_exposure"),
        }));
    }
    rows
}

fn markdown(rows: &[Value], results: &[Value], single: &Value, meta: &Value) -> String {
    let mut md = String::new();
    md.push_str(&format!(
        "Convergence benchmark, {} ({} CPUs, load average {} at the start, {} at the end), operator `--concurrency {}{}`.\n\n",
        meta["kubernetes"].as_str().unwrap_or("?"),
        meta["cpus"],
        meta["loadavg_start"].as_str().unwrap_or(""),
        meta["loadavg_end"].as_str().unwrap_or(""),
        meta["concurrency"],
        meta["operator_args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .fold(String::new(), |line, arg| line + " " + arg),
    ));
    md.push_str("| pass | N | T_raw s | T_raw+ s | T_op s | T_op Ready s | T_op/T_raw | T_op/T_raw+ | operator writes/Exp | API writes/Exp (op, all clients) | API reads/Exp | reconciles/Exp | reconcile p50 ms | p99 ms | operator CPU s | waited for the rate limit s | RSS MiB start → Ready | RSS KiB/Exp |\n");
    md.push_str(
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let f = |k: &str, d: usize| cell(r[k].as_f64(), d);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} → {} | {} |\n",
            r["pass"].as_str().unwrap_or(""),
            r["n"],
            f("t_raw", 2),
            f("t_raw_plus", 2),
            f("t_op", 2),
            f("t_op_ready", 2),
            f("t_op_over_t_raw", 2),
            f("t_op_over_t_raw_plus", 2),
            f("operator_writes_per_exposure", 2),
            f("apiserver_writes_per_exposure", 2),
            f("apiserver_reads_per_exposure", 2),
            f("reconciles_per_exposure", 2),
            f("reconcile_p50_ms", 1),
            f("reconcile_p99_ms", 1),
            f("cpu_seconds", 2),
            f("throttled_seconds", 1),
            f("rss_start_mib", 1),
            f("rss_end_mib", 1),
            f("rss_kib_per_exposure", 1),
        ));
    }
    for r in rows {
        let note = pairs_note(r);
        if !note.is_empty() {
            md.push_str(&format!(
                "\nT_op/T_raw+ at {} N={}{} (the first pair is the row above; the repeats alternate which runs first).\n",
                r["pass"].as_str().unwrap_or(""),
                r["n"],
                note
            ));
        }
    }
    let restarts: Vec<&Value> = results.iter().filter(|r| !r["restart"].is_null()).collect();
    if !restarts.is_empty() {
        md.push_str("\n| restart | N settled | /readyz 200 after s | every Exposure reconciled after s | writes during start-up | API reads/Exp during start-up | RSS MiB after start-up (peak) | RSS MiB at rest after |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in restarts {
            let s = &r["restart"];
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} ({}) | {} ({} s) |\n",
                r["pass"].as_str().unwrap_or(""),
                s["n"],
                cell(s["readyz_seconds"].as_f64(), 2),
                cell(s["all_reconciled_seconds"].as_f64(), 2),
                cell(s["writes"].as_f64(), 0),
                cell(s["requests"]["reads_per_exposure"].as_f64(), 2),
                cell(s["operator"]["rss_end_mib"].as_f64(), 1),
                cell(s["operator"]["rss_peak_mib"].as_f64(), 1),
                cell(s["rss_rested_mib"].as_f64(), 1),
                s["rested_seconds"],
            ));
        }
    }
    if !single.is_null() {
        let q = |k: &str, p: &str| cell(single[k][p].as_f64(), 1);
        md.push_str(&format!(
            "\n| one Exposure ({} children), {} trials | p50 ms | p90 ms |\n|---|---:|---:|\n| operator: apply → all children exist | {} | {} |\n| operator: apply → children and status | {} | {} |\n| raw: its children applied with the kube client | {} | {} |\n",
            single["children_per_exposure"],
            single["trials"],
            q("operator_children", "p50_ms"),
            q("operator_children", "p90_ms"),
            q("operator_children_and_status", "p50_ms"),
            q("operator_children_and_status", "p90_ms"),
            q("raw_children", "p50_ms"),
            q("raw_children", "p90_ms"),
        ));
    }
    md.push_str("\nRequests per Exposure by verb and resource (API server `apiserver_request_total`, all clients; ≥ 0.05 per Exposure):\n");
    for r in results {
        let windows: &[(&str, &str)] = if r["phase"] == "op" {
            &[
                ("requests", "until children + observed"),
                ("requests_until_ready", "until Ready"),
            ]
        } else {
            &[("requests", "until all exist")]
        };
        for (key, label) in windows {
            let rows: Vec<String> = r[*key]["by_verb_resource"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter(|x| x["per_exposure"].as_f64().unwrap_or(0.0) >= 0.05)
                .map(|x| {
                    format!(
                        "{} {} {:.2}",
                        x["verb"].as_str().unwrap_or(""),
                        x["resource"].as_str().unwrap_or(""),
                        x["per_exposure"].as_f64().unwrap_or(0.0)
                    )
                })
                .collect();
            md.push_str(&format!(
                "\n* {} N={} {}{} {}: {}\n",
                r["pass"].as_str().unwrap_or(""),
                r["n"],
                r["phase"].as_str().unwrap_or(""),
                r["repeat"]
                    .as_u64()
                    .map(|k| format!(" (pair {})", k + 1))
                    .unwrap_or_default(),
                label,
                rows.join(", ")
            ));
        }
        if r["phase"] == "op" {
            let w: Vec<String> = r["operator_until_ready"]["writes_by_kind_verb"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|x| {
                    format!(
                        "{} {} {:.2}",
                        x["verb"].as_str().unwrap_or(""),
                        x["kind"].as_str().unwrap_or(""),
                        x["per_exposure"].as_f64().unwrap_or(0.0)
                    )
                })
                .collect();
            md.push_str(&format!(
                "  * operator's own `exposure_api_writes_total` until Ready: {}\n",
                w.join(", ")
            ));
        }
    }
    md
}

/// Least-squares slope of RSS at Ready over N (KiB per Exposure), across the sizes of a pass.
fn rss_slope(rows: &[Value], pass: &str) -> Option<f64> {
    let pts: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r["pass"] == pass)
        .filter_map(|r| Some((r["n"].as_f64()?, r["rss_end_mib"].as_f64()? * 1024.0)))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let k = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / k,
        pts.iter().map(|p| p.1).sum::<f64>() / k,
    );
    let var: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    (var > 0.0).then(|| pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / var)
}

// ---- main -----------------------------------------------------------------------------------

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let cfg = Config::from_env()?;
    std::fs::create_dir_all(&cfg.out_dir)?;
    let cluster = cluster().await?;
    let client = cluster.client();
    install_crd(&cluster).await?;
    leftovers(&client).await?;
    let version = client.apiserver_version().await?.git_version;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load_start = loadavg();
    println!(
        "convergence benchmark: Kubernetes {version}, {cpus} CPUs, load average {load_start}; sizes {:?}, storage sizes {:?}, concurrency {}, output {}",
        cfg.sizes,
        cfg.storage_sizes,
        cfg.concurrency,
        cfg.out_dir.display()
    );
    println!("  mix of every 20 Exposures: 12 Internal, 5 Ingress, 2 NodePort, 1 LoadBalancer; a quarter headless; 1 replica each");

    let single = if cfg.trials > 0 {
        single_trials(&cfg, &cluster).await?
    } else {
        Value::Null
    };

    let mut results = Vec::new();
    let mut class = None;
    let passes: Vec<(&str, &[usize])> = vec![("base", &cfg.sizes), ("storage", &cfg.storage_sizes)];
    for (pass_name, sizes) in passes {
        if sizes.is_empty() {
            continue;
        }
        if pass_name == "storage" {
            class = Some(create_class(&client).await?);
        }
        let pass = Pass {
            name: if pass_name == "base" {
                "base"
            } else {
                "storage"
            },
            class: class.as_deref(),
        };
        let largest = sizes.iter().copied().max().unwrap_or(0);
        for &n in sizes {
            println!(
                "[{} N={n}]{}",
                pass.name,
                if pass.class.is_some() {
                    " one simulated 1Gi volume per Exposure"
                } else {
                    ""
                }
            );
            if cfg.raw {
                results.push(phase_raw(&cfg, &cluster, &pass, n).await?);
                results.push(phase_raw_plus(&cfg, &cluster, &pass, n).await?);
            }
            results.push(phase_op(&cfg, &cluster, &pass, n, n == largest).await?);
            // More pairs, in alternating order so that a drift of the machine's load does not
            // always favour the same side.
            let repeats = if cfg.raw && pass.class.is_none() {
                cfg.pairs - 1
            } else {
                0
            };
            for k in 1..=repeats {
                println!("  pair {} of {}", k + 1, cfg.pairs);
                let mut pair = Vec::new();
                if k % 2 == 1 {
                    pair.push(phase_op(&cfg, &cluster, &pass, n, false).await?);
                    pair.push(phase_raw_plus(&cfg, &cluster, &pass, n).await?);
                } else {
                    pair.push(phase_raw_plus(&cfg, &cluster, &pass, n).await?);
                    pair.push(phase_op(&cfg, &cluster, &pass, n, false).await?);
                }
                for mut r in pair {
                    r["repeat"] = json!(k);
                    results.push(r);
                }
            }
            let rows = summary_rows(&results);
            if let Some(r) = rows.iter().find(|r| r["pass"] == pass.name && r["n"] == n) {
                println!(
                    "  → T_op/T_raw {} , T_op/T_raw+ {}{}",
                    cell(r["t_op_over_t_raw"].as_f64(), 2),
                    cell(r["t_op_over_t_raw_plus"].as_f64(), 2),
                    pairs_note(r)
                );
            }
        }
        if let Some(name) = &class {
            delete_class(&client, name, cfg.bound(120.0, 0.1, largest)).await?;
        }
    }

    let rows = summary_rows(&results);
    let meta = json!({
        "kubernetes": version,
        "cpus": cpus,
        "concurrency": cfg.concurrency,
        "operator_args": cfg.operator_args,
        "sizes": cfg.sizes,
        "storage_sizes": cfg.storage_sizes,
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
        "rss_slope_kib_per_exposure": {
            "base": rss_slope(&rows, "base"),
            "storage": rss_slope(&rows, "storage"),
        },
    });
    let md = markdown(&rows, &results, &single, &meta);
    println!("\n{md}");
    for pass in ["base", "storage"] {
        if let Some(s) = meta["rss_slope_kib_per_exposure"][pass].as_f64() {
            println!("RSS at Ready over N ({pass}): {s:.1} KiB per Exposure (least squares over the sizes)");
        }
    }
    let json_out = json!({
        "meta": meta,
        "summary": rows,
        "single": single,
        "phases": results,
    });
    std::fs::write(
        cfg.out_dir.join("convergence.json"),
        serde_json::to_string_pretty(&json_out)?,
    )?;
    std::fs::write(cfg.out_dir.join("convergence.md"), md)?;
    println!(
        "wrote {} and {}",
        cfg.out_dir.join("convergence.json").display(),
        cfg.out_dir.join("convergence.md").display()
    );
    Ok(())
}

//! Test harness for exposure-operator's end-to-end tests against the local control plane
//! (`e2e/cluster`, see `e2e/README.md`).
//!
//! ```no_run
//! use exposure_e2e::{cluster, wait_for, TestNamespace};
//! use k8s_openapi::api::apps::v1::Deployment;
//! use std::time::Duration;
//!
//! #[tokio::test]
//! async fn deployment_becomes_available() -> anyhow::Result<()> {
//!     let cluster = cluster().await?;                       // starts the cluster once, or reuses it
//!     let ns = TestNamespace::new(&cluster, "demo").await?; // fresh namespace, deleted afterwards
//!     exposure_e2e::apply_yaml(&cluster.client(), ns.name(), "apiVersion: apps/v1\nkind: Deployment\n...").await?;
//!     let deployments = ns.api::<Deployment>();
//!     wait_for(&deployments, "web", "2 available replicas", Duration::from_secs(60), |d| {
//!         d.status.as_ref().and_then(|s| s.available_replicas) == Some(2)
//!     })
//!     .await?;
//!     ns.cleanup().await
//! }
//! ```
//!
//! * [`cluster()`] honours `EXPOSURE_E2E_KUBECONFIG=<path>` (use that cluster, start nothing;
//!   `EXPOSURE_E2E_USER_KUBECONFIG` or a `user.kubeconfig` next to it gives the unprivileged
//!   user). Otherwise it runs `e2e/cluster up` once per test process; the script serializes
//!   concurrent callers (several test binaries) with a file lock and is idempotent.
//! * Everything here only talks to the API server named in the kubeconfig (127.0.0.1).
//! * [`health_engines`]: kstatus and Argo CD's Lua engine on objects (e2e/tools).

pub mod dedicated;
pub mod gateway;
pub mod health_engines;
pub mod heketi;

use std::fmt::Debug;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use k8s_openapi::api::core::v1::{Event, Namespace, ServiceAccount};
use kube::api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

/// Label put on every [`TestNamespace`].
pub const E2E_LABEL: &str = "exposure.dev/e2e";
/// Use an existing cluster (admin kubeconfig path) instead of starting the local one.
pub const KUBECONFIG_ENV: &str = "EXPOSURE_E2E_KUBECONFIG";
/// With [`KUBECONFIG_ENV`]: kubeconfig of an unprivileged user (default: `user.kubeconfig`
/// next to the admin kubeconfig, if present).
pub const USER_KUBECONFIG_ENV: &str = "EXPOSURE_E2E_USER_KUBECONFIG";
/// Set to `1` to keep test namespaces after the tests (for debugging).
pub const KEEP_NAMESPACES_ENV: &str = "EXPOSURE_E2E_KEEP_NAMESPACES";
/// Field manager used by [`apply_yaml`].
pub const FIELD_MANAGER: &str = "exposure-e2e";

/// A running cluster: admin client and kubeconfig paths.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    kubeconfig: PathBuf,
    user_kubeconfig: Option<PathBuf>,
}

#[derive(Clone, Debug)]
struct Paths {
    kubeconfig: PathBuf,
    user_kubeconfig: Option<PathBuf>,
}

static PATHS: OnceLock<Result<Paths, String>> = OnceLock::new();

/// The path of the `e2e/cluster` script.
pub fn cluster_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cluster")
}

/// Returns the test cluster, starting it (once per process) unless `EXPOSURE_E2E_KUBECONFIG`
/// names an existing one. Each call builds a fresh admin [`Client`] bound to the caller's tokio
/// runtime (every `#[tokio::test]` has its own runtime).
pub async fn cluster() -> Result<Cluster> {
    let paths = tokio::task::spawn_blocking(|| {
        PATHS
            .get_or_init(|| init_paths().map_err(|e| format!("{e:#}")))
            .clone()
    })
    .await
    .context("cluster setup task")?
    .map_err(|e| anyhow!("test cluster unavailable: {e}"))?;
    let client = client_for(&paths.kubeconfig).await?;
    Ok(Cluster {
        client,
        kubeconfig: paths.kubeconfig,
        user_kubeconfig: paths.user_kubeconfig,
    })
}

fn init_paths() -> Result<Paths> {
    if let Some(kc) = std::env::var_os(KUBECONFIG_ENV).filter(|v| !v.is_empty()) {
        let kubeconfig = PathBuf::from(kc);
        anyhow::ensure!(
            kubeconfig.is_file(),
            "{KUBECONFIG_ENV}={} is not a file",
            kubeconfig.display()
        );
        let user_kubeconfig = std::env::var_os(USER_KUBECONFIG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| Some(kubeconfig.with_file_name("user.kubeconfig")).filter(|p| p.is_file()));
        return Ok(Paths {
            kubeconfig,
            user_kubeconfig,
        });
    }
    let script = cluster_script();
    // stderr is inherited so that progress (and any error with its log path) is visible.
    let out = std::process::Command::new(&script)
        .arg("up")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {} up", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "`{} up` failed ({}); see its error line above",
            script.display(),
            out.status
        );
    }
    let kubeconfig = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("export KUBECONFIG="))
        .map(|p| PathBuf::from(p.trim()))
        .ok_or_else(|| {
            anyhow!(
                "`{} up` printed no `export KUBECONFIG=` line",
                script.display()
            )
        })?;
    let user = kubeconfig.with_file_name("user.kubeconfig");
    Ok(Paths {
        user_kubeconfig: user.is_file().then_some(user),
        kubeconfig,
    })
}

/// A [`Client`] for the given kubeconfig file (its current context).
pub async fn client_for(kubeconfig: &Path) -> Result<Client> {
    let kc = Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .with_context(|| format!("loading {}", kubeconfig.display()))?;
    Client::try_from(config).context("building kube client")
}

impl Cluster {
    /// Admin (system:masters) client.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Admin kubeconfig.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Kubeconfig of user `alice` (only `system:authenticated`), for RBAC tests. `None` for an
    /// external cluster without `EXPOSURE_E2E_USER_KUBECONFIG` or `user.kubeconfig`.
    pub fn user_kubeconfig_path(&self) -> Option<&Path> {
        self.user_kubeconfig.as_deref()
    }

    /// Client for the unprivileged user (see [`Cluster::user_kubeconfig_path`]).
    pub async fn user_client(&self) -> Result<Client> {
        let path = self
            .user_kubeconfig_path()
            .context("no unprivileged user kubeconfig for this cluster")?;
        client_for(path).await
    }

    /// A client authenticating with a bearer token (e.g. a ServiceAccount token from
    /// TokenRequest) against this cluster, trusting the admin kubeconfig's CA.
    pub async fn token_client(&self, token: &str) -> Result<Client> {
        let kc = Kubeconfig::read_from(&self.kubeconfig)?;
        let mut config =
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
        config.auth_info = kube::config::AuthInfo {
            token: Some(token.to_string().into()),
            ..Default::default()
        };
        Client::try_from(config).context("building token client")
    }

    /// Returns a guard that deletes the cluster-scoped object `<resource>/<name>` (e.g.
    /// `storageclass`, `my-class`) with kubectl when dropped, even if the test fails.
    pub fn delete_on_drop(&self, resource: &str, name: &str) -> DeleteOnDrop {
        DeleteOnDrop {
            kubeconfig: self.kubeconfig.clone(),
            resource: resource.to_string(),
            name: name.to_string(),
        }
    }

    /// Runs `kubectl --kubeconfig <admin> <args>` (see [`kubectl`]).
    pub async fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        kubectl(&self.kubeconfig, args, stdin).await
    }
}

/// See [`Cluster::delete_on_drop`].
pub struct DeleteOnDrop {
    kubeconfig: PathBuf,
    resource: String,
    name: String,
}

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args([
                "delete",
                &self.resource,
                &self.name,
                "--ignore-not-found",
                "--wait=false",
                "--request-timeout=10s",
            ])
            .stdin(Stdio::null())
            .output();
    }
}

/// Runs `kubectl --kubeconfig <kubeconfig> <args>`, feeding `stdin`; returns stdout, or an error
/// with the exit status and stderr.
pub async fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut child = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("spawning kubectl")?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())
            .await
            .context("writing kubectl stdin")?;
        drop(pipe);
    }
    let out = child
        .wait_with_output()
        .await
        .context("waiting for kubectl")?;
    if !out.status.success() {
        bail!(
            "kubectl {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Server-side applies every document of a (multi-document) YAML string through the dynamic
/// API (field manager [`FIELD_MANAGER`], forced). Namespaced objects without
/// `metadata.namespace` go to `namespace`. Returns the applied objects in order.
///
/// Kubernetes 1.20's server-side apply rejects list items that omit a key field: always set
/// `protocol` on container ports and Service ports.
pub async fn apply_yaml(
    client: &Client,
    namespace: &str,
    yaml: &str,
) -> Result<Vec<DynamicObject>> {
    let mut applied = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(yaml) {
        let value = serde_yaml::Value::deserialize(doc).context("parsing YAML")?;
        if value.is_null() {
            continue;
        }
        let mut obj: DynamicObject =
            serde_yaml::from_value(value).context("YAML document is not a Kubernetes object")?;
        let types = obj
            .types
            .clone()
            .context("object without apiVersion/kind")?;
        let gvk = GroupVersionKind::try_from(&types).map_err(|e| anyhow!("{e}"))?;
        let (ar, caps) = discovery::pinned_kind(client, &gvk)
            .await
            .with_context(|| format!("discovering {}/{}", types.api_version, types.kind))?;
        let name = obj
            .metadata
            .name
            .clone()
            .context("object without metadata.name")?;
        let api: Api<DynamicObject> = if caps.scope == Scope::Namespaced {
            let ns = obj
                .metadata
                .namespace
                .get_or_insert_with(|| namespace.to_string())
                .clone();
            Api::namespaced_with(client.clone(), &ns, &ar)
        } else {
            Api::all_with(client.clone(), &ar)
        };
        let result = api
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&obj),
            )
            .await
            .with_context(|| format!("applying {} {name}", types.kind))?;
        applied.push(result);
    }
    Ok(applied)
}

/// A random lowercase-hex suffix (8 characters) for unique object names.
pub fn random_suffix() -> String {
    let mut b = [0u8; 4];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok();
    if !ok {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        b = (n ^ std::process::id()).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `<prefix>-<random suffix>`, with the prefix reduced to a valid DNS label part.
pub fn unique_name(prefix: &str) -> String {
    let mut p: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    p.truncate(40);
    let p = p.trim_matches('-');
    if p.is_empty() {
        format!("e2e-{}", random_suffix())
    } else {
        format!("{p}-{}", random_suffix())
    }
}

/// A fresh namespace labelled `exposure.dev/e2e=true`. Delete it with [`TestNamespace::cleanup`]
/// (waits until it is gone); if dropped without cleanup (e.g. a failed test), it is deleted in
/// the background by `kubectl delete --wait=false` — after dumping its contents to stderr when
/// the thread is panicking. `EXPOSURE_E2E_KEEP_NAMESPACES=1` keeps namespaces.
pub struct TestNamespace {
    name: String,
    client: Client,
    kubeconfig: PathBuf,
    done: bool,
}

impl TestNamespace {
    /// Creates `<prefix>-<random>` and waits until its `default` ServiceAccount exists (with its
    /// token Secret on clusters before 1.24), so Pods can be created right away.
    pub async fn new(cluster: &Cluster, prefix: &str) -> Result<TestNamespace> {
        let name = unique_name(prefix);
        let client = cluster.client();
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": { "name": name, "labels": { E2E_LABEL: "true" } },
        }))?;
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("creating namespace {name}"))?;
        let this = TestNamespace {
            name,
            client: client.clone(),
            kubeconfig: cluster.kubeconfig.clone(),
            done: false,
        };
        let needs_token = match client.apiserver_version().await {
            Ok(v) => v
                .minor
                .trim_end_matches('+')
                .parse::<u32>()
                .map(|m| m < 24)
                .unwrap_or(false),
            Err(_) => false,
        };
        let sas: Api<ServiceAccount> = Api::namespaced(client, &this.name);
        wait_for(
            &sas,
            "default",
            "the default ServiceAccount (and its token)",
            Duration::from_secs(60),
            |sa| !needs_token || sa.secrets.as_ref().is_some_and(|s| !s.is_empty()),
        )
        .await?;
        Ok(this)
    }

    /// The namespace name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An `Api<K>` in this namespace (admin client).
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Deletes the namespace and waits (up to 2 minutes) until it is gone.
    pub async fn cleanup(mut self) -> Result<()> {
        self.done = true;
        if keep_namespaces() {
            eprintln!(
                "[e2e] keeping namespace {} ({KEEP_NAMESPACES_ENV})",
                self.name
            );
            return Ok(());
        }
        let api: Api<Namespace> = Api::all(self.client.clone());
        match api.delete(&self.name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("deleting namespace {}", self.name)),
        }
        wait_for_deletion(&api, &self.name, Duration::from_secs(120)).await
    }
}

fn keep_namespaces() -> bool {
    std::env::var(KEEP_NAMESPACES_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let kubectl_sync = |args: &[&str]| {
            std::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args(args)
                .stdin(Stdio::null())
                .output()
        };
        if std::thread::panicking() {
            if let Ok(out) = kubectl_sync(&[
                "get",
                "all,events,pvc,ingress,endpoints,resourcequota",
                "-n",
                &self.name,
                "-o",
                "wide",
                "--request-timeout=10s",
            ]) {
                eprintln!(
                    "[e2e] test failed; contents of namespace {}:\n{}{}",
                    self.name,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        if keep_namespaces() {
            eprintln!(
                "[e2e] keeping namespace {} ({KEEP_NAMESPACES_ENV})",
                self.name
            );
            return;
        }
        let _ = kubectl_sync(&[
            "delete",
            "namespace",
            &self.name,
            "--wait=false",
            "--ignore-not-found",
            "--request-timeout=10s",
        ]);
    }
}

/// Polls `api.get(name)` (every 250 ms) until `predicate` holds and returns the object. On
/// timeout the error names `description` and includes the last seen object as YAML (without
/// managedFields) and the events about it.
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    description: &str,
    timeout: Duration,
    predicate: impl Fn(&K) -> bool,
) -> Result<K>
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
    K::DynamicType: Default,
{
    let deadline = Instant::now() + timeout;
    let mut last: Option<K> = None;
    let mut last_err: Option<String>;
    loop {
        match api.get_opt(name).await {
            Ok(Some(obj)) => {
                if predicate(&obj) {
                    return Ok(obj);
                }
                (last, last_err) = (Some(obj), None);
            }
            Ok(None) => (last, last_err) = (None, None),
            Err(e) => last_err = Some(e.to_string()),
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let kind = K::kind(&Default::default()).to_string();
    let ns = api.namespace().map(|n| format!("{n}/")).unwrap_or_default();
    let mut msg =
        format!("timed out after {timeout:?} waiting for {description} ({kind} {ns}{name})");
    match &last {
        Some(obj) => msg.push_str(&format!(
            "\n--- last seen {kind} {ns}{name}:\n{}",
            to_yaml(obj)
        )),
        None => msg.push_str(&format!("\n--- {kind} {ns}{name} does not exist")),
    }
    if let Some(e) = last_err {
        msg.push_str(&format!("\n--- last API error: {e}"));
    }
    if let Some(namespace) = api.namespace() {
        msg.push_str(&events_for(&Client::from(api.clone()), namespace, name).await);
    }
    Err(anyhow!(msg))
}

/// Polls until `api.get(name)` returns NotFound. On timeout the error includes the object.
pub async fn wait_for_deletion<K>(api: &Api<K>, name: &str, timeout: Duration) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + Serialize + Debug,
    K::DynamicType: Default,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match api.get_opt(name).await {
            Ok(None) => return Ok(()),
            Ok(Some(obj)) => Some(obj),
            Err(_) => None,
        };
        if Instant::now() >= deadline {
            let kind = K::kind(&Default::default()).to_string();
            let yaml = last.map(|o| to_yaml(&o)).unwrap_or_default();
            bail!("timed out after {timeout:?} waiting for {kind} {name} to be deleted; last seen:\n{yaml}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Polls `check` (every 250 ms) until it returns `Ok(Some(value))`. `Ok(None)` and errors mean
/// "not yet"; on timeout the error names `description` and includes the last error, if any.
pub async fn eventually<T, F, Fut>(description: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_err: Option<String>;
    loop {
        last_err = match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => None,
            Err(e) => Some(format!("{e:#}")),
        };
        if Instant::now() >= deadline {
            let suffix = last_err
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default();
            bail!("timed out after {timeout:?} waiting for {description}{suffix}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// YAML of an object without `metadata.managedFields`.
pub fn to_yaml<K: Serialize>(obj: &K) -> String {
    let mut v = match serde_json::to_value(obj) {
        Ok(v) => v,
        Err(e) => return format!("<unserializable: {e}>"),
    };
    if let Some(meta) = v.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.remove("managedFields");
    }
    serde_yaml::to_string(&v).unwrap_or_else(|e| format!("<unserializable: {e}>"))
}

/// Events in `namespace` whose involved object is named `name`, one per line (for error output).
pub async fn events_for(client: &Client, namespace: &str, name: &str) -> String {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let lp = ListParams::default().fields(&format!("involvedObject.name={name}"));
    match api.list(&lp).await {
        Ok(list) if list.items.is_empty() => format!("\n--- no events for {name}"),
        Ok(list) => {
            let mut out = format!("\n--- events for {name}:");
            for e in list.items {
                out.push_str(&format!(
                    "\n{} {} {} (x{}): {}",
                    e.type_.unwrap_or_default(),
                    e.involved_object.kind.unwrap_or_default(),
                    e.reason.unwrap_or_default(),
                    e.count.unwrap_or(1),
                    e.message.unwrap_or_default().trim()
                ));
            }
            out
        }
        Err(e) => format!("\n--- listing events failed: {e}"),
    }
}

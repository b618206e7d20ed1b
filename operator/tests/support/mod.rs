//! Shared by the operator's e2e tests: the CRD installed once, an `exposure-operator run`
//! process per test (scoped to the test's namespaces, so tests run in parallel without
//! seeing each other's Exposures), its metrics, and helpers to apply Exposures.
#![allow(dead_code)]

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

/// Applies the CRD (server-side apply, idempotent) and waits until it is served.
pub async fn install_crd(cluster: &Cluster) -> Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_exposure-operator")).arg("crd").output().await?;
    anyhow::ensure!(out.status.success(), "exposure-operator crd failed");
    let yaml = String::from_utf8(out.stdout)?;
    cluster.kubectl(&["apply", "--server-side", "--force-conflicts", "-f", "-"], Some(&yaml)).await?;
    cluster.kubectl(&["wait", "--for=condition=Established", "--timeout=60s", "crd/exposures.exposure.dev"], None).await?;
    Ok(())
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

    pub async fn start_with_kubeconfig(kubeconfig: &std::path::Path, namespaces: &[&str], extra: &[&str]) -> Result<Operator> {
        let port = free_port()?;
        let metrics_addr = format!("127.0.0.1:{port}");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("operator-logs");
        std::fs::create_dir_all(&dir)?;
        let log = dir.join(format!("{}-{port}.log", namespaces.first().copied().unwrap_or("all")));
        let file = std::fs::File::create(&log)?;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_exposure-operator"));
        cmd.arg("run").args(["--metrics-addr", &metrics_addr, "--gluster-allowed-resturl", "http://127.0.0.1:"]);
        for ns in namespaces {
            cmd.args(["--namespace", ns]);
        }
        cmd.args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info")
            .env("POD_NAME", format!("operator-{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .kill_on_drop(true);
        let child = cmd.spawn().context("starting exposure-operator")?;
        let mut op = Operator { child: Some(child), metrics_addr, log };
        let ready = eventually("the operator's /readyz", Duration::from_secs(60), || {
            let addr = op.metrics_addr.clone();
            async move { Ok(http_get(&addr, "/readyz").await.ok().filter(|(code, _)| *code == 200).map(|_| ())) }
        })
        .await;
        if let Err(e) = ready {
            let logs = op.logs();
            op.kill().await;
            bail!("{e}\n--- operator log:\n{logs}");
        }
        Ok(op)
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
        Ok(metric_sum(&self.metrics().await?, "exposure_api_writes_total", filter))
    }

    /// SIGTERM, then wait for the process to exit (killed after 20 s).
    pub async fn stop(mut self) -> Result<std::process::ExitStatus> {
        let Some(mut child) = self.child.take() else { bail!("already stopped") };
        if let Some(pid) = child.id() {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
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
        .filter(|l| l.starts_with(name) && (l.len() == name.len() || matches!(l.as_bytes()[name.len()], b'{' | b' ')))
        .filter(|l| filter.is_none_or(|f| l.contains(f)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A plain HTTP/1.1 GET on loopback; returns (status code, body).
pub async fn http_get(addr: &str, path: &str) -> Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").as_bytes()).await?;
    let mut buf = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut buf)).await??;
    let code = buf.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| anyhow!("bad response"))?;
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((code, body))
}

/// Server-side applies an Exposure from YAML (the test's field manager) into `namespace`.
pub async fn apply_exposure(api: &Api<Exposure>, yaml: &str) -> Result<Exposure> {
    let mut value: serde_json::Value = serde_yaml::from_str(yaml)?;
    value["apiVersion"] = "exposure.dev/v1alpha1".into();
    value["kind"] = "Exposure".into();
    let name = value["metadata"]["name"].as_str().ok_or_else(|| anyhow!("no metadata.name"))?.to_string();
    Ok(api.patch(&name, &PatchParams::apply(TEST_MANAGER).force(), &Patch::Apply(&value)).await?)
}

/// Reads `examples/<file>` (all documents).
pub fn example(file: &str) -> Result<Vec<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples").join(file);
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(text.split("\n---").map(str::to_string).filter(|d| d.lines().any(|l| l.starts_with("kind:"))).collect())
}

pub fn condition<'a>(e: &'a Exposure, type_: &str) -> Option<&'a Condition> {
    e.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)
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
    current && condition(e, condition::STALLED).is_some_and(|c| c.status == "True" && c.reason == reason)
}

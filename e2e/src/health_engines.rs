//! The health engines users run, on objects the tests give them: kstatus
//! (`sigs.k8s.io/cli-utils/pkg/kstatus/status`, as Flux and kpt compute it) and Argo CD's Lua
//! health checks (under gopher-lua, the engine Argo CD embeds). Both are small Go programs of
//! the module `e2e/tools`, built once and cached by `e2e/scripts/build-e2e-tools.sh`.
//!
//! ```no_run
//! # async fn f(exposure: serde_json::Value) -> anyhow::Result<()> {
//! let r = exposure_e2e::health_engines::kstatus(&[exposure]).await?;
//! assert_eq!(r[0].status, "Current");
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// What an engine computed for one object.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Health {
    /// Where the object came from: a file, or `-` for objects given on stdin.
    pub source: String,
    #[serde(default)]
    pub namespace: String,
    pub name: String,
    /// kstatus: `InProgress`, `Failed`, `Current`, `Terminating`, `NotFound`, `Unknown`;
    /// Argo CD: `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing`, `Unknown`.
    pub status: String,
    pub message: String,
}

static TOOLS: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The directory of the built e2e tools (builds them on first use in this process).
pub fn tools_dir() -> Result<PathBuf> {
    TOOLS
        .get_or_init(|| build_tools().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!("e2e tools unavailable: {e}"))
}

fn build_tools() -> Result<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-e2e-tools.sh");
    let out = std::process::Command::new(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} failed ({})", script.display(), out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout
        .lines()
        .last()
        .map(|l| PathBuf::from(l.trim()))
        .context("build-e2e-tools.sh printed no directory")?;
    Ok(dir)
}

/// The path of the chart's Argo CD health check.
pub fn argocd_health_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/exposure-operator/argocd/health.lua")
}

/// kstatus' `status.Compute` of each object, in order.
pub async fn kstatus(objects: &[Value]) -> Result<Vec<Health>> {
    run_tool("kstatus-check", &[], objects).await
}

/// Argo CD's evaluation of `script` (a resource health check) on each object, in order.
pub async fn argocd_health(script: &Path, objects: &[Value]) -> Result<Vec<Health>> {
    let script = script.to_str().context("health script path is not UTF-8")?;
    run_tool("argocd-health", &["--script", script], objects).await
}

async fn run_tool(name: &str, args: &[&str], objects: &[Value]) -> Result<Vec<Health>> {
    let dir = tokio::task::spawn_blocking(tools_dir)
        .await
        .context("e2e tools build task")??;
    let exe = dir.join(name);
    let mut child = tokio::process::Command::new(&exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawning {}", exe.display()))?;
    let mut input = Vec::new();
    for o in objects {
        serde_json::to_writer(&mut input, o)?;
        input.push(b'\n');
    }
    let mut pipe = child.stdin.take().context("no stdin pipe")?;
    pipe.write_all(&input)
        .await
        .with_context(|| format!("writing to {name}"))?;
    drop(pipe);
    let out = child
        .wait_with_output()
        .await
        .with_context(|| format!("waiting for {name}"))?;
    if !out.status.success() {
        bail!(
            "{name} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let results = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).with_context(|| format!("{name} printed {l:?}")))
        .collect::<Result<Vec<Health>>>()?;
    if results.len() != objects.len() {
        bail!(
            "{name} answered for {} objects, {} given",
            results.len(),
            objects.len()
        );
    }
    Ok(results)
}

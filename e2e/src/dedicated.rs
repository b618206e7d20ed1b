//! A cluster of a test's own: `e2e/cluster up` with its own state directory
//! (`e2e/.cluster-<name>/`, own free ports), for tests that stop and restart control-plane
//! components. Stopping the API server or etcd of the shared lane cluster would fail every other
//! test running against it at the same time.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{client_for, cluster_script, Cluster};

/// A cluster started for one test; stopped and its state removed (`e2e/cluster down`) on drop.
pub struct DedicatedCluster {
    pub cluster: Cluster,
    state: PathBuf,
}

impl DedicatedCluster {
    /// Starts (or reuses, if a previous run left it) the cluster `e2e/.cluster-<name>` on the
    /// default lane.
    pub async fn up(name: &str) -> Result<DedicatedCluster> {
        let state = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(".cluster-{name}"));
        let this_state = state.clone();
        let kubeconfig = tokio::task::spawn_blocking(move || run_script(&this_state, "up"))
            .await
            .context("cluster setup task")??;
        let client = client_for(&kubeconfig).await?;
        let user = kubeconfig.with_file_name("user.kubeconfig");
        Ok(DedicatedCluster {
            cluster: Cluster {
                client,
                kubeconfig,
                user_kubeconfig: user.is_file().then_some(user),
            },
            state,
        })
    }

    /// The state directory (ports, PIDs, logs, certificates).
    pub fn state_dir(&self) -> &Path {
        &self.state
    }

    /// Stops one component (`etcd`, `kube-apiserver`, `kube-controller-manager`) by its PID
    /// file: SIGTERM, SIGKILL after 20 s; returns once the process is gone.
    pub async fn stop(&self, component: &str) -> Result<()> {
        let pid_file = self.state.join("pids").join(format!("{component}.pid"));
        let pid = std::fs::read_to_string(&pid_file)
            .with_context(|| format!("reading {}", pid_file.display()))?
            .trim()
            .to_string();
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        let signal = |sig: &str| {
            std::process::Command::new("kill")
                .args([sig, &pid])
                .stdin(Stdio::null())
                .status()
        };
        signal("-TERM")?;
        let started = Instant::now();
        while proc_dir.exists() {
            if started.elapsed() > Duration::from_secs(20) {
                signal("-KILL")?;
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("{component} (pid {pid}) did not exit");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Starts every stopped component again (`e2e/cluster up`: same ports, same etcd data) and
    /// waits until they are ready.
    pub async fn start_stopped(&self) -> Result<()> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || run_script(&state, "up"))
            .await
            .context("cluster restart task")??;
        Ok(())
    }
}

impl Drop for DedicatedCluster {
    fn drop(&mut self) {
        if let Err(e) = run_script(&self.state, "down") {
            eprintln!("[e2e] stopping the dedicated cluster failed: {e:#}");
        }
    }
}

/// `EXPOSURE_CLUSTER_DIR=<state> e2e/cluster <command>`; for `up`, the admin kubeconfig path.
fn run_script(state: &Path, command: &str) -> Result<PathBuf> {
    let script = cluster_script();
    let out = std::process::Command::new(&script)
        .arg(command)
        .env("EXPOSURE_CLUSTER_DIR", state)
        .env_remove("EXPOSURE_CLUSTER_APISERVER_PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {} {command}", script.display()))?;
    if !out.status.success() {
        bail!(
            "`{} {command}` ({}) failed: {}",
            script.display(),
            state.display(),
            out.status
        );
    }
    Ok(state.join("admin.kubeconfig"))
}

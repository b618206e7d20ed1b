//! e2e: every example in `examples/` becomes Ready on the local control plane, each file in
//! its own namespace with its own operator, with the expected children: labelled ours, owned by
//! the Exposure (except PVCs kept on delete, reclaim Retain), and a status url; and not one of
//! the operator's requests drew a `Warning` from the API server (deprecated APIs, such as v1
//! Endpoints on 1.33+). The objects an example asks to be created first (its `#>` lines, e.g.
//! the ConfigMap of config-files.yaml) are applied before its Exposures.

mod support;

use anyhow::{Context as _, Result};
use exposure_crd::Exposure;
use exposure_e2e::heketi::HeketiStandIn;
use exposure_e2e::{cluster, random_suffix, TestNamespace};
use exposure_operator::build::ChildKind;
use kube::api::DynamicObject;
use kube::Api;
use support::*;

use ChildKind::{
    DaemonSet, Deployment, EndpointSlice, Endpoints, HorizontalPodAutoscaler, Ingress,
    LegacyHorizontalPodAutoscaler, LegacyPodDisruptionBudget, LimitRange, PersistentVolumeClaim,
    PodDisruptionBudget, ResourceQuota, Service, StatefulSet, StorageClass,
};

/// One expected child: kind and name (`{name}` stands for the Exposure's name).
type Child = (ChildKind, String);

/// One example applied in a fresh namespace with an operator of its own.
struct ExampleRun {
    ns: TestNamespace,
    op: Operator,
    exposures: Api<Exposure>,
}

impl ExampleRun {
    /// A fresh namespace (with `namespace_labels`, `key=value`), the objects the example asks
    /// to be created first (its `#>` lines), then every Exposure of `file` after `edit`.
    async fn start(
        file: &str,
        namespace_labels: &[&str],
        edit: impl Fn(String) -> String,
    ) -> Result<Self> {
        let cluster = cluster().await?;
        install_crd(&cluster).await?;
        let ns =
            TestNamespace::new(&cluster, &format!("ex-{}", file.trim_end_matches(".yaml"))).await?;
        if !namespace_labels.is_empty() {
            let mut args = vec!["label", "namespace", ns.name(), "--overwrite"];
            args.extend_from_slice(namespace_labels);
            cluster.kubectl(&args, None).await?;
        }
        let op = Operator::start(&cluster, &[ns.name()], &[]).await?;
        apply_example_prerequisites(&cluster, ns.name(), file).await?;
        let exposures: Api<Exposure> = ns.api();
        for doc in example(file)? {
            apply_exposure(&exposures, &edit(doc)).await?;
        }
        Ok(Self { ns, op, exposures })
    }

    /// Each Exposure of `expected` is Ready with a url, and exactly its children exist as ours.
    async fn check_ready(&self, expected: &[(&str, Vec<Child>)]) -> Result<()> {
        let Self { ns, op, exposures } = self;
        for (name, children) in expected {
            let ready = wait_ready(op, exposures, name).await?;
            let uid = ready.metadata.uid.clone().context("uid")?;
            let status = ready.status.clone().unwrap_or_default();
            assert!(
                status.url.as_deref().is_some_and(|u| !u.is_empty()),
                "{name}: Ready without a url: {status:?}"
            );
            for (kind, child) in children {
                let child = child.replace("{name}", name);
                let api = child_api(ns, *kind);
                let obj = api
                    .get(&child)
                    .await
                    .with_context(|| format!("{name}: {} {child}", kind.as_str()))?;
                assert!(
                    has_our_labels(&obj.metadata, name),
                    "{} {child} lacks our labels: {:?}",
                    kind.as_str(),
                    obj.metadata.labels
                );
                // PVCs kept on delete (reclaim Retain, the examples' default) must not be
                // garbage-collected: neither the operator's claims nor a StatefulSet's per-pod
                // ones (retention policy Retain).
                let owner = controller_exposure_uid(&obj.metadata);
                if *kind == PersistentVolumeClaim {
                    assert_eq!(
                        owner, None,
                        "Retain PVC {child} has a controller ownerReference"
                    );
                } else if !kind.namespaced() {
                    // A cluster-scoped object cannot be owned by a namespaced one: it names its
                    // Exposure's namespace in a label instead (cleaned up by the finalizer).
                    assert_eq!(
                        owner,
                        None,
                        "cluster-scoped {} {child} has an ownerReference",
                        kind.as_str()
                    );
                    let labels = obj.metadata.labels.clone().unwrap_or_default();
                    assert_eq!(
                        labels
                            .get(exposure_crd::labels::NAMESPACE)
                            .map(String::as_str),
                        Some(ns.name())
                    );
                } else {
                    assert_eq!(
                        owner.as_deref(),
                        Some(uid.as_str()),
                        "{} {child} is not controlled by Exposure {name}",
                        kind.as_str()
                    );
                }
            }
            // No workload of another kind, and no Ingress, where none is expected (ExternalName,
            // external endpoints; a StatefulSet has no Deployment beside it).
            for kind in [Deployment, StatefulSet, DaemonSet, Ingress] {
                if !children.iter().any(|(k, _)| *k == kind) {
                    assert!(
                        child_api(ns, kind).get_opt(name).await?.is_none(),
                        "{name}: unexpected {}",
                        kind.as_str()
                    );
                }
            }
        }
        Ok(())
    }

    /// No write of the operator drew a warning (deprecated API or field, unknown field, Pod
    /// Security `warn`); then the namespace and the operator go.
    async fn finish(self) -> Result<()> {
        let metrics = self.op.metrics().await?;
        let warnings = metric_sum(&metrics, "exposure_api_warnings_total", None);
        assert!(
            warnings == 0.0,
            "{warnings} API server warnings:\n{}",
            self.op
                .logs()
                .lines()
                .filter(|l| l.contains("API server warning"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        self.ns.cleanup().await?;
        self.op.stop().await?;
        Ok(())
    }
}

/// Applies every Exposure of `file` (after `edit`) in a fresh namespace and checks that each is
/// Ready with a url and that exactly the `expected` children of each exist as ours.
async fn example_becomes_ready(
    file: &str,
    edit: impl Fn(String) -> String,
    expected: &[(&str, Vec<Child>)],
) -> Result<()> {
    let run = ExampleRun::start(file, &[], edit).await?;
    run.check_ready(expected).await?;
    run.finish().await
}

fn child_api(ns: &TestNamespace, kind: ChildKind) -> Api<DynamicObject> {
    let client = kube::Client::from(ns.api::<k8s_openapi::api::core::v1::Service>());
    let ar = kind.api_resource();
    if kind.namespaced() {
        Api::namespaced_with(client, ns.name(), &ar)
    } else {
        Api::all_with(client, &ar)
    }
}

/// The Deployment and Service `{name}`, plus `extra`.
fn workload(extra: &[(ChildKind, &str)]) -> Vec<Child> {
    let mut children = vec![
        (Deployment, "{name}".to_string()),
        (Service, "{name}".to_string()),
    ];
    children.extend(extra.iter().map(|(k, n)| (*k, n.to_string())));
    children
}

fn same(doc: String) -> String {
    doc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_clusterip_tomcat() -> Result<()> {
    example_becomes_ready(
        "clusterip-tomcat.yaml",
        same,
        &[("clusteripdemo", workload(&[]))],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_external_endpoints() -> Result<()> {
    // EndpointSlices from Kubernetes 1.21, v1 Endpoints before.
    let version = server_version(&cluster().await?).await?;
    let addresses = if exposure_operator::cluster::ClusterInfo::new(version)
        .supports(exposure_operator::cluster::Feature::EndpointSlice)
    {
        (EndpointSlice, "{name}-ipv4".to_string())
    } else {
        (Endpoints, "{name}".to_string())
    };
    let children = vec![(Service, "{name}".to_string()), addresses];
    example_becomes_ready(
        "external-endpoints.yaml",
        same,
        &[("custom-service", children)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_externalname_db() -> Result<()> {
    example_becomes_ready(
        "externalname-db.yaml",
        same,
        &[("mysql-db", vec![(Service, "{name}".to_string())])],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_headless() -> Result<()> {
    let children = workload(&[(Service, "{name}-headless")]);
    example_becomes_ready("headless.yaml", same, &[("nginx-clusterip", children)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_ingress_fanout() -> Result<()> {
    let children = workload(&[(Ingress, "{name}")]);
    example_becomes_ready(
        "ingress-fanout.yaml",
        same,
        &[("service1", children.clone()), ("service2", children)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_ingress_multi_host() -> Result<()> {
    example_becomes_ready(
        "ingress-multi-host.yaml",
        same,
        &[(
            "name-virtual-host-ingress",
            workload(&[(Ingress, "{name}")]),
        )],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_ingress_default_backend() -> Result<()> {
    // The default backend is claimed per ingress class, cluster-wide: a class of its own, so
    // that the tests running beside it do not clash with it.
    let class = format!("e2e-{}", random_suffix());
    example_becomes_ready(
        "ingress-default-backend.yaml",
        move |doc| {
            doc.replace(
                "defaultBackend: true",
                &format!("defaultBackend: true\n    className: {class}"),
            )
        },
        &[("tomcat-svc", workload(&[(Ingress, "{name}")]))],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_ingress_tomcat() -> Result<()> {
    example_becomes_ready(
        "ingress-tomcat.yaml",
        same,
        &[("ingress-tomcat", workload(&[(Ingress, "{name}")]))],
    )
    .await
}

/// Moves the example's fixed `nodePort: <port>` to a port nobody in the cluster uses.
async fn free_node_port_instead_of(port: u16) -> Result<impl Fn(String) -> String> {
    let free = free_node_port(&cluster().await?).await?;
    Ok(move |doc: String| doc.replace(&format!("nodePort: {port}"), &format!("nodePort: {free}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_loadbalancer() -> Result<()> {
    example_becomes_ready(
        "loadbalancer.yaml",
        free_node_port_instead_of(30080).await?,
        &[("service-lagou", workload(&[]))],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_multi_port() -> Result<()> {
    example_becomes_ready("multi-port.yaml", same, &[("my-service", workload(&[]))]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_nodeport_tomcat() -> Result<()> {
    example_becomes_ready(
        "nodeport-tomcat.yaml",
        free_node_port_instead_of(30088).await?,
        &[("nodeportdemo", workload(&[]))],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_probes() -> Result<()> {
    let expected: Vec<_> = [
        "probes-http",
        "probes-exec",
        "probes-tcp",
        "probes-named-port",
    ]
    .into_iter()
    .map(|name| (name, workload(&[])))
    .collect();
    example_becomes_ready("probes.yaml", same, &expected).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_quota() -> Result<()> {
    example_becomes_ready(
        "quota.yaml",
        same,
        &[("quota-demo", workload(&[(ResourceQuota, "{name}")]))],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_session_affinity() -> Result<()> {
    example_becomes_ready("session-affinity.yaml", same, &[("webapp", workload(&[]))]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_storage_existing_class() -> Result<()> {
    ensure_fast_storage_class(&cluster().await?).await?;
    let children = workload(&[(PersistentVolumeClaim, "{name}-html")]);
    example_becomes_ready(
        "storage-existing-class.yaml",
        same,
        &[("nginx-fast", children)],
    )
    .await
}

/// A StatefulSet, its headless Service and one claim per replica from the class `fast`, made
/// by the StatefulSet controller from the claim templates and kept on delete (Retain).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_statefulset() -> Result<()> {
    ensure_fast_storage_class(&cluster().await?).await?;
    let children = vec![
        (StatefulSet, "{name}".to_string()),
        (Service, "{name}".to_string()),
        (Service, "{name}-headless".to_string()),
        (PersistentVolumeClaim, "data-{name}-0".to_string()),
        (PersistentVolumeClaim, "data-{name}-1".to_string()),
        (PersistentVolumeClaim, "data-{name}-2".to_string()),
    ];
    let run = ExampleRun::start("statefulset.yaml", &[], same).await?;
    run.check_ready(&[("etcd", children)]).await?;
    // No claim of the operator's own (`<name>-<volume>`) beside the per-pod ones.
    let claims = child_api(&run.ns, PersistentVolumeClaim)
        .list(&Default::default())
        .await?;
    let mut names: Vec<String> = claims
        .items
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["data-etcd-0", "data-etcd-1", "data-etcd-2"]);
    run.finish().await
}

/// Moves the example's fixed node ports to distinct ports nobody in the cluster uses.
async fn free_node_ports_instead_of(ports: &[u16]) -> Result<impl Fn(String) -> String> {
    let cluster = cluster().await?;
    let mut free: Vec<(u16, i32)> = Vec::new();
    for port in ports {
        let mut candidate = free_node_port(&cluster).await?;
        while free.iter().any(|(_, f)| *f == candidate) {
            candidate = free_node_port(&cluster).await?;
        }
        free.push((*port, candidate));
    }
    Ok(move |doc: String| {
        free.iter().fold(doc, |doc, (port, new)| {
            doc.replace(&format!("nodePort: {port}"), &format!("nodePort: {new}"))
        })
    })
}

/// One controller pod on each of the two simulated nodes, behind a NodePort Service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_daemonset_ingress_controller() -> Result<()> {
    let children = vec![
        (DaemonSet, "{name}".to_string()),
        (Service, "{name}".to_string()),
    ];
    let run = ExampleRun::start(
        "daemonset-ingress-controller.yaml",
        &[],
        free_node_ports_instead_of(&[31188, 31443]).await?,
    )
    .await?;
    run.check_ready(&[("ingress-nginx", children)]).await?;
    let nodes = cluster()
        .await?
        .kubectl(
            &["get", "nodes", "-l", "kubernetes.io/os=linux", "-o", "name"],
            None,
        )
        .await?;
    let exposure = run.exposures.get("ingress-nginx").await?;
    let status = exposure.status.unwrap_or_default();
    assert_eq!(status.workload.as_deref(), Some("DaemonSet"));
    assert_eq!(
        status.available_replicas,
        Some(i32::try_from(nodes.lines().count())?),
        "one available pod per node: {status:?}"
    );
    run.finish().await
}

/// The HorizontalPodAutoscaler and the PodDisruptionBudget (the older API versions on older
/// clusters); the autoscaler raises the Deployment to minReplicas (no metrics server is
/// needed for that) and status reports both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_autoscaling() -> Result<()> {
    let version = server_version(&cluster().await?).await?;
    let info = exposure_operator::cluster::ClusterInfo::new(version);
    use exposure_operator::cluster::Feature;
    let autoscaler = if info.supports(Feature::AutoscalingV2) {
        HorizontalPodAutoscaler
    } else {
        LegacyHorizontalPodAutoscaler
    };
    let budget = if info.supports(Feature::PodDisruptionBudgetV1) {
        PodDisruptionBudget
    } else {
        LegacyPodDisruptionBudget
    };
    let children = workload(&[(autoscaler, "{name}"), (budget, "{name}")]);
    let run = ExampleRun::start("autoscaling.yaml", &[], same).await?;
    run.check_ready(&[("web", children)]).await?;
    let settled = wait_exposure(
        &run.op,
        &run.exposures,
        "web",
        "Ready with 2 replicas (minReplicas) and the autoscaler and budget reported",
        |e| {
            let s = e.status.clone().unwrap_or_default();
            is_ready(e)
                && s.available_replicas == Some(2)
                && s.autoscaler.as_ref().and_then(|a| a.desired_replicas) == Some(2)
                && s.disruption_budget.as_ref().and_then(|d| d.desired_healthy) == Some(1)
        },
    )
    .await?;
    let status = settled.status.unwrap_or_default();
    assert_eq!(
        status
            .disruption_budget
            .as_ref()
            .and_then(|d| d.disruptions_allowed),
        Some(1),
        "{status:?}"
    );
    run.finish().await
}

/// The ConfigMap of the example's `#>` block is mounted; a change of its data rolls the pods
/// (a new `exposure.dev/config-hash` on the pod template) and the Exposure is Ready again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_config_files() -> Result<()> {
    let run = ExampleRun::start("config-files.yaml", &[], same).await?;
    run.check_ready(&[("web-conf", workload(&[]))]).await?;
    let deployments = child_api(&run.ns, Deployment);
    let hash = |d: &DynamicObject| {
        d.data
            .pointer("/spec/template/metadata/annotations")
            .and_then(|a| a.get(exposure_operator::build::CONFIG_HASH))
            .and_then(|h| h.as_str())
            .map(str::to_owned)
    };
    let before = hash(&deployments.get("web-conf").await?).context("no config hash")?;
    let changed = example_prerequisites("config-files.yaml")?
        .replace("return 200 \"ok\\n\";", "return 200 \"still ok\\n\";");
    assert_ne!(changed, example_prerequisites("config-files.yaml")?);
    exposure_e2e::apply_yaml(&cluster().await?.client(), run.ns.name(), &changed).await?;
    exposure_e2e::eventually(
        "the pod template's config hash to change",
        std::time::Duration::from_secs(60),
        || async {
            let now = hash(&deployments.get("web-conf").await?);
            Ok((now.is_some() && now.as_deref() != Some(before.as_str())).then_some(()))
        },
    )
    .await?;
    wait_ready(&run.op, &run.exposures, "web-conf").await?;
    run.finish().await
}

/// Pod Security `restricted` enforced on the namespace admits the pods, and its `warn` mode
/// has nothing to say about the Deployment the operator applies (no API server warning).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_restricted() -> Result<()> {
    let version = server_version(&cluster().await?).await?;
    anyhow::ensure!(
        version >= exposure_operator::cluster::KubeVersion::new(1, 25),
        "needs Pod Security admission (Kubernetes >= 1.25; is {version})"
    );
    let run = ExampleRun::start(
        "restricted.yaml",
        &[
            "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/enforce-version=latest",
            "pod-security.kubernetes.io/warn=restricted",
            "pod-security.kubernetes.io/warn-version=latest",
        ],
        same,
    )
    .await?;
    run.check_ready(&[("restricted-web", workload(&[]))])
        .await?;
    run.finish().await
}

/// The quota and the LimitRange exist before the pods (the pods get the LimitRange's defaults);
/// then the book's 4 replicas: the quota admits a third pod only, and the Exposure says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_quota_limits() -> Result<()> {
    let children = workload(&[(ResourceQuota, "{name}"), (LimitRange, "{name}")]);
    let run = ExampleRun::start("quota-limits.yaml", &[], same).await?;
    run.check_ready(&[("busybox-ns", children)]).await?;
    let pods: Api<k8s_openapi::api::core::v1::Pod> = run.ns.api();
    for pod in pods.list(&Default::default()).await? {
        let resources = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers[0].resources.clone())
            .unwrap_or_default();
        let get =
            |map: &Option<
                std::collections::BTreeMap<
                    String,
                    k8s_openapi::apimachinery::pkg::api::resource::Quantity,
                >,
            >,
             key: &str| { map.as_ref().and_then(|m| m.get(key)).map(|q| q.0.clone()) };
        assert_eq!(
            (
                get(&resources.requests, "cpu"),
                get(&resources.requests, "memory"),
                get(&resources.limits, "cpu"),
                get(&resources.limits, "memory"),
            ),
            (
                Some("100m".into()),
                Some("64Mi".into()),
                Some("200m".into()),
                Some("128Mi".into())
            ),
            "pod {:?} lacks the LimitRange's defaults",
            pod.metadata.name
        );
    }
    apply_exposure(
        &run.exposures,
        &example("quota-limits.yaml")?[0].replace("replicas: 2", "replicas: 4"),
    )
    .await?;
    let refused = wait_exposure(
        &run.op,
        &run.exposures,
        "busybox-ns",
        "Available False, QuotaExceeded",
        |e| {
            condition(e, "Available")
                .is_some_and(|c| c.status == "False" && c.reason == "QuotaExceeded")
        },
    )
    .await?;
    let message = condition(&refused, "Available")
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        message.starts_with(
            "3/4 pods: exceeded quota busybox-ns: requested pods=1, used pods=3, limited pods=3"
        ),
        "{message}"
    );
    run.finish().await
}

/// From Kubernetes 1.26 on, the gluster example is Stalled UnsupportedByCluster naming the
/// version, with nothing created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_gluster_storage_is_unsupported_from_1_26() -> Result<()> {
    let cluster = &cluster().await?;
    let version = server_version(cluster).await?;
    anyhow::ensure!(
        version >= exposure_operator::cluster::KubeVersion::new(1, 26),
        "needs a cluster without the in-tree GlusterFS provisioner (is {version})"
    );
    install_crd(cluster).await?;
    let ns = TestNamespace::new(cluster, "ex-gluster-storage").await?;
    let op = Operator::start(cluster, &[ns.name()], &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    for doc in example("gluster-storage.yaml")? {
        apply_exposure(&exposures, &doc).await?;
    }
    let stalled = wait_stalled(&op, &exposures, "pod-use-pvc", "UnsupportedByCluster").await?;
    let message = stalled_message(&stalled);
    anyhow::ensure!(
        message.contains(&format!(
            "removed in Kubernetes 1.26 (cluster is {version})"
        )),
        "{message}"
    );
    for kind in [Deployment, Service, PersistentVolumeClaim] {
        anyhow::ensure!(
            child_api(&ns, kind)
                .list(&Default::default())
                .await?
                .items
                .is_empty(),
            "{} created for an unsupported spec",
            kind.as_str()
        );
    }
    ns.cleanup().await?;
    op.stop().await?;
    Ok(())
}

/// Tests that need the in-tree GlusterFS provisioner (Kubernetes < 1.26): scripts/test-all.sh
/// runs them on the 1.20 lane (`in_tree_glusterfs::`) and the rest on the current one.
mod in_tree_glusterfs {
    use super::*;

    /// The gluster example against the heketi stand-in on loopback: its resturl points at the
    /// stand-in, and its StorageClass gets a unique name (StorageClasses are cluster-scoped and
    /// other tests may run the same example at the same time). Needs the in-tree provisioner
    /// (Kubernetes < 1.26; `in_tree_glusterfs::` tests run on the 1.20 lane).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn example_gluster_storage() -> Result<()> {
        let heketi = HeketiStandIn::start().await?;
        let class = format!("gluster-heketi-{}", random_suffix());
        let url = heketi.url().to_string();
        let edit = |doc: String| {
            doc.replace("http://heketi.storage.svc.cluster.local:8080", &url)
                .replace("className: gluster-heketi", &format!("className: {class}"))
        };
        let children = workload(&[
            (PersistentVolumeClaim, "{name}-gluster-volume"),
            (StorageClass, class.as_str()),
        ]);
        example_becomes_ready("gluster-storage.yaml", edit, &[("pod-use-pvc", children)]).await
    }
}

//! e2e: every example in `examples/` becomes Ready on the local control plane, each file in
//! its own namespace with its own operator, with the expected children: labelled ours, owned by
//! the Exposure (except PVCs kept on delete, reclaim Retain), and a status url; and not one of
//! the operator's requests drew a `Warning` from the API server (deprecated APIs, such as v1
//! Endpoints on 1.33+).

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
    Deployment, EndpointSlice, Endpoints, Ingress, PersistentVolumeClaim, ResourceQuota, Service,
    StorageClass,
};

/// One expected child: kind and name (`{name}` stands for the Exposure's name).
type Child = (ChildKind, String);

/// Applies every Exposure of `file` (after `edit`) in a fresh namespace and checks that each is
/// Ready with a url and that exactly the `expected` children of each exist as ours.
async fn example_becomes_ready(
    file: &str,
    edit: impl Fn(String) -> String,
    expected: &[(&str, Vec<Child>)],
) -> Result<()> {
    let cluster = cluster().await?;
    install_crd(&cluster).await?;
    let ns =
        TestNamespace::new(&cluster, &format!("ex-{}", file.trim_end_matches(".yaml"))).await?;
    let op = Operator::start(&cluster, &[ns.name()], &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    for doc in example(file)? {
        apply_exposure(&exposures, &edit(doc)).await?;
    }
    for (name, children) in expected {
        let ready = wait_ready(&op, &exposures, name).await?;
        let uid = ready.metadata.uid.clone().context("uid")?;
        let status = ready.status.clone().unwrap_or_default();
        assert!(
            status.url.as_deref().is_some_and(|u| !u.is_empty()),
            "{name}: Ready without a url: {status:?}"
        );
        for (kind, child) in children {
            let child = child.replace("{name}", name);
            let api = child_api(&ns, *kind);
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
            // PVCs kept on delete (reclaim Retain, the examples' default) must not be garbage-collected.
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
        // No workload where none is expected (ExternalName, external endpoints).
        if !children.iter().any(|(k, _)| *k == Deployment) {
            assert!(
                child_api(&ns, Deployment).get_opt(name).await?.is_none(),
                "{name}: unexpected Deployment"
            );
        }
        if !children.iter().any(|(k, _)| *k == Ingress) {
            assert!(
                child_api(&ns, Ingress).get_opt(name).await?.is_none(),
                "{name}: unexpected Ingress"
            );
        }
    }
    // No write of ours drew a warning (deprecated API or field, unknown field).
    let metrics = op.metrics().await?;
    let warnings = metric_sum(&metrics, "exposure_api_warnings_total", None);
    assert!(
        warnings == 0.0,
        "{warnings} API server warnings:\n{}",
        op.logs()
            .lines()
            .filter(|l| l.contains("API server warning"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    ns.cleanup().await?;
    op.stop().await?;
    Ok(())
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

//! Smoke tests of the local control plane tooling: real API server / controller-manager
//! behaviour driven by kwok and kube-scheduler, node-sim's load balancers, ingresses and
//! volumes, and the heketi stand-in. Each test uses its own namespace.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use exposure_e2e::heketi::HeketiStandIn;
use exposure_e2e::{
    apply_yaml, cluster, eventually, unique_name, wait_for, wait_for_deletion, TestNamespace,
};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{
    Endpoints, Event, PersistentVolume, PersistentVolumeClaim, Pod, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::Api;

const T: Duration = Duration::from_secs(60);

fn waiting_reason(pod: &Pod) -> Option<(String, String, i32)> {
    let cs = pod.status.as_ref()?.container_statuses.as_ref()?.first()?;
    let w = cs.state.as_ref()?.waiting.as_ref()?;
    Some((
        w.reason.clone().unwrap_or_default(),
        w.message.clone().unwrap_or_default(),
        cs.restart_count,
    ))
}

fn deployment_yaml(name: &str, image: &str, replicas: u32) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: main
        image: {image}
        ports:
        - {{containerPort: 8080, protocol: TCP}}
"#
    )
}

#[tokio::test]
async fn deployment_becomes_available_and_service_endpoints_list_pod_ips() -> Result<()> {
    let cluster = cluster().await?;
    let ns = TestNamespace::new(&cluster, "smoke-deploy").await?;
    let yaml = deployment_yaml("web", "nginx:1.25", 2)
        + r#"
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080, protocol: TCP}
"#;
    apply_yaml(&cluster.client(), ns.name(), &yaml).await?;

    wait_for(
        &ns.api::<Deployment>(),
        "web",
        "Deployment Available with 2 ready replicas",
        T,
        |d| {
            let Some(s) = d.status.as_ref() else {
                return false;
            };
            let available = s
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Available" && c.status == "True");
            available && s.available_replicas == Some(2) && s.ready_replicas == Some(2)
        },
    )
    .await?;

    let ep = wait_for(
        &ns.api::<Endpoints>(),
        "web",
        "Endpoints with 2 ready addresses",
        T,
        |e| {
            e.subsets
                .iter()
                .flatten()
                .flat_map(|s| s.addresses.iter().flatten())
                .count()
                == 2
        },
    )
    .await?;
    let subset = &ep.subsets.as_ref().unwrap()[0];
    let ips: HashSet<&str> = subset
        .addresses
        .iter()
        .flatten()
        .map(|a| a.ip.as_str())
        .collect();
    ensure!(ips.len() == 2, "pod IPs not unique: {ips:?}");
    ensure!(
        ips.iter().all(|ip| ip.starts_with("10.244.")),
        "pod IPs outside 10.244.0.0/16: {ips:?}"
    );
    ensure!(
        subset.ports.iter().flatten().any(|p| p.port == 8080),
        "endpoint port is not 8080"
    );
    ensure!(
        subset
            .not_ready_addresses
            .as_ref()
            .is_none_or(|a| a.is_empty()),
        "unexpected not-ready addresses"
    );

    let pods = ns
        .api::<Pod>()
        .list(&ListParams::default().labels("app=web"))
        .await?;
    for p in &pods.items {
        let s = p.status.as_ref().context("pod without status")?;
        ensure!(s.phase.as_deref() == Some("Running"), "pod not Running");
        ensure!(p
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| n.starts_with("sim-node-")));
        ensure!(s
            .host_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("192.0.2.")));
        let cs = &s
            .container_statuses
            .as_ref()
            .context("no container statuses")?[0];
        // kwok (1.35) reports a running, ready container without a container ID.
        ensure!(cs.ready && cs.state.as_ref().and_then(|s| s.running.as_ref()).is_some());
    }
    ns.cleanup().await
}

#[tokio::test]
async fn image_tag_conventions_show_documented_states() -> Result<()> {
    let cluster = cluster().await?;
    let ns = TestNamespace::new(&cluster, "smoke-images").await?;
    let mut yaml = String::new();
    for (name, image) in [
        ("missing", "registry.example/app:missing"),
        ("crashloop", "app:crashloop"),
        ("unready", "app:unready"),
    ] {
        yaml.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers:\n  - {{name: main, image: \"{image}\"}}\n"
        ));
    }
    apply_yaml(&cluster.client(), ns.name(), &yaml).await?;
    let pods = ns.api::<Pod>();

    let missing = wait_for(
        &pods,
        "missing",
        "container waiting in ImagePullBackOff",
        T,
        |p| waiting_reason(p).is_some_and(|(r, _, _)| r == "ImagePullBackOff"),
    )
    .await?;
    let (_, message, _) = waiting_reason(&missing).unwrap();
    ensure!(
        message.contains("registry.example/app:missing"),
        "message does not name the image: {message}"
    );
    ensure!(missing.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending"));

    let crash = wait_for(
        &pods,
        "crashloop",
        "CrashLoopBackOff with restartCount >= 2",
        T,
        |p| waiting_reason(p).is_some_and(|(r, _, n)| r == "CrashLoopBackOff" && n >= 2),
    )
    .await?;
    let cs = &crash
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    let last = cs
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .context("no lastState.terminated")?;
    ensure!(
        last.exit_code == 1,
        "lastState exit code {}",
        last.exit_code
    );
    ensure!(!cs.ready);

    let unready = wait_for(&pods, "unready", "Running but not Ready", T, |p| {
        let Some(s) = p.status.as_ref() else {
            return false;
        };
        let ready = s
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .map(|c| c.status.as_str());
        s.phase.as_deref() == Some("Running") && ready == Some("False")
    })
    .await?;
    let cs = &unready
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    ensure!(cs.state.as_ref().and_then(|s| s.running.as_ref()).is_some() && !cs.ready);
    ns.cleanup().await
}

#[tokio::test]
async fn load_balancer_service_and_ingress_get_addresses() -> Result<()> {
    let cluster = cluster().await?;
    let ns = TestNamespace::new(&cluster, "smoke-lb").await?;
    let yaml = r#"
apiVersion: v1
kind: Service
metadata: {name: public}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080, protocol: TCP}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.example.test
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: public
            port: {number: 80}
"#;
    apply_yaml(&cluster.client(), ns.name(), yaml).await?;
    let in_range = |ip: Option<&str>| ip.is_some_and(|ip| ip.starts_with("198.51.100."));
    let svc = wait_for(
        &ns.api::<Service>(),
        "public",
        "load balancer ingress IP",
        T,
        |s| {
            in_range(
                s.status
                    .as_ref()
                    .and_then(|s| s.load_balancer.as_ref())
                    .and_then(|l| l.ingress.as_ref())
                    .and_then(|i| i.first())
                    .and_then(|i| i.ip.as_deref()),
            )
        },
    )
    .await?;
    let ing = wait_for(&ns.api::<Ingress>(), "web", "ingress address", T, |i| {
        in_range(
            i.status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|l| l.ingress.as_ref())
                .and_then(|i| i.first())
                .and_then(|i| i.ip.as_deref()),
        )
    })
    .await?;
    let svc_ip = svc.status.unwrap().load_balancer.unwrap().ingress.unwrap()[0]
        .ip
        .clone();
    let ing_ip = ing.status.unwrap().load_balancer.unwrap().ingress.unwrap()[0]
        .ip
        .clone();
    ensure!(svc_ip != ing_ip, "service and ingress share {svc_ip:?}");
    ns.cleanup().await
}

#[tokio::test]
async fn pvc_on_simulated_class_binds_and_released_volume_is_deleted() -> Result<()> {
    let cluster = cluster().await?;
    let ns = TestNamespace::new(&cluster, "smoke-simpvc").await?;
    let class = unique_name("e2e-simulated");
    let _class_guard = cluster.delete_on_drop("storageclass", &class);
    let yaml = format!(
        r#"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: {class}}}
provisioner: exposure.dev/simulated
reclaimPolicy: Delete
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data}}
spec:
  storageClassName: {class}
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 3Gi}}}}
"#
    );
    apply_yaml(&cluster.client(), ns.name(), &yaml).await?;
    let pvcs = ns.api::<PersistentVolumeClaim>();
    let pvc = wait_for(&pvcs, "data", "PVC Bound", T, |p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
    })
    .await?;
    let pv_name = pvc
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .context("bound PVC without volumeName")?;
    let pvs: Api<PersistentVolume> = Api::all(cluster.client());
    let pv = pvs.get(&pv_name).await?;
    let spec = pv.spec.as_ref().unwrap();
    ensure!(spec.capacity.as_ref().unwrap()["storage"].0 == "3Gi");
    ensure!(spec.storage_class_name.as_deref() == Some(class.as_str()));
    ensure!(spec
        .host_path
        .as_ref()
        .is_some_and(|h| h.path == format!("/tmp/exposure-sim/{pv_name}")));
    ensure!(spec.claim_ref.as_ref().and_then(|c| c.name.as_deref()) == Some("data"));

    pvcs.delete("data", &DeleteParams::default()).await?;
    wait_for_deletion(&pvs, &pv_name, T)
        .await
        .context("released simulated PV was not deleted")?;
    ns.cleanup().await
}

fn glusterfs_class_yaml(class: &str, url: &str) -> String {
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "only loopback heketi URLs may be applied"
    );
    format!(
        r#"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: {class}}}
provisioner: kubernetes.io/glusterfs
reclaimPolicy: Delete
parameters:
  resturl: "{url}"
  restauthenabled: "false"
"#
    )
}

fn pvc_yaml(name: &str, class: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: {name}}}
spec:
  storageClassName: {class}
  accessModes: [ReadWriteMany]
  resources: {{requests: {{storage: 1Gi}}}}
"#
    )
}

#[tokio::test]
async fn deleting_a_deployment_garbage_collects_its_pods() -> Result<()> {
    let cluster = cluster().await?;
    let ns = TestNamespace::new(&cluster, "smoke-gc").await?;
    apply_yaml(
        &cluster.client(),
        ns.name(),
        &deployment_yaml("gc", "busybox:1.36", 2),
    )
    .await?;
    let deployments = ns.api::<Deployment>();
    wait_for(&deployments, "gc", "2 available replicas", T, |d| {
        d.status.as_ref().and_then(|s| s.available_replicas) == Some(2)
    })
    .await?;

    // Scale down first: the ReplicaSet deletes a pod, kwok finishes its termination.
    cluster
        .kubectl(
            &["-n", ns.name(), "scale", "deployment/gc", "--replicas=1"],
            None,
        )
        .await?;
    let pods = ns.api::<Pod>();
    let lp = ListParams::default().labels("app=gc");
    eventually("1 pod after scale-down", T, || {
        let (pods, lp) = (pods.clone(), lp.clone());
        async move { Ok((pods.list(&lp).await?.items.len() == 1).then_some(())) }
    })
    .await?;

    deployments
        .delete("gc", &DeleteParams::background())
        .await?;
    eventually(
        "pods and ReplicaSets of the deleted Deployment garbage-collected",
        T,
        || {
            let (pods, lp) = (pods.clone(), lp.clone());
            let rs = ns.api::<ReplicaSet>();
            async move {
                let n = pods.list(&lp).await?.items.len() + rs.list(&lp).await?.items.len();
                Ok((n == 0).then_some(()))
            }
        },
    )
    .await?;
    ns.cleanup().await
}

#[tokio::test]
async fn unprivileged_user_and_service_account_tokens_are_subject_to_rbac() -> Result<()> {
    let cluster = cluster().await?;
    let ns = TestNamespace::new(&cluster, "smoke-rbac").await?;

    let alice: Api<Pod> = Api::namespaced(cluster.user_client().await?, ns.name());
    match alice.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) if s.code == 403 => {}
        other => anyhow::bail!("alice should be forbidden to list pods, got {other:?}"),
    }

    let sas: Api<ServiceAccount> = ns.api();
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(serde_json::json!({"metadata": {"name": "robot"}}))?,
    )
    .await?;
    let request: TokenRequest =
        serde_json::from_value(serde_json::json!({"spec": {"expirationSeconds": 600}}))?;
    let token: TokenRequest = sas
        .create_subresource("token", "robot", &PostParams::default(), &request)
        .await?;
    let token = token.status.context("TokenRequest without status")?.token;

    let robot: Api<Pod> = Api::namespaced(cluster.token_client(&token).await?, ns.name());
    match robot.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) if s.code == 403 => {
            ensure!(
                s.message
                    .contains(&format!("system:serviceaccount:{}:robot", ns.name())),
                "{}",
                s.message
            )
        }
        other => anyhow::bail!("robot should be forbidden before the RoleBinding, got {other:?}"),
    }
    let binding = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: robot-view}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}\nsubjects:\n- {{kind: ServiceAccount, name: robot, namespace: {}}}\n",
        ns.name()
    );
    apply_yaml(&cluster.client(), ns.name(), &binding).await?;
    eventually("robot may list pods after the RoleBinding", T, || {
        let robot = robot.clone();
        async move { Ok(robot.list(&ListParams::default()).await.ok().map(|_| ())) }
    })
    .await?;
    ns.cleanup().await
}

/// Tests that need the in-tree GlusterFS provisioner (Kubernetes < 1.26): scripts/test-all.sh
/// runs them on the 1.20 lane (`in_tree_glusterfs::`) and the rest on the current one.
mod in_tree_glusterfs {
    use super::*;

    #[tokio::test]
    async fn glusterfs_pvc_is_provisioned_by_controller_manager_through_heketi_stand_in(
    ) -> Result<()> {
        let cluster = cluster().await?;
        let ns = TestNamespace::new(&cluster, "smoke-gluster").await?;
        let heketi = HeketiStandIn::start().await?;
        let class = unique_name("e2e-glusterfs");
        let _class_guard = cluster.delete_on_drop("storageclass", &class);
        let yaml = glusterfs_class_yaml(&class, heketi.url()) + "---" + &pvc_yaml("data", &class);
        apply_yaml(&cluster.client(), ns.name(), &yaml).await?;

        let pvcs = ns.api::<PersistentVolumeClaim>();
        let pvc = wait_for(&pvcs, "data", "glusterfs PVC Bound", T, |p| {
            p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound")
        })
        .await?;
        let reqs = heketi.requests();
        ensure!(
            reqs.iter()
                .any(|r| r.method == "POST" && r.path == "/volumes"),
            "no POST /volumes: {reqs:?}"
        );
        let volumes = heketi.volumes();
        ensure!(volumes.len() == 1, "expected one volume, got {volumes:?}");
        let volume_id = volumes[0].id.clone();

        let pv_name = pvc
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.clone())
            .context("no volumeName")?;
        let pvs: Api<PersistentVolume> = Api::all(cluster.client());
        let pv = pvs.get(&pv_name).await?;
        let gluster = pv
            .spec
            .as_ref()
            .and_then(|s| s.glusterfs.as_ref())
            .context("PV is not a glusterfs volume")?;
        ensure!(
            gluster.path == volumes[0].name,
            "PV path {} != volume name {}",
            gluster.path,
            volumes[0].name
        );
        let ep = ns.api::<Endpoints>().get(&gluster.endpoints).await?;
        let ips: Vec<&str> = ep
            .subsets
            .iter()
            .flatten()
            .flat_map(|s| s.addresses.iter().flatten())
            .map(|a| a.ip.as_str())
            .collect();
        ensure!(
            ips.len() == 3 && ips.iter().all(|ip| ip.starts_with("192.0.2.")),
            "gluster endpoints: {ips:?}"
        );

        pvcs.delete("data", &DeleteParams::default()).await?;
        let delete_path = format!("/volumes/{volume_id}");
        eventually("DELETE of the heketi volume", T, || {
            let seen = heketi
                .requests()
                .iter()
                .any(|r| r.method == "DELETE" && r.path == delete_path);
            async move { Ok(seen.then_some(())) }
        })
        .await?;
        wait_for_deletion(&pvs, &pv_name, T).await?;
        ensure!(
            heketi.volumes().is_empty(),
            "volume still present in the stand-in"
        );
        ns.cleanup().await
    }

    #[tokio::test]
    async fn glusterfs_provisioning_failure_is_reported_as_event() -> Result<()> {
        let cluster = cluster().await?;
        let ns = TestNamespace::new(&cluster, "smoke-glusterfail").await?;
        let heketi = HeketiStandIn::start().await?;
        heketi.set_fail(Some("no space left on simulated gluster cluster"));
        let class = unique_name("e2e-glusterfs-fail");
        let _class_guard = cluster.delete_on_drop("storageclass", &class);
        let yaml = glusterfs_class_yaml(&class, heketi.url()) + "---" + &pvc_yaml("data", &class);
        apply_yaml(&cluster.client(), ns.name(), &yaml).await?;

        let events: Api<Event> = ns.api();
        let event = eventually("ProvisioningFailed event on the PVC", T, || {
            let events = events.clone();
            async move {
                let list = events
                    .list(&ListParams::default().fields("involvedObject.name=data"))
                    .await?;
                Ok(list
                    .items
                    .into_iter()
                    .find(|e| e.reason.as_deref() == Some("ProvisioningFailed")))
            }
        })
        .await?;
        ensure!(event
            .message
            .unwrap_or_default()
            .contains("failed to create volume"));
        ensure!(heketi
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path == "/volumes"));
        ensure!(heketi.volumes().is_empty());
        let pvc = ns.api::<PersistentVolumeClaim>().get("data").await?;
        ensure!(pvc.status.and_then(|s| s.phase).as_deref() == Some("Pending"));

        // Recovery: once heketi works again the controller's retry provisions the volume.
        heketi.set_fail(None);
        wait_for(
            &ns.api::<PersistentVolumeClaim>(),
            "data",
            "PVC Bound after recovery",
            Duration::from_secs(120),
            |p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"),
        )
        .await?;
        ns.api::<PersistentVolumeClaim>()
            .delete("data", &DeleteParams::default())
            .await?;
        eventually("heketi volume deleted", T, || {
            let empty = heketi.volumes().is_empty();
            async move { Ok(empty.then_some(())) }
        })
        .await?;
        ns.cleanup().await
    }
}

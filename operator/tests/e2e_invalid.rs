//! e2e: specs the CRD's OpenAPI schema accepts but the operator rejects. On a cluster with CRD
//! validation rules (>= 1.25) the API server refuses those the CRD's CEL rules cover, with the
//! operator's own message; every other one (and all of them on older clusters) is Stalled
//! (InvalidSpec, or UnsupportedByCluster for what the cluster lacks) naming the field, nothing
//! is applied, and fixing the spec makes it Ready without restarting the operator. An Exposure
//! that turns invalid keeps its last good children.

mod support;

use std::time::Duration;

use anyhow::{Context as _, Result};
use exposure_crd::Exposure;
use exposure_operator::cluster::{ClusterInfo, KubeVersion};
use exposure_operator::validate::validate;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Service};
use kube::Api;
use serde_json::{json, Value};
use support::*;

/// A web spec with `extra` merged in at the top level.
fn web_with(extra: Value) -> Value {
    let mut spec = web_spec("nginx:1.25");
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        spec[k] = v;
    }
    spec
}

/// (Exposure name, invalid spec, stall reason, field path the message must name).
fn invalid_specs() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    let volume = |extra: Value| {
        let mut v = json!({"name": "data", "mountPath": "/data", "size": "1Gi", "accessModes": ["ReadWriteOnce"]});
        for (k, x) in extra.as_object().cloned().unwrap_or_default() {
            v[k] = x;
        }
        v
    };
    let invalid = "InvalidSpec";
    vec![
        (
            "dup-port-names",
            web_with(
                json!({"ports": [{"name": "web", "containerPort": 80}, {"name": "web", "containerPort": 81}]}),
            ),
            invalid,
            "spec.ports[1].name",
        ),
        (
            "unnamed-port",
            web_with(json!({"ports": [{"containerPort": 80}, {"name": "b", "containerPort": 81}]})),
            invalid,
            "spec.ports[0].name",
        ),
        (
            "nodeport-internal",
            web_with(json!({"ports": [{"containerPort": 80, "nodePort": 31999}]})),
            invalid,
            "spec.ports[0].nodePort",
        ),
        (
            "ingress-block-internal",
            web_with(json!({"ingress": {"host": "a.example.test"}})),
            invalid,
            "spec.ingress",
        ),
        (
            "ingress-without-block",
            web_with(json!({"visibility": {"type": "Ingress"}})),
            invalid,
            "spec.ingress",
        ),
        (
            "undeclared-probe-port",
            web_with(json!({"probes": {"liveness": {"httpGet": {"port": "nope"}}}})),
            invalid,
            "spec.probes.liveness.httpGet.port",
        ),
        (
            "liveness-success-2",
            web_with(
                json!({"probes": {"liveness": {"successThreshold": 2, "tcpSocket": {"port": 80}}}}),
            ),
            invalid,
            "spec.probes.liveness.successThreshold",
        ),
        (
            "loopback-endpoint",
            json!({"ports": [{"containerPort": 80}], "endpoints": [{"ip": "127.0.0.1"}]}),
            invalid,
            "spec.endpoints[0].ip",
        ),
        (
            "class-and-gluster",
            web_with(json!({"storage": [volume(json!({
                "storageClassName": "fast",
                "glusterfs": {"className": "g-invalid", "resturl": "http://127.0.0.1:1"}
            }))]})),
            invalid,
            "spec.storage[0].glusterfs",
        ),
        (
            "dup-mount-path",
            web_with(json!({"storage": [
                volume(json!({"storageClassName": "fast"})),
                volume(json!({"name": "more", "storageClassName": "fast"})),
            ]})),
            invalid,
            "spec.storage[1].mountPath",
        ),
        (
            "externalname-no-name",
            json!({"visibility": {"type": "ExternalName"}}),
            invalid,
            "spec.visibility.externalName",
        ),
        (
            "no-image",
            json!({"ports": [{"containerPort": 80}]}),
            invalid,
            "spec.image",
        ),
    ]
}

/// A spec the cluster's version cannot serve: grpc probes before 1.24, the in-tree GlusterFS
/// provisioner from 1.26.
fn unsupported_spec(version: KubeVersion) -> (&'static str, Value, &'static str, &'static str) {
    if version < KubeVersion::new(1, 24) {
        (
            "grpc-probe",
            web_with(json!({"probes": {"liveness": {"grpc": {"port": 80}}}})),
            "UnsupportedByCluster",
            "spec.probes.liveness.grpc",
        )
    } else {
        (
            "glusterfs",
            web_with(
                json!({"storage": [{"name": "data", "mountPath": "/data", "size": "1Gi",
                "glusterfs": {"className": "g-unsupported", "resturl": "http://127.0.0.1:1"}}]}),
            ),
            "UnsupportedByCluster",
            "spec.storage[0].glusterfs",
        )
    }
}

/// The operator's message for `field` of `spec` (what the CEL rule must say too).
fn operator_message(name: &str, spec: &Value, field: &str) -> Option<String> {
    let doc = json!({"apiVersion": "exposure.dev/v1alpha1", "kind": "Exposure",
        "metadata": {"name": name, "namespace": "x"}, "spec": spec});
    let exposure: Exposure = serde_json::from_value(doc).ok()?;
    let errors = validate(&exposure, &ClusterInfo::default()).err()?;
    errors
        .into_iter()
        .find(|e| e.field == field)
        .map(|e| e.message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_specs_stall_apply_nothing_and_recover_when_fixed() -> Result<()> {
    let (cluster, ns, op) = start_in_namespace("invalid", &[]).await?;
    let version = server_version(&cluster).await?;
    let exposures: Api<Exposure> = ns.api();
    let mut cases = invalid_specs();
    cases.push(unsupported_spec(version));
    assert!(cases.len() >= 10);
    let mut refused = Vec::new();
    for (name, spec, _, field) in &cases {
        match apply_spec(&exposures, name, spec.clone()).await {
            Ok(_) => {}
            Err(e) => {
                let Some(kube::Error::Api(status)) = e.downcast_ref::<kube::Error>() else {
                    return Err(e);
                };
                let message = operator_message(name, spec, field).context("no operator message")?;
                assert!(
                    version >= KubeVersion::new(1, 25) && status.code == 422,
                    "{name}: refused by Kubernetes {version}: {status:?}"
                );
                // The rule's message, or its first part (see exposure_crd::cel).
                let rule_message = message.split(" (").next().unwrap_or(&message);
                let rule_message = rule_message.split(": ").next().unwrap_or(rule_message);
                assert!(
                    status.message.contains(rule_message),
                    "{name}: the API server's message is not the operator's ({message}): {}",
                    status.message
                );
                refused.push(*name);
            }
        }
    }
    if version >= KubeVersion::new(1, 25) {
        // Covered by CEL: duplicate/unnamed ports, nodePort, ingress block, success threshold,
        // glusterfs with a class, ExternalName without a name, no image.
        assert!(
            refused.len() >= 8,
            "only {refused:?} refused by the API server"
        );
    }
    cases.retain(|(name, ..)| !refused.contains(name));
    for (name, _, reason, field) in &cases {
        let stalled = wait_stalled(&op, &exposures, name, reason).await?;
        let message = stalled_message(&stalled);
        assert!(
            message.contains(field),
            "{name}: the message does not name {field}: {message}"
        );
        assert!(
            !is_true(&stalled, exposure_crd::condition::READY),
            "{name}: Ready while invalid"
        );
    }
    // Nothing applied for any of them.
    let labelled = |name: &str| {
        kube::api::ListParams::default().labels(&format!("{}={name}", exposure_crd::labels::NAME))
    };
    for (name, _, _, _) in &cases {
        let deployments = ns.api::<Deployment>().list(&labelled(name)).await?.items;
        let services = ns.api::<Service>().list(&labelled(name)).await?.items;
        let pvcs = ns
            .api::<PersistentVolumeClaim>()
            .list(&labelled(name))
            .await?
            .items;
        assert!(
            deployments.is_empty() && services.is_empty() && pvcs.is_empty(),
            "{name}: children applied for an invalid spec"
        );
    }

    // Fixed, with the same operator: Ready.
    for (name, _, _, _) in &cases {
        apply_spec(&exposures, name, web_spec("nginx:1.25")).await?;
    }
    for (name, _, _, _) in &cases {
        wait_ready(&op, &exposures, name).await?;
    }
    finish(ns, op).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exposure_that_turns_invalid_keeps_its_last_good_children() -> Result<()> {
    let (_cluster, ns, op) = start_in_namespace("turns-invalid", &[]).await?;
    let exposures: Api<Exposure> = ns.api();
    let (deployments, services) = (ns.api::<Deployment>(), ns.api::<Service>());
    apply_spec(&exposures, "web", web_spec("nginx:1.25")).await?;
    wait_ready(&op, &exposures, "web").await?;
    let deployment_uid = deployments.get("web").await?.metadata.uid.context("uid")?;
    let service_uid = services.get("web").await?.metadata.uid.context("uid")?;

    // An undeclared probe port: no CEL rule can know the port names, so the API server
    // accepts it on every version and the operator must refuse it.
    let broken = web_with(
        json!({"image": "nginx:1.26", "probes": {"liveness": {"httpGet": {"port": "nope"}}}}),
    );
    apply_spec(&exposures, "web", broken).await?;
    let stalled = wait_stalled(&op, &exposures, "web", "InvalidSpec").await?;
    assert!(stalled_message(&stalled).contains("spec.probes.liveness.httpGet.port"));
    stays(Duration::from_secs(5), async || {
        let d = deployments.get_opt("web").await?;
        let s = services.get_opt("web").await?;
        Ok(
            if d.as_ref().and_then(|d| d.metadata.uid.as_deref()) != Some(&deployment_uid) {
                Some(format!(
                    "the Deployment was deleted or replaced\n{}",
                    op.logs()
                ))
            } else if s.as_ref().and_then(|s| s.metadata.uid.as_deref()) != Some(&service_uid) {
                Some(format!(
                    "the Service was deleted or replaced\n{}",
                    op.logs()
                ))
            } else {
                let image =
                    d.and_then(|d| d.spec?.template.spec?.containers.first()?.image.clone());
                (image.as_deref() != Some("nginx:1.25"))
                    .then(|| format!("the invalid spec was partly applied: image {image:?}"))
            },
        )
    })
    .await?;
    finish(ns, op).await
}

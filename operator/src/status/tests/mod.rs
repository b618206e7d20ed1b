//! Unit tests of the status, by topic; the fixtures are here.

use exposure_crd::{condition, Exposure, ExposureStatus, NodePortAddress, ResourceRef};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};

use super::*;
use crate::build::Children;
use crate::fixtures::{object, ExposureFixture};

mod blocked;
mod kinds;
mod stability;
mod storage;
mod visibility;
mod workload;

// ---- fixtures -------------------------------------------------------------------------

fn at(second: i64) -> Time {
    Time(Timestamp::from_second(second).expect("valid timestamp"))
}

const THEN: i64 = 1_600_000_000;
const NOW: i64 = 1_700_000_000;
const GENERATION: i64 = 4;

/// An Exposure `tomcat` in `shop`, generation 4, with the given spec.
fn exposure(spec: Value) -> Exposure {
    named_exposure("tomcat", spec)
}

fn named_exposure(name: &str, spec: Value) -> Exposure {
    ExposureFixture::named(name)
        .generation(GENERATION)
        .uid(Some("u-1"))
        .spec(spec)
        .build()
}

fn app_spec(visibility: Value) -> Value {
    json!({
        "image": "tomcat:9",
        "replicas": 3,
        "ports": [{"name": "http", "containerPort": 8080}],
        "visibility": visibility,
    })
}

/// A Deployment whose controller saw the current spec; `status` fields override the
/// defaults of a finished rollout of `desired` replicas with `ready` of them ready.
fn deployment(desired: i32, ready: i32, extra_status: Value) -> Deployment {
    let mut status = json!({
        "observedGeneration": 2,
        "replicas": desired,
        "updatedReplicas": desired,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [
            {"type": "Available", "status": if ready >= desired { "True" } else { "False" },
             "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    });
    if let (Some(status), Some(extra)) = (status.as_object_mut(), extra_status.as_object()) {
        status.extend(extra.clone());
    }
    object(json!({
        "metadata": {"name": "tomcat", "namespace": "shop", "generation": 2},
        "spec": {"replicas": desired, "selector": {}, "template": {}},
        "status": status,
    }))
}

fn pod(name: &str, status: Value) -> Pod {
    object(json!({"metadata": {"name": name, "namespace": "shop"}, "status": status}))
}

fn ready_pod(name: &str) -> Pod {
    pod(
        name,
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}),
    )
}

/// A pod whose only container waits for `reason`.
fn waiting_pod(name: &str, reason: &str, container: Value) -> Pod {
    let mut status = json!({
        "name": "tomcat", "image": "tomcat:9", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"waiting": {"reason": reason, "message": "long runtime message"}},
    });
    if let (Some(status), Some(extra)) = (status.as_object_mut(), container.as_object()) {
        status.extend(extra.clone());
    }
    pod(
        name,
        json!({
            "phase": "Pending",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [status],
        }),
    )
}

fn service(type_: &str, ports: Value, load_balancer: Value) -> Service {
    object(json!({
        "metadata": {"name": "tomcat", "namespace": "shop"},
        "spec": {"type": type_, "clusterIP": "10.96.12.7", "ports": ports},
        "status": {"loadBalancer": load_balancer},
    }))
}

fn http_port() -> Value {
    json!([{"name": "http", "port": 8080, "targetPort": 8080}])
}

fn ingress(rules: Value, tls: Value, address: Value) -> Ingress {
    object(json!({
        "metadata": {"name": "tomcat", "namespace": "shop"},
        "spec": {"rules": rules, "tls": tls},
        "status": {"loadBalancer": {"ingress": address}},
    }))
}

fn rule(host: &str, paths: &[&str]) -> Value {
    let paths: Vec<Value> = paths
        .iter()
        .map(|path| {
            json!({"path": path, "pathType": "Prefix",
                   "backend": {"service": {"name": "tomcat", "port": {"number": 8080}}}})
        })
        .collect();
    json!({"host": host, "http": {"paths": paths}})
}

fn pvc(name: &str, phase: &str) -> PersistentVolumeClaim {
    object(json!({"metadata": {"name": name, "namespace": "shop"}, "status": {"phase": phase}}))
}

/// A healthy `Internal` tomcat: 3/3 pods ready, the Service in place.
fn healthy() -> Observed {
    Observed {
        deployment: Some(deployment(3, 3, json!({}))),
        pods: vec![
            ready_pod("tomcat-7d9-a1"),
            ready_pod("tomcat-7d9-a2"),
            ready_pod("tomcat-7d9-a3"),
        ],
        service: Some(service("ClusterIP", http_port(), json!({}))),
        ..Observed::default()
    }
}

/// The children as if just applied: what is observed.
fn applied(observed: &Observed) -> Children {
    Children {
        deployment: observed.deployment.clone(),
        service: observed.service.clone(),
        headless_service: observed.headless_service.clone(),
        endpoints: observed.endpoints.clone(),
        ingress: observed.ingress.clone(),
        pvcs: observed.pvcs.clone(),
        ..Children::default()
    }
}

fn compute(exposure: &Exposure, observed: &Observed) -> ExposureStatus {
    let children = applied(observed);
    compute_status(exposure, &Outcome::Applied(&children), observed, &at(NOW))
}

fn cond<'s>(status: &'s ExposureStatus, type_: &str) -> &'s Condition {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {:?}", status.conditions))
}

fn has_cond(status: &ExposureStatus, type_: &str) -> bool {
    status.conditions.iter().any(|c| c.type_ == type_)
}

/// (status, reason) of a condition, for compact assertions.
fn state<'s>(status: &'s ExposureStatus, type_: &str) -> (&'s str, &'s str) {
    let c = cond(status, type_);
    (c.status.as_str(), c.reason.as_str())
}

fn types(status: &ExposureStatus) -> Vec<&str> {
    status.conditions.iter().map(|c| c.type_.as_str()).collect()
}

fn ingress_spec() -> Value {
    let mut spec = app_spec(json!({"type": "Ingress"}));
    spec["ingress"] = json!({"host": "ingress-tomcat.lagou.com"});
    spec
}

fn web_with_storage() -> Exposure {
    named_exposure(
        "web",
        json!({
            "image": "nginx",
            "ports": [{"containerPort": 80}],
            "storage": [
                {"name": "data", "mountPath": "/data", "size": "1Gi"},
                {"name": "logs", "mountPath": "/logs", "size": "1Gi"},
            ],
        }),
    )
}

fn web_observed(pvcs: Vec<PersistentVolumeClaim>) -> Observed {
    let mut observed = healthy();
    observed.deployment = Some(deployment(1, 1, json!({})));
    observed.pvcs = pvcs;
    observed
}

fn blocker(reason: &str, message: &str) -> Blocker {
    let reason = BlockReason::ALL
        .into_iter()
        .find(|r| r.as_str() == reason)
        .expect("a block reason");
    Blocker::new(reason, message)
}

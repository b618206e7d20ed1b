use exposure_crd::{condition, Exposure, ExposureStatus, NodePortAddress, ResourceRef};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::*;
use crate::build::Children;

// ---- fixtures -------------------------------------------------------------------------

fn from<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("valid test object")
}

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
    from(json!({
        "apiVersion": "exposure.dev/v1alpha1",
        "kind": "Exposure",
        "metadata": {"name": name, "namespace": "shop", "generation": GENERATION, "uid": "u-1"},
        "spec": spec,
    }))
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
    from(json!({
        "metadata": {"name": "tomcat", "namespace": "shop", "generation": 2},
        "spec": {"replicas": desired, "selector": {}, "template": {}},
        "status": status,
    }))
}

fn pod(name: &str, status: Value) -> Pod {
    from(json!({"metadata": {"name": name, "namespace": "shop"}, "status": status}))
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
    from(json!({
        "metadata": {"name": "tomcat", "namespace": "shop"},
        "spec": {"type": type_, "clusterIP": "10.96.12.7", "ports": ports},
        "status": {"loadBalancer": load_balancer},
    }))
}

fn http_port() -> Value {
    json!([{"name": "http", "port": 8080, "targetPort": 8080}])
}

fn ingress(rules: Value, tls: Value, address: Value) -> Ingress {
    from(json!({
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
    from(json!({"metadata": {"name": name, "namespace": "shop"}, "status": {"phase": phase}}))
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

// ---- the Ready path, by visibility ----------------------------------------------------

#[test]
fn internal_ready() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let status = compute(&exposure, &healthy());

    assert_eq!(
        types(&status),
        ["Ready", "Reconciling", "Stalled", "Available", "Exposed"]
    );
    assert_eq!(state(&status, condition::READY), ("True", reason::READY));
    assert_eq!(
        cond(&status, condition::READY).message,
        "3/3 replicas available; exposed at http://tomcat.shop.svc.cluster.local:8080"
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("False", reason::CONVERGED)
    );
    assert_eq!(
        state(&status, condition::STALLED),
        ("False", reason::NOT_STALLED)
    );
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("True", reason::REPLICAS_AVAILABLE)
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "3/3 replicas available"
    );
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("True", reason::SERVICE_READY)
    );

    assert_eq!(status.observed_generation, Some(GENERATION));
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (Some(3), Some(3), Some(3))
    );
    assert_eq!(
        status.url.as_deref(),
        Some("http://tomcat.shop.svc.cluster.local:8080")
    );
    let addresses = status.addresses.expect("addresses once the Service exists");
    assert_eq!(addresses.cluster_ip.as_deref(), Some("10.96.12.7"));
    assert_eq!(
        addresses.dns.as_deref(),
        Some("tomcat.shop.svc.cluster.local")
    );
    assert!(addresses.node_ports.is_empty());
    assert!(addresses.load_balancer.is_empty());
    assert!(addresses.ingress.is_empty());
    assert_eq!(
        status.resources,
        [
            ResourceRef {
                kind: "Deployment".into(),
                name: "tomcat".into()
            },
            ResourceRef {
                kind: "Service".into(),
                name: "tomcat".into()
            },
        ]
    );
}

#[test]
fn every_condition_carries_the_generation_a_reason_and_a_message() {
    let exposure = exposure(json!({
        "image": "tomcat:9",
        "ports": [{"containerPort": 8080}],
        "storage": [{"name": "data", "mountPath": "/data", "size": "1Gi"}],
    }));
    for observed in [healthy(), Observed::default()] {
        let status = compute(&exposure, &observed);
        assert_eq!(
            types(&status),
            [
                "Ready",
                "Reconciling",
                "Stalled",
                "Available",
                "Exposed",
                "StorageBound"
            ]
        );
        for c in &status.conditions {
            assert_eq!(c.observed_generation, Some(GENERATION), "{c:?}");
            assert!(
                c.reason.starts_with(|ch: char| ch.is_ascii_uppercase()),
                "{c:?}"
            );
            assert!(
                c.reason.chars().all(|ch| ch.is_ascii_alphanumeric()),
                "{c:?}"
            );
            assert!(!c.message.is_empty(), "{c:?}");
        }
    }
}

#[test]
fn port_80_is_left_out_of_the_in_cluster_url() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let observed = Observed {
        service: Some(service("ClusterIP", json!([{"port": 80}]), json!({}))),
        ..healthy()
    };
    assert_eq!(
        compute(&exposure, &observed).url.as_deref(),
        Some("http://tomcat.shop.svc.cluster.local")
    );
}

#[test]
fn namespace_defaults_to_default() {
    let mut exposure = exposure(app_spec(json!({"type": "Internal"})));
    exposure.metadata.namespace = None;
    let status = compute(&exposure, &healthy());
    assert_eq!(
        status.url.as_deref(),
        Some("http://tomcat.default.svc.cluster.local:8080")
    );
}

#[test]
fn node_port_ready() {
    let exposure = exposure(app_spec(json!({"type": "NodePort"})));
    let ports = json!([{"name": "http", "port": 8080, "nodePort": 30088}]);
    let observed = Observed {
        service: Some(service("NodePort", ports, json!({}))),
        node_address: Some("192.168.1.20".into()),
        ..healthy()
    };
    let status = compute(&exposure, &observed);

    assert_eq!(state(&status, condition::READY), ("True", reason::READY));
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("True", reason::SERVICE_READY)
    );
    assert_eq!(status.url.as_deref(), Some("http://192.168.1.20:30088"));
    assert_eq!(
        status.addresses.expect("addresses").node_ports,
        [NodePortAddress {
            name: Some("http".into()),
            port: 8080,
            node_port: 30088
        }]
    );

    let without_node = Observed {
        node_address: None,
        ..observed
    };
    assert_eq!(
        compute(&exposure, &without_node).url.as_deref(),
        Some("http://tomcat.shop.svc.cluster.local:8080")
    );
}

#[test]
fn load_balancer_ready() {
    let exposure = exposure(app_spec(json!({"type": "LoadBalancer"})));
    let ports = json!([{"name": "http", "port": 8080, "nodePort": 30088}]);
    let observed = Observed {
        service: Some(service(
            "LoadBalancer",
            ports,
            json!({"ingress": [{"ip": "198.51.100.7"}]}),
        )),
        ..healthy()
    };
    let status = compute(&exposure, &observed);

    assert_eq!(state(&status, condition::READY), ("True", reason::READY));
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("True", reason::LOAD_BALANCER_READY)
    );
    assert_eq!(status.url.as_deref(), Some("http://198.51.100.7:8080"));
    assert_eq!(
        cond(&status, condition::READY).message,
        "3/3 replicas available; exposed at http://198.51.100.7:8080"
    );
    let addresses = status.addresses.expect("addresses");
    assert_eq!(addresses.load_balancer, ["198.51.100.7"]);
    assert_eq!(addresses.node_ports.len(), 1);
}

#[test]
fn load_balancer_url_by_port_and_address_kind() {
    let exposure = exposure(app_spec(json!({"type": "LoadBalancer"})));
    let url = |port: i64, address: Value| {
        let observed = Observed {
            service: Some(service(
                "LoadBalancer",
                json!([{"port": port}]),
                json!({"ingress": [address]}),
            )),
            ..healthy()
        };
        compute(&exposure, &observed).url
    };
    assert_eq!(
        url(80, json!({"ip": "198.51.100.7"})).as_deref(),
        Some("http://198.51.100.7")
    );
    assert_eq!(
        url(443, json!({"ip": "198.51.100.7"})).as_deref(),
        Some("https://198.51.100.7")
    );
    assert_eq!(
        url(8080, json!({"hostname": "lb.example.com"})).as_deref(),
        Some("http://lb.example.com:8080")
    );
    assert_eq!(
        url(8080, json!({"ip": "2001:db8::7"})).as_deref(),
        Some("http://[2001:db8::7]:8080")
    );
}

#[test]
fn load_balancer_waiting_for_an_address() {
    let exposure = exposure(app_spec(json!({"type": "LoadBalancer"})));
    let observed = Observed {
        service: Some(service("LoadBalancer", http_port(), json!({}))),
        ..healthy()
    };
    let status = compute(&exposure, &observed);

    let waiting = "waiting for a load balancer address for Service tomcat";
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("False", reason::LOAD_BALANCER_PENDING)
    );
    assert_eq!(cond(&status, condition::EXPOSED).message, waiting);
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_ADDRESS)
    );
    assert_eq!(cond(&status, condition::RECONCILING).message, waiting);
    assert_eq!(
        state(&status, condition::STALLED),
        ("False", reason::NOT_STALLED)
    );
    assert_eq!(
        state(&status, condition::READY),
        ("False", reason::LOAD_BALANCER_PENDING)
    );
    assert_eq!(cond(&status, condition::READY).message, waiting);
    // Until the load balancer answers, the in-cluster address is the one that works.
    assert_eq!(
        status.url.as_deref(),
        Some("http://tomcat.shop.svc.cluster.local:8080")
    );
}

fn ingress_spec() -> Value {
    let mut spec = app_spec(json!({"type": "Ingress"}));
    spec["ingress"] = json!({"host": "ingress-tomcat.lagou.com"});
    spec
}

#[test]
fn ingress_ready() {
    let exposure = exposure(ingress_spec());
    let observed = Observed {
        ingress: Some(ingress(
            json!([rule("ingress-tomcat.lagou.com", &["/", "/api"])]),
            json!([]),
            json!([{"ip": "203.0.113.9"}]),
        )),
        ..healthy()
    };
    let status = compute(&exposure, &observed);

    assert_eq!(state(&status, condition::READY), ("True", reason::READY));
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("True", reason::INGRESS_READY)
    );
    assert_eq!(
        status.url.as_deref(),
        Some("http://ingress-tomcat.lagou.com/")
    );
    assert_eq!(
        status.addresses.expect("addresses").ingress,
        [
            "http://ingress-tomcat.lagou.com/",
            "http://ingress-tomcat.lagou.com/api"
        ]
    );
    assert_eq!(
        status
            .resources
            .iter()
            .map(|r| r.kind.as_str())
            .collect::<Vec<_>>(),
        ["Deployment", "Service", "Ingress"]
    );
}

#[test]
fn ingress_urls_use_https_with_tls_and_keep_wildcard_hosts() {
    let exposure = exposure(ingress_spec());
    let observed = Observed {
        ingress: Some(ingress(
            json!([rule("*.lagou.com", &["/shop"])]),
            json!([{"hosts": ["*.lagou.com"], "secretName": "tls"}]),
            json!([{"hostname": "ingress.example.net"}]),
        )),
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(status.url.as_deref(), Some("https://*.lagou.com/shop"));
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("True", reason::INGRESS_READY)
    );
}

#[test]
fn ingress_waiting_for_an_address() {
    let exposure = exposure(ingress_spec());
    let observed = Observed {
        ingress: Some(ingress(
            json!([rule("ingress-tomcat.lagou.com", &["/"])]),
            json!([]),
            json!([]),
        )),
        ..healthy()
    };
    let status = compute(&exposure, &observed);

    assert_eq!(
        state(&status, condition::EXPOSED),
        ("False", reason::INGRESS_ADDRESS_PENDING)
    );
    assert!(cond(&status, condition::EXPOSED)
        .message
        .starts_with("waiting for an address on Ingress tomcat"));
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_ADDRESS)
    );
    assert_eq!(
        state(&status, condition::READY),
        ("False", reason::INGRESS_ADDRESS_PENDING)
    );
    // The host is declared, so the URL is known before the controller answers.
    assert_eq!(
        status.url.as_deref(),
        Some("http://ingress-tomcat.lagou.com/")
    );
}

#[test]
fn ingress_not_created_yet() {
    let exposure = exposure(ingress_spec());
    let status = compute(&exposure, &healthy());
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("False", reason::INGRESS_MISSING)
    );
    assert_eq!(
        cond(&status, condition::EXPOSED).message,
        "Ingress tomcat not found"
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::CREATING)
    );
    assert_eq!(
        status.url.as_deref(),
        Some("http://tomcat.shop.svc.cluster.local:8080")
    );
    assert!(status.addresses.expect("addresses").ingress.is_empty());
}

#[test]
fn external_name_has_no_workload() {
    let exposure =
        exposure(json!({"visibility": {"type": "ExternalName", "externalName": "db.example.com"}}));
    let observed = Observed {
        service: Some(from(json!({
            "metadata": {"name": "tomcat"},
            "spec": {"type": "ExternalName", "externalName": "db.example.com"},
        }))),
        ..Observed::default()
    };
    let status = compute(&exposure, &observed);

    assert_eq!(
        types(&status),
        ["Ready", "Reconciling", "Stalled", "Exposed"]
    );
    assert_eq!(state(&status, condition::READY), ("True", reason::READY));
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("True", reason::SERVICE_READY)
    );
    assert_eq!(
        cond(&status, condition::EXPOSED).message,
        "Service tomcat is an alias for db.example.com"
    );
    assert_eq!(
        cond(&status, condition::READY).message,
        "Service tomcat is an alias for db.example.com"
    );
    assert_eq!(status.url.as_deref(), Some("db.example.com"));
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (None, None, None)
    );
    let addresses = status.addresses.expect("addresses");
    assert_eq!(addresses.cluster_ip, None);
    assert_eq!(
        addresses.dns.as_deref(),
        Some("tomcat.shop.svc.cluster.local")
    );
}

#[test]
fn external_name_service_missing() {
    let exposure =
        exposure(json!({"visibility": {"type": "ExternalName", "externalName": "db.example.com"}}));
    let status = compute(&exposure, &Observed::default());
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("False", reason::SERVICE_MISSING)
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::CREATING)
    );
    assert_eq!(
        cond(&status, condition::RECONCILING).message,
        "waiting for Service tomcat to be created"
    );
    assert_eq!((status.url, status.addresses), (None, None));
}

#[test]
fn endpoints_need_our_endpoints_object() {
    let exposure = exposure(json!({
        "ports": [{"containerPort": 5432}],
        "endpoints": [{"ip": "10.0.0.10"}],
    }));
    let endpoints: Endpoints = from(json!({"metadata": {"name": "tomcat"}, "subsets": []}));
    let service = service("ClusterIP", json!([{"port": 5432}]), json!({}));
    let without = Observed {
        service: Some(service.clone()),
        ..Observed::default()
    };
    let with = Observed {
        endpoints: Some(endpoints),
        ..without.clone()
    };

    let waiting = compute(&exposure, &without);
    assert_eq!(
        types(&waiting),
        ["Ready", "Reconciling", "Stalled", "Exposed"]
    );
    assert_eq!(
        state(&waiting, condition::EXPOSED),
        ("False", reason::ENDPOINTS_MISSING)
    );
    assert_eq!(
        state(&waiting, condition::READY),
        ("False", reason::ENDPOINTS_MISSING)
    );

    let ready = compute(&exposure, &with);
    assert_eq!(state(&ready, condition::READY), ("True", reason::READY));
    assert_eq!(
        ready.url.as_deref(),
        Some("http://tomcat.shop.svc.cluster.local:5432")
    );
    assert_eq!(ready.replicas, None);
    assert_eq!(
        ready
            .resources
            .iter()
            .map(|r| r.kind.as_str())
            .collect::<Vec<_>>(),
        ["Service", "Endpoints"]
    );
}

#[test]
fn headless_service_is_awaited_when_asked_for() {
    let mut spec = app_spec(json!({"type": "Internal"}));
    spec["headless"] = json!(true);
    let exposure = exposure(spec);
    let status = compute(&exposure, &healthy());
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("False", reason::SERVICE_MISSING)
    );
    assert_eq!(
        cond(&status, condition::EXPOSED).message,
        "Service tomcat-headless not found"
    );

    let headless: Service =
        from(json!({"metadata": {"name": "tomcat-headless"}, "spec": {"clusterIP": "None"}}));
    let observed = Observed {
        headless_service: Some(headless),
        ..healthy()
    };
    assert_eq!(
        state(&compute(&exposure, &observed), condition::READY),
        ("True", reason::READY)
    );
}

// ---- the workload ---------------------------------------------------------------------

#[test]
fn image_pull_back_off_says_which_pod_and_image() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let observed = Observed {
        deployment: Some(deployment(3, 1, json!({}))),
        pods: vec![
            waiting_pod(
                "tomcat-7d9-x2",
                "ImagePullBackOff",
                json!({"image": "tomcat:missing"}),
            ),
            ready_pod("tomcat-7d9-a1"),
        ],
        ..healthy()
    };
    let status = compute(&exposure, &observed);

    let message = "1/3 ready: pod tomcat-7d9-x2 ImagePullBackOff (image tomcat:missing)";
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", "ImagePullBackOff")
    );
    assert_eq!(cond(&status, condition::AVAILABLE).message, message);
    assert_eq!(
        state(&status, condition::READY),
        ("False", "ImagePullBackOff")
    );
    assert_eq!(cond(&status, condition::READY).message, message);
    // kstatus: Kubernetes retries until the progress deadline, so not Stalled yet but still
    // converging (InProgress); after the deadline it is Stalled (ProgressDeadlineExceeded).
    assert_eq!(
        state(&status, condition::STALLED),
        ("False", reason::NOT_STALLED)
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_PODS)
    );
    assert_eq!(
        cond(&status, condition::RECONCILING).message,
        format!("{message}; Kubernetes retries until the Deployment's progress deadline")
    );
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (Some(3), Some(1), Some(1))
    );
}

#[test]
fn crash_loop_back_off_counts_restarts() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let crash = |last_state: Value| Observed {
        deployment: Some(deployment(1, 0, json!({}))),
        pods: vec![waiting_pod(
            "tomcat-7d9-c1",
            "CrashLoopBackOff",
            json!({"restartCount": 5, "lastState": last_state}),
        )],
        ..healthy()
    };

    let status = compute(
        &exposure,
        &crash(json!({"terminated": {"exitCode": 1, "reason": "Error"}})),
    );
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", "CrashLoopBackOff")
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/1 ready: pod tomcat-7d9-c1 CrashLoopBackOff (5 restarts, exit code 1)"
    );

    let status = compute(
        &exposure,
        &crash(json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}})),
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/1 ready: pod tomcat-7d9-c1 CrashLoopBackOff (5 restarts, OOMKilled, exit code 137)"
    );
}

#[test]
fn config_errors_show_the_runtime_message() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let observed = Observed {
        deployment: Some(deployment(1, 0, json!({}))),
        pods: vec![waiting_pod(
            "tomcat-7d9-c1",
            "CreateContainerConfigError",
            json!({"state": {"waiting": {"reason": "CreateContainerConfigError", "message": "secret \"db\" not found"}}}),
        )],
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", "CreateContainerConfigError")
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/1 ready: pod tomcat-7d9-c1 CreateContainerConfigError (secret \"db\" not found)"
    );
}

#[test]
fn failing_pods_are_listed_before_starting_ones_and_the_list_is_capped() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let mut pods: Vec<Pod> = (1..=5)
        .map(|i| {
            waiting_pod(
                &format!("tomcat-7d9-f{i}"),
                "ErrImagePull",
                json!({"image": "tomcat:missing"}),
            )
        })
        .collect();
    pods.insert(
        0,
        waiting_pod("tomcat-7d9-a0", "ContainerCreating", json!({})),
    );
    let observed = Observed {
        deployment: Some(deployment(6, 0, json!({}))),
        pods,
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/6 ready: pod tomcat-7d9-f1 ErrImagePull (image tomcat:missing), \
         pod tomcat-7d9-f2 ErrImagePull (image tomcat:missing), \
         pod tomcat-7d9-f3 ErrImagePull (image tomcat:missing) and 2 more"
    );
}

#[test]
fn pods_starting_make_reconciling_true() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let no_pods = Observed {
        deployment: Some(deployment(3, 0, json!({}))),
        pods: vec![],
        ..healthy()
    };
    let status = compute(&exposure, &no_pods);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::REPLICAS_UNAVAILABLE)
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/3 ready: waiting for pods"
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_PODS)
    );
    assert_eq!(
        cond(&status, condition::RECONCILING).message,
        "0/3 ready: waiting for pods"
    );

    let unready = pod(
        "tomcat-7d9-u1",
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}),
    );
    let running = Observed {
        deployment: Some(deployment(1, 0, json!({}))),
        pods: vec![
            unready,
            waiting_pod("tomcat-7d9-u2", "ContainerCreating", json!({})),
        ],
        ..healthy()
    };
    let status = compute(&exposure, &running);
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/1 ready: pod tomcat-7d9-u1 not ready, pod tomcat-7d9-u2 ContainerCreating"
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_PODS)
    );
}

#[test]
fn terminating_and_finished_pods_are_not_blamed() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let mut terminating = waiting_pod("tomcat-old-1", "CrashLoopBackOff", json!({}));
    terminating.metadata.deletion_timestamp = Some(at(THEN));
    let evicted = pod(
        "tomcat-old-2",
        json!({"phase": "Failed", "reason": "Evicted"}),
    );
    let observed = Observed {
        deployment: Some(deployment(2, 0, json!({}))),
        pods: vec![terminating, evicted],
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/2 ready: waiting for pods"
    );
}

#[test]
fn unschedulable_pods_quote_the_scheduler() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let pending = pod(
        "tomcat-7d9-p1",
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
               "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient cpu."}]}),
    );
    let observed = Observed {
        deployment: Some(deployment(1, 0, json!({}))),
        pods: vec![pending],
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::UNSCHEDULABLE)
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/1 ready: pod tomcat-7d9-p1 Unschedulable (0/3 nodes are available: 3 Insufficient cpu.)"
    );
}

#[test]
fn replica_failure_reports_the_quota() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let quota = "pods \"tomcat-7d9-z\" is forbidden: exceeded quota: tomcat";
    let mut observed = healthy();
    observed.deployment = Some(deployment(
        3,
        2,
        json!({"conditions": [
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": quota},
        ]}),
    ));
    observed.pods.truncate(2);
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::REPLICA_FAILURE)
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        format!("2/3 ready: waiting for pods; {quota}")
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_PODS)
    );
}

#[test]
fn progress_deadline_exceeded_is_stalled() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let timed_out = "ReplicaSet \"tomcat-7d9\" has timed out progressing.";
    let observed = Observed {
        deployment: Some(deployment(
            3,
            1,
            json!({"conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": timed_out},
            ]}),
        )),
        pods: vec![
            ready_pod("tomcat-7d9-a1"),
            waiting_pod(
                "tomcat-7d9-x2",
                "ImagePullBackOff",
                json!({"image": "tomcat:missing"}),
            ),
        ],
        ..healthy()
    };
    let status = compute(&exposure, &observed);

    let message = format!(
        "{timed_out}; 1/3 ready: pod tomcat-7d9-x2 ImagePullBackOff (image tomcat:missing)"
    );
    assert_eq!(
        state(&status, condition::STALLED),
        ("True", reason::PROGRESS_DEADLINE_EXCEEDED)
    );
    assert_eq!(cond(&status, condition::STALLED).message, message);
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("False", reason::STALLED)
    );
    assert_eq!(
        state(&status, condition::READY),
        ("False", reason::PROGRESS_DEADLINE_EXCEEDED)
    );
    assert_eq!(cond(&status, condition::READY).message, message);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", "ImagePullBackOff")
    );
}

#[test]
fn a_deadline_from_before_the_new_spec_is_ignored() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let mut stale = deployment(
        3,
        1,
        json!({"conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
    );
    stale.metadata.generation = Some(3);
    let observed = Observed {
        deployment: Some(stale),
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::STALLED),
        ("False", reason::NOT_STALLED)
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::ROLLOUT_IN_PROGRESS)
    );
    assert_eq!(
        cond(&status, condition::RECONCILING).message,
        "Deployment tomcat: waiting for the controller to observe the new spec"
    );
}

#[test]
fn rollout_in_progress_is_reconciling() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let rollout = |extra: Value| {
        let observed = Observed {
            deployment: Some(deployment(3, 3, extra)),
            ..healthy()
        };
        let status = compute(&exposure, &observed);
        assert_eq!(
            state(&status, condition::RECONCILING),
            ("True", reason::ROLLOUT_IN_PROGRESS)
        );
        assert_eq!(
            state(&status, condition::AVAILABLE),
            ("True", reason::REPLICAS_AVAILABLE)
        );
        assert_eq!(state(&status, condition::READY), ("True", reason::READY));
        cond(&status, condition::RECONCILING).message.clone()
    };
    assert_eq!(
        rollout(json!({"updatedReplicas": 1})),
        "Deployment tomcat rollout: 1/3 replicas updated"
    );
    assert_eq!(
        rollout(json!({"replicas": 4})),
        "Deployment tomcat rollout: 1 old replica still running"
    );
}

#[test]
fn scaled_to_zero_is_available() {
    let mut spec = app_spec(json!({"type": "Internal"}));
    spec["replicas"] = json!(0);
    let exposure = exposure(spec);
    let observed = Observed {
        deployment: Some(from(json!({
            "metadata": {"name": "tomcat", "generation": 2},
            "spec": {"replicas": 0, "selector": {}, "template": {}},
            "status": {"observedGeneration": 2},
        }))),
        pods: vec![],
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("True", reason::SCALED_TO_ZERO)
    );
    assert_eq!(cond(&status, condition::AVAILABLE).message, "scaled to 0");
    assert_eq!(state(&status, condition::READY), ("True", reason::READY));
    assert_eq!(
        cond(&status, condition::READY).message,
        "scaled to 0; exposed at http://tomcat.shop.svc.cluster.local:8080"
    );
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (Some(0), Some(0), Some(0))
    );
}

#[test]
fn deployment_not_created_yet() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let observed = Observed {
        deployment: None,
        pods: vec![],
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::DEPLOYMENT_MISSING)
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::CREATING)
    );
    assert_eq!(
        state(&status, condition::READY),
        ("False", reason::DEPLOYMENT_MISSING)
    );
    assert_eq!(status.replicas, None);
}

#[test]
fn reconciling_lists_everything_still_converging() {
    let exposure = exposure(app_spec(json!({"type": "LoadBalancer"})));
    let observed = Observed {
        deployment: Some(deployment(3, 0, json!({}))),
        pods: vec![],
        service: Some(service("LoadBalancer", http_port(), json!({}))),
        ..Observed::default()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_PODS)
    );
    assert_eq!(
        cond(&status, condition::RECONCILING).message,
        "0/3 ready: waiting for pods; waiting for a load balancer address for Service tomcat"
    );
    assert_eq!(
        state(&status, condition::READY),
        ("False", reason::REPLICAS_UNAVAILABLE)
    );
}

// ---- storage --------------------------------------------------------------------------

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

#[test]
fn storage_bound() {
    let status = compute(
        &web_with_storage(),
        &web_observed(vec![pvc("web-data", "Bound"), pvc("web-logs", "Bound")]),
    );
    assert_eq!(
        types(&status),
        [
            "Ready",
            "Reconciling",
            "Stalled",
            "Available",
            "Exposed",
            "StorageBound"
        ]
    );
    assert_eq!(
        state(&status, condition::STORAGE_BOUND),
        ("True", reason::BOUND)
    );
    assert_eq!(
        cond(&status, condition::STORAGE_BOUND).message,
        "PVCs bound: web-data, web-logs"
    );
    assert_eq!(state(&status, condition::READY), ("True", reason::READY));
}

#[test]
fn storage_pending_is_reconciling() {
    let status = compute(
        &web_with_storage(),
        &web_observed(vec![pvc("web-data", "Pending"), pvc("web-logs", "Bound")]),
    );
    assert_eq!(
        state(&status, condition::STORAGE_BOUND),
        ("False", reason::PENDING)
    );
    assert_eq!(
        cond(&status, condition::STORAGE_BOUND).message,
        "PVC web-data Pending"
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_VOLUME)
    );
    assert_eq!(
        cond(&status, condition::RECONCILING).message,
        "waiting for PVC web-data to be bound"
    );
    assert_eq!(state(&status, condition::READY), ("False", reason::PENDING));
}

#[test]
fn storage_provisioning_failed_quotes_the_event() {
    let mut observed = web_observed(vec![pvc("web-data", "Pending"), pvc("web-logs", "Pending")]);
    observed.provisioning_failures.insert(
        "web-data".into(),
        "failed to create volume: heketi: no space".into(),
    );
    let status = compute(&web_with_storage(), &observed);

    assert_eq!(
        state(&status, condition::STORAGE_BOUND),
        ("False", reason::PROVISIONING_FAILED)
    );
    assert_eq!(
        cond(&status, condition::STORAGE_BOUND).message,
        "PVC web-data Pending: failed to create volume: heketi: no space; PVC web-logs Pending"
    );
    assert_eq!(
        state(&status, condition::READY),
        ("False", reason::PROVISIONING_FAILED)
    );
    assert_eq!(
        state(&status, condition::STALLED),
        ("False", reason::NOT_STALLED)
    );
    // web-logs may still bind by itself.
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_VOLUME)
    );

    observed.pvcs[1] = pvc("web-logs", "Bound");
    let status = compute(&web_with_storage(), &observed);
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("False", reason::NOT_PROGRESSING)
    );
}

#[test]
fn storage_missing_and_lost_pvcs() {
    let status = compute(
        &web_with_storage(),
        &web_observed(vec![pvc("web-logs", "Lost")]),
    );
    assert_eq!(
        state(&status, condition::STORAGE_BOUND),
        ("False", reason::LOST)
    );
    assert_eq!(
        cond(&status, condition::STORAGE_BOUND).message,
        "PVC web-data not found; PVC web-logs Lost: its volume is gone"
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::CREATING)
    );
}

#[test]
fn no_storage_no_storage_condition_and_retained_volumes_are_copied() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let mut observed = healthy();
    observed.retained_volumes = vec![exposure_crd::RetainedVolume {
        name: "tomcat-old".into(),
        volume: "old".into(),
        size: Some("1Gi".into()),
    }];
    let status = compute(&exposure, &observed);
    assert!(!has_cond(&status, condition::STORAGE_BOUND));
    assert_eq!(status.retained_volumes, observed.retained_volumes);
}

// ---- blocked reconciles ---------------------------------------------------------------

fn blocker(reason: &str, message: &str) -> Blocker {
    let reason = BlockReason::ALL
        .into_iter()
        .find(|r| r.as_str() == reason)
        .expect("a block reason");
    Blocker::new(reason, message)
}

#[test]
fn blocked_invalid_spec_lists_every_field_error() {
    let mut exposure = exposure(app_spec(json!({"type": "Internal"})));
    let old_refs = vec![
        ResourceRef {
            kind: "ResourceQuota".into(),
            name: "tomcat".into(),
        },
        ResourceRef {
            kind: "Deployment".into(),
            name: "tomcat".into(),
        },
    ];
    exposure.status = Some(ExposureStatus {
        resources: old_refs,
        ..ExposureStatus::default()
    });
    let blockers = vec![
        blocker(
            "InvalidSpec",
            "spec.ports[1].nodePort: 40000 is outside 30000-32767",
        ),
        blocker(
            "InvalidSpec",
            "spec.ingress: required when visibility.type is Ingress",
        ),
    ];
    let status = compute_status(&exposure, &Outcome::Blocked(blockers), &healthy(), &at(NOW));

    let message = "spec.ports[1].nodePort: 40000 is outside 30000-32767; \
                   spec.ingress: required when visibility.type is Ingress";
    assert_eq!(state(&status, condition::STALLED), ("True", "InvalidSpec"));
    assert_eq!(cond(&status, condition::STALLED).message, message);
    assert_eq!(state(&status, condition::READY), ("False", "InvalidSpec"));
    assert_eq!(cond(&status, condition::READY).message, message);
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("False", reason::STALLED)
    );
    // The last good children stay and are still described.
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("True", reason::REPLICAS_AVAILABLE)
    );
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("True", reason::SERVICE_READY)
    );
    assert_eq!(status.observed_generation, Some(GENERATION));
    assert_eq!(
        status.resources,
        [
            ResourceRef {
                kind: "ResourceQuota".into(),
                name: "tomcat".into()
            },
            ResourceRef {
                kind: "Deployment".into(),
                name: "tomcat".into()
            },
            ResourceRef {
                kind: "Service".into(),
                name: "tomcat".into()
            },
        ]
    );
}

#[test]
fn blocked_with_mixed_reasons_takes_the_first() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let blockers = vec![
        blocker("HostConflict", "host a is used by Ingress b/c"),
        blocker("InvalidSpec", "x: bad"),
    ];
    let status = compute_status(&exposure, &Outcome::Blocked(blockers), &healthy(), &at(NOW));
    assert_eq!(state(&status, condition::STALLED), ("True", "HostConflict"));
    assert_eq!(
        cond(&status, condition::STALLED).message,
        "host a is used by Ingress b/c; x: bad"
    );

    let status = compute_status(&exposure, &Outcome::Blocked(vec![]), &healthy(), &at(NOW));
    assert_eq!(
        state(&status, condition::STALLED),
        ("True", reason::BLOCKED)
    );
}

#[test]
fn blocked_resources_leave_out_the_endpoints_controllers_endpoints() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let observed = Observed {
        endpoints: Some(from(json!({"metadata": {"name": "tomcat"}}))),
        ..healthy()
    };
    let status = compute_status(
        &exposure,
        &Outcome::Blocked(vec![blocker("InvalidSpec", "x")]),
        &observed,
        &at(NOW),
    );
    assert_eq!(
        status
            .resources
            .iter()
            .map(|r| r.kind.as_str())
            .collect::<Vec<_>>(),
        ["Deployment", "Service"]
    );
}

// ---- stability ------------------------------------------------------------------------

#[test]
fn last_transition_time_is_kept_while_the_status_holds() {
    let mut exposure = exposure(app_spec(json!({"type": "Internal"})));
    let previous = |type_: &str, status: &str| Condition {
        type_: type_.into(),
        status: status.into(),
        observed_generation: Some(GENERATION - 1),
        last_transition_time: at(THEN),
        reason: "Old".into(),
        message: "old".into(),
    };
    exposure.status = Some(ExposureStatus {
        observed_generation: Some(GENERATION - 1),
        conditions: vec![
            previous(condition::READY, "True"),
            previous(condition::RECONCILING, "True"),
            previous(condition::AVAILABLE, "True"),
        ],
        ..ExposureStatus::default()
    });
    let status = compute(&exposure, &healthy());

    // Same status: the time stays while reason, message and generation are refreshed.
    assert_eq!(
        cond(&status, condition::READY).last_transition_time,
        at(THEN)
    );
    assert_eq!(cond(&status, condition::READY).reason, reason::READY);
    assert_eq!(
        cond(&status, condition::READY).observed_generation,
        Some(GENERATION)
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).last_transition_time,
        at(THEN)
    );
    // Flipped or new: now.
    assert_eq!(
        cond(&status, condition::RECONCILING).last_transition_time,
        at(NOW)
    );
    assert_eq!(
        cond(&status, condition::STALLED).last_transition_time,
        at(NOW)
    );
    assert_eq!(
        cond(&status, condition::EXPOSED).last_transition_time,
        at(NOW)
    );
}

#[test]
fn same_inputs_same_status_and_recomputing_changes_nothing() {
    let mut exposure = exposure(ingress_spec());
    let observed = Observed {
        deployment: Some(deployment(3, 1, json!({}))),
        pods: vec![
            waiting_pod(
                "tomcat-7d9-x2",
                "ImagePullBackOff",
                json!({"image": "tomcat:missing"}),
            ),
            ready_pod("tomcat-7d9-a1"),
            waiting_pod(
                "tomcat-7d9-x1",
                "CrashLoopBackOff",
                json!({"restartCount": 2}),
            ),
        ],
        ingress: Some(ingress(
            json!([rule("ingress-tomcat.lagou.com", &["/"])]),
            json!([]),
            json!([]),
        )),
        ..healthy()
    };
    let first = compute(&exposure, &observed);
    assert_eq!(first, compute(&exposure, &observed));

    // Written back and recomputed later with the same world: identical, so no status write.
    exposure.status = Some(first.clone());
    let children = applied(&observed);
    let later = compute_status(
        &exposure,
        &Outcome::Applied(&children),
        &observed,
        &at(NOW + 60),
    );
    assert_eq!(later, first);

    // Pod order in the cache does not matter.
    let mut shuffled = observed.clone();
    shuffled.pods.reverse();
    assert_eq!(compute(&exposure, &shuffled), first);
}

#[test]
fn blocked_resources_do_not_depend_on_the_cache_order() {
    let exposure = web_with_storage();
    let mut observed = web_observed(vec![pvc("web-logs", "Bound"), pvc("web-data", "Bound")]);
    let blocked = Outcome::Blocked(vec![blocker("InvalidSpec", "x")]);
    let status = compute_status(&exposure, &blocked, &observed, &at(NOW));
    let names: Vec<String> = status
        .resources
        .iter()
        .map(|r| format!("{}/{}", r.kind, r.name))
        .collect();
    assert_eq!(
        names,
        [
            "PersistentVolumeClaim/web-data",
            "PersistentVolumeClaim/web-logs",
            "Deployment/tomcat",
            "Service/tomcat"
        ]
    );
    observed.pvcs.reverse();
    assert_eq!(
        compute_status(&exposure, &blocked, &observed, &at(NOW)),
        status
    );
}

#[test]
fn tls_for_another_host_leaves_http() {
    let exposure = exposure(ingress_spec());
    let observed = Observed {
        ingress: Some(ingress(
            json!([rule("ingress-tomcat.lagou.com", &["/"])]),
            json!([{"hosts": ["other.lagou.com"], "secretName": "tls"}]),
            json!([{"ip": "203.0.113.9"}]),
        )),
        ..healthy()
    };
    assert_eq!(
        compute(&exposure, &observed).url.as_deref(),
        Some("http://ingress-tomcat.lagou.com/")
    );
}

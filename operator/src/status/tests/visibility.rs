//! The Ready path of each visibility.

use super::*;

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
        service: Some(object(json!({
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
    let endpoints: Endpoints = object(json!({"metadata": {"name": "tomcat"}, "subsets": []}));
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
        object(json!({"metadata": {"name": "tomcat-headless"}, "spec": {"clusterIP": "None"}}));
    let observed = Observed {
        headless_service: Some(headless),
        ..healthy()
    };
    assert_eq!(
        state(&compute(&exposure, &observed), condition::READY),
        ("True", reason::READY)
    );
}

#[test]
fn every_host_is_a_url_and_the_first_is_the_url() {
    let exposure = exposure(ingress_spec());
    let observed = Observed {
        ingress: Some(ingress(
            json!([
                rule("foo.bar.com", &["/"]),
                rule("bar.foo.com", &["/a", "/b"])
            ]),
            json!([{"hosts": ["bar.foo.com"], "secretName": "tls"}]),
            json!([{"ip": "192.0.2.1"}]),
        )),
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(status.url.as_deref(), Some("http://foo.bar.com/"));
    assert_eq!(
        status.urls,
        [
            "http://foo.bar.com/",
            "https://bar.foo.com/a",
            "https://bar.foo.com/b"
        ]
    );
}

#[test]
fn a_default_backend_is_reached_at_the_ingress_address() {
    let exposure = exposure(ingress_spec());
    let mut live = ingress(json!(null), json!(null), json!([{"ip": "192.0.2.1"}]));
    if let Some(spec) = live.spec.as_mut() {
        spec.default_backend = Some(Default::default());
    }
    let observed = Observed {
        ingress: Some(live),
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(status.urls, ["http://192.0.2.1/"]);
    assert_eq!(status.url.as_deref(), Some("http://192.0.2.1/"));
}

fn gateway_exposure() -> Exposure {
    let mut spec = app_spec(json!({"type": "Gateway"}));
    spec["gateway"] = json!({"parentRefs": [{"name": "shared", "namespace": "infra"}]});
    exposure(spec)
}

fn route(parents: Value) -> crate::build::HTTPRoute {
    serde_json::from_value(json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "tomcat", "namespace": "shop", "generation": 2},
        "spec": {"hostnames": ["shop.example.com"], "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}, {"matches": [{"path": {"type": "Exact", "value": "/api"}}]}]},
        "status": {"parents": parents},
    }))
    .unwrap()
}

fn parent(accepted: &str, resolved: &str, generation: i64) -> Value {
    let condition = |type_: &str, status: &str| json!({"type": type_, "status": status, "reason": if status == "True" { type_ } else { "NotAllowedByListeners" }, "message": "m", "observedGeneration": generation, "lastTransitionTime": "2024-01-01T00:00:00Z"});
    json!({"parentRef": {"name": "shared", "namespace": "infra"}, "controllerName": "example.net/gw",
           "conditions": [condition("Accepted", accepted), condition("ResolvedRefs", resolved)]})
}

#[test]
fn a_route_every_gateway_accepted_is_exposed_at_its_hostnames() {
    let observed = Observed {
        http_route: Some(route(json!([parent("True", "True", 2)]))),
        ..healthy()
    };
    let status = compute(&gateway_exposure(), &observed);
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("True", reason::ROUTE_ACCEPTED)
    );
    assert_eq!(
        status.urls,
        ["http://shop.example.com/", "http://shop.example.com/api"]
    );
    assert_eq!(status.url.as_deref(), Some("http://shop.example.com/"));
}

#[test]
fn a_route_waits_for_its_gateway_and_reports_a_refusal() {
    let missing = Observed {
        http_route: None,
        ..healthy()
    };
    assert_eq!(
        state(&compute(&gateway_exposure(), &missing), condition::EXPOSED),
        ("False", reason::ROUTE_MISSING)
    );
    // No report yet, or one for an older generation: pending.
    for parents in [json!([]), json!([parent("True", "True", 1)])] {
        let observed = Observed {
            http_route: Some(route(parents)),
            ..healthy()
        };
        let status = compute(&gateway_exposure(), &observed);
        assert_eq!(
            state(&status, condition::EXPOSED),
            ("False", reason::ROUTE_PENDING)
        );
        assert_eq!(
            state(&status, condition::RECONCILING),
            ("True", reason::WAITING_FOR_ADDRESS)
        );
        assert!(cond(&status, condition::EXPOSED)
            .message
            .starts_with("waiting for Gateway infra/shared to accept HTTPRoute tomcat"));
    }
    let refused = Observed {
        http_route: Some(route(json!([parent("False", "True", 2)]))),
        ..healthy()
    };
    let status = compute(&gateway_exposure(), &refused);
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("False", reason::ROUTE_NOT_ACCEPTED)
    );
    assert_eq!(
        cond(&status, condition::EXPOSED).message,
        "Gateway infra/shared did not accept HTTPRoute tomcat: NotAllowedByListeners (m)"
    );
    let unresolved = Observed {
        http_route: Some(route(json!([parent("True", "False", 2)]))),
        ..healthy()
    };
    assert_eq!(
        state(
            &compute(&gateway_exposure(), &unresolved),
            condition::EXPOSED
        ),
        ("False", reason::ROUTE_REFS_UNRESOLVED)
    );
}

//! The Service `<name>`, the headless Service `<name>-headless` and, for an external backend,
//! its addresses: EndpointSlices `<name>-ipv4`/`<name>-ipv6` (Kubernetes >= 1.21), or the
//! Endpoints `<name>` on older clusters.

use std::net::IpAddr;

use exposure_crd::{labels, ExposureSpec, PortSpec, SessionAffinity, VisibilityType};
use k8s_openapi::api::core::v1::{
    ClientIPConfig, EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Service, ServicePort,
    ServiceSpec, SessionAffinityConfig,
};
use k8s_openapi::api::discovery::v1::{
    Endpoint, EndpointConditions, EndpointPort as SlicePort, EndpointSlice,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{
    headless_service_name, non_empty_map, non_empty_vec, owned_meta, selector_labels,
};
use crate::cluster::{ClusterInfo, Feature};
use crate::validate::Valid;

/// The main Service. None when there is nothing to expose: no ports and not an ExternalName
/// alias (Kubernetes rejects a selecting Service without ports).
pub(crate) fn build_service(valid: &Valid<'_>, cluster: &ClusterInfo) -> Option<Service> {
    let spec = &valid.exposure.spec;
    let visibility = &spec.visibility;
    let kind = visibility.type_;
    let is_alias = kind == VisibilityType::ExternalName;
    if spec.ports.is_empty() && !is_alias {
        return None;
    }
    let service_spec = ServiceSpec {
        type_: Some(service_type(kind).to_owned()),
        external_name: visibility.external_name.clone().filter(|_| is_alias),
        ports: non_empty_vec(&service_ports(spec, kind.has_node_ports())),
        selector: selects_pods(spec).then(|| selector_labels(valid.name)),
        session_affinity: visibility
            .session_affinity
            .map(|affinity| affinity.as_str().to_owned()),
        session_affinity_config: visibility
            .session_affinity_timeout_seconds
            .filter(|_| visibility.session_affinity == Some(SessionAffinity::ClientIp))
            .map(|timeout| SessionAffinityConfig {
                client_ip: Some(ClientIPConfig {
                    timeout_seconds: Some(timeout),
                }),
            }),
        // Kubernetes rejects these fields on the other Service types.
        external_traffic_policy: visibility
            .external_traffic_policy
            .filter(|_| kind.has_node_ports())
            .map(|policy| policy.as_str().to_owned()),
        load_balancer_source_ranges: non_empty_vec(&visibility.load_balancer_source_ranges)
            .filter(|_| kind == VisibilityType::LoadBalancer),
        load_balancer_class: visibility.load_balancer_class.clone().filter(|_| {
            kind == VisibilityType::LoadBalancer && cluster.supports(Feature::LoadBalancerClass)
        }),
        ..ServiceSpec::default()
    };
    let mut metadata = owned_meta(valid, valid.name.to_owned());
    metadata.annotations = non_empty_map(&visibility.annotations);
    Some(Service {
        metadata,
        spec: Some(service_spec),
        status: None,
    })
}

/// The headless Service when `headless: true`: the same pods, one DNS record per pod, ready
/// or not. Only for Services that select pods and have ports.
pub(crate) fn build_headless_service(valid: &Valid<'_>) -> Option<Service> {
    let spec = &valid.exposure.spec;
    let stateful =
        super::deployment::workload_kind(spec) == Some(exposure_crd::WorkloadKind::StatefulSet);
    // A StatefulSet's pods get their stable DNS names from it (`serviceName`).
    if !(spec.headless == Some(true) || stateful) || !selects_pods(spec) || spec.ports.is_empty() {
        return None;
    }
    Some(Service {
        metadata: owned_meta(valid, headless_service_name(valid.name)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            ports: Some(service_ports(spec, false)),
            selector: Some(selector_labels(valid.name)),
            ..ServiceSpec::default()
        }),
        status: None,
    })
}

/// Whether the spec names an external backend the Service routes to.
fn has_external_backend(spec: &ExposureSpec) -> bool {
    !spec.endpoints.is_empty()
        && !spec.ports.is_empty()
        && spec.visibility.type_ != VisibilityType::ExternalName
}

/// The Endpoints of a selector-less Service, on clusters without EndpointSlices: every address
/// serves every port, on the backend's own port (containerPort), as in the textbook's
/// `custom-service`.
pub(crate) fn build_endpoints(valid: &Valid<'_>, cluster: &ClusterInfo) -> Option<Endpoints> {
    let spec = &valid.exposure.spec;
    if !has_external_backend(spec) || cluster.supports(Feature::EndpointSlice) {
        return None;
    }
    let subset = EndpointSubset {
        addresses: Some(
            spec.endpoints
                .iter()
                .map(|endpoint| EndpointAddress {
                    ip: endpoint.ip.clone(),
                    ..Default::default()
                })
                .collect(),
        ),
        ports: Some(
            spec.ports
                .iter()
                .map(|port| EndpointPort {
                    name: port.name.clone(),
                    port: port.container_port,
                    protocol: Some(port.protocol.as_str().to_owned()),
                    ..EndpointPort::default()
                })
                .collect(),
        ),
        ..EndpointSubset::default()
    };
    Some(Endpoints {
        metadata: owned_meta(valid, valid.name.to_owned()),
        subsets: Some(vec![subset]),
    })
}

/// The EndpointSlices of a selector-less Service (clusters >= 1.21): one per address family
/// (`<name>-ipv4`, `<name>-ipv6`; a slice holds one), every address a ready endpoint serving
/// every port on the backend's own port (containerPort), like the Endpoints they replace.
pub(crate) fn build_endpoint_slices(
    valid: &Valid<'_>,
    cluster: &ClusterInfo,
) -> Vec<EndpointSlice> {
    let spec = &valid.exposure.spec;
    if !has_external_backend(spec) || !cluster.supports(Feature::EndpointSlice) {
        return Vec::new();
    }
    let ports: Vec<SlicePort> = spec
        .ports
        .iter()
        .map(|port| SlicePort {
            name: port.name.clone(),
            port: Some(port.container_port),
            protocol: Some(port.protocol.as_str().to_owned()),
            app_protocol: None,
        })
        .collect();
    let families = [("IPv4", "ipv4", true), ("IPv6", "ipv6", false)];
    families
        .into_iter()
        .filter_map(|(address_type, suffix, v4)| {
            let endpoints: Vec<Endpoint> = spec
                .endpoints
                .iter()
                .filter(|e| e.ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv4() == v4))
                .map(|e| Endpoint {
                    addresses: vec![e.ip.clone()],
                    conditions: Some(EndpointConditions {
                        ready: Some(true),
                        ..EndpointConditions::default()
                    }),
                    ..Endpoint::default()
                })
                .collect();
            if endpoints.is_empty() {
                return None;
            }
            let mut metadata = owned_meta(valid, format!("{}-{suffix}", valid.name));
            let labels = metadata.labels.get_or_insert_with(Default::default);
            labels.insert(labels::SERVICE_NAME.to_owned(), valid.name.to_owned());
            labels.insert(
                labels::ENDPOINT_SLICE_MANAGED_BY.to_owned(),
                labels::ENDPOINT_SLICE_MANAGER.to_owned(),
            );
            Some(EndpointSlice {
                metadata,
                address_type: address_type.to_owned(),
                endpoints,
                ports: Some(ports.clone()),
            })
        })
        .collect()
}

/// Whether the Service selects the Deployment's pods: not for an alias, nor for an external
/// backend, whose Endpoints(Slices) are written by the operator instead.
fn selects_pods(spec: &ExposureSpec) -> bool {
    spec.visibility.type_ != VisibilityType::ExternalName && spec.endpoints.is_empty()
}

fn service_type(kind: VisibilityType) -> &'static str {
    match kind {
        VisibilityType::Internal | VisibilityType::Ingress | VisibilityType::Gateway => "ClusterIP",
        VisibilityType::NodePort => "NodePort",
        VisibilityType::LoadBalancer => "LoadBalancer",
        VisibilityType::ExternalName => "ExternalName",
    }
}

fn service_ports(spec: &ExposureSpec, with_node_ports: bool) -> Vec<ServicePort> {
    spec.ports
        .iter()
        .map(|port| service_port(port, with_node_ports))
        .collect()
}

fn service_port(port: &PortSpec, with_node_ports: bool) -> ServicePort {
    ServicePort {
        name: port.name.clone(),
        port: port.service_port(),
        target_port: Some(IntOrString::Int(port.container_port)),
        protocol: Some(port.protocol.as_str().to_owned()),
        node_port: port.node_port.filter(|_| with_node_ports),
        ..ServicePort::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use exposure_crd::{EndpointSpec, ExternalTrafficPolicy, Protocol, Visibility};

    use super::*;
    use crate::build::meta::child_labels;
    use crate::build::meta::tests::{new_exposure, valid};
    use crate::cluster::KubeVersion;
    use crate::fixtures::valid_on;

    fn old() -> ClusterInfo {
        ClusterInfo::new(KubeVersion::new(1, 20))
    }

    fn with_visibility(type_: VisibilityType, ports: Vec<PortSpec>) -> ExposureSpec {
        ExposureSpec {
            image: Some("nginx:1.25".into()),
            ports,
            visibility: Visibility {
                type_,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn http(node_port: Option<i32>) -> PortSpec {
        PortSpec {
            container_port: 443,
            port: Some(3000),
            node_port,
            ..Default::default()
        }
    }

    fn spec_of(service: &Service) -> &ServiceSpec {
        service.spec.as_ref().unwrap()
    }

    #[test]
    fn types_follow_visibility() {
        for (visibility, expected) in [
            (VisibilityType::Internal, "ClusterIP"),
            (VisibilityType::Ingress, "ClusterIP"),
            (VisibilityType::NodePort, "NodePort"),
            (VisibilityType::LoadBalancer, "LoadBalancer"),
        ] {
            let mut spec = with_visibility(visibility, vec![http(None)]);
            if visibility == VisibilityType::Ingress {
                spec.ingress = Some(exposure_crd::IngressSpec {
                    host: Some("shop.example.com".into()),
                    ..Default::default()
                });
            }
            let exposure = new_exposure(Some("shop"), Some("uid"), spec);
            let service = build_service(&valid(&exposure), &old()).unwrap();
            assert_eq!(spec_of(&service).type_.as_deref(), Some(expected));
            assert_eq!(spec_of(&service).selector, Some(selector_labels("web")));
            assert_eq!(
                spec_of(&service).cluster_ip,
                None,
                "clusterIP is the API server's"
            );
            assert_eq!(service.metadata.name.as_deref(), Some("web"));
            assert_eq!(service.metadata.namespace.as_deref(), Some("shop"));
            assert_eq!(service.metadata.labels, Some(child_labels("web")));
            assert!(service.metadata.owner_references.is_some());
        }
    }

    #[test]
    fn ports_map_port_target_protocol_and_node_port() {
        let ports = vec![
            PortSpec {
                name: Some("http".into()),
                container_port: 9376,
                port: Some(80),
                ..Default::default()
            },
            PortSpec {
                name: Some("dns".into()),
                container_port: 53,
                protocol: Protocol::Udp,
                node_port: Some(30053),
                ..Default::default()
            },
        ];
        let exposure = new_exposure(
            None,
            None,
            with_visibility(VisibilityType::NodePort, ports.clone()),
        );
        let service = build_service(&valid(&exposure), &old()).unwrap();
        assert_eq!(
            spec_of(&service).ports,
            Some(vec![
                ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    target_port: Some(IntOrString::Int(9376)),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                },
                ServicePort {
                    name: Some("dns".into()),
                    port: 53,
                    target_port: Some(IntOrString::Int(53)),
                    protocol: Some("UDP".into()),
                    node_port: Some(30053),
                    ..Default::default()
                },
            ])
        );
    }

    #[test]
    fn external_name_aliases_without_selector() {
        let mut spec = with_visibility(VisibilityType::ExternalName, vec![]);
        spec.visibility.external_name = Some("app-db.database.example.com".into());
        spec.image = None;
        let exposure = new_exposure(None, None, spec);
        let service = build_service(&valid(&exposure), &old()).unwrap();
        let service_spec = spec_of(&service);
        assert_eq!(service_spec.type_.as_deref(), Some("ExternalName"));
        assert_eq!(
            service_spec.external_name.as_deref(),
            Some("app-db.database.example.com")
        );
        assert_eq!(service_spec.selector, None);
        assert_eq!(service_spec.ports, None);
        assert_eq!(build_headless_service(&valid(&exposure)), None);
        assert_eq!(build_endpoints(&valid(&exposure), &old()), None);
    }

    #[test]
    fn affinity_policies_and_annotations() {
        let mut spec = with_visibility(VisibilityType::LoadBalancer, vec![http(Some(30080))]);
        spec.visibility.session_affinity = Some(SessionAffinity::ClientIp);
        spec.visibility.session_affinity_timeout_seconds = Some(600);
        spec.visibility.external_traffic_policy = Some(ExternalTrafficPolicy::Local);
        spec.visibility.load_balancer_source_ranges = vec!["203.0.113.0/24".into()];
        spec.visibility.load_balancer_class = Some("example.com/internal-vip".into());
        spec.visibility.annotations = BTreeMap::from([("team".to_owned(), "web".to_owned())]);
        let exposure = new_exposure(None, None, spec);

        // Valid on the newest cluster, built for 1.20: validation reports UnsupportedByCluster
        // there, and the builder still never emits a field the cluster does not know.
        let valid = valid_on(&exposure, &ClusterInfo::default());
        let on_old = build_service(&valid, &old()).unwrap();
        let service_spec = spec_of(&on_old);
        assert_eq!(service_spec.session_affinity.as_deref(), Some("ClientIP"));
        assert_eq!(
            service_spec.session_affinity_config,
            Some(SessionAffinityConfig {
                client_ip: Some(ClientIPConfig {
                    timeout_seconds: Some(600)
                })
            })
        );
        assert_eq!(
            service_spec.external_traffic_policy.as_deref(),
            Some("Local")
        );
        assert_eq!(
            service_spec.load_balancer_source_ranges,
            Some(vec!["203.0.113.0/24".to_owned()])
        );
        assert_eq!(
            service_spec.load_balancer_class, None,
            "loadBalancerClass needs 1.24"
        );
        assert_eq!(
            service_spec.ports.as_ref().unwrap()[0].node_port,
            Some(30080)
        );
        assert_eq!(on_old.metadata.annotations.as_ref().unwrap()["team"], "web");

        let on_new = build_service(&valid, &ClusterInfo::default()).unwrap();
        assert_eq!(
            spec_of(&on_new).load_balancer_class.as_deref(),
            Some("example.com/internal-vip")
        );
    }

    #[test]
    fn cluster_ip_services_have_no_node_or_load_balancer_fields() {
        let mut spec = with_visibility(VisibilityType::Internal, vec![http(None)]);
        spec.visibility.session_affinity = Some(SessionAffinity::None);
        let exposure = new_exposure(None, None, spec);
        let service = build_service(&valid(&exposure), &ClusterInfo::default()).unwrap();
        let service_spec = spec_of(&service);
        assert_eq!(service_spec.session_affinity.as_deref(), Some("None"));
        assert_eq!(service_spec.session_affinity_config, None);
        assert_eq!(service_spec.external_traffic_policy, None);
        assert_eq!(service_spec.load_balancer_source_ranges, None);
        assert_eq!(service_spec.load_balancer_class, None);
        assert_eq!(service.metadata.annotations, None);
    }

    #[test]
    fn headless_service_mirrors_ports_without_node_ports() {
        let mut spec = with_visibility(VisibilityType::NodePort, vec![http(Some(30080))]);
        spec.headless = Some(true);
        let exposure = new_exposure(Some("shop"), Some("uid"), spec);
        let headless = build_headless_service(&valid(&exposure)).unwrap();
        assert_eq!(headless.metadata.name.as_deref(), Some("web-headless"));
        assert_eq!(headless.metadata.labels, Some(child_labels("web")));
        assert!(headless.metadata.owner_references.is_some());
        let headless_spec = spec_of(&headless);
        assert_eq!(headless_spec.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(headless_spec.cluster_ip.as_deref(), Some("None"));
        assert_eq!(headless_spec.publish_not_ready_addresses, Some(true));
        assert_eq!(headless_spec.selector, Some(selector_labels("web")));
        let port = &headless_spec.ports.as_ref().unwrap()[0];
        assert_eq!((port.port, port.node_port), (3000, None));

        let mut not_asked = with_visibility(VisibilityType::Internal, vec![http(None)]);
        not_asked.headless = Some(false);
        assert_eq!(
            build_headless_service(&valid(&new_exposure(None, None, not_asked))),
            None
        );
    }

    #[test]
    fn external_backend_gets_a_selectorless_service_and_endpoints() {
        let ports = vec![PortSpec {
            name: Some("http".into()),
            container_port: 9376,
            port: Some(80),
            ..Default::default()
        }];
        let mut spec = with_visibility(VisibilityType::LoadBalancer, ports);
        spec.image = None;
        spec.endpoints = vec![
            EndpointSpec {
                ip: "192.0.2.10".into(),
            },
            EndpointSpec {
                ip: "192.0.2.11".into(),
            },
        ];
        let exposure = new_exposure(Some("shop"), Some("uid"), spec);
        let service = build_service(&valid(&exposure), &old()).unwrap();
        assert_eq!(spec_of(&service).selector, None);

        let endpoints = build_endpoints(&valid(&exposure), &old()).unwrap();
        assert_eq!(endpoints.metadata.name.as_deref(), Some("web"));
        assert_eq!(endpoints.metadata.namespace.as_deref(), Some("shop"));
        assert!(endpoints.metadata.owner_references.is_some());
        assert_eq!(
            endpoints.subsets,
            Some(vec![EndpointSubset {
                addresses: Some(vec![
                    EndpointAddress {
                        ip: "192.0.2.10".into(),
                        ..Default::default()
                    },
                    EndpointAddress {
                        ip: "192.0.2.11".into(),
                        ..Default::default()
                    },
                ]),
                ports: Some(vec![EndpointPort {
                    name: Some("http".into()),
                    port: 9376,
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }])
        );
    }

    #[test]
    fn external_backend_on_1_21_gets_endpoint_slices_per_family_and_no_endpoints() {
        let ports = vec![PortSpec {
            name: Some("http".into()),
            container_port: 9376,
            port: Some(80),
            ..Default::default()
        }];
        let mut spec = with_visibility(VisibilityType::Internal, ports);
        spec.image = None;
        spec.endpoints = ["192.0.2.10", "2001:db8::10", "192.0.2.11"]
            .into_iter()
            .map(|ip| EndpointSpec { ip: ip.into() })
            .collect();
        let exposure = new_exposure(Some("shop"), Some("uid"), spec);
        let current = ClusterInfo::new(KubeVersion::new(1, 21));
        assert_eq!(build_endpoints(&valid(&exposure), &current), None);
        assert!(build_endpoint_slices(&valid(&exposure), &old()).is_empty());
        let slices = build_endpoint_slices(&valid(&exposure), &current);
        let expected: Vec<EndpointSlice> = serde_yaml::from_str(
            r#"
- metadata:
    name: web-ipv4
    namespace: shop
    labels: &labels
      exposure.dev/name: web
      app.kubernetes.io/name: web
      app.kubernetes.io/instance: web
      app.kubernetes.io/managed-by: exposure-operator
      kubernetes.io/service-name: web
      endpointslice.kubernetes.io/managed-by: exposure-operator.exposure.dev
    ownerReferences: &owners
    - {apiVersion: exposure.dev/v1alpha1, kind: Exposure, name: web, uid: uid, controller: true, blockOwnerDeletion: true}
  addressType: IPv4
  endpoints:
  - {addresses: [192.0.2.10], conditions: {ready: true}}
  - {addresses: [192.0.2.11], conditions: {ready: true}}
  ports: &ports [{name: http, port: 9376, protocol: TCP}]
- metadata: {name: web-ipv6, namespace: shop, labels: *labels, ownerReferences: *owners}
  addressType: IPv6
  endpoints: [{addresses: ["2001:db8::10"], conditions: {ready: true}}]
  ports: *ports
"#,
        )
        .unwrap();
        assert_eq!(slices, expected);
    }

    #[test]
    fn no_endpoints_without_addresses() {
        let exposure = new_exposure(
            None,
            None,
            with_visibility(VisibilityType::Internal, vec![http(None)]),
        );
        assert_eq!(build_endpoints(&valid(&exposure), &old()), None);
    }
}

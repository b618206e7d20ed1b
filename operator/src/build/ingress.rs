//! The Ingress `<name>` (networking.k8s.io/v1) in front of the Service `<name>`: one rule per
//! host, the TLS entries grouped per Secret, the cert-manager issuer annotation, and the
//! default backend.

use std::collections::BTreeMap;

use exposure_crd::{IngressHost, IngressPath, PathType, PortSpec, VisibilityType};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{non_empty_map, owned_meta};
use crate::validate::Valid;

/// The Ingress when the visibility is Ingress; none without an `ingress` section or without
/// ports (there would be no Service to route to).
pub(crate) fn build_ingress(valid: &Valid<'_>) -> Option<Ingress> {
    let spec = &valid.exposure.spec;
    if spec.visibility.type_ != VisibilityType::Ingress {
        return None;
    }
    let ingress = spec.ingress.as_ref()?;
    let first_port = spec.ports.first()?;
    let hosts = ingress.all_hosts();
    let rules: Vec<IngressRule> = hosts
        .iter()
        .map(|host| rule(valid.name, host, first_port))
        .collect();
    let mut annotations = ingress.annotations.clone();
    // validate guarantees one issuer for every TLS entry.
    if let Some(tls) = hosts
        .iter()
        .filter_map(|h| h.tls.as_ref())
        .find(|t| t.issuer.is_some())
    {
        if let Some(issuer) = &tls.issuer {
            annotations.insert(
                tls.issuer_kind.unwrap_or_default().annotation().to_owned(),
                issuer.clone(),
            );
        }
    }
    let mut metadata = owned_meta(valid, valid.name.to_owned());
    metadata.annotations = non_empty_map(&annotations);
    let default_backend = ingress.is_default_backend().then(|| IngressBackend {
        service: Some(IngressServiceBackend {
            name: valid.name.to_owned(),
            port: Some(backend_port(
                ingress.default_backend_port.as_ref(),
                first_port,
            )),
        }),
        ..IngressBackend::default()
    });
    let tls = tls_per_secret(&hosts);
    Some(Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: ingress.class_name.clone(),
            default_backend,
            rules: (!rules.is_empty()).then_some(rules),
            tls: (!tls.is_empty()).then_some(tls),
        }),
        status: None,
    })
}

fn rule(service: &str, host: &IngressHost, first_port: &PortSpec) -> IngressRule {
    let default_paths = [IngressPath {
        path: "/".to_owned(),
        path_type: PathType::Prefix,
        port: None,
    }];
    let paths = if host.paths.is_empty() {
        &default_paths[..]
    } else {
        &host.paths[..]
    };
    IngressRule {
        host: Some(host.host.clone()),
        http: Some(HTTPIngressRuleValue {
            paths: paths
                .iter()
                .map(|path| http_path(service, path, first_port))
                .collect(),
        }),
    }
}

/// One `tls` entry per Secret, listing its hosts, in the order the Secrets first appear.
fn tls_per_secret(hosts: &[IngressHost]) -> Vec<IngressTLS> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_secret: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for host in hosts {
        let Some(tls) = &host.tls else { continue };
        let secret = tls.secret_name.as_str();
        if !by_secret.contains_key(secret) {
            order.push(secret);
        }
        by_secret.entry(secret).or_default().push(host.host.clone());
    }
    order
        .into_iter()
        .map(|secret| IngressTLS {
            hosts: by_secret.remove(secret),
            secret_name: Some(secret.to_owned()),
        })
        .collect()
}

fn backend_port(port: Option<&IntOrString>, first_port: &PortSpec) -> ServiceBackendPort {
    match port {
        Some(IntOrString::String(name)) => ServiceBackendPort {
            name: Some(name.clone()),
            number: None,
        },
        Some(IntOrString::Int(number)) => ServiceBackendPort {
            name: None,
            number: Some(*number),
        },
        None => ServiceBackendPort {
            name: None,
            number: Some(first_port.service_port()),
        },
    }
}

fn http_path(service: &str, path: &IngressPath, first_port: &PortSpec) -> HTTPIngressPath {
    let port = backend_port(path.port.as_ref(), first_port);
    HTTPIngressPath {
        path: Some(path.path.clone()),
        path_type: path.path_type.as_str().to_owned(),
        backend: IngressBackend {
            service: Some(IngressServiceBackend {
                name: service.to_owned(),
                port: Some(port),
            }),
            ..IngressBackend::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use exposure_crd::{ExposureSpec, IngressSpec as ExposureIngress, IngressTls, Visibility};

    use super::*;
    use crate::build::meta::child_labels;
    use crate::build::meta::tests::{new_exposure, valid};

    fn spec(ingress: Option<ExposureIngress>, ports: Vec<PortSpec>) -> ExposureSpec {
        ExposureSpec {
            image: Some("tomcat:9.0.20-jre8-alpine".into()),
            ports,
            visibility: Visibility {
                type_: VisibilityType::Ingress,
                ..Default::default()
            },
            ingress,
            ..Default::default()
        }
    }

    fn tomcat_port() -> Vec<PortSpec> {
        vec![PortSpec {
            name: Some("http".into()),
            container_port: 8080,
            port: Some(80),
            ..Default::default()
        }]
    }

    fn host(host: &str) -> ExposureIngress {
        ExposureIngress {
            host: Some(host.into()),
            ..Default::default()
        }
    }

    #[test]
    fn default_path_routes_everything_to_the_first_port() {
        let exposure = new_exposure(
            Some("shop"),
            Some("uid"),
            spec(Some(host("ingress-tomcat.lagou.com")), tomcat_port()),
        );
        let ingress = build_ingress(&valid(&exposure)).unwrap();
        assert_eq!(ingress.metadata.name.as_deref(), Some("web"));
        assert_eq!(ingress.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(ingress.metadata.labels, Some(child_labels("web")));
        assert!(ingress.metadata.owner_references.is_some());
        assert_eq!(ingress.metadata.annotations, None);
        let ingress_spec = ingress.spec.unwrap();
        assert_eq!(ingress_spec.ingress_class_name, None);
        assert_eq!(ingress_spec.tls, None);
        let rule = &ingress_spec.rules.unwrap()[0];
        assert_eq!(rule.host.as_deref(), Some("ingress-tomcat.lagou.com"));
        assert_eq!(
            rule.http.as_ref().unwrap().paths,
            vec![HTTPIngressPath {
                path: Some("/".into()),
                path_type: "Prefix".into(),
                backend: IngressBackend {
                    service: Some(IngressServiceBackend {
                        name: "web".into(),
                        port: Some(ServiceBackendPort {
                            name: None,
                            number: Some(80)
                        }),
                    }),
                    resource: None,
                },
            }]
        );
    }

    #[test]
    fn explicit_paths_class_tls_and_annotations() {
        let ingress = ExposureIngress {
            host: Some("foo.bar.com".into()),
            class_name: Some("nginx".into()),
            paths: vec![
                IngressPath {
                    path: "/foo".into(),
                    path_type: PathType::Exact,
                    port: Some(IntOrString::String("http".into())),
                },
                IngressPath {
                    path: "/bar".into(),
                    path_type: PathType::ImplementationSpecific,
                    port: Some(IntOrString::Int(8080)),
                },
                IngressPath {
                    path: "/baz".into(),
                    path_type: PathType::Prefix,
                    port: None,
                },
            ],
            tls: Some(IngressTls {
                secret_name: "foo-tls".into(),
                ..Default::default()
            }),
            annotations: BTreeMap::from([(
                "nginx.ingress.kubernetes.io/rewrite-target".to_owned(),
                "/".to_owned(),
            )]),
            ..Default::default()
        };
        let mut ports = tomcat_port();
        ports.push(PortSpec {
            name: Some("admin".into()),
            container_port: 9000,
            port: Some(8080),
            ..Default::default()
        });
        let exposure = new_exposure(None, None, spec(Some(ingress), ports));
        let built = build_ingress(&valid(&exposure)).unwrap();
        assert_eq!(
            built.metadata.annotations.as_ref().unwrap()
                ["nginx.ingress.kubernetes.io/rewrite-target"],
            "/"
        );
        assert_eq!(built.metadata.owner_references, None);
        let ingress_spec = built.spec.unwrap();
        assert_eq!(ingress_spec.ingress_class_name.as_deref(), Some("nginx"));
        let rules = ingress_spec.rules.unwrap();
        assert_eq!(
            ingress_spec.tls,
            Some(vec![IngressTLS {
                hosts: Some(vec!["foo.bar.com".into()]),
                secret_name: Some("foo-tls".into())
            }])
        );
        let paths = &rules[0].http.as_ref().unwrap().paths;
        let summary: Vec<_> = paths
            .iter()
            .map(|path| {
                let port = path.backend.service.as_ref().unwrap().port.clone().unwrap();
                (
                    path.path.clone().unwrap(),
                    path.path_type.clone(),
                    port.name,
                    port.number,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "/foo".to_owned(),
                    "Exact".to_owned(),
                    Some("http".to_owned()),
                    None
                ),
                (
                    "/bar".to_owned(),
                    "ImplementationSpecific".to_owned(),
                    None,
                    Some(8080)
                ),
                ("/baz".to_owned(), "Prefix".to_owned(), None, Some(80)),
            ]
        );
    }

    fn from_yaml(ingress: &str, ports: &str) -> exposure_crd::Exposure {
        let yaml = format!(
            "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata: {{name: web, namespace: shop, uid: u1}}\nspec:\n  image: nginx\n  ports: {ports}\n  visibility: {{type: Ingress}}\n  ingress: {ingress}\n"
        );
        serde_yaml::from_str(&yaml).unwrap()
    }

    #[test]
    fn one_rule_per_host_and_tls_grouped_per_secret_with_the_issuer() {
        let exposure = from_yaml(
            "{hosts: [{host: foo.bar.com, tls: {secretName: shared-tls, issuer: letsencrypt}}, {host: bar.foo.com, paths: [{path: /api, pathType: Exact}], tls: {secretName: bar-tls, issuer: letsencrypt}}, {host: \"*.foo.com\", tls: {secretName: shared-tls}}, {host: plain.example.com}], annotations: {a: b}}",
            "[{containerPort: 8080, port: 80}]",
        );
        let built = build_ingress(&valid(&exposure)).unwrap();
        assert_eq!(
            built.metadata.annotations,
            Some(BTreeMap::from([
                ("a".to_owned(), "b".to_owned()),
                (
                    "cert-manager.io/cluster-issuer".to_owned(),
                    "letsencrypt".to_owned()
                ),
            ]))
        );
        let spec = built.spec.unwrap();
        assert_eq!(spec.default_backend, None);
        let rules = spec.rules.unwrap();
        let hosts: Vec<_> = rules.iter().map(|r| r.host.clone().unwrap()).collect();
        assert_eq!(
            hosts,
            [
                "foo.bar.com",
                "bar.foo.com",
                "*.foo.com",
                "plain.example.com"
            ]
        );
        let paths: Vec<_> = rules
            .iter()
            .map(|r| {
                let p = &r.http.as_ref().unwrap().paths[0];
                (p.path.clone().unwrap(), p.path_type.clone())
            })
            .collect();
        assert_eq!(paths[0], ("/".to_owned(), "Prefix".to_owned()));
        assert_eq!(paths[1], ("/api".to_owned(), "Exact".to_owned()));
        assert_eq!(
            spec.tls,
            Some(vec![
                IngressTLS {
                    hosts: Some(vec!["foo.bar.com".into(), "*.foo.com".into()]),
                    secret_name: Some("shared-tls".into()),
                },
                IngressTLS {
                    hosts: Some(vec!["bar.foo.com".into()]),
                    secret_name: Some("bar-tls".into()),
                },
            ])
        );
    }

    #[test]
    fn a_namespaced_issuer_gets_its_own_annotation() {
        let exposure = from_yaml(
            "{host: a.example.com, tls: {secretName: a-tls, issuer: local-ca, issuerKind: Issuer}}",
            "[{containerPort: 80}]",
        );
        let built = build_ingress(&valid(&exposure)).unwrap();
        assert_eq!(
            built.metadata.annotations,
            Some(BTreeMap::from([(
                "cert-manager.io/issuer".to_owned(),
                "local-ca".to_owned()
            )]))
        );
    }

    #[test]
    fn the_default_backend_alone_or_beside_hosts() {
        let alone = from_yaml("{defaultBackend: true}", "[{containerPort: 8080}]");
        let spec = build_ingress(&valid(&alone)).unwrap().spec.unwrap();
        assert_eq!(spec.rules, None);
        assert_eq!(spec.tls, None);
        assert_eq!(
            spec.default_backend,
            Some(IngressBackend {
                service: Some(IngressServiceBackend {
                    name: "web".into(),
                    port: Some(ServiceBackendPort {
                        name: None,
                        number: Some(8080)
                    }),
                }),
                resource: None,
            })
        );
        let beside = from_yaml(
            "{host: a.example.com, className: nginx, defaultBackend: true, defaultBackendPort: admin}",
            "[{name: http, containerPort: 80}, {name: admin, containerPort: 9000}]",
        );
        let spec = build_ingress(&valid(&beside)).unwrap().spec.unwrap();
        assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
        assert_eq!(spec.rules.unwrap().len(), 1);
        assert_eq!(
            spec.default_backend.unwrap().service.unwrap().port,
            Some(ServiceBackendPort {
                name: Some("admin".into()),
                number: None
            })
        );
    }

    #[test]
    fn no_ingress_without_ingress_visibility() {
        let mut internal_spec = spec(None, tomcat_port());
        internal_spec.visibility.type_ = VisibilityType::Internal;
        let internal = new_exposure(None, None, internal_spec);
        assert_eq!(build_ingress(&valid(&internal)), None);
    }
}

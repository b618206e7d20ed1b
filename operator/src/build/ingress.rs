//! The Ingress `<name>` (networking.k8s.io/v1) in front of the Service `<name>`.

use exposure_crd::{IngressPath, PathType, PortSpec, VisibilityType};
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
    let default_paths = [IngressPath {
        path: "/".to_owned(),
        path_type: PathType::Prefix,
        port: None,
    }];
    let paths = if ingress.paths.is_empty() {
        &default_paths[..]
    } else {
        &ingress.paths[..]
    };
    let mut metadata = owned_meta(valid, valid.name.to_owned());
    metadata.annotations = non_empty_map(&ingress.annotations);
    Some(Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: ingress.class_name.clone(),
            rules: Some(vec![IngressRule {
                host: Some(ingress.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: paths
                        .iter()
                        .map(|path| http_path(valid.name, path, first_port))
                        .collect(),
                }),
            }]),
            tls: ingress.tls.as_ref().map(|tls| {
                vec![IngressTLS {
                    hosts: Some(vec![ingress.host.clone()]),
                    secret_name: Some(tls.secret_name.clone()),
                }]
            }),
            ..IngressSpec::default()
        }),
        status: None,
    })
}

fn http_path(service: &str, path: &IngressPath, first_port: &PortSpec) -> HTTPIngressPath {
    let port = match &path.port {
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
    };
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
            host: host.into(),
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
            host: "foo.bar.com".into(),
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
            }),
            annotations: BTreeMap::from([(
                "nginx.ingress.kubernetes.io/rewrite-target".to_owned(),
                "/".to_owned(),
            )]),
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

    #[test]
    fn no_ingress_without_ingress_visibility() {
        let mut internal_spec = spec(None, tomcat_port());
        internal_spec.visibility.type_ = VisibilityType::Internal;
        let internal = new_exposure(None, None, internal_spec);
        assert_eq!(build_ingress(&valid(&internal)), None);
    }
}

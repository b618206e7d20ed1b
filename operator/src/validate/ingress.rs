//! `spec.ingress`: class, host, TLS and paths.

use std::net::IpAddr;

use exposure_crd::{IngressSpec, VisibilityType};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{is_dns1123_subdomain, only_with, Checker, Seen, DNS1123_SUBDOMAIN};

impl Checker<'_> {
    pub(super) fn ingress(&mut self) {
        let kind = self.spec.visibility.type_;
        let Some(ingress) = &self.spec.ingress else {
            if kind == VisibilityType::Ingress {
                self.error("spec.ingress", "required when visibility.type is Ingress");
            }
            return;
        };
        if kind != VisibilityType::Ingress {
            self.error("spec.ingress", only_with("visibility.type Ingress", kind));
            return;
        }
        self.ingress_host(&ingress.host);
        if let Some(class) = ingress.class_name.as_deref() {
            self.name_check(
                "spec.ingress.className",
                class,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
        self.ingress_paths(ingress);
        if let Some(tls) = &ingress.tls {
            self.name_check(
                "spec.ingress.tls.secretName",
                &tls.secret_name,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
        self.annotations("spec.ingress.annotations", &ingress.annotations);
    }

    fn ingress_host(&mut self, host: &str) {
        let field = "spec.ingress.host";
        let name = host.strip_prefix("*.").unwrap_or(host);
        if host.is_empty() {
            self.error(field, "required");
        } else if host.parse::<IpAddr>().is_ok() {
            self.error(
                field,
                format!("{host:?} is an IP address; an Ingress host must be a DNS name"),
            );
        } else if host.contains(':') {
            self.error(field, format!("{host:?} must not contain a port"));
        } else if name.contains('*') {
            self.error(
                field,
                format!(
                    "{host:?}: a wildcard is only allowed as the whole first label (*.example.com)"
                ),
            );
        } else if !is_dns1123_subdomain(name) {
            self.error(
                field,
                format!("{host:?} is not {DNS1123_SUBDOMAIN}, optionally with a leading \"*.\""),
            );
        }
    }

    fn ingress_paths(&mut self, ingress: &IngressSpec) {
        let mut seen = Seen::new();
        for (i, entry) in ingress.paths.iter().enumerate() {
            let field = format!("spec.ingress.paths[{i}]");
            let path = entry.path.as_str();
            if !path.starts_with('/') {
                self.error(
                    format!("{field}.path"),
                    format!("{path:?} must start with \"/\""),
                );
            } else if entry.path_type != exposure_crd::PathType::ImplementationSpecific {
                // The sequences Kubernetes rejects in Prefix and Exact paths.
                let bad = ["//", "/./", "/../", "%2f", "%2F"]
                    .into_iter()
                    .find(|s| path.contains(s));
                let bad = bad.or_else(|| ["/..", "/."].into_iter().find(|s| path.ends_with(s)));
                if let Some(bad) = bad {
                    self.error(
                        format!("{field}.path"),
                        format!("{path:?} must not contain {bad:?}"),
                    );
                }
            }
            if let Some(first) = seen.previous(path, i) {
                self.error(
                    format!("{field}.path"),
                    format!("{path:?} is already used by spec.ingress.paths[{first}]"),
                );
            }
            match &entry.port {
                Some(IntOrString::String(name)) => {
                    self.port_name_ref(&format!("{field}.port"), name)
                }
                Some(IntOrString::Int(number)) if !self.ports.service_ports.contains(number) => {
                    let ports: Vec<String> = self
                        .ports
                        .service_ports
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    self.error(
                        format!("{field}.port"),
                        format!(
                            "{number} is not a Service port of this Exposure (ports: {})",
                            ports.join(", ")
                        ),
                    );
                }
                _ => {}
            }
        }
    }
}

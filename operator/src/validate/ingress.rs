//! `spec.ingress`: class, hosts (the `host` shorthand or `hosts`), TLS and its cert-manager
//! issuer, paths, and the default backend.

use std::net::IpAddr;

use exposure_crd::{IngressPath, IngressTls, IssuerKind, VisibilityType};
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
        let default_backend = ingress.is_default_backend();
        match (&ingress.host, ingress.hosts.is_empty()) {
            (Some(_), false) => {
                self.error("spec.ingress.hosts", "set either host or hosts, not both")
            }
            (None, true) if !default_backend => self.error(
                "spec.ingress.host",
                "set host or hosts (or defaultBackend: true for an Ingress without rules)",
            ),
            _ => {}
        }
        if let Some(class) = ingress.class_name.as_deref() {
            self.name_check(
                "spec.ingress.className",
                class,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
        let mut issuers = Issuers::default();
        if let Some(host) = &ingress.host {
            self.ingress_host("spec.ingress.host", host);
            self.ingress_paths("spec.ingress.paths", &ingress.paths);
            if let Some(tls) = &ingress.tls {
                self.ingress_tls("spec.ingress.tls", tls, &mut issuers);
            }
        } else {
            if !ingress.paths.is_empty() {
                self.error(
                    "spec.ingress.paths",
                    "only allowed with host (with hosts, each entry has its own paths)",
                );
            }
            if ingress.tls.is_some() {
                self.error(
                    "spec.ingress.tls",
                    "only allowed with host (with hosts, each entry has its own tls)",
                );
            }
        }
        let mut seen = Seen::new();
        for (i, entry) in ingress.hosts.iter().enumerate() {
            let field = format!("spec.ingress.hosts[{i}]");
            self.ingress_host(&format!("{field}.host"), &entry.host);
            if let Some(first) = seen.previous(entry.host.to_ascii_lowercase(), i) {
                self.error(
                    format!("{field}.host"),
                    format!(
                        "host names must be unique ({:?} is already used by spec.ingress.hosts[{first}])",
                        entry.host
                    ),
                );
            }
            self.ingress_paths(&format!("{field}.paths"), &entry.paths);
            if let Some(tls) = &entry.tls {
                self.ingress_tls(&format!("{field}.tls"), tls, &mut issuers);
            }
        }
        match (&ingress.default_backend_port, default_backend) {
            (Some(_), false) => self.error(
                "spec.ingress.defaultBackendPort",
                "only allowed with defaultBackend: true",
            ),
            (Some(port), true) => self.service_port_ref("spec.ingress.defaultBackendPort", port),
            (None, _) => {}
        }
        if let Some((field, kind, _)) = &issuers.first {
            let annotation = kind.annotation();
            if ingress.annotations.contains_key(annotation) {
                let field = field.clone();
                self.error(
                    "spec.ingress.annotations",
                    format!("{annotation:?} is also set by {field}.issuer; remove one of them"),
                );
            }
        }
        self.annotations("spec.ingress.annotations", &ingress.annotations);
    }

    /// A host name as Ingress rules and HTTPRoute hostnames take it.
    pub(super) fn ingress_host(&mut self, field: &str, host: &str) {
        let name = host.strip_prefix("*.").unwrap_or(host);
        if host.is_empty() {
            self.error(field, "required");
        } else if host.parse::<IpAddr>().is_ok() {
            self.error(
                field,
                format!("{host:?} is an IP address; a host must be a DNS name"),
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

    fn ingress_tls(&mut self, field: &str, tls: &IngressTls, issuers: &mut Issuers) {
        self.name_check(
            &format!("{field}.secretName"),
            &tls.secret_name,
            is_dns1123_subdomain,
            DNS1123_SUBDOMAIN,
        );
        let Some(issuer) = &tls.issuer else {
            if tls.issuer_kind.is_some() {
                self.error(format!("{field}.issuerKind"), "only allowed with issuer");
            }
            return;
        };
        self.name_check(
            &format!("{field}.issuer"),
            issuer,
            is_dns1123_subdomain,
            DNS1123_SUBDOMAIN,
        );
        let kind = tls.issuer_kind.unwrap_or_default();
        match &issuers.first {
            None => issuers.first = Some((field.to_owned(), kind, issuer.clone())),
            Some((first, first_kind, first_issuer))
                if *first_kind != kind || first_issuer != issuer =>
            {
                let message = format!(
                    "every TLS entry must name the same issuer (the Ingress takes one cert-manager annotation); {first} names {} {first_issuer:?}",
                    first_kind.as_str()
                );
                self.error(format!("{field}.issuer"), message);
            }
            Some(_) => {}
        }
    }

    fn ingress_paths(&mut self, field: &str, paths: &[IngressPath]) {
        let mut seen = Seen::new();
        for (i, entry) in paths.iter().enumerate() {
            let field = format!("{field}[{i}]");
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
                let list = field.rsplit_once('[').map_or(field.as_str(), |(l, _)| l);
                self.error(
                    format!("{field}.path"),
                    format!("{path:?} is already used by {list}[{first}]"),
                );
            }
            if let Some(port) = &entry.port {
                self.service_port_ref(&format!("{field}.port"), port);
            }
        }
    }

    /// A port name, or the number of a Service port of this Exposure.
    pub(super) fn service_port_ref(&mut self, field: &str, port: &IntOrString) {
        match port {
            IntOrString::String(name) => self.port_name_ref(field, name),
            IntOrString::Int(number) if !self.ports.service_ports.contains(number) => {
                let ports: Vec<String> = self
                    .ports
                    .service_ports
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                self.error(
                    field,
                    format!(
                        "{number} is not a Service port of this Exposure (ports: {})",
                        ports.join(", ")
                    ),
                );
            }
            IntOrString::Int(_) => {}
        }
    }
}

/// The first cert-manager issuer named (field, kind, name): the others must match it.
#[derive(Default)]
struct Issuers {
    first: Option<(String, IssuerKind, String)>,
}

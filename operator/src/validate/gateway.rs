//! `spec.gateway`: the HTTPRoute's Gateways, host names and paths; and whether the cluster
//! serves the Gateway API at all.

use exposure_crd::VisibilityType;

use super::{is_dns1123_label, is_dns1123_subdomain, only_with, Checker, Seen};
use super::{DNS1123_LABEL, DNS1123_SUBDOMAIN};

impl Checker<'_> {
    pub(super) fn gateway(&mut self) {
        let kind = self.spec.visibility.type_;
        let Some(gateway) = &self.spec.gateway else {
            if kind == VisibilityType::Gateway {
                self.error("spec.gateway", "required when visibility.type is Gateway");
            }
            return;
        };
        if kind != VisibilityType::Gateway {
            self.error("spec.gateway", only_with("visibility.type Gateway", kind));
            return;
        }
        if !self.cluster.gateway_api {
            self.unsupported(
                "spec.visibility.type",
                "Gateway needs the Gateway API (gateway.networking.k8s.io/v1 HTTPRoute), which this cluster does not serve; install the Gateway API standard CRDs (the Exposure is reconciled again once they are served)",
            );
        }
        if gateway.parent_refs.is_empty() {
            self.error(
                "spec.gateway.parentRefs",
                "at least one Gateway is required (name, and namespace when it is in another namespace)",
            );
        }
        for (i, parent) in gateway.parent_refs.iter().enumerate() {
            let field = format!("spec.gateway.parentRefs[{i}]");
            self.name_check(
                &format!("{field}.name"),
                &parent.name,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
            if let Some(namespace) = &parent.namespace {
                self.name_check(
                    &format!("{field}.namespace"),
                    namespace,
                    is_dns1123_label,
                    DNS1123_LABEL,
                );
            }
            if let Some(section) = &parent.section_name {
                self.name_check(
                    &format!("{field}.sectionName"),
                    section,
                    is_dns1123_subdomain,
                    DNS1123_SUBDOMAIN,
                );
            }
        }
        let mut hostnames = Seen::new();
        for (i, hostname) in gateway.hostnames.iter().enumerate() {
            let field = format!("spec.gateway.hostnames[{i}]");
            self.ingress_host(&field, hostname);
            if let Some(first) = hostnames.previous(hostname.as_str(), i) {
                self.error(
                    field,
                    format!("{hostname:?} is already used by spec.gateway.hostnames[{first}]"),
                );
            }
        }
        let mut paths = Seen::new();
        for (i, entry) in gateway.paths.iter().enumerate() {
            let field = format!("spec.gateway.paths[{i}]");
            if !entry.path.starts_with('/') {
                self.error(
                    format!("{field}.path"),
                    format!("{:?} must start with \"/\"", entry.path),
                );
            }
            if let Some(first) = paths.previous((entry.path.as_str(), entry.path_type), i) {
                self.error(
                    format!("{field}.path"),
                    format!(
                        "{:?} ({}) is already used by spec.gateway.paths[{first}]",
                        entry.path,
                        entry.path_type.as_str()
                    ),
                );
            }
            if let Some(port) = &entry.port {
                self.service_port_ref(&format!("{field}.port"), port);
            }
        }
    }
}

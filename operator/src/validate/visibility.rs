//! `spec.visibility`, `headless` and `endpoints`: how the Service is built.

use std::net::IpAddr;

use exposure_crd::{SessionAffinity, VisibilityType};

use crate::cluster::Feature;

use super::{
    is_cidr, is_dns1123_subdomain, is_qualified_name, only_with, Checker, Seen, DNS1123_SUBDOMAIN,
    QUALIFIED_NAME,
};

impl Checker<'_> {
    pub(super) fn visibility(&mut self) {
        let visibility = &self.spec.visibility;
        let kind = visibility.type_;
        let external = kind == VisibilityType::ExternalName;
        match (external, visibility.external_name.as_deref()) {
            (true, None | Some("")) => self.error(
                "spec.visibility.externalName",
                "required when visibility.type is ExternalName",
            ),
            (true, Some(name)) => {
                // A trailing dot (fully qualified) is fine, as in Kubernetes.
                if !is_dns1123_subdomain(name.strip_suffix('.').unwrap_or(name)) {
                    self.error(
                        "spec.visibility.externalName",
                        format!("{name:?} is not {DNS1123_SUBDOMAIN}"),
                    );
                }
            }
            (false, Some(_)) => self.error(
                "spec.visibility.externalName",
                only_with("visibility.type ExternalName", kind),
            ),
            (false, None) => {}
        }
        if external && visibility.session_affinity.is_some() {
            self.error(
                "spec.visibility.sessionAffinity",
                "not used with visibility.type ExternalName (no traffic is proxied)",
            );
        }
        if let Some(timeout) = visibility.session_affinity_timeout_seconds {
            if visibility.session_affinity != Some(SessionAffinity::ClientIp) {
                self.error(
                    "spec.visibility.sessionAffinityTimeoutSeconds",
                    "only allowed with sessionAffinity ClientIP",
                );
            } else {
                self.range(
                    "spec.visibility.sessionAffinityTimeoutSeconds",
                    timeout.into(),
                    1,
                    86400,
                );
            }
        }
        if visibility.external_traffic_policy.is_some() && !kind.has_node_ports() {
            self.error(
                "spec.visibility.externalTrafficPolicy",
                only_with("visibility.type NodePort or LoadBalancer", kind),
            );
        }
        let load_balancer = kind == VisibilityType::LoadBalancer;
        if let Some(class) = visibility.load_balancer_class.as_deref() {
            let field = "spec.visibility.loadBalancerClass";
            if !load_balancer {
                self.error(field, only_with("visibility.type LoadBalancer", kind));
            } else {
                if !is_qualified_name(class) {
                    self.error(field, format!("{class:?} is not {QUALIFIED_NAME}"));
                }
                self.feature(
                    field,
                    Feature::LoadBalancerClass,
                    "loadBalancerClass",
                    "remove it to use the cluster's default load balancer",
                );
            }
        }
        if !visibility.load_balancer_source_ranges.is_empty() {
            if !load_balancer {
                self.error(
                    "spec.visibility.loadBalancerSourceRanges",
                    only_with("visibility.type LoadBalancer", kind),
                );
            } else {
                for (i, range) in visibility.load_balancer_source_ranges.iter().enumerate() {
                    if !is_cidr(range) {
                        self.error(
                            format!("spec.visibility.loadBalancerSourceRanges[{i}]"),
                            format!("{range:?} is not a CIDR (e.g. 10.0.0.0/8 or 2001:db8::/32)"),
                        );
                    }
                }
            }
        }
        self.annotations("spec.visibility.annotations", &visibility.annotations);
    }

    pub(super) fn headless(&mut self) {
        if self.spec.headless == Some(true) {
            self.workload_field("spec.headless", true);
        }
        if self.spec.headless == Some(false)
            && self.spec.workload == Some(exposure_crd::WorkloadKind::StatefulSet)
        {
            self.error(
                "spec.headless",
                "must not be false with workload StatefulSet (its pods get their DNS names from the headless Service)",
            );
        }
    }

    pub(super) fn endpoints(&mut self) {
        let spec = self.spec;
        if spec.endpoints.is_empty() {
            return;
        }
        if spec.visibility.type_ == VisibilityType::ExternalName {
            self.error(
                "spec.endpoints",
                "not used with visibility.type ExternalName (the Service aliases a DNS name)",
            );
            return;
        }
        let mut seen = Seen::new();
        for (i, endpoint) in spec.endpoints.iter().enumerate() {
            let field = format!("spec.endpoints[{i}].ip");
            let Ok(ip) = endpoint.ip.parse::<IpAddr>() else {
                self.error(
                    field,
                    format!("{:?} is not an IPv4 or IPv6 address", endpoint.ip),
                );
                continue;
            };
            if let Some(kind) = forbidden_endpoint_kind(ip) {
                let why = if kind == "the unspecified address" {
                    "an endpoint needs an address that can be reached"
                } else {
                    "Kubernetes rejects loopback, link-local and multicast endpoints"
                };
                self.error(field, format!("{ip} is {kind}; {why}"));
            } else if let Some(first) = seen.previous(ip, i) {
                self.error(
                    field,
                    format!("{ip} is already used by spec.endpoints[{first}]"),
                );
            }
        }
    }
}

/// Why an address cannot be an endpoint (IPv4-mapped IPv6 addresses count as IPv4).
fn forbidden_endpoint_kind(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    let (unspecified, loopback, link_local, multicast) = match ip {
        IpAddr::V4(v4) => (
            v4.is_unspecified(),
            v4.is_loopback(),
            v4.is_link_local(),
            v4.is_multicast(),
        ),
        IpAddr::V6(v6) => (
            v6.is_unspecified(),
            v6.is_loopback(),
            (v6.segments()[0] & 0xffc0) == 0xfe80,
            v6.is_multicast(),
        ),
    };
    [
        (unspecified, "the unspecified address"),
        (loopback, "a loopback address"),
        (link_local, "a link-local address"),
        (multicast, "a multicast address"),
    ]
    .into_iter()
    .find(|(hit, _)| *hit)
    .map(|(_, kind)| kind)
}

//! Where the app can be reached (`status.url`, `status.addresses`), read from the live Service
//! and Ingress: an address is reported once the object that provides it exists.

use exposure_crd::{Addresses, NodePortAddress, VisibilityType};
use k8s_openapi::api::core::v1::{Service, ServicePort};
use k8s_openapi::api::networking::v1::Ingress;

use crate::build::HTTPRoute;

use super::{Observed, Target};

/// None until the Service exists.
pub(super) fn addresses(target: &Target<'_>, observed: &Observed) -> Option<Addresses> {
    let service = observed.service.as_ref()?;
    Some(Addresses {
        cluster_ip: service
            .spec
            .as_ref()
            .and_then(|s| s.cluster_ip.clone())
            .filter(|ip| !ip.is_empty() && ip != "None"),
        dns: Some(target.dns()),
        node_ports: service_ports(service)
            .iter()
            .filter_map(|p| {
                Some(NodePortAddress {
                    name: p.name.clone(),
                    port: p.port,
                    node_port: p.node_port?,
                })
            })
            .collect(),
        load_balancer: load_balancer_addresses(service),
        ingress: observed
            .ingress
            .as_ref()
            .map(ingress_urls)
            .unwrap_or_default(),
    })
}

/// Every address a person would use, by visibility, the first being `status.url`: each host
/// and path of the Ingress (and the ingress controller's address when this Exposure is the
/// default backend); the in-cluster URL when the outside address is not known yet. Empty until
/// the Service exists.
pub(super) fn urls(target: &Target<'_>, observed: &Observed) -> Vec<String> {
    let Some(service) = observed.service.as_ref() else {
        return Vec::new();
    };
    if let (VisibilityType::Gateway, Some(route)) =
        (target.spec.visibility.type_, &observed.http_route)
    {
        let urls = route_urls(route);
        if !urls.is_empty() {
            return urls;
        }
    }
    if target.spec.visibility.type_ == VisibilityType::Ingress {
        let mut urls = observed
            .ingress
            .as_ref()
            .map(ingress_urls)
            .unwrap_or_default();
        let default_backend = observed
            .ingress
            .as_ref()
            .filter(|i| i.spec.as_ref().is_some_and(|s| s.default_backend.is_some()));
        if let Some(ingress) = default_backend {
            urls.extend(
                ingress_addresses(ingress)
                    .iter()
                    .map(|a| http_url(a, None) + "/"),
            );
        }
        if !urls.is_empty() {
            return urls;
        }
    }
    url(target, service, observed).into_iter().collect()
}

/// The one address of a Service, by visibility; the in-cluster URL when the outside address is
/// not known yet.
fn url(target: &Target<'_>, service: &Service, observed: &Observed) -> Option<String> {
    let first_port = service_ports(service).first();
    let in_cluster = || http_url(&target.dns(), first_port.map(|p| p.port));
    let url = match target.spec.visibility.type_ {
        VisibilityType::ExternalName => return external_name(target, service).map(str::to_owned),
        VisibilityType::Ingress | VisibilityType::Gateway => in_cluster(),
        VisibilityType::LoadBalancer => match load_balancer_addresses(service).first() {
            Some(address) => http_url(address, first_port.map(|p| p.port)),
            None => in_cluster(),
        },
        VisibilityType::NodePort => {
            match (&observed.node_address, first_port.and_then(|p| p.node_port)) {
                (Some(node), Some(node_port)) => http_url(node, Some(node_port)),
                _ => in_cluster(),
            }
        }
        VisibilityType::Internal => in_cluster(),
    };
    Some(url)
}

/// The DNS name an ExternalName Service aliases: the live one, else the spec's.
pub(super) fn external_name<'a>(target: &Target<'a>, service: &'a Service) -> Option<&'a str> {
    let live = service
        .spec
        .as_ref()
        .and_then(|s| s.external_name.as_deref());
    live.or(target.spec.visibility.external_name.as_deref())
        .filter(|name| !name.is_empty())
}

/// `status.loadBalancer.ingress`: each IP, else hostname.
pub(super) fn load_balancer_addresses(service: &Service) -> Vec<String> {
    let ingress = service
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref());
    ingress
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
        .collect()
}

/// Whether the ingress controller published an address for the Ingress.
pub(super) fn ingress_has_address(ingress: &Ingress) -> bool {
    !ingress_addresses(ingress).is_empty()
}

/// The addresses the ingress controller published: each IP, else hostname.
fn ingress_addresses(ingress: &Ingress) -> Vec<String> {
    let ingress = ingress
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref());
    ingress
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
        .collect()
}

fn service_ports(service: &Service) -> &[ServicePort] {
    service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_deref())
        .unwrap_or_default()
}

/// `http(s)://host/path` for every path of every rule with a host; https when a TLS entry
/// covers the host (an entry without hosts covers all).
fn ingress_urls(ingress: &Ingress) -> Vec<String> {
    let Some(spec) = &ingress.spec else {
        return Vec::new();
    };
    let tls = spec.tls.as_deref().unwrap_or_default();
    let mut urls = Vec::new();
    for rule in spec.rules.iter().flatten() {
        let Some(host) = rule.host.as_deref() else {
            continue;
        };
        let secure = tls.iter().any(|t| {
            t.hosts
                .as_ref()
                .is_none_or(|hosts| hosts.is_empty() || hosts.iter().any(|h| h == host))
        });
        let scheme = if secure { "https" } else { "http" };
        let paths = rule.http.iter().flat_map(|h| &h.paths);
        urls.extend(
            paths.map(|p| format!("{scheme}://{host}{}", p.path.as_deref().unwrap_or("/"))),
        );
    }
    urls
}

/// `http://hostname/path` for every hostname and path prefix or exact path of the HTTPRoute
/// (the listener decides the scheme; http is assumed).
fn route_urls(route: &HTTPRoute) -> Vec<String> {
    let paths: Vec<&str> = route
        .spec
        .rules
        .iter()
        .flat_map(|r| &r.matches)
        .filter_map(|m| m.path.as_ref()?.value.as_deref())
        .collect();
    route
        .spec
        .hostnames
        .iter()
        .flat_map(|host| paths.iter().map(move |path| format!("http://{host}{path}")))
        .collect()
}

/// `http://host:port`; the scheme's default port is left out, and 443 means https.
/// IPv6 addresses get brackets.
fn http_url(host: &str, port: Option<i32>) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    match port {
        Some(443) => format!("https://{host}"),
        None | Some(80) => format!("http://{host}"),
        Some(port) => format!("http://{host}:{port}"),
    }
}

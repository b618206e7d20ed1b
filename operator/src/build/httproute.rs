//! The HTTPRoute `<name>` (Gateway API `gateway.networking.k8s.io/v1`) to the Service `<name>`.
//!
//! The type is ours, with only the fields the operator writes and the status it reads: the
//! `gateway-api` crate does not follow kube 5 / k8s-openapi 0.29 yet, and a partial type is
//! enough for server-side apply (fields we do not set are not ours).

use exposure_crd::{GatewayPath, GatewayPathType, PortSpec, VisibilityType};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use super::meta::owned_meta;
use crate::validate::Valid;

/// API group of the Gateway API.
pub const GATEWAY_API_GROUP: &str = "gateway.networking.k8s.io";

/// The fields of `HTTPRoute.spec` the operator sets.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "gateway.networking.k8s.io",
    version = "v1",
    kind = "HTTPRoute",
    plural = "httproutes",
    namespaced,
    status = "HttpRouteStatus",
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_refs: Vec<ParentReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<HttpRouteRule>,
}

/// A Gateway the route attaches to.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<HttpRouteMatch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_refs: Vec<HttpBackendRef>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct HttpRouteMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<HttpPathMatch>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct HttpPathMatch {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A Service in the route's namespace (group "" and kind Service are the API's defaults).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct HttpBackendRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
}

/// What the Gateway controllers report, per Gateway.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct HttpRouteStatus {
    #[serde(default)]
    pub parents: Vec<RouteParentStatus>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatus {
    #[serde(default)]
    pub parent_ref: ParentReference,
    #[serde(default)]
    pub controller_name: String,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// The HTTPRoute when the visibility is Gateway; none without a `gateway` section or without
/// ports.
pub(crate) fn build_http_route(valid: &Valid<'_>) -> Option<HTTPRoute> {
    let spec = &valid.exposure.spec;
    if spec.visibility.type_ != VisibilityType::Gateway {
        return None;
    }
    let gateway = spec.gateway.as_ref()?;
    let first_port = spec.ports.first()?;
    let default_paths = [GatewayPath {
        path: "/".to_owned(),
        path_type: GatewayPathType::PathPrefix,
        port: None,
    }];
    let paths = if gateway.paths.is_empty() {
        &default_paths[..]
    } else {
        &gateway.paths[..]
    };
    let parent_refs = gateway
        .parent_refs
        .iter()
        .map(|p| ParentReference {
            group: Some(GATEWAY_API_GROUP.to_owned()),
            kind: Some("Gateway".to_owned()),
            name: p.name.clone(),
            namespace: p.namespace.clone(),
            section_name: p.section_name.clone(),
        })
        .collect();
    let rules = paths
        .iter()
        .map(|path| HttpRouteRule {
            matches: vec![HttpRouteMatch {
                path: Some(HttpPathMatch {
                    type_: Some(path.path_type.as_str().to_owned()),
                    value: Some(path.path.clone()),
                }),
            }],
            backend_refs: vec![HttpBackendRef {
                name: valid.name.to_owned(),
                port: Some(service_port(&spec.ports, path.port.as_ref(), first_port)),
            }],
        })
        .collect();
    let mut route = HTTPRoute::new(
        valid.name,
        HttpRouteSpec {
            parent_refs,
            hostnames: gateway.hostnames.clone(),
            rules,
        },
    );
    route.metadata = owned_meta(valid, valid.name.to_owned());
    Some(route)
}

/// A backendRef takes a Service port number: a port name is resolved (validate guarantees it
/// is declared).
fn service_port(ports: &[PortSpec], port: Option<&IntOrString>, first: &PortSpec) -> i32 {
    match port {
        Some(IntOrString::Int(number)) => *number,
        Some(IntOrString::String(name)) => ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .unwrap_or(first)
            .service_port(),
        None => first.service_port(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::meta::child_labels;
    use crate::build::meta::tests::valid;

    fn from_yaml(gateway: &str) -> exposure_crd::Exposure {
        let yaml = format!(
            "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata: {{name: web, namespace: shop, uid: u1}}\nspec:\n  image: nginx\n  ports: [{{name: http, containerPort: 8080, port: 80}}, {{name: admin, containerPort: 9000}}]\n  visibility: {{type: Gateway}}\n  gateway: {gateway}\n"
        );
        serde_yaml::from_str(&yaml).unwrap()
    }

    #[test]
    fn a_route_per_path_to_the_service_attached_to_the_gateways() {
        let exposure = from_yaml(
            "{parentRefs: [{name: shared, namespace: infra, sectionName: https}], hostnames: [shop.example.com], paths: [{path: /api, pathType: Exact, port: admin}, {path: /}]}",
        );
        let route = build_http_route(&valid(&exposure)).unwrap();
        assert_eq!(route.metadata.name.as_deref(), Some("web"));
        assert_eq!(route.metadata.namespace.as_deref(), Some("shop"));
        assert_eq!(route.metadata.labels, Some(child_labels("web")));
        assert!(route.metadata.owner_references.is_some());
        let json = serde_json::to_value(&route).unwrap();
        assert_eq!(json["apiVersion"], "gateway.networking.k8s.io/v1");
        assert_eq!(json["kind"], "HTTPRoute");
        assert_eq!(
            json["spec"],
            serde_json::json!({
                "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "shared", "namespace": "infra", "sectionName": "https"}],
                "hostnames": ["shop.example.com"],
                "rules": [
                    {"matches": [{"path": {"type": "Exact", "value": "/api"}}], "backendRefs": [{"name": "web", "port": 9000}]},
                    {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [{"name": "web", "port": 80}]},
                ],
            })
        );
        assert_eq!(json.get("status"), None);
    }

    #[test]
    fn the_default_is_every_path_to_the_first_port() {
        let exposure = from_yaml("{parentRefs: [{name: shared}]}");
        let route = build_http_route(&valid(&exposure)).unwrap();
        let json = serde_json::to_value(&route.spec).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "shared"}],
                "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [{"name": "web", "port": 80}]}],
            })
        );
    }
}

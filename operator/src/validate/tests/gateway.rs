use super::*;

const GATEWAY: &str = "  visibility: {type: Gateway}\n";

#[test]
fn gateway_block_iff_gateway_visibility() {
    valid(&format!(
        "{APP}{GATEWAY}  gateway: {{parentRefs: [{{name: shared}}]}}\n"
    ));
    assert_eq!(
        errors(&format!("{APP}{GATEWAY}")),
        ["spec.gateway: required when visibility.type is Gateway"]
    );
    assert_eq!(
        errors(&format!(
            "{APP}  gateway: {{parentRefs: [{{name: shared}}]}}\n"
        )),
        ["spec.gateway: only allowed with visibility.type Gateway (is Internal)"]
    );
}

#[test]
fn gateway_fields() {
    valid(&format!("{TWO_PORTS}{GATEWAY}  gateway: {{parentRefs: [{{name: shared, namespace: infra, sectionName: https}}], hostnames: [shop.example.com, \"*.example.com\"], paths: [{{path: /api, port: admin}}, {{path: /api, pathType: Exact, port: 80}}]}}\n"));
    assert_eq!(
        errors(&format!("{TWO_PORTS}{GATEWAY}  gateway: {{parentRefs: [{{name: Shared, namespace: in.fra}}], hostnames: [10.0.0.1, a.example, a.example], paths: [{{path: api}}, {{path: /x, port: metrics}}, {{path: /x, port: 8443}}]}}\n")),
        [
            format!("spec.gateway.parentRefs[0].name: \"Shared\" is not {DNS1123_SUBDOMAIN}"),
            format!("spec.gateway.parentRefs[0].namespace: \"in.fra\" is not {DNS1123_LABEL}"),
            "spec.gateway.hostnames[0]: \"10.0.0.1\" is an IP address; a host must be a DNS name".to_owned(),
            "spec.gateway.hostnames[2]: \"a.example\" is already used by spec.gateway.hostnames[1]".to_owned(),
            "spec.gateway.paths[0].path: \"api\" must start with \"/\"".to_owned(),
            "spec.gateway.paths[1].port: \"metrics\" is not a declared port name (declared: http, admin)".to_owned(),
            "spec.gateway.paths[2].path: \"/x\" (PathPrefix) is already used by spec.gateway.paths[1]".to_owned(),
            "spec.gateway.paths[2].port: 8443 is not a Service port of this Exposure (ports: 80, 9000)".to_owned(),
        ]
    );
    assert_eq!(
        errors(&format!("{APP}{GATEWAY}  gateway: {{parentRefs: []}}\n")),
        ["spec.gateway.parentRefs: at least one Gateway is required (name, and namespace when it is in another namespace)"]
    );
}

#[test]
fn gateway_needs_the_gateway_api_served() {
    let exposure = exposure_from(&format!(
        "{HEADER}spec:\n{APP}{GATEWAY}  gateway: {{parentRefs: [{{name: shared}}]}}\n"
    ));
    let cluster = ClusterInfo::new(KubeVersion::NEWEST).with_gateway_api(false);
    let errors = validate(&exposure, &cluster).expect_err("unsupported");
    assert_eq!(errors.len(), 1);
    assert!(errors[0].unsupported_by_cluster);
    assert_eq!(
        errors[0].to_string(),
        "spec.visibility.type: Gateway needs the Gateway API (gateway.networking.k8s.io/v1 HTTPRoute), which this cluster does not serve; install the Gateway API standard CRDs (the Exposure is reconciled again once they are served)"
    );
}

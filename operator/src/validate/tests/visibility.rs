use super::*;

#[test]
fn external_name() {
    valid("  visibility: {type: ExternalName, externalName: db.example.com.}\n");
    assert_eq!(
        errors("  visibility: {type: ExternalName}\n"),
        ["spec.visibility.externalName: required when visibility.type is ExternalName"]
    );
    assert_eq!(
        errors("  visibility: {type: ExternalName, externalName: \"db_example\"}\n"),
        [format!(
            "spec.visibility.externalName: \"db_example\" is not {DNS1123_SUBDOMAIN}"
        )]
    );
    assert_eq!(
        errors(&format!("{APP}  visibility: {{externalName: db.example.com}}\n")),
        ["spec.visibility.externalName: only allowed with visibility.type ExternalName (is Internal)"]
    );
}

#[test]
fn session_affinity() {
    valid(&format!(
        "{APP}  visibility: {{sessionAffinity: ClientIP, sessionAffinityTimeoutSeconds: 600}}\n"
    ));
    assert_eq!(
        errors(&format!("{APP}  visibility: {{sessionAffinity: None, sessionAffinityTimeoutSeconds: 600}}\n")),
        ["spec.visibility.sessionAffinityTimeoutSeconds: only allowed with sessionAffinity ClientIP"]
    );
    assert_eq!(
        errors(&format!("{APP}  visibility: {{sessionAffinity: ClientIP, sessionAffinityTimeoutSeconds: 86401}}\n")),
        ["spec.visibility.sessionAffinityTimeoutSeconds: 86401 is outside 1-86400"]
    );
    assert_eq!(
        errors("  visibility: {type: ExternalName, externalName: a.b, sessionAffinity: None}\n"),
        ["spec.visibility.sessionAffinity: not used with visibility.type ExternalName (no traffic is proxied)"]
    );
}

#[test]
fn external_traffic_policy() {
    valid(&format!(
        "{APP}  visibility: {{type: NodePort, externalTrafficPolicy: Local}}\n"
    ));
    assert_eq!(
        errors(&format!("{APP}  visibility: {{externalTrafficPolicy: Local}}\n")),
        ["spec.visibility.externalTrafficPolicy: only allowed with visibility.type NodePort or LoadBalancer (is Internal)"]
    );
}

#[test]
fn load_balancer_class() {
    let spec =
        format!("{APP}  visibility: {{type: LoadBalancer, loadBalancerClass: example.com/lb}}\n");
    assert_eq!(errors_on(24, &spec), Vec::<String>::new());
    let exposure = exposure_from(&format!("{HEADER}spec:\n{spec}"));
    let found = validate(&exposure, &ClusterInfo::new(KubeVersion::new(1, 20))).expect_err("1.20");
    assert_eq!(
        found,
        [FieldError::unsupported(
            "spec.visibility.loadBalancerClass",
            "loadBalancerClass needs Kubernetes >= 1.24 (cluster is 1.20); remove it to use the cluster's default load balancer"
        )]
    );
    assert_eq!(
        errors(&format!("{APP}  visibility: {{type: NodePort, loadBalancerClass: x}}\n")),
        ["spec.visibility.loadBalancerClass: only allowed with visibility.type LoadBalancer (is NodePort)"]
    );
    assert_eq!(
        errors(&format!(
            "{APP}  visibility: {{type: LoadBalancer, loadBalancerClass: \"a b\"}}\n"
        )),
        [format!(
            "spec.visibility.loadBalancerClass: \"a b\" is not {QUALIFIED_NAME}"
        )]
    );
}

#[test]
fn load_balancer_source_ranges() {
    valid(&format!("{APP}  visibility: {{type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/8, \"2001:db8::/32\", 1.2.3.4/32]}}\n"));
    assert_eq!(
        errors(&format!("{APP}  visibility: {{type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/33, 10.0.0.0, \"::/129\"]}}\n")),
        [
            "spec.visibility.loadBalancerSourceRanges[0]: \"10.0.0.0/33\" is not a CIDR (e.g. 10.0.0.0/8 or 2001:db8::/32)",
            "spec.visibility.loadBalancerSourceRanges[1]: \"10.0.0.0\" is not a CIDR (e.g. 10.0.0.0/8 or 2001:db8::/32)",
            "spec.visibility.loadBalancerSourceRanges[2]: \"::/129\" is not a CIDR (e.g. 10.0.0.0/8 or 2001:db8::/32)",
        ]
    );
    assert_eq!(
        errors(&format!("{APP}  visibility: {{type: NodePort, loadBalancerSourceRanges: [10.0.0.0/8]}}\n")),
        ["spec.visibility.loadBalancerSourceRanges: only allowed with visibility.type LoadBalancer (is NodePort)"]
    );
}

#[test]
fn headless() {
    valid(&format!("{APP}  headless: true\n"));
    assert_eq!(
        errors("  visibility: {type: ExternalName, externalName: a.b}\n  headless: true\n"),
        ["spec.headless: not used with visibility.type ExternalName (no workload is created)"]
    );
}

#[test]
fn endpoints() {
    let endpoints = |ips: &str| {
        errors(&format!(
            "  ports: [{{containerPort: 5432}}]\n  endpoints: [{ips}]\n"
        ))
    };
    assert_eq!(
        endpoints("{ip: 10.0.0.1}, {ip: \"2001:db8::1\"}"),
        Vec::<String>::new()
    );
    assert_eq!(
        endpoints("{ip: 127.0.0.1}, {ip: 169.254.1.1}, {ip: \"fe80::1\"}, {ip: 224.0.0.1}, {ip: 0.0.0.0}, {ip: \"::ffff:127.0.0.1\"}, {ip: db}, {ip: 10.0.0.1}, {ip: 10.0.0.1}"),
        [
            "spec.endpoints[0].ip: 127.0.0.1 is a loopback address; Kubernetes rejects loopback, link-local and multicast endpoints",
            "spec.endpoints[1].ip: 169.254.1.1 is a link-local address; Kubernetes rejects loopback, link-local and multicast endpoints",
            "spec.endpoints[2].ip: fe80::1 is a link-local address; Kubernetes rejects loopback, link-local and multicast endpoints",
            "spec.endpoints[3].ip: 224.0.0.1 is a multicast address; Kubernetes rejects loopback, link-local and multicast endpoints",
            "spec.endpoints[4].ip: 0.0.0.0 is the unspecified address; an endpoint needs an address that can be reached",
            "spec.endpoints[5].ip: ::ffff:127.0.0.1 is a loopback address; Kubernetes rejects loopback, link-local and multicast endpoints",
            "spec.endpoints[6].ip: \"db\" is not an IPv4 or IPv6 address",
            "spec.endpoints[8].ip: 10.0.0.1 is already used by spec.endpoints[7]",
        ]
    );
    // Ingress in front of an external backend is fine.
    valid("  ports: [{containerPort: 80}]\n  endpoints: [{ip: 10.0.0.1}]\n  visibility: {type: Ingress}\n  ingress: {host: a.example}\n");
    assert_eq!(
        errors("  visibility: {type: ExternalName, externalName: a.b}\n  endpoints: [{ip: 10.0.0.1}]\n"),
        ["spec.endpoints: not used with visibility.type ExternalName (the Service aliases a DNS name)"]
    );
}

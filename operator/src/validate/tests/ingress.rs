use super::*;

const INGRESS: &str = "  visibility: {type: Ingress}\n";

#[test]
fn ingress_block_iff_ingress_visibility() {
    valid(&format!(
        "{TWO_PORTS}{INGRESS}  ingress: {{host: shop.example.com}}\n"
    ));
    assert_eq!(
        errors(&format!("{APP}{INGRESS}")),
        ["spec.ingress: required when visibility.type is Ingress"]
    );
    assert_eq!(
        errors(&format!("{APP}  ingress: {{host: shop.example.com}}\n")),
        ["spec.ingress: only allowed with visibility.type Ingress (is Internal)"]
    );
}

#[test]
fn ingress_host() {
    let host = |h: &str| errors(&format!("{APP}{INGRESS}  ingress: {{host: {h:?}}}\n"));
    assert_eq!(host("*.example.com"), Vec::<String>::new());
    assert_eq!(
        host("10.0.0.1"),
        ["spec.ingress.host: \"10.0.0.1\" is an IP address; a host must be a DNS name"]
    );
    assert_eq!(
        host("shop.example.com:8080"),
        ["spec.ingress.host: \"shop.example.com:8080\" must not contain a port"]
    );
    assert_eq!(
        host("shop.*.example.com"),
        ["spec.ingress.host: \"shop.*.example.com\": a wildcard is only allowed as the whole first label (*.example.com)"]
    );
    assert_eq!(
        host("Shop.example.com"),
        [format!("spec.ingress.host: \"Shop.example.com\" is not {DNS1123_SUBDOMAIN}, optionally with a leading \"*.\"")]
    );
    assert_eq!(host(""), ["spec.ingress.host: required"]);
}

#[test]
fn ingress_class_and_tls() {
    valid(&format!("{APP}{INGRESS}  ingress: {{host: a.example, className: nginx, tls: {{secretName: a-tls}}}}\n"));
    assert_eq!(
        errors(&format!("{APP}{INGRESS}  ingress: {{host: a.example, className: NGINX, tls: {{secretName: a_tls}}}}\n")),
        [
            format!("spec.ingress.className: \"NGINX\" is not {DNS1123_SUBDOMAIN}"),
            format!("spec.ingress.tls.secretName: \"a_tls\" is not {DNS1123_SUBDOMAIN}"),
        ]
    );
}

#[test]
fn ingress_paths() {
    valid(&format!("{TWO_PORTS}{INGRESS}  ingress: {{host: a.example, paths: [{{path: /, port: http}}, {{path: /admin, port: 9000}}, {{path: \"/a//b\", pathType: ImplementationSpecific}}]}}\n"));
    assert_eq!(
        errors(&format!("{TWO_PORTS}{INGRESS}  ingress: {{host: a.example, paths: [{{path: api}}, {{path: /x/../y}}, {{path: /a, port: metrics}}, {{path: /a, port: 8080}}]}}\n")),
        [
            "spec.ingress.paths[0].path: \"api\" must start with \"/\"",
            "spec.ingress.paths[1].path: \"/x/../y\" must not contain \"/../\"",
            "spec.ingress.paths[2].port: \"metrics\" is not a declared port name (declared: http, admin)",
            "spec.ingress.paths[3].path: \"/a\" is already used by spec.ingress.paths[2]",
            "spec.ingress.paths[3].port: 8080 is not a Service port of this Exposure (ports: 80, 9000)",
        ]
    );
}

#[test]
fn ingress_host_or_hosts() {
    valid(&format!(
        "{APP}{INGRESS}  ingress: {{hosts: [{{host: foo.bar.com}}, {{host: \"*.bar.foo.com\", paths: [{{path: /api}}]}}]}}\n"
    ));
    assert_eq!(
        errors(&format!(
            "{APP}{INGRESS}  ingress: {{host: a.example, hosts: [{{host: b.example}}]}}\n"
        )),
        ["spec.ingress.hosts: set either host or hosts, not both"]
    );
    assert_eq!(
        errors(&format!("{APP}{INGRESS}  ingress: {{className: nginx}}\n")),
        ["spec.ingress.host: set host or hosts (or defaultBackend: true for an Ingress without rules)"]
    );
    assert_eq!(
        errors(&format!(
            "{APP}{INGRESS}  ingress: {{hosts: [{{host: a.example}}], paths: [{{path: /}}], tls: {{secretName: a-tls}}}}\n"
        )),
        [
            "spec.ingress.paths: only allowed with host (with hosts, each entry has its own paths)",
            "spec.ingress.tls: only allowed with host (with hosts, each entry has its own tls)",
        ]
    );
}

#[test]
fn ingress_hosts_entries() {
    assert_eq!(
        errors(&format!(
            "{TWO_PORTS}{INGRESS}  ingress: {{hosts: [{{host: a.example, tls: {{secretName: a_tls}}}}, {{host: 10.0.0.1}}, {{host: a.example, paths: [{{path: /x, port: metrics}}, {{path: /x}}]}}]}}\n"
        )),
        [
            format!("spec.ingress.hosts[0].tls.secretName: \"a_tls\" is not {DNS1123_SUBDOMAIN}"),
            "spec.ingress.hosts[1].host: \"10.0.0.1\" is an IP address; a host must be a DNS name".to_owned(),
            "spec.ingress.hosts[2].host: host names must be unique (\"a.example\" is already used by spec.ingress.hosts[0])".to_owned(),
            "spec.ingress.hosts[2].paths[0].port: \"metrics\" is not a declared port name (declared: http, admin)".to_owned(),
            "spec.ingress.hosts[2].paths[1].path: \"/x\" is already used by spec.ingress.hosts[2].paths[0]".to_owned(),
        ]
    );
}

#[test]
fn ingress_tls_issuer() {
    valid(&format!("{APP}{INGRESS}  ingress: {{hosts: [{{host: a.example, tls: {{secretName: a-tls, issuer: letsencrypt}}}}, {{host: b.example, tls: {{secretName: b-tls, issuer: letsencrypt, issuerKind: ClusterIssuer}}}}]}}\n"));
    assert_eq!(
        errors(&format!("{APP}{INGRESS}  ingress: {{hosts: [{{host: a.example, tls: {{secretName: a-tls, issuer: letsencrypt}}}}, {{host: b.example, tls: {{secretName: b-tls, issuer: letsencrypt, issuerKind: Issuer}}}}, {{host: c.example, tls: {{secretName: c-tls, issuerKind: Issuer}}}}]}}\n")),
        [
            "spec.ingress.hosts[1].tls.issuer: every TLS entry must name the same issuer (the Ingress takes one cert-manager annotation); spec.ingress.hosts[0].tls names ClusterIssuer \"letsencrypt\"",
            "spec.ingress.hosts[2].tls.issuerKind: only allowed with issuer",
        ]
    );
    assert_eq!(
        errors(&format!("{APP}{INGRESS}  ingress: {{host: a.example, tls: {{secretName: a-tls, issuer: Bad_Issuer}}, annotations: {{cert-manager.io/cluster-issuer: other}}}}\n")),
        [
            format!("spec.ingress.tls.issuer: \"Bad_Issuer\" is not {DNS1123_SUBDOMAIN}"),
            "spec.ingress.annotations: \"cert-manager.io/cluster-issuer\" is also set by spec.ingress.tls.issuer; remove one of them".to_owned(),
        ]
    );
}

#[test]
fn ingress_default_backend() {
    valid(&format!(
        "{APP}{INGRESS}  ingress: {{defaultBackend: true}}\n"
    ));
    valid(&format!(
        "{TWO_PORTS}{INGRESS}  ingress: {{host: a.example, defaultBackend: true, defaultBackendPort: admin}}\n"
    ));
    assert_eq!(
        errors(&format!(
            "{TWO_PORTS}{INGRESS}  ingress: {{host: a.example, defaultBackendPort: 9000}}\n"
        )),
        ["spec.ingress.defaultBackendPort: only allowed with defaultBackend: true"]
    );
    assert_eq!(
        errors(&format!(
            "{TWO_PORTS}{INGRESS}  ingress: {{defaultBackend: true, defaultBackendPort: 8443}}\n"
        )),
        ["spec.ingress.defaultBackendPort: 8443 is not a Service port of this Exposure (ports: 80, 9000)"]
    );
    assert_eq!(
        errors(&format!(
            "{APP}{INGRESS}  ingress: {{defaultBackend: false}}\n"
        )),
        ["spec.ingress.host: set host or hosts (or defaultBackend: true for an Ingress without rules)"]
    );
}

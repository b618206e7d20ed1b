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
        ["spec.ingress.host: \"10.0.0.1\" is an IP address; an Ingress host must be a DNS name"]
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

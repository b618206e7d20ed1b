use super::*;

#[test]
fn errors_follow_the_spec_order() {
    let spec = "  replicas: -1\n  ports: [{containerPort: 80, nodePort: 30000}]\n  ingress: {host: a.b}\n  storage: [{name: x, mountPath: y, size: 1}]\n";
    let fields: Vec<String> = errors(spec)
        .iter()
        .map(|e| e.split(':').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        fields,
        [
            "spec.image",
            "spec.replicas",
            "spec.ports[0].nodePort",
            "spec.ingress",
            "spec.storage[0].mountPath"
        ]
    );
}

#[test]
fn name_helpers() {
    assert!(is_dns1123_label("a") && is_dns1123_label("0-a") && !is_dns1123_label(&"a".repeat(64)));
    assert!(
        is_dns1123_subdomain("a.b-c.d")
            && !is_dns1123_subdomain("a..b")
            && !is_dns1123_subdomain(".a")
    );
    assert!(
        is_qualified_name("example.com/Name_1")
            && !is_qualified_name("a/b/c")
            && !is_qualified_name("/a")
    );
    assert!(is_label_value("") && is_label_value("A.b_c-1") && !is_label_value("-a"));
    assert!(is_port_name("h2c") && !is_port_name("123"));
}

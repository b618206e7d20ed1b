use super::*;

#[test]
fn ports_required_for_a_service() {
    assert_eq!(
        errors("  image: nginx\n"),
        ["spec.ports: at least one port is required for visibility.type Internal (the Service needs a port)"]
    );
    assert_eq!(
        errors("  endpoints: [{ip: 10.0.0.1}]\n  visibility: {type: NodePort}\n"),
        ["spec.ports: at least one port is required for visibility.type NodePort (the Service needs a port)"]
    );
    valid("  visibility: {type: ExternalName, externalName: example.com}\n  ports: [{containerPort: 80}]\n");
}

#[test]
fn port_names() {
    valid(TWO_PORTS);
    valid("  image: nginx\n  ports: [{containerPort: 80}]\n");
    assert_eq!(
        errors("  image: nginx\n  ports: [{name: http, containerPort: 80}, {containerPort: 81}]\n"),
        ["spec.ports[1].name: required when more than one port is declared"]
    );
    assert_eq!(
        errors("  image: nginx\n  ports: [{name: http, containerPort: 80}, {name: http, containerPort: 81}]\n"),
        ["spec.ports[1].name: port names must be unique: \"http\" is already used by spec.ports[0]"]
    );
    let bad_name = |name: &str| {
        errors(&format!(
            "  image: nginx\n  ports: [{{name: {name:?}, containerPort: 80}}]\n"
        ))
    };
    let message = |name: &str| {
        format!("spec.ports[0].name: {name:?} is not a port name (at most 15 lowercase letters, digits and '-', with at least one letter, starting and ending with a letter or digit, no \"--\")")
    };
    for name in ["http--x", "8080", "a-very-long-port-name", "Http", "-http"] {
        assert_eq!(bad_name(name), [message(name)]);
    }
}

#[test]
fn port_numbers_in_range_and_unique() {
    valid("  image: nginx\n  ports: [{name: dns, containerPort: 53}, {name: dns-udp, containerPort: 53, protocol: UDP}]\n");
    assert_eq!(
        errors("  image: nginx\n  ports: [{name: a, containerPort: 0, port: 70000}, {name: b, containerPort: 8080, port: 80}, {name: c, containerPort: 8080}]\n"),
        [
            "spec.ports[0].containerPort: 0 is outside 1-65535",
            "spec.ports[0].port: 70000 is outside 1-65535",
            "spec.ports[2].containerPort: 8080/TCP is already used by spec.ports[1]",
        ]
    );
    assert_eq!(
        errors("  image: nginx\n  ports: [{name: a, containerPort: 8080, port: 80}, {name: b, containerPort: 8081, port: 80}]\n"),
        ["spec.ports[1].port: 80/TCP is already used by spec.ports[0]"]
    );
    // No workload: only the Service ports must be unique.
    valid("  endpoints: [{ip: 10.0.0.1}]\n  ports: [{name: a, containerPort: 5432}, {name: b, containerPort: 5432, port: 5433}]\n");
}

#[test]
fn node_ports() {
    valid("  image: nginx\n  visibility: {type: NodePort}\n  ports: [{name: a, containerPort: 53, nodePort: 30053}, {name: b, containerPort: 53, protocol: UDP, nodePort: 30053}]\n");
    assert_eq!(
        errors("  image: nginx\n  visibility: {type: LoadBalancer}\n  ports: [{name: a, containerPort: 80, nodePort: 30080}, {name: b, containerPort: 81, nodePort: 40000}, {name: c, containerPort: 82, nodePort: 30080}]\n"),
        [
            "spec.ports[1].nodePort: 40000 is outside 30000-32767",
            "spec.ports[2].nodePort: 30080/TCP is already used by spec.ports[0]",
        ]
    );
    assert_eq!(
        errors("  image: nginx\n  ports: [{containerPort: 80, nodePort: 30080}]\n"),
        ["spec.ports[0].nodePort: only allowed with visibility.type NodePort or LoadBalancer (is Internal)"]
    );
}

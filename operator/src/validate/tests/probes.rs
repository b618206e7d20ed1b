use super::*;

fn probe(kind: &str, body: &str) -> String {
    format!("{TWO_PORTS}  probes:\n    {kind}: {body}\n")
}

#[test]
fn probe_handlers_exactly_one() {
    valid(&probe(
        "liveness",
        "{httpGet: {path: /healthz, port: http}}",
    ));
    assert_eq!(
        errors(&probe("liveness", "{httpGet: {port: 80}, exec: {command: [true]}}")),
        ["spec.probes.liveness: exactly one of httpGet, tcpSocket, exec, grpc must be set (found httpGet, exec)"]
    );
    assert_eq!(
        errors(&probe("readiness", "{periodSeconds: 5}")),
        ["spec.probes.readiness: exactly one of httpGet, tcpSocket, exec, grpc must be set (found none)"]
    );
}

#[test]
fn probe_ports() {
    valid(&probe("readiness", "{tcpSocket: {port: admin}}"));
    valid(&probe("readiness", "{tcpSocket: {port: 9000}}"));
    assert_eq!(
        errors(&probe("readiness", "{tcpSocket: {port: metrics}}")),
        ["spec.probes.readiness.tcpSocket.port: \"metrics\" is not a declared port name (declared: http, admin)"]
    );
    assert_eq!(
        errors(&format!("{APP}  probes: {{startup: {{httpGet: {{port: web}}}}}}\n")),
        ["spec.probes.startup.httpGet.port: \"web\" is not a declared port name (no port has a name)"]
    );
    assert_eq!(
        errors(&probe("readiness", "{httpGet: {port: 0}}")),
        ["spec.probes.readiness.httpGet.port: 0 is outside 1-65535"]
    );
}

#[test]
fn http_get_path_and_headers() {
    valid(&probe(
        "readiness",
        "{httpGet: {path: /, port: 80, httpHeaders: [{name: X-Probe, value: \"1\"}]}}",
    ));
    assert_eq!(
        errors(&probe("readiness", "{httpGet: {path: healthz, port: 80, httpHeaders: [{name: \"\", value: a}, {name: \"X Probe\", value: b}]}}")),
        [
            "spec.probes.readiness.httpGet.path: \"healthz\" must start with \"/\"",
            "spec.probes.readiness.httpGet.httpHeaders[0].name: required",
            "spec.probes.readiness.httpGet.httpHeaders[1].name: \"X Probe\" is not an HTTP header name (letters, digits and '-')",
        ]
    );
}

#[test]
fn exec_needs_a_command() {
    valid(&probe("liveness", "{exec: {command: [cat, /tmp/ok]}}"));
    assert_eq!(
        errors(&probe("liveness", "{exec: {command: []}}")),
        ["spec.probes.liveness.exec.command: at least one element is required"]
    );
}

#[test]
fn grpc_probes_need_1_24() {
    let spec = probe("liveness", "{grpc: {port: 9000}}");
    assert_eq!(errors_on(24, &spec), Vec::<String>::new());
    let exposure = exposure_from(&format!("{HEADER}spec:\n{spec}"));
    let found =
        validate(&exposure, &ClusterInfo::new(KubeVersion::new(1, 20))).expect_err("grpc on 1.20");
    assert_eq!(
        found,
        [FieldError::unsupported(
            "spec.probes.liveness.grpc",
            "grpc probes needs Kubernetes >= 1.24 (cluster is 1.20); use httpGet or tcpSocket, or exec with grpc_health_probe"
        )]
    );
    assert_eq!(
        errors_on(24, &probe("liveness", "{grpc: {port: 0}}")),
        ["spec.probes.liveness.grpc.port: 0 is outside 1-65535"]
    );
}

#[test]
fn probe_timings() {
    valid(&probe("readiness", "{exec: {command: [x]}, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 3, failureThreshold: 1}"));
    assert_eq!(
        errors(&probe("readiness", "{exec: {command: [x]}, initialDelaySeconds: -1, periodSeconds: 0, timeoutSeconds: 0, successThreshold: 0, failureThreshold: 0}")),
        [
            "spec.probes.readiness.initialDelaySeconds: -1 must be at least 0",
            "spec.probes.readiness.periodSeconds: 0 must be at least 1",
            "spec.probes.readiness.timeoutSeconds: 0 must be at least 1",
            "spec.probes.readiness.successThreshold: 0 must be at least 1",
            "spec.probes.readiness.failureThreshold: 0 must be at least 1",
        ]
    );
}

#[test]
fn success_threshold_is_1_for_liveness_and_startup() {
    valid(&probe(
        "liveness",
        "{exec: {command: [x]}, successThreshold: 1}",
    ));
    assert_eq!(
        errors(&probe(
            "liveness",
            "{exec: {command: [x]}, successThreshold: 2}"
        )),
        ["spec.probes.liveness.successThreshold: must be 1 for liveness probes (got 2)"]
    );
    assert_eq!(
        errors(&probe(
            "startup",
            "{exec: {command: [x]}, successThreshold: 3}"
        )),
        ["spec.probes.startup.successThreshold: must be 1 for startup probes (got 3)"]
    );
}

#[test]
fn probe_termination_grace_period() {
    let spec = probe(
        "liveness",
        "{exec: {command: [x]}, terminationGracePeriodSeconds: 30}",
    );
    assert_eq!(errors_on(25, &spec), Vec::<String>::new());
    let exposure = exposure_from(&format!("{HEADER}spec:\n{spec}"));
    let found = validate(&exposure, &ClusterInfo::new(KubeVersion::new(1, 24))).expect_err("1.24");
    assert_eq!(
        found,
        [FieldError::unsupported(
            "spec.probes.liveness.terminationGracePeriodSeconds",
            "probe-level terminationGracePeriodSeconds needs Kubernetes >= 1.25 (cluster is 1.24); remove it"
        )]
    );
    assert_eq!(
        errors_on(25, &probe("readiness", "{exec: {command: [x]}, terminationGracePeriodSeconds: 30}")),
        ["spec.probes.readiness.terminationGracePeriodSeconds: not allowed on readiness probes (only liveness and startup)"]
    );
    assert_eq!(
        errors_on(
            25,
            &probe(
                "startup",
                "{exec: {command: [x]}, terminationGracePeriodSeconds: 0}"
            )
        ),
        ["spec.probes.startup.terminationGracePeriodSeconds: 0 must be at least 1"]
    );
}

use super::*;

#[test]
fn image_required_for_a_workload() {
    valid(APP);
    assert_eq!(
        errors("  ports: [{containerPort: 80}]\n"),
        ["spec.image: required (unless visibility.type is ExternalName or spec.endpoints is set)"]
    );
    assert_eq!(
        errors("  image: \"nginx latest\"\n  ports: [{containerPort: 80}]\n"),
        ["spec.image: \"nginx latest\" must not contain whitespace"]
    );
}

#[test]
fn workload_fields_are_errors_without_a_workload() {
    let external = "  visibility: {type: ExternalName, externalName: db.example.com}\n";
    valid(external);
    assert_eq!(
        errors(&format!("{external}  image: nginx\n  replicas: 2\n  command: [sh]\n  args: [x]\n  env: [{{name: A, value: b}}]\n  probes: {{liveness: {{exec: {{command: [true]}}}}}}\n  storage: [{{name: data, mountPath: /d, size: 1Gi}}]\n  headless: true\n")),
        [
            "spec.image: not used with visibility.type ExternalName (no workload is created)",
            "spec.replicas: not used with visibility.type ExternalName (no workload is created)",
            "spec.command: not used with visibility.type ExternalName (no workload is created)",
            "spec.args: not used with visibility.type ExternalName (no workload is created)",
            "spec.env: not used with visibility.type ExternalName (no workload is created)",
            "spec.probes: not used with visibility.type ExternalName (no workload is created)",
            "spec.headless: not used with visibility.type ExternalName (no workload is created)",
            "spec.storage: not used with visibility.type ExternalName (no workload is created)",
        ]
    );
    let endpoints = "  ports: [{containerPort: 5432}]\n  endpoints: [{ip: 10.0.0.5}]\n";
    valid(endpoints);
    valid(&format!("{endpoints}  headless: false\n"));
    assert_eq!(
        errors(&format!("{endpoints}  image: postgres\n  imagePullSecrets: [reg]\n  serviceAccountName: sa\n  strategy: Recreate\n")),
        [
            "spec.image: not used with spec.endpoints (no workload is created)",
            "spec.imagePullSecrets: not used with spec.endpoints (no workload is created)",
            "spec.serviceAccountName: not used with spec.endpoints (no workload is created)",
            "spec.strategy: not used with spec.endpoints (no workload is created)",
        ]
    );
}

#[test]
fn replicas_not_negative() {
    valid(&format!("{APP}  replicas: 0\n"));
    assert_eq!(
        errors(&format!("{APP}  replicas: -1\n")),
        ["spec.replicas: -1 must be at least 0"]
    );
}

#[test]
fn image_pull_secrets_and_service_account() {
    valid(&format!(
        "{APP}  imagePullSecrets: [registry.creds]\n  serviceAccountName: web-sa\n"
    ));
    assert_eq!(
        errors(&format!(
            "{APP}  imagePullSecrets: [Reg, \"\"]\n  serviceAccountName: web_sa\n"
        )),
        [
            format!("spec.imagePullSecrets[0]: \"Reg\" is not {DNS1123_SUBDOMAIN}"),
            "spec.imagePullSecrets[1]: required".to_string(),
            format!("spec.serviceAccountName: \"web_sa\" is not {DNS1123_SUBDOMAIN}"),
        ]
    );
}

#[test]
fn env_vars() {
    valid(&format!("{APP}  env: [{{name: A, value: b}}, {{name: B, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}, {{name: C, value: \"\", valueFrom: {{secretKeyRef: {{name: s, key: k}}}}}}]\n"));
    assert_eq!(
        errors(&format!("{APP}  env: [{{name: \"\"}}, {{name: \"A=B\"}}, {{name: C, value: x, valueFrom: {{secretKeyRef: {{name: s, key: k}}}}}}, {{name: D, valueFrom: {{}}}}]\n")),
        [
            "spec.env[0].name: required",
            "spec.env[1].name: \"A=B\" must not contain '='",
            "spec.env[2].valueFrom: not allowed when value is set; use one of value or valueFrom",
            "spec.env[3].valueFrom: exactly one of configMapKeyRef, fieldRef, resourceFieldRef, secretKeyRef must be set (found none)",
        ]
    );
}

#[test]
fn env_from_sources() {
    valid(&format!(
        "{APP}  envFrom: [{{configMapRef: {{name: c}}, prefix: X_}}]\n"
    ));
    assert_eq!(
        errors(&format!("{APP}  envFrom: [{{configMapRef: {{name: c}}, secretRef: {{name: s}}}}]\n")),
        ["spec.envFrom[0]: exactly one of configMapRef, secretRef must be set (found configMapRef, secretRef)"]
    );
}

#[test]
fn resources() {
    valid(&format!("{APP}  resources: {{requests: {{cpu: 500m, memory: 1Gi}}, limits: {{cpu: \"1\", memory: 1024Mi}}}}\n"));
    assert_eq!(
        errors(&format!("{APP}  resources: {{requests: {{cpu: \"2\", memory: lots}}, limits: {{cpu: \"1\", memory: \"-1Gi\"}}}}\n")),
        [
            "spec.resources.limits[memory]: \"-1Gi\" must not be negative",
            "spec.resources.requests[cpu]: 2 must not exceed the limit 1",
            "spec.resources.requests[memory]: \"lots\" is not a quantity (e.g. 1Gi, 500Mi, 250m, 2)",
        ]
    );
}

#[test]
fn pod_labels() {
    valid(&format!(
        "{APP}  podLabels: {{app.kubernetes.io/part-of: shop, tier: \"\"}}\n"
    ));
    assert_eq!(
        errors(&format!("{APP}  podLabels: {{exposure.dev/name: other, \"bad key\": x, tier: \"a b\"}}\n")),
        [
            "spec.podLabels[bad key]: \"bad key\" is not a qualified name (an optional DNS-1123 subdomain prefix and '/', then at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)".to_string(),
            "spec.podLabels[exposure.dev/name]: is set by the operator (it selects the pods) and cannot be overridden".to_string(),
            "spec.podLabels[tier]: \"a b\" is not a label value (empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)".to_string(),
        ]
    );
}

#[test]
fn annotations() {
    valid(&format!("{APP}  podAnnotations: {{Prometheus.IO/scrape: \"true\"}}\n  visibility: {{annotations: {{a/b: c}}}}\n"));
    assert_eq!(
        errors(&format!(
            "{APP}  podAnnotations: {{\"/x\": a}}\n  visibility: {{annotations: {{a/b/c: d}}}}\n"
        )),
        [
            format!("spec.podAnnotations[/x]: \"/x\" is not {QUALIFIED_NAME}"),
            format!("spec.visibility.annotations[a/b/c]: \"a/b/c\" is not {QUALIFIED_NAME}"),
        ]
    );
    let huge = "x".repeat(MAX_ANNOTATIONS_BYTES);
    assert_eq!(
        errors(&format!("{APP}  podAnnotations: {{a: {huge}}}\n")),
        [format!(
            "spec.podAnnotations: total size {} bytes exceeds the limit of 262144",
            MAX_ANNOTATIONS_BYTES + 1
        )]
    );
}

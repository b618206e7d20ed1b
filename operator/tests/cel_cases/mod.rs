//! One spec per CEL rule of the CRD (`exposure_crd::cel::RULES`) that breaks exactly that
//! rule, with the field and message both the operator and the API server give for it. Shared
//! by `cel_rules` (the operator's side, no cluster) and `e2e_cel` (the API server's side).

/// A spec that breaks one rule.
pub struct Case {
    /// The rule's `name` in `exposure_crd::cel::RULES`.
    pub rule: &'static str,
    /// The Exposure's `spec`, as YAML flow mappings.
    pub spec: &'static str,
    /// The operator's field path for the error.
    pub field: &'static str,
    /// The API server's message; the operator's is the same, or starts with it and adds
    /// detail (`<message> (…)`, `<message>: …`).
    pub message: &'static str,
}

pub const CASES: &[Case] = &[
    Case {
        rule: "image-required",
        spec: "{ports: [{containerPort: 80}]}",
        field: "spec.image",
        message: "required (unless visibility.type is ExternalName or spec.endpoints is set)",
    },
    Case {
        rule: "no-workload-image",
        spec: "{image: nginx, ports: [{containerPort: 80}], endpoints: [{ip: 192.0.2.10}]}",
        field: "spec.image",
        message: "not used with spec.endpoints (no workload is created)",
    },
    Case {
        rule: "no-workload-replicas",
        spec: "{replicas: 2, visibility: {type: ExternalName, externalName: db.example.com}}",
        field: "spec.replicas",
        message: "not used with visibility.type ExternalName (no workload is created)",
    },
    Case {
        rule: "no-workload-probes",
        spec: "{ports: [{containerPort: 80}], endpoints: [{ip: 192.0.2.10}], probes: {readiness: {tcpSocket: {port: 80}}}}",
        field: "spec.probes",
        message: "not used with spec.endpoints (no workload is created)",
    },
    Case {
        rule: "no-workload-storage",
        spec: "{visibility: {type: ExternalName, externalName: db.example.com}, storage: [{name: data, mountPath: /data, size: 1Gi}]}",
        field: "spec.storage",
        message: "not used with visibility.type ExternalName (no workload is created)",
    },
    Case {
        rule: "no-workload-workload",
        spec: "{workload: StatefulSet, visibility: {type: ExternalName, externalName: db.example.com}}",
        field: "spec.workload",
        message: "not used with visibility.type ExternalName (no workload is created)",
    },
    Case {
        rule: "no-workload-autoscaling",
        spec: "{ports: [{containerPort: 80}], endpoints: [{ip: 192.0.2.10}], autoscaling: {minReplicas: 1, maxReplicas: 3}}",
        field: "spec.autoscaling",
        message: "not used with spec.endpoints (no workload is created)",
    },
    Case {
        rule: "no-workload-disruption",
        spec: "{ports: [{containerPort: 80}], endpoints: [{ip: 192.0.2.10}], disruption: {minAvailable: 1}}",
        field: "spec.disruption",
        message: "not used with spec.endpoints (no workload is created)",
    },
    Case {
        rule: "no-workload-config",
        spec: "{visibility: {type: ExternalName, externalName: db.example.com}, config: [{name: tmp, mountPath: /tmp, emptyDir: {}}]}",
        field: "spec.config",
        message: "not used with visibility.type ExternalName (no workload is created)",
    },
    Case {
        rule: "stateful-set-only-with-stateful-set",
        spec: "{image: nginx, ports: [{containerPort: 80}], statefulSet: {podManagementPolicy: Parallel}}",
        field: "spec.statefulSet",
        message: "only allowed with workload StatefulSet",
    },
    Case {
        rule: "strategy-only-with-deployment",
        spec: "{image: nginx, ports: [{containerPort: 80}], workload: DaemonSet, strategy: Recreate}",
        field: "spec.strategy",
        message: "only allowed with workload Deployment (is DaemonSet)",
    },
    Case {
        rule: "replicas-not-with-daemon-set",
        spec: "{image: nginx, ports: [{containerPort: 80}], workload: DaemonSet, replicas: 2}",
        field: "spec.replicas",
        message: "not allowed with workload DaemonSet (one pod runs on every eligible node)",
    },
    Case {
        rule: "autoscaling-not-with-daemon-set",
        spec: "{image: nginx, ports: [{containerPort: 80}], workload: DaemonSet, autoscaling: {minReplicas: 1, maxReplicas: 3}}",
        field: "spec.autoscaling",
        message: "not allowed with workload DaemonSet (one pod runs on every eligible node)",
    },
    Case {
        rule: "autoscaling-min-max",
        spec: "{image: nginx, ports: [{containerPort: 80}], autoscaling: {minReplicas: 4, maxReplicas: 3}}",
        field: "spec.autoscaling.maxReplicas",
        message: "must not be less than minReplicas",
    },
    Case {
        rule: "disruption-one-of",
        spec: "{image: nginx, ports: [{containerPort: 80}], disruption: {minAvailable: 1, maxUnavailable: 1}}",
        field: "spec.disruption",
        message: "exactly one of minAvailable, maxUnavailable must be set (found minAvailable, maxUnavailable)",
    },
    Case {
        rule: "stateful-set-needs-headless",
        spec: "{image: postgres, ports: [{containerPort: 5432}], workload: StatefulSet, headless: false}",
        field: "spec.headless",
        message: "must not be false with workload StatefulSet (its pods get their DNS names from the headless Service)",
    },
    Case {
        rule: "stateful-set-one-reclaim",
        spec: "{image: postgres, ports: [{containerPort: 5432}], workload: StatefulSet, storage: [{name: data, mountPath: /data, size: 1Gi}, {name: wal, mountPath: /wal, size: 1Gi, reclaim: Delete}]}",
        field: "spec.storage",
        message: "with workload StatefulSet every volume must have the same reclaim (one retention policy covers all per-pod claims)",
    },
    Case {
        rule: "ports-required",
        spec: "{image: nginx, visibility: {type: NodePort}}",
        field: "spec.ports",
        message: "at least one port is required for visibility.type NodePort (the Service needs a port)",
    },
    Case {
        rule: "port-names-required",
        spec: "{image: nginx, ports: [{name: http, containerPort: 80}, {containerPort: 81}]}",
        field: "spec.ports[1].name",
        message: "required when more than one port is declared",
    },
    Case {
        rule: "port-names-unique",
        spec: "{image: nginx, ports: [{name: http, containerPort: 80}, {name: http, containerPort: 81}]}",
        field: "spec.ports[1].name",
        message: "port names must be unique",
    },
    Case {
        rule: "node-port-visibility",
        spec: "{image: nginx, ports: [{containerPort: 80, nodePort: 30080}]}",
        field: "spec.ports[0].nodePort",
        message: "only allowed with visibility.type NodePort or LoadBalancer (is Internal)",
    },
    Case {
        rule: "probe-one-handler",
        spec: "{image: nginx, ports: [{containerPort: 80}], probes: {readiness: {tcpSocket: {port: 80}, exec: {command: ['true']}}}}",
        field: "spec.probes.readiness",
        message: "exactly one of httpGet, tcpSocket, exec, grpc must be set (found tcpSocket, exec)",
    },
    Case {
        rule: "liveness-success-threshold",
        spec: "{image: nginx, ports: [{containerPort: 80}], probes: {liveness: {tcpSocket: {port: 80}, successThreshold: 3}}}",
        field: "spec.probes.liveness.successThreshold",
        message: "must be 1 for liveness probes",
    },
    Case {
        rule: "startup-success-threshold",
        spec: "{image: nginx, ports: [{containerPort: 80}], probes: {startup: {tcpSocket: {port: 80}, successThreshold: 2}}}",
        field: "spec.probes.startup.successThreshold",
        message: "must be 1 for startup probes",
    },
    Case {
        rule: "readiness-no-grace-period",
        spec: "{image: nginx, ports: [{containerPort: 80}], probes: {readiness: {tcpSocket: {port: 80}, terminationGracePeriodSeconds: 5}}}",
        field: "spec.probes.readiness.terminationGracePeriodSeconds",
        message: "not allowed on readiness probes (only liveness and startup)",
    },
    Case {
        rule: "external-name-required",
        spec: "{visibility: {type: ExternalName}}",
        field: "spec.visibility.externalName",
        message: "required when visibility.type is ExternalName",
    },
    Case {
        rule: "external-name-only-with-external-name",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: NodePort, externalName: db.example.com}}",
        field: "spec.visibility.externalName",
        message: "only allowed with visibility.type ExternalName (is NodePort)",
    },
    Case {
        rule: "session-affinity-timeout-needs-client-ip",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {sessionAffinityTimeoutSeconds: 60}}",
        field: "spec.visibility.sessionAffinityTimeoutSeconds",
        message: "only allowed with sessionAffinity ClientIP",
    },
    Case {
        rule: "external-traffic-policy-needs-node-ports",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: Ingress, externalTrafficPolicy: Local}, ingress: {host: web.example.com}}",
        field: "spec.visibility.externalTrafficPolicy",
        message: "only allowed with visibility.type NodePort or LoadBalancer (is Ingress)",
    },
    Case {
        rule: "load-balancer-class-needs-load-balancer",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: NodePort, loadBalancerClass: example.com/lb}}",
        field: "spec.visibility.loadBalancerClass",
        message: "only allowed with visibility.type LoadBalancer (is NodePort)",
    },
    Case {
        rule: "ingress-required",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: Ingress}}",
        field: "spec.ingress",
        message: "required when visibility.type is Ingress",
    },
    Case {
        rule: "ingress-only-with-ingress",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: LoadBalancer}, ingress: {host: web.example.com}}",
        field: "spec.ingress",
        message: "only allowed with visibility.type Ingress (is LoadBalancer)",
    },
    Case {
        rule: "ingress-host-or-hosts",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: Ingress}, ingress: {host: a.example.com, hosts: [{host: b.example.com}]}}",
        field: "spec.ingress.hosts",
        message: "set either host or hosts, not both",
    },
    Case {
        rule: "ingress-host-required",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: Ingress}, ingress: {className: nginx}}",
        field: "spec.ingress.host",
        message: "set host or hosts (or defaultBackend: true for an Ingress without rules)",
    },
    Case {
        rule: "ingress-paths-need-host",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: Ingress}, ingress: {hosts: [{host: b.example.com}], paths: [{path: /}]}}",
        field: "spec.ingress.paths",
        message: "only allowed with host (with hosts, each entry has its own paths)",
    },
    Case {
        rule: "ingress-tls-needs-host",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: Ingress}, ingress: {defaultBackend: true, tls: {secretName: web-tls}}}",
        field: "spec.ingress.tls",
        message: "only allowed with host (with hosts, each entry has its own tls)",
    },
    Case {
        rule: "ingress-hosts-unique",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: Ingress}, ingress: {hosts: [{host: b.example.com}, {host: b.example.com}]}}",
        field: "spec.ingress.hosts[1].host",
        message: "host names must be unique",
    },
    Case {
        rule: "default-backend-port-needs-default-backend",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: Ingress}, ingress: {host: a.example.com, defaultBackendPort: 80}}",
        field: "spec.ingress.defaultBackendPort",
        message: "only allowed with defaultBackend: true",
    },
    Case {
        rule: "issuer-kind-needs-issuer",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: Ingress}, ingress: {hosts: [{host: b.example.com, tls: {secretName: b-tls, issuerKind: Issuer}}]}}",
        field: "spec.ingress.hosts[0].tls.issuerKind",
        message: "only allowed with issuer",
    },
    Case {
        rule: "gateway-required",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: Gateway}}",
        field: "spec.gateway",
        message: "required when visibility.type is Gateway",
    },
    Case {
        rule: "gateway-only-with-gateway",
        spec: "{image: nginx, ports: [{containerPort: 80}], visibility: {type: Ingress}, ingress: {host: a.example.com}, gateway: {parentRefs: [{name: shared}]}}",
        field: "spec.gateway",
        message: "only allowed with visibility.type Gateway (is Ingress)",
    },
    Case {
        rule: "endpoints-not-with-external-name",
        spec: "{visibility: {type: ExternalName, externalName: db.example.com}, endpoints: [{ip: 192.0.2.10}]}",
        field: "spec.endpoints",
        message: "not used with visibility.type ExternalName (the Service aliases a DNS name)",
    },
    Case {
        rule: "storage-names-unique",
        spec: "{image: nginx, ports: [{containerPort: 80}], storage: [{name: data, mountPath: /a, size: 1Gi}, {name: data, mountPath: /b, size: 1Gi}]}",
        field: "spec.storage[1].name",
        message: "storage names must be unique",
    },
    Case {
        rule: "config-one-source",
        spec: "{image: nginx, ports: [{containerPort: 80}], config: [{name: app, mountPath: /etc/app, configMap: app, secret: app}]}",
        field: "spec.config[0]",
        message: "exactly one of configMap, secret, emptyDir must be set (found configMap, secret)",
    },
    Case {
        rule: "config-items-need-source",
        spec: "{image: nginx, ports: [{containerPort: 80}], config: [{name: tmp, mountPath: /tmp, emptyDir: {}, items: [{key: a, path: a}]}]}",
        field: "spec.config[0].items",
        message: "only allowed with configMap or secret",
    },
    Case {
        rule: "config-names-unique",
        spec: "{image: nginx, ports: [{containerPort: 80}], config: [{name: app, mountPath: /a, configMap: a}, {name: app, mountPath: /b, configMap: b}]}",
        field: "spec.config[1].name",
        message: "config names must be unique",
    },
    Case {
        rule: "storage-class-or-glusterfs",
        spec: "{image: nginx, ports: [{containerPort: 80}], storage: [{name: data, mountPath: /data, size: 1Gi, storageClassName: fast, glusterfs: {resturl: 'http://127.0.0.1:8080'}}]}",
        field: "spec.storage[0].glusterfs",
        message: "set either storageClassName or glusterfs, not both",
    },
    Case {
        rule: "glusterfs-auth-user",
        spec: "{image: nginx, ports: [{containerPort: 80}], storage: [{name: data, mountPath: /data, size: 1Gi, glusterfs: {resturl: 'http://127.0.0.1:8080', restauthenabled: true, secretName: heketi}}]}",
        field: "spec.storage[0].glusterfs.restuser",
        message: "required when restauthenabled is true",
    },
    Case {
        rule: "glusterfs-auth-secret",
        spec: "{image: nginx, ports: [{containerPort: 80}], storage: [{name: data, mountPath: /data, size: 1Gi, glusterfs: {resturl: 'http://127.0.0.1:8080', restauthenabled: true, restuser: admin}}]}",
        field: "spec.storage[0].glusterfs.secretName",
        message: "required when restauthenabled is true",
    },
    Case {
        rule: "glusterfs-gid-order",
        spec: "{image: nginx, ports: [{containerPort: 80}], storage: [{name: data, mountPath: /data, size: 1Gi, glusterfs: {resturl: 'http://127.0.0.1:8080', gidMin: 4000, gidMax: 3000}}]}",
        field: "spec.storage[0].glusterfs.gidMax",
        message: "must not be less than gidMin",
    },
];

/// The Exposure `name` with the case's spec, in namespace `namespace`.
pub fn exposure_yaml(case: &Case, name: &str, namespace: &str) -> String {
    format!(
        "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec: {}\n",
        case.spec
    )
}

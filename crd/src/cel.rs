//! The cross-field rules the API server itself enforces, as CEL (`x-kubernetes-validations`,
//! GA in Kubernetes 1.29): `kubectl apply` and a GitOps sync reject these specs at once instead
//! of the operator reporting them later. Older API servers drop the field and the operator's
//! `validate` (which checks every one of these too) reports `Stalled`/`InvalidSpec`.
//!
//! Each rule's message is the operator's message for the same input, word for word, or its
//! first part where the rest (a number the user wrote, which entry clashes with which) is
//! beyond what a CEL message may compute within the API server's message cost budget
//! (`string(int)`, nested list scans): then the operator's message is `<rule message> (…)` or
//! `<rule message>: …`. A test pairs every rule here with the Rust rule that rejects the same
//! spec, and an e2e test proves the API server says the same. Rules only use lists and strings the schema bounds
//! (`maxItems`/`maxLength`), so their cost estimate stays far below the API server's budget.

/// One CEL rule of the Exposure CRD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CelRule {
    /// A stable name, for tests and docs.
    pub name: &'static str,
    /// Schema locations the rule is attached to: dotted property paths below the root
    /// (`spec`, `spec.ports`, `spec.probes.readiness`); `[]` after a list means its items.
    pub at: &'static [&'static str],
    /// The CEL expression; `self` is the value at `at`.
    pub rule: &'static str,
    pub message: Message,
    /// Where the error points, relative to `at` (e.g. `.ingress`); `None`: at `at` itself.
    pub field_path: Option<&'static str>,
}

/// A fixed message, or a CEL expression that computes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    Fixed(&'static str),
    Expression(&'static str),
}

/// Most list items a spec may have where a rule iterates the list (CEL's cost estimate needs a
/// bound); well beyond any application's ports and volumes.
pub const MAX_PORTS: usize = 100;
pub const MAX_STORAGE: usize = 32;
pub const MAX_INGRESS_HOSTS: usize = 32;
pub const MAX_GATEWAY_ITEMS: usize = 32;
pub const MAX_CONFIG: usize = 32;
pub const MAX_CONFIG_ITEMS: usize = 64;

/// Why a DaemonSet takes no replica count.
pub const DAEMON_SET_NO_REPLICAS: &str =
    "not allowed with workload DaemonSet (one pod runs on every eligible node)";

/// `visibility.type ExternalName` or `spec.endpoints`: no workload is created.
macro_rules! no_workload {
    () => {
        "(self.visibility.type == 'ExternalName' || (has(self.endpoints) && size(self.endpoints) > 0))"
    };
}

/// A pod field (`$present` tells whether it is set) must not be set without a workload.
macro_rules! no_workload_field {
    ($field:literal, $present:literal) => {
        CelRule {
            name: concat!("no-workload-", $field),
            at: &["spec"],
            rule: concat!("!", no_workload!(), " || !(", $present, ")"),
            message: Message::Expression(
                "'not used with ' + (self.visibility.type == 'ExternalName' ? 'visibility.type ExternalName' : 'spec.endpoints') + ' (no workload is created)'",
            ),
            field_path: Some(concat!(".", $field)),
        }
    };
}

/// Every CEL rule of the CRD.
pub const RULES: &[CelRule] = &[
    CelRule {
        name: "image-required",
        at: &["spec"],
        rule: concat!(no_workload!(), " || (has(self.image) && self.image != '')"),
        message: Message::Fixed(
            "required (unless visibility.type is ExternalName or spec.endpoints is set)",
        ),
        field_path: Some(".image"),
    },
    no_workload_field!("image", "has(self.image)"),
    no_workload_field!("replicas", "has(self.replicas)"),
    no_workload_field!("probes", "has(self.probes)"),
    no_workload_field!("storage", "has(self.storage) && size(self.storage) > 0"),
    no_workload_field!("workload", "has(self.workload)"),
    no_workload_field!("autoscaling", "has(self.autoscaling)"),
    no_workload_field!("disruption", "has(self.disruption)"),
    no_workload_field!("config", "has(self.config) && size(self.config) > 0"),
    CelRule {
        name: "stateful-set-only-with-stateful-set",
        at: &["spec"],
        rule: "!has(self.statefulSet) || (has(self.workload) && self.workload == 'StatefulSet')",
        message: Message::Fixed("only allowed with workload StatefulSet"),
        field_path: Some(".statefulSet"),
    },
    CelRule {
        name: "strategy-only-with-deployment",
        at: &["spec"],
        rule: "!has(self.strategy) || !has(self.workload) || self.workload == 'Deployment'",
        message: Message::Expression(
            "'only allowed with workload Deployment (is ' + self.workload + ')'",
        ),
        field_path: Some(".strategy"),
    },
    CelRule {
        name: "replicas-not-with-daemon-set",
        at: &["spec"],
        rule: "!has(self.replicas) || !has(self.workload) || self.workload != 'DaemonSet'",
        message: Message::Fixed(DAEMON_SET_NO_REPLICAS),
        field_path: Some(".replicas"),
    },
    CelRule {
        name: "autoscaling-not-with-daemon-set",
        at: &["spec"],
        rule: "!has(self.autoscaling) || !has(self.workload) || self.workload != 'DaemonSet'",
        message: Message::Fixed(DAEMON_SET_NO_REPLICAS),
        field_path: Some(".autoscaling"),
    },
    CelRule {
        name: "autoscaling-min-max",
        at: &["spec.autoscaling"],
        rule: "self.minReplicas <= self.maxReplicas",
        message: Message::Fixed("must not be less than minReplicas"),
        field_path: Some(".maxReplicas"),
    },
    CelRule {
        name: "disruption-one-of",
        at: &["spec.disruption"],
        rule: "has(self.minAvailable) != has(self.maxUnavailable)",
        message: Message::Expression(
            "'exactly one of minAvailable, maxUnavailable must be set (found ' + (has(self.minAvailable) ? 'minAvailable, maxUnavailable' : 'none') + ')'",
        ),
        field_path: None,
    },
    CelRule {
        name: "stateful-set-needs-headless",
        at: &["spec"],
        rule: "!has(self.workload) || self.workload != 'StatefulSet' || !has(self.headless) || self.headless",
        message: Message::Fixed(
            "must not be false with workload StatefulSet (its pods get their DNS names from the headless Service)",
        ),
        field_path: Some(".headless"),
    },
    CelRule {
        name: "stateful-set-one-reclaim",
        at: &["spec"],
        rule: "!has(self.workload) || self.workload != 'StatefulSet' || !has(self.storage) || size(self.storage) == 0 || self.storage.all(v, (has(v.reclaim) ? v.reclaim : 'Retain') == (has(self.storage[0].reclaim) ? self.storage[0].reclaim : 'Retain'))",
        message: Message::Fixed(
            "with workload StatefulSet every volume must have the same reclaim (one retention policy covers all per-pod claims)",
        ),
        field_path: Some(".storage"),
    },
    CelRule {
        name: "ports-required",
        at: &["spec"],
        rule: "self.visibility.type == 'ExternalName' || (has(self.ports) && size(self.ports) > 0)",
        message: Message::Expression(
            "'at least one port is required for visibility.type ' + self.visibility.type + ' (the Service needs a port)'",
        ),
        field_path: Some(".ports"),
    },
    CelRule {
        name: "port-names-required",
        at: &["spec.ports"],
        rule: "size(self) <= 1 || self.all(p, has(p.name))",
        message: Message::Fixed("required when more than one port is declared"),
        field_path: None,
    },
    CelRule {
        name: "port-names-unique",
        at: &["spec.ports"],
        rule: "self.all(p, !has(p.name) || self.filter(q, has(q.name) && q.name == p.name).size() == 1)",
        message: Message::Fixed("port names must be unique"),
        field_path: None,
    },
    CelRule {
        name: "node-port-visibility",
        at: &["spec"],
        rule: "self.visibility.type in ['NodePort', 'LoadBalancer'] || !has(self.ports) || self.ports.all(p, !has(p.nodePort))",
        message: Message::Expression(
            "'only allowed with visibility.type NodePort or LoadBalancer (is ' + self.visibility.type + ')'",
        ),
        field_path: Some(".ports"),
    },
    CelRule {
        name: "probe-one-handler",
        at: &[
            "spec.probes.readiness",
            "spec.probes.liveness",
            "spec.probes.startup",
        ],
        rule: "(has(self.httpGet) ? 1 : 0) + (has(self.tcpSocket) ? 1 : 0) + (has(self.exec) ? 1 : 0) + (has(self.grpc) ? 1 : 0) == 1",
        message: Message::Expression(
            "'exactly one of httpGet, tcpSocket, exec, grpc must be set (found ' + ((has(self.httpGet) ? 1 : 0) + (has(self.tcpSocket) ? 1 : 0) + (has(self.exec) ? 1 : 0) + (has(self.grpc) ? 1 : 0) == 0 ? 'none' : ((has(self.httpGet) ? ', httpGet' : '') + (has(self.tcpSocket) ? ', tcpSocket' : '') + (has(self.exec) ? ', exec' : '') + (has(self.grpc) ? ', grpc' : '')).substring(2)) + ')'",
        ),
        field_path: None,
    },
    CelRule {
        name: "liveness-success-threshold",
        at: &["spec.probes"],
        rule: "!has(self.liveness) || !has(self.liveness.successThreshold) || self.liveness.successThreshold == 1",
        message: Message::Fixed("must be 1 for liveness probes"),
        field_path: Some(".liveness.successThreshold"),
    },
    CelRule {
        name: "startup-success-threshold",
        at: &["spec.probes"],
        rule: "!has(self.startup) || !has(self.startup.successThreshold) || self.startup.successThreshold == 1",
        message: Message::Fixed("must be 1 for startup probes"),
        field_path: Some(".startup.successThreshold"),
    },
    CelRule {
        name: "readiness-no-grace-period",
        at: &["spec.probes"],
        rule: "!has(self.readiness) || !has(self.readiness.terminationGracePeriodSeconds)",
        message: Message::Fixed("not allowed on readiness probes (only liveness and startup)"),
        field_path: Some(".readiness.terminationGracePeriodSeconds"),
    },
    CelRule {
        name: "external-name-required",
        at: &["spec.visibility"],
        rule: "self.type != 'ExternalName' || (has(self.externalName) && self.externalName != '')",
        message: Message::Fixed("required when visibility.type is ExternalName"),
        field_path: Some(".externalName"),
    },
    CelRule {
        name: "external-name-only-with-external-name",
        at: &["spec.visibility"],
        rule: "self.type == 'ExternalName' || !has(self.externalName)",
        message: Message::Expression(
            "'only allowed with visibility.type ExternalName (is ' + self.type + ')'",
        ),
        field_path: Some(".externalName"),
    },
    CelRule {
        name: "session-affinity-timeout-needs-client-ip",
        at: &["spec.visibility"],
        rule: "!has(self.sessionAffinityTimeoutSeconds) || (has(self.sessionAffinity) && self.sessionAffinity == 'ClientIP')",
        message: Message::Fixed("only allowed with sessionAffinity ClientIP"),
        field_path: Some(".sessionAffinityTimeoutSeconds"),
    },
    CelRule {
        name: "external-traffic-policy-needs-node-ports",
        at: &["spec.visibility"],
        rule: "!has(self.externalTrafficPolicy) || self.type in ['NodePort', 'LoadBalancer']",
        message: Message::Expression(
            "'only allowed with visibility.type NodePort or LoadBalancer (is ' + self.type + ')'",
        ),
        field_path: Some(".externalTrafficPolicy"),
    },
    CelRule {
        name: "load-balancer-class-needs-load-balancer",
        at: &["spec.visibility"],
        rule: "!has(self.loadBalancerClass) || self.type == 'LoadBalancer'",
        message: Message::Expression(
            "'only allowed with visibility.type LoadBalancer (is ' + self.type + ')'",
        ),
        field_path: Some(".loadBalancerClass"),
    },
    CelRule {
        name: "ingress-required",
        at: &["spec"],
        rule: "self.visibility.type != 'Ingress' || has(self.ingress)",
        message: Message::Fixed("required when visibility.type is Ingress"),
        field_path: Some(".ingress"),
    },
    CelRule {
        name: "ingress-only-with-ingress",
        at: &["spec"],
        rule: "self.visibility.type == 'Ingress' || !has(self.ingress)",
        message: Message::Expression(
            "'only allowed with visibility.type Ingress (is ' + self.visibility.type + ')'",
        ),
        field_path: Some(".ingress"),
    },
    CelRule {
        name: "ingress-host-or-hosts",
        at: &["spec.ingress"],
        rule: "!has(self.host) || !has(self.hosts) || size(self.hosts) == 0",
        message: Message::Fixed("set either host or hosts, not both"),
        field_path: Some(".hosts"),
    },
    CelRule {
        name: "ingress-host-required",
        at: &["spec.ingress"],
        rule: "has(self.host) || (has(self.hosts) && size(self.hosts) > 0) || (has(self.defaultBackend) && self.defaultBackend)",
        message: Message::Fixed("set host or hosts (or defaultBackend: true for an Ingress without rules)"),
        field_path: Some(".host"),
    },
    CelRule {
        name: "ingress-paths-need-host",
        at: &["spec.ingress"],
        rule: "has(self.host) || !has(self.paths) || size(self.paths) == 0",
        message: Message::Fixed("only allowed with host (with hosts, each entry has its own paths)"),
        field_path: Some(".paths"),
    },
    CelRule {
        name: "ingress-tls-needs-host",
        at: &["spec.ingress"],
        rule: "has(self.host) || !has(self.tls)",
        message: Message::Fixed("only allowed with host (with hosts, each entry has its own tls)"),
        field_path: Some(".tls"),
    },
    CelRule {
        name: "ingress-hosts-unique",
        at: &["spec.ingress.hosts"],
        rule: "self.all(h, self.filter(g, g.host == h.host).size() == 1)",
        message: Message::Fixed("host names must be unique"),
        field_path: None,
    },
    CelRule {
        name: "default-backend-port-needs-default-backend",
        at: &["spec.ingress"],
        rule: "!has(self.defaultBackendPort) || (has(self.defaultBackend) && self.defaultBackend)",
        message: Message::Fixed("only allowed with defaultBackend: true"),
        field_path: Some(".defaultBackendPort"),
    },
    CelRule {
        name: "issuer-kind-needs-issuer",
        at: &["spec.ingress.tls", "spec.ingress.hosts[].tls"],
        rule: "!has(self.issuerKind) || has(self.issuer)",
        message: Message::Fixed("only allowed with issuer"),
        field_path: Some(".issuerKind"),
    },
    CelRule {
        name: "gateway-required",
        at: &["spec"],
        rule: "self.visibility.type != 'Gateway' || has(self.gateway)",
        message: Message::Fixed("required when visibility.type is Gateway"),
        field_path: Some(".gateway"),
    },
    CelRule {
        name: "gateway-only-with-gateway",
        at: &["spec"],
        rule: "self.visibility.type == 'Gateway' || !has(self.gateway)",
        message: Message::Expression(
            "'only allowed with visibility.type Gateway (is ' + self.visibility.type + ')'",
        ),
        field_path: Some(".gateway"),
    },
    CelRule {
        name: "endpoints-not-with-external-name",
        at: &["spec"],
        rule: "self.visibility.type != 'ExternalName' || !has(self.endpoints) || size(self.endpoints) == 0",
        message: Message::Fixed(
            "not used with visibility.type ExternalName (the Service aliases a DNS name)",
        ),
        field_path: Some(".endpoints"),
    },
    CelRule {
        name: "storage-names-unique",
        at: &["spec.storage"],
        rule: "self.all(v, self.filter(w, w.name == v.name).size() == 1)",
        message: Message::Fixed("storage names must be unique"),
        field_path: None,
    },
    CelRule {
        name: "config-one-source",
        at: &["spec.config[]"],
        rule: "(has(self.configMap) ? 1 : 0) + (has(self.secret) ? 1 : 0) + (has(self.emptyDir) ? 1 : 0) == 1",
        message: Message::Expression(
            "'exactly one of configMap, secret, emptyDir must be set (found ' + ((has(self.configMap) ? 1 : 0) + (has(self.secret) ? 1 : 0) + (has(self.emptyDir) ? 1 : 0) == 0 ? 'none' : ((has(self.configMap) ? ', configMap' : '') + (has(self.secret) ? ', secret' : '') + (has(self.emptyDir) ? ', emptyDir' : '')).substring(2)) + ')'",
        ),
        field_path: None,
    },
    CelRule {
        name: "config-items-need-source",
        at: &["spec.config[]"],
        rule: "!has(self.items) || size(self.items) == 0 || has(self.configMap) || has(self.secret)",
        message: Message::Fixed("only allowed with configMap or secret"),
        field_path: Some(".items"),
    },
    CelRule {
        name: "config-names-unique",
        at: &["spec.config"],
        rule: "self.all(c, self.filter(d, d.name == c.name).size() == 1)",
        message: Message::Fixed("config names must be unique"),
        field_path: None,
    },
    CelRule {
        name: "storage-class-or-glusterfs",
        at: &["spec.storage[]"],
        rule: "!has(self.glusterfs) || !has(self.storageClassName)",
        message: Message::Fixed("set either storageClassName or glusterfs, not both"),
        field_path: Some(".glusterfs"),
    },
    CelRule {
        name: "glusterfs-auth-user",
        at: &["spec.storage[].glusterfs"],
        rule: "!has(self.restauthenabled) || !self.restauthenabled || (has(self.restuser) && self.restuser != '')",
        message: Message::Fixed("required when restauthenabled is true"),
        field_path: Some(".restuser"),
    },
    CelRule {
        name: "glusterfs-auth-secret",
        at: &["spec.storage[].glusterfs"],
        rule: "!has(self.restauthenabled) || !self.restauthenabled || (has(self.secretName) && self.secretName != '')",
        message: Message::Fixed("required when restauthenabled is true"),
        field_path: Some(".secretName"),
    },
    CelRule {
        name: "glusterfs-gid-order",
        at: &["spec.storage[].glusterfs"],
        rule: "!has(self.gidMin) || !has(self.gidMax) || self.gidMin <= self.gidMax",
        message: Message::Fixed("must not be less than gidMin"),
        field_path: Some(".gidMax"),
    },
];

impl CelRule {
    /// The rule as an `x-kubernetes-validations` entry.
    pub fn to_json(&self) -> serde_json::Value {
        let mut entry = serde_json::Map::new();
        entry.insert("rule".into(), self.rule.into());
        match self.message {
            Message::Fixed(text) => entry.insert("message".into(), text.into()),
            Message::Expression(expr) => entry.insert("messageExpression".into(), expr.into()),
        };
        if let Some(path) = self.field_path {
            entry.insert("fieldPath".into(), path.into());
        }
        serde_json::Value::Object(entry)
    }
}

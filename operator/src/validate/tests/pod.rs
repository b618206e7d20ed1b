//! The workload kind and the pod settings: autoscaling, disruption budget, scheduling,
//! security contexts, configuration volumes, and what the cluster's version lacks.

use super::*;

#[test]
fn each_workload_kind_takes_its_own_fields() {
    valid(&format!(
        "{APP}  workload: StatefulSet\n  statefulSet: {{podManagementPolicy: Parallel}}\n"
    ));
    valid(&format!("{APP}  workload: DaemonSet\n"));
    assert_eq!(
        errors(&format!("{APP}  workload: DaemonSet\n  replicas: 2\n  strategy: Recreate\n  autoscaling: {{minReplicas: 1, maxReplicas: 2}}\n  statefulSet: {{}}\n")),
        [
            "spec.replicas: not allowed with workload DaemonSet (one pod runs on every eligible node)",
            "spec.strategy: only allowed with workload Deployment (is DaemonSet)",
            "spec.statefulSet: only allowed with workload StatefulSet",
            "spec.autoscaling: not allowed with workload DaemonSet (one pod runs on every eligible node)",
        ]
    );
    assert_eq!(
        errors(&format!("{APP}  workload: StatefulSet\n  headless: false\n")),
        ["spec.headless: must not be false with workload StatefulSet (its pods get their DNS names from the headless Service)"]
    );
    let external = "  visibility: {type: ExternalName, externalName: db.example.com}\n";
    assert_eq!(
        errors(&format!("{external}  workload: StatefulSet\n  disruption: {{minAvailable: 1}}\n  config: [{{name: t, mountPath: /t, emptyDir: {{}}}}]\n")),
        [
            "spec.workload: not used with visibility.type ExternalName (no workload is created)",
            "spec.disruption: not used with visibility.type ExternalName (no workload is created)",
            "spec.config: not used with visibility.type ExternalName (no workload is created)",
        ]
    );
}

#[test]
fn a_stateful_set_has_one_reclaim_and_delete_needs_1_27() {
    let volumes = "  workload: StatefulSet\n  storage: [{name: a, mountPath: /a, size: 1Gi, reclaim: Delete}, {name: b, mountPath: /b, size: 1Gi}]\n";
    assert_eq!(
        errors(&format!("{APP}{volumes}")),
        ["spec.storage: with workload StatefulSet every volume must have the same reclaim (one retention policy covers all per-pod claims)"]
    );
    let delete = "  workload: StatefulSet\n  storage: [{name: a, mountPath: /a, size: 1Gi, reclaim: Delete}]\n";
    valid(&format!("{APP}{delete}"));
    assert_eq!(
        errors_on(26, &format!("{APP}{delete}")),
        ["spec.storage[0].reclaim: Delete with workload StatefulSet needs Kubernetes >= 1.27 (persistentVolumeClaimRetentionPolicy; cluster is 1.26); use reclaim: Retain and delete the per-pod claims yourself"]
    );
}

#[test]
fn autoscaling_and_disruption_bounds() {
    valid(&format!("{APP}  autoscaling: {{minReplicas: 2, maxReplicas: 5, targetCPUUtilizationPercentage: 70}}\n  disruption: {{maxUnavailable: 25%}}\n"));
    assert_eq!(
        errors(&format!("{APP}  autoscaling: {{minReplicas: 0, maxReplicas: -1, targetMemoryUtilizationPercentage: 2000}}\n")),
        [
            "spec.autoscaling.minReplicas: 0 must be at least 1",
            "spec.autoscaling.maxReplicas: must not be less than minReplicas (-1 < 0)",
            "spec.autoscaling.targetMemoryUtilizationPercentage: 2000 is outside 1-1000",
        ]
    );
    assert_eq!(
        errors(&format!("{APP}  disruption: {{}}\n")),
        ["spec.disruption: exactly one of minAvailable, maxUnavailable must be set (found none)"]
    );
    assert_eq!(
        errors(&format!("{APP}  disruption: {{minAvailable: -1}}\n")),
        ["spec.disruption.minAvailable: -1 must not be negative"]
    );
    assert_eq!(
        errors(&format!("{APP}  disruption: {{maxUnavailable: \"150%\"}}\n")),
        ["spec.disruption.maxUnavailable: \"150%\" is not a number or a percentage from 0% to 100%"]
    );
}

#[test]
fn scheduling_is_checked_where_a_field_can_be_named() {
    valid(&format!("{APP}  scheduling: {{nodeSelector: {{disktype: ssd}}, tolerations: [{{operator: Exists}}], priorityClassName: high}}\n"));
    assert_eq!(
        errors(&format!("{APP}  scheduling:\n    nodeSelector: {{\"a b\": x}}\n    tolerations: [{{key: k, operator: Exists, value: v}}, {{operator: Equal, effect: NoSchedule, tolerationSeconds: 5}}, {{key: k, operator: Maybe, effect: Sometimes}}]\n    topologySpreadConstraints: [{{maxSkew: 0, topologyKey: \"\", whenUnsatisfiable: Never}}]\n    priorityClassName: Not_A_Name\n")),
        [
            "spec.scheduling.nodeSelector[a b]: \"a b\" is not a qualified name (an optional DNS-1123 subdomain prefix and '/', then at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)",
            "spec.scheduling.tolerations[0].value: must be empty with operator Exists",
            "spec.scheduling.tolerations[1].key: required with operator Equal (an empty key with Exists tolerates every taint)",
            "spec.scheduling.tolerations[1].tolerationSeconds: only allowed with effect NoExecute",
            "spec.scheduling.tolerations[2].operator: \"Maybe\" must be Exists or Equal",
            "spec.scheduling.tolerations[2].effect: \"Sometimes\" must be NoSchedule, PreferNoSchedule or NoExecute",
            "spec.scheduling.topologySpreadConstraints[0].maxSkew: 0 must be at least 1",
            "spec.scheduling.topologySpreadConstraints[0].topologyKey: required",
            "spec.scheduling.topologySpreadConstraints[0].whenUnsatisfiable: \"Never\" must be DoNotSchedule or ScheduleAnyway",
            "spec.scheduling.priorityClassName: \"Not_A_Name\" is not a DNS-1123 subdomain (at most 253 lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit)",
        ]
    );
}

#[test]
fn fields_newer_than_the_cluster_are_unsupported() {
    let spec = format!(
        "{APP}  scheduling:\n    topologySpreadConstraints: [{{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule, minDomains: 2, nodeTaintsPolicy: Honor, matchLabelKeys: [pod-template-hash]}}]\n    affinity: {{podAntiAffinity: {{requiredDuringSchedulingIgnoredDuringExecution: [{{topologyKey: zone, namespaceSelector: {{}}, matchLabelKeys: [a]}}]}}}}\n  securityContext: {{appArmorProfile: {{type: RuntimeDefault}}}}\n  podSecurityContext: {{supplementalGroupsPolicy: Strict}}\n"
    );
    valid(&spec);
    let on_old = errors_on(21, &spec);
    assert_eq!(
        on_old,
        [
            "spec.scheduling.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaceSelector: needs Kubernetes >= 1.22 (cluster is 1.21); remove it",
            "spec.scheduling.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys: needs Kubernetes >= 1.31 (cluster is 1.21); remove it",
            "spec.scheduling.topologySpreadConstraints[0].minDomains: needs Kubernetes >= 1.27 (cluster is 1.21); remove it",
            "spec.scheduling.topologySpreadConstraints[0].nodeTaintsPolicy: needs Kubernetes >= 1.26 (cluster is 1.21); remove it",
            "spec.scheduling.topologySpreadConstraints[0].matchLabelKeys: needs Kubernetes >= 1.27 (cluster is 1.21); remove it",
            "spec.securityContext.appArmorProfile: needs Kubernetes >= 1.30 (cluster is 1.21); remove it",
            "spec.podSecurityContext.supplementalGroupsPolicy: needs Kubernetes >= 1.33 (cluster is 1.21); remove it",
        ]
    );
    let exposure = exposure_from(&format!("{HEADER}spec:\n{spec}"));
    let unsupported =
        validate(&exposure, &ClusterInfo::new(KubeVersion::new(1, 21))).expect_err("unsupported");
    assert!(unsupported.iter().all(|e| e.unsupported_by_cluster));
}

#[test]
fn config_volumes_share_names_and_paths_with_storage() {
    valid(&format!("{APP}  config: [{{name: conf, mountPath: /etc/app, configMap: app, items: [{{key: a.conf, path: conf/a.conf, mode: 292}}]}}, {{name: tmp, mountPath: /tmp, emptyDir: {{sizeLimit: 64Mi}}}}]\n"));
    assert_eq!(
        errors(&format!("{APP}  storage: [{{name: data, mountPath: /data, size: 1Gi}}]\n  config:\n    - {{name: data, mountPath: /data, configMap: Bad_Name}}\n    - {{name: x, mountPath: relative, emptyDir: {{sizeLimit: 0}}, items: [{{key: \"\", path: ../up}}]}}\n    - {{name: x, mountPath: /x}}\n")),
        [
            "spec.config[0].name: \"data\" is already used by spec.storage[0] (config and storage share the pod's volume names)",
            "spec.config[0].mountPath: \"/data\" is already used by spec.storage[0]",
            "spec.config[0].configMap: \"Bad_Name\" is not a DNS-1123 subdomain (at most 253 lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit)",
            "spec.config[1].mountPath: \"relative\" must be an absolute path",
            "spec.config[1].items: only allowed with configMap or secret",
            "spec.config[1].items[0].key: required",
            "spec.config[1].items[0].path: \"../up\" must be a relative path without '..' (a file inside mountPath)",
            "spec.config[1].emptyDir.sizeLimit: \"0\" must be greater than zero",
            "spec.config[2].name: config names must be unique: \"x\" is already used by spec.config[1]",
            "spec.config[2]: exactly one of configMap, secret, emptyDir must be set (found none)",
        ]
    );
}

#[test]
fn limits_keep_their_order_per_resource() {
    valid(&format!("{APP}  quota: {{limits: {{min: {{cpu: 50m}}, defaultRequest: {{cpu: 100m}}, default: {{cpu: 500m}}, max: {{cpu: \"2\"}}}}}}\n"));
    assert_eq!(
        errors(&format!("{APP}  quota: {{limits: {{defaultRequest: {{cpu: \"1\", memory: lots}}, default: {{cpu: 500m}}, max: {{cpu: 250m}}}}}}\n")),
        [
            "spec.quota.limits.defaultRequest[memory]: \"lots\" is not a quantity (e.g. 1Gi, 500Mi, 250m, 2)",
            "spec.quota.limits.defaultRequest[cpu]: 1 must not exceed default 500m",
            "spec.quota.limits.defaultRequest[cpu]: 1 must not exceed max 250m",
            "spec.quota.limits.default[cpu]: 500m must not exceed max 250m",
        ]
    );
}

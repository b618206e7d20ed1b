//! The workload kind and the pod settings beyond the container: autoscaling, disruption
//! budget, scheduling, security contexts and configuration volumes. Kubernetes' own types
//! (affinity, tolerations, security contexts) are passed through: the API server checks them
//! in full, this checks what it can name by field and what the cluster's version lacks.

use exposure_crd::cel::DAEMON_SET_NO_REPLICAS;
use exposure_crd::{DisruptionSpec, VolumeReclaim, WorkloadKind};
use k8s_openapi::api::core::v1::{PodAffinityTerm, Toleration};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{
    is_dns1123_label, is_dns1123_subdomain, is_label_value, is_qualified_name, Checker, Seen,
    DNS1123_LABEL, DNS1123_SUBDOMAIN, QUALIFIED_NAME,
};
use crate::cluster::{Feature, KubeVersion};

/// Fields of Kubernetes' pod types newer than the oldest supported cluster: where they are on
/// by default.
const MIN_DOMAINS_SINCE: KubeVersion = KubeVersion::new(1, 27);
const NODE_INCLUSION_POLICY_SINCE: KubeVersion = KubeVersion::new(1, 26);
const SPREAD_MATCH_LABEL_KEYS_SINCE: KubeVersion = KubeVersion::new(1, 27);
const AFFINITY_NAMESPACE_SELECTOR_SINCE: KubeVersion = KubeVersion::new(1, 22);
const AFFINITY_MATCH_LABEL_KEYS_SINCE: KubeVersion = KubeVersion::new(1, 31);
const APP_ARMOR_PROFILE_SINCE: KubeVersion = KubeVersion::new(1, 30);
const SE_LINUX_CHANGE_POLICY_SINCE: KubeVersion = KubeVersion::new(1, 33);
const SUPPLEMENTAL_GROUPS_POLICY_SINCE: KubeVersion = KubeVersion::new(1, 33);

impl Checker<'_> {
    /// `workload` through `config`, in spec order.
    pub(super) fn pod_settings(&mut self) {
        let spec = self.spec;
        let kind = spec.workload.unwrap_or_default();
        self.workload_field("spec.workload", spec.workload.is_some());
        if spec.stateful_set.is_some() && kind != WorkloadKind::StatefulSet {
            self.error("spec.statefulSet", "only allowed with workload StatefulSet");
        }
        if self.workload_field("spec.autoscaling", spec.autoscaling.is_some()) {
            self.autoscaling(kind);
        }
        if let (true, Some(disruption)) = (
            self.workload_field("spec.disruption", spec.disruption.is_some()),
            &spec.disruption,
        ) {
            self.disruption(disruption);
        }
        if self.workload_field("spec.scheduling", spec.scheduling.is_some()) {
            self.scheduling();
        }
        if self.workload_field("spec.securityContext", spec.security_context.is_some()) {
            self.security_context();
        }
        if self.workload_field(
            "spec.podSecurityContext",
            spec.pod_security_context.is_some(),
        ) {
            self.pod_security_context();
        }
        if self.workload_field("spec.config", !spec.config.is_empty()) {
            self.config();
        }
    }

    /// `replicas` and `strategy` for the workload kind (called where those fields are checked).
    pub(super) fn replicas_for_kind(&mut self) {
        let kind = self.spec.workload.unwrap_or_default();
        if self.spec.replicas.is_some() && kind == WorkloadKind::DaemonSet {
            self.error("spec.replicas", DAEMON_SET_NO_REPLICAS);
        }
    }

    pub(super) fn strategy_for_kind(&mut self) {
        let kind = self.spec.workload.unwrap_or_default();
        if self.spec.strategy.is_some() && kind != WorkloadKind::Deployment {
            self.error(
                "spec.strategy",
                format!(
                    "only allowed with workload Deployment (is {})",
                    kind.as_str()
                ),
            );
        }
    }

    /// A StatefulSet's volumes: one reclaim for all (one retention policy covers every
    /// per-pod claim); `Delete` needs the retention policy (Kubernetes 1.27).
    pub(super) fn stateful_set_storage(&mut self) {
        let spec = self.spec;
        if spec.workload != Some(WorkloadKind::StatefulSet) || spec.storage.is_empty() {
            return;
        }
        let first = spec.storage[0].reclaim;
        if spec.storage.iter().any(|v| v.reclaim != first) {
            self.error(
                "spec.storage",
                "with workload StatefulSet every volume must have the same reclaim (one retention policy covers all per-pod claims)",
            );
        }
        let cluster = self.cluster.version;
        let retention = Feature::StatefulSetClaimRetention;
        if first == VolumeReclaim::Delete && !self.cluster.supports(retention) {
            let since = retention.since().unwrap_or(cluster);
            self.unsupported(
                "spec.storage[0].reclaim",
                format!(
                    "Delete with workload StatefulSet needs Kubernetes >= {since} \
                     (persistentVolumeClaimRetentionPolicy; cluster is {cluster}); use reclaim: Retain \
                     and delete the per-pod claims yourself"
                ),
            );
        }
    }

    fn autoscaling(&mut self, kind: WorkloadKind) {
        let Some(scaling) = &self.spec.autoscaling else {
            return;
        };
        if kind == WorkloadKind::DaemonSet {
            self.error("spec.autoscaling", DAEMON_SET_NO_REPLICAS);
            return;
        }
        self.at_least(
            "spec.autoscaling.minReplicas",
            scaling.min_replicas.into(),
            1,
        );
        if scaling.max_replicas < scaling.min_replicas {
            self.error(
                "spec.autoscaling.maxReplicas",
                format!(
                    "must not be less than minReplicas ({} < {})",
                    scaling.max_replicas, scaling.min_replicas
                ),
            );
        }
        for (field, target) in [
            (
                "targetCPUUtilizationPercentage",
                scaling.target_cpu_utilization_percentage,
            ),
            (
                "targetMemoryUtilizationPercentage",
                scaling.target_memory_utilization_percentage,
            ),
        ] {
            if let Some(target) = target {
                self.range(&format!("spec.autoscaling.{field}"), target.into(), 1, 1000);
            }
        }
    }

    fn disruption(&mut self, disruption: &DisruptionSpec) {
        self.exactly_one(
            "spec.disruption",
            &[
                ("minAvailable", disruption.min_available.is_some()),
                ("maxUnavailable", disruption.max_unavailable.is_some()),
            ],
        );
        for (field, value) in [
            ("minAvailable", &disruption.min_available),
            ("maxUnavailable", &disruption.max_unavailable),
        ] {
            let field = format!("spec.disruption.{field}");
            match value {
                Some(IntOrString::Int(n)) if *n < 0 => {
                    self.error(field, format!("{n} must not be negative"));
                }
                Some(IntOrString::String(text)) if percent(text).is_none() => {
                    self.error(
                        field,
                        format!("{text:?} is not a number or a percentage from 0% to 100%"),
                    );
                }
                _ => {}
            }
        }
    }

    fn scheduling(&mut self) {
        let Some(scheduling) = &self.spec.scheduling else {
            return;
        };
        for (key, value) in &scheduling.node_selector {
            let field = format!("spec.scheduling.nodeSelector[{key}]");
            if !is_qualified_name(key) {
                self.error(field, format!("{key:?} is not {QUALIFIED_NAME}"));
            } else if !is_label_value(value) {
                self.error(field, format!("{value:?} is not a label value"));
            }
        }
        for (i, toleration) in scheduling.tolerations.iter().enumerate() {
            self.toleration(&format!("spec.scheduling.tolerations[{i}]"), toleration);
        }
        if let Some(affinity) = &scheduling.affinity {
            let terms = [
                affinity.pod_affinity.as_ref().map(|a| {
                    (
                        "podAffinity",
                        &a.required_during_scheduling_ignored_during_execution,
                        &a.preferred_during_scheduling_ignored_during_execution,
                    )
                }),
                affinity.pod_anti_affinity.as_ref().map(|a| {
                    (
                        "podAntiAffinity",
                        &a.required_during_scheduling_ignored_during_execution,
                        &a.preferred_during_scheduling_ignored_during_execution,
                    )
                }),
            ];
            for (which, required, preferred) in terms.into_iter().flatten() {
                let base = format!("spec.scheduling.affinity.{which}");
                for (i, term) in required.iter().flatten().enumerate() {
                    self.affinity_term(
                        &format!("{base}.requiredDuringSchedulingIgnoredDuringExecution[{i}]"),
                        term,
                    );
                }
                for (i, weighted) in preferred.iter().flatten().enumerate() {
                    self.affinity_term(
                        &format!(
                            "{base}.preferredDuringSchedulingIgnoredDuringExecution[{i}].podAffinityTerm"
                        ),
                        &weighted.pod_affinity_term,
                    );
                }
            }
        }
        for (i, spread) in scheduling.topology_spread_constraints.iter().enumerate() {
            let field = format!("spec.scheduling.topologySpreadConstraints[{i}]");
            self.at_least(&format!("{field}.maxSkew"), spread.max_skew.into(), 1);
            if spread.topology_key.is_empty() {
                self.error(format!("{field}.topologyKey"), "required");
            }
            if !["DoNotSchedule", "ScheduleAnyway"].contains(&spread.when_unsatisfiable.as_str()) {
                self.error(
                    format!("{field}.whenUnsatisfiable"),
                    format!(
                        "{:?} must be DoNotSchedule or ScheduleAnyway",
                        spread.when_unsatisfiable
                    ),
                );
            }
            self.newer(
                &format!("{field}.minDomains"),
                spread.min_domains.is_some(),
                MIN_DOMAINS_SINCE,
            );
            self.newer(
                &format!("{field}.nodeAffinityPolicy"),
                spread.node_affinity_policy.is_some(),
                NODE_INCLUSION_POLICY_SINCE,
            );
            self.newer(
                &format!("{field}.nodeTaintsPolicy"),
                spread.node_taints_policy.is_some(),
                NODE_INCLUSION_POLICY_SINCE,
            );
            self.newer(
                &format!("{field}.matchLabelKeys"),
                spread.match_label_keys.is_some(),
                SPREAD_MATCH_LABEL_KEYS_SINCE,
            );
        }
        if let Some(class) = &scheduling.priority_class_name {
            self.name_check(
                "spec.scheduling.priorityClassName",
                class,
                is_dns1123_subdomain,
                DNS1123_SUBDOMAIN,
            );
        }
    }

    fn toleration(&mut self, field: &str, toleration: &Toleration) {
        let operator = toleration.operator.as_deref().unwrap_or("Equal");
        match operator {
            "Exists" if toleration.value.as_deref().is_some_and(|v| !v.is_empty()) => {
                self.error(
                    format!("{field}.value"),
                    "must be empty with operator Exists",
                );
            }
            "Exists" | "Equal" => {}
            other => self.error(
                format!("{field}.operator"),
                format!("{other:?} must be Exists or Equal"),
            ),
        }
        if operator == "Equal" && toleration.key.as_deref().unwrap_or_default().is_empty() {
            self.error(
                format!("{field}.key"),
                "required with operator Equal (an empty key with Exists tolerates every taint)",
            );
        }
        let effect = toleration.effect.as_deref().unwrap_or_default();
        if !["", "NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
            self.error(
                format!("{field}.effect"),
                format!("{effect:?} must be NoSchedule, PreferNoSchedule or NoExecute"),
            );
        }
        if toleration.toleration_seconds.is_some() && effect != "NoExecute" {
            self.error(
                format!("{field}.tolerationSeconds"),
                "only allowed with effect NoExecute",
            );
        }
    }

    fn affinity_term(&mut self, field: &str, term: &PodAffinityTerm) {
        if term.topology_key.is_empty() {
            self.error(format!("{field}.topologyKey"), "required");
        }
        self.newer(
            &format!("{field}.namespaceSelector"),
            term.namespace_selector.is_some(),
            AFFINITY_NAMESPACE_SELECTOR_SINCE,
        );
        self.newer(
            &format!("{field}.matchLabelKeys"),
            term.match_label_keys.is_some(),
            AFFINITY_MATCH_LABEL_KEYS_SINCE,
        );
        self.newer(
            &format!("{field}.mismatchLabelKeys"),
            term.mismatch_label_keys.is_some(),
            AFFINITY_MATCH_LABEL_KEYS_SINCE,
        );
    }

    fn security_context(&mut self) {
        let Some(context) = &self.spec.security_context else {
            return;
        };
        self.newer(
            "spec.securityContext.appArmorProfile",
            context.app_armor_profile.is_some(),
            APP_ARMOR_PROFILE_SINCE,
        );
        if context.privileged == Some(true) && context.allow_privilege_escalation == Some(false) {
            self.error(
                "spec.securityContext.allowPrivilegeEscalation",
                "cannot be false with privileged: true",
            );
        }
    }

    fn pod_security_context(&mut self) {
        let Some(context) = &self.spec.pod_security_context else {
            return;
        };
        self.newer(
            "spec.podSecurityContext.appArmorProfile",
            context.app_armor_profile.is_some(),
            APP_ARMOR_PROFILE_SINCE,
        );
        self.newer(
            "spec.podSecurityContext.seLinuxChangePolicy",
            context.se_linux_change_policy.is_some(),
            SE_LINUX_CHANGE_POLICY_SINCE,
        );
        self.newer(
            "spec.podSecurityContext.supplementalGroupsPolicy",
            context.supplemental_groups_policy.is_some(),
            SUPPLEMENTAL_GROUPS_POLICY_SINCE,
        );
    }

    fn config(&mut self) {
        let spec = self.spec;
        let (mut names, mut paths) = (Seen::new(), Seen::new());
        // Pod volume names and mount paths are shared with `storage`.
        for (i, volume) in spec.storage.iter().enumerate() {
            names.previous(volume.name.as_str(), i);
            paths.previous(volume.mount_path.as_str(), i);
        }
        let storage_count = spec.storage.len();
        let used_by = |first: usize| {
            if first < storage_count {
                format!("spec.storage[{first}]")
            } else {
                format!("spec.config[{}]", first - storage_count)
            }
        };
        for (i, entry) in spec.config.iter().enumerate() {
            let field = format!("spec.config[{i}]");
            self.name_check(
                &format!("{field}.name"),
                &entry.name,
                is_dns1123_label,
                DNS1123_LABEL,
            );
            if let Some(first) = names.previous(entry.name.as_str(), storage_count + i) {
                let message = if first < storage_count {
                    format!(
                        "{:?} is already used by {} (config and storage share the pod's volume names)",
                        entry.name,
                        used_by(first)
                    )
                } else {
                    format!(
                        "config names must be unique: {:?} is already used by {}",
                        entry.name,
                        used_by(first)
                    )
                };
                self.error(format!("{field}.name"), message);
            }
            if !entry.mount_path.starts_with('/') {
                self.error(
                    format!("{field}.mountPath"),
                    format!("{:?} must be an absolute path", entry.mount_path),
                );
            } else if let Some(first) = paths.previous(entry.mount_path.as_str(), storage_count + i)
            {
                self.error(
                    format!("{field}.mountPath"),
                    format!(
                        "{:?} is already used by {}",
                        entry.mount_path,
                        used_by(first)
                    ),
                );
            }
            self.exactly_one(
                &field,
                &[
                    ("configMap", entry.config_map.is_some()),
                    ("secret", entry.secret.is_some()),
                    ("emptyDir", entry.empty_dir.is_some()),
                ],
            );
            for (source, name) in [("configMap", &entry.config_map), ("secret", &entry.secret)] {
                if let Some(name) = name {
                    self.name_check(
                        &format!("{field}.{source}"),
                        name,
                        is_dns1123_subdomain,
                        DNS1123_SUBDOMAIN,
                    );
                }
            }
            if !entry.items.is_empty() && entry.config_map.is_none() && entry.secret.is_none() {
                self.error(
                    format!("{field}.items"),
                    "only allowed with configMap or secret",
                );
            }
            for (j, item) in entry.items.iter().enumerate() {
                let item_field = format!("{field}.items[{j}]");
                if item.key.is_empty() {
                    self.error(format!("{item_field}.key"), "required");
                }
                if item.path.is_empty()
                    || item.path.starts_with('/')
                    || item.path.split('/').any(|part| part == "..")
                {
                    self.error(
                        format!("{item_field}.path"),
                        format!(
                            "{:?} must be a relative path without '..' (a file inside mountPath)",
                            item.path
                        ),
                    );
                }
                if let Some(mode) = item.mode {
                    self.range(&format!("{item_field}.mode"), mode.into(), 0, 0o777);
                }
            }
            if let Some(limit) = entry.empty_dir.as_ref().and_then(|d| d.size_limit.as_ref()) {
                self.quantity(&format!("{field}.emptyDir.sizeLimit"), limit, true);
            }
        }
    }

    /// A field the cluster's version does not have yet.
    fn newer(&mut self, field: &str, present: bool, since: KubeVersion) {
        let cluster = self.cluster.version;
        if present && cluster < since {
            self.unsupported(
                field,
                format!("needs Kubernetes >= {since} (cluster is {cluster}); remove it"),
            );
        }
    }
}

/// `"25%"` → 25; none unless a whole percentage from 0 to 100.
fn percent(text: &str) -> Option<u32> {
    let number = text.strip_suffix('%')?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse().ok().filter(|n| *n <= 100)
}

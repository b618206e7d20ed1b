//! The workload's view: the Available verdict and whether its rollout is stuck, from the
//! Deployment, StatefulSet or DaemonSet as observed (one shape for the three), its pods, and
//! what stops it from creating pods (a full ResourceQuota, Pod Security, missing configuration).

use exposure_crd::WorkloadKind;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};

use super::{count, pods, reason, Observed, Stall, Verdict};
use crate::build::ConfigSource;

/// The Available verdict and, for a Deployment past its progress deadline, the stall.
pub(super) struct Workload {
    pub available: Verdict,
    pub stall: Option<Stall>,
}

/// The counts and conditions status reads, whatever the kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Counts {
    pub desired: i32,
    /// Pods that exist (all revisions).
    pub current: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    /// The controller has seen the latest spec.
    pub caught_up: bool,
    /// StatefulSet: the update revision is not yet the current one.
    pub revision_pending: bool,
    /// Why the controller cannot create pods (the Deployment's ReplicaFailure condition, or the
    /// newest FailedCreate event of a StatefulSet or DaemonSet).
    pub create_failure: Option<String>,
    /// Deployment: Progressing False with ProgressDeadlineExceeded (its message).
    pub deadline_exceeded: Option<String>,
    /// Deployment: its Available condition is False.
    pub unavailable_condition: bool,
}

/// The workload of `kind` as observed, if it exists.
pub(super) fn counts(kind: WorkloadKind, observed: &Observed) -> Option<Counts> {
    match kind {
        WorkloadKind::Deployment => observed.deployment.as_ref().map(deployment_counts),
        WorkloadKind::StatefulSet => observed
            .stateful_set
            .as_ref()
            .map(|s| stateful_set_counts(s, observed.workload_failure.clone())),
        WorkloadKind::DaemonSet => observed
            .daemon_set
            .as_ref()
            .map(|d| daemon_set_counts(d, observed.workload_failure.clone())),
    }
}

fn caught_up(generation: Option<i64>, observed_generation: Option<i64>) -> bool {
    // Counts about an older generation say nothing about the spec just applied.
    observed_generation.unwrap_or(0) >= generation.unwrap_or(0)
}

fn deployment_counts(deployment: &Deployment) -> Counts {
    let status = deployment.status.clone().unwrap_or_default();
    let conditions = status.conditions.clone().unwrap_or_default();
    let condition = |type_: &str, value: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == type_ && c.status == value)
    };
    let caught_up = caught_up(deployment.metadata.generation, status.observed_generation);
    Counts {
        desired: deployment
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1),
        current: status.replicas.unwrap_or(0),
        updated: status.updated_replicas.unwrap_or(0),
        ready: status.ready_replicas.unwrap_or(0),
        available: status.available_replicas.unwrap_or(0),
        caught_up,
        revision_pending: false,
        create_failure: condition("ReplicaFailure", "True").map(|c| {
            c.message
                .clone()
                .unwrap_or_else(|| "cannot create pods".into())
        }),
        deadline_exceeded: condition("Progressing", "False")
            .filter(|c| {
                caught_up && c.reason.as_deref() == Some(reason::PROGRESS_DEADLINE_EXCEEDED)
            })
            .map(|c| {
                c.message
                    .clone()
                    .unwrap_or_else(|| "progress deadline exceeded".into())
            }),
        unavailable_condition: condition("Available", "False").is_some(),
    }
}

fn stateful_set_counts(set: &StatefulSet, create_failure: Option<String>) -> Counts {
    let status = set.status.clone().unwrap_or_default();
    let ready = status.ready_replicas.unwrap_or(0);
    Counts {
        desired: set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        current: status.replicas,
        updated: status.updated_replicas.unwrap_or(0),
        ready,
        // Before 1.22 a StatefulSet reports no availableReplicas: ready is available.
        available: status.available_replicas.unwrap_or(ready),
        caught_up: caught_up(set.metadata.generation, status.observed_generation),
        revision_pending: status.update_revision.is_some()
            && status.current_revision != status.update_revision,
        create_failure,
        deadline_exceeded: None,
        unavailable_condition: false,
    }
}

fn daemon_set_counts(set: &DaemonSet, create_failure: Option<String>) -> Counts {
    let status = set.status.clone().unwrap_or_default();
    Counts {
        desired: status.desired_number_scheduled,
        current: status.current_number_scheduled,
        updated: status.updated_number_scheduled.unwrap_or(0),
        ready: status.number_ready,
        available: status.number_available.unwrap_or(0),
        caught_up: caught_up(set.metadata.generation, status.observed_generation),
        revision_pending: false,
        create_failure,
        deadline_exceeded: None,
        unavailable_condition: false,
    }
}

pub(super) fn assess(name: &str, kind: WorkloadKind, observed: &Observed) -> Workload {
    let what = format!("{} {name}", kind.as_str());
    let Some(counts) = counts(kind, observed) else {
        return Workload {
            available: Verdict::fails(missing_reason(kind), format!("{what} not found"))
                .converging(
                    reason::CREATING,
                    format!("waiting for {what} to be created"),
                ),
            stall: None,
        };
    };
    let Counts {
        desired,
        ready,
        available,
        ..
    } = counts;
    let pods = pods::report(&observed.pods);
    let pods_line = format!("{ready}/{desired} ready: {}", pods.details);
    let stall = counts.deadline_exceeded.as_ref().map(|message| Stall {
        reason: reason::PROGRESS_DEADLINE_EXCEEDED.to_owned(),
        message: format!("{message}; {pods_line}"),
    });
    let missing_config = missing_config(observed);

    let verdict = if desired == 0 && kind == WorkloadKind::DaemonSet {
        Verdict::fails(
            reason::REPLICAS_UNAVAILABLE,
            format!("{what}: no node to run on (see spec.scheduling)"),
        )
    } else if desired == 0 {
        Verdict::holds(reason::SCALED_TO_ZERO, "scaled to 0")
    } else if available >= desired && !counts.unavailable_condition {
        Verdict::holds(
            reason::REPLICAS_AVAILABLE,
            format!("{available}/{desired} replicas available"),
        )
    } else {
        // Kubernetes keeps retrying (a Deployment until its progress deadline): still
        // converging (kstatus InProgress, not Current).
        let retry_note = match kind {
            WorkloadKind::Deployment => {
                "Kubernetes retries until the Deployment's progress deadline"
            }
            _ => "Kubernetes retries",
        };
        let retrying = |message: &str| format!("{message}; {retry_note}");
        if let Some(failure_reason) = &pods.failure_reason {
            Verdict::fails(failure_reason, pods_line.clone())
                .converging(reason::WAITING_FOR_PODS, retrying(&pods_line))
        } else if let Some(failure) = &counts.create_failure {
            // The controller cannot create pods: a full quota, Pod Security, a webhook.
            let (reason, message) = match quota_detail(failure) {
                Some(quota) => (
                    reason::QUOTA_EXCEEDED,
                    format!("{}/{desired} pods: {quota}", counts.current),
                ),
                None => (reason::REPLICA_FAILURE, format!("{pods_line}; {failure}")),
            };
            Verdict::fails(reason, message.clone())
                .converging(reason::WAITING_FOR_PODS, retrying(&message))
        } else if let Some(source) = missing_config.first() {
            let message = format!(
                "{pods_line}; {} {} not found (spec.config): pods mounting it cannot start",
                source.kind(),
                source.name()
            );
            Verdict::fails(reason::CONFIG_MISSING, message.clone())
                .converging(reason::WAITING_FOR_PODS, message)
        } else {
            Verdict::fails(reason::REPLICAS_UNAVAILABLE, pods_line.clone())
                .converging(reason::WAITING_FOR_PODS, pods_line)
        }
    };
    let available = match rollout_progress(&what, &counts) {
        Some(progress) => verdict.converging(reason::ROLLOUT_IN_PROGRESS, progress),
        None => verdict,
    };
    Workload { available, stall }
}

fn missing_reason(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Deployment => reason::DEPLOYMENT_MISSING,
        WorkloadKind::StatefulSet | WorkloadKind::DaemonSet => reason::WORKLOAD_MISSING,
    }
}

/// Why the rollout is not finished, if it is not.
fn rollout_progress(what: &str, counts: &Counts) -> Option<String> {
    let Counts {
        desired,
        current,
        updated,
        caught_up,
        revision_pending,
        ..
    } = *counts;
    if !caught_up {
        Some(format!(
            "{what}: waiting for the controller to observe the new spec"
        ))
    } else if updated < desired {
        Some(format!(
            "{what} rollout: {updated}/{desired} replicas updated"
        ))
    } else if current > updated {
        Some(format!(
            "{what} rollout: {} still running",
            count(current - updated, "old replica")
        ))
    } else if revision_pending {
        Some(format!("{what} rollout: finishing the update revision"))
    } else {
        None
    }
}

/// The referenced ConfigMaps and Secrets that do not exist.
fn missing_config(observed: &Observed) -> Vec<&ConfigSource> {
    observed.config.missing()
}

/// `exceeded quota: web, requested: pods=1, used: pods=3, limited: pods=3` (the API server's
/// words) as `exceeded quota web: requested pods=1, used pods=3, limited pods=3`.
pub(super) fn quota_detail(failure: &str) -> Option<String> {
    let at = failure.find("exceeded quota: ")?;
    let rest = &failure[at + "exceeded quota: ".len()..];
    let mut parts = rest.split(", ");
    let quota = parts.next()?.trim();
    let mut detail = format!("exceeded quota {quota}");
    let figures: Vec<String> = parts
        .filter_map(|part| part.split_once(": "))
        .map(|(what, value)| format!("{what} {}", value.trim()))
        .collect();
    if !figures.is_empty() {
        detail.push_str(": ");
        detail.push_str(&figures.join(", "));
    }
    Some(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_refusals_read_as_a_person_would_say_them() {
        let message = r#"pods "web-3" is forbidden: exceeded quota: web, requested: pods=1, used: pods=3, limited: pods=3"#;
        assert_eq!(
            quota_detail(message).as_deref(),
            Some("exceeded quota web: requested pods=1, used pods=3, limited pods=3")
        );
        assert_eq!(
            quota_detail("pods \"x\" is forbidden: violates PodSecurity"),
            None
        );
    }
}

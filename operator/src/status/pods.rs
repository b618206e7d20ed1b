//! Why pods are not ready, in a line a person can act on:
//! `pod tomcat-7d9-x2 ImagePullBackOff (image tomcat:missing)`.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

/// Container waiting reasons that will not clear without a change (image, config, crash);
/// kstatus treats them as possibly transient, so they do not make the Exposure Stalled.
const FAILING_WAITING_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Waiting reasons whose useful detail is the image, not the runtime's long error text.
const IMAGE_REASONS: &[&str] = &["ImagePullBackOff", "ErrImagePull", "InvalidImageName"];

const UNSCHEDULABLE: &str = "Unschedulable";

/// Pods named in a message at most; the rest are counted.
const MAX_LISTED: usize = 3;

/// The not-ready pods, summed up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PodsReport {
    /// The reason of the first failing pod (by name), if any pod fails.
    pub failure_reason: Option<String>,
    /// `pod a ImagePullBackOff (image x), pod b not ready`, or `waiting for pods`.
    pub details: String,
}

/// Failing pods when any fail (they explain the rest), else the pods still starting.
pub(super) fn report(pods: &[Pod]) -> PodsReport {
    let mut pods: Vec<&Pod> = pods.iter().collect();
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let problems: Vec<Problem> = pods.into_iter().filter_map(problem).collect();
    let failing: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.failure_reason.is_some())
        .collect();
    let listed = if failing.is_empty() {
        problems.iter().collect()
    } else {
        failing
    };
    let mut details = listed
        .iter()
        .take(MAX_LISTED)
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if listed.len() > MAX_LISTED {
        details.push_str(&format!(" and {} more", listed.len() - MAX_LISTED));
    }
    if details.is_empty() {
        details = "waiting for pods".to_owned();
    }
    PodsReport {
        failure_reason: listed.first().and_then(|p| p.failure_reason.clone()),
        details,
    }
}

/// Why one pod is not ready.
struct Problem {
    /// Set when the pod will not become ready by waiting.
    failure_reason: Option<String>,
    text: String,
}

/// None for ready pods and for pods on their way out (terminating, finished, evicted).
fn problem(pod: &Pod) -> Option<Problem> {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    let condition = |type_: &str| {
        status
            .into_iter()
            .flat_map(|s| s.conditions.iter().flatten())
            .find(|c| c.type_ == type_)
    };
    if pod.metadata.deletion_timestamp.is_some()
        || matches!(phase, "Succeeded" | "Failed")
        || condition("Ready").is_some_and(|c| c.status == "True")
    {
        return None;
    }
    let containers: Vec<&ContainerStatus> = status
        .into_iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .collect();
    let failing = containers.iter().find_map(|c| {
        waiting_reason(c)
            .filter(|r| FAILING_WAITING_REASONS.contains(r))
            .map(|r| (c, r))
    });
    if let Some((container, reason)) = failing {
        return Some(Problem {
            failure_reason: Some(reason.to_owned()),
            text: format!("pod {name} {reason}{}", failure_detail(container, reason)),
        });
    }
    if let Some(unschedulable) = condition("PodScheduled")
        .filter(|c| c.status == "False" && c.reason.as_deref() == Some(UNSCHEDULABLE))
    {
        let detail = unschedulable
            .message
            .as_deref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        return Some(Problem {
            failure_reason: Some(UNSCHEDULABLE.to_owned()),
            text: format!("pod {name} {UNSCHEDULABLE}{detail}"),
        });
    }
    let text = match containers.iter().find_map(|c| waiting_reason(c)) {
        Some(reason) => format!("pod {name} {reason}"),
        None if phase == "Pending" => format!("pod {name} Pending"),
        None => format!("pod {name} not ready"),
    };
    Some(Problem {
        failure_reason: None,
        text,
    })
}

fn waiting_reason(container: &ContainerStatus) -> Option<&str> {
    container
        .state
        .as_ref()
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.as_deref())
}

/// ` (image tomcat:missing)`, ` (5 restarts, exit code 1)` or the runtime's message.
fn failure_detail(container: &ContainerStatus, reason: &str) -> String {
    if IMAGE_REASONS.contains(&reason) {
        return if container.image.is_empty() {
            String::new()
        } else {
            format!(" (image {})", container.image)
        };
    }
    if reason == "CrashLoopBackOff" {
        let restarts = super::count(container.restart_count, "restart");
        let last_exit = container
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .map(|t| match t.reason.as_deref().filter(|r| *r != "Error") {
                Some(why) => format!(", {why}, exit code {}", t.exit_code),
                None => format!(", exit code {}", t.exit_code),
            });
        return format!(" ({restarts}{})", last_exit.unwrap_or_default());
    }
    let message = container
        .state
        .as_ref()
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.message.as_deref());
    message.map(|m| format!(" ({m})")).unwrap_or_default()
}

//! The reconcile error, and which API refusals are blockers rather than errors.

use kube::core::Status;

use crate::blocker::BlockReason;
use crate::decide::SerialiseError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("the object has no {0}")]
    MissingField(&'static str),
    #[error(transparent)]
    Serialise(#[from] SerialiseError),
    #[error("not writing: this replica no longer holds the leader lease")]
    Fenced,
    #[error("{0} is still being deleted; retrying")]
    StillDeleting(String),
    #[error("{0}; retrying")]
    Waiting(String),
    #[error("the cached Exposure does not read back; retrying")]
    Undecodable,
}

impl Error {
    /// Label value of `exposure_reconcile_errors_total{error=...}`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Kube(kube::Error::Api(e)) if e.code == 403 => "forbidden",
            Error::Kube(kube::Error::Api(e)) if e.code == 409 => "conflict",
            Error::Kube(kube::Error::Api(_)) => "api",
            Error::Kube(_) => "transport",
            Error::MissingField(_) => "invalid_object",
            Error::Serialise(_) => "serialise",
            Error::Fenced => "fenced",
            Error::StillDeleting(_) => "still_deleting",
            Error::Waiting(_) => "waiting",
            Error::Undecodable => "undecodable",
        }
    }
}

/// A write the API server refused for a reason only a change of the spec or of the cluster
/// fixes: 422 Invalid (it refuses what was built), the ResourceQuota admission's 403, or
/// another admission plugin's 403 (e.g. growing a PVC whose class does not allow expansion).
/// RBAC's 403 stays an error: the operator's permissions, not the spec, are wrong.
pub fn refusal(status: &Status) -> Option<BlockReason> {
    match status.code {
        422 => Some(BlockReason::InvalidSpec),
        403 => match admission_cause(status) {
            Some(cause) if cause.starts_with("exceeded quota: ") => {
                Some(BlockReason::QuotaExceeded)
            }
            Some(cause) if !cause.starts_with("User \"") => Some(BlockReason::InvalidSpec),
            _ => None,
        },
        _ => None,
    }
}

/// Admission plugins refuse with a Forbidden status whose details name the object and whose
/// message is `<resource>[.<group>] "<name>" is forbidden: <cause>`; RBAC's cause reads
/// `User "x" cannot …`. The API has no admission-specific reason, so the cause is read from
/// after the prefix the details describe.
fn admission_cause(status: &Status) -> Option<&str> {
    let details = status.details.as_ref()?;
    if status.reason != "Forbidden" {
        return None;
    }
    let resource = if details.group.is_empty() {
        details.kind.clone()
    } else {
        format!("{}.{}", details.kind, details.group)
    };
    let prefix = if details.name.is_empty() {
        format!("{resource} is forbidden: ")
    } else {
        format!("{resource} \"{}\" is forbidden: ", details.name)
    };
    status.message.strip_prefix(&prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(value: serde_json::Value) -> Status {
        serde_json::from_value(value).expect("a Status")
    }

    #[test]
    fn quota_refusals_are_recognised_by_the_status_shape() {
        let quota = status(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403, "reason": "Forbidden",
            "message": "services \"web\" is forbidden: exceeded quota: caps, requested: services=1, used: services=0, limited: services=0",
            "details": {"name": "web", "kind": "services"},
        }));
        assert_eq!(refusal(&quota), Some(BlockReason::QuotaExceeded));
        let grouped = status(serde_json::json!({
            "code": 403, "reason": "Forbidden",
            "message": "deployments.apps \"web\" is forbidden: exceeded quota: caps, requested: count/deployments.apps=1",
            "details": {"name": "web", "group": "apps", "kind": "deployments"},
        }));
        assert_eq!(refusal(&grouped), Some(BlockReason::QuotaExceeded));
    }

    #[test]
    fn rbac_refusals_and_lookalikes_are_errors() {
        let rbac = status(serde_json::json!({
            "code": 403, "reason": "Forbidden",
            "message": "services \"web\" is forbidden: User \"system:serviceaccount:x:y\" cannot patch resource \"services\"",
            "details": {"name": "web", "kind": "services"},
        }));
        assert_eq!(refusal(&rbac), None);
        // The words alone, without the admission's status shape, are not a quota refusal.
        let text_only = status(serde_json::json!({
            "code": 403, "reason": "Forbidden", "message": "webhook says: exceeded quota: no",
        }));
        assert_eq!(refusal(&text_only), None);
        let conflict =
            status(serde_json::json!({"code": 409, "reason": "Conflict", "message": "x"}));
        assert_eq!(refusal(&conflict), None);
    }

    #[test]
    fn other_admission_refusals_are_blockers() {
        let resize = status(serde_json::json!({
            "code": 403, "reason": "Forbidden",
            "message": "persistentvolumeclaims \"web-data\" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize",
            "details": {"name": "web-data", "kind": "persistentvolumeclaims"},
        }));
        assert_eq!(refusal(&resize), Some(BlockReason::InvalidSpec));
    }

    #[test]
    fn invalid_objects_are_blockers() {
        let invalid = status(serde_json::json!({
            "code": 422, "reason": "Invalid",
            "message": "Service \"web\" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated",
        }));
        assert_eq!(refusal(&invalid), Some(BlockReason::InvalidSpec));
    }
}

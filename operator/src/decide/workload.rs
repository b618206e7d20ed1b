//! The workload rules, pure: a StatefulSet whose immutable fields change is recreated (its pods
//! keep running and the new one adopts them); replicas an autoscaler takes over are handed to
//! it without a dip; a StatefulSet or DaemonSet short of pods is looked at again soon.

use std::time::Duration;

use exposure_crd::Exposure;
use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};
use serde_json::Value;

use super::desired::DesiredChild;
use crate::build::ChildKind;
use crate::drift;
use crate::status::Observed;

use exposure_crd::labels::REPLICAS_FROM_AUTOSCALER as REPLICAS_AUTOSCALED;

/// The fields of a StatefulSet's spec the API server refuses to change, with the default it
/// gives a field left out (a field we stop setting takes that value, which is a change too).
const IMMUTABLE: &[(&str, Option<&str>)] = &[
    ("/spec/selector", None),
    ("/spec/serviceName", None),
    ("/spec/podManagementPolicy", Some("OrderedReady")),
    ("/spec/volumeClaimTemplates", None),
];

/// Whether every immutable field we set on a StatefulSet is as live has it.
pub fn immutable_unchanged(desired: &Value, live: &Value) -> bool {
    IMMUTABLE.iter().all(|(pointer, default)| {
        let default = default.map(|d| Value::String(d.to_owned()));
        let want = desired.pointer(pointer).or(default.as_ref());
        let have = live.pointer(pointer).or(default.as_ref());
        match (want, have) {
            (None, None) => true,
            (Some(want), Some(have)) => drift::is_up_to_date(want, have),
            (None, Some(other)) | (Some(other), None) => is_empty(other),
        }
    })
}

/// A StatefulSet about to be recreated keeps the replicas it runs when the spec leaves them to
/// an autoscaler (or to anyone else): without them the new set would start at 1 and remove
/// every other pod. Sets them on `desired` and returns them, for the hand-over that follows
/// the create (see [`handover_replicas`]).
pub fn carry_replicas(desired: &mut Value, live: &Value) -> Option<i32> {
    if desired.pointer("/spec/replicas").is_some() {
        return None;
    }
    let replicas = live
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())?;
    desired
        .get_mut("spec")?
        .as_object_mut()?
        .insert("replicas".into(), replicas.into());
    Some(replicas)
}

fn is_empty(v: &Value) -> bool {
    v.as_array().is_some_and(Vec::is_empty) || v.is_null()
}

/// The replicas to hand over before applying `child`: when an autoscaler is declared, the
/// workload exists with replicas the operator set (it lacks [`REPLICAS_AUTOSCALED`]), and the
/// apply that stops setting them is about to be made. Server-side apply would otherwise remove
/// the field the operator alone owned, and the workload would drop to 1 replica until the
/// autoscaler scales it back.
pub fn handover_replicas(
    exposure: &Exposure,
    child: &DesiredChild,
    live: Option<&Value>,
) -> Option<i32> {
    exposure.spec.autoscaling.as_ref()?;
    if !matches!(child.kind, ChildKind::Deployment | ChildKind::StatefulSet) {
        return None;
    }
    let live = live?;
    if drift::is_up_to_date(&child.object, live) || annotated(live) {
        return None;
    }
    live.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .and_then(|n| i32::try_from(n).ok())
}

/// How soon a StatefulSet or DaemonSet short of pods is looked at again without a watch event.
/// Why its controller cannot create pods (a full quota, Pod Security) is said only in
/// FailedCreate events, which nothing watches; the controller records the first one while it
/// writes the status that triggers the reconcile, so that reconcile may read the events before
/// the refusal is among them, and nothing else would trigger one until the resync.
pub const WORKLOAD_RECHECK: Duration = Duration::from_secs(10);

/// [`WORKLOAD_RECHECK`] while the observed StatefulSet or DaemonSet lacks pods for a reason not
/// found yet. Once found, the status says it; pods created later change the workload's status
/// (a watch event), and a different reason is seen at the resync.
pub fn recheck_after(observed: &Observed) -> Option<Duration> {
    if observed.workload_failure.is_some() {
        return None;
    }
    let short = observed
        .stateful_set
        .as_ref()
        .is_some_and(stateful_set_short_of_pods)
        || observed
            .daemon_set
            .as_ref()
            .is_some_and(daemon_set_short_of_pods);
    short.then_some(WORKLOAD_RECHECK)
}

/// Whether a StatefulSet's claim retention lets its controller delete claims (or hand them to
/// the garbage collector).
pub fn deletes_claims(set: &StatefulSet) -> bool {
    set.spec
        .as_ref()
        .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
        .is_some_and(|p| {
            [&p.when_deleted, &p.when_scaled]
                .iter()
                .any(|when| when.as_deref() == Some("Delete"))
        })
}

/// Fewer pods exist than the StatefulSet wants.
pub fn stateful_set_short_of_pods(set: &StatefulSet) -> bool {
    let desired = set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    set.status.as_ref().map_or(0, |s| s.replicas) < desired
}

/// Fewer nodes run a pod of the DaemonSet than should.
pub fn daemon_set_short_of_pods(set: &DaemonSet) -> bool {
    set.status
        .as_ref()
        .is_some_and(|s| s.current_number_scheduled < s.desired_number_scheduled)
}

fn annotated(object: &Value) -> bool {
    object
        .pointer(&format!(
            "/metadata/annotations/{}",
            REPLICAS_AUTOSCALED.replace('/', "~1")
        ))
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::exposure_yaml;
    use serde_json::json;

    fn set(replicas: Option<i64>, templates: Value, annotated: bool) -> Value {
        let mut v = json!({
            "metadata": {"name": "db", "annotations": {}},
            "spec": {"serviceName": "db-headless", "selector": {"matchLabels": {"a": "b"}},
                     "volumeClaimTemplates": templates},
        });
        if let Some(n) = replicas {
            v["spec"]["replicas"] = json!(n);
        }
        if annotated {
            v["metadata"]["annotations"][REPLICAS_AUTOSCALED] = json!("true");
        }
        v
    }

    #[test]
    fn claim_template_changes_need_a_new_stateful_set() {
        let one = json!([{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]);
        let two = json!([{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "2Gi"}}}}]);
        let mut live = set(Some(3), one.clone(), false);
        // The API server adds defaults to the templates: still unchanged.
        live["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"] = json!("Filesystem");
        live["spec"]["podManagementPolicy"] = json!("OrderedReady");
        assert!(immutable_unchanged(&set(Some(3), one, false), &live));
        assert!(!immutable_unchanged(&set(Some(3), two, false), &live));
        assert!(!immutable_unchanged(&set(Some(3), json!([]), false), &live));
    }

    #[test]
    fn dropping_a_pod_management_policy_is_a_change_to_its_default() {
        let mut parallel = set(Some(3), json!([]), false);
        parallel["spec"]["podManagementPolicy"] = json!("Parallel");
        let mut ordered = set(Some(3), json!([]), false);
        ordered["spec"]["podManagementPolicy"] = json!("OrderedReady");
        let default = set(Some(3), json!([]), false);
        assert!(!immutable_unchanged(&default, &parallel));
        assert!(immutable_unchanged(&default, &ordered));
        assert!(!immutable_unchanged(&parallel, &ordered));
    }

    #[test]
    fn a_recreated_stateful_set_keeps_the_replicas_it_runs_unless_the_spec_sets_them() {
        let live = set(Some(5), json!([]), true);
        let mut autoscaled = set(None, json!([]), true);
        assert_eq!(carry_replicas(&mut autoscaled, &live), Some(5));
        assert_eq!(autoscaled["spec"]["replicas"], json!(5));
        let mut fixed = set(Some(2), json!([]), false);
        assert_eq!(carry_replicas(&mut fixed, &live), None);
        assert_eq!(fixed["spec"]["replicas"], json!(2));
    }

    #[test]
    fn workloads_short_of_pods_are_looked_at_again_soon() {
        let stateful = |want: i32, have: i32| -> StatefulSet {
            serde_json::from_value(json!({
                "metadata": {"name": "db"},
                "spec": {"replicas": want, "serviceName": "db-headless",
                         "selector": {}, "template": {}},
                "status": {"replicas": have},
            }))
            .expect("a StatefulSet")
        };
        let daemon = |want: i32, have: i32| -> DaemonSet {
            serde_json::from_value(json!({
                "metadata": {"name": "agent"},
                "spec": {"selector": {}, "template": {}},
                "status": {"desiredNumberScheduled": want, "currentNumberScheduled": have,
                           "numberMisscheduled": 0, "numberReady": have},
            }))
            .expect("a DaemonSet")
        };
        let with = |set: Option<StatefulSet>, ds: Option<DaemonSet>| Observed {
            stateful_set: set,
            daemon_set: ds,
            ..Observed::default()
        };
        // 3 of 4 pods (the 4th refused by a quota, not recorded yet): again soon.
        assert_eq!(
            recheck_after(&with(Some(stateful(4, 3)), None)),
            Some(WORKLOAD_RECHECK)
        );
        // The refusal found: the status says it, no more rechecks.
        let explained = Observed {
            workload_failure: Some("exceeded quota: pods=3".into()),
            ..with(Some(stateful(4, 3)), None)
        };
        assert_eq!(recheck_after(&explained), None);
        assert_eq!(
            recheck_after(&with(None, Some(daemon(2, 1)))),
            Some(WORKLOAD_RECHECK)
        );
        // Complete, scaled to 0, or no such workload: the resync is enough.
        assert_eq!(recheck_after(&with(Some(stateful(4, 4)), None)), None);
        assert_eq!(recheck_after(&with(Some(stateful(0, 0)), None)), None);
        assert_eq!(recheck_after(&with(None, Some(daemon(2, 2)))), None);
        assert_eq!(recheck_after(&Observed::default()), None);
    }

    #[test]
    fn replicas_are_handed_over_once_when_an_autoscaler_arrives() {
        let exposure = exposure_yaml(
            "apiVersion: exposure.dev/v1alpha1\nkind: Exposure\nmetadata: {name: db, namespace: shop}\nspec:\n  image: postgres:16\n  ports: [{containerPort: 5432}]\n  workload: StatefulSet\n  autoscaling: {minReplicas: 2, maxReplicas: 5}\n",
        );
        let child = |object: Value| DesiredChild {
            kind: ChildKind::StatefulSet,
            name: "db".into(),
            object,
        };
        let desired = set(None, json!([]), true);
        // We set 3 before; the new apply drops them: hand 3 over.
        let live = set(Some(3), json!([]), false);
        assert_eq!(
            handover_replicas(&exposure, &child(desired.clone()), Some(&live)),
            Some(3)
        );
        // Already handed over (the annotation is live): nothing.
        let live = set(Some(4), json!([]), true);
        assert_eq!(
            handover_replicas(&exposure, &child(desired.clone()), Some(&live)),
            None
        );
        // A new workload: nothing to hand over.
        assert_eq!(handover_replicas(&exposure, &child(desired), None), None);
    }
}

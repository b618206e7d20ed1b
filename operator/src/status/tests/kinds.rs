//! The StatefulSet and DaemonSet workloads, the autoscaler and the disruption budget in status.

use k8s_openapi::api::apps::v1::{DaemonSet, StatefulSet};

use super::*;

fn stateful_spec() -> Value {
    json!({
        "image": "postgres:16", "replicas": 2, "workload": "StatefulSet",
        "ports": [{"containerPort": 5432}],
        "storage": [{"name": "data", "mountPath": "/data", "size": "1Gi"}],
    })
}

fn stateful_set(replicas: i32, ready: i32, status: Value) -> StatefulSet {
    let mut value = json!({
        "metadata": {"name": "tomcat", "namespace": "shop", "generation": 1},
        "spec": {"replicas": replicas, "selector": {}, "serviceName": "tomcat-headless", "template": {}},
        "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": ready,
                   "availableReplicas": ready, "updatedReplicas": replicas,
                   "currentRevision": "r1", "updateRevision": "r1"},
    });
    if let (Some(s), Some(extra)) = (value["status"].as_object_mut(), status.as_object()) {
        s.extend(extra.clone());
    }
    object(value)
}

fn stateful_observed(set: StatefulSet, claims: &[(&str, &str)]) -> Observed {
    let mut observed = healthy();
    observed.deployment = None;
    observed.stateful_set = Some(set);
    observed.headless_service = Some(service("ClusterIP", http_port(), json!({})));
    observed.pvcs = claims
        .iter()
        .map(|(name, phase)| pvc(name, phase))
        .collect();
    observed
}

#[test]
fn a_stateful_set_is_ready_with_every_per_pod_claim_bound() {
    let exposure = exposure(stateful_spec());
    let observed = stateful_observed(
        stateful_set(2, 2, json!({})),
        &[("data-tomcat-0", "Bound"), ("data-tomcat-1", "Bound")],
    );
    let status = compute(&exposure, &observed);
    assert_eq!(state(&status, condition::READY), ("True", reason::READY));
    assert_eq!(
        cond(&status, condition::STORAGE_BOUND).message,
        "PVCs bound: data-tomcat-0, data-tomcat-1"
    );
    assert_eq!(status.workload.as_deref(), Some("StatefulSet"));
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (Some(2), Some(2), Some(2))
    );
}

#[test]
fn a_stateful_set_waits_for_the_claim_of_its_next_pod_and_its_update_revision() {
    let exposure = exposure(stateful_spec());
    let observed = stateful_observed(
        stateful_set(2, 1, json!({"replicas": 1})),
        &[("data-tomcat-0", "Bound")],
    );
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::STORAGE_BOUND),
        ("False", reason::PENDING)
    );
    assert_eq!(
        cond(&status, condition::STORAGE_BOUND).message,
        "PVC data-tomcat-1 not found"
    );
    assert_eq!(state(&status, condition::RECONCILING).0, "True");

    let rolling = stateful_observed(
        stateful_set(2, 2, json!({"updateRevision": "r2"})),
        &[("data-tomcat-0", "Bound"), ("data-tomcat-1", "Bound")],
    );
    let status = compute(&exposure, &rolling);
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::ROLLOUT_IN_PROGRESS)
    );
    assert!(
        cond(&status, condition::RECONCILING)
            .message
            .contains("StatefulSet tomcat rollout: finishing the update revision"),
        "{:?}",
        cond(&status, condition::RECONCILING)
    );
}

#[test]
fn a_stateful_set_short_of_pods_for_quota_says_so() {
    let exposure = exposure(stateful_spec());
    let mut observed = stateful_observed(stateful_set(4, 3, json!({"replicas": 3})), &[]);
    observed.stateful_set = Some(stateful_set(4, 3, json!({"replicas": 3})));
    observed.workload_failure = Some(
        "create Pod tomcat-3 in StatefulSet tomcat failed error: pods \"tomcat-3\" is forbidden: exceeded quota: tomcat, requested: pods=1, used: pods=3, limited: pods=3".into(),
    );
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::QUOTA_EXCEEDED)
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "3/4 pods: exceeded quota tomcat: requested pods=1, used pods=3, limited pods=3"
    );
}

fn daemon_set(desired: i32, ready: i32) -> DaemonSet {
    object(json!({
        "metadata": {"name": "tomcat", "namespace": "shop", "generation": 3},
        "spec": {"selector": {}, "template": {}},
        "status": {"observedGeneration": 3, "desiredNumberScheduled": desired,
                   "currentNumberScheduled": desired, "numberReady": ready,
                   "numberAvailable": ready, "updatedNumberScheduled": desired,
                   "numberMisscheduled": 0},
    }))
}

#[test]
fn a_daemon_set_counts_its_nodes() {
    let mut spec = app_spec(json!({"type": "NodePort"}));
    spec["workload"] = json!("DaemonSet");
    spec.as_object_mut().map(|s| s.remove("replicas"));
    let exposure = exposure(spec);
    let mut observed = healthy();
    observed.deployment = None;
    observed.daemon_set = Some(daemon_set(2, 2));
    observed.service = Some(service(
        "NodePort",
        json!([{"name": "http", "port": 8080, "nodePort": 31188}]),
        json!({}),
    ));
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("True", reason::REPLICAS_AVAILABLE)
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "2/2 replicas available"
    );
    assert_eq!(status.workload.as_deref(), Some("DaemonSet"));

    observed.daemon_set = Some(daemon_set(0, 0));
    let status = compute(&exposure, &observed);
    assert_eq!(state(&status, condition::AVAILABLE).0, "False");
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "DaemonSet tomcat: no node to run on (see spec.scheduling)"
    );

    observed.daemon_set = None;
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::WORKLOAD_MISSING)
    );
}

#[test]
fn the_autoscaler_and_the_budget_are_reported() {
    let mut spec = app_spec(json!({"type": "Internal"}));
    spec["autoscaling"] = json!({"minReplicas": 2, "maxReplicas": 6});
    spec["disruption"] = json!({"minAvailable": 1});
    let exposure = exposure(spec);
    let mut observed = healthy();
    observed.autoscaler = Some(object(json!({
        "metadata": {"name": "tomcat"},
        "spec": {"maxReplicas": 6, "scaleTargetRef": {"kind": "Deployment", "name": "tomcat"}},
        "status": {"currentReplicas": 3, "desiredReplicas": 3, "conditions": [
            {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
             "message": "no metrics"}]},
    })));
    observed.disruption_budget = Some(object(json!({
        "metadata": {"name": "tomcat"},
        "status": {"disruptionsAllowed": 2, "currentHealthy": 3, "desiredHealthy": 1, "expectedPods": 3},
    })));
    let status = compute(&exposure, &observed);
    let autoscaler = status.autoscaler.clone().expect("autoscaler status");
    // Not scaling: no desired count (the autoscaler reports one it does not mean then).
    assert_eq!(
        (autoscaler.current_replicas, autoscaler.desired_replicas),
        (Some(3), None)
    );
    assert_eq!(
        autoscaler.message.as_deref(),
        Some("spec.replicas (3) is ignored: the HorizontalPodAutoscaler owns replicas (2-6); not scaling: FailedGetResourceMetric (no metrics)")
    );
    let budget = status.disruption_budget.clone().expect("budget status");
    assert_eq!(
        (
            budget.disruptions_allowed,
            budget.current_healthy,
            budget.desired_healthy
        ),
        (Some(2), Some(3), Some(1))
    );
    // The app is available whatever the autoscaler's metrics say.
    assert_eq!(state(&status, condition::READY), ("True", reason::READY));
}

#[test]
fn a_missing_config_map_explains_unavailable_pods() {
    let mut spec = app_spec(json!({"type": "Internal"}));
    spec["config"] = json!([{"name": "conf", "mountPath": "/etc/app", "configMap": "app"}]);
    let exposure = exposure(spec);
    let mut observed = healthy();
    observed.deployment = Some(deployment(3, 0, json!({})));
    observed.pods.clear();
    observed.config = crate::build::ConfigDigests(std::collections::BTreeMap::from([(
        crate::build::ConfigSource::ConfigMap("app".into()),
        None,
    )]));
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::CONFIG_MISSING)
    );
    assert!(
        cond(&status, condition::AVAILABLE)
            .message
            .ends_with("ConfigMap app not found (spec.config): pods mounting it cannot start"),
        "{}",
        cond(&status, condition::AVAILABLE).message
    );
}

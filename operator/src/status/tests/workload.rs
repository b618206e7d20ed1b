//! The workload: Available, rollouts, pod failures.

use super::*;

#[test]
fn image_pull_back_off_says_which_pod_and_image() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let observed = Observed {
        deployment: Some(deployment(3, 1, json!({}))),
        pods: vec![
            waiting_pod(
                "tomcat-7d9-x2",
                "ImagePullBackOff",
                json!({"image": "tomcat:missing"}),
            ),
            ready_pod("tomcat-7d9-a1"),
        ],
        ..healthy()
    };
    let status = compute(&exposure, &observed);

    let message = "1/3 ready: pod tomcat-7d9-x2 ImagePullBackOff (image tomcat:missing)";
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", "ImagePullBackOff")
    );
    assert_eq!(cond(&status, condition::AVAILABLE).message, message);
    assert_eq!(
        state(&status, condition::READY),
        ("False", "ImagePullBackOff")
    );
    assert_eq!(cond(&status, condition::READY).message, message);
    // kstatus: Kubernetes retries until the progress deadline, so not Stalled yet but still
    // converging (InProgress); after the deadline it is Stalled (ProgressDeadlineExceeded).
    assert_eq!(
        state(&status, condition::STALLED),
        ("False", reason::NOT_STALLED)
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_PODS)
    );
    assert_eq!(
        cond(&status, condition::RECONCILING).message,
        format!("{message}; Kubernetes retries until the Deployment's progress deadline")
    );
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (Some(3), Some(1), Some(1))
    );
}

#[test]
fn crash_loop_back_off_counts_restarts() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let crash = |last_state: Value| Observed {
        deployment: Some(deployment(1, 0, json!({}))),
        pods: vec![waiting_pod(
            "tomcat-7d9-c1",
            "CrashLoopBackOff",
            json!({"restartCount": 5, "lastState": last_state}),
        )],
        ..healthy()
    };

    let status = compute(
        &exposure,
        &crash(json!({"terminated": {"exitCode": 1, "reason": "Error"}})),
    );
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", "CrashLoopBackOff")
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/1 ready: pod tomcat-7d9-c1 CrashLoopBackOff (5 restarts, exit code 1)"
    );

    let status = compute(
        &exposure,
        &crash(json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}})),
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/1 ready: pod tomcat-7d9-c1 CrashLoopBackOff (5 restarts, OOMKilled, exit code 137)"
    );
}

#[test]
fn config_errors_show_the_runtime_message() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let observed = Observed {
        deployment: Some(deployment(1, 0, json!({}))),
        pods: vec![waiting_pod(
            "tomcat-7d9-c1",
            "CreateContainerConfigError",
            json!({"state": {"waiting": {"reason": "CreateContainerConfigError", "message": "secret \"db\" not found"}}}),
        )],
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", "CreateContainerConfigError")
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/1 ready: pod tomcat-7d9-c1 CreateContainerConfigError (secret \"db\" not found)"
    );
}

#[test]
fn failing_pods_are_listed_before_starting_ones_and_the_list_is_capped() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let mut pods: Vec<Pod> = (1..=5)
        .map(|i| {
            waiting_pod(
                &format!("tomcat-7d9-f{i}"),
                "ErrImagePull",
                json!({"image": "tomcat:missing"}),
            )
        })
        .collect();
    pods.insert(
        0,
        waiting_pod("tomcat-7d9-a0", "ContainerCreating", json!({})),
    );
    let observed = Observed {
        deployment: Some(deployment(6, 0, json!({}))),
        pods,
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/6 ready: pod tomcat-7d9-f1 ErrImagePull (image tomcat:missing), \
         pod tomcat-7d9-f2 ErrImagePull (image tomcat:missing), \
         pod tomcat-7d9-f3 ErrImagePull (image tomcat:missing) and 2 more"
    );
}

#[test]
fn pods_starting_make_reconciling_true() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let no_pods = Observed {
        deployment: Some(deployment(3, 0, json!({}))),
        pods: vec![],
        ..healthy()
    };
    let status = compute(&exposure, &no_pods);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::REPLICAS_UNAVAILABLE)
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/3 ready: waiting for pods"
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_PODS)
    );
    assert_eq!(
        cond(&status, condition::RECONCILING).message,
        "0/3 ready: waiting for pods"
    );

    let unready = pod(
        "tomcat-7d9-u1",
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}),
    );
    let running = Observed {
        deployment: Some(deployment(1, 0, json!({}))),
        pods: vec![
            unready,
            waiting_pod("tomcat-7d9-u2", "ContainerCreating", json!({})),
        ],
        ..healthy()
    };
    let status = compute(&exposure, &running);
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/1 ready: pod tomcat-7d9-u1 not ready, pod tomcat-7d9-u2 ContainerCreating"
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_PODS)
    );
}

#[test]
fn terminating_and_finished_pods_are_not_blamed() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let mut terminating = waiting_pod("tomcat-old-1", "CrashLoopBackOff", json!({}));
    terminating.metadata.deletion_timestamp = Some(at(THEN));
    let evicted = pod(
        "tomcat-old-2",
        json!({"phase": "Failed", "reason": "Evicted"}),
    );
    let observed = Observed {
        deployment: Some(deployment(2, 0, json!({}))),
        pods: vec![terminating, evicted],
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/2 ready: waiting for pods"
    );
}

#[test]
fn unschedulable_pods_quote_the_scheduler() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let pending = pod(
        "tomcat-7d9-p1",
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
               "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient cpu."}]}),
    );
    let observed = Observed {
        deployment: Some(deployment(1, 0, json!({}))),
        pods: vec![pending],
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::UNSCHEDULABLE)
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        "0/1 ready: pod tomcat-7d9-p1 Unschedulable (0/3 nodes are available: 3 Insufficient cpu.)"
    );
}

#[test]
fn replica_failure_reports_the_quota() {
    // The namespaces chapter: a quota of 3 pods, 4 replicas asked for.
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let quota = "pods \"tomcat-7d9-z\" is forbidden: exceeded quota: tomcat, requested: pods=1, used: pods=3, limited: pods=3";
    let mut observed = healthy();
    observed.deployment = Some(deployment(
        4,
        3,
        json!({"replicas": 3, "conditions": [
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": quota},
        ]}),
    ));
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::QUOTA_EXCEEDED)
    );
    let expected = "3/4 pods: exceeded quota tomcat: requested pods=1, used pods=3, limited pods=3";
    assert_eq!(cond(&status, condition::AVAILABLE).message, expected);
    assert_eq!(cond(&status, condition::READY).message, expected);
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_PODS)
    );
}

#[test]
fn other_replica_failures_keep_the_api_servers_words() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let refusal = "pods \"tomcat-7d9-z\" is forbidden: violates PodSecurity \"restricted:latest\": runAsNonRoot != true";
    let mut observed = healthy();
    observed.deployment = Some(deployment(
        3,
        2,
        json!({"conditions": [
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": refusal},
        ]}),
    ));
    observed.pods.truncate(2);
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::REPLICA_FAILURE)
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).message,
        format!("2/3 ready: waiting for pods; {refusal}")
    );
}

#[test]
fn progress_deadline_exceeded_is_stalled() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let timed_out = "ReplicaSet \"tomcat-7d9\" has timed out progressing.";
    let observed = Observed {
        deployment: Some(deployment(
            3,
            1,
            json!({"conditions": [
                {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": timed_out},
            ]}),
        )),
        pods: vec![
            ready_pod("tomcat-7d9-a1"),
            waiting_pod(
                "tomcat-7d9-x2",
                "ImagePullBackOff",
                json!({"image": "tomcat:missing"}),
            ),
        ],
        ..healthy()
    };
    let status = compute(&exposure, &observed);

    let message = format!(
        "{timed_out}; 1/3 ready: pod tomcat-7d9-x2 ImagePullBackOff (image tomcat:missing)"
    );
    assert_eq!(
        state(&status, condition::STALLED),
        ("True", reason::PROGRESS_DEADLINE_EXCEEDED)
    );
    assert_eq!(cond(&status, condition::STALLED).message, message);
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("False", reason::STALLED)
    );
    assert_eq!(
        state(&status, condition::READY),
        ("False", reason::PROGRESS_DEADLINE_EXCEEDED)
    );
    assert_eq!(cond(&status, condition::READY).message, message);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", "ImagePullBackOff")
    );
}

#[test]
fn a_deadline_from_before_the_new_spec_is_ignored() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let mut stale = deployment(
        3,
        1,
        json!({"conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
    );
    stale.metadata.generation = Some(3);
    let observed = Observed {
        deployment: Some(stale),
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::STALLED),
        ("False", reason::NOT_STALLED)
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::ROLLOUT_IN_PROGRESS)
    );
    assert_eq!(
        cond(&status, condition::RECONCILING).message,
        "Deployment tomcat: waiting for the controller to observe the new spec"
    );
}

#[test]
fn rollout_in_progress_is_reconciling() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let rollout = |extra: Value| {
        let observed = Observed {
            deployment: Some(deployment(3, 3, extra)),
            ..healthy()
        };
        let status = compute(&exposure, &observed);
        assert_eq!(
            state(&status, condition::RECONCILING),
            ("True", reason::ROLLOUT_IN_PROGRESS)
        );
        assert_eq!(
            state(&status, condition::AVAILABLE),
            ("True", reason::REPLICAS_AVAILABLE)
        );
        assert_eq!(state(&status, condition::READY), ("True", reason::READY));
        cond(&status, condition::RECONCILING).message.clone()
    };
    assert_eq!(
        rollout(json!({"updatedReplicas": 1})),
        "Deployment tomcat rollout: 1/3 replicas updated"
    );
    assert_eq!(
        rollout(json!({"replicas": 4})),
        "Deployment tomcat rollout: 1 old replica still running"
    );
}

#[test]
fn scaled_to_zero_is_available() {
    let mut spec = app_spec(json!({"type": "Internal"}));
    spec["replicas"] = json!(0);
    let exposure = exposure(spec);
    let observed = Observed {
        deployment: Some(object(json!({
            "metadata": {"name": "tomcat", "generation": 2},
            "spec": {"replicas": 0, "selector": {}, "template": {}},
            "status": {"observedGeneration": 2},
        }))),
        pods: vec![],
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("True", reason::SCALED_TO_ZERO)
    );
    assert_eq!(cond(&status, condition::AVAILABLE).message, "scaled to 0");
    assert_eq!(state(&status, condition::READY), ("True", reason::READY));
    assert_eq!(
        cond(&status, condition::READY).message,
        "scaled to 0; exposed at http://tomcat.shop.svc.cluster.local:8080"
    );
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.available_replicas
        ),
        (Some(0), Some(0), Some(0))
    );
}

#[test]
fn deployment_not_created_yet() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let observed = Observed {
        deployment: None,
        pods: vec![],
        ..healthy()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("False", reason::DEPLOYMENT_MISSING)
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::CREATING)
    );
    assert_eq!(
        state(&status, condition::READY),
        ("False", reason::DEPLOYMENT_MISSING)
    );
    assert_eq!(status.replicas, None);
}

#[test]
fn reconciling_lists_everything_still_converging() {
    let exposure = exposure(app_spec(json!({"type": "LoadBalancer"})));
    let observed = Observed {
        deployment: Some(deployment(3, 0, json!({}))),
        pods: vec![],
        service: Some(service("LoadBalancer", http_port(), json!({}))),
        ..Observed::default()
    };
    let status = compute(&exposure, &observed);
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_PODS)
    );
    assert_eq!(
        cond(&status, condition::RECONCILING).message,
        "0/3 ready: waiting for pods; waiting for a load balancer address for Service tomcat"
    );
    assert_eq!(
        state(&status, condition::READY),
        ("False", reason::REPLICAS_UNAVAILABLE)
    );
}

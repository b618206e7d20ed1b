//! The same inputs give the same status.

use super::*;

#[test]
fn last_transition_time_is_kept_while_the_status_holds() {
    let mut exposure = exposure(app_spec(json!({"type": "Internal"})));
    let previous = |type_: &str, status: &str| Condition {
        type_: type_.into(),
        status: status.into(),
        observed_generation: Some(GENERATION - 1),
        last_transition_time: at(THEN),
        reason: "Old".into(),
        message: "old".into(),
    };
    exposure.status = Some(ExposureStatus {
        observed_generation: Some(GENERATION - 1),
        conditions: vec![
            previous(condition::READY, "True"),
            previous(condition::RECONCILING, "True"),
            previous(condition::AVAILABLE, "True"),
        ],
        ..ExposureStatus::default()
    });
    let status = compute(&exposure, &healthy());

    // Same status: the time stays while reason, message and generation are refreshed.
    assert_eq!(
        cond(&status, condition::READY).last_transition_time,
        at(THEN)
    );
    assert_eq!(cond(&status, condition::READY).reason, reason::READY);
    assert_eq!(
        cond(&status, condition::READY).observed_generation,
        Some(GENERATION)
    );
    assert_eq!(
        cond(&status, condition::AVAILABLE).last_transition_time,
        at(THEN)
    );
    // Flipped or new: now.
    assert_eq!(
        cond(&status, condition::RECONCILING).last_transition_time,
        at(NOW)
    );
    assert_eq!(
        cond(&status, condition::STALLED).last_transition_time,
        at(NOW)
    );
    assert_eq!(
        cond(&status, condition::EXPOSED).last_transition_time,
        at(NOW)
    );
}

#[test]
fn same_inputs_same_status_and_recomputing_changes_nothing() {
    let mut exposure = exposure(ingress_spec());
    let observed = Observed {
        deployment: Some(deployment(3, 1, json!({}))),
        pods: vec![
            waiting_pod(
                "tomcat-7d9-x2",
                "ImagePullBackOff",
                json!({"image": "tomcat:missing"}),
            ),
            ready_pod("tomcat-7d9-a1"),
            waiting_pod(
                "tomcat-7d9-x1",
                "CrashLoopBackOff",
                json!({"restartCount": 2}),
            ),
        ],
        ingress: Some(ingress(
            json!([rule("ingress-tomcat.lagou.com", &["/"])]),
            json!([]),
            json!([]),
        )),
        ..healthy()
    };
    let first = compute(&exposure, &observed);
    assert_eq!(first, compute(&exposure, &observed));

    // Written back and recomputed later with the same world: identical, so no status write.
    exposure.status = Some(first.clone());
    let children = applied(&observed);
    let later = compute_status(
        &exposure,
        &Outcome::Applied(&children),
        &observed,
        &at(NOW + 60),
    );
    assert_eq!(later, first);

    // Pod order in the cache does not matter.
    let mut shuffled = observed.clone();
    shuffled.pods.reverse();
    assert_eq!(compute(&exposure, &shuffled), first);
}

#[test]
fn blocked_resources_do_not_depend_on_the_cache_order() {
    let exposure = web_with_storage();
    let mut observed = web_observed(vec![pvc("web-logs", "Bound"), pvc("web-data", "Bound")]);
    let blocked = Outcome::Blocked(vec![blocker("InvalidSpec", "x")]);
    let status = compute_status(&exposure, &blocked, &observed, &at(NOW));
    let names: Vec<String> = status
        .resources
        .iter()
        .map(|r| format!("{}/{}", r.kind, r.name))
        .collect();
    assert_eq!(
        names,
        [
            "PersistentVolumeClaim/web-data",
            "PersistentVolumeClaim/web-logs",
            "Deployment/tomcat",
            "Service/tomcat"
        ]
    );
    observed.pvcs.reverse();
    assert_eq!(
        compute_status(&exposure, &blocked, &observed, &at(NOW)),
        status
    );
}

#[test]
fn tls_for_another_host_leaves_http() {
    let exposure = exposure(ingress_spec());
    let observed = Observed {
        ingress: Some(ingress(
            json!([rule("ingress-tomcat.lagou.com", &["/"])]),
            json!([{"hosts": ["other.lagou.com"], "secretName": "tls"}]),
            json!([{"ip": "203.0.113.9"}]),
        )),
        ..healthy()
    };
    assert_eq!(
        compute(&exposure, &observed).url.as_deref(),
        Some("http://ingress-tomcat.lagou.com/")
    );
}

//! StorageBound and retained volumes.

use super::*;

#[test]
fn storage_bound() {
    let status = compute(
        &web_with_storage(),
        &web_observed(vec![pvc("web-data", "Bound"), pvc("web-logs", "Bound")]),
    );
    assert_eq!(
        types(&status),
        [
            "Ready",
            "Reconciling",
            "Stalled",
            "Available",
            "Exposed",
            "StorageBound"
        ]
    );
    assert_eq!(
        state(&status, condition::STORAGE_BOUND),
        ("True", reason::BOUND)
    );
    assert_eq!(
        cond(&status, condition::STORAGE_BOUND).message,
        "PVCs bound: web-data, web-logs"
    );
    assert_eq!(state(&status, condition::READY), ("True", reason::READY));
}

#[test]
fn storage_pending_is_reconciling() {
    let status = compute(
        &web_with_storage(),
        &web_observed(vec![pvc("web-data", "Pending"), pvc("web-logs", "Bound")]),
    );
    assert_eq!(
        state(&status, condition::STORAGE_BOUND),
        ("False", reason::PENDING)
    );
    assert_eq!(
        cond(&status, condition::STORAGE_BOUND).message,
        "PVC web-data Pending"
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_VOLUME)
    );
    assert_eq!(
        cond(&status, condition::RECONCILING).message,
        "waiting for PVC web-data to be bound"
    );
    assert_eq!(state(&status, condition::READY), ("False", reason::PENDING));
}

#[test]
fn storage_provisioning_failed_quotes_the_event() {
    let mut observed = web_observed(vec![pvc("web-data", "Pending"), pvc("web-logs", "Pending")]);
    observed.provisioning_failures.insert(
        "web-data".into(),
        "failed to create volume: heketi: no space".into(),
    );
    let status = compute(&web_with_storage(), &observed);

    assert_eq!(
        state(&status, condition::STORAGE_BOUND),
        ("False", reason::PROVISIONING_FAILED)
    );
    assert_eq!(
        cond(&status, condition::STORAGE_BOUND).message,
        "PVC web-data Pending: failed to create volume: heketi: no space; PVC web-logs Pending"
    );
    assert_eq!(
        state(&status, condition::READY),
        ("False", reason::PROVISIONING_FAILED)
    );
    assert_eq!(
        state(&status, condition::STALLED),
        ("False", reason::NOT_STALLED)
    );
    // web-logs may still bind by itself.
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::WAITING_FOR_VOLUME)
    );

    observed.pvcs[1] = pvc("web-logs", "Bound");
    let status = compute(&web_with_storage(), &observed);
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("False", reason::NOT_PROGRESSING)
    );
}

#[test]
fn storage_missing_and_lost_pvcs() {
    let status = compute(
        &web_with_storage(),
        &web_observed(vec![pvc("web-logs", "Lost")]),
    );
    assert_eq!(
        state(&status, condition::STORAGE_BOUND),
        ("False", reason::LOST)
    );
    assert_eq!(
        cond(&status, condition::STORAGE_BOUND).message,
        "PVC web-data not found; PVC web-logs Lost: its volume is gone"
    );
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("True", reason::CREATING)
    );
}

#[test]
fn no_storage_no_storage_condition_and_retained_volumes_are_copied() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let mut observed = healthy();
    observed.retained_volumes = vec![exposure_crd::RetainedVolume {
        name: "tomcat-old".into(),
        volume: "old".into(),
        size: Some("1Gi".into()),
    }];
    let status = compute(&exposure, &observed);
    assert!(!has_cond(&status, condition::STORAGE_BOUND));
    assert_eq!(status.retained_volumes, observed.retained_volumes);
}

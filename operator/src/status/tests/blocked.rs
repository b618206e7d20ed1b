//! Blocked and partially applied reconciles.

use super::*;

#[test]
fn blocked_invalid_spec_lists_every_field_error() {
    let mut exposure = exposure(app_spec(json!({"type": "Internal"})));
    let old_refs = vec![
        ResourceRef {
            kind: "ResourceQuota".into(),
            name: "tomcat".into(),
        },
        ResourceRef {
            kind: "Deployment".into(),
            name: "tomcat".into(),
        },
    ];
    exposure.status = Some(ExposureStatus {
        resources: old_refs,
        ..ExposureStatus::default()
    });
    let blockers = vec![
        blocker(
            "InvalidSpec",
            "spec.ports[1].nodePort: 40000 is outside 30000-32767",
        ),
        blocker(
            "InvalidSpec",
            "spec.ingress: required when visibility.type is Ingress",
        ),
    ];
    let status = compute_status(&exposure, &Outcome::Blocked(blockers), &healthy(), &at(NOW));

    let message = "spec.ports[1].nodePort: 40000 is outside 30000-32767; \
                   spec.ingress: required when visibility.type is Ingress";
    assert_eq!(state(&status, condition::STALLED), ("True", "InvalidSpec"));
    assert_eq!(cond(&status, condition::STALLED).message, message);
    assert_eq!(state(&status, condition::READY), ("False", "InvalidSpec"));
    assert_eq!(cond(&status, condition::READY).message, message);
    assert_eq!(
        state(&status, condition::RECONCILING),
        ("False", reason::STALLED)
    );
    // The last good children stay and are still described.
    assert_eq!(
        state(&status, condition::AVAILABLE),
        ("True", reason::REPLICAS_AVAILABLE)
    );
    assert_eq!(
        state(&status, condition::EXPOSED),
        ("True", reason::SERVICE_READY)
    );
    assert_eq!(status.observed_generation, Some(GENERATION));
    assert_eq!(
        status.resources,
        [
            ResourceRef {
                kind: "ResourceQuota".into(),
                name: "tomcat".into()
            },
            ResourceRef {
                kind: "Deployment".into(),
                name: "tomcat".into()
            },
            ResourceRef {
                kind: "Service".into(),
                name: "tomcat".into()
            },
        ]
    );
}

#[test]
fn blocked_with_mixed_reasons_takes_the_first() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let blockers = vec![
        blocker("HostConflict", "host a is used by Ingress b/c"),
        blocker("InvalidSpec", "x: bad"),
    ];
    let status = compute_status(&exposure, &Outcome::Blocked(blockers), &healthy(), &at(NOW));
    assert_eq!(state(&status, condition::STALLED), ("True", "HostConflict"));
    assert_eq!(
        cond(&status, condition::STALLED).message,
        "host a is used by Ingress b/c; x: bad"
    );

    let status = compute_status(&exposure, &Outcome::Blocked(vec![]), &healthy(), &at(NOW));
    assert_eq!(
        state(&status, condition::STALLED),
        ("True", reason::BLOCKED)
    );
}

#[test]
fn blocked_resources_leave_out_the_endpoints_controllers_endpoints() {
    let exposure = exposure(app_spec(json!({"type": "Internal"})));
    let observed = Observed {
        endpoints: Some(object(json!({"metadata": {"name": "tomcat"}}))),
        ..healthy()
    };
    let status = compute_status(
        &exposure,
        &Outcome::Blocked(vec![blocker("InvalidSpec", "x")]),
        &observed,
        &at(NOW),
    );
    assert_eq!(
        status
            .resources
            .iter()
            .map(|r| r.kind.as_str())
            .collect::<Vec<_>>(),
        ["Deployment", "Service"]
    );
}

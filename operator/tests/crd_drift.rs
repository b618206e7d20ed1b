//! The chart ships the CRD generated from the Rust types; this fails when the checked-in copy
//! is stale. Regenerate with `cargo run -q -p exposure-operator -- crd > charts/exposure-operator/crds/exposure.yaml`.

#[test]
fn checked_in_crd_matches_the_types() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../charts/exposure-operator/crds/exposure.yaml"
    );
    let checked_in = std::fs::read_to_string(path)
        .expect("charts/exposure-operator/crds/exposure.yaml is missing");
    let generated = serde_yaml::to_string(&exposure_crd::crd()).expect("CRD serialises");
    assert!(
        checked_in == generated,
        "charts/exposure-operator/crds/exposure.yaml is stale; regenerate it with\n  \
         cargo run -q -p exposure-operator -- crd > charts/exposure-operator/crds/exposure.yaml"
    );
}

#[test]
fn crd_has_the_contracted_names_and_columns() {
    let crd = exposure_crd::crd();
    assert_eq!(crd.metadata.name.as_deref(), Some("exposures.exposure.dev"));
    assert_eq!(
        crd.spec.names.short_names,
        Some(vec!["exp".to_string(), "expo".to_string()])
    );
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v1alpha1");
    assert!(
        version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some(),
        "status subresource"
    );
    let columns: Vec<(String, i32)> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| (c.name.clone(), c.priority.unwrap_or(0)))
        .collect();
    let expected = [
        ("Visibility", 0),
        ("Ready", 0),
        ("Available", 0),
        ("Workload", 1),
        ("URL", 0),
        ("Age", 0),
        ("Reason", 1),
        ("Message", 1),
    ];
    assert_eq!(columns, expected.map(|(n, p)| (n.to_string(), p)).to_vec());
}

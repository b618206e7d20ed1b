use super::*;

#[test]
fn a_valid_exposure_yields_its_name_and_namespace() {
    let exposure = exposure_from(&format!("{HEADER}  namespace: shop\nspec:\n{APP}"));
    let valid = validate(&exposure, &ClusterInfo::default()).expect("valid");
    assert_eq!((valid.name, valid.namespace), ("web", Some("shop")));
}

#[test]
fn metadata_name() {
    let named = |name: &str| {
        errors_for(
            &exposure_from(&format!("metadata:\n  name: {name:?}\nspec:\n{APP}")),
            KubeVersion::NEWEST,
        )
    };
    assert_eq!(named("a-b1"), Vec::<String>::new());
    assert_eq!(named(&"a".repeat(54)), Vec::<String>::new());
    assert_eq!(
        named(&"a".repeat(55)),
        [format!("metadata.name: {:?} is 55 characters; at most 54 are allowed (so that <name>-headless fits in 63)", "a".repeat(55))]
    );
    assert_eq!(
        named("1web"),
        [format!("metadata.name: \"1web\" is not {DNS1035_LABEL}")]
    );
    assert_eq!(
        named("Web"),
        [format!("metadata.name: \"Web\" is not {DNS1035_LABEL}")]
    );
    assert_eq!(
        named("web-"),
        [format!("metadata.name: \"web-\" is not {DNS1035_LABEL}")]
    );
    assert_eq!(
        errors_for(
            &exposure_from(&format!("metadata: {{}}\nspec:\n{APP}")),
            KubeVersion::NEWEST
        ),
        ["metadata.name: required"]
    );
}

#[test]
fn metadata_namespace() {
    let in_namespace = |ns: &str| {
        errors_for(
            &exposure_from(&format!("{HEADER}  namespace: {ns:?}\nspec:\n{APP}")),
            KubeVersion::NEWEST,
        )
    };
    assert_eq!(in_namespace("1-shop"), Vec::<String>::new());
    assert_eq!(
        in_namespace("Shop"),
        [format!(
            "metadata.namespace: \"Shop\" is not {DNS1123_LABEL}"
        )]
    );
}

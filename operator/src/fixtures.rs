//! Test fixtures shared by the unit tests: Exposures from JSON or YAML, and live objects.

use exposure_crd::{Exposure, ExposureSpec};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// An Exposure from JSON; `apiVersion` and `kind` are added.
pub fn exposure_from(mut value: Value) -> Exposure {
    value["apiVersion"] = "exposure.dev/v1alpha1".into();
    value["kind"] = "Exposure".into();
    serde_json::from_value(value).expect("a valid test Exposure")
}

/// An Exposure from YAML.
pub fn exposure_yaml(yaml: &str) -> Exposure {
    serde_yaml::from_str(yaml).expect("a valid test Exposure")
}

/// An Exposure named `web`, in `namespace` when given, with a uid when given.
pub fn new_exposure(namespace: Option<&str>, uid: Option<&str>, spec: ExposureSpec) -> Exposure {
    let mut exposure = Exposure::new("web", spec);
    exposure.metadata.namespace = namespace.map(str::to_owned);
    exposure.metadata.uid = uid.map(str::to_owned);
    exposure
}

/// Any Kubernetes object from JSON.
pub fn object<K: DeserializeOwned>(value: Value) -> K {
    serde_json::from_value(value).expect("a valid test object")
}

//! The CustomResourceDefinition generated from the Rust types.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::Exposure;

/// The Exposure CRD exactly as the chart ships it (`charts/exposure-operator/crds/`).
pub fn crd() -> CustomResourceDefinition {
    Exposure::crd()
}

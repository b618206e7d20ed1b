//! Pure builders: one valid Exposure → the child objects the operator owns.
//! No I/O; `render` prints exactly this and the reconciler applies exactly this.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, PersistentVolumeClaim, ResourceQuota, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::storage::v1::StorageClass;

use crate::cluster::ClusterInfo;
use crate::validate::Valid;

/// Every child an Exposure can have. Consumers destructure it without `..` so that adding a
/// child type is a compile error everywhere it must be handled.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Children {
    pub storage_classes: Vec<StorageClass>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub resource_quota: Option<ResourceQuota>,
    pub deployment: Option<Deployment>,
    pub service: Option<Service>,
    pub headless_service: Option<Service>,
    pub endpoints: Option<Endpoints>,
    pub ingress: Option<Ingress>,
}

/// Builds the desired children of a validated Exposure for the given cluster.
pub fn build(valid: &Valid<'_>, cluster: &ClusterInfo) -> Children {
    let _ = (valid, cluster);
    Children::default()
}

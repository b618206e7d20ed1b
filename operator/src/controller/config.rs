//! Operator settings (from `exposure-operator run` flags or the chart).

use std::net::SocketAddr;
use std::time::Duration;

use crate::cluster::KubeVersion;

#[derive(Clone, Debug)]
pub struct OperatorConfig {
    /// Namespaces to watch; empty = all namespaces.
    pub namespaces: Vec<String>,
    /// Exposures reconciled at once.
    pub concurrency: u16,
    pub metrics_addr: SocketAddr,
    /// Use this version instead of the API server's (tests of version-dependent behaviour).
    pub assume_kubernetes_version: Option<KubeVersion>,
    /// Whether the operator may create StorageClasses (glusterfs volumes).
    pub storage_classes_enabled: bool,
    /// When non-empty, a glusterfs `resturl` must start with one of these prefixes.
    pub gluster_allowed_resturls: Vec<String>,
    /// Allow `glusterfs.secretNamespace` to name another namespace than the Exposure's.
    pub gluster_allow_cross_namespace_secrets: bool,
    /// Requeue interval of a settled Exposure (a no-op: no writes unless something drifted).
    pub resync: Duration,
    /// Identity used for events and leader election.
    pub instance: String,
    /// Watch ConfigMaps, so that a change of one `spec.config` mounts rolls the pods.
    pub watch_config_maps: bool,
    /// Watch Secrets likewise (needs list/watch on Secrets; off unless granted).
    pub watch_secrets: bool,
    /// While an Exposure converges, its status is written once it has converged this long,
    /// then on a new phase at most this often (zero: every change; see `status_pacing`).
    pub status_pacing: Duration,
}

impl OperatorConfig {
    /// What a tenant may ask of a GlusterFS StorageClass.
    pub fn storage_policy(&self) -> crate::storage_policy::StoragePolicy {
        crate::storage_policy::StoragePolicy {
            storage_classes_enabled: self.storage_classes_enabled,
            allowed_resturls: self.gluster_allowed_resturls.clone(),
            allow_cross_namespace_secrets: self.gluster_allow_cross_namespace_secrets,
        }
    }
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            namespaces: Vec::new(),
            concurrency: 8,
            metrics_addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            assume_kubernetes_version: None,
            storage_classes_enabled: true,
            gluster_allowed_resturls: Vec::new(),
            gluster_allow_cross_namespace_secrets: false,
            resync: Duration::from_secs(300),
            instance: "exposure-operator".to_string(),
            watch_config_maps: true,
            watch_secrets: false,
            status_pacing: Duration::from_secs(5),
        }
    }
}

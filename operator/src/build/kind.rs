//! The closed set of child kinds, in apply order, with their API endpoints.

use kube::core::{ApiResource, GroupVersionKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChildKind {
    StorageClass,
    PersistentVolumeClaim,
    ResourceQuota,
    Deployment,
    Service,
    Endpoints,
    EndpointSlice,
    Ingress,
}

impl ChildKind {
    /// Apply order: storage first (pods need their claims), the Ingress last (its backend exists).
    pub const ALL: [ChildKind; 8] = [
        Self::StorageClass,
        Self::PersistentVolumeClaim,
        Self::ResourceQuota,
        Self::Deployment,
        Self::Service,
        Self::Endpoints,
        Self::EndpointSlice,
        Self::Ingress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StorageClass => "StorageClass",
            Self::PersistentVolumeClaim => "PersistentVolumeClaim",
            Self::ResourceQuota => "ResourceQuota",
            Self::Deployment => "Deployment",
            Self::Service => "Service",
            Self::Endpoints => "Endpoints",
            Self::EndpointSlice => "EndpointSlice",
            Self::Ingress => "Ingress",
        }
    }

    pub fn namespaced(self) -> bool {
        self != Self::StorageClass
    }

    pub fn api_resource(self) -> ApiResource {
        let (group, version, plural) = match self {
            Self::StorageClass => ("storage.k8s.io", "v1", "storageclasses"),
            Self::PersistentVolumeClaim => ("", "v1", "persistentvolumeclaims"),
            Self::ResourceQuota => ("", "v1", "resourcequotas"),
            Self::Deployment => ("apps", "v1", "deployments"),
            Self::Service => ("", "v1", "services"),
            Self::Endpoints => ("", "v1", "endpoints"),
            Self::EndpointSlice => ("discovery.k8s.io", "v1", "endpointslices"),
            Self::Ingress => ("networking.k8s.io", "v1", "ingresses"),
        };
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(group, version, self.as_str()),
            plural,
        )
    }
}

//! The one table of child kinds, in apply order. Everything per kind — [`ChildKind`], its API
//! endpoint, [`ChildRef`], and in the controller the caches and their lookups — is generated
//! from [`for_each_child_kind!`]; a new kind is one row here plus its builder (a field of
//! `Children` and its line in `Children::in_apply_order`).

use kube::core::{ApiResource, GroupVersionKind};

/// Calls `$callback! { Variant = "Kind": Type, "group", "version", "plural", scope, store_field; ... }`
/// with every child kind, in apply order: storage first (pods need their claims), the
/// namespace's quota and limits before the workload (admission applies them to its pods), the
/// Ingress and the HTTPRoute last (their backend exists). `scope` is `namespaced` or `cluster`.
/// A `Legacy…` variant is the same Kubernetes kind under the API version older clusters serve.
#[macro_export]
macro_rules! for_each_child_kind {
    ($callback:ident) => {
        $callback! {
            StorageClass = "StorageClass": k8s_openapi::api::storage::v1::StorageClass, "storage.k8s.io", "v1", "storageclasses", cluster, storage_classes;
            PersistentVolumeClaim = "PersistentVolumeClaim": k8s_openapi::api::core::v1::PersistentVolumeClaim, "", "v1", "persistentvolumeclaims", namespaced, pvcs;
            ResourceQuota = "ResourceQuota": k8s_openapi::api::core::v1::ResourceQuota, "", "v1", "resourcequotas", namespaced, quotas;
            LimitRange = "LimitRange": k8s_openapi::api::core::v1::LimitRange, "", "v1", "limitranges", namespaced, limit_ranges;
            Deployment = "Deployment": k8s_openapi::api::apps::v1::Deployment, "apps", "v1", "deployments", namespaced, deployments;
            StatefulSet = "StatefulSet": k8s_openapi::api::apps::v1::StatefulSet, "apps", "v1", "statefulsets", namespaced, stateful_sets;
            DaemonSet = "DaemonSet": k8s_openapi::api::apps::v1::DaemonSet, "apps", "v1", "daemonsets", namespaced, daemon_sets;
            HorizontalPodAutoscaler = "HorizontalPodAutoscaler": k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler, "autoscaling", "v2", "horizontalpodautoscalers", namespaced, autoscalers;
            LegacyHorizontalPodAutoscaler = "HorizontalPodAutoscaler": $crate::build::LegacyHorizontalPodAutoscaler, "autoscaling", "v2beta2", "horizontalpodautoscalers", namespaced, legacy_autoscalers;
            PodDisruptionBudget = "PodDisruptionBudget": k8s_openapi::api::policy::v1::PodDisruptionBudget, "policy", "v1", "poddisruptionbudgets", namespaced, disruption_budgets;
            LegacyPodDisruptionBudget = "PodDisruptionBudget": $crate::build::LegacyPodDisruptionBudget, "policy", "v1beta1", "poddisruptionbudgets", namespaced, legacy_disruption_budgets;
            Service = "Service": k8s_openapi::api::core::v1::Service, "", "v1", "services", namespaced, services;
            Endpoints = "Endpoints": k8s_openapi::api::core::v1::Endpoints, "", "v1", "endpoints", namespaced, endpoints;
            EndpointSlice = "EndpointSlice": k8s_openapi::api::discovery::v1::EndpointSlice, "discovery.k8s.io", "v1", "endpointslices", namespaced, endpoint_slices;
            Ingress = "Ingress": k8s_openapi::api::networking::v1::Ingress, "networking.k8s.io", "v1", "ingresses", namespaced, ingresses;
            HTTPRoute = "HTTPRoute": $crate::build::HTTPRoute, "gateway.networking.k8s.io", "v1", "httproutes", namespaced, http_routes;
        }
    };
}

/// `true` for `namespaced`, `false` for `cluster`.
#[macro_export]
#[doc(hidden)]
macro_rules! child_kind_is_namespaced {
    (namespaced) => {
        true
    };
    (cluster) => {
        false
    };
}

macro_rules! define_child_kinds {
    ($($kind:ident = $name:literal: $ty:ty, $group:literal, $version:literal, $plural:literal, $scope:ident, $store:ident;)*) => {
        /// The closed set of child kinds.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ChildKind {
            $($kind,)*
        }

        impl ChildKind {
            /// Every kind, in apply order.
            pub const ALL: [ChildKind; [$(stringify!($kind)),*].len()] = [$(Self::$kind),*];

            /// The Kubernetes kind.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$kind => $name,)*
                }
            }

            /// The API version, e.g. `apps/v1`.
            pub fn api_version(self) -> &'static str {
                match self {
                    $(Self::$kind => if $group.is_empty() { $version } else { concat!($group, "/", $version) },)*
                }
            }

            pub fn namespaced(self) -> bool {
                match self {
                    $(Self::$kind => $crate::child_kind_is_namespaced!($scope),)*
                }
            }

            pub fn api_resource(self) -> ApiResource {
                let (group, version, plural) = match self {
                    $(Self::$kind => ($group, $version, $plural),)*
                };
                ApiResource::from_gvk_with_plural(
                    &GroupVersionKind::gvk(group, version, self.as_str()),
                    plural,
                )
            }
        }

        /// One built child, borrowed and tagged with its kind.
        #[derive(Clone, Copy, Debug)]
        pub enum ChildRef<'a> {
            $($kind(&'a $ty),)*
        }

        impl ChildRef<'_> {
            pub fn kind(&self) -> ChildKind {
                match self {
                    $(Self::$kind(_) => ChildKind::$kind,)*
                }
            }

            pub fn metadata(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                match self {
                    $(Self::$kind(o) => &o.metadata,)*
                }
            }

            pub fn name(&self) -> &str {
                self.metadata().name.as_deref().unwrap_or_default()
            }

            /// The object as JSON, with `apiVersion` and `kind`.
            pub fn to_value(&self) -> serde_json::Result<serde_json::Value> {
                match self {
                    $(Self::$kind(o) => serde_json::to_value(o),)*
                }
            }
        }
    };
}

for_each_child_kind!(define_child_kinds);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_the_api_endpoints() {
        let ar = ChildKind::Ingress.api_resource();
        assert_eq!(
            (ar.group.as_str(), ar.version.as_str(), ar.plural.as_str()),
            ("networking.k8s.io", "v1", "ingresses")
        );
        assert_eq!(ar.kind, "Ingress");
        assert!(!ChildKind::StorageClass.namespaced());
        assert!(ChildKind::Service.namespaced());
        assert_eq!(ChildKind::ALL.len(), 16);
        assert_eq!(
            ChildKind::LegacyPodDisruptionBudget.as_str(),
            "PodDisruptionBudget"
        );
        assert_eq!(
            ChildKind::LegacyPodDisruptionBudget.api_version(),
            "policy/v1beta1"
        );
        assert_eq!(ChildKind::Service.api_version(), "v1");
        assert_eq!(ChildKind::HTTPRoute.api_resource().plural, "httproutes");
        assert_eq!(ChildKind::ALL[0], ChildKind::StorageClass);
    }
}
